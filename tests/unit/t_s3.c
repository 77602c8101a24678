/*
 * t_s3.c: the S3 client (mirrord/s3.c, fetch.c's signing and requests)
 * against a real one-node OpenStack Swift with s3api, started here on a
 * free loopback port by tests/s3/swift.sh and stopped by its PIDs at the
 * end (also on a fatal signal). Without Swift's packages: a TAP skip.
 * Run from the top of the tree. T_S3_BENCH=N also times N puts of 60 KB
 * blobs, one thread and eight.
 */
#include "mirrord/common.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/fetch.h"
#include "mirrord/hash.h"
#include "mirrord/s3.h"
#include "mirrord/store.h"
#include "tests/unit/helpers.h"
#include "tests/unit/tap.h"

#define SWIFT_SH	"tests/s3/swift.sh"
#define BUCKET		"mirrord-t"
#define MIB		(1024 * 1024)

static char *tmp;		/* the test's directory */
static char swdir[256];		/* Swift's, under tmp */
static int port;
static bool swift_up;

/* Runs argv and waits (fork and exec only: a signal handler may). */
static int
run_argv(const char *const argv[])
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
swift_sh(const char *cmd, const char *a2, const char *a3, const char *a4)
{
	const char *argv[] = { "/bin/sh", SWIFT_SH, cmd, swdir, a2, a3, a4,
	    NULL };

	return run_argv(argv);
}

static void
swift_stop(void)
{
	if (swift_up)
		swift_sh("stop", NULL, NULL, NULL);
	swift_up = false;
}

static void
on_fatal(int sig)
{
	const char *rm[] = { "/bin/rm", "-rf", tmp, NULL };

	swift_stop();
	if (tmp != NULL)
		run_argv(rm);
	signal(sig, SIG_DFL);
	raise(sig);
}

static bool
in_path(const char *prog)
{
	char *path = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/bin");
	char *d, *save = NULL, *p;
	bool found = false;

	for (d = strtok_r(path, ":", &save); d && !found;
	    d = strtok_r(NULL, ":", &save)) {
		p = xasprintf("%s/%s", d, prog);
		found = access(p, X_OK) == 0;
		free(p);
	}
	free(path);
	return found;
}

/* Starts Swift on a free port (a few tries): false if it would not. */
static bool
swift_start(void)
{
	char ps[16];
	int i;

	snprintf(swdir, sizeof(swdir), "%s/swift", tmp);
	for (i = 0; i < 5; i++) {
		/* Below Linux's ephemeral ports (32768 on). */
		port = 20000 + (int)((getpid() * 7 + i * 1237) % 2500) * 5;
		snprintf(ps, sizeof(ps), "%d", port);
		swift_up = true;
		if (swift_sh("start", ps, BUCKET, NULL) == 0)
			return true;
		swift_stop();
	}
	return false;
}

/* A file of n bytes (a pattern seeded by seed) and its hash. */
static int
make_file(const char *name, size_t n, unsigned seed, unsigned char h[HASH_LEN])
{
	char *path = xasprintf("%s/%s", tmp, name);
	unsigned char *b = xmalloc(n + 1);
	uint64_t size;
	struct merr err;
	size_t i;
	int fd;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)((i * 2654435761u + seed) >> 13);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, b, n) != (ssize_t)n ||
	    hash_fd(fd, h, &size, &err) < 0)
		abort();
	free(b);
	free(path);
	return fd;
}

static struct s3_opts
base_opts(const char *ep, const char *cred)
{
	struct s3_opts o = { "s3://" BUCKET "/pfx", ep, NULL, cred,
	    5 * MIB, 5 * MIB, 2 };

	return o;
}

static char *
write_cred(const char *name, const char *secret, mode_t mode)
{
	char *p = xasprintf("%s/%s", tmp, name);
	FILE *fp = fopen(p, "w");

	fprintf(fp, "[other]\naws_access_key_id = nobody\n\n[default]\n"
	    "aws_access_key_id = test:tester\n"
	    "aws_secret_access_key = %s\n", secret);
	fclose(fp);
	chmod(p, mode);
	return p;
}

static void
t_new_errors(const char *ep)
{
	struct s3_opts o = base_opts(ep, NULL);
	struct s3 *s3 = NULL;
	struct merr err;
	char *c644 = write_cred("cred644", "testing", 0644);

	o.credentials = c644;
	o.url = "http://bucket";
	is_int(s3_new(&o, &s3, &err), MERR_CONF, "s3_new: a url not s3:// "
	    "refused");
	ok(strstr(err.msg, "http://bucket") != NULL, "... naming it: %s",
	    err.msg);
	o.url = "s3://Ab";
	is_int(s3_new(&o, &s3, &err), MERR_CONF, "s3_new: a bad bucket name "
	    "refused");
	o.url = "s3://" BUCKET;
	o.endpoint = "ftp://127.0.0.1";
	is_int(s3_new(&o, &s3, &err), MERR_CONF, "s3_new: an ftp endpoint "
	    "refused");
	o.endpoint = ep;
	is_int(s3_new(&o, &s3, &err), MERR_CONF, "s3_new: a credentials "
	    "file of mode 0644 refused");
	ok(strstr(err.msg, "0644") != NULL, "... saying why: %s", err.msg);
	o.credentials = NULL;
	setenv("AWS_ACCESS_KEY_ID", "test:tester", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "testing", 1);
	is_int(s3_new(&o, &s3, &err), 0, "s3_new: the environment's keys "
	    "without a file");
	if (s3 != NULL)
		is_str(s3_name(s3), "s3://" BUCKET, "s3_name");
	s3_free(s3);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	is_int(s3_new(&o, &s3, &err), MERR_CONF, "s3_new: no secret "
	    "anywhere refused");
	ok(strstr(err.msg, "AWS_SECRET_ACCESS_KEY") != NULL, "... naming "
	    "what is missing: %s", err.msg);
	unsetenv("AWS_ACCESS_KEY_ID");
	o.part_size = MIB;
	o.credentials = NULL;
	is_int(s3_new(&o, &s3, &err), MERR_CONF, "s3_new: a part under "
	    "5 MiB refused");
	free(c644);
}

struct blob {
	const char *name;
	size_t size;
	int fd;
	unsigned char h[HASH_LEN];
};

/* Reads blob b back through fetch_to_store and the blob URL. */
static void
check_read_back(struct s3 *s3, struct fetch *f, struct store *st,
    const struct blob *b)
{
	struct fetch_job job;
	struct merr err;
	unsigned char got[HASH_LEN];
	uint64_t size = 0;
	char *url = s3_blob_url(s3, b->h);
	int fd;

	memset(&job, 0, sizeof(job));
	job.url = url;
	memcpy(job.hash, b->h, HASH_LEN);
	job.size = b->size;
	is_int(fetch_to_store(f, st, &job, 1, NULL, NULL, &err), 0,
	    "%s: read back with fetch_to_store (%s)", b->name,
	    job.status ? err.msg : "verified");
	fd = store_blob_open(st, b->h, &err);
	ok(fd >= 0 && hash_fd(fd, got, &size, &err) == 0 &&
	    memcmp(got, b->h, HASH_LEN) == 0 && size == b->size,
	    "%s: the stored blob has its bytes", b->name);
	if (fd >= 0)
		close(fd);
	free(url);
}

static void
t_blobs(struct s3 *s3, struct fetch *f, struct store *st, struct blob *bl,
    size_t n)
{
	struct fetch_req rq = { .method = "HEAD", .max = 4096 };
	struct fetch_res res;
	struct merr err;
	uint64_t size;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		struct blob *b = &bl[i];

		rc = s3_put_fd(s3, f, b->h, b->fd, b->size, &err);
		is_int(rc, 0, "%s: put (%zu bytes%s%s)", b->name, b->size,
		    rc ? ": " : "", rc ? err.msg : "");
		size = 12345;
		is_int(s3_stat(s3, f, b->h, &size, &err), 0, "%s: stat",
		    b->name);
		is_int(size, b->size, "%s: stat's size", b->name);
		check_read_back(s3, f, st, b);
	}
	/* A multipart object's ETag says how many parts made it. */
	rq.url = s3_blob_url(s3, bl[n - 1].h);
	is_int(fetch_request(f, &rq, &res, &err), 0, "HEAD of the 12 MiB blob");
	ok(res.etag != NULL && strstr(res.etag, "-3\"") != NULL,
	    "12 MiB in 5 MiB parts: 3 parts (ETag %s)",
	    res.etag ? res.etag : "none");
	fetch_res_release(&res);
	free((char *)rq.url);
}

static void
t_mismatch(struct s3 *s3, struct fetch *f)
{
	unsigned char h[HASH_LEN], wrong[HASH_LEN];
	struct merr err;
	uint64_t size;
	int fd = make_file("mismatch", 1000, 7, h);

	hash_buf("not these bytes", 15, wrong);
	is_int(s3_put_fd(s3, f, wrong, fd, 1000, &err), MERR_NET,
	    "a put whose bytes are not h's is refused");
	ok(strstr(err.msg, "BadDigest") != NULL, "... by the store's "
	    "x-amz-content-sha256 check: %s", err.msg);
	is_int(s3_stat(s3, f, wrong, &size, &err), MERR_NOTFOUND,
	    "... and leaves no object");
	is_int(s3_stat(s3, f, h, &size, &err), MERR_NOTFOUND,
	    "s3_stat of an absent blob: MERR_NOTFOUND");
	ok(strstr(err.msg, "not found") != NULL, "... saying so: %s",
	    err.msg);
	close(fd);
}

/*
 * A multipart upload whose file ends before its size (part 2 cannot be
 * read): MERR_IO, and the upload is aborted: no object, no upload left.
 */
static void
t_abort(struct s3 *s3, struct fetch *f, const char *ep)
{
	unsigned char h[HASH_LEN];
	char *url = xasprintf("%s/%s?uploads=", ep, BUCKET);
	struct fetch_req rq = { .method = "GET", .url = url, .max = MIB };
	struct fetch_res res;
	struct merr err;
	uint64_t size;
	int fd = make_file("short", 7 * MIB, 9, h), rc;

	rc = s3_put_fd(s3, f, h, fd, 12 * MIB, &err);
	ok(rc == MERR_IO && strstr(err.msg, "ends first") != NULL,
	    "a multipart put whose file is short: MERR_IO (%s)",
	    rc ? err.msg : "put");
	is_int(s3_stat(s3, f, h, &size, &err), MERR_NOTFOUND,
	    "... no object");
	rc = fetch_request(f, &rq, &res, &err);
	ok(rc == 0 && res.status == 200 && res.data != NULL &&
	    strstr(res.data, "ListMultipartUploadsResult") != NULL &&
	    strstr(res.data, "<Upload>") == NULL,
	    "... and no multipart upload left (aborted)");
	fetch_res_release(&res);
	free(url);
	close(fd);
}

struct seen {
	const struct blob *bl;
	size_t n;
	int count[8];
	int stray, other;
	bool sizes_ok, mtimes_ok;
};

static int
list_cb(void *ctx, const char *key, const unsigned char *h, uint64_t size,
    int64_t mtime, struct merr *err)
{
	struct seen *s = ctx;
	size_t i;

	if (mtime < time(NULL) - 3600 || mtime > time(NULL) + 3600)
		s->mtimes_ok = false;
	if (h == NULL) {
		if (strcmp(key, "blobs/stray.txt") == 0 && size == 5)
			s->stray++;
		else
			s->other++;
		return 0;
	}
	for (i = 0; i < s->n; i++)
		if (memcmp(h, s->bl[i].h, HASH_LEN) == 0) {
			s->count[i]++;
			if (size != s->bl[i].size)
				s->sizes_ok = false;
			return 0;
		}
	s->other++;
	return 0;
}

/* Puts a key by URL (not a blob's): the stray one and one outside. */
static int
put_raw(struct fetch *f, const char *ep, const char *key, const char *body)
{
	char *url = xasprintf("%s/%s/%s", ep, BUCKET, key);
	struct fetch_req rq = { .method = "PUT", .url = url, .data = body,
	    .len = strlen(body), .max = 4096 };
	struct fetch_res res;
	struct merr err;
	int rc = fetch_request(f, &rq, &res, &err);

	rc = rc ? rc : res.status;
	fetch_res_release(&res);
	free(url);
	return rc;
}

static void
t_list(struct s3 *s3, struct fetch *f, const char *ep, struct blob *bl,
    size_t n)
{
	struct seen s;
	struct merr err;
	size_t i;
	bool once = true;

	is_int(put_raw(f, ep, "pfx/blobs/stray.txt", "stray"), 200,
	    "a stray key under the prefix put");
	is_int(put_raw(f, ep, "elsewhere/blobs/x", "x"), 200,
	    "a key outside the prefix put");
	memset(&s, 0, sizeof(s));
	s.bl = bl;
	s.n = n;
	s.sizes_ok = s.mtimes_ok = true;
	is_int(s3_list(s3, f, list_cb, &s, &err), 0,
	    "s3_list, 2 keys a page, %zu keys", n + 1);
	for (i = 0; i < n; i++)
		once = once && s.count[i] == 1;
	ok(once, "every blob listed once, with its hash");
	ok(s.sizes_ok, "with its size");
	ok(s.mtimes_ok, "with a last-modified time of about now");
	is_int(s.stray, 1, "the stray key listed once, without a hash");
	is_int(s.other, 0, "nothing else listed (nor the key outside)");
}

/* An unsigned GET of url is refused with a 403. */
static void
refused(struct fetch *plain, const char *url, const char *what)
{
	struct fetch_mem m;
	struct merr err;
	int rc = fetch_get_mem(plain, url, MIB, NULL, NULL, &m, &err);

	ok(rc == MERR_NET && strstr(err.msg, "HTTP 403") != NULL,
	    "%s: 403 (%s)", what, rc ? err.msg : "got it");
	fetch_mem_release(&m);
}

static void
t_presign(struct s3 *s3, const struct blob *b)
{
	struct fetch *plain = NULL;
	struct fetch_mem m;
	struct fetch_opts fo = { 1, 0, 5, 5, 10 };
	struct merr err;
	char *url, *bad;
	int rc;

	if (fetch_new(&fo, &plain, &err) < 0) {
		ok(0, "fetch_new: %s", err.msg);
		return;
	}
	url = s3_presign(s3, b->h, 300, (int64_t)time(NULL));
	rc = fetch_get_mem(plain, url, MIB, NULL, NULL, &m, &err);
	ok(rc == 0 && m.status == 200 && m.len == b->size,
	    "a presigned URL: an unsigned GET gets the blob (%s)",
	    rc ? err.msg : "200");
	fetch_mem_release(&m);
	bad = xstrdup(url);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
	refused(plain, bad, "a tampered signature");
	free(bad);
	free(url);
	url = s3_presign(s3, b->h, 60, (int64_t)time(NULL) - 3600);
	refused(plain, url, "an expired URL");
	free(url);
	fetch_free(plain);
}

static void
t_wrong_secret(const char *ep, const struct blob *b)
{
	char *cred = write_cred("credbad", "XYZZY-wrong", 0600);
	struct s3_opts o = base_opts(ep, cred);
	struct fetch_opts fo = { 1, 0, 5, 5, 10 };
	struct s3 *s3 = NULL;
	struct fetch *f = NULL;
	struct merr err;
	uint64_t size;

	if (s3_new(&o, &s3, &err) < 0 || s3_fetch_new(s3, &fo, &f, &err)) {
		ok(0, "s3 with a wrong secret: %s", err.msg);
	} else {
		is_int(s3_put_fd(s3, f, b->h, b->fd, b->size, &err), MERR_NET,
		    "a wrong secret: the put fails");
		ok(strstr(err.msg, "XYZZY") == NULL && strstr(err.msg,
		    "403") != NULL, "... with a 403 that does not hold the "
		    "secret: %s", err.msg);
		is_int(s3_stat(s3, f, b->h, &size, &err), MERR_NET,
		    "... and so does a stat");
	}
	fetch_free(f);
	s3_free(s3);
	free(cred);
}

static void
t_delete(struct s3 *s3, struct fetch *f, struct blob *bl, size_t n)
{
	struct merr err;
	uint64_t size;
	size_t i;
	bool gone = true;

	for (i = 0; i < n; i++)
		gone = gone && s3_delete(s3, f, bl[i].h, &err) == 0 &&
		    s3_stat(s3, f, bl[i].h, &size, &err) == MERR_NOTFOUND;
	ok(gone, "s3_delete: each blob gone");
	is_int(s3_delete(s3, f, bl[0].h, &err), 0,
	    "s3_delete of an absent blob is fine");
}

#define BENCH_SIZE 60000

struct bench {
	struct s3 *s3;
	unsigned from, to;
	bool stat;		/* s3_stat the blobs instead of putting them */
	int failed;
	char errmsg[256];
};

/* Puts blobs from..to-1: 60 KB each, made distinct by their first bytes. */
static void *
bench_run(void *arg)
{
	struct bench *b = arg;
	struct fetch_opts fo = { 1, 2, 5, 30, 100 };
	struct fetch *f = NULL;
	unsigned char h[HASH_LEN], *buf = xcalloc(1, BENCH_SIZE);
	char *path = xasprintf("%s/bench.%u", tmp, b->from);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct merr err;
	uint64_t size;
	unsigned i;

	if (fd < 0 || s3_fetch_new(b->s3, &fo, &f, &err) < 0) {
		b->failed = (int)(b->to - b->from);
		goto out;
	}
	for (i = b->from; i < b->to; i++) {
		memcpy(buf, &i, sizeof(i));
		hash_buf(buf, BENCH_SIZE, h);
		if (b->stat ? s3_stat(b->s3, f, h, &size, &err) < 0 :
		    pwrite(fd, buf, BENCH_SIZE, 0) != BENCH_SIZE ||
		    s3_put_fd(b->s3, f, h, fd, BENCH_SIZE, &err) < 0) {
			b->failed++;
			snprintf(b->errmsg, sizeof(b->errmsg), "%.200s",
			    err.msg);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	fetch_free(f);
	free(path);
	free(buf);
	return NULL;
}

/* n puts on nthreads threads, each its own struct fetch: the time. */
static void
bench(struct s3 *s3, unsigned n, unsigned nthreads, unsigned base,
    bool stat)
{
	struct bench b[8];
	pthread_t th[8];
	struct timespec t0, t1;
	unsigned i, failed = 0;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nthreads; i++) {
		memset(&b[i], 0, sizeof(b[i]));
		b[i].s3 = s3;
		b[i].from = base + n * i / nthreads;
		b[i].to = base + n * (i + 1) / nthreads;
		b[i].stat = stat;
		pthread_create(&th[i], NULL, bench_run, &b[i]);
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		failed += (unsigned)b[i].failed;
		if (b[i].failed)
			printf("# bench: %s\n", b[i].errmsg);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# bench: %u %s of %d bytes, %u thread(s): %.2f s, "
	    "%.2f ms a blob, %.0f blobs/s, 1 request a blob\n", n,
	    stat ? "stats" : "puts", BENCH_SIZE, nthreads, s, s * 1000 / n,
	    n / s);
	is_int(failed, 0, "bench: %u %s on %u thread(s) all acknowledged",
	    n, stat ? "stats" : "puts", nthreads);
}

static void
t_with_swift(void)
{
	char *ep = xasprintf("http://127.0.0.1:%d", port);
	char *cred = write_cred("cred", "testing", 0600);
	char *sdir = xasprintf("%s/store", tmp);
	struct s3_opts o = base_opts(ep, cred);
	struct fetch_opts fo = { 2, 2, 5, 30, 100 };
	struct blob bl[3] = { { "empty", 0, -1, { 0 } },
	    { "small", 5000, -1, { 0 } }, { "12 MiB", 12 * MIB, -1, { 0 } } };
	struct store *st = NULL;
	struct s3 *s3 = NULL;
	struct fetch *f = NULL;
	struct merr err;
	const char *bn = getenv("T_S3_BENCH");
	size_t i;

	t_new_errors(ep);
	if (s3_new(&o, &s3, &err) < 0 || s3_fetch_new(s3, &fo, &f, &err) < 0 ||
	    store_open(sdir, true, &st, &err) < 0) {
		ok(0, "setting up: %s", err.msg);
		goto out;
	}
	ok(1, "s3_new with a credentials file of mode 0600");
	for (i = 0; i < 3; i++)
		bl[i].fd = make_file(bl[i].name, bl[i].size, (unsigned)i,
		    bl[i].h);
	t_blobs(s3, f, st, bl, 3);
	t_mismatch(s3, f);
	t_abort(s3, f, ep);
	t_list(s3, f, ep, bl, 3);
	t_presign(s3, &bl[1]);
	t_wrong_secret(ep, &bl[1]);
	t_delete(s3, f, bl, 3);
	if (bn != NULL && atoi(bn) > 0) {
		bench(s3, (unsigned)atoi(bn), 1, 0, false);
		bench(s3, (unsigned)atoi(bn), 8, (unsigned)atoi(bn), false);
		bench(s3, (unsigned)atoi(bn), 1, 0, true);
	}
	for (i = 0; i < 3; i++)
		close(bl[i].fd);
out:
	store_close(st);
	fetch_free(f);
	s3_free(s3);
	free(sdir);
	free(cred);
	free(ep);
}

int
main(void)
{
	static const int fatal[] = { SIGINT, SIGTERM, SIGHUP, SIGSEGV,
	    SIGABRT, SIGBUS };
	size_t i;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!in_path("swift-proxy-server") || !in_path("swift-object-server") ||
	    !in_path("swift-container-server") ||
	    !in_path("swift-account-server") || !in_path("memcached")) {
		printf("1..0 # SKIP OpenStack Swift or memcached not "
		    "installed (make deps-test)\n");
		return 0;
	}
	tmp = helpers_tmpdir_new("t_s3");
	if (tmp == NULL)
		return 1;
	for (i = 0; i < ARRAY_SIZE(fatal); i++)
		signal(fatal[i], on_fatal);
	ok(swift_start(), "Swift with s3api up on 127.0.0.1:%d", port);
	if (swift_up)
		t_with_swift();
	swift_stop();
	rc = tap_done();
	helpers_tmpdir_free(tmp);
	return rc;
}
