/*
 * server.h: the server's state and decisions, free of libmicrohttpd
 * (private to serve/).
 *
 * http.c carries bytes (libmicrohttpd's daemons, connections and
 * responses); this decides what they say: the server's sizes from the
 * options and the configuration, access to a configuration that reloads
 * may swap, and the answer to a request's URL (server_reply()), which
 * http.c turns into a response.
 *
 * Threads: server_init(), server_load_keyring() and server_release() run
 * before the server threads start or after they stop. Every other
 * function may be called from every server thread at once: the
 * configuration is read under conf_lock's read lock when there is one
 * (server_conf_get() to server_conf_put()), the route cache and the
 * keyrings lock themselves (route.h, keyrings.h), the store's read
 * transactions are per thread (store.h), and the metrics are atomics.
 */
#ifndef SERVE_SERVER_H
#define SERVE_SERVER_H

#include <pthread.h>

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/store.h"
#include "mirrord/adoption.h"
#include "serve/keyrings.h"
#include "serve/metrics.h"
#include "serve/ondemand.h"
#include "serve/route.h"
#include "serve/serve.h"

/* The server's sizes: the options, else the configuration, else defaults. */
struct server_sizes {
	const char *spec;	/* the address to listen on */
	unsigned conns;		/* Max-Clients: */
	unsigned per_ip;	/* Max-Clients-Per-IP: */
	unsigned timeout;	/* Client-Timeout:, seconds */
	unsigned threads;	/* Serve-Threads: */
	size_t map_budget;	/* Serve-Map-MiB:, in bytes */
	unsigned ttl_ms;	/* an open blob's life in the cache */
};

/* What the server threads share. The pointers are borrowed but cache,
 * keyring and keyrings, which server_release() frees. */
struct server {
	const struct conf *conf;	/* when conf_lock is NULL */
	pthread_rwlock_t *conf_lock;	/* else *conf_ptr, under it */
	const struct conf *const *conf_ptr;
	struct store *store;
	struct refcache *cache;	/* refs resolved */
	char *keyring;			/* mirrord's key, or NULL */
	size_t keyring_len;
	struct keyrings *keyrings;	/* /<mirror>/keyring.gpg, or NULL */
	struct metrics *m;		/* for /metrics */
	struct ondemand *od;		/* on-demand flights (borrowed) */
	/*
	 * Fleet adoption (adoption.h): owned, NULL when not counted; and
	 * the sequence numbers of channels' previous targets, found once.
	 */
	struct adoption *adoption;
	pthread_mutex_t prev_lock;
	struct server_prev {
		char mirror[65];
		char id[SNAP_ID_LEN + 1];
		uint32_t seq;
	} prev[16];
	unsigned prev_next;
};

/*
 * sv for the configuration c, or *conf_ptr under conf_lock when that is
 * set (serve_run_shared), serving s and counting in m.
 */
void server_init(struct server *sv, const struct conf *c,
    pthread_rwlock_t *conf_lock, const struct conf *const *conf_ptr,
    struct store *s, struct metrics *m);
void server_release(struct server *sv);

/*
 * The configuration for one request, valid until server_conf_put(),
 * which must follow before any byte of the answer is sent (a reload
 * waits for it).
 */
const struct conf *server_conf_get(const struct server *sv);
void server_conf_put(const struct server *sv);

/* o's sizes, else the configuration's, else the defaults, into *z. */
void server_sizes(const struct server *sv, const struct serve_opts *o,
    struct server_sizes *z);

/*
 * Raises the soft limit of open files (up to the hard one) so that each
 * of z's connections may hold a socket and a blob, and the open-blob
 * cache as many as it holds. Best effort: nothing to report.
 */
void server_raise_nofile(const struct server_sizes *z);

/*
 * Fleet adoption (adoption.h): counted from now on, starting from the
 * tables saved at path (a file that does not parse is warned about: the
 * counts start empty); and saved to path (NULL, or not counted: nothing;
 * a failure is warned about).
 */
void server_adoption_open(struct server *sv, const char *path);
void server_adoption_save(const struct server *sv, const char *path);

/*
 * Reads mirrord's public key at path (1 MiB at most) for /keyring.gpg
 * and makes each mirror's keyring now rather than at the first request.
 * Errors name the file.
 */
int server_load_keyring(struct server *sv, const char *path,
    struct merr *err);

/* What to answer. */
enum reply_kind {
	REPLY_STATUS,		/* status with its fixed body */
	REPLY_HEALTHY,		/* /healthz: 200 "ok" */
	REPLY_KEYRING,		/* /keyring.gpg: sv->keyring */
	REPLY_BODY,		/* status with body, ctype and cc */
	REPLY_FILE,		/* the blob of res, its validators, ranges */
	REPLY_REDIRECT		/* 301 to res.location (a directory's "/") */
};

struct server_reply {
	enum reply_kind kind;
	int status;		/* STATUS: 400, 404, 500; BODY: 200, 503 */
	struct buf body;	/* BODY */
	const char *ctype;	/* BODY: static strings */
	const char *cc;
	struct route_result res;	/* FILE, REDIRECT */
};

/*
 * The answer to a GET or HEAD of the raw URL url (as the client sent
 * it), resolved with the calling thread's front to the route cache.
 * client (NULL for a HEAD: nothing fetched) is counted in sv->adoption
 * when the answer is a channel's Release file, by-hash index or a pool
 * file new in its last move.
 * Errors are answered (500, 503) and logged here, once. *out is owned:
 * release it with server_reply_release() whatever its kind.
 */
void server_reply(struct server *sv, struct refcache_front *front,
    const char *url, const struct sockaddr *client,
    struct server_reply *out);
void server_reply_release(struct server_reply *r);

#endif
