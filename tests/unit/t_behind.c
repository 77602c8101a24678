/*
 * t_behind.c: blobs written behind (blob_behind.c) and the barrier run
 * beside a transaction (store_sync_start()).
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include "mirrord/hash.h"
#include "mirrord/store.h"

#include "helpers.h"
#include "tap.h"

/* path holds exactly len bytes equal to data, mode 0644. */
static bool
file_is(const char *path, const void *data, size_t len)
{
	char buf[8192];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY);
	bool same;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	same = fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0644 &&
	    n == (ssize_t)len && memcmp(buf, data, len) == 0;
	close(fd);
	return same;
}

static void
write_raw(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (write(fd, s, strlen(s)) < 0)
			perror("write");
		close(fd);
	}
}

/* One blob of text s written behind for bb; finish's code. */
static int
put_behind(struct store *s, struct blob_batch *bb, const char *text,
    unsigned char h[HASH_LEN], struct merr *err)
{
	struct blob_writer w;
	size_t len = strlen(text);

	hash_buf(text, len, h);
	store_blob_begin_behind(s, len, bb, &w);
	if (store_blob_write(&w, text, len, err) != 0) {
		store_blob_abort(&w);
		return err->code;
	}
	return store_blob_finish(&w, h, len, err);
}

int
main(void)
{
	char *dir = helpers_tmpdir_new("t_behind");
	struct store *s = NULL;
	struct blob_batch bb;
	struct blob_writer w;
	struct store_txn *t;
	struct merr err;
	unsigned char h[HASH_LEN], h2[HASH_LEN], bad[HASH_LEN];
	char *tmp, *p, hex[HASH_HEX_LEN + 1], text[64];
	int rc, i, missing;

	if (dir == NULL)
		return 1;
	rc = store_open(dir, true, &s, &err);
	is_int(rc, 0, "open a new store");
	if (rc)
		return tap_done();
	tmp = xasprintf("%s/tmp", dir);

	/* A good blob, in two pieces: nothing on disk until the wait. */
	memset(&bb, 0, sizeof(bb));
	hash_buf("hello, world\n", 13, h);
	store_blob_begin_behind(s, 13, &bb, &w);
	ok(w.fd == -1 && w.tmp_path == NULL, "no file while in memory");
	is_int(helpers_count_dir(tmp), 0, "nothing in tmp/ while in memory");
	is_int(store_blob_write(&w, "hello, ", 7, &err), 0, "write 1");
	is_int(store_blob_write(&w, "world\n", 6, &err), 0, "write 2");
	is_int(store_blob_finish(&w, h, 13, &err), 0, "finish: queued");
	ok(w.mem == NULL, "the bytes were handed over");
	is_int(store_batch_wait(s, &bb, &err), 0, "wait: written");
	is_int((int)bb.pending, 0, "nothing pending");
	p = store_blob_path(s, h);
	ok(file_is(p, "hello, world\n", 13), "the blob's file, 0644, right bytes");
	is_int(helpers_count_dir(tmp), 0, "no name left in tmp/");

	/* Wrong hash, wrong size, over the cap: refused before any file. */
	memcpy(bad, h, HASH_LEN);
	bad[0] ^= 0xff;
	store_blob_begin_behind(s, 13, &bb, &w);
	store_blob_write(&w, "hello, world\n", 13, &err);
	rc = store_blob_finish(&w, bad, 13, &err);
	is_int(rc, MERR_VERIFY, "wrong hash fails at finish");
	ok(strstr(err.msg, "sha256 mismatch") != NULL, "message: %s", err.msg);
	ok(w.mem == NULL, "writer released on error");
	is_int((int)bb.pending, 0, "nothing was queued");
	hash_to_hex(bad, hex);
	free(p);
	p = store_blob_path(s, bad);
	ok(access(p, F_OK) < 0, "no file for the wrong hash");
	store_blob_begin_behind(s, 13, &bb, &w);
	store_blob_write(&w, "hello", 5, &err);
	is_int(store_blob_finish(&w, h, 13, &err), MERR_VERIFY,
	    "wrong size fails");
	store_blob_begin_behind(s, 4, &bb, &w);
	is_int(store_blob_write(&w, "hello", 5, &err), MERR_LIMIT,
	    "a write over the cap fails");
	store_blob_abort(&w);
	ok(w.mem == NULL, "abort frees the bytes");

	/* Rewind: garbage first, then the real bytes. */
	store_blob_begin_behind(s, 32, &bb, &w);
	store_blob_write(&w, "garbage garbage", 15, &err);
	is_int(store_blob_rewind(&w, &err), 0, "rewind");
	store_blob_write(&w, "abc", 3, &err);
	hash_buf("abc", 3, h2);
	is_int(store_blob_finish(&w, h2, 3, &err), 0, "finish after rewind");
	is_int(store_batch_wait(s, &bb, &err), 0, "written");
	free(p);
	p = store_blob_path(s, h2);
	ok(file_is(p, "abc", 3), "only the bytes after the rewind");

	/* A damaged unlisted file at the path: replaced, as a rename would. */
	write_raw(p, "abd");
	is_int(put_behind(s, &bb, "abc", h2, &err), 0, "the same blob again");
	is_int(store_batch_wait(s, &bb, &err), 0, "written over");
	ok(file_is(p, "abc", 3), "the damaged file was replaced");
	is_int(helpers_count_dir(tmp), 0, "no name left in tmp/ after a replace");

	/* Many at once: more than the queue holds is waited for, not lost. */
	for (i = 0; i < 3000; i++) {
		snprintf(text, sizeof(text), "blob number %d", i);
		if (put_behind(s, &bb, text, h, &err) != 0)
			break;
	}
	is_int(i, 3000, "3000 blobs queued");
	is_int(store_batch_wait(s, &bb, &err), 0, "all written");
	for (i = 0, missing = 0; i < 3000; i++) {
		snprintf(text, sizeof(text), "blob number %d", i);
		hash_buf(text, strlen(text), h);
		free(p);
		p = store_blob_path(s, h);
		missing += !file_is(p, text, strlen(text));
	}
	is_int(missing, 0, "every file there with its bytes");

	/* A file that cannot be made: the batch's error names the blob. */
	hash_buf("cannot be placed", 16, h);
	hash_to_hex(h, hex);
	free(p);
	p = xasprintf("%s/blobs/%.2s", dir, hex);
	helpers_rm_rf(p);
	write_raw(p, "not a directory");
	memset(&bb, 0, sizeof(bb));
	is_int(put_behind(s, &bb, "cannot be placed", h, &err), 0,
	    "verified and queued");
	rc = store_batch_wait(s, &bb, &err);
	ok(rc != 0, "the wait fails");
	ok(strstr(err.msg, hex) != NULL, "and names the blob: %s", err.msg);
	ok(bb.nfailed == 1 && store_batch_failed(&bb, h),
	    "failed: that blob, and only it");
	ok(memcmp(bb.first, h, HASH_LEN) == 0, "the first failure is it");
	store_batch_release(&bb);
	unlink(p);
	is_int(helpers_count_dir(tmp), 0, "no name left in tmp/ after a failure");

	/* Cancelled: what is still queued is dropped, the wait returns. */
	memset(&bb, 0, sizeof(bb));
	atomic_store(&bb.cancel, true);
	is_int(put_behind(s, &bb, "dropped", h, &err), 0, "queued");
	is_int(store_batch_wait(s, &bb, &err), 0, "the wait returns, no error");
	ok(store_batch_failed(&bb, h), "the dropped blob counts as not written");
	store_batch_release(&bb);
	free(p);
	p = store_blob_path(s, h);
	ok(access(p, F_OK) < 0, "a cancelled batch's blob is not written");

	/* The barrier beside a transaction, waited for by its commit. */
	store_sync_start(s);
	rc = store_txn_begin(s, true, &t, &err);
	if (rc == 0)
		rc = store_blob_put(t, h2, 3, &err);
	if (rc == 0)
		rc = store_txn_commit(t, &err);
	is_int(rc, 0, "a commit after store_sync_start()");
	is_int(store_sync_finish(s, &err), 0, "finish: already waited for");
	store_sync_start(s);
	is_int(store_sync_finish(s, &err), 0, "finish without a commit");

	/* Closing the store writes what is queued. */
	memset(&bb, 0, sizeof(bb));
	is_int(put_behind(s, &bb, "written at close", h, &err), 0, "queued");
	free(p);
	p = store_blob_path(s, h);
	store_close(s);
	ok(file_is(p, "written at close", 16), "written by store_close()");

	free(p);
	free(tmp);
	helpers_tmpdir_free(dir);
	return tap_done();
}
