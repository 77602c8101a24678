/*
 * decomp.h: streaming decompression of plain, gzip and xz files, with the
 * output capped. decomp.c is the only file that calls liblzma and zlib.
 *
 * Threads: a struct decomp belongs to one thread at a time; separate ones
 * may be used in parallel. comp_from_name() and comp_strip() are pure.
 */
#ifndef MIRRORD_DECOMP_H
#define MIRRORD_DECOMP_H

#include "mirrord/common.h"

enum comp { COMP_NONE = 0, COMP_GZ, COMP_XZ, COMP_OTHER };

/*
 * Compression from a file name's suffix (.gz, .xz; .bz2/.lz4/.zst etc. are
 * COMP_OTHER, which cannot be decompressed but is still mirrored).
 */
enum comp comp_from_name(const char *name);
/* Strips a known compression suffix: "Packages.xz" -> length of "Packages". */
size_t comp_strip(const char *name);

/*
 * A decompressing reader of fd, from its current offset. Returns owned
 * memory, never NULL (out of memory aborts); free with decomp_free(). fd is
 * borrowed: the caller closes it after decomp_free(). name (copied) is for
 * messages. Nothing is read, and no error is possible, before the first
 * decomp_read().
 */
struct decomp;
struct decomp *decomp_new(int fd, enum comp comp, uint64_t max_out,
    const char *name);

/*
 * Reads up to len decompressed bytes into buf; a deb822_read_fn (reader is
 * a struct decomp *). Returns the count, 0 at the end of the data, or a
 * negative MERR with err (may be NULL) set:
 *   MERR_INVAL  comp is COMP_OTHER, or the library refused to start;
 *   MERR_IO     read() failed;
 *   MERR_PARSE  corrupt, truncated or unsupported compressed data;
 *   MERR_LIMIT  more than max_out decompressed bytes (the bytes up to the
 *               cap are returned first), or an xz stream needing more than
 *               256 MiB of decoder memory.
 * An error is sticky: every later call returns it again.
 */
ssize_t decomp_read(void *reader, char *buf, size_t len, struct merr *err);

/* Frees r (NULL is fine); does not close its fd. */
void decomp_free(struct decomp *r);

#endif
