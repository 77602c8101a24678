/*
 * serve.c: serve_run and serve_run_shared (serve.h): start the HTTP
 * server (http.c), then tend it every 100 ms until told to stop: sweep
 * the open-blob cache, reopen the access log on request, warn of access
 * log lines lost. Moved out of http.c, which keeps libmicrohttpd's glue.
 */
#include "mirrord/common.h"

#include <sys/socket.h>

#include <time.h>

#include "mirrord/log.h"
#include "serve/http.h"
#include "serve/listen.h"
#include "serve/serve.h"

#define SERVE_SWEEP_TICKS 100	/* serve_loop()'s 100 ms: a sweep each 10 s */

/*
 * Says in the log that access-log lines were lost (*reported: the count
 * already said): at once the first time, then at most once a minute, as
 * a full disk loses one a request.
 */
static void
warn_log_lost(struct http *h, const char *path, uint64_t *reported,
    int64_t *last)
{
	int lost_errno;
	uint64_t lost = http_log_lost(h, &lost_errno);
	int64_t now = mono_ms();

	if (lost == *reported || (*last != 0 && now - *last < 60 * 1000))
		return;
	log_warn("access log '%s': %llu line%s not written (%llu in all): %s",
	    path != NULL ? path : "standard error",
	    (unsigned long long)(lost - *reported), lost - *reported == 1 ?
	    "" : "s", (unsigned long long)lost, strerror(lost_errno));
	*reported = lost;
	*last = now;
}

/* Fleet adoption to its file: every minute, and at stop (http_stop). */
#define SERVE_ADOPTION_TICKS 600

static int
serve_loop(const struct conf *c, pthread_rwlock_t *conf_lock,
    const struct conf *const *conf_ptr, struct store *s,
    const struct serve_opts *o, volatile sig_atomic_t *stop,
    struct merr *err)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	struct sockaddr_storage ss;
	socklen_t sl;
	struct http *h;
	const char *spec = o->listen ? o->listen : c->listen;
	unsigned long ticks;
	uint64_t lost_said = 0;
	int64_t lost_when = 0;
	int rc;

	if (spec == NULL)
		spec = "127.0.0.1:8080";
	rc = listen_parse(spec, &ss, &sl, err);
	if (rc)
		return rc;
	if (listen_port(&ss) == 0)
		return merr_set(err, MERR_INVAL, "bad listen address '%s': "
		    "port must be 1 to 65535", spec);
	if (conf_lock != NULL)
		rc = http_start_shared(conf_lock, conf_ptr, s, o, &h, err);
	else
		rc = http_start(c, s, o, &h, err);
	if (rc)
		return rc;
	log_info("serving on '%s'", spec);
	for (ticks = 1; !*stop; ticks++) {
		nanosleep(&ts, NULL);
		if (ticks % SERVE_SWEEP_TICKS == 0)
			http_sweep(h);
		warn_log_lost(h, o->access_log, &lost_said, &lost_when);
		if (ticks % SERVE_ADOPTION_TICKS == 0)
			http_save_adoption(h, o->adoption_file);
		if (o->reopen_log != NULL && *o->reopen_log) {
			struct merr rerr = { 0, "" };

			*o->reopen_log = 0;
			if (http_reopen_log(h, o->access_log, &rerr))
				log_error("%s; still writing to the old one",
				    rerr.msg);
			else if (o->access_log != NULL)
				log_info("access log '%s' reopened",
				    o->access_log);
		}
	}
	log_info("stopping: finishing requests in flight");
	http_stop(h, 10 * 1000, o->adoption_file);
	return 0;
}

int
serve_run(const struct conf *c, struct store *s, const struct serve_opts *o,
    volatile sig_atomic_t *stop, struct merr *err)
{
	return serve_loop(c, NULL, NULL, s, o, stop, err);
}

int
serve_run_shared(pthread_rwlock_t *conf_lock,
    const struct conf *const *conf_ptr, struct store *s,
    const struct serve_opts *o, volatile sig_atomic_t *stop,
    struct merr *err)
{
	if (o->listen == NULL)
		return merr_set(err, MERR_INVAL, "serve: no listen address");
	return serve_loop(NULL, conf_lock, conf_ptr, s, o, stop, err);
}
