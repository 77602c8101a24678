/*
 * hash.h: SHA-256 (OpenSSL libcrypto) and hex helpers; FNV-1a for the
 * in-memory tables.
 *
 * The hashing functions cannot fail but by running out of memory, which
 * aborts as xmalloc does (util_oom); hash_fd reports read errors
 * (MERR_IO). A context belongs to its caller: any number of threads may
 * hash at once, each with its own. A struct hash_index is not locked:
 * one thread at a time, as any other owned structure.
 */
#ifndef MIRRORD_HASH_H
#define MIRRORD_HASH_H

#include "mirrord/common.h"

#define HASH_LEN 32
#define HASH_HEX_LEN 64

struct hash_ctx {
	void *md;	/* EVP_MD_CTX *, owned */
};

void hash_init(struct hash_ctx *h);
void hash_update(struct hash_ctx *h, const void *data, size_t len);
/* Writes the digest and releases the context. */
void hash_final(struct hash_ctx *h, unsigned char out[HASH_LEN]);
/* Copies a running context (for resumable downloads). */
void hash_copy(struct hash_ctx *dst, const struct hash_ctx *src);
/* Releases without a digest (on error paths). Safe on a zeroed ctx. */
void hash_release(struct hash_ctx *h);

void hash_buf(const void *data, size_t len, unsigned char out[HASH_LEN]);
/* out gets 64 lowercase hex digits and a NUL. */
void hash_to_hex(const unsigned char d[HASH_LEN], char out[HASH_HEX_LEN + 1]);
/*
 * HMAC-SHA256 of data under key into out (SigV4's signing keys and
 * signatures).
 */
void hash_hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[HASH_LEN]);
/* Exactly 64 hex digits (either case) in [s, s+len). 0 or MERR_PARSE. */
int hash_from_hex(const char *s, size_t len, unsigned char out[HASH_LEN]);
/* Hash an open file from its start; *size gets its length. */
int hash_fd(int fd, unsigned char out[HASH_LEN], uint64_t *size,
    struct merr *err);

/* FNV-1a of len bytes, from h: HASH_FNV1A_INIT, or a seed mixed into it.
 * For spreading keys over a table's slots, never for integrity. */
#define HASH_FNV1A_INIT 2166136261u
uint32_t hash_fnv1a(uint32_t h, const void *data, size_t len);

/*
 * An index from keys to the positions of an array the caller keeps: the
 * one hash table of the in-memory structures that need a lookup linear in
 * their size (duplicate checks, names). The table stores a key's hash and
 * its position only; the caller hashes (hash_fnv1a) and says whether the
 * key at a position equals the one sought, so keys may move (a buffer
 * that grows) as long as their positions do not. Zero-initialised or
 * HASH_INDEX_INIT is empty.
 */
struct hash_index {
	struct hash_index_slot *slot;	/* cap slots, owned */
	size_t cap;			/* 0 or a power of two */
	size_t n;
};
#define HASH_INDEX_INIT { NULL, 0, 0 }

/* Whether the key at position pos is the one sought. */
typedef bool (*hash_index_eq_fn)(const void *ctx, size_t pos);

/* The position of a key of hash h for which eq() holds, or SIZE_MAX. */
size_t hash_index_find(const struct hash_index *t, uint32_t h,
    hash_index_eq_fn eq, const void *ctx);
/* Adds position pos (less than SIZE_MAX) under hash h. */
void hash_index_add(struct hash_index *t, uint32_t h, size_t pos);
/*
 * Empties the table. A large table's memory is given back, so one large
 * use does not make every later clear cost its size.
 */
void hash_index_clear(struct hash_index *t);
void hash_index_release(struct hash_index *t);

#endif
