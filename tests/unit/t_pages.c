/*
 * t_pages.c: listings as data (serve/listing.h) and their HTML
 * (serve/pages.h): entries sorted without duplicates, names escaped in
 * text and percent-encoded in hrefs.
 */
#include "mirrord/common.h"

#include "serve/listing.h"
#include "serve/pages.h"
#include "tests/unit/tap.h"

static bool
has(const struct buf *b, const char *s)
{
	return b->p != NULL && strstr(b->p, s) != NULL;
}

int
main(void)
{
	struct listing l = LISTING_INIT;
	struct buf b = BUF_INIT;

	listing_init(&l, LISTING_DIR, "demo/latest/dists/stable/");
	listing_add_entry(&l, "main/binary-amd64", 4, 0, true);
	listing_add_entry(&l, "Release", 7, 120, false);
	listing_add_entry(&l, "main/source", 4, 0, true);
	listing_add_entry(&l, "a<b>&\"c'", 8, 5, false);
	listing_sort_entries(&l);
	is_int((int)l.nentries, 3, "a directory met twice is listed once");
	is_str(l.entries[0].name, "Release", "sorted by name");
	is_str(l.entries[2].name, "main/", "a directory ends with '/'");
	pages_render(&l, &b);
	ok(has(&b, "<title>demo/latest/dists/stable/</title>"), "the title");
	ok(has(&b, "<a href=\"main/\">main/</a></td><td>-</td>"),
	    "a directory row");
	ok(has(&b, "<a href=\"Release\">Release</a></td><td>120</td>"),
	    "a file row with its size");
	ok(has(&b, "href=\"a%3Cb%3E%26%22c%27\""), "hrefs percent-encoded");
	ok(has(&b, ">a&lt;b&gt;&amp;&quot;c&#39;</a>"), "text HTML-escaped");
	ok(!has(&b, "<b>"), "no markup from a name");
	listing_release(&l);
	ok(l.entries == NULL && l.title == NULL, "released");

	buf_reset(&b);
	listing_init(&l, LISTING_DISTS, "demo/latest/dists/");
	listing_add_suite(&l, "stable");
	listing_add_suite(&l, "stable-updates");
	pages_render(&l, &b);
	ok(has(&b, "<li><a href=\"stable/\">stable/</a></li>\n"
	    "<li><a href=\"stable-updates/\">stable-updates/</a></li>\n"),
	    "the suites, in order");
	ok(has(&b, "<a href=\"../\">../</a>"), "a link up");
	listing_release(&l);

	buf_reset(&b);
	listing_init(&l, LISTING_REF, "demo/production/");
	l.snapshot = xstrdup("20260101T000000Z");
	pages_render(&l, &b);
	ok(has(&b, "<p>snapshot 20260101T000000Z</p>"), "a ref names its snapshot");
	ok(has(&b, "href=\"pool/\""), "and links its pool");
	listing_release(&l);
	buf_release(&b);
	return tap_done();
}
