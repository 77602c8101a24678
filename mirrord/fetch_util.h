/*
 * fetch_util.h: the parts of the fetcher that do not call libcurl (so
 * that fetch.c, libcurl's one owner, stays within the house's size): the
 * fetcher's state structs, the backoff arithmetic, cancellable sleeps,
 * header value checks, request bodies read by range, and the slots'
 * bookkeeping of fetch_to_store(). Private to fetch.c and fetch_util.c:
 * nothing else includes it.
 *
 * Threads: as fetch.h (a struct fetch, and all it holds, belongs to one
 * thread at a time); the helpers are pure but for the fd they read.
 */
#ifndef MIRRORD_FETCH_UTIL_H
#define MIRRORD_FETCH_UTIL_H

#include "mirrord/common.h"

#include <stdatomic.h>

#include "mirrord/fetch.h"
#include "mirrord/hash.h"
#include "mirrord/resp.h"
#include "mirrord/store.h"
#include "mirrord/util.h"

#define FETCH_CANCEL_POLL_MS	100	/* how soon a cancel is seen */

/*
 * The wait before retry number n (n >= 1): base_ms doubled each time,
 * capped at 30 s, and at least what the server asked for with
 * Retry-After (retry_after seconds, -1: none; obeyed up to 60 s).
 */
uint64_t fetch_backoff_ms(unsigned base_ms, unsigned n, long retry_after);

/* Whether *cancel (NULL: no flag) is set. */
bool fetch_flag_set(const atomic_bool *cancel);

/* Sleeps ms in steps that see *cancel; false if cancelled. */
bool fetch_sleep_cancel(const atomic_bool *cancel, uint64_t ms);

/* A header value we send: not empty, no control characters (no header
 * injection). */
bool fetch_header_ok(const char *value);

/*
 * Reads len bytes of fd at off into p (pread, EINTR and short reads
 * retried). 0, or MERR_IO: a read error, or the file ends first.
 */
int fetch_pread_full(int fd, void *p, size_t len, uint64_t off,
    struct merr *err);

/* The SHA-256 of fd's bytes [off, off + len): 0 or MERR_IO. */
int fetch_hash_range(int fd, uint64_t off, uint64_t len,
    unsigned char out[HASH_LEN], struct merr *err);

/* A request's body as fetch_request() sends it (fetch.h's fetch_req). */
struct fetch_body {
	const char *data;	/* the bytes, or NULL: */
	bool has_fd;		/* fd's [off, off + len), or no body */
	int fd;
	uint64_t off, len;
	uint64_t pos;		/* sent so far in this attempt */
	bool failed;		/* a read failed: err says why */
	struct merr err;
};

/*
 * Up to n of b's next bytes into p: their count (0 at the end), or
 * SIZE_MAX once a read failed (b->failed, b->err).
 */
size_t fetch_body_read(struct fetch_body *b, char *p, size_t n);

/*
 * The hex SHA-256 of b's bytes into hex: known (not NULL) or computed
 * (reading the fd's range). 0 or MERR_IO.
 */
int fetch_body_sha256(const struct fetch_body *b, const unsigned char *known,
    char hex[HASH_HEX_LEN + 1], struct merr *err);

/*
 * The fetcher's state. libcurl's handles are held as void * (curl.h's
 * CURL and CURLM are void) so that the curl-free code below can live
 * here; only fetch.c calls libcurl with them.
 */
#define FETCH_ERRBUF_SIZE 256	/* CURL_ERROR_SIZE, asserted in fetch.c */

/* Per-attempt state of a response body. */
struct body {
	bool checked;		/* status looked at on first data */
	bool discard;		/* not a 200/206 body: read and drop */
	size_t discarded;
};

enum xstate { X_IDLE = 0, X_RUN, X_WAIT };

/* One slot of fetch_to_store(): an easy handle and the job it carries. */
struct xfer {
	void *easy;		/* CURL * */
	enum xstate state;
	struct fetch_job *job;
	const char *url;	/* job->url, or job->fallback once 404 */
	bool on_fallback;	/* url is job->fallback */
	unsigned attempts;	/* attempts made on url */
	uint64_t not_before;	/* X_WAIT: monotonic ms of the next try */
	struct blob_writer w;
	bool have_w;
	uint64_t range_from;	/* Range asked for in this attempt, or 0 */
	bool restart;		/* a 206 that did not match our Range */
	bool werr_set;		/* werr holds a store write error */
	struct merr werr;
	struct body body;
	struct resp r;
	char range[32];
	char errbuf[FETCH_ERRBUF_SIZE];
};

struct fetch {
	struct fetch_opts opts;
	void *multi;		/* CURLM * */
	void *mem;		/* the easy handle of fetch_get_mem() */
	char mem_errbuf[FETCH_ERRBUF_SIZE];
	struct xfer *slots;	/* opts.connections */
	const atomic_bool *cancel;	/* borrowed, or NULL */
	/* fetch_set_sigv4(): owned copies, or NULL when not signing. */
	char *sigv4, *user, *secret, *token;
	struct curl_slist *sign_hdrs;	/* the bodiless requests' */
};

/* How an attempt ended. */
enum outcome { O_BODY, O_ABSENT, O_NOTMOD, O_RETRY, O_FAIL };

/* fetch_get_mem(): the state of one call. */
struct memget {
	void *easy;
	const char *url;	/* borrowed */
	struct body body;
	struct buf b;
	size_t max;
	bool too_big;
	struct resp r;
	/* How the last attempt ended, and how many were made. */
	enum outcome o;
	long code;
	unsigned attempt;
	char why[FETCH_ERRBUF_SIZE + 64];
	bool keep_all;		/* fetch_request: any status's body */
	bool once;		/* fetch_request: no retry */
	struct fetch_body *up;	/* fetch_request: the body sent, or NULL */
};

/* fetch_to_store(): the state of one call. */
struct run {
	struct fetch *f;
	struct store *store;
	struct fetch_job *jobs;
	size_t njobs;
	size_t next;		/* the next job to give a slot */
	struct fetch_job *failed;	/* the job an error is about, or NULL */
	uint64_t files_done;
	uint64_t bytes_done;
	bool kick;		/* a slot is free or due: do not sleep */
	struct blob_batch batch;	/* the jobs' files written behind */
};

bool fetch_cancelled(const struct fetch *f);
/* Drops len bytes of an error page; false once past the cap. */
bool fetch_body_discard(struct body *b, size_t len);
int fetch_mem_cancelled(const struct memget *m, struct merr *err);
/* fetch_get_mem(): the last attempt's outcome into res, or its error. */
int fetch_mem_result(struct memget *m, bool conditional,
    struct fetch_mem *res, struct merr *err);

/* fetch_to_store()'s slots (fetch.c: those that call libcurl). */
int fetch_xfer_start(struct run *run, struct xfer *x, struct merr *err);
int fetch_xfer_begin(struct run *run, struct xfer *x, struct fetch_job *job,
    struct merr *err);
void fetch_xfer_wrote(const struct xfer *x);
int fetch_xfer_rewind(struct xfer *x, struct merr *err);
void fetch_xfer_release(struct run *run, struct xfer *x, int status);
int fetch_xfer_retry(struct run *run, struct xfer *x, uint64_t delay,
    const char *why, struct merr *err);
void fetch_run_progress(struct run *run, fetch_progress_fn progress,
    void *ctx);
int fetch_run_fill(struct run *run, unsigned *busy, struct merr *err);

#endif
