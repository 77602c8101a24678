/*
 * t_ondemand.c: serve/ondemand.c, the on-demand flights, against a
 * file:// upstream. The upstream file is a FIFO that the test writes,
 * so what the flight has at each step is the test's to say: readers join
 * one flight, read at their offsets what has arrived, never get the last
 * byte of their range before the file verified, are cut when it fails,
 * and each park gets exactly one wake.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/hash.h"
#include "mirrord/odstats.h"
#include "mirrord/store.h"
#include "serve/ondemand.h"
#include "tests/unit/helpers.h"
#include "tests/unit/tap.h"

#define SIZE (300 * 1024)
#define SNAP "20260101T000000Z"

/* A client connection as ondemand.h sees it: parks and wakes. */
struct conn {
	atomic_int parked;
	atomic_int woken;
};

static void
c_park(void *ctx)
{
	struct conn *c = ctx;

	atomic_fetch_add(&c->parked, 1);
}

static void
c_wake(void *ctx)
{
	struct conn *c = ctx;

	atomic_fetch_add(&c->woken, 1);
}

/* Waits (10 s at most: a safety net, not a measure) for c's wake. */
static bool
woken(struct conn *c)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	int i;

	for (i = 0; i < 5000; i++) {
		if (atomic_load(&c->woken) == atomic_load(&c->parked))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static char *dir, *updir;
static struct store *st;
static unsigned char data[SIZE];

static struct ondemand_want *
want_of(const char *name, const unsigned char *bytes, size_t len)
{
	struct fetch_opts fo = { .connections = 1, .retries = 0 };
	unsigned char h[HASH_LEN];
	char *uri = xasprintf("file://%s", updir);
	struct ondemand_want *w;

	hash_buf(bytes, len, h);
	w = ondemand_want_new("m", uri, SNAP, name, h, len, &fo);
	free(uri);
	return w;
}

static char *
up_path(const char *name)
{
	return xasprintf("%s/%s", updir, name);
}

static bool
listed(const unsigned char h[HASH_LEN])
{
	struct store_blob_rec rec;
	struct store_txn *t;
	struct merr err;
	int rc;

	if (store_txn_begin(st, false, &t, &err))
		return false;
	rc = store_blob_get(t, h, &rec, &err);
	store_txn_abort(t);
	return rc == 0;
}

static void
stats(struct odstats *o)
{
	struct store_txn *t;
	struct merr err;

	memset(o, 0, sizeof(*o));
	if (store_txn_begin(st, false, &t, &err) == 0) {
		odstats_get(t, "m", o, &err);
		store_txn_abort(t);
	}
}

/* Reads r from *pos while it may (no wait), checking the bytes. */
static enum ondemand_step
drain(struct ondemand_reader *r, uint64_t *pos, const unsigned char *want,
    bool *same)
{
	unsigned char buf[8192];
	enum ondemand_step s;
	uint64_t limit;
	ssize_t n;
	size_t k;
	int fd;

	for (;;) {
		s = ondemand_next(r, *pos, &fd, &limit);
		if (s != OD_READY)
			return s;
		k = limit - *pos < sizeof(buf) ? (size_t)(limit - *pos) :
		    sizeof(buf);
		n = pread(fd, buf, k, (off_t)*pos);
		if (n <= 0) {
			*same = false;
			return OD_FAILED;
		}
		if (memcmp(buf, want + *pos, (size_t)n) != 0)
			*same = false;
		*pos += (uint64_t)n;
		if (*pos == r->end)
			return OD_READY;
	}
}

/* Polls fn(ctx) every 2 ms, 10 s at most (a safety net, not a measure). */
static bool
until(bool (*fn)(void *), void *ctx)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	int i;

	for (i = 0; i < 5000; i++) {
		if (fn(ctx))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* A reader draining a flight, for until(). */
struct drainer {
	struct ondemand_reader *r;
	uint64_t pos, stop;
	const unsigned char *want;
	bool same;
	enum ondemand_step last;
};

static bool
drained(void *ctx)
{
	struct drainer *d = ctx;

	d->last = drain(d->r, &d->pos, d->want, &d->same);
	return d->pos >= d->stop || d->last == OD_FAILED;
}

static bool
no_flight(void *ctx)
{
	return ondemand_inflight(ctx, NULL) == 0;
}

static bool
stored_file(const unsigned char h[HASH_LEN])
{
	char *p = store_blob_path(st, h);
	bool there = access(p, F_OK) == 0;

	free(p);
	return there;
}

/* Readers join one flight, stream, and wait for the verification. */
static void
t_stream(struct ondemand *od)
{
	struct ondemand_want *w = want_of("x.deb", data, SIZE);
	struct ondemand_reader r1, r2, r3;
	struct conn c1 = { 0 }, c2 = { 0 }, c3 = { 0 };
	struct drainer d = { &r1, 0, SIZE - 1, data, true, OD_WAIT };
	char *fifo = up_path("x.deb");
	uint64_t limit;
	struct merr err;
	struct odstats os;
	unsigned char b;
	int fd, rfd, status = 0;

	ok(mkfifo(fifo, 0600) == 0, "mkfifo");
	ok(ondemand_open(od, w, SIZE, c_park, c_wake, &c1, &r1, &err) == 0,
	    "a first reader starts a flight");
	ok(ondemand_open(od, w, SIZE, c_park, c_wake, &c2, &r2, &err) == 0,
	    "a second reader joins");
	ok(ondemand_open(od, w, 2000, c_park, c_wake, &c3, &r3, &err) == 0,
	    "a range reader joins");
	is_int(ondemand_inflight(od, "m"), 1, "one flight for three readers");
	is_int(ondemand_inflight(od, "other"), 0, "none of another mirror");
	is_int(ondemand_start(&r1, &status), OD_WAIT,
	    "no byte yet: the headers wait");
	is_int(atomic_load(&c1.parked), 1, "and the reader is parked");
	is_int(ondemand_start(&r1, &status), OD_WAIT, "asked again: waits");
	is_int(atomic_load(&c1.parked), 1, "parked once, not twice");

	fd = open(fifo, O_WRONLY);	/* the flight's curl reads it */
	ok(fd >= 0, "upstream opened");
	ok(write(fd, data, 100 * 1024) == 100 * 1024, "100 KiB upstream");
	ok(woken(&c1), "the first bytes wake the parked reader");
	is_int(ondemand_start(&r1, &status), OD_READY, "headers now");
	d.stop = 1;
	ok(until(drained, &d), "reader 1 gets the first bytes");
	ok(d.same, "the bytes are upstream's");
	d.stop = 2000;
	ok(until(drained, &d), "the range's bytes arrive");
	is_int(ondemand_next(&r3, 1000, &rfd, &limit), OD_READY,
	    "the range reader reads at its offset");
	is_int(limit, 1999, "its last byte is held back");

	/* The rest, the FIFO left open: the file is whole, unverified. */
	ok(write(fd, data + 100 * 1024, SIZE - 100 * 1024) ==
	    SIZE - 100 * 1024, "the rest upstream");
	d.stop = SIZE - 1;
	ok(until(drained, &d) && d.same, "reader 1 gets all but the last byte");
	is_int(drain(&r1, &d.pos, data, &d.same), OD_WAIT,
	    "the last byte waits for the verification");
	ok(!listed(w->hash), "not listed before it verified");
	close(fd);		/* EOF: verified, stored, listed */
	d.stop = SIZE;
	ok(until(drained, &d) && d.pos == SIZE && d.same,
	    "verified: the last byte may go");
	ok(woken(&c1), "every park of the reader had its wake");
	is_int(ondemand_next(&r1, SIZE - 1, &rfd, &limit), OD_READY,
	    "asked again, the last byte is there");
	is_int(limit, SIZE, "up to the end");
	ok(pread(rfd, &b, 1, SIZE - 1) == 1 && b == data[SIZE - 1],
	    "the last byte is upstream's");
	is_int(ondemand_next(&r3, 1999, &rfd, &limit), OD_READY,
	    "the range's last byte too");
	is_int(limit, 2000, "up to the range's end");
	is_int(ondemand_next(&r2, 0, &rfd, &limit), OD_READY,
	    "a reader that never read gets it all");
	is_int(limit, SIZE, "all of it");
	ok(listed(w->hash) && stored_file(w->hash), "listed and in blobs/");
	ok(until(no_flight, od), "the flight left the table");
	stats(&os);
	is_int(os.fetches, 1, "odstats: one fetch");
	is_int(os.bytes, SIZE, "odstats: its bytes");
	is_int(atomic_load(&c1.woken), atomic_load(&c1.parked),
	    "each park had one wake");
	ondemand_close(&r1);
	ondemand_close(&r2);
	ondemand_close(&r3);
	ondemand_want_free(w);
	free(fifo);
}

/* A wrong file cuts its readers before the end and stores nothing. */
static void
t_wrong(struct ondemand *od)
{
	static unsigned char bad[SIZE];
	const unsigned char *good = data + 1;	/* a blob of its own */
	struct ondemand_want *w = want_of("y.deb", good, SIZE - 1);
	struct ondemand_reader r;
	struct conn c = { 0 };
	struct drainer d = { &r, 0, SIZE - 2, bad, true, OD_WAIT };
	char *fifo = up_path("y.deb");
	struct odstats os;
	struct merr err;
	int fd, status = 0;

	memcpy(bad, good, SIZE - 1);
	bad[SIZE / 2] ^= 1;
	ok(mkfifo(fifo, 0600) == 0, "mkfifo");
	ok(ondemand_open(od, w, SIZE - 1, c_park, c_wake, &c, &r, &err) == 0,
	    "a reader of a file upstream has wrong");
	fd = open(fifo, O_WRONLY);
	ok(write(fd, bad, SIZE - 1) == SIZE - 1, "the wrong bytes upstream");
	ok(until(drained, &d), "the reader streams them");
	close(fd);
	d.stop = SIZE - 1;	/* never reached: the last byte is held */
	ok(until(drained, &d), "the flight ends");
	is_int(d.last, OD_FAILED, "the reader is cut");
	ok(d.pos < SIZE - 1, "before the last byte (%llu)",
	    (unsigned long long)d.pos);
	is_int(ondemand_start(&r, &status), OD_FAILED, "a late start fails");
	is_int(status, 502, "with 502");
	ok(!listed(w->hash) && !stored_file(w->hash), "nothing stored");
	stats(&os);
	is_int(os.failures, 1, "odstats: one failure");
	ok(strstr(os.last_text, "snapshot " SNAP " y.deb: ") != NULL,
	    "which names the snapshot and the file: '%s'", os.last_text);
	ok(strstr(os.last_text, "sha256") != NULL, "and the hash");
	ondemand_close(&r);

	/* Upstream repaired: the next request is a new flight. */
	unlink(fifo);
	ok(write_file_atomic(fifo, good, SIZE - 1, 0644, &err) == 0,
	    "upstream repaired");
	memset(&c, 0, sizeof(c));
	ok(ondemand_open(od, w, SIZE - 1, c_park, c_wake, &c, &r, &err) == 0,
	    "a new reader");
	d.pos = 0;
	d.stop = SIZE - 1;
	d.want = good;
	d.same = true;
	ok(until(drained, &d) && d.pos == SIZE - 1 && d.same,
	    "gets the right file, whole");
	ok(listed(w->hash), "stored");
	ondemand_close(&r);
	ondemand_want_free(w);
	free(fifo);
}

static bool
started_failed(void *ctx)
{
	int status;

	return ondemand_start(ctx, &status) == OD_FAILED;
}

/* Upstream has no such file: 502 before any byte. */
static void
t_absent(struct ondemand *od)
{
	struct ondemand_want *w = want_of("z.deb", data + 2, 1000);
	struct ondemand_reader r;
	struct conn c = { 0 };
	struct merr err;
	int status = 0;

	ok(ondemand_open(od, w, 1000, c_park, c_wake, &c, &r, &err) == 0,
	    "a reader of a file upstream lacks");
	if (ondemand_start(&r, &status) == OD_WAIT)
		ok(woken(&c), "woken by the failure");
	ok(until(started_failed, &r), "it failed");
	is_int(ondemand_start(&r, &status), OD_FAILED, "and stays failed");
	is_int(status, 502, "502: upstream does not have it");
	ondemand_close(&r);
	ondemand_want_free(w);
}

/* A reader closed while parked is never woken; the flight goes on. */
static void
t_close_parked(struct ondemand *od)
{
	struct ondemand_want *w = want_of("p.deb", data + 3, 5000);
	struct ondemand_reader r;
	struct conn c = { 0 };
	char *fifo = up_path("p.deb");
	struct merr err;
	int fd, status;

	ok(mkfifo(fifo, 0600) == 0, "mkfifo");
	ok(ondemand_open(od, w, 5000, c_park, c_wake, &c, &r, &err) == 0,
	    "a reader");
	is_int(ondemand_start(&r, &status), OD_WAIT, "parked");
	ondemand_close(&r);
	fd = open(fifo, O_WRONLY);
	ok(write(fd, data + 3, 5000) == 5000, "upstream sends it all");
	close(fd);
	ok(until(no_flight, od), "the flight ends");
	is_int(atomic_load(&c.woken), 0, "the closed reader was not woken");
	ok(listed(w->hash), "the file is stored all the same");
	ondemand_want_free(w);
	free(fifo);
}

/* A blob file in place but not listed (a kill before the commit). */
static void
t_adopt(struct ondemand *od)
{
	struct ondemand_want *w = want_of("nowhere/a.deb", data + 7, 3000);
	struct ondemand_reader r;
	struct conn c = { 0 };
	struct drainer d = { &r, 0, 3000, data + 7, true, OD_WAIT };
	char *path = store_blob_path(st, w->hash), *p;
	struct odstats before, after;
	struct merr err;

	stats(&before);
	p = xstrdup(path);
	*strrchr(p, '/') = '\0';
	*strrchr(p, '/') = '\0';
	mkdir(p, 0755);
	free(p);
	p = xstrdup(path);
	*strrchr(p, '/') = '\0';
	mkdir(p, 0755);
	free(p);
	ok(write_file_atomic(path, data + 7, 3000, 0644, &err) == 0,
	    "a blob file left unlisted");
	ok(ondemand_open(od, w, 3000, c_park, c_wake, &c, &r, &err) == 0,
	    "a reader of it (upstream has no such file)");
	ok(until(drained, &d) && d.pos == 3000 && d.same,
	    "gets it, adopted rather than fetched");
	ok(listed(w->hash), "and it is listed now");
	stats(&after);
	is_int(after.fetches, before.fetches, "not counted as a fetch");
	ondemand_close(&r);
	ondemand_want_free(w);
	free(path);
}

static struct ondemand *the_od;

/*
 * Lets a flight's thread out of its open of the FIFO at path, if it is
 * there (the cancel may have come before it): true once it is out.
 */
static bool
fifo_released(void *ctx)
{
	int fd = open(ctx, O_WRONLY | O_NONBLOCK);

	if (fd >= 0)
		close(fd);	/* EOF for the reader */
	return ondemand_inflight(the_od, NULL) == 0;
}

/* A server that stops fails its flights and wakes their readers. */
static void
t_cancel(struct ondemand *od)
{
	struct ondemand_want *w = want_of("c.deb", data + 5, 5000);
	struct ondemand_reader r, r2;
	struct conn c = { 0 };
	char *fifo = up_path("c.deb");
	struct merr err;
	int status = 0;

	the_od = od;
	ok(mkfifo(fifo, 0600) == 0, "mkfifo");
	ok(ondemand_open(od, w, 5000, c_park, c_wake, &c, &r, &err) == 0,
	    "a reader");
	is_int(ondemand_start(&r, &status), OD_WAIT, "parked");
	ondemand_cancel(od);
	ok(woken(&c), "the cancel wakes it");
	is_int(ondemand_start(&r, &status), OD_FAILED, "it failed");
	is_int(status, 503, "503: the server stops");
	is_int(ondemand_open(od, w, 5000, c_park, c_wake, &c, &r2, &err),
	    MERR_CANCEL, "no new reader once cancelled");
	ondemand_close(&r);
	ok(until(fifo_released, fifo), "the flight's thread ends");
	ondemand_want_free(w);
	free(fifo);
}

int
main(void)
{
	struct ondemand *od;
	struct merr err;
	char *sp;
	size_t i;

	for (i = 0; i < SIZE; i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	dir = helpers_tmpdir_new("t_ondemand");
	if (dir == NULL)
		return 1;
	updir = xasprintf("%s/up", dir);
	mkdir(updir, 0700);
	sp = xasprintf("%s/store", dir);
	if (store_open(sp, true, &st, &err) != 0) {
		printf("# store_open: %s\n", err.msg);
		return 1;
	}
	od = ondemand_new(st, 0);
	t_stream(od);
	t_wrong(od);
	t_absent(od);
	t_close_parked(od);
	t_adopt(od);
	t_cancel(od);
	ondemand_free(od);
	store_close(st);
	free(sp);
	free(updir);
	helpers_tmpdir_free(dir);
	return tap_done();
}
