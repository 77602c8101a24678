/*
 * t_gpg.c: OpenPGP verification against throwaway keys made with the gpg
 * command line in private homes under a mkdtemp() directory: clearsigned
 * and detached signatures, keyrings, expiry and revocation, apt's policy
 * and Signed-By's forms. Signing is t_gpgsign.c's.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <ftw.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/gpg.h"
#include "tests/unit/gpgtest.h"
#include "tests/unit/tap.h"

static void
expect_bad(struct gpg_verifier *v, const char *data, size_t len,
    const char *msgpart, const char *what)
{
	char *text, fpr[GPG_FPR_LEN + 1];
	struct merr err;
	size_t textlen;
	int rc;

	rc = clear(v, data, len, &text, &textlen, fpr, &err);
	is_int(rc, MERR_VERIFY, "%s: rejected", what);
	ok(strstr(err.msg, msgpart) != NULL, "%s: message '%s' says '%s'",
	    what, err.msg, msgpart);
	ok(text == NULL, "%s: no text returned", what);
	free(text);
}

static void
expect_good(struct gpg_verifier *v, const char *data, size_t len,
    const char *want_fpr, const char *what)
{
	char *text, fpr[GPG_FPR_LEN + 1];
	struct merr err;
	size_t textlen;
	int rc;

	rc = clear(v, data, len, &text, &textlen, fpr, &err);
	is_int(rc, 0, "%s: verifies (%s)", what, rc ? err.msg : "ok");
	ok(text != NULL && textlen == sizeof(release) - 1 &&
	    memcmp(text, release, textlen) == 0 && text[textlen] == '\0',
	    "%s: returns the exact signed text", what);
	is_str(fpr, want_fpr, "%s: signer fingerprint", what);
	free(text);
}

/* Concatenates a and b into a fresh buffer. */
static char *
cat(const char *a, size_t alen, const char *b, size_t blen, size_t *len)
{
	struct buf bb = BUF_INIT;

	buf_add(&bb, a, alen);
	buf_add(&bb, b, blen);
	return buf_detach(&bb, len);
}

/* data with every "\n" turned into "\r\n". */
static char *
crlf(const char *data, size_t len, size_t *outlen)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < len; i++) {
		if (data[i] == '\n')
			buf_addc(&b, '\r');
		buf_addc(&b, data[i]);
	}
	return buf_detach(&b, outlen);
}

/*
 * The clearsigned message asc with each signed line given prefix "- "
 * (dash-escaped, unless it already is) or suffix (trailing blanks): both
 * leave the signed text, and so the signature, as it was.
 */
static char *
relayout(const char *asc, const char *prefix, const char *suffix,
    size_t *outlen)
{
	const char *p = strstr(asc, "\n\n"), *sig, *nl;
	struct buf b = BUF_INIT;

	sig = strstr(asc, "\n-----BEGIN PGP SIGNATURE-----");
	if (p == NULL || sig == NULL)
		return xstrdup("");
	buf_add(&b, asc, (size_t)(p + 2 - asc));
	for (p += 2; p <= sig; p = nl + 1) {
		nl = strchr(p, '\n');
		if (*prefix != '\0' && strncmp(p, "- ", 2) != 0)
			buf_adds(&b, prefix);
		buf_add(&b, p, (size_t)(nl - p));
		buf_adds(&b, suffix);
		buf_addc(&b, '\n');
	}
	buf_adds(&b, sig + 1);
	return buf_detach(&b, outlen);
}

/* The n-th (0-based) "fpr:" of home's key list, as fingerprint() does. */
static void
nth_fingerprint(const char *home, int n, char out[GPG_FPR_LEN + 1])
{
	char *cmd = xasprintf("gpg --batch --homedir %s/%s --with-colons "
	    "--list-keys 2>/dev/null | grep '^fpr:' | sed -n '%dp' | "
	    "cut -d: -f10", root, home, n + 1);
	FILE *p = popen(cmd, "r");

	out[0] = '\0';
	if (p != NULL && fgets(out, GPG_FPR_LEN + 1, p) == NULL)
		out[0] = '\0';
	if (p != NULL)
		pclose(p);
	free(cmd);
}

/* A verifier for ks; NULL with a failed test if it cannot be made. */
static struct gpg_verifier *
spec_verifier(const struct gpg_keyspec *ks, const char *what)
{
	struct gpg_verifier *v = NULL;
	struct merr err = { 0, "" };
	int rc;

	rc = gpg_verifier_new_spec(ks, NULL, &v, &err);
	is_int(rc, 0, "%s: verifier made (%s)", what, rc ? err.msg : "ok");
	return v;
}

/* Verifies detached sig (root/name) over release with v. */
static int
detached(struct gpg_verifier *v, const char *name, struct merr *err)
{
	char fpr[GPG_FPR_LEN + 1];
	size_t len;
	char *sig = slurp(name, &len);
	int rc;

	err->msg[0] = '\0';
	if (sig == NULL)
		return -100;
	rc = gpg_verify_detached(v, release, sizeof(release) - 1, sig, len,
	    fpr, err);
	free(sig);
	return rc;
}

/*
 * apt's policy: weak digests (SHA-1, RIPEMD-160) and keys the public-key
 * algorithm policy refuses are not accepted, with a message naming the
 * algorithm; Signed-By's fingerprints narrow the keys; an inline key block
 * is a keyring. Uses keys of its own in homes w (ed25519, a signing subkey
 * under a certifying primary) and k (rsa1024).
 */
static void
test_policy(void)
{
	char fw[GPG_FPR_LEN + 1], fws[GPG_FPR_LEN + 1], fk[GPG_FPR_LEN + 1];
	char fpr_bang[GPG_FPR_LEN + 2], *p, *data, *wring, *kring;
	const char *files[1], *fprs[1];
	struct gpg_keyspec ks;
	struct gpg_verifier *v;
	struct merr err;
	size_t len;
	int rc;

	p = path_of("w");
	mkdir(p, 0700);
	free(p);
	p = path_of("k");
	mkdir(p, 0700);
	free(p);
	run(GPG " --quick-gen-key 'W <w@example.org>' ed25519 cert never",
	    root, "w");
	fingerprint("w", fw);
	run(GPG " --quick-add-key %s ed25519 sign never", root, "w", fw);
	nth_fingerprint("w", 1, fws);
	run(GPG " --quick-gen-key 'K <k@example.org>' rsa1024 sign never",
	    root, "k");
	fingerprint("k", fk);
	ok(strlen(fw) == GPG_FPR_LEN && strlen(fws) == GPG_FPR_LEN &&
	    strlen(fk) == GPG_FPR_LEN && strcmp(fw, fws) != 0,
	    "policy keys made (%s, subkey %s, rsa1024 %s)", fw, fws, fk);
	run(GPG " -o %s/w.gpg --export %s", root, "w", root, fw);
	run(GPG " -a -o %s/w.asc --export %s", root, "w", root, fw);
	run(GPG " -o %s/k.gpg --export %s", root, "k", root, fk);
	run(GPG " --digest-algo SHA1 --clearsign -o %s/w1.inr %s/release",
	    root, "w", root, root);
	run(GPG " --digest-algo SHA256 --clearsign -o %s/w256.inr "
	    "%s/release", root, "w", root, root);
	run(GPG " --digest-algo SHA1 --detach-sign -o %s/w1.sig %s/release",
	    root, "w", root, root);
	run(GPG " --digest-algo RIPEMD160 --detach-sign -o %s/wr.sig "
	    "%s/release", root, "w", root, root);
	run(GPG " --digest-algo SHA512 --detach-sign -o %s/w512.sig "
	    "%s/release", root, "w", root, root);
	run("cat %s/w1.sig %s/w512.sig > %s/w1w512.sig", root, root, root);
	run(GPG " --digest-algo SHA256 --detach-sign -o %s/k.sig %s/release",
	    root, "k", root, root);
	wring = path_of("w.gpg");
	kring = path_of("k.gpg");

	/* Digests, with every key of the keyring. */
	memset(&ks, 0, sizeof(ks));
	files[0] = wring;
	ks.files = files;
	ks.nfiles = 1;
	v = spec_verifier(&ks, "keyring W");
	data = slurp("w1.inr", &len);
	if (v != NULL && data != NULL)
		expect_bad(v, data, len, "weak digest algorithm SHA1",
		    "SHA-1 clearsigned InRelease");
	free(data);
	data = slurp("w256.inr", &len);
	if (v != NULL && data != NULL)
		expect_good(v, data, len, fw,
		    "SHA-256 clearsigned InRelease, same key");
	free(data);
	if (v != NULL) {
		rc = detached(v, "w1.sig", &err);
		is_int(rc, MERR_VERIFY, "SHA-1 Release.gpg: rejected");
		ok(strstr(err.msg, "weak digest algorithm SHA1") != NULL,
		    "SHA-1 Release.gpg: says so: %s", err.msg);
		rc = detached(v, "wr.sig", &err);
		is_int(rc, MERR_VERIFY, "RIPEMD-160 Release.gpg: rejected");
		ok(strstr(err.msg, "weak digest algorithm RIPEMD160") != NULL,
		    "RIPEMD-160 Release.gpg: says so: %s", err.msg);
		is_int(detached(v, "w512.sig", &err), 0,
		    "SHA-512 Release.gpg: accepted (%s)", err.msg);
		is_int(detached(v, "w1w512.sig", &err), 0,
		    "SHA-1 and SHA-512 signatures: the strong one carries it, "
		    "as in apt (%s)", err.msg);
	}
	gpg_verifier_free(v);

	/* Fingerprints: a primary allows its subkey; '!' only itself. */
	fprs[0] = fw;
	ks.fprs = fprs;
	ks.nfprs = 1;
	v = spec_verifier(&ks, "W's primary fingerprint");
	if (v != NULL)
		is_int(detached(v, "w512.sig", &err), 0,
		    "a primary's fingerprint allows its signing subkey (%s)",
		    err.msg);
	gpg_verifier_free(v);
	snprintf(fpr_bang, sizeof(fpr_bang), "%s!", fw);
	fprs[0] = fpr_bang;
	v = spec_verifier(&ks, "W's primary fingerprint with '!'");
	if (v != NULL) {
		is_int(detached(v, "w512.sig", &err), MERR_VERIFY,
		    "primary!: its subkey's signature is refused");
		ok(strstr(err.msg, "is not from keyring") != NULL ||
		    strstr(err.msg, "no public key") != NULL,
		    "primary!: says why: %s", err.msg);
	}
	gpg_verifier_free(v);
	snprintf(fpr_bang, sizeof(fpr_bang), "%s!", fws);
	v = spec_verifier(&ks, "W's subkey fingerprint with '!'");
	if (v != NULL)
		is_int(detached(v, "w512.sig", &err), 0,
		    "subkey!: that subkey's signature is accepted (%s)",
		    err.msg);
	gpg_verifier_free(v);
	fprs[0] = fk;
	v = NULL;
	rc = gpg_verifier_new_spec(&ks, NULL, &v, &err);
	is_int(rc, MERR_CONF, "a fingerprint no key of the keyring has: "
	    "refused");
	ok(strstr(err.msg, fk) != NULL && strstr(err.msg, "names no key")
	    != NULL, "says which fingerprint: %s", err.msg);
	gpg_verifier_free(v);

	/* An inline key block is a keyring of its own. */
	memset(&ks, 0, sizeof(ks));
	data = slurp("w.asc", &len);
	ks.keyblock = data;
	v = data != NULL ? spec_verifier(&ks, "inline key block") : NULL;
	if (v != NULL)
		is_int(detached(v, "w512.sig", &err), 0,
		    "inline key block: its key's signature accepted (%s)",
		    err.msg);
	gpg_verifier_free(v);
	free(data);
	ks.keyblock = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n"
	    "-----END PGP PUBLIC KEY BLOCK-----\n";
	v = NULL;
	rc = gpg_verifier_new_spec(&ks, NULL, &v, &err);
	ok(rc == MERR_CONF && strstr(err.msg, "the key block in Signed-By") !=
	    NULL, "a garbled key block is refused: %s", err.msg);
	gpg_verifier_free(v);

	/* The public-key algorithm policy: apt's refuses rsa1024. */
	memset(&ks, 0, sizeof(ks));
	files[0] = kring;
	ks.files = files;
	ks.nfiles = 1;
	v = spec_verifier(&ks, "keyring K (rsa1024)");
	if (v != NULL) {
		is_int(detached(v, "k.sig", &err), MERR_VERIFY,
		    "rsa1024 key, SHA-256: refused by apt's policy");
		ok(strstr(err.msg, "algorithm rsa1024 is not allowed") !=
		    NULL && strstr(err.msg, ">=rsa2048") != NULL,
		    "names the algorithm and the policy: %s", err.msg);
	}
	gpg_verifier_free(v);
	ks.pubkey_algo = ">=rsa1024,ed25519";
	v = spec_verifier(&ks, "keyring K, Assert-Pubkey-Algo >=rsa1024");
	if (v != NULL)
		is_int(detached(v, "k.sig", &err), 0,
		    "rsa1024 allowed when the policy says so (%s)", err.msg);
	gpg_verifier_free(v);
	ks.pubkey_algo = ">=rsa4096, ed25519";
	v = spec_verifier(&ks, "keyring K, Assert-Pubkey-Algo >=rsa4096");
	if (v != NULL)
		is_int(detached(v, "k.sig", &err), MERR_VERIFY,
		    "'>=rsa4096' refuses rsa1024");
	gpg_verifier_free(v);
	files[0] = wring;
	ks.pubkey_algo = "rsa4096";
	v = spec_verifier(&ks, "keyring W, Assert-Pubkey-Algo rsa4096");
	if (v != NULL) {
		is_int(detached(v, "w512.sig", &err), MERR_VERIFY,
		    "a policy without ed25519 refuses ed25519");
		ok(strstr(err.msg, "algorithm ed25519") != NULL,
		    "says ed25519: %s", err.msg);
	}
	gpg_verifier_free(v);
	/* The policy's syntax and matching alone: t_gpgpolicy.c. */

	run("gpgconf --homedir %s/w --kill all", root);
	run("gpgconf --homedir %s/k --kill all", root);
	free(wring);
	free(kring);
}

/*
 * The test keys and what they signed, made once by keys_make() with the
 * gpg command line: key A (made ten days in the past if gpg can fake the
 * time), key B, key C that signs with a subkey.
 */
static struct {
	char fa[GPG_FPR_LEN + 1], fb[GPG_FPR_LEN + 1], fc[GPG_FPR_LEN + 1];
	char *a_asc, *a2_asc, *b_asc, *c_asc, *a_sig, *a_bsig, *b_sig;
	size_t a_len, a2_len, b_len, c_len, asig_len, absig_len, bsig_len;
	bool faked;		/* key A was made in the past */
	char *tmpdir;		/* $TMPDIR: where verifier homes go */
} k;

/* Makes the keys, keyrings and signatures of k; false if gpg failed. */
static bool
keys_make(void)
{
	long now = (long)time(NULL), past = now - 10 * 86400;

	/*
	 * Key A is made ten days in the past (gpg's --faked-system-time) so
	 * that it can make an already expired signature below.
	 */
	k.faked = run(GPG " --faked-system-time %ld --quick-gen-key "
	    "'Test A <a@example.org>' ed25519 sign never", root, "a",
	    past) == 0;
	if (!k.faked)
		run(GPG " --quick-gen-key 'Test A <a@example.org>' ed25519 "
		    "sign never", root, "a");
	run(GPG " --quick-gen-key 'Test B <b@example.org>' ed25519 sign never",
	    root, "b");
	/* Key C certifies only; it signs with a subkey. */
	run(GPG " --quick-gen-key 'Test C <c@example.org>' ed25519 cert never",
	    root, "c");
	fingerprint("a", k.fa);
	fingerprint("b", k.fb);
	fingerprint("c", k.fc);
	run(GPG " --quick-add-key %s ed25519 sign never", root, "c", k.fc);
	ok(strlen(k.fa) == GPG_FPR_LEN && strlen(k.fb) == GPG_FPR_LEN &&
	    strlen(k.fc) == GPG_FPR_LEN, "test keys generated (%s %s %s)", k.fa,
	    k.fb, k.fc);

	run(GPG " -o %s/a.gpg --export %s", root, "a", root, k.fa);
	run(GPG " -a -o %s/a.asc.key --export %s", root, "a", root, k.fa);
	run(GPG " -o %s/b.gpg --export %s", root, "b", root, k.fb);
	run(GPG " -o %s/c.gpg --export %s", root, "c", root, k.fc);
	run("cat %s/a.gpg %s/b.gpg > %s/ab.gpg", root, root, root);
	run(GPG " --clearsign -o %s/a.inr %s/release", root, "a", root, root);
	run(GPG " --clearsign -o %s/a2.inr %s/release", root, "a", root, root);
	run(GPG " --clearsign -o %s/b.inr %s/release", root, "b", root, root);
	run(GPG " --clearsign -o %s/c.inr %s/release", root, "c", root, root);
	run(GPG " -a --detach-sign -o %s/a.sig %s/release", root, "a", root,
	    root);
	run(GPG " --detach-sign -o %s/a.bsig %s/release", root, "a", root,
	    root);
	run(GPG " -a --detach-sign -o %s/b.sig %s/release", root, "b", root,
	    root);
	spit("empty.gpg", "", 0);
	spit("junk.gpg", "not a key\n", 10);

	k.a_asc = slurp("a.inr", &k.a_len);
	k.a2_asc = slurp("a2.inr", &k.a2_len);
	k.b_asc = slurp("b.inr", &k.b_len);
	k.c_asc = slurp("c.inr", &k.c_len);
	k.a_sig = slurp("a.sig", &k.asig_len);
	k.a_bsig = slurp("a.bsig", &k.absig_len);
	k.b_sig = slurp("b.sig", &k.bsig_len);
	if (!k.a_asc || !k.a2_asc || !k.b_asc || !k.c_asc || !k.a_sig || !k.a_bsig || !k.b_sig) {
		ok(0, "gpg made the test signatures");
		return false;
	}
	return true;

}

/* Clearsigned messages, good and bad, on keyring A. */
static void
test_clearsigned(struct gpg_verifier *v)
{
	size_t len;
	char *buf, *p;

	expect_good(v, k.a_asc, k.a_len, k.fa, "A-signed InRelease");
	expect_good(v, k.a_asc, k.a_len, k.fa, "A-signed InRelease again");
	expect_bad(v, k.b_asc, k.b_len, "no public key", "B-signed, keyring A");
	expect_bad(v, k.c_asc, k.c_len, "no public key", "C-signed, keyring A");

	/* One byte of the signed body changed. */
	buf = xstrndup(k.a_asc, k.a_len);
	p = strstr(buf, "Suite: stable");
	ok(p != NULL, "body found in signed file");
	if (p != NULL)
		p[7] = 'S';
	expect_bad(v, buf, k.a_len, "bad signature", "tampered text");
	free(buf);

	/* Unsigned data around the message. */
	buf = cat(k.a_asc, k.a_len, "Origin: Evil\n", 13, &len);
	expect_bad(v, buf, len, "not a single clearsigned message",
	    "text after END PGP SIGNATURE");
	free(buf);
	buf = cat("Origin: Evil\n", 13, k.a_asc, k.a_len, &len);
	expect_bad(v, buf, len, "not a single clearsigned message",
	    "text before BEGIN PGP SIGNED MESSAGE");
	free(buf);
	buf = cat(k.a_asc, k.a_len, k.a_asc, k.a_len, &len);
	expect_bad(v, buf, len, "second BEGIN PGP SIGNED MESSAGE",
	    "two concatenated clearsigned messages");
	free(buf);
	buf = cat(k.a_asc, k.a_len, k.b_asc, k.b_len, &len);
	expect_bad(v, buf, len, "second BEGIN PGP SIGNED MESSAGE",
	    "A then B concatenated");
	free(buf);
	/* Blank lines before or after: apt refuses both (NOSPLIT). */
	buf = cat("\n  \n", 4, k.a_asc, k.a_len, &len);
	expect_bad(v, buf, len, "not a single clearsigned message",
	    "blank lines before BEGIN PGP SIGNED MESSAGE");
	free(buf);
	buf = cat(k.a_asc, k.a_len, "\n", 1, &len);
	expect_bad(v, buf, len, "data after END PGP SIGNATURE",
	    "a blank line after END PGP SIGNATURE");
	free(buf);
	/* The forms apt accepts verify, with the same text. */
	buf = crlf(k.a_asc, k.a_len, &len);
	expect_good(v, buf, len, k.fa, "CRLF line ends");
	free(buf);
	buf = relayout(k.a_asc, "- ", "", &len);
	expect_good(v, buf, len, k.fa, "every signed line dash-escaped");
	free(buf);
	buf = relayout(k.a_asc, "", " \t ", &len);
	expect_good(v, buf, len, k.fa, "trailing blanks on signed lines");
	free(buf);
	p = strstr(k.a2_asc, "-----BEGIN PGP SIGNATURE-----");
	buf = cat(k.a_asc, k.a_len, p, strlen(p), &len);
	expect_good(v, buf, len, k.fa, "two signature blocks");
	free(buf);
	p = strstr(k.b_asc, "-----BEGIN PGP SIGNATURE-----");
	buf = cat(k.a_asc, k.a_len, p, strlen(p), &len);
	expect_good(v, buf, len, k.fa, "A's, then B's (unknown) signature block");
	free(buf);
	/* Truncated, unsigned, or an injected header. */
	expect_bad(v, k.a_asc, k.a_len - 30, "no END PGP SIGNATURE",
	    "truncated signature");
	expect_bad(v, release, sizeof(release) - 1,
	    "no BEGIN PGP SIGNED MESSAGE", "unsigned Release");
	expect_bad(v, "", 0, "not a single clearsigned message", "empty input");
	buf = xstrndup(k.a_asc, k.a_len);
	p = strstr(buf, "Hash:");
	if (p != NULL)
		memcpy(p, "Hush:", 5);
	/* apt uses no armor header: gpg never sees them either. */
	expect_good(v, buf, k.a_len, k.fa, "unknown armor header");
	if (p != NULL)
		memcpy(p, "-ash:", 5);
	expect_bad(v, buf, k.a_len, "armor header starts with a dash",
	    "armor header starting with a dash");
	free(buf);
	/* A NUL byte hidden in the text. */
	buf = xstrndup(k.a_asc, k.a_len);
	p = strstr(buf, "Label");
	if (p != NULL)
		*p = '\0';
	expect_bad(v, buf, k.a_len, "NUL", "NUL byte");
	free(buf);

}

/* Detached signatures on keyring A. */
static void
test_detached(struct gpg_verifier *v)
{
	char fpr[GPG_FPR_LEN + 1], *buf;
	struct merr err;
	int rc;

	/* Detached signatures. */
	fpr[0] = '\0';
	rc = gpg_verify_detached(v, release, sizeof(release) - 1, k.a_sig,
	    k.asig_len, fpr, &err);
	is_int(rc, 0, "detached armored A signature (%s)", rc ? err.msg : "ok");
	is_str(fpr, k.fa, "detached: signer fingerprint");
	rc = gpg_verify_detached(v, release, sizeof(release) - 1, k.a_bsig,
	    k.absig_len, fpr, &err);
	is_int(rc, 0, "detached binary A signature (%s)", rc ? err.msg : "ok");
	buf = xstrndup(release, sizeof(release) - 1);
	buf[0] = 'o';
	rc = gpg_verify_detached(v, buf, sizeof(release) - 1, k.a_sig, k.asig_len,
	    fpr, &err);
	is_int(rc, MERR_VERIFY, "detached over tampered data rejected");
	ok(strstr(err.msg, "bad signature") != NULL, "message: %s", err.msg);
	free(buf);
	rc = gpg_verify_detached(v, release, sizeof(release) - 1, k.b_sig,
	    k.bsig_len, fpr, &err);
	is_int(rc, MERR_VERIFY, "detached B signature, keyring A rejected");
	ok(strstr(err.msg, "no public key") != NULL &&
	    strstr(err.msg, "a.gpg") != NULL, "message: %s", err.msg);
	rc = gpg_verify_detached(v, "evil\n", 5, k.a_asc, k.a_len, fpr, &err);
	is_int(rc, MERR_VERIFY, "clearsigned file as detached sig rejected "
	    "(%s)", err.msg);
	rc = gpg_verify_detached(v, release, sizeof(release) - 1, "junk", 4,
	    fpr, &err);
	is_int(rc, MERR_VERIFY, "garbage detached sig rejected (%s)", err.msg);

}

/* Keyring A (binary): one private home, removed on free. */
static void
test_keyring_a(void)
{
	struct gpg_verifier *v = NULL;
	struct merr err;
	char *p;
	int rc;

	/* Keyring A (binary). */
	p = path_of("a.gpg");
	rc = gpg_verifier_new(p, NULL, &v, &err);
	free(p);
	is_int(rc, 0, "verifier for binary keyring (%s)", rc ? err.msg : "ok");
	if (rc)
		return;
	is_int(count_entries(k.tmpdir), 1, "verifier made one private home");

	test_clearsigned(v);
	test_detached(v);
	is_int(procs_matching(k.tmpdir), 0, "no process runs in verifier home");
	gpg_verifier_free(v);
	v = NULL;
	is_int(count_entries(k.tmpdir), 0, "temporary home removed on free");

}

/* Armored keyrings, two keys, a signing subkey, bad keyrings. */
static void
test_keyrings(void)
{
	struct gpg_verifier *v = NULL;
	struct merr err;
	char *p;
	int rc;

	/* Armored keyring; a keyring with two keys. */
	p = path_of("a.asc.key");
	rc = gpg_verifier_new(p, NULL, &v, &err);
	free(p);
	is_int(rc, 0, "verifier for armored keyring (%s)", rc ? err.msg : "ok");
	if (rc == 0)
		expect_good(v, k.a_asc, k.a_len, k.fa, "armored keyring");
	gpg_verifier_free(v);
	v = NULL;
	p = path_of("ab.gpg");
	rc = gpg_verifier_new(p, NULL, &v, &err);
	free(p);
	is_int(rc, 0, "verifier for keyring A+B (%s)", rc ? err.msg : "ok");
	if (rc == 0) {
		expect_good(v, k.a_asc, k.a_len, k.fa, "keyring A+B, A-signed");
		expect_good(v, k.b_asc, k.b_len, k.fb, "keyring A+B, B-signed");
	}
	gpg_verifier_free(v);
	v = NULL;

	/* Signing subkey: the primary's fingerprint is reported. */
	p = path_of("c.gpg");
	rc = gpg_verifier_new(p, NULL, &v, &err);
	free(p);
	is_int(rc, 0, "verifier for keyring C (%s)", rc ? err.msg : "ok");
	if (rc == 0) {
		expect_good(v, k.c_asc, k.c_len, k.fc, "subkey-signed, keyring C");
		expect_bad(v, k.a_asc, k.a_len, "no public key",
		    "A-signed, keyring C");
	}
	gpg_verifier_free(v);
	v = NULL;

	/* Bad keyrings. */
	p = path_of("empty.gpg");
	rc = gpg_verifier_new(p, NULL, &v, &err);
	is_int(rc, MERR_CONF, "empty keyring rejected");
	ok(v == NULL && strstr(err.msg, "holds no OpenPGP keys") != NULL &&
	    strstr(err.msg, p) != NULL, "message: %s", err.msg);
	free(p);
	p = path_of("junk.gpg");
	rc = gpg_verifier_new(p, NULL, &v, &err);
	is_int(rc, MERR_CONF, "non-key keyring rejected (%s)", err.msg);
	free(p);
	p = path_of("missing.gpg");
	rc = gpg_verifier_new(p, NULL, &v, &err);
	is_int(rc, MERR_CONF, "missing keyring rejected");
	ok(strstr(err.msg, p) != NULL, "message names it: %s", err.msg);
	free(p);
	is_int(count_entries(k.tmpdir), 0, "failed verifiers left no home");

}

/* An expired signature, an expired key, a revoked key. */
static void
test_expiry(void)
{
	long now = (long)time(NULL), past = now - 10 * 86400;
	struct gpg_verifier *v = NULL, *v2 = NULL;
	struct merr err;
	size_t len;
	char *buf, *p;
	int rc;

	/* Expired signature: made ten days ago, valid for one day. */
	if (k.faked) {
		run(GPG " --faked-system-time %ld --default-sig-expire 1d "
		    "--clearsign -o %s/ax.inr %s/release", root, "a",
		    past + 3600, root, root);
		buf = slurp("ax.inr", &len);
		p = path_of("a.gpg");
		rc = gpg_verifier_new(p, NULL, &v, &err);
		free(p);
		if (buf != NULL && rc == 0)
			expect_bad(v, buf, len, "signature expired",
			    "expired signature");
		else
			ok(0, "expired signature made");
		gpg_verifier_free(v);
		v = NULL;
		free(buf);
	} else {
		printf("ok %d # skip gpg has no --faked-system-time\n",
		    ++tap_n);
	}

	/* Expired key: made ten days ago, valid for one day. */
	rc = run(GPG " --faked-system-time %ld --quick-gen-key "
	    "'Old <o@example.org>' ed25519 sign 1d", root, "o", past);
	if (rc == 0) {
		char fo[GPG_FPR_LEN + 1];

		fingerprint("o", fo);
		run(GPG " -o %s/o.gpg --export %s", root, "o", root, fo);
		run(GPG " --faked-system-time %ld --clearsign -o %s/o.inr "
		    "%s/release", root, "o", past + 3600, root, root);
		buf = slurp("o.inr", &len);
		p = path_of("o.gpg");
		rc = gpg_verifier_new(p, NULL, &v2, &err);
		free(p);
		if (buf != NULL && rc == 0)
			expect_bad(v2, buf, len, "key expired", "expired key");
		else
			ok(0, "expired key made (%s)", rc ? err.msg : "");
		gpg_verifier_free(v2);
		v2 = NULL;
		free(buf);
	} else {
		printf("ok %d # skip cannot make a key in the past\n", ++tap_n);
	}

	/* Revoked key: sign, then import its revocation and export. */
	run(GPG " --quick-gen-key 'Rev <r@example.org>' ed25519 sign never",
	    root, "r");
	{
		char fr[GPG_FPR_LEN + 1];

		fingerprint("r", fr);
		run(GPG " --clearsign -o %s/r.inr %s/release", root, "r", root,
		    root);
		run("sed 's/^:-----/-----/' %s/r/openpgp-revocs.d/%s.rev "
		    "> %s/r.rev", root, fr, root);
		run(GPG " --import %s/r.rev", root, "r", root);
		run(GPG " -o %s/r.gpg --export %s", root, "r", root, fr);
		buf = slurp("r.inr", &len);
		p = path_of("r.gpg");
		rc = gpg_verifier_new(p, NULL, &v2, &err);
		free(p);
		if (buf != NULL && rc == 0)
			expect_bad(v2, buf, len, "key revoked", "revoked key");
		else
			ok(0, "revoked key made (%s)", rc ? err.msg : "");
		gpg_verifier_free(v2);
		v2 = NULL;
		free(buf);
	}
	is_int(count_entries(k.tmpdir), 0, "every verifier home removed");

}

int
main(void)
{
	const char *homes[] = { "a", "b", "c", "o", "r" };
	size_t i;
	char *p;

	/* Nothing buffered may be duplicated into the children we fork. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(root, sizeof(root), "/tmp/t_gpg.XXXXXX");
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	/* Verifier homes go under root/tmp so we can watch them. */
	k.tmpdir = path_of("tmp");
	mkdir(k.tmpdir, 0700);
	setenv("TMPDIR", k.tmpdir, 1);
	for (i = 0; i < ARRAY_SIZE(homes); i++) {
		p = path_of(homes[i]);
		mkdir(p, 0700);
		free(p);
	}
	spit("release", release, sizeof(release) - 1);
	if (keys_make()) {
		test_keyring_a();
		test_keyrings();
		test_expiry();
		test_policy();
	}
	free(k.a_asc);
	free(k.a2_asc);
	free(k.b_asc);
	free(k.c_asc);
	free(k.a_sig);
	free(k.a_bsig);
	free(k.b_sig);
	/* Stop the agents the gpg command line started for the test keys. */
	for (i = 0; i < ARRAY_SIZE(homes); i++)
		run("gpgconf --homedir %s/%s --kill all", root, homes[i]);
	is_int(procs_matching(root), 0, "no gpg-agent left for the test homes");
	free(k.tmpdir);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	ok(access(root, F_OK) != 0, "test directory removed");
	return tap_done();
}
