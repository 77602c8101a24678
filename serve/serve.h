/*
 * serve.h: the HTTP server (libmicrohttpd; the only user of it).
 *
 * URL layout:
 *   /                                   HTML: mirrors, snapshots, channels
 *   /healthz                            "ok"
 *   /metrics                            Prometheus text format
 *   /keyring.gpg                        mirrord's public signing key
 *   /<mirror>/                          HTML: the mirror's refs
 *   /<mirror>/keyring.gpg               mirrord's key and the mirror's
 *                                       Signed-By keys (keyrings.h)
 *   /<mirror>/<ref>/dists/<suite>/...   Release files, indices, by-hash
 *   /<mirror>/<ref>/pool/...            pool files
 * <ref>: a snapshot ID, a YYYYMMDDTHHMMSSZ timestamp (the newest snapshot
 * at or before it), a channel name, or "latest".
 *
 * Inside serve/: serve.c runs the server (this API), http.c is its
 * libmicrohttpd glue, server.c decides what an answer says, route.c
 * resolves URLs (listing.c, pages.c: directory pages), respond.c holds
 * the HTTP rules and formats, and fdcache.c, limits.c, accesslog.c,
 * listen.c, keyrings.c, metrics.c and escape.c one concern each;
 * ondemand.c fetches an on-demand mirror's pool files as clients ask. Only
 * mirrord/ is included from here (never sync/).
 *
 * Threads: serve_run and serve_run_shared block the calling thread (it
 * tends the server every 100 ms) and start Serve-Threads: server
 * threads; *stop and *o->reopen_log are read by the calling thread only.
 */
#ifndef MIRRORD_SERVE_H
#define MIRRORD_SERVE_H

#include <pthread.h>
#include <signal.h>

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/store.h"

struct serve_opts {
	const char *listen;		/* "HOST:PORT" or "[ADDR]:PORT" */
	const char *access_log;		/* file, or NULL for stderr */
	const char *keyring;		/* public key file for /keyring.gpg */
	unsigned max_connections;	/* default 1024 */
	unsigned timeout;		/* idle/header timeout, seconds; 30 */
	unsigned threads;		/* server threads; default one per CPU */
	size_t map_budget;		/* bytes of blobs mapped at most;
					   0: Serve-Map-MiB: */
	unsigned cache_ttl_ms;		/* an open blob's life in the
					   cache; 0: 60 s (fdcache.h) */
	/* Set non-zero (a signal handler may): access_log is opened
	 * again within 100 ms (logrotate), then it is reset. */
	volatile sig_atomic_t *reopen_log;
	/*
	 * Where fleet adoption (adoption.h) is kept across restarts, saved
	 * every minute and at stop; NULL: adoption is not counted.
	 */
	const char *adoption_file;
};

/*
 * Serves c's mirrors from s until *stop becomes non-zero (a signal
 * handler sets it), then stops accepting, finishes in-flight responses
 * within a bound and returns 0. s may be read-only unless a mirror is
 * `Download: on-demand`: the server then stores the pool files it
 * fetches for clients (ondemand.h), and a read-only store answers those
 * requests with 500. Binding or starting failures are returned with err
 * naming the address.
 */
int serve_run(const struct conf *c, struct store *s,
    const struct serve_opts *o, volatile sig_atomic_t *stop,
    struct merr *err);

/*
 * serve_run for a configuration that changes while serving (the daemon's
 * reloads). Each request reads *conf_ptr under a read lock of conf_lock,
 * held while it uses it (URL resolution, listings, /metrics) and released
 * before any body byte is sent; the owner swaps *conf_ptr under the write
 * lock and may free the old configuration once it has released it.
 * o->listen must be set (the address is bound once: a new Listen: in a
 * reloaded configuration takes a restart). Otherwise as serve_run.
 */
int serve_run_shared(pthread_rwlock_t *conf_lock,
    const struct conf *const *conf_ptr, struct store *s,
    const struct serve_opts *o, volatile sig_atomic_t *stop,
    struct merr *err);

#endif
