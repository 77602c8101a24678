/*
 * feedpath.c: where a mirror's advisory feeds are on disk (feedpath.h).
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include "mirrord/feedpath.h"

static const char *const feedpath_keys[] = {
	[FEEDPATH_TRACKER] = "Security-Tracker",
	[FEEDPATH_OSV] = "Security-OSV",
};

bool
feedpath_is_url(const char *value)
{
	return str_startswith(value, "http://") ||
	    str_startswith(value, "https://");
}

const char *
feedpath_value(const struct conf_mirror *m, enum feedpath_kind k)
{
	return k == FEEDPATH_TRACKER ? m->security_tracker : m->security_osv;
}

char *
feedpath_copy(const struct conf *c, const struct conf_mirror *m,
    enum feedpath_kind k)
{
	return xasprintf("%s/feeds/%s/%s", c->store, m->name,
	    k == FEEDPATH_TRACKER ? "tracker.json" : "osv");
}

int
feedpath_get(const struct conf *c, const struct conf_mirror *m,
    enum feedpath_kind k, char **out, struct merr *err)
{
	const char *v = feedpath_value(m, k);
	struct stat st;
	char *p;

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!feedpath_is_url(v)) {
		*out = xstrdup(v);
		return 0;
	}
	if (k == FEEDPATH_OSV)
		return merr_set(err, MERR_CONF, "mirror '%s': %s: '%s': a URL "
		    "is not supported (Ubuntu publishes no single-file form of "
		    "its OSV records): give a folder", m->name,
		    feedpath_keys[k], v);
	p = feedpath_copy(c, m, k);
	if (stat(p, &st) != 0) {
		free(p);
		return merr_set(err, MERR_NOTFOUND, "mirror '%s': %s: '%s' is "
		    "not fetched yet (the daemon fetches it after each sync)",
		    m->name, feedpath_keys[k], v);
	}
	*out = p;
	return 0;
}
