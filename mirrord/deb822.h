/*
 * deb822.h: a streaming parser for RFC 822-style Debian control data:
 * configuration, Release, Packages, Sources, pdiff Index files.
 *
 * Paragraphs are separated by blank lines (lines of only spaces/tabs are
 * blank). A field is "Name: value"; continuation lines start with a space
 * or tab. Lines starting with '#' are comments (apt allows them in
 * .sources files) and are skipped. Field names are matched without regard
 * to ASCII case, as apt does; a field given twice in one paragraph is an
 * error, as in apt. A '\r' before a line's '\n' is dropped; a NUL byte is
 * an error.
 *
 * Input comes from a read callback, so a 100 MB Packages stream needs only
 * one paragraph in memory at a time. A paragraph larger than max_para
 * bytes is an error (MERR_LIMIT), so hostile input cannot grow memory.
 *
 * Threads: a struct deb822 belongs to one thread at a time; separate ones
 * may be used in parallel (no global state).
 */
#ifndef MIRRORD_DEB822_H
#define MIRRORD_DEB822_H

#include "mirrord/common.h"

struct deb822_field {
	const char *name;	/* not NUL-terminated; name_len bytes */
	size_t name_len;
	/*
	 * The value with the leading space after ':' and trailing whitespace
	 * removed; continuation lines are kept as they are, each preceded by
	 * '\n' (so "SHA256:\n abc 12 x\n def 3 y" has value
	 * "\n abc 12 x\n def 3 y"). NUL-terminated.
	 */
	const char *value;
	size_t value_len;
	unsigned line;		/* line number of the field name, from 1 */
};

struct deb822_para {
	struct deb822_field *fields;
	size_t nfields;
	unsigned line;		/* first line of the paragraph */
};

/*
 * Reads up to len bytes into buf. Returns the count, 0 at end of input,
 * or a negative MERR code with err set.
 */
typedef ssize_t (*deb822_read_fn)(void *ctx, char *buf, size_t len,
    struct merr *err);

struct deb822;

/*
 * A parser reading through rd(ctx, ...); ctx is borrowed until
 * deb822_free. name is used in error messages ("'conf/x.conf' line 12:
 * ..."); it is copied (NULL: "(input)"). max_para caps one paragraph's
 * size in bytes. Returns owned memory, never NULL (out of memory aborts);
 * free with deb822_free (NULL is fine).
 */
struct deb822 *deb822_new(deb822_read_fn rd, void *ctx, const char *name,
    size_t max_para);
/*
 * The same over memory [data, data+len); data is borrowed until the last
 * deb822_next.
 */
struct deb822 *deb822_new_mem(const char *data, size_t len, const char *name,
    size_t max_para);
void deb822_free(struct deb822 *p);

/*
 * Parses the next paragraph. Returns 1 and sets *out (valid until the next
 * call or deb822_free), 0 at end of input, or a negative MERR code
 * (MERR_PARSE for malformed input naming the line, MERR_LIMIT, MERR_IO for
 * a reader that returned more than asked, or the reader's error). An
 * error is sticky: every later call fails with the same code ("parsing
 * already failed").
 */
int deb822_next(struct deb822 *p, struct deb822_para **out, struct merr *err);

/* The name given to deb822_new, for messages; valid until deb822_free. */
const char *deb822_name(const struct deb822 *p);

/* Field lookup, case-insensitive; valid as para is. NULL if absent. */
const struct deb822_field *deb822_field(const struct deb822_para *para,
    const char *name);
/* Value of a field, or NULL if absent; *len may be NULL. */
const char *deb822_get(const struct deb822_para *para, const char *name,
    size_t *len);

#endif
