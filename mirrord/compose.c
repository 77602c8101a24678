/*
 * compose.c: a composed snapshot's indices, from a pkgset to blobs.
 *
 * Loading: each Packages/Sources index of a snapshot (the variant its
 * manifest names as parsed) or of upstream's files (the best variant
 * there is) is decompressed whole and handed to a pkgset, which keeps
 * offsets into it: a paragraph is never copied until it is written out.
 *
 * Writing: an index of the result is the selected paragraphs, byte for
 * byte, of every loaded index at the same suite and path, layer by layer
 * (a patch's base, then its ref), each in its text's order. A suite none
 * of whose indices changed is the base's, as it was (upstream's signature
 * included); one that changed is written by dists_compose_suite() and
 * signed by mirrord.
 */
#include "mirrord/common.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "mirrord/compose.h"
#include "mirrord/decomp.h"
#include "mirrord/dists.h"
#include "mirrord/log.h"

/* Reads a whole index blob, decompressed, into *text (owned). */
static int
compose_read(struct store *s, const char *suite, const char *path,
    const unsigned char h[HASH_LEN], char **text, size_t *len,
    struct merr *err)
{
	int fd, rc;

	fd = store_blob_open(s, h, err);
	if (fd < 0)
		return merr_prefix(err, "'%s/%s': ", suite, path);
	rc = decomp_read_all(fd, comp_from_name(path), COMPOSE_INDEX_MAX, path,
	    text, len, err);
	close(fd);
	return rc ? merr_prefix(err, "'%s/%s': ", suite, path) : 0;
}

/* One index to load: read (in any thread), then added (in order). */
struct load_job {
	const char *suite, *path;	/* borrowed */
	const unsigned char *hash;
	int layer;
	char *text;
	size_t len;
	bool mapped;		/* text is a file mapping, not malloc'd */
	int rc;
	struct merr err;
};

struct load_pool {
	struct store *s;
	struct load_job *jobs;
	size_t n;
	atomic_size_t next;
};

/*
 * The index of j as a read-only file mapping: the blob itself when it is
 * plain, else its text decompressed into an unnamed file of the store's
 * tmp/ (O_TMPFILE: gone with the mapping, whatever happens). A pkgset
 * gives a mapping's pages back as it scans (pkgset_add_index_mapped), so
 * what stays resident is its records, not Debian's 50 MB of text; the
 * text is still there, in the page cache, when a paragraph is written
 * out. -1 when that cannot be done (an empty index, no O_TMPFILE, a
 * store not writable by this user...): then the text is read into
 * memory, as it always may be.
 */
static int
compose_map(struct store *s, struct load_job *j)
{
	char *dir = NULL, buf[1 << 16];
	struct decomp *r = NULL;
	struct stat st;
	ssize_t n = 0;
	void *p;
	int fd, in = -1;

	fd = store_blob_open(s, j->hash, &j->err);
	if (fd < 0)
		return -1;
	if (comp_from_name(j->path) != COMP_NONE) {
		in = fd;
		dir = xasprintf("%s/tmp", store_dir(s));
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		free(dir);
		r = fd < 0 ? NULL : decomp_new(in, comp_from_name(j->path),
		    COMPOSE_INDEX_MAX, j->path);
		while (r && (n = decomp_read(r, buf, sizeof(buf), NULL)) > 0)
			if (write(fd, buf, (size_t)n) != n)
				n = -1;
		decomp_free(r);
		close(in);
	}
	if (fd < 0 || n < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	j->text = p;
	j->len = (size_t)st.st_size;
	j->mapped = true;
	return 0;
}

static void *
load_worker(void *arg)
{
	struct load_pool *lp = arg;
	size_t i;

	while ((i = atomic_fetch_add(&lp->next, 1)) < lp->n) {
		struct load_job *j = &lp->jobs[i];

		if (compose_map(lp->s, j) == 0)
			continue;
		j->rc = compose_read(lp->s, j->suite, j->path, j->hash,
		    &j->text, &j->len, &j->err);
	}
	return NULL;
}

/*
 * Decompresses the jobs' indices on up to 4 threads (an xz index of
 * Debian's main takes half a second: a patch reads two), then adds them
 * to ps in the jobs' order, so that package ids do not depend on timing.
 */
static int
compose_run(struct store *s, struct load_job *jobs, size_t n,
    struct pkgset *ps, struct merr *err)
{
	struct load_pool lp = { s, jobs, n, 0 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = ncpu < 1 ? 1 : ncpu > 4 ? 4 : (size_t)ncpu, i, started;
	pthread_t th[4];
	int rc = 0;

	if (nt > n)
		nt = n;
	for (started = 0; nt > 1 && started < nt - 1; started++)
		if (pthread_create(&th[started], NULL, load_worker, &lp))
			break;
	load_worker(&lp);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < n; i++) {
		struct load_job *j = &jobs[i];
		enum index_kind kind;
		char *base;

		if (rc == 0 && j->rc) {
			rc = j->rc;
			*err = j->err;
		}
		if (rc) {
			if (j->mapped)
				munmap(j->text, j->len);
			else
				free(j->text);
			continue;
		}
		base = xstrndup(j->path, comp_strip(j->path));
		kind = strstr(base, "Sources") ? INDEX_SOURCES :
		    INDEX_PACKAGES;
		if (j->mapped)
			rc = pkgset_add_index_mapped(ps, j->suite, base, kind,
			    j->layer, j->text, j->len, NULL, err);
		else
			rc = pkgset_add_index(ps, j->suite, base, kind,
			    j->layer, j->text, j->len, NULL, err);
		free(base);
	}
	return rc;
}

static void
job_add(struct load_job **v, size_t *n, const char *suite, const char *path,
    const unsigned char *h, int layer)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].suite = suite;
	(*v)[*n].path = path;
	(*v)[*n].hash = h;
	(*v)[(*n)++].layer = layer;
}

/* Decoding cost of a variant, cheapest highest: plain, .gz, .xz. */
static int
decode_rank(const char *path)
{
	switch (comp_from_name(path)) {
	case COMP_NONE:
		return 3;
	case COMP_GZ:
		return 2;
	case COMP_XZ:
		return 1;
	default:
		return 0;
	}
}

const struct snap_file *
compose_fastest(const struct snap_suite *su, const char *path)
{
	const struct snap_file *best = NULL;
	size_t n = comp_strip(path), i;

	for (i = 0; i < su->nfiles; i++) {
		const struct snap_file *v = &su->files[i];

		if (comp_strip(v->path) != n || strncmp(v->path, path, n) ||
		    decode_rank(v->path) == 0)
			continue;
		if (best == NULL || decode_rank(v->path) >
		    decode_rank(best->path))
			best = v;
	}
	return best;
}

int
compose_load(struct store *s, const struct snap *const *sns, size_t nsn,
    struct pkgset *ps, struct merr *err)
{
	struct load_job *jobs = NULL;
	size_t n = 0, i, j, k;
	int rc;

	for (k = 0; k < nsn; k++)
		for (i = 0; i < sns[k]->nsuites; i++) {
			const struct snap_suite *su = &sns[k]->suites[i];

			for (j = 0; j < su->nindices; j++) {
				const struct snap_file *f = compose_fastest(su,
				    su->indices[j].path);

				job_add(&jobs, &n, su->name, f ? f->path :
				    su->indices[j].path, f ? f->hash :
				    su->indices[j].hash, (int)k);
			}
		}
	rc = compose_run(s, jobs, n, ps, err);
	free(jobs);
	return rc;
}

bool
compose_is_index(const char *path)
{
	size_t n = comp_strip(path);

	if (strstr(path, "/by-hash/") != NULL || strncmp(path,
	    COMPOSE_UPSTREAM_DIR, strlen(COMPOSE_UPSTREAM_DIR)) == 0)
		return false;
	return (n >= 9 && strncmp(path + n - 9, "/Packages", 9) == 0) ||
	    (n >= 8 && strncmp(path + n - 8, "/Sources", 8) == 0);
}

int
compose_variant_rank(const char *path)
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

const struct snap_file *
compose_best_variant(const struct snap_suite *su, size_t i)
{
	const struct snap_file *f = &su->files[i], *best = NULL;
	size_t n = comp_strip(f->path), j;

	if (!compose_is_index(f->path))
		return NULL;
	for (j = 0; j < su->nfiles; j++) {
		const struct snap_file *v = &su->files[j];

		if (comp_strip(v->path) != n || strncmp(v->path, f->path, n) ||
		    compose_variant_rank(v->path) == 0)
			continue;
		/* Each index once: at its first variant in the list. */
		if (j < i)
			return NULL;
		if (best == NULL || compose_variant_rank(v->path) >
		    compose_variant_rank(best->path))
			best = v;
	}
	return best;
}

int
compose_load_files(struct store *s, const struct snap_suite *sus, size_t nsu,
    struct pkgset *ps, struct merr *err)
{
	struct load_job *jobs = NULL;
	const struct snap_file *f;
	size_t n = 0, i, k;
	int rc;

	for (k = 0; k < nsu; k++)
		for (i = 0; i < sus[k].nfiles; i++)
			if (compose_best_variant(&sus[k], i) != NULL &&
			    (f = compose_fastest(&sus[k],
			    sus[k].files[i].path)) != NULL)
				job_add(&jobs, &n, sus[k].name, f->path,
				    f->hash, 0);
	rc = compose_run(s, jobs, n, ps, err);
	free(jobs);
	return rc;
}

static bool
same_field(const struct pkgset *ps, uint32_t a, uint32_t b, enum pkg_field f)
{
	size_t al, bl;
	const char *x = pkgset_field(ps, a, f, &al);
	const char *y = pkgset_field(ps, b, f, &bl);

	return al == bl && (al == 0 || memcmp(x, y, al) == 0);
}

void
compose_spread(const struct pkgset *ps, uint8_t *sel)
{
	size_t i, n = pkgset_count(ps);
	uint32_t id, o;

	for (i = 0; i < n; i++) {
		const struct pkg *p;

		if (!sel[i] || sel[i] == 2)
			continue;
		id = (uint32_t)i;
		p = pkgset_pkg(ps, id);
		for (o = pkgset_first(ps, p->name); o != PKG_NONE;
		    o = pkgset_pkg(ps, o)->next) {
			const struct pkg *q = pkgset_pkg(ps, o);

			if (o == id || sel[o] ||
			    pkgset_index(ps, q->index)->layer !=
			    pkgset_index(ps, p->index)->layer ||
			    pkgset_index(ps, q->index)->kind !=
			    pkgset_index(ps, p->index)->kind ||
			    !same_field(ps, o, id, PF_VERSION) ||
			    !same_field(ps, o, id, PF_ARCH))
				continue;
			/* 2: marked here, not a root of the spread. */
			sel[o] = 2;
		}
	}
}

/* One index of the result being written. */
struct out_index {
	const char *path;	/* borrowed from the pkgset */
	struct buf text;
	uint64_t npara;
	bool changed;
};

static struct out_index *
out_find(struct out_index *v, size_t n, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].path, path) == 0)
			return &v[i];
	return NULL;
}

/* The selected paragraphs of each of suite's indices, layer by layer. */
static struct out_index *
compose_texts(const struct pkgset *ps, const uint8_t *sel, const char *suite,
    const struct compose_edit *edit, size_t *nout)
{
	struct out_index *v = NULL, *o;
	size_t n = 0, i, layer, ni = pkgset_nindices(ps);
	uint32_t id;

	for (layer = 0; layer < 2; layer++) {
		for (i = 0; i < ni; i++) {
			const struct pkgset_index *ix = pkgset_index(ps,
			    (uint32_t)i);

			if ((size_t)ix->layer != layer ||
			    strcmp(ix->suite, suite) != 0)
				continue;
			o = out_find(v, n, ix->path);
			if (o == NULL) {
				v = xreallocarray(v, n + 1, sizeof(*v));
				o = &v[n++];
				memset(o, 0, sizeof(*o));
				o->path = ix->path;
			}
			for (id = ix->first; id < ix->first + ix->count;
			    id++) {
				const char *p;
				size_t len;

				/* A base paragraph left out, or another in. */
				if (!sel[id]) {
					o->changed |= layer == 0;
					continue;
				}
				o->changed |= layer > 0;
				p = pkgset_para(ps, id, &len);
				if (edit && edit->fn(edit->ctx, ps, id, p, len,
				    &o->text))
					o->changed = true;
				else
					buf_add(&o->text, p, len);
				buf_add(&o->text, "\n\n", 2);
				o->npara++;
			}
		}
	}
	*nout = n;
	return v;
}

int
compose_write_suite(struct store *s, struct gpg_signer *g,
    const struct pkgset *ps, const uint8_t *sel, const struct snap_suite *base,
    bool force, int64_t date, const char *hide, struct snap_suite *out,
    bool *changed, struct merr *err)
{
	return compose_write_suite_edit(s, g, ps, sel, NULL, base, force, date,
	    hide, out, changed, err);
}

int
compose_write_suite_edit(struct store *s, struct gpg_signer *g,
    const struct pkgset *ps, const uint8_t *sel,
    const struct compose_edit *edit, const struct snap_suite *base,
    bool force, int64_t date, const char *hide, struct snap_suite *out,
    bool *changed, struct merr *err)
{
	struct out_index *v;
	struct dists_index *dx;
	size_t n, i, nd = 0, rlen = 0;
	char *rel = NULL;
	int rc = 0;

	*changed = false;
	v = compose_texts(ps, sel, base->name, edit, &n);
	dx = xcalloc(n ? n : 1, sizeof(*dx));
	for (i = 0; i < n; i++) {
		if (!force && !v[i].changed)
			continue;
		dx[nd].path = v[i].path;
		dx[nd].text = v[i].text.p ? v[i].text.p : "";
		dx[nd].len = v[i].text.len;
		dx[nd].npara = v[i].npara;
		nd++;
	}
	if (nd == 0) {
		snap_suite_copy(out, base);
		goto done;
	}
	*changed = true;
	rc = dists_release_text(s, base, &rel, &rlen, err);
	if (rc == 0)
		rc = dists_compose_suite(s, g, base, rel, rlen, dx, nd, date,
		    hide, out, err);
	if (rc)
		merr_prefix(err, "suite '%s': ", base->name);
done:
	for (i = 0; i < n; i++)
		buf_release(&v[i].text);
	free(v);
	free(dx);
	free(rel);
	return rc;
}

void
compose_upstream_view(struct snap *sn)
{
	size_t plen = strlen(COMPOSE_UPSTREAM_DIR), i, j;

	for (i = 0; i < sn->nsuites; i++) {
		struct snap_suite *su = &sn->suites[i], up;

		memset(&up, 0, sizeof(up));
		up.name = xstrdup(su->name);
		up.date = su->date;
		up.date_str = su->date_str ? xstrdup(su->date_str) : NULL;
		for (j = 0; j < su->nfiles; j++)
			if (strncmp(su->files[j].path, COMPOSE_UPSTREAM_DIR,
			    plen) == 0)
				snap_suite_add_file(&up, su->files[j].path +
				    plen, su->files[j].hash,
				    su->files[j].size);
		snap_suite_release(su);
		*su = up;
	}
}

int
compose_commit(struct store *s, const char *mirror, struct snap *result,
    struct merr *err)
{
	struct snap_delta *d = snap_delta_new();
	struct snap_state **states;
	struct store_txn *t;
	struct snap newest;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	if (rc == 0) {
		rc = snap_load_newest(t, mirror, &newest, err);
		store_txn_abort(t);
	}
	if (rc == 0) {
		log_debug("%s: written; the pool difference from %s",
		    snap_kind_name(result->kind), newest.id);
		rc = compose_delta(s, &newest, result, d, NULL, NULL, err);
		snap_release(&newest);
	}
	if (rc == 0)
		rc = store_sync(s, err);
	states = xcalloc(result->nsuites + 1, sizeof(*states));
	/* Its pool files are other snapshots': stored or not as there. */
	result->pool_deferred = true;
	if (rc == 0)
		rc = snap_commit(s, mirror, result, d, states, err);
	free(states);
	snap_delta_free(d);
	return rc;
}
