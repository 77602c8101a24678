/*
 * suite.c: step 1 of a sync pass for one suite. InRelease is fetched
 * conditionally (else Release and Release.gpg), verified against the
 * mirror's keyring, and its dates checked against what was last accepted.
 * An unchanged suite is copied from the previous snapshot as it is.
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/clearsign.h"
#include "mirrord/log.h"
#include "sync/pass.h"

/* What step 1 fetched of one suite, and what it decided. */
struct suite_fetch {
	const struct snap_suite *old;	/* the previous snapshot's, or NULL */
	struct snap_state st;		/* what was last accepted */
	int64_t now;			/* when the step began */
	struct fetch_mem inr, rel, sig;	/* InRelease, Release, Release.gpg */
	char *text;			/* InRelease's signed text */
	size_t textlen;
	char fpr[GPG_FPR_LEN + 1];
	bool unchanged;			/* w->out is a copy of old */
};

/* The verifier costs a gpg start-up: made only when a Release changed. */
static int
suite_gpg(struct sync_ctx *x, struct merr *err)
{
	struct gpg_keyspec ks;
	char *tmp;
	int rc;

	if (x->gpg)
		return 0;
	gpg_keyspec_of_mirror(&ks, x->m);
	tmp = xasprintf("%s/tmp", store_dir(x->store));
	rc = gpg_verifier_new_spec(&ks, tmp, &x->gpg, err);

	free(tmp);
	return rc;
}

/* The suite is as the previous snapshot has it: nothing more to do. */
static void
suite_unchanged(struct suite_work *w, struct suite_fetch *sf)
{
	snap_suite_copy(&w->out, sf->old);
	sf->unchanged = true;
}

/* What was last accepted of the suite: its Date and validators. */
static int
suite_state(struct sync_ctx *x, struct suite_work *w, struct snap_state *st,
    struct merr *err)
{
	int rc;

	rc = store_txn_begin(x->store, false, &x->rtxn, err);
	if (rc)
		return rc;
	rc = snap_state_get(x->rtxn, x->m->name, w->name, st, err);
	store_txn_abort(x->rtxn);
	x->rtxn = NULL;
	return rc;
}

/* InRelease, conditionally, verified unless it is the one of last time. */
static int
suite_inrelease(struct sync_ctx *x, struct suite_work *w,
    struct suite_fetch *sf, struct merr *err)
{
	const struct snap_file *of;
	unsigned char h[HASH_LEN];
	char *url;
	int rc;

	url = xasprintf("%sInRelease", w->base);
	rc = fetch_get_mem(x->fetch, url, RELEASE_MAX,
	    sf->old ? sf->st.etag : NULL,
	    sf->old ? sf->st.last_modified : NULL, &sf->inr, err);
	free(url);
	if (rc) {
		merr_prefix(err, "InRelease: ");
		return rc;
	}
	if (sf->inr.status == 304 && sf->old) {
		log_debug("mirror '%s': suite '%s': InRelease not modified",
		    x->m->name, w->name);
		suite_unchanged(w, sf);
		return 0;
	}
	if (sf->inr.status != 200)
		return 0;
	/* The very bytes verified last time: nothing new to check. */
	hash_buf(sf->inr.data, sf->inr.len, h);
	of = snap_suite_file(sf->old, "InRelease");
	if (of && memcmp(of->hash, h, HASH_LEN) == 0) {
		suite_unchanged(w, sf);
		return 0;
	}
	rc = suite_gpg(x, err);
	if (rc == 0)
		rc = gpg_verify_clearsigned(x->gpg, sf->inr.data, sf->inr.len,
		    &sf->text, &sf->textlen, sf->fpr, err);
	if (rc)
		merr_prefix(err, "InRelease: ");
	return rc;
}

/*
 * Release and Release.gpg: required without InRelease; with it, Release
 * must say what InRelease does.
 */
static int
suite_release_gpg(struct sync_ctx *x, struct suite_work *w,
    struct suite_fetch *sf, struct merr *err)
{
	bool have_inr = sf->inr.status == 200;
	const struct snap_file *of;
	unsigned char h[HASH_LEN];
	char *url;
	int rc;

	url = xasprintf("%sRelease", w->base);
	rc = fetch_get_mem(x->fetch, url, RELEASE_MAX, NULL, NULL, &sf->rel,
	    err);
	free(url);
	if (rc == 0 && sf->rel.status != 200 && !have_inr)
		rc = merr_set(err, MERR_NOTFOUND,
		    "neither InRelease nor Release exists upstream");
	if (rc) {
		merr_prefix(err, "Release: ");
		return rc;
	}
	if (sf->rel.status != 200)
		return 0;
	url = xasprintf("%sRelease.gpg", w->base);
	rc = fetch_get_mem(x->fetch, url, 1u << 20, NULL, NULL, &sf->sig, err);
	free(url);
	if (rc == 0 && sf->sig.status != 200 && !have_inr)
		rc = merr_set(err, MERR_VERIFY,
		    "no InRelease and no Release.gpg: unsigned");
	if (rc) {
		merr_prefix(err, "Release.gpg: ");
		return rc;
	}
	/* Without InRelease, an unchanged Release is no change. */
	hash_buf(sf->rel.data, sf->rel.len, h);
	of = snap_suite_file(sf->old, "Release");
	if (!have_inr && of && memcmp(of->hash, h, HASH_LEN) == 0) {
		suite_unchanged(w, sf);
		return 0;
	}
	if (sf->sig.status == 200) {
		rc = suite_gpg(x, err);
		if (rc == 0)
			rc = gpg_verify_detached(x->gpg, sf->rel.data,
			    sf->rel.len, sf->sig.data, sf->sig.len, sf->fpr,
			    err);
		if (rc) {
			merr_prefix(err, "Release.gpg: ");
			return rc;
		}
	}
	if (have_inr && !clearsign_same_text(sf->text, sf->textlen,
	    sf->rel.data, sf->rel.len))
		return merr_set(err, MERR_VERIFY,
		    "Release and InRelease disagree");
	return 0;
}

/*
 * Parses the verified text into w->rel and checks that it is for this
 * suite, not older than the last accepted one, not from the future and
 * not expired.
 */
static int
suite_check(struct sync_ctx *x, struct suite_work *w,
    const struct suite_fetch *sf, struct merr *err)
{
	bool have_inr = sf->inr.status == 200;
	int rc;

	rc = release_parse(have_inr ? sf->text : sf->rel.data,
	    have_inr ? sf->textlen : sf->rel.len,
	    have_inr ? "InRelease" : "Release", &w->rel, err);
	if (rc)
		return rc;
	if (!(w->rel.suite && strcmp(w->rel.suite, w->name) == 0) &&
	    !(w->rel.codename && strcmp(w->rel.codename, w->name) == 0))
		return merr_set(err, MERR_VERIFY,
		    "Release is for suite '%s' (codename '%s'), not '%s'",
		    w->rel.suite ? w->rel.suite : "", w->rel.codename ?
		    w->rel.codename : "", w->name);
	if (w->rel.date < sf->st.date)
		return merr_set(err, MERR_VERIFY,
		    "Release Date '%s' is older than the last accepted one: "
		    "replayed or rolled back", w->rel.date_str);
	if (w->rel.date > sf->now + x->conf->clock_skew)
		return merr_set(err, MERR_VERIFY,
		    "Release Date '%s' is in the future", w->rel.date_str);
	if (w->rel.valid_until && w->rel.valid_until < sf->now)
		return merr_set(err, MERR_VERIFY, "Release expired "
		    "(Valid-Until passed)");
	return 0;
}

/* Stores one Release file and lists it in w->out (if it was fetched). */
static int
suite_keep_file(struct sync_ctx *x, struct suite_work *w,
    const struct fetch_mem *fm, const char *name, struct merr *err)
{
	unsigned char h[HASH_LEN];
	int rc;

	if (fm->status != 200)
		return 0;
	rc = store_put_mem(x->store, fm->data, fm->len, h, err);
	if (rc)
		return rc;
	snap_suite_add_file(&w->out, name, h, fm->len);
	return 0;
}

/* The suite changed: its Release files and state go to the snapshot. */
static int
suite_keep(struct sync_ctx *x, struct suite_work *w,
    const struct suite_fetch *sf, struct merr *err)
{
	int rc;

	w->changed = true;
	w->out.name = xstrdup(w->name);
	w->out.date = w->rel.date;
	w->out.date_str = xstrdup(w->rel.date_str);
	rc = suite_keep_file(x, w, &sf->inr, "InRelease", err);
	if (rc == 0)
		rc = suite_keep_file(x, w, &sf->rel, "Release", err);
	if (rc == 0)
		rc = suite_keep_file(x, w, &sf->sig, "Release.gpg", err);
	if (rc)
		return rc;
	w->state.date = w->rel.date;
	if (sf->inr.status == 200) {
		w->state.etag = sf->inr.etag ? xstrdup(sf->inr.etag) : NULL;
		w->state.last_modified = sf->inr.last_modified ?
		    xstrdup(sf->inr.last_modified) : NULL;
	}
	return 0;
}

/*
 * What m asks of suite w and its Release does not list: a component, the
 * Packages of an architecture, the Sources of deb-src. apt warns and goes
 * on, and so does a sync (each one a warning in the log and in status),
 * unless the mirror says Strict: yes: then the sync fails (MERR_CONF).
 * An unchanged suite is checked against the files its snapshot kept.
 */
int
suite_missing(struct sync_ctx *x, struct suite_work *w, struct merr *err)
{
	const struct conf_mirror *m = x->m;
	const char **paths;
	struct buf miss = BUF_INIT;
	size_t n = 0, i;
	int rc = 0;

	if (w->changed) {
		paths = xcalloc(w->rel.nfiles + 1, sizeof(*paths));
		for (i = 0; i < w->rel.nfiles; i++)
			paths[n++] = w->rel.files[i].path;
	} else {
		paths = xcalloc(w->out.nfiles + 1, sizeof(*paths));
		for (i = 0; i < w->out.nfiles; i++)
			paths[n++] = w->out.files[i].path;
	}
	release_missing(paths, n, m, &miss);
	free(paths);
	if (miss.len == 0)
		return 0;
	if (m->strict) {
		/* The first one, and Strict as the reason. */
		miss.p[strcspn(miss.p, "\n")] = '\0';
		rc = merr_set(err, MERR_CONF, "%s (Strict: yes)", miss.p);
	} else {
		const char *l, *nl;

		for (l = miss.p; *l != '\0'; l = nl + 1) {
			nl = strchr(l, '\n');
			log_warn("mirror '%s': suite '%s': %.*s", m->name,
			    w->name, (int)(nl - l), l);
			buf_addf(&x->warnings, "suite '%s': %.*s\n", w->name,
			    (int)(nl - l), l);
		}
	}
	buf_release(&miss);
	return rc;
}

int
suite_release(struct sync_ctx *x, struct suite_work *w, struct merr *err)
{
	struct suite_fetch sf;
	int rc;

	memset(&sf, 0, sizeof(sf));
	sf.old = x->have_prev ? snap_find_suite(&x->prev, w->name) : NULL;
	sf.now = (int64_t)time(NULL);
	rc = suite_state(x, w, &sf.st, err);
	if (rc)
		return rc;
	rc = suite_inrelease(x, w, &sf, err);
	if (rc == 0 && !sf.unchanged)
		rc = suite_release_gpg(x, w, &sf, err);
	if (rc == 0 && !sf.unchanged)
		rc = suite_check(x, w, &sf, err);
	if (rc == 0 && !sf.unchanged)
		rc = suite_keep(x, w, &sf, err);
	free(sf.text);
	fetch_mem_release(&sf.inr);
	fetch_mem_release(&sf.rel);
	fetch_mem_release(&sf.sig);
	snap_state_release(&sf.st);
	return rc;
}
