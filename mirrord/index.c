/*
 * index.c: streaming decompression (liblzma, zlib) and a specialised
 * scanner for Packages and Sources indices.
 *
 * The scanner does not use the generic deb822 parser: a 60,000-package
 * index is mostly Description text nobody here needs, so each line is
 * found with memchr() and only its first byte is looked at unless it may
 * start one of the few fields we want. Parsing then costs a small
 * fraction of decompression.
 *
 * Memory is one input buffer, one output buffer, and at most one
 * paragraph's worth of carried-over line and Sources file names, whatever
 * the size of the index.
 */
#include "mirrord/common.h"

#include <inttypes.h>
#include <unistd.h>

#include <lzma.h>
#include <zlib.h>

#include "mirrord/hash.h"
#include "mirrord/index.h"
#include "mirrord/path.h"

#define INDEX_INBUF		(256 * 1024)
#define INDEX_OUTBUF		(256 * 1024)
#define INDEX_MAX_PARA		(1024 * 1024)
#define INDEX_XZ_MEMLIMIT	((uint64_t)256 << 20)
/*
 * A sane bound on any index, whatever its Release says: the largest real
 * Packages or Sources (Debian sid, Ubuntu universe) is near 100 MiB. A
 * signed Release stating 10 GiB for an xz bomb of empty lines would
 * otherwise cost minutes of decompression (memory stays bounded anyway).
 */
#define INDEX_MAX_OUT		((uint64_t)1 << 30)

static const struct {
	const char *suffix;
	enum comp comp;
} comp_suffixes[] = {
	{ ".gz", COMP_GZ },
	{ ".xz", COMP_XZ },
	{ ".bz2", COMP_OTHER },
	{ ".lzma", COMP_OTHER },
	{ ".lz4", COMP_OTHER },
	{ ".zst", COMP_OTHER },
};

enum comp
comp_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(comp_suffixes); i++)
		if (str_endswith(name, comp_suffixes[i].suffix))
			return comp_suffixes[i].comp;
	return COMP_NONE;
}

size_t
comp_strip(const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < ARRAY_SIZE(comp_suffixes); i++)
		if (str_endswith(name, comp_suffixes[i].suffix))
			return n - strlen(comp_suffixes[i].suffix);
	return n;
}

/*
 * Decompression: one pull interface over plain, gzip and xz input, shared
 * by index_parse_fd() and the index_reader.
 */
struct dec {
	int fd;
	enum comp comp;
	const char *name;	/* borrowed */
	uint64_t max_out;
	uint64_t total;		/* decompressed bytes handed out */
	unsigned char *in;	/* INDEX_INBUF bytes, for gz and xz */
	const unsigned char *ip;	/* unconsumed input */
	size_t ilen;
	bool eof;		/* read() returned 0 */
	bool end;		/* the decompressed stream is complete */
	bool member_end;	/* gz: a member ended, maybe another follows */
	bool ready;		/* the library's stream is initialised */
	bool over;		/* more than max_out bytes were decoded */
	lzma_stream lz;
	z_stream z;
};

static void
index_oom(void)
{
	fputs("mirrord: out of memory\n", stderr);
	abort();
}

static int
dec_init(struct dec *d, int fd, enum comp comp, uint64_t max_out,
    const char *name, struct merr *err)
{
	lzma_stream lz = LZMA_STREAM_INIT;
	lzma_ret lr;
	int zr;

	memset(d, 0, sizeof(*d));
	d->fd = fd;
	d->comp = comp;
	d->name = name;
	d->max_out = max_out;
	switch (comp) {
	case COMP_NONE:
		break;
	case COMP_XZ:
		d->lz = lz;
		/* Concatenated streams and stream padding are valid xz. */
		lr = lzma_stream_decoder(&d->lz, INDEX_XZ_MEMLIMIT,
		    LZMA_CONCATENATED);
		if (lr == LZMA_MEM_ERROR)
			index_oom();
		if (lr != LZMA_OK)
			return merr_set(err, MERR_INVAL,
			    "'%s': cannot start xz decoder (error %d)", name,
			    (int)lr);
		d->ready = true;
		break;
	case COMP_GZ:
		/* 15 + 32: a 32 KiB window, gzip or zlib header detected. */
		zr = inflateInit2(&d->z, 15 + 32);
		if (zr == Z_MEM_ERROR)
			index_oom();
		if (zr != Z_OK)
			return merr_set(err, MERR_INVAL,
			    "'%s': cannot start gzip decoder (error %d)", name,
			    zr);
		d->ready = true;
		break;
	default:
		return merr_set(err, MERR_INVAL,
		    "cannot parse compression of '%s'", name);
	}
	if (comp != COMP_NONE)
		d->in = xmalloc(INDEX_INBUF);
	return 0;
}

static void
dec_release(struct dec *d)
{
	if (d->ready && d->comp == COMP_XZ)
		lzma_end(&d->lz);
	if (d->ready && d->comp == COMP_GZ)
		inflateEnd(&d->z);
	d->ready = false;
	free(d->in);
	d->in = NULL;
}

/* One read() of raw input into buf; 0 at end of file. */
static ssize_t
dec_raw(struct dec *d, void *buf, size_t len, struct merr *err)
{
	ssize_t n;

	do {
		n = read(d->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return merr_errno(err, "cannot read '%s'", d->name);
	return n;
}

/* Refills the input buffer if it is empty and the file is not at its end. */
static int
dec_fill(struct dec *d, struct merr *err)
{
	ssize_t n;

	if (d->ilen > 0 || d->eof)
		return 0;
	n = dec_raw(d, d->in, INDEX_INBUF, err);
	if (n < 0)
		return (int)n;
	if (n == 0)
		d->eof = true;
	d->ip = d->in;
	d->ilen = (size_t)n;
	return 0;
}

static int
dec_truncated(struct dec *d, const char *what, struct merr *err)
{
	return merr_set(err, MERR_PARSE, "'%s': truncated %s data", d->name,
	    what);
}

/* Decompresses some xz data into out; 0 only at the end of the stream. */
static ssize_t
dec_xz(struct dec *d, unsigned char *out, size_t want, struct merr *err)
{
	lzma_ret lr;
	size_t n;
	int rc;

	for (;;) {
		rc = dec_fill(d, err);
		if (rc)
			return rc;
		d->lz.next_in = d->ip;
		d->lz.avail_in = d->ilen;
		d->lz.next_out = out;
		d->lz.avail_out = want;
		/* With LZMA_CONCATENATED only FINISH reports STREAM_END. */
		lr = lzma_code(&d->lz, d->eof ? LZMA_FINISH : LZMA_RUN);
		d->ip = d->lz.next_in;
		d->ilen = d->lz.avail_in;
		n = want - d->lz.avail_out;
		switch (lr) {
		case LZMA_STREAM_END:
			d->end = true;
			return (ssize_t)n;
		case LZMA_OK:
			if (n > 0)
				return (ssize_t)n;
			continue;
		case LZMA_BUF_ERROR:
			/* No progress possible: input ended too early. */
			if (d->eof)
				return dec_truncated(d, "xz", err);
			continue;
		case LZMA_MEM_ERROR:
			index_oom();
			break;
		case LZMA_MEMLIMIT_ERROR:
			return merr_set(err, MERR_LIMIT,
			    "'%s': xz data needs more than %" PRIu64
			    " MiB of memory", d->name, INDEX_XZ_MEMLIMIT >> 20);
		case LZMA_FORMAT_ERROR:
			return merr_set(err, MERR_PARSE,
			    "'%s': not in xz format", d->name);
		case LZMA_OPTIONS_ERROR:
			return merr_set(err, MERR_PARSE,
			    "'%s': unsupported xz options", d->name);
		case LZMA_DATA_ERROR:
			return merr_set(err, MERR_PARSE,
			    "'%s': corrupt xz data", d->name);
		default:
			return merr_set(err, MERR_PARSE,
			    "'%s': xz decoder error %d", d->name, (int)lr);
		}
	}
}

/* Decompresses some gzip data into out; 0 only at the end of the input. */
static ssize_t
dec_gz(struct dec *d, unsigned char *out, size_t want, struct merr *err)
{
	size_t n;
	int rc, zr;

	if (want > (1U << 30))
		want = 1U << 30;	/* zlib counts in uInt */
	for (;;) {
		rc = dec_fill(d, err);
		if (rc)
			return rc;
		if (d->member_end) {
			/* Multi-member gzip: another member may follow. */
			if (d->ilen == 0) {
				d->end = true;	/* dec_fill: so at eof */
				return 0;
			}
			if (inflateReset(&d->z) != Z_OK)
				return merr_set(err, MERR_PARSE,
				    "'%s': cannot reset gzip decoder",
				    d->name);
			d->member_end = false;
		}
		d->z.next_in = (unsigned char *)d->ip;
		d->z.avail_in = (uInt)d->ilen;
		d->z.next_out = out;
		d->z.avail_out = (uInt)want;
		zr = inflate(&d->z, Z_NO_FLUSH);
		d->ip = d->z.next_in;
		d->ilen = d->z.avail_in;
		n = want - d->z.avail_out;
		switch (zr) {
		case Z_STREAM_END:
			d->member_end = true;
			if (n > 0)
				return (ssize_t)n;
			continue;
		case Z_OK:
			if (n > 0)
				return (ssize_t)n;
			continue;
		case Z_BUF_ERROR:
			/* No progress: out of input inside a member. */
			if (d->eof && d->ilen == 0)
				return dec_truncated(d, "gzip", err);
			continue;
		case Z_MEM_ERROR:
			index_oom();
			break;
		default:	/* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
			return merr_set(err, MERR_PARSE,
			    "'%s': corrupt gzip data: %s", d->name,
			    d->z.msg ? d->z.msg : "unknown error");
		}
	}
}

static int
dec_over(struct dec *d, struct merr *err)
{
	return merr_set(err, MERR_LIMIT,
	    "'%s': decompressed data exceeds %" PRIu64 " bytes", d->name,
	    d->max_out);
}

/*
 * Reads up to cap decompressed bytes into out. Returns the count, 0 at the
 * end of the data, or a negative MERR. At most max_out bytes are ever
 * returned: one byte more is asked of the decoder so that an overlong
 * stream is detected, and stopped, as soon as it passes the cap; the
 * bytes up to the cap are returned first, then MERR_LIMIT.
 */
static ssize_t
dec_read(struct dec *d, unsigned char *out, size_t cap, struct merr *err)
{
	uint64_t room = d->max_out - d->total;
	size_t want = cap;
	ssize_t n;

	if (d->over)
		return dec_over(d, err);
	if (d->end || cap == 0)
		return 0;
	if (want > SSIZE_MAX)
		want = SSIZE_MAX;
	if (room < UINT64_MAX && want > room + 1)
		want = (size_t)(room + 1);
	switch (d->comp) {
	case COMP_NONE:
		n = dec_raw(d, out, want, err);
		if (n == 0)
			d->end = true;
		break;
	case COMP_XZ:
		n = dec_xz(d, out, want, err);
		break;
	case COMP_GZ:
		n = dec_gz(d, out, want, err);
		break;
	default:
		return merr_set(err, MERR_INVAL,
		    "cannot parse compression of '%s'", d->name);
	}
	if (n < 0)
		return n;
	if ((uint64_t)n > room) {
		/* Hand out the bytes up to the cap; the next call fails. */
		d->over = true;
		n = (ssize_t)room;
		if (n == 0)
			return dec_over(d, err);
	}
	d->total += (uint64_t)n;
	return n;
}

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
	struct scan s;
	struct dec d;
	unsigned char *out;
	ssize_t n;
	int rc;

	if (max_out > INDEX_MAX_OUT)
		max_out = INDEX_MAX_OUT;
	rc = dec_init(&d, fd, comp, max_out, name, err);
	if (rc) {
		dec_release(&d);
		return rc;
	}
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
		n = dec_read(&d, out, INDEX_OUTBUF, err);
		if (n < 0) {
			rc = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		rc = scan_chunk(&s, (const char *)out, (size_t)n, err);
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
	dec_release(&d);
	return rc;
}

struct index_reader {
	struct dec d;
	char *name;
	bool started;
	int failed;		/* sticky error code, 0 if none */
	struct merr ferr;	/* and its message */
};

struct index_reader *
index_reader_new(int fd, enum comp comp, uint64_t max_out, const char *name)
{
	struct index_reader *r = xcalloc(1, sizeof(*r));

	r->d.fd = fd;
	r->d.comp = comp;
	r->d.max_out = max_out;
	r->name = xstrdup(name);
	return r;
}

/*
 * The decoder is started on the first read, where an error (such as an
 * unparseable compression) can be reported. After an error every later
 * call returns the same error.
 */
ssize_t
index_reader_read(void *reader, char *buf, size_t len, struct merr *err)
{
	struct index_reader *r = reader;
	ssize_t n;
	int rc;

	if (r->failed) {
		if (err)
			*err = r->ferr;
		return r->failed;
	}
	if (!r->started) {
		r->started = true;
		rc = dec_init(&r->d, r->d.fd, r->d.comp, r->d.max_out, r->name,
		    &r->ferr);
		if (rc) {
			r->failed = rc;
			if (err)
				*err = r->ferr;
			return rc;
		}
	}
	n = dec_read(&r->d, (unsigned char *)buf, len, &r->ferr);
	if (n < 0) {
		r->failed = (int)n;
		if (err)
			*err = r->ferr;
	}
	return n;
}

void
index_reader_free(struct index_reader *r)
{
	if (r == NULL)
		return;
	dec_release(&r->d);
	free(r->name);
	free(r);
}
