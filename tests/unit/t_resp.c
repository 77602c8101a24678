/*
 * t_resp.c: sync/resp.c, the response headers a transfer acts on, line by
 * line as curl hands them over.
 */
#include "mirrord/common.h"

#include "mirrord/resp.h"
#include "tests/unit/tap.h"

/* Feeds one NUL-terminated line; returns what resp_header() said. */
static bool
feed(struct resp *r, const char *line)
{
	return resp_header(r, line, strlen(line));
}

static void
t_status(void)
{
	struct resp r;

	memset(&r, 0, sizeof(r));
	resp_reset(&r);
	is_int(r.status, 0, "no status before a status line");
	is_int(r.retry_after, -1, "no Retry-After before one");
	is_int(r.cr_start, -1, "no Content-Range before one");
	ok(feed(&r, "HTTP/1.1 503 Service Unavailable\r\n"), "status line");
	is_int(r.status, 503, "status 503");
	ok(feed(&r, "Retry-After: 7\r\n"), "Retry-After");
	is_int(r.retry_after, 7, "Retry-After in seconds");
	ok(feed(&r, "HTTP/2 200\r\n"), "a second status line");
	is_int(r.status, 200, "status 200");
	is_int(r.retry_after, -1, "a status line forgets the last response");
	ok(feed(&r, "retry-after: Wed, 21 Oct 2015 07:28:00 GMT\r\n"),
	    "Retry-After as a date");
	is_int(r.retry_after, -1, "a date is not seconds");
	ok(feed(&r, "HTTP/1.1 2\r\n"), "a short status line");
	is_int(r.status, 0, "no status from it");
	ok(feed(&r, "\r\n"), "the blank line");
	ok(feed(&r, "no colon here\r\n"), "a line without a colon");
}

static void
t_range(void)
{
	struct resp r;

	memset(&r, 0, sizeof(r));
	resp_reset(&r);
	feed(&r, "HTTP/1.1 206 Partial Content\r\n");
	ok(feed(&r, "Content-Range: bytes 100-199/200\r\n"), "Content-Range");
	is_int(r.cr_start, 100, "its first byte");
	feed(&r, "HTTP/1.1 206 Partial Content\r\n");
	feed(&r, "Content-Range: items 1-2/3\r\n");
	is_int(r.cr_start, -1, "not bytes: ignored");
}

static void
t_length(void)
{
	struct resp r;

	memset(&r, 0, sizeof(r));
	r.max = 1000;
	resp_reset(&r);
	is_int(r.max, 1000, "reset keeps the cap");
	feed(&r, "HTTP/1.1 200 OK\r\n");
	ok(feed(&r, "Content-Length: 1000\r\n"), "a length at the cap");
	ok(feed(&r, "Content-Length: 0001000\r\n"), "leading zeros");
	ok(!feed(&r, "Content-Length: 1001\r\n"), "one byte over: stop");
	is_str(r.too_long, "1001", "the length refused, as sent");
	resp_reset(&r);
	feed(&r, "HTTP/1.1 200 OK\r\n");
	ok(!feed(&r, "Content-Length: 123456789012345678901234567890\r\n"),
	    "a huge length: stop");
	is_str(r.too_long, "123456789012345678901234...",
	    "cut short in the message");
	resp_reset(&r);
	feed(&r, "HTTP/1.1 404 Not Found\r\n");
	ok(feed(&r, "Content-Length: 5000\r\n"), "an error page's length");
	r.max = 0;
	feed(&r, "HTTP/1.1 200 OK\r\n");
	ok(feed(&r, "Content-Length: 5000\r\n"), "no cap");
}

static void
t_location(void)
{
	struct resp r;

	memset(&r, 0, sizeof(r));
	resp_reset(&r);
	feed(&r, "HTTP/1.1 302 Found\r\n");
	ok(feed(&r, "Location: http://example.org/x\r\n"), "a sane redirect");
	ok(!r.bad_location, "not flagged");
	ok(!feed(&r, "Location: http://e/\x01x\r\n"),
	    "a control character in a redirect: stop");
	ok(r.bad_location, "flagged");
	feed(&r, "HTTP/1.1 200 OK\r\n");
	ok(feed(&r, "Location: \x01\r\n"), "Location outside a redirect");
	ok(!r.bad_location, "not flagged");
}

static void
t_validators(void)
{
	struct resp r;
	char big[RESP_HDR_MAX + 16];

	memset(&r, 0, sizeof(r));
	resp_reset(&r);
	feed(&r, "HTTP/1.1 200 OK\r\n");
	feed(&r, "ETag:  \"abc\"  \r\n");
	is_str(r.etag, "\"abc\"", "ETag without blanks");
	feed(&r, "last-modified: Sat, 05 Dec 2026 10:00:00 GMT\r\n");
	is_str(r.last_modified, "Sat, 05 Dec 2026 10:00:00 GMT",
	    "Last-Modified");
	feed(&r, "ETag: \"a\x7f\"\r\n");
	is_str(r.etag, "", "an ETag with a control character: none");
	snprintf(big, sizeof(big), "ETag: %0*d", RESP_HDR_MAX, 0);
	feed(&r, big);
	is_str(r.etag, "", "an ETag too long: none");
}

int
main(void)
{
	t_status();
	t_range();
	t_length();
	t_location();
	t_validators();
	return tap_done();
}
