/*
 * store_int.h: the store's insides, shared by the files of the store
 * module and by no one else: store_open.c (the struct, the directories),
 * store.c (the LMDB environment, its map, transactions and cursors, the
 * blob counters), store_lock.c (the flock locks),
 * store_tables.c (the blobs table, the gc queue, TBL_META's keys, the
 * prefix scan), blob.c (blob files) and blob_behind.c (the write-behind
 * of small blob files).
 *
 * Only store.c includes <lmdb.h> and calls LMDB (tests/layering.sh checks
 * it); here its types are opaque struct tags, which are LMDB's own.
 */
#ifndef MIRRORD_STORE_INT_H
#define MIRRORD_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "mirrord/store.h"

/* LMDB's types, opaque outside store.c (lmdb.h: typedef struct MDB_env). */
struct MDB_env;
struct MDB_txn;
struct MDB_cursor;

struct store {
	char *dir;
	struct MDB_env *env;
	unsigned int dbi[TBL_COUNT];	/* MDB_dbi */
	/* False for a table missing from a read-only open: it reads empty. */
	bool has[TBL_COUNT];
	bool write;
	/*
	 * The format recorded in TBL_META "store.format" at open (1 when
	 * there is none); legacy: blobs are written in format 1's layout
	 * (MIRRORD_TEST_STORE_FORMAT=1, tests only).
	 */
	int format;
	bool legacy;
	struct store_upgrade_stats upgraded;	/* what this struct's did */
	int dirfd;		/* the store directory, for syncfs() */
	int lock_fd;		/* -1 unless store_lock() holds the lock */
	int chan_fd;		/* -1 unless store_lock_channels() holds it */
	atomic_ulong tmp_seq;	/* names this process's temp files (any thread) */

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
	/* The S3 backend (store_s3.c), or NULL for the file backend. */
	struct store_s3 *s3;
	/* The write-behind threads (blob_behind.c), once a blob needs them. */
	pthread_mutex_t behind_lock;
	struct store_behind *behind;
};

/* blob.c's: len bytes to fd, through EINTR (the "write" fault point). */
int store_write_all(int fd, const void *data, size_t len);

/* blob_behind.c's, for blob.c: a blob's bytes in memory, queued. */
struct store_behind_item *store_behind_item_new(uint64_t cap);
void *store_behind_item_data(struct store_behind_item *it);
/* Takes it (len bytes, verified to have hash h) for bb; waits for room. */
void store_behind_queue(struct store *s, struct blob_batch *bb,
    struct store_behind_item *it, const unsigned char h[HASH_LEN],
    size_t len);
/* Writes what is queued, then stops the threads (store_close()). */
void store_behind_close(struct store *s);

/*
 * Open cursors are tracked by their transaction so that ending the
 * transaction closes them: store_cursor_close() is then safe before or
 * after the transaction ends, which LMDB alone does not allow.
 */
struct store_cursor {
	struct store_txn *t;	/* NULL once the transaction ended */
	struct MDB_cursor *c;	/* NULL for a missing (empty) table */
	struct store_cursor *prev, *next;
};

struct store_txn {
	struct store *s;
	struct MDB_txn *txn;
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
 * The index of s (store.c): maps it and opens its tables, frees the
 * reader slots of killed processes, and for a writer makes the blob
 * counters if there are none; closing it is safe if it never opened.
 */
int store_index_open(struct store *s, struct merr *err);
void store_index_close(struct store *s);

/*
 * At store_open, after the index (store_format.c): reads the format; a
 * newer one than STORE_FORMAT is refused (MERR_INVAL); a writer of a
 * format 1 store upgrades it if it gets both locks at once (if not, their
 * holder did or will). Reads of format 1 need nothing: the blob readers
 * and the walk know both layouts.
 */
int store_format_open(struct store *s, struct merr *err);

/*
 * The S3 backend (store_s3.c); each is a no-op (0) for a store without
 * one. store_s3_queue: blob.c, once blob h is at its final path (a
 * writer's, an adopted file): queue its upload (failures are reported
 * by the barrier); it waits while the queue is full. store_s3_barrier:
 * store_sync(), before its syncfs: waits for every queued upload; MERR_NET
 * naming a blob that was not uploaded. store_s3_fill: a reader that found
 * no cached file (s->s3 set): downloads blob h into the cache, verified;
 * MERR_NOTFOUND if the bucket has no such object. store_s3_touch: a
 * cached blob opened: its atime, the trim's recency. store_s3_close:
 * store_close(), first.
 */
void store_s3_queue(struct store *s, const unsigned char h[HASH_LEN]);
int store_s3_barrier(struct store *s, struct merr *err);
int store_s3_fill(const struct store *s, const unsigned char h[HASH_LEN],
    struct merr *err);
void store_s3_touch(const struct store *s, int fd);
void store_s3_close(struct store *s);

/* On-disk size of a blobs table value: le64 size, le64 first_seen. */
#define STORE_BLOB_REC_LEN	16
/* The size in a blobs table value (STORE_BLOB_REC_LEN bytes at v). */
uint64_t store_blob_rec_size(const void *v);

#endif
