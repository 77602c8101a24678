/*
 * clearsign.c: splits a clearsigned OpenPGP message into its signed text
 * and its signature blocks, by apt's rules (clearsign.h says which).
 */
#include "mirrord/common.h"

#include "mirrord/clearsign.h"

#define MSG_BEGIN "-----BEGIN PGP SIGNED MESSAGE-----"
#define SIG_BEGIN "-----BEGIN PGP SIGNATURE-----"
#define SIG_END "-----END PGP SIGNATURE-----"

/* One line of the input, as apt reads it (see clearsign.h). */
struct line {
	const char *s;
	size_t n;
};

/*
 * Reads the line at *p (before end) into l and moves *p past it. The line
 * loses its "\n" and every "\r" or "\n" before that, then its trailing
 * spaces and tabs, in that order, as apt's LineBuffer does.
 */
static void
line_next(const char **p, const char *end, struct line *l)
{
	const char *s = *p, *nl, *e;

	nl = memchr(s, '\n', (size_t)(end - s));
	*p = nl != NULL ? nl + 1 : end;
	e = nl != NULL ? nl : end;
	while (e > s && (e[-1] == '\r' || e[-1] == '\n'))
		e--;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	l->s = s;
	l->n = (size_t)(e - s);
}

static bool
line_is(const struct line *l, const char *marker)
{
	return l->n == strlen(marker) && memcmp(l->s, marker, l->n) == 0;
}

static bool
line_dash(const struct line *l)
{
	return l->n > 0 && l->s[0] == '-';
}

/* The reason data breaks the rules, or NULL; fills text and sig. */
static const char *
split(const char *data, size_t len, struct buf *text, struct buf *sig)
{
	enum { HEADERS, TEXT, SIG, AFTER } state = HEADERS;
	const char *p = data, *end = data + len;
	struct line l;

	if (len > 0 && memchr(data, '\0', len) != NULL)
		return "NUL byte in message";
	if (p == end)
		return "empty message";
	line_next(&p, end, &l);
	if (!line_is(&l, MSG_BEGIN))
		return "no BEGIN PGP SIGNED MESSAGE line at the start";
	while (p < end) {
		line_next(&p, end, &l);
		switch (state) {
		case HEADERS:
			if (l.n == 0)
				state = TEXT;
			else if (line_dash(&l))
				return "armor header starts with a dash";
			break;
		case TEXT:
			if (line_is(&l, SIG_BEGIN)) {
				buf_add(sig, l.s, l.n);
				buf_addc(sig, '\n');
				state = SIG;
			} else if (l.n >= 2 && l.s[0] == '-' && l.s[1] == ' ') {
				buf_add(text, l.s + 2, l.n - 2);
				buf_addc(text, '\n');
			} else if (line_is(&l, MSG_BEGIN)) {
				return "second BEGIN PGP SIGNED MESSAGE";
			} else if (line_dash(&l)) {
				return "line starting with a dash in the "
				    "signed text is not dash-escaped";
			} else {
				buf_add(text, l.s, l.n);
				buf_addc(text, '\n');
			}
			break;
		case SIG:
			if (line_is(&l, SIG_END))
				state = AFTER;
			else if (line_is(&l, MSG_BEGIN))
				return "second BEGIN PGP SIGNED MESSAGE";
			else if (line_dash(&l))
				return "unexpected armor line in signature";
			buf_add(sig, l.s, l.n);
			buf_addc(sig, '\n');
			break;
		case AFTER:
			if (line_is(&l, MSG_BEGIN))
				return "second BEGIN PGP SIGNED MESSAGE";
			if (!line_is(&l, SIG_BEGIN))
				return "data after END PGP SIGNATURE";
			buf_add(sig, l.s, l.n);
			buf_addc(sig, '\n');
			state = SIG;
			break;
		}
	}
	switch (state) {
	case HEADERS:
	case TEXT:
		return "no BEGIN PGP SIGNATURE line";
	case SIG:
		return "no END PGP SIGNATURE line";
	case AFTER:
		break;
	}
	return NULL;
}

int
clearsign_split(const char *data, size_t len, struct clearsign *out,
    struct merr *err)
{
	struct buf text = BUF_INIT, sig = BUF_INIT;
	const char *why;

	why = split(data, len, &text, &sig);
	if (why != NULL) {
		buf_release(&text);
		buf_release(&sig);
		return merr_set(err, MERR_VERIFY, "%s", why);
	}
	out->text = buf_detach(&text, &out->textlen);
	out->datalen = out->textlen > 0 ? out->textlen - 1 : 0;
	out->sig = buf_detach(&sig, &out->siglen);
	return 0;
}

void
clearsign_release(struct clearsign *c)
{
	if (c == NULL)
		return;
	free(c->text);
	free(c->sig);
	c->text = c->sig = NULL;
	c->textlen = c->datalen = c->siglen = 0;
}

bool
clearsign_same_text(const char *text, size_t textlen, const char *data,
    size_t len)
{
	const char *p = data, *end = data + len;
	struct buf b = BUF_INIT;
	struct line l;
	bool same;

	while (p < end) {
		line_next(&p, end, &l);
		buf_add(&b, l.s, l.n);
		buf_addc(&b, '\n');
	}
	while (textlen > 0 && text[textlen - 1] == '\n')
		textlen--;
	while (b.len > 0 && b.p[b.len - 1] == '\n')
		b.len--;
	same = b.len == textlen && (textlen == 0 ||
	    memcmp(b.p, text, textlen) == 0);
	buf_release(&b);
	return same;
}
