/*
 * closure.h: the dependency closure of composed snapshots, on a pkgset
 * (pkgset.h): which packages a partial mirror holds (closure_include),
 * and what patching sources from a ref into a base gives
 * (closure_patch). Pure computation: no I/O.
 *
 * Both resolve as `apt-get install --no-install-recommends` does on an
 * empty system, with these rules (checked against apt on the real
 * bookworm metadata: tests/e2e/t0800-closure-bookworm.sh):
 *
 *   - Pre-Depends then Depends (then Recommends with opts.recommends) of
 *     each selected package, depth first, in field order, as apt's
 *     MarkInstall recurses;
 *   - the candidate of a name is its highest version (dpkg order) among
 *     the packages of the architecture (or "all"); a dependency
 *     "a (>= 2)" is satisfied by the candidate if it satisfies, else by
 *     the highest version that does, else by a provider;
 *   - a provider counts only as its own name's candidate, and satisfies a
 *     versioned dependency only with a versioned Provides that does
 *     (dpkg's rule); among several: one already selected, else an
 *     Essential one, else the one with the highest Priority, else the
 *     first loaded (apt's CompareProviders, but that apt breaks the last
 *     tie by its cache's order);
 *   - "a | b": nothing is added if an alternative is satisfied by a
 *     package already selected; else the first satisfiable alternative;
 *   - architectures: opts.archs[0] is the native one, the others foreign
 *     (as dpkg --add-architecture); each is resolved in turn as the
 *     native one. An unqualified dependency is satisfied by a package of
 *     the depending package's architecture (an "all" package counts as
 *     the native one), by "all", or by a Multi-Arch: foreign package of
 *     another of opts.archs; "x:any" by a Multi-Arch: allowed x of any of
 *     them; "x:native" by the native one; "x:ARCH" by that one;
 *   - Essential: yes packages are not added unless selected or needed
 *     (apt considers them installed; "priority:required" selects them).
 *
 * Work lists are explicit (no recursion), every package is expanded at
 * most once per architecture: cycles and Provides loops end, and time is
 * linear in the fields read.
 *
 * Threads: the pkgset is only read; separate calls may run in parallel.
 */
#ifndef MIRRORD_CLOSURE_H
#define MIRRORD_CLOSURE_H

#include "mirrord/common.h"
#include "mirrord/pkgset.h"

struct closure_opts {
	const char *const *archs;	/* [0] native; at least one */
	size_t narchs;
	bool recommends;	/* follow Recommends too */
	bool sources;		/* select each selected binary's source */
	bool build_depends;	/* and the closure of their Build-Depends */
	bool unsatisfied_warn;	/* a warning, not an error, per failure */
	/* For closure_patch's messages: "latest", "production". */
	const char *ref_name, *base_name;
};

/* Why a package is in the result. */
enum closure_reason {
	CLOSURE_NO = 0,		/* not selected */
	CLOSURE_ROOT,		/* from: the include selector that matched */
	CLOSURE_NAMED,		/* from: the index of the source named */
	CLOSURE_NEEDED,		/* from: the package id that needed it */
	CLOSURE_SOURCE,		/* from: a binary id this is the source of */
	CLOSURE_BASE		/* patch: kept from the base */
};

struct closure_why {
	uint8_t kind;		/* enum closure_reason */
	uint32_t from;
};

/*
 * The result: why[id] for each package id of the set (n of them; kind
 * CLOSURE_NO: not selected), and warnings (lines, no newline). Owned by
 * the caller: closure_result_release() frees all of it.
 */
struct closure_result {
	struct closure_why *why;
	size_t n;
	char **warnings;
	size_t nwarnings;
};

void closure_result_release(struct closure_result *r);

/*
 * Partial mirror: the closure of the packages that include selectors
 * (ninclude of them) match, minus those exclude selectors match. A
 * selector is a binary package name, a shell glob of names (fnmatch),
 * "priority:LEVEL" (required, important or standard: that level and the
 * higher ones, as debootstrap selects) or "section:GLOB". It selects the
 * candidate of each name it matches, per architecture. Excluded
 * packages are neither roots nor picked to satisfy a dependency.
 * Fills *r (release it even on error). Errors:
 *   MERR_NOTFOUND  a selector that matches nothing ("selector 'ngnix'
 *                  matches no package"), or, without
 *                  opts.unsatisfied_warn, a dependency nothing in the set
 *                  satisfies: "nginx -> libnginx-mod-http-geoip2 ->
 *                  libmaxminddb0 (>= 1.3): not in bookworm main amd64"
 *                  (the chain from the root, then the suites, components
 *                  and architecture that were searched; a chain of more
 *                  than 8 shows its two ends around "... (N more) ->", a
 *                  group its first alternatives then "... (N
 *                  alternatives)", names are cut at 100 bytes: the
 *                  message always ends with what was searched);
 *   MERR_INVAL     a bad selector ("priority:sometimes", an empty one),
 *                  no architecture in opts;
 *   MERR_PARSE     a malformed dependency field of a package reached.
 */
int closure_include(const struct pkgset *ps, const struct closure_opts *o,
    const char *const *include, size_t ninclude, const char *const *exclude,
    size_t nexclude, struct closure_result *r, struct merr *err);

/*
 * Patch: layer 0 of ps is the base, layer 1 the ref. The result is the
 * base's packages (CLOSURE_BASE), but that for each source named (n),
 * every base binary and Sources paragraph of it is replaced by the ref's
 * of its newest source version there (all architectures, new binary
 * names included; CLOSURE_NAMED); then each dependency of a newly taken
 * package that the result does not satisfy is satisfied from the ref,
 * whose source is then taken in the same way (CLOSURE_NEEDED),
 * transitively. Fills *r (release it even on error). Errors:
 *   MERR_INVAL     a source the ref has no newer than the base ("'openssl':
 *                  latest has no newer version than production's
 *                  3.0.2-0ubuntu1.14", with opts ref_name, base_name);
 *   MERR_NOTFOUND  a source the ref does not have, or a dependency neither
 *                  the result nor the ref satisfies (the chain, as above);
 *   MERR_PARSE     as above.
 */
int closure_patch(const struct pkgset *ps, const struct closure_opts *o,
    const char *const *sources, size_t n, struct closure_result *r,
    struct merr *err);

#endif
