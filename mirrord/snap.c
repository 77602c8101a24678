/*
 * snap.c: snapshot manifests, pool membership intervals and the commit.
 *
 * The manifest is a small line-based text ("key value..."), so that a
 * snapshot row stays readable with mdb_dump when something goes wrong:
 *
 *	mirrord-snapshot 1
 *	id 20261129T080000Z
 *	seq 3
 *	time 1764403200
 *	count packages 120 sources 10 files 140 bytes 123456 new_files 2 new_bytes 2048
 *	suite stable
 *	date 1764403200 Sat, 29 Nov 2026 08:00:00 UTC
 *	file HEX SIZE InRelease
 *	index HEX NPARA NFILES BYTES main/binary-amd64/Packages.xz
 *
 * Paths never hold spaces or control bytes (path_check), so a space
 * separates fields and the path comes last.
 */
#include "mirrord/common.h"

#include <time.h>
#include <unistd.h>

#include "mirrord/log.h"
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

static void
manifest_write(const struct snap *sn, struct buf *b)
{
	char hex[HASH_HEX_LEN + 1];
	size_t i, j;

	buf_addf(b, "mirrord-snapshot 1\nid %s\nseq %u\ntime %lld\n",
	    sn->id, sn->seq, (long long)sn->time);
	buf_addf(b, "count packages %llu sources %llu files %llu pool_bytes "
	    "%llu bytes %llu new_files %llu new_bytes %llu\n",
	    (unsigned long long)sn->packages, (unsigned long long)sn->sources,
	    (unsigned long long)sn->files, (unsigned long long)sn->pool_bytes,
	    (unsigned long long)sn->bytes,
	    (unsigned long long)sn->new_files,
	    (unsigned long long)sn->new_bytes);
	for (i = 0; i < sn->nsuites; i++) {
		const struct snap_suite *su = &sn->suites[i];

		buf_addf(b, "suite %s\ndate %lld %s\n", su->name,
		    (long long)su->date, su->date_str ? su->date_str : "");
		for (j = 0; j < su->nfiles; j++) {
			hash_to_hex(su->files[j].hash, hex);
			buf_addf(b, "file %s %llu %s\n", hex,
			    (unsigned long long)su->files[j].size,
			    su->files[j].path);
		}
		for (j = 0; j < su->nindices; j++) {
			const struct snap_index *ix = &su->indices[j];

			hash_to_hex(ix->hash, hex);
			buf_addf(b, "index %s %llu %llu %llu %s\n", hex,
			    (unsigned long long)ix->npara,
			    (unsigned long long)ix->nfiles,
			    (unsigned long long)ix->bytes, ix->path);
		}
	}
}

/* Splits a line into at most max space-separated words; the last takes
 * the rest of the line. Returns the number of words. */
static size_t
split_words(char *line, char **w, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (*p && n < max) {
		if (n == max - 1) {
			w[n++] = p;
			break;
		}
		w[n++] = p;
		p = strchr(p, ' ');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	return n;
}

static int
manifest_u64(const char *s, uint64_t *out)
{
	return parse_u64(s, strlen(s), UINT64_MAX, out);
}

static int
manifest_parse(const char *data, size_t len, struct snap *sn,
    struct merr *err)
{
	char *copy = xstrndup(data, len), *line, *save = NULL;
	struct snap_suite *su = NULL;
	unsigned lineno = 0;
	int rc = 0;

	memset(sn, 0, sizeof(*sn));
	for (line = strtok_r(copy, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		char *w[16] = { NULL };
		size_t n = split_words(line, w, 2);
		uint64_t v[15];
		size_t i;

		lineno++;
		if (n == 0)
			goto bad;
		if (lineno == 1) {
			if (n != 2 || strcmp(w[0], "mirrord-snapshot") ||
			    strcmp(w[1], "1"))
				goto bad;
			continue;
		}
		if (strcmp(w[0], "id") == 0 && n == 2 &&
		    strlen(w[1]) == SNAP_ID_LEN) {
			memcpy(sn->id, w[1], SNAP_ID_LEN + 1);
		} else if (strcmp(w[0], "seq") == 0 && n == 2) {
			if (manifest_u64(w[1], v) || v[0] > UINT32_MAX)
				goto bad;
			sn->seq = (uint32_t)v[0];
		} else if (strcmp(w[0], "time") == 0 && n == 2) {
			if (manifest_u64(w[1], v))
				goto bad;
			sn->time = (int64_t)v[0];
		} else if (strcmp(w[0], "count") == 0) {
			/* "count k v k v ...": seven pairs. */
			if (n != 2 || split_words(w[1], w + 1, 14) != 14)
				goto bad;
			for (i = 2; i < 15; i += 2)
				if (manifest_u64(w[i], &v[i]))
					goto bad;
			sn->packages = v[2];
			sn->sources = v[4];
			sn->files = v[6];
			sn->pool_bytes = v[8];
			sn->bytes = v[10];
			sn->new_files = v[12];
			sn->new_bytes = v[14];
		} else if (strcmp(w[0], "suite") == 0 && n == 2) {
			sn->suites = xreallocarray(sn->suites,
			    sn->nsuites + 1, sizeof(*sn->suites));
			su = &sn->suites[sn->nsuites++];
			memset(su, 0, sizeof(*su));
			su->name = xstrdup(w[1]);
		} else if (strcmp(w[0], "date") == 0 && su && n >= 2) {
			char *w2[3];
			size_t m = split_words(w[1], w2, 2);

			if (m < 1 || manifest_u64(w2[0], v))
				goto bad;
			su->date = (int64_t)v[0];
			su->date_str = xstrdup(m == 2 ? w2[1] : "");
		} else if (strcmp(w[0], "file") == 0 && su) {
			unsigned char h[HASH_LEN];
			char *w2[4];

			if (split_words(w[1], w2, 3) != 3 ||
			    hash_from_hex(w2[0], strlen(w2[0]), h) ||
			    manifest_u64(w2[1], v))
				goto bad;
			snap_suite_add_file(su, w2[2], h, v[0]);
		} else if (strcmp(w[0], "index") == 0 && su) {
			unsigned char h[HASH_LEN];
			struct snap_index *ix;
			char *w2[6];

			if (split_words(w[1], w2, 5) != 5 ||
			    hash_from_hex(w2[0], strlen(w2[0]), h) ||
			    manifest_u64(w2[1], &v[0]) ||
			    manifest_u64(w2[2], &v[1]) ||
			    manifest_u64(w2[3], &v[2]))
				goto bad;
			ix = snap_suite_add_index(su, w2[4], h);
			ix->npara = v[0];
			ix->nfiles = v[1];
			ix->bytes = v[2];
		} else {
			goto bad;
		}
	}
	if (sn->id[0] == '\0')
		goto bad;
	free(copy);
	return 0;
bad:
	rc = merr_set(err, MERR_STORE, "corrupt snapshot manifest at line %u",
	    lineno);
	free(copy);
	snap_release(sn);
	return rc;
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

/* One TBL_SNAPS key: "mirror\0ID", or the ID after a mirror's prefix. */
static int
snap_each_one(void *ctx, const char *key, size_t kl, const void *v,
    size_t vl, struct merr *err)
{
	struct snap_each_ctx *ec = ctx;
	const char *nul = ec->mirror ? key - 1 : memchr(key, '\0', kl);
	char *mirror, *id;
	struct snap sn;
	int rc;

	if (ec->mirror && kl != SNAP_ID_LEN)
		return 0;
	if (nul == NULL)
		return 0;
	mirror = ec->mirror ? xstrdup(ec->mirror) :
	    xstrndup(key, (size_t)(nul - key));
	id = xstrndup(nul + 1, kl - (size_t)(nul + 1 - key));
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
		snap_list_free(*ids, *n);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

void
snap_list_free(char **ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

int
snap_load(struct store_txn *t, const char *mirror, const char *ref,
    struct snap *out, struct merr *err)
{
	struct store_cursor *c;
	struct buf k = BUF_INIT;
	const void *key, *val;
	size_t plen, kl, vl;
	bool latest = strcmp(ref, "latest") == 0;
	char id[SNAP_ID_LEN + 1];
	int rc;

	if (!latest && !is_snap_id(ref))
		return merr_set(err, MERR_INVAL,
		    "'%s' is neither a snapshot ID (YYYYMMDDTHHMMSSZ) nor "
		    "'latest'", ref);
	/*
	 * IDs sort as times: the newest at or before ref is the last key
	 * <= "mirror\0ref" ("latest": <= "mirror\0" and a byte above any
	 * ID's), one seek whatever the history.
	 */
	plen = snap_key(&k, mirror, latest ? "\x7f" : ref);
	rc = store_cursor_open(t, TBL_SNAPS, &c, err);
	if (rc)
		goto out;
	rc = store_cursor_seek_le(c, k.p, k.len, &key, &kl, &val, &vl, err);
	plen = strlen(mirror) + 1;
	if (rc == 1 && (kl != plen + SNAP_ID_LEN ||
	    memcmp(key, k.p, plen) != 0))
		rc = 0;		/* another mirror's key, or none */
	if (rc == 1) {
		memcpy(id, (const char *)key + plen, SNAP_ID_LEN);
		id[SNAP_ID_LEN] = '\0';
		rc = manifest_parse(val, vl, out, err);
		if (rc)
			merr_prefix(err, "snapshot '%s': ", id);
	} else if (rc == 0) {
		rc = merr_set(err, MERR_NOTFOUND,
		    "mirror '%s': no snapshot %s '%s'", mirror,
		    latest ? "for" : "at or before", ref);
	}
	store_cursor_close(c);
out:
	buf_release(&k);
	return rc;
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

/*
 * The delta map: open addressing over (path, hash), with paths kept in
 * one growing arena. Its size follows the entries of the changed indices.
 */
struct delta_ent {
	size_t off;		/* of the path in the arena; SIZE_MAX = empty */
	uint32_t len;
	int32_t n;
	unsigned char hash[HASH_LEN];
	uint64_t size;
	uint16_t tag;		/* snap_delta_mark()'s, plus one; 0: unmarked */
};

struct snap_delta {
	struct delta_ent *tab;
	size_t cap;		/* a power of two */
	size_t used;
	struct buf arena;
};

struct snap_delta *
snap_delta_new(void)
{
	struct snap_delta *d = xcalloc(1, sizeof(*d));
	size_t i;

	d->cap = 1024;
	d->tab = xcalloc(d->cap, sizeof(*d->tab));
	for (i = 0; i < d->cap; i++)
		d->tab[i].off = SIZE_MAX;
	return d;
}

void
snap_delta_free(struct snap_delta *d)
{
	if (d == NULL)
		return;
	free(d->tab);
	buf_release(&d->arena);
	free(d);
}

static size_t
delta_slot(const struct snap_delta *d, const char *path, size_t len,
    const unsigned char h[HASH_LEN])
{
	uint64_t x;
	size_t i;

	/* The blob hash is already uniform; mix in the path length. */
	memcpy(&x, h, sizeof(x));
	x ^= (uint64_t)len * 0x9e3779b97f4a7c15ULL;
	for (i = (size_t)x & (d->cap - 1); ; i = (i + 1) & (d->cap - 1)) {
		const struct delta_ent *e = &d->tab[i];

		if (e->off == SIZE_MAX)
			return i;
		if (e->len == len && memcmp(e->hash, h, HASH_LEN) == 0 &&
		    memcmp(d->arena.p + e->off, path, len) == 0)
			return i;
	}
}

static void
delta_grow(struct snap_delta *d)
{
	struct delta_ent *old = d->tab;
	size_t oldcap = d->cap, i;

	d->cap *= 2;
	d->tab = xcalloc(d->cap, sizeof(*d->tab));
	for (i = 0; i < d->cap; i++)
		d->tab[i].off = SIZE_MAX;
	for (i = 0; i < oldcap; i++) {
		if (old[i].off == SIZE_MAX)
			continue;
		d->tab[delta_slot(d, d->arena.p + old[i].off, old[i].len,
		    old[i].hash)] = old[i];
	}
	free(old);
}

bool
snap_delta_add(struct snap_delta *d, const char *path, size_t len,
    const unsigned char h[HASH_LEN], uint64_t size, int n)
{
	struct delta_ent *e;
	bool first = false;

	if ((d->used + 1) * 4 > d->cap * 3)
		delta_grow(d);
	e = &d->tab[delta_slot(d, path, len, h)];
	if (e->off == SIZE_MAX) {
		e->off = d->arena.len;
		e->len = (uint32_t)len;
		e->tag = 0;
		buf_add(&d->arena, path, len);
		buf_addc(&d->arena, '\0');
		memcpy(e->hash, h, HASH_LEN);
		e->size = size;
		e->n = 0;
		d->used++;
		first = true;
	}
	e->n += n;
	return first;
}

void
snap_delta_mark(struct snap_delta *d, const char *path, size_t len,
    const unsigned char h[HASH_LEN], uint16_t tag)
{
	struct delta_ent *e = &d->tab[delta_slot(d, path, len, h)];

	if (e->off != SIZE_MAX)
		e->tag = (uint16_t)(tag + 1);
}

int
snap_delta_each_marked(const struct snap_delta *d, snap_delta_mark_fn fn,
    void *ctx, struct merr *err)
{
	size_t i;
	int rc;

	for (i = 0; i < d->cap; i++) {
		const struct delta_ent *e = &d->tab[i];

		if (e->off == SIZE_MAX || e->tag == 0 || e->n <= 0)
			continue;
		rc = fn(ctx, d->arena.p + e->off, e->len, e->hash, e->size,
		    (uint16_t)(e->tag - 1), err);
		if (rc)
			return rc;
	}
	return 0;
}

static int
delta_ent_cmp(const void *a, const void *b, void *arena)
{
	const struct delta_ent *x = *(const struct delta_ent *const *)a;
	const struct delta_ent *y = *(const struct delta_ent *const *)b;
	const char *p = arena;
	int c = strcmp(p + x->off, p + y->off);

	return c ? c : memcmp(x->hash, y->hash, HASH_LEN);
}

int
snap_delta_each(const struct snap_delta *d, snap_delta_fn fn, void *ctx,
    struct merr *err)
{
	const struct delta_ent **v;
	size_t i, n = 0;
	int rc = 0;

	/*
	 * In key order (path, then blob): B-tree pages then fill as they
	 * would by appending, so a large commit dirties (and holds in
	 * memory) about half the pages that hash order would.
	 */
	v = xcalloc(d->used ? d->used : 1, sizeof(*v));
	for (i = 0; i < d->cap; i++)
		if (d->tab[i].off != SIZE_MAX && d->tab[i].n != 0)
			v[n++] = &d->tab[i];
	qsort_r(v, n, sizeof(*v), delta_ent_cmp, d->arena.p);
	for (i = 0; i < n && rc == 0; i++)
		rc = fn(ctx, d->arena.p + v[i]->off, v[i]->hash, v[i]->size,
		    v[i]->n, err);
	free(v);
	return rc;
}


/* Pool interval values: be32 to (0: open), be64 size, be32 refs. */
#define POOL_VAL_LEN 16

/* "mirror\0path\0" + hash: the prefix of TBL_POOL keys. */
static void
pool_key(struct buf *k, const char *mirror, const char *path,
    const unsigned char *h)
{
	snap_key(k, mirror, path);
	buf_addc(k, '\0');
	if (h)
		buf_add(k, h, HASH_LEN);
}

struct commit_ctx {
	struct store_txn *txn;
	const char *mirror;
	struct snap *sn;
	struct buf k;
};

int
snap_bref_add(struct store_txn *t, const unsigned char h[HASH_LEN], int n,
    uint32_t *now, struct merr *err)
{
	unsigned char val[4];
	const void *v;
	size_t vl;
	int64_t refs = 0;
	int rc;

	rc = store_get(t, TBL_BREFS, h, HASH_LEN, &v, &vl, err);
	if (rc == 0 && vl == 4)
		refs = be32_get(v);
	else if (rc != MERR_NOTFOUND)
		return rc ? rc : merr_set(err, MERR_STORE,
		    "corrupt blob reference count");
	refs += n;
	if (refs < 0 || refs > UINT32_MAX)
		return merr_set(err, MERR_STORE,
		    "blob reference count out of range (%lld)",
		    (long long)refs);
	*now = (uint32_t)refs;
	if (refs == 0)
		return store_del(t, TBL_BREFS, h, HASH_LEN, err);
	be32_put(val, (uint32_t)refs);
	return store_put(t, TBL_BREFS, h, HASH_LEN, val, 4, err);
}

/*
 * Records a blob the snapshot names; counts it if it is new. One that gc
 * queued for removal is referenced again: unqueue it.
 */
static int
commit_blob(struct commit_ctx *c, const unsigned char h[HASH_LEN],
    uint64_t size, struct merr *err)
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
	c->sn->new_files++;
	c->sn->new_bytes += size;
	return store_blob_put(c->txn, h, size, err);
}

/*
 * The open interval of (path, blob) under prefix k (TBL_POOL keys
 * "mirror\0path\0hash" + be32(from)): *from gets its start and *refs its
 * reference count. Returns 1 if there is one, 0 if not, or an error.
 */
static int
find_open(struct store_txn *t, const struct buf *k, uint32_t *from,
    uint32_t *refs, struct merr *err)
{
	struct store_cursor *cur;
	const void *key, *v;
	size_t kl, vl;
	int rc;

	rc = store_cursor_open(t, TBL_POOL, &cur, err);
	if (rc)
		return rc;
	for (rc = store_cursor_seek(cur, k->p, k->len, &key, &kl, &v, &vl,
	    err); rc == 1; rc = store_cursor_next(cur, &key, &kl, &v, &vl,
	    err)) {
		if (kl != k->len + 4 || memcmp(key, k->p, k->len) != 0) {
			rc = 0;
			break;
		}
		if (vl == POOL_VAL_LEN && be32_get(v) == 0) {
			*from = be32_get((const unsigned char *)key + k->len);
			*refs = be32_get((const unsigned char *)v + 12);
			break;
		}
	}
	store_cursor_close(cur);
	return rc;
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
	unsigned char val[POOL_VAL_LEN];
	uint32_t from = 0, refs = 0, brefs;
	int64_t now;
	int rc, found;

	pool_key(&c->k, c->mirror, path, h);
	found = find_open(c->txn, &c->k, &from, &refs, err);
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
		struct buf k2 = BUF_INIT;
		unsigned char seq[4];

		rc = commit_blob(c, h, size, err);
		if (rc == 0)
			rc = snap_bref_add(c->txn, h, 1, &brefs, err);
		if (rc)
			return rc;
		from = c->sn->seq;
		c->sn->files++;
		c->sn->pool_bytes += size;
		be32_put(seq, c->sn->seq);
		snap_key(&k2, c->mirror, NULL);
		buf_add(&k2, seq, 4);
		buf_adds(&k2, path);
		buf_addc(&k2, '\0');
		buf_add(&k2, h, HASH_LEN);
		rc = store_put(c->txn, TBL_POOLSEQ, k2.p, k2.len, "", 0, err);
		buf_release(&k2);
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
	be32_put(val, now == 0 ? c->sn->seq : 0);
	be64_put(val + 4, size);
	be32_put(val + 12, (uint32_t)now);
	buf_grow(&c->k, 4);
	be32_put((unsigned char *)c->k.p + c->k.len, from);
	c->k.len += 4;
	return store_put(c->txn, TBL_POOL, c->k.p, c->k.len, val, sizeof(val),
	    err);
}

int
snap_pool_lookup(struct store_txn *t, const char *mirror, const char *path,
    uint32_t seq, unsigned char h[HASH_LEN], uint64_t *size,
    struct merr *err)
{
	struct store_cursor *cur;
	struct buf k = BUF_INIT;
	const void *key, *v;
	size_t kl, vl, plen;
	int rc;

	pool_key(&k, mirror, path, NULL);
	plen = k.len;
	rc = store_cursor_open(t, TBL_POOL, &cur, err);
	if (rc)
		goto out;
	rc = store_cursor_seek(cur, k.p, plen, &key, &kl, &v, &vl, err);
	while (rc == 1 && kl == plen + HASH_LEN + 4 &&
	    memcmp(key, k.p, plen) == 0) {
		const unsigned char *kp = key;
		uint32_t from = be32_get(kp + plen + HASH_LEN);
		uint32_t to = vl == POOL_VAL_LEN ? be32_get(v) : 0;

		if (from <= seq && (to == 0 || seq < to)) {
			memcpy(h, kp + plen, HASH_LEN);
			*size = vl == POOL_VAL_LEN ?
			    be64_get((const unsigned char *)v + 4) : 0;
			rc = 0;
			goto close;
		}
		rc = store_cursor_next(cur, &key, &kl, &v, &vl, err);
	}
	if (rc >= 0)
		rc = merr_set(err, MERR_NOTFOUND, "'%s' is not in the snapshot",
		    path);
close:
	store_cursor_close(cur);
out:
	buf_release(&k);
	return rc;
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
	rc = snap_load(t, mirror, "latest", &sn, err);
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
		if (manifest_parse(v, vl, &sn, err) != 0) {
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

	rc = store_get(t, TBL_META, TOTALS_KEY, sizeof(TOTALS_KEY) - 1, &v,
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
	return store_put(t, TBL_META, TOTALS_KEY, sizeof(TOTALS_KEY) - 1, p,
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
		rc = manifest_parse(v, vl, &sn, err);
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
			    su->files[j].size, err);
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
	manifest_write(sn, &v);
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
