/*
 * adoption.c: per-channel tables of the fleet's addresses (adoption.h).
 */
#include "mirrord/common.h"

#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "mirrord/adoption.h"

#define ADOPT_MAGIC "mirrord adoption 1\n"
#define ADOPT_KEY_MAX 256		/* "mirror\0channel" */
#define ADOPT_FIRST 1024		/* a table's first size */
#define ADOPT_FILE_MAX (2ull << 30)

/* One address: 32 bytes, also as saved (host byte order). */
struct adopt_client {
	unsigned char addr[16];	/* IPv6, or IPv4 mapped (::ffff:a.b.c.d) */
	uint32_t release_at;	/* unix times (0: never) */
	uint32_t index_at;
	uint32_t pool_at;
	uint32_t used;		/* 1: a slot in use */
};

struct adopt_channel {
	pthread_mutex_t lock;
	char key[ADOPT_KEY_MAX];
	size_t klen;
	struct adopt_client *slots;
	size_t cap, n;		/* cap a power of two */
	uint64_t dropped;
};

struct adoption {
	pthread_mutex_t lock;	/* the list below */
	struct adopt_channel **ch;
	size_t n;
	size_t max_slots;
};

struct adoption *
adoption_new(size_t max_slots)
{
	struct adoption *a = xcalloc(1, sizeof(*a));

	pthread_mutex_init(&a->lock, NULL);
	a->max_slots = max_slots ? max_slots : ADOPTION_MAX_CLIENTS;
	return a;
}

static void
channel_free_one(struct adopt_channel *c)
{
	pthread_mutex_destroy(&c->lock);
	free(c->slots);
	free(c);
}

void
adoption_free(struct adoption *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++)
		channel_free_one(a->ch[i]);
	free(a->ch);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* "mirror\0channel" into key; its length, or 0 if too long. */
static size_t
make_key(const char *mirror, const char *channel, char key[ADOPT_KEY_MAX])
{
	size_t ml = strlen(mirror), cl = strlen(channel);

	if (ml + 1 + cl > ADOPT_KEY_MAX)
		return 0;
	memcpy(key, mirror, ml);
	key[ml] = '\0';
	memcpy(key + ml + 1, channel, cl);
	return ml + 1 + cl;
}

/* The channel's table, made if create; NULL if none (or no room). */
static struct adopt_channel *
channel_find(struct adoption *a, const char *key, size_t klen, bool create)
{
	struct adopt_channel *c = NULL;
	size_t i;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->n; i++)
		if (a->ch[i]->klen == klen &&
		    memcmp(a->ch[i]->key, key, klen) == 0) {
			c = a->ch[i];
			break;
		}
	if (c == NULL && create) {
		c = xcalloc(1, sizeof(*c));
		pthread_mutex_init(&c->lock, NULL);
		memcpy(c->key, key, klen);
		c->klen = klen;
		a->ch = xreallocarray(a->ch, a->n + 1, sizeof(*a->ch));
		a->ch[a->n++] = c;
	}
	pthread_mutex_unlock(&a->lock);
	return c;
}

/* addr as 16 bytes; false for another family. */
static bool
addr_bytes(const struct sockaddr *sa, unsigned char out[16])
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
		return true;
	}
	if (sa->sa_family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, 4);
		return true;
	}
	return false;
}

static size_t
addr_hash(const unsigned char a[16])
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ a[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

/* The slot of addr in c (held), or the empty one for it; NULL if none. */
static struct adopt_client *
slot_of(struct adopt_channel *c, const unsigned char addr[16])
{
	size_t mask, i, probes;

	if (c->cap == 0)
		return NULL;
	mask = c->cap - 1;
	i = addr_hash(addr) & mask;
	for (probes = 0; probes < c->cap; probes++, i = (i + 1) & mask)
		if (!c->slots[i].used ||
		    memcmp(c->slots[i].addr, addr, 16) == 0)
			return &c->slots[i];
	return NULL;
}

/* Doubles c's table (held), if it may grow. */
static void
grow(struct adopt_channel *c, size_t max_slots)
{
	struct adopt_client *old = c->slots;
	size_t ocap = c->cap, i;

	if (ocap >= max_slots)
		return;
	c->cap = ocap ? ocap * 2 : ADOPT_FIRST;
	c->slots = xcalloc(c->cap, sizeof(*c->slots));
	for (i = 0; i < ocap; i++)
		if (old[i].used)
			*slot_of(c, old[i].addr) = old[i];
	free(old);
}

/* addr's entry in c (held), added if there is room; NULL if not. */
static struct adopt_client *
entry(struct adopt_channel *c, const unsigned char addr[16], size_t max_slots)
{
	struct adopt_client *e = slot_of(c, addr);

	if (e != NULL && e->used)
		return e;
	if (4 * (c->n + 1) > 3 * c->cap) {
		grow(c, max_slots);
		if (4 * (c->n + 1) > 3 * c->cap) {
			c->dropped++;
			return NULL;
		}
		e = slot_of(c, addr);
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->addr, addr, 16);
	e->used = 1;
	c->n++;
	return e;
}

void
adoption_note(struct adoption *a, const struct sockaddr *sa,
    const char *mirror, const char *channel, enum adoption_what what,
    int64_t now)
{
	unsigned char addr[16];
	char key[ADOPT_KEY_MAX];
	size_t klen = make_key(mirror, channel, key);
	struct adopt_channel *c;
	struct adopt_client *e;
	uint32_t t = now > 0 && now < UINT32_MAX ? (uint32_t)now : 0;

	if (klen == 0 || !addr_bytes(sa, addr) ||
	    (c = channel_find(a, key, klen, true)) == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	if ((e = entry(c, addr, a->max_slots)) != NULL) {
		if (what == ADOPT_RELEASE)
			e->release_at = t;
		else if (what == ADOPT_INDEX)
			e->index_at = t;
		else
			e->pool_at = t;
	}
	pthread_mutex_unlock(&c->lock);
}

bool
adoption_upgraded(struct adoption *a, const struct sockaddr *sa,
    const char *mirror, const char *channel, int64_t moved_at)
{
	unsigned char addr[16];
	char key[ADOPT_KEY_MAX];
	size_t klen = make_key(mirror, channel, key);
	struct adopt_channel *c;
	struct adopt_client *e;
	bool yes = false;

	if (klen == 0 || !addr_bytes(sa, addr) ||
	    (c = channel_find(a, key, klen, false)) == NULL)
		return false;
	pthread_mutex_lock(&c->lock);
	e = slot_of(c, addr);
	yes = e != NULL && e->used && e->pool_at != 0 &&
	    e->pool_at >= moved_at;
	pthread_mutex_unlock(&c->lock);
	return yes;
}

void
adoption_counts(struct adoption *a, const char *mirror, const char *channel,
    int64_t moved_at, int64_t window, int64_t now,
    struct adoption_counts *out)
{
	char key[ADOPT_KEY_MAX];
	size_t klen = make_key(mirror, channel, key), i;
	struct adopt_channel *c;

	memset(out, 0, sizeof(*out));
	if (klen == 0 || (c = channel_find(a, key, klen, false)) == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->cap; i++) {
		const struct adopt_client *e = &c->slots[i];

		if (!e->used)
			continue;
		out->tracked++;
		if (e->release_at && (int64_t)e->release_at >= now - window)
			out->clients++;
		if (e->index_at && (int64_t)e->index_at >= moved_at)
			out->indices++;
		if (e->pool_at && (int64_t)e->pool_at >= moved_at)
			out->upgraded++;
	}
	out->dropped = c->dropped;
	pthread_mutex_unlock(&c->lock);
}

unsigned
adoption_share(const struct adoption_counts *n)
{
	if (n->clients == 0)
		return 0;
	return n->indices >= n->clients ? 100 :
	    (unsigned)(n->indices * 100 / n->clients);
}

/* --- the file -------------------------------------------------------- */

char *
adoption_file(const char *store)
{
	return xasprintf("%s/adoption", store);
}

/* One table: key length, key, dropped, count, the entries in use. */
static void
save_one(struct buf *b, struct adopt_channel *c)
{
	uint32_t kl = (uint32_t)c->klen, n;
	size_t i;

	pthread_mutex_lock(&c->lock);
	n = (uint32_t)c->n;
	buf_add(b, &kl, sizeof(kl));
	buf_add(b, c->key, kl);
	buf_add(b, &c->dropped, sizeof(c->dropped));
	buf_add(b, &n, sizeof(n));
	for (i = 0; i < c->cap; i++)
		if (c->slots[i].used)
			buf_add(b, &c->slots[i], sizeof(c->slots[i]));
	pthread_mutex_unlock(&c->lock);
}

int
adoption_save(struct adoption *a, const char *path, struct merr *err)
{
	struct buf b = BUF_INIT;
	size_t i, n;
	int rc;
	/* One saver at a time: write_file_atomic's temp name is per process. */
	static pthread_mutex_t saving = PTHREAD_MUTEX_INITIALIZER;
	struct adopt_channel **v;

	buf_adds(&b, ADOPT_MAGIC);
	/* Tables are never removed, but the list may grow meanwhile. */
	pthread_mutex_lock(&a->lock);
	n = a->n;
	v = xcalloc(n + 1, sizeof(*v));
	if (n > 0)
		memcpy(v, a->ch, n * sizeof(*v));
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < n; i++)
		save_one(&b, v[i]);
	free(v);
	pthread_mutex_lock(&saving);
	rc = write_file_atomic(path, b.p, b.len, 0644, err);
	pthread_mutex_unlock(&saving);
	buf_release(&b);
	return rc;
}

/* Reads n bytes at *off of data (len); false past the end. */
static bool
take(const char *data, size_t len, size_t *off, void *out, size_t n)
{
	if (len - *off < n)
		return false;
	memcpy(out, data + *off, n);
	*off += n;
	return true;
}

/* One table from data at *off into a (loading; nothing else runs). */
static bool
load_one(struct adoption *a, const char *data, size_t len, size_t *off)
{
	struct adopt_channel *c;
	struct adopt_client e;
	char key[ADOPT_KEY_MAX];
	uint64_t dropped;
	uint32_t kl, n, i;

	if (!take(data, len, off, &kl, sizeof(kl)) || kl == 0 ||
	    kl > ADOPT_KEY_MAX || !take(data, len, off, key, kl) ||
	    memchr(key, '\0', kl) == NULL ||
	    !take(data, len, off, &dropped, sizeof(dropped)) ||
	    !take(data, len, off, &n, sizeof(n)) ||
	    (len - *off) / sizeof(e) < n)
		return false;
	c = channel_find(a, key, kl, true);
	c->dropped += dropped;
	for (i = 0; i < n; i++) {
		struct adopt_client *s;

		take(data, len, off, &e, sizeof(e));
		if (e.used != 1 || (s = entry(c, e.addr, a->max_slots)) ==
		    NULL)
			return false;
		*s = e;
	}
	return true;
}

int
adoption_load(struct adoption *a, const char *path, struct merr *err)
{
	struct adoption *fresh = adoption_new(a->max_slots), swap;
	char *data = NULL;
	size_t len = 0, off = strlen(ADOPT_MAGIC);
	int rc;

	if (access(path, F_OK) != 0 && errno == ENOENT) {
		adoption_free(fresh);
		return 0;
	}
	rc = read_file(path, ADOPT_FILE_MAX, &data, &len, err);
	if (rc == 0 && (len < off || memcmp(data, ADOPT_MAGIC, off) != 0))
		rc = merr_set(err, MERR_PARSE, "'%s': not an adoption file",
		    path);
	while (rc == 0 && off < len)
		if (!load_one(fresh, data, len, &off))
			rc = merr_set(err, MERR_PARSE, "'%s': a table that "
			    "does not parse at byte %zu", path, off);
	free(data);
	if (rc == 0) {
		/* The loaded tables replace a's (nothing else runs yet). */
		pthread_mutex_lock(&a->lock);
		swap.ch = a->ch;
		swap.n = a->n;
		a->ch = fresh->ch;
		a->n = fresh->n;
		fresh->ch = swap.ch;
		fresh->n = swap.n;
		pthread_mutex_unlock(&a->lock);
	}
	adoption_free(fresh);
	return rc;
}
