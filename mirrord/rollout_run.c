/*
 * rollout_run.c: the runner (rollout.h): one decision at a time, carried
 * out through the ops, each move recorded as an intent before it and as
 * a state after it.
 *
 * Why intents: the move (a channel_promote, its own transaction) and the
 * plan's state (a TBL_META row) cannot share a transaction, so a daemon
 * killed between the two would either move twice or never record the
 * move. With the intent stored first, a restart finds it and asks the
 * channel: moved since the intent was written (to the intended target) ->
 * record it, with the channel's own move time as the step's start (so
 * the soak is timed from the real move); not moved -> move now.
 */
#include "mirrord/common.h"

#include "mirrord/rollout.h"

#define RUN_ACTIONS_MAX 8	/* per call: a walk never spins */

struct run {
	const struct conf_rollout *r;
	const struct rollout_ops *ops;
	char by[ROLLOUT_BY_MAX];	/* "rollout NAME" */
};

static int
run_load(struct run *x, struct rollout_state *st, struct merr *err)
{
	int rc = x->ops->load(x->ops->ctx, x->r, st, err);

	/* An intent for a step a reload took away is forgotten. */
	if (rc == 0 && st->intent != ROLLOUT_INTENT_NONE &&
	    (st->intent_step < 0 || (size_t)st->intent_step >= x->r->nsteps))
		st->intent = ROLLOUT_INTENT_NONE;
	return rc;
}

static int
run_save(struct run *x, const struct rollout_state *st, struct merr *err)
{
	return x->ops->save(x->ops->ctx, x->r, st, err);
}

static void
set_str(char *dst, size_t n, const char *s)
{
	char *p;

	snprintf(dst, n, "%s", s);
	/* The stored state is line-based. */
	for (p = dst; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

static enum rollout_act
intent_act(enum rollout_intent i)
{
	if (i == ROLLOUT_INTENT_PROMOTE)
		return ROLLOUT_PROMOTE;
	if (i == ROLLOUT_INTENT_PHASE)
		return ROLLOUT_PHASE;
	return ROLLOUT_ROLLBACK;
}

static unsigned
phase_index(const struct conf_rollout *r, unsigned pct, unsigned dflt)
{
	size_t i;

	for (i = 0; i < r->nphases; i++)
		if (r->phases[i] == pct)
			return (unsigned)i;
	return dflt;
}

/* The state after move a, made at t. */
static void
record_move(const struct conf_rollout *r, struct rollout_state *st,
    const struct rollout_action *a, int64_t t)
{
	bool fresh = a->act != ROLLOUT_ROLLBACK &&
	    (st->status != ROLLOUT_RUNNING ||
	    strcmp(st->snapshot, a->snapshot) != 0);

	if (fresh) {
		set_str(st->snapshot, sizeof(st->snapshot), a->snapshot);
		st->check_step = -1;
		st->check_at = 0;
		st->check_ok = false;
		st->check_out[0] = '\0';
		st->phasing = false;
		st->phase = 0;
		st->phase_idx = 0;
		st->phase_since = 0;
		st->halt[0] = '\0';
		st->rolled_back = false;
	}
	if (a->act == ROLLOUT_ROLLBACK) {
		st->status = ROLLOUT_HALTED;
		st->rolled_back = true;
		set_str(st->halt, sizeof(st->halt), a->why);
	} else if (a->act == ROLLOUT_PROMOTE) {
		st->status = ROLLOUT_RUNNING;
		st->step = a->step;
		st->since = t;
	} else {
		st->status = ROLLOUT_RUNNING;
		if (!st->phasing || st->step != a->step) {
			st->step = a->step;
			st->since = t;
			st->phasing = true;
		}
		st->phase = a->pct;
		st->phase_idx = phase_index(r, a->pct, st->phase_idx);
		st->phase_since = t;
		if (a->pct == 0) {
			st->status = ROLLOUT_HALTED;
			set_str(st->halt, sizeof(st->halt), a->why);
		}
	}
	st->advance_by[0] = '\0';
	st->intent = ROLLOUT_INTENT_NONE;
	st->intent_step = 0;
	st->intent_to[0] = '\0';
	st->intent_pct = 0;
	st->intent_at = 0;
	st->intent_why[0] = '\0';
}

/* The move itself, through the ops. */
static int
run_op(struct run *x, const struct rollout_action *a, const char *by,
    struct merr *err)
{
	const struct rollout_ops *o = x->ops;
	const char *ch = x->r->steps[a->step].channel;
	int rc;

	if (a->act == ROLLOUT_PROMOTE) {
		rc = o->promote(o->ctx, x->r, ch, a->snapshot, by, a->why,
		    err);
		/* Already there (moved by hand, say): the step is reached. */
		return rc == MERR_EXISTS ? 0 : rc;
	}
	if (a->act == ROLLOUT_PHASE)
		return o->phase(o->ctx, x->r, ch, a->snapshot, a->pct, by,
		    a->why, err);
	rc = o->rollback(o->ctx, x->r, ch, by, a->why, err);
	/* Nothing to roll back to: the halt is what is left to do. */
	return rc == MERR_NOTFOUND ? 0 : rc;
}

/* A move (the lock held): intent, move, result. */
static int
run_move(struct run *x, struct rollout_state *st,
    const struct rollout_action *a, int64_t now, struct merr *err)
{
	const struct rollout_ops *o = x->ops;
	char target[SNAP_ID_LEN + 1];
	struct merr e2 = { 0 };
	int64_t t = 0;
	int rc;

	if (st->intent == ROLLOUT_INTENT_NONE) {
		st->intent = a->act == ROLLOUT_PROMOTE ?
		    ROLLOUT_INTENT_PROMOTE : a->act == ROLLOUT_PHASE ?
		    ROLLOUT_INTENT_PHASE : ROLLOUT_INTENT_ROLLBACK;
		st->intent_step = a->step;
		set_str(st->intent_to, sizeof(st->intent_to), a->snapshot);
		st->intent_pct = a->pct;
		st->intent_at = now;
		set_str(st->intent_why, sizeof(st->intent_why), a->why);
		rc = run_save(x, st, err);
		if (rc)
			return rc;
	}
	rc = run_op(x, a, st->advance_by[0] ? st->advance_by : x->by, err);
	if (rc)
		return rc;	/* the intent stays: the next run retries */
	if (o->channel(o->ctx, x->r->mirror, x->r->steps[a->step].channel,
	    target, &t, &e2) != 0 || t < now)
		t = now;
	record_move(x->r, st, a, t);
	return run_save(x, st, err);
}

/*
 * The health check, without the lock (it may take Health-Timeout); its
 * result is kept only if the plan has not moved meanwhile.
 */
static int
run_check(struct run *x, const struct rollout_state *st,
    const struct rollout_action *a, struct merr *err)
{
	const struct rollout_ops *o = x->ops;
	struct rollout_state now_st;
	char out[ROLLOUT_LINE_MAX];
	bool ok = false;
	int rc;

	out[0] = '\0';
	rc = o->check(o->ctx, x->r, x->r->steps[a->step].channel,
	    a->snapshot, &ok, out, sizeof(out), err);
	if (rc == 0)
		rc = o->lock(o->ctx, err);
	if (rc)
		return rc;
	rc = run_load(x, &now_st, err);
	if (rc == 0 && now_st.status == st->status &&
	    now_st.step == st->step && now_st.since == st->since &&
	    now_st.phase_since == st->phase_since &&
	    now_st.intent == ROLLOUT_INTENT_NONE && !now_st.paused &&
	    strcmp(now_st.snapshot, st->snapshot) == 0) {
		now_st.check_step = a->step;
		now_st.check_at = o->now(o->ctx);
		now_st.check_ok = ok;
		set_str(now_st.check_out, sizeof(now_st.check_out), out);
		rc = run_save(x, &now_st, err);
	}
	o->unlock(o->ctx);
	return rc;
}

/* A failed check after a security patch of step i: halt (roll back). */
static int
security_failed(struct run *x, size_t i, const char *out, struct merr *err)
{
	const struct rollout_ops *o = x->ops;
	struct rollout_state st;
	char why[ROLLOUT_LINE_MAX];
	int rc;

	snprintf(why, sizeof(why), "halted%s: check of %s after its "
	    "security patch: %.120s", x->r->rollback ? ", rolled back" : "",
	    x->r->steps[i].channel, out);
	rc = o->lock(o->ctx, err);
	if (rc)
		return rc;
	if (x->r->rollback) {
		rc = o->rollback(o->ctx, x->r, x->r->steps[i].channel, x->by,
		    why, err);
		if (rc == MERR_NOTFOUND)
			rc = 0;
	}
	if (rc == 0)
		rc = run_load(x, &st, err);
	if (rc == 0) {
		st.status = ROLLOUT_HALTED;
		st.rolled_back = x->r->rollback;
		set_str(st.halt, sizeof(st.halt), why);
		rc = run_save(x, &st, err);
	}
	o->unlock(o->ctx);
	return rc;
}

/*
 * Security: immediate. The patches are the ops' (they take the store's
 * writer lock, then the channel lock: that order). A rollout in flight of
 * an older snapshot than latest starts over with latest, so that none of
 * its later moves takes a fix away again.
 */
static int
run_security(struct run *x, const struct rollout_action *a, struct merr *err)
{
	const struct rollout_ops *o = x->ops;
	struct rollout_state st;
	uint32_t patched = 0;
	char out[ROLLOUT_LINE_MAX], target[SNAP_ID_LEN + 1];
	struct merr e2 = { 0 };
	int64_t t;
	bool ok;
	size_t i;
	int rc;

	rc = o->security(o->ctx, x->r, a->snapshot, &patched, err);
	if (rc)
		return rc;
	rc = o->lock(o->ctx, err);
	if (rc)
		return rc;
	rc = run_load(x, &st, err);
	if (rc == 0) {
		set_str(st.sec_seen, sizeof(st.sec_seen), a->snapshot);
		if (patched != 0 && st.status == ROLLOUT_RUNNING &&
		    strcmp(x->r->from, "latest") == 0 &&
		    strcmp(st.snapshot, a->snapshot) != 0)
			st.status = ROLLOUT_IDLE;
		rc = run_save(x, &st, err);
	}
	o->unlock(o->ctx);
	for (i = 0; rc == 0 && x->r->check && i < x->r->nsteps; i++) {
		if (!(patched & (UINT32_C(1) << i)))
			continue;
		if (o->channel(o->ctx, x->r->mirror, x->r->steps[i].channel,
		    target, &t, &e2) != 0)
			continue;
		out[0] = '\0';
		ok = false;
		rc = o->check(o->ctx, x->r, x->r->steps[i].channel, target,
		    &ok, out, sizeof(out), err);
		if (rc == 0 && !ok)
			return security_failed(x, i, out, err);
	}
	return rc;
}

/* The simple ends: halt, finish, record. The lock is held. */
static int
run_state(struct run *x, struct rollout_state *st,
    const struct rollout_action *a, int64_t moved_at, struct merr *err)
{
	struct rollout_action m;

	if (a->act == ROLLOUT_HALT) {
		st->status = ROLLOUT_HALTED;
		set_str(st->halt, sizeof(st->halt), a->why);
	} else if (a->act == ROLLOUT_FINISH) {
		st->status = ROLLOUT_DONE;
		set_str(st->done, sizeof(st->done), st->snapshot);
	} else {
		m = *a;
		m.act = intent_act(st->intent);
		record_move(x->r, st, &m, moved_at);
	}
	return run_save(x, st, err);
}

/* One decision and its action; *next set when it is a wait. */
static int
run_one(struct run *x, bool *again, int64_t *next, struct merr *err)
{
	const struct rollout_ops *o = x->ops;
	struct rollout_state st;
	struct rollout_ids ids;
	struct rollout_input in;
	struct rollout_action a;
	int64_t now;
	int rc;

	*again = false;
	rc = o->lock(o->ctx, err);
	if (rc)
		return rc;
	rc = run_load(x, &st, err);
	if (rc == 0)
		rc = rollout_gather(x->r, &st, &ids, &in, o->resolve,
		    o->channel, o->ctx, err);
	if (rc) {
		o->unlock(o->ctx);
		return rc;
	}
	/* Asked only of a plan that needs it: it reads the fleet's file. */
	if (x->r->require_adoption && o->adoption != NULL &&
	    st.status == ROLLOUT_RUNNING && st.step >= 0 &&
	    (size_t)st.step < x->r->nsteps && o->adoption(o->ctx, x->r,
	    x->r->steps[st.step].channel, st.since, &in.adoption, err))
		in.adoption = -1;
	now = o->now(o->ctx);
	rollout_decide(x->r, &st, &in, now, &a);
	if (a.act == ROLLOUT_CHECK || a.act == ROLLOUT_SECURITY) {
		o->unlock(o->ctx);
		*again = true;
		return a.act == ROLLOUT_CHECK ? run_check(x, &st, &a, err) :
		    run_security(x, &a, err);
	}
	*again = a.act != ROLLOUT_WAIT;
	if (a.act == ROLLOUT_WAIT)
		*next = a.at;
	else if (a.act == ROLLOUT_PROMOTE || a.act == ROLLOUT_PHASE ||
	    a.act == ROLLOUT_ROLLBACK)
		rc = run_move(x, &st, &a, now, err);
	else
		rc = run_state(x, &st, &a, in.intent_moved_at, err);
	o->unlock(o->ctx);
	return rc;
}

int
rollout_run(const struct conf_rollout *r, const struct rollout_ops *ops,
    int64_t *next, struct merr *err)
{
	struct run x;
	bool again = true;
	int n, rc = 0;

	x.r = r;
	x.ops = ops;
	snprintf(x.by, sizeof(x.by), "rollout %s", r->name);
	*next = 0;
	for (n = 0; again && n < RUN_ACTIONS_MAX; n++) {
		rc = run_one(&x, &again, next, err);
		if (rc)
			break;
	}
	/* Stopped short with more to do: straight back. */
	if (rc == 0 && again)
		*next = ops->now(ops->ctx);
	return rc;
}
