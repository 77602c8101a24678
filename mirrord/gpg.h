/*
 * gpg.h: OpenPGP signature verification (and, later, signing) with gpgme.
 *
 * A verifier is an isolated gpgme context: a private, temporary GnuPG home
 * into which exactly the keys of one keyring file are imported. The user's
 * keyring is never read. A signature counts only if it is good (status
 * GPG_ERR_NO_ERROR), made by a key (primary or subkey) of that keyring, and
 * neither the signature nor the key is expired or revoked.
 */
#ifndef MIRRORD_GPG_H
#define MIRRORD_GPG_H

#include "mirrord/common.h"

#define GPG_FPR_LEN 40

struct gpg_verifier;

/*
 * Creates a verifier for the keys in keyring (a binary or ASCII-armored
 * OpenPGP keyring file). Fails with MERR_CONF if the file is unreadable or
 * holds no keys. *out is owned; free with gpg_verifier_free(), which also
 * removes the temporary home.
 */
int gpg_verifier_new(const char *keyring, struct gpg_verifier **out,
    struct merr *err);
void gpg_verifier_free(struct gpg_verifier *v);

/*
 * Verifies a clearsigned message (an InRelease file). The input must be
 * exactly one "-----BEGIN PGP SIGNED MESSAGE-----" block and one signature,
 * with nothing but whitespace before or after (apt's rule). On success
 * *text gets the signed text as gpg outputs it (owned, NUL-terminated,
 * length *textlen) and fpr the 40-hex fingerprint of the signing key.
 * MERR_VERIFY says why it failed (bad signature, unknown key, expired...).
 */
int gpg_verify_clearsigned(struct gpg_verifier *v, const char *data,
    size_t len, char **text, size_t *textlen, char fpr[GPG_FPR_LEN + 1],
    struct merr *err);

/* Verifies a detached signature (Release.gpg) over data (Release). */
int gpg_verify_detached(struct gpg_verifier *v, const char *data, size_t len,
    const char *sig, size_t siglen, char fpr[GPG_FPR_LEN + 1],
    struct merr *err);

#endif
