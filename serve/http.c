/*
 * http.c: the HTTP server's libmicrohttpd glue (the only file that
 * includes it): daemons, connections, requests and responses. What an
 * answer says is server.c's; the open-blob cache (fdcache.c), the
 * connection limits (limits.c), the access log (accesslog.c) and the
 * listening sockets (listen.c) are their own files.
 *
 * Threads: one libmicrohttpd daemon per thread, each with its own epoll
 * loop and its own listening socket on the address (listen.h), all
 * calling the callbacks here concurrently. A thread's own state is its
 * struct http_thread (its route front, access-log clock and request
 * counters: no lock); what they share is struct http, read-only once
 * started but for the modules that lock themselves (each header says
 * how) and struct metrics' atomics. A request is answered on the last
 * call into the handler, once the request is whole: the URL is resolved in one short LMDB read
 * transaction (route.c), which ends before the blob is opened and handed
 * to MHD as a file descriptor or a mapping.
 *
 * MHD is told not to unescape URLs (unescape_none), so route_parse() sees
 * what the client sent and can refuse escaped '/' and NUL.
 *
 * Per request we allocate one small struct req (in the URI log callback,
 * freed in the completion callback, where the access log line is written)
 * and MHD's response; error answers, /healthz and /keyring.gpg reuse
 * responses made once at start.
 *
 * The configuration is either fixed (serve_run) or swapped by the daemon
 * on a reload (serve_run_shared): server_reply() holds its read lock
 * while it resolves the URL, never while MHD sends the body.
 */
#include "mirrord/common.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "mirrord/hash.h"
#include "mirrord/log.h"
#include "serve/accesslog.h"
#include "serve/fdcache.h"
#include "serve/http.h"
#include "serve/http_int.h"
#include "serve/limits.h"
#include "serve/listen.h"
#include "serve/metrics.h"
#include "serve/respond.h"
#include "serve/route.h"
#include "serve/server.h"
#include "serve/serve.h"

/*
 * Per connection: the request's headers and the response's. MHD zeroes
 * all of it after each request, and with 1,000 connections the pools
 * fall out of the CPU's caches: that memset() was 4.4% of the server's
 * time answering 304s with 16 KiB (perf). apt sends a few hundred bytes;
 * up to about 7 KiB of request headers are answered, more get a 431 (as
 * nginx refuses a header line over 8 KiB by default).
 */
#define HTTP_CONN_MEMORY (8 * 1024)
/*
 * The answers made once per blob in the open-blob cache (fdcache.h). MHD
 * reference-counts responses, so one response can be queued to many
 * connections at once. The 304 is always shared (it has no body). The
 * 200 is:
 * - up to FDCACHE_MAP_MAX, shared, from a mapping of the blob while
 *   the mappings fit their budget (see mapped_response());
 * - else, up to HTTP_SHARE_MAX, shared, from the descriptor: one
 *   sendfile() sends it whole;
 * - else its own response per request, over a dup() of the descriptor:
 *   MHD sends from a file at most 128 KiB per sendfile() and holds the
 *   response's mutex meanwhile, so connections sending one shared large
 *   blob would take turns.
 */
#define HTTP_SHARE_MAX (128 * 1024)

/* --- access log ----------------------------------------------------- */

static void
client_addr(struct MHD_Connection *conn, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	limits_addr_text(ci != NULL ? ci->client_addr : NULL, out, n);
}

/*
 * The access log's line for q (accesslog.h), and the count of lines
 * lost for /metrics.
 */
static void
access_log(struct http_thread *t, struct MHD_Connection *conn,
    const struct req *q)
{
	char buf[LIMITS_HOST_LEN];
	const union MHD_ConnectionInfo *ci;
	const struct limits_client *ent;
	struct accesslog_entry e = { .start = q->start, .method = q->method,
	    .uri = q->uri, .version = q->version, .status = q->status,
	    .bytes = q->bytes };
	int rc;

	/* The connection's address entry outlives its requests. */
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	ent = ci != NULL ? ci->socket_context : NULL;
	if (ent != NULL)
		e.host = limits_client_host(ent);
	else {
		client_addr(conn, buf, sizeof(buf));
		e.host = buf;
	}
	rc = accesslog_write(t->h->log, &t->clock, &e);
	if (rc) {	/* full disk, I/O error: serve_loop warns */
		atomic_store_explicit(&t->h->m.log_errno, rc,
		    memory_order_relaxed);
		atomic_fetch_add_explicit(&t->h->m.log_lost, 1,
		    memory_order_relaxed);
	}
}

/* --- MHD callbacks around the handler ---------------------------------- */

/* Keeps the URL as sent; route_parse() decodes it. */
static size_t
unescape_none(void *cls, struct MHD_Connection *conn, char *s)
{
	return strlen(s);
}

static void *
uri_begin(void *cls, const char *uri, struct MHD_Connection *conn)
{
	return http_req_new(cls, uri);
}

static void
request_done(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_RequestTerminationCode toe)
{
	struct http_thread *t = cls;
	struct req *q = *ctx;

	if (q == NULL)
		return;
	*ctx = NULL;
	http_odreq_free(q->od);	/* ended while waiting for its first bytes */
	if (q->status != 0)
		metrics_count(&t->m, q->status,
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? q->bytes : 0);
	access_log(t, conn, q);
	atomic_fetch_sub_explicit(&t->m.in_flight, 1, memory_order_relaxed);
	free(q);
}

/* --- connection limits ------------------------------------------------- */

/* Counts connections in all (metrics) and per address (limits.h). */
static void
connection_note(void *cls, struct MHD_Connection *conn, void **sctx,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http *h = cls;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		atomic_fetch_add_explicit(&h->m.open_connections, 1,
		    memory_order_relaxed);
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci != NULL)
			*sctx = limits_enter(h->limits, ci->client_addr);
		return;
	}
	atomic_fetch_sub_explicit(&h->m.open_connections, 1,
	    memory_order_relaxed);
	if (*sctx == NULL)
		return;
	limits_leave(h->limits, *sctx);
	*sctx = NULL;
}

/*
 * Max-Clients over all threads, and Max-Clients-Per-IP: a connection
 * beyond either is closed at once.
 */
static enum MHD_Result
accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http *h = cls;

	if (limits_admit(h->limits, atomic_load_explicit(
	    &h->m.open_connections, memory_order_relaxed), addr))
		return MHD_YES;
	atomic_fetch_add_explicit(&h->m.refused, 1, memory_order_relaxed);
	return MHD_NO;
}

/* --- answers ------------------------------------------------------------ */

static enum MHD_Result
queue(struct req *q, struct MHD_Connection *conn, int status,
    struct MHD_Response *r, uint64_t bytes)
{
	enum MHD_Result ret;

	ret = MHD_queue_response(conn, (unsigned)status, r);
	if (ret == MHD_YES) {
		q->status = status;
		q->bytes = strcmp(q->method, "HEAD") == 0 ? 0 : bytes;
	}
	return ret;
}

static enum MHD_Result
queue_canned(struct req *q, struct MHD_Connection *conn, enum canned which,
    int status)
{
	return queue(q, conn, status, q->t->h->canned[which],
	    q->t->h->canned_len[which]);
}

static enum MHD_Result
queue_status(struct req *q, struct MHD_Connection *conn, int status)
{
	/* The canned answers by status; any other is a 500. */
	static const struct { int status; enum canned c; } by[] = {
		{ 400, C_400 }, { 404, C_404 }, { 405, C_405 }, { 412, C_412 },
		{ 502, C_502 }, { 503, C_503 }, { 504, C_504 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(by); i++)
		if (by[i].status == status)
			return queue_canned(q, conn, by[i].c, status);
	return queue_canned(q, conn, C_500, 500);
}

/* A response owning the heap buffer b (emptied). */
static enum MHD_Result
queue_buf(struct req *q, struct MHD_Connection *conn, int status,
    struct buf *b, const char *ctype, const char *cc)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len;
	char *p = buf_detach(b, &len);

	r = MHD_create_response_from_buffer(len, p, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(p);
		return queue_status(q, conn, 500);
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
	ret = queue(q, conn, status, r, len);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
queue_redirect(struct req *q, struct MHD_Connection *conn, int status,
    const char *location)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return queue_status(q, conn, 500);
	MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
	    status == 301 ? ROUTE_CC_MOVING : "no-store");
	ret = queue(q, conn, status, r, 0);
	MHD_destroy_response(r);
	return ret;
}

static const char *
header(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static ssize_t
no_body_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* The headers every answer about a blob carries. */
static void
blob_headers(struct MHD_Response *r, const struct route_result *res)
{
	char etag[RESPOND_ETAG_LEN], lastmod[RESPOND_DATE_LEN];

	respond_etag(res->hash, etag);
	respond_format_date(res->mtime, lastmod);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, lastmod);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
	    res->cache_control);
}

/* The headers of a 200 (p == NULL) or of a 206 for p but the validators. */
static void
range_headers(struct MHD_Response *r, const struct route_result *res,
    const struct respond_plan *p)
{
	char crange[80];

	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    res->content_type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (p != NULL) {
		snprintf(crange, sizeof(crange), "bytes %llu-%llu/%llu",
		    (unsigned long long)p->off,
		    (unsigned long long)(p->off + p->len - 1),
		    (unsigned long long)res->size);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE,
		    crange);
	}
}

/* The headers of a 200 (p == NULL) or of a 206 for p. */
static void
body_headers(struct MHD_Response *r, const struct route_result *res,
    const struct respond_plan *p)
{
	range_headers(r, res, p);
	blob_headers(r, res);
}

/*
 * A 200 (p == NULL) or 206 of p->len bytes at p->off of the blob open on
 * fd, which the response owns from here (closed with it, or now if
 * making it fails).
 */
static struct MHD_Response *
blob_response(const struct route_result *res, int fd,
    const struct respond_plan *p)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_fd_at_offset64(p ? p->len : res->size,
	    fd, p ? p->off : 0);
	if (r == NULL) {
		close(fd);
		return NULL;
	}
	body_headers(r, res, p);
	return r;
}

static void
fmap_free(void *cls)
{
	struct fmap *m = cls;

	fdcache_unmap(m->fc, m->p, m->len);
	free(m);
}

/*
 * The shared 200 for the blob open on fd, over a mapping of it, or NULL
 * (not in the size range, over the budget, or the file is not the size
 * the index says: the caller then sends from the descriptor). MHD sends
 * a memory response's headers and body in one sendmsg() and locks
 * nothing while it does, so any number of connections share it; from a
 * file it sends 128 KiB per sendfile(), a turn of its event loop each
 * (1.5 MB files measured at 0.57x nginx that way, 1.15x mapped:
 * bench/serve.sh), and the headers in a packet of their own (60 KB
 * files: 0.93x nginx from the descriptor, 1.10x mapped, with 10% less
 * CPU per request). Only the kernel reads the mapping, inside sendmsg(),
 * so a blob damaged on disk fails that send with EFAULT, never with a
 * SIGBUS; blobs are never written in place, so a mapping stays valid
 * after gc unlinks its file.
 */
static struct MHD_Response *
mapped_response(struct fdcache *fc, const struct route_result *res, int fd)
{
	struct MHD_Response *r;
	struct fmap *m;
	void *p;

	if (fdcache_map(fc, fd, res->size, &p) != 0)
		return NULL;
	m = xmalloc(sizeof(*m));
	m->fc = fc;
	m->p = p;
	m->len = (size_t)res->size;
	r = MHD_create_response_from_buffer_with_free_callback_cls(m->len, p,
	    fmap_free, m);
	if (r == NULL) {
		fmap_free(m);
		return NULL;
	}
	body_headers(r, res, NULL);
	return r;
}

/*
 * The 304. It may only carry the 200's Content-Length (RFC 9110 8.6),
 * and MHD sends a 304's size but never its body: a response of the
 * blob's size whose reader is never called.
 */
static struct MHD_Response *
not_modified_response(const struct route_result *res)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_callback(res->size, 64, no_body_reader,
	    NULL, NULL);
	if (r != NULL)
		blob_headers(r, res);
	return r;
}

/* The cache's free_answer: an answer is an MHD response. */
static void
answer_free(void *answer)
{
	MHD_destroy_response(answer);
}

/* Fills n for res from the blob open on fd (n owns fd, even on failure). */
static int
blob_answers(struct fdcache *fc, struct fdcache_ent *n,
    const struct route_result *res, int fd, int64_t now, struct merr *err)
{
	int dfd;

	http_blob_key(res, &n->key);
	n->born = now;
	n->fd = fd;
	n->full = NULL;
	n->nm = not_modified_response(res);
	if (n->nm == NULL) {
		close(fd);
		n->fd = -1;
		return merr_set(err, MERR_IO, "cannot create a response");
	}
	n->full = mapped_response(fc, res, fd);
	if (n->full == NULL && res->size <= HTTP_SHARE_MAX) {
		dfd = dup(fd);
		if (dfd < 0 || (n->full = blob_response(res, dfd, NULL)) == NULL) {
			fdcache_ent_release(fc, n);
			return merr_set(err, MERR_IO, "cannot create a response");
		}
	}
	return 0;
}

/*
 * Queues the whole-blob answer (200 or 304, as status says) for res from
 * the cache, opening the blob and making the entry on a miss. A shared
 * response is queued with the set's lock held: that is when MHD takes
 * its reference, after which an eviction by another thread cannot free
 * it. Returns MHD_YES/MHD_NO, or -1 with *openrc set when the blob cannot
 * be opened (and *cold, as http_blob_open's).
 */
static int
fcache_queue(struct req *q, struct MHD_Connection *conn,
    const struct route_result *res, int status, int *openrc,
    struct ondemand_want **cold, struct merr *err)
{
	struct fdcache *fc = q->t->h->fc;
	struct fdcache_ent *e, n = FDCACHE_ENT_INIT;
	struct fdcache_key k;
	struct MHD_Response *r;
	int64_t now = mono_ms();
	int ret, fd;

	http_blob_key(res, &k);
	e = fdcache_lock(fc, &k, now);
	if (e == NULL) {
		fdcache_unlock(fc, &k);
		/* A miss: open and build outside the lock. */
		fd = http_blob_open(q->t->h, res, q->uri, cold, err);
		if (fd < 0) {
			*openrc = fd;
			return -1;
		}
		if ((*openrc = blob_answers(fc, &n, res, fd, now, err)) != 0)
			return -1;
		e = fdcache_insert(fc, &n, now);
	}
	if (status == 304 || e->full != NULL) {
		ret = queue(q, conn, status, status == 304 ? e->nm : e->full,
		    status == 304 ? 0 : res->size);
		fdcache_unlock(fc, &k);
	} else {
		/* A large blob: its own response, over its own descriptor. */
		fd = dup(e->fd);
		fdcache_unlock(fc, &k);
		r = fd < 0 ? NULL : blob_response(res, fd, NULL);
		if (r == NULL) {
			fdcache_ent_release(fc, &n);
			*openrc = merr_errno(err, "cannot answer with a blob");
			return -1;
		}
		ret = queue(q, conn, status, r, res->size);
		MHD_destroy_response(r);
	}
	fdcache_ent_release(fc, &n);	/* another thread made it meanwhile */
	return ret;
}

/* The request's validators and range against res, into *p. */
static void
plan(struct MHD_Connection *conn, const struct route_result *res,
    struct respond_plan *p)
{
	char etag[RESPOND_ETAG_LEN];
	struct respond_req rq;

	respond_etag(res->hash, etag);
	rq.if_match = header(conn, MHD_HTTP_HEADER_IF_MATCH);
	rq.if_none_match = header(conn, MHD_HTTP_HEADER_IF_NONE_MATCH);
	rq.if_modified_since = header(conn, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	rq.if_unmodified_since = header(conn,
	    MHD_HTTP_HEADER_IF_UNMODIFIED_SINCE);
	rq.if_range = header(conn, MHD_HTTP_HEADER_IF_RANGE);
	rq.range = header(conn, MHD_HTTP_HEADER_RANGE);
	respond_plan(&rq, etag, res->mtime, res->size, p);
}

/* The 416 for res. */
static enum MHD_Result
queue_416(struct req *q, struct MHD_Connection *conn,
    const struct route_result *res)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char crange[80];

	r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return queue_status(q, conn, 500);
	snprintf(crange, sizeof(crange), "bytes */%llu",
	    (unsigned long long)res->size);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, crange);
	blob_headers(r, res);
	ret = queue(q, conn, 416, r, 0);
	MHD_destroy_response(r);
	return ret;
}

/*
 * --- on-demand pool files (ondemand.h) ----------------------------------
 *
 * An answer that waits for upstream never blocks its server thread: the
 * connection is suspended while its flight has nothing new for it and
 * resumed by the flight's thread (ondemand.h's park and wake). Before the
 * headers, the handler suspends until the first bytes or a failure (which
 * then becomes its status); then a callback response sends the bytes as
 * they come, its reader suspending when it has caught up.
 */
static void
od_park(void *ctx)
{
	struct odreq *o = ctx;

	MHD_suspend_connection(o->conn);
}

static void
od_wake(void *ctx)
{
	struct odreq *o = ctx;

	MHD_resume_connection(o->conn);
}

/*
 * The body's reader: what the file holds of the range, but its last byte
 * until the file verified; suspended when there is nothing new; cut short
 * (the client sees a short body) when the flight fails.
 */
static ssize_t
od_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct odreq *o = cls;
	uint64_t at = o->p.off + pos, limit;
	enum ondemand_step st;
	ssize_t n;
	int fd;

	st = ondemand_next(&o->r, at, &fd, &limit);
	if (st == OD_WAIT)
		return 0;
	if (st == OD_FAILED)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (limit - at < max)
		max = (size_t)(limit - at);
	n = pread(fd, buf, max, (off_t)at);
	return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void
od_free(void *cls)
{
	http_odreq_free(cls);
}

/* After a wake, or at once: the headers, a failure's status, or wait. */
static enum MHD_Result
ondemand_continue(struct req *q, struct MHD_Connection *conn)
{
	struct odreq *o = q->od;
	struct MHD_Response *r;
	enum MHD_Result ret;
	int status = 500;

	switch (ondemand_start(&o->r, &status)) {
	case OD_WAIT:
		return MHD_YES;	/* suspended until its first bytes */
	case OD_FAILED:
		q->od = NULL;
		http_odreq_free(o);
		return queue_status(q, conn, status);
	default:
		break;
	}
	q->od = NULL;	/* the response's from here */
	r = MHD_create_response_from_callback(o->p.len, 64 * 1024, od_read, o,
	    od_free);
	if (r == NULL) {
		http_odreq_free(o);
		return queue_status(q, conn, 500);
	}
	/*
	 * No validators: a client that resumes a cut transfer (apt does,
	 * with If-Range) must not join what it has of a failed fetch to
	 * good bytes; without them its If-Range gets the whole file.
	 */
	range_headers(r, &o->res, o->p.status == 206 ? &o->p : NULL);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
	    o->res.cache_control);
	ret = queue(q, conn, o->p.status, r, o->p.len);
	MHD_destroy_response(r);
	return ret;
}

/*
 * A pool file of an on-demand mirror that is not stored, or a blob an S3
 * store's cache lacks (want says which): HEAD and the conditional
 * answers from the index alone, a GET joins (or starts) its flight.
 */
static enum MHD_Result
queue_ondemand(struct req *q, struct MHD_Connection *conn,
    const struct route_result *res, const struct ondemand_want *want)
{
	struct MHD_Response *r;
	struct respond_plan p;
	enum MHD_Result ret;
	struct odreq *o;
	struct merr err;

	plan(conn, res, &p);
	if (p.status == 412)
		return queue_status(q, conn, 412);
	if (p.status == 416)
		return queue_416(q, conn, res);
	if (p.status == 304 || strcmp(q->method, "HEAD") == 0) {
		/* No body is sent: a response whose reader is never called. */
		r = p.status == 304 ? not_modified_response(res) :
		    MHD_create_response_from_callback(p.len, 64, no_body_reader,
		    NULL, NULL);
		if (r == NULL)
			return queue_status(q, conn, 500);
		if (p.status != 304)
			body_headers(r, res, p.status == 206 ? &p : NULL);
		ret = queue(q, conn, p.status, r, 0);
		MHD_destroy_response(r);
		return ret;
	}
	o = http_odreq_new(conn, res, &p);
	if (ondemand_open(q->t->h->od, want, p.off + p.len, od_park,
	    od_wake, o, &o->r, &err) != 0) {
		if (err.code != MERR_CANCEL)	/* too many at once */
			log_warn("http: %s", err.msg);
		free(o);
		return queue_status(q, conn, 503);
	}
	q->od = o;
	return ondemand_continue(q, conn);
}

/* Answers a blob: validators, ranges, then the file descriptor. */
static enum MHD_Result
queue_file(struct req *q, struct MHD_Connection *conn,
    const struct route_result *res)
{
	struct ondemand_want *cold = NULL;
	struct respond_plan p;
	struct MHD_Response *r;
	struct merr err;
	enum MHD_Result ret;
	int fd, rc, openrc = 0;

	if (res->want != NULL)
		return queue_ondemand(q, conn, res, res->want);
	plan(conn, res, &p);
	switch (p.status) {
	case 412:
		return queue_status(q, conn, 412);
	case 416:
		return queue_416(q, conn, res);
	case 206:
		fd = http_blob_open(q->t->h, res, q->uri, &cold, &err);
		if (fd < 0) {
			openrc = fd;
			goto open_failed;
		}
		if ((r = blob_response(res, fd, &p)) == NULL)
			return queue_status(q, conn, 500);
		break;
	default:	/* 200 and 304: the shared answers */
		rc = fcache_queue(q, conn, res, p.status, &openrc, &cold,
		    &err);
		if (rc >= 0)
			return (enum MHD_Result)rc;
		goto open_failed;
	}
	ret = queue(q, conn, p.status, r, p.len);
	MHD_destroy_response(r);
	return ret;
open_failed:
	if (cold != NULL) {	/* S3, not cached: streamed from the bucket */
		ret = queue_ondemand(q, conn, res, cold);
		ondemand_want_free(cold);
		return ret;
	}
	log_warn("http: %s", err.msg);
	return queue_status(q, conn, openrc == MERR_NOTFOUND ? 404 : 500);
}

static enum MHD_Result
answer(struct req *q, struct MHD_Connection *conn, const char *url)
{
	struct http *h = q->t->h;
	struct server_reply rp;
	enum MHD_Result ret;
	char *loc;
	/* A GET fetches: its client counts for adoption; a HEAD does not. */
	const union MHD_ConnectionInfo *ci = strcmp(q->method, "GET") == 0 ?
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) :
	    NULL;

	server_reply(&h->sv, q->t->front, url, ci ? ci->client_addr : NULL,
	    &rp);
	switch (rp.kind) {
	case REPLY_HEALTHY:
		ret = queue_canned(q, conn, C_HEALTH, 200);
		break;
	case REPLY_KEYRING:
		ret = queue_canned(q, conn, C_KEYRING, 200);
		break;
	case REPLY_BODY:
		ret = queue_buf(q, conn, rp.status, &rp.body, rp.ctype, rp.cc);
		break;
	case REPLY_FILE:
		loc = ondemand_redirect(&h->sv, url, &rp.res);
		ret = loc ? queue_redirect(q, conn, 302, loc) :
		    queue_file(q, conn, &rp.res);
		free(loc);
		break;
	case REPLY_REDIRECT:
		ret = queue_redirect(q, conn, 301, rp.res.location.p);
		break;
	default:
		ret = queue_status(q, conn, rp.status);
		break;
	}
	server_reply_release(&rp);
	return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **ctx)
{
	struct req *q = *ctx;

	if (q == NULL) {
		/* No URI callback ran (should not happen): make one. */
		q = uri_begin(cls, url, conn);
		*ctx = q;
	}
	if (q->method[0] == '\0') {
		/*
		 * The first call, with the headers only. Answering now would
		 * make MHD close the connection (it cannot know the body was
		 * read), so wait for the call that says the request is whole.
		 */
		/* Cut short if need be. */
		snprintf(q->method, sizeof(q->method), "%s", method);
		snprintf(q->version, sizeof(q->version), "%s", version);
		/* Other methods: 405 now, without reading their bodies. */
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return queue_status(q, conn, 405);
		return MHD_YES;
	}
	if (q->od != NULL && q->status == 0)	/* resumed: its first bytes? */
		return ondemand_continue(q, conn);
	if (*upload_data_size != 0 || q->status != 0) {
		/* A request body (we take none): discard it. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	return answer(q, conn, url);
}

/* --- start and stop ----------------------------------------------------- */

/* Makes canned answer which from a static body; false if MHD fails. */
static bool
canned_new(struct http *h, enum canned which, const char *body, size_t len,
    const char *ctype, const char *cc)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(len, (void *)body,
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return false;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
	h->canned[which] = r;
	h->canned_len[which] = len;
	return true;
}

#define CANNED(h, which, body, cc) \
	canned_new((h), (which), (body), sizeof(body) - 1, "text/plain", (cc))

void
http_free(struct http *h)
{
	size_t i;

	for (i = 0; i < C_COUNT; i++)
		if (h->canned[i] != NULL)
			MHD_destroy_response(h->canned[i]);
	for (i = 0; i < h->nth; i++)
		refcache_front_free(h->th[i].front);
	free(h->d);
	metrics_release(&h->m);
	free(h->m.req);
	free(h->th);
	ondemand_free(h->od);	/* after the daemons: no reader is left */
	limits_free(h->limits);
	fdcache_free(h->fc);
	accesslog_free(h->log);
	server_release(&h->sv);
	free(h);
}

/* The canned answers but /keyring.gpg's; false if MHD fails. */
static bool
canned_all(struct http *h)
{
	if (!CANNED(h, C_400, "bad request\n", "no-store") ||
	    !CANNED(h, C_404, "not found\n", ROUTE_CC_MOVING) ||
	    !CANNED(h, C_405, "method not allowed\n", "no-store") ||
	    !CANNED(h, C_412, "precondition failed\n", "no-store") ||
	    !CANNED(h, C_500, "internal error\n", "no-store") ||
	    !CANNED(h, C_502, "bad gateway: upstream failed\n", "no-store") ||
	    !CANNED(h, C_503, "service unavailable\n", "no-store") ||
	    !CANNED(h, C_504, "gateway timeout: upstream unreachable\n",
	    "no-store") ||
	    !CANNED(h, C_HEALTH, "ok\n", "no-store"))
		return false;
	MHD_add_response_header(h->canned[C_405], MHD_HTTP_HEADER_ALLOW,
	    "GET, HEAD");
	return true;
}

int
http_prepare(struct http *h, const struct serve_opts *o,
    const struct server_sizes *z, struct merr *err)
{
	int rc;

	h->limits = limits_new(z->conns, z->per_ip);
	h->fc = fdcache_new(z->map_budget, z->ttl_ms, answer_free);
	h->od = ondemand_new(h->sv.store, 0);
	h->sv.od = h->od;
	metrics_init(&h->m, NULL, 0);	/* the threads' come later */
	rc = accesslog_open(o->access_log, &h->log, err);
	if (rc)
		return rc;
	/* mirrord's public key, for /keyring.gpg and each mirror's. */
	if (o->keyring != NULL) {
		rc = server_load_keyring(&h->sv, o->keyring, err);
		if (rc)
			return rc;
		if (!canned_new(h, C_KEYRING, h->sv.keyring,
		    h->sv.keyring_len, "application/pgp-keys",
		    ROUTE_CC_MOVING))
			goto nomem;
	}
	if (!canned_all(h))
		goto nomem;
	return 0;
nomem:
	return merr_set(err, MERR_IO, "cannot create HTTP responses");
}

/*
 * One MHD daemon per thread, each on its own socket of fds (which it
 * owns from here; closed here if it cannot start).
 *
 * libmicrohttpd splits its limit evenly between a pool's threads, and
 * the kernel does not spread accepted connections evenly: with 1024
 * split four ways, one busy thread stalled at 256 under 1,000 clients
 * (bench/serve.sh). So each thread's limit is the whole budget (a thread
 * may get more than its share), and accept_policy() holds the total to
 * it.
 */
int
http_daemons_start(struct http *h, const int *fds, bool ipv6,
    const struct server_sizes *z, struct merr *err)
{
	unsigned flags, i;

	/* ITC: needed by MHD_quiesce_daemon with internal threads. */
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
	    MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	if (ipv6)
		flags |= MHD_USE_IPv6;
	for (h->nd = 0; h->nd < h->nth; h->nd++) {
		h->d[h->nd] = MHD_start_daemon(flags, 0, accept_policy, h,
		    handle, &h->th[h->nd],
		    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, h,
		    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fds[h->nd],
		    MHD_OPTION_CONNECTION_LIMIT, z->conns,
		    MHD_OPTION_CONNECTION_TIMEOUT, z->timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		    (size_t)HTTP_CONN_MEMORY,
		    MHD_OPTION_URI_LOG_CALLBACK, uri_begin, &h->th[h->nd],
		    MHD_OPTION_NOTIFY_COMPLETED, request_done, &h->th[h->nd],
		    MHD_OPTION_NOTIFY_CONNECTION, connection_note, h,
		    MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
		    MHD_OPTION_END);
		if (h->d[h->nd] == NULL) {
			for (i = h->nd; i < h->nth; i++)
				close(fds[i]);
			return merr_set(err, MERR_IO, "cannot listen on '%s': "
			    "cannot start the HTTP server", z->spec);
		}
	}
	return 0;
}

/*
 * Stops accepting on every thread, lets the responses in flight finish
 * within grace_ms, then stops the threads.
 */
void
http_stop_daemons(struct http *h, unsigned grace_ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	MHD_socket fd;
	unsigned i, waited = 0;

	for (i = 0; i < h->nd; i++) {
		fd = MHD_quiesce_daemon(h->d[i]);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	while (h->nd > 0 && metrics_in_flight(&h->m) > 0 &&
	    waited < grace_ms) {
		nanosleep(&ts, NULL);
		waited += 10;
	}
	for (i = 0; i < h->nd; i++)
		MHD_stop_daemon(h->d[i]);
	h->nd = 0;
}
