/*
 * feedpath.h: where a mirror's advisory feeds (advisory.h) are on disk.
 *
 * Security-Tracker: and Security-OSV: are each a local path or an http(s)
 * URL. A path is read where it is. A URL is fetched by the daemon after
 * each sync of the mirror (sync/feed.h) into the store:
 *   <Store>/feeds/<mirror>/tracker.json             the tracker's JSON
 *   <Store>/feeds/<mirror>/tracker.json.validators  its ETag and
 *                                                   Last-Modified
 * Ubuntu publishes its OSV records one file each (in a git repository) or
 * as a tarball, never as one JSON document: Security-OSV: is a folder;
 * a URL there is refused (MERR_CONF) until a single-file form exists.
 *
 * Pure functions of the configuration (and, for feedpath_get, one
 * stat()); any thread.
 */
#ifndef MIRRORD_FEEDPATH_H
#define MIRRORD_FEEDPATH_H

#include "mirrord/common.h"

#include "mirrord/conf.h"

enum feedpath_kind {
	FEEDPATH_TRACKER,	/* Security-Tracker: */
	FEEDPATH_OSV		/* Security-OSV: */
};

/* Whether a feed value is a URL (http:// or https://), not a path. */
bool feedpath_is_url(const char *value);

/* The key's value for kind, NULL if unset (borrowed from m). */
const char *feedpath_value(const struct conf_mirror *m, enum feedpath_kind k);

/*
 * Where the daemon keeps its copy of m's feed of kind k fetched from a
 * URL (owned; free()): <Store>/feeds/<mirror>/tracker.json. The
 * validators file is that path with ".validators" added.
 */
char *feedpath_copy(const struct conf *c, const struct conf_mirror *m,
    enum feedpath_kind k);

/*
 * The local path to read m's feed of kind k from, into *out (owned;
 * free()): the configured path, or for a URL the daemon's copy. *out is
 * NULL (and 0 returned) when the key is not set. Errors (the message
 * names the mirror, the key and the URL):
 *   MERR_NOTFOUND  a URL whose copy is not there yet (the daemon has not
 *                  fetched it since it was configured);
 *   MERR_CONF      a URL for Security-OSV: (folders only, see above).
 */
int feedpath_get(const struct conf *c, const struct conf_mirror *m,
    enum feedpath_kind k, char **out, struct merr *err);

#endif
