/*
 * t_deps.c: relationship fields: every syntax form, the errors and their
 * messages, and hostile sizes (a 1 MB line, 10,000 alternatives).
 */
#include "mirrord/common.h"

#include "mirrord/deps.h"
#include "tap.h"

/* "name[:q][ op ver][ [archs]][ <prof>]" of each atom, '|' ',' between. */
static char *
render(const struct deps *d)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct dep_atom *a = &d->v[i];

		if (i)
			buf_adds(&b, a->alt ? "|" : ",");
		buf_add(&b, a->name, a->name_len);
		if (a->archq)
			buf_addf(&b, ":%.*s", (int)a->archq_len, a->archq);
		if (a->op != DEP_NONE)
			buf_addf(&b, " %s %.*s", version_op_str(a->op),
			    (int)a->ver_len, a->ver);
		if (a->archs)
			buf_addf(&b, " [%.*s]", (int)a->archs_len, a->archs);
		if (a->profiles)
			buf_addf(&b, " <%.*s>", (int)a->profiles_len,
			    a->profiles);
	}
	return buf_detach(&b, NULL);
}

static void
parses(enum deps_kind kind, const char *in, const char *want)
{
	struct deps d = DEPS_INIT;
	struct merr err = { 0 };
	int rc = deps_parse(&d, kind, "Depends", in, strlen(in), &err);
	char *got = rc ? xstrdup(err.msg) : render(&d), *name = xstrdup(in);
	char *c;

	for (c = name; *c; c++)
		if (*c == '\n')
			*c = '/';	/* one TAP line */
	is_str(got, want, "parse '%s'", name);
	free(name);
	free(got);
	deps_release(&d);
}

static void
fails(enum deps_kind kind, const char *in, const char *want)
{
	struct deps d = DEPS_INIT;
	struct merr err = { 0 };
	int rc = deps_parse(&d, kind, kind == DEPS_PROVIDES ? "Provides" :
	    kind == DEPS_SOURCE ? "Source" : "Depends", in, strlen(in), &err);

	is_int(rc, MERR_PARSE, "'%s' is refused", in);
	is_str(err.msg, want, "message for '%s'", in);
	is_int(d.n, 0, "nothing kept of '%s'", in);
	deps_release(&d);
}

static void
test_forms(void)
{
	parses(DEPS_DEPENDS, "", "");
	parses(DEPS_DEPENDS, "  \n ", "");
	parses(DEPS_DEPENDS, "libc6", "libc6");
	parses(DEPS_DEPENDS, "libc6 (>= 2.36)", "libc6 >= 2.36");
	parses(DEPS_DEPENDS, "a(<<1),b(<=2),c(=3),d(>=4),e(>>5)",
	    "a << 1,b <= 2,c = 3,d >= 4,e >> 5");
	parses(DEPS_DEPENDS, "a (< 1), b (> 2)", "a <= 1,b >= 2");
	parses(DEPS_DEPENDS, "python3:any (>= 3.11~), perl:native, "
	    "libfoo:amd64", "python3:any >= 3.11~,perl:native,libfoo:amd64");
	parses(DEPS_DEPENDS, "a | b (= 1:2.0-1) | c", "a|b = 1:2.0-1|c");
	parses(DEPS_DEPENDS, "a,\n b (>= 1)\n  | c ,d", "a,b >= 1|c,d");
	parses(DEPS_DEPENDS, "debhelper-compat (= 13), libssl-dev "
	    "[!hurd-i386], check <!nocheck>, tool [amd64 arm64] <!stage1> "
	    "<!nocheck>",
	    "debhelper-compat = 13,libssl-dev [!hurd-i386],check <!nocheck>,"
	    "tool [amd64 arm64] <!stage1> <!nocheck>");
	parses(DEPS_DEPENDS, "g++ (>= 4:12), libstdc++6, foo.bar+baz-1",
	    "g++ >= 4:12,libstdc++6,foo.bar+baz-1");
	parses(DEPS_PROVIDES, "mail-transport-agent, libfoo-abi-2 (= 2.1)",
	    "mail-transport-agent,libfoo-abi-2 = 2.1");
	parses(DEPS_SOURCE, "openssl (3.0.11-1~deb12u2)",
	    "openssl = 3.0.11-1~deb12u2");
	parses(DEPS_SOURCE, " gcc-12 ", "gcc-12");
}

static void
test_errors(void)
{
	fails(DEPS_DEPENDS, "a (>= )", "field 'Depends': missing version "
	    "near ')'");
	fails(DEPS_DEPENDS, "a (=> 1)", "field 'Depends': bad relation near "
	    "'=> 1)'");
	fails(DEPS_DEPENDS, "a (~ 1)", "field 'Depends': bad relation near "
	    "'~ 1)'");
	fails(DEPS_DEPENDS, "a (>= 1", "field 'Depends': missing ')' at its "
	    "end");
	fails(DEPS_DEPENDS, "a,,b", "field 'Depends': missing package name "
	    "near ',b'");
	fails(DEPS_DEPENDS, "a, b,", "field 'Depends': missing package name "
	    "at its end");
	fails(DEPS_DEPENDS, "a |", "field 'Depends': missing package name "
	    "at its end");
	fails(DEPS_DEPENDS, "(>= 1)", "field 'Depends': missing package name "
	    "near '(>= 1)'");
	fails(DEPS_DEPENDS, "a b", "field 'Depends': unexpected character "
	    "near 'b'");
	fails(DEPS_DEPENDS, "a:", "field 'Depends': missing architecture "
	    "after ':' at its end");
	fails(DEPS_DEPENDS, "a [amd64, b", "field 'Depends': unclosed '[' "
	    "near '[amd64, b'");
	fails(DEPS_DEPENDS, "a <nocheck, b", "field 'Depends': unclosed '<' "
	    "near '<nocheck, b'");
	fails(DEPS_DEPENDS, "a\x01", "field 'Depends': unexpected character "
	    "near ''");
	fails(DEPS_PROVIDES, "a | b", "field 'Provides': alternatives here "
	    "near '| b'");
	fails(DEPS_PROVIDES, "a (>= 1)", "field 'Provides': a provided "
	    "version needs '=' near ' 1)'");
	fails(DEPS_PROVIDES, "a [amd64]", "field 'Provides': an architecture "
	    "list here near '[amd64]'");
	fails(DEPS_SOURCE, "a, b", "field 'Source': more than one name near "
	    "', b'");
}

static void
test_multiarch(void)
{
	static const char *const v[] = { "no", "same", "foreign", "allowed" };
	struct merr err = { 0 };
	enum multiarch ma;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		ok(deps_parse_multiarch(v[i], strlen(v[i]), &ma, &err) == 0 &&
		    ma == (enum multiarch)i, "Multi-Arch: %s", v[i]);
	ok(deps_parse_multiarch(" foreign\n", 9, &ma, &err) == 0 &&
	    ma == MA_FOREIGN, "Multi-Arch: blanks around");
	is_int(deps_parse_multiarch("Foreign", 7, &ma, &err), MERR_PARSE,
	    "Multi-Arch: case matters");
	is_str(err.msg, "field 'Multi-Arch': unknown value 'Foreign'",
	    "Multi-Arch: the message");
}

/* The arch list and build profile of the first atom of in. */
static void
restriction(const char *in, const char *arch, bool want_arch,
    bool want_prof)
{
	struct deps d = DEPS_INIT;

	if (deps_parse(&d, DEPS_DEPENDS, "Build-Depends", in, strlen(in),
	    NULL) != 0 || d.n == 0) {
		ok(0, "'%s' parses", in);
		return;
	}
	ok(deps_arch_match(&d.v[0], arch) == want_arch, "'%s' %s on %s", in,
	    want_arch ? "applies" : "does not apply", arch);
	ok(deps_profiles_match(&d.v[0]) == want_prof, "'%s' %s with no "
	    "profile", in, want_prof ? "applies" : "does not apply");
	deps_release(&d);
}

static void
test_restrictions(void)
{
	restriction("a", "amd64", true, true);
	restriction("a [amd64 arm64]", "amd64", true, true);
	restriction("a [amd64 arm64]", "i386", false, true);
	restriction("a [!i386 !hurd-i386]", "amd64", true, true);
	restriction("a [!i386]", "i386", false, true);
	restriction("a [linux-any]", "arm64", true, true);
	restriction("a [any-amd64]", "amd64", true, true);
	restriction("a [any-amd64]", "arm64", false, true);
	restriction("a <!nocheck>", "amd64", true, true);
	restriction("a <nocheck>", "amd64", true, false);
	restriction("a <stage1> <!nocheck>", "amd64", true, true);
	restriction("a <!nocheck !stage1>", "amd64", true, true);
	restriction("a <!nocheck stage1>", "amd64", true, false);
}

/* A 1 MB line and 10,000 alternatives: parsed whole, in one pass. */
static void
test_hostile(void)
{
	struct buf b = BUF_INIT;
	struct deps d = DEPS_INIT;
	size_t i, n = 0, bad = 0;
	int rc;

	while (b.len < 1024 * 1024) {
		buf_addf(&b, "%spkg%zu (>= 1.%zu)", n ? ", " : "", n, n);
		n++;
	}
	rc = deps_parse(&d, DEPS_DEPENDS, "Depends", b.p, b.len, NULL);
	is_int(rc, 0, "a %zu-byte Depends line parses", b.len);
	is_int(d.n, n, "with its %zu relations", n);
	for (i = 0; i < d.n; i++)
		bad += d.v[i].alt || d.v[i].op != DEP_GE;
	is_int(bad, 0, "each a group of its own, '>='");
	buf_reset(&b);
	for (i = 0; i < 10000; i++)
		buf_addf(&b, "%salt%zu", i ? " | " : "", i);
	rc = deps_parse(&d, DEPS_DEPENDS, "Depends", b.p, b.len, NULL);
	is_int(rc, 0, "10,000 alternatives parse");
	is_int(d.n, 10000, "all of them");
	for (i = 1, bad = d.v[0].alt; i < d.n; i++)
		bad += !d.v[i].alt;
	is_int(bad, 0, "one group");
	ok(d.v[9999].name_len == 7 && memcmp(d.v[9999].name, "alt9999", 7) ==
	    0, "the last one is alt9999");
	/* A line of 1 MB of '(' fails at once, without reading it all. */
	buf_reset(&b);
	buf_addc(&b, 'a');
	for (i = 0; i < 1024 * 1024; i++)
		buf_addc(&b, '(');
	rc = deps_parse(&d, DEPS_DEPENDS, "Depends", b.p, b.len, NULL);
	is_int(rc, MERR_PARSE, "1 MB of '(' is a parse error");
	deps_release(&d);
	buf_release(&b);
}

int
main(void)
{
	test_forms();
	test_errors();
	test_multiarch();
	test_restrictions();
	test_hostile();
	return tap_done();
}
