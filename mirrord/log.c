/*
 * log.c: leveled, line-at-a-time logging to stderr.
 *
 * The level is process-wide state set once by main(); everything else is
 * passed explicitly.
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/log.h"

static enum log_level log_level = LOG_INFO;
static bool log_timestamps;

void
log_init(enum log_level level, bool timestamps)
{
	log_level = level;
	log_timestamps = timestamps;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

static void
log_v(enum log_level level, const char *fmt, va_list ap)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	char line[2048];
	char ts[32] = "";

	if (level > log_level)
		return;
	if (log_timestamps) {
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "%smirrord: %s: %s\n", ts, names[level], line);
}

#define LOG_FN(fn, level) \
void \
fn(const char *fmt, ...) \
{ \
	va_list ap; \
	va_start(ap, fmt); \
	log_v(level, fmt, ap); \
	va_end(ap); \
}

LOG_FN(log_error, LOG_ERROR)
LOG_FN(log_warn, LOG_WARN)
LOG_FN(log_info, LOG_INFO)
LOG_FN(log_debug, LOG_DEBUG)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
