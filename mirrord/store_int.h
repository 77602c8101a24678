/*
 * store_int.h: the store's insides, shared by the files of the store
 * module and by no one else: store.c (the LMDB environment, its map and
 * transactions), store_lock.c (the flock locks), store_blobs.c (the blobs
 * table, its counters and the gc queue) and blob.c (blob files).
 *
 * Only store.c and store_blobs.c call LMDB; both translate its errors
 * through store_mdb_err(), once, where LMDB is called.
 */
#ifndef MIRRORD_STORE_INT_H
#define MIRRORD_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <lmdb.h>

#include "mirrord/store.h"

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

/* The tables' LMDB names, by enum store_table. */
extern const char *const store_table_names[TBL_COUNT];

/* "<context>: <mdb text>" into err; MDB_NOTFOUND becomes MERR_NOTFOUND. */
int store_mdb_err(struct merr *err, int rc, const char *fmt, ...)
    ATTR_PRINTF(3, 4);

/* Creates one directory; an existing one is fine. */
int store_mkdir(const char *path, mode_t mode, struct merr *err);

/*
 * The blob counters (store_blobs.c): made at an open for writing if the
 * store has none; moved by a write transaction's commit, before it.
 */
int store_blob_totals_init(struct store *s, struct merr *err);
int store_blob_totals_flush(struct store_txn *t, struct merr *err);

#endif
