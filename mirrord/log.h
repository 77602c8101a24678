/*
 * log.h: one line per event, with a level, to stderr (or a file).
 * Modelled on OpenBSD's log.c, without its fatal(): only cmd/ ends the
 * process, by returning from main().
 *
 * Threads: every function may be called from any thread. log_init()
 * may run while other threads log (the daemon's reload): the level and
 * the timestamp flag are atomics, so a line is logged under the old
 * settings or the new ones. log_open_file() swaps stderr with dup2(),
 * which is atomic: a line goes wholly to the old file or the new one.
 * Call it from one thread at a time (the daemon's main thread does).
 */
#ifndef MIRRORD_LOG_H
#define MIRRORD_LOG_H

#include "mirrord/common.h"

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Set the threshold and whether lines carry a timestamp. */
void log_init(enum log_level level, bool timestamps);
enum log_level log_get_level(void);
void log_error(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_warn(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_info(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_debug(const char *fmt, ...) ATTR_PRINTF(1, 2);

/*
 * Sends stderr (log lines, the access log, libraries' messages) to the
 * file path, opened O_APPEND (created 0640); path NULL: back to the
 * stderr the process started with. Called again with the same path after
 * logrotate moved the file, it reopens it. On error stderr is unchanged.
 */
int log_open_file(const char *path, struct merr *err);

#endif
