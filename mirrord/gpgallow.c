/*
 * gpgallow.c: a verifier's allow-list (gpgallow.h), apart from gpg.c
 * because deciding which keys count needs no gpgme.
 */
#include "mirrord/common.h"

#include "mirrord/gpgallow.h"

void
gpgallow_add(struct gpgallow *a, const struct gpgallow_key *k)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->keys = xreallocarray(a->keys, a->cap, sizeof(*a->keys));
	}
	a->keys[a->n++] = *k;
}

void
gpgallow_release(struct gpgallow *a)
{
	free(a->keys);
	a->keys = NULL;
	a->n = a->cap = 0;
}

/* Whether Signed-By's fingerprint want (40 hex, maybe '!') allows k. */
static bool
gpgallow_allows(const char *want, const struct gpgallow_key *k)
{
	bool exact = want[GPG_FPR_LEN] == '!';

	if (strncasecmp(want, k->fpr, GPG_FPR_LEN) == 0)
		return true;
	return !exact && strncasecmp(want, k->primary, GPG_FPR_LEN) == 0;
}

int
gpgallow_restrict(struct gpgallow *a, const char *const *fprs,
    size_t nfprs, const char *keyring, struct merr *err)
{
	size_t i, j, keep = 0;
	bool *used, ok;
	int rc = 0;

	if (nfprs == 0)
		return 0;
	used = xcalloc(nfprs, sizeof(*used));
	for (i = 0; i < a->n; i++) {
		ok = false;
		for (j = 0; j < nfprs; j++) {
			if (gpgallow_allows(fprs[j], &a->keys[i])) {
				used[j] = true;
				ok = true;
			}
		}
		if (ok)
			a->keys[keep++] = a->keys[i];
	}
	a->n = keep;
	for (j = 0; j < nfprs && rc == 0; j++) {
		if (!used[j])
			rc = merr_set(err, MERR_CONF, "Signed-By fingerprint "
			    "%s names no key of %s", fprs[j], keyring);
	}
	free(used);
	return rc;
}

const struct gpgallow_key *
gpgallow_find(const struct gpgallow *a, const char *fpr)
{
	size_t i, n = strlen(fpr);

	if (n != GPG_FPR_LEN && n != 16)
		return NULL;
	for (i = 0; i < a->n; i++) {
		if (strcasecmp(a->keys[i].fpr + GPG_FPR_LEN - n, fpr) == 0)
			return &a->keys[i];
	}
	return NULL;
}
