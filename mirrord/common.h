/*
 * common.h: included first by every .c file of mirrord.
 *
 * Holds the one error type (struct merr), its codes, the allocation
 * wrappers that abort on out-of-memory, and a growable byte buffer.
 *
 * Threads: nothing here keeps state; every function may be called from
 * any thread, a struct merr or struct buf being used by one thread at a
 * time (write_file_atomic() has one more rule, below).
 */
#ifndef MIRRORD_COMMON_H
#define MIRRORD_COMMON_H

#define _GNU_SOURCE 1

#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIRRORD_VERSION "0.1.0"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))

/*
 * Error codes. Fallible functions return 0 on success or one of these
 * (always negative) and fill the struct merr passed as their last argument.
 */
enum {
	MERR_OK = 0,
	MERR_IO = -1,		/* local file system or system call */
	MERR_PARSE = -2,	/* malformed input (config, Release, index) */
	MERR_VERIFY = -3,	/* signature, size or hash did not verify */
	MERR_NET = -4,		/* transfer failed after retries */
	MERR_NOTFOUND = -5,	/* the thing asked for does not exist */
	MERR_BUSY = -6,		/* another writer holds the store */
	MERR_CONF = -7,		/* invalid configuration */
	MERR_LIMIT = -8,	/* a size or count cap was exceeded */
	MERR_INVAL = -9,	/* invalid argument from the user */
	MERR_EXISTS = -10,	/* already exists */
	MERR_STORE = -11,	/* LMDB or store consistency */
	MERR_CANCEL = -12,	/* stopped on request (a signal) */
	MERR_FULL = -13		/* the index map was full: grown, retry */
};

/*
 * An error: a code and a message with context, lowercase, no full stop,
 * subjects quoted ("cannot open '/x': No such file or directory").
 */
struct merr {
	int code;
	char msg[1024];
};

/* Set err (may be NULL) to code and the formatted message; returns code. */
int merr_set(struct merr *err, int code, const char *fmt, ...) ATTR_PRINTF(3, 4);

/*
 * Prepend context to an error already set: "mirror 'x': " + old message,
 * cut to fit msg. Returns err->code (MERR_IO if err is NULL).
 */
int merr_prefix(struct merr *err, const char *fmt, ...) ATTR_PRINTF(2, 3);

/*
 * Set err from errno (read before anything else): "<what>: strerror(errno)",
 * code MERR_IO. Returns MERR_IO.
 */
int merr_errno(struct merr *err, const char *fmt, ...) ATTR_PRINTF(2, 3);

/*
 * Allocation: these never return NULL; out of memory (and an n * size
 * that overflows) calls util_oom() (util.h), which aborts. A size of 0
 * still gives a pointer. Free the results with free().
 */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* Frees the n strings of v and v itself (NULL with n 0 is fine). */
void strv_free(char **v, size_t n);

/*
 * A growable buffer, always NUL-terminated (p[len] == 0) once anything
 * was added. BUF_INIT or buf_init() before use, buf_release() after.
 */
struct buf {
	char *p;
	size_t len;
	size_t cap;
};
#define BUF_INIT { NULL, 0, 0 }

void buf_init(struct buf *b);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);			/* len = 0, keeps memory */
void buf_grow(struct buf *b, size_t extra);	/* room for extra more */
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) ATTR_PRINTF(2, 3);
/*
 * Returns the contents, owned (free()), NUL-terminated, never NULL ("" for
 * an empty b), with their length in *len (len may be NULL); b is empty
 * and reusable after.
 */
char *buf_detach(struct buf *b, size_t *len);

/* Big-endian integers in keys and values: they sort as numbers. */
static inline void
be32_put(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline uint32_t
be32_get(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
be64_put(unsigned char *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

static inline uint64_t
be64_get(const unsigned char *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

/*
 * Whether the counted string [a, a+alen) equals the C string b, ASCII case
 * aside (same length included).
 */
bool str_ieq(const char *a, size_t alen, const char *b);
bool str_startswith(const char *s, const char *prefix);
bool str_endswith(const char *s, const char *suffix);

/*
 * Parse an unsigned decimal of at most max, whole string [s, s+len):
 * no sign, no spaces, no overflow. Returns 0 or MERR_PARSE, with no
 * message (the caller names the field); *out is set on success only.
 */
int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);

/*
 * The next line of [*p, end) into a NUL-terminated copy of at most n - 1
 * bytes, *p moved past it; false if there is no complete line left (the
 * text records of TBL_META: status.c, odstats.c).
 */
bool text_next_line(const char **p, const char *end, char *out, size_t n);

/* Milliseconds of CLOCK_MONOTONIC: for timeouts and schedules. */
int64_t mono_ms(void);

/*
 * Read a whole small file, capped at max bytes, into *out (owned: free();
 * NUL-terminated, *outlen bytes before the NUL). MERR_IO if it cannot be
 * opened or read, MERR_LIMIT if it is larger than max; *out is then
 * untouched.
 */
int read_file(const char *path, size_t max, char **out, size_t *outlen,
    struct merr *err);

/*
 * Write data to path atomically: temp file, fsync, rename, fsync dir. A
 * reader sees the old contents or the new, never a mix. MERR_IO naming
 * the step that failed; the temp file is removed, and path keeps its old
 * contents unless only the directory's fsync failed. The temp name is
 * "<path>.tmp.<pid>": two threads of one process must not write the same
 * path at once.
 */
int write_file_atomic(const char *path, const void *data, size_t len,
    int mode, struct merr *err);

/*
 * mkdir -p with mode; existing directories are fine (an existing
 * component is not checked to be a directory). MERR_IO naming the
 * directory that could not be made.
 */
int mkdir_p(const char *path, int mode, struct merr *err);

#endif
