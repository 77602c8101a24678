/*
 * t_fmt.c: JSON strings, times and durations (fmt.h).
 */
#include "mirrord/common.h"

#include "mirrord/fmt.h"
#include "tests/unit/tap.h"

/* What fmt_json_str (or _or_null) writes for s. */
static char *
json(const char *s, bool or_null)
{
	char *p = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&p, &n);

	if (f == NULL)
		abort();
	if (or_null)
		fmt_json_str_or_null(f, s);
	else
		fmt_json_str(f, s);
	fclose(f);
	return p;
}

static void
json_is(const char *s, const char *want, const char *what)
{
	char *got = json(s, false);

	is_str(got, want, "json: %s", what);
	free(got);
}

static void
test_json(void)
{
	char all[32], *got;
	int i;

	json_is("", "\"\"", "empty");
	json_is("jammy", "\"jammy\"", "plain");
	json_is("a\"b\\c", "\"a\\\"b\\\\c\"", "quote and backslash");
	json_is("a\nb\tc\rd", "\"a\\u000ab\\u0009c\\u000dd\"",
	    "newline, tab, return as \\u00XX");
	json_is("\x01\x1f", "\"\\u0001\\u001f\"", "0x01 and 0x1f");
	/* RFC 8259 does not ask for DEL to be escaped: it is not. */
	json_is("a\x7f" "b", "\"a\x7f" "b\"", "DEL as it is");
	json_is("/<>'", "\"/<>'\"", "'/' and the rest of ASCII as they are");
	json_is("caf\xc3\xa9", "\"caf\xc3\xa9\"", "UTF-8 as it is");
	/* Every control character, in one string. */
	for (i = 1; i < 32; i++)
		all[i - 1] = (char)i;
	all[31] = '\0';
	got = json(all, false);
	is_int(strlen(got), 2 + 31 * 6, "31 control characters, 6 bytes each");
	ok(strstr(got, "\\u0007\\u0008") != NULL, "BEL, BS in order");
	free(got);

	got = json(NULL, true);
	is_str(got, "null", "or_null: NULL is null");
	free(got);
	got = json("", true);
	is_str(got, "\"\"", "or_null: \"\" is a string");
	free(got);
	got = json("x", true);
	is_str(got, "\"x\"", "or_null: a string");
	free(got);
}

static void
test_time(void)
{
	char out[FMT_TIME_MAX];

	fmt_time_iso(0, out);
	is_str(out, "1970-01-01T00:00:00Z", "iso: the epoch");
	fmt_time_iso(1767322800, out);
	is_str(out, "2026-01-02T03:00:00Z", "iso: 2026-01-02 03:00");
	fmt_time_iso(951782400, out);
	is_str(out, "2000-02-29T00:00:00Z", "iso: a leap day");
	fmt_time_iso(-1, out);
	is_str(out, "1969-12-31T23:59:59Z", "iso: before the epoch");
	fmt_time_utc(1767322805, out);
	is_str(out, "2026-01-02 03:00:05 UTC", "utc: for people");
	fmt_time_iso(INT64_MAX, out);
	is_str(out, "?", "iso: beyond gmtime");
	fmt_time_utc(INT64_MIN, out);
	is_str(out, "?", "utc: beyond gmtime");
	/* The dates on the wire: Release files (UTC) and HTTP (GMT). */
	fmt_time_rfc2822(1765032930, "UTC", out, sizeof(out));
	is_str(out, "Sat, 06 Dec 2025 14:55:30 UTC", "rfc2822: Release's Date");
	fmt_time_rfc2822(784111777, "GMT", out, sizeof(out));
	is_str(out, "Sun, 06 Nov 1994 08:49:37 GMT", "rfc2822: RFC 9110's example");
	fmt_time_rfc2822(951782400, "UTC", out, sizeof(out));
	is_str(out, "Tue, 29 Feb 2000 00:00:00 UTC", "rfc2822: a leap day");
	fmt_time_rfc2822(INT64_MAX, "GMT", out, sizeof(out));
	is_str(out, "?", "rfc2822: beyond gmtime");
}

static void
dur_is(int64_t ms, const char *want)
{
	char out[FMT_TIME_MAX];

	fmt_duration(ms, out);
	is_str(out, want, "duration %lld ms", (long long)ms);
}

static void
test_duration(void)
{
	dur_is(-5000, "0s");
	dur_is(0, "0s");
	dur_is(499, "0s");
	dur_is(500, "1s");
	dur_is(45000, "45s");
	dur_is(119499, "119s");
	dur_is(119500, "2m");		/* 120 s: minutes from here */
	dur_is(300000, "5m");
	dur_is(7199000, "120m");
	dur_is(7200000, "2h");
	dur_is(6 * 3600000LL, "6h");
	dur_is(48 * 3600000LL - 1000, "48h");
	dur_is(48 * 3600000LL, "2d");
	dur_is(3 * 86400000LL + 43199000LL, "3d");
	dur_is(3 * 86400000LL + 43200000LL, "4d");
}

int
main(void)
{
	test_json();
	test_time();
	test_duration();
	return tap_done();
}
