/*
 * exposure.h: what a channel (or any ref) lacks of the security fixes
 * the mirror's latest snapshot has — `mirrord exposure`, `status`,
 * /metrics and the channel pages.
 *
 * A source package is pending when its newest version in latest's
 * security suites (patch_security_suite(): Security-Suites:, Security:
 * yes, else the suites named *-security) is newer than the ref's newest
 * version of it in any suite (dpkg's order). A source the ref lacks
 * altogether is a new package, not a pending fix. "Pending since" is when
 * that fixed version first appeared in a security suite of a snapshot of
 * this mirror: the time of the oldest sync (or partial) snapshot, walking
 * back from latest through the history without a gap, that has it (or a
 * newer one) — from the snapshot history, never the wall clock.
 *
 * Advisory data (advisory.h), when given, adds CVE IDs, urgency and the
 * advisory IDs to each item. A feed that cannot be loaded never hides
 * the exposure computed from the archive: it becomes a warning naming
 * the file and field, and the items are computed without it.
 *
 * A struct exposure is the caller's (exposure_release); nothing here is
 * shared, so any thread may compute one with its own store transaction.
 */
#ifndef MIRRORD_EXPOSURE_H
#define MIRRORD_EXPOSURE_H

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

struct exposure_item {
	char *source;
	char *installed;	/* the ref's newest version */
	char *fixed;		/* latest's newest in a security suite */
	char *suite;		/* that suite */
	int64_t since;		/* unix time: first snapshot with it */
	char since_id[SNAP_ID_LEN + 1];	/* that snapshot */
	/* From the advisory feeds; empty without them. */
	char **cves;		/* sorted, unique */
	size_t ncves;
	char **advisories;	/* USN-…, DSA-…: sorted, unique */
	size_t nadvisories;
	char *urgency;		/* the highest the feeds give, or NULL */
};

struct exposure {
	char target[SNAP_ID_LEN + 1];	/* the ref's snapshot */
	char latest[SNAP_ID_LEN + 1];	/* compared with */
	struct exposure_item *items;	/* by source name */
	size_t n;
	int64_t oldest;		/* the oldest since; 0 when n is 0 */
	char **warnings;	/* feeds that could not be used, and why */
	size_t nwarnings;
	/*
	 * What the "pending since" walk cost: the snapshots whose security
	 * indices it loaded (a snapshot with the same ones as the last
	 * loaded is not loaded again), and those it looked at.
	 */
	size_t history_loads;
	size_t history_seen;
};

struct exposure_opts {
	/*
	 * The configuration whose Security-Tracker: and Security-OSV: are
	 * read (feedpath.h: a path, or the daemon's copy of a URL) and
	 * joined into the items (exposure_join_feeds); NULL: no feeds.
	 */
	const struct conf *conf;
};

/*
 * Joins m's advisory feeds into e's items: for each item, what the
 * feeds say its fixed version closes that its installed one lacks
 * (advisory_find), the release named as latest's Release files name the
 * item's suite (Codename: without "-security" for the tracker, "Ubuntu:"
 * and Version: for OSV). A feed that cannot be found or read adds a
 * warning to e, naming it; the items stay as computed.
 */
void exposure_join_feeds(struct store *s, const struct conf *c,
    const struct conf_mirror *m, const struct snap *latest,
    struct exposure *e);

/*
 * Computes the exposure of ref (a channel, snapshot ID, timestamp or
 * "latest") of mirror m into *out (zeroed here; exposure_release it
 * whatever the result). o may be NULL (no feeds). Errors: MERR_NOTFOUND
 * (no such ref, or one of no valid shape: "mirror 'M': no channel or
 * snapshot 'REF'"; or the mirror has no snapshot), the store's,
 * MERR_PARSE for an index of the store that does not parse (the message
 * names it).
 *
 * Cost: the ref's indices (all suites) and latest's security suites, in
 * memory at once; then, one snapshot at a time, the security suites of
 * the snapshots the "pending since" walk reaches (none past the point
 * where every item is dated; none for a snapshot whose security indices
 * are those of the last one loaded, latest's to begin with).
 * patch_pending_each (patch.h) decides what is pending, as for
 * `patch --security`.
 */
int exposure_compute(struct store *s, const struct conf_mirror *m,
    const char *ref, const struct exposure_opts *o, struct exposure *out,
    struct merr *err);

void exposure_release(struct exposure *e);

#endif
