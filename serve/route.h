/*
 * route.h: URL parsing and resolution to a blob (private to serve/).
 *
 * The parsing half is pure (no store, no conf) so that it can be tested on
 * its own: route_parse() decodes and checks a raw request path and splits
 * it into the parts of the URL layout of serve.h. route_resolve() then
 * looks the parts up in one short read transaction and says what to
 * answer: a blob (hash, size, validators), a listing (listing.h: what a
 * directory shows, as data; pages.h renders it), a redirect or a status.
 * No file system path is ever built from the URL.
 *
 * Threads: route_parse() and the path helpers are pure. route_resolve()
 * may run in every server thread at once, each with its own struct
 * refcache_front (never shared) and all with one struct refcache
 * (refcache.h says how it locks).
 */
#ifndef SERVE_ROUTE_H
#define SERVE_ROUTE_H

#include "mirrord/common.h"

#include <time.h>

#include "mirrord/conf.h"
#include "mirrord/hash.h"
#include "mirrord/path.h"
#include "mirrord/store.h"
#include "serve/listing.h"
#include "serve/ondemand.h"
#include "serve/refcache.h"

/* Room for a decoded path: path_check's limit plus the URL's prefix. */
#define ROUTE_BUF_MAX (PATH_MAX_REL + 256)

enum route_kind {
	ROUTE_ROOT = 0,		/* "/" */
	ROUTE_HEALTHZ,		/* "/healthz" */
	ROUTE_METRICS,		/* "/metrics" */
	ROUTE_KEYRING,		/* "/keyring.gpg" */
	ROUTE_MIRROR,		/* "/<mirror>[/]" */
	ROUTE_MIRROR_KEYRING,	/* "/<mirror>/keyring.gpg": mirrord's key
				   and the mirror's Signed-By keys; no
				   channel may be named keyring.gpg */
	ROUTE_REF,		/* "/<mirror>/<ref>[/]" */
	ROUTE_DISTS,		/* "/<mirror>/<ref>/dists[/]" */
	ROUTE_SUITE,		/* "/<mirror>/<ref>/dists/<suite>[/p][/]" */
	ROUTE_POOL,		/* "/<mirror>/<ref>/pool[/path][/]" */
	ROUTE_API		/* "/api/<path>": api.h; path after "api/"
				   (no mirror may be named "api") */
};

/*
 * A parsed URL. The strings point into the caller's buffer given to
 * route_parse() and are valid as long as it is.
 */
struct route {
	enum route_kind kind;
	bool dir;		/* the URL ended with '/' */
	const char *mirror;	/* MIRROR and below */
	const char *ref;	/* REF and below */
	const char *suite;	/* SUITE */
	const char *path;	/* SUITE: under dists/<suite>/, "" for the
				   suite itself; POOL: "pool" or "pool/...";
				   API: what follows "/api/" */
};

/*
 * Decodes the raw request path raw (what the client sent, percent escapes
 * and all, without the query) into buf (size n) and parses it. Returns 0,
 * 400 for a malformed request (no leading '/', a bad or truncated escape,
 * an escape that decodes to '/' or NUL) or 404 for a path that cannot name
 * anything (path_check fails: "..", ".", empty segments, control bytes,
 * '%' or '\\' after decoding, too long).
 */
int route_parse(const char *raw, char *buf, size_t n, struct route *r);

/* The shapes of a <ref>. */
enum route_ref_kind {
	REF_LATEST,		/* "latest" */
	REF_STAMP,		/* YYYYMMDDTHHMMSSZ: an ID or a timestamp */
	REF_NAME		/* anything else: a channel name */
};
enum route_ref_kind route_ref_kind(const char *ref);

/* Is path (under dists/<suite>/) "[dir/]by-hash/<algorithm>/<hash>"? */
bool route_is_by_hash(const char *path);
/* Is the last segment of path InRelease, Release or Release.gpg? */
bool route_is_release(const char *path);
/* The Content-Type of a file served at path (a static string). */
const char *route_content_type(const char *path);

/*
 * Cache-Control for a file (docs/caching.md has the table). Immutable,
 * cached for ever by clients and shared caches: a ref that names one
 * snapshot for good — its exact ID, or a timestamp earlier than the
 * current second (snapshot IDs are commit times and only increase, so
 * no snapshot can appear at or before it any more) —, and paths whose
 * content never changes in a Debian archive, by-hash and the pool.
 * Moving, everything else (Release files and indices under latest, a
 * timestamp not yet past or a channel): a shared cache keeps them
 * ten seconds (ROUTE_CC_MOVING) and then revalidates them with the
 * ETag (the blob's hash, so a 304 when nothing moved). That is also
 * how long a channel move or a sync can take to reach a client behind
 * a cache; apt fetches indices by hash, so a cache never mixes a new
 * InRelease with an old index.
 */
#define ROUTE_CC_IMMUTABLE "public, max-age=31536000, immutable"
#define ROUTE_CC_MOVING "public, max-age=10"
const char *route_cache_control(bool exact_id, bool by_hash, bool pool);
/*
 * Does ref name one snapshot for good at time now: a timestamp (the
 * shape of an ID) earlier than now's second? A snapshot ID is too,
 * but the caller knows that by comparing it with the resolved ID.
 */
bool route_ref_fixed(const char *ref, time_t now);

/* What to answer for a parsed URL. */
enum route_answer {
	ANSWER_FILE,		/* a blob: hash, size, mtime, cc, ctype */
	ANSWER_LISTING,		/* an HTML listing of listing (pages.h) */
	ANSWER_REDIRECT,	/* 301 to location (a directory's "/") */
	ANSWER_STATUS		/* status, with a fixed body */
};

struct route_result {
	enum route_answer answer;
	int status;			/* ANSWER_STATUS: 404, 500 */
	unsigned char hash[HASH_LEN];	/* ANSWER_FILE */
	uint64_t size;
	int64_t mtime;			/* Last-Modified, unix time */
	const char *cache_control;	/* static */
	const char *content_type;	/* static */
	struct listing listing;		/* ANSWER_LISTING */
	struct buf location;		/* ANSWER_REDIRECT: URL-encoded */
	/*
	 * A ref that is a channel: its last move and the target before it
	 * (channel.h), for adoption counts; channel false otherwise.
	 */
	bool channel;
	char prev[SNAP_ID_LEN + 1];
	/*
	 * ANSWER_FILE of an on-demand mirror's pool file that the blobs
	 * table does not list: what fetching it takes (owned); else NULL.
	 */
	struct ondemand_want *want;
};

/* Frees what res owns (its listing, its location, its want). */
void route_result_release(struct route_result *res);

/*
 * Resolves r (not ROUTE_HEALTHZ, METRICS, KEYRING or MIRROR_KEYRING)
 * against c and s, using cache and the calling thread's front to it
 * (either may be NULL), in at most one short read transaction, which is
 * over when this returns. c is read only during the call. res is owned:
 * release it with route_result_release() whatever the answer. Returns 0
 * with res filled (a 404 is an answer, not an error); on a store error
 * returns it with res->status 500 and err set (to be logged by the
 * caller).
 */
/*
 * pool_lookup of mirror's path at seq through the calling thread's front
 * (its memo of pool lookups; either may miss), in its own short read
 * transaction when it does.
 */
int route_pool_lookup(struct store *s, struct refcache_front *front,
    const char *mirror, const char *path, uint32_t seq,
    unsigned char h[HASH_LEN], uint64_t *size, struct merr *err);

int route_resolve(const struct conf *c, struct store *s,
    struct refcache *cache, struct refcache_front *front,
    const struct route *r, struct route_result *res, struct merr *err);

#endif
