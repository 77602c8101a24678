/*
 * t_format.c: store formats: format 2's one fan-out level, a format 1
 * store (made with MIRRORD_TEST_STORE_FORMAT=1, the tests' switch) read
 * as it is, upgraded by a writer's open, an upgrade a kill interrupted
 * resumed, and a newer format refused.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <dirent.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/fsck.h"
#include "mirrord/hash.h"
#include "mirrord/store.h"

#include "helpers.h"
#include "tap.h"

#define NBLOBS	300

/* A TAP comment line. */
#define diag(...) \
	(printf("# "), printf(__VA_ARGS__), printf("\n"))

struct fixture {
	char *dir;
	unsigned char h[NBLOBS][HASH_LEN];
	char body[NBLOBS][32];
};

/* A store at f->dir with NBLOBS listed blobs, in format 1 if old. */
static int
make_store(struct fixture *f, bool old)
{
	struct merr err = { 0 };
	struct store_txn *t;
	struct store *s;
	int i, rc;

	if (old)
		setenv("MIRRORD_TEST_STORE_FORMAT", "1", 1);
	rc = store_open(f->dir, true, &s, &err);
	unsetenv("MIRRORD_TEST_STORE_FORMAT");
	if (rc) {
		diag("open: %s", err.msg);
		return rc;
	}
	rc = store_txn_begin(s, true, &t, &err);
	for (i = 0; rc == 0 && i < NBLOBS; i++) {
		snprintf(f->body[i], sizeof(f->body[i]), "blob number %d", i);
		rc = store_put_mem(s, f->body[i], strlen(f->body[i]), f->h[i],
		    &err);
		if (rc == 0)
			rc = store_blob_put(t, f->h[i], strlen(f->body[i]),
			    &err);
	}
	if (rc == 0)
		rc = store_sync(s, &err);
	if (rc == 0)
		rc = store_txn_commit(t, &err);
	else if (t != NULL)
		store_txn_abort(t);
	if (rc)
		diag("fill: %s", err.msg);
	store_close(s);
	return rc;
}

/* blobs/ab/<h> (old false) or blobs/ab/cd/<h>. */
static char *
path_in(const struct fixture *f, int i, bool old)
{
	char hex[HASH_HEX_LEN + 1];

	hash_to_hex(f->h[i], hex);
	if (old)
		return xasprintf("%s/blobs/%.2s/%.2s/%s", f->dir, hex, hex + 2,
		    hex);
	return xasprintf("%s/blobs/%.2s/%s", f->dir, hex, hex);
}

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* How many blobs are at their new name (old false) or their old one. */
static int
count_at(const struct fixture *f, bool old)
{
	int i, n = 0;

	for (i = 0; i < NBLOBS; i++) {
		char *p = path_in(f, i, old);

		n += exists(p);
		free(p);
	}
	return n;
}

/* Directories under blobs/ab/ (format 1's ab/cd/), over every ab/. */
static int
count_subdirs(const char *dir)
{
	char *top = xasprintf("%s/blobs", dir);
	struct dirent *e, *e2;
	DIR *d = opendir(top), *d2;
	int n = 0;

	while (d != NULL && (e = readdir(d)) != NULL) {
		char *ab;

		if (e->d_name[0] == '.')
			continue;
		ab = xasprintf("%s/%s", top, e->d_name);
		d2 = opendir(ab);
		while (d2 != NULL && (e2 = readdir(d2)) != NULL) {
			char *p = xasprintf("%s/%s", ab, e2->d_name);
			struct stat st;

			if (e2->d_name[0] != '.' && stat(p, &st) == 0 &&
			    S_ISDIR(st.st_mode))
				n++;
			free(p);
		}
		if (d2 != NULL)
			closedir(d2);
		free(ab);
	}
	if (d != NULL)
		closedir(d);
	free(top);
	return n;
}

/* Every blob opens and holds its bytes. */
static bool
serves_all(struct store *s, const struct fixture *f)
{
	struct merr err = { 0 };
	char buf[64];
	int i;

	for (i = 0; i < NBLOBS; i++) {
		int fd = store_blob_open(s, f->h[i], &err);
		ssize_t n;

		if (fd < 0) {
			diag("blob %d: %s", i, err.msg);
			return false;
		}
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n != (ssize_t)strlen(f->body[i]) ||
		    memcmp(buf, f->body[i], (size_t)n) != 0) {
			diag("blob %d: wrong bytes", i);
			return false;
		}
	}
	return true;
}

/* fsck with no mirrors: every listed blob re-hashed, the walk's strays. */
static void
fsck_clean(struct store *s, const char *what)
{
	struct fsck_report r;
	struct merr err = { 0 };
	struct conf c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = fsck_run(s, &c, NULL, &r, &err);
	ok(rc == 0 && r.problems == 0 && r.orphans == 0 &&
	    r.blobs == NBLOBS, "%s: fsck clean (%s; %llu blobs, %llu "
	    "problems, %llu unlisted)", what, rc ? err.msg : "ok",
	    (unsigned long long)r.blobs, (unsigned long long)r.problems,
	    (unsigned long long)r.orphans);
	fsck_report_release(&r);
}

static int
count_file(void *ctx, const char *dir, int dfd, const char *name,
    const unsigned char *h, struct merr *err)
{
	(*(int *)ctx)++;
	return 0;
}

/* Files a strict walk (gc's) passes. */
static int
walk_count(struct store *s)
{
	struct merr err = { 0 };
	int n = 0;
	struct store_blob_walk w = { true, NULL, count_file, NULL, &n };

	if (store_blob_walk(s, &w, &err)) {
		diag("walk: %s", err.msg);
		return -1;
	}
	return n;
}

/* The end state of an upgrade, seen from a fresh read-only open. */
static void
check_upgraded(const struct fixture *f, const char *what)
{
	struct merr err = { 0 };
	struct store *s;

	is_int(count_at(f, false), NBLOBS, "%s: every blob at ab/<h>", what);
	is_int(count_at(f, true), 0, "%s: none left at ab/cd/<h>", what);
	is_int(count_subdirs(f->dir), 0, "%s: no ab/cd/ directory", what);
	if (store_open(f->dir, false, &s, &err) != 0) {
		ok(0, "%s: reopen: %s", what, err.msg);
		return;
	}
	is_int(store_format(s), STORE_FORMAT, "%s: format 2 recorded", what);
	ok(serves_all(s, f), "%s: every blob served", what);
	is_int(walk_count(s), NBLOBS, "%s: the walk sees each once", what);
	fsck_clean(s, what);
	store_close(s);
}

static void
test_new(const char *root)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct merr err = { 0 };
	struct store *s;

	f->dir = xasprintf("%s/new", root);
	if (make_store(f, false) != 0) {
		ok(0, "new store made");
		goto out;
	}
	is_int(count_at(f, false), NBLOBS, "new store: every blob at ab/<h>");
	is_int(count_subdirs(f->dir), 0, "new store: no ab/cd/ directory");
	if (store_open(f->dir, false, &s, &err) == 0) {
		is_int(store_format(s), STORE_FORMAT, "new store: format 2");
		is_int(walk_count(s), NBLOBS, "new store: the walk sees all");
		store_close(s);
	} else
		ok(0, "reopen: %s", err.msg);
out:
	free(f->dir);
	free(f);
}

static void
test_upgrade(const char *root)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct merr err = { 0 };
	struct store *s, *s2;
	int rc;

	f->dir = xasprintf("%s/old", root);
	if (make_store(f, true) != 0) {
		ok(0, "format 1 store made");
		goto out;
	}
	is_int(count_at(f, true), NBLOBS, "format 1: every blob at ab/cd/<h>");

	rc = store_open(f->dir, false, &s, &err);
	is_int(rc, 0, "format 1: a read-only open works");
	if (rc == 0) {
		is_int(store_format(s), 1, "format 1: says format 1");
		ok(serves_all(s, f), "format 1: every blob served");
		is_int(walk_count(s), NBLOBS, "format 1: the walk sees all");
		fsck_clean(s, "format 1");
		store_close(s);
	}
	is_int(count_at(f, true), NBLOBS, "format 1: a reader moved nothing");

	/* A writer whose locks are busy leaves it; the holder upgrades. */
	setenv("MIRRORD_TEST_STORE_FORMAT", "1", 1);
	rc = store_open(f->dir, true, &s2, &err);
	unsetenv("MIRRORD_TEST_STORE_FORMAT");
	if (rc == 0)
		rc = store_lock(s2, "test", false, &err);
	is_int(rc, 0, "another writer holds the writer lock");
	if (rc == 0) {
		rc = store_open(f->dir, true, &s, &err);
		is_int(rc, 0, "a writer's open with the lock busy works");
		if (rc == 0) {
			unsigned char nh[HASH_LEN];
			char *np;

			is_int(store_format(s), 1, "lock busy: not upgraded");
			rc = store_put_mem(s, "new", 3, nh, &err);
			np = store_blob_path(s, nh);
			ok(rc == 0 && exists(np) && strstr(np, "/blobs/") &&
			    strlen(strstr(np, "/blobs/")) == 7 + 3 +
			    HASH_HEX_LEN, "lock busy: a new blob is written "
			    "at ab/<h> (%s)", np);
			is_int(store_blob_unlink(s, nh, &err), 0,
			    "store_blob_unlink");
			ok(!exists(np), "the file is gone");
			free(np);
			store_close(s);
		}
	}
	store_close(s2);

	rc = store_open(f->dir, true, &s, &err);
	is_int(rc, 0, "a writer's open");
	if (rc == 0) {
		struct store_upgrade_stats st;

		is_int(store_format(s), STORE_FORMAT, "upgraded to format 2");
		rc = store_upgrade(s, true, &st, &err);
		ok(rc == 0 && st.moved == NBLOBS && st.dirs > 0,
		    "store_upgrade says what the open did (%llu moved)",
		    (unsigned long long)st.moved);
		store_close(s);
	}
	check_upgraded(f, "upgraded");
out:
	free(f->dir);
	free(f);
}

/*
 * A kill after some renames: some blobs at ab/<h>, the rest at ab/cd/<h>,
 * one at both (written again at its new name meanwhile), an emptied
 * ab/cd/, no record. Readers and the walk see all; a writer finishes.
 */
static void
test_resume(const char *root)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct merr err = { 0 };
	struct store_upgrade_stats st;
	struct store *s;
	char *a, *b, *c;
	int i, rc;

	f->dir = xasprintf("%s/half", root);
	if (make_store(f, true) != 0) {
		ok(0, "format 1 store made");
		goto out;
	}
	for (i = 0; i < NBLOBS / 2; i++) {
		a = path_in(f, i, true);
		b = path_in(f, i, false);
		if (rename(a, b) != 0)
			diag("rename %s: %s", a, strerror(errno));
		c = xstrdup(a);
		*strrchr(c, '/') = '\0';
		rmdir(c);	/* some emptied, some not */
		free(a);
		free(b);
		free(c);
	}
	a = path_in(f, NBLOBS - 1, true);
	b = path_in(f, NBLOBS - 1, false);
	ok(link(a, b) == 0, "one blob at both names");
	free(a);
	free(b);

	rc = store_open(f->dir, false, &s, &err);
	is_int(rc, 0, "interrupted: a read-only open works");
	if (rc == 0) {
		is_int(store_format(s), 1, "interrupted: still format 1");
		ok(serves_all(s, f), "interrupted: every blob served");
		/* The blob at both names is passed twice. */
		is_int(walk_count(s), NBLOBS + 1, "interrupted: the walk "
		    "sees every file of both layouts");
		fsck_clean(s, "interrupted");
		rc = store_upgrade(s, true, &st, &err);
		ok(rc == MERR_INVAL, "a read-only store is not upgraded");
		store_close(s);
	}

	setenv("MIRRORD_TEST_STORE_FORMAT", "1", 1);
	rc = store_open(f->dir, true, &s, &err);
	unsetenv("MIRRORD_TEST_STORE_FORMAT");
	is_int(rc, 0, "a writer's open (format 1 kept: the test switch)");
	if (rc == 0) {
		rc = store_upgrade(s, true, &st, &err);
		is_int(rc, 0, "the upgrade resumes (%s)", rc ? err.msg : "ok");
		is_int((int)st.moved, NBLOBS - NBLOBS / 2 - 1,
		    "only what was left is moved");
		is_int((int)st.dropped, 1, "the old name of a blob at both "
		    "names is removed");
		ok(st.dirs > 0, "emptied ab/cd/ directories removed");
		is_int(store_format(s), STORE_FORMAT, "format 2 now");
		rc = store_upgrade(s, true, &st, &err);
		ok(rc == 0 && (int)st.moved == NBLOBS - NBLOBS / 2 - 1,
		    "a second call has nothing to do, says what the first "
		    "did");
		store_close(s);
	}
	check_upgraded(f, "resumed");
out:
	free(f->dir);
	free(f);
}

static void
test_newer(const char *root)
{
	char *dir = xasprintf("%s/future", root);
	struct merr err = { 0 };
	struct store_txn *t;
	struct store *s;
	int rc;

	rc = store_open(dir, true, &s, &err);
	if (rc == 0) {
		rc = store_txn_begin(s, true, &t, &err);
		if (rc == 0)
			rc = store_meta_put(t, NULL, "store.format", 12, "3", 1,
			    &err);
		if (rc == 0)
			rc = store_txn_commit(t, &err);
		store_close(s);
	}
	is_int(rc, 0, "a store recorded as format 3");
	memset(&err, 0, sizeof(err));
	rc = store_open(dir, false, &s, &err);
	is_int(rc, MERR_INVAL, "format 3: a read-only open is refused");
	ok(strstr(err.msg, "format 3") != NULL &&
	    strstr(err.msg, "newer mirrord") != NULL,
	    "format 3: the message says why and what to do (%s)", err.msg);
	if (rc == 0)
		store_close(s);
	memset(&err, 0, sizeof(err));
	rc = store_open(dir, true, &s, &err);
	is_int(rc, MERR_INVAL, "format 3: a writer's open is refused");
	if (rc == 0)
		store_close(s);
	free(dir);
}

/* store_prepare_dirs makes the 256 ab/ and nothing below them. */
static void
test_prepare(const char *root)
{
	char *dir = xasprintf("%s/prep", root), *top;
	unsigned char (*h)[HASH_LEN] = xcalloc(1024, HASH_LEN);
	struct merr err = { 0 };
	struct store *s;
	int i, rc;

	for (i = 0; i < 1024; i++) {
		char b[16];

		snprintf(b, sizeof(b), "%d", i);
		hash_buf(b, strlen(b), h[i]);
	}
	rc = store_open(dir, true, &s, &err);
	if (rc == 0) {
		rc = store_prepare_dirs(s, h, 1024, &err);
		store_close(s);
	}
	is_int(rc, 0, "prepare dirs for 1024 hashes");
	top = xasprintf("%s/blobs", dir);
	{
		DIR *d = opendir(top);
		struct dirent *e;
		int n = 0;

		while (d != NULL && (e = readdir(d)) != NULL)
			n += e->d_name[0] != '.';
		if (d != NULL)
			closedir(d);
		ok(n > 200 && n <= 256, "blobs/ab/ made (%d)", n);
	}
	is_int(count_subdirs(dir), 0, "no blobs/ab/cd/ made");
	free(top);
	free(h);
	free(dir);
}

int
main(void)
{
	char *root;

	root = helpers_tmpdir_new("t_format");
	if (root == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	unsetenv("MIRRORD_TEST_STORE_FORMAT");
	test_new(root);
	test_upgrade(root);
	test_resume(root);
	test_newer(root);
	test_prepare(root);
	helpers_tmpdir_free(root);
	return tap_done();
}
