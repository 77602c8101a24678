/*
 * ondemand.h: fetching the pool files of a `Download: on-demand` mirror
 * when a client first asks for them, while serving them (private to
 * serve/; free of libmicrohttpd: http.c adapts it to connections).
 *
 * A flight is the one upstream transfer of one blob (by hash): every
 * request for that blob while it runs joins it (single flight). Each
 * flight runs in a thread of its own, at most max_flights at once (the
 * rest wait for a slot), with its own struct fetch (fetch.h: retries,
 * resume, size cap), into a blob writer that readers follow: they
 * pread() the temp file as it grows. When the file has verified (size
 * and SHA-256 of the snapshot's signed index), it is made durable (fsync
 * of the file and its directory) and listed in the blobs table, with the
 * mirror's odstats, in one write transaction; a failure stores nothing,
 * counts in the odstats with its text, is logged, and the next request
 * starts a new flight. A blob found at its final path but not listed (a
 * kill between the rename and the commit) is re-hashed and adopted rather
 * than fetched again.
 *
 * A flight's second source is the store's S3 bucket (issue 18): a blob
 * the blobs table lists but the cache (blobs/) lacks is read from its
 * object (store_s3_download: signed, verified, counted in
 * store_s3_stats) the same way, streamed to its readers and left in the
 * cache. It is no on-demand fetch: not counted in the odstats, not listed
 * (it is), not uploaded (it is in the bucket). An on-demand flight whose
 * blob turns out listed but not cached takes the bucket too.
 *
 * The safety rule: apt must never accept a wrong file. So a reader may
 * send every byte of its range as it arrives but the last one, which it
 * gets only once the whole file verified; a failure (or a restart of
 * the transfer from zero after it sent bytes) cuts it short.
 *
 * Threads: every function may be called from any thread, but
 * ondemand_free(), which must be the last. A reader is one connection's:
 * one thread at a time. Locks: the table's, then a flight's; the park
 * and wake callbacks of a reader run under its flight's lock and must
 * not call back into this module.
 */
#ifndef SERVE_ONDEMAND_H
#define SERVE_ONDEMAND_H

#include "mirrord/common.h"
#include "mirrord/fetch.h"
#include "mirrord/hash.h"
#include "mirrord/store.h"

/* Flights running at once; more wait for a slot. */
#define ONDEMAND_FLIGHTS 16
/* Flights in the table at most (each a thread): beyond, MERR_LIMIT. */
#define ONDEMAND_QUEUE 1024
/* Readers waiting for bytes are woken at least every this many bytes. */
#define ONDEMAND_WAKE_BYTES (64 * 1024)
/* ... or when this many ms passed since the last wake, whichever first. */
#define ONDEMAND_WAKE_MS 50

/*
 * What fetching one pool file needs, made where the URL is resolved
 * (route.c) and owned by its answer. Every string is owned.
 */
struct ondemand_want {
	char *mirror;		/* "" for the bucket's */
	char *snap;		/* the snapshot's ID ("" for the bucket's) */
	char *path;		/* "pool/..." (the bucket's: the request's) */
	char *url;		/* upstream's: the mirror's URI "/" path;
				 * NULL: from the bucket */
	unsigned char hash[HASH_LEN];
	uint64_t size;
	struct fetch_opts fo;	/* the configuration's, when resolved */
};

/* A want for path of mirror (uri: its upstream) in snapshot snap, owned. */
struct ondemand_want *ondemand_want_new(const char *mirror, const char *uri,
    const char *snap, const char *path, const unsigned char h[HASH_LEN],
    uint64_t size, const struct fetch_opts *fo);
void ondemand_want_free(struct ondemand_want *w);	/* NULL is fine */
/*
 * A want of listed blob h (size bytes) that is not cached, from the
 * store's bucket; path names it in messages (the request's URL). Owned.
 */
struct ondemand_want *ondemand_want_bucket(const char *path,
    const unsigned char h[HASH_LEN], uint64_t size);

struct ondemand;
struct ondemand_flight;

/*
 * The flight table for store s (borrowed, opened for writing; must
 * outlive it), running at most max_flights at once (0: ONDEMAND_FLIGHTS).
 * Owned: free with ondemand_free().
 */
struct ondemand *ondemand_new(struct store *s, unsigned max_flights);
/*
 * Fails every flight (their readers get status 503 and are woken), stops
 * their transfers (fetch_set_cancel) and refuses new ones: for a server
 * that stops. Returns at once.
 */
void ondemand_cancel(struct ondemand *od);
/*
 * Cancels, waits for every flight's thread to end and frees od (NULL is
 * fine). Every reader must be closed before.
 */
void ondemand_free(struct ondemand *od);
/*
 * Flights in the table now (running or waiting for a slot), of mirror's
 * files fetched from upstream (NULL: every flight, the bucket's too).
 */
unsigned ondemand_inflight(struct ondemand *od, const char *mirror);

/*
 * One client's read of [off, end) of a flight's blob. park(ctx) is called
 * (under the flight's lock) when the reader must wait: it then gets
 * exactly one wake(ctx), from another thread, when there is something new
 * to look at (bytes, the end, a failure). The fields are the module's.
 */
struct ondemand_reader {
	struct ondemand_flight *f;
	uint64_t end;
	unsigned gen;		/* the transfer's restarts, when it began */
	bool started;		/* it has bytes to send (or sent them) */
	bool waiting;		/* parked, in f's waiters */
	void (*park)(void *ctx);
	void (*wake)(void *ctx);
	void *ctx;
	struct ondemand_reader *next;	/* in f's waiters */
};

/*
 * Joins the flight for want (starting one if none runs) as reader r of
 * its bytes up to end (exclusive; at most want->size). r is closed with
 * ondemand_close(), whatever happens next. Errors: MERR_CANCEL once
 * ondemand_cancel() ran; MERR_LIMIT when ONDEMAND_QUEUE files are being
 * fetched or wait for a slot already; MERR_IO if no thread can start.
 */
int ondemand_open(struct ondemand *od, const struct ondemand_want *want,
    uint64_t end, void (*park)(void *), void (*wake)(void *), void *ctx,
    struct ondemand_reader *r, struct merr *err);
/* Leaves r's flight (unparking r if need be). */
void ondemand_close(struct ondemand_reader *r);

enum ondemand_step {
	OD_READY,	/* go on (bytes, or the end, are there) */
	OD_WAIT,	/* parked: wait for the wake, then ask again */
	OD_FAILED	/* the flight failed: *status says the answer */
};

/*
 * Before the headers: OD_READY once the flight has its first bytes (or
 * is done); OD_WAIT (parked) before; OD_FAILED with *status 502 (upstream
 * or the bucket no longer has the file, or it did not verify, or another
 * HTTP failure), 504 (unreachable: connection refused or timed out,
 * after the retries), 503 (the server stops) or 500 (the store failed).
 */
enum ondemand_step ondemand_start(struct ondemand_reader *r, int *status);

/*
 * The body, with pos the next byte to send (pos < r->end): OD_READY with
 * *fd (valid until ondemand_close) to pread() from and *limit, how far
 * (exclusive, > pos) the bytes there may be sent now; r->end itself only
 * once the file verified. OD_WAIT (parked) if there is nothing more yet;
 * OD_FAILED if the flight failed, or restarted from zero after r began
 * sending: the response must be cut before its end.
 */
enum ondemand_step ondemand_next(struct ondemand_reader *r, uint64_t pos,
    int *fd, uint64_t *limit);

/*
 * S3-Redirect: yes (issue 18): the presigned URL of the bucket's object
 * that a request for url, answered with res (a listed blob), is sent to
 * with a 302, owned; NULL to answer it from the store: not an S3 store,
 * S3-Redirect: no, or not a pool file (indices and Release files are
 * always answered by mirrord, so that they agree with what it signs).
 * Valid for S3-Redirect-Expiry. Any thread; no request is made.
 */
struct server;
struct route_result;
char *ondemand_redirect(const struct server *sv, const char *url,
    const struct route_result *res);

#endif
