/*
 * refcache.h: the cache of resolved refs (private to serve/), for
 * route.c.
 *
 * Resolving a ref ((mirror, ref) -> its snapshot's manifest and
 * channel) parses a manifest; the server answers thousands of requests
 * a second under a handful of refs, so route.c keeps what it resolved:
 * - a shared struct refcache: entries live ttl_ms (a promotion or a new
 *   snapshot shows within that time) and only while the store's last
 *   commit is the one they were loaded at, in a fixed number of slots
 *   (distinct refs evict each other);
 * - in front of it, one struct refcache_front per server thread: the
 *   entries it used last, looked up with no lock and no reference
 *   counting, so that threads resolving the same refs do not contend on
 *   the cache's mutex and entries' counters for every request (the
 *   entries stay the shared cache's, one copy of each manifest); and its
 *   last pool lookups (a pool path's blob, until the next commit), so
 *   that a .deb asked for again takes no read transaction.
 *
 * Threads: a refcache may be used by every thread at once (a mutex
 * guards its slots; entries are reference counted with atomics and
 * never change once made). A front belongs to one thread. NULL for
 * either means no cache: gets miss and puts do nothing.
 */
#ifndef SERVE_REFCACHE_H
#define SERVE_REFCACHE_H

#include <stdatomic.h>

#include "mirrord/common.h"
#include "mirrord/channel.h"
#include "mirrord/hash.h"
#include "mirrord/snap.h"

/* A resolved ref. Read-only once made; freed with its last reference. */
struct refcache_ent {
	atomic_int refs;	/* the slot's, the fronts' and each user's */
	int64_t expires;	/* monotonic milliseconds */
	uint64_t txnid;		/* the store's last commit when loaded */
	char *key;		/* "mirror\0ref\0" */
	size_t klen;
	struct snap sn;
	struct channel ch;
};

struct refcache;
struct refcache_front;

/* Owned; free with refcache_free() after every front. */
struct refcache *refcache_new(unsigned ttl_ms);
void refcache_free(struct refcache *rc);

/* Owned by one thread; free with refcache_front_free(). */
struct refcache_front *refcache_front_new(void);
void refcache_front_free(struct refcache_front *f);

/*
 * A new entry for key (klen bytes, copied) loaded at txnid (read before
 * resolving: a commit in between only makes the entry look stale, never
 * fresh), taking sn and ch, with one reference for the caller.
 */
struct refcache_ent *refcache_ent_new(const char *key, size_t klen,
    uint64_t txnid, struct snap *sn, struct channel *ch);
/* Drops a reference to e (NULL: nothing), freeing e with the last. */
void refcache_ent_unref(struct refcache_ent *e);

/* f's live entry for key, borrowed (valid until f's next put), or NULL. */
struct refcache_ent *refcache_front_get(struct refcache_front *f,
    const char *key, size_t klen, uint64_t txnid);
/*
 * Drops f's entries that a commit or their age made stale, so that a
 * thread holds no old manifests for refs no longer asked for (call it
 * on a miss: rare, and a quiet thread holds at most its slots).
 */
void refcache_front_drop_stale(struct refcache_front *f, uint64_t txnid);
/* f keeps a reference to e of its own (the caller keeps his). */
void refcache_front_put(struct refcache_front *f, struct refcache_ent *e);

/* rc's live entry for key, with a reference for the caller, or NULL. */
struct refcache_ent *refcache_get(struct refcache *rc, const char *key,
    size_t klen, uint64_t txnid);
/* rc keeps a reference to e of its own, for ttl_ms from now. */
void refcache_put(struct refcache *rc, struct refcache_ent *e);

/*
 * The pool memo of f: mirror's pool path in snapshot seq as looked up
 * at txnid, its blob's hash and size. refcache_memo_get() returns true
 * with them if kept and no commit landed since; refcache_memo_put()
 * keeps them (nothing for a txnid of 0, or a key too long to keep).
 */
bool refcache_memo_get(struct refcache_front *f, uint64_t txnid,
    const char *mirror, const char *path, uint32_t seq,
    unsigned char h[HASH_LEN], uint64_t *size);
void refcache_memo_put(struct refcache_front *f, uint64_t txnid,
    const char *mirror, const char *path, uint32_t seq,
    const unsigned char h[HASH_LEN], uint64_t size);

#endif
