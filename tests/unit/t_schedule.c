/*
 * t_schedule.c: the daemon's clock arithmetic (schedule.h): first syncs,
 * jitter, backoff, reloads, channel re-signing.
 */
#include "mirrord/common.h"

#include "mirrord/schedule.h"
#include "tests/unit/tap.h"

#define H 3600000LL	/* an hour, in ms */

static struct conf_mirror mirrors[3];
static struct conf conf;

/* a (6 h, the global), b (1 h, its own), c (disabled). */
static void
conf_setup(void)
{
	memset(mirrors, 0, sizeof(mirrors));
	memset(&conf, 0, sizeof(conf));
	mirrors[0].name = (char *)"a";
	mirrors[0].enabled = true;
	mirrors[1].name = (char *)"b";
	mirrors[1].enabled = true;
	mirrors[1].sync_interval = 3600;
	mirrors[2].name = (char *)"c";
	mirrors[2].enabled = false;
	conf.sync_interval = 6 * 3600;
	conf.mirrors = mirrors;
	conf.nmirrors = 3;
}

static void
test_interval(void)
{
	is_int(schedule_interval_ms(&conf, &mirrors[0]), 6 * H,
	    "interval: the global one");
	is_int(schedule_interval_ms(&conf, &mirrors[1]), H,
	    "interval: the mirror's own");
	conf.sync_interval = 0;
	is_int(schedule_interval_ms(&conf, &mirrors[0]), 1000,
	    "interval: at least a second");
	conf.sync_interval = 6 * 3600;
}

static void
test_first(void)
{
	struct schedule s;
	int64_t now = 1000000;
	bool in = true;
	int i;

	for (i = 0; i < 200; i++) {
		schedule_init(&s, (uint64_t)i);
		schedule_update(&s, &conf, now);
		if (s.n != 2 || s.e[0].next < now ||
		    s.e[0].next >= now + SCHEDULE_FIRST_MAX_MS ||
		    s.e[1].next < now ||
		    s.e[1].next >= now + SCHEDULE_FIRST_MAX_MS)
			in = false;
		schedule_release(&s);
	}
	ok(in, "first syncs: the enabled mirrors, within a minute, 200 seeds");

	/* A 10 s interval: the first sync comes within 10 s, not 60. */
	mirrors[1].sync_interval = 10;
	for (i = 0; i < 200; i++) {
		schedule_init(&s, (uint64_t)i * 7919);
		schedule_update(&s, &conf, now);
		if (s.e[1].next >= now + 10000)
			in = false;
		schedule_release(&s);
	}
	ok(in, "first sync within min(interval, 60 s)");
	mirrors[1].sync_interval = 3600;

	schedule_init(&s, 42);
	schedule_update(&s, &conf, now);
	is_str(s.e[0].name, "a", "plan: in the configuration's order");
	is_str(s.e[1].name, "b", "plan: b second");
	ok(schedule_find(&s, "c") == NULL, "plan: a disabled mirror is not");
	ok(schedule_find(&s, "b") == &s.e[1], "find: b");
	schedule_release(&s);
	is_int(s.n, 0, "release empties the plan");
}

static void
test_same_seed(void)
{
	struct schedule s1, s2;

	schedule_init(&s1, 0);	/* 0 must not stick the generator */
	schedule_init(&s2, 0);
	schedule_update(&s1, &conf, 5000);
	schedule_update(&s2, &conf, 5000);
	is_int(s1.e[0].next, s2.e[0].next, "the same seed, the same plan");
	ok(s1.rng != 0, "seed 0: the generator moves");
	schedule_release(&s1);
	schedule_release(&s2);
}

static void
test_due(void)
{
	struct schedule s;

	schedule_init(&s, 1);
	schedule_update(&s, &conf, 0);
	s.e[0].next = 500;
	s.e[1].next = 300;
	ok(schedule_due(&s, 299) == NULL, "due: nothing before its time");
	ok(schedule_due(&s, 300) == &s.e[1], "due: at its time");
	ok(schedule_due(&s, 1000) == &s.e[1], "due: the longest waiting");
	ok(schedule_first(&s) == &s.e[1], "first: the earliest");
	s.e[0].next = 100;
	ok(schedule_first(&s) == &s.e[0], "first: follows the plan");
	schedule_release(&s);
	ok(schedule_first(&s) == NULL, "first: none in an empty plan");
	ok(schedule_due(&s, 0) == NULL, "due: none in an empty plan");
}

static void
test_success(void)
{
	struct schedule s;
	struct schedule_entry *e;
	int64_t start = 10 * H, lo = start + 6 * H - 6 * H / 10;
	int64_t hi = start + 6 * H + 6 * H / 10;
	bool in = true, varies = false, first = true;
	int64_t prev = 0;
	int i;

	schedule_init(&s, 99);
	schedule_update(&s, &conf, 0);
	e = schedule_find(&s, "a");
	e->fails = 3;
	for (i = 0; i < 500; i++) {
		schedule_succeeded(&s, e, start, 6 * H);
		if (e->next < lo || e->next > hi)
			in = false;
		if (!first && e->next != prev)
			varies = true;
		prev = e->next;
		first = false;
	}
	ok(in, "success: next within the interval +-10%%");
	ok(varies, "success: jittered");
	is_int(e->fails, 0, "success: failures forgotten");
	schedule_release(&s);
}

static void
test_backoff(void)
{
	struct schedule_entry e;
	int64_t want[] = { 60000, 120000, 240000, 480000, 960000, 1920000,
	    H, H };
	size_t i;

	memset(&e, 0, sizeof(e));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		is_int(schedule_failed(&e, 1000, H), want[i],
		    "failure %zu: wait", i + 1);
		is_int(e.next, 1000 + want[i], "failure %zu: next", i + 1);
	}
	is_int(e.fails, 8, "failures counted");
	e.fails = 1000;		/* the shift is capped: no overflow */
	is_int(schedule_failed(&e, 0, 1000LL * H), 1000LL * H,
	    "many failures: the interval");
	e.fails = 0;
	is_int(schedule_failed(&e, 0, 20000), 20000,
	    "a short interval caps even the first wait");

	e.fails = 2;
	is_int(schedule_busy(&e, 500, H), SCHEDULE_BUSY_MS, "busy: 30 s");
	is_int(e.next, 500 + SCHEDULE_BUSY_MS, "busy: from the start");
	is_int(e.fails, 2, "busy: not a failure");
	is_int(schedule_busy(&e, 500, 10000), 10000,
	    "busy: at most the interval");
}

static void
test_reload(void)
{
	struct schedule s;
	struct schedule_entry *e;
	int64_t now = 100 * H;

	schedule_init(&s, 5);
	schedule_update(&s, &conf, 0);
	e = schedule_find(&s, "a");
	e->next = now + 5 * H;
	e->fails = 2;
	schedule_find(&s, "b")->next = now + H / 2;
	mirrors[2].enabled = true;	/* c added */
	mirrors[0].sync_interval = 2 * 3600;	/* a: 6 h -> 2 h */
	schedule_update(&s, &conf, now);
	is_int(s.n, 3, "reload: c planned");
	e = schedule_find(&s, "a");
	ok(e->next >= now && e->next < now + SCHEDULE_FIRST_MAX_MS,
	    "reload: a shorter interval draws a's time again");
	is_int(e->fails, 2, "reload: failures kept");
	is_int(schedule_find(&s, "b")->next, now + H / 2,
	    "reload: b keeps its time");
	e = schedule_find(&s, "c");
	ok(e->next >= now && e->next < now + SCHEDULE_FIRST_MAX_MS,
	    "reload: c due within a minute");
	/* Exactly the interval and 10%: kept. */
	schedule_find(&s, "b")->next = now + H + H / 10;
	schedule_update(&s, &conf, now);
	is_int(schedule_find(&s, "b")->next, now + H + H / 10,
	    "reload: at interval+10%% kept");
	mirrors[2].enabled = false;
	mirrors[0].sync_interval = 0;
	schedule_update(&s, &conf, now);
	is_int(s.n, 2, "reload: c disabled, dropped");
	schedule_release(&s);
}

static void
test_clocks(void)
{
	is_int(schedule_wall(5000 + 90000, 5000, 1700000000), 1700000090,
	    "wall: 90 s ahead");
	is_int(schedule_mono(1700000090, 1700000000, 5000), 95000,
	    "mono: 90 s ahead");
	is_int(schedule_mono(1700000000, 1700000000, 5000), 6000,
	    "mono: now is a second from now");
	is_int(schedule_mono(1, 1700000000, 5000), 6000,
	    "mono: the past is a second from now");
}

static void
test_channels(void)
{
	int64_t at = -1;

	is_int(schedule_chan_period(0), SCHEDULE_CHAN_CHECK_S,
	    "period: 5 min without Valid-For");
	is_int(schedule_chan_period(86400), SCHEDULE_CHAN_CHECK_S,
	    "period: 5 min with a day's Valid-For");
	is_int(schedule_chan_period(600), 150, "period: a quarter of 10 min");
	is_int(schedule_chan_period(7), 1, "period: at least a second");

	is_int(schedule_chan_resign(0, 0, 0, 1000, &at), SCHEDULE_RESIGN_NEVER,
	    "no Valid-Until, none wanted: never");
	is_int(schedule_chan_resign(0, 0, 3600, 1000, &at),
	    SCHEDULE_RESIGN_NOW, "no Valid-Until, Valid-For set: now");
	is_int(schedule_chan_resign(1000, 1000 + 86400, 86400, 2000, &at),
	    SCHEDULE_RESIGN_AT, "fresh: later");
	is_int(at, 1000 + 43200, "fresh: half-way through its validity");
	is_int(schedule_chan_resign(1000, 1000 + 86400, 86400, 1000 + 43200,
	    &at), SCHEDULE_RESIGN_NOW, "half-way: now");
	is_int(schedule_chan_resign(1000, 1000 + 86400, 0, 1000 + 50000,
	    &at), SCHEDULE_RESIGN_NOW,
	    "Valid-For unset since: re-signed (without Valid-Until)");
	is_int(schedule_chan_resign(1000, 500, 3600, 2000, &at),
	    SCHEDULE_RESIGN_NOW, "expired: now");
	is_int(schedule_sooner(10, 5), 5, "sooner: t");
	is_int(schedule_sooner(5, 10), 5, "sooner: next");
}

int
main(void)
{
	conf_setup();
	test_interval();
	test_first();
	test_same_seed();
	test_due();
	test_success();
	test_backoff();
	test_reload();
	test_clocks();
	test_channels();
	return tap_done();
}
