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

#endif
