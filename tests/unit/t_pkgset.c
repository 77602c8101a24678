/*
 * t_pkgset.c: indices in memory: the fields kept, the paragraphs' exact
 * bytes, lookups by name and by provided name, index iteration, and
 * hostile paragraphs (the message names the index and the line; the set
 * is left as it was).
 */
#include "mirrord/common.h"

#include <sys/mman.h>

#include <fcntl.h>
#include <unistd.h>

#include "mirrord/pkgset.h"
#include "helpers.h"
#include "tap.h"

static const char packages[] =
    "Package: nginx\n"
    "Version: 1.22.1-9\n"
    "Architecture: amd64\n"
    "Depends: nginx-common (= 1.22.1-9), libc6 (>= 2.34),\n"
    " libssl3 (>= 3.0.0)\n"
    "Priority: optional\n"
    "Section: httpd\n"
    "Description: small, powerful, scalable web/proxy server\n"
    "\n"
    "Package: libssl3\n"
    "Source: openssl (3.0.11-1~deb12u2)\n"
    "Version: 3.0.11-1~deb12u2+b1\n"
    "Architecture: amd64\n"
    "Multi-Arch: same\n"
    "Priority: optional\n"
    "Pre-Depends: libc6 (>= 2.34)\n"
    "\n"
    "\n"
    "Package: postfix\n"
    "Version: 3.7.9-0+deb12u1\n"
    "Architecture: amd64\n"
    "Provides: mail-transport-agent, default-mta (= 1)\n"
    "Conflicts: mail-transport-agent\n"
    "Recommends: python3\n"
    "\n"
    "Package: base-files\n"
    "Essential: yes\n"
    "Priority: required\n"
    "Version: 12.4+deb12u5\n"
    "Architecture: amd64\n"
    "Multi-Arch: foreign";

#define PB(name, ver) \
	"Package: " name "\nVersion: " ver "\nArchitecture: amd64\n\n"

static char *
tdup(const char *s)
{
	return xstrdup(s);
}

/* A field of id as a C string (static buffer: one use at a time). */
static const char *
field(const struct pkgset *ps, uint32_t id, enum pkg_field f)
{
	static char out[256];
	size_t len;
	const char *s = pkgset_field(ps, id, f, &len);

	snprintf(out, sizeof(out), "%.*s", (int)len, s ? s : "(none)");
	return out;
}

static uint32_t
first(const struct pkgset *ps, const char *name)
{
	return pkgset_first(ps, pkgset_lookup(ps, name, strlen(name)));
}

static void
test_fields(void)
{
	struct pkgset *ps = pkgset_new();
	struct merr err = { 0 };
	const struct pkgset_index *ix;
	const char *para;
	uint32_t id, idx = 99;
	size_t len;
	int rc;

	rc = pkgset_add_index(ps, "bookworm", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 0, tdup(packages), strlen(packages), &idx, &err);
	is_int(rc, 0, "a Packages index loads (%s)", rc ? err.msg : "");
	is_int(idx, 0, "its number");
	is_int(pkgset_count(ps), 4, "4 packages");
	ix = pkgset_index(ps, 0);
	ok(ix->first == 0 && ix->count == 4 && ix->layer == 0 &&
	    strcmp(ix->suite, "bookworm") == 0, "the index: ids 0..3");
	is_str(field(ps, 0, PF_PACKAGE), "nginx", "text order: nginx first");
	is_str(field(ps, 0, PF_DEPENDS), "nginx-common (= 1.22.1-9), libc6 "
	    "(>= 2.34),\n libssl3 (>= 3.0.0)", "Depends with its "
	    "continuation line");
	is_str(field(ps, 0, PF_SOURCE), "nginx", "Source defaults to Package");
	is_str(field(ps, 0, PF_SOURCE_VERSION), "1.22.1-9",
	    "source version defaults to Version");
	is_str(field(ps, 0, PF_SECTION), "httpd", "Section");
	para = pkgset_para(ps, 0, &len);
	ok(len > 0 && memcmp(para, packages, len) == 0 &&
	    memcmp(para + len, "\n\n", 2) == 0 && para[len - 1] != '\n',
	    "the paragraph's bytes, up to its last newline");
	id = first(ps, "libssl3");
	is_str(field(ps, id, PF_SOURCE), "openssl", "Source: name");
	is_str(field(ps, id, PF_SOURCE_VERSION), "3.0.11-1~deb12u2",
	    "Source: (version)");
	is_str(field(ps, id, PF_PRE_DEPENDS), "libc6 (>= 2.34)",
	    "Pre-Depends");
	is_int(pkgset_pkg(ps, id)->multiarch, MA_SAME, "Multi-Arch: same");
	is_int(pkgset_pkg(ps, id)->priority, PRIO_OPTIONAL, "Priority");
	para = pkgset_para(ps, id, &len);
	ok(len > 9 && memcmp(para, "Package: libssl3\n", 17) == 0 &&
	    para[len - 1] != '\n' && memcmp(para + len, "\n\n\n", 3) == 0,
	    "a paragraph after a blank line; two blank lines after it");
	id = first(ps, "base-files");
	ok(pkgset_pkg(ps, id)->essential && pkgset_pkg(ps, id)->priority ==
	    PRIO_REQUIRED && pkgset_pkg(ps, id)->multiarch == MA_FOREIGN,
	    "Essential, Priority: required, Multi-Arch: foreign");
	para = pkgset_para(ps, id, &len);
	ok(para + len == ix->text + ix->len, "the last paragraph ends with "
	    "the text (no final newline)");
	id = first(ps, "postfix");
	is_str(field(ps, id, PF_RECOMMENDS), "python3", "Recommends");
	is_str(field(ps, id, PF_CONFLICTS), "mail-transport-agent",
	    "Conflicts");
	is_int(pkgset_lookup(ps, "nosuch", 6), PKG_NONE, "an unknown name");
	pkgset_free(ps);
}

static const char updates[] =
    "Package: nginx\nVersion: 1.22.1-9+deb12u1\nArchitecture: amd64\n"
    "\n"
    "Package: exim4-daemon-light\nVersion: 4.96-15\nArchitecture: amd64\n"
    "Provides: mail-transport-agent\n";

static const char sources[] =
    "Package: nginx\nVersion: 1.22.1-9\nArchitecture: any all\n"
    "Build-Depends: debhelper-compat (= 13), libssl-dev\n"
    "Build-Depends-Indep: po-debconf\n"
    "Build-Depends-Arch: libpcre2-dev\n"
    "Binary: nginx, nginx-common\n";

static void
test_lookups(void)
{
	struct pkgset *ps = pkgset_new();
	struct merr err = { 0 };
	uint32_t id, name, i, n = 0, prov[4];
	const struct pkg_provide *v;
	size_t np = 0;

	ok(pkgset_add_index(ps, "bookworm", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 0, tdup(packages), strlen(packages), NULL, &err) ==
	    0 && pkgset_add_index(ps, "bookworm-updates",
	    "main/binary-amd64/Packages", INDEX_PACKAGES, 1, tdup(updates),
	    strlen(updates), NULL, &err) == 0 && pkgset_add_index(ps,
	    "bookworm", "main/source/Sources", INDEX_SOURCES, 0, tdup(sources),
	    strlen(sources), NULL, &err) == 0, "three indices load");
	is_int(pkgset_nindices(ps), 3, "three indices");
	for (id = first(ps, "nginx"); id != PKG_NONE;
	    id = pkgset_pkg(ps, id)->next)
		n++;
	is_int(n, 3, "nginx: two binaries and a source, by name");
	id = first(ps, "nginx");
	is_str(field(ps, id, PF_VERSION), "1.22.1-9", "load order: "
	    "bookworm's first");
	id = pkgset_pkg(ps, id)->next;
	ok(pkgset_index(ps, pkgset_pkg(ps, id)->index)->layer == 1,
	    "then bookworm-updates' (layer 1)");
	id = pkgset_pkg(ps, id)->next;
	is_int(pkgset_index(ps, pkgset_pkg(ps, id)->index)->kind,
	    INDEX_SOURCES, "then the source");
	is_str(field(ps, id, PF_DEPENDS), "debhelper-compat (= 13), "
	    "libssl-dev", "Sources: Build-Depends");
	is_str(field(ps, id, PF_PRE_DEPENDS), "po-debconf",
	    "Sources: Build-Depends-Indep");
	is_str(field(ps, id, PF_RECOMMENDS), "libpcre2-dev",
	    "Sources: Build-Depends-Arch");
	name = pkgset_lookup(ps, "mail-transport-agent", 20);
	ok(name != PKG_NONE && pkgset_first(ps, name) == PKG_NONE,
	    "a virtual name: known, no package of its own");
	for (i = pkgset_first_provider(ps, name); i != PKG_NONE && np < 4;
	    i = pkgset_provide(ps, i)->next)
		prov[np++] = pkgset_provide(ps, i)->pkg;
	ok(np == 2 && prov[0] == first(ps, "postfix") &&
	    prov[1] == first(ps, "exim4-daemon-light"),
	    "its two providers, in load order");
	name = pkgset_lookup(ps, "default-mta", 11);
	v = pkgset_provide(ps, pkgset_first_provider(ps, name));
	ok(v->version.len == 1 && pkgset_index(ps, pkgset_pkg(ps,
	    v->pkg)->index)->text[v->version.off] == '1',
	    "a versioned provide keeps its version");
	pkgset_free(ps);
}

/* text must fail to load with message want; the set stays as it was. */
static void
refused(const char *text, const char *want, const char *what)
{
	struct pkgset *ps = pkgset_new();
	struct merr err = { 0 };
	int rc;

	ok(pkgset_add_index(ps, "bookworm", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 0, tdup(packages), strlen(packages), NULL, &err) ==
	    0, "%s: a good index first", what);
	rc = pkgset_add_index(ps, "sid", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 0, tdup(text), strlen(text), NULL, &err);
	ok(rc == MERR_PARSE || rc == MERR_LIMIT, "%s: refused", what);
	is_str(err.msg, want, "%s: the message", what);
	ok(pkgset_count(ps) == 4 && pkgset_nindices(ps) == 1 &&
	    pkgset_lookup(ps, "zz", 2) == PKG_NONE, "%s: the set is as "
	    "before", what);
	pkgset_free(ps);
}

static void
test_hostile(void)
{
	struct pkgset *ps;
	struct buf b = BUF_INIT;
	struct merr err = { 0 };
	size_t i, start, len;
	char *text;
	int rc;

	refused("Package: zz\nVersion: 1\nArchitecture: all\n\n"
	    "Package: zz2\nArchitecture: all\n",
	    "index 'sid main/binary-amd64/Packages': line 5: paragraph "
	    "without Version", "no Version");
	refused("Package: zz\nVersion: 1\n",
	    "index 'sid main/binary-amd64/Packages': line 1: paragraph "
	    "without Architecture", "no Architecture");
	refused("Version: 1\nArchitecture: all\n",
	    "index 'sid main/binary-amd64/Packages': line 1: paragraph "
	    "without Package", "no Package");
	refused("Package: zz\nVersion 1\n",
	    "index 'sid main/binary-amd64/Packages': line 2: a line without "
	    "a field name and ':'", "no ':'");
	refused("Package: zz\nPackage: zz\n",
	    "index 'sid main/binary-amd64/Packages': line 2: duplicate field "
	    "'Package'", "a duplicate field");
	refused(" continued\nPackage: zz\n",
	    "index 'sid main/binary-amd64/Packages': line 1: a continuation "
	    "line outside a paragraph", "a stray continuation line");
	refused("Package: zz\nVersion: 1\nArchitecture: all\nMulti-Arch: "
	    "sometimes\n", "index 'sid main/binary-amd64/Packages': line 1: "
	    "field 'Multi-Arch': unknown value 'sometimes'", "bad Multi-Arch");
	refused("Package: zz\nVersion: 1\nArchitecture: all\nProvides: a | "
	    "b\n", "index 'sid main/binary-amd64/Packages': line 1: field "
	    "'Provides': alternatives here near '| b'", "bad Provides");
	refused("Package: zz\nVersion: 1\nArchitecture: all\nSource: a b\n",
	    "index 'sid main/binary-amd64/Packages': line 1: field 'Source': "
	    "unexpected character near 'b'", "bad Source");

	/* 20,000 paragraphs, one with a 1 MB Depends line. */
	for (i = 0; i < 20000; i++)
		buf_addf(&b, "Package: p%zu\nVersion: 1.%zu\nArchitecture: "
		    "amd64\nDepends: p%zu\n\n", i, i, i + 1);
	buf_adds(&b, "Package: big\nVersion: 1\nArchitecture: all\nDepends: "
	    "x0");
	start = b.len;
	for (i = 1; b.len - start < 1024 * 1024; i++)
		buf_addf(&b, ",\n x%zu", i);
	buf_addc(&b, '\n');
	ps = pkgset_new();
	text = buf_detach(&b, &len);
	rc = pkgset_add_index(ps, "s", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 0, text, len, NULL, &err);
	is_int(rc, 0, "20,001 paragraphs load");
	is_int(pkgset_count(ps), 20001, "all of them");
	is_str(field(ps, first(ps, "p12345"), PF_VERSION), "1.12345",
	    "a lookup among them");
	pkgset_field(ps, first(ps, "big"), PF_DEPENDS, &len);
	ok(len > 1024 * 1024, "a 1 MB field kept whole (%zu bytes)", len);
	pkgset_free(ps);
}

static size_t
chain_len(const struct pkgset *ps, const char *name)
{
	size_t n = 0;
	uint32_t id;

	for (id = first(ps, name); id != PKG_NONE; id = pkgset_pkg(ps, id)->next)
		n++;
	return n;
}

static size_t
providers(const struct pkgset *ps, const char *name)
{
	size_t n = 0;
	uint32_t i, nm = pkgset_lookup(ps, name, strlen(name));

	for (i = pkgset_first_provider(ps, nm); i != PKG_NONE;
	    i = pkgset_provide(ps, i)->next)
		n++;
	return n;
}

/*
 * A load that fails after adding to names the set already had: their
 * lists are as before, the new names gone, and a later load links well.
 */
static void
test_unwind(void)
{
	struct pkgset *ps = pkgset_new();
	struct merr err = { 0 };
	static const char bad[] =
	    PB("nginx", "9") PB("zz-new", "1")
	    "Package: postfix2\nVersion: 1\nArchitecture: amd64\n"
	    "Provides: mail-transport-agent\n\n"
	    "Package: broken\nArchitecture: amd64\n";
	int rc;

	rc = pkgset_add_index(ps, "bookworm", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 0, tdup(packages), strlen(packages), NULL, &err);
	rc |= pkgset_add_index(ps, "bookworm-updates",
	    "main/binary-amd64/Packages", INDEX_PACKAGES, 0, tdup(updates),
	    strlen(updates), NULL, &err);
	is_int(rc, 0, "unwind: two indices load");
	is_int(pkgset_add_index(ps, "sid", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 0, tdup(bad), strlen(bad), NULL, &err), MERR_PARSE,
	    "unwind: a third fails at its last paragraph");
	ok(chain_len(ps, "nginx") == 2 && providers(ps,
	    "mail-transport-agent") == 2 && pkgset_lookup(ps, "zz-new", 6) ==
	    PKG_NONE && pkgset_lookup(ps, "postfix2", 8) == PKG_NONE &&
	    pkgset_count(ps) == 6, "unwind: names and lists as before");
	is_int(pkgset_add_index(ps, "sid", "main/binary-amd64/Packages",
	    INDEX_PACKAGES, 0, tdup(updates), strlen(updates), NULL, &err), 0,
	    "unwind: a later index loads");
	ok(chain_len(ps, "nginx") == 3 && providers(ps,
	    "mail-transport-agent") == 3 && pkgset_count(ps) == 8,
	    "unwind: and links after the others");
	pkgset_free(ps);
}

/* A mapped file: the same fields, the rarer ones found by scanning. */
static void
test_mapped(void)
{
	char *dir = helpers_tmpdir_new("t_pkgset"), *path;
	struct pkgset *ps = pkgset_new();
	struct merr err = { 0 };
	size_t len = strlen(packages);
	uint32_t id;
	void *m;
	int fd, rc;

	path = xasprintf("%s/Packages", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ok(fd >= 0 && write(fd, packages, len) == (ssize_t)len,
	    "mapped: a Packages file");
	m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	ok(m != MAP_FAILED, "mapped: mmap");
	rc = pkgset_add_index_mapped(ps, "bookworm",
	    "main/binary-amd64/Packages", INDEX_PACKAGES, 0, m, len, NULL, &err);
	is_int(rc, 0, "mapped: loads");
	ok(pkgset_index(ps, 0)->mapped, "mapped: marked so");
	id = first(ps, "postfix");
	is_str(field(ps, id, PF_CONFLICTS), "mail-transport-agent",
	    "mapped: a field scanned for (Conflicts)");
	is_str(field(ps, first(ps, "nginx"), PF_SECTION), "httpd",
	    "mapped: Section");
	is_str(field(ps, first(ps, "nginx"), PF_DEPENDS), "nginx-common (= "
	    "1.22.1-9), libc6 (>= 2.34),\n libssl3 (>= 3.0.0)",
	    "mapped: a kept field, after the pages were given back");
	{
		size_t n = 99;

		ok(pkgset_field(ps, first(ps, "nginx"), PF_BREAKS, &n) ==
		    NULL && n == 0, "mapped: an absent field scanned for");
	}
	pkgset_give_back(ps);
	is_str(field(ps, first(ps, "libssl3"), PF_VERSION),
	    "3.0.11-1~deb12u2+b1", "mapped: read again after give_back");
	pkgset_free(ps);
	free(path);
	helpers_tmpdir_free(dir);
}

int
main(void)
{
	test_fields();
	test_lookups();
	test_hostile();
	test_unwind();
	test_mapped();
	return tap_done();
}
