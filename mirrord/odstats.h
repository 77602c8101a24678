/*
 * odstats.h: a mirror's on-demand fetch counters, kept in the store so
 * that `mirrord status` (another process) and /metrics read the same
 * figures, and they outlive a restart. The owner of TBL_META's
 * "mirror\0odstats" key.
 *
 * Who writes: whoever stores a pool file of an on-demand mirror that the
 * sync did not fetch (the server on a client's request, `mirrord fetch`,
 * a prefetch before a promotion), in the write transaction that lists
 * the blob; a failure in a write transaction of its own.
 */
#ifndef MIRRORD_ODSTATS_H
#define MIRRORD_ODSTATS_H

#include "mirrord/common.h"
#include "mirrord/store.h"

#define ODSTATS_TEXT_MAX 512

struct odstats {
	uint64_t fetches;	/* pool files stored after the sync */
	uint64_t bytes;		/* their bytes */
	uint64_t failures;	/* fetches that stored nothing */
	uint64_t latency_ms;	/* the sum of the stored ones' durations */
	int64_t last_failure;	/* unix time, 0: none yet */
	/* "snapshot ID path: reason" of the last failure, or "" */
	char last_text[ODSTATS_TEXT_MAX];
};

/* mirror's counters into *st (all zero if none were kept yet). */
int odstats_get(struct store_txn *t, const char *mirror, struct odstats *st,
    struct merr *err);

/* Counts one stored file of size bytes that took ms, in write txn t. */
int odstats_note_stored(struct store_txn *t, const char *mirror,
    uint64_t size, uint64_t ms, struct merr *err);

/*
 * Counts one failure at now, with what failed ("snapshot ID path:
 * reason", cut to ODSTATS_TEXT_MAX - 1 bytes), in write txn t.
 */
int odstats_note_failed(struct store_txn *t, const char *mirror,
    int64_t now, const char *text, struct merr *err);

#endif
