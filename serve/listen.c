/*
 * listen.c: the listening sockets (see listen.h), moved out of http.c.
 */
#include "mirrord/common.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include "serve/listen.h"

unsigned
listen_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6 ?
	    ((const struct sockaddr_in6 *)(const void *)ss)->sin6_port :
	    ((const struct sockaddr_in *)(const void *)ss)->sin_port);
}

void
listen_set_port(struct sockaddr_storage *ss, unsigned port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)ss)->sin6_port =
		    htons((uint16_t)port);
	else
		((struct sockaddr_in *)(void *)ss)->sin_port =
		    htons((uint16_t)port);
}

int
listen_parse(const char *spec, struct sockaddr_storage *ss,
    socklen_t *sslen, struct merr *err)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;
	const char *colon, *port;
	char host[256];
	size_t hl;
	uint64_t pn;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		hl = (size_t)(rb - spec - 1);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, spec + 1, hl);
		host[hl] = '\0';
		port = rb + 2;
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		*sslen = sizeof(*s6);
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL)
			goto bad;
		hl = (size_t)(colon - spec);
		if (hl >= sizeof(host) || memchr(spec, ':', hl) != NULL)
			goto bad;
		memcpy(host, spec, hl);
		host[hl] = '\0';
		port = colon + 1;
		s4->sin_family = AF_INET;
		*sslen = sizeof(*s4);
		if (hl == 0 || strcmp(host, "*") == 0)
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
			struct addrinfo hints, *ai;

			/* A host name: its first address. */
			memset(&hints, 0, sizeof(hints));
			hints.ai_family = AF_UNSPEC;
			hints.ai_socktype = SOCK_STREAM;
			if (getaddrinfo(host, NULL, &hints, &ai) != 0)
				return merr_set(err, MERR_INVAL, "cannot "
				    "listen on '%s': unknown host '%s'", spec,
				    host);
			memcpy(ss, ai->ai_addr, ai->ai_addrlen);
			*sslen = ai->ai_addrlen;
			freeaddrinfo(ai);
		}
	}
	if (parse_u64(port, strlen(port), 65535, &pn) != 0)
		goto bad;
	listen_set_port(ss, (unsigned)pn);
	return 0;
bad:
	return merr_set(err, MERR_INVAL, "bad listen address '%s' (want "
	    "HOST:PORT or [ADDRESS]:PORT)", spec);
}

/* One socket bound to ss, listening if reuseport; its port in *port. */
static int
listen_socket(const char *spec, const struct sockaddr_storage *ss,
    socklen_t len, bool reuseport, unsigned *port, struct merr *err)
{
	int fd, rc, one = 1, zero = 0;
	struct sockaddr_storage got;
	socklen_t gl = sizeof(got);

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0)
		return merr_errno(err, "cannot listen on '%s'", spec);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		rc = merr_errno(err, "cannot listen on '%s': SO_REUSEPORT",
		    spec);
		close(fd);
		return rc;
	}
	/* "[::]" serves IPv4 too, whatever the system default. */
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 ||
	    (reuseport && listen(fd, SOMAXCONN) < 0) ||
	    getsockname(fd, (struct sockaddr *)&got, &gl) < 0) {
		rc = merr_errno(err, "cannot listen on '%s'", spec);
		close(fd);
		return rc;
	}
	*port = listen_port(&got);
	return fd;
}

int
listen_all(const char *spec, struct sockaddr_storage *ss, socklen_t len,
    int *fds, unsigned n, unsigned *port, struct merr *err)
{
	unsigned i;
	int probe, rc = 0;

	probe = listen_socket(spec, ss, len, false, port, err);
	if (probe < 0)
		return probe;
	listen_set_port(ss, *port);
	close(probe);
	for (i = 0; i < n; i++) {
		fds[i] = listen_socket(spec, ss, len, true, port, err);
		if (fds[i] < 0) {
			rc = fds[i];
			while (i-- > 0)
				close(fds[i]);
			break;
		}
	}
	return rc;
}
