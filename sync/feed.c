/*
 * feed.c: fetching advisory feeds given as URLs (feed.h).
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <errno.h>
#include <unistd.h>

#include "mirrord/advisory.h"
#include "mirrord/feedpath.h"
#include "sync/feed.h"

/* The validators file beside a copy: "ETag: …" and "Last-Modified: …". */
#define FEED_VALIDATORS_MAX 4096

struct feed_validators {
	char *etag;
	char *last_modified;
};

static char *
feed_line(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *p = text, *e;

	while (*p != '\0') {
		e = strchr(p, '\n');
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) > kl + 2 && strncmp(p, key, kl) == 0 &&
		    p[kl] == ':' && p[kl + 1] == ' ')
			return xstrndup(p + kl + 2, (size_t)(e - p) - kl - 2);
		p = *e ? e + 1 : e;
	}
	return NULL;
}

/*
 * The validators of dest's copy; none when the copy is missing (an
 * unconditional GET then fetches it again) or the file is unreadable.
 */
static void
feed_validators_read(const char *dest, struct feed_validators *v)
{
	char *path, *text = NULL;
	struct stat st;
	size_t len;

	memset(v, 0, sizeof(*v));
	if (stat(dest, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	path = xasprintf("%s.validators", dest);
	if (read_file(path, FEED_VALIDATORS_MAX, &text, &len, NULL) == 0 &&
	    strlen(text) == len) {
		v->etag = feed_line(text, "ETag");
		v->last_modified = feed_line(text, "Last-Modified");
	}
	free(text);
	free(path);
}

/* A header value written back: one line, no control bytes. */
static bool
feed_value_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int
feed_validators_write(const char *dest, const struct fetch_mem *res,
    struct merr *err)
{
	struct buf b = BUF_INIT;
	char *path = xasprintf("%s.validators", dest);
	int rc = 0;

	buf_adds(&b, "");
	if (res->etag != NULL && feed_value_ok(res->etag))
		buf_addf(&b, "ETag: %s\n", res->etag);
	if (res->last_modified != NULL && feed_value_ok(res->last_modified))
		buf_addf(&b, "Last-Modified: %s\n", res->last_modified);
	if (b.len > 0)
		rc = write_file_atomic(path, b.p, b.len, 0644, err);
	else if (unlink(path) != 0 && errno != ENOENT)
		rc = merr_errno(err, "cannot remove '%s'", path);
	buf_release(&b);
	free(path);
	return rc;
}

/* dest's directory, made if missing. */
static int
feed_mkdir(const char *dest, struct merr *err)
{
	char *dir = xstrdup(dest), *slash = strrchr(dir, '/');
	int rc = 0;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		rc = mkdir_p(dir, 0755, err);
	}
	free(dir);
	return rc;
}

int
feed_fetch(struct fetch *f, const char *url, const char *dest, size_t max,
    feed_check_fn check, bool *changed, struct merr *err)
{
	struct feed_validators v;
	struct fetch_mem res;
	int rc;

	*changed = false;
	feed_validators_read(dest, &v);
	rc = fetch_get_mem(f, url, max, v.etag, v.last_modified, &res, err);
	free(v.etag);
	free(v.last_modified);
	if (rc == 0 && res.status == 404)
		rc = merr_set(err, MERR_NOTFOUND, "feed '%s': not found (404)",
		    url);
	if (rc || res.status == 304)
		goto out;
	if (check != NULL) {
		/* Its messages name the URL. */
		rc = check(url, res.data, res.len, err);
		if (rc)
			goto out;
	}
	rc = feed_mkdir(dest, err);
	if (rc == 0)
		rc = write_file_atomic(dest, res.data, res.len, 0644, err);
	if (rc)
		goto out;
	*changed = true;
	/* A lost validators file costs one unconditional GET, no more. */
	rc = feed_validators_write(dest, &res, err);
out:
	fetch_mem_release(&res);
	return rc;
}

int
feed_update_mirror(struct fetch *f, const struct conf *c,
    const struct conf_mirror *m, struct merr *err)
{
	const char *url = feedpath_value(m, FEEDPATH_TRACKER);
	char *dest;
	bool changed;
	int rc = 0;

	if (url != NULL && feedpath_is_url(url)) {
		dest = feedpath_copy(c, m, FEEDPATH_TRACKER);
		rc = feed_fetch(f, url, dest, FEED_MAX_BYTES,
		    advisory_check_tracker_mem, &changed, err);
		free(dest);
		if (rc)
			return merr_prefix(err, "mirror '%s': Security-Tracker: ",
			    m->name);
	}
	url = feedpath_value(m, FEEDPATH_OSV);
	if (url != NULL && feedpath_is_url(url)) {
		/* feedpath_get() says why, in the words exposure uses. */
		dest = NULL;
		rc = feedpath_get(c, m, FEEDPATH_OSV, &dest, err);
		free(dest);
	}
	return rc;
}
