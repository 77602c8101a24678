/*
 * t_rollout.c: rollout plans — the Rollout: stanza's parse and errors,
 * the state's stored form, and the runner and its decisions against a
 * fake world (channels, snapshots, a clock, a health check, crashes).
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <limits.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/rollout.h"
#include "tests/unit/helpers.h"
#include "tests/unit/tap.h"

#define H 3600

/* --- the fake world ---------------------------------------------------- */

#define FAKE_CHANS 8
#define FAKE_MOVES 64

struct fake_chan {
	char name[32];
	char target[SNAP_ID_LEN + 1];
	char prev[SNAP_ID_LEN + 1];
	int64_t moved_at;
};

struct fake_move {
	char chan[32];
	char to[SNAP_ID_LEN + 1];
	char by[ROLLOUT_BY_MAX];
	char why[ROLLOUT_LINE_MAX];
	char kind[16];
	unsigned pct;
	int64_t at;
};

struct fake {
	int64_t now;
	char from[SNAP_ID_LEN + 1];	/* "" none */
	char latest[SNAP_ID_LEN + 1];
	char *state;			/* as stored */
	size_t state_len;
	struct fake_chan ch[FAKE_CHANS];
	size_t nch;
	struct fake_move mv[FAKE_MOVES];
	size_t nmv;
	char fail_check[32];		/* this channel's check fails */
	unsigned checks;
	int saves_left;			/* >= 0: then saves fail (a kill) */
	bool kill_before_move;		/* the next move fails (a kill) */
	uint32_t sec_patch;		/* what security patches */
	unsigned sec_calls;
	bool locked;
	int adoption;			/* what the adoption op says */
	unsigned adoption_calls;
};

static int64_t
f_now(void *ctx)
{
	return ((struct fake *)ctx)->now;
}

static int
f_lock(void *ctx, struct merr *err)
{
	struct fake *f = ctx;

	ok(!f->locked, "lock not taken twice");
	f->locked = true;
	return 0;
}

static void
f_unlock(void *ctx)
{
	((struct fake *)ctx)->locked = false;
}

static int
f_load(void *ctx, const struct conf_rollout *r, struct rollout_state *st,
    struct merr *err)
{
	struct fake *f = ctx;

	if (f->state == NULL) {
		rollout_state_init(st);
		return 0;
	}
	return rollout_state_parse(f->state, f->state_len, st, err);
}

static int
f_save(void *ctx, const struct conf_rollout *r,
    const struct rollout_state *st, struct merr *err)
{
	struct fake *f = ctx;

	if (f->saves_left == 0)
		return merr_set(err, MERR_IO, "killed");
	if (f->saves_left > 0)
		f->saves_left--;
	free(f->state);
	f->state = rollout_state_format(st, &f->state_len);
	return 0;
}

static int
f_resolve(void *ctx, const char *mirror, const char *ref,
    char id[SNAP_ID_LEN + 1], struct merr *err)
{
	struct fake *f = ctx;
	const char *v = strcmp(ref, "latest") == 0 ? f->latest : f->from;

	if (strcmp(ref, "latest") == 0 && f->latest[0] == '\0')
		v = f->from;
	if (v[0] == '\0')
		return merr_set(err, MERR_NOTFOUND, "none");
	snprintf(id, SNAP_ID_LEN + 1, "%s", v);
	return 0;
}

static struct fake_chan *
f_chan(struct fake *f, const char *name, bool make)
{
	size_t i;

	for (i = 0; i < f->nch; i++)
		if (strcmp(f->ch[i].name, name) == 0)
			return &f->ch[i];
	if (!make || f->nch == FAKE_CHANS)
		return NULL;
	memset(&f->ch[f->nch], 0, sizeof(f->ch[0]));
	snprintf(f->ch[f->nch].name, sizeof(f->ch[0].name), "%s", name);
	return &f->ch[f->nch++];
}

static int
f_channel(void *ctx, const char *mirror, const char *name,
    char target[SNAP_ID_LEN + 1], int64_t *moved_at, struct merr *err)
{
	struct fake_chan *c = f_chan(ctx, name, false);

	if (c == NULL)
		return merr_set(err, MERR_NOTFOUND, "no channel");
	snprintf(target, SNAP_ID_LEN + 1, "%s", c->target);
	*moved_at = c->moved_at;
	return 0;
}

static int
f_move(struct fake *f, const char *kind, const char *chan, const char *to,
    unsigned pct, const char *by, const char *why, struct merr *err)
{
	struct fake_chan *c = f_chan(f, chan, true);
	struct fake_move *m;

	if (f->kill_before_move) {
		f->kill_before_move = false;
		return merr_set(err, MERR_IO, "killed before the move");
	}
	if (strcmp(kind, "promote") == 0 && strcmp(c->target, to) == 0)
		return merr_set(err, MERR_EXISTS, "already there");
	m = &f->mv[f->nmv++];
	snprintf(m->chan, sizeof(m->chan), "%s", chan);
	snprintf(m->to, sizeof(m->to), "%s", to);
	snprintf(m->by, sizeof(m->by), "%s", by);
	snprintf(m->why, sizeof(m->why), "%s", why);
	snprintf(m->kind, sizeof(m->kind), "%s", kind);
	m->pct = pct;
	m->at = f->now;
	memcpy(c->prev, c->target, sizeof(c->prev));
	snprintf(c->target, sizeof(c->target), "%s", to);
	c->moved_at = f->now;
	return 0;
}

static int
f_promote(void *ctx, const struct conf_rollout *r, const char *channel,
    const char *snapshot, const char *by, const char *why, struct merr *err)
{
	return f_move(ctx, "promote", channel, snapshot, 0, by, why, err);
}

static int
f_rollback(void *ctx, const struct conf_rollout *r, const char *channel,
    const char *by, const char *why, struct merr *err)
{
	struct fake_chan *c = f_chan(ctx, channel, false);
	char prev[SNAP_ID_LEN + 1];

	if (c == NULL || c->prev[0] == '\0')
		return merr_set(err, MERR_NOTFOUND, "nothing to roll back");
	memcpy(prev, c->prev, sizeof(prev));
	return f_move(ctx, "rollback", channel, prev, 0, by, why, err);
}

static int
f_phase(void *ctx, const struct conf_rollout *r, const char *channel,
    const char *snapshot, unsigned pct, const char *by, const char *why,
    struct merr *err)
{
	return f_move(ctx, "phase", channel, snapshot, pct, by, why, err);
}

static int
f_check(void *ctx, const struct conf_rollout *r, const char *channel,
    const char *snapshot, bool *okp, char *out, size_t n, struct merr *err)
{
	struct fake *f = ctx;

	f->checks++;
	*okp = strcmp(f->fail_check, channel) != 0;
	snprintf(out, n, "%s", *okp ? "exit 0" : "exit 1: boom");
	return 0;
}

static int
f_security(void *ctx, const struct conf_rollout *r, const char *latest,
    uint32_t *patched, struct merr *err)
{
	struct fake *f = ctx;
	size_t i;

	f->sec_calls++;
	*patched = f->sec_patch;
	for (i = 0; i < r->nsteps; i++)
		if (f->sec_patch & (UINT32_C(1) << i))
			f_move(f, "patch", r->steps[i].channel, "PATCHED",
			    0, "rollout", "security", err);
	return 0;
}

static int
f_adoption(void *ctx, const struct conf_rollout *r, const char *channel,
    int64_t moved_at, int *pct, struct merr *err)
{
	struct fake *f = ctx;

	f->adoption_calls++;
	*pct = f->adoption;
	return 0;
}

static void
fake_init(struct fake *f, struct rollout_ops *o)
{
	memset(f, 0, sizeof(*f));
	f->now = 1000000;
	f->saves_left = -1;
	memset(o, 0, sizeof(*o));
	o->ctx = f;
	o->now = f_now;
	o->lock = f_lock;
	o->unlock = f_unlock;
	o->load = f_load;
	o->save = f_save;
	o->resolve = f_resolve;
	o->channel = f_channel;
	o->promote = f_promote;
	o->rollback = f_rollback;
	o->phase = f_phase;
	o->check = f_check;
	o->security = f_security;
	o->adoption = f_adoption;
}

static struct rollout_state
fake_state(struct fake *f)
{
	struct rollout_state st;
	struct merr err = { 0 };

	if (f->state == NULL)
		rollout_state_init(&st);
	else if (rollout_state_parse(f->state, f->state_len, &st, &err))
		printf("# state: %s\n", err.msg);
	return st;
}

/* Changes the stored state as the CLI does. */
static void
fake_edit(struct fake *f, void (*fn)(struct rollout_state *))
{
	struct rollout_state st = fake_state(f);

	fn(&st);
	free(f->state);
	f->state = rollout_state_format(&st, &f->state_len);
}

static int64_t
run(const struct conf_rollout *r, const struct rollout_ops *o)
{
	struct merr err = { 0 };
	int64_t next = -1;

	if (rollout_run(r, o, &next, &err))
		printf("# run: %s\n", err.msg);
	return next;
}

/* --- plans ------------------------------------------------------------- */

static struct conf_rollout_step three[] = {
	{ "canary", 4 * H }, { "staging", 24 * H }, { "production", 0 }
};

static struct conf_rollout
plan3(void)
{
	struct conf_rollout r;

	memset(&r, 0, sizeof(r));
	r.name = "weekly";
	r.mirror = "demo";
	r.from = "latest";
	r.steps = three;
	r.nsteps = 3;
	r.check = "/bin/true";
	r.check_timeout = 30;
	return r;
}

/* --- the tests --------------------------------------------------------- */

static void
test_healthy_walk(void)
{
	struct conf_rollout r = plan3();
	struct rollout_ops o;
	struct fake f;
	struct rollout_state st;
	int64_t t0, next;

	fake_init(&f, &o);
	is_int(run(&r, &o), 0, "nothing to roll out: wait for a change");
	is_int(f.nmv, 0, "no snapshot: no move");
	snprintf(f.from, sizeof(f.from), "20261201T000000Z");
	t0 = f.now;
	next = run(&r, &o);
	is_int(f.nmv, 1, "a new snapshot: one move");
	is_str(f.mv[0].chan, "canary", "to the first step");
	is_str(f.mv[0].to, f.from, "the new snapshot");
	is_str(f.mv[0].by, "rollout weekly", "by the rollout");
	ok(strstr(f.mv[0].why, "step 1 of 3") != NULL, "why: %s", f.mv[0].why);
	is_int(next, t0 + 4 * H, "wait the canary's soak exactly");
	f.now = next - 1;
	is_int(run(&r, &o), t0 + 4 * H, "a second early: still waiting");
	is_int(f.nmv, 1, "no move before the soak ends");
	is_int(f.checks, 0, "no check before the soak ends");
	f.now = next;
	next = run(&r, &o);
	is_int(f.checks, 1, "the soak's end runs the check");
	is_int(f.nmv, 2, "then the next move");
	is_str(f.mv[1].chan, "staging", "to staging");
	is_int(f.mv[1].at, t0 + 4 * H, "at the soak's end");
	ok(strstr(f.mv[1].why, "soak 4h of canary done, check passed") !=
	    NULL, "why: %s", f.mv[1].why);
	is_int(next, t0 + 28 * H, "staging's soak: 24h after its move");
	f.now = next;
	next = run(&r, &o);
	is_int(f.nmv, 3, "production reached");
	is_str(f.mv[2].chan, "production", "the last step");
	is_int(next, 0, "done: wait for a new snapshot");
	st = fake_state(&f);
	is_str(rollout_status_name(st.status), "done", "state done");
	is_str(st.done, f.from, "the snapshot is rolled out");
	f.now += 100 * H;
	run(&r, &o);
	is_int(f.nmv, 3, "the same snapshot is not rolled out again");
	free(f.state);
}

/* Require-Adoption: 80%: the next step waits for the fleet. */
static void
test_adoption(void)
{
	struct conf_rollout r = plan3();
	struct rollout_ops o;
	struct fake f;
	int64_t t0, next;

	r.require_adoption = 80;
	fake_init(&f, &o);
	f.adoption = -1;
	snprintf(f.from, sizeof(f.from), "20261201T000000Z");
	t0 = f.now;
	run(&r, &o);
	is_int(f.nmv, 1, "adoption: the first step is promoted");
	f.now = t0 + 4 * H;
	next = run(&r, &o);
	is_int(f.nmv, 1, "adoption unknown: no next step");
	is_int(next, f.now + ROLLOUT_ADOPTION_POLL, "it looks again soon");
	ok(f.adoption_calls > 0, "the fleet was asked");
	f.adoption = 50;
	f.now = next;
	next = run(&r, &o);
	is_int(f.nmv, 1, "50%% adopted of 80%%: still waiting");
	f.adoption = 85;
	f.now = next;
	run(&r, &o);
	is_int(f.nmv, 2, "85%% adopted: staging");
	is_str(f.mv[1].chan, "staging", "the next step");
	/* Without the requirement the fleet is not asked. */
	free(f.state);
	r.require_adoption = 0;
	fake_init(&f, &o);
	snprintf(f.from, sizeof(f.from), "20261201T000000Z");
	run(&r, &o);
	f.now += 4 * H;
	run(&r, &o);
	is_int(f.nmv, 2, "no requirement: the soak's end moves on");
	is_int(f.adoption_calls, 0, "and the fleet is not asked");
	free(f.state);
}

static void
test_failure(bool rollback)
{
	struct conf_rollout r = plan3();
	struct rollout_ops o;
	struct fake f;
	struct rollout_state st;
	int64_t next;
	const char *w = rollback ? "rollback" : "halt";

	r.rollback = rollback;
	fake_init(&f, &o);
	snprintf(f.from, sizeof(f.from), "20261201T000000Z");
	/* Staging had an older target to go back to. */
	snprintf(f_chan(&f, "staging", true)->target, SNAP_ID_LEN + 1,
	    "20261101T000000Z");
	snprintf(f.fail_check, sizeof(f.fail_check), "staging");
	next = run(&r, &o);
	f.now = next;
	next = run(&r, &o);
	f.now = next;
	next = run(&r, &o);
	st = fake_state(&f);
	is_str(rollout_status_name(st.status), "halted", "%s: halted", w);
	ok(strstr(st.halt, "check of staging: exit 1: boom") != NULL,
	    "%s: the reason kept: %s", w, st.halt);
	ok(f_chan(&f, "production", false) == NULL,
	    "%s: production untouched", w);
	is_int(next, 0, "%s: waits for someone", w);
	if (rollback) {
		is_int(f.nmv, 3, "rollback: the failing step moved back");
		is_str(f.mv[2].kind, "rollback", "rollback: a rollback");
		is_str(f_chan(&f, "staging", false)->target,
		    "20261101T000000Z", "rollback: staging's old target");
		ok(strstr(f.mv[2].why, "halted") != NULL,
		    "rollback: why says halted");
	} else {
		is_int(f.nmv, 2, "halt: nothing moved back");
	}
	is_int(f.checks, 2, "%s: canary's check and staging's", w);
	f.now += 1000 * H;
	run(&r, &o);
	is_int(f.checks, 2, "%s: a halted plan stays halted", w);
	is_int(f.nmv, rollback ? 3 : 2, "%s: and moves nothing", w);
	free(f.state);
}

static void
do_pause(struct rollout_state *st)
{
	st->paused = true;
}

static void
do_resume(struct rollout_state *st)
{
	st->paused = false;
}

static void
do_advance(struct rollout_state *st)
{
	snprintf(st->advance_by, sizeof(st->advance_by), "alice@host");
}

static void
test_pause_advance(void)
{
	struct conf_rollout r = plan3();
	struct rollout_ops o;
	struct fake f;
	int64_t t0, next;

	fake_init(&f, &o);
	snprintf(f.from, sizeof(f.from), "20261201T000000Z");
	t0 = f.now;
	run(&r, &o);
	fake_edit(&f, do_pause);
	f.now = t0 + 5 * H;
	is_int(run(&r, &o), 0, "paused: no wake-up planned");
	is_int(f.nmv, 1, "paused: no move after the soak");
	fake_edit(&f, do_resume);
	next = run(&r, &o);
	is_int(f.nmv, 2, "resumed: the move is made");
	is_int(next, t0 + 5 * H + 24 * H, "staging's soak from its move");
	fake_edit(&f, do_advance);
	f.now += 60;
	run(&r, &o);
	is_int(f.nmv, 3, "advance: staging's soak skipped");
	is_str(f.mv[2].by, "alice@host", "advance: by the user");
	ok(strstr(f.mv[2].why, "skipped by alice@host") != NULL,
	    "advance: why: %s", f.mv[2].why);
	free(f.state);
}

static void
test_newer_snapshot(bool supersede)
{
	struct conf_rollout r = plan3();
	struct rollout_ops o;
	struct fake f;
	int64_t next;

	r.supersede = supersede;
	fake_init(&f, &o);
	snprintf(f.from, sizeof(f.from), "20261201T000000Z");
	next = run(&r, &o);
	f.now = next;
	run(&r, &o);	/* staging at S1 */
	snprintf(f.from, sizeof(f.from), "20261202T000000Z");
	f.now += H;
	next = run(&r, &o);
	if (supersede) {
		is_int(f.nmv, 3, "supersede: moved at once");
		is_str(f.mv[2].chan, "canary", "supersede: from step 1");
		is_str(f.mv[2].to, "20261202T000000Z", "supersede: new one");
		is_int(next, f.now + 4 * H, "supersede: canary's soak again");
	} else {
		is_int(f.nmv, 2, "wait: the newer snapshot waits");
		f.now += 24 * H;
		run(&r, &o);
		is_int(f.nmv, 4, "wait: S1 finishes, then S2 starts");
		is_str(f.mv[2].to, "20261201T000000Z",
		    "wait: production gets S1, never mixed");
		is_str(f.mv[3].chan, "canary", "wait: S2 starts at step 1");
		is_str(f.mv[3].to, "20261202T000000Z", "wait: with S2");
	}
	free(f.state);
}

static void
do_stale_intent(struct rollout_state *st)
{
	st->intent = ROLLOUT_INTENT_PROMOTE;
	st->intent_step = 7;
	st->intent_at = 1;
}

static void
test_crash(void)
{
	struct conf_rollout r = plan3();
	struct rollout_ops o;
	struct fake f;
	struct rollout_state st;
	int64_t t0, next;

	/* Killed after the move, before its result was recorded. */
	fake_init(&f, &o);
	snprintf(f.from, sizeof(f.from), "20261201T000000Z");
	t0 = f.now;
	f.saves_left = 1;	/* the intent is saved, the result is not */
	run(&r, &o);
	is_int(f.nmv, 1, "killed after the move: it was made");
	st = fake_state(&f);
	is_str(st.intent == ROLLOUT_INTENT_PROMOTE ? "promote" : "?",
	    "promote", "the intent is what is stored");
	f.saves_left = -1;
	f.now = t0 + 10;	/* restarted 10 s later */
	next = run(&r, &o);
	is_int(f.nmv, 1, "restart: no second move");
	is_int(next, t0 + 4 * H, "restart: soak from the real move");
	st = fake_state(&f);
	is_int(st.step, 0, "restart: step 1 recorded");
	is_int(st.since, t0, "restart: since the move");

	/* Killed after the intent, before the move. */
	f.now = next;
	f.kill_before_move = true;
	run(&r, &o);
	is_int(f.nmv, 1, "killed before the move: none made");
	f.now += 30;
	next = run(&r, &o);
	is_int(f.nmv, 2, "restart: the move is made once");
	is_str(f.mv[1].chan, "staging", "restart: to the right step");
	is_int(next, f.now + 24 * H, "restart: staging's soak from then");
	free(f.state);

	/* An intent for a step a reload took away: forgotten, no move. */
	fake_init(&f, &o);
	snprintf(f.from, sizeof(f.from), "20261201T000000Z");
	run(&r, &o);
	fake_edit(&f, do_stale_intent);
	f.now += 60;
	next = run(&r, &o);
	is_int(f.nmv, 1, "stale intent: no move");
	is_int(next, f.now - 60 + 4 * H, "stale intent: the soak goes on");
	f.now = next;
	run(&r, &o);
	is_int(f.nmv, 2, "stale intent: the next move is made, once");
	is_str(f.mv[1].chan, "staging", "stale intent: the right one");
	st = fake_state(&f);
	ok(st.intent == ROLLOUT_INTENT_NONE && st.step == 1,
	    "stale intent: gone with the next record");
	free(f.state);
}

static struct conf_rollout_step two[] = {
	{ "canary", H }, { "production", 0 }
};

static void
test_phases(bool fail)
{
	struct conf_rollout r = plan3();
	struct rollout_ops o;
	struct fake f;
	struct rollout_state st;
	int64_t next, t1;
	const unsigned want[] = { 10, 25, 50, 100 };
	size_t i;

	r.steps = two;
	r.nsteps = 2;
	r.phases[0] = 10;
	r.phases[1] = 25;
	r.phases[2] = 50;
	r.phases[3] = 100;
	r.nphases = 4;
	r.phase_every = 6 * H;
	fake_init(&f, &o);
	snprintf(f.from, sizeof(f.from), "20261201T000000Z");
	f.now = run(&r, &o);
	next = run(&r, &o);
	is_str(f.mv[1].kind, "phase", "the last step is phased");
	is_int(f.mv[1].pct, 10, "at the first percentage");
	t1 = f.mv[1].at;
	is_int(next, t1 + 6 * H, "raised every 6h");
	if (fail) {
		snprintf(f.fail_check, sizeof(f.fail_check), "production");
		f.now = next;
		run(&r, &o);
		is_int(f.mv[2].pct, 0, "failure: phase 0 (apt holds back)");
		st = fake_state(&f);
		is_str(rollout_status_name(st.status), "halted",
		    "failure: halted");
		ok(strstr(st.halt, "phase set to 0%") != NULL,
		    "failure: why: %s", st.halt);
		/* Resumed and healthy again: back to 10% after the interval. */
		is_int(rollout_control(&st, ROLLOUT_RESUME, "a@h", NULL), 0,
		    "failure: resumed");
		free(f.state);
		f.state = rollout_state_format(&st, &f.state_len);
		f.fail_check[0] = '\0';
		next = run(&r, &o);
		is_int(next, f.now + 6 * H, "resumed: the interval first");
		f.now = next;
		next = run(&r, &o);
		is_int(f.mv[3].pct, 10, "resumed: back to 10%%, not beyond");
		ok(strstr(f.mv[3].why, "phase back to 10%") != NULL,
		    "resumed: why: %s", f.mv[3].why);
		f.now = next;
		run(&r, &o);
		is_int(f.mv[4].pct, 25, "resumed: then raised to 25%%");
		free(f.state);
		return;
	}
	for (i = 1; i < 4; i++) {
		f.now = next;
		next = run(&r, &o);
		is_int(f.mv[i + 1].pct, want[i], "raised to %u%%", want[i]);
		is_int(f.mv[i + 1].at, t1 + (int64_t)i * 6 * H,
		    "on schedule (%zu x 6h)", i);
	}
	is_int(next, 0, "at 100%%: done");
	st = fake_state(&f);
	is_str(rollout_status_name(st.status), "done", "phases: done");
	is_int(f.nmv, 5, "phases: no other move");
	free(f.state);
}

static void
test_security(void)
{
	struct conf_rollout r = plan3();
	struct rollout_ops o;
	struct fake f;
	struct rollout_state st;

	r.security_immediate = true;
	fake_init(&f, &o);
	snprintf(f.from, sizeof(f.from), "20261201T000000Z");
	run(&r, &o);
	is_int(f.sec_calls, 1, "security: latest looked at once");
	f.now += H;
	run(&r, &o);
	is_int(f.sec_calls, 1, "security: the same latest, not again");
	/* A sync brings a fix: staging and production lack it. */
	snprintf(f.from, sizeof(f.from), "20261202T000000Z");
	f.sec_patch = 6;
	f.checks = 0;
	run(&r, &o);
	is_int(f.sec_calls, 2, "security: the new latest looked at");
	is_str(f_chan(&f, "production", false)->target, "PATCHED",
	    "security: production patched at once, no soak");
	is_int(f.checks, 2, "security: each patched step checked");
	is_str(f_chan(&f, "canary", false)->target, "20261202T000000Z",
	    "security: the rollout restarts with the new latest");
	st = fake_state(&f);
	is_str(st.snapshot, "20261202T000000Z", "security: in flight now");
	is_int(st.step, 0, "security: from step 1");
	/* A patch whose check fails halts. */
	snprintf(f.from, sizeof(f.from), "20261203T000000Z");
	snprintf(f.fail_check, sizeof(f.fail_check), "production");
	f.sec_patch = 4;
	run(&r, &o);
	st = fake_state(&f);
	is_str(rollout_status_name(st.status), "halted",
	    "security: a failed check after a patch halts");
	ok(strstr(st.halt, "security patch") != NULL, "security: why: %s",
	    st.halt);
	free(f.state);
}

static void
test_state_text(void)
{
	struct rollout_state a, b;
	struct merr err = { 0 };
	char *text;
	size_t len;

	rollout_state_init(&a);
	a.status = ROLLOUT_HALTED;
	a.step = 2;
	a.since = 1234567890123LL;
	a.paused = true;
	snprintf(a.halt, sizeof(a.halt), "halted: check of x: exit 1");
	snprintf(a.snapshot, sizeof(a.snapshot), "20261201T000000Z");
	text = rollout_state_format(&a, &len);
	is_int(rollout_state_parse(text, len, &b, &err), 0, "state: parses");
	ok(memcmp(&a, &b, sizeof(a)) == 0, "state: round trip");
	free(text);
	text = xstrdup("v 1\nstep 1\nfuture-key whatever\n");
	is_int(rollout_state_parse(text, strlen(text), &b, &err), 0,
	    "state: unknown keys skipped (a newer mirrord's)");
	is_int(b.step, 1, "state: the rest read");
	free(text);
	text = xstrdup("v 99\nstep 1\n");
	is_int(rollout_state_parse(text, strlen(text), &b, &err), MERR_STORE,
	    "state: a newer version is refused");
	ok(strstr(err.msg, "version 99") != NULL, "state: says %s", err.msg);
	free(text);
}

static void
test_control(void)
{
	struct conf_rollout r = plan3();
	struct rollout_ops o;
	struct fake f;
	struct rollout_state st;
	struct merr err = { 0 };
	int64_t next;

	rollout_state_init(&st);
	is_int(rollout_control(&st, ROLLOUT_ADVANCE, "a@h", &err), MERR_INVAL,
	    "control: nothing to advance when idle");
	is_int(rollout_control(&st, ROLLOUT_ABORT, "a@h", &err), MERR_INVAL,
	    "control: nothing to abort when idle");
	is_int(rollout_control(&st, ROLLOUT_RESUME, "a@h", &err), MERR_INVAL,
	    "control: resume of a plan neither paused nor halted");

	/* Halted with a rollback at staging; resumed: staging again. */
	r.rollback = true;
	fake_init(&f, &o);
	snprintf(f.from, sizeof(f.from), "20261201T000000Z");
	snprintf(f_chan(&f, "staging", true)->target, SNAP_ID_LEN + 1,
	    "20261101T000000Z");
	snprintf(f.fail_check, sizeof(f.fail_check), "staging");
	f.now = run(&r, &o);
	f.now = run(&r, &o);
	run(&r, &o);
	st = fake_state(&f);
	ok(st.status == ROLLOUT_HALTED && st.rolled_back,
	    "control: halted after a rollback");
	is_int(rollout_control(&st, ROLLOUT_ADVANCE, "a@h", &err), MERR_INVAL,
	    "control: a halted plan is not advanced");
	ok(strstr(err.msg, "resume") != NULL, "control: says %s", err.msg);
	is_int(rollout_control(&st, ROLLOUT_RESUME, "a@h", &err), 0,
	    "control: resume after a halt");
	free(f.state);
	f.state = rollout_state_format(&st, &f.state_len);
	f.fail_check[0] = '\0';
	f.now += 60;
	next = run(&r, &o);
	is_str(f.mv[f.nmv - 1].chan, "staging",
	    "control: resume promotes the rolled-back step again");
	is_str(f.mv[f.nmv - 1].to, "20261201T000000Z",
	    "control: with the snapshot in flight");
	is_int(next, f.now + 24 * H, "control: and its soak starts again");

	/* Abort: the channels stay, the snapshot is not rolled out again. */
	st = fake_state(&f);
	is_int(rollout_control(&st, ROLLOUT_ABORT, "a@h", &err), 0,
	    "control: abort a running plan");
	free(f.state);
	f.state = rollout_state_format(&st, &f.state_len);
	f.now += 100 * H;
	is_int(run(&r, &o), 0, "control: aborted: nothing planned");
	is_str(f_chan(&f, "staging", false)->target, "20261201T000000Z",
	    "control: abort leaves the channels where they are");
	ok(f_chan(&f, "production", false) == NULL,
	    "control: and moves nothing more");
	free(f.state);
}

/* --- configuration ----------------------------------------------------- */

static char *tmp;

static const char mirror_conf[] =
    "Store: store\n\n"
    "Name: demo\nTypes: deb\nURIs: http://example.org/debian\n"
    "Suites: stable\nComponents: main\nArchitectures: amd64\n"
    "Signed-By: 0123456789ABCDEF0123456789ABCDEF01234567\n\n";

static struct conf *
load_conf(const char *rollout, struct merr *err)
{
	char *path = xasprintf("%s/mirrord.conf", tmp);
	char *text = xasprintf("Trusted-Parts: %s/keys\n%s%s", tmp,
	    mirror_conf, rollout);
	struct conf *c = NULL;

	if (write_file_atomic(path, text, strlen(text), 0644, err) == 0 &&
	    conf_load(path, &c, err) != 0)
		c = NULL;
	free(text);
	free(path);
	return c;
}

static void
conf_bad(const char *what, const char *stanza, unsigned line,
    const char *want)
{
	struct merr err = { 0 };
	struct conf *c = load_conf(stanza, &err);
	char *prefix = xasprintf("'%s/mirrord.conf' line %u: ", tmp, line);

	ok(c == NULL && err.code == MERR_CONF, "conf: %s: refused", what);
	ok(strncmp(err.msg, prefix, strlen(prefix)) == 0 &&
	    strstr(err.msg, want) != NULL, "conf: %s: says where and '%s'",
	    what, want);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0 ||
	    strstr(err.msg, want) == NULL)
		printf("#   message: %s\n", err.msg);
	conf_free(c);
	free(prefix);
}

static void
test_conf(void)
{
	const struct conf_rollout *r;
	struct merr err = { 0 };
	struct conf *c;
	char *p;

	tmp = helpers_tmpdir_new("t_rollout");
	p = xasprintf("%s/keys", tmp);
	mkdir_p(p, 0755, &err);
	free(p);
	p = xasprintf("%s/keys/a.gpg", tmp);
	write_file_atomic(p, "x", 1, 0644, &err);
	free(p);

	c = load_conf("Rollout: weekly\nMirror: demo\n"
	    "Steps: canary 4h, staging 24h, production\n"
	    "Health-Check: http://monitor/ok?c=%c&s=%s\n"
	    "Phases: 10 25 50 100 every 6h\nOn-Failure: rollback\n", &err);
	ok(c != NULL, "conf: a plan loads%s%s", c ? "" : ": ",
	    c ? "" : err.msg);
	r = c ? conf_rollout(c, "weekly") : NULL;
	ok(r != NULL, "conf: found by name");
	if (r != NULL) {
		is_str(r->from, "latest", "conf: From defaults to latest");
		is_int(r->nsteps, 3, "conf: three steps");
		is_str(r->steps[1].channel, "staging", "conf: step 2");
		is_int(r->steps[1].soak, 24 * H, "conf: its soak");
		is_int(r->steps[2].soak, 0, "conf: the last has none");
		ok(r->check_url, "conf: the check is a URL");
		is_int(r->check_timeout, 30, "conf: Health-Timeout 30s");
		is_int(r->nphases, 4, "conf: four phases");
		is_int(r->phase_every, 6 * H, "conf: every 6h");
		ok(r->rollback && !r->supersede && !r->security_immediate,
		    "conf: On-Failure, Supersede, Security (soak default)");
	}
	conf_free(c);
	conf_bad("unknown mirror", "Rollout: w\nMirror: nope\n"
	    "Steps: a 1h, b\n", 12, "no mirror 'nope'");
	conf_bad("duplicate step", "Rollout: w\nMirror: demo\n"
	    "Steps: a 1h, b 2h, a\n", 14, "channel 'a' is a step twice");
	conf_bad("bad soak", "Rollout: w\nMirror: demo\n"
	    "Steps: a 4x, b\n", 14, "invalid soak '4x'");
	conf_bad("soak missing", "Rollout: w\nMirror: demo\n"
	    "Steps: a, b\n", 14, "needs a soak time");
	conf_bad("missing steps", "Rollout: w\nMirror: demo\n", 12,
	    "missing 'Steps'");
	conf_bad("unknown key", "Rollout: w\nMirror: demo\nSteps: a\n"
	    "Colour: red\n", 15, "Colour: unknown key");
	conf_bad("bad phases", "Rollout: w\nMirror: demo\nSteps: a\n"
	    "Phases: 50 25 100 every 1h\n", 15, "must increase");
	conf_bad("bad check", "Rollout: w\nMirror: demo\nSteps: a\n"
	    "Health-Check: /nonexistent/check\n", 15,
	    "is not an executable file");
	conf_bad("shared channel", "Rollout: w\nMirror: demo\nSteps: a\n\n"
	    "Rollout: v\nMirror: demo\nSteps: b 1h, a\n", 16,
	    "channel 'a' is a step of rollout 'w' too");
	conf_bad("duplicate plan", "Rollout: w\nMirror: demo\nSteps: a\n\n"
	    "Rollout: w\nMirror: demo\nSteps: b\n", 16,
	    "rollout 'w': stanza: already defined in");
	conf_bad("From among the steps", "Rollout: w\nMirror: demo\n"
	    "From: a\nSteps: b 1h, a\n", 12, "From: 'a' is also one of its "
	    "steps");
	conf_bad("bad Security", "Rollout: w\nMirror: demo\nSteps: a\n"
	    "Security: later\n", 15, "must be immediate or soak");
	conf_bad("bad timeout", "Rollout: w\nMirror: demo\nSteps: a\n"
	    "Health-Timeout: 0s\n", 15, "invalid duration '0s'");
	helpers_tmpdir_free(tmp);
}

int
main(void)
{
	test_state_text();
	test_healthy_walk();
	test_adoption();
	test_failure(false);
	test_failure(true);
	test_pause_advance();
	test_newer_snapshot(false);
	test_newer_snapshot(true);
	test_crash();
	test_phases(false);
	test_phases(true);
	test_security();
	test_control();
	test_conf();
	return tap_done();
}
