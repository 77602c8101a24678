/*
 * store_tables.c: the tables the store owns, through its own transaction
 * API: the blobs table (TBL_BLOBS: what the index says about blob files;
 * blob.c writes and reads the files, store.c keeps the counters) and the
 * gc queue (TBL_GC); TBL_META's keys (store_meta_*); and the prefix scan
 * that the other tables' owners iterate with.
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/hash.h"
#include "mirrord/store_int.h"

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

uint64_t
store_blob_rec_size(const void *v)
{
	return get_le64(v);
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
	if (vlen != STORE_BLOB_REC_LEN) {
		hash_to_hex(h, hex);
		return merr_set(err, MERR_STORE, "blob '%s': record of %zu "
		    "bytes, expected %d", hex, vlen, STORE_BLOB_REC_LEN);
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
	unsigned char v[STORE_BLOB_REC_LEN];
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

/* TBL_META's key: "mirror\0name", or name alone (mirror NULL). */
static void
meta_key(struct buf *k, const char *mirror, const void *name, size_t nlen)
{
	if (mirror) {
		buf_adds(k, mirror);
		buf_addc(k, '\0');
	}
	buf_add(k, name, nlen);
}

int
store_meta_get(struct store_txn *t, const char *mirror, const void *name,
    size_t nlen, const void **val, size_t *vlen, struct merr *err)
{
	struct buf k = BUF_INIT;
	int rc;

	meta_key(&k, mirror, name, nlen);
	rc = store_get(t, TBL_META, k.p, k.len, val, vlen, err);
	buf_release(&k);
	return rc;
}

int
store_meta_put(struct store_txn *t, const char *mirror, const void *name,
    size_t nlen, const void *val, size_t vlen, struct merr *err)
{
	struct buf k = BUF_INIT;
	int rc;

	meta_key(&k, mirror, name, nlen);
	rc = store_put(t, TBL_META, k.p, k.len, val, vlen, err);
	buf_release(&k);
	return rc;
}

int
store_meta_del(struct store_txn *t, const char *mirror, const void *name,
    size_t nlen, struct merr *err)
{
	struct buf k = BUF_INIT;
	int rc;

	meta_key(&k, mirror, name, nlen);
	rc = store_del(t, TBL_META, k.p, k.len, err);
	buf_release(&k);
	return rc;
}

int
store_scan_prefix(struct store_txn *t, enum store_table tbl,
    const void *prefix, size_t plen, store_scan_fn fn, void *ctx,
    struct merr *err)
{
	struct store_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	int rc;

	rc = store_cursor_open(t, tbl, &c, err);
	if (rc)
		return rc;
	for (rc = store_cursor_seek(c, prefix, plen, &k, &kl, &v, &vl, err);
	    rc == 1; rc = store_cursor_next(c, &k, &kl, &v, &vl, err)) {
		/* plen 0: every key (and prefix may be NULL). */
		if (kl < plen || (plen > 0 && memcmp(k, prefix, plen) != 0))
			break;
		rc = fn(ctx, (const char *)k + plen, kl - plen, v, vl, err);
		if (rc < 0)
			break;
	}
	store_cursor_close(c);
	return rc < 0 ? rc : 0;
}
