/*
 * replica.h: a read replica follows its primary (Replica-Of: in the
 * global stanza, docs/api.md, docs/mirrord.conf.5).
 *
 * A poll GETs the primary's /api/v1/state. When its generation differs
 * from the one applied, the follower reads each configured mirror's
 * snapshots, pool intervals and channels from the API, fetches the blobs
 * the store lacks from /api/v1/blobs/H (each verified by size and SHA-256
 * by fetch_to_store), copies new manifests (verified against the hash
 * the API gives), then, after the store_sync() barrier, applies it all in
 * ONE write transaction under the writer lock: new snapshots, pool
 * intervals, channel states and logs, and the drops of what the primary
 * dropped. A reader sees the old state or the new one, never a mix; a
 * failure anywhere leaves the store as it was (fetched blob files stay
 * for the next try, unlisted until a commit names them).
 *
 * The replica keeps, in TBL_META, the generation it applied and when the
 * last poll succeeded (struct replica_state): what `status` and /metrics
 * report as its lag (docs/monitoring.md).
 *
 * Errors are negative MERR_* codes with err set: MERR_NET (the primary
 * cannot be reached or answers another status), MERR_PARSE (an answer
 * that is not the API's JSON), MERR_VERIFY (bytes that do not match their
 * hash), or the store's. One thread at a time per struct store.
 */
#ifndef MIRRORD_REPLICA_H
#define MIRRORD_REPLICA_H

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/fetch.h"
#include "mirrord/store.h"

/* Caps on what a primary may send: a bigger answer is refused. */
#define REPLICA_MAX_STATE (1u << 20)
#define REPLICA_MAX_LIST (256u << 20)

/* Whether c makes this store a replica (Replica-Of: is set). */
bool replica_is(const struct conf *c);

/*
 * The refusal of a write on a replica: MERR_INVAL "this store is a
 * replica of URL" when c has Replica-Of:, else 0.
 */
int replica_refuse(const struct conf *c, struct merr *err);

/* What a replica has applied and when it last heard from its primary. */
struct replica_state {
	char generation[HASH_HEX_LEN + 1];	/* "" before the first */
	int64_t time;		/* the primary's state time applied */
	int64_t applied_at;	/* when it was applied here */
	int64_t last_success;	/* the last poll that found it current */
};

/* Reads *st from TBL_META (zeroed when the store never followed). */
int replica_state_get(struct store_txn *t, struct replica_state *st,
    struct merr *err);

/*
 * Lag in seconds at now: now - st->last_success (the last moment the
 * replica is known to have served the primary's state), or -1 when it
 * never succeeded.
 */
int64_t replica_lag(const struct replica_state *st, int64_t now);

/*
 * One poll of c->replica_of with f (fetch_new(), the usual options);
 * *changed (may be NULL) says whether it applied a new generation. On
 * success records the poll in TBL_META. The caller holds no store lock:
 * the apply takes the writer lock (waiting for it) and drops it.
 */
int replica_poll(struct store *s, const struct conf *c, struct fetch *f,
    bool *changed, struct merr *err);

#endif
