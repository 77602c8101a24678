/*
 * keyrings.c: each mirror's /<mirror>/keyring.gpg (keyrings.h).
 */
#include "mirrord/common.h"

#include <pthread.h>
#include <sys/stat.h>

#include "mirrord/gpg.h"
#include "mirrord/log.h"
#include "serve/keyrings.h"

struct keyring_ent {
	char *mirror;
	char *spec;		/* what it was made from (spec_of) */
	char *data;		/* the keyring, or NULL: msg says why */
	size_t len;
	int code;
	char *msg;
};

struct keyrings {
	pthread_mutex_t lock;	/* the entries; held while gpg runs */
	char *own;
	size_t ownlen;
	struct keyring_ent *e;
	size_t n;
};

struct keyrings *
keyrings_new(const char *own, size_t ownlen)
{
	struct keyrings *k = xcalloc(1, sizeof(*k));

	pthread_mutex_init(&k->lock, NULL);
	k->own = xmalloc(ownlen + 1);
	memcpy(k->own, own, ownlen);
	k->ownlen = ownlen;
	return k;
}

void
keyrings_free(struct keyrings *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->n; i++) {
		free(k->e[i].mirror);
		free(k->e[i].spec);
		free(k->e[i].data);
		free(k->e[i].msg);
	}
	free(k->e);
	free(k->own);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* m's Signed-By as a string that changes when its keys may have. */
static char *
spec_of(const struct conf_mirror *m)
{
	struct buf b = BUF_INIT;
	struct stat st;
	size_t i;

	for (i = 0; i < m->nkeyrings; i++) {
		if (stat(m->keyrings[i], &st) == 0)
			buf_addf(&b, "f %s %lld %lld.%09ld\n", m->keyrings[i],
			    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
			    st.st_mtim.tv_nsec);
		else
			buf_addf(&b, "f %s -\n", m->keyrings[i]);
	}
	for (i = 0; i < m->nkey_fprs; i++)
		buf_addf(&b, "p %s\n", m->key_fprs[i]);
	buf_addf(&b, "a %s\nk %s", m->pubkey_algo ? m->pubkey_algo : "",
	    m->keyblock ? m->keyblock : "");
	return buf_detach(&b, NULL);
}

/* m's entry, made (again) if missing or stale; under k->lock. */
static struct keyring_ent *
ent_locked(struct keyrings *k, const struct conf_mirror *m)
{
	struct keyring_ent *e = NULL;
	struct gpg_keyspec ks;
	struct merr err = { 0 };
	char *spec = spec_of(m);
	size_t i;

	for (i = 0; i < k->n && e == NULL; i++)
		if (strcmp(k->e[i].mirror, m->name) == 0)
			e = &k->e[i];
	if (e != NULL && strcmp(e->spec, spec) == 0) {
		free(spec);
		return e;
	}
	if (e == NULL) {
		k->e = xreallocarray(k->e, k->n + 1, sizeof(*k->e));
		e = &k->e[k->n++];
		memset(e, 0, sizeof(*e));
		e->mirror = xstrdup(m->name);
	}
	free(e->spec);
	free(e->data);
	free(e->msg);
	e->spec = spec;
	e->data = e->msg = NULL;
	e->len = 0;
	gpg_keyspec_of_mirror(&ks, m);
	e->code = gpg_keyring_export(&ks, k->own, k->ownlen, NULL, false,
	    &e->data, &e->len, &err);
	if (e->code) {
		e->msg = xasprintf("mirror '%s': keyring.gpg: %s", m->name,
		    err.msg);
		log_warn("%s", e->msg);
	} else {
		log_debug("mirror '%s': keyring.gpg made (%zu bytes)", m->name,
		    e->len);
	}
	return e;
}

void
keyrings_prepare(struct keyrings *k, const struct conf *c)
{
	size_t i;

	pthread_mutex_lock(&k->lock);
	for (i = 0; i < c->nmirrors; i++)
		(void)ent_locked(k, &c->mirrors[i]);
	pthread_mutex_unlock(&k->lock);
}

int
keyrings_get(struct keyrings *k, const struct conf_mirror *m, struct buf *b,
    struct merr *err)
{
	struct keyring_ent *e;
	int rc = 0;

	pthread_mutex_lock(&k->lock);
	e = ent_locked(k, m);
	if (e->code)
		rc = merr_set(err, e->code, "%s", e->msg);
	else
		buf_add(b, e->data, e->len);
	pthread_mutex_unlock(&k->lock);
	return rc;
}
