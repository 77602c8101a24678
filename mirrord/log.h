/*
 * log.h: one line per event, with a level, to stderr (or a file).
 * Modelled on OpenBSD's log.c. Only main.c calls fatal().
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
void fatal(const char *fmt, ...) ATTR_PRINTF(1, 2) __attribute__((noreturn));

#endif
