/*
 * pool.c: pool membership intervals, their index by start and the blob
 * reference counts (see pool.h for the tables). Moved out of snap.c,
 * which commits through these functions, and gc.c, which drops intervals
 * through them.
 */
#include "mirrord/common.h"

#include "mirrord/pool.h"

/* Pool interval values: be32 to (0: open), be64 size, be32 refs. */
#define POOL_VAL_LEN 16

/* "mirror\0path\0" + hash: the prefix of TBL_POOL keys. */
static void
pool_key(struct buf *k, const char *mirror, const char *path,
    const unsigned char *h)
{
	buf_reset(k);
	buf_adds(k, mirror);
	buf_addc(k, '\0');
	buf_adds(k, path);
	buf_addc(k, '\0');
	if (h)
		buf_add(k, h, HASH_LEN);
}

int
pool_bref_add(struct store_txn *t, const unsigned char h[HASH_LEN], int n,
    uint32_t *now, struct merr *err)
{
	unsigned char val[4];
	const void *v;
	size_t vl;
	int64_t refs = 0;
	int rc;

	rc = store_get(t, TBL_BREFS, h, HASH_LEN, &v, &vl, err);
	if (rc == 0 && vl == 4)
		refs = be32_get(v);
	else if (rc != MERR_NOTFOUND)
		return rc ? rc : merr_set(err, MERR_STORE,
		    "corrupt blob reference count");
	refs += n;
	if (refs < 0 || refs > UINT32_MAX)
		return merr_set(err, MERR_STORE,
		    "blob reference count out of range (%lld)",
		    (long long)refs);
	*now = (uint32_t)refs;
	if (refs == 0)
		return store_del(t, TBL_BREFS, h, HASH_LEN, err);
	be32_put(val, (uint32_t)refs);
	return store_put(t, TBL_BREFS, h, HASH_LEN, val, 4, err);
}

/*
 * The open interval under prefix k ("mirror\0path\0hash"), as
 * pool_find_open.
 */
static int
find_open(struct store_txn *t, const struct buf *k, uint32_t *from,
    uint32_t *refs, struct merr *err)
{
	struct store_cursor *cur;
	const void *key, *v;
	size_t kl, vl;
	int rc;

	rc = store_cursor_open(t, TBL_POOL, &cur, err);
	if (rc)
		return rc;
	for (rc = store_cursor_seek(cur, k->p, k->len, &key, &kl, &v, &vl,
	    err); rc == 1; rc = store_cursor_next(cur, &key, &kl, &v, &vl,
	    err)) {
		if (kl != k->len + 4 || memcmp(key, k->p, k->len) != 0) {
			rc = 0;
			break;
		}
		if (vl == POOL_VAL_LEN && be32_get(v) == 0) {
			*from = be32_get((const unsigned char *)key + k->len);
			*refs = be32_get((const unsigned char *)v + 12);
			break;
		}
	}
	store_cursor_close(cur);
	return rc;
}

int
pool_find_open(struct store_txn *t, const char *mirror, const char *path,
    const unsigned char h[HASH_LEN], uint32_t *from, uint32_t *refs,
    struct merr *err)
{
	struct buf k = BUF_INIT;
	int rc;

	pool_key(&k, mirror, path, h);
	rc = find_open(t, &k, from, refs, err);
	buf_release(&k);
	return rc;
}

int
pool_open(struct store_txn *t, const char *mirror, const char *path,
    const unsigned char h[HASH_LEN], uint32_t seq, struct merr *err)
{
	struct buf k = BUF_INIT;
	unsigned char be[4];
	uint32_t brefs;
	int rc;

	rc = pool_bref_add(t, h, 1, &brefs, err);
	if (rc)
		return rc;
	/* "mirror\0" be32(from) "path\0" hash. */
	be32_put(be, seq);
	buf_adds(&k, mirror);
	buf_addc(&k, '\0');
	buf_add(&k, be, 4);
	buf_adds(&k, path);
	buf_addc(&k, '\0');
	buf_add(&k, h, HASH_LEN);
	rc = store_put(t, TBL_POOLSEQ, k.p, k.len, "", 0, err);
	buf_release(&k);
	return rc;
}

int
pool_put(struct store_txn *t, const char *mirror, const char *path,
    const unsigned char h[HASH_LEN], uint32_t from, uint32_t to,
    uint64_t size, uint32_t refs, struct merr *err)
{
	unsigned char val[POOL_VAL_LEN], be[4];
	struct buf k = BUF_INIT;
	int rc;

	be32_put(val, to);
	be64_put(val + 4, size);
	be32_put(val + 12, refs);
	pool_key(&k, mirror, path, h);
	be32_put(be, from);
	buf_add(&k, be, 4);
	rc = store_put(t, TBL_POOL, k.p, k.len, val, sizeof(val), err);
	buf_release(&k);
	return rc;
}

int
pool_lookup(struct store_txn *t, const char *mirror, const char *path,
    uint32_t seq, unsigned char h[HASH_LEN], uint64_t *size,
    struct merr *err)
{
	struct store_cursor *cur;
	struct buf k = BUF_INIT;
	const void *key, *v;
	size_t kl, vl, plen;
	int rc;

	pool_key(&k, mirror, path, NULL);
	plen = k.len;
	rc = store_cursor_open(t, TBL_POOL, &cur, err);
	if (rc)
		goto out;
	rc = store_cursor_seek(cur, k.p, plen, &key, &kl, &v, &vl, err);
	while (rc == 1 && kl == plen + HASH_LEN + 4 &&
	    memcmp(key, k.p, plen) == 0) {
		const unsigned char *kp = key;
		uint32_t from = be32_get(kp + plen + HASH_LEN);
		uint32_t to = vl == POOL_VAL_LEN ? be32_get(v) : 0;

		if (from <= seq && (to == 0 || seq < to)) {
			memcpy(h, kp + plen, HASH_LEN);
			*size = vl == POOL_VAL_LEN ?
			    be64_get((const unsigned char *)v + 4) : 0;
			rc = 0;
			goto close;
		}
		rc = store_cursor_next(cur, &key, &kl, &v, &vl, err);
	}
	if (rc >= 0)
		rc = merr_set(err, MERR_NOTFOUND, "'%s' is not in the snapshot",
		    path);
close:
	store_cursor_close(cur);
out:
	buf_release(&k);
	return rc;
}

bool
pool_referenced(struct store_txn *t, const unsigned char h[HASH_LEN])
{
	const void *v;
	size_t vl;

	return store_get(t, TBL_BREFS, h, HASH_LEN, &v, &vl, NULL) == 0;
}

/*
 * Drops the pool intervals that start in [a, b] and end by b + 1: no kept
 * snapshot lies in them any more. Their blobs lose a reference.
 */
int
pool_drop_ended(struct store_txn *t, const char *mirror, uint32_t a,
    uint32_t b, pool_lost_fn lost, void *ctx, struct merr *err)
{
	struct store_cursor *c;
	struct buf prefix = BUF_INIT, pk = BUF_INIT;
	const void *k, *v;
	size_t kl, vl, mlen = strlen(mirror) + 1;
	unsigned char seq[4];
	int rc;

	buf_adds(&prefix, mirror);
	buf_addc(&prefix, '\0');
	be32_put(seq, a);
	buf_add(&prefix, seq, 4);
	rc = store_cursor_open(t, TBL_POOLSEQ, &c, err);
	if (rc)
		goto out;
	for (rc = store_cursor_seek(c, prefix.p, prefix.len, &k, &kl, &v, &vl,
	    err); rc == 1; ) {
		const unsigned char *kp = k;
		const char *path;
		const void *pv;
		size_t pvl, plen;
		uint32_t from, to, brefs;
		unsigned char h[HASH_LEN];

		if (kl < mlen + 4 + 2 + HASH_LEN || memcmp(kp, mirror, mlen))
			break;
		from = be32_get(kp + mlen);
		if (from > b)
			break;
		path = (const char *)kp + mlen + 4;
		plen = kl - mlen - 4 - 1 - HASH_LEN;
		memcpy(h, kp + kl - HASH_LEN, HASH_LEN);
		/* The interval: mirror\0path\0hash be32(from). */
		buf_reset(&pk);
		buf_add(&pk, mirror, mlen);
		buf_add(&pk, path, plen);
		buf_addc(&pk, '\0');
		buf_add(&pk, h, HASH_LEN);
		buf_add(&pk, kp + mlen, 4);
		rc = store_get(t, TBL_POOL, pk.p, pk.len, &pv, &pvl, err);
		if (rc == MERR_NOTFOUND || (rc == 0 && pvl != POOL_VAL_LEN)) {
			rc = merr_set(err, MERR_STORE, "pool index names a "
			    "missing interval for '%.*s'", (int)plen, path);
			break;
		}
		if (rc)
			break;
		to = be32_get(pv);
		if (to == 0 || to > b + 1) {
			rc = store_cursor_next(c, &k, &kl, &v, &vl, err);
			continue;
		}
		rc = store_del(t, TBL_POOL, pk.p, pk.len, err);
		if (rc == 0)
			rc = pool_bref_add(t, h, -1, &brefs, err);
		if (rc)
			break;
		if (brefs == 0)
			rc = lost(ctx, h, err);
		if (rc == 0)
			rc = store_cursor_del(c, err);
		if (rc)
			break;
		/* LMDB: after a delete, "next" is the entry that followed. */
		rc = store_cursor_next(c, &k, &kl, &v, &vl, err);
	}
	store_cursor_close(c);
	if (rc > 0)
		rc = 0;
out:
	buf_release(&prefix);
	buf_release(&pk);
	return rc;
}

struct each_ctx {
	pool_each_fn fn;
	void *ctx;
	const char *mirror;	/* pool_each_mirror's, or NULL */
	struct buf mirror_buf, path;
};

/*
 * The interval whose key, after "mirror\0", is rest ("path\0" hash
 * be32(from), rl bytes), to ec->fn with iv.mirror = mirror.
 */
static int
pool_each_rest(struct each_ctx *ec, const char *mirror, const char *rest,
    size_t rl, const void *v, size_t vl, struct merr *err)
{
	struct pool_interval iv;
	const char *end;

	if (rl < HASH_LEN + 4)
		return ec->fn(ec->ctx, NULL, err);
	/* The path ends at its NUL, or where the hash begins. */
	end = rest + rl - 4 - HASH_LEN;
	buf_reset(&ec->path);
	buf_add(&ec->path, rest, strnlen(rest, (size_t)(end - rest)));
	buf_addc(&ec->path, '\0');
	iv.mirror = mirror;
	iv.path = ec->path.p;
	memcpy(iv.hash, rest + rl - 4 - HASH_LEN, HASH_LEN);
	iv.from = be32_get((const unsigned char *)rest + rl - 4);
	iv.to = vl == POOL_VAL_LEN ? be32_get(v) : 0;
	iv.size = vl == POOL_VAL_LEN ?
	    be64_get((const unsigned char *)v + 4) : 0;
	iv.refs = vl == POOL_VAL_LEN ?
	    be32_get((const unsigned char *)v + 12) : 0;
	return ec->fn(ec->ctx, &iv, err);
}

static int
pool_each_one(void *ctx, const char *key, size_t kl, const void *v,
    size_t vl, struct merr *err)
{
	struct each_ctx *ec = ctx;
	const char *nul = memchr(key, '\0', kl), *path, *end;

	if (kl < HASH_LEN + 4 + 4 || nul == NULL)
		return ec->fn(ec->ctx, NULL, err);
	buf_reset(&ec->mirror_buf);
	buf_add(&ec->mirror_buf, key, (size_t)(nul - key));
	buf_addc(&ec->mirror_buf, '\0');
	/* A NUL inside the hash: an empty path, the hash and start kept. */
	path = nul + 1;
	end = key + kl - 4 - HASH_LEN;
	if (path > end)
		path = end;
	return pool_each_rest(ec, ec->mirror_buf.p, path,
	    (size_t)(key + kl - path), v, vl, err);
}

int
pool_each(struct store_txn *t, pool_each_fn fn, void *ctx, struct merr *err)
{
	struct each_ctx ec = { fn, ctx, NULL, BUF_INIT, BUF_INIT };
	int rc;

	rc = store_scan_prefix(t, TBL_POOL, NULL, 0, pool_each_one, &ec, err);
	buf_release(&ec.mirror_buf);
	buf_release(&ec.path);
	return rc;
}

static int
pool_each_mirror_one(void *ctx, const char *rest, size_t rl, const void *v,
    size_t vl, struct merr *err)
{
	struct each_ctx *ec = ctx;

	return pool_each_rest(ec, ec->mirror, rest, rl, v, vl, err);
}

int
pool_each_mirror(struct store_txn *t, const char *mirror, pool_each_fn fn,
    void *ctx, struct merr *err)
{
	struct each_ctx ec = { fn, ctx, mirror, BUF_INIT, BUF_INIT };
	int rc;

	rc = store_scan_prefix(t, TBL_POOL, mirror, strlen(mirror) + 1,
	    pool_each_mirror_one, &ec, err);
	buf_release(&ec.mirror_buf);
	buf_release(&ec.path);
	return rc;
}
