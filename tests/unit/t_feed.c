/*
 * t_feed.c: sync/feed.c and mirrord/feedpath.c against
 * tests/unit/fetch_server.py on 127.0.0.1 (its /etag/NAME answers 304 to
 * a matching If-None-Match): a 200 then a 304 that rewrites nothing, an
 * oversize, malformed, absent or unreachable feed refused with the old
 * copy kept. Run from the top of the tree.
 */
#include "mirrord/common.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/feedpath.h"
#include "mirrord/advisory.h"
#include "sync/feed.h"
#include "tests/unit/helpers.h"
#include "tests/unit/tap.h"

static char *tmp, *www;
static pid_t server = -1;
static int port;

static const char good[] = "{\"openssl\": {\"CVE-2026-1\": {\"releases\": "
    "{\"bookworm\": {\"status\": \"resolved\", \"fixed_version\": "
    "\"3.0.11-1~deb12u2\", \"urgency\": \"high\"}}}}}\n";
static const char newer[] = "{\"openssl\": {\"CVE-2026-2\": {\"releases\": "
    "{\"bookworm\": {\"status\": \"resolved\", \"fixed_version\": "
    "\"3.0.11-1~deb12u3\", \"urgency\": \"medium\"}}}}}\n";

/* Starts the server on www; its first line of output is the port. */
static int
t_server_start(void)
{
	char line[32];
	int fds[2];
	FILE *fp;

	if (pipe(fds) < 0 || (server = fork()) < 0)
		return -1;
	if (server == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", "tests/unit/fetch_server.py", www,
		    (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	fp = fdopen(fds[0], "r");
	port = fp != NULL && fgets(line, sizeof(line), fp) ? atoi(line) : 0;
	if (fp != NULL)
		fclose(fp);
	return port > 0 ? 0 : -1;
}

static void
t_server_stop(void)
{
	if (server <= 0)
		return;
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	server = -1;
}

static void
t_serve(const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", www, name);
	struct merr err = { 0, "" };

	if (write_file_atomic(p, text, strlen(text), 0644, &err) != 0) {
		printf("# %s\n", err.msg);
		exit(2);
	}
	free(p);
}

/* The copy's inode and text: a rewrite makes a new inode (rename). */
static bool
t_copy_is(const char *path, const char *text, ino_t *ino)
{
	char *got = NULL;
	struct stat st;
	size_t len;
	bool same;

	if (stat(path, &st) != 0)
		return false;
	*ino = st.st_ino;
	same = read_file(path, 1 << 20, &got, &len, NULL) == 0 &&
	    len == strlen(text) && memcmp(got, text, len) == 0;
	free(got);
	return same;
}

static void
t_conditional(struct fetch *f, struct conf *c, struct conf_mirror *m)
{
	struct merr err = { 0, "" };
	char *dest = feedpath_copy(c, m, FEEDPATH_TRACKER), *vp, *vt = NULL;
	ino_t ino1 = 0, ino2 = 0;
	bool changed = false;
	size_t len;

	t_serve("tracker.json", good);
	is_int(feed_fetch(f, m->security_tracker, dest, FEED_MAX_BYTES,
	    advisory_check_tracker_mem, &changed, &err), 0,
	    "200: fetched (%s)", err.msg);
	ok(changed, "200: the copy is written");
	ok(t_copy_is(dest, good, &ino1), "200: the copy holds the body");
	vp = xasprintf("%s.validators", dest);
	ok(read_file(vp, 4096, &vt, &len, NULL) == 0 &&
	    strstr(vt, "ETag: \"") && strstr(vt, "Last-Modified: Mon, 01 Jan"),
	    "200: ETag and Last-Modified kept beside it");
	free(vt);

	changed = true;
	is_int(feed_fetch(f, m->security_tracker, dest, FEED_MAX_BYTES,
	    advisory_check_tracker_mem, &changed, &err), 0, "304: no error");
	ok(!changed, "304: not changed");
	ok(t_copy_is(dest, good, &ino2) && ino2 == ino1,
	    "304: the copy is not rewritten (same inode)");

	/* The feed changes upstream, but the body is over the cap. */
	t_serve("tracker.json", newer);
	is_int(feed_fetch(f, m->security_tracker, dest, strlen(newer) - 1,
	    advisory_check_tracker_mem, &changed, &err), MERR_LIMIT,
	    "oversize: MERR_LIMIT");
	ok(!changed && t_copy_is(dest, good, &ino2) && ino2 == ino1,
	    "oversize: the old copy is kept");

	t_serve("tracker.json", "<html>busy</html>\n");
	is_int(feed_fetch(f, m->security_tracker, dest, FEED_MAX_BYTES,
	    advisory_check_tracker_mem, &changed, &err), MERR_PARSE,
	    "not JSON: MERR_PARSE");
	ok(strstr(err.msg, m->security_tracker) && strstr(err.msg, "not JSON"),
	    "not JSON: '%s'", err.msg);
	ok(!changed && t_copy_is(dest, good, &ino2) && ino2 == ino1,
	    "not JSON: the old copy is kept");

	t_serve("tracker.json", newer);
	is_int(feed_fetch(f, m->security_tracker, dest, FEED_MAX_BYTES,
	    advisory_check_tracker_mem, &changed, &err), 0,
	    "changed upstream: fetched (%s)", err.msg);
	ok(changed && t_copy_is(dest, newer, &ino2) && ino2 != ino1,
	    "changed upstream: the copy is replaced");
	free(vp);
	free(dest);
}

static void
t_failures(struct fetch *f, struct conf *c, struct conf_mirror *m)
{
	struct merr err = { 0, "" };
	char *dest = feedpath_copy(c, m, FEEDPATH_TRACKER);
	char *url = xasprintf("http://127.0.0.1:%d/etag/absent.json", port);
	ino_t ino1 = 0, ino2 = 0;
	bool changed = true;

	ok(t_copy_is(dest, newer, &ino1), "a copy is there");
	is_int(feed_fetch(f, url, dest, FEED_MAX_BYTES, NULL, &changed, &err),
	    MERR_NOTFOUND, "404: MERR_NOTFOUND");
	ok(!changed && t_copy_is(dest, newer, &ino2) && ino2 == ino1,
	    "404: the old copy is kept");
	free(url);

	t_server_stop();
	is_int(feed_update_mirror(f, c, m, &err), MERR_NET,
	    "server down: MERR_NET");
	ok(str_startswith(err.msg, "mirror 'debian': Security-Tracker: "),
	    "server down: '%s'", err.msg);
	ok(t_copy_is(dest, newer, &ino2) && ino2 == ino1,
	    "server down: the old copy is kept");
	free(dest);
}

static void
t_paths(struct conf *c, struct conf_mirror *m)
{
	struct conf_mirror local = { .name = "local" };
	struct merr err = { 0, "" };
	char *p = NULL, *want;

	is_int(feedpath_get(c, m, FEEDPATH_TRACKER, &p, &err), MERR_NOTFOUND,
	    "a URL not fetched yet: MERR_NOTFOUND");
	ok(strstr(err.msg, "not fetched yet") && strstr(err.msg,
	    "Security-Tracker"), "'%s'", err.msg);
	local.security_tracker = "/srv/feeds/tracker.json";
	is_int(feedpath_get(c, &local, FEEDPATH_TRACKER, &p, &err), 0,
	    "a path");
	is_str(p, "/srv/feeds/tracker.json", "a path is read where it is");
	free(p);
	is_int(feedpath_get(c, &local, FEEDPATH_OSV, &p, &err), 0,
	    "no Security-OSV:");
	ok(p == NULL, "no key, no path");
	local.security_osv = "https://example.org/osv";
	is_int(feedpath_get(c, &local, FEEDPATH_OSV, &p, &err), MERR_CONF,
	    "an OSV URL: MERR_CONF");
	ok(strstr(err.msg, "give a folder") != NULL, "'%s'", err.msg);
	want = xasprintf("%s/feeds/debian/tracker.json", tmp);
	p = feedpath_copy(c, m, FEEDPATH_TRACKER);
	is_str(p, want, "the copy is <Store>/feeds/<mirror>/tracker.json");
	free(p);
	free(want);
}

static void
t_after_fetch(struct conf *c, struct conf_mirror *m)
{
	struct merr err = { 0, "" };
	char *p = NULL;

	is_int(feedpath_get(c, m, FEEDPATH_TRACKER, &p, &err), 0,
	    "a fetched URL has its path (%s)", err.msg);
	ok(p != NULL && str_endswith(p, "/feeds/debian/tracker.json"),
	    "it is the copy");
	free(p);
}

int
main(void)
{
	struct fetch_opts o = { 1, 0, 5, 5, 10 };
	struct conf_mirror m = { .name = "debian" };
	struct merr err = { 0, "" };
	struct fetch *f = NULL;
	struct conf *c;

	alarm(60);
	tmp = helpers_tmpdir_new("t_feed");
	if (tmp == NULL)
		return 1;
	www = xasprintf("%s/www", tmp);
	mkdir(www, 0755);
	if (t_server_start() != 0) {
		printf("1..0 # SKIP cannot start tests/unit/fetch_server.py\n");
		t_server_stop();
		helpers_tmpdir_free(tmp);
		return 0;
	}
	if (fetch_new(&o, &f, &err) != 0) {
		printf("# fetch_new: %s\n", err.msg);
		return 2;
	}
	c = conf_new();
	free(c->store);
	c->store = xstrdup(tmp);
	m.security_tracker = xasprintf("http://127.0.0.1:%d/etag/tracker.json",
	    port);
	t_paths(c, &m);
	t_conditional(f, c, &m);
	t_after_fetch(c, &m);
	t_failures(f, c, &m);
	free(m.security_tracker);
	conf_free(c);
	fetch_free(f);
	t_server_stop();
	free(www);
	helpers_tmpdir_free(tmp);
	return tap_done();
}
