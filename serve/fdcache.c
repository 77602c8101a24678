/*
 * fdcache.c: the open-blob cache (see fdcache.h), moved out of http.c.
 */
#include "mirrord/common.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "serve/fdcache.h"

struct fdcache_set {
	pthread_mutex_t lock;	/* one per set: threads rarely meet */
	struct fdcache_ent e[FDCACHE_WAYS];
};

struct fdcache {
	struct fdcache_set set[FDCACHE_SETS];
	atomic_size_t mapped;	/* bytes of blobs mapped, in all */
	size_t map_budget;	/* mapped stays under it */
	int64_t ttl_ms;		/* an entry's life */
	fdcache_free_fn *free_answer;
};

struct fdcache *
fdcache_new(size_t map_budget, unsigned ttl_ms, fdcache_free_fn *free_answer)
{
	struct fdcache *fc = xcalloc(1, sizeof(*fc));
	size_t i, j;

	fc->map_budget = map_budget;
	fc->ttl_ms = ttl_ms;
	fc->free_answer = free_answer;
	atomic_init(&fc->mapped, 0);
	for (i = 0; i < FDCACHE_SETS; i++) {
		pthread_mutex_init(&fc->set[i].lock, NULL);
		for (j = 0; j < FDCACHE_WAYS; j++)
			fc->set[i].e[j].fd = -1;
	}
	return fc;
}

void
fdcache_free(struct fdcache *fc)
{
	size_t i, j;

	if (fc == NULL)
		return;
	for (i = 0; i < FDCACHE_SETS; i++) {
		for (j = 0; j < FDCACHE_WAYS; j++)
			fdcache_ent_release(fc, &fc->set[i].e[j]);
		pthread_mutex_destroy(&fc->set[i].lock);
	}
	free(fc);
}

void
fdcache_ent_release(struct fdcache *fc, struct fdcache_ent *e)
{
	if (e->full != NULL)
		fc->free_answer(e->full);
	if (e->nm != NULL)
		fc->free_answer(e->nm);
	if (e->nm != NULL && e->fd >= 0)
		close(e->fd);
	e->full = e->nm = NULL;
	e->fd = -1;
}

static struct fdcache_set *
set_of(struct fdcache *fc, const struct fdcache_key *k)
{
	uint32_t slot;

	memcpy(&slot, k->hash, sizeof(slot));
	return &fc->set[slot & (FDCACHE_SETS - 1)];
}

static bool
live(const struct fdcache *fc, const struct fdcache_ent *e,
    const struct fdcache_key *k, int64_t now)
{
	return e->nm != NULL && now - e->born < fc->ttl_ms &&
	    e->key.mtime == k->mtime && e->key.cc == k->cc &&
	    e->key.ctype == k->ctype &&
	    memcmp(e->key.hash, k->hash, HASH_LEN) == 0;
}

static struct fdcache_ent *
find(const struct fdcache *fc, struct fdcache_set *fs,
    const struct fdcache_key *k, int64_t now)
{
	size_t i;

	for (i = 0; i < FDCACHE_WAYS; i++)
		if (live(fc, &fs->e[i], k, now))
			return &fs->e[i];
	return NULL;
}

/* Drops a set's expired entries (under its lock). */
static void
expire(struct fdcache *fc, struct fdcache_set *fs, int64_t now)
{
	size_t i;

	for (i = 0; i < FDCACHE_WAYS; i++)
		if (fs->e[i].nm != NULL && now - fs->e[i].born >= fc->ttl_ms)
			fdcache_ent_release(fc, &fs->e[i]);
}

struct fdcache_ent *
fdcache_lock(struct fdcache *fc, const struct fdcache_key *k, int64_t now)
{
	struct fdcache_set *fs = set_of(fc, k);
	struct fdcache_ent *e;

	pthread_mutex_lock(&fs->lock);
	e = find(fc, fs, k, now);
	if (e == NULL)
		expire(fc, fs, now);
	return e;
}

struct fdcache_ent *
fdcache_insert(struct fdcache *fc, struct fdcache_ent *n, int64_t now)
{
	struct fdcache_set *fs = set_of(fc, &n->key);
	struct fdcache_ent *e;
	size_t i;

	pthread_mutex_lock(&fs->lock);
	if ((e = find(fc, fs, &n->key, now)) != NULL)
		return e;	/* another thread made it meanwhile */
	/* A free way (expired ones were freed by fdcache_lock()), else the
	 * oldest. */
	e = &fs->e[0];
	for (i = 1; i < FDCACHE_WAYS && e->nm != NULL; i++)
		if (fs->e[i].nm == NULL || fs->e[i].born < e->born)
			e = &fs->e[i];
	fdcache_ent_release(fc, e);
	*e = *n;
	n->full = n->nm = NULL;
	n->fd = -1;
	return e;
}

void
fdcache_unlock(struct fdcache *fc, const struct fdcache_key *k)
{
	pthread_mutex_unlock(&set_of(fc, k)->lock);
}

void
fdcache_sweep(struct fdcache *fc)
{
	int64_t now = mono_ms();
	size_t i;

	for (i = 0; i < FDCACHE_SETS; i++) {
		pthread_mutex_lock(&fc->set[i].lock);
		expire(fc, &fc->set[i], now);
		pthread_mutex_unlock(&fc->set[i].lock);
	}
}

int
fdcache_map(struct fdcache *fc, int fd, uint64_t size, void **p)
{
	struct stat st;
	size_t len = (size_t)size;

	if (size == 0 || size > FDCACHE_MAP_MAX)
		return -1;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != size)
		return -1;
	if (atomic_fetch_add(&fc->mapped, len) + len > fc->map_budget) {
		atomic_fetch_sub(&fc->mapped, len);
		return -1;
	}
	/* Not populated: a 304 or HEAD needs none of its pages. */
	*p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (*p == MAP_FAILED) {
		atomic_fetch_sub(&fc->mapped, len);
		return -1;
	}
	return 0;
}

void
fdcache_unmap(struct fdcache *fc, void *p, size_t len)
{
	munmap(p, len);
	atomic_fetch_sub(&fc->mapped, len);
}
