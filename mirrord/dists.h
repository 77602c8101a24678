/*
 * dists.h: a suite's dists/ files as mirrord writes them: the Release
 * text a suite was synced with, Release texts rewritten field by field,
 * and composed suites, whose Packages and Sources mirrord writes from a
 * selection of other snapshots' paragraphs (composed snapshots, snap.h's
 * SNAP_PARTIAL and SNAP_PATCH), signed with mirrord's key.
 *
 * Errors are negative MERR_* codes with err set. Threads: the functions
 * take no lock of their own; those given a store and a signer may run
 * in any thread that may use them (store.h, gpg.h).
 * dists_compose_suite() starts and joins one thread of its own per index
 * (compression), which touches nothing but that index's text.
 */
#ifndef MIRRORD_DISTS_H
#define MIRRORD_DISTS_H

#include "mirrord/common.h"
#include "mirrord/gpg.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

/* Release, InRelease or Release.gpg (a path relative to dists/<suite>/). */
bool dists_is_release(const char *path);

/*
 * Upstream's signed Release text of a suite of a snapshot: the Release
 * blob when upstream had one (byte for byte), else the signed text of the
 * InRelease blob, split exactly as gpg_verify_clearsigned() split it when
 * it was synced. *out is owned (free()), *len its length. MERR_NOTFOUND
 * for a suite without either, MERR_STORE for a blob that does not match
 * its hash (nothing is signed from it), MERR_IO or MERR_LIMIT (64 MiB)
 * reading it, MERR_PARSE for an InRelease that does not split.
 */
int dists_release_text(struct store *s, const struct snap_suite *su,
    char **out, size_t *len, struct merr *err);

/*
 * Rewrites the first paragraph of a Release text into out (appended):
 * every field is copied byte for byte, with its continuation lines,
 * except those whose name (case-insensitive) is in drop (a NULL-ended
 * list); insert (complete lines) takes the place of the first Date field,
 * or ends the paragraph if it has none. The lines after the first
 * paragraph are copied as they are; a last line without a newline gets
 * one. Pure.
 */
void dists_release_rewrite(const char *text, size_t len,
    const char *const *drop, const char *insert, struct buf *out);

/*
 * Signs the Release text rel with g and stores it as Release, with
 * InRelease (clearsigned) and Release.gpg (detached), each a blob added
 * to su's files. The blobs are written, not synced. Errors: the signer's
 * (gpg_sign_clear) or the store's.
 */
int dists_sign_release(struct store *s, struct gpg_signer *g,
    const char *rel, size_t rlen, struct snap_suite *su, struct merr *err);

/*
 * An index a composition replaces: path without compression suffix,
 * relative to dists/<suite>/ ("main/binary-amd64/Packages",
 * "main/source/Sources"), and its text: the selected paragraphs byte for
 * byte, each followed by one blank line, as an index is. The counts go
 * to the suite's snap_index. Borrowed.
 */
struct dists_index {
	const char *path;
	const char *text;
	size_t len;
	uint64_t npara;		/* packages or source packages */
	uint64_t nfiles;	/* pool files they list */
	uint64_t bytes;		/* their total size */
};

/*
 * Indices up to this size get an .xz variant too (preset 6: 0.26 s at
 * most); larger ones only .gz, which costs 0.34 s for a full Debian main
 * Packages where xz would cost 1.6 s at its fastest (decomp.h).
 */
#define DISTS_XZ_MAX	((size_t)1 << 20)

/*
 * Composes a suite into out (zeroed by the caller; owned after, success
 * or not: snap_suite_release): base's name; date and its RFC 2822 form;
 * base's files except its Release files and except every variant of a
 * replaced index (path, path.gz, .xz, .bz2, .lzma, .lz4, .zst, its pdiffs
 * under path.diff/, and the by-hash entries of those blobs); then, for
 * each ix, the text as path and path.gz (and path.xz up to DISTS_XZ_MAX),
 * each stored as a blob; then Release, InRelease (clearsigned) and
 * Release.gpg (detached) signed with g. The Release is release (upstream's
 * signed text, dists_release_text) with its first paragraph's fields kept
 * byte for byte, except: Date = date, Acquire-By-Hash: yes (in Date's
 * place), Valid-Until and Snapshots dropped, and the MD5Sum, SHA1, SHA256
 * and SHA512 sections replaced by one SHA256 section listing every file
 * of out in path order, but for the Release files, by-hash entries and
 * paths starting with hide_prefix (NULL: none), which stay in out
 * unlisted. SHA256 alone: apt has required it and ignored the rest since
 * 1.1 (2015), so MD5 and SHA1 would only be bytes to write. out's
 * indices: base's that are not replaced, and one per ix naming its plain
 * file with ix's counts.
 *
 * Cost: the .gz is encoded in a second thread while the plain text is
 * written; bookworm main amd64's full Packages (50 MB, 63,440 packages)
 * composes, Release signed, in about 0.4 s (0.6 s on one core).
 *
 * The new blobs are written, not synced: the caller runs store_sync()
 * before snap_commit(), as a sync does. MERR_INVAL for an ix path that is
 * not canonical, has a compression suffix or comes twice; otherwise the
 * store's, the encoder's or the signer's error, prefixed with the path.
 */
int dists_compose_suite(struct store *s, struct gpg_signer *g,
    const struct snap_suite *base, const char *release, size_t rlen,
    const struct dists_index *ix, size_t n, int64_t date,
    const char *hide_prefix, struct snap_suite *out, struct merr *err);

#endif
