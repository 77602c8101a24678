/*
 * refcache.c: the cache of resolved refs and the pool memo (see
 * refcache.h), moved out of route.c.
 */
#include "mirrord/common.h"

#include <pthread.h>
#include <stdatomic.h>

#include "serve/refcache.h"

#define REFCACHE_SLOTS 256


struct refcache {
	pthread_mutex_t mu;
	unsigned ttl_ms;
	struct refcache_ent *slot[REFCACHE_SLOTS];
};

#define REFCACHE_FRONT_SLOTS 16

/*
 * A pool file's blob, as looked up in the store: what a snapshot's path
 * names never changes while no commit lands, so a thread keeps its last
 * lookups (keyed by the store's last commit) and answers repeated requests
 * for the same .deb without a read transaction. 512 slots of ~280 bytes:
 * 140 KiB a thread, allocated on the first pool request.
 */
#define POOL_MEMO_SLOTS 512
#define POOL_MEMO_KEY 224	/* "mirror\0path"; longer ones are not kept */

struct pool_memo {
	uint64_t txnid;		/* 0: empty */
	uint64_t size;
	uint32_t seq;
	uint16_t klen;
	unsigned char hash[HASH_LEN];
	char key[POOL_MEMO_KEY];
};

struct refcache_front {
	struct refcache_ent *slot[REFCACHE_FRONT_SLOTS];	/* a reference each */
	struct pool_memo *memo;		/* POOL_MEMO_SLOTS, or NULL */
};

void
refcache_ent_unref(struct refcache_ent *e)
{
	if (e == NULL || atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	snap_release(&e->sn);
	channel_free(&e->ch);
	free(e->key);
	free(e);
}

struct refcache *
refcache_new(unsigned ttl_ms)
{
	struct refcache *rc = xcalloc(1, sizeof(*rc));

	pthread_mutex_init(&rc->mu, NULL);
	rc->ttl_ms = ttl_ms;
	return rc;
}

void
refcache_free(struct refcache *rc)
{
	size_t i;

	if (rc == NULL)
		return;
	for (i = 0; i < REFCACHE_SLOTS; i++)
		refcache_ent_unref(rc->slot[i]);
	pthread_mutex_destroy(&rc->mu);
	free(rc);
}

static size_t
cache_slot(const char *key, size_t klen)
{
	return hash_fnv1a(HASH_FNV1A_INIT, key, klen) % REFCACHE_SLOTS;
}

/* Any commit (a sync, a promotion) may have moved e's ref. */
static bool
ent_fresh(const struct refcache_ent *e, uint64_t txnid, int64_t now)
{
	return e->txnid == txnid && e->expires > now;
}

static bool
ent_live(const struct refcache_ent *e, const char *key, size_t klen,
    uint64_t txnid)
{
	return e != NULL && e->klen == klen &&
	    memcmp(e->key, key, klen) == 0 && ent_fresh(e, txnid, mono_ms());
}

struct refcache_front *
refcache_front_new(void)
{
	return xcalloc(1, sizeof(struct refcache_front));
}

void
refcache_front_free(struct refcache_front *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < REFCACHE_FRONT_SLOTS; i++)
		refcache_ent_unref(f->slot[i]);
	free(f->memo);
	free(f);
}

/* The front's live entry for key, borrowed (no reference), or NULL. */
struct refcache_ent *
refcache_front_get(struct refcache_front *f, const char *key, size_t klen,
    uint64_t txnid)
{
	struct refcache_ent *e;

	if (f == NULL)
		return NULL;
	e = f->slot[cache_slot(key, klen) % REFCACHE_FRONT_SLOTS];
	return ent_live(e, key, klen, txnid) ? e : NULL;
}

/*
 * Drops the front's entries that a commit or their age made stale, so
 * that a thread holds no old manifests for refs no longer asked for
 * (run on a miss: rare, and a quiet thread holds at most its slots).
 */
void
refcache_front_drop_stale(struct refcache_front *f, uint64_t txnid)
{
	int64_t now = mono_ms();
	size_t i;

	for (i = 0; f != NULL && i < REFCACHE_FRONT_SLOTS; i++)
		if (f->slot[i] != NULL && !ent_fresh(f->slot[i], txnid, now)) {
			refcache_ent_unref(f->slot[i]);
			f->slot[i] = NULL;
		}
}

/* The front keeps a reference to e (of the caller's, who keeps his). */
void
refcache_front_put(struct refcache_front *f, struct refcache_ent *e)
{
	struct refcache_ent **slot;

	if (f == NULL)
		return;
	slot = &f->slot[cache_slot(e->key, e->klen) % REFCACHE_FRONT_SLOTS];
	atomic_fetch_add(&e->refs, 1);
	refcache_ent_unref(*slot);
	*slot = e;
}

/* A live entry for key, with a reference for the caller, or NULL. */
struct refcache_ent *
refcache_get(struct refcache *rc, const char *key, size_t klen,
    uint64_t txnid)
{
	struct refcache_ent *e;
	size_t i = cache_slot(key, klen);

	if (rc == NULL)
		return NULL;
	pthread_mutex_lock(&rc->mu);
	e = rc->slot[i];
	if (ent_live(e, key, klen, txnid))
		atomic_fetch_add(&e->refs, 1);
	else
		e = NULL;
	pthread_mutex_unlock(&rc->mu);
	return e;
}

/* Puts e (holding the caller's reference) in its slot. */
void
refcache_put(struct refcache *rc, struct refcache_ent *e)
{
	struct refcache_ent *old;
	size_t i = cache_slot(e->key, e->klen);

	if (rc == NULL)
		return;
	atomic_fetch_add(&e->refs, 1);
	e->expires = mono_ms() + rc->ttl_ms;
	pthread_mutex_lock(&rc->mu);
	old = rc->slot[i];
	rc->slot[i] = e;
	pthread_mutex_unlock(&rc->mu);
	refcache_ent_unref(old);
}

struct refcache_ent *
refcache_ent_new(const char *key, size_t klen, uint64_t txnid,
    struct snap *sn, struct channel *ch)
{
	struct refcache_ent *e = xcalloc(1, sizeof(*e));

	atomic_init(&e->refs, 1);
	e->txnid = txnid;
	e->sn = *sn;
	e->ch = *ch;
	memset(sn, 0, sizeof(*sn));
	memset(ch, 0, sizeof(*ch));
	e->klen = klen;
	e->key = xmalloc(klen);
	memcpy(e->key, key, klen);
	return e;
}

/*
 * The memo slot for mirror's path in snapshot seq, with the key built in
 * key (*klen: 0 when it is too long to be kept).
 */
static struct pool_memo *
memo_slot(struct refcache_front *f, const char *mirror, const char *path,
    uint32_t seq, char key[POOL_MEMO_KEY], size_t *klen)
{
	size_t ml = strlen(mirror), pl = strlen(path);

	*klen = 0;
	if (f == NULL || ml + pl + 1 > POOL_MEMO_KEY)
		return NULL;
	memcpy(key, mirror, ml + 1);
	memcpy(key + ml + 1, path, pl);
	*klen = ml + 1 + pl;
	if (f->memo == NULL)
		f->memo = xcalloc(POOL_MEMO_SLOTS, sizeof(*f->memo));
	return &f->memo[hash_fnv1a(HASH_FNV1A_INIT ^ seq, key, *klen) %
	    POOL_MEMO_SLOTS];
}

bool
refcache_memo_get(struct refcache_front *f, uint64_t txnid,
    const char *mirror, const char *path, uint32_t seq,
    unsigned char h[HASH_LEN], uint64_t *size)
{
	char key[POOL_MEMO_KEY];
	size_t klen;
	struct pool_memo *m = memo_slot(f, mirror, path, seq, key, &klen);

	if (m == NULL || m->txnid != txnid || m->seq != seq ||
	    m->klen != klen || memcmp(m->key, key, klen) != 0)
		return false;
	memcpy(h, m->hash, HASH_LEN);
	*size = m->size;
	return true;
}

void
refcache_memo_put(struct refcache_front *f, uint64_t txnid,
    const char *mirror, const char *path, uint32_t seq,
    const unsigned char h[HASH_LEN], uint64_t size)
{
	char key[POOL_MEMO_KEY];
	size_t klen;
	struct pool_memo *m = memo_slot(f, mirror, path, seq, key, &klen);

	if (m == NULL || txnid == 0)
		return;
	m->txnid = txnid;
	m->seq = seq;
	m->klen = (uint16_t)klen;
	memcpy(m->key, key, klen);
	memcpy(m->hash, h, HASH_LEN);
	m->size = size;
}
