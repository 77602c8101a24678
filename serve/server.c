/*
 * server.c: the server's state and decisions (see server.h), moved out
 * of http.c, which keeps libmicrohttpd's glue.
 */
#include "mirrord/common.h"

#include <sys/resource.h>

#include <time.h>
#include <unistd.h>

#include "mirrord/log.h"
#include "mirrord/status.h"
#include "serve/api.h"
#include "serve/fdcache.h"
#include "serve/pages.h"
#include "serve/server.h"
#include "serve/dashboard.h"

#define SERVER_KEYRING_MAX (1u << 20)
/* How long a resolved ref is reused: the delay before a move shows. */
#define SERVER_REF_TTL_MS 1000

void
server_init(struct server *sv, const struct conf *c,
    pthread_rwlock_t *conf_lock, const struct conf *const *conf_ptr,
    struct store *s, struct metrics *m)
{
	memset(sv, 0, sizeof(*sv));
	sv->conf = c;
	sv->conf_lock = conf_lock;
	sv->conf_ptr = conf_ptr;
	sv->store = s;
	sv->m = m;
	sv->cache = refcache_new(SERVER_REF_TTL_MS);
	pthread_mutex_init(&sv->prev_lock, NULL);
}

void
server_release(struct server *sv)
{
	refcache_free(sv->cache);
	free(sv->keyring);
	keyrings_free(sv->keyrings);
	adoption_free(sv->adoption);
	pthread_mutex_destroy(&sv->prev_lock);
	memset(sv, 0, sizeof(*sv));
}

const struct conf *
server_conf_get(const struct server *sv)
{
	if (sv->conf_lock == NULL)
		return sv->conf;
	pthread_rwlock_rdlock(sv->conf_lock);
	return *sv->conf_ptr;
}

void
server_conf_put(const struct server *sv)
{
	if (sv->conf_lock != NULL)
		pthread_rwlock_unlock(sv->conf_lock);
}

void
server_sizes(const struct server *sv, const struct serve_opts *o,
    struct server_sizes *z)
{
	const struct conf *c = server_conf_get(sv);
	long cpus;

	/* A shared configuration may be freed: its Listen: is not kept
	 * (serve_run_shared requires o->listen). */
	z->spec = o->listen ? o->listen : sv->conf_lock ? NULL : c->listen;
	if (z->spec == NULL)
		z->spec = "127.0.0.1:8080";
	z->conns = o->max_connections ? o->max_connections : c->max_clients;
	z->timeout = o->timeout ? o->timeout : (unsigned)c->client_timeout;
	z->threads = o->threads ? o->threads : c->serve_threads;
	z->per_ip = c->max_clients_per_ip;
	/* Serve-Map-MiB: 0 leaves no room: every blob from its descriptor. */
	z->map_budget = o->map_budget ? o->map_budget :
	    c->serve_map_mib ? (size_t)c->serve_map_mib << 20 : 1;
	server_conf_put(sv);
	z->ttl_ms = o->cache_ttl_ms ? o->cache_ttl_ms : FDCACHE_TTL_MS;
	if (z->conns == 0)
		z->conns = 1024;
	if (z->per_ip == 0)
		z->per_ip = z->conns / 4 > 0 ? z->conns / 4 : 1;
	else if (z->per_ip > z->conns)
		z->per_ip = z->conns;
	if (z->timeout == 0)
		z->timeout = 30;
	/*
	 * One per CPU, as nginx's worker_processes auto: with one
	 * listening socket per thread, more threads than CPUs only add
	 * context switches (measured: 304s 59,000/s with 2 threads on 2
	 * CPUs, 54,000/s with 4). A thread blocks while sendfile() reads a
	 * cold page: raise Serve-Threads for a store on slow disks.
	 */
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	if (z->threads == 0)
		z->threads = (unsigned)(cpus > 64 ? 64 : cpus);
}

void
server_raise_nofile(const struct server_sizes *z)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)z->conns * 2 + 64 + FDCACHE_MAX_FDS * 2;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int
server_load_keyring(struct server *sv, const char *path, struct merr *err)
{
	int rc;

	rc = read_file(path, SERVER_KEYRING_MAX, &sv->keyring,
	    &sv->keyring_len, err);
	if (rc)
		return rc;
	/* Each mirror's, made now rather than at the first request. */
	sv->keyrings = keyrings_new(sv->keyring, sv->keyring_len);
	keyrings_prepare(sv->keyrings, server_conf_get(sv));
	server_conf_put(sv);
	return 0;
}

static void
reply_status(struct server_reply *out, int status)
{
	out->kind = REPLY_STATUS;
	out->status = status;
}

/* out becomes status with the body in out->body, of ctype and cc. */
static void
reply_body(struct server_reply *out, int status, const char *ctype,
    const char *cc)
{
	out->kind = REPLY_BODY;
	out->status = status;
	out->ctype = ctype;
	out->cc = cc;
}

/*
 * /healthz: "ok" only if a request could read the index now and every
 * mirror synced within its Max-Sync-Age.
 */
static void
reply_healthz(struct server *sv, struct server_reply *out)
{
	struct merr err;
	int rc;

	rc = store_check(sv->store, &err);
	if (rc == 0) {
		rc = status_check_age(sv->store, server_conf_get(sv),
		    (int64_t)time(NULL), &out->body, &err);
		server_conf_put(sv);
		if (rc == 0) {
			out->kind = REPLY_HEALTHY;
			return;
		}
		if (rc > 0) {	/* stale: the syncs' problem, logged */
			reply_body(out, 503, "text/plain; charset=utf-8",
			    "no-store");
			return;
		}
		buf_reset(&out->body);
	}
	log_error("http: healthz: %s", err.msg);
	buf_addf(&out->body, "%s\n", err.msg);
	reply_body(out, 503, "text/plain; charset=utf-8", "no-store");
}

/* /<mirror>/keyring.gpg: mirrord's key and the mirror's Signed-By. */
static void
reply_mirror_keyring(struct server *sv, const char *mirror,
    struct server_reply *out)
{
	const struct conf_mirror *m;
	struct merr err;
	int rc;

	if (sv->keyrings == NULL) {
		reply_status(out, 404);
		return;
	}
	m = conf_mirror(server_conf_get(sv), mirror);
	rc = m ? keyrings_get(sv->keyrings, m, &out->body, &err) : 0;
	server_conf_put(sv);
	if (m == NULL)
		reply_status(out, 404);
	else if (rc) {
		log_error("http: %s", err.msg);
		buf_reset(&out->body);
		reply_status(out, 500);
	} else
		reply_body(out, 200, "application/pgp-keys", ROUTE_CC_MOVING);
}

static void
reply_metrics(struct server *sv, struct server_reply *out)
{
	const struct conf *c = server_conf_get(sv);
	int64_t now = (int64_t)time(NULL);
	struct merr err;
	int rc;

	rc = metrics_render(sv->m, c, sv->store, now, &out->body, &err);
	if (rc == 0)
		rc = metrics_adoption(sv->adoption, c, sv->store, now,
		    &out->body, &err);
	if (rc == 0)
		rc = metrics_ondemand(sv->m, sv->od, c, sv->store, &out->body,
		    &err);
	server_conf_put(sv);
	if (rc) {
		log_error("http: metrics: %s", err.msg);
		buf_reset(&out->body);
		reply_status(out, 500);
		return;
	}
	reply_body(out, 200, "text/plain; version=0.0.4; charset=utf-8",
	    "no-store");
}

/* A URL of the archive: a blob, a listing, a redirect or a status. */
static void
reply_route(struct server *sv, struct refcache_front *front,
    const struct route *r, struct server_reply *out)
{
	struct route_result *res = &out->res;
	struct merr err;
	int rc;

	/* Nothing of the configuration is used once this returns. */
	rc = route_resolve(server_conf_get(sv), sv->store, sv->cache, front,
	    r, res, &err);
	server_conf_put(sv);
	if (rc)
		log_error("http: %s", err.msg);
	switch (res->answer) {
	case ANSWER_FILE:
		out->kind = REPLY_FILE;
		break;
	case ANSWER_LISTING:
		if (res->listing.kind == LISTING_REF) {
			metrics_listing_exposure(sv->m, server_conf_get(sv),
			    sv->store, r->mirror, &res->listing);
			server_conf_put(sv);
		}
		dashboard_fill(sv->store, sv->adoption, sv->m,
		    server_conf_get(sv), r, &res->listing);
		server_conf_put(sv);
		pages_render(&res->listing, &out->body);
		reply_body(out, 200, "text/html; charset=utf-8",
		    ROUTE_CC_MOVING);
		break;
	case ANSWER_REDIRECT:
		out->kind = REPLY_REDIRECT;
		break;
	default:
		reply_status(out, res->status);
		break;
	}
}

void
server_adoption_open(struct server *sv, const char *path)
{
	struct merr err;

	sv->adoption = adoption_new(0);
	/* Counts start again rather than keep the server down. */
	if (adoption_load(sv->adoption, path, &err))
		log_warn("%s; fleet adoption counts start empty", err.msg);
}

void
server_adoption_save(const struct server *sv, const char *path)
{
	struct merr err;

	if (path != NULL && sv->adoption != NULL &&
	    adoption_save(sv->adoption, path, &err))
		log_warn("fleet adoption: %s", err.msg);
}

/* The sequence number of mirror's snapshot id (memo), or 0. */
static uint32_t
prev_seq(struct server *sv, const char *mirror, const char *id)
{
	struct store_txn *t;
	struct snap sn;
	struct merr err;
	uint32_t seq = 0;
	unsigned i;

	pthread_mutex_lock(&sv->prev_lock);
	for (i = 0; i < ARRAY_SIZE(sv->prev); i++)
		if (strcmp(sv->prev[i].id, id) == 0 &&
		    strcmp(sv->prev[i].mirror, mirror) == 0)
			seq = sv->prev[i].seq;
	pthread_mutex_unlock(&sv->prev_lock);
	if (seq != 0 || store_txn_begin(sv->store, false, &t, &err) != 0)
		return seq;
	if (snap_load(t, mirror, id, &sn, &err) == 0) {
		seq = sn.seq;
		snap_release(&sn);
	}
	store_txn_abort(t);
	if (seq == 0 || strlen(mirror) >= sizeof(sv->prev[0].mirror))
		return seq;
	pthread_mutex_lock(&sv->prev_lock);
	i = sv->prev_next++ % ARRAY_SIZE(sv->prev);
	snprintf(sv->prev[i].mirror, sizeof(sv->prev[i].mirror), "%s", mirror);
	memcpy(sv->prev[i].id, id, SNAP_ID_LEN + 1);
	sv->prev[i].seq = seq;
	pthread_mutex_unlock(&sv->prev_lock);
	return seq;
}

/* Whether pool file r->path (res) is one the channel's prev lacked. */
static bool
pool_is_new(struct server *sv, struct refcache_front *front,
    const struct route *r, const struct route_result *res)
{
	unsigned char h[HASH_LEN];
	struct merr err;
	uint64_t size;
	uint32_t seq;
	int rc;

	if (res->prev[0] == '\0')
		return false;	/* a first promotion: nothing was before */
	if ((seq = prev_seq(sv, r->mirror, res->prev)) == 0)
		return false;
	/* Through the thread's memo: an old file asked again costs no
	 * transaction. */
	rc = route_pool_lookup(sv->store, front, r->mirror, r->path, seq, h,
	    &size, &err);
	return rc == MERR_NOTFOUND ||
	    (rc == 0 && memcmp(h, res->hash, HASH_LEN) != 0);
}

/* What a channel's answer says of the fleet (adoption.h). */
static void
note_fleet(struct server *sv, struct refcache_front *front,
    const struct route *r, const struct route_result *res,
    const struct sockaddr *client)
{
	const char *base;
	int64_t now = (int64_t)time(NULL);

	if (client == NULL || sv->adoption == NULL || !res->channel ||
	    res->answer != ANSWER_FILE)
		return;
	if (r->kind == ROUTE_SUITE) {
		base = strrchr(r->path, '/') ? strrchr(r->path, '/') + 1 :
		    r->path;
		if (strcmp(base, "InRelease") == 0 ||
		    strcmp(base, "Release") == 0 ||
		    strcmp(base, "Release.gpg") == 0)
			adoption_note(sv->adoption, client, r->mirror, r->ref,
			    ADOPT_RELEASE, now);
		else if (route_is_by_hash(r->path))
			adoption_note(sv->adoption, client, r->mirror, r->ref,
			    ADOPT_INDEX, now);
	} else if (r->kind == ROUTE_POOL &&
	    !adoption_upgraded(sv->adoption, client, r->mirror, r->ref,
	    res->mtime) && pool_is_new(sv, front, r, res))
		adoption_note(sv->adoption, client, r->mirror, r->ref,
		    ADOPT_POOL, now);
}

void
server_reply(struct server *sv, struct refcache_front *front, const char *url,
    const struct sockaddr *client, struct server_reply *out)
{
	char path[ROUTE_BUF_MAX];
	struct route r;
	int rc;

	memset(out, 0, sizeof(*out));
	buf_init(&out->body);
	buf_init(&out->res.location);
	rc = route_parse(url, path, sizeof(path), &r);
	if (rc) {
		reply_status(out, rc);
		return;
	}
	switch (r.kind) {
	case ROUTE_HEALTHZ:
		reply_healthz(sv, out);
		break;
	case ROUTE_KEYRING:
		if (sv->keyring == NULL)
			reply_status(out, 404);
		else
			out->kind = REPLY_KEYRING;
		break;
	case ROUTE_MIRROR_KEYRING:
		reply_mirror_keyring(sv, r.mirror, out);
		break;
	case ROUTE_METRICS:
		reply_metrics(sv, out);
		break;
	case ROUTE_API:
		api_reply(server_conf_get(sv), sv->store, r.path, out);
		server_conf_put(sv);
		break;
	default:
		reply_route(sv, front, &r, out);
		note_fleet(sv, front, &r, &out->res, client);
		break;
	}
}

void
server_reply_release(struct server_reply *r)
{
	buf_release(&r->body);
	route_result_release(&r->res);
}
