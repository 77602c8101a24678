/*
 * version.c: Debian version ordering, with dpkg's own comparison.
 *
 * dpkg_version_compare() comes from Debian's libdpkg (package
 * libdpkg-dev, link with -ldpkg). Its parser, parseversion(), is not
 * used: it allocates from a process-wide obstack that is never freed
 * (global mutable state, not thread-safe) and reports out-of-memory
 * through dpkg's longjmp error contexts. Splitting a version into epoch,
 * upstream and revision is done here instead, as deb-version(7)
 * describes; the comparison itself (the part that is easy to get subtly
 * wrong) is dpkg's.
 */
#include "mirrord/common.h"

#include <limits.h>

/* libdpkg.a asks its users to acknowledge that its API may change. */
#define LIBDPKG_VOLATILE_API 1
#include <dpkg/version.h>

#include "mirrord/version.h"

/* Parts shorter than this are split without a heap copy. */
#define VERSION_BUF	128

/* A version split for dpkg, its strings in buffers or on the heap. */
struct vsplit {
	struct dpkg_version dv;
	char up[VERSION_BUF], rev[VERSION_BUF];
	char *heap_up, *heap_rev;	/* owned, or NULL */
};

/* A NUL-terminated copy of [s, s+len) in buf, or on the heap if long. */
static char *
version_copy(const char *s, size_t len, char *buf, char **heap)
{
	char *p = buf;

	*heap = NULL;
	if (len >= VERSION_BUF)
		p = *heap = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/*
 * Splits [v, v+len) per deb-version(7): "[epoch:]upstream[-revision]".
 * The epoch is the decimal before the first ':'; the revision follows the
 * last '-'. An epoch that is not a number (an invalid version) is not
 * split off: the whole string then compares as an upstream version,
 * which still gives a consistent order. dpkg wants NUL-terminated parts,
 * hence the copies.
 */
static void
version_split(const char *v, size_t len, struct vsplit *s)
{
	const char *colon, *hyphen, *end = v + len;
	uint64_t epoch;

	s->dv.epoch = 0;
	colon = memchr(v, ':', len);
	if (colon != NULL && parse_u64(v, (size_t)(colon - v), UINT_MAX,
	    &epoch) == 0) {
		s->dv.epoch = (unsigned int)epoch;
		v = colon + 1;
	}
	hyphen = memrchr(v, '-', (size_t)(end - v));
	if (hyphen == NULL)
		hyphen = end;
	s->dv.version = version_copy(v, (size_t)(hyphen - v), s->up,
	    &s->heap_up);
	if (hyphen == end) {
		s->dv.revision = "";
		s->heap_rev = NULL;
	} else
		s->dv.revision = version_copy(hyphen + 1,
		    (size_t)(end - hyphen - 1), s->rev, &s->heap_rev);
}

int
version_cmp_n(const char *a, size_t al, const char *b, size_t bl)
{
	struct vsplit sa, sb;
	int rc;

	version_split(a, al, &sa);
	version_split(b, bl, &sb);
	rc = dpkg_version_compare(&sa.dv, &sb.dv);
	free(sa.heap_up);
	free(sa.heap_rev);
	free(sb.heap_up);
	free(sb.heap_rev);
	return rc < 0 ? -1 : rc > 0;
}

int
version_cmp(const char *a, const char *b)
{
	return version_cmp_n(a, strlen(a), b, strlen(b));
}

bool
version_satisfies(const char *have, size_t hl, enum dep_op op,
    const char *want, size_t wl)
{
	int c;

	if (op == DEP_NONE)
		return true;
	c = version_cmp_n(have, hl, want, wl);
	switch (op) {
	case DEP_LT:
		return c < 0;
	case DEP_LE:
		return c <= 0;
	case DEP_EQ:
		return c == 0;
	case DEP_GE:
		return c >= 0;
	case DEP_GT:
		return c > 0;
	default:
		return true;
	}
}

const char *
version_op_str(enum dep_op op)
{
	static const char *const s[] = { "", "<<", "<=", "=", ">=", ">>" };

	return (unsigned)op < ARRAY_SIZE(s) ? s[op] : "";
}
