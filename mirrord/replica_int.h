/*
 * replica_int.h: private to replica.c (reading the primary, the plan) and
 * replica_apply.c (fetching its blobs, the one transaction, the poll).
 */
#ifndef MIRRORD_REPLICA_INT_H
#define MIRRORD_REPLICA_INT_H

#include "mirrord/common.h"
#include "mirrord/channel.h"
#include "mirrord/hash.h"
#include "mirrord/replica.h"

/* TBL_META's name of the replica's state (replica_state_get). */
#define REPLICA_META "replica.state"

/* A pool interval of the primary or of the replica. */
struct rep_ivl {
	char *path;
	unsigned char hash[HASH_LEN];
	uint32_t from, to, refs;
	uint64_t size;
	bool stored;
};

struct rep_ivls {
	struct rep_ivl *v;
	size_t n;
};

/* A blob the plan names, and its size. */
struct rep_blob {
	unsigned char hash[HASH_LEN];
	uint64_t size;
};

struct rep_mirror {
	const char *name;		/* the configuration's */
	char **add;			/* snapshot IDs new here, by seq */
	char **manifest;		/* their manifests' bytes */
	size_t *mlen;
	size_t nadd;
	char **drop;			/* snapshot IDs the primary dropped */
	size_t ndrop;
	char **ids;			/* every snapshot ID the primary has */
	size_t nids;
	struct rep_ivls pool;		/* the primary's intervals, sorted */
	struct channel *ch;		/* the primary's channels */
	struct channel_log **log;
	size_t *nlog;
	size_t nch;
};

struct rep_plan {
	struct replica_state st;	/* what the apply records */
	struct rep_mirror *m;
	size_t nm;
	struct rep_blob *blobs;		/* every blob the plan names */
	size_t nblobs;
	struct rep_blob *fetched;	/* those rep_fetch_blobs fetched or
					 * found in the shared bucket */
	size_t nfetched;
	size_t inbucket;		/* of them, found in the bucket */
};

/* Writes *st to TBL_META in the write transaction t. */
int replica_state_put(struct store_txn *t, const struct replica_state *st,
    struct merr *err);

/* GET base/api/v1/path as JSON into *out (owned: json_value_free). */
struct json_value;
int rep_get_json(struct fetch *f, const char *base, const char *path,
    size_t max, struct json_value **out, struct merr *err);

/* o's member key, a SHA-256 in hex, into h; MERR_PARSE naming key. */
int rep_hash(const struct json_value *o, const char *key,
    unsigned char h[HASH_LEN], struct merr *err);

/* Intervals in (path, hash, from) order, as qsort wants them. */
int rep_ivl_cmp(const void *pa, const void *pb);

void rep_ivls_release(struct rep_ivls *iv);
void rep_ivls_sort(struct rep_ivls *iv);
void rep_plan_release(struct rep_plan *p);

/*
 * The plan for c's mirrors from the primary c->replica_of: manifests of
 * the snapshots the store lacks fetched and checked, the pool and the
 * channels read, every blob they name in p->blobs. Fills *p (owned:
 * rep_plan_release, also on error).
 */
int rep_plan_make(struct fetch *f, const struct conf *c, struct store *s,
    struct rep_plan *p, struct merr *err);

/*
 * Fetches each blob of p that the blobs table does not list from
 * base/api/v1/blobs/H, verified by size and SHA-256 (p->blobs becomes
 * sorted and unique, p->fetched the ones to list); *moved gets their
 * bytes. The files stay unlisted until the apply's commit names them.
 * shared: s's bucket is the primary's; a blob whose object is there with
 * its size (one listing of the bucket) is listed without a copy (counted
 * in p->inbucket): the primary's barrier put it there, and a reader's
 * download verifies it. Only the others are fetched.
 */
int rep_fetch_blobs(struct fetch *f, const char *base, struct store *s,
    struct rep_plan *p, bool shared, uint64_t *moved, struct merr *err);

#endif
