/*
 * t_status.c: the records behind `mirrord status` (sync results, the
 * daemon's schedule), the report made from a store, its JSON, and the
 * cancel flag of fetch (what makes a sync end at once on SIGTERM).
 *
 * Everything runs in a fresh store under a mkdtemp() directory.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/status.h"
#include "mirrord/store.h"
#include "mirrord/fetch.h"
#include "helpers.h"
#include "tap.h"

static bool
alive_yes(long pid)
{
	return pid == 4242;
}

static bool
alive_no(long pid)
{
	return false;
}

static bool
tmp_empty(struct store *s)
{
	char *cmd = xasprintf("test -z \"$(ls -A '%s/tmp')\"", store_dir(s));
	int rc = system(cmd);

	free(cmd);
	return rc == 0;
}

/* The JSON of r, owned. */
static char *
json_of(const struct status_report *r)
{
	char *p = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&p, &n);

	status_print_json(f, r);
	fclose(f);
	return p;
}

static void
test_records(struct store *s)
{
	struct store_txn *t;
	struct status_sync r, got;
	struct merr err = { 0 };
	int64_t next = 0;
	long pid = 0;
	int rc;

	rc = store_txn_begin(s, false, &t, &err);
	is_int(rc, 0, "read txn");
	is_int(status_get_sync(t, "demo", false, &got, &err), MERR_NOTFOUND,
	    "no record: not found");
	is_int(status_get_next(t, "demo", &next, &pid, &err), MERR_NOTFOUND,
	    "no schedule: not found");
	store_txn_abort(t);

	memset(&r, 0, sizeof(r));
	r.ok = true;
	r.started = 1000;
	r.finished = 1010;
	snprintf(r.snapshot, sizeof(r.snapshot), "20261129T080000Z");
	r.fetched_files = 7;
	r.fetched_bytes = 123456789012ull;
	snprintf(r.by, sizeof(r.by), "daemon");
	is_int(status_record_sync(s, "demo", &r, &err), 0, "record ok");

	memset(&r, 0, sizeof(r));
	r.started = 2000;
	r.finished = 2003;
	snprintf(r.by, sizeof(r.by), "sync");
	r.error = "mirror 'demo': \"bad\"\nsecond line";
	is_int(status_record_sync(s, "demo", &r, &err), 0, "record failure");

	store_txn_begin(s, false, &t, &err);
	is_int(status_get_sync(t, "demo", false, &got, &err), 0, "read last");
	ok(!got.ok, "last: failed");
	is_int(got.started, 2000, "last: started");
	is_int(got.finished, 2003, "last: finished");
	is_str(got.snapshot, "", "last: no snapshot");
	is_str(got.by, "sync", "last: by");
	is_str(got.error, "mirror 'demo': \"bad\"\nsecond line",
	    "last: the error, newline and quotes kept");
	status_sync_release(&got);
	is_int(status_get_sync(t, "demo", true, &got, &err), 0,
	    "read last ok");
	ok(got.ok && got.error == NULL, "last ok: ok");
	is_str(got.snapshot, "20261129T080000Z", "last ok: snapshot");
	is_int(got.fetched_files, 7, "last ok: files");
	ok(got.fetched_bytes == 123456789012ull, "last ok: bytes");
	is_str(got.by, "daemon", "last ok: by");
	status_sync_release(&got);
	is_int(status_get_sync(t, "other", false, &got, &err), MERR_NOTFOUND,
	    "another mirror has none");
	store_txn_abort(t);

	/* Format 2: reason, suite, warnings; counters carried on. */
	memset(&r, 0, sizeof(r));
	r.started = 2000;
	r.finished = 2001;
	r.error = "cut";
	r.reason = STATUS_OTHER;
	is_int(status_record_sync(s, "fmt2", &r, &err), 0, "record other");
	memset(&r, 0, sizeof(r));
	r.started = 3000;
	r.finished = 3001;
	snprintf(r.by, sizeof(r.by), "daemon");
	r.error = "bad signature";
	r.reason = STATUS_SIGNATURE;
	snprintf(r.suite, sizeof(r.suite), "stable-updates");
	r.warnings = "suite 'stable': component 'x' is not in its Release\n"
	    "suite 'stable': no Sources\n";
	r.fails[STATUS_DISK] = 99;	/* ignored: carried from the last */
	r.failing_since = 1;		/* the same */
	is_int(status_record_sync(s, "fmt2", &r, &err), 0, "record signature");
	store_txn_begin(s, false, &t, &err);
	is_int(status_get_sync(t, "fmt2", false, &got, &err), 0, "read it");
	ok(got.reason == STATUS_SIGNATURE, "reason kept");
	is_str(got.suite, "stable-updates", "suite kept");
	is_str(got.warnings, r.warnings, "warnings kept");
	is_str(got.error, "bad signature", "error after the warnings");
	ok(got.fails[STATUS_SIGNATURE] == 1 && got.fails[STATUS_OTHER] == 1 &&
	    got.fails[STATUS_DISK] == 0, "failures by reason carried on");
	is_int(got.failing_since, 2000, "failing since the first failure");
	status_sync_release(&got);
	store_txn_abort(t);
	memset(&r, 0, sizeof(r));
	r.ok = true;
	r.started = 4000;
	r.finished = 4001;
	is_int(status_record_sync(s, "fmt2", &r, &err), 0, "record a success");
	store_txn_begin(s, false, &t, &err);
	is_int(status_get_sync(t, "fmt2", false, &got, &err), 0, "read it");
	ok(got.fails[STATUS_SIGNATURE] == 1 && got.failing_since == 0 &&
	    got.warnings == NULL, "a success keeps the counts, ends the run");
	status_sync_release(&got);
	store_txn_abort(t);

	store_txn_begin(s, true, &t, &err);
	is_int(status_put_next(t, "demo", 5000, 4242, &err), 0, "put next");
	is_int(store_txn_commit(t, &err), 0, "commit");
	store_txn_begin(s, false, &t, &err);
	is_int(status_get_next(t, "demo", &next, &pid, &err), 0, "get next");
	is_int(next, 5000, "next time");
	is_int(pid, 4242, "next pid");
	store_txn_abort(t);
}

static void
test_report(struct store *s)
{
	struct conf c;
	struct conf_mirror m[2];
	struct status_report r;
	struct store_txn *t;
	struct merr err = { 0 };
	unsigned char h[HASH_LEN];
	char *js;

	memset(&c, 0, sizeof(c));
	memset(m, 0, sizeof(m));
	m[0].name = "demo";
	m[0].enabled = true;
	m[1].name = "quiet";
	c.mirrors = m;
	c.nmirrors = 2;

	is_int(status_collect(s, &c, alive_no, &r, &err), 0, "collect");
	is_int(r.nmirrors, 2, "two mirrors");
	is_int(r.blobs, 0, "no blobs");
	ok(r.dedup_ratio == 0, "no ratio without blobs");
	ok(r.mirrors[0].have_last && r.mirrors[0].have_ok, "demo has records");
	ok(!r.mirrors[0].have_next, "a dead daemon's plan is not shown");
	ok(!r.mirrors[1].have_last && !r.mirrors[1].enabled,
	    "quiet: no record, disabled");
	js = json_of(&r);
	ok(strstr(js, "\"dedup_ratio\":null") != NULL, "JSON: null ratio");
	ok(strstr(js, "\"next_sync\":null,\"daemon_pid\":null") != NULL,
	    "JSON: no next sync");
	ok(strstr(js, "\"error\":\"mirror 'demo': \\\"bad\\\"\\u000asecond "
	    "line\"") != NULL, "JSON: the error escaped");
	ok(strstr(js, "\"last_success\":{\"result\":\"ok\",\"started\":1000,"
	    "\"finished\":1010,\"snapshot\":\"20261129T080000Z\"") != NULL,
	    "JSON: last success");
	ok(strstr(js, "{\"name\":\"quiet\",\"enabled\":false,"
	    "\"last_sync\":null,\"last_success\":null") != NULL,
	    "JSON: a mirror never synced");
	free(js);
	status_report_release(&r);

	is_int(status_collect(s, &c, alive_yes, &r, &err), 0, "collect again");
	ok(r.mirrors[0].have_next && r.mirrors[0].next == 5000 &&
	    r.mirrors[0].daemon_pid == 4242, "a live daemon's plan is shown");
	js = json_of(&r);
	ok(strstr(js, "\"next_sync\":5000,\"daemon_pid\":4242") != NULL,
	    "JSON: next sync");
	free(js);
	status_report_release(&r);

	/* Blobs: counted by the index, with their sizes. */
	is_int(store_put_mem(s, "hello", 5, h, &err), 0, "blob 1");
	is_int(store_put_mem(s, "hello, world", 12, h, &err), 0, "blob 2");
	is_int(status_collect(s, &c, alive_no, &r, &err), 0, "collect blobs");
	/* store_put_mem writes files; the index lists them at a commit. */
	is_int(r.blobs, 0, "files not in the index are not counted");
	status_report_release(&r);
	store_txn_begin(s, true, &t, &err);
	hash_buf("hello", 5, h);
	store_blob_put(t, h, 5, &err);
	hash_buf("hello, world", 12, h);
	store_blob_put(t, h, 12, &err);
	is_int(store_txn_commit(t, &err), 0, "index the blobs");
	is_int(status_collect(s, &c, alive_no, &r, &err), 0, "collect blobs");
	is_int(r.blobs, 2, "two blobs");
	is_int(r.stored_bytes, 17, "their bytes");
	is_int(r.snapshots, 0, "no snapshots");
	ok(r.dedup_ratio == 0, "ratio 0: nothing referenced");
	js = json_of(&r);
	ok(strstr(js, "\"blobs\":2,\"stored_bytes\":17,\"snapshots\":0,"
	    "\"referenced_bytes\":0,\"dedup_ratio\":0.0000") != NULL,
	    "JSON: store");
	free(js);
	status_report_release(&r);

	/*
	 * status reads the counters the commits keep, not every blob row:
	 * a row written around store_blob_put (only a test does that) is
	 * not seen.
	 */
	store_txn_begin(s, true, &t, &err);
	{
		unsigned char raw[16] = { 100 };

		hash_buf("raw", 3, h);
		store_put(t, TBL_BLOBS, h, HASH_LEN, raw, sizeof(raw), &err);
	}
	store_txn_commit(t, &err);
	is_int(status_collect(s, &c, alive_no, &r, &err), 0, "collect");
	ok(r.blobs == 2 && r.stored_bytes == 17,
	    "blobs from the counters, not a scan (%llu, %llu)",
	    (unsigned long long)r.blobs, (unsigned long long)r.stored_bytes);
	status_report_release(&r);
	store_txn_begin(s, true, &t, &err);
	store_del(t, TBL_BLOBS, h, HASH_LEN, &err);
	store_txn_commit(t, &err);

	/* A daemon that stops deletes its plan. */
	store_txn_begin(s, true, &t, &err);
	is_int(status_put_next(t, "demo", 0, 4242, &err), 0, "delete next");
	is_int(status_put_next(t, "quiet", 0, 4242, &err), 0,
	    "delete a next that is not there");
	store_txn_commit(t, &err);
	is_int(status_collect(s, &c, alive_yes, &r, &err), 0, "collect");
	ok(!r.mirrors[0].have_next, "no plan after the daemon stopped");
	status_report_release(&r);
}

static void
test_cancel(struct store *s, const char *dir)
{
	struct fetch *f = NULL;
	struct fetch_mem mem;
	struct fetch_job job;
	struct merr err = { 0 };
	atomic_bool cancel;
	char *path = xasprintf("%s/upstream", dir), *url;
	FILE *fp = fopen(path, "w");

	fputs("some bytes\n", fp);
	fclose(fp);
	url = xasprintf("file://%s", path);
	atomic_init(&cancel, true);
	is_int(fetch_new(NULL, &f, &err), 0, "fetch_new");
	fetch_set_cancel(f, &cancel);
	is_int(fetch_get_mem(f, url, 1024, NULL, NULL, &mem, &err),
	    MERR_CANCEL, "get_mem cancelled");
	ok(strstr(err.msg, "cancelled") != NULL, "says cancelled: %s",
	    err.msg);
	fetch_mem_release(&mem);

	memset(&job, 0, sizeof(job));
	job.url = url;
	hash_buf("some bytes\n", 11, job.hash);
	job.size = 11;
	memset(&err, 0, sizeof(err));
	is_int(fetch_to_store(f, s, &job, 1, NULL, NULL, &err), MERR_CANCEL,
	    "to_store cancelled");
	ok(job.status != 0, "the job is not stored");
	ok(strstr(err.msg, "cancelled") != NULL, "says cancelled: %s",
	    err.msg);
	ok(tmp_empty(s), "no temp file left");

	/* The flag down again: the same handle works. */
	atomic_store(&cancel, false);
	is_int(fetch_get_mem(f, url, 1024, NULL, NULL, &mem, &err), 0,
	    "get_mem after the flag is down");
	is_int(mem.status, 200, "status 200");
	fetch_mem_release(&mem);
	is_int(fetch_to_store(f, s, &job, 1, NULL, NULL, &err), 0,
	    "to_store after the flag is down");
	is_int(job.status, 0, "stored");
	fetch_set_cancel(f, NULL);
	fetch_free(f);
	free(url);
	free(path);
}

int
main(void)
{
	char *dir;
	struct store *s = NULL;
	struct merr err = { 0 };
	char *sdir;

	dir = helpers_tmpdir_new("t_status");
	if (dir == NULL)
		return 1;
	sdir = xasprintf("%s/store", dir);
	is_int(store_open(sdir, true, &s, &err), 0, "store_open");
	if (s != NULL) {
		test_records(s);
		test_report(s);
		test_cancel(s, dir);
		store_close(s);
	}
	free(sdir);
	helpers_tmpdir_free(dir);
	return tap_done();
}
