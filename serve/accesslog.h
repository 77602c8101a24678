/*
 * accesslog.h: the access log (private to serve/).
 *
 * One Common Log Format line per request, as nginx and Apache write it:
 *   127.0.0.1 - - [06/Dec/2026:15:09:25 +0000] "GET /x HTTP/1.1" 200 5
 * with the request's method, URI and version escaped (escape_log()) and
 * cut at a bound, so that a hostile request cannot forge a line or make
 * one unbounded. A request that got no answer logs "- -" for its status
 * and size.
 *
 * Threads: accesslog_write() may be called from every server thread at
 * once: each line is written with one write() to a file opened with
 * O_APPEND, so lines of concurrent requests never interleave, and
 * nothing is locked. Each thread passes its own struct accesslog_clock
 * (the date, formatted once a second). accesslog_reopen() may run
 * meanwhile (from the serving loop): it replaces the file under the same
 * descriptor (dup3), so a line goes whole to one file or the other.
 * accesslog_open() and accesslog_free() run with no writer.
 */
#ifndef SERVE_ACCESSLOG_H
#define SERVE_ACCESSLOG_H

#include "mirrord/common.h"

#include <time.h>

#include "serve/respond.h"

#define ACCESSLOG_URI_MAX 2048	/* bytes of URI in a line */
#define ACCESSLOG_FIELD_MAX 16	/* bytes of method, of version */
#define ACCESSLOG_HOST_MAX 64	/* bytes of the client's address */

struct accesslog;

/* One thread's formatted date: start it zeroed. */
struct accesslog_clock {
	time_t sec;
	char date[RESPOND_CLF_LEN];
};

/* What a line says; the strings are borrowed for the call. */
struct accesslog_entry {
	const char *host;	/* the client's address, as text */
	time_t start;		/* when the request began */
	const char *method;	/* "" when not read yet: logged as "-" */
	const char *uri;	/* raw, with the query */
	const char *version;	/* "" when not read yet */
	int status;		/* 0: no answer */
	uint64_t bytes;		/* body bytes sent */
};

/*
 * The log at path, opened to append (created 0644), or standard error
 * when path is NULL (then never closed nor reopened). Owned: free with
 * accesslog_free(). Errors name the file.
 */
int accesslog_open(const char *path, struct accesslog **out,
    struct merr *err);
void accesslog_free(struct accesslog *l);

/*
 * Opens path again, in place of the file open (after logrotate moved
 * it). Nothing to do for standard error or a NULL path. On an error the
 * old file stays in use.
 */
int accesslog_reopen(struct accesslog *l, const char *path,
    struct merr *err);

/*
 * Writes e's line. Returns 0, or the errno of a failed or short write
 * (ENOSPC for a short one): the line is lost, and the caller counts it
 * (metrics) and warns (serve_run, at most once a minute).
 */
int accesslog_write(struct accesslog *l, struct accesslog_clock *clk,
    const struct accesslog_entry *e);

#endif
