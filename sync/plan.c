/*
 * plan.c: step 2 of a sync pass, what to fetch besides the pool: the job
 * lists, the index files a changed suite's Release selects, and the pdiff
 * patches their Index files list. A file the store already has is listed
 * in the new snapshot at once, without a job.
 */
#include "mirrord/common.h"

#include <unistd.h>

#include "mirrord/deb822.h"
#include "mirrord/decomp.h"
#include "mirrord/path.h"
#include "sync/pass.h"

struct fetch_job *
joblist_add(struct joblist *jl, const char *suite, char *url, char *fallback,
    char *path, const unsigned char h[HASH_LEN], uint64_t size, bool optional)
{
	struct fetch_job *j;

	if (jl->n == jl->cap) {
		jl->cap = jl->cap ? jl->cap * 2 : 256;
		jl->jobs = xreallocarray(jl->jobs, jl->cap, sizeof(*jl->jobs));
		jl->paths = xreallocarray(jl->paths, jl->cap,
		    sizeof(*jl->paths));
		jl->suites = xreallocarray(jl->suites, jl->cap,
		    sizeof(*jl->suites));
	}
	j = &jl->jobs[jl->n];
	memset(j, 0, sizeof(*j));
	j->url = url;
	j->fallback = fallback;
	memcpy(j->hash, h, HASH_LEN);
	j->size = size;
	j->optional = optional;
	j->status = MERR_NET;	/* not stored until fetch_to_store says so */
	jl->suites[jl->n] = suite;
	jl->paths[jl->n++] = path;
	return j;
}

void
joblist_release(struct joblist *jl)
{
	size_t i;

	for (i = 0; i < jl->n; i++) {
		free((char *)jl->jobs[i].url);
		free((char *)jl->jobs[i].fallback);
		free(jl->paths[i]);
	}
	free(jl->jobs);
	free(jl->paths);
	free(jl->suites);
	memset(jl, 0, sizeof(*jl));
}

/*
 * Only the blobs table counts: probing the file system for leftovers of a
 * killed pass would cost a failed open per new blob. (A failed pass
 * records what it verified, see record_blobs() in sync.c.)
 */
int
plan_blob_known(struct store_txn *t, const unsigned char h[HASH_LEN],
    bool *known, struct merr *err)
{
	struct store_blob_rec rec;
	int rc;

	rc = store_blob_get(t, h, &rec, err);
	*known = rc == 0;
	return rc == MERR_NOTFOUND ? 0 : rc;
}

/* "dir/by-hash/SHA256/<hex>" for path "dir/name". */
static char *
plan_by_hash_url(const char *base, const char *path,
    const unsigned char h[HASH_LEN])
{
	char hex[HASH_HEX_LEN + 1];
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) + 1 : 0;

	hash_to_hex(h, hex);
	return xasprintf("%s%.*sby-hash/SHA256/%s", base, dirlen, path, hex);
}

/* Queues a dists file of a changed suite, unless the store has it. */
static int
plan_dists_file(struct sync_ctx *x, struct suite_work *w,
    struct joblist *jl, const char *path, const unsigned char h[HASH_LEN],
    uint64_t size, bool by_hash, struct merr *err)
{
	char *url, *fallback = NULL;
	bool known;
	int rc;

	rc = plan_blob_known(x->rtxn, h, &known, err);
	if (rc)
		return rc;
	if (known) {
		snap_suite_add_file(&w->out, path, h, size);
		return 0;
	}
	if (by_hash) {
		url = plan_by_hash_url(w->base, path, h);
		fallback = xasprintf("%s%s", w->base, path);
	} else {
		url = xasprintf("%s%s", w->base, path);
	}
	joblist_add(jl, w->name, url, fallback, xstrdup(path), h, size, true);
	return 0;
}

/* The suite a job of a list of index or pdiff jobs belongs to. */
static struct suite_work *
plan_job_suite(struct sync_ctx *x, size_t j)
{
	size_t i;

	for (i = 0; i < x->nsw; i++)
		if (x->sw[i].changed && j >= x->sw[i].first_job &&
		    j < x->sw[i].first_job + x->sw[i].njobs)
			return &x->sw[i];
	return NULL;
}

/* Lists each file jl stored in the new snapshot, under its suite. */
static void
plan_add_fetched(struct sync_ctx *x, const struct joblist *jl)
{
	size_t j;

	for (j = 0; j < jl->n; j++)
		if (jl->jobs[j].status == 0)
			snap_suite_add_file(&plan_job_suite(x, j)->out,
			    jl->paths[j], jl->jobs[j].hash, jl->jobs[j].size);
}

int
plan_indices(struct sync_ctx *x, struct joblist *idx, struct merr *err)
{
	size_t i, j;
	int rc;

	rc = store_txn_begin(x->store, false, &x->rtxn, err);
	if (rc)
		return rc;
	for (i = 0; i < x->nsw; i++) {
		struct suite_work *w = &x->sw[i];

		if (!w->changed)
			continue;
		release_select(&w->rel, x->m, &w->sel, &w->kinds, &w->nsel);
		w->first_job = idx->n;
		for (j = 0; j < w->nsel; j++) {
			const struct release_file *rf = &w->rel.files[w->sel[j]];

			rc = plan_dists_file(x, w, idx, rf->path, rf->sha256,
			    rf->size, w->rel.by_hash, err);
			if (rc)
				return rc;	/* the caller ends x->rtxn */
		}
		w->njobs = idx->n - w->first_job;
	}
	store_txn_abort(x->rtxn);
	x->rtxn = NULL;
	rc = sync_run_jobs(x, idx, "indices", err);
	if (rc)
		return rc;
	plan_add_fetched(x, idx);
	return 0;
}

/* One "hash size name" line of SHA256-Download: queue that patch. */
static int
plan_pdiff_line(struct sync_ctx *x, struct suite_work *w, struct joblist *jl,
    const char *path, const char *v, size_t len, struct merr *err)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = (size_t)(slash - path) + 1;
	char hex[HASH_HEX_LEN + 1], name[256], *ppath;
	unsigned char ph[HASH_LEN];
	unsigned long long size;
	char *line = xstrndup(v, len);
	int n = sscanf(line, " %64s %llu %255s", hex, &size, name);
	int rc;

	free(line);
	if (n <= 0)
		return 0;
	if (n != 3 || hash_from_hex(hex, strlen(hex), ph) ||
	    strchr(name, '/'))
		return merr_set(err, MERR_PARSE,
		    "'%s': malformed SHA256-Download line", path);
	ppath = xasprintf("%.*s%s", (int)dirlen, path, name);
	rc = path_check(ppath, strlen(ppath), err);
	if (rc == 0)
		rc = plan_dists_file(x, w, jl, ppath, ph, size, false, err);
	free(ppath);
	return rc;
}

/* Queues the patches a pdiff Index lists ("SHA256-Download:"). */
static int
plan_pdiff(struct sync_ctx *x, struct suite_work *w, struct joblist *jl,
    const char *path, const unsigned char h[HASH_LEN], struct merr *err)
{
	struct decomp *r;
	struct deb822 *p;
	struct deb822_para *para;
	const char *v, *end;
	size_t vlen;
	int fd, rc;

	fd = store_blob_open(x->store, h, err);
	if (fd < 0)
		return fd;
	r = decomp_new(fd, COMP_NONE, PDIFF_INDEX_MAX, path);
	p = deb822_new(decomp_read, r, path, PDIFF_INDEX_MAX);
	rc = deb822_next(p, &para, err);
	if (rc <= 0)
		goto out;
	rc = 0;
	v = deb822_get(para, "SHA256-Download", &vlen);
	end = v ? v + vlen : NULL;
	while (v && v < end) {
		const char *nl = memchr(v, '\n', (size_t)(end - v));
		const char *le = nl ? nl : end;

		rc = plan_pdiff_line(x, w, jl, path, v, (size_t)(le - v), err);
		if (rc)
			break;
		v = nl ? nl + 1 : end;
	}
out:
	deb822_free(p);
	decomp_free(r);
	close(fd);
	return rc;
}

/* Queues the patches of every fetched pdiff Index of the changed suites. */
static int
plan_pdiff_jobs(struct sync_ctx *x, struct joblist *patches, struct merr *err)
{
	size_t i, j;
	int rc = 0;

	for (i = 0; rc == 0 && i < x->nsw; i++) {
		struct suite_work *w = &x->sw[i];

		w->first_job = patches->n;
		for (j = 0; rc == 0 && w->changed && j < w->nsel; j++) {
			const struct release_file *rf = &w->rel.files[w->sel[j]];

			if (w->kinds[j] != SEL_PDIFF ||
			    !snap_suite_file(&w->out, rf->path))
				continue;
			rc = plan_pdiff(x, w, patches, rf->path, rf->sha256,
			    err);
			if (rc) {
				merr_prefix(err, "suite '%s': ", w->name);
				sync_fail_suite(x, w->name);
			}
		}
		w->njobs = patches->n - w->first_job;
	}
	return rc;
}

int
plan_pdiffs(struct sync_ctx *x, struct merr *err)
{
	struct joblist patches = { 0 };
	int rc;

	rc = store_txn_begin(x->store, false, &x->rtxn, err);
	if (rc == 0)
		rc = plan_pdiff_jobs(x, &patches, err);
	if (x->rtxn)
		store_txn_abort(x->rtxn);
	x->rtxn = NULL;
	if (rc == 0)
		rc = sync_run_jobs(x, &patches, "pdiffs", err);
	if (rc == 0)
		plan_add_fetched(x, &patches);
	joblist_release(&patches);
	return rc;
}
