/*
 * version.h: Debian version ordering (deb-version(7)) and version
 * constraints (deb-control(5): "<<", "<=", "=", ">=", ">>"). version.c is
 * the only file that calls libdpkg.
 *
 * Versions often live inside index text, not NUL-terminated: the _n forms
 * take a pointer and a length and copy nothing to the heap unless a part
 * is over 127 bytes.
 *
 * Threads: no state (libdpkg's parser, which keeps a process-wide
 * obstack, is not used: version.c splits versions itself); any thread.
 */
#ifndef MIRRORD_VERSION_H
#define MIRRORD_VERSION_H

#include "mirrord/common.h"

/* A relation of a versioned dependency; DEP_NONE: unversioned. */
enum dep_op { DEP_NONE = 0, DEP_LT, DEP_LE, DEP_EQ, DEP_GE, DEP_GT };

/*
 * Compares two versions: -1, 0 or 1. Never fails: an invalid version
 * (an epoch that is not a number...) still compares, in a consistent
 * order (it is then compared whole as an upstream version).
 */
int version_cmp(const char *a, const char *b);
int version_cmp_n(const char *a, size_t al, const char *b, size_t bl);

/*
 * Whether version have satisfies "op want": DEP_NONE is always true,
 * DEP_LT is have << want, and so on.
 */
bool version_satisfies(const char *have, size_t hl, enum dep_op op,
    const char *want, size_t wl);

/* The operator's spelling in deb-control(5) ("<<", ">="...; "" for none). */
const char *version_op_str(enum dep_op op);

#endif
