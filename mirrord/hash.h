/*
 * hash.h: SHA-256 (OpenSSL libcrypto) and hex helpers; FNV-1a for the
 * in-memory tables.
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
/* Exactly 64 hex digits (either case) in [s, s+len). 0 or MERR_PARSE. */
int hash_from_hex(const char *s, size_t len, unsigned char out[HASH_LEN]);
/* Hash an open file from its start; *size gets its length. */
int hash_fd(int fd, unsigned char out[HASH_LEN], uint64_t *size,
    struct merr *err);

/* FNV-1a of len bytes, from h: HASH_FNV1A_INIT, or a seed mixed into it.
 * For spreading keys over a table's slots, never for integrity. */
#define HASH_FNV1A_INIT 2166136261u
uint32_t hash_fnv1a(uint32_t h, const void *data, size_t len);

#endif
