/*
 * snap.h: snapshots — their manifests, their commit, and finding them.
 *
 * A snapshot of a mirror is one row in TBL_SNAPS (key "mirror\0ID"): a
 * manifest naming, per suite, every file under dists/<suite>/ it holds
 * (Release files and indices, each a blob) and the parsed indices' stats.
 * Pool membership is not stored per snapshot. Instead each mirror keeps,
 * per (pool path, blob), the intervals of snapshot sequence numbers in
 * which some index referenced it (pool.h); the open interval carries how
 * many current indices list it. A commit applies only the difference
 * between the old and the new version of the indices that changed, so
 * its cost follows what changed upstream, not the size of the archive.
 *
 * This module owns TBL_SNAPS and TBL_STATE (and the "store.snaps"
 * counters in TBL_META): others read them through snap_load, snap_list,
 * snap_each and snap_state_get. Files: snap.c (loading, listing, state,
 * counters, the commit), snap_manifest.c, snap_delta.c.
 *
 * Errors are negative MERR_* codes with err set (MERR_NOTFOUND where
 * said, MERR_STORE for a row that does not parse). Structures filled
 * here are the caller's (snap_release, snap_state_release,
 * strv_free, snap_delta_free); a snap_delta is not locked (one
 * thread at a time). Reads take any transaction; snap_commit makes its
 * own, under the store's writer lock.
 */
#ifndef MIRRORD_SNAP_H
#define MIRRORD_SNAP_H

#include "mirrord/common.h"
#include "mirrord/hash.h"
#include "mirrord/store.h"

#define SNAP_ID_LEN 16		/* YYYYMMDDTHHMMSSZ */
#define SNAP_MAX_MANIFEST (64u << 20)

struct snap_file {
	char *path;		/* relative to dists/<suite>/ */
	unsigned char hash[HASH_LEN];
	uint64_t size;
};

/* A parsed index (the variant that was parsed) and what it lists. */
struct snap_index {
	char *path;		/* e.g. main/binary-amd64/Packages.xz */
	unsigned char hash[HASH_LEN];
	uint64_t npara;		/* packages or source packages */
	uint64_t nfiles;	/* pool files listed */
	uint64_t bytes;		/* their total size */
};

struct snap_suite {
	char *name;
	char *date_str;		/* the Release's Date */
	int64_t date;
	struct snap_file *files;	/* InRelease, Release, indices... */
	size_t nfiles;
	struct snap_index *indices;
	size_t nindices;
};

/*
 * What made a snapshot. A sync's is a state of the upstream archive; the
 * others hold indices mirrord wrote itself (dists.h) from a selection of
 * other snapshots' paragraphs, and say how in their recipe.
 */
enum snap_kind {
	SNAP_SYNC = 0,		/* a sync: upstream's indices as they were */
	SNAP_PARTIAL,		/* a sync of a mirror with Include: */
	SNAP_PATCH,		/* `mirrord patch`: a release manager's mix */
	SNAP_PHASE		/* a rollout's phased copy of a snapshot
				 * (phase.h) */
};

/* "sync", "partial", "patch", "phase" (static; "?" for another value). */
const char *snap_kind_name(enum snap_kind kind);

/*
 * Is a snapshot of this kind a state of the upstream archive (a sync or
 * a partial sync), rather than a composition made here (patch, phase)?
 * `latest`, timestamps, exposure's history and retention's "last N" go
 * by the upstream states alone.
 */
bool snap_kind_upstream(enum snap_kind kind);

struct snap {
	char id[SNAP_ID_LEN + 1];
	enum snap_kind kind;
	/*
	 * How it was composed (base, source refs, selectors, why each
	 * package was pulled), for `snapshot show`: owned text of lines,
	 * each ending with '\n' once read back (the manifest adds a
	 * missing last one), NULL for none; snap_release frees it.
	 */
	char *recipe;
	uint32_t seq;		/* 1, 2, ... per mirror */
	int64_t time;		/* commit time */
	uint64_t packages;	/* sum of npara of Packages indices */
	uint64_t sources;	/* sum of npara of Sources indices */
	uint64_t files;		/* distinct pool files */
	uint64_t pool_bytes;	/* their total size */
	uint64_t bytes;		/* pool_bytes + this snapshot's dists files */
	uint64_t new_files;	/* blobs first stored by this snapshot */
	uint64_t new_bytes;
	struct snap_suite *suites;
	size_t nsuites;
	/*
	 * Not in the manifest: what snap_commit() does with a new pool file
	 * whose blob the store does not list. false: the writer stored and
	 * verified it (a sync's fetched files), so it is listed now. true:
	 * it stays unlisted until something fetches it (Download: on-demand,
	 * and every composed snapshot, whose pool files come from snapshots
	 * already made and are stored or not as they were there).
	 */
	bool pool_deferred;
};

void snap_release(struct snap *sn);
/*
 * Appends a file or index to a suite (copies path); the index returned is
 * valid until the next add to su.
 */
void snap_suite_add_file(struct snap_suite *su, const char *path,
    const unsigned char h[HASH_LEN], uint64_t size);
struct snap_index *snap_suite_add_index(struct snap_suite *su,
    const char *path, const unsigned char h[HASH_LEN]);
/* Deep copy of a suite (from the previous snapshot, for an unchanged one). */
void snap_suite_copy(struct snap_suite *dst, const struct snap_suite *src);
void snap_suite_release(struct snap_suite *su);
const struct snap_suite *snap_find_suite(const struct snap *sn,
    const char *name);
/* The file of su (NULL: none) at path, or NULL; valid as long as su is. */
const struct snap_file *snap_suite_file(const struct snap_suite *su,
    const char *path);

/*
 * How many snapshots the store holds (every mirror) and the sum of their
 * bytes: counters that snap_commit and snap_drop move in their
 * transaction, so this reads one row whatever the history.
 */
int snap_totals(struct store_txn *t, uint64_t *n, uint64_t *bytes,
    struct merr *err);
/*
 * Deletes snapshot id's row (an exact ID) in the write transaction t, and
 * takes it off the counters. MERR_NOTFOUND if there is none.
 */
int snap_drop(struct store_txn *t, const char *mirror, const char *id,
    struct merr *err);

/*
 * Loads a snapshot into *out (owned: snap_release). ref: an exact ID
 * loads that snapshot, whatever its kind; "latest", or a timestamp in the
 * ID format that is no snapshot's ID, loads the newest snapshot at or
 * before it that is an upstream state (snap_kind_upstream): a patch or
 * a phase is a composition, not a state of the archive, so `patch --from
 * latest` and /<mirror>/latest/ mean upstream's newest. The walk back
 * over compositions reads only the
 * first lines of their manifests. MERR_NOTFOUND if none, MERR_INVAL if
 * ref is neither an ID nor "latest", MERR_STORE if a manifest on the way
 * does not parse.
 */
int snap_load(struct store_txn *t, const char *mirror, const char *ref,
    struct snap *out, struct merr *err);
/*
 * Loads the mirror's newest snapshot of any kind (the highest seq) into
 * *out (owned: snap_release): what pool membership continues from, so a
 * sync after a patch computes its delta against the patch. MERR_NOTFOUND
 * if the mirror has none, MERR_STORE if its manifest does not parse.
 */
int snap_load_newest(struct store_txn *t, const char *mirror,
    struct snap *out, struct merr *err);
/*
 * IDs of a mirror's snapshots, oldest first; owned array of owned strings
 * (strv_free), NULL and 0 when there are none or on error.
 */
int snap_list(struct store_txn *t, const char *mirror, char ***ids,
    size_t *n, struct merr *err);
/*
 * Calls fn for each snapshot of mirror (NULL: of every mirror in the
 * store, configured or not), oldest first (by mirror, then ID), loaded
 * as snap_load loads it; sn is valid during the call. fn returns 0 to go
 * on or a negative code that ends the walk and is returned; so does a
 * manifest that does not parse. Reads every manifest: for fsck and gc,
 * not for a request.
 */
typedef int (*snap_each_fn)(void *ctx, const char *mirror,
    const struct snap *sn, struct merr *err);
int snap_each(struct store_txn *t, const char *mirror, snap_each_fn fn,
    void *ctx, struct merr *err);

/* Per-suite sync state (TBL_STATE). */
struct snap_state {
	int64_t date;		/* last accepted Release Date */
	char *etag;		/* validators of that InRelease, or NULL */
	char *last_modified;
};
/* Fills *st (owned: snap_state_release), zeroed if there is none. */
int snap_state_get(struct store_txn *t, const char *mirror, const char *suite,
    struct snap_state *st, struct merr *err);
void snap_state_release(struct snap_state *st);

/*
 * The manifest, a snapshot's row in TBL_SNAPS (snap_manifest.c has the
 * format). write appends sn's manifest to b; parse fills *sn (owned: free
 * with snap_release) or fails with MERR_STORE ("corrupt snapshot manifest
 * at line N", an unknown kind among them), leaving *sn empty. kind reads
 * only the lines before the first suite: *kind, or MERR_STORE as parse.
 */
void snap_manifest_write(const struct snap *sn, struct buf *b);
int snap_manifest_parse(const char *data, size_t len, struct snap *sn,
    struct merr *err);
int snap_manifest_kind(const char *data, size_t len, enum snap_kind *kind,
    struct merr *err);

/*
 * Pool membership changes: +1/-1 per (path, blob) an index adds/drops.
 * snap_delta_new never returns NULL (out of memory aborts); free with
 * snap_delta_free.
 */
struct snap_delta;
struct snap_delta *snap_delta_new(void);
void snap_delta_free(struct snap_delta *d);
/* Returns true if (path, h) was not in d before. */
bool snap_delta_add(struct snap_delta *d, const char *path, size_t len,
    const unsigned char h[HASH_LEN], uint64_t size, int n);
/*
 * Marks (path, h), already added, with tag (e.g. a blob to fetch, and
 * which suite wanted it), so the caller needs no list of its own.
 */
void snap_delta_mark(struct snap_delta *d, const char *path, size_t len,
    const unsigned char h[HASH_LEN], uint16_t tag);
typedef int (*snap_delta_mark_fn)(void *ctx, const char *path, size_t len,
    const unsigned char h[HASH_LEN], uint64_t size, uint16_t tag,
    struct merr *err);
/* Calls fn for each marked entry with a positive net count. */
int snap_delta_each_marked(const struct snap_delta *d, snap_delta_mark_fn fn,
    void *ctx, struct merr *err);

/* Calls fn for each entry with a non-zero net count. */
typedef int (*snap_delta_fn)(void *ctx, const char *path,
    const unsigned char h[HASH_LEN], uint64_t size, int n, struct merr *err);
int snap_delta_each(const struct snap_delta *d, snap_delta_fn fn, void *ctx,
    struct merr *err);

/*
 * Commits sn as the mirror's next snapshot in one write transaction:
 * picks its ID (the commit time, strictly after the previous one; waits
 * up to 2 s for the clock if needed), its seq, applies d, records new
 * blobs (every file of the manifest and every pool blob gaining a
 * reference; they must be durable already: call store_sync first),
 * fills all of sn's counters (files and pool_bytes follow from the
 * previous snapshot's, of any kind, and d), writes the manifest (with
 * sn's kind and recipe as the caller set them) and the states of the suites
 * in states (array parallel to sn->suites; NULL entries are left as they
 * are). The caller holds the store lock. A transaction that fills the
 * index's map (MERR_FULL) is run again in the grown map, a few times.
 * Errors are prefixed "commit: "; MERR_STORE also when the clock is still
 * behind the last snapshot's ID after 2 s, or a reference count would
 * leave its range.
 */
int snap_commit(struct store *s, const char *mirror, struct snap *sn,
    const struct snap_delta *d, struct snap_state *const *states,
    struct merr *err);

/*
 * A read replica's copy of a primary's snapshot (replica.h): stores the
 * manifest data (len bytes, as the primary's snap_manifest_write wrote
 * it) verbatim under its own ID, in the write transaction t, and counts
 * it (snap_totals). Its files must be durable and listed in the blobs
 * table already, and its pool intervals are the caller's (pool.h).
 * MERR_STORE if data does not parse; MERR_EXISTS if the mirror has a
 * snapshot of that ID.
 */
int snap_import(struct store_txn *t, const char *mirror, const char *data,
    size_t len, struct merr *err);

#endif
