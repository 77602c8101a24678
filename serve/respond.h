/*
 * respond.h: HTTP validators and ranges, decided without any I/O
 * (private to serve/): which status a request for a representation gets.
 *
 * Follows RFC 9110 section 13.2.2's order: If-Match, else
 * If-Unmodified-Since (412); If-None-Match, else If-Modified-Since (304);
 * then Range, unless If-Range does not match (200). The HTTP formats
 * serve/ writes (dates, entity tags, the access log's date) live here
 * too, with one table of month names.
 *
 * Threads: pure functions; safe from any thread. Nothing allocates; a
 * malformed header is ignored where RFC 9110 says so, else reported by
 * the return value.
 */
#ifndef SERVE_RESPOND_H
#define SERVE_RESPOND_H

#include "mirrord/common.h"
#include "mirrord/hash.h"

/* "Sun, 06 Nov 1994 08:49:37 GMT" and its NUL. */
#define RESPOND_DATE_LEN 30

/* The request's header values, NULL when absent. */
struct respond_req {
	const char *if_match;
	const char *if_none_match;
	const char *if_modified_since;
	const char *if_unmodified_since;
	const char *if_range;
	const char *range;
};

struct respond_plan {
	int status;		/* 200, 206, 304, 412 or 416 */
	uint64_t off;		/* 206: the first byte */
	uint64_t len;		/* 200, 206: bytes of body */
};

/*
 * Decides the answer for a representation of size bytes with the strong
 * entity tag etag (quotes included) and Last-Modified mtime.
 */
void respond_plan(const struct respond_req *q, const char *etag,
    int64_t mtime, uint64_t size, struct respond_plan *p);

/*
 * A Range header against size bytes: 0 with *off and *len for one
 * satisfiable range; 1 to ignore it (malformed, not "bytes", or several
 * ranges: the full representation is an allowed answer); -1 if
 * unsatisfiable (416).
 */
int respond_range(const char *v, uint64_t size, uint64_t *off,
    uint64_t *len);

/*
 * Does the If-Match / If-None-Match list v ("*" or entity tags) match
 * etag? strong: strong comparison (a weak tag never matches), else weak.
 */
bool respond_etag_match(const char *v, const char *etag, bool strong);

/* An HTTP-date (IMF-fixdate, RFC 850 or asctime) to unix time: 0 or -1. */
int respond_parse_date(const char *s, int64_t *t);
/* A blob's strong entity tag: its SHA-256 in hex, quoted, and NUL. */
#define RESPOND_ETAG_LEN (HASH_HEX_LEN + 3)
void respond_etag(const unsigned char hash[HASH_LEN],
    char out[RESPOND_ETAG_LEN]);

/* Unix time as an IMF-fixdate. */
void respond_format_date(int64_t t, char out[RESPOND_DATE_LEN]);

/*
 * Unix time as the Common Log Format's date, "10/Oct/2000:13:55:36
 * +0000", for the access log: here, so that serve/ has one table of
 * month names and one formatter of dates.
 */
#define RESPOND_CLF_LEN 32
void respond_format_clf(int64_t t, char out[RESPOND_CLF_LEN]);

#endif
