/*
 * http_ctl.c: the HTTP server's controls that need no libmicrohttpd
 * (http.h): what the controlling thread calls while the server threads
 * serve.
 */
#include "mirrord/common.h"

#include <stdatomic.h>

#include "serve/http.h"
#include "serve/http_int.h"

void
http_sweep(struct http *h)
{
	fdcache_sweep(h->fc);
}

uint64_t
http_log_lost(struct http *h, int *last_errno)
{
	*last_errno = atomic_load_explicit(&h->m.log_errno,
	    memory_order_relaxed);
	return atomic_load_explicit(&h->m.log_lost, memory_order_relaxed);
}

void
http_save_adoption(struct http *h, const char *path)
{
	server_adoption_save(&h->sv, path);
}

int
http_reopen_log(struct http *h, const char *path, struct merr *err)
{
	return accesslog_reopen(h->log, path, err);
}

unsigned
http_port(const struct http *h)
{
	return h->port;
}

