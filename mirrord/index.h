/*
 * index.h: streaming decompression and parsing of Packages and Sources
 * indices, with memory bounded by one paragraph whatever the index size.
 */
#ifndef MIRRORD_INDEX_H
#define MIRRORD_INDEX_H

#include "mirrord/common.h"
#include "mirrord/hash.h"

enum comp { COMP_NONE = 0, COMP_GZ, COMP_XZ, COMP_OTHER };

/* Compression from a file name's suffix (.gz, .xz; .bz2/.lz4/.zst etc. are
 * COMP_OTHER, which cannot be parsed but is still mirrored). */
enum comp comp_from_name(const char *name);
/* Strips a known compression suffix: "Packages.xz" -> length of "Packages". */
size_t comp_strip(const char *name);

enum index_kind { INDEX_PACKAGES, INDEX_SOURCES };

/* One pool file named by an index. */
struct index_entry {
	const char *path;	/* canonical (path_check), from archive root */
	size_t path_len;
	unsigned char hash[HASH_LEN];
	uint64_t size;
};

/* Return 0 to go on, or a negative MERR to stop parsing with that error. */
typedef int (*index_entry_fn)(void *ctx, const struct index_entry *e,
    struct merr *err);

/*
 * Reads the index in fd (from its current offset), decompressing per comp,
 * at most max_out decompressed bytes (more is MERR_LIMIT: a decompression
 * bomb or a lying Release), and calls cb for every pool file: for
 * Packages, Filename + Size + SHA256 of each paragraph; for Sources, each
 * "Checksums-Sha256:" line "hash size name" joined to Directory. Every
 * path is canonicalised with path_check(); a bad one, or a paragraph
 * missing a field, is MERR_PARSE naming the index line. *npara gets the
 * number of paragraphs (packages or source packages). name is for
 * messages.
 */
int index_parse_fd(int fd, enum comp comp, uint64_t max_out,
    enum index_kind kind, const char *name, index_entry_fn cb, void *ctx,
    uint64_t *npara, struct merr *err);

/*
 * A decompressing reader usable as a deb822_read_fn (for pdiff Index and
 * other small indices). Owned; free with index_reader_free().
 */
struct index_reader;
struct index_reader *index_reader_new(int fd, enum comp comp,
    uint64_t max_out, const char *name);
ssize_t index_reader_read(void *reader, char *buf, size_t len,
    struct merr *err);
void index_reader_free(struct index_reader *r);

#endif
