/*
 * fsck.c: the checks of `mirrord fsck` (see fsck.h), through the table
 * owners' iteration functions and the store's blob walk; the command
 * only prints the report.
 */
#include "mirrord/common.h"

#include <unistd.h>

#include "mirrord/channel.h"
#include "mirrord/fsck.h"
#include "mirrord/hash.h"
#include "mirrord/pool.h"
#include "mirrord/snap.h"

struct fsck {
	struct store *s;
	struct store_txn *t;
	const struct fsck_opts *opts;
	struct fsck_report *r;
	uint64_t rows, row_bytes;	/* what the blobs table lists */
	const char *mirror;		/* the mirror being checked */
	const struct conf *c;
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

int
fsck_run(struct store *s, const struct conf *c, const struct fsck_opts *opts,
    struct fsck_report *r, struct merr *err)
{
	struct fsck fk = { s, NULL, opts, r, 0, 0, NULL, c };
	struct store_blob_walk w = { false, NULL, fsck_file, NULL, &fk };
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = store_txn_begin(s, false, &fk.t, err);
	if (rc)
		return rc;
	rc = fsck_blobs(&fk, err);
	if (rc == 0)
		rc = pool_each(fk.t, fsck_interval, &fk, err);
	for (i = 0; rc == 0 && i < c->nmirrors; i++)
		rc = snap_each(fk.t, c->mirrors[i].name, fsck_snap, &fk, err);
	for (i = 0; rc == 0 && i < c->nmirrors; i++)
		rc = fsck_channels(&fk, c->mirrors[i].name, err);
	if (rc == 0)
		rc = store_blob_walk(s, &w, err);
	store_txn_abort(fk.t);
	return rc;
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
