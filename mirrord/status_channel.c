/*
 * status_channel.c: what the status report says of a channel beyond its
 * target: its pending security fixes (status_collect_exposure) and how
 * much of its fleet took its last move (status_collect_adoption). Apart
 * from status.c because they read more than one transaction: indices
 * (its cost is the channels' distinct targets) and the server's saved
 * adoption tables.
 */
#include "mirrord/common.h"

#include "mirrord/adoption.h"
#include "mirrord/exposure.h"
#include "mirrord/fmt.h"
#include "mirrord/status.h"

/* One mirror's channels: computed once per distinct target. */
static void
status_mirror_exposure(struct store *s, struct status_mirror *m)
{
	size_t i, j;

	for (i = 0; i < m->nchannels; i++) {
		struct status_channel *c = &m->channels[i];
		struct merr err = { 0 };
		struct exposure e;

		/* A channel before it with the same target: the same answer. */
		for (j = 0; j < i; j++)
			if (strcmp(m->channels[j].target, c->target) == 0)
				break;
		if (j < i) {
			const struct status_channel *same = &m->channels[j];

			c->have_exposure = same->have_exposure;
			c->security_pending = same->security_pending;
			c->security_oldest = same->security_oldest;
			if (same->exposure_error)
				c->exposure_error =
				    xstrdup(same->exposure_error);
			continue;
		}
		/* By target, not by name: the report's target stays the
		 * one it printed if the channel moves meanwhile. */
		if (exposure_compute(s, m->conf, c->target, NULL, &e,
		    &err) == 0) {
			c->have_exposure = true;
			c->security_pending = e.n;
			c->security_oldest = e.oldest;
		} else {
			c->exposure_error = xstrdup(err.msg);
		}
		exposure_release(&e);
	}
}

void
status_collect_exposure(struct store *s, struct status_report *r)
{
	size_t i;

	for (i = 0; i < r->nmirrors; i++)
		if (r->mirrors[i].conf != NULL)
			status_mirror_exposure(s, &r->mirrors[i]);
}

void
status_collect_adoption(const struct conf *conf, struct status_report *r)
{
	struct adoption *a = adoption_new(0);
	char *path = adoption_file(conf->store);
	struct merr err;
	size_t i, j;

	/* A server that never ran, or a file it could not write: none. */
	if (adoption_load(a, path, &err) == 0)
		for (i = 0; i < r->nmirrors; i++) {
			struct status_mirror *m = &r->mirrors[i];

			for (j = 0; j < m->nchannels; j++) {
				struct status_channel *c = &m->channels[j];
				struct adoption_counts n;

				adoption_counts(a, m->conf->name, c->name,
				    c->moved_at, conf->fleet_window, r->now,
				    &n);
				c->have_fleet = true;
				c->fleet_clients = n.clients;
				c->fleet_indices = n.indices;
				c->fleet_upgraded = n.upgraded;
			}
		}
	adoption_free(a);
	free(path);
}

/* Under a channel's line: its pending security fixes, if computed. */
static void
status_print_exposure(FILE *f, const struct status_channel *c, int64_t now)
{
	char rel[32];

	if (c->exposure_error)
		fprintf(f, "  %-14s  security: unknown (%s)\n", "",
		    c->exposure_error);
	if (!c->have_exposure)
		return;
	if (c->security_pending == 0) {
		fprintf(f, "  %-14s  security: no update pending\n", "");
		return;
	}
	fmt_rel(c->security_oldest - now, rel, sizeof(rel));
	fprintf(f, "  %-14s  security: %zu update%s pending, oldest "
	    "%s\n", "", c->security_pending,
	    c->security_pending == 1 ? "" : "s", rel);
}

/* A channel's exposure fields: null when not computed. */
static void
status_json_exposure(FILE *f, const struct status_channel *c, int64_t now)
{
	if (!c->have_exposure) {
		fputs(",\"security_pending\":null,"
		    "\"security_oldest_pending_seconds\":null", f);
		if (c->exposure_error) {
			fputs(",\"security_error\":", f);
			fmt_json_str(f, c->exposure_error);
		}
		return;
	}
	fprintf(f, ",\"security_pending\":%zu,"
	    "\"security_oldest_pending_seconds\":%lld", c->security_pending,
	    c->security_pending ? (long long)(now - c->security_oldest) : 0ll);
}

/* Under a channel's line: its fleet, if counted. */
static void
status_print_fleet(FILE *f, const struct status_channel *c)
{
	if (!c->have_fleet || c->fleet_clients + c->fleet_indices == 0)
		return;
	fprintf(f, "  %-14s  fleet: %llu client%s; since the move %llu "
	    "took the new indices, %llu upgraded\n", "",
	    (unsigned long long)c->fleet_clients,
	    c->fleet_clients == 1 ? "" : "s",
	    (unsigned long long)c->fleet_indices,
	    (unsigned long long)c->fleet_upgraded);
}

void
status_print_channel_extra(FILE *f, const struct status_channel *c,
    int64_t now)
{
	status_print_exposure(f, c, now);
	status_print_fleet(f, c);
}

void
status_json_channel_extra(FILE *f, const struct status_channel *c,
    int64_t now)
{
	status_json_exposure(f, c, now);
	if (!c->have_fleet) {
		fputs(",\"fleet\":null", f);
		return;
	}
	fprintf(f, ",\"fleet\":{\"clients\":%llu,\"new_indices\":%llu,"
	    "\"upgraded\":%llu}", (unsigned long long)c->fleet_clients,
	    (unsigned long long)c->fleet_indices,
	    (unsigned long long)c->fleet_upgraded);
}
