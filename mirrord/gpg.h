/*
 * gpg.h: OpenPGP signature verification and signing with gpgme (gpg.c is
 * the only file that includes gpgme.h; no gpgme type or error leaks out).
 *
 * A verifier is a private, temporary GnuPG home (gpghome.h) into which
 * exactly the keys one Signed-By names are imported. The user's keyring is
 * never read. A signature counts only if it is good (status
 * GPG_ERR_NO_ERROR), made by a key (primary or subkey) of those, and
 * neither the signature nor the key is expired or revoked, and if it passes
 * apt's policy (gpgpolicy.h): a digest other than MD5, SHA-1 and
 * RIPEMD-160 (apt's gpgv method distrusts them), and a key whose algorithm
 * the policy allows.
 *
 * Errors: MERR_CONF for what the operator can fix (a keyring without keys,
 * a fingerprint that names no key, a signing key readable by others, gpg
 * missing); MERR_VERIFY for data that does not verify, with the reason;
 * MERR_IO for gpg or the file system failing under us.
 *
 * Threads: gpgme contexts are never shared between threads. A verifier
 * keeps no context between calls (each verification makes its own), but
 * its calls run gpg on its one home: use a verifier from one thread at a
 * time. gpg_keyring_export() makes a home of its own per call and may run
 * in several threads at once. A signer keeps one context: one thread at a
 * time. gpgme wants its first initialisation done before other threads
 * exist: a threaded program calls gpg_init() (or makes its first verifier
 * or signer) before starting them.
 */
#ifndef MIRRORD_GPG_H
#define MIRRORD_GPG_H

#include "mirrord/common.h"

#define GPG_FPR_LEN 40

struct gpg_verifier;

/*
 * What a mirror's Signed-By: trusts, as apt reads it: the keys of keyring
 * files and of an inline ASCII-armoured key block, optionally narrowed to
 * fingerprints. A fingerprint (40 upper-case hex digits) allows that key and,
 * for a primary key, its subkeys; with a trailing '!' it allows that key
 * alone (apt's rule). No fingerprint: every key allows.
 *
 * pubkey_algo is the public-key algorithm policy in the syntax of apt's
 * APT::Key::Assert-Pubkey-Algo and gpg's --assert-pubkey-algo: a comma list
 * of algorithm names as gpg writes them ("ed25519", "nistp256") and minimums
 * (">=rsa2048"); NULL means GPGPOLICY_ALGO_DEFAULT (gpgpolicy.h).
 */
struct gpg_keyspec {
	const char *const *files;
	size_t nfiles;
	const char *keyblock;		/* armoured keys, or NULL */
	const char *const *fprs;
	size_t nfprs;
	const char *pubkey_algo;
};

struct conf_mirror;

/* ks for a mirror's Signed-By: and Assert-Pubkey-Algo:; borrows from m. */
void gpg_keyspec_of_mirror(struct gpg_keyspec *ks,
    const struct conf_mirror *m);

/*
 * Initialises gpgme and checks that its OpenPGP engine (gpg) runs: 0, or
 * MERR_CONF ("gnupg is not usable: ..."). Every constructor below calls
 * it; calling it again is harmless.
 */
int gpg_init(struct merr *err);

/*
 * Creates a verifier for the keys ks names. Fails with MERR_CONF if a file
 * is unreadable, if no key was found, or if a fingerprint names no key of
 * them. The temporary home is made in tmpdir (NULL: $TMPDIR or /tmp); a
 * writer passes its store's tmp/, which is cleaned after a kill. *out is
 * owned; free with gpg_verifier_free(), which also removes the temporary
 * home.
 */
int gpg_verifier_new_spec(const struct gpg_keyspec *ks, const char *tmpdir,
    struct gpg_verifier **out, struct merr *err);

/* The same for every key of one keyring file and the default policy. */
int gpg_verifier_new(const char *keyring, const char *tmpdir,
    struct gpg_verifier **out, struct merr *err);
/* Removes v's home (stopping an agent gpg may have started) and frees v. */
void gpg_verifier_free(struct gpg_verifier *v);

/*
 * Verifies a clearsigned message (an InRelease file) as apt does: the
 * input must have apt's structure (clearsign.h: BEGIN PGP SIGNED MESSAGE
 * on the first line, one or more signature blocks, nothing after them),
 * and its signature blocks must verify over the signed text it splits
 * out. On success *text gets that text, clearsign_split()'s (owned,
 * NUL-terminated, length *textlen; LF line ends, no trailing blanks,
 * dash-escaping undone) and fpr the 40-hex fingerprint of the signing
 * key's primary key; text, textlen and fpr may be NULL. MERR_VERIFY says
 * why it failed (not a single clearsigned message, bad signature, unknown
 * key, expired, weak digest, algorithm refused by the policy...);
 * MERR_IO that gpgme could not be run.
 */
int gpg_verify_clearsigned(struct gpg_verifier *v, const char *data,
    size_t len, char **text, size_t *textlen, char fpr[GPG_FPR_LEN + 1],
    struct merr *err);

/*
 * Verifies a detached signature (Release.gpg) over data (Release), by the
 * same rule; fpr (may be NULL) as gpg_verify_clearsigned().
 */
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
 * others, is MERR_CONF naming it; a key gpg fails to generate or export,
 * MERR_IO. *out is owned; gpg_signer_free() (NULL is fine) stops the
 * agent and removes the home.
 */
int gpg_signer_new(const char *keyfile, bool create, struct gpg_signer **out,
    struct merr *err);
void gpg_signer_free(struct gpg_signer *s);
/* The 40-hex fingerprint of the signing key; valid while s lives. */
const char *gpg_signer_fpr(const struct gpg_signer *s);

/*
 * Clearsigns text (an InRelease file: one signed message, nothing after
 * the signature, as apt requires). *out is owned, NUL-terminated. gpg
 * failing is MERR_IO; a signature whose digest apt would refuse (not
 * SHA-256/384/512) is MERR_CONF and not returned.
 */
int gpg_sign_clear(struct gpg_signer *s, const char *text, size_t len,
    char **out, size_t *outlen, struct merr *err);
/* An ASCII-armored detached signature (Release.gpg); errors as above. */
int gpg_sign_detached(struct gpg_signer *s, const char *text, size_t len,
    char **out, size_t *outlen, struct merr *err);
/* The public key, binary (armor false) or ASCII-armored. *out owned. */
int gpg_signer_export(struct gpg_signer *s, bool armor, char **out,
    size_t *outlen, struct merr *err);

/*
 * The public keys ks allows (narrowed to its fingerprints as apt narrows
 * them: "FPR!" that key alone, "FPR" the whole key) plus those of extra
 * (public keys, binary or armoured, extralen bytes: mirrord's own; NULL
 * for none), as one keyring: ASCII-armoured (for an inline Signed-By) or
 * binary (a .gpg file for signed-by=). A client that trusts it verifies
 * both what upstream signed and what mirrord signed. Errors as
 * gpg_verifier_new_spec(); the temporary home is made in tmpdir. *out is
 * owned (NUL-terminated), *outlen its length.
 */
int gpg_keyring_export(const struct gpg_keyspec *ks, const char *extra,
    size_t extralen, const char *tmpdir, bool armor, char **out,
    size_t *outlen, struct merr *err);

#endif
