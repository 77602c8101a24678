/*
 * decomp.h: streaming decompression of plain, gzip and xz files, with the
 * output capped, and compression of whole files in memory. decomp.c is
 * the only file that calls liblzma and zlib.
 *
 * Threads: a struct decomp belongs to one thread at a time; separate ones
 * may be used in parallel. comp_from_name(), comp_strip(), comp_level()
 * and comp_encode() are pure (comp_encode() writes only to its out).
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

/*
 * Reads fd (borrowed) to its end, decompressed per comp, into *text
 * (owned, NUL-terminated; *len bytes without the NUL): for a whole index
 * in memory. Errors are decomp_read's.
 */
int decomp_read_all(int fd, enum comp comp, uint64_t max_out,
    const char *name, char **text, size_t *len, struct merr *err);

/* Frees r (NULL is fine); does not close its fd. */
void decomp_free(struct decomp *r);

/*
 * Compression levels: COMP_LEVEL_AUTO lets comp_level() choose by size,
 * so that rewriting a full index stays well under a second. Measured on
 * bookworm main amd64's Packages (50 MB, 2026, one core of an EPYC):
 *
 *	gzip -1  0.34 s  14.0 MB	xz -0  1.6 s  11.9 MB
 *	gzip -3  0.40 s  13.4 MB	xz -1  2.5 s  11.1 MB
 *	gzip -6  0.86 s  11.8 MB	xz -6 23.5 s   8.9 MB
 *
 * gzip: level 6 (gzip(1)'s) up to COMP_GZ_FAST_ABOVE bytes (4 MiB: 0.08
 * s), level 1 above. xz: preset 6 (xz(1)'s) up to COMP_XZ_FAST_ABOVE (1
 * MiB: 0.26 s), preset 0 above, which is no smaller than gzip -6 and
 * twice as slow: callers that care about time write xz only for small
 * files (dists.h).
 */
#define COMP_LEVEL_AUTO		(-1)
#define COMP_GZ_FAST_ABOVE	((size_t)4 << 20)
#define COMP_XZ_FAST_ABOVE	((size_t)1 << 20)
int comp_level(enum comp c, size_t len);

/*
 * Compresses len bytes of in into one complete file of format c, appended
 * to out: COMP_GZ a gzip file (one member, no file name, mtime 0, what apt
 * reads as .gz), COMP_XZ an xz file (one stream, CRC64 check). The bytes
 * depend only on the input, the level and the library version: the same
 * text gives the same blob. level: 1-9 for gzip, 0-9 (xz presets) for xz,
 * or COMP_LEVEL_AUTO. Returns 0, or MERR_INVAL (c is neither format,
 * level out of range, the library refused) with err set; out may then
 * hold part of the output. Out of memory aborts.
 */
int comp_encode(enum comp c, const void *in, size_t len, int level,
    struct buf *out, struct merr *err);

#endif
