/*
 * path.h: canonical relative paths for everything named by remote data.
 *
 * Both functions are pure: no allocation, no state, any thread.
 */
#ifndef MIRRORD_PATH_H
#define MIRRORD_PATH_H

#include "mirrord/common.h"

#define PATH_MAX_REL 1024

/*
 * Checks that [s, s+len) is a canonical relative path: segments separated
 * by single '/', none empty, none "." or "..", no leading or trailing '/',
 * no bytes < 0x21 or 0x7f (control bytes, space), no '%' or '\\', at most
 * PATH_MAX_REL bytes, not empty. Returns 0, or MERR_PARSE with a message
 * saying what is wrong (the path is quoted with unsafe bytes escaped).
 */
int path_check(const char *s, size_t len, struct merr *err);

/*
 * Writes a printable form of [s, s+len) for messages into out (size n),
 * always NUL-terminated (n 0: nothing): bytes outside 0x21..0x7e, and
 * '\\', as \xNN, truncated with "..." if long.
 */
void path_quote(const char *s, size_t len, char *out, size_t n);

#endif
