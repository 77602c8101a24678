/*
 * status_replica.c: what `status` says of a replica (status.h): its
 * primary, the state applied and its lag, as /metrics does.
 */
#include "mirrord/common.h"

#include <stdio.h>

#include "mirrord/fmt.h"
#include "mirrord/status.h"

void
status_print_replica(FILE *f, const struct status_report *r)
{
	const struct replica_state *st = &r->replica;
	char when[FMT_TIME_MAX], rel[32];
	int64_t lag;

	if (r->replica_of == NULL || r->replica_of[0] == '\0')
		return;
	fprintf(f, "\nreplica of %s\n", r->replica_of);
	if (st->generation[0] == '\0') {
		fprintf(f, "  %-14snothing yet\n", "applied:");
		fprintf(f, "  %-14sunknown (never caught up)\n", "lag:");
		return;
	}
	fmt_time_utc(st->time, when);
	fprintf(f, "  %-14sgeneration %.12s, the primary's state of %s\n",
	    "applied:", st->generation, when);
	fmt_time_utc(st->last_success, when);
	fmt_rel(st->last_success - r->now, rel, sizeof(rel));
	fprintf(f, "  %-14s%s (%s)\n", "last success:", when, rel);
	lag = replica_lag(st, r->now);
	fprintf(f, "  %-14s%llds\n", "lag:", (long long)lag);
}

void
status_json_replica(FILE *f, const struct status_report *r)
{
	const struct replica_state *st = &r->replica;

	if (r->replica_of == NULL || r->replica_of[0] == '\0')
		return;
	fputs(",\"replica\":{\"primary\":", f);
	fmt_json_str(f, r->replica_of);
	fputs(",\"generation\":", f);
	fmt_json_str_or_null(f, st->generation[0] ? st->generation : NULL);
	if (st->generation[0] == '\0') {
		fputs(",\"time\":null,\"last_success\":null,"
		    "\"lag_seconds\":null}", f);
		return;
	}
	fprintf(f, ",\"time\":%lld,\"last_success\":%lld,\"lag_seconds\":%lld}",
	    (long long)st->time, (long long)st->last_success,
	    (long long)replica_lag(st, r->now));
}
