/*
 * t_limits.c: Max-Clients and Max-Clients-Per-IP (serve/limits.h), and
 * a client address as text.
 */
#include "mirrord/common.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "serve/limits.h"
#include "tests/unit/tap.h"

static struct sockaddr_in
v4(const char *a)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

int
main(void)
{
	struct limits *l = limits_new(3, 2);
	struct sockaddr_in a = v4("192.0.2.1"), b = v4("192.0.2.2");
	struct sockaddr_in6 m;
	struct limits_client *c1, *c2, *c3;
	const struct sockaddr *sa = (const struct sockaddr *)&a;
	const struct sockaddr *sb = (const struct sockaddr *)&b;
	char text[LIMITS_HOST_LEN];

	ok(limits_admit(l, 0, sa), "a first connection is admitted");
	c1 = limits_enter(l, sa);
	c2 = limits_enter(l, sa);
	ok(c1 != NULL && c1 == c2, "an address has one entry");
	is_str(limits_client_host(c1), "192.0.2.1", "its text");
	ok(!limits_admit(l, 2, sa), "a third from it is over Max-Clients-Per-IP");
	ok(limits_admit(l, 2, sb), "another address is admitted");
	c3 = limits_enter(l, sb);
	ok(!limits_admit(l, 3, sb), "over Max-Clients in all");
	limits_leave(l, c2);
	ok(limits_admit(l, 2, sa), "a connection closed frees a slot");
	limits_leave(l, c1);
	limits_leave(l, c3);
	ok(limits_enter(l, NULL) == NULL, "no address: not counted");

	/* An IPv4 client of a dual-stack socket: as plain IPv4. */
	memset(&m, 0, sizeof(m));
	m.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:198.51.100.7", &m.sin6_addr);
	limits_addr_text((const struct sockaddr *)&m, text, sizeof(text));
	is_str(text, "198.51.100.7", "a v4-mapped address as IPv4");
	inet_pton(AF_INET6, "2001:db8::1", &m.sin6_addr);
	limits_addr_text((const struct sockaddr *)&m, text, sizeof(text));
	is_str(text, "2001:db8::1", "an IPv6 address");
	limits_addr_text(NULL, text, sizeof(text));
	is_str(text, "-", "no address: '-'");
	limits_free(l);
	return tap_done();
}
