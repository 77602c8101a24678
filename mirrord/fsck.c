/*
 * fsck.c: the checks of `mirrord fsck` (see fsck.h), through the table
 * owners' iteration functions and the store's blob walk; the command
 * only prints the report.
 */
#include "mirrord/common.h"

#include <unistd.h>

#include "mirrord/channel.h"
#include "mirrord/fetch.h"
#include "mirrord/fsck.h"
#include "mirrord/hash.h"
#include "mirrord/pool.h"
#include "mirrord/s3.h"
#include "mirrord/snap.h"

/* An object of the bucket (the S3 backend), as its listing gave it. */
struct fsck_object {
	unsigned char h[HASH_LEN];
	uint64_t size;
	bool listed;		/* the blobs table lists it */
};

struct fsck {
	struct store *s;
	struct store_txn *t;
	const struct fsck_opts *opts;
	struct fsck_report *r;
	uint64_t rows, row_bytes;	/* what the blobs table lists */
	const char *mirror;		/* the mirror being checked */
	const struct conf *c;
	/* The S3 backend: its objects sorted by hash, and a context. */
	struct s3 *s3;
	struct fetch *f;
	struct fsck_object *objs;
	size_t nobjs, objs_cap;
	bool deep;		/* download and re-hash each object */
};

/* Records a finding (text: taken), and tells opts->found. */
static void
fsck_add(struct fsck *fk, enum fsck_kind kind, char *text)
{
	struct fsck_report *r = fk->r;
	struct fsck_finding *f;

	r->findings = xreallocarray(r->findings, r->nfindings + 1,
	    sizeof(*r->findings));
	f = &r->findings[r->nfindings++];
	f->kind = kind;
	f->problem = kind != FSCK_ORPHAN && kind != FSCK_STRAY;
	f->text = text;
	r->problems += f->problem;
	r->orphans += kind == FSCK_ORPHAN;
	if (fk->opts && fk->opts->found)
		fk->opts->found(fk->opts->ctx, f);
}

/*
 * A reference to blob h by what: the index must list h, unless deferred
 * (an on-demand mirror's pool file: counted as not stored).
 */
static int
fsck_need_or(struct fsck *fk, const unsigned char h[HASH_LEN],
    const char *what, bool deferred, struct merr *err)
{
	struct store_blob_rec rec;
	char hex[HASH_HEX_LEN + 1];
	int rc;

	fk->r->refs++;
	rc = store_blob_get(fk->t, h, &rec, err);
	if (rc == MERR_NOTFOUND && deferred) {
		fk->r->not_stored++;
		return 0;
	}
	if (rc == MERR_NOTFOUND) {
		hash_to_hex(h, hex);
		fsck_add(fk, FSCK_MISSING_REF, xasprintf("blob %s: missing, "
		    "named by %s", hex, what));
		return 0;
	}
	return rc;
}

static int
fsck_need(struct fsck *fk, const unsigned char h[HASH_LEN], const char *what,
    struct merr *err)
{
	return fsck_need_or(fk, h, what, false, err);
}

/*
 * fsck reads one snapshot of the index while a gc may run: a blob that
 * gc dropped after fsck began (rows are committed before the file is
 * unlinked) is missing from the disk but no longer listed. A fresh read
 * transaction tells that apart from a blob really lost.
 */
static bool
gone_meanwhile(struct fsck *fk, const unsigned char h[HASH_LEN])
{
	struct store_txn *t;
	struct store_blob_rec rec;
	struct merr err = { 0 };
	int rc;

	if (store_txn_begin(fk->s, false, &t, &err) != 0)
		return false;
	rc = store_blob_get(t, h, &rec, &err);
	store_txn_abort(t);
	return rc == MERR_NOTFOUND;
}

static int
object_cmp(const void *a, const void *b)
{
	return memcmp(a, b, HASH_LEN);	/* h is the first member */
}

/* One object of the listing: kept, or a stray key reported. */
static int
fsck_listed(void *ctx, const char *key, const unsigned char *h,
    uint64_t size, int64_t mtime, struct merr *err)
{
	struct fsck *fk = ctx;

	(void)mtime;
	(void)err;
	if (h == NULL) {
		fsck_add(fk, FSCK_STRAY, xasprintf("%s/%s: not a blob name",
		    s3_name(fk->s3), key));
		return 0;
	}
	if (fk->nobjs == fk->objs_cap) {
		fk->objs_cap = fk->objs_cap ? 2 * fk->objs_cap : 1024;
		fk->objs = xreallocarray(fk->objs, fk->objs_cap,
		    sizeof(*fk->objs));
	}
	memcpy(fk->objs[fk->nobjs].h, h, HASH_LEN);
	fk->objs[fk->nobjs].size = size;
	fk->objs[fk->nobjs].listed = false;
	fk->nobjs++;
	return 0;
}

/*
 * The S3 backend: every object of the bucket, in one listing (not a
 * request per blob), before the read transaction begins: a blob committed
 * meanwhile has its object (the barrier), and one missing from the
 * listing is asked for again before it is reported.
 */
static int
fsck_list(struct fsck *fk, struct merr *err)
{
	int rc;

	fk->s3 = store_s3(fk->s);
	if (fk->s3 == NULL)
		return 0;
	rc = store_s3_fetch_new(fk->s, &fk->f, err);
	if (rc == 0)
		rc = s3_list(fk->s3, fk->f, fsck_listed, fk, err);
	if (rc == 0 && fk->nobjs > 1)	/* an empty bucket: objs is NULL */
		qsort(fk->objs, fk->nobjs, sizeof(*fk->objs), object_cmp);
	return rc;
}

/* Listed blob h must have an object of its size (--deep: and bytes). */
static int
fsck_object(struct fsck *fk, const unsigned char h[HASH_LEN],
    const struct store_blob_rec *rec, const char *hex, struct merr *err)
{
	struct fsck_object *o;
	struct merr e2 = { 0 };
	uint64_t size;
	int rc;

	o = fk->nobjs == 0 ? NULL :
	    bsearch(h, fk->objs, fk->nobjs, sizeof(*fk->objs), object_cmp);
	if (o != NULL)
		o->listed = true;
	size = o != NULL ? o->size : 0;
	if (o == NULL) {
		rc = s3_stat(fk->s3, fk->f, h, &size, err);
		if (rc == MERR_NOTFOUND) {
			if (!gone_meanwhile(fk, h))
				fsck_add(fk, FSCK_MISSING_FILE, xasprintf(
				    "blob %s: missing (no object in %s)", hex,
				    s3_name(fk->s3)));
			return 0;
		}
		if (rc)
			return rc;
	}
	if (size != rec->size) {
		fsck_add(fk, FSCK_SIZE, xasprintf("blob %s: object size "
		    "%llu, expected %llu", hex, (unsigned long long)size,
		    (unsigned long long)rec->size));
		return 0;
	}
	if (!fk->deep)
		return 0;
	rc = store_s3_verify(fk->s, fk->f, h, size, &e2);
	if (rc == MERR_VERIFY)
		fsck_add(fk, FSCK_HASH, xasprintf("blob %s: object's sha256 "
		    "mismatch (%s)", hex, e2.msg));
	else if (rc) {
		*err = e2;
		return rc;
	}
	fk->r->bytes += size;
	return 0;
}

/* Objects the index does not list: harmless, gc removes them. */
static void
fsck_unlisted(struct fsck *fk)
{
	char hex[HASH_HEX_LEN + 1];
	size_t i;

	for (i = 0; i < fk->nobjs; i++) {
		if (fk->objs[i].listed)
			continue;
		hash_to_hex(fk->objs[i].h, hex);
		fsck_add(fk, FSCK_ORPHAN, xasprintf("blob %s: object in %s "
		    "not in the index (unreferenced)", hex, s3_name(fk->s3)));
	}
}

/* One listed blob: its file must exist, with its size and hash. */
static int
fsck_blob(void *ctx, const unsigned char h[HASH_LEN],
    const struct store_blob_rec *rec, struct merr *err)
{
	struct fsck *fk = ctx;
	unsigned char got[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];
	struct merr e2 = { 0 };
	uint64_t size;
	int fd, rc;

	hash_to_hex(h, hex);
	fk->rows++;
	fk->row_bytes += rec->size;
	if (fk->s3 != NULL) {
		rc = fsck_object(fk, h, rec, hex, err);
		if (rc)
			return rc;
		/* A cached copy is served as it is: hash it too. */
		fd = store_blob_open_cached(fk->s, h, &e2);
		if (fd == MERR_NOTFOUND) {
			fk->r->blobs++;
			return 0;
		}
	} else
		fd = store_blob_open(fk->s, h, &e2);
	if (fd == MERR_NOTFOUND && gone_meanwhile(fk, h))
		return 0;	/* gc removed it after we began */
	fk->r->blobs++;
	if (fd < 0) {
		fsck_add(fk, FSCK_MISSING_FILE, xasprintf("blob %s: missing "
		    "(%s)", hex, e2.msg));
		return 0;
	}
	rc = hash_fd(fd, got, &size, err);
	close(fd);
	if (rc)
		return rc;
	fk->r->bytes += size;
	if (size != rec->size)
		fsck_add(fk, FSCK_SIZE, xasprintf("blob %s: size %llu, "
		    "expected %llu", hex, (unsigned long long)size,
		    (unsigned long long)rec->size));
	else if (memcmp(got, h, HASH_LEN) != 0)
		fsck_add(fk, FSCK_HASH, xasprintf("blob %s: sha256 mismatch",
		    hex));
	return 0;
}

/* Every listed blob, then the counters status reads instead of the rows. */
static int
fsck_blobs(struct fsck *fk, struct merr *err)
{
	uint64_t tn, tbytes;
	int rc;

	rc = store_blob_each(fk->t, fsck_blob, fk, err);
	if (rc == 0)
		rc = store_blob_totals(fk->t, &tn, &tbytes, err);
	if (rc)
		return rc;
	if (tn != fk->rows || tbytes != fk->row_bytes)
		fsck_add(fk, FSCK_COUNTERS, xasprintf("blob counters: %llu "
		    "blobs, %llu bytes; the index lists %llu, %llu bytes",
		    (unsigned long long)tn, (unsigned long long)tbytes,
		    (unsigned long long)fk->rows,
		    (unsigned long long)fk->row_bytes));
	return 0;
}

static int
fsck_interval(void *ctx, const struct pool_interval *iv, struct merr *err)
{
	struct fsck *fk = ctx;
	const struct conf_mirror *m;

	if (iv == NULL) {
		fsck_add(fk, FSCK_POOL_KEY, xstrdup("pool entry: malformed "
		    "key"));
		return 0;
	}
	/* Fetched when a client asks, or by `mirrord fetch`. */
	m = conf_mirror(fk->c, iv->mirror);
	return fsck_need_or(fk, iv->hash, iv->path, m != NULL &&
	    m->on_demand, err);
}

/* Each file of suites, named by "<what> dists/<suite>/<path>". */
static int
fsck_suites(struct fsck *fk, const char *what, const struct snap_suite *su,
    size_t n, struct merr *err)
{
	size_t i, j;
	int rc = 0;

	for (i = 0; rc == 0 && i < n; i++) {
		for (j = 0; rc == 0 && j < su[i].nfiles; j++) {
			char *name = xasprintf("%s dists/%s/%s", what,
			    su[i].name, su[i].files[j].path);

			rc = fsck_need(fk, su[i].files[j].hash, name, err);
			free(name);
		}
	}
	return rc;
}

static int
fsck_snap(void *ctx, const char *mirror, const struct snap *sn,
    struct merr *err)
{
	char *what = xasprintf("snapshot %s/%s", mirror, sn->id);
	int rc;

	rc = fsck_suites(ctx, what, sn->suites, sn->nsuites, err);
	free(what);
	return rc;
}

/* A mirror's channels' own Release files. */
static int
fsck_channels(struct fsck *fk, const char *mirror, struct merr *err)
{
	char **names;
	size_t n, i;
	int rc;

	rc = channel_list(fk->t, mirror, &names, &n, err);
	if (rc)
		return rc;
	for (i = 0; rc == 0 && i < n; i++) {
		struct channel ch;
		char *what;

		rc = channel_get(fk->t, mirror, names[i], &ch, err);
		if (rc)
			break;
		what = xasprintf("channel %s/%s", mirror, ch.name);
		rc = fsck_suites(fk, what, ch.suites, ch.nsuites, err);
		free(what);
		channel_free(&ch);
	}
	strv_free(names, n);
	return rc;
}

/*
 * Blob files that the index does not list: left by a kill between a
 * rename and its commit, or between gc's commit and its unlink. Harmless
 * (nothing serves them); reported, not counted as problems.
 */
static int
fsck_file(void *ctx, const char *dir, int dirfd, const char *name,
    const unsigned char *h, struct merr *err)
{
	struct fsck *fk = ctx;
	struct store_blob_rec rec;
	int rc;

	if (h == NULL) {
		fsck_add(fk, FSCK_STRAY, xasprintf("%s/%s: not a blob name",
		    dir, name));
		return 0;
	}
	rc = store_blob_get(fk->t, h, &rec, err);
	if (rc == MERR_NOTFOUND) {
		fsck_add(fk, FSCK_ORPHAN, xasprintf("blob %s: file not in the "
		    "index (unreferenced)", name));
		rc = 0;
	}
	return rc;
}

static int
fsck_check(struct store *s, const struct conf *c, const struct fsck_opts *opts,
    bool deep, struct fsck_report *r, struct merr *err)
{
	struct fsck fk = { s, NULL, opts, r, 0, 0, NULL, c, NULL, NULL, NULL,
	    0, 0, deep };
	struct store_blob_walk w = { false, NULL, fsck_file, NULL, &fk };
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = fsck_list(&fk, err);
	if (rc == 0)
		rc = store_txn_begin(s, false, &fk.t, err);
	if (rc) {
		fetch_free(fk.f);
		free(fk.objs);
		return rc;
	}
	rc = fsck_blobs(&fk, err);
	if (rc == 0 && fk.s3 != NULL)
		fsck_unlisted(&fk);
	if (rc == 0)
		rc = pool_each(fk.t, fsck_interval, &fk, err);
	for (i = 0; rc == 0 && i < c->nmirrors; i++)
		rc = snap_each(fk.t, c->mirrors[i].name, fsck_snap, &fk, err);
	for (i = 0; rc == 0 && i < c->nmirrors; i++)
		rc = fsck_channels(&fk, c->mirrors[i].name, err);
	if (rc == 0)
		rc = store_blob_walk(s, &w, err);
	store_txn_abort(fk.t);
	fetch_free(fk.f);
	free(fk.objs);
	return rc;
}

int
fsck_run(struct store *s, const struct conf *c, const struct fsck_opts *opts,
    struct fsck_report *r, struct merr *err)
{
	return fsck_check(s, c, opts, false, r, err);
}

int
fsck_run_deep(struct store *s, const struct conf *c,
    const struct fsck_opts *opts, struct fsck_report *r, struct merr *err)
{
	return fsck_check(s, c, opts, true, r, err);
}

void
fsck_report_release(struct fsck_report *r)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		free(r->findings[i].text);
	free(r->findings);
	memset(r, 0, sizeof(*r));
}
