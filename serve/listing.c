/*
 * listing.c: a listing's data (see listing.h): its memory and the
 * store reads that fill a mirror's part. Which listing a URL gets is
 * route.c's decision; how it looks is pages.c's.
 */
#include "mirrord/common.h"

#include "mirrord/channel.h"
#include "mirrord/exposure.h"
#include "mirrord/snap.h"
#include "serve/listing.h"

void
listing_init(struct listing *l, enum listing_kind kind, const char *title)
{
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	l->title = xstrdup(title);
}

static void
mirror_release(struct listing_mirror *m)
{
	size_t i;

	for (i = 0; i < m->nsnaps; i++)
		free(m->snaps[i].id);
	for (i = 0; i < m->nchans; i++) {
		free(m->chans[i].name);
		free(m->chans[i].target);
		listing_rollouts_free(m->chans[i].rollouts,
		    m->chans[i].nrollouts);
	}
	free(m->snaps);
	free(m->chans);
	free(m->name);
}

static void
listing_pending_release(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->npending; i++) {
		free(l->pending[i].source);
		free(l->pending[i].installed);
		free(l->pending[i].fixed);
		free(l->pending[i].suite);
		free(l->pending[i].cves);
		free(l->pending[i].advisories);
		free(l->pending[i].urgency);
	}
	free(l->pending);
	free(l->exposure_latest);
	l->pending = NULL;
	l->npending = 0;
	l->exposure_latest = NULL;
	l->have_exposure = false;
}

void
listing_rollouts_free(struct listing_rollout *ro, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(ro[i].name);
		free(ro[i].status);
		free(ro[i].snapshot);
		free(ro[i].next);
		free(ro[i].check_out);
		free(ro[i].halt);
	}
	free(ro);
}

static void
dash_release(struct listing_dash *d)
{
	size_t i;

	free(d->channel);
	free(d->target);
	free(d->kind);
	free(d->phase_of);
	free(d->moved_by);
	listing_rollouts_free(d->rollouts, d->nrollouts);
	for (i = 0; i < d->nmoves; i++) {
		free(d->moves[i].action);
		free(d->moves[i].from);
		free(d->moves[i].to);
		free(d->moves[i].by);
		free(d->moves[i].message);
	}
	free(d->moves);
	free(d->diff.latest);
	strv_free(d->diff.lines, d->diff.nlines);
}

void
listing_release(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->nmirrors; i++)
		mirror_release(&l->mirrors[i]);
	for (i = 0; i < l->nsuites; i++)
		free(l->suites[i]);
	for (i = 0; i < l->nentries; i++)
		free(l->entries[i].name);
	free(l->mirrors);
	free(l->suites);
	free(l->entries);
	free(l->snapshot);
	free(l->title);
	listing_pending_release(l);
	dash_release(&l->dash);
	memset(l, 0, sizeof(*l));
}

/* v's n strings joined by spaces (owned; "" for none). */
static char *
words(char *const *v, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_adds(&b, " ");
		buf_adds(&b, v[i]);
	}
	return b.p != NULL ? b.p : xstrdup("");
}

void
listing_set_exposure(struct listing *l, const struct exposure *e)
{
	size_t i;

	listing_pending_release(l);
	l->have_exposure = true;
	l->exposure_latest = xstrdup(e->latest);
	l->pending = xcalloc(e->n + 1, sizeof(*l->pending));
	for (i = 0; i < e->n; i++) {
		l->pending[i].source = xstrdup(e->items[i].source);
		l->pending[i].installed = xstrdup(e->items[i].installed);
		l->pending[i].fixed = xstrdup(e->items[i].fixed);
		l->pending[i].suite = xstrdup(e->items[i].suite);
		l->pending[i].since = e->items[i].since;
		l->pending[i].cves = words(e->items[i].cves,
		    e->items[i].ncves);
		l->pending[i].advisories = words(e->items[i].advisories,
		    e->items[i].nadvisories);
		l->pending[i].urgency = xstrdup(e->items[i].urgency ?
		    e->items[i].urgency : "");
	}
	l->npending = e->n;
}

/* m's snapshots, newest first. */
static int
add_snapshots(struct listing_mirror *m, struct store_txn *t,
    struct merr *err)
{
	char **ids;
	size_t n, i;
	int rc;

	rc = snap_list(t, m->name, &ids, &n, err);
	if (rc)
		return rc;
	m->snaps = xcalloc(n ? n : 1, sizeof(*m->snaps));
	for (i = n; i-- > 0; ) {
		struct listing_snapshot *ls = &m->snaps[m->nsnaps];
		struct snap sn;

		rc = snap_load(t, m->name, ids[i], &sn, err);
		if (rc)
			break;
		ls->id = xstrdup(sn.id);
		ls->time = sn.time;
		ls->packages = sn.packages;
		m->nsnaps++;
		snap_release(&sn);
	}
	strv_free(ids, n);
	return rc;
}

static int
add_channels(struct listing_mirror *m, struct store_txn *t,
    struct merr *err)
{
	char **names;
	size_t n, i;
	int rc;

	rc = channel_list(t, m->name, &names, &n, err);
	if (rc)
		return rc;
	m->chans = xcalloc(n ? n : 1, sizeof(*m->chans));
	for (i = 0; i < n && rc == 0; i++) {
		struct listing_channel *lc = &m->chans[m->nchans];
		struct channel ch;

		rc = channel_get(t, m->name, names[i], &ch, err);
		if (rc)
			break;
		lc->name = xstrdup(ch.name);
		lc->target = xstrdup(ch.target);
		lc->moved_at = ch.moved_at;
		m->nchans++;
		channel_free(&ch);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int
listing_add_mirror(struct listing *l, struct store_txn *t,
    const char *mirror, struct merr *err)
{
	struct listing_mirror *m;
	int rc;

	l->mirrors = xreallocarray(l->mirrors, l->nmirrors + 1,
	    sizeof(*l->mirrors));
	m = &l->mirrors[l->nmirrors++];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(mirror);
	rc = add_snapshots(m, t, err);
	if (rc == 0)
		rc = add_channels(m, t, err);
	return rc;
}

void
listing_add_suite(struct listing *l, const char *name)
{
	l->suites = xreallocarray(l->suites, l->nsuites + 1,
	    sizeof(*l->suites));
	l->suites[l->nsuites++] = xstrdup(name);
}

void
listing_add_entry(struct listing *l, const char *name, size_t len,
    uint64_t size, bool dir)
{
	struct listing_entry *e;

	l->entries = xreallocarray(l->entries, l->nentries + 1,
	    sizeof(*l->entries));
	e = &l->entries[l->nentries++];
	e->name = dir ? xasprintf("%.*s/", (int)len, name) :
	    xstrndup(name, len);
	e->size = size;
	e->dir = dir;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct listing_entry *)a)->name,
	    ((const struct listing_entry *)b)->name);
}

void
listing_sort_entries(struct listing *l)
{
	struct listing_entry *v = l->entries;
	size_t i, j;

	if (l->nentries == 0)
		return;
	qsort(v, l->nentries, sizeof(*v), entry_cmp);
	for (i = j = 0; i < l->nentries; i++) {
		if (j > 0 && strcmp(v[j - 1].name, v[i].name) == 0) {
			free(v[i].name);
			continue;
		}
		v[j++] = v[i];
	}
	l->nentries = j;
}
