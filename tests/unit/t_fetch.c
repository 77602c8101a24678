/*
 * t_fetch.c: sync/fetch.c against tests/unit/fetch_server.py, a local
 * HTTP/1.1 server that can fail, reset, stall and overflow on demand.
 * Run from the top of the tree (the server is found by relative path).
 */
#include "mirrord/common.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <ftw.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/hash.h"
#include "mirrord/store.h"
#include "mirrord/fetch.h"
#include "tests/unit/tap.h"

#define NFILES 500

struct env {
	char dir[64];		/* mkdtemp: www/ is served, store/ */
	char www[128];
	pid_t pid;
	int port;
	struct store *store;
};

struct prog {
	int calls;
	uint64_t files, bytes;
};

static void
t_progress(void *ctx, uint64_t files, uint64_t bytes)
{
	struct prog *p = ctx;

	p->calls++;
	p->files = files;
	p->bytes = bytes;
}

static uint64_t
t_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
t_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Writes www/name (subdirectories must exist). */
static void
t_put(struct env *e, const char *name, const void *data, size_t len)
{
	char *path = xasprintf("%s/%s", e->www, name);
	FILE *fp = fopen(path, "wb");

	if (fp == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
		perror(path);
		exit(2);
	}
	free(path);
}

/* Contents of test file i: sizes vary from a few bytes to ~8 KiB. */
static char *
t_content(unsigned i, size_t *len)
{
	struct buf b = BUF_INIT;
	unsigned j;

	for (j = 0; j < (i * 37) % 300 + 1; j++)
		buf_addf(&b, "file %u line %u\n", i, j);
	return buf_detach(&b, len);
}

static int
t_server_start(struct env *e)
{
	int fds[2];
	char line[64];
	FILE *fp;

	if (pipe(fds) < 0)
		return -1;
	e->pid = fork();
	if (e->pid < 0)
		return -1;
	if (e->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", "tests/unit/fetch_server.py",
		    e->www, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	fp = fdopen(fds[0], "r");
	if (fp == NULL || fgets(line, sizeof(line), fp) == NULL) {
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	e->port = atoi(line);
	return e->port > 0 ? 0 : -1;
}

static char *
t_url(struct env *e, const char *path)
{
	return xasprintf("http://127.0.0.1:%d/%s", e->port, path);
}

/* A job for www/name as served under path, with name's real hash. */
static void
t_job(struct env *e, struct fetch_job *j, const char *url, const char *data,
    size_t len)
{
	memset(j, 0, sizeof(*j));
	j->url = url;
	hash_buf(data, len, j->hash);
	j->size = len;
}

/* Is the blob for (data, len) in the store, byte for byte? */
static bool
t_stored(struct env *e, const char *data, size_t len)
{
	unsigned char h[HASH_LEN];
	char *path, *got = NULL;
	size_t glen = 0;
	bool same;

	hash_buf(data, len, h);
	path = store_blob_path(e->store, h);
	same = read_file(path, len + 1, &got, &glen, NULL) == 0 &&
	    glen == len && memcmp(got, data, len) == 0;
	free(got);
	free(path);
	return same;
}

/* Nothing left behind in the store's tmp/. */
static bool
t_tmp_empty(struct env *e)
{
	char *cmd = xasprintf("test -z \"$(ls -A '%s/store/tmp')\"", e->dir);
	int rc = system(cmd);

	free(cmd);
	return rc == 0;
}

static struct fetch *
t_fetch(unsigned conns, unsigned retries, long stall)
{
	struct fetch_opts o = { conns, retries, 5, stall, 10 };
	struct fetch *f = NULL;
	struct merr err;

	if (fetch_new(&o, &f, &err) != 0) {
		printf("# fetch_new: %s\n", err.msg);
		exit(2);
	}
	return f;
}

static void
test_many(struct env *e)
{
	struct fetch_job *jobs = xcalloc(NFILES, sizeof(*jobs));
	char **urls = xcalloc(NFILES, sizeof(*urls));
	char **data = xcalloc(NFILES, sizeof(*data));
	size_t *lens = xcalloc(NFILES, sizeof(*lens));
	struct prog p = { 0, 0, 0 };
	struct fetch *f = t_fetch(8, 2, 10);
	struct merr err = { 0, "" };
	uint64_t total = 0, t0, ms;
	unsigned i, good = 0, status0 = 0;
	char name[64];
	int rc;

	for (i = 0; i < NFILES; i++) {
		data[i] = t_content(i, &lens[i]);
		snprintf(name, sizeof(name), "f/%u", i);
		t_put(e, name, data[i], lens[i]);
		urls[i] = t_url(e, name);
		t_job(e, &jobs[i], urls[i], data[i], lens[i]);
		total += lens[i];
	}
	t0 = t_now_ms();
	rc = fetch_to_store(f, e->store, jobs, NFILES, t_progress, &p, &err);
	ms = t_now_ms() - t0;
	is_int(rc, 0, "%d files fetched (%s)", NFILES, rc ? err.msg : "ok");
	printf("# %d files, %llu bytes in %llu ms\n", NFILES,
	    (unsigned long long)total, (unsigned long long)ms);
	for (i = 0; i < NFILES; i++) {
		good += t_stored(e, data[i], lens[i]);
		status0 += jobs[i].status == 0;
	}
	is_int(good, NFILES, "every blob stored with the right bytes");
	is_int(status0, NFILES, "every job has status 0");
	ok(p.calls >= 1, "progress called");
	is_int(p.files, NFILES, "progress ends with all files");
	is_int(p.bytes, total, "progress ends with all bytes");
	ok(t_tmp_empty(e), "no temporary files left");

	/* Again: same blobs, already there, must still succeed. */
	rc = fetch_to_store(f, e->store, jobs, 20, NULL, NULL, &err);
	is_int(rc, 0, "refetching stored blobs works");

	fetch_free(f);
	for (i = 0; i < NFILES; i++) {
		free(urls[i]);
		free(data[i]);
	}
	free(urls);
	free(data);
	free(lens);
	free(jobs);
}

/* Runs one job; returns fetch_to_store's result, err filled. */
static int
t_one(struct fetch *f, struct env *e, struct fetch_job *j, struct merr *err)
{
	memset(err, 0, sizeof(*err));
	return fetch_to_store(f, e->store, j, 1, NULL, NULL, err);
}

static bool
t_has(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

static void
test_errors(struct env *e)
{
	struct fetch *f = t_fetch(4, 5, 10);
	struct fetch_job j, jobs[40];
	struct fetch_mem m;
	struct merr err;
	char *data, *url, *url2, *big, *furl, *urls[40];
	size_t len, biglen = 100000, i;
	uint64_t t0;
	int rc;

	data = t_content(7, &len);
	t_put(e, "a.bin", data, len);
	t_put(e, "b.bin", data, len);

	/* 500 twice (Retry-After: 0), then the file. */
	url = t_url(e, "fail500/2/a.bin");
	t_job(e, &j, url, data, len);
	rc = t_one(f, e, &j, &err);
	is_int(rc, 0, "two 500s then 200: retried (%s)", err.msg);
	is_int(j.status, 0, "job status 0 after retries");
	free(url);

	/* More 500s than retries. */
	{
		struct fetch *f2 = t_fetch(2, 2, 10);
		char want[256];

		url = t_url(e, "fail500/9/b.bin");
		t_job(e, &j, url, data, len);
		rc = t_one(f2, e, &j, &err);
		is_int(rc, MERR_NET, "persistent 500 fails");
		snprintf(want, sizeof(want), "'%s': HTTP 500 after 3 attempts",
		    url);
		is_str(err.msg, want, "message names URL and attempts");
		ok(j.status < 0, "failed job has a negative status");
		free(url);
		fetch_free(f2);
	}

	/* A reset mid-body resumes with Range. */
	big = xmalloc(biglen);
	for (i = 0; i < biglen; i++)
		big[i] = (char)('a' + (i * 7 + i / 1000) % 26);
	t_put(e, "r.bin", big, biglen);
	url = t_url(e, "reset/r.bin");
	t_job(e, &j, url, big, biglen);
	rc = t_one(f, e, &j, &err);
	is_int(rc, 0, "reset transfer completes (%s)", err.msg);
	ok(t_stored(e, big, biglen), "resumed blob has the right bytes");
	free(url);
	url = t_url(e, "log");
	rc = fetch_get_mem(f, url, 1 << 20, NULL, NULL, &m, &err);
	is_int(rc, 0, "server log fetched");
	ok(t_has(m.data, "/reset/r.bin bytes=50000- mirrord/0.1.0\n"),
	    "the retry asked for Range: bytes=50000-, as mirrord/0.1.0");
	fetch_mem_release(&m);
	free(url);

	/* A reset, then the server ignores Range: rewound, taken whole. */
	big[0] = 'Z';		/* a new blob */
	t_put(e, "r2.bin", big, biglen);
	url = t_url(e, "reset200/r2.bin");
	t_job(e, &j, url, big, biglen);
	rc = t_one(f, e, &j, &err);
	is_int(rc, 0, "200 to a Range: rewound and taken whole (%s)",
	    err.msg);
	ok(t_stored(e, big, biglen), "rewound blob has the right bytes");
	big[0] = 'a';		/* back to r.bin's bytes */
	free(url);
	url = t_url(e, "log");
	rc = fetch_get_mem(f, url, 1 << 20, NULL, NULL, &m, &err);
	ok(rc == 0 && t_has(m.data, "/reset200/r2.bin bytes=50000-"),
	    "reset200: Range asked for");
	fetch_mem_release(&m);
	free(url);

	/* More bytes than the size we were told. */
	url = t_url(e, "big/a.bin");
	t_job(e, &j, url, data, len);
	rc = t_one(f, e, &j, &err);
	is_int(rc, MERR_LIMIT, "endless body is MERR_LIMIT");
	ok(t_has(err.msg, "larger than") && t_has(err.msg, url),
	    "limit message names the URL: %s", err.msg);
	free(url);

	/* Wrong hash. */
	url = t_url(e, "a.bin");
	t_job(e, &j, url, data, len);
	j.hash[0] ^= 1;
	rc = t_one(f, e, &j, &err);
	is_int(rc, MERR_VERIFY, "wrong hash is MERR_VERIFY");
	ok(t_has(err.msg, url), "verify message names the URL: %s", err.msg);
	free(url);

	/* 404: optional, mandatory, fallback. */
	url = t_url(e, "missing.bin");
	t_job(e, &j, url, data, len);
	j.optional = true;
	rc = t_one(f, e, &j, &err);
	is_int(rc, 0, "optional 404 is not an error");
	is_int(j.status, 1, "optional 404 has status 1");
	j.optional = false;
	rc = t_one(f, e, &j, &err);
	is_int(rc, MERR_NOTFOUND, "mandatory 404 is an error");
	ok(t_has(err.msg, url), "404 message names the URL: %s", err.msg);
	url2 = t_url(e, "a.bin");
	j.fallback = url2;
	rc = t_one(f, e, &j, &err);
	is_int(rc, 0, "fallback used on 404 (%s)", err.msg);
	is_int(j.status, 0, "fallback job status 0");
	free(url2);
	url2 = t_url(e, "also-missing.bin");
	j.fallback = url2;
	j.optional = true;
	rc = t_one(f, e, &j, &err);
	ok(rc == 0 && j.status == 1, "optional, 404 and fallback 404: absent");
	free(url2);
	free(url);

	/* Redirects: to http followed, to file:// or with a CR refused. */
	t_put(e, "top.txt", data, len);
	url = t_url(e, "redirect/top.txt");
	t_job(e, &j, url, data, len);
	rc = t_one(f, e, &j, &err);
	is_int(rc, 0, "redirect to http followed (%s)", err.msg);
	free(url);
	url = t_url(e, "redirect-file");
	rc = fetch_get_mem(f, url, 1 << 20, NULL, NULL, &m, &err);
	ok(rc < 0 && m.data == NULL, "redirect to file:// refused: %s",
	    err.msg);
	ok(t_has(err.msg, url), "refusal names the URL");
	t_job(e, &j, url, data, len);
	rc = t_one(f, e, &j, &err);
	ok(rc < 0, "redirect to file:// refused into the store too");
	free(url);
	url = t_url(e, "redirect-ctl");
	rc = fetch_get_mem(f, url, 1 << 20, NULL, NULL, &m, &err);
	ok(rc < 0 && t_has(err.msg, "control characters"),
	    "redirect with a CR refused: %s", err.msg);
	free(url);

	/* file:// */
	furl = xasprintf("file://%s/a.bin", e->www);
	t_job(e, &j, furl, data, len);
	rc = t_one(f, e, &j, &err);
	is_int(rc, 0, "file:// into the store (%s)", err.msg);
	free(furl);
	furl = xasprintf("file://%s/nope.bin", e->www);
	t_job(e, &j, furl, data, len);
	j.optional = true;
	rc = t_one(f, e, &j, &err);
	ok(rc == 0 && j.status == 1, "missing file:// is a 404");
	rc = fetch_get_mem(f, furl, 100, NULL, NULL, &m, &err);
	ok(rc == 0 && m.status == 404 && m.data == NULL,
	    "fetch_get_mem: missing file:// is 404");
	free(furl);
	furl = xasprintf("file://%s/a.bin", e->www);
	rc = fetch_get_mem(f, furl, 1 << 20, NULL, NULL, &m, &err);
	ok(rc == 0 && m.status == 200 && m.len == len &&
	    memcmp(m.data, data, len) == 0, "fetch_get_mem: file:// works");
	fetch_mem_release(&m);
	free(furl);

	/*
	 * A hard error among many jobs: stops, returns it, leaves no temp
	 * file behind; the job that failed carries the code.
	 */
	for (i = 0; i < 40; i++) {
		urls[i] = t_url(e, i == 5 ? "big/a.bin" : "reset/r.bin");
		t_job(e, &jobs[i], urls[i], i == 5 ? data : big,
		    i == 5 ? len : biglen);
	}
	rc = fetch_to_store(f, e->store, jobs, 40, NULL, NULL, &err);
	is_int(rc, MERR_LIMIT, "first hard error returned");
	is_int(jobs[5].status, MERR_LIMIT, "failing job has its status");
	ok(jobs[39].status < 0, "jobs never started are not successes");
	ok(t_tmp_empty(e), "no temporary files left after an error");
	for (i = 0; i < 40; i++)
		free(urls[i]);
	fetch_free(f);

	/* A stall: bounded by stall_timeout (2 s) times attempts (2). */
	f = t_fetch(2, 1, 2);
	url = t_url(e, "stall/a.bin");
	t_job(e, &j, url, data, len);
	t0 = t_now_ms();
	rc = t_one(f, e, &j, &err);
	is_int(rc, MERR_NET, "stalled transfer fails");
	ok(t_now_ms() - t0 < 10000, "stall detected in bounded time (%llu ms)",
	    (unsigned long long)(t_now_ms() - t0));
	ok(t_has(err.msg, "timed out (under 1024 bytes/s for 2 s)") && t_has(err.msg, url),
	    "stall message: %s", err.msg);
	free(url);
	fetch_free(f);

	free(big);
	free(data);
}

static void
test_mem(struct env *e)
{
	struct fetch *f = t_fetch(2, 2, 10);
	struct fetch_mem m;
	struct merr err;
	char *url, *etag = NULL, *lm = NULL;
	const char *text = "Origin: test\nSuite: stable\n";
	int rc;

	t_put(e, "e.txt", text, strlen(text));
	url = t_url(e, "etag/e.txt");
	rc = fetch_get_mem(f, url, 1000, NULL, NULL, &m, &err);
	is_int(rc, 0, "get_mem 200");
	is_int(m.status, 200, "status 200");
	is_str(m.data, text, "body, NUL-terminated");
	is_int(m.len, strlen(text), "length");
	ok(m.etag != NULL && m.etag[0] == '"', "ETag collected: %s",
	    m.etag ? m.etag : "(null)");
	is_str(m.last_modified, "Mon, 01 Jan 2024 00:00:00 GMT",
	    "Last-Modified collected");
	if (m.etag != NULL)
		etag = xstrdup(m.etag);
	if (m.last_modified != NULL)
		lm = xstrdup(m.last_modified);
	fetch_mem_release(&m);
	ok(m.data == NULL && m.etag == NULL, "release clears");

	rc = fetch_get_mem(f, url, 1000, etag, lm, &m, &err);
	is_int(rc, 0, "conditional get_mem");
	is_int(m.status, 304, "304 not modified");
	ok(m.data == NULL, "no data on 304");
	fetch_mem_release(&m);

	rc = fetch_get_mem(f, url, 10, NULL, NULL, &m, &err);
	is_int(rc, MERR_LIMIT, "cap exceeded is MERR_LIMIT");
	ok(t_has(err.msg, "larger than 10 bytes") && t_has(err.msg, url),
	    "cap message: %s", err.msg);
	ok(m.data == NULL, "no data when over the cap");
	free(url);
	/* No Content-Length: the cap holds as bytes arrive. */
	url = t_url(e, "big/e.txt");
	rc = fetch_get_mem(f, url, 100000, NULL, NULL, &m, &err);
	ok(rc == MERR_LIMIT && t_has(err.msg, "larger than 100000 bytes") &&
	    !t_has(err.msg, "Content-Length"), "endless body over the cap: %s",
	    err.msg);
	free(url);
	url = t_url(e, "etag/e.txt");
	rc = fetch_get_mem(f, url, strlen(text), NULL, NULL, &m, &err);
	ok(rc == 0 && m.status == 200, "exactly max bytes is fine");
	fetch_mem_release(&m);
	free(url);

	url = t_url(e, "etag/none.txt");
	rc = fetch_get_mem(f, url, 1000, NULL, NULL, &m, &err);
	ok(rc == 0 && m.status == 404 && m.data == NULL, "get_mem 404");
	free(url);

	url = t_url(e, "fail500/1/e.txt");
	rc = fetch_get_mem(f, url, 1000, NULL, NULL, &m, &err);
	ok(rc == 0 && m.status == 200, "get_mem retries a 500 (%s)",
	    rc ? err.msg : "ok");
	fetch_mem_release(&m);
	free(url);

	/* Nothing listens on port 1: a connect error after retries. */
	rc = fetch_get_mem(f, "http://127.0.0.1:1/x", 1000, NULL, NULL, &m,
	    &err);
	ok(rc == MERR_NET && t_has(err.msg, "'http://127.0.0.1:1/x': ") &&
	    t_has(err.msg, "after 3 attempts"), "connect refused: %s",
	    err.msg);

	free(etag);
	free(lm);
	fetch_free(f);
}

/*
 * A Content-Length over the cap is refused as soon as it is read: the
 * server sends its headers and ten bytes, then nothing, for an hour. The
 * fetch's stall timeout (10 s, no retry) bounds the wait had the refusal
 * to wait for the body; the error must be the limit, not that timeout.
 */
static void
test_declared(struct env *e)
{
	struct fetch *f = t_fetch(2, 0, 10);
	struct fetch_job j;
	struct fetch_mem m;
	struct merr err;
	char *url;
	int rc;

	url = t_url(e, "declare/4294967296");
	rc = fetch_get_mem(f, url, 64 << 20, NULL, NULL, &m, &err);
	is_int(rc, MERR_LIMIT, "a declared 4 GiB InRelease is MERR_LIMIT");
	ok(t_has(err.msg, "4294967296") && t_has(err.msg, "67108864") &&
	    t_has(err.msg, url), "the message names the length and the "
	    "cap: %s", err.msg);
	ok(m.data == NULL, "no data");
	free(url);

	url = t_url(e, "declare/123456789012345678901234567890");
	rc = fetch_get_mem(f, url, 64 << 20, NULL, NULL, &m, &err);
	ok(rc == MERR_LIMIT && t_has(err.msg, "123456789012345678901234"),
	    "a length past 64 bits too: %s", err.msg);
	free(url);

	/* Into the store: the job's size is the cap. */
	url = t_url(e, "declare/100001");
	memset(&j, 0, sizeof(j));
	j.url = url;
	j.size = 100000;
	rc = t_one(f, e, &j, &err);
	is_int(rc, MERR_LIMIT, "a pool file declared larger than its size");
	ok(t_has(err.msg, "100001") && t_has(err.msg, "100000") &&
	    t_has(err.msg, url), "named: %s", err.msg);
	free(url);
	fetch_free(f);
}

int
main(void)
{
	struct env e;
	struct merr err;
	char *p;
	int rc = 2;

	alarm(60);
	memset(&e, 0, sizeof(e));
	snprintf(e.dir, sizeof(e.dir), "/tmp/t_fetch.XXXXXX");
	if (mkdtemp(e.dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(e.www, sizeof(e.www), "%s/www", e.dir);
	p = xasprintf("%s/f", e.www);
	rc = mkdir_p(p, 0755, &err);
	free(p);
	if (rc != 0) {
		printf("# %s\n", err.msg);
		goto out;
	}
	p = xasprintf("%s/store", e.dir);
	rc = store_open(p, true, &e.store, &err);
	free(p);
	if (rc != 0) {
		printf("# store_open: %s\n", err.msg);
		goto out;
	}
	if (t_server_start(&e) != 0) {
		printf("# cannot start tests/unit/fetch_server.py\n");
		rc = -1;
		goto out;
	}

	test_many(&e);
	test_mem(&e);
	test_errors(&e);
	test_declared(&e);
	rc = 0;
out:
	if (e.pid > 0) {
		kill(e.pid, SIGTERM);
		waitpid(e.pid, NULL, 0);
	}
	if (e.store != NULL)
		store_close(e.store);
	nftw(e.dir, t_rm, 16, FTW_DEPTH | FTW_PHYS);
	return rc != 0 ? 2 : tap_done();
}
