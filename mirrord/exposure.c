/*
 * exposure.c: what a ref lacks of latest's security fixes (exposure.h):
 * the pending list from the two snapshots, then "pending since" from the
 * mirror's history, walked back one snapshot at a time.
 */
#include "mirrord/common.h"

#include "mirrord/channel.h"
#include "mirrord/compose.h"
#include "mirrord/exposure.h"
#include "mirrord/log.h"
#include "mirrord/patch.h"
#include "mirrord/pkgset.h"
#include "mirrord/version.h"

/*
 * A view of sn with only m's security suites: a shallow copy (the suites
 * are sn's), for compose_load. Free view->suites only.
 */
static void
exposure_security_view(const struct conf_mirror *m, const struct snap *sn,
    struct snap *view)
{
	size_t i;

	memset(view, 0, sizeof(*view));
	memcpy(view->id, sn->id, sizeof(view->id));
	view->suites = xcalloc(sn->nsuites + 1, sizeof(*view->suites));
	for (i = 0; i < sn->nsuites; i++)
		if (patch_security_suite(m, sn->suites[i].name))
			view->suites[view->nsuites++] = sn->suites[i];
}

/*
 * What compose_load reads of a view: each suite's name and the hashes of
 * the index variants it would load. Two views with the same key hold the
 * same packages.
 */
static void
exposure_view_key(const struct snap *view, struct buf *key)
{
	size_t i, j;

	buf_reset(key);
	for (i = 0; i < view->nsuites; i++) {
		const struct snap_suite *su = &view->suites[i];

		buf_add(key, su->name, strlen(su->name) + 1);
		for (j = 0; j < su->nindices; j++) {
			const struct snap_file *f = compose_fastest(su,
			    su->indices[j].path);

			buf_add(key, f ? f->hash : su->indices[j].hash,
			    HASH_LEN);
		}
	}
}

static void
exposure_add(void *ctx, const struct patch_pending *pp)
{
	struct exposure *e = ctx;
	struct exposure_item *it;

	e->items = xreallocarray(e->items, e->n + 1, sizeof(*e->items));
	it = &e->items[e->n++];
	memset(it, 0, sizeof(*it));
	it->source = xstrndup(pp->name, pp->nl);
	it->installed = xstrndup(pp->installed, pp->il);
	it->fixed = xstrndup(pp->fixed, pp->fl);
	it->suite = xstrdup(pp->suite);
}

/* The ref's and latest's snapshots, in one read transaction. */
static int
exposure_refs(struct store *s, const char *mirror, const char *ref,
    struct snap *target, struct snap *latest, bool *have, struct merr *err)
{
	struct store_txn *t;
	struct channel ch;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = channel_resolve(t, mirror, ref, target, &ch, err);
	if (rc == 0) {
		have[0] = true;
		channel_free(&ch);
		rc = snap_load(t, mirror, "latest", latest, err);
		if (rc == 0)
			have[1] = true;
		else if (rc == MERR_NOTFOUND)
			merr_set(err, rc, "mirror '%s': no snapshot", mirror);
	} else if (rc == MERR_NOTFOUND || rc == MERR_INVAL) {
		rc = merr_set(err, MERR_NOTFOUND, "mirror '%s': no channel "
		    "or snapshot '%s'", mirror, ref);
	}
	store_txn_abort(t);
	return rc;
}

/* Items of e by source name (they are sorted): index or -1. */
static long
exposure_find(const struct exposure *e, const char *name, size_t len)
{
	size_t lo = 0, hi = e->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *s = e->items[mid].source;
		int c = strncmp(s, name, len);

		if (c == 0 && s[len] != '\0')
			c = 1;
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* has[i]: does ps have item i's fixed version of its source, or newer? */
static void
exposure_has(const struct exposure *e, const struct pkgset *ps, bool *has)
{
	size_t n = pkgset_count(ps);
	uint32_t id;

	memset(has, 0, e->n * sizeof(*has));
	for (id = 0; id < n; id++) {
		size_t nl, vl;
		const char *name = pkgset_field(ps, id, PF_SOURCE, &nl);
		const char *ver = pkgset_field(ps, id, PF_SOURCE_VERSION, &vl);
		long i = exposure_find(e, name, nl);

		if (i >= 0 && !has[i] && version_cmp_n(ver, vl,
		    e->items[i].fixed, strlen(e->items[i].fixed)) >= 0)
			has[i] = true;
	}
}

/* The walk back: what it carries from one snapshot to the next. */
struct exposure_walk {
	const struct conf_mirror *m;
	struct exposure *e;
	bool *settled;		/* per item: its since is final */
	bool *has;		/* per item, in the last snapshot loaded */
	size_t left;		/* items not settled */
	struct buf key, prev;	/* the view keys: this one, the last */
	bool loaded;		/* has and prev are set */
	size_t nloads;
};

/* Takes sn (an upstream state) into the walk: settles or moves since. */
static int
exposure_step(struct store *s, struct exposure_walk *w, const struct snap *sn,
    struct merr *err)
{
	struct exposure *e = w->e;
	struct snap view;
	size_t i;
	int rc = 0;

	exposure_security_view(w->m, sn, &view);
	exposure_view_key(&view, &w->key);
	/* The same indices as the last loaded: the same answer. */
	if (!w->loaded || w->key.len != w->prev.len ||
	    memcmp(w->key.p, w->prev.p, w->key.len) != 0) {
		struct pkgset *ps = pkgset_new();
		const struct snap *one = &view;

		rc = compose_load(s, &one, 1, ps, err);
		if (rc == 0) {
			exposure_has(e, ps, w->has);
			w->loaded = true;
			w->nloads++;
			buf_reset(&w->prev);
			buf_add(&w->prev, w->key.p, w->key.len);
		}
		pkgset_free(ps);
	}
	free(view.suites);
	if (rc)
		return merr_prefix(err, "snapshot %s: ", sn->id);
	for (i = 0; i < e->n; i++) {
		if (w->settled[i])
			continue;
		if (w->has[i]) {
			e->items[i].since = sn->time;
			memcpy(e->items[i].since_id, sn->id, SNAP_ID_LEN + 1);
		} else {
			w->settled[i] = true;
			w->left--;
		}
	}
	return 0;
}

/*
 * Walks the history back from latest (exclusive; every item's since
 * starts at latest) until every item is settled or the history ends.
 * One manifest at a time in a short transaction of its own, so the walk
 * holds no snapshot of the store open while it loads indices.
 */
static int
exposure_history(struct store *s, const struct conf_mirror *m,
    const struct snap *latest, struct exposure *e, struct merr *err)
{
	struct exposure_walk w = { .m = m, .e = e, .left = e->n };
	struct snap view;
	struct store_txn *t;
	char **ids = NULL;
	size_t nids = 0, i;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = snap_list(t, m->name, &ids, &nids, err);
	store_txn_abort(t);
	if (rc)
		return rc;
	buf_init(&w.key);
	buf_init(&w.prev);
	w.settled = xcalloc(e->n + 1, sizeof(*w.settled));
	w.has = xcalloc(e->n + 1, sizeof(*w.has));
	/* Latest has every fix: a snapshot with its indices needs no load. */
	exposure_security_view(m, latest, &view);
	exposure_view_key(&view, &w.prev);
	free(view.suites);
	for (i = 0; i < e->n; i++)
		w.has[i] = true;
	w.loaded = true;
	for (i = nids; i > 0 && strcmp(ids[i - 1], latest->id) != 0; i--)
		;
	/* i - 1 is latest: start before it. */
	for (i = i > 0 ? i - 1 : 0; i > 0 && w.left > 0 && rc == 0; i--) {
		struct snap sn;

		rc = store_txn_begin(s, false, &t, err);
		if (rc)
			break;
		rc = snap_load(t, m->name, ids[i - 1], &sn, err);
		store_txn_abort(t);
		if (rc == MERR_NOTFOUND) {
			/* Dropped meanwhile (gc): the history ends here. */
			rc = 0;
			break;
		}
		if (rc)
			break;
		if (snap_kind_upstream(sn.kind)) {
			e->history_seen++;
			rc = exposure_step(s, &w, &sn, err);
		}
		snap_release(&sn);
	}
	e->history_loads = w.nloads;
	log_debug("exposure: %s: %zu pending, %zu of %zu snapshots loaded",
	    m->name, e->n, w.nloads, e->history_seen);
	free(w.settled);
	free(w.has);
	buf_release(&w.key);
	buf_release(&w.prev);
	strv_free(ids, nids);
	return rc;
}

int
exposure_compute(struct store *s, const struct conf_mirror *m,
    const char *ref, const struct exposure_opts *o, struct exposure *out,
    struct merr *err)
{
	struct snap target, latest, view;
	struct pkgset *ps = NULL;
	bool have[2] = { false, false };
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = exposure_refs(s, m->name, ref, &target, &latest, have, err);
	if (rc)
		goto out;
	memcpy(out->target, target.id, sizeof(out->target));
	memcpy(out->latest, latest.id, sizeof(out->latest));
	/* The ref whole (its newest of a source in any suite), latest's
	 * security suites only. */
	exposure_security_view(m, &latest, &view);
	{
		const struct snap *both[2] = { &target, &view };

		ps = pkgset_new();
		rc = compose_load(s, both, 2, ps, err);
	}
	free(view.suites);
	if (rc)
		goto out;
	patch_pending_each(ps, m, exposure_add, out);
	pkgset_free(ps);
	ps = NULL;
	for (i = 0; i < out->n; i++) {
		out->items[i].since = latest.time;
		memcpy(out->items[i].since_id, latest.id, SNAP_ID_LEN + 1);
	}
	if (out->n > 0)
		rc = exposure_history(s, m, &latest, out, err);
	for (i = 0; i < out->n && rc == 0; i++)
		if (out->oldest == 0 || out->items[i].since < out->oldest)
			out->oldest = out->items[i].since;
	if (rc == 0 && o != NULL && o->conf != NULL)
		exposure_join_feeds(s, o->conf, m, &latest, out);
out:
	pkgset_free(ps);
	if (have[0])
		snap_release(&target);
	if (have[1])
		snap_release(&latest);
	return rc;
}

void
exposure_release(struct exposure *e)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		struct exposure_item *it = &e->items[i];

		free(it->source);
		free(it->installed);
		free(it->fixed);
		free(it->suite);
		strv_free(it->cves, it->ncves);
		strv_free(it->advisories, it->nadvisories);
		free(it->urgency);
	}
	free(e->items);
	strv_free(e->warnings, e->nwarnings);
	memset(e, 0, sizeof(*e));
}
