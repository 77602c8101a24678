/*
 * store_blobs.c: the blobs table (TBL_BLOBS), its counters and the gc
 * queue (TBL_GC), the owner of both: what the index says about blob files
 * (blob.c writes and reads the files themselves).
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/hash.h"
#include "mirrord/store_int.h"

/* On-disk size of a blobs table value: le64 size, le64 first_seen. */
#define BLOB_REC_LEN	16

static void
put_le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int
store_blob_get(struct store_txn *t, const unsigned char h[HASH_LEN],
    struct store_blob_rec *rec, struct merr *err)
{
	const void *v;
	size_t vlen;
	char hex[HASH_HEX_LEN + 1];
	int rc;

	rc = store_get(t, TBL_BLOBS, h, HASH_LEN, &v, &vlen, err);
	if (rc) {
		hash_to_hex(h, hex);
		return merr_prefix(err, "blob '%s': ", hex);
	}
	if (vlen != BLOB_REC_LEN) {
		hash_to_hex(h, hex);
		return merr_set(err, MERR_STORE, "blob '%s': record of %zu "
		    "bytes, expected %d", hex, vlen, BLOB_REC_LEN);
	}
	rec->size = get_le64(v);
	rec->first_seen = (int64_t)get_le64((const unsigned char *)v + 8);
	return 0;
}

int
store_blob_put(struct store_txn *t, const unsigned char h[HASH_LEN],
    uint64_t size, struct merr *err)
{
	struct store_blob_rec old;
	struct merr e;
	unsigned char v[BLOB_REC_LEN];
	int64_t first_seen = (int64_t)time(NULL);
	bool is_new = false;
	int rc;

	/* A local error: err stays untouched when the blob is new. */
	rc = store_blob_get(t, h, &old, &e);
	if (rc == 0) {
		if (old.size == size)
			return 0;	/* nothing to change: skip the write */
		first_seen = old.first_seen;
	} else if (rc == MERR_NOTFOUND) {
		is_new = true;
		old.size = 0;
	} else {
		if (err)
			*err = e;
		return rc;
	}
	put_le64(v, size);
	put_le64(v + 8, (uint64_t)first_seen);
	rc = store_put(t, TBL_BLOBS, h, HASH_LEN, v, sizeof(v), err);
	if (rc)
		return rc;
	t->dblobs += is_new;
	t->dbytes += (int64_t)size - (int64_t)old.size;
	return 0;
}

int
store_blob_del(struct store_txn *t, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	struct store_blob_rec rec;
	int rc;

	rc = store_blob_get(t, h, &rec, err);
	if (rc == 0)
		rc = store_del(t, TBL_BLOBS, h, HASH_LEN, err);
	if (rc)
		return rc;
	t->dblobs--;
	t->dbytes -= (int64_t)rec.size;
	return 0;
}

/*
 * The blob counters: TBL_META "store.blobs" (no NUL, so no mirror's
 * "name\0key" row) -> format byte 1, be64 rows, be64 bytes. Written by the
 * commit that changes blob rows, so status reads two numbers instead of
 * every row; a store from before them gets them from one scan, at the
 * first open for writing.
 */
#define BLOB_TOTALS_KEY "store.blobs"
#define BLOB_TOTALS_LEN 17

/* Counts the blob rows of txn the slow way. */
static int
store_blob_scan(MDB_txn *txn, struct store *s, uint64_t *n, uint64_t *bytes,
    struct merr *err)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	*n = 0;
	*bytes = 0;
	if (!s->has[TBL_BLOBS])
		return 0;
	rc = mdb_cursor_open(txn, s->dbi[TBL_BLOBS], &c);
	if (rc)
		return store_mdb_err(err, rc, "cannot open cursor on '%s'",
		    store_table_names[TBL_BLOBS]);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != HASH_LEN || v.mv_size != BLOB_REC_LEN)
			continue;	/* fsck reports those */
		(*n)++;
		*bytes += get_le64(v.mv_data);
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(err, rc, "cannot read '%s'",
		    store_table_names[TBL_BLOBS]);
	return 0;
}

/* The counters row of txn: 1 and the values, 0 if absent, or an error. */
static int
store_blob_totals_get(MDB_txn *txn, struct store *s, uint64_t *n,
    uint64_t *bytes, struct merr *err)
{
	MDB_val k = { sizeof(BLOB_TOTALS_KEY) - 1, (void *)BLOB_TOTALS_KEY };
	MDB_val v;
	const unsigned char *p;
	int rc;

	if (!s->has[TBL_META])
		return 0;
	rc = mdb_get(txn, s->dbi[TBL_META], &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_mdb_err(err, rc, "cannot get from '%s'",
		    store_table_names[TBL_META]);
	p = v.mv_data;
	if (v.mv_size != BLOB_TOTALS_LEN || p[0] != 1)
		return 0;	/* not a format we know: count again */
	*n = be64_get(p + 1);
	*bytes = be64_get(p + 9);
	return 1;
}

static int
store_blob_totals_put(MDB_txn *txn, struct store *s, uint64_t n,
    uint64_t bytes, struct merr *err)
{
	MDB_val k = { sizeof(BLOB_TOTALS_KEY) - 1, (void *)BLOB_TOTALS_KEY };
	unsigned char p[BLOB_TOTALS_LEN];
	MDB_val v = { sizeof(p), p };
	int rc;

	p[0] = 1;
	be64_put(p + 1, n);
	be64_put(p + 9, bytes);
	rc = mdb_put(txn, s->dbi[TBL_META], &k, &v, 0);
	if (rc)
		return store_mdb_err(err, rc, "cannot put into '%s'",
		    store_table_names[TBL_META]);
	return 0;
}

/* Applies t's changes to the counters, before t commits. */
int
store_blob_totals_flush(struct store_txn *t, struct merr *err)
{
	uint64_t n, bytes;
	int rc;

	rc = store_blob_totals_get(t->txn, t->s, &n, &bytes, err);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		/* No row yet: the scan sees this txn's rows already. */
		rc = store_blob_scan(t->txn, t->s, &n, &bytes, err);
	} else if ((t->dblobs < 0 && (uint64_t)-t->dblobs > n) ||
	    (t->dbytes < 0 && (uint64_t)-t->dbytes > bytes)) {
		/* Counters below zero: they were wrong; count again. */
		rc = store_blob_scan(t->txn, t->s, &n, &bytes, err);
	} else {
		n += (uint64_t)t->dblobs;
		bytes += (uint64_t)t->dbytes;
		rc = 0;
	}
	if (rc == 0)
		rc = store_blob_totals_put(t->txn, t->s, n, bytes, err);
	t->dblobs = 0;
	t->dbytes = 0;
	return rc;
}

/* At an open for writing: counts once if the store has no counters. */
int
store_blob_totals_init(struct store *s, struct merr *err)
{
	MDB_txn *txn;
	uint64_t n, bytes;
	int rc;

	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return store_mdb_err(err, rc, "store '%s': cannot begin "
		    "transaction", s->dir);
	rc = store_blob_totals_get(txn, s, &n, &bytes, err);
	mdb_txn_abort(txn);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return store_mdb_err(err, rc, "store '%s': cannot begin "
		    "transaction", s->dir);
	/* Another writer may have counted in between: look again. */
	rc = store_blob_totals_get(txn, s, &n, &bytes, err);
	if (rc == 0)
		rc = store_blob_scan(txn, s, &n, &bytes, err);
	if (rc == 0)
		rc = store_blob_totals_put(txn, s, n, bytes, err);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc < 0 ? rc : 0;
	}
	rc = mdb_txn_commit(txn);
	if (rc)
		return store_mdb_err(err, rc, "store '%s': cannot commit",
		    s->dir);
	return 0;
}

int
store_blob_totals(struct store_txn *t, uint64_t *n, uint64_t *bytes,
    struct merr *err)
{
	int rc;

	rc = store_blob_totals_get(t->txn, t->s, n, bytes, err);
	if (rc < 0)
		return rc;
	if (rc == 0)	/* a store no writer opened since the counters */
		return store_blob_scan(t->txn, t->s, n, bytes, err);
	*n += (uint64_t)t->dblobs;
	*bytes += (uint64_t)t->dbytes;
	return 0;
}

int
store_gc_queue(struct store_txn *t, const unsigned char h[HASH_LEN],
    int64_t now, struct merr *err)
{
	unsigned char v[8];
	const void *old;
	size_t ol;
	int rc;

	rc = store_get(t, TBL_GC, h, HASH_LEN, &old, &ol, err);
	if (rc == 0)
		return 0;
	if (rc != MERR_NOTFOUND)
		return rc;
	be64_put(v, (uint64_t)now);
	return store_put(t, TBL_GC, h, HASH_LEN, v, 8, err);
}

int
store_gc_unqueue(struct store_txn *t, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	return store_del(t, TBL_GC, h, HASH_LEN, err);
}

int
store_gc_each(struct store_txn *t, store_gc_fn fn, void *ctx,
    struct merr *err)
{
	struct store_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	int rc;

	rc = store_cursor_open(t, TBL_GC, &c, err);
	if (rc)
		return rc;
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl, err);
	    rc == 1; ) {
		unsigned char h[HASH_LEN];
		int64_t since = vl == 8 ? (int64_t)be64_get(v) : 0;

		if (kl != HASH_LEN) {
			rc = store_cursor_next(c, &k, &kl, &v, &vl, err);
			continue;
		}
		memcpy(h, k, HASH_LEN);
		rc = fn(ctx, h, since, err);
		if (rc < 0)
			break;
		if (rc == STORE_GC_UNQUEUE) {
			rc = store_cursor_del(c, err);
			if (rc)
				break;
			/* Seek: the callback may have written to the table. */
			rc = store_cursor_seek(c, h, HASH_LEN, &k, &kl, &v,
			    &vl, err);
			continue;
		}
		rc = store_cursor_next(c, &k, &kl, &v, &vl, err);
	}
	store_cursor_close(c);
	return rc < 0 ? rc : 0;
}

struct blob_each_ctx {
	struct store_txn *t;
	store_blob_fn fn;
	void *ctx;
};

static int
blob_each_one(void *ctx, const char *k, size_t kl, const void *v, size_t vl,
    struct merr *err)
{
	struct blob_each_ctx *ec = ctx;
	struct store_blob_rec rec;
	unsigned char h[HASH_LEN];
	int rc;

	if (kl != HASH_LEN)
		return 0;
	memcpy(h, k, HASH_LEN);
	rc = store_blob_get(ec->t, h, &rec, err);
	if (rc == 0)
		rc = ec->fn(ec->ctx, h, &rec, err);
	return rc < 0 ? rc : 0;
}

int
store_blob_each(struct store_txn *t, store_blob_fn fn, void *ctx,
    struct merr *err)
{
	struct blob_each_ctx ec = { t, fn, ctx };

	return store_scan_prefix(t, TBL_BLOBS, NULL, 0, blob_each_one, &ec,
	    err);
}
