/*
 * sync.h: one sync pass of one mirror — verify, select, fetch, parse,
 * commit a snapshot. The files of the engine: sync.c (the pass and its
 * phases), suite.c, plan.c, parse.c (its steps, sharing sync/pass.h),
 * release.c (Release files), fetch.c + resp.c (transfers).
 *
 * Threads: a pass runs in the calling thread (fetch_to_store's transfers
 * are multiplexed there; one helper thread makes blob directories ahead
 * of them). One pass at a time per store: the caller holds the store's
 * writer lock. Only opts->cancel may be touched from elsewhere meanwhile.
 */
#ifndef MIRRORD_SYNC_H
#define MIRRORD_SYNC_H

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "mirrord/fetch.h"

/* How to run a pass; borrowed for the call. */
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

/* What a pass did; filled by sync_mirror(), owns nothing. */
struct sync_result {
	bool created;		/* a new snapshot was committed */
	char id[SNAP_ID_LEN + 1];
	uint64_t fetched_files;	/* blobs downloaded this run */
	uint64_t fetched_bytes;
};

/*
 * Syncs mirror m into s (whose writer lock the caller holds) with the
 * transfers of f. Every argument is borrowed; *res is cleared first and
 * filled as the pass goes (the counts once the pool files are in). A
 * pass that finds nothing new commits nothing (created = false).
 *
 * On any failure nothing is committed, blobs already verified stay for
 * the next try (recorded in the store, for gc if no later pass names
 * them), and err names the mirror and, where they apply, the suite and
 * the file ("mirror 'NAME': suite 'S': 'FILE': ..."). The codes
 * a caller can act on:
 *   MERR_VERIFY    a signature, a date (replayed, future, expired), a
 *                  suite name, a size or a hash did not verify;
 *   MERR_NET       a transfer failed after its retries;
 *   MERR_NOTFOUND  a file the Release requires is not upstream;
 *   MERR_PARSE     a Release or an index is malformed;
 *   MERR_LIMIT     a file is larger than its cap;
 *   MERR_CONF      with Strict: yes, the Release lacks what m asks for;
 *   MERR_IO, MERR_STORE, MERR_FULL  the store (a full disk, LMDB);
 *   MERR_CANCEL    *o->cancel was set.
 * A suite's failure holds back the mirror's other suites (a snapshot
 * takes them all at once): the log says so, naming them.
 *
 * Either way the result is recorded for `mirrord status` (status.h) in a
 * small write transaction of its own after the pass (a failure to record
 * it is logged, not returned).
 */
int sync_mirror(const struct conf *c, const struct conf_mirror *m,
    struct store *s, struct fetch *f, const struct sync_opts *o,
    struct sync_result *res, struct merr *err);

#endif
