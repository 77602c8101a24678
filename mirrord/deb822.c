/*
 * deb822.c: a streaming parser for Debian control data (deb822).
 *
 * Lines are found with memchr() and each line of a paragraph is copied
 * once into one paragraph buffer, which is reused for every paragraph
 * together with the field array: in the steady state parsing allocates
 * nothing. Fields record offsets while the paragraph grows (the buffer may
 * move when it grows) and get their pointers when the paragraph is done.
 *
 * Two sources of bytes: memory (lines are taken straight from the caller's
 * data) or a read callback (lines come from a 64 KiB read buffer, and a line
 * split across reads is assembled in a side buffer bounded by max_para).
 */
#include "mirrord/common.h"

#include <strings.h>

#include "mirrord/deb822.h"
#include "mirrord/hash.h"
#include "mirrord/path.h"

#define DEB822_READ_SIZE 65536

/* Where a field's name and value sit in the paragraph buffer. */
struct deb822_ofs {
	size_t name;
	size_t value;
};

struct deb822 {
	char *name;
	size_t max_para;

	/* Memory source: data is borrowed. */
	const char *mem;
	size_t memlen;
	size_t mempos;

	/* Callback source. */
	deb822_read_fn rd;
	void *ctx;
	char *rbuf;		/* DEB822_READ_SIZE bytes */
	size_t rpos, rlen;
	bool eof;
	struct buf partial;	/* a line split across reads */

	unsigned lineno;	/* number of the last line read */
	int failed;		/* sticky error code, 0 if none */

	/* The paragraph being built, reused across paragraphs. */
	struct buf pbuf;
	struct deb822_field *fields;
	struct deb822_ofs *ofs;
	size_t nfields;
	size_t fcap;
	struct hash_index names;	/* field names, folded, -> position */
	size_t para_bytes;	/* raw input bytes of the paragraph so far */
	struct deb822_para para;
};

static struct deb822 *
deb822_alloc(const char *name, size_t max_para)
{
	struct deb822 *p = xcalloc(1, sizeof(*p));

	p->name = xstrdup(name ? name : "(input)");
	p->max_para = max_para;
	buf_init(&p->partial);
	buf_init(&p->pbuf);
	return p;
}

struct deb822 *
deb822_new(deb822_read_fn rd, void *ctx, const char *name, size_t max_para)
{
	struct deb822 *p = deb822_alloc(name, max_para);

	p->rd = rd;
	p->ctx = ctx;
	p->rbuf = xmalloc(DEB822_READ_SIZE);
	return p;
}

struct deb822 *
deb822_new_mem(const char *data, size_t len, const char *name,
    size_t max_para)
{
	struct deb822 *p = deb822_alloc(name, max_para);

	p->mem = data;
	p->memlen = len;
	return p;
}

void
deb822_free(struct deb822 *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->rbuf);
	buf_release(&p->partial);
	buf_release(&p->pbuf);
	free(p->fields);
	free(p->ofs);
	hash_index_release(&p->names);
	free(p);
}

const char *
deb822_name(const struct deb822 *p)
{
	return p->name;
}

static int
deb822_fail(struct deb822 *p, struct merr *err, int code, const char *fmt,
    ...) ATTR_PRINTF(4, 5);

/* Sets err to "'name' line N: <fmt>" and makes the error sticky. */
static int
deb822_fail(struct deb822 *p, struct merr *err, int code, const char *fmt,
    ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->failed = code;
	return merr_set(err, code, "'%s' line %u: %s", p->name, p->lineno,
	    msg);
}

/*
 * Returns the next line (without its '\n') in *line and *len: 1, 0 at end of
 * input, or a negative MERR code. The line is valid until the next call.
 */
static int
deb822_line(struct deb822 *p, const char **line, size_t *len,
    struct merr *err)
{
	const char *s, *nl;
	ssize_t n;

	if (p->rd == NULL) {
		if (p->mempos >= p->memlen)
			return 0;
		s = p->mem + p->mempos;
		nl = memchr(s, '\n', p->memlen - p->mempos);
		*line = s;
		if (nl != NULL) {
			*len = (size_t)(nl - s);
			p->mempos += *len + 1;
		} else {
			*len = p->memlen - p->mempos;
			p->mempos = p->memlen;
		}
		p->lineno++;
		return 1;
	}

	buf_reset(&p->partial);
	for (;;) {
		if (p->rpos < p->rlen) {
			s = p->rbuf + p->rpos;
			nl = memchr(s, '\n', p->rlen - p->rpos);
			if (nl != NULL) {
				size_t l = (size_t)(nl - s);

				p->rpos += l + 1;
				p->lineno++;
				if (p->partial.len == 0) {
					/* The common case: no copy. */
					*line = s;
					*len = l;
					return 1;
				}
				buf_add(&p->partial, s, l);
				*line = p->partial.p;
				*len = p->partial.len;
				return 1;
			}
			buf_add(&p->partial, s, p->rlen - p->rpos);
			p->rpos = p->rlen;
			/*
			 * Lines are checked against max_para once complete;
			 * this only stops a line without end from growing
			 * memory (the slack keeps results independent of
			 * how the reader splits its input).
			 */
			if (p->partial.len > p->max_para + DEB822_READ_SIZE) {
				p->lineno++;
				return deb822_fail(p, err, MERR_LIMIT,
				    "line longer than %zu bytes", p->max_para);
			}
		}
		if (p->eof)
			break;
		n = p->rd(p->ctx, p->rbuf, DEB822_READ_SIZE, err);
		if (n < 0) {
			p->failed = (int)n;
			return (int)n;
		}
		if ((size_t)n > DEB822_READ_SIZE) {
			return deb822_fail(p, err, MERR_IO,
			    "reader returned too many bytes");
		}
		p->rpos = 0;
		p->rlen = (size_t)n;
		if (n == 0)
			p->eof = true;
	}
	/* End of input: a last line without '\n'. */
	if (p->partial.len == 0)
		return 0;
	p->lineno++;
	*line = p->partial.p;
	*len = p->partial.len;
	return 1;
}

/*
 * Ends the current field: trailing spaces and tabs of its value go, and the
 * value gets its NUL.
 */
static void
deb822_end_field(struct deb822 *p)
{
	struct deb822_field *f;
	size_t start, end;

	if (p->nfields == 0)
		return;
	f = &p->fields[p->nfields - 1];
	start = p->ofs[p->nfields - 1].value;
	end = p->pbuf.len;
	while (end > start && (p->pbuf.p[end - 1] == ' ' ||
	    p->pbuf.p[end - 1] == '\t'))
		end--;
	f->value_len = end - start;
	p->pbuf.len = end;
	buf_add(&p->pbuf, "", 1);	/* NUL kept in the paragraph */
}

/* FNV-1a of a field name in ASCII lower case (names match any case). */
static uint32_t
deb822_name_hash(const char *s, size_t n)
{
	unsigned char low[64];
	uint32_t h = HASH_FNV1A_INIT;

	while (n > 0) {
		size_t k = n < sizeof(low) ? n : sizeof(low), i;

		for (i = 0; i < k; i++) {
			unsigned char c = (unsigned char)s[i];

			low[i] = c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
		}
		h = hash_fnv1a(h, low, k);
		s += k;
		n -= k;
	}
	return h;
}

/* The name being added, for deb822_name_eq. */
struct deb822_name_key {
	const struct deb822 *p;
	const char *name;
	size_t len;
};

static bool
deb822_name_eq(const void *ctx, size_t pos)
{
	const struct deb822_name_key *k = ctx;

	return k->p->fields[pos].name_len == k->len &&
	    strncasecmp(k->p->pbuf.p + k->p->ofs[pos].name, k->name,
	    k->len) == 0;
}

/* Starts a field from the line "name: value". */
static int
deb822_start_field(struct deb822 *p, const char *line, size_t len,
    struct merr *err)
{
	const char *colon, *v, *end = line + len;
	struct deb822_field *f;
	struct deb822_name_key key;
	size_t nlen, i;
	uint32_t h;

	colon = memchr(line, ':', len);
	if (colon == NULL) {
		char q[128];

		path_quote(line, len, q, sizeof(q));
		return deb822_fail(p, err, MERR_PARSE,
		    "expected 'Field: value', got '%s'", q);
	}
	nlen = (size_t)(colon - line);
	if (nlen == 0)
		return deb822_fail(p, err, MERR_PARSE, "empty field name");
	for (i = 0; i < nlen; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x21 || c > 0x7e) {
			char q[128];

			path_quote(line, nlen, q, sizeof(q));
			return deb822_fail(p, err, MERR_PARSE,
			    "invalid field name '%s'", q);
		}
	}
	/*
	 * apt rejects a field given twice in one paragraph, so do we; through
	 * a hash index, as a paragraph may hold thousands of fields.
	 */
	key.p = p;
	key.name = line;
	key.len = nlen;
	h = deb822_name_hash(line, nlen);
	i = hash_index_find(&p->names, h, deb822_name_eq, &key);
	if (i != SIZE_MAX)
		return deb822_fail(p, err, MERR_PARSE,
		    "field '%.*s' repeated (first at line %u)",
		    (int)nlen, line, p->fields[i].line);

	if (p->nfields == p->fcap) {
		p->fcap = p->fcap ? p->fcap * 2 : 32;
		p->fields = xreallocarray(p->fields, p->fcap,
		    sizeof(*p->fields));
		p->ofs = xreallocarray(p->ofs, p->fcap, sizeof(*p->ofs));
	}
	f = &p->fields[p->nfields];
	f->name_len = nlen;
	f->line = p->lineno;
	p->ofs[p->nfields].name = p->pbuf.len;
	buf_add(&p->pbuf, line, nlen);
	buf_add(&p->pbuf, "", 1);
	p->ofs[p->nfields].value = p->pbuf.len;
	hash_index_add(&p->names, h, p->nfields);
	p->nfields++;

	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	buf_add(&p->pbuf, v, (size_t)(end - v));
	return 0;
}

/* Gives the finished paragraph's fields their pointers. */
static void
deb822_finish(struct deb822 *p)
{
	size_t i;

	deb822_end_field(p);
	for (i = 0; i < p->nfields; i++) {
		p->fields[i].name = p->pbuf.p + p->ofs[i].name;
		p->fields[i].value = p->pbuf.p + p->ofs[i].value;
	}
	p->para.fields = p->fields;
	p->para.nfields = p->nfields;
}

int
deb822_next(struct deb822 *p, struct deb822_para **out, struct merr *err)
{
	const char *line = NULL;
	size_t len = 0, i;
	int rc;

	if (p->failed)
		return merr_set(err, p->failed,
		    "'%s': parsing already failed", p->name);
	buf_reset(&p->pbuf);
	hash_index_clear(&p->names);
	p->nfields = 0;
	p->para_bytes = 0;
	p->para.fields = NULL;
	p->para.nfields = 0;
	p->para.line = 0;

	for (;;) {
		rc = deb822_line(p, &line, &len, err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		if (memchr(line, '\0', len) != NULL)
			return deb822_fail(p, err, MERR_PARSE, "NUL byte");
		if (len > 0 && line[len - 1] == '\r')
			len--;

		/* Blank: only spaces and tabs. */
		for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
			;
		if (i == len) {
			if (p->nfields > 0)
				break;
			continue;
		}
		if (p->nfields > 0) {
			/* Raw size, '\n' included, bounds the paragraph. */
			p->para_bytes += len + 1;
			if (p->para_bytes > p->max_para)
				return deb822_fail(p, err, MERR_LIMIT,
				    "paragraph starting at line %u is larger "
				    "than %zu bytes", p->para.line,
				    p->max_para);
		}
		if (line[0] == '#')
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			if (p->nfields == 0)
				return deb822_fail(p, err, MERR_PARSE,
				    "continuation line before any field");
			buf_add(&p->pbuf, "\n", 1);
			buf_add(&p->pbuf, line, len);
			continue;
		}
		if (p->nfields == 0) {
			p->para.line = p->lineno;
			p->para_bytes = len + 1;
			if (p->para_bytes > p->max_para)
				return deb822_fail(p, err, MERR_LIMIT,
				    "paragraph starting at line %u is larger "
				    "than %zu bytes", p->para.line,
				    p->max_para);
		} else {
			deb822_end_field(p);
		}
		rc = deb822_start_field(p, line, len, err);
		if (rc)
			return rc;
	}
	if (p->nfields == 0)
		return 0;
	deb822_finish(p);
	*out = &p->para;
	return 1;
}

const struct deb822_field *
deb822_field(const struct deb822_para *para, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < para->nfields; i++) {
		const struct deb822_field *f = &para->fields[i];

		if (f->name_len == n && str_ieq(f->name, n, name))
			return f;
	}
	return NULL;
}

const char *
deb822_get(const struct deb822_para *para, const char *name, size_t *len)
{
	const struct deb822_field *f = deb822_field(para, name);

	if (f == NULL)
		return NULL;
	if (len != NULL)
		*len = f->value_len;
	return f->value;
}
