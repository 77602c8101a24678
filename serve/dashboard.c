/*
 * dashboard.c: gathers the release manager's view of a channel and the
 * summary of a mirror's channels (see dashboard.h). Each section is read
 * on its own and marked known only when it was; errors are logged here,
 * once, and the page goes on.
 */
#include "mirrord/common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mirrord/channel.h"
#include "mirrord/confval.h"
#include "mirrord/diff.h"
#include "mirrord/log.h"
#include "mirrord/phase.h"
#include "mirrord/rollout.h"
#include "mirrord/snap.h"
#include "serve/dashboard.h"

/* The moves a channel page shows, newest first. */
#define DASH_MOVES 10

/* The next action of a plan, in words ("check staging at 25%"...). */
static char *
next_words(const struct conf_rollout *r, const struct rollout_state *st,
    const struct rollout_action *a)
{
	const char *ch = a->step >= 0 && (size_t)a->step < r->nsteps ?
	    r->steps[a->step].channel : "";

	if (a->act == ROLLOUT_WAIT && a->at == 0)
		return xstrdup(st->paused ? "none: paused" :
		    st->status == ROLLOUT_HALTED ? "none: halted" :
		    "none: waiting for a new snapshot");
	if (a->act == ROLLOUT_WAIT)
		return st->phasing ?
		    xasprintf("%s's phase is raised", ch) :
		    xasprintf("%s's soak ends", ch);
	if (a->act == ROLLOUT_PHASE)
		return xasprintf("phase %s at %u%%", ch, a->pct);
	if (a->act == ROLLOUT_PROMOTE)
		return xasprintf("promote %s to %s", ch, a->snapshot);
	return xasprintf("%s %s", rollout_act_name(a->act), ch);
}

/* The step of r on channel, or -1. */
static int
plan_step(const struct conf_rollout *r, const char *mirror,
    const char *channel)
{
	size_t i;

	if (strcmp(r->mirror, mirror) != 0)
		return -1;
	for (i = 0; i < r->nsteps; i++)
		if (strcmp(r->steps[i].channel, channel) == 0)
			return (int)i;
	return -1;
}

/*
 * The plans with a step on channel of mirror, peeked in t, into *out
 * (owned, *n of them). A plan that cannot be read fails the section.
 */
static int
rollouts_of(const struct dashboard_src *src, struct store_txn *t,
    const char *mirror, const char *channel, struct listing_rollout **out,
    size_t *n, struct merr *err)
{
	const struct conf *c = src->conf;
	size_t i;
	int rc = 0;

	*out = NULL;
	*n = 0;
	for (i = 0; i < c->nrollouts && rc == 0; i++) {
		const struct conf_rollout *r = &c->rollouts[i];
		int step = plan_step(r, mirror, channel);
		struct rollout_state st;
		struct rollout_action a;
		struct listing_rollout *lr;

		if (step < 0)
			continue;
		rc = rollout_peek(t, r, src->now, &st, &a, err);
		if (rc)
			break;
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		lr = &(*out)[(*n)++];
		memset(lr, 0, sizeof(*lr));
		lr->name = xstrdup(r->name);
		lr->status = xstrdup(rollout_status_name(st.status));
		lr->paused = st.paused;
		lr->step = st.step;
		lr->nsteps = r->nsteps;
		lr->this_step = step;
		lr->snapshot = xstrdup(st.snapshot);
		lr->next = next_words(r, &st, &a);
		lr->next_at = a.act == ROLLOUT_WAIT ? a.at : src->now;
		lr->check_at = st.check_at;
		lr->check_ok = st.check_ok;
		lr->check_out = xstrdup(st.check_out);
		lr->halt = xstrdup(st.halt);
		lr->phasing = st.phasing;
		lr->phase = st.phase;
	}
	if (rc) {
		listing_rollouts_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static void
adoption_of(const struct dashboard_src *src, const char *mirror,
    const char *channel, int64_t moved_at, struct listing_adoption *out)
{
	struct adoption_counts n;

	memset(out, 0, sizeof(*out));
	if (src->adoption == NULL)
		return;
	adoption_counts(src->adoption, mirror, channel, moved_at,
	    src->conf->fleet_window, src->now, &n);
	out->known = true;
	out->clients = n.clients;
	out->indices = n.indices;
	out->upgraded = n.upgraded;
}

/* The channel's log, its last DASH_MOVES entries newest first. */
static void
moves_of(struct store_txn *t, const char *mirror, const char *channel,
    struct listing_dash *d)
{
	struct channel_log *lg;
	struct merr err;
	size_t n, i;

	if (channel_log_get(t, mirror, channel, &lg, &n, &err)) {
		log_warn("page of channel '%s': %s", channel, err.msg);
		return;
	}
	d->moves = xcalloc(DASH_MOVES, sizeof(*d->moves));
	for (i = n; i-- > 0 && d->nmoves < DASH_MOVES; ) {
		struct listing_move *mv = &d->moves[d->nmoves++];

		mv->time = lg[i].time;
		mv->action = xstrdup(lg[i].action ? lg[i].action : "");
		mv->from = xstrdup(lg[i].from);
		mv->to = xstrdup(lg[i].to);
		mv->by = xstrdup(lg[i].by ? lg[i].by : "");
		mv->message = xstrdup(lg[i].message ? lg[i].message : "");
	}
	d->moves_known = true;
	channel_log_release(lg, n);
}

static const char *const diff_kind_word[] = {
	[DIFF_ADDED] = "added", [DIFF_REMOVED] = "removed",
	[DIFF_UPGRADED] = "upgraded", [DIFF_DOWNGRADED] = "downgraded",
};

/*
 * The diffs the pages computed, by (mirror, target, latest): snapshots
 * never change, so an answer holds as long as the pair does, and a view
 * costs a lookup rather than parsing the indices that differ. A few
 * pairs (the channels a release manager looks at); what they hold stays
 * reachable to the end.
 */
#define DASH_DIFFS 16

static struct dash_diff {
	char key[CONFVAL_NAME_MAX + 2 * SNAP_ID_LEN + 3];
	struct listing_diff d;
} dash_diffs[DASH_DIFFS];
static unsigned dash_diffs_next;
static pthread_mutex_t dash_diffs_lock = PTHREAD_MUTEX_INITIALIZER;

static void
diff_copy(struct listing_diff *dst, const struct listing_diff *src)
{
	size_t i;

	*dst = *src;
	dst->latest = xstrdup(src->latest);
	dst->lines = xcalloc(LISTING_DIFF_LINES + 1, sizeof(*dst->lines));
	for (i = 0; i < src->nlines; i++)
		dst->lines[i] = xstrdup(src->lines[i]);
}

/* The cached diff of key into ld; false if none. */
static bool
diff_cached(const char *key, struct listing_diff *ld)
{
	bool hit = false;
	size_t i;

	pthread_mutex_lock(&dash_diffs_lock);
	for (i = 0; i < DASH_DIFFS && !hit; i++)
		if (strcmp(dash_diffs[i].key, key) == 0) {
			diff_copy(ld, &dash_diffs[i].d);
			hit = true;
		}
	pthread_mutex_unlock(&dash_diffs_lock);
	return hit;
}

static void
diff_keep(const char *key, const struct listing_diff *ld)
{
	struct dash_diff *e;

	pthread_mutex_lock(&dash_diffs_lock);
	e = &dash_diffs[dash_diffs_next++ % DASH_DIFFS];
	free(e->d.latest);
	strv_free(e->d.lines, e->d.nlines);
	snprintf(e->key, sizeof(e->key), "%s", key);
	diff_copy(&e->d, ld);
	pthread_mutex_unlock(&dash_diffs_lock);
}

/* What latest has that target lacks, and the other way round. */
static void
diff_of(struct store *s, const char *mirror, const struct snap *target,
    const struct snap *latest, struct listing_diff *ld)
{
	char key[sizeof(dash_diffs[0].key)];
	struct diff_entry *v;
	struct merr err;
	size_t n, i;

	snprintf(key, sizeof(key), "%s %s %s", mirror, target->id,
	    latest->id);
	if (diff_cached(key, ld))
		return;
	ld->latest = xstrdup(latest->id);
	if (diff_snapshots(s, target, latest, &v, &n, &err)) {
		log_warn("page: diff of %s and latest: %s", target->id,
		    err.msg);
		return;
	}
	ld->known = true;
	ld->same = n == 0;
	ld->lines = xcalloc(LISTING_DIFF_LINES, sizeof(*ld->lines));
	for (i = 0; i < n; i++) {
		const struct diff_entry *e = &v[i];

		ld->added += e->kind == DIFF_ADDED;
		ld->removed += e->kind == DIFF_REMOVED;
		ld->upgraded += e->kind == DIFF_UPGRADED;
		ld->downgraded += e->kind == DIFF_DOWNGRADED;
		if (ld->nlines == LISTING_DIFF_LINES)
			continue;
		ld->lines[ld->nlines++] = xasprintf("%s %s %s/%s %s -> %s",
		    diff_kind_word[e->kind], e->suite, e->package, e->arch,
		    e->old_version ? e->old_version : "-",
		    e->new_version ? e->new_version : "-");
	}
	diff_free(v, n);
	diff_keep(key, ld);
}

/* The target, its kind and phase, and latest, from t. */
static int
target_of(struct store_txn *t, const char *mirror, struct listing_dash *d,
    struct snap *sn, struct snap *latest, struct merr *err)
{
	char base[SNAP_ID_LEN + 1];
	int rc;

	rc = snap_load(t, mirror, d->target, sn, err);
	if (rc)
		return rc;
	free(d->kind);
	d->kind = xstrdup(snap_kind_name(sn->kind));
	d->phase_pct = phase_percent(sn);
	if (sn->kind == SNAP_PHASE && phase_base(sn, base))
		d->phase_of = xstrdup(base);
	return snap_load(t, mirror, "latest", latest, err);
}

void
dashboard_channel(const struct dashboard_src *src, const char *mirror,
    const char *ref, struct listing *l)
{
	struct listing_dash *d = &l->dash;
	struct snap sn, latest;
	struct store_txn *t;
	struct channel ch;
	struct merr err;
	bool have_snaps;

	if (store_txn_begin(src->store, false, &t, &err)) {
		log_warn("page of '%s': %s", ref, err.msg);
		return;
	}
	memset(&ch, 0, sizeof(ch));
	if (channel_get(t, mirror, ref, &ch, &err)) {
		store_txn_abort(t);	/* not a channel, or unreadable */
		return;
	}
	d->is_channel = true;
	d->channel = xstrdup(ch.name);
	d->target = xstrdup(ch.target);
	d->kind = xstrdup("");
	d->phase_pct = -1;
	d->moved_at = ch.moved_at;
	d->moved_by = xstrdup(ch.moved_by ? ch.moved_by : "");
	memset(&sn, 0, sizeof(sn));
	memset(&latest, 0, sizeof(latest));
	have_snaps = target_of(t, mirror, d, &sn, &latest, &err) == 0;
	if (!have_snaps)
		log_warn("page of channel '%s': %s", ch.name, err.msg);
	if (rollouts_of(src, t, mirror, ch.name, &d->rollouts, &d->nrollouts,
	    &err) == 0)
		d->rollouts_known = true;
	else
		log_warn("page of channel '%s': %s", ch.name, err.msg);
	moves_of(t, mirror, ch.name, d);
	store_txn_abort(t);
	adoption_of(src, mirror, ch.name, ch.moved_at, &d->adoption);
	if (have_snaps)
		diff_of(src->store, mirror, &sn, &latest, &d->diff);
	snap_release(&sn);
	snap_release(&latest);
	channel_free(&ch);
}

/* The summary of one channel lc of mirror. */
static void
summary_of(const struct dashboard_src *src, struct store_txn *t,
    const char *mirror, struct listing_channel *lc)
{
	struct merr err;
	struct snap sn;

	lc->have_summary = true;
	lc->pending = -1;
	lc->phase = -1;
	if (snap_load(t, mirror, lc->target, &sn, &err) == 0) {
		lc->phase = phase_percent(&sn);
		snap_release(&sn);
	}
	if (rollouts_of(src, t, mirror, lc->name, &lc->rollouts,
	    &lc->nrollouts, &err) == 0)
		lc->rollouts_known = true;
	else
		log_warn("page of mirror '%s': %s", mirror, err.msg);
	adoption_of(src, mirror, lc->name, lc->moved_at, &lc->adoption);
}

void
dashboard_mirror(const struct dashboard_src *src, struct listing *l)
{
	struct listing_mirror *m;
	struct store_txn *t;
	struct merr err;
	size_t i;

	if (l->nmirrors == 0)
		return;
	m = &l->mirrors[0];
	if (store_txn_begin(src->store, false, &t, &err)) {
		log_warn("page of mirror '%s': %s", m->name, err.msg);
		return;
	}
	for (i = 0; i < m->nchans; i++)
		summary_of(src, t, m->name, &m->chans[i]);
	store_txn_abort(t);
	/* The exposure, as /metrics counts it (its own transactions). */
	for (i = 0; i < m->nchans; i++) {
		struct listing x;

		listing_init(&x, LISTING_REF, "");
		x.snapshot = xstrdup(m->chans[i].target);
		metrics_listing_exposure(src->m, src->conf, src->store,
		    m->name, &x);
		if (x.have_exposure)
			m->chans[i].pending = (long)x.npending;
		listing_release(&x);
	}
}

void
dashboard_fill(struct store *s, struct adoption *a, struct metrics *m,
    const struct conf *c, const struct route *r, struct listing *l)
{
	struct dashboard_src src = { c, s, a, m, (int64_t)time(NULL) };

	if (l->kind == LISTING_REF && r->ref != NULL &&
	    route_ref_kind(r->ref) == REF_NAME)
		dashboard_channel(&src, r->mirror, r->ref, l);
	else if (l->kind == LISTING_MIRROR)
		dashboard_mirror(&src, l);
}
