/*
 * http_int.h: the HTTP server's own state (private to http.c and
 * http_ctl.c). Free of libmicrohttpd: its types are only named here,
 * http.c alone includes its header.
 */
#ifndef SERVE_HTTP_INT_H
#define SERVE_HTTP_INT_H

#include "mirrord/common.h"

#include <time.h>

#include "serve/accesslog.h"
#include "serve/fdcache.h"
#include "serve/limits.h"
#include "serve/metrics.h"
#include "serve/refcache.h"
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
	C_400, C_404, C_405, C_412, C_500, C_HEALTH, C_KEYRING, C_COUNT
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
	char uri[];		/* raw, with the query */
};

#endif
