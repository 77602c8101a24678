/*
 * feed.h: fetching a mirror's advisory feeds given as URLs
 * (Security-Tracker: https://…) into the store, where exposure reads
 * them (mirrord/feedpath.h says where).
 *
 * Each fetch is a conditional GET (If-None-Match / If-Modified-Since from
 * the validators kept beside the copy), capped in size. A new body is
 * checked (it must be a feed advisory.c reads) before it replaces the
 * copy, by temp file and rename: a failed fetch, an oversize or
 * malformed body, a 404 all leave the old copy (and its validators) as
 * they were.
 *
 * Threads: as the struct fetch it is given (one thread at a time).
 */
#ifndef MIRRORD_FEED_H
#define MIRRORD_FEED_H

#include "mirrord/common.h"

#include "mirrord/advisory.h"
#include "mirrord/conf.h"
#include "mirrord/fetch.h"

/* The largest feed fetched: advisory.c's cap on a file it reads. */
#define FEED_MAX_BYTES ((size_t)ADVISORY_MAX_FILE)

/* Checks a downloaded body (name: the URL, for messages). */
typedef int (*feed_check_fn)(const char *name, const char *data,
    size_t len, struct merr *err);

/*
 * Fetches url into dest (its directory is made if missing) unless the
 * server says it has not changed since the copy there; check (NULL: none)
 * must accept the body first. *changed says whether dest was rewritten.
 * Errors, the copy untouched: MERR_NOTFOUND (404), MERR_LIMIT (over max
 * bytes), MERR_NET (the transfer, or another HTTP status), MERR_PARSE
 * (check refused it; its message names the URL), MERR_IO (writing dest),
 * MERR_CANCEL.
 */
int feed_fetch(struct fetch *f, const char *url, const char *dest,
    size_t max, feed_check_fn check, bool *changed, struct merr *err);

/*
 * The daemon's hook, after each sync of m (successful or not: the feeds
 * do not depend on it): fetches each of m's feeds that is a URL into its
 * copy (feedpath_copy()). Nothing to do (0) when m has no URL feed.
 * Errors: feed_fetch()'s, prefixed with the mirror and key; MERR_CONF for
 * a Security-OSV: URL (folders only). The caller logs the error and goes
 * on: exposure then uses the previous copy, or reports the feed missing.
 */
int feed_update_mirror(struct fetch *f, const struct conf *c,
    const struct conf_mirror *m, struct merr *err);

#endif
