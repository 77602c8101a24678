/*
 * t_index.c: streaming decompression (mirrord/decomp.c) and
 * Packages/Sources scanning (mirrord/index.c).
 *
 * "t_index --bench FILE" parses FILE (compression from its name, Sources
 * if the name contains "Sources") and prints the counts and the time.
 */
#include "mirrord/common.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <time.h>
#include <unistd.h>

#include <lzma.h>
#include <zlib.h>

#include "mirrord/deb822.h"
#include "mirrord/hash.h"
#include "mirrord/index.h"
#include "tap.h"

#define NPKG 5000

/* What the generator wrote, entry by entry. */
struct expect {
	char **paths;
	unsigned char (*hash)[HASH_LEN];
	uint64_t *size;
	size_t n;
};

/* What the callback received. */
struct got {
	char **paths;
	unsigned char (*hash)[HASH_LEN];
	uint64_t *size;
	size_t n, cap;
	size_t stop_after;	/* 0: never stop */
};

static char tmpdir[] = "/tmp/t_index.XXXXXX";

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
got_cb(void *ctx, const struct index_entry *e, struct merr *err)
{
	struct got *g = ctx;

	if (g->stop_after && g->n == g->stop_after)
		return merr_set(err, MERR_VERIFY, "stopped by callback");
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 64;
		g->paths = xreallocarray(g->paths, g->cap, sizeof(*g->paths));
		g->hash = xreallocarray(g->hash, g->cap, sizeof(*g->hash));
		g->size = xreallocarray(g->size, g->cap, sizeof(*g->size));
	}
	/* The path must be exactly path_len bytes, NUL or not after. */
	g->paths[g->n] = xstrndup(e->path, e->path_len);
	memcpy(g->hash[g->n], e->hash, HASH_LEN);
	g->size[g->n] = e->size;
	g->n++;
	return 0;
}

static void
got_release(struct got *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		free(g->paths[i]);
	free(g->paths);
	free(g->hash);
	free(g->size);
	memset(g, 0, sizeof(*g));
}

static void
expect_release(struct expect *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		free(x->paths[i]);
	free(x->paths);
	free(x->hash);
	free(x->size);
}

/* Every entry equal, in order. */
static bool
got_matches(const struct got *g, const struct expect *x)
{
	size_t i;

	if (g->n != x->n)
		return false;
	for (i = 0; i < x->n; i++)
		if (strcmp(g->paths[i], x->paths[i]) != 0 ||
		    memcmp(g->hash[i], x->hash[i], HASH_LEN) != 0 ||
		    g->size[i] != x->size[i])
			return false;
	return true;
}

/* A digest over all entries, as a second, order-sensitive check. */
static void
got_digest(const struct got *g, char out[HASH_HEX_LEN + 1])
{
	struct hash_ctx h;
	unsigned char d[HASH_LEN];
	size_t i;

	hash_init(&h);
	for (i = 0; i < g->n; i++) {
		hash_update(&h, g->paths[i], strlen(g->paths[i]) + 1);
		hash_update(&h, g->hash[i], HASH_LEN);
		hash_update(&h, &g->size[i], sizeof(g->size[i]));
	}
	hash_final(&h, d);
	hash_to_hex(d, out);
}

/*
 * A realistic Packages file: n paragraphs with the usual fields, long
 * Description continuation lines, fields in varying order and case.
 */
static void
gen_packages(struct buf *b, size_t n, struct expect *x)
{
	char hex[HASH_HEX_LEN + 1];
	size_t i, j;

	x->paths = xcalloc(n, sizeof(*x->paths));
	x->hash = xcalloc(n, sizeof(*x->hash));
	x->size = xcalloc(n, sizeof(*x->size));
	x->n = n;
	for (i = 0; i < n; i++) {
		x->paths[i] = xasprintf("pool/main/p/pkg%zu/pkg%zu_1.%zu-1_"
		    "amd64.deb", i % 700, i, i);
		hash_buf(x->paths[i], strlen(x->paths[i]), x->hash[i]);
		hash_to_hex(x->hash[i], hex);
		x->size[i] = (uint64_t)i * 1021 + 7;
		buf_addf(b, "Package: pkg%zu\n"
		    "Version: 1.%zu-1\n"
		    "Installed-Size: %zu\n"
		    "Maintainer: Debian Example Maintainers "
		    "<pkg%zu@lists.debian.org>\n"
		    "Architecture: amd64\n"
		    "Depends: libc6 (>= 2.34), libfoo%zu (>= 1.2), "
		    "libbar | libbaz\n", i, i, i * 3, i, i);
		if (i % 7 == 3) {
			/* Hash first, lower-case names. */
			buf_addf(b, "sha256: %s\nfilename: %s\nsize: %" PRIu64
			    "\n", hex, x->paths[i], x->size[i]);
		}
		buf_addf(b, "Description: example package number %zu\n", i);
		for (j = 0; j < 6 + i % 5; j++)
			buf_addf(b, " This is line %zu of a long description "
			    "that goes on and on, as real ones do, with "
			    "words: Filename: Size: SHA256: not fields.\n", j);
		/* Continuation lines are never fields. */
		buf_adds(b, " .\n Filename: ../not/a/field\n"
		    " SHA256: nothex\n");
		buf_addf(b, "Homepage: https://example.org/pkg%zu\n"
		    "Description-md5: 0123456789abcdef0123456789abcdef\n"
		    "Section: utils\nPriority: optional\n", i);
		if (i % 7 != 3)
			buf_addf(b, "Filename: %s\nSize: %" PRIu64 "\n"
			    "MD5sum: 0123456789abcdef0123456789abcdef\n"
			    "SHA256: %s\n", x->paths[i], x->size[i], hex);
		buf_adds(b, "\n");
	}
}

static void
gz_compress(const void *data, size_t len, struct buf *out)
{
	z_stream z;
	int zr;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (unsigned char *)data;
	z.avail_in = (uInt)len;
	do {
		buf_grow(out, 65536);
		z.next_out = (unsigned char *)out->p + out->len;
		z.avail_out = 65536;
		zr = deflate(&z, Z_FINISH);
		out->len += 65536 - z.avail_out;
	} while (zr == Z_OK);
	if (zr != Z_STREAM_END)
		abort();
	deflateEnd(&z);
}

static void
xz_compress(const void *data, size_t len, uint32_t preset, struct buf *out)
{
	lzma_stream lz = LZMA_STREAM_INIT;
	lzma_ret lr;

	if (lzma_easy_encoder(&lz, preset, LZMA_CHECK_CRC64) != LZMA_OK)
		abort();
	lz.next_in = data;
	lz.avail_in = len;
	do {
		buf_grow(out, 65536);
		lz.next_out = (unsigned char *)out->p + out->len;
		lz.avail_out = 65536;
		lr = lzma_code(&lz, LZMA_FINISH);
		out->len += 65536 - lz.avail_out;
	} while (lr == LZMA_OK);
	if (lr != LZMA_STREAM_END)
		abort();
	lzma_end(&lz);
}

static char *
write_tmp(const char *name, const void *data, size_t len)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	return path;
}

/* Parses a file on disk. */
static int
parse_path(const char *path, enum comp comp, uint64_t max_out,
    enum index_kind kind, struct got *g, uint64_t *npara, struct merr *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		abort();
	rc = index_parse_fd(fd, comp, max_out, kind, "idx", got_cb, g, npara,
	    err);
	close(fd);
	return rc;
}

/* Parses [data, data+len) written plain. */
static int
parse_mem(const char *data, size_t len, enum index_kind kind, struct got *g,
    uint64_t *npara, struct merr *err)
{
	char *path = write_tmp("mem", data, len);
	int rc = parse_path(path, COMP_NONE, 1 << 30, kind, g, npara, err);

	free(path);
	return rc;
}

static bool
has(const struct merr *e, const char *s)
{
	bool yes = strstr(e->msg, s) != NULL;

	if (!yes)
		printf("#   message '%s' lacks '%s'\n", e->msg, s);
	return yes;
}

static void
test_comp(void)
{
	is_int(comp_from_name("main/binary-amd64/Packages.xz"), COMP_XZ,
	    "comp .xz");
	is_int(comp_from_name("Packages.gz"), COMP_GZ, "comp .gz");
	is_int(comp_from_name("Packages"), COMP_NONE, "comp none");
	is_int(comp_from_name("Packages.bz2"), COMP_OTHER, "comp .bz2");
	is_int(comp_from_name("Packages.lzma"), COMP_OTHER, "comp .lzma");
	is_int(comp_from_name("Packages.lz4"), COMP_OTHER, "comp .lz4");
	is_int(comp_from_name("Packages.zst"), COMP_OTHER, "comp .zst");
	is_int(comp_from_name("Packages.xzz"), COMP_NONE, "comp .xzz");
	is_int(comp_strip("Packages.xz"), 8, "strip .xz");
	is_int(comp_strip("Packages.gz"), 8, "strip .gz");
	is_int(comp_strip("Sources.bz2"), 7, "strip .bz2");
	is_int(comp_strip("Sources.lzma"), 7, "strip .lzma");
	is_int(comp_strip("Sources.zst"), 7, "strip .zst");
	is_int(comp_strip("Sources.lz4"), 7, "strip .lz4");
	is_int(comp_strip("Release"), 7, "strip nothing");
}

/* The big generated index, plain, gzip'd and xz'd. */
static void
test_big(void)
{
	struct buf text = BUF_INIT, gz = BUF_INIT, xz = BUF_INIT;
	struct buf gz2 = BUF_INIT, xz2 = BUF_INIT, cut = BUF_INIT;
	struct expect x;
	struct got g;
	struct merr err;
	uint64_t npara;
	char *plain, *pgz, *pxz, *pgz2, *pxz2, *p, dx[HASH_HEX_LEN + 1],
	    dg[HASH_HEX_LEN + 1];
	const char *names[3] = { "plain", "gz", "xz" };
	enum comp comps[3] = { COMP_NONE, COMP_GZ, COMP_XZ };
	char *paths[3];
	size_t half;
	int i, rc;

	gen_packages(&text, NPKG, &x);
	gz_compress(text.p, text.len, &gz);
	xz_compress(text.p, text.len, 2, &xz);
	plain = write_tmp("Packages", text.p, text.len);
	pgz = write_tmp("Packages.gz", gz.p, gz.len);
	pxz = write_tmp("Packages.xz", xz.p, xz.len);
	paths[0] = plain;
	paths[1] = pgz;
	paths[2] = pxz;
	ok(text.len > 4 * 1024 * 1024, "generated %zu bytes (gz %zu, xz %zu)",
	    text.len, gz.len, xz.len);

	/* Expected digest, from the generator's own entries. */
	memset(&g, 0, sizeof(g));
	g.paths = x.paths;
	g.hash = x.hash;
	g.size = x.size;
	g.n = x.n;
	got_digest(&g, dx);

	for (i = 0; i < 3; i++) {
		memset(&g, 0, sizeof(g));
		npara = 0;
		rc = parse_path(paths[i], comps[i], text.len, INDEX_PACKAGES,
		    &g, &npara, &err);
		is_int(rc, 0, "%s: parses%s%s", names[i], rc ? ": " : "",
		    rc ? err.msg : "");
		is_int(g.n, NPKG, "%s: entry count", names[i]);
		is_int(npara, NPKG, "%s: paragraph count", names[i]);
		ok(got_matches(&g, &x), "%s: every entry as generated",
		    names[i]);
		got_digest(&g, dg);
		is_str(dg, dx, "%s: digest over all entries", names[i]);
		if (g.n == NPKG) {
			is_str(g.paths[0],
			    "pool/main/p/pkg0/pkg0_1.0-1_amd64.deb",
			    "%s: first path", names[i]);
			is_str(g.paths[1234], "pool/main/p/pkg534/"
			    "pkg1234_1.1234-1_amd64.deb", "%s: path 1234",
			    names[i]);
			is_int(g.size[4999], 4999ULL * 1021 + 7,
			    "%s: size 4999", names[i]);
			/* A lower-case, hash-first paragraph (i % 7 == 3). */
			ok(memcmp(g.hash[3], x.hash[3], HASH_LEN) == 0 &&
			    g.size[3] == 3 * 1021 + 7, "%s: entry 3",
			    names[i]);
		}
		got_release(&g);

		/* One byte under the decompressed size is too much. */
		memset(&g, 0, sizeof(g));
		rc = parse_path(paths[i], comps[i], text.len - 1,
		    INDEX_PACKAGES, &g, &npara, &err);
		is_int(rc, MERR_LIMIT, "%s: max_out one byte short", names[i]);
		ok(has(&err, "exceeds"), "%s: limit message", names[i]);
		got_release(&g);
	}

	/* Multi-member gzip and concatenated xz streams. */
	half = text.len / 2;
	p = memchr(text.p + half, '\n', text.len - half);
	half = (size_t)(p - text.p) + 1;	/* split mid-paragraph */
	gz_compress(text.p, half, &gz2);
	gz_compress(text.p + half, text.len - half, &gz2);
	xz_compress(text.p, half, 1, &xz2);
	xz_compress(text.p + half, text.len - half, 1, &xz2);
	pgz2 = write_tmp("Packages2.gz", gz2.p, gz2.len);
	pxz2 = write_tmp("Packages2.xz", xz2.p, xz2.len);
	memset(&g, 0, sizeof(g));
	rc = parse_path(pgz2, COMP_GZ, text.len, INDEX_PACKAGES, &g, &npara,
	    &err);
	ok(rc == 0 && got_matches(&g, &x) && npara == NPKG,
	    "multi-member gzip");
	got_release(&g);
	memset(&g, 0, sizeof(g));
	rc = parse_path(pxz2, COMP_XZ, text.len, INDEX_PACKAGES, &g, &npara,
	    &err);
	ok(rc == 0 && got_matches(&g, &x) && npara == NPKG,
	    "concatenated xz streams");
	got_release(&g);
	free(pgz2);
	free(pxz2);

	/* Truncated: half the data, and all but the last bytes. */
	{
		struct {
			const char *what;
			struct buf *b;
			size_t len;
			enum comp comp;
		} t[] = {
			{ "xz cut in half", &xz, xz.len / 2, COMP_XZ },
			{ "xz without its last byte", &xz, xz.len - 1,
			    COMP_XZ },
			{ "gz cut in half", &gz, gz.len / 2, COMP_GZ },
			{ "gz without its last 4 bytes", &gz, gz.len - 4,
			    COMP_GZ },
			{ "gz without its trailer", &gz, gz.len - 8, COMP_GZ },
			{ "empty xz", &xz, 0, COMP_XZ },
			{ "empty gz", &gz, 0, COMP_GZ },
		};
		size_t k;

		for (k = 0; k < ARRAY_SIZE(t); k++) {
			char *tp = write_tmp("cut", t[k].b->p, t[k].len);

			memset(&g, 0, sizeof(g));
			rc = parse_path(tp, t[k].comp, text.len,
			    INDEX_PACKAGES, &g, &npara, &err);
			is_int(rc, MERR_PARSE, "%s: MERR_PARSE", t[k].what);
			if (t[k].len > 0)
				ok(has(&err, "truncated"), "%s: says truncated",
				    t[k].what);
			got_release(&g);
			free(tp);
		}
	}

	/* Corrupt: a flipped byte in the middle; not compressed at all. */
	buf_add(&cut, xz.p, xz.len);
	cut.p[cut.len / 2] ^= 0x55;
	p = write_tmp("bad.xz", cut.p, cut.len);
	memset(&g, 0, sizeof(g));
	rc = parse_path(p, COMP_XZ, text.len, INDEX_PACKAGES, &g, &npara,
	    &err);
	is_int(rc, MERR_PARSE, "corrupt xz: MERR_PARSE (%s)", err.msg);
	got_release(&g);
	free(p);
	buf_reset(&cut);
	buf_add(&cut, gz.p, gz.len);
	cut.p[cut.len / 2] ^= 0x55;
	p = write_tmp("bad.gz", cut.p, cut.len);
	memset(&g, 0, sizeof(g));
	rc = parse_path(p, COMP_GZ, text.len, INDEX_PACKAGES, &g, &npara,
	    &err);
	is_int(rc, MERR_PARSE, "corrupt gz: MERR_PARSE (%s)", err.msg);
	got_release(&g);
	free(p);
	memset(&g, 0, sizeof(g));
	rc = parse_path(plain, COMP_XZ, text.len, INDEX_PACKAGES, &g, &npara,
	    &err);
	is_int(rc, MERR_PARSE, "plain text as xz: MERR_PARSE");
	ok(has(&err, "not in xz format"), "plain text as xz: message");
	got_release(&g);
	memset(&g, 0, sizeof(g));
	rc = parse_path(plain, COMP_GZ, text.len, INDEX_PACKAGES, &g, &npara,
	    &err);
	is_int(rc, MERR_PARSE, "plain text as gz: MERR_PARSE");
	got_release(&g);
	memset(&g, 0, sizeof(g));
	rc = parse_path(plain, COMP_OTHER, text.len, INDEX_PACKAGES, &g,
	    &npara, &err);
	is_int(rc, MERR_INVAL, "COMP_OTHER: MERR_INVAL");
	ok(has(&err, "cannot parse compression of 'idx'"),
	    "COMP_OTHER: message");
	got_release(&g);

	/* The callback's error stops parsing and is returned. */
	memset(&g, 0, sizeof(g));
	g.stop_after = 10;
	rc = parse_path(pxz, COMP_XZ, text.len, INDEX_PACKAGES, &g, &npara,
	    &err);
	is_int(rc, MERR_VERIFY, "callback error returned");
	is_int(g.n, 10, "no entry after the callback's error");
	is_str(err.msg, "stopped by callback", "callback's message kept");
	got_release(&g);

	/* The pull reader gives back the text, in small reads. */
	for (i = 0; i < 3; i++) {
		struct buf back = BUF_INIT;
		struct decomp *r;
		deb822_read_fn rd = decomp_read;	/* compatible */
		char chunk[1000];
		ssize_t n;
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);

		r = decomp_new(fd, comps[i], text.len, "rd");
		while ((n = rd(r, chunk, sizeof(chunk), &err)) > 0)
			buf_add(&back, chunk, (size_t)n);
		is_int(n, 0, "reader %s: reaches the end", names[i]);
		ok(back.len == text.len &&
		    memcmp(back.p, text.p, text.len) == 0,
		    "reader %s: same bytes", names[i]);
		decomp_free(r);
		buf_release(&back);

		/* One byte short: a sticky MERR_LIMIT after max_out bytes. */
		lseek(fd, 0, SEEK_SET);
		r = decomp_new(fd, comps[i], text.len - 1, "rd");
		half = 0;
		while ((n = rd(r, chunk, sizeof(chunk), &err)) > 0)
			half += (size_t)n;
		is_int(n, MERR_LIMIT, "reader %s: cap", names[i]);
		is_int(half, text.len - 1, "reader %s: max_out bytes given",
		    names[i]);
		memset(&err, 0, sizeof(err));
		is_int(rd(r, chunk, sizeof(chunk), &err), MERR_LIMIT,
		    "reader %s: error is sticky", names[i]);
		ok(has(&err, "'rd'"), "reader %s: sticky message", names[i]);
		decomp_free(r);
		close(fd);
	}
	{
		struct decomp *r = decomp_new(0, COMP_OTHER, 10,
		    "Packages.zst");
		char c;

		is_int(decomp_read(r, &c, 1, &err), MERR_INVAL,
		    "reader COMP_OTHER: MERR_INVAL");
		decomp_free(r);
		/* Freed without reading. */
		decomp_free(decomp_new(0, COMP_XZ, 10, "x"));
		decomp_free(NULL);
	}

	free(plain);
	free(pgz);
	free(pxz);
	buf_release(&text);
	buf_release(&gz);
	buf_release(&xz);
	buf_release(&gz2);
	buf_release(&xz2);
	buf_release(&cut);
	expect_release(&x);
}

static long
maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/*
 * Decompression bombs: 200 MB of newlines, as 100 concatenated 2 MB
 * streams (cheap to make), must stop at max_out quickly and in little
 * memory.
 */
static void
test_bomb(void)
{
	struct buf one = BUF_INIT, bomb = BUF_INIT;
	char *nl = xmalloc(2 * 1000 * 1000), *p, chunk[4096];
	struct decomp *r;
	struct got g;
	struct merr err;
	uint64_t npara, total;
	long rss0;
	double t0;
	ssize_t n;
	int k, rc, fd;

	memset(nl, '\n', 2 * 1000 * 1000);
	xz_compress(nl, 2 * 1000 * 1000, 0, &one);
	for (k = 0; k < 100; k++)
		buf_add(&bomb, one.p, one.len);
	p = write_tmp("bomb.xz", bomb.p, bomb.len);
	rss0 = maxrss_kb();
	t0 = now();
	memset(&g, 0, sizeof(g));
	rc = parse_path(p, COMP_XZ, 1000 * 1000, INDEX_PACKAGES, &g, &npara,
	    &err);
	is_int(rc, MERR_LIMIT, "xz bomb (%zu bytes): MERR_LIMIT", bomb.len);
	ok(has(&err, "exceeds 1000000 bytes"), "xz bomb: message");
	ok(now() - t0 < 5, "xz bomb: stopped quickly (%.3f s)", now() - t0);
	ok(maxrss_kb() - rss0 < 64 * 1024, "xz bomb: little memory "
	    "(max rss grew %ld KiB)", maxrss_kb() - rss0);
	is_int(g.n, 0, "xz bomb: no entries");
	got_release(&g);

	/* The reader hands out exactly max_out bytes, then fails. */
	fd = open(p, O_RDONLY | O_CLOEXEC);
	r = decomp_new(fd, COMP_XZ, 1000 * 1000, "bomb");
	total = 0;
	while ((n = decomp_read(r, chunk, sizeof(chunk), &err)) > 0)
		total += (uint64_t)n;
	is_int(n, MERR_LIMIT, "xz bomb reader: MERR_LIMIT");
	is_int(total, 1000 * 1000, "xz bomb reader: stopped at max_out");
	decomp_free(r);
	close(fd);
	free(p);

	/* The same as multi-member gzip. */
	buf_reset(&one);
	buf_reset(&bomb);
	gz_compress(nl, 2 * 1000 * 1000, &one);
	for (k = 0; k < 100; k++)
		buf_add(&bomb, one.p, one.len);
	p = write_tmp("bomb.gz", bomb.p, bomb.len);
	t0 = now();
	memset(&g, 0, sizeof(g));
	rc = parse_path(p, COMP_GZ, 1000 * 1000, INDEX_PACKAGES, &g, &npara,
	    &err);
	is_int(rc, MERR_LIMIT, "gz bomb: MERR_LIMIT");
	ok(now() - t0 < 5, "gz bomb: stopped quickly (%.3f s)", now() - t0);
	got_release(&g);
	free(p);

	/* Without the cap, it is all blank lines: no paragraphs. */
	buf_reset(&bomb);
	for (k = 0; k < 3; k++)
		buf_add(&bomb, one.p, one.len);
	p = write_tmp("blank.gz", bomb.p, bomb.len);
	memset(&g, 0, sizeof(g));
	npara = 99;
	rc = parse_path(p, COMP_GZ, 6 * 1000 * 1000, INDEX_PACKAGES, &g,
	    &npara, &err);
	ok(rc == 0 && npara == 0 && g.n == 0, "blank lines only: nothing");
	got_release(&g);
	free(p);

	free(nl);
	buf_release(&one);
	buf_release(&bomb);
}

#define H1 "6a5f20ec2c8ea2fd0a4f4bb1b2a0f1a5a1ae4d0bd8c8c5e6b0d3b0c7e2a1f001"
#define H2 "6A5F20EC2C8EA2FD0A4F4BB1B2A0F1A5A1AE4D0BD8C8C5E6B0D3B0C7E2A1F002"
#define H3 "6a5f20ec2c8ea2fd0a4f4bb1b2a0f1a5a1ae4d0bd8c8c5e6b0d3b0c7e2a1f003"

/* Small Packages texts: errors name their line. */
static void
test_packages_errors(void)
{
	static const struct {
		const char *what, *text, *msg;
		int rc;
	} t[] = {
		{ "missing SHA256",
		    "Package: a\nFilename: pool/a.deb\nSize: 1\nSHA256: " H1
		    "\n\nPackage: b\nFilename: pool/b.deb\nSize: 2\nSHA256: "
		    H2 "\n\n\n"
		    "Package: c\nDescription: x\n more\nFilename: pool/c.deb\n"
		    "Size: 3\n\nPackage: d\n",
		    "'idx' line 12: package without SHA256", MERR_PARSE },
		{ "missing Filename", "Package: a\nSize: 1\nSHA256: " H1 "\n",
		    "'idx' line 1: package without Filename", MERR_PARSE },
		{ "missing Size", "Package: a\nFilename: a\nSHA256: " H1,
		    "'idx' line 1: package without Size", MERR_PARSE },
		{ "dot-dot path",
		    "Package: a\nSize: 1\nSHA256: " H1 "\nFilename: "
		    "../../etc/passwd\n", "'idx' line 4: unsafe path",
		    MERR_PARSE },
		{ "absolute path",
		    "Package: a\nSize: 1\nSHA256: " H1 "\nFilename: /abs\n",
		    "'idx' line 4: unsafe path '/abs': absolute", MERR_PARSE },
		{ "empty segment",
		    "Package: a\nSize: 1\nSHA256: " H1 "\nFilename: a\n\n"
		    "Package: b\nFilename: a//b\n",
		    "'idx' line 7: unsafe path 'a//b'",
		    MERR_PARSE },
		{ "bad Size", "Package: a\nSize: 1x\nSHA256: " H1
		    "\nFilename: a\n", "'idx' line 2: invalid Size '1x'",
		    MERR_PARSE },
		{ "negative Size", "Package: a\nSize: -1\nSHA256: " H1
		    "\nFilename: a\n", "line 2: invalid Size", MERR_PARSE },
		{ "short SHA256", "Package: a\nSize: 1\nSHA256: abc\n"
		    "Filename: a\n", "'idx' line 3: invalid SHA256 'abc'",
		    MERR_PARSE },
		{ "duplicate Filename", "Package: a\nSize: 1\nSHA256: " H1
		    "\nFilename: a\nFILENAME: b\n",
		    "'idx' line 5: duplicate field 'Filename'", MERR_PARSE },
		{ "continuation outside paragraph", "\n continued\n",
		    "'idx' line 2: continuation line", MERR_PARSE },
	};
	struct got g;
	struct merr err;
	uint64_t npara;
	size_t k;
	int rc;

	for (k = 0; k < ARRAY_SIZE(t); k++) {
		memset(&g, 0, sizeof(g));
		memset(&err, 0, sizeof(err));
		rc = parse_mem(t[k].text, strlen(t[k].text), INDEX_PACKAGES,
		    &g, &npara, &err);
		is_int(rc, t[k].rc, "%s: error code", t[k].what);
		ok(has(&err, t[k].msg), "%s: message", t[k].what);
		got_release(&g);
	}
}

/* CRLF, blank lines of blanks, comments, no final newline. */
static void
test_packages_forms(void)
{
	const char *text =
	    "Package: a\r\nFilename: pool/a.deb\r\nSize: 10\r\nSHA256: " H1
	    "\r\nDescription: x\r\n y\r\n\r\n"
	    "  \t\r\n"
	    "Package: b\r\nfilename:pool/b.deb  \r\nSIZE:\t20\r\n"
	    "Sha256: " H2 "  \r\n \t \r\n"
	    "# a comment\n"
	    "Package: c\nFilename: pool/c.deb\nSize: 30\nSHA256: " H3;
	unsigned char h[HASH_LEN];
	struct buf big = BUF_INIT;
	struct got g;
	struct merr err;
	uint64_t npara = 0;
	int rc;

	memset(&g, 0, sizeof(g));
	rc = parse_mem(text, strlen(text), INDEX_PACKAGES, &g, &npara, &err);
	is_int(rc, 0, "CRLF etc.: parses%s%s", rc ? ": " : "",
	    rc ? err.msg : "");
	is_int(npara, 3, "CRLF etc.: 3 paragraphs");
	is_int(g.n, 3, "CRLF etc.: 3 entries");
	if (g.n == 3) {
		is_str(g.paths[0], "pool/a.deb", "CRLF: path without CR");
		is_str(g.paths[1], "pool/b.deb", "no space, trailing blanks");
		is_str(g.paths[2], "pool/c.deb", "no final newline");
		is_int(g.size[0] + g.size[1] + g.size[2], 60, "sizes");
		hash_from_hex(H2, HASH_HEX_LEN, h);
		ok(memcmp(g.hash[1], h, HASH_LEN) == 0, "upper-case hex");
	}
	got_release(&g);

	/* Empty input: no paragraphs, no error. */
	memset(&g, 0, sizeof(g));
	npara = 7;
	rc = parse_mem("", 0, INDEX_PACKAGES, &g, &npara, &err);
	ok(rc == 0 && npara == 0 && g.n == 0, "empty input");
	got_release(&g);

	/* A paragraph over 1 MiB (many short lines) is MERR_LIMIT. */
	buf_adds(&big, "Package: big\nDescription: x\n");
	while (big.len < 1100 * 1024)
		buf_adds(&big, " a description line of some length, repeated "
		    "until the paragraph is too large\n");
	memset(&g, 0, sizeof(g));
	rc = parse_mem(big.p, big.len, INDEX_PACKAGES, &g, &npara, &err);
	is_int(rc, MERR_LIMIT, "paragraph over 1 MiB: MERR_LIMIT");
	ok(has(&err, "'idx' line ") && has(&err, "paragraph longer"),
	    "paragraph over 1 MiB: message names the line");
	got_release(&g);

	/* One 2 MiB line without a newline. */
	buf_reset(&big);
	buf_adds(&big, "Package: big\nDescription: ");
	while (big.len < 2 * 1024 * 1024)
		buf_adds(&big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	memset(&g, 0, sizeof(g));
	rc = parse_mem(big.p, big.len, INDEX_PACKAGES, &g, &npara, &err);
	is_int(rc, MERR_LIMIT, "2 MiB line: MERR_LIMIT");
	ok(has(&err, "'idx' line 2: paragraph longer"),
	    "2 MiB line: message names line 2");
	got_release(&g);

	/* Just under 1 MiB is fine. */
	buf_reset(&big);
	buf_adds(&big, "Package: a\nFilename: a\nSize: 1\nSHA256: " H1
	    "\nDescription: x\n");
	while (big.len < 1000 * 1024)
		buf_adds(&big, " a description line\n");
	buf_adds(&big, "\nPackage: b\nFilename: b\nSize: 1\nSHA256: " H1 "\n");
	memset(&g, 0, sizeof(g));
	rc = parse_mem(big.p, big.len, INDEX_PACKAGES, &g, &npara, &err);
	ok(rc == 0 && g.n == 2, "paragraph under 1 MiB is fine");
	got_release(&g);
	buf_release(&big);
}

static void
test_sources(void)
{
	const char *text =
	    "Package: hello\nBinary: hello\nVersion: 2.10-3\n"
	    "Maintainer: Santiago Vila <sanvila@debian.org>\n"
	    "Format: 3.0 (quilt)\n"
	    "Files:\n 0123456789abcdef0123456789abcdef 1950 hello_2.10-3.dsc\n"
	    "Checksums-Sha256:\n"
	    " " H1 " 1950 hello_2.10-3.dsc\n"
	    " " H2 " 725946 hello_2.10.orig.tar.gz\n"
	    "\t" H3 "  12688\thello_2.10-3.debian.tar.xz\n"
	    "Homepage: http://www.gnu.org/software/hello/\n"
	    "Directory: pool/main/h/hello\nPriority: source\n\n"
	    "Package: zlib\nDirectory: pool/main/z/zlib\n"
	    "checksums-sha256: " H3 " 1 zlib_1.3.dsc\n"
	    " " H2 " 2 zlib_1.3.orig.tar.gz\n"
	    " " H1 " 3 zlib_1.3-1.debian.tar.xz\n";
	static const char *want[6] = {
		"pool/main/h/hello/hello_2.10-3.dsc",
		"pool/main/h/hello/hello_2.10.orig.tar.gz",
		"pool/main/h/hello/hello_2.10-3.debian.tar.xz",
		"pool/main/z/zlib/zlib_1.3.dsc",
		"pool/main/z/zlib/zlib_1.3.orig.tar.gz",
		"pool/main/z/zlib/zlib_1.3-1.debian.tar.xz",
	};
	static const struct {
		const char *what, *text, *msg;
	} bad[] = {
		{ "name with '/'", "Package: x\nDirectory: pool/x\n"
		    "Checksums-Sha256:\n " H1 " 1 x.dsc\n " H1 " 2 ../x.dsc\n",
		    "'idx' line 5: file name with '/' '../x.dsc'" },
		{ "missing Directory", "Package: x\n"
		    "Checksums-Sha256:\n " H1 " 1 x.dsc\n",
		    "'idx' line 1: source package without Directory" },
		{ "missing Checksums-Sha256", "\n\nPackage: x\nDirectory: p\n"
		    "Files:\n 0123 1 x.dsc\n",
		    "'idx' line 3: source package without Checksums-Sha256" },
		{ "bad Directory", "Package: x\nDirectory: ../../etc\n"
		    "Checksums-Sha256:\n " H1 " 1 passwd\n",
		    "'idx' line 4: unsafe path '../../etc/passwd'" },
		{ "two words", "Package: x\nDirectory: p\n"
		    "Checksums-Sha256:\n " H1 " 1\n",
		    "'idx' line 4: invalid Checksums-Sha256 line" },
		{ "four words", "Package: x\nDirectory: p\n"
		    "Checksums-Sha256:\n " H1 " 1 a b\n",
		    "'idx' line 4: invalid Checksums-Sha256 line" },
		{ "bad size", "Package: x\nDirectory: p\n"
		    "Checksums-Sha256:\n " H1 " 1k a\n",
		    "'idx' line 4: invalid size '1k'" },
	};
	unsigned char h[HASH_LEN];
	struct got g;
	struct merr err;
	uint64_t npara = 0;
	size_t k;
	int rc;

	memset(&g, 0, sizeof(g));
	rc = parse_mem(text, strlen(text), INDEX_SOURCES, &g, &npara, &err);
	is_int(rc, 0, "sources: parses%s%s", rc ? ": " : "", rc ? err.msg : "");
	is_int(npara, 2, "sources: 2 source packages");
	is_int(g.n, 6, "sources: 6 files");
	for (k = 0; k < 6 && k < g.n; k++)
		is_str(g.paths[k], want[k], "sources: file %zu", k);
	if (g.n == 6) {
		is_int(g.size[1], 725946, "sources: size");
		is_int(g.size[2], 12688, "sources: size after tab");
		hash_from_hex(H3, HASH_HEX_LEN, h);
		ok(memcmp(g.hash[2], h, HASH_LEN) == 0 &&
		    memcmp(g.hash[3], h, HASH_LEN) == 0, "sources: hashes");
	}
	got_release(&g);

	/* A Packages scan of the same text finds no Filename. */
	memset(&g, 0, sizeof(g));
	rc = parse_mem(text, strlen(text), INDEX_PACKAGES, &g, &npara, &err);
	is_int(rc, MERR_PARSE, "sources as packages: MERR_PARSE");
	got_release(&g);

	for (k = 0; k < ARRAY_SIZE(bad); k++) {
		memset(&g, 0, sizeof(g));
		memset(&err, 0, sizeof(err));
		rc = parse_mem(bad[k].text, strlen(bad[k].text), INDEX_SOURCES,
		    &g, &npara, &err);
		is_int(rc, MERR_PARSE, "sources %s: MERR_PARSE", bad[k].what);
		ok(has(&err, bad[k].msg), "sources %s: message", bad[k].what);
		got_release(&g);
	}
}

static int
count_cb(void *ctx, const struct index_entry *e, struct merr *err)
{
	(*(uint64_t *)ctx)++;
	return 0;
}

static int
bench(const char *path)
{
	const char *base = strrchr(path, '/');
	enum index_kind kind;
	struct merr err;
	uint64_t n = 0, npara = 0;
	double t0;
	int fd, rc;

	base = base ? base + 1 : path;
	kind = strstr(base, "Sources") ? INDEX_SOURCES : INDEX_PACKAGES;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return 2;
	}
	t0 = now();
	rc = index_parse_fd(fd, comp_from_name(path), (uint64_t)1 << 34, kind,
	    path, count_cb, &n, &npara, &err);
	t0 = now() - t0;
	close(fd);
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	printf("%" PRIu64 " entries, %" PRIu64 " paragraphs, %.3f s\n", n,
	    npara, t0);
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--bench") == 0)
		return bench(argv[2]);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_comp();
	test_bomb();	/* first, while the peak RSS is still low */
	test_big();
	test_packages_errors();
	test_packages_forms();
	test_sources();
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
