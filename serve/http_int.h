/*
 * http_int.h: the HTTP server's own state (private to http.c and
 * http_ctl.c). Free of libmicrohttpd: its types are only named here,
 * http.c alone includes its header.
 */
#ifndef SERVE_HTTP_INT_H
#define SERVE_HTTP_INT_H

#include "mirrord/common.h"

#include <pthread.h>
#include <stdarg.h>
#include <time.h>

#include "serve/accesslog.h"
#include "serve/fdcache.h"
#include "serve/limits.h"
#include "serve/metrics.h"
#include "serve/refcache.h"
#include "serve/respond.h"
#include "serve/ondemand.h"
#include "serve/route.h"
#include "serve/server.h"

struct MHD_Daemon;
struct MHD_Response;

/* What one server thread (one MHD daemon) keeps for itself. */
struct http_thread {
	struct http *h;
	struct refcache_front *front;	/* to h->sv.cache: this thread's */
	struct accesslog_clock clock;	/* the access log's date */
	struct metrics_req m;	/* this thread's requests */
	char pad[64];		/* off the next thread's cache lines */
};

/* Canned answers, made once and queued as often as needed. */
enum canned {
	C_400, C_404, C_405, C_412, C_500, C_502, C_503, C_504, C_HEALTH,
	C_KEYRING, C_COUNT
};

struct http {
	struct server sv;	/* what the answers say (server.h) */
	struct MHD_Daemon **d;	/* one per thread, nd of them */
	struct http_thread *th;	/* one per thread, nth of them */
	unsigned nth;
	unsigned nd;		/* daemons running */
	unsigned port;
	struct accesslog *log;
	struct MHD_Response *canned[C_COUNT];
	size_t canned_len[C_COUNT];	/* their body lengths, for the log */
	struct fdcache *fc;		/* open blobs */
	struct limits *limits;	/* Max-Clients:, Max-Clients-Per-IP: */
	struct ondemand *od;	/* on-demand pool files being fetched */
	struct metrics m;
};

/* A mapped blob, unmapped when MHD frees the last response using it. */
struct fmap {
	struct fdcache *fc;
	void *p;
	size_t len;
};

/* One request, from its URI to its completion. */
struct req {
	struct http_thread *t;	/* its server thread, and t->h */
	time_t start;
	int status;		/* 0 until a response is queued */
	uint64_t bytes;		/* body bytes of that response */
	char method[ACCESSLOG_FIELD_MAX];
	char version[ACCESSLOG_FIELD_MAX];
	struct odreq *od;	/* an on-demand file, until its response */
	char uri[];		/* raw, with the query */
};

/* http_start, with the configuration under conf_lock if that is set. */
int http_start_ex(const struct conf *c, pthread_rwlock_t *conf_lock,
    const struct conf *const *conf_ptr, struct store *s,
    const struct serve_opts *o, struct http **out, struct merr *err);
/* An on-demand pool file's request (http.c says how it goes). */
struct MHD_Connection;
struct odreq {
	struct ondemand_reader r;
	struct MHD_Connection *conn;
	struct route_result res;	/* the validators only: no pointers */
	struct respond_plan p;		/* 200 or 206 */
};
/* A new request of thread t for uri (counted in flight), owned. */
struct req *http_req_new(struct http_thread *t, const char *uri);
/* An on-demand request of conn for res's plan p, owned; no reader yet. */
struct odreq *http_odreq_new(struct MHD_Connection *conn,
    const struct route_result *res, const struct respond_plan *p);
/* Closes o's reader and frees o (NULL is fine). */
void http_odreq_free(struct odreq *o);
/*
 * Opens res's blob for an answer, without the S3 read-through (no server
 * thread waits for a download): the fd, or a negative MERR_* code. On an
 * S3 store, a blob its cache lacks is MERR_NOTFOUND with *cold (else
 * NULL) set to the want that streams it from the bucket (ondemand.h),
 * owned: the caller answers it as an on-demand file. uri names it in
 * messages.
 */
int http_blob_open(struct http *h, const struct route_result *res,
    const char *uri, struct ondemand_want **cold, struct merr *err);

/* Everything but the sockets and the threads. */
int http_prepare(struct http *h, const struct serve_opts *o,
    const struct server_sizes *z, struct merr *err);
/* One MHD daemon per thread on fds (owned from here). */
int http_daemons_start(struct http *h, const int *fds, bool ipv6,
    const struct server_sizes *z, struct merr *err);
/*
 * Stops accepting on every thread, lets the responses in flight finish
 * within grace_ms, then stops the threads.
 */
void http_stop_daemons(struct http *h, unsigned grace_ms);
/* Frees h and all it holds; its daemons stopped. */
void http_free(struct http *h);
/* What each of n server threads keeps for itself, and its counters. */
void http_threads_init(struct http *h, unsigned n);
/* libmicrohttpd's messages, at debug level. */
void http_mhd_log(void *cls, const char *fmt, va_list ap);
/* What res's cached answers follow from. */
void http_blob_key(const struct route_result *res, struct fdcache_key *k);

#endif
