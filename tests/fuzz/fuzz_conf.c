/*
 * fuzz_conf.c: the configuration parser (mirrord/conf.h).
 *
 * conf_load() reads files, so the input is written to a temp directory
 * made once at start-up, which also holds a keyring file "key.gpg" (for
 * Signed-By). The input is split at lines "%%": the first part is
 * mirrord.conf, each further part mirrors.d/mN.sources.
 *
 * On success: the store and every Signed-By are absolute and normalised
 * (no "//", "/./", "/../", no trailing '/'), Connections is 1..64,
 * durations are sane, every mirror has a valid unique name found by
 * conf_mirror(), deb or deb-src, an http(s) or file:/// URI without a
 * trailing '/', at least one suite and component, architectures when
 * deb, and a Keep-Snapshots that confval_keep() accepts. On failure:
 * MERR_CONF (or MERR_IO / MERR_LIMIT from reading) with a message.
 *
 * Also each input, as a string, goes to confval_duration() and
 * confval_keep(), which must not overflow or accept garbage.
 */
#include "mirrord/common.h"

#include <ftw.h>
#include <limits.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "tests/fuzz/fuzz.h"

/* One-time state: the temp directory, set up once. */
static char dir[64];
static char *main_path, *mirrors_d;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
fixture_free(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(main_path);
	free(mirrors_d);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct merr err = { 0, "" };
	char *key;

	snprintf(dir, sizeof(dir), "/tmp/mirrord-fuzz-conf-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	main_path = xasprintf("%s/mirrord.conf", dir);
	mirrors_d = xasprintf("%s/mirrors.d", dir);
	key = xasprintf("%s/key.gpg", dir);
	if (write_file_atomic(key, "not a real keyring\n", 19, 0644, &err)) {
		fprintf(stderr, "fuzz_conf: %s\n", err.msg);
		abort();
	}
	free(key);
	atexit(fixture_free);
	return 0;
}

static void
put(const char *path, const char *p, size_t len)
{
	FILE *f = fopen(path, "w");

	FUZZ_CHECK(f != NULL, "cannot write '%s'", path);
	FUZZ_CHECK(len == 0 || fwrite(p, 1, len, f) == len, "fwrite");
	FUZZ_CHECK(fclose(f) == 0, "fclose");
}

/* Writes the files of the input; returns how many mirrors.d files. */
static unsigned
write_files(const char *p, size_t len)
{
	const char *end = p + len, *sep;
	unsigned n = 0;

	for (;;) {
		/* A part ends at a line "%%". */
		sep = NULL;
		{
			const char *q = p;

			while (q < end) {
				const char *nl = memchr(q, '\n', (size_t)(end - q));
				size_t l = nl ? (size_t)(nl - q) : (size_t)(end - q);

				if (l == 2 && q[0] == '%' && q[1] == '%') {
					sep = q;
					break;
				}
				if (nl == NULL)
					break;
				q = nl + 1;
			}
		}
		if (n == 0) {
			put(main_path, p, (size_t)((sep ? sep : end) - p));
		} else {
			char *f = xasprintf("%s/m%u.sources", mirrors_d, n);

			if (n == 1)
				FUZZ_CHECK(mkdir(mirrors_d, 0755) == 0 ||
				    errno == EEXIST, "mkdir");
			put(f, p, (size_t)((sep ? sep : end) - p));
			free(f);
		}
		if (sep == NULL || n >= 8)
			break;
		n++;
		p = sep + 2;
		if (p < end && *p == '\n')
			p++;
	}
	return n;
}

static void
remove_files(unsigned n)
{
	unsigned i;

	for (i = 1; i <= n; i++) {
		char *f = xasprintf("%s/m%u.sources", mirrors_d, i);

		unlink(f);
		free(f);
	}
	if (n > 0)
		rmdir(mirrors_d);
	unlink(main_path);
}

/* Absolute and lexically normal. */
static void
check_abs(const char *what, const char *p)
{
	FUZZ_CHECK(p != NULL && p[0] == '/', "%s '%s' not absolute", what,
	    p ? p : "(null)");
	if (strcmp(p, "/") == 0)
		return;
	FUZZ_CHECK(fuzz_path_ok(p + 1, strlen(p + 1)) ||
	    /* Bytes path_check refuses may be in a local path. */
	    (strstr(p, "//") == NULL && strstr(p, "/./") == NULL &&
	    strstr(p, "/../") == NULL && !str_endswith(p, "/") &&
	    !str_endswith(p, "/.") && !str_endswith(p, "/..")),
	    "%s '%s' not normalised", what, p);
}

static void
check_conf(const struct conf *c)
{
	size_t i, j;

	check_abs("store", c->store);
	if (c->log_file)
		check_abs("log file", c->log_file);
	if (c->signing_key)
		check_abs("signing key", c->signing_key);
	FUZZ_CHECK(c->connections >= 1 && c->connections <= 64,
	    "connections %u", c->connections);
	FUZZ_CHECK(c->retries <= 20, "retries %u", c->retries);
	FUZZ_CHECK(c->connect_timeout >= 1 && c->stall_timeout >= 1 &&
	    c->clock_skew >= 0 && c->sync_interval >= 1 &&
	    (c->valid_for == 0 || c->valid_for >= 60) && c->gc_grace >= 0,
	    "duration out of range");
	FUZZ_CHECK(c->channel_history >= 1 && c->channel_history <= 10000,
	    "channel history %u", c->channel_history);
	if (c->base_url)
		FUZZ_CHECK((str_startswith(c->base_url, "http://") ||
		    str_startswith(c->base_url, "https://")) &&
		    !str_endswith(c->base_url, "/"), "base url '%s'",
		    c->base_url);
	if (c->keep_snapshots) {
		long age;
		unsigned last;

		FUZZ_CHECK(confval_keep(c->keep_snapshots, &age, &last,
		    NULL) == 0, "keep '%s'", c->keep_snapshots);
	}
	for (i = 0; i < c->nmirrors; i++) {
		const struct conf_mirror *m = &c->mirrors[i];
		size_t nlen = strlen(m->name);

		FUZZ_CHECK(nlen >= 1 && nlen <= 64 &&
		    strspn(m->name, "abcdefghijklmnopqrstuvwxyz0123456789._-")
		    == nlen && strchr("._-", m->name[0]) == NULL,
		    "mirror name '%s'", m->name);
		FUZZ_CHECK(conf_mirror(c, m->name) == m, "conf_mirror('%s')",
		    m->name);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->mirrors[j].name, m->name) != 0,
			    "mirror '%s' twice", m->name);
		FUZZ_CHECK(m->deb || m->deb_src, "no types");
		FUZZ_CHECK(m->uri != NULL && !str_endswith(m->uri, "/") &&
		    (str_startswith(m->uri, "http://") ||
		    str_startswith(m->uri, "https://") ||
		    str_startswith(m->uri, "file:///")), "uri '%s'", m->uri);
		if (str_startswith(m->uri, "file:"))
			check_abs("file uri", m->uri + 7);
		FUZZ_CHECK(m->nsuites > 0 && m->ncomponents > 0,
		    "no suites or components");
		FUZZ_CHECK(!m->deb || m->narches > 0, "deb without arches");
		for (j = 0; j < m->nsuites; j++)
			FUZZ_CHECK(m->suites[j][0] != '\0' &&
			    !str_endswith(m->suites[j], "/"), "suite '%s'",
			    m->suites[j]);
		FUZZ_CHECK(m->nkeyrings > 0 || m->keyblock != NULL,
		    "Signed-By without keys");
		for (j = 0; j < m->nkeyrings; j++)
			check_abs("signed-by keyring", m->keyrings[j]);
		for (j = 0; j < m->nkey_fprs; j++)
			FUZZ_CHECK(strspn(m->key_fprs[j],
			    "0123456789ABCDEF") == 40 &&
			    (m->key_fprs[j][40] == '\0' ||
			    strcmp(m->key_fprs[j] + 40, "!") == 0),
			    "fingerprint '%s'", m->key_fprs[j]);
		if (m->keyblock != NULL)
			FUZZ_CHECK(str_startswith(m->keyblock,
			    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n"),
			    "key block");
		FUZZ_CHECK(m->sync_interval >= 0, "interval");
		if (m->keep_snapshots) {
			long age;
			unsigned last;

			FUZZ_CHECK(confval_keep(m->keep_snapshots, &age,
			    &last, NULL) == 0, "keep '%s'", m->keep_snapshots);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct merr err = { 0, "" };
	struct conf *c = NULL;
	unsigned nfiles;
	char *s;
	long secs, age;
	unsigned last;
	int rc;

	nfiles = write_files((const char *)data, size);
	rc = conf_load(main_path, &c, &err);
	remove_files(nfiles);
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "conf_load: %d %s\n", rc, rc ? err.msg : "");
	if (rc == 0) {
		check_conf(c);
		conf_free(c);
	} else {
		FUZZ_CHECK(rc == MERR_CONF || rc == MERR_IO ||
		    rc == MERR_LIMIT, "conf_load: %d %s", rc, err.msg);
		FUZZ_CHECK(err.code == rc && err.msg[0] != '\0' &&
		    strnlen(err.msg, sizeof(err.msg)) < sizeof(err.msg),
		    "bad err");
	}

	/* The value parsers on the input as a string. */
	s = fuzz_cstr(data, size);
	if (confval_duration(s, strlen(s), &secs, NULL) == 0)
		FUZZ_CHECK(secs >= 0 && secs <= LONG_MAX, "duration %ld",
		    secs);
	if (confval_keep(s, &age, &last, NULL) == 0)
		FUZZ_CHECK(age >= 0 && last <= 1000000 && (age > 0 ||
		    last > 0), "keep %ld %u", age, last);
	free(s);
	return 0;
}
