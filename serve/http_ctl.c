/*
 * http_ctl.c: the parts of the HTTP server (http.h) that need no
 * libmicrohttpd, so that http.c, its one user, holds only what does:
 * the controls the controlling thread calls while the server threads
 * serve, starting and stopping around http.c's daemons, and small
 * helpers (http_int.h).
 */
#include "mirrord/common.h"

#include <stdatomic.h>
#include <stdio.h>

#include <sys/socket.h>

#include "mirrord/log.h"
#include "serve/http.h"
#include "serve/http_int.h"
#include "serve/listen.h"

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

/* libmicrohttpd's messages, into the log at debug level. */
void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("http: %s", msg);
}

/* What each of n server threads keeps for itself, and its counters. */
void
http_threads_init(struct http *h, unsigned n)
{
	size_t i;

	h->d = xcalloc(n, sizeof(*h->d));
	h->th = xcalloc(n, sizeof(*h->th));
	h->nth = n;
	h->m.req = xcalloc(n, sizeof(*h->m.req));
	h->m.nreq = n;
	for (i = 0; i < n; i++) {
		h->th[i].h = h;
		h->th[i].front = refcache_front_new();
		metrics_req_init(&h->th[i].m);
		h->m.req[i] = &h->th[i].m;
	}
}

/* What res's cached answers follow from. */
void
http_blob_key(const struct route_result *res, struct fdcache_key *k)
{
	memcpy(k->hash, res->hash, HASH_LEN);
	k->mtime = res->mtime;
	k->cc = res->cache_control;
	k->ctype = res->content_type;
}

int
http_start_ex(const struct conf *c, pthread_rwlock_t *conf_lock,
    const struct conf *const *conf_ptr, struct store *s,
    const struct serve_opts *o, struct http **out, struct merr *err)
{
	struct server_sizes z;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct http *h;
	int *fds = NULL;
	int rc;

	h = xcalloc(1, sizeof(*h));
	server_init(&h->sv, c, conf_lock, conf_ptr, s, &h->m);
	if (o->adoption_file != NULL)
		server_adoption_open(&h->sv, o->adoption_file);
	server_sizes(&h->sv, o, &z);
	rc = listen_parse(z.spec, &ss, &sl, err);
	if (rc)
		goto fail;
	rc = http_prepare(h, o, &z, err);
	if (rc)
		goto fail;
	server_raise_nofile(&z);
	fds = xcalloc(z.threads, sizeof(*fds));
	rc = listen_all(z.spec, &ss, sl, fds, z.threads, &h->port, err);
	if (rc)
		goto fail;
	http_threads_init(h, z.threads);
	rc = http_daemons_start(h, fds, ss.ss_family == AF_INET6, &z, err);
	if (rc)
		goto fail;
	free(fds);
	*out = h;
	return 0;
fail:
	free(fds);
	http_stop_daemons(h, 0);
	http_free(h);
	return rc;
}

int
http_start(const struct conf *c, struct store *s, const struct serve_opts *o,
    struct http **out, struct merr *err)
{
	return http_start_ex(c, NULL, NULL, s, o, out, err);
}

int
http_start_shared(pthread_rwlock_t *conf_lock,
    const struct conf *const *conf_ptr, struct store *s,
    const struct serve_opts *o, struct http **out, struct merr *err)
{
	return http_start_ex(NULL, conf_lock, conf_ptr, s, o, out, err);
}

struct req *
http_req_new(struct http_thread *t, const char *uri)
{
	size_t len = strlen(uri);
	struct req *q = xmalloc(sizeof(*q) + len + 1);

	q->t = t;
	q->start = time(NULL);
	q->status = 0;
	q->bytes = 0;
	q->od = NULL;
	q->method[0] = '\0';
	q->version[0] = '\0';
	memcpy(q->uri, uri, len + 1);
	atomic_fetch_add_explicit(&t->m.in_flight, 1, memory_order_relaxed);
	return q;
}

struct odreq *
http_odreq_new(struct MHD_Connection *conn, const struct route_result *res,
    const struct respond_plan *p)
{
	struct odreq *o = xcalloc(1, sizeof(*o));

	o->conn = conn;
	memcpy(o->res.hash, res->hash, HASH_LEN);
	o->res.size = res->size;
	o->res.mtime = res->mtime;
	o->res.cache_control = res->cache_control;
	o->res.content_type = res->content_type;
	o->p = *p;
	return o;
}

int
http_blob_open(struct http *h, const struct route_result *res,
    const char *uri, struct ondemand_want **cold, struct merr *err)
{
	int fd;

	*cold = NULL;
	fd = store_blob_open_cached(h->sv.store, res->hash, err);
	if (fd == MERR_NOTFOUND && store_s3(h->sv.store) != NULL)
		*cold = ondemand_want_bucket(uri, res->hash, res->size);
	return fd;
}

/* Closes o's reader and frees o (NULL is fine). */
void
http_odreq_free(struct odreq *o)
{
	if (o == NULL)
		return;
	ondemand_close(&o->r);
	free(o);
}

void
http_stop(struct http *h, unsigned grace_ms, const char *adoption_file)
{
	/* Wakes every connection waiting for upstream, so MHD can end it. */
	if (h->od != NULL)
		ondemand_cancel(h->od);
	http_stop_daemons(h, grace_ms);
	/* After the last request: every fetch it answered is counted. */
	server_adoption_save(&h->sv, adoption_file);
	http_free(h);
}
