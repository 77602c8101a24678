/*
 * escape.h: every escaping of text the server sends or logs (private to
 * serve/): percent-encoding for URLs, HTML escaping for listings, and
 * the access log's \xNN.
 *
 * One place rather than one per user, because two layers need the same
 * rule: route.c percent-encodes a redirect's Location, pages.c the
 * hrefs of a listing, and they must agree on what a name's URL is; and
 * neither may include the other (route decides, pages renders).
 *
 * Threads: pure functions; safe from any thread.
 */
#ifndef SERVE_ESCAPE_H
#define SERVE_ESCAPE_H

#include "mirrord/common.h"

/*
 * Appends s percent-encoded for a URL path or an HTML href: every byte
 * but [A-Za-z0-9-._~/+:@] as %XX.
 */
void escape_url(struct buf *b, const char *s);

/*
 * Appends s HTML-escaped: &, <, >, ", ' as entities, control bytes as
 * the visible symbols of U+2400.
 */
void escape_html(struct buf *b, const char *s);

/*
 * Writes s into out (n bytes, no NUL added) with control bytes,
 * non-ASCII, '"' and '\\' as \xNN, stopping 8 bytes short of n, and
 * after max bytes of s with "...". Returns the bytes written.
 */
size_t escape_log(char *out, size_t n, const char *s, size_t max);

#endif
