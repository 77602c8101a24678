/*
 * t_fdcache.c: the open-blob cache (serve/fdcache.h): hits and misses,
 * a lost race, expiry, eviction of the oldest way, and the mapped-bytes
 * budget.
 */
#include "mirrord/common.h"

#include <fcntl.h>
#include <unistd.h>

#include "serve/fdcache.h"
#include "tests/unit/tap.h"

static int freed;

/* Answers are plain heap strings here; the cache only passes them on. */
static void
answer_free(void *a)
{
	freed++;
	free(a);
}

static void
key_of(struct fdcache_key *k, unsigned char b)
{
	memset(k, 0, sizeof(*k));
	memset(k->hash, b, HASH_LEN);
	k->mtime = 1000;
	k->cc = "cc";
	k->ctype = "ct";
}

/* A filled entry for key b, over a descriptor of /dev/null. */
static void
ent_of(struct fdcache_ent *n, unsigned char b, int64_t born)
{
	key_of(&n->key, b);
	n->born = born;
	n->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	n->full = xstrdup("full");
	n->nm = xstrdup("nm");
}

static void
test_hit_miss(void)
{
	struct fdcache *fc = fdcache_new(0, 1000, answer_free);
	struct fdcache_ent n = FDCACHE_ENT_INIT, m = FDCACHE_ENT_INIT, *e;
	struct fdcache_key k;

	key_of(&k, 1);
	e = fdcache_lock(fc, &k, 0);
	ok(e == NULL, "an empty cache misses");
	fdcache_unlock(fc, &k);
	ent_of(&n, 1, 0);
	e = fdcache_insert(fc, &n, 0);
	ok(e != NULL && n.nm == NULL && n.fd == -1,
	    "insert moves the entry in and empties the caller's");
	ok(e != NULL && strcmp(e->full, "full") == 0, "its answers are kept");
	fdcache_unlock(fc, &k);
	e = fdcache_lock(fc, &k, 10);
	ok(e != NULL && e->fd >= 0, "the same key hits");
	fdcache_unlock(fc, &k);
	k.mtime = 1001;
	e = fdcache_lock(fc, &k, 10);
	ok(e == NULL, "another Last-Modified misses");
	fdcache_unlock(fc, &k);

	/* Another thread made the entry meanwhile: the caller's stays his. */
	ent_of(&m, 1, 20);
	e = fdcache_insert(fc, &m, 20);
	ok(e != NULL && m.nm != NULL && e->nm != m.nm,
	    "a lost race returns the live entry and leaves n alone");
	fdcache_unlock(fc, &m.key);
	freed = 0;
	fdcache_ent_release(fc, &m);
	is_int(freed, 2, "releasing n frees both its answers");
	ok(m.fd == -1 && m.nm == NULL, "and empties it");

	key_of(&k, 1);
	e = fdcache_lock(fc, &k, 1000);
	ok(e == NULL, "an entry past its TTL misses");
	fdcache_unlock(fc, &k);
	freed = 0;
	fdcache_free(fc);
	is_int(freed, 0, "the expired entry was dropped at the miss");
}

static void
test_evict_sweep(void)
{
	struct fdcache *fc = fdcache_new(0, 1000, answer_free);
	struct fdcache_ent n = FDCACHE_ENT_INIT, *e;
	struct fdcache_key k;
	unsigned i;

	/* Keys whose first 4 bytes agree share a set. */
	for (i = 0; i <= FDCACHE_WAYS; i++) {
		ent_of(&n, 7, (int64_t)i);
		n.key.hash[HASH_LEN - 1] = (unsigned char)i;
		freed = 0;
		e = fdcache_insert(fc, &n, (int64_t)i);
		fdcache_unlock(fc, &n.key);
		ok(e != NULL, "insert %u into one set", i);
	}
	is_int(freed, 2, "the fifth evicted one entry (two answers)");
	key_of(&k, 7);
	k.hash[HASH_LEN - 1] = 0;
	e = fdcache_lock(fc, &k, 10);
	ok(e == NULL, "the oldest was the one evicted");
	fdcache_unlock(fc, &k);
	k.hash[HASH_LEN - 1] = (unsigned char)FDCACHE_WAYS;
	e = fdcache_lock(fc, &k, 10);
	ok(e != NULL, "the newest is there");
	fdcache_unlock(fc, &k);
	freed = 0;
	fdcache_sweep(fc);	/* mono_ms() is far past born + 1000 */
	is_int(freed, 2 * FDCACHE_WAYS, "a sweep drops every expired entry");
	fdcache_free(fc);
}

static void
test_map_budget(void)
{
	struct fdcache *fc = fdcache_new(8192, 1000, answer_free);
	char path[] = "/tmp/t_fdcache.XXXXXX", buf[4096];
	void *p, *q;
	int fd = mkstemp(path);

	memset(buf, 'x', sizeof(buf));
	ok(fd >= 0 && write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf),
	    "a 4 KiB blob");
	is_int(fdcache_map(fc, fd, 4096, &p), 0, "maps within the budget");
	ok(memcmp(p, buf, 16) == 0, "the mapping reads the blob");
	is_int(fdcache_map(fc, fd, 4096, &q), 0, "a second fills it");
	is_int(fdcache_map(fc, fd, 4096, &q), -1, "a third is over the budget");
	is_int(fdcache_map(fc, fd, 4000, &q), -1,
	    "a size the file does not have is refused");
	is_int(fdcache_map(fc, fd, 0, &q), -1, "an empty blob is not mapped");
	fdcache_unmap(fc, p, 4096);
	is_int(fdcache_map(fc, fd, 4096, &q), 0, "unmapping gives it back");
	fdcache_unmap(fc, q, 4096);
	close(fd);
	unlink(path);
	fdcache_free(fc);
}

int
main(void)
{
	test_hit_miss();
	test_evict_sweep();
	test_map_budget();
	return tap_done();
}
