/*
 * t_accesslog.c: the access log's lines (serve/accesslog.h): the Common
 * Log Format, escaping of what the client sent, bounds, and reopening.
 */
#include "mirrord/common.h"

#include <unistd.h>

#include "serve/accesslog.h"
#include "tests/unit/tap.h"

/* The file's content, NUL-terminated (static buffer). */
static const char *
slurp(const char *path)
{
	static char *s;
	size_t len;
	struct merr err;

	free(s);
	s = NULL;
	if (read_file(path, 1 << 20, &s, &len, &err) != 0)
		return "";
	return s;
}

int
main(void)
{
	char dir[] = "/tmp/t_accesslog.XXXXXX", path[64], moved[80];
	struct accesslog_clock clk = { 0, "" };
	struct accesslog_entry e = { .host = "192.0.2.1",
	    .start = 1000000000, .method = "GET", .uri = "/a b\"\\\x01",
	    .version = "HTTP/1.1", .status = 200, .bytes = 1234 };
	struct accesslog *l;
	struct merr err;
	char uri[3000];
	const char *s;

	ok(mkdtemp(dir) != NULL, "a temporary directory");
	snprintf(path, sizeof(path), "%s/access.log", dir);
	snprintf(moved, sizeof(moved), "%s/access.log.1", dir);
	is_int(accesslog_open(path, &l, &err), 0, "open the log");
	is_int(accesslog_write(l, &clk, &e), 0, "write a line");
	is_str(slurp(path), "192.0.2.1 - - [09/Sep/2001:01:46:40 +0000] "
	    "\"GET /a b\\x22\\x5c\\x01 HTTP/1.1\" 200 1234\n",
	    "a Common Log Format line, what the client sent escaped");

	e.method = "";
	e.version = "";
	e.status = 0;
	e.uri = "/";
	accesslog_write(l, &clk, &e);
	s = strchr(slurp(path), '\n') + 1;
	is_str(s, "192.0.2.1 - - [09/Sep/2001:01:46:40 +0000] \"- / -\" - -\n",
	    "a request without an answer");

	memset(uri, 'u', sizeof(uri) - 1);
	uri[sizeof(uri) - 1] = '\0';
	e.uri = uri;
	e.status = 404;
	e.bytes = 0;
	ok(rename(path, moved) == 0, "logrotate moves the log");
	is_int(accesslog_reopen(l, path, &err), 0, "reopen it");
	accesslog_write(l, &clk, &e);
	s = slurp(path);
	ok(strstr(s, "uuu... -\" 404 0\n") != NULL &&
	    strlen(s) < ACCESSLOG_URI_MAX + 100,
	    "a long URI is cut at ACCESSLOG_URI_MAX, into the new file");
	accesslog_free(l);
	is_int(accesslog_open(dir, &l, &err), MERR_IO,
	    "a directory cannot be the log");
	ok(strstr(err.msg, "cannot open access log") != NULL,
	    "the error names it: %s", err.msg);
	unlink(path);
	unlink(moved);
	rmdir(dir);
	return tap_done();
}
