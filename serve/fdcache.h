/*
 * fdcache.h: the open-blob cache (private to serve/).
 *
 * An open blob and the answers made once for it, as nginx's
 * open_file_cache: no open() (a path walk) per request. The cache knows
 * nothing of HTTP: an entry holds the blob's descriptor and two opaque
 * answers that its user made (http.c: libmicrohttpd responses) and that
 * the cache hands back to the free_answer callback given to
 * fdcache_new() when it drops them.
 *
 * An entry is keyed by everything its answers' headers follow from (the
 * blob's hash, Last-Modified, Cache-Control and Content-Type), so that
 * sharing one answer between requests changes nothing a client sees.
 * Entries live ttl_ms at most: that, and fdcache_sweep() every few
 * seconds, bound how long a blob that gc unlinked keeps its disk space
 * (the cached descriptor still reads it: blobs never change).
 *
 * It also keeps the budget of bytes of blobs mapped (fdcache_map()):
 * the pages are the page cache's, but they count in the server's RSS.
 *
 * Threads: any thread may call any function but fdcache_new() and
 * fdcache_free(). The cache is FDCACHE_SETS sets of FDCACHE_WAYS
 * entries, each set under its own mutex (threads rarely meet on one).
 * fdcache_lock() and fdcache_insert() return with the key's set locked,
 * whatever they return; the caller uses the entry (takes a reference to
 * an answer, dup()s the descriptor) and then calls fdcache_unlock(). An
 * entry and its answers may be dropped by another thread as soon as the
 * set is unlocked. The mapped-bytes budget is an atomic counter.
 */
#ifndef SERVE_FDCACHE_H
#define SERVE_FDCACHE_H

#include "mirrord/common.h"
#include "mirrord/hash.h"

#define FDCACHE_SETS 512	/* a power of two */
#define FDCACHE_WAYS 4		/* set-associative: colliding hashes coexist */
/* Descriptors the cache may hold open at once. */
#define FDCACHE_MAX_FDS (FDCACHE_SETS * FDCACHE_WAYS)
#define FDCACHE_TTL_MS (60 * 1000)	/* serve_opts.cache_ttl_ms's default */
/* Blobs up to this size may be mapped (fdcache_map()). */
#define FDCACHE_MAP_MAX (8 * 1024 * 1024)

/* What an entry's answers follow from. */
struct fdcache_key {
	unsigned char hash[HASH_LEN];
	int64_t mtime;
	const char *cc;		/* static strings: compared by address */
	const char *ctype;
};

/*
 * An entry. One filled by its user and handed to fdcache_insert() owns
 * fd, full and nm; FDCACHE_ENT_INIT is an empty one.
 */
struct fdcache_ent {
	struct fdcache_key key;
	int64_t born;		/* mono_ms() */
	int fd;			/* the blob, open */
	void *full;		/* the shared whole answer, or NULL */
	void *nm;		/* the shared 304; NULL: an empty entry */
};

#define FDCACHE_ENT_INIT { .fd = -1, .full = NULL, .nm = NULL }

/* Drops the user's reference to an answer (full or nm). */
typedef void fdcache_free_fn(void *answer);

struct fdcache;

/*
 * A cache whose mappings stay under map_budget bytes in all (0 leaves
 * no room) and whose entries live ttl_ms. free_answer is called for
 * every answer the cache drops, with the set's lock held. Owned: free
 * with fdcache_free(), which drops every entry (no thread may use the
 * cache any more).
 */
struct fdcache *fdcache_new(size_t map_budget, unsigned ttl_ms,
    fdcache_free_fn *free_answer);
void fdcache_free(struct fdcache *fc);

/*
 * Locks k's set and returns its live entry for k, borrowed until
 * fdcache_unlock(), or NULL after dropping the set's expired entries
 * (their mappings' budget may be needed for k's).
 */
struct fdcache_ent *fdcache_lock(struct fdcache *fc,
    const struct fdcache_key *k, int64_t now);

/*
 * Locks n->key's set and puts n in it: in a free way, else in place of
 * the oldest entry (dropped). n's descriptor and answers move into the
 * cache and n becomes empty. If another thread put a live entry for the
 * key meanwhile, that one is returned and n is left alone (the caller
 * drops it with fdcache_ent_release() after unlocking). Either way the
 * entry returned is borrowed until fdcache_unlock().
 */
struct fdcache_ent *fdcache_insert(struct fdcache *fc,
    struct fdcache_ent *n, int64_t now);

/* Unlocks k's set, locked by fdcache_lock() or fdcache_insert(). */
void fdcache_unlock(struct fdcache *fc, const struct fdcache_key *k);

/*
 * Drops e's answers (free_answer) and closes its descriptor: e becomes
 * empty. For an entry of the cache, call it with e's set locked.
 */
void fdcache_ent_release(struct fdcache *fc, struct fdcache_ent *e);

/*
 * Drops every set's expired entries, also of blobs no longer asked for:
 * their descriptors and mappings go as soon as no connection sends from
 * them, so that an unlinked blob's space and the mappings' budget come
 * back. serve_run calls it every 10 s.
 */
void fdcache_sweep(struct fdcache *fc);

/*
 * Maps the blob open on fd, of size bytes (as its index says), read-only
 * and not populated, into *p, if size is 1 to FDCACHE_MAP_MAX, the file
 * has that size and the mapping fits the budget: 0. Otherwise -1 (the
 * caller sends from the descriptor). Undo with fdcache_unmap().
 */
int fdcache_map(struct fdcache *fc, int fd, uint64_t size, void **p);
void fdcache_unmap(struct fdcache *fc, void *p, size_t len);

#endif
