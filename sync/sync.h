/*
 * sync.h: one sync pass of one mirror — verify, select, fetch, parse,
 * commit a snapshot.
 */
#ifndef MIRRORD_SYNC_H
#define MIRRORD_SYNC_H

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "sync/fetch.h"

struct sync_opts {
	bool progress;		/* draw a progress line on stderr (a tty) */
	bool quiet;		/* errors only */
	/*
	 * Borrowed, or NULL. Once true (set by another thread or a signal
	 * handler), the sync stops at its next check (transfers within
	 * about 100 ms, index parsing at the next entry) and fails with
	 * MERR_CANCEL, "mirror 'NAME': sync cancelled", committing nothing.
	 * The commit itself, once begun, is not cut short.
	 */
	const atomic_bool *cancel;
	const char *by;		/* who syncs, for status: NULL is "sync" */
};

struct sync_result {
	bool created;		/* a new snapshot was committed */
	char id[SNAP_ID_LEN + 1];
	uint64_t fetched_files;	/* blobs downloaded this run */
	uint64_t fetched_bytes;
};

/*
 * Syncs mirror m into s (whose writer lock the caller holds) with the
 * transfers of f. On any failure nothing is committed, blobs already
 * verified stay for the next try, and err names the mirror, suite and
 * file. A pass that finds nothing new commits nothing (created = false).
 * Either way the result is recorded for `mirrord status` (status.h) in a
 * small write transaction of its own after the pass (a failure to record
 * it is logged, not returned).
 */
int sync_mirror(const struct conf *c, const struct conf_mirror *m,
    struct store *s, struct fetch *f, const struct sync_opts *o,
    struct sync_result *res, struct merr *err);

#endif
