/*
 * status_content.c: what `status` says of a Download: on-demand mirror:
 * its newest snapshot's pool files referenced vs stored (content.h) and
 * the on-demand fetch counters (odstats.h). Apart from status.c so that
 * each stays a size one reads whole.
 */
#include "mirrord/common.h"

#include "mirrord/fmt.h"
#include "mirrord/status.h"

void
status_collect_content(struct store_txn *t, const struct conf_mirror *m,
    struct status_mirror *sm)
{
	struct merr err = { 0 };

	sm->have_content = true;
	/* A record this mirrord cannot read: zeros, not a failed report. */
	(void)odstats_get(t, m->name, &sm->od, &err);
}

void
status_print_content(FILE *f, const struct status_mirror *m, int64_t now)
{
	const struct odstats *od = &m->od;
	char when[FMT_TIME_MAX], rel[32];

	fprintf(f, "  %-14s%llu of %llu pool files, %.1f of %.1f MiB (on "
	    "demand)\n", "content:",
	    (unsigned long long)m->content.stored_files,
	    (unsigned long long)m->content.files,
	    (double)m->content.stored_bytes / 1048576.0,
	    (double)m->content.bytes / 1048576.0);
	fprintf(f, "  %-14s%llu files, %.1f MiB; %llu failed; %llu ms "
	    "average\n", "fetched:", (unsigned long long)od->fetches,
	    (double)od->bytes / 1048576.0,
	    (unsigned long long)od->failures, (unsigned long long)(od->fetches ?
	    od->latency_ms / od->fetches : 0));
	if (od->last_failure == 0)
		return;
	fmt_time_utc(od->last_failure, when);
	fmt_rel(od->last_failure - now, rel, sizeof(rel));
	fprintf(f, "  %-14s%s (%s): %s\n", "last failure:", when, rel,
	    od->last_text);
}

void
status_json_content(FILE *f, const struct status_mirror *m)
{
	const struct odstats *od = &m->od;

	/* Only then: the keys of other mirrors are unchanged (t0440). */
	if (!m->have_content)
		return;
	fputs(",\"download\":\"on-demand\",\"content\":", f);
	fprintf(f, "{\"pool_files\":%llu,\"pool_bytes\":%llu,"
	    "\"stored_files\":%llu,\"stored_bytes\":%llu,\"fetches\":%llu,"
	    "\"fetched_bytes\":%llu,\"failures\":%llu,\"latency_ms\":%llu,"
	    "\"last_failure\":", (unsigned long long)m->content.files,
	    (unsigned long long)m->content.bytes,
	    (unsigned long long)m->content.stored_files,
	    (unsigned long long)m->content.stored_bytes,
	    (unsigned long long)od->fetches, (unsigned long long)od->bytes,
	    (unsigned long long)od->failures,
	    (unsigned long long)od->latency_ms);
	if (od->last_failure == 0) {
		fputs("null}", f);
		return;
	}
	fprintf(f, "{\"time\":%lld,\"text\":", (long long)od->last_failure);
	fmt_json_str(f, od->last_text);
	fputs("}}", f);
}

