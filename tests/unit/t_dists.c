/*
 * t_dists.c: the dists files mirrord writes (dists.h): a composed suite
 * built on a hand-made synced one, checked the way a client would: its
 * Release through the sync's own parser, its signatures with a verifier
 * on the signer's exported key, each listed file against its blob, the
 * compressed variants decompressed, the kept header fields byte for
 * byte; what was replaced is gone, what was hidden is kept but unlisted,
 * the rest untouched, and the by-hash names resolve as serve/ resolves
 * them. Also channel_release_text() (built on the same rewrite) and
 * dists_release_text().
 */
#include "mirrord/common.h"

#include <unistd.h>

#include "mirrord/channel.h"
#include "mirrord/decomp.h"
#include "mirrord/dists.h"
#include "mirrord/gpg.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "sync/release.h"
#include "helpers.h"
#include "snapfix.h"
#include "tap.h"

#define DATE 1780000000		/* Thu, 28 May 2026 20:26:40 UTC */

static const char upstream[] =
    "Origin: Debian\n"
    "Label: Debian\n"
    "Suite: stable\n"
    "Version: 12.8\n"
    "Codename: bookworm\n"
    "Changelogs: https://metadata.ftp-master.debian.org/changelogs/"
    "@CHANGEPATH@_changelog\n"
    "Date: Sat, 09 Nov 2024 10:05:20 UTC\n"
    "Valid-Until: Sat, 16 Nov 2024 10:05:20 UTC\n"
    "Acquire-By-Hash: no\n"
    "No-Support-for-Architecture-all: Packages\n"
    "Architectures: all amd64 arm64\n"
    "Components: main contrib\n"
    "Description: Debian 12.8 Released 09 November 2024\n"
    " a continuation line, kept\n"
    "MD5Sum:\n"
    " 0123456789abcdef0123456789abcdef 10 main/binary-amd64/Packages.xz\n"
    "SHA256:\n"
    " 0000000000000000000000000000000000000000000000000000000000000000"
    " 10 main/binary-amd64/Packages.xz\n";

/* What the composed Release must start with, byte for byte. */
static const char want_head[] =
    "Origin: Debian\n"
    "Label: Debian\n"
    "Suite: stable\n"
    "Version: 12.8\n"
    "Codename: bookworm\n"
    "Changelogs: https://metadata.ftp-master.debian.org/changelogs/"
    "@CHANGEPATH@_changelog\n"
    "Date: Thu, 28 May 2026 20:26:40 UTC\n"
    "Acquire-By-Hash: yes\n"
    "No-Support-for-Architecture-all: Packages\n"
    "Architectures: all amd64 arm64\n"
    "Components: main contrib\n"
    "Description: Debian 12.8 Released 09 November 2024\n"
    " a continuation line, kept\n"
    "SHA256:\n";

static const char packages[] =
    "Package: hello\nVersion: 2.10-3\nArchitecture: amd64\n"
    "Filename: pool/main/h/hello/hello_2.10-3_amd64.deb\nSize: 53000\n\n"
    "Package: libc6\nVersion: 2.36-9+deb12u9\nArchitecture: amd64\n"
    "Filename: pool/main/g/glibc/libc6_2.36-9+deb12u9_amd64.deb\n"
    "Size: 2757000\n\n";

struct fix {
	char *root;
	struct store *s;
	struct gpg_signer *g;
	struct gpg_verifier *v;
	struct snap_suite base;
	unsigned char old_xz[HASH_LEN];	/* upstream's Packages.xz */
};

static bool
has_file(const struct snap_suite *su, const char *path)
{
	return snap_suite_file(su, path) != NULL;
}

/* A blob's bytes (owned), NULL if unreadable. */
static char *
blob(struct store *s, const unsigned char h[HASH_LEN], size_t *len)
{
	struct merr err;
	char *p = store_blob_path(s, h), *data = NULL;

	if (read_file(p, 64u << 20, &data, len, &err) != 0)
		data = NULL;
	free(p);
	return data;
}

/* A blob decompressed (format c) into out; 0 or the decoder's code. */
static int
blob_decode(struct store *s, const struct snap_file *f, enum comp c,
    struct buf *out)
{
	struct merr err = { 0, "" };
	struct decomp *r;
	char chunk[65536];
	ssize_t n;
	int fd = store_blob_open(s, f->hash, &err);

	if (fd < 0)
		return fd;
	r = decomp_new(fd, c, 64u << 20, f->path);
	while ((n = decomp_read(r, chunk, sizeof(chunk), &err)) > 0)
		buf_add(out, chunk, (size_t)n);
	decomp_free(r);
	close(fd);
	return (int)n;
}

/* The synced suite the compositions start from. */
static int
fix_base(struct fix *x, struct merr *err)
{
	struct snap_suite *su = &x->base;
	struct snap_index *ix;
	unsigned char h[HASH_LEN];
	char hex[HASH_HEX_LEN + 1], *bh;
	int rc;

	su->name = xstrdup("stable");
	rc = snapfix_file(x->s, su, "Release", upstream, h, err);
	rc = rc ? rc : snapfix_file(x->s, su, "InRelease", "not signed\n", h,
	    err);
	rc = rc ? rc : snapfix_file(x->s, su, "Release.gpg", "sig\n", h, err);
	rc = rc ? rc : snapfix_file(x->s, su, "main/binary-amd64/Packages.xz",
	    "old xz\n", x->old_xz, err);
	rc = rc ? rc : snapfix_file(x->s, su, "main/binary-amd64/Packages.gz",
	    "old gz\n", h, err);
	rc = rc ? rc : snapfix_file(x->s, su,
	    "main/binary-amd64/Packages.diff/Index", "old pdiff\n", h, err);
	rc = rc ? rc : snapfix_file(x->s, su, "main/i18n/Translation-en.bz2",
	    "translations\n", h, err);
	rc = rc ? rc : snapfix_file(x->s, su, "main/source/Sources.xz",
	    "sources\n", h, err);
	rc = rc ? rc : snapfix_file(x->s, su,
	    "upstream/main/binary-amd64/Packages.xz", "old xz\n", h, err);
	if (rc)
		return rc;
	ix = snap_suite_add_index(su, "main/source/Sources.xz", h);
	ix->npara = 7;
	ix->nfiles = 21;
	ix->bytes = 7000;
	ix = snap_suite_add_index(su, "main/binary-amd64/Packages.xz",
	    x->old_xz);
	ix->npara = 40;
	/* Upstream's by-hash name of the old Packages.xz. */
	hash_to_hex(x->old_xz, hex);
	bh = xasprintf("main/binary-amd64/by-hash/SHA256/%s", hex);
	snap_suite_add_file(su, bh, x->old_xz, 7);
	free(bh);
	return 0;
}

static int
fix_init(struct fix *x)
{
	struct merr err = { 0, "" };
	char *p, *key = NULL;
	size_t klen = 0;
	int rc;

	memset(x, 0, sizeof(*x));
	x->root = helpers_tmpdir_new("t_dists");
	if (x->root == NULL)
		return MERR_IO;
	p = xasprintf("%s/store", x->root);
	rc = store_open(p, true, &x->s, &err);
	free(p);
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
	if (rc == 0)
		rc = fix_base(x, &err);
	if (rc)
		printf("# setup: %s\n", err.msg);
	return rc;
}

static void
fix_release(struct fix *x)
{
	snap_suite_release(&x->base);
	gpg_verifier_free(x->v);
	gpg_signer_free(x->g);
	store_close(x->s);
	helpers_tmpdir_free(x->root);
}

/* The Release: parsed, fields kept and set, each listed file checked. */
static void
check_release(struct fix *x, const struct snap_suite *out,
    const char *rel, size_t rlen)
{
	struct merr err = { 0, "" };
	struct release r;
	size_t i, bad = 0;
	int rc;

	rc = release_parse(rel, rlen, "Release", &r, &err);
	is_int(rc, 0, "release: the sync's parser reads it (%s)",
	    rc ? err.msg : "");
	if (rc)
		return;
	ok(rlen > strlen(want_head) &&
	    memcmp(rel, want_head, strlen(want_head)) == 0,
	    "release: fields kept byte for byte, Date set, Acquire-By-Hash: "
	    "yes, Valid-Until dropped, then SHA256");
	is_int(r.date, DATE, "release: Date is the composition's");
	is_int(r.valid_until, 0, "release: no Valid-Until");
	ok(r.by_hash, "release: by-hash");
	ok(r.no_arch_all, "release: No-Support-for-Architecture-all kept");
	ok(strstr(rel, "MD5Sum") == NULL && strstr(rel, "Snapshots") == NULL,
	    "release: no MD5Sum section left");
	for (i = 0; i < r.nfiles; i++) {
		const struct snap_file *f = snap_suite_file(out,
		    r.files[i].path);
		unsigned char h[HASH_LEN];
		size_t len = 0;
		char *data = f ? blob(x->s, f->hash, &len) : NULL;

		if (data)
			hash_buf(data, len, h);
		if (data == NULL || len != r.files[i].size ||
		    memcmp(h, r.files[i].sha256, HASH_LEN) != 0) {
			printf("#   listed '%s' does not match its blob\n",
			    r.files[i].path);
			bad++;
		}
		free(data);
	}
	is_int(bad, 0, "release: each of the %zu listed files matches its "
	    "blob (size, sha256)", r.nfiles);
	/* Listed: all but Release files, by-hash and hidden ones. */
	is_int(r.nfiles, out->nfiles - 4,
	    "release: lists every file of the suite but 3 Release files and "
	    "the hidden one");
	ok(release_find(&r, "upstream/main/binary-amd64/Packages.xz") ==
	    NULL && has_file(out, "upstream/main/binary-amd64/Packages.xz"),
	    "release: the hidden file is in the suite, not in the Release");
	release_free(&r);
}

static void
check_signatures(struct fix *x, const struct snap_suite *out,
    const char *rel, size_t rlen)
{
	struct merr err = { 0, "" };
	const struct snap_file *fi = snap_suite_file(out, "InRelease");
	const struct snap_file *fg = snap_suite_file(out, "Release.gpg");
	char *inr = NULL, *sig = NULL, *text = NULL, fpr[GPG_FPR_LEN + 1];
	size_t ilen = 0, slen = 0, tlen = 0;
	int rc;

	if (fi)
		inr = blob(x->s, fi->hash, &ilen);
	if (fg)
		sig = blob(x->s, fg->hash, &slen);
	rc = inr ? gpg_verify_clearsigned(x->v, inr, ilen, &text, &tlen, fpr,
	    &err) : MERR_NOTFOUND;
	is_int(rc, 0, "InRelease verifies with the signer's key (%s)",
	    rc ? err.msg : "");
	ok(rc == 0 && tlen == rlen && memcmp(text, rel, rlen) == 0,
	    "InRelease signs the Release text");
	is_str(fpr, gpg_signer_fpr(x->g), "signed by the signer's key");
	rc = sig ? gpg_verify_detached(x->v, rel, rlen, sig, slen, NULL, &err) :
	    MERR_NOTFOUND;
	is_int(rc, 0, "Release.gpg verifies over Release (%s)",
	    rc ? err.msg : "");
	free(inr);
	free(sig);
	free(text);
}

static void
check_variants(struct fix *x, const struct snap_suite *out)
{
	static const struct {
		const char *path;
		enum comp c;
	} v[] = {
		{ "main/binary-amd64/Packages", COMP_NONE },
		{ "main/binary-amd64/Packages.gz", COMP_GZ },
		{ "main/binary-amd64/Packages.xz", COMP_XZ },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		const struct snap_file *f = snap_suite_file(out, v[i].path);
		struct buf b = BUF_INIT;
		int rc = f ? blob_decode(x->s, f, v[i].c, &b) : MERR_NOTFOUND;

		ok(rc == 0 && b.len == strlen(packages) &&
		    memcmp(b.p, packages, b.len) == 0,
		    "%s: the exact text the lead gave", v[i].path);
		buf_release(&b);
	}
	ok(memcmp(snap_suite_file(out, "main/binary-amd64/Packages.xz")->hash,
	    x->old_xz, HASH_LEN) != 0, "upstream's Packages.xz is replaced");
	ok(!has_file(out, "main/binary-amd64/Packages.diff/Index"),
	    "upstream's pdiffs of the replaced index are gone");
}

/* What is not replaced is untouched; the indices. */
static void
check_kept(struct fix *x, const struct snap_suite *out)
{
	const char *keep[] = { "main/i18n/Translation-en.bz2",
	    "main/source/Sources.xz", "upstream/main/binary-amd64/Packages.xz" };
	const struct snap_index *si = NULL, *pi = NULL;
	size_t i, same = 0, bh = 0;

	for (i = 0; i < ARRAY_SIZE(keep); i++) {
		const struct snap_file *a = snap_suite_file(&x->base, keep[i]);
		const struct snap_file *b = snap_suite_file(out, keep[i]);

		if (a && b && a->size == b->size &&
		    memcmp(a->hash, b->hash, HASH_LEN) == 0)
			same++;
	}
	is_int(same, ARRAY_SIZE(keep), "base's other files are untouched");
	for (i = 0; i < out->nfiles; i++)
		if (strstr(out->files[i].path, "by-hash/") != NULL)
			bh++;
	is_int(bh, 0, "upstream's by-hash entry of the old index is gone");
	is_int(out->nfiles, 9, "9 files: 3 kept (one hidden), 3 Packages, 3 Release "
	    "files");
	for (i = 0; i < out->nindices; i++) {
		if (strcmp(out->indices[i].path, "main/source/Sources.xz") == 0)
			si = &out->indices[i];
		if (strcmp(out->indices[i].path, "main/binary-amd64/Packages")
		    == 0)
			pi = &out->indices[i];
	}
	is_int(out->nindices, 2, "two indices: Sources kept, Packages new");
	ok(si && si->npara == 7 && si->nfiles == 21 && si->bytes == 7000,
	    "the kept index keeps its counts");
	ok(pi && pi->npara == 2 && pi->nfiles == 2 && pi->bytes == 2810000 &&
	    memcmp(pi->hash, snap_suite_file(out,
	    "main/binary-amd64/Packages")->hash, HASH_LEN) == 0,
	    "the new index names the plain file, with the given counts");
	is_str(out->name, "stable", "the suite keeps its name");
	ok(out->date == DATE && out->date_str &&
	    strcmp(out->date_str, "Thu, 28 May 2026 20:26:40 UTC") == 0,
	    "the suite's date is the composition's");
}

/* apt asks for by-hash names; serve/ answers through channel_dists_file. */
static void
check_by_hash(const struct snap_suite *out)
{
	struct snap sn;
	const struct snap_file *f, *gz;
	char hex[HASH_HEX_LEN + 1], *url;

	memset(&sn, 0, sizeof(sn));
	sn.suites = (struct snap_suite *)out;
	sn.nsuites = 1;
	gz = snap_suite_file(out, "main/binary-amd64/Packages.gz");
	hash_to_hex(gz->hash, hex);
	url = xasprintf("main/binary-amd64/by-hash/SHA256/%s", hex);
	f = channel_dists_file(&sn, NULL, "stable", url);
	ok(f == gz, "by-hash: the new Packages.gz answers by its hash");
	free(url);
}

/*
 * Committed as a patch snapshot, the suite reads back whole and its new
 * blobs are in the blobs table: what serve/ answers by-hash names from
 * once a snapshot no longer lists them (route.c: suite_old_by_hash).
 */
static void
commit_composed(struct fix *x, const struct snap_suite *su)
{
	struct merr err = { 0, "" };
	struct snap_delta *d = snap_delta_new();
	struct store_blob_rec rec;
	struct store_txn *t;
	struct snap sn, got;
	int rc;

	memset(&sn, 0, sizeof(sn));
	sn.kind = SNAP_PATCH;
	sn.recipe = xstrdup("openssl: named\n");
	sn.suites = xcalloc(1, sizeof(*sn.suites));
	sn.nsuites = 1;
	snap_suite_copy(&sn.suites[0], su);
	rc = store_sync(x->s, &err);
	rc = rc ? rc : store_lock(x->s, "t_dists", false, &err);
	rc = rc ? rc : snap_commit(x->s, "m", &sn, d, NULL, &err);
	is_int(rc, 0, "commit: a composed suite as a patch (%s)",
	    rc ? err.msg : "");
	memset(&got, 0, sizeof(got));
	if (rc == 0 && store_txn_begin(x->s, false, &t, &err) == 0) {
		rc = snap_load(t, "m", sn.id, &got, &err);
		ok(rc == 0 && got.kind == SNAP_PATCH && got.nsuites == 1 &&
		    got.suites[0].nfiles == su->nfiles &&
		    got.suites[0].nindices == su->nindices,
		    "commit: read back by its ID, every file and index");
		rc = store_blob_get(t, snap_suite_file(su,
		    "main/binary-amd64/Packages.gz")->hash, &rec, &err);
		ok(rc == 0 && rec.size == snap_suite_file(su,
		    "main/binary-amd64/Packages.gz")->size,
		    "commit: the new .gz is a recorded blob");
		store_txn_abort(t);
	}
	snap_release(&got);
	snap_release(&sn);
	snap_delta_free(d);
}

static void
test_compose(struct fix *x)
{
	struct merr err = { 0, "" };
	struct dists_index ix = { "main/binary-amd64/Packages", packages,
	    sizeof(packages) - 1, 2, 2, 2810000 };
	struct snap_suite out, again;
	const struct snap_file *rf;
	char *rel = NULL, *up = NULL;
	size_t rlen = 0, ulen = 0;
	int rc;

	rc = dists_release_text(x->s, &x->base, &up, &ulen, &err);
	ok(rc == 0 && ulen == strlen(upstream) && memcmp(up, upstream,
	    ulen) == 0, "dists_release_text: upstream's Release, as stored");
	memset(&out, 0, sizeof(out));
	rc = dists_compose_suite(x->s, x->g, &x->base, up, ulen, &ix, 1, DATE,
	    "upstream/", &out, &err);
	is_int(rc, 0, "compose (%s)", rc ? err.msg : "");
	if (rc)
		goto out;
	rf = snap_suite_file(&out, "Release");
	if (rf)
		rel = blob(x->s, rf->hash, &rlen);
	ok(rel != NULL, "a Release blob");
	if (rel == NULL)
		goto out;
	check_release(x, &out, rel, rlen);
	check_signatures(x, &out, rel, rlen);
	check_variants(x, &out);
	check_kept(x, &out);
	check_by_hash(&out);

	/* The same composition writes the same index blobs. */
	memset(&again, 0, sizeof(again));
	rc = dists_compose_suite(x->s, x->g, &x->base, up, ulen, &ix, 1, DATE,
	    "upstream/", &again, &err);
	ok(rc == 0 && memcmp(snap_suite_file(&again,
	    "main/binary-amd64/Packages.gz")->hash, snap_suite_file(&out,
	    "main/binary-amd64/Packages.gz")->hash, HASH_LEN) == 0 &&
	    memcmp(snap_suite_file(&again, "Release")->hash, rf->hash,
	    HASH_LEN) == 0, "composed twice: the same .gz and Release");
	snap_suite_release(&again);
	commit_composed(x, &out);
out:
	free(rel);
	free(up);
	snap_suite_release(&out);
}

/* Big indices get no .xz; bad arguments are refused. */
static void
test_big_and_bad(struct fix *x)
{
	struct merr err = { 0, "" };
	struct buf big = BUF_INIT;
	struct dists_index ix[2];
	struct snap_suite out;
	int rc;

	while (big.len <= DISTS_XZ_MAX)
		buf_add(&big, packages, sizeof(packages) - 1);
	memset(ix, 0, sizeof(ix));
	ix[0].path = "main/binary-amd64/Packages";
	ix[0].text = big.p;
	ix[0].len = big.len;
	memset(&out, 0, sizeof(out));
	rc = dists_compose_suite(x->s, x->g, &x->base, upstream,
	    strlen(upstream), ix, 1, DATE, NULL, &out, &err);
	is_int(rc, 0, "big index: composed (%s)", rc ? err.msg : "");
	ok(has_file(&out, "main/binary-amd64/Packages.gz") &&
	    !has_file(&out, "main/binary-amd64/Packages.xz"),
	    "big index (> DISTS_XZ_MAX): .gz, no .xz");
	snap_suite_release(&out);

	ix[0].path = "main/binary-amd64/Packages.xz";
	memset(&out, 0, sizeof(out));
	rc = dists_compose_suite(x->s, x->g, &x->base, upstream,
	    strlen(upstream), ix, 1, DATE, NULL, &out, &err);
	is_int(rc, MERR_INVAL, "a path with a suffix is refused");
	ok(strstr(err.msg, "Packages.xz") != NULL, "message names it: %s",
	    err.msg);
	snap_suite_release(&out);
	ix[0].path = "main/binary-amd64/Packages";
	ix[1] = ix[0];
	memset(&out, 0, sizeof(out));
	rc = dists_compose_suite(x->s, x->g, &x->base, upstream,
	    strlen(upstream), ix, 2, DATE, NULL, &out, &err);
	is_int(rc, MERR_INVAL, "a path given twice is refused");
	snap_suite_release(&out);
	ix[0].path = "../Packages";
	memset(&out, 0, sizeof(out));
	rc = dists_compose_suite(x->s, x->g, &x->base, upstream,
	    strlen(upstream), ix, 1, DATE, NULL, &out, &err);
	is_int(rc, MERR_INVAL, "a path with '..' is refused");
	snap_suite_release(&out);
	buf_release(&big);
}

/* channel_release_text(): what promote signs, unchanged by the move. */
static void
test_channel_text(void)
{
	static const char in[] =
	    "Origin: T\nDate: Sat, 09 Nov 2024 10:05:20 UTC\n"
	    "Valid-Until: Sat, 16 Nov 2024 10:05:20 UTC\n"
	    "Snapshots: http://old/@SNAPSHOTID@/\nSuite: s\nSHA256:\n"
	    " 00 1 a\n\nTrailing: paragraph";
	static const char want[] =
	    "Origin: T\nDate: Thu, 28 May 2026 20:26:40 UTC\n"
	    "Valid-Until: Thu, 04 Jun 2026 20:26:40 UTC\n"
	    "Snapshots: http://h/m/@SNAPSHOTID@/\nSuite: s\nSHA256:\n"
	    " 00 1 a\n\nTrailing: paragraph\n";
	static const char nodate[] = "Origin: T\nSHA256:\n 00 1 a\n";
	char *got;
	size_t len;

	got = channel_release_text(in, strlen(in), DATE, DATE + 7 * 86400,
	    "http://h", "m", &len);
	is_str(got, want, "channel text: Date, Valid-Until, Snapshots "
	    "replaced in place, the rest kept");
	free(got);
	got = channel_release_text(in, strlen(in), DATE, 0, NULL, "m", &len);
	ok(strstr(got, "Valid-Until") == NULL && strstr(got, "Snapshots") ==
	    NULL && strstr(got, "Date: Thu, 28 May 2026") != NULL,
	    "channel text: without valid_until and base_url, both dropped");
	free(got);
	got = channel_release_text(nodate, strlen(nodate), DATE, 0, NULL, "m",
	    &len);
	is_str(got, "Origin: T\nSHA256:\n 00 1 a\n"
	    "Date: Thu, 28 May 2026 20:26:40 UTC\n",
	    "channel text: no Date: one is added at the end");
	free(got);
}

int
main(void)
{
	struct fix x;

	test_channel_text();
	if (fix_init(&x) != 0) {
		ok(0, "a store, a signer and a verifier");
		if (x.root)
			fix_release(&x);
		return tap_done();
	}
	test_compose(&x);
	test_big_and_bad(&x);
	fix_release(&x);
	return tap_done();
}
