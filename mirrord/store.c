/*
 * store.c: the content-addressed blob store and its LMDB index.
 *
 * This is the only file that calls LMDB; every LMDB error is translated
 * here, once, into MERR_STORE (or MERR_NOTFOUND for MDB_NOTFOUND) with
 * mdb_strerror()'s text and the operation as context.
 *
 * Blob writes are the hot path of a sync (tens of thousands per run), so
 * they cost as few system calls as we can manage: mkostemp, fchmod, the
 * writes, close, rename (plus a mkdir the first time a fan-out directory
 * is needed). Nothing is fsync'ed per file; store_sync() is the one
 * barrier before the LMDB commit that names the new blobs.
 */
#include "mirrord/common.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <ftw.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "mirrord/fault.h"
#include "mirrord/hash.h"
#include "mirrord/store.h"

/*
 * The map is reserved address space, not disk: the data file grows only
 * as pages are used. Each process maps what it can (store_open halves the
 * map while mmap fails: ulimit -v, valgrind, a 32-bit address space), and
 * the map follows the data after that:
 *
 * - A writer grows its map before a write transaction that starts with
 *   more than half of it used, or after one failed with MDB_MAP_FULL
 *   (doubling, up to STORE_MAPSIZE_MAX and what mmap grants). LMDB records
 *   the larger size in the data file at the next commit.
 * - Any process whose transaction begins with MDB_MAP_RESIZED (another
 *   process wrote beyond this one's map) maps the grown file and retries.
 *
 * Remapping needs no transaction of this process to be open (lmdb.h,
 * mdb_env_set_mapsize), and the server opens read transactions in many
 * threads: every transaction (and every other look at the map) holds the
 * read side of maplock, a remap its write side.
 */
#if SIZE_MAX > 0xffffffffu
#define STORE_MAPSIZE	((size_t)64 << 30)
#define STORE_MAPSIZE_MAX	((size_t)1 << 40)
#else
#define STORE_MAPSIZE	((size_t)1 << 30)
#define STORE_MAPSIZE_MAX	((size_t)3 << 30)
#endif
#define STORE_MAPSIZE_MIN	((size_t)256 << 20)
#define STORE_MAXREADERS	512

/*
 * For tests only: the map size store_open tries first, in bytes, so that a
 * test fills a map in a few MiB. Not an option: it is not in mirrord.conf(5).
 */
#define STORE_MAPSIZE_ENV	"MIRRORD_TEST_MAPSIZE"

/* On-disk size of a blobs table value: le64 size, le64 first_seen. */
#define BLOB_REC_LEN	16

/* Longest holder text we read back from the lock file. */
#define LOCK_TEXT_MAX	256

static const char *const table_names[TBL_COUNT] = {
	[TBL_BLOBS] = "blobs",
	[TBL_SNAPS] = "snaps",
	[TBL_STATE] = "state",
	[TBL_POOL] = "pool",
	[TBL_CHANNELS] = "channels",
	[TBL_META] = "meta",
	[TBL_POOLSEQ] = "poolseq",
	[TBL_BREFS] = "brefs",
	[TBL_GC] = "gc",
};

struct store {
	char *dir;
	MDB_env *env;
	MDB_dbi dbi[TBL_COUNT];
	/* False for a table missing from a read-only open: it reads empty. */
	bool has[TBL_COUNT];
	bool write;
	int dirfd;		/* the store directory, for syncfs() */
	int lock_fd;		/* -1 unless store_lock() holds the lock */
	int chan_fd;		/* -1 unless store_lock_channels() holds it */
	unsigned long tmp_seq;	/* names this process's temp files */

	/*
	 * The map. env, mapsize and the map itself change only under the
	 * write side of maplock; depth counts this thread's open
	 * transactions, of which the outermost holds the read side.
	 */
	pthread_rwlock_t maplock;
	pthread_key_t depth;
	bool map_init;		/* maplock and depth were created */
	size_t mapsize;		/* the map this process has, bytes */
	size_t psize;		/* LMDB's page size */
	size_t grow_failed;	/* mapsize at which growing failed, or 0 */
	int map_rc;		/* why env is NULL (a remap failed) */
	atomic_bool full;	/* a write failed with MDB_MAP_FULL */
};

/*
 * Open cursors are tracked by their transaction so that ending the
 * transaction closes them: store_cursor_close() is then safe before or
 * after the transaction ends, which LMDB alone does not allow.
 */
struct store_cursor {
	struct store_txn *t;	/* NULL once the transaction ended */
	MDB_cursor *c;		/* NULL for a missing (empty) table */
	struct store_cursor *prev, *next;
};

struct store_txn {
	struct store *s;
	MDB_txn *txn;
	bool write;
	struct store_cursor *cursors;
	/* Blob rows and bytes added (negative: removed) by this txn. */
	int64_t dblobs, dbytes;
};

static int store_blob_totals_init(struct store *s, struct merr *err);
static int store_blob_totals_flush(struct store_txn *t, struct merr *err);

/*
 * The one translation of an LMDB return code: "<context>: <mdb text>".
 */
static int
store_mdb_err(struct merr *err, int rc, const char *fmt, ...)
    ATTR_PRINTF(3, 4);

static int
store_mdb_err(struct merr *err, int rc, const char *fmt, ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rc == MDB_NOTFOUND)
		return merr_set(err, MERR_NOTFOUND, "%s: not found", what);
	return merr_set(err, MERR_STORE, "%s: %s", what, mdb_strerror(rc));
}

static void
put_le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Creates one directory; an existing one is fine. */
static int
store_mkdir(const char *path, mode_t mode, struct merr *err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return merr_errno(err, "cannot create directory '%s'", path);
	return 0;
}

/*
 * Opens the named tables: created in a write txn (create), or looked up.
 */
static int
store_open_tables(struct store *s, bool create, struct merr *err)
{
	MDB_txn *txn;
	int i, rc;

	rc = mdb_txn_begin(s->env, NULL, create ? 0 : MDB_RDONLY, &txn);
	if (rc)
		return store_mdb_err(err, rc, "store '%s': cannot begin "
		    "transaction", s->dir);
	for (i = 0; i < TBL_COUNT; i++) {
		s->has[i] = false;
		rc = mdb_dbi_open(txn, table_names[i],
		    create ? MDB_CREATE : 0, &s->dbi[i]);
		if (rc == MDB_NOTFOUND && !create)
			continue;	/* never written: reads as empty */
		if (rc) {
			mdb_txn_abort(txn);
			return store_mdb_err(err, rc, "store '%s': cannot open "
			    "table '%s'", s->dir, table_names[i]);
		}
		s->has[i] = true;
	}
	/* Committing (even a read txn) makes the handles env-wide. */
	rc = mdb_txn_commit(txn);
	if (rc)
		return store_mdb_err(err, rc, "store '%s': cannot commit",
		    s->dir);
	return 0;
}

/*
 * Creates s->env and opens it with the given map size. Returns an LMDB
 * code; on failure s->env may be set and must be closed.
 */
static int
store_env_open(struct store *s, const char *path, size_t mapsize)
{
	int rc;

	rc = mdb_env_create(&s->env);
	if (rc) {
		s->env = NULL;
		return rc;
	}
	if ((rc = mdb_env_set_maxdbs(s->env, TBL_COUNT + 2)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env, mapsize)) != 0 ||
	    (rc = mdb_env_set_maxreaders(s->env, STORE_MAXREADERS)) != 0)
		return rc;
	/* MDB_NOTLS: the HTTP server may use a read txn in any thread. */
	return mdb_env_open(s->env, path,
	    MDB_NOTLS | (s->write ? 0 : MDB_RDONLY), 0644);
}

/*
 * Opens s->env with a map of size bytes, halved while mmap fails (EINVAL,
 * ENOMEM) down to floor; LMDB never maps less than the data committed, so
 * the last try asks for floor and gets at least the data. Sets s->mapsize
 * and s->psize. Returns an LMDB code; s->env is NULL on failure.
 */
static int
store_env_map(struct store *s, size_t size, size_t floor)
{
	MDB_envinfo info;
	MDB_stat st;
	char *path = xasprintf("%s/index", s->dir);
	int rc;

	for (;;) {
		rc = store_env_open(s, path, size);
		if (rc == 0 || (rc != EINVAL && rc != ENOMEM) ||
		    size / 2 < floor)
			break;
		mdb_env_close(s->env);
		s->env = NULL;
		size /= 2;
	}
	free(path);
	if (rc == 0)
		rc = mdb_env_info(s->env, &info);
	if (rc == 0)
		rc = mdb_env_stat(s->env, &st);
	if (rc) {
		if (s->env)
			mdb_env_close(s->env);
		s->env = NULL;
		return rc;
	}
	s->mapsize = info.me_mapsize;
	s->psize = st.ms_psize;
	return 0;
}

/* The first map store_open asks for (STORE_MAPSIZE_ENV: tests only). */
static size_t
store_first_mapsize(void)
{
	const char *v = getenv(STORE_MAPSIZE_ENV);
	unsigned long long n;
	char *end;

	if (v == NULL || *v == '\0')
		return STORE_MAPSIZE;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end != '\0' || n < ((size_t)1 << 20) ||
	    n > STORE_MAPSIZE_MAX)
		return STORE_MAPSIZE;
	return (size_t)n;
}

int
store_open(const char *dir, bool write, struct store **out,
    struct merr *err)
{
	struct store *s;
	char *path = NULL;
	size_t n = strlen(dir);
	size_t mapsize;
	pthread_rwlockattr_t attr;
	int rc, dead;

	if (n == 0)
		return merr_set(err, MERR_INVAL, "empty store directory");
	while (n > 1 && dir[n - 1] == '/')
		n--;
	s = xcalloc(1, sizeof(*s));
	s->dir = xstrndup(dir, n);
	s->write = write;
	s->dirfd = -1;
	s->lock_fd = -1;
	s->chan_fd = -1;
	atomic_init(&s->full, false);
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

	if (write) {
		static const struct {
			const char *name;
			mode_t mode;
		} sub[] = {
			{ "blobs", 0755 }, { "tmp", 0700 }, { "index", 0755 }
		};
		size_t i;

		rc = mkdir_p(s->dir, 0755, err);
		for (i = 0; rc == 0 && i < ARRAY_SIZE(sub); i++) {
			free(path);
			path = xasprintf("%s/%s", s->dir, sub[i].name);
			rc = store_mkdir(path, sub[i].mode, err);
		}
		if (rc)
			goto fail;
	} else {
		/* Check first: LMDB would create index/lock.mdb. */
		path = xasprintf("%s/index/data.mdb", s->dir);
		if (access(path, F_OK) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				rc = merr_set(err, MERR_NOTFOUND,
				    "no store at '%s'", s->dir);
			else
				rc = merr_errno(err, "cannot access '%s'",
				    path);
			goto fail;
		}
	}

	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		rc = merr_errno(err, "cannot open store '%s'", s->dir);
		goto fail;
	}

	free(path);
	path = xasprintf("%s/index", s->dir);
	/*
	 * Some environments cannot reserve 64 GiB of address space (ulimit
	 * -v, valgrind): mmap then fails with EINVAL or ENOMEM and we retry
	 * with half the map, down to 256 MiB.
	 */
	mapsize = store_first_mapsize();
	rc = store_env_map(s, mapsize, mapsize < STORE_MAPSIZE_MIN ?
	    mapsize : STORE_MAPSIZE_MIN);
	if (rc == ENOENT && !write) {
		rc = merr_set(err, MERR_NOTFOUND, "no store at '%s'", s->dir);
		goto fail;
	}
	if (rc) {
		rc = store_mdb_err(err, rc, "cannot open '%s'", path);
		goto fail;
	}
	/* Free the reader slots of killed processes. */
	rc = mdb_reader_check(s->env, &dead);
	if (rc) {
		rc = store_mdb_err(err, rc, "store '%s': cannot check "
		    "readers", s->dir);
		goto fail;
	}
	rc = store_open_tables(s, write, err);
	if (rc == 0 && write)
		rc = store_blob_totals_init(s, err);
	if (rc)
		goto fail;
	free(path);
	*out = s;
	return 0;
fail:
	free(path);
	store_close(s);
	return rc;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	store_unlock_channels(s);
	store_unlock(s);
	if (s->env)
		mdb_env_close(s->env);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->map_init) {
		pthread_rwlock_destroy(&s->maplock);
		pthread_key_delete(s->depth);
	}
	free(s->dir);
	free(s);
}

const char *
store_dir(const struct store *s)
{
	return s->dir;
}

/*
 * Describes the holder of lock file fd from its "pid what" text: "<which>
 * '<store>' is (are: plural which) locked by ...".
 */
static int
lock_busy(struct store *s, const char *which, bool are, int fd,
    struct merr *err)
{
	char text[LOCK_TEXT_MAX + 1], *sp, *nl;
	uint64_t pid;
	ssize_t n;

	do
		n = pread(fd, text, LOCK_TEXT_MAX, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = 0;
	text[n] = '\0';
	if ((nl = strchr(text, '\n')) != NULL)
		*nl = '\0';
	sp = strchr(text, ' ');
	/* The holder may not have written its name yet. */
	if (sp == NULL || parse_u64(text, (size_t)(sp - text), INT32_MAX,
	    &pid) != 0)
		return merr_set(err, MERR_BUSY, "%s '%s' %s locked by "
		    "another process", which, s->dir, are ? "are" : "is");
	return merr_set(err, MERR_BUSY, "%s '%s' %s locked by pid %llu "
	    "(%s)", which, s->dir, are ? "are" : "is",
	    (unsigned long long)pid, sp + 1);
}

/*
 * Takes the flock on <store>/name into *fdp and writes "pid what" into
 * the file; which names the lock in messages.
 */
static int
lock_take(struct store *s, const char *name, const char *which, int *fdp,
    const char *what, bool wait, struct merr *err)
{
	char *path, *text;
	size_t len;
	ssize_t n;
	int fd, rc;

	if (*fdp >= 0)
		return merr_set(err, MERR_BUSY, "%s '%s' %s already "
		    "locked by this process", which, s->dir,
		    fdp == &s->chan_fd ? "are" : "is");
	path = xasprintf("%s/%s", s->dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = merr_errno(err, "cannot open '%s'", path);
		free(path);
		return rc;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			rc = merr_errno(err, "cannot lock '%s'", path);
			goto fail;
		}
		if (!wait) {
			rc = lock_busy(s, which, fdp == &s->chan_fd, fd,
			    err);
			goto fail;
		}
		/* The caller logged the holder; now we block. */
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				rc = merr_errno(err, "cannot lock '%s'", path);
				goto fail;
			}
		}
	}
	text = xasprintf("%ld %s\n", (long)getpid(), what);
	len = strlen(text);
	if (ftruncate(fd, 0) < 0) {
		rc = merr_errno(err, "cannot truncate '%s'", path);
		free(text);
		goto fail;
	}
	do
		n = pwrite(fd, text, len, 0);
	while (n < 0 && errno == EINTR);
	free(text);
	if (n < 0 || (size_t)n != len) {
		if (n >= 0)
			errno = EIO;
		rc = merr_errno(err, "cannot write '%s'", path);
		goto fail;
	}
	free(path);
	*fdp = fd;
	return 0;
fail:
	close(fd);	/* releases the flock if we took it */
	free(path);
	return rc;
}

static void
lock_drop(int *fdp)
{
	if (*fdp < 0)
		return;
	/*
	 * Clear the holder text while still holding the lock; the file stays
	 * (unlinking a flock'ed file races with the next opener).
	 */
	if (ftruncate(*fdp, 0) < 0) {
		/* Harmless: the next holder truncates it. */
	}
	close(*fdp);
	*fdp = -1;
}

int
store_lock(struct store *s, const char *what, bool wait, struct merr *err)
{
	return lock_take(s, "lock", "store", &s->lock_fd, what, wait, err);
}

void
store_unlock(struct store *s)
{
	lock_drop(&s->lock_fd);
}

int
store_lock_channels(struct store *s, const char *what, bool wait,
    struct merr *err)
{
	return lock_take(s, "lock.channels", "channels of store",
	    &s->chan_fd, what, wait, err);
}

void
store_unlock_channels(struct store *s)
{
	lock_drop(&s->chan_fd);
}

int
store_sync(struct store *s, struct merr *err)
{
	if (fault_fail("syncfs") < 0 || syncfs(s->dirfd) < 0)
		return merr_errno(err, "cannot sync store '%s'", s->dir);
	return 0;
}

/* How many transactions of s this thread has open. */
static uintptr_t
map_depth(struct store *s)
{
	return (uintptr_t)pthread_getspecific(s->depth);
}

/*
 * Marks the start of a use of the map by this thread: the outermost takes
 * the read side of maplock, so that a remap waits for it to end.
 */
static void
map_enter(struct store *s)
{
	uintptr_t n = map_depth(s);

	if (n == 0 && pthread_rwlock_rdlock(&s->maplock) != 0)
		abort();	/* EAGAIN (2^32 readers) or EDEADLK: a bug */
	if (pthread_setspecific(s->depth, (void *)(n + 1)) != 0)
		abort();	/* ENOMEM, as xmalloc */
}

static void
map_leave(struct store *s)
{
	uintptr_t n = map_depth(s);

	pthread_setspecific(s->depth, (void *)(n - 1));
	if (n == 1)
		pthread_rwlock_unlock(&s->maplock);
}

/* Bytes of the data file in use (up to its last page); under maplock. */
static size_t
map_used(struct store *s)
{
	MDB_envinfo info;

	if (mdb_env_info(s->env, &info) != 0)
		return 0;
	return ((size_t)info.me_last_pgno + 1) * s->psize;
}

/*
 * Maps the index with size bytes (LMDB rounds a smaller size up to the
 * data). mdb_env_set_mapsize() unmaps first and, in LMDB 0.9, leaves the
 * environment without a map if the new mmap fails (so that passing 0, the
 * size the last writer recorded, cannot be tried and taken back under
 * ulimit -v): the environment is then opened again, with maps halved
 * down to floor. Under the write side of maplock.
 */
static int
map_remap(struct store *s, size_t size, size_t floor)
{
	MDB_envinfo info;
	struct merr err;
	int rc;

	if (s->env != NULL) {
		rc = mdb_env_set_mapsize(s->env, size);
		if (rc == 0 && mdb_env_info(s->env, &info) == 0) {
			s->mapsize = info.me_mapsize;
			return 0;
		}
		mdb_env_close(s->env);
		s->env = NULL;
	}
	rc = store_env_map(s, size, floor);
	if (rc == 0 && store_open_tables(s, false, &err) != 0) {
		mdb_env_close(s->env);
		s->env = NULL;
		rc = EINVAL;
	}
	s->map_rc = rc;
	return rc;
}

/* Doubles size until it holds need, within STORE_MAPSIZE_MAX. */
static size_t
map_fit(size_t size, size_t need)
{
	while (size < need && size <= STORE_MAPSIZE_MAX / 2)
		size *= 2;
	return size < need ? need : size;
}

/*
 * Makes the map fit the data, under the write side of maplock (waiting
 * for this process's transactions to end): maps a file another process
 * grew beyond this map (MDB_MAP_RESIZED), opens the environment again if
 * a remap lost it, and for a writer (write) doubles a map that is full or
 * more than half used. A map that cannot grow is not an error here: the
 * transaction may still fit, and a put that does not says so.
 */
static int
map_fix(struct store *s, bool write, struct merr *err)
{
	size_t used = 0, old;
	int rc = 0;

	pthread_rwlock_wrlock(&s->maplock);
	if (s->env == NULL) {
		rc = map_remap(s, s->mapsize, STORE_MAPSIZE_MIN);
		goto out;
	}
	used = map_used(s);
	if (used > s->mapsize) {
		rc = map_remap(s, map_fit(s->mapsize, used),
		    STORE_MAPSIZE_MIN);
		goto out;
	}
	if (!write)
		goto out;
	if (s->mapsize >= STORE_MAPSIZE_MAX) {
		atomic_store(&s->full, false);
		goto out;
	}
	if (!atomic_load(&s->full) &&
	    (used <= s->mapsize / 2 || s->grow_failed == s->mapsize))
		goto out;
	old = s->mapsize;
	rc = map_remap(s, map_fit(old, old + 1), old);
	if (rc == 0 && s->mapsize <= old)
		s->grow_failed = s->mapsize;
	atomic_store(&s->full, false);
out:
	pthread_rwlock_unlock(&s->maplock);
	if (rc && used)
		return merr_set(err, MERR_STORE, "store '%s': cannot map the "
		    "index (%zu MiB in use): %s: raise the address space "
		    "limit (ulimit -v)", s->dir, (used + (1 << 20) - 1) >> 20,
		    mdb_strerror(rc));
	if (rc)
		return merr_set(err, MERR_STORE, "store '%s': cannot map the "
		    "index: %s: raise the address space limit (ulimit -v)",
		    s->dir, mdb_strerror(rc));
	return 0;
}

/* Whether a writer should grow the map first; under the read side. */
static bool
map_want_grow(struct store *s)
{
	size_t used;

	if (s->mapsize >= STORE_MAPSIZE_MAX)
		return false;
	if (atomic_load(&s->full))
		return true;
	used = map_used(s);
	return used > s->mapsize / 2 && s->grow_failed != s->mapsize;
}

int
store_txn_begin(struct store *s, bool write, struct store_txn **out,
    struct merr *err)
{
	struct store_txn *t;
	bool outer = map_depth(s) == 0;
	int rc, tries;

	if (write && !s->write)
		return merr_set(err, MERR_INVAL, "store '%s' is open "
		    "read-only", s->dir);
	t = xcalloc(1, sizeof(*t));
	t->s = s;
	t->write = write;
	for (tries = 0; ; tries++) {
		map_enter(s);
		if (s->env == NULL)
			rc = s->map_rc ? s->map_rc : EINVAL;
		else if (write && outer && tries == 0 && map_want_grow(s))
			rc = MDB_MAP_FULL;	/* grow first */
		else
			rc = mdb_txn_begin(s->env, NULL,
			    write ? 0 : MDB_RDONLY, &t->txn);
		if (rc == 0)
			break;
		map_leave(s);
		/* A thread with a transaction open cannot wait for a remap. */
		if (!outer || tries == 3 || (rc != MDB_MAP_RESIZED &&
		    rc != MDB_MAP_FULL && s->env != NULL))
			break;
		rc = map_fix(s, write, err);
		if (rc) {
			free(t);
			return rc;
		}
	}
	if (rc) {
		free(t);
		return store_mdb_err(err, rc, "store '%s': cannot begin "
		    "transaction", s->dir);
	}
	*out = t;
	return 0;
}

/*
 * The error of a write that found the map full: the map is grown before
 * the next write transaction begins (MERR_FULL: the caller may retry).
 */
static int
store_full_err(struct store *s, struct merr *err, const char *what)
{
	atomic_store(&s->full, true);
	return merr_set(err, MERR_FULL, "store '%s': %s: the index map is "
	    "full at %zu MiB (MDB_MAP_FULL); it grows before the next write",
	    s->dir, what, s->mapsize >> 20);
}

int
store_check(struct store *s, struct merr *err)
{
	struct store_txn *t;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	if (rc == 0)
		store_txn_abort(t);
	return rc;
}

/* Closes the LMDB cursors still open; their wrappers stay for the caller. */
static void
store_txn_close_cursors(struct store_txn *t)
{
	struct store_cursor *c, *next;

	for (c = t->cursors; c != NULL; c = next) {
		next = c->next;
		if (c->c)
			mdb_cursor_close(c->c);
		c->c = NULL;
		c->t = NULL;
		c->prev = c->next = NULL;
	}
	t->cursors = NULL;
}

int
store_txn_commit(struct store_txn *t, struct merr *err)
{
	struct store *s = t->s;
	char *dir = s->dir;
	struct statvfs vfs;
	int rc;

	store_txn_close_cursors(t);
	/* The blob counters change in the commit that changes the rows. */
	if (t->dblobs != 0 || t->dbytes != 0) {
		struct merr e;

		rc = store_blob_totals_flush(t, &e);
		if (rc) {
			mdb_txn_abort(t->txn);
			free(t);
			if (err)
				*err = e;
			return rc;
		}
	}
	rc = fault_check("commit");
	if (rc)
		mdb_txn_abort(t->txn);	/* as a failed commit frees it */
	else
		rc = mdb_txn_commit(t->txn);	/* frees the txn, even on error */
	map_leave(s);
	free(t);
	if (rc == MDB_MAP_FULL)
		return store_full_err(s, err, "cannot commit");
	/*
	 * LMDB says EIO for a short write: on a full file system that is
	 * ENOSPC, which says what to do about it.
	 */
	if (rc == EIO && fstatvfs(s->dirfd, &vfs) == 0 && vfs.f_bavail == 0)
		rc = ENOSPC;
	if (rc)
		return store_mdb_err(err, rc, "store '%s': cannot commit", dir);
	return 0;
}

void
store_txn_abort(struct store_txn *t)
{
	if (t == NULL)
		return;
	store_txn_close_cursors(t);
	mdb_txn_abort(t->txn);
	map_leave(t->s);
	free(t);
}

int
store_get(struct store_txn *t, enum store_table tbl, const void *key,
    size_t klen, const void **val, size_t *vlen, struct merr *err)
{
	MDB_val k = { klen, (void *)key }, v;
	int rc;

	if (!t->s->has[tbl])
		return merr_set(err, MERR_NOTFOUND, "'%s': not found",
		    table_names[tbl]);
	rc = mdb_get(t->txn, t->s->dbi[tbl], &k, &v);
	if (rc)
		return store_mdb_err(err, rc, "cannot get from '%s'",
		    table_names[tbl]);
	*val = v.mv_data;
	*vlen = v.mv_size;
	return 0;
}

int
store_put(struct store_txn *t, enum store_table tbl, const void *key,
    size_t klen, const void *val, size_t vlen, struct merr *err)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int rc;

	rc = mdb_put(t->txn, t->s->dbi[tbl], &k, &v, 0);
	if (rc == MDB_MAP_FULL)
		return store_full_err(t->s, err, "cannot put");
	if (rc)
		return store_mdb_err(err, rc, "cannot put into '%s'",
		    table_names[tbl]);
	return 0;
}

int
store_del(struct store_txn *t, enum store_table tbl, const void *key,
    size_t klen, struct merr *err)
{
	MDB_val k = { klen, (void *)key };
	int rc;

	rc = mdb_del(t->txn, t->s->dbi[tbl], &k, NULL);
	if (rc == MDB_MAP_FULL)
		return store_full_err(t->s, err, "cannot delete");
	if (rc)
		return store_mdb_err(err, rc, "cannot delete from '%s'",
		    table_names[tbl]);
	return 0;
}

int
store_cursor_open(struct store_txn *t, enum store_table tbl,
    struct store_cursor **out, struct merr *err)
{
	struct store_cursor *c = xcalloc(1, sizeof(*c));
	int rc;

	if (t->s->has[tbl]) {
		rc = mdb_cursor_open(t->txn, t->s->dbi[tbl], &c->c);
		if (rc) {
			free(c);
			return store_mdb_err(err, rc, "cannot open cursor on "
			    "'%s'", table_names[tbl]);
		}
	}
	c->t = t;
	c->next = t->cursors;
	if (t->cursors)
		t->cursors->prev = c;
	t->cursors = c;
	*out = c;
	return 0;
}

/* One cursor move: 1 with the entry, 0 at the end, or an error. */
static int
store_cursor_get(struct store_cursor *c, MDB_val *key, MDB_cursor_op op,
    const void **k, size_t *kl, const void **v, size_t *vl,
    struct merr *err)
{
	MDB_val val;
	int rc;

	if (c->t == NULL)
		return merr_set(err, MERR_INVAL, "cursor used after its "
		    "transaction ended");
	if (c->c == NULL)
		return 0;	/* missing table: empty */
	rc = mdb_cursor_get(c->c, key, &val, op);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_mdb_err(err, rc, "cannot move cursor");
	*k = key->mv_data;
	*kl = key->mv_size;
	*v = val.mv_data;
	*vl = val.mv_size;
	return 1;
}

int
store_cursor_seek(struct store_cursor *c, const void *key, size_t klen,
    const void **k, size_t *kl, const void **v, size_t *vl,
    struct merr *err)
{
	MDB_val mk = { klen, (void *)key };

	return store_cursor_get(c, &mk, klen ? MDB_SET_RANGE : MDB_FIRST,
	    k, kl, v, vl, err);
}

int
store_cursor_seek_le(struct store_cursor *c, const void *key, size_t klen,
    const void **k, size_t *kl, const void **v, size_t *vl,
    struct merr *err)
{
	MDB_val mk = { klen, (void *)key };
	int rc;

	rc = store_cursor_get(c, &mk, MDB_SET_RANGE, k, kl, v, vl, err);
	if (rc < 0)
		return rc;
	if (rc == 1 && *kl == klen && memcmp(*k, key, klen) == 0)
		return 1;
	mk.mv_size = 0;
	mk.mv_data = NULL;
	/* Past the key (step back), or past every key (take the last). */
	return store_cursor_get(c, &mk, rc == 1 ? MDB_PREV : MDB_LAST, k, kl,
	    v, vl, err);
}

int
store_cursor_next(struct store_cursor *c, const void **k, size_t *kl,
    const void **v, size_t *vl, struct merr *err)
{
	MDB_val mk = { 0, NULL };

	return store_cursor_get(c, &mk, MDB_NEXT, k, kl, v, vl, err);
}

int
store_cursor_del(struct store_cursor *c, struct merr *err)
{
	int rc;

	if (c->t == NULL)
		return merr_set(err, MERR_INVAL, "cursor used after its "
		    "transaction ended");
	if (c->c == NULL)
		return merr_set(err, MERR_NOTFOUND, "cursor: not found");
	rc = mdb_cursor_del(c->c, 0);
	if (rc == MDB_MAP_FULL)
		return store_full_err(c->t->s, err, "cannot delete");
	if (rc)
		return store_mdb_err(err, rc, "cannot delete at cursor");
	return 0;
}

void
store_cursor_close(struct store_cursor *c)
{
	if (c == NULL)
		return;
	if (c->t != NULL) {
		if (c->prev)
			c->prev->next = c->next;
		else
			c->t->cursors = c->next;
		if (c->next)
			c->next->prev = c->prev;
		if (c->c)
			mdb_cursor_close(c->c);
	}
	free(c);
}

int
store_blob_get(struct store_txn *t, const unsigned char h[HASH_LEN],
    struct store_blob_rec *rec, struct merr *err)
{
	const void *v;
	size_t vlen;
	char hex[HASH_HEX_LEN + 1];
	int rc;

	rc = store_get(t, TBL_BLOBS, h, HASH_LEN, &v, &vlen, err);
	if (rc) {
		hash_to_hex(h, hex);
		return merr_prefix(err, "blob '%s': ", hex);
	}
	if (vlen != BLOB_REC_LEN) {
		hash_to_hex(h, hex);
		return merr_set(err, MERR_STORE, "blob '%s': record of %zu "
		    "bytes, expected %d", hex, vlen, BLOB_REC_LEN);
	}
	rec->size = get_le64(v);
	rec->first_seen = (int64_t)get_le64((const unsigned char *)v + 8);
	return 0;
}

int
store_blob_put(struct store_txn *t, const unsigned char h[HASH_LEN],
    uint64_t size, struct merr *err)
{
	struct store_blob_rec old;
	struct merr e;
	unsigned char v[BLOB_REC_LEN];
	int64_t first_seen = (int64_t)time(NULL);
	bool is_new = false;
	int rc;

	/* A local error: err stays untouched when the blob is new. */
	rc = store_blob_get(t, h, &old, &e);
	if (rc == 0) {
		if (old.size == size)
			return 0;	/* nothing to change: skip the write */
		first_seen = old.first_seen;
	} else if (rc == MERR_NOTFOUND) {
		is_new = true;
		old.size = 0;
	} else {
		if (err)
			*err = e;
		return rc;
	}
	put_le64(v, size);
	put_le64(v + 8, (uint64_t)first_seen);
	rc = store_put(t, TBL_BLOBS, h, HASH_LEN, v, sizeof(v), err);
	if (rc)
		return rc;
	t->dblobs += is_new;
	t->dbytes += (int64_t)size - (int64_t)old.size;
	return 0;
}

int
store_blob_del(struct store_txn *t, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	struct store_blob_rec rec;
	int rc;

	rc = store_blob_get(t, h, &rec, err);
	if (rc == 0)
		rc = store_del(t, TBL_BLOBS, h, HASH_LEN, err);
	if (rc)
		return rc;
	t->dblobs--;
	t->dbytes -= (int64_t)rec.size;
	return 0;
}

/*
 * The blob counters: TBL_META "store.blobs" (no NUL, so no mirror's
 * "name\0key" row) -> format byte 1, be64 rows, be64 bytes. Written by the
 * commit that changes blob rows, so status reads two numbers instead of
 * every row; a store from before them gets them from one scan, at the
 * first open for writing.
 */
#define BLOB_TOTALS_KEY "store.blobs"
#define BLOB_TOTALS_LEN 17

/* Counts the blob rows of txn the slow way. */
static int
store_blob_scan(MDB_txn *txn, struct store *s, uint64_t *n, uint64_t *bytes,
    struct merr *err)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	*n = 0;
	*bytes = 0;
	if (!s->has[TBL_BLOBS])
		return 0;
	rc = mdb_cursor_open(txn, s->dbi[TBL_BLOBS], &c);
	if (rc)
		return store_mdb_err(err, rc, "cannot open cursor on '%s'",
		    table_names[TBL_BLOBS]);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != HASH_LEN || v.mv_size != BLOB_REC_LEN)
			continue;	/* fsck reports those */
		(*n)++;
		*bytes += get_le64(v.mv_data);
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(err, rc, "cannot read '%s'",
		    table_names[TBL_BLOBS]);
	return 0;
}

/* The counters row of txn: 1 and the values, 0 if absent, or an error. */
static int
store_blob_totals_get(MDB_txn *txn, struct store *s, uint64_t *n,
    uint64_t *bytes, struct merr *err)
{
	MDB_val k = { sizeof(BLOB_TOTALS_KEY) - 1, (void *)BLOB_TOTALS_KEY };
	MDB_val v;
	const unsigned char *p;
	int rc;

	if (!s->has[TBL_META])
		return 0;
	rc = mdb_get(txn, s->dbi[TBL_META], &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_mdb_err(err, rc, "cannot get from '%s'",
		    table_names[TBL_META]);
	p = v.mv_data;
	if (v.mv_size != BLOB_TOTALS_LEN || p[0] != 1)
		return 0;	/* not a format we know: count again */
	*n = be64_get(p + 1);
	*bytes = be64_get(p + 9);
	return 1;
}

static int
store_blob_totals_put(MDB_txn *txn, struct store *s, uint64_t n,
    uint64_t bytes, struct merr *err)
{
	MDB_val k = { sizeof(BLOB_TOTALS_KEY) - 1, (void *)BLOB_TOTALS_KEY };
	unsigned char p[BLOB_TOTALS_LEN];
	MDB_val v = { sizeof(p), p };
	int rc;

	p[0] = 1;
	be64_put(p + 1, n);
	be64_put(p + 9, bytes);
	rc = mdb_put(txn, s->dbi[TBL_META], &k, &v, 0);
	if (rc)
		return store_mdb_err(err, rc, "cannot put into '%s'",
		    table_names[TBL_META]);
	return 0;
}

/* Applies t's changes to the counters, before t commits. */
static int
store_blob_totals_flush(struct store_txn *t, struct merr *err)
{
	uint64_t n, bytes;
	int rc;

	rc = store_blob_totals_get(t->txn, t->s, &n, &bytes, err);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		/* No row yet: the scan sees this txn's rows already. */
		rc = store_blob_scan(t->txn, t->s, &n, &bytes, err);
	} else if ((t->dblobs < 0 && (uint64_t)-t->dblobs > n) ||
	    (t->dbytes < 0 && (uint64_t)-t->dbytes > bytes)) {
		/* Counters below zero: they were wrong; count again. */
		rc = store_blob_scan(t->txn, t->s, &n, &bytes, err);
	} else {
		n += (uint64_t)t->dblobs;
		bytes += (uint64_t)t->dbytes;
		rc = 0;
	}
	if (rc == 0)
		rc = store_blob_totals_put(t->txn, t->s, n, bytes, err);
	t->dblobs = 0;
	t->dbytes = 0;
	return rc;
}

/* At an open for writing: counts once if the store has no counters. */
static int
store_blob_totals_init(struct store *s, struct merr *err)
{
	MDB_txn *txn;
	uint64_t n, bytes;
	int rc;

	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return store_mdb_err(err, rc, "store '%s': cannot begin "
		    "transaction", s->dir);
	rc = store_blob_totals_get(txn, s, &n, &bytes, err);
	mdb_txn_abort(txn);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return store_mdb_err(err, rc, "store '%s': cannot begin "
		    "transaction", s->dir);
	/* Another writer may have counted in between: look again. */
	rc = store_blob_totals_get(txn, s, &n, &bytes, err);
	if (rc == 0)
		rc = store_blob_scan(txn, s, &n, &bytes, err);
	if (rc == 0)
		rc = store_blob_totals_put(txn, s, n, bytes, err);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc < 0 ? rc : 0;
	}
	rc = mdb_txn_commit(txn);
	if (rc)
		return store_mdb_err(err, rc, "store '%s': cannot commit",
		    s->dir);
	return 0;
}

int
store_blob_totals(struct store_txn *t, uint64_t *n, uint64_t *bytes,
    struct merr *err)
{
	int rc;

	rc = store_blob_totals_get(t->txn, t->s, n, bytes, err);
	if (rc < 0)
		return rc;
	if (rc == 0)	/* a store no writer opened since the counters */
		return store_blob_scan(t->txn, t->s, n, bytes, err);
	*n += (uint64_t)t->dblobs;
	*bytes += (uint64_t)t->dbytes;
	return 0;
}

char *
store_blob_path(const struct store *s, const unsigned char h[HASH_LEN])
{
	char hex[HASH_HEX_LEN + 1];

	hash_to_hex(h, hex);
	return xasprintf("%s/blobs/%.2s/%.2s/%s", s->dir, hex, hex + 2, hex);
}

int
store_blob_open(const struct store *s, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	char hex[HASH_HEX_LEN + 1];
	char *path = store_blob_path(s, h);
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			hash_to_hex(h, hex);
			fd = merr_set(err, MERR_NOTFOUND, "blob '%s' is not in "
			    "store '%s'", hex, s->dir);
		} else
			fd = merr_errno(err, "cannot open '%s'", path);
	}
	free(path);
	return fd;
}

/* Back to the released state: no fd, no temp file, no hash context. */
static void
blob_writer_release(struct blob_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	free(w->tmp_path);
	w->tmp_path = NULL;
	hash_release(&w->hash);
}

int
store_blob_begin(struct store *s, uint64_t cap, struct blob_writer *w,
    struct merr *err)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->store = s;
	w->cap = cap;
	/*
	 * "tmp/<pid>.<n>": unique among live writers (pids differ; a
	 * process's counter never repeats; store_clean_tmp() keeps the
	 * files of other live pids), and created 0644 in one call,
	 * as blobs are public archive content that a serve process running
	 * as another user reads. tmp/ itself is 0700, so nothing is
	 * readable before it is verified. Leftovers of killed writers are
	 * removed by store_clean_tmp(); a name they left is skipped.
	 */
	for (;;) {
		w->tmp_path = xasprintf("%s/tmp/%ld.%lu", s->dir,
		    (long)getpid(), s->tmp_seq++);
		w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0644);
		if (w->fd >= 0 || errno != EEXIST)
			break;
		free(w->tmp_path);
	}
	if (w->fd < 0) {
		rc = merr_errno(err, "cannot create a temporary file in "
		    "'%s/tmp'", s->dir);
		blob_writer_release(w);
		return rc;
	}
	hash_init(&w->hash);
	return 0;
}

int
store_blob_write(struct blob_writer *w, const void *data, size_t len,
    struct merr *err)
{
	const char *p = data;
	size_t left = len;

	if (w->fd < 0)
		return merr_set(err, MERR_INVAL, "blob writer is not open");
	if (len > w->cap || w->size > w->cap - len)
		return merr_set(err, MERR_LIMIT, "more than %llu bytes",
		    (unsigned long long)w->cap);
	while (left > 0) {
		ssize_t n = fault_fail("write") < 0 ? -1 :
		    write(w->fd, p, left);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return merr_errno(err, "cannot write '%s'",
			    w->tmp_path);
		}
		p += n;
		left -= (size_t)n;
	}
	hash_update(&w->hash, data, len);
	w->size += len;
	return 0;
}

int
store_blob_rewind(struct blob_writer *w, struct merr *err)
{
	if (ftruncate(w->fd, 0) < 0)
		return merr_errno(err, "cannot truncate '%s'", w->tmp_path);
	if (lseek(w->fd, 0, SEEK_SET) < 0)
		return merr_errno(err, "cannot seek '%s'", w->tmp_path);
	hash_release(&w->hash);
	hash_init(&w->hash);
	w->size = 0;
	return 0;
}

/*
 * Renames the temp file to blobs/ab/cd/<hex>. The fan-out directories are
 * made on demand: the rename is tried first (the common case once a store
 * is warm), then the leaf directory, then its parent.
 */
static int
store_blob_place(struct blob_writer *w, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	char *path = store_blob_path(w->store, h);
	size_t n = strlen(path);
	int rc = 0;

	if (fault_fail("rename") == 0 && rename(w->tmp_path, path) == 0)
		goto out;
	if (errno != ENOENT) {
		rc = merr_errno(err, "cannot rename '%s' to '%s'",
		    w->tmp_path, path);
		goto out;
	}
	/* path is ".../blobs/ab/cd/<64 hex>": cut it at the slashes. */
	path[n - HASH_HEX_LEN - 1] = '\0';		/* .../blobs/ab/cd */
	if (mkdir(path, 0755) < 0) {
		if (errno == ENOENT) {
			/* Then .../blobs/ab first. */
			path[n - HASH_HEX_LEN - 4] = '\0';
			rc = store_mkdir(path, 0755, err);
			path[n - HASH_HEX_LEN - 4] = '/';
			if (rc == 0)
				rc = store_mkdir(path, 0755, err);
		} else if (errno != EEXIST)
			rc = merr_errno(err, "cannot create directory '%s'",
			    path);
		if (rc)
			goto out;
	}
	path[n - HASH_HEX_LEN - 1] = '/';
	if (rename(w->tmp_path, path) < 0)
		rc = merr_errno(err, "cannot rename '%s' to '%s'",
		    w->tmp_path, path);
out:
	free(path);
	return rc;
}

int
store_prepare_dirs(struct store *s, const unsigned char (*h)[HASH_LEN],
    size_t n, struct merr *err)
{
	char *path = store_blob_path(s, h[0]);
	size_t len = strlen(path) - HASH_HEX_LEN - 1, i;
	unsigned char *made = xcalloc(65536 / 8, 1), *top = xcalloc(256, 1);
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		unsigned leaf = (unsigned)h[i][0] << 8 | h[i][1];
		char hex[HASH_HEX_LEN + 1];

		if (made[leaf / 8] & (1u << (leaf % 8)))
			continue;
		made[leaf / 8] |= (unsigned char)(1u << (leaf % 8));
		hash_to_hex(h[i], hex);
		/* .../blobs/ab/cd: patch the two fan-out names in place. */
		memcpy(path + len - 5, hex, 2);
		memcpy(path + len - 2, hex + 2, 2);
		path[len] = '\0';
		if (!top[h[i][0]]) {
			path[len - 3] = '\0';
			rc = store_mkdir(path, 0755, err);
			path[len - 3] = '/';
			top[h[i][0]] = 1;
		}
		if (rc == 0)
			rc = store_mkdir(path, 0755, err);
	}
	free(made);
	free(top);
	free(path);
	return rc;
}

int
store_blob_finish(struct blob_writer *w, const unsigned char want[HASH_LEN],
    uint64_t want_size, struct merr *err)
{
	unsigned char got[HASH_LEN];
	char ghex[HASH_HEX_LEN + 1], whex[HASH_HEX_LEN + 1];
	int rc;

	if (w->size != want_size) {
		rc = merr_set(err, MERR_VERIFY, "size mismatch: got %llu, "
		    "expected %llu", (unsigned long long)w->size,
		    (unsigned long long)want_size);
		goto fail;
	}
	hash_final(&w->hash, got);
	if (memcmp(got, want, HASH_LEN) != 0) {
		hash_to_hex(got, ghex);
		hash_to_hex(want, whex);
		rc = merr_set(err, MERR_VERIFY, "sha256 mismatch: got %s, "
		    "expected %s", ghex, whex);
		goto fail;
	}
	rc = close(w->fd);
	w->fd = -1;
	if (rc < 0) {
		rc = merr_errno(err, "cannot close '%s'", w->tmp_path);
		goto fail;
	}
	rc = store_blob_place(w, want, err);
	if (rc)
		goto fail;
	blob_writer_release(w);	/* the temp name is now the blob's */
	return 0;
fail:
	store_blob_abort(w);
	return rc;
}

void
store_blob_abort(struct blob_writer *w)
{
	if (w->tmp_path)
		unlink(w->tmp_path);
	blob_writer_release(w);
}

int
store_blob_adopt(struct store *s, const unsigned char h[HASH_LEN],
    uint64_t size, bool *ok, struct merr *err)
{
	unsigned char got[HASH_LEN];
	char *path = store_blob_path(s, h);
	struct stat st;
	uint64_t got_size;
	int fd, rc = 0;

	*ok = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			rc = merr_errno(err, "cannot open '%s'", path);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = merr_errno(err, "cannot stat '%s'", path);
		goto out;
	}
	/* A wrong size needs no hashing. */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size == size) {
		rc = hash_fd(fd, got, &got_size, err);
		if (rc) {
			merr_prefix(err, "'%s': ", path);
			goto out;
		}
		*ok = got_size == size && memcmp(got, h, HASH_LEN) == 0;
	}
	if (!*ok && unlink(path) < 0 && errno != ENOENT)
		rc = merr_errno(err, "cannot remove '%s'", path);
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

static int
clean_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 &&
	    errno != ENOENT ? -1 : 0;
}

/*
 * The pid that owns tmp/ entry name ("<pid>.<n>", a blob being written,
 * or "mirrord-gpg.<pid>.XXXXXX", a verifier's GnuPG home), or 0.
 */
static pid_t
tmp_owner(const char *name)
{
	static const char gpg[] = "mirrord-gpg.";
	const char *dot;
	uint64_t pid;

	if (strncmp(name, gpg, sizeof(gpg) - 1) == 0)
		name += sizeof(gpg) - 1;
	dot = strchr(name, '.');
	if (dot == NULL || parse_u64(name, (size_t)(dot - name), INT32_MAX,
	    &pid) != 0)
		return 0;
	return (pid_t)pid;
}

/*
 * True if tmp/ entry name belongs to another live process: a sync, gc or
 * channel move running beside us (they no longer exclude each other).
 * kill(0) fails with EPERM for a live process of another user.
 */
static bool
tmp_live(const char *name)
{
	pid_t pid = tmp_owner(name);

	if (pid <= 0 || pid == getpid())
		return false;
	return kill(pid, 0) == 0 || errno == EPERM;
}

int
store_clean_tmp(struct store *s, struct merr *err)
{
	char *path = xasprintf("%s/tmp", s->dir);
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = opendir(path);
	if (d == NULL) {
		rc = merr_errno(err, "cannot open '%s'", path);
		free(path);
		return rc;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0)
				rc = merr_errno(err, "cannot read '%s'", path);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 || tmp_live(de->d_name))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		/* A killed verifier's GnuPG home: a small tree. */
		if (errno == EISDIR) {
			char *sub = xasprintf("%s/%s", path, de->d_name);
			int r = nftw(sub, clean_one, 8, FTW_DEPTH | FTW_PHYS);

			free(sub);
			if (r == 0)
				continue;
		}
		rc = merr_errno(err, "cannot remove '%s/%s'", path,
		    de->d_name);
		break;
	}
	closedir(d);
	free(path);
	return rc;
}

int
store_put_mem(struct store *s, const void *data, size_t len,
    unsigned char h[HASH_LEN], struct merr *err)
{
	struct blob_writer w;
	bool ok;
	int rc;

	hash_buf(data, len, h);
	rc = store_blob_adopt(s, h, len, &ok, err);
	if (rc || ok)
		return rc;
	rc = store_blob_begin(s, len, &w, err);
	if (rc)
		return rc;
	rc = store_blob_write(&w, data, len, err);
	if (rc) {
		store_blob_abort(&w);
		return rc;
	}
	return store_blob_finish(&w, h, len, err);
}

uint64_t
store_last_txnid(struct store *s)
{
	MDB_envinfo info;
	uint64_t id = 0;

	map_enter(s);
	if (s->env != NULL && mdb_env_info(s->env, &info) == 0)
		id = (uint64_t)info.me_last_txnid;
	map_leave(s);
	return id;
}

int
store_reader_check(struct store *s, struct merr *err)
{
	struct store_txn *txn;
	int dead = 0, rc;

	map_enter(s);
	rc = s->env ? mdb_reader_check(s->env, &dead) : 0;
	map_leave(s);
	if (rc)
		return store_mdb_err(err, rc, "store '%s': cannot check "
		    "readers", s->dir);
	/*
	 * A writer killed after writing its meta page but before publishing
	 * its transaction id in lock.mdb leaves that commit invisible to
	 * readers until the next writer takes LMDB's (robust) writer mutex,
	 * which repairs the id (a promotion killed at that instant would
	 * not be served until the next sync). Taking it here does that.
	 */
	if (s->write) {
		rc = store_txn_begin(s, true, &txn, err);
		if (rc)
			return rc;
		store_txn_abort(txn);
	}
	return dead;
}
