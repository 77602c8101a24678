/*
 * diff.h: what changed in the binary packages between two snapshots.
 */
#ifndef MIRRORD_DIFF_H
#define MIRRORD_DIFF_H

#include "mirrord/common.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

enum diff_kind { DIFF_ADDED, DIFF_REMOVED, DIFF_UPGRADED, DIFF_DOWNGRADED };

struct diff_entry {
	enum diff_kind kind;
	char *suite;
	char *package;
	char *arch;
	char *old_version;	/* NULL when added */
	char *new_version;	/* NULL when removed */
};

/*
 * Compares the Packages indices of snapshots a (older) and b (newer) of
 * one mirror, suite by suite: a package is identified by (suite, name,
 * architecture) and stands for the highest version any of the suite's
 * Packages indices gives it. Indices with equal hashes in a and b are not
 * read. *out (owned; free with diff_free) is sorted by suite, package,
 * arch. Blobs are read from s; the caller holds no transaction.
 */
int diff_snapshots(struct store *s, const struct snap *a, const struct snap *b,
    struct diff_entry **out, size_t *n, struct merr *err);
void diff_free(struct diff_entry *d, size_t n);

/* Debian version comparison (deb-version(7)): <0, 0, >0. */
int diff_version_cmp(const char *a, const char *b);

#endif
