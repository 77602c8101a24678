/*
 * pkgset.h: the packages of a set of Packages and Sources indices, in
 * memory, for dependency resolution and composing indices.
 *
 * The caller hands over each index as its decompressed text; a package
 * (a paragraph) is then a small fixed record of offsets into that text:
 * nothing of a paragraph is copied, so memory is the texts plus about
 * 90 bytes a package, plus one hash table of names (a copy of each
 * name: lookups never read the texts). Loading is one
 * linear scan (memchr over lines).
 *
 * Packages are numbered 0..pkgset_count()-1 in the order they were
 * loaded: an index's packages are a contiguous range of ids, in the
 * order of its text, so iterating an index (or all packages) is a loop
 * over ids.
 *
 * Threads: a pkgset is built by one thread; once built, the read-only
 * functions (all but pkgset_add_index) may be called from any number of
 * threads at once.
 */
#ifndef MIRRORD_PKGSET_H
#define MIRRORD_PKGSET_H

#include "mirrord/common.h"
#include "mirrord/deps.h"
#include "mirrord/index.h"

#define PKG_NONE UINT32_MAX

/*
 * The fields pkgset_field() gives. Those before PF_STORED are kept as
 * offsets in each package's record; the others, rarer, are found when
 * asked for by scanning the paragraph (which may fault a page of a
 * mapped index back in).
 */
enum pkg_field {
	PF_PACKAGE,
	PF_VERSION,
	PF_ARCH,		/* Sources: the list ("any all") */
	PF_SOURCE,		/* the source's name: Package if no Source: */
	PF_SOURCE_VERSION,	/* "Source: x (v)"'s v, else Version */
	PF_DEPENDS,		/* Sources: Build-Depends */
	PF_PRE_DEPENDS,		/* Sources: Build-Depends-Indep */
	PF_PROVIDES,
	PF_STORED,
	PF_SECTION = PF_STORED,
	PF_RECOMMENDS,		/* Sources: Build-Depends-Arch */
	PF_CONFLICTS,
	PF_BREAKS,
	PF_COUNT
};

enum pkg_priority { PRIO_NONE = 0, PRIO_REQUIRED, PRIO_IMPORTANT,
	PRIO_STANDARD, PRIO_OPTIONAL, PRIO_EXTRA };

/* A counted string in an index's text; len 0: absent (or empty). */
struct pkg_str {
	uint32_t off, len;
};

/* A package (binary, or source for a Sources index); read-only. */
struct pkg {
	uint32_t index;		/* pkgset_index() */
	uint32_t off, len;	/* the paragraph, without its blank line */
	uint32_t name;		/* its name's id (pkgset_name) */
	uint32_t next;		/* next package of the same name, PKG_NONE */
	struct pkg_str f[PF_STORED];	/* use pkgset_field() */
	uint8_t priority;	/* enum pkg_priority */
	uint8_t multiarch;	/* enum multiarch */
	bool essential;
};

/* An index as added. */
struct pkgset_index {
	char *suite;		/* owned by the set */
	char *path;		/* "main/binary-amd64/Packages" */
	enum index_kind kind;
	int layer;
	char *text;		/* owned by the set */
	size_t len;
	bool mapped;		/* text is a mapping: munmap, not free */
	uint32_t first, count;	/* its packages: ids first..first+count-1 */
};

/* Who provides a name: a package, with the version it provides. */
struct pkg_provide {
	uint32_t pkg;
	uint32_t name;		/* the name provided (pkgset_name) */
	uint32_t next;		/* next provider of the name, or PKG_NONE */
	struct pkg_str version;	/* "Provides: x (= v)": v; len 0: none */
};

struct pkgset;

/* An empty set (owned: pkgset_free). */
struct pkgset *pkgset_new(void);
void pkgset_free(struct pkgset *ps);

/*
 * Adds an index: text (len bytes, need not be NUL-terminated) is taken,
 * whatever the result: the set frees it; it must come from malloc. suite
 * and path (copied) are the suite and the index's path under
 * dists/<suite>/ without compression suffix; layer is the caller's
 * (0 base, 1 the "from" ref of a patch). *id (id may be NULL) gets the
 * index's number. Errors (the set is then as before the call):
 *   MERR_PARSE  a paragraph without Package, Version or (Packages)
 *               Architecture, a line without ':', a duplicate field, a
 *               bad Multi-Arch, Source or Provides: the message names the
 *               index ("suite path") and the line;
 *   MERR_LIMIT  a text of 4 GiB or more, or 2^32 - 2 packages in all.
 */
int pkgset_add_index(struct pkgset *ps, const char *suite, const char *path,
    enum index_kind kind, int layer, char *text, size_t len, uint32_t *id,
    struct merr *err);

/*
 * As pkgset_add_index, for text that is a whole file mapped read-only
 * (mmap PROT_READ, MAP_PRIVATE, len bytes, len > 0): the set munmaps it,
 * whatever the result. While loading, the pages already scanned are
 * given back (madvise MADV_DONTNEED) and fault in again from the page
 * cache when a field is read: the set's resident memory is then its
 * records and names, not the index (bookworm's 50 MB Packages: ~15 MB).
 * The file must not change while the set lives.
 */
int pkgset_add_index_mapped(struct pkgset *ps, const char *suite,
    const char *path, enum index_kind kind, int layer, const char *text,
    size_t len, uint32_t *id, struct merr *err);

/*
 * Gives back the resident pages of the mapped indices (their contents
 * stay: they fault in again from the page cache when read): for a long
 * computation that reads here and there (closure.c calls it every few
 * dozen packages). Safe alongside readers.
 */
void pkgset_give_back(const struct pkgset *ps);

/* Counts, and records by number (valid until pkgset_free). */
size_t pkgset_count(const struct pkgset *ps);
size_t pkgset_nindices(const struct pkgset *ps);
const struct pkg *pkgset_pkg(const struct pkgset *ps, uint32_t id);
const struct pkgset_index *pkgset_index(const struct pkgset *ps, uint32_t i);

/*
 * Field f of package id: a pointer into its index's text (not
 * NUL-terminated), *len its length; NULL with *len 0 when absent.
 * PF_PACKAGE is the set's copy of the name (pkgset_name), so that
 * sorting and printing names touch no page of a mapped index.
 */
const char *pkgset_field(const struct pkgset *ps, uint32_t id,
    enum pkg_field f, size_t *len);
/* The paragraph's bytes, exactly as in the index, without blank line. */
const char *pkgset_para(const struct pkgset *ps, uint32_t id, size_t *len);

/* A name (by its id in struct pkg.name): *len bytes, not NUL-terminated. */
const char *pkgset_name(const struct pkgset *ps, uint32_t name, size_t *len);

/*
 * The name's id, or PKG_NONE if no package has or provides it. Names
 * are shared by binary and source packages, and by provided names.
 */
uint32_t pkgset_lookup(const struct pkgset *ps, const char *name, size_t len);

/*
 * The first package named name (by name id), PKG_NONE if none; the
 * others follow through struct pkg.next, in load order (all versions,
 * all indices, binary and source).
 */
uint32_t pkgset_first(const struct pkgset *ps, uint32_t name);

/*
 * The first provider of name (by name id), PKG_NONE if none; then
 * through .next. The record is valid until pkgset_free.
 */
uint32_t pkgset_first_provider(const struct pkgset *ps, uint32_t name);
const struct pkg_provide *pkgset_provide(const struct pkgset *ps, uint32_t i);

/* Number of names (ids 0..n-1), for callers keeping per-name state. */
size_t pkgset_nnames(const struct pkgset *ps);

#endif
