/*
 * ondemand.c: the on-demand flights (ondemand.h). The table and the
 * readers' state machine here; the fetch and the store's transactions of
 * one flight in flight_run() and below.
 */
#include "mirrord/common.h"

#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/log.h"
#include "mirrord/odstats.h"
#include "mirrord/s3.h"
#include "serve/ondemand.h"
#include "serve/route.h"
#include "serve/server.h"

enum flight_state { F_RUN, F_DONE, F_FAILED };

struct ondemand_flight {
	struct ondemand *od;
	struct ondemand_flight *next;	/* in od->flights, while listed */
	struct ondemand_want w;		/* a copy, owned */
	atomic_bool cancel;		/* watched by its struct fetch */
	pthread_mutex_t lock;		/* what follows */
	unsigned refs;			/* its thread and its readers */
	int fd;				/* the file, read-only, or -1 */
	uint64_t written;		/* bytes in it */
	unsigned gen;			/* restarts from zero */
	enum flight_state state;
	int status;			/* F_FAILED: the HTTP answer */
	bool bucket;			/* read from the bucket, not upstream */
	uint64_t woke_bytes;		/* written, at the last wake */
	int64_t woke_ms;
	struct ondemand_reader *waiters;
};

struct ondemand {
	struct store *store;
	unsigned max;
	pthread_mutex_t lock;		/* what follows */
	pthread_cond_t cond;		/* a slot or a thread is free */
	struct ondemand_flight *flights;	/* joinable */
	unsigned nflights;
	unsigned running;		/* holding a slot */
	unsigned threads;		/* flight threads alive */
	bool cancelled;
};

/* --- wants ---------------------------------------------------------- */

struct ondemand_want *
ondemand_want_new(const char *mirror, const char *uri, const char *snap,
    const char *path, const unsigned char h[HASH_LEN], uint64_t size,
    const struct fetch_opts *fo)
{
	struct ondemand_want *w = xcalloc(1, sizeof(*w));
	size_t n = strlen(uri);

	w->mirror = xstrdup(mirror);
	w->snap = xstrdup(snap);
	w->path = xstrdup(path);
	/* As the sync builds pool URLs: one '/' between. */
	w->url = xasprintf("%.*s/%s", (int)(n > 0 && uri[n - 1] == '/' ?
	    n - 1 : n), uri, path);
	memcpy(w->hash, h, HASH_LEN);
	w->size = size;
	w->fo = *fo;
	return w;
}

struct ondemand_want *
ondemand_want_bucket(const char *path, const unsigned char h[HASH_LEN],
    uint64_t size)
{
	struct ondemand_want *w = xcalloc(1, sizeof(*w));

	w->mirror = xstrdup("");
	w->snap = xstrdup("");
	w->path = xstrdup(path);
	memcpy(w->hash, h, HASH_LEN);
	w->size = size;
	return w;
}

static void
want_release(struct ondemand_want *w)
{
	free(w->mirror);
	free(w->snap);
	free(w->path);
	free(w->url);
}

void
ondemand_want_free(struct ondemand_want *w)
{
	if (w == NULL)
		return;
	want_release(w);
	free(w);
}

/* --- the table -------------------------------------------------------- */

struct ondemand *
ondemand_new(struct store *s, unsigned max_flights)
{
	struct ondemand *od = xcalloc(1, sizeof(*od));

	od->store = s;
	od->max = max_flights > 0 ? max_flights : ONDEMAND_FLIGHTS;
	pthread_mutex_init(&od->lock, NULL);
	pthread_cond_init(&od->cond, NULL);
	return od;
}

unsigned
ondemand_inflight(struct ondemand *od, const char *mirror)
{
	struct ondemand_flight *f;
	unsigned n = 0;

	pthread_mutex_lock(&od->lock);
	for (f = od->flights; f != NULL; f = f->next) {
		/* A mirror's flight that reads the bucket is no fetch of it. */
		pthread_mutex_lock(&f->lock);
		if (mirror == NULL || (strcmp(f->w.mirror, mirror) == 0 &&
		    !f->bucket))
			n++;
		pthread_mutex_unlock(&f->lock);
	}
	pthread_mutex_unlock(&od->lock);
	return n;
}

/* Wakes every parked reader of f (f->lock held): each once. */
static void
wake_all(struct ondemand_flight *f)
{
	struct ondemand_reader *r;

	while ((r = f->waiters) != NULL) {
		f->waiters = r->next;
		r->next = NULL;
		r->waiting = false;
		r->wake(r->ctx);
	}
	f->woke_bytes = f->written;
	f->woke_ms = mono_ms();
}

/* Ends f as failed with status (f->lock held), unless it has ended. */
static void
flight_fail_locked(struct ondemand_flight *f, int status)
{
	if (f->state != F_RUN)
		return;
	f->state = F_FAILED;
	f->status = status;
	wake_all(f);
}

void
ondemand_cancel(struct ondemand *od)
{
	struct ondemand_flight *f;

	pthread_mutex_lock(&od->lock);
	od->cancelled = true;
	for (f = od->flights; f != NULL; f = f->next) {
		atomic_store(&f->cancel, true);
		pthread_mutex_lock(&f->lock);
		flight_fail_locked(f, 503);
		pthread_mutex_unlock(&f->lock);
	}
	pthread_cond_broadcast(&od->cond);
	pthread_mutex_unlock(&od->lock);
}

void
ondemand_free(struct ondemand *od)
{
	if (od == NULL)
		return;
	ondemand_cancel(od);
	pthread_mutex_lock(&od->lock);
	while (od->threads > 0)
		pthread_cond_wait(&od->cond, &od->lock);
	pthread_mutex_unlock(&od->lock);
	pthread_cond_destroy(&od->cond);
	pthread_mutex_destroy(&od->lock);
	free(od);
}

static void
flight_unref(struct ondemand_flight *f)
{
	unsigned left;

	pthread_mutex_lock(&f->lock);
	left = --f->refs;
	pthread_mutex_unlock(&f->lock);
	if (left > 0)
		return;
	if (f->fd >= 0)
		close(f->fd);
	want_release(&f->w);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static void *flight_main(void *arg);

/* A new flight for want, listed in od (od->lock held), with refs 2. */
static int
flight_new(struct ondemand *od, const struct ondemand_want *want,
    struct ondemand_flight **out, struct merr *err)
{
	struct ondemand_flight *f = xcalloc(1, sizeof(*f));
	pthread_attr_t attr;
	pthread_t th;
	int rc;

	f->od = od;
	f->w = *want;
	f->w.mirror = xstrdup(want->mirror);
	f->w.snap = xstrdup(want->snap);
	f->w.path = xstrdup(want->path);
	f->w.url = want->url != NULL ? xstrdup(want->url) : NULL;
	atomic_init(&f->cancel, false);
	pthread_mutex_init(&f->lock, NULL);
	f->refs = 2;		/* the thread's and the caller's */
	f->fd = -1;
	f->state = F_RUN;
	f->woke_ms = mono_ms();
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &attr, flight_main, f);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		f->refs = 1;
		flight_unref(f);
		errno = rc;
		return merr_errno(err, "cannot start a thread to fetch '%s'",
		    want->path);
	}
	od->threads++;
	f->next = od->flights;
	od->flights = f;
	od->nflights++;
	*out = f;
	return 0;
}

/* Takes f out of the table, so the next request starts a new flight. */
static void
flight_unlist(struct ondemand_flight *f)
{
	struct ondemand *od = f->od;
	struct ondemand_flight **p;

	pthread_mutex_lock(&od->lock);
	for (p = &od->flights; *p != NULL; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			od->nflights--;
			break;
		}
	pthread_mutex_unlock(&od->lock);
}

int
ondemand_open(struct ondemand *od, const struct ondemand_want *want,
    uint64_t end, void (*park)(void *), void (*wake)(void *), void *ctx,
    struct ondemand_reader *r, struct merr *err)
{
	struct ondemand_flight *f;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->end = end;
	r->park = park;
	r->wake = wake;
	r->ctx = ctx;
	pthread_mutex_lock(&od->lock);
	if (od->cancelled) {
		pthread_mutex_unlock(&od->lock);
		return merr_set(err, MERR_CANCEL, "'%s': the server stops",
		    want->path);
	}
	for (f = od->flights; f != NULL; f = f->next)
		if (memcmp(f->w.hash, want->hash, HASH_LEN) == 0)
			break;
	if (f == NULL && od->nflights >= ONDEMAND_QUEUE)
		rc = merr_set(err, MERR_LIMIT, "'%s': %u files being fetched "
		    "already", want->path, od->nflights);
	else if (f != NULL) {
		/* Listed: its thread holds a reference meanwhile. */
		pthread_mutex_lock(&f->lock);
		f->refs++;
		pthread_mutex_unlock(&f->lock);
	} else
		rc = flight_new(od, want, &f, err);
	pthread_mutex_unlock(&od->lock);
	if (rc == 0)
		r->f = f;
	return rc;
}

void
ondemand_close(struct ondemand_reader *r)
{
	struct ondemand_flight *f = r->f;
	struct ondemand_reader **p;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	if (r->waiting)
		for (p = &f->waiters; *p != NULL; p = &(*p)->next)
			if (*p == r) {
				*p = r->next;
				break;
			}
	r->waiting = false;
	pthread_mutex_unlock(&f->lock);
	r->f = NULL;
	flight_unref(f);
}

/* Parks r on f (f->lock held): registered before park, so no wake is lost. */
static enum ondemand_step
park(struct ondemand_flight *f, struct ondemand_reader *r)
{
	if (r->waiting)
		return OD_WAIT;	/* asked again before its wake: parked */
	r->next = f->waiters;
	f->waiters = r;
	r->waiting = true;
	r->park(r->ctx);
	return OD_WAIT;
}

enum ondemand_step
ondemand_start(struct ondemand_reader *r, int *status)
{
	struct ondemand_flight *f = r->f;
	enum ondemand_step st = OD_READY;

	pthread_mutex_lock(&f->lock);
	if (f->state == F_FAILED) {
		*status = f->status;
		st = OD_FAILED;
	} else if (f->state == F_RUN && f->written == 0)
		st = park(f, r);
	pthread_mutex_unlock(&f->lock);
	return st;
}

enum ondemand_step
ondemand_next(struct ondemand_reader *r, uint64_t pos, int *fd,
    uint64_t *limit)
{
	struct ondemand_flight *f = r->f;
	enum ondemand_step st;
	uint64_t lim;

	pthread_mutex_lock(&f->lock);
	if (f->state == F_FAILED || (r->started && r->gen != f->gen)) {
		st = OD_FAILED;
		goto out;
	}
	/* The last byte of the range waits for the verification. */
	if (f->state == F_DONE)
		lim = r->end;
	else
		lim = f->written < r->end - 1 ? f->written : r->end - 1;
	if (f->state == F_DONE && (pos >= lim || f->fd < 0)) {
		st = OD_FAILED;	/* nothing more will come */
		goto out;
	}
	if (pos < lim && f->fd >= 0) {
		if (!r->started) {
			r->started = true;
			r->gen = f->gen;
		}
		*fd = f->fd;
		*limit = lim;
		st = OD_READY;
	} else
		st = park(f, r);
out:
	pthread_mutex_unlock(&f->lock);
	return st;
}

/* --- one flight ------------------------------------------------------- */

/*
 * fetch.h's on_write: the file grew (or went back to zero). The readers
 * are woken every ONDEMAND_WAKE_BYTES or ONDEMAND_WAKE_MS, not on every
 * chunk: a wake is a resume of a connection in its server thread.
 */
static void
flight_wrote(void *ctx, const struct blob_writer *w)
{
	struct ondemand_flight *f = ctx;
	int64_t now = mono_ms();

	pthread_mutex_lock(&f->lock);
	if (f->fd < 0)	/* it stays valid across the rename or unlink */
		f->fd = open(w->tmp_path, O_RDONLY | O_CLOEXEC);
	if (w->size < f->written) {
		/* A restart from zero: readers that sent bytes are cut. */
		f->gen++;
		f->written = w->size;
		f->woke_bytes = 0;
		wake_all(f);
	}
	f->written = w->size;
	if (f->waiters != NULL && (f->woke_bytes == 0 ||
	    f->written - f->woke_bytes >= ONDEMAND_WAKE_BYTES ||
	    now - f->woke_ms >= ONDEMAND_WAKE_MS))
		wake_all(f);
	pthread_mutex_unlock(&f->lock);
}

/* fetch.h's progress, ~10 times a second: what a stall left unsent. */
static void
flight_progress(void *ctx, uint64_t files, uint64_t bytes)
{
	struct ondemand_flight *f = ctx;

	pthread_mutex_lock(&f->lock);
	if (f->waiters != NULL && f->written > f->woke_bytes)
		wake_all(f);
	pthread_mutex_unlock(&f->lock);
}

/*
 * The answer for a failed fetch: 504 when upstream could not be reached
 * (refused, reset, timed out: fetch.h's MERR_NET without an HTTP status),
 * 502 when it answered wrong (404, another status, a wrong size or
 * hash), 503 when the server stops, 500 for the store's own failures.
 */
static int
flight_status_of(const struct merr *err)
{
	switch (err->code) {
	case MERR_CANCEL:
		return 503;
	case MERR_IO:
	case MERR_STORE:
	case MERR_FULL:
		return 500;
	case MERR_NET:
		return strstr(err->msg, ": HTTP ") != NULL ? 502 : 504;
	default:
		return 502;
	}
}

/* fsync of the blob's file and of its directory: durable before listed. */
static int
flight_sync(struct ondemand_flight *f, struct merr *err)
{
	char *path = store_blob_path(f->od->store, f->w.hash);
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = merr_errno(err, "cannot sync '%s'", path);
	if (fd >= 0)
		close(fd);
	if (rc == 0) {
		fd = open(dirname(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			rc = merr_errno(err, "cannot sync '%s'", path);
		if (fd >= 0)
			close(fd);
	}
	free(path);
	return rc;
}

/*
 * Lists the blob (and counts it as fetched in ms when counted), in one
 * write transaction, run again if the map was full.
 */
static int
flight_list(struct ondemand_flight *f, bool counted, uint64_t ms,
    struct merr *err)
{
	struct store_txn *t;
	int rc, tries = 0;

	/* With S3, listed means in the bucket: its upload acknowledged. */
	rc = store_blob_settle(f->od->store, f->w.hash, err);
	if (rc)
		return rc;
	do {
		rc = store_txn_begin(f->od->store, true, &t, err);
		if (rc)
			return rc;
		rc = store_blob_put(t, f->w.hash, f->w.size, err);
		if (rc == 0) {
			rc = store_gc_unqueue(t, f->w.hash, err);
			if (rc == MERR_NOTFOUND)
				rc = 0;
		}
		if (rc == 0 && counted)
			rc = odstats_note_stored(t, f->w.mirror, f->w.size, ms,
			    err);
		if (rc == 0)
			rc = store_txn_commit(t, err);
		else
			store_txn_abort(t);
	} while (rc == MERR_FULL && ++tries < 3);
	return rc;
}

/* Counts and logs a failure with what it was about. */
static void
flight_note_failed(struct ondemand_flight *f, const struct merr *why)
{
	char text[ODSTATS_TEXT_MAX];
	struct store_txn *t;
	struct merr err;
	int rc, tries = 0;

	if (why->code == MERR_CANCEL || atomic_load(&f->cancel))
		return;	/* the server stops: not upstream's failure */
	if (f->bucket) {	/* no on-demand fetch: no odstats */
		log_warn("http: '%s': cannot read it from the bucket: %s",
		    f->w.path, why->msg);
		return;
	}
	log_warn("mirror '%s': snapshot %s: cannot fetch '%s' on demand: %s",
	    f->w.mirror, f->w.snap, f->w.path, why->msg);
	/* Cut to fit: the record's text has a bound. */
	if (snprintf(text, sizeof(text), "snapshot %s %s: %s", f->w.snap,
	    f->w.path, why->msg) >= (int)sizeof(text))
		text[sizeof(text) - 1] = '\0';
	do {
		rc = store_txn_begin(f->od->store, true, &t, &err);
		if (rc)
			break;
		rc = odstats_note_failed(t, f->w.mirror, (int64_t)time(NULL),
		    text, &err);
		if (rc == 0)
			rc = store_txn_commit(t, &err);
		else
			store_txn_abort(t);
	} while (rc == MERR_FULL && ++tries < 3);
	if (rc)
		log_warn("mirror '%s': cannot count an on-demand failure: %s",
		    f->w.mirror, err.msg);
}

/* flight_have's answer for a listed blob that is not cached. */
#define FLIGHT_COLD 2

/*
 * The blob is already there: listed (another flight or process stored
 * it since the request was resolved), or at its final path unlisted
 * (adopted, re-hashed). 1 if so, with f->fd open on it; 0 if not;
 * FLIGHT_COLD if it is listed but an S3 store's cache lacks it.
 */
static int
flight_have(struct ondemand_flight *f, struct merr *err)
{
	struct store_blob_rec rec;
	struct store_txn *t;
	bool ok = false;
	int rc, fd;

	rc = store_txn_begin(f->od->store, false, &t, err);
	if (rc)
		return rc;
	rc = store_blob_get(t, f->w.hash, &rec, err);
	store_txn_abort(t);
	if (rc == MERR_NOTFOUND && f->w.url == NULL)
		/* Removed since (gc): a bucket's want never lists. */
		return merr_set(err, MERR_NOTFOUND, "'%s': the store no "
		    "longer lists it", f->w.path);
	if (rc == MERR_NOTFOUND) {
		rc = store_blob_adopt(f->od->store, f->w.hash, f->w.size, &ok,
		    err);
		if (rc == 0 && ok)
			rc = flight_list(f, false, 0, err);
		if (rc || !ok)
			return rc;
	} else if (rc)
		return rc;
	fd = store_blob_open_cached(f->od->store, f->w.hash, err);
	if (fd == MERR_NOTFOUND && store_s3(f->od->store) != NULL)
		return FLIGHT_COLD;
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&f->lock);
	f->fd = fd;
	f->written = f->w.size;
	pthread_mutex_unlock(&f->lock);
	return 1;
}

/*
 * The blob is in place, verified: made durable, and f->fd open on it if
 * the readers had none (empty, its temp file not opened, or another
 * thread's download of it).
 */
static int
flight_stored(struct ondemand_flight *f, struct merr *err)
{
	int rc;

	rc = flight_sync(f, err);
	if (rc == 0 && f->fd < 0) {
		rc = store_blob_open(f->od->store, f->w.hash, err);
		if (rc >= 0) {
			pthread_mutex_lock(&f->lock);
			f->fd = rc;
			pthread_mutex_unlock(&f->lock);
			rc = 0;
		}
	}
	return rc;
}

/* Fetches f's blob, streaming it to the readers, and lists it. */
static int
flight_fetch(struct ondemand_flight *f, struct merr *err)
{
	struct fetch_job job = { .url = f->w.url, .size = f->w.size,
	    .on_write = flight_wrote, .write_ctx = f };
	struct fetch *fe = NULL;
	int64_t t0 = mono_ms();
	int rc;

	memcpy(job.hash, f->w.hash, HASH_LEN);
	rc = fetch_new(&f->w.fo, &fe, err);
	if (rc)
		return rc;
	fetch_set_cancel(fe, &f->cancel);
	rc = fetch_to_store(fe, f->od->store, &job, 1, flight_progress, f,
	    err);
	fetch_free(fe);
	if (rc == 0)
		rc = flight_stored(f, err);
	if (rc == 0)
		rc = flight_list(f, true, (uint64_t)(mono_ms() - t0), err);
	return rc;
}

/*
 * Reads f's listed blob from the store's bucket into its cache,
 * streaming it to the readers: signed, verified, not uploaded again, not
 * listed again, not counted as an on-demand fetch (store_s3_download).
 */
static int
flight_fetch_bucket(struct ondemand_flight *f, struct merr *err)
{
	struct fetch_job job = { .size = f->w.size, .on_write = flight_wrote,
	    .write_ctx = f };
	struct fetch *fe = NULL;
	int rc;

	pthread_mutex_lock(&f->lock);
	f->bucket = true;
	pthread_mutex_unlock(&f->lock);
	memcpy(job.hash, f->w.hash, HASH_LEN);
	rc = store_s3_fetch_new(f->od->store, &fe, err);
	if (rc)
		return rc;
	fetch_set_cancel(fe, &f->cancel);
	rc = store_s3_download(f->od->store, fe, &job, flight_progress, f,
	    err);
	fetch_free(fe);
	if (rc == 0)
		rc = flight_stored(f, err);
	return rc;
}

/* Waits for a slot (or the cancel); false if cancelled. */
static bool
slot_take(struct ondemand *od)
{
	bool ok;

	pthread_mutex_lock(&od->lock);
	while (od->running >= od->max && !od->cancelled)
		pthread_cond_wait(&od->cond, &od->lock);
	ok = !od->cancelled;
	if (ok)
		od->running++;
	pthread_mutex_unlock(&od->lock);
	return ok;
}

static void *
flight_main(void *arg)
{
	struct ondemand_flight *f = arg;
	struct ondemand *od = f->od;
	struct merr err;
	int rc;

	if (!slot_take(od))
		rc = merr_set(&err, MERR_CANCEL, "the server stops");
	else {
		rc = flight_have(f, &err);
		if (rc == FLIGHT_COLD)
			rc = flight_fetch_bucket(f, &err);
		else if (rc == 0)
			rc = flight_fetch(f, &err);
		else if (rc > 0)
			rc = 0;
		pthread_mutex_lock(&od->lock);
		od->running--;
		pthread_cond_broadcast(&od->cond);
		pthread_mutex_unlock(&od->lock);
	}
	flight_unlist(f);
	if (rc)
		flight_note_failed(f, &err);
	pthread_mutex_lock(&f->lock);
	if (rc)
		flight_fail_locked(f, flight_status_of(&err));
	else if (f->state == F_RUN) {
		f->state = F_DONE;
		wake_all(f);
	}
	pthread_mutex_unlock(&f->lock);
	flight_unref(f);
	pthread_mutex_lock(&od->lock);
	od->threads--;
	pthread_cond_broadcast(&od->cond);
	pthread_mutex_unlock(&od->lock);
	return NULL;
}

char *
ondemand_redirect(const struct server *sv, const char *url,
    const struct route_result *res)
{
	struct s3 *s3 = store_s3(sv->store);
	const struct conf *c;
	const char *pool;
	char *loc = NULL;

	/* /<mirror>/<ref>/pool/...: a pool file, not dists/ nor by-hash. */
	pool = strstr(url, "/pool/");
	if (s3 == NULL || res->want != NULL || pool == NULL ||
	    strchr(url + 1, '/') == pool)
		return NULL;
	c = server_conf_get(sv);
	if (c->s3_redirect)
		loc = s3_presign(s3, res->hash, (unsigned)c->s3_redirect_expiry,
		    (int64_t)time(NULL));
	server_conf_put(sv);
	return loc;
}
