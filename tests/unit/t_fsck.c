/*
 * t_fsck.c: fsck_run on a small store built by hand (no sync) in a
 * mkdtemp() directory: a clean store, then one break at a time (a blob
 * file the index does not list, a stray name, a corrupt blob, a blob of
 * the wrong size, a missing blob file, a reference to a blob the index
 * lost), each with the exact line `mirrord fsck` prints for it.
 */
#include "mirrord/common.h"

#include <fcntl.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/fsck.h"
#include "mirrord/hash.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "helpers.h"
#include "snapfix.h"
#include "tap.h"

#define RELEASE "Origin: test\nSuite: stable\n"
#define DEB "a package's bytes"
#define DEB_PATH "pool/main/x/x_1_all.deb"

struct fixture {
	struct store *s;
	struct conf c;
	struct conf_mirror m;
	unsigned char rel[HASH_LEN], deb[HASH_LEN];
	char id[SNAP_ID_LEN + 1];
};

/* A store with one snapshot of mirror "m": a Release and a pool file. */
static int
fixture_make(struct fixture *fx, const char *dir)
{
	struct merr err = { 0, "" };
	struct snap sn;
	struct snap_suite *su = snapfix_init(&sn);
	struct snap_delta *d;
	int rc;

	memset(fx, 0, sizeof(*fx));
	fx->m.name = "m";
	fx->c.mirrors = &fx->m;
	fx->c.nmirrors = 1;
	rc = store_open(dir, true, &fx->s, &err);
	if (rc == 0)
		rc = store_put_mem(fx->s, DEB, strlen(DEB), fx->deb, &err);
	if (rc == 0)
		rc = snapfix_file(fx->s, su, "Release", RELEASE, fx->rel,
		    &err);
	if (rc) {
		ok(0, "fixture (%s)", err.msg);
		snap_release(&sn);
		return rc;
	}
	d = snap_delta_new();
	snap_delta_add(d, DEB_PATH, strlen(DEB_PATH), fx->deb, strlen(DEB), 1);
	rc = snap_commit(fx->s, "m", &sn, d, NULL, &err);
	ok(rc == 0, "commit a snapshot (%s)", rc ? err.msg : "ok");
	memcpy(fx->id, sn.id, sizeof(fx->id));
	snap_delta_free(d);
	snap_release(&sn);
	return rc;
}

static int nfound;

static void
count_found(void *ctx, const struct fsck_finding *f)
{
	nfound++;
}

/* Runs fsck; returns its report (to release) after checking it ran. */
static void
run(struct fixture *fx, struct fsck_report *r, const char *what)
{
	struct fsck_opts o = { count_found, NULL };
	struct merr err = { 0, "" };
	int rc;

	nfound = 0;
	rc = fsck_run(fx->s, &fx->c, &o, r, &err);
	ok(rc == 0, "%s: fsck ran (%s)", what, rc ? err.msg : "ok");
	is_int(nfound, r->nfindings, "%s: each finding told as made", what);
}

/* The one finding of r, of kind, with text want. */
static void
one_finding(const struct fsck_report *r, enum fsck_kind kind,
    const char *want, const char *what)
{
	is_int(r->nfindings, 1, "%s: one finding", what);
	if (r->nfindings < 1)
		return;
	is_int(r->findings[0].kind, kind, "%s: its kind", what);
	is_str(r->findings[0].text, want, "%s: its line", what);
}

/* Writes len bytes of text over blob h's file. */
static void
overwrite(struct store *s, const unsigned char h[HASH_LEN], const char *text)
{
	char *path = store_blob_path(s, h);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	ok(fd >= 0 && write(fd, text, strlen(text)) ==
	    (ssize_t)strlen(text), "overwrite '%s'", path);
	if (fd >= 0)
		close(fd);
	free(path);
}

static void
test_clean_and_files(const char *root)
{
	struct fixture fx;
	struct fsck_report r;
	unsigned char orphan[HASH_LEN];
	char hex[HASH_HEX_LEN + 1], *want, *path, *stray;
	struct merr err = { 0, "" };
	int rc;

	path = xasprintf("%s/files", root);
	rc = fixture_make(&fx, path);
	free(path);
	if (rc)
		return;
	run(&fx, &r, "clean");
	is_int(r.blobs, 2, "clean: both blobs re-hashed");
	is_int(r.bytes, strlen(RELEASE) + strlen(DEB), "clean: their bytes");
	is_int(r.refs, 2, "clean: the pool file and the Release checked");
	is_int(r.problems, 0, "clean: no problem");
	is_int(r.orphans, 0, "clean: no orphan");
	is_int(r.nfindings, 0, "clean: nothing to say");
	fsck_report_release(&r);

	/* A blob file nothing lists: reported, not a problem. */
	rc = store_put_mem(fx.s, "nobody's", 8, orphan, &err);
	ok(rc == 0, "an unlisted blob file");
	run(&fx, &r, "orphan");
	hash_to_hex(orphan, hex);
	want = xasprintf("blob %s: file not in the index (unreferenced)", hex);
	one_finding(&r, FSCK_ORPHAN, want, "orphan");
	is_int(r.orphans, 1, "orphan: counted");
	is_int(r.problems, 0, "orphan: not a problem");
	free(want);
	fsck_report_release(&r);

	/* A file under blobs/ not named like a blob. */
	path = store_blob_path(fx.s, orphan);
	unlink(path);
	*strrchr(path, '/') = '\0';
	stray = xasprintf("%s/README", path);
	close(open(stray, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	run(&fx, &r, "stray");
	want = xasprintf("%s/README: not a blob name", path);
	one_finding(&r, FSCK_STRAY, want, "stray");
	is_int(r.problems, 0, "stray: not a problem");
	unlink(stray);
	free(want);
	free(stray);
	free(path);
	fsck_report_release(&r);

	/* A corrupt blob: same size, other bytes. */
	overwrite(fx.s, fx.deb, "A PACKAGE'S BYTES");
	run(&fx, &r, "corrupt");
	hash_to_hex(fx.deb, hex);
	want = xasprintf("blob %s: sha256 mismatch", hex);
	one_finding(&r, FSCK_HASH, want, "corrupt");
	ok(r.findings && r.findings[0].problem, "corrupt: a problem");
	is_int(r.problems, 1, "corrupt: one problem");
	free(want);
	fsck_report_release(&r);

	/* A blob of the wrong size. */
	overwrite(fx.s, fx.deb, "short");
	run(&fx, &r, "short");
	want = xasprintf("blob %s: size 5, expected %zu", hex, strlen(DEB));
	one_finding(&r, FSCK_SIZE, want, "short");
	free(want);
	fsck_report_release(&r);
	overwrite(fx.s, fx.deb, DEB);

	/* A missing blob file (the index still lists it). */
	path = store_blob_path(fx.s, fx.rel);
	ok(unlink(path) == 0, "remove the Release's blob file");
	run(&fx, &r, "missing");
	hash_to_hex(fx.rel, hex);
	want = xasprintf("blob %s: missing (blob '%s' is not in store "
	    "'%s/files')", hex, hex, root);
	one_finding(&r, FSCK_MISSING_FILE, want, "missing");
	is_int(r.problems, 1, "missing: one problem");
	is_int(r.blobs, 2, "missing: still counted as checked");
	free(want);
	free(path);
	fsck_report_release(&r);
	store_close(fx.s);
}

static void
test_missing_ref(const char *root)
{
	struct fixture fx;
	struct fsck_report r;
	struct store_txn *t;
	struct merr err = { 0, "" };
	char hex[HASH_HEX_LEN + 1], *want, *path;
	int rc;

	path = xasprintf("%s/refs", root);
	rc = fixture_make(&fx, path);
	free(path);
	if (rc)
		return;
	/* The index forgets the Release; the manifest still names it. */
	rc = store_txn_begin(fx.s, true, &t, &err);
	if (rc == 0)
		rc = store_blob_del(t, fx.rel, &err);
	if (rc == 0)
		rc = store_txn_commit(t, &err);
	ok(rc == 0, "drop the Release's row (%s)", rc ? err.msg : "ok");
	run(&fx, &r, "lost row");
	hash_to_hex(fx.rel, hex);
	is_int(r.nfindings, 2, "lost row: two findings");
	want = xasprintf("blob %s: missing, named by snapshot m/%s "
	    "dists/stable/Release", hex, fx.id);
	if (r.nfindings == 2) {
		is_int(r.findings[0].kind, FSCK_MISSING_REF,
		    "lost row: a missing reference first");
		is_str(r.findings[0].text, want, "lost row: its line");
		is_int(r.findings[1].kind, FSCK_ORPHAN,
		    "lost row: then its file, unlisted");
	}
	is_int(r.problems, 1, "lost row: one problem");
	is_int(r.blobs, 1, "lost row: one blob listed");
	free(want);
	fsck_report_release(&r);
	store_close(fx.s);
}

int
main(void)
{
	char *root = helpers_tmpdir_new("t_fsck");

	if (root == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	test_clean_and_files(root);
	test_missing_ref(root);
	helpers_tmpdir_free(root);
	return tap_done();
}
