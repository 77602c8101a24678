/*
 * gc.c: retention and garbage collection. See gc.h for the method.
 */
#include "mirrord/common.h"

#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/channel.h"
#include "mirrord/confval.h"
#include "mirrord/fetch.h"
#include "mirrord/gc.h"
#include "mirrord/log.h"
#include "mirrord/pool.h"
#include "mirrord/s3.h"
#include "mirrord/snap.h"

/* A pin's name under its mirror in TBL_META: "pin\0ID" (store_meta_*). */
static void
pin_name(struct buf *k, const char *id)
{
	buf_reset(k);
	buf_adds(k, "pin");
	buf_addc(k, '\0');
	buf_adds(k, id);
}

int
gc_pin(struct store *s, const char *mirror, const char *id, const char *note,
    struct merr *err)
{
	struct store_txn *t;
	struct snap sn;
	struct buf k = BUF_INIT;
	int rc;

	rc = store_txn_begin(s, true, &t, err);
	if (rc)
		return rc;
	rc = snap_load(t, mirror, id, &sn, err);
	if (rc == 0) {
		if (strcmp(sn.id, id) != 0)
			rc = merr_set(err, MERR_NOTFOUND,
			    "no snapshot '%s' (pin an exact ID)", id);
		snap_release(&sn);
	}
	if (rc == 0) {
		pin_name(&k, id);
		if (note)
			rc = store_meta_put(t, mirror, k.p, k.len, note,
			    strlen(note), err);
		else
			rc = store_meta_del(t, mirror, k.p, k.len, err);
		if (rc == MERR_NOTFOUND)
			rc = merr_set(err, MERR_NOTFOUND,
			    "snapshot '%s' is not pinned", id);
	}
	buf_release(&k);
	if (rc == 0)
		return store_txn_commit(t, err);
	store_txn_abort(t);
	return rc;
}

/* One snapshot as retention sees it. */
struct gc_snap {
	char id[SNAP_ID_LEN + 1];
	uint32_t seq;
	int64_t time;
	bool keep;
	bool patch;		/* a patch or phase: not a state of upstream */
};

static void
keep_id(struct gc_snap *v, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].id, id) == 0)
			v[i].keep = true;
}

struct keep_ctx {
	struct gc_snap *v;
	size_t n;
};

static int
keep_rollback_target(void *ctx, const char *id, struct merr *err)
{
	struct keep_ctx *kc = ctx;

	keep_id(kc->v, kc->n, id);
	return 0;
}

/*
 * Marks what channels need: each target, and every target that up to
 * history successive rollbacks can reach, by the rule rollback itself
 * follows (channel_rollback_targets()): refreshes count for nothing.
 */
static int
keep_channels(struct store_txn *t, const char *mirror, unsigned history,
    struct gc_snap *v, size_t n, struct merr *err)
{
	struct keep_ctx kc = { v, n };
	char **names = NULL;
	size_t nn = 0, i;
	int rc;

	rc = channel_list(t, mirror, &names, &nn, err);
	for (i = 0; rc == 0 && i < nn; i++) {
		struct channel ch;

		rc = channel_get(t, mirror, names[i], &ch, err);
		if (rc)
			break;
		keep_id(v, n, ch.target);
		channel_free(&ch);
		rc = channel_rollback_targets(t, mirror, names[i], history,
		    keep_rollback_target, &kc, err);
	}
	strv_free(names, nn);
	return rc;
}

/* Candidates: blobs that may have lost their last reference. */
struct hashes {
	unsigned char (*h)[HASH_LEN];
	size_t n, cap;
};

static void
hashes_add(struct hashes *hs, const unsigned char h[HASH_LEN])
{
	if (hs->n == hs->cap) {
		hs->cap = hs->cap ? hs->cap * 2 : 64;
		hs->h = xreallocarray(hs->h, hs->cap, HASH_LEN);
	}
	memcpy(hs->h[hs->n++], h, HASH_LEN);
}

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, HASH_LEN);
}

static bool
hashes_has(const struct hashes *hs, const unsigned char h[HASH_LEN])
{
	return hs->n && bsearch(h, hs->h, hs->n, HASH_LEN, hash_cmp) != NULL;
}

struct drop_ctx {
	struct hashes *cand;
	struct gc_stats *st;
};

/* A blob that lost its last live pool interval: a candidate. */
static int
drop_lost(void *ctx, const unsigned char h[HASH_LEN], struct merr *err)
{
	struct drop_ctx *dc = ctx;

	hashes_add(dc->cand, h);
	dc->st->blobs_queued++;
	return 0;
}

/*
 * Drops the snapshots of v (n of them, seqs up to maxseq) not marked keep,
 * in transaction t: their rows, then the pool intervals no kept snapshot
 * lies in; candidates for the queue go to cand.
 */
static int
drop_unkept(struct store_txn *t, const char *mirror, const struct gc_snap *v,
    size_t n, uint32_t maxseq, bool dry_run, struct hashes *cand,
    struct gc_stats *st, struct merr *err)
{
	struct drop_ctx dc = { cand, st };
	bool *present;
	size_t i, j;
	int rc = 0;

	/* Seqs still present after the drop; runs of absent ones. */
	present = xcalloc((size_t)maxseq + 2, sizeof(bool));
	for (i = 0; i < n; i++)
		present[v[i].seq] = v[i].keep;
	for (i = 0; i < n; i++) {
		struct snap sn;

		if (v[i].keep)
			continue;
		st->snapshots_dropped++;
		log_info("mirror '%s': %s snapshot %s", mirror,
		    dry_run ? "would drop" : "dropping", v[i].id);
		rc = snap_load(t, mirror, v[i].id, &sn, err);
		if (rc)
			goto out;
		for (j = 0; j < sn.nsuites; j++) {
			size_t f;

			for (f = 0; f < sn.suites[j].nfiles; f++)
				hashes_add(cand, sn.suites[j].files[f].hash);
		}
		snap_release(&sn);
		rc = snap_drop(t, mirror, v[i].id, err);
		if (rc)
			goto out;
	}
	/* Each maximal run of absent seqs holding a newly dropped one. */
	for (i = 0; i < n; i++) {
		uint32_t a, b;

		if (v[i].keep)
			continue;
		a = v[i].seq;
		b = v[i].seq;
		while (a > 1 && !present[a - 1])
			a--;
		while (b < maxseq && !present[b + 1])
			b++;
		/* Visit each run once: at its first newly dropped seq. */
		for (j = 0; j < i; j++)
			if (!v[j].keep && v[j].seq >= a && v[j].seq <= b)
				break;
		if (j < i)
			continue;
		rc = pool_drop_ended(t, mirror, a, b, drop_lost, &dc, err);
		if (rc)
			goto out;
	}
out:
	free(present);
	return rc;
}

/*
 * "last N" counts states of upstream, not patches (a channel keeps those
 * it needs), and `latest`, the newest of them, is kept whatever the rule:
 * /<mirror>/latest/ and the next sync build on it.
 */
static void
keep_last(struct gc_snap *v, size_t n, unsigned last_n)
{
	size_t i, seen = 0;
	bool latest = false;

	for (i = n; i-- > 0;) {
		if (v[i].patch)
			continue;
		if (!latest || (last_n && seen < last_n))
			v[i].keep = true;
		latest = true;
		seen++;
	}
}

/* Retention for one mirror, in transaction t. */
static int
retain(struct store_txn *t, const struct conf *c, const char *mirror,
    const char *keep_rule, bool dry_run, struct hashes *cand,
    struct gc_stats *st, struct merr *err)
{
	struct gc_snap *v = NULL;
	char **ids = NULL;
	size_t n = 0, i;
	int64_t now = (int64_t)time(NULL);
	unsigned last_n;
	long max_age;
	uint32_t maxseq = 0;
	int rc;

	if (keep_rule == NULL)
		return 0;	/* keep everything */
	rc = confval_keep(keep_rule, &max_age, &last_n, err);
	if (rc)
		return rc;
	rc = snap_list(t, mirror, &ids, &n, err);
	if (rc || n == 0)
		goto out;
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++) {
		struct snap sn;
		struct buf k = BUF_INIT;
		const void *pv;
		size_t pvl;

		rc = snap_load(t, mirror, ids[i], &sn, err);
		if (rc)
			goto out;
		memcpy(v[i].id, sn.id, sizeof(v[i].id));
		v[i].seq = sn.seq;
		v[i].time = sn.time;
		v[i].patch = !snap_kind_upstream(sn.kind);
		if (sn.seq > maxseq)
			maxseq = sn.seq;
		snap_release(&sn);
		v[i].keep = i + 1 == n ||		/* the newest */
		    (max_age && now - v[i].time < max_age);
		pin_name(&k, ids[i]);
		rc = store_meta_get(t, mirror, k.p, k.len, &pv, &pvl, err);
		buf_release(&k);
		if (rc == 0)
			v[i].keep = true;
		else if (rc != MERR_NOTFOUND)
			goto out;
		rc = 0;
	}
	keep_last(v, n, last_n);
	rc = keep_channels(t, mirror, c->channel_history, v, n, err);
	if (rc == 0)
		rc = drop_unkept(t, mirror, v, n, maxseq, dry_run, cand, st,
		    err);
out:
	free(v);
	strv_free(ids, n);
	if (rc)
		merr_prefix(err, "mirror '%s': retention: ", mirror);
	return rc;
}

/*
 * Every queued blob (TBL_GC) that a kept manifest or a channel names (any
 * mirror). Only queued blobs matter to collect(): holding those, not every
 * dists file of every kept snapshot, keeps memory to what changed; with
 * nothing queued (most of the daemon's runs) no manifest is read.
 */
static int
kept_queued(void *ctx, const unsigned char h[HASH_LEN], int64_t since,
    struct merr *err)
{
	hashes_add(ctx, h);
	return 0;
}

struct kept_ctx {
	const struct hashes *queued;
	struct hashes *kept;
};

/* Each file of suites that is queued goes to kept. */
static void
kept_files(struct kept_ctx *kc, const struct snap_suite *su, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < su[i].nfiles; j++)
			if (hashes_has(kc->queued, su[i].files[j].hash))
				hashes_add(kc->kept, su[i].files[j].hash);
}

static int
kept_snap(void *ctx, const char *mirror, const struct snap *sn,
    struct merr *err)
{
	kept_files(ctx, sn->suites, sn->nsuites);
	return 0;
}

static int
kept_channel(void *ctx, const char *mirror, const struct channel *ch,
    struct merr *err)
{
	kept_files(ctx, ch->suites, ch->nsuites);
	return 0;
}

static int
kept_dists(struct store_txn *t, struct hashes *kept, struct merr *err)
{
	struct hashes queued = { 0 };
	struct kept_ctx kc = { &queued, kept };
	int rc;

	/* Keys are hashes, in order: queued comes out sorted. */
	rc = store_gc_each(t, kept_queued, &queued, err);
	if (rc == 0 && queued.n > 0)
		rc = snap_each(t, NULL, kept_snap, &kc, err);
	if (rc == 0 && queued.n > 0)
		rc = channel_each(t, kept_channel, &kc, err);
	if (rc == 0 && kept->n)
		qsort(kept->h, kept->n, HASH_LEN, hash_cmp);
	free(queued.h);
	return rc;
}

struct collect_ctx {
	struct store_txn *t;
	const struct hashes *kept;
	long grace;
	bool dry_run;
	int64_t now;
	struct hashes *gone;
	struct gc_stats *st;
};

/* One queued blob, unreferenced since since. */
static int
collect_one(void *ctx, const unsigned char h[HASH_LEN], int64_t since,
    struct merr *err)
{
	struct collect_ctx *cc = ctx;
	struct store_blob_rec rec;
	int rc;

	if (pool_referenced(cc->t, h) || hashes_has(cc->kept, h))
		return cc->dry_run ? 0 : STORE_GC_UNQUEUE;
	if (cc->now - since < cc->grace) {
		if (store_blob_get(cc->t, h, &rec, NULL) == 0)
			cc->st->bytes_pending += rec.size;
		cc->st->blobs_pending++;
		return 0;
	}
	rc = store_blob_get(cc->t, h, &rec, err);
	if (rc == 0) {
		cc->st->blobs_removed++;
		cc->st->bytes_removed += rec.size;
		hashes_add(cc->gone, h);
		if (!cc->dry_run)
			rc = store_blob_del(cc->t, h, err);
	} else if (rc == MERR_NOTFOUND) {
		rc = 0;
	}
	if (rc)
		return rc;
	return cc->dry_run ? 0 : STORE_GC_UNQUEUE;
}

/*
 * The queue: each entry unreferenced since a time. Referenced again:
 * unqueued. Past the grace: removed (rows now, files after the commit).
 */
static int
collect(struct store_txn *t, const struct hashes *kept, long grace,
    bool dry_run, struct hashes *gone, struct gc_stats *st, struct merr *err)
{
	struct collect_ctx cc = { t, kept, grace, dry_run,
	    (int64_t)time(NULL), gone, st };

	return store_gc_each(t, collect_one, &cc, err);
}

/*
 * The orphan sweep, as callbacks of store_blob_walk(): each file named
 * like a blob of its fan-out directory that the blobs table does not list
 * and whose mtime is older than grace is unlinked. One short read
 * transaction per directory. Syncs add rows only under the writer lock,
 * which the caller holds, but a channel move lists its new Release files
 * under the channel lock alone: so the first orphan found in a directory
 * makes the sweep take the channel lock and read the directory again,
 * holding it until the directory ends. A move then either listed the file
 * first (it is skipped) or runs after the unlink (it writes the file
 * again). A file not named like a blob is left alone (fsck names it).
 */
struct sweep {
	struct store *s;
	long grace;
	bool dry_run;
	int64_t start;		/* when the walk began */
	int64_t now;		/* when this directory's read began */
	int64_t since;		/* skip directories older; 0: walk them all */
	struct gc_stats *st, st0;	/* st0: as the directory began */
	struct store_txn *t;
	bool locked;		/* the channel lock, for this directory */
};

static int
sweep_dir_begin(void *ctx, const char *path, int fd, struct merr *err)
{
	struct sweep *sw = ctx;
	struct stat ms;

	if (sw->since > 0 && fstat(fd, &ms) == 0 &&
	    (int64_t)ms.st_mtime < sw->since) {
		sw->st->orphan_dirs_skipped++;
		return STORE_WALK_SKIP;
	}
	sw->st->orphan_dirs_walked++;
	sw->now = (int64_t)time(NULL);
	sw->st0 = *sw->st;
	sw->locked = false;
	sw->t = NULL;
	return store_txn_begin(sw->s, false, &sw->t, err);
}

static void
sweep_dir_end(void *ctx, const char *path)
{
	struct sweep *sw = ctx;

	if (sw->t != NULL)
		store_txn_abort(sw->t);
	sw->t = NULL;
	if (sw->locked)
		store_unlock_channels(sw->s);
	sw->locked = false;
}

static int
sweep_file(void *ctx, const char *path, int fd, const char *name,
    const unsigned char *h, struct merr *err)
{
	struct sweep *sw = ctx;
	struct store_blob_rec rec;
	struct stat sb;
	int rc;

	rc = store_blob_get(sw->t, h, &rec, err);
	if (rc == 0)
		return 0;	/* listed: collect()'s business */
	if (rc != MERR_NOTFOUND)
		return rc;
	if (fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return merr_errno(err, "cannot stat '%s/%s'", path, name);
	}
	if (!S_ISREG(sb.st_mode))
		return 0;
	if (sw->now - (int64_t)sb.st_mtime < sw->grace) {
		sw->st->orphans_pending++;
		return 0;
	}
	if (!sw->dry_run && !sw->locked) {
		/* Again from the top, under the channel lock. */
		store_txn_abort(sw->t);
		sw->t = NULL;
		rc = store_lock_channels(sw->s, "gc", true, err);
		if (rc)
			return rc;
		sw->locked = true;
		*sw->st = sw->st0;
		rc = store_txn_begin(sw->s, false, &sw->t, err);
		return rc ? rc : STORE_WALK_AGAIN;
	}
	if (!sw->dry_run && unlinkat(fd, name, 0) < 0) {
		if (errno != ENOENT)
			log_warn("cannot remove '%s/%s': %s", path, name,
			    strerror(errno));
		return 0;
	}
	sw->st->orphans_removed++;
	sw->st->orphan_bytes_removed += (uint64_t)sb.st_size;
	return 0;
}

/*
 * The walk's cost follows what changed, not the store: <store>/gc-swept's
 * mtime is when the last full walk began (W). A fan-out directory whose
 * mtime is older than W - grace has had no file linked into it since then:
 * each of its files was linked, hence written, before W - grace, so was
 * past the grace at W and went then if no table listed it. Such a
 * directory is skipped. Orphans made without touching their directory (a
 * crash between gc's row deletion and its unlink, a grace lowered since W)
 * wait for the next full walk, at most SWEEP_FULL later; skipping only
 * ever removes less.
 */
#define SWEEP_MARK "gc-swept"
#define SWEEP_FULL ((int64_t)7 * 86400)

/* Sets the mark's mtime to start (creating it): a full walk began then. */
static void
sweep_mark(struct store *s, int64_t start)
{
	char *mark = xasprintf("%s/%s", store_dir(s), SWEEP_MARK);
	struct timespec ts[2];
	int fd;

	fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		ts[0].tv_sec = ts[1].tv_sec = (time_t)start;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		if (futimens(fd, ts) < 0)
			log_warn("cannot set the time of '%s': %s", mark,
			    strerror(errno));
		close(fd);
	} else {
		log_warn("cannot create '%s': %s", mark, strerror(errno));
	}
	free(mark);
}

/*
 * Files under blobs/ that no table lists (orphans): a sync that failed and
 * could not record what it had downloaded (a full disk fails that commit
 * too), a kill between a rename and its commit, lost unlinks. They are
 * removed with no write transaction, which a full disk may not allow;
 * the walk is streaming, one directory at a time.
 */
static int
sweep_orphans(struct store *s, long grace, bool dry_run, struct gc_stats *st,
    struct merr *err)
{
	char *mark = xasprintf("%s/%s", store_dir(s), SWEEP_MARK);
	struct sweep sw = { s, grace, dry_run, (int64_t)time(NULL), 0, 0, st,
	    { 0 }, NULL, false };
	struct store_blob_walk w = { true, sweep_dir_begin, sweep_file,
	    sweep_dir_end, &sw };
	struct stat ms;
	int rc;

	if (lstat(mark, &ms) == 0 && S_ISREG(ms.st_mode) &&
	    sw.start - (int64_t)ms.st_mtime < SWEEP_FULL &&
	    (int64_t)ms.st_mtime <= sw.start)
		sw.since = (int64_t)ms.st_mtime - grace - 1;
	free(mark);
	rc = store_blob_walk(s, &w, err);
	if (rc == 0 && sw.since == 0 && !dry_run)
		sweep_mark(s, sw.start);
	return rc;
}

/*
 * The S3 backend's orphans: objects that no table lists (an upload whose
 * commit never came, a failed or killed sync; a delete that failed after
 * gc's commit) and older than grace. The bucket is listed once (each
 * object checked in a short read transaction); the candidates are then
 * checked again, and deleted, under the channel lock, as the local sweep
 * does (a channel move lists what it uploaded under that lock alone).
 */
struct bucket_sweep {
	struct store *s;
	long grace;
	int64_t now;
	struct hashes cand;
	uint64_t *sizes;	/* cand's, in step */
	struct gc_stats *st;
};

static bool
blob_listed(struct store *s, const unsigned char h[HASH_LEN], int *rc,
    struct merr *err)
{
	struct store_blob_rec rec;
	struct store_txn *t;

	*rc = store_txn_begin(s, false, &t, err);
	if (*rc)
		return true;
	*rc = store_blob_get(t, h, &rec, err);
	store_txn_abort(t);
	if (*rc == MERR_NOTFOUND) {
		*rc = 0;
		return false;
	}
	return true;
}

static int
bucket_object(void *ctx, const char *key, const unsigned char *h,
    uint64_t size, int64_t mtime, struct merr *err)
{
	struct bucket_sweep *bs = ctx;
	int rc = 0;

	if (h == NULL || blob_listed(bs->s, h, &rc, err))
		return rc;	/* not a blob's name: fsck names it */
	if (bs->now - mtime < bs->grace) {
		bs->st->objects_pending++;
		return 0;
	}
	hashes_add(&bs->cand, h);
	bs->sizes = xreallocarray(bs->sizes, bs->cand.cap, sizeof(uint64_t));
	bs->sizes[bs->cand.n - 1] = size;
	return 0;
}

static int
sweep_bucket(struct store *s, long grace, bool dry_run, struct gc_stats *st,
    struct merr *err)
{
	struct bucket_sweep bs = { s, grace, (int64_t)time(NULL), { 0 }, NULL,
	    st };
	struct fetch *f = NULL;
	size_t i;
	int rc;

	rc = store_s3_fetch_new(s, &f, err);
	if (rc == 0)
		rc = s3_list(store_s3(s), f, bucket_object, &bs, err);
	if (rc == 0 && bs.cand.n > 0 && !dry_run)
		rc = store_lock_channels(s, "gc", true, err);
	for (i = 0; rc == 0 && i < bs.cand.n; i++) {
		struct merr e2 = { 0 };

		if (!dry_run && blob_listed(s, bs.cand.h[i], &rc, err))
			continue;
		if (!dry_run && s3_delete(store_s3(s), f, bs.cand.h[i], &e2)) {
			log_warn("gc: %s", e2.msg);
			continue;
		}
		st->objects_removed++;
		st->object_bytes_removed += bs.sizes[i];
	}
	if (bs.cand.n > 0 && !dry_run)
		store_unlock_channels(s);
	fetch_free(f);
	free(bs.cand.h);
	free(bs.sizes);
	return rc;
}

/* A blob gc removed: its object (f non-NULL: S3, not shared), then its file. */
static void
remove_blob(struct store *s, struct fetch *f, const unsigned char h[HASH_LEN])
{
	struct merr err = { 0 };

	/* A failure leaves an orphan object the next sweep removes. */
	if (f != NULL && s3_delete(store_s3(s), f, h, &err))
		log_warn("gc: %s", err.msg);
	if (store_blob_unlink(s, h, &err))
		log_warn("%s", err.msg);
}

int
gc_run(struct store *s, const struct conf *c, const struct conf_mirror *m,
    long grace, bool dry_run, struct gc_stats *st, struct merr *err)
{
	struct hashes cand = { 0 }, kept = { 0 }, gone = { 0 };
	struct store_txn *t;
	struct fetch *f = NULL;
	struct merr ferr = { 0 };
	int64_t now = (int64_t)time(NULL);
	size_t i;
	int rc;

	memset(st, 0, sizeof(*st));
	/* First: it frees space that the write transaction may need. */
	if (m == NULL) {
		rc = sweep_orphans(s, grace, dry_run, st, err);
		if (rc == 0 && store_s3(s) != NULL && !store_s3_shared(s))
			rc = sweep_bucket(s, grace, dry_run, st, err);
		if (rc)
			return rc;
	}
	/*
	 * Channel moves run beside a sync; from here to the last unlink they
	 * wait. A move that began before resolved its target and may adopt
	 * a Release file already on disk: retention must not drop that
	 * target, nor collection unlink that file, before its commit
	 * (docs/durability.md, §3a).
	 */
	rc = store_lock_channels(s, "gc", true, err);
	if (rc)
		return rc;
	rc = store_txn_begin(s, true, &t, err);
	if (rc) {
		store_unlock_channels(s);
		return rc;
	}
	for (i = 0; rc == 0 && i < c->nmirrors; i++) {
		const struct conf_mirror *cm = &c->mirrors[i];

		if (m && strcmp(m->name, cm->name) != 0)
			continue;
		rc = retain(t, c, cm->name, cm->keep_snapshots ?
		    cm->keep_snapshots : c->keep_snapshots, dry_run, &cand, st,
		    err);
	}
	for (i = 0; rc == 0 && i < cand.n; i++)
		rc = store_gc_queue(t, cand.h[i], now, err);
	if (rc == 0)
		rc = kept_dists(t, &kept, err);
	if (rc == 0)
		rc = collect(t, &kept, grace, dry_run, &gone, st, err);
	if (rc || dry_run) {
		store_txn_abort(t);
	} else {
		rc = store_txn_commit(t, err);
		/* Rows first, then files: a crash between leaves only files
		 * (and objects) that nothing names, which fsck reports. */
		if (rc == 0 && gone.n > 0 && store_s3(s) != NULL &&
		    !store_s3_shared(s) &&
		    store_s3_fetch_new(s, &f, &ferr) != 0)
			log_warn("gc: %s", ferr.msg);	/* objects: later */
		for (i = 0; rc == 0 && i < gone.n; i++)
			remove_blob(s, f, gone.h[i]);
	}
	store_unlock_channels(s);
	fetch_free(f);
	free(cand.h);
	free(kept.h);
	free(gone.h);
	return rc;
}

int
gc_pin_get(struct store_txn *t, const char *mirror, const char *id,
    char **note, struct merr *err)
{
	struct buf k = BUF_INIT;
	const void *v;
	size_t vl;
	int rc;

	pin_name(&k, id);
	rc = store_meta_get(t, mirror, k.p, k.len, &v, &vl, err);
	buf_release(&k);
	if (rc == MERR_NOTFOUND)
		return merr_set(err, MERR_NOTFOUND, "snapshot '%s' is not "
		    "pinned", id);
	if (rc)
		return rc;
	*note = xstrndup(v, vl);
	return 0;
}

struct holder_ctx {
	const char *id;
	bool held;
};

static int
holder_target(void *ctx, const char *id, struct merr *err)
{
	struct holder_ctx *hc = ctx;

	if (strcmp(hc->id, id) == 0)
		hc->held = true;
	return 0;
}

/*
 * Adds to why, "; "-separated, what keeps snapshot id of mirror: a pin,
 * a channel's target, up to history rollbacks of a channel (the keep
 * rules of keep_channels, through the same channel_rollback_targets()).
 */
static int
holders(struct store_txn *t, const char *mirror, const char *id,
    unsigned history, struct buf *why, struct merr *err)
{
	char **names = NULL, *note = NULL;
	size_t nn = 0, i;
	int rc;

	rc = gc_pin_get(t, mirror, id, &note, err);
	if (rc == 0) {
		buf_addf(why, "%spinned ('%s')", why->len ? "; " : "", note);
		free(note);
	} else if (rc != MERR_NOTFOUND) {
		return rc;
	}
	rc = channel_list(t, mirror, &names, &nn, err);
	for (i = 0; rc == 0 && i < nn; i++) {
		struct channel ch;
		struct holder_ctx hc = { id, false };

		rc = channel_get(t, mirror, names[i], &ch, err);
		if (rc)
			break;
		if (strcmp(ch.target, id) == 0) {
			buf_addf(why, "%schannel '%s' points at it",
			    why->len ? "; " : "", names[i]);
			channel_free(&ch);
			continue;
		}
		channel_free(&ch);
		rc = channel_rollback_targets(t, mirror, names[i], history,
		    holder_target, &hc, err);
		if (rc == 0 && hc.held)
			buf_addf(why, "%schannel '%s' can roll back to it "
			    "within Channel-History (%u)", why->len ? "; " : "",
			    names[i], history);
	}
	strv_free(names, nn);
	return rc;
}

int
gc_drop(struct store *s, const struct conf *c, const char *mirror,
    const char *id, struct gc_stats *st, struct merr *err)
{
	struct hashes cand = { 0 };
	struct store_txn *t;
	struct gc_snap *v = NULL;
	struct buf why = BUF_INIT;
	char **ids = NULL;
	size_t n = 0, i, latest;
	uint32_t maxseq = 0;
	int64_t now = (int64_t)time(NULL);
	bool found = false;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = store_txn_begin(s, true, &t, err);
	if (rc)
		return rc;
	rc = snap_list(t, mirror, &ids, &n, err);
	if (rc)
		goto out;
	v = xcalloc(n ? n : 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		struct snap sn;

		rc = snap_load(t, mirror, ids[i], &sn, err);
		if (rc)
			goto out;
		memcpy(v[i].id, sn.id, sizeof(v[i].id));
		v[i].seq = sn.seq;
		v[i].time = sn.time;
		if (sn.seq > maxseq)
			maxseq = sn.seq;
		snap_release(&sn);
		v[i].patch = !snap_kind_upstream(sn.kind);
		v[i].keep = strcmp(v[i].id, id) != 0;
		found |= !v[i].keep;
	}
	for (latest = n; latest-- > 0 && v[latest].patch;)
		;
	if (!found) {
		rc = merr_set(err, MERR_NOTFOUND, "no snapshot '%s' (drop "
		    "takes an exact ID)", id);
		goto out;
	}
	if (latest < n && strcmp(ids[latest], id) == 0 &&
	    strcmp(ids[n - 1], id) != 0) {
		rc = merr_set(err, MERR_INVAL, "snapshot '%s' is 'latest', "
		    "the newest state of upstream: sync a newer one first", id);
		goto out;
	}
	if (strcmp(ids[n - 1], id) == 0) {
		rc = merr_set(err, MERR_INVAL, "snapshot '%s' is the newest: "
		    "'latest' and the next sync build on it (sync a newer one "
		    "first)", id);
		goto out;
	}
	rc = holders(t, mirror, id, c->channel_history, &why, err);
	if (rc)
		goto out;
	if (why.len) {
		buf_addc(&why, '\0');
		rc = merr_set(err, MERR_BUSY, "snapshot '%s' is held: %s", id,
		    why.p);
		goto out;
	}
	rc = drop_unkept(t, mirror, v, n, maxseq, false, &cand, st, err);
	for (i = 0; rc == 0 && i < cand.n; i++)
		rc = store_gc_queue(t, cand.h[i], now, err);
	st->blobs_queued = cand.n;
	if (rc == 0) {
		rc = store_txn_commit(t, err);
		t = NULL;
	}
out:
	if (t)
		store_txn_abort(t);
	buf_release(&why);
	free(cand.h);
	free(v);
	strv_free(ids, n);
	return rc;
}
