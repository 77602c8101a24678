/*
 * keyrings.h: each mirror's /<mirror>/keyring.gpg (private to serve/).
 *
 * A client must trust two keys for a mirror: mirrord's, which signs the
 * channels' Release files, and the mirror's Signed-By keys, which sign
 * the snapshot URLs a channel's Snapshots: field sends apt to. The
 * keyring of a mirror is both, as one binary OpenPGP keyring (what
 * `mirrord sources` inlines, armoured). gpg makes it once per mirror and
 * per Signed-By (its files' names, sizes and times, its key block and
 * fingerprints): at the server's start, and again at the first request
 * after a reload or a keyring file changed; never per request.
 *
 * Threads: keyrings_get() and keyrings_prepare() may run in every server
 * thread at once: one mutex guards the table, and is held while gpg
 * makes a keyring (rare: once per Signed-By change), so the threads
 * asking for it wait rather than each running gpg.
 */
#ifndef SERVE_KEYRINGS_H
#define SERVE_KEYRINGS_H

#include "mirrord/common.h"
#include "mirrord/conf.h"

struct keyrings;

/*
 * A table for mirrord's public key own (ownlen bytes, copied). Owned;
 * free with keyrings_free().
 */
struct keyrings *keyrings_new(const char *own, size_t ownlen);
void keyrings_free(struct keyrings *k);

/*
 * Makes the keyring of every mirror of c now; a mirror whose keyring
 * cannot be made is logged (a warning) and answered 500 later.
 */
void keyrings_prepare(struct keyrings *k, const struct conf *c);

/*
 * Appends m's keyring to b, made first if m's Signed-By changed since.
 * Thread-safe. MERR_CONF or MERR_IO (the same error until Signed-By
 * changes) if gpg cannot make it.
 */
int keyrings_get(struct keyrings *k, const struct conf_mirror *m,
    struct buf *b, struct merr *err);

#endif
