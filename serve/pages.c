/*
 * pages.c: plain HTML listings of mirrors, refs and dists directories,
 * rendered from a struct listing (listing.h) that route.c filled.
 *
 * Nothing here echoes the request: pages print names from the store and
 * the configuration only, HTML-escaped, with percent-encoded hrefs.
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/fmt.h"
#include "serve/escape.h"
#include "serve/listing.h"
#include "serve/pages.h"

/* <a href="HREF">TEXT</a>, href percent-encoded, then HTML-escaped. */
void
pages_link(struct buf *b, const char *href, const char *text)
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
	/* Readable on a phone: the device's width, and text that wraps. */
	buf_adds(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<style>body{font-family:sans-serif;"
	    "max-width:60em;margin:0 auto;padding:0 .5em;"
	    "overflow-wrap:break-word}table{border-collapse:collapse}"
	    "td,th{padding:.1em .4em;text-align:left;vertical-align:top}"
	    "li{margin:.3em 0}.unknown{color:#a00}"
	    "@media(max-width:40em){table.pending tr{display:block;"
	    "margin:.4em 0}table.pending td{display:inline;padding:0 .2em}"
	    "table.pending tr:first-child{display:none}}</style>\n"
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

/* The table of a mirror's snapshots (newest first); prefix for hrefs. */
static void
snapshots_table(const struct listing_mirror *m, const char *prefix,
    struct buf *b)
{
	char when[FMT_TIME_MAX];
	size_t i;

	buf_adds(b, "<table>\n<tr><th>snapshot</th><th>time</th>"
	    "<th>packages</th></tr>\n");
	for (i = 0; i < m->nsnaps; i++) {
		const struct listing_snapshot *sn = &m->snaps[i];
		char *href;

		href = xasprintf("%s%s/", prefix, sn->id);
		fmt_time_iso(sn->time, when);
		buf_adds(b, "<tr><td>");
		pages_link(b, href, sn->id);
		buf_adds(b, "</td><td>");
		escape_html(b, when);
		buf_addf(b, "</td><td>%llu</td></tr>\n",
		    (unsigned long long)sn->packages);
		free(href);
	}
	buf_adds(b, "</table>\n");
}

static void
channels_table(const struct listing_mirror *m, const char *prefix,
    struct buf *b)
{
	char when[FMT_TIME_MAX];
	size_t i;

	if (m->nchans > 0)
		buf_adds(b, "<table>\n<tr><th>channel</th><th>target</th>"
		    "<th>moved</th></tr>\n");
	for (i = 0; i < m->nchans; i++) {
		const struct listing_channel *ch = &m->chans[i];
		char *href;

		fmt_time_iso(ch->moved_at, when);
		buf_adds(b, "<tr><td>");
		href = xasprintf("%s%s/", prefix, ch->name);
		pages_link(b, href, ch->name);
		free(href);
		buf_adds(b, "</td><td>");
		href = xasprintf("%s%s/", prefix, ch->target);
		pages_link(b, href, ch->target);
		free(href);
		buf_adds(b, "</td><td>");
		escape_html(b, when);
		buf_adds(b, "</td></tr>\n");
	}
	if (m->nchans > 0)
		buf_adds(b, "</table>\n");
}

static void
root(const struct listing *l, struct buf *b)
{
	size_t i;

	for (i = 0; i < l->nmirrors; i++) {
		const struct listing_mirror *m = &l->mirrors[i];
		char *prefix = xasprintf("%s/", m->name);

		buf_adds(b, "<h2>");
		pages_link(b, prefix, m->name);
		buf_adds(b, "</h2>\n");
		snapshots_table(m, prefix, b);
		channels_table(m, prefix, b);
		free(prefix);
	}
}

static void
mirror(const struct listing *l, struct buf *b)
{
	buf_adds(b, "<p>");
	pages_link(b, "../", "../");
	buf_adds(b, "</p>\n<ul><li>");
	pages_link(b, "latest/", "latest/");
	buf_adds(b, "</li></ul>\n");
	if (l->nmirrors > 0 && l->mirrors[0].nchans > 0 &&
	    l->mirrors[0].chans[0].have_summary)
		pages_mirror_summary(&l->mirrors[0], b);
	else if (l->nmirrors > 0)
		channels_table(&l->mirrors[0], "", b);
	if (l->nmirrors > 0)
		snapshots_table(&l->mirrors[0], "", b);
}

static void
ref(const struct listing *l, struct buf *b)
{
	buf_adds(b, "<p>snapshot ");
	escape_html(b, l->snapshot != NULL ? l->snapshot : "");
	buf_adds(b, "</p>\n<ul>\n<li>");
	pages_link(b, "../", "../");
	buf_adds(b, "</li>\n<li>");
	pages_link(b, "dists/", "dists/");
	buf_adds(b, "</li>\n<li>");
	pages_link(b, "pool/", "pool/");
	buf_adds(b, "</li>\n</ul>\n");
	if (l->dash.is_channel)
		pages_channel(l, b);
	else if (l->have_exposure)
		pages_pending(l, b);
}

static void
dists(const struct listing *l, struct buf *b)
{
	size_t i;

	buf_adds(b, "<ul>\n<li>");
	pages_link(b, "../", "../");
	buf_adds(b, "</li>\n");
	for (i = 0; i < l->nsuites; i++) {
		char *href = xasprintf("%s/", l->suites[i]);

		buf_adds(b, "<li>");
		pages_link(b, href, href);
		buf_adds(b, "</li>\n");
		free(href);
	}
	buf_adds(b, "</ul>\n");
}

static void
dir(const struct listing *l, struct buf *b)
{
	const struct listing_entry *e;
	size_t i;

	buf_adds(b, "<table>\n<tr><td>");
	pages_link(b, "../", "../");
	buf_adds(b, "</td><td></td></tr>\n");
	for (i = 0; i < l->nentries; i++) {
		e = &l->entries[i];
		buf_adds(b, "<tr><td>");
		pages_link(b, e->name, e->name);
		if (e->dir)
			buf_adds(b, "</td><td>-</td></tr>\n");
		else
			buf_addf(b, "</td><td>%llu</td></tr>\n",
			    (unsigned long long)e->size);
	}
	buf_adds(b, "</table>\n");
}

void
pages_render(const struct listing *l, struct buf *b)
{
	head(b, l->title != NULL ? l->title : "");
	switch (l->kind) {
	case LISTING_ROOT:
		root(l, b);
		break;
	case LISTING_MIRROR:
		mirror(l, b);
		break;
	case LISTING_REF:
		ref(l, b);
		break;
	case LISTING_DISTS:
		dists(l, b);
		break;
	case LISTING_DIR:
		dir(l, b);
		break;
	default:
		break;
	}
	foot(b);
}
