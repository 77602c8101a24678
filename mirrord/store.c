/*
 * store.c: the store's LMDB environment: opening it, its map, its
 * transactions, tables and cursors.
 *
 * The only file that calls LMDB; every LMDB error is translated here,
 * once, into MERR_STORE (or MERR_NOTFOUND for MDB_NOTFOUND) with
 * mdb_strerror()'s text and the operation as context. The blob counters
 * live here too: they are written inside the commit and at open, below
 * the transaction API. Blob rows and the other tables the store owns are
 * store_tables.c's, blob files blob.c's, the locks store_lock.c's.
 */
#include "mirrord/common.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <lmdb.h>

#include "mirrord/fault.h"
#include "mirrord/hash.h"
#include "mirrord/store_int.h"
#include "mirrord/util.h"

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


const char *const store_table_names[TBL_COUNT] = {
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

/*
 * The one translation of an LMDB return code: "<context>: <mdb text>".
 */
int
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
		rc = mdb_dbi_open(txn, store_table_names[i],
		    create ? MDB_CREATE : 0, &s->dbi[i]);
		if (rc == MDB_NOTFOUND && !create)
			continue;	/* never written: reads as empty */
		if (rc) {
			mdb_txn_abort(txn);
			return store_mdb_err(err, rc, "store '%s': cannot open "
			    "table '%s'", s->dir, store_table_names[i]);
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
		    store_table_names[TBL_BLOBS]);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != HASH_LEN || v.mv_size != STORE_BLOB_REC_LEN)
			continue;	/* fsck reports those */
		(*n)++;
		*bytes += store_blob_rec_size(v.mv_data);
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(err, rc, "cannot read '%s'",
		    store_table_names[TBL_BLOBS]);
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
		    store_table_names[TBL_META]);
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
		    store_table_names[TBL_META]);
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

/*
 * Maps the index and opens its tables; frees the reader slots of killed
 * processes; a writer makes the blob counters if there are none.
 */
int
store_index_open(struct store *s, struct merr *err)
{
	size_t mapsize;
	int rc, dead;

	/*
	 * Some environments cannot reserve 64 GiB of address space (ulimit
	 * -v, valgrind): mmap then fails with EINVAL or ENOMEM and we retry
	 * with half the map, down to 256 MiB.
	 */
	mapsize = store_first_mapsize();
	rc = store_env_map(s, mapsize, mapsize < STORE_MAPSIZE_MIN ?
	    mapsize : STORE_MAPSIZE_MIN);
	if (rc == ENOENT && !s->write)
		return merr_set(err, MERR_NOTFOUND, "no store at '%s'",
		    s->dir);
	if (rc)
		return store_mdb_err(err, rc, "cannot open '%s/index'",
		    s->dir);
	/* Free the reader slots of killed processes. */
	rc = mdb_reader_check(s->env, &dead);
	if (rc)
		return store_mdb_err(err, rc, "store '%s': cannot check "
		    "readers", s->dir);
	rc = store_open_tables(s, s->write, err);
	if (rc == 0 && s->write)
		rc = store_blob_totals_init(s, err);
	return rc;
}

void
store_index_close(struct store *s)
{
	if (s->env)
		mdb_env_close(s->env);
	s->env = NULL;
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
		util_oom();	/* ENOMEM, as xmalloc */
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
	if (t->write) {
		struct merr e;

		/* This thread's barrier first (store_sync_start()). */
		rc = store_sync_finish(s, &e);
		/* The blob counters change in the commit that changes the
		 * rows. */
		if (rc == 0 && (t->dblobs != 0 || t->dbytes != 0))
			rc = store_blob_totals_flush(t, &e);
		if (rc) {
			mdb_txn_abort(t->txn);
			map_leave(s);
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
		    store_table_names[tbl]);
	rc = mdb_get(t->txn, t->s->dbi[tbl], &k, &v);
	if (rc)
		return store_mdb_err(err, rc, "cannot get from '%s'",
		    store_table_names[tbl]);
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
		    store_table_names[tbl]);
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
		    store_table_names[tbl]);
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
			    "'%s'", store_table_names[tbl]);
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

uint64_t
store_txn_id(struct store_txn *t)
{
	return (uint64_t)mdb_txn_id(t->txn);
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
