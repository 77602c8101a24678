/*
 * t_store_s3.c: the store's S3 blob backend (store_s3.c) against a real
 * OpenStack Swift with its S3 API (tests/s3/swift.sh, on 127.0.0.1): the
 * configuration keys; the backend record (another Blobs: refused); the
 * upload barrier (store_sync waits for every upload; with Swift killed it
 * fails naming the blob, so the commit is never made); the read-through
 * into an empty cache, verified, and a corrupted object refused; the
 * cache trim (least recently used first, never an unlisted file); gc
 * deleting objects (a removed blob's, an unlisted one's); fsck finding a
 * missing, a wrong-size and (--deep) a wrong-bytes object.
 *
 * Without Swift installed, everything after the configuration is a
 * visible skip.
 */
#include "mirrord/common.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/fetch.h"
#include "mirrord/fsck.h"
#include "mirrord/gc.h"
#include "mirrord/s3.h"
#include "mirrord/store.h"
#include "helpers.h"
#include "swifttest.h"
#include "tap.h"


/* A configuration file's loading, expecting ok or an error with want. */
static void
conf_case(const char *text, const char *want, const char *what)
{
	char *path = xasprintf("%s/case.conf", root);
	struct conf *c = NULL;
	struct merr err = { 0, "" };
	int rc;

	write_file_atomic(path, text, strlen(text), 0644, &err);
	rc = conf_load(path, &c, &err);
	if (want == NULL)
		ok(rc == 0, "conf: %s (%s)", what, rc ? err.msg : "ok");
	else
		ok(rc == MERR_CONF && strstr(err.msg, want) != NULL,
		    "conf: %s: '%s'", what, err.msg);
	conf_free(c);
	free(path);
}

static void
test_conf(void)
{
	char *path = xasprintf("%s/c.conf", root);
	struct conf *c = NULL;
	struct merr err = { 0, "" };
	const char *text = "Store: st\nBlobs: s3://my-bucket/mirror/a\n"
	    "S3-Endpoint: http://127.0.0.1:9000\nS3-Region: eu-west-3\n"
	    "S3-Credentials: creds\nS3-Cache: 2G\nS3-Redirect: yes\n"
	    "S3-Redirect-Expiry: 10m\n";

	c = conf_new();
	ok(c->blobs == NULL && c->s3_cache == 10ull << 30 &&
	    !c->s3_redirect && c->s3_redirect_expiry == 300,
	    "conf: defaults: Blobs: file, S3-Cache: 10G, S3-Redirect: no, "
	    "its expiry 5m");
	conf_free(c);
	c = NULL;
	write_file_atomic(path, text, strlen(text), 0644, &err);
	ok(conf_load(path, &c, &err) == 0, "conf: every S3 key (%s)",
	    err.msg);
	if (c != NULL) {
		is_str(c->blobs, "s3://my-bucket/mirror/a", "conf: Blobs:");
		is_str(c->s3_region, "eu-west-3", "conf: S3-Region:");
		ok(c->s3_credentials && c->s3_credentials[0] == '/',
		    "conf: S3-Credentials: made absolute");
		is_int(c->s3_cache, 2ull << 30, "conf: S3-Cache: 2G");
		ok(c->s3_redirect && c->s3_redirect_expiry == 600,
		    "conf: S3-Redirect: yes, 10m");
	}
	conf_free(c);
	conf_case("Blobs: file\n", NULL, "Blobs: file");
	conf_case("Blobs: s3:/x\n", "'Blobs' wants file or s3://", "bad URL");
	conf_case("Blobs: s3://ab\n", "'Blobs'", "bucket too short");
	conf_case("Blobs: s3://bucket/a//b\n", "'Blobs'", "empty segment");
	conf_case("S3-Cache: 10X\n", "'S3-Cache' wants a size", "bad size");
	conf_case("S3-Cache: 10\n", "'S3-Cache' must be at least",
	    "size too small");
	conf_case("S3-Redirect-Expiry: 8d\n", "'S3-Redirect-Expiry' must be "
	    "at most", "expiry over 7 days");
	conf_case("S3-Region: EU west\n", "'S3-Region'", "bad region");
	free(path);
}


/* The object's size, or -1 if there is none (-2: an error). */
static long long
object_size(struct store *s, const unsigned char h[HASH_LEN])
{
	struct merr err = { 0, "" };
	struct fetch *f;
	uint64_t size;
	int rc;

	if (store_s3_fetch_new(s, &f, &err))
		return -2;
	rc = s3_stat(store_s3(s), f, h, &size, &err);
	fetch_free(f);
	return rc == 0 ? (long long)size : rc == MERR_NOTFOUND ? -1 : -2;
}

/* Overwrites blob h's object with text (the same key, other bytes). */
static int
object_put(const unsigned char h[HASH_LEN], const char *text)
{
	return object_put_bytes(h, text, strlen(text));
}

static bool
cached(struct store *s, const unsigned char h[HASH_LEN])
{
	struct merr err = { 0, "" };
	int fd = store_blob_open_cached(s, h, &err);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* Reads blob h (read-through) into buf; its length, or the error. */
static long
read_blob(struct store *s, const unsigned char h[HASH_LEN], char *buf,
    size_t n, struct merr *err)
{
	int fd = store_blob_open(s, h, err);
	ssize_t got;

	if (fd < 0)
		return fd;
	got = read(fd, buf, n - 1);
	close(fd);
	buf[got > 0 ? got : 0] = '\0';
	return (long)got;
}

static void
test_record(const char *dir, const struct conf *c)
{
	struct conf *file = conf_new(), *other = conf_new();
	struct merr err = { 0, "" };
	struct store *s = NULL;
	int rc;

	other->blobs = xstrdup("s3://elsewhere");
	store_open(dir, true, &s, &err);
	rc = store_set_backend(s, file, &err);
	ok(rc == MERR_CONF && strstr(err.msg, c->blobs) != NULL,
	    "a store made on %s refuses Blobs: file (%s)", c->blobs, err.msg);
	rc = store_set_backend(s, other, &err);
	ok(rc == MERR_CONF && strstr(err.msg, "Blobs: s3://bkt1/pre"),
	    "and another bucket (%s)", err.msg);
	store_close(s);
	conf_free(file);
	conf_free(other);
}

/* A file store that holds blobs is not moved to S3 behind its back. */
static void
test_file_refused(const struct conf *c)
{
	char *dir = xasprintf("%s/filestore", root);
	struct merr err = { 0, "" };
	unsigned char h[1][HASH_LEN];
	size_t sz = 5;
	struct store *s = NULL;
	int rc;

	store_open(dir, true, &s, &err);
	store_put_mem(s, "hello", 5, h[0], &err);
	list_blobs(s, h, &sz, 1);
	rc = store_set_backend(s, c, &err);
	ok(rc == MERR_CONF && strstr(err.msg, "not supported yet"),
	    "a file store with blobs refuses s3 (%s)", err.msg);
	store_close(s);
	free(dir);
}

static void
test_barrier_and_read(struct store *s, unsigned char (*h)[HASH_LEN])
{
	static const char *texts[] = { "alpha\n", "beta beta\n",
	    "gamma gamma gamma\n" };
	struct merr err = { 0, "" };
	size_t sz[3], i;
	char buf[256], *blobs;
	long n;
	int rc;

	for (i = 0; i < 3; i++) {
		sz[i] = strlen(texts[i]);
		rc = store_put_mem(s, texts[i], sz[i], h[i], &err);
		ok(rc == 0, "put blob %zu (%s)", i, rc ? err.msg : "ok");
	}
	ok(list_blobs(s, h, sz, 3) == 0, "store_sync then commit");
	for (i = 0; i < 3; i++)
		is_int(object_size(s, h[i]), sz[i], "blob %zu's object is in "
		    "the bucket after the barrier, with its size", i);

	/* An empty cache: every read goes to the bucket. */
	blobs = xasprintf("%s/blobs", store_dir(s));
	sh("rm -rf '%s'/??", blobs);
	ok(!cached(s, h[0]), "the cache is empty");
	n = read_blob(s, h[0], buf, sizeof(buf), &err);
	ok(n == (long)sz[0] && strcmp(buf, texts[0]) == 0,
	    "read-through gives the blob's bytes (%s)", n < 0 ? err.msg :
	    "ok");
	ok(cached(s, h[0]), "and caches it");

	/* The same key with other bytes: refused, and not cached. */
	ok(object_put(h[1], "tampered!\n") == 0, "overwrite blob 1's "
	    "object under its key");
	n = read_blob(s, h[1], buf, sizeof(buf), &err);
	ok(n == MERR_VERIFY && strstr(err.msg, "sha256 mismatch"),
	    "a corrupted object is refused on read (%s)", err.msg);
	ok(!cached(s, h[1]), "and nothing is cached of it");
	object_put(h[1], texts[1]);	/* put right for what follows */
	free(blobs);
}

/* Sets blob h's cached file's atime to age seconds ago. */
static void
set_atime(struct store *s, const unsigned char h[HASH_LEN], time_t age)
{
	char *path = store_blob_find(s, h);
	struct timespec ts[2] = { { time(NULL) - age, 0 },
	    { 0, UTIME_OMIT } };

	utimensat(AT_FDCWD, path, ts, 0);
	free(path);
}

static void
test_trim(struct store *s)
{
	enum { N = 5, SZ = 100000 };
	unsigned char h[N][HASH_LEN], lone[HASH_LEN];
	struct store_trim_stats st;
	struct merr err = { 0, "" };
	size_t sz[N], i;
	char *data = xmalloc(SZ);
	int rc;

	for (i = 0; i < N; i++) {
		memset(data, 'a' + (int)i, SZ);
		sz[i] = SZ;
		store_put_mem(s, data, SZ, h[i], &err);
	}
	ok(list_blobs(s, h, sz, N) == 0, "trim: %d blobs listed", N);
	memset(data, 'z', SZ);
	store_put_mem(s, data, SZ, lone, &err);	/* never listed */
	set_atime(s, lone, 100000);		/* and the oldest */
	for (i = 0; i < N; i++)
		set_atime(s, h[i], 1000 * (N - i));	/* h[0] oldest */
	/* Everything else cached is older still: dropped first. */
	rc = store_cache_trim(s, 4 * SZ + SZ / 2, &st, &err);
	ok(rc == 0, "trim to 4.5 blobs' size (%s)", rc ? err.msg : "ok");
	ok(st.bytes - st.dropped_bytes <= 4 * SZ + SZ / 2,
	    "the cache is under its size: %llu of %llu bytes left",
	    (unsigned long long)(st.bytes - st.dropped_bytes),
	    (unsigned long long)st.bytes);
	ok(cached(s, lone), "the unlisted file is kept, oldest as it is");
	ok(!cached(s, h[0]) && !cached(s, h[1]) && cached(s, h[2]) &&
	    cached(s, h[3]) && cached(s, h[4]),
	    "the two least recently used listed blobs went, the rest stay");
	ok(cached(s, h[0]) || store_blob_open(s, h[0], &err) >= 0,
	    "a trimmed blob reads again from the bucket");
	rc = store_sync(s, &err);	/* lone's upload, for gc's test */
	free(data);
}

struct reader {
	struct store *s;
	const unsigned char *h;
	const char *want;
	size_t len;
	bool ok;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct merr err = { 0, "" };
	char *buf = xmalloc(r->len + 1);
	int fd = store_blob_open(r->s, r->h, &err);

	r->ok = fd >= 0 && pread(fd, buf, r->len + 1, 0) == (ssize_t)r->len &&
	    memcmp(buf, r->want, r->len) == 0;
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* Readers of one uncached blob at once: one download, every reader served. */
static void
test_single_flight(struct store *s)
{
	enum { N = 8, SZ = 4 << 20 };
	struct store_s3_stats a, b;
	struct merr err = { 0, "" };
	struct reader r[N];
	pthread_t th[N];
	unsigned char h[1][HASH_LEN];
	size_t sz = SZ, i, good = 0;
	char *data = xmalloc(SZ), *path;

	for (i = 0; i < SZ; i++)
		data[i] = (char)(i * 7 + i / 4096);
	store_put_mem(s, data, SZ, h[0], &err);
	list_blobs(s, h, &sz, 1);
	path = store_blob_path(s, h[0]);
	unlink(path);
	free(path);
	store_s3_stats(s, &a);
	for (i = 0; i < N; i++) {
		r[i] = (struct reader){ s, h[0], data, SZ, false };
		pthread_create(&th[i], NULL, reader_main, &r[i]);
	}
	for (i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		good += r[i].ok;
	}
	store_s3_stats(s, &b);
	is_int(good, N, "%d readers of an uncached 4 MiB blob at once all get "
	    "its bytes", N);
	is_int(b.downloads - a.downloads, 1, "with one download (%llu "
	    "readers joined it)", (unsigned long long)(b.joined - a.joined));
	free(data);
}

/* Queues h as unreferenced long ago and runs gc with no grace. */
static void
test_gc(struct store *s, const unsigned char h[HASH_LEN])
{
	struct merr err = { 0, "" };
	struct conf *c = conf_new();
	struct store_txn *t;
	struct gc_stats st;
	unsigned char lone[HASH_LEN];
	int rc;

	/* An unlisted object (an upload whose commit never came). */
	store_put_mem(s, "orphan object\n", 14, lone, &err);
	store_sync(s, &err);
	ok(object_size(s, lone) == 14, "gc: an unlisted object is there");
	rc = store_txn_begin(s, true, &t, &err);
	if (rc == 0)
		rc = store_gc_queue(t, h, time(NULL) - 1000, &err);
	if (rc == 0)
		rc = store_txn_commit(t, &err);
	ok(rc == 0, "gc: blob queued as unreferenced (%s)", rc ? err.msg :
	    "ok");
	sleep(2);	/* Swift rounds last-modified times up */
	rc = store_lock(s, "test", false, &err);
	if (rc == 0)
		rc = gc_run(s, c, NULL, 0, false, &st, &err);
	store_unlock(s);
	ok(rc == 0, "gc ran (%s)", rc ? err.msg : "ok");
	is_int(object_size(s, h), -1, "gc deleted the removed blob's object");
	ok(!cached(s, h), "and its cached file");
	is_int(object_size(s, lone), -1, "gc deleted the unlisted object");
	ok(st.objects_removed >= 1, "and counted it (%llu)",
	    (unsigned long long)st.objects_removed);
	conf_free(c);
}

/* fsck: how many findings of kind k. */
static size_t
findings(const struct fsck_report *r, enum fsck_kind k)
{
	size_t i, n = 0;

	for (i = 0; i < r->nfindings; i++)
		n += r->findings[i].kind == k;
	return n;
}

static void
test_fsck(struct store *s, unsigned char (*h)[HASH_LEN])
{
	struct conf *c = conf_new();
	struct fsck_report r;
	struct merr err = { 0, "" };
	struct fetch *f = NULL;
	int rc;

	rc = fsck_run_deep(s, c, NULL, &r, &err);
	ok(rc == 0 && r.problems == 0, "fsck --deep: sound (%llu problems; "
	    "%s)", (unsigned long long)r.problems, rc ? err.msg : "ok");
	fsck_report_release(&r);
	store_s3_fetch_new(s, &f, &err);
	s3_delete(store_s3(s), f, h[0], &err);
	fetch_free(f);
	object_put(h[1], "short\n");
	rc = fsck_run(s, c, NULL, &r, &err);
	ok(rc == 0 && findings(&r, FSCK_MISSING_FILE) == 1,
	    "fsck finds the missing object");
	ok(findings(&r, FSCK_SIZE) == 1, "and the wrong-size one");
	is_int(r.problems, 2, "two problems");
	fsck_report_release(&r);
	object_put(h[2], "GAMMA GAMMA GAMMA\n");	/* its size, not it */
	rc = fsck_run(s, c, NULL, &r, &err);
	ok(rc == 0 && findings(&r, FSCK_HASH) == 0,
	    "fsck without --deep reads no object's bytes");
	fsck_report_release(&r);
	rc = fsck_run_deep(s, c, NULL, &r, &err);
	ok(rc == 0 && findings(&r, FSCK_HASH) == 1,
	    "fsck --deep finds the object whose bytes are not its hash's");
	fsck_report_release(&r);
	conf_free(c);
}

/* Swift killed: the barrier fails naming the blob; nothing commits. */
static void
test_dead(struct store *s, const char *swift)
{
	struct merr err = { 0, "" };
	unsigned char h[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];
	int rc;

	ok(sh("sh %s stop '%s'", SWIFT, swift) == 0, "Swift stopped");
	rc = store_put_mem(s, "never uploaded\n", 15, h, &err);
	ok(rc == 0, "a blob is written locally (%s)", rc ? err.msg : "ok");
	rc = store_sync(s, &err);
	hash_to_hex(h, hex);
	ok(rc == MERR_NET && strstr(err.msg, hex) != NULL,
	    "store_sync fails, naming the blob (%s)", err.msg);
	ok(store_sync(s, &err) == 0, "each failure is reported once");
}


int
main(void)
{
	unsigned char h[3][HASH_LEN];
	char *swift, *dir, *creds;
	struct conf *c;
	struct store *s;

	root = helpers_tmpdir_new("t_store_s3");
	if (root == NULL)
		return 1;
	test_conf();
	swift = xasprintf("%s/swift", root);
	if (!swift_start(swift))
		return swift_skip(swift, 40);
	creds = creds_file();
	c = s3_conf("bkt1", creds);
	dir = xasprintf("%s/store", root);
	s = open_s3(dir, c, true);
	if (s != NULL) {
		test_barrier_and_read(s, h);
		store_close(s);
		test_record(dir, c);
		test_file_refused(c);
		s = open_s3(dir, c, true);
	}
	if (s != NULL) {
		test_trim(s);
		test_single_flight(s);
		test_fsck(s, h);
		test_gc(s, h[2]);
		test_dead(s, swift);
		store_close(s);
	}
	sh("sh %s stop '%s'", SWIFT, swift);
	conf_free(c);
	free(creds);
	free(dir);
	free(swift);
	helpers_tmpdir_free(root);
	return tap_done();
}
