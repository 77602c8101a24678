/*
 * gpg.c: OpenPGP signature verification with gpgme, the only file that
 * calls gpgme.
 *
 * Each verifier owns a private, temporary GnuPG home into which the keys
 * of exactly one keyring file are imported, so the operator's own keyring
 * is never consulted. The home's gpg.conf forbids starting a gpg-agent
 * (verification and public-key import do not need one) and fetching keys
 * from the network. The fingerprints of the imported keys and of all
 * their subkeys form the allow-list: a signature counts only if it is
 * good and was made by one of them. Imported keys have unknown owner
 * trust, so gpg's validity (SIGSUM_VALID/GREEN) is deliberately not
 * required: the keyring the operator configured is the trust decision.
 */
#include "mirrord/common.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <ftw.h>
#include <spawn.h>
#include <unistd.h>

#include <gpgme.h>

#include "mirrord/gpg.h"

/* One allowed signing key: a (sub)key fingerprint and its primary's. */
struct gpg_allowed {
	char fpr[GPG_FPR_LEN + 1];
	char primary[GPG_FPR_LEN + 1];
};

struct gpg_verifier {
	char *home;		/* private GnuPG home, removed on free */
	char *keyring;		/* for messages */
	struct gpg_allowed *allowed;
	size_t nallowed;
};

#define MSG_BEGIN "-----BEGIN PGP SIGNED MESSAGE-----"
#define SIG_BEGIN "-----BEGIN PGP SIGNATURE-----"
#define SIG_END "-----END PGP SIGNATURE-----"

/*
 * Options of the private home. no-autostart: gpg never spawns an agent, so
 * none can outlive the verifier. no-auto-key-retrieve: a hostile signature
 * must not make gpg go to the network. trust-model always: gpg need not
 * maintain (and lock) the trustdb while verifying; we do our own check.
 * no-random-seed-file: nothing is written into the home while verifying.
 */
static const char gpg_conf[] =
    "no-autostart\n"
    "no-auto-key-retrieve\n"
    "trust-model always\n"
    "no-random-seed-file\n";

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

/*
 * Removes a directory tree; errors are ignored (best effort at free). gpgme
 * may return before the gpg process it ran has quite finished exiting, so
 * a home that is still there is retried for up to a second.
 */
static void
rm_tree(const char *dir)
{
	struct stat st;
	int i;

	for (i = 0; i < 20; i++) {
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		if (lstat(dir, &st) < 0)
			return;
		usleep(50000);
	}
}

/*
 * Stops a gpg-agent if one was started in home despite no-autostart. Uses
 * posix_spawnp, never a shell.
 */
static void
kill_agent(const char *home)
{
	char *sock = xasprintf("%s/S.gpg-agent", home);
	char *argv[] = { "gpgconf", "--homedir", (char *)home, "--kill", "all",
	    NULL };
	struct stat st;
	pid_t pid;
	int status;

	if (lstat(sock, &st) == 0 &&
	    posix_spawnp(&pid, "gpgconf", NULL, NULL, argv, environ) == 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	free(sock);
}

/* A fresh context bound to the verifier's home, OpenPGP, offline. */
static int
ctx_new(struct gpg_verifier *v, gpgme_ctx_t *out, struct merr *err)
{
	gpgme_ctx_t ctx;
	gpgme_error_t ge;

	ge = gpgme_new(&ctx);
	if (ge)
		return merr_set(err, MERR_IO,
		    "gpgme: cannot create context: %s", gpgme_strerror(ge));
	ge = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
	if (ge == 0)
		ge = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP,
		    NULL, v->home);
	if (ge) {
		gpgme_release(ctx);
		return merr_set(err, MERR_IO,
		    "gpgme: cannot set up context: %s", gpgme_strerror(ge));
	}
	gpgme_set_offline(ctx, 1);
	gpgme_set_armor(ctx, 0);
	*out = ctx;
	return 0;
}

static void
fpr_copy(char dst[GPG_FPR_LEN + 1], const char *src)
{
	size_t i;

	for (i = 0; i < GPG_FPR_LEN && src[i] != '\0'; i++)
		dst[i] = (char)toupper((unsigned char)src[i]);
	dst[i] = '\0';
}

/* Adds every key of the home and each of its subkeys to the allow-list. */
static int
collect_keys(struct gpg_verifier *v, gpgme_ctx_t ctx, struct merr *err)
{
	gpgme_error_t ge;
	gpgme_key_t key;
	gpgme_subkey_t sk;
	size_t cap = 0;

	ge = gpgme_op_keylist_start(ctx, NULL, 0);
	while (ge == 0) {
		ge = gpgme_op_keylist_next(ctx, &key);
		if (ge)
			break;
		for (sk = key->subkeys; sk != NULL; sk = sk->next) {
			if (sk->fpr == NULL || strlen(sk->fpr) != GPG_FPR_LEN ||
			    key->subkeys->fpr == NULL)
				continue;	/* not a v4 key: unsupported */
			if (v->nallowed == cap) {
				cap = cap ? cap * 2 : 8;
				v->allowed = xreallocarray(v->allowed, cap,
				    sizeof(*v->allowed));
			}
			fpr_copy(v->allowed[v->nallowed].fpr, sk->fpr);
			fpr_copy(v->allowed[v->nallowed].primary,
			    key->subkeys->fpr);
			v->nallowed++;
		}
		gpgme_key_unref(key);
	}
	gpgme_op_keylist_end(ctx);
	if (gpgme_err_code(ge) != GPG_ERR_EOF)
		return merr_set(err, MERR_CONF, "keyring '%s': cannot list "
		    "keys: %s", v->keyring, gpgme_strerror(ge));
	if (v->nallowed == 0)
		return merr_set(err, MERR_CONF,
		    "keyring '%s' holds no OpenPGP keys", v->keyring);
	return 0;
}

int
gpg_verifier_new(const char *keyring, struct gpg_verifier **out,
    struct merr *err)
{
	struct gpg_verifier *v;
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t kd = NULL;
	gpgme_error_t ge;
	const char *tmp;
	char *conf;
	FILE *f;
	int rc;

	gpgme_check_version(NULL);
	ge = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
	if (ge)
		return merr_set(err, MERR_CONF, "gnupg is not usable: %s",
		    gpgme_strerror(ge));

	/* Check readability first, for a message that names the file. */
	f = fopen(keyring, "rbe");
	if (f == NULL)
		return merr_set(err, MERR_CONF, "cannot open keyring '%s': %s",
		    keyring, strerror(errno));
	fclose(f);

	v = xcalloc(1, sizeof(*v));
	v->keyring = xstrdup(keyring);
	tmp = getenv("TMPDIR");
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	v->home = xasprintf("%s/mirrord-gpg.XXXXXX", tmp);
	if (mkdtemp(v->home) == NULL) {
		rc = merr_errno(err, "cannot create GnuPG home '%s'", v->home);
		free(v->home);
		v->home = NULL;
		goto fail;
	}
	/* mkdtemp makes it 0700 already; gpg insists on it. */
	conf = xasprintf("%s/gpg.conf", v->home);
	rc = write_file_atomic(conf, gpg_conf, sizeof(gpg_conf) - 1, 0600,
	    err);
	free(conf);
	if (rc)
		goto fail;

	rc = ctx_new(v, &ctx, err);
	if (rc)
		goto fail;
	ge = gpgme_data_new_from_file(&kd, keyring, 1);
	if (ge) {
		rc = merr_set(err, MERR_CONF, "cannot read keyring '%s': %s",
		    keyring, gpgme_strerror(ge));
		goto fail;
	}
	/*
	 * An empty or non-OpenPGP file fails here with "no data"; that is
	 * reported below as a keyring without keys.
	 */
	ge = gpgme_op_import(ctx, kd);
	if (ge && gpgme_err_code(ge) != GPG_ERR_NO_DATA) {
		rc = merr_set(err, MERR_CONF, "cannot import keyring '%s': %s",
		    keyring, gpgme_strerror(ge));
		goto fail;
	}
	rc = collect_keys(v, ctx, err);
	if (rc)
		goto fail;
	gpgme_data_release(kd);
	gpgme_release(ctx);
	*out = v;
	return 0;
fail:
	if (kd != NULL)
		gpgme_data_release(kd);
	if (ctx != NULL)
		gpgme_release(ctx);
	gpg_verifier_free(v);
	return rc;
}

void
gpg_verifier_free(struct gpg_verifier *v)
{
	if (v == NULL)
		return;
	if (v->home != NULL) {
		kill_agent(v->home);
		rm_tree(v->home);
		free(v->home);
	}
	free(v->keyring);
	free(v->allowed);
	free(v);
}

/*
 * Finds fpr (40 hex, or a 16-hex key id when gpg gives no more) in the
 * allow-list; returns the primary key's fingerprint or NULL.
 */
static const char *
allowed_primary(struct gpg_verifier *v, const char *fpr)
{
	size_t i, n = strlen(fpr);

	if (n != GPG_FPR_LEN && n != 16)
		return NULL;
	for (i = 0; i < v->nallowed; i++) {
		if (strcasecmp(v->allowed[i].fpr + GPG_FPR_LEN - n, fpr) == 0)
			return v->allowed[i].primary;
	}
	return NULL;
}

/* Why one signature was not accepted, for the error message. */
static int
sig_reason(struct gpg_verifier *v, gpgme_signature_t s, struct merr *err)
{
	const char *who = s->fpr ? s->fpr : "unknown key";

	switch (gpgme_err_code(s->status)) {
	case GPG_ERR_BAD_SIGNATURE:
		return merr_set(err, MERR_VERIFY, "bad signature by %s", who);
	case GPG_ERR_NO_PUBKEY:
		return merr_set(err, MERR_VERIFY, "no public key for signature "
		    "by %s (not in '%s')", who, v->keyring);
	case GPG_ERR_SIG_EXPIRED:
		return merr_set(err, MERR_VERIFY, "signature expired (by %s)",
		    who);
	case GPG_ERR_KEY_EXPIRED:
		return merr_set(err, MERR_VERIFY, "key expired (%s)", who);
	case GPG_ERR_CERT_REVOKED:
		return merr_set(err, MERR_VERIFY, "key revoked (%s)", who);
	case GPG_ERR_NO_ERROR:
		break;
	default:
		return merr_set(err, MERR_VERIFY, "signature by %s: %s", who,
		    gpgme_strerror(s->status));
	}
	/* A good status, but the summary or the allow-list objects. */
	if (s->summary & GPGME_SIGSUM_KEY_REVOKED)
		return merr_set(err, MERR_VERIFY, "key revoked (%s)", who);
	if (s->summary & GPGME_SIGSUM_KEY_EXPIRED)
		return merr_set(err, MERR_VERIFY, "key expired (%s)", who);
	if (s->summary & GPGME_SIGSUM_SIG_EXPIRED)
		return merr_set(err, MERR_VERIFY, "signature expired (by %s)",
		    who);
	if (s->summary & GPGME_SIGSUM_KEY_MISSING)
		return merr_set(err, MERR_VERIFY, "no public key for signature "
		    "by %s (not in '%s')", who, v->keyring);
	if (s->summary & (GPGME_SIGSUM_RED | GPGME_SIGSUM_SYS_ERROR))
		return merr_set(err, MERR_VERIFY, "bad signature by %s", who);
	return merr_set(err, MERR_VERIFY, "signature by %s is not from "
	    "keyring '%s'", who, v->keyring);
}

/*
 * Applies the acceptance rule to the result of the last verify on ctx:
 * one good signature by an allowed key, neither expired nor revoked.
 */
static int
check_result(struct gpg_verifier *v, gpgme_ctx_t ctx,
    char fpr[GPG_FPR_LEN + 1], struct merr *err)
{
	const unsigned int reject = GPGME_SIGSUM_RED |
	    GPGME_SIGSUM_KEY_REVOKED | GPGME_SIGSUM_KEY_EXPIRED |
	    GPGME_SIGSUM_SIG_EXPIRED | GPGME_SIGSUM_KEY_MISSING |
	    GPGME_SIGSUM_SYS_ERROR;
	gpgme_verify_result_t res = gpgme_op_verify_result(ctx);
	gpgme_signature_t s;
	const char *primary;

	if (res == NULL || res->signatures == NULL)
		return merr_set(err, MERR_VERIFY, "no signature");
	for (s = res->signatures; s != NULL; s = s->next) {
		if (gpgme_err_code(s->status) != GPG_ERR_NO_ERROR ||
		    (s->summary & reject) != 0 || s->fpr == NULL)
			continue;
		primary = allowed_primary(v, s->fpr);
		if (primary == NULL)
			continue;
		if (fpr != NULL)
			memcpy(fpr, primary, GPG_FPR_LEN + 1);
		return 0;
	}
	return sig_reason(v, res->signatures, err);
}

/* Translates a failed gpgme_op_verify (no usable OpenPGP data...). */
static int
verify_failed(gpgme_error_t ge, struct merr *err)
{
	if (gpgme_err_code(ge) == GPG_ERR_NO_DATA)
		return merr_set(err, MERR_VERIFY, "no signature");
	return merr_set(err, MERR_VERIFY, "cannot verify signature: %s",
	    gpgme_strerror(ge));
}

/* Length of [s, e) without trailing blanks and carriage returns. */
static size_t
rtrim_len(const char *s, const char *e)
{
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	return (size_t)(e - s);
}

static bool
line_is(const char *s, size_t n, const char *marker)
{
	return n == strlen(marker) && memcmp(s, marker, n) == 0;
}

/*
 * Enforces apt's structure of a clearsigned file on the raw bytes: blank
 * lines, "-----BEGIN PGP SIGNED MESSAGE-----", "Hash:" headers, a blank
 * line, the dash-escaped text, one signature block, then only whitespace.
 * Returns NULL if fine, else the reason.
 */
static const char *
clearsign_check(const char *data, size_t len)
{
	enum { PRE, HEADERS, TEXT, SIG, POST } state = PRE;
	const char *p = data, *end = data + len, *nl, *s;
	size_t n;

	if (memchr(data, '\0', len) != NULL)
		return "NUL byte in message";
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		s = p;
		n = rtrim_len(s, nl);
		p = nl < end ? nl + 1 : end;

		switch (state) {
		case PRE:
			if (n == 0)
				break;
			if (!line_is(s, n, MSG_BEGIN))
				return "no BEGIN PGP SIGNED MESSAGE line at "
				    "the start";
			state = HEADERS;
			break;
		case HEADERS:
			if (n == 0)
				state = TEXT;
			else if (n < 5 || memcmp(s, "Hash:", 5) != 0)
				return "unexpected armor header";
			break;
		case TEXT:
			if (line_is(s, n, SIG_BEGIN)) {
				state = SIG;
				break;
			}
			if (n >= 2 && s[0] == '-' && s[1] == ' ') {
				/* Dash-escaped: check what it stands for. */
				if (!line_is(s + 2, n - 2, MSG_BEGIN))
					break;
				return "second BEGIN PGP SIGNED MESSAGE";
			}
			if (line_is(s, n, MSG_BEGIN))
				return "second BEGIN PGP SIGNED MESSAGE";
			if (n >= 5 && memcmp(s, "-----", 5) == 0)
				return "unexpected armor line in signed text";
			break;
		case SIG:
			if (line_is(s, n, SIG_END))
				state = POST;
			else if (line_is(s, n, MSG_BEGIN))
				return "second BEGIN PGP SIGNED MESSAGE";
			else if (n >= 5 && memcmp(s, "-----", 5) == 0)
				return "unexpected armor line in signature";
			break;
		case POST:
			for (; s < nl; s++) {
				if (!isspace((unsigned char)*s))
					break;
			}
			if (s == nl)
				break;
			if (line_is(s, rtrim_len(s, nl), MSG_BEGIN))
				return "second BEGIN PGP SIGNED MESSAGE";
			return "data after END PGP SIGNATURE";
		}
	}
	switch (state) {
	case PRE:
		return "no BEGIN PGP SIGNED MESSAGE line";
	case HEADERS:
	case TEXT:
		return "no BEGIN PGP SIGNATURE line";
	case SIG:
		return "no END PGP SIGNATURE line";
	case POST:
		break;
	}
	return NULL;
}

int
gpg_verify_clearsigned(struct gpg_verifier *v, const char *data,
    size_t len, char **text, size_t *textlen, char fpr[GPG_FPR_LEN + 1],
    struct merr *err)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t sig = NULL, plain = NULL;
	gpgme_error_t ge;
	const char *why;
	char *mem;
	size_t memlen;
	int rc;

	why = clearsign_check(data, len);
	if (why != NULL)
		return merr_set(err, MERR_VERIFY,
		    "not a single clearsigned message: %s", why);

	rc = ctx_new(v, &ctx, err);
	if (rc)
		return rc;
	ge = gpgme_data_new_from_mem(&sig, data, len, 0);
	if (ge == 0)
		ge = gpgme_data_new(&plain);
	if (ge) {
		rc = merr_set(err, MERR_IO, "gpgme: cannot create data: %s",
		    gpgme_strerror(ge));
		goto out;
	}
	ge = gpgme_op_verify(ctx, sig, NULL, plain);
	if (ge) {
		rc = verify_failed(ge, err);
		goto out;
	}
	rc = check_result(v, ctx, fpr, err);
	if (rc)
		goto out;
	mem = gpgme_data_release_and_get_mem(plain, &memlen);
	plain = NULL;
	if (text != NULL) {
		*text = xmalloc(memlen + 1);
		if (memlen > 0)
			memcpy(*text, mem, memlen);
		(*text)[memlen] = '\0';
	}
	if (textlen != NULL)
		*textlen = memlen;
	gpgme_free(mem);
out:
	if (plain != NULL)
		gpgme_data_release(plain);
	if (sig != NULL)
		gpgme_data_release(sig);
	gpgme_release(ctx);
	return rc;
}

int
gpg_verify_detached(struct gpg_verifier *v, const char *data, size_t len,
    const char *sig, size_t siglen, char fpr[GPG_FPR_LEN + 1],
    struct merr *err)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t sd = NULL, dd = NULL;
	gpgme_error_t ge;
	int rc;

	rc = ctx_new(v, &ctx, err);
	if (rc)
		return rc;
	ge = gpgme_data_new_from_mem(&sd, sig, siglen, 0);
	if (ge == 0)
		ge = gpgme_data_new_from_mem(&dd, data, len, 0);
	if (ge) {
		rc = merr_set(err, MERR_IO, "gpgme: cannot create data: %s",
		    gpgme_strerror(ge));
		goto out;
	}
	ge = gpgme_op_verify(ctx, sd, dd, NULL);
	if (ge) {
		rc = verify_failed(ge, err);
		goto out;
	}
	rc = check_result(v, ctx, fpr, err);
out:
	if (dd != NULL)
		gpgme_data_release(dd);
	if (sd != NULL)
		gpgme_data_release(sd);
	gpgme_release(ctx);
	return rc;
}
