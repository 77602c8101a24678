/*
 * gc.h: retention (which snapshots to keep) and garbage collection (which
 * blobs no kept snapshot needs).
 *
 * Retention drops snapshot rows. A snapshot is kept if Keep-Snapshots
 * keeps it (newer than a duration and/or among the last N), if it is
 * pinned, if a channel points at it, or if up to Channel-History
 * (default 5) successive rollbacks of a channel could return it there
 * (channel_rollback_targets(), the rule rollback follows: the daemon's
 * re-signings count for nothing).
 *
 * Collection is incremental: a pool interval [from, to) can only die when
 * every snapshot in it is dropped, so it started in a run of dropped
 * snapshots; intervals are indexed by their start, so the work follows
 * what the dropped snapshots changed, not the archive's size. A blob that
 * loses its last reference is queued with the time; it is removed only
 * after the grace period (clients mid-update never get a 404), and only if
 * nothing references it again by then.
 *
 * gc owns the pin rows ("pin\0ID" under a mirror in TBL_META); every other
 * table it reads or changes through its owner (snap_each, pool_drop_ended,
 * channel_each, store_gc_each...). Errors are negative MERR_* codes with
 * err set, those of the store and the table owners unless said below; a
 * lock held elsewhere is waited for, not an error. Runs in one thread;
 * the locks named below make it safe beside other processes (syncs,
 * channel moves, the server, fsck). No global state.
 */
#ifndef MIRRORD_GC_H
#define MIRRORD_GC_H

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/hash.h"
#include "mirrord/store.h"

struct gc_stats {
	uint64_t snapshots_dropped;
	uint64_t blobs_queued;		/* newly unreferenced */
	uint64_t blobs_removed;
	uint64_t bytes_removed;
	uint64_t blobs_pending;		/* unreferenced, still in grace */
	uint64_t bytes_pending;
	uint64_t orphans_removed;	/* files no table listed */
	uint64_t orphan_bytes_removed;
	uint64_t orphans_pending;	/* such files, younger than grace */
	uint64_t orphan_dirs_walked;	/* fan-out directories read */
	uint64_t orphan_dirs_skipped;	/* unchanged since the full walk */
	/* The S3 backend: objects no table lists, removed or in grace. */
	uint64_t objects_removed;
	uint64_t object_bytes_removed;
	uint64_t objects_pending;
};

/*
 * Applies retention to mirror m (Keep-Snapshots of m, else of c; every
 * configured mirror if m is NULL), then collects what became
 * unreferenced and removes queued blobs older than grace seconds.
 * dry_run: report only, change nothing. The caller holds the store's
 * writer lock; gc_run takes the channel lock (waiting for a channel move)
 * from its write transaction to its last unlink.
 *
 * With m NULL (the whole store) it first walks blobs/ for files that no
 * table lists (orphans: a failed sync that could not record its blobs, a
 * kill before a commit) and unlinks those whose mtime is older than grace;
 * that needs no write transaction, so it frees space on a full disk. The
 * walk costs a directory entry and a lookup per blob file, so a
 * per-mirror run (the daemon's, after each sync) skips it. With the S3
 * backend it then lists the bucket too, and deletes the objects no table
 * lists whose last-modified time is older than grace (under the channel
 * lock, as it unlinks); a removed blob's object is deleted with its file.
 * A store whose bucket is shared with its primary (store_s3_shared)
 * deletes no object: the primary's gc does.
 *
 * *st is zeroed first, then counts what the run did (with dry_run, what
 * it would do).
 * Rows are committed before files are unlinked; an unlink that fails
 * then is logged as a warning, not returned (fsck names the file).
 */
int gc_run(struct store *s, const struct conf *c, const struct conf_mirror *m,
    long grace, bool dry_run, struct gc_stats *st, struct merr *err);

/*
 * Pins (note non-NULL; copied, replacing an earlier note) or unpins a
 * snapshot, in a write transaction of its own: pinned ones are never
 * dropped. id is an exact ID. MERR_NOTFOUND if there is no such
 * snapshot, or when unpinning one that is not pinned. The caller holds
 * the store's channel lock.
 */
int gc_pin(struct store *s, const char *mirror, const char *id,
    const char *note, struct merr *err);

/*
 * The note of mirror's pin on snapshot id in *note (owned: free()), or
 * MERR_NOTFOUND if it is not pinned. Any transaction.
 */
int gc_pin_get(struct store_txn *t, const char *mirror, const char *id,
    char **note, struct merr *err);

/*
 * Drops snapshot id of mirror as retention drops one: its row goes, the
 * pool intervals no remaining snapshot lies in go, and the blobs that lost
 * their last reference are queued (removed by a later gc after the grace
 * period). Refused (MERR_BUSY, naming each holder) while a channel points
 * at it, a channel's last history moves (Channel-History of c) name it, or
 * a pin holds it; refused (MERR_INVAL) for the mirror's newest snapshot,
 * which 'latest' and the next sync build on; MERR_NOTFOUND if there is
 * no snapshot with that exact ID. The caller holds the store's
 * writer lock and then its channel lock (no move resolves its target to
 * id meanwhile). st counts what was dropped and queued.
 */
int gc_drop(struct store *s, const struct conf *c, const char *mirror,
    const char *id, struct gc_stats *st, struct merr *err);

#endif
