/*
 * snapfix.h: snapshots built by hand for the unit tests that need a
 * store with history (t_fsck, t_gc, t_channel): one suite, "stable",
 * whose dists files are texts stored as blobs. For those that compose
 * (t_compose): Packages texts whose pool files are fake (a path, the
 * digest of the path, a size: rows need no pool blob), the text of a
 * stored index, a signer with a verifier of its key, and a table's rows
 * counted before and after a commit, to measure its store cost.
 * Header-only (static inline), single-threaded.
 */
#ifndef SNAPFIX_H
#define SNAPFIX_H

#include "mirrord/common.h"

#include <unistd.h>

#include "mirrord/channel.h"
#include "mirrord/compose.h"
#include "mirrord/decomp.h"
#include "mirrord/gpg.h"
#include "mirrord/hash.h"
#include "mirrord/pool.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "helpers.h"

/* sn, zeroed, with one empty suite "stable" (free with snap_release). */
static inline struct snap_suite *
snapfix_init(struct snap *sn)
{
	memset(sn, 0, sizeof(*sn));
	sn->suites = xcalloc(1, sizeof(*sn->suites));
	sn->nsuites = 1;
	sn->suites[0].name = xstrdup("stable");
	return &sn->suites[0];
}

/* Appends an empty suite name to sn (valid until the next add). */
static inline struct snap_suite *
snapfix_add_suite(struct snap *sn, const char *name)
{
	struct snap_suite *su;

	sn->suites = xreallocarray(sn->suites, sn->nsuites + 1,
	    sizeof(*sn->suites));
	su = &sn->suites[sn->nsuites++];
	memset(su, 0, sizeof(*su));
	su->name = xstrdup(name);
	return su;
}

/* Stores text as a blob (h gets its hash) and lists it in su as path. */
static inline int
snapfix_file(struct store *s, struct snap_suite *su, const char *path,
    const char *text, unsigned char h[HASH_LEN], struct merr *err)
{
	int rc = store_put_mem(s, text, strlen(text), h, err);

	if (rc == 0)
		snap_suite_add_file(su, path, h, strlen(text));
	return rc;
}

/* --- indices with fake pool files ---------------------------------------- */

/* The pool file of a package: pool/main/<s>/<src>/<pkg>_<ver>_<arch>.deb. */
static inline void
snapfix_pool_path(const char *pkg, const char *src, const char *ver,
    const char *arch, char *path, size_t n)
{
	snprintf(path, n, "pool/main/%c/%s/%s_%s_%s.deb", src[0], src, pkg,
	    ver, arch);
}

/* Its size (its hash is the digest of the path). */
static inline uint64_t
snapfix_pool_size(const char *path)
{
	return 1000 + strlen(path) * 3;
}

/*
 * Appends a Packages paragraph and its blank line: Package, Source (src
 * NULL: none, the source is pkg), Version, Architecture, extra (complete
 * lines, may be NULL), then Filename, Size and SHA256 of the fake file.
 */
static inline void
snapfix_para(struct buf *b, const char *pkg, const char *src,
    const char *ver, const char *arch, const char *extra)
{
	unsigned char h[HASH_LEN];
	char hex[HASH_HEX_LEN + 1], path[256];

	snapfix_pool_path(pkg, src ? src : pkg, ver, arch, path, sizeof(path));
	hash_buf(path, strlen(path), h);
	hash_to_hex(h, hex);
	buf_addf(b, "Package: %s\n", pkg);
	if (src)
		buf_addf(b, "Source: %s\n", src);
	buf_addf(b, "Version: %s\nArchitecture: %s\n%sFilename: %s\n"
	    "Size: %llu\nSHA256: %s\n\n", ver, arch, extra ? extra : "", path,
	    (unsigned long long)snapfix_pool_size(path), hex);
}

/*
 * Stores len bytes as a blob and lists it in su as path; with index,
 * also as a parsed index (counts 0: compose_delta fills them).
 */
static inline int
snapfix_blob(struct store *s, struct snap_suite *su, const char *path,
    const void *data, size_t len, bool index, struct merr *err)
{
	unsigned char h[HASH_LEN];
	int rc = store_put_mem(s, data, len, h, err);

	if (rc)
		return rc;
	snap_suite_add_file(su, path, h, len);
	if (index)
		snap_suite_add_index(su, path, h);
	return 0;
}

/* An index: text compressed as path's suffix says (none, .gz, .xz). */
static inline int
snapfix_index(struct store *s, struct snap_suite *su, const char *path,
    const struct buf *text, struct merr *err)
{
	struct buf z = BUF_INIT;
	int rc;

	if (comp_from_name(path) == COMP_NONE)
		return snapfix_blob(s, su, path, text->p, text->len, true,
		    err);
	rc = comp_encode(comp_from_name(path), text->p, text->len,
	    COMP_LEVEL_AUTO, &z, err);
	if (rc == 0)
		rc = snapfix_blob(s, su, path, z.p, z.len, true, err);
	buf_release(&z);
	return rc;
}

/* Appends the paragraphs of spec: "name version arch; ..." */
static inline void
snapfix_spec(struct buf *b, const char *spec)
{
	char name[32], ver[32], arch[32];
	int n;

	while (sscanf(spec, " %31[^ ] %31[^ ] %31[^ ;]%n", name, ver, arch,
	    &n) == 3) {
		snapfix_para(b, name, NULL, ver, arch, NULL);
		spec += n;
		spec += *spec == ';';
	}
}

/* Stores the Packages text of spec as index path of su (as snapfix_index). */
static inline int
snapfix_put(struct store *s, struct snap_suite *su, const char *path,
    const char *spec, struct merr *err)
{
	struct buf t = BUF_INIT;
	int rc;

	snapfix_spec(&t, spec);
	rc = snapfix_index(s, su, path, &t, err);
	buf_release(&t);
	return rc;
}

/*
 * The bytes of a listed file (f may be NULL), decompressed as its path
 * says: owned and NUL-terminated, *len bytes; NULL if it cannot be read.
 */
static inline char *
snapfix_text(struct store *s, const struct snap_file *f, size_t *len)
{
	struct merr err = { 0, "" };
	struct buf b = BUF_INIT;
	struct decomp *r;
	char chunk[65536];
	ssize_t n;
	int fd;

	*len = 0;
	if (f == NULL || (fd = store_blob_open(s, f->hash, &err)) < 0)
		return NULL;
	r = decomp_new(fd, comp_from_name(f->path), 64u << 20, f->path);
	while ((n = decomp_read(r, chunk, sizeof(chunk), &err)) > 0)
		buf_add(&b, chunk, (size_t)n);
	decomp_free(r);
	close(fd);
	buf_addc(&b, '\0');
	if (n < 0) {
		buf_release(&b);
		return NULL;
	}
	*len = b.len - 1;
	return buf_detach(&b, NULL);
}

/* Are a and b (either may be NULL) the same blob? */
static inline bool
snapfix_same(const struct snap_file *a, const struct snap_file *b)
{
	return a && b && a->size == b->size &&
	    memcmp(a->hash, b->hash, HASH_LEN) == 0;
}

/*
 * A signer with a new key in dir/signing-key.asc, and a verifier of its
 * exported key (dir/mirrord.gpg), as a client would verify. Both are the
 * caller's (gpg_signer_free, gpg_verifier_free), also on error.
 */
static inline int
snapfix_signer(const char *dir, struct gpg_signer **g,
    struct gpg_verifier **v, struct merr *err)
{
	char *p = xasprintf("%s/signing-key.asc", dir), *key = NULL;
	size_t klen = 0;
	int rc;

	rc = gpg_signer_new(p, true, g, err);
	free(p);
	if (rc == 0)
		rc = gpg_signer_export(*g, false, &key, &klen, err);
	p = xasprintf("%s/mirrord.gpg", dir);
	if (rc == 0)
		rc = write_file_atomic(p, key, klen, 0600, err);
	if (rc == 0)
		rc = gpg_verifier_new(p, dir, v, err);
	free(p);
	free(key);
	return rc;
}

/* An upstream Release of su (fields apt pins on), listing one index. */
static inline int
snapfix_add_release(struct store *s, struct snap_suite *su, const char *index,
    struct merr *err)
{
	const struct snap_file *f = snap_suite_file(su, index);
	char hex[HASH_HEX_LEN + 1], *rel;
	int rc;

	if (f)
		hash_to_hex(f->hash, hex);
	rel = xasprintf("Origin: Test\nLabel: Test archive\nSuite: %s\n"
	    "Codename: test\nDate: Sat, 01 Jun 2024 12:00:00 UTC\n"
	    "Architectures: amd64 arm64\nComponents: main\nSHA256:\n"
	    " %s %llu %s\n", su->name, f ? hex : "00",
	    f ? (unsigned long long)f->size : 0ull, index);
	rc = snapfix_blob(s, su, "Release", rel, strlen(rel), false, err);
	free(rel);
	return rc;
}

/* Moves a blob's file away (back with restore true): what reads it fails. */
static inline bool
snapfix_blob_hide(struct store *s, const unsigned char h[HASH_LEN],
    bool restore)
{
	char *p = store_blob_path(s, h), *q = xasprintf("%s.away", p);
	bool moved = restore ? rename(q, p) == 0 : rename(p, q) == 0;

	free(p);
	free(q);
	return moved;
}

/*
 * Loads ref of mirror (NULL: its newest snapshot of any kind) in a read
 * transaction of its own; *have false if there is none (not an error).
 */
static inline int
snapfix_load(struct store *s, const char *mirror, const char *ref,
    struct snap *sn, bool *have, struct merr *err)
{
	struct store_txn *t;
	int rc;

	*have = false;
	memset(sn, 0, sizeof(*sn));
	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = ref ? snap_load(t, mirror, ref, sn, err) :
	    snap_load_newest(t, mirror, sn, err);
	store_txn_abort(t);
	*have = rc == 0;
	return rc == MERR_NOTFOUND ? 0 : rc;
}

/* A store in a new temporary directory, locked, a signer, a verifier. */
struct snapfix_env {
	char *root;
	struct store *s;
	struct gpg_signer *g;
	struct gpg_verifier *v;
};

/*
 * Makes x (/tmp/<name>.XXXXXX, the store in its store/, the writer lock
 * taken for snap_commit, snapfix_signer's key); release it with
 * snapfix_env_release whatever the outcome.
 */
static inline int
snapfix_env_init(struct snapfix_env *x, const char *name, struct merr *err)
{
	char *p;
	int rc;

	memset(x, 0, sizeof(*x));
	x->root = helpers_tmpdir_new(name);
	if (x->root == NULL)
		return merr_set(err, MERR_IO, "no temporary directory");
	p = xasprintf("%s/store", x->root);
	rc = store_open(p, true, &x->s, err);
	free(p);
	if (rc == 0)
		rc = store_lock(x->s, name, false, err);
	if (rc == 0)
		rc = snapfix_signer(x->root, &x->g, &x->v, err);
	return rc;
}

static inline void
snapfix_env_release(struct snapfix_env *x)
{
	gpg_verifier_free(x->v);
	gpg_signer_free(x->g);
	store_close(x->s);
	helpers_tmpdir_free(x->root);
	memset(x, 0, sizeof(*x));
}

/* pool_lookup of path in snapshot seq of mirror, in its own transaction. */
static inline int
snapfix_lookup(struct store *s, const char *mirror, const char *path,
    uint32_t seq)
{
	struct merr err = { 0, "" };
	struct store_txn *t;
	unsigned char h[HASH_LEN];
	uint64_t size;
	int rc;

	rc = store_txn_begin(s, false, &t, &err);
	if (rc)
		return rc;
	rc = pool_lookup(t, mirror, path, seq, h, &size, &err);
	store_txn_abort(t);
	return rc;
}

/*
 * Commits sn as the next snapshot of mirror as a sync does: the pool
 * difference against the newest snapshot of any kind (compose_delta),
 * store_sync, snap_commit (the caller holds the writer lock).
 */
static inline int
snapfix_commit(struct store *s, const char *mirror, struct snap *sn,
    struct merr *err)
{
	struct snap_delta *d = snap_delta_new();
	struct snap old;
	bool have = false;
	int rc;

	rc = snapfix_load(s, mirror, NULL, &old, &have, err);
	rc = rc ? rc : compose_delta(s, have ? &old : NULL, sn, d, NULL, NULL,
	    err);
	rc = rc ? rc : store_sync(s, err);
	rc = rc ? rc : snap_commit(s, mirror, sn, d, NULL, err);
	if (have)
		snap_release(&old);
	snap_delta_free(d);
	return rc;
}

/* Promotes channel of mirror to ref under the channel lock. */
static inline int
snapfix_promote(struct snapfix_env *x, const char *mirror,
    const char *channel, const char *ref, char target[SNAP_ID_LEN + 1],
    struct merr *err)
{
	struct channel_move_opts mo = { "test@host", 0, NULL, NULL };
	int rc;

	target[0] = '\0';
	rc = store_lock_channels(x->s, "snapfix", false, err);
	if (rc == 0)
		rc = channel_promote(x->s, x->g, mirror, ref, channel, &mo,
		    target, err);
	store_unlock_channels(x->s);
	return rc;
}

/* --- a commit's store cost ---------------------------------------------- */

/* A table's rows, each "KEYHEX VALHEX" (the key after a prefix), sorted. */
struct snapfix_rows {
	char **r;
	size_t n;
};

static inline int
snapfix_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline void
snapfix_hex(struct buf *b, const void *p, size_t n)
{
	const unsigned char *u = p;
	size_t i;

	for (i = 0; i < n; i++)
		buf_addf(b, "%02x", u[i]);
}

static inline int
snapfix_row(void *ctx, const char *rest, size_t rlen, const void *v,
    size_t vl, struct merr *err)
{
	struct snapfix_rows *rs = ctx;
	struct buf b = BUF_INIT;

	snapfix_hex(&b, rest, rlen);
	buf_addc(&b, ' ');
	snapfix_hex(&b, v, vl);
	rs->r = xreallocarray(rs->r, rs->n + 1, sizeof(*rs->r));
	rs->r[rs->n++] = buf_detach(&b, NULL);
	return 0;
}

static inline void
snapfix_rows_sort(struct snapfix_rows *rs)
{
	if (rs->n)
		qsort(rs->r, rs->n, sizeof(*rs->r), snapfix_str_cmp);
}

/* The rows of tbl whose key starts with prefix (plen 0: all of them). */
static inline void
snapfix_rows_get(struct store *s, enum store_table tbl, const char *prefix,
    size_t plen, struct snapfix_rows *rs)
{
	struct merr err = { 0, "" };
	struct store_txn *t;

	memset(rs, 0, sizeof(*rs));
	if (store_txn_begin(s, false, &t, &err) == 0) {
		if (store_scan_prefix(t, tbl, prefix, plen, snapfix_row, rs,
		    &err) != 0)
			printf("# scan: %s\n", err.msg);
		store_txn_abort(t);
	}
	snapfix_rows_sort(rs);
}

static inline int
snapfix_blob_row(void *ctx, const unsigned char h[HASH_LEN],
    const struct store_blob_rec *rec, struct merr *err)
{
	return snapfix_row(ctx, (const char *)h, HASH_LEN, "", 0, err);
}

/* The blobs table's hashes as rows ("HEX "), *total its counter. */
static inline void
snapfix_blobs_get(struct store *s, struct snapfix_rows *rs, uint64_t *total)
{
	struct merr err = { 0, "" };
	struct store_txn *t;
	uint64_t bytes;

	memset(rs, 0, sizeof(*rs));
	*total = 0;
	if (store_txn_begin(s, false, &t, &err) == 0) {
		if (store_blob_each(t, snapfix_blob_row, rs, &err) != 0 ||
		    store_blob_totals(t, total, &bytes, &err) != 0)
			printf("# blobs: %s\n", err.msg);
		store_txn_abort(t);
	}
	snapfix_rows_sort(rs);
}

/* Compares two rows' keys (up to the space). */
static inline int
snapfix_key_cmp(const char *a, const char *b)
{
	size_t al = strcspn(a, " "), bl = strcspn(b, " ");
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al > bl) - (al < bl);
}

/* "+A ~C -R" (owned): rows only in b, in both but changed, only in a. */
static inline char *
snapfix_rows_change(const struct snapfix_rows *a,
    const struct snapfix_rows *b)
{
	size_t i = 0, j = 0, add = 0, chg = 0, del = 0;

	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 :
		    snapfix_key_cmp(a->r[i], b->r[j]);

		if (c == 0) {
			chg += strcmp(a->r[i], b->r[j]) != 0;
			i++;
			j++;
		} else if (c < 0) {
			del++;
			i++;
		} else {
			add++;
			j++;
		}
	}
	return xasprintf("+%zu ~%zu -%zu", add, chg, del);
}

/* Is row (as snapfix_rows_get makes them) one of rs's? */
static inline bool
snapfix_rows_has(const struct snapfix_rows *rs, const char *row)
{
	return rs->n && bsearch(&row, rs->r, rs->n, sizeof(*rs->r),
	    snapfix_str_cmp) != NULL;
}

/*
 * How many rows of after are not in before (*added), and how many of
 * those are not blobs of su's files (the return value): for blobs.
 */
static inline size_t
snapfix_blobs_foreign(const struct snapfix_rows *before,
    const struct snapfix_rows *after, const struct snap_suite *su,
    size_t *added)
{
	struct snapfix_rows files = { NULL, 0 };
	size_t i, bad = 0;

	for (i = 0; i < su->nfiles; i++)
		snapfix_row(&files, (const char *)su->files[i].hash, HASH_LEN,
		    "", 0, NULL);
	snapfix_rows_sort(&files);
	*added = 0;
	for (i = 0; i < after->n; i++) {
		if (snapfix_rows_has(before, after->r[i]))
			continue;
		(*added)++;
		bad += !snapfix_rows_has(&files, after->r[i]);
	}
	strv_free(files.r, files.n);
	return bad;
}

static inline void
snapfix_rows_release(struct snapfix_rows *rs)
{
	strv_free(rs->r, rs->n);
	memset(rs, 0, sizeof(*rs));
}

#endif
