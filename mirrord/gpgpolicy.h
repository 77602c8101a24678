/*
 * gpgpolicy.h: which signatures apt would accept, as pure functions of
 * names and numbers (no gpgme): the public-key algorithm policy
 * (Assert-Pubkey-Algo:) and the digest algorithms apt trusts. gpg.c asks
 * them about each signature gpgme reports; conf.c checks a policy's
 * syntax when it loads the configuration. Nothing here allocates or keeps
 * state: every function is safe from any thread.
 */
#ifndef MIRRORD_GPGPOLICY_H
#define MIRRORD_GPGPOLICY_H

#include "mirrord/common.h"

/*
 * apt's policy (APT::Key::Assert-Pubkey-Algo as apt 3.0 sets it; gpg names
 * P-521 "nistp521" where apt's list misspells it "nistp512").
 */
#define GPGPOLICY_ALGO_DEFAULT ">=rsa2048,ed25519,ed448,nistp256," \
	"nistp384,nistp521,brainpoolP256r1,brainpoolP320r1,brainpoolP384r1," \
	"brainpoolP512r1,secp256k1"

/*
 * OpenPGP hash algorithm numbers (RFC 4880 9.4), which gpgme's
 * GPGME_MD_* values are.
 */
enum gpgpolicy_digest {
	GPGPOLICY_MD_MD5 = 1,
	GPGPOLICY_MD_SHA1 = 2,
	GPGPOLICY_MD_RMD160 = 3,
	GPGPOLICY_MD_SHA256 = 8,
	GPGPOLICY_MD_SHA384 = 9,
	GPGPOLICY_MD_SHA512 = 10,
	GPGPOLICY_MD_SHA224 = 11
};

/*
 * Checks the syntax of a policy in the syntax of apt's
 * APT::Key::Assert-Pubkey-Algo and gpg's --assert-pubkey-algo: a comma
 * list of algorithm names as gpg writes them ("ed25519", "nistp256") and
 * minimums (">=rsa2048"). Returns NULL if fine (NULL policy too: the
 * default), else what is wrong (a static string).
 */
const char *gpgpolicy_check(const char *policy);

/*
 * Whether policy (well-formed: gpgpolicy_check()) allows a key of algo, as
 * gpg names it ("rsa4096", "ed25519"): an item of the same name (any
 * case), or ">=NAMEBITS" of the same family with at least as many bits.
 */
bool gpgpolicy_allows(const char *policy, const char *algo);

/*
 * Digests apt's gpgv method trusts in a signature it verifies: the SHA-2
 * family. It distrusts MD5, SHA-1 and RIPEMD-160 and any algorithm it does
 * not know, and so does mirrord.
 */
bool gpgpolicy_digest_trusted(int md);

/*
 * Digests mirrord signs with: SHA-256, SHA-384 or SHA-512 (what gpg's
 * SHA512 preference may end in); anything else from gpg is refused.
 */
bool gpgpolicy_digest_signs(int md);

#endif
