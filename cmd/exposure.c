/*
 * exposure.c: `mirrord exposure MIRROR REF [--json] [--fail-pending]` —
 * the security fixes latest has and REF (a channel, mostly) lacks, each
 * with the time it first appeared in a snapshot (exposure.h).
 */
#include "mirrord/common.h"

#include <time.h>

#include "cmd/cmd.h"
#include "mirrord/exposure.h"
#include "mirrord/fmt.h"
#include "mirrord/log.h"
#include "mirrord/store.h"

/* "5 days", "3 hours", "1 minute": an age for people, in its largest unit. */
static void
age_words(int64_t secs, char *out, size_t n)
{
	static const struct {
		int64_t secs;
		const char *unit;
	} units[] = { { 86400, "day" }, { 3600, "hour" }, { 60, "minute" } };
	size_t i;
	int64_t v = 0;

	if (secs < 0)
		secs = 0;
	for (i = 0; i < ARRAY_SIZE(units) - 1; i++)
		if (secs >= units[i].secs)
			break;
	v = secs / units[i].secs;
	snprintf(out, n, "%lld %s%s", (long long)v, units[i].unit,
	    v == 1 ? "" : "s");
}

/* "2026-12-01T06:00Z": the minute is what a person compares. */
static void
since_minute(int64_t t, char out[FMT_TIME_MAX])
{
	char iso[FMT_TIME_MAX];
	size_t n;

	fmt_time_iso(t, iso);
	n = strlen(iso);
	/* "YYYY-MM-DDTHH:MM:SSZ" loses ":SS". */
	if (n == 20)
		snprintf(out, FMT_TIME_MAX, "%.16sZ", iso);
	else
		snprintf(out, FMT_TIME_MAX, "%s", iso);
}

/* Fills w with the widest source, installed, fixed and suite of e. */
static void
widths(const struct exposure *e, int w[4])
{
	size_t i, k;

	memset(w, 0, 4 * sizeof(*w));
	for (i = 0; i < e->n; i++) {
		const struct exposure_item *it = &e->items[i];
		const char *f[4] = { it->source, it->installed, it->fixed,
		    it->suite };

		for (k = 0; k < 4; k++)
			if ((int)strlen(f[k]) > w[k])
				w[k] = (int)strlen(f[k]);
	}
}

static void
print_text(const struct exposure *e, int64_t now)
{
	char when[FMT_TIME_MAX], age[32];
	int w[4];
	size_t i, j;

	widths(e, w);
	for (i = 0; i < e->n; i++) {
		const struct exposure_item *it = &e->items[i];

		since_minute(it->since, when);
		printf("  %-*s  %-*s -> %-*s  %-*s  pending since %s", w[0],
		    it->source, w[1], it->installed, w[2], it->fixed, w[3],
		    it->suite, when);
		for (j = 0; j < it->ncves; j++)
			printf("%s%s", j ? ", " : "  ", it->cves[j]);
		if (it->urgency)
			printf(" (%s)", it->urgency);
		for (j = 0; j < it->nadvisories; j++)
			printf(" %s", it->advisories[j]);
		printf("\n");
	}
	if (e->n == 0) {
		printf("  no security update pending\n");
		return;
	}
	age_words(now - e->oldest, age, sizeof(age));
	printf("  %zu security update%s pending, oldest %s\n", e->n,
	    e->n == 1 ? "" : "s", age);
}

static void
print_strv(char *const *v, size_t n)
{
	size_t i;

	putchar('[');
	for (i = 0; i < n; i++) {
		if (i)
			putchar(',');
		fmt_json_str(stdout, v[i]);
	}
	putchar(']');
}

static void
print_json(const char *mirror, const char *ref, const struct exposure *e,
    int64_t now)
{
	char when[FMT_TIME_MAX];
	size_t i;

	printf("{\"mirror\":");
	fmt_json_str(stdout, mirror);
	printf(",\"ref\":");
	fmt_json_str(stdout, ref);
	printf(",\"target\":\"%s\",\"latest\":\"%s\",\"items\":[", e->target,
	    e->latest);
	for (i = 0; i < e->n; i++) {
		const struct exposure_item *it = &e->items[i];

		fmt_time_iso(it->since, when);
		printf("%s{\"source\":", i ? "," : "");
		fmt_json_str(stdout, it->source);
		printf(",\"installed\":");
		fmt_json_str(stdout, it->installed);
		printf(",\"fixed\":");
		fmt_json_str(stdout, it->fixed);
		printf(",\"suite\":");
		fmt_json_str(stdout, it->suite);
		printf(",\"since\":\"%s\",\"since_snapshot\":\"%s\","
		    "\"cves\":", when, it->since_id);
		print_strv(it->cves, it->ncves);
		printf(",\"advisories\":");
		print_strv(it->advisories, it->nadvisories);
		printf(",\"urgency\":");
		fmt_json_str_or_null(stdout, it->urgency);
		printf("}");
	}
	printf("],\"pending\":%zu,\"oldest_seconds\":%lld,\"warnings\":",
	    e->n, e->n ? (long long)(now - e->oldest) : 0ll);
	print_strv(e->warnings, e->nwarnings);
	printf("}\n");
}

int
run_exposure(struct cli *cli, const struct args *a)
{
	struct exposure_opts o = { 0 };
	const struct conf_mirror *m;
	struct exposure e;
	struct store *s = NULL;
	struct merr err = { 0 };
	int64_t now = (int64_t)time(NULL);
	size_t i;
	int rc;

	if (check_mirror(cli, a->argv[0]))
		return 1;
	m = conf_mirror(cli->conf, a->argv[0]);
	if (open_store(cli, false, &s))
		return 1;
	o.conf = cli->conf;
	rc = exposure_compute(s, m, a->argv[1], &o, &e, &err);
	if (rc) {
		log_mirror_error(m->name, &err);
	} else {
		for (i = 0; i < e.nwarnings; i++)
			log_warn("%s", e.warnings[i]);
		if (cli->json)
			print_json(m->name, a->argv[1], &e, now);
		else
			print_text(&e, now);
	}
	/* A report, not a check, unless asked to gate on it. */
	if (rc == 0 && a->nval[0] > 0 && e.n > 0)
		rc = 1;
	exposure_release(&e);
	store_close(s);
	return rc ? 1 : 0;
}
