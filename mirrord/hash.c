/*
 * hash.c: SHA-256 through OpenSSL's EVP interface; FNV-1a and the index
 * table for in-memory lookups.
 */
#include "mirrord/common.h"

#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "mirrord/hash.h"
#include "mirrord/util.h"

/*
 * OpenSSL fails these calls only when it cannot allocate (SHA-256 has no
 * other way to fail): that is out of memory, handled as xmalloc does.
 */
void
hash_init(struct hash_ctx *h)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		util_oom();
	h->md = md;
}

void
hash_update(struct hash_ctx *h, const void *data, size_t len)
{
	if (EVP_DigestUpdate(h->md, data, len) != 1)
		util_oom();
}

void
hash_final(struct hash_ctx *h, unsigned char out[HASH_LEN])
{
	unsigned int n = HASH_LEN;

	if (EVP_DigestFinal_ex(h->md, out, &n) != 1)
		util_oom();
	hash_release(h);
}

void
hash_copy(struct hash_ctx *dst, const struct hash_ctx *src)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md == NULL || EVP_MD_CTX_copy_ex(md, src->md) != 1)
		util_oom();
	dst->md = md;
}

void
hash_release(struct hash_ctx *h)
{
	EVP_MD_CTX_free(h->md);
	h->md = NULL;
}

void
hash_buf(const void *data, size_t len, unsigned char out[HASH_LEN])
{
	struct hash_ctx h;

	hash_init(&h);
	hash_update(&h, data, len);
	hash_final(&h, out);
}

void
hash_hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[HASH_LEN])
{
	unsigned int outlen = HASH_LEN;

	/* Fails only out of memory (the digest is built in). */
	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out,
	    &outlen) == NULL)
		util_oom();
}

void
hash_to_hex(const unsigned char d[HASH_LEN], char out[HASH_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < HASH_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[HASH_HEX_LEN] = '\0';
}

/* Hex digit values, -1 for anything else: a table, as indices hold many. */
static const signed char hexval[256] = {
	['0'] = 0 + 1, ['1'] = 1 + 1, ['2'] = 2 + 1, ['3'] = 3 + 1,
	['4'] = 4 + 1, ['5'] = 5 + 1, ['6'] = 6 + 1, ['7'] = 7 + 1,
	['8'] = 8 + 1, ['9'] = 9 + 1,
	['a'] = 10 + 1, ['b'] = 11 + 1, ['c'] = 12 + 1, ['d'] = 13 + 1,
	['e'] = 14 + 1, ['f'] = 15 + 1,
	['A'] = 10 + 1, ['B'] = 11 + 1, ['C'] = 12 + 1, ['D'] = 13 + 1,
	['E'] = 14 + 1, ['F'] = 15 + 1,
};

int
hash_from_hex(const char *s, size_t len, unsigned char out[HASH_LEN])
{
	int bad = 0;
	size_t i;

	if (len != HASH_HEX_LEN)
		return MERR_PARSE;
	/* Stored plus one, so that 0 marks a non-digit. */
	for (i = 0; i < HASH_LEN; i++) {
		int hi = hexval[(unsigned char)s[2 * i]] - 1;
		int lo = hexval[(unsigned char)s[2 * i + 1]] - 1;

		bad |= hi | lo;
		out[i] = (unsigned char)((unsigned)hi << 4 | (unsigned)lo);
	}
	return bad < 0 ? MERR_PARSE : 0;
}

int
hash_fd(int fd, unsigned char out[HASH_LEN], uint64_t *size, struct merr *err)
{
	static const size_t bufsz = 1 << 17;
	struct hash_ctx h;
	char *b = xmalloc(bufsz);
	uint64_t total = 0;
	off_t off = 0;

	hash_init(&h);
	for (;;) {
		ssize_t n = pread(fd, b, bufsz, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			hash_release(&h);
			free(b);
			return merr_errno(err, "cannot read for hashing");
		}
		if (n == 0)
			break;
		hash_update(&h, b, (size_t)n);
		off += n;
		total += (uint64_t)n;
	}
	hash_final(&h, out);
	free(b);
	if (size)
		*size = total;
	return 0;
}

uint32_t
hash_fnv1a(uint32_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* pos + 1 in a slot: 0 marks an empty one. */
struct hash_index_slot {
	uint32_t hash;
	size_t pos1;
};

#define HASH_INDEX_MIN 16
#define HASH_INDEX_KEEP 1024	/* clear() frees tables above this */

size_t
hash_index_find(const struct hash_index *t, uint32_t h, hash_index_eq_fn eq,
    const void *ctx)
{
	size_t mask, i;

	if (t->cap == 0)
		return SIZE_MAX;
	mask = t->cap - 1;
	for (i = h & mask; t->slot[i].pos1 != 0; i = (i + 1) & mask) {
		if (t->slot[i].hash == h && eq(ctx, t->slot[i].pos1 - 1))
			return t->slot[i].pos1 - 1;
	}
	return SIZE_MAX;
}

/* Puts an entry in a table known to have room (linear probing). */
static void
hash_index_put(struct hash_index_slot *slot, size_t cap, uint32_t h,
    size_t pos1)
{
	size_t i;

	for (i = h & (cap - 1); slot[i].pos1 != 0; i = (i + 1) & (cap - 1))
		;
	slot[i].hash = h;
	slot[i].pos1 = pos1;
}

void
hash_index_add(struct hash_index *t, uint32_t h, size_t pos)
{
	/* At most half full: probes stay short. */
	if (2 * (t->n + 1) > t->cap) {
		size_t cap = t->cap ? 2 * t->cap : HASH_INDEX_MIN, i;
		struct hash_index_slot *s = xcalloc(cap, sizeof(*s));

		for (i = 0; i < t->cap; i++)
			if (t->slot[i].pos1 != 0)
				hash_index_put(s, cap, t->slot[i].hash,
				    t->slot[i].pos1);
		free(t->slot);
		t->slot = s;
		t->cap = cap;
	}
	hash_index_put(t->slot, t->cap, h, pos + 1);
	t->n++;
}

void
hash_index_clear(struct hash_index *t)
{
	if (t->cap > HASH_INDEX_KEEP) {
		hash_index_release(t);
		return;
	}
	if (t->n > 0)
		memset(t->slot, 0, t->cap * sizeof(*t->slot));
	t->n = 0;
}

void
hash_index_release(struct hash_index *t)
{
	free(t->slot);
	t->slot = NULL;
	t->cap = 0;
	t->n = 0;
}
