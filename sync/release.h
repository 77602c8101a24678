/*
 * release.h: parsing a verified Release text and choosing its files.
 *
 * Threads: pure functions; a struct release may be read from several
 * threads once parsed.
 */
#ifndef MIRRORD_RELEASE_H
#define MIRRORD_RELEASE_H

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/hash.h"

struct release_file {
	char *path;		/* canonical, relative to dists/<suite>/ */
	unsigned char sha256[HASH_LEN];
	uint64_t size;
};

struct release {
	char *suite;		/* Suite:, may be NULL */
	char *codename;		/* Codename:, may be NULL */
	char *date_str;		/* Date: as written */
	int64_t date;		/* Date: as unix time */
	int64_t valid_until;	/* Valid-Until:, 0 if absent */
	bool by_hash;		/* Acquire-By-Hash: yes */
	bool no_arch_all;	/* No-Support-for-Architecture-all: Packages */
	struct release_file *files;	/* the SHA256: section */
	size_t nfiles;
};

/*
 * Parses the signed text of a Release file (text and name borrowed; name
 * is for messages). Requires Date and a SHA256 section; every path is
 * canonicalised. r is filled, owned (free with release_free), only on
 * success; otherwise MERR_PARSE names the field or line.
 */
int release_parse(const char *text, size_t len, const char *name,
    struct release *r, struct merr *err);
/* Frees what r holds. */
void release_free(struct release *r);
/* The file at path, or NULL; valid as long as r is. */
const struct release_file *release_find(const struct release *r,
    const char *path);

/* RFC 2822 dates as Release files write them. 0 or MERR_PARSE. */
int release_parse_date(const char *s, int64_t *out);

enum sel_kind {
	SEL_OTHER = 0,		/* mirrored, not parsed */
	SEL_PACKAGES,		/* binary-ARCH/Packages* */
	SEL_SOURCES,		/* source/Sources* */
	SEL_PDIFF		/* *.diff/Index */
};

/*
 * The files of r that mirror m wants: for each configured component,
 * binary-ARCH (and binary-all unless no_arch_all) when Types has deb,
 * source/ when deb-src, i18n/, Contents-ARCH*, dep11/ and cnf/ files of
 * those architectures, and pdiff Index files of selected indices. kinds
 * (owned array, one per returned index) says what each is. *idx is an
 * owned array of indices into r->files. Free both with free(), even
 * when *n is 0.
 */
void release_select(const struct release *r, const struct conf_mirror *m,
    size_t **idx, enum sel_kind **kinds, size_t *n);

/*
 * What m asks for that a suite's files (paths relative to dists/<suite>/:
 * its Release's list) do not have: a component, the Packages of an
 * architecture of Types: deb, the Sources of deb-src. Appends one
 * "\n"-ended line per missing thing to out ("component 'x' is not in
 * its Release"); nothing for a flat suite (no Components).
 */
void release_missing(const char *const *paths, size_t n,
    const struct conf_mirror *m, struct buf *out);

#endif
