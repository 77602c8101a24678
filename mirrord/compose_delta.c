/*
 * compose_delta.c: the pool membership difference between two snapshots
 * of a mirror, index by index.
 *
 * Pool intervals follow sequence numbers, so a snapshot committed after
 * another must state its difference against that one, whatever either
 * is (a sync of upstream, a partial mirror's composition, a patch): an
 * index whose blob is the same in both costs nothing; one that changed is
 * parsed twice (the new version counted in, the old one out); one that
 * appeared or went is parsed once.
 */
#include "mirrord/common.h"

#include <unistd.h>

#include "mirrord/compose.h"
#include "mirrord/decomp.h"
#include "mirrord/index.h"

struct delta_ctx {
	const char *suite;
	struct snap_delta *d;
	int sign;
	struct snap_index *ix;
	compose_entry_fn fn;
	void *ctx;
};

static int
delta_entry(void *arg, const struct index_entry *e, struct merr *err)
{
	struct delta_ctx *dc = arg;
	bool first;

	first = snap_delta_add(dc->d, e->path, e->path_len, e->hash, e->size,
	    dc->sign);
	if (dc->sign < 0)
		return 0;
	if (dc->ix) {
		dc->ix->nfiles++;
		dc->ix->bytes += e->size;
	}
	return dc->fn ? dc->fn(dc->ctx, dc->suite, e, first, err) : 0;
}

static int
delta_tee(void *ctx, const char *buf, size_t len, struct merr *err)
{
	return store_blob_write(ctx, buf, len, err);
}

int
compose_parse_index(struct store *s, const char *suite,
    const struct snap_index *ix, uint64_t max_out, int sign,
    struct snap_delta *d,
    struct snap_index *counts, compose_entry_fn fn, void *ctx,
    struct blob_writer *tee, struct merr *err)
{
	struct delta_ctx dc = { suite, d, sign, counts, sign > 0 ? fn : NULL,
	    ctx };

	/* A large index takes seconds: fn looks at the cancel flag. */
	enum index_kind kind = strstr(ix->path, "Sources") ? INDEX_SOURCES :
	    INDEX_PACKAGES;
	uint64_t npara = 0;
	int fd, rc;

	if (counts) {
		counts->nfiles = 0;
		counts->bytes = 0;
	}
	fd = store_blob_open(s, ix->hash, err);
	if (fd < 0)
		return merr_prefix(err, "'%s/%s': ", suite, ix->path);
	rc = index_parse_fd_tee(fd, comp_from_name(ix->path), max_out,
	    kind, ix->path, delta_entry, &dc, &npara, tee ? delta_tee : NULL,
	    tee, err);
	close(fd);
	if (rc)
		return merr_prefix(err, "'%s/%s': ", suite, ix->path);
	if (counts)
		counts->npara = npara;
	return 0;
}

const struct snap_index *
compose_find_index(const struct snap_suite *su, const char *path)
{
	size_t i, n = comp_strip(path);

	for (i = 0; su && i < su->nindices; i++)
		if (comp_strip(su->indices[i].path) == n &&
		    strncmp(su->indices[i].path, path, n) == 0)
			return &su->indices[i];
	return NULL;
}

/*
 * Parses index ix of suite su from its quickest variant to decode (the
 * same text: every variant is verified against the same Release).
 */
static int
delta_parse(struct store *s, const struct snap_suite *su,
    const struct snap_index *ix, int sign, struct snap_delta *d,
    struct snap_index *counts, compose_entry_fn fn, void *ctx,
    struct merr *err)
{
	const struct snap_file *f = compose_fastest(su, ix->path);
	struct snap_index v = *ix;

	if (f) {
		v.path = f->path;
		memcpy(v.hash, f->hash, HASH_LEN);
	}
	return compose_parse_index(s, su->name, &v, COMPOSE_INDEX_MAX, sign,
	    d, counts, fn, ctx, NULL, err);
}

/* What one suite of new adds and drops against old's (NULL: none). */
static int
delta_suite(struct store *s, const struct snap_suite *os,
    struct snap_suite *ns, struct snap_delta *d, compose_entry_fn fn,
    void *ctx, struct merr *err)
{
	const struct snap_index *oi;
	size_t i;
	int rc;

	for (i = 0; ns && i < ns->nindices; i++) {
		struct snap_index *ix = &ns->indices[i];

		oi = compose_find_index(os, ix->path);
		if (oi && memcmp(oi->hash, ix->hash, HASH_LEN) == 0) {
			ix->npara = oi->npara;
			ix->nfiles = oi->nfiles;
			ix->bytes = oi->bytes;
			continue;
		}
		rc = delta_parse(s, ns, ix, 1, d, ix, fn, ctx, err);
		if (rc == 0 && oi)
			rc = delta_parse(s, os, oi, -1, d, NULL, NULL, NULL,
			    err);
		if (rc)
			return rc;
	}
	for (i = 0; os && i < os->nindices; i++) {
		if (compose_find_index(ns, os->indices[i].path))
			continue;
		rc = delta_parse(s, os, &os->indices[i], -1, d, NULL, NULL,
		    NULL, err);
		if (rc)
			return rc;
	}
	return 0;
}

int
compose_delta(struct store *s, const struct snap *old, struct snap *new,
    struct snap_delta *d, compose_entry_fn fn, void *ctx, struct merr *err)
{
	size_t i;
	int rc;

	for (i = 0; i < new->nsuites; i++) {
		rc = delta_suite(s, old ? snap_find_suite(old,
		    new->suites[i].name) : NULL, &new->suites[i], d, fn, ctx,
		    err);
		if (rc)
			return rc;
	}
	for (i = 0; old && i < old->nsuites; i++) {
		if (snap_find_suite(new, old->suites[i].name))
			continue;
		rc = delta_suite(s, &old->suites[i], NULL, d, NULL, NULL, err);
		if (rc)
			return rc;
	}
	return 0;
}
