/*
 * hash.c: SHA-256 through OpenSSL's EVP interface.
 */
#include "mirrord/common.h"

#include <unistd.h>

#include <openssl/evp.h>

#include "mirrord/hash.h"

void
hash_init(struct hash_ctx *h)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		abort();
	h->md = md;
}

void
hash_update(struct hash_ctx *h, const void *data, size_t len)
{
	if (EVP_DigestUpdate(h->md, data, len) != 1)
		abort();
}

void
hash_final(struct hash_ctx *h, unsigned char out[HASH_LEN])
{
	unsigned int n = HASH_LEN;

	if (EVP_DigestFinal_ex(h->md, out, &n) != 1)
		abort();
	hash_release(h);
}

void
hash_copy(struct hash_ctx *dst, const struct hash_ctx *src)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md == NULL || EVP_MD_CTX_copy_ex(md, src->md) != 1)
		abort();
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

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hash_from_hex(const char *s, size_t len, unsigned char out[HASH_LEN])
{
	size_t i;

	if (len != HASH_HEX_LEN)
		return MERR_PARSE;
	for (i = 0; i < HASH_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return MERR_PARSE;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
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
