/*
 * closure.c: dependency closure, depth first with an explicit stack, and
 * patching (closure_patch); partial mirrors are closure_include.c's.
 *
 * A frame is a package whose relations are being satisfied: its atoms
 * are copied (parsed once) onto a shared atom stack and popped with it,
 * so memory is bounded by what is on the stack, itself by the fields
 * read. visit[] holds the pass (one per architecture, and one for
 * Build-Depends) in which a package was last taken: a package is
 * expanded at most once per pass, which ends cycles and Provides loops.
 */
#include "mirrord/common.h"

#include "mirrord/closure.h"
#include "mirrord/closure_int.h"

void
closure_result_release(struct closure_result *r)
{
	free(r->why);
	strv_free(r->warnings, r->nwarnings);
	memset(r, 0, sizeof(*r));
}

/* Whether the counted string s equals the C string c. */
static bool
cl_eq(const char *s, size_t len, const char *c)
{
	return strlen(c) == len && memcmp(s, c, len) == 0;
}

bool
closure_selected(const struct cl_state *st, uint32_t q)
{
	return st->r->why[q].kind != CLOSURE_NO;
}

/* The architecture a package's relations are read in. */
static const char *
cl_ctx(const struct cl_state *st, uint32_t q, size_t *len)
{
	const char *a = pkgset_field(st->ps, q, PF_ARCH, len);

	if (cl_eq(a, *len, "all")) {
		*len = strlen(st->native);
		return st->native;
	}
	return a;
}

static bool
cl_arch_configured(const struct cl_state *st, const char *a, size_t len)
{
	size_t i;

	for (i = 0; i < st->o->narchs; i++)
		if (cl_eq(a, len, st->o->archs[i]))
			return true;
	return false;
}

/*
 * Whether q may satisfy atom a read in architecture ctx: 0 no, 1 yes
 * (its architecture or "all"), 2 yes, as a foreign one (tried after).
 */
static int
cl_elig(const struct cl_state *st, uint32_t q, const struct dep_atom *a,
    const char *ctx, size_t cl)
{
	const struct pkg *p = pkgset_pkg(st->ps, q);
	const struct pkgset_index *ix = pkgset_index(st->ps, p->index);
	size_t al;
	const char *arch;
	bool all, same;

	if (ix->kind != INDEX_PACKAGES || (st->excluded[q] & CL_EXCLUDED) ||
	    !(st->layers & (1u << ix->layer)))
		return 0;
	arch = pkgset_field(st->ps, q, PF_ARCH, &al);
	all = cl_eq(arch, al, "all");
	same = al == cl && memcmp(arch, ctx, cl) == 0;
	if (!all && !cl_arch_configured(st, arch, al))
		return 0;
	if (a && a->archq) {
		if (cl_eq(a->archq, a->archq_len, "any"))
			return p->multiarch != MA_ALLOWED ? 0 : same || all ?
			    1 : 2;
		if (cl_eq(a->archq, a->archq_len, "native"))
			return all || cl_eq(arch, al, st->native);
		if (all)
			return cl_eq(a->archq, a->archq_len, st->native);
		return al == a->archq_len && memcmp(arch, a->archq, al) == 0;
	}
	if (same || all)
		return 1;
	return p->multiarch == MA_FOREIGN ? 2 : 0;
}

static int
cl_vcmp(const struct cl_state *st, uint32_t x, uint32_t y)
{
	size_t xl, yl;
	const char *xv = pkgset_field(st->ps, x, PF_VERSION, &xl);
	const char *yv = pkgset_field(st->ps, y, PF_VERSION, &yl);

	return version_cmp_n(xv, xl, yv, yl);
}

static bool
cl_sat(const struct cl_state *st, uint32_t q, const struct dep_atom *a)
{
	size_t vl;
	const char *v = pkgset_field(st->ps, q, PF_VERSION, &vl);

	return version_satisfies(v, vl, a->op, a->ver, a->ver_len);
}

/*
 * The package of name that satisfies a among those of eligibility rank:
 * the candidate (highest version) if it satisfies, else the highest
 * version that does; PKG_NONE if none. *any: some package had the rank.
 */
uint32_t
closure_candidate(const struct cl_state *st, uint32_t name, const struct dep_atom *a,
    const char *ctx, size_t cl, int rank, bool *any)
{
	uint32_t q, cand = PKG_NONE, best = PKG_NONE;

	for (q = pkgset_first(st->ps, name); q != PKG_NONE;
	    q = pkgset_pkg(st->ps, q)->next) {
		if (cl_elig(st, q, a, ctx, cl) != rank)
			continue;
		if (cand == PKG_NONE || cl_vcmp(st, q, cand) > 0)
			cand = q;
		if (a && cl_sat(st, q, a) && (best == PKG_NONE ||
		    cl_vcmp(st, q, best) > 0))
			best = q;
	}
	*any = cand != PKG_NONE;
	if (a == NULL || cand == PKG_NONE || cl_sat(st, cand, a))
		return cand;
	return best;
}

/* Whether provider record v (of q) satisfies a. */
static bool
cl_prov_sat(const struct cl_state *st, const struct pkg_provide *v,
    const struct dep_atom *a)
{
	const struct pkgset_index *ix;

	if (a->op == DEP_NONE)
		return true;
	if (v->version.len == 0)
		return false;	/* unversioned: never a versioned dep */
	ix = pkgset_index(st->ps, pkgset_pkg(st->ps, v->pkg)->index);
	return version_satisfies(ix->text + v->version.off, v->version.len,
	    a->op, a->ver, a->ver_len);
}

/*
 * A provider of a's name satisfying it, the candidate of its own name:
 * one already taken in this pass if any (when prefer_taken), else the
 * highest Priority, else the first. PKG_NONE if none.
 */
static uint32_t
cl_provider(const struct cl_state *st, uint32_t name, const struct dep_atom *a,
    const char *ctx, size_t cl, bool taken_only)
{
	uint32_t i, best = PKG_NONE;
	unsigned bestprio = 1000;

	for (i = pkgset_first_provider(st->ps, name); i != PKG_NONE;
	    i = pkgset_provide(st->ps, i)->next) {
		const struct pkg_provide *v = pkgset_provide(st->ps, i);
		const struct pkg *p = pkgset_pkg(st->ps, v->pkg);
		/* apt's CompareProviders: Essential first, then Priority. */
		unsigned prio = (p->essential ? 0 : 100) +
		    (p->priority ? p->priority : 98);
		int rank = cl_elig(st, v->pkg, a, ctx, cl);
		bool any;

		if (rank == 0 || !cl_prov_sat(st, v, a))
			continue;
		if (closure_candidate(st, p->name, NULL, ctx, cl, rank, &any) != v->pkg)
			continue;	/* not its name's candidate */
		if (st->visit[v->pkg] == st->pass)
			return v->pkg;
		if (!taken_only && prio < bestprio) {
			best = v->pkg;
			bestprio = prio;
		}
	}
	return taken_only ? PKG_NONE : best;
}

/*
 * What satisfies atom a: with taken_only, a package already taken in
 * this pass (any version or provider that satisfies), else the pick.
 */
static uint32_t
cl_atom(const struct cl_state *st, const struct dep_atom *a, const char *ctx,
    size_t cl, bool taken_only)
{
	uint32_t name = pkgset_lookup(st->ps, a->name, a->name_len), q;
	int rank;
	bool any;

	if (name == PKG_NONE)
		return PKG_NONE;
	if (taken_only) {
		for (q = pkgset_first(st->ps, name); q != PKG_NONE;
		    q = pkgset_pkg(st->ps, q)->next)
			if (st->visit[q] == st->pass && cl_elig(st, q, a, ctx,
			    cl) && cl_sat(st, q, a))
				return q;
		return cl_provider(st, name, a, ctx, cl, true);
	}
	for (rank = 1; rank <= 2; rank++) {
		q = closure_candidate(st, name, a, ctx, cl, rank, &any);
		if (q != PKG_NONE)
			return q;
	}
	return cl_provider(st, name, a, ctx, cl, false);
}

/* Takes x back (apt's MarkKeep of a conflicting package), roots aside. */
static void
cl_untake(struct cl_state *st, uint32_t x)
{
	if (st->r->why[x].kind == CLOSURE_ROOT)
		return;
	st->r->why[x].kind = CLOSURE_NO;
	st->visit[x] = 0;
}

/* Names in messages are cut at this length (a hostile index's may not). */
#define CL_NAME_MAX	100
/* Chains longer than this show their first and last halves only. */
#define CL_CHAIN_MAX	8
/* A group's alternatives are listed up to about this many bytes. */
#define CL_ALTS_MAX	400

/* Appends [s, s+len), cut to CL_NAME_MAX with "...". */
static void
cl_name_str(struct buf *b, const char *s, size_t len)
{
	buf_add(b, s, len > CL_NAME_MAX ? CL_NAME_MAX : len);
	if (len > CL_NAME_MAX)
		buf_adds(b, "...");
}

/* Appends "name[:q] (op v)" of atom a to b. */
static void
cl_atom_str(struct buf *b, const struct dep_atom *a)
{
	cl_name_str(b, a->name, a->name_len);
	if (a->archq) {
		buf_addc(b, ':');
		cl_name_str(b, a->archq, a->archq_len);
	}
	if (a->op != DEP_NONE) {
		buf_addf(b, " (%s ", version_op_str(a->op));
		cl_name_str(b, a->ver, a->ver_len);
		buf_addc(b, ')');
	}
}

/* Appends each distinct value of the indices' suites or components. */
static void
cl_where_list(const struct cl_state *st, struct buf *b, bool comp)
{
	size_t i, j, n = pkgset_nindices(st->ps), start = b->len;

	for (i = 0; i < n; i++) {
		const struct pkgset_index *ix = pkgset_index(st->ps,
		    (uint32_t)i);
		const char *s = comp ? ix->path : ix->suite;
		size_t len = comp ? strcspn(s, "/") : strlen(s);
		bool dup = false;

		if (ix->kind != INDEX_PACKAGES ||
		    !(st->layers & (1u << ix->layer)))
			continue;
		for (j = 0; j < i && !dup; j++) {
			const struct pkgset_index *jx = pkgset_index(st->ps,
			    (uint32_t)j);
			const char *t = comp ? jx->path : jx->suite;

			dup = jx->kind == INDEX_PACKAGES &&
			    (st->layers & (1u << jx->layer)) &&
			    (comp ? strcspn(t, "/") : strlen(t)) == len &&
			    memcmp(s, t, len) == 0;
		}
		if (dup)
			continue;
		if (b->len > start)
			buf_addc(b, ',');
		buf_add(b, s, len);
	}
}

/*
 * "root -> ... -> q -> " by why links (the stack holds siblings too when
 * patching). A package taken back and taken again could make a loop: the
 * walk stops after as many steps as there are packages.
 */
static void
cl_chain(const struct cl_state *st, uint32_t q, struct buf *b)
{
	uint32_t *path = NULL;
	size_t n = 0, i, len;
	const char *s;

	for (;;) {
		const struct closure_why *w = &st->r->why[q];

		path = xreallocarray(path, n + 1, sizeof(*path));
		path[n++] = q;
		if (w->kind != CLOSURE_NEEDED || n > st->r->n)
			break;
		q = w->from;
	}
	for (i = n; i-- > 0;) {
		size_t from_root = n - 1 - i;

		/* A long chain: its root end and its failing end. */
		if (n > CL_CHAIN_MAX && from_root >= CL_CHAIN_MAX / 2 &&
		    i >= CL_CHAIN_MAX / 2) {
			if (from_root == CL_CHAIN_MAX / 2)
				buf_addf(b, "... (%zu more) -> ",
				    n - CL_CHAIN_MAX);
			continue;
		}
		s = pkgset_field(st->ps, path[i], PF_PACKAGE, &len);
		cl_name_str(b, s, len);
		buf_adds(b, " -> ");
	}
	free(path);
}

/*
 * A dependency group [g0, g1) of the top frame that nothing satisfies:
 * "root -> ... -> pkg -> a | b (>= 1): not in SUITES COMPONENTS ARCH".
 * An error, or a warning with opts.unsatisfied_warn (then 0).
 */
static int
cl_unsat(struct cl_state *st, size_t g0, size_t g1, const char *ctx,
    size_t cl, struct merr *err)
{
	struct buf b = BUF_INIT;
	size_t i, start;

	cl_chain(st, st->fr[st->nfr - 1].pkg, &b);
	start = b.len;
	for (i = g0; i < g1; i++) {
		if (i > g0)
			buf_adds(&b, " | ");
		if (b.len - start > CL_ALTS_MAX) {
			buf_addf(&b, "... (%zu alternatives)", g1 - g0);
			break;
		}
		cl_atom_str(&b, &st->at[i]);
	}
	buf_adds(&b, ": not in ");
	cl_where_list(st, &b, false);
	buf_addc(&b, ' ');
	cl_where_list(st, &b, true);
	buf_addf(&b, " %.*s", (int)cl, ctx);
	if (!st->o->unsatisfied_warn) {
		merr_set(err, MERR_NOTFOUND, "%s", b.p);
		buf_release(&b);
		return MERR_NOTFOUND;
	}
	st->r->warnings = xreallocarray(st->r->warnings, st->r->nwarnings + 1,
	    sizeof(char *));
	st->r->warnings[st->r->nwarnings++] = buf_detach(&b, NULL);
	return 0;
}

/* Parses field f of q onto the atom stack, keeping what applies. */
static int
cl_push_field(struct cl_state *st, uint32_t q, enum pkg_field f,
    const char *fname, const char *ctx, size_t cl, struct merr *err)
{
	char arch[64];
	size_t len, i;
	const char *v = pkgset_field(st->ps, q, f, &len);
	bool drop_alts = false;
	int rc;

	if (v == NULL)
		return 0;
	rc = deps_parse(&st->d, DEPS_DEPENDS, fname, v, len, err);
	if (rc) {
		v = pkgset_field(st->ps, q, PF_PACKAGE, &len);
		return merr_prefix(err, "package '%.*s': ", (int)len, v);
	}
	snprintf(arch, sizeof(arch), "%.*s", (int)cl, ctx);
	for (i = 0; i < st->d.n; i++) {
		struct dep_atom *a = &st->d.v[i];

		if (!a->alt)
			drop_alts = false;
		/* An atom for another arch or profile is not there at all. */
		if (!deps_arch_match(a, arch) || !deps_profiles_match(a)) {
			if (!a->alt)
				drop_alts = true;
			continue;
		}
		if (st->nat == st->capat) {
			st->capat = st->capat ? st->capat * 2 : 256;
			st->at = xreallocarray(st->at, st->capat,
			    sizeof(*st->at));
		}
		st->at[st->nat] = *a;
		/* The first kept alternative starts its group. */
		st->at[st->nat++].alt = a->alt && !drop_alts;
		drop_alts = false;
	}
	return 0;
}

/*
 * What apt's MarkInstall does with the Conflicts and Breaks of a package
 * it marks: a package taken before that they match (but a root) is taken
 * back. Dependencies it satisfied stay satisfied in apt's eyes (apt does
 * not look back): so here.
 */
static int
cl_conflicts(struct cl_state *st, uint32_t y, const char *ctx, size_t cl,
    struct merr *err)
{
	static const enum pkg_field fields[] = { PF_CONFLICTS, PF_BREAKS };
	static const char *const names[] = { "Conflicts", "Breaks" };
	size_t i, j, len;
	uint32_t name, x, k;
	int rc;

	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		const char *v = pkgset_field(st->ps, y, fields[i], &len);

		if (v == NULL)
			continue;
		if ((rc = deps_parse(&st->d, DEPS_DEPENDS, names[i], v, len,
		    err))) {
			v = pkgset_field(st->ps, y, PF_PACKAGE, &len);
			return merr_prefix(err, "package '%.*s': ", (int)len, v);
		}
		for (j = 0; j < st->d.n; j++) {
			const struct dep_atom *a = &st->d.v[j];

			name = pkgset_lookup(st->ps, a->name, a->name_len);
			if (name == PKG_NONE)
				continue;
			for (x = pkgset_first(st->ps, name); x != PKG_NONE;
			    x = pkgset_pkg(st->ps, x)->next)
				if (x != y && st->visit[x] == st->pass &&
				    cl_elig(st, x, a, ctx, cl) &&
				    cl_sat(st, x, a))
					cl_untake(st, x);
			for (k = pkgset_first_provider(st->ps, name);
			    k != PKG_NONE; k = pkgset_provide(st->ps, k)->next) {
				const struct pkg_provide *pv =
				    pkgset_provide(st->ps, k);

				if (pv->pkg != y && st->visit[pv->pkg] ==
				    st->pass && cl_elig(st, pv->pkg, a, ctx, cl)
				    && cl_prov_sat(st, pv, a))
					cl_untake(st, pv->pkg);
			}
		}
	}
	return 0;
}

/* Takes q (why) in this pass and pushes its frame. */
int
closure_take(struct cl_state *st, uint32_t q, enum closure_reason kind,
    uint32_t from, struct merr *err)
{
	static const char *const names[] = { "Pre-Depends", "Depends",
	    "Recommends" };
	static const char *const bnames[] = { "Build-Depends-Indep",
	    "Build-Depends", "Build-Depends-Arch" };
	static const enum pkg_field fields[] = { PF_PRE_DEPENDS, PF_DEPENDS,
	    PF_RECOMMENDS };
	const struct pkg *p = pkgset_pkg(st->ps, q);
	bool src = pkgset_index(st->ps, p->index)->kind == INDEX_SOURCES;
	struct cl_frame *f;
	const char *ctx;
	size_t cl, i, nf = st->o->recommends || src ? 3 : 2;
	int rc;

	if (st->r->why[q].kind == CLOSURE_NO || kind == CLOSURE_NAMED) {
		st->r->why[q].kind = (uint8_t)kind;
		st->r->why[q].from = from;
	}
	st->visit[q] = st->pass;
	if (++st->ntaken % CL_GIVE_BACK == 0)
		pkgset_give_back(st->ps);
	if (st->nfr == st->capfr) {
		st->capfr = st->capfr ? st->capfr * 2 : 64;
		st->fr = xreallocarray(st->fr, st->capfr, sizeof(*st->fr));
	}
	f = &st->fr[st->nfr];
	f->pkg = q;
	f->a0 = f->pos = st->nat;
	ctx = src ? st->native : cl_ctx(st, q, &cl);
	if (src)
		cl = strlen(st->native);
	if (!src && !st->patch && (rc = cl_conflicts(st, q, ctx, cl, err)))
		return rc;
	for (i = 0; i < nf; i++)
		if ((rc = cl_push_field(st, q, fields[i], src ? bnames[i] :
		    names[i], ctx, cl, err)))
			return rc;
	f->a1 = st->nat;
	st->nfr++;
	return 0;
}

/* In patch mode: takes every ref package of q's source and version. */
static int cl_take_source(struct cl_state *st, uint32_t q,
    enum closure_reason kind, uint32_t from, struct merr *err);

/* Satisfies the next group of the top frame; pops it when done. */
static int
cl_step(struct cl_state *st, struct merr *err)
{
	struct cl_frame *f = &st->fr[st->nfr - 1];
	uint32_t from = f->pkg, q = PKG_NONE;
	size_t g0 = f->pos, g1 = g0 + 1, i, cl;
	const char *ctx;

	if (f->pos == f->a1) {
		st->nat = f->a0;
		st->nfr--;
		return 0;
	}
	while (g1 < f->a1 && st->at[g1].alt)
		g1++;
	f->pos = g1;
	if (pkgset_index(st->ps, pkgset_pkg(st->ps, from)->index)->kind ==
	    INDEX_SOURCES) {
		ctx = st->native;
		cl = strlen(ctx);
	} else
		ctx = cl_ctx(st, from, &cl);
	st->layers = ~0u;
	for (i = g0; i < g1; i++)
		if (cl_atom(st, &st->at[i], ctx, cl, true) != PKG_NONE)
			return 0;	/* already satisfied */
	st->layers = st->pick_layers;
	for (i = g0; i < g1 && q == PKG_NONE; i++)
		q = cl_atom(st, &st->at[i], ctx, cl, false);
	if (q == PKG_NONE)
		return cl_unsat(st, g0, g1, ctx, cl, err);
	if (st->patch)
		return cl_take_source(st, q, CLOSURE_NEEDED, from, err);
	return closure_take(st, q, CLOSURE_NEEDED, from, err);
}

/* Runs the stack empty. */
int
closure_run(struct cl_state *st, struct merr *err)
{
	int rc;

	while (st->nfr > 0)
		if ((rc = cl_step(st, err)))
			return rc;
	return 0;
}

void
closure_state_init(struct cl_state *st, const struct pkgset *ps,
    const struct closure_opts *o, struct closure_result *r)
{
	size_t n = pkgset_count(ps);

	memset(st, 0, sizeof(*st));
	memset(r, 0, sizeof(*r));
	st->ps = ps;
	st->o = o;
	st->r = r;
	r->n = n;
	r->why = xcalloc(n ? n : 1, sizeof(*r->why));
	st->visit = xcalloc(n ? n : 1, sizeof(*st->visit));
	st->excluded = xcalloc(n ? n : 1, 1);
	st->layers = st->pick_layers = ~0u;
	deps_init(&st->d);
}

void
closure_state_release(struct cl_state *st)
{
	free(st->visit);
	free(st->excluded);
	free(st->by_src);
	free(st->fr);
	free(st->at);
	deps_release(&st->d);
}

/* --- sources and patch --------------------------------------------------- */

/* Whether q's source (name and version) is [sn, sn+sl), [sv, sv+vl). */
bool
closure_is_source(const struct cl_state *st, uint32_t q, const char *sn, size_t sl,
    const char *sv, size_t vl)
{
	size_t l;
	const char *s = pkgset_field(st->ps, q, PF_SOURCE, &l);

	if (l != sl || memcmp(s, sn, sl) != 0)
		return false;
	if (sv == NULL)
		return true;
	s = pkgset_field(st->ps, q, PF_SOURCE_VERSION, &l);
	return version_cmp_n(s, l, sv, vl) == 0;
}

/* Compares q's source name with [sn, sn+sl), as memcmp. */
static int
cl_src_name_cmp(const struct pkgset *ps, uint32_t q, const char *sn,
    size_t sl)
{
	size_t ql;
	const char *qs = pkgset_field(ps, q, PF_SOURCE, &ql);
	int c = memcmp(qs, sn, ql < sl ? ql : sl);

	return c ? c : ql < sl ? -1 : ql > sl;
}

/* Orders package ids by source name, then by id (load order). */
static int
cl_src_cmp(const void *x, const void *y, void *ctx)
{
	const struct pkgset *ps = ctx;
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	size_t bl;
	const char *bs = pkgset_field(ps, b, PF_SOURCE, &bl);
	int c = cl_src_name_cmp(ps, a, bs, bl);

	return c ? c : a < b ? -1 : a > b;
}

/*
 * The packages of source [sn, sn+sl), in load order: by_src[*lo, *hi)
 * (by_src: every package sorted by source name, made once per patch, so
 * that --security's hundreds of sources are not each a whole scan).
 */
static void
cl_src_range(const struct cl_state *st, const char *sn, size_t sl,
    size_t *lo, size_t *hi)
{
	size_t l = 0, h = st->nby_src;

	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (cl_src_name_cmp(st->ps, st->by_src[mid], sn, sl) < 0)
			l = mid + 1;
		else
			h = mid;
	}
	*lo = l;
	while (h < st->nby_src && cl_src_name_cmp(st->ps, st->by_src[h], sn,
	    sl) == 0)
		h++;
	*hi = h;
}

/*
 * Marks in drop[] (one per index) the base (layer 0) indices at the same
 * suite and path as a ref index holding source [sn, sn+sl) at version
 * [sv, sv+vl): only there does the new version replace the old. A
 * frozen pocket (jammy, bookworm) keeps its own version of the source,
 * so a client of that pocket alone (debootstrap) still finds it.
 */
static void
cl_replaced_in(const struct cl_state *st, const char *sn, size_t sl,
    const char *sv, size_t vl, bool *drop)
{
	size_t ni = pkgset_nindices(st->ps), j, k, lo, hi;

	cl_src_range(st, sn, sl, &lo, &hi);
	for (k = lo; k < hi; k++) {
		uint32_t p = st->by_src[k];
		const struct pkgset_index *ix = pkgset_index(st->ps,
		    pkgset_pkg(st->ps, p)->index);

		if (ix->layer != 1 || !closure_is_source(st, p, sn, sl, sv,
		    vl))
			continue;
		for (j = 0; j < ni; j++) {
			const struct pkgset_index *b = pkgset_index(st->ps,
			    (uint32_t)j);

			if (b->layer == 0 && strcmp(b->suite, ix->suite) == 0 &&
			    strcmp(b->path, ix->path) == 0)
				drop[j] = true;
		}
	}
}

static int
cl_take_source(struct cl_state *st, uint32_t q, enum closure_reason kind,
    uint32_t from, struct merr *err)
{
	size_t sl, vl, k, lo, hi;
	const char *sn = pkgset_field(st->ps, q, PF_SOURCE, &sl);
	const char *sv = pkgset_field(st->ps, q, PF_SOURCE_VERSION, &vl);
	bool *drop = xcalloc(pkgset_nindices(st->ps) + 1, sizeof(*drop));
	uint32_t p;
	int rc = 0;

	cl_replaced_in(st, sn, sl, sv, vl, drop);
	cl_src_range(st, sn, sl, &lo, &hi);
	for (k = lo; k < hi && rc == 0; k++) {
		uint32_t xi;
		const struct pkgset_index *ix;

		p = st->by_src[k];
		xi = pkgset_pkg(st->ps, p)->index;
		ix = pkgset_index(st->ps, xi);
		if (ix->layer == 0 && st->r->why[p].kind == CLOSURE_BASE) {
			if (drop[xi]) {
				st->r->why[p].kind = CLOSURE_NO;
				st->visit[p] = 0;
			}
			continue;
		}
		if (ix->layer != 1 || closure_selected(st, p) ||
		    !closure_is_source(st, p, sn, sl, sv, vl))
			continue;
		if (ix->kind == INDEX_SOURCES) {
			st->r->why[p].kind = (uint8_t)kind;
			st->r->why[p].from = from;
			st->visit[p] = st->pass;
		} else
			rc = closure_take(st, p, kind, from, err);
	}
	free(drop);
	return rc;
}

/* The package of source [sn, sn+sl) in layer with the newest version. */
static uint32_t
cl_newest_source(const struct cl_state *st, const char *sn, size_t sl,
    int layer)
{
	size_t al, bl, k, lo, hi;
	uint32_t p, best = PKG_NONE;

	cl_src_range(st, sn, sl, &lo, &hi);
	for (k = lo; k < hi; k++) {
		const char *a, *b;

		p = st->by_src[k];
		if (pkgset_index(st->ps, pkgset_pkg(st->ps, p)->index)->layer !=
		    layer)
			continue;
		if (best != PKG_NONE) {
			a = pkgset_field(st->ps, p, PF_SOURCE_VERSION, &al);
			b = pkgset_field(st->ps, best, PF_SOURCE_VERSION, &bl);
			if (version_cmp_n(a, al, b, bl) <= 0)
				continue;
		}
		best = p;
	}
	return best;
}

/* The ref's newest package of source s, checked newer than the base's. */
static int
cl_patch_check(const struct cl_state *st, const char *s, uint32_t *out,
    struct merr *err)
{
	const char *ref = st->o->ref_name ? st->o->ref_name : "the ref";
	const char *base = st->o->base_name ? st->o->base_name : "the base";
	uint32_t r = cl_newest_source(st, s, strlen(s), 1);
	uint32_t b = cl_newest_source(st, s, strlen(s), 0);
	size_t rl, bl;
	const char *rv, *bv;

	if (r == PKG_NONE)
		return merr_set(err, MERR_NOTFOUND, "'%s': %s has no such "
		    "source package", s, ref);
	*out = r;
	if (b == PKG_NONE)
		return 0;
	rv = pkgset_field(st->ps, r, PF_SOURCE_VERSION, &rl);
	bv = pkgset_field(st->ps, b, PF_SOURCE_VERSION, &bl);
	if (version_cmp_n(rv, rl, bv, bl) > 0)
		return 0;
	return merr_set(err, MERR_INVAL, "'%s': %s has no newer version than "
	    "%s's %.*s", s, ref, base, (int)bl, bv);
}

int
closure_patch(const struct pkgset *ps, const struct closure_opts *o,
    const char *const *sources, size_t n, struct closure_result *r,
    struct merr *err)
{
	struct cl_state st;
	uint32_t *first = xcalloc(n ? n : 1, sizeof(*first)), p;
	size_t i, np = pkgset_count(ps);
	int rc = 0;

	closure_state_init(&st, ps, o, r);
	st.patch = true;
	st.pick_layers = 1u << 1;
	st.pass = 1;
	st.native = o->narchs ? o->archs[0] : "";
	st.by_src = xcalloc(np ? np : 1, sizeof(*st.by_src));
	st.nby_src = np;
	for (p = 0; p < np; p++) {
		st.by_src[p] = p;
		if (pkgset_index(ps, pkgset_pkg(ps, p)->index)->layer == 0) {
			r->why[p].kind = CLOSURE_BASE;
			st.visit[p] = st.pass;
		}
	}
	qsort_r(st.by_src, np, sizeof(*st.by_src), cl_src_cmp, (void *)ps);
	for (i = 0; i < n; i++)
		if ((rc = cl_patch_check(&st, sources[i], &first[i], err)))
			goto out;
	for (i = 0; i < n; i++) {
		if ((rc = cl_take_source(&st, first[i], CLOSURE_NAMED,
		    (uint32_t)i, err)) || (rc = closure_run(&st, err)))
			goto out;
	}
out:
	free(first);
	closure_state_release(&st);
	return rc;
}
