/*
 * parse.c: step 3 of a sync pass. Each Packages/Sources index that changed
 * is parsed as a stream (index_parse_fd): every pool file it lists not yet
 * in the store is marked in the snapshot delta, and the pool membership
 * difference against the previous version of that index is recorded
 * (snap_delta). The marked files become the pool jobs once the parsers'
 * memory is free.
 */
#include "mirrord/common.h"

#include "mirrord/compose.h"
#include "mirrord/decomp.h"
#include "mirrord/log.h"
#include "sync/pass.h"

/* Which of the mirror's suites is name (0 if none: a tag, not a key). */
static uint16_t
parse_suite_no(const struct sync_ctx *x, const char *name)
{
	size_t i;

	for (i = 0; i < x->m->nsuites; i++)
		if (strcmp(x->m->suites[i], name) == 0)
			return (uint16_t)i;
	return 0;
}

int
parse_mark_missing(void *ctx, const char *suite, const struct index_entry *e,
    bool first, struct merr *err)
{
	struct sync_ctx *x = ctx;
	bool known;
	int rc;

	/* A large index takes seconds: look at the flag as we go. */
	rc = sync_check_cancel(x, err);
	/*
	 * Seen in another index already (arch: all, a second suite), or
	 * fetched on demand (the commit leaves it unlisted).
	 */
	if (rc || !first || x->m->on_demand)
		return rc;
	rc = plan_blob_known(x->rtxn, e->hash, &known, err);
	if (rc || known)
		return rc;
	/* Fetched later: the jobs are made once the parsers' memory is free. */
	snap_delta_mark(x->delta, e->path, e->path_len, e->hash,
	    parse_suite_no(x, suite));
	return 0;
}

static int
parse_queue_one(void *arg, const char *path, size_t len,
    const unsigned char h[HASH_LEN], uint64_t size, uint16_t suite_no,
    struct merr *err)
{
	struct sync_ctx *x = arg;

	joblist_add(&x->pool, x->m->suites[suite_no], xasprintf("%s/%.*s",
	    x->m->uri, (int)len, path), NULL, NULL, h, size, false);
	return 0;
}

int
parse_queue_pool(struct sync_ctx *x, struct merr *err)
{
	return snap_delta_each_marked(x->delta, parse_queue_one, x, err);
}

int
parse_index(struct sync_ctx *x, const char *suite, const char *path,
    const unsigned char h[HASH_LEN], uint64_t max_out, int sign,
    struct snap_index *ix, struct merr *err)
{
	return parse_index_tee(x, suite, path, h, max_out, sign, ix, NULL,
	    err);
}

int
parse_index_tee(struct sync_ctx *x, const char *suite, const char *path,
    const unsigned char h[HASH_LEN], uint64_t max_out, int sign,
    struct snap_index *ix, struct blob_writer *tee, struct merr *err)
{
	struct snap_index one = { .path = (char *)path };
	int rc;

	memcpy(one.hash, h, HASH_LEN);
	rc = compose_parse_index(x->store, suite, &one, max_out, sign,
	    x->delta, ix, parse_mark_missing, x, tee, err);
	if (rc && sign < 0)
		merr_prefix(err, "previous snapshot's ");
	return rc;
}

static bool
parse_is_index(enum sel_kind k)
{
	return k == SEL_PACKAGES || k == SEL_SOURCES;
}

/*
 * The best fetched variant (.xz, .gz, plain) of the index whose first
 * selected variant is w->sel[i], base bytes long without its suffix; NULL
 * if the index was seen at an earlier i (*seen) or none can be parsed.
 */
static const struct release_file *
parse_best_variant(const struct suite_work *w, size_t i, size_t base,
    bool *seen)
{
	const struct release_file *rf = &w->rel.files[w->sel[i]];
	const struct release_file *best = NULL;
	size_t j;

	/* Handle each index once, at its first variant. */
	*seen = false;
	for (j = 0; j < i; j++)
		if (parse_is_index(w->kinds[j]) &&
		    comp_strip(w->rel.files[w->sel[j]].path) == base &&
		    strncmp(w->rel.files[w->sel[j]].path, rf->path, base) == 0)
			*seen = true;
	if (*seen)
		return NULL;
	for (j = i; j < w->nsel; j++) {
		const struct release_file *v = &w->rel.files[w->sel[j]];

		if (comp_strip(v->path) != base ||
		    strncmp(v->path, rf->path, base) != 0 ||
		    !snap_suite_file(&w->out, v->path) ||
		    compose_variant_rank(v->path) == 0)
			continue;
		if (best == NULL || compose_variant_rank(v->path) >
		    compose_variant_rank(best->path))
			best = v;
	}
	return best;
}

/*
 * The plain text of a compressed index, as the signed Release lists it
 * (Debian and Ubuntu list the uncompressed Packages and Sources without
 * serving them): kept in the snapshot, because reading an index whole
 * (compose, resolve, patch) is then a mapping, not an xz decode (half a
 * second for Debian's main Packages). Listed in w->out at once when the
 * store has it (an unchanged index); *tee when the parse should write
 * it. Errors are the store's.
 */
static int
parse_plain_known(struct sync_ctx *x, struct suite_work *w,
    const struct release_file *plain, const struct release_file *best,
    bool *tee)
{
	struct merr e = { 0 };
	bool known = false;

	*tee = false;
	if (plain == NULL || plain == best || snap_suite_file(&w->out, plain->path))
		return 0;
	if (plan_blob_known(x->rtxn, plain->sha256, &known, &e) != 0)
		return 0;	/* only an optimisation: do without */
	if (known)
		snap_suite_add_file(&w->out, plain->path, plain->sha256,
		    plain->size);
	*tee = !known;
	return 0;
}

/* The tee of a parse is done: keep it if it is what the Release says. */
static void
parse_plain_keep(struct sync_ctx *x, struct suite_work *w,
    const struct release_file *plain, struct blob_writer *bw)
{
	struct merr e = { 0 };

	if (store_blob_finish(bw, plain->sha256, plain->size, &e) == 0)
		snap_suite_add_file(&w->out, plain->path, plain->sha256,
		    plain->size);
	else
		log_warn("mirror '%s': suite '%s': '%s' decompressed is not "
		    "what the Release lists (%s): not kept", x->m->name,
		    w->name, plain->path, e.msg);
}

/* One index of a changed suite: its best variant, parsed if it changed. */
static int
parse_suite_index(struct sync_ctx *x, struct suite_work *w,
    const struct snap_suite *old, size_t i, struct merr *err)
{
	const struct release_file *rf = &w->rel.files[w->sel[i]], *plain;
	const struct release_file *best;
	const struct snap_index *oi;
	struct snap_index *ix;
	struct blob_writer bw;
	size_t base = comp_strip(rf->path);
	char *plain_path;
	bool seen, tee = false;
	int rc;

	best = parse_best_variant(w, i, base, &seen);
	if (seen)
		return 0;
	if (best == NULL)
		return merr_set(err, MERR_NOTFOUND,
		    "'%.*s': no variant upstream could be parsed "
		    "(tried .xz, .gz and uncompressed)", (int)base, rf->path);
	plain_path = xstrndup(rf->path, base);
	plain = release_find(&w->rel, plain_path);
	free(plain_path);
	ix = snap_suite_add_index(&w->out, best->path, best->sha256);
	oi = compose_find_index(old, best->path);
	rc = parse_plain_known(x, w, plain, best, &tee);
	if (oi && memcmp(oi->hash, best->sha256, HASH_LEN) == 0) {
		ix->npara = oi->npara;
		ix->nfiles = oi->nfiles;
		ix->bytes = oi->bytes;
		return rc;
	}
	if (rc == 0 && tee)
		tee = store_blob_begin(x->store, plain->size, &bw, err) == 0;
	if (rc == 0)
		rc = parse_index_tee(x, w->name, best->path, best->sha256,
		    plain ? plain->size : INDEX_MAX_UNLISTED, 1, ix,
		    tee ? &bw : NULL, err);
	if (tee && rc == 0)
		parse_plain_keep(x, w, plain, &bw);
	else if (tee)
		store_blob_abort(&bw);
	if (rc)
		return rc;
	if (oi)
		return parse_index(x, w->name, oi->path, oi->hash,
		    INDEX_MAX_UNLISTED, -1, NULL, err);
	return 0;
}

int
parse_suite(struct sync_ctx *x, struct suite_work *w, struct merr *err)
{
	const struct snap_suite *old = x->have_prev ?
	    snap_find_suite(&x->prev, w->name) : NULL;
	size_t i;
	int rc;

	for (i = 0; i < w->nsel; i++) {
		if (!parse_is_index(w->kinds[i]))
			continue;
		rc = parse_suite_index(x, w, old, i, err);
		if (rc)
			return rc;
	}
	/* Indices the previous snapshot had and this one lacks. */
	for (i = 0; old && i < old->nindices; i++) {
		if (compose_find_index(&w->out, old->indices[i].path))
			continue;
		rc = parse_index(x, w->name, old->indices[i].path,
		    old->indices[i].hash, INDEX_MAX_UNLISTED, -1, NULL, err);
		if (rc)
			return rc;
	}
	return 0;
}
