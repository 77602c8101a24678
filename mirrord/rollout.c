/*
 * rollout.c: a rollout plan's stored state and its decision function
 * (rollout.h). The runner is rollout_run.c.
 */
#include "mirrord/common.h"

#include <stddef.h>

#include "mirrord/channel.h"
#include "mirrord/fmt.h"
#include "mirrord/rollout.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

/* --- the state as text ------------------------------------------------- */

enum roll_type { RT_INT, RT_I64, RT_BOOL, RT_STR, RT_STATUS, RT_INTENT };

/* One row per stored key: the whole format, both ways. */
static const struct {
	const char *key;
	enum roll_type type;
	size_t off;
	size_t size;	/* RT_STR: the field's room */
} roll_keys[] = {
#define F(k, t, f) { k, t, offsetof(struct rollout_state, f), \
	sizeof(((struct rollout_state *)0)->f) }
	F("status", RT_STATUS, status),
	F("paused", RT_BOOL, paused),
	F("snapshot", RT_STR, snapshot),
	F("step", RT_INT, step),
	F("since", RT_I64, since),
	F("done", RT_STR, done),
	F("advance-by", RT_STR, advance_by),
	F("intent", RT_INTENT, intent),
	F("intent-step", RT_INT, intent_step),
	F("intent-to", RT_STR, intent_to),
	F("intent-pct", RT_INT, intent_pct),
	F("intent-at", RT_I64, intent_at),
	F("intent-why", RT_STR, intent_why),
	F("check-step", RT_INT, check_step),
	F("check-at", RT_I64, check_at),
	F("check-ok", RT_BOOL, check_ok),
	F("check-out", RT_STR, check_out),
	F("phasing", RT_BOOL, phasing),
	F("phase", RT_INT, phase),
	F("phase-idx", RT_INT, phase_idx),
	F("phase-since", RT_I64, phase_since),
	F("halt", RT_STR, halt),
	F("rolled-back", RT_BOOL, rolled_back),
	F("sec-seen", RT_STR, sec_seen),
#undef F
};

static const char *const roll_status_names[] = {
	"idle", "running", "halted", "done", "aborted"
};
static const char *const roll_intent_names[] = {
	"none", "promote", "phase", "rollback"
};
static const char *const roll_act_names[] = {
	"wait", "promote", "phase", "check", "halt", "rollback", "finish",
	"record", "security"
};

const char *
rollout_status_name(enum rollout_status s)
{
	return (size_t)s < ARRAY_SIZE(roll_status_names) ?
	    roll_status_names[s] : "?";
}

const char *
rollout_act_name(enum rollout_act a)
{
	return (size_t)a < ARRAY_SIZE(roll_act_names) ?
	    roll_act_names[a] : "?";
}

void
rollout_state_init(struct rollout_state *st)
{
	memset(st, 0, sizeof(*st));
	st->version = ROLLOUT_STATE_VERSION;
	st->step = -1;
	st->check_step = -1;
}

static int
roll_name_index(const char *const *names, size_t n, const char *v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], v) == 0)
			return (int)i;
	return -1;
}

char *
rollout_state_format(const struct rollout_state *st, size_t *len)
{
	const char *base = (const char *)st, *p;
	struct buf b = BUF_INIT;
	size_t i;

	buf_addf(&b, "v %u\n", (unsigned)ROLLOUT_STATE_VERSION);
	for (i = 0; i < ARRAY_SIZE(roll_keys); i++) {
		p = base + roll_keys[i].off;
		buf_addf(&b, "%s ", roll_keys[i].key);
		switch (roll_keys[i].type) {
		case RT_INT:
			buf_addf(&b, "%d", *(const int *)p);
			break;
		case RT_I64:
			buf_addf(&b, "%lld", (long long)*(const int64_t *)p);
			break;
		case RT_BOOL:
			buf_addf(&b, "%d", *(const bool *)p ? 1 : 0);
			break;
		case RT_STR:
			/* One line each: the setters keep line breaks out. */
			buf_adds(&b, p);
			break;
		case RT_STATUS:
			buf_adds(&b, rollout_status_name(st->status));
			break;
		case RT_INTENT:
			buf_adds(&b, roll_intent_names[st->intent]);
			break;
		}
		buf_addc(&b, '\n');
	}
	return buf_detach(&b, len);
}

/* Sets key k of st from the value v (NUL-terminated); false if bad. */
static bool
roll_set(struct rollout_state *st, size_t k, const char *v)
{
	char *p = (char *)st + roll_keys[k].off, *end;
	long long n;
	int i;

	switch (roll_keys[k].type) {
	case RT_STR:
		snprintf(p, roll_keys[k].size, "%s", v);
		return true;
	case RT_STATUS:
		i = roll_name_index(roll_status_names,
		    ARRAY_SIZE(roll_status_names), v);
		if (i >= 0)
			st->status = (enum rollout_status)i;
		return i >= 0;
	case RT_INTENT:
		i = roll_name_index(roll_intent_names,
		    ARRAY_SIZE(roll_intent_names), v);
		if (i >= 0)
			st->intent = (enum rollout_intent)i;
		return i >= 0;
	default:
		break;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		return false;
	if (roll_keys[k].type == RT_I64)
		*(int64_t *)p = (int64_t)n;
	else if (roll_keys[k].type == RT_BOOL)
		*(bool *)p = n != 0;
	else if (n >= -1 && n <= 1000000)
		*(int *)p = (int)n;
	else
		return false;
	return true;
}

int
rollout_state_parse(const char *text, size_t len, struct rollout_state *st,
    struct merr *err)
{
	const char *p = text, *end = text + len, *nl, *sp;
	char key[32], val[ROLLOUT_LINE_MAX + 32];
	unsigned version = 0;
	size_t k;

	rollout_state_init(st);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (sp != NULL && (size_t)(sp - p) < sizeof(key)) {
			snprintf(key, sizeof(key), "%.*s", (int)(sp - p), p);
			snprintf(val, sizeof(val), "%.*s",
			    (int)(nl - sp - 1), sp + 1);
			if (strcmp(key, "v") == 0) {
				version = (unsigned)strtoul(val, NULL, 10);
			} else {
				for (k = 0; k < ARRAY_SIZE(roll_keys); k++)
					if (strcmp(roll_keys[k].key, key) == 0)
						break;
				/* Unknown keys: a newer mirrord's. */
				if (k < ARRAY_SIZE(roll_keys) &&
				    !roll_set(st, k, val))
					return merr_set(err, MERR_STORE,
					    "rollout state: bad value '%s' "
					    "for '%s'", val, key);
			}
		}
		p = nl + 1;
	}
	if (version == 0 || version > ROLLOUT_STATE_VERSION)
		return merr_set(err, MERR_STORE, "rollout state: version %u, "
		    "this mirrord reads up to %u", version,
		    (unsigned)ROLLOUT_STATE_VERSION);
	st->version = version;
	return 0;
}

/* --- what the CLI asks ------------------------------------------------- */

/* Resume after a halt: the check again, or the rolled-back step again. */
static void
ctl_unhalt(struct rollout_state *st)
{
	st->halt[0] = '\0';
	st->check_step = -1;
	st->check_at = 0;
	st->status = ROLLOUT_RUNNING;
	if (st->rolled_back && st->step <= 0) {
		/* From the first step: with From's snapshot as it is now. */
		st->status = ROLLOUT_IDLE;
		st->done[0] = '\0';
	} else if (st->rolled_back) {
		/* The step before is checked, then the failed one moved. */
		st->step--;
		st->since = 0;
	}
	st->rolled_back = false;
}

int
rollout_control(struct rollout_state *st, enum rollout_ctl ctl,
    const char *by, struct merr *err)
{
	bool running = st->status == ROLLOUT_RUNNING,
	    halted = st->status == ROLLOUT_HALTED;

	switch (ctl) {
	case ROLLOUT_PAUSE:
		st->paused = true;
		return 0;
	case ROLLOUT_RESUME:
		if (!st->paused && !halted)
			return merr_set(err, MERR_INVAL, "neither paused nor "
			    "halted (%s)", rollout_status_name(st->status));
		st->paused = false;
		if (halted)
			ctl_unhalt(st);
		return 0;
	case ROLLOUT_ADVANCE:
		if (!running)
			return merr_set(err, MERR_INVAL, "nothing to advance: "
			    "%s%s", rollout_status_name(st->status), halted ?
			    " (resume runs the check again)" : "");
		snprintf(st->advance_by, sizeof(st->advance_by), "%s", by);
		return 0;
	case ROLLOUT_ABORT:
		if (!running && !halted)
			return merr_set(err, MERR_INVAL, "nothing in flight: "
			    "%s", rollout_status_name(st->status));
		st->status = ROLLOUT_ABORTED;
		memcpy(st->done, st->snapshot, sizeof(st->done));
		st->intent = ROLLOUT_INTENT_NONE;
		st->paused = false;
		st->advance_by[0] = '\0';
		return 0;
	}
	return merr_set(err, MERR_INVAL, "unknown request");
}

/* --- the state in the store -------------------------------------------- */

static char *
roll_meta_name(const char *name)
{
	return xasprintf("rollout.%s", name);
}

int
rollout_state_load(struct store_txn *t, const char *mirror, const char *name,
    struct rollout_state *st, struct merr *err)
{
	char *key = roll_meta_name(name);
	const void *v;
	size_t vlen;
	int rc;

	rc = store_meta_get(t, mirror, key, strlen(key), &v, &vlen, err);
	if (rc == MERR_NOTFOUND) {
		rollout_state_init(st);
		rc = 0;
	} else if (rc == 0) {
		rc = rollout_state_parse(v, vlen, st, err);
		if (rc)
			merr_prefix(err, "rollout '%s': ", name);
	}
	free(key);
	return rc;
}

int
rollout_state_save(struct store_txn *t, const char *mirror, const char *name,
    const struct rollout_state *st, struct merr *err)
{
	char *key = roll_meta_name(name), *text;
	size_t len;
	int rc;

	text = rollout_state_format(st, &len);
	rc = store_meta_put(t, mirror, key, strlen(key), text, len, err);
	free(text);
	free(key);
	return rc;
}

/* --- the decision ------------------------------------------------------ */

/* The why of a move, cut to fit (the channel log keeps a line). */
static void ATTR_PRINTF(2, 3)
act_why(struct rollout_action *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
}

static void
act_wait(struct rollout_action *a, int64_t at)
{
	a->act = ROLLOUT_WAIT;
	a->at = at;
}

/* Move to step k with snap: a phase at the phased last step. */
static void
act_step(const struct conf_rollout *r, int k, const char *snap,
    struct rollout_action *a)
{
	a->step = k;
	snprintf(a->snapshot, sizeof(a->snapshot), "%s", snap);
	if ((size_t)k + 1 == r->nsteps && r->nphases > 0) {
		a->act = ROLLOUT_PHASE;
		a->pct = r->phases[0];
	} else {
		a->act = ROLLOUT_PROMOTE;
	}
}

/* A new rollout of snap from step 0. */
static void
act_start(const struct conf_rollout *r, const char *snap, const char *what,
    struct rollout_action *a)
{
	act_step(r, 0, snap, a);
	act_why(a, "%s %s of %s: step 1 of %zu",
	    what, snap, r->from, r->nsteps);
}

/* The recorded intent: done already (the channel moved since), or redo. */
static void
decide_intent(const struct rollout_state *st, const struct rollout_input *in,
    struct rollout_action *a)
{
	bool moved = in->intent_target != NULL &&
	    in->intent_moved_at >= st->intent_at &&
	    (st->intent != ROLLOUT_INTENT_PROMOTE ||
	    strcmp(in->intent_target, st->intent_to) == 0);

	a->step = st->intent_step;
	a->pct = st->intent_pct;
	a->halt = st->intent == ROLLOUT_INTENT_PHASE && st->intent_pct == 0;
	snprintf(a->snapshot, sizeof(a->snapshot), "%s", st->intent_to);
	act_why(a, "%s", st->intent_why);
	if (moved)
		a->act = ROLLOUT_RECORD;
	else if (st->intent == ROLLOUT_INTENT_PROMOTE)
		a->act = ROLLOUT_PROMOTE;
	else if (st->intent == ROLLOUT_INTENT_PHASE)
		a->act = ROLLOUT_PHASE;
	else
		a->act = ROLLOUT_ROLLBACK;
}

/* A failed check of step i: halt, roll back, or (phasing) phase 0. */
static void
decide_failed(const struct conf_rollout *r, const struct rollout_state *st,
    struct rollout_action *a)
{
	a->step = st->step;
	snprintf(a->snapshot, sizeof(a->snapshot), "%s", st->snapshot);
	if (r->rollback) {
		a->act = ROLLOUT_ROLLBACK;
		act_why(a, "halted, rolled back: check "
		    "of %s: %s", r->steps[st->step].channel, st->check_out);
	} else if (st->phasing) {
		a->act = ROLLOUT_PHASE;
		a->pct = 0;
		a->halt = true;
		act_why(a, "halted, phase set to 0%%: "
		    "check of %s: %s", r->steps[st->step].channel,
		    st->check_out);
	} else {
		a->act = ROLLOUT_HALT;
		act_why(a, "halted: check of %s: %s",
		    r->steps[st->step].channel, st->check_out);
	}
}

/* A running rollout, step reached, no intent pending. */
static void
decide_running(const struct conf_rollout *r, const struct rollout_state *st,
    const struct rollout_input *in, int64_t now, struct rollout_action *a)
{
	size_t i = (size_t)st->step, last = r->nsteps - 1, k;
	int64_t due;
	char dur[FMT_TIME_MAX];
	bool checked;

	if (in->from_id != NULL && strcmp(in->from_id, st->snapshot) != 0 &&
	    r->supersede) {
		act_start(r, in->from_id, "superseding: rollout of", a);
		return;
	}
	if (st->phasing && r->nphases == 0) {
		/* A reload took Phases away: serve the snapshot itself. */
		a->act = ROLLOUT_PHASE;
		a->pct = 100;
		snprintf(a->snapshot, sizeof(a->snapshot), "%s",
		    st->snapshot);
		act_why(a, "phasing removed from the plan");
		return;
	}
	if (st->phasing) {
		if (st->phase != 0 && st->phase_idx + 1 >= r->nphases) {
			a->act = ROLLOUT_FINISH;
			return;
		}
		due = st->advance_by[0] ? st->phase_since :
		    st->phase_since + r->phase_every;
	} else {
		if (i == last && r->steps[i].soak == 0) {
			a->act = ROLLOUT_FINISH;
			return;
		}
		due = st->advance_by[0] ? st->since :
		    st->since + r->steps[i].soak;
	}
	if (now < due) {
		act_wait(a, due);
		return;
	}
	checked = st->check_step == st->step && st->check_at >= due;
	if (r->check != NULL && !checked) {
		a->act = ROLLOUT_CHECK;
		a->step = st->step;
		snprintf(a->snapshot, sizeof(a->snapshot), "%s",
		    st->snapshot);
		return;
	}
	if (r->check != NULL && !st->check_ok) {
		decide_failed(r, st, a);
		return;
	}
	if (st->phasing) {
		/* At 0 (resumed after a failure): back to where it was. */
		k = st->phase == 0 ? st->phase_idx : st->phase_idx + 1;
		a->act = ROLLOUT_PHASE;
		a->step = st->step;
		a->pct = r->phases[k < r->nphases ? k : r->nphases - 1];
		snprintf(a->snapshot, sizeof(a->snapshot), "%s",
		    st->snapshot);
		act_why(a, "phase %s %u%%%s", st->phase == 0 ? "back to" :
		    "raised to", a->pct, r->check ? ": check passed" : "");
		return;
	}
	if (i == last) {
		a->act = ROLLOUT_FINISH;
		return;
	}
	/* The fleet must have taken this step before the next (not when
	 * someone advances by hand). */
	if (r->require_adoption && !st->advance_by[0] &&
	    in->adoption < (int)r->require_adoption) {
		act_wait(a, now + ROLLOUT_ADOPTION_POLL);
		if (in->adoption < 0)
			act_why(a, "waiting for %s's fleet: adoption not "
			    "known yet (%u%% required)", r->steps[i].channel,
			    r->require_adoption);
		else
			act_why(a, "waiting for %s's fleet: %d%% adopted, "
			    "%u%% required", r->steps[i].channel,
			    in->adoption, r->require_adoption);
		return;
	}
	act_step(r, (int)i + 1, st->snapshot, a);
	fmt_duration((int64_t)r->steps[i].soak * 1000, dur);
	if (st->advance_by[0])
		act_why(a, "soak of %s skipped by %s%s",
		    r->steps[i].channel, st->advance_by, r->check ?
		    ", check passed" : "");
	else
		act_why(a, "soak %s of %s done%s", dur,
		    r->steps[i].channel, r->check ? ", check passed" : "");
}

void
rollout_decide(const struct conf_rollout *r, const struct rollout_state *st,
    const struct rollout_input *in, int64_t now, struct rollout_action *a)
{
	memset(a, 0, sizeof(*a));
	a->at = now;
	a->step = st->step;
	/* An intent for a step a reload took away is forgotten. */
	if (st->intent != ROLLOUT_INTENT_NONE && st->intent_step >= 0 &&
	    (size_t)st->intent_step < r->nsteps) {
		decide_intent(st, in, a);
		return;
	}
	if (st->paused) {
		act_wait(a, 0);
		return;
	}
	if (r->security_immediate && in->latest_id != NULL &&
	    strcmp(in->latest_id, st->sec_seen) != 0) {
		a->act = ROLLOUT_SECURITY;
		snprintf(a->snapshot, sizeof(a->snapshot), "%s",
		    in->latest_id);
		return;
	}
	switch (st->status) {
	case ROLLOUT_RUNNING:
		if (st->step >= 0 && (size_t)st->step < r->nsteps) {
			decide_running(r, st, in, now, a);
			return;
		}
		/* The plan lost steps in a reload: start over. */
		break;
	case ROLLOUT_HALTED:
		act_wait(a, 0);
		return;
	default:
		break;
	}
	if (in->from_id != NULL && strcmp(in->from_id, st->done) != 0)
		act_start(r, in->from_id, "rollout of", a);
	else
		act_wait(a, 0);
}

/* --- reading the store for a decision ---------------------------------- */

int
rollout_resolve(struct store_txn *t, const char *mirror, const char *ref,
    char id[SNAP_ID_LEN + 1], struct merr *err)
{
	struct snap sn;
	struct channel ch;
	int rc;

	memset(&sn, 0, sizeof(sn));
	memset(&ch, 0, sizeof(ch));
	rc = channel_resolve(t, mirror, ref, &sn, &ch, err);
	if (rc == 0)
		snprintf(id, SNAP_ID_LEN + 1, "%s", sn.id);
	snap_release(&sn);
	channel_free(&ch);
	return rc;
}

int
rollout_channel(struct store_txn *t, const char *mirror, const char *name,
    char target[SNAP_ID_LEN + 1], int64_t *moved_at, struct merr *err)
{
	struct channel ch;
	int rc;

	memset(&ch, 0, sizeof(ch));
	rc = channel_get(t, mirror, name, &ch, err);
	if (rc == 0) {
		snprintf(target, SNAP_ID_LEN + 1, "%s", ch.target);
		*moved_at = ch.moved_at;
	}
	channel_free(&ch);
	return rc;
}

int
rollout_gather(const struct conf_rollout *r, const struct rollout_state *st,
    struct rollout_ids *ids, struct rollout_input *in,
    rollout_resolve_fn *resolve, rollout_channel_fn *chan, void *ctx,
    struct merr *err)
{
	int rc;

	memset(in, 0, sizeof(*in));
	in->adoption = -1;
	rc = resolve(ctx, r->mirror, r->from, ids->from, err);
	if (rc == 0)
		in->from_id = ids->from;
	else if (rc != MERR_NOTFOUND)
		return rc;
	if (r->security_immediate) {
		rc = resolve(ctx, r->mirror, "latest", ids->latest, err);
		if (rc == 0)
			in->latest_id = ids->latest;
		else if (rc != MERR_NOTFOUND)
			return rc;
	}
	if (st->intent != ROLLOUT_INTENT_NONE && st->intent_step >= 0 &&
	    (size_t)st->intent_step < r->nsteps) {
		rc = chan(ctx, r->mirror, r->steps[st->intent_step].channel,
		    ids->target, &in->intent_moved_at, err);
		if (rc == 0)
			in->intent_target = ids->target;
		else if (rc != MERR_NOTFOUND)
			return rc;
	}
	return 0;
}

static int
peek_resolve(void *ctx, const char *mirror, const char *ref, char *id,
    struct merr *err)
{
	return rollout_resolve(ctx, mirror, ref, id, err);
}

static int
peek_channel(void *ctx, const char *mirror, const char *name, char *target,
    int64_t *moved_at, struct merr *err)
{
	return rollout_channel(ctx, mirror, name, target, moved_at, err);
}

int
rollout_peek(struct store_txn *t, const struct conf_rollout *r, int64_t now,
    struct rollout_state *st, struct rollout_action *a, struct merr *err)
{
	struct rollout_ids ids;
	struct rollout_input in;
	int rc;

	rc = rollout_state_load(t, r->mirror, r->name, st, err);
	if (rc == 0)
		rc = rollout_gather(r, st, &ids, &in, peek_resolve,
		    peek_channel, t, err);
	if (rc == 0)
		rollout_decide(r, st, &in, now, a);
	return rc;
}
