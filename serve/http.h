/*
 * http.h: the libmicrohttpd server behind serve_run (private to serve/).
 *
 * serve.c runs it (start, tend, stop); tests start one on an ephemeral
 * port, learn the port, and stop it. http.c is the one file that
 * includes libmicrohttpd's header: everything here is free of it.
 *
 * Threads: the server runs one thread per Serve-Threads:, each an MHD
 * daemon with its own listening socket; they call into route.c,
 * fdcache.c, limits.c, accesslog.c, keyrings.c and metrics.c
 * concurrently (each header says what it locks). The functions below
 * are for one controlling thread: http_sweep() and http_reopen_log()
 * may run while the server threads serve; http_stop() must be the last
 * call.
 */
#ifndef SERVE_HTTP_H
#define SERVE_HTTP_H

#include <pthread.h>

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/store.h"
#include "serve/serve.h"

struct http;

/*
 * Binds o->listen (else c's Listen:, else 127.0.0.1:8080; port 0 picks
 * a free port) and starts the server threads. Errors name the address
 * ("cannot listen on '127.0.0.1:8080': Address already in use"), or the
 * access log or keyring file that cannot be read; MERR_INVAL for a bad
 * address. *out is owned: stop it with http_stop(). c, s and o are
 * borrowed and must outlive it.
 */
int http_start(const struct conf *c, struct store *s,
    const struct serve_opts *o, struct http **out, struct merr *err);
/*
 * http_start for a configuration that changes while serving: each
 * request reads *conf_ptr under a read lock of conf_lock (serve.h's
 * serve_run_shared says the rules). o->listen must be set.
 */
int http_start_shared(pthread_rwlock_t *conf_lock,
    const struct conf *const *conf_ptr, struct store *s,
    const struct serve_opts *o, struct http **out, struct merr *err);
/* The port actually bound (useful with port 0). */
unsigned http_port(const struct http *h);
/*
 * Stops accepting connections, waits up to grace_ms for the requests in
 * flight to finish, then stops the threads (closing idle connections),
 * saves the fleet adoption tables to adoption_file (NULL: not) and
 * frees h.
 */
void http_stop(struct http *h, unsigned grace_ms, const char *adoption_file);
/*
 * Drops the open-blob cache's expired entries, with their descriptors
 * and mappings once no connection sends from them (serve_run does every
 * 10 s).
 */
void http_sweep(struct http *h);
/*
 * Opens path again for the access log, in place of the one open (after
 * logrotate moved it): onto the same descriptor, so a thread writing a
 * line meanwhile writes it whole to one file or the other. Nothing to
 * do when the log is stderr. On an error the old file stays in use.
 */
int http_reopen_log(struct http *h, const char *path, struct merr *err);

/* Saves the fleet adoption tables to path (server_adoption_save). */
void http_save_adoption(struct http *h, const char *path);
/*
 * Access-log lines not written whole so far (a full disk, an I/O
 * error), with the errno of the last in *last_errno.
 */
uint64_t http_log_lost(struct http *h, int *last_errno);

#endif
