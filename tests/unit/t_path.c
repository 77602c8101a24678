/*
 * t_path.c: canonical relative paths (path_check, path_quote).
 */
#include "mirrord/common.h"

#include "mirrord/path.h"
#include "tests/unit/tap.h"

static void
good(const char *s)
{
	struct merr err = { 0, "untouched" };

	is_int(path_check(s, strlen(s), &err), 0, "accepts '%s'", s);
	is_str(err.msg, "untouched", "err untouched for '%s'", s);
}

/* Rejects [s, s+len) with a message containing why. */
static void
bad_n(const char *what, const char *s, size_t len, const char *why)
{
	struct merr err = { 0, "" };
	int rc = path_check(s, len, &err);

	is_int(rc, MERR_PARSE, "rejects %s", what);
	is_int(err.code, MERR_PARSE, "err code set for %s", what);
	ok(strstr(err.msg, why) != NULL, "message for %s says '%s': %s",
	    what, why, err.msg);
}

static void
bad(const char *what, const char *s, const char *why)
{
	bad_n(what, s, strlen(s), why);
}

static void
quote(const char *s, size_t len, size_t n, const char *want)
{
	char out[256];

	path_quote(s, len, out, n);
	is_str(out, want, "path_quote gives '%s'", want);
}

int
main(void)
{
	char *longp;

	good("pool/main/h/hello/hello_1.0_amd64.deb");
	good("dists/jammy/InRelease");
	good("a");
	good("...");
	good("a/..b/c..");
	good("pool/main/libx/libxml++2.6/libxml++2.6-2v5_2.40.1-3_amd64.deb");
	good("by-hash/SHA256/0123abcd");
	/* Only the first len bytes count. */
	is_int(path_check("a/b/../c", 3, NULL), 0, "checks only len bytes");

	bad("an absolute path", "/etc/passwd", "absolute");
	bad("a '..' segment", "pool/../../etc/passwd", "'..' segment");
	bad("a leading '..'", "../x", "'..' segment");
	bad("a trailing '..'", "pool/..", "'..' segment");
	bad("a '.' segment", "pool/./x.deb", "'.' segment");
	bad("a lone '.'", ".", "'.' segment");
	bad("an empty path", "", "empty");
	bad("a trailing slash", "pool/main/", "empty segment");
	bad("a double slash", "pool//main", "empty segment");
	bad("a newline", "pool/a\nb", "control byte");
	bad("a tab", "pool/a\tb", "control byte");
	bad("DEL", "pool/a\x7f", "control byte");
	bad("a space", "pool/a b.deb", "space");
	bad("an encoded dot", "pool/%2e%2e/x", "'%' escape");
	bad("a backslash", "pool\\..\\x", "backslash");
	bad_n("a NUL byte", "pool/a\0b", 8, "control byte");

	longp = xmalloc(PATH_MAX_REL + 2);
	memset(longp, 'a', PATH_MAX_REL + 1);
	longp[PATH_MAX_REL + 1] = '\0';
	bad("a path over PATH_MAX_REL", longp, "too long");
	longp[PATH_MAX_REL] = '\0';
	is_int(path_check(longp, PATH_MAX_REL, NULL), 0,
	    "a path of exactly PATH_MAX_REL bytes is fine");
	free(longp);

	/* The message quotes the path with unsafe bytes escaped. */
	{
		struct merr err;

		path_check("a\nb/\x01", 5, &err);
		ok(strstr(err.msg, "'a\\x0ab/\\x01'") != NULL,
		    "message escapes control bytes: %s", err.msg);
	}

	quote("pool/x.deb", 10, 256, "pool/x.deb");
	quote("a b", 3, 256, "a\\x20b");
	quote("a\\b", 3, 256, "a\\x5cb");
	quote("\x00\xff\x7f", 3, 256, "\\x00\\xff\\x7f");
	quote("", 0, 256, "");
	/* Truncation: room for an escape, "..." and the NUL. */
	quote("abcdefghijklmnop", 16, 12, "abcd...");
	{
		char out[4] = "zzz";

		path_quote("abc", 3, out, 0);
		is_str(out, "zzz", "path_quote with n = 0 writes nothing");
	}
	return tap_done();
}
