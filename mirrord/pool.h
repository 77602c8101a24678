/*
 * pool.h: pool membership, the owner of TBL_POOL, TBL_POOLSEQ and
 * TBL_BREFS.
 *
 * A mirror's snapshots do not list their pool files. Instead each mirror
 * keeps, per (pool path, blob), the intervals of snapshot sequence
 * numbers in which some index referenced it: [from, to), to 0 while the
 * interval is open (it reaches the newest snapshot). The open interval
 * carries how many current indices list the pair. Three tables:
 *
 *   TBL_POOL     "mirror\0path\0" sha256 be32(from) ->
 *                be32 to, be64 size, be32 refs
 *   TBL_POOLSEQ  "mirror\0" be32(from) "path\0" sha256 -> ""
 *                (the intervals by their start, for gc)
 *   TBL_BREFS    sha256 -> be32 live intervals naming the blob
 *                (no row: none)
 *
 * Only this file builds or parses those keys. Functions take a
 * transaction (store.h: read or write as said; not shared between
 * threads); they return 0 or a negative MERR_* code with err set, as the
 * store's functions do (MERR_FULL from a write: see store_txn_begin).
 */
#ifndef MIRRORD_POOL_H
#define MIRRORD_POOL_H

#include "mirrord/common.h"
#include "mirrord/hash.h"
#include "mirrord/store.h"

/*
 * The open interval of (path, h) in mirror: 1 with *from its start and
 * *refs its reference count, 0 if there is none, or an error.
 */
int pool_find_open(struct store_txn *t, const char *mirror, const char *path,
    const unsigned char h[HASH_LEN], uint32_t *from, uint32_t *refs,
    struct merr *err);

/*
 * Opens an interval of (path, h) at seq: indexes it by its start and
 * counts it in h's live intervals. The caller then writes it (pool_put).
 */
int pool_open(struct store_txn *t, const char *mirror, const char *path,
    const unsigned char h[HASH_LEN], uint32_t seq, struct merr *err);

/*
 * Writes the interval of (path, h) that starts at from: to (0: open),
 * size, refs.
 */
int pool_put(struct store_txn *t, const char *mirror, const char *path,
    const unsigned char h[HASH_LEN], uint32_t from, uint32_t to,
    uint64_t size, uint32_t refs, struct merr *err);

/*
 * The blob and size of pool path in snapshot seq of mirror (the
 * interval that holds seq). MERR_NOTFOUND ("'path' is not in the
 * snapshot") if none does.
 */
int pool_lookup(struct store_txn *t, const char *mirror, const char *path,
    uint32_t seq, unsigned char h[HASH_LEN], uint64_t *size,
    struct merr *err);

/*
 * Adds n to the count of live pool intervals naming blob h; *now gets the
 * new count (the row goes at 0). MERR_STORE if it would leave 0..2^32-1
 * or the row is corrupt.
 */
int pool_bref_add(struct store_txn *t, const unsigned char h[HASH_LEN], int n,
    uint32_t *now, struct merr *err);

/* Whether some live pool interval names blob h (a read error: false). */
bool pool_referenced(struct store_txn *t, const unsigned char h[HASH_LEN]);

/*
 * Drops mirror's intervals that start in [a, b] and end by b + 1 (no
 * snapshot left lies in them, the caller having dropped seqs a..b), in
 * the write transaction t. Each blob that loses its last live interval
 * is passed to lost (ctx), which returns 0 or an error that ends the
 * drop. MERR_STORE if the by-start index names a missing interval.
 */
typedef int (*pool_lost_fn)(void *ctx, const unsigned char h[HASH_LEN],
    struct merr *err);
int pool_drop_ended(struct store_txn *t, const char *mirror, uint32_t a,
    uint32_t b, pool_lost_fn lost, void *ctx, struct merr *err);

/*
 * Calls fn for every interval of every mirror, in key order. iv is valid
 * during the call; NULL for a key too short or without a NUL (fsck
 * reports it). A malformed value reads as to 0, size 0, refs 0. fn
 * returns 0 to go on or a negative code that ends the walk.
 */
struct pool_interval {
	const char *mirror;
	const char *path;
	unsigned char hash[HASH_LEN];
	uint32_t from, to;	/* to 0: open */
	uint64_t size;
	uint32_t refs;
};
typedef int (*pool_each_fn)(void *ctx, const struct pool_interval *iv,
    struct merr *err);
int pool_each(struct store_txn *t, pool_each_fn fn, void *ctx,
    struct merr *err);

/*
 * As pool_each, for mirror's intervals alone (a prefix scan: its cost is
 * that mirror's intervals, not the store's). iv->mirror is mirror.
 */
int pool_each_mirror(struct store_txn *t, const char *mirror,
    pool_each_fn fn, void *ctx, struct merr *err);

#endif
