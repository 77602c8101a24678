/*
 * t_snap.c: snapshot manifests, pool membership intervals, the commit,
 * and the delta map.
 *
 * Snapshots are built by hand (no sync), committed into a fresh store under
 * a mkdtemp() directory, and read back. The pool rows are counted before
 * and after a commit to check that a commit's cost follows what changed,
 * not the size of the archive.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <time.h>
#include <unistd.h>

#include "mirrord/hash.h"
#include "mirrord/pool.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "helpers.h"
#include "tap.h"

#define NPOOL 1000		/* pool entries of snapshot 1 */
#define NBIG 100000		/* entries of the big delta */
#define MIRROR "m"

/* --- helpers ------------------------------------------------------------ */

/* Pool entry i: its path, its blob (the digest of the path) and size. */
static void
pool_path(unsigned i, char *buf, size_t n)
{
	snprintf(buf, n, "pool/main/p/pkg%04u/pkg%04u_1.0-%u_amd64.deb", i, i,
	    i % 7);
}

static uint64_t
pool_size(unsigned i)
{
	return 1000 + (uint64_t)i * 7;
}

static void
pool_hash(unsigned i, unsigned char h[HASH_LEN])
{
	char p[128];

	pool_path(i, p, sizeof(p));
	hash_buf(p, strlen(p), h);
}

static void
delta_pool(struct snap_delta *d, unsigned i, int n)
{
	unsigned char h[HASH_LEN];
	char p[128];

	pool_path(i, p, sizeof(p));
	pool_hash(i, h);
	snap_delta_add(d, p, strlen(p), h, pool_size(i), n);
}

static void
hash_str(const char *s, unsigned char h[HASH_LEN])
{
	hash_buf(s, strlen(s), h);
}

/* Adds a dists file whose blob is the digest of content. */
static void
add_file(struct snap_suite *su, const char *path, const char *content,
    uint64_t size)
{
	unsigned char h[HASH_LEN];

	hash_str(content, h);
	snap_suite_add_file(su, path, h, size);
}

static void
add_index(struct snap_suite *su, const char *path, const char *content,
    uint64_t npara, uint64_t nfiles, uint64_t bytes)
{
	unsigned char h[HASH_LEN];
	struct snap_index *ix;

	hash_str(content, h);
	ix = snap_suite_add_index(su, path, h);
	ix->npara = npara;
	ix->nfiles = nfiles;
	ix->bytes = bytes;
}

/* pool_lookup in a read transaction of its own. */
static int
lookup(struct store *s, const char *mirror, const char *path, uint32_t seq,
    unsigned char h[HASH_LEN], uint64_t *size)
{
	struct store_txn *t;
	struct merr err = { 0, "" };
	int rc;

	if (store_txn_begin(s, false, &t, &err))
		return MERR_STORE;
	rc = pool_lookup(t, mirror, path, seq, h, size, &err);
	store_txn_abort(t);
	return rc;
}

/*
 * Counts pool entries in [from, to) whose lookup at seq gives want
 * (0: found with the expected blob and size; MERR_NOTFOUND: absent).
 */
static unsigned
count_lookups(struct store *s, unsigned from, unsigned to, uint32_t seq,
    int want)
{
	unsigned char h[HASH_LEN], eh[HASH_LEN];
	struct store_txn *t;
	struct merr err = { 0, "" };
	uint64_t size;
	unsigned i, good = 0;
	char p[128];
	int rc;

	if (store_txn_begin(s, false, &t, &err))
		return 0;
	for (i = from; i < to; i++) {
		pool_path(i, p, sizeof(p));
		pool_hash(i, eh);
		rc = pool_lookup(t, MIRROR, p, seq, h, &size, &err);
		if (rc != want)
			continue;
		if (rc == 0 && (memcmp(h, eh, HASH_LEN) != 0 ||
		    size != pool_size(i)))
			continue;
		good++;
	}
	store_txn_abort(t);
	return good;
}

/* The rows of one table under "mirror\0", as (key, value) copies. */
struct row {
	char *k, *v;
	size_t kl, vl;
};

struct rows {
	struct row *r;
	size_t n;
};

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	size_t n = x->kl < y->kl ? x->kl : y->kl;
	int c = memcmp(x->k, y->k, n);

	if (c)
		return c;
	return x->kl < y->kl ? -1 : x->kl > y->kl;
}

static void
rows_release(struct rows *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		free(rs->r[i].k);
		free(rs->r[i].v);
	}
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

/* Open intervals: value to == 0. */
static size_t
open_count(const struct rows *rs)
{
	size_t i, n = 0;

	for (i = 0; i < rs->n; i++) {
		const unsigned char *v = (const unsigned char *)rs->r[i].v;

		if (rs->r[i].vl == 16 && !v[0] && !v[1] && !v[2] && !v[3])
			n++;
	}
	return n;
}

static void
rows_collect(struct store *s, enum store_table tbl, const char *mirror,
    struct rows *rs)
{
	struct store_txn *t;
	struct store_cursor *c;
	struct merr err = { 0, "" };
	const void *k, *v;
	size_t kl, vl, plen = strlen(mirror) + 1;
	int rc;

	memset(rs, 0, sizeof(*rs));
	if (store_txn_begin(s, false, &t, &err))
		return;
	if (store_cursor_open(t, tbl, &c, &err)) {
		store_txn_abort(t);
		return;
	}
	rc = store_cursor_seek(c, mirror, plen, &k, &kl, &v, &vl, &err);
	while (rc == 1 && kl >= plen && memcmp(k, mirror, plen) == 0) {
		struct row *r;

		rs->r = xreallocarray(rs->r, rs->n + 1, sizeof(*rs->r));
		r = &rs->r[rs->n++];
		r->k = xmalloc(kl ? kl : 1);
		memcpy(r->k, k, kl);
		r->kl = kl;
		r->v = xmalloc(vl ? vl : 1);
		memcpy(r->v, v, vl);
		r->vl = vl;
		rc = store_cursor_next(c, &k, &kl, &v, &vl, &err);
	}
	store_cursor_close(c);
	store_txn_abort(t);
	qsort(rs->r, rs->n, sizeof(*rs->r), row_cmp);
}

/* Rows only in b (added), only in a (removed), in both but changed. */
static void
rows_diff(const struct rows *a, const struct rows *b, size_t *added,
    size_t *removed, size_t *changed)
{
	size_t i = 0, j = 0;

	*added = *removed = *changed = 0;
	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 :
		    row_cmp(&a->r[i], &b->r[j]);

		if (c < 0) {
			(*removed)++;
			i++;
		} else if (c > 0) {
			(*added)++;
			j++;
		} else {
			if (a->r[i].vl != b->r[j].vl ||
			    memcmp(a->r[i].v, b->r[j].v, a->r[i].vl) != 0)
				(*changed)++;
			i++;
			j++;
		}
	}
}

static size_t
count_snaps(struct store *s, const char *mirror)
{
	struct store_txn *t;
	struct merr err = { 0, "" };
	char **ids;
	size_t n = 0;

	if (store_txn_begin(s, false, &t, &err))
		return (size_t)-1;
	if (snap_list(t, mirror, &ids, &n, &err) == 0)
		strv_free(ids, n);
	else
		n = (size_t)-1;
	store_txn_abort(t);
	return n;
}

static int
load(struct store *s, const char *mirror, const char *ref, struct snap *out,
    struct merr *err)
{
	struct store_txn *t;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = snap_load(t, mirror, ref, out, err);
	store_txn_abort(t);
	return rc;
}

static int
state_get(struct store *s, const char *mirror, const char *suite,
    struct snap_state *st)
{
	struct store_txn *t;
	struct merr err = { 0, "" };
	int rc;

	rc = store_txn_begin(s, false, &t, &err);
	if (rc)
		return rc;
	rc = snap_state_get(t, mirror, suite, st, &err);
	store_txn_abort(t);
	return rc;
}

static bool
streq_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Does b hold the same manifest as a? Prints the first difference. */
static bool
snap_same(const struct snap *a, const struct snap *b)
{
	size_t i, j;

#define DIFF(what) do { printf("#   manifest differs: %s\n", what); \
	return false; } while (0)
	if (strcmp(a->id, b->id) != 0)
		DIFF("id");
	if (a->seq != b->seq || a->time != b->time)
		DIFF("seq or time");
	if (a->kind != b->kind || !streq_null(a->recipe, b->recipe))
		DIFF("kind or recipe");
	if (a->packages != b->packages || a->sources != b->sources ||
	    a->files != b->files || a->bytes != b->bytes ||
	    a->new_files != b->new_files || a->new_bytes != b->new_bytes)
		DIFF("counters");
	if (a->nsuites != b->nsuites)
		DIFF("number of suites");
	for (i = 0; i < a->nsuites; i++) {
		const struct snap_suite *x = &a->suites[i], *y = &b->suites[i];

		if (strcmp(x->name, y->name) != 0 ||
		    !streq_null(x->date_str, y->date_str) || x->date != y->date)
			DIFF("suite name or date");
		if (x->nfiles != y->nfiles || x->nindices != y->nindices)
			DIFF("number of files or indices");
		for (j = 0; j < x->nfiles; j++)
			if (strcmp(x->files[j].path, y->files[j].path) != 0 ||
			    memcmp(x->files[j].hash, y->files[j].hash,
			    HASH_LEN) != 0 ||
			    x->files[j].size != y->files[j].size)
				DIFF("a file");
		for (j = 0; j < x->nindices; j++) {
			const struct snap_index *p = &x->indices[j];
			const struct snap_index *q = &y->indices[j];

			if (strcmp(p->path, q->path) != 0 ||
			    memcmp(p->hash, q->hash, HASH_LEN) != 0 ||
			    p->npara != q->npara || p->nfiles != q->nfiles ||
			    p->bytes != q->bytes)
				DIFF("an index");
		}
	}
#undef DIFF
	return true;
}

/* Formats t as a snapshot ID / parses an ID back to a time. */
static void
fmt_id(time_t t, char id[SNAP_ID_LEN + 1])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(id, SNAP_ID_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

static time_t
parse_id(const char *id)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (strptime(id, "%Y%m%dT%H%M%SZ", &tm) == NULL)
		return (time_t)-1;
	return timegm(&tm);
}

/* --- the delta map alone ----------------------------------------------- */

struct each_ctx {
	size_t calls;
	size_t bad;		/* entries not as added */
	size_t stop_at;		/* fail on this call; 0: never */
	int want_n;
	char last_path[128];
	unsigned char last_hash[HASH_LEN];
	int last_n;
	uint64_t last_size;
};

static int
each_cb(void *arg, const char *path, const unsigned char h[HASH_LEN],
    uint64_t size, int n, struct merr *err)
{
	struct each_ctx *c = arg;

	c->calls++;
	snprintf(c->last_path, sizeof(c->last_path), "%s", path);
	memcpy(c->last_hash, h, HASH_LEN);
	c->last_n = n;
	c->last_size = size;
	if (c->stop_at && c->calls == c->stop_at)
		return merr_set(err, MERR_INVAL, "stop");
	return 0;
}

/* Checks each entry of the big delta: path "big/N", hash of it, size N. */
static int
big_cb(void *arg, const char *path, const unsigned char h[HASH_LEN],
    uint64_t size, int n, struct merr *err)
{
	struct each_ctx *c = arg;
	unsigned char eh[HASH_LEN];
	uint64_t v;

	c->calls++;
	hash_buf(path, strlen(path), eh);
	if (!str_startswith(path, "big/") ||
	    parse_u64(path + 4, strlen(path + 4), NBIG, &v) != 0 ||
	    v != size || memcmp(h, eh, HASH_LEN) != 0 || n != c->want_n)
		c->bad++;
	return 0;
}

static void
test_delta(void)
{
	struct snap_delta *d;
	struct each_ctx c;
	struct merr err = { 0, "" };
	unsigned char h1[HASH_LEN], h2[HASH_LEN];
	char p[32];
	unsigned i;
	int rc;

	hash_str("one", h1);
	hash_str("two", h2);

	d = snap_delta_new();
	memset(&c, 0, sizeof(c));
	is_int(snap_delta_each(d, each_cb, &c, &err), 0, "delta: empty each");
	is_int(c.calls, 0, "delta: empty delta calls nothing");

	snap_delta_add(d, "pool/a.deb", 10, h1, 5, 1);
	snap_delta_add(d, "pool/a.deb", 10, h1, 5, -1);
	memset(&c, 0, sizeof(c));
	snap_delta_each(d, each_cb, &c, &err);
	is_int(c.calls, 0, "delta: +1 and -1 of the same (path, blob) cancel");

	snap_delta_add(d, "pool/b.deb", 10, h1, 7, 1);
	snap_delta_add(d, "pool/b.deb", 10, h1, 7, 1);
	memset(&c, 0, sizeof(c));
	snap_delta_each(d, each_cb, &c, &err);
	is_int(c.calls, 1, "delta: +1 +1 is one entry");
	is_int(c.last_n, 2, "delta: ... with n = 2");
	is_str(c.last_path, "pool/b.deb", "delta: ... its path");
	is_int(c.last_size, 7, "delta: ... its size");
	ok(memcmp(c.last_hash, h1, HASH_LEN) == 0, "delta: ... its blob");
	snap_delta_free(d);

	/* Same path, different blobs: two entries that do not cancel. */
	d = snap_delta_new();
	snap_delta_add(d, "pool/c.deb", 10, h1, 5, 1);
	snap_delta_add(d, "pool/c.deb", 10, h2, 6, -1);
	memset(&c, 0, sizeof(c));
	snap_delta_each(d, each_cb, &c, &err);
	is_int(c.calls, 2, "delta: same path, different blobs are distinct");
	/* Same blob, different paths are distinct too. */
	snap_delta_add(d, "pool/d.deb", 10, h1, 5, 1);
	memset(&c, 0, sizeof(c));
	snap_delta_each(d, each_cb, &c, &err);
	is_int(c.calls, 3, "delta: same blob, different paths are distinct");
	/* The callback's error stops the walk and is returned. */
	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	rc = snap_delta_each(d, each_cb, &c, &err);
	is_int(rc, MERR_INVAL, "delta: callback error is returned");
	is_int(c.calls, 2, "delta: ... and stops the walk");
	snap_delta_free(d);

	/* len counts: the path is the first len bytes, NUL-terminated. */
	d = snap_delta_new();
	snap_delta_add(d, "pool/e.debXYZ", 10, h1, 1, 1);
	snap_delta_add(d, "pool/e.deb", 10, h1, 1, 1);
	memset(&c, 0, sizeof(c));
	snap_delta_each(d, each_cb, &c, &err);
	is_int(c.calls, 1, "delta: path is [path, path+len)");
	is_str(c.last_path, "pool/e.deb", "delta: ... NUL-terminated");
	is_int(c.last_n, 2, "delta: ... and both adds met");
	snap_delta_free(d);
	snap_delta_free(NULL);

	/* Growth: NBIG entries, then cancel the even ones. */
	d = snap_delta_new();
	for (i = 0; i < NBIG; i++) {
		snprintf(p, sizeof(p), "big/%u", i);
		hash_str(p, h1);
		snap_delta_add(d, p, strlen(p), h1, i, 1);
	}
	memset(&c, 0, sizeof(c));
	c.want_n = 1;
	rc = snap_delta_each(d, big_cb, &c, &err);
	is_int(rc, 0, "delta: %d entries walk", NBIG);
	is_int(c.calls, NBIG, "delta: %d entries, each once", NBIG);
	is_int(c.bad, 0, "delta: every entry intact after growth");
	for (i = 0; i < NBIG; i += 2) {
		snprintf(p, sizeof(p), "big/%u", i);
		hash_str(p, h1);
		snap_delta_add(d, p, strlen(p), h1, i, -1);
	}
	memset(&c, 0, sizeof(c));
	c.want_n = 1;
	snap_delta_each(d, big_cb, &c, &err);
	is_int(c.calls, NBIG / 2, "delta: cancelling half leaves half");
	is_int(c.bad, 0, "delta: the rest intact");
	snap_delta_free(d);
}

/* --- suites without a store -------------------------------------------- */

static void
test_suite_helpers(void)
{
	struct snap_suite a, b;
	struct snap sn;
	unsigned char h[HASH_LEN];

	memset(&a, 0, sizeof(a));
	a.name = xstrdup("stable");
	a.date_str = xstrdup("Sat, 29 Nov 2025 08:00:00 UTC");
	a.date = 1764403200;
	add_file(&a, "InRelease", "x", 10);
	add_index(&a, "main/binary-amd64/Packages.xz", "y", 1, 2, 3);
	snap_suite_copy(&b, &a);
	ok(b.name != a.name && strcmp(b.name, "stable") == 0,
	    "suite copy: name is a copy");
	ok(b.nfiles == 1 && b.files[0].path != a.files[0].path &&
	    strcmp(b.files[0].path, "InRelease") == 0 &&
	    b.files[0].size == 10, "suite copy: files deep-copied");
	hash_str("y", h);
	ok(b.nindices == 1 && b.indices[0].npara == 1 &&
	    b.indices[0].nfiles == 2 && b.indices[0].bytes == 3 &&
	    memcmp(b.indices[0].hash, h, HASH_LEN) == 0,
	    "suite copy: indices with their stats");
	is_int(b.date, 1764403200, "suite copy: date");
	snap_suite_release(&a);	/* b must stand alone */
	is_str(b.date_str, "Sat, 29 Nov 2025 08:00:00 UTC",
	    "suite copy: date_str survives the original");

	memset(&sn, 0, sizeof(sn));
	sn.suites = xcalloc(1, sizeof(*sn.suites));
	sn.suites[0] = b;
	sn.nsuites = 1;
	ok(snap_find_suite(&sn, "stable") == &sn.suites[0], "find_suite");
	ok(snap_find_suite(&sn, "stab") == NULL, "find_suite: no prefix match");
	snap_release(&sn);
	ok(sn.suites == NULL && sn.nsuites == 0, "snap_release zeroes");
}

/* --- the store --------------------------------------------------------- */

/* Dists blobs of snapshot 1 (one shared by both suites). */
#define S1_STABLE_BYTES (5000 + 4800 + 90000 + 40000 + 3000)
#define S1_UPD_BYTES (2000 + 1900 + 700 + 3000)
#define S1_DISTS_ALL (S1_STABLE_BYTES + S1_UPD_BYTES)
#define S1_DISTS_DISTINCT (S1_DISTS_ALL - 3000)

static void
build_snap1(struct snap *sn)
{
	struct snap_suite *su;

	memset(sn, 0, sizeof(*sn));
	sn->suites = xcalloc(2, sizeof(*sn->suites));
	sn->nsuites = 2;
	su = &sn->suites[0];
	su->name = xstrdup("stable");
	su->date_str = xstrdup("Sat, 29 Nov 2025 08:00:00 UTC");
	su->date = 1764403200;
	add_file(su, "InRelease", "stable InRelease 1", 5000);
	add_file(su, "Release", "stable Release 1", 4800);
	add_file(su, "main/binary-amd64/Packages.xz", "stable Packages 1",
	    90000);
	add_file(su, "main/source/Sources.xz", "stable Sources 1", 40000);
	add_file(su, "main/i18n/Translation-en.bz2", "shared translation",
	    3000);
	add_index(su, "main/binary-amd64/Packages.xz", "stable Packages 1",
	    600, 900, 12345678);
	add_index(su, "main/source/Sources.xz", "stable Sources 1", 50, 100,
	    2345678);
	su = &sn->suites[1];
	su->name = xstrdup("stable-updates");
	su->date_str = xstrdup("Fri, 28 Nov 2025 20:15:03 UTC");
	su->date = 1764360903;
	add_file(su, "InRelease", "updates InRelease 1", 2000);
	add_file(su, "Release", "updates Release 1", 1900);
	add_file(su, "main/binary-amd64/Packages.xz", "updates Packages 1",
	    700);
	add_file(su, "main/i18n/Translation-en.bz2", "shared translation",
	    3000);
	add_index(su, "main/binary-amd64/Packages.xz", "updates Packages 1",
	    30, 100, 4567);
}

/* Sum of pool_size(i) for i in [from, to). */
static uint64_t
pool_bytes(unsigned from, unsigned to)
{
	uint64_t b = 0;
	unsigned i;

	for (i = from; i < to; i++)
		b += pool_size(i);
	return b;
}

static void
test_load_refs(struct store *s, const struct snap *s1, const struct snap *s2)
{
	static const char *garbage[] = {
		"garbage", "", "LATEST", "20251129T080000", "20251129T080000ZZ",
		"2025-11-29T08:00:00Z", "20251129 080000Z", "2025112xT080000Z",
	};
	struct merr err = { 0, "" };
	struct snap got;
	char ref[SNAP_ID_LEN + 1];
	time_t t1 = parse_id(s1->id), t2 = parse_id(s2->id);
	size_t i;
	int rc;

	rc = load(s, MIRROR, s1->id, &got, &err);
	ok(rc == 0 && snap_same(s1, &got), "load: snapshot 1 by its ID (%s)",
	    rc ? err.msg : "");
	snap_release(&got);
	rc = load(s, MIRROR, s2->id, &got, &err);
	ok(rc == 0 && snap_same(s2, &got), "load: snapshot 2 by its ID");
	snap_release(&got);
	rc = load(s, MIRROR, "latest", &got, &err);
	ok(rc == 0 && strcmp(got.id, s2->id) == 0, "load: latest is 2");
	snap_release(&got);
	/* The second before snapshot 2 is at or after snapshot 1. */
	fmt_id(t2 - 1, ref);
	rc = load(s, MIRROR, ref, &got, &err);
	ok(rc == 0 && strcmp(got.id, s1->id) == 0,
	    "load: %s (between the two) is snapshot 1", ref);
	snap_release(&got);
	fmt_id(t2 + 86400 * 365, ref);
	rc = load(s, MIRROR, ref, &got, &err);
	ok(rc == 0 && strcmp(got.id, s2->id) == 0,
	    "load: a time after the last is the last");
	snap_release(&got);
	fmt_id(t1 - 1, ref);
	rc = load(s, MIRROR, ref, &got, &err);
	is_int(rc, MERR_NOTFOUND, "load: %s (before the first) not found",
	    ref);
	rc = load(s, MIRROR, "19700101T000000Z", &got, &err);
	is_int(rc, MERR_NOTFOUND, "load: 1970 not found");
	rc = load(s, "nosuchmirror", "latest", &got, &err);
	is_int(rc, MERR_NOTFOUND, "load: latest of an unknown mirror");
	/*
	 * One seek, not a list: the key before or after another mirror's
	 * (MIRROR is "m") is never taken for this mirror's.
	 */
	rc = load(s, "n", "latest", &got, &err);
	is_int(rc, MERR_NOTFOUND, "load: latest of 'n' (after 'm') not 'm's");
	rc = load(s, "l", "latest", &got, &err);
	is_int(rc, MERR_NOTFOUND, "load: latest of 'l' (before 'm')");
	fmt_id(t2 + 86400, ref);
	rc = load(s, "n", ref, &got, &err);
	is_int(rc, MERR_NOTFOUND, "load: a time for 'n' finds no 'm' one");
	rc = load(s, "m\x01", "latest", &got, &err);
	is_int(rc, MERR_NOTFOUND, "load: a name that 'm' is a prefix of");
	for (i = 0; i < ARRAY_SIZE(garbage); i++) {
		rc = load(s, MIRROR, garbage[i], &got, &err);
		is_int(rc, MERR_INVAL, "load: ref '%s' is invalid", garbage[i]);
		if (rc == 0)
			snap_release(&got);
	}
}

static void
test_store(const char *root)
{
	struct merr err = { 0, "" };
	struct store *s = NULL;
	struct snap s1, s2, s3, bad, got;
	struct snap_delta *d;
	struct snap_state st1, st2, st2b, stx, *states[2];
	struct rows pool0, refs0, pool1, refs1;
	unsigned char h[HASH_LEN], h5new[HASH_LEN];
	char **ids, p[128], *dir = xasprintf("%s/store", root);
	size_t nids, added, removed, changed;
	uint64_t size;
	time_t before, after;
	unsigned i;
	int rc;

	rc = store_open(dir, true, &s, &err);
	is_int(rc, 0, "store: open for write (%s)", err.msg);
	free(dir);
	if (rc)
		return;
	rc = store_lock(s, "t_snap", false, &err);
	is_int(rc, 0, "store: lock (%s)", err.msg);

	/* Snapshot 1: two suites, NPOOL pool files (entry 0 listed twice). */
	build_snap1(&s1);
	d = snap_delta_new();
	for (i = 0; i < NPOOL; i++)
		delta_pool(d, i, 1);
	delta_pool(d, 0, 1);
	memset(&st1, 0, sizeof(st1));
	st1.date = 1764403200;
	st1.etag = "\"5d2a-63f0c4b1e8a40\"";
	st1.last_modified = "Sat, 29 Nov 2025 08:00:00 GMT";
	memset(&st2, 0, sizeof(st2));
	st2.date = 1764360903;
	st2.etag = "\"evil\"\nX-Injected: 1";	/* not stored */
	st2.last_modified = "Fri, 28 Nov 2025 20:15:03 GMT";
	states[0] = &st1;
	states[1] = &st2;
	before = time(NULL);
	rc = snap_commit(s, MIRROR, &s1, d, states, &err);
	after = time(NULL);
	snap_delta_free(d);
	is_int(rc, 0, "commit 1 (%s)", rc ? err.msg : "");
	if (rc)
		goto out;
	is_int(s1.seq, 1, "commit 1: seq 1");
	ok(strlen(s1.id) == SNAP_ID_LEN && parse_id(s1.id) == s1.time,
	    "commit 1: ID %s is its commit time", s1.id);
	ok(s1.time >= before && s1.time <= after, "commit 1: time is now");
	is_int(s1.files, NPOOL, "commit 1: files == %d", NPOOL);
	is_int(s1.packages, 630, "commit 1: packages (Packages npara)");
	is_int(s1.sources, 50, "commit 1: sources (Sources npara)");
	/* Distinct blobs: NPOOL pool files, 8 dists files (9, one shared). */
	is_int(s1.new_files, NPOOL + 8,
	    "commit 1: new_files counts distinct blobs incl. dists files");
	is_int(s1.new_bytes, pool_bytes(0, NPOOL) + S1_DISTS_DISTINCT,
	    "commit 1: new_bytes");
	/*
	 * bytes is "pool + dists bytes" (snap.h). Whether a dists blob named
	 * by two suites counts once or twice is not specified, so accept
	 * both; pool bytes alone are not enough.
	 */
	ok(s1.bytes >= pool_bytes(0, NPOOL) + S1_DISTS_DISTINCT &&
	    s1.bytes <= pool_bytes(0, NPOOL) + S1_DISTS_ALL,
	    "commit 1: bytes = pool + dists bytes (got %llu, pool alone %llu)",
	    (unsigned long long)s1.bytes,
	    (unsigned long long)pool_bytes(0, NPOOL));

	/* snap_list, and the manifest read back. */
	{
		struct store_txn *t;

		rc = store_txn_begin(s, false, &t, &err);
		if (rc == 0) {
			rc = snap_list(t, MIRROR, &ids, &nids, &err);
			store_txn_abort(t);
		}
		is_int(rc, 0, "list after commit 1");
		ok(rc == 0 && nids == 1 && strcmp(ids[0], s1.id) == 0,
		    "list: one snapshot, its ID");
		if (rc == 0)
			strv_free(ids, nids);
	}
	rc = load(s, MIRROR, "latest", &got, &err);
	ok(rc == 0 && snap_same(&s1, &got),
	    "load latest: the manifest round-trips (suites, files, "
	    "indices, dates, counters)");
	if (rc == 0)
		is_str(got.suites[1].date_str, "Fri, 28 Nov 2025 20:15:03 UTC",
		    "load: a date with spaces");
	snap_release(&got);

	/* Every pool file is in snapshot 1, with its blob and size. */
	is_int(count_lookups(s, 0, NPOOL, 1, 0), NPOOL,
	    "lookup: all %d pool files at seq 1", NPOOL);
	is_int(count_lookups(s, NPOOL, NPOOL + 5, 1, MERR_NOTFOUND), 5,
	    "lookup: files never added are not found");
	is_int(lookup(s, MIRROR, "pool/main/p/pkg0001", 1, h, &size),
	    MERR_NOTFOUND, "lookup: a prefix of a path is not found");
	pool_path(1, p, sizeof(p));
	is_int(lookup(s, "other", p, 1, h, &size), MERR_NOTFOUND,
	    "lookup: another mirror's pool is separate");
	is_int(count_lookups(s, 0, NPOOL, 2, 0), NPOOL,
	    "lookup: open intervals reach later seqs");

	/* States. */
	memset(&stx, 0, sizeof(stx));
	rc = state_get(s, MIRROR, "stable", &stx);
	ok(rc == 0 && stx.date == st1.date &&
	    streq_null(stx.etag, st1.etag) &&
	    streq_null(stx.last_modified, st1.last_modified),
	    "state: stable stored and read back");
	snap_state_release(&stx);
	rc = state_get(s, MIRROR, "stable-updates", &stx);
	ok(rc == 0 && stx.date == st2.date && stx.etag == NULL &&
	    streq_null(stx.last_modified, st2.last_modified),
	    "state: an etag with a newline is not stored, the rest is");
	snap_state_release(&stx);
	stx.date = 42;
	rc = state_get(s, MIRROR, "nosuchsuite", &stx);
	ok(rc == 0 && stx.date == 0 && stx.etag == NULL &&
	    stx.last_modified == NULL, "state: missing suite is zeroed");
	snap_state_release(&stx);

	/*
	 * Snapshot 2, committed at once (so the ID must wait for the next
	 * second): 10 pool files go, 5 arrive, entry 0 loses one of its two
	 * references. stable is unchanged; stable-updates has a new index.
	 */
	rows_collect(s, TBL_POOL, MIRROR, &pool0);
	rows_collect(s, TBL_POOLSEQ, MIRROR, &refs0);
	is_int(pool0.n, NPOOL, "rows: %d TBL_POOL rows after commit 1", NPOOL);
	is_int(refs0.n, NPOOL, "rows: %d TBL_POOLSEQ rows after commit 1",
	    NPOOL);
	is_int(open_count(&pool0), NPOOL, "rows: %d open intervals", NPOOL);
	memset(&s2, 0, sizeof(s2));
	s2.suites = xcalloc(2, sizeof(*s2.suites));
	s2.nsuites = 2;
	snap_suite_copy(&s2.suites[0], &s1.suites[0]);
	s2.suites[1].name = xstrdup("stable-updates");
	s2.suites[1].date_str = xstrdup("Sat, 29 Nov 2025 20:15:03 UTC");
	s2.suites[1].date = 1764447303;
	add_file(&s2.suites[1], "InRelease", "updates InRelease 2", 2100);
	add_file(&s2.suites[1], "Release", "updates Release 1", 1900);
	add_file(&s2.suites[1], "main/binary-amd64/Packages.xz",
	    "updates Packages 2", 800);
	add_file(&s2.suites[1], "main/i18n/Translation-en.bz2",
	    "shared translation", 3000);
	add_index(&s2.suites[1], "main/binary-amd64/Packages.xz",
	    "updates Packages 2", 25, 95, 4000);
	/* As sync.c does: counters carry over from the previous snapshot. */
	s2.files = s1.files;
	s2.bytes = s1.bytes;
	d = snap_delta_new();
	for (i = NPOOL - 10; i < NPOOL; i++)
		delta_pool(d, i, -1);
	for (i = NPOOL; i < NPOOL + 5; i++)
		delta_pool(d, i, 1);
	delta_pool(d, 0, -1);
	memset(&st2b, 0, sizeof(st2b));
	st2b.date = 1764447303;
	st2b.etag = "W/\"upd-2\"";
	st2b.last_modified = "Sat, 29 Nov 2025 20:15:03 GMT";
	states[0] = NULL;	/* stable: left as it is */
	states[1] = &st2b;
	rc = snap_commit(s, MIRROR, &s2, d, states, &err);
	snap_delta_free(d);
	is_int(rc, 0, "commit 2 (%s)", rc ? err.msg : "");
	if (rc) {
		rows_release(&pool0);
		rows_release(&refs0);
		snap_release(&s2);
		goto out;
	}
	is_int(s2.seq, 2, "commit 2: seq 2");
	ok(strcmp(s2.id, s1.id) > 0, "commit 2: ID %s > %s (committed at once)",
	    s2.id, s1.id);
	is_int(s2.files, NPOOL - 5, "commit 2: files == %d", NPOOL - 5);
	is_int(s2.packages, 625, "commit 2: packages");
	is_int(s2.new_files, 5 + 2, "commit 2: new_files: 5 pool + 2 dists");
	is_int(s2.new_bytes, pool_bytes(NPOOL, NPOOL + 5) + 2100 + 800,
	    "commit 2: new_bytes");

	/* What the commit wrote: it follows the change, not the archive. */
	rows_collect(s, TBL_POOL, MIRROR, &pool1);
	rows_collect(s, TBL_POOLSEQ, MIRROR, &refs1);
	rows_diff(&pool0, &pool1, &added, &removed, &changed);
	is_int(added, 5, "rows: commit 2 added exactly 5 TBL_POOL rows");
	/* 10 intervals closed, and one count went 2 -> 1. */
	is_int(changed, 11, "rows: commit 2 changed exactly 11 TBL_POOL rows");
	is_int(removed, 0, "rows: commit 2 removed no TBL_POOL row");
	is_int(open_count(&pool1), NPOOL - 5, "rows: %d open intervals",
	    NPOOL - 5);
	rows_diff(&refs0, &refs1, &added, &removed, &changed);
	is_int(added, 5, "rows: commit 2 added 5 TBL_POOLSEQ rows");
	is_int(removed + changed, 0, "rows: commit 2 changed no other "
	    "TBL_POOLSEQ row");
	rows_release(&pool0);
	rows_release(&refs0);
	rows_release(&pool1);
	rows_release(&refs1);

	/* Membership by seq. */
	is_int(count_lookups(s, NPOOL - 10, NPOOL, 1, 0), 10,
	    "lookup: the 10 removed are still in snapshot 1");
	is_int(count_lookups(s, NPOOL - 10, NPOOL, 2, MERR_NOTFOUND), 10,
	    "lookup: the 10 removed are not in snapshot 2");
	is_int(count_lookups(s, NPOOL, NPOOL + 5, 2, 0), 5,
	    "lookup: the 5 new are in snapshot 2");
	is_int(count_lookups(s, NPOOL, NPOOL + 5, 1, MERR_NOTFOUND), 5,
	    "lookup: the 5 new are not in snapshot 1");
	is_int(count_lookups(s, 0, NPOOL - 10, 2, 0), NPOOL - 10,
	    "lookup: the rest are in snapshot 2 (entry 0 still referenced)");

	/* States: stable untouched (NULL entry), updates replaced. */
	rc = state_get(s, MIRROR, "stable", &stx);
	ok(rc == 0 && stx.date == st1.date &&
	    streq_null(stx.etag, st1.etag) &&
	    streq_null(stx.last_modified, st1.last_modified),
	    "state: a NULL entry leaves the suite's state as it was");
	snap_state_release(&stx);
	rc = state_get(s, MIRROR, "stable-updates", &stx);
	ok(rc == 0 && stx.date == st2b.date &&
	    streq_null(stx.etag, st2b.etag) &&
	    streq_null(stx.last_modified, st2b.last_modified),
	    "state: replaced by commit 2");
	snap_state_release(&stx);

	test_load_refs(s, &s1, &s2);

	/*
	 * Snapshot 3: entry NPOOL-5 comes back (a second interval), entry 5
	 * changes blob under the same path.
	 */
	memset(&s3, 0, sizeof(s3));
	s3.suites = xcalloc(1, sizeof(*s3.suites));
	s3.nsuites = 1;
	snap_suite_copy(&s3.suites[0], &s2.suites[0]);
	s3.files = s2.files;
	s3.bytes = s2.bytes;
	d = snap_delta_new();
	delta_pool(d, NPOOL - 5, 1);
	delta_pool(d, 5, -1);
	pool_path(5, p, sizeof(p));
	hash_str("rebuilt", h5new);
	snap_delta_add(d, p, strlen(p), h5new, 777, 1);
	rows_collect(s, TBL_POOL, MIRROR, &pool0);
	rc = snap_commit(s, MIRROR, &s3, d, NULL, &err);
	snap_delta_free(d);
	is_int(rc, 0, "commit 3 (%s)", rc ? err.msg : "");
	is_int(s3.seq, 3, "commit 3: seq 3");
	is_int(s3.files, NPOOL - 4, "commit 3: files == %d", NPOOL - 4);
	rows_collect(s, TBL_POOL, MIRROR, &pool1);
	rows_diff(&pool0, &pool1, &added, &removed, &changed);
	ok(added == 2 && changed == 1 && removed == 0,
	    "rows: commit 3 added 2 TBL_POOL rows, changed 1 (%zu, %zu, %zu)",
	    added, changed, removed);
	rows_release(&pool0);
	rows_release(&pool1);
	is_int(count_lookups(s, NPOOL - 5, NPOOL - 4, 1, 0), 1,
	    "lookup: re-added entry in snapshot 1");
	is_int(count_lookups(s, NPOOL - 5, NPOOL - 4, 2, MERR_NOTFOUND), 1,
	    "lookup: ... not in snapshot 2");
	is_int(count_lookups(s, NPOOL - 5, NPOOL - 4, 3, 0), 1,
	    "lookup: ... in snapshot 3 again");
	is_int(count_lookups(s, 5, 6, 2, 0), 1,
	    "lookup: entry 5 has its old blob in snapshot 2");
	rc = lookup(s, MIRROR, p, 3, h, &size);
	ok(rc == 0 && memcmp(h, h5new, HASH_LEN) == 0 && size == 777,
	    "lookup: entry 5 has its new blob in snapshot 3");

	/*
	 * A delta that takes a reference count below zero fails the whole
	 * commit: no snapshot, no row, no state written.
	 */
	rows_collect(s, TBL_POOL, MIRROR, &pool0);
	rows_collect(s, TBL_POOLSEQ, MIRROR, &refs0);
	memset(&bad, 0, sizeof(bad));
	bad.suites = xcalloc(1, sizeof(*bad.suites));
	bad.nsuites = 1;
	snap_suite_copy(&bad.suites[0], &s2.suites[0]);
	bad.files = s3.files;
	bad.bytes = s3.bytes;
	memset(&stx, 0, sizeof(stx));
	stx.date = 1;
	stx.etag = "\"must-not-be-stored\"";
	states[0] = &stx;
	d = snap_delta_new();
	for (i = 2000; i < 2010; i++)
		delta_pool(d, i, 1);		/* valid, must roll back */
	delta_pool(d, NPOOL - 1, -1);		/* gone since snapshot 2 */
	rc = snap_commit(s, MIRROR, &bad, d, states, &err);
	snap_delta_free(d);
	ok(rc < 0, "commit: refcount below zero fails (%s)", err.msg);
	/* The caller (sync) names the mirror: once, not twice. */
	ok(strncmp(err.msg, "commit: ", 8) == 0 &&
	    strstr(err.msg, "mirror '") == NULL,
	    "commit: the message leaves the mirror's name to its caller");
	is_int(count_snaps(s, MIRROR), 3, "commit: ... no snapshot added");
	rows_collect(s, TBL_POOL, MIRROR, &pool1);
	rows_collect(s, TBL_POOLSEQ, MIRROR, &refs1);
	rows_diff(&pool0, &pool1, &added, &removed, &changed);
	ok(added == 0 && removed == 0 && changed == 0,
	    "commit: ... TBL_POOL untouched");
	rows_diff(&refs0, &refs1, &added, &removed, &changed);
	ok(added == 0 && removed == 0 && changed == 0,
	    "commit: ... TBL_POOLSEQ untouched");
	rows_release(&pool0);
	rows_release(&refs0);
	rows_release(&pool1);
	rows_release(&refs1);
	rc = state_get(s, MIRROR, "stable", &stx);
	ok(rc == 0 && stx.date == st1.date, "commit: ... state untouched");
	snap_state_release(&stx);
	rc = load(s, MIRROR, "latest", &got, &err);
	ok(rc == 0 && strcmp(got.id, s3.id) == 0,
	    "commit: ... latest is still snapshot 3");
	snap_release(&got);
	snap_release(&bad);

	/*
	 * Counters for status (snapshots, their bytes): moved by the
	 * commits (the failed one not), and by snap_drop.
	 */
	{
		struct store_txn *t;
		uint64_t n = 0, b = 0;
		const void *v;
		size_t vl;

		store_txn_begin(s, true, &t, &err);
		rc = snap_totals(t, &n, &b, &err);
		ok(rc == 0 && n == 3 && b == s1.bytes + s2.bytes + s3.bytes,
		    "totals: 3 snapshots and their bytes");
		is_int(snap_drop(t, MIRROR, s2.id, &err), 0, "snap_drop");
		is_int(snap_drop(t, MIRROR, s2.id, &err), MERR_NOTFOUND,
		    "snap_drop of a snapshot not there");
		rc = snap_totals(t, &n, &b, &err);
		ok(rc == 0 && n == 2 && b == s1.bytes + s3.bytes,
		    "totals: one dropped");
		rc = store_get(t, TBL_META, "store.snaps", 11, &v, &vl, &err);
		ok(rc == 0 && vl == 17, "kept in the meta row 'store.snaps'");
		/* A store from before the counters: counted from manifests. */
		store_del(t, TBL_META, "store.snaps", 11, &err);
		rc = snap_totals(t, &n, &b, &err);
		ok(rc == 0 && n == 2 && b == s1.bytes + s3.bytes,
		    "totals without the row: counted");
		store_txn_abort(t);
	}

	snap_release(&s3);
	snap_release(&s2);
out:
	snap_release(&s1);
	store_close(s);
}

/*
 * snap.h says snap_commit "fills sn's counters". A caller that leaves
 * them zeroed (as the header allows) must still get files == distinct
 * pool files after a commit that only removes some.
 */
static void
test_counters_from_header(const char *root)
{
	struct merr err = { 0, "" };
	struct store *s = NULL;
	struct snap a, b;
	struct snap_delta *d;
	char *dir = xasprintf("%s/store2", root);
	unsigned i;
	int rc;

	rc = store_open(dir, true, &s, &err);
	free(dir);
	if (rc) {
		ok(0, "counters: open (%s)", err.msg);
		return;
	}
	store_lock(s, "t_snap", false, &err);
	memset(&a, 0, sizeof(a));
	d = snap_delta_new();
	for (i = 0; i < 5; i++)
		delta_pool(d, i, 1);
	rc = snap_commit(s, "z", &a, d, NULL, &err);
	snap_delta_free(d);
	is_int(rc, 0, "counters: commit a");
	is_int(a.files, 5, "counters: 5 files");
	is_int(a.bytes, pool_bytes(0, 5), "counters: bytes of 5 (no dists)");
	memset(&b, 0, sizeof(b));	/* the caller carries no counters */
	d = snap_delta_new();
	delta_pool(d, 0, -1);
	delta_pool(d, 1, -1);
	rc = snap_commit(s, "z", &b, d, NULL, &err);
	snap_delta_free(d);
	is_int(rc, 0, "counters: commit b");
	is_int(b.files, 3,
	    "counters: files == 3 though the caller left them zeroed");
	is_int(b.bytes, pool_bytes(2, 5),
	    "counters: bytes of the remaining 3");
	snap_release(&a);
	snap_release(&b);
	store_close(s);
}

/* --- kinds and recipes, and refs that skip patches --------------------- */

/* A manifest as written before kinds existed. */
static const char old_manifest[] =
    "mirrord-snapshot 1\nid 20251129T080000Z\nseq 3\ntime 1764403200\n"
    "count packages 1 sources 0 files 1 pool_bytes 10 bytes 20 "
    "new_files 1 new_bytes 10\nsuite stable\n"
    "date 1764403200 Sat, 29 Nov 2025 08:00:00 UTC\n"
    "file 0000000000000000000000000000000000000000000000000000000000000000"
    " 10 Release\n";

static void
test_kind_manifest(void)
{
	struct merr err = { 0, "" };
	struct snap a, b;
	struct buf m = BUF_INIT;
	enum snap_kind k;
	char *bad;
	int rc;

	/* An old manifest is a sync's, and is written back unchanged. */
	rc = snap_manifest_parse(old_manifest, strlen(old_manifest), &a, &err);
	is_int(rc, 0, "kind: old manifest parses (%s)", rc ? err.msg : "");
	is_int(a.kind, SNAP_SYNC, "kind: old manifest is SNAP_SYNC");
	ok(a.recipe == NULL, "kind: old manifest has no recipe");
	snap_manifest_write(&a, &m);
	is_str(m.p, old_manifest, "kind: a sync's manifest is as before");
	rc = snap_manifest_kind(old_manifest, strlen(old_manifest), &k, &err);
	ok(rc == 0 && k == SNAP_SYNC, "kind: alone, of an old manifest");

	/* Kind and recipe round-trip; a missing last newline is added. */
	a.kind = SNAP_PATCH;
	a.recipe = xstrdup("base 20251129T070000Z\n  openssl: named\n\nend");
	buf_reset(&m);
	snap_manifest_write(&a, &m);
	ok(strstr(m.p, "\nkind patch\n") != NULL &&
	    strstr(m.p, "\nrecipe   openssl: named\nrecipe \nrecipe end\n"),
	    "kind: 'kind patch' and one 'recipe' line per line");
	rc = snap_manifest_parse(m.p, m.len, &b, &err);
	is_int(rc, 0, "kind: patch manifest parses (%s)", rc ? err.msg : "");
	is_int(b.kind, SNAP_PATCH, "kind: patch read back");
	is_str(b.recipe, "base 20251129T070000Z\n  openssl: named\n\nend\n",
	    "kind: recipe read back, blank line and spaces kept");
	rc = snap_manifest_kind(m.p, m.len, &k, &err);
	ok(rc == 0 && k == SNAP_PATCH, "kind: alone, of a patch manifest");
	snap_release(&b);
	free(a.recipe);
	a.recipe = NULL;
	a.kind = SNAP_PARTIAL;
	buf_reset(&m);
	snap_manifest_write(&a, &m);
	rc = snap_manifest_parse(m.p, m.len, &b, &err);
	ok(rc == 0 && b.kind == SNAP_PARTIAL && b.recipe == NULL,
	    "kind: partial without recipe round-trips");
	is_str(snap_kind_name(SNAP_PARTIAL), "partial", "kind: name");
	snap_release(&b);
	snap_release(&a);

	/* An unknown kind is a corrupt manifest, named by its line. */
	bad = xasprintf("mirrord-snapshot 1\nid 20251129T080000Z\nseq 3\n"
	    "time 1764403200\nkind mystery\n");
	rc = snap_manifest_parse(bad, strlen(bad), &b, &err);
	is_int(rc, MERR_STORE, "kind: unknown kind refused");
	is_str(err.msg, "corrupt snapshot manifest at line 5",
	    "kind: the message names the line");
	rc = snap_manifest_kind(bad, strlen(bad), &k, &err);
	is_int(rc, MERR_STORE, "kind: alone, unknown kind refused");
	free(bad);
	buf_release(&m);
}

/* Commits an empty snapshot of kind k; its ID into id. */
static int
commit_kind(struct store *s, const char *mirror, enum snap_kind k,
    const char *recipe, char id[SNAP_ID_LEN + 1], uint32_t *seq)
{
	struct merr err = { 0, "" };
	struct snap_delta *d = snap_delta_new();
	struct snap sn;
	int rc;

	memset(&sn, 0, sizeof(sn));
	sn.kind = k;
	sn.recipe = recipe ? xstrdup(recipe) : NULL;
	rc = snap_commit(s, mirror, &sn, d, NULL, &err);
	if (rc)
		printf("# %s\n", err.msg);
	memcpy(id, sn.id, SNAP_ID_LEN + 1);
	*seq = sn.seq;
	snap_delta_free(d);
	snap_release(&sn);
	return rc;
}

/* The ID snap_load gives for ref ("" if none: the code in *rc). */
static void
load_id(struct store *s, const char *mirror, const char *ref,
    char id[SNAP_ID_LEN + 1], enum snap_kind *kind, int *rc,
    struct merr *err)
{
	struct snap sn;

	id[0] = '\0';
	*rc = load(s, mirror, ref, &sn, err);
	if (*rc == 0) {
		memcpy(id, sn.id, SNAP_ID_LEN + 1);
		*kind = sn.kind;
		snap_release(&sn);
	}
}

static int
newest_id(struct store *s, const char *mirror, char id[SNAP_ID_LEN + 1])
{
	struct merr err = { 0, "" };
	struct store_txn *t;
	struct snap sn;
	int rc;

	id[0] = '\0';
	rc = store_txn_begin(s, false, &t, &err);
	if (rc)
		return rc;
	rc = snap_load_newest(t, mirror, &sn, &err);
	store_txn_abort(t);
	if (rc == 0)
		memcpy(id, sn.id, SNAP_ID_LEN + 1);
	snap_release(&sn);
	return rc;
}

static void
test_kind_refs(const char *root)
{
	struct merr err = { 0, "" };
	struct store *s = NULL;
	char sync1[SNAP_ID_LEN + 1], part[SNAP_ID_LEN + 1];
	char patch[SNAP_ID_LEN + 1], sync2[SNAP_ID_LEN + 1];
	char p2[SNAP_ID_LEN + 1], p3[SNAP_ID_LEN + 1];
	char lone[SNAP_ID_LEN + 1], got[SNAP_ID_LEN + 1], stamp[32];
	char *dir = xasprintf("%s/store-kinds", root);
	enum snap_kind k = SNAP_SYNC;
	struct snap sn;
	uint32_t seq;
	int rc;

	rc = store_open(dir, true, &s, &err);
	free(dir);
	if (rc) {
		ok(0, "kinds: open (%s)", err.msg);
		return;
	}
	store_lock(s, "t_snap", false, &err);
	rc = commit_kind(s, "k", SNAP_SYNC, NULL, sync1, &seq);
	rc = rc ? rc : commit_kind(s, "k", SNAP_PARTIAL, "include: a\n",
	    part, &seq);
	rc = rc ? rc : commit_kind(s, "k", SNAP_PATCH, "openssl\n", patch,
	    &seq);
	is_int(rc, 0, "kinds: sync, partial, patch committed");
	if (rc)
		goto out;
	is_int(seq, 3, "kinds: the patch is seq 3");

	load_id(s, "k", "latest", got, &k, &rc, &err);
	is_str(got, part, "kinds: latest skips the patch");
	is_int(k, SNAP_PARTIAL, "kinds: latest is the partial one");
	fmt_id(parse_id(patch) + 5, stamp);
	load_id(s, "k", stamp, got, &k, &rc, &err);
	is_str(got, part, "kinds: a time after the patch skips it too");
	fmt_id(parse_id(part) - 1, stamp);
	load_id(s, "k", stamp, got, &k, &rc, &err);
	is_str(got, sync1, "kinds: a time before the partial one");
	rc = load(s, "k", patch, &sn, &err);
	ok(rc == 0 && strcmp(sn.id, patch) == 0 && sn.kind == SNAP_PATCH &&
	    streq_null(sn.recipe, "openssl\n"),
	    "kinds: the exact ID finds the patch, with its recipe");
	if (rc == 0)
		snap_release(&sn);
	rc = newest_id(s, "k", got);
	ok(rc == 0 && strcmp(got, patch) == 0,
	    "kinds: snap_load_newest gives the patch");

	/* Sequence numbers go on from the patch; patches in a row. */
	rc = commit_kind(s, "k", SNAP_SYNC, NULL, sync2, &seq);
	is_int(seq, 4, "kinds: the sync after the patch is seq 4");
	rc = rc ? rc : commit_kind(s, "k", SNAP_PATCH, NULL, p2, &seq);
	rc = rc ? rc : commit_kind(s, "k", SNAP_PATCH, NULL, p3, &seq);
	is_int(rc, 0, "kinds: two patches in a row");
	load_id(s, "k", "latest", got, &k, &rc, &err);
	is_str(got, sync2, "kinds: latest walks back over both");
	load_id(s, "k", p2, got, &k, &rc, &err);
	is_str(got, p2, "kinds: the first of them by its ID");

	/* A mirror whose only snapshot is a patch has no latest. */
	rc = commit_kind(s, "only", SNAP_PATCH, NULL, lone, &seq);
	load_id(s, "only", "latest", got, &k, &rc, &err);
	is_int(rc, MERR_NOTFOUND, "kinds: only a patch: no latest");
	ok(strstr(err.msg, "not a patch") != NULL, "kinds: says why: %s",
	    err.msg);
	rc = newest_id(s, "only", got);
	ok(rc == 0 && strcmp(got, lone) == 0,
	    "kinds: only a patch: snap_load_newest finds it");
	load_id(s, "k", "latest", got, &k, &rc, &err);
	is_str(got, sync2, "kinds: another mirror's patch is not seen");

	/* A manifest the walk cannot read stops it with MERR_STORE. */
	{
		static const char row[] = "mirrord-snapshot 1\nid "
		    "20300101T000000Z\nseq 9\ntime 1893456000\nkind odd\n";
		static const char key[] = "bad\0" "20300101T000000Z";
		struct store_txn *t;

		rc = store_txn_begin(s, true, &t, &err);
		rc = rc ? rc : store_put(t, TBL_SNAPS, key, sizeof(key) - 1,
		    row, sizeof(row) - 1, &err);
		rc = rc ? rc : store_txn_commit(t, &err);
		load_id(s, "bad", "latest", got, &k, &rc, &err);
		is_int(rc, MERR_STORE, "kinds: an unknown kind on the walk: "
		    "MERR_STORE");
		is_str(err.msg, "snapshot '20300101T000000Z': corrupt snapshot "
		    "manifest at line 5", "kinds: naming the snapshot and line");
	}
out:
	store_close(s);
}

int
main(void)
{
	char *root;

	test_delta();
	test_suite_helpers();
	root = helpers_tmpdir_new("t_snap");
	if (root == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	test_store(root);
	test_counters_from_header(root);
	test_kind_manifest();
	test_kind_refs(root);
	helpers_tmpdir_free(root);
	return tap_done();
}
