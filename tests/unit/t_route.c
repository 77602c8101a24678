/*
 * t_route.c: the pure half of serve/: URL parsing and classification
 * (route.c), validators and ranges (respond.c), HTML escaping (pages.c)
 * and listen addresses (http.c).
 */
#include "mirrord/common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

#include "serve/escape.h"
#include "serve/listen.h"
#include "serve/pages.h"
#include "serve/respond.h"
#include "serve/route.h"
#include "tap.h"

static char pbuf[ROUTE_BUF_MAX];

/* route_parse into the static buffer; returns its code. */
static int
parse(const char *raw, struct route *r)
{
	return route_parse(raw, pbuf, sizeof(pbuf), r);
}

static void
test_parse_shapes(void)
{
	struct route r;

	is_int(parse("/", &r), 0, "/ parses");
	is_int(r.kind, ROUTE_ROOT, "/ is the root");
	ok(r.dir, "/ is a directory");

	is_int(parse("/healthz", &r), 0, "/healthz parses");
	is_int(r.kind, ROUTE_HEALTHZ, "/healthz kind");
	is_int(parse("/metrics", &r), 0, "/metrics parses");
	is_int(r.kind, ROUTE_METRICS, "/metrics kind");
	is_int(parse("/keyring.gpg", &r), 0, "/keyring.gpg parses");
	is_int(r.kind, ROUTE_KEYRING, "/keyring.gpg kind");
	is_int(parse("/healthz/", &r), 0, "/healthz/ parses");
	is_int(r.kind, ROUTE_MIRROR, "/healthz/ is a mirror directory");

	is_int(parse("/ubuntu/", &r), 0, "mirror dir parses");
	is_int(r.kind, ROUTE_MIRROR, "mirror dir kind");
	is_str(r.mirror, "ubuntu", "mirror name");
	ok(r.dir, "mirror dir has its slash");
	is_int(parse("/ubuntu", &r), 0, "mirror without slash parses");
	ok(!r.dir && r.kind == ROUTE_MIRROR, "mirror without slash: not dir");

	is_int(parse("/ubuntu/keyring.gpg", &r), 0, "mirror keyring parses");
	is_int(r.kind, ROUTE_MIRROR_KEYRING, "mirror keyring kind");
	is_str(r.mirror, "ubuntu", "mirror keyring's mirror");
	ok(r.ref == NULL, "mirror keyring: no ref");
	is_int(parse("/keyring.gpg/keyring.gpg", &r), 0,
	    "keyring of a mirror named keyring.gpg parses");
	ok(r.kind == ROUTE_MIRROR_KEYRING &&
	    strcmp(r.mirror, "keyring.gpg") == 0,
	    "a mirror named keyring.gpg has its keyring");
	is_int(parse("/ubuntu/keyring.gpg/", &r), 0,
	    "mirror keyring with a slash parses");
	is_int(r.kind, ROUTE_REF, "with a slash it is a ref (a 404)");

	is_int(parse("/ubuntu/latest/", &r), 0, "ref dir parses");
	is_int(r.kind, ROUTE_REF, "ref dir kind");
	is_str(r.ref, "latest", "ref");

	is_int(parse("/ubuntu/production/dists/", &r), 0, "dists parses");
	is_int(r.kind, ROUTE_DISTS, "dists kind");
	is_str(r.ref, "production", "channel ref");

	is_int(parse("/ubuntu/20260101T000000Z/dists/jammy/", &r), 0,
	    "suite dir parses");
	is_int(r.kind, ROUTE_SUITE, "suite kind");
	is_str(r.suite, "jammy", "suite");
	is_str(r.path, "", "suite dir: empty path");
	ok(r.dir, "suite dir is a dir");

	is_int(parse("/ubuntu/latest/dists/jammy/main/binary-amd64/"
	    "Packages.xz", &r), 0, "index parses");
	is_int(r.kind, ROUTE_SUITE, "index kind");
	is_str(r.mirror, "ubuntu", "index mirror");
	is_str(r.suite, "jammy", "index suite");
	is_str(r.path, "main/binary-amd64/Packages.xz", "index path");
	ok(!r.dir, "index is not a dir");

	is_int(parse("/ubuntu/latest/dists/jammy/main/", &r), 0,
	    "component dir parses");
	is_str(r.path, "main", "component dir path");
	ok(r.dir, "component dir is a dir");

	is_int(parse("/ubuntu/latest/pool/main/h/hello/hello_2.10_amd64.deb",
	    &r), 0, "pool file parses");
	is_int(r.kind, ROUTE_POOL, "pool kind");
	is_str(r.path, "pool/main/h/hello/hello_2.10_amd64.deb",
	    "pool path keeps its pool/ prefix");
	is_int(parse("/ubuntu/latest/pool/", &r), 0, "pool dir parses");
	ok(r.kind == ROUTE_POOL && r.dir && strcmp(r.path, "pool") == 0,
	    "pool dir");
	is_int(parse("/ubuntu/latest/poolx/a", &r), 404, "poolx is nothing");
	is_int(parse("/ubuntu/latest/other/a", &r), 404,
	    "neither dists nor pool");
}

static void
test_parse_escapes(void)
{
	struct route r;

	is_int(parse("/ubuntu/latest/pool/main/g/g%2B%2B/g%2B%2B_1_amd64.deb",
	    &r), 0, "escaped '+' decodes");
	is_str(r.path, "pool/main/g/g++/g++_1_amd64.deb", "decoded path");
	is_int(parse("/ubuntu/latest/pool/main/x/x/x_1%7e2_all.deb", &r), 0,
	    "lowercase escape");
	is_str(r.path, "pool/main/x/x/x_1~2_all.deb", "tilde decoded");

	is_int(parse("/ubuntu/latest/pool/a%2Fb", &r), 400, "%%2F refused");
	is_int(parse("/ubuntu/latest/pool/a%2fb", &r), 400, "%%2f refused");
	is_int(parse("/ubuntu/latest/pool/a%00b", &r), 400, "%%00 refused");
	is_int(parse("/ubuntu/latest/pool/a%", &r), 400, "truncated escape");
	is_int(parse("/ubuntu/latest/pool/a%4", &r), 400, "half escape");
	is_int(parse("/ubuntu/latest/pool/a%zz", &r), 400, "bad escape");
	is_int(parse("ubuntu/latest/", &r), 400, "no leading slash");
	is_int(parse("*", &r), 400, "asterisk form");
	is_int(parse("http://mirror:8080/ubuntu/latest/pool/a", &r), 0,
	    "absolute form");
	ok(r.kind == ROUTE_POOL && strcmp(r.path, "pool/a") == 0,
	    "absolute form: its path");
	is_int(parse("HTTP://mirror", &r), 0, "absolute form without path");
	is_int(r.kind, ROUTE_ROOT, "is the root");

	is_int(parse("/ubuntu/latest/pool/../../etc/passwd", &r), 404,
	    "'..' refused");
	is_int(parse("/ubuntu/latest/pool/%2e%2e/x", &r), 404,
	    "escaped '..' refused");
	is_int(parse("/ubuntu/latest/pool/%2E%2E", &r), 404,
	    "escaped '..' at the end refused");
	is_int(parse("/ubuntu/latest/dists/./x", &r), 404, "'.' refused");
	is_int(parse("/ubuntu//latest/", &r), 404, "empty segment");
	is_int(parse("//", &r), 404, "double slash");
	is_int(parse("/ubuntu/latest/pool/a%0Ab", &r), 404,
	    "escaped newline refused");
	is_int(parse("/ubuntu/latest/pool/a%20b", &r), 404,
	    "escaped space refused");
	is_int(parse("/ubuntu/latest/pool/a%25b", &r), 404,
	    "escaped %% refused");
	is_int(parse("/ubuntu/latest/pool/a%5Cb", &r), 404,
	    "escaped backslash refused");
	is_int(parse("/ubuntu/latest/pool/a\\b", &r), 404, "backslash");

	{
		char big[PATH_MAX_REL + 64];

		memset(big, 'a', sizeof(big) - 1);
		big[0] = '/';
		big[sizeof(big) - 1] = '\0';
		is_int(parse(big, &r), 404, "too long");
		is_int(route_parse("/ubuntu/latest/", pbuf, 8, &r), 404,
		    "too long for the buffer");
	}
}

static void
test_classify(void)
{
	struct buf b = BUF_INIT;

	is_int(route_ref_kind("latest"), REF_LATEST, "latest");
	is_int(route_ref_kind("20260102T030405Z"), REF_STAMP, "an ID");
	is_int(route_ref_kind("20260102T030405"), REF_NAME, "short: a name");
	is_int(route_ref_kind("2026010xT030405Z"), REF_NAME, "bad digit");
	is_int(route_ref_kind("production"), REF_NAME, "a channel");

	/* 2026-01-02T03:04:05Z is 1767323045. */
	ok(route_ref_fixed("20260102T030404Z", 1767323045),
	    "a timestamp a second past: fixed");
	ok(!route_ref_fixed("20260102T030405Z", 1767323045),
	    "a timestamp of this second: a commit may still land at it");
	ok(!route_ref_fixed("20260102T030406Z", 1767323045),
	    "a future timestamp: not fixed");
	ok(!route_ref_fixed("latest", 1767323045), "latest: not fixed");
	ok(!route_ref_fixed("production", 1767323045), "a channel: not fixed");

	ok(route_is_by_hash("main/binary-amd64/by-hash/SHA256/abcd"),
	    "by-hash under a directory");
	ok(route_is_by_hash("by-hash/SHA256/abcd"), "by-hash at the top");
	ok(!route_is_by_hash("main/binary-amd64/Packages.xz"), "an index");
	ok(!route_is_by_hash("main/by-hash/SHA256"), "by-hash dir");
	ok(!route_is_by_hash("main/by-hash/SHA256/"), "by-hash dir slash");
	ok(!route_is_by_hash("main/by-hash/SHA256/a/b"), "too deep");
	ok(!route_is_by_hash("main/xby-hash/SHA256/a"), "not a segment");

	ok(route_is_release("InRelease"), "InRelease");
	ok(route_is_release("Release.gpg"), "Release.gpg");
	ok(!route_is_release("main/Release.gz"), "not Release");
	is_str(route_content_type("InRelease"), "text/plain; charset=utf-8",
	    "Release type");
	is_str(route_content_type("pool/main/h/hello/hello_1_amd64.deb"),
	    "application/vnd.debian.binary-package", "deb type");
	is_str(route_content_type("main/binary-amd64/Packages.xz"),
	    "application/octet-stream", "index type");

	is_str(route_cache_control(true, false, false), ROUTE_CC_IMMUTABLE,
	    "snapshot ID: immutable");
	is_str(route_cache_control(false, true, false), ROUTE_CC_IMMUTABLE,
	    "by-hash: immutable");
	is_str(route_cache_control(false, false, true), ROUTE_CC_IMMUTABLE,
	    "pool: immutable");
	is_str(route_cache_control(false, false, false), ROUTE_CC_MOVING,
	    "moving ref: ten seconds");

	escape_url(&b, "a b/<x>\"&+~%\n");
	is_str(b.p, "a%20b/%3Cx%3E%22%26+~%25%0A", "url encoding");
	buf_reset(&b);
	escape_html(&b, "<a href=\"x\">'&'\x01</a>");
	is_str(b.p, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&#9217;"
	    "&lt;/a&gt;", "HTML escaping");
	buf_release(&b);
}

static void
test_range(void)
{
	uint64_t off = 0, len = 0;

	is_int(respond_range("bytes=0-9", 100, &off, &len), 0, "0-9");
	ok(off == 0 && len == 10, "0-9 is 10 bytes at 0");
	is_int(respond_range("bytes=90-", 100, &off, &len), 0, "open end");
	ok(off == 90 && len == 10, "90- is the last 10");
	is_int(respond_range("bytes=-5", 100, &off, &len), 0, "suffix");
	ok(off == 95 && len == 5, "-5 is the last 5");
	is_int(respond_range("bytes=-500", 100, &off, &len), 0, "big suffix");
	ok(off == 0 && len == 100, "big suffix is everything");
	is_int(respond_range("bytes=50-5000", 100, &off, &len), 0,
	    "end past size");
	ok(off == 50 && len == 50, "clamped to size");
	is_int(respond_range(" bytes = 1-1 ", 100, &off, &len), 0, "spaces");
	ok(off == 1 && len == 1, "one byte");
	is_int(respond_range("bytes=100-", 100, &off, &len), -1,
	    "start at size: unsatisfiable");
	is_int(respond_range("bytes=-0", 100, &off, &len), -1,
	    "empty suffix: unsatisfiable");
	is_int(respond_range("bytes=0-0", 0, &off, &len), -1,
	    "empty file: unsatisfiable");
	is_int(respond_range("bytes=0-1,5-6", 100, &off, &len), 1,
	    "several ranges: whole");
	is_int(respond_range("bytes=0-1,", 100, &off, &len), 0,
	    "trailing comma is one range");
	is_int(respond_range("bytes=5-1", 100, &off, &len), 1,
	    "backwards: ignored");
	is_int(respond_range("items=0-1", 100, &off, &len), 1,
	    "other unit: ignored");
	is_int(respond_range("bytes=a-b", 100, &off, &len), 1,
	    "garbage: ignored");
	is_int(respond_range("bytes=99999999999999999999-", 100, &off, &len),
	    1, "overflow: ignored");
}

/*
 * The fixed-offset IMF-fixdate parser against libc: every date it formats
 * over 1900-2400 (leap years, centuries, 2000) parses back, and the day
 * and second numbers libc normalises (31 February, second 60) agree.
 */
static void
test_date_span(void)
{
	static const char *const odd[] = { "Sat, 31 Feb 2024 23:59:60 GMT",
	    "Mon, 29 Feb 2100 00:00:00 GMT", "Fri, 31 Dec 1969 23:59:59 GMT",
	    "Thu, 01 Jan 1970 00:00:00 GMT", "Tue, 29 Feb 2000 12:00:00 GMT" };
	char d[RESPOND_DATE_LEN];
	struct tm tm;
	int64_t t, got;
	size_t i;
	int bad = 0;

	for (t = -2208988800LL; t < 13569465600LL; t += 86400 * 7 + 3727) {
		respond_format_date(t, d);
		if (respond_parse_date(d, &got) != 0 || got != t)
			bad++;
	}
	is_int(bad, 0, "1900-2400: every formatted date parses back");
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		ok(strptime(odd[i], "%a, %d %b %Y %H:%M:%S GMT", &tm) != NULL,
		    "strptime '%s'", odd[i]);
		ok(respond_parse_date(odd[i], &got) == 0 &&
		    got == (int64_t)timegm(&tm), "as timegm: '%s'", odd[i]);
	}
}

static void
test_conditionals(void)
{
	const char *et = "\"abc\"";
	struct respond_req q;
	struct respond_plan p;
	char d[RESPOND_DATE_LEN];
	int64_t t;

	respond_format_date(784111777, d);
	is_str(d, "Sun, 06 Nov 1994 08:49:37 GMT", "IMF-fixdate");
	ok(respond_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", &t) == 0 &&
	    t == 784111777, "parse IMF-fixdate");
	ok(respond_parse_date("Sunday, 06-Nov-94 08:49:37 GMT", &t) == 0 &&
	    t == 784111777, "parse RFC 850");
	ok(respond_parse_date("Sun Nov  6 08:49:37 1994", &t) == 0 &&
	    t == 784111777, "parse asctime");
	is_int(respond_parse_date("yesterday", &t), -1, "garbage date");
	is_int(respond_parse_date("Sun, 06 Nov 1994 08:49:37 CET", &t), -1,
	    "not GMT");
	is_int(respond_parse_date("Sun, 06 Nov 1994 08:49:37 GMTx", &t), -1,
	    "trailing bytes");
	is_int(respond_parse_date("Sun, 06 Nov 1994 08:49:3", &t), -1,
	    "cut short");
	is_int(respond_parse_date("Sun, 06 Nov 1994 24:49:37 GMT", &t), -1,
	    "hour 24");
	is_int(respond_parse_date("Sun, 06 Xyz 1994 08:49:37 GMT", &t), -1,
	    "no such month");
	ok(respond_parse_date("  Sun, 06 Nov 1994 08:49:37 GMT  ", &t) == 0 &&
	    t == 784111777, "IMF-fixdate within spaces");
	test_date_span();

	ok(respond_etag_match("\"abc\"", et, true), "etag equal");
	ok(respond_etag_match("\"x\", \"abc\"", et, true), "etag in a list");
	ok(respond_etag_match("*", et, true), "star");
	ok(!respond_etag_match("W/\"abc\"", et, true), "weak: no strong match");
	ok(respond_etag_match("W/\"abc\"", et, false), "weak match");
	ok(!respond_etag_match("\"abcd\"", et, false), "different");
	ok(!respond_etag_match("abc", et, false), "unquoted");

	memset(&q, 0, sizeof(q));
	respond_plan(&q, et, 1000, 100, &p);
	ok(p.status == 200 && p.off == 0 && p.len == 100, "plain: 200");

	q.if_none_match = "\"abc\"";
	respond_plan(&q, et, 1000, 100, &p);
	is_int(p.status, 304, "If-None-Match match: 304");
	q.if_none_match = "\"zzz\"";
	q.if_modified_since = "Thu, 01 Jan 1970 00:16:40 GMT";	/* 1000 */
	respond_plan(&q, et, 1000, 100, &p);
	is_int(p.status, 200, "If-None-Match mismatch wins over IMS: 200");
	q.if_none_match = NULL;
	respond_plan(&q, et, 1000, 100, &p);
	is_int(p.status, 304, "IMS equal: 304");
	respond_plan(&q, et, 1001, 100, &p);
	is_int(p.status, 200, "IMS older than Last-Modified: 200");
	q.if_modified_since = "garbage";
	respond_plan(&q, et, 1000, 100, &p);
	is_int(p.status, 200, "bad IMS ignored");
	q.if_modified_since = NULL;

	q.range = "bytes=10-19";
	respond_plan(&q, et, 1000, 100, &p);
	ok(p.status == 206 && p.off == 10 && p.len == 10, "range: 206");
	q.if_range = "\"abc\"";
	respond_plan(&q, et, 1000, 100, &p);
	is_int(p.status, 206, "If-Range etag match: 206");
	q.if_range = "\"old\"";
	respond_plan(&q, et, 1000, 100, &p);
	ok(p.status == 200 && p.len == 100, "If-Range etag mismatch: 200");
	q.if_range = "W/\"abc\"";
	respond_plan(&q, et, 1000, 100, &p);
	is_int(p.status, 200, "If-Range weak etag: 200");
	q.if_range = "Thu, 01 Jan 1970 00:16:40 GMT";
	respond_plan(&q, et, 1000, 100, &p);
	is_int(p.status, 206, "If-Range date match: 206");
	respond_plan(&q, et, 999, 100, &p);
	is_int(p.status, 200, "If-Range date mismatch: 200");
	q.if_range = NULL;
	q.range = "bytes=200-";
	respond_plan(&q, et, 1000, 100, &p);
	is_int(p.status, 416, "unsatisfiable: 416");

	memset(&q, 0, sizeof(q));
	q.if_match = "\"nope\"";
	respond_plan(&q, et, 1000, 100, &p);
	is_int(p.status, 412, "If-Match mismatch: 412");
	q.if_match = "\"abc\"";
	respond_plan(&q, et, 1000, 100, &p);
	is_int(p.status, 200, "If-Match match: 200");
	q.if_match = NULL;
	q.if_unmodified_since = "Thu, 01 Jan 1970 00:16:39 GMT";
	respond_plan(&q, et, 1000, 100, &p);
	is_int(p.status, 412, "modified since If-Unmodified-Since: 412");
}

static void
test_listen(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&ss;
	struct merr err = { 0, "" };
	socklen_t sl;

	is_int(listen_parse("127.0.0.1:8080", &ss, &sl, &err), 0,
	    "IPv4 listen");
	ok(ss.ss_family == AF_INET && ntohs(s4->sin_port) == 8080 &&
	    ntohl(s4->sin_addr.s_addr) == 0x7f000001, "IPv4 address");
	is_int(listen_parse("[::]:8080", &ss, &sl, &err), 0,
	    "IPv6 any");
	ok(ss.ss_family == AF_INET6 && ntohs(s6->sin6_port) == 8080,
	    "IPv6 address");
	is_int(listen_parse("[::1]:65535", &ss, &sl, &err), 0,
	    "IPv6 loopback, top port");
	is_int(listen_parse("*:80", &ss, &sl, &err), 0, "any IPv4");
	is_int(listen_parse("127.0.0.1:65536", &ss, &sl, &err),
	    MERR_INVAL, "port too big");
	ok(strstr(err.msg, "'127.0.0.1:65536'") != NULL,
	    "error names the address: %s", err.msg);
	is_int(listen_parse("127.0.0.1", &ss, &sl, &err), MERR_INVAL,
	    "no port");
	is_int(listen_parse("::1:80", &ss, &sl, &err), MERR_INVAL,
	    "IPv6 without brackets");
	is_int(listen_parse("[::1]80", &ss, &sl, &err), MERR_INVAL,
	    "no colon after bracket");
	is_int(listen_parse("1.2.3.4:-1", &ss, &sl, &err), MERR_INVAL,
	    "negative port");
}

int
main(void)
{
	test_parse_shapes();
	test_parse_escapes();
	test_classify();
	test_range();
	test_conditionals();
	test_listen();
	return tap_done();
}
