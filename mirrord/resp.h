/*
 * resp.h: what the headers of an HTTP response say that a transfer acts
 * on: its status, Retry-After, Content-Range, a Content-Length over the
 * cap, a redirect to a URL with control characters, and the validators
 * (ETag, Last-Modified) of a conditional request. Pure: no I/O, no
 * libcurl (fetch.c feeds it the lines curl hands over).
 *
 * Threads: a struct resp belongs to the one transfer that fills it.
 */
#ifndef MIRRORD_RESP_H
#define MIRRORD_RESP_H

#include "mirrord/common.h"

#define RESP_HDR_MAX	512	/* longest validator kept */

/* What one response said in its headers (reset at each status line). */
struct resp {
	long status;		/* from the status line, 0 if none yet */
	long retry_after;	/* seconds, -1 if absent or not seconds */
	int64_t cr_start;	/* first byte of Content-Range, -1 if absent */
	bool bad_location;	/* a Location with control characters */
	char etag[RESP_HDR_MAX];	/* "" if absent, too long or odd */
	char last_modified[RESP_HDR_MAX];
	/*
	 * A 200 whose Content-Length is over max (0: no cap; kept across
	 * resets) is refused before its body: a huge declared length sent
	 * slowly would otherwise take hours to reach the cap. too_long
	 * keeps the length refused, as sent, for the message.
	 */
	uint64_t max;
	char too_long[32];
};

/* Forgets what the last response said; keeps r->max. */
void resp_reset(struct resp *r);

/*
 * One header line, as received (its CR LF may be there or not), of any
 * response of the transfer (redirects included): a status line resets r.
 * Returns false when the transfer must stop now: a redirect to a URL with
 * control characters (r->bad_location) or a Content-Length over r->max
 * (r->too_long).
 */
bool resp_header(struct resp *r, const char *p, size_t len);

#endif
