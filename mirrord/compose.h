/*
 * compose.h: composed snapshots — snapshots whose Packages and Sources
 * mirrord writes from a selection of other snapshots' paragraphs (a
 * partial mirror's closure, a patch of a channel's target), and the pool
 * membership difference any new snapshot states against the one before.
 *
 * Files: compose_delta.c (the difference), compose.c (loading indices
 * into a pkgset, writing the selection as a snapshot), patch.c (the
 * `patch` operation). The resolution itself is closure.h's.
 *
 * Errors are negative MERR_* codes with err set; what a function fills is
 * the caller's (snap_release, snap_suite_release). One thread at a time
 * per call; they take the store's transactions they need.
 */
#ifndef MIRRORD_COMPOSE_H
#define MIRRORD_COMPOSE_H

#include "mirrord/common.h"
#include "mirrord/gpg.h"
#include "mirrord/index.h"
#include "mirrord/pkgset.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

/* What one index may decompress to: a Debian main Packages is ~50 MB. */
#define COMPOSE_INDEX_MAX (4ull << 30)

/*
 * Called for each pool file a new index lists (first: not seen before in
 * this difference, e.g. to queue its download once). Returns 0 or a
 * negative code that stops the walk.
 */
typedef int (*compose_entry_fn)(void *ctx, const char *suite,
    const struct index_entry *e, bool first, struct merr *err);

/*
 * Where a partial mirror's snapshot keeps upstream's files of a suite
 * (its signed Release files and whole indices, byte for byte, which the
 * next sync composes from again): under dists/<suite>/.upstream/, listed
 * in no Release mirrord writes.
 */
#define COMPOSE_UPSTREAM_DIR ".upstream/"

/*
 * Adds to d the pool membership difference of new against old (NULL: the
 * mirror's first snapshot): for each Packages/Sources index of new whose
 * blob differs from old's at the same path (up to the compression
 * suffix), +1 per pool file it lists and -1 per file of old's version;
 * -1 for the files of old's indices new lacks. fn (may be NULL) sees
 * each file of new's parsed indices. new's indices get their counts
 * (npara, nfiles, bytes): parsed, or old's for an index old has as is. Index blobs must be in the store.
 * Errors name the suite and index.
 */
int compose_delta(struct store *s, const struct snap *old, struct snap *new,
    struct snap_delta *d, compose_entry_fn fn, void *ctx, struct merr *err);

/*
 * Parses one index blob of suite (at most max_out bytes decompressed:
 * index_parse_fd's limit) into d with sign (+1 or -1); counts (may be
 * NULL) gets npara, nfiles and bytes; fn as above (sign > 0). Errors are
 * index_parse_fd's, prefixed "'SUITE/PATH': ". tee (may be NULL) gets a
 * copy of the decompressed text (store_blob_write).
 */
int compose_parse_index(struct store *s, const char *suite,
    const struct snap_index *ix, uint64_t max_out, int sign,
    struct snap_delta *d,
    struct snap_index *counts, compose_entry_fn fn, void *ctx,
    struct blob_writer *tee, struct merr *err);

/* The index of su (may be NULL) at path up to its compression suffix. */
const struct snap_index *compose_find_index(const struct snap_suite *su,
    const char *path);

/*
 * Turns each suite of a partial mirror's snapshot into upstream's files
 * as the snapshot keeps them under COMPOSE_UPSTREAM_DIR (no indices
 * listed: compose_load_files reads them).
 */
void compose_upstream_view(struct snap *sn);

/*
 * Loads into ps every Packages/Sources index that each of sns (nsn of
 * them; sns[k]'s with layer k) names in its manifest (the variant that
 * was parsed), decompressed whole: on a few threads, added in order.
 * Errors name the suite and index: the store's, decomp_read's,
 * pkgset_add_index's.
 */
int compose_load(struct store *s, const struct snap *const *sns, size_t nsn,
    struct pkgset *ps, struct merr *err);
/*
 * The same, layer 0, for suites known only by their files (upstream's,
 * before any index was parsed): the best variant (.xz, .gz, plain) of
 * each Packages/Sources index among each suite's files.
 */
int compose_load_files(struct store *s, const struct snap_suite *sus,
    size_t nsu, struct pkgset *ps, struct merr *err);
/*
 * The variant of index path among su's files that is quickest to read
 * whole: a sync parses the .xz (the fewest bytes from disk, as a
 * stream), but xz decodes at a quarter of gzip's speed. Every variant
 * listed was verified against the signed Release (or written by
 * mirrord). NULL if su lists none.
 */
const struct snap_file *compose_fastest(const struct snap_suite *su,
    const char *path);

/*
 * Is path (under dists/<suite>/) a Packages or Sources index, in any
 * compression, outside by-hash/ and COMPOSE_UPSTREAM_DIR?
 */
bool compose_is_index(const char *path);
/*
 * Which variant of an index to read first: .xz 3, .gz 2, plain 1 (the
 * smallest to read from disk first); 0 for one that cannot be read.
 */
int compose_variant_rank(const char *path);
/*
 * If su->files[i] is the first-listed variant of an index, the variant
 * to read of it; else NULL.
 */
const struct snap_file *compose_best_variant(const struct snap_suite *su,
    size_t i);

/*
 * The same package (name, version, architecture, kind and layer) is
 * often in several indices: an Architecture: all one in each
 * binary-ARCH Packages, a version in two suites. A resolver picks one
 * of them; this marks the others too (sel[id] 2), so every index that
 * lists a selected package keeps it.
 */
void compose_spread(const struct pkgset *ps, uint8_t *sel);

/*
 * Writes the suite of a composed snapshot that base (the suite the
 * result replaces: a patch's base, or upstream's files of a partial
 * mirror) stands for. sel marks the packages of ps (by id) the result
 * holds; each of its indices is the selected paragraphs of every loaded
 * index at the same suite and path, layer 0 then 1, in text order. With
 * force false, an index is written only if it changed (a layer-0
 * paragraph left out or a layer-1 one taken); if none did, out is a copy
 * of base and *changed false. Otherwise dists_compose_suite() writes it
 * (new Release files signed with g, Date date, files under hide not
 * listed in them). out is zeroed by the caller; snap_suite_release.
 * Errors are prefixed "suite 'NAME': ".
 */
int compose_write_suite(struct store *s, struct gpg_signer *g,
    const struct pkgset *ps, const uint8_t *sel,
    const struct snap_suite *base, bool force, int64_t date,
    const char *hide, struct snap_suite *out, bool *changed,
    struct merr *err);

/*
 * An edit of the paragraphs a composed suite writes (phase.c's
 * Phased-Update-Percentage): fn either appends paragraph id's text
 * (p, len: as its index has it, without the blank line) changed to out
 * and returns true, or appends nothing and returns false (the paragraph
 * is copied as it is). An index with an edited paragraph is written.
 */
struct compose_edit {
	bool (*fn)(void *ctx, const struct pkgset *ps, uint32_t id,
	    const char *p, size_t len, struct buf *out);
	void *ctx;
};

/* compose_write_suite, with each selected paragraph through edit. */
int compose_write_suite_edit(struct store *s, struct gpg_signer *g,
    const struct pkgset *ps, const uint8_t *sel,
    const struct compose_edit *edit, const struct snap_suite *base,
    bool force, int64_t date, const char *hide, struct snap_suite *out,
    bool *changed, struct merr *err);

/*
 * Commits a composed snapshot (written by compose_write_suite) as the
 * mirror's next: the pool difference against the newest snapshot
 * (compose_delta), the barrier (store_sync), snap_commit. The caller
 * holds the store's writer lock. result->id gets the ID.
 */
int compose_commit(struct store *s, const char *mirror, struct snap *result,
    struct merr *err);

#endif
