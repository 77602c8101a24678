/*
 * deps.c: Debian relationship fields, parsed in one pass with no copies.
 *
 * Every loop advances p, and nothing is ever rescanned: time is linear
 * in the field whatever it holds (a 1 MB line, 10,000 alternatives).
 */
#include "mirrord/common.h"

#include "mirrord/deps.h"

/* The cursor and what a message needs. */
struct dparse {
	const char *p, *end;
	const char *field;
	enum deps_kind kind;
	struct merr *err;
};

void
deps_init(struct deps *d)
{
	memset(d, 0, sizeof(*d));
}

void
deps_release(struct deps *d)
{
	free(d->v);
	deps_init(d);
}

static bool
deps_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
deps_namechar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    (c >= 'A' && c <= 'Z') || c == '+' || c == '-' || c == '.' ||
	    c == '_';
}

static void
deps_skip(struct dparse *x)
{
	while (x->p < x->end && deps_blank(*x->p))
		x->p++;
}

/* MERR_PARSE: "field 'F': what near '<up to 24 bytes of one line>'". */
static int
deps_fail(struct dparse *x, const char *what)
{
	size_t n = (size_t)(x->end - x->p), i;

	if (n > 24)
		n = 24;
	for (i = 0; i < n; i++)
		if ((unsigned char)x->p[i] < 0x20 || x->p[i] == 0x7f)
			break;
	if (x->p >= x->end)
		return merr_set(x->err, MERR_PARSE, "field '%s': %s at its end",
		    x->field, what);
	return merr_set(x->err, MERR_PARSE, "field '%s': %s near '%.*s'",
	    x->field, what, (int)i, x->p);
}

/* The relation at p ("<<", ">=", the obsolete "<"...), or -1. */
static int
deps_op(struct dparse *x)
{
	const char *p = x->p;
	int op = -1;

	if (p >= x->end)
		return -1;
	if (*p == '=')
		op = DEP_EQ, p++;
	else if (*p == '<' || *p == '>') {
		bool lt = *p == '<';

		p++;
		if (p < x->end && *p == '=')
			op = lt ? DEP_LE : DEP_GE, p++;
		else if (p < x->end && *p == p[-1])
			op = lt ? DEP_LT : DEP_GT, p++;
		else
			op = lt ? DEP_LE : DEP_GE;	/* obsolete < > */
	}
	if (op < 0 || (p < x->end && (*p == '<' || *p == '>' || *p == '=')))
		return -1;
	x->p = p;
	return op;
}

/* "(op version)" or, for Source, "(version)"; x->p is past the '('. */
static int
deps_version(struct dparse *x, struct dep_atom *a)
{
	const char *v;
	int op;

	deps_skip(x);
	if (x->kind == DEPS_SOURCE)
		op = DEP_EQ;
	else if ((op = deps_op(x)) < 0)
		return deps_fail(x, "bad relation");
	if (x->kind == DEPS_PROVIDES && op != DEP_EQ)
		return deps_fail(x, "a provided version needs '='");
	deps_skip(x);
	v = x->p;
	/* deb-version(7)'s characters ('_' too, as dpkg lets it by). */
	while (x->p < x->end && (deps_namechar(*x->p) || *x->p == '~' ||
	    *x->p == ':'))
		x->p++;
	if (x->p == v)
		return deps_fail(x, "missing version");
	a->op = (enum dep_op)op;
	a->ver = v;
	a->ver_len = (uint32_t)(x->p - v);
	deps_skip(x);
	if (x->p >= x->end || *x->p != ')')
		return deps_fail(x, "missing ')'");
	x->p++;
	return 0;
}

/* "[...]" or "<...>" at p: the text inside (for '<', all the groups). */
static int
deps_bracket(struct dparse *x, char open, char close, const char **out,
    uint32_t *len)
{
	const char *start = x->p + 1, *q;

	do {
		q = memchr(x->p + 1, close, (size_t)(x->end - x->p - 1));
		if (q == NULL || memchr(x->p + 1, open, (size_t)(q - x->p -
		    1)) != NULL)
			return deps_fail(x, open == '[' ?
			    "unclosed '['" : "unclosed '<'");
		x->p = q + 1;
		deps_skip(x);
	} while (open == '<' && x->p < x->end && *x->p == '<');
	*out = start;
	*len = (uint32_t)(q - start);
	return 0;
}

/* One relation at p, after blanks. */
static int
deps_atom(struct dparse *x, struct dep_atom *a)
{
	const char *n;
	int rc;

	deps_skip(x);
	n = x->p;
	while (x->p < x->end && deps_namechar(*x->p))
		x->p++;
	if (x->p == n)
		return deps_fail(x, "missing package name");
	a->name = n;
	a->name_len = (uint32_t)(x->p - n);
	if (x->p < x->end && *x->p == ':' && x->kind != DEPS_SOURCE) {
		n = ++x->p;
		while (x->p < x->end && deps_namechar(*x->p))
			x->p++;
		if (x->p == n)
			return deps_fail(x, "missing architecture after ':'");
		a->archq = n;
		a->archq_len = (uint32_t)(x->p - n);
	}
	deps_skip(x);
	if (x->p < x->end && *x->p == '(') {
		x->p++;
		if ((rc = deps_version(x, a)))
			return rc;
		deps_skip(x);
	}
	if (x->p < x->end && *x->p == '[') {
		if (x->kind != DEPS_DEPENDS)
			return deps_fail(x, "an architecture list here");
		if ((rc = deps_bracket(x, '[', ']', &a->archs, &a->archs_len)))
			return rc;
	}
	if (x->p < x->end && *x->p == '<') {
		if (x->kind != DEPS_DEPENDS)
			return deps_fail(x, "a build profile here");
		return deps_bracket(x, '<', '>', &a->profiles,
		    &a->profiles_len);
	}
	return 0;
}

int
deps_parse(struct deps *d, enum deps_kind kind, const char *field,
    const char *s, size_t len, struct merr *err)
{
	struct dparse x = { s, s + len, field, kind, err };
	bool alt = false;
	int rc;

	d->n = 0;
	deps_skip(&x);
	if (x.p == x.end)
		return 0;
	for (;;) {
		struct dep_atom *a;

		if (d->n == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 16;
			d->v = xreallocarray(d->v, d->cap, sizeof(*d->v));
		}
		a = &d->v[d->n];
		memset(a, 0, sizeof(*a));
		a->alt = alt;
		if ((rc = deps_atom(&x, a))) {
			d->n = 0;
			return rc;
		}
		d->n++;
		deps_skip(&x);
		if (x.p == x.end)
			break;
		if ((*x.p == ',' && kind != DEPS_SOURCE) ||
		    (*x.p == '|' && kind == DEPS_DEPENDS)) {
			alt = *x.p++ == '|';	/* an atom must follow */
			continue;
		}
		d->n = 0;
		return deps_fail(&x, *x.p == '|' ? "alternatives here" :
		    *x.p == ',' ? "more than one name" : "unexpected character");
	}
	return 0;
}

int
deps_parse_multiarch(const char *s, size_t len, enum multiarch *out,
    struct merr *err)
{
	static const char *const names[] = { "no", "same", "foreign",
	    "allowed" };
	size_t i;

	while (len && deps_blank(*s))
		s++, len--;
	while (len && deps_blank(s[len - 1]))
		len--;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == len && memcmp(s, names[i], len) == 0) {
			*out = (enum multiarch)i;
			return 0;
		}
	return merr_set(err, MERR_PARSE, "field 'Multi-Arch': unknown value "
	    "'%.*s'", (int)(len > 32 ? 32 : len), s);
}

/* Whether one arch-list word (no '!') names arch. */
static bool
deps_arch_word(const char *w, size_t wl, const char *arch)
{
	size_t al = strlen(arch);

	if (wl == al && memcmp(w, arch, al) == 0)
		return true;
	if (wl == 3 && memcmp(w, "any", 3) == 0)
		return true;
	/* "linux-any", "any-amd64": the Debian ports are Linux ones. */
	if (wl == 9 && memcmp(w, "linux-any", 9) == 0)
		return true;
	return wl == al + 4 && memcmp(w, "any-", 4) == 0 &&
	    memcmp(w + 4, arch, al) == 0;
}

bool
deps_arch_match(const struct dep_atom *a, const char *arch)
{
	const char *p = a->archs, *end;
	bool neg = false, hit = false;

	if (p == NULL)
		return true;
	end = p + a->archs_len;
	while (p < end) {
		const char *w;

		while (p < end && deps_blank(*p))
			p++;
		if (p == end)
			break;
		if (*p == '!')
			neg = true, p++;
		w = p;
		while (p < end && !deps_blank(*p))
			p++;
		if (deps_arch_word(w, (size_t)(p - w), arch))
			hit = true;
	}
	return neg ? !hit : hit;
}

bool
deps_profiles_match(const struct dep_atom *a)
{
	const char *p = a->profiles, *end;
	bool group_ok = true;

	if (p == NULL)
		return true;
	end = p + a->profiles_len;
	/* Groups "<t t>": each term true only if negated (none active). */
	for (; p < end; p++) {
		if (*p == '>') {
			if (group_ok)
				return true;
		} else if (*p == '<')
			group_ok = true;
		else if (!deps_blank(*p) && (p == a->profiles ||
		    deps_blank(p[-1]) || p[-1] == '<') && *p != '!')
			group_ok = false;
	}
	/* The last group has no '>' in the text: it ends at end. */
	return group_ok;
}
