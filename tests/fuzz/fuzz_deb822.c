/*
 * fuzz_deb822.c: the deb822 parser (mirrord/deb822.h).
 *
 * Input: byte 0 picks max_para, byte 1 seeds how a read callback splits
 * the rest, which is the deb822 text. The text is parsed three ways:
 *
 *  1. from memory (deb822_new_mem; the fuzzer's buffer is exactly the
 *     input's size, so ASan sees any read past it);
 *  2. through a read callback returning pieces of pseudo-random sizes:
 *     the result (paragraphs, fields, line numbers, error code) must be
 *     the same as from memory;
 *  3. if (1) succeeded: its paragraphs written back out (with CRLF line
 *     ends, which keeps any '\r' inside values) and parsed again, without
 *     a size limit: the same fields, values and counts must come back.
 *
 * And every paragraph must satisfy what deb822.h promises: at least one
 * field, names of printable bytes without ':', no repeated name, values
 * NUL-terminated at value_len without inner NUL, no blank at either end,
 * lines increasing, deb822_field() finding each field.
 */
#include "mirrord/common.h"

#include "mirrord/deb822.h"
#include "tests/fuzz/fuzz.h"

/* What one parse yields, flattened for comparison. */
struct result {
	int rc;			/* 0 at the clean end, else the error */
	size_t nparas;
	struct buf flat;	/* every paragraph, field, value, line */
	struct buf fields;	/* the same without line numbers */
};

struct reader {
	const char *data;
	size_t len, pos;
	uint32_t rnd;
};

static ssize_t
reader_read(void *ctx, char *buf, size_t len, struct merr *err)
{
	struct reader *r = ctx;
	size_t n;

	if (r->pos == r->len)
		return 0;
	/* xorshift32: sizes 1..97, sometimes the whole rest. */
	r->rnd ^= r->rnd << 13;
	r->rnd ^= r->rnd >> 17;
	r->rnd ^= r->rnd << 5;
	n = r->rnd % 8 == 0 ? len : 1 + r->rnd % 97;
	if (n > r->len - r->pos)
		n = r->len - r->pos;
	if (n > len)
		n = len;
	memcpy(buf, r->data + r->pos, n);
	r->pos += n;
	return (ssize_t)n;
}

/* Checks one paragraph's invariants and appends it to res->flat. */
static void
check_para(const struct deb822_para *para, unsigned prev_line,
    struct result *res)
{
	size_t i, j;

	FUZZ_CHECK(para->nfields > 0, "empty paragraph returned");
	FUZZ_CHECK(para->line > prev_line, "paragraph line %u after %u",
	    para->line, prev_line);
	FUZZ_CHECK(para->fields[0].line == para->line,
	    "first field line %u != paragraph line %u",
	    para->fields[0].line, para->line);
	buf_addf(&res->flat, "P%u\n", para->line);
	for (i = 0; i < para->nfields; i++) {
		const struct deb822_field *f = &para->fields[i];
		const struct deb822_field *g;

		FUZZ_CHECK(f->name_len > 0, "empty field name");
		for (j = 0; j < f->name_len; j++) {
			unsigned char c = (unsigned char)f->name[j];

			FUZZ_CHECK(c >= 0x21 && c <= 0x7e && c != ':',
			    "bad byte 0x%02x in field name", c);
		}
		FUZZ_CHECK(f->name[0] != '#', "field name starts with '#'");
		FUZZ_CHECK(f->value[f->value_len] == '\0',
		    "value not NUL-terminated at value_len");
		FUZZ_CHECK(strlen(f->value) == f->value_len,
		    "NUL inside a value");
		if (f->value_len > 0) {
			char first = f->value[0];
			char last = f->value[f->value_len - 1];

			FUZZ_CHECK(first != ' ' && first != '\t',
			    "value starts with a blank");
			FUZZ_CHECK(last != ' ' && last != '\t' && last != '\n',
			    "value ends with a blank");
		}
		if (i > 0)
			FUZZ_CHECK(f->line > para->fields[i - 1].line,
			    "field lines not increasing");
		/* Unique names, so lookup finds exactly this field. */
		{
			char *nm = xstrndup(f->name, f->name_len);

			for (j = 0; j < i; j++)
				FUZZ_CHECK(!(para->fields[j].name_len ==
				    f->name_len && str_ieq(para->fields[j].name,
				    f->name_len, nm)), "field '%s' repeated", nm);
			g = deb822_field(para, nm);
			FUZZ_CHECK(g == f, "deb822_field('%s') is not the field",
			    nm);
			FUZZ_CHECK(deb822_get(para, nm, NULL) == f->value,
			    "deb822_get('%s') is not the value", nm);
			free(nm);
		}
		buf_addf(&res->flat, "F%u:", f->line);
		buf_add(&res->flat, f->name, f->name_len);
		buf_addf(&res->flat, "=%zu:", f->value_len);
		buf_add(&res->flat, f->value, f->value_len);
		buf_addc(&res->flat, '\n');
		buf_add(&res->fields, f->name, f->name_len);
		buf_addf(&res->fields, "=%zu:", f->value_len);
		buf_add(&res->fields, f->value, f->value_len);
	}
	buf_addc(&res->fields, '\n');
}

/* Parses everything from p into res, checking as it goes. */
static void
run(struct deb822 *p, struct result *res)
{
	struct deb822_para *para;
	struct merr err;
	unsigned prev = 0;
	int rc;

	buf_init(&res->flat);
	buf_init(&res->fields);
	res->nparas = 0;
	for (;;) {
		memset(&err, 0, sizeof(err));
		rc = deb822_next(p, &para, &err);
		if (rc <= 0)
			break;
		FUZZ_CHECK(rc == 1, "deb822_next returned %d", rc);
		check_para(para, prev, res);
		prev = para->line;
		res->nparas++;
	}
	res->rc = rc;
	if (rc < 0) {
		FUZZ_CHECK(err.code == rc, "err.code %d != rc %d", err.code,
		    rc);
		FUZZ_CHECK(rc == MERR_PARSE || rc == MERR_LIMIT,
		    "unexpected error %d: %s", rc, err.msg);
		FUZZ_CHECK(strnlen(err.msg, sizeof(err.msg)) <
		    sizeof(err.msg) && err.msg[0] != '\0', "bad message");
		/* The error is sticky. */
		memset(&err, 0, sizeof(err));
		FUZZ_CHECK(deb822_next(p, &para, &err) == rc,
		    "error not sticky");
	} else {
		/* End of input stays the end. */
		FUZZ_CHECK(deb822_next(p, &para, &err) == 0,
		    "input did not stay at its end");
	}
}

/* Writes the paragraphs of the memory parse back out as deb822 text. */
static void
reserialise(const char *data, size_t len, size_t max_para, struct buf *out)
{
	struct deb822 *p = deb822_new_mem(data, len, "fuzz", max_para);
	struct deb822_para *para;
	struct merr err;
	size_t i;

	while (deb822_next(p, &para, &err) == 1) {
		for (i = 0; i < para->nfields; i++) {
			const struct deb822_field *f = &para->fields[i];
			const char *v = f->value, *nl;

			buf_add(out, f->name, f->name_len);
			buf_adds(out, ": ");
			/* Every line ends in CRLF: the parser drops one '\r',
			 * so a value's own '\r' survives. */
			while ((nl = strchr(v, '\n')) != NULL) {
				buf_add(out, v, (size_t)(nl - v));
				buf_adds(out, "\r\n");
				v = nl + 1;
			}
			buf_adds(out, v);
			buf_adds(out, "\r\n");
		}
		buf_adds(out, "\r\n");
	}
	deb822_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = { 16, 64, 200, 1024, 4096, 65536 };
	struct result mem, cb;
	struct reader rd;
	struct deb822 *p;
	const char *text;
	size_t len, max_para;

	if (size < 2)
		return 0;
	max_para = data[0] < 0xf0 ? (1u << 20) :
	    limits[data[0] % ARRAY_SIZE(limits)];
	text = (const char *)data + 2;
	len = size - 2;

	/* 1. From memory. */
	p = deb822_new_mem(text, len, "fuzz", max_para);
	FUZZ_CHECK(strcmp(deb822_name(p), "fuzz") == 0, "name not kept");
	run(p, &mem);
	deb822_free(p);

	/* 2. Through a callback, in pieces: the same answer. */
	memset(&rd, 0, sizeof(rd));
	rd.data = text;
	rd.len = len;
	rd.rnd = 0x9e3779b9u ^ data[1];
	p = deb822_new(reader_read, &rd, "fuzz", max_para);
	run(p, &cb);
	deb822_free(p);
	FUZZ_CHECK(mem.rc == cb.rc, "memory rc %d, callback rc %d", mem.rc,
	    cb.rc);
	FUZZ_CHECK(mem.nparas == cb.nparas && mem.flat.len == cb.flat.len &&
	    (mem.flat.len == 0 || memcmp(mem.flat.p, cb.flat.p,
	    mem.flat.len) == 0), "memory and callback parses differ");

	/* 3. Round trip of a successful parse. */
	if (mem.rc == 0) {
		struct buf out = BUF_INIT;
		struct result again;

		reserialise(text, len, max_para, &out);
		p = deb822_new_mem(out.p ? out.p : "", out.len, "again",
		    SIZE_MAX / 4);
		run(p, &again);
		deb822_free(p);
		FUZZ_CHECK(again.rc == 0, "round trip failed: %d", again.rc);
		FUZZ_CHECK(again.nparas == mem.nparas,
		    "round trip: %zu paragraphs, not %zu", again.nparas,
		    mem.nparas);
		FUZZ_CHECK(again.fields.len == mem.fields.len &&
		    (mem.fields.len == 0 || memcmp(again.fields.p,
		    mem.fields.p, mem.fields.len) == 0),
		    "round trip changed fields");
		buf_release(&out);
		buf_release(&again.flat);
		buf_release(&again.fields);
	}
	buf_release(&mem.flat);
	buf_release(&mem.fields);
	buf_release(&cb.flat);
	buf_release(&cb.fields);
	return 0;
}
