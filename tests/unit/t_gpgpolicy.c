/*
 * t_gpgpolicy.c: apt's signature policy without gpg: the syntax of
 * Assert-Pubkey-Algo, which key algorithms a policy allows, and which
 * digests are trusted and used for signing. t_gpg.c checks the same rules
 * on real signatures.
 */
#include "mirrord/common.h"

#include "mirrord/gpgpolicy.h"
#include "tests/unit/tap.h"

static void
test_check(void)
{
	ok(gpgpolicy_check(GPGPOLICY_ALGO_DEFAULT) == NULL,
	    "the default policy is well-formed");
	ok(gpgpolicy_check(NULL) == NULL, "no policy: the default, fine");
	ok(gpgpolicy_check("ed25519") == NULL &&
	    gpgpolicy_check(" >=rsa4096 , ed25519 ") == NULL,
	    "blanks around items are fine");
	ok(gpgpolicy_check(">=rsa") != NULL &&
	    gpgpolicy_check(">=rsa0") != NULL &&
	    gpgpolicy_check("ed25519,") != NULL &&
	    gpgpolicy_check(",ed25519") != NULL &&
	    gpgpolicy_check("rsa 2048") != NULL &&
	    gpgpolicy_check("rsa-2048") != NULL &&
	    gpgpolicy_check("") != NULL,
	    "malformed policies are refused");
	is_str(gpgpolicy_check("a,,b"), "an empty item", "says why");
}

static void
test_allows(void)
{
	const char *d = GPGPOLICY_ALGO_DEFAULT;

	ok(gpgpolicy_allows(d, "ed25519") && gpgpolicy_allows(d, "rsa2048") &&
	    gpgpolicy_allows(d, "rsa4096") && gpgpolicy_allows(d, "nistp521"),
	    "apt's policy allows ed25519, rsa2048 and up, nistp521");
	ok(!gpgpolicy_allows(d, "rsa1024") && !gpgpolicy_allows(d, "dsa2048")
	    && !gpgpolicy_allows(d, "nistp512"),
	    "apt's policy refuses rsa1024, dsa and the misspelt nistp512");
	ok(gpgpolicy_allows(">=RSA3072", "rsa4096") &&
	    gpgpolicy_allows("ED25519", "ed25519"), "names in any case");
	ok(!gpgpolicy_allows(">=rsa4096", "rsa3072") &&
	    !gpgpolicy_allows(">=rsa2048", "rsa") &&
	    !gpgpolicy_allows("rsa4096", "rsa40960"),
	    "minimums compare bits within one family; names match whole");
	ok(gpgpolicy_allows(" rsa1024 ,ed25519 ", "rsa1024"),
	    "items are trimmed");
}

static void
test_digests(void)
{
	ok(gpgpolicy_digest_trusted(GPGPOLICY_MD_SHA224) &&
	    gpgpolicy_digest_trusted(GPGPOLICY_MD_SHA256) &&
	    gpgpolicy_digest_trusted(GPGPOLICY_MD_SHA384) &&
	    gpgpolicy_digest_trusted(GPGPOLICY_MD_SHA512),
	    "SHA-2 is trusted");
	ok(!gpgpolicy_digest_trusted(GPGPOLICY_MD_MD5) &&
	    !gpgpolicy_digest_trusted(GPGPOLICY_MD_SHA1) &&
	    !gpgpolicy_digest_trusted(GPGPOLICY_MD_RMD160) &&
	    !gpgpolicy_digest_trusted(0) && !gpgpolicy_digest_trusted(99),
	    "MD5, SHA-1, RIPEMD-160 and unknown digests are not");
	ok(!gpgpolicy_digest_signs(GPGPOLICY_MD_SHA224) &&
	    gpgpolicy_digest_signs(GPGPOLICY_MD_SHA512) &&
	    !gpgpolicy_digest_signs(GPGPOLICY_MD_SHA1),
	    "mirrord signs with SHA-256, -384 or -512 only");
}

int
main(void)
{
	test_check();
	test_allows();
	test_digests();
	return tap_done();
}
