/*
 * t_channel.c: the rollback rule (channel_log_rollbacks()), which both
 * rollback and retention follow.
 *
 * Logs are written by hand as channel_move() writes them; the stacked
 * targets are checked against a model that does what the commands do: a
 * rollback is appended to the log and the next one computed from that.
 * Then the same rule through a store (mkdtemp(), a generated signing
 * key): real promotions, stacked rollbacks and a refresh, what
 * channel_rollback_targets() says at each Channel-History, and what
 * retention keeps and gc_drop refuses for it.
 */
#include "mirrord/common.h"

#include "mirrord/channel.h"
#include "mirrord/conf.h"
#include "mirrord/gc.h"
#include "mirrord/gpg.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "helpers.h"
#include "snapfix.h"
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

/* Commits a snapshot of mirror "m" whose suite stable has Release text. */
static void
store_commit(struct store *s, const char *text, char id[SNAP_ID_LEN + 1])
{
	struct merr err = { 0, "" };
	struct snap sn;
	struct snap_delta *d = snap_delta_new();
	unsigned char h[HASH_LEN];
	int rc;

	rc = snapfix_file(s, snapfix_init(&sn), "Release", text, h, &err);
	if (rc == 0)
		rc = snap_commit(s, "m", &sn, d, NULL, &err);
	ok(rc == 0, "commit a snapshot (%s)", rc ? err.msg : "ok");
	memcpy(id, sn.id, SNAP_ID_LEN + 1);
	snap_release(&sn);
	snap_delta_free(d);
}

/* Appends each target ID to a buf, space-separated. */
static int
add_target(void *ctx, const char *id, struct merr *err)
{
	struct buf *b = ctx;

	buf_addf(b, "%s%s", b->len ? " " : "", id);
	return 0;
}

/* What channel_rollback_targets() says at depth: IDs, space-separated. */
static void
check_targets(struct store *s, size_t depth, const char *want,
    const char *what)
{
	struct merr err = { 0, "" };
	struct store_txn *t;
	struct buf b = BUF_INIT;
	int rc;

	buf_adds(&b, "");
	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0) {
		rc = channel_rollback_targets(t, "m", "prod", depth,
		    add_target, &b, &err);
		store_txn_abort(t);
	}
	ok(rc == 0, "%s: depth %zu: targets read (%s)", what, depth,
	    rc ? err.msg : "ok");
	is_str(b.p, want, "%s: depth %zu", what, depth);
	buf_release(&b);
}

/* A move under the channel lock: promote ref, or roll back (ref NULL). */
static void
move(struct store *s, struct gpg_signer *g, const char *ref,
    const char *want, const char *what)
{
	struct channel_move_opts mo = { "test@host", 0, NULL, NULL };
	struct merr err = { 0, "" };
	char target[SNAP_ID_LEN + 1] = "";
	int rc;

	rc = store_lock_channels(s, "t_channel", false, &err);
	if (rc == 0 && ref)
		rc = channel_promote(s, g, "m", ref, "prod", &mo, target,
		    &err);
	else if (rc == 0)
		rc = channel_rollback(s, g, "m", "prod", &mo, target, &err);
	store_unlock_channels(s);
	ok(rc == 0, "%s (%s)", what, rc ? err.msg : "ok");
	is_str(target, want, "%s: the target", what);
}

/* Retention (dry run unless real) at Channel-History history. */
static uint64_t
retain(struct store *s, struct conf *c, unsigned history, bool real)
{
	struct merr err = { 0, "" };
	struct gc_stats st;
	int rc;

	c->channel_history = history;
	rc = gc_run(s, c, &c->mirrors[0], 3600, !real, &st, &err);
	ok(rc == 0, "retention at Channel-History %u (%s)", history,
	    rc ? err.msg : "ok");
	return st.snapshots_dropped;
}

static void
test_store(const char *root)
{
	struct merr err = { 0, "" };
	struct store *s = NULL;
	struct gpg_signer *g = NULL;
	struct gc_stats st;
	struct conf c;
	struct conf_mirror m;
	char id[5][SNAP_ID_LEN + 1], want[4 * (SNAP_ID_LEN + 1)];
	char *p, **ids = NULL;
	struct store_txn *t;
	size_t n = 0, i;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&m, 0, sizeof(m));
	m.name = "m";
	c.mirrors = &m;
	c.nmirrors = 1;
	c.keep_snapshots = "last 1";
	p = xasprintf("%s/store", root);
	rc = store_open(p, true, &s, &err);
	free(p);
	if (rc == 0)
		rc = store_lock(s, "t_channel", false, &err);
	p = xasprintf("%s/signing-key.asc", root);
	if (rc == 0)
		rc = gpg_signer_new(p, true, &g, &err);
	free(p);
	if (rc) {
		ok(0, "a store and a signing key (%s)", err.msg);
		store_close(s);
		return;
	}
	for (i = 0; i < 5; i++) {
		char text[64];

		snprintf(text, sizeof(text), "Suite: stable\nVersion: %zu\n",
		    i + 1);
		store_commit(s, text, id[i]);
	}
	for (i = 0; i < 5; i++)
		move(s, g, id[i], id[i], "promote");
	snprintf(want, sizeof(want), "%s %s %s", id[3], id[2], id[1]);
	check_targets(s, 3, want, "five promotions");

	/* Two rollbacks stack: the second passes the first's promotion. */
	move(s, g, NULL, id[3], "a rollback");
	move(s, g, NULL, id[2], "a second rollback");
	snprintf(want, sizeof(want), "%s", id[1]);
	check_targets(s, 1, want, "two rollbacks stacked");
	snprintf(want, sizeof(want), "%s %s", id[1], id[0]);
	check_targets(s, 2, want, "two rollbacks stacked");
	check_targets(s, 5, want, "two rollbacks stacked, deeper than all");
	rc = store_lock_channels(s, "t_channel", false, &err);
	if (rc == 0) {
		struct channel_move_opts mo = { "test@host", 0, NULL, NULL };

		rc = channel_refresh(s, g, "m", "prod", &mo, &err);
	}
	store_unlock_channels(s);
	ok(rc == 0, "a refresh (%s)", rc ? err.msg : "ok");
	check_targets(s, 2, want, "a refresh counts for nothing");

	/*
	 * Retention keeps the newest (5), the target (3) and what
	 * Channel-History rollbacks reach: 2 at 1, 2 and 1 at 2.
	 */
	is_int(retain(s, &c, 2, false), 1, "history 2: only 4 would go");
	is_int(retain(s, &c, 1, false), 2, "history 1: 4 and 1 would go");
	is_int(retain(s, &c, 1, true), 2, "history 1: 4 and 1 go");
	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0) {
		rc = snap_list(t, "m", &ids, &n, &err);
		store_txn_abort(t);
	}
	ok(rc == 0 && n == 3 && strcmp(ids[0], id[1]) == 0 &&
	    strcmp(ids[1], id[2]) == 0 && strcmp(ids[2], id[4]) == 0,
	    "snapshots 2, 3 and 5 are left");
	strv_free(ids, n);

	/* gc_drop names the rollback that holds snapshot 2. */
	rc = store_lock_channels(s, "t_channel", false, &err);
	if (rc == 0)
		rc = gc_drop(s, &c, "m", id[1], &st, &err);
	store_unlock_channels(s);
	is_int(rc, MERR_BUSY, "dropping snapshot 2 is refused");
	ok(strstr(err.msg, "channel 'prod' can roll back to it within "
	    "Channel-History (1)") != NULL, "it says why: %s", err.msg);

	/* The rollback retention kept it for lands there. */
	move(s, g, NULL, id[1], "a third rollback");
	check_targets(s, 2, id[0], "after a third rollback, only 1 is left "
	    "(dropped at history 1: a fourth would fail)");
	gpg_signer_free(g);
	store_close(s);
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

	{
		char *root = helpers_tmpdir_new("t_channel");

		ok(root != NULL, "a temporary directory");
		if (root)
			test_store(root);
		helpers_tmpdir_free(root);
	}
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
