/*
 * fuzz_confval.c: the configuration's value parsers (mirrord/confval.h),
 * each fed the input as it is (length-bounded) or as a C string, with no
 * files: what conf_load() runs on every value, without its file set-up, so
 * many more values are tried per second than fuzz_conf can.
 *
 * On success each parser's output must be what confval.h promises (a
 * duration within a long, a count within its bounds, an http(s) URL with a
 * host and no trailing '/', a normalised absolute path, unique safe words,
 * an upper-case fingerprint, a whole key block...); on failure the error
 * must be MERR_CONF (MERR_PARSE for durations) with a printable message
 * and the outputs untouched.
 */
#include "mirrord/common.h"

#include <ctype.h>
#include <limits.h>

#include "mirrord/confval.h"
#include "tests/fuzz/fuzz.h"

/* What an output holds until a parser sets it. */
static char sentinel[] = "untouched";
#define SENTINEL sentinel

/*
 * A message, terminated. Not fuzz_msg_ok(): the parsers quote the value
 * as it is, control bytes and all, and conf_load() has always done so.
 */
static void
check_err(int rc, int want, const struct merr *err, const char *what)
{
	FUZZ_CHECK(rc == want && err->code == want && err->msg[0] != '\0' &&
	    strnlen(err->msg, sizeof(err->msg)) < sizeof(err->msg),
	    "%s: rc %d code %d", what, rc, err->code);
}

/* Absolute, no empty, "." or ".." segment, no trailing '/' but "/". */
static void
check_abs(const char *what, const char *p)
{
	FUZZ_CHECK(p[0] == '/', "%s '%s' not absolute", what, p);
	if (strcmp(p, "/") == 0)
		return;
	FUZZ_CHECK(strstr(p, "//") == NULL && strstr(p, "/./") == NULL &&
	    strstr(p, "/../") == NULL && !str_endswith(p, "/") &&
	    !str_endswith(p, "/.") && !str_endswith(p, "/.."),
	    "%s '%s' not normalised", what, p);
}

static void
numbers(const char *d, size_t size, const char *s)
{
	struct merr err = { 0, "" };
	unsigned u = 12345, last = 7;
	long secs = -7, age = -7;
	bool b = false;
	int rc;

	rc = confval_duration(d, size, &secs, &err);
	if (rc == 0)
		FUZZ_CHECK(secs >= 0, "duration %ld", secs);
	else
		check_err(rc, MERR_PARSE, &err, "duration");
	rc = confval_keep(s, &age, &last, &err);
	if (rc == 0)
		FUZZ_CHECK(age >= 0 && last <= 1000000 && (age > 0 ||
		    last > 0), "keep %ld %u", age, last);
	else
		FUZZ_CHECK(age == -7 && last == 7, "keep touched its outputs");
	if (rc)
		check_err(rc, MERR_CONF, &err, "keep");
	rc = confval_uint(d, size, 3, 1000, &u, &err);
	if (rc == 0)
		FUZZ_CHECK(u >= 3 && u <= 1000, "uint %u", u);
	else
		FUZZ_CHECK(u == 12345, "uint touched its output");
	if (rc)
		check_err(rc, MERR_CONF, &err, "uint");
	rc = confval_bool(d, size, &b, &err);
	if (rc == 0)
		FUZZ_CHECK(size == (b ? 3u : 2u), "bool of %zu bytes", size);
	else
		check_err(rc, MERR_CONF, &err, "bool");
}

static void
names(const char *d, size_t size, const char *s)
{
	struct merr err = { 0, "" };
	const char *colon;
	size_t i;
	int rc;

	if (confval_name(d, size)) {
		FUZZ_CHECK(size >= 1 && size <= CONFVAL_NAME_MAX &&
		    strchr("._-", d[0]) == NULL, "name of %zu bytes", size);
		for (i = 0; i < size; i++)
			FUZZ_CHECK(strchr("abcdefghijklmnopqrstuvwxyz"
			    "0123456789._-", d[i]) != NULL && d[i] != '\0',
			    "name byte %d", d[i]);
	}
	rc = confval_listen(s, &err);
	if (rc == 0) {
		colon = strrchr(s, ':');
		FUZZ_CHECK(colon != NULL && colon > s && strtoul(colon + 1,
		    NULL, 10) >= 1 && strtoul(colon + 1, NULL, 10) <= 65535,
		    "listen '%s'", s);
	} else {
		check_err(rc, MERR_CONF, &err, "listen");
	}
}

static void
urls(const char *d, size_t size, const char *s)
{
	struct merr err = { 0, "" };
	char *u = SENTINEL, *p;
	int rc;

	rc = confval_http_url(s, "", &u, &err);
	if (rc == 0) {
		FUZZ_CHECK((str_startswith(u, "http://") ||
		    str_startswith(u, "https://")) && !str_endswith(u, "/"),
		    "url '%s'", u);
		free(u);
	} else {
		FUZZ_CHECK(u == SENTINEL, "url touched its output");
		check_err(rc, MERR_CONF, &err, "url");
	}
	u = SENTINEL;
	rc = confval_uri("/etc/mirrord", d, size, &u, &err);
	if (rc == 0) {
		FUZZ_CHECK(!str_endswith(u, "/"), "uri '%s'", u);
		if (str_startswith(u, "file://"))
			check_abs("file uri", u + 7);
		else
			FUZZ_CHECK(str_startswith(u, "http://") ||
			    str_startswith(u, "https://"), "uri '%s'", u);
		free(u);
	} else {
		FUZZ_CHECK(u == SENTINEL, "uri touched its output");
		check_err(rc, MERR_CONF, &err, "uri");
	}
	/* A C string: a NUL inside would cut the path short. */
	p = confval_abspath("/etc/mirrord", s, strlen(s));
	check_abs("abspath", p);
	free(p);
}

static void
words(const char *d, size_t size)
{
	struct merr err = { 0, "" };
	char **v = NULL;
	size_t n = 0, i, j;
	int rc;

	rc = confval_words(d, size, &v, &n, &err);
	if (rc) {
		check_err(rc, MERR_CONF, &err, "words");
		return;
	}
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(fuzz_path_ok(v[i], strlen(v[i])), "word '%s'",
		    v[i]);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(v[i], v[j]) != 0, "'%s' twice",
			    v[i]);
	}
	strv_free(v, n);
}

static void
keys(const char *s)
{
	struct merr err = { 0, "" };
	char *o = SENTINEL;
	size_t i, n;
	int rc;

	rc = confval_fingerprint(s, &o, &err);
	if (rc == 0) {
		n = strlen(o);
		FUZZ_CHECK(confval_is_hex_id(s, strlen(s)) && (n == 40 ||
		    (n == 41 && o[40] == '!')), "fingerprint '%s'", o);
		for (i = 0; i < 40; i++)
			FUZZ_CHECK(isxdigit((unsigned char)o[i]) &&
			    !islower((unsigned char)o[i]), "fpr '%s'", o);
		free(o);
	} else {
		FUZZ_CHECK(o == SENTINEL, "fingerprint touched its output");
		check_err(rc, MERR_CONF, &err, "fingerprint");
	}
	o = SENTINEL;
	/* A C string: a NUL inside would cut the block short. */
	rc = confval_keyblock(s, strlen(s), &o, &err);
	if (rc == 0) {
		/* Empty lines after the END line stay in the block. */
		n = strlen(o);
		while (n > 1 && o[n - 1] == '\n' && o[n - 2] == '\n')
			o[--n] = '\0';
		FUZZ_CHECK(confval_has_keyblock(s, strlen(s)) &&
		    str_startswith(o, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n")
		    && str_endswith(o, "-----END PGP PUBLIC KEY BLOCK-----\n"),
		    "key block");
		free(o);
	} else {
		FUZZ_CHECK(o == SENTINEL, "keyblock touched its output");
		check_err(rc, MERR_CONF, &err, "keyblock");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	char *s = fuzz_cstr(data, size);

	numbers(d, size, s);
	names(d, size, s);
	urls(d, size, s);
	words(d, size);
	keys(s);
	free(s);
	return 0;
}
