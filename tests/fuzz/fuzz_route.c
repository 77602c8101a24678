/*
 * fuzz_route.c: URL parsing and resolution (serve/route.h).
 *
 * The input, up to its first NUL, is a raw request path as a client sends
 * it. route_parse() must answer 0, 400 or 404, and on 0:
 *  - every part points into the caller's buffer, is a NUL-terminated,
 *    non-empty canonical path (path_check) of the right shape: mirror,
 *    ref and suite single segments; a pool path "pool" or "pool/...";
 *  - the parts, percent-encoded again with route_url_encode() and parsed,
 *    give the same route (decoding and encoding agree);
 *  - a buffer of exactly n bytes is never overrun, and a small n either
 *    refuses (404) or gives the same route as a large one.
 *
 * Then the route is resolved against a tiny store built once at start-up
 * (one mirror "demo", one snapshot of suite "stable" with a few dists
 * files and one pool file), with and without a resolution cache: both
 * answers must be the same; a file answer must name one of the stored
 * blobs, with its size; a redirect must be a directory URL that parses;
 * a page must not carry a part of the URL holding '<', '>', '"' or '&'
 * unescaped (HTML injection). An /api/ URL is answered by api_reply():
 * 200, 404 or a stored blob, never a 500; a JSON body parses.
 */
#include "mirrord/common.h"

#include <ftw.h>
#include <stdatomic.h>
#include <unistd.h>

#include "mirrord/json.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "serve/api.h"
#include "serve/escape.h"
#include "serve/pages.h"
#include "serve/route.h"
#include "tests/fuzz/fuzz.h"

#define MIRROR "demo"
#define NBLOBS 6

/* One-time state: the fuzz target's fixture, never written after set-up. */
static struct {
	char dir[64];
	struct store *s;
	struct conf conf;
	struct conf_mirror mirror;
	struct refcache *cache;
	struct refcache_front *front;
	unsigned char hash[NBLOBS][HASH_LEN];
	uint64_t size[NBLOBS];
	size_t nblobs;
} fx;

static const struct {
	const char *path;	/* under dists/stable/, or the pool path */
	const char *content;
	bool pool;
} blobs[NBLOBS] = {
	{ "Release", "Origin: Test\nSuite: stable\n", false },
	{ "InRelease", "-----BEGIN PGP SIGNED MESSAGE-----\n", false },
	{ "main/binary-amd64/Packages.xz", "packages", false },
	{ "main/i18n/x<b>&\"y", "weird", false },
	{ "main/source/Sources.gz", "", false },
	{ "pool/main/h/hello/hello_1.0_amd64.deb", "!<arch>\n", true },
};

static void
die(const char *what, const struct merr *err)
{
	fprintf(stderr, "fuzz_route: %s: %s\n", what, err->msg);
	abort();
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
fixture_free(void)
{
	refcache_front_free(fx.front);
	refcache_free(fx.cache);
	store_close(fx.s);
	nftw(fx.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct merr err = { 0, "" };
	struct snap sn;
	struct snap_suite *su;
	struct snap_delta *d;
	size_t i;

	snprintf(fx.dir, sizeof(fx.dir), "/tmp/mirrord-fuzz-route-XXXXXX");
	if (mkdtemp(fx.dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	if (store_open(fx.dir, true, &fx.s, &err) ||
	    store_lock(fx.s, "fuzz_route", false, &err))
		die("store", &err);
	memset(&sn, 0, sizeof(sn));
	sn.suites = xcalloc(1, sizeof(*sn.suites));
	sn.nsuites = 1;
	su = &sn.suites[0];
	su->name = xstrdup("stable");
	su->date_str = xstrdup("Sat, 01 Jun 2024 12:00:00 UTC");
	su->date = 1717243200;
	d = snap_delta_new();
	for (i = 0; i < NBLOBS; i++) {
		size_t len = strlen(blobs[i].content);

		if (store_put_mem(fx.s, blobs[i].content, len, fx.hash[i],
		    &err))
			die("blob", &err);
		fx.size[i] = len;
		if (blobs[i].pool)
			snap_delta_add(d, blobs[i].path,
			    strlen(blobs[i].path), fx.hash[i], len, 1);
		else
			snap_suite_add_file(su, blobs[i].path, fx.hash[i],
			    len);
	}
	/* The Packages file under its by-hash name too. */
	{
		char hex[HASH_HEX_LEN + 1], *p;

		hash_to_hex(fx.hash[2], hex);
		p = xasprintf("main/binary-amd64/by-hash/SHA256/%s", hex);
		snap_suite_add_file(su, p, fx.hash[2], fx.size[2]);
		free(p);
	}
	fx.nblobs = NBLOBS;
	if (store_sync(fx.s, &err) ||
	    snap_commit(fx.s, MIRROR, &sn, d, NULL, &err))
		die("commit", &err);
	snap_release(&sn);
	snap_delta_free(d);
	store_unlock(fx.s);

	fx.mirror.name = (char *)MIRROR;
	fx.conf.mirrors = &fx.mirror;
	fx.conf.nmirrors = 1;
	fx.cache = refcache_new(60000);
	fx.front = refcache_front_new();
	atexit(fixture_free);
	return 0;
}

/* Is p inside [buf, buf+n) with its NUL there too? */
static void
check_part(const char *what, const char *p, const char *buf, size_t n)
{
	FUZZ_CHECK(p >= buf && p < buf + n, "%s outside the buffer", what);
	FUZZ_CHECK(memchr(p, '\0', (size_t)(buf + n - p)) != NULL,
	    "%s not NUL-terminated in the buffer", what);
}

/* A single canonical segment. */
static void
check_segment(const char *what, const char *p)
{
	FUZZ_CHECK(fuzz_path_ok(p, strlen(p)), "%s '%s' not canonical", what,
	    p);
	FUZZ_CHECK(strchr(p, '/') == NULL, "%s '%s' holds '/'", what, p);
}

static void
check_route(const struct route *r, const char *buf, size_t n)
{
	switch (r->kind) {
	case ROUTE_ROOT:
		FUZZ_CHECK(r->dir && !r->mirror && !r->ref && !r->suite &&
		    !r->path, "bad root route");
		return;
	case ROUTE_HEALTHZ:
	case ROUTE_METRICS:
	case ROUTE_KEYRING:
		FUZZ_CHECK(!r->dir && !r->mirror && !r->ref && !r->suite &&
		    !r->path, "bad special route");
		return;
	case ROUTE_API:
		FUZZ_CHECK(!r->mirror && !r->ref && !r->suite && r->path,
		    "bad api route");
		check_part("path", r->path, buf, n);
		FUZZ_CHECK(fuzz_path_ok(r->path, strlen(r->path)),
		    "api path '%s' not canonical", r->path);
		return;
	case ROUTE_MIRROR:
	case ROUTE_MIRROR_KEYRING:
	case ROUTE_REF:
	case ROUTE_DISTS:
	case ROUTE_SUITE:
	case ROUTE_POOL:
		break;
	default:
		FUZZ_CHECK(0, "route kind %d", (int)r->kind);
	}
	check_part("mirror", r->mirror, buf, n);
	check_segment("mirror", r->mirror);
	if (r->kind == ROUTE_MIRROR || r->kind == ROUTE_MIRROR_KEYRING) {
		FUZZ_CHECK(!r->ref && !r->suite && !r->path, "mirror route");
		FUZZ_CHECK(r->kind == ROUTE_MIRROR || !r->dir,
		    "mirror keyring route with a slash");
		return;
	}
	check_part("ref", r->ref, buf, n);
	check_segment("ref", r->ref);
	(void)route_ref_kind(r->ref);
	switch (r->kind) {
	case ROUTE_REF:
	case ROUTE_DISTS:
		FUZZ_CHECK(!r->suite && !r->path, "ref/dists route");
		break;
	case ROUTE_SUITE:
		check_part("suite", r->suite, buf, n);
		check_segment("suite", r->suite);
		/* "" for the suite itself need not be in the buffer. */
		FUZZ_CHECK(r->path != NULL, "suite route without a path");
		if (r->path[0] != '\0')
			check_part("path", r->path, buf, n);
		FUZZ_CHECK(r->path[0] == '\0' ||
		    fuzz_path_ok(r->path, strlen(r->path)),
		    "suite path '%s' not canonical", r->path);
		break;
	case ROUTE_POOL:
		FUZZ_CHECK(!r->suite, "pool route with a suite");
		check_part("path", r->path, buf, n);
		FUZZ_CHECK(fuzz_path_ok(r->path, strlen(r->path)) &&
		    strncmp(r->path, "pool", 4) == 0 &&
		    (r->path[4] == '\0' || r->path[4] == '/'),
		    "pool path '%s'", r->path);
		break;
	default:
		break;
	}
	if (r->path != NULL) {
		FUZZ_CHECK(route_content_type(r->path) != NULL, "no type");
		(void)route_is_by_hash(r->path);
		(void)route_is_release(r->path);
	}
}

static bool
route_eq(const struct route *a, const struct route *b)
{
#define SEQ(x, y) ((x) == NULL ? (y) == NULL : (y) != NULL && \
	strcmp((x), (y)) == 0)
	return a->kind == b->kind && a->dir == b->dir &&
	    SEQ(a->mirror, b->mirror) && SEQ(a->ref, b->ref) &&
	    SEQ(a->suite, b->suite) && SEQ(a->path, b->path);
#undef SEQ
}

/* The URL of r, encoded again. */
static void
encode_route(const struct route *r, struct buf *b)
{
	buf_addc(b, '/');
	switch (r->kind) {
	case ROUTE_ROOT:
		return;
	case ROUTE_HEALTHZ:
		buf_adds(b, "healthz");
		return;
	case ROUTE_METRICS:
		buf_adds(b, "metrics");
		return;
	case ROUTE_KEYRING:
		buf_adds(b, "keyring.gpg");
		return;
	case ROUTE_API:
		buf_adds(b, "api/");
		escape_url(b, r->path);
		if (r->dir)
			buf_addc(b, '/');
		return;
	default:
		break;
	}
	escape_url(b, r->mirror);
	if (r->kind == ROUTE_MIRROR_KEYRING)
		buf_adds(b, "/keyring.gpg");
	if (r->ref != NULL) {
		buf_addc(b, '/');
		escape_url(b, r->ref);
	}
	if (r->kind == ROUTE_DISTS || r->kind == ROUTE_SUITE)
		buf_adds(b, "/dists");
	if (r->suite != NULL) {
		buf_addc(b, '/');
		escape_url(b, r->suite);
	}
	if (r->path != NULL && r->path[0] != '\0') {
		buf_addc(b, '/');
		escape_url(b, r->path);
	}
	if (r->dir)
		buf_addc(b, '/');
}

/* Does the page carry s as it is, when s holds HTML-special bytes? */
static void
check_escaped(const struct buf *page, const char *s)
{
	if (s == NULL || strpbrk(s, "<>\"&") == NULL)
		return;
	FUZZ_CHECK(strstr(page->p ? page->p : "", s) == NULL,
	    "page carries '%s' unescaped", s);
}

static void
check_result(const struct route *r, const struct route_result *res)
{
	size_t i;

	switch (res->answer) {
	case ANSWER_FILE:
		for (i = 0; i < fx.nblobs; i++)
			if (memcmp(res->hash, fx.hash[i], HASH_LEN) == 0)
				break;
		FUZZ_CHECK(i < fx.nblobs, "file answer names an unknown blob");
		FUZZ_CHECK(res->size == fx.size[i], "blob size %llu != %llu",
		    (unsigned long long)res->size,
		    (unsigned long long)fx.size[i]);
		FUZZ_CHECK(res->cache_control && res->content_type,
		    "file answer without headers");
		FUZZ_CHECK(!r->dir, "file answer for a directory URL");
		break;
	case ANSWER_LISTING: {
		struct buf page = BUF_INIT;

		pages_render(&res->listing, &page);
		FUZZ_CHECK(page.len > 0, "empty page");
		FUZZ_CHECK(r->dir, "page for a URL without '/'");
		check_escaped(&page, r->mirror);
		check_escaped(&page, r->ref);
		check_escaped(&page, r->suite);
		check_escaped(&page, r->path);
		buf_release(&page);
		break;
	}
	case ANSWER_REDIRECT: {
		const struct buf *loc = &res->location;
		char *buf = xmalloc(ROUTE_BUF_MAX);
		struct route r2;

		FUZZ_CHECK(!r->dir, "redirect of a directory URL");
		FUZZ_CHECK(loc->len > 1 && loc->p[0] == '/' &&
		    loc->p[loc->len - 1] == '/',
		    "redirect to '%s'", loc->p);
		FUZZ_CHECK(strpbrk(loc->p, "\r\n\"<> ") == NULL,
		    "redirect location '%s' unsafe", loc->p);
		FUZZ_CHECK(route_parse(loc->p, buf, ROUTE_BUF_MAX,
		    &r2) == 0 && r2.dir && r2.kind == r->kind,
		    "redirect '%s' does not parse back", loc->p);
		free(buf);
		break;
	}
	case ANSWER_STATUS:
		FUZZ_CHECK(res->status == 404, "status %d", res->status);
		break;
	default:
		FUZZ_CHECK(0, "answer %d", (int)res->answer);
	}
}

static bool
buf_same(const struct buf *a, const struct buf *b)
{
	return a->len == b->len &&
	    (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* An /api/ URL's answer: 200 JSON that parses, a stored blob, or 404. */
static void
answer_api(const struct route *r)
{
	struct server_reply out;
	struct json_value *v = NULL;
	struct merr err = { 0, "" };
	size_t i;

	memset(&out, 0, sizeof(out));
	buf_init(&out.body);
	buf_init(&out.res.location);
	api_reply(&fx.conf, fx.s, r->path, &out);
	if (out.kind == REPLY_FILE) {
		for (i = 0; i < NBLOBS; i++)
			if (memcmp(out.res.hash, fx.hash[i], HASH_LEN) == 0)
				break;
		FUZZ_CHECK(i < NBLOBS, "api: a file that is no stored blob");
	} else if (out.kind == REPLY_BODY && out.ctype != NULL &&
	    strcmp(out.ctype, API_CTYPE) == 0) {
		FUZZ_CHECK(out.status == 200 && json_parse(out.body.p,
		    out.body.len, 64, &v, &err) == 0,
		    "api: JSON that does not parse: %s", err.msg);
		json_value_free(v);
	} else {
		FUZZ_CHECK((out.kind == REPLY_BODY && out.status == 200) ||
		    (out.kind == REPLY_STATUS && out.status == 404),
		    "api: %d %d", (int)out.kind, out.status);
	}
	server_reply_release(&out);
}

static void
resolve(const struct route *r)
{
	struct route_result a, b;
	struct merr err = { 0, "" };
	int rc;

	if (r->kind == ROUTE_API)
		answer_api(r);
	if (r->kind == ROUTE_HEALTHZ || r->kind == ROUTE_METRICS ||
	    r->kind == ROUTE_KEYRING || r->kind == ROUTE_API)
		return;
	rc = route_resolve(&fx.conf, fx.s, NULL, NULL, r, &a, &err);
	FUZZ_CHECK(rc == 0, "route_resolve: %d %s", rc, err.msg);
	check_result(r, &a);
	/* Through a thread's front to the cache, as the server does. */
	rc = route_resolve(&fx.conf, fx.s, fx.cache, fx.front, r, &b, &err);
	FUZZ_CHECK(rc == 0, "route_resolve (cache): %d %s", rc, err.msg);
	FUZZ_CHECK(a.answer == b.answer && a.status == b.status &&
	    memcmp(a.hash, b.hash, HASH_LEN) == 0 && a.size == b.size &&
	    buf_same(&a.location, &b.location),
	    "cached and uncached answers differ");
	if (a.answer == ANSWER_LISTING) {
		struct buf pa = BUF_INIT, pb = BUF_INIT;

		pages_render(&a.listing, &pa);
		pages_render(&b.listing, &pb);
		FUZZ_CHECK(buf_same(&pa, &pb),
		    "cached and uncached listings differ");
		buf_release(&pa);
		buf_release(&pb);
	}
	route_result_release(&a);
	route_result_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw = fuzz_cstr(data, size);
	char *buf = xmalloc(ROUTE_BUF_MAX), *small, *buf2;
	struct route r, r2;
	struct buf enc = BUF_INIT;
	size_t n = strlen(raw) % 48;
	int rc, rc2;

	rc = route_parse(raw, buf, ROUTE_BUF_MAX, &r);
	FUZZ_CHECK(rc == 0 || rc == 400 || rc == 404, "route_parse: %d", rc);

	/* An exact-size small buffer: never overrun, same route or 404. */
	small = xmalloc(n ? n : 1);
	rc2 = route_parse(raw, small, n, &r2);
	if (rc2 == 0) {
		FUZZ_CHECK(rc == 0 && route_eq(&r, &r2),
		    "small buffer gives another route");
		check_route(&r2, small, n);
	} else {
		FUZZ_CHECK(rc2 == rc || rc2 == 404 || (n < 2 && rc2 == 400),
		    "small buffer: %d, large: %d", rc2, rc);
	}
	free(small);

	if (rc == 0) {
		check_route(&r, buf, ROUTE_BUF_MAX);
		/* Encoded again, it parses to the same route. */
		encode_route(&r, &enc);
		buf2 = xmalloc(ROUTE_BUF_MAX);
		rc2 = route_parse(enc.p, buf2, ROUTE_BUF_MAX, &r2);
		FUZZ_CHECK(rc2 == 0 && route_eq(&r, &r2),
		    "'%s' re-encoded as '%s' parses to %d, another route",
		    raw, enc.p, rc2);
		free(buf2);
		buf_release(&enc);
		resolve(&r);
	}
	free(buf);
	free(raw);
	return 0;
}
