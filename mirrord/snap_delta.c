/*
 * snap_delta.c: the delta of a sync: the net change of pool membership
 * per (path, blob) that the changed indices make, which snap_commit
 * applies to the pool intervals (pool.c).
 */
#include "mirrord/common.h"

#include "mirrord/snap.h"

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
