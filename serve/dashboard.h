/*
 * dashboard.h: the release manager's view of a mirror and its channels
 * (issue 16): what the pages show beside a listing (private to serve/).
 *
 * route.c fills a listing from what the URL names; these add, for a
 * channel's page, its target (and phase), its rollout plans, its fleet
 * adoption, its last moves and its diff against latest; and, for a
 * mirror's page, a summary row per channel. pages.c renders them.
 *
 * Each section is gathered on its own: one that cannot be read (a store
 * error, an index that does not parse) is left "unknown" in the listing
 * and logged, and the page is still served. Nothing here fails.
 *
 * Cost: a short read transaction of the store; for a channel page, a
 * diff of two snapshots' Packages indices (diff.h: indices with equal
 * hashes are not read); for a mirror page, each channel's exposure
 * through the metrics' cache (metrics_listing_exposure).
 *
 * Threads: any server thread; the calling thread must hold no store
 * transaction. The listing belongs to the request.
 */
#ifndef SERVE_DASHBOARD_H
#define SERVE_DASHBOARD_H

#include "mirrord/common.h"
#include "mirrord/adoption.h"
#include "mirrord/conf.h"
#include "mirrord/store.h"
#include "serve/listing.h"
#include "serve/metrics.h"
#include "serve/route.h"

/* What the dashboard reads; all borrowed. */
struct dashboard_src {
	const struct conf *conf;	/* the plans, Fleet-Window: */
	struct store *store;
	struct adoption *adoption;	/* NULL: adoption not counted */
	struct metrics *m;		/* the exposure cache */
	int64_t now;
};

/*
 * If ref of mirror is a channel, fills l->dash (l is a LISTING_REF);
 * else leaves l as it is.
 */
void dashboard_channel(const struct dashboard_src *src, const char *mirror,
    const char *ref, struct listing *l);

/*
 * Fills the summary of each channel of l->mirrors[0] (a LISTING_MIRROR):
 * pending security fixes, phase, rollouts, adoption.
 */
void dashboard_mirror(const struct dashboard_src *src, struct listing *l);

/*
 * For the server: the channel's view if l is the REF listing of a
 * channel, the summary if it is a MIRROR listing, else nothing; at the
 * time now. c is the request's configuration (server_conf_get).
 */
void dashboard_fill(struct store *s, struct adoption *a, struct metrics *m,
    const struct conf *c, const struct route *r, struct listing *l);

#endif
