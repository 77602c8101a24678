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
 *
 * A signer likewise owns a private home, holding the one unprotected secret
 * key of its key file. Secret-key operations need gpg-agent, so the
 * signer's home lets gpg start one; gpg_signer_free() stops it with
 * gpgconf before removing the home.
 *
 * What needs no gpgme lives beside this file: the homes themselves
 * (gpghome.c), the allow-list (gpgallow.c) and apt's digest and
 * public-key algorithm policy (gpgpolicy.c); the structure of a
 * clearsigned message is clearsign.c's.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <ctype.h>
#include <unistd.h>

#include <gpgme.h>

#include "mirrord/clearsign.h"
#include "mirrord/conf.h"
#include "mirrord/gpg.h"
#include "mirrord/gpgallow.h"
#include "mirrord/gpghome.h"
#include "mirrord/gpgpolicy.h"

/* gpgme's digest numbers are OpenPGP's, which gpgpolicy.h names. */
_Static_assert((int)GPGME_MD_SHA1 == GPGPOLICY_MD_SHA1 &&
    (int)GPGME_MD_SHA224 == GPGPOLICY_MD_SHA224 &&
    (int)GPGME_MD_SHA256 == GPGPOLICY_MD_SHA256 &&
    (int)GPGME_MD_SHA384 == GPGPOLICY_MD_SHA384 &&
    (int)GPGME_MD_SHA512 == GPGPOLICY_MD_SHA512, "gpgme digest numbers");

struct gpg_verifier {
	char *home;		/* private GnuPG home, removed on free */
	char *keyring;		/* what Signed-By names, for messages */
	char *policy;		/* public-key algorithm policy */
	struct gpgallow allowed;
};

int
gpg_init(struct merr *err)
{
	gpgme_error_t ge;

	gpgme_check_version(NULL);
	ge = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
	if (ge)
		return merr_set(err, MERR_CONF, "gnupg is not usable: %s",
		    gpgme_strerror(ge));
	return 0;
}

/* A fresh context bound to the GnuPG home, OpenPGP, offline. */
static int
ctx_new_home(const char *home, gpgme_ctx_t *out, struct merr *err)
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
		    NULL, home);
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

/* A fresh context bound to the verifier's home. */
static int
ctx_new(struct gpg_verifier *v, gpgme_ctx_t *out, struct merr *err)
{
	return ctx_new_home(v->home, out, err);
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
	struct gpgallow_key k;
	char *algo;

	ge = gpgme_op_keylist_start(ctx, NULL, 0);
	while (ge == 0) {
		ge = gpgme_op_keylist_next(ctx, &key);
		if (ge)
			break;
		for (sk = key->subkeys; sk != NULL; sk = sk->next) {
			if (sk->fpr == NULL || strlen(sk->fpr) != GPG_FPR_LEN ||
			    key->subkeys->fpr == NULL)
				continue;	/* not a v4 key: unsupported */
			fpr_copy(k.fpr, sk->fpr);
			fpr_copy(k.primary, key->subkeys->fpr);
			algo = gpgme_pubkey_algo_string(sk);
			snprintf(k.algo, sizeof(k.algo), "%s",
			    algo != NULL ? algo : "unknown");
			gpgme_free(algo);
			gpgallow_add(&v->allowed, &k);
		}
		gpgme_key_unref(key);
	}
	gpgme_op_keylist_end(ctx);
	if (gpgme_err_code(ge) != GPG_ERR_EOF)
		return merr_set(err, MERR_CONF, "keyring '%s': cannot list "
		    "keys: %s", v->keyring, gpgme_strerror(ge));
	if (v->allowed.n == 0)
		return merr_set(err, MERR_CONF,
		    "keyring '%s' holds no OpenPGP keys", v->keyring);
	return 0;
}

/*
 * Imports the keys of kd (named what in messages) into ctx. A file without
 * OpenPGP keys is an error of its own, so that a wrong path in a list of
 * several is not hidden by the others.
 */
static int
import_keys(gpgme_ctx_t ctx, gpgme_data_t kd, const char *what,
    struct merr *err)
{
	gpgme_import_result_t res;
	gpgme_error_t ge;

	ge = gpgme_op_import(ctx, kd);
	if (ge && gpgme_err_code(ge) != GPG_ERR_NO_DATA)
		return merr_set(err, MERR_CONF, "cannot import %s: %s", what,
		    gpgme_strerror(ge));
	res = ge ? NULL : gpgme_op_import_result(ctx);
	if (res == NULL || res->considered == 0)
		return merr_set(err, MERR_CONF, "%s holds no OpenPGP keys",
		    what);
	return 0;
}

static int
import_file(gpgme_ctx_t ctx, const char *path, struct merr *err)
{
	gpgme_data_t kd = NULL;
	gpgme_error_t ge;
	char *what;
	FILE *f;
	int rc;

	/* Check readability first, for a message that names the file. */
	f = fopen(path, "rbe");
	if (f == NULL)
		return merr_set(err, MERR_CONF, "cannot open keyring '%s': %s",
		    path, strerror(errno));
	fclose(f);
	ge = gpgme_data_new_from_file(&kd, path, 1);
	if (ge)
		return merr_set(err, MERR_CONF, "cannot read keyring '%s': %s",
		    path, gpgme_strerror(ge));
	what = xasprintf("keyring '%s'", path);
	rc = import_keys(ctx, kd, what, err);
	free(what);
	gpgme_data_release(kd);
	return rc;
}

static int
import_block(gpgme_ctx_t ctx, const char *block, struct merr *err)
{
	gpgme_data_t kd = NULL;
	gpgme_error_t ge;
	int rc;

	ge = gpgme_data_new_from_mem(&kd, block, strlen(block), 0);
	if (ge)
		return merr_set(err, MERR_IO, "gpgme: cannot create data: %s",
		    gpgme_strerror(ge));
	rc = import_keys(ctx, kd, "the key block in Signed-By", err);
	gpgme_data_release(kd);
	return rc;
}

/* "'a', 'b' and the key block in Signed-By", for messages. */
static char *
keyspec_name(const struct gpg_keyspec *ks)
{
	struct buf sb;
	size_t i;

	if (ks->nfiles == 1 && ks->keyblock == NULL)
		return xstrdup(ks->files[0]);
	buf_init(&sb);
	for (i = 0; i < ks->nfiles; i++)
		buf_addf(&sb, "%s%s", i ? ", " : "", ks->files[i]);
	if (ks->keyblock != NULL)
		buf_addf(&sb, "%sthe key block in Signed-By",
		    ks->nfiles ? ", " : "");
	return buf_detach(&sb, NULL);
}

void
gpg_keyspec_of_mirror(struct gpg_keyspec *ks, const struct conf_mirror *m)
{
	memset(ks, 0, sizeof(*ks));
	ks->files = (const char *const *)m->keyrings;
	ks->nfiles = m->nkeyrings;
	ks->keyblock = m->keyblock;
	ks->fprs = (const char *const *)m->key_fprs;
	ks->nfprs = m->nkey_fprs;
	ks->pubkey_algo = m->pubkey_algo;
}

int
gpg_verifier_new_spec(const struct gpg_keyspec *ks, const char *tmpdir,
    struct gpg_verifier **out, struct merr *err)
{
	struct gpg_verifier *v;
	gpgme_ctx_t ctx = NULL;
	const char *why;
	size_t i;
	int rc;

	rc = gpg_init(err);
	if (rc)
		return rc;
	why = gpgpolicy_check(ks->pubkey_algo);
	if (why != NULL)
		return merr_set(err, MERR_CONF, "public-key algorithm policy "
		    "'%s': %s", ks->pubkey_algo, why);

	v = xcalloc(1, sizeof(*v));
	v->keyring = keyspec_name(ks);
	v->policy = xstrdup(ks->pubkey_algo ? ks->pubkey_algo :
	    GPGPOLICY_ALGO_DEFAULT);
	rc = gpghome_verify_new(tmpdir, &v->home, err);
	if (rc)
		goto fail;

	rc = ctx_new(v, &ctx, err);
	for (i = 0; rc == 0 && i < ks->nfiles; i++)
		rc = import_file(ctx, ks->files[i], err);
	if (rc == 0 && ks->keyblock != NULL)
		rc = import_block(ctx, ks->keyblock, err);
	if (rc == 0 && ks->nfiles == 0 && ks->keyblock == NULL)
		rc = merr_set(err, MERR_CONF, "no keyring to verify with");
	if (rc == 0)
		rc = collect_keys(v, ctx, err);
	if (rc && (ks->nfiles || ks->keyblock))
		rc = gpghome_nospace(v->home, v->keyring, rc, err);
	if (rc == 0)
		rc = gpgallow_restrict(&v->allowed, ks->fprs, ks->nfprs,
		    v->keyring, err);
	if (rc)
		goto fail;
	gpgme_release(ctx);
	*out = v;
	return 0;
fail:
	if (ctx != NULL)
		gpgme_release(ctx);
	gpg_verifier_free(v);
	return rc;
}

int
gpg_verifier_new(const char *keyring, const char *tmpdir,
    struct gpg_verifier **out, struct merr *err)
{
	struct gpg_keyspec ks = { .files = &keyring, .nfiles = 1 };

	return gpg_verifier_new_spec(&ks, tmpdir, out, err);
}

void
gpg_verifier_free(struct gpg_verifier *v)
{
	if (v == NULL)
		return;
	gpghome_remove(v->home, false);
	free(v->home);
	free(v->keyring);
	free(v->policy);
	gpgallow_release(&v->allowed);
	free(v);
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
 * one good signature by an allowed key, neither expired nor revoked, with
 * a trusted digest and a key the policy allows. A signature that is good
 * but fails the policy is skipped like a bad one (a second, strong one may
 * still carry the file, as in apt); if none is left, the policy's refusal
 * is the message, since it is the one the operator can act on.
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
	const struct gpgallow_key *a;
	gpgme_signature_t s;
	struct merr why = { 0, "" };	/* err is untouched on success */
	bool refused = false;

	if (res == NULL || res->signatures == NULL)
		return merr_set(err, MERR_VERIFY, "no signature");
	for (s = res->signatures; s != NULL; s = s->next) {
		if (gpgme_err_code(s->status) != GPG_ERR_NO_ERROR ||
		    (s->summary & reject) != 0 || s->fpr == NULL)
			continue;
		a = gpgallow_find(&v->allowed, s->fpr);
		if (a == NULL)
			continue;
		if (!gpgpolicy_digest_trusted(s->hash_algo)) {
			const char *h = gpgme_hash_algo_name(s->hash_algo);

			if (!refused)
				merr_set(&why, MERR_VERIFY, "signature by %s "
				    "uses the weak digest algorithm %s (apt "
				    "refuses MD5, SHA-1 and RIPEMD-160)",
				    s->fpr, h ? h : "unknown");
			refused = true;
			continue;
		}
		if (!gpgpolicy_allows(v->policy, a->algo)) {
			if (!refused)
				merr_set(&why, MERR_VERIFY, "signature by %s: "
				    "its key's algorithm %s is not allowed by "
				    "the public-key algorithm policy '%s'",
				    s->fpr, a->algo, v->policy);
			refused = true;
			continue;
		}
		if (fpr != NULL)
			memcpy(fpr, a->primary, GPG_FPR_LEN + 1);
		return 0;
	}
	if (refused) {
		if (err != NULL)
			*err = why;
		return MERR_VERIFY;
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

/*
 * Verifies the signatures sig (armored, detached) over data, then applies
 * the acceptance rule. Shared by detached and clearsigned verification.
 */
static int
verify_sig(struct gpg_verifier *v, const char *data, size_t len,
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

/*
 * A clearsigned message is checked as apt checks it: split by the rules
 * of clearsign.h, then its signature blocks are verified as a detached
 * signature over the signed text (text-mode signatures, so gpg compares
 * canonical text: CRLF or LF makes no difference). gpg never parses the
 * whole message itself, so the text that verified is the text the split
 * gave: the very text channel.c gets from the stored blob at promotion.
 */
int
gpg_verify_clearsigned(struct gpg_verifier *v, const char *data,
    size_t len, char **text, size_t *textlen, char fpr[GPG_FPR_LEN + 1],
    struct merr *err)
{
	struct clearsign cs;
	int rc;

	rc = clearsign_split(data, len, &cs, err);
	if (rc) {
		merr_prefix(err, "not a single clearsigned message: ");
		return rc;
	}
	rc = verify_sig(v, cs.text, cs.datalen, cs.sig, cs.siglen, fpr, err);
	if (rc == 0 && text != NULL) {
		*text = cs.text;
		cs.text = NULL;
	}
	if (rc == 0 && textlen != NULL)
		*textlen = cs.textlen;
	clearsign_release(&cs);
	return rc;
}

int
gpg_verify_detached(struct gpg_verifier *v, const char *data, size_t len,
    const char *sig, size_t siglen, char fpr[GPG_FPR_LEN + 1],
    struct merr *err)
{
	return verify_sig(v, data, len, sig, siglen, fpr, err);
}

/*
 * Signing.
 *
 * The signer keeps one gpgme context with its key as the only signer, the
 * pinentry redirected to us (loopback) and an empty passphrase, so gpg
 * never prompts. That context is not thread-safe: one signer is used by
 * one thread at a time.
 */
struct gpg_signer {
	char *home;		/* private GnuPG home, removed on free */
	char *keyfile;		/* for messages */
	gpgme_ctx_t ctx;	/* signing context, bound to home */
	char fpr[GPG_FPR_LEN + 1];
};

/* Key files are a few kilobytes; anything this big is not one. */
#define KEYFILE_MAX (1024 * 1024)

/*
 * Answers gpg's passphrase questions: the key is unprotected, so the
 * passphrase is empty, and a wrong one is not retried.
 */
static gpgme_error_t
passphrase_cb(void *hook, const char *uid_hint, const char *info,
    int prev_was_bad, int fd)
{
	if (prev_was_bad)
		return gpgme_error(GPG_ERR_BAD_PASSPHRASE);
	if (gpgme_io_writen(fd, "\n", 1) != 0)
		return gpgme_error_from_syserror();
	return 0;
}

/* A context on the signer's home that never prompts. */
static int
signer_ctx(struct gpg_signer *s, struct merr *err)
{
	gpgme_error_t ge;
	int rc;

	rc = ctx_new_home(s->home, &s->ctx, err);
	if (rc)
		return rc;
	ge = gpgme_set_pinentry_mode(s->ctx, GPGME_PINENTRY_MODE_LOOPBACK);
	if (ge)
		return merr_set(err, MERR_IO, "gpgme: cannot set loopback "
		    "pinentry: %s", gpgme_strerror(ge));
	gpgme_set_passphrase_cb(s->ctx, passphrase_cb, NULL);
	return 0;
}

/* Drains data d (released) into owned, NUL-terminated memory. */
static char *
data_take(gpgme_data_t d, size_t *outlen)
{
	char *mem, *out;
	size_t len = 0;

	mem = gpgme_data_release_and_get_mem(d, &len);
	if (mem == NULL)
		len = 0;
	out = xmalloc(len + 1);
	if (len > 0)
		memcpy(out, mem, len);
	out[len] = '\0';
	gpgme_free(mem);
	*outlen = len;
	return out;
}

/*
 * Generates a new key in the home and writes its armored secret key to
 * s->keyfile (directory created 0700, file 0600, atomically).
 */
static int
signer_generate(struct gpg_signer *s, struct merr *err)
{
	const unsigned int flags = GPGME_CREATE_SIGN | GPGME_CREATE_NOPASSWD |
	    GPGME_CREATE_NOEXPIRE;
	gpgme_genkey_result_t res;
	gpgme_data_t d = NULL;
	gpgme_error_t ge;
	char host[256], fpr[GPG_FPR_LEN + 1], *uid, *dir, *slash, *key;
	size_t len;
	int rc;

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	uid = xasprintf("mirrord signing key <mirrord@%s>", host);
	ge = gpgme_op_createkey(s->ctx, uid, "ed25519", 0, 0, NULL, flags);
	free(uid);
	res = ge ? NULL : gpgme_op_genkey_result(s->ctx);
	if (ge || res == NULL || res->fpr == NULL ||
	    strlen(res->fpr) != GPG_FPR_LEN)
		return merr_set(err, MERR_IO, "cannot generate signing key "
		    "'%s': %s", s->keyfile, gpgme_strerror(ge));
	/* The result dies with the next operation on ctx: copy it. */
	fpr_copy(fpr, res->fpr);

	gpgme_set_armor(s->ctx, 1);
	ge = gpgme_data_new(&d);
	if (ge == 0)
		ge = gpgme_op_export(s->ctx, fpr, GPGME_EXPORT_MODE_SECRET, d);
	if (ge) {
		if (d != NULL)
			gpgme_data_release(d);
		return merr_set(err, MERR_IO, "cannot export new signing key "
		    "'%s': %s", s->keyfile, gpgme_strerror(ge));
	}
	key = data_take(d, &len);
	if (len == 0) {
		free(key);
		return merr_set(err, MERR_IO, "cannot export new signing key "
		    "'%s': gpg wrote nothing", s->keyfile);
	}

	dir = xstrdup(s->keyfile);
	slash = strrchr(dir, '/');
	rc = 0;
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		rc = mkdir_p(dir, 0700, err);
	}
	free(dir);
	if (rc == 0)
		rc = write_file_atomic(s->keyfile, key, len, 0600, err);
	explicit_bzero(key, len);
	free(key);
	return rc;
}

/*
 * Imports s->keyfile into the home after checking that only its owner can
 * read it. Anything wrong with the file is MERR_CONF.
 */
static int
signer_import(struct gpg_signer *s, struct merr *err)
{
	gpgme_data_t d = NULL;
	gpgme_error_t ge;
	struct merr e2;
	struct stat st;
	char *key;
	size_t len;

	if (stat(s->keyfile, &st) < 0)
		return merr_set(err, MERR_CONF, "cannot open signing key "
		    "'%s': %s", s->keyfile, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return merr_set(err, MERR_CONF, "signing key '%s' is not a "
		    "regular file", s->keyfile);
	if ((st.st_mode & 077) != 0)
		return merr_set(err, MERR_CONF, "signing key '%s' is "
		    "accessible by group or others (mode %04o, want 0600)",
		    s->keyfile, (unsigned int)(st.st_mode & 07777));
	if (read_file(s->keyfile, KEYFILE_MAX, &key, &len, &e2) != 0)
		return merr_set(err, MERR_CONF, "signing key: %s", e2.msg);

	ge = gpgme_data_new_from_mem(&d, key, len, 0);
	if (ge == 0)
		ge = gpgme_op_import(s->ctx, d);
	if (d != NULL)
		gpgme_data_release(d);
	explicit_bzero(key, len);
	free(key);
	/* Not OpenPGP at all: reported as holding no secret key. */
	if (ge && gpgme_err_code(ge) != GPG_ERR_NO_DATA)
		return merr_set(err, MERR_CONF, "cannot import signing key "
		    "'%s': %s", s->keyfile, gpgme_strerror(ge));
	return 0;
}

/*
 * Picks the first usable secret signing key of the home and makes it the
 * context's only signer.
 */
static int
signer_pick(struct gpg_signer *s, struct merr *err)
{
	gpgme_key_t key;
	gpgme_error_t ge;

	ge = gpgme_op_keylist_start(s->ctx, NULL, 1);
	while (ge == 0) {
		ge = gpgme_op_keylist_next(s->ctx, &key);
		if (ge)
			break;
		if (s->fpr[0] == '\0' && key->can_sign && key->secret &&
		    !key->revoked && !key->expired && !key->disabled &&
		    !key->invalid && key->subkeys != NULL &&
		    key->subkeys->fpr != NULL &&
		    strlen(key->subkeys->fpr) == GPG_FPR_LEN)
			fpr_copy(s->fpr, key->subkeys->fpr);
		gpgme_key_unref(key);
	}
	gpgme_op_keylist_end(s->ctx);
	if (gpgme_err_code(ge) != GPG_ERR_EOF)
		return merr_set(err, MERR_CONF, "signing key '%s': cannot list "
		    "keys: %s", s->keyfile, gpgme_strerror(ge));
	if (s->fpr[0] == '\0')
		return merr_set(err, MERR_CONF, "signing key '%s' holds no "
		    "usable secret signing key", s->keyfile);

	ge = gpgme_get_key(s->ctx, s->fpr, &key, 1);
	if (ge)
		return merr_set(err, MERR_CONF, "signing key '%s': %s",
		    s->keyfile, gpgme_strerror(ge));
	gpgme_signers_clear(s->ctx);
	ge = gpgme_signers_add(s->ctx, key);
	gpgme_key_unref(key);
	if (ge)
		return merr_set(err, MERR_CONF, "signing key '%s': cannot use "
		    "it: %s", s->keyfile, gpgme_strerror(ge));
	return 0;
}

int
gpg_signer_new(const char *keyfile, bool create, struct gpg_signer **out,
    struct merr *err)
{
	struct gpg_signer *s;
	struct stat st;
	bool generate = false;
	int rc;

	rc = gpg_init(err);
	if (rc)
		return rc;
	if (stat(keyfile, &st) < 0) {
		if (errno != ENOENT || !create)
			return merr_set(err, MERR_CONF, "cannot open signing "
			    "key '%s': %s", keyfile, strerror(errno));
		generate = true;
	}

	s = xcalloc(1, sizeof(*s));
	s->keyfile = xstrdup(keyfile);
	rc = gpghome_sign_new(&s->home, err);
	if (rc == 0)
		rc = signer_ctx(s, err);
	if (rc == 0)
		rc = generate ? signer_generate(s, err) :
		    signer_import(s, err);
	if (rc == 0)
		rc = signer_pick(s, err);
	if (rc) {
		gpg_signer_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
gpg_signer_free(struct gpg_signer *s)
{
	if (s == NULL)
		return;
	if (s->ctx != NULL)
		gpgme_release(s->ctx);
	/* The agent holds the key: stop it before the home goes. */
	gpghome_remove(s->home, true);
	free(s->home);
	free(s->keyfile);
	free(s);
}

const char *
gpg_signer_fpr(const struct gpg_signer *s)
{
	return s->fpr;
}

/*
 * Signs text in mode (clear or detached), armored, and checks the result:
 * exactly one signature, by our key, with a SHA-2 digest.
 */
static int
sign_op(struct gpg_signer *s, const char *text, size_t len,
    gpgme_sig_mode_t mode, char **out, size_t *outlen, struct merr *err)
{
	gpgme_data_t in = NULL, sig = NULL;
	gpgme_sign_result_t res;
	gpgme_error_t ge;
	int rc = 0;

	gpgme_set_armor(s->ctx, 1);
	gpgme_set_textmode(s->ctx, 0);
	ge = gpgme_data_new_from_mem(&in, text, len, 0);
	if (ge == 0)
		ge = gpgme_data_new(&sig);
	if (ge) {
		rc = merr_set(err, MERR_IO, "gpgme: cannot create data: %s",
		    gpgme_strerror(ge));
		goto out;
	}
	ge = gpgme_op_sign(s->ctx, in, sig, mode);
	if (ge) {
		rc = merr_set(err, MERR_IO, "cannot sign with key %s: %s",
		    s->fpr, gpgme_strerror(ge));
		goto out;
	}
	res = gpgme_op_sign_result(s->ctx);
	if (res == NULL || res->invalid_signers != NULL ||
	    res->signatures == NULL || res->signatures->next != NULL) {
		rc = merr_set(err, MERR_IO, "cannot sign with key %s: gpg "
		    "made no single signature", s->fpr);
		goto out;
	}
	if (!gpgpolicy_digest_signs(res->signatures->hash_algo)) {
		rc = merr_set(err, MERR_CONF, "gpg signed with digest '%s', "
		    "which apt rejects",
		    gpgme_hash_algo_name(res->signatures->hash_algo) ?
		    gpgme_hash_algo_name(res->signatures->hash_algo) : "?");
		goto out;
	}
	*out = data_take(sig, outlen);
	sig = NULL;
out:
	if (sig != NULL)
		gpgme_data_release(sig);
	if (in != NULL)
		gpgme_data_release(in);
	return rc;
}

int
gpg_sign_clear(struct gpg_signer *s, const char *text, size_t len,
    char **out, size_t *outlen, struct merr *err)
{
	struct clearsign cs;
	struct merr e2;
	char *o;
	size_t olen;
	int rc;

	rc = sign_op(s, text, len, GPGME_SIG_MODE_CLEAR, &o, &olen, err);
	if (rc)
		return rc;
	/* Hold our own output to apt's rule, as we hold upstream's. */
	if (clearsign_split(o, olen, &cs, &e2) != 0) {
		free(o);
		return merr_set(err, MERR_IO, "gpg made an invalid "
		    "clearsigned message: %s", e2.msg);
	}
	clearsign_release(&cs);
	*out = o;
	*outlen = olen;
	return 0;
}

int
gpg_sign_detached(struct gpg_signer *s, const char *text, size_t len,
    char **out, size_t *outlen, struct merr *err)
{
	return sign_op(s, text, len, GPGME_SIG_MODE_DETACH, out, outlen, err);
}

int
gpg_signer_export(struct gpg_signer *s, bool armor, char **out,
    size_t *outlen, struct merr *err)
{
	gpgme_data_t d = NULL;
	gpgme_error_t ge;
	char *o;
	size_t olen;

	gpgme_set_armor(s->ctx, armor ? 1 : 0);
	ge = gpgme_data_new(&d);
	if (ge == 0)
		ge = gpgme_op_export(s->ctx, s->fpr, 0, d);
	if (ge) {
		if (d != NULL)
			gpgme_data_release(d);
		return merr_set(err, MERR_IO, "cannot export key %s: %s",
		    s->fpr, gpgme_strerror(ge));
	}
	o = data_take(d, &olen);
	if (olen == 0) {
		free(o);
		return merr_set(err, MERR_IO, "cannot export key %s: gpg "
		    "wrote nothing", s->fpr);
	}
	*out = o;
	*outlen = olen;
	return 0;
}

/*
 * What Signed-By's fingerprints select for export: a fingerprint with '!'
 * exports that (sub)key alone ("FPR!", gpg's syntax too), one without it
 * the whole key. Owned, NULL-terminated, the strings owned too.
 */
static char **
export_patterns(const struct gpg_keyspec *ks, gpgme_import_result_t ir)
{
	gpgme_import_status_t is;
	size_t n = ks->nfprs, i;
	char **p;

	for (is = ir ? ir->imports : NULL; is != NULL; is = is->next)
		n++;
	p = xcalloc(n + 1, sizeof(*p));
	n = 0;
	for (i = 0; i < ks->nfprs; i++)
		p[n++] = xstrdup(ks->fprs[i]);
	for (is = ir ? ir->imports : NULL; is != NULL; is = is->next)
		if (is->fpr != NULL && is->result == 0)
			p[n++] = xstrdup(is->fpr);
	return p;
}

int
gpg_keyring_export(const struct gpg_keyspec *ks, const char *extra,
    size_t extralen, const char *tmpdir, bool armor, char **out,
    size_t *outlen, struct merr *err)
{
	struct gpg_verifier *v = NULL;
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t d = NULL;
	gpgme_error_t ge;
	char **pat = NULL;
	size_t i;
	int rc;

	/* The verifier's checks: every file has keys, each fpr names one. */
	rc = gpg_verifier_new_spec(ks, tmpdir, &v, err);
	if (rc == 0)
		rc = ctx_new(v, &ctx, err);
	if (rc)
		goto out;
	if (extra != NULL && extralen > 0) {
		ge = gpgme_data_new_from_mem(&d, extra, extralen, 0);
		if (ge == 0)
			ge = gpgme_op_import(ctx, d);
		gpgme_data_release(d);
		d = NULL;
		if (ge) {
			rc = merr_set(err, MERR_IO, "cannot import mirrord's "
			    "public key: %s", gpgme_strerror(ge));
			goto out;
		}
	}
	/* No fingerprint: every key of the home, the extra ones included. */
	if (ks->nfprs > 0)
		pat = export_patterns(ks, extra != NULL && extralen > 0 ?
		    gpgme_op_import_result(ctx) : NULL);
	gpgme_set_armor(ctx, armor ? 1 : 0);
	ge = gpgme_data_new(&d);
	if (ge == 0)
		ge = gpgme_op_export_ext(ctx, (const char **)pat, 0, d);
	if (ge) {
		rc = merr_set(err, MERR_IO, "cannot export the keys of %s: %s",
		    v->keyring, gpgme_strerror(ge));
		goto out;
	}
	*out = data_take(d, outlen);
	d = NULL;
	if (*outlen == 0) {
		free(*out);
		*out = NULL;
		rc = merr_set(err, MERR_IO, "cannot export the keys of %s: "
		    "gpg wrote nothing", v->keyring);
	}
out:
	if (d != NULL)
		gpgme_data_release(d);
	for (i = 0; pat != NULL && pat[i] != NULL; i++)
		free(pat[i]);
	free(pat);
	if (ctx != NULL)
		gpgme_release(ctx);
	gpg_verifier_free(v);
	return rc;
}
