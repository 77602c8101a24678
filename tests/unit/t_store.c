/*
 * t_store.c: the LMDB index, the blob writer and the writer lock.
 */
#include "mirrord/common.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/hash.h"
#include "mirrord/store.h"

#include "helpers.h"
#include "tap.h"

/* Regular files anywhere under path. */
static int
count_files(const char *path)
{
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(path);
	char *sub;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sub = xasprintf("%s/%s", path, de->d_name);
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			n += count_files(sub);
		else if (S_ISREG(st.st_mode))
			n++;
		free(sub);
	}
	closedir(d);
	return n;
}

static bool
file_is(const char *path, const char *want)
{
	char *p = NULL;
	size_t len;
	bool same;

	if (read_file(path, 1 << 20, &p, &len, NULL) != 0)
		return false;
	same = len == strlen(want) && memcmp(p, want, len) == 0;
	free(p);
	return same;
}

static void
write_raw(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void
test_open(const char *root)
{
	struct merr err = { 0, "" };
	struct store *s = NULL;
	char *dir = xasprintf("%s/none", root), *p;
	struct stat st;
	int rc;

	rc = store_open(dir, false, &s, &err);
	is_int(rc, MERR_NOTFOUND, "read-only open of a missing store");
	ok(strstr(err.msg, "no store at '") != NULL, "message: %s", err.msg);
	ok(s == NULL || rc != 0, "no store returned");
	ok(access(dir, F_OK) < 0, "read-only open created nothing");

	rc = store_open(dir, true, &s, &err);
	is_int(rc, 0, "create a store");
	if (rc) {
		printf("# %s\n", err.msg);
		free(dir);
		return;
	}
	p = xasprintf("%s/tmp", dir);
	ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700, "tmp/ is 0700");
	free(p);
	p = xasprintf("%s/blobs", dir);
	ok(stat(p, &st) == 0 && S_ISDIR(st.st_mode), "blobs/ exists");
	free(p);
	p = xasprintf("%s/index/data.mdb", dir);
	ok(access(p, F_OK) == 0, "index/data.mdb exists");
	free(p);
	is_str(store_dir(s), dir, "store_dir");
	is_int(store_sync(s, &err), 0, "store_sync");
	store_close(s);

	/* Trailing slashes are dropped; an existing store reopens. */
	p = xasprintf("%s//", dir);
	rc = store_open(p, true, &s, &err);
	is_int(rc, 0, "reopen for write");
	if (rc == 0) {
		is_str(store_dir(s), dir, "trailing slashes dropped");
		store_close(s);
	}
	free(p);
	free(dir);
}

static void
test_kv(const char *root)
{
	struct merr err = { 0, "" };
	struct store *s;
	struct store_txn *t;
	char *dir = xasprintf("%s/kv", root);
	const void *v;
	size_t vl;
	int rc;

	rc = store_open(dir, true, &s, &err);
	is_int(rc, 0, "open kv store");
	if (rc)
		goto out;

	is_int(store_txn_begin(s, true, &t, &err), 0, "begin write");
	is_int(store_put(t, TBL_META, "k1", 2, "v1", 2, &err), 0, "put k1");
	is_int(store_put(t, TBL_SNAPS, "k1", 2, "other", 5, &err), 0,
	    "put k1 in another table");
	is_int(store_get(t, TBL_META, "k1", 2, &v, &vl, &err), 0,
	    "get in the same txn");
	ok(vl == 2 && memcmp(v, "v1", 2) == 0, "value seen in the txn");
	is_int(store_txn_commit(t, &err), 0, "commit");

	is_int(store_txn_begin(s, true, &t, &err), 0, "begin write 2");
	is_int(store_put(t, TBL_META, "k2", 2, "v2", 2, &err), 0, "put k2");
	store_txn_abort(t);

	is_int(store_txn_begin(s, false, &t, &err), 0, "begin read");
	rc = store_get(t, TBL_META, "k2", 2, &v, &vl, &err);
	is_int(rc, MERR_NOTFOUND, "aborted put is gone");
	is_int(store_del(t, TBL_META, "k1", 2, &err), MERR_STORE,
	    "delete in a read txn fails");
	ok(strstr(err.msg, "cannot delete from 'meta': ") != NULL,
	    "lmdb error translated: %s", err.msg);
	store_txn_abort(t);
	store_close(s);

	/* A read-only reopen sees committed data. */
	rc = store_open(dir, false, &s, &err);
	is_int(rc, 0, "read-only reopen");
	if (rc)
		goto out;
	is_int(store_txn_begin(s, true, &t, &err), MERR_INVAL,
	    "no write txn on a read-only store");
	is_int(store_txn_begin(s, false, &t, &err), 0, "begin read");
	rc = store_get(t, TBL_META, "k1", 2, &v, &vl, &err);
	is_int(rc, 0, "committed value after reopen");
	ok(rc == 0 && vl == 2 && memcmp(v, "v1", 2) == 0, "value is 'v1'");
	rc = store_get(t, TBL_SNAPS, "k1", 2, &v, &vl, &err);
	ok(rc == 0 && vl == 5 && memcmp(v, "other", 5) == 0,
	    "tables are separate");
	store_txn_commit(t, &err);
	store_close(s);

	/* Delete. */
	rc = store_open(dir, true, &s, &err);
	is_int(rc, 0, "reopen for write");
	if (rc)
		goto out;
	store_txn_begin(s, true, &t, &err);
	is_int(store_del(t, TBL_META, "k1", 2, &err), 0, "delete k1");
	is_int(store_del(t, TBL_META, "k1", 2, &err), MERR_NOTFOUND,
	    "delete an absent key");
	is_int(store_txn_commit(t, &err), 0, "commit delete");
	store_txn_begin(s, false, &t, &err);
	is_int(store_get(t, TBL_META, "k1", 2, &v, &vl, &err), MERR_NOTFOUND,
	    "deleted key is gone");
	store_txn_abort(t);
	store_close(s);
out:
	free(dir);
}

/* Collects a prefix scan as "key=val;" pairs (keys with \0 shown as /). */
static int
scan(struct store_txn *t, const char *prefix, size_t plen, struct buf *out)
{
	struct merr err;
	struct store_cursor *c;
	const void *k, *v;
	size_t kl, vl, i;
	int rc;

	buf_reset(out);
	if (store_cursor_open(t, TBL_POOL, &c, &err))
		return -1;
	for (rc = store_cursor_seek(c, prefix, plen, &k, &kl, &v, &vl, &err);
	    rc == 1; rc = store_cursor_next(c, &k, &kl, &v, &vl, &err)) {
		if (kl < plen || memcmp(k, prefix, plen) != 0)
			break;
		for (i = 0; i < kl; i++) {
			char ch = ((const char *)k)[i];

			buf_addc(out, ch ? ch : '/');
		}
		buf_addc(out, '=');
		buf_add(out, v, vl);
		buf_addc(out, ';');
	}
	store_cursor_close(c);
	buf_addc(out, '.');
	return rc < 0 ? rc : 0;
}

static void
test_cursor(const char *root)
{
	static const struct {
		const char *k;
		size_t kl;
		const char *v;
	} rows[] = {
		{ "b\0z", 3, "5" }, { "a\0y", 3, "3" }, { "a\0a", 3, "1" },
		{ "ab", 2, "4" }, { "a\0x", 3, "2" }, { "c", 1, "6" },
	};
	struct merr err = { 0, "" };
	struct buf b = BUF_INIT;
	struct store *s;
	struct store_txn *t;
	struct store_cursor *c;
	char *dir = xasprintf("%s/cur", root);
	const void *k, *v;
	size_t kl, vl, i;
	int rc;

	rc = store_open(dir, true, &s, &err);
	is_int(rc, 0, "open cursor store");
	if (rc)
		goto out;
	store_txn_begin(s, true, &t, &err);
	for (i = 0; i < ARRAY_SIZE(rows); i++)
		store_put(t, TBL_POOL, rows[i].k, rows[i].kl, rows[i].v, 1,
		    &err);
	is_int(store_txn_commit(t, &err), 0, "commit rows");

	store_txn_begin(s, false, &t, &err);
	scan(t, "", 0, &b);
	is_str(b.p, "a/a=1;a/x=2;a/y=3;ab=4;b/z=5;c=6;.", "full scan in order");
	scan(t, "a\0", 2, &b);
	is_str(b.p, "a/a=1;a/x=2;a/y=3;.", "prefix scan 'a\\0'");
	scan(t, "a\0b", 3, &b);
	is_str(b.p, ".", "prefix with no match");
	scan(t, "b", 1, &b);
	is_str(b.p, "b/z=5;.", "prefix scan 'b'");

	store_cursor_open(t, TBL_POOL, &c, &err);
	rc = store_cursor_seek(c, "a\0b", 3, &k, &kl, &v, &vl, &err);
	ok(rc == 1 && kl == 3 && memcmp(k, "a\0x", 3) == 0,
	    "seek lands on the next key");
	rc = store_cursor_seek(c, "d", 1, &k, &kl, &v, &vl, &err);
	is_int(rc, 0, "seek past the end");
	store_cursor_close(c);

	/* An empty table. */
	store_cursor_open(t, TBL_GC, &c, &err);
	is_int(store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl, &err), 0,
	    "empty table: seek is at the end");
	is_int(store_cursor_next(c, &k, &kl, &v, &vl, &err), 0,
	    "empty table: next is at the end");
	store_cursor_close(c);
	store_txn_abort(t);

	/* Delete through a cursor while walking. */
	store_txn_begin(s, true, &t, &err);
	store_cursor_open(t, TBL_POOL, &c, &err);
	rc = store_cursor_seek(c, "a\0", 2, &k, &kl, &v, &vl, &err);
	while (rc == 1 && kl >= 2 && memcmp(k, "a\0", 2) == 0) {
		char was = *(const char *)v;

		/* v is not valid after the delete: keep what we print. */
		if (was == '1' || was == '2')
			is_int(store_cursor_del(c, &err), 0, "cursor del %c",
			    was);
		rc = store_cursor_next(c, &k, &kl, &v, &vl, &err);
	}
	is_int(rc, 1, "walk went on after deletes");
	/* Left open on purpose: commit closes it, close stays safe. */
	is_int(store_txn_commit(t, &err), 0, "commit deletes");
	is_int(store_cursor_next(c, &k, &kl, &v, &vl, &err), MERR_INVAL,
	    "cursor is dead after its txn");
	store_cursor_close(c);

	store_txn_begin(s, false, &t, &err);
	scan(t, "", 0, &b);
	is_str(b.p, "a/y=3;ab=4;b/z=5;c=6;.", "deleted rows are gone");
	store_txn_abort(t);
	store_close(s);
out:
	buf_release(&b);
	free(dir);
}

static void
test_blob_table(const char *root)
{
	struct merr err = { 0, "" };
	struct store_blob_rec rec;
	struct store *s;
	struct store_txn *t;
	char *dir = xasprintf("%s/bt", root);
	unsigned char h[HASH_LEN], raw[16];
	const void *v;
	size_t vl;
	time_t now = time(NULL);
	int rc;

	hash_buf("x", 1, h);
	rc = store_open(dir, true, &s, &err);
	is_int(rc, 0, "open blob table store");
	if (rc)
		goto out;
	store_txn_begin(s, true, &t, &err);
	rc = store_blob_get(t, h, &rec, &err);
	is_int(rc, MERR_NOTFOUND, "blob_get of an unknown blob");
	err.code = 12345;
	is_int(store_blob_put(t, h, 0x0102030405ULL, &err), 0, "blob_put new");
	is_int(err.code, 12345, "err untouched on success");
	rc = store_blob_get(t, h, &rec, &err);
	ok(rc == 0 && rec.size == 0x0102030405ULL, "size stored");
	ok(rc == 0 && rec.first_seen >= now && rec.first_seen <= now + 60,
	    "first_seen is now");
	rc = store_get(t, TBL_BLOBS, h, HASH_LEN, &v, &vl, &err);
	ok(rc == 0 && vl == 16 && ((const unsigned char *)v)[0] == 0x05 &&
	    ((const unsigned char *)v)[4] == 0x01, "record is little-endian");

	/* Force an old first_seen; a later put must keep it. */
	memset(raw, 0, sizeof(raw));
	raw[0] = 7;
	raw[8] = 0x39;
	raw[9] = 0x30;	/* 12345 */
	store_put(t, TBL_BLOBS, h, HASH_LEN, raw, sizeof(raw), &err);
	is_int(store_blob_put(t, h, 8, &err), 0, "blob_put existing");
	rc = store_blob_get(t, h, &rec, &err);
	ok(rc == 0 && rec.first_seen == 12345, "first_seen kept");
	ok(rc == 0 && rec.size == 8, "size updated");
	is_int(store_txn_commit(t, &err), 0, "commit");
	store_close(s);
out:
	free(dir);
}

static void
test_blobs(const char *root)
{
	static const char data[] = "hello, blob world\n";
	struct merr err = { 0, "" };
	struct blob_writer w;
	struct store *s;
	unsigned char h[HASH_LEN], bad[HASH_LEN], other[HASH_LEN];
	char hex[HASH_HEX_LEN + 1], buf[64];
	char *dir = xasprintf("%s/blobs", root), *p, *want, *tmp, *bdir;
	size_t len = strlen(data);
	ssize_t n;
	bool good;
	int i, rc, fd;

	hash_buf(data, len, h);
	hash_to_hex(h, hex);
	rc = store_open(dir, true, &s, &err);
	is_int(rc, 0, "open blob store");
	if (rc)
		goto out;
	tmp = xasprintf("%s/tmp", dir);
	bdir = xasprintf("%s/blobs", dir);

	p = store_blob_path(s, h);
	want = xasprintf("%s/blobs/%.2s/%s", dir, hex, hex);
	is_str(p, want, "blob path layout: format 2, one fan-out level");
	free(want);

	/* A good blob, written in two pieces. */
	rc = store_blob_begin(s, 1000, &w, &err);
	is_int(rc, 0, "begin");
	is_int(helpers_count_dir(tmp), 1, "temp file in tmp/");
	is_int(store_blob_write(&w, data, 5, &err), 0, "write 1");
	is_int(store_blob_write(&w, data + 5, len - 5, &err), 0, "write 2");
	rc = store_blob_finish(&w, h, len, &err);
	is_int(rc, 0, "finish good blob");
	ok(w.fd == -1 && w.tmp_path == NULL, "writer released");
	store_blob_abort(&w);	/* harmless */
	ok(file_is(p, data), "blob has the right content");
	is_int(helpers_count_dir(tmp), 0, "tmp/ empty after finish");

	fd = store_blob_open(s, h, &err);
	ok(fd >= 0, "blob_open");
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		ok(n == (ssize_t)len && memcmp(buf, data, len) == 0,
		    "read back through blob_open");
		ok((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "fd is cloexec");
		close(fd);
	}
	hash_buf("nope", 4, other);
	fd = store_blob_open(s, other, &err);
	is_int(fd, MERR_NOTFOUND, "blob_open of a missing blob");
	hash_to_hex(other, hex);
	ok(strstr(err.msg, hex) != NULL, "message names the hash");

	/* A blob sharing only the first fan-out directory: leaf mkdir. */
	for (i = 0; i < 100000; i++) {
		snprintf(buf, sizeof(buf), "sibling %d", i);
		hash_buf(buf, strlen(buf), other);
		if (other[0] == h[0] && other[1] != h[1])
			break;
	}
	store_blob_begin(s, 1000, &w, &err);
	store_blob_write(&w, buf, strlen(buf), &err);
	is_int(store_blob_finish(&w, other, strlen(buf), &err), 0,
	    "blob in a new leaf directory");
	free(p);
	p = store_blob_path(s, other);
	ok(file_is(p, buf), "sibling blob in place");
	unlink(p);
	free(p);
	p = store_blob_path(s, h);

	/* The same blob again: rename over the existing one is fine. */
	store_blob_begin(s, 1000, &w, &err);
	store_blob_write(&w, data, len, &err);
	is_int(store_blob_finish(&w, h, len, &err), 0, "same blob twice");
	is_int(count_files(bdir), 1, "still one blob file");

	/* Wrong hash. */
	memcpy(bad, h, HASH_LEN);
	bad[0] ^= 0xff;
	store_blob_begin(s, 1000, &w, &err);
	store_blob_write(&w, data, len, &err);
	rc = store_blob_finish(&w, bad, len, &err);
	is_int(rc, MERR_VERIFY, "wrong hash fails");
	ok(strstr(err.msg, "sha256 mismatch: got ") != NULL &&
	    strstr(err.msg, ", expected ") != NULL, "message: %.60s...",
	    err.msg);
	ok(w.fd == -1 && w.tmp_path == NULL, "writer released on error");
	store_blob_abort(&w);	/* harmless */
	is_int(helpers_count_dir(tmp), 0, "no temp file left");
	is_int(count_files(bdir), 1, "no new file in blobs/");

	/* Wrong size. */
	store_blob_begin(s, 1000, &w, &err);
	store_blob_write(&w, data, 5, &err);
	rc = store_blob_finish(&w, h, 6, &err);
	is_int(rc, MERR_VERIFY, "wrong size fails");
	is_str(err.msg, "size mismatch: got 5, expected 6", "size message");
	is_int(helpers_count_dir(tmp), 0, "no temp file left");

	/* Over the cap. */
	store_blob_begin(s, 8, &w, &err);
	is_int(store_blob_write(&w, data, 8, &err), 0, "write up to the cap");
	rc = store_blob_write(&w, data, 1, &err);
	is_int(rc, MERR_LIMIT, "one byte over the cap");
	is_str(err.msg, "more than 8 bytes", "cap message");
	store_blob_abort(&w);
	store_blob_abort(&w);
	is_int(helpers_count_dir(tmp), 0, "abort removed the temp file");

	/* Rewind: garbage first, then the real bytes. */
	store_blob_begin(s, 1000, &w, &err);
	store_blob_write(&w, "garbage garbage garbage garbage", 31, &err);
	is_int(store_blob_rewind(&w, &err), 0, "rewind");
	is_int(w.size, 0, "size is 0 after rewind");
	store_blob_write(&w, "abc", 3, &err);
	hash_buf("abc", 3, other);
	is_int(store_blob_finish(&w, other, 3, &err), 0, "finish after rewind");
	free(p);
	p = store_blob_path(s, other);
	ok(file_is(p, "abc"), "rewound blob has only the new bytes");

	/* Adopt: good, bad, missing. */
	rc = store_blob_adopt(s, other, 3, &good, &err);
	ok(rc == 0 && good, "adopt a good file");
	ok(access(p, F_OK) == 0, "good file kept");
	rc = store_blob_adopt(s, other, 4, &good, &err);
	ok(rc == 0 && !good, "adopt with the wrong size");
	ok(access(p, F_OK) < 0, "bad file removed");
	rc = store_blob_adopt(s, other, 3, &good, &err);
	ok(rc == 0 && !good, "adopt a missing file");
	write_raw(p, "abd");	/* right size, wrong bytes */
	rc = store_blob_adopt(s, other, 3, &good, &err);
	ok(rc == 0 && !good, "adopt a corrupt file");
	ok(access(p, F_OK) < 0, "corrupt file removed");

	/*
	 * clean_tmp removes leftovers, not a writer of this process (another
	 * thread's: the daemon's server fetching while a sync begins).
	 */
	free(p);
	p = xasprintf("%s/leftover", tmp);
	write_raw(p, "x");
	store_blob_begin(s, 1000, &w, &err);
	is_int(helpers_count_dir(tmp), 2, "two entries");
	is_int(store_clean_tmp(s, &err), 0, "clean_tmp");
	is_int(helpers_count_dir(tmp), 1, "the leftover went, our writer's file not");
	ok(access(w.tmp_path, F_OK) == 0, "our writer's file is kept");
	store_blob_abort(&w);
	is_int(helpers_count_dir(tmp), 0, "tmp/ is empty once it ends");

	/*
	 * Another live process's files (a channel move beside a sync) are
	 * kept, a dead one's removed: our parent lives, a reaped child not.
	 */
	{
		char *live = xasprintf("%s/%ld.3", tmp, (long)getppid());
		char *home = xasprintf("%s/mirrord-gpg.%ld.AbCdEf", tmp,
		    (long)getppid());
		char *dead;
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		waitpid(pid, NULL, 0);
		dead = xasprintf("%s/%ld.0", tmp, (long)pid);
		write_raw(live, "x");
		write_raw(dead, "x");
		ok(mkdir(home, 0700) == 0, "a live verifier's home");
		is_int(store_clean_tmp(s, &err), 0, "clean_tmp beside others");
		ok(access(live, F_OK) == 0, "a live process's file is kept");
		ok(access(home, F_OK) == 0, "a live process's home is kept");
		ok(access(dead, F_OK) < 0, "a dead process's file is removed");
		unlink(live);
		rmdir(home);
		free(live);
		free(home);
		free(dead);
	}

	store_close(s);
	free(p);
	free(tmp);
	free(bdir);
out:
	free(dir);
}

/* In a child: try the lock; exit 0 if the outcome was as expected. */
static int
lock_child(const char *dir, bool wait, int want, pid_t holder)
{
	struct merr err = { 0, "" };
	struct store *s;
	char *needle;
	int fd, rc, status = 1;

	/*
	 * fork() duplicated the parent's lock descriptor, which would hold
	 * the flock for us too; a real child would exec (O_CLOEXEC).
	 */
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	alarm(10);	/* a broken lock must fail the test, not hang it */
	if (store_open(dir, true, &s, &err) != 0)
		_exit(3);
	rc = store_lock(s, "child", wait, &err);
	if (rc == want) {
		status = 0;
		if (want == MERR_BUSY) {
			needle = xasprintf("is locked by pid %ld (test sync)",
			    (long)holder);
			if (strstr(err.msg, needle) == NULL) {
				printf("# child got: %s\n", err.msg);
				status = 2;
			}
			free(needle);
		}
	}
	store_close(s);
	fflush(stdout);
	_exit(status);
}

static int
run_child(const char *dir, bool wait, int want, pid_t holder, pid_t *pidp)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		lock_child(dir, wait, want, holder);
	if (pidp) {
		*pidp = pid;
		return 0;
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_lock(const char *root)
{
	struct merr err = { 0, "" };
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	struct store *s;
	char *dir = xasprintf("%s/lock", root), *p, *want;
	pid_t pid;
	int rc, status;

	rc = store_open(dir, true, &s, &err);
	is_int(rc, 0, "open lock store");
	if (rc)
		goto out;
	is_int(store_lock(s, "test sync", false, &err), 0, "take the lock");
	p = xasprintf("%s/lock", dir);
	want = xasprintf("%ld test sync\n", (long)getpid());
	ok(file_is(p, want), "lock file names the holder");
	is_int(store_lock(s, "again", false, &err), MERR_BUSY,
	    "no recursive lock");

	is_int(run_child(dir, false, MERR_BUSY, getpid(), NULL), 0,
	    "child gets MERR_BUSY naming our pid");
	/*
	 * The channel lock is another file: a channel move takes it while a
	 * sync holds the writer lock, and a second move is told who holds it.
	 */
	{
		struct store *s2;
		char *cp = xasprintf("%s/lock.channels", dir);
		char *cw = xasprintf("%ld test move\n", (long)getpid());

		is_int(store_lock_channels(s, "test move", false, &err), 0,
		    "channel lock beside the writer lock");
		ok(file_is(cp, cw), "channel lock file names the holder");
		rc = store_open(dir, true, &s2, &err);
		is_int(rc, 0, "second handle");
		if (rc == 0) {
			is_int(store_lock_channels(s2, "other", false, &err),
			    MERR_BUSY, "a second move is refused");
			ok(strstr(err.msg, "channels of store") != NULL &&
			    strstr(err.msg, "(test move)") != NULL,
			    "naming the channel lock's holder: %s", err.msg);
			store_unlock_channels(s);
			is_int(store_lock_channels(s2, "other", false, &err),
			    0, "and takes it once released");
			store_close(s2);
		}
		free(cp);
		free(cw);
	}
	store_unlock(s);
	store_unlock(s);	/* harmless */
	is_int(run_child(dir, false, 0, 0, NULL), 0,
	    "child takes the lock after unlock");

	/* A waiting child blocks until we let go. */
	is_int(store_lock(s, "test sync", false, &err), 0, "lock again");
	run_child(dir, true, 0, 0, &pid);
	nanosleep(&ts, NULL);
	ok(pid > 0 && waitpid(pid, &status, WNOHANG) == 0,
	    "waiting child is blocked");
	store_close(s);	/* releases the lock */
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "waiting child got the lock after close");
	free(p);
	free(want);
out:
	free(dir);
}

/*
 * The index's map. MIRRORD_TEST_MAPSIZE (tests only) makes store_open
 * start from a 1 MiB map, so that a few MiB fill it.
 */
#define MAP_VAL	(32 * 1024)
#define MAP_N	64	/* 2 MiB of values */

/* Puts n values of MAP_VAL bytes under "<tag>NNN" in one transaction. */
static int
map_fill(struct store *s, const char *tag, int n, struct merr *err)
{
	struct store_txn *t;
	char key[32], *val = xmalloc(MAP_VAL);
	int i, rc;

	rc = store_txn_begin(s, true, &t, err);
	if (rc) {
		free(val);
		return rc;
	}
	for (i = 0; rc == 0 && i < n; i++) {
		snprintf(key, sizeof(key), "%s%03d", tag, i);
		memset(val, 'a' + i % 26, MAP_VAL);
		rc = store_put(t, TBL_META, key, strlen(key), val, MAP_VAL,
		    err);
	}
	if (rc)
		store_txn_abort(t);
	else
		rc = store_txn_commit(t, err);
	free(val);
	return rc;
}

/* Reads key in a new read transaction: its length, or a negative MERR. */
static long
map_read(struct store *s, const char *key, struct merr *err)
{
	struct store_txn *t;
	const void *v;
	size_t vlen;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = store_get(t, TBL_META, key, strlen(key), &v, &vlen, err);
	store_txn_abort(t);
	return rc ? rc : (long)vlen;
}

static void
test_map_full(const char *root)
{
	struct merr err = { 0, "" };
	struct store *s;
	char *dir = xasprintf("%s/mapfull", root);
	int rc, tries;

	setenv("MIRRORD_TEST_MAPSIZE", "1048576", 1);
	rc = store_open(dir, true, &s, &err);
	unsetenv("MIRRORD_TEST_MAPSIZE");
	is_int(rc, 0, "open a store with a 1 MiB map");
	if (rc)
		goto out;
	rc = map_fill(s, "big", MAP_N, &err);
	is_int(rc, MERR_FULL, "2 MiB in one transaction fill the map");
	ok(strstr(err.msg, "index map is full at 1 MiB") != NULL,
	    "the error says the map is full: %s", err.msg);
	for (tries = 0; rc == MERR_FULL && tries < 5; tries++)
		rc = map_fill(s, "big", MAP_N, &err);
	is_int(rc, 0, "the same transaction commits in the grown map "
	    "(%d more tries)", tries);
	if (rc)
		printf("# %s\n", err.msg);
	is_int(map_read(s, "big063", &err), MAP_VAL, "its last value reads");
	/* More than half used: the writer grows before it runs out. */
	rc = map_fill(s, "more", MAP_N / 4, &err);
	is_int(rc, 0, "a later, smaller write fits at once");
	rc = map_fill(s, "most", MAP_N, &err);
	is_int(rc, 0, "another 2 MiB fit at once (the map was grown ahead)");
	store_close(s);
out:
	free(dir);
}

/* In a child process: open dir for writing (the default map), add data. */
static int
map_grow_child(const char *dir, const char *tag)
{
	struct merr err = { 0, "" };
	struct store *s;
	pid_t pid;
	int fd, status;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* The parent's LMDB descriptors (and its locks) are not ours. */
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		alarm(30);
		if (store_open(dir, true, &s, &err) != 0 ||
		    map_fill(s, tag, MAP_N * 2, &err) != 0) {
			printf("# child: %s\n", err.msg);
			fflush(stdout);
			_exit(1);
		}
		store_close(s);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct map_holder {
	struct store *s;
	long ms;		/* how long to hold a read transaction */
	int rc;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool began;
};

/* A thread of the same process holding a read transaction for a while. */
static void *
map_hold(void *arg)
{
	struct map_holder *h = arg;
	struct timespec ts = { h->ms / 1000, (h->ms % 1000) * 1000000 };
	struct store_txn *t;
	struct merr err;

	h->rc = store_txn_begin(h->s, false, &t, &err);
	pthread_mutex_lock(&h->mu);
	h->began = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	if (h->rc)
		return NULL;
	nanosleep(&ts, NULL);
	store_txn_abort(t);
	return NULL;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
test_map_resized(const char *root)
{
	struct merr err = { 0, "" };
	struct store *w, *r;
	struct store_txn *t, *t2;
	struct map_holder h;
	pthread_t th;
	const void *v;
	size_t vlen;
	char *dir = xasprintf("%s/mapresized", root);
	double t0, waited;
	int rc;

	rc = store_open(dir, true, &w, &err);
	is_int(rc, 0, "create a store");
	if (rc)
		goto out;
	is_int(map_fill(w, "old", 2, &err), 0, "write a little");
	store_close(w);

	setenv("MIRRORD_TEST_MAPSIZE", "1048576", 1);
	rc = store_open(dir, false, &r, &err);
	unsetenv("MIRRORD_TEST_MAPSIZE");
	is_int(rc, 0, "a reader opens it with a 1 MiB map");
	if (rc)
		goto out;
	alarm(60);	/* a remap that waits for ever must fail the test */

	/* A transaction open across the growth keeps its view. */
	is_int(store_txn_begin(r, false, &t, &err), 0, "begin a read");
	is_int(map_grow_child(dir, "new"), 0,
	    "another process writes 4 MiB with its own map");
	rc = store_get(t, TBL_META, "old001", 6, &v, &vlen, &err);
	ok(rc == 0 && vlen == MAP_VAL, "the open transaction still reads");
	/* Its thread cannot wait for a remap: an error, not a hang. */
	rc = store_txn_begin(r, false, &t2, &err);
	ok(rc != 0, "a second transaction in that thread fails: %s",
	    rc ? err.msg : "(began)");
	if (rc == 0)
		store_txn_abort(t2);
	store_txn_abort(t);
	err.code = 0;
	is_int(map_read(r, "new127", &err), MAP_VAL,
	    "the next transaction maps the grown file and reads new data");
	if (err.code)
		printf("# %s\n", err.msg);
	is_int(store_check(r, &err), 0, "store_check says the index reads");

	/* A remap waits for the transactions of other threads to end. */
	memset(&h, 0, sizeof(h));
	h.s = r;
	h.ms = 300;
	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	pthread_create(&th, NULL, map_hold, &h);
	pthread_mutex_lock(&h.mu);
	while (!h.began)
		pthread_cond_wait(&h.cv, &h.mu);
	pthread_mutex_unlock(&h.mu);
	is_int(h.rc, 0, "a thread holds a read transaction");
	is_int(map_grow_child(dir, "newer"), 0,
	    "another process writes 4 MiB more");
	t0 = now_ms();
	rc = (int)map_read(r, "newer127", &err);
	waited = now_ms() - t0;
	is_int(rc, MAP_VAL, "a read in this thread remaps and reads");
	pthread_join(th, NULL);
	ok(waited >= 100, "it waited for the other thread's transaction "
	    "(%.0f ms)", waited);
	pthread_mutex_destroy(&h.mu);
	pthread_cond_destroy(&h.cv);
	alarm(0);
	store_close(r);
out:
	free(dir);
}

/*
 * Blob counters (status reads them instead of every row): moved by
 * store_blob_put/del, written by the commit, dropped with an abort;
 * a store without them (made before them) is counted at its next open
 * for writing.
 */
static void
test_blob_totals(const char *root)
{
	struct merr err = { 0, "" };
	struct store *s;
	struct store_txn *t;
	char *dir = xasprintf("%s/totals", root);
	unsigned char h[3][HASH_LEN];
	uint64_t n = 99, b = 99;
	const void *v;
	size_t vl;
	int rc, i;

	for (i = 0; i < 3; i++)
		hash_buf(&"abc"[i], 1, h[i]);
	rc = store_open(dir, true, &s, &err);
	is_int(rc, 0, "open totals store");
	if (rc)
		goto out;
	store_txn_begin(s, false, &t, &err);
	rc = store_blob_totals(t, &n, &b, &err);
	ok(rc == 0 && n == 0 && b == 0, "a new store: no blobs");
	store_txn_abort(t);

	store_txn_begin(s, true, &t, &err);
	for (i = 0; i < 3; i++)
		store_blob_put(t, h[i], 10 * (uint64_t)(i + 1), &err);
	rc = store_blob_totals(t, &n, &b, &err);
	ok(rc == 0 && n == 3 && b == 60, "in the txn: 3 blobs, 60 bytes");
	store_txn_abort(t);
	store_txn_begin(s, false, &t, &err);
	rc = store_blob_totals(t, &n, &b, &err);
	ok(rc == 0 && n == 0 && b == 0, "aborted: still none");
	store_txn_abort(t);

	store_txn_begin(s, true, &t, &err);
	for (i = 0; i < 3; i++)
		store_blob_put(t, h[i], 10 * (uint64_t)(i + 1), &err);
	store_blob_put(t, h[0], 10, &err);	/* again: no change */
	is_int(store_txn_commit(t, &err), 0, "commit 3 blobs");
	store_txn_begin(s, true, &t, &err);
	is_int(store_blob_del(t, h[1], &err), 0, "blob_del");
	is_int(store_blob_del(t, h[1], &err), MERR_NOTFOUND,
	    "blob_del of a blob not listed");
	store_blob_put(t, h[2], 35, &err);	/* another size */
	is_int(store_txn_commit(t, &err), 0, "commit a del and a resize");
	store_txn_begin(s, false, &t, &err);
	rc = store_blob_totals(t, &n, &b, &err);
	ok(rc == 0 && n == 2 && b == 45, "2 blobs, 45 bytes (got %llu, %llu)",
	    (unsigned long long)n, (unsigned long long)b);
	rc = store_get(t, TBL_META, "store.blobs", 11, &v, &vl, &err);
	ok(rc == 0 && vl == 17, "kept in the meta row 'store.blobs'");
	/* Status trusts the row, not a scan: a row written around it. */
	store_txn_abort(t);
	store_txn_begin(s, true, &t, &err);
	{
		unsigned char raw[16] = { 5 };
		unsigned char hx[HASH_LEN];

		hash_buf("x", 1, hx);
		store_put(t, TBL_BLOBS, hx, HASH_LEN, raw, sizeof(raw), &err);
	}
	store_txn_commit(t, &err);
	store_txn_begin(s, false, &t, &err);
	rc = store_blob_totals(t, &n, &b, &err);
	ok(rc == 0 && n == 2 && b == 45, "totals are the row's, not a count");
	store_txn_abort(t);

	/* A store from before the counters: no row. */
	store_txn_begin(s, true, &t, &err);
	store_del(t, TBL_META, "store.blobs", 11, &err);
	store_txn_commit(t, &err);
	store_close(s);
	rc = store_open(dir, false, &s, &err);
	is_int(rc, 0, "open read-only");
	if (rc)
		goto out;
	store_txn_begin(s, false, &t, &err);
	rc = store_blob_totals(t, &n, &b, &err);
	ok(rc == 0 && n == 3 && b == 50, "no row: counted (got %llu, %llu)",
	    (unsigned long long)n, (unsigned long long)b);
	ok(store_get(t, TBL_META, "store.blobs", 11, &v, &vl, NULL) ==
	    MERR_NOTFOUND, "a reader writes no row");
	store_txn_abort(t);
	store_close(s);
	rc = store_open(dir, true, &s, &err);
	is_int(rc, 0, "open for writing");
	if (rc)
		goto out;
	store_txn_begin(s, false, &t, &err);
	rc = store_get(t, TBL_META, "store.blobs", 11, &v, &vl, &err);
	ok(rc == 0 && vl == 17, "the open for writing counted once");
	rc = store_blob_totals(t, &n, &b, &err);
	ok(rc == 0 && n == 3 && b == 50, "and got it right");
	store_txn_abort(t);
	store_close(s);
out:
	free(dir);
}

int
main(void)
{
	char *root;

	root = helpers_tmpdir_new("t_store");
	if (root == NULL)
		return 1;
	test_open(root);
	test_kv(root);
	test_cursor(root);
	test_blob_table(root);
	test_blobs(root);
	test_blob_totals(root);
	test_lock(root);
	test_map_full(root);
	test_map_resized(root);
	helpers_tmpdir_free(root);
	return tap_done();
}
