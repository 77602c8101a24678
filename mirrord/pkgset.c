/*
 * pkgset.c: indices in memory, as offsets into their texts.
 *
 * Loading scans each line once (memchr for its end and its ':'), records
 * the offsets of the fields resolution needs and interns the package's
 * name, and each name it provides, in the one hash table (open
 * addressing, FNV-1a, grown at half full). Nothing per field is
 * allocated.
 */
#include "mirrord/common.h"

#include <sys/mman.h>

#include <unistd.h>

#include "mirrord/pkgset.h"
#include "mirrord/util.h"

/*
 * A name: a copy in the set's arena (lookups never touch index texts,
 * which may be mappings given back while loading); its two lists.
 */
struct pkgname {
	uint32_t s;			/* offset in the arena */
	uint32_t len, hash;
	uint32_t first, last;		/* packages of that name */
	uint32_t prov_first, prov_last;	/* pkg_provide records */
};

struct pkgset {
	struct pkgset_index *idx;
	size_t nidx;
	struct pkg *pkgs;
	size_t npkgs, cappkgs;
	struct pkgname *names;
	size_t nnames, capnames;
	uint32_t *slots;	/* name id + 1; 0 empty */
	size_t nslots;
	struct pkg_provide *provs;
	size_t nprovs, capprovs;
	struct buf arena;	/* the names */
	struct deps scratch;	/* Provides and Source parsing */
	size_t window;		/* giving back: a page, or the fault-around */
};

/* A mapped index's pages are given back by this much (pkgset_scan). */
#define PKGSET_GIVE_BACK	(1u << 20)
/*
 * Linux's fault_around_bytes (mm/memory.c; 64 KiB by default): a read
 * fault on a file mapping maps the pages of the aligned window around
 * it that the page cache holds.
 */
#define PKGSET_FAULT_AROUND	(64u << 10)

/* Fields read as values at the paragraph's end, after enum pkg_field. */
enum { PF_MULTIARCH = PF_COUNT, PF_PRIORITY, PF_ESSENTIAL, PF_ALL };

/* A paragraph being read: its fields and where it started. */
struct para {
	struct pkg_str f[PF_ALL];
	bool seen[PF_ALL];
	size_t line;		/* of its first field, for messages */
	size_t start;		/* its offset */
	struct pkg_str *cur;	/* the field continuation lines extend */
	struct pkg_str sink;	/* cur for a field not kept */
};

struct pkgset *
pkgset_new(void)
{
	struct pkgset *ps = xcalloc(1, sizeof(*ps));
	long page = sysconf(_SC_PAGESIZE);

	deps_init(&ps->scratch);
	buf_init(&ps->arena);
	ps->window = page > PKGSET_FAULT_AROUND ? (size_t)page :
	    PKGSET_FAULT_AROUND;
	return ps;
}

/* Frees an index's strings and text (or unmaps it). */
static void
pkgset_index_release(struct pkgset_index *ix)
{
	free(ix->suite);
	free(ix->path);
	if (ix->mapped)
		munmap(ix->text, ix->len);
	else
		free(ix->text);
}

void
pkgset_free(struct pkgset *ps)
{
	size_t i;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->nidx; i++)
		pkgset_index_release(&ps->idx[i]);
	free(ps->idx);
	free(ps->pkgs);
	free(ps->names);
	free(ps->slots);
	free(ps->provs);
	buf_release(&ps->arena);
	deps_release(&ps->scratch);
	free(ps);
}

static uint32_t
pkgset_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* The slot of name [s, s+len): holding it, or the empty one for it. */
static uint32_t *
pkgset_slot(const struct pkgset *ps, const char *s, size_t len, uint32_t h)
{
	size_t mask = ps->nslots - 1, i = h & mask;

	for (;; i = (i + 1) & mask) {
		const struct pkgname *n;

		if (ps->slots[i] == 0)
			return &ps->slots[i];
		n = &ps->names[ps->slots[i] - 1];
		if (n->hash == h && n->len == len &&
		    memcmp(ps->arena.p + n->s, s, len) == 0)
			return &ps->slots[i];
	}
}

/* The slots again, for nslots of them (grown, or after an unwind). */
static void
pkgset_rehash(struct pkgset *ps, size_t nslots)
{
	size_t i;

	free(ps->slots);
	ps->nslots = nslots;
	ps->slots = xcalloc(ps->nslots, sizeof(*ps->slots));
	for (i = 0; i < ps->nnames; i++)
		*pkgset_slot(ps, ps->arena.p + ps->names[i].s,
		    ps->names[i].len, ps->names[i].hash) = (uint32_t)i + 1;
}

/* The id of name [s, s+len), added (copied) if new. */
static uint32_t
pkgset_intern(struct pkgset *ps, const char *s, size_t len)
{
	uint32_t h = pkgset_hash(s, len), *slot;
	struct pkgname *n;

	if (2 * (ps->nnames + 1) > ps->nslots)
		pkgset_rehash(ps, ps->nslots ? ps->nslots * 2 : 1024);
	slot = pkgset_slot(ps, s, len, h);
	if (*slot)
		return *slot - 1;
	if (ps->nnames == ps->capnames) {
		ps->capnames = ps->capnames ? ps->capnames * 2 : 1024;
		ps->names = xreallocarray(ps->names, ps->capnames,
		    sizeof(*ps->names));
	}
	if (ps->arena.len + len >= UINT32_MAX)
		util_oom();	/* 4 GiB of distinct names */
	n = &ps->names[ps->nnames];
	n->s = (uint32_t)ps->arena.len;
	buf_add(&ps->arena, s, len);
	n->len = (uint32_t)len;
	n->hash = h;
	n->first = n->last = n->prov_first = n->prov_last = PKG_NONE;
	*slot = (uint32_t)++ps->nnames;
	return *slot - 1;
}

uint32_t
pkgset_lookup(const struct pkgset *ps, const char *name, size_t len)
{
	uint32_t *slot;

	if (ps->nslots == 0)
		return PKG_NONE;
	slot = pkgset_slot(ps, name, len, pkgset_hash(name, len));
	return *slot ? *slot - 1 : PKG_NONE;
}

/* Which field a line's name is, for kind; -1 for one not kept. */
static int
pkgset_which(const char *n, size_t l, enum index_kind kind)
{
#define F(name, f, kinds) { name, sizeof(name) - 1, f, kinds }
	static const struct {
		const char *name;
		size_t len;
		int f;
		int kinds;	/* 1 Packages, 2 Sources */
	} t[] = {
		F("Package", PF_PACKAGE, 3), F("Version", PF_VERSION, 3),
		F("Architecture", PF_ARCH, 3), F("Source", PF_SOURCE, 1),
		F("Section", PF_SECTION, 3), F("Depends", PF_DEPENDS, 1),
		F("Pre-Depends", PF_PRE_DEPENDS, 1),
		F("Recommends", PF_RECOMMENDS, 1),
		F("Provides", PF_PROVIDES, 1),
		F("Conflicts", PF_CONFLICTS, 1), F("Breaks", PF_BREAKS, 1),
		F("Build-Depends", PF_DEPENDS, 2),
		F("Build-Depends-Indep", PF_PRE_DEPENDS, 2),
		F("Build-Depends-Arch", PF_RECOMMENDS, 2),
		/* Not offsets, but parsed at the paragraph's end. */
		F("Multi-Arch", PF_MULTIARCH, 1),
		F("Priority", PF_PRIORITY, 3),
		F("Essential", PF_ESSENTIAL, 1),
	};
#undef F
	size_t i;
	int k = kind == INDEX_PACKAGES ? 1 : 2;

	/* Most lines are other fields: the length rules them out first. */
	for (i = 0; i < ARRAY_SIZE(t); i++)
		if (t[i].len == l && (t[i].kinds & k) &&
		    str_ieq(n, l, t[i].name))
			return t[i].f;
	return -1;
}

/* "index 'suite path': line N: " before err's message; returns its code. */
static int
pkgset_fail(const char *suite, const char *path, size_t line,
    struct merr *err)
{
	return merr_prefix(err, "index '%s %s': line %zu: ", suite, path,
	    line);
}

static bool
pkgset_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Trims trailing blanks (newlines of continuations too) from s. */
static void
pkgset_trim(const char *text, struct pkg_str *s)
{
	while (s->len && (pkgset_blank(text[s->off + s->len - 1]) ||
	    text[s->off + s->len - 1] == '\n'))
		s->len--;
}

static struct pkg_str
pkgset_span(const char *text, const char *p, size_t len)
{
	struct pkg_str s = { (uint32_t)(p - text), (uint32_t)len };

	return s;
}

/*
 * Source: "name" or "name (version)", parsed into the PF_SOURCE and
 * PF_SOURCE_VERSION spans; without Source:, the package's own.
 */
static int
pkgset_source(struct pkgset *ps, const char *text, struct pkg *p,
    struct merr *err)
{
	const struct pkg_str src = p->f[PF_SOURCE];
	const struct dep_atom *a;
	int rc;

	if (src.len == 0) {
		p->f[PF_SOURCE] = p->f[PF_PACKAGE];
		p->f[PF_SOURCE_VERSION] = p->f[PF_VERSION];
		return 0;
	}
	rc = deps_parse(&ps->scratch, DEPS_SOURCE, "Source", text + src.off,
	    src.len, err);
	if (rc)
		return rc;
	a = &ps->scratch.v[0];
	p->f[PF_SOURCE] = pkgset_span(text, a->name, a->name_len);
	p->f[PF_SOURCE_VERSION] = a->ver ? pkgset_span(text, a->ver,
	    a->ver_len) : p->f[PF_VERSION];
	return 0;
}

static uint8_t
pkgset_priority(const char *s, size_t len)
{
	static const char *const names[] = { "required", "important",
	    "standard", "optional", "extra" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (str_ieq(s, len, names[i]) && strlen(names[i]) == len)
			return (uint8_t)(PRIO_REQUIRED + i);
	return PRIO_NONE;
}

/* Appends package id (named) to its name's list. */
static void
pkgset_link_pkg(struct pkgset *ps, uint32_t id)
{
	struct pkgname *n = &ps->names[ps->pkgs[id].name];

	if (n->last == PKG_NONE)
		n->first = id;
	else
		ps->pkgs[n->last].next = id;
	n->last = id;
}

/* Appends provide record i to its name's list of providers. */
static void
pkgset_link_prov(struct pkgset *ps, uint32_t i)
{
	struct pkgname *n = &ps->names[ps->provs[i].name];

	if (n->prov_last == PKG_NONE)
		n->prov_first = i;
	else
		ps->provs[n->prov_last].next = i;
	n->prov_last = i;
}

/*
 * Names package id and indexes what it provides (the atoms of its
 * Provides, parsed into ps->scratch).
 */
static void
pkgset_link_one(struct pkgset *ps, uint32_t id, const char *text)
{
	struct pkg *p = &ps->pkgs[id];
	size_t i;

	p->name = pkgset_intern(ps, text + p->f[PF_PACKAGE].off,
	    p->f[PF_PACKAGE].len);
	pkgset_link_pkg(ps, id);
	for (i = 0; i < ps->scratch.n; i++) {
		const struct dep_atom *a = &ps->scratch.v[i];
		struct pkg_provide *v;

		if (ps->nprovs == ps->capprovs) {
			ps->capprovs = ps->capprovs ? ps->capprovs * 2 : 1024;
			ps->provs = xreallocarray(ps->provs, ps->capprovs,
			    sizeof(*ps->provs));
		}
		v = &ps->provs[ps->nprovs];
		v->pkg = id;
		v->next = PKG_NONE;
		v->name = pkgset_intern(ps, a->name, a->name_len);
		v->version = a->ver ? pkgset_span(text, a->ver, a->ver_len) :
		    pkgset_span(text, text, 0);
		pkgset_link_prov(ps, (uint32_t)ps->nprovs++);
	}
}

/* The paragraph read into pa becomes a package, named and linked. */
static int
pkgset_para_end(struct pkgset *ps, const struct pkgset_index *ix,
    uint32_t index, struct para *pa, size_t end, struct merr *err)
{
	static const char *const need[] = { "Package", "Version",
	    "Architecture" };
	const char *text = ix->text;
	struct pkg *p;
	struct pkg q;
	size_t i, nneed = ix->kind == INDEX_PACKAGES ? 3 : 2;
	enum multiarch ma = MA_NO;
	int rc;

	for (i = 0; i < nneed; i++)
		if (pa->f[i].len == 0)
			return merr_set(err, MERR_PARSE, "paragraph without "
			    "%s", need[i]);
	if (ps->npkgs >= PKG_NONE - 1)
		return merr_set(err, MERR_LIMIT, "too many packages");
	if (pa->f[PF_MULTIARCH].len && (rc = deps_parse_multiarch(text +
	    pa->f[PF_MULTIARCH].off, pa->f[PF_MULTIARCH].len, &ma, err)))
		return rc;
	memset(&q, 0, sizeof(q));
	memcpy(q.f, pa->f, sizeof(q.f));
	if ((rc = pkgset_source(ps, text, &q, err)))
		return rc;
	/* Last: its atoms stay in ps->scratch for pkgset_link_one. */
	ps->scratch.n = 0;
	if (pa->f[PF_PROVIDES].len && (rc = deps_parse(&ps->scratch,
	    DEPS_PROVIDES, "Provides", text + pa->f[PF_PROVIDES].off,
	    pa->f[PF_PROVIDES].len, err)))
		return rc;
	if (ps->npkgs == ps->cappkgs) {
		ps->cappkgs = ps->cappkgs ? ps->cappkgs * 2 : 4096;
		ps->pkgs = xreallocarray(ps->pkgs, ps->cappkgs,
		    sizeof(*ps->pkgs));
	}
	p = &ps->pkgs[ps->npkgs];
	*p = q;
	p->index = index;
	p->off = (uint32_t)pa->start;
	p->len = (uint32_t)(end - pa->start);
	p->name = p->next = PKG_NONE;
	p->multiarch = (uint8_t)ma;
	p->priority = pkgset_priority(text + pa->f[PF_PRIORITY].off,
	    pa->f[PF_PRIORITY].len);
	p->essential = str_ieq(text + pa->f[PF_ESSENTIAL].off,
	    pa->f[PF_ESSENTIAL].len, "yes") && pa->f[PF_ESSENTIAL].len == 3;
	pkgset_link_one(ps, (uint32_t)ps->npkgs++, text);
	return 0;
}

/* One field line "Name: value" at [ls, ls+ll), offset off. */
static int
pkgset_field_line(const struct pkgset_index *ix, struct para *pa,
    const char *ls, size_t ll, struct merr *err)
{
	const char *colon = memchr(ls, ':', ll), *v;
	int f;

	if (colon == NULL || colon == ls)
		return merr_set(err, MERR_PARSE, "a line without a field name "
		    "and ':'");
	f = pkgset_which(ls, (size_t)(colon - ls), ix->kind);
	if (f < 0) {
		pa->cur = &pa->sink;
		return 0;
	}
	if (pa->seen[f])
		return merr_set(err, MERR_PARSE, "duplicate field '%.*s'",
		    (int)(colon - ls), ls);
	pa->seen[f] = true;
	v = colon + 1;
	while (v < ls + ll && pkgset_blank(*v))
		v++;
	pa->f[f] = pkgset_span(ix->text, v, (size_t)(ls + ll - v));
	pkgset_trim(ix->text, &pa->f[f]);
	pa->cur = &pa->f[f];
	return 0;
}

/* Reads ix's text into packages; on error, *line is where. */
static int
pkgset_scan(struct pkgset *ps, const struct pkgset_index *ix,
    uint32_t index, size_t *line, struct merr *err)
{
	const char *text = ix->text;
	size_t off = 0, len = ix->len, pend = 0, given = 0;
	struct para pa;
	bool in_para = false;
	int rc;

	memset(&pa, 0, sizeof(pa));
	*line = 0;
	while (off < len) {
		/*
		 * A mapping's pages behind us go back every MiB: the
		 * fields read later fault them in again from the page cache,
		 * and a large index never stays resident whole. Only up to
		 * the paragraph being read (its fields are read again at
		 * its end), rounded down to the kernel's fault-around
		 * window: a fault maps the aligned window around the page it
		 * needs, so a boundary inside one would bring the tail of
		 * what was given back in again, at every MiB (measured:
		 * 3.2 MB of bookworm's Packages stayed resident so).
		 */
		if (ix->mapped && off - given >= PKGSET_GIVE_BACK) {
			size_t upto = in_para ? pa.start : off;

			upto -= upto % ps->window;
			if (upto > given) {
				madvise((char *)text + given, upto - given,
				    MADV_DONTNEED);
				given = upto;
			}
		}
		const char *ls = text + off, *nl = memchr(ls, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - ls) : len - off, i = 0;

		++*line;
		while (i < ll && pkgset_blank(ls[i]))
			i++;
		if (i == ll) {
			/* A blank line ends the paragraph, if any. */
			if (in_para && (rc = pkgset_para_end(ps, ix, index,
			    &pa, pend, err))) {
				*line = pa.line;
				return rc;
			}
			in_para = false;
			memset(&pa, 0, sizeof(pa));
		} else if (i > 0) {
			if (!in_para)
				return merr_set(err, MERR_PARSE, "a "
				    "continuation line outside a paragraph");
			pa.cur->len = (uint32_t)(off + ll - pa.cur->off);
			pkgset_trim(text, pa.cur);
			pend = off + ll;
		} else {
			if (!in_para) {
				in_para = true;
				pa.start = off;
				pa.line = *line;
			}
			if ((rc = pkgset_field_line(ix, &pa, ls, ll, err)))
				return rc;
			pend = off + ll;
		}
		off += ll + (nl != NULL);
	}
	if (in_para && (rc = pkgset_para_end(ps, ix, index, &pa, pend, err))) {
		*line = pa.line;
		return rc;
	}
	return 0;
}

/*
 * Undoes a failed load: the packages from first on, the provides and
 * names added since (the lists of older names relinked from scratch:
 * O(set), on this error path only).
 */
static void
pkgset_unwind(struct pkgset *ps, size_t first, size_t nprovs, size_t nnames,
    size_t arena)
{
	size_t i;

	ps->npkgs = first;
	ps->nprovs = nprovs;
	ps->nnames = nnames;
	ps->arena.len = arena;
	pkgset_rehash(ps, ps->nslots);
	for (i = 0; i < nnames; i++)
		ps->names[i].first = ps->names[i].last =
		    ps->names[i].prov_first = ps->names[i].prov_last =
		    PKG_NONE;
	for (i = 0; i < first; i++) {
		ps->pkgs[i].next = PKG_NONE;
		pkgset_link_pkg(ps, (uint32_t)i);
	}
	for (i = 0; i < nprovs; i++) {
		ps->provs[i].next = PKG_NONE;
		pkgset_link_prov(ps, (uint32_t)i);
	}
}

/* pkgset_add_index and pkgset_add_index_mapped. */
static int
pkgset_add(struct pkgset *ps, const char *suite, const char *path,
    enum index_kind kind, int layer, char *text, size_t len, bool mapped,
    uint32_t *id, struct merr *err)
{
	struct pkgset_index *ix;
	size_t first = ps->npkgs, nprovs = ps->nprovs, nnames = ps->nnames;
	size_t arena = ps->arena.len, line;
	int rc;

	ps->idx = xreallocarray(ps->idx, ps->nidx + 1, sizeof(*ps->idx));
	ix = &ps->idx[ps->nidx];
	memset(ix, 0, sizeof(*ix));
	ix->suite = xstrdup(suite);
	ix->path = xstrdup(path);
	ix->kind = kind;
	ix->layer = layer;
	ix->text = text;
	ix->len = len;
	ix->mapped = mapped;
	ix->first = (uint32_t)first;
	if (len >= UINT32_MAX) {
		pkgset_index_release(ix);
		return merr_set(err, MERR_LIMIT, "index '%s %s': %zu bytes, "
		    "over 4 GiB", suite, path, len);
	}
	rc = pkgset_scan(ps, ix, (uint32_t)ps->nidx, &line, err);
	if (rc) {
		pkgset_fail(suite, path, line, err);
		pkgset_unwind(ps, first, nprovs, nnames, arena);
		pkgset_index_release(ix);
		return rc;
	}
	ix->count = (uint32_t)(ps->npkgs - first);
	if (mapped)
		madvise(text, len, MADV_DONTNEED);	/* all of it now */
	if (id)
		*id = (uint32_t)ps->nidx;
	ps->nidx++;
	return 0;
}

int
pkgset_add_index(struct pkgset *ps, const char *suite, const char *path,
    enum index_kind kind, int layer, char *text, size_t len, uint32_t *id,
    struct merr *err)
{
	return pkgset_add(ps, suite, path, kind, layer, text, len, false, id,
	    err);
}

int
pkgset_add_index_mapped(struct pkgset *ps, const char *suite,
    const char *path, enum index_kind kind, int layer, const char *text,
    size_t len, uint32_t *id, struct merr *err)
{
	return pkgset_add(ps, suite, path, kind, layer, (char *)text, len,
	    true, id, err);
}

void
pkgset_give_back(const struct pkgset *ps)
{
	size_t i;

	for (i = 0; i < ps->nidx; i++)
		if (ps->idx[i].mapped)
			madvise(ps->idx[i].text, ps->idx[i].len,
			    MADV_DONTNEED);
}

size_t
pkgset_count(const struct pkgset *ps)
{
	return ps->npkgs;
}

size_t
pkgset_nindices(const struct pkgset *ps)
{
	return ps->nidx;
}

size_t
pkgset_nnames(const struct pkgset *ps)
{
	return ps->nnames;
}

const struct pkg *
pkgset_pkg(const struct pkgset *ps, uint32_t id)
{
	return &ps->pkgs[id];
}

const struct pkgset_index *
pkgset_index(const struct pkgset *ps, uint32_t i)
{
	return &ps->idx[i];
}

/*
 * A field not kept in the record: the paragraph scanned for it, line by
 * line as pkgset_scan() reads (it was valid then), continuation lines
 * included, blanks trimmed.
 */
static struct pkg_str
pkgset_lazy(const struct pkgset *ps, const struct pkg *p, enum pkg_field f)
{
	const struct pkgset_index *ix = &ps->idx[p->index];
	const char *text = ix->text, *end = text + p->off + p->len;
	const char *ls = text + p->off, *colon, *v;
	struct pkg_str out = { 0, 0 };
	bool in = false;

	while (ls < end) {
		const char *nl = memchr(ls, '\n', (size_t)(end - ls));
		const char *le = nl ? nl : end;

		if (*ls == ' ' || *ls == '\t') {
			if (in)
				out.len = (uint32_t)(le - text - out.off);
		} else if (in) {
			break;
		} else if ((colon = memchr(ls, ':', (size_t)(le - ls))) &&
		    pkgset_which(ls, (size_t)(colon - ls), ix->kind) ==
		    (int)f) {
			for (v = colon + 1; v < le && pkgset_blank(*v); v++)
				;
			out = pkgset_span(text, v, (size_t)(le - v));
			in = true;
		}
		ls = le + 1;
	}
	pkgset_trim(text, &out);
	return out;
}

const char *
pkgset_field(const struct pkgset *ps, uint32_t id, enum pkg_field f,
    size_t *len)
{
	const struct pkg *p = &ps->pkgs[id];
	struct pkg_str v;

	if (f == PF_PACKAGE)	/* the copy: no page of the text touched */
		return pkgset_name(ps, p->name, len);
	v = f < PF_STORED ? p->f[f] : pkgset_lazy(ps, p, f);
	*len = v.len;
	return v.len ? ps->idx[p->index].text + v.off : NULL;
}

const char *
pkgset_para(const struct pkgset *ps, uint32_t id, size_t *len)
{
	const struct pkg *p = &ps->pkgs[id];

	*len = p->len;
	return ps->idx[p->index].text + p->off;
}

const char *
pkgset_name(const struct pkgset *ps, uint32_t name, size_t *len)
{
	*len = ps->names[name].len;
	return ps->arena.p + ps->names[name].s;
}

uint32_t
pkgset_first(const struct pkgset *ps, uint32_t name)
{
	return name < ps->nnames ? ps->names[name].first : PKG_NONE;
}

uint32_t
pkgset_first_provider(const struct pkgset *ps, uint32_t name)
{
	return name < ps->nnames ? ps->names[name].prov_first : PKG_NONE;
}

const struct pkg_provide *
pkgset_provide(const struct pkgset *ps, uint32_t i)
{
	return &ps->provs[i];
}
