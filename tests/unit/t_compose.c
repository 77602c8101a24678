/*
 * t_compose.c: composed snapshots' core on a real store (a mkdtemp()
 * directory, a generated signing key): compose_delta's pool difference
 * and counts, compose_spread, compose_write_suite's indices and Release
 * (checked the way a client would: decompressed, verified with the
 * signer's exported key), and a patch of one source into a channel over
 * a 2,000-package suite, whose store cost is counted in rows and blobs
 * as t_snap counts a sync's; then a sync after the patch, whose pool
 * membership must be exactly what its index says.
 *
 * Index blobs are real Packages texts; the pool files they name are not
 * stored (a pool blob is only a hash and a size to the rows).
 */
#include "mirrord/common.h"

#include <unistd.h>

#include "mirrord/channel.h"
#include "mirrord/compose.h"
#include "mirrord/conf.h"
#include "mirrord/decomp.h"
#include "mirrord/gpg.h"
#include "mirrord/patch.h"
#include "mirrord/pkgset.h"
#include "mirrord/pool.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "helpers.h"
#include "tap.h"

#define MIRROR "m"
#define DATE 1780000000		/* Thu, 28 May 2026 20:26:40 UTC */
#define NSRC 1000		/* sources of the big suite, 2 binaries each */
#define NVER 3			/* versions 1.0-1 .. 1.0-3 of each */

struct fix {
	char *root;
	struct store *s;
	struct gpg_signer *g;
	struct gpg_verifier *v;
};

/* --- pool files and paragraphs ------------------------------------------ */

/* The fake pool file of a package: path, hash (of the path) and size. */
static void
pool_file(const char *pkg, const char *src, const char *ver,
    const char *arch, char *path, size_t n)
{
	snprintf(path, n, "pool/main/%c/%s/%s_%s_%s.deb", src[0], src, pkg,
	    ver, arch);
}

static uint64_t
file_size(const char *path)
{
	return 1000 + strlen(path) * 3;
}

/*
 * Appends a Packages paragraph (and its blank line) naming its fake pool
 * file; extra (may be NULL) is more complete lines before Filename.
 */
static void
para_add(struct buf *b, const char *pkg, const char *src, const char *ver,
    const char *arch, const char *extra)
{
	unsigned char h[HASH_LEN];
	char hex[HASH_HEX_LEN + 1], path[256];

	pool_file(pkg, src ? src : pkg, ver, arch, path, sizeof(path));
	hash_buf(path, strlen(path), h);
	hash_to_hex(h, hex);
	buf_addf(b, "Package: %s\n", pkg);
	if (src)
		buf_addf(b, "Source: %s\n", src);
	buf_addf(b, "Version: %s\nArchitecture: %s\n%sFilename: %s\n"
	    "Size: %llu\nSHA256: %s\n\n", ver, arch, extra ? extra : "", path,
	    (unsigned long long)file_size(path), hex);
}

/* --- suites and snapshots ----------------------------------------------- */

/* Stores len bytes as a blob and lists it in su as path (and as index). */
static int
add_blob(struct store *s, struct snap_suite *su, const char *path,
    const void *data, size_t len, bool index, struct merr *err)
{
	unsigned char h[HASH_LEN];
	int rc = store_put_mem(s, data, len, h, err);

	if (rc)
		return rc;
	snap_suite_add_file(su, path, h, len);
	if (index)
		snap_suite_add_index(su, path, h);
	return 0;
}

/* The same, a buf compressed as path's suffix says (plain, .gz). */
static int
add_index(struct store *s, struct snap_suite *su, const char *path,
    const struct buf *text, struct merr *err)
{
	struct buf z = BUF_INIT;
	int rc;

	if (comp_from_name(path) == COMP_NONE)
		return add_blob(s, su, path, text->p, text->len, true, err);
	rc = comp_encode(comp_from_name(path), text->p, text->len,
	    COMP_LEVEL_AUTO, &z, err);
	if (rc == 0)
		rc = add_blob(s, su, path, z.p, z.len, true, err);
	buf_release(&z);
	return rc;
}

/* An upstream Release of suite name, listing one index. */
static int
add_release(struct store *s, struct snap_suite *su, const char *index,
    struct merr *err)
{
	const struct snap_file *f = snap_suite_file(su, index);
	char hex[HASH_HEX_LEN + 1], *rel;
	int rc;

	if (f)
		hash_to_hex(f->hash, hex);
	rel = xasprintf("Origin: Test\nLabel: Test archive\nSuite: %s\n"
	    "Codename: test\nDate: Sat, 01 Jun 2024 12:00:00 UTC\n"
	    "Architectures: amd64 arm64\nComponents: main\nSHA256:\n"
	    " %s %llu %s\n", su->name, f ? hex : "00",
	    f ? (unsigned long long)f->size : 0ull, index);
	rc = add_blob(s, su, "Release", rel, strlen(rel), false, err);
	free(rel);
	return rc;
}

/* sn, zeroed, with n empty suites named by names. */
static void
snap_init(struct snap *sn, const char *const *names, size_t n)
{
	size_t i;

	memset(sn, 0, sizeof(*sn));
	sn->suites = xcalloc(n, sizeof(*sn->suites));
	sn->nsuites = n;
	for (i = 0; i < n; i++)
		sn->suites[i].name = xstrdup(names[i]);
}

/* A blob's bytes, decompressed as path says (owned), NULL on error. */
static char *
blob_text(struct store *s, const struct snap_file *f, size_t *len)
{
	struct merr err = { 0, "" };
	struct buf b = BUF_INIT;
	struct decomp *r;
	char chunk[65536];
	ssize_t n;
	int fd;

	*len = 0;
	if (f == NULL)
		return NULL;
	fd = store_blob_open(s, f->hash, &err);
	if (fd < 0)
		return NULL;
	r = decomp_new(fd, comp_from_name(f->path), 64u << 20, f->path);
	while ((n = decomp_read(r, chunk, sizeof(chunk), &err)) > 0)
		buf_add(&b, chunk, (size_t)n);
	decomp_free(r);
	close(fd);
	buf_addc(&b, '\0');
	if (n < 0) {
		buf_release(&b);
		return NULL;
	}
	*len = b.len - 1;
	return buf_detach(&b, NULL);
}

static bool
same_file(const struct snap_file *a, const struct snap_file *b)
{
	return a && b && a->size == b->size &&
	    memcmp(a->hash, b->hash, HASH_LEN) == 0;
}

/* Moves a blob's file away (back with restore true): what reads it fails. */
static bool
blob_hide(struct store *s, const unsigned char h[HASH_LEN], bool restore)
{
	char *p = store_blob_path(s, h), *q = xasprintf("%s.away", p);
	bool ok = restore ? rename(q, p) == 0 : rename(p, q) == 0;

	free(p);
	free(q);
	return ok;
}

/* --- 1. compose_delta ---------------------------------------------------- */

struct seen {
	struct buf lines;	/* "path n\n" per entry */
	size_t bad;		/* entries whose hash or size is not the path's */
	size_t calls, firsts;	/* compose_entry_fn */
};

static int
seen_entry(void *ctx, const char *path, const unsigned char h[HASH_LEN],
    uint64_t size, int n, struct merr *err)
{
	struct seen *sc = ctx;
	unsigned char want[HASH_LEN];

	hash_buf(path, strlen(path), want);
	if (memcmp(h, want, HASH_LEN) != 0 || size != file_size(path))
		sc->bad++;
	buf_addf(&sc->lines, "%s %+d\n", path, n);
	return 0;
}

static int
seen_fn(void *ctx, const char *suite, const struct index_entry *e,
    bool first, struct merr *err)
{
	struct seen *sc = ctx;

	sc->calls++;
	sc->firsts += first;
	return 0;
}

static int
line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The delta's entries with a non-zero count, one per line, sorted. */
static char *
delta_lines(const struct snap_delta *d, struct seen *sc)
{
	char **v = NULL, *p, *nl;
	struct buf out = BUF_INIT;
	size_t n = 0, i;

	buf_reset(&sc->lines);
	sc->bad = 0;
	if (snap_delta_each(d, seen_entry, sc, NULL) != 0)
		return xstrdup("(error)");
	buf_addc(&sc->lines, '\0');
	for (p = sc->lines.p; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrndup(p, (size_t)(nl - p + 1));
	}
	qsort(v, n, sizeof(*v), line_cmp);
	buf_adds(&out, "");
	for (i = 0; i < n; i++)
		buf_adds(&out, v[i]);
	strv_free(v, n);
	return buf_detach(&out, NULL);
}

static const struct snap_index *
find_index(const struct snap *sn, const char *path)
{
	return compose_find_index(&sn->suites[0], path);
}

/*
 * Old: main amd64 {a (all), b 1, c}, contrib {x, y}, non-free {z}.
 * New: main amd64 as .gz {a, b 2, d}, contrib the same blob, a new main
 * arm64 {a (all), e}, no non-free.
 */
static int
delta_snaps(struct fix *x, struct snap *a, struct snap *b, struct merr *err)
{
	static const char *const stable[] = { "stable" };
	struct buf t = BUF_INIT;
	int rc;

	snap_init(a, stable, 1);
	snap_init(b, stable, 1);
	para_add(&t, "a", NULL, "1.0", "all", NULL);
	para_add(&t, "b", NULL, "1.0", "amd64", NULL);
	para_add(&t, "c", NULL, "1.0", "amd64", NULL);
	rc = add_index(x->s, &a->suites[0], "main/binary-amd64/Packages", &t,
	    err);
	buf_reset(&t);
	para_add(&t, "x", NULL, "1.0", "amd64", NULL);
	para_add(&t, "y", NULL, "1.0", "amd64", NULL);
	rc = rc ? rc : add_index(x->s, &a->suites[0],
	    "contrib/binary-amd64/Packages", &t, err);
	rc = rc ? rc : add_index(x->s, &b->suites[0],
	    "contrib/binary-amd64/Packages", &t, err);
	buf_reset(&t);
	para_add(&t, "z", NULL, "1.0", "amd64", NULL);
	rc = rc ? rc : add_index(x->s, &a->suites[0],
	    "non-free/binary-amd64/Packages", &t, err);
	buf_reset(&t);
	para_add(&t, "a", NULL, "1.0", "all", NULL);
	para_add(&t, "b", NULL, "2.0", "amd64", NULL);
	para_add(&t, "d", NULL, "1.0", "amd64", NULL);
	rc = rc ? rc : add_index(x->s, &b->suites[0],
	    "main/binary-amd64/Packages.gz", &t, err);
	buf_reset(&t);
	para_add(&t, "a", NULL, "1.0", "all", NULL);
	para_add(&t, "e", NULL, "1.0", "arm64", NULL);
	rc = rc ? rc : add_index(x->s, &b->suites[0],
	    "main/binary-arm64/Packages", &t, err);
	buf_release(&t);
	return rc;
}

static void
test_delta(struct fix *x)
{
	static const char want_first[] =
	    "pool/main/a/a/a_1.0_all.deb +1\n"
	    "pool/main/b/b/b_1.0_amd64.deb +1\n"
	    "pool/main/c/c/c_1.0_amd64.deb +1\n"
	    "pool/main/x/x/x_1.0_amd64.deb +1\n"
	    "pool/main/y/y/y_1.0_amd64.deb +1\n"
	    "pool/main/z/z/z_1.0_amd64.deb +1\n";
	/* a: -1 +1 in main amd64, +1 in the new arm64 index. */
	static const char want[] =
	    "pool/main/a/a/a_1.0_all.deb +1\n"
	    "pool/main/b/b/b_1.0_amd64.deb -1\n"
	    "pool/main/b/b/b_2.0_amd64.deb +1\n"
	    "pool/main/c/c/c_1.0_amd64.deb -1\n"
	    "pool/main/d/d/d_1.0_amd64.deb +1\n"
	    "pool/main/e/e/e_1.0_arm64.deb +1\n"
	    "pool/main/z/z/z_1.0_amd64.deb -1\n";
	struct merr err = { 0, "" };
	struct seen sc = { BUF_INIT, 0, 0, 0 };
	struct snap a, b;
	struct snap_delta *d;
	struct snap_index *ci;
	const struct snap_index *ix;
	char *got;
	int rc;

	rc = delta_snaps(x, &a, &b, &err);
	ok(rc == 0, "delta: two snapshots' indices stored (%s)",
	    rc ? err.msg : "ok");
	if (rc)
		goto out;

	d = snap_delta_new();
	rc = compose_delta(x->s, NULL, &a, d, seen_fn, &sc, &err);
	is_int(rc, 0, "delta: the first snapshot's (%s)", rc ? err.msg : "ok");
	got = delta_lines(d, &sc);
	is_str(got, want_first, "delta: a first snapshot adds each file once");
	free(got);
	ix = find_index(&a, "main/binary-amd64/Packages");
	ok(ix && ix->npara == 3 && ix->nfiles == 3 && ix->bytes ==
	    file_size("pool/main/a/a/a_1.0_all.deb") +
	    file_size("pool/main/b/b/b_1.0_amd64.deb") +
	    file_size("pool/main/c/c/c_1.0_amd64.deb"),
	    "delta: a parsed index gets npara, nfiles and bytes");
	snap_delta_free(d);

	/* Parsing the same contrib blob again would show: sentinels. */
	ci = (struct snap_index *)find_index(&a,
	    "contrib/binary-amd64/Packages");
	ci->npara = 77;
	ci->nfiles = 78;
	ci->bytes = 79;

	/* A control: a dropped index is parsed, so its blob must be there. */
	ix = find_index(&a, "non-free/binary-amd64/Packages");
	ok(blob_hide(x->s, ix->hash, false), "delta: hide non-free's blob");
	d = snap_delta_new();
	rc = compose_delta(x->s, &a, &b, d, NULL, NULL, &err);
	ok(rc < 0 && strstr(err.msg, "stable/non-free/binary-amd64/Packages")
	    != NULL, "delta: a dropped index's blob is read: the error names "
	    "it (%s)", err.msg);
	snap_delta_free(d);
	ok(blob_hide(x->s, ix->hash, true), "delta: non-free's blob back");

	/* The unchanged index costs nothing: its blob is not even opened. */
	ok(blob_hide(x->s, ci->hash, false), "delta: hide contrib's blob");
	sc.calls = sc.firsts = 0;
	d = snap_delta_new();
	rc = compose_delta(x->s, &a, &b, d, seen_fn, &sc, &err);
	is_int(rc, 0, "delta: without the unchanged index's blob (%s)",
	    rc ? err.msg : "ok");
	ok(blob_hide(x->s, ci->hash, true), "delta: contrib's blob back");
	got = delta_lines(d, &sc);
	is_str(got, want, "delta: exactly the net difference, the changed "
	    "index matched across .gz, the arch-all file counted per index");
	is_int(sc.bad, 0, "delta: each entry has its file's hash and size");
	free(got);
	is_int(sc.calls, 5, "delta: fn sees each file of the parsed new "
	    "indices (3 + 2)");
	is_int(sc.firsts, 4, "delta: ... first once per file (a is in two)");
	ix = find_index(&b, "contrib/binary-amd64/Packages");
	ok(ix && ix->npara == 77 && ix->nfiles == 78 && ix->bytes == 79,
	    "delta: the unchanged index's counts are copied from old's");
	ix = find_index(&b, "main/binary-amd64/Packages.gz");
	ok(ix && ix->npara == 3 && ix->nfiles == 3 && ix->bytes ==
	    file_size("pool/main/a/a/a_1.0_all.deb") +
	    file_size("pool/main/b/b/b_2.0_amd64.deb") +
	    file_size("pool/main/d/d/d_1.0_amd64.deb"),
	    "delta: the changed index's counts are the new text's");
	ix = find_index(&b, "main/binary-arm64/Packages");
	ok(ix && ix->npara == 2 && ix->nfiles == 2,
	    "delta: the new index's counts");
	snap_delta_free(d);
	buf_release(&sc.lines);
out:
	snap_release(&a);
	snap_release(&b);
}

/* --- 2. compose_spread --------------------------------------------------- */

static int
spread_add(struct pkgset *ps, const char *suite, const char *path,
    enum index_kind kind, int layer, const struct buf *t, struct merr *err)
{
	return pkgset_add_index(ps, suite, path, kind, layer,
	    xstrndup(t->p, t->len), t->len, NULL, err);
}

/* sel as "0 1 2 ..." */
static char *
sel_str(const uint8_t *sel, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_adds(&b, "");
	for (i = 0; i < n; i++)
		buf_addf(&b, "%s%u", i ? " " : "", sel[i]);
	return buf_detach(&b, NULL);
}

static void
test_spread(void)
{
	struct merr err = { 0, "" };
	struct pkgset *ps = pkgset_new();
	struct buf t = BUF_INIT;
	uint8_t sel[16];
	char *got;
	int rc;

	/* ids: 0 foo amd64, 1 tool all 1.0 | 2 foo arm64, 3 tool all 1.0 */
	para_add(&t, "foo", NULL, "1.0", "amd64", NULL);
	para_add(&t, "tool", NULL, "1.0", "all", NULL);
	rc = spread_add(ps, "stable", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 0, &t, &err);
	buf_reset(&t);
	para_add(&t, "foo", NULL, "1.0", "arm64", NULL);
	para_add(&t, "tool", NULL, "1.0", "all", NULL);
	rc = rc ? rc : spread_add(ps, "stable", "main/binary-arm64/Packages",
	    INDEX_PACKAGES, 0, &t, &err);
	/* 4: another version; 5: the same one in layer 1; 6: a source. */
	buf_reset(&t);
	para_add(&t, "tool", NULL, "2.0", "all", NULL);
	rc = rc ? rc : spread_add(ps, "updates", "main/binary-arm64/Packages",
	    INDEX_PACKAGES, 0, &t, &err);
	buf_reset(&t);
	para_add(&t, "tool", NULL, "1.0", "all", NULL);
	rc = rc ? rc : spread_add(ps, "stable", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 1, &t, &err);
	buf_reset(&t);
	buf_adds(&t, "Package: tool\nVersion: 1.0\nArchitecture: all\n\n");
	rc = rc ? rc : spread_add(ps, "stable", "main/source/Sources",
	    INDEX_SOURCES, 0, &t, &err);
	buf_release(&t);
	ok(rc == 0 && pkgset_count(ps) == 7, "spread: 7 packages in 5 indices "
	    "(%s)", rc ? err.msg : "ok");
	if (rc || pkgset_count(ps) != 7)
		goto out;

	memset(sel, 0, sizeof(sel));
	sel[0] = sel[1] = 1;
	compose_spread(ps, sel);
	got = sel_str(sel, 7);
	is_str(got, "1 1 0 2 0 0 0", "spread: the arch-all package selected in "
	    "amd64 is kept in arm64 too; foo:arm64, another version, another "
	    "layer and the source are not");
	free(got);
	memset(sel, 0, sizeof(sel));
	sel[3] = 1;
	compose_spread(ps, sel);
	got = sel_str(sel, 7);
	is_str(got, "0 2 0 1 0 0 0", "spread: and the other way round");
	free(got);
	memset(sel, 0, sizeof(sel));
	sel[5] = 1;
	compose_spread(ps, sel);
	got = sel_str(sel, 7);
	is_str(got, "0 0 0 0 0 1 0", "spread: a layer-1 package stays alone");
	free(got);
out:
	pkgset_free(ps);
}

/* --- 3. compose_write_suite ---------------------------------------------- */

/* Sets sel for every package of layer named name at version ver. */
static void
pick(const struct pkgset *ps, uint8_t *sel, int layer, const char *name,
    const char *ver)
{
	size_t i, len;
	const char *p;

	for (i = 0; i < pkgset_count(ps); i++) {
		const struct pkg *k = pkgset_pkg(ps, (uint32_t)i);

		if (pkgset_index(ps, k->index)->layer != layer)
			continue;
		p = pkgset_field(ps, (uint32_t)i, PF_PACKAGE, &len);
		if (len != strlen(name) || memcmp(p, name, len) != 0)
			continue;
		p = pkgset_field(ps, (uint32_t)i, PF_VERSION, &len);
		if (ver == NULL || (len == strlen(ver) &&
		    memcmp(p, ver, len) == 0))
			sel[i] = 1;
	}
}

/* The paragraphs of test_write, each with its blank line. */
struct paras {
	struct buf p1, p2, p3, q1, p2new, p4;
};

static void
paras_init(struct paras *w)
{
	memset(w, 0, sizeof(*w));
	/* Odd spacing and continuation lines must come out as they are. */
	para_add(&w->p1, "p1", NULL, "1.0", "amd64", "Priority: optional\n"
	    "X-Odd:  two  spaces \nDescription: the first\n a continuation\n"
	    " .\n last line\n");
	para_add(&w->p2, "p2", "p2src", "1.0", "amd64", NULL);
	para_add(&w->p3, "p3", NULL, "1.0", "amd64", NULL);
	para_add(&w->q1, "q1", NULL, "1.0", "arm64", NULL);
	para_add(&w->p2new, "p2", "p2src", "2.0", "amd64",
	    "Depends: p1 (>= 1.0)\n");
	para_add(&w->p4, "p4", NULL, "1.0", "amd64", NULL);
}

static void
paras_release(struct paras *w)
{
	buf_release(&w->p1);
	buf_release(&w->p2);
	buf_release(&w->p3);
	buf_release(&w->q1);
	buf_release(&w->p2new);
	buf_release(&w->p4);
}

/*
 * Base: amd64 {p1, p2, p3}, arm64 {q1}, a Translation, upstream's
 * Release files. Ref: amd64 {p4, p2 2.0 (the text's last paragraph,
 * without its blank line)}, arm64 {q1}.
 */
static int
write_snaps(struct fix *x, const struct paras *w, struct snap *base,
    struct snap *ref, struct merr *err)
{
	static const char *const stable[] = { "stable" };
	static const char tr[] = "Package: p1\nDescription-md5: 0123\n"
	    "Description-en: the first\n\n";
	struct buf t = BUF_INIT;
	int rc;

	snap_init(base, stable, 1);
	snap_init(ref, stable, 1);
	buf_add(&t, w->p1.p, w->p1.len);
	buf_add(&t, w->p2.p, w->p2.len);
	buf_add(&t, w->p3.p, w->p3.len);
	rc = add_index(x->s, &base->suites[0], "main/binary-amd64/Packages",
	    &t, err);
	rc = rc ? rc : add_index(x->s, &base->suites[0],
	    "main/binary-arm64/Packages", &w->q1, err);
	rc = rc ? rc : add_blob(x->s, &base->suites[0],
	    "main/i18n/Translation-en", tr, strlen(tr), false, err);
	rc = rc ? rc : add_release(x->s, &base->suites[0],
	    "main/binary-amd64/Packages", err);
	rc = rc ? rc : add_blob(x->s, &base->suites[0], "InRelease",
	    "not signed\n", 11, false, err);
	rc = rc ? rc : add_blob(x->s, &base->suites[0], "Release.gpg",
	    "sig\n", 4, false, err);
	buf_reset(&t);
	buf_add(&t, w->p4.p, w->p4.len);
	buf_add(&t, w->p2new.p, w->p2new.len - 1);
	rc = rc ? rc : add_index(x->s, &ref->suites[0],
	    "main/binary-amd64/Packages", &t, err);
	rc = rc ? rc : add_index(x->s, &ref->suites[0],
	    "main/binary-arm64/Packages", &w->q1, err);
	buf_release(&t);
	return rc;
}

/* The Release files of out: signed by x->g, Date set, fields kept. */
static void
check_signed(struct fix *x, const struct snap_suite *base,
    const struct snap_suite *out)
{
	static const char head[] = "Origin: Test\nLabel: Test archive\n"
	    "Suite: stable\nCodename: test\n"
	    "Date: Thu, 28 May 2026 20:26:40 UTC\n";
	struct merr err = { 0, "" };
	const struct snap_file *rf = snap_suite_file(out, "Release");
	const struct snap_file *pf = snap_suite_file(out,
	    "main/binary-amd64/Packages");
	char *rel, *inr, *sig, *text = NULL, *line, fpr[GPG_FPR_LEN + 1];
	char hex[HASH_HEX_LEN + 1];
	size_t rlen, ilen, slen, tlen = 0;
	int rc;

	rel = blob_text(x->s, rf, &rlen);
	inr = blob_text(x->s, snap_suite_file(out, "InRelease"), &ilen);
	sig = blob_text(x->s, snap_suite_file(out, "Release.gpg"), &slen);
	ok(rel && !same_file(rf, snap_suite_file(base, "Release")),
	    "write: a new Release");
	if (rel == NULL || inr == NULL || sig == NULL || pf == NULL) {
		ok(0, "write: Release, InRelease, Release.gpg and Packages");
		goto out;
	}
	ok(strncmp(rel, head, strlen(head)) == 0, "write: upstream's fields "
	    "kept byte for byte, Date the composition's");
	hash_to_hex(pf->hash, hex);
	line = xasprintf("\n %s %llu main/binary-amd64/Packages\n", hex,
	    (unsigned long long)pf->size);
	ok(strstr(rel, line) != NULL, "write: the Release lists the new "
	    "Packages by its sha256 and size");
	free(line);
	rc = gpg_verify_clearsigned(x->v, inr, ilen, &text, &tlen, fpr, &err);
	is_int(rc, 0, "write: InRelease verifies with the signer's exported "
	    "key (%s)", rc ? err.msg : "ok");
	ok(rc == 0 && tlen == rlen && memcmp(text, rel, rlen) == 0,
	    "write: InRelease signs the Release text");
	is_str(rc == 0 ? fpr : "", gpg_signer_fpr(x->g), "write: signed by "
	    "the signer");
	rc = gpg_verify_detached(x->v, rel, rlen, sig, slen, NULL, &err);
	is_int(rc, 0, "write: Release.gpg verifies over Release (%s)",
	    rc ? err.msg : "ok");
out:
	free(rel);
	free(inr);
	free(sig);
	free(text);
}

/* Each variant of path in su decompresses to want; how many there are. */
static size_t
check_variants(struct fix *x, const struct snap_suite *su, const char *path,
    const struct buf *want, const char *what)
{
	static const char *const sfx[] = { "", ".gz", ".xz" };
	size_t i, n = 0, len;
	char *p, *got;

	for (i = 0; i < ARRAY_SIZE(sfx); i++) {
		p = xasprintf("%s%s", path, sfx[i]);
		got = blob_text(x->s, snap_suite_file(su, p), &len);
		if (got)
			n++;
		ok(got && len == want->len && memcmp(got, want->p, len) == 0,
		    "write: %s: %s", p, what);
		free(got);
		free(p);
	}
	return n;
}

static void
test_write(struct fix *x)
{
	struct merr err = { 0, "" };
	struct pkgset *ps = pkgset_new();
	struct snap base, ref;
	struct snap_suite out;
	struct paras w;
	struct buf want = BUF_INIT;
	const struct snap_suite *bs;
	const struct snap_index *ix;
	uint8_t *sel = NULL;
	bool changed = true;
	size_t i, same = 0;
	int rc;

	paras_init(&w);
	memset(&out, 0, sizeof(out));
	rc = write_snaps(x, &w, &base, &ref, &err);
	rc = rc ? rc : compose_load(x->s, &base, 0, ps, &err);
	rc = rc ? rc : compose_load(x->s, &ref, 1, ps, &err);
	ok(rc == 0 && pkgset_count(ps) == 7, "write: base and ref loaded, 7 "
	    "packages (%s)", rc ? err.msg : "ok");
	if (rc || pkgset_count(ps) != 7)
		goto out;
	bs = &base.suites[0];
	sel = xcalloc(pkgset_count(ps), 1);

	/* Nothing changed: a copy of the base, upstream's signature and all. */
	pick(ps, sel, 0, "p1", NULL);
	pick(ps, sel, 0, "p2", NULL);
	pick(ps, sel, 0, "p3", NULL);
	pick(ps, sel, 0, "q1", NULL);
	rc = compose_write_suite(x->s, x->g, ps, sel, bs, false, DATE, NULL,
	    &out, &changed, &err);
	is_int(rc, 0, "write: base selected (%s)", rc ? err.msg : "ok");
	ok(!changed, "write: nothing changed: *changed is false");
	for (i = 0; i < out.nfiles && i < bs->nfiles; i++)
		same += strcmp(out.files[i].path, bs->files[i].path) == 0 &&
		    same_file(&out.files[i], &bs->files[i]);
	ok(out.nfiles == bs->nfiles && same == bs->nfiles &&
	    out.nindices == bs->nindices, "write: nothing changed: the base's "
	    "files, no new Release");
	snap_suite_release(&out);

	/* Forced: every index written again, byte for byte as upstream's. */
	memset(&out, 0, sizeof(out));
	rc = compose_write_suite(x->s, x->g, ps, sel, bs, true, DATE, NULL,
	    &out, &changed, &err);
	ok(rc == 0 && changed, "write: forced (%s)", rc ? err.msg : "ok");
	buf_add(&want, w.p1.p, w.p1.len);
	buf_add(&want, w.p2.p, w.p2.len);
	buf_add(&want, w.p3.p, w.p3.len);
	check_variants(x, &out, "main/binary-amd64/Packages", &want,
	    "the base's text, byte for byte");
	snap_suite_release(&out);

	/* p2 from the ref: layer 0 in its order, then layer 1. */
	memset(sel, 0, pkgset_count(ps));
	pick(ps, sel, 0, "p1", NULL);
	pick(ps, sel, 0, "p3", NULL);
	pick(ps, sel, 0, "q1", NULL);
	pick(ps, sel, 1, "p2", "2.0");
	memset(&out, 0, sizeof(out));
	rc = compose_write_suite(x->s, x->g, ps, sel, bs, false, DATE, NULL,
	    &out, &changed, &err);
	ok(rc == 0 && changed, "write: p2 from the ref: changed (%s)",
	    rc ? err.msg : "ok");
	if (rc)
		goto out;
	buf_reset(&want);
	buf_add(&want, w.p1.p, w.p1.len);
	buf_add(&want, w.p3.p, w.p3.len);
	buf_add(&want, w.p2new.p, w.p2new.len);
	is_int(check_variants(x, &out, "main/binary-amd64/Packages", &want,
	    "p1, p3 (base), then p2 2.0 (ref), byte for byte"), 3,
	    "write: plain, .gz and .xz");
	ix = compose_find_index(&out, "main/binary-amd64/Packages");
	ok(ix && strcmp(ix->path, "main/binary-amd64/Packages") == 0 &&
	    ix->npara == 3 && same_file(snap_suite_file(&out, ix->path),
	    snap_suite_file(&out, "main/binary-amd64/Packages")),
	    "write: the index names the plain file, 3 paragraphs");
	ok(same_file(snap_suite_file(&out, "main/binary-arm64/Packages"),
	    snap_suite_file(bs, "main/binary-arm64/Packages")) &&
	    !snap_suite_file(&out, "main/binary-arm64/Packages.gz"),
	    "write: the unchanged arm64 index is the base's, not rewritten");
	ok(same_file(snap_suite_file(&out, "main/i18n/Translation-en"),
	    snap_suite_file(bs, "main/i18n/Translation-en")),
	    "write: the Translation is kept");
	check_signed(x, bs, &out);
out:
	snap_suite_release(&out);
	buf_release(&want);
	free(sel);
	pkgset_free(ps);
	paras_release(&w);
	snap_release(&base);
	snap_release(&ref);
}

/* --- 4. a patch's store cost, 5. a sync after it -------------------------- */

/* The big suite: source i at version 1.0-v[i] (0: absent). */
struct state {
	uint8_t v[NSRC];
};

static void
src_names(unsigned i, char src[16], char bin[24], char lib[24])
{
	snprintf(src, 16, "src%04u", i);
	snprintf(bin, 24, "src%04u-bin", i);
	snprintf(lib, 24, "libsrc%04u", i);
}

/* Source i's two paragraphs at version 1.0-k. */
static void
src_paras(struct buf *b, unsigned i, unsigned k)
{
	char src[16], bin[24], lib[24], ver[16], *dep;

	src_names(i, src, bin, lib);
	snprintf(ver, sizeof(ver), "1.0-%u", k);
	dep = xasprintf("Depends: %s (>= %s)\n", lib, ver);
	para_add(b, bin, src, ver, "amd64", dep);
	para_add(b, lib, src, ver, "amd64", NULL);
	free(dep);
}

static void
state_text(const struct state *st, struct buf *b)
{
	unsigned i;

	for (i = 0; i < NSRC; i++)
		if (st->v[i])
			src_paras(b, i, st->v[i]);
}

static size_t
state_packages(const struct state *st)
{
	size_t i, n = 0;

	for (i = 0; i < NSRC; i++)
		n += st->v[i] ? 2 : 0;
	return n;
}

/* The mirror's newest snapshot (any kind); *have false if none. */
static int
load_newest(struct store *s, struct snap *sn, bool *have, struct merr *err)
{
	struct store_txn *t;
	int rc;

	*have = false;
	memset(sn, 0, sizeof(*sn));
	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = snap_load_newest(t, MIRROR, sn, err);
	store_txn_abort(t);
	if (rc == MERR_NOTFOUND)
		return 0;
	*have = rc == 0;
	return rc;
}

static int
load_ref(struct store *s, const char *ref, struct snap *sn,
    struct merr *err)
{
	struct store_txn *t;
	int rc;

	memset(sn, 0, sizeof(*sn));
	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = snap_load(t, MIRROR, ref, sn, err);
	store_txn_abort(t);
	return rc;
}

/*
 * Commits st as a sync would: upstream's Packages.gz and Release, the
 * pool difference against the newest snapshot of any kind.
 */
static int
commit_state(struct fix *x, const struct state *st, struct snap *sn,
    struct merr *err)
{
	static const char *const stable[] = { "stable" };
	struct snap_delta *d = snap_delta_new();
	struct buf t = BUF_INIT;
	struct snap old;
	bool have = false;
	int rc;

	snap_init(sn, stable, 1);
	state_text(st, &t);
	rc = add_index(x->s, &sn->suites[0], "main/binary-amd64/Packages.gz",
	    &t, err);
	rc = rc ? rc : add_release(x->s, &sn->suites[0],
	    "main/binary-amd64/Packages.gz", err);
	rc = rc ? rc : load_newest(x->s, &old, &have, err);
	rc = rc ? rc : compose_delta(x->s, have ? &old : NULL, sn, d, NULL,
	    NULL, err);
	rc = rc ? rc : store_sync(x->s, err);
	rc = rc ? rc : snap_commit(x->s, MIRROR, sn, d, NULL, err);
	if (have)
		snap_release(&old);
	snap_delta_free(d);
	buf_release(&t);
	return rc;
}

/*
 * Pool files of every source and version whose membership at seq is not
 * what st says (found with the path's hash and size iff listed).
 */
static size_t
pool_mismatches(struct fix *x, uint32_t seq, const struct state *st)
{
	struct merr err = { 0, "" };
	struct store_txn *t;
	unsigned char h[HASH_LEN], want[HASH_LEN];
	char src[16], pkg[2][24], ver[16], path[256];
	uint64_t size;
	size_t bad = 0;
	unsigned i, k, b;
	int rc;

	if (store_txn_begin(x->s, false, &t, &err))
		return SIZE_MAX;
	for (i = 0; i < NSRC; i++) {
		src_names(i, src, pkg[0], pkg[1]);
		for (k = 1; k <= NVER; k++) {
			snprintf(ver, sizeof(ver), "1.0-%u", k);
			for (b = 0; b < 2; b++) {
				pool_file(pkg[b], src, ver, "amd64", path,
				    sizeof(path));
				hash_buf(path, strlen(path), want);
				rc = pool_lookup(t, MIRROR, path, seq, h,
				    &size, &err);
				if (st->v[i] == k ? rc == 0 && size ==
				    file_size(path) && memcmp(h, want,
				    HASH_LEN) == 0 : rc == MERR_NOTFOUND)
					continue;
				if (bad++ < 3)
					printf("#   seq %u: '%s': rc %d\n",
					    seq, path, rc);
			}
		}
	}
	store_txn_abort(t);
	return bad;
}

/* Is one pool file of source i at version k in snapshot seq? */
static int
lookup_one(struct fix *x, uint32_t seq, unsigned i, bool lib, unsigned k)
{
	struct merr err = { 0, "" };
	struct store_txn *t;
	unsigned char h[HASH_LEN];
	char src[16], bin[24], libn[24], ver[16], path[256];
	uint64_t size;
	int rc;

	src_names(i, src, bin, libn);
	snprintf(ver, sizeof(ver), "1.0-%u", k);
	pool_file(lib ? libn : bin, src, ver, "amd64", path, sizeof(path));
	rc = store_txn_begin(x->s, false, &t, &err);
	if (rc)
		return rc;
	rc = pool_lookup(t, MIRROR, path, seq, h, &size, &err);
	store_txn_abort(t);
	return rc;
}

/*
 * A table's rows under a prefix, each as one string "KEYHEX VALHEX",
 * sorted: enough to tell rows added, removed and changed.
 */
struct rowset {
	char **r;
	size_t n;
};

static void
hex_add(struct buf *b, const void *p, size_t n)
{
	const unsigned char *u = p;
	size_t i;

	for (i = 0; i < n; i++)
		buf_addf(b, "%02x", u[i]);
}

static int
rowset_add(void *ctx, const char *rest, size_t rlen, const void *v,
    size_t vl, struct merr *err)
{
	struct rowset *rs = ctx;
	struct buf b = BUF_INIT;

	hex_add(&b, rest, rlen);
	buf_addc(&b, ' ');
	hex_add(&b, v, vl);
	rs->r = xreallocarray(rs->r, rs->n + 1, sizeof(*rs->r));
	rs->r[rs->n++] = buf_detach(&b, NULL);
	return 0;
}

static void
rowset_get(struct store *s, enum store_table tbl, const char *prefix,
    size_t plen, struct rowset *rs)
{
	struct merr err = { 0, "" };
	struct store_txn *t;

	memset(rs, 0, sizeof(*rs));
	if (store_txn_begin(s, false, &t, &err) == 0) {
		if (store_scan_prefix(t, tbl, prefix, plen, rowset_add, rs,
		    &err) != 0)
			printf("# scan: %s\n", err.msg);
		store_txn_abort(t);
	}
	qsort(rs->r, rs->n, sizeof(*rs->r), line_cmp);
}

/* Compares the keys of two rows (up to the space). */
static int
rowkey_cmp(const char *a, const char *b)
{
	size_t al = strcspn(a, " "), bl = strcspn(b, " ");
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al > bl) - (al < bl);
}

/* "+A ~C -R": rows only in b, in both but changed, only in a. */
static char *
rowset_change(const struct rowset *a, const struct rowset *b)
{
	size_t i = 0, j = 0, add = 0, chg = 0, del = 0;

	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 :
		    rowkey_cmp(a->r[i], b->r[j]);

		if (c == 0) {
			chg += strcmp(a->r[i], b->r[j]) != 0;
			i++;
			j++;
		} else if (c < 0) {
			del++;
			i++;
		} else {
			add++;
			j++;
		}
	}
	return xasprintf("+%zu ~%zu -%zu", add, chg, del);
}

static void
rowset_release(struct rowset *rs)
{
	strv_free(rs->r, rs->n);
	memset(rs, 0, sizeof(*rs));
}

/* The blobs table's hashes, as a rowset. */
static int
blob_row(void *ctx, const unsigned char h[HASH_LEN],
    const struct store_blob_rec *rec, struct merr *err)
{
	return rowset_add(ctx, (const char *)h, HASH_LEN, "", 0, err);
}

static void
blobs_get(struct store *s, struct rowset *rs, uint64_t *total)
{
	struct merr err = { 0, "" };
	struct store_txn *t;
	uint64_t bytes;

	memset(rs, 0, sizeof(*rs));
	*total = 0;
	if (store_txn_begin(s, false, &t, &err) == 0) {
		if (store_blob_each(t, blob_row, rs, &err) != 0 ||
		    store_blob_totals(t, total, &bytes, &err) != 0)
			printf("# blobs: %s\n", err.msg);
		store_txn_abort(t);
	}
	qsort(rs->r, rs->n, sizeof(*rs->r), line_cmp);
}

/* Blobs of after not in before that are not files of su. */
static size_t
blobs_foreign(const struct rowset *before, const struct rowset *after,
    const struct snap_suite *su, size_t *added)
{
	struct buf b = BUF_INIT;
	size_t i, j, bad = 0;

	*added = 0;
	for (i = 0; i < after->n; i++) {
		bool known = false;

		if (bsearch(&after->r[i], before->r, before->n,
		    sizeof(*before->r), line_cmp) != NULL)
			continue;
		(*added)++;
		for (j = 0; j < su->nfiles && !known; j++) {
			buf_reset(&b);
			hex_add(&b, su->files[j].hash, HASH_LEN);
			buf_addc(&b, ' ');
			buf_addc(&b, '\0');
			known = strcmp(b.p, after->r[i]) == 0;
		}
		bad += !known;
	}
	buf_release(&b);
	return bad;
}

/* Counts open intervals of MIRROR, and those whose refs are not 1. */
struct opens {
	size_t open, not_one;
};

static int
open_row(void *ctx, const struct pool_interval *iv, struct merr *err)
{
	struct opens *o = ctx;

	if (iv == NULL || strcmp(iv->mirror, MIRROR) != 0 || iv->to != 0)
		return 0;
	o->open++;
	o->not_one += iv->refs != 1;
	return 0;
}

static int
promote(struct fix *x, const char *ref, char target[SNAP_ID_LEN + 1],
    struct merr *err)
{
	struct channel_move_opts mo = { "test@host", 0, NULL, NULL };
	int rc;

	target[0] = '\0';
	rc = store_lock_channels(x->s, "t_compose", false, err);
	if (rc == 0)
		rc = channel_promote(x->s, x->g, MIRROR, ref, "prod", &mo,
		    target, err);
	store_unlock_channels(x->s);
	return rc;
}

/* The pool rows of the store: TBL_POOL, TBL_POOLSEQ, TBL_BREFS. */
struct poolrows {
	struct rowset pool, seq, brefs;
};

static void
poolrows_get(struct store *s, struct poolrows *pr)
{
	rowset_get(s, TBL_POOL, MIRROR, sizeof(MIRROR), &pr->pool);
	rowset_get(s, TBL_POOLSEQ, MIRROR, sizeof(MIRROR), &pr->seq);
	rowset_get(s, TBL_BREFS, "", 0, &pr->brefs);
}

static void
poolrows_release(struct poolrows *pr)
{
	rowset_release(&pr->pool);
	rowset_release(&pr->seq);
	rowset_release(&pr->brefs);
}

/* The Packages text a patch of source i (to 1.0-k) of st writes. */
static void
patched_text(const struct state *st, unsigned i, unsigned k, struct buf *b)
{
	struct state base = *st;

	base.v[i] = 0;
	state_text(&base, b);
	src_paras(b, i, k);
}

/* The patch's rows and blobs, against the snapshots before it. */
static void
check_patch_cost(struct fix *x, struct patch_plan *p,
    const struct snap *s1)
{
	struct merr err = { 0, "" };
	struct poolrows a, b;
	struct rowset bl0, bl1;
	uint64_t n0, n1;
	size_t added, foreign, i, fresh = 0;
	char *got;
	int rc;

	blobs_get(x->s, &bl0, &n0);
	poolrows_get(x->s, &a);
	rc = patch_commit(x->s, MIRROR, p, &err);
	is_int(rc, 0, "patch: committed (%s)", rc ? err.msg : "ok");
	poolrows_get(x->s, &b);
	blobs_get(x->s, &bl1, &n1);
	/*
	 * Against snapshot 2 (the newest): src0008's 1.0-2 files close (2
	 * rows change), its 1.0-1 files open again at the patch's seq (2
	 * rows, and 2 by start; their blobs' live intervals go 1 -> 2).
	 * src0007 is as in snapshot 2: nothing. Not 2,000 of anything.
	 */
	got = rowset_change(&a.pool, &b.pool);
	is_str(got, "+2 ~2 -0", "cost: TBL_POOL rows added, changed, removed "
	    "(of %zu)", b.pool.n);
	free(got);
	got = rowset_change(&a.seq, &b.seq);
	is_str(got, "+2 ~0 -0", "cost: TBL_POOLSEQ rows (of %zu)", b.seq.n);
	free(got);
	got = rowset_change(&a.brefs, &b.brefs);
	is_str(got, "+0 ~2 -0", "cost: TBL_BREFS rows (of %zu)", b.brefs.n);
	free(got);

	/* New blobs: only the patch's own dists files. */
	for (i = 0; i < p->result.suites[0].nfiles; i++)
		fresh += snap_suite_file(&s1->suites[0],
		    p->result.suites[0].files[i].path) == NULL ||
		    !same_file(snap_suite_file(&s1->suites[0],
		    p->result.suites[0].files[i].path),
		    &p->result.suites[0].files[i]);
	foreign = blobs_foreign(&bl0, &bl1, &p->result.suites[0], &added);
	is_int(added, fresh, "cost: the new blobs are the patch's new dists "
	    "files (%zu)", fresh);
	ok(fresh <= 6, "cost: at most Packages (plain, .gz, .xz) and the 3 "
	    "Release files (%zu)", fresh);
	is_int(foreign, 0, "cost: no other blob is new");
	is_int(n1 - n0, added, "cost: the blob totals agree");
	rowset_release(&bl0);
	rowset_release(&bl1);
	poolrows_release(&a);
	poolrows_release(&b);
}

/* What the patch snapshot is, once committed. */
static void
check_patch_snap(struct fix *x, const struct patch_plan *p,
    const struct snap *s2, const struct state *sp)
{
	struct merr err = { 0, "" };
	struct snap sn;
	struct buf want = BUF_INIT;
	const struct snap_file *f;
	bool have = false;
	char *text;
	size_t len;
	int rc;

	ok(p->result.kind == SNAP_PATCH && p->result.seq == 3,
	    "patch: kind patch, seq 3");
	is_int(p->result.packages, 2 * NSRC, "patch: its packages counter");
	is_int(p->result.files, 2 * NSRC, "patch: its distinct pool files");
	rc = load_ref(x->s, "latest", &sn, &err);
	ok(rc == 0 && strcmp(sn.id, s2->id) == 0, "patch: 'latest' is still "
	    "snapshot 2 (%s)", rc ? err.msg : sn.id);
	if (rc == 0)
		snap_release(&sn);
	rc = load_newest(x->s, &sn, &have, &err);
	ok(rc == 0 && have && strcmp(sn.id, p->result.id) == 0 &&
	    sn.kind == SNAP_PATCH, "patch: snap_load_newest is the patch");
	ok(have && sn.recipe && strstr(sn.recipe, "sources src0007\n") &&
	    strstr(sn.recipe, "change src0007-bin amd64 1.0-1 -> 1.0-2 "
	    "(named)\n"), "patch: its recipe names the source and the change");
	if (have)
		snap_release(&sn);

	is_int(lookup_one(x, 3, 7, false, 2), 0, "patch: src0007-bin's new "
	    "file is in the patch");
	is_int(lookup_one(x, 3, 7, true, 2), 0, "patch: libsrc0007's new file "
	    "is in the patch");
	is_int(lookup_one(x, 3, 7, false, 1), MERR_NOTFOUND, "patch: "
	    "src0007-bin's old file is not");
	is_int(lookup_one(x, 3, 0, false, 1), 0, "patch: an unchanged "
	    "package's file is");
	is_int(lookup_one(x, 3, 8, false, 1), 0, "patch: src0008 (not named) "
	    "keeps the channel's version");
	is_int(lookup_one(x, 3, 8, false, 2), MERR_NOTFOUND, "patch: ... not "
	    "snapshot 2's");
	is_int(pool_mismatches(x, 3, sp), 0, "patch: every pool file of every "
	    "version is in it exactly as its index says");

	/* The patched index: the base's paragraphs, then the ref's. */
	patched_text(sp, 7, 2, &want);
	f = snap_suite_file(&p->result.suites[0], "main/binary-amd64/Packages");
	text = blob_text(x->s, f, &len);
	ok(text && len == want.len && memcmp(text, want.p, len) == 0,
	    "patch: Packages is the target's paragraphs without src0007's, "
	    "then snapshot 2's src0007, byte for byte");
	free(text);
	buf_release(&want);
}

static void
test_patch(struct fix *x)
{
	struct merr err = { 0, "" };
	static const char *const srcs[] = { "src0007" };
	char *arches[] = { (char *)"amd64" };
	struct conf_mirror m;
	struct patch_opts o;
	struct patch_plan p;
	struct state s1, s2, sp, s3;
	struct snap sn1, sn2, sn3;
	struct opens op = { 0, 0 };
	char target[SNAP_ID_LEN + 1];
	struct store_txn *t;
	int rc;

	memset(&s1, 1, sizeof(s1));
	s2 = s1;
	s2.v[7] = 2;
	s2.v[8] = 2;		/* another update, not patched */
	sp = s1;
	sp.v[7] = 2;
	memset(&p, 0, sizeof(p));
	memset(&sn3, 0, sizeof(sn3));
	rc = commit_state(x, &s1, &sn1, &err);
	is_int(rc, 0, "big: snapshot 1, %d packages (%s)", 2 * NSRC,
	    rc ? err.msg : "ok");
	rc = rc ? rc : commit_state(x, &s2, &sn2, &err);
	is_int(rc, 0, "big: snapshot 2, src0007 and src0008 updated (%s)",
	    rc ? err.msg : "ok");
	if (rc)
		goto out;
	is_int(pool_mismatches(x, 1, &s1) + pool_mismatches(x, 2, &s2), 0,
	    "big: pool membership of snapshots 1 and 2 as their indices say");
	rc = promote(x, sn1.id, target, &err);
	ok(rc == 0 && strcmp(target, sn1.id) == 0, "big: prod at snapshot 1 "
	    "(%s)", rc ? err.msg : "ok");

	memset(&m, 0, sizeof(m));
	m.name = (char *)MIRROR;
	m.deb = true;
	m.arches = arches;
	m.narches = 1;
	memset(&o, 0, sizeof(o));
	o.m = &m;
	o.channel = "prod";
	o.from = "latest";
	o.sources = srcs;
	o.nsources = 1;
	rc = patch_plan(x->s, x->g, &o, &p, &err);
	is_int(rc, 0, "patch: planned (%s)", rc ? err.msg : "ok");
	if (rc)
		goto out;
	ok(strcmp(p.base, sn1.id) == 0 && strcmp(p.from, sn2.id) == 0,
	    "patch: base snapshot 1, from snapshot 2");
	ok(p.nchanges == 2 && strcmp(p.changes[0].name, "libsrc0007") == 0 &&
	    strcmp(p.changes[1].name, "src0007-bin") == 0 &&
	    strcmp(p.changes[1].old_version, "1.0-1") == 0 &&
	    strcmp(p.changes[1].new_version, "1.0-2") == 0,
	    "patch: the plan is src0007's two binaries, 1.0-1 -> 1.0-2");
	check_patch_cost(x, &p, &sn1);
	check_patch_snap(x, &p, &sn2, &sp);
	rc = promote(x, p.result.id, target, &err);
	ok(rc == 0 && strcmp(target, p.result.id) == 0, "patch: prod moves to "
	    "the patch (%s)", rc ? err.msg : "ok");

	/* 5. A sync after the patch: its delta is against the patch. */
	s3 = s2;
	s3.v[8] = 3;
	s3.v[9] = 2;
	s3.v[10] = 0;
	rc = commit_state(x, &s3, &sn3, &err);
	is_int(rc, 0, "sync after: snapshot 4 committed against the patch "
	    "(%s)", rc ? err.msg : "ok");
	is_int(sn3.seq, 4, "sync after: seq 4");
	is_int(pool_mismatches(x, 4, &s3), 0, "sync after: every pool file "
	    "in it exactly as its index says");
	is_int(pool_mismatches(x, 1, &s1) + pool_mismatches(x, 2, &s2) +
	    pool_mismatches(x, 3, &sp), 0, "sync after: snapshots 1 to 3 "
	    "unchanged");
	is_int(sn3.packages, state_packages(&s3), "sync after: packages");
	is_int(sn3.files, state_packages(&s3), "sync after: distinct files");
	rc = store_txn_begin(x->s, false, &t, &err);
	if (rc == 0) {
		rc = pool_each(t, open_row, &op, &err);
		store_txn_abort(t);
	}
	ok(rc == 0 && op.open == state_packages(&s3) && op.not_one == 0,
	    "sync after: %zu open intervals, each listed once (%zu not)",
	    op.open, op.not_one);
out:
	patch_plan_release(&p);
	snap_release(&sn1);
	snap_release(&sn2);
	snap_release(&sn3);
}

static int
fix_init(struct fix *x)
{
	struct merr err = { 0, "" };
	char *p, *key = NULL;
	size_t klen = 0;
	int rc;

	memset(x, 0, sizeof(*x));
	x->root = helpers_tmpdir_new("t_compose");
	if (x->root == NULL)
		return MERR_IO;
	p = xasprintf("%s/store", x->root);
	rc = store_open(p, true, &x->s, &err);
	free(p);
	if (rc == 0)
		rc = store_lock(x->s, "t_compose", false, &err);
	p = xasprintf("%s/signing-key.asc", x->root);
	if (rc == 0)
		rc = gpg_signer_new(p, true, &x->g, &err);
	free(p);
	if (rc == 0)
		rc = gpg_signer_export(x->g, false, &key, &klen, &err);
	p = xasprintf("%s/mirrord.gpg", x->root);
	if (rc == 0)
		rc = write_file_atomic(p, key, klen, 0600, &err);
	if (rc == 0)
		rc = gpg_verifier_new(p, x->root, &x->v, &err);
	free(p);
	free(key);
	if (rc)
		printf("# setup: %s\n", err.msg);
	return rc;
}

static void
fix_release(struct fix *x)
{
	gpg_verifier_free(x->v);
	gpg_signer_free(x->g);
	store_close(x->s);
	helpers_tmpdir_free(x->root);
}

int
main(void)
{
	struct fix x;

	test_spread();
	if (fix_init(&x) != 0) {
		ok(0, "a store, a signer and a verifier");
		if (x.root)
			fix_release(&x);
		return tap_done();
	}
	test_delta(&x);
	test_write(&x);
	test_patch(&x);
	fix_release(&x);
	return tap_done();
}
