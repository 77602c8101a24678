/*
 * replica_apply.c: a replica's poll (replica.h): the plan's blobs
 * fetched, then the plan applied in one write transaction.
 *
 * Pool intervals are applied in two passes over the replica's own: first
 * each interval the primary no longer has is closed and dropped as gc
 * drops one (pool_drop_ended, so the blob reference counts stay right
 * and a blob that loses its last one is queued for gc); then each
 * interval of the primary is opened or rewritten as the primary has it.
 * The second pass reads the replica's intervals again, so whatever the
 * first dropped is put back if the primary still has it.
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/channel.h"
#include "mirrord/json.h"
#include "mirrord/log.h"
#include "mirrord/pool.h"
#include "mirrord/replica.h"
#include "mirrord/replica_int.h"
#include "mirrord/snap.h"
#include "mirrord/util.h"

/* Reads of a primary that moves while read, in a row, before giving up. */
#define REPLICA_TRIES 3

/* What the apply's callbacks need. */
struct rep_txn {
	struct store_txn *t;
	int64_t now;
	struct rep_ivls *out;
};

static int
rep_local_one(void *ctx, const struct pool_interval *iv, struct merr *err)
{
	struct rep_txn *x = ctx;
	struct rep_ivl *v;

	if (iv == NULL)
		return merr_set(err, MERR_STORE, "a pool interval's key is "
		    "corrupt");
	if ((x->out->n & (x->out->n - 1)) == 0)
		x->out->v = xreallocarray(x->out->v, x->out->n ?
		    2 * x->out->n : 1, sizeof(*x->out->v));
	v = &x->out->v[x->out->n++];
	memset(v, 0, sizeof(*v));
	v->path = xstrdup(iv->path);
	memcpy(v->hash, iv->hash, HASH_LEN);
	v->from = iv->from;
	v->to = iv->to;
	v->refs = iv->refs;
	v->size = iv->size;
	return 0;
}

/* The replica's own intervals of mirror m, sorted, into *out. */
static int
rep_local(struct rep_txn *x, const char *m, struct rep_ivls *out,
    struct merr *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	x->out = out;
	rc = pool_each_mirror(x->t, m, rep_local_one, x, err);
	rep_ivls_sort(out);
	return rc;
}

static int
rep_lost(void *ctx, const unsigned char h[HASH_LEN], struct merr *err)
{
	struct rep_txn *x = ctx;

	return store_gc_queue(x->t, h, x->now, err);
}

/* A blob named again: off the gc queue if it was on it. */
static int
rep_unqueue(struct store_txn *t, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	int rc = store_gc_unqueue(t, h, err);

	return rc == MERR_NOTFOUND ? 0 : rc;
}

static int
rep_ivl_same(const struct rep_ivl *a, const struct rep_ivl *b)
{
	return a->to == b->to && a->size == b->size && a->refs == b->refs;
}

static int
rep_from_cmp(const void *pa, const void *pb)
{
	const struct rep_ivl *a = *(struct rep_ivl *const *)pa;
	const struct rep_ivl *b = *(struct rep_ivl *const *)pb;

	return a->from < b->from ? -1 : a->from > b->from;
}

/*
 * Drops the n intervals of gone (mine, the primary lacks them) as gc
 * does: those of one start are closed at start + 1, all of them, before
 * one pool_drop_ended(start, start) drops them together (it may drop
 * others of that start and end, which the second pass puts back). A put
 * after that drop would write a row the drop had removed, unindexed and
 * uncounted.
 */
static int
rep_pool_drop(struct rep_txn *x, const char *m, struct rep_ivl **gone,
    size_t n, struct merr *err)
{
	size_t i, k;
	int rc = 0;

	if (n > 1)
		qsort(gone, n, sizeof(*gone), rep_from_cmp);
	for (i = 0; rc == 0 && i < n; i = k) {
		for (k = i; rc == 0 && k < n && gone[k]->from == gone[i]->from;
		    k++)
			rc = pool_put(x->t, m, gone[k]->path, gone[k]->hash,
			    gone[k]->from, gone[k]->from + 1, gone[k]->size, 0,
			    err);
		if (rc == 0)
			rc = pool_drop_ended(x->t, m, gone[i]->from,
			    gone[i]->from, rep_lost, x, err);
	}
	return rc;
}

/*
 * One pass over mine (the replica's) against theirs (the primary's),
 * both sorted. drop: drops each of mine they lack (rep_pool_drop).
 * Otherwise opens each of theirs I lack and rewrites each that differs.
 */
static int
rep_pool_pass(struct rep_txn *x, const char *m, const struct rep_ivls *mine,
    const struct rep_ivls *theirs, bool drop, struct merr *err)
{
	struct rep_ivl *a, **gone = xcalloc(mine->n + 1, sizeof(*gone));
	const struct rep_ivl *b;
	size_t i = 0, j = 0, ngone = 0;
	int c, rc = 0;

	while (rc == 0 && (i < mine->n || j < theirs->n)) {
		a = i < mine->n ? &mine->v[i] : NULL;
		b = j < theirs->n ? &theirs->v[j] : NULL;
		c = a == NULL ? 1 : b == NULL ? -1 : rep_ivl_cmp(a, b);
		if (c < 0 && drop) {
			gone[ngone++] = a;
		} else if (c > 0 && !drop) {
			rc = pool_open(x->t, m, b->path, b->hash, b->from, err);
			if (rc == 0)
				rc = pool_put(x->t, m, b->path, b->hash,
				    b->from, b->to, b->size, b->refs, err);
			if (rc == 0)
				rc = rep_unqueue(x->t, b->hash, err);
		} else if (c == 0 && !drop && !rep_ivl_same(a, b)) {
			rc = pool_put(x->t, m, b->path, b->hash, b->from,
			    b->to, b->size, b->refs, err);
		}
		i += c <= 0;
		j += c >= 0;
	}
	if (rc == 0 && drop)
		rc = rep_pool_drop(x, m, gone, ngone, err);
	free(gone);
	return rc;
}

static int
rep_apply_pool(struct rep_txn *x, const struct rep_mirror *m,
    struct merr *err)
{
	struct rep_ivls mine;
	int rc = rep_local(x, m->name, &mine, err);

	if (rc == 0)
		rc = rep_pool_pass(x, m->name, &mine, &m->pool, true, err);
	rep_ivls_release(&mine);
	if (rc == 0)
		rc = rep_local(x, m->name, &mine, err);
	if (rc == 0)
		rc = rep_pool_pass(x, m->name, &mine, &m->pool, false, err);
	rep_ivls_release(&mine);
	return rc;
}

/* Drops a snapshot the primary dropped; its dists files queued for gc. */
static int
rep_drop_snap(struct rep_txn *x, const char *m, const char *id,
    struct merr *err)
{
	struct snap sn = { 0 };
	size_t i, j;
	int rc = snap_load(x->t, m, id, &sn, err);

	for (i = 0; rc == 0 && i < sn.nsuites; i++)
		for (j = 0; rc == 0 && j < sn.suites[i].nfiles; j++)
			rc = store_gc_queue(x->t, sn.suites[i].files[j].hash,
			    x->now, err);
	if (rc == 0)
		rc = snap_drop(x->t, m, id, err);
	snap_release(&sn);
	return rc;
}

/* The primary's channels over the replica's: moved, added, dropped. */
static int
rep_apply_channels(struct rep_txn *x, const struct rep_mirror *m,
    struct merr *err)
{
	struct channel have;
	char **names = NULL;
	size_t i, k, n = 0;
	bool same;
	int rc = 0;

	for (i = 0; rc == 0 && i < m->nch; i++) {
		rc = channel_get(x->t, m->name, m->ch[i].name, &have, err);
		same = rc == 0 && strcmp(have.target, m->ch[i].target) == 0 &&
		    have.moved_at == m->ch[i].moved_at &&
		    have.valid_until == m->ch[i].valid_until;
		if (rc == 0)
			channel_free(&have);
		if (rc == MERR_NOTFOUND)
			rc = 0;
		if (rc == 0 && !same)
			rc = channel_import(x->t, m->name, &m->ch[i], m->log[i],
			    m->nlog[i], x->now, err);
	}
	if (rc == 0)
		rc = channel_list(x->t, m->name, &names, &n, err);
	for (i = 0; rc == 0 && i < n; i++) {
		for (k = 0; k < m->nch; k++)
			if (strcmp(names[i], m->ch[k].name) == 0)
				break;
		if (k == m->nch)
			rc = channel_import_drop(x->t, m->name, names[i],
			    x->now, err);
	}
	strv_free(names, n);
	return rc;
}

static int
rep_apply_mirror(struct rep_txn *x, const struct rep_mirror *m,
    struct merr *err)
{
	size_t i;
	int rc = 0;

	/* Channels first: a dropped snapshot may be a channel's old target. */
	rc = rep_apply_channels(x, m, err);
	for (i = 0; rc == 0 && i < m->ndrop; i++)
		rc = rep_drop_snap(x, m->name, m->drop[i], err);
	for (i = 0; rc == 0 && i < m->nadd; i++)
		rc = snap_import(x->t, m->name, m->manifest[i], m->mlen[i],
		    err);
	if (rc == 0)
		rc = rep_apply_pool(x, m, err);
	if (rc)
		merr_prefix(err, "mirror '%s': ", m->name);
	return rc;
}

/* The plan in one write transaction (its blobs durable already). */
static int
rep_apply_once(struct store *s, const struct rep_plan *p, struct merr *err)
{
	struct rep_txn x = { NULL, (int64_t)time(NULL), NULL };
	size_t i;
	int rc = store_txn_begin(s, true, &x.t, err);

	if (rc)
		return rc;
	for (i = 0; rc == 0 && i < p->nfetched; i++) {
		rc = store_blob_put(x.t, p->fetched[i].hash,
		    p->fetched[i].size, err);
		if (rc == 0)
			rc = rep_unqueue(x.t, p->fetched[i].hash, err);
	}
	for (i = 0; rc == 0 && i < p->nm; i++)
		rc = rep_apply_mirror(&x, &p->m[i], err);
	if (rc == 0)
		rc = replica_state_put(x.t, &p->st, err);
	if (rc) {
		store_txn_abort(x.t);
		return rc;
	}
	return store_txn_commit(x.t, err);
}

/* As snap_commit: a transaction that fills the map runs again. */
static int
rep_apply(struct store *s, const struct rep_plan *p, struct merr *err)
{
	int rc, tries;

	for (tries = 0; ; tries++) {
		rc = rep_apply_once(s, p, err);
		if (rc != MERR_FULL || tries == 4)
			return rc;
	}
}

/*
 * The primary's state now: its generation and time (as *st records), and
 * (blobs not NULL) its Blobs:, "file" when it does not say.
 */
static int
rep_state(struct fetch *f, const struct conf *c, struct replica_state *st,
    char *blobs, size_t blen, struct merr *err)
{
	struct json_value *j = NULL;
	const char *b;
	unsigned char gen[HASH_LEN];
	int64_t api = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = rep_get_json(f, c->replica_of, "state", REPLICA_MAX_STATE, &j,
	    err);
	if (rc == 0 && (json_int(json_get(j, "api"), &api) != 0 || api != 1))
		rc = merr_set(err, MERR_PARSE, "%s: not an API v1 primary",
		    c->replica_of);
	if (rc == 0)
		rc = rep_hash(j, "generation", gen, err);
	if (rc == 0 && json_int(json_get(j, "time"), &st->time) != 0)
		rc = merr_set(err, MERR_PARSE, "primary: 'time' is not a "
		    "number");
	if (rc == 0 && blobs != NULL) {
		b = json_str(json_get(j, "blobs"), NULL);
		snprintf(blobs, blen, "%s", b != NULL ? b : "file");
	}
	json_value_free(j);
	hash_to_hex(gen, st->generation);
	st->applied_at = st->last_success = (int64_t)time(NULL);
	return rc;
}

/*
 * Fetches, then applies, generation st of the primary. The plan is read
 * in several answers: the generation read again after them must be st's,
 * or they may mix two states (MERR_BUSY: the caller reads it again).
 */
static int
rep_follow(struct store *s, const struct conf *c, struct fetch *f,
    const struct replica_state *st, struct merr *err)
{
	struct rep_plan p = { 0 };
	struct replica_state again;
	char blobs[512];
	bool shared;
	uint64_t moved = 0;
	size_t i, nadd = 0, ndrop = 0;
	int rc;

	/* The writer lock keeps gc from what is fetched and not listed. */
	rc = store_lock(s, "replica", true, err);
	if (rc)
		return rc;
	p.st = *st;
	rc = rep_plan_make(f, c, s, &p, err);
	if (rc == 0)
		rc = rep_state(f, c, &again, blobs, sizeof(blobs), err);
	if (rc == 0 && strcmp(again.generation, st->generation) != 0)
		rc = merr_set(err, MERR_BUSY, "%s changed while it was read",
		    c->replica_of);
	/* The primary's bucket is ours: its objects are there already. */
	shared = rc == 0 && store_s3(s) != NULL &&
	    strcmp(blobs, store_backend(s)) == 0;
	if (rc == 0)
		store_s3_set_shared(s, shared);
	if (rc == 0)
		rc = rep_fetch_blobs(f, c->replica_of, s, &p, shared, &moved,
		    err);
	if (rc == 0)
		rc = store_sync(s, err);
	if (rc == 0)
		rc = store_lock_channels(s, "replica", true, err);
	if (rc == 0) {
		rc = rep_apply(s, &p, err);
		store_unlock_channels(s);
	}
	store_unlock(s);
	for (i = 0; i < p.nm; i++) {
		nadd += p.m[i].nadd;
		ndrop += p.m[i].ndrop;
	}
	if (rc == 0)
		log_info("replica: generation %.12s of %s applied: %zu "
		    "snapshots added, %zu dropped, %zu blobs (%llu bytes) "
		    "fetched, %zu found in the shared bucket", st->generation,
		    c->replica_of, nadd, ndrop, p.nfetched - p.inbucket,
		    (unsigned long long)moved, p.inbucket);
	rep_plan_release(&p);
	return rc;
}

/* Records a poll that found the replica current. */
static int
rep_note_success(struct store *s, struct replica_state *st, struct merr *err)
{
	struct store_txn *t;
	int rc = store_txn_begin(s, true, &t, err);

	if (rc)
		return rc;
	rc = replica_state_put(t, st, err);
	if (rc) {
		store_txn_abort(t);
		return rc;
	}
	return store_txn_commit(t, err);
}

int
replica_poll(struct store *s, const struct conf *c, struct fetch *f,
    bool *changed, struct merr *err)
{
	struct replica_state have, want;
	struct store_txn *t;
	int rc, tries;

	if (changed)
		*changed = false;
	for (tries = 0; ; tries++) {
		rc = rep_state(f, c, &want, NULL, 0, err);
		if (rc == 0)
			rc = store_txn_begin(s, false, &t, err);
		if (rc)
			return rc;
		rc = replica_state_get(t, &have, err);
		store_txn_abort(t);
		if (rc)
			return rc;
		if (strcmp(have.generation, want.generation) == 0) {
			have.last_success = want.last_success;
			return rep_note_success(s, &have, err);
		}
		/* A primary that moved while it was read: read it again. */
		rc = rep_follow(s, c, f, &want, err);
		if (rc != MERR_BUSY || tries == REPLICA_TRIES - 1)
			break;
	}
	if (rc == 0 && changed)
		*changed = true;
	return rc;
}
