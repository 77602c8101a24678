/*
 * index.c: a specialised scanner for Packages and Sources indices, over the
 * decompressing reader of decomp.c.
 *
 * The scanner does not use the generic deb822 parser: a 60,000-package
 * index is mostly Description text nobody here needs, so each line is
 * found with memchr() and only its first byte is looked at unless it may
 * start one of the few fields we want. Parsing then costs a small
 * fraction of decompression.
 *
 * Memory is one output buffer, the reader's, and at most one paragraph's
 * worth of carried-over line and Sources file names, whatever the size of
 * the index.
 */
#include "mirrord/common.h"

#include <inttypes.h>

#include "mirrord/decomp.h"
#include "mirrord/hash.h"
#include "mirrord/index.h"
#include "mirrord/path.h"

#define INDEX_OUTBUF		(256 * 1024)
#define INDEX_MAX_PARA		(1024 * 1024)
/*
 * A sane bound on any index, whatever its Release says: the largest real
 * Packages or Sources (Debian sid, Ubuntu universe) is near 100 MiB. A
 * signed Release stating 10 GiB for an xz bomb of empty lines would
 * otherwise cost minutes of decompression (memory stays bounded anyway).
 */
#define INDEX_MAX_OUT		((uint64_t)1 << 30)

/*
 * The scanner. Lines are fed one at a time (without '\n'); a paragraph's
 * wanted fields are checked as their lines arrive, so errors name the
 * line, and entries are emitted when the paragraph ends.
 */
struct src_file {
	unsigned char hash[HASH_LEN];
	uint64_t size;
	size_t name_off;	/* in scan.names */
	size_t name_len;
	uint64_t line;
};

struct scan {
	enum index_kind kind;
	const char *name;
	index_entry_fn cb;
	void *ctx;
	uint64_t lineno;	/* lines seen so far */
	uint64_t para_line;	/* first line of the paragraph, 0 if none */
	size_t para_bytes;
	uint64_t npara;
	bool in_csums;		/* in Checksums-Sha256's lines */
	bool has_path, has_size, has_hash, has_csums;
	struct buf path;	/* Filename (Packages) or Directory (Sources) */
	uint64_t size;
	unsigned char hash[HASH_LEN];
	struct src_file *files;	/* Sources: Checksums-Sha256 lines */
	size_t nfiles, files_cap;
	struct buf names;
	struct buf join;
	struct buf partial;	/* carry-over: a line split between chunks */
};

/* Is [p, p+len) a field line starting with lit ("filename:", lowercase)? */
static bool
scan_field_is(const char *p, size_t len, const char *lit, size_t litlen)
{
	size_t i;

	if (len < litlen)
		return false;
	for (i = 0; i < litlen; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != (unsigned char)lit[i])
			return false;
	}
	return true;
}

/* The value after "name:", without surrounding blanks. */
static void
scan_value(const char *p, size_t len, size_t off, const char **v,
    size_t *vlen)
{
	while (off < len && (p[off] == ' ' || p[off] == '\t'))
		off++;
	while (len > off && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	*v = p + off;
	*vlen = len - off;
}

static int
scan_bad(struct scan *s, uint64_t line, const char *what, const char *v,
    size_t vlen, struct merr *err)
{
	char q[256];

	path_quote(v, vlen, q, sizeof(q));
	return merr_set(err, MERR_PARSE, "'%s' line %" PRIu64 ": %s '%s'",
	    s->name, line, what, q);
}

static int
scan_dup(struct scan *s, const char *field, struct merr *err)
{
	return merr_set(err, MERR_PARSE,
	    "'%s' line %" PRIu64 ": duplicate field '%s'", s->name, s->lineno,
	    field);
}

/* One "hash size name" line of Checksums-Sha256 (already trimmed left). */
static int
scan_csum(struct scan *s, const char *p, size_t len, struct merr *err)
{
	const char *tok[3];
	size_t toklen[3], i = 0, n = 0;
	struct src_file *f;

	while (i < len) {
		size_t start;

		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && p[i] != ' ' && p[i] != '\t')
			i++;
		if (n == 3)
			return scan_bad(s, s->lineno,
			    "invalid Checksums-Sha256 line", p, len, err);
		tok[n] = p + start;
		toklen[n++] = i - start;
	}
	if (n != 3)
		return scan_bad(s, s->lineno, "invalid Checksums-Sha256 line",
		    p, len, err);
	if (s->nfiles == s->files_cap) {
		s->files_cap = s->files_cap ? 2 * s->files_cap : 8;
		s->files = xreallocarray(s->files, s->files_cap,
		    sizeof(*s->files));
	}
	f = &s->files[s->nfiles];
	if (hash_from_hex(tok[0], toklen[0], f->hash))
		return scan_bad(s, s->lineno, "invalid sha256", tok[0],
		    toklen[0], err);
	if (parse_u64(tok[1], toklen[1], UINT64_MAX, &f->size))
		return scan_bad(s, s->lineno, "invalid size", tok[1],
		    toklen[1], err);
	if (memchr(tok[2], '/', toklen[2]) != NULL)
		return scan_bad(s, s->lineno, "file name with '/'", tok[2],
		    toklen[2], err);
	f->name_off = s->names.len;
	f->name_len = toklen[2];
	f->line = s->lineno;
	buf_add(&s->names, tok[2], toklen[2]);
	s->nfiles++;
	return 0;
}

/* A field line of a Packages paragraph. */
static int
scan_packages_field(struct scan *s, const char *p, size_t len,
    struct merr *err)
{
	const char *v;
	size_t vlen;
	int rc;

	switch (p[0] | 0x20) {
	case 'f':
		if (!scan_field_is(p, len, "filename:", 9))
			return 0;
		if (s->has_path)
			return scan_dup(s, "Filename", err);
		scan_value(p, len, 9, &v, &vlen);
		rc = path_check(v, vlen, err);
		if (rc)
			return merr_prefix(err, "'%s' line %" PRIu64 ": ",
			    s->name, s->lineno);
		buf_reset(&s->path);
		buf_add(&s->path, v, vlen);
		s->has_path = true;
		return 0;
	case 's':
		if (scan_field_is(p, len, "size:", 5)) {
			if (s->has_size)
				return scan_dup(s, "Size", err);
			scan_value(p, len, 5, &v, &vlen);
			if (parse_u64(v, vlen, UINT64_MAX, &s->size))
				return scan_bad(s, s->lineno, "invalid Size",
				    v, vlen, err);
			s->has_size = true;
		} else if (scan_field_is(p, len, "sha256:", 7)) {
			if (s->has_hash)
				return scan_dup(s, "SHA256", err);
			scan_value(p, len, 7, &v, &vlen);
			if (hash_from_hex(v, vlen, s->hash))
				return scan_bad(s, s->lineno, "invalid SHA256",
				    v, vlen, err);
			s->has_hash = true;
		}
		return 0;
	default:
		return 0;
	}
}

/* A field line of a Sources paragraph. */
static int
scan_sources_field(struct scan *s, const char *p, size_t len,
    struct merr *err)
{
	const char *v;
	size_t vlen;

	switch (p[0] | 0x20) {
	case 'd':
		if (!scan_field_is(p, len, "directory:", 10))
			return 0;
		if (s->has_path)
			return scan_dup(s, "Directory", err);
		scan_value(p, len, 10, &v, &vlen);
		buf_reset(&s->path);
		buf_add(&s->path, v, vlen);
		s->has_path = true;
		return 0;
	case 'c':
		if (!scan_field_is(p, len, "checksums-sha256:", 17))
			return 0;
		if (s->has_csums)
			return scan_dup(s, "Checksums-Sha256", err);
		s->has_csums = true;
		s->in_csums = true;
		scan_value(p, len, 17, &v, &vlen);
		/* Files normally start on the next line; allow this one. */
		return vlen ? scan_csum(s, v, vlen, err) : 0;
	default:
		return 0;
	}
}

static void
scan_reset_para(struct scan *s)
{
	s->para_line = 0;
	s->para_bytes = 0;
	s->in_csums = false;
	s->has_path = s->has_size = s->has_hash = s->has_csums = false;
	s->nfiles = 0;
	buf_reset(&s->names);
}

static int
scan_missing(struct scan *s, const char *what, const char *field,
    struct merr *err)
{
	return merr_set(err, MERR_PARSE, "'%s' line %" PRIu64 ": %s without %s",
	    s->name, s->para_line, what, field);
}

/* The end of a paragraph (blank line or end of input): emit its entries. */
static int
scan_end_para(struct scan *s, struct merr *err)
{
	struct index_entry e;
	size_t i;
	int rc;

	if (s->para_line == 0)
		return 0;
	s->npara++;
	if (s->kind == INDEX_PACKAGES) {
		if (!s->has_path)
			return scan_missing(s, "package", "Filename", err);
		if (!s->has_size)
			return scan_missing(s, "package", "Size", err);
		if (!s->has_hash)
			return scan_missing(s, "package", "SHA256", err);
		e.path = s->path.p;
		e.path_len = s->path.len;
		e.size = s->size;
		memcpy(e.hash, s->hash, HASH_LEN);
		rc = s->cb(s->ctx, &e, err);
		if (rc)
			return rc;
		scan_reset_para(s);
		return 0;
	}
	if (!s->has_path)
		return scan_missing(s, "source package", "Directory", err);
	if (!s->has_csums || s->nfiles == 0)
		return scan_missing(s, "source package", "Checksums-Sha256",
		    err);
	for (i = 0; i < s->nfiles; i++) {
		const struct src_file *f = &s->files[i];

		buf_reset(&s->join);
		buf_add(&s->join, s->path.p, s->path.len);
		buf_addc(&s->join, '/');
		buf_add(&s->join, s->names.p + f->name_off, f->name_len);
		rc = path_check(s->join.p, s->join.len, err);
		if (rc)
			return merr_prefix(err, "'%s' line %" PRIu64 ": ",
			    s->name, f->line);
		e.path = s->join.p;
		e.path_len = s->join.len;
		e.size = f->size;
		memcpy(e.hash, f->hash, HASH_LEN);
		rc = s->cb(s->ctx, &e, err);
		if (rc)
			return rc;
	}
	scan_reset_para(s);
	return 0;
}

static int
scan_too_long(struct scan *s, uint64_t line, struct merr *err)
{
	return merr_set(err, MERR_LIMIT,
	    "'%s' line %" PRIu64 ": paragraph longer than %d bytes", s->name,
	    line, INDEX_MAX_PARA);
}

/* One line, without its '\n'. */
static int
scan_line(struct scan *s, const char *p, size_t len, struct merr *err)
{
	size_t i;

	s->lineno++;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (len == 0)
		return scan_end_para(s, err);
	if (p[0] == ' ' || p[0] == '\t') {
		/* A continuation line, or a blank one of spaces and tabs. */
		for (i = 1; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
			;
		if (i == len)
			return scan_end_para(s, err);
		if (s->para_line == 0)
			return merr_set(err, MERR_PARSE,
			    "'%s' line %" PRIu64 ": continuation line outside "
			    "a paragraph", s->name, s->lineno);
		s->para_bytes += len + 1;
		if (s->para_bytes > INDEX_MAX_PARA)
			return scan_too_long(s, s->lineno, err);
		if (s->in_csums)
			return scan_csum(s, p + i, len - i, err);
		return 0;
	}
	if (p[0] == '#')
		return 0;	/* a comment, as deb822 allows */
	if (s->para_line == 0)
		s->para_line = s->lineno;
	s->para_bytes += len + 1;
	if (s->para_bytes > INDEX_MAX_PARA)
		return scan_too_long(s, s->lineno, err);
	s->in_csums = false;
	if (s->kind == INDEX_PACKAGES)
		return scan_packages_field(s, p, len, err);
	return scan_sources_field(s, p, len, err);
}

/* Keeps an incomplete line for the next chunk, bounded by the limit. */
static int
scan_carry(struct scan *s, const char *p, size_t len, struct merr *err)
{
	if (s->para_bytes + s->partial.len + len > INDEX_MAX_PARA)
		return scan_too_long(s, s->lineno + 1, err);
	buf_add(&s->partial, p, len);
	return 0;
}

/* Scans a chunk of decompressed data; lines may span chunks. */
static int
scan_chunk(struct scan *s, const char *p, size_t len, struct merr *err)
{
	const char *end = p + len, *nl;
	int rc;

	if (s->partial.len > 0) {
		nl = memchr(p, '\n', len);
		if (nl == NULL)
			return scan_carry(s, p, len, err);
		rc = scan_carry(s, p, (size_t)(nl - p), err);
		if (rc)
			return rc;
		rc = scan_line(s, s->partial.p, s->partial.len, err);
		buf_reset(&s->partial);
		if (rc)
			return rc;
		p = nl + 1;
	}
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return scan_carry(s, p, (size_t)(end - p), err);
		rc = scan_line(s, p, (size_t)(nl - p), err);
		if (rc)
			return rc;
		p = nl + 1;
	}
	return 0;
}

int
index_parse_fd(int fd, enum comp comp, uint64_t max_out,
    enum index_kind kind, const char *name, index_entry_fn cb, void *ctx,
    uint64_t *npara, struct merr *err)
{
	return index_parse_fd_tee(fd, comp, max_out, kind, name, cb, ctx,
	    npara, NULL, NULL, err);
}

int
index_parse_fd_tee(int fd, enum comp comp, uint64_t max_out,
    enum index_kind kind, const char *name, index_entry_fn cb, void *ctx,
    uint64_t *npara, index_tee_fn tee, void *tee_ctx, struct merr *err)
{
	struct scan s;
	struct decomp *d;
	char *out;
	ssize_t n;
	int rc;

	if (max_out > INDEX_MAX_OUT)
		max_out = INDEX_MAX_OUT;
	d = decomp_new(fd, comp, max_out, name);
	memset(&s, 0, sizeof(s));
	s.kind = kind;
	s.name = name;
	s.cb = cb;
	s.ctx = ctx;
	buf_init(&s.path);
	buf_init(&s.names);
	buf_init(&s.join);
	buf_init(&s.partial);
	out = xmalloc(INDEX_OUTBUF);
	for (;;) {
		n = decomp_read(d, out, INDEX_OUTBUF, err);
		if (n < 0) {
			rc = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		if (tee && (rc = tee(tee_ctx, out, (size_t)n, err)) != 0)
			goto out;
		rc = scan_chunk(&s, out, (size_t)n, err);
		if (rc)
			goto out;
	}
	/* A last line without '\n', then the last paragraph. */
	if (s.partial.len > 0) {
		rc = scan_line(&s, s.partial.p, s.partial.len, err);
		if (rc)
			goto out;
	}
	rc = scan_end_para(&s, err);
	if (rc)
		goto out;
	if (npara)
		*npara = s.npara;
out:
	free(out);
	free(s.files);
	buf_release(&s.path);
	buf_release(&s.names);
	buf_release(&s.join);
	buf_release(&s.partial);
	decomp_free(d);
	return rc;
}
