/*
 * fetch_util.c: what the fetcher does without libcurl (see fetch_util.h),
 * and fetch.h's curl-free functions.
 */
#include "mirrord/common.h"

#include <time.h>
#include <unistd.h>

#include "mirrord/fetch.h"
#include "mirrord/fetch_util.h"
#include "mirrord/util.h"

#define BACKOFF_CAP_MS		30000	/* longest backoff */
#define RETRY_AFTER_CAP_MS	60000	/* longest Retry-After obeyed */
#define HASH_CHUNK		65536
#define DISCARD_MAX		65536	/* error page bytes we read */

void
fetch_opts_of_conf(const struct conf *c, struct fetch_opts *fo)
{
	memset(fo, 0, sizeof(*fo));
	fo->connections = c->connections;
	fo->retries = c->retries;
	fo->connect_timeout = c->connect_timeout;
	fo->stall_timeout = c->stall_timeout;
	fo->backoff_ms = FETCH_BACKOFF_MS;
}

uint64_t
fetch_backoff_ms(unsigned base_ms, unsigned n, long retry_after)
{
	uint64_t ms = base_ms, ra;

	while (--n > 0 && ms < BACKOFF_CAP_MS)
		ms *= 2;
	if (ms > BACKOFF_CAP_MS)
		ms = BACKOFF_CAP_MS;
	if (retry_after >= 0) {
		ra = retry_after > RETRY_AFTER_CAP_MS / 1000 ?
		    RETRY_AFTER_CAP_MS : (uint64_t)retry_after * 1000;
		if (ra > ms)
			ms = ra;
	}
	return ms;
}

bool
fetch_flag_set(const atomic_bool *cancel)
{
	return cancel != NULL && atomic_load(cancel);
}

bool
fetch_sleep_cancel(const atomic_bool *cancel, uint64_t ms)
{
	struct timespec ts;
	uint64_t step;

	while (ms > 0) {
		if (fetch_flag_set(cancel))
			return false;
		step = ms < FETCH_CANCEL_POLL_MS ? ms : FETCH_CANCEL_POLL_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)step * 1000000;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		ms -= step;
	}
	return !fetch_flag_set(cancel);
}

bool
fetch_header_ok(const char *value)
{
	const char *c;

	if (value == NULL || *value == '\0')
		return false;
	for (c = value; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

int
fetch_pread_full(int fd, void *p, size_t len, uint64_t off,
    struct merr *err)
{
	char *q = p;
	ssize_t n;

	while (len > 0) {
		n = pread(fd, q, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return merr_set(err, MERR_IO, "read at %llu: %s",
			    (unsigned long long)off, strerror(errno));
		if (n == 0)
			return merr_set(err, MERR_IO, "read at %llu: the file "
			    "ends first", (unsigned long long)off);
		q += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int
fetch_hash_range(int fd, uint64_t off, uint64_t len,
    unsigned char out[HASH_LEN], struct merr *err)
{
	char *b = xmalloc(HASH_CHUNK);
	struct hash_ctx h;
	size_t n;
	int rc = 0;

	hash_init(&h);
	while (len > 0) {
		n = len < HASH_CHUNK ? (size_t)len : HASH_CHUNK;
		rc = fetch_pread_full(fd, b, n, off, err);
		if (rc)
			break;
		hash_update(&h, b, n);
		off += n;
		len -= n;
	}
	if (rc)
		hash_release(&h);
	else
		hash_final(&h, out);
	free(b);
	return rc;
}

void
fetch_res_release(struct fetch_res *res)
{
	if (res == NULL)
		return;
	free(res->data);
	free(res->etag);
	memset(res, 0, sizeof(*res));
}

size_t
fetch_body_read(struct fetch_body *b, char *p, size_t n)
{
	if (b->failed)
		return SIZE_MAX;
	if (n > b->len - b->pos)
		n = (size_t)(b->len - b->pos);
	if (n == 0)
		return 0;
	if (b->data != NULL)
		memcpy(p, b->data + b->pos, n);
	else if (fetch_pread_full(b->fd, p, n, b->off + b->pos, &b->err)) {
		b->failed = true;
		return SIZE_MAX;
	}
	b->pos += n;
	return n;
}

int
fetch_body_sha256(const struct fetch_body *b, const unsigned char *known,
    char hex[HASH_HEX_LEN + 1], struct merr *err)
{
	unsigned char h[HASH_LEN];
	int rc;

	if (known != NULL) {
		hash_to_hex(known, hex);
		return 0;
	}
	if (b->data != NULL || !b->has_fd) {
		hash_buf(b->data != NULL ? b->data : "", b->len, h);
	} else {
		rc = fetch_hash_range(b->fd, b->off, b->len, h, err);
		if (rc)
			return rc;
	}
	hash_to_hex(h, hex);
	return 0;
}

bool
fetch_cancelled(const struct fetch *f)
{
	return fetch_flag_set(f->cancel);
}

void
fetch_set_cancel(struct fetch *f, const atomic_bool *cancel)
{
	f->cancel = cancel;
}

const atomic_bool *
fetch_get_cancel(const struct fetch *f)
{
	return f->cancel;
}

/* Drops len bytes of an error page; false once past the cap. */
bool
fetch_body_discard(struct body *b, size_t len)
{
	b->discarded += len;
	return b->discarded <= DISCARD_MAX;
}

int
fetch_mem_cancelled(const struct memget *m, struct merr *err)
{
	return merr_set(err, MERR_CANCEL, "'%s': cancelled", m->url);
}

/* The last attempt's outcome into res, or the error it is. */
int
fetch_mem_result(struct memget *m, bool conditional, struct fetch_mem *res,
    struct merr *err)
{
	switch (m->o) {
	case O_BODY:
		if (m->code == 206)
			return merr_set(err, MERR_NET,
			    "'%s': unexpected HTTP 206", m->url);
		res->status = 200;
		/* NUL-terminated, even when empty. */
		buf_addc(&m->b, '\0');
		res->data = buf_detach(&m->b, &res->len);
		res->len--;
		if (m->r.etag[0] != '\0')
			res->etag = xstrdup(m->r.etag);
		if (m->r.last_modified[0] != '\0')
			res->last_modified = xstrdup(m->r.last_modified);
		return 0;
	case O_ABSENT:
		res->status = 404;
		return 0;
	case O_NOTMOD:
		if (!conditional)
			return merr_set(err, MERR_NET,
			    "'%s': HTTP 304 to an unconditional request",
			    m->url);
		res->status = 304;
		return 0;
	case O_RETRY:
		return merr_set(err, MERR_NET, "'%s': %s after %u attempts",
		    m->url, m->why, m->attempt);
	case O_FAIL:
	default:
		return merr_set(err, MERR_NET, "'%s': %s", m->url, m->why);
	}
}

void
fetch_mem_release(struct fetch_mem *res)
{
	if (res == NULL)
		return;
	free(res->data);
	free(res->etag);
	free(res->last_modified);
	memset(res, 0, sizeof(*res));
}

/* Tells the job's watcher, if any, what its blob writer holds now. */
void
fetch_xfer_wrote(const struct xfer *x)
{
	if (x->job->on_write != NULL)
		x->job->on_write(x->job->write_ctx, &x->w);
}

/* store_blob_rewind of x's writer, told to the job's watcher. */
int
fetch_xfer_rewind(struct xfer *x, struct merr *err)
{
	int rc = store_blob_rewind(&x->w, err);

	if (rc == 0)
		fetch_xfer_wrote(x);
	return rc;
}

/* The slot is done with its job; it takes the next one. */
void
fetch_xfer_release(struct run *run, struct xfer *x, int status)
{
	if (x->have_w)
		store_blob_abort(&x->w);
	x->have_w = false;
	x->job->status = status;
	x->job = NULL;
	x->state = X_IDLE;
	run->kick = true;
}

/*
 * Tries again later (or now, if delay is 0), unless the attempts are
 * spent: then the failure is hard.
 */
int
fetch_xfer_retry(struct run *run, struct xfer *x, uint64_t delay,
    const char *why, struct merr *err)
{
	if (x->attempts > run->f->opts.retries)
		return merr_set(err, MERR_NET, "'%s': %s after %u attempts",
		    x->url, why, x->attempts);
	x->state = X_WAIT;
	x->not_before = (uint64_t)mono_ms() + delay;
	if (delay == 0)
		run->kick = true;
	return 0;
}

void
fetch_run_progress(struct run *run, fetch_progress_fn progress, void *ctx)
{
	uint64_t bytes = run->bytes_done;
	unsigned i;

	/* Count the bytes of the transfers in flight too. */
	for (i = 0; i < run->f->opts.connections; i++)
		if (run->f->slots[i].have_w)
			bytes += run->f->slots[i].w.size;
	progress(ctx, run->files_done, bytes);
}

/*
 * Fills the free slots with the next jobs and starts the retries that are
 * due. *busy gets the number of slots at work.
 */
int
fetch_run_fill(struct run *run, unsigned *busy, struct merr *err)
{
	struct fetch *f = run->f;
	uint64_t now = (uint64_t)mono_ms();
	struct xfer *x;
	unsigned k;
	int ret;

	*busy = 0;
	run->kick = false;
	for (k = 0; k < f->opts.connections; k++) {
		x = &f->slots[k];
		if (x->state == X_IDLE && run->next < run->njobs) {
			run->failed = &run->jobs[run->next];
			ret = fetch_xfer_begin(run, x, &run->jobs[run->next++],
			    err);
			if (ret)
				return ret;
			run->failed = NULL;
		} else if (x->state == X_WAIT && x->not_before <= now) {
			run->failed = x->job;
			ret = fetch_xfer_start(run, x, err);
			if (ret)
				return ret;
			run->failed = NULL;
		}
		if (x->state != X_IDLE)
			(*busy)++;
	}
	return 0;
}
