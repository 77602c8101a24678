/*
 * store.h: the content-addressed store and its LMDB index.
 *
 * Layout under the store directory (format 2, recorded in TBL_META
 * "store.format"; see store_upgrade for format 1):
 *   blobs/ab/<sha256>      immutable files, named by the SHA-256 of their bytes
 *   tmp/                   blobs being written (temp files, removed on abort)
 *   index/                 the LMDB environment
 *   lock                   the writer lock (flock), holding "pid command"
 *   lock.channels          the channel lock (flock), the same text
 *
 * Durability: blobs are written to tmp/, checked and renamed into place
 * without an fsync each; store_sync() is the one barrier (syncfs) that a
 * writer calls before committing an LMDB transaction that names them.
 * A blob file is trusted only once the blobs table lists it; a file found
 * at its final path but not listed (a crash before the commit) is re-hashed
 * by store_blob_adopt() before use.
 *
 * The store module is store_open.c (opening and closing), store.c (the
 * LMDB environment: the one file that calls LMDB), store_tables.c (the blobs table, the gc queue, TBL_META's
 * keys), store_lock.c (the locks) and blob.c (blob files). LMDB's errors
 * come back as MERR_STORE (or MERR_NOTFOUND, MERR_FULL) with
 * mdb_strerror()'s text.
 *
 * Each table has one owner module, which alone builds and parses its keys
 * and values; everyone else goes through the owner's functions:
 *   TBL_BLOBS, TBL_GC          the store (store_blob_*, store_gc_*)
 *   TBL_SNAPS, TBL_STATE       snap.c (snap_load, snap_each, snap_state_*)
 *   TBL_POOL, TBL_POOLSEQ,
 *   TBL_BREFS                  pool.c (pool_*)
 *   TBL_CHANNELS               channel.c (channel_get, channel_each...)
 *   TBL_META                   shared by key: "store.*" the store and
 *                              snap.c (counters), "mirror\0pin\0ID" gc.c
 *                              (gc_pin*), "mirror\0status.*" status.c
 *                              "mirror\0odstats" odstats.c
 *
 * Threads and processes. Any number of processes may open one store; LMDB
 * serialises their write transactions, and the writer lock and channel
 * lock below say which of them may write what. Within a process, a
 * struct store may be shared by threads: the environment is opened with
 * MDB_NOTLS, so a read transaction is not tied to a thread's slot and the
 * HTTP server's threads each run their own. What is not safe: using one
 * transaction or cursor from two threads at once, and ending a
 * transaction in a thread other than the one that began it. Remapping the
 * index (the map grows, or another process grew the file) takes the write
 * side of a per-store rwlock whose read side every open transaction
 * holds: so a thread must not begin a transaction while it holds one
 * (store_txn_begin refuses rather than deadlock). Blob writers, blob
 * readers and store_blob_walk() need no transaction and run in any thread.
 */
#ifndef MIRRORD_STORE_H
#define MIRRORD_STORE_H

#include <stdatomic.h>

#include "mirrord/common.h"
#include "mirrord/hash.h"

enum store_table {
	TBL_BLOBS = 0,	/* sha256[32] -> struct store_blob_rec */
	TBL_SNAPS,	/* mirror\0id -> snapshot manifest (snap.c) */
	TBL_STATE,	/* mirror\0suite -> per-suite sync state (snap.c) */
	TBL_POOL,	/* mirror\0path\0sha256 be32(from) -> pool interval:
			 * be32 to (0: open), be64 size, be32 refs */
	TBL_CHANNELS,	/* mirror\0channel... -> channel state (channel.c) */
	TBL_META,	/* free-form: mirror\0key -> value */
	TBL_POOLSEQ,	/* mirror\0be32(from)path\0sha256 -> "" (by start) */
	TBL_BREFS,	/* sha256 -> be32 live pool intervals naming it */
	TBL_GC,		/* sha256 -> be64 time it lost its last reference */
	TBL_COUNT
};

struct store_blob_rec {
	uint64_t size;
	int64_t first_seen;	/* unix time the blob was first committed */
};

struct store;
struct store_txn;
struct store_cursor;

/*
 * Opens (write: creating if missing, in format 2) the store at dir.
 * Read-only opens fail with MERR_NOTFOUND if there is no store there.
 * A store in a newer format than STORE_FORMAT fails with MERR_INVAL; a
 * writer's open upgrades a format 1 store (store_upgrade) if both locks
 * are free. *out is owned.
 */
int store_open(const char *dir, bool write, struct store **out,
    struct merr *err);
void store_close(struct store *s);
const char *store_dir(const struct store *s);

/*
 * Takes the writer lock (flock on <store>/lock) and writes "pid what" into
 * it. wait: block until the holder ends (logging who holds it once);
 * otherwise fail with MERR_BUSY naming the holder. Released by
 * store_unlock() or store_close().
 *
 * The writer lock is held for hours: by a sync (its downloads, commit and
 * the daemon's gc after it) and by gc, for their whole runs. It keeps gc
 * from deleting what a sync relies on and has not committed, and makes
 * one sync at a time. Channel moves do not take it.
 *
 * Both locks are flocks on a file descriptor of this struct store: they
 * exclude other processes (and other struct stores of this one), not
 * other threads sharing this struct store; take and drop them in one
 * thread.
 */
int store_lock(struct store *s, const char *what, bool wait,
    struct merr *err);
void store_unlock(struct store *s);

/*
 * Takes the channel lock (flock on <store>/lock.channels), as store_lock()
 * does the writer lock; MERR_BUSY names the holder. It is held for
 * moments, never across a download: by a channel move (promote, rollback,
 * the daemon's refresh), by pin and unpin, by the first use that makes
 * the signing key, and by gc from its retention transaction to its last
 * unlink (gc_run). A process that takes both takes the writer lock first.
 * Released by store_unlock_channels() or store_close().
 */
int store_lock_channels(struct store *s, const char *what, bool wait,
    struct merr *err);
void store_unlock_channels(struct store *s);

/*
 * The ID of the last committed write transaction: it changes with every
 * commit by any process, so a reader can tell that its cache is stale.
 */
uint64_t store_last_txnid(struct store *s);

/*
 * The ID of the commit whose state t reads. Not always the one
 * store_last_txnid() said just before t began: that one is read from the
 * meta page, which a committing writer writes (and flushes, for
 * milliseconds) before new readers are given its state. A cache keyed by
 * what it read must use this ID, or a reader in that window keeps the old
 * state under the new ID until the next commit.
 */
uint64_t store_txn_id(struct store_txn *t);

/*
 * The durability barrier: with the S3 backend, waits until every blob
 * this struct store queued for upload is acknowledged by the bucket
 * (MERR_NET naming a blob that is not, after the retries; each failure is
 * reported once); then syncfs() on the store's file system (MERR_IO).
 */
int store_sync(struct store *s, struct merr *err);
/*
 * The barrier in another thread, so that this thread can prepare its
 * write transaction meanwhile: the next store_txn_commit() of a write
 * transaction in this thread waits for it first and fails with its error
 * (the transaction aborted). store_sync_finish() waits for it too, and
 * says how it ended (0 if none was started or it was waited for already):
 * call it once the commit is done or failed.
 */
void store_sync_start(struct store *s);
int store_sync_finish(struct store *s, struct merr *err);

/*
 * Blob backends (issue 18). A store keeps its blob bytes in blobs/
 * ("file", the default) or in an S3 bucket (Blobs: s3://BUCKET[/PREFIX]),
 * with blobs/ then the write path and a cache of at most S3-Cache bytes:
 * each blob a writer finishes (store_blob_finish, store_put_mem, an
 * adopted file) is queued for upload by a few threads, and store_sync()
 * waits for the uploads, so that no commit lists a blob that is not in
 * the bucket. A reader of a blob that is not cached (store_blob_open,
 * store_blob_find) downloads it into the cache first, verified by size
 * and SHA-256, which blocks the caller meanwhile.
 *
 * store_set_backend: every command that opens a store with its
 * configuration at hand calls it once, after store_open. A store records
 * its backend (TBL_META "store.backend", written by the first writer that
 * sets s3): opening it with another Blobs: fails with MERR_CONF saying
 * which one it has; so does asking s3 of a file store that holds blobs
 * (moving them is not supported yet). The S3 client is made (s3_new:
 * MERR_CONF for bad S3-* keys or credentials); no request is made. Not
 * calling it is the file backend. Call it before any other thread uses s.
 */
struct conf;
struct fetch;
struct s3;
int store_set_backend(struct store *s, const struct conf *c,
    struct merr *err);
/* "file", or the bucket's "s3://BUCKET[/PREFIX]" (valid while s lives). */
const char *store_backend(const struct store *s);
/* s's S3 client (valid while s lives), or NULL for the file backend. */
struct s3 *store_s3(const struct store *s);
/*
 * A signed transfer context for s's bucket (s3_fetch_new with the
 * configuration's Retries: and timeouts), owned: fetch_free(). MERR_INVAL
 * for a file store.
 */
int store_s3_fetch_new(const struct store *s, struct fetch **out,
    struct merr *err);
/*
 * Downloads blob h's object (size bytes) with f (store_s3_fetch_new) and
 * hashes the bytes as they come (fsck --deep): 0, MERR_VERIFY if they are
 * not h's (or not size bytes), MERR_NOTFOUND, MERR_NET. The verified copy
 * replaces the cached file, if any. MERR_INVAL for a file store.
 */
int store_s3_verify(struct store *s, struct fetch *f,
    const unsigned char h[HASH_LEN], uint64_t size, struct merr *err);
/*
 * Downloads listed blob job->hash (job->size bytes) from s's bucket into
 * the cache with f (store_s3_fetch_new; its cancel flag is honoured), as
 * store_blob_open's read-through does, but in the caller's hands: job's
 * on_write follows the file as it grows, progress(ctx) is fetch_to_store's
 * (may be NULL), and job->url is set to the object's for the call. The
 * bytes are verified (MERR_VERIFY: nothing is cached) and not queued for
 * upload; nothing is listed. Counted in store_s3_stats' downloads. If
 * another thread downloads the blob, this one waits for it and returns 0
 * without calling on_write once the file is cached (the caller opens it).
 * Errors: MERR_INVAL for a file store, else fetch_to_store's.
 */
struct fetch_job;
int store_s3_download(struct store *s, struct fetch *f, struct fetch_job *job,
    void (*progress)(void *ctx, uint64_t files_done, uint64_t bytes_done),
    void *ctx, struct merr *err);
/*
 * What s's S3 backend did since it was set (zero for a file store):
 * uploads acknowledged and failed; readers' downloads into the cache
 * (each one attempted, whatever its outcome), and readers that joined
 * another thread's download of the same blob rather than making their
 * own; cache trims run, and the files and bytes the last one left
 * cached (0 before the first). For /metrics and tests.
 */
struct store_s3_stats {
	uint64_t uploads, upload_failures;
	uint64_t downloads, joined;
	uint64_t trims, cache_files, cache_bytes;
};
void store_s3_stats(const struct store *s, struct store_s3_stats *st);
/*
 * Whether s's bucket holds another store's objects too: a replica
 * (Replica-Of:) whose Blobs: is its primary's bucket. Then gc deletes no
 * object (it drops rows and cached files only; the primary's gc deletes
 * the objects), and the replica's follower copies no blob the bucket
 * holds. store_set_backend makes a replica's S3 store shared until its
 * follower, which learns the primary's Blobs: from /api/v1/state, says
 * otherwise (store_s3_set_shared): the safe side. False for a file store.
 */
bool store_s3_shared(const struct store *s);
void store_s3_set_shared(struct store *s, bool shared);
/* S3-Cache: in bytes; 0 for a file store. */
uint64_t store_s3_cache_max(const struct store *s);

/*
 * Waits until blob h's upload, if one is queued, is acknowledged: for a
 * writer that lists one blob without the whole barrier (the server's
 * on-demand fetch). MERR_NET if it failed (store_sync reports it too).
 * 0 at once for a file store or a blob not queued.
 */
int store_blob_settle(struct store *s, const unsigned char h[HASH_LEN],
    struct merr *err);

struct store_trim_stats {
	uint64_t files, bytes;		/* cached before the trim */
	uint64_t dropped, dropped_bytes;
};

/*
 * Keeps an S3 store's cache (blobs/) under max bytes (0: S3-Cache), the
 * least recently used blobs dropped first (recency: a cached blob's atime,
 * which readers move); only blobs the blobs table lists are dropped, so
 * never a writer's file not yet committed, and never a temp file. Runs
 * beside readers and writers (a reader whose file goes downloads it
 * again). Run by store_close() after a writer's uploads, and every few
 * minutes by a process that fills the cache by reading. *st (may be NULL)
 * says what it saw and did. MERR_INVAL for a file store; MERR_IO.
 */
int store_cache_trim(struct store *s, uint64_t max,
    struct store_trim_stats *st, struct merr *err);

/*
 * Transactions. A read transaction must not be held across slow work, and
 * a transaction ends in the thread that began it.
 *
 * The index's map follows the data: store_txn_begin maps a file another
 * process grew (waiting for this process's other transactions to end), and
 * before a write transaction grows a map more than half used. A write that
 * finds the map full anyway fails with MERR_FULL; the map is grown before
 * the next write transaction, so the caller may run the transaction again.
 * A thread that begins a transaction while it has one open gets an error
 * rather than waiting for a remap it would block.
 */
int store_txn_begin(struct store *s, bool write, struct store_txn **out,
    struct merr *err);
int store_txn_commit(struct store_txn *t, struct merr *err);	/* frees t */
void store_txn_abort(struct store_txn *t);			/* frees t */

/*
 * Opens and ends a read transaction: 0 if the index can be read now
 * (the server's /healthz), else an error saying why.
 */
int store_check(struct store *s, struct merr *err);

/*
 * Get: 0 with *val and *vlen pointing into the map (valid until the
 * transaction ends or the next write in it), MERR_NOTFOUND, or an error.
 */
int store_get(struct store_txn *t, enum store_table tbl, const void *key,
    size_t klen, const void **val, size_t *vlen, struct merr *err);
/* Put, delete: MERR_FULL when the map is full (see store_txn_begin). */
int store_put(struct store_txn *t, enum store_table tbl, const void *key,
    size_t klen, const void *val, size_t vlen, struct merr *err);
/* Delete; MERR_NOTFOUND if absent. */
int store_del(struct store_txn *t, enum store_table tbl, const void *key,
    size_t klen, struct merr *err);

/*
 * TBL_META, the table of small records that belong to a mirror (or to
 * the store: mirror NULL), keyed "mirror\0name" (name alone for the
 * store's, which hold no NUL). Each module owns its names: "store.*" the
 * store and snap.c (counters), "pin\0ID" gc.c, "status.*" status.c.
 * name may hold NULs (nlen bytes). As store_get, store_put, store_del.
 */
int store_meta_get(struct store_txn *t, const char *mirror, const void *name,
    size_t nlen, const void **val, size_t *vlen, struct merr *err);
int store_meta_put(struct store_txn *t, const char *mirror, const void *name,
    size_t nlen, const void *val, size_t vlen, struct merr *err);
int store_meta_del(struct store_txn *t, const char *mirror, const void *name,
    size_t nlen, struct merr *err);

/*
 * Cursors, in key order (bytewise). seek positions at the first key >=
 * key (klen 0: the first key); next moves on. Both return 1 with *k and *v set
 * (valid as for store_get), 0 at the end, or an error.
 */
int store_cursor_open(struct store_txn *t, enum store_table tbl,
    struct store_cursor **out, struct merr *err);
int store_cursor_seek(struct store_cursor *c, const void *key, size_t klen,
    const void **k, size_t *kl, const void **v, size_t *vl,
    struct merr *err);
/* Positions at the last key <= key (bytewise); returns as seek does. */
int store_cursor_seek_le(struct store_cursor *c, const void *key, size_t klen,
    const void **k, size_t *kl, const void **v, size_t *vl,
    struct merr *err);
int store_cursor_next(struct store_cursor *c, const void **k, size_t *kl,
    const void **v, size_t *vl, struct merr *err);
/*
 * Calls fn for each key of tbl that starts with prefix (plen 0: every
 * key), in key order, with the rest of the key after the prefix and the
 * value (both valid during the call). fn returns 0 (or any value >= 0)
 * to go on, or a negative code that ends the scan and is returned. fn
 * must not write to tbl. For table owners: others call the owner's
 * iteration function (snap_each, channel_each, pool_each...).
 */
typedef int (*store_scan_fn)(void *ctx, const char *rest, size_t rlen,
    const void *v, size_t vl, struct merr *err);
int store_scan_prefix(struct store_txn *t, enum store_table tbl,
    const void *prefix, size_t plen, store_scan_fn fn, void *ctx,
    struct merr *err);

/* Deletes the entry under the cursor (write transactions). */
int store_cursor_del(struct store_cursor *c, struct merr *err);
void store_cursor_close(struct store_cursor *c);

/* Blobs table. */
int store_blob_get(struct store_txn *t, const unsigned char h[HASH_LEN],
    struct store_blob_rec *rec, struct merr *err);	/* or MERR_NOTFOUND */
int store_blob_put(struct store_txn *t, const unsigned char h[HASH_LEN],
    uint64_t size, struct merr *err);	/* keeps an existing first_seen */
/* Deletes blob h's row; MERR_NOTFOUND if there is none. */
int store_blob_del(struct store_txn *t, const unsigned char h[HASH_LEN],
    struct merr *err);
/*
 * Calls fn for each row of the blobs table, in hash order, with the
 * blob's hash and record (valid during the call). A row whose record
 * does not decode ends the walk with store_blob_get's error; so does fn
 * returning a negative code. Rows with a key of another length are
 * skipped. fn must not write to the blobs table.
 */
typedef int (*store_blob_fn)(void *ctx, const unsigned char h[HASH_LEN],
    const struct store_blob_rec *rec, struct merr *err);
int store_blob_each(struct store_txn *t, store_blob_fn fn, void *ctx,
    struct merr *err);
/*
 * How many blobs the table lists and their bytes, as of t (its own changes
 * included): kept as counters that store_blob_put/del move and the commit
 * writes, so this reads one row whatever the store's size. Rows written
 * around these two functions are not counted (fsck checks the counters).
 */
int store_blob_totals(struct store_txn *t, uint64_t *n, uint64_t *bytes,
    struct merr *err);

/*
 * The gc queue (TBL_GC): blobs that lost their last reference, each with
 * the time it did. gc removes those past its grace period that nothing
 * references again by then.
 *
 * store_gc_queue queues blob h as unreferenced since now (an earlier time
 * is kept): for writers that drop a reference (gc's retention, a channel's
 * old Release files, the blobs of a failed sync). store_gc_unqueue takes
 * h off the queue (a commit that references it again); MERR_NOTFOUND if
 * it was not queued. Both in a write transaction; MERR_FULL as store_put.
 */
int store_gc_queue(struct store_txn *t, const unsigned char h[HASH_LEN],
    int64_t now, struct merr *err);
int store_gc_unqueue(struct store_txn *t, const unsigned char h[HASH_LEN],
    struct merr *err);

/*
 * Calls fn for each queued blob, in hash order, with the time it was
 * queued (0 if its row is malformed). fn returns 0 to go on,
 * STORE_GC_UNQUEUE to take the blob off the queue (write transactions
 * only), or a negative code that ends the walk and is returned. fn may
 * write to other tables of t, not to the queue.
 */
#define STORE_GC_UNQUEUE 1
typedef int (*store_gc_fn)(void *ctx, const unsigned char h[HASH_LEN],
    int64_t since, struct merr *err);
int store_gc_each(struct store_txn *t, store_gc_fn fn, void *ctx,
    struct merr *err);

/*
 * Store formats. 1: blobs/ab/cd/<hex>, no record. 2: blobs/ab/<hex> (one
 * fan-out level, as git's objects/ab/: 256 directories instead of 65,536),
 * TBL_META "store.format" = "2". A new store is made in format 2.
 *
 * Every blob reader (store_blob_open, store_blob_find, store_blob_adopt)
 * and store_blob_walk know both layouts, at every moment of an upgrade
 * (see blob.c), so that a server of another process serves on through
 * one. Writers write the format 2 path whatever the store's format.
 */
#define STORE_FORMAT 2

/* The format s had when it was opened (or was upgraded to since). */
int store_format(const struct store *s);

struct store_upgrade_stats {
	uint64_t moved;		/* files renamed from ab/cd/ to ab/ */
	uint64_t dropped;	/* old names of blobs already at ab/ */
	uint64_t dirs;		/* ab/cd/ directories removed */
};

/*
 * Upgrades a format 1 store to STORE_FORMAT in place: under the writer
 * lock and the channel lock (wait: block for them; else MERR_BUSY naming
 * their holder), renames each blobs/ab/cd/<h> to blobs/ab/<h> (a blob
 * already there keeps that file and the old name is removed), removes the
 * emptied ab/cd/ directories, calls store_sync(), and only then records
 * the format. A kill at any point leaves a store every reader serves
 * fully, and a rerun goes on where it stopped. Both locks are released
 * again (s must hold neither). A store already in STORE_FORMAT: 0 at
 * once. *st (st may be NULL) gets what this struct store's upgrade did,
 * now or at its open (zero if it did none). Writers need not call it:
 * store_open does for them when the locks are free.
 */
int store_upgrade(struct store *s, bool wait, struct store_upgrade_stats *st,
    struct merr *err);

/* "<store>/blobs/ab/<hex>" (where a blob is written), owned. */
char *store_blob_path(const struct store *s, const unsigned char h[HASH_LEN]);
/*
 * The path blob h is at, in either layout (store_blob_path() if it is in
 * neither), owned: for readers that open by path.
 */
char *store_blob_find(const struct store *s, const unsigned char h[HASH_LEN]);
/*
 * Opens a blob for reading, O_CLOEXEC, in either layout. Returns fd,
 * MERR_NOTFOUND, or MERR_IO.
 */
int store_blob_open(const struct store *s, const unsigned char h[HASH_LEN],
    struct merr *err);
/*
 * As store_blob_open, without the S3 backend's read-through: the cached
 * file or MERR_NOTFOUND (fsck, which checks the bucket apart).
 */
int store_blob_open_cached(const struct store *s,
    const unsigned char h[HASH_LEN], struct merr *err);
/* Removes blob h's file in both layouts; none is fine. MERR_IO. */
int store_blob_unlink(const struct store *s, const unsigned char h[HASH_LEN],
    struct merr *err);

/*
 * Writing one blob: a temp file in tmp/, hashed as it is written, checked
 * and renamed into place by store_blob_finish. A writer is one thread's
 * at a time; any number of writers of one store may run in parallel
 * threads and processes (temp names are "pid.n"; the final name is the
 * content's, so two writers of the same blob make the same file). The
 * file is not trusted until a committed transaction lists it.
 */
struct blob_writer {
	struct store *store;
	int fd;
	char *tmp_path;
	struct hash_ctx hash;
	uint64_t size;		/* bytes written so far */
	uint64_t cap;		/* writes beyond this fail with MERR_LIMIT */
	/* store_blob_begin_behind()'s: the bytes, in memory (no fd). */
	struct store_behind_item *mem;
	struct blob_batch *batch;
};

int store_blob_begin(struct store *s, uint64_t cap, struct blob_writer *w,
    struct merr *err);

/*
 * Blobs written behind (blob_behind.c): the caller's batch, zeroed before
 * the first blob; store_batch_wait() before it goes out of scope.
 */
struct blob_batch {
	size_t pending;		/* queued, not yet written (the store's lock) */
	atomic_bool cancel;	/* what is still queued is dropped */
	int rc;			/* the first failure, naming the blob */
	struct merr err;
	unsigned char first[HASH_LEN];	/* that blob, when rc != 0 */
	/* Every blob not written (failed, or dropped by cancel), unsorted. */
	unsigned char (*failed)[HASH_LEN];
	size_t nfailed;
};

/* Blobs of at most this size may be written behind. */
#define STORE_BEHIND_MAX	(256u << 10)

/*
 * A writer of a small blob (cap at most STORE_BEHIND_MAX) that keeps its
 * bytes in memory: its finish verifies them as store_blob_finish() does,
 * then queues them to be written to their file by the store's threads and
 * returns at once. The file exists only after store_batch_wait(bb): never
 * read a blob written behind before (nor commit a listing of it: the
 * barrier is store_batch_wait() then store_sync()). No w->fd, no
 * w->tmp_path.
 */
void store_blob_begin_behind(struct store *s, uint64_t cap,
    struct blob_batch *bb, struct blob_writer *w);
/*
 * Waits until every blob of bb queued so far is written (or dropped);
 * returns bb's first failure (a merr code), its message in *err, naming
 * the blob; a drop is no failure, but the blob is in bb->failed too.
 */
int store_batch_wait(struct store *s, struct blob_batch *bb,
    struct merr *err);
/* After the wait: whether blob h of bb was not written. */
bool store_batch_failed(const struct blob_batch *bb,
    const unsigned char h[HASH_LEN]);
/* Frees what bb holds (after store_batch_wait()). */
void store_batch_release(struct blob_batch *bb);
int store_blob_write(struct blob_writer *w, const void *data, size_t len,
    struct merr *err);
/* Back to empty (a server ignored a Range request and sent it all). */
int store_blob_rewind(struct blob_writer *w, struct merr *err);
/*
 * Checks size == want_size and the hash == want (MERR_VERIFY otherwise,
 * naming both hashes), then renames into place and releases w. On error
 * the temp file is removed and w released.
 */
int store_blob_finish(struct blob_writer *w, const unsigned char want[HASH_LEN],
    uint64_t want_size, struct merr *err);
void store_blob_abort(struct blob_writer *w);	/* removes the temp file */

/*
 * A blob file at its final path that the blobs table does not list:
 * re-hash it; *ok = true if it has hash h and size, else it is removed.
 * *ok = false if there is no such file.
 */
int store_blob_adopt(struct store *s, const unsigned char h[HASH_LEN],
    uint64_t size, bool *ok, struct merr *err);

/*
 * Creates the blobs/ab directories that blobs h[0..n-1] will need, so
 * that writing them later costs no failed rename and no mkdir. Safe to run
 * in a thread beside writers of the same store (blob writers make any
 * directory they still miss). n must be at least 1.
 */
int store_prepare_dirs(struct store *s, const unsigned char (*h)[HASH_LEN],
    size_t n, struct merr *err);

/*
 * Stores len bytes from memory as a blob (small files: Release files);
 * h gets its hash. An existing good file is kept (re-hashed first).
 */
int store_put_mem(struct store *s, const void *data, size_t len,
    unsigned char h[HASH_LEN], struct merr *err);

/*
 * The walk over blob files: blobs/ab/<name>, then any format 1
 * blobs/ab/cd/<name> under it (a store not yet upgraded or an upgrade
 * interrupted), one directory at a time, streaming (memory does not grow
 * with the store). No transaction is held
 * by the walk itself; it runs beside writers and sees a file renamed in
 * during the walk or not.
 *
 * strict (gc): only fan-out directory names (two lowercase hex digits)
 * are entered and only files named like a blob of their directory are
 * passed; a directory that cannot be opened or read ends the walk with an
 * error. Otherwise (fsck): every name not starting with '.' is entered or
 * passed (h NULL when it is not 64 hex digits) and unreadable directories
 * are skipped, so that strays are seen.
 *
 * A file an upgrade moves during the walk may be seen twice or not at
 * all: the walk is for strays and orphans, never for what is listed.
 *
 * dir_begin (may be NULL) runs before a fan-out directory with its path
 * and an open descriptor of it (valid during the call): 0 to read it,
 * STORE_WALK_SKIP to skip it, or a negative code that ends the walk.
 * file runs per entry with the directory's path and descriptor (for
 * fstatat/unlinkat), the entry's name and its hash: 0 to go on,
 * STORE_WALK_AGAIN to read the directory again from its start, or a
 * negative code that ends the walk. dir_end (may be NULL) runs after each
 * directory that dir_begin let in, whatever happened. Returns 0 or the
 * first error.
 */
#define STORE_WALK_SKIP 1
#define STORE_WALK_AGAIN 1
struct store_blob_walk {
	bool strict;
	int (*dir_begin)(void *ctx, const char *dir, int dirfd,
	    struct merr *err);
	int (*file)(void *ctx, const char *dir, int dirfd, const char *name,
	    const unsigned char *h, struct merr *err);
	void (*dir_end)(void *ctx, const char *dir);
	void *ctx;
};
int store_blob_walk(struct store *s, const struct store_blob_walk *w,
    struct merr *err);

/*
 * Removes leftovers in tmp/ (from killed writers); needs the writer lock.
 * Entries named after another live process (a channel move or pin running
 * beside the lock's holder) are kept.
 */
int store_clean_tmp(struct store *s, struct merr *err);

/*
 * Frees the LMDB reader slots of processes that died holding a read
 * transaction (store_open does it too; a long-running process calls this
 * now and then, or the pages those readers pinned are never reused);
 * on a store open for writing, also makes visible a commit whose writer
 * was killed before publishing it (see store.c). Returns how many slots
 * were freed, or a negative MERR_* code.
 */
int store_reader_check(struct store *s, struct merr *err);

#endif
