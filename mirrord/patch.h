/*
 * patch.h: `mirrord patch` — a channel's target with some source
 * packages taken from a newer ref, as a new (composed) snapshot.
 *
 * The result is the target's packages, except that each patched source
 * has every binary (all architectures, new binary names too) and its
 * Sources paragraph from the ref, each in the suite the ref has it in,
 * plus what those need that the target cannot satisfy, pulled from the
 * ref with its whole source (closure_patch). The sources are named, or,
 * with security, every source whose version in the ref's security suites
 * (Security-Suites:, else the suites named *-security) is newer than the
 * target's. Suites with no change keep the target's files, upstream's
 * signature included; the others are written and signed by mirrord.
 * Pool files are the same blobs: nothing is fetched or copied.
 *
 * Two steps, so that a dry run writes nothing and the commit happens
 * under the store's writer lock: patch_plan (reads the store; unless a
 * dry run, stores the new index and Release blobs, unreferenced until
 * the commit) and patch_commit (the caller holds the writer lock).
 * Moving the channel is the caller's (channel_promote), after the commit.
 *
 * Errors are negative MERR_* codes with err set. A struct patch_plan is
 * the caller's (patch_plan_release), one thread at a time.
 */
#ifndef MIRRORD_PATCH_H
#define MIRRORD_PATCH_H

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/gpg.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

struct patch_opts {
	const struct conf_mirror *m;
	const char *channel;		/* the channel patched */
	const char *from;		/* the ref the fixes come from */
	const char *const *sources;	/* source package names */
	size_t nsources;
	bool security;			/* and every pending security fix */
	bool dry_run;			/* plan only: store nothing */
};

/* One binary (or source: arch "source") package the patch changes. */
struct patch_change {
	char *name;
	char *arch;
	char *old_version;	/* NULL: a package the target lacks */
	char *new_version;	/* NULL: one the patched source dropped */
	char *suite;		/* where the new version is */
	char *why;		/* "named", "needed by X", "security" */
};

struct patch_plan {
	char base[SNAP_ID_LEN + 1];	/* the channel's target */
	char from[SNAP_ID_LEN + 1];	/* the ref's snapshot */
	char **sources;			/* the sources patched, sorted */
	size_t nsources;
	struct patch_change *changes;	/* by name, then arch */
	size_t nchanges;
	struct snap result;		/* unless a dry run: to commit */
	bool have_result;
};

/*
 * Plans the patch into *p (zeroed by the caller; release it whatever
 * the outcome) and, unless o->dry_run, writes the result's index and
 * Release blobs (signed with g) into p->result, kind SNAP_PATCH with its
 * recipe. Errors: MERR_NOTFOUND for an unknown channel or ref, a source
 * the ref lacks, or a dependency nothing satisfies (the chain);
 * MERR_INVAL for a source the ref has no newer than the target, or
 * nothing to patch (no sources, or --security with none pending); the
 * store's, the indices' and the signer's.
 */
int patch_plan(struct store *s, struct gpg_signer *g,
    const struct patch_opts *o, struct patch_plan *p, struct merr *err);

/*
 * Commits p->result as the mirror's next snapshot: the barrier, the pool
 * difference against the newest snapshot (compose_delta), snap_commit.
 * The caller holds the store's writer lock. p->result.id gets the ID.
 */
int patch_commit(struct store *s, const char *mirror, struct patch_plan *p,
    struct merr *err);

void patch_plan_release(struct patch_plan *p);

/*
 * Is suite one of m's security suites: Security-Suites:, else a name
 * ending in "-security"?
 */
bool patch_security_suite(const struct conf_mirror *m, const char *suite);

struct pkgset;

/*
 * A pending security fix: a source whose newest version in a security
 * suite of layer 1 is newer than its newest in layer 0 (any suite). The
 * strings point into the set (not NUL-terminated): valid while it lives.
 */
struct patch_pending {
	const char *name, *installed, *fixed;
	size_t nl, il, fl;
	const char *suite;	/* the fixed version's (the first loaded) */
};
typedef void (*patch_pending_fn)(void *ctx, const struct patch_pending *p);

/*
 * Calls fn for each pending fix of ps (layer 0: the base; layer 1: the
 * ref, of which only m's security suites count), by source name (byte
 * order). A source layer 0 lacks is a new package, not a pending fix.
 * What `patch --security` patches and `exposure` reports.
 */
void patch_pending_each(const struct pkgset *ps, const struct conf_mirror *m,
    patch_pending_fn fn, void *ctx);

#endif
