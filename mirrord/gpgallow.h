/*
 * gpgallow.h: a verifier's allow-list: the (sub)keys whose signatures
 * count, as gpg.c lists them from the keys Signed-By names, narrowed to
 * Signed-By's fingerprints as apt narrows them. Plain data, no gpgme: gpg.c
 * fills it, these functions decide.
 *
 * Threads: an allow-list is owned by one verifier; its lookups only read
 * it.
 */
#ifndef MIRRORD_GPGALLOW_H
#define MIRRORD_GPGALLOW_H

#include "mirrord/common.h"

#include "mirrord/gpg.h"

/* One allowed signing key: a (sub)key fingerprint and its primary's. */
struct gpgallow_key {
	char fpr[GPG_FPR_LEN + 1];	/* 40 upper-case hex */
	char primary[GPG_FPR_LEN + 1];	/* its primary key's, or itself */
	char algo[32];			/* as gpg names it: "ed25519" */
};

struct gpgallow {
	struct gpgallow_key *keys;	/* owned */
	size_t n;
	size_t cap;			/* private */
};

#define GPGALLOW_INIT { NULL, 0, 0 }

/* Appends a copy of k. */
void gpgallow_add(struct gpgallow *a, const struct gpgallow_key *k);

/* Frees a's keys and empties it. */
void gpgallow_release(struct gpgallow *a);

/*
 * Narrows a to the keys fprs allow (none: a stays whole). A fingerprint
 * (40 hex digits, any case) allows that key and, for a primary key, its
 * subkeys; with a trailing '!' that key alone. A fingerprint that allows
 * no key is MERR_CONF naming it and keyring (what Signed-By names, for
 * the message): a typo, or a key the files do not hold, for which apt
 * would refuse every signature.
 */
int gpgallow_restrict(struct gpgallow *a, const char *const *fprs,
    size_t nfprs, const char *keyring, struct merr *err);

/*
 * The key of a that fpr names (40 hex digits, or the 16-hex key ID gpg
 * gives when it knows no more; any case), or NULL. Valid until a changes.
 */
const struct gpgallow_key *gpgallow_find(const struct gpgallow *a,
    const char *fpr);

#endif
