/*
 * t_diff.c: the package diff of two snapshots (version order: t_version.c).
 *
 * The snapshots are built by hand (no sync, no commit: diff only reads
 * index blobs), with their Packages indices written as blobs (plain,
 * gzip and xz) into a fresh store under a mkdtemp() directory. Blobs that
 * must never be read are simply not written: reading them would fail.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <lzma.h>
#include <unistd.h>
#include <zlib.h>

#include "mirrord/diff.h"
#include "mirrord/hash.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "helpers.h"
#include "tap.h"

/* --- helpers ------------------------------------------------------------ */

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
xz_compress(const void *data, size_t len, struct buf *out)
{
	lzma_stream lz = LZMA_STREAM_INIT;
	lzma_ret lr;

	if (lzma_easy_encoder(&lz, 1, LZMA_CHECK_CRC64) != LZMA_OK)
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

/* Stores data as a blob; h gets its hash. */
static void
put_blob(struct store *s, const void *data, size_t len,
    unsigned char h[HASH_LEN])
{
	struct blob_writer w;
	struct merr err;

	hash_buf(data, len, h);
	if (store_blob_begin(s, len, &w, &err) ||
	    store_blob_write(&w, data, len, &err) ||
	    store_blob_finish(&w, h, len, &err)) {
		printf("# put_blob: %s\n", err.msg);
		abort();
	}
}

/*
 * Adds index path to su with the given (uncompressed) text, compressed
 * as path's suffix says and stored in s.
 */
static void
put_index(struct store *s, struct snap_suite *su, const char *path,
    const char *text)
{
	unsigned char h[HASH_LEN];
	struct buf z = BUF_INIT;

	if (str_endswith(path, ".gz")) {
		gz_compress(text, strlen(text), &z);
		put_blob(s, z.p, z.len, h);
	} else if (str_endswith(path, ".xz")) {
		xz_compress(text, strlen(text), &z);
		put_blob(s, z.p, z.len, h);
	} else
		put_blob(s, text, strlen(text), h);
	buf_release(&z);
	snap_suite_add_index(su, path, h);
}

/* Adds an index whose blob is not in the store (must not be read). */
static void
ghost_index(struct snap_suite *su, const char *path, const char *seed)
{
	unsigned char h[HASH_LEN];

	hash_buf(seed, strlen(seed), h);
	snap_suite_add_index(su, path, h);
}

/* Adds empty suites named by names[] (NULL-terminated) to sn. */
static void
add_suites(struct snap *sn, const char *const *names)
{
	size_t i;

	for (i = 0; names[i]; i++) {
		sn->suites = xreallocarray(sn->suites, sn->nsuites + 1,
		    sizeof(*sn->suites));
		memset(&sn->suites[sn->nsuites], 0, sizeof(*sn->suites));
		sn->suites[sn->nsuites++].name = xstrdup(names[i]);
	}
}

static struct snap_suite *
suite(struct snap *sn, const char *name)
{
	return (struct snap_suite *)snap_find_suite(sn, name);
}

static bool
str_eq_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

struct want {
	enum diff_kind kind;
	const char *suite, *package, *arch, *old_version, *new_version;
};

/* Checks d[0..n) against w[0..nw) in order. */
static void
check_entries(const struct diff_entry *d, size_t n, const struct want *w,
    size_t nw, const char *what)
{
	size_t i;
	bool eq;

	is_int(n, nw, "%s: %zu entries", what, nw);
	for (i = 0; i < n && i < nw; i++) {
		eq = d[i].kind == w[i].kind &&
		    str_eq_null(d[i].suite, w[i].suite) &&
		    str_eq_null(d[i].package, w[i].package) &&
		    str_eq_null(d[i].arch, w[i].arch) &&
		    str_eq_null(d[i].old_version, w[i].old_version) &&
		    str_eq_null(d[i].new_version, w[i].new_version);
		ok(eq, "%s: entry %zu is %d %s/%s/%s %s -> %s", what, i,
		    (int)w[i].kind, w[i].suite, w[i].package, w[i].arch,
		    w[i].old_version ? w[i].old_version : "-",
		    w[i].new_version ? w[i].new_version : "-");
		if (!eq)
			printf("#   got %d %s/%s/%s %s -> %s\n", (int)d[i].kind,
			    d[i].suite, d[i].package, d[i].arch,
			    d[i].old_version ? d[i].old_version : "-",
			    d[i].new_version ? d[i].new_version : "-");
	}
}

/* --- diff --------------------------------------------------------------- */

#define P(name, ver, arch) \
	"Package: " name "\nVersion: " ver "\nArchitecture: " arch \
	"\nFilename: pool/x/" name ".deb\nSize: 1\n" \
	"Description: a package\n with a continuation line\n\n"

static void
test_diff(struct store *s)
{
	static const char *const names_a[] = { "old", "bookworm-security",
	    "bookworm", NULL };
	static const char *const names_b[] = { "trixie", "bookworm",
	    "bookworm-security", NULL };
	struct diff_entry sentinel;
	static const struct want w[] = {
		{ DIFF_DOWNGRADED, "bookworm", "down", "amd64", "2.0", "1.9" },
		{ DIFF_UPGRADED, "bookworm", "foo", "amd64", "1.0-1", "1.0-2" },
		{ DIFF_REMOVED, "bookworm", "gone", "amd64", "1.0", NULL },
		{ DIFF_ADDED, "bookworm", "new", "amd64", NULL, "0.1" },
		{ DIFF_UPGRADED, "bookworm", "tilde", "amd64", "1.0~rc1",
		    "1.0" },
		{ DIFF_REMOVED, "old", "a0", "amd64", "2.0", NULL },
		{ DIFF_REMOVED, "old", "a1", "amd64", "1.0", NULL },
		{ DIFF_ADDED, "trixie", "b", "all", NULL, "1" },
		{ DIFF_ADDED, "trixie", "b", "amd64", NULL, "1" },
		{ DIFF_ADDED, "trixie", "z", "amd64", NULL, "1" },
	};
	struct snap a, b;
	struct snap_suite *su;
	struct diff_entry *d;
	struct merr err;
	size_t n;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	add_suites(&a, names_a);
	add_suites(&b, names_b);

	/* bookworm in a. */
	su = suite(&a, "bookworm");
	put_index(s, su, "main/binary-amd64/Packages.xz",
	    P("foo", "1.0-1", "amd64") P("bar", "2.0", "amd64")
	    P("gone", "1.0", "amd64") P("down", "2.0", "amd64")
	    P("same", "0:1.0", "amd64") P("agg", "2.0", "all")
	    P("dup", "1.0", "amd64") P("dup", "0.5", "amd64")
	    P("tilde", "1.0~rc1", "amd64"));
	/* Read after binary-amd64: a lower version must not win. */
	put_index(s, su, "main/binary-all/Packages.gz", P("agg", "1.5", "all"));
	put_index(s, su, "contrib/binary-arm64/Packages",
	    P("foo", "1.0-1", "arm64"));
	/* Not Packages indices: never read (their blobs do not exist). */
	ghost_index(su, "main/binary-amd64/Release", "r");
	ghost_index(su, "main/source/Sources.xz", "s");
	ghost_index(su, "main/i18n/Translation-en.xz", "t");

	/* bookworm in b. */
	su = suite(&b, "bookworm");
	put_index(s, su, "main/binary-amd64/Packages.xz",
	    P("foo", "1.0-2", "amd64") P("bar", "2.0", "amd64")
	    P("down", "1.9", "amd64") P("same", "1.0-0", "amd64")
	    P("agg", "2.0", "all") P("dup", "1.0", "amd64")
	    P("tilde", "1.0", "amd64") P("new", "0.1", "amd64"));
	put_index(s, su, "main/binary-all/Packages.gz", P("agg", "2.0", "all"));
	put_index(s, su, "contrib/binary-arm64/Packages",
	    P("foo", "1.0-1", "arm64"));
	ghost_index(su, "main/source/Sources.xz", "s2");

	/*
	 * bookworm-security: the same Packages hashes on both sides, listed
	 * in another order and under other paths; the blobs do not exist,
	 * so reading them would fail.
	 */
	ghost_index(suite(&a, "bookworm-security"),
	    "main/binary-amd64/Packages.xz", "sec1");
	ghost_index(suite(&a, "bookworm-security"),
	    "main/binary-all/Packages.xz", "sec2");
	ghost_index(suite(&b, "bookworm-security"),
	    "main/binary-all/Packages.gz", "sec2");
	ghost_index(suite(&b, "bookworm-security"),
	    "main/binary-amd64/Packages.gz", "sec1");
	ghost_index(suite(&b, "bookworm-security"),
	    "main/source/Sources.xz", "sec3");	/* not Packages */

	/* Only in a: all removed. Only in b: all added. */
	put_index(s, suite(&a, "old"), "main/binary-amd64/Packages",
	    P("a1", "1.0", "amd64") P("a0", "2.0", "amd64"));
	put_index(s, suite(&b, "trixie"), "main/binary-amd64/Packages.xz",
	    P("z", "1", "amd64") P("b", "1", "amd64") P("b", "1", "all"));

	memset(&err, 0, sizeof(err));
	rc = diff_snapshots(s, &a, &b, &d, &n, &err);
	is_int(rc, 0, "diff a b: %s", rc ? err.msg : "ok");
	if (rc == 0) {
		check_entries(d, n, w, ARRAY_SIZE(w), "diff a b");
		diff_free(d, n);
	}

	/* The reverse diff swaps added/removed and up/downgraded. */
	rc = diff_snapshots(s, &b, &a, &d, &n, &err);
	is_int(rc, 0, "diff b a: %s", rc ? err.msg : "ok");
	if (rc == 0) {
		is_int(n, ARRAY_SIZE(w), "diff b a: as many entries");
		ok(n > 4 && d[0].kind == DIFF_UPGRADED &&
		    d[2].kind == DIFF_ADDED && d[3].kind == DIFF_REMOVED &&
		    d[4].kind == DIFF_DOWNGRADED &&
		    strcmp(d[4].old_version, "1.0") == 0,
		    "diff b a: kinds reversed");
		diff_free(d, n);
	}

	/* A snapshot against itself: nothing changed, nothing read. */
	rc = diff_snapshots(s, &a, &a, &d, &n, &err);
	is_int(rc, 0, "diff a a");
	is_int(n, 0, "diff a a: empty");
	diff_free(d, n);

	/*
	 * Now a security index differs: the suite must be read, and its
	 * missing blob is an error naming suite and index.
	 */
	su = suite(&b, "bookworm-security");
	snap_suite_release(su);
	su->name = xstrdup("bookworm-security");
	ghost_index(su, "main/binary-amd64/Packages.xz", "sec1");
	d = &sentinel;		/* must be reset on error */
	n = 99;
	rc = diff_snapshots(s, &a, &b, &d, &n, &err);
	is_int(rc, MERR_NOTFOUND, "changed suite with a missing blob");
	ok(d == NULL && n == 0, "no output on error");
	ok(strstr(err.msg, "suite 'bookworm-security': ") == err.msg &&
	    strstr(err.msg, "main/binary-amd64/Packages.xz") != NULL,
	    "message names suite and index: %s", err.msg);

	snap_release(&a);
	snap_release(&b);
}

/* A paragraph missing a field: MERR_PARSE naming the index and line. */
static void
test_malformed(struct store *s)
{
	static const char *const names[] = { "x", NULL };
	static const struct {
		const char *text, *field;
	} t[] = {
		{ P("ok", "1", "amd64") "Package: bad\nArchitecture: amd64\n",
		    "Version" },
		{ P("ok", "1", "amd64") "Version: 1\nArchitecture: amd64\n",
		    "Package" },
		{ "Package: bad\nVersion: 1\n", "Architecture" },
		{ "Package: bad\nVersion:\nArchitecture: amd64\n", "Version" },
		{ "Package: bad\nVersion: 1\n 2\nArchitecture: amd64\n",
		    "Version" },
	};
	struct snap a, b;
	struct diff_entry *d;
	struct merr err;
	size_t i, n;
	int rc;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		add_suites(&a, names);
		add_suites(&b, names);
		put_index(s, suite(&b, "x"), "main/binary-amd64/Packages.gz",
		    t[i].text);
		memset(&err, 0, sizeof(err));
		rc = diff_snapshots(s, &a, &b, &d, &n, &err);
		is_int(rc, MERR_PARSE, "malformed %zu: MERR_PARSE", i);
		ok(strstr(err.msg, "main/binary-amd64/Packages.gz") &&
		    strstr(err.msg, t[i].field) &&
		    strstr(err.msg, "suite 'x'"),
		    "malformed %zu: message names index and '%s': %s", i,
		    t[i].field, err.msg);
		snap_release(&a);
		snap_release(&b);
	}
}

/* Many packages: the maps grow; every third one is upgraded. */
static void
test_many(struct store *s)
{
	static const char *const names[] = { "big", NULL };
	struct buf ta = BUF_INIT, tb = BUF_INIT;
	struct snap a, b;
	struct diff_entry *d;
	struct merr err;
	size_t n, i, bad = 0;
	int rc, k, nk = 5000;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	add_suites(&a, names);
	add_suites(&b, names);
	for (k = 0; k < nk; k++) {
		buf_addf(&ta, "Package: p%05d\nVersion: 1.%d\n"
		    "Architecture: amd64\n\n", k, k);
		buf_addf(&tb, "Package: p%05d\nVersion: 1.%d%s\n"
		    "Architecture: amd64\n\n", k, k, k % 3 ? "" : "+b1");
	}
	put_index(s, suite(&a, "big"), "main/binary-amd64/Packages.xz", ta.p);
	put_index(s, suite(&b, "big"), "main/binary-amd64/Packages.xz", tb.p);
	rc = diff_snapshots(s, &a, &b, &d, &n, &err);
	is_int(rc, 0, "many: %s", rc ? err.msg : "ok");
	is_int(n, (nk + 2) / 3, "many: every third package upgraded");
	for (i = 0; rc == 0 && i < n; i++) {
		char want[16];

		snprintf(want, sizeof(want), "p%05zu", i * 3);
		if (d[i].kind != DIFF_UPGRADED ||
		    strcmp(d[i].package, want) != 0)
			bad++;
	}
	is_int(bad, 0, "many: sorted upgrades of p00000, p00003...");
	if (rc == 0)
		diff_free(d, n);
	buf_release(&ta);
	buf_release(&tb);
	snap_release(&a);
	snap_release(&b);
}

int
main(void)
{
	char *dir;
	struct store *s;
	struct merr err;
	char *sdir;


	dir = helpers_tmpdir_new("t_diff");
	if (dir == NULL)
		return 1;
	sdir = xasprintf("%s/store", dir);
	if (store_open(sdir, true, &s, &err)) {
		printf("# store_open: %s\n", err.msg);
		return 1;
	}
	test_diff(s);
	test_malformed(s);
	test_many(s);
	store_close(s);
	free(sdir);
	helpers_tmpdir_free(dir);
	return tap_done();
}
