/*
 * fsck.h: checking a store: every blob the index lists is re-hashed,
 * every reference (pool intervals, snapshot manifests, channels' own
 * Release files) must name a listed blob, the blob counters must match
 * the rows, and blob files the index does not list are named.
 *
 * fsck reads: one read transaction for the whole run, plus a short one
 * per blob found missing (gc may have removed it meanwhile: rows are
 * committed before files are unlinked). It takes no lock and runs beside
 * syncs, gc, channel moves and the server, in any process. It reads every
 * blob: its cost is the store's size. It works in the caller's thread
 * (opts->found is called there) and keeps no global state.
 */
#ifndef MIRRORD_FSCK_H
#define MIRRORD_FSCK_H

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/store.h"

/* What a finding is about. */
enum fsck_kind {
	FSCK_MISSING_REF,	/* a reference to a blob the index lacks */
	FSCK_MISSING_FILE,	/* a listed blob whose file cannot be opened */
	FSCK_SIZE,		/* a listed blob of the wrong size */
	FSCK_HASH,		/* a listed blob whose bytes hash otherwise */
	FSCK_COUNTERS,		/* blob counters that do not match the rows */
	FSCK_POOL_KEY,		/* a malformed pool interval key */
	FSCK_ORPHAN,		/* a blob file the index does not list */
	FSCK_STRAY,		/* a file under blobs/ not named like a blob */
};

/*
 * One finding. text is the line `mirrord fsck` prints for it (no
 * newline), e.g. "blob <hex>: sha256 mismatch". problem: it counts as a
 * problem (FSCK_ORPHAN and FSCK_STRAY do not: they are harmless, left by
 * a kill between a rename and its commit or between gc's commit and its
 * unlink, and gc removes orphans).
 */
struct fsck_finding {
	enum fsck_kind kind;
	bool problem;
	char *text;		/* owned by the report */
};

struct fsck_report {
	uint64_t blobs;		/* listed blobs re-hashed */
	uint64_t bytes;		/* their bytes as read */
	uint64_t refs;		/* references checked */
	uint64_t orphans;	/* FSCK_ORPHAN findings */
	/*
	 * Pool files of a Download: on-demand mirror that the blobs table
	 * does not list: referenced, not stored yet (content.h). Not a
	 * problem, not a finding; for any other mirror (or one the
	 * configuration does not name) the same is FSCK_MISSING_REF.
	 */
	uint64_t not_stored;
	uint64_t problems;	/* findings with problem set */
	struct fsck_finding *findings;	/* in the order found */
	size_t nfindings;
};

struct fsck_opts {
	/*
	 * Called with each finding as it is made (may be NULL): a long
	 * run can print as it goes. f is valid until the report is
	 * released.
	 */
	void (*found)(void *ctx, const struct fsck_finding *f);
	void *ctx;
};

/*
 * Checks store s, whose snapshots and channels are looked up for c's
 * mirrors (the pool intervals and blobs of every mirror in the store).
 * opts may be NULL. Fills *r (free with fsck_report_release, also after
 * an error): 0 when the check ran (r->problems says whether the store is
 * sound), or a negative code with err set when it could not (the index
 * cannot be read, a manifest does not parse, a read error); r then holds
 * what was found before. Does not write to the store.
 */
int fsck_run(struct store *s, const struct conf *c,
    const struct fsck_opts *opts, struct fsck_report *r, struct merr *err);
/*
 * The S3 backend (Blobs: s3://, store_set_backend): fsck_run checks that
 * every listed blob has an object of its size (one listing of the bucket,
 * not a request per blob; FSCK_MISSING_FILE, FSCK_SIZE), re-hashes the
 * cached copies, and reports the objects the index does not list as
 * FSCK_ORPHAN (gc deletes them after the grace period) and keys not named
 * like a blob as FSCK_STRAY. fsck_run_deep also downloads each object and
 * re-hashes its bytes as they come (FSCK_HASH); the verified copy lands in
 * the cache. For a file store the two are the same. The listing is held
 * in memory, sorted: about 48 bytes per object (50 MB for a million).
 */
int fsck_run_deep(struct store *s, const struct conf *c,
    const struct fsck_opts *opts, struct fsck_report *r, struct merr *err);
void fsck_report_release(struct fsck_report *r);

#endif
