/*
 * t_pages.c: listings as data (serve/listing.h) and their HTML
 * (serve/pages.h): entries sorted without duplicates, names escaped in
 * text and percent-encoded in hrefs; the release manager's channel page
 * (every section, each "unknown" when not gathered, hostile strings from
 * the log and the indices escaped) and the mirror's summary rows.
 */
#include "mirrord/common.h"

#include "mirrord/exposure.h"
#include "serve/listing.h"
#include "serve/pages.h"
#include "tests/unit/tap.h"

static size_t
count(const struct buf *b, const char *s)
{
	const char *p = b->p;
	size_t n = 0;

	while (p != NULL && (p = strstr(p, s)) != NULL) {
		n++;
		p += strlen(s);
	}
	return n;
}

static bool
has(const struct buf *b, const char *s)
{
	return b->p != NULL && strstr(b->p, s) != NULL;
}

static const char *S1 = "20261201T060000Z", *S2 = "20261202T060000Z";

/* An exposure of two items, the first with feed data; set into l. */
static void
set_exposure(struct listing *l)
{
	static char *cves[] = { "CVE-2026-1234", "CVE-2026-9" };
	static char *advs[] = { "DSA-5999-1" };
	struct exposure_item it[2] = {
		{ .source = "sec-a", .installed = "1.0-1", .fixed = "1.0-2",
		  .suite = "stable-security", .since = 1764568800,
		  .cves = cves, .ncves = 2, .advisories = advs,
		  .nadvisories = 1, .urgency = "high" },
		{ .source = "lib&co", .installed = "2.0-1", .fixed = "2.0-1+s1",
		  .suite = "stable-security", .since = 1764655200 },
	};
	struct exposure e;

	memset(&e, 0, sizeof(e));
	snprintf(e.latest, sizeof(e.latest), "%s", S2);
	e.items = it;
	e.n = 2;
	listing_set_exposure(l, &e);
}

static struct listing_rollout *
one_rollout(void)
{
	struct listing_rollout *r = xcalloc(1, sizeof(*r));

	r->name = xstrdup("weekly");
	r->status = xstrdup("halted");
	r->step = 1;
	r->nsteps = 3;
	r->this_step = 2;
	r->snapshot = xstrdup(S2);
	r->next = xstrdup("none: halted");
	r->check_at = 1764676800;
	r->check_out = xstrdup("exit 1: <disk> full");
	r->halt = xstrdup("check of staging failed: exit 1");
	return r;
}

/* A channel's page with every section filled. */
static void
channel_page(void)
{
	struct listing l = LISTING_INIT;
	struct listing_dash *d = &l.dash;
	struct buf b = BUF_INIT;

	listing_init(&l, LISTING_REF, "demo/production/");
	l.snapshot = xstrdup("20261203T000000Z");
	set_exposure(&l);
	d->is_channel = true;
	d->channel = xstrdup("production");
	d->target = xstrdup("20261203T000000Z");
	d->kind = xstrdup("phase");
	d->phase_of = xstrdup(S2);
	d->phase_pct = 50;
	d->moved_at = 1764720000;
	d->moved_by = xstrdup("rm@host");
	d->rollouts_known = true;
	d->rollouts = one_rollout();
	d->nrollouts = 1;
	d->adoption = (struct listing_adoption){ true, 4, 3, 1 };
	d->moves_known = true;
	d->moves = xcalloc(1, sizeof(*d->moves));
	d->nmoves = 1;
	d->moves[0] = (struct listing_move){ 1764720000, xstrdup("promote"),
	    xstrdup(S1), xstrdup(S2), xstrdup("rm@host"),
	    xstrdup("<script>alert(\"x\")</script> it's '<b>ticket</b>'") };
	d->diff.known = true;
	d->diff.latest = xstrdup(S2);
	d->diff.upgraded = 2;
	d->diff.added = 1;
	d->diff.lines = xcalloc(1, sizeof(char *));
	d->diff.lines[0] = xstrdup("added stable lib&co/amd64 - -> 1.0");
	d->diff.nlines = 1;
	pages_render(&l, &b);
	ok(has(&b, "<meta name=\"viewport\" content=\"width=device-width"),
	    "a viewport for phones");
	ok(!has(&b, "<script"), "no script at all, even from a message");
	ok(has(&b, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; it&#39;s "
	    "&#39;&lt;b&gt;ticket&lt;/b&gt;&#39;"), "the message escaped");
	ok(!has(&b, "<b>ticket"), "no markup from a message");
	ok(has(&b, "<b class=\"target\">20261203T000000Z</b> (phase)"),
	    "the target and its kind");
	ok(has(&b, "a phase of 20261202T060000Z at <b class=\"phase\">50%"),
	    "what the phase copies, its percentage");
	ok(has(&b, "moved 2025-12-03T00:00:00Z by rm@host"),
	    "when and by whom it moved");
	ok(has(&b, "Security updates pending: 2</h2>"), "the pending count");
	ok(has(&b, "<td>sec-a</td><td>1.0-1</td><td>1.0-2</td>"
	    "<td>stable-security</td><td>2025-12-01T06:00:00Z</td>"),
	    "a pending fix: versions, suite, since");
	ok(has(&b, "CVE-2026-1234 CVE-2026-9 (high) DSA-5999-1"),
	    "its CVEs, urgency and advisory");
	ok(has(&b, "<td>lib&amp;co</td>"), "a package name with & escaped");
	ok(!has(&b, "lib&co"), "nowhere raw");
	ok(has(&b, "plan <b>weekly</b>: <span class=\"state\">halted</span>, "
	    "step 2 of 3, snapshot 20261202T060000Z"), "the plan's state, step");
	ok(has(&b, "next: none: halted"), "its next action");
	ok(has(&b, "last check: 2025-12-02T12:00:00Z failed: exit 1: "
	    "&lt;disk&gt; full"), "its last check, escaped");
	ok(has(&b, "<b>halted:</b> check of staging failed"), "why it halted");
	ok(has(&b, "4 clients in the window; 3 (75%) took the new indices; "
	    "1 (25%) upgraded"), "adoption: numbers and percentages");
	ok(has(&b, "<b>promote</b> 20261201T060000Z &rarr; 20261202T060000Z "
	    "by rm@host"), "a move: action, from, to, by");
	ok(has(&b, "1 added, 0 removed, 2 upgraded, 0 downgraded"),
	    "the diff's counts");
	ok(has(&b, "<code>added stable lib&amp;co/amd64 - -&gt; 1.0</code>"),
	    "a diff line, escaped");
	listing_release(&l);
	ok(l.dash.moves == NULL && l.pending == NULL, "released");

	/* Nothing gathered: each section says so; the page still renders. */
	buf_reset(&b);
	listing_init(&l, LISTING_REF, "demo/staging/");
	l.dash.is_channel = true;
	l.dash.target = xstrdup(S1);
	l.dash.kind = xstrdup("");
	l.dash.moved_by = xstrdup("");
	l.dash.phase_pct = -1;
	pages_render(&l, &b);
	ok(count(&b, "class=\"unknown\">unknown") == 5,
	    "exposure, rollout, adoption, moves, diff: unknown");
	ok(!has(&b, "a phase of"), "no phase line for a plain snapshot");
	listing_release(&l);

	/* The same as latest. */
	buf_reset(&b);
	listing_init(&l, LISTING_REF, "demo/staging/");
	l.dash.is_channel = true;
	l.dash.target = xstrdup(S2);
	l.dash.kind = xstrdup("sync");
	l.dash.moved_by = xstrdup("");
	l.dash.diff.known = true;
	l.dash.diff.same = true;
	l.dash.diff.latest = xstrdup(S2);
	l.dash.rollouts_known = true;
	pages_render(&l, &b);
	ok(has(&b, "same as latest"), "same as latest");
	ok(has(&b, "no rollout plan has a step on it"), "no plan");
	listing_release(&l);
	buf_release(&b);
}

/* A mirror's page: a summary row per channel. */
static void
mirror_page(void)
{
	struct listing l = LISTING_INIT;
	struct listing_channel *c;
	struct buf b = BUF_INIT;

	listing_init(&l, LISTING_MIRROR, "demo");
	l.mirrors = xcalloc(1, sizeof(*l.mirrors));
	l.nmirrors = 1;
	l.mirrors[0].name = xstrdup("demo");
	l.mirrors[0].chans = c = xcalloc(2, sizeof(*c));
	l.mirrors[0].nchans = 2;
	c[0] = (struct listing_channel){ .name = xstrdup("production"),
	    .target = xstrdup(S2), .moved_at = 1764720000,
	    .have_summary = true, .pending = 2, .phase = 50,
	    .rollouts_known = true, .rollouts = one_rollout(),
	    .nrollouts = 1, .adoption = { true, 10, 5, 0 } };
	c[1] = (struct listing_channel){ .name = xstrdup("a&b"),
	    .target = xstrdup(S1), .have_summary = true, .pending = -1,
	    .phase = -1 };
	pages_render(&l, &b);
	ok(has(&b, "<a href=\"production/\">production</a></b> &rarr; "
	    "20261202T060000Z (phase 50%)"), "a row: target, phase");
	ok(has(&b, "security: 2 pending"), "its pending fixes");
	ok(has(&b, "rollout weekly: halted, step 2 of 3, next: none: halted"),
	    "its rollout");
	ok(has(&b, "fleet: 10 clients, 5 (50%) new indices, 0 (0%) upgraded"),
	    "its adoption");
	ok(has(&b, "href=\"a%26b/\">a&amp;b</a>"), "a name escaped");
	ok(has(&b, "security: unknown") && has(&b, "rollout: unknown") &&
	    has(&b, "fleet: unknown"), "unknown sections of a row");
	listing_release(&l);
	buf_release(&b);
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
	channel_page();
	mirror_page();
	return tap_done();
}
