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
 * holds no keys. The temporary home is made in tmpdir (NULL: $TMPDIR or
 * /tmp); a writer passes its store's tmp/, which is cleaned after a kill.
 * *out is owned; free with gpg_verifier_free(), which also removes the
 * temporary home.
 */
int gpg_verifier_new(const char *keyring, const char *tmpdir,
    struct gpg_verifier **out, struct merr *err);
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

/*
 * Signing (channels' Release files). A signer is a private, temporary
 * GnuPG home holding one unprotected secret signing key, loaded from an
 * ASCII-armored key file. gpg needs its agent for secret-key operations:
 * the signer's agent lives in that home and is stopped by
 * gpg_signer_free().
 */
struct gpg_signer;

/*
 * Loads the secret key in keyfile. If keyfile does not exist and create is
 * true, first generates a new key (ed25519, signing only, no expiry, no
 * passphrase, user ID "mirrord signing key <mirrord@HOSTNAME>") and writes
 * it there, armored, mode 0600, atomically (temp file, fsync, rename). A
 * keyfile that exists but holds no secret key, or is readable by group or
 * others, is MERR_CONF naming it. *out is owned.
 */
int gpg_signer_new(const char *keyfile, bool create, struct gpg_signer **out,
    struct merr *err);
void gpg_signer_free(struct gpg_signer *s);
/* The 40-hex fingerprint of the signing key; valid while s lives. */
const char *gpg_signer_fpr(const struct gpg_signer *s);

/*
 * Clearsigns text (an InRelease file: one signed message, nothing after
 * the signature, as apt requires). *out is owned, NUL-terminated.
 */
int gpg_sign_clear(struct gpg_signer *s, const char *text, size_t len,
    char **out, size_t *outlen, struct merr *err);
/* An ASCII-armored detached signature (Release.gpg). */
int gpg_sign_detached(struct gpg_signer *s, const char *text, size_t len,
    char **out, size_t *outlen, struct merr *err);
/* The public key, binary (armor false) or ASCII-armored. *out owned. */
int gpg_signer_export(struct gpg_signer *s, bool armor, char **out,
    size_t *outlen, struct merr *err);

#endif
