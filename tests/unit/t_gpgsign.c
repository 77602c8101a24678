/*
 * t_gpgsign.c: signing (gpg.h's signer): a key made by gpg_signer_new(),
 * its private home and agent, signatures checked with mirrord's verifier
 * and with apt's gpgv, key files that must be refused.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <dirent.h>
#include <ftw.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/gpg.h"
#include "tests/unit/gpgtest.h"
#include "tests/unit/tap.h"

/*
 * Signer homes live in /tmp (short socket paths), not under TMPDIR, and
 * are named "mirrord-sign.<pid>.*": the test finds a signer's home as the
 * entry of /tmp with this process's pid that was not there before (other
 * processes' homes come and go meanwhile). Returns "\nname\nname\n...".
 */
static char *
sign_homes(void)
{
	struct buf b = BUF_INIT;
	DIR *d = opendir("/tmp");
	struct dirent *de;
	char prefix[64];
	size_t len;

	snprintf(prefix, sizeof(prefix), "mirrord-sign.%ld.", (long)getpid());
	buf_addc(&b, '\n');
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			buf_addf(&b, "%s\n", de->d_name);
	}
	if (d != NULL)
		closedir(d);
	return buf_detach(&b, &len);
}

/* The full path of a signer home not listed in before, or NULL. */
static char *
new_sign_home(const char *before)
{
	char *now = sign_homes(), *p, *nl, *found = NULL;

	for (p = now + 1; *p != '\0' && found == NULL; p = nl + 1) {
		char *needle;

		nl = strchr(p, '\n');
		*nl = '\0';
		needle = xasprintf("\n%s\n", p);
		if (strstr(before, needle) == NULL)
			found = xasprintf("/tmp/%s", p);
		free(needle);
	}
	free(now);
	return found;
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
file_mode(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* gpg_signer_new on a bad key file: MERR_CONF naming it, saying why. */
static void
expect_bad_key(const char *name, bool create, const char *msgpart,
    const char *what)
{
	struct gpg_signer *s = NULL;
	char *p = path_of(name);
	struct merr err;
	int rc;

	err.msg[0] = '\0';
	rc = gpg_signer_new(p, create, &s, &err);
	is_int(rc, MERR_CONF, "%s: rejected", what);
	ok(s == NULL && strstr(err.msg, p) != NULL &&
	    strstr(err.msg, msgpart) != NULL, "%s: message '%s' says '%s'",
	    what, err.msg, msgpart);
	if (rc == 0)
		gpg_signer_free(s);
	free(p);
}

static void
test_signer(void)
{
	const char *end = "-----END PGP SIGNATURE-----\n";
	struct gpg_signer *s = NULL, *s2 = NULL;
	struct gpg_verifier *v = NULL;
	char *before, *mid, *home = NULL, *home2, *keyfile, *key, *key2, *p;
	char *pub = NULL, *apub = NULL, *clearmsg = NULL, *sig = NULL;
	char *o, *text, fpr[GPG_FPR_LEN + 1];
	size_t keylen, key2len, publen, apublen, clearlen, siglen, olen;
	size_t textlen;
	struct merr err;
	double t0, dt, limit;
	int rc, i;

	before = sign_homes();
	keyfile = path_of("keys/sub/signing.asc");
	t0 = now_sec();
	rc = gpg_signer_new(keyfile, true, &s, &err);
	dt = now_sec() - t0;
	is_int(rc, 0, "signer with a new key (%s)", rc ? err.msg : "ok");
	if (rc)
		goto out;
	printf("# key generated and loaded in %.3f s\n", dt);
	is_int(file_mode(keyfile), 0600, "key file has mode 0600");
	p = path_of("keys/sub");
	is_int(file_mode(p), 0700, "key directory created with mode 0700");
	free(p);
	key = slurp("keys/sub/signing.asc", &keylen);
	ok(key != NULL && str_startswith(key,
	    "-----BEGIN PGP PRIVATE KEY BLOCK-----\n"),
	    "key file is an armored secret key");
	ok(strlen(gpg_signer_fpr(s)) == GPG_FPR_LEN &&
	    strspn(gpg_signer_fpr(s), "0123456789ABCDEF") == GPG_FPR_LEN,
	    "signer fingerprint %s", gpg_signer_fpr(s));
	home = new_sign_home(before);
	ok(home != NULL && strlen(home) < 40, "signer home '%s' in /tmp",
	    home ? home : "?");
	if (home == NULL)
		goto out;
	is_int(file_mode(home), 0700, "signer home has mode 0700");
	ok(procs_matching_now(home, false) > 0, "its agent runs in the home");

	/* Public key, binary and armored. */
	rc = gpg_signer_export(s, false, &pub, &publen, &err);
	is_int(rc, 0, "binary public key exported (%s)", rc ? err.msg : "ok");
	ok(rc == 0 && publen > 0 && (pub[0] & 0x80) != 0,
	    "binary export is an OpenPGP packet");
	rc = gpg_signer_export(s, true, &apub, &apublen, &err);
	is_int(rc, 0, "armored public key exported (%s)", rc ? err.msg : "ok");
	ok(rc == 0 && str_startswith(apub,
	    "-----BEGIN PGP PUBLIC KEY BLOCK-----"), "armored export header");
	ok(rc == 0 && strstr(apub, "PRIVATE") == NULL,
	    "armored export holds no secret key");
	if (pub == NULL || apub == NULL)
		goto out;
	spit("signer.gpg", pub, publen);
	spit("signer.asc", apub, apublen);

	/* A Release file or three, as a promotion signs them. */
	t0 = now_sec();
	for (i = 0; i < 3; i++) {
		free(clearmsg);
		free(sig);
		clearmsg = sig = NULL;
		rc = gpg_sign_clear(s, release, sizeof(release) - 1,
		    &clearmsg, &clearlen, &err);
		if (rc)
			break;
		rc = gpg_sign_detached(s, release, sizeof(release) - 1, &sig,
		    &siglen, &err);
		if (rc)
			break;
	}
	dt = now_sec() - t0;
	is_int(rc, 0, "three clear and detached signatures (%s)",
	    rc ? err.msg : "ok");
	printf("# six signatures in %.3f s\n", dt);
	/* Valgrind slows every fork and exec gpgme makes: allow it more. */
	p = getenv("LD_PRELOAD");
	limit = p != NULL && strstr(p, "vgpreload") != NULL ? 5.0 : 1.0;
	ok(dt < limit, "signing three Release files takes under %.0f s "
	    "(%.3f s)", limit, dt);
	if (rc)
		goto out;

	/* apt's shape: one message, nothing after the signature. */
	ok(str_startswith(clearmsg, "-----BEGIN PGP SIGNED MESSAGE-----\n"
	    "Hash: SHA512\n\n"), "clearsigned with SHA512, nothing before");
	ok(clearlen == strlen(clearmsg) && str_endswith(clearmsg, end) &&
	    strstr(clearmsg, end) == clearmsg + clearlen - strlen(end),
	    "nothing after END PGP SIGNATURE but the newline");
	ok(str_startswith(sig, "-----BEGIN PGP SIGNATURE-----\n") &&
	    str_endswith(sig, end), "detached signature is armored");

	/* Our verifier, on the exported binary key. */
	p = path_of("signer.gpg");
	rc = gpg_verifier_new(p, NULL, &v, &err);
	free(p);
	is_int(rc, 0, "verifier on the exported key (%s)", rc ? err.msg : "ok");
	if (rc)
		goto out;
	rc = clear(v, clearmsg, clearlen, &text, &textlen, fpr, &err);
	is_int(rc, 0, "clearsigned output verifies (%s)", rc ? err.msg : "ok");
	ok(text != NULL && textlen == sizeof(release) - 1 &&
	    memcmp(text, release, textlen) == 0,
	    "signed text equals the input");
	is_str(fpr, gpg_signer_fpr(s), "clearsigned: signer fingerprint");
	free(text);
	fpr[0] = '\0';
	rc = gpg_verify_detached(v, release, sizeof(release) - 1, sig, siglen,
	    fpr, &err);
	is_int(rc, 0, "detached signature verifies (%s)", rc ? err.msg : "ok");
	is_str(fpr, gpg_signer_fpr(s), "detached: signer fingerprint");
	rc = gpg_verify_detached(v, "Origin: Evil\n", 13, sig, siglen, fpr,
	    &err);
	is_int(rc, MERR_VERIFY, "detached signature over other data rejected");
	gpg_verifier_free(v);
	v = NULL;

	/* apt's gpgv, on the binary key as a keyring. */
	spit("signed.inr", clearmsg, clearlen);
	spit("signed.sig", sig, siglen);
	p = path_of("gpgv");
	mkdir(p, 0700);
	free(p);
#define GPGV "gpgv --homedir %s/gpgv --keyring %s/signer.gpg"
	is_int(run(GPGV " %s/signed.inr", root, root, root), 0,
	    "gpgv accepts the clearsigned output");
	is_int(run(GPGV " %s/signed.sig %s/release", root, root, root, root), 0,
	    "gpgv accepts the detached signature");
	is_int(run(GPGV " --status-fd 1 %s/signed.sig %s/release | grep -Eq "
	    "'^\\[GNUPG:\\] VALIDSIG [0-9A-F]{40} [^ ]+ [0-9]+ 0 4 0 22 10 '",
	    root, root, root, root), 0, "gpgv: detached signature is EdDSA "
	    "over SHA512");
	ok(run(GPGV " %s/a.inr", root, root, root) != 0,
	    "gpgv rejects a message by another key (the check can fail)");
#undef GPGV

	/* The same file again: the same key, the file left alone. */
	rc = gpg_signer_new(keyfile, false, &s2, &err);
	is_int(rc, 0, "signer from the existing key file (%s)",
	    rc ? err.msg : "ok");
	if (rc == 0)
		is_str(gpg_signer_fpr(s2), gpg_signer_fpr(s),
		    "existing key file: same fingerprint");
	gpg_signer_free(s2);
	s2 = NULL;
	mid = sign_homes();
	rc = gpg_signer_new(keyfile, true, &s2, &err);
	home2 = new_sign_home(mid);
	free(mid);
	is_int(rc, 0, "create=true on an existing file loads it (%s)",
	    rc ? err.msg : "ok");
	if (rc == 0) {
		is_str(gpg_signer_fpr(s2), gpg_signer_fpr(s),
		    "create=true, existing file: same fingerprint");
		/* A loaded key signs too. */
		rc = gpg_sign_detached(s2, release, sizeof(release) - 1, &o,
		    &olen, &err);
		is_int(rc, 0, "loaded key signs (%s)", rc ? err.msg : "ok");
		if (rc == 0) {
			spit("signed2.sig", o, olen);
			is_int(run("gpgv --homedir %s/gpgv --keyring "
			    "%s/signer.gpg %s/signed2.sig %s/release", root,
			    root, root, root), 0,
			    "gpgv accepts the loaded key's signature");
			free(o);
		}
	}
	key2 = slurp("keys/sub/signing.asc", &key2len);
	ok(key != NULL && key2 != NULL && keylen == key2len &&
	    memcmp(key, key2, keylen) == 0, "key file unchanged");
	free(key);
	free(key2);
	gpg_signer_free(s2);
	s2 = NULL;
	ok(home2 != NULL && strcmp(home2, home) != 0,
	    "second signer had its own home");
	if (home2 != NULL) {
		is_int(procs_matching(home2), 0, "no process runs in the "
		    "second signer's home after free");
		ok(access(home2, F_OK) != 0, "second signer's home removed");
	}
	free(home2);

	/* Freeing stops the agent and removes the home. */
	gpg_signer_free(s);
	s = NULL;
	is_int(procs_matching(home), 0, "no process runs in the signer home "
	    "after free");
	ok(access(home, F_OK) != 0, "signer home removed on free");

	/* Bad key files. */
	p = path_of("keys/group.asc");
	rc = run("cp %s %s && chmod 640 %s", keyfile, p, p);
	free(p);
	expect_bad_key("keys/group.asc", false, "group or others",
	    "group-readable key file");
	expect_bad_key("keys/group.asc", true, "group or others",
	    "group-readable key file, create=true");
	expect_bad_key("keys/missing.asc", false, "No such file",
	    "missing key file, create=false");
	p = path_of("keys/missing.asc");
	ok(access(p, F_OK) != 0, "missing key file not created");
	free(p);
	expect_bad_key("signer.asc", false, "no usable secret",
	    "public-key-only key file");
	expect_bad_key("junk.gpg", false, "no usable secret",
	    "non-key key file");
	expect_bad_key("empty.gpg", true, "no usable secret",
	    "empty key file");
	if (getuid() != 0) {
		p = path_of("keys/unreadable.asc");
		run("cp %s %s && chmod 000 %s", keyfile, p, p);
		free(p);
		expect_bad_key("keys/unreadable.asc", false, "Permission",
		    "unreadable key file");
	} else {
		printf("ok %d # skip root reads any file\n", ++tap_n);
	}
	p = new_sign_home(before);
	ok(p == NULL, "no signer home left behind (%s)", p ? p : "none");
	free(p);

out:
	gpg_verifier_free(v);
	gpg_signer_free(s);
	free(clearmsg);
	free(sig);
	free(pub);
	free(apub);
	free(home);
	free(keyfile);
	free(before);
}

int
main(void)
{
	char *tmpdir, *p;

	/* Nothing buffered may be duplicated into the children we fork. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(root, sizeof(root), "/tmp/t_gpgsign.XXXXXX");
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	tmpdir = path_of("tmp");
	mkdir(tmpdir, 0700);
	setenv("TMPDIR", tmpdir, 1);
	p = path_of("a");
	mkdir(p, 0700);
	free(p);
	spit("release", release, sizeof(release) - 1);
	spit("empty.gpg", "", 0);
	spit("junk.gpg", "not a key\n", 10);
	/* A message by another key, which gpgv must refuse. */
	run(GPG " --quick-gen-key 'Test A <a@example.org>' ed25519 sign never",
	    root, "a");
	run(GPG " --clearsign -o %s/a.inr %s/release", root, "a", root, root);

	test_signer();

	run("gpgconf --homedir %s/a --kill all", root);
	is_int(procs_matching(root), 0, "no gpg-agent left for the test homes");
	free(tmpdir);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	ok(access(root, F_OK) != 0, "test directory removed");
	return tap_done();
}
