/*
 * pages_channel.c: the release manager's sections of the pages (issue
 * 16): a channel's target, pending security fixes, rollouts, fleet
 * adoption, last moves and diff against latest; a mirror's summary row
 * per channel. Rendered from the listing dashboard.c filled; a section
 * that could not be read says "unknown". Plain HTML that wraps (lists,
 * not wide tables), every string escaped.
 */
#include "mirrord/common.h"

#include "mirrord/fmt.h"
#include "serve/escape.h"
#include "serve/listing.h"
#include "serve/pages.h"

/* An ISO time, escaped; "never" for 0. */
static void
when(struct buf *b, int64_t t)
{
	char s[FMT_TIME_MAX];

	if (t == 0) {
		buf_adds(b, "never");
		return;
	}
	fmt_time_iso(t, s);
	escape_html(b, s);
}

/* "n (p%)" of total, or "n" when total is 0. */
static void
share(struct buf *b, uint64_t n, uint64_t total)
{
	buf_addf(b, "%llu", (unsigned long long)n);
	if (total > 0)
		buf_addf(b, " (%llu%%)",
		    (unsigned long long)(n * 100 / total));
}

static void
unknown(struct buf *b)
{
	buf_adds(b, "<p class=\"unknown\">unknown</p>\n");
}

/*
 * The security fixes the ref lacks: a table (its cells wrap), or a line
 * saying none.
 */
void
pages_pending(const struct listing *l, struct buf *b)
{
	size_t i, k;

	buf_addf(b, "<h2>Security updates pending: %zu</h2>\n", l->npending);
	buf_adds(b, "<p>against latest (");
	escape_html(b, l->exposure_latest ? l->exposure_latest : "");
	buf_adds(b, ")</p>\n");
	if (l->npending == 0)
		return;
	buf_adds(b, "<table class=\"pending\">\n<tr><th>source</th>"
	    "<th>installed</th><th>fixed</th><th>suite</th>"
	    "<th>pending since</th><th>advisories</th></tr>\n");
	for (i = 0; i < l->npending; i++) {
		const struct listing_pending *p = &l->pending[i];
		const char *cell[4] = { p->source, p->installed, p->fixed,
		    p->suite };

		buf_adds(b, "<tr>");
		for (k = 0; k < 4; k++) {
			buf_adds(b, "<td>");
			escape_html(b, cell[k]);
			buf_adds(b, "</td>");
		}
		buf_adds(b, "<td>");
		when(b, p->since);
		buf_adds(b, "</td><td>");
		escape_html(b, p->cves != NULL ? p->cves : "");
		if (p->urgency != NULL && p->urgency[0] != '\0') {
			buf_adds(b, " (");
			escape_html(b, p->urgency);
			buf_adds(b, ")");
		}
		if (p->advisories != NULL && p->advisories[0] != '\0') {
			buf_adds(b, " ");
			escape_html(b, p->advisories);
		}
		buf_adds(b, "</td></tr>\n");
	}
	buf_adds(b, "</table>\n");
}

/* One plan: state, step, snapshot, next action, last check, halt. */
static void
rollout_item(const struct listing_rollout *r, struct buf *b)
{
	buf_adds(b, "<li>plan <b>");
	escape_html(b, r->name);
	buf_adds(b, "</b>: <span class=\"state\">");
	escape_html(b, r->status);
	if (r->paused)
		buf_adds(b, " (paused)");
	buf_addf(b, "</span>, step %d of %zu", r->step + 1, r->nsteps);
	if (r->snapshot[0] != '\0') {
		buf_adds(b, ", snapshot ");
		escape_html(b, r->snapshot);
	}
	if (r->phasing)
		buf_addf(b, ", phased at %u%%", r->phase);
	buf_adds(b, "<br>next: ");
	escape_html(b, r->next);
	if (r->next_at > 0) {
		buf_adds(b, " at ");
		when(b, r->next_at);
	}
	buf_adds(b, "<br>last check: ");
	if (r->check_at == 0) {
		buf_adds(b, "none yet");
	} else {
		when(b, r->check_at);
		buf_adds(b, r->check_ok ? " passed: " : " failed: ");
		escape_html(b, r->check_out);
	}
	if (r->halt[0] != '\0') {
		buf_adds(b, "<br><b>halted:</b> ");
		escape_html(b, r->halt);
	}
	buf_adds(b, "</li>\n");
}

static void
rollouts(bool known, const struct listing_rollout *v, size_t n,
    struct buf *b)
{
	size_t i;

	if (!known) {
		unknown(b);
		return;
	}
	if (n == 0) {
		buf_adds(b, "<p>no rollout plan has a step on it</p>\n");
		return;
	}
	buf_adds(b, "<ul class=\"rollouts\">\n");
	for (i = 0; i < n; i++)
		rollout_item(&v[i], b);
	buf_adds(b, "</ul>\n");
}

static void
adoption(const struct listing_adoption *a, struct buf *b)
{
	if (!a->known) {
		unknown(b);
		return;
	}
	buf_addf(b, "<p class=\"fleet\">%llu clients in the window; ",
	    (unsigned long long)a->clients);
	share(b, a->indices, a->clients);
	buf_adds(b, " took the new indices; ");
	share(b, a->upgraded, a->clients);
	buf_adds(b, " upgraded</p>\n");
}

static void
target(const struct listing_dash *d, struct buf *b)
{
	buf_adds(b, "<h2>Target</h2>\n<p>serves <b class=\"target\">");
	escape_html(b, d->target);
	buf_adds(b, "</b>");
	if (d->kind[0] != '\0') {
		buf_adds(b, " (");
		escape_html(b, d->kind);
		buf_adds(b, ")");
	}
	if (d->phase_of != NULL) {
		buf_adds(b, "<br>a phase of ");
		escape_html(b, d->phase_of);
		buf_addf(b, " at <b class=\"phase\">%d%%</b>", d->phase_pct);
	}
	buf_adds(b, "<br>moved ");
	when(b, d->moved_at);
	buf_adds(b, " by ");
	escape_html(b, d->moved_by);
	buf_adds(b, "</p>\n");
}

static void
moves(const struct listing_dash *d, struct buf *b)
{
	size_t i;

	buf_adds(b, "<h2>Last moves</h2>\n");
	if (!d->moves_known) {
		unknown(b);
		return;
	}
	buf_adds(b, "<ol class=\"moves\">\n");
	for (i = 0; i < d->nmoves; i++) {
		const struct listing_move *m = &d->moves[i];

		buf_adds(b, "<li>");
		when(b, m->time);
		buf_adds(b, " <b>");
		escape_html(b, m->action);
		buf_adds(b, "</b> ");
		escape_html(b, m->from[0] != '\0' ? m->from : "(none)");
		buf_adds(b, " &rarr; ");
		escape_html(b, m->to);
		buf_adds(b, " by ");
		escape_html(b, m->by);
		if (m->message[0] != '\0') {
			buf_adds(b, ": <q>");
			escape_html(b, m->message);
			buf_adds(b, "</q>");
		}
		buf_adds(b, "</li>\n");
	}
	buf_adds(b, "</ol>\n");
}

static void
diff(const struct listing_diff *df, struct buf *b)
{
	size_t i;

	buf_adds(b, "<h2>Against latest</h2>\n");
	if (!df->known) {
		unknown(b);
		return;
	}
	buf_adds(b, "<p class=\"diff\">latest is ");
	escape_html(b, df->latest);
	if (df->same) {
		buf_adds(b, ": same as latest</p>\n");
		return;
	}
	buf_addf(b, ": %zu added, %zu removed, %zu upgraded, "
	    "%zu downgraded</p>\n", df->added, df->removed, df->upgraded,
	    df->downgraded);
	buf_adds(b, "<ul class=\"difflines\">\n");
	for (i = 0; i < df->nlines; i++) {
		buf_adds(b, "<li><code>");
		escape_html(b, df->lines[i]);
		buf_adds(b, "</code></li>\n");
	}
	buf_adds(b, "</ul>\n");
}

void
pages_channel(const struct listing *l, struct buf *b)
{
	const struct listing_dash *d = &l->dash;

	target(d, b);
	if (l->have_exposure)
		pages_pending(l, b);
	else
		buf_adds(b, "<h2>Security updates pending</h2>\n"
		    "<p class=\"unknown\">unknown</p>\n");
	buf_adds(b, "<h2>Rollout</h2>\n");
	rollouts(d->rollouts_known, d->rollouts, d->nrollouts, b);
	buf_adds(b, "<h2>Fleet adoption</h2>\n");
	adoption(&d->adoption, b);
	moves(d, b);
	diff(&d->diff, b);
}

/* A plan in one line: "NAME running, step 2 of 3, next: X at T". */
static void
rollout_line(const struct listing_rollout *r, struct buf *b)
{
	buf_adds(b, "<br>rollout ");
	escape_html(b, r->name);
	buf_adds(b, ": ");
	escape_html(b, r->status);
	if (r->paused)
		buf_adds(b, " (paused)");
	buf_addf(b, ", step %d of %zu, next: ", r->step + 1, r->nsteps);
	escape_html(b, r->next);
	if (r->next_at > 0) {
		buf_adds(b, " at ");
		when(b, r->next_at);
	}
}

/* A channel's summary: target, moved, security, rollouts, fleet. */
static void
summary(const struct listing_channel *c, struct buf *b)
{
	char *href = xasprintf("%s/", c->name);
	size_t i;

	buf_adds(b, "<li><b>");
	pages_link(b, href, c->name);
	free(href);
	buf_adds(b, "</b> &rarr; ");
	escape_html(b, c->target);
	if (c->phase >= 0)
		buf_addf(b, " (phase %d%%)", c->phase);
	buf_adds(b, "<br>moved ");
	when(b, c->moved_at);
	if (c->pending < 0)
		buf_adds(b, "<br>security: unknown");
	else
		buf_addf(b, "<br>security: %ld pending", c->pending);
	if (!c->rollouts_known)
		buf_adds(b, "<br>rollout: unknown");
	for (i = 0; i < c->nrollouts; i++)
		rollout_line(&c->rollouts[i], b);
	buf_adds(b, "<br>fleet: ");
	if (!c->adoption.known) {
		buf_adds(b, "unknown");
	} else {
		buf_addf(b, "%llu clients, ",
		    (unsigned long long)c->adoption.clients);
		share(b, c->adoption.indices, c->adoption.clients);
		buf_adds(b, " new indices, ");
		share(b, c->adoption.upgraded, c->adoption.clients);
		buf_adds(b, " upgraded");
	}
	buf_adds(b, "</li>\n");
}

void
pages_mirror_summary(const struct listing_mirror *m, struct buf *b)
{
	size_t i;

	buf_adds(b, "<h2>Channels</h2>\n<ul class=\"channels\">\n");
	for (i = 0; i < m->nchans; i++)
		summary(&m->chans[i], b);
	buf_adds(b, "</ul>\n");
}
