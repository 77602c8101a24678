/*
 * advisory_int.h: private to advisory.c (the feeds, json-c) and
 * advisory_db.c (the database and its queries).
 */
#ifndef MIRRORD_ADVISORY_INT_H
#define MIRRORD_ADVISORY_INT_H

#include "mirrord/common.h"

#include "mirrord/advisory.h"

/* One advisory of one source in one release. */
struct advisory_entry {
	char *rel;		/* "T:" codename or "O:" ecosystem prefix */
	char *source;
	struct advisory a;
};

struct advisory_vec {
	struct advisory_entry *v;
	size_t n, cap;
};

struct advisory_db {
	struct advisory_vec e;	/* sorted by rel, source, id, fixed */
};

/* Frees what e holds (not e). */
void advisory_entry_release(struct advisory_entry *e);
/* Frees every entry of v and its array; v is then empty. */
void advisory_vec_release(struct advisory_vec *v);
/* A zeroed entry at the end of v (valid until the next add). */
struct advisory_entry *advisory_vec_add(struct advisory_vec *v);
/*
 * Moves add's entries into db (add is then empty), sorted; an entry
 * equal to one already there (release, source, ID, version) is dropped.
 */
void advisory_db_merge(struct advisory_db *db, struct advisory_vec *add);
/* Sorts v (n strings, owned) and frees repeats; *n is the new count. */
void advisory_strv_uniq(char **v, size_t *n);
/* A copy of v (owned: strv_free). */
char **advisory_strv_dup(char *const *v, size_t n);

#endif
