/*
 * t_deb822.c: the deb822 paragraph parser.
 */
#include "mirrord/common.h"

#include "mirrord/deb822.h"
#include "tests/unit/tap.h"

/* A reader over memory that hands out at most chunk bytes per call. */
struct chunk_reader {
	const char *data;
	size_t len, pos, chunk;
	size_t fail_at;		/* fail from this offset; 0: never */
};

static ssize_t
chunk_read(void *ctx, char *buf, size_t len, struct merr *err)
{
	struct chunk_reader *r = ctx;
	size_t n = r->len - r->pos;

	if (r->fail_at && r->pos >= r->fail_at)
		return merr_set(err, MERR_IO, "reader broke at %zu", r->pos);
	if (n > r->chunk)
		n = r->chunk;
	if (n > len)
		n = len;
	memcpy(buf, r->data + r->pos, n);
	r->pos += n;
	return (ssize_t)n;
}

/*
 * Parses everything and renders it as text: "P<line>" per paragraph,
 * "<name>@<line>=<value>" per field, "E<code> <msg>" on error.
 */
static char *
dump(struct deb822 *p)
{
	struct buf b = BUF_INIT;
	struct deb822_para *para;
	struct merr err;
	size_t i;
	int rc;

	while ((rc = deb822_next(p, &para, &err)) == 1) {
		buf_addf(&b, "P%u\n", para->line);
		for (i = 0; i < para->nfields; i++) {
			const struct deb822_field *f = &para->fields[i];

			buf_addf(&b, "%.*s@%u=", (int)f->name_len, f->name,
			    f->line);
			buf_add(&b, f->value, f->value_len);
			buf_addc(&b, '\n');
			/* Values are NUL-terminated at value_len. */
			if (f->value[f->value_len] != '\0')
				buf_adds(&b, "!unterminated\n");
		}
	}
	if (rc < 0)
		buf_addf(&b, "E%d %s\n", rc, err.msg);
	buf_addc(&b, '.');
	return buf_detach(&b, NULL);
}

static char *
dump_mem(const char *s, size_t len, size_t max)
{
	struct deb822 *p = deb822_new_mem(s, len, "t", max);
	char *out = dump(p);

	deb822_free(p);
	return out;
}

static char *
dump_chunks(const char *s, size_t len, size_t chunk, size_t max)
{
	struct chunk_reader r = { s, len, 0, chunk, 0 };
	struct deb822 *p = deb822_new(chunk_read, &r, "t", max);
	char *out = dump(p);

	deb822_free(p);
	return out;
}

/*
 * Checks that memory, 1-byte and 7-byte readers (and every chunk size up
 * to 16) give want.
 */
static void
check(const char *what, const char *s, size_t max, const char *want)
{
	size_t len = strlen(s), c;
	char *got;
	bool same = true;

	got = dump_mem(s, len, max);
	is_str(got, want, "%s (memory)", what);
	free(got);
	got = dump_chunks(s, len, 1, max);
	is_str(got, want, "%s (1-byte reads)", what);
	free(got);
	got = dump_chunks(s, len, 7, max);
	is_str(got, want, "%s (7-byte reads)", what);
	free(got);
	for (c = 2; c <= 16; c++) {
		got = dump_chunks(s, len, c, max);
		if (strcmp(got, want) != 0) {
			printf("# chunk %zu: got '%s'\n", c, got);
			same = false;
		}
		free(got);
	}
	ok(same, "%s (chunks of 2..16 bytes)", what);
}

static void
test_lookup(void)
{
	static const char doc[] =
	    "Origin: Debian\n"
	    "SHA256:\n"
	    " abc 12 main/x\n"
	    " def 3 main/y\n";
	struct deb822 *p = deb822_new_mem(doc, sizeof(doc) - 1, "Release",
	    1024);
	struct deb822_para *para = NULL;
	const struct deb822_field *f;
	struct merr err;
	size_t len = 0;

	is_str(deb822_name(p), "Release", "name is kept");
	is_int(deb822_next(p, &para, &err), 1, "one paragraph");
	is_str(deb822_get(para, "origin", &len), "Debian",
	    "lookup ignores case (lower)");
	is_int(len, 6, "length returned");
	is_str(deb822_get(para, "ORIGIN", NULL), "Debian",
	    "lookup ignores case (upper), len may be NULL");
	is_str(deb822_get(para, "sha256", NULL),
	    "\n abc 12 main/x\n def 3 main/y", "multi-line value");
	f = deb822_field(para, "Sha256");
	ok(f != NULL && f->line == 2 && f->name_len == 6 &&
	    memcmp(f->name, "SHA256", 6) == 0, "field has name and line");
	ok(deb822_field(para, "Origi") == NULL, "prefix does not match");
	ok(deb822_field(para, "Origins") == NULL, "longer name does not match");
	ok(deb822_get(para, "Suite", &len) == NULL, "absent field is NULL");
	is_int(deb822_next(p, &para, &err), 0, "then end of input");
	is_int(deb822_next(p, &para, &err), 0, "end of input again");
	deb822_free(p);
}

static void
test_reader_error(void)
{
	static const char doc[] = "A: 1\n\nB: 2\n\nC: 3\n";
	struct chunk_reader r = { doc, sizeof(doc) - 1, 0, 4, 8 };
	struct deb822 *p = deb822_new(chunk_read, &r, "t", 1024);
	struct deb822_para *para;
	struct merr err;

	is_int(deb822_next(p, &para, &err), 1, "paragraph before failure");
	is_int(deb822_next(p, &para, &err), MERR_IO, "reader error returned");
	is_str(err.msg, "reader broke at 8", "reader message kept");
	is_int(deb822_next(p, &para, &err), MERR_IO, "error is sticky");
	deb822_free(p);
}

/* Many paragraphs through a small max_para: buffers are reused. */
static void
test_stream(void)
{
	struct buf b = BUF_INIT;
	struct chunk_reader r;
	struct deb822 *p;
	struct deb822_para *para;
	struct merr err;
	unsigned n = 0, good = 0, i;
	int rc;

	for (i = 0; i < 20000; i++)
		buf_addf(&b, "Package: p%u\nVersion: 1.%u\nFilename: "
		    "pool/main/p/p%u_1.%u_amd64.deb\nSize: %u\nDescription: "
		    "x\n line one\n .\n line two\n\n", i, i, i, i, i * 3);
	r = (struct chunk_reader){ b.p, b.len, 0, 65536, 0 };
	p = deb822_new(chunk_read, &r, "Packages", 512);
	while ((rc = deb822_next(p, &para, &err)) == 1) {
		char want[32];

		snprintf(want, sizeof(want), "p%u", n);
		if (para->nfields == 5 &&
		    strcmp(deb822_get(para, "Package", NULL), want) == 0 &&
		    para->line == n * 9 + 1)
			good++;
		n++;
	}
	is_int(rc, 0, "stream ends cleanly");
	is_int(n, 20000, "20000 paragraphs");
	is_int(good, 20000, "every paragraph has the right fields and line");
	deb822_free(p);
	buf_release(&b);
}

/* A line longer than max_para with no newline cannot grow memory. */
static void
test_long_line(void)
{
	char *big = xmalloc(100000);
	struct chunk_reader r = { big, 100000, 0, 4096, 0 };
	struct deb822 *p;
	struct deb822_para *para;
	struct merr err;

	memset(big, 'x', 100000);
	p = deb822_new(chunk_read, &r, "big", 10000);
	is_int(deb822_next(p, &para, &err), MERR_LIMIT,
	    "endless line is MERR_LIMIT");
	ok(strstr(err.msg, "'big' line 1:") != NULL, "names file and line: %s",
	    err.msg);
	ok(r.pos < 100000, "stopped reading early (%zu bytes)", r.pos);
	deb822_free(p);
	free(big);
}

/*
 * A paragraph of 50,000 distinct fields: the repeated-field check was a
 * scan of the fields before (seconds for this), it is a hash lookup now.
 * Every field is kept and found; a repeat in another case at the end is
 * still refused naming the first; the next paragraph starts afresh.
 */
static void
test_many_fields(void)
{
	struct buf b = BUF_INIT;
	struct deb822_para *para;
	struct deb822 *p;
	struct merr err = { 0, "" };
	const char *v;
	char want[128];
	size_t i;
	int rc;

	for (i = 0; i < 50000; i++)
		buf_addf(&b, "Field-%zu: %zu\n", i, i);
	buf_adds(&b, "\nField-1: again\n\n");
	for (i = 0; i < 50000; i++)
		buf_addf(&b, "X-%zu: %zu\n", i, i);
	buf_adds(&b, "x-49999: repeated\n");
	p = deb822_new_mem(b.p, b.len, "t", b.len);
	rc = deb822_next(p, &para, &err);
	ok(rc == 1 && para->nfields == 50000, "50,000 fields in a paragraph");
	if (rc == 1) {
		v = deb822_get(para, "FIELD-49999", NULL);
		ok(v != NULL && strcmp(v, "49999") == 0, "the last is found");
	}
	rc = deb822_next(p, &para, &err);
	ok(rc == 1 && para->nfields == 1 && para->line == 50002,
	    "the next paragraph starts with no fields seen");
	rc = deb822_next(p, &para, &err);
	snprintf(want, sizeof(want), "'t' line 100004: field 'x-49999' "
	    "repeated (first at line 100003)");
	ok(rc == MERR_PARSE && strcmp(err.msg, want) == 0,
	    "a repeat after 50,000 fields is found");
	if (strcmp(err.msg, want) != 0)
		printf("#   got: %s\n", err.msg);
	deb822_free(p);
	buf_release(&b);
}

int
main(void)
{
	check("empty input", "", 64, ".");
	check("only comments and blanks", "# x\n\n  \n\t\n# y", 64, ".");
	check("two paragraphs",
	    "A: 1\nB: two words\n\nC: 3\n", 64,
	    "P1\nA@1=1\nB@2=two words\nP4\nC@4=3\n.");
	check("blank separators with spaces, no final newline",
	    "\n\nA: 1\n \t\n\n B\n", 64,
	    "P3\nA@3=1\nE-2 't' line 6: continuation line before any "
	    "field\n.");
	check("last line without newline",
	    "\n\nA: 1\n  \nB: 2", 64, "P3\nA@3=1\nP5\nB@5=2\n.");
	check("continuations and comments",
	    "# head\nSHA256:\n abc 12 x\n# between\n def 3 y\n"
	    "Description: short\n long\n .\n more\n", 256,
	    "P2\nSHA256@2=\n abc 12 x\n def 3 y\n"
	    "Description@6=short\n long\n .\n more\n.");
	check("whitespace around values",
	    "A:   v  \t\nB:\nC:\tx y \nD:  \n", 64,
	    "P1\nA@1=v\nB@2=\nC@3=x y\nD@4=\n.");
	check("CRLF line endings",
	    "A: 1\r\nB: 2\r\n b\r\n\r\nC: 3\r\n", 64,
	    "P1\nA@1=1\nB@2=2\n b\nP5\nC@5=3\n.");
	check("colon in value", "Listen: [::1]:80\n", 64,
	    "P1\nListen@1=[::1]:80\n.");
	check("repeated field",
	    "A: 1\nB: 2\na: 3\n", 64,
	    "E-2 't' line 3: field 'a' repeated (first at line 1)\n.");
	check("same field in two paragraphs is fine",
	    "A: 1\n\nA: 2\n", 64, "P1\nA@1=1\nP3\nA@3=2\n.");
	check("line without colon",
	    "A: 1\n\nB: 2\nbogus line\n", 64,
	    "P1\nA@1=1\nE-2 't' line 4: expected 'Field: value', got "
	    "'bogus\\x20line'\n.");
	check("continuation first",
	    " x\n", 64, "E-2 't' line 1: continuation line before any "
	    "field\n.");
	check("empty field name", "A: 1\n: v\n", 64,
	    "E-2 't' line 2: empty field name\n.");
	check("space in field name", "A B: v\n", 64,
	    "E-2 't' line 1: invalid field name 'A\\x20B'\n.");
	check("non-ASCII field name", "N\xc3\xa4me: v\n", 64,
	    "E-2 't' line 1: invalid field name 'N\\xc3\\xa4me'\n.");
	check("paragraph within max_para",
	    "Aaaa: 0123456789\nBbbb: 0123456789\n\nC: 1\n", 34,
	    "P1\nAaaa@1=0123456789\nBbbb@2=0123456789\nP4\nC@4=1\n.");
	check("paragraph over max_para",
	    "C: 1\n\nAaaa: 0123456789\nBbbb: 0123456789\nD: 1\n", 34,
	    "P1\nC@1=1\nE-8 't' line 5: paragraph starting at line 3 is "
	    "larger than 34 bytes\n.");
	check("one huge line over max_para",
	    "Aaaa: 01234567890123456789012345678901234567890123456789\n", 34,
	    "E-8 't' line 1: paragraph starting at line 1 is larger than "
	    "34 bytes\n.");

	/* NUL bytes (strlen-based check() cannot carry them). */
	{
		static const char nul[] = "A: 1\nB: x\0y\n";
		char *got;

		got = dump_mem(nul, sizeof(nul) - 1, 64);
		is_str(got, "E-2 't' line 2: NUL byte\n.", "NUL byte (memory)");
		free(got);
		got = dump_chunks(nul, sizeof(nul) - 1, 1, 64);
		is_str(got, "E-2 't' line 2: NUL byte\n.",
		    "NUL byte (1-byte reads)");
		free(got);
	}

	test_lookup();
	test_reader_error();
	test_stream();
	test_long_line();
	test_many_fields();
	return tap_done();
}
