/*
 * store_open.c: opening and closing a store: its struct (the map lock and
 * thread key the transactions need), its directories, the descriptor for
 * syncfs(). The index is opened by store.c (store_index_open), the format
 * checked (and a format 1 store upgraded) by store_format.c.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "mirrord/fault.h"
#include "mirrord/store_int.h"

/* Creates one directory; an existing one is fine. */
int
store_mkdir(const char *path, mode_t mode, struct merr *err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return merr_errno(err, "cannot create directory '%s'", path);
	return 0;
}

/*
 * A struct store for dir (n bytes, no trailing slash), with no files
 * opened yet: its map lock and thread key made. Fails only if those
 * cannot be made.
 */
static int
store_new(const char *dir, size_t n, bool write, struct store **out,
    struct merr *err)
{
	struct store *s;
	pthread_rwlockattr_t attr;
	int rc;

	s = xcalloc(1, sizeof(*s));
	s->dir = xstrndup(dir, n);
	s->write = write;
	s->dirfd = -1;
	s->lock_fd = -1;
	s->chan_fd = -1;
	atomic_init(&s->full, false);
	pthread_mutex_init(&s->behind_lock, NULL);
	if (pthread_key_create(&s->depth, NULL) != 0) {
		free(s->dir);
		free(s);
		return merr_set(err, MERR_IO, "store '%s': cannot create a "
		    "thread key", dir);
	}
	/*
	 * Writers first: under steady load the readers' transactions
	 * overlap and a remap would wait for ever. No thread takes the
	 * read side twice (depth), so this kind cannot deadlock.
	 */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(&s->maplock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (rc != 0) {
		pthread_key_delete(s->depth);
		free(s->dir);
		free(s);
		return merr_set(err, MERR_IO, "store '%s': cannot create a "
		    "lock", dir);
	}
	s->map_init = true;
	*out = s;
	return 0;
}

/*
 * A writer makes the store's directories; a reader checks that there is
 * a store first, as LMDB would create index/lock.mdb.
 */
static int
store_open_dirs(struct store *s, struct merr *err)
{
	static const struct {
		const char *name;
		mode_t mode;
	} sub[] = {
		{ "blobs", 0755 }, { "tmp", 0700 }, { "index", 0755 }
	};
	char *path = NULL;
	size_t i;
	int rc = 0;

	if (s->write) {
		rc = mkdir_p(s->dir, 0755, err);
		for (i = 0; rc == 0 && i < ARRAY_SIZE(sub); i++) {
			free(path);
			path = xasprintf("%s/%s", s->dir, sub[i].name);
			rc = store_mkdir(path, sub[i].mode, err);
		}
	} else {
		path = xasprintf("%s/index/data.mdb", s->dir);
		if (access(path, F_OK) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				rc = merr_set(err, MERR_NOTFOUND,
				    "no store at '%s'", s->dir);
			else
				rc = merr_errno(err, "cannot access '%s'",
				    path);
		}
	}
	free(path);
	return rc;
}

int
store_open(const char *dir, bool write, struct store **out,
    struct merr *err)
{
	struct store *s = NULL;
	size_t n = strlen(dir);
	int rc;

	if (n == 0)
		return merr_set(err, MERR_INVAL, "empty store directory");
	while (n > 1 && dir[n - 1] == '/')
		n--;
	rc = store_new(dir, n, write, &s, err);
	if (rc)
		return rc;
	rc = store_open_dirs(s, err);
	if (rc == 0) {
		s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->dirfd < 0)
			rc = merr_errno(err, "cannot open store '%s'", s->dir);
	}
	if (rc == 0)
		rc = store_index_open(s, err);
	if (rc == 0)
		rc = store_format_open(s, err);
	if (rc) {
		store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	store_behind_close(s);	/* its files may queue uploads */
	store_s3_close(s);	/* its trim reads the index */
	store_unlock_channels(s);
	store_unlock(s);
	store_index_close(s);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->map_init) {
		pthread_rwlock_destroy(&s->maplock);
		pthread_key_delete(s->depth);
	}
	pthread_mutex_destroy(&s->behind_lock);
	free(s->dir);
	free(s);
}

const char *
store_dir(const struct store *s)
{
	return s->dir;
}

/*
 * With S3, the uploads first: the bucket is the truth, and the cached
 * files are then synced as the file backend's, because a cached listed
 * blob is served without being hashed again.
 */
int
store_sync(struct store *s, struct merr *err)
{
	int rc = store_s3_barrier(s, err);

	if (rc)
		return rc;
	if (fault_fail("syncfs") < 0 || syncfs(s->dirfd) < 0)
		return merr_errno(err, "cannot sync store '%s'", s->dir);
	return 0;
}

/* This thread's barrier running in another (store_sync_start()). */
struct barrier {
	struct store *s;
	pthread_t th;
	bool threaded;
	int rc;
	struct merr err;
};
static _Thread_local struct barrier *pending;

static void *
barrier_run(void *arg)
{
	struct barrier *b = arg;

	b->rc = store_sync(b->s, &b->err);
	return NULL;
}

void
store_sync_start(struct store *s)
{
	/* One at a time per thread (whichever store it was for). */
	if (pending != NULL)
		store_sync_finish(pending->s, NULL);
	pending = xcalloc(1, sizeof(*pending));
	pending->s = s;
	pending->threaded = pthread_create(&pending->th, NULL, barrier_run,
	    pending) == 0;
	if (!pending->threaded)
		barrier_run(pending);
}

int
store_sync_finish(struct store *s, struct merr *err)
{
	struct barrier *b = pending;
	int rc;

	if (b == NULL || b->s != s)
		return 0;
	if (b->threaded)
		pthread_join(b->th, NULL);
	pending = NULL;
	rc = b->rc;
	if (rc && err != NULL)
		*err = b->err;
	free(b);
	return rc;
}
