/*
 * diff.c: what changed in the binary packages between two snapshots.
 *
 * For each suite, every Packages index of the older and of the newer
 * snapshot is stream-parsed into a map (name, architecture) -> highest
 * version; the two maps are then compared. A suite whose set of Packages
 * index hashes is the same in both snapshots cannot have changed and is
 * not read at all. Only one suite's maps are in memory at a time.
 *
 * Version ordering is dpkg's own (version.h).
 */
#include "mirrord/common.h"

#include <limits.h>
#include <unistd.h>

#include "mirrord/deb822.h"
#include "mirrord/decomp.h"
#include "mirrord/diff.h"
#include "mirrord/hash.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "mirrord/version.h"

/* Caps for hostile or broken indices. */
#define DIFF_MAX_INDEX	(4ull << 30)	/* decompressed bytes, one index */
#define DIFF_MAX_PARA	(1024 * 1024)	/* bytes per paragraph */

/*
 * A map (name, arch) -> highest version: open addressing with linear
 * probing, FNV-1a over "name\0arch".
 */
struct diff_pkg {
	char *key;		/* "name\0arch", owned; NULL: empty slot */
	size_t klen;		/* with the inner NUL, not the final one */
	uint64_t h;
	char *version;		/* owned */
};

struct diff_map {
	struct diff_pkg *slots;
	size_t cap;		/* a power of two, or 0 */
	size_t n;
};

static uint64_t
diff_hash(const char *k, size_t len)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)k[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void
diff_map_release(struct diff_map *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		free(m->slots[i].key);
		free(m->slots[i].version);
	}
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* The slot holding key, or the empty slot where it would go. */
static struct diff_pkg *
diff_map_slot(const struct diff_map *m, const char *key, size_t klen,
    uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);
	struct diff_pkg *p;

	for (;;) {
		p = &m->slots[i];
		if (p->key == NULL || (p->h == h && p->klen == klen &&
		    memcmp(p->key, key, klen) == 0))
			return p;
		i = (i + 1) & (m->cap - 1);
	}
}

static const struct diff_pkg *
diff_map_get(const struct diff_map *m, const struct diff_pkg *k)
{
	const struct diff_pkg *p;

	if (m->cap == 0)
		return NULL;
	p = diff_map_slot(m, k->key, k->klen, k->h);
	return p->key ? p : NULL;
}

static void
diff_map_grow(struct diff_map *m)
{
	struct diff_map nm;
	size_t i;

	nm.cap = m->cap ? m->cap * 2 : 1024;
	nm.n = m->n;
	nm.slots = xcalloc(nm.cap, sizeof(*nm.slots));
	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			*diff_map_slot(&nm, m->slots[i].key, m->slots[i].klen,
			    m->slots[i].h) = m->slots[i];
	free(m->slots);
	*m = nm;
}

/* Records (name, arch, version), keeping the highest version. */
static void
diff_map_add(struct diff_map *m, const char *name, size_t nlen,
    const char *arch, size_t alen, const char *version, size_t vlen)
{
	struct diff_pkg *p;
	struct buf k = BUF_INIT;
	uint64_t h;

	if ((m->n + 1) * 10 > m->cap * 7)
		diff_map_grow(m);
	buf_add(&k, name, nlen);
	buf_addc(&k, '\0');
	buf_add(&k, arch, alen);
	h = diff_hash(k.p, k.len);
	p = diff_map_slot(m, k.p, k.len, h);
	if (p->key == NULL) {
		p->h = h;
		p->key = buf_detach(&k, &p->klen);
		p->version = xstrndup(version, vlen);
		m->n++;
		return;
	}
	buf_release(&k);
	if (version_cmp_n(version, vlen, p->version, strlen(p->version)) >
	    0) {
		free(p->version);
		p->version = xstrndup(version, vlen);
	}
}

/* A Packages index: ".../binary-<arch>/Packages[.gz|.xz|...]". */
static bool
diff_is_packages(const char *path)
{
	static const char tail[] = "/Packages";
	size_t n = comp_strip(path);

	return strstr(path, "/binary-") != NULL && n >= sizeof(tail) - 1 &&
	    memcmp(path + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1) == 0;
}

/* A field that must be present, non-empty, one word of printable bytes. */
static int
diff_field(const struct deb822_para *para, const char *field,
    const char *index, const char **val, size_t *len, struct merr *err)
{
	size_t i;

	*val = deb822_get(para, field, len);
	if (*val == NULL || *len == 0)
		return merr_set(err, MERR_PARSE, "'%s' line %u: paragraph "
		    "without '%s'", index, para->line, field);
	for (i = 0; i < *len; i++)
		if ((unsigned char)(*val)[i] <= ' ' ||
		    (unsigned char)(*val)[i] == 0x7f)
			return merr_set(err, MERR_PARSE, "'%s' line %u: "
			    "invalid '%s'", index, para->line, field);
	return 0;
}

/* Adds every package of one index blob to m. */
static int
diff_read_index(struct store *s, const struct snap_index *ix,
    struct diff_map *m, struct merr *err)
{
	struct decomp *r;
	struct deb822 *p;
	struct deb822_para *para;
	const char *name, *arch, *ver;
	size_t nlen, alen, vlen;
	int fd, rc;

	fd = store_blob_open(s, ix->hash, err);
	if (fd < 0)
		return merr_prefix(err, "index '%s': ", ix->path);
	r = decomp_new(fd, comp_from_name(ix->path), DIFF_MAX_INDEX, ix->path);
	p = deb822_new(decomp_read, r, ix->path, DIFF_MAX_PARA);
	for (;;) {
		rc = deb822_next(p, &para, err);
		if (rc <= 0)
			break;
		rc = diff_field(para, "Package", ix->path, &name, &nlen, err);
		if (rc == 0)
			rc = diff_field(para, "Architecture", ix->path, &arch,
			    &alen, err);
		if (rc == 0)
			rc = diff_field(para, "Version", ix->path, &ver, &vlen,
			    err);
		if (rc)
			break;
		diff_map_add(m, name, nlen, arch, alen, ver, vlen);
	}
	deb822_free(p);
	decomp_free(r);
	close(fd);
	return rc;
}

static int
diff_hashcmp(const void *a, const void *b)
{
	return memcmp(a, b, HASH_LEN);
}

/*
 * The distinct hashes of su's Packages indices, sorted, HASH_LEN bytes
 * each (owned; *n of them). su may be NULL: none.
 */
static unsigned char *
diff_hashes(const struct snap_suite *su, size_t *n)
{
	unsigned char *h;
	size_t i, j;

	*n = 0;
	if (su == NULL || su->nindices == 0)
		return NULL;
	h = xreallocarray(NULL, su->nindices, HASH_LEN);
	for (i = 0; i < su->nindices; i++)
		if (diff_is_packages(su->indices[i].path))
			memcpy(h + HASH_LEN * (*n)++, su->indices[i].hash,
			    HASH_LEN);
	if (*n == 0) {
		free(h);
		return NULL;
	}
	qsort(h, *n, HASH_LEN, diff_hashcmp);
	for (i = j = 1; i < *n; i++)
		if (memcmp(h + HASH_LEN * i, h + HASH_LEN * (j - 1),
		    HASH_LEN) != 0)
			memcpy(h + HASH_LEN * j++, h + HASH_LEN * i, HASH_LEN);
	*n = j;
	return h;
}

/* Reads each distinct Packages index of su (may be NULL) into m. */
static int
diff_read_suite(struct store *s, const struct snap_suite *su,
    struct diff_map *m, struct merr *err)
{
	size_t i, j;
	int rc;

	if (su == NULL)
		return 0;
	for (i = 0; i < su->nindices; i++) {
		if (!diff_is_packages(su->indices[i].path))
			continue;
		/* The same blob twice gives nothing new. */
		for (j = 0; j < i; j++)
			if (diff_is_packages(su->indices[j].path) &&
			    memcmp(su->indices[j].hash, su->indices[i].hash,
			    HASH_LEN) == 0)
				break;
		if (j < i)
			continue;
		rc = diff_read_index(s, &su->indices[i], m, err);
		if (rc)
			return rc;
	}
	return 0;
}

struct diff_out {
	struct diff_entry *e;
	size_t n;
	size_t cap;
};

static void
diff_emit(struct diff_out *o, enum diff_kind kind, const char *suite,
    const struct diff_pkg *p, const char *oldv, const char *newv)
{
	struct diff_entry *e;

	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 64;
		o->e = xreallocarray(o->e, o->cap, sizeof(*o->e));
	}
	e = &o->e[o->n++];
	e->kind = kind;
	e->suite = xstrdup(suite);
	e->package = xstrdup(p->key);
	e->arch = xstrdup(p->key + strlen(p->key) + 1);
	e->old_version = oldv ? xstrdup(oldv) : NULL;
	e->new_version = newv ? xstrdup(newv) : NULL;
}

/* Compares one suite (sa or sb may be NULL) and appends its changes. */
static int
diff_suite(struct store *s, const char *name, const struct snap_suite *sa,
    const struct snap_suite *sb, struct diff_out *o, struct merr *err)
{
	struct diff_map ma = { NULL, 0, 0 }, mb = { NULL, 0, 0 };
	unsigned char *ha, *hb;
	const struct diff_pkg *p, *q;
	size_t nha, nhb, i;
	bool same;
	int c, rc;

	/* Same Packages contents on both sides: nothing to read. */
	ha = diff_hashes(sa, &nha);
	hb = diff_hashes(sb, &nhb);
	same = nha == nhb && (nha == 0 || memcmp(ha, hb, nha * HASH_LEN) == 0);
	free(ha);
	free(hb);
	if (same)
		return 0;

	rc = diff_read_suite(s, sa, &ma, err);
	if (rc == 0)
		rc = diff_read_suite(s, sb, &mb, err);
	if (rc) {
		merr_prefix(err, "suite '%s': ", name);
		goto out;
	}
	for (i = 0; i < ma.cap; i++) {
		p = &ma.slots[i];
		if (p->key == NULL)
			continue;
		q = diff_map_get(&mb, p);
		if (q == NULL) {
			diff_emit(o, DIFF_REMOVED, name, p, p->version, NULL);
			continue;
		}
		c = version_cmp(p->version, q->version);
		if (c != 0)
			diff_emit(o, c < 0 ? DIFF_UPGRADED : DIFF_DOWNGRADED,
			    name, p, p->version, q->version);
	}
	for (i = 0; i < mb.cap; i++) {
		q = &mb.slots[i];
		if (q->key && diff_map_get(&ma, q) == NULL)
			diff_emit(o, DIFF_ADDED, name, q, NULL, q->version);
	}
out:
	diff_map_release(&ma);
	diff_map_release(&mb);
	return rc;
}

static int
diff_entry_cmp(const void *va, const void *vb)
{
	const struct diff_entry *a = va, *b = vb;
	int c;

	c = strcmp(a->suite, b->suite);
	if (c == 0)
		c = strcmp(a->package, b->package);
	if (c == 0)
		c = strcmp(a->arch, b->arch);
	return c;
}

int
diff_snapshots(struct store *s, const struct snap *a, const struct snap *b,
    struct diff_entry **out, size_t *n, struct merr *err)
{
	struct diff_out o = { NULL, 0, 0 };
	const struct snap_suite *su;
	size_t i;
	int rc = 0;

	*out = NULL;
	*n = 0;
	/* Every suite of a (with its match in b), then those only in b. */
	for (i = 0; rc == 0 && i < a->nsuites; i++) {
		su = &a->suites[i];
		rc = diff_suite(s, su->name, su, snap_find_suite(b, su->name),
		    &o, err);
	}
	for (i = 0; rc == 0 && i < b->nsuites; i++) {
		su = &b->suites[i];
		if (snap_find_suite(a, su->name) == NULL)
			rc = diff_suite(s, su->name, NULL, su, &o, err);
	}
	if (rc) {
		diff_free(o.e, o.n);
		return rc;
	}
	if (o.n > 1)
		qsort(o.e, o.n, sizeof(*o.e), diff_entry_cmp);
	*out = o.e;
	*n = o.n;
	return 0;
}

void
diff_free(struct diff_entry *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(d[i].suite);
		free(d[i].package);
		free(d[i].arch);
		free(d[i].old_version);
		free(d[i].new_version);
	}
	free(d);
}
