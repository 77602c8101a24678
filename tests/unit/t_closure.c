/*
 * t_closure.c: dependency closure (closure_include) and patching
 * (closure_patch) on small hand-written indices: each rule of closure.h,
 * the error texts, and the hostile shapes (a deep chain, cycles, a
 * Provides loop).
 */
#include "mirrord/common.h"

#include "mirrord/closure.h"
#include "tap.h"

#define PA(name, ver, arch, extra) \
	"Package: " name "\nVersion: " ver "\nArchitecture: " arch "\n" \
	extra "\n"

static const char *const amd64[] = { "amd64" };
static const char *const amd64_arm64[] = { "amd64", "arm64" };

static struct pkgset *
set1(const char *suite, const char *text)
{
	struct pkgset *ps = pkgset_new();
	struct merr err = { 0 };

	if (pkgset_add_index(ps, suite, "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 0, xstrdup(text), strlen(text), NULL, &err))
		printf("# %s\n", err.msg);
	return ps;
}

static void
add(struct pkgset *ps, const char *suite, const char *path,
    enum index_kind kind, int layer, const char *text)
{
	struct merr err = { 0 };

	if (pkgset_add_index(ps, suite, path, kind, layer, xstrdup(text),
	    strlen(text), NULL, &err))
		printf("# %s\n", err.msg);
}

/* The selection as "name=version/arch" words, sorted by id, deduped. */
static char *
sel(const struct pkgset *ps, const struct closure_result *r)
{
	struct buf b = BUF_INIT;
	uint32_t id;
	size_t l1, l2, l3;

	for (id = 0; id < r->n; id++) {
		const char *n, *v, *a;

		if (r->why[id].kind == CLOSURE_NO)
			continue;
		n = pkgset_field(ps, id, PF_PACKAGE, &l1);
		v = pkgset_field(ps, id, PF_VERSION, &l2);
		a = pkgset_field(ps, id, PF_ARCH, &l3);
		buf_addf(&b, "%s%.*s=%.*s", b.len ? " " : "", (int)l1, n,
		    (int)l2, v);
		if (pkgset_index(ps, pkgset_pkg(ps, id)->index)->kind ==
		    INDEX_SOURCES)
			buf_adds(&b, "/src");
		else if (l3 != 3 || memcmp(a, "all", 3) != 0)
			buf_addf(&b, "/%.*s", (int)l3, a);
	}
	return buf_detach(&b, NULL);
}

/* Resolves inc (and ex) in ps; checks the selection or the error. */
static void
include(struct pkgset *ps, const struct closure_opts *o, const char *inc,
    const char *ex, int want_rc, const char *want, const char *what)
{
	char *iv[16], *ev[16], *ic = xstrdup(inc), *ec = xstrdup(ex ? ex : "");
	char *save = NULL, *w, *got;
	size_t ni = 0, ne = 0;
	struct closure_result r;
	struct merr err = { 0 };
	int rc;

	for (w = strtok_r(ic, " ", &save); w && ni < 16; w = strtok_r(NULL,
	    " ", &save))
		iv[ni++] = w;
	for (w = strtok_r(ec, " ", &save); w && ne < 16; w = strtok_r(NULL,
	    " ", &save))
		ev[ne++] = w;
	rc = closure_include(ps, o, (const char *const *)iv, ni,
	    (const char *const *)ev, ne, &r, &err);
	is_int(rc, want_rc, "%s: result", what);
	got = rc ? xstrdup(err.msg) : sel(ps, &r);
	is_str(got, want, "%s", what);
	free(got);
	free(ic);
	free(ec);
	closure_result_release(&r);
}

static struct closure_opts
opts(const char *const *archs, size_t n)
{
	struct closure_opts o;

	memset(&o, 0, sizeof(o));
	o.archs = archs;
	o.narchs = n;
	return o;
}

static void
test_chain(void)
{
	struct closure_opts o = opts(amd64, 1);
	struct buf b = BUF_INIT, want = BUF_INIT;
	struct pkgset *ps;
	size_t i;

	/* 20,000 deep: no recursion, no quadratic walk. */
	for (i = 0; i < 20000; i++) {
		buf_addf(&b, "Package: a%zu\nVersion: 1\nArchitecture: amd64\n",
		    i);
		if (i + 1 < 20000)
			buf_addf(&b, "Depends: a%zu\n", i + 1);
		buf_addc(&b, '\n');
		buf_addf(&want, "%sa%zu=1/amd64", i ? " " : "", i);
	}
	ps = set1("bookworm", b.p);
	include(ps, &o, "a0", NULL, 0, want.p, "a 20,000-deep chain");
	include(ps, &o, "a0", "a19999", MERR_NOTFOUND, "a0 -> a1 -> a2 -> a3 "
	    "-> ... (19991 more) -> a19995 -> a19996 -> a19997 -> a19998 -> "
	    "a19999: not in bookworm main amd64", "a 20,000-deep chain broken "
	    "at its end: both ends of the chain");
	pkgset_free(ps);
	buf_release(&b);
	buf_release(&want);
}

/* 10,000 alternatives (only the last there), a 1 MB Depends line. */
static void
test_hostile(void)
{
	struct closure_opts o = opts(amd64, 1);
	struct buf b = BUF_INIT, want = BUF_INIT;
	struct pkgset *ps;
	size_t i, n;

	buf_adds(&b, "Package: r\nVersion: 1\nArchitecture: amd64\nDepends: ");
	for (i = 0; i < 10000; i++)
		buf_addf(&b, "missing%zu | ", i);
	buf_adds(&b, "there\n\nPackage: there\nVersion: 1\nArchitecture: "
	    "all\n\nPackage: big\nVersion: 1\nArchitecture: amd64\n"
	    "Depends: ");
	buf_adds(&want, "big=1/amd64");
	for (n = 0; b.len < 2 * 1024 * 1024; n++) {
		buf_addf(&b, "%sd%zu (>= 0)", n ? ",\n " : "", n);
		buf_addf(&want, " d%zu=1/amd64", n);
	}
	buf_adds(&b, "\n\n");
	for (i = 0; i < n; i++)
		buf_addf(&b, "Package: d%zu\nVersion: 1\nArchitecture: amd64\n"
		    "Depends: big, d%zu\n\n", i, (i + 1) % n);
	ps = set1("bookworm", b.p);
	include(ps, &o, "r", NULL, 0, "r=1/amd64 there=1",
	    "10,000 alternatives, the last one there");
	include(ps, &o, "r", "there", MERR_NOTFOUND, "r -> missing0 | "
	    "missing1 | missing2 | missing3 | missing4 | missing5 | missing6 | "
	    "missing7 | missing8 | missing9 | missing10 | missing11 | "
	    "missing12 | missing13 | missing14 | missing15 | missing16 | "
	    "missing17 | missing18 | missing19 | missing20 | missing21 | "
	    "missing22 | missing23 | missing24 | missing25 | missing26 | "
	    "missing27 | missing28 | missing29 | missing30 | missing31 | "
	    "missing32 | missing33 | missing34 | ... (10001 alternatives): not "
	    "in bookworm main amd64", "10,001 unsatisfiable alternatives: "
	    "the error lists the first ones and says why");
	include(ps, &o, "big", NULL, 0, want.p, "a 1 MB Depends line of "
	    "packages in a ring back to it");
	pkgset_free(ps);
	buf_release(&b);
	buf_release(&want);
}

static void
test_alternatives(void)
{
	struct closure_opts o = opts(amd64, 1);
	struct pkgset *ps = set1("bookworm",
	    PA("r", "1", "amd64", "Depends: x | y\n")
	    PA("r2", "1", "amd64", "Depends: nox | y\n")
	    PA("s", "1", "amd64", "Depends: y\n")
	    PA("x", "1", "amd64", "")
	    PA("y", "1", "amd64", "")
	    PA("v", "1", "amd64", "Depends: x (>= 2) | y\n"));

	include(ps, &o, "r", NULL, 0, "r=1/amd64 x=1/amd64",
	    "a | b: the first satisfiable");
	include(ps, &o, "r2", NULL, 0, "r2=1/amd64 y=1/amd64",
	    "a | b: a missing, b");
	include(ps, &o, "s r", NULL, 0, "r=1/amd64 s=1/amd64 y=1/amd64",
	    "a | b: b already selected is kept");
	include(ps, &o, "v", NULL, 0, "y=1/amd64 v=1/amd64",
	    "a (>= 2) | b: a too old, b");
	include(ps, &o, "r", "x", 0, "r=1/amd64 y=1/amd64",
	    "Exclude: x is not picked");
	pkgset_free(ps);
}

static void
test_versions(void)
{
	struct closure_opts o = opts(amd64, 1);
	struct pkgset *ps = set1("bookworm",
	    PA("a", "1.0", "amd64", "")
	    PA("old", "1", "amd64", "Depends: a (<< 2)\n")
	    PA("new", "1", "amd64", "Depends: a (>= 2)\n")
	    PA("top", "1", "amd64", "Depends: a (>= 3)\n"));

	add(ps, "bookworm-updates", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 0, PA("a", "2.0", "amd64", ""));
	include(ps, &o, "new", NULL, 0, "new=1/amd64 a=2.0/amd64",
	    "the candidate: the highest version, across indices");
	include(ps, &o, "old", NULL, 0, "a=1.0/amd64 old=1/amd64",
	    "a (<< 2): the highest version that satisfies");
	include(ps, &o, "a", NULL, 0, "a=2.0/amd64",
	    "a root is its name's candidate");
	include(ps, &o, "top", NULL, MERR_NOTFOUND, "top -> a (>= 3): not in "
	    "bookworm,bookworm-updates main amd64",
	    "no version satisfies: the chain, and where it looked");
	pkgset_free(ps);
}

static void
test_virtual(void)
{
	struct closure_opts o = opts(amd64, 1);
	struct pkgset *ps = set1("bookworm",
	    PA("r", "1", "amd64", "Depends: virt\n")
	    PA("p1", "1", "amd64", "Provides: virt\n")
	    PA("m", "1", "amd64", "Depends: mta\n")
	    PA("exim", "1", "amd64", "Priority: optional\nProvides: mta\n")
	    PA("postfix", "1", "amd64", "Priority: important\nProvides: mta\n")
	    PA("nullmailer", "1", "amd64", "Provides: mta\n")
	    PA("d", "1", "amd64", "Depends: foo\n")
	    PA("bar", "1", "amd64", "Priority: required\nProvides: foo\n")
	    PA("foo", "1", "amd64", "Priority: extra\n")
	    PA("l", "1", "amd64", "Depends: libx (>= 2)\n")
	    PA("px1", "1", "amd64", "Provides: libx (= 1)\n")
	    PA("px2", "1", "amd64", "Provides: libx (= 2)\n")
	    PA("e", "1", "amd64", "Depends: awk\n")
	    PA("gawk", "1", "amd64", "Priority: required\nProvides: awk\n")
	    PA("mawk", "1", "amd64", "Essential: yes\nPriority: optional\n"
	    "Provides: awk\n")
	    PA("u", "1", "amd64", "Depends: liby (>= 1)\n")
	    PA("py", "1", "amd64", "Provides: liby\n"));

	include(ps, &o, "r", NULL, 0, "r=1/amd64 p1=1/amd64",
	    "a virtual name with one provider");
	include(ps, &o, "m", NULL, 0, "m=1/amd64 postfix=1/amd64",
	    "several providers: the highest Priority");
	include(ps, &o, "exim m", NULL, 0, "m=1/amd64 exim=1/amd64",
	    "several providers: one already selected");
	include(ps, &o, "e", NULL, 0, "e=1/amd64 mawk=1/amd64",
	    "several providers: an Essential one before Priority");
	include(ps, &o, "d", NULL, 0, "d=1/amd64 foo=1/amd64",
	    "a real package of the name before a provider");
	include(ps, &o, "l", NULL, 0, "l=1/amd64 px2=1/amd64",
	    "versioned Provides checked against the constraint");
	include(ps, &o, "u", NULL, MERR_NOTFOUND, "u -> liby (>= 1): not in "
	    "bookworm main amd64",
	    "an unversioned Provides never satisfies a versioned dependency");
	pkgset_free(ps);
}

static void
test_multiarch(void)
{
	struct closure_opts o = opts(amd64, 1), o2 = opts(amd64_arm64, 2);
	struct pkgset *ps = set1("bookworm",
	    PA("r", "1", "amd64", "Depends: python3:any, perl:native\n")
	    PA("python3", "3.11", "amd64", "Multi-Arch: allowed\n")
	    PA("perl", "5.36", "amd64", "")
	    PA("bad", "1", "amd64", "Depends: perl:any\n")
	    PA("tool", "1", "amd64", "Multi-Arch: foreign\n")
	    PA("lib", "1", "amd64", "Multi-Arch: same\n")
	    PA("data", "1", "all", "Depends: lib\n"));

	add(ps, "bookworm", "main/binary-arm64/Packages", INDEX_PACKAGES, 0,
	    PA("armonly", "1", "arm64", "Depends: tool\n")
	    PA("armlib", "1", "arm64", "Depends: lib\n")
	    PA("lib", "1", "arm64", "Multi-Arch: same\n"));
	include(ps, &o, "r", NULL, 0, "r=1/amd64 python3=3.11/amd64 "
	    "perl=5.36/amd64", ":any of a Multi-Arch: allowed package, "
	    ":native");
	include(ps, &o, "bad", NULL, MERR_NOTFOUND, "bad -> perl:any: not in "
	    "bookworm main amd64", ":any of a package not Multi-Arch: allowed");
	include(ps, &o2, "armonly", NULL, 0, "tool=1/amd64 armonly=1/arm64",
	    "Multi-Arch: foreign satisfies another architecture");
	include(ps, &o2, "armlib", NULL, 0, "armlib=1/arm64 lib=1/arm64",
	    "Multi-Arch: same must match the architecture");
	include(ps, &o2, "data", NULL, 0, "lib=1/amd64 data=1 lib=1/arm64",
	    "Architecture: all, resolved for each architecture");
	include(ps, &o, "data", NULL, 0, "lib=1/amd64 data=1",
	    "Architecture: all, one architecture");
	pkgset_free(ps);
}

static void
test_loops(void)
{
	struct closure_opts o = opts(amd64, 1);
	struct pkgset *ps = set1("bookworm",
	    PA("a", "1", "amd64", "Depends: b\n")
	    PA("b", "1", "amd64", "Pre-Depends: c\n")
	    PA("c", "1", "amd64", "Depends: a, c\n")
	    PA("pa", "1", "amd64", "Depends: v1\n")
	    PA("pb", "1", "amd64", "Provides: v1\nDepends: v2\n")
	    PA("pc", "1", "amd64", "Provides: v2\nDepends: v1 | v2\n"));

	include(ps, &o, "a", NULL, 0, "a=1/amd64 b=1/amd64 c=1/amd64",
	    "a dependency cycle (and a self-dependency) ends");
	include(ps, &o, "pa", NULL, 0, "pa=1/amd64 pb=1/amd64 pc=1/amd64",
	    "a Provides loop ends");
	pkgset_free(ps);
}

static void
test_errors(void)
{
	struct closure_opts o = opts(amd64, 1);
	struct closure_result r;
	struct merr err = { 0 };
	const char *inc[] = { "nginx", "curl" };
	struct pkgset *ps = set1("bookworm",
	    PA("nginx", "1.22", "amd64", "Depends: libnginx-mod-http-geoip2, "
	    "libc6\n")
	    PA("libnginx-mod-http-geoip2", "1.22", "amd64",
	    "Depends: libmaxminddb0 (>= 1.3)\n")
	    PA("libmaxminddb0", "1.2", "amd64", "")
	    PA("libc6", "2.36", "amd64", "")
	    PA("curl", "7.88", "amd64", "Depends: libc6\n")
	    PA("curl-dbg", "7.88", "amd64", "Depends: curl\n")
	    PA("bad", "1", "amd64", "Depends: a (>= )\n"));

	include(ps, &o, "nginx", NULL, MERR_NOTFOUND, "nginx -> "
	    "libnginx-mod-http-geoip2 -> libmaxminddb0 (>= 1.3): not in "
	    "bookworm main amd64", "an unsatisfiable dependency: the chain");
	include(ps, &o, "ngnix", NULL, MERR_NOTFOUND, "selector 'ngnix' "
	    "matches no package", "a selector that matches nothing");
	include(ps, &o, "priority:sometimes", NULL, MERR_INVAL, "selector "
	    "'priority:sometimes': the level is required, important or "
	    "standard", "a bad priority level");
	include(ps, &o, "curl-dbg", "curl", MERR_NOTFOUND, "curl-dbg -> curl: "
	    "not in bookworm main amd64",
	    "an excluded package needed by a root: unsatisfied");
	include(ps, &o, "curl*", "*-dbg", 0, "libc6=2.36/amd64 curl=7.88/amd64",
	    "a glob, and an excluding glob");
	include(ps, &o, "bad", NULL, MERR_PARSE, "package 'bad': field "
	    "'Depends': missing version near ')'", "a malformed Depends");
	o.unsatisfied_warn = true;
	ok(closure_include(ps, &o, inc, 2, NULL, 0, &r, &err) == 0 &&
	    r.nwarnings == 1 && strcmp(r.warnings[0], "nginx -> "
	    "libnginx-mod-http-geoip2 -> libmaxminddb0 (>= 1.3): not in "
	    "bookworm main amd64") == 0, "unsatisfied_warn: a warning");
	{
		char *s = sel(ps, &r);

		is_str(s, "nginx=1.22/amd64 libnginx-mod-http-geoip2=1.22/amd64 "
		    "libc6=2.36/amd64 curl=7.88/amd64",
		    "unsatisfied_warn: the rest resolved");
		free(s);
	}
	closure_result_release(&r);
	pkgset_free(ps);
}

static void
test_selectors(void)
{
	struct closure_opts o = opts(amd64, 1);
	struct pkgset *ps = set1("bookworm",
	    PA("base-files", "12", "amd64", "Essential: yes\nPriority: "
	    "required\nSection: admin\n")
	    PA("libc6", "2.36", "amd64", "Priority: optional\nSection: libs\n")
	    PA("dpkg", "1.21", "amd64", "Essential: yes\nPriority: required\n"
	    "Depends: libc6\nSection: admin\n")
	    PA("apt", "2.6", "amd64", "Priority: important\nSection: admin\n")
	    PA("less", "590", "amd64", "Priority: standard\nSection: text\n")
	    PA("nginx", "1.22", "amd64", "Priority: optional\nSection: httpd\n"
	    "Depends: dpkg\n"));

	include(ps, &o, "priority:required", NULL, 0, "base-files=12/amd64 "
	    "libc6=2.36/amd64 dpkg=1.21/amd64", "priority:required (Essential"
	    " ones too) and their closure");
	include(ps, &o, "priority:important", NULL, 0, "base-files=12/amd64 "
	    "libc6=2.36/amd64 dpkg=1.21/amd64 apt=2.6/amd64",
	    "priority:important: that level and higher");
	include(ps, &o, "priority:standard", "libc6", MERR_NOTFOUND,
	    "dpkg -> libc6: not in bookworm main amd64",
	    "priority:standard minus an excluded dependency");
	include(ps, &o, "section:http*", NULL, 0, "libc6=2.36/amd64 "
	    "dpkg=1.21/amd64 nginx=1.22/amd64", "section:GLOB; an Essential "
	    "package needed is there");
	include(ps, &o, "nginx", NULL, 0, "libc6=2.36/amd64 dpkg=1.21/amd64 "
	    "nginx=1.22/amd64", "Essential packages not needed are not pulled");
	pkgset_free(ps);
}

/* apt's MarkInstall drops a package taken before that a later one
 * Conflicts with; the or-group it satisfied stays satisfied. */
static void
test_conflicts(void)
{
	struct closure_opts o = opts(amd64, 1);
	struct pkgset *ps = set1("bookworm",
	    PA("office", "1", "amd64", "Depends: base, core\n")
	    PA("base", "1", "amd64", "Depends: nogui | core\n")
	    PA("nogui", "1", "amd64", "Conflicts: core\nDepends: libx\n")
	    PA("core", "1", "amd64", "Conflicts: nogui\nDepends: libx\n")
	    PA("libx", "1", "amd64", ""));

	include(ps, &o, "office", NULL, 0, "office=1/amd64 base=1/amd64 "
	    "core=1/amd64 libx=1/amd64", "a later Conflicts drops an "
	    "alternative taken before");
	include(ps, &o, "nogui office", NULL, 0, "office=1/amd64 "
	    "base=1/amd64 nogui=1/amd64 core=1/amd64 libx=1/amd64",
	    "a root is never dropped");
	pkgset_free(ps);
}

static void
test_sources(void)
{
	struct closure_opts o = opts(amd64, 1);
	struct pkgset *ps = set1("bookworm",
	    PA("libssl3", "3.0.11+b1", "amd64", "Source: openssl (3.0.11)\n")
	    PA("app", "1", "amd64", "Depends: libssl3\n")
	    PA("orphan", "1", "amd64", "")
	    PA("debhelper", "13", "all", "")
	    PA("cc", "12", "amd64", ""));
	struct closure_result r;
	struct merr err = { 0 };
	const char *inc[] = { "orphan" };

	add(ps, "bookworm", "main/source/Sources", INDEX_SOURCES, 0,
	    PA("openssl", "3.0.10", "any", "")
	    PA("openssl", "3.0.11", "any", "Build-Depends: debhelper, "
	    "cc [amd64], nope [i386], check <nocheck>\n")
	    PA("app", "1", "any", ""));
	o.sources = true;
	include(ps, &o, "app", NULL, 0, "libssl3=3.0.11+b1/amd64 app=1/amd64 "
	    "openssl=3.0.11/src app=1/src",
	    "sources: Source: name (version) of each binary");
	o.build_depends = true;
	include(ps, &o, "app", NULL, 0, "libssl3=3.0.11+b1/amd64 app=1/amd64 "
	    "debhelper=13 cc=12/amd64 openssl=3.0.11/src app=1/src",
	    "Build-Depends followed when asked (arch lists, profiles)");
	ok(closure_include(ps, &o, inc, 1, NULL, 0, &r, &err) == 0 &&
	    r.nwarnings == 1 && strcmp(r.warnings[0], "orphan: no source "
	    "package 'orphan' of its version") == 0,
	    "a binary without its source: a warning");
	closure_result_release(&r);
	pkgset_free(ps);
}

static struct pkgset *
patch_set(const char *ref_openssl_depends)
{
	struct pkgset *ps = pkgset_new();
	struct buf b = BUF_INIT;

	add(ps, "bookworm", "main/binary-amd64/Packages", INDEX_PACKAGES, 0,
	    PA("libssl3", "3.0.2-1", "amd64", "Source: openssl\n")
	    PA("openssl", "3.0.2-1", "amd64", "Depends: libssl3 (>= 3.0.2)\n")
	    PA("libfoo", "1", "amd64", "Source: foo\nDepends: libssl3\n")
	    PA("libnew", "1", "amd64", "Source: newsrc\n"));
	add(ps, "bookworm", "main/source/Sources", INDEX_SOURCES, 0,
	    PA("openssl", "3.0.2-1", "any", "")
	    PA("foo", "1", "any", "")
	    PA("newsrc", "1", "any", ""));
	add(ps, "bookworm", "main/binary-amd64/Packages", INDEX_PACKAGES, 1,
	    PA("libfoo", "1", "amd64", "Source: foo\nDepends: libssl3\n")
	    PA("libnew", "2", "amd64", "Source: newsrc\nDepends: libnew-data\n")
	    PA("libnew-data", "2", "all", "Source: newsrc\n"));
	buf_addf(&b, PA("libssl3", "3.0.2-2", "amd64", "Source: openssl\n")
	    PA("openssl", "3.0.2-2", "amd64", "Depends: %s\n")
	    PA("libssl-new", "3.0.2-2", "amd64", "Source: openssl\n"),
	    ref_openssl_depends);
	add(ps, "bookworm-security", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 1, b.p);
	add(ps, "bookworm", "main/source/Sources", INDEX_SOURCES, 1,
	    PA("foo", "1", "any", "")
	    PA("newsrc", "2", "any", ""));
	add(ps, "bookworm-security", "main/source/Sources", INDEX_SOURCES, 1,
	    PA("openssl", "3.0.2-2", "any", ""));
	buf_release(&b);
	return ps;
}

static void
patch(struct pkgset *ps, const char *name, int want_rc, const char *want,
    const char *what)
{
	struct closure_opts o = opts(amd64, 1);
	struct closure_result r;
	struct merr err = { 0 };
	char *got;
	int rc;

	o.ref_name = "latest";
	o.base_name = "production";
	rc = closure_patch(ps, &o, &name, 1, &r, &err);
	is_int(rc, want_rc, "%s: result", what);
	got = rc ? xstrdup(err.msg) : sel(ps, &r);
	is_str(got, want, "%s", what);
	free(got);
	closure_result_release(&r);
}

static void
test_patch(void)
{
	struct pkgset *ps = patch_set("libssl3 (= 3.0.2-2), libnew (>= 2)");
	struct closure_opts o = opts(amd64, 1);
	struct closure_result r;
	struct merr err = { 0 };
	const char *name = "openssl";
	uint32_t id;
	size_t len;
	int why_ok = 0;

	/* bookworm keeps its openssl: the fix is in bookworm-security. */
	patch(ps, "openssl", 0,
	    "libssl3=3.0.2-1/amd64 openssl=3.0.2-1/amd64 libfoo=1/amd64 "
	    "openssl=3.0.2-1/src foo=1/src libnew=2/amd64 libnew-data=2 "
	    "libssl3=3.0.2-2/amd64 openssl=3.0.2-2/amd64 "
	    "libssl-new=3.0.2-2/amd64 newsrc=2/src openssl=3.0.2-2/src",
	    "patch: every binary of the source taken (a new one too) where "
	    "the ref has it, a dependency pulled with its whole source, "
	    "replacing the base's in the same index");
	ok(closure_patch(ps, &o, &name, 1, &r, &err) == 0, "patch again");
	for (id = 0; id < r.n; id++) {
		const char *n = pkgset_field(ps, id, PF_PACKAGE, &len);

		if (len == 6 && memcmp(n, "libnew", 6) == 0 &&
		    r.why[id].kind == CLOSURE_NEEDED)
			why_ok += pkgset_field(ps, r.why[id].from, PF_PACKAGE,
			    &len) && len == 7;
		if (len == 7 && memcmp(n, "libssl3", 7) == 0 &&
		    r.why[id].kind == CLOSURE_NAMED && r.why[id].from == 0)
			why_ok++;
		if (len == 6 && memcmp(n, "libfoo", 6) == 0 &&
		    r.why[id].kind == CLOSURE_BASE)
			why_ok++;
	}
	is_int(why_ok, 3, "why: named, needed by openssl, kept from the base");
	closure_result_release(&r);
	patch(ps, "foo", MERR_INVAL, "'foo': latest has no newer version than "
	    "production's 1", "patch: a source the ref has no newer");
	patch(ps, "nosuch", MERR_NOTFOUND, "'nosuch': latest has no such "
	    "source package", "patch: a source the ref does not have");
	pkgset_free(ps);

	ps = patch_set("libgone (>= 1) | libnew (>= 3)");
	patch(ps, "openssl", MERR_NOTFOUND, "openssl -> libgone (>= 1) | "
	    "libnew (>= 3): not in bookworm,bookworm-security main amd64",
	    "patch: a dependency neither the result nor the ref satisfies");
	pkgset_free(ps);
	ps = patch_set("libfoo");
	patch(ps, "openssl", 0, "libssl3=3.0.2-1/amd64 openssl=3.0.2-1/amd64 "
	    "libfoo=1/amd64 libnew=1/amd64 openssl=3.0.2-1/src foo=1/src "
	    "newsrc=1/src libssl3=3.0.2-2/amd64 openssl=3.0.2-2/amd64 "
	    "libssl-new=3.0.2-2/amd64 openssl=3.0.2-2/src",
	    "patch: a dependency the base satisfies pulls nothing");
	pkgset_free(ps);
	/* The same index in the base: the old version leaves it. */
	ps = pkgset_new();
	add(ps, "bookworm", "main/binary-amd64/Packages", INDEX_PACKAGES, 0,
	    PA("hello", "1", "amd64", "")
	    PA("libhello", "1", "amd64", "Source: hello\n"));
	add(ps, "bookworm-security", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 0, PA("hello", "1+s1", "amd64", ""));
	add(ps, "bookworm", "main/binary-amd64/Packages", INDEX_PACKAGES, 1,
	    PA("hello", "1", "amd64", "")
	    PA("libhello", "1", "amd64", "Source: hello\n"));
	add(ps, "bookworm-security", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 1, PA("hello", "1+s2", "amd64", ""));
	patch(ps, "hello", 0, "hello=1/amd64 libhello=1/amd64 "
	    "hello=1+s2/amd64", "patch: the fixed version replaces the old "
	    "one in its index (bookworm-security), the frozen pocket keeps "
	    "its own");
	pkgset_free(ps);
}

int
main(void)
{
	test_chain();
	test_hostile();
	test_alternatives();
	test_versions();
	test_virtual();
	test_multiarch();
	test_loops();
	test_errors();
	test_selectors();
	test_conflicts();
	test_sources();
	test_patch();
	return tap_done();
}
