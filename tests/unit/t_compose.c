/*
 * t_compose.c: composed snapshots' core on a real store (a mkdtemp()
 * directory, a generated signing key): compose_delta's pool difference
 * and counts, compose_spread, compose_write_suite's indices and Release
 * (checked the way a client would: decompressed, verified with the
 * signer's exported key), and a patch of one source into a channel over
 * a 2,000-package suite, whose store cost is counted in rows and blobs
 * as t_snap counts a sync's; then a sync after the patch and a patch of
 * the patch, whose pool membership must be exactly what their indices say.
 *
 * Index blobs are real Packages texts; the pool files they name are not
 * stored (a pool blob is only a hash and a size to the rows).
 */
#include "mirrord/common.h"

#include "mirrord/compose.h"
#include "mirrord/conf.h"
#include "mirrord/patch.h"
#include "mirrord/pkgset.h"
#include "mirrord/pool.h"
#include "snapfix.h"
#include "tap.h"

#define MIRROR "m"
#define DATE 1780000000		/* Thu, 28 May 2026 20:26:40 UTC */
#define NSRC 1000		/* sources of the big suite, 2 binaries each */
#define NVER 3			/* versions 1.0-1 .. 1.0-3 of each */
#define PKGS_GZ "main/binary-amd64/Packages.gz"
#define PKGS "main/binary-amd64/Packages"

/* --- 1. compose_delta ---------------------------------------------------- */

struct seen {
	struct snapfix_rows lines;	/* "path n\n" per entry */
	size_t bad;		/* entries not of their path's hash, size */
	size_t calls, firsts;	/* compose_entry_fn */
};

static int
seen_entry(void *ctx, const char *path, const unsigned char h[HASH_LEN],
    uint64_t size, int n, struct merr *err)
{
	struct seen *sc = ctx;
	unsigned char want[HASH_LEN];

	hash_buf(path, strlen(path), want);
	if (memcmp(h, want, HASH_LEN) != 0 || size != snapfix_pool_size(path))
		sc->bad++;
	sc->lines.r = xreallocarray(sc->lines.r, sc->lines.n + 1,
	    sizeof(*sc->lines.r));
	sc->lines.r[sc->lines.n++] = xasprintf("%s %+d\n", path, n);
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

/* The delta's entries with a non-zero count, one per line, sorted. */
static char *
delta_lines(const struct snap_delta *d, struct seen *sc)
{
	struct buf out = BUF_INIT;
	size_t i;

	snapfix_rows_release(&sc->lines);
	sc->bad = 0;
	if (snap_delta_each(d, seen_entry, sc, NULL) != 0)
		return xstrdup("(error)");
	snapfix_rows_sort(&sc->lines);
	buf_adds(&out, "");
	for (i = 0; i < sc->lines.n; i++)
		buf_adds(&out, sc->lines.r[i]);
	return buf_detach(&out, NULL);
}

/*
 * Old: main amd64 {a (all), b 1, c}, contrib {x, y}, non-free {z}.
 * New: main amd64 as .gz {a, b 2, d}, contrib the same blob, a new main
 * arm64 {a (all), e}, no non-free.
 */
static int
delta_snaps(struct snapfix_env *x, struct snap *a, struct snap *b,
    struct merr *err)
{
	static const char xy[] = "x 1.0 amd64; y 1.0 amd64";
	struct snap_suite *sa = snapfix_init(a), *sb = snapfix_init(b);
	int rc;

	rc = snapfix_put(x->s, sa, PKGS, "a 1.0 all; b 1.0 amd64; c 1.0 amd64",
	    err);
	rc = rc ? rc : snapfix_put(x->s, sa, "contrib/binary-amd64/Packages",
	    xy, err);
	rc = rc ? rc : snapfix_put(x->s, sb, "contrib/binary-amd64/Packages",
	    xy, err);
	rc = rc ? rc : snapfix_put(x->s, sa, "non-free/binary-amd64/Packages",
	    "z 1.0 amd64", err);
	rc = rc ? rc : snapfix_put(x->s, sb, "main/binary-amd64/Packages.gz",
	    "a 1.0 all; b 2.0 amd64; d 1.0 amd64", err);
	rc = rc ? rc : snapfix_put(x->s, sb, "main/binary-arm64/Packages",
	    "a 1.0 all; e 1.0 arm64", err);
	return rc;
}

static void
test_delta(struct snapfix_env *x)
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
	struct seen sc = { { NULL, 0 }, 0, 0, 0 };
	struct snap a, b;
	struct snap_delta *d;
	struct snap_index *ci;
	const struct snap_index *ix;
	bool hidden;
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
	ix = compose_find_index(&a.suites[0], PKGS);
	ok(ix && ix->npara == 3 && ix->nfiles == 3 && ix->bytes ==
	    snapfix_pool_size("pool/main/a/a/a_1.0_all.deb") +
	    snapfix_pool_size("pool/main/b/b/b_1.0_amd64.deb") +
	    snapfix_pool_size("pool/main/c/c/c_1.0_amd64.deb"),
	    "delta: a parsed index gets npara, nfiles and bytes");
	snap_delta_free(d);

	/* Parsing the same contrib blob again would show: sentinels. */
	ci = (struct snap_index *)compose_find_index(&a.suites[0],
	    "contrib/binary-amd64/Packages");
	ci->npara = 77;
	ci->nfiles = 78;
	ci->bytes = 79;

	/* A control: a dropped index is parsed, so its blob must be there. */
	ix = compose_find_index(&a.suites[0],
	    "non-free/binary-amd64/Packages");
	hidden = snapfix_blob_hide(x->s, ix->hash, false);
	d = snap_delta_new();
	rc = compose_delta(x->s, &a, &b, d, NULL, NULL, &err);
	ok(hidden && rc < 0 && strstr(err.msg,
	    "stable/non-free/binary-amd64/Packages") != NULL,
	    "delta: a dropped index's blob is read: the error names it (%s)",
	    err.msg);
	snap_delta_free(d);
	ok(snapfix_blob_hide(x->s, ix->hash, true), "delta: blob back");

	/* The unchanged index costs nothing: its blob is not even opened. */
	hidden = snapfix_blob_hide(x->s, ci->hash, false);
	sc.calls = sc.firsts = 0;
	d = snap_delta_new();
	rc = compose_delta(x->s, &a, &b, d, seen_fn, &sc, &err);
	ok(hidden && rc == 0, "delta: without the unchanged index's blob (%s)",
	    rc ? err.msg : "ok");
	ok(snapfix_blob_hide(x->s, ci->hash, true), "delta: blob back");
	got = delta_lines(d, &sc);
	is_str(got, want, "delta: exactly the net difference, the changed "
	    "index matched across .gz, the arch-all file counted per index");
	is_int(sc.bad, 0, "delta: each entry has its file's hash and size");
	free(got);
	is_int(sc.calls, 5, "delta: fn sees each file of the parsed new "
	    "indices (3 + 2)");
	is_int(sc.firsts, 4, "delta: ... first once per file (a is in two)");
	ix = compose_find_index(&b.suites[0], "contrib/binary-amd64/Packages");
	ok(ix && ix->npara == 77 && ix->nfiles == 78 && ix->bytes == 79,
	    "delta: the unchanged index's counts are copied from old's");
	ix = compose_find_index(&b.suites[0], "main/binary-amd64/Packages.gz");
	ok(ix && ix->npara == 3 && ix->nfiles == 3 && ix->bytes ==
	    snapfix_pool_size("pool/main/a/a/a_1.0_all.deb") +
	    snapfix_pool_size("pool/main/b/b/b_2.0_amd64.deb") +
	    snapfix_pool_size("pool/main/d/d/d_1.0_amd64.deb"),
	    "delta: the changed index's counts are the new text's");
	ix = compose_find_index(&b.suites[0], "main/binary-arm64/Packages");
	ok(ix && ix->npara == 2 && ix->nfiles == 2,
	    "delta: the new index's counts");
	snap_delta_free(d);
	snapfix_rows_release(&sc.lines);
out:
	snap_release(&a);
	snap_release(&b);
}

/* --- 2. compose_spread --------------------------------------------------- */

static int
spread_add(struct pkgset *ps, const char *suite, const char *path,
    enum index_kind kind, int layer, const char *spec, struct merr *err)
{
	struct buf t = BUF_INIT;
	size_t len;
	char *text;

	if (kind == INDEX_SOURCES)
		buf_adds(&t, spec);
	else
		snapfix_spec(&t, spec);
	text = buf_detach(&t, &len);
	return pkgset_add_index(ps, suite, path, kind, layer, text, len, NULL,
	    err);
}

static void
test_spread(void)
{
	struct merr err = { 0, "" };
	struct pkgset *ps = pkgset_new();
	static const struct {
		uint8_t a, b;		/* selected */
		const char *want, *what;
	} c[] = {
		{ 0, 1, "1 1 0 2 0 0 0", "the arch-all package selected in "
		    "amd64 is kept in arm64 too; foo:arm64, another version, "
		    "another layer and the source are not" },
		{ 3, 3, "0 2 0 1 0 0 0", "and the other way round" },
		{ 5, 5, "0 0 0 0 0 1 0", "a layer-1 package stays alone" },
	};
	uint8_t sel[16];
	char got[16];
	size_t i, j;
	int rc;

	/* ids: 0 foo amd64, 1 tool all 1.0 | 2 foo arm64, 3 tool all 1.0 */
	rc = spread_add(ps, "stable", PKGS, INDEX_PACKAGES, 0,
	    "foo 1.0 amd64; tool 1.0 all", &err);
	rc = rc ? rc : spread_add(ps, "stable", "main/binary-arm64/Packages",
	    INDEX_PACKAGES, 0, "foo 1.0 arm64; tool 1.0 all", &err);
	/* 4: another version; 5: the same one in layer 1; 6: a source. */
	rc = rc ? rc : spread_add(ps, "updates", "main/binary-arm64/Packages",
	    INDEX_PACKAGES, 0, "tool 2.0 all", &err);
	rc = rc ? rc : spread_add(ps, "stable", PKGS, INDEX_PACKAGES, 1,
	    "tool 1.0 all", &err);
	rc = rc ? rc : spread_add(ps, "stable", "main/source/Sources",
	    INDEX_SOURCES, 0, "Package: tool\nVersion: 1.0\n"
	    "Architecture: all\n\n", &err);
	ok(rc == 0 && pkgset_count(ps) == 7, "spread: 7 packages in 5 indices "
	    "(%s)", rc ? err.msg : "ok");
	if (rc || pkgset_count(ps) != 7)
		goto out;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		memset(sel, 0, sizeof(sel));
		sel[c[i].a] = sel[c[i].b] = 1;
		compose_spread(ps, sel);
		for (j = 0; j < 7; j++) {
			got[2 * j] = (char)('0' + sel[j]);
			got[2 * j + 1] = j < 6 ? ' ' : '\0';
		}
		is_str(got, c[i].want, "spread: %s", c[i].what);
	}
out:
	pkgset_free(ps);
}

/* --- 3. compose_write_suite ---------------------------------------------- */

/* Sets sel of layer's packages: 1 if named in names (" a b "), else 0. */
static void
pick(const struct pkgset *ps, uint8_t *sel, int layer, const char *names)
{
	size_t i, len;
	const char *p;
	char tok[64];

	for (i = 0; i < pkgset_count(ps); i++) {
		if (pkgset_index(ps, pkgset_pkg(ps, (uint32_t)i)->index)->layer
		    != layer)
			continue;
		p = pkgset_field(ps, (uint32_t)i, PF_PACKAGE, &len);
		snprintf(tok, sizeof(tok), " %.*s ", (int)len, p);
		sel[i] = strstr(names, tok) != NULL;
	}
}

/* The paragraphs of test_write, each with its blank line. */
enum { P1, P2, P3, Q1, P2NEW, P4, NPARAS };

static void
paras_init(struct buf w[NPARAS])
{
	memset(w, 0, NPARAS * sizeof(*w));
	/* Odd spacing and continuation lines must come out as they are. */
	snapfix_para(&w[P1], "p1", NULL, "1.0", "amd64", "Priority: optional\n"
	    "X-Odd:  two  spaces \nDescription: the first\n a continuation\n"
	    " .\n last line\n");
	snapfix_para(&w[P2], "p2", "p2src", "1.0", "amd64", NULL);
	snapfix_para(&w[P3], "p3", NULL, "1.0", "amd64", NULL);
	snapfix_para(&w[Q1], "q1", NULL, "1.0", "arm64", NULL);
	snapfix_para(&w[P2NEW], "p2", "p2src", "2.0", "amd64",
	    "Depends: p1 (>= 1.0)\n");
	snapfix_para(&w[P4], "p4", NULL, "1.0", "amd64", NULL);
}

/* t gets the paragraphs of w named by ids (enum values, -1 ends). */
static void
join(struct buf *t, const struct buf w[NPARAS], const int *ids)
{
	buf_reset(t);
	for (; *ids >= 0; ids++)
		buf_add(t, w[*ids].p, w[*ids].len);
}

/*
 * Base: amd64 {p1, p2, p3}, arm64 {q1}, a Translation, upstream's
 * Release files. Ref: amd64 {p4, p2 2.0 (the text's last paragraph,
 * without its blank line)}, arm64 {q1}.
 */
static int
write_snaps(struct snapfix_env *x, const struct buf w[NPARAS],
    struct snap *base, struct snap *ref, struct merr *err)
{
	static const char tr[] = "Package: p1\nDescription-md5: 0123\n"
	    "Description-en: the first\n\n";
	struct snap_suite *b = snapfix_init(base), *r = snapfix_init(ref);
	unsigned char h[HASH_LEN];
	struct buf t = BUF_INIT;
	int rc;

	join(&t, w, (const int[]){ P1, P2, P3, -1 });
	rc = snapfix_index(x->s, b, PKGS, &t, err);
	rc = rc ? rc : snapfix_index(x->s, b, "main/binary-arm64/Packages",
	    &w[Q1], err);
	rc = rc ? rc : snapfix_blob(x->s, b, "main/i18n/Translation-en", tr,
	    strlen(tr), false, err);
	rc = rc ? rc : snapfix_add_release(x->s, b, PKGS, err);
	rc = rc ? rc : snapfix_file(x->s, b, "InRelease", "not signed\n", h,
	    err);
	rc = rc ? rc : snapfix_file(x->s, b, "Release.gpg", "sig\n", h, err);
	join(&t, w, (const int[]){ P4, P2NEW, -1 });
	t.len--;
	rc = rc ? rc : snapfix_index(x->s, r, PKGS, &t, err);
	rc = rc ? rc : snapfix_index(x->s, r, "main/binary-arm64/Packages",
	    &w[Q1], err);
	buf_release(&t);
	return rc;
}

/* The Release files of out: signed by x->g, Date set, fields kept. */
static void
check_signed(struct snapfix_env *x, const struct snap_suite *base,
    const struct snap_suite *out)
{
	static const char head[] = "Origin: Test\nLabel: Test archive\n"
	    "Suite: stable\nCodename: test\n"
	    "Date: Thu, 28 May 2026 20:26:40 UTC\n";
	struct merr err = { 0, "" };
	const struct snap_file *rf = snap_suite_file(out, "Release");
	const struct snap_file *pf = snap_suite_file(out, PKGS);
	char *rel, *inr, *sig, *text = NULL, *line, fpr[GPG_FPR_LEN + 1];
	char hex[HASH_HEX_LEN + 1];
	size_t rlen, ilen, slen, tlen = 0;
	int rc;

	rel = snapfix_text(x->s, rf, &rlen);
	inr = snapfix_text(x->s, snap_suite_file(out, "InRelease"), &ilen);
	sig = snapfix_text(x->s, snap_suite_file(out, "Release.gpg"), &slen);
	ok(rel && inr && sig && pf && !snapfix_same(rf, snap_suite_file(base,
	    "Release")), "write: a new Release, InRelease and Release.gpg");
	if (!rel || !inr || !sig || !pf)
		goto out;
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

/* Each variant of path in su decompresses to want. */
static void
check_variants(struct snapfix_env *x, const struct snap_suite *su,
    const char *path, const struct buf *want, const char *what)
{
	static const char *const sfx[] = { "", ".gz", ".xz" };
	size_t i, len;
	char *p, *got;

	for (i = 0; i < ARRAY_SIZE(sfx); i++) {
		p = xasprintf("%s%s", path, sfx[i]);
		got = snapfix_text(x->s, snap_suite_file(su, p), &len);
		ok(got && len == want->len && memcmp(got, want->p, len) == 0,
		    "write: %s: %s", p, what);
		free(got);
		free(p);
	}
}

static void
test_write(struct snapfix_env *x)
{
	struct merr err = { 0, "" };
	struct pkgset *ps = pkgset_new();
	struct snap base, ref;
	struct snap_suite out;
	struct buf w[NPARAS];
	struct buf want = BUF_INIT;
	const struct snap_suite *bs;
	const struct snap_index *ix;
	uint8_t *sel = NULL;
	bool changed = true;
	size_t i, same = 0;
	int rc;

	paras_init(w);
	memset(&out, 0, sizeof(out));
	rc = write_snaps(x, w, &base, &ref, &err);
	rc = rc ? rc : compose_load(x->s, (const struct snap *const[]){ &base,
	    &ref }, 2, ps, &err);
	ok(rc == 0 && pkgset_count(ps) == 7, "write: base and ref loaded, 7 "
	    "packages (%s)", rc ? err.msg : "ok");
	if (rc || pkgset_count(ps) != 7)
		goto out;
	bs = &base.suites[0];
	sel = xcalloc(pkgset_count(ps), 1);

	/* Nothing changed: a copy of the base, upstream's signature and all. */
	pick(ps, sel, 0, " p1 p2 p3 q1 ");
	rc = compose_write_suite(x->s, x->g, ps, sel, bs, false, DATE, NULL,
	    &out, &changed, &err);
	ok(rc == 0 && !changed, "write: the base selected: *changed false (%s)",
	    rc ? err.msg : "ok");
	for (i = 0; i < out.nfiles && i < bs->nfiles; i++)
		same += strcmp(out.files[i].path, bs->files[i].path) == 0 &&
		    snapfix_same(&out.files[i], &bs->files[i]);
	ok(out.nfiles == bs->nfiles && same == bs->nfiles &&
	    out.nindices == bs->nindices, "write: nothing changed: the base's "
	    "files, no new Release");
	snap_suite_release(&out);

	/* Forced: every index written again, byte for byte as upstream's. */
	memset(&out, 0, sizeof(out));
	rc = compose_write_suite(x->s, x->g, ps, sel, bs, true, DATE, NULL,
	    &out, &changed, &err);
	ok(rc == 0 && changed, "write: forced (%s)", rc ? err.msg : "ok");
	join(&want, w, (const int[]){ P1, P2, P3, -1 });
	check_variants(x, &out, PKGS, &want, "the base's text, byte for byte");
	snap_suite_release(&out);

	/* p2 from the ref: layer 0 in its order, then layer 1. */
	pick(ps, sel, 0, " p1 p3 q1 ");
	pick(ps, sel, 1, " p2 ");
	memset(&out, 0, sizeof(out));
	rc = compose_write_suite(x->s, x->g, ps, sel, bs, false, DATE, NULL,
	    &out, &changed, &err);
	ok(rc == 0 && changed, "write: p2 from the ref: changed (%s)",
	    rc ? err.msg : "ok");
	if (rc)
		goto out;
	join(&want, w, (const int[]){ P1, P3, P2NEW, -1 });
	check_variants(x, &out, PKGS, &want,
	    "p1, p3 (base), then p2 2.0 (ref), byte for byte");
	ix = compose_find_index(&out, PKGS);
	ok(ix && strcmp(ix->path, PKGS) == 0 && ix->npara == 3,
	    "write: the index names the plain file, 3 paragraphs");
	ok(snapfix_same(snap_suite_file(&out, "main/binary-arm64/Packages"),
	    snap_suite_file(bs, "main/binary-arm64/Packages")) &&
	    !snap_suite_file(&out, "main/binary-arm64/Packages.gz"),
	    "write: the unchanged arm64 index is the base's, not rewritten");
	ok(snapfix_same(snap_suite_file(&out, "main/i18n/Translation-en"),
	    snap_suite_file(bs, "main/i18n/Translation-en")),
	    "write: the Translation is kept");
	check_signed(x, bs, &out);
out:
	snap_suite_release(&out);
	buf_release(&want);
	free(sel);
	pkgset_free(ps);
	for (i = 0; i < NPARAS; i++)
		buf_release(&w[i]);
	snap_release(&base);
	snap_release(&ref);
}

/* --- 4. a patch's store cost, 5. a sync after it -------------------------- */

/* The big suite: source i at version 1.0-v[i] (0: absent). */
struct state {
	uint8_t v[NSRC];
};

/* Source i's package (0: src%04u-bin, 1: libsrc%04u), source, 1.0-k. */
static void
src_names(unsigned i, unsigned b, unsigned k, char pkg[24], char src[16],
    char ver[16])
{
	snprintf(pkg, 24, b ? "libsrc%04u" : "src%04u-bin", i);
	snprintf(src, 16, "src%04u", i);
	snprintf(ver, 16, "1.0-%u", k);
}

/* The pool file of source i's binary (lib: its library) at 1.0-k. */
static void
src_path(unsigned i, bool lib, unsigned k, char path[256])
{
	char src[16], pkg[24], ver[16];

	src_names(i, lib, k, pkg, src, ver);
	snapfix_pool_path(pkg, src, ver, "amd64", path, 256);
}

/* Source i's two paragraphs at version 1.0-k. */
static void
src_paras(struct buf *b, unsigned i, unsigned k)
{
	char src[16], bin[24], lib[24], ver[16], *dep;

	src_names(i, 0, k, bin, src, ver);
	src_names(i, 1, k, lib, src, ver);
	dep = xasprintf("Depends: %s (>= %s)\n", lib, ver);
	snapfix_para(b, bin, src, ver, "amd64", dep);
	snapfix_para(b, lib, src, ver, "amd64", NULL);
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

/*
 * Commits st as a sync would: upstream's Packages.gz and Release, the
 * pool difference against the newest snapshot of any kind.
 */
static int
commit_state(struct snapfix_env *x, const struct state *st, struct snap *sn,
    struct merr *err)
{
	struct buf t = BUF_INIT;
	int rc;

	snapfix_init(sn);
	state_text(st, &t);
	rc = snapfix_index(x->s, &sn->suites[0], PKGS_GZ, &t, err);
	rc = rc ? rc : snapfix_add_release(x->s, &sn->suites[0], PKGS_GZ, err);
	rc = rc ? rc : snapfix_commit(x->s, MIRROR, sn, err);
	buf_release(&t);
	return rc;
}

/*
 * Pool files of every source and version whose membership at seq is not
 * what st says (found with the path's hash and size iff listed).
 */
static size_t
pool_mismatches(struct snapfix_env *x, uint32_t seq, const struct state *st)
{
	struct merr err = { 0, "" };
	struct store_txn *t;
	unsigned char h[HASH_LEN], want[HASH_LEN];
	char path[256];
	uint64_t size;
	size_t bad = 0;
	unsigned i, k, b;
	int rc;

	if (store_txn_begin(x->s, false, &t, &err))
		return SIZE_MAX;
	for (i = 0; i < NSRC * NVER * 2; i++) {
		b = i % 2;
		k = 1 + i / 2 % NVER;
		src_path(i / 2 / NVER, b, k, path);
		hash_buf(path, strlen(path), want);
		rc = pool_lookup(t, MIRROR, path, seq, h, &size, &err);
		if (st->v[i / 2 / NVER] == k ? rc == 0 && size ==
		    snapfix_pool_size(path) && memcmp(h, want, HASH_LEN) == 0 :
		    rc == MERR_NOTFOUND)
			continue;
		if (bad++ < 3)
			printf("#   seq %u: '%s': rc %d\n", seq, path, rc);
	}
	store_txn_abort(t);
	return bad;
}

/* Is one pool file of source i at version k in snapshot seq? */
static int
lookup_one(struct snapfix_env *x, uint32_t seq, unsigned i, bool lib,
    unsigned k)
{
	char path[256];

	src_path(i, lib, k, path);
	return snapfix_lookup(x->s, MIRROR, path, seq);
}

/* n[0]: open intervals of MIRROR, n[1]: those whose refs are not 1. */
static int
open_row(void *ctx, const struct pool_interval *iv, struct merr *err)
{
	size_t *n = ctx;

	if (iv && strcmp(iv->mirror, MIRROR) == 0 && iv->to == 0) {
		n[0]++;
		n[1] += iv->refs != 1;
	}
	return 0;
}

/* The pool rows of the store: TBL_POOL, TBL_POOLSEQ, TBL_BREFS. */
static void
poolrows_get(struct store *s, struct snapfix_rows r[3])
{
	snapfix_rows_get(s, TBL_POOL, MIRROR, sizeof(MIRROR), &r[0]);
	snapfix_rows_get(s, TBL_POOLSEQ, MIRROR, sizeof(MIRROR), &r[1]);
	snapfix_rows_get(s, TBL_BREFS, "", 0, &r[2]);
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
check_patch_cost(struct snapfix_env *x, struct patch_plan *p)
{
	struct merr err = { 0, "" };
	static const char *const tbl[3] = { "TBL_POOL", "TBL_POOLSEQ",
	    "TBL_BREFS" };
	/*
	 * Against snapshot 2 (the newest): src0008's 1.0-2 files close (2
	 * rows change), its 1.0-1 files open again at the patch's seq (2
	 * rows, and 2 by start; their blobs' live intervals go 1 -> 2).
	 * src0007 is as in snapshot 2: nothing. Not 2,000 of anything.
	 */
	static const char *const want[3] = { "+2 ~2 -0", "+2 ~0 -0",
	    "+0 ~2 -0" };
	struct snapfix_rows a[3], b[3], bl0, bl1;
	uint64_t n0, n1;
	size_t added, foreign, i;
	char *got;
	int rc;

	snapfix_blobs_get(x->s, &bl0, &n0);
	poolrows_get(x->s, a);
	rc = patch_commit(x->s, MIRROR, p, &err);
	is_int(rc, 0, "patch: committed (%s)", rc ? err.msg : "ok");
	poolrows_get(x->s, b);
	snapfix_blobs_get(x->s, &bl1, &n1);
	for (i = 0; i < 3; i++) {
		got = snapfix_rows_change(&a[i], &b[i]);
		is_str(got, want[i], "cost: %s rows added, changed, removed "
		    "(of %zu)", tbl[i], b[i].n);
		free(got);
		snapfix_rows_release(&a[i]);
		snapfix_rows_release(&b[i]);
	}

	/* New blobs: only the patch's own dists files. */
	foreign = snapfix_blobs_foreign(&bl0, &bl1, &p->result.suites[0],
	    &added);
	is_int(added, 6, "cost: 6 new blobs: Packages (plain, .gz, .xz) and "
	    "the 3 Release files");
	is_int(foreign, 0, "cost: each new blob is a file of the patch");
	is_int(p->result.new_files, added, "cost: its new_files counter");
	is_int(n1 - n0, added, "cost: the blob totals agree");
	snapfix_rows_release(&bl0);
	snapfix_rows_release(&bl1);
}

/* What the patch snapshot is, once committed. */
static void
check_patch_snap(struct snapfix_env *x, const struct patch_plan *p,
    const struct snap *s2, const struct state *sp)
{
	struct merr err = { 0, "" };
	struct snap sn;
	struct buf want = BUF_INIT;
	bool have = false;
	char *text;
	size_t len;
	int rc;

	ok(p->result.kind == SNAP_PATCH && p->result.seq == 3 &&
	    p->result.packages == 2 * NSRC && p->result.files == 2 * NSRC,
	    "patch: kind patch, seq 3, 2,000 packages and distinct files");
	rc = snapfix_load(x->s, MIRROR, "latest", &sn, &have, &err);
	ok(have && strcmp(sn.id, s2->id) == 0, "patch: 'latest' is still "
	    "snapshot 2 (%s)", rc ? err.msg : sn.id);
	if (have)
		snap_release(&sn);
	rc = snapfix_load(x->s, MIRROR, NULL, &sn, &have, &err);
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
	text = snapfix_text(x->s, snap_suite_file(&p->result.suites[0], PKGS),
	    &len);
	ok(text && len == want.len && memcmp(text, want.p, len) == 0,
	    "patch: Packages is the target's paragraphs without src0007's, "
	    "then snapshot 2's src0007, byte for byte");
	free(text);
	buf_release(&want);
}

/* patch_plan of one source from latest into prod (*p: release it). */
static int
plan(struct snapfix_env *x, const char *mirror, const char *src, bool dry,
    struct patch_plan *p, struct merr *err)
{
	char *arches[] = { (char *)"amd64" };
	const char *srcs[] = { src };
	struct conf_mirror m;
	struct patch_opts o;

	memset(&m, 0, sizeof(m));
	m.name = (char *)mirror;
	m.deb = true;
	m.arches = arches;
	m.narches = 1;
	memset(&o, 0, sizeof(o));
	o.m = &m;
	o.channel = "prod";
	o.from = "latest";
	o.sources = srcs;
	o.nsources = 1;
	o.dry_run = dry;
	patch_plan_release(p);
	return patch_plan(x->s, x->g, &o, p, err);
}

/*
 * 7. A patch whose new version is in a suite the channel's target lacks
 * (one added to the mirror after the target was synced): the result must
 * hold the new version, or the plan must refuse; the package must not
 * vanish. Mirror "e": target {stable: app 1, other 1}, latest {stable:
 * the same, stable-updates: app 2}.
 */
static void
test_patch_new_suite(struct snapfix_env *x)
{
	static const char stable[] = "app 1.0 amd64; other 1.0 amd64";
	struct merr err = { 0, "" };
	struct patch_plan p;
	struct snap a, b;
	char target[SNAP_ID_LEN + 1];
	int rc, in_new = MERR_NOTFOUND, in_old = MERR_NOTFOUND;

	memset(&p, 0, sizeof(p));
	rc = snapfix_put(x->s, snapfix_init(&a), PKGS, stable, &err);
	rc = rc ? rc : snapfix_put(x->s, snapfix_init(&b), PKGS, stable, &err);
	rc = rc ? rc : snapfix_put(x->s, snapfix_add_suite(&b,
	    "stable-updates"), PKGS, "app 2.0 amd64", &err);
	rc = rc ? rc : snapfix_add_release(x->s, &a.suites[0], PKGS, &err);
	rc = rc ? rc : snapfix_add_release(x->s, &b.suites[0], PKGS, &err);
	rc = rc ? rc : snapfix_add_release(x->s, &b.suites[1], PKGS, &err);
	rc = rc ? rc : snapfix_commit(x->s, "e", &a, &err);
	rc = rc ? rc : snapfix_commit(x->s, "e", &b, &err);
	rc = rc ? rc : snapfix_promote(x, "e", "prod", a.id, target, &err);
	ok(rc == 0, "new suite: target and latest (%s)", rc ? err.msg : "ok");
	if (rc == 0 && plan(x, "e", "app", false, &p, &err) == 0 &&
	    patch_commit(x->s, "e", &p, &err) == 0) {
		in_new = snapfix_lookup(x->s, "e",
		    "pool/main/a/app/app_2.0_amd64.deb", p.result.seq);
		in_old = snapfix_lookup(x->s, "e",
		    "pool/main/a/app/app_1.0_amd64.deb", p.result.seq);
		printf("# patch: app 2.0 %d, app 1.0 %d, %zu suites\n", in_new,
		    in_old, p.result.nsuites);
	}
	ok(p.have_result && in_new == 0 && p.result.nsuites == 2,
	    "new suite: the patched package is in the result, its suite "
	    "with the fix alone");
	patch_plan_release(&p);
	snap_release(&a);
	snap_release(&b);
}

/*
 * 6. A patch of a patch (prod's target), after the sync: errors change
 * nothing; src0009 from snapshot 4 gives seq 5, exact as its index says.
 */
static void
test_patch_again(struct snapfix_env *x, const struct state *sp,
    const struct state *s3)
{
	struct merr err = { 0, "" };
	struct patch_plan p;
	struct state s5 = *sp;
	int rc;

	memset(&p, 0, sizeof(p));
	rc = plan(x, MIRROR, "src0007", false, &p, &err);
	ok(rc == MERR_INVAL && strstr(err.msg, "'src0007'") &&
	    strstr(err.msg, "no newer"), "again: a source latest has no newer "
	    "than prod: MERR_INVAL naming it (%s)", err.msg);
	rc = plan(x, MIRROR, "nosuch", false, &p, &err);
	ok(rc == MERR_NOTFOUND && strstr(err.msg, "'nosuch'"), "again: an "
	    "unknown source: MERR_NOTFOUND naming it (%s)", err.msg);
	rc = plan(x, MIRROR, "src0009", true, &p, &err);
	ok(rc == 0 && !p.have_result && p.nchanges == 2, "again: a dry run "
	    "plans 2 changes and makes no snapshot (%s)", rc ? err.msg : "ok");
	rc = plan(x, MIRROR, "src0009", false, &p, &err);
	rc = rc ? rc : patch_commit(x->s, MIRROR, &p, &err);
	ok(rc == 0 && p.result.seq == 5, "again: src0009 patched into the "
	    "patch, seq 5 (%s)", rc ? err.msg : "ok");
	s5.v[9] = 2;
	is_int(pool_mismatches(x, 5, &s5), 0, "again: every pool file in it "
	    "exactly as its index says");
	is_int(pool_mismatches(x, 3, sp) + pool_mismatches(x, 4, s3), 0,
	    "again: the patch and snapshot 4 unchanged");
	patch_plan_release(&p);
}

static void
test_patch(struct snapfix_env *x)
{
	struct merr err = { 0, "" };
	struct patch_plan p;
	struct state s1, s2, sp, s3;
	struct snap sn1, sn2, sn3;
	size_t op[2] = { 0, 0 };
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
	rc = snapfix_promote(x, MIRROR, "prod", sn1.id, target, &err);
	ok(rc == 0 && strcmp(target, sn1.id) == 0, "big: prod at snapshot 1 "
	    "(%s)", rc ? err.msg : "ok");

	rc = plan(x, MIRROR, "src0007", false, &p, &err);
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
	check_patch_cost(x, &p);
	check_patch_snap(x, &p, &sn2, &sp);
	rc = snapfix_promote(x, MIRROR, "prod", p.result.id, target, &err);
	ok(rc == 0 && strcmp(target, p.result.id) == 0, "patch: prod moves to "
	    "the patch (%s)", rc ? err.msg : "ok");

	/* 5. A sync after the patch: its delta is against the patch. */
#define NPKG3 (2 * NSRC - 2)	/* src0010 dropped */
	s3 = s2;
	s3.v[8] = 3;
	s3.v[9] = 2;
	s3.v[10] = 0;
	rc = commit_state(x, &s3, &sn3, &err);
	ok(rc == 0 && sn3.seq == 4, "sync after: snapshot 4 (seq 4) committed "
	    "against the patch (%s)", rc ? err.msg : "ok");
	is_int(pool_mismatches(x, 4, &s3), 0, "sync after: every pool file "
	    "in it exactly as its index says");
	is_int(pool_mismatches(x, 1, &s1) + pool_mismatches(x, 2, &s2) +
	    pool_mismatches(x, 3, &sp), 0, "sync after: snapshots 1 to 3 "
	    "unchanged");
	ok(sn3.packages == NPKG3 && sn3.files == NPKG3, "sync after: its "
	    "packages and distinct files counters");
	rc = store_txn_begin(x->s, false, &t, &err);
	if (rc == 0) {
		rc = pool_each(t, open_row, op, &err);
		store_txn_abort(t);
	}
	ok(rc == 0 && op[0] == NPKG3 && op[1] == 0,
	    "sync after: %zu open intervals, each listed once (%zu not)",
	    op[0], op[1]);
	test_patch_again(x, &sp, &s3);
out:
	patch_plan_release(&p);
	snap_release(&sn1);
	snap_release(&sn2);
	snap_release(&sn3);
}

int
main(void)
{
	struct merr err = { 0, "" };
	struct snapfix_env x;
	int rc;

	test_spread();
	rc = snapfix_env_init(&x, "t_compose", &err);
	ok(rc == 0, "a store, a signer and a verifier (%s)", rc ? err.msg :
	    "ok");
	if (rc == 0) {
		test_delta(&x);
		test_write(&x);
		test_patch(&x);
		test_patch_new_suite(&x);
	}
	snapfix_env_release(&x);
	return tap_done();
}
