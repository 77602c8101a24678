/*
 * status_exposure.c: the pending security fixes of each channel in the
 * status report (status.h's status_collect_exposure). Apart from
 * status.c because it loads indices, which the rest of the report never
 * does: its cost is the channels' distinct targets, not one transaction.
 */
#include "mirrord/common.h"

#include "mirrord/exposure.h"
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
