/*
 * advisory_db.c: the database of advisories (advisory.h) and its
 * queries: what the feeds say, without json-c (advisory.c reads them).
 */
#include "mirrord/common.h"

#include "mirrord/advisory.h"
#include "mirrord/advisory_int.h"
#include "mirrord/version.h"

void
advisory_entry_release(struct advisory_entry *e)
{
	free(e->rel);
	free(e->source);
	free(e->a.id);
	strv_free(e->a.cves, e->a.ncves);
	free(e->a.urgency);
	free(e->a.fixed);
}

void
advisory_vec_release(struct advisory_vec *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		advisory_entry_release(&v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

struct advisory_entry *
advisory_vec_add(struct advisory_vec *v)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->v = xreallocarray(v->v, v->cap, sizeof(*v->v));
	}
	memset(&v->v[v->n], 0, sizeof(v->v[0]));
	return &v->v[v->n++];
}

struct advisory_db *
advisory_db_new(void)
{
	return xcalloc(1, sizeof(struct advisory_db));
}

void
advisory_db_free(struct advisory_db *db)
{
	if (db == NULL)
		return;
	advisory_vec_release(&db->e);
	free(db);
}

size_t
advisory_db_count(const struct advisory_db *db)
{
	return db->e.n;
}

static int
advisory_db_cmp(const void *pa, const void *pb)
{
	const struct advisory_entry *a = pa, *b = pb;
	int c = strcmp(a->rel, b->rel);

	if (c == 0)
		c = strcmp(a->source, b->source);
	if (c == 0)
		c = strcmp(a->a.id, b->a.id);
	if (c == 0)
		c = version_cmp(a->a.fixed, b->a.fixed);
	return c;
}

/* Moves add's entries into db, sorted; an entry already there is dropped. */
void
advisory_db_merge(struct advisory_db *db, struct advisory_vec *add)
{
	size_t i, n = 0;

	for (i = 0; i < add->n; i++)
		*advisory_vec_add(&db->e) = add->v[i];
	free(add->v);
	memset(add, 0, sizeof(*add));
	if (db->e.n == 0)
		return;
	qsort(db->e.v, db->e.n, sizeof(db->e.v[0]), advisory_db_cmp);
	for (i = 1; i < db->e.n; i++) {
		if (advisory_db_cmp(&db->e.v[n], &db->e.v[i]) == 0)
			advisory_entry_release(&db->e.v[i]);
		else
			db->e.v[++n] = db->e.v[i];
	}
	db->e.n = n + 1;
}

static int
advisory_db_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts v and drops repeats. */
void
advisory_strv_uniq(char **v, size_t *n)
{
	size_t i, k = 0;

	if (*n == 0)
		return;
	qsort(v, *n, sizeof(*v), advisory_db_str_cmp);
	for (i = 1; i < *n; i++) {
		if (strcmp(v[k], v[i]) == 0)
			free(v[i]);
		else
			v[++k] = v[i];
	}
	*n = k + 1;
}

char **
advisory_strv_dup(char *const *v, size_t n)
{
	char **d = n ? xcalloc(n, sizeof(*d)) : NULL;
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = xstrdup(v[i]);
	return d;
}

/* ---- Queries. ---- */

/* The first entry of (rel, source), or db->e.n. */
static size_t
advisory_db_lower(const struct advisory_db *db, const char *rel, const char *source)
{
	size_t lo = 0, hi = db->e.n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(db->e.v[mid].rel, rel);
		if (c == 0)
			c = strcmp(db->e.v[mid].source, source);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
advisory_db_find_rel(const struct advisory_db *db, const char *rel,
    const char *source, const char *installed, const char *fixed,
    const struct advisory ***out, size_t *n)
{
	const struct advisory_entry *e;
	size_t i;

	for (i = advisory_db_lower(db, rel, source); i < db->e.n; i++) {
		e = &db->e.v[i];
		if (strcmp(e->rel, rel) != 0 || strcmp(e->source, source) != 0)
			break;
		if (version_cmp(e->a.fixed, fixed) > 0)
			continue;
		if (installed != NULL && version_cmp(installed, e->a.fixed) >= 0)
			continue;
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = &e->a;
	}
}

static int
advisory_db_cmp_found(const void *pa, const void *pb)
{
	const struct advisory *a = *(const struct advisory *const *)pa;
	const struct advisory *b = *(const struct advisory *const *)pb;
	int c = strcmp(a->id, b->id);

	return c ? c : version_cmp(a->fixed, b->fixed);
}

size_t
advisory_find(const struct advisory_db *db,
    const struct advisory_release *rel, const char *source,
    const char *installed, const char *fixed,
    const struct advisory ***out)
{
	size_t n = 0;
	char *key;

	*out = NULL;
	if (rel->codename != NULL) {
		key = xasprintf("T:%s", rel->codename);
		advisory_db_find_rel(db, key, source, installed, fixed, out, &n);
		free(key);
	}
	if (rel->osv_ecosystem != NULL) {
		key = xasprintf("O:%s", rel->osv_ecosystem);
		advisory_db_find_rel(db, key, source, installed, fixed, out, &n);
		free(key);
	}
	if (n > 1)
		qsort(*out, n, sizeof(**out), advisory_db_cmp_found);
	return n;
}
