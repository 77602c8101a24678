/*
 * schedule.h: the daemon's clock arithmetic, as pure functions: when each
 * mirror's next sync is due, how long to back off after failures, when a
 * channel's Release files need re-signing before their Valid-Until.
 *
 * No I/O and no clock: every time is passed in (monotonic milliseconds
 * for the sync plan, unix seconds for channels, as each function says),
 * so that the rules can be tested. The randomness (jitter, so that a fleet
 * of mirrors does not reach upstream at once) comes from a generator the
 * caller seeds. A struct schedule belongs to one thread; the functions
 * keep no other state. Nothing here fails: no struct merr, and out of
 * memory aborts (xmalloc).
 *
 * Retention has no clock of its own: the daemon runs it after each sync
 * that made a snapshot, and gc.c's Gc-Grace decides what may go.
 */
#ifndef MIRRORD_SCHEDULE_H
#define MIRRORD_SCHEDULE_H

#include "mirrord/common.h"
#include "mirrord/conf.h"

#define SCHEDULE_NAME_MAX 64		/* a mirror name's bytes (conf.h) */
#define SCHEDULE_FIRST_MAX_MS 60000	/* a first sync comes within this */
#define SCHEDULE_BACKOFF_MS 60000	/* after one failure; doubled */
#define SCHEDULE_BUSY_MS 30000		/* the store is locked by another */
#define SCHEDULE_CHAN_CHECK_S 300	/* channels looked at this often */
#define SCHEDULE_CHAN_RETRY_S 60	/* after a failed channel refresh */
#define SCHEDULE_CHAN_BUSY_S 5		/* the channel lock was taken */

/* One enabled mirror's plan. */
struct schedule_entry {
	char name[SCHEDULE_NAME_MAX + 1];
	int64_t next;		/* monotonic ms of the next start */
	unsigned fails;		/* consecutive failed syncs */
};

/* The plan: one entry per enabled mirror, in the configuration's order. */
struct schedule {
	struct schedule_entry *e;
	size_t n;
	uint64_t rng;		/* the jitter's generator state */
};

/*
 * An empty plan whose jitter comes from seed (any value; the same seed
 * gives the same plan). Release with schedule_release.
 */
void schedule_init(struct schedule *s, uint64_t seed);
void schedule_release(struct schedule *s);

/*
 * m's Sync-Interval in ms: its own, else c's; at least 1 s.
 */
int64_t schedule_interval_ms(const struct conf *c,
    const struct conf_mirror *m);

/*
 * Rebuilds the plan for c's enabled mirrors at monotonic time now (at
 * start and after each reload). A mirror already planned keeps its time
 * and failure count, but a time more than its interval and 10% away (the
 * interval got shorter) is drawn again as for a new one; a new mirror is
 * due at a random moment within min(interval, SCHEDULE_FIRST_MAX_MS).
 * Pointers into the old plan are invalid afterwards.
 */
void schedule_update(struct schedule *s, const struct conf *c, int64_t now);

/* The entry for mirror name, or NULL if it is not planned. */
struct schedule_entry *schedule_find(struct schedule *s, const char *name);

/*
 * The entry due at now (its time <= now) that has waited longest, or
 * NULL if none is due. Valid until the next schedule_update.
 */
struct schedule_entry *schedule_due(struct schedule *s, int64_t now);

/* The entry due first, or NULL for an empty plan. Valid as above. */
struct schedule_entry *schedule_first(struct schedule *s);

/*
 * A sync of e that began at start succeeded: the failure count is reset
 * and the next one comes an interval iv after start, give or take 10%
 * at random.
 */
void schedule_succeeded(struct schedule *s, struct schedule_entry *e,
    int64_t start, int64_t iv);

/*
 * A sync of e failed, noticed at now: the failure is counted and the
 * next try comes after SCHEDULE_BACKOFF_MS, doubled at each consecutive
 * failure, at most the interval iv. Returns the wait in ms.
 */
int64_t schedule_failed(struct schedule_entry *e, int64_t now, int64_t iv);

/*
 * The store was locked by another process (a sync or promote run by hand)
 * at start: e is tried again in min(SCHEDULE_BUSY_MS, iv), its failure
 * count untouched. Returns the wait in ms.
 */
int64_t schedule_busy(struct schedule_entry *e, int64_t start, int64_t iv);

/*
 * A monotonic time as unix seconds (for `mirrord status`), given the two
 * clocks' readings now: mono_now (ms) and wall_now (s).
 */
int64_t schedule_wall(int64_t mono, int64_t mono_now, int64_t wall_now);

/*
 * A unix time next (seconds) as a monotonic time (ms), given the clocks'
 * readings wall_now (s) and mono_now (ms); a time not after wall_now
 * comes out a second after mono_now, so that a caller sleeping until then
 * does not spin.
 */
int64_t schedule_mono(int64_t next, int64_t wall_now, int64_t mono_now);

/*
 * How often channels are looked at, in seconds: every
 * SCHEDULE_CHAN_CHECK_S, or a quarter of Valid-For (valid_for, seconds;
 * 0: none) if that is shorter, at least 1 s, so that a channel promoted
 * by hand is caught well before its Valid-Until.
 */
int64_t schedule_chan_period(long valid_for);

/* What schedule_chan_resign says of a channel. */
enum schedule_resign {
	SCHEDULE_RESIGN_NEVER,	/* no Valid-Until, none wanted */
	SCHEDULE_RESIGN_NOW,	/* due (or lacking a wanted Valid-Until) */
	SCHEDULE_RESIGN_AT,	/* due at *at, later */
};

/*
 * When a channel last moved (or re-signed) at moved_at, whose Release
 * files are valid until valid_until (0: no Valid-Until), needs re-signing
 * at unix time now: half-way through its validity; at once if it has no
 * Valid-Until but valid_for (Valid-For:, seconds) now asks for one (it
 * was promoted before Valid-For: was set). *at is set for
 * SCHEDULE_RESIGN_AT only.
 */
enum schedule_resign schedule_chan_resign(int64_t moved_at,
    int64_t valid_until, long valid_for, int64_t now, int64_t *at);

/* The earlier of next and t: for "look again at t at the latest". */
int64_t schedule_sooner(int64_t next, int64_t t);

#endif
