/*
 * content.h: referenced vs stored. A snapshot of an on-demand mirror
 * (conf: Download: on-demand) names every pool file with its size and
 * SHA-256 (pool.h's intervals), but the sync stored none of them: a pool
 * file is "stored" when the blobs table lists its hash, "referenced, not
 * stored" otherwise. This module counts the two for a snapshot, lists
 * what is missing, fetches it (`mirrord fetch`), and holds the rule of
 * Prefetch: (a snapshot must be fully stored before it becomes the
 * target of a channel the mirror names there).
 *
 * Reads take a transaction (any thread, as store.h says). content_fetch
 * and content_prefetch_for begin and commit their own and download for as
 * long as the files take: call them without the store's channel lock
 * (other moves and gc wait for it). They need no writer lock either: gc
 * removes a listed blob only when no pool interval names it (gc.c's
 * collect_one), and an unlisted file only when it is older than the
 * grace period (sweep_file), which a file just fetched is not; the
 * listing transaction queues for gc a blob whose last snapshot went
 * meanwhile, so nothing is leaked either. Errors are negative MERR_*
 * codes with err set.
 */
#ifndef MIRRORD_CONTENT_H
#define MIRRORD_CONTENT_H

#include "mirrord/common.h"

#include <stdatomic.h>

#include "mirrord/conf.h"
#include "mirrord/fetch.h"
#include "mirrord/hash.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

/* A snapshot's pool files: all it references, and those stored. */
struct content_counts {
	uint64_t files, bytes;
	uint64_t stored_files, stored_bytes;
};

/*
 * Counts the pool files of snapshot seq of mirror (the intervals that
 * hold seq; a file listed under two paths counts twice) into *out. One
 * scan of the mirror's intervals and one blobs-table read per file.
 */
int content_count(struct store_txn *t, const char *mirror, uint32_t seq,
    struct content_counts *out, struct merr *err);

/* A pool file of a snapshot; valid during the callback. */
struct content_file {
	const char *path;	/* "pool/main/h/hello/hello_2.10-3_amd64.deb" */
	unsigned char hash[HASH_LEN];
	uint64_t size;
};

/*
 * Calls fn for each pool file of snapshot seq of mirror that is not
 * stored, in path order. fn returns 0 to go on or a negative code that
 * ends the walk and is returned. fn must not write to t.
 */
typedef int (*content_file_fn)(void *ctx, const struct content_file *f,
    struct merr *err);
int content_missing_each(struct store_txn *t, const char *mirror,
    uint32_t seq, content_file_fn fn, void *ctx, struct merr *err);

struct content_fetch_opts {
	fetch_progress_fn progress;	/* may be NULL; as fetch_to_store */
	/*
	 * May be NULL: called once before the transfers begin (not at all
	 * if nothing is missing) with how many files and bytes they hold.
	 */
	void (*start)(void *ctx, uint64_t files, uint64_t bytes);
	void *ctx;
	/* Set from elsewhere (a signal, the daemon stopping): MERR_CANCEL. */
	const atomic_bool *cancel;	/* may be NULL */
};

struct content_fetch_result {
	uint64_t want_files, want_bytes;	/* not stored when it began */
	uint64_t fetched_files, fetched_bytes;	/* stored by this call */
	uint64_t had_files, had_bytes;		/* stored before */
};

/*
 * Fetches every pool file of snapshot sn of mirror m that is not stored
 * from m's upstream (m->uri + "/" + path) with f (borrowed; its cancel
 * flag is set to o->cancel), verified against the size and SHA-256 the
 * snapshot names; then one barrier (store_sync) and one write
 * transaction list what arrived and count it in odstats (odstats.h), a
 * failure too. A file upstream no longer has (404) does not stop the
 * others; a wrong one (size, hash) or a network failure stops new
 * transfers. What arrived stays stored whatever failed, so a run again
 * resumes; a file is fetched once even if two paths name it. o may
 * be NULL; res (may be NULL) is filled also on error. Errors: those of
 * fetch_to_store (MERR_NOTFOUND: upstream no longer has a file,
 * MERR_VERIFY: wrong size or hash, MERR_NET, MERR_LIMIT, MERR_IO,
 * MERR_CANCEL), with "snapshot ID: 'PATH': " before the fetcher's words;
 * the store's (MERR_STORE, MERR_FULL after retries).
 */
int content_fetch(struct store *s, struct fetch *f,
    const struct conf_mirror *m, const struct snap *sn,
    const struct content_fetch_opts *o, struct content_fetch_result *res,
    struct merr *err);

/*
 * Whether channel of m takes only fully stored snapshots: m is on-demand
 * and names channel in Prefetch: (exact names).
 */
bool content_prefetch_wanted(const struct conf_mirror *m,
    const char *channel);

/*
 * The Prefetch: hook, before a move of channel of m to ref (an ID, a
 * timestamp, latest, a channel), without the channel lock: when
 * content_prefetch_wanted(), resolves ref into id and fetches that
 * snapshot's missing files (a fetch made from c's options), failing
 * with content_fetch's error, after "channel 'NAME' takes only fully
 * stored snapshots (Prefetch:): ", if one could not be stored: the caller
 * then does not move the channel. Otherwise (not wanted) id is "" and
 * nothing is read. Move the channel to id when it is set: a ref such as
 * latest may name another snapshot by the time the lock is held. res
 * (may be NULL) as content_fetch's. Resolution errors are
 * channel_resolve's.
 */
int content_prefetch_for(struct store *s, const struct conf *c,
    const struct conf_mirror *m, const char *ref, const char *channel,
    const struct content_fetch_opts *o, char id[SNAP_ID_LEN + 1],
    struct content_fetch_result *res, struct merr *err);

/*
 * The target a rollback of channel would move it to (as
 * channel_rollback: channel_log_rollbacks at depth 1) into id.
 * MERR_NOTFOUND if there is none (the rollback will say so).
 */
int content_rollback_target(struct store_txn *t, const char *mirror,
    const char *channel, char id[SNAP_ID_LEN + 1], struct merr *err);

/*
 * For a move already under the channel lock (the daemon's rollout
 * runner): 0 if channel of m may take snapshot id now (not wanted, or
 * id fully stored), MERR_BUSY saying how many files are missing if the
 * caller must first run content_prefetch_for(id) outside the lock.
 */
int content_prefetch_check(struct store_txn *t, const struct conf_mirror *m,
    const char *channel, const char *id, struct merr *err);

#endif
