/*
 * s3.c: blobs in an S3-compatible object store (see s3.h). No libcurl
 * here: requests go through fetch_request(), signed by the fetch that
 * s3_fetch_new() made; the XML is read by s3xml.c.
 *
 * Path-style URLs, ENDPOINT/BUCKET/KEY, so that any endpoint works
 * without wildcard DNS. Query strings are written with their parameters
 * already in SigV4's canonical order and encoding: libcurl 7.88 signs the
 * query as it is given.
 */
#include "mirrord/common.h"

#include <sys/stat.h>
#include <time.h>

#include "mirrord/s3.h"
#include "mirrord/s3xml.h"
#include "mirrord/util.h"

#define MIB			(1024 * 1024ULL)
#define DEF_THRESHOLD		(64 * MIB)
#define DEF_PART		(16 * MIB)
#define MIN_PART		(5 * MIB)	/* S3's least part */
#define MAX_PARTS		10000		/* S3's most parts */
#define DEF_LIST_PAGE		1000
#define ANSWER_MAX		(64 * 1024)	/* a small answer's bytes */
#define LIST_MAX		(8 * MIB)	/* a listing page's bytes */
#define CRED_MAX		(64 * 1024)
#define PRESIGN_MAX		604800		/* 7 days: SigV4's limit */

struct s3 {
	char *name;		/* "s3://BUCKET[/PREFIX]" */
	char *bucket;
	char *prefix;		/* "" or "PREFIX/" */
	char *endpoint;		/* "http(s)://host[:port]" */
	char *host;		/* "host[:port]", the signed Host */
	char *region;
	char *akid, *secret, *token;	/* token may be NULL */
	uint64_t threshold, part_size;
	unsigned list_page;
};

static bool
is_unreserved(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

/* SigV4's URI encoding of s into b ('/' kept if slash). */
static void
uri_encode(struct buf *b, const char *s, bool slash)
{
	for (; *s != '\0'; s++) {
		if (is_unreserved((unsigned char)*s) || (slash && *s == '/'))
			buf_addc(b, *s);
		else
			buf_addf(b, "%%%02X", (unsigned char)*s);
	}
}

/* 3 to 63 of [a-z0-9.-], starting and ending with a letter or digit. */
static bool
bucket_ok(const char *s, size_t n)
{
	size_t i;

	if (n < 3 || n > 63 || s[0] == '.' || s[0] == '-' ||
	    s[n - 1] == '.' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '-'))
			return false;
	return true;
}

/* Unreserved characters in '/'-separated non-empty segments. */
static bool
prefix_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 512 || s[0] == '/' || strstr(s, "//") != NULL)
		return false;
	for (i = 0; i < n; i++)
		if (!is_unreserved((unsigned char)s[i]) && s[i] != '/')
			return false;
	return true;
}

/* "s3://BUCKET[/PREFIX[/]]" into s3's bucket, prefix and name. */
static int
parse_url(struct s3 *s3, const char *url, struct merr *err)
{
	const char *b, *slash;
	char *p;
	size_t n;

	if (url == NULL || strncmp(url, "s3://", 5) != 0)
		goto bad;
	b = url + 5;
	slash = strchr(b, '/');
	n = slash != NULL ? (size_t)(slash - b) : strlen(b);
	if (!bucket_ok(b, n))
		goto bad;
	s3->bucket = xstrndup(b, n);
	p = xstrdup(slash != NULL ? slash + 1 : "");
	while (*p != '\0' && p[strlen(p) - 1] == '/')
		p[strlen(p) - 1] = '\0';
	if (*p != '\0' && !prefix_ok(p)) {
		free(p);
		goto bad;
	}
	s3->name = *p != '\0' ? xasprintf("s3://%s/%s", s3->bucket, p) :
	    xasprintf("s3://%s", s3->bucket);
	s3->prefix = *p != '\0' ? xasprintf("%s/", p) : xstrdup("");
	free(p);
	return 0;
bad:
	return merr_set(err, MERR_CONF, "s3: url '%s' is not "
	    "s3://BUCKET[/PREFIX] (a bucket of 3 to 63 of a-z 0-9 . -, a "
	    "prefix of letters, digits, - _ . ~ and /)",
	    url != NULL ? url : "");
}

/* The endpoint: "http(s)://host[:port][/]", or AWS's for the region. */
static int
parse_endpoint(struct s3 *s3, const char *ep, struct merr *err)
{
	const char *h;
	size_t n, i;

	if (ep == NULL) {
		s3->endpoint = xasprintf("https://s3.%s.amazonaws.com",
		    s3->region);
		s3->host = xstrdup(s3->endpoint + 8);
		return 0;
	}
	if (strncmp(ep, "http://", 7) == 0)
		h = ep + 7;
	else if (strncmp(ep, "https://", 8) == 0)
		h = ep + 8;
	else
		goto bad;
	n = strlen(h);
	if (n > 0 && h[n - 1] == '/')
		n--;
	if (n == 0 || n > 255)
		goto bad;
	for (i = 0; i < n; i++)
		if (!(is_unreserved((unsigned char)h[i]) || h[i] == ':' ||
		    h[i] == '[' || h[i] == ']'))
			goto bad;
	s3->host = xstrndup(h, n);
	s3->endpoint = xstrndup(ep, (size_t)(h - ep) + n);
	return 0;
bad:
	return merr_set(err, MERR_CONF, "s3: endpoint '%s' is not "
	    "http(s)://HOST[:PORT]", ep);
}

/* One "key = value" of the [default] profile, if it is one we want. */
static void
cred_line(struct s3 *s3, char *line)
{
	char *eq = strchr(line, '='), *k = line, *v, *e;
	char **dst = NULL;

	if (eq == NULL)
		return;
	*eq = '\0';
	v = eq + 1;
	while (*k == ' ' || *k == '\t')
		k++;
	for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
		e[-1] = '\0';
	while (*v == ' ' || *v == '\t')
		v++;
	for (e = v + strlen(v); e > v && strchr(" \t\r", e[-1]); e--)
		e[-1] = '\0';
	if (strcmp(k, "aws_access_key_id") == 0)
		dst = &s3->akid;
	else if (strcmp(k, "aws_secret_access_key") == 0)
		dst = &s3->secret;
	else if (strcmp(k, "aws_session_token") == 0)
		dst = &s3->token;
	if (dst != NULL) {
		free(*dst);
		*dst = xstrdup(v);
	}
}

/* The AWS shared credentials file's [default] profile; mode 0600. */
static int
read_credentials(struct s3 *s3, const char *path, struct merr *err)
{
	struct stat st;
	char *text, *line, *save = NULL;
	bool in_default = false;
	size_t len;
	int rc;

	if (stat(path, &st) < 0)
		return merr_set(err, MERR_CONF, "s3: credentials '%s': %s",
		    path, strerror(errno));
	if ((st.st_mode & 077) != 0)
		return merr_set(err, MERR_CONF, "s3: credentials '%s': mode "
		    "%04o lets others read it (chmod 600)", path,
		    (unsigned)(st.st_mode & 07777));
	rc = read_file(path, CRED_MAX, &text, &len, err);
	if (rc)
		return merr_set(err, MERR_CONF, "s3: credentials '%s' "
		    "cannot be read", path);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '#' || *line == ';' || *line == '\0')
			continue;
		if (*line == '[')
			in_default = strncmp(line, "[default]", 9) == 0;
		else if (in_default)
			cred_line(s3, line);
	}
	explicit_bzero(text, len);
	free(text);
	return 0;
}

/* The credentials: the file, or the environment's AWS_* variables. */
static int
get_credentials(struct s3 *s3, const char *path, struct merr *err)
{
	const char *v;
	int rc;

	if (path != NULL) {
		rc = read_credentials(s3, path, err);
		if (rc)
			return rc;
	} else {
		if ((v = getenv("AWS_ACCESS_KEY_ID")) != NULL && *v != '\0')
			s3->akid = xstrdup(v);
		if ((v = getenv("AWS_SECRET_ACCESS_KEY")) != NULL &&
		    *v != '\0')
			s3->secret = xstrdup(v);
		if ((v = getenv("AWS_SESSION_TOKEN")) != NULL && *v != '\0')
			s3->token = xstrdup(v);
	}
	if (s3->akid == NULL || s3->akid[0] == '\0' || s3->secret == NULL ||
	    s3->secret[0] == '\0')
		return merr_set(err, MERR_CONF, "s3: credentials: no "
		    "aws_access_key_id and aws_secret_access_key in %s%s%s",
		    path != NULL ? "'" : "", path != NULL ? path :
		    "the environment (AWS_ACCESS_KEY_ID, "
		    "AWS_SECRET_ACCESS_KEY)", path != NULL ? "'s [default]" :
		    "");
	return 0;
}

static bool
region_ok(const char *r)
{
	size_t i, n = strlen(r);

	if (n == 0 || n > 32)
		return false;
	for (i = 0; i < n; i++)
		if (!((r[i] >= 'a' && r[i] <= 'z') ||
		    (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
			return false;
	return true;
}

int
s3_new(const struct s3_opts *opts, struct s3 **out, struct merr *err)
{
	struct s3 *s3 = xcalloc(1, sizeof(*s3));
	int rc;

	*out = NULL;
	s3->region = xstrdup(opts->region != NULL ? opts->region :
	    "us-east-1");
	s3->threshold = opts->multipart_threshold != 0 ?
	    opts->multipart_threshold : DEF_THRESHOLD;
	s3->part_size = opts->part_size != 0 ? opts->part_size : DEF_PART;
	s3->list_page = opts->list_page != 0 && opts->list_page <= 1000 ?
	    opts->list_page : DEF_LIST_PAGE;
	if (!region_ok(s3->region))
		rc = merr_set(err, MERR_CONF, "s3: region '%s' is not "
		    "a region name (a-z, 0-9, -)", s3->region);
	else if (s3->part_size < MIN_PART)
		rc = merr_set(err, MERR_CONF, "s3: part size %llu is under "
		    "S3's least, 5 MiB", (unsigned long long)s3->part_size);
	else if ((rc = parse_url(s3, opts->url, err)) == 0 &&
	    (rc = parse_endpoint(s3, opts->endpoint, err)) == 0)
		rc = get_credentials(s3, opts->credentials, err);
	if (rc) {
		s3_free(s3);
		return rc;
	}
	*out = s3;
	return 0;
}

void
s3_free(struct s3 *s3)
{
	if (s3 == NULL)
		return;
	if (s3->secret != NULL)
		explicit_bzero(s3->secret, strlen(s3->secret));
	free(s3->name);
	free(s3->bucket);
	free(s3->prefix);
	free(s3->endpoint);
	free(s3->host);
	free(s3->region);
	free(s3->akid);
	free(s3->secret);
	free(s3->token);
	free(s3);
}

const char *
s3_name(const struct s3 *s3)
{
	return s3->name;
}

int
s3_fetch_new(const struct s3 *s3, const struct fetch_opts *fo,
    struct fetch **out, struct merr *err)
{
	struct fetch_sigv4 sig = { s3->region, s3->akid, s3->secret,
	    s3->token };
	int rc;

	rc = fetch_new(fo, out, err);
	if (rc)
		return rc;
	rc = fetch_set_sigv4(*out, &sig, err);
	if (rc) {
		fetch_free(*out);
		*out = NULL;
	}
	return rc;
}

/* "[PREFIX/]blobs/ab/<hex>" into key. */
static void
blob_key(const struct s3 *s3, const unsigned char h[HASH_LEN],
    struct buf *key)
{
	char hex[HASH_HEX_LEN + 1];

	hash_to_hex(h, hex);
	buf_addf(key, "%sblobs/%.2s/%s", s3->prefix, hex, hex);
}

/* ENDPOINT/BUCKET/KEY[?QUERY] of blob h, owned; its key into key. */
static char *
blob_url_q(const struct s3 *s3, const unsigned char h[HASH_LEN],
    const char *query, struct buf *key)
{
	struct buf u = BUF_INIT;

	blob_key(s3, h, key);
	buf_addf(&u, "%s/%s/", s3->endpoint, s3->bucket);
	buf_addc(key, '\0');
	key->len--;
	uri_encode(&u, key->p, true);
	if (query != NULL)
		buf_addf(&u, "?%s", query);
	return buf_detach(&u, NULL);
}

char *
s3_blob_url(const struct s3 *s3, const unsigned char h[HASH_LEN])
{
	struct buf key = BUF_INIT;
	char *u = blob_url_q(s3, h, NULL, &key);

	buf_release(&key);
	return u;
}

/*
 * An answer that is not the one hoped for, as MERR_NET: "s3 put
 * 'KEY': HTTP 403 SignatureDoesNotMatch: message" (the store's Error
 * document, when there is one).
 */
static int
s3_fail(const char *op, const char *key, const struct fetch_res *res,
    struct merr *err)
{
	struct s3xml_error e;

	if (res->data != NULL && s3xml_error(res->data, res->len, &e))
		return merr_set(err, MERR_NET, "s3 %s '%s': HTTP %d %s: %s",
		    op, key, res->status, e.code, e.message);
	return merr_set(err, MERR_NET, "s3 %s '%s': HTTP %d", op, key,
	    res->status);
}

/* One request on blob h's object with query q; *res to release. */
static int
s3_req(struct s3 *s3, struct fetch *f, const unsigned char h[HASH_LEN],
    const char *op, struct fetch_req *rq, const char *q,
    struct fetch_res *res, struct buf *key, struct merr *err)
{
	char *url = blob_url_q(s3, h, q, key);
	int rc;

	rq->url = url;
	if (rq->max == 0)
		rq->max = ANSWER_MAX;
	rc = fetch_request(f, rq, res, err);
	if (rc)
		merr_prefix(err, "s3 %s '%s': ", op, key->p);
	free(url);
	return rc;
}

/* Part n (from 1) of a multipart upload; its ETag appended to etags. */
static int
put_part(struct s3 *s3, struct fetch *f, const unsigned char h[HASH_LEN],
    const char *qid, int fd, uint64_t off, uint64_t len, unsigned n,
    struct buf *etags, struct merr *err)
{
	struct fetch_req rq = { .method = "PUT", .has_fd = true, .fd = fd,
	    .off = off, .len = len };
	struct fetch_res res;
	struct buf key = BUF_INIT;
	char *q = xasprintf("partNumber=%u&uploadId=%s", n, qid);
	int rc;

	rc = s3_req(s3, f, h, "put part", &rq, q, &res, &key, err);
	if (rc == 0 && (res.status != 200 || res.etag == NULL))
		rc = s3_fail("put part", key.p, &res, err);
	if (rc == 0) {
		buf_addf(etags, "<Part><PartNumber>%u</PartNumber><ETag>", n);
		/* An ETag is quoted hex; refuse what would need escaping. */
		if (strpbrk(res.etag, "<>&") != NULL)
			rc = merr_set(err, MERR_NET, "s3 put part '%s': odd "
			    "ETag", key.p);
		buf_addf(etags, "%s</ETag></Part>", res.etag);
	}
	fetch_res_release(&res);
	buf_release(&key);
	free(q);
	return rc;
}

/* The parts, then the completion naming them: 0 or the first error. */
static int
put_parts(struct s3 *s3, struct fetch *f, const unsigned char h[HASH_LEN],
    const char *qid, int fd, uint64_t size, struct merr *err)
{
	struct buf body = BUF_INIT, key = BUF_INIT;
	struct fetch_req rq = { .method = "POST" };
	struct fetch_res res;
	struct s3xml_error e;
	uint64_t part = s3->part_size, off;
	unsigned n;
	char *q;
	int rc = 0;

	while (size / part >= MAX_PARTS)
		part *= 2;
	buf_adds(&body, "<CompleteMultipartUpload>");
	for (n = 1, off = 0; off < size && rc == 0; n++, off += part)
		rc = put_part(s3, f, h, qid, fd, off, size - off < part ?
		    size - off : part, n, &body, err);
	buf_adds(&body, "</CompleteMultipartUpload>");
	if (rc == 0) {
		rq.data = body.p;
		rq.len = body.len;
		q = xasprintf("uploadId=%s", qid);
		rc = s3_req(s3, f, h, "complete", &rq, q, &res, &key, err);
		/* S3 may say 200 and then an Error in the body. */
		if (rc == 0 && (res.status != 200 || (res.data != NULL &&
		    s3xml_error(res.data, res.len, &e))))
			rc = s3_fail("complete", key.p, &res, err);
		fetch_res_release(&res);
		free(q);
	}
	buf_release(&body);
	buf_release(&key);
	return rc;
}

/*
 * Aborts an upload, so that no part is left behind (parts cost storage
 * and are invisible to listings). Made even after a cancel, once (no
 * retry, so a cancel waits at most one request's timeouts): a cancel is
 * what most often ends an upload early. If it fails, the bucket's
 * AbortIncompleteMultipartUpload lifecycle rule is the net.
 */
static void
put_abort(struct s3 *s3, struct fetch *f, const unsigned char h[HASH_LEN],
    const char *qid)
{
	struct fetch_req rq = { .method = "DELETE", .once = true };
	const atomic_bool *cancel = fetch_get_cancel(f);
	struct buf key = BUF_INIT;
	struct fetch_res res;
	struct merr ignored;
	char *q = xasprintf("uploadId=%s", qid);

	fetch_set_cancel(f, NULL);
	if (s3_req(s3, f, h, "abort", &rq, q, &res, &key, &ignored) == 0)
		fetch_res_release(&res);
	fetch_set_cancel(f, cancel);
	buf_release(&key);
	free(q);
}

/* POST ?uploads, the parts, the completion; aborted on failure. */
static int
put_multipart(struct s3 *s3, struct fetch *f,
    const unsigned char h[HASH_LEN], int fd, uint64_t size,
    struct merr *err)
{
	struct fetch_req rq = { .method = "POST", .data = "" };
	struct fetch_res res;
	struct buf key = BUF_INIT, qid = BUF_INIT;
	char *id = NULL;
	int rc;

	rc = s3_req(s3, f, h, "start upload", &rq, "uploads=", &res, &key,
	    err);
	if (rc == 0 && res.status != 200)
		rc = s3_fail("start upload", key.p, &res, err);
	if (rc == 0 && (rc = s3xml_upload_id(res.data, res.len, &id, err)))
		merr_prefix(err, "s3 start upload '%s': ", key.p);
	fetch_res_release(&res);
	if (rc == 0) {
		uri_encode(&qid, id, false);
		buf_addc(&qid, '\0');
		rc = put_parts(s3, f, h, qid.p, fd, size, err);
		if (rc)
			put_abort(s3, f, h, qid.p);
	}
	free(id);
	buf_release(&qid);
	buf_release(&key);
	return rc;
}

int
s3_put_fd(struct s3 *s3, struct fetch *f, const unsigned char h[HASH_LEN],
    int fd, uint64_t size, struct merr *err)
{
	struct fetch_req rq = { .method = "PUT", .has_fd = true, .fd = fd,
	    .len = size, .sha256 = h };
	struct fetch_res res;
	struct buf key = BUF_INIT;
	int rc;

	if (size > s3->threshold)
		return put_multipart(s3, f, h, fd, size, err);
	rc = s3_req(s3, f, h, "put", &rq, NULL, &res, &key, err);
	if (rc == 0 && res.status != 200)
		rc = s3_fail("put", key.p, &res, err);
	fetch_res_release(&res);
	buf_release(&key);
	return rc;
}

int
s3_stat(struct s3 *s3, struct fetch *f, const unsigned char h[HASH_LEN],
    uint64_t *size, struct merr *err)
{
	struct fetch_req rq = { .method = "HEAD" };
	struct fetch_res res;
	struct buf key = BUF_INIT;
	int rc;

	rc = s3_req(s3, f, h, "stat", &rq, NULL, &res, &key, err);
	if (rc == 0 && res.status == 404)
		rc = merr_set(err, MERR_NOTFOUND, "s3 '%s': not found", key.p);
	else if (rc == 0 && res.status != 200)
		rc = s3_fail("stat", key.p, &res, err);
	else if (rc == 0 && res.length < 0)
		rc = merr_set(err, MERR_NET, "s3 stat '%s': no "
		    "Content-Length", key.p);
	else if (rc == 0)
		*size = (uint64_t)res.length;
	fetch_res_release(&res);
	buf_release(&key);
	return rc;
}

int
s3_delete(struct s3 *s3, struct fetch *f, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	struct fetch_req rq = { .method = "DELETE" };
	struct fetch_res res;
	struct buf key = BUF_INIT;
	int rc;

	rc = s3_req(s3, f, h, "delete", &rq, NULL, &res, &key, err);
	if (rc == 0 && res.status != 204 && res.status != 200 &&
	    res.status != 404)
		rc = s3_fail("delete", key.p, &res, err);
	fetch_res_release(&res);
	buf_release(&key);
	return rc;
}

/* s3_list(): the caller's function and what keys are relative to. */
struct listing {
	const struct s3 *s3;
	s3_list_fn fn;
	void *ctx;
};

/* "2026-12-07T03:59:20.000Z" as unix seconds; 0 if it is not that. */
static int64_t
parse_iso8601(const char *s)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n == 0)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

static int
list_one(void *arg, const char *key, uint64_t size, const char *lm,
    struct merr *err)
{
	struct listing *l = arg;
	size_t pl = strlen(l->s3->prefix);
	unsigned char h[HASH_LEN];
	const char *rel = key;
	bool is_blob;

	if (strncmp(key, l->s3->prefix, pl) == 0)
		rel = key + pl;
	/* "blobs/ab/<64 hex>" whose ab is its hash's first two digits. */
	is_blob = strlen(rel) == 9 + HASH_HEX_LEN &&
	    strncmp(rel, "blobs/", 6) == 0 && rel[8] == '/' &&
	    strncmp(rel + 6, rel + 9, 2) == 0 &&
	    hash_from_hex(rel + 9, HASH_HEX_LEN, h) == 0;
	if (is_blob) {
		char hex[HASH_HEX_LEN + 1];

		hash_to_hex(h, hex);
		is_blob = strcmp(hex, rel + 9) == 0;	/* lowercase only */
	}
	return l->fn(l->ctx, rel, is_blob ? h : NULL, size,
	    parse_iso8601(lm), err);
}

int
s3_list(struct s3 *s3, struct fetch *f, s3_list_fn fn, void *ctx,
    struct merr *err)
{
	struct listing l = { s3, fn, ctx };
	struct s3xml_page page = { false, NULL };
	struct fetch_req rq = { .method = "GET", .max = LIST_MAX };
	struct fetch_res res;
	struct buf url = BUF_INIT, pfx = BUF_INIT;
	int rc;

	buf_addf(&pfx, "%sblobs/", s3->prefix);
	buf_addc(&pfx, '\0');
	do {
		buf_reset(&url);
		buf_addf(&url, "%s/%s?", s3->endpoint, s3->bucket);
		if (page.next_token != NULL) {
			buf_adds(&url, "continuation-token=");
			uri_encode(&url, page.next_token, false);
			buf_addc(&url, '&');
		}
		buf_addf(&url, "list-type=2&max-keys=%u&prefix=",
		    s3->list_page);
		uri_encode(&url, pfx.p, false);
		buf_addc(&url, '\0');
		s3xml_page_release(&page);
		rq.url = url.p;
		rc = fetch_request(f, &rq, &res, err);
		if (rc)
			merr_prefix(err, "s3 list '%s': ", s3->name);
		else if (res.status != 200)
			rc = s3_fail("list", s3->name, &res, err);
		else if ((rc = s3xml_list(res.data != NULL ? res.data : "",
		    res.len, list_one, &l, &page, err)) == MERR_PARSE)
			merr_prefix(err, "s3 list '%s': ", s3->name);
		fetch_res_release(&res);
		if (rc == 0 && page.truncated && page.next_token == NULL)
			rc = merr_set(err, MERR_PARSE, "s3 list '%s': a "
			    "truncated page without a continuation token",
			    s3->name);
	} while (rc == 0 && page.truncated);
	s3xml_page_release(&page);
	buf_release(&url);
	buf_release(&pfx);
	return rc;
}

/* HMAC-SHA256 of the string s under key. */
static void
hmac_s(const unsigned char *key, size_t keylen, const char *s,
    unsigned char out[HASH_LEN])
{
	hash_hmac_sha256(key, keylen, s, strlen(s), out);
}

char *
s3_presign(const struct s3 *s3, const unsigned char h[HASH_LEN],
    unsigned expires, int64_t now)
{
	struct buf path = BUF_INIT, q = BUF_INIT, cr = BUF_INIT, key = BUF_INIT;
	unsigned char k[HASH_LEN], k2[HASH_LEN], d[HASH_LEN];
	char date[9], stamp[17], hex[HASH_HEX_LEN + 1], *scope, *sts, *url;
	char *secret;
	time_t t = (time_t)now;
	struct tm tm;

	if (expires < 1)
		expires = 1;
	if (expires > PRESIGN_MAX)
		expires = PRESIGN_MAX;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	scope = xasprintf("%s/%s/s3/aws4_request", date, s3->region);
	blob_key(s3, h, &key);
	buf_addc(&key, '\0');
	buf_addf(&path, "/%s/", s3->bucket);
	uri_encode(&path, key.p, true);
	/* The parameters in canonical (byte) order. */
	buf_adds(&q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
	uri_encode(&q, s3->akid, false);
	buf_adds(&q, "%2F");
	uri_encode(&q, scope, false);
	buf_addf(&q, "&X-Amz-Date=%s&X-Amz-Expires=%u", stamp, expires);
	if (s3->token != NULL) {
		buf_adds(&q, "&X-Amz-Security-Token=");
		uri_encode(&q, s3->token, false);
	}
	buf_adds(&q, "&X-Amz-SignedHeaders=host");
	buf_addc(&path, '\0');
	buf_addc(&q, '\0');
	buf_addf(&cr, "GET\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD",
	    path.p, q.p, s3->host);
	hash_buf(cr.p, cr.len, d);
	hash_to_hex(d, hex);
	sts = xasprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", stamp, scope, hex);
	/* The signing key: the secret through date, region, service. */
	secret = xasprintf("AWS4%s", s3->secret);
	hmac_s((unsigned char *)secret, strlen(secret), date, k);
	explicit_bzero(secret, strlen(secret));
	free(secret);
	hmac_s(k, HASH_LEN, s3->region, k2);
	hmac_s(k2, HASH_LEN, "s3", k);
	hmac_s(k, HASH_LEN, "aws4_request", k2);
	hmac_s(k2, HASH_LEN, sts, d);
	hash_to_hex(d, hex);
	url = xasprintf("%s%s?%s&X-Amz-Signature=%s", s3->endpoint, path.p,
	    q.p, hex);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(k2, sizeof(k2));
	free(scope);
	free(sts);
	buf_release(&path);
	buf_release(&q);
	buf_release(&cr);
	buf_release(&key);
	return url;
}
