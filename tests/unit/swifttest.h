/*
 * swifttest.h: what the tests against a real OpenStack Swift share
 * (t_store_s3.c, t_s3flight.c): starting one on free ports with
 * tests/s3/swift.sh (stopped by the test: "sh SWIFT stop DIR"), its own
 * API for what S3 cannot do here (making a bucket, writing a corrupted
 * object), the credentials file, an S3 store's configuration, opening
 * one and listing blobs as a writer does. The test sets root (its
 * directory); swift_start sets port. Header-only (static), as gpgtest.h.
 */
#ifndef TESTS_UNIT_SWIFTTEST_H
#define TESTS_UNIT_SWIFTTEST_H

#include "mirrord/common.h"

#include <sys/wait.h>

#include <stdarg.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/store.h"
#include "helpers.h"
#include "tap.h"

#define SWIFT "tests/s3/swift.sh"

static char *root;		/* the test's directory */
static int port;		/* Swift's proxy */

/* Runs a shell command; its exit status (-1 if it did not run). */
static inline int
sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* Swift's S3 credentials, in a 0600 file. */
static inline char *
creds_file(void)
{
	char *path = xasprintf("%s/creds", root);
	const char *text = "[default]\naws_access_key_id = test:tester\n"
	    "aws_secret_access_key = testing\n";
	struct merr err = { 0, "" };

	write_file_atomic(path, text, strlen(text), 0600, &err);
	return path;
}

/*
 * Runs curl with Swift's own API (auth, then "METHOD URL/what"): S3 has
 * no call to make a bucket here, and its PUT of a blob's key is checked
 * against the blob's hash, so a corrupted object must come this way.
 */
static inline int
swift_api(const char *method, const char *what, const char *data_file)
{
	return sh("set -e; h=$(curl -sfi -H 'X-Auth-User: test:tester' "
	    "-H 'X-Auth-Key: testing' http://127.0.0.1:%d/auth/v1.0 | "
	    "tr -d '\\r'); t=$(echo \"$h\" | sed -n 's/^X-Auth-Token: //p'); "
	    "u=$(echo \"$h\" | sed -n 's/^X-Storage-Url: //p'); "
	    "curl -sf -o /dev/null -X %s -H \"X-Auth-Token: $t\" %s%s "
	    "\"$u/%s\"", port, method, data_file ? "--data-binary @" : "",
	    data_file ? data_file : "", what);
}

static inline int
make_bucket(const char *name)
{
	return swift_api("PUT", name, NULL);
}

static inline struct conf *
s3_conf(const char *bucket, const char *creds)
{
	struct conf *c = conf_new();

	c->blobs = xasprintf("s3://%s/pre", bucket);
	c->s3_endpoint = xasprintf("http://127.0.0.1:%d", port);
	c->s3_credentials = xstrdup(creds);
	c->retries = 1;			/* a dead Swift fails fast */
	c->connect_timeout = 5;
	return c;
}

static inline struct store *
open_s3(const char *dir, const struct conf *c, bool write)
{
	struct merr err = { 0, "" };
	struct store *s = NULL;
	int rc;

	rc = store_open(dir, write, &s, &err);
	if (rc == 0)
		rc = store_set_backend(s, c, &err);
	ok(rc == 0, "open '%s' on %s (%s)", dir, c->blobs,
	    rc ? err.msg : "ok");
	if (rc) {
		store_close(s);
		return NULL;
	}
	return s;
}

/* Lists blobs h[0..n-1] (sizes sz) in one committed transaction. */
static inline int
list_blobs(struct store *s, unsigned char (*h)[HASH_LEN], const size_t *sz,
    size_t n)
{
	struct merr err = { 0, "" };
	struct store_txn *t;
	size_t i;
	int rc;

	rc = store_sync(s, &err);	/* the barrier, as every writer */
	if (rc == 0)
		rc = store_txn_begin(s, true, &t, &err);
	for (i = 0; rc == 0 && i < n; i++)
		rc = store_blob_put(t, h[i], sz[i], &err);
	if (rc == 0)
		rc = store_txn_commit(t, &err);
	if (rc)
		printf("# list: %s\n", err.msg);
	return rc;
}

static inline bool
swift_start(const char *swift)
{
	int i;

	if (access(SWIFT, R_OK) != 0 ||
	    sh("command -v swift-proxy-server memcached >/dev/null") != 0)
		return false;
	/* swift.sh refuses ports in use: another try, elsewhere. */
	for (i = 0; i < 5; i++) {
		port = 21000 + (int)((getpid() + i * 97) % 400) * 10;
		if (sh("sh %s start '%s' %d >'%s.log' 2>&1", SWIFT, swift,
		    port, swift) == 0)
			return make_bucket("bkt1") == 0;
	}
	sh("sed 's/^/# /' '%s.log'", swift);
	return false;
}

/* Prints n skips (no Swift here), stops what started; tap_done(). */
static inline int
swift_skip(const char *swift, int n)
{
	int i;

	for (i = 0; i < n; i++)
		printf("ok %d - # SKIP no OpenStack Swift here "
		    "(swift-proxy, memcached)\n", ++tap_n);
	sh("sh %s stop '%s' 2>/dev/null", SWIFT, swift);
	helpers_tmpdir_free(root);
	return tap_done();
}

/*
 * Overwrites blob h's object in s3_conf("bkt1")'s bucket with len bytes
 * (the same key, other bytes): through Swift's API, as S3 checks a PUT
 * of a blob's key against its hash.
 */
static inline int
object_put_bytes(const unsigned char h[HASH_LEN], const void *bytes,
    size_t len)
{
	char *path = xasprintf("%s/obj", root), *key;
	char hex[HASH_HEX_LEN + 1];
	struct merr err = { 0, "" };
	int rc;

	hash_to_hex(h, hex);
	key = xasprintf("bkt1/pre/blobs/%.2s/%s", hex, hex);
	rc = write_file_atomic(path, bytes, len, 0644, &err);
	if (rc == 0)
		rc = swift_api("PUT", key, path);
	free(key);
	free(path);
	return rc;
}

#endif
