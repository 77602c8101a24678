/*
 * t_channel.c: the rollback rule (channel_log_rollbacks()), which both
 * rollback and retention follow.
 *
 * Logs are written by hand as channel_move() writes them; the stacked
 * targets are checked against a model that does what the commands do: a
 * rollback is appended to the log and the next one computed from that.
 */
#include "mirrord/common.h"

#include "mirrord/channel.h"
#include "tap.h"

#define LOG_MAX 64

struct log {
	struct channel_log e[LOG_MAX];
	size_t n;
	char cur[SNAP_ID_LEN + 1];
};

/* The snapshot ID of a small number k: 20240101T00000kZ. */
static void
sid(unsigned k, char out[SNAP_ID_LEN + 1])
{
	snprintf(out, SNAP_ID_LEN + 1, "20240101T%06uZ", k);
}

static void
log_add(struct log *lg, const char *action, const char *to)
{
	struct channel_log *e = &lg->e[lg->n++];

	memset(e, 0, sizeof(*e));
	e->action = (char *)action;
	e->by = (char *)"t@h";
	memcpy(e->from, lg->cur, sizeof(e->from));
	snprintf(e->to, sizeof(e->to), "%s", to);
	memcpy(lg->cur, e->to, sizeof(lg->cur));
}

static void
promote(struct log *lg, unsigned k)
{
	char id[SNAP_ID_LEN + 1];

	sid(k, id);
	log_add(lg, "promote", id);
}

static void
refresh(struct log *lg)
{
	char id[SNAP_ID_LEN + 1];

	memcpy(id, lg->cur, sizeof(id));
	log_add(lg, "refresh", id);
}

/* A rollback as the command does it; false if there is none. */
static bool
rollback(struct log *lg)
{
	const char *to;
	char id[SNAP_ID_LEN + 1];

	if (channel_log_rollbacks(lg->e, lg->n, 1, &to) == 0)
		return false;
	memcpy(id, to, sizeof(id));
	log_add(lg, "rollback", id);
	return true;
}

/* "A B C": the targets depth successive rollbacks reach, by the model. */
static void
model(const struct log *lg, size_t depth, char *out, size_t outlen)
{
	struct log copy = *lg;
	size_t i;

	out[0] = '\0';
	for (i = 0; i < depth && copy.n < LOG_MAX && rollback(&copy); i++)
		snprintf(out + strlen(out), outlen - strlen(out), "%s%s",
		    i ? " " : "", copy.cur);
}

static void
walk(const struct log *lg, size_t depth, char *out, size_t outlen)
{
	const char *to[LOG_MAX];
	size_t n, i;

	n = channel_log_rollbacks(lg->e, lg->n, depth, to);
	out[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(out + strlen(out), outlen - strlen(out), "%s%s",
		    i ? " " : "", to[i]);
}

/* The targets as short numbers, "1 2", for readable expectations. */
static void
shorten(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	while (*in && o + 8 < outlen) {
		unsigned k = (unsigned)strtoul(in + 9, NULL, 10);

		o += (size_t)snprintf(out + o, outlen - o, "%s%u", o ? " " : "",
		    k);
		in += SNAP_ID_LEN;
		if (*in == ' ')
			in++;
	}
	out[o] = '\0';
}

static void
check(const struct log *lg, size_t depth, const char *want, const char *what)
{
	char got[2048], m[2048], s[256];

	walk(lg, depth, got, sizeof(got));
	shorten(got, s, sizeof(s));
	is_str(s, want, "%s: depth %zu", what, depth);
	model(lg, depth, m, sizeof(m));
	is_str(got, m, "%s: depth %zu as successive rollbacks", what, depth);
}

/* A small deterministic generator for random logs. */
static uint32_t rng = 2463534242u;

static uint32_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

int
main(void)
{
	struct log lg;
	size_t round, depth, mismatches = 0;

	/* The issue: promote A, then B, one refresh. */
	memset(&lg, 0, sizeof(lg));
	promote(&lg, 1);
	check(&lg, 1, "", "a first promotion");
	promote(&lg, 2);
	refresh(&lg);
	check(&lg, 1, "1", "a refresh after two promotions");
	refresh(&lg);
	refresh(&lg);
	check(&lg, 5, "1", "refreshes are not moves");

	/* Stacked rollbacks, with refreshes between them. */
	memset(&lg, 0, sizeof(lg));
	promote(&lg, 1);
	promote(&lg, 2);
	refresh(&lg);
	promote(&lg, 3);
	refresh(&lg);
	promote(&lg, 4);
	refresh(&lg);
	check(&lg, 1, "3", "four promotions");
	check(&lg, 2, "3 2", "four promotions");
	check(&lg, 3, "3 2 1", "four promotions");
	check(&lg, 10, "3 2 1", "four promotions, deeper than the log");
	ok(rollback(&lg), "a rollback");
	refresh(&lg);
	check(&lg, 2, "2 1", "after a rollback and a refresh");
	promote(&lg, 5);
	check(&lg, 3, "3 2 1", "a promotion after a rollback");
	ok(rollback(&lg), "a rollback of it");
	check(&lg, 2, "2 1", "two rollbacks stacked");

	/* The same promotion twice: both are targets, in order. */
	memset(&lg, 0, sizeof(lg));
	promote(&lg, 1);
	promote(&lg, 2);
	promote(&lg, 1);
	promote(&lg, 3);
	check(&lg, 3, "1 2 1", "a target promoted twice");

	/* Random logs: the walk agrees with successive rollbacks. */
	for (round = 0; round < 2000; round++) {
		char got[2048], m[2048];
		size_t steps = 1 + next_rand() % 40, i;

		memset(&lg, 0, sizeof(lg));
		promote(&lg, 1 + next_rand() % 8);
		for (i = 0; i < steps && lg.n < LOG_MAX - 16; i++) {
			uint32_t r = next_rand() % 10;

			if (r < 4)
				promote(&lg, 1 + next_rand() % 8);
			else if (r < 7)
				(void)rollback(&lg);
			else
				refresh(&lg);
		}
		for (depth = 0; depth <= 6; depth++) {
			walk(&lg, depth, got, sizeof(got));
			model(&lg, depth, m, sizeof(m));
			if (strcmp(got, m) != 0)
				mismatches++;
		}
	}
	is_int(mismatches, 0, "2000 random logs: the walk is successive "
	    "rollbacks at depths 0 to 6");
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
