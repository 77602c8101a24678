/*
 * fuzz_index.c: Packages/Sources stream parsing and decompression
 * (mirrord/index.h).
 *
 * Input: byte 0 says what the rest is. Bit 0: Packages (0) or Sources (1).
 * Bits 1-2: the rest is plain text (0), gzip data (1), xz data (2), or
 * plain text that this target compresses itself (3). Bits 3-7: the
 * callback stops the parse after that many entries (0: never), and the
 * split point of multi-member/multi-stream compression in mode 3.
 *
 * Invariants:
 *  - every entry's path passes path_check (and fuzz_path_ok), has no NUL
 *    and is path_len bytes; a Packages parse gives one entry per
 *    paragraph, a Sources parse at least one;
 *  - a callback error stops the parse with that very error;
 *  - compressed input (modes 1, 2): decompressed separately through
 *    the decomp reader (in small reads), the plain text parses to exactly the
 *    same entries and count; if the reader fails, so does the parse;
 *  - mode 3: the text, compressed as gzip (two members) and as xz (two
 *    concatenated streams), parses exactly as the plain text does;
 *  - max_out: decompressing never yields more than max_out bytes; with
 *    max_out one byte short of the text the parse fails (MERR_LIMIT
 *    unless an error came first), with exactly its size it succeeds.
 * Memory stays bounded: max_out is 1 MiB, and the xz memory limit is the
 * parser's own.
 */
#include "mirrord/common.h"

#include <sys/mman.h>

#include <unistd.h>

#include <lzma.h>
#include <zlib.h>

#include "mirrord/index.h"
#include "mirrord/path.h"
#include "tests/fuzz/fuzz.h"

#define MAX_OUT (1u << 20)

struct parse {
	int rc;
	uint64_t npara;
	size_t nentries;
	size_t stop_after;	/* 0: never stop */
	struct buf flat;	/* path, hash, size of each entry */
};

/* An fd at offset 0 holding [data, data+len). */
static int
mem_fd(const void *data, size_t len)
{
	int fd = memfd_create("fuzz_index", MFD_CLOEXEC);
	const char *p = data;

	FUZZ_CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		FUZZ_CHECK(n > 0, "write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek");
	return fd;
}

static int
on_entry(void *ctx, const struct index_entry *e, struct merr *err)
{
	struct parse *p = ctx;

	FUZZ_CHECK(e->path != NULL && e->path_len > 0, "empty entry path");
	FUZZ_CHECK(memchr(e->path, '\0', e->path_len) == NULL,
	    "NUL in entry path");
	FUZZ_CHECK(path_check(e->path, e->path_len, NULL) == 0 &&
	    fuzz_path_ok(e->path, e->path_len), "entry path '%.*s' unsafe",
	    (int)e->path_len, e->path);
	p->nentries++;
	buf_add(&p->flat, e->path, e->path_len);
	buf_addc(&p->flat, '\0');
	buf_add(&p->flat, e->hash, HASH_LEN);
	buf_add(&p->flat, &e->size, sizeof(e->size));
	if (p->stop_after != 0 && p->nentries == p->stop_after)
		return merr_set(err, MERR_INVAL, "stop");
	return 0;
}

static void
parse(const void *data, size_t len, enum comp comp, uint64_t max_out,
    enum index_kind kind, size_t stop_after, struct parse *p)
{
	struct merr err = { 0, "" };
	int fd = mem_fd(data, len);

	memset(p, 0, sizeof(*p));
	buf_init(&p->flat);
	p->stop_after = stop_after;
	p->npara = UINT64_MAX;
	p->rc = index_parse_fd(fd, comp, max_out, kind, "fuzz", on_entry, p,
	    &p->npara, &err);
	close(fd);
	if (p->rc == 0) {
		FUZZ_CHECK(err.code == 0, "err set on success");
		FUZZ_CHECK(p->npara != UINT64_MAX, "npara not set");
		if (kind == INDEX_PACKAGES)
			FUZZ_CHECK(p->nentries == p->npara,
			    "%zu entries for %llu packages", p->nentries,
			    (unsigned long long)p->npara);
		else
			FUZZ_CHECK(p->nentries >= p->npara,
			    "%zu entries for %llu sources", p->nentries,
			    (unsigned long long)p->npara);
		FUZZ_CHECK(stop_after == 0 || p->nentries < stop_after,
		    "went on after the callback stopped it");
	} else {
		FUZZ_CHECK(p->rc < 0 && err.code == p->rc,
		    "rc %d, err.code %d", p->rc, err.code);
		FUZZ_CHECK(strnlen(err.msg, sizeof(err.msg)) <
		    sizeof(err.msg) && err.msg[0] != '\0', "bad message");
		if (stop_after != 0 && p->nentries == stop_after)
			FUZZ_CHECK(p->rc == MERR_INVAL &&
			    strcmp(err.msg, "stop") == 0,
			    "callback error replaced by %d '%s'", p->rc,
			    err.msg);
		else
			FUZZ_CHECK(p->rc == MERR_PARSE || p->rc == MERR_LIMIT,
			    "unexpected error %d '%s'", p->rc, err.msg);
	}
}

static bool
same(const struct parse *a, const struct parse *b)
{
	return a->rc == b->rc && a->nentries == b->nentries &&
	    (a->rc != 0 || a->npara == b->npara) &&
	    a->flat.len == b->flat.len && (a->flat.len == 0 ||
	    memcmp(a->flat.p, b->flat.p, a->flat.len) == 0);
}

/*
 * Decompresses [data, data+len) through the decomp reader in reads of varying
 * size; returns 0 with the text in out, or the reader's error.
 */
static int
decompress(const void *data, size_t len, enum comp comp, struct buf *out)
{
	struct merr err = { 0, "" };
	struct decomp *r;
	char chunk[4096];
	size_t want = 1;
	ssize_t n;
	int fd = mem_fd(data, len);

	r = decomp_new(fd, comp, MAX_OUT, "fuzz");
	for (;;) {
		n = decomp_read(r, chunk, want, &err);
		if (n <= 0)
			break;
		FUZZ_CHECK((size_t)n <= want, "reader returned too much");
		buf_add(out, chunk, (size_t)n);
		FUZZ_CHECK(out->len <= MAX_OUT, "reader passed max_out");
		want = want * 3 % sizeof(chunk) + 1;
	}
	if (n < 0) {
		struct merr err2 = { 0, "" };

		FUZZ_CHECK(err.code == (int)n, "reader err.code");
		/* Errors are sticky. */
		FUZZ_CHECK(decomp_read(r, chunk, 1, &err2) == n &&
		    err2.code == (int)n, "reader error not sticky");
	}
	decomp_free(r);
	close(fd);
	return (int)n;
}

static void
gz_member(const char *p, size_t len, struct buf *out)
{
	z_stream z;
	unsigned char tmp[16384];
	int zr;

	memset(&z, 0, sizeof(z));
	FUZZ_CHECK(deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) == Z_OK, "deflateInit2");
	z.next_in = (unsigned char *)(uintptr_t)p;
	z.avail_in = (uInt)len;
	do {
		z.next_out = tmp;
		z.avail_out = sizeof(tmp);
		zr = deflate(&z, Z_FINISH);
		FUZZ_CHECK(zr == Z_OK || zr == Z_STREAM_END, "deflate %d", zr);
		buf_add(out, tmp, sizeof(tmp) - z.avail_out);
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
}

static void
xz_stream(const char *p, size_t len, struct buf *out)
{
	size_t cap = lzma_stream_buffer_bound(len), pos = 0;
	unsigned char *tmp = xmalloc(cap);
	lzma_options_lzma opt;
	lzma_filter filters[2];
	lzma_ret lr;

	/* The smallest dictionary: decoders then allocate (and clear) little,
	 * which keeps the fuzzer fast. */
	FUZZ_CHECK(lzma_lzma_preset(&opt, 0) == 0, "lzma_lzma_preset");
	opt.dict_size = LZMA_DICT_SIZE_MIN;
	filters[0].id = LZMA_FILTER_LZMA2;
	filters[0].options = &opt;
	filters[1].id = LZMA_VLI_UNKNOWN;
	filters[1].options = NULL;
	lr = lzma_stream_buffer_encode(filters, LZMA_CHECK_CRC32, NULL,
	    (const uint8_t *)p, len, tmp, &pos, cap);
	FUZZ_CHECK(lr == LZMA_OK, "lzma_stream_buffer_encode %d", (int)lr);
	buf_add(out, tmp, pos);
	free(tmp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum index_kind kind;
	struct parse a, b;
	const char *text;
	size_t len, stop;
	int mode;

	if (size < 1)
		return 0;
	kind = data[0] & 1 ? INDEX_SOURCES : INDEX_PACKAGES;
	mode = (data[0] >> 1) & 3;
	stop = data[0] >> 3;
	if (stop >= 8)
		stop = 0;	/* stop after 1..7 entries in 1/4 of cases */
	text = (const char *)data + 1;
	len = size - 1;

	if (mode == 1 || mode == 2) {
		enum comp comp = mode == 1 ? COMP_GZ : COMP_XZ;
		struct buf plain = BUF_INIT;
		int rrc;

		parse(text, len, comp, MAX_OUT, kind, stop, &a);
		rrc = decompress(text, len, comp, &plain);
		if (rrc == 0) {
			parse(plain.p ? plain.p : "", plain.len, COMP_NONE,
			    MAX_OUT, kind, stop, &b);
			FUZZ_CHECK(same(&a, &b), "compressed parse %d (%zu) "
			    "!= plain parse %d (%zu)", a.rc, a.nentries, b.rc,
			    b.nentries);
			buf_release(&b.flat);
		} else {
			FUZZ_CHECK(a.rc != 0, "reader failed (%d), parse not",
			    rrc);
		}
		buf_release(&plain);
		buf_release(&a.flat);
		return 0;
	}

	parse(text, len, COMP_NONE, MAX_OUT, kind, stop, &a);
	if (len > 0 && len <= MAX_OUT) {
		/* max_out exactly the size: the same; one short: an error. */
		parse(text, len, COMP_NONE, len, kind, stop, &b);
		FUZZ_CHECK(same(&a, &b), "max_out = size changes the parse");
		buf_release(&b.flat);
		parse(text, len, COMP_NONE, len - 1, kind, stop, &b);
		FUZZ_CHECK(b.rc != 0, "max_out one short still succeeds");
		FUZZ_CHECK(a.rc != 0 || b.rc == MERR_LIMIT,
		    "max_out one short: %d, not a limit", b.rc);
		buf_release(&b.flat);
	}
	if (mode == 3) {
		struct buf gz = BUF_INIT, xz = BUF_INIT;
		size_t cut = len ? (size_t)data[0] * 131 % (len + 1) : 0;

		gz_member(text, cut, &gz);
		gz_member(text + cut, len - cut, &gz);
		parse(gz.p, gz.len, COMP_GZ, MAX_OUT, kind, stop, &b);
		FUZZ_CHECK(same(&a, &b), "gzip parse %d != plain parse %d",
		    b.rc, a.rc);
		buf_release(&b.flat);
		xz_stream(text, cut, &xz);
		xz_stream(text + cut, len - cut, &xz);
		parse(xz.p, xz.len, COMP_XZ, MAX_OUT, kind, stop, &b);
		FUZZ_CHECK(same(&a, &b), "xz parse %d != plain parse %d",
		    b.rc, a.rc);
		buf_release(&b.flat);
		buf_release(&gz);
		buf_release(&xz);
	}
	buf_release(&a.flat);
	return 0;
}
