/*
 * log.c: leveled, line-at-a-time logging to stderr.
 *
 * The level and the timestamp flag are process-wide state, atomics so
 * that the daemon may change them (log_init on a reload) while its
 * threads log; everything else is passed explicitly. Each line is one
 * write(), so that lines of threads and of processes appending to the
 * same file never interleave.
 */
#include "mirrord/common.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/log.h"

static _Atomic int log_level = LOG_INFO;
static atomic_bool log_timestamps;
static int log_saved_stderr = -1;	/* the first stderr, once moved */

void
log_init(enum log_level level, bool timestamps)
{
	atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
	atomic_store_explicit(&log_timestamps, timestamps,
	    memory_order_relaxed);
}

enum log_level
log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&log_level,
	    memory_order_relaxed);
}

static void
log_v(enum log_level level, const char *fmt, va_list ap)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	char msg[2048], line[2048 + 64];
	char ts[32] = "";
	size_t off;
	ssize_t w;
	int n;

	if ((int)level > atomic_load_explicit(&log_level, memory_order_relaxed))
		return;
	if (atomic_load_explicit(&log_timestamps, memory_order_relaxed)) {
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = snprintf(line, sizeof(line), "%smirrord: %s: %s\n", ts,
	    names[level], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	for (off = 0; off < (size_t)n; off += (size_t)w) {
		w = write(STDERR_FILENO, line + off, (size_t)n - off);
		if (w < 0 && errno == EINTR)
			w = 0;
		else if (w <= 0)
			break;
	}
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

int
log_open_file(const char *path, struct merr *err)
{
	int fd;

	if (log_saved_stderr < 0) {
		log_saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		if (log_saved_stderr < 0)
			return merr_errno(err, "cannot duplicate stderr");
	}
	if (path == NULL)
		fd = log_saved_stderr;
	else
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0640);
	if (fd < 0)
		return merr_errno(err, "cannot open log file '%s'", path);
	if (dup2(fd, STDERR_FILENO) < 0) {
		int rc = merr_errno(err, "cannot redirect stderr to '%s'",
		    path ? path : "stderr");

		if (fd != log_saved_stderr)
			close(fd);
		return rc;
	}
	if (fd != log_saved_stderr)
		close(fd);
	return 0;
}
