/*
 * fuzz_pkgset.c: relationship fields (mirrord/deps.h), index loading
 * (mirrord/pkgset.h) and the closure over what loaded (closure.h).
 *
 * Input: byte 0 says what the rest is. Bits 0-1: a field to parse as
 * Depends (0), Provides (1), Source (2), or a Packages index (3). Bit 2:
 * for an index, load it as Sources instead. Bits 3-6: for an index, how
 * many names (from the first packages) to resolve as roots. Bit 7: load
 * the index as a mapped file (pkgset_add_index_mapped, from a memfd).
 *
 * Invariants:
 *  - deps: on success every atom points inside the input with a non-empty
 *    name; a group's first atom has alt false; rendering the atoms and
 *    parsing that again gives the same atoms (a fixed point); on failure
 *    nothing is kept and the message names the field;
 *  - pkgset: on success every package's paragraph lies inside the text,
 *    starts with a field and does not end in a newline; its fields lie
 *    inside it; looking its name up finds it; on failure the message
 *    names the index and the set holds nothing;
 *  - closure: on a loaded Packages index, resolving any roots ends
 *    (cycles, loops), with 0, MERR_NOTFOUND or MERR_PARSE, and selects
 *    only packages of the set.
 */
#include "mirrord/common.h"

#include <sys/mman.h>

#include <unistd.h>

#include "mirrord/closure.h"
#include "mirrord/deps.h"
#include "mirrord/pkgset.h"
#include "tests/fuzz/fuzz.h"

static const char *const kind_names[] = { "Depends", "Provides", "Source" };

static void
render(const struct deps *d, enum deps_kind kind, struct buf *b)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct dep_atom *a = &d->v[i];

		if (i)
			buf_adds(b, a->alt ? " | " : ", ");
		buf_add(b, a->name, a->name_len);
		if (a->archq)
			buf_addf(b, ":%.*s", (int)a->archq_len, a->archq);
		if (a->op != DEP_NONE)
			buf_addf(b, " (%s %.*s)", kind == DEPS_SOURCE ? "" :
			    version_op_str(a->op), (int)a->ver_len, a->ver);
		if (a->archs)
			buf_addf(b, " [%.*s]", (int)a->archs_len, a->archs);
		if (a->profiles)
			buf_addf(b, " <%.*s>", (int)a->profiles_len, a->profiles);
	}
}

static bool
atoms_equal(const struct dep_atom *a, const struct dep_atom *b)
{
	return a->name_len == b->name_len && !memcmp(a->name, b->name,
	    a->name_len) && a->archq_len == b->archq_len && (!a->archq ||
	    !memcmp(a->archq, b->archq, a->archq_len)) && a->op == b->op &&
	    a->ver_len == b->ver_len && (!a->ver || !memcmp(a->ver, b->ver,
	    a->ver_len)) && a->alt == b->alt;
}

static void
fuzz_deps(enum deps_kind kind, const char *s, size_t len)
{
	struct deps d = DEPS_INIT, d2 = DEPS_INIT;
	struct merr err = { 0 };
	struct buf b = BUF_INIT;
	size_t i;
	int rc;

	rc = deps_parse(&d, kind, kind_names[kind], s, len, &err);
	if (rc) {
		FUZZ_CHECK(rc == MERR_PARSE && d.n == 0, "rc %d n %zu", rc, d.n);
		FUZZ_CHECK(str_startswith(err.msg, "field '"), "%s", err.msg);
		deps_release(&d);
		return;
	}
	for (i = 0; i < d.n; i++) {
		const struct dep_atom *a = &d.v[i];

		FUZZ_CHECK(a->name_len > 0 && a->name >= s &&
		    a->name + a->name_len <= s + len, "atom %zu out of input",
		    i);
		FUZZ_CHECK(i > 0 || !a->alt, "the first atom is an alternative");
	}
	render(&d, kind, &b);
	rc = deps_parse(&d2, kind, kind_names[kind], b.p ? b.p : "", b.len,
	    &err);
	FUZZ_CHECK(rc == 0 && d2.n == d.n, "rendered '%s' does not parse back "
	    "(%s)", b.p ? b.p : "", rc ? err.msg : "count");
	for (i = 0; i < d.n; i++)
		FUZZ_CHECK(atoms_equal(&d.v[i], &d2.v[i]), "atom %zu differs "
		    "after a round trip of '%s'", i, b.p);
	buf_release(&b);
	deps_release(&d);
	deps_release(&d2);
}

static void
fuzz_closure(const struct pkgset *ps, unsigned nroots)
{
	static const char *const archs[] = { "amd64", "arm64" };
	const char *roots[31];
	char *names[31];
	struct closure_opts o;
	struct closure_result r;
	struct merr err = { 0 };
	size_t n = 0, i, len;
	int rc;

	for (i = 0; i < pkgset_count(ps) && n < nroots; i++) {
		const char *s = pkgset_field(ps, (uint32_t)i, PF_PACKAGE, &len);

		names[n] = xstrndup(s, len);
		roots[n] = names[n];
		n++;
	}
	memset(&o, 0, sizeof(o));
	o.archs = archs;
	o.narchs = 2;
	o.recommends = nroots & 1;
	o.unsatisfied_warn = nroots & 2;
	o.sources = true;
	o.build_depends = true;
	rc = closure_include(ps, &o, roots, n, NULL, 0, &r, &err);
	FUZZ_CHECK(rc == 0 || rc == MERR_NOTFOUND || rc == MERR_PARSE ||
	    rc == MERR_INVAL, "closure rc %d: %s", rc, err.msg);
	FUZZ_CHECK(r.n == pkgset_count(ps), "result of %zu for %zu packages",
	    r.n, pkgset_count(ps));
	closure_result_release(&r);
	for (i = 0; i < n; i++)
		free(names[i]);
}

/* [s, s+len) as a read-only mapping of a memfd, or NULL. */
static void *
fuzz_map(const char *s, size_t len)
{
	int fd = memfd_create("fuzz_pkgset", MFD_CLOEXEC);
	void *m;

	FUZZ_CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	FUZZ_CHECK(write(fd, s, len) == (ssize_t)len, "write to memfd");
	m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	FUZZ_CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	return m;
}

static void
fuzz_index(bool sources, bool mapped, unsigned nroots, const char *s,
    size_t len)
{
	struct pkgset *ps = pkgset_new();
	struct merr err = { 0 };
	const struct pkgset_index *ix;
	const char *path = sources ? "main/source/Sources" :
	    "main/binary-amd64/Packages";
	enum index_kind kind = sources ? INDEX_SOURCES : INDEX_PACKAGES;
	uint32_t id, q;
	size_t i, flen;
	int rc;

	if (mapped && len > 0)
		rc = pkgset_add_index_mapped(ps, "sid", path, kind, 0,
		    fuzz_map(s, len), len, NULL, &err);
	else
		rc = pkgset_add_index(ps, "sid", path, kind, 0,
		    xstrndup(s, len), len, NULL, &err);
	if (rc) {
		FUZZ_CHECK(rc == MERR_PARSE && pkgset_count(ps) == 0 &&
		    pkgset_nindices(ps) == 0, "rc %d", rc);
		FUZZ_CHECK(str_startswith(err.msg, "index 'sid main/"), "%s",
		    err.msg);
		pkgset_free(ps);
		return;
	}
	ix = pkgset_index(ps, 0);
	for (id = 0; id < pkgset_count(ps); id++) {
		const struct pkg *p = pkgset_pkg(ps, id);
		const char *para = ix->text + p->off, *f;

		FUZZ_CHECK(p->off + (size_t)p->len <= ix->len && p->len > 0,
		    "paragraph %u outside the text", id);
		FUZZ_CHECK(para[0] != ' ' && para[0] != '\t' &&
		    para[p->len - 1] != '\n', "paragraph %u bounds", id);
		for (i = 0; i < PF_COUNT; i++) {
			f = pkgset_field(ps, id, (enum pkg_field)i, &flen);
			if (i == PF_PACKAGE)	/* the set's copy of it */
				FUZZ_CHECK(f != NULL && memmem(para, p->len, f,
				    flen) != NULL, "name of %u not in it", id);
			else
				FUZZ_CHECK(f == NULL || (f >= para && f + flen
				    <= para + p->len), "field %zu of %u "
				    "outside it", i, id);
		}
		f = pkgset_field(ps, id, PF_PACKAGE, &flen);
		for (q = pkgset_first(ps, pkgset_lookup(ps, f, flen));
		    q != PKG_NONE && q != id; q = pkgset_pkg(ps, q)->next)
			;
		FUZZ_CHECK(q == id, "package %u not found by its name", id);
	}
	if (nroots)
		fuzz_closure(ps, nroots);
	pkgset_free(ps);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	unsigned mode;

	if (size == 0)
		return 0;
	mode = data[0];
	if ((mode & 3) == 3)
		fuzz_index(mode & 4, mode & 128, (mode >> 3) & 15, s,
		    size - 1);
	else
		fuzz_deps((enum deps_kind)(mode & 3), s, size - 1);
	return 0;
}
