/*
 * snap.c: snapshots: loading and listing them, the per-suite sync state,
 * the store-wide counters, and the commit. The manifest text is
 * snap_manifest.c's, the delta map snap_delta.c's, pool membership
 * pool.c's.
 */
#include "mirrord/common.h"

#include <time.h>
#include <unistd.h>

#include "mirrord/log.h"
#include "mirrord/pool.h"
#include "mirrord/snap.h"

static void
snap_file_release(struct snap_file *f)
{
	free(f->path);
}

void
snap_suite_release(struct snap_suite *su)
{
	size_t i;

	for (i = 0; i < su->nfiles; i++)
		snap_file_release(&su->files[i]);
	for (i = 0; i < su->nindices; i++)
		free(su->indices[i].path);
	free(su->files);
	free(su->indices);
	free(su->name);
	free(su->date_str);
	memset(su, 0, sizeof(*su));
}

void
snap_release(struct snap *sn)
{
	size_t i;

	for (i = 0; i < sn->nsuites; i++)
		snap_suite_release(&sn->suites[i]);
	free(sn->suites);
	free(sn->recipe);
	memset(sn, 0, sizeof(*sn));
}

void
snap_suite_add_file(struct snap_suite *su, const char *path,
    const unsigned char h[HASH_LEN], uint64_t size)
{
	struct snap_file *f;

	su->files = xreallocarray(su->files, su->nfiles + 1,
	    sizeof(*su->files));
	f = &su->files[su->nfiles++];
	f->path = xstrdup(path);
	memcpy(f->hash, h, HASH_LEN);
	f->size = size;
}

struct snap_index *
snap_suite_add_index(struct snap_suite *su, const char *path,
    const unsigned char h[HASH_LEN])
{
	struct snap_index *ix;

	su->indices = xreallocarray(su->indices, su->nindices + 1,
	    sizeof(*su->indices));
	ix = &su->indices[su->nindices++];
	memset(ix, 0, sizeof(*ix));
	ix->path = xstrdup(path);
	memcpy(ix->hash, h, HASH_LEN);
	return ix;
}

void
snap_suite_copy(struct snap_suite *dst, const struct snap_suite *src)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	dst->name = xstrdup(src->name);
	dst->date_str = src->date_str ? xstrdup(src->date_str) : NULL;
	dst->date = src->date;
	for (i = 0; i < src->nfiles; i++)
		snap_suite_add_file(dst, src->files[i].path,
		    src->files[i].hash, src->files[i].size);
	for (i = 0; i < src->nindices; i++) {
		const struct snap_index *s = &src->indices[i];
		struct snap_index *d = snap_suite_add_index(dst, s->path,
		    s->hash);

		d->npara = s->npara;
		d->nfiles = s->nfiles;
		d->bytes = s->bytes;
	}
}

const struct snap_suite *
snap_find_suite(const struct snap *sn, const char *name)
{
	size_t i;

	for (i = 0; i < sn->nsuites; i++)
		if (strcmp(sn->suites[i].name, name) == 0)
			return &sn->suites[i];
	return NULL;
}

const struct snap_file *
snap_suite_file(const struct snap_suite *su, const char *path)
{
	size_t i;

	for (i = 0; su && i < su->nfiles; i++)
		if (strcmp(su->files[i].path, path) == 0)
			return &su->files[i];
	return NULL;
}

/* Keys are "mirror\0rest". */
static size_t
snap_key(struct buf *k, const char *mirror, const char *rest)
{
	buf_reset(k);
	buf_adds(k, mirror);
	buf_addc(k, '\0');
	if (rest)
		buf_adds(k, rest);
	return k->len;
}

static bool
is_snap_id(const char *s)
{
	static const char shape[] = "dddddddd" "T" "dddddd" "Z";
	size_t i;

	if (strlen(s) != SNAP_ID_LEN)
		return false;
	for (i = 0; i < SNAP_ID_LEN; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') :
		    s[i] != shape[i])
			return false;
	}
	/* A real time: month, day, hour, minute, second in range. */
#define TWO(o) ((s[o] - '0') * 10 + (s[(o) + 1] - '0'))
	return TWO(4) >= 1 && TWO(4) <= 12 && TWO(6) >= 1 && TWO(6) <= 31 &&
	    TWO(9) <= 23 && TWO(11) <= 59 && TWO(13) <= 60;
#undef TWO
}

struct snap_each_ctx {
	struct store_txn *t;
	const char *mirror;	/* NULL: the key names it */
	snap_each_fn fn;
	void *ctx;
};

/*
 * One TBL_SNAPS key: with ec->mirror set, the ID after that mirror's
 * prefix (others are skipped, as snap_list skips them); else the whole
 * "mirror\0ID".
 */
static int
snap_each_one(void *ctx, const char *key, size_t kl, const void *v,
    size_t vl, struct merr *err)
{
	struct snap_each_ctx *ec = ctx;
	const char *nul;
	char *mirror, *id;
	struct snap sn;
	int rc;

	if (ec->mirror) {
		if (kl != SNAP_ID_LEN)
			return 0;
		mirror = xstrdup(ec->mirror);
		id = xstrndup(key, kl);
	} else {
		nul = memchr(key, '\0', kl);
		if (nul == NULL)
			return 0;
		mirror = xstrndup(key, (size_t)(nul - key));
		id = xstrndup(nul + 1, kl - (size_t)(nul + 1 - key));
	}
	rc = snap_load(ec->t, mirror, id, &sn, err);
	if (rc == 0) {
		rc = ec->fn(ec->ctx, mirror, &sn, err);
		snap_release(&sn);
	}
	free(mirror);
	free(id);
	return rc < 0 ? rc : 0;
}

int
snap_each(struct store_txn *t, const char *mirror, snap_each_fn fn,
    void *ctx, struct merr *err)
{
	struct snap_each_ctx ec = { t, mirror, fn, ctx };
	struct buf k = BUF_INIT;
	int rc;

	if (mirror)
		snap_key(&k, mirror, NULL);
	rc = store_scan_prefix(t, TBL_SNAPS, k.p, k.len, snap_each_one, &ec,
	    err);
	buf_release(&k);
	return rc;
}

int
snap_list(struct store_txn *t, const char *mirror, char ***ids, size_t *n,
    struct merr *err)
{
	struct store_cursor *c;
	struct buf k = BUF_INIT;
	const void *key, *val;
	size_t kl, vl, plen;
	int rc;

	*ids = NULL;
	*n = 0;
	plen = snap_key(&k, mirror, NULL);
	rc = store_cursor_open(t, TBL_SNAPS, &c, err);
	if (rc)
		goto out;
	rc = store_cursor_seek(c, k.p, plen, &key, &kl, &val, &vl, err);
	while (rc == 1 && kl == plen + SNAP_ID_LEN &&
	    memcmp(key, k.p, plen) == 0) {
		/* Room doubles: n appends copy O(n) in all. */
		if ((*n & (*n - 1)) == 0 && *n >= 8)
			*ids = xreallocarray(*ids, 2 * *n, sizeof(**ids));
		else if (*n == 0)
			*ids = xreallocarray(NULL, 8, sizeof(**ids));
		(*ids)[(*n)++] = xstrndup((const char *)key + plen,
		    SNAP_ID_LEN);
		rc = store_cursor_next(c, &key, &kl, &val, &vl, err);
	}
	store_cursor_close(c);
	if (rc > 0)
		rc = 0;
out:
	buf_release(&k);
	if (rc) {
		strv_free(*ids, *n);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

/*
 * The newest snapshot of mirror at or before ref (NULL: the newest of
 * all), skipping patches if asked, though never one whose ID is ref
 * itself. IDs sort as times: one seek_le to the last key <= "mirror\0ref"
 * ("mirror\0" and a byte above any ID's for NULL), then one more per
 * patch skipped, to the last key below it.
 */
static int
snap_find(struct store_txn *t, const char *mirror, const char *ref,
    bool skip_patches, struct snap *out, struct merr *err)
{
	struct store_cursor *c;
	struct buf k = BUF_INIT;
	const void *key, *val;
	size_t plen, kl, vl;
	enum snap_kind kind;
	unsigned skipped = 0;
	char id[SNAP_ID_LEN + 1];
	int rc;

	snap_key(&k, mirror, ref ? ref : "\x7f");
	plen = strlen(mirror) + 1;
	rc = store_cursor_open(t, TBL_SNAPS, &c, err);
	if (rc)
		goto out;
	for (;;) {
		rc = store_cursor_seek_le(c, k.p, k.len, &key, &kl, &val, &vl,
		    err);
		if (rc != 1)
			break;
		if (kl != plen + SNAP_ID_LEN || memcmp(key, k.p, plen) != 0) {
			rc = 0;		/* another mirror's key, or none */
			break;
		}
		memcpy(id, (const char *)key + plen, SNAP_ID_LEN);
		id[SNAP_ID_LEN] = '\0';
		if (!skip_patches || (ref && strcmp(id, ref) == 0))
			break;
		if (snap_manifest_kind(val, vl, &kind, err) != 0) {
			rc = merr_prefix(err, "snapshot '%s': ", id);
			break;
		}
		if (snap_kind_upstream(kind))
			break;
		/*
		 * Keys of one mirror have one length: the last key below
		 * this one is the last <= it with its last byte decremented
		 * (an ID's is 'Z').
		 */
		skipped++;
		buf_reset(&k);
		buf_add(&k, key, kl);
		k.p[k.len - 1]--;
	}
	if (rc == 1) {
		rc = snap_manifest_parse(val, vl, out, err);
		if (rc)
			merr_prefix(err, "snapshot '%s': ", id);
	} else if (rc == 0) {
		rc = merr_set(err, MERR_NOTFOUND,
		    "mirror '%s': no snapshot %s '%s'%s", mirror,
		    ref ? "at or before" : "for", ref ? ref : "latest",
		    skipped ? " that is not a patch" : "");
	}
	store_cursor_close(c);
out:
	buf_release(&k);
	return rc;
}

int
snap_load(struct store_txn *t, const char *mirror, const char *ref,
    struct snap *out, struct merr *err)
{
	bool latest = strcmp(ref, "latest") == 0;

	if (!latest && !is_snap_id(ref))
		return merr_set(err, MERR_INVAL,
		    "'%s' is neither a snapshot ID (YYYYMMDDTHHMMSSZ) nor "
		    "'latest'", ref);
	return snap_find(t, mirror, latest ? NULL : ref, true, out, err);
}

int
snap_load_newest(struct store_txn *t, const char *mirror, struct snap *out,
    struct merr *err)
{
	return snap_find(t, mirror, NULL, false, out, err);
}

/* State rows: "date N\netag X\nlm Y\n". */
int
snap_state_get(struct store_txn *t, const char *mirror, const char *suite,
    struct snap_state *st, struct merr *err)
{
	struct buf k = BUF_INIT;
	const void *val;
	size_t vl;
	char *copy, *line, *save = NULL;
	int rc;

	memset(st, 0, sizeof(*st));
	snap_key(&k, mirror, suite);
	rc = store_get(t, TBL_STATE, k.p, k.len, &val, &vl, err);
	buf_release(&k);
	if (rc == MERR_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	copy = xstrndup(val, vl);
	for (line = strtok_r(copy, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		if (str_startswith(line, "date "))
			st->date = strtoll(line + 5, NULL, 10);
		else if (str_startswith(line, "etag "))
			st->etag = xstrdup(line + 5);
		else if (str_startswith(line, "lm "))
			st->last_modified = xstrdup(line + 3);
	}
	free(copy);
	return 0;
}

void
snap_state_release(struct snap_state *st)
{
	free(st->etag);
	free(st->last_modified);
	memset(st, 0, sizeof(*st));
}

static int
snap_state_put(struct store_txn *t, const char *mirror, const char *suite,
    const struct snap_state *st, struct merr *err)
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	int rc;

	snap_key(&k, mirror, suite);
	buf_addf(&v, "date %lld\n", (long long)st->date);
	/* Validators come from the network: keep them to one safe line. */
	if (st->etag && !strpbrk(st->etag, "\r\n"))
		buf_addf(&v, "etag %s\n", st->etag);
	if (st->last_modified && !strpbrk(st->last_modified, "\r\n"))
		buf_addf(&v, "lm %s\n", st->last_modified);
	rc = store_put(t, TBL_STATE, k.p, k.len, v.p, v.len, err);
	buf_release(&k);
	buf_release(&v);
	return rc;
}


struct commit_ctx {
	struct store_txn *txn;
	const char *mirror;
	struct snap *sn;
	struct buf k;
};

/*
 * Records a blob the snapshot names; counts it if it is new. One that gc
 * queued for removal is referenced again: unqueue it.
 */
static int
commit_blob(struct commit_ctx *c, const unsigned char h[HASH_LEN],
    uint64_t size, bool pool, struct merr *err)
{
	struct store_blob_rec rec;
	int rc;

	rc = store_gc_unqueue(c->txn, h, err);
	if (rc && rc != MERR_NOTFOUND)
		return rc;
	rc = store_blob_get(c->txn, h, &rec, err);
	if (rc == 0)
		return 0;
	if (rc != MERR_NOTFOUND)
		return rc;
	if (pool && c->sn->pool_deferred)
		return 0;	/* referenced, not stored: fetched later */
	c->sn->new_files++;
	c->sn->new_bytes += size;
	return store_blob_put(c->txn, h, size, err);
}

/*
 * Applies one net membership change. The open interval of (path, blob)
 * carries how many current indices list it; the interval opens when that
 * goes above zero and closes (ends before this seq) when it drops to zero.
 */
static int
commit_delta(void *ctx, const char *path, const unsigned char h[HASH_LEN],
    uint64_t size, int n, struct merr *err)
{
	struct commit_ctx *c = ctx;
	uint32_t from = 0, refs = 0;
	int64_t now;
	int rc, found;

	found = pool_find_open(c->txn, c->mirror, path, h, &from, &refs, err);
	if (found < 0)
		return found;
	now = (int64_t)refs + n;
	if (now < 0 || now > UINT32_MAX)
		return merr_set(err, MERR_STORE,
		    "reference count of '%s' out of range (%lld)", path,
		    (long long)now);
	if (!found && now == 0)
		return 0;
	if (!found) {
		/* A new interval [seq, open), indexed by its start for gc. */
		rc = commit_blob(c, h, size, true, err);
		if (rc == 0)
			rc = pool_open(c->txn, c->mirror, path, h, c->sn->seq,
			    err);
		if (rc)
			return rc;
		from = c->sn->seq;
		c->sn->files++;
		c->sn->pool_bytes += size;
	} else if (n > 0) {
		/*
		 * Another index lists it too now. Its blob may be unlisted
		 * (an on-demand snapshot named it, nobody fetched it): this
		 * sync fetched it then, unless the commit defers it.
		 */
		rc = commit_blob(c, h, size, true, err);
		if (rc)
			return rc;
	} else if (now == 0) {
		if (c->sn->files == 0 || c->sn->pool_bytes < size)
			return merr_set(err, MERR_STORE,
			    "pool counters below zero at '%s'", path);
		c->sn->files--;
		c->sn->pool_bytes -= size;
	}
	/* to (0 while open), size, refs. */
	return pool_put(c->txn, c->mirror, path, h, from,
	    now == 0 ? c->sn->seq : 0, size, (uint32_t)now, err);
}

static void
snap_format_id(time_t t, char id[SNAP_ID_LEN + 1])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(id, SNAP_ID_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

/*
 * The last snapshot's ID, seq and pool counters into next (ID "" and
 * zeroes if there is none).
 */
static int
snap_last(struct store_txn *t, const char *mirror, char id[SNAP_ID_LEN + 1],
    struct snap *next, struct merr *err)
{
	struct snap sn;
	int rc;

	id[0] = '\0';
	next->seq = 0;
	next->files = 0;
	next->pool_bytes = 0;
	/* Sequence numbers follow every snapshot, patches too. */
	rc = snap_load_newest(t, mirror, &sn, err);
	if (rc == MERR_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	memcpy(id, sn.id, SNAP_ID_LEN + 1);
	next->seq = sn.seq;
	next->files = sn.files;
	next->pool_bytes = sn.pool_bytes;
	snap_release(&sn);
	return 0;
}

static int
snap_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct snap_file *)a)->path,
	    ((const struct snap_file *)b)->path);
}

static int
snap_index_cmp(const void *a, const void *b)
{
	return strcmp(((const struct snap_index *)a)->path,
	    ((const struct snap_index *)b)->path);
}

/*
 * Store-wide snapshot counters: TBL_META "store.snaps" (no NUL, so no
 * mirror's "name\0key" row) -> format byte 1, be64 snapshots, be64 the sum
 * of their bytes. Moved in the transaction that adds or drops a snapshot,
 * so status reads two numbers instead of every manifest. A store from
 * before them is counted once, by the first change (or by each status
 * until then).
 */
#define TOTALS_KEY "store.snaps"
#define TOTALS_LEN 17

/* Every manifest of every mirror, the slow way. */
static int
totals_scan(struct store_txn *t, uint64_t *n, uint64_t *bytes,
    struct merr *err)
{
	struct store_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	int rc;

	*n = 0;
	*bytes = 0;
	rc = store_cursor_open(t, TBL_SNAPS, &c, err);
	if (rc)
		return rc;
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl, err);
	    rc == 1; rc = store_cursor_next(c, &k, &kl, &v, &vl, err)) {
		struct snap sn;

		if (memchr(k, '\0', kl) == NULL)
			continue;
		if (snap_manifest_parse(v, vl, &sn, err) != 0) {
			rc = merr_prefix(err, "snapshot '%.*s': ", (int)kl,
			    (const char *)k);
			break;
		}
		(*n)++;
		*bytes += sn.bytes;
		snap_release(&sn);
	}
	store_cursor_close(c);
	return rc < 0 ? rc : 0;
}

int
snap_totals(struct store_txn *t, uint64_t *n, uint64_t *bytes,
    struct merr *err)
{
	const unsigned char *p;
	const void *v;
	size_t vl;
	int rc;

	rc = store_meta_get(t, NULL, TOTALS_KEY, sizeof(TOTALS_KEY) - 1, &v,
	    &vl, NULL);
	p = v;
	if (rc == 0 && vl == TOTALS_LEN && p[0] == 1) {
		*n = be64_get(p + 1);
		*bytes = be64_get(p + 9);
		return 0;
	}
	return totals_scan(t, n, bytes, err);
}

/* Moves the counters by one snapshot of the given bytes (dir +1 or -1). */
static int
totals_add(struct store_txn *t, int dir, uint64_t sbytes, struct merr *err)
{
	unsigned char p[TOTALS_LEN];
	uint64_t n, bytes;
	int rc;

	rc = snap_totals(t, &n, &bytes, err);
	if (rc)
		return rc;
	if (dir > 0) {
		n++;
		bytes += sbytes;
	} else if (n == 0 || bytes < sbytes) {
		/* Wrong counters: count again (the row is not yet gone). */
		rc = totals_scan(t, &n, &bytes, err);
		if (rc)
			return rc;
		n--;
		bytes -= sbytes;
	} else {
		n--;
		bytes -= sbytes;
	}
	p[0] = 1;
	be64_put(p + 1, n);
	be64_put(p + 9, bytes);
	return store_meta_put(t, NULL, TOTALS_KEY, sizeof(TOTALS_KEY) - 1, p,
	    sizeof(p), err);
}

int
snap_drop(struct store_txn *t, const char *mirror, const char *id,
    struct merr *err)
{
	struct buf k = BUF_INIT;
	struct snap sn;
	const void *v;
	size_t vl;
	int rc;

	snap_key(&k, mirror, id);
	rc = store_get(t, TBL_SNAPS, k.p, k.len, &v, &vl, err);
	if (rc == 0) {
		rc = snap_manifest_parse(v, vl, &sn, err);
		if (rc)
			merr_prefix(err, "snapshot '%s': ", id);
	}
	if (rc == 0) {
		rc = totals_add(t, -1, sn.bytes, err);
		snap_release(&sn);
	}
	if (rc == 0)
		rc = store_del(t, TBL_SNAPS, k.p, k.len, err);
	buf_release(&k);
	return rc;
}

static int
snap_commit_once(struct store *s, const char *mirror, struct snap *sn,
    const struct snap_delta *d, struct snap_state *const *states,
    struct merr *err)
{
	struct commit_ctx c = { NULL, mirror, sn, BUF_INIT };
	struct buf v = BUF_INIT;
	char last[SNAP_ID_LEN + 1];
	uint32_t seq;
	time_t now;
	size_t i, j;
	int rc, tries;

	rc = store_txn_begin(s, true, &c.txn, err);
	if (rc)
		return rc;
	rc = snap_last(c.txn, mirror, last, sn, err);
	if (rc)
		goto fail;
	seq = sn->seq;
	/* IDs are times and must increase; wait out a same-second commit. */
	for (tries = 0; ; tries++) {
		now = time(NULL);
		snap_format_id(now, sn->id);
		if (strcmp(sn->id, last) > 0)
			break;
		if (tries >= 20) {
			rc = merr_set(err, MERR_STORE,
			    "clock is behind the last snapshot '%s'", last);
			goto fail;
		}
		usleep(100 * 1000);
	}
	sn->seq = seq + 1;
	sn->time = (int64_t)now;
	sn->new_files = 0;
	sn->new_bytes = 0;
	/* files and pool_bytes carry over and change with the delta. */
	rc = snap_delta_each(d, commit_delta, &c, err);
	if (rc)
		goto fail;
	sn->packages = 0;
	sn->sources = 0;
	sn->bytes = sn->pool_bytes;
	for (i = 0; i < sn->nsuites; i++) {
		struct snap_suite *su = &sn->suites[i];

		/* In path order, so equal content gives an equal manifest. */
		if (su->nfiles)
			qsort(su->files, su->nfiles, sizeof(*su->files),
			    snap_file_cmp);
		if (su->nindices)
			qsort(su->indices, su->nindices,
			    sizeof(*su->indices), snap_index_cmp);
		for (j = 0; j < su->nfiles; j++) {
			rc = commit_blob(&c, su->files[j].hash,
			    su->files[j].size, false, err);
			if (rc)
				goto fail;
			sn->bytes += su->files[j].size;
		}
		for (j = 0; j < su->nindices; j++) {
			const char *p = su->indices[j].path;

			if (strstr(p, "/source/Sources") || str_startswith(p,
			    "source/Sources"))
				sn->sources += su->indices[j].npara;
			else
				sn->packages += su->indices[j].npara;
		}
		if (states && states[i]) {
			rc = snap_state_put(c.txn, mirror, su->name, states[i],
			    err);
			if (rc)
				goto fail;
		}
	}
	snap_manifest_write(sn, &v);
	rc = totals_add(c.txn, 1, sn->bytes, err);
	if (rc)
		goto fail;
	snap_key(&c.k, mirror, sn->id);
	rc = store_put(c.txn, TBL_SNAPS, c.k.p, c.k.len, v.p, v.len, err);
	if (rc)
		goto fail;
	rc = store_txn_commit(c.txn, err);
	c.txn = NULL;
	if (rc)
		goto out;
	goto out;
fail:
	store_txn_abort(c.txn);
out:
	buf_release(&c.k);
	buf_release(&v);
	return rc;
}

/*
 * A first sync writes its whole index in one transaction, which can fill a
 * small map (a 32-bit system, ulimit -v): the store grows the map before
 * the next write transaction, so run it again (snap_last resets sn).
 */
int
snap_commit(struct store *s, const char *mirror, struct snap *sn,
    const struct snap_delta *d, struct snap_state *const *states,
    struct merr *err)
{
	int rc, tries;

	for (tries = 0; ; tries++) {
		rc = snap_commit_once(s, mirror, sn, d, states, err);
		if (rc != MERR_FULL || tries == 4)
			break;
	}
	if (rc)
		merr_prefix(err, "commit: ");
	return rc;
}

int
snap_import(struct store_txn *t, const char *mirror, const char *data,
    size_t len, struct merr *err)
{
	struct buf k = BUF_INIT;
	struct snap sn;
	const void *v;
	size_t vl;
	int rc;

	rc = snap_manifest_parse(data, len, &sn, err);
	if (rc)
		return rc;
	snap_key(&k, mirror, sn.id);
	rc = store_get(t, TBL_SNAPS, k.p, k.len, &v, &vl, err);
	if (rc == 0)
		rc = merr_set(err, MERR_EXISTS, "snapshot '%s' exists", sn.id);
	else if (rc == MERR_NOTFOUND)
		rc = totals_add(t, 1, sn.bytes, err);
	if (rc == 0)
		rc = store_put(t, TBL_SNAPS, k.p, k.len, data, len, err);
	buf_release(&k);
	snap_release(&sn);
	return rc;
}
