/*
 * limits.c: connections per client address (see limits.h), moved out of
 * http.c.
 */
#include "mirrord/common.h"

#include <netinet/in.h>
#include <pthread.h>

#include "mirrord/hash.h"
#include "serve/limits.h"

#define LIMITS_BUCKETS 1024

/* A client address with open connections. */
struct limits_client {
	struct limits_client *next;
	unsigned char addr[16];	/* IPv6, or IPv4 as ::ffff:a.b.c.d */
	unsigned n;		/* connections open */
	char host[LIMITS_HOST_LEN];
};

struct limits {
	unsigned max_clients;	/* Max-Clients: open connections, in all */
	unsigned max_per_ip;	/* Max-Clients-Per-IP: from one address */
	pthread_mutex_t lock;
	struct limits_client *b[LIMITS_BUCKETS];
};

struct limits *
limits_new(unsigned max_clients, unsigned max_per_ip)
{
	struct limits *l = xcalloc(1, sizeof(*l));

	l->max_clients = max_clients;
	l->max_per_ip = max_per_ip;
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void
limits_free(struct limits *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l);	/* empty: every connection closed */
}

void
limits_addr_text(const struct sockaddr *sa, char *out, size_t n)
{
	snprintf(out, n, "-");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr, out, (socklen_t)n);
	else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr;

		/* IPv4 clients of a dual-stack socket: as plain IPv4. */
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out,
			    (socklen_t)n);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)n);
	}
}

/* sa's address as 16 bytes; false for other families. */
static bool
key_of(const struct sockaddr *sa, unsigned char out[16])
{
	memset(out, 0, 16);
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

/* key's place in the table (under the lock). */
static struct limits_client **
slot(struct limits *l, const unsigned char key[16])
{
	struct limits_client **e;

	for (e = &l->b[hash_fnv1a(HASH_FNV1A_INIT, key, 16) % LIMITS_BUCKETS];
	    *e != NULL; e = &(*e)->next)
		if (memcmp((*e)->addr, key, 16) == 0)
			break;
	return e;
}

/* Connections open from sa's address now. */
static unsigned
count(struct limits *l, const struct sockaddr *sa)
{
	unsigned char key[16];
	struct limits_client **e;
	unsigned n = 0;

	if (!key_of(sa, key))
		return 0;
	pthread_mutex_lock(&l->lock);
	e = slot(l, key);
	if (*e != NULL)
		n = (*e)->n;
	pthread_mutex_unlock(&l->lock);
	return n;
}

bool
limits_admit(struct limits *l, long open, const struct sockaddr *sa)
{
	return open < (long)l->max_clients && count(l, sa) < l->max_per_ip;
}

struct limits_client *
limits_enter(struct limits *l, const struct sockaddr *sa)
{
	struct limits_client **e, *c;
	unsigned char key[16];

	if (!key_of(sa, key))
		return NULL;
	pthread_mutex_lock(&l->lock);
	e = slot(l, key);
	if (*e == NULL) {
		*e = xcalloc(1, sizeof(**e));
		memcpy((*e)->addr, key, 16);
		limits_addr_text(sa, (*e)->host, sizeof((*e)->host));
	}
	(*e)->n++;
	c = *e;
	pthread_mutex_unlock(&l->lock);
	return c;
}

void
limits_leave(struct limits *l, struct limits_client *c)
{
	struct limits_client **e;

	pthread_mutex_lock(&l->lock);
	if (--c->n == 0) {
		e = slot(l, c->addr);
		*e = c->next;
		free(c);
	}
	pthread_mutex_unlock(&l->lock);
}

const char *
limits_client_host(const struct limits_client *c)
{
	return c->host;
}
