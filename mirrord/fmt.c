/*
 * fmt.c: times and JSON strings as mirrord prints them (see fmt.h).
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/fmt.h"

void
fmt_json_str(FILE *f, const char *s)
{
	putc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			putc(c, f);
	}
	putc('"', f);
}

void
fmt_json_str_or_null(FILE *f, const char *s)
{
	if (s == NULL)
		fputs("null", f);
	else
		fmt_json_str(f, s);
}

/*
 * t broken down in UTC, ISO 8601 or for people, or "?". The formats are
 * literals here so that the compiler checks them.
 */
static void
fmt_time(int64_t t, bool iso, char out[FMT_TIME_MAX])
{
	time_t tt = (time_t)t;
	struct tm tm;
	size_t n;

	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, FMT_TIME_MAX, "?");
		return;
	}
	if (iso)
		n = strftime(out, FMT_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		n = strftime(out, FMT_TIME_MAX, "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (n == 0)
		snprintf(out, FMT_TIME_MAX, "?");
}

void
fmt_time_iso(int64_t t, char out[FMT_TIME_MAX])
{
	fmt_time(t, true, out);
}

void
fmt_time_utc(int64_t t, char out[FMT_TIME_MAX])
{
	fmt_time(t, false, out);
}

const char *const fmt_months[12] = { "Jan", "Feb", "Mar", "Apr", "May",
    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
const char *const fmt_wdays[7] = { "Sun", "Mon", "Tue", "Wed", "Thu",
    "Fri", "Sat" };

void
fmt_time_rfc2822(int64_t t, const char *zone, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, n, "?");
		return;
	}
	snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d %s",
	    fmt_wdays[tm.tm_wday], tm.tm_mday, fmt_months[tm.tm_mon],
	    (tm.tm_year + 1900) % 10000, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    zone);
}

void
fmt_duration(int64_t ms, char out[FMT_TIME_MAX])
{
	long long s = ms <= 0 ? 0 : (ms + 500) / 1000;

	if (s < 120)
		snprintf(out, FMT_TIME_MAX, "%llds", s);
	else if (s < 120 * 60)
		snprintf(out, FMT_TIME_MAX, "%lldm", (s + 30) / 60);
	else if (s < 48 * 3600)
		snprintf(out, FMT_TIME_MAX, "%lldh", (s + 1800) / 3600);
	else
		snprintf(out, FMT_TIME_MAX, "%lldd", (s + 43200) / 86400);
}

void
fmt_rel(int64_t d, char *out, size_t n)
{
	long long a = d < 0 ? -d : d;
	const char *unit = "s";

	if (a >= 2 * 86400) {
		a = (a + 43200) / 86400;
		unit = "d";
	} else if (a >= 2 * 3600) {
		a = (a + 1800) / 3600;
		unit = "h";
	} else if (a >= 120) {
		a = (a + 30) / 60;
		unit = "m";
	}
	if (d < 0)
		snprintf(out, n, "%lld%s ago", a, unit);
	else
		snprintf(out, n, "in %lld%s", a, unit);
}
