/*
 * t_decomp.c: compression (comp_encode) against mirrord's own decoder
 * and, when installed, gzip(1) and xz(1): round trips of empty, small and
 * multi-MiB texts at the chosen and explicit levels, the same bytes for
 * the same text (by-hash names depend on it), a gzip header without name
 * or time, and the arguments comp_encode refuses.
 */
#include "mirrord/common.h"

#include <fcntl.h>
#include <unistd.h>

#include "mirrord/decomp.h"
#include "helpers.h"
#include "tap.h"

static char *dir;

/* Writes data to dir/name; returns its path (owned) or NULL. */
static char *
put(const char *name, const void *data, size_t len)
{
	struct merr err;
	char *p = xasprintf("%s/%s", dir, name);

	if (write_file_atomic(p, data, len, 0600, &err) != 0) {
		printf("# %s\n", err.msg);
		free(p);
		return NULL;
	}
	return p;
}

/* Decompresses blob (format c) with decomp_read; 0 and *out, or the code. */
static int
decode(enum comp c, const struct buf *blob, size_t max, struct buf *out)
{
	struct merr err = { 0, "" };
	char *p = put("blob", blob->p, blob->len), chunk[65536];
	struct decomp *r;
	ssize_t n;
	int fd;

	if (p == NULL)
		return MERR_IO;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return MERR_IO;
	r = decomp_new(fd, c, max, "blob");
	while ((n = decomp_read(r, chunk, sizeof(chunk), &err)) > 0)
		buf_add(out, chunk, (size_t)n);
	decomp_free(r);
	close(fd);
	if (n < 0)
		printf("# %s\n", err.msg);
	return (int)n;
}

/* A Packages-like text of about n bytes: compressible, not trivially. */
static void
text_of(size_t n, struct buf *t)
{
	unsigned i;

	for (i = 0; t->len < n; i++)
		buf_addf(t, "Package: pkg%u\nVersion: 1.%u-%u\nArchitecture: "
		    "amd64\nSize: %u\nSHA256: %08x%08x\n\n", i, i % 97, i % 5,
		    (i * 7919u) % 100000, i * 2654435761u, i ^ 0x5bd1e995u);
}

static const char *
name_of(enum comp c)
{
	return c == COMP_GZ ? "gz" : "xz";
}

static void
round_trip(enum comp c, const struct buf *t, int level, const char *what)
{
	struct merr err = { 0, "" };
	struct buf z = BUF_INIT, z2 = BUF_INIT, back = BUF_INIT;
	int rc;

	rc = comp_encode(c, t->p, t->len, level, &z, &err);
	is_int(rc, 0, "%s %s level %d: encodes (%s)", name_of(c), what, level,
	    err.msg);
	ok(z.len > 0 && (t->len < 4096 || z.len < t->len / 2),
	    "%s %s: compressed (%zu -> %zu bytes)", name_of(c), what, t->len,
	    z.len);
	rc = decode(c, &z, t->len, &back);
	is_int(rc, 0, "%s %s: decodes to the end within its size", name_of(c),
	    what);
	ok(back.len == t->len &&
	    (t->len == 0 || memcmp(back.p, t->p, t->len) == 0),
	    "%s %s: the exact text back", name_of(c), what);
	/* Appends to what out holds; the same text, the same bytes. */
	buf_add(&z2, "x", 1);
	rc = comp_encode(c, t->p, t->len, level, &z2, &err);
	ok(rc == 0 && z2.len == z.len + 1 && z2.p[0] == 'x' &&
	    memcmp(z2.p + 1, z.p, z.len) == 0,
	    "%s %s: appends; same bytes the second time", name_of(c), what);
	buf_release(&z);
	buf_release(&z2);
	buf_release(&back);
}

/* gzip(1) or xz(1) reads it back too, if installed. */
static void
external(enum comp c, const struct buf *t, const char *what)
{
	struct merr err = { 0, "" };
	struct buf z = BUF_INIT;
	char *zp, *cmd, *back = NULL;
	size_t blen = 0;
	const char *tool = c == COMP_GZ ? "gzip" : "xz";

	cmd = xasprintf("command -v %s >/dev/null 2>&1", tool);
	if (system(cmd) != 0) {
		printf("ok %d - # SKIP %s not installed\n", ++tap_n, tool);
		printf("ok %d - # SKIP %s not installed\n", ++tap_n, tool);
		free(cmd);
		return;
	}
	free(cmd);
	comp_encode(c, t->p, t->len, COMP_LEVEL_AUTO, &z, &err);
	zp = put(c == COMP_GZ ? "e.gz" : "e.xz", z.p, z.len);
	cmd = xasprintf("%s -dc %s > %s/e.out", tool, zp, dir);
	ok(zp != NULL && system(cmd) == 0, "%s -dc accepts the %s one", tool,
	    what);
	free(cmd);
	free(zp);
	cmd = xasprintf("%s/e.out", dir);
	if (read_file(cmd, t->len + 1, &back, &blen, &err) != 0)
		back = NULL;
	ok(back != NULL && blen == t->len && memcmp(back, t->p, blen) == 0,
	    "%s -dc gives the exact %s text", tool, what);
	free(cmd);
	free(back);
	buf_release(&z);
}

static void
test_header(void)
{
	struct merr err = { 0, "" };
	struct buf z = BUF_INIT;
	const unsigned char *p;

	comp_encode(COMP_GZ, "hello\n", 6, COMP_LEVEL_AUTO, &z, &err);
	p = (const unsigned char *)z.p;
	ok(z.len > 18 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8,
	    "gz: gzip magic and deflate");
	ok(z.len > 18 && p[3] == 0, "gz: no name, comment or extra field");
	ok(z.len > 18 && p[4] == 0 && p[5] == 0 && p[6] == 0 && p[7] == 0,
	    "gz: mtime 0");
	buf_reset(&z);
	comp_encode(COMP_XZ, "hello\n", 6, COMP_LEVEL_AUTO, &z, &err);
	p = (const unsigned char *)z.p;
	ok(z.len > 12 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0 && p[7] == 4,
	    "xz: xz magic, CRC64 check");
	buf_release(&z);
}

static void
test_refused(void)
{
	struct merr err = { 0, "" };
	struct buf z = BUF_INIT;

	is_int(comp_encode(COMP_OTHER, "a", 1, 6, &z, &err), MERR_INVAL,
	    "COMP_OTHER refused");
	is_int(comp_encode(COMP_NONE, "a", 1, 6, &z, &err), MERR_INVAL,
	    "COMP_NONE refused");
	is_int(comp_encode(COMP_GZ, "a", 1, 0, &z, &err), MERR_INVAL,
	    "gz level 0 refused");
	is_int(comp_encode(COMP_XZ, "a", 1, 10, &z, &err), MERR_INVAL,
	    "xz preset 10 refused");
	ok(strstr(err.msg, "level 10") != NULL, "message names the level: %s",
	    err.msg);
	buf_release(&z);
}

static void
test_levels(void)
{
	is_int(comp_level(COMP_GZ, 1000), 6, "gz: small text, level 6");
	is_int(comp_level(COMP_GZ, COMP_GZ_FAST_ABOVE + 1), 1,
	    "gz: large text, level 1");
	is_int(comp_level(COMP_XZ, COMP_XZ_FAST_ABOVE), 6,
	    "xz: up to the threshold, preset 6");
	is_int(comp_level(COMP_XZ, COMP_XZ_FAST_ABOVE + 1), 0,
	    "xz: above it, preset 0");
}

int
main(void)
{
	static const enum comp cs[] = { COMP_GZ, COMP_XZ };
	struct buf empty = BUF_INIT, small = BUF_INIT, big = BUF_INIT;
	struct buf huge = BUF_INIT;
	size_t i;

	dir = helpers_tmpdir_new("t_decomp");
	if (dir == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	text_of(3000, &small);
	/* Above both thresholds: the fast levels. */
	text_of(COMP_GZ_FAST_ABOVE + 100000, &big);
	for (i = 0; i < ARRAY_SIZE(cs); i++) {
		round_trip(cs[i], &empty, COMP_LEVEL_AUTO, "empty");
		round_trip(cs[i], &small, COMP_LEVEL_AUTO, "small");
		round_trip(cs[i], &small, 1, "small");
		round_trip(cs[i], &small, 9, "small");
		round_trip(cs[i], &big, COMP_LEVEL_AUTO, "big");
		external(cs[i], &small, "small");
		external(cs[i], &big, "big");
	}
	/* Over 8 MiB: gzip in 4 MiB blocks on threads, one stream. */
	text_of(((size_t)21 << 20) + 12345, &huge);
	round_trip(COMP_GZ, &huge, COMP_LEVEL_AUTO, "huge (blocks)");
	external(COMP_GZ, &huge, "huge (blocks)");
	buf_release(&huge);
	test_header();
	test_refused();
	test_levels();
	buf_release(&empty);
	buf_release(&small);
	buf_release(&big);
	helpers_tmpdir_free(dir);
	return tap_done();
}
