/*
 * t_adoption: fleet adoption tables (serve/adoption.h): what counts, the
 * window and the move, a full table, addresses of both families, and the
 * file: a round trip, a missing file, a corrupt one that loads nothing.
 */
#include "mirrord/common.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>

#include "mirrord/adoption.h"
#include "helpers.h"
#include "tap.h"

static struct sockaddr_storage
v4(const char *s)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	in->sin_family = AF_INET;
	inet_pton(AF_INET, s, &in->sin_addr);
	return ss;
}

static struct sockaddr_storage
v6(const char *s)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	in->sin6_family = AF_INET6;
	inet_pton(AF_INET6, s, &in->sin6_addr);
	return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))

static void
note4(struct adoption *a, int host, const char *ch, enum adoption_what w,
    int64_t t)
{
	char ip[32];
	struct sockaddr_storage ss;

	snprintf(ip, sizeof(ip), "10.%d.%d.%d", host / 65536 % 256,
	    host / 256 % 256, host % 256);
	ss = v4(ip);
	adoption_note(a, SA(ss), "demo", ch, w, t);
}

static void
test_counts(void)
{
	struct adoption *a = adoption_new(0);
	struct adoption_counts c;
	struct sockaddr_storage x = v4("192.0.2.1"), y = v6("2001:db8::1"),
	    mapped = v6("::ffff:192.0.2.1");
	int i;

	/* 10 machines ran apt update; 6 took the new indices, 3 upgraded. */
	for (i = 0; i < 10; i++)
		note4(a, i, "production", ADOPT_RELEASE, 1000 + i);
	for (i = 0; i < 6; i++)
		note4(a, i, "production", ADOPT_INDEX, 1100);
	for (i = 0; i < 3; i++)
		note4(a, i, "production", ADOPT_POOL, 1200);
	adoption_counts(a, "demo", "production", 1050, 3600, 2000, &c);
	is_int(c.clients, 10, "clients in the window");
	is_int(c.indices, 6, "took the new indices");
	is_int(c.upgraded, 3, "upgraded");
	is_int(c.tracked, 10, "tracked");
	/* A later move: nobody has its indices or files yet. */
	adoption_counts(a, "demo", "production", 1300, 3600, 2000, &c);
	is_int(c.indices, 0, "a later move: no new indices yet");
	is_int(c.upgraded, 0, "a later move: nobody upgraded yet");
	/* The window: the updates of the last 5 seconds (1004 to 1009). */
	adoption_counts(a, "demo", "production", 0, 5, 1009, &c);
	is_int(c.clients, 6, "a window of 5 s");
	/* Other channels and mirrors are apart. */
	adoption_counts(a, "demo", "staging", 0, 3600, 2000, &c);
	is_int(c.tracked, 0, "another channel: nothing");
	adoption_counts(a, "other", "production", 0, 3600, 2000, &c);
	is_int(c.tracked, 0, "another mirror: nothing");
	/* IPv4 and its mapped IPv6 are one machine; another IPv6 is not. */
	adoption_note(a, SA(x), "demo", "staging", ADOPT_RELEASE, 1500);
	adoption_note(a, SA(mapped), "demo", "staging", ADOPT_RELEASE, 1500);
	adoption_note(a, SA(y), "demo", "staging", ADOPT_RELEASE, 1500);
	adoption_counts(a, "demo", "staging", 0, 3600, 2000, &c);
	is_int(c.tracked, 2, "v4 and v4-mapped v6 are one address");
	ok(!adoption_upgraded(a, SA(x), "demo", "staging", 0),
	    "not upgraded before a pool fetch");
	adoption_note(a, SA(x), "demo", "staging", ADOPT_POOL, 1600);
	ok(adoption_upgraded(a, SA(x), "demo", "staging", 1600),
	    "upgraded since the move");
	ok(!adoption_upgraded(a, SA(x), "demo", "staging", 1601),
	    "not since a later move");
	adoption_free(a);
}

static void
test_full(void)
{
	struct adoption *a = adoption_new(1024);
	struct adoption_counts c;
	int i;

	for (i = 0; i < 2000; i++)
		note4(a, i, "production", ADOPT_RELEASE, 1000);
	adoption_counts(a, "demo", "production", 0, 3600, 1000, &c);
	is_int(c.tracked, 768, "a full table keeps 3/4 of its slots");
	is_int(c.dropped, 2000 - 768, "the others are counted as dropped");
	is_int(c.clients, 768, "those it keeps are counted");
	/* Growth: 100,000 addresses in a table allowed to grow. */
	adoption_free(a);
	a = adoption_new(0);
	for (i = 0; i < 100000; i++)
		note4(a, i, "production", ADOPT_RELEASE, 1000);
	adoption_counts(a, "demo", "production", 0, 3600, 1000, &c);
	is_int(c.tracked, 100000, "100,000 addresses tracked");
	is_int(c.dropped, 0, "none dropped");
	adoption_free(a);
}

static void
test_file(const char *dir)
{
	struct adoption *a = adoption_new(0), *b = adoption_new(0);
	struct adoption_counts c;
	struct merr err = { 0 };
	char *path = xasprintf("%s/adoption", dir);
	char *bad = xasprintf("%s/bad", dir);
	int i, rc;

	is_int(adoption_load(b, path, &err), 0, "a missing file: no error");
	for (i = 0; i < 50; i++) {
		note4(a, i, "production", ADOPT_RELEASE, 1000);
		if (i % 2)
			note4(a, i, "production", ADOPT_POOL, 1100);
	}
	note4(a, 7, "staging", ADOPT_INDEX, 1200);
	is_int(adoption_save(a, path, &err), 0, "saved");
	is_int(adoption_load(b, path, &err), 0, "loaded");
	adoption_counts(b, "demo", "production", 1050, 3600, 1500, &c);
	is_int(c.clients, 50, "round trip: clients");
	is_int(c.upgraded, 25, "round trip: upgraded");
	adoption_counts(b, "demo", "staging", 1150, 3600, 1500, &c);
	is_int(c.indices, 1, "round trip: the other channel");
	/* A corrupt file loads nothing and says where. */
	write_file_atomic(bad, "mirrord adoption 1\n\x05\0\0\0demo", 27, 0644,
	    &err);
	rc = adoption_load(b, bad, &err);
	is_int(rc, MERR_PARSE, "a truncated table: MERR_PARSE");
	ok(strstr(err.msg, "bad") != NULL, "the message names the file (%s)",
	    err.msg);
	adoption_counts(b, "demo", "production", 1050, 3600, 1500, &c);
	is_int(c.clients, 50, "and the tables stay as they were");
	write_file_atomic(bad, "not ours", 8, 0644, &err);
	is_int(adoption_load(b, bad, &err), MERR_PARSE,
	    "another file: MERR_PARSE");
	free(path);
	free(bad);
	adoption_free(a);
	adoption_free(b);
}

int
main(void)
{
	char *dir = helpers_tmpdir_new("t_adoption");

	test_counts();
	test_full();
	if (dir != NULL) {
		test_file(dir);
		helpers_tmpdir_free(dir);
	} else
		ok(0, "a temporary folder");
	return tap_done();
}
