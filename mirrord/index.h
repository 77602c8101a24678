/*
 * index.h: streaming parsing of Packages and Sources indices, compressed
 * or not (decomp.h), with memory bounded by one paragraph whatever the
 * index size.
 *
 * Threads: index_parse_fd() keeps no state between calls; separate calls
 * may run in parallel on separate fds.
 */
#ifndef MIRRORD_INDEX_H
#define MIRRORD_INDEX_H

#include "mirrord/common.h"
#include "mirrord/decomp.h"
#include "mirrord/hash.h"

enum index_kind { INDEX_PACKAGES, INDEX_SOURCES };

/* One pool file named by an index. */
struct index_entry {
	const char *path;	/* canonical (path_check), from archive root */
	size_t path_len;
	unsigned char hash[HASH_LEN];
	uint64_t size;
};

/*
 * Called for each pool file. e and what it points to are valid only
 * during the call. Return 0 to go on, or a negative MERR (with err set) to
 * stop parsing: index_parse_fd() then returns that code and err as it is.
 */
typedef int (*index_entry_fn)(void *ctx, const struct index_entry *e,
    struct merr *err);

/*
 * Reads the index in fd (borrowed; from its current offset), decompressing
 * per comp, at most max_out decompressed bytes (capped at 1 GiB whatever
 * is asked), and calls cb for every pool file: for Packages, Filename +
 * Size + SHA256 of each paragraph; for Sources, each "Checksums-Sha256:"
 * line "hash size name" joined to Directory. Every path is canonicalised
 * with path_check(). *npara (npara may be NULL) gets the number of
 * paragraphs (packages or source packages) on success. name is for
 * messages. Returns 0, or:
 *   MERR_PARSE  a bad path, a paragraph missing a field, a duplicate
 *               field, a malformed value (the message names the index
 *               line), or corrupt compressed data;
 *   MERR_LIMIT  more than max_out decompressed bytes (a decompression bomb
 *               or a lying Release) or a paragraph over 1 MiB;
 *   MERR_INVAL  comp is COMP_OTHER, or the decoder refused to start;
 *   MERR_IO     read() failed;
 *   or what cb returned.
 */
int index_parse_fd(int fd, enum comp comp, uint64_t max_out,
    enum index_kind kind, const char *name, index_entry_fn cb, void *ctx,
    uint64_t *npara, struct merr *err);

/*
 * The same, also handing every decompressed chunk, in order, to tee
 * (ctx tee_ctx): a copy of the text as it is read (the sync keeps the
 * plain index this way). tee returns 0, or a negative MERR that stops
 * the parse and is returned.
 */
typedef int (*index_tee_fn)(void *ctx, const char *buf, size_t len,
    struct merr *err);
int index_parse_fd_tee(int fd, enum comp comp, uint64_t max_out,
    enum index_kind kind, const char *name, index_entry_fn cb, void *ctx,
    uint64_t *npara, index_tee_fn tee, void *tee_ctx, struct merr *err);

#endif
