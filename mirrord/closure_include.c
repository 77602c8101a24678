/*
 * closure_include.c: partial mirrors: selectors, roots per architecture,
 * the sources of what was selected and their Build-Depends, and
 * closure_include() (closure.h). The resolution itself is closure.c's.
 */
#include "mirrord/common.h"

#include <fnmatch.h>

#include "mirrord/closure.h"
#include "mirrord/closure_int.h"

/* --- selectors ---------------------------------------------------------- */

/* Whether the name of q matches selector sel (checked by cl_sel_check). */
static bool
cl_sel_match(const struct cl_state *st, uint32_t q, const char *sel)
{
	const struct pkg *p = pkgset_pkg(st->ps, q);
	char buf[256];
	const char *s;
	size_t len;

	if (str_startswith(sel, "priority:")) {
		static const char *const lv[] = { "required", "important",
		    "standard" };
		size_t i;

		for (i = 0; i < ARRAY_SIZE(lv); i++)
			if (strcmp(sel + 9, lv[i]) == 0)
				break;
		return p->priority != PRIO_NONE &&
		    p->priority <= PRIO_REQUIRED + i;
	}
	if (str_startswith(sel, "section:")) {
		s = pkgset_field(st->ps, q, PF_SECTION, &len);
		sel += 8;
	} else
		s = pkgset_field(st->ps, q, PF_PACKAGE, &len);
	if (len >= sizeof(buf))
		return false;
	if (len)
		memcpy(buf, s, len);
	buf[len] = '\0';
	if (strpbrk(sel, "*?[") == NULL)
		return strcmp(buf, sel) == 0;
	return fnmatch(sel, buf, 0) == 0;
}

static int
cl_sel_check(const char *sel, struct merr *err)
{
	const char *lv;

	if (*sel == '\0')
		return merr_set(err, MERR_INVAL, "an empty selector");
	if (!str_startswith(sel, "priority:"))
		return 0;
	lv = sel + 9;
	if (strcmp(lv, "required") && strcmp(lv, "important") &&
	    strcmp(lv, "standard"))
		return merr_set(err, MERR_INVAL, "selector '%s': the level is "
		    "required, important or standard", sel);
	return 0;
}

/* Marks the binaries an exclude selector matches. */
static void
cl_exclude(struct cl_state *st, const char *const *ex, size_t nex)
{
	size_t n = pkgset_count(st->ps), i;
	uint32_t q;

	for (q = 0; q < n; q++)
		for (i = 0; i < nex && !st->excluded[q]; i++)
			if (cl_sel_match(st, q, ex[i]))
				st->excluded[q] = CL_EXCLUDED;
}

/* Takes root q (from selector i) and its closure, unless taken. */
static int
cl_root(struct cl_state *st, uint32_t q, size_t i, struct merr *err)
{
	int rc;

	if (st->visit[q] == st->pass)
		return 0;
	if ((rc = closure_take(st, q, CLOSURE_ROOT, (uint32_t)i, err)))
		return rc;
	return closure_run(st, err);
}

/*
 * The roots of this pass, selector by selector as apt takes its command
 * line: the candidate of each name the selector matches (a plain name is
 * looked up, the others scan every name). Counts matches in hits.
 */
static int
cl_roots(struct cl_state *st, const char *const *inc, size_t ninc,
    size_t *hits, struct merr *err)
{
	size_t nn = pkgset_nnames(st->ps), cl = strlen(st->native), i;
	uint32_t name, q;
	bool any;
	int rc;

	for (i = 0; i < ninc; i++) {
		if (strchr(inc[i], ':') == NULL && strpbrk(inc[i], "*?[") ==
		    NULL) {
			name = pkgset_lookup(st->ps, inc[i], strlen(inc[i]));
			q = name == PKG_NONE ? PKG_NONE : closure_candidate(st, name,
			    NULL, st->native, cl, 1, &any);
			if (q == PKG_NONE)
				continue;
			hits[i]++;
			if ((rc = cl_root(st, q, i, err)))
				return rc;
			continue;
		}
		for (name = 0; name < nn; name++) {
			q = closure_candidate(st, name, NULL, st->native, cl, 1, &any);
			if (q == PKG_NONE || !cl_sel_match(st, q, inc[i]))
				continue;
			hits[i]++;
			if ((rc = cl_root(st, q, i, err)))
				return rc;
		}
	}
	return 0;
}

/* --- sources ------------------------------------------------------------ */

/* The Sources paragraph of binary b: same suite and component first. */
static uint32_t
cl_source_of(const struct cl_state *st, uint32_t b)
{
	const struct pkgset_index *bx = pkgset_index(st->ps,
	    pkgset_pkg(st->ps, b)->index);
	size_t sl, vl, cl = strcspn(bx->path, "/");
	const char *sn = pkgset_field(st->ps, b, PF_SOURCE, &sl);
	const char *sv = pkgset_field(st->ps, b, PF_SOURCE_VERSION, &vl);
	uint32_t name = pkgset_lookup(st->ps, sn, sl), q, any = PKG_NONE;

	for (q = pkgset_first(st->ps, name); q != PKG_NONE;
	    q = pkgset_pkg(st->ps, q)->next) {
		const struct pkgset_index *ix = pkgset_index(st->ps,
		    pkgset_pkg(st->ps, q)->index);

		if (ix->kind != INDEX_SOURCES || ix->layer != bx->layer ||
		    !closure_is_source(st, q, sn, sl, sv, vl))
			continue;
		if (strcmp(ix->suite, bx->suite) == 0 &&
		    strncmp(ix->path, bx->path, cl + 1) == 0)
			return q;
		if (any == PKG_NONE)
			any = q;
	}
	return any;
}

/* Selects the source of every selected binary; warns of those missing. */
static void
cl_sources(struct cl_state *st)
{
	size_t n = pkgset_count(st->ps), sl, nl;
	uint32_t b, s;

	for (b = 0; b < n; b++) {
		const struct pkg *p = pkgset_pkg(st->ps, b);
		const char *sn, *nm;

		if (!closure_selected(st, b) || pkgset_index(st->ps,
		    p->index)->kind != INDEX_PACKAGES ||
		    (st->excluded[b] & CL_SRC_DONE))
			continue;
		st->excluded[b] |= CL_SRC_DONE;
		s = cl_source_of(st, b);
		if (s != PKG_NONE) {
			if (!closure_selected(st, s)) {
				st->r->why[s].kind = CLOSURE_SOURCE;
				st->r->why[s].from = b;
			}
			continue;
		}
		sn = pkgset_field(st->ps, b, PF_SOURCE, &sl);
		nm = pkgset_field(st->ps, b, PF_PACKAGE, &nl);
		st->r->warnings = xreallocarray(st->r->warnings,
		    st->r->nwarnings + 1, sizeof(char *));
		st->r->warnings[st->r->nwarnings++] = xasprintf("%.*s: no "
		    "source package '%.*s' of its version", (int)nl, nm,
		    (int)sl, sn);
	}
}

/* Build-Depends of every selected source, for the native arch. */
static int
cl_build_depends(struct cl_state *st, struct merr *err)
{
	size_t n = pkgset_count(st->ps);
	uint32_t s;
	int rc;

	st->pass++;
	st->native = st->o->archs[0];
	for (s = 0; s < n; s++) {
		if (!closure_selected(st, s) || pkgset_index(st->ps,
		    pkgset_pkg(st->ps, s)->index)->kind != INDEX_SOURCES)
			continue;
		if ((rc = closure_take(st, s, st->r->why[s].kind, st->r->why[s].from,
		    err)) || (rc = closure_run(st, err)))
			return rc;
	}
	cl_sources(st);
	return 0;
}

/* --- include ------------------------------------------------------------ */

int
closure_include(const struct pkgset *ps, const struct closure_opts *o,
    const char *const *include, size_t ninclude, const char *const *exclude,
    size_t nexclude, struct closure_result *r, struct merr *err)
{
	struct cl_state st;
	size_t *hits = NULL, i;
	int rc = 0;

	closure_state_init(&st, ps, o, r);
	if (o->narchs == 0) {
		rc = merr_set(err, MERR_INVAL, "no architecture to resolve for");
		goto out;
	}
	for (i = 0; i < ninclude + nexclude; i++)
		if ((rc = cl_sel_check(i < ninclude ? include[i] :
		    exclude[i - ninclude], err)))
			goto out;
	cl_exclude(&st, exclude, nexclude);
	hits = xcalloc(ninclude ? ninclude : 1, sizeof(*hits));
	for (i = 0; i < o->narchs; i++) {
		st.pass++;
		st.native = o->archs[i];
		if ((rc = cl_roots(&st, include, ninclude, hits, err)))
			goto out;
	}
	for (i = 0; i < ninclude; i++)
		if (hits[i] == 0) {
			rc = merr_set(err, MERR_NOTFOUND, "selector '%s' "
			    "matches no package", include[i]);
			goto out;
		}
	if (o->sources)
		cl_sources(&st);
	if (o->build_depends && o->sources)
		rc = cl_build_depends(&st, err);
out:
	free(hits);
	closure_state_release(&st);
	return rc;
}
