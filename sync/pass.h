/*
 * pass.h: the state of one sync pass, shared by the files of the sync
 * engine (internal: nothing outside sync/ includes it).
 *
 *   sync.c   sync_mirror(): the pass as its phases, the commit, status
 *   suite.c  step 1: a suite's Release files, fetched and verified
 *   plan.c   step 2: the job lists, index and pdiff files to fetch
 *   parse.c  step 3: the indices parsed, the pool files to fetch
 *
 * Threads: a pass, and so a struct sync_ctx, belongs to the one thread
 * that runs sync_mirror() (the helper thread of the pool step, which makes
 * blob directories ahead of the transfers, is given the store, not the
 * context). Arguments are borrowed unless a function says it takes them.
 *
 * Errors are negative MERR_* codes with err set, those of the functions
 * called (fetch.h, index.h, store.h...) unless said below. Whatever a step
 * leaves in x (x->rtxn open included) is released with the context, by
 * sync_mirror().
 */
#ifndef MIRRORD_SYNC_PASS_H
#define MIRRORD_SYNC_PASS_H

#include "mirrord/common.h"

#include <time.h>

#include "mirrord/conf.h"
#include "mirrord/gpg.h"
#include "mirrord/hash.h"
#include "mirrord/index.h"
#include "mirrord/snap.h"
#include "mirrord/status.h"
#include "mirrord/store.h"
#include "mirrord/fetch.h"
#include "sync/release.h"
#include "sync/sync.h"

#define RELEASE_MAX (64u << 20)		/* InRelease of a large archive */
#define INDEX_MAX_UNLISTED (4ull << 30)	/* cap when Release lists no size */
#define PDIFF_INDEX_MAX (16u << 20)

/*
 * A list of fetch jobs whose URL strings it owns: zeroed to start,
 * joblist_release after.
 */
struct joblist {
	struct fetch_job *jobs;
	char **paths;		/* path each job stores, relative to base */
	const char **suites;	/* the suite that wanted it (borrowed) */
	size_t n, cap;
};

/* What one suite brings to this pass. */
struct suite_work {
	const char *name;
	char *base;		/* <uri>/dists/<suite>/ */
	bool changed;
	struct release rel;
	struct snap_suite out;	/* the new snapshot's suite */
	struct snap_state state;
	size_t first_job, njobs;	/* its range in the index job list */
	/* A changed suite's selected Release files (release_select). */
	size_t *sel;
	enum sel_kind *kinds;
	size_t nsel;
};

struct sync_ctx {
	const struct conf *conf;
	const struct conf_mirror *m;
	struct store *store;
	struct fetch *fetch;
	const struct sync_opts *opts;
	struct gpg_verifier *gpg;
	/*
	 * prev: the mirror's latest (never a patch), what suites are
	 * compared with and copied from; for a partial mirror, in the form
	 * of upstream's files (compose_upstream_view). newest: the newest
	 * snapshot of any kind when the delta must be stated against it
	 * rather than prev (a patch came after prev; a partial mirror's
	 * every pass), else not loaded.
	 */
	struct snap prev;
	bool have_prev;
	struct snap newest;
	bool have_newest;
	bool partial;		/* the mirror has Include: */
	struct suite_work *sw;
	size_t nsw;
	struct snap_delta *delta;
	struct joblist pool;
	struct store_txn *rtxn;	/* read txn while parsing */
	/* Progress. */
	const char *phase;
	uint64_t total_files, total_bytes;
	struct timespec t0;
	uint64_t fetched_files, fetched_bytes;
	/* What status records of a failure and of a pass's warnings. */
	bool verifying;		/* step 1: a VERIFY error is the Release's */
	char fail_suite[STATUS_SUITE_MAX + 1];	/* the suite that failed */
	struct buf warnings;	/* "\n"-ended lines */
};

/* sync.c */

/* 0, or MERR_CANCEL ("sync cancelled") once the cancel flag is set. */
int sync_check_cancel(const struct sync_ctx *x, struct merr *err);
/* Records name as the suite that failed, unless one already is. */
void sync_fail_suite(struct sync_ctx *x, const char *name);
/*
 * Fetches jl into the store (fetch_to_store), with progress; an error
 * (fetch_to_store's: MERR_VERIFY, MERR_NOTFOUND, MERR_LIMIT, MERR_NET,
 * MERR_IO, MERR_CANCEL) is prefixed with the file and suite of the job
 * that failed, and that suite recorded (sync_fail_suite).
 */
int sync_run_jobs(struct sync_ctx *x, struct joblist *jl, const char *phase,
    struct merr *err);

/* suite.c */

/*
 * Step 1 for one suite: fetch and verify its Release files. Sets
 * w->changed; a changed suite has w->rel parsed and its Release files
 * stored and listed in w->out, an unchanged one w->out copied from the
 * previous snapshot. MERR_VERIFY for a signature, a suite name or a date
 * that does not hold, MERR_NET/MERR_NOTFOUND/MERR_LIMIT for transfers.
 */
int suite_release(struct sync_ctx *x, struct suite_work *w,
    struct merr *err);
/*
 * What the mirror asks of w that its Release lacks: warnings (log and
 * x->warnings), or MERR_CONF for the first one with Strict: yes.
 */
int suite_missing(struct sync_ctx *x, struct suite_work *w,
    struct merr *err);

/* plan.c */

/*
 * Appends a job; takes url, fallback (may be NULL) and path (may be
 * NULL), borrows suite. The returned job is valid until the next add.
 */
struct fetch_job *joblist_add(struct joblist *jl, const char *suite,
    char *url, char *fallback, char *path, const unsigned char h[HASH_LEN],
    uint64_t size, bool optional);
/* Frees what jl owns and empties it. */
void joblist_release(struct joblist *jl);
/*
 * Is the blob recorded in the store (so its file is durable and good)?
 * Only the blobs table counts. 0, or a store error.
 */
int plan_blob_known(struct store_txn *t, const unsigned char h[HASH_LEN],
    bool *known, struct merr *err);
/*
 * Step 2: the selected files of each changed suite not yet in the store,
 * queued in idx (in a read transaction it opens as x->rtxn and ends
 * before fetching), then fetched; each one fetched is listed in its
 * suite's w->out.
 */
int plan_indices(struct sync_ctx *x, struct joblist *idx, struct merr *err);
/* The pdiff patches the pdiff Index files just fetched list, fetched. */
int plan_pdiffs(struct sync_ctx *x, struct merr *err);

/* parse.c */

/*
 * Step 3 for one changed suite: choose the best fetched variant of each
 * Packages/Sources index, parse those that changed since the previous
 * snapshot, and drop the previous version of each. x->rtxn is open.
 */
int parse_suite(struct sync_ctx *x, struct suite_work *w, struct merr *err);
/*
 * Parses one index blob, adding (sign > 0) or dropping its pool files in
 * x->delta; ix (may be NULL when dropping) gets the counts. Errors are
 * store_blob_open's and index_parse_fd's; when dropping, prefixed with
 * "previous snapshot's 'SUITE/PATH': ".
 */
int parse_index(struct sync_ctx *x, const char *suite, const char *path,
    const unsigned char h[HASH_LEN], uint64_t max_out, int sign,
    struct snap_index *ix, struct merr *err);
/* The same, tee (may be NULL) getting the decompressed text. */
int parse_index_tee(struct sync_ctx *x, const char *suite, const char *path,
    const unsigned char h[HASH_LEN], uint64_t max_out, int sign,
    struct snap_index *ix, struct blob_writer *tee, struct merr *err);
/* The pool files parsing marked as missing, queued in x->pool. */
int parse_queue_pool(struct sync_ctx *x, struct merr *err);
/*
 * A compose_entry_fn (compose.h) marking, as parse_index does, each pool
 * file not in the store for the pool step; ctx is x, x->rtxn open.
 */
int parse_mark_missing(void *ctx, const char *suite,
    const struct index_entry *e, bool first, struct merr *err);

/* partial.c: a partial mirror's step 3 (Include:). */

/* The recipe a partial mirror's snapshot records: its selectors. */
char *partial_recipe(const struct conf_mirror *m);
/*
 * Step 3 of a partial mirror: every suite's upstream indices loaded, the
 * closure of Include: resolved (closure.h), each suite written as
 * mirrord's (dists.h) with upstream's files kept aside, and the pool
 * difference against the newest snapshot taken, marking missing pool
 * files. MERR_NOTFOUND for an unsatisfiable dependency or a selector
 * that matches nothing (the message names it); then nothing is written
 * that a snapshot names.
 */
int partial_compose(struct sync_ctx *x, struct merr *err);

#endif
