/*
 * pages.c: plain HTML listings of mirrors, refs and dists directories.
 *
 * Nothing here echoes the request: pages print names from the store and
 * the configuration only, HTML-escaped, with percent-encoded hrefs.
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/channel.h"
#include "mirrord/snap.h"
#include "serve/escape.h"
#include "serve/pages.h"
#include "serve/route.h"

/* <a href="HREF">TEXT</a>, href percent-encoded, then HTML-escaped. */
static void
a_href(struct buf *b, const char *href, const char *text)
{
	struct buf u = BUF_INIT;

	escape_url(&u, href);
	buf_adds(b, "<a href=\"");
	escape_html(b, u.p);
	buf_adds(b, "\">");
	escape_html(b, text);
	buf_adds(b, "</a>");
	buf_release(&u);
}

static void
head(struct buf *b, const char *title)
{
	buf_adds(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<title>");
	escape_html(b, title);
	buf_adds(b, "</title></head>\n<body>\n<h1>");
	escape_html(b, title);
	buf_adds(b, "</h1>\n");
}

static void
foot(struct buf *b)
{
	buf_adds(b, "</body></html>\n");
}

static void
fmt_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The table of a mirror's snapshots (newest first); prefix for hrefs. */
static int
snapshots_table(const char *mirror, const char *prefix, struct store_txn *t,
    struct buf *b, struct merr *err)
{
	char **ids, when[32];
	size_t n, i;
	int rc;

	rc = snap_list(t, mirror, &ids, &n, err);
	if (rc)
		return rc;
	buf_adds(b, "<table>\n<tr><th>snapshot</th><th>time</th>"
	    "<th>packages</th></tr>\n");
	for (i = n; i-- > 0; ) {
		struct snap sn;
		char *href;

		rc = snap_load(t, mirror, ids[i], &sn, err);
		if (rc)
			break;
		href = xasprintf("%s%s/", prefix, sn.id);
		fmt_time(sn.time, when);
		buf_adds(b, "<tr><td>");
		a_href(b, href, sn.id);
		buf_adds(b, "</td><td>");
		escape_html(b, when);
		buf_addf(b, "</td><td>%llu</td></tr>\n",
		    (unsigned long long)sn.packages);
		free(href);
		snap_release(&sn);
	}
	buf_adds(b, "</table>\n");
	snap_list_free(ids, n);
	return rc;
}

static int
channels_table(const char *mirror, const char *prefix, struct store_txn *t,
    struct buf *b, struct merr *err)
{
	char **names, when[32];
	size_t n, i;
	int rc;

	rc = channel_list(t, mirror, &names, &n, err);
	if (rc)
		return rc;
	if (n > 0)
		buf_adds(b, "<table>\n<tr><th>channel</th><th>target</th>"
		    "<th>moved</th></tr>\n");
	for (i = 0; i < n && rc == 0; i++) {
		struct channel ch;
		char *href;

		rc = channel_get(t, mirror, names[i], &ch, err);
		if (rc)
			break;
		fmt_time(ch.moved_at, when);
		buf_adds(b, "<tr><td>");
		href = xasprintf("%s%s/", prefix, ch.name);
		a_href(b, href, ch.name);
		free(href);
		buf_adds(b, "</td><td>");
		href = xasprintf("%s%s/", prefix, ch.target);
		a_href(b, href, ch.target);
		free(href);
		buf_adds(b, "</td><td>");
		escape_html(b, when);
		buf_adds(b, "</td></tr>\n");
		channel_release(&ch);
	}
	if (n > 0)
		buf_adds(b, "</table>\n");
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int
pages_root(const struct conf *c, struct store_txn *t, struct buf *b,
    struct merr *err)
{
	size_t i;
	int rc = 0;

	head(b, "mirrord");
	for (i = 0; i < c->nmirrors && rc == 0; i++) {
		const char *m = c->mirrors[i].name;
		char *prefix = xasprintf("%s/", m);

		buf_adds(b, "<h2>");
		a_href(b, prefix, m);
		buf_adds(b, "</h2>\n");
		rc = snapshots_table(m, prefix, t, b, err);
		if (rc == 0)
			rc = channels_table(m, prefix, t, b, err);
		free(prefix);
	}
	foot(b);
	return rc;
}

int
pages_mirror(const char *mirror, struct store_txn *t, struct buf *b,
    struct merr *err)
{
	int rc;

	head(b, mirror);
	buf_adds(b, "<p>");
	a_href(b, "../", "../");
	buf_adds(b, "</p>\n<ul><li>");
	a_href(b, "latest/", "latest/");
	buf_adds(b, "</li></ul>\n");
	rc = channels_table(mirror, "", t, b, err);
	if (rc == 0)
		rc = snapshots_table(mirror, "", t, b, err);
	foot(b);
	return rc;
}

static void
title3(struct buf *t, const char *mirror, const char *ref, const char *rest)
{
	buf_reset(t);
	buf_addf(t, "%s/%s/%s", mirror, ref, rest);
}

void
pages_ref(const char *mirror, const char *ref, const struct snap *sn,
    struct buf *b)
{
	struct buf t = BUF_INIT;

	title3(&t, mirror, ref, "");
	head(b, t.p);
	buf_adds(b, "<p>snapshot ");
	escape_html(b, sn->id);
	buf_adds(b, "</p>\n<ul>\n<li>");
	a_href(b, "../", "../");
	buf_adds(b, "</li>\n<li>");
	a_href(b, "dists/", "dists/");
	buf_adds(b, "</li>\n<li>");
	a_href(b, "pool/", "pool/");
	buf_adds(b, "</li>\n</ul>\n");
	foot(b);
	buf_release(&t);
}

void
pages_dists(const char *mirror, const char *ref, const struct snap *sn,
    struct buf *b)
{
	struct buf t = BUF_INIT;
	size_t i;

	title3(&t, mirror, ref, "dists/");
	head(b, t.p);
	buf_adds(b, "<ul>\n<li>");
	a_href(b, "../", "../");
	buf_adds(b, "</li>\n");
	for (i = 0; i < sn->nsuites; i++) {
		char *href = xasprintf("%s/", sn->suites[i].name);

		buf_adds(b, "<li>");
		a_href(b, href, href);
		buf_adds(b, "</li>\n");
		free(href);
	}
	buf_adds(b, "</ul>\n");
	foot(b);
	buf_release(&t);
}

/* One line of a directory listing: a name ("x/" for a directory). */
struct entry {
	char *name;
	uint64_t size;
	bool dir;
};

struct entries {
	struct entry *v;
	size_t n;
};

static void
entry_add(struct entries *e, const char *name, size_t len, uint64_t size,
    bool dir)
{
	e->v = xreallocarray(e->v, e->n + 1, sizeof(*e->v));
	e->v[e->n].name = dir ? xasprintf("%.*s/", (int)len, name) :
	    xstrndup(name, len);
	e->v[e->n].size = size;
	e->v[e->n].dir = dir;
	e->n++;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
	    ((const struct entry *)b)->name);
}

/*
 * Adds the entries of files (a suite's) right under dir. by-hash: the
 * files of the parent directory of "by-hash/SHA256/", named by hash.
 * skip_release: leave out Release files (the channel has its own).
 */
static void
collect(struct entries *e, const struct snap_file *files, size_t n,
    const char *dir, bool skip_release)
{
	size_t dl = strlen(dir), pl, i;
	const char *parent = NULL;
	bool sha = false;

	if (str_endswith(dir, "by-hash/SHA256/")) {
		pl = dl - strlen("by-hash/SHA256/");
		sha = true;
	} else if (str_endswith(dir, "by-hash/"))
		pl = dl - strlen("by-hash/");
	else
		pl = dl;
	if (pl != dl)
		parent = dir;
	for (i = 0; i < n; i++) {
		const struct snap_file *f = &files[i];
		const char *rest, *sl;

		if (skip_release && route_is_release(f->path))
			continue;
		if (strncmp(f->path, dir, pl) != 0)
			continue;
		rest = f->path + pl;
		sl = strchr(rest, '/');
		if (parent != NULL) {
			char hex[HASH_HEX_LEN + 1];

			/* Only indices right in the parent have a hash URL. */
			if (sl != NULL || route_is_release(f->path))
				continue;
			if (sha) {
				hash_to_hex(f->hash, hex);
				entry_add(e, hex, HASH_HEX_LEN, f->size, false);
			} else
				entry_add(e, "SHA256", 6, 0, true);
			continue;
		}
		if (sl != NULL)
			entry_add(e, rest, (size_t)(sl - rest), 0, true);
		else {
			entry_add(e, rest, strlen(rest), f->size, false);
			if (!route_is_release(f->path))
				entry_add(e, "by-hash", 7, 0, true);
		}
	}
}

bool
pages_suite_dir(const char *mirror, const char *ref, const struct snap *sn,
    const struct channel *ch, const char *suite, const char *dir,
    struct buf *b)
{
	const struct snap_suite *su = snap_find_suite(sn, suite);
	const struct snap_suite *cs = NULL;
	struct entries e = { NULL, 0 };
	struct buf t = BUF_INIT;
	size_t i, j;

	if (su == NULL)
		return false;
	for (i = 0; ch != NULL && ch->name[0] != '\0' && i < ch->nsuites; i++)
		if (strcmp(ch->suites[i].name, suite) == 0)
			cs = &ch->suites[i];
	collect(&e, su->files, su->nfiles, dir, ch != NULL &&
	    ch->name[0] != '\0');
	if (cs != NULL)
		collect(&e, cs->files, cs->nfiles, dir, false);
	if (e.n == 0)
		return false;
	/* Sort, then drop duplicates (directories are met once a file). */
	qsort(e.v, e.n, sizeof(*e.v), entry_cmp);
	for (i = j = 0; i < e.n; i++) {
		if (j > 0 && strcmp(e.v[j - 1].name, e.v[i].name) == 0) {
			free(e.v[i].name);
			continue;
		}
		e.v[j++] = e.v[i];
	}
	e.n = j;

	buf_addf(&t, "%s/%s/dists/%s/%s", mirror, ref, suite, dir);
	head(b, t.p);
	buf_adds(b, "<table>\n<tr><td>");
	a_href(b, "../", "../");
	buf_adds(b, "</td><td></td></tr>\n");
	for (i = 0; i < e.n; i++) {
		buf_adds(b, "<tr><td>");
		a_href(b, e.v[i].name, e.v[i].name);
		if (e.v[i].dir)
			buf_adds(b, "</td><td>-</td></tr>\n");
		else
			buf_addf(b, "</td><td>%llu</td></tr>\n",
			    (unsigned long long)e.v[i].size);
		free(e.v[i].name);
	}
	buf_adds(b, "</table>\n");
	foot(b);
	free(e.v);
	buf_release(&t);
	return true;
}
