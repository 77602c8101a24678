/*
 * t_s3flight.c: a cold read of an S3 store (a blob the blobs table lists
 * that the cache lacks) as a flight of serve/ondemand.c from the bucket,
 * against a real OpenStack Swift (tests/s3/swift.sh) reached through a
 * relay of this test's that can hold the bucket's answers back: the
 * reader gets bytes while the rest of the object is held (so before the
 * download ends: it streams), and all of them once released; one GET
 * for two readers; an on-demand mirror's want whose blob is listed takes
 * the bucket, not upstream; no upload queued, the row not written again,
 * the mirror's odstats unchanged; the file cached after. A corrupted
 * object cuts the reader before its last byte and leaves nothing cached.
 *
 * Without Swift installed, everything is a visible skip.
 */
#include "mirrord/common.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/hash.h"
#include "mirrord/odstats.h"
#include "mirrord/store.h"
#include "serve/ondemand.h"
#include "helpers.h"
#include "swifttest.h"
#include "tap.h"

#define BIG (2 * 1024 * 1024)
#define SMALL (256 * 1024)
/* Response bytes the relay lets through, once armed, before it holds. */
#define HOLD_AFTER (128 * 1024)
#define NTESTS 26

/* --- a relay to Swift that can hold its answers back ------------------ */

static struct {
	int lfd, port;
	atomic_bool armed, released;
	atomic_ullong sent;	/* response bytes relayed since armed */
} relay;

/* Copies what fd has to out; false at its end or an error. */
static bool
pump(int fd, int out, bool response)
{
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf)), w, off = 0;

	if (n <= 0)
		return false;
	for (; off < n; off += w) {
		w = write(out, buf + off, (size_t)(n - off));
		if (w <= 0)
			return false;
	}
	if (response && atomic_load(&relay.armed))
		atomic_fetch_add(&relay.sent, (unsigned long long)n);
	return true;
}

/* One client connection, relayed to Swift until either side ends. */
static void *
relay_conn(void *arg)
{
	int c = (int)(intptr_t)arg, s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct pollfd p[2];
	bool held;

	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto out;
	for (;;) {
		held = atomic_load(&relay.armed) &&
		    !atomic_load(&relay.released) &&
		    atomic_load(&relay.sent) >= HOLD_AFTER;
		p[0] = (struct pollfd){ .fd = c, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = held ? -1 : s, .events = POLLIN };
		if (poll(p, 2, 10) < 0)
			break;
		if (p[0].revents && !pump(c, s, false))
			break;
		if (p[1].revents && !pump(s, c, true))
			break;
	}
out:
	if (s >= 0)
		close(s);
	close(c);
	return NULL;
}

static void *
relay_main(void *arg)
{
	pthread_attr_t at;
	pthread_t th;
	int c;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	while ((c = accept(relay.lfd, NULL, NULL)) >= 0)
		if (pthread_create(&th, &at, relay_conn, (void *)(intptr_t)c))
			close(c);
	pthread_attr_destroy(&at);
	return NULL;
}

static bool
relay_start(pthread_t *th)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	relay.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (relay.lfd < 0 || bind(relay.lfd, (struct sockaddr *)&a,
	    sizeof(a)) < 0 || listen(relay.lfd, 64) < 0 ||
	    getsockname(relay.lfd, (struct sockaddr *)&a, &al) < 0)
		return false;
	relay.port = ntohs(a.sin_port);
	return pthread_create(th, NULL, relay_main, NULL) == 0;
}

/* --- readers ------------------------------------------------------------ */

static atomic_int parks, wakes;

static void
c_park(void *ctx)
{
	atomic_fetch_add(&parks, 1);
}

static void
c_wake(void *ctx)
{
	atomic_fetch_add(&wakes, 1);
}

/* Reads r from *pos while it may (no wait), checking against want. */
static enum ondemand_step
drain(struct ondemand_reader *r, uint64_t *pos, const unsigned char *want,
    bool *same)
{
	unsigned char buf[16384];
	enum ondemand_step st;
	uint64_t limit;
	ssize_t n;
	size_t k;
	int fd;

	for (;;) {
		st = ondemand_next(r, *pos, &fd, &limit);
		if (st != OD_READY)
			return st;
		k = limit - *pos < sizeof(buf) ? (size_t)(limit - *pos) :
		    sizeof(buf);
		n = pread(fd, buf, k, (off_t)*pos);
		if (n <= 0 || memcmp(buf, want + *pos, (size_t)n) != 0) {
			*same = false;
			return OD_FAILED;
		}
		*pos += (uint64_t)n;
		if (*pos == r->end)
			return OD_READY;
	}
}

/*
 * Drains r until it has stop bytes, failed, or 20 s passed (a safety net
 * against a hang, not a measure): the last step.
 */
static enum ondemand_step
drain_until(struct ondemand_reader *r, uint64_t *pos, uint64_t stop,
    const unsigned char *want, bool *same)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	enum ondemand_step st = OD_WAIT;
	int i;

	for (i = 0; i < 10000; i++) {
		st = drain(r, pos, want, same);
		if (*pos >= stop || st == OD_FAILED)
			break;
		nanosleep(&ts, NULL);
	}
	return st;
}

/* --- the store ---------------------------------------------------------- */

static struct store *st;

/* Stores, uploads and lists len bytes as a blob, then drops its file. */
static bool
cold_blob(const unsigned char *bytes, size_t len, unsigned char h[HASH_LEN])
{
	unsigned char hs[1][HASH_LEN];
	struct blob_writer w;
	struct merr err = { 0, "" };
	int rc;

	hash_buf(bytes, len, h);
	memcpy(hs[0], h, HASH_LEN);
	rc = store_blob_begin(st, len, &w, &err);
	if (rc == 0)
		rc = store_blob_write(&w, bytes, len, &err);
	if (rc == 0)
		rc = store_blob_finish(&w, h, len, &err);
	if (rc == 0)
		rc = list_blobs(st, hs, &len, 1);
	if (rc == 0)
		rc = store_blob_unlink(st, h, &err);
	if (rc)
		printf("# cold blob: %s\n", err.msg);
	return rc == 0;
}

static bool
cached(const unsigned char h[HASH_LEN])
{
	struct merr err = { 0, "" };
	int fd = store_blob_open_cached(st, h, &err);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* The blob's row and the mirror's odstats, to compare before and after. */
struct seen {
	struct store_blob_rec rec;
	uint64_t n, bytes;
	struct odstats os;
	struct store_s3_stats s3;
};

static void
see(const unsigned char h[HASH_LEN], struct seen *v)
{
	struct store_txn *t;
	struct merr err = { 0, "" };

	memset(v, 0, sizeof(*v));
	store_sync(st, &err);	/* every upload queued has ended */
	store_s3_stats(st, &v->s3);
	if (store_txn_begin(st, false, &t, &err) != 0)
		return;
	store_blob_get(t, h, &v->rec, &err);
	store_blob_totals(t, &v->n, &v->bytes, &err);
	odstats_get(t, "m", &v->os, &err);
	store_txn_abort(t);
}

/* --- the tests ---------------------------------------------------------- */

static void
t_stream(struct ondemand *od, const unsigned char *big)
{
	struct fetch_opts fo = { .connections = 1, .retries = 0 };
	struct ondemand_reader r1, r2;
	struct ondemand_want *w1, *w2;
	unsigned char h[HASH_LEN];
	struct seen a, b;
	struct merr err = { 0, "" };
	uint64_t p1 = 0, p2 = 1000;
	bool same1 = true, same2 = true;
	int status = 0;

	ok(cold_blob(big, BIG, h) && !cached(h), "a listed 2 MiB blob, "
	    "uploaded, its cached file dropped");
	see(h, &a);
	/* An on-demand mirror's want, whose upstream has no such file. */
	w1 = ondemand_want_new("m", "file:///nonexistent", "S1",
	    "pool/big.deb", h, BIG, &fo);
	w2 = ondemand_want_bucket("/m/S1/pool/big.deb", h, BIG);
	atomic_store(&relay.armed, true);
	ok(ondemand_open(od, w1, BIG, c_park, c_wake, NULL, &r1, &err) == 0,
	    "a reader opens the flight");
	ok(ondemand_open(od, w2, 2000, c_park, c_wake, NULL, &r2, &err) ==
	    0, "a range reader of the bucket's want joins it");
	is_int(ondemand_inflight(od, NULL), 1, "one flight for both");
	drain_until(&r1, &p1, HOLD_AFTER / 2, big, &same1);
	ok(p1 >= HOLD_AFTER / 2 && same1, "bytes reach the reader while the "
	    "relay holds the rest of the object (%llu)",
	    (unsigned long long)p1);
	ok(ondemand_inflight(od, NULL) == 1 && !cached(h),
	    "meanwhile the download runs: nothing cached yet");
	is_int(ondemand_inflight(od, "m"), 0, "and it is no on-demand fetch "
	    "of mirror m's");
	atomic_store(&relay.released, true);
	is_int(drain_until(&r1, &p1, BIG, big, &same1), OD_READY,
	    "released: the reader gets the rest");
	ok(p1 == BIG && same1, "every byte, the blob's");
	drain_until(&r2, &p2, 2000, big, &same2);
	ok(p2 == 2000 && same2, "the range reader gets its bytes");
	is_int(ondemand_start(&r1, &status), OD_READY, "the flight is done");
	ondemand_close(&r1);
	ondemand_close(&r2);
	ok(cached(h), "the blob is cached now");
	see(h, &b);
	is_int(b.s3.downloads - a.s3.downloads, 1, "one GET from the bucket");
	is_int(b.s3.uploads, a.s3.uploads, "no upload queued");
	ok(b.n == a.n && b.bytes == a.bytes && b.rec.size == BIG &&
	    b.rec.first_seen == a.rec.first_seen, "its row is as it was: "
	    "not listed again");
	ok(b.os.fetches == 0 && b.os.failures == 0 && a.os.fetches == 0,
	    "the mirror's odstats unchanged: no on-demand fetch");
	ondemand_want_free(w1);
	ondemand_want_free(w2);
}


static void
t_corrupt(struct ondemand *od, unsigned char *small)
{
	struct ondemand_reader r;
	struct ondemand_want *w;
	unsigned char h[HASH_LEN];
	struct merr err = { 0, "" };
	uint64_t pos = 0;
	bool same = true;
	int status = 0;

	ok(cold_blob(small, SMALL, h), "a listed 256 KiB blob, not cached");
	/* The same size, one byte off: what the reader gets, unverified. */
	small[SMALL - 2] ^= 0xff;
	ok(object_put_bytes(h, small, SMALL) == 0, "its object overwritten");
	w = ondemand_want_bucket("/m/S1/pool/small.deb", h, SMALL);
	atomic_store(&relay.sent, 0);
	atomic_store(&relay.released, false);	/* held again */
	ok(ondemand_open(od, w, SMALL, c_park, c_wake, NULL, &r, &err) == 0,
	    "a reader opens its flight");
	drain_until(&r, &pos, HOLD_AFTER / 2, small, &same);
	ok(pos >= HOLD_AFTER / 2 && same, "the first bytes "
	    "stream while the rest is held (%llu)", (unsigned long long)pos);
	atomic_store(&relay.released, true);
	is_int(drain_until(&r, &pos, SMALL, small, &same), OD_FAILED,
	    "released, the reader is cut");
	ok(pos < SMALL && same, "before its last byte (%llu of %d)",
	    (unsigned long long)pos, SMALL);
	is_int(ondemand_start(&r, &status), OD_FAILED, "the flight failed");
	is_int(status, 502, "502: the bucket's bytes are wrong");
	ondemand_close(&r);
	ok(!cached(h), "nothing cached");
	ondemand_want_free(w);
}

/* A byte pattern that no two offsets of a blob share by accident. */
static void
fill(unsigned char *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

int
main(void)
{
	unsigned char *big = xmalloc(BIG), *small = xmalloc(SMALL);
	char *swift, *dir, *creds;
	struct ondemand *od;
	struct conf *c;
	pthread_t th;

	root = helpers_tmpdir_new("t_s3flight");
	if (root == NULL)
		return 1;
	swift = xasprintf("%s/swift", root);
	if (!swift_start(swift) || !relay_start(&th))
		return swift_skip(swift, NTESTS);
	creds = creds_file();
	c = s3_conf("bkt1", creds);
	free(c->s3_endpoint);	/* through the relay */
	c->s3_endpoint = xasprintf("http://127.0.0.1:%d", relay.port);
	dir = xasprintf("%s/store", root);
	st = open_s3(dir, c, true);
	if (st != NULL) {
		fill(big, BIG, 1);
		fill(small, SMALL, 2);
		od = ondemand_new(st, 0);
		t_stream(od, big);
		t_corrupt(od, small);
		ondemand_free(od);
		store_close(st);
	}
	shutdown(relay.lfd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(relay.lfd);
	sh("sh %s stop '%s'", SWIFT, swift);
	conf_free(c);
	free(creds);
	free(dir);
	free(swift);
	free(big);
	free(small);
	helpers_tmpdir_free(root);
	return tap_done();
}
