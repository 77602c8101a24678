/*
 * pages.h: the HTML listings (private to serve/).
 *
 * Renders a struct listing (listing.h), which route.c filled, as one
 * plain HTML page. Every string printed is HTML-escaped, every href
 * percent-encoded (escape.h). Links are relative, so a listing is only
 * served at a URL ending with '/' (route.c redirects to it).
 *
 * Threads: pure; safe from any thread. Nothing fails but memory, which
 * aborts.
 */
#ifndef SERVE_PAGES_H
#define SERVE_PAGES_H

#include "mirrord/common.h"
#include "serve/listing.h"

/* Appends the page of l to b (l is borrowed). */
void pages_render(const struct listing *l, struct buf *b);

/*
 * For pages.c and pages_channel.c: a link (href percent-encoded, text
 * escaped); the pending security fixes of a REF listing; the channel's
 * sections (l->dash); a mirror's summary row per channel.
 */
void pages_link(struct buf *b, const char *href, const char *text);
void pages_pending(const struct listing *l, struct buf *b);
void pages_channel(const struct listing *l, struct buf *b);
void pages_mirror_summary(const struct listing_mirror *m, struct buf *b);

#endif
