/*
 * t_content.c: referenced vs stored (mirrord/content.c) on pool intervals
 * written by hand over snapshots 1 to 4 of mirror "m", some of their
 * blobs listed and some not, beside a mirror "m2" whose name "m" prefixes:
 * the counts and the missing files at each seq (intervals that end
 * before it or start after it left out); content_fetch from a file://
 * upstream (a 404, a wrong hash, then success and a run that has nothing
 * left to do), odstats counting it; fsck's on-demand rule; the Prefetch:
 * rule, on a committed snapshot (the daemon's check, the hook that
 * fetches); and a count over 64,000 files (its time printed, not
 * asserted).
 */
#include "mirrord/common.h"

#include <sys/stat.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/content.h"
#include "mirrord/fetch.h"
#include "mirrord/fsck.h"
#include "mirrord/odstats.h"
#include "mirrord/pool.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "helpers.h"
#include "snapfix.h"
#include "tap.h"

/* The pool files: path, bytes, first and end seq (0: open), listed. */
struct pf {
	const char *mirror;
	const char *path;
	const char *bytes;
	uint32_t from, to;
	bool stored;
	unsigned char h[HASH_LEN];
};

static struct pf files[] = {
	{ "m", "pool/a.deb", "a's bytes", 1, 3, true, { 0 } },
	{ "m", "pool/b.deb", "b's bytes, more of them", 2, 0, false, { 0 } },
	{ "m", "pool/c.deb", "c", 3, 0, true, { 0 } },
	{ "m", "pool/d.deb", "d's", 1, 2, false, { 0 } },	/* ends at 2 */
	{ "m", "pool/e.deb", "eeeeeeee", 4, 0, false, { 0 } },	/* from 4 */
	{ "m2", "pool/a.deb", "m2's own a", 1, 0, false, { 0 } },
};
#define NFILES ARRAY_SIZE(files)
#define SNAP4 "20260101T000004Z"

static int
setup(struct store *s, struct merr *err)
{
	struct store_txn *t;
	size_t i;
	int rc;

	rc = store_txn_begin(s, true, &t, err);
	for (i = 0; rc == 0 && i < NFILES; i++) {
		struct pf *f = &files[i];
		uint64_t len = strlen(f->bytes);

		hash_buf(f->bytes, len, f->h);
		rc = pool_open(t, f->mirror, f->path, f->h, f->from, err);
		if (rc == 0)
			rc = pool_put(t, f->mirror, f->path, f->h, f->from,
			    f->to, len, f->to ? 0 : 1, err);
		if (rc == 0 && f->stored)
			rc = store_blob_put(t, f->h, len, err);
	}
	if (rc) {
		if (t)
			store_txn_abort(t);
		return rc;
	}
	rc = store_txn_commit(t, err);
	/* The listed blobs' files, for fsck. */
	for (i = 0; rc == 0 && i < NFILES; i++) {
		unsigned char h[HASH_LEN];

		if (files[i].stored)
			rc = store_put_mem(s, files[i].bytes,
			    strlen(files[i].bytes), h, err);
	}
	return rc;
}

static uint64_t
len_of(const char *path)
{
	size_t i;

	for (i = 0; i < NFILES; i++)
		if (strcmp(files[i].mirror, "m") == 0 &&
		    strcmp(files[i].path, path) == 0)
			return strlen(files[i].bytes);
	return 0;
}

static void
check_counts(struct store *s, uint32_t seq, uint64_t nf, uint64_t ns,
    uint64_t bytes, uint64_t sbytes)
{
	struct content_counts cc;
	struct store_txn *t;
	struct merr err = { 0, "" };
	int rc;

	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0) {
		rc = content_count(t, "m", seq, &cc, &err);
		store_txn_abort(t);
	}
	ok(rc == 0, "seq %u: counted (%s)", seq, rc ? err.msg : "ok");
	if (rc)
		return;
	is_int(cc.files, nf, "seq %u: pool files", seq);
	is_int(cc.stored_files, ns, "seq %u: stored files", seq);
	is_int(cc.bytes, bytes, "seq %u: bytes", seq);
	is_int(cc.stored_bytes, sbytes, "seq %u: stored bytes", seq);
}

static int
add_path(void *ctx, const struct content_file *f, struct merr *err)
{
	struct buf *b = ctx;

	buf_addf(b, "%s%s", b->len ? " " : "", f->path);
	return 0;
}

static void
check_missing(struct store *s, uint32_t seq, const char *want)
{
	struct store_txn *t;
	struct buf b = BUF_INIT;
	struct merr err = { 0, "" };
	int rc;

	buf_adds(&b, "");
	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0) {
		rc = content_missing_each(t, "m", seq, add_path, &b, &err);
		store_txn_abort(t);
	}
	ok(rc == 0, "seq %u: missing listed (%s)", seq, rc ? err.msg : "ok");
	is_str(b.p, want, "seq %u: the missing files, in path order", seq);
	buf_release(&b);
}

static void
test_counts(struct store *s)
{
	uint64_t a = len_of("pool/a.deb"), b = len_of("pool/b.deb");
	uint64_t c = len_of("pool/c.deb"), d = len_of("pool/d.deb");
	uint64_t e = len_of("pool/e.deb");

	check_counts(s, 1, 2, 1, a + d, a);
	check_counts(s, 2, 2, 1, a + b, a);
	check_counts(s, 3, 2, 1, b + c, c);
	check_counts(s, 4, 3, 1, b + c + e, c);
	check_counts(s, 9, 3, 1, b + c + e, c);
	check_missing(s, 1, "pool/d.deb");
	check_missing(s, 2, "pool/b.deb");
	check_missing(s, 3, "pool/b.deb");
	check_missing(s, 4, "pool/b.deb pool/e.deb");
	check_counts(s, 0, 0, 0, 0, 0);
}

/* Writes text as the upstream's path under up. */
static void
upstream_put(const char *up, const char *path, const char *text)
{
	char *full = xasprintf("%s/%s", up, path), *dir = xstrdup(full), *p;
	FILE *fp;

	*strrchr(dir, '/') = '\0';
	/* mkdir -p: each component below up, in turn. */
	for (p = dir + strlen(up) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(dir, 0700);
		*p = '/';
	}
	mkdir(dir, 0700);
	fp = fopen(full, "w");
	ok(fp != NULL && fputs(text, fp) >= 0 && fclose(fp) == 0,
	    "upstream: '%s' written", path);
	free(dir);
	free(full);
}

static bool
listed(struct store *s, const char *path)
{
	struct store_blob_rec rec;
	struct store_txn *t;
	struct merr err = { 0, "" };
	size_t i;
	int rc = -1;

	for (i = 0; i < NFILES; i++) {
		if (strcmp(files[i].mirror, "m") || strcmp(files[i].path, path))
			continue;
		if (store_txn_begin(s, false, &t, &err) == 0) {
			rc = store_blob_get(t, files[i].h, &rec, &err);
			store_txn_abort(t);
		}
	}
	return rc == 0;
}

static bool
file_exists(struct store *s, const char *path)
{
	char *p = NULL;
	size_t i;
	bool yes;

	for (i = 0; i < NFILES; i++)
		if (strcmp(files[i].mirror, "m") == 0 &&
		    strcmp(files[i].path, path) == 0)
			p = store_blob_path(s, files[i].h);
	yes = p != NULL && access(p, F_OK) == 0;
	free(p);
	return yes;
}

static void
get_odstats(struct store *s, struct odstats *st)
{
	struct store_txn *t;
	struct merr err = { 0, "" };

	memset(st, 0, sizeof(*st));
	if (store_txn_begin(s, false, &t, &err) == 0) {
		odstats_get(t, "m", st, &err);
		store_txn_abort(t);
	}
}

static void
test_fetch(struct store *s, const char *root)
{
	struct conf_mirror m;
	struct content_fetch_result res;
	struct fetch *f = NULL;
	struct odstats st;
	struct snap sn;
	struct merr err = { 0, "" };
	char *up = xasprintf("%s/up", root);
	int rc;

	memset(&m, 0, sizeof(m));
	memset(&sn, 0, sizeof(sn));
	m.name = "m";
	m.uri = xasprintf("file://%s", up);
	m.on_demand = true;
	sn.seq = 4;
	memcpy(sn.id, SNAP4, SNAP_ID_LEN + 1);
	mkdir(up, 0700);
	upstream_put(up, "pool/b.deb", "b's bytes, more of them");
	rc = fetch_new(NULL, &f, &err);
	ok(rc == 0, "fetch context (%s)", rc ? err.msg : "ok");
	if (rc)
		goto out;

	/* e.deb is not upstream: b arrives and stays, e is named. */
	rc = content_fetch(s, f, &m, &sn, NULL, &res, &err);
	is_int(rc, MERR_NOTFOUND, "upstream lacks e.deb: MERR_NOTFOUND");
	ok(strstr(err.msg, "snapshot " SNAP4 ": 'pool/e.deb'") != NULL,
	    "the error names the snapshot and the file: %s", err.msg);
	is_int(res.want_files, 2, "two files wanted");
	is_int(res.had_files, 1, "one was stored already (c)");
	ok(listed(s, "pool/b.deb") && file_exists(s, "pool/b.deb"),
	    "b.deb, which arrived, is stored and listed");
	ok(!listed(s, "pool/e.deb"), "e.deb is not listed");
	check_counts(s, 4, 3, 2, len_of("pool/b.deb") + len_of("pool/c.deb") +
	    len_of("pool/e.deb"), len_of("pool/b.deb") + len_of("pool/c.deb"));
	get_odstats(s, &st);
	is_int(st.fetches, 1, "odstats: one fetch counted");
	is_int(st.bytes, len_of("pool/b.deb"), "odstats: its bytes");
	is_int(st.failures, 1, "odstats: one failure");
	ok(strncmp(st.last_text, "snapshot " SNAP4 " pool/e.deb: ",
	    strlen("snapshot " SNAP4 " pool/e.deb: ")) == 0,
	    "odstats: the failure reads 'snapshot ID path: reason': %s",
	    st.last_text);
	ok(st.last_failure > 0, "odstats: the failure's time");

	/* A wrong e.deb: refused, nothing of it stored. */
	upstream_put(up, "pool/e.deb", "eeeeeeeX");
	memset(&err, 0, sizeof(err));
	rc = content_fetch(s, f, &m, &sn, NULL, &res, &err);
	is_int(rc, MERR_VERIFY, "a wrong e.deb: MERR_VERIFY");
	ok(strstr(err.msg, "'pool/e.deb'") != NULL, "it names the file: %s",
	    err.msg);
	is_int(res.want_files, 1, "only e.deb was wanted (b is stored)");
	ok(!listed(s, "pool/e.deb") && !file_exists(s, "pool/e.deb"),
	    "nothing of the wrong e.deb is stored");

	/* Repaired upstream: done; then nothing left to do. */
	upstream_put(up, "pool/e.deb", "eeeeeeee");
	rc = content_fetch(s, f, &m, &sn, NULL, &res, &err);
	ok(rc == 0, "repaired: fetched (%s)", rc ? err.msg : "ok");
	is_int(res.fetched_files, 1, "one file fetched");
	is_int(res.fetched_bytes, len_of("pool/e.deb"), "its bytes");
	check_counts(s, 4, 3, 3, len_of("pool/b.deb") + len_of("pool/c.deb") +
	    len_of("pool/e.deb"), len_of("pool/b.deb") + len_of("pool/c.deb") +
	    len_of("pool/e.deb"));
	rc = content_fetch(s, f, &m, &sn, NULL, &res, &err);
	ok(rc == 0 && res.want_files == 0 && res.fetched_files == 0 &&
	    res.had_files == 3, "again: nothing wanted, 3 stored already");
	get_odstats(s, &st);
	is_int(st.fetches, 2, "odstats: two fetches");
	is_int(st.failures, 2, "odstats: two failures");
out:
	fetch_free(f);
	free(m.uri);
	free(up);
}

static void
test_fsck(struct store *s, bool on_demand)
{
	struct conf c;
	struct conf_mirror ms[2];
	struct fsck_report r;
	struct merr err = { 0, "" };
	int rc;

	memset(&c, 0, sizeof(c));
	memset(ms, 0, sizeof(ms));
	ms[0].name = "m";
	ms[0].on_demand = on_demand;
	ms[1].name = "m2";	/* immediate: its unlisted a.deb is a problem */
	c.mirrors = ms;
	c.nmirrors = 2;
	rc = fsck_run(s, &c, NULL, &r, &err);
	ok(rc == 0, "fsck ran (%s)", rc ? err.msg : "ok");
	if (on_demand) {
		is_int(r.not_stored, 3, "on demand: b, d, e not stored, "
		    "counted");
		is_int(r.problems, 1, "on demand: only m2's a.deb is a "
		    "problem");
	} else {
		is_int(r.not_stored, 0, "immediate: nothing counted as "
		    "deferred");
		is_int(r.problems, 4, "immediate: b, d, e and m2's a.deb are "
		    "problems");
	}
	fsck_report_release(&r);
}

static void
test_prefetch_rule(struct store *s)
{
	struct conf_mirror m;
	char *pf[] = { "production", "stable" };

	memset(&m, 0, sizeof(m));
	m.name = "m";
	m.prefetch = pf;
	m.nprefetch = 2;
	ok(!content_prefetch_wanted(&m, "production"),
	    "immediate mirror: no prefetch");
	m.on_demand = true;
	ok(content_prefetch_wanted(&m, "production") &&
	    content_prefetch_wanted(&m, "stable"), "on demand: the named "
	    "channels");
	ok(!content_prefetch_wanted(&m, "staging") &&
	    !content_prefetch_wanted(&m, "prod"), "not the others (exact "
	    "names)");
}

#define BIG 64000

/* BIG open intervals of mirror "big", every 4th blob listed. */
static void
test_large(struct store *s)
{
	struct content_counts cc;
	struct store_txn *t;
	struct merr err = { 0, "" };
	unsigned char h[HASH_LEN];
	char path[64];
	int64_t t0;
	int i, rc;

	rc = store_txn_begin(s, true, &t, &err);
	for (i = 0; rc == 0 && i < BIG; i++) {
		snprintf(path, sizeof(path), "pool/main/p/p%05d/p%05d_1_amd64.deb",
		    i, i);
		hash_buf(path, strlen(path), h);
		rc = pool_open(t, "big", path, h, 1, &err);
		if (rc == 0)
			rc = pool_put(t, "big", path, h, 1, 0, 1000, 1, &err);
		if (rc == 0 && i % 4 == 0)
			rc = store_blob_put(t, h, 1000, &err);
	}
	if (rc == 0)
		rc = store_txn_commit(t, &err);
	else if (t)
		store_txn_abort(t);
	ok(rc == 0, "%d intervals written (%s)", BIG, rc ? err.msg : "ok");
	if (rc)
		return;
	t0 = mono_ms();
	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0) {
		rc = content_count(t, "big", 1, &cc, &err);
		store_txn_abort(t);
	}
	printf("# counted %d pool files in %lld ms\n", BIG,
	    (long long)(mono_ms() - t0));
	ok(rc == 0 && cc.files == BIG && cc.stored_files == BIG / 4 &&
	    cc.bytes == (uint64_t)BIG * 1000, "%d files, %d stored", BIG,
	    BIG / 4);
}

#define PDEB "the prefetched package"
#define PDEB_PATH "pool/main/q/q_1_all.deb"

/* A committed snapshot of mirror "p" naming PDEB, not stored. */
static int
commit_p(struct store *s, char id[SNAP_ID_LEN + 1], struct merr *err)
{
	struct snap sn;
	struct snap_suite *su = snapfix_init(&sn);
	struct snap_delta *d = snap_delta_new();
	unsigned char h[HASH_LEN], rel[HASH_LEN];
	int rc;

	hash_buf(PDEB, strlen(PDEB), h);
	rc = snapfix_file(s, su, "Release", "Origin: test\n", rel, err);
	snap_delta_add(d, PDEB_PATH, strlen(PDEB_PATH), h, strlen(PDEB), 1);
	sn.pool_deferred = true;
	if (rc == 0)
		rc = snap_commit(s, "p", &sn, d, NULL, err);
	memcpy(id, sn.id, SNAP_ID_LEN + 1);
	snap_delta_free(d);
	snap_release(&sn);
	return rc;
}

static int
check(struct store *s, const struct conf_mirror *m, const char *channel,
    const char *id, struct merr *err)
{
	struct store_txn *t;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = content_prefetch_check(t, m, channel, id, err);
	store_txn_abort(t);
	return rc;
}

static void
test_prefetch(struct store *s, const char *root)
{
	struct conf *c = conf_new();
	struct conf_mirror m;
	struct content_fetch_result res;
	struct store_txn *t;
	struct merr err = { 0, "" };
	char *pf[] = { "production" };
	char *up = xasprintf("%s/up-p", root);
	char id[SNAP_ID_LEN + 1], got[SNAP_ID_LEN + 1];
	int rc;

	memset(&m, 0, sizeof(m));
	m.name = "p";
	m.uri = xasprintf("file://%s", up);
	m.on_demand = true;
	m.prefetch = pf;
	m.nprefetch = 1;
	mkdir(up, 0700);
	upstream_put(up, PDEB_PATH, PDEB);
	rc = commit_p(s, id, &err);
	ok(rc == 0, "a deferred snapshot of 'p' (%s)", rc ? err.msg : "ok");
	if (rc)
		goto out;
	is_int(check(s, &m, "staging", id, &err), 0, "staging may take it");
	rc = check(s, &m, "production", id, &err);
	is_int(rc, MERR_BUSY, "production may not yet (busy: fetch first)");
	ok(strstr(err.msg, "0 of 1 pool files") != NULL &&
	    strstr(err.msg, id) != NULL, "saying so: %s", err.msg);
	rc = content_prefetch_for(s, c, &m, "latest", "staging", NULL, got,
	    &res, &err);
	ok(rc == 0 && got[0] == '\0' && res.fetched_files == 0,
	    "the hook: nothing for staging, no ref resolved");
	rc = content_prefetch_for(s, c, &m, "latest", "production", NULL, got,
	    &res, &err);
	ok(rc == 0, "the hook for production (%s)", rc ? err.msg : "ok");
	is_str(got, id, "it resolved latest to the snapshot");
	is_int(res.fetched_files, 1, "and fetched its one file");
	is_int(check(s, &m, "production", id, &err), 0, "production may take "
	    "it now");
	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0) {
		rc = content_rollback_target(t, "p", "production", got, &err);
		store_txn_abort(t);
	}
	is_int(rc, MERR_NOTFOUND, "no channel history: no rollback target");
out:
	conf_free(c);
	free(m.uri);
	free(up);
}

int
main(void)
{
	char *root = helpers_tmpdir_new("t_content");
	char *dir;
	struct store *s = NULL;
	struct merr err = { 0, "" };
	int rc;

	if (root == NULL)
		return 1;
	dir = xasprintf("%s/store", root);
	rc = store_open(dir, true, &s, &err);
	if (rc == 0)
		rc = setup(s, &err);
	ok(rc == 0, "a store with pool intervals (%s)", rc ? err.msg : "ok");
	if (rc == 0) {
		test_counts(s);
		test_fsck(s, true);
		test_fsck(s, false);
		test_prefetch_rule(s);
		test_fetch(s, root);
		test_prefetch(s, root);
		test_large(s);
	}
	store_close(s);
	free(dir);
	helpers_tmpdir_free(root);
	return tap_done();
}
