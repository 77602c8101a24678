/*
 * listen.h: the listening sockets (private to serve/).
 *
 * mirrord binds its sockets itself rather than letting libmicrohttpd do
 * it, so that a bind error names the address and errno, and so that each
 * server thread gets a socket of its own on the address (SO_REUSEPORT:
 * the kernel spreads connections over them evenly; one shared socket
 * wakes every thread and the quickest takes the connection).
 *
 * Threads: no state; safe from any thread. Descriptors returned are
 * owned by the caller, non-blocking and close-on-exec.
 */
#ifndef SERVE_LISTEN_H
#define SERVE_LISTEN_H

#include <sys/socket.h>

#include "mirrord/common.h"

/*
 * Parses "HOST:PORT", "[V6ADDR]:PORT" (a bare "*" or empty HOST: all IPv4
 * addresses; "[::]": all addresses, IPv4 too; a host name: its first
 * address) into *ss and *sslen. PORT may be 0 here (any free port);
 * serve_run refuses it. MERR_INVAL naming spec.
 */
int listen_parse(const char *spec, struct sockaddr_storage *ss,
    socklen_t *sslen, struct merr *err);

/* The port of an AF_INET or AF_INET6 address, in host order. */
unsigned listen_port(const struct sockaddr_storage *ss);
void listen_set_port(struct sockaddr_storage *ss, unsigned port);

/*
 * Opens n listening sockets on ss (of len bytes) into fds[0..n-1], all
 * with SO_REUSEPORT, and sets *port to the port bound. The address is
 * first bound once without SO_REUSEPORT, so that an address in use (by
 * another mirrord too) is an error rather than a share of its traffic;
 * that probe also picks the port when ss asks for port 0 (ss then holds
 * it). "[::]" serves IPv4 too, whatever the system default. Errors name
 * spec ("cannot listen on '127.0.0.1:8080': Address already in use");
 * then no descriptor is left open.
 */
int listen_all(const char *spec, struct sockaddr_storage *ss, socklen_t len,
    int *fds, unsigned n, unsigned *port, struct merr *err);

#endif
