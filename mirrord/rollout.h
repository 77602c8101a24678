/*
 * rollout.h: rollout plans at work — the daemon walks each new snapshot
 * of a plan's From through its steps (confroll.h), with soaks, health
 * checks, server-side phasing in the last step and Security: immediate.
 *
 * Three parts, so that each can be tested alone:
 *   - the plan's state (struct rollout_state), kept in the store's
 *     TBL_META under the plan's mirror as "rollout.<NAME>": text lines
 *     "key value" after a "v 1" line, unknown keys skipped, so that a
 *     newer mirrord can add some and an older one still reads the rest;
 *   - rollout_decide(), pure: state + plan + what the store says now +
 *     the time -> the one next action;
 *   - rollout_run(), the runner, which carries out actions one at a time
 *     through a struct rollout_ops (the daemon's: the store, the channel
 *     moves, the health check; the tests': fakes), recording each move's
 *     intent *before* it and its result *after*, so that a daemon killed
 *     at any instant resumes with no double move and no skipped soak.
 *
 * Times are unix seconds. Every move goes through the ops' promote,
 * rollback or phase, whose implementations call channel_promote and
 * channel_rollback with by = "rollout NAME" (or the user who advanced)
 * and the why given here, so that `channel log` tells the story.
 *
 * Threads: the functions here keep no state; one runner per plan at a
 * time (the daemon's worker thread), which the channel lock (taken by
 * ops->lock) serialises against the CLI's pause, resume, advance, abort.
 */
#ifndef MIRRORD_ROLLOUT_H
#define MIRRORD_ROLLOUT_H

#include "mirrord/common.h"
#include "mirrord/confroll.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

#define ROLLOUT_STATE_VERSION 1
#define ROLLOUT_LINE_MAX 200	/* a check's output line, a halt reason */
#define ROLLOUT_BY_MAX 128
#define ROLLOUT_RETRY_S 30	/* after a failed operation */

enum rollout_status {
	ROLLOUT_IDLE,		/* nothing rolled out yet */
	ROLLOUT_RUNNING,	/* snapshot at step `step` since `since` */
	ROLLOUT_HALTED,		/* a check failed: until resume or abort */
	ROLLOUT_DONE,		/* snapshot reached the last step */
	ROLLOUT_ABORTED,	/* stopped by hand; channels left as they were */
};

/* A move announced before it is made (the crash-safety record). */
enum rollout_intent {
	ROLLOUT_INTENT_NONE,
	ROLLOUT_INTENT_PROMOTE,	/* step intent_step to intent_to */
	ROLLOUT_INTENT_PHASE,	/* the last step to intent_to at intent_pct */
	ROLLOUT_INTENT_ROLLBACK,	/* step intent_step back, then halt */
};

struct rollout_state {
	unsigned version;
	enum rollout_status status;
	bool paused;
	char snapshot[SNAP_ID_LEN + 1];	/* in flight, or the last one */
	int step;			/* reached, from 0; -1: none */
	int64_t since;			/* when step was reached */
	char done[SNAP_ID_LEN + 1];	/* rolled out or aborted: not again */
	char advance_by[ROLLOUT_BY_MAX];	/* skip step's soak: who said */

	enum rollout_intent intent;
	int intent_step;
	char intent_to[SNAP_ID_LEN + 1];
	unsigned intent_pct;
	int64_t intent_at;
	char intent_why[ROLLOUT_LINE_MAX];

	int check_step;			/* the last check: of this step */
	int64_t check_at;		/* when (0: none yet) */
	bool check_ok;
	char check_out[ROLLOUT_LINE_MAX];	/* its first line of output */

	bool phasing;			/* the last step is phased */
	unsigned phase;			/* percentage now (0..100) */
	unsigned phase_idx;		/* into the plan's phases */
	int64_t phase_since;

	char halt[ROLLOUT_LINE_MAX];	/* why it halted */
	bool rolled_back;		/* ... and step was rolled back */
	char sec_seen[SNAP_ID_LEN + 1];	/* latest looked at for security */
};

/* A fresh state: idle, no step, version ROLLOUT_STATE_VERSION. */
void rollout_state_init(struct rollout_state *st);

const char *rollout_status_name(enum rollout_status s);

/*
 * The state as stored (owned text, free()) and back. rollout_state_parse
 * reads len bytes (need not be NUL-terminated): MERR_STORE for a text
 * without its "v N" line or with a version newer than this mirrord's
 * (naming both); unknown keys are skipped.
 */
char *rollout_state_format(const struct rollout_state *st, size_t *len);
int rollout_state_parse(const char *text, size_t len, struct rollout_state *st,
    struct merr *err);

/*
 * The stored state of plan name under mirror: a fresh one if there is
 * none (not an error). save needs a write transaction.
 */
int rollout_state_load(struct store_txn *t, const char *mirror,
    const char *name, struct rollout_state *st, struct merr *err);
int rollout_state_save(struct store_txn *t, const char *mirror,
    const char *name, const struct rollout_state *st, struct merr *err);

/* What `mirrord rollout` asks of a plan. */
enum rollout_ctl {
	ROLLOUT_PAUSE,		/* no action until resumed */
	ROLLOUT_RESUME,		/* unpause; or after a halt, check again
				 * (after a rollback: promote the step again) */
	ROLLOUT_ADVANCE,	/* skip the current soak; by moves next */
	ROLLOUT_ABORT,		/* stop; the channels stay where they are */
};

/*
 * Applies ctl to st (by: "user@host", for ADVANCE). MERR_INVAL, saying
 * why, where it makes no sense: resume of a plan neither paused nor
 * halted, advance of one not running, abort with nothing in flight.
 * The caller holds the channel lock from load to save.
 */
int rollout_control(struct rollout_state *st, enum rollout_ctl ctl,
    const char *by, struct merr *err);

/* What the store says now, for rollout_decide. */
struct rollout_input {
	const char *from_id;	/* From's snapshot, or NULL: none yet */
	const char *latest_id;	/* latest's, or NULL (Security: immediate) */
	/*
	 * With an intent recorded: the target and last move time of the
	 * channel it moves (NULL, 0: no such channel).
	 */
	const char *intent_target;
	int64_t intent_moved_at;
	/*
	 * With Require-Adoption: the percentage of the current step's
	 * fleet that fetched its new indices (adoption.h); -1: unknown
	 * (no fleet seen in the window counts as 0).
	 */
	int adoption;
};

enum rollout_act {
	ROLLOUT_WAIT,		/* nothing until at (0: until a change) */
	ROLLOUT_PROMOTE,	/* step to snapshot (step 0: a new rollout) */
	ROLLOUT_PHASE,		/* the last step to snapshot at pct */
	ROLLOUT_CHECK,		/* the health check of step */
	ROLLOUT_HALT,		/* halt, why */
	ROLLOUT_ROLLBACK,	/* roll step back, then halt */
	ROLLOUT_FINISH,		/* snapshot has reached the last step */
	ROLLOUT_RECORD,		/* the intent was carried out: record it */
	ROLLOUT_SECURITY,	/* patch every step with latest's fixes */
};

struct rollout_action {
	enum rollout_act act;
	int step;
	char snapshot[SNAP_ID_LEN + 1];
	unsigned pct;		/* PHASE */
	bool halt;		/* PHASE: then halt (a phase set to 0) */
	int64_t at;		/* WAIT: until (0: a change); else now */
	char why[ROLLOUT_LINE_MAX];	/* for the channel log */
};

const char *rollout_act_name(enum rollout_act a);

/*
 * The next action of plan r in state st at now, given in. Pure: reads
 * nothing else, changes nothing. A check is "of the current step" when
 * its check_step is st->step and check_at >= st->since (or, phasing,
 * >= phase_since). Without a Health-Check, a soak's end passes.
 */
void rollout_decide(const struct conf_rollout *r, const struct rollout_state *st,
    const struct rollout_input *in, int64_t now, struct rollout_action *a);

/* ref's snapshot ID into id; MERR_NOTFOUND: none. */
typedef int rollout_resolve_fn(void *ctx, const char *mirror, const char *ref,
    char id[SNAP_ID_LEN + 1], struct merr *err);
/* A channel's target and last move; MERR_NOTFOUND: none. */
typedef int rollout_channel_fn(void *ctx, const char *mirror,
    const char *name, char target[SNAP_ID_LEN + 1], int64_t *moved_at,
    struct merr *err);

/* The same, from a transaction t (as ctx: struct store_txn *). */
int rollout_resolve(struct store_txn *t, const char *mirror, const char *ref,
    char id[SNAP_ID_LEN + 1], struct merr *err);
int rollout_channel(struct store_txn *t, const char *mirror, const char *name,
    char target[SNAP_ID_LEN + 1], int64_t *moved_at, struct merr *err);

/* Room for the IDs a struct rollout_input points into. */
struct rollout_ids {
	char from[SNAP_ID_LEN + 1];
	char latest[SNAP_ID_LEN + 1];
	char target[SNAP_ID_LEN + 1];
};

/*
 * Fills *in for plan r in state st through resolve and chan (with ctx):
 * From's snapshot, latest's (with Security: immediate), the intent's
 * channel. The IDs live in *ids. Only their errors other than
 * MERR_NOTFOUND are returned.
 */
int rollout_gather(const struct conf_rollout *r, const struct rollout_state *st,
    struct rollout_ids *ids, struct rollout_input *in,
    rollout_resolve_fn *resolve, rollout_channel_fn *chan, void *ctx,
    struct merr *err);

/*
 * What the runner needs from the world. Each returns 0 or a negative
 * MERR_* code with err set; a failure is logged by the caller of
 * rollout_run and the plan retried ROLLOUT_RETRY_S later.
 */
struct rollout_ops {
	void *ctx;
	int64_t (*now)(void *ctx);
	/* The channel lock, around every read-decide-record. */
	int (*lock)(void *ctx, struct merr *err);
	void (*unlock)(void *ctx);
	int (*load)(void *ctx, const struct conf_rollout *r,
	    struct rollout_state *st, struct merr *err);
	int (*save)(void *ctx, const struct conf_rollout *r,
	    const struct rollout_state *st, struct merr *err);
	rollout_resolve_fn *resolve;
	rollout_channel_fn *channel;
	/* Moves; MERR_EXISTS from promote: already there (not moved). */
	int (*promote)(void *ctx, const struct conf_rollout *r,
	    const char *channel, const char *snapshot, const char *by,
	    const char *why, struct merr *err);
	int (*rollback)(void *ctx, const struct conf_rollout *r,
	    const char *channel, const char *by, const char *why,
	    struct merr *err);
	/*
	 * The channel to snapshot with Phased-Update-Percentage: pct on
	 * what is new in this step (phase_make(); 100: the snapshot as
	 * it is).
	 */
	int (*phase)(void *ctx, const struct conf_rollout *r,
	    const char *channel, const char *snapshot, unsigned pct,
	    const char *by, const char *why, struct merr *err);
	/*
	 * The health check of channel at snapshot, bounded by the plan's
	 * Health-Timeout; called without the lock. *ok, and a line (at most
	 * n - 1 bytes) saying what it answered ("exit 1: disk full",
	 * "HTTP 503", "timed out after 30s"). MERR_CANCEL (err set) when
	 * it was cut short by a stop: no answer, nothing is recorded.
	 */
	int (*check)(void *ctx, const struct conf_rollout *r,
	    const char *channel, const char *snapshot, bool *ok, char *out,
	    size_t n, struct merr *err);
	/*
	 * Security: immediate: every step's channel patched with latest's
	 * pending security fixes (patch_plan with security, patch_commit,
	 * channel_promote). Bit i of *patched: step i was patched.
	 */
	int (*security)(void *ctx, const struct conf_rollout *r,
	    const char *latest, uint32_t *patched, struct merr *err);
	/*
	 * With Require-Adoption: into *pct, the percentage of channel's
	 * fleet that fetched the indices of its move at moved_at (-1: not
	 * known). May be NULL: adoption is then unknown.
	 */
	int (*adoption)(void *ctx, const struct conf_rollout *r,
	    const char *channel, int64_t moved_at, int *pct,
	    struct merr *err);
};

/* How often a step waiting for adoption looks again, seconds. */
#define ROLLOUT_ADOPTION_POLL 60

/*
 * Runs plan r: decides and carries out actions until one is a wait, at
 * most a few per call. *next gets when to call again (unix time; 0: on a
 * change only, which the caller polls for). Errors are the ops'.
 */
int rollout_run(const struct conf_rollout *r, const struct rollout_ops *ops,
    int64_t *next, struct merr *err);

/*
 * For status readers (`rollout show`, /metrics): r's state and next
 * action from a read transaction at now. Resolves From and latest.
 */
int rollout_peek(struct store_txn *t, const struct conf_rollout *r,
    int64_t now, struct rollout_state *st, struct rollout_action *a,
    struct merr *err);

#endif
