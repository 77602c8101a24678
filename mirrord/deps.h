/*
 * deps.h: Debian relationship fields (deb-control(5), policy 7.1):
 * Depends, Pre-Depends, Recommends, Build-Depends... (comma-separated
 * groups of '|' alternatives), Provides (versioned provides), Source
 * ("name (version)") and Multi-Arch.
 *
 * A relation is
 *
 *	name[:archqual] [(op version)] [[arch list]] [<profiles>...]
 *
 * with op one of << <= = >= >>, the obsolete < and > read as <= and >=
 * as dpkg does. Whitespace, newlines of continuation lines included, may
 * stand between any two parts.
 *
 * Parsing copies nothing: the atoms point into the text parsed, which
 * must outlive them. Time is linear in the text and memory proportional
 * to it (one atom per relation, the array reused between calls).
 *
 * Threads: no state; a struct deps belongs to one thread at a time.
 */
#ifndef MIRRORD_DEPS_H
#define MIRRORD_DEPS_H

#include "mirrord/common.h"
#include "mirrord/version.h"

/* What a field may hold. */
enum deps_kind {
	DEPS_DEPENDS,	/* groups of alternatives, any relation */
	DEPS_PROVIDES,	/* no alternatives, no arch lists; only "= v" */
	DEPS_SOURCE	/* one name, optionally "(version)" (op DEP_EQ) */
};

/* Multi-Arch: (deb-control(5)); MA_NO when the field is absent. */
enum multiarch { MA_NO = 0, MA_SAME, MA_FOREIGN, MA_ALLOWED };

/* One relation; pointers into the parsed text, NULL (length 0) if absent. */
struct dep_atom {
	const char *name;
	const char *archq;	/* after ':' ("any", "native", "amd64") */
	const char *ver;	/* NULL when op is DEP_NONE */
	const char *archs;	/* inside "[...]" */
	const char *profiles;	/* from the first '<' to the last '>' */
	uint32_t name_len, archq_len, ver_len, archs_len, profiles_len;
	enum dep_op op;
	bool alt;		/* an alternative of the atom before it */
};

/*
 * A parsed field: n atoms; a group of alternatives is an atom with alt
 * false followed by those with alt true. DEPS_INIT or deps_init() before
 * use, deps_release() after.
 */
struct deps {
	struct dep_atom *v;
	size_t n, cap;
};
#define DEPS_INIT { NULL, 0, 0 }

void deps_init(struct deps *d);
void deps_release(struct deps *d);

/*
 * Parses [s, s+len) as the value of field (its name, for messages) into
 * d, replacing what d held. An empty or all-blank value gives no atoms.
 * MERR_PARSE (d then holds nothing) naming the field, what is wrong and
 * where ("field 'Depends': bad relation '=>' near '=> 1.0)'"): a missing
 * package name (an empty group, a trailing ',' or '|'), a bad character,
 * an unknown relation, a missing version or ')', an unclosed '[' or '<',
 * or what kind forbids (alternatives in Provides, a relation other than
 * '=' in Provides, more than one name in Source).
 */
int deps_parse(struct deps *d, enum deps_kind kind, const char *field,
    const char *s, size_t len, struct merr *err);

/*
 * The value of a Multi-Arch field: "no", "same", "foreign" or "allowed",
 * blanks around it allowed. MERR_PARSE naming the value otherwise.
 */
int deps_parse_multiarch(const char *s, size_t len, enum multiarch *out,
    struct merr *err);

/*
 * Whether atom a applies on arch: true without an arch list; with one,
 * true if arch is listed ("[amd64 arm64]") or, for a negated list
 * ("[!i386]"), not listed. Wildcards ("linux-any") are matched on their
 * CPU part: "any-amd64" and "linux-any" as the Debian (Linux) ports do.
 */
bool deps_arch_match(const struct dep_atom *a, const char *arch);

/*
 * Whether atom a applies when no build profile is active (what a
 * builder with no DEB_BUILD_PROFILES does): true without restrictions;
 * with "<a b> <c>", true if in some group every term is a negated
 * profile ("<!nocheck>").
 */
bool deps_profiles_match(const struct dep_atom *a);

#endif
