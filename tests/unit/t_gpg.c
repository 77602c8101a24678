/*
 * t_gpg.c: OpenPGP verification against throwaway keys made with the gpg
 * command line in private homes under a mkdtemp() directory, and signing
 * with a key made by gpg_signer_new(), checked with the verifier and with
 * apt's gpgv.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <ftw.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/clearsign.h"
#include "mirrord/gpg.h"
#include "tests/unit/tap.h"

static const char release[] =
    "Origin: Test\n"
    "Label: Test\n"
    "Suite: stable\n"
    "Codename: test\n"
    "Date: Sat, 01 Jun 2024 12:00:00 UTC\n"
    "Architectures: amd64\n"
    "Components: main\n"
    "SHA256:\n"
    " 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 1234 "
    "main/binary-amd64/Packages\n"
    "- a line that gpg must dash-escape\n"
    "-----x\n";

static char root[64];

/* Runs a shell command built from test-controlled paths; 0 on success. */
static int ATTR_PRINTF(1, 2)
run(const char *fmt, ...)
{
	char *cmd, *full;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	full = xasprintf("{ %s; } >/dev/null 2>&1", cmd);
	rc = system(full);
	free(full);
	free(cmd);
	return rc;
}

/* gpg with a private home, no prompts; extra options follow. */
#define GPG "gpg --batch --no-tty --homedir %s/%s --pinentry-mode loopback " \
	"--passphrase ''"

/* Primary key fingerprint of the first key in home. */
static void
fingerprint(const char *home, char out[GPG_FPR_LEN + 1])
{
	char *cmd = xasprintf("gpg --batch --homedir %s/%s --with-colons "
	    "--list-keys 2>/dev/null", root, home);
	char line[512];
	FILE *p = popen(cmd, "r");

	out[0] = '\0';
	while (p != NULL && fgets(line, sizeof(line), p) != NULL) {
		if (out[0] == '\0' && strncmp(line, "fpr:", 4) == 0) {
			char *f = line + 4;
			int i;

			for (i = 0; i < 8 && f != NULL; i++)
				f = strchr(f, ':') ? strchr(f, ':') + 1 : NULL;
			if (f != NULL && strlen(f) > GPG_FPR_LEN) {
				memcpy(out, f, GPG_FPR_LEN);
				out[GPG_FPR_LEN] = '\0';
			}
		}
	}
	if (p != NULL)
		pclose(p);
	free(cmd);
}

static char *
path_of(const char *name)
{
	return xasprintf("%s/%s", root, name);
}

/* Reads root/name; returns owned contents, or NULL. */
static char *
slurp(const char *name, size_t *len)
{
	struct merr err;
	char *p = path_of(name), *data = NULL;

	if (read_file(p, 1 << 20, &data, len, &err) != 0) {
		printf("# %s\n", err.msg);
		data = NULL;
	}
	free(p);
	return data;
}

static void
spit(const char *name, const char *data, size_t len)
{
	struct merr err;
	char *p = path_of(name);

	if (write_file_atomic(p, data, len, 0600, &err) != 0)
		printf("# %s\n", err.msg);
	free(p);
}

/* Number of processes other than us whose command line contains s. */
static int
procs_matching_now(const char *s, bool show)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d != NULL && (de = readdir(d)) != NULL) {
		char path[300], cmd[4096];
		size_t len, i;
		FILE *f;

		if (!isdigit((unsigned char)de->d_name[0]) ||
		    atol(de->d_name) == (long)getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		len = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		for (i = 0; i < len; i++) {
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		}
		cmd[len] = '\0';
		if (strstr(cmd, s) != NULL) {
			if (show)
				printf("# process %s: %s\n", de->d_name, cmd);
			n++;
		}
	}
	if (d != NULL)
		closedir(d);
	return n;
}

/*
 * Same, but gives processes that are just exiting a second to go (gpgme
 * can return before the gpg it ran is gone).
 */
static int
procs_matching(const char *s)
{
	int i;

	for (i = 0; i < 20 && procs_matching_now(s, false) > 0; i++)
		usleep(50000);
	return procs_matching_now(s, true);
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	if (d != NULL)
		closedir(d);
	return d != NULL ? n : -1;
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(p);
	return 0;
}

/* Verifies a clearsigned buffer; returns the code, fills msg/text/fpr. */
static int
clear(struct gpg_verifier *v, const char *data, size_t len, char **text,
    size_t *textlen, char fpr[GPG_FPR_LEN + 1], struct merr *err)
{
	*text = NULL;
	*textlen = 0;
	fpr[0] = '\0';
	err->code = 0;
	err->msg[0] = '\0';
	return gpg_verify_clearsigned(v, data, len, text, textlen, fpr, err);
}

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

/*
 * The signing half: a key made by gpg_signer_new, signatures checked with
 * our verifier and with apt's gpgv.
 */
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
		test_signer();
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
