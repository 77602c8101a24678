/*
 * schedule.c: the daemon's clock arithmetic (see schedule.h).
 */
#include "mirrord/common.h"

#include "mirrord/schedule.h"

/* xorshift64*: jitter needs no more than this. */
static uint64_t
schedule_rand(struct schedule *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ull;
}

/* Uniform in [0, n); 0 if n <= 0. */
static int64_t
schedule_rand_below(struct schedule *s, int64_t n)
{
	return n > 0 ? (int64_t)(schedule_rand(s) % (uint64_t)n) : 0;
}

void
schedule_init(struct schedule *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->rng = seed | 1;	/* xorshift stays at 0 forever */
}

void
schedule_release(struct schedule *s)
{
	free(s->e);
	s->e = NULL;
	s->n = 0;
}

int64_t
schedule_interval_ms(const struct conf *c, const struct conf_mirror *m)
{
	long s = m->sync_interval > 0 ? m->sync_interval : c->sync_interval;

	return s > 0 ? (int64_t)s * 1000 : 1000;
}

void
schedule_update(struct schedule *s, const struct conf *c, int64_t now)
{
	struct schedule_entry *ns = xcalloc(c->nmirrors + 1, sizeof(*ns));
	struct schedule_entry *old;
	size_t i, n = 0;

	for (i = 0; i < c->nmirrors; i++) {
		const struct conf_mirror *m = &c->mirrors[i];
		int64_t iv = schedule_interval_ms(c, m);
		int64_t first = iv < SCHEDULE_FIRST_MAX_MS ? iv :
		    SCHEDULE_FIRST_MAX_MS;

		if (!m->enabled)
			continue;
		old = schedule_find(s, m->name);
		if (old != NULL) {
			ns[n] = *old;
			if (ns[n].next > now + iv + iv / 10)
				ns[n].next = now + schedule_rand_below(s,
				    first);
		} else {
			snprintf(ns[n].name, sizeof(ns[n].name), "%s",
			    m->name);
			ns[n].next = now + schedule_rand_below(s, first);
		}
		n++;
	}
	free(s->e);
	s->e = ns;
	s->n = n;
}

struct schedule_entry *
schedule_find(struct schedule *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->e[i].name, name) == 0)
			return &s->e[i];
	return NULL;
}

struct schedule_entry *
schedule_due(struct schedule *s, int64_t now)
{
	struct schedule_entry *due = NULL;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->e[i].next <= now && (due == NULL ||
		    s->e[i].next < due->next))
			due = &s->e[i];
	return due;
}

struct schedule_entry *
schedule_first(struct schedule *s)
{
	struct schedule_entry *first = NULL;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (first == NULL || s->e[i].next < first->next)
			first = &s->e[i];
	return first;
}

void
schedule_succeeded(struct schedule *s, struct schedule_entry *e,
    int64_t start, int64_t iv)
{
	e->fails = 0;
	e->next = start + iv + schedule_rand_below(s, iv / 5 + 1) - iv / 10;
}

int64_t
schedule_failed(struct schedule_entry *e, int64_t now, int64_t iv)
{
	unsigned shift;
	int64_t wait;

	/* 1 min, 2, 4... at most the interval. */
	e->fails++;
	shift = e->fails - 1 < 16 ? e->fails - 1 : 16;
	wait = (int64_t)SCHEDULE_BACKOFF_MS << shift;
	if (wait > iv)
		wait = iv;
	e->next = now + wait;
	return wait;
}

int64_t
schedule_busy(struct schedule_entry *e, int64_t start, int64_t iv)
{
	int64_t wait = iv < SCHEDULE_BUSY_MS ? iv : SCHEDULE_BUSY_MS;

	e->next = start + wait;
	return wait;
}

int64_t
schedule_wall(int64_t mono, int64_t mono_now, int64_t wall_now)
{
	return wall_now + (mono - mono_now) / 1000;
}

int64_t
schedule_mono(int64_t next, int64_t wall_now, int64_t mono_now)
{
	if (next <= wall_now)
		next = wall_now + 1;
	return mono_now + (next - wall_now) * 1000;
}

int64_t
schedule_chan_period(long valid_for)
{
	int64_t period = SCHEDULE_CHAN_CHECK_S;

	if (valid_for > 0 && valid_for / 4 < period)
		period = valid_for / 4 > 1 ? valid_for / 4 : 1;
	return period;
}

enum schedule_resign
schedule_chan_resign(int64_t moved_at, int64_t valid_until, long valid_for,
    int64_t now, int64_t *at)
{
	int64_t due;

	if (valid_until == 0)
		return valid_for > 0 ? SCHEDULE_RESIGN_NOW :
		    SCHEDULE_RESIGN_NEVER;
	due = moved_at + (valid_until - moved_at) / 2;
	if (due <= now)
		return SCHEDULE_RESIGN_NOW;
	*at = due;
	return SCHEDULE_RESIGN_AT;
}

int64_t
schedule_sooner(int64_t next, int64_t t)
{
	return t < next ? t : next;
}
