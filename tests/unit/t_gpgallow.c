/*
 * t_gpgallow.c: a verifier's allow-list without gpg: Signed-By's
 * fingerprints narrow it as apt narrows keys ("FPR": the key and its
 * subkeys, "FPR!": that key alone), and signatures find their key by
 * fingerprint or by the 16-hex key ID gpg may give instead.
 */
#include "mirrord/common.h"

#include "mirrord/gpgallow.h"
#include "tests/unit/tap.h"

#define P1 "1111111111111111111111111111111111111111"
#define S1 "1111111111111111111111111111111111111112"
#define P2 "2222222222222222222222222222222222222222"

/* A primary key P1 with subkey S1, and a primary key P2. */
static void
fill(struct gpgallow *a)
{
	static const struct gpgallow_key keys[] = {
		{ P1, P1, "ed25519" },
		{ S1, P1, "ed25519" },
		{ P2, P2, "rsa4096" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		gpgallow_add(a, &keys[i]);
}

static void
test_restrict(void)
{
	struct gpgallow a = GPGALLOW_INIT;
	struct merr err = { 0, "" };
	const char *fprs[2];

	fill(&a);
	is_int(a.n, 3, "three keys");
	is_int(gpgallow_restrict(&a, fprs, 0, "k.gpg", &err), 0,
	    "no fingerprint");
	is_int(a.n, 3, "no fingerprint: every key");

	fprs[0] = P1;
	is_int(gpgallow_restrict(&a, fprs, 1, "k.gpg", &err), 0, "P1");
	ok(a.n == 2 && gpgallow_find(&a, S1) != NULL &&
	    gpgallow_find(&a, P2) == NULL, "P1: itself and its subkey");
	gpgallow_release(&a);

	fill(&a);
	fprs[0] = P1 "!";
	is_int(gpgallow_restrict(&a, fprs, 1, "k.gpg", &err), 0, "P1!");
	ok(a.n == 1 && gpgallow_find(&a, P1) != NULL, "P1!: that key alone");
	gpgallow_release(&a);

	fill(&a);
	fprs[0] = S1 "!";
	fprs[1] = "2222222222222222222222222222222222222222";
	is_int(gpgallow_restrict(&a, fprs, 2, "k.gpg", &err), 0, "S1!, P2");
	is_int(a.n, 2, "S1! and P2: two keys");
	gpgallow_release(&a);

	fill(&a);
	fprs[0] = "abababababababababababababababababababab";
	is_int(gpgallow_restrict(&a, fprs, 1, "k.gpg", &err), MERR_CONF,
	    "a fingerprint of no key");
	is_str(err.msg, "Signed-By fingerprint "
	    "abababababababababababababababababababab names no key of k.gpg",
	    "names it and the keyring");
	gpgallow_release(&a);
	ok(a.keys == NULL && a.n == 0, "released");
}

static void
test_find(void)
{
	struct gpgallow a = GPGALLOW_INIT;
	const struct gpgallow_key *k;

	ok(gpgallow_find(&a, P1) == NULL, "an empty list finds nothing");
	fill(&a);
	k = gpgallow_find(&a, S1);
	ok(k != NULL && strcmp(k->primary, P1) == 0, "a subkey, its primary");
	k = gpgallow_find(&a, "2222222222222222");
	ok(k != NULL && strcmp(k->algo, "rsa4096") == 0, "by 16-hex key ID");
	ok(gpgallow_find(&a, "22222222") == NULL, "not by a short key ID");
	ok(gpgallow_find(&a, "") == NULL, "not by nothing");
	gpgallow_release(&a);
}

int
main(void)
{
	test_restrict();
	test_find();
	return tap_done();
}
