/*
 * snapfix.h: snapshots built by hand for the unit tests that need a
 * store with history (t_fsck, t_gc, t_channel): one suite, "stable",
 * whose dists files are texts stored as blobs.
 */
#ifndef SNAPFIX_H
#define SNAPFIX_H

#include "mirrord/common.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

/* sn, zeroed, with one empty suite "stable" (free with snap_release). */
static inline struct snap_suite *
snapfix_init(struct snap *sn)
{
	memset(sn, 0, sizeof(*sn));
	sn->suites = xcalloc(1, sizeof(*sn->suites));
	sn->nsuites = 1;
	sn->suites[0].name = xstrdup("stable");
	return &sn->suites[0];
}

/* Stores text as a blob (h gets its hash) and lists it in su as path. */
static inline int
snapfix_file(struct store *s, struct snap_suite *su, const char *path,
    const char *text, unsigned char h[HASH_LEN], struct merr *err)
{
	int rc = store_put_mem(s, text, strlen(text), h, err);

	if (rc == 0)
		snap_suite_add_file(su, path, h, strlen(text));
	return rc;
}

#endif
