/*
 * partial.c: step 3 of a sync pass for a partial mirror (Include:).
 *
 * Steps 1 and 2 fetched and verified upstream's Release files and
 * indices as for any mirror. Here every suite's upstream indices are
 * loaded at once (a dependency may be satisfied from another suite), the
 * closure of the selectors is resolved (closure.h), and each suite is
 * written as mirrord's own: Packages and Sources holding exactly the
 * closure, byte for byte, every other file (Translation, Contents...) as
 * upstream wrote it, Release files signed by mirrord. Upstream's files
 * stay in the snapshot under COMPOSE_UPSTREAM_DIR, so the next pass can
 * compare Release files with them and compose again without fetching
 * what did not change. Only the pool files the closure names are then
 * queued for download.
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/closure.h"
#include "mirrord/compose.h"
#include "mirrord/log.h"
#include "mirrord/pkgset.h"
#include "sync/pass.h"

static void
recipe_words(struct buf *b, const char *key, char *const *v, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	buf_adds(b, key);
	for (i = 0; i < n; i++)
		buf_addf(b, " %s", v[i]);
	buf_addc(b, '\n');
}

char *
partial_recipe(const struct conf_mirror *m)
{
	struct buf b = BUF_INIT;

	recipe_words(&b, "include", m->include, m->ninclude);
	recipe_words(&b, "exclude", m->exclude, m->nexclude);
	buf_addf(&b, "recommends %s\nbuild-depends %s\nunsatisfied %s\n",
	    m->include_recommends ? "yes" : "no",
	    m->include_build_depends ? "yes" : "no",
	    m->include_warn ? "warn" : "error");
	return buf_detach(&b, NULL);
}

/* The closure of the mirror's selectors over ps; *sel owned. */
static int
partial_resolve(struct sync_ctx *x, const struct pkgset *ps, uint8_t **sel,
    struct merr *err)
{
	const struct conf_mirror *m = x->m;
	struct closure_opts o = {
		.archs = (const char *const *)m->arches,
		.narchs = m->narches,
		.recommends = m->include_recommends,
		.sources = m->deb_src,
		.build_depends = m->include_build_depends,
		.unsatisfied_warn = m->include_warn,
	};
	struct closure_result r = { 0 };
	size_t i, n = 0;
	int rc;

	rc = closure_include(ps, &o, (const char *const *)m->include,
	    m->ninclude, (const char *const *)m->exclude, m->nexclude, &r,
	    err);
	for (i = 0; i < r.nwarnings; i++) {
		log_warn("mirror '%s': %s", m->name, r.warnings[i]);
		buf_addf(&x->warnings, "%s\n", r.warnings[i]);
	}
	if (rc == 0) {
		*sel = xcalloc(r.n ? r.n : 1, 1);
		for (i = 0; i < r.n; i++)
			n += (*sel)[i] = r.why[i].kind != CLOSURE_NO;
		compose_spread(ps, *sel);
		if (!x->opts->quiet)
			log_info("mirror '%s': Include: %zu of %zu packages",
			    m->name, n, r.n);
	}
	closure_result_release(&r);
	return rc;
}

/* Suite w as mirrord writes it, upstream's files kept aside. */
static int
partial_suite(struct sync_ctx *x, struct gpg_signer *g,
    const struct pkgset *ps, const uint8_t *sel, struct suite_work *w,
    int64_t now, struct merr *err)
{
	struct snap_suite out;
	bool changed;
	size_t i;
	int rc;

	memset(&out, 0, sizeof(out));
	rc = compose_write_suite(x->store, g, ps, sel, &w->out, true, now,
	    COMPOSE_UPSTREAM_DIR, &out, &changed, err);
	if (rc) {
		snap_suite_release(&out);
		return rc;
	}
	for (i = 0; i < w->out.nfiles; i++) {
		char *p = xasprintf("%s%s", COMPOSE_UPSTREAM_DIR,
		    w->out.files[i].path);

		snap_suite_add_file(&out, p, w->out.files[i].hash,
		    w->out.files[i].size);
		free(p);
	}
	snap_suite_release(&w->out);
	w->out = out;
	return 0;
}

/* The composed suites' pool difference against the newest snapshot. */
static int
partial_delta(struct sync_ctx *x, struct merr *err)
{
	struct snap now = { 0 };
	size_t i;
	int rc;

	now.suites = xcalloc(x->nsw, sizeof(*now.suites));
	for (i = 0; i < x->nsw; i++)
		now.suites[i] = x->sw[i].out;	/* borrowed: not released */
	now.nsuites = x->nsw;
	rc = store_txn_begin(x->store, false, &x->rtxn, err);
	if (rc == 0)
		rc = compose_delta(x->store, x->have_newest ? &x->newest :
		    NULL, &now, x->delta, parse_mark_missing, x, err);
	if (x->rtxn)
		store_txn_abort(x->rtxn);
	x->rtxn = NULL;
	free(now.suites);
	return rc;
}

static int
partial_signer(const struct sync_ctx *x, struct gpg_signer **g,
    struct merr *err)
{
	char *key = conf_signing_key(x->conf);
	int rc;

	/* Only the default key is made on first need; a named one must be. */
	rc = gpg_signer_new(key, x->conf->signing_key == NULL, g, err);
	free(key);
	return rc ? merr_prefix(err, "signing key: ") : 0;
}

int
partial_compose(struct sync_ctx *x, struct merr *err)
{
	struct pkgset *ps = pkgset_new();
	struct snap_suite *ups;
	struct gpg_signer *g = NULL;
	int64_t now = (int64_t)time(NULL);
	uint8_t *sel = NULL;
	size_t i;
	int rc = 0;

	x->phase = "compose";
	ups = xcalloc(x->nsw, sizeof(*ups));
	for (i = 0; i < x->nsw; i++)
		ups[i] = x->sw[i].out;	/* borrowed: not released */
	rc = compose_load_files(x->store, ups, x->nsw, ps, err);
	free(ups);
	if (rc == 0)
		rc = partial_resolve(x, ps, &sel, err);
	if (rc == 0)
		rc = partial_signer(x, &g, err);
	for (i = 0; i < x->nsw && rc == 0; i++)
		rc = partial_suite(x, g, ps, sel, &x->sw[i], now, err);
	gpg_signer_free(g);
	pkgset_free(ps);
	free(sel);
	if (rc == 0)
		rc = partial_delta(x, err);
	if (rc == 0)
		rc = parse_queue_pool(x, err);
	if (rc)
		merr_prefix(err, "Include: ");
	return rc;
}
