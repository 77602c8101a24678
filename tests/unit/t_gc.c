/*
 * t_gc.c: gc in a mkdtemp() store: its walk of blobs/ for files that no
 * table lists (orphans): which files it removes, which it keeps, and that
 * --dry-run and a per-mirror run remove nothing; and its collection of
 * the blobs retention leaves unreferenced: the grace period, a blob a kept
 * snapshot still names, rows before files (fsck finds the store sound).
 */
#include "mirrord/common.h"

#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/fsck.h"
#include "mirrord/gc.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "helpers.h"
#include "snapfix.h"
#include "tap.h"

/* A blob file of text, no row; its mtime age seconds ago. */
static void
put_file(struct store *s, const char *text, time_t age,
    unsigned char h[HASH_LEN])
{
	struct merr err = { 0, "" };
	struct timespec ts[2];
	char *path;
	int rc;

	rc = store_put_mem(s, text, strlen(text), h, &err);
	ok(rc == 0, "put '%s' (%s)", text, rc ? err.msg : "ok");
	path = store_blob_path(s, h);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - age;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
	free(path);
}

static bool
blob_exists(struct store *s, const unsigned char h[HASH_LEN])
{
	char *path = store_blob_path(s, h);
	struct stat sb;
	bool r = lstat(path, &sb) == 0;

	free(path);
	return r;
}

static void
test_orphans(const char *root)
{
	struct merr err = { 0, "" };
	struct store *s = NULL;
	struct store_txn *t;
	struct gc_stats st;
	struct conf c;
	struct conf_mirror m;
	unsigned char listed[HASH_LEN], old[HASH_LEN], young[HASH_LEN];
	unsigned char moved[HASH_LEN];
	char *dir = xasprintf("%s/store", root), *p, *q, *wrong;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&m, 0, sizeof(m));
	m.name = "demo";
	rc = store_open(dir, true, &s, &err);
	free(dir);
	if (rc) {
		ok(0, "open (%s)", err.msg);
		return;
	}
	store_lock(s, "t_gc", false, &err);
	put_file(s, "listed, old", 7200, listed);
	put_file(s, "orphan, old", 7200, old);
	put_file(s, "orphan, young", 60, young);
	rc = store_txn_begin(s, true, &t, &err);
	if (rc == 0)
		rc = store_blob_put(t, listed, 11, &err);
	if (rc == 0)
		rc = store_txn_commit(t, &err);
	is_int(rc, 0, "list one blob");
	/* An old orphan's bytes under another blob's directory. */
	put_file(s, "orphan, misplaced", 7200, moved);
	p = store_blob_path(s, moved);
	q = store_blob_path(s, young);
	*strrchr(q, '/') = '\0';	/* young's directory */
	wrong = xasprintf("%s/%s", q, strrchr(p, '/') + 1);
	is_int(rename(p, wrong), 0, "move an orphan to another's directory");
	free(p);
	p = xasprintf("%s/README", q);
	close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	free(p);
	free(q);

	rc = gc_run(s, &c, NULL, 3600, true, &st, &err);
	is_int(rc, 0, "dry run");
	is_int(st.orphans_removed, 1, "dry run: one old orphan would go");
	is_int(st.orphans_pending, 1, "dry run: one young orphan kept");
	ok(blob_exists(s, old), "dry run: the old orphan is still there");

	rc = gc_run(s, &c, &m, 3600, false, &st, &err);
	is_int(rc, 0, "per-mirror run");
	is_int(st.orphans_removed + st.orphans_pending, 0,
	    "per-mirror run: no walk");
	ok(blob_exists(s, old), "per-mirror run: the old orphan is still there");

	rc = gc_run(s, &c, NULL, 3600, false, &st, &err);
	is_int(rc, 0, "gc (%s)", rc ? err.msg : "ok");
	is_int(st.orphans_removed, 1, "one orphan removed");
	is_int(st.orphan_bytes_removed, strlen("orphan, old"), "its bytes");
	is_int(st.orphans_pending, 1, "one orphan younger than the grace");
	ok(!blob_exists(s, old), "the old orphan is gone");
	ok(blob_exists(s, young), "the young orphan is kept");
	ok(blob_exists(s, listed), "the listed blob is kept, old as it is");

	rc = gc_run(s, &c, NULL, 0, false, &st, &err);
	is_int(rc, 0, "gc with no grace");
	is_int(st.orphans_removed, 1, "no grace: the young orphan goes too");
	ok(!blob_exists(s, young), "the young orphan is gone");
	ok(blob_exists(s, listed), "the listed blob is still kept");
	p = store_blob_path(s, young);
	*strrchr(p, '/') = '\0';
	q = xasprintf("%s/README", p);
	ok(access(q, F_OK) == 0, "a file not named like a blob is kept");
	free(q);
	free(p);
	ok(access(wrong, F_OK) == 0,
	    "a blob name in another blob's directory is kept");
	free(wrong);
	store_close(s);
}

/* Sets the mtime of the directory holding h's file to age seconds ago. */
static void
age_dir(struct store *s, const unsigned char h[HASH_LEN], time_t age)
{
	struct timespec ts[2];
	char *path = store_blob_path(s, h);

	*strrchr(path, '/') = '\0';
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - age;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	is_int(utimensat(AT_FDCWD, path, ts, 0), 0, "age a blob directory");
	free(path);
}

/*
 * After a full walk (which leaves <store>/gc-swept), gc reads only the
 * directories changed since then less the grace: an old orphan in an
 * unchanged directory stays until the next full walk, a week on; one in a
 * changed directory goes at once.
 */
static void
test_incremental(const char *root)
{
	struct merr err = { 0, "" };
	struct store *s = NULL;
	struct gc_stats st;
	struct conf c;
	unsigned char quiet[HASH_LEN], busy[HASH_LEN];
	char *dir = xasprintf("%s/store-inc", root), *mark, *a, *b;
	struct timespec ts[2];
	int rc, i;

	memset(&c, 0, sizeof(c));
	rc = store_open(dir, true, &s, &err);
	if (rc) {
		ok(0, "open (%s)", err.msg);
		free(dir);
		return;
	}
	store_lock(s, "t_gc", false, &err);
	mark = xasprintf("%s/gc-swept", dir);
	free(dir);
	rc = gc_run(s, &c, NULL, 3600, false, &st, &err);
	is_int(rc, 0, "a first gc: a full walk");
	ok(access(mark, F_OK) == 0, "it leaves gc-swept");

	/* Two old orphans in two different directories. */
	put_file(s, "quiet orphan", 7200, quiet);
	for (i = 0; ; i++) {
		char text[32];

		snprintf(text, sizeof(text), "busy orphan %d", i);
		put_file(s, text, 7200, busy);
		a = store_blob_path(s, quiet);
		b = store_blob_path(s, busy);
		*strrchr(a, '/') = '\0';
		*strrchr(b, '/') = '\0';
		rc = strcmp(a, b);
		free(a);
		free(b);
		if (rc != 0)
			break;
	}
	/* The quiet one's directory unchanged since before the walk's grace. */
	age_dir(s, quiet, 3 * 3600);
	rc = gc_run(s, &c, NULL, 3600, false, &st, &err);
	is_int(rc, 0, "an incremental gc");
	ok(st.orphan_dirs_skipped > 0 && st.orphan_dirs_walked > 0,
	    "it skips unchanged directories (%llu walked, %llu skipped)",
	    (unsigned long long)st.orphan_dirs_walked,
	    (unsigned long long)st.orphan_dirs_skipped);
	ok(!blob_exists(s, busy), "an orphan in a changed directory goes");
	ok(blob_exists(s, quiet),
	    "one in a directory unchanged since the full walk stays");

	/* A week after the full walk, the next walk is full again. */
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - 8 * 86400;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	utimensat(AT_FDCWD, mark, ts, 0);
	rc = gc_run(s, &c, NULL, 3600, false, &st, &err);
	is_int(rc, 0, "gc a week later");
	is_int(st.orphan_dirs_skipped, 0, "a full walk skips nothing");
	ok(!blob_exists(s, quiet), "the quiet orphan goes then");
	free(mark);
	store_close(s);
}

/*
 * gc decides about queued blobs only (TBL_GC), so it reads the kept
 * manifests only when something is queued: the daemon's gc after a sync
 * that dropped nothing reads none, whatever the history. A manifest that
 * cannot be parsed shows which runs read them.
 */
static void
test_kept_bounded(const char *root)
{
	struct merr err = { 0, "" };
	struct store *s = NULL;
	struct store_txn *t;
	struct gc_stats st;
	struct conf c;
	unsigned char h[HASH_LEN];
	char *dir = xasprintf("%s/kept", root);
	static const char key[] = "other\0" "20260101T000000Z";
	int rc;

	memset(&c, 0, sizeof(c));
	rc = store_open(dir, true, &s, &err);
	free(dir);
	if (rc) {
		ok(0, "open (%s)", err.msg);
		return;
	}
	rc = store_txn_begin(s, true, &t, &err);
	if (rc == 0)
		rc = store_put(t, TBL_SNAPS, key, sizeof(key) - 1,
		    "not a manifest", 14, &err);
	if (rc == 0)
		rc = store_txn_commit(t, &err);
	is_int(rc, 0, "a snapshot row whose manifest does not parse");
	rc = gc_run(s, &c, NULL, 3600, false, &st, &err);
	is_int(rc, 0, "nothing queued: gc reads no manifest (%s)",
	    rc ? err.msg : "ok");
	hash_buf("queued", 6, h);
	rc = store_txn_begin(s, true, &t, &err);
	if (rc == 0)
		rc = store_gc_queue(t, h, (int64_t)time(NULL), &err);
	if (rc == 0)
		rc = store_txn_commit(t, &err);
	is_int(rc, 0, "queue a blob");
	rc = gc_run(s, &c, NULL, 3600, false, &st, &err);
	ok(rc != 0 && strstr(err.msg, "20260101T000000Z") != NULL,
	    "a blob queued: the manifests are read (%s)", err.msg);
	store_close(s);
}

/*
 * Commits a snapshot of mirror "m": suite stable with a Release (text
 * rel) and a Contents file (text shared), and pool changes a.deb (da: +1,
 * -1 or 0) and b.deb (db), whose blobs are the texts "A" and "B".
 */
static void
commit_snap(struct store *s, const char *rel, const char *shared, int da,
    int db)
{
	struct merr err = { 0, "" };
	struct snap sn;
	struct snap_suite *su = snapfix_init(&sn);
	struct snap_delta *d = snap_delta_new();
	unsigned char h[HASH_LEN];
	int rc;

	rc = snapfix_file(s, su, "Release", rel, h, &err);
	if (rc == 0)
		rc = snapfix_file(s, su, "main/Contents", shared, h, &err);
	if (rc == 0)
		rc = store_put_mem(s, "A", 1, h, &err);
	if (rc == 0 && da)
		snap_delta_add(d, "pool/a.deb", 10, h, 1, da);
	if (rc == 0)
		rc = store_put_mem(s, "B", 1, h, &err);
	if (rc == 0 && db)
		snap_delta_add(d, "pool/b.deb", 10, h, 1, db);
	if (rc == 0)
		rc = store_sync(s, &err);
	if (rc == 0)
		rc = snap_commit(s, "m", &sn, d, NULL, &err);
	ok(rc == 0, "commit a snapshot (%s)", rc ? err.msg : "ok");
	snap_release(&sn);
	snap_delta_free(d);
}

/* Whether the blobs table lists blob h. */
static bool
blob_listed(struct store *s, const unsigned char h[HASH_LEN])
{
	struct merr err = { 0, "" };
	struct store_blob_rec rec;
	struct store_txn *t;
	bool r;

	if (store_txn_begin(s, false, &t, &err) != 0)
		return false;
	r = store_blob_get(t, h, &rec, &err) == 0;
	store_txn_abort(t);
	return r;
}

/*
 * Retention drops the older of two snapshots: its Release and the pool
 * file it alone held are queued, and wait out the grace period; the
 * Contents file the kept snapshot still names is not; past the grace the
 * queued ones go, rows and files, and what the kept snapshot names stays.
 */
static void
test_collect(const char *root)
{
	struct merr err = { 0, "" };
	struct store *s = NULL;
	struct gc_stats st;
	struct fsck_report r;
	struct conf c;
	struct conf_mirror m;
	unsigned char r1[HASH_LEN], r2[HASH_LEN], shared[HASH_LEN];
	unsigned char a[HASH_LEN], b[HASH_LEN], old[HASH_LEN];
	char *dir = xasprintf("%s/collect", root);
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&m, 0, sizeof(m));
	m.name = "m";
	c.mirrors = &m;
	c.nmirrors = 1;
	c.keep_snapshots = "last 1";
	c.channel_history = 5;
	rc = store_open(dir, true, &s, &err);
	free(dir);
	if (rc) {
		ok(0, "open (%s)", err.msg);
		return;
	}
	store_lock(s, "t_gc", false, &err);
	hash_buf("Release 1", 9, r1);
	hash_buf("Release 2", 9, r2);
	hash_buf("Contents", 8, shared);
	hash_buf("A", 1, a);
	hash_buf("B", 1, b);
	commit_snap(s, "Release 1", "Contents", 1, 1);
	/* Snapshot 2 drops a.deb, keeps b.deb and the Contents file. */
	commit_snap(s, "Release 2", "Contents", -1, 0);
	put_file(s, "an old orphan", 7200, old);

	rc = gc_run(s, &c, NULL, 3600, false, &st, &err);
	is_int(rc, 0, "gc within the grace period (%s)", rc ? err.msg : "ok");
	is_int(st.snapshots_dropped, 1, "retention drops snapshot 1");
	is_int(st.blobs_queued, 1, "a.deb's blob lost its last interval");
	is_int(st.blobs_pending, 2, "its blob and Release 1 wait the grace");
	is_int(st.blobs_removed, 0, "nothing listed is removed yet");
	is_int(st.orphans_removed, 1, "the orphan older than grace goes");
	ok(!blob_exists(s, old), "its file is gone");
	ok(blob_exists(s, a) && blob_listed(s, a), "a.deb's blob stays");
	ok(blob_exists(s, r1) && blob_listed(s, r1), "Release 1 stays");

	rc = gc_run(s, &c, NULL, 0, true, &st, &err);
	is_int(rc, 0, "a dry run past the grace");
	is_int(st.blobs_removed, 2, "it would remove two blobs");
	ok(blob_exists(s, a) && blob_listed(s, a), "but removes nothing");

	rc = gc_run(s, &c, NULL, 0, false, &st, &err);
	is_int(rc, 0, "gc past the grace period (%s)", rc ? err.msg : "ok");
	is_int(st.blobs_removed, 2, "two blobs removed");
	is_int(st.bytes_removed, 1 + 9, "their bytes");
	is_int(st.blobs_pending, 0, "none left waiting");
	ok(!blob_exists(s, a) && !blob_listed(s, a), "a.deb's blob is gone");
	ok(!blob_exists(s, r1) && !blob_listed(s, r1), "Release 1 is gone");
	ok(blob_exists(s, shared) && blob_listed(s, shared),
	    "the Contents file the kept snapshot names survives");
	ok(blob_exists(s, b) && blob_listed(s, b),
	    "b.deb, in the kept snapshot, survives");
	ok(blob_exists(s, r2) && blob_listed(s, r2), "Release 2 survives");

	rc = fsck_run(s, &c, NULL, &r, &err);
	ok(rc == 0 && r.problems == 0 && r.orphans == 0,
	    "fsck finds the store sound (%s, %llu problems)",
	    rc ? err.msg : "ok", (unsigned long long)r.problems);
	fsck_report_release(&r);
	store_close(s);
}

int
main(void)
{
	char *root;

	root = helpers_tmpdir_new("t_gc");
	if (root == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	test_orphans(root);
	test_incremental(root);
	test_kept_bounded(root);
	test_collect(root);
	helpers_tmpdir_free(root);
	return tap_done();
}
