/*
 * t_http.c: the HTTP server end to end, in process.
 *
 * Two snapshots are committed by hand into a store under a mkdtemp()
 * directory (blobs written through the store's blob writer), a channel is
 * promoted to the first one with a key made by gpg_signer_new(), and the
 * server is started on 127.0.0.1 with an ephemeral port (http_start).
 * libcurl then checks the answers: bodies, validators, ranges,
 * conditionals, routes under each kind of ref, listings, errors, metrics,
 * keep-alive, pipelining, the access log and shutdown.
 */
#include "mirrord/common.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "mirrord/channel.h"
#include "mirrord/gpg.h"
#include "mirrord/hash.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "serve/http.h"
#include "serve/respond.h"
#include "serve/route.h"
#include "serve/serve.h"
#include "tap.h"

#define MIRROR "demo"
#define DEB1 "pool/main/h/hello/hello_1.0_amd64.deb"
#define DEB2 "pool/main/h/hello/hello_2.0_amd64.deb"
#define PKGS "main/binary-amd64/Packages.xz"
#define WEIRD "main/i18n/x<b>&\"y"

static char root[64];
static unsigned port;
static CURL *curl;

/* --- helpers ------------------------------------------------------------ */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static char *
path_of(const char *name)
{
	return xasprintf("%s/%s", root, name);
}

static void
put_blob(struct store *s, const void *data, size_t len,
    unsigned char h[HASH_LEN])
{
	struct blob_writer w;
	struct merr err = { 0, "" };

	hash_buf(data, len, h);
	if (store_blob_begin(s, len, &w, &err) ||
	    store_blob_write(&w, data, len, &err) ||
	    store_blob_finish(&w, h, len, &err)) {
		printf("# put_blob: %s\n", err.msg);
		abort();
	}
}

static void
add_file(struct store *s, struct snap_suite *su, const char *path,
    const char *content)
{
	unsigned char h[HASH_LEN];

	put_blob(s, content, strlen(content), h);
	snap_suite_add_file(su, path, h, strlen(content));
}

static void
hex_of(const char *content, size_t len, char hex[HASH_HEX_LEN + 1])
{
	unsigned char h[HASH_LEN];

	hash_buf(content, len, h);
	hash_to_hex(h, hex);
}

/* Commits a snapshot of one suite "stable"; returns its ID and time. */
static void
commit(struct store *s, const char *pkgs, const char *add_deb,
    const char *add_data, size_t add_len, const char *drop_deb,
    const char *drop_data, size_t drop_len, char id[SNAP_ID_LEN + 1],
    int64_t *time_out)
{
	struct snap sn;
	struct snap_suite *su;
	struct snap_delta *d = snap_delta_new();
	unsigned char h[HASH_LEN];
	struct merr err = { 0, "" };

	memset(&sn, 0, sizeof(sn));
	sn.suites = xcalloc(1, sizeof(*sn.suites));
	sn.nsuites = 1;
	su = &sn.suites[0];
	su->name = xstrdup("stable");
	su->date_str = xstrdup("Sat, 01 Jun 2024 12:00:00 UTC");
	su->date = 1717243200;
	add_file(s, su, "Release", "Origin: Test\nSuite: stable\n"
	    "Date: Sat, 01 Jun 2024 12:00:00 UTC\n");
	add_file(s, su, "InRelease", "upstream inrelease\n");
	add_file(s, su, PKGS, pkgs);
	add_file(s, su, WEIRD, "weird\n");
	add_file(s, su, "main/empty", "");
	if (add_deb) {
		put_blob(s, add_data, add_len, h);
		snap_delta_add(d, add_deb, strlen(add_deb), h, add_len, 1);
	}
	if (drop_deb) {
		put_blob(s, drop_data, drop_len, h);
		snap_delta_add(d, drop_deb, strlen(drop_deb), h, drop_len, -1);
	}
	if (store_sync(s, &err) || snap_commit(s, MIRROR, &sn, d, NULL,
	    &err)) {
		printf("# commit: %s\n", err.msg);
		abort();
	}
	memcpy(id, sn.id, SNAP_ID_LEN + 1);
	*time_out = sn.time;
	snap_release(&sn);
	snap_delta_free(d);
}

/* One HTTP exchange's outcome. */
struct resp {
	long code;
	struct buf body;
	struct buf hdrs;
	long connects;
	char hv[512];	/* the last header value asked for */
};

static size_t
on_body(char *p, size_t size, size_t n, void *ctx)
{
	buf_add(ctx, p, size * n);
	return size * n;
}

/*
 * Fetches path with method (GET, HEAD, POST) and extra headers (NULL
 * terminated); reuses one curl handle, so connections are kept alive.
 */
static void
fetch(const char *method, const char *path, const char *const *hdrs,
    struct resp *r)
{
	struct curl_slist *sl = NULL;
	char *url = xasprintf("http://127.0.0.1:%u%s", port, path);
	CURLcode rc;

	buf_release(&r->body);
	buf_release(&r->hdrs);
	buf_adds(&r->body, "");
	buf_adds(&r->hdrs, "");
	r->code = 0;
	for (; hdrs && *hdrs; hdrs++)
		sl = curl_slist_append(sl, *hdrs);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, sl);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r->hdrs);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "x=1");
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK)
		printf("# curl %s: %s\n", path, curl_easy_strerror(rc));
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->code);
	curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &r->connects);
	curl_slist_free_all(sl);
	free(url);
}

static void
get(const char *path, struct resp *r)
{
	fetch("GET", path, NULL, r);
}

/* The value of header name in r (its last occurrence), or NULL. */
static const char *
hdr(struct resp *r, const char *name)
{
	const char *p = r->hdrs.p, *found = NULL;
	size_t nl = strlen(name);

	while (p && *p) {
		const char *e = strstr(p, "\r\n");

		if (e == NULL)
			break;
		if ((size_t)(e - p) > nl && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':') {
			const char *v = p + nl + 1;

			while (*v == ' ')
				v++;
			snprintf(r->hv, sizeof(r->hv), "%.*s", (int)(e - v), v);
			found = r->hv;
		}
		p = e + 2;
	}
	return found;
}

static bool
body_is(const struct resp *r, const void *want, size_t len)
{
	return r->body.len == len && memcmp(r->body.p, want, len) == 0;
}

static bool
body_has(const struct resp *r, const char *s)
{
	return r->body.p && strstr(r->body.p, s) != NULL;
}

/* The 404s /metrics in r counts, or -1. */
static long
count_404(const struct resp *r)
{
	static const char k[] = "mirrord_http_requests_total{code=\"404\"} ";
	const char *p = r->body.p ? strstr(r->body.p, k) : NULL;

	return p != NULL ? strtol(p + sizeof(k) - 1, NULL, 10) : -1;
}

/* Sends raw bytes on a fresh socket and returns all it gets back. */
static char *
raw_exchange(const char *req, size_t len)
{
	struct sockaddr_in sa;
	struct buf b = BUF_INIT;
	struct timeval tv = { 5, 0 };
	char chunk[4096];
	ssize_t n;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write(fd, req, len) == (ssize_t)len) {
		for (n = read(fd, chunk, sizeof(chunk)); n > 0;
		    n = read(fd, chunk, sizeof(chunk)))
			buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	buf_adds(&b, "");
	return buf_detach(&b, NULL);
}

static unsigned
count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (hay = strstr(hay, needle); hay != NULL;
	    hay = strstr(hay + strlen(needle), needle))
		n++;
	return n;
}

/* --- the fixture ---------------------------------------------------------- */

struct fixture {
	struct store *s;
	struct conf conf;
	struct conf_mirror mirror;
	char id1[SNAP_ID_LEN + 1], id2[SNAP_ID_LEN + 1];
	int64_t t1, t2, moved_at;
	char *deb1, *deb2;
	size_t deblen;		/* deb1's: sent from the descriptor */
	size_t deb2len;		/* deb2's: over 128 KiB, sent mapped */
	char *keyring;
	size_t keyring_len;
	struct gpg_signer *g;
};

static void
fixture_make(struct fixture *f)
{
	struct merr err = { 0, "" };
	struct channel_move_opts mo = { "test@host", 0, NULL, NULL };
	struct store_txn *t;
	struct channel ch;
	char target[SNAP_ID_LEN + 1], *p;
	size_t i;

	memset(f, 0, sizeof(*f));
	f->mirror.name = MIRROR;
	f->conf.mirrors = &f->mirror;
	f->conf.nmirrors = 1;
	f->conf.serve_map_mib = 64;	/* the default */
	f->deblen = 1000;
	f->deb2len = 1500007;
	f->deb1 = xmalloc(f->deblen);
	f->deb2 = xmalloc(f->deb2len);
	for (i = 0; i < f->deblen; i++)
		f->deb1[i] = (char)('a' + i % 26);
	for (i = 0; i < f->deb2len; i++)
		f->deb2[i] = (char)('A' + i % 26 + (i / 4096) % 7);
	p = path_of("store");
	if (store_open(p, true, &f->s, &err) ||
	    store_lock(f->s, "t_http", false, &err)) {
		printf("# store: %s\n", err.msg);
		abort();
	}
	free(p);
	commit(f->s, "PKGS-1\n", DEB1, f->deb1, f->deblen, NULL, NULL, 0,
	    f->id1, &f->t1);
	/* Snapshot 2 drops hello 1.0 and adds hello 2.0. */
	commit(f->s, "PKGS-2\n", DEB2, f->deb2, f->deb2len, DEB1, f->deb1,
	    f->deblen, f->id2, &f->t2);

	p = path_of("signing-key.asc");
	if (gpg_signer_new(p, true, &f->g, &err) ||
	    channel_promote(f->s, f->g, MIRROR, f->id1, "prod", &mo, target,
	    &err) ||
	    gpg_signer_export(f->g, false, &f->keyring, &f->keyring_len,
	    &err)) {
		printf("# channel: %s\n", err.msg);
		abort();
	}
	free(p);
	if (store_txn_begin(f->s, false, &t, &err) ||
	    channel_get(t, MIRROR, "prod", &ch, &err)) {
		printf("# channel_get: %s\n", err.msg);
		abort();
	}
	f->moved_at = ch.moved_at;
	channel_free(&ch);
	store_txn_abort(t);
	p = path_of("keyring.gpg");
	if (write_file_atomic(p, f->keyring, f->keyring_len, 0644, &err))
		abort();
	free(p);
}

/* --- the tests ------------------------------------------------------------ */

static void
test_files(struct fixture *f)
{
	struct resp r = { 0, BUF_INIT, BUF_INIT, 0, "" };
	char hex[HASH_HEX_LEN + 1], etag[80], lm[RESPOND_DATE_LEN], lm2[40];
	char *path, inm[128], ims[128], range[64], ifr[128];
	const char *h[4];

	hex_of(f->deb1, f->deblen, hex);
	snprintf(etag, sizeof(etag), "\"%s\"", hex);
	respond_format_date(f->t1, lm);

	/* A pool file under a snapshot ID. */
	path = xasprintf("/%s/%s/%s", MIRROR, f->id1, DEB1);
	get(path, &r);
	is_int(r.code, 200, "pool file: 200");
	ok(body_is(&r, f->deb1, f->deblen), "pool file: body");
	is_str(hdr(&r, "ETag"), etag, "pool file: ETag is the sha256");
	is_str(hdr(&r, "Last-Modified"), lm, "pool file: snapshot time");
	is_str(hdr(&r, "Cache-Control"), "public, max-age=31536000, immutable",
	    "pool file: immutable");
	is_str(hdr(&r, "Content-Type"), "application/vnd.debian.binary-package",
	    "pool file: deb type");
	is_str(hdr(&r, "Accept-Ranges"), "bytes", "pool file: ranges");
	is_str(hdr(&r, "Content-Length"), "1000", "pool file: length");

	fetch("HEAD", path, NULL, &r);
	is_int(r.code, 200, "HEAD: 200");
	is_int(r.body.len, 0, "HEAD: no body");
	is_str(hdr(&r, "Content-Length"), "1000", "HEAD: length");
	is_str(hdr(&r, "ETag"), etag, "HEAD: ETag");
	is_int(r.connects, 0, "HEAD: the connection was kept alive");

	h[0] = "Range: bytes=10-19";
	h[1] = NULL;
	fetch("GET", path, h, &r);
	is_int(r.code, 206, "range: 206");
	ok(body_is(&r, f->deb1 + 10, 10), "range: the 10 bytes");
	is_str(hdr(&r, "Content-Range"), "bytes 10-19/1000",
	    "range: Content-Range");
	is_str(hdr(&r, "Content-Length"), "10", "range: length");

	h[0] = "Range: bytes=-4";
	fetch("GET", path, h, &r);
	ok(r.code == 206 && body_is(&r, f->deb1 + 996, 4), "suffix range");

	h[0] = "Range: bytes=5000-";
	fetch("GET", path, h, &r);
	is_int(r.code, 416, "range past the end: 416");
	is_str(hdr(&r, "Content-Range"), "bytes */1000",
	    "416: Content-Range names the size");

	h[0] = "Range: bytes=0-1,5-6";
	fetch("GET", path, h, &r);
	ok(r.code == 200 && body_is(&r, f->deb1, f->deblen),
	    "several ranges: the whole file");

	snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
	h[0] = inm;
	fetch("GET", path, h, &r);
	is_int(r.code, 304, "If-None-Match: 304");
	is_int(r.body.len, 0, "304: no body");
	is_str(hdr(&r, "ETag"), etag, "304: ETag");
	/* A shared cache takes its new freshness from the 304's headers. */
	is_str(hdr(&r, "Cache-Control"), "public, max-age=31536000, immutable",
	    "304: Cache-Control");
	is_str(hdr(&r, "Content-Length"), "1000",
	    "304: the length a 200 would have (not 0)");
	get(path, &r);
	ok(r.code == 200 && r.connects == 0 && body_is(&r, f->deb1, f->deblen),
	    "after a 304 the connection carries on");

	h[0] = "If-None-Match: \"other\"";
	fetch("GET", path, h, &r);
	is_int(r.code, 200, "If-None-Match other: 200");

	snprintf(ims, sizeof(ims), "If-Modified-Since: %s", lm);
	h[0] = ims;
	fetch("GET", path, h, &r);
	is_int(r.code, 304, "If-Modified-Since at Last-Modified: 304");
	h[0] = "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT";
	fetch("GET", path, h, &r);
	is_int(r.code, 200, "If-Modified-Since before: 200");
	h[0] = ims;
	h[1] = "If-None-Match: \"other\"";
	h[2] = NULL;
	fetch("GET", path, h, &r);
	is_int(r.code, 200, "If-None-Match present: IMS ignored");

	snprintf(range, sizeof(range), "Range: bytes=100-");
	snprintf(ifr, sizeof(ifr), "If-Range: %s", etag);
	h[0] = range;
	h[1] = ifr;
	fetch("GET", path, h, &r);
	ok(r.code == 206 && body_is(&r, f->deb1 + 100, 900),
	    "If-Range matching: 206");
	h[1] = "If-Range: \"stale\"";
	fetch("GET", path, h, &r);
	ok(r.code == 200 && body_is(&r, f->deb1, f->deblen),
	    "If-Range not matching: 200 with everything");
	snprintf(lm2, sizeof(lm2), "If-Range: %s", lm);
	h[1] = lm2;
	fetch("GET", path, h, &r);
	is_int(r.code, 206, "If-Range date matching: 206");
	h[1] = "If-Range: Sun, 06 Nov 1994 08:49:37 GMT";
	fetch("GET", path, h, &r);
	is_int(r.code, 200, "If-Range old date: 200");
	free(path);

	/* The pool under moving refs. */
	path = xasprintf("/%s/latest/%s", MIRROR, DEB1);
	get(path, &r);
	is_int(r.code, 404, "hello 1.0 is not in the latest snapshot");
	free(path);
	path = xasprintf("/%s/latest/%s", MIRROR, DEB2);
	get(path, &r);
	ok(r.code == 200 && body_is(&r, f->deb2, f->deb2len),
	    "hello 2.0 is in the latest snapshot");
	is_str(hdr(&r, "Cache-Control"), "public, max-age=31536000, immutable",
	    "pool under latest: immutable");
	free(path);
	path = xasprintf("/%s/%s/%s", MIRROR, f->id1, DEB2);
	get(path, &r);
	is_int(r.code, 404, "hello 2.0 is not in snapshot 1");
	free(path);
	path = xasprintf("/%s/prod/%s", MIRROR, DEB1);
	get(path, &r);
	is_int(r.code, 200, "pool file through a channel");
	ok(body_is(&r, f->deb1, f->deblen), "channel pool body");
	is_str(hdr(&r, "Cache-Control"), "public, max-age=31536000, immutable",
	    "pool under a channel: immutable");
	free(path);
	path = xasprintf("/%s/%s/%s", MIRROR, f->id2, DEB1);
	get(path, &r);
	is_int(r.code, 404, "hello 1.0 is not in snapshot 2");
	free(path);

	buf_release(&r.body);
	buf_release(&r.hdrs);
}

struct mapped_arg {
	const struct fixture *f;
	int good;
};

/* One client fetching the mapped blob over one keep-alive connection. */
static void *
mapped_client(void *p)
{
	struct mapped_arg *a = p;
	struct buf b = BUF_INIT;
	char *url = xasprintf("http://127.0.0.1:%u/%s/latest/%s", port, MIRROR,
	    DEB2);
	CURL *c = curl_easy_init();
	long code;
	int i;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	for (i = 0; i < 5; i++) {
		b.len = 0;
		code = 0;
		if (curl_easy_perform(c) == CURLE_OK &&
		    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) ==
		    CURLE_OK && code == 200 && b.len == a->f->deb2len &&
		    memcmp(b.p, a->f->deb2, b.len) == 0)
			a->good++;
	}
	curl_easy_cleanup(c);
	buf_release(&b);
	free(url);
	return NULL;
}

/* Whether this process maps the blob of content (len bytes). */
static bool
mapped_here(const char *content, size_t len)
{
	char hex[HASH_HEX_LEN + 1], *maps = NULL;
	struct merr err = { 0, "" };
	size_t mapslen;
	bool yes;

	hex_of(content, len, hex);
	yes = read_file("/proc/self/maps", 1 << 24, &maps, &mapslen,
	    &err) == 0 && strstr(maps, hex) != NULL;
	free(maps);
	return yes;
}

/*
 * The 200 of a blob: one response over a mapping, shared by every
 * connection (mapped), or, when the mappings' budget is spent, from the
 * descriptor: shared for a small blob, its own for one over 128 KiB.
 * Ranges and HEAD come from the descriptor either way.
 */
static void
test_blobs(struct fixture *f, bool mapped)
{
	struct resp r = { 0, BUF_INIT, BUF_INIT, 0, "" };
	struct mapped_arg a[3];	/* with ours, the per-address limit: 4 */
	pthread_t th[3];
	const char *how = mapped ? "mapped" : "unmapped";
	char hex[HASH_HEX_LEN + 1], inm[128], *path, *path1, *cl;
	const char *h[2] = { NULL, NULL };
	int i, good = 0;

	path = xasprintf("/%s/latest/%s", MIRROR, DEB2);
	path1 = xasprintf("/%s/%s/%s", MIRROR, f->id1, DEB1);
	for (i = 0; i < 3; i++) {
		get(path1, &r);
		if (r.code == 200 && body_is(&r, f->deb1, f->deblen))
			good++;
		get(path, &r);
		if (r.code == 200 && body_is(&r, f->deb2, f->deb2len))
			good++;
	}
	is_int(good, 6, "%s: six whole, exact answers", how);
	ok(mapped_here(f->deb1, f->deblen) == mapped &&
	    mapped_here(f->deb2, f->deb2len) == mapped,
	    "%s: the server maps the blobs: %s", how, mapped ? "yes" : "no");
	cl = xasprintf("%zu", f->deb2len);
	is_str(hdr(&r, "Content-Length"), cl, "%s: Content-Length", how);
	fetch("HEAD", path, NULL, &r);
	ok(r.code == 200 && r.body.len == 0, "%s: HEAD has no body", how);
	is_str(hdr(&r, "Content-Length"), cl, "%s: HEAD's length", how);
	h[0] = "Range: bytes=1400000-";
	fetch("GET", path, h, &r);
	ok(r.code == 206 && body_is(&r, f->deb2 + 1400000,
	    f->deb2len - 1400000), "%s: a range, byte-exact", how);
	hex_of(f->deb2, f->deb2len, hex);
	snprintf(inm, sizeof(inm), "If-None-Match: \"%s\"", hex);
	h[0] = inm;
	fetch("GET", path, h, &r);
	ok(r.code == 304 && r.body.len == 0, "%s: 304", how);
	for (i = 0; i < 3; i++) {
		a[i].f = f;
		a[i].good = 0;
		pthread_create(&th[i], NULL, mapped_client, &a[i]);
	}
	for (i = 0, good = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		good += a[i].good;
	}
	is_int(good, 15, "%s: 3 clients at once, 15 exact answers", how);
	free(cl);
	free(path);
	free(path1);
	buf_release(&r.body);
	buf_release(&r.hdrs);
}

/* Waits until the open-blob entries made so far (living ttl_ms) expire. */
static void
outlive(unsigned ttl_ms)
{
	struct timespec ts = { 0, (long)ttl_ms * 2 * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Open blobs expire (h's entries live ttl_ms; its mappings' budget fits
 * one deb2): an expired entry gives its mapping's budget back before the
 * blob is mapped again (it used to keep it, so the blob was answered
 * from its descriptor for a whole life), and a sweep unmaps a blob no
 * one asked for since.
 */
static void
test_expiry(struct fixture *f, struct http *h, unsigned ttl_ms)
{
	struct resp r = { 0, BUF_INIT, BUF_INIT, 0, "" };
	char *path = xasprintf("/%s/latest/%s", MIRROR, DEB2);

	get(path, &r);
	ok(r.code == 200 && body_is(&r, f->deb2, f->deb2len) &&
	    mapped_here(f->deb2, f->deb2len), "expiry: a blob mapped");
	outlive(ttl_ms);
	get(path, &r);
	ok(r.code == 200 && body_is(&r, f->deb2, f->deb2len),
	    "expiry: answered after its entry expired");
	/* The sweep drops the expired entry if it is still there: what
	 * stays mapped is the new one's. */
	http_sweep(h);
	ok(mapped_here(f->deb2, f->deb2len),
	    "expiry: mapped again (the expired mapping's budget came back)");
	outlive(ttl_ms);
	http_sweep(h);
	ok(!mapped_here(f->deb2, f->deb2len),
	    "expiry: a sweep unmaps an expired blob");
	get(path, &r);
	ok(r.code == 200 && body_is(&r, f->deb2, f->deb2len) &&
	    mapped_here(f->deb2, f->deb2len), "expiry: and maps it on demand");
	free(path);
	buf_release(&r.body);
	buf_release(&r.hdrs);
}

/*
 * A blob cut short on disk (damage: blobs are never written in place).
 * From its mapping, the send past the end fails inside the kernel
 * (EFAULT), never as a SIGBUS that would kill the server; from a fresh
 * open, the size check refuses to map it and sendfile() runs out. Either
 * way the client gets fewer bytes than Content-Length says (and no byte
 * that is not the blob's), and the server goes on serving. h's entries
 * live ttl_ms.
 */
/*
 * What a client got of a blob whose file was cut to n bytes after it was
 * mapped: fewer bytes than Content-Length, the first min(len, n) the
 * blob's; past n only the zeros that a mapping shows up to the end of
 * the file's last page (mmap(2): the rest of that page reads as zero; the
 * next page faults, which the send turns into EFAULT). Whether the
 * kernel's send stops at n or at the page's end depends on how it copies:
 * under load it sent 6665 bytes of a blob cut to 5000.
 */
static bool
cut_short(const struct resp *r, const char *blob, size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), i;
	size_t end = (n + page - 1) / page * page;

	if (r->body.len > end)
		return false;
	if (memcmp(r->body.p, blob, r->body.len < n ? r->body.len : n) != 0)
		return false;
	for (i = n; i < r->body.len; i++)
		if (r->body.p[i] != '\0')
			return false;
	return true;
}

static void
test_damaged(struct fixture *f, struct http *h, unsigned ttl_ms)
{
	struct resp r = { 0, BUF_INIT, BUF_INIT, 0, "" };
	unsigned char hash[HASH_LEN];
	char *path = xasprintf("/%s/latest/%s", MIRROR, DEB2);
	char *path1 = xasprintf("/%s/%s/%s", MIRROR, f->id1, DEB1), *blob;
	struct merr err = { 0, "" };

	hash_buf(f->deb2, f->deb2len, hash);
	blob = store_blob_path(f->s, hash);
	get(path, &r);
	ok(r.code == 200 && body_is(&r, f->deb2, f->deb2len) &&
	    mapped_here(f->deb2, f->deb2len), "damage: the blob, mapped");
	ok(truncate(blob, 5000) == 0, "damage: the blob cut to 5000 bytes");
	get(path, &r);
	ok(cut_short(&r, f->deb2, 5000),
	    "damage: from the mapping, %zu bytes: cut short, all the blob's",
	    r.body.len);
	get("/healthz", &r);
	ok(r.code == 200, "damage: the server lives on");
	get(path1, &r);
	ok(r.code == 200 && body_is(&r, f->deb1, f->deblen),
	    "damage: another blob still served");
	outlive(ttl_ms);
	http_sweep(h);
	get(path, &r);
	ok(r.body.len <= 5000 && memcmp(r.body.p, f->deb2, r.body.len) == 0 &&
	    !mapped_here(f->deb2, f->deb2len),
	    "damage: opened again, %zu bytes, not mapped (its size is wrong)",
	    r.body.len);
	get("/healthz", &r);
	ok(r.code == 200, "damage: the server lives on, again");

	/* Mend it for what follows. */
	is_int(write_file_atomic(blob, f->deb2, f->deb2len, 0644, &err), 0,
	    "damage: mended");
	outlive(ttl_ms);
	http_sweep(h);
	get(path, &r);
	ok(r.code == 200 && body_is(&r, f->deb2, f->deb2len),
	    "damage: mended, served whole");
	free(blob);
	free(path);
	free(path1);
	buf_release(&r.body);
	buf_release(&r.hdrs);
}

static void
test_dists(struct fixture *f)
{
	struct resp r = { 0, BUF_INIT, BUF_INIT, 0, "" };
	char hex1[HASH_HEX_LEN + 1], hex2[HASH_HEX_LEN + 1], lm[40];
	char stamp[SNAP_ID_LEN + 1], *path;

	hex_of("PKGS-1\n", 7, hex1);
	hex_of("PKGS-2\n", 7, hex2);

	path = xasprintf("/%s/%s/dists/stable/%s", MIRROR, f->id1, PKGS);
	get(path, &r);
	ok(r.code == 200 && body_is(&r, "PKGS-1\n", 7), "index by ID");
	is_str(hdr(&r, "Cache-Control"), "public, max-age=31536000, immutable",
	    "index by ID: immutable");
	is_str(hdr(&r, "Content-Type"), "application/octet-stream",
	    "index type");
	free(path);

	path = xasprintf("/%s/latest/dists/stable/%s", MIRROR, PKGS);
	get(path, &r);
	ok(r.code == 200 && body_is(&r, "PKGS-2\n", 7), "index by latest");
	is_str(hdr(&r, "Cache-Control"), "public, max-age=10",
	    "index under latest: ten seconds");
	respond_format_date(f->t2, lm);
	is_str(hdr(&r, "Last-Modified"), lm, "latest: snapshot 2's time");
	free(path);

	/* Timestamps: the newest snapshot at or before. */
	path = xasprintf("/%s/29991231T235959Z/dists/stable/%s", MIRROR, PKGS);
	get(path, &r);
	ok(r.code == 200 && body_is(&r, "PKGS-2\n", 7), "future timestamp");
	is_str(hdr(&r, "Cache-Control"), "public, max-age=10",
	    "timestamp: ten seconds");
	free(path);
	{
		time_t before2 = (time_t)(f->t2 - 1);
		struct tm tm;

		gmtime_r(&before2, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	}
	path = xasprintf("/%s/%s/dists/stable/%s", MIRROR, stamp, PKGS);
	get(path, &r);
	ok(r.code == 200 && body_is(&r, "PKGS-1\n", 7),
	    "a second before snapshot 2: snapshot 1");
	/* A past timestamp names one snapshot for good. */
	is_str(hdr(&r, "Cache-Control"), "public, max-age=31536000, immutable",
	    "past timestamp: immutable");
	free(path);
	path = xasprintf("/%s/20000101T000000Z/dists/stable/%s", MIRROR, PKGS);
	get(path, &r);
	is_int(r.code, 404, "timestamp before the first snapshot: 404");
	free(path);

	/* by-hash. */
	path = xasprintf("/%s/latest/dists/stable/main/binary-amd64/by-hash/"
	    "SHA256/%s", MIRROR, hex2);
	get(path, &r);
	ok(r.code == 200 && body_is(&r, "PKGS-2\n", 7), "by-hash");
	is_str(hdr(&r, "Cache-Control"), "public, max-age=31536000, immutable",
	    "by-hash under latest: immutable");
	free(path);
	path = xasprintf("/%s/latest/dists/stable/main/binary-amd64/by-hash/"
	    "SHA256/%s", MIRROR, hex1);
	get(path, &r);
	/*
	 * A client that read latest's InRelease just before a sync moved
	 * latest asks for the old index by hash: the hash pins the bytes,
	 * so the older snapshot's index is served (as Debian keeps old
	 * by-hash files), not a 404 that would break its update.
	 */
	ok(r.code == 200 && body_is(&r, "PKGS-1\n", 7),
	    "by-hash of the previous snapshot's index: served");
	free(path);
	path = xasprintf("/%s/latest/dists/stable/main/binary-amd64/by-hash/"
	    "SHA256/%064d", MIRROR, 0);
	get(path, &r);
	is_int(r.code, 404, "by-hash of a hash the store lacks: 404");
	free(path);

	path = xasprintf("/%s/%s/dists/stable/Release", MIRROR, f->id1);
	get(path, &r);
	is_int(r.code, 200, "Release by ID");
	is_str(hdr(&r, "Content-Type"), "text/plain; charset=utf-8",
	    "Release: text/plain");
	ok(body_has(&r, "Date: Sat, 01 Jun 2024"), "upstream's Release");
	free(path);

	/* A channel: its own signed Release files, the target's indices. */
	path = xasprintf("/%s/prod/dists/stable/InRelease", MIRROR);
	get(path, &r);
	is_int(r.code, 200, "channel InRelease");
	ok(body_has(&r, "-----BEGIN PGP SIGNED MESSAGE-----"),
	    "channel InRelease is signed by mirrord");
	respond_format_date(f->moved_at, lm);
	is_str(hdr(&r, "Last-Modified"), lm, "channel Release: moved_at");
	is_str(hdr(&r, "Cache-Control"), "public, max-age=10",
	    "channel Release: ten seconds");
	free(path);
	path = xasprintf("/%s/prod/dists/stable/%s", MIRROR, PKGS);
	get(path, &r);
	ok(r.code == 200 && body_is(&r, "PKGS-1\n", 7),
	    "channel index is the target's");
	free(path);
	path = xasprintf("/%s/nochannel/dists/stable/%s", MIRROR, PKGS);
	get(path, &r);
	is_int(r.code, 404, "unknown channel: 404");
	free(path);

	path = xasprintf("/%s/%s/dists/stable/main/empty", MIRROR, f->id1);
	get(path, &r);
	ok(r.code == 200 && r.body.len == 0, "an empty file: 200");
	is_str(hdr(&r, "Content-Length"), "0", "empty: length 0");
	{
		const char *h[] = { "Range: bytes=0-", NULL };

		fetch("GET", path, h, &r);
		is_int(r.code, 416, "a range of an empty file: 416");
	}
	free(path);

	get("/keyring.gpg", &r);
	ok(r.code == 200 && body_is(&r, f->keyring, f->keyring_len),
	    "/keyring.gpg serves the key file");

	buf_release(&r.body);
	buf_release(&r.hdrs);
}

static void
test_errors_and_pages(struct fixture *f)
{
	struct resp r = { 0, BUF_INIT, BUF_INIT, 0, "" };
	char *path;
	long n404;
	int i;

	get("/healthz", &r);
	ok(r.code == 200 && body_is(&r, "ok\n", 3), "/healthz");

	fetch("POST", "/healthz", NULL, &r);
	is_int(r.code, 405, "POST: 405");
	is_str(hdr(&r, "Allow"), "GET, HEAD", "405: Allow");
	fetch("DELETE", "/demo/latest/", NULL, &r);
	is_int(r.code, 405, "DELETE: 405");

	get("/nope/latest/dists/stable/Release", &r);
	is_int(r.code, 404, "unknown mirror: 404");
	get("/demo/latest/dists/stable/Nope", &r);
	is_int(r.code, 404, "unknown file: 404");
	get("/demo/latest/dists/nope/Release", &r);
	is_int(r.code, 404, "unknown suite: 404");
	get("/demo/latest/pool/../../../etc/passwd", &r);
	is_int(r.code, 404, "traversal: 404");
	get("/demo/latest/pool/main%2F..%2F..%2Fx", &r);
	is_int(r.code, 400, "escaped slash: 400");
	get("/demo/latest/pool/", &r);
	is_int(r.code, 404, "pool directories are not listed");
	get("/demo/latest/dists/stable/%3Cscript%3Ealert(1)%3C/script%3E", &r);
	ok(r.code == 404 && !body_has(&r, "<script") &&
	    !body_has(&r, "alert"), "404 does not echo the path");

	get("/demo", &r);
	is_int(r.code, 301, "mirror without slash: 301");
	is_str(hdr(&r, "Location"), "/demo/", "to the directory");
	get("/demo/latest/dists/stable/main", &r);
	is_int(r.code, 301, "dists directory without slash: 301");
	is_str(hdr(&r, "Location"), "/demo/latest/dists/stable/main/",
	    "to the directory");

	get("/", &r);
	is_int(r.code, 200, "/: 200");
	is_str(hdr(&r, "Content-Type"), "text/html; charset=utf-8",
	    "/: html");
	ok(body_has(&r, f->id1) && body_has(&r, f->id2), "/ lists snapshots");
	ok(body_has(&r, "prod"), "/ lists channels");
	get("/demo/", &r);
	ok(r.code == 200 && body_has(&r, "latest/") && body_has(&r, f->id2),
	    "mirror page");
	get("/demo/latest/", &r);
	ok(r.code == 200 && body_has(&r, "dists/"), "ref page");
	get("/demo/latest/dists/", &r);
	ok(r.code == 200 && body_has(&r, "stable/"), "dists page");
	get("/demo/prod/dists/stable/", &r);
	ok(r.code == 200 && body_has(&r, "InRelease") &&
	    body_has(&r, "main/"), "suite page");
	get("/demo/latest/dists/stable/main/binary-amd64/", &r);
	ok(r.code == 200 && body_has(&r, "Packages.xz") &&
	    body_has(&r, "by-hash/"), "index directory page");
	get("/demo/latest/dists/stable/main/binary-amd64/by-hash/", &r);
	ok(r.code == 200 && body_has(&r, "SHA256/"), "by-hash directory page");
	{
		char hex[HASH_HEX_LEN + 1];

		hex_of("PKGS-2\n", 7, hex);
		get("/demo/latest/dists/stable/main/binary-amd64/by-hash/"
		    "SHA256/", &r);
		ok(r.code == 200 && body_has(&r, hex),
		    "by-hash/SHA256 page lists the index's hash");
	}
	get("/demo/latest/dists/stable/main/i18n/", &r);
	is_int(r.code, 200, "listing with a weird name");
	ok(body_has(&r, "x&lt;b&gt;&amp;&quot;y"), "names are escaped");
	ok(!body_has(&r, "<b>"), "no raw markup from names");
	ok(body_has(&r, "href=\"x%3Cb%3E%26%22y\""), "hrefs are encoded");
	path = xasprintf("/demo/latest/dists/stable/main/i18n/%s",
	    "x%3Cb%3E%26%22y");
	get(path, &r);
	ok(r.code == 200 && body_is(&r, "weird\n", 6),
	    "the weird file through its encoded href");
	free(path);

	/*
	 * The server sees the earlier connections close a moment after the
	 * client does: ask until only ours is open (up to 2 s).
	 */
	for (i = 0; i < 100; i++) {
		get("/metrics", &r);
		if (body_has(&r, "mirrord_http_open_connections 1\n"))
			break;
		usleep(20000);
	}
	is_int(r.code, 200, "/metrics: 200");
	ok(body_has(&r, "mirrord_http_requests_total{code=\"200\"} "),
	    "requests by code");
	ok(body_has(&r, "mirrord_http_requests_total{code=\"404\"} "),
	    "404s counted");
	ok(body_has(&r, "mirrord_http_bytes_sent_total "), "bytes sent");
	ok(body_has(&r, "mirrord_http_open_connections 1\n"),
	    "one open connection (ours)");
	ok(body_has(&r, "mirrord_snapshots{mirror=\"demo\"} 2\n"),
	    "snapshots per mirror");
	ok(body_has(&r, "mirrord_snapshot_age_seconds{mirror=\"demo\"} "),
	    "snapshot age");
	ok(body_has(&r, "mirrord_channel_target_age_seconds{mirror=\"demo\","
	    "channel=\"prod\"} "), "channel target age");

	/*
	 * Each thread counts its own requests: eight 404s, each on a new
	 * connection (the kernel spreads them over the threads), all in
	 * the sum.
	 */
	n404 = count_404(&r);
	for (i = 0; i < 8; i++) {
		curl_easy_cleanup(curl);
		curl = curl_easy_init();
		get("/nothing-here", &r);
	}
	/*
	 * A thread counts a request when MHD says it completed, which is
	 * after the client has its answer: a /metrics served meanwhile by
	 * another thread may miss the last one or two. Ask again for up to
	 * 2 s; a thread whose counts the sum leaves out never gets there.
	 */
	for (i = 0; i < 100; i++) {
		get("/metrics", &r);
		if (count_404(&r) >= n404 + 8)
			break;
		usleep(20000);
	}
	is_int(count_404(&r), n404 + 8, "/metrics: the threads' counts add up");

	buf_release(&r.body);
	buf_release(&r.hdrs);
}

/*
 * Moves while serving: a new snapshot and a promotion show at latest and
 * at the channel once the resolution cache's second is over.
 */
static void
test_moves(struct fixture *f)
{
	struct resp r = { 0, BUF_INIT, BUF_INIT, 0, "" };
	struct channel_move_opts mo = { "test@host", 0, NULL, NULL };
	struct merr err = { 0, "" };
	char id3[SNAP_ID_LEN + 1], target[SNAP_ID_LEN + 1], *path;
	char lm_before[512];
	int64_t t3;

	path = xasprintf("/%s/prod/dists/stable/InRelease", MIRROR);
	get(path, &r);
	snprintf(lm_before, sizeof(lm_before), "%s", hdr(&r, "Last-Modified") ?
	    r.hv : "");
	commit(f->s, "PKGS-3\n", NULL, NULL, 0, NULL, NULL, 0, id3, &t3);
	is_int(channel_promote(f->s, f->g, MIRROR, f->id2, "prod", &mo, target,
	    &err), 0, "promote prod to snapshot 2 while serving");
	usleep(1100 * 1000);
	get("/demo/latest/dists/stable/" PKGS, &r);
	ok(r.code == 200 && body_is(&r, "PKGS-3\n", 7),
	    "latest moved to the new snapshot");
	get("/demo/prod/dists/stable/" PKGS, &r);
	ok(r.code == 200 && body_is(&r, "PKGS-2\n", 7),
	    "the channel moved to its new target");
	get(path, &r);
	ok(r.code == 200 && hdr(&r, "Last-Modified") != NULL &&
	    strcmp(r.hv, lm_before) != 0,
	    "the channel's Release is newer (%s)", r.hv);
	free(path);
	buf_release(&r.body);
	buf_release(&r.hdrs);
}

static void
test_raw(void)
{
	static const struct {
		int len;
		const char *status;
	} pad[] = { { 6000, "HTTP/1.1 200" }, { 9000, "HTTP/1.1 431" } };
	char *out, *big;
	int i;
	static const char two[] =
	    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /nope/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	static const char ctl[] =
	    "GET /a\x01z\x1b[31m HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "\r\n";

	out = raw_exchange(two, sizeof(two) - 1);
	ok(count(out, "HTTP/1.1 200") == 1 && count(out, "HTTP/1.1 404") == 1,
	    "two pipelined requests, two answers in order");
	ok(strstr(out, "200") < strstr(out, "404"), "in order");
	free(out);
	out = raw_exchange(ctl, sizeof(ctl) - 1);
	ok(strncmp(out, "HTTP/1.1 4", 10) == 0, "control bytes: a 4xx (%.12s)",
	    out);
	free(out);

	/* The per-connection memory: 6 KB of headers answered, 9 KB not. */
	for (i = 0; i < 2; i++) {
		big = xasprintf("GET /healthz HTTP/1.1\r\nHost: x\r\n"
		    "X-Pad: %0*d\r\nConnection: close\r\n\r\n", pad[i].len, 0);
		out = raw_exchange(big, strlen(big));
		ok(strncmp(out, pad[i].status, 12) == 0, "%d bytes of headers: "
		    "%.12s (%.12s)", pad[i].len, pad[i].status, out);
		free(out);
		free(big);
	}
}

/* Resolves /MIRROR/ref/path with cache and front; 1 if a file answers. */
static int
resolve_file(struct fixture *f, struct refcache *rc,
    struct refcache_front *fr, const char *ref, const char *path,
    unsigned char h[HASH_LEN], uint64_t *size)
{
	char *url = xasprintf("/%s/%s/%s", MIRROR, ref, path);
	char buf[ROUTE_BUF_MAX];
	struct route r;
	struct route_result res;
	struct merr err = { 0, "" };
	int file = 0;

	if (route_parse(url, buf, sizeof(buf), &r) == 0 &&
	    route_resolve(&f->conf, f->s, rc, fr, &r, &res, &err) == 0) {
		file = res.answer == ANSWER_FILE;
		memcpy(h, res.hash, HASH_LEN);
		*size = res.size;
		route_result_release(&res);
	}
	free(url);
	return file;
}

/*
 * A thread's memo of pool lookups: the same path again answers the same
 * blob; a snapshot that gives the path another blob answers that one at
 * once, while the earlier snapshot keeps its own.
 */
static void
test_pool_memo(struct fixture *f)
{
	static const char other[] = "hello 2.0, uploaded again\n";
	struct refcache *rc = refcache_new(60 * 1000);
	struct refcache_front *fr = refcache_front_new();
	unsigned char h2[HASH_LEN], h3[HASH_LEN], h[HASH_LEN];
	char id3[SNAP_ID_LEN + 1];
	uint64_t size;
	int64_t t3;
	int i, same = 0;

	hash_buf(f->deb2, f->deb2len, h2);
	hash_buf(other, sizeof(other) - 1, h3);
	for (i = 0; i < 3; i++)
		same += resolve_file(f, rc, fr, "latest", DEB2, h, &size) &&
		    memcmp(h, h2, HASH_LEN) == 0 && size == f->deb2len;
	is_int(same, 3, "memo: latest's %s, three times", DEB2);
	ok(resolve_file(f, rc, fr, f->id2, DEB2, h, &size) &&
	    memcmp(h, h2, HASH_LEN) == 0, "memo: the same through its ID");
	ok(!resolve_file(f, rc, fr, f->id1, DEB2, h, &size),
	    "memo: not in snapshot 1");

	/* Snapshot 3: the same path, other bytes. */
	sleep(1);	/* another second, another snapshot ID */
	commit(f->s, "PKGS-3\n", DEB2, other, sizeof(other) - 1, DEB2,
	    f->deb2, f->deb2len, id3, &t3);
	ok(resolve_file(f, rc, fr, "latest", DEB2, h, &size) &&
	    memcmp(h, h3, HASH_LEN) == 0 && size == sizeof(other) - 1,
	    "memo: latest's %s is snapshot 3's blob at once", DEB2);
	ok(resolve_file(f, rc, fr, f->id2, DEB2, h, &size) &&
	    memcmp(h, h2, HASH_LEN) == 0 && size == f->deb2len,
	    "memo: snapshot 2 keeps its blob");
	refcache_front_free(fr);
	refcache_free(rc);
}

/* serve_run in a thread, stopped through its flag. */
struct run_arg {
	struct fixture *f;
	const char *listen;
	volatile sig_atomic_t stop;
	int rc;
	struct merr err;
};

static void *
run_thread(void *p)
{
	struct run_arg *a = p;
	struct serve_opts o = { a->listen, NULL, NULL, 0, 0, 1, 0, 0, NULL, NULL };

	a->rc = serve_run(&a->f->conf, a->f->s, &o, &a->stop, &a->err);
	return NULL;
}

static void
test_serve_run(struct fixture *f)
{
	struct run_arg a;
	pthread_t th;
	char spec[64];
	struct serve_opts o = { spec, NULL, NULL, 0, 0, 1, 0, 0, NULL, NULL };
	struct merr err = { 0, "" };
	struct timespec t0, t1;

	snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
	is_int(serve_run(&f->conf, f->s, &o, &a.stop, &err), MERR_IO,
	    "a busy port fails");
	ok(strstr(err.msg, "cannot listen on '") != NULL &&
	    strstr(err.msg, spec) != NULL &&
	    strstr(err.msg, "Address already in use") != NULL,
	    "bind error names the address: %s", err.msg);
	o.listen = "127.0.0.1:0";
	is_int(serve_run(&f->conf, f->s, &o, &a.stop, &err), MERR_INVAL,
	    "port 0 refused");
	o.listen = "nonsense";
	is_int(serve_run(&f->conf, f->s, &o, &a.stop, &err), MERR_INVAL,
	    "bad listen refused");

	/* A free port: bind 0, note it, close, let serve_run take it. */
	{
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		getsockname(fd, (struct sockaddr *)&sa, &sl);
		snprintf(spec, sizeof(spec), "127.0.0.1:%u",
		    ntohs(sa.sin_port));
		close(fd);
	}
	memset(&a, 0, sizeof(a));
	a.f = f;
	a.listen = spec;
	a.rc = -100;
	pthread_create(&th, NULL, run_thread, &a);
	usleep(300 * 1000);
	a.stop = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_join(th, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	is_int(a.rc, 0, "serve_run returns 0 when stopped");
	ok(t1.tv_sec - t0.tv_sec < 3, "and promptly");
}

int
main(void)
{
	struct fixture f;
	struct serve_opts o = { "127.0.0.1:0", NULL, NULL, 16, 5, 2, 0, 0, NULL, NULL };
	struct http *h;
	struct merr err = { 0, "" };
	char *logp, *keyp, *log = NULL, *tmp;
	size_t loglen;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(root, sizeof(root), "/tmp/t_http.XXXXXX");
	if (mkdtemp(root) == NULL)
		return 1;
	tmp = path_of("tmp");
	mkdir(tmp, 0700);
	setenv("TMPDIR", tmp, 1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();

	fixture_make(&f);
	logp = path_of("access.log");
	keyp = path_of("keyring.gpg");
	o.access_log = logp;
	o.keyring = keyp;
	is_int(http_start(&f.conf, f.s, &o, &h, &err), 0, "server starts");
	if (err.code)
		printf("# %s\n", err.msg);
	port = http_port(h);
	ok(port > 0, "on port %u", port);

	test_files(&f);
	test_blobs(&f, true);
	test_dists(&f);
	test_errors_and_pages(&f);
	test_raw();
	test_serve_run(&f);
	test_moves(&f);

	curl_easy_cleanup(curl);
	curl = NULL;
	http_stop(h, 2000, NULL);

	is_int(read_file(logp, 1 << 20, &log, &loglen, &err), 0,
	    "access log written");
	ok(log && strstr(log, "127.0.0.1 - - [") != NULL, "log: host and "
	    "time");
	ok(log && strstr(log, "\"GET /healthz HTTP/1.1\" 200 3\n") != NULL,
	    "log: request, status, bytes");
	ok(log && strstr(log, "\"POST /healthz HTTP/1.1\" 405 19\n") != NULL,
	    "log: 405");
	ok(log && strstr(log, "hello_2.0_amd64.deb HTTP/1.1\" 200 1500007\n") !=
	    NULL, "log: a mapped blob's bytes");
	ok(log && strstr(log, "\\x01z\\x1b[31m") != NULL &&
	    strchr(log, '\x01') == NULL && strchr(log, '\x1b') == NULL,
	    "log: control bytes escaped");
	free(log);

	/* Again with Serve-Map-MiB: 0: the answers from descriptors. */
	ok(!mapped_here(f.deb2, f.deb2len), "a stopped server unmaps");
	curl = curl_easy_init();
	f.conf.serve_map_mib = 0;
	is_int(http_start(&f.conf, f.s, &o, &h, &err), 0,
	    "server starts, with Serve-Map-MiB: 0");
	port = http_port(h);
	test_blobs(&f, false);
	curl_easy_cleanup(curl);
	curl = NULL;
	http_stop(h, 2000, NULL);

	/* Entries that live 200 ms; room to map deb2 and nothing more. */
	curl = curl_easy_init();
	o.map_budget = f.deb2len;
	o.cache_ttl_ms = 200;
	is_int(http_start(&f.conf, f.s, &o, &h, &err), 0,
	    "server starts, with entries that live 200 ms");
	port = http_port(h);
	test_expiry(&f, h, o.cache_ttl_ms);
	test_damaged(&f, h, o.cache_ttl_ms);
	curl_easy_cleanup(curl);
	curl = NULL;
	http_stop(h, 2000, NULL);

	test_pool_memo(&f);	/* last: it commits a third snapshot */

	free(logp);
	free(keyp);
	free(tmp);
	free(f.deb1);
	free(f.deb2);
	free(f.keyring);
	gpg_signer_free(f.g);
	store_close(f.s);
	curl_global_cleanup();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
