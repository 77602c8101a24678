/*
 * t_gpg.c: OpenPGP verification against throwaway keys made with the gpg
 * command line in private homes under a mkdtemp() directory.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <ftw.h>
#include <time.h>
#include <unistd.h>

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

int
main(void)
{
	char fa[GPG_FPR_LEN + 1], fb[GPG_FPR_LEN + 1], fc[GPG_FPR_LEN + 1];
	char fpr[GPG_FPR_LEN + 1], *tmpdir, *p, *buf;
	char *a_asc, *b_asc, *c_asc, *a_sig, *a_bsig, *b_sig;
	size_t a_len, b_len, c_len, asig_len, absig_len, bsig_len, len;
	struct gpg_verifier *v = NULL, *v2 = NULL;
	const char *homes[] = { "a", "b", "c", "o", "r" };
	long now = (long)time(NULL), past = now - 10 * 86400;
	bool faked;
	struct merr err;
	size_t i;
	int rc;

	/* Nothing buffered may be duplicated into the children we fork. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(root, sizeof(root), "/tmp/t_gpg.XXXXXX");
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	/* Verifier homes go under root/tmp so we can watch them. */
	tmpdir = path_of("tmp");
	mkdir(tmpdir, 0700);
	setenv("TMPDIR", tmpdir, 1);
	for (i = 0; i < ARRAY_SIZE(homes); i++) {
		p = path_of(homes[i]);
		mkdir(p, 0700);
		free(p);
	}
	spit("release", release, sizeof(release) - 1);

	/*
	 * Key A is made ten days in the past (gpg's --faked-system-time) so
	 * that it can make an already expired signature below.
	 */
	faked = run(GPG " --faked-system-time %ld --quick-gen-key "
	    "'Test A <a@example.org>' ed25519 sign never", root, "a",
	    past) == 0;
	if (!faked)
		run(GPG " --quick-gen-key 'Test A <a@example.org>' ed25519 "
		    "sign never", root, "a");
	run(GPG " --quick-gen-key 'Test B <b@example.org>' ed25519 sign never",
	    root, "b");
	/* Key C certifies only; it signs with a subkey. */
	run(GPG " --quick-gen-key 'Test C <c@example.org>' ed25519 cert never",
	    root, "c");
	fingerprint("a", fa);
	fingerprint("b", fb);
	fingerprint("c", fc);
	run(GPG " --quick-add-key %s ed25519 sign never", root, "c", fc);
	ok(strlen(fa) == GPG_FPR_LEN && strlen(fb) == GPG_FPR_LEN &&
	    strlen(fc) == GPG_FPR_LEN, "test keys generated (%s %s %s)", fa,
	    fb, fc);

	run(GPG " -o %s/a.gpg --export %s", root, "a", root, fa);
	run(GPG " -a -o %s/a.asc.key --export %s", root, "a", root, fa);
	run(GPG " -o %s/b.gpg --export %s", root, "b", root, fb);
	run(GPG " -o %s/c.gpg --export %s", root, "c", root, fc);
	run("cat %s/a.gpg %s/b.gpg > %s/ab.gpg", root, root, root);
	run(GPG " --clearsign -o %s/a.inr %s/release", root, "a", root, root);
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

	a_asc = slurp("a.inr", &a_len);
	b_asc = slurp("b.inr", &b_len);
	c_asc = slurp("c.inr", &c_len);
	a_sig = slurp("a.sig", &asig_len);
	a_bsig = slurp("a.bsig", &absig_len);
	b_sig = slurp("b.sig", &bsig_len);
	if (!a_asc || !b_asc || !c_asc || !a_sig || !a_bsig || !b_sig) {
		ok(0, "gpg made the test signatures");
		goto out;
	}

	/* Keyring A (binary). */
	p = path_of("a.gpg");
	rc = gpg_verifier_new(p, &v, &err);
	free(p);
	is_int(rc, 0, "verifier for binary keyring (%s)", rc ? err.msg : "ok");
	if (rc)
		goto out;
	is_int(count_entries(tmpdir), 1, "verifier made one private home");

	expect_good(v, a_asc, a_len, fa, "A-signed InRelease");
	expect_good(v, a_asc, a_len, fa, "A-signed InRelease again");
	expect_bad(v, b_asc, b_len, "no public key", "B-signed, keyring A");
	expect_bad(v, c_asc, c_len, "no public key", "C-signed, keyring A");

	/* One byte of the signed body changed. */
	buf = xstrndup(a_asc, a_len);
	p = strstr(buf, "Suite: stable");
	ok(p != NULL, "body found in signed file");
	if (p != NULL)
		p[7] = 'S';
	expect_bad(v, buf, a_len, "bad signature", "tampered text");
	free(buf);

	/* Unsigned data around the message. */
	buf = cat(a_asc, a_len, "Origin: Evil\n", 13, &len);
	expect_bad(v, buf, len, "not a single clearsigned message",
	    "text after END PGP SIGNATURE");
	free(buf);
	buf = cat("Origin: Evil\n", 13, a_asc, a_len, &len);
	expect_bad(v, buf, len, "not a single clearsigned message",
	    "text before BEGIN PGP SIGNED MESSAGE");
	free(buf);
	buf = cat(a_asc, a_len, a_asc, a_len, &len);
	expect_bad(v, buf, len, "second BEGIN PGP SIGNED MESSAGE",
	    "two concatenated clearsigned messages");
	free(buf);
	buf = cat(a_asc, a_len, b_asc, b_len, &len);
	expect_bad(v, buf, len, "second BEGIN PGP SIGNED MESSAGE",
	    "A then B concatenated");
	free(buf);
	/* Whitespace before and after is allowed (apt accepts it). */
	buf = cat("\n  \n", 4, a_asc, a_len, &len);
	p = cat(buf, len, "\n \t\n\n", 5, &len);
	free(buf);
	expect_good(v, p, len, fa, "surrounding whitespace");
	free(p);
	/* Truncated, unsigned, or an injected header. */
	expect_bad(v, a_asc, a_len - 30, "no END PGP SIGNATURE",
	    "truncated signature");
	expect_bad(v, release, sizeof(release) - 1,
	    "no BEGIN PGP SIGNED MESSAGE", "unsigned Release");
	expect_bad(v, "", 0, "not a single clearsigned message", "empty input");
	buf = xstrndup(a_asc, a_len);
	p = strstr(buf, "Hash:");
	if (p != NULL)
		memcpy(p, "Hush:", 5);
	expect_bad(v, buf, a_len, "unexpected armor header", "bad header");
	free(buf);
	/* A NUL byte hidden in the text. */
	buf = xstrndup(a_asc, a_len);
	p = strstr(buf, "Label");
	if (p != NULL)
		*p = '\0';
	expect_bad(v, buf, a_len, "NUL", "NUL byte");
	free(buf);

	/* Detached signatures. */
	fpr[0] = '\0';
	rc = gpg_verify_detached(v, release, sizeof(release) - 1, a_sig,
	    asig_len, fpr, &err);
	is_int(rc, 0, "detached armored A signature (%s)", rc ? err.msg : "ok");
	is_str(fpr, fa, "detached: signer fingerprint");
	rc = gpg_verify_detached(v, release, sizeof(release) - 1, a_bsig,
	    absig_len, fpr, &err);
	is_int(rc, 0, "detached binary A signature (%s)", rc ? err.msg : "ok");
	buf = xstrndup(release, sizeof(release) - 1);
	buf[0] = 'o';
	rc = gpg_verify_detached(v, buf, sizeof(release) - 1, a_sig, asig_len,
	    fpr, &err);
	is_int(rc, MERR_VERIFY, "detached over tampered data rejected");
	ok(strstr(err.msg, "bad signature") != NULL, "message: %s", err.msg);
	free(buf);
	rc = gpg_verify_detached(v, release, sizeof(release) - 1, b_sig,
	    bsig_len, fpr, &err);
	is_int(rc, MERR_VERIFY, "detached B signature, keyring A rejected");
	ok(strstr(err.msg, "no public key") != NULL &&
	    strstr(err.msg, "a.gpg") != NULL, "message: %s", err.msg);
	rc = gpg_verify_detached(v, "evil\n", 5, a_asc, a_len, fpr, &err);
	is_int(rc, MERR_VERIFY, "clearsigned file as detached sig rejected "
	    "(%s)", err.msg);
	rc = gpg_verify_detached(v, release, sizeof(release) - 1, "junk", 4,
	    fpr, &err);
	is_int(rc, MERR_VERIFY, "garbage detached sig rejected (%s)", err.msg);

	is_int(procs_matching(tmpdir), 0, "no process runs in verifier home");
	gpg_verifier_free(v);
	v = NULL;
	is_int(count_entries(tmpdir), 0, "temporary home removed on free");

	/* Armored keyring; a keyring with two keys. */
	p = path_of("a.asc.key");
	rc = gpg_verifier_new(p, &v, &err);
	free(p);
	is_int(rc, 0, "verifier for armored keyring (%s)", rc ? err.msg : "ok");
	if (rc == 0)
		expect_good(v, a_asc, a_len, fa, "armored keyring");
	gpg_verifier_free(v);
	v = NULL;
	p = path_of("ab.gpg");
	rc = gpg_verifier_new(p, &v, &err);
	free(p);
	is_int(rc, 0, "verifier for keyring A+B (%s)", rc ? err.msg : "ok");
	if (rc == 0) {
		expect_good(v, a_asc, a_len, fa, "keyring A+B, A-signed");
		expect_good(v, b_asc, b_len, fb, "keyring A+B, B-signed");
	}
	gpg_verifier_free(v);
	v = NULL;

	/* Signing subkey: the primary's fingerprint is reported. */
	p = path_of("c.gpg");
	rc = gpg_verifier_new(p, &v, &err);
	free(p);
	is_int(rc, 0, "verifier for keyring C (%s)", rc ? err.msg : "ok");
	if (rc == 0) {
		expect_good(v, c_asc, c_len, fc, "subkey-signed, keyring C");
		expect_bad(v, a_asc, a_len, "no public key",
		    "A-signed, keyring C");
	}
	gpg_verifier_free(v);
	v = NULL;

	/* Bad keyrings. */
	p = path_of("empty.gpg");
	rc = gpg_verifier_new(p, &v, &err);
	is_int(rc, MERR_CONF, "empty keyring rejected");
	ok(v == NULL && strstr(err.msg, "holds no OpenPGP keys") != NULL &&
	    strstr(err.msg, p) != NULL, "message: %s", err.msg);
	free(p);
	p = path_of("junk.gpg");
	rc = gpg_verifier_new(p, &v, &err);
	is_int(rc, MERR_CONF, "non-key keyring rejected (%s)", err.msg);
	free(p);
	p = path_of("missing.gpg");
	rc = gpg_verifier_new(p, &v, &err);
	is_int(rc, MERR_CONF, "missing keyring rejected");
	ok(strstr(err.msg, p) != NULL, "message names it: %s", err.msg);
	free(p);
	is_int(count_entries(tmpdir), 0, "failed verifiers left no home");

	/* Expired signature: made ten days ago, valid for one day. */
	if (faked) {
		run(GPG " --faked-system-time %ld --default-sig-expire 1d "
		    "--clearsign -o %s/ax.inr %s/release", root, "a",
		    past + 3600, root, root);
		buf = slurp("ax.inr", &len);
		p = path_of("a.gpg");
		rc = gpg_verifier_new(p, &v, &err);
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
		rc = gpg_verifier_new(p, &v2, &err);
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
		rc = gpg_verifier_new(p, &v2, &err);
		free(p);
		if (buf != NULL && rc == 0)
			expect_bad(v2, buf, len, "key revoked", "revoked key");
		else
			ok(0, "revoked key made (%s)", rc ? err.msg : "");
		gpg_verifier_free(v2);
		v2 = NULL;
		free(buf);
	}
	is_int(count_entries(tmpdir), 0, "every verifier home removed");

out:
	gpg_verifier_free(v);
	free(a_asc);
	free(b_asc);
	free(c_asc);
	free(a_sig);
	free(a_bsig);
	free(b_sig);
	/* Stop the agents the gpg command line started for the test keys. */
	for (i = 0; i < ARRAY_SIZE(homes); i++)
		run("gpgconf --homedir %s/%s --kill all", root, homes[i]);
	is_int(procs_matching(root), 0, "no gpg-agent left for the test homes");
	free(tmpdir);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	ok(access(root, F_OK) != 0, "test directory removed");
	return tap_done();
}
