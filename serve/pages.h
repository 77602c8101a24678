/*
 * pages.h: the HTML listings (private to serve/).
 *
 * Every string printed is HTML-escaped, every href percent-encoded. Links
 * are relative, so a listing is only served at a URL ending with '/'.
 */
#ifndef SERVE_PAGES_H
#define SERVE_PAGES_H

#include "mirrord/common.h"
#include "mirrord/channel.h"
#include "mirrord/conf.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

/* "/": every mirror with its snapshots (ID, time, packages) and channels. */
int pages_root(const struct conf *c, struct store_txn *t, struct buf *b,
    struct merr *err);
/* "/<mirror>/": latest, the channels and the snapshots. */
int pages_mirror(const char *mirror, struct store_txn *t, struct buf *b,
    struct merr *err);
/* "/<mirror>/<ref>/": dists/ and pool/. */
void pages_ref(const char *mirror, const char *ref, const struct snap *sn,
    struct buf *b);
/* "/<mirror>/<ref>/dists/": the suites. */
void pages_dists(const char *mirror, const char *ref, const struct snap *sn,
    struct buf *b);
/*
 * "/<mirror>/<ref>/dists/<suite>/<dir>": the files and directories right
 * under dir ("" or ending with '/') of the suite as served at that ref
 * (a channel's own Release files, by-hash directories). Returns false,
 * leaving b alone, if dir holds nothing.
 */
bool pages_suite_dir(const char *mirror, const char *ref,
    const struct snap *sn, const struct channel *ch, const char *suite,
    const char *dir, struct buf *b);

#endif
