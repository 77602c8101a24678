/*
 * sync.c: one sync pass of one mirror.
 *
 * 1. For each suite, fetch InRelease (conditionally; else Release and
 *    Release.gpg), verify it against the mirror's keyring, and check its
 *    dates against what was last accepted. An unchanged suite is copied
 *    from the previous snapshot as it is.
 * 2. Fetch the selected index files of the changed suites (by hash when
 *    upstream offers it), verified against the signed Release.
 * 3. Parse each Packages/Sources index that changed, as a stream: every
 *    pool file it lists not yet in the store is queued, and the pool
 *    membership difference against the previous version of that index is
 *    recorded (snap_delta).
 * 4. Fetch the missing pool files in parallel, then one durability
 *    barrier (store_sync), then one LMDB transaction (snap_commit).
 */
#include "mirrord/common.h"

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/clearsign.h"
#include "mirrord/deb822.h"
#include "mirrord/gc.h"
#include "mirrord/gpg.h"
#include "mirrord/index.h"
#include "mirrord/log.h"
#include "mirrord/path.h"
#include "mirrord/status.h"
#include "sync/release.h"
#include "sync/sync.h"

#define RELEASE_MAX (64u << 20)		/* InRelease of a large archive */
#define INDEX_MAX_UNLISTED (4ull << 30)	/* cap when Release lists no size */
#define PDIFF_INDEX_MAX (16u << 20)

/* A list of fetch jobs whose URL strings it owns. */
struct joblist {
	struct fetch_job *jobs;
	char **paths;		/* path each job stores, relative to base */
	const char **suites;	/* the suite that wanted it (borrowed) */
	size_t n, cap;
};

static struct fetch_job *
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

static void
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

/* What one suite brings to this pass. */
struct suite_work {
	const char *name;
	char *base;		/* <uri>/dists/<suite>/ */
	bool changed;
	struct release rel;
	struct snap_suite out;	/* the new snapshot's suite */
	struct snap_state state;
	size_t first_job, njobs;	/* its range in the index job list */
};

struct sync_ctx {
	const struct conf *conf;
	const struct conf_mirror *m;
	struct store *store;
	struct fetch *fetch;
	const struct sync_opts *opts;
	struct gpg_verifier *gpg;
	struct snap prev;
	bool have_prev;
	struct suite_work *sw;
	size_t nsw;
	struct snap_delta *delta;
	struct joblist pool;
	struct store_txn *rtxn;	/* read txn while parsing */
	/* Progress. */
	const char *phase;
	uint64_t total_files, total_bytes;
	struct timespec t0;
	uint64_t fetched_files, fetched_bytes;
	/* What status records of a failure and of a pass's warnings. */
	bool verifying;		/* step 1: a VERIFY error is the Release's */
	char fail_suite[STATUS_SUITE_MAX + 1];	/* the suite that failed */
	struct buf warnings;	/* "\n"-ended lines */
};

/* Suite name failed, as status and the log name it. */
static void
set_fail_suite(struct sync_ctx *x, const char *name)
{
	if (x->fail_suite[0] == '\0' && name != NULL)
		snprintf(x->fail_suite, sizeof(x->fail_suite), "%s", name);
}

static double
elapsed(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
progress_cb(void *arg, uint64_t files, uint64_t bytes)
{
	struct sync_ctx *x = arg;
	double t = elapsed(&x->t0), rate = t > 0 ? (double)bytes / t : 0;
	double eta = rate > 0 && x->total_bytes > bytes ?
	    (double)(x->total_bytes - bytes) / rate : 0;

	x->fetched_files = files;
	x->fetched_bytes = bytes;
	if (!x->opts->progress)
		return;
	fprintf(stderr, "\r\033[K%s: %s %llu/%llu files, %.1f/%.1f MiB, "
	    "%.1f MiB/s, ETA %.0fs", x->m->name, x->phase,
	    (unsigned long long)files, (unsigned long long)x->total_files,
	    (double)bytes / 1048576.0, (double)x->total_bytes / 1048576.0,
	    rate / 1048576.0, eta);
	fflush(stderr);
}

static void
progress_end(struct sync_ctx *x)
{
	if (x->opts->progress)
		fprintf(stderr, "\r\033[K");
}

/* The verifier costs a gpg start-up: made only when a Release changed. */
static int
need_gpg(struct sync_ctx *x, struct merr *err)
{
	struct gpg_keyspec ks;
	char *tmp;
	int rc;

	if (x->gpg)
		return 0;
	gpg_keyspec_of_mirror(&ks, x->m);
	tmp = xasprintf("%s/tmp", store_dir(x->store));
	rc = gpg_verifier_new_spec(&ks, tmp, &x->gpg, err);

	free(tmp);
	return rc;
}

static bool
cancelled(const struct sync_ctx *x)
{
	return x->opts->cancel != NULL && atomic_load(x->opts->cancel);
}

/* 0, or MERR_CANCEL once the cancel flag is set. */
static int
check_cancel(const struct sync_ctx *x, struct merr *err)
{
	return cancelled(x) ? merr_set(err, MERR_CANCEL, "sync cancelled") :
	    0;
}

/*
 * Is the blob recorded in the store (so its file is durable and good)?
 * Only the blobs table counts: probing the file system for leftovers of a
 * killed pass would cost a failed open per new blob. (A failed pass
 * records what it verified, see record_blobs().)
 */
static int
blob_known(struct store_txn *t, const unsigned char h[HASH_LEN], bool *known,
    struct merr *err)
{
	struct store_blob_rec rec;
	int rc;

	rc = store_blob_get(t, h, &rec, err);
	*known = rc == 0;
	return rc == MERR_NOTFOUND ? 0 : rc;
}

/*
 * After a failed pass: make the blobs its jobs stored durable and record
 * them, so the next try does not fetch them again. Unreferenced, they
 * are garbage for gc after its grace period. If that fails too (a full
 * disk fails this commit as it failed the pass), it is said: their files
 * are then listed nowhere, and only `mirrord gc`'s walk of blobs/ finds
 * them.
 */
static void
record_blobs(struct store *s, const char *mirror, const struct joblist *jl)
{
	struct store_txn *t;
	struct merr err = { 0 };
	size_t i, n = 0;
	int rc;

	for (i = 0; i < jl->n; i++)
		n += jl->jobs[i].status == 0;
	if (n == 0)
		return;
	rc = store_sync(s, &err);
	if (rc == 0)
		rc = store_txn_begin(s, true, &t, &err);
	for (i = 0; rc == 0 && i < jl->n; i++) {
		if (jl->jobs[i].status != 0)
			continue;
		/* Unreferenced until a later pass names them: gc's. */
		rc = store_blob_put(t, jl->jobs[i].hash, jl->jobs[i].size,
		    &err);
		if (rc == 0)
			rc = gc_queue(t, jl->jobs[i].hash,
			    (int64_t)time(NULL), &err);
		if (rc)
			store_txn_abort(t);
	}
	if (rc == 0)
		rc = store_txn_commit(t, &err);
	if (rc == 0)
		log_debug("kept %zu verified blobs for the next try", n);
	else
		log_warn("mirror '%s': cannot record %zu verified blobs for "
		    "the next try (gc removes their files after the grace "
		    "period): %s", mirror, n, err.msg);
}

struct prep {
	struct store *s;
	unsigned char (*h)[HASH_LEN];
	size_t n;
	struct merr err;
	int rc;
};

static void *
prep_run(void *arg)
{
	struct prep *p = arg;

	p->rc = store_prepare_dirs(p->s, p->h, p->n, &p->err);
	return NULL;
}

static const struct snap_file *
suite_file(const struct snap_suite *su, const char *path)
{
	size_t i;

	for (i = 0; su && i < su->nfiles; i++)
		if (strcmp(su->files[i].path, path) == 0)
			return &su->files[i];
	return NULL;
}

/*
 * Step 1 for one suite: fetch and verify its Release files. Sets
 * w->changed; a changed suite has w->rel parsed and its Release files
 * stored and listed in w->out.
 */
static int
suite_release(struct sync_ctx *x, struct suite_work *w, struct merr *err)
{
	const struct snap_suite *old = x->have_prev ?
	    snap_find_suite(&x->prev, w->name) : NULL;
	struct fetch_mem inr = { 0 }, rel = { 0 }, sig = { 0 };
	char fpr[GPG_FPR_LEN + 1];
	char *url = NULL, *text = NULL;
	const char *signed_text;
	size_t textlen = 0, signed_len;
	unsigned char h[HASH_LEN];
	int64_t now = (int64_t)time(NULL);
	struct snap_state st;
	const struct snap_file *of;
	int rc;

	rc = store_txn_begin(x->store, false, &x->rtxn, err);
	if (rc)
		return rc;
	rc = snap_state_get(x->rtxn, x->m->name, w->name, &st, err);
	store_txn_abort(x->rtxn);
	x->rtxn = NULL;
	if (rc)
		return rc;

	url = xasprintf("%sInRelease", w->base);
	rc = fetch_get_mem(x->fetch, url, RELEASE_MAX,
	    old ? st.etag : NULL, old ? st.last_modified : NULL, &inr, err);
	free(url);
	if (rc) {
		merr_prefix(err, "InRelease: ");
		goto out;
	}
	if (inr.status == 304 && old) {
		log_debug("mirror '%s': suite '%s': InRelease not modified",
		    x->m->name, w->name);
		snap_suite_copy(&w->out, old);
		goto out;
	}
	if (inr.status == 200) {
		/* The very bytes verified last time: nothing new to check. */
		hash_buf(inr.data, inr.len, h);
		of = suite_file(old, "InRelease");
		if (of && memcmp(of->hash, h, HASH_LEN) == 0) {
			snap_suite_copy(&w->out, old);
			goto out;
		}
		rc = need_gpg(x, err);
		if (rc == 0)
			rc = gpg_verify_clearsigned(x->gpg, inr.data, inr.len,
			    &text, &textlen, fpr, err);
		if (rc) {
			merr_prefix(err, "InRelease: ");
			goto out;
		}
	}
	/* Release and Release.gpg: required without InRelease. */
	url = xasprintf("%sRelease", w->base);
	rc = fetch_get_mem(x->fetch, url, RELEASE_MAX, NULL, NULL, &rel, err);
	free(url);
	if (rc == 0 && rel.status != 200 && inr.status != 200)
		rc = merr_set(err, MERR_NOTFOUND,
		    "neither InRelease nor Release exists upstream");
	if (rc) {
		merr_prefix(err, "Release: ");
		goto out;
	}
	if (rel.status == 200) {
		url = xasprintf("%sRelease.gpg", w->base);
		rc = fetch_get_mem(x->fetch, url, 1u << 20, NULL, NULL, &sig,
		    err);
		free(url);
		if (rc == 0 && sig.status != 200 && inr.status != 200)
			rc = merr_set(err, MERR_VERIFY,
			    "no InRelease and no Release.gpg: unsigned");
		if (rc) {
			merr_prefix(err, "Release.gpg: ");
			goto out;
		}
		/* Without InRelease, an unchanged Release is no change. */
		hash_buf(rel.data, rel.len, h);
		of = suite_file(old, "Release");
		if (inr.status != 200 && of &&
		    memcmp(of->hash, h, HASH_LEN) == 0) {
			snap_suite_copy(&w->out, old);
			goto out;
		}
		if (sig.status == 200) {
			rc = need_gpg(x, err);
			if (rc == 0)
				rc = gpg_verify_detached(x->gpg, rel.data,
				    rel.len, sig.data, sig.len, fpr, err);
			if (rc) {
				merr_prefix(err, "Release.gpg: ");
				goto out;
			}
		}
		if (inr.status == 200 && !clearsign_same_text(text, textlen,
		    rel.data, rel.len)) {
			rc = merr_set(err, MERR_VERIFY,
			    "Release and InRelease disagree");
			goto out;
		}
	}
	signed_text = inr.status == 200 ? text : rel.data;
	signed_len = inr.status == 200 ? textlen : rel.len;
	rc = release_parse(signed_text, signed_len,
	    inr.status == 200 ? "InRelease" : "Release", &w->rel, err);
	if (rc)
		goto out;
	if (!(w->rel.suite && strcmp(w->rel.suite, w->name) == 0) &&
	    !(w->rel.codename && strcmp(w->rel.codename, w->name) == 0)) {
		rc = merr_set(err, MERR_VERIFY,
		    "Release is for suite '%s' (codename '%s'), not '%s'",
		    w->rel.suite ? w->rel.suite : "", w->rel.codename ?
		    w->rel.codename : "", w->name);
		goto out;
	}
	if (w->rel.date < st.date) {
		rc = merr_set(err, MERR_VERIFY,
		    "Release Date '%s' is older than the last accepted one: "
		    "replayed or rolled back", w->rel.date_str);
		goto out;
	}
	if (w->rel.date > now + x->conf->clock_skew) {
		rc = merr_set(err, MERR_VERIFY,
		    "Release Date '%s' is in the future", w->rel.date_str);
		goto out;
	}
	if (w->rel.valid_until && w->rel.valid_until < now) {
		rc = merr_set(err, MERR_VERIFY, "Release expired (Valid-Until "
		    "passed)");
		goto out;
	}
	w->changed = true;
	w->out.name = xstrdup(w->name);
	w->out.date = w->rel.date;
	w->out.date_str = xstrdup(w->rel.date_str);
	if (inr.status == 200) {
		rc = store_put_mem(x->store, inr.data, inr.len, h, err);
		if (rc)
			goto out;
		snap_suite_add_file(&w->out, "InRelease", h, inr.len);
	}
	if (rel.status == 200) {
		rc = store_put_mem(x->store, rel.data, rel.len, h, err);
		if (rc)
			goto out;
		snap_suite_add_file(&w->out, "Release", h, rel.len);
	}
	if (sig.status == 200) {
		rc = store_put_mem(x->store, sig.data, sig.len, h, err);
		if (rc)
			goto out;
		snap_suite_add_file(&w->out, "Release.gpg", h, sig.len);
	}
	w->state.date = w->rel.date;
	if (inr.status == 200) {
		w->state.etag = inr.etag ? xstrdup(inr.etag) : NULL;
		w->state.last_modified = inr.last_modified ?
		    xstrdup(inr.last_modified) : NULL;
	}
out:
	free(text);
	fetch_mem_release(&inr);
	fetch_mem_release(&rel);
	fetch_mem_release(&sig);
	snap_state_release(&st);
	return rc;
}

/* "dir/by-hash/SHA256/<hex>" for path "dir/name". */
static char *
by_hash_url(const char *base, const char *path, const unsigned char h[HASH_LEN])
{
	char hex[HASH_HEX_LEN + 1];
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) + 1 : 0;

	hash_to_hex(h, hex);
	return xasprintf("%s%.*sby-hash/SHA256/%s", base, dirlen, path, hex);
}

/* Queues a dists file of a changed suite, unless the store has it. */
static int
queue_dists_file(struct sync_ctx *x, struct suite_work *w,
    struct joblist *jl, const char *path, const unsigned char h[HASH_LEN],
    uint64_t size, bool by_hash, struct merr *err)
{
	char *url, *fallback = NULL;
	bool known;
	int rc;

	rc = blob_known(x->rtxn, h, &known, err);
	if (rc)
		return rc;
	if (known) {
		snap_suite_add_file(&w->out, path, h, size);
		return 0;
	}
	if (by_hash) {
		url = by_hash_url(w->base, path, h);
		fallback = xasprintf("%s%s", w->base, path);
	} else {
		url = xasprintf("%s%s", w->base, path);
	}
	joblist_add(jl, w->name, url, fallback, xstrdup(path), h, size, true);
	return 0;
}

static int
run_jobs(struct sync_ctx *x, struct joblist *jl, const char *phase,
    struct merr *err)
{
	uint64_t before_f = x->fetched_files, before_b = x->fetched_bytes;
	size_t i;
	int rc;

	if (jl->n == 0)
		return 0;
	x->phase = phase;
	x->total_files = jl->n;
	x->total_bytes = 0;
	for (i = 0; i < jl->n; i++)
		x->total_bytes += jl->jobs[i].size;
	clock_gettime(CLOCK_MONOTONIC, &x->t0);
	rc = fetch_to_store(x->fetch, x->store, jl->jobs, jl->n, progress_cb,
	    x, err);
	progress_end(x);
	/* The error names the URL; name the suite that wanted it too. */
	for (i = 0; rc && i < jl->n; i++) {
		if (!strstr(err->msg, jl->jobs[i].url) && !(jl->jobs[i].fallback
		    && strstr(err->msg, jl->jobs[i].fallback)))
			continue;
		/* A by-hash URL does not say which file it is. */
		if (jl->paths[i])
			merr_prefix(err, "'%s': ", jl->paths[i]);
		if (jl->suites[i]) {
			merr_prefix(err, "suite '%s': ", jl->suites[i]);
			set_fail_suite(x, jl->suites[i]);
		}
		break;
	}
	x->fetched_files += before_f;
	x->fetched_bytes += before_b;
	return rc;
}

/* The suite a job of the index list belongs to. */
static struct suite_work *
job_suite(struct sync_ctx *x, size_t j)
{
	size_t i;

	for (i = 0; i < x->nsw; i++)
		if (x->sw[i].changed && j >= x->sw[i].first_job &&
		    j < x->sw[i].first_job + x->sw[i].njobs)
			return &x->sw[i];
	return NULL;
}

/* Queues the patches a pdiff Index lists ("SHA256-Download:"). */
static int
queue_pdiff(struct sync_ctx *x, struct suite_work *w, struct joblist *jl,
    const char *path, const unsigned char h[HASH_LEN], struct merr *err)
{
	struct decomp *r;
	struct deb822 *p;
	struct deb822_para *para;
	const char *v, *end, *slash = strrchr(path, '/');
	size_t vlen, dirlen = (size_t)(slash - path) + 1;
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
		char hex[HASH_HEX_LEN + 1], name[256], *ppath;
		unsigned char ph[HASH_LEN];
		unsigned long long size;
		char *line = xstrndup(v, (size_t)(le - v));
		int n = sscanf(line, " %64s %llu %255s", hex, &size, name);

		free(line);
		v = nl ? nl + 1 : end;
		if (n <= 0)
			continue;
		if (n != 3 || hash_from_hex(hex, strlen(hex), ph) ||
		    strchr(name, '/')) {
			rc = merr_set(err, MERR_PARSE,
			    "'%s': malformed SHA256-Download line", path);
			break;
		}
		ppath = xasprintf("%.*s%s", (int)dirlen, path, name);
		rc = path_check(ppath, strlen(ppath), err);
		if (rc == 0)
			rc = queue_dists_file(x, w, jl, ppath, ph, size, false,
			    err);
		free(ppath);
		if (rc)
			break;
	}
out:
	deb822_free(p);
	decomp_free(r);
	close(fd);
	return rc;
}

struct parse_ctx {
	struct sync_ctx *x;
	const char *suite;
	uint16_t suite_no;	/* its index in the mirror's suites */
	int sign;		/* +1 new index, -1 old index */
	struct snap_index *ix;
};

static int
parse_entry(void *arg, const struct index_entry *e, struct merr *err)
{
	struct parse_ctx *pc = arg;
	struct sync_ctx *x = pc->x;
	bool known;
	int rc;

	bool first;

	/* A large index takes seconds: look at the flag as we go. */
	rc = check_cancel(x, err);
	if (rc)
		return rc;
	first = snap_delta_add(x->delta, e->path, e->path_len, e->hash,
	    e->size, pc->sign);

	if (pc->sign < 0)
		return 0;
	pc->ix->nfiles++;
	pc->ix->bytes += e->size;
	/* Seen in another index already (arch: all, a second suite). */
	if (!first)
		return 0;
	rc = blob_known(x->rtxn, e->hash, &known, err);
	if (rc || known)
		return rc;
	/* Fetched later: the jobs are made once the parsers' memory is free. */
	snap_delta_mark(x->delta, e->path, e->path_len, e->hash, pc->suite_no);
	return 0;
}

static int
queue_pool(void *arg, const char *path, size_t len,
    const unsigned char h[HASH_LEN], uint64_t size, uint16_t suite_no,
    struct merr *err)
{
	struct sync_ctx *x = arg;

	joblist_add(&x->pool, x->m->suites[suite_no], xasprintf("%s/%.*s",
	    x->m->uri, (int)len, path), NULL, NULL, h, size, false);
	return 0;
}

/* Parses one index blob, adding (sign > 0) or dropping its pool files. */
static int
parse_index(struct sync_ctx *x, const char *suite, const char *path,
    const unsigned char h[HASH_LEN], uint64_t max_out, int sign,
    struct snap_index *ix, struct merr *err)
{
	struct parse_ctx pc = { x, suite, 0, sign, ix };
	size_t i;

	for (i = 0; i < x->m->nsuites; i++)
		if (strcmp(x->m->suites[i], suite) == 0)
			pc.suite_no = (uint16_t)i;
	enum index_kind kind = strstr(path, "Sources") ? INDEX_SOURCES :
	    INDEX_PACKAGES;
	uint64_t npara = 0;
	int fd, rc;

	fd = store_blob_open(x->store, h, err);
	if (fd < 0)
		return fd;
	rc = index_parse_fd(fd, comp_from_name(path), max_out, kind, path,
	    parse_entry, &pc, &npara, err);
	close(fd);
	if (rc == 0 && ix)
		ix->npara = npara;
	if (rc && sign < 0)
		merr_prefix(err, "previous snapshot's '%s/%s': ", suite, path);
	return rc;
}

static int
variant_rank(const char *path)
{
	switch (comp_from_name(path)) {
	case COMP_XZ:
		return 3;
	case COMP_GZ:
		return 2;
	case COMP_NONE:
		return 1;
	default:
		return 0;
	}
}

static const struct snap_index *
old_index(const struct snap_suite *old, const char *path)
{
	size_t i, n = comp_strip(path);

	for (i = 0; old && i < old->nindices; i++)
		if (comp_strip(old->indices[i].path) == n &&
		    strncmp(old->indices[i].path, path, n) == 0)
			return &old->indices[i];
	return NULL;
}

/*
 * Step 3 for one changed suite: choose the best fetched variant of each
 * Packages/Sources index, parse those that changed since the previous
 * snapshot, and drop the previous version of each.
 */
static int
suite_parse(struct sync_ctx *x, struct suite_work *w, const size_t *sel,
    const enum sel_kind *kinds, size_t nsel, struct merr *err)
{
	const struct snap_suite *old = x->have_prev ?
	    snap_find_suite(&x->prev, w->name) : NULL;
	size_t i, j;
	int rc;

	for (i = 0; i < nsel; i++) {
		const struct release_file *rf = &w->rel.files[sel[i]], *plain;
		const struct release_file *best = NULL;
		const struct snap_index *oi;
		struct snap_index *ix;
		size_t base = comp_strip(rf->path);
		char *plain_path;
		bool seen_before = false;

		if (kinds[i] != SEL_PACKAGES && kinds[i] != SEL_SOURCES)
			continue;
		/* Handle each index once, at its first variant. */
		for (j = 0; j < i; j++)
			if ((kinds[j] == SEL_PACKAGES || kinds[j] == SEL_SOURCES) &&
			    comp_strip(w->rel.files[sel[j]].path) == base &&
			    strncmp(w->rel.files[sel[j]].path, rf->path, base) == 0)
				seen_before = true;
		if (seen_before)
			continue;
		for (j = i; j < nsel; j++) {
			const struct release_file *v = &w->rel.files[sel[j]];

			if (comp_strip(v->path) != base ||
			    strncmp(v->path, rf->path, base) != 0 ||
			    !suite_file(&w->out, v->path) ||
			    variant_rank(v->path) == 0)
				continue;
			if (best == NULL || variant_rank(v->path) >
			    variant_rank(best->path))
				best = v;
		}
		if (best == NULL)
			return merr_set(err, MERR_NOTFOUND,
			    "'%.*s': no variant upstream could be parsed "
			    "(tried .xz, .gz and uncompressed)", (int)base,
			    rf->path);
		plain_path = xstrndup(rf->path, base);
		plain = release_find(&w->rel, plain_path);
		free(plain_path);
		ix = snap_suite_add_index(&w->out, best->path, best->sha256);
		oi = old_index(old, best->path);
		if (oi && memcmp(oi->hash, best->sha256, HASH_LEN) == 0) {
			ix->npara = oi->npara;
			ix->nfiles = oi->nfiles;
			ix->bytes = oi->bytes;
			continue;
		}
		rc = parse_index(x, w->name, best->path, best->sha256,
		    plain ? plain->size : INDEX_MAX_UNLISTED, 1, ix, err);
		if (rc)
			return merr_prefix(err, "'%s': ", best->path);
		if (oi) {
			rc = parse_index(x, w->name, oi->path, oi->hash,
			    INDEX_MAX_UNLISTED, -1, NULL, err);
			if (rc)
				return rc;
		}
	}
	/* Indices the previous snapshot had and this one lacks. */
	for (i = 0; old && i < old->nindices; i++) {
		if (old_index(&w->out, old->indices[i].path))
			continue;
		rc = parse_index(x, w->name, old->indices[i].path,
		    old->indices[i].hash, INDEX_MAX_UNLISTED, -1, NULL, err);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * What m asks of suite w and its Release does not list: a component, the
 * Packages of an architecture, the Sources of deb-src. apt warns and goes
 * on, and so does a sync (each one a warning in the log and in status),
 * unless the mirror says Strict: yes: then the sync fails (MERR_CONF).
 * An unchanged suite is checked against the files its snapshot kept.
 */
static int
suite_missing(struct sync_ctx *x, struct suite_work *w, struct merr *err)
{
	const struct conf_mirror *m = x->m;
	const char **paths;
	struct buf miss = BUF_INIT;
	size_t n = 0, i;
	int rc = 0;

	if (w->changed) {
		paths = xcalloc(w->rel.nfiles + 1, sizeof(*paths));
		for (i = 0; i < w->rel.nfiles; i++)
			paths[n++] = w->rel.files[i].path;
	} else {
		paths = xcalloc(w->out.nfiles + 1, sizeof(*paths));
		for (i = 0; i < w->out.nfiles; i++)
			paths[n++] = w->out.files[i].path;
	}
	release_missing(paths, n, m, &miss);
	free(paths);
	if (miss.len == 0)
		return 0;
	if (m->strict) {
		/* The first one, and Strict as the reason. */
		miss.p[strcspn(miss.p, "\n")] = '\0';
		rc = merr_set(err, MERR_CONF, "%s (Strict: yes)", miss.p);
	} else {
		const char *l, *nl;

		for (l = miss.p; *l != '\0'; l = nl + 1) {
			nl = strchr(l, '\n');
			log_warn("mirror '%s': suite '%s': %.*s", m->name,
			    w->name, (int)(nl - l), l);
			buf_addf(&x->warnings, "suite '%s': %.*s\n", w->name,
			    (int)(nl - l), l);
		}
	}
	buf_release(&miss);
	return rc;
}

/* Peak memory so far, for -v: what a sync of this size costs. */
static void
log_memory(const char *phase)
{
	char line[256];
	FILE *f;

	if (log_get_level() < LOG_DEBUG)
		return;
	f = fopen("/proc/self/status", "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f))
		if (str_startswith(line, "VmHWM:") ||
		    str_startswith(line, "VmRSS:")) {
			line[strcspn(line, "\n")] = '\0';
			log_debug("%s: %s", phase, line);
		}
	fclose(f);
}

static void
sync_ctx_release(struct sync_ctx *x)
{
	size_t i;

	for (i = 0; i < x->nsw; i++) {
		free(x->sw[i].base);
		release_free(&x->sw[i].rel);
		snap_suite_release(&x->sw[i].out);
		snap_state_release(&x->sw[i].state);
	}
	free(x->sw);
	if (x->have_prev)
		snap_release(&x->prev);
	if (x->rtxn)
		store_txn_abort(x->rtxn);
	snap_delta_free(x->delta);
	joblist_release(&x->pool);
	gpg_verifier_free(x->gpg);
	buf_release(&x->warnings);
}

static int
sync_run(struct sync_ctx *x, struct sync_result *res, struct merr *err)
{
	const struct conf_mirror *m = x->m;
	struct joblist idx = { 0 };
	struct snap_state **states = NULL;
	struct snap sn;
	size_t **sels, *nsels;
	enum sel_kind **kinds;
	size_t i, j, ndropped = 0;
	bool any = false;
	int rc;

	memset(&sn, 0, sizeof(sn));
	sels = xcalloc(x->nsw, sizeof(*sels));
	kinds = xcalloc(x->nsw, sizeof(*kinds));
	nsels = xcalloc(x->nsw, sizeof(*nsels));

	/* 1. Release files. */
	for (i = 0; i < x->nsw; i++) {
		rc = check_cancel(x, err);
		if (rc)
			goto out;
		x->verifying = true;
		rc = suite_release(x, &x->sw[i], err);
		if (rc) {
			merr_prefix(err, "suite '%s': ", x->sw[i].name);
			set_fail_suite(x, x->sw[i].name);
			goto out;
		}
		x->verifying = false;
		any |= x->sw[i].changed;
		if (!x->opts->quiet && !x->opts->progress)
			log_info("mirror '%s': suite '%s': %s", m->name,
			    x->sw[i].name, x->sw[i].changed ? x->sw[i].rel.date_str :
			    "unchanged");
	}
	/* What is configured and missing upstream. */
	for (i = 0; i < x->nsw; i++) {
		rc = suite_missing(x, &x->sw[i], err);
		if (rc) {
			merr_prefix(err, "suite '%s': ", x->sw[i].name);
			set_fail_suite(x, x->sw[i].name);
			goto out;
		}
	}
	/* Suites the previous snapshot had that are no longer configured. */
	for (i = 0; x->have_prev && i < x->prev.nsuites; i++) {
		for (j = 0; j < x->nsw; j++)
			if (strcmp(x->sw[j].name, x->prev.suites[i].name) == 0)
				break;
		if (j == x->nsw)
			ndropped++;
	}
	if (!any && ndropped == 0 && x->have_prev) {
		rc = 0;
		goto out;
	}

	/* 2. Index files of changed suites. */
	rc = check_cancel(x, err);
	if (rc == 0)
		rc = store_txn_begin(x->store, false, &x->rtxn, err);
	if (rc)
		goto out;
	for (i = 0; i < x->nsw; i++) {
		struct suite_work *w = &x->sw[i];

		if (!w->changed)
			continue;
		release_select(&w->rel, m, &sels[i], &kinds[i], &nsels[i]);
		w->first_job = idx.n;
		for (j = 0; j < nsels[i]; j++) {
			const struct release_file *rf =
			    &w->rel.files[sels[i][j]];

			rc = queue_dists_file(x, w, &idx, rf->path, rf->sha256,
			    rf->size, w->rel.by_hash, err);
			if (rc)
				goto out_txn;
		}
		w->njobs = idx.n - w->first_job;
	}
	store_txn_abort(x->rtxn);
	x->rtxn = NULL;
	rc = run_jobs(x, &idx, "indices", err);
	if (rc)
		goto out;
	for (j = 0; j < idx.n; j++) {
		struct suite_work *w = job_suite(x, j);

		if (idx.jobs[j].status == 0)
			snap_suite_add_file(&w->out, idx.paths[j],
			    idx.jobs[j].hash, idx.jobs[j].size);
	}
	/* pdiff patches, listed by the Index files just fetched. */
	{
		struct joblist patches = { 0 };

		rc = store_txn_begin(x->store, false, &x->rtxn, err);
		for (i = 0; rc == 0 && i < x->nsw; i++) {
			struct suite_work *w = &x->sw[i];

			w->first_job = patches.n;
			for (j = 0; rc == 0 && w->changed && j < nsels[i]; j++) {
				const struct release_file *rf =
				    &w->rel.files[sels[i][j]];

				if (kinds[i][j] != SEL_PDIFF ||
				    !suite_file(&w->out, rf->path))
					continue;
				rc = queue_pdiff(x, w, &patches, rf->path,
				    rf->sha256, err);
				if (rc) {
					merr_prefix(err, "suite '%s': ",
					    w->name);
					set_fail_suite(x, w->name);
				}
			}
			w->njobs = patches.n - w->first_job;
		}
		if (x->rtxn)
			store_txn_abort(x->rtxn);
		x->rtxn = NULL;
		if (rc == 0)
			rc = run_jobs(x, &patches, "pdiffs", err);
		for (j = 0; rc == 0 && j < patches.n; j++)
			if (patches.jobs[j].status == 0)
				snap_suite_add_file(&job_suite(x, j)->out,
				    patches.paths[j], patches.jobs[j].hash,
				    patches.jobs[j].size);
		joblist_release(&patches);
		if (rc)
			goto out;
	}

	/* 3. Parse what changed. */
	rc = check_cancel(x, err);
	if (rc == 0)
		rc = store_txn_begin(x->store, false, &x->rtxn, err);
	if (rc)
		goto out;
	for (i = 0; i < x->nsw; i++) {
		if (!x->sw[i].changed)
			continue;
		rc = suite_parse(x, &x->sw[i], sels[i], kinds[i], nsels[i],
		    err);
		if (rc) {
			merr_prefix(err, "suite '%s': ", x->sw[i].name);
			set_fail_suite(x, x->sw[i].name);
			goto out_txn;
		}
	}
	for (i = 0; x->have_prev && i < x->prev.nsuites; i++) {
		const struct snap_suite *os = &x->prev.suites[i];

		for (j = 0; j < x->nsw; j++)
			if (strcmp(x->sw[j].name, os->name) == 0)
				break;
		for (size_t k = 0; j == x->nsw && k < os->nindices; k++) {
			rc = parse_index(x, os->name, os->indices[k].path,
			    os->indices[k].hash, INDEX_MAX_UNLISTED, -1, NULL,
			    err);
			if (rc)
				goto out_txn;
		}
	}
	store_txn_abort(x->rtxn);
	x->rtxn = NULL;
	log_memory("indices parsed");
	malloc_trim(0);
	rc = snap_delta_each_marked(x->delta, queue_pool, x, err);
	if (rc)
		goto out;

	/*
	 * 4. Pool files, then the barrier, then the commit. Making the
	 * blobs/ab/cd directories is most of a new blob's cost on ext4; a
	 * thread makes them ahead of the transfers, on the other core.
	 */
	rc = check_cancel(x, err);
	if (rc)
		goto out;
	if (x->pool.n > 0) {
		struct prep prep = { x->store, NULL, x->pool.n, { 0 }, 0 };
		pthread_t th;
		bool threaded;

		prep.h = xcalloc(x->pool.n, HASH_LEN);
		for (i = 0; i < x->pool.n; i++)
			memcpy(prep.h[i], x->pool.jobs[i].hash, HASH_LEN);
		threaded = pthread_create(&th, NULL, prep_run, &prep) == 0;
		rc = run_jobs(x, &x->pool, "pool", err);
		if (threaded)
			pthread_join(th, NULL);
		free(prep.h);
		if (rc)
			goto out;
	}
	log_memory("pool fetched");
	res->fetched_files = x->fetched_files;
	res->fetched_bytes = x->fetched_bytes;
	/*
	 * The pool jobs (a URL each) are done with: give their memory back
	 * before the commit needs its own, so that peak memory is that of
	 * the largest phase, not of two at once.
	 */
	joblist_release(&x->pool);
	gpg_verifier_free(x->gpg);	/* done with: verification is over */
	x->gpg = NULL;
	malloc_trim(0);
	/* The last moment to stop: the commit is not cut short. */
	rc = check_cancel(x, err);
	if (rc == 0)
		rc = store_sync(x->store, err);
	if (rc)
		goto out;
	sn.suites = xcalloc(x->nsw, sizeof(*sn.suites));
	states = xcalloc(x->nsw, sizeof(*states));
	for (i = 0; i < x->nsw; i++) {
		sn.suites[i] = x->sw[i].out;
		memset(&x->sw[i].out, 0, sizeof(x->sw[i].out));
		if (x->sw[i].changed)
			states[i] = &x->sw[i].state;
	}
	sn.nsuites = x->nsw;
	rc = snap_commit(x->store, m->name, &sn, x->delta, states, err);
	log_memory("committed");
	if (rc)
		goto out;
	res->created = true;
	memcpy(res->id, sn.id, sizeof(res->id));
	if (!x->opts->quiet)
		log_info("mirror '%s': snapshot %s: %llu packages, %llu pool "
		    "files, %llu new blobs (%.1f MiB)", m->name, sn.id,
		    (unsigned long long)sn.packages,
		    (unsigned long long)sn.files,
		    (unsigned long long)sn.new_files,
		    (double)sn.new_bytes / 1048576.0);
	goto out;
out_txn:
	store_txn_abort(x->rtxn);
	x->rtxn = NULL;
out:
	if (rc) {
		record_blobs(x->store, m->name, &idx);
		record_blobs(x->store, m->name, &x->pool);
	}
	for (i = 0; i < x->nsw; i++) {
		free(sels[i]);
		free(kinds[i]);
	}
	free(sels);
	free(kinds);
	free(nsels);
	free(states);
	joblist_release(&idx);
	snap_release(&sn);
	return rc;
}

/*
 * Records the pass for `mirrord status`. The snapshot's own commit is
 * snap_commit()'s transaction; this one follows it at once (a crash in
 * between leaves the previous record, which the snapshot list corrects).
 */
/* A failed pass's code to the reason status and metrics give. */
static enum status_reason
sync_reason(const struct sync_ctx *x, int rc)
{
	switch (rc) {
	case MERR_VERIFY:
		return x->verifying ? STATUS_SIGNATURE : STATUS_HASH;
	case MERR_NET:
	case MERR_NOTFOUND:
		return STATUS_NETWORK;
	case MERR_IO:
	case MERR_STORE:
	case MERR_FULL:
		return STATUS_DISK;
	case MERR_CONF:
		return STATUS_CONFIG;
	default:
		return STATUS_OTHER;
	}
}

static void
sync_record(struct store *s, const struct sync_ctx *x,
    const struct sync_opts *o, int64_t started, int rc,
    const struct sync_result *res, const struct merr *err)
{
	const struct conf_mirror *m = x->m;
	struct status_sync r;
	struct merr e2 = { 0 };

	memset(&r, 0, sizeof(r));
	r.ok = rc == 0;
	if (rc) {
		r.reason = sync_reason(x, rc);
		memcpy(r.suite, x->fail_suite, sizeof(r.suite));
	}
	r.warnings = x->warnings.len ? x->warnings.p : NULL;
	r.started = started;
	r.finished = (int64_t)time(NULL);
	if (rc == 0 && res->created)
		memcpy(r.snapshot, res->id, sizeof(r.snapshot));
	r.fetched_files = res->fetched_files;
	r.fetched_bytes = res->fetched_bytes;
	snprintf(r.by, sizeof(r.by), "%s", o->by ? o->by : "sync");
	r.error = rc ? (char *)err->msg : NULL;
	if (status_record_sync(s, m->name, &r, &e2))
		log_warn("mirror '%s': cannot record the sync's result: %s",
		    m->name, e2.msg);
}

/*
 * A suite that fails holds back every other suite of the mirror (a
 * snapshot takes them all at once, so that pockets stay coherent): say
 * so, naming them, where a log reader looks for the failure.
 */
static void
sync_held_back(const struct sync_ctx *x, int rc)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < x->m->nsuites; i++)
		if (strcmp(x->m->suites[i], x->fail_suite) != 0)
			buf_addf(&b, "%s'%s'", b.len ? ", " : "",
			    x->m->suites[i]);
	log_warn("mirror '%s': suite '%s' failed (%s): %s held back too, "
	    "as a snapshot takes every suite at once", x->m->name,
	    x->fail_suite, status_reason_name(sync_reason(x, rc)), b.p);
	buf_release(&b);
}

int
sync_mirror(const struct conf *c, const struct conf_mirror *m,
    struct store *s, struct fetch *f, const struct sync_opts *o,
    struct sync_result *res, struct merr *err)
{
	struct sync_ctx x;
	int64_t started = (int64_t)time(NULL);
	size_t i;
	int rc;

	memset(&x, 0, sizeof(x));
	memset(res, 0, sizeof(*res));
	fetch_set_cancel(f, o->cancel);
	x.conf = c;
	x.m = m;
	x.store = s;
	x.fetch = f;
	x.opts = o;
	x.delta = snap_delta_new();
	rc = store_txn_begin(s, false, &x.rtxn, err);
	if (rc)
		goto out;
	rc = snap_load(x.rtxn, m->name, "latest", &x.prev, err);
	store_txn_abort(x.rtxn);
	x.rtxn = NULL;
	if (rc == 0)
		x.have_prev = true;
	else if (rc != MERR_NOTFOUND)
		goto out;
	x.sw = xcalloc(m->nsuites, sizeof(*x.sw));
	x.nsw = m->nsuites;
	for (i = 0; i < m->nsuites; i++) {
		x.sw[i].name = m->suites[i];
		x.sw[i].base = xasprintf("%s/dists/%s/", m->uri, m->suites[i]);
	}
	rc = sync_run(&x, res, err);
out:
	/* However far it got, a cancelled pass says only that. */
	if (rc && cancelled(&x)) {
		rc = merr_set(err, MERR_CANCEL, "sync cancelled");
		x.fail_suite[0] = '\0';
	}
	if (rc)
		merr_prefix(err, "mirror '%s': ", m->name);
	if (rc && x.fail_suite[0] != '\0' && m->nsuites > 1)
		sync_held_back(&x, rc);
	fetch_set_cancel(f, NULL);
	sync_record(s, &x, o, started, rc, res, err);
	sync_ctx_release(&x);
	return rc;
}
