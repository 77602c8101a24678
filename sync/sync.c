/*
 * sync.c: one sync pass of one mirror, as its phases.
 *
 * 1. For each suite, fetch InRelease (conditionally; else Release and
 *    Release.gpg), verify it against the mirror's keyring, and check its
 *    dates against what was last accepted. An unchanged suite is copied
 *    from the previous snapshot as it is (suite.c).
 * 2. Fetch the selected index files of the changed suites (by hash when
 *    upstream offers it), verified against the signed Release, then the
 *    pdiff patches their Index files list (plan.c).
 * 3. Parse each Packages/Sources index that changed, as a stream: every
 *    pool file it lists not yet in the store is queued, and the pool
 *    membership difference against the previous version of that index is
 *    recorded (snap_delta; parse.c).
 * 4. Fetch the missing pool files in parallel, then one durability
 *    barrier (store_sync), then one LMDB transaction (snap_commit).
 *
 * Then the pass is recorded for `mirrord status`, whatever its outcome.
 */
#include "mirrord/common.h"

#include <malloc.h>
#include <pthread.h>
#include <time.h>

#include "mirrord/compose.h"
#include "mirrord/log.h"
#include "mirrord/store.h"
#include "sync/pass.h"

void
sync_fail_suite(struct sync_ctx *x, const char *name)
{
	if (x->fail_suite[0] == '\0' && name != NULL)
		snprintf(x->fail_suite, sizeof(x->fail_suite), "%s", name);
}

/* Names the suite in err and records it as the one that failed. */
static int
sync_suite_failed(struct sync_ctx *x, const char *name, int rc,
    struct merr *err)
{
	merr_prefix(err, "suite '%s': ", name);
	sync_fail_suite(x, name);
	return rc;
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

static bool
cancelled(const struct sync_ctx *x)
{
	return x->opts->cancel != NULL && atomic_load(x->opts->cancel);
}

int
sync_check_cancel(const struct sync_ctx *x, struct merr *err)
{
	return cancelled(x) ? merr_set(err, MERR_CANCEL, "sync cancelled") :
	    0;
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
			rc = store_gc_queue(t, jl->jobs[i].hash,
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

int
sync_run_jobs(struct sync_ctx *x, struct joblist *jl, const char *phase,
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
			sync_fail_suite(x, jl->suites[i]);
		}
		break;
	}
	x->fetched_files += before_f;
	x->fetched_bytes += before_b;
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
		free(x->sw[i].sel);
		free(x->sw[i].kinds);
	}
	free(x->sw);
	if (x->have_prev)
		snap_release(&x->prev);
	if (x->have_newest)
		snap_release(&x->newest);
	if (x->rtxn)
		store_txn_abort(x->rtxn);
	snap_delta_free(x->delta);
	joblist_release(&x->pool);
	gpg_verifier_free(x->gpg);
	buf_release(&x->warnings);
}

/* Is os, a suite of the previous snapshot, no longer configured? */
static bool
sync_dropped(const struct sync_ctx *x, const struct snap_suite *os)
{
	size_t j;

	for (j = 0; j < x->nsw; j++)
		if (strcmp(x->sw[j].name, os->name) == 0)
			return false;
	return true;
}

/*
 * Step 1: every suite's Release files, then what the mirror asks of them
 * that they lack. *todo is false when no suite changed or was dropped
 * since the previous snapshot: then there is nothing to commit.
 */
static int
sync_releases(struct sync_ctx *x, bool *todo, struct merr *err)
{
	size_t i, ndropped = 0;
	bool any = false;
	int rc;

	for (i = 0; i < x->nsw; i++) {
		struct suite_work *w = &x->sw[i];

		rc = sync_check_cancel(x, err);
		if (rc)
			return rc;
		x->verifying = true;
		rc = suite_release(x, w, err);
		if (rc)
			return sync_suite_failed(x, w->name, rc, err);
		x->verifying = false;
		any |= w->changed;
		if (!x->opts->quiet && !x->opts->progress)
			log_info("mirror '%s': suite '%s': %s", x->m->name,
			    w->name, w->changed ? w->rel.date_str :
			    "unchanged");
	}
	/* What is configured and missing upstream. */
	for (i = 0; i < x->nsw; i++) {
		rc = suite_missing(x, &x->sw[i], err);
		if (rc)
			return sync_suite_failed(x, x->sw[i].name, rc, err);
	}
	/* Suites the previous snapshot had that are no longer configured. */
	for (i = 0; x->have_prev && i < x->prev.nsuites; i++)
		if (sync_dropped(x, &x->prev.suites[i]))
			ndropped++;
	*todo = any || ndropped > 0 || !x->have_prev;
	/* A partial mirror whose selectors changed is composed again. */
	if (x->partial && x->have_prev) {
		char *r = partial_recipe(x->m);

		*todo |= x->prev.recipe == NULL ||
		    strcmp(x->prev.recipe, r) != 0;
		free(r);
	}
	return 0;
}

/*
 * Step 3: parse what changed, drop the indices of suites no longer
 * configured, then queue the pool files missing from the store.
 */
static int
sync_parse(struct sync_ctx *x, struct merr *err)
{
	size_t i, k;
	int rc;

	rc = sync_check_cancel(x, err);
	if (rc == 0)
		rc = store_txn_begin(x->store, false, &x->rtxn, err);
	if (rc)
		return rc;
	for (i = 0; i < x->nsw; i++) {
		if (!x->sw[i].changed)
			continue;
		rc = parse_suite(x, &x->sw[i], err);
		if (rc)
			return sync_suite_failed(x, x->sw[i].name, rc, err);
	}
	for (i = 0; x->have_prev && i < x->prev.nsuites; i++) {
		const struct snap_suite *os = &x->prev.suites[i];

		for (k = 0; sync_dropped(x, os) && k < os->nindices; k++) {
			rc = parse_index(x, os->name, os->indices[k].path,
			    os->indices[k].hash, INDEX_MAX_UNLISTED, -1, NULL,
			    err);
			if (rc)
				return rc;
		}
	}
	/*
	 * A patch came after prev: what prev has and the patch lacks comes
	 * back, what the patch added goes (the delta is against the newest
	 * snapshot, whatever its kind).
	 */
	if (x->have_newest) {
		struct snap none = { 0 };

		rc = compose_delta(x->store, &x->newest, x->have_prev ?
		    &x->prev : &none, x->delta, NULL, NULL, err);
		if (rc)
			return rc;
	}
	store_txn_abort(x->rtxn);
	x->rtxn = NULL;
	log_memory("indices parsed");
	malloc_trim(0);
	return parse_queue_pool(x, err);
}

/*
 * Step 4a: the pool files. A thread makes the blobs/ab/ directories
 * ahead of the transfers, on the other core (256 of them since store
 * format 2; with format 1's ab/cd/ they were most of a new blob's cost
 * on ext4).
 */
static int
sync_pool(struct sync_ctx *x, struct sync_result *res, struct merr *err)
{
	size_t i;
	int rc;

	rc = sync_check_cancel(x, err);
	if (rc)
		return rc;
	if (x->pool.n > 0) {
		struct prep prep = { x->store, NULL, x->pool.n, { 0 }, 0 };
		pthread_t th;
		bool threaded;

		prep.h = xcalloc(x->pool.n, HASH_LEN);
		for (i = 0; i < x->pool.n; i++) {
			memcpy(prep.h[i], x->pool.jobs[i].hash, HASH_LEN);
			/* Nothing reads a pool file before the commit. */
			x->pool.jobs[i].behind = true;
		}
		threaded = pthread_create(&th, NULL, prep_run, &prep) == 0;
		rc = sync_run_jobs(x, &x->pool, "pool", err);
		if (threaded)
			pthread_join(th, NULL);
		free(prep.h);
		if (rc)
			return rc;
	}
	log_memory("pool fetched");
	res->fetched_files = x->fetched_files;
	res->fetched_bytes = x->fetched_bytes;
	return 0;
}

/* Step 4b: the barrier, then the commit of the new snapshot. */
static int
sync_commit(struct sync_ctx *x, struct sync_result *res, struct merr *err)
{
	struct snap_state **states = NULL;
	struct snap sn;
	size_t i;
	int rc;

	memset(&sn, 0, sizeof(sn));
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
	rc = sync_check_cancel(x, err);
	if (rc)
		return rc;
	/* The barrier runs while the commit's transaction is written. */
	store_sync_start(x->store);
	sn.suites = xcalloc(x->nsw, sizeof(*sn.suites));
	states = xcalloc(x->nsw, sizeof(*states));
	for (i = 0; i < x->nsw; i++) {
		sn.suites[i] = x->sw[i].out;
		memset(&x->sw[i].out, 0, sizeof(x->sw[i].out));
		if (x->sw[i].changed)
			states[i] = &x->sw[i].state;
	}
	sn.nsuites = x->nsw;
	sn.pool_deferred = x->m->on_demand;
	if (x->partial) {
		sn.kind = SNAP_PARTIAL;
		sn.recipe = partial_recipe(x->m);
	}
	rc = snap_commit(x->store, x->m->name, &sn, x->delta, states, err);
	if (rc == 0)
		rc = store_sync_finish(x->store, err);
	else
		store_sync_finish(x->store, NULL);
	log_memory("committed");
	if (rc == 0) {
		res->created = true;
		memcpy(res->id, sn.id, sizeof(res->id));
		if (!x->opts->quiet)
			log_info("mirror '%s': snapshot %s: %llu packages, "
			    "%llu pool files, %llu new blobs (%.1f MiB)",
			    x->m->name, sn.id,
			    (unsigned long long)sn.packages,
			    (unsigned long long)sn.files,
			    (unsigned long long)sn.new_files,
			    (double)sn.new_bytes / 1048576.0);
	}
	free(states);
	snap_release(&sn);
	return rc;
}

static int
sync_run(struct sync_ctx *x, struct sync_result *res, struct merr *err)
{
	struct joblist idx = { 0 };
	bool todo = false;
	int rc;

	rc = sync_releases(x, &todo, err);
	if (rc == 0 && todo) {
		/* Step 2: the index files, then the pdiff patches. */
		rc = sync_check_cancel(x, err);
		if (rc == 0)
			rc = plan_indices(x, &idx, err);
		if (rc == 0)
			rc = plan_pdiffs(x, err);
		if (rc == 0)
			rc = x->partial ? partial_compose(x, err) :
			    sync_parse(x, err);
		if (rc == 0)
			rc = sync_pool(x, res, err);
		if (rc == 0)
			rc = sync_commit(x, res, err);
	}
	if (rc) {
		/* A phase that failed may have left its read txn open. */
		if (x->rtxn)
			store_txn_abort(x->rtxn);
		x->rtxn = NULL;
		record_blobs(x->store, x->m->name, &idx);
		record_blobs(x->store, x->m->name, &x->pool);
	}
	joblist_release(&idx);
	return rc;
}

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

/*
 * Records the pass for `mirrord status`. The snapshot's own commit is
 * snap_commit()'s transaction; this one follows it at once (a crash in
 * between leaves the previous record, which the snapshot list corrects).
 */
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

/*
 * The snapshots a pass starts from: x->prev, the latest (never a patch),
 * and x->newest when the delta must be stated against another (sync.h's
 * struct sync_ctx says when). A mirror that became partial, or whole,
 * since its latest starts as a first sync would (every suite fetched
 * and verified again), its delta still against the newest.
 */
static int
sync_prev(struct sync_ctx *x, struct merr *err)
{
	const char *name = x->m->name;
	int rc;

	rc = store_txn_begin(x->store, false, &x->rtxn, err);
	if (rc)
		return rc;
	rc = snap_load_newest(x->rtxn, name, &x->newest, err);
	x->have_newest = rc == 0;
	if (rc == 0 || rc == MERR_NOTFOUND)
		rc = snap_load(x->rtxn, name, "latest", &x->prev, err);
	store_txn_abort(x->rtxn);
	x->rtxn = NULL;
	if (rc == MERR_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	x->have_prev = true;
	if (x->partial != (x->prev.kind == SNAP_PARTIAL)) {
		log_info("mirror '%s': now %s: every suite is fetched again",
		    name, x->partial ? "partial (Include:)" : "whole");
		snap_release(&x->prev);
		x->have_prev = false;
		return 0;
	}
	if (x->partial)
		compose_upstream_view(&x->prev);
	else if (x->newest.seq == x->prev.seq) {
		snap_release(&x->newest);
		x->have_newest = false;
	}
	return 0;
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
	x.partial = m->ninclude > 0;
	rc = sync_prev(&x, err);
	if (rc)
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
