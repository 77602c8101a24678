/*
 * daemon.c: `mirrord daemon` (see daemon.h for what it does).
 *
 * Threads, all with SIGHUP, SIGUSR1, SIGTERM and SIGINT blocked:
 *   main    waits for those signals with sigtimedwait(), a second at a
 *           time (the watchdog and STATUS tick), and acts on them: reload,
 *           reopen the logs, stop;
 *   serve   serve_run_shared(), until the stop flag;
 *   worker  the schedule: channel refreshes, then due syncs one after the
 *           other, each followed by retention if it made a snapshot; on
 *           a replica (Replica-Of:), instead, a poll of the primary every
 *           Replica-Interval (replica.h), and nothing else that writes.
 *
 * The store is opened once, for writing (LMDB must not be opened twice in
 * one process): the server's read transactions and the worker's writes
 * share it. The worker takes the store's writer lock without waiting
 * around each sync and each batch of refreshes and drops it in between,
 * so that a `mirrord sync` or `promote` run by hand gets its turn.
 *
 * The configuration is reference counted (struct dconf): being current is
 * one reference, and the worker holds one on the configuration it works
 * with. The server reads it through serve_conf under conf_lock. A reload
 * points serve_conf at the new one under the write lock (no request reads
 * the old one after that), makes it current and drops the old one's
 * reference: it is freed then, or when the worker lets go of it at its
 * next wakeup (it is woken for that).
 */
#include "mirrord/common.h"

#include <sys/random.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "mirrord/adoption.h"
#include "mirrord/channel.h"
#include "mirrord/conf.h"
#include "mirrord/fmt.h"
#include "mirrord/gc.h"
#include "mirrord/gpg.h"
#include "mirrord/log.h"
#include "mirrord/replica.h"
#include "mirrord/schedule.h"
#include "mirrord/snap.h"
#include "mirrord/status.h"
#include "mirrord/store.h"
#include "serve/serve.h"
#include "sync/feed.h"
#include "mirrord/fetch.h"
#include "sync/sync.h"
#include "cmd/cmd.h"
#include "cmd/daemon.h"

/* The schedule's own rules and times are mirrord/schedule.h's. */
#define DAEMON_TICK_MS 1000		/* signal wait: watchdog, STATUS */
#define DAEMON_READERS_MS 10000		/* how often dead readers are freed */
#define DAEMON_STOP_MS 10000		/* a cancelled sync ends within this */
#define DAEMON_SERVE_START_MS 500	/* a bind failure shows within this */
#define DAEMON_NAME_MAX SCHEDULE_NAME_MAX

struct dconf {
	struct conf *c;
	unsigned refs;		/* under daemon.mu */
};

struct daemon {
	const char *conf_path;
	struct conf **confp;	/* the caller's: always the current one */
	struct store *store;
	struct gpg_signer *signer;
	char *signing_key;	/* the key file loaded at start */
	char *listen;		/* bound at start, for good */
	char *access_log;	/* Access-Log: at start, or NULL */
	char *adoption_file;	/* <Store>/adoption (serve.h) */
	volatile sig_atomic_t reopen_log;	/* the server reopens it */
	char *keyring;		/* <store>/keyring.gpg, or NULL */
	char *by;		/* "daemon@HOST", for the channel log */
	bool log_redirected;	/* stderr went to a Log-File */
	bool watchdog;
	volatile sig_atomic_t stop;	/* the server's stop flag */
	atomic_bool cancel;		/* the running sync's cancel flag */
	struct serve_opts so;

	/* The server's view of the configuration. */
	pthread_rwlock_t conf_lock;
	const struct conf *serve_conf;

	pthread_mutex_t mu;	/* guards cur, refs, stopping and status */
	pthread_cond_t cond;	/* wakes the worker: a reload, the stop */
	struct dconf *cur;	/* the current configuration */
	bool stopping;
	char busy[DAEMON_NAME_MAX + 1];		/* being synced, or "" */
	char next_name[DAEMON_NAME_MAX + 1];	/* due next, or "" */
	int64_t next_at;			/* ... then (monotonic ms) */

	/* The worker's own. */
	struct schedule plan;	/* the enabled mirrors' next syncs */
	int64_t chan_next;	/* next channel check, monotonic ms */
	int64_t readers_next;	/* next reader table check, monotonic ms */
	int64_t roll_next;	/* next rollout tick, monotonic ms */
	int64_t rep_next;	/* next poll of the primary, monotonic ms */
	bool rep_failing;	/* the last poll failed: said once */
	struct daemon_rollouts rolls;

	bool locks_init, serve_started, worker_started;
	pthread_t serve_th, worker_th;
	atomic_bool serve_done;
	int serve_rc;
	struct merr serve_err;
};

/* --- small helpers ------------------------------------------------------ */

/* An absolute CLOCK_MONOTONIC time for pthread_cond_timedwait. */
static struct timespec
mono_abs(int64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	return ts;
}

static void
dconf_put_locked(struct dconf *dc)
{
	if (--dc->refs > 0)
		return;
	conf_free(dc->c);
	free(dc);
}

/* --- the worker: syncs ------------------------------------------------ */

/*
 * Publishes the plan for `mirrord status` (status.h): each planned
 * mirror's next sync as a unix time with our pid; the records of c's
 * other mirrors (disabled, or all of them with clear: the daemon stops)
 * are deleted. Needs the store's writer lock: without have_lock it is
 * taken if free, else the plan is published at the next occasion.
 */
static void
sched_publish(struct daemon *d, const struct conf *c, bool have_lock,
    bool clear)
{
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	struct schedule_entry *e;
	int64_t now = mono_ms(), wall = (int64_t)time(NULL), next;
	size_t i;
	int rc;

	if (!have_lock && store_lock(d->store, "daemon schedule", false,
	    &err) != 0)
		return;
	rc = store_txn_begin(d->store, true, &t, &err);
	for (i = 0; rc == 0 && i < c->nmirrors; i++) {
		e = clear ? NULL : schedule_find(&d->plan,
		    c->mirrors[i].name);
		next = e ? schedule_wall(e->next, now, wall) : 0;
		rc = status_put_next(t, c->mirrors[i].name, next,
		    (long)getpid(), &err);
	}
	if (rc == 0)
		rc = store_txn_commit(t, &err);
	else if (t != NULL)
		store_txn_abort(t);
	if (!have_lock)
		store_unlock(d->store);
	if (rc)
		log_warn("cannot record the sync schedule: %s", err.msg);
}

/* Retention and collection for m, after a sync that made a snapshot. */
static void
daemon_gc(struct daemon *d, const struct conf *c, const struct conf_mirror *m)
{
	struct gc_stats st;
	struct merr err = { 0 };

	memset(&st, 0, sizeof(st));
	if (gc_run(d->store, c, m, c->gc_grace, false, &st, &err)) {
		log_error("mirror '%s': retention: %s", m->name, err.msg);
		return;
	}
	if (st.snapshots_dropped || st.blobs_queued || st.blobs_removed)
		log_info("mirror '%s': retention: %llu snapshots dropped, "
		    "%llu blobs (%llu bytes) removed, %llu blobs (%llu bytes) "
		    "in their grace period", m->name,
		    (unsigned long long)st.snapshots_dropped,
		    (unsigned long long)st.blobs_removed,
		    (unsigned long long)st.bytes_removed,
		    (unsigned long long)st.blobs_pending,
		    (unsigned long long)st.bytes_pending);
}

/* One sync of the mirror planned in sc, and when the next one comes. */
static void
daemon_sync(struct daemon *d, const struct conf *c, struct schedule_entry *sc)
{
	const struct conf_mirror *m = conf_mirror(c, sc->name);
	int64_t iv = schedule_interval_ms(c, m), start = mono_ms(), wait;
	struct fetch_opts fo;
	struct sync_opts so;
	struct sync_result res;
	struct fetch *f = NULL;
	struct merr err = { 0 };
	char dur[FMT_TIME_MAX];
	bool locked;
	int rc;

	rc = store_lock(d->store, "daemon sync", false, &err);
	if (rc == MERR_BUSY) {
		/* A sync or promote run by hand: its turn. */
		wait = schedule_busy(sc, start, iv);
		fmt_duration(wait, dur);
		log_info("mirror '%s': not syncing now: %s; next try in %s",
		    m->name, err.msg, dur);
		return;
	}
	locked = rc == 0;
	log_info("mirror '%s': sync started", m->name);
	if (rc == 0)
		rc = store_clean_tmp(d->store, &err);
	if (rc == 0) {
		fetch_opts_of_conf(c, &fo);
		rc = fetch_new(&fo, &f, &err);
	}
	memset(&res, 0, sizeof(res));
	if (rc == 0) {
		memset(&so, 0, sizeof(so));
		so.cancel = &d->cancel;
		so.by = "daemon";
		rc = sync_mirror(c, m, d->store, f, &so, &res, &err);
	}
	/* The advisory feeds given as URLs, whatever the sync did. */
	if (f != NULL && !atomic_load(&d->cancel)) {
		struct merr ferr = { 0 };

		if (feed_update_mirror(f, c, m, &ferr) != 0)
			log_warn("%s", ferr.msg);
	}
	fetch_free(f);
	if (rc && atomic_load(&d->cancel)) {
		/* Stopping: no retry to plan, no schedule to publish. */
		store_unlock(d->store);
		log_info("%s%s", str_startswith(err.msg, "mirror '") ? "" :
		    "sync: ", err.msg);
		return;
	}
	/* Retention can wait for the next sync when we are stopping. */
	if (rc == 0 && res.created && !atomic_load(&d->cancel))
		daemon_gc(d, c, m);

	if (rc) {
		wait = schedule_failed(sc, mono_ms(), iv);
		if (locked)
			sched_publish(d, c, true, false);
		store_unlock(d->store);
		fmt_duration(wait, dur);
		log_error("%s%s (failure %u); next try in %s",
		    str_startswith(err.msg, "mirror '") ? "" : "sync: ",
		    err.msg, sc->fails, dur);
		return;
	}
	schedule_succeeded(&d->plan, sc, start, iv);
	sched_publish(d, c, true, false);
	store_unlock(d->store);
	fmt_duration(sc->next - mono_ms(), dur);
	if (res.created)
		log_info("mirror '%s': new snapshot %s (%llu files, %llu bytes "
		    "fetched); next sync in %s", m->name, res.id,
		    (unsigned long long)res.fetched_files,
		    (unsigned long long)res.fetched_bytes, dur);
	else
		log_info("mirror '%s': no change; next sync in %s", m->name,
		    dur);
}

/* --- the worker: channel refreshes ------------------------------------- */

struct chan_todo {
	const char *mirror;	/* in the worker's configuration */
	char *name;
};

/*
 * The channels due for re-signing at unix time now, added to *todo
 * (*ntodo of them, names owned); *next is brought forward to the time
 * the first of the others falls due. What was found before an error is
 * kept.
 */
static int
channels_due(struct daemon *d, const struct conf *c, int64_t now,
    struct chan_todo **todo, size_t *ntodo, int64_t *next, struct merr *err)
{
	struct store_txn *t = NULL;
	size_t k, i;
	int rc;

	rc = store_txn_begin(d->store, false, &t, err);
	for (k = 0; rc == 0 && k < c->nmirrors; k++) {
		const char *mname = c->mirrors[k].name;
		char **names = NULL;
		size_t n = 0;

		rc = channel_list(t, mname, &names, &n, err);
		for (i = 0; rc == 0 && i < n; i++) {
			enum schedule_resign r;
			struct channel ch;
			int64_t at = 0;

			rc = channel_get(t, mname, names[i], &ch, err);
			if (rc)
				break;
			r = schedule_chan_resign(ch.moved_at, ch.valid_until,
			    c->valid_for, now, &at);
			channel_free(&ch);
			if (r == SCHEDULE_RESIGN_AT) {
				*next = schedule_sooner(*next, at);
			} else if (r == SCHEDULE_RESIGN_NOW) {
				*todo = xreallocarray(*todo, *ntodo + 1,
				    sizeof(**todo));
				(*todo)[*ntodo].mirror = mname;
				(*todo)[(*ntodo)++].name = xstrdup(names[i]);
			}
		}
		strv_free(names, n);
	}
	if (t != NULL)
		store_txn_abort(t);
	return rc;
}

/*
 * Re-signs the ntodo channels in todo under the channel lock, if it is
 * free; returns next, brought forward for a retry where one is needed.
 */
static int64_t
channels_resign(struct daemon *d, const struct conf *c,
    const struct chan_todo *todo, size_t ntodo, int64_t now, int64_t next)
{
	struct channel_move_opts o;
	struct merr err = { 0 };
	char dur[FMT_TIME_MAX];
	size_t i;

	if (store_lock_channels(d->store, "daemon refresh", false, &err)) {
		/*
		 * Soon: a channel due for re-signing is half-way to its
		 * Valid-Until, and trying the lock costs nothing.
		 */
		log_info("channels: not re-signing now: %s; next try in %ds",
		    err.msg, SCHEDULE_CHAN_BUSY_S);
		return schedule_sooner(next, now + SCHEDULE_CHAN_BUSY_S);
	}
	o.by = d->by;
	o.valid_for = c->valid_for;
	o.base_url = c->base_url;
	fmt_duration((int64_t)c->valid_for * 1000, dur);
	for (i = 0; i < ntodo; i++) {
		memset(&err, 0, sizeof(err));
		if (channel_refresh(d->store, d->signer, todo[i].mirror,
		    todo[i].name, &o, &err)) {
			log_error("mirror '%s': channel '%s': cannot re-sign: "
			    "%s", todo[i].mirror, todo[i].name, err.msg);
			next = schedule_sooner(next,
			    now + SCHEDULE_CHAN_RETRY_S);
		} else if (c->valid_for > 0) {
			log_info("mirror '%s': channel '%s' re-signed, valid "
			    "for %s", todo[i].mirror, todo[i].name, dur);
		} else {
			log_info("mirror '%s': channel '%s' re-signed without "
			    "Valid-Until", todo[i].mirror, todo[i].name);
		}
	}
	store_unlock_channels(d->store);
	return next;
}

/*
 * Re-signs every channel half-way through its validity (the time from its
 * last move to its Valid-Until), so that a channel nobody moves keeps
 * working for clients. Returns when to look again (monotonic ms).
 */
static int64_t
channels_check(struct daemon *d, const struct conf *c)
{
	int64_t now = (int64_t)time(NULL), next;
	struct chan_todo *todo = NULL;
	struct merr err = { 0 };
	size_t ntodo = 0, i;

	/* Often enough to catch a channel promoted by hand in time. */
	next = now + schedule_chan_period(c->valid_for);
	if (channels_due(d, c, now, &todo, &ntodo, &next, &err)) {
		log_error("channels: %s", err.msg);
		next = schedule_sooner(next, now + SCHEDULE_CHAN_RETRY_S);
	}
	if (ntodo > 0)
		next = channels_resign(d, c, todo, ntodo, now, next);
	for (i = 0; i < ntodo; i++)
		free(todo[i].name);
	free(todo);
	return schedule_mono(next, now, mono_ms());
}

/* --- the worker --------------------------------------------------------- */

/* A replica's gc after an apply (daemon_replica_gc_conf), unless busy. */
static void
daemon_replica_gc(struct daemon *d, const struct conf *c)
{
	struct conf cc;
	struct merr err = { 0 };
	size_t i;

	if (store_lock(d->store, "replica gc", false, &err) != 0)
		return;
	daemon_replica_gc_conf(c, &cc);
	for (i = 0; i < cc.nmirrors; i++)
		daemon_gc(d, &cc, &cc.mirrors[i]);
	free(cc.mirrors);
	store_unlock(d->store);
}

/* The worker's turn on a replica: polls; returns when to wake next. */
static int64_t
worker_replica(struct daemon *d, const struct conf *c, int64_t now)
{
	if (d->rep_next <= now) {
		pthread_mutex_unlock(&d->mu);
		if (daemon_replica_poll(&d->rep_failing, d->store, c,
		    &d->cancel))
			daemon_replica_gc(d, c);
		pthread_mutex_lock(&d->mu);
		d->rep_next = mono_ms() + c->replica_interval * 1000;
	}
	return d->rep_next < d->readers_next ? d->rep_next : d->readers_next;
}

static void *
worker_main(void *arg)
{
	struct daemon *d = arg;
	struct dconf *dc = NULL;
	struct schedule_entry *due, *first;
	struct timespec ts;
	int64_t now, wake;

	pthread_mutex_lock(&d->mu);
	while (!d->stopping) {
		now = mono_ms();
		if (dc != d->cur) {
			/* Started, or reloaded: adopt the current one. */
			if (dc != NULL)
				dconf_put_locked(dc);
			dc = d->cur;
			dc->refs++;
			schedule_update(&d->plan, dc->c, now);
			d->chan_next = now;
			d->roll_next = now;
			/* The plan changes only in this thread. */
			pthread_mutex_unlock(&d->mu);
			sched_publish(d, dc->c, false, false);
			pthread_mutex_lock(&d->mu);
			continue;
		}
		/* Reader slots of killed processes pin old pages: free them. */
		if (d->readers_next <= now) {
			struct merr err = { 0 };
			int n;

			d->readers_next = now + DAEMON_READERS_MS;
			pthread_mutex_unlock(&d->mu);
			n = store_reader_check(d->store, &err);
			if (n < 0)
				log_warn("%s", err.msg);
			else if (n > 0)
				log_info("freed %d reader slot%s of dead "
				    "processes", n, n == 1 ? "" : "s");
			pthread_mutex_lock(&d->mu);
			continue;
		}
		/* A replica follows its primary and writes nothing else. */
		if (replica_is(dc->c)) {
			wake = worker_replica(d, dc->c, now);
			if (d->stopping)
				break;
			ts = mono_abs(wake);
			pthread_cond_timedwait(&d->cond, &d->mu, &ts);
			continue;
		}
		/* Channels first: a long run of syncs must not starve them. */
		if (d->chan_next <= now) {
			pthread_mutex_unlock(&d->mu);
			d->chan_next = channels_check(d, dc->c);
			pthread_mutex_lock(&d->mu);
			continue;
		}
		/*
		 * Rollouts between syncs: a health check holds this thread
		 * for at most its Health-Timeout, never the server.
		 */
		if (d->roll_next <= now && dc->c->nrollouts > 0) {
			int64_t wall;

			pthread_mutex_unlock(&d->mu);
			wall = daemon_rollouts(&d->rolls, d->store, d->signer,
			    dc->c, &d->cancel);
			d->roll_next = schedule_mono(wall, (int64_t)time(NULL),
			    mono_ms());
			pthread_mutex_lock(&d->mu);
			continue;
		}
		due = schedule_due(&d->plan, now);
		if (due != NULL) {
			/* The plan changes only in this thread: due stays. */
			snprintf(d->busy, sizeof(d->busy), "%s", due->name);
			pthread_mutex_unlock(&d->mu);
			daemon_sync(d, dc->c, due);
			pthread_mutex_lock(&d->mu);
			d->busy[0] = '\0';
			continue;
		}
		/* Nothing due: publish what comes next, sleep until then. */
		wake = d->chan_next < d->readers_next ? d->chan_next :
		    d->readers_next;
		if (dc->c->nrollouts > 0 && d->roll_next < wake)
			wake = d->roll_next;
		first = schedule_first(&d->plan);
		d->next_name[0] = '\0';
		if (first != NULL) {
			snprintf(d->next_name, sizeof(d->next_name), "%s",
			    first->name);
			d->next_at = first->next;
		}
		if (d->next_name[0] != '\0' && d->next_at < wake)
			wake = d->next_at;
		ts = mono_abs(wake);
		pthread_cond_timedwait(&d->cond, &d->mu, &ts);
	}
	if (dc != NULL)
		dconf_put_locked(dc);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* --- the server thread -------------------------------------------------- */

static void *
serve_main(void *arg)
{
	struct daemon *d = arg;

	d->serve_rc = serve_run_shared(&d->conf_lock, &d->serve_conf,
	    d->store, &d->so, &d->stop, &d->serve_err);
	atomic_store(&d->serve_done, true);
	return NULL;
}

/* --- the main thread ---------------------------------------------------- */

static void
notify_status(struct daemon *d, char *last, size_t n)
{
	char st[256], dur[FMT_TIME_MAX], busy[DAEMON_NAME_MAX + 1];
	char next[DAEMON_NAME_MAX + 1];
	int64_t at;

	pthread_mutex_lock(&d->mu);
	memcpy(busy, d->busy, sizeof(busy));
	memcpy(next, d->next_name, sizeof(next));
	at = d->next_at;
	pthread_mutex_unlock(&d->mu);
	if (busy[0] != '\0') {
		snprintf(st, sizeof(st), "serving on %s; syncing '%s'",
		    d->listen, busy);
	} else if (next[0] != '\0') {
		fmt_duration(at - mono_ms(), dur);
		snprintf(st, sizeof(st), "serving on %s; next sync of '%s' "
		    "in %s", d->listen, next, dur);
	} else {
		snprintf(st, sizeof(st), "serving on %s; no mirror to sync",
		    d->listen);
	}
	if (strcmp(st, last) == 0)
		return;
	snprintf(last, n, "%s", st);
	sd_notifyf(0, "STATUS=%s", st);
}

/* Log-File: to the file path, or back to the original stderr. */
static void
log_reopen(struct daemon *d, const char *path)
{
	struct merr err = { 0 };

	if (path == NULL && !d->log_redirected)
		return;
	if (log_open_file(path, &err)) {
		log_error("reload: %s; logging where it did", err.msg);
		return;
	}
	d->log_redirected = path != NULL;
	log_init(log_get_level(), path != NULL ||
	    getenv("JOURNAL_STREAM") == NULL);
}

/* SIGUSR1, logrotate's signal: the logs reopened, the configuration not
 * read (a half-edited file must not be loaded by the nightly rotation). */
static void
reopen_logs(struct daemon *d)
{
	log_info("received SIGUSR1: reopening the logs");
	log_reopen(d, d->cur->c->log_file);
	d->reopen_log = 1;
}

static void
reload(struct daemon *d)
{
	struct conf *nc = NULL, *oc = d->cur->c;
	struct dconf *ndc;
	struct merr err = { 0 };
	char *key;
	size_t i;

	log_info("received SIGHUP: reloading '%s'", d->conf_path);
	if (conf_load(d->conf_path, &nc, &err)) {
		log_reopen(d, oc->log_file);	/* still, for logrotate */
		d->reopen_log = 1;
		log_error("reload: %s; keeping the running configuration",
		    err.msg);
		return;
	}
	log_reopen(d, nc->log_file);
	for (i = 0; i < nc->nmirrors; i++)
		if (conf_mirror(oc, nc->mirrors[i].name) == NULL)
			log_info("reload: mirror '%s' added",
			    nc->mirrors[i].name);
	for (i = 0; i < oc->nmirrors; i++)
		if (conf_mirror(nc, oc->mirrors[i].name) == NULL)
			log_info("reload: mirror '%s' removed",
			    oc->mirrors[i].name);
	if (strcmp(nc->listen, d->listen) != 0)
		log_warn("reload: Listen: '%s' takes a restart; still serving "
		    "on '%s'", nc->listen, d->listen);
	if ((nc->access_log == NULL) != (d->access_log == NULL) ||
	    (d->access_log != NULL && strcmp(nc->access_log,
	    d->access_log) != 0))
		log_warn("reload: Access-Log: '%s' takes a restart; still "
		    "logging requests to '%s'", nc->access_log ?
		    nc->access_log : "the log", d->access_log ?
		    d->access_log : "the log");
	else
		d->reopen_log = 1;	/* for logrotate, as the log above */
	if (strcmp(nc->store, store_dir(d->store)) != 0)
		log_warn("reload: Store: '%s' takes a restart; still using "
		    "'%s'", nc->store, store_dir(d->store));
	if (strcmp(nc->blobs ? nc->blobs : "file", store_backend(d->store)))
		log_warn("reload: Blobs: '%s' takes a restart; still using "
		    "'%s'", nc->blobs ? nc->blobs : "file",
		    store_backend(d->store));
	if (replica_is(nc) != replica_is(oc)) {
		log_error("reload: Replica-Of: set or unset takes a restart; "
		    "keeping the running configuration");
		conf_free(nc);
		return;
	}
	key = conf_signing_key(nc);
	if (strcmp(key, d->signing_key) != 0)
		log_warn("reload: signing key '%s' takes a restart; still "
		    "signing with '%s'", key, d->signing_key);
	free(key);

	/* The server first: once this returns, no request reads oc. */
	pthread_rwlock_wrlock(&d->conf_lock);
	d->serve_conf = nc;
	pthread_rwlock_unlock(&d->conf_lock);
	ndc = xmalloc(sizeof(*ndc));
	ndc->c = nc;
	ndc->refs = 1;
	pthread_mutex_lock(&d->mu);
	dconf_put_locked(d->cur);	/* frees oc unless the worker has it */
	d->cur = ndc;
	*d->confp = nc;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->mu);
	log_info("reload: configuration reloaded: %zu mirrors", nc->nmirrors);
}

/* The signing key, and its public half written for /keyring.gpg. */
static int
daemon_signer(struct daemon *d, const struct conf *c, struct merr *err)
{
	struct merr e2 = { 0 };
	char *key;
	size_t len;

	/* Only the default key is made on first need; a named one must be. */
	if (gpg_signer_new(d->signing_key, c->signing_key == NULL,
	    &d->signer, err) != 0)
		return merr_prefix(err, "signing key: ");
	if (gpg_signer_export(d->signer, false, &key, &len, &e2) == 0) {
		d->keyring = xasprintf("%s/keyring.gpg", c->store);
		if (write_file_atomic(d->keyring, key, len, 0644, &e2)) {
			log_warn("%s", e2.msg);
			free(d->keyring);
			d->keyring = NULL;
		}
		free(key);
	} else {
		log_warn("%s", e2.msg);
	}
	return 0;
}

/*
 * Opens what the threads share: Log-File, the store, the signing key (a
 * replica's: none), and the public key file the server hands out as
 * /keyring.gpg.
 */
static int
daemon_open(struct daemon *d, const struct conf *c, struct merr *err)
{
	char host[256] = "localhost";
	int rc;

	if (c->log_file != NULL) {
		rc = log_open_file(c->log_file, err);
		if (rc)
			return rc;
		d->log_redirected = true;
	}
	/* journald stamps lines itself. */
	log_init(log_get_level(), c->log_file != NULL ||
	    getenv("JOURNAL_STREAM") == NULL);
	rc = store_open(c->store, true, &d->store, err);
	if (rc == 0)
		rc = store_set_backend(d->store, c, err);
	if (rc)
		return rc;
	d->signing_key = conf_signing_key(c);
	/* A replica signs nothing: it serves its primary's key. */
	if (replica_is(c))
		d->keyring = daemon_replica_keyring(c);
	else if (daemon_signer(d, c, err) != 0)
		return err->code;
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	d->by = xasprintf("daemon@%s", host);
	d->listen = xstrdup(c->listen ? c->listen : "127.0.0.1:8080");
	d->access_log = c->access_log ? xstrdup(c->access_log) : NULL;
	d->adoption_file = adoption_file(c->store);
	return 0;
}

static int
threads_start(struct daemon *d, struct merr *err)
{
	pthread_condattr_t ca;
	pthread_rwlockattr_t ra;
	int64_t t0;
	int rc;

	/* Writers first: a reload is not held off by a stream of requests. */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&d->conf_lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	d->locks_init = true;

	memset(&d->so, 0, sizeof(d->so));
	d->so.listen = d->listen;
	/* Else stderr: journald or Log-File. */
	d->so.access_log = d->access_log;
	d->so.reopen_log = &d->reopen_log;
	d->so.keyring = d->keyring;
	d->so.adoption_file = d->adoption_file;
	rc = pthread_create(&d->serve_th, NULL, serve_main, d);
	if (rc) {
		errno = rc;
		return merr_errno(err, "cannot start the server thread");
	}
	d->serve_started = true;
	/* Binding happens first thing: wait for it to fail, or not. */
	for (t0 = mono_ms(); mono_ms() - t0 < DAEMON_SERVE_START_MS;) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (atomic_load(&d->serve_done)) {
			if (err != NULL)
				*err = d->serve_err;
			return d->serve_rc ? d->serve_rc : MERR_IO;
		}
		nanosleep(&ts, NULL);
	}
	rc = pthread_create(&d->worker_th, NULL, worker_main, d);
	if (rc) {
		errno = rc;
		return merr_errno(err, "cannot start the sync thread");
	}
	d->worker_started = true;
	return 0;
}

/*
 * Stops the threads: the server finishes what is in flight within its
 * bound; a running sync is cancelled (it commits nothing and cleans up
 * after itself) and normally ends within a fraction of a second. The
 * worker is waited for DAEMON_STOP_MS, then, with a warning, for as long
 * as it takes: ending the process under it would leave its temp files and
 * gpg homes behind (a supervisor's SIGKILL is still safe: an unfinished
 * sync commits nothing).
 */
static void
threads_stop(struct daemon *d)
{
	struct timespec until;
	int64_t left, t0 = mono_ms();
	char busy[DAEMON_NAME_MAX + 1];

	if (!d->locks_init)
		return;
	d->stop = 1;
	atomic_store(&d->cancel, true);
	pthread_mutex_lock(&d->mu);
	d->stopping = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->mu);
	if (d->serve_started)
		pthread_join(d->serve_th, NULL);
	if (!d->worker_started)
		return;
	left = DAEMON_STOP_MS - (mono_ms() - t0);
	if (left < 0)
		left = 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(left / 1000);
	until.tv_nsec += (long)(left % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	if (pthread_timedjoin_np(d->worker_th, NULL, &until) != 0) {
		pthread_mutex_lock(&d->mu);
		memcpy(busy, d->busy, sizeof(busy));
		pthread_mutex_unlock(&d->mu);
		log_warn("stopping: the sync of '%s' is still ending %d s "
		    "after it was cancelled; waiting for it", busy[0] ? busy :
		    "?", DAEMON_STOP_MS / 1000);
		pthread_join(d->worker_th, NULL);
	}
	d->worker_started = false;
	/* No daemon, no plan: `mirrord status` must not show a stale one. */
	sched_publish(d, d->cur->c, false, true);
}

static void
daemon_release(struct daemon *d)
{
	if (d->cur != NULL) {
		/* The caller's again (the worker has let go). */
		*d->confp = d->cur->c;
		free(d->cur);
		d->cur = NULL;
	}
	if (d->locks_init) {
		pthread_rwlock_destroy(&d->conf_lock);
		pthread_mutex_destroy(&d->mu);
		pthread_cond_destroy(&d->cond);
	}
	gpg_signer_free(d->signer);
	store_close(d->store);
	schedule_release(&d->plan);
	daemon_rollouts_release(&d->rolls);
	free(d->signing_key);
	free(d->listen);
	free(d->access_log);
	free(d->adoption_file);
	free(d->keyring);
	free(d->by);
}

int
daemon_run(const char *conf_path, struct conf **conf, struct merr *err)
{
	struct daemon d;
	sigset_t set, old;
	siginfo_t si;
	uint64_t wd_usec = 0, seed;
	int64_t tick = DAEMON_TICK_MS;
	char status[256] = "";
	int rc, sig;

	/* gpgme is set up before the server's and the workers' threads. */
	rc = gpg_init(err);
	if (rc)
		return rc;
	memset(&d, 0, sizeof(d));
	d.conf_path = conf_path;
	d.confp = conf;
	d.cur = xmalloc(sizeof(*d.cur));
	d.cur->c = *conf;
	d.cur->refs = 1;
	d.serve_conf = *conf;
	atomic_init(&d.serve_done, false);
	atomic_init(&d.cancel, false);
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	schedule_init(&d.plan, seed);

	/* Signals go to sigtimedwait below, never to another thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);

	rc = daemon_open(&d, *conf, err);
	if (rc == 0)
		rc = threads_start(&d, err);
	if (rc) {
		threads_stop(&d);
		goto out;
	}
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec / 2000 < 1000)
		tick = wd_usec / 2000 > 10 ? (int64_t)(wd_usec / 2000) : 10;
	d.watchdog = wd_usec > 0;
	log_info("daemon started: %zu mirrors, serving on '%s'",
	    (*conf)->nmirrors, d.listen);
	sd_notify(0, "READY=1");
	notify_status(&d, status, sizeof(status));

	for (;;) {
		struct timespec ts;

		ts.tv_sec = (time_t)(tick / 1000);
		ts.tv_nsec = (long)(tick % 1000) * 1000000;
		sig = sigtimedwait(&set, &si, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("received %s: stopping",
			    sig == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
		if (sig == SIGHUP)
			reload(&d);
		if (sig == SIGUSR1)
			reopen_logs(&d);
		if (atomic_load(&d.serve_done)) {
			if (err != NULL)
				*err = d.serve_err;
			rc = d.serve_rc ? d.serve_rc : merr_set(err, MERR_IO,
			    "the HTTP server stopped");
			break;
		}
		if (d.watchdog)
			sd_notify(0, "WATCHDOG=1");
		notify_status(&d, status, sizeof(status));
	}
	sd_notify(0, "STOPPING=1");
	threads_stop(&d);
	if (rc == 0)
		log_info("stopped");
out:
	daemon_release(&d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int
run_daemon(struct cli *cli, const struct args *a)
{
	struct merr err = { 0 };
	int rc;

	rc = daemon_run(cli->conf_path, &cli->conf, &err) ? 1 : 0;
	if (rc)
		log_error("%s", err.msg);
	return rc;
}
