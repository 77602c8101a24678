/*
 * t_confval.c: the configuration's value parsers on their own, without
 * files: durations, Keep-Snapshots, numbers, yes/no, Listen, mirror
 * names, URLs and URIs, paths, word lists, fingerprints and inline key
 * blocks. t_conf.c checks them again through conf_load(), with the file
 * and line in front of their messages.
 */
#include "mirrord/common.h"

#include <limits.h>

#include "mirrord/confval.h"
#include "tests/unit/tap.h"

static void
dur_ok(const char *s, long want)
{
	long got = -1;
	struct merr err;

	is_int(confval_duration(s, strlen(s), &got, &err), 0,
	    "duration '%s' parses", s);
	is_int(got, want, "duration '%s' is %ld s", s, want);
}

static void
dur_bad(const char *s)
{
	long got = -7;
	struct merr err = { 0, "" };

	is_int(confval_duration(s, strlen(s), &got, &err), MERR_PARSE,
	    "duration '%s' is refused", s);
	ok(got == -7 && strstr(err.msg, "invalid duration") != NULL,
	    "output untouched, message: %s", err.msg);
}

static void
test_durations(void)
{
	char max[32];

	dur_ok("90s", 90);
	dur_ok("30m", 1800);
	dur_ok("6h", 21600);
	dur_ok("30d", 2592000);
	dur_ok("2w", 1209600);
	dur_ok("45", 45);
	dur_ok("0", 0);
	snprintf(max, sizeof(max), "%ld", LONG_MAX);
	dur_ok(max, LONG_MAX);
	snprintf(max, sizeof(max), "%lds", LONG_MAX);
	dur_ok(max, LONG_MAX);
	dur_bad("");
	dur_bad("s");
	dur_bad("h");
	dur_bad("6x");
	dur_bad("6H");
	dur_bad("-1");
	dur_bad("+1");
	dur_bad("1.5h");
	dur_bad(" 6h");
	dur_bad("6 h");
	dur_bad("6hh");
	dur_bad("99999999999999999999");
	dur_bad("9223372036854775808");
	snprintf(max, sizeof(max), "%ldm", LONG_MAX / 60 + 1);
	dur_bad(max);
	dur_bad("15250284452472w");
	dur_ok("15250284452471w", 15250284452471L * 604800);
	/* Only len bytes count. */
	{
		long got = 0;

		is_int(confval_duration("6hours", 2, &got, NULL), 0,
		    "length-bounded parse");
		is_int(got, 21600, "length-bounded value");
	}
}

static void
test_keep(void)
{
	struct merr err = { 0, "" };
	unsigned n = 7;
	long age = 7;

	ok(confval_keep("30d last 5", &age, &n, &err) == 0 &&
	    age == 30 * 86400 && n == 5, "age and count");
	ok(confval_keep("last 3\n 1w", &age, &n, &err) == 0 &&
	    age == 7 * 86400 && n == 3, "either order, continued");
	ok(confval_keep("last 3", &age, &n, &err) == 0 && age == 0 && n == 3,
	    "a count alone");
	age = n = 7;
	is_int(confval_keep("30", &age, &n, &err), MERR_CONF,
	    "a bare number is refused");
	ok(age == 7 && n == 7, "outputs untouched on error");
	is_int(confval_keep("last 0", &age, &n, &err), MERR_CONF, "last 0");
	is_int(confval_keep("last 1000001", &age, &n, &err), MERR_CONF,
	    "last over 1000000");
	is_int(confval_keep("last", &age, &n, &err), MERR_CONF,
	    "last without count");
	is_int(confval_keep("last 2 last 3", &age, &n, &err), MERR_CONF,
	    "last twice");
	is_int(confval_keep("1d 2d", &age, &n, &err), MERR_CONF,
	    "two durations");
	ok(strstr(err.msg, "invalid '2d'") != NULL, "names the word: %s",
	    err.msg);
	is_int(confval_keep("0d", &age, &n, &err), MERR_CONF, "zero age");
	is_int(confval_keep("", &age, &n, &err), MERR_CONF, "empty");
	is_int(confval_keep("  ", &age, &n, NULL), MERR_CONF, "blank, no err");
}

static void
test_scalars(void)
{
	struct merr err = { 0, "" };
	unsigned u = 9;
	bool b = false;

	ok(confval_uint("64", 2, 1, 64, &u, &err) == 0 && u == 64, "uint max");
	ok(confval_uint("0", 1, 0, 20, &u, &err) == 0 && u == 0, "uint 0");
	u = 9;
	is_int(confval_uint("65", 2, 1, 64, &u, &err), MERR_CONF, "over max");
	is_str(err.msg, "must be a number from 1 to 64, not '65'", "message");
	is_int(confval_uint("0", 1, 1, 64, &u, &err), MERR_CONF, "under min");
	is_int(confval_uint("-1", 2, 0, 64, &u, &err), MERR_CONF, "negative");
	is_int(confval_uint("", 0, 0, 64, &u, &err), MERR_CONF, "empty");
	is_int(u, 9, "uint untouched on error");

	ok(confval_bool("YES", 3, &b, &err) == 0 && b, "YES");
	ok(confval_bool("no", 2, &b, &err) == 0 && !b, "no");
	is_int(confval_bool("true", 4, &b, &err), MERR_CONF, "true refused");
	is_str(err.msg, "must be yes or no, not 'true'", "bool message");
	is_int(confval_bool("", 0, &b, &err), MERR_CONF, "empty bool");

	ok(confval_listen("127.0.0.1:8080", &err) == 0 &&
	    confval_listen("[::1]:80", &err) == 0 &&
	    confval_listen("localhost:65535", &err) == 0, "good listens");
	ok(confval_listen("8080", &err) != 0 &&
	    confval_listen(":80", &err) != 0 &&
	    confval_listen("[::1:80", &err) != 0 &&
	    confval_listen("host:0", &err) != 0 &&
	    confval_listen("host:65536", &err) != 0 &&
	    confval_listen("host:", &err) != 0, "bad listens");

	ok(confval_name("a", 1) && confval_name("debian-security.x_1", 19),
	    "good names");
	ok(!confval_name("", 0) && !confval_name("-a", 2) &&
	    !confval_name(".a", 2) && !confval_name("A", 1) &&
	    !confval_name("a/b", 3) && !confval_name("a b", 3),
	    "bad names");
	{
		char n[CONFVAL_NAME_MAX + 2];

		memset(n, 'a', sizeof(n));
		ok(confval_name(n, CONFVAL_NAME_MAX) &&
		    !confval_name(n, CONFVAL_NAME_MAX + 1), "name length");
	}
}

static void
test_uris(void)
{
	struct merr err = { 0, "" };
	char *u = NULL, *p;

	ok(confval_http_url("https://example.org/debian//", "", &u, &err) ==
	    0, "https URL");
	is_str(u, "https://example.org/debian", "trailing '/' dropped");
	free(u);
	is_int(confval_http_url("ftp://x/", "", &u, &err), MERR_CONF, "ftp");
	is_str(err.msg, "unsupported URI 'ftp://x/' (want http:// or "
	    "https://)", "scheme message");
	is_int(confval_http_url("http:///x", "", &u, &err), MERR_CONF,
	    "no host");

	ok(confval_uri("/etc/mirrord", "file:repo/../debian", 19, &u,
	    &err) == 0, "relative file URI");
	is_str(u, "file:///etc/mirrord/debian", "resolved and normalised");
	free(u);
	ok(confval_uri("/d", "\n file:///srv/a/", 16, &u, &err) == 0,
	    "file:/// URI on a continuation line");
	is_str(u, "file:///srv/a", "absolute file URI");
	free(u);
	ok(confval_uri("/d", "file:/srv", 9, &u, &err) == 0, "file:/abs");
	is_str(u, "file:///srv", "file:/abs normalised");
	free(u);
	is_int(confval_uri("/d", "file://host/x", 13, &u, &err), MERR_CONF,
	    "file URI with a host");
	is_int(confval_uri("/d", "file:", 5, &u, &err), MERR_CONF,
	    "file URI without path");
	is_int(confval_uri("/d", "file:///..", 10, &u, &err), MERR_CONF,
	    "file URI of /");
	is_int(confval_uri("/d", "http://a http://b", 17, &u, &err),
	    MERR_CONF, "two URIs");
	is_str(err.msg, "'URIs' must hold exactly one URI", "says so");
	is_int(confval_uri("/d", "", 0, &u, &err), MERR_CONF, "no URI");
	ok(confval_uri("/d", "http://h/", 9, &u, &err) == 0, "http URI");
	is_str(u, "http://h", "http URI as confval_http_url");
	free(u);

	p = confval_abspath("/a/b", "../c/./d//", 10);
	is_str(p, "/a/c/d", "abspath: relative");
	free(p);
	p = confval_abspath("/a", "/../../x", 8);
	is_str(p, "/x", "abspath: absolute, .. at the root");
	free(p);
	p = confval_abspath("/a", "..", 2);
	is_str(p, "/", "abspath: the root");
	free(p);
}

static void
test_words(void)
{
	const char *three = " main\n contrib\tnon-free ";
	struct merr err = { 0, "" };
	char **v = NULL;
	size_t n = 0;

	ok(confval_words(three, strlen(three), &v, &n, &err) == 0 && n == 3,
	    "three words");
	ok(n == 3 && strcmp(v[0], "main") == 0 &&
	    strcmp(v[2], "non-free") == 0, "in order");
	strv_free(v, n);
	ok(confval_words("  ", 2, &v, &n, &err) == 0 && n == 0,
	    "no word: for the caller to refuse");
	free(v);
	is_int(confval_words("main contrib main", 17, &v, &n, &err),
	    MERR_CONF, "a word twice");
	is_str(err.msg, "'main' given twice", "says which");
	is_int(confval_words("main ../x", 9, &v, &n, &err), MERR_CONF,
	    "an unsafe word");
	is_int(err.code, MERR_CONF, "as MERR_CONF");
}

static void
test_keys(void)
{
	const char *fpr = "0123456789abcdef0123456789ABCDEF01234567";
	const char *blk = "\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n"
	    " mDMEZ  \n -----END PGP PUBLIC KEY BLOCK-----\n";
	struct merr err = { 0, "" };
	char *o = NULL, *p, buf[64];

	ok(confval_is_hex_id(fpr, 40) && confval_is_hex_id("0xABCD!", 7),
	    "hex ids");
	ok(!confval_is_hex_id("key.gpg", 7) && !confval_is_hex_id("0x", 2) &&
	    !confval_is_hex_id("!", 1), "not hex ids");
	ok(confval_fingerprint(fpr, &o, &err) == 0, "fingerprint");
	is_str(o, "0123456789ABCDEF0123456789ABCDEF01234567", "upper case");
	free(o);
	snprintf(buf, sizeof(buf), "%s!", fpr);
	ok(confval_fingerprint(buf, &o, &err) == 0, "fingerprint!");
	ok(o != NULL && o[40] == '!' && o[41] == '\0', "keeps the '!'");
	free(o);
	is_int(confval_fingerprint("0123456789ABCDEF", &o, &err), MERR_CONF,
	    "a key id is refused");
	ok(strstr(err.msg, "is not a fingerprint") != NULL, "says so: %s",
	    err.msg);
	is_int(confval_fingerprint("!", &o, &err), MERR_CONF, "a lone '!'");

	ok(confval_has_keyblock(blk, strlen(blk)) &&
	    !confval_has_keyblock("a.gpg", 5), "has_keyblock");
	ok(confval_keyblock(blk, strlen(blk), &o, &err) == 0, "key block");
	is_str(o, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n"
	    "-----END PGP PUBLIC KEY BLOCK-----\n", "normalised as apt does");
	free(o);
	p = xasprintf("%s\n a.gpg", blk);
	is_int(confval_keyblock(p, strlen(p), &o, &err), MERR_CONF,
	    "something after the block");
	ok(strstr(err.msg, "nothing before or after it") != NULL,
	    "says so: %s", err.msg);
	free(p);
	p = xasprintf("x\n%s", blk);
	is_int(confval_keyblock(p, strlen(p), &o, &err), MERR_CONF,
	    "something before the block");
	free(p);
	is_int(confval_keyblock(blk, 40, &o, &err), MERR_CONF,
	    "an unended block");
}

int
main(void)
{
	test_durations();
	test_keep();
	test_scalars();
	test_uris();
	test_words();
	test_keys();
	return tap_done();
}
