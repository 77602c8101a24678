/*
 * limits.h: Max-Clients and Max-Clients-Per-IP (private to serve/).
 *
 * Open connections per client address, so that one host holding idle
 * connections (slowloris) cannot take every slot: one entry per address
 * with connections open (so at most Max-Clients of them), in a chained
 * hash table. A connection holds its address's entry from its start
 * (limits_enter()) to its close (limits_leave()); the entry also keeps
 * the address as text, made once, for the access log.
 *
 * The total of open connections is not counted here but by the caller
 * (http.c counts it in struct metrics for /metrics) and passed to
 * limits_admit().
 *
 * Threads: every server thread calls in concurrently (libmicrohttpd's
 * accept and connection callbacks); one mutex guards the table, held
 * only for a lookup. A connection's entry is only freed by its last
 * limits_leave(), so its host text may be read without the lock for as
 * long as the connection is open.
 */
#ifndef SERVE_LIMITS_H
#define SERVE_LIMITS_H

#include <sys/socket.h>

#include <arpa/inet.h>

#include "mirrord/common.h"

/* Room for an address as text and its NUL. */
#define LIMITS_HOST_LEN (INET6_ADDRSTRLEN + 1)

struct limits;
struct limits_client;

/*
 * A table admitting max_clients connections in all and max_per_ip from
 * one address. Owned: free with limits_free() once every connection has
 * left.
 */
struct limits *limits_new(unsigned max_clients, unsigned max_per_ip);
void limits_free(struct limits *l);

/*
 * May a connection from sa be accepted, open being the connections open
 * in all? Threads accepting at the same instant may each pass the check,
 * so a limit can be exceeded by at most the thread count.
 */
bool limits_admit(struct limits *l, long open, const struct sockaddr *sa);

/*
 * Counts a connection from sa and returns its address's entry, borrowed
 * until the matching limits_leave(); NULL for an address that is neither
 * IPv4 nor IPv6 (not counted).
 */
struct limits_client *limits_enter(struct limits *l,
    const struct sockaddr *sa);
/* Uncounts a connection of c (not NULL), freeing c with the last. */
void limits_leave(struct limits *l, struct limits_client *c);
/* c's address as text (as limits_addr_text()), valid as long as c. */
const char *limits_client_host(const struct limits_client *c);

/*
 * sa's address as text into out (size n): IPv4 clients of a dual-stack
 * socket as plain IPv4; "-" for NULL or another family.
 */
void limits_addr_text(const struct sockaddr *sa, char *out, size_t n);

#endif
