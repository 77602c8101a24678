/*
 * fmt.h: the one time and JSON formatter. The commands, `status` and the
 * server's pages print times and JSON strings through these, so that one
 * rule holds everywhere.
 *
 * Pure: no allocation, no locale, no state; safe from any thread.
 */
#ifndef MIRRORD_FMT_H
#define MIRRORD_FMT_H

#include "mirrord/common.h"

#include <stdio.h>

/* Room for any fmt_time_* or fmt_duration result, with its NUL. */
#define FMT_TIME_MAX 32

/*
 * Writes s to f as a JSON string, quotes included. The rule (RFC 8259,
 * section 7, and no more): '"' and '\' are escaped with a backslash,
 * the control characters U+0000..U+001F as \u00XX (lowercase hex);
 * every other byte, DEL (0x7f) and UTF-8 sequences included, is written
 * as it is. Bytes that are not UTF-8 are not repaired: mirrord's names
 * are ASCII (conf.h), and what it copies from upstream is written as
 * upstream wrote it. s must not be NULL; a write error is left in
 * ferror(f).
 */
void fmt_json_str(FILE *f, const char *s);

/* fmt_json_str(f, s), or the JSON null when s is NULL. */
void fmt_json_str_or_null(FILE *f, const char *s);

/*
 * t, seconds since the epoch, as ISO 8601 in UTC into out:
 * "2026-01-02T03:04:05Z". A time gmtime cannot break down gives "?".
 */
void fmt_time_iso(int64_t t, char out[FMT_TIME_MAX]);

/*
 * The same for people to read, as `snapshot show` and `status` print it:
 * "2026-01-02 03:04:05 UTC". A time gmtime cannot break down gives "?".
 */
void fmt_time_utc(int64_t t, char out[FMT_TIME_MAX]);

/* English abbreviated month and weekday names, as dates on the wire use. */
extern const char *const fmt_months[12];	/* "Jan".."Dec" */
extern const char *const fmt_wdays[7];		/* "Sun".."Sat" */

/*
 * t as RFC 2822 / RFC 9110's IMF-fixdate with zone as the last word:
 * "Sun, 06 Dec 2026 14:55:30 UTC" (zone "UTC": apt's Release Date;
 * "GMT": HTTP's Date and Last-Modified). C names whatever the locale,
 * the year modulo 10,000 (always four digits). At most FMT_TIME_MAX
 * bytes with the NUL for a zone of up to 3 letters; n is out's size
 * (snprintf: cut to fit). A time gmtime cannot break down gives "?".
 */
void fmt_time_rfc2822(int64_t t, const char *zone, char *out, size_t n);

/*
 * A duration in milliseconds, rounded to one unit, for log lines and
 * systemd's STATUS=: "45s" under 2 minutes, "5m" under 2 hours, "6h"
 * under 2 days, then "3d". Negative durations read "0s".
 */
void fmt_duration(int64_t ms, char out[FMT_TIME_MAX]);

/* "3m ago", "in 2h": d seconds from now (negative: past), into out (n). */
void fmt_rel(int64_t d, char *out, size_t n);

#endif
