/*
 * metrics.h: the server's counters and the /metrics page (private to
 * serve/). Counters are C11 atomics. Each server thread counts its
 * requests in its own struct metrics_req (one cache line of counters
 * bouncing between CPUs on every request cost more than the counting);
 * /metrics adds them up.
 *
 * Threads: the counters are written by every server thread at once
 * (relaxed atomics: /metrics is a snapshot, not a transaction), and
 * metrics_render() may run meanwhile; metrics_init() and
 * metrics_req_init() run before the threads start.
 */
#ifndef SERVE_METRICS_H
#define SERVE_METRICS_H

#include "mirrord/common.h"

#include <pthread.h>
#include <stdatomic.h>

#include "mirrord/channel.h"
#include "mirrord/conf.h"
#include "mirrord/content.h"
#include "mirrord/exposure.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

/* The status codes counted on their own; others count as "other". */
#define METRICS_CODES { 200, 206, 301, 304, 400, 404, 405, 412, 416, 500, \
	502, 503, 504 }
#define METRICS_NCODES 14	/* the codes above and "other" */

/* One thread's requests. */
struct metrics_req {
	atomic_uint_fast64_t requests[METRICS_NCODES];
	atomic_uint_fast64_t bytes_sent;	/* response bodies */
	atomic_long in_flight;		/* requests not yet done */
};

/*
 * A channel target's exposure (exposure.h) as last computed against a
 * latest: computing loads indices, so /metrics keeps the answer per
 * (mirror, target, latest) and computes again only when one of them
 * changes. ok false: it could not be computed (not retried until then).
 */
struct metrics_exposure {
	char mirror[64 + 1];	/* conf.h: at most 64 bytes */
	char target[SNAP_ID_LEN + 1];
	char latest[SNAP_ID_LEN + 1];
	bool ok;
	struct exposure e;	/* owned (its items, for the pages) */
};

/* How many answers are kept; beyond, the oldest entries are replaced. */
#define METRICS_EXPOSURE_MAX 128

/*
 * An on-demand mirror's latest snapshot's pool files, referenced and
 * stored (content.h), as counted at the store's txnid: counting reads
 * the blobs table once per file, so a scrape counts again only after a
 * commit (a sync, a fetch) changed the store.
 */
struct metrics_pool {
	char mirror[64 + 1];
	uint64_t txnid;
	struct content_counts c;
};

#define METRICS_POOL_MAX 64	/* mirrors; beyond, counted every scrape */

struct metrics {
	struct metrics_req **req;	/* the threads', nreq of them */
	size_t nreq;
	atomic_long open_connections;
	atomic_long refused;		/* connections over Max-Clients */
	/* Access-log lines not written whole (a full disk, an I/O error),
	 * and the errno of the last: rare, so shared. */
	atomic_uint_fast64_t log_lost;
	atomic_int log_errno;
	/* The exposure cache, under exposure_lock (metrics_render). */
	pthread_mutex_t exposure_lock;
	struct metrics_exposure exposure[METRICS_EXPOSURE_MAX];
	size_t nexposure;	/* entries used */
	size_t exposure_next;	/* the next to replace when full */
	uint64_t exposure_computed;	/* how many times, for tests */
	/* The pool counts, under pool_lock (metrics_ondemand). */
	pthread_mutex_t pool_lock;
	struct metrics_pool pool[METRICS_POOL_MAX];
	size_t npool;
};

/* m counts for the nreq threads' req[], borrowed (they outlive m). */
void metrics_init(struct metrics *m, struct metrics_req **req,
    size_t nreq);
/* Frees the exposure cache, once the threads are gone. */
void metrics_release(struct metrics *m);
void metrics_req_init(struct metrics_req *r);
/* Counts one answered request and the body bytes it sent. */
void metrics_count(struct metrics_req *r, int code, uint64_t bytes);
/* Requests begun and not yet done, in all threads. */
long metrics_in_flight(const struct metrics *m);

/*
 * Appends the Prometheus text exposition to b (the caller owns b and
 * releases it on an error too): the counters above, and
 * from the store (one short read transaction) per mirror
 * mirrord_snapshots, mirrord_snapshot_age_seconds (now - the newest
 * snapshot's time) and per channel mirrord_channel_target_age_seconds
 * (now - its target snapshot's time), and each mirror's last sync from
 * its status records (status.h): mirrord_sync_ok, _last_attempt_ and
 * _last_success_timestamp_seconds, _duration_seconds, _fetched_bytes,
 * _fetched_files, _failures_total{reason}, _failing_suite{suite,reason},
 * _warnings and _max_age_seconds (Max-Sync-Age); per channel
 * mirrord_channel_security_pending and
 * mirrord_channel_security_oldest_pending_seconds (exposure.h, from the
 * cache above: a scrape loads indices only for a channel whose target,
 * or whose mirror's latest, changed since the last), and
 * mirrord_exposure_computed_total (how many times it was computed).
 */
int metrics_render(struct metrics *m, const struct conf *c, struct store *s,
    int64_t now, struct buf *b, struct merr *err);

struct listing;

/*
 * Adds to a REF listing of mirror (l->snapshot: the ref's snapshot) its
 * exposure against the mirror's latest (listing_set_exposure), from the
 * cache above or computed into it: the channel pages show what /metrics
 * counts. Nothing is added when it cannot be computed (the page is still
 * served). Reads the store in one short read transaction, then perhaps
 * the indices; any thread.
 */
void metrics_listing_exposure(struct metrics *m, const struct conf *c,
    struct store *s, const char *mirror, struct listing *l);

struct adoption;

/*
 * Appends the fleet gauges of every configured channel to b:
 * mirrord_channel_fleet_clients, _new_indices and _upgraded{mirror,
 * channel} (adoption.h's counts over c's Fleet-Window:). Nothing when a
 * is NULL. Errors: the store's.
 */
int metrics_adoption(struct adoption *a, const struct conf *c,
    struct store *s, int64_t now, struct buf *b, struct merr *err);

struct ondemand;

/*
 * Appends the on-demand gauges of every `Download: on-demand` mirror of
 * c to b: from its odstats (odstats.h: what `status` shows too, kept
 * across restarts) mirrord_ondemand_fetches_total, _bytes_total,
 * _failures_total, _fetch_seconds_sum and _count, and
 * _last_failure_timestamp_seconds{mirror,what} (what: the last failure's
 * text; one series per mirror); from od (NULL: 0)
 * mirrord_ondemand_inflight, the fetches running or waiting now; and of
 * its latest snapshot mirrord_pool_files and mirrord_pool_bytes{mirror,
 * state="referenced|stored"} (content_count, cached as above). One read
 * transaction; errors: the store's.
 */
int metrics_ondemand(struct metrics *m, struct ondemand *od,
    const struct conf *c, struct store *s, struct buf *b, struct merr *err);

#endif
