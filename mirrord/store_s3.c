/*
 * store_s3.c: the S3 blob backend of the store (issue 18, Blobs: s3://).
 *
 * The bucket is the truth; the store's blobs/ directory stays the write
 * path and becomes a bounded cache. A writer's blob is written, hashed and
 * renamed into blobs/ as for the file backend (blob.c), then queued here
 * for upload (store_s3_queue); UPLOAD_THREADS threads, each with its own
 * signed struct fetch, PUT the queued blobs. store_sync(), the barrier
 * before every commit that lists blobs, waits until every queued upload is
 * acknowledged and fails if one was not: so no commit ever lists a blob
 * that is not in the bucket, and a listed blob may be dropped from the
 * cache at any time (store_cache_trim).
 *
 * Why blobs/ stays the write path: a blob is hashed as it is written
 * and trusted only once verified, whatever its source (upstream, a client
 * request on demand, a Release file made here); the file then feeds the
 * upload (pread: a multipart upload re-reads parts on a retry), a crash
 * leaves files the next run adopts and uploads again, and the server's
 * readers of a blob being fetched follow its temp file as before.
 *
 * Readers: a blob that is not cached is downloaded into the cache by
 * store_s3_fill (fetch_to_store with its object URL: verified by size and
 * SHA-256, as every fetch into the store), then opened as a local file;
 * readers of a blob being downloaded wait for that one download. Recency
 * for the cache's LRU is the files' atime, set by this module on a hit
 * (store_s3_touch) rather than left to the mount's atime policy.
 *
 * The store's TBL_META "store.backend" names the bucket it was made
 * with (store_set_backend), so that no configuration change points a
 * store at a bucket that lacks its blobs.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/fetch.h"
#include "mirrord/log.h"
#include "mirrord/s3.h"
#include "mirrord/store_int.h"

/* Parallel uploads: each a thread with its own connection. */
#define UPLOAD_THREADS 8
/* Queued uploads at most: a writer waits beyond (each holds an fd). */
#define UPLOAD_QUEUE_MAX 256
/* Failed uploads remembered for the barrier's message, at most. */
#define UPLOAD_FAILED_MAX 64
/* A cached blob's atime is moved on a hit at most this often. */
#define TOUCH_SECS 60
/* A long-running process trims its cache at most this often. */
#define TRIM_SECS 300
/* The TBL_META record of the backend a store was made with. */
#define BACKEND_KEY "store.backend"

struct upload {
	unsigned char h[HASH_LEN];
	int fd;			/* the cached file, read with pread */
	uint64_t size;
	bool busy;		/* a thread is uploading it */
	struct upload *next;
};

struct upload_failed {
	unsigned char h[HASH_LEN];
	char msg[256];
};

struct store_s3 {
	struct s3 *s3;
	struct fetch_opts fo;
	uint64_t cache_max;
	atomic_bool shared;		/* store_s3_shared() */

	pthread_mutex_t lock;
	pthread_cond_t work;		/* an upload was queued, or stop */
	pthread_cond_t done;		/* an upload ended */
	struct upload *head, **tail;	/* queued and in progress */
	size_t queued;
	pthread_t threads[UPLOAD_THREADS];
	size_t nthreads;
	bool stopping;
	atomic_bool cancel;		/* cuts the uploads in progress */
	struct upload_failed failed[UPLOAD_FAILED_MAX];
	size_t nfailed;
	uint64_t uploads;		/* started since open, for close */
	struct store_s3_stats st;	/* under lock */

	/*
	 * Blobs being downloaded into the cache (under lock): a reader of
	 * one waits for that download rather than making its own (many
	 * clients asking for a new package at once make one GET).
	 */
	struct fill_flight {
		unsigned char h[HASH_LEN];
		struct fill_flight *next;
	} *fills;
	pthread_cond_t filled;		/* a download ended */
	/* Idle download contexts for read-through (under lock). */
	struct fetch *idle[UPLOAD_THREADS];
	size_t nidle;

	/* The periodic trim's thread (under lock). */
	bool trimming, trim_joinable;
	int64_t last_trim;		/* mono_ms() */
	pthread_t trim_thread;
};

/*
 * True while this thread fills the cache from the bucket: the blob its
 * fetch_to_store() writes is already in the bucket, so store_blob_finish
 * must not queue it for upload again. A thread-local flag rather than a
 * writer's field because fetch.c, not this file, runs that writer.
 */
static _Thread_local bool filling;

static void trim_maybe(struct store *s);

/* Adds (or refreshes) blob h's failure; under x->lock. */
static void
failed_add(struct store_s3 *x, const unsigned char h[HASH_LEN],
    const char *msg)
{
	size_t i;

	for (i = 0; i < x->nfailed; i++)
		if (memcmp(x->failed[i].h, h, HASH_LEN) == 0)
			break;
	if (i == x->nfailed) {
		if (x->nfailed == UPLOAD_FAILED_MAX)
			i = x->nfailed - 1;	/* one failure is enough */
		else
			x->nfailed++;
	}
	memcpy(x->failed[i].h, h, HASH_LEN);
	snprintf(x->failed[i].msg, sizeof(x->failed[i].msg), "%s", msg);
}

/* Forgets blob h's failure (a later upload of it succeeded). */
static void
failed_del(struct store_s3 *x, const unsigned char h[HASH_LEN])
{
	size_t i;

	for (i = 0; i < x->nfailed; i++)
		if (memcmp(x->failed[i].h, h, HASH_LEN) == 0) {
			x->failed[i] = x->failed[--x->nfailed];
			return;
		}
}

/* The failure of h, or NULL. */
static const struct upload_failed *
failed_find(const struct store_s3 *x, const unsigned char h[HASH_LEN])
{
	size_t i;

	for (i = 0; i < x->nfailed; i++)
		if (memcmp(x->failed[i].h, h, HASH_LEN) == 0)
			return &x->failed[i];
	return NULL;
}

/* MERR_NET naming blob h, the bucket and why. */
static int
upload_err(const struct store_s3 *x, const struct upload_failed *f,
    struct merr *err)
{
	char hex[HASH_HEX_LEN + 1];

	hash_to_hex(f->h, hex);
	return merr_set(err, MERR_NET, "blob '%s' is not in %s: %s", hex,
	    s3_name(x->s3), f->msg);
}

/* The first queued upload no thread has taken; under x->lock. */
static struct upload *
upload_next(struct store_s3 *x)
{
	struct upload *u;

	for (u = x->head; u != NULL; u = u->next)
		if (!u->busy)
			return u;
	return NULL;
}

/* Takes u off the queue and frees it; under x->lock. */
static void
upload_remove(struct store_s3 *x, struct upload *u)
{
	struct upload **pp;

	for (pp = &x->head; *pp != u; pp = &(*pp)->next)
		;
	*pp = u->next;
	if (x->tail == &u->next)
		x->tail = pp;
	x->queued--;
	if (u->fd >= 0)
		close(u->fd);
	free(u);
}

static void *
upload_main(void *arg)
{
	struct store_s3 *x = arg;
	struct fetch *f = NULL;
	struct merr ferr = { 0 }, err = { 0 };
	struct upload *u;
	int frc, rc;

	frc = s3_fetch_new(x->s3, &x->fo, &f, &ferr);
	if (frc == 0)
		fetch_set_cancel(f, &x->cancel);
	pthread_mutex_lock(&x->lock);
	for (;;) {
		while ((u = upload_next(x)) == NULL && !x->stopping)
			pthread_cond_wait(&x->work, &x->lock);
		if (u == NULL)
			break;
		u->busy = true;
		pthread_mutex_unlock(&x->lock);
		if (atomic_load(&x->cancel))
			rc = merr_set(&err, MERR_CANCEL, "the store closed");
		else if (frc) {
			rc = frc;
			err = ferr;
		} else
			rc = s3_put_fd(x->s3, f, u->h, u->fd, u->size, &err);
		pthread_mutex_lock(&x->lock);
		if (rc) {
			failed_add(x, u->h, err.msg);
			x->st.upload_failures++;
		} else {
			failed_del(x, u->h);
			x->st.uploads++;
		}
		upload_remove(x, u);
		pthread_cond_broadcast(&x->done);
	}
	pthread_mutex_unlock(&x->lock);
	fetch_free(f);
	return NULL;
}

/* Starts the upload threads at the first upload; under x->lock. */
static int
upload_start(struct store_s3 *x)
{
	while (x->nthreads < UPLOAD_THREADS) {
		if (pthread_create(&x->threads[x->nthreads], NULL, upload_main,
		    x) != 0)
			break;
		x->nthreads++;
	}
	return x->nthreads > 0 ? 0 : -1;
}

void
store_s3_queue(struct store *s, const unsigned char h[HASH_LEN])
{
	struct store_s3 *x = s->s3;
	char *path;
	struct upload *u;
	struct stat st;
	int fd;

	if (x == NULL || filling)
		return;
	/*
	 * The fd, not the path: the cache's trim (or a gc) may remove the
	 * name before the upload runs; the bytes stay readable.
	 */
	path = store_blob_path(s, h);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	pthread_mutex_lock(&x->lock);
	if (fd < 0 || fstat(fd, &st) < 0) {
		char msg[200];

		snprintf(msg, sizeof(msg), "cannot open '%s': %s", path,
		    strerror(errno));
		failed_add(x, h, msg);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	while (x->queued >= UPLOAD_QUEUE_MAX)
		pthread_cond_wait(&x->done, &x->lock);
	if (upload_start(x) < 0) {
		failed_add(x, h, "cannot start an upload thread");
		close(fd);
		goto out;
	}
	u = xcalloc(1, sizeof(*u));
	memcpy(u->h, h, HASH_LEN);
	u->fd = fd;
	u->size = (uint64_t)st.st_size;
	*x->tail = u;
	x->tail = &u->next;
	x->queued++;
	x->uploads++;
	pthread_cond_signal(&x->work);
out:
	pthread_mutex_unlock(&x->lock);
	free(path);
}

int
store_s3_barrier(struct store *s, struct merr *err)
{
	struct store_s3 *x = s->s3;
	int rc = 0;

	if (x == NULL)
		return 0;
	pthread_mutex_lock(&x->lock);
	while (x->queued > 0)
		pthread_cond_wait(&x->done, &x->lock);
	if (x->nfailed > 0) {
		rc = upload_err(x, &x->failed[0], err);
		if (x->nfailed > 1)
			merr_prefix(err, "%zu blobs were not uploaded: ",
			    x->nfailed);
		x->nfailed = 0;
	}
	pthread_mutex_unlock(&x->lock);
	if (rc == 0)
		trim_maybe(s);	/* a daemon's syncs fill the cache too */
	return rc;
}

/* Whether blob h is queued or being uploaded; under x->lock. */
static bool
upload_pending(const struct store_s3 *x, const unsigned char h[HASH_LEN])
{
	const struct upload *u;

	for (u = x->head; u != NULL; u = u->next)
		if (memcmp(u->h, h, HASH_LEN) == 0)
			return true;
	return false;
}

int
store_blob_settle(struct store *s, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	struct store_s3 *x = s->s3;
	const struct upload_failed *f;
	int rc = 0;

	if (x == NULL)
		return 0;
	pthread_mutex_lock(&x->lock);
	while (upload_pending(x, h))
		pthread_cond_wait(&x->done, &x->lock);
	/* Left for store_sync too: it may be a sync's blob as well. */
	f = failed_find(x, h);
	if (f != NULL)
		rc = upload_err(x, f, err);
	pthread_mutex_unlock(&x->lock);
	return rc;
}

/* A download context: an idle one, or a new one. */
static int
fill_fetch_take(struct store_s3 *x, struct fetch **out, struct merr *err)
{
	pthread_mutex_lock(&x->lock);
	*out = x->nidle > 0 ? x->idle[--x->nidle] : NULL;
	pthread_mutex_unlock(&x->lock);
	if (*out != NULL)
		return 0;
	return s3_fetch_new(x->s3, &x->fo, out, err);
}

static void
fill_fetch_give(struct store_s3 *x, struct fetch *f)
{
	pthread_mutex_lock(&x->lock);
	if (x->nidle < ARRAY_SIZE(x->idle)) {
		x->idle[x->nidle++] = f;
		f = NULL;
	}
	pthread_mutex_unlock(&x->lock);
	fetch_free(f);
}

static void *
trim_main(void *arg)
{
	struct store *s = arg;
	struct merr err = { 0 };

	if (store_cache_trim(s, 0, NULL, &err))
		log_warn("store '%s': cache trim: %s", s->dir, err.msg);
	pthread_mutex_lock(&s->s3->lock);
	s->s3->trimming = false;
	pthread_mutex_unlock(&s->s3->lock);
	return NULL;
}

/*
 * Starts a trim in its own thread if the last one is TRIM_SECS old: the
 * caller may hold a transaction, and a trim begins its own.
 */
static void
trim_maybe(struct store *s)
{
	struct store_s3 *x = s->s3;
	int64_t now = mono_ms();

	pthread_mutex_lock(&x->lock);
	if (!x->trimming && !x->stopping &&
	    now - x->last_trim >= TRIM_SECS * 1000) {
		if (x->trim_joinable)
			pthread_join(x->trim_thread, NULL);
		x->trim_joinable = false;
		x->last_trim = now;
		if (pthread_create(&x->trim_thread, NULL, trim_main, s) == 0)
			x->trimming = x->trim_joinable = true;
	}
	pthread_mutex_unlock(&x->lock);
}

/*
 * fetch_to_store of job from h's object (job->url set for the call) as a
 * fill of the cache: the blob is in the bucket already, so its writer
 * does not queue it for upload (filling). Verified: MERR_VERIFY if the
 * object's bytes are not job->hash's.
 */
static int
fill_job(struct store *s, struct fetch *f, struct fetch_job *job,
    fetch_progress_fn progress, void *ctx, struct merr *err)
{
	struct store_s3 *x = s->s3;
	char hex[HASH_HEX_LEN + 1];
	char *url = s3_blob_url(x->s3, job->hash);
	int rc;

	job->url = url;
	filling = true;
	rc = fetch_to_store(f, s, job, 1, progress, ctx, err);
	filling = false;
	job->url = NULL;
	free(url);
	if (rc) {
		hash_to_hex(job->hash, hex);
		merr_prefix(err, "blob '%s' from %s: ", hex, s3_name(x->s3));
	}
	return rc;
}

/* fill_job of blob h (size bytes), with no one following it. */
static int
fill_one(struct store *s, struct fetch *f, const unsigned char h[HASH_LEN],
    uint64_t size, struct merr *err)
{
	struct fetch_job job = { 0 };

	job.size = size;
	memcpy(job.hash, h, HASH_LEN);
	return fill_job(s, f, &job, NULL, NULL, err);
}

/*
 * Joins the download of h if one runs (true once it ended: the caller
 * looks for the file again), else registers this thread's in *fl.
 */
static bool
fill_join(struct store_s3 *x, const unsigned char h[HASH_LEN],
    struct fill_flight *fl)
{
	struct fill_flight *p;
	bool joined = false;

	pthread_mutex_lock(&x->lock);
	for (;;) {
		for (p = x->fills; p != NULL; p = p->next)
			if (memcmp(p->h, h, HASH_LEN) == 0)
				break;
		if (p == NULL)
			break;
		if (!joined)
			x->st.joined++;
		joined = true;
		pthread_cond_wait(&x->filled, &x->lock);
	}
	if (!joined) {
		memcpy(fl->h, h, HASH_LEN);
		fl->next = x->fills;
		x->fills = fl;
	}
	pthread_mutex_unlock(&x->lock);
	return joined;
}

static void
fill_leave(struct store_s3 *x, struct fill_flight *fl)
{
	struct fill_flight **pp;

	pthread_mutex_lock(&x->lock);
	for (pp = &x->fills; *pp != fl; pp = &(*pp)->next)
		;
	*pp = fl->next;
	x->st.downloads++;
	pthread_cond_broadcast(&x->filled);
	pthread_mutex_unlock(&x->lock);
}

/*
 * Joins the downloads of h until it is cached (true) or none runs: then
 * this thread's is registered in *fl (false), to end with fill_leave().
 * Another thread's download that failed makes this one try again.
 */
static bool
fill_wait(struct store *s, const unsigned char h[HASH_LEN],
    struct fill_flight *fl)
{
	char *path;
	int rc;

	while (fill_join(s->s3, h, fl)) {
		path = store_blob_path(s, h);
		rc = access(path, F_OK);
		free(path);
		if (rc == 0)
			return true;
	}
	return false;
}

int
store_s3_fill(const struct store *cs, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	/* The cache is this module's to write, even through a reader's
	 * struct store: what it writes is verified against h. */
	struct store *s = (struct store *)cs;
	struct store_s3 *x = s->s3;
	struct fill_flight fl;
	struct fetch *f;
	char hex[HASH_HEX_LEN + 1];
	uint64_t size;
	int rc;

	if (fill_wait(s, h, &fl))
		return 0;
	rc = fill_fetch_take(x, &f, err);
	if (rc) {
		fill_leave(x, &fl);
		return rc;
	}
	rc = s3_stat(x->s3, f, h, &size, err);
	if (rc == MERR_NOTFOUND) {
		hash_to_hex(h, hex);
		rc = merr_set(err, MERR_NOTFOUND, "blob '%s' is not in store "
		    "'%s' nor in %s", hex, s->dir, s3_name(x->s3));
	}
	if (rc == 0)
		rc = fill_one(s, f, h, size, err);
	fill_fetch_give(x, f);
	fill_leave(x, &fl);
	if (rc == 0)
		trim_maybe(s);
	return rc;
}

int
store_s3_download(struct store *s, struct fetch *f, struct fetch_job *job,
    fetch_progress_fn progress, void *ctx, struct merr *err)
{
	struct fill_flight fl;
	int rc;

	if (s->s3 == NULL)
		return merr_set(err, MERR_INVAL, "store '%s' keeps its blobs "
		    "in files", s->dir);
	/* One download of a blob at a time, whoever asks for it. */
	if (fill_wait(s, job->hash, &fl))
		return 0;
	rc = fill_job(s, f, job, progress, ctx, err);
	fill_leave(s->s3, &fl);
	if (rc == 0)
		trim_maybe(s);
	return rc;
}

int
store_s3_verify(struct store *s, struct fetch *f,
    const unsigned char h[HASH_LEN], uint64_t size, struct merr *err)
{
	if (s->s3 == NULL)
		return merr_set(err, MERR_INVAL, "store '%s' keeps its blobs "
		    "in files", s->dir);
	return fill_one(s, f, h, size, err);
}

void
store_s3_touch(const struct store *s, int fd)
{
	static const struct timespec ts[2] = {
		{ .tv_nsec = UTIME_NOW }, { .tv_nsec = UTIME_OMIT }
	};
	struct stat st;

	if (s->s3 == NULL || fstat(fd, &st) < 0 ||
	    st.st_atime > time(NULL) - TOUCH_SECS)
		return;
	/* Best effort: a reader of another user cannot, and need not. */
	(void)futimens(fd, ts);
}

/*
 * The backend record of s, into out ("" if there is none); with none,
 * and nblobs non-NULL (asking for s3), how many blobs s lists.
 */
static int
backend_read(struct store *s, char *out, size_t n, uint64_t *nblobs,
    struct merr *err)
{
	struct store_txn *t;
	const void *v;
	size_t vl;
	uint64_t bytes;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	out[0] = '\0';
	rc = store_meta_get(t, NULL, BACKEND_KEY, strlen(BACKEND_KEY), &v,
	    &vl, err);
	if (rc == 0)
		snprintf(out, n, "%.*s", (int)vl, (const char *)v);
	if (rc == MERR_NOTFOUND)
		rc = 0;
	if (rc == 0 && out[0] == '\0' && nblobs != NULL)
		rc = store_blob_totals(t, nblobs, &bytes, err);
	store_txn_abort(t);
	return rc;
}

static int
backend_write(struct store *s, const char *name, struct merr *err)
{
	struct store_txn *t;
	int rc;

	rc = store_txn_begin(s, true, &t, err);
	if (rc)
		return rc;
	rc = store_meta_put(t, NULL, BACKEND_KEY, strlen(BACKEND_KEY), name,
	    strlen(name), err);
	if (rc == 0)
		return store_txn_commit(t, err);
	store_txn_abort(t);
	return rc;
}

/* Whether the store's record (have, "" for none) allows Blobs: want. */
static int
backend_check(struct store *s, const char *have, const char *want,
    uint64_t nblobs, struct merr *err)
{
	if (have[0] != '\0' && strcmp(have, want) != 0)
		return merr_set(err, MERR_CONF, "store '%s' keeps its blobs "
		    "in %s, not %s: set 'Blobs: %s'", s->dir, have, want,
		    have);
	if (have[0] == '\0' && strcmp(want, "file") != 0 && nblobs > 0)
		return merr_set(err, MERR_CONF, "store '%s' keeps its %llu "
		    "blobs in files: moving them to %s (Blobs:) is not "
		    "supported yet; keep 'Blobs: file' or start a new "
		    "Store:", s->dir, (unsigned long long)nblobs, want);
	return 0;
}

static struct store_s3 *
store_s3_new(struct s3 *s3, const struct conf *c)
{
	struct store_s3 *x = xcalloc(1, sizeof(*x));

	x->s3 = s3;
	fetch_opts_of_conf(c, &x->fo);
	x->cache_max = c->s3_cache;
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->work, NULL);
	pthread_cond_init(&x->done, NULL);
	pthread_cond_init(&x->filled, NULL);
	x->tail = &x->head;
	atomic_init(&x->cancel, false);
	x->last_trim = mono_ms();
	atomic_init(&x->shared, c->replica_of[0] != '\0');
	return x;
}

int
store_set_backend(struct store *s, const struct conf *c, struct merr *err)
{
	const char *want = c->blobs != NULL ? c->blobs : "file";
	struct s3_opts o = { 0 };
	struct s3 *s3 = NULL;
	char have[512];
	uint64_t nblobs = 0;
	int rc;

	if (s->s3 != NULL)
		return merr_set(err, MERR_INVAL, "store '%s': backend "
		    "already set", s->dir);
	rc = backend_read(s, have, sizeof(have), c->blobs ? &nblobs : NULL,
	    err);
	if (rc == 0)
		rc = backend_check(s, have, want, nblobs, err);
	if (rc || c->blobs == NULL)
		return rc;
	o.url = c->blobs;
	o.endpoint = c->s3_endpoint;
	o.region = c->s3_region;
	o.credentials = c->s3_credentials;
	rc = s3_new(&o, &s3, err);
	if (rc == 0 && have[0] == '\0' && s->write)
		rc = backend_write(s, c->blobs, err);
	if (rc) {
		s3_free(s3);
		return rc;
	}
	s->s3 = store_s3_new(s3, c);
	return 0;
}

const char *
store_backend(const struct store *s)
{
	return s->s3 != NULL ? s3_name(s->s3->s3) : "file";
}

bool
store_s3_shared(const struct store *s)
{
	return s->s3 != NULL && atomic_load(&s->s3->shared);
}

void
store_s3_set_shared(struct store *s, bool shared)
{
	if (s->s3 != NULL)
		atomic_store(&s->s3->shared, shared);
}

struct s3 *
store_s3(const struct store *s)
{
	return s->s3 != NULL ? s->s3->s3 : NULL;
}

int
store_s3_fetch_new(const struct store *s, struct fetch **out,
    struct merr *err)
{
	if (s->s3 == NULL)
		return merr_set(err, MERR_INVAL, "store '%s' keeps its blobs "
		    "in files", s->dir);
	return s3_fetch_new(s->s3->s3, &s->s3->fo, out, err);
}

void
store_s3_stats(const struct store *s, struct store_s3_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (s->s3 == NULL)
		return;
	pthread_mutex_lock(&s->s3->lock);
	*st = s->s3->st;
	pthread_mutex_unlock(&s->s3->lock);
}

uint64_t
store_s3_cache_max(const struct store *s)
{
	return s->s3 != NULL ? s->s3->cache_max : 0;
}

void
store_s3_close(struct store *s)
{
	struct store_s3 *x = s->s3;
	struct merr err = { 0 };
	bool wrote;
	size_t i;

	if (x == NULL)
		return;
	/*
	 * Uploads still queued belong to no commit (a writer that ended
	 * without its barrier): cut them short.
	 */
	pthread_mutex_lock(&x->lock);
	x->stopping = true;
	atomic_store(&x->cancel, true);
	pthread_cond_broadcast(&x->work);
	wrote = x->uploads > 0;
	pthread_mutex_unlock(&x->lock);
	for (i = 0; i < x->nthreads; i++)
		pthread_join(x->threads[i], NULL);
	if (x->trim_joinable)
		pthread_join(x->trim_thread, NULL);
	/* After a writer's run (a sync's commit): the cache to its size. */
	if (wrote && store_cache_trim(s, 0, NULL, &err))
		log_warn("store '%s': cache trim: %s", s->dir, err.msg);
	for (i = 0; i < x->nidle; i++)
		fetch_free(x->idle[i]);
	s3_free(x->s3);
	pthread_cond_destroy(&x->work);
	pthread_cond_destroy(&x->done);
	pthread_cond_destroy(&x->filled);
	pthread_mutex_destroy(&x->lock);
	free(x);
	s->s3 = NULL;
}

/* One cached file, for the trim. */
struct cached {
	unsigned char h[HASH_LEN];
	int64_t atime_ns;
	uint64_t size;
};

struct trim_walk {
	struct cached *v;
	size_t n, cap;
	uint64_t bytes;
};

static int
trim_file(void *ctx, const char *dir, int dirfd, const char *name,
    const unsigned char *h, struct merr *err)
{
	struct trim_walk *tw = ctx;
	struct stat st;

	(void)dir;
	(void)err;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;	/* gone meanwhile, or not ours to drop */
	if (tw->n == tw->cap) {
		tw->cap = tw->cap ? 2 * tw->cap : 1024;
		tw->v = xreallocarray(tw->v, tw->cap, sizeof(*tw->v));
	}
	memcpy(tw->v[tw->n].h, h, HASH_LEN);
	tw->v[tw->n].atime_ns = (int64_t)st.st_atim.tv_sec * 1000000000 +
	    st.st_atim.tv_nsec;
	tw->v[tw->n].size = (uint64_t)st.st_size;
	tw->n++;
	tw->bytes += (uint64_t)st.st_size;
	return 0;
}

static int
cached_cmp(const void *a, const void *b)
{
	const struct cached *x = a, *y = b;

	if (x->atime_ns != y->atime_ns)
		return x->atime_ns < y->atime_ns ? -1 : 1;
	return memcmp(x->h, y->h, HASH_LEN);
}

/* Files checked against the blobs table per read transaction. */
#define TRIM_BATCH 256

/*
 * Drops v[*i...] oldest first, one read transaction per batch, while
 * *bytes > max: only blobs the table lists (an unlisted file may be a
 * writer's, not yet committed, or not yet uploaded).
 */
static int
trim_drop(struct store *s, struct trim_walk *tw, size_t *i, uint64_t max,
    struct store_trim_stats *st, struct merr *err)
{
	struct store_blob_rec rec;
	struct store_txn *t = NULL;
	size_t end = *i + TRIM_BATCH < tw->n ? *i + TRIM_BATCH : tw->n;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	for (; rc == 0 && *i < end && tw->bytes > max; (*i)++) {
		const struct cached *c = &tw->v[*i];

		rc = store_blob_get(t, c->h, &rec, err);
		if (rc == MERR_NOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc == 0)
			rc = store_blob_unlink(s, c->h, err);
		if (rc == 0) {
			tw->bytes -= c->size;
			st->dropped++;
			st->dropped_bytes += c->size;
		}
	}
	if (t != NULL)
		store_txn_abort(t);
	return rc;
}

int
store_cache_trim(struct store *s, uint64_t max, struct store_trim_stats *st,
    struct merr *err)
{
	struct trim_walk tw = { 0 };
	struct store_blob_walk w = { .strict = true, .file = trim_file,
	    .ctx = &tw };
	struct store_trim_stats dummy;
	size_t i = 0;
	int rc;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (s->s3 == NULL)
		return merr_set(err, MERR_INVAL, "store '%s' keeps its blobs "
		    "in files: they are not a cache to trim", s->dir);
	if (max == 0)
		max = s->s3->cache_max;
	rc = store_blob_walk(s, &w, err);
	st->files = tw.n;
	st->bytes = tw.bytes;
	if (rc == 0 && tw.bytes > max) {
		qsort(tw.v, tw.n, sizeof(*tw.v), cached_cmp);
		while (rc == 0 && i < tw.n && tw.bytes > max)
			rc = trim_drop(s, &tw, &i, max, st, err);
	}
	free(tw.v);
	if (rc == 0) {
		pthread_mutex_lock(&s->s3->lock);
		s->s3->st.trims++;
		s->s3->st.cache_files = st->files - st->dropped;
		s->s3->st.cache_bytes = st->bytes - st->dropped_bytes;
		pthread_mutex_unlock(&s->s3->lock);
	}
	return rc;
}
