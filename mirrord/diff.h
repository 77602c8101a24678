/*
 * diff.h: what changed in the binary packages between two snapshots.
 *
 * Threads: no global state; separate calls may run in parallel.
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
 * Errors (the message names the suite and the index; *out is then NULL,
 * *n 0): MERR_NOTFOUND an index blob missing from the store, MERR_IO,
 * MERR_PARSE a paragraph without Package, Architecture or Version, a
 * malformed index or corrupt compressed data, MERR_LIMIT an index over
 * 4 GiB decompressed or a paragraph over 1 MiB, MERR_INVAL an index
 * compressed in a form it cannot read (.bz2...).
 */
int diff_snapshots(struct store *s, const struct snap *a, const struct snap *b,
    struct diff_entry **out, size_t *n, struct merr *err);
void diff_free(struct diff_entry *d, size_t n);

#endif
