/*
 * t_conf.c: configuration loading, errors, relative paths, defaults, and
 * the shipped conf/mirrord.conf and conf/demo/mirrord.conf (the test
 * runs from the repository root, as `make unit` does).
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <limits.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "tests/unit/helpers.h"
#include "tests/unit/tap.h"

static char tmp[PATH_MAX];	/* realpath of the test's mkdtemp() */
static unsigned ncase;		/* numbers the case directories */

static void
put(const char *rel, const char *content)
{
	char *path = xasprintf("%s/%s", tmp, rel), *slash;
	struct merr err;

	slash = strrchr(path, '/');
	*slash = '\0';
	if (mkdir_p(path, 0755, &err) != 0)
		printf("# %s\n", err.msg);
	*slash = '/';
	if (write_file_atomic(path, content, strlen(content), 0644, &err))
		printf("# %s\n", err.msg);
	free(path);
}

/* A readable keyring file (conf only checks that it can be opened). */
static const char keyring_rel[] = "keys/archive.gpg";

static const char mirror_tail[] =
    "Types: deb\n"
    "URIs: http://example.org/debian\n"
    "Suites: stable\n"
    "Components: main\n"
    "Architectures: amd64\n";

/*
 * Loads main (and mirrors.d/dname with dcontent if dname is set) from a
 * fresh directory. Expects rc and an error starting with "'<dir>/<efile>'
 * line <eline>: " and containing want.
 */
static void
expect_err(const char *what, const char *main_conf, const char *dname,
    const char *dcontent, int rc_want, const char *efile, unsigned eline,
    const char *want)
{
	char *dir, *rel, *path, *prefix;
	struct conf *c = NULL;
	struct merr err = { 0, "" };
	int rc;

	dir = xasprintf("case%u", ++ncase);
	rel = xasprintf("%s/mirrord.conf", dir);
	put(rel, main_conf);
	free(rel);
	if (dname != NULL) {
		rel = xasprintf("%s/mirrors.d/%s", dir, dname);
		put(rel, dcontent);
		free(rel);
	}
	path = xasprintf("%s/%s/mirrord.conf", tmp, dir);
	rc = conf_load(path, &c, &err);
	is_int(rc, rc_want, "%s: fails", what);
	is_int(err.code, rc_want, "%s: err code", what);
	ok(c == NULL, "%s: no conf returned", what);
	prefix = xasprintf("'%s/%s/%s' line %u: ", tmp, dir, efile, eline);
	ok(strncmp(err.msg, prefix, strlen(prefix)) == 0,
	    "%s: names file and line", what);
	ok(strstr(err.msg, want) != NULL, "%s: says '%s'", what, want);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0 ||
	    strstr(err.msg, want) == NULL)
		printf("#   message: %s\n#   wanted prefix: %s\n", err.msg,
		    prefix);
	if (c != NULL)
		conf_free(c);
	free(prefix);
	free(path);
	free(dir);
}

/* Loads tmp/rel; returns the conf or NULL (with a diagnostic). */
static struct conf *
load(const char *rel)
{
	char *path = xasprintf("%s/%s", tmp, rel);
	struct conf *c = NULL;
	struct merr err = { 0, "" };

	if (conf_load(path, &c, &err) != 0) {
		printf("# conf_load '%s': %s\n", path, err.msg);
		c = NULL;
	}
	free(path);
	return c;
}

static void
test_defaults(void)
{
	struct conf *c;

	put("defaults/mirrord.conf", "# nothing but a comment\n");
	c = load("defaults/mirrord.conf");
	ok(c != NULL, "a config of only comments loads");
	if (c == NULL)
		return;
	is_str(c->store, "/var/lib/mirrord", "default Store");
	is_str(c->listen, "127.0.0.1:8080", "default Listen");
	ok(c->base_url == NULL, "default Base-URL unset");
	ok(c->log_file == NULL, "default Log-File unset");
	ok(c->access_log == NULL, "default Access-Log unset");
	is_int(c->connections, 8, "default Connections");
	is_int(c->retries, 5, "default Retries");
	is_int(c->connect_timeout, 30, "default Connect-Timeout");
	is_int(c->stall_timeout, 60, "default Stall-Timeout");
	is_int(c->clock_skew, 600, "default Clock-Skew");
	is_int(c->sync_interval, 6 * 3600, "default Sync-Interval");
	is_int(c->serve_map_mib, 64, "default Serve-Map-MiB");
	ok(c->keep_snapshots == NULL, "default Keep-Snapshots unset");
	is_int(c->nmirrors, 0, "no mirrors");
	ok(conf_mirror(c, "x") == NULL, "conf_mirror of nothing is NULL");
	conf_free(c);
}

/* conf_new() holds the defaults a file without a global stanza gives. */
static void
test_new(void)
{
	struct conf *c = conf_new(), *l;
	char *key;

	put("new/mirrord.conf", "# nothing\n");
	l = load("new/mirrord.conf");
	ok(l != NULL, "an empty config loads");
	if (l == NULL) {
		conf_free(c);
		return;
	}
	ok(c->path == NULL && c->nmirrors == 0, "conf_new: no path, mirrors");
	is_str(c->store, l->store, "conf_new: Store");
	is_str(c->listen, l->listen, "conf_new: Listen");
	is_str(c->trusted_parts, "/etc/apt/trusted.gpg.d",
	    "conf_new: Trusted-Parts");
	ok(c->connections == l->connections && c->retries == l->retries &&
	    c->connect_timeout == l->connect_timeout &&
	    c->stall_timeout == l->stall_timeout &&
	    c->clock_skew == l->clock_skew &&
	    c->sync_interval == l->sync_interval &&
	    c->gc_grace == l->gc_grace && c->valid_for == l->valid_for &&
	    c->channel_history == l->channel_history &&
	    c->serve_threads == l->serve_threads &&
	    c->serve_map_mib == l->serve_map_mib &&
	    c->max_clients == l->max_clients &&
	    c->max_clients_per_ip == l->max_clients_per_ip &&
	    c->client_timeout == l->client_timeout,
	    "conf_new: the numbers conf_load gives");
	is_int(c->gc_grace, 36 * 3600, "default Gc-Grace");
	is_int(c->channel_history, 5, "default Channel-History");
	is_int(c->max_clients, 1024, "default Max-Clients");
	is_int(c->client_timeout, 30, "default Client-Timeout");
	is_int(c->max_clients_per_ip, 0, "Max-Clients-Per-IP: 0, a quarter");
	key = conf_signing_key(c);
	is_str(key, "/var/lib/mirrord/signing-key.asc",
	    "default signing key in the store");
	free(key);
	c->signing_key = xstrdup("/etc/mirrord/key.asc");
	key = conf_signing_key(c);
	is_str(key, "/etc/mirrord/key.asc", "Signing-Key: as given");
	free(key);
	conf_free(c);
	conf_free(l);
}

static void
test_good(void)
{
	const struct conf_mirror *m;
	struct conf *c;
	char *want;

	put("good/keys/archive.gpg", "key");
	put("good/etc/mirrord.conf",
	    "# global settings\n"
	    "store: ../data//store/\n"
	    "LISTEN: [::]:9090\n"
	    "Base-URL: https://mirror.example.org/apt/\n"
	    "Log-File: log/mirrord.log\n"
	    "Access-Log: log/access.log\n"
	    "Connections: 64\n"
	    "Retries: 0\n"
	    "Connect-Timeout: 1m\n"
	    "Stall-Timeout: 90s\n"
	    "Clock-Skew: 0\n"
	    "Sync-Interval: 1d\n"
	    "Keep-Snapshots: 30d\n"
	    "Valid-For: 7d\n"
	    "Signing-Key: whatever\n"
	    "Gc-Grace: 2d\n"
	    "Channel-History: 100\n"
	    "Serve-Map-MiB: 0\n"
	    "\n"
	    "Name: ubuntu\n"
	    "types: deb deb-src\n"
	    "URIs: http://archive.ubuntu.com/ubuntu/\n"
	    "Suites: jammy\n"
	    "  jammy-updates\n"
	    "# a comment in a stanza\n"
	    "\tjammy-security\n"
	    "Components: main universe\n"
	    "Architectures: amd64 arm64\n"
	    "Signed-By: ../keys/archive.gpg\n"
	    "Enabled: no\n"
	    "Sync-Interval: 2h\n"
	    "Keep-Snapshots: last 10\n");
	/* Read in name order: 10-c before 20-b. Others are ignored. */
	put("good/etc/mirrors.d/20-b.sources",
	    "Name: b\n"
	    "Types: deb\n"
	    "URIs: file:../../archive/\n"
	    "Suites: stable\n"
	    "Components: main\n"
	    "Architectures: amd64\n"
	    "Signed-By: ../../keys/archive.gpg\n");
	put("good/etc/mirrors.d/10-c.sources",
	    "# two stanzas in one file\r\n"
	    "Name: c\r\n"
	    "Types: deb-src\r\n"
	    "URIs: file:///srv//x/./y/../z/\r\n"
	    "Suites: sid\r\n"
	    "Components: main\r\n"
	    "Signed-By: /etc/passwd\r\n"
	    "\r\n"
	    "Name: c.2_x-y\r\n"
	    "Types: deb\r\n"
	    "URIs: https://deb.example.org\r\n"
	    "Suites: a/b\r\n"
	    "Components: main\r\n"
	    "Architectures: all\r\n"
	    "Signed-By: /etc/passwd\r\n");
	put("good/etc/mirrors.d/README", "not a config\n");
	put("good/etc/mirrors.d/x.sources.bak", "not a config\n");
	put("good/etc/mirrors.d/.hidden.sources", "not a config\n");

	c = load("good/etc/mirrord.conf");
	ok(c != NULL, "a full config with mirrors.d loads");
	if (c == NULL)
		return;
	want = xasprintf("%s/good/etc/mirrord.conf", tmp);
	is_str(c->path, want, "path kept");
	free(want);
	want = xasprintf("%s/good/data/store", tmp);
	is_str(c->store, want, "relative Store made absolute and normalised");
	free(want);
	is_str(c->listen, "[::]:9090", "Listen");
	is_str(c->base_url, "https://mirror.example.org/apt",
	    "Base-URL without trailing '/'");
	want = xasprintf("%s/good/etc/log/mirrord.log", tmp);
	is_str(c->log_file, want, "relative Log-File");
	free(want);
	want = xasprintf("%s/good/etc/log/access.log", tmp);
	is_str(c->access_log, want, "relative Access-Log");
	free(want);
	is_int(c->connections, 64, "Connections");
	is_int(c->serve_map_mib, 0, "Serve-Map-MiB 0 (nothing mapped)");
	is_int(c->retries, 0, "Retries");
	is_int(c->connect_timeout, 60, "Connect-Timeout");
	is_int(c->stall_timeout, 90, "Stall-Timeout");
	is_int(c->clock_skew, 0, "Clock-Skew");
	is_int(c->sync_interval, 86400, "Sync-Interval");
	is_str(c->keep_snapshots, "30d", "Keep-Snapshots");
	is_int(c->nmirrors, 4, "four mirrors");
	if (c->nmirrors != 4) {
		conf_free(c);
		return;
	}
	is_str(c->mirrors[0].name, "ubuntu", "main file's mirror first");
	is_str(c->mirrors[1].name, "c", "then mirrors.d in name order");
	is_str(c->mirrors[2].name, "c.2_x-y", "second stanza of a file");
	is_str(c->mirrors[3].name, "b", "last file last");

	m = conf_mirror(c, "ubuntu");
	ok(m == &c->mirrors[0], "conf_mirror finds 'ubuntu'");
	ok(m->deb && m->deb_src, "Types deb deb-src");
	is_str(m->uri, "http://archive.ubuntu.com/ubuntu", "http URI");
	is_int(m->nsuites, 3, "three suites over continuation lines");
	is_str(m->suites[0], "jammy", "suite 1");
	is_str(m->suites[1], "jammy-updates", "suite 2");
	is_str(m->suites[2], "jammy-security", "suite 3");
	is_int(m->ncomponents, 2, "two components");
	is_str(m->components[1], "universe", "component 2");
	is_int(m->narches, 2, "two architectures");
	is_str(m->arches[1], "arm64", "architecture 2");
	want = xasprintf("%s/good/keys/archive.gpg", tmp);
	ok(m->nkeyrings == 1 && m->nkey_fprs == 0 && m->keyblock == NULL,
	    "one keyring, no fingerprint, no key block");
	is_str(m->keyrings[0], want, "relative Signed-By");
	free(want);
	ok(!m->enabled, "Enabled: no");
	is_int(m->sync_interval, 7200, "mirror Sync-Interval");
	is_str(m->keep_snapshots, "last 10", "mirror Keep-Snapshots");
	want = xasprintf("%s/good/etc/mirrord.conf", tmp);
	is_str(m->file, want, "mirror file");
	free(want);
	is_int(m->line, 20, "mirror line");

	m = conf_mirror(c, "c");
	ok(m != NULL && !m->deb && m->deb_src, "Types deb-src only");
	is_str(m->uri, "file:///srv/x/z", "file:/// URI normalised");
	is_int(m->narches, 0, "no Architectures needed for deb-src");
	ok(m->enabled, "Enabled defaults to yes");
	is_int(m->sync_interval, 0, "mirror Sync-Interval defaults to 0");
	ok(m->keep_snapshots == NULL, "mirror Keep-Snapshots unset");
	is_str(m->keyrings[0], "/etc/passwd", "absolute Signed-By");
	want = xasprintf("%s/good/etc/mirrors.d/10-c.sources", tmp);
	is_str(m->file, want, "mirrors.d file recorded");
	free(want);
	is_int(m->line, 2, "line after a comment");

	m = conf_mirror(c, "c.2_x-y");
	is_str(m->uri, "https://deb.example.org", "https URI");
	is_str(m->suites[0], "a/b", "suite with a '/'");
	is_int(m->line, 9, "second stanza's line (CRLF file)");

	m = conf_mirror(c, "b");
	want = xasprintf("file://%s/good/archive", tmp);
	is_str(m->uri, want, "relative file: URI from mirrors.d");
	free(want);
	ok(conf_mirror(c, "B") == NULL, "names are case-sensitive");
	conf_free(c);
}

/* Relative paths go through the realpath of the file's directory. */
static void
test_relative(void)
{
	struct conf *c;
	char *want, *link, *target, cwd[PATH_MAX];
	int rc;

	put("real/dir/mirrord.conf", "Store: store\n");
	target = xasprintf("%s/real/dir", tmp);
	link = xasprintf("%s/link", tmp);
	/* ok() evaluates its condition twice: no side effects in it. */
	rc = symlink(target, link);
	is_int(rc, 0, "symlink made");
	c = load("link/mirrord.conf");
	want = xasprintf("%s/real/dir/store", tmp);
	is_str(c ? c->store : NULL, want,
	    "Store relative to the directory's realpath");
	conf_free(c);
	free(want);
	free(link);

	/* A bare file name is relative to the working directory. */
	put("real/dir/mirrors.d/m.sources", "Name: m\n"
	    "Types: deb-src\nURIs: file:a\nSuites: s\nComponents: c\n"
	    "Signed-By: /etc/passwd\n");
	rc = getcwd(cwd, sizeof(cwd)) == NULL ? -1 : chdir(target);
	is_int(rc, 0, "chdir to the config");
	{
		struct merr err;

		c = NULL;
		is_int(conf_load("mirrord.conf", &c, &err), 0,
		    "load by bare file name");
		want = xasprintf("%s/real/dir/store", tmp);
		is_str(c ? c->store : NULL, want, "Store from bare name");
		free(want);
		want = xasprintf("file://%s/real/dir/mirrors.d/a", tmp);
		is_str(c && c->nmirrors == 1 ? c->mirrors[0].uri : NULL, want,
		    "mirrors.d found beside a bare file name");
		free(want);
		conf_free(c);
	}
	rc = chdir(cwd);
	is_int(rc, 0, "chdir back");

	/* ".." above the root stays at the root. */
	put("root/mirrord.conf", "Store: /../../x/..\n");
	c = load("root/mirrord.conf");
	is_str(c ? c->store : NULL, "/", "'..' cannot climb above '/'");
	conf_free(c);
	free(target);
}

static void
test_errors(void)
{
	char *mirror_a, *sb, *long_name, *main_a;

	put(keyring_rel, "key");
	sb = xasprintf("Signed-By: %s/%s\n", tmp, keyring_rel);
	mirror_a = xasprintf("Name: a\n%s%s", mirror_tail, sb);
	main_a = xasprintf("Store: /s\n\n%s", mirror_a);

	expect_err("unknown global key", "Store: /x\nFrobnicate: 1\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 2, "unknown key 'Frobnicate'");
	expect_err("unknown mirror key", "Name: a\nColour: red\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 2, "unknown key 'Colour'");
	expect_err("mirror key in the global stanza",
	    "Store: /x\nSuites: jammy\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 2, "'Suites' belongs in a mirror stanza");
	expect_err("global key in a mirror stanza",
	    "Name: a\nListen: 1.2.3.4:80\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 2, "global key 'Listen' is not allowed in a "
	    "mirror stanza");
	expect_err("global key in mirrors.d", "Store: /x\n", "m.sources",
	    "\n# c\nStore: /y\n", MERR_CONF, "mirrors.d/m.sources", 3,
	    "global key 'Store' is not allowed in mirrors.d");
	expect_err("second global stanza", "Store: /x\n\nListen: a:1\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 3, "second global stanza");
	expect_err("repeated key (deb822)", "Store: /x\nstore: /y\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 2, "field 'store' repeated");
	expect_err("line without colon (deb822)", "Store: /x\noops\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 2, "expected 'Field: value'");
	expect_err("empty value", "Store:\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 1, "'Store' needs a value");
	expect_err("two words for one", "Store: /a /b\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 1, "'Store' takes a single value");
	expect_err("Listen without port", "Listen: 8080\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 1, "'Listen' must be HOST:PORT");
	expect_err("Listen port 0", "Listen: a:0\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 1, "'Listen' must be HOST:PORT");
	expect_err("Base-URL not http", "Base-URL: ftp://x\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 1,
	    "unsupported URI 'ftp://x' (want http:// or https://)");
	expect_err("Serve-Map-MiB in MB", "Serve-Map-MiB: 64M\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 1,
	    "'Serve-Map-MiB' must be a number from 0 to 1048576, not '64M'");
	expect_err("Connections 0", "Connections: 0\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 1, "'Connections' must be a number from 1 to 64");
	expect_err("Connections 65", "Connections: 65\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 1, "from 1 to 64, not '65'");
	expect_err("Retries 21", "Retries: 21\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 1, "'Retries' must be a number from 0 to 20");
	expect_err("Connect-Timeout 0", "Connect-Timeout: 0s\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 1, "'Connect-Timeout' must be at "
	    "least 1s");
	expect_err("bad duration", "Sync-Interval: 6x\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 1, "'Sync-Interval': invalid duration "
	    "'6x'");
	expect_err("bad Keep-Snapshots", "Keep-Snapshots: forever\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 1, "invalid 'forever'");
	expect_err("Keep-Snapshots: a bare number", "Keep-Snapshots: 10\n",
	    NULL, NULL, MERR_CONF, "mirrord.conf", 1, "invalid '10'");
	expect_err("Keep-Snapshots: last 0", "Keep-Snapshots: last 0\n",
	    NULL, NULL, MERR_CONF, "mirrord.conf", 1, "'last' needs a count");
	expect_err("Keep-Snapshots: two durations",
	    "Keep-Snapshots: 30d 40d\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 1, "invalid '40d'");
	{
		struct merr e = { 0 };
		unsigned n;
		long age;

		ok(confval_keep("30d last 5", &age, &n, &e) == 0 &&
		    age == 30 * 86400 && n == 5, "Keep-Snapshots: both rules");
		ok(confval_keep("last 3", &age, &n, &e) == 0 && age == 0 &&
		    n == 3, "Keep-Snapshots: last N alone");
		ok(confval_keep("12h", &age, &n, &e) == 0 &&
		    age == 12 * 3600 && n == 0, "Keep-Snapshots: age alone");
	}
	expect_err("empty reserved key", "Gc-Grace:\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 1, "'Gc-Grace' needs a value");

	/*
	 * Gc-Grace: 0s made moving channels answer 404s during a gc; at
	 * least 1h. MIRRORD_TEST_GC_GRACE_MIN lowers the floor for tests.
	 */
	unsetenv("MIRRORD_TEST_GC_GRACE_MIN");
	expect_err("Gc-Grace: 0s", "Store: /x\nGc-Grace: 0s\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 2,
	    "'Gc-Grace' must be at least 1h, not '0s'");
	expect_err("Gc-Grace: 59m", "# c\nGc-Grace: 59m\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 2,
	    "'Gc-Grace' must be at least 1h, not '59m'");
	put("grace/mirrord.conf", "Gc-Grace: 1h\n");
	{
		struct conf *c = load("grace/mirrord.conf");

		ok(c != NULL && c->gc_grace == 3600, "Gc-Grace: 1h is fine");
		conf_free(c);
		put("grace/mirrord.conf", "Gc-Grace: 0\n");
		setenv("MIRRORD_TEST_GC_GRACE_MIN", "0", 1);
		c = load("grace/mirrord.conf");
		ok(c != NULL && c->gc_grace == 0,
		    "Gc-Grace: 0 with MIRRORD_TEST_GC_GRACE_MIN=0");
		conf_free(c);
		setenv("MIRRORD_TEST_GC_GRACE_MIN", "90", 1);
		expect_err("Gc-Grace under a test floor", "Gc-Grace: 89s\n",
		    NULL, NULL, MERR_CONF, "mirrord.conf", 1,
		    "'Gc-Grace' must be at least 90s, not '89s'");
		unsetenv("MIRRORD_TEST_GC_GRACE_MIN");
	}

	expect_err("missing Signed-By", "Store: /x\n\nName: a\n"
	    "Types: deb\nURIs: http://h/d\nSuites: s\nComponents: c\n"
	    "Architectures: amd64\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 3, "mirror 'a': missing 'Signed-By'");
	expect_err("missing Name in mirrors.d", "", "m.sources",
	    "Types: deb\n", MERR_CONF, "mirrors.d/m.sources", 1,
	    "missing 'Name'");
	expect_err("missing Types", "Name: a\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 1, "mirror 'a': missing 'Types'");
	expect_err("missing URIs", "Name: a\nTypes: deb\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 1, "missing 'URIs'");
	expect_err("missing Suites", "Name: a\nTypes: deb\nURIs: http://h\n",
	    NULL, NULL, MERR_CONF, "mirrord.conf", 1, "missing 'Suites'");
	expect_err("missing Components", "Name: a\nTypes: deb\n"
	    "URIs: http://h\nSuites: s\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 1, "missing 'Components'");
	expect_err("missing Architectures with deb", "Name: a\nTypes: deb\n"
	    "URIs: http://h\nSuites: s\nComponents: c\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 1, "missing 'Architectures'");

	expect_err("bad name (upper case)", "Name: Ubuntu\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 1, "invalid mirror name 'Ubuntu'");
	expect_err("bad name (leading '-')", "Name: -x\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 1, "invalid mirror name '-x'");
	long_name = xmalloc(80);
	memset(long_name, 'a', 65);
	strcpy(long_name + 65, "\n");
	{
		char *doc = xasprintf("Name: %s", long_name);

		expect_err("name over 64 bytes", doc, NULL, NULL, MERR_CONF,
		    "mirrord.conf", 1, "invalid mirror name");
		free(doc);
		/* 64 bytes is fine: the error is then about Types. */
		doc = xasprintf("Name: %s", long_name + 1);
		expect_err("name of 64 bytes", doc, NULL, NULL, MERR_CONF,
		    "mirrord.conf", 1, "missing 'Types'");
		free(doc);
	}
	free(long_name);
	expect_err("bad type", "Name: a\nTypes: deb rpm\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 2, "unknown type 'rpm'");
	expect_err("two URIs", "Name: a\nURIs: http://a http://b\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 2, "exactly one URI");
	expect_err("ftp URI", "Name: a\nURIs: ftp://a/b\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 2,
	    "unsupported URI 'ftp://a/b' (want http://, https:// or file:)");
	expect_err("http URI without host", "Name: a\nURIs: http:///x\n",
	    NULL, NULL, MERR_CONF, "mirrord.conf", 2, "has no host");
	expect_err("file URI with a host", "Name: a\nURIs: file://h/x\n",
	    NULL, NULL, MERR_CONF, "mirrord.conf", 2, "must not name a host");
	expect_err("flat suite", "Name: a\nSuites: jammy ./\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 2,
	    "flat repositories are not supported");
	expect_err("flat suite with a path", "Name: a\nSuites: x/\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 2,
	    "flat repositories are not supported");
	expect_err("suite with '..'", "Name: a\nSuites: ../x\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 2, "'..' segment");
	expect_err("duplicate component", "Name: a\nComponents: main\n main\n",
	    NULL, NULL, MERR_CONF, "mirrord.conf", 2, "'main' given twice");
	expect_err("inline key without its END line", "Name: a\nSigned-By:\n "
	    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 2, "an inline key must be one");
	expect_err("a path before an inline key", "Name: a\nSigned-By: "
	    "/etc/passwd\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n"
	    " -----END PGP PUBLIC KEY BLOCK-----\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 2, "nothing before or after it");
	expect_err("text after an inline key", "Name: a\nSigned-By:\n "
	    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n"
	    " -----END PGP PUBLIC KEY BLOCK-----\n /etc/passwd\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 2, "nothing before or after it");
	expect_err("short key ID", "Name: a\nSigned-By: 6580B386\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 2,
	    "'6580B386' is not a fingerprint");
	expect_err("long key ID", "Name: a\n"
	    "Signed-By: /etc/passwd,D73C39E56580B386\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 2,
	    "'D73C39E56580B386' is not a fingerprint");
	expect_err("fingerprint in gpg's groups of four", "Name: a\n"
	    "Signed-By: CDE5 618B 8805 FD6E 202C E9C2 D73C 39E5 6580 B386\n",
	    NULL, NULL, MERR_CONF, "mirrord.conf", 2,
	    "'CDE5' is not a fingerprint");
	expect_err("0x fingerprint", "Name: a\n"
	    "Signed-By: 0xCDE5618B8805FD6E202CE9C2D73C39E56580B386\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 2, "is not a fingerprint");
	expect_err("41 hex digits", "Name: a\n"
	    "Signed-By: CDE5618B8805FD6E202CE9C2D73C39E56580B3860\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 2, "is not a fingerprint");
	expect_err("only commas", "Name: a\nSigned-By: , ,\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 2,
	    "Signed-By needs a keyring file");
	expect_err("bad Assert-Pubkey-Algo", "Name: a\n"
	    "Assert-Pubkey-Algo: >=rsa,ed25519\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 2, "'>=' needs a name with a bit length");
	expect_err("empty Assert-Pubkey-Algo item", "Name: a\n"
	    "Assert-Pubkey-Algo: ed25519,,rsa4096\n", NULL, NULL, MERR_CONF,
	    "mirrord.conf", 2, "an empty item");
	expect_err("missing keyring", "Name: a\nSigned-By: nokey.gpg\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 2, "cannot open keyring");
	expect_err("keyring is a directory", "Name: a\nSigned-By: /\n", NULL,
	    NULL, MERR_CONF, "mirrord.conf", 2, "is not a regular file");
	expect_err("bad Enabled", "Name: a\nEnabled: maybe\n", NULL, NULL,
	    MERR_CONF, "mirrord.conf", 2, "'Enabled' must be yes or no");
	expect_err("mirror Sync-Interval 0", "Name: a\nSync-Interval: 0\n",
	    NULL, NULL, MERR_CONF, "mirrord.conf", 2, "at least 1s");

	{
		char *doc = xasprintf("%s\n%s", mirror_a, mirror_a);
		char *want;

		expect_err("duplicate name in one file", doc, NULL, NULL,
		    MERR_CONF, "mirrord.conf", 9,
		    "mirror 'a' is already defined in");
		free(doc);
		want = xasprintf("already defined in '%s/case%u/"
		    "mirrord.conf' line 3", tmp, ncase + 1);

		expect_err("duplicate name across files", main_a,
		    "x.sources", mirror_a, MERR_CONF, "mirrors.d/x.sources",
		    1, want);
		free(want);
	}
	expect_err("error in a mirrors.d file", main_a, "y.sources",
	    "Name: b\nBogus: 1\n", MERR_CONF, "mirrors.d/y.sources", 2,
	    "unknown key 'Bogus'");

	/* Errors without a line: the file itself. */
	{
		struct conf *c = NULL;
		struct merr err;
		char *path = xasprintf("%s/nonexistent.conf", tmp);
		struct buf big = BUF_INIT;

		is_int(conf_load(path, &c, &err), MERR_IO, "missing file");
		ok(strstr(err.msg, "cannot open") != NULL &&
		    strstr(err.msg, path) != NULL, "names the file: %s",
		    err.msg);
		free(path);

		put("notdir/mirrord.conf", "");
		put("notdir/mirrors.d", "a file");
		c = load("notdir/mirrord.conf");
		ok(c == NULL, "mirrors.d that is not a directory fails");

		while (big.len <= 1024 * 1024)
			buf_adds(&big, "# padding padding padding padding\n");
		put("big/mirrord.conf", big.p);
		buf_release(&big);
		path = xasprintf("%s/big/mirrord.conf", tmp);
		is_int(conf_load(path, &c, &err), MERR_LIMIT,
		    "config over 1 MiB is refused");
		free(path);
	}
	free(mirror_a);
	free(main_a);
	free(sb);
}

/*
 * Signed-By in each form apt takes: files and fingerprints mixed, split on
 * commas and white space; fingerprints alone (keys from Trusted-Parts);
 * an inline key block, normalised as apt does.
 */
static void
test_signed_by(void)
{
	const struct conf_mirror *m;
	struct conf *c;
	char *text, *want;

	put("sb/keys/archive.gpg", "not checked here\n");
	put("sb/parts/b.asc", "x\n");
	put("sb/parts/a.gpg", "x\n");
	put("sb/parts/README", "not a keyring\n");
	text = xasprintf("Store: /x\nTrusted-Parts: parts\n\n"
	    "Name: mixed\n%s"
	    "Signed-By: keys/archive.gpg,cde5618b8805fd6e202ce9c2d73c39e56580b386"
	    "\n  AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!, %s/sb/keys/archive.gpg"
	    "\nAssert-Pubkey-Algo: >=rsa4096, ed25519\n\n"
	    "Name: fprs\n%s"
	    "Signed-By: CDE5618B8805FD6E202CE9C2D73C39E56580B386\n\n"
	    "Name: inline\n%s"
	    "Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n"
	    "   mDMEYCQjIxYJKwYBBAHaRw8BAQdAD/P5Nvvnvk66SxBBHDbhRml9ORg1WV5CvzKY \n"
	    " =abcd\n -----END PGP PUBLIC KEY BLOCK-----\n\n",
	    mirror_tail, tmp, mirror_tail, mirror_tail);
	put("sb/mirrord.conf", text);
	free(text);
	c = load("sb/mirrord.conf");
	ok(c != NULL, "every Signed-By form apt takes loads");
	if (c == NULL)
		return;
	want = xasprintf("%s/sb/keys/archive.gpg", tmp);
	m = conf_mirror(c, "mixed");
	ok(m->nkeyrings == 2 && strcmp(m->keyrings[0], want) == 0 &&
	    strcmp(m->keyrings[1], want) == 0, "mixed: the two keyrings");
	ok(m->nkey_fprs == 2 && strcmp(m->key_fprs[0],
	    "CDE5618B8805FD6E202CE9C2D73C39E56580B386") == 0 &&
	    strcmp(m->key_fprs[1],
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!") == 0,
	    "mixed: fingerprints upper-cased, '!' kept");
	is_str(m->pubkey_algo, ">=rsa4096, ed25519", "Assert-Pubkey-Algo");
	free(want);
	m = conf_mirror(c, "fprs");
	want = xasprintf("%s/sb/parts/a.gpg", tmp);
	ok(m->nkeyrings == 2 && strcmp(m->keyrings[0], want) == 0 &&
	    str_endswith(m->keyrings[1], "/sb/parts/b.asc"),
	    "fingerprints alone: the keyrings of Trusted-Parts, sorted");
	ok(m->pubkey_algo == NULL, "Assert-Pubkey-Algo unset: apt's");
	free(want);
	m = conf_mirror(c, "inline");
	is_str(m->keyblock, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"
	    "mDMEYCQjIxYJKwYBBAHaRw8BAQdAD/P5Nvvnvk66SxBBHDbhRml9ORg1WV5CvzKY\n"
	    "=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n",
	    "inline key: lines stripped, '.' an empty line");
	ok(m->nkeyrings == 0 && m->nkey_fprs == 0, "inline key alone");
	conf_free(c);

	put("sb2/mirrord.conf", "Store: /x\nTrusted-Parts: /nonexistent\n\n"
	    "Name: fprs\nTypes: deb\nURIs: http://example.org/debian\n"
	    "Suites: stable\nComponents: main\nArchitectures: amd64\n"
	    "Signed-By: CDE5618B8805FD6E202CE9C2D73C39E56580B386\n");
	c = NULL;
	{
		struct merr err = { 0, "" };
		char *path = xasprintf("%s/sb2/mirrord.conf", tmp);

		is_int(conf_load(path, &c, &err), MERR_CONF,
		    "fingerprints alone and no Trusted-Parts: refused");
		ok(strstr(err.msg, "mirror 'fprs': Signed-By names only "
		    "fingerprints") != NULL && strstr(err.msg,
		    "/nonexistent") != NULL, "says why: %s", err.msg);
		free(path);
	}
	conf_free(c);
}

static char *
slurp(const char *path)
{
	char *data = NULL, *s;
	size_t len;
	struct merr err;

	if (read_file(path, 1 << 20, &data, &len, &err) != 0) {
		printf("# %s (run from the repository root)\n", err.msg);
		return NULL;
	}
	/* read_file() does not promise a NUL terminator. */
	s = xstrndup(data, len);
	free(data);
	return s;
}

/* The shipped example config loads, and so does its example mirror. */
static void
test_example(void)
{
	struct conf *c;
	struct buf b = BUF_INIT;
	char *text = slurp("conf/mirrord.conf"), *start, *line, *next;

	ok(text != NULL, "conf/mirrord.conf is readable");
	if (text == NULL)
		return;
	put("example/mirrord.conf", text);
	c = load("example/mirrord.conf");
	ok(c != NULL, "conf/mirrord.conf loads");
	if (c != NULL) {
		is_str(c->store, "/var/lib/mirrord", "example Store default");
		is_str(c->listen, "127.0.0.1:8080", "example Listen default");
		is_int(c->connections, 8, "example Connections default");
		is_int(c->retries, 5, "example Retries default");
		is_int(c->connect_timeout, 30, "example Connect-Timeout");
		is_int(c->stall_timeout, 60, "example Stall-Timeout");
		is_int(c->clock_skew, 600, "example Clock-Skew");
		is_int(c->sync_interval, 21600, "example Sync-Interval");
		is_int(c->nmirrors, 0, "example has no active mirror");
	}
	conf_free(c);

	/*
	 * Uncomment the example: every "#Key:" line and the "# " block from
	 * "# Name:" on, with Signed-By pointed at a file that exists.
	 */
	start = strstr(text, "\n# Name: ");
	ok(start != NULL, "example mirror stanza found");
	if (start == NULL) {
		free(text);
		return;
	}
	*start = '\0';
	for (line = text; line != NULL && *line; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (line[0] == '#' && line[1] != ' ' && strchr(line, ':'))
			line++;
		buf_adds(&b, line);
		buf_addc(&b, '\n');
	}
	buf_addc(&b, '\n');
	for (line = start + 1; line != NULL && *line; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (!str_startswith(line, "# "))
			break;
		if (str_startswith(line, "# Signed-By:"))
			buf_addf(&b, "Signed-By: %s/%s\n", tmp, keyring_rel);
		else
			buf_addf(&b, "%s\n", line + 2);
	}
	put(keyring_rel, "key");
	put("example2/mirrord.conf", b.p);
	buf_release(&b);
	c = load("example2/mirrord.conf");
	ok(c != NULL, "the uncommented example loads");
	if (c != NULL) {
		const struct conf_mirror *m = conf_mirror(c, "ubuntu");

		ok(c->base_url != NULL && c->log_file != NULL &&
		    c->keep_snapshots != NULL,
		    "commented-out global keys are valid");
		ok(m != NULL && m->deb && m->deb_src && m->nsuites == 3 &&
		    m->narches == 2 && m->enabled,
		    "example mirror 'ubuntu' as documented");
		is_str(m ? m->uri : NULL, "http://archive.ubuntu.com/ubuntu",
		    "example URI");
	}
	conf_free(c);
	free(text);
}

/* conf/demo/mirrord.conf, in a copy of the tree with build/demo made up. */
static void
test_demo(void)
{
	const struct conf_mirror *m;
	struct conf *c;
	char *text = slurp("conf/demo/mirrord.conf"), *want;

	ok(text != NULL, "conf/demo/mirrord.conf is readable");
	if (text == NULL)
		return;
	put("demo/conf/demo/mirrord.conf", text);
	free(text);
	put("demo/build/demo/archive-key.gpg", "key");
	c = load("demo/conf/demo/mirrord.conf");
	ok(c != NULL, "the demo config loads");
	if (c == NULL)
		return;
	want = xasprintf("%s/demo/build/demo/store", tmp);
	is_str(c->store, want, "demo Store");
	free(want);
	m = conf_mirror(c, "demo");
	ok(m != NULL && c->nmirrors == 1, "one mirror 'demo'");
	if (m != NULL) {
		ok(m->deb && m->deb_src, "demo Types");
		want = xasprintf("file://%s/demo/build/demo/archive", tmp);
		is_str(m->uri, want, "demo URI");
		free(want);
		ok(m->nsuites == 2 && strcmp(m->suites[0], "stable") == 0 &&
		    strcmp(m->suites[1], "stable-updates") == 0,
		    "demo Suites");
		ok(m->ncomponents == 2 &&
		    strcmp(m->components[0], "main") == 0 &&
		    strcmp(m->components[1], "contrib") == 0,
		    "demo Components");
		ok(m->narches == 2 && strcmp(m->arches[0], "amd64") == 0 &&
		    strcmp(m->arches[1], "arm64") == 0, "demo Architectures");
		want = xasprintf("%s/demo/build/demo/archive-key.gpg", tmp);
		is_str(m->keyrings[0], want, "demo Signed-By");
		free(want);
	}
	conf_free(c);
}

/*
 * Large configurations: 50,000 suites and as many components in one
 * stanza, 20,000 mirrors over mirrors.d. Duplicate checks were quadratic
 * (10 s for this); they are hash lookups now. The time is measured in
 * bench/conf.sh; here the results are checked, and a duplicate at the end
 * of each list is still found.
 */
#define LARGE_WORDS 50000
#define LARGE_MIRRORS 20000
#define LARGE_PER_FILE 5000

static void
test_large(void)
{
	struct buf b = BUF_INIT;
	const struct conf_mirror *m;
	struct conf *c;
	char *head, *name;
	size_t i, f;
	bool good;

	put("large/keys/k.gpg", "key");
	head = xasprintf("Name: big\nTypes: deb\nURIs: http://example.org/d\n"
	    "Architectures: amd64\nSigned-By: %s/large/keys/k.gpg\n", tmp);
	buf_adds(&b, head);
	buf_adds(&b, "Suites:");
	for (i = 0; i < LARGE_WORDS; i++)
		buf_addf(&b, "%ss%zu", i % 16 == 15 ? "\n " : " ", i);
	buf_adds(&b, "\nComponents:");
	for (i = 0; i < LARGE_WORDS; i++)
		buf_addf(&b, "%sc%zu", i % 16 == 15 ? "\n " : " ", i);
	buf_adds(&b, "\n");
	put("large/mirrord.conf", b.p);
	for (f = 0; f < LARGE_MIRRORS / LARGE_PER_FILE; f++) {
		char *rel = xasprintf("large/mirrors.d/f%zu.sources", f);

		buf_reset(&b);
		for (i = f * LARGE_PER_FILE; i < (f + 1) * LARGE_PER_FILE;
		    i++)
			buf_addf(&b, "Name: m%zu\n%sSigned-By: ../keys/k.gpg"
			    "\n\n", i, mirror_tail);
		put(rel, b.p);
		free(rel);
	}
	c = load("large/mirrord.conf");
	ok(c != NULL, "50,000 suites and components, 20,000 mirrors load");
	if (c != NULL) {
		is_int(c->nmirrors, LARGE_MIRRORS + 1, "every mirror loaded");
		m = conf_mirror(c, "big");
		ok(m != NULL && m->nsuites == LARGE_WORDS &&
		    m->ncomponents == LARGE_WORDS, "every suite and component");
		good = m != NULL;
		for (i = 0; good && i < LARGE_WORDS; i++) {
			char w[32];

			snprintf(w, sizeof(w), "s%zu", i);
			good = strcmp(m->suites[i], w) == 0;
			snprintf(w, sizeof(w), "c%zu", i);
			good = good && strcmp(m->components[i], w) == 0;
		}
		ok(good, "suites and components in the order written");
		good = true;
		for (i = 0; good && i < LARGE_MIRRORS; i += 997) {
			name = xasprintf("m%zu", i);
			m = conf_mirror(c, name);
			good = m != NULL && strcmp(m->name, name) == 0 &&
			    m == &c->mirrors[i + 1];
			free(name);
		}
		ok(good, "conf_mirror finds mirrors among 20,000");
		ok(conf_mirror(c, "m20000") == NULL &&
		    conf_mirror(c, "m") == NULL, "and not one that is not");
		conf_free(c);
	}

	/* A duplicate at the very end of a long list, then of mirrors. */
	buf_reset(&b);
	buf_adds(&b, head);
	buf_adds(&b, "Components: main\nSuites:");
	for (i = 0; i < LARGE_WORDS; i++)
		buf_addf(&b, "%ss%zu", i % 16 == 15 ? "\n " : " ", i);
	buf_adds(&b, " s49998\n");
	expect_err("a duplicate after 50,000 suites", b.p, NULL, NULL,
	    MERR_CONF, "mirrord.conf", 7, "'Suites': 's49998' given twice");
	buf_reset(&b);
	for (i = 0; i < LARGE_PER_FILE; i++)
		buf_addf(&b, "Name: m%zu\n%sSigned-By: %s/large/keys/k.gpg"
		    "\n\n", i, mirror_tail, tmp);
	buf_addf(&b, "Name: m4321\n%sSigned-By: %s/large/keys/k.gpg\n",
	    mirror_tail, tmp);
	name = xasprintf("'%s/case%u/mirrord.conf' line %u", tmp, ncase + 1,
	    4321 * 8 + 1);
	{
		char *want = xasprintf("mirror 'm4321' is already defined in "
		    "%s", name);

		expect_err("a duplicate after 5,000 mirrors", b.p, NULL, NULL,
		    MERR_CONF, "mirrord.conf", LARGE_PER_FILE * 8 + 1, want);
		free(want);
	}
	free(name);
	free(head);
	buf_release(&b);
}

int
main(void)
{
	char *dir = helpers_tmpdir_new("t_conf");

	if (dir == NULL)
		return 1;
	snprintf(tmp, sizeof(tmp), "%s", dir);
	test_defaults();
	test_new();
	test_good();
	test_relative();
	test_errors();
	test_signed_by();
	test_example();
	test_demo();
	test_large();
	helpers_tmpdir_free(dir);
	return tap_done();
}
