/*
 * content.c: referenced vs stored, and fetching what a snapshot lacks
 * (content.h). Pool files are pool.c's intervals; "stored" is the blobs
 * table; the transfers are fetch.c's.
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/channel.h"
#include "mirrord/content.h"
#include "mirrord/odstats.h"
#include "mirrord/pool.h"
#include "mirrord/util.h"

/* Up to this many tries of the listing transaction (MERR_FULL). */
#define CONTENT_TXN_TRIES 5

typedef int (*walk_fn)(void *ctx, const struct content_file *f, bool stored,
    struct merr *err);

struct walk {
	struct store_txn *t;
	uint32_t seq;
	walk_fn fn;
	void *ctx;
};

static int
walk_one(void *ctx, const struct pool_interval *iv, struct merr *err)
{
	struct walk *w = ctx;
	struct store_blob_rec rec;
	struct content_file f;
	int rc;

	/* A malformed key is fsck's to report; it names no file here. */
	if (iv == NULL || iv->from > w->seq || (iv->to != 0 &&
	    w->seq >= iv->to))
		return 0;
	rc = store_blob_get(w->t, iv->hash, &rec, err);
	if (rc && rc != MERR_NOTFOUND)
		return rc;
	f.path = iv->path;
	memcpy(f.hash, iv->hash, HASH_LEN);
	f.size = iv->size;
	return w->fn(w->ctx, &f, rc == 0, err);
}

/* Each pool file of snapshot seq of mirror, stored or not, to fn. */
static int
content_walk(struct store_txn *t, const char *mirror, uint32_t seq,
    walk_fn fn, void *ctx, struct merr *err)
{
	struct walk w = { t, seq, fn, ctx };

	return pool_each_mirror(t, mirror, walk_one, &w, err);
}

static int
count_one(void *ctx, const struct content_file *f, bool stored,
    struct merr *err)
{
	struct content_counts *c = ctx;

	c->files++;
	c->bytes += f->size;
	if (stored) {
		c->stored_files++;
		c->stored_bytes += f->size;
	}
	return 0;
}

int
content_count(struct store_txn *t, const char *mirror, uint32_t seq,
    struct content_counts *out, struct merr *err)
{
	memset(out, 0, sizeof(*out));
	return content_walk(t, mirror, seq, count_one, out, err);
}

struct missing {
	content_file_fn fn;
	void *ctx;
};

static int
missing_one(void *ctx, const struct content_file *f, bool stored,
    struct merr *err)
{
	struct missing *m = ctx;

	return stored ? 0 : m->fn(m->ctx, f, err);
}

int
content_missing_each(struct store_txn *t, const char *mirror, uint32_t seq,
    content_file_fn fn, void *ctx, struct merr *err)
{
	struct missing m = { fn, ctx };

	return content_walk(t, mirror, seq, missing_one, &m, err);
}

/* --- fetching ------------------------------------------------------------ */

/* What one content_fetch wants: a job per distinct missing blob. */
struct want {
	const struct conf_mirror *m;
	struct fetch_job *jobs;
	char **paths;		/* the first path naming each job's blob */
	size_t n, cap;
	struct content_fetch_result *res;
};

static int
want_one(void *ctx, const struct content_file *f, bool stored,
    struct merr *err)
{
	struct want *w = ctx;
	struct fetch_job *j;

	if (stored) {
		w->res->had_files++;
		w->res->had_bytes += f->size;
		return 0;
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->jobs = xreallocarray(w->jobs, w->cap, sizeof(*w->jobs));
		w->paths = xreallocarray(w->paths, w->cap, sizeof(*w->paths));
	}
	j = &w->jobs[w->n];
	memset(j, 0, sizeof(*j));
	/* As sync/parse.c's parse_queue_one makes a pool file's URL. */
	j->url = xasprintf("%s/%s", w->m->uri, f->path);
	/*
	 * Optional: a file upstream no longer has (404) does not stop the
	 * others, which are stored; content_fetch says it after.
	 */
	j->optional = true;
	memcpy(j->hash, f->hash, HASH_LEN);
	j->size = f->size;
	w->paths[w->n++] = xstrdup(f->path);
	return 0;
}

static int
job_cmp(const void *a, const void *b)
{
	const struct fetch_job *x = a, *y = b;

	return memcmp(x->hash, y->hash, HASH_LEN);
}

/*
 * One job per blob: two paths with the same bytes (rare, but the
 * intervals allow it) would be two transfers into one file. The jobs are
 * sorted by hash with their paths alongside.
 */
static void
want_dedup(struct want *w)
{
	struct { struct fetch_job j; char *path; } *v;
	size_t i, k = 0;

	if (w->n < 2)
		return;
	v = xreallocarray(NULL, w->n, sizeof(*v));
	for (i = 0; i < w->n; i++) {
		v[i].j = w->jobs[i];
		v[i].path = w->paths[i];
	}
	/* struct fetch_job first: job_cmp reads it. */
	qsort(v, w->n, sizeof(*v), job_cmp);
	for (i = 0; i < w->n; i++) {
		if (k > 0 && memcmp(v[i].j.hash, w->jobs[k - 1].hash,
		    HASH_LEN) == 0) {
			free((char *)v[i].j.url);
			free(v[i].path);
			continue;
		}
		w->jobs[k] = v[i].j;
		w->paths[k++] = v[i].path;
	}
	w->n = k;
	free(v);
}

static void
want_release(struct want *w)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		free((char *)w->jobs[i].url);
		free(w->paths[i]);
	}
	free(w->jobs);
	free(w->paths);
}

static int
want_load(struct store *s, const struct snap *sn, struct want *w,
    struct merr *err)
{
	struct store_txn *t;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = content_walk(t, w->m->name, sn->seq, want_one, w, err);
	store_txn_abort(t);
	if (rc)
		return rc;
	want_dedup(w);
	return 0;
}

/*
 * Lists blob h, just stored, in t: unqueued from gc if a pool interval
 * names it (the usual case), queued if its last snapshot went while it
 * downloaded (gc then removes it as any unreferenced blob). 1 if it was
 * listed here, 0 if another writer (the server) listed it first.
 */
static int
list_blob(struct store_txn *t, const unsigned char h[HASH_LEN],
    uint64_t size, int64_t now, struct merr *err)
{
	struct store_blob_rec rec;
	int rc;

	rc = store_blob_get(t, h, &rec, err);
	if (rc != MERR_NOTFOUND)
		return rc;
	rc = store_blob_put(t, h, size, err);
	if (rc)
		return rc;
	if (pool_referenced(t, h)) {
		rc = store_gc_unqueue(t, h, err);
		if (rc == MERR_NOTFOUND)
			rc = 0;
	} else {
		rc = store_gc_queue(t, h, now, err);
	}
	return rc ? rc : 1;
}

/*
 * The one listing transaction after the fetch: each stored job, and the
 * failure (fail, or NULL). The fetcher gives no per-file times: each
 * file is counted with an equal share of the run's wall time.
 */
static int
record_once(struct store *s, const char *mirror, const struct want *w,
    uint64_t ms, const char *fail, struct merr *err)
{
	struct content_fetch_result *res = w->res;
	struct store_txn *t;
	int64_t now = (int64_t)time(NULL);
	uint64_t nstored = 0, each;
	size_t i;
	int rc;

	for (i = 0; i < w->n; i++)
		nstored += w->jobs[i].status == 0;
	each = nstored ? ms / nstored : 0;
	res->fetched_files = res->fetched_bytes = 0;
	rc = store_txn_begin(s, true, &t, err);
	if (rc)
		return rc;
	for (i = 0; rc == 0 && i < w->n; i++) {
		if (w->jobs[i].status != 0)
			continue;
		rc = list_blob(t, w->jobs[i].hash, w->jobs[i].size, now, err);
		if (rc == 1) {
			res->fetched_files++;
			res->fetched_bytes += w->jobs[i].size;
			rc = odstats_note_stored(t, mirror, w->jobs[i].size,
			    each, err);
		}
	}
	if (rc == 0 && fail != NULL)
		rc = odstats_note_failed(t, mirror, now, fail, err);
	if (rc) {
		store_txn_abort(t);
		return rc;
	}
	return store_txn_commit(t, err);
}

static int
record(struct store *s, const char *mirror, const struct want *w,
    uint64_t ms, const char *fail, struct merr *err)
{
	size_t i, n = 0;
	int rc, tries;

	for (i = 0; i < w->n; i++)
		n += w->jobs[i].status == 0;
	if (n == 0 && fail == NULL)
		return 0;
	/* The files must be durable before a committed row names them. */
	rc = n ? store_sync(s, err) : 0;
	for (tries = 0; rc == 0; tries++) {
		rc = record_once(s, mirror, w, ms, fail, err);
		if (rc != MERR_FULL || tries + 1 == CONTENT_TXN_TRIES)
			break;
		rc = 0;
	}
	return rc;
}

/*
 * Prefixes err with the snapshot and the path of the job it names, and
 * returns odstats' line for it, "snapshot ID PATH: reason" (owned).
 */
static char *
name_failure(const struct want *w, const struct snap *sn, struct merr *err)
{
	char *text;
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (w->jobs[i].status < 0 &&
		    strstr(err->msg, w->jobs[i].url) != NULL) {
			text = xasprintf("snapshot %s %s: %s", sn->id,
			    w->paths[i], err->msg);
			merr_prefix(err, "snapshot %s: '%s': ", sn->id,
			    w->paths[i]);
			return text;
		}
	}
	text = xasprintf("snapshot %s: %s", sn->id, err->msg);
	merr_prefix(err, "snapshot %s: ", sn->id);
	return text;
}

/* MERR_NOTFOUND naming the first job upstream did not have, if any. */
static int
gone_upstream(struct want *w, struct merr *err)
{
	char more[64] = "";
	size_t i, first = 0, n = 0;

	for (i = 0; i < w->n; i++) {
		if (w->jobs[i].status != 1)
			continue;
		if (n++ == 0)
			first = i;
		w->jobs[i].status = MERR_NOTFOUND;
	}
	if (n == 0)
		return 0;
	if (n > 1)
		snprintf(more, sizeof(more), " (and %zu more files)", n - 1);
	return merr_set(err, MERR_NOTFOUND, "'%s': not found upstream "
	    "(404)%s", w->jobs[first].url, more);
}

int
content_fetch(struct store *s, struct fetch *f, const struct conf_mirror *m,
    const struct snap *sn, const struct content_fetch_opts *o,
    struct content_fetch_result *res, struct merr *err)
{
	struct content_fetch_result r0;
	struct want w;
	struct merr ferr = { 0 }, rerr = { 0 };
	int64_t t0;
	uint64_t ms = 0;
	char *fail = NULL;
	size_t i;
	int rc, rrc;

	if (res == NULL)
		res = &r0;
	memset(res, 0, sizeof(*res));
	memset(&w, 0, sizeof(w));
	w.m = m;
	w.res = res;
	rc = want_load(s, sn, &w, err);
	if (rc)
		goto out;
	for (i = 0; i < w.n; i++) {
		res->want_files++;
		res->want_bytes += w.jobs[i].size;
	}
	if (w.n == 0)
		goto out;
	if (o != NULL && o->start != NULL)
		o->start(o->ctx, res->want_files, res->want_bytes);
	fetch_set_cancel(f, o ? o->cancel : NULL);
	t0 = mono_ms();
	rc = fetch_to_store(f, s, w.jobs, w.n, o ? o->progress : NULL,
	    o ? o->ctx : NULL, &ferr);
	if (mono_ms() > t0)
		ms = (uint64_t)(mono_ms() - t0);
	if (rc == 0)
		rc = gone_upstream(&w, &ferr);
	if (rc) {
		fail = name_failure(&w, sn, &ferr);
		if (rc == MERR_CANCEL) {
			free(fail);	/* stopped, not failed */
			fail = NULL;
		}
	}
	/* What arrived is listed even when the fetch failed: a resume. */
	rrc = record(s, m->name, &w, ms, fail, &rerr);
	if (rc) {
		*err = ferr;
		if (rrc)
			merr_prefix(err, "(and the files that arrived could "
			    "not be listed: %s) ", rerr.msg);
	} else if (rrc) {
		*err = rerr;
		rc = rrc;
	}
out:
	free(fail);
	want_release(&w);
	return rc;
}

/* --- Prefetch: ----------------------------------------------------------- */

bool
content_prefetch_wanted(const struct conf_mirror *m, const char *channel)
{
	size_t i;

	if (m == NULL || !m->on_demand)
		return false;
	for (i = 0; i < m->nprefetch; i++)
		if (strcmp(m->prefetch[i], channel) == 0)
			return true;
	return false;
}

/* ref of m resolved into *sn (owned) and its stored counts. */
static int
resolve_counts(struct store *s, const char *mirror, const char *ref,
    struct snap *sn, struct content_counts *cc, struct merr *err)
{
	struct store_txn *t;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = channel_resolve_snap(t, mirror, ref, sn, err);
	if (rc == 0) {
		rc = content_count(t, mirror, sn->seq, cc, err);
		if (rc)
			snap_release(sn);
	}
	store_txn_abort(t);
	return rc;
}

#define PREFETCH_WHY "channel '%s' takes only fully stored snapshots " \
	"(Prefetch:): "

int
content_prefetch_for(struct store *s, const struct conf *c,
    const struct conf_mirror *m, const char *ref, const char *channel,
    const struct content_fetch_opts *o, char id[SNAP_ID_LEN + 1],
    struct content_fetch_result *res, struct merr *err)
{
	struct content_counts cc;
	struct fetch_opts fo;
	struct fetch *f = NULL;
	struct snap sn;
	int rc;

	id[0] = '\0';
	if (res)
		memset(res, 0, sizeof(*res));
	if (!content_prefetch_wanted(m, channel))
		return 0;
	rc = resolve_counts(s, m->name, ref, &sn, &cc, err);
	if (rc)
		return rc;
	memcpy(id, sn.id, SNAP_ID_LEN + 1);
	if (cc.stored_files < cc.files) {
		fetch_opts_of_conf(c, &fo);
		rc = fetch_new(&fo, &f, err);
		if (rc == 0)
			rc = content_fetch(s, f, m, &sn, o, res, err);
		fetch_free(f);
		if (rc)
			merr_prefix(err, PREFETCH_WHY, channel);
	}
	snap_release(&sn);
	return rc;
}

int
content_rollback_target(struct store_txn *t, const char *mirror,
    const char *channel, char id[SNAP_ID_LEN + 1], struct merr *err)
{
	struct channel_log *l = NULL;
	const char *to;
	size_t n = 0;
	int rc;

	rc = channel_log_get(t, mirror, channel, &l, &n, err);
	if (rc)
		return rc;
	if (channel_log_rollbacks(l, n, 1, &to) == 1)
		snprintf(id, SNAP_ID_LEN + 1, "%s", to);
	else
		rc = merr_set(err, MERR_NOTFOUND, "channel '%s' has no "
		    "earlier target to roll back to", channel);
	channel_log_release(l, n);
	return rc;
}

int
content_prefetch_check(struct store_txn *t, const struct conf_mirror *m,
    const char *channel, const char *id, struct merr *err)
{
	struct content_counts cc;
	struct snap sn;
	int rc;

	if (!content_prefetch_wanted(m, channel))
		return 0;
	rc = snap_load(t, m->name, id, &sn, err);
	if (rc)
		return rc;
	rc = content_count(t, m->name, sn.seq, &cc, err);
	snap_release(&sn);
	if (rc == 0 && cc.stored_files < cc.files)
		rc = merr_set(err, MERR_BUSY, PREFETCH_WHY "snapshot %s has "
		    "%llu of %llu pool files stored", channel, id,
		    (unsigned long long)cc.stored_files,
		    (unsigned long long)cc.files);
	return rc;
}
