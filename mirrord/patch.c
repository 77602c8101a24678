/*
 * patch.c: `mirrord patch` (patch.h): the plan, the blobs, the commit.
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/channel.h"
#include "mirrord/closure.h"
#include "mirrord/compose.h"
#include "mirrord/log.h"
#include "mirrord/patch.h"
#include "mirrord/pkgset.h"
#include "mirrord/version.h"

/* What a plan works on. */
struct patch_work {
	const struct patch_opts *o;
	struct snap base, from;
	bool have_base, have_from;
	struct pkgset *ps;
	struct closure_result r;
	char **sources;		/* named ones, then pending security fixes */
	size_t nsources;
};

/* The channel's target (a channel it must be) and the ref's snapshot. */
static int
patch_refs(struct store *s, struct patch_work *w, struct merr *err)
{
	const struct patch_opts *o = w->o;
	struct store_txn *t;
	struct channel ch;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = channel_resolve(t, o->m->name, o->channel, &w->base, &ch, err);
	if (rc == 0) {
		w->have_base = true;
		if (ch.name[0] == '\0')
			rc = merr_set(err, MERR_INVAL, "'%s' is not a "
			    "channel: patch moves a channel", o->channel);
		channel_free(&ch);
	}
	if (rc == 0) {
		rc = channel_resolve(t, o->m->name, o->from, &w->from, &ch,
		    err);
		if (rc == 0) {
			w->have_from = true;
			channel_free(&ch);
		} else
			merr_prefix(err, "--from: ");
	}
	store_txn_abort(t);
	return rc;
}

bool
patch_security_suite(const struct conf_mirror *m, const char *suite)
{
	size_t i;

	if (m->security_all)
		return true;
	if (m->nsecurity_suites == 0)
		return str_endswith(suite, "-security");
	for (i = 0; i < m->nsecurity_suites; i++)
		if (strcmp(m->security_suites[i], suite) == 0)
			return true;
	return false;
}

/* A source version seen in the base (layer 0) or a security suite. */
struct srcver {
	const char *name, *ver;
	uint32_t nl, vl;
	uint32_t id;		/* the package: load order breaks ties */
	int layer;
};

static int
srcver_cmp(const void *a, const void *b)
{
	const struct srcver *x = a, *y = b;
	size_t n = x->nl < y->nl ? x->nl : y->nl;
	int c = memcmp(x->name, y->name, n);

	if (c == 0 && x->nl != y->nl)
		c = x->nl < y->nl ? -1 : 1;
	if (c == 0)
		c = x->layer - y->layer;
	if (c == 0)
		c = x->id < y->id ? -1 : x->id > y->id;
	return c;
}

void
patch_pending_each(const struct pkgset *ps, const struct conf_mirror *m,
    patch_pending_fn fn, void *ctx)
{
	size_t n = 0, i, j, ni = pkgset_nindices(ps);
	struct srcver *v = xcalloc(pkgset_count(ps) + 1, sizeof(*v));
	uint32_t id;

	for (i = 0; i < ni; i++) {
		const struct pkgset_index *ix = pkgset_index(ps, (uint32_t)i);

		if (ix->layer != 0 && !patch_security_suite(m, ix->suite))
			continue;
		for (id = ix->first; id < ix->first + ix->count; id++) {
			size_t nl, vl;

			v[n].name = pkgset_field(ps, id, PF_SOURCE, &nl);
			v[n].ver = pkgset_field(ps, id, PF_SOURCE_VERSION,
			    &vl);
			v[n].nl = (uint32_t)nl;
			v[n].vl = (uint32_t)vl;
			v[n].id = id;
			v[n++].layer = ix->layer != 0;
		}
	}
	qsort(v, n, sizeof(*v), srcver_cmp);
	for (i = 0; i < n; i = j) {
		const struct srcver *base = NULL, *fix = NULL;

		for (j = i; j < n && v[j].nl == v[i].nl &&
		    memcmp(v[j].name, v[i].name, v[i].nl) == 0; j++) {
			const struct srcver **best = v[j].layer ? &fix : &base;

			if (*best == NULL || version_cmp_n(v[j].ver, v[j].vl,
			    (*best)->ver, (*best)->vl) > 0)
				*best = &v[j];
		}
		if (base && fix && version_cmp_n(fix->ver, fix->vl, base->ver,
		    base->vl) > 0) {
			struct patch_pending pp = {
				fix->name, base->ver, fix->ver,
				fix->nl, base->vl, fix->vl,
				pkgset_index(ps, pkgset_pkg(ps,
				    fix->id)->index)->suite,
			};

			fn(ctx, &pp);
		}
	}
	free(v);
}

static void
patch_pending_add(void *ctx, const struct patch_pending *pp)
{
	struct patch_work *w = ctx;

	w->sources = xreallocarray(w->sources, w->nsources + 1,
	    sizeof(*w->sources));
	w->sources[w->nsources++] = xstrndup(pp->name, pp->nl);
}

/* The sources to patch: named ones, then pending fixes not named. */
static int
patch_sources(struct patch_work *w, struct merr *err)
{
	const struct patch_opts *o = w->o;
	size_t i, named = o->nsources, n;

	for (i = 0; i < o->nsources; i++) {
		w->sources = xreallocarray(w->sources, w->nsources + 1,
		    sizeof(*w->sources));
		w->sources[w->nsources++] = xstrdup(o->sources[i]);
	}
	if (o->security) {
		patch_pending_each(w->ps, o->m, patch_pending_add, w);
		/* Drop pending fixes that were named as well. */
		for (n = named, i = named; i < w->nsources; i++) {
			size_t k;
			bool dup = false;

			for (k = 0; k < named; k++)
				dup |= strcmp(w->sources[k],
				    w->sources[i]) == 0;
			if (dup)
				free(w->sources[i]);
			else
				w->sources[n++] = w->sources[i];
		}
		w->nsources = n;
	}
	if (w->nsources == 0)
		return merr_set(err, MERR_INVAL, o->security ? "channel '%s' "
		    "has every security fix '%s' has: nothing to patch" :
		    "no source package named: nothing to patch", o->channel,
		    o->from);
	return 0;
}

/* Version text of package id, owned. */
static char *
pkg_dup(const struct pkgset *ps, uint32_t id, enum pkg_field f)
{
	size_t len;
	const char *p = pkgset_field(ps, id, f, &len);

	return p ? xstrndup(p, len) : xstrdup("");
}

/* The versions of packages a and b, compared. */
static int
pkg_vercmp(const struct pkgset *ps, uint32_t a, uint32_t b)
{
	size_t al, bl;
	const char *x = pkgset_field(ps, a, PF_VERSION, &al);
	const char *y = pkgset_field(ps, b, PF_VERSION, &bl);

	return version_cmp_n(x, al, y, bl);
}

/* One package a change involves, for sorting into changes. */
struct touched {
	uint32_t id;
	bool added;		/* from the ref, else dropped from the base */
};

static int
touched_cmp_ps(const struct pkgset *ps, const struct touched *a,
    const struct touched *b)
{
	size_t al, bl;
	const char *x = pkgset_field(ps, a->id, PF_PACKAGE, &al);
	const char *y = pkgset_field(ps, b->id, PF_PACKAGE, &bl);
	int c = memcmp(x, y, al < bl ? al : bl);

	if (c == 0 && al != bl)
		return al < bl ? -1 : 1;
	if (c)
		return c;
	x = pkgset_field(ps, a->id, PF_ARCH, &al);
	y = pkgset_field(ps, b->id, PF_ARCH, &bl);
	c = memcmp(x, y, al < bl ? al : bl);
	if (c == 0 && al != bl)
		c = al < bl ? -1 : 1;
	return c;
}

static const struct pkgset *sort_ps;	/* qsort has no context argument */

static int
touched_cmp(const void *a, const void *b)
{
	return touched_cmp_ps(sort_ps, a, b);
}

/* The base's newest package of id's name, architecture and kind. */
static uint32_t
base_newest(const struct pkgset *ps, uint32_t id)
{
	const struct pkg *p = pkgset_pkg(ps, id);
	enum index_kind kind = pkgset_index(ps, p->index)->kind;
	uint32_t o, best = PKG_NONE;

	for (o = pkgset_first(ps, p->name); o != PKG_NONE;
	    o = pkgset_pkg(ps, o)->next) {
		const struct pkgset_index *ix = pkgset_index(ps,
		    pkgset_pkg(ps, o)->index);

		if (ix->layer != 0 || ix->kind != kind ||
		    touched_cmp_ps(ps, &(struct touched){ o, false },
		    &(struct touched){ id, false }) != 0)
			continue;
		if (best == PKG_NONE || pkg_vercmp(ps, o, best) > 0)
			best = o;
	}
	return best;
}

static char *
patch_why(const struct pkgset *ps, const struct closure_why *why)
{
	size_t len;
	const char *n;

	switch (why->kind) {
	case CLOSURE_NEEDED:
		n = pkgset_field(ps, why->from, PF_PACKAGE, &len);
		return xasprintf("needed by %.*s", (int)len, n);
	case CLOSURE_SOURCE:
		n = pkgset_field(ps, why->from, PF_PACKAGE, &len);
		return xasprintf("source of %.*s", (int)len, n);
	default:
		return xstrdup("named");
	}
}

/* Fills p->changes: per (name, arch), the base's and the ref's version. */
static void
patch_changes(const struct patch_work *w, struct patch_plan *p)
{
	const struct pkgset *ps = w->ps;
	size_t n = 0, i, j, ni = pkgset_nindices(ps);
	struct touched *v = xcalloc(pkgset_count(ps) + 1, sizeof(*v));
	uint32_t id;

	for (i = 0; i < ni; i++) {
		const struct pkgset_index *ix = pkgset_index(ps, (uint32_t)i);

		for (id = ix->first; id < ix->first + ix->count; id++) {
			bool in = w->r.why[id].kind != CLOSURE_NO;

			if (ix->layer == 0 ? !in : in) {
				v[n].id = id;
				v[n++].added = ix->layer != 0;
			}
		}
	}
	sort_ps = ps;
	qsort(v, n, sizeof(*v), touched_cmp);
	for (i = 0; i < n; i = j) {
		struct patch_change c = { 0 };
		uint32_t old = PKG_NONE, new = PKG_NONE;

		for (j = i; j < n && touched_cmp_ps(ps, &v[i], &v[j]) == 0;
		    j++) {
			uint32_t *best = v[j].added ? &new : &old;

			if (*best == PKG_NONE ||
			    pkg_vercmp(ps, v[j].id, *best) > 0)
				*best = v[j].id;
		}
		c.name = pkg_dup(ps, v[i].id, PF_PACKAGE);
		c.arch = pkgset_index(ps, pkgset_pkg(ps, v[i].id)->index)->kind
		    == INDEX_SOURCES ? xstrdup("source") :
		    pkg_dup(ps, v[i].id, PF_ARCH);
		/* What the channel serves now, dropped or not. */
		if (new != PKG_NONE)
			old = base_newest(ps, new);
		c.old_version = old == PKG_NONE ? NULL :
		    pkg_dup(ps, old, PF_VERSION);
		if (new != PKG_NONE) {
			c.new_version = pkg_dup(ps, new, PF_VERSION);
			c.suite = xstrdup(pkgset_index(ps,
			    pkgset_pkg(ps, new)->index)->suite);
			c.why = patch_why(ps, &w->r.why[new]);
		} else
			c.why = xstrdup("dropped by its source");
		p->changes = xreallocarray(p->changes, p->nchanges + 1,
		    sizeof(*p->changes));
		p->changes[p->nchanges++] = c;
	}
	free(v);
}

/* How the result was made, for `snapshot show`. */
static char *
patch_recipe(const struct patch_work *w, const struct patch_plan *p)
{
	const struct patch_opts *o = w->o;
	struct buf b = BUF_INIT;
	size_t i;

	buf_addf(&b, "base %s %s\nfrom %s %s\n", o->channel, p->base,
	    o->from, p->from);
	if (o->security)
		buf_adds(&b, "security yes\n");
	buf_adds(&b, "sources");
	for (i = 0; i < p->nsources; i++)
		buf_addf(&b, " %s", p->sources[i]);
	buf_addc(&b, '\n');
	for (i = 0; i < p->nchanges; i++) {
		const struct patch_change *c = &p->changes[i];

		buf_addf(&b, "change %s %s %s -> %s (%s)\n", c->name, c->arch,
		    c->old_version ? c->old_version : "(none)",
		    c->new_version ? c->new_version : "(none)", c->why);
	}
	return buf_detach(&b, NULL);
}

/* Does suite hold a selected package of the ref (layer 1)? */
static bool
patch_suite_has(const struct patch_work *w, const uint8_t *sel,
    const char *suite)
{
	size_t i, ni = pkgset_nindices(w->ps);
	uint32_t id;

	for (i = 0; i < ni; i++) {
		const struct pkgset_index *ix = pkgset_index(w->ps,
		    (uint32_t)i);

		if (ix->layer != 1 || strcmp(ix->suite, suite) != 0)
			continue;
		for (id = ix->first; id < ix->first + ix->count; id++)
			if (sel[id])
				return true;
	}
	return false;
}

/* The result's suites: the base's, each written again if it changed. */
static int
patch_write(struct store *s, struct gpg_signer *g, struct patch_work *w,
    struct patch_plan *p, struct merr *err)
{
	const struct snap *base = &w->base;
	int64_t now = (int64_t)time(NULL);
	uint8_t *sel = xcalloc(w->r.n ? w->r.n : 1, 1);
	struct snap *sn = &p->result;
	bool changed;
	size_t i;
	int rc = 0;

	for (i = 0; i < w->r.n; i++)
		sel[i] = w->r.why[i].kind != CLOSURE_NO;
	compose_spread(w->ps, sel);
	sn->kind = SNAP_PATCH;
	sn->suites = xcalloc(base->nsuites + w->from.nsuites + 1,
	    sizeof(*sn->suites));
	p->have_result = true;
	for (i = 0; i < base->nsuites && rc == 0; i++) {
		rc = compose_write_suite(s, g, w->ps, sel, &base->suites[i],
		    false, now, NULL, &sn->suites[i], &changed, err);
		sn->nsuites++;
	}
	/*
	 * A fix in a suite the target lacks (one added to the mirror since):
	 * that suite comes with the fixes alone, not with the rest of it.
	 */
	for (i = 0; i < w->from.nsuites && rc == 0; i++) {
		const struct snap_suite *fs = &w->from.suites[i];

		if (snap_find_suite(base, fs->name) != NULL ||
		    !patch_suite_has(w, sel, fs->name))
			continue;
		rc = compose_write_suite(s, g, w->ps, sel, fs, true, now, NULL,
		    &sn->suites[sn->nsuites], &changed, err);
		sn->nsuites++;
	}
	free(sel);
	if (rc == 0)
		sn->recipe = patch_recipe(w, p);
	return rc;
}

static int
str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
patch_resolve(struct patch_work *w, struct patch_plan *p, struct merr *err)
{
	const struct conf_mirror *m = w->o->m;
	struct closure_opts co = {
		.archs = (const char *const *)m->arches,
		.narchs = m->narches,
		.sources = m->deb_src,
		.ref_name = w->o->from,
		.base_name = w->o->channel,
	};
	size_t i;
	int rc;

	rc = closure_patch(w->ps, &co, (const char *const *)w->sources,
	    w->nsources, &w->r, err);
	if (rc)
		return rc;
	p->sources = xcalloc(w->nsources ? w->nsources : 1,
	    sizeof(*p->sources));
	for (i = 0; i < w->nsources; i++)
		p->sources[i] = xstrdup(w->sources[i]);
	p->nsources = w->nsources;
	qsort(p->sources, p->nsources, sizeof(*p->sources), str_ptr_cmp);
	patch_changes(w, p);
	return 0;
}

int
patch_plan(struct store *s, struct gpg_signer *g, const struct patch_opts *o,
    struct patch_plan *p, struct merr *err)
{
	struct patch_work w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.o = o;
	w.ps = pkgset_new();
	rc = patch_refs(s, &w, err);
	if (rc == 0) {
		memcpy(p->base, w.base.id, sizeof(p->base));
		memcpy(p->from, w.from.id, sizeof(p->from));
		const struct snap *both[2] = { &w.base, &w.from };

		rc = compose_load(s, both, 2, w.ps, err);
	}
	if (rc == 0) {
		log_debug("patch: %zu packages of %s and %s loaded",
		    pkgset_count(w.ps), p->base, p->from);
		rc = patch_sources(&w, err);
	}
	if (rc == 0)
		rc = patch_resolve(&w, p, err);
	if (rc == 0 && !o->dry_run) {
		log_debug("patch: %zu changes", p->nchanges);
		rc = patch_write(s, g, &w, p, err);
	}
	closure_result_release(&w.r);
	pkgset_free(w.ps);
	strv_free(w.sources, w.nsources);
	if (w.have_base)
		snap_release(&w.base);
	if (w.have_from)
		snap_release(&w.from);
	return rc;
}

int
patch_commit(struct store *s, const char *mirror, struct patch_plan *p,
    struct merr *err)
{
	return compose_commit(s, mirror, &p->result, err);
}

void
patch_plan_release(struct patch_plan *p)
{
	size_t i;

	for (i = 0; i < p->nchanges; i++) {
		free(p->changes[i].name);
		free(p->changes[i].arch);
		free(p->changes[i].old_version);
		free(p->changes[i].new_version);
		free(p->changes[i].suite);
		free(p->changes[i].why);
	}
	free(p->changes);
	strv_free(p->sources, p->nsources);
	if (p->have_result)
		snap_release(&p->result);
	memset(p, 0, sizeof(*p));
}
