/*
 * http.h: the libmicrohttpd daemon behind serve_run (private to serve/).
 *
 * Split out of serve_run so that tests can start a server on an ephemeral
 * port, learn the port, and stop it.
 */
#ifndef SERVE_HTTP_H
#define SERVE_HTTP_H

#include <sys/socket.h>

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/store.h"
#include "serve/serve.h"

struct http;

/*
 * Binds o->listen and starts the daemon's threads. Errors name the
 * address ("cannot listen on '127.0.0.1:8080': Address already in use").
 * *out is owned: stop it with http_stop(). c, s and o are borrowed and
 * must outlive it.
 */
int http_start(const struct conf *c, struct store *s,
    const struct serve_opts *o, struct http **out, struct merr *err);
/* The port actually bound (useful with port 0). */
unsigned http_port(const struct http *h);
/*
 * Stops accepting connections, waits up to grace_ms for the requests in
 * flight to finish, then stops the daemon (closing idle connections) and
 * frees h.
 */
void http_stop(struct http *h, unsigned grace_ms);
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
 * do when the log is stderr.
 */
int http_reopen_log(struct http *h, const char *path, struct merr *err);

#endif
