/*
 * fetch.h: transfers with libcurl (the only file that calls libcurl).
 *
 * http://, https:// and file:// URLs. Redirects are followed only to
 * http(s). Transient failures (5xx, 429, resets, timeouts, stalls below
 * FETCH_MIN_SPEED for stall_timeout) are retried with exponential backoff
 * (honouring Retry-After up to a bound); a broken transfer into the store
 * resumes with Range from the bytes already written and hashed. The
 * headers a transfer acts on are read by resp.c.
 *
 * Threads: a struct fetch belongs to one thread at a time (its handles
 * are reused from call to call); only the cancel flag may be set from
 * elsewhere. fetch_new() and fetch_free() call curl_global_init() and
 * curl_global_cleanup(): with a libcurl older than 7.84, not while other
 * threads use libcurl.
 */
#ifndef MIRRORD_FETCH_H
#define MIRRORD_FETCH_H

#include "mirrord/common.h"

#include <stdatomic.h>

#include "mirrord/conf.h"
#include "mirrord/hash.h"
#include "mirrord/store.h"

/*
 * Copied by fetch_new(). A zero connections, connect_timeout or
 * stall_timeout takes the default; retries and backoff_ms are as given.
 */
struct fetch_opts {
	unsigned connections;	/* parallel transfers; 0: the default */
	unsigned retries;	/* attempts after the first */
	long connect_timeout;	/* seconds */
	long stall_timeout;	/* seconds below FETCH_MIN_SPEED: retry */
	unsigned backoff_ms;	/* first retry delay, doubled each time */
};

/* Bytes/s under which a transfer counts as stalled (a trickle). */
#define FETCH_MIN_SPEED 1024

struct fetch;

/* The first retry's delay: not a configuration key. */
#define FETCH_BACKOFF_MS 500

/*
 * The options that c's Connections:, Retries:, Connect-Timeout: and
 * Stall-Timeout: give, into *fo (the configuration's key table holds
 * their defaults; see conf_new()).
 */
void fetch_opts_of_conf(const struct conf *c, struct fetch_opts *fo);

/*
 * Makes a transfer context with opts (NULL: those of conf_new(), the
 * configuration's defaults; connections capped at 64) into *out, owned: free with fetch_free() (NULL is fine).
 * MERR_NET if libcurl cannot be set up.
 */
int fetch_new(const struct fetch_opts *opts, struct fetch **out,
    struct merr *err);
void fetch_free(struct fetch *f);

/*
 * Makes f watch *cancel (borrowed; NULL: no flag): once it is true, the
 * transfers in progress are dropped within about 100 ms (their temp files
 * removed), retry waits are cut short, and the call returns MERR_CANCEL
 * ("'URL': cancelled"). Another thread or a signal handler may set it.
 */
void fetch_set_cancel(struct fetch *f, const atomic_bool *cancel);
/* The flag f watches (borrowed), or NULL: to set it back after a clean-up
 * request that must be made even after a cancel. */
const atomic_bool *fetch_get_cancel(const struct fetch *f);

/* One small file into memory; what it holds is owned. */
struct fetch_mem {
	int status;		/* 200, 304 (not modified), 404 (absent) */
	char *data;		/* owned, NUL-terminated; NULL unless 200 */
	size_t len;
	char *etag;		/* owned validators of a 200, or NULL */
	char *last_modified;
};

/*
 * GET url into memory, at most max bytes. etag and last_modified (either
 * may be NULL; borrowed) make the request conditional. 404 (and a missing
 * file:// file) is not an error: res->status says it. *res is cleared
 * first; release it with fetch_mem_release() whatever the outcome.
 * Errors, naming the URL:
 *   MERR_LIMIT   more than max bytes, or a Content-Length saying so;
 *   MERR_NET     a failure after the retries, a 304 to an unconditional
 *                request, a 206, or any other HTTP status;
 *   MERR_CANCEL  the cancel flag was set.
 */
int fetch_get_mem(struct fetch *f, const char *url, size_t max,
    const char *etag, const char *last_modified, struct fetch_mem *res,
    struct merr *err);
/* Frees what res holds and clears it; NULL is fine. */
void fetch_mem_release(struct fetch_mem *res);

/* One file to fetch into the store, verified by size and SHA-256. */
struct fetch_job {
	const char *url;	/* borrowed */
	const char *fallback;	/* tried if url is 404, or NULL (borrowed) */
	unsigned char hash[HASH_LEN];
	uint64_t size;
	bool optional;		/* 404 everywhere is not an error */
	/*
	 * Its file may be written behind (store_blob_begin_behind(), when
	 * it is small and on_write is NULL): fetch_to_store() returns once
	 * every such file is written, but no file is readable before.
	 */
	bool behind;
	int status;		/* out: 0 stored, 1 absent (optional 404),
				 * <0 failed */
	/*
	 * Optional (NULL: none): called with write_ctx in the thread of
	 * fetch_to_store() after each chunk is written to the job's blob
	 * writer and after each rewind (w->size back to 0), so that a
	 * reader can follow the file as it grows: w->tmp_path names the
	 * temp file, w->size says how much of it is written. w is
	 * borrowed for the call.
	 */
	void (*on_write)(void *ctx, const struct blob_writer *w);
	void *write_ctx;
};

/*
 * Called now and then (at most ~10 times a second) while transfers run,
 * in the thread of fetch_to_store(), and once at its end.
 */
typedef void (*fetch_progress_fn)(void *ctx, uint64_t files_done,
    uint64_t bytes_done);

/*
 * Fetches jobs into the store in parallel (opts.connections at a time,
 * keep-alive, HTTP/2 multiplexing where offered), each through
 * store_blob_begin/write/finish with cap = size. Returns 0 when every
 * non-optional job has status 0 (or 1 if optional); otherwise stops
 * starting new transfers and returns the first error, naming the URL
 * ("'http://…/pool/x.deb': sha256 mismatch…"). Jobs already stored stay
 * stored (their files are in place, for the next try). jobs is borrowed;
 * only their status is written. Errors:
 *   MERR_VERIFY    a size or SHA-256 mismatch;
 *   MERR_NOTFOUND  a non-optional job is 404 (and so is its fallback);
 *   MERR_LIMIT     a body or Content-Length over the job's size;
 *   MERR_NET       a failure after the retries, or any other HTTP status;
 *   MERR_IO        the store's temp or blob files;
 *   MERR_CANCEL    the cancel flag was set.
 */
int fetch_to_store(struct fetch *f, struct store *s, struct fetch_job *jobs,
    size_t njobs, fetch_progress_fn progress, void *ctx, struct merr *err);

/*
 * AWS Signature V4 for every request f makes from now on (fetch_get_mem,
 * fetch_to_store, fetch_request), for an S3-compatible store: libcurl
 * signs ("aws:amz:REGION:s3") and each request carries the
 * x-amz-content-sha256 header (the body's SHA-256, hex; for a bodiless
 * request the empty string's) and x-amz-security-token if a session
 * token is given. The strings are copied (the secret is wiped at
 * fetch_free) and never logged nor put in a message. Redirects are not
 * followed while signing. MERR_CONF for a value with control characters
 * or a missing one; MERR_NET if libcurl refuses the settings.
 */
struct fetch_sigv4 {
	const char *region;		/* "us-east-1" */
	const char *access_key;		/* may hold ':' (Swift's tempauth) */
	const char *secret_key;
	const char *session_token;	/* or NULL */
};
int fetch_set_sigv4(struct fetch *f, const struct fetch_sigv4 *sig,
    struct merr *err);

/* One request of fetch_request(); all borrowed. */
struct fetch_req {
	const char *method;	/* "GET", "HEAD", "PUT", "POST", "DELETE" */
	const char *url;	/* http(s) only */
	const char *const *headers;	/* "Name: value", NULL-ended, or NULL */
	/*
	 * The body: len bytes of data if data is not NULL; else, if has_fd,
	 * fd's bytes [off, off + len) (read with pread, so fd is shared
	 * safely and read again for a retry); else none. A PUT or POST
	 * always sends Content-Length (0 without a body).
	 */
	const void *data;
	bool has_fd;
	int fd;
	uint64_t off, len;
	/* The body's SHA-256 if the caller knows it (signing needs it),
	 * NULL: hashed here (reading the range once more). */
	const unsigned char *sha256;
	size_t max;		/* response body bytes kept at most */
	bool once;		/* one attempt, no retry (a clean-up) */
};

/* What the response said; owned, released with fetch_res_release(). */
struct fetch_res {
	int status;		/* the HTTP status of the last attempt */
	char *data;		/* the body (any status), NUL-terminated; or
				 * NULL if there was none */
	size_t len;
	char *etag;		/* ETag as sent (quotes kept), or NULL */
	int64_t length;		/* Content-Length, -1 if absent */
};

/*
 * Makes one request (signed if f signs), retrying what fetches retry
 * (5xx, 429, 408, resets, timeouts, stalls: opts.retries times with
 * backoff; the body is sent again from its start). Redirects are not
 * followed. Returns 0 once an HTTP response was got — *res holds its
 * status, whatever it is (after the retries: the last one) — and the
 * caller decides what the status means. *res is cleared first; release it
 * whatever the outcome. Errors, naming the URL:
 *   MERR_NET     no response after the retries (the reason is given);
 *   MERR_LIMIT   a response body over rq->max;
 *   MERR_IO      reading the body's fd;
 *   MERR_CANCEL  the cancel flag was set.
 */
int fetch_request(struct fetch *f, const struct fetch_req *rq,
    struct fetch_res *res, struct merr *err);
void fetch_res_release(struct fetch_res *res);

#endif
