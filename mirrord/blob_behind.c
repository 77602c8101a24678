/*
 * blob_behind.c: the write-behind of small verified blobs.
 *
 * A first sync is tens of thousands of small files, and creating a file
 * is most of what it costs (on ext4: an inode, a directory entry, the
 * journal). A writer begun with store_blob_begin_behind() keeps its bytes
 * in memory; its finish verifies them as any writer's does, then hands
 * them to BEHIND_THREADS threads that create the files while the caller's
 * thread goes on with the next transfers, on the other core.
 *
 * The bytes are verified before a file is made, so a file is written in
 * place: created at its path (O_EXCL), written, closed: one create, no
 * temp name, no rename (a temp file and its rename cost a third more
 * system time here). Nothing trusts a file before a commit lists it after
 * the barrier (docs/durability.md, invariant 2), so a process killed
 * mid-write leaves what a power loss leaves after store_put_mem(): a
 * short, unlisted file, which the next download of that blob replaces and
 * gc removes. Where the path exists already (such a file, or one placed
 * meanwhile) it is replaced whole, never written into: an unnamed file
 * (O_TMPFILE) linked at a temp name, then renamed over it; where unnamed
 * files cannot be used, store_blob_finish()'s temp file and rename.
 *
 * Failures are the owner's: each blob belongs to a struct blob_batch of
 * its caller (fetch_to_store()), which waits for its batch before it
 * returns and learns every blob not written (failed, or dropped by a
 * cancel) and the first failure, naming the blob. The queue holds at most
 * BEHIND_QUEUE_MAX bytes; a finish waits for room.
 */
#include "mirrord/common.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mirrord/fault.h"
#include "mirrord/store_int.h"

#define BEHIND_THREADS		2
#define BEHIND_QUEUE_MAX	(8u << 20)

struct store_behind_item {
	struct store_behind_item *next;
	struct blob_batch *batch;
	unsigned char hash[HASH_LEN];
	size_t len;
	unsigned char data[];
};

struct store_behind {
	pthread_mutex_t lock;
	pthread_cond_t more;	/* an item was queued, or stop */
	pthread_cond_t room;	/* an item was taken: bytes left the queue */
	pthread_cond_t done;	/* a batch's pending count fell */
	struct store_behind_item *head, *tail;
	size_t queued;		/* bytes in the queue */
	bool stop;
	int nthreads;
	pthread_t th[BEHIND_THREADS];
	/* Unnamed files: 0 untried, 1 they work, -1 they do not here. */
	atomic_int tmpfile;
};

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, HASH_LEN);
}

struct store_behind_item *
store_behind_item_new(uint64_t cap)
{
	struct store_behind_item *it;

	it = xmalloc(sizeof(*it) + (size_t)cap);
	it->next = NULL;
	it->batch = NULL;
	it->len = 0;
	return it;
}

void *
store_behind_item_data(struct store_behind_item *it)
{
	return it->data;
}

/* A named temp file renamed to the blob's path: store_blob_finish(). */
static int
write_named(struct store *s, const struct store_behind_item *it,
    struct merr *err)
{
	struct blob_writer w;
	int rc;

	rc = store_blob_begin(s, it->len, &w, err);
	if (rc == 0)
		rc = store_blob_write(&w, it->data, it->len, err);
	if (rc == 0)
		rc = store_blob_finish(&w, it->hash, it->len, err);
	else
		store_blob_abort(&w);
	return rc;
}

/*
 * fd's file at path: linked (its fan-out directory made if need be), else
 * (the path exists) renamed over it.
 */
static int
link_unnamed(struct store *s, int fd, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	char proc[64], *path = store_blob_path(s, h), *tmp = NULL;
	int rc = 0;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (fault_fail("rename") < 0) {
		rc = merr_errno(err, "cannot link '%s'", path);
		goto out;
	}
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
		goto out;
	if (errno == ENOENT) {
		/* Its fan-out directory first (the prepare thread's race). */
		rc = store_prepare_dirs(s, (const unsigned char (*)[HASH_LEN])h,
		    1, err);
		if (rc)
			goto out;
		if (linkat(AT_FDCWD, proc, AT_FDCWD, path,
		    AT_SYMLINK_FOLLOW) == 0)
			goto out;
	}
	if (errno != EEXIST) {
		rc = merr_errno(err, "cannot link '%s'", path);
		goto out;
	}
	/* Replaced, as a rename over it would: a name of our own first. */
	for (;;) {
		tmp = xasprintf("%s/tmp/%ld.%lu", s->dir, (long)getpid(),
		    atomic_fetch_add(&s->tmp_seq, 1));
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp,
		    AT_SYMLINK_FOLLOW) == 0)
			break;
		if (errno != EEXIST) {
			rc = merr_errno(err, "cannot link '%s'", tmp);
			goto out;
		}
		free(tmp);
	}
	if (rename(tmp, path) < 0) {
		rc = merr_errno(err, "cannot rename '%s' to '%s'", tmp, path);
		unlink(tmp);
	}
out:
	free(tmp);
	free(path);
	return rc;
}

/*
 * Written in place: created at its path (O_EXCL), written, closed. 0, 1
 * when the path exists already (nothing was done), else an error, after
 * which nothing is left at the path that was not there before (the file
 * is emptied through its descriptor first, then its name removed if it
 * is still this file's).
 */
static int
write_inplace(struct store *s, const struct store_behind_item *it,
    struct merr *err)
{
	char *path = store_blob_path(s, it->hash);
	struct stat fst, pst;
	int fd, rc = 0;

	if (fault_fail("rename") < 0) {
		rc = merr_errno(err, "cannot create '%s'", path);
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT) {
		/* Its fan-out directory first (the prepare thread's race). */
		rc = store_prepare_dirs(s,
		    (const unsigned char (*)[HASH_LEN])it->hash, 1, err);
		if (rc)
			goto out;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	}
	if (fd < 0) {
		rc = errno == EEXIST ? 1 :
		    merr_errno(err, "cannot create '%s'", path);
		goto out;
	}
	if (store_write_all(fd, it->data, it->len) < 0) {
		rc = merr_errno(err, "cannot write '%s'", path);
		if (ftruncate(fd, 0) == 0 && fstat(fd, &fst) == 0 &&
		    stat(path, &pst) == 0 && fst.st_ino == pst.st_ino &&
		    fst.st_dev == pst.st_dev)
			unlink(path);
	}
	if (close(fd) < 0 && rc == 0)
		rc = merr_errno(err, "cannot close '%s'", path);
out:
	free(path);
	return rc;
}

/*
 * An unnamed file: 0 written and linked, 1 when unnamed files cannot be
 * used here (nothing was done), else an error.
 */
static int
write_unnamed(struct store *s, struct store_behind *b,
    const struct store_behind_item *it, struct merr *err)
{
	int fd, rc;

	if (atomic_load(&b->tmpfile) < 0)
		return 1;
	fd = openat(s->dirfd, "tmp", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EOPNOTSUPP || errno == EISDIR ||
		    errno == EINVAL || errno == ENOENT) {
			atomic_store(&b->tmpfile, -1);
			return 1;
		}
		return merr_errno(err, "cannot create a file in '%s/tmp'",
		    s->dir);
	}
	if (atomic_load(&b->tmpfile) == 0) {
		char proc[64];

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		atomic_store(&b->tmpfile, access(proc, F_OK) == 0 ? 1 : -1);
		if (atomic_load(&b->tmpfile) < 0) {
			close(fd);
			return 1;
		}
	}
	if (store_write_all(fd, it->data, it->len) < 0) {
		rc = merr_errno(err, "cannot write a file in '%s/tmp'", s->dir);
		close(fd);
		return rc;
	}
	rc = link_unnamed(s, fd, it->hash, err);
	close(fd);
	return rc;
}

static void
batch_done(struct store_behind *b, struct store_behind_item *it, int rc,
    const struct merr *err)
{
	struct blob_batch *bb = it->batch;

	pthread_mutex_lock(&b->lock);
	if (rc && rc != MERR_CANCEL && bb->rc == 0) {
		char hex[HASH_HEX_LEN + 1];

		hash_to_hex(it->hash, hex);
		bb->rc = rc;
		bb->err = *err;
		merr_prefix(&bb->err, "blob %s: ", hex);
		memcpy(bb->first, it->hash, HASH_LEN);
	}
	if (rc) {
		/* Grows by doubling: a power of two or zero is full. */
		if ((bb->nfailed & (bb->nfailed - 1)) == 0)
			bb->failed = xrealloc(bb->failed, (bb->nfailed ?
			    bb->nfailed * 2 : 1) * HASH_LEN);
		memcpy(bb->failed[bb->nfailed++], it->hash, HASH_LEN);
	}
	bb->pending--;
	pthread_cond_broadcast(&b->done);
	pthread_mutex_unlock(&b->lock);
}

static void *
behind_run(void *arg)
{
	struct store *s = arg;
	struct store_behind *b = s->behind;
	struct store_behind_item *it;
	struct merr err;
	id_t tid;
	int rc, prio;

	/*
	 * Background work, 10 nicer than its process: the threads that
	 * answer the network (the transfers, a daemon's server) go first.
	 * On 2 cores, writers at the same priority delayed each wake-up of
	 * the transfers' thread: a first sync over HTTP took 4.9-5.3 s so,
	 * 3.6-4.1 s with the writers nicer (over file://: no change).
	 */
	errno = 0;
	tid = (id_t)syscall(SYS_gettid);
	prio = getpriority(PRIO_PROCESS, tid);
	if (errno == 0)
		setpriority(PRIO_PROCESS, tid, prio + 10 > 19 ? 19 : prio + 10);
	for (;;) {
		pthread_mutex_lock(&b->lock);
		while (b->head == NULL && !b->stop)
			pthread_cond_wait(&b->more, &b->lock);
		if ((it = b->head) == NULL) {
			pthread_mutex_unlock(&b->lock);
			return NULL;
		}
		if ((b->head = it->next) == NULL)
			b->tail = NULL;
		b->queued -= it->len;
		pthread_cond_broadcast(&b->room);
		pthread_mutex_unlock(&b->lock);

		memset(&err, 0, sizeof(err));
		rc = MERR_CANCEL;	/* dropped, unless written below */
		if (!atomic_load(&it->batch->cancel)) {
			rc = write_inplace(s, it, &err);
			if (rc == 1)	/* the path exists: replaced */
				rc = write_unnamed(s, b, it, &err);
			if (rc == 1)
				rc = write_named(s, it, &err);
			else if (rc == 0)
				store_s3_queue(s, it->hash);
		}
		batch_done(b, it, rc, &err);
		free(it);
	}
}

/* The threads, started by the first blob queued. */
static struct store_behind *
behind_get(struct store *s)
{
	struct store_behind *b;
	int i;

	pthread_mutex_lock(&s->behind_lock);
	if ((b = s->behind) == NULL) {
		b = xcalloc(1, sizeof(*b));
		pthread_mutex_init(&b->lock, NULL);
		pthread_cond_init(&b->more, NULL);
		pthread_cond_init(&b->room, NULL);
		pthread_cond_init(&b->done, NULL);
		s->behind = b;
		for (i = 0; i < BEHIND_THREADS; i++)
			if (pthread_create(&b->th[b->nthreads], NULL,
			    behind_run, s) == 0)
				b->nthreads++;
	}
	pthread_mutex_unlock(&s->behind_lock);
	return b;
}

void
store_behind_queue(struct store *s, struct blob_batch *bb,
    struct store_behind_item *it, const unsigned char h[HASH_LEN],
    size_t len)
{
	struct store_behind *b = behind_get(s);

	memcpy(it->hash, h, HASH_LEN);
	it->len = len;
	it->batch = bb;
	it->next = NULL;
	pthread_mutex_lock(&b->lock);
	bb->pending++;
	if (b->nthreads == 0) {
		/* No thread could be started: written here and now. */
		struct merr err = { 0 };
		int rc;

		pthread_mutex_unlock(&b->lock);
		rc = write_named(s, it, &err);
		batch_done(b, it, rc, &err);
		free(it);
		return;
	}
	while (b->queued > 0 && b->queued + len > BEHIND_QUEUE_MAX)
		pthread_cond_wait(&b->room, &b->lock);
	if (b->tail != NULL)
		b->tail->next = it;
	else
		b->head = it;
	b->tail = it;
	b->queued += len;
	pthread_cond_signal(&b->more);
	pthread_mutex_unlock(&b->lock);
}

int
store_batch_wait(struct store *s, struct blob_batch *bb, struct merr *err)
{
	struct store_behind *b;

	pthread_mutex_lock(&s->behind_lock);
	b = s->behind;
	pthread_mutex_unlock(&s->behind_lock);
	if (b == NULL)
		return bb->rc;
	pthread_mutex_lock(&b->lock);
	while (bb->pending > 0)
		pthread_cond_wait(&b->done, &b->lock);
	pthread_mutex_unlock(&b->lock);
	if (bb->nfailed > 1)	/* for store_batch_failed()'s bsearch */
		qsort(bb->failed, bb->nfailed, HASH_LEN, hash_cmp);
	if (bb->rc && err != NULL)
		*err = bb->err;
	return bb->rc;
}

bool
store_batch_failed(const struct blob_batch *bb,
    const unsigned char h[HASH_LEN])
{
	return bb->nfailed > 0 &&
	    bsearch(h, bb->failed, bb->nfailed, HASH_LEN, hash_cmp) != NULL;
}

void
store_batch_release(struct blob_batch *bb)
{
	free(bb->failed);
	bb->failed = NULL;
	bb->nfailed = 0;
}

void
store_behind_close(struct store *s)
{
	struct store_behind *b = s->behind;
	int i;

	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_cond_broadcast(&b->more);
	pthread_mutex_unlock(&b->lock);
	for (i = 0; i < b->nthreads; i++)
		pthread_join(b->th[i], NULL);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->more);
	pthread_cond_destroy(&b->room);
	pthread_cond_destroy(&b->done);
	free(b);
	s->behind = NULL;
}
