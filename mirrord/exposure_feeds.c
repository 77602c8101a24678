/*
 * exposure_feeds.c: the advisory feeds joined into an exposure's items
 * (exposure.h, advisory.h): CVE IDs, advisory IDs and the highest
 * urgency of what each pending fix closes. A feed that cannot be read is
 * a warning of the exposure, never an error of it.
 */
#include "mirrord/common.h"

#include "mirrord/advisory.h"
#include "mirrord/dists.h"
#include "mirrord/exposure.h"
#include "mirrord/feedpath.h"

/* How a suite's Release names its release, for the feeds. */
struct feed_rel {
	const char *suite;	/* borrowed from the snapshot */
	char *codename;		/* Codename: without "-security"; or NULL */
	char *ecosystem;	/* "Ubuntu:" Version:, or NULL */
};

/* Field name's value in the first paragraph of a Release text (owned). */
static char *
release_field(const char *text, size_t len, const char *name)
{
	size_t nl = strlen(name), i = 0;

	while (i < len && text[i] != '\n') {
		const char *e = memchr(text + i, '\n', len - i);
		size_t le = e ? (size_t)(e - text) : len, v;

		if (le - i > nl && text[i + nl] == ':' &&
		    str_ieq(text + i, nl, name)) {
			for (v = i + nl + 1; v < le && text[v] == ' '; v++)
				;
			return xstrndup(text + v, le - v);
		}
		i = le + 1;
	}
	return NULL;
}

/* Each security suite of latest: its codename and OSV ecosystem. */
static size_t
feed_releases(struct store *s, const struct snap *latest,
    const struct exposure *e, struct feed_rel **out)
{
	struct feed_rel *v = xcalloc(latest->nsuites + 1, sizeof(*v));
	size_t n = 0, i, j, len;
	struct merr err;
	char *text;

	for (i = 0; i < latest->nsuites; i++) {
		const struct snap_suite *su = &latest->suites[i];
		char *ver;

		for (j = 0; j < e->n && strcmp(e->items[j].suite, su->name);
		    j++)
			;
		if (j == e->n || dists_release_text(s, su, &text, &len,
		    &err) != 0)
			continue;
		v[n].suite = su->name;
		v[n].codename = release_field(text, len, "Codename");
		if (v[n].codename && str_endswith(v[n].codename, "-security"))
			v[n].codename[strlen(v[n].codename) - 9] = '\0';
		if ((ver = release_field(text, len, "Version")) != NULL)
			v[n].ecosystem = xasprintf("Ubuntu:%s", ver);
		free(ver);
		free(text);
		n++;
	}
	*out = v;
	return n;
}

static int
urgency_rank(const char *u)
{
	static const char *const order[] = { "unimportant", "negligible",
	    "low", "medium", "high", "critical" };
	size_t i;

	for (i = 0; u && i < ARRAY_SIZE(order); i++)
		if (strcmp(u, order[i]) == 0)
			return (int)i + 1;
	return 0;
}

/* Adds s to the sorted, unique list v (n). */
static void
add_unique(char ***v, size_t *n, const char *s)
{
	size_t i = 0, j;

	while (i < *n && strcmp((*v)[i], s) < 0)
		i++;
	if (i < *n && strcmp((*v)[i], s) == 0)
		return;
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	for (j = *n; j > i; j--)
		(*v)[j] = (*v)[j - 1];
	(*v)[i] = xstrdup(s);
	(*n)++;
}

/* What the feeds say of item it (in release r). */
static void
join_item(const struct advisory_db *db, const struct feed_rel *r,
    struct exposure_item *it)
{
	struct advisory_release rel = { r->codename, r->ecosystem };
	const struct advisory **a = NULL;
	size_t n, i, j;

	n = advisory_find(db, &rel, it->source, it->installed, it->fixed, &a);
	for (i = 0; i < n; i++) {
		for (j = 0; j < a[i]->ncves; j++)
			add_unique(&it->cves, &it->ncves, a[i]->cves[j]);
		if (strncmp(a[i]->id, "CVE-", 4) != 0)
			add_unique(&it->advisories, &it->nadvisories,
			    a[i]->id);
		if (urgency_rank(a[i]->urgency) > urgency_rank(it->urgency) ||
		    (it->urgency == NULL && a[i]->urgency != NULL)) {
			free(it->urgency);
			it->urgency = xstrdup(a[i]->urgency);
		}
	}
	free(a);
}

static void
warn(struct exposure *e, const char *msg)
{
	e->warnings = xreallocarray(e->warnings, e->nwarnings + 1,
	    sizeof(*e->warnings));
	e->warnings[e->nwarnings++] = xstrdup(msg);
}

/* Loads the feed of kind k into db for the releases v (n). */
static void
load_feed(const struct conf *c, const struct conf_mirror *m,
    enum feedpath_kind k, struct advisory_db *db, const struct feed_rel *v,
    size_t n, struct exposure *e)
{
	const char **names = xcalloc(n + 1, sizeof(*names));
	size_t nn = 0, i;
	struct merr err;
	char *path = NULL;
	int rc;

	for (i = 0; i < n; i++) {
		const char *x = k == FEEDPATH_TRACKER ? v[i].codename :
		    v[i].ecosystem;

		if (x != NULL)
			names[nn++] = x;
	}
	rc = feedpath_get(c, m, k, &path, &err);
	if (rc == 0 && path != NULL)
		rc = k == FEEDPATH_TRACKER ?
		    advisory_load_tracker(db, path, names, nn, &err) :
		    advisory_load_osv(db, path, names, nn, &err);
	if (rc)
		warn(e, err.msg);
	free(path);
	free(names);
}

void
exposure_join_feeds(struct store *s, const struct conf *c,
    const struct conf_mirror *m, const struct snap *latest,
    struct exposure *e)
{
	struct advisory_db *db;
	struct feed_rel *v;
	size_t n, i, j;

	if (e->n == 0 || (feedpath_value(m, FEEDPATH_TRACKER) == NULL &&
	    feedpath_value(m, FEEDPATH_OSV) == NULL))
		return;
	n = feed_releases(s, latest, e, &v);
	db = advisory_db_new();
	if (feedpath_value(m, FEEDPATH_TRACKER) != NULL)
		load_feed(c, m, FEEDPATH_TRACKER, db, v, n, e);
	if (feedpath_value(m, FEEDPATH_OSV) != NULL)
		load_feed(c, m, FEEDPATH_OSV, db, v, n, e);
	for (i = 0; i < e->n; i++)
		for (j = 0; j < n; j++)
			if (strcmp(v[j].suite, e->items[i].suite) == 0)
				join_item(db, &v[j], &e->items[i]);
	advisory_db_free(db);
	for (i = 0; i < n; i++) {
		free(v[i].codename);
		free(v[i].ecosystem);
	}
	free(v);
}
