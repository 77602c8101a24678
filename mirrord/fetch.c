/*
 * fetch.c: transfers with libcurl (the only file that calls libcurl).
 *
 * Three entry points. fetch_get_mem() is a blocking GET of one small file
 * on its own easy handle (indices, Release files); fetch_request() uses
 * that handle for any method (the S3 client's PUT, POST, HEAD, DELETE),
 * with the same attempts, and puts it back as it was. fetch_to_store() drives a
 * curl multi handle with a fixed pool of `connections` easy handles, one
 * per slot; a slot holds one job at a time, from its first attempt until
 * it is stored, absent or failed, so memory does not depend on the number
 * of jobs. Handles are reused, never re-created, so the multi handle's
 * connection cache keeps connections alive between files.
 *
 * A slot whose transfer failed transiently waits in state X_WAIT until its
 * 'not before' time; the loop polls with a timeout so other transfers go
 * on meanwhile. Its blob writer is kept, and the next attempt asks for
 * "Range: N-" with N the bytes already written (and hashed).
 *
 * fetch_set_sigv4() makes every handle sign (libcurl's SigV4) and carry
 * x-amz-content-sha256, which libcurl 7.88 does not send and S3 stores
 * require; libcurl signs the header's value as the payload hash.
 *
 * What needs no libcurl (the state structs, the backoff, the slots'
 * bookkeeping, the results) is in fetch_util.c, so that this file, the
 * library's one owner, stays within the house's size.
 */
#include "mirrord/common.h"

#include <curl/curl.h>
#include <time.h>

#include "mirrord/hash.h"
#include "mirrord/store.h"
#include "mirrord/util.h"
#include "mirrord/fetch.h"
#include "mirrord/fetch_util.h"
#include "mirrord/resp.h"

_Static_assert(CURL_ERROR_SIZE <= FETCH_ERRBUF_SIZE, "error buffer");

#define FETCH_MAX_CONNECTIONS	64
#define PROGRESS_MS		100
#define POLL_MS			1000

static size_t xfer_write(char *, size_t, size_t, void *);
static void fetch_sign_clear(struct fetch *);

/* libcurl's progress callback: a non-zero return aborts the transfer. */
static int
fetch_xferinfo_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	return fetch_cancelled(arg) ? 1 : 0;
}

/*
 * Header callback: records what we act on (resp.c). Called once per
 * header line, for every response of the transfer (redirects included);
 * a short count stops the transfer (CURLE_WRITE_ERROR).
 */
static size_t
fetch_header_cb(char *p, size_t sz, size_t n, void *arg)
{
	return resp_header(arg, p, sz * n) ? sz * n : 0;
}

/*
 * On the first data of a response: is it a body we keep? Only 200, 206 and
 * file:// (code 0) bodies are; an error page is read (up to a cap) and
 * dropped. Returns the response code.
 */
static long
body_check(CURL *easy, struct body *b)
{
	long code = 0;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	b->checked = true;
	b->discard = !(code == 0 || code == 200 || code == 206);
	return code;
}

static bool
fetch_transient_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/*
 * Sorts out a finished attempt from curl's result and the response code
 * (*code). why gets the reason of a failure, without the URL.
 */
static enum outcome
fetch_classify(const struct fetch *f, CURL *easy, CURLcode rc,
    const struct body *b, const struct resp *r, const char *errbuf,
    long *code, char *why, size_t whylen)
{
	curl_off_t pre = 0;

	*code = 0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, code);
	why[0] = '\0';
	if (r->bad_location) {
		snprintf(why, whylen, "redirect to a URL with control "
		    "characters refused");
		return O_FAIL;
	}
	/* We cut an error page short: the status decides. */
	if (rc == CURLE_WRITE_ERROR && b->discard)
		rc = CURLE_OK;
	if (rc == CURLE_FILE_COULDNT_READ_FILE)
		return O_ABSENT;
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
		if (pre == 0)
			snprintf(why, whylen,
			    "connection timed out after %ld s",
			    f->opts.connect_timeout);
		else
			snprintf(why, whylen, "timed out (under %d bytes/s "
			    "for %ld s)", FETCH_MIN_SPEED,
			    f->opts.stall_timeout);
		return O_RETRY;
	}
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s",
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
		return fetch_transient_curl(rc) ? O_RETRY : O_FAIL;
	}
	if (*code == 0 || *code == 200 || *code == 206)
		return O_BODY;
	if (*code == 404)
		return O_ABSENT;
	if (*code == 304)
		return O_NOTMOD;
	snprintf(why, whylen, "HTTP %ld", *code);
	if (*code >= 500 || *code == 429 || *code == 408)
		return O_RETRY;
	return O_FAIL;
}

/* Options every transfer shares; set once per easy handle. */
static int
fetch_setup_easy(struct fetch *f, CURL *e, char *errbuf, struct merr *err)
{
	CURLcode rc = CURLE_OK;

#define SET(opt, val) do { \
	if (rc == CURLE_OK) \
		rc = curl_easy_setopt(e, opt, val); \
} while (0)
	SET(CURLOPT_PROTOCOLS_STR, "http,https,file");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, 5L);
	SET(CURLOPT_USERAGENT, "mirrord/" MIRRORD_VERSION);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	SET(CURLOPT_CONNECTTIMEOUT, f->opts.connect_timeout);
	/*
	 * A trickle is a stall: below 1 KiB/s for stall_timeout the transfer
	 * is retried (a limit of 1 byte/s let an upstream sending 2 bytes/s
	 * hold a sync for hours; a mirror that slow is of no use anyway).
	 */
	SET(CURLOPT_LOW_SPEED_LIMIT, (long)FETCH_MIN_SPEED);
	SET(CURLOPT_LOW_SPEED_TIME, f->opts.stall_timeout);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_HEADERFUNCTION, fetch_header_cb);
#undef SET
	if (rc != CURLE_OK)
		return merr_set(err, MERR_NET, "cannot set up curl: %s",
		    curl_easy_strerror(rc));
	return 0;
}

int
fetch_new(const struct fetch_opts *opts, struct fetch **out,
    struct merr *err)
{
	struct fetch_opts defaults;
	struct conf *dc = conf_new();
	struct fetch *f;
	unsigned i;
	int rc;

	fetch_opts_of_conf(dc, &defaults);
	conf_free(dc);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return merr_set(err, MERR_NET, "cannot initialise libcurl");
	f = xcalloc(1, sizeof(*f));
	f->opts = opts != NULL ? *opts : defaults;
	if (f->opts.connections == 0)
		f->opts.connections = defaults.connections;
	if (f->opts.connections > FETCH_MAX_CONNECTIONS)
		f->opts.connections = FETCH_MAX_CONNECTIONS;
	if (f->opts.connect_timeout <= 0)
		f->opts.connect_timeout = defaults.connect_timeout;
	if (f->opts.stall_timeout <= 0)
		f->opts.stall_timeout = defaults.stall_timeout;

	f->slots = xcalloc(f->opts.connections, sizeof(*f->slots));
	f->multi = curl_multi_init();
	f->mem = curl_easy_init();
	if (f->multi == NULL || f->mem == NULL) {
		rc = merr_set(err, MERR_NET, "cannot initialise libcurl");
		goto fail;
	}
	if (curl_multi_setopt(f->multi, CURLMOPT_PIPELINING,
	    (long)CURLPIPE_MULTIPLEX) != CURLM_OK ||
	    curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)f->opts.connections) != CURLM_OK) {
		rc = merr_set(err, MERR_NET, "cannot set up curl multi");
		goto fail;
	}
	rc = fetch_setup_easy(f, f->mem, f->mem_errbuf, err);
	if (rc)
		goto fail;
	/* A blocking transfer sees a cancel through its progress callback. */
	if (curl_easy_setopt(f->mem, CURLOPT_XFERINFOFUNCTION,
	    fetch_xferinfo_cb) ||
	    curl_easy_setopt(f->mem, CURLOPT_XFERINFODATA, f) ||
	    curl_easy_setopt(f->mem, CURLOPT_NOPROGRESS, 0L)) {
		rc = merr_set(err, MERR_NET, "cannot set up curl");
		goto fail;
	}
	for (i = 0; i < f->opts.connections; i++) {
		struct xfer *x = &f->slots[i];

		x->easy = curl_easy_init();
		if (x->easy == NULL) {
			rc = merr_set(err, MERR_NET,
			    "cannot initialise libcurl");
			goto fail;
		}
		rc = fetch_setup_easy(f, x->easy, x->errbuf, err);
		if (rc)
			goto fail;
		if (curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x) ||
		    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, &x->r) ||
		    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION,
		    xfer_write) ||
		    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x)) {
			rc = merr_set(err, MERR_NET, "cannot set up curl");
			goto fail;
		}
	}
	*out = f;
	return 0;
fail:
	fetch_free(f);
	return rc;
}

void
fetch_free(struct fetch *f)
{
	unsigned i;

	if (f == NULL)
		return;
	for (i = 0; i < f->opts.connections; i++)
		if (f->slots[i].easy != NULL)
			curl_easy_cleanup(f->slots[i].easy);
	if (f->mem != NULL)
		curl_easy_cleanup(f->mem);
	if (f->multi != NULL)
		curl_multi_cleanup(f->multi);
	free(f->slots);
	fetch_sign_clear(f);
	free(f);
	curl_global_cleanup();
}

static size_t
fetch_mem_write(char *p, size_t sz, size_t n, void *arg)
{
	struct memget *m = arg;
	size_t len = sz * n;

	if (!m->body.checked)
		body_check(m->easy, &m->body);
	if (m->body.discard && !m->keep_all)
		return fetch_body_discard(&m->body, len) ? len : 0;
	if (len > m->max - m->b.len) {
		m->too_big = true;
		return 0;
	}
	buf_add(&m->b, p, len);
	return len;
}

/*
 * Appends "name: value" unless value is NULL, empty or holds control
 * characters (no header injection). Out of memory aborts, as in xmalloc.
 */
static struct curl_slist *
fetch_slist_add(struct curl_slist *l, const char *name, const char *value)
{
	struct curl_slist *n;
	char *h;

	if (!fetch_header_ok(value))
		return l;
	h = xasprintf("%s: %s", name, value);
	n = curl_slist_append(l, h);
	free(h);
	if (n == NULL)
		util_oom();
	return n;
}

/*
 * Appends the signing headers (the payload's SHA-256, hex; NULL: the
 * empty body's; the session token) to l when f signs.
 */
static struct curl_slist *
fetch_sign_list(const struct fetch *f, struct curl_slist *l, const char *hex)
{
	unsigned char h[HASH_LEN];
	char empty[HASH_HEX_LEN + 1];

	if (f->sigv4 == NULL)
		return l;
	if (hex == NULL) {
		hash_buf("", 0, h);
		hash_to_hex(h, empty);
		hex = empty;
	}
	l = fetch_slist_add(l, "x-amz-content-sha256", hex);
	return fetch_slist_add(l, "x-amz-security-token", f->token);
}

static void
fetch_sign_clear(struct fetch *f)
{
	if (f->secret != NULL)
		explicit_bzero(f->secret, strlen(f->secret));
	free(f->secret);
	free(f->user);
	free(f->sigv4);
	free(f->token);
	curl_slist_free_all(f->sign_hdrs);
	f->secret = f->user = f->sigv4 = f->token = NULL;
	f->sign_hdrs = NULL;
}

/* Makes e sign as f's credentials; a signed request is not redirected. */
static bool
fetch_sign_easy(const struct fetch *f, CURL *e)
{
	return curl_easy_setopt(e, CURLOPT_AWS_SIGV4, f->sigv4) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_USERNAME, f->user) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_PASSWORD, f->secret) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
}

int
fetch_set_sigv4(struct fetch *f, const struct fetch_sigv4 *sig,
    struct merr *err)
{
	unsigned i;

	if (!fetch_header_ok(sig->region) || strchr(sig->region, ':') ||
	    !fetch_header_ok(sig->access_key) ||
	    !fetch_header_ok(sig->secret_key) ||
	    (sig->session_token != NULL &&
	    !fetch_header_ok(sig->session_token)))
		return merr_set(err, MERR_CONF, "signing: the region, key "
		    "or token is missing or holds control characters");
	fetch_sign_clear(f);
	f->sigv4 = xasprintf("aws:amz:%s:s3", sig->region);
	f->user = xstrdup(sig->access_key);
	f->secret = xstrdup(sig->secret_key);
	f->token = sig->session_token != NULL ?
	    xstrdup(sig->session_token) : NULL;
	f->sign_hdrs = fetch_sign_list(f, NULL, NULL);
	if (!fetch_sign_easy(f, f->mem))
		return merr_set(err, MERR_NET, "cannot set up curl's signing");
	for (i = 0; i < f->opts.connections; i++)
		if (!fetch_sign_easy(f, f->slots[i].easy) ||
		    curl_easy_setopt(f->slots[i].easy, CURLOPT_HTTPHEADER,
		    f->sign_hdrs) != CURLE_OK)
			return merr_set(err, MERR_NET,
			    "cannot set up curl's signing");
	return 0;
}

/*
 * Attempts the GET until one ends in a way not to be retried, or the
 * retries are spent: m->o says how the last one ended. Returns 0, or
 * MERR_CANCEL or MERR_LIMIT (too large), which end the call at once.
 */
static int
fetch_mem_attempts(struct fetch *f, struct memget *m, struct merr *err)
{
	CURLcode rc;

	for (m->attempt = 1; ; m->attempt++) {
		buf_reset(&m->b);
		memset(&m->body, 0, sizeof(m->body));
		resp_reset(&m->r);
		f->mem_errbuf[0] = '\0';
		if (m->up != NULL)
			m->up->pos = 0;
		if (fetch_cancelled(f))
			return fetch_mem_cancelled(m, err);
		rc = curl_easy_perform(f->mem);
		if (rc == CURLE_ABORTED_BY_CALLBACK && fetch_cancelled(f))
			return fetch_mem_cancelled(m, err);
		if (m->up != NULL && m->up->failed) {
			*err = m->up->err;
			return merr_prefix(err, "'%s': ", m->url);
		}
		if (m->r.too_long[0] != '\0')
			return merr_set(err, MERR_LIMIT, "'%s': Content-Length "
			    "%s, larger than %zu bytes", m->url, m->r.too_long,
			    m->max);
		if (m->too_big)
			return merr_set(err, MERR_LIMIT,
			    "'%s': larger than %zu bytes", m->url, m->max);
		m->o = fetch_classify(f, f->mem, rc, &m->body, &m->r,
		    f->mem_errbuf, &m->code, m->why, sizeof(m->why));
		if (m->o != O_RETRY ||
		    m->attempt > (m->once ? 0 : f->opts.retries))
			return 0;
		if (!fetch_sleep_cancel(f->cancel, fetch_backoff_ms(
		    f->opts.backoff_ms, m->attempt,
		    m->r.retry_after)))
			return fetch_mem_cancelled(m, err);
	}
}

int
fetch_get_mem(struct fetch *f, const char *url, size_t max,
    const char *etag, const char *last_modified, struct fetch_mem *res,
    struct merr *err)
{
	struct curl_slist *hdrs = NULL;
	struct memget m;
	bool cond;
	int ret;

	memset(res, 0, sizeof(*res));
	memset(&m, 0, sizeof(m));
	m.easy = f->mem;
	m.url = url;
	m.max = max;
	buf_init(&m.b);
	m.r.max = max;
	m.o = O_FAIL;

	/* Conditional request headers, from the validators we were given. */
	hdrs = fetch_slist_add(hdrs, "If-None-Match", etag);
	hdrs = fetch_slist_add(hdrs, "If-Modified-Since", last_modified);
	cond = hdrs != NULL;
	hdrs = fetch_sign_list(f, hdrs, NULL);
	if (curl_easy_setopt(f->mem, CURLOPT_URL, url) ||
	    curl_easy_setopt(f->mem, CURLOPT_HTTPHEADER, hdrs) ||
	    curl_easy_setopt(f->mem, CURLOPT_WRITEFUNCTION, fetch_mem_write) ||
	    curl_easy_setopt(f->mem, CURLOPT_WRITEDATA, &m) ||
	    curl_easy_setopt(f->mem, CURLOPT_HEADERDATA, &m.r))
		ret = merr_set(err, MERR_NET, "'%s': cannot set up curl", url);
	else
		ret = fetch_mem_attempts(f, &m, err);
	if (ret == 0)
		ret = fetch_mem_result(&m, cond, res, err);
	/* Leave the handle without pointers into this call. */
	curl_easy_setopt(f->mem, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(f->mem, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(f->mem, CURLOPT_HEADERDATA, NULL);
	curl_slist_free_all(hdrs);
	buf_release(&m.b);
	return ret;
}

static size_t
fetch_read_cb(char *p, size_t sz, size_t n, void *arg)
{
	size_t got = fetch_body_read(arg, p, sz * n);

	return got == SIZE_MAX ? CURL_READFUNC_ABORT : got;
}

/* curl rewinds a body it must send again (a redirect, an auth retry). */
static int
fetch_seek_cb(void *arg, curl_off_t off, int origin)
{
	struct fetch_body *b = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > b->len)
		return CURL_SEEKFUNC_CANTSEEK;
	b->pos = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

/* f->mem set up for rq (method, body, headers); false if curl refused. */
static bool
fetch_req_setup(struct fetch *f, const struct fetch_req *rq,
    struct curl_slist *hdrs, struct memget *m)
{
	bool upload = strcmp(rq->method, "PUT") == 0 ||
	    strcmp(rq->method, "POST") == 0;
	CURL *e = f->mem;
	CURLcode rc = CURLE_OK;

#define SET(opt, val) do { \
	if (rc == CURLE_OK) \
		rc = curl_easy_setopt(e, opt, val); \
} while (0)
	SET(CURLOPT_URL, rq->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_WRITEFUNCTION, fetch_mem_write);
	SET(CURLOPT_WRITEDATA, m);
	SET(CURLOPT_HEADERDATA, &m->r);
	if (strcmp(rq->method, "HEAD") == 0)
		SET(CURLOPT_NOBODY, 1L);
	else if (strcmp(rq->method, "GET") != 0)
		SET(CURLOPT_CUSTOMREQUEST, rq->method);
	if (upload) {
		SET(CURLOPT_UPLOAD, 1L);
		SET(CURLOPT_READFUNCTION, fetch_read_cb);
		SET(CURLOPT_READDATA, m->up);
		SET(CURLOPT_SEEKFUNCTION, fetch_seek_cb);
		SET(CURLOPT_SEEKDATA, m->up);
		SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->up->len);
	}
#undef SET
	return rc == CURLE_OK;
}

/* f->mem back as fetch_get_mem() expects it. */
static void
fetch_req_reset(struct fetch *f)
{
	CURL *e = f->mem;

	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 0L);
	curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(e, CURLOPT_READDATA, NULL);
	curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, NULL);
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)-1);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, f->sigv4 ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
}

/* The last attempt's response into res, or the error of none. */
static int
fetch_req_result(struct fetch *f, struct memget *m, struct fetch_res *res,
    struct merr *err)
{
	curl_off_t cl = -1;

	if (m->code == 0)
		return fetch_mem_result(m, false, NULL, err);
	res->status = (int)m->code;
	if (m->b.len > 0) {
		buf_addc(&m->b, '\0');
		res->data = buf_detach(&m->b, &res->len);
		res->len--;
	}
	if (m->r.etag[0] != '\0')
		res->etag = xstrdup(m->r.etag);
	if (curl_easy_getinfo(f->mem, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
	    &cl) == CURLE_OK)
		res->length = cl;
	return 0;
}

int
fetch_request(struct fetch *f, const struct fetch_req *rq,
    struct fetch_res *res, struct merr *err)
{
	struct curl_slist *hdrs = NULL, *n;
	char hex[HASH_HEX_LEN + 1];
	struct fetch_body up;
	struct memget m;
	size_t i;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	res->length = -1;
	memset(&up, 0, sizeof(up));
	up.data = rq->data;
	up.has_fd = rq->data == NULL && rq->has_fd;
	up.fd = rq->fd;
	up.off = rq->off;
	up.len = rq->data != NULL || up.has_fd ? rq->len : 0;
	if (f->sigv4 != NULL &&
	    fetch_body_sha256(&up, rq->sha256, hex, err) < 0)
		return merr_prefix(err, "'%s': ", rq->url);
	for (i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++) {
		if (!fetch_header_ok(rq->headers[i]))
			continue;
		if ((n = curl_slist_append(hdrs, rq->headers[i])) == NULL)
			util_oom();
		hdrs = n;
	}
	hdrs = fetch_sign_list(f, hdrs, hex);
	memset(&m, 0, sizeof(m));
	m.easy = f->mem;
	m.url = rq->url;
	m.max = rq->max;
	buf_init(&m.b);
	m.r.max = strcmp(rq->method, "HEAD") == 0 ? 0 : rq->max;
	m.o = O_FAIL;
	m.keep_all = true;
	m.once = rq->once;
	m.up = &up;
	if (!fetch_req_setup(f, rq, hdrs, &m))
		ret = merr_set(err, MERR_NET, "'%s': cannot set up curl",
		    rq->url);
	if (ret == 0)
		ret = fetch_mem_attempts(f, &m, err);
	if (ret == 0)
		ret = fetch_req_result(f, &m, res, err);
	fetch_req_reset(f);
	curl_slist_free_all(hdrs);
	buf_release(&m.b);
	return ret;
}

static size_t
xfer_write(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = sz * n;
	long code;

	if (!x->body.checked) {
		code = body_check(x->easy, &x->body);
		if (code == 206 && (x->range_from == 0 ||
		    x->r.cr_start != (int64_t)x->range_from)) {
			/* Not the part we asked for: start over, whole. */
			x->restart = true;
			return 0;
		}
		if (code == 200 && x->w.size > 0 &&
		    fetch_xfer_rewind(x, &x->werr) < 0) {
			/* The server ignored our Range: take it all. */
			x->werr_set = true;
			return 0;
		}
	}
	if (x->body.discard)
		return fetch_body_discard(&x->body, len) ? len : 0;
	if (store_blob_write(&x->w, p, len, &x->werr) < 0) {
		x->werr_set = true;
		return 0;
	}
	fetch_xfer_wrote(x);
	return len;
}

/* Starts one attempt of slot x: Range from what is already written. */
int
fetch_xfer_start(struct run *run, struct xfer *x, struct merr *err)
{
	CURLMcode mrc;

	x->attempts++;
	x->range_from = x->w.size;
	x->restart = false;
	x->werr_set = false;
	memset(&x->body, 0, sizeof(x->body));
	resp_reset(&x->r);
	x->errbuf[0] = '\0';
	if (x->range_from > 0)
		snprintf(x->range, sizeof(x->range), "%llu-",
		    (unsigned long long)x->range_from);
	if (curl_easy_setopt(x->easy, CURLOPT_URL, x->url) ||
	    curl_easy_setopt(x->easy, CURLOPT_RANGE,
	    x->range_from > 0 ? x->range : NULL))
		return merr_set(err, MERR_NET, "'%s': cannot set up curl",
		    x->url);
	mrc = curl_multi_add_handle(run->f->multi, x->easy);
	if (mrc != CURLM_OK)
		return merr_set(err, MERR_NET, "'%s': %s", x->url,
		    curl_multi_strerror(mrc));
	x->state = X_RUN;
	return 0;
}

/* Takes job into the idle slot x and starts its first attempt. */
int
fetch_xfer_begin(struct run *run, struct xfer *x, struct fetch_job *job,
    struct merr *err)
{
	int rc;

	x->job = job;
	x->url = job->url;
	x->on_fallback = false;
	x->attempts = 0;
	x->r.max = job->size;
	if (job->behind && job->on_write == NULL &&
	    job->size <= STORE_BEHIND_MAX)
		store_blob_begin_behind(run->store, job->size, &run->batch,
		    &x->w);
	else if ((rc = store_blob_begin(run->store, job->size, &x->w,
	    err)) != 0) {
		merr_prefix(err, "'%s': ", job->url);
		return rc;
	}
	x->have_w = true;
	x->state = X_WAIT;	/* not in the multi until fetch_xfer_start */
	return fetch_xfer_start(run, x, err);
}

/* A transfer of slot x ended with rc: store, retry or fail. */
static int
xfer_done(struct run *run, struct xfer *x, CURLcode rc, struct merr *err)
{
	struct fetch_job *job = x->job;
	char why[CURL_ERROR_SIZE + 64];
	enum outcome o;
	long code;
	int ret;

	curl_multi_remove_handle(run->f->multi, x->easy);
	x->state = X_WAIT;	/* until decided below */
	if (x->r.too_long[0] != '\0')
		return merr_set(err, MERR_LIMIT, "'%s': Content-Length %s, "
		    "larger than %llu bytes", x->url, x->r.too_long,
		    (unsigned long long)job->size);
	if (x->werr_set) {
		if (x->werr.code == MERR_LIMIT)
			return merr_set(err, MERR_LIMIT,
			    "'%s': larger than %llu bytes", x->url,
			    (unsigned long long)job->size);
		merr_prefix(&x->werr, "'%s': ", x->url);
		*err = x->werr;
		return x->werr.code;
	}
	if (x->restart) {
		if (fetch_xfer_rewind(x, err) < 0)
			return merr_prefix(err, "'%s': ", x->url);
		return fetch_xfer_retry(run, x, 0, "unexpected Content-Range",
		    err);
	}
	o = fetch_classify(run->f, x->easy, rc, &x->body, &x->r, x->errbuf,
	    &code, why, sizeof(why));
	if (code == 416 && x->range_from > 0) {
		/* Our Range is past the end: start over, whole. */
		if (fetch_xfer_rewind(x, err) < 0)
			return merr_prefix(err, "'%s': ", x->url);
		return fetch_xfer_retry(run, x, 0, "HTTP 416", err);
	}
	switch (o) {
	case O_BODY:
		/* An empty 200 to a ranged request: nothing was rewound yet. */
		if (code == 200 && !x->body.checked && x->w.size > 0 &&
		    fetch_xfer_rewind(x, err) < 0)
			return merr_prefix(err, "'%s': ", x->url);
		x->have_w = false;
		ret = store_blob_finish(&x->w, job->hash, job->size, err);
		if (ret) {
			merr_prefix(err, "'%s': ", x->url);
			return ret;
		}
		run->files_done++;
		run->bytes_done += job->size;
		fetch_xfer_release(run, x, 0);
		return 0;
	case O_ABSENT:
		if (!x->on_fallback && job->fallback != NULL) {
			if (x->w.size > 0 && fetch_xfer_rewind(x, err) < 0)
				return merr_prefix(err, "'%s': ", x->url);
			x->url = job->fallback;
			x->on_fallback = true;
			x->attempts = 0;
			return fetch_xfer_retry(run, x, 0, "", err);
		}
		if (!job->optional)
			return merr_set(err, MERR_NOTFOUND,
			    "'%s': not found%s%s%s", job->url,
			    x->on_fallback ? " (nor '" : "",
			    x->on_fallback ? x->url : "",
			    x->on_fallback ? "')" : "");
		run->files_done++;
		fetch_xfer_release(run, x, 1);
		return 0;
	case O_RETRY:
		return fetch_xfer_retry(run, x, fetch_backoff_ms(
		    run->f->opts.backoff_ms, x->attempts,
		    x->r.retry_after), why, err);
	case O_NOTMOD:
		snprintf(why, sizeof(why), "HTTP %ld", code);
		/* FALLTHROUGH */
	case O_FAIL:
		break;
	}
	return merr_set(err, MERR_NET, "'%s': %s", x->url, why);
}

/* Lets curl work, then settles every transfer that ended. */
static int
run_perform(struct run *run, struct merr *err)
{
	struct fetch *f = run->f;
	struct xfer *x;
	CURLMsg *msg;
	CURLMcode mrc;
	int running, left, ret;

	mrc = curl_multi_perform(f->multi, &running);
	if (mrc != CURLM_OK)
		return merr_set(err, MERR_NET, "curl: %s",
		    curl_multi_strerror(mrc));
	for (;;) {
		CURL *easy;
		CURLcode rc;
		char *priv = NULL;

		msg = curl_multi_info_read(f->multi, &left);
		if (msg == NULL)
			return 0;
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* Copied: msg dies with curl_multi_remove_handle(). */
		easy = msg->easy_handle;
		rc = msg->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		x = (struct xfer *)(void *)priv;
		ret = xfer_done(run, x, rc, err);
		if (ret) {
			run->failed = x->job;
			return ret;
		}
	}
}

/* Sleeps until there is traffic or a retry is due. */
static int
run_wait(struct run *run, uint64_t now, struct merr *err)
{
	struct fetch *f = run->f;
	uint64_t wake;
	unsigned k;
	CURLMcode mrc;

	wake = now + (f->cancel != NULL ? FETCH_CANCEL_POLL_MS : POLL_MS);
	for (k = 0; k < f->opts.connections; k++) {
		struct xfer *x = &f->slots[k];

		if (x->state == X_WAIT && x->not_before < wake)
			wake = x->not_before;
	}
	mrc = curl_multi_poll(f->multi, NULL, 0,
	    wake > now ? (int)(wake - now) : 0, NULL);
	if (mrc != CURLM_OK)
		return merr_set(err, MERR_NET, "curl: %s",
		    curl_multi_strerror(mrc));
	return 0;
}

/* Drops the transfers in flight and their temp files (after an error). */
static void
run_end(struct run *run)
{
	struct fetch *f = run->f;
	unsigned k;

	for (k = 0; k < f->opts.connections; k++) {
		struct xfer *x = &f->slots[k];

		if (x->state == X_RUN)
			curl_multi_remove_handle(f->multi, x->easy);
		if (x->have_w)
			store_blob_abort(&x->w);
		x->have_w = false;
		x->state = X_IDLE;
		x->job = NULL;
		curl_easy_setopt(x->easy, CURLOPT_RANGE, NULL);
	}
}

/*
 * Waits for the files written behind; the first that failed fails its
 * job, if nothing failed before (ret).
 */
static int
batch_end(struct run *run, int ret, struct merr *err)
{
	struct merr werr = { 0 };
	size_t i;
	int rc = store_batch_wait(run->store, &run->batch, &werr);
	bool named = rc == 0 || ret != 0;

	/* Not stored after all: neither failed nor dropped files. */
	for (i = 0; run->batch.nfailed > 0 && i < run->njobs; i++) {
		struct fetch_job *job = &run->jobs[i];

		if (job->status != 0 ||
		    !store_batch_failed(&run->batch, job->hash))
			continue;
		job->status = rc ? rc : MERR_CANCEL;
		if (!named && memcmp(job->hash, run->batch.first,
		    HASH_LEN) == 0) {
			run->failed = job;
			merr_prefix(&werr, "'%s': ", job->url);
			named = true;
		}
	}
	store_batch_release(&run->batch);
	if (rc == 0 || ret != 0)
		return ret;
	*err = werr;
	return rc;
}

int
fetch_to_store(struct fetch *f, struct store *s, struct fetch_job *jobs,
    size_t njobs, fetch_progress_fn progress, void *ctx, struct merr *err)
{
	struct run run = { .f = f, .store = s, .jobs = jobs, .njobs = njobs };
	struct merr local;
	uint64_t now, last_progress = 0;
	size_t i;
	unsigned k, busy;
	int ret = 0;

	if (err == NULL)
		err = &local;
	/* Until stored or found absent, a job has not succeeded. */
	for (i = 0; i < njobs; i++)
		jobs[i].status = MERR_NET;
	for (k = 0; k < f->opts.connections; k++) {
		f->slots[k].state = X_IDLE;
		f->slots[k].have_w = false;
		f->slots[k].job = NULL;
	}
	for (;;) {
		if (fetch_cancelled(f)) {
			ret = merr_set(err, MERR_CANCEL,
			    "transfers cancelled");
			break;
		}
		ret = fetch_run_fill(&run, &busy, err);
		if (ret || busy == 0)
			break;
		ret = run_perform(&run, err);
		if (ret)
			break;
		now = (uint64_t)mono_ms();
		if (progress != NULL && now - last_progress >= PROGRESS_MS) {
			fetch_run_progress(&run, progress, ctx);
			last_progress = now;
		}
		if (run.kick)
			continue;
		ret = run_wait(&run, now, err);
		if (ret)
			break;
	}
	run_end(&run);
	if (ret)
		atomic_store(&run.batch.cancel, true);
	ret = batch_end(&run, ret, err);
	if (run.failed != NULL)
		run.failed->status = ret;
	if (progress != NULL)
		fetch_run_progress(&run, progress, ctx);
	return ret;
}
