/*
 * rollout.c: `mirrord rollout list|show|pause|resume|advance|abort`
 * (rollout.h). The daemon carries plans out (daemon_rollout.c); these
 * commands read their state and change it under the channel lock, which
 * the daemon holds around each of its decisions, so that neither
 * overwrites the other.
 */
#include "mirrord/common.h"

#include <time.h>
#include <unistd.h>

#include "mirrord/adoption.h"
#include "mirrord/conf.h"
#include "mirrord/fmt.h"
#include "mirrord/log.h"
#include "mirrord/rollout.h"
#include "mirrord/store.h"
#include "cmd/cmd.h"

/* A plan's state and next action, as show and list print them. */
struct view {
	const struct conf_rollout *r;
	struct rollout_state st;
	struct rollout_action a;
	int64_t now;
	/* The current step's fleet (adoption.h), from the server's file. */
	bool have_fleet;
	struct adoption_counts fleet;
};

static const char *
view_step(const struct view *v)
{
	if (v->st.step < 0 || (size_t)v->st.step >= v->r->nsteps)
		return NULL;
	return v->r->steps[v->st.step].channel;
}

/* The next action in words ("check staging", "wait", ...). */
static void
view_next(const struct view *v, char *out, size_t n)
{
	const struct rollout_action *a = &v->a;
	const char *ch = a->step >= 0 && (size_t)a->step < v->r->nsteps ?
	    v->r->steps[a->step].channel : "?";

	switch (a->act) {
	case ROLLOUT_WAIT:
		if (a->at > 0)
			snprintf(out, n, "wait");
		else if (v->st.paused)
			snprintf(out, n, "none: paused");
		else if (v->st.status == ROLLOUT_HALTED)
			snprintf(out, n, "none: halted");
		else
			snprintf(out, n, "none: waiting for a new snapshot "
			    "of %s", v->r->from);
		break;
	case ROLLOUT_PROMOTE:
		snprintf(out, n, "promote %s to %s", ch, a->snapshot);
		break;
	case ROLLOUT_PHASE:
		snprintf(out, n, "phase %s at %u%%", ch, a->pct);
		break;
	case ROLLOUT_CHECK:
		snprintf(out, n, "check %s", ch);
		break;
	case ROLLOUT_ROLLBACK:
		snprintf(out, n, "roll %s back", ch);
		break;
	default:
		snprintf(out, n, "%s", rollout_act_name(a->act));
		break;
	}
}

/* The time of the next action: a wait's end, else now; 0: none. */
static int64_t
view_next_at(const struct view *v)
{
	if (v->a.act == ROLLOUT_WAIT)
		return v->a.at;
	return v->now;
}

static void
print_time(const char *label, int64_t t)
{
	char iso[FMT_TIME_MAX];

	if (t <= 0)
		return;
	fmt_time_iso(t, iso);
	printf("%-12s %s\n", label, iso);
}

static void
json_time(const char *key, int64_t t, bool comma)
{
	char iso[FMT_TIME_MAX];

	printf("\"%s\":", key);
	if (t > 0) {
		fmt_time_iso(t, iso);
		fmt_json_str(stdout, iso);
	} else {
		printf("null");
	}
	if (comma)
		putchar(',');
}

static void
json_kv(const char *key, const char *v, bool comma)
{
	printf("\"%s\":", key);
	fmt_json_str_or_null(stdout, v && v[0] ? v : NULL);
	if (comma)
		putchar(',');
}

static void
show_plan_text(const struct conf_rollout *r)
{
	char dur[FMT_TIME_MAX];
	size_t i;

	printf("%-12s %s\n%-12s %s\n%-12s %s\n", "rollout", r->name,
	    "mirror", r->mirror, "from", r->from);
	printf("%-12s", "steps");
	for (i = 0; i < r->nsteps; i++) {
		printf(" %s", r->steps[i].channel);
		if (r->steps[i].soak > 0) {
			fmt_duration((int64_t)r->steps[i].soak * 1000, dur);
			printf(" %s", dur);
		}
		printf("%s", i + 1 < r->nsteps ? "," : "\n");
	}
	printf("%-12s %s\n", "check", r->check ? r->check : "(none)");
	if (r->nphases > 0) {
		printf("%-12s", "phases");
		for (i = 0; i < r->nphases; i++)
			printf(" %u", r->phases[i]);
		fmt_duration((int64_t)r->phase_every * 1000, dur);
		printf(" every %s\n", dur);
	}
	printf("%-12s %s, on failure %s, supersede %s\n", "security",
	    r->security_immediate ? "immediate" : "soak",
	    r->rollback ? "rollback" : "halt", r->supersede ? "yes" : "no");
}

static void
show_text(const struct view *v)
{
	const struct rollout_state *st = &v->st;
	char next[256];

	show_plan_text(v->r);
	printf("%-12s %s%s\n", "state", rollout_status_name(st->status),
	    st->paused ? " (paused)" : "");
	if (st->snapshot[0])
		printf("%-12s %s\n", "snapshot", st->snapshot);
	if (view_step(v) != NULL)
		printf("%-12s %d of %zu (%s)\n", "step", st->step + 1,
		    v->r->nsteps, view_step(v));
	print_time("since", st->since);
	view_next(v, next, sizeof(next));
	printf("%-12s %s\n", "next", next);
	print_time("next at", view_next_at(v));
	if (st->phasing) {
		printf("%-12s %u%%\n", "phase", st->phase);
		print_time("phase since", st->phase_since);
	}
	if (st->check_at > 0) {
		print_time("last check", st->check_at);
		printf("%-12s %s: %s\n", "check", st->check_ok ? "healthy" :
		    "unhealthy", st->check_out);
	}
	if (st->halt[0])
		printf("%-12s %s\n", "halted", st->halt);
	if (st->advance_by[0])
		printf("%-12s %s\n", "advanced by", st->advance_by);
	if (v->have_fleet)
		printf("%-12s %llu clients; since the step %llu took the new "
		    "indices (%u%%), %llu upgraded\n", "fleet",
		    (unsigned long long)v->fleet.clients,
		    (unsigned long long)v->fleet.indices,
		    adoption_share(&v->fleet),
		    (unsigned long long)v->fleet.upgraded);
}

static void
show_json(const struct view *v)
{
	const struct rollout_state *st = &v->st;
	const struct conf_rollout *r = v->r;
	char next[256];
	size_t i;

	printf("{");
	json_kv("rollout", r->name, true);
	json_kv("mirror", r->mirror, true);
	json_kv("from", r->from, true);
	printf("\"steps\":[");
	for (i = 0; i < r->nsteps; i++) {
		printf("%s{", i ? "," : "");
		json_kv("channel", r->steps[i].channel, true);
		printf("\"soak_seconds\":%ld}", r->steps[i].soak);
	}
	printf("],");
	json_kv("state", rollout_status_name(st->status), true);
	printf("\"paused\":%s,", st->paused ? "true" : "false");
	json_kv("snapshot", st->snapshot, true);
	printf("\"step\":%d,", st->step + 1);
	json_kv("step_channel", view_step(v), true);
	json_time("since", st->since, true);
	view_next(v, next, sizeof(next));
	json_kv("next_action", rollout_act_name(v->a.act), true);
	json_kv("next", next, true);
	json_time("next_at", view_next_at(v), true);
	if (st->phasing)
		printf("\"phase\":%u,", st->phase);
	else
		printf("\"phase\":null,");
	json_time("phase_since", st->phasing ? st->phase_since : 0, true);
	printf("\"last_check\":");
	if (st->check_at > 0) {
		printf("{");
		json_time("time", st->check_at, true);
		printf("\"healthy\":%s,", st->check_ok ? "true" : "false");
		json_kv("output", st->check_out, false);
		printf("},");
	} else {
		printf("null,");
	}
	json_kv("halt_reason", st->halt, true);
	json_kv("advanced_by", st->advance_by, true);
	if (v->have_fleet)
		printf("\"fleet\":{\"clients\":%llu,\"new_indices\":%llu,"
		    "\"upgraded\":%llu}", (unsigned long long)v->fleet.clients,
		    (unsigned long long)v->fleet.indices,
		    (unsigned long long)v->fleet.upgraded);
	else
		printf("\"fleet\":null");
	printf("}");
}

/* The current step's fleet since its move, if the server counted it. */
static void
view_fleet(const struct conf *c, struct view *v)
{
	struct adoption *a;
	char *path;
	struct merr err;

	if (view_step(v) == NULL || v->st.since == 0)
		return;
	a = adoption_new(0);
	path = adoption_file(c->store);
	if (adoption_load(a, path, &err) == 0 && access(path, F_OK) == 0) {
		adoption_counts(a, v->r->mirror, view_step(v), v->st.since,
		    c->fleet_window, v->now, &v->fleet);
		v->have_fleet = true;
	}
	adoption_free(a);
	free(path);
}

/* Reads r's view from t (and its fleet from c's store). */
static int
view_load(struct store_txn *t, const struct conf *c,
    const struct conf_rollout *r, struct view *v, struct merr *err)
{
	int rc;

	memset(v, 0, sizeof(*v));
	v->r = r;
	v->now = (int64_t)time(NULL);
	rc = rollout_peek(t, r, v->now, &v->st, &v->a, err);
	if (rc == 0)
		view_fleet(c, v);
	return rc;
}

static const struct conf_rollout *
find_plan(struct cli *cli, const char *name)
{
	const struct conf_rollout *r = conf_rollout(cli->conf, name);

	if (r == NULL)
		log_error("no rollout '%s' is configured", name);
	return r;
}

int
run_rollout_list(struct cli *cli, const struct args *a)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	struct view v;
	char next[256];
	size_t i;
	int rc;

	if (open_store(cli, false, &s))
		return 1;
	rc = store_txn_begin(s, false, &t, &err);
	if (cli->json && rc == 0)
		putchar('[');
	for (i = 0; rc == 0 && i < cli->conf->nrollouts; i++) {
		rc = view_load(t, cli->conf, &cli->conf->rollouts[i], &v, &err);
		if (rc)
			break;
		if (cli->json) {
			printf("%s", i ? "," : "");
			show_json(&v);
			continue;
		}
		view_next(&v, next, sizeof(next));
		printf("%s\t%s\t%s%s\t%s\t%s\t%s\n", v.r->name, v.r->mirror,
		    rollout_status_name(v.st.status), v.st.paused ?
		    " (paused)" : "", v.st.snapshot[0] ? v.st.snapshot : "-",
		    view_step(&v) ? view_step(&v) : "-", next);
	}
	if (cli->json && rc == 0)
		printf("]\n");
	if (t != NULL)
		store_txn_abort(t);
	store_close(s);
	if (rc)
		log_error("%s", err.msg);
	return rc ? 1 : 0;
}

int
run_rollout_show(struct cli *cli, const struct args *a)
{
	const struct conf_rollout *r = find_plan(cli, a->argv[0]);
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	struct view v;
	int rc;

	if (r == NULL || open_store(cli, false, &s))
		return 1;
	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0)
		rc = view_load(t, cli->conf, r, &v, &err);
	if (t != NULL)
		store_txn_abort(t);
	store_close(s);
	if (rc) {
		log_error("%s", err.msg);
		return 1;
	}
	if (cli->json) {
		show_json(&v);
		putchar('\n');
	} else {
		show_text(&v);
	}
	return 0;
}

/* pause, resume, advance, abort: load, change, save, under the lock. */
static int
rollout_ctl(struct cli *cli, const char *name, enum rollout_ctl ctl,
    const char *done)
{
	const struct conf_rollout *r = find_plan(cli, name);
	struct rollout_state st;
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	char *by;
	int rc;

	if (r == NULL || open_store_channels(cli, "rollout", &s))
		return 1;
	by = who();
	rc = store_txn_begin(s, true, &t, &err);
	if (rc == 0)
		rc = rollout_state_load(t, r->mirror, r->name, &st, &err);
	if (rc == 0)
		rc = rollout_control(&st, ctl, by, &err);
	if (rc == 0)
		rc = rollout_state_save(t, r->mirror, r->name, &st, &err);
	if (rc == 0)
		rc = store_txn_commit(t, &err);
	else if (t != NULL)
		store_txn_abort(t);
	store_close(s);
	free(by);
	if (rc) {
		log_error("rollout '%s': %s", r->name, err.msg);
		return 1;
	}
	printf("rollout %s: %s\n", r->name, done);
	return 0;
}

int
run_rollout_pause(struct cli *cli, const struct args *a)
{
	return rollout_ctl(cli, a->argv[0], ROLLOUT_PAUSE, "paused");
}

int
run_rollout_resume(struct cli *cli, const struct args *a)
{
	return rollout_ctl(cli, a->argv[0], ROLLOUT_RESUME,
	    "resumed");
}

int
run_rollout_advance(struct cli *cli, const struct args *a)
{
	return rollout_ctl(cli, a->argv[0], ROLLOUT_ADVANCE,
	    "advanced: the current soak is skipped");
}

int
run_rollout_abort(struct cli *cli, const struct args *a)
{
	return rollout_ctl(cli, a->argv[0], ROLLOUT_ABORT,
	    "aborted: the channels stay where they are");
}
