/*
 * release.c: the verified text of a Release file, and the choice of which
 * of its files a mirror copies.
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/deb822.h"
#include "mirrord/decomp.h"
#include "mirrord/path.h"
#include "sync/release.h"

#define RELEASE_MAX_PARA (64u << 20)

void
release_free(struct release *r)
{
	size_t i;

	for (i = 0; i < r->nfiles; i++)
		free(r->files[i].path);
	free(r->files);
	free(r->suite);
	free(r->codename);
	free(r->date_str);
	memset(r, 0, sizeof(*r));
}

int
release_parse_date(const char *s, int64_t *out)
{
	struct tm tm;
	const char *p;
	long off = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	while (*s == ' ')
		s++;
	/* The weekday is optional in RFC 2822. */
	p = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm);
	if (p == NULL) {
		memset(&tm, 0, sizeof(tm));
		p = strptime(s, "%d %b %Y %H:%M:%S", &tm);
	}
	if (p == NULL)
		return MERR_PARSE;
	while (*p == ' ')
		p++;
	if (strcmp(p, "UTC") == 0 || strcmp(p, "GMT") == 0 ||
	    strcmp(p, "Z") == 0 || *p == '\0') {
		off = 0;
	} else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 5 &&
	    strspn(p + 1, "0123456789") == 4) {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
		    ((p[3] - '0') * 10 + (p[4] - '0')) * 60;
		if (p[0] == '-')
			off = -off;
	} else {
		return MERR_PARSE;
	}
	t = timegm(&tm);
	if (t == (time_t)-1)
		return MERR_PARSE;
	*out = (int64_t)t - off;
	return 0;
}

static char *
field_dup(const struct deb822_para *para, const char *name)
{
	size_t len;
	const char *v = deb822_get(para, name, &len);

	return v ? xstrndup(v, len) : NULL;
}

/* Parses the lines of the SHA256 field: " hex size path". */
static int
release_parse_sums(struct release *r, const char *v, size_t len,
    const char *name, struct merr *err)
{
	const char *p = v, *end = v + len;
	size_t cap = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *f[3], *fe[3];
		struct release_file *rf;
		size_t nf = 0;
		const char *q = p;

		while (q < le && nf < 3) {
			while (q < le && (*q == ' ' || *q == '\t'))
				q++;
			if (q == le)
				break;
			f[nf] = q;
			while (q < le && *q != ' ' && *q != '\t')
				q++;
			fe[nf++] = q;
		}
		while (q < le && (*q == ' ' || *q == '\t'))
			q++;
		p = nl ? nl + 1 : end;
		if (nf == 0)
			continue;
		if (nf != 3 || q != le)
			return merr_set(err, MERR_PARSE,
			    "'%s': malformed SHA256 line", name);
		if (r->nfiles == cap) {
			cap = cap ? cap * 2 : 64;
			r->files = xreallocarray(r->files, cap,
			    sizeof(*r->files));
		}
		rf = &r->files[r->nfiles];
		if (hash_from_hex(f[0], (size_t)(fe[0] - f[0]), rf->sha256) ||
		    parse_u64(f[1], (size_t)(fe[1] - f[1]), UINT64_MAX / 2,
		    &rf->size))
			return merr_set(err, MERR_PARSE,
			    "'%s': malformed SHA256 line", name);
		if (path_check(f[2], (size_t)(fe[2] - f[2]), err))
			return merr_prefix(err, "'%s': ", name);
		rf->path = xstrndup(f[2], (size_t)(fe[2] - f[2]));
		r->nfiles++;
	}
	return 0;
}

int
release_parse(const char *text, size_t len, const char *name,
    struct release *r, struct merr *err)
{
	struct deb822 *p;
	struct deb822_para *para;
	const char *v;
	size_t vlen;
	int rc;

	memset(r, 0, sizeof(*r));
	p = deb822_new_mem(text, len, name, RELEASE_MAX_PARA);
	rc = deb822_next(p, &para, err);
	if (rc == 0)
		rc = merr_set(err, MERR_PARSE, "'%s': empty", name);
	if (rc < 0)
		goto out;
	rc = 0;
	r->suite = field_dup(para, "Suite");
	r->codename = field_dup(para, "Codename");
	r->date_str = field_dup(para, "Date");
	if (r->date_str == NULL) {
		rc = merr_set(err, MERR_PARSE, "'%s': no Date field", name);
		goto out;
	}
	if (release_parse_date(r->date_str, &r->date)) {
		rc = merr_set(err, MERR_PARSE, "'%s': bad Date '%s'", name,
		    r->date_str);
		goto out;
	}
	v = deb822_get(para, "Valid-Until", NULL);
	if (v && release_parse_date(v, &r->valid_until)) {
		rc = merr_set(err, MERR_PARSE, "'%s': bad Valid-Until '%s'",
		    name, v);
		goto out;
	}
	v = deb822_get(para, "Acquire-By-Hash", &vlen);
	r->by_hash = v && str_ieq(v, vlen, "yes");
	v = deb822_get(para, "No-Support-for-Architecture-all", &vlen);
	r->no_arch_all = v && str_ieq(v, vlen, "Packages");
	v = deb822_get(para, "SHA256", &vlen);
	if (v == NULL) {
		rc = merr_set(err, MERR_PARSE, "'%s': no SHA256 field", name);
		goto out;
	}
	rc = release_parse_sums(r, v, vlen, name, err);
out:
	deb822_free(p);
	if (rc)
		release_free(r);
	return rc;
}

const struct release_file *
release_find(const struct release *r, const char *path)
{
	size_t i;

	for (i = 0; i < r->nfiles; i++)
		if (strcmp(r->files[i].path, path) == 0)
			return &r->files[i];
	return NULL;
}

static bool
in_list(char *const *list, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return true;
	return false;
}

/* Is arch (len bytes) one this mirror copies, counting "all"? */
static bool
want_arch(const struct release *r, const struct conf_mirror *m,
    const char *arch, size_t len)
{
	if (!m->deb)
		return false;
	if (len == 3 && memcmp(arch, "all", 3) == 0)
		return !r->no_arch_all;
	return in_list(m->arches, m->narches, arch, len);
}

/*
 * "Contents-amd64.gz" and friends: the architecture follows the prefix and
 * ends at '.' or the end of the name.
 */
static bool
want_contents(const struct release *r, const struct conf_mirror *m,
    const char *name)
{
	const char *a = name + strlen("Contents-"), *e = strchr(a, '.');
	size_t len = e ? (size_t)(e - a) : strlen(a);

	if (len == 6 && memcmp(a, "source", 6) == 0)
		return m->deb_src;
	/*
	 * No-Support-for-Architecture-all speaks of Packages only: apt-file
	 * still reads Contents-all (apt checks it per index type).
	 */
	if (len == 3 && memcmp(a, "all", 3) == 0)
		return m->deb;
	return want_arch(r, m, a, len);
}

/* Files whose name carries an architecture as "<prefix>ARCH.<ext>". */
static bool
want_arch_named(const struct release *r, const struct conf_mirror *m,
    const char *name, const char *prefix)
{
	const char *a, *e;

	if (!str_startswith(name, prefix))
		return true;	/* not architecture-specific, such as icons */
	a = name + strlen(prefix);
	e = strchr(a, '.');
	return want_arch(r, m, a, e ? (size_t)(e - a) : strlen(a));
}

static enum sel_kind
kind_of(const char *name)
{
	size_t n = comp_strip(name);

	if (str_endswith(name, ".diff/Index"))
		return SEL_PDIFF;
	if (n == 8 && memcmp(name, "Packages", 8) == 0)
		return SEL_PACKAGES;
	if (n == 7 && memcmp(name, "Sources", 7) == 0)
		return SEL_SOURCES;
	return SEL_OTHER;
}

/* Decides for one path; returns false to skip it. */
static bool
select_one(const struct release *r, const struct conf_mirror *m,
    const char *path, enum sel_kind *kind)
{
	const char *slash = strchr(path, '/'), *rest, *sub;
	enum sel_kind k;

	*kind = SEL_OTHER;
	if (slash == NULL)	/* top-level Contents-ARCH (older layout) */
		return str_startswith(path, "Contents-") &&
		    want_contents(r, m, path);
	if (!in_list(m->components, m->ncomponents, path,
	    (size_t)(slash - path)))
		return false;
	rest = slash + 1;
	if (str_startswith(rest, "binary-")) {
		const char *a = rest + strlen("binary-");

		sub = strchr(a, '/');
		if (sub == NULL || !want_arch(r, m, a, (size_t)(sub - a)))
			return false;
		k = kind_of(sub + 1);
		*kind = k == SEL_SOURCES ? SEL_OTHER : k;
		return true;
	}
	if (str_startswith(rest, "source/")) {
		if (!m->deb_src)
			return false;
		k = kind_of(rest + strlen("source/"));
		*kind = k == SEL_PACKAGES ? SEL_OTHER : k;
		return true;
	}
	if (str_startswith(rest, "i18n/")) {
		*kind = kind_of(rest) == SEL_PDIFF ? SEL_PDIFF : SEL_OTHER;
		return true;
	}
	if (str_startswith(rest, "Contents-")) {
		if (!want_contents(r, m, rest))
			return false;
		*kind = kind_of(rest) == SEL_PDIFF ? SEL_PDIFF : SEL_OTHER;
		return true;
	}
	if (str_startswith(rest, "dep11/")) {
		sub = rest + strlen("dep11/");
		return want_arch_named(r, m, sub, "Components-") &&
		    want_arch_named(r, m, sub, "CID-Index-");
	}
	if (str_startswith(rest, "cnf/"))
		return want_arch_named(r, m, rest + strlen("cnf/"),
		    "Commands-");
	return false;
}

void
release_select(const struct release *r, const struct conf_mirror *m,
    size_t **idx, enum sel_kind **kinds, size_t *n)
{
	size_t i;

	*idx = xcalloc(r->nfiles, sizeof(**idx));
	*kinds = xcalloc(r->nfiles, sizeof(**kinds));
	*n = 0;
	for (i = 0; i < r->nfiles; i++) {
		enum sel_kind k;

		if (!select_one(r, m, r->files[i].path, &k))
			continue;
		(*idx)[*n] = i;
		(*kinds)[*n] = k;
		(*n)++;
	}
}

/* Whether one of the n paths is "<comp>/<sub>..." (sub may be ""). */
static bool
have_path(const char *const *paths, size_t n, const char *comp,
    const char *sub)
{
	size_t cl = strlen(comp), sl = strlen(sub), i;

	for (i = 0; i < n; i++)
		if (strncmp(paths[i], comp, cl) == 0 && paths[i][cl] == '/' &&
		    strncmp(paths[i] + cl + 1, sub, sl) == 0)
			return true;
	return false;
}

void
release_missing(const char *const *paths, size_t n,
    const struct conf_mirror *m, struct buf *out)
{
	struct buf sub = BUF_INIT;
	size_t i, j;

	for (i = 0; i < m->ncomponents; i++) {
		const char *c = m->components[i];

		if (!have_path(paths, n, c, "")) {
			buf_addf(out, "component '%s' is not in its "
			    "Release\n", c);
			continue;
		}
		for (j = 0; m->deb && j < m->narches; j++) {
			buf_reset(&sub);
			buf_addf(&sub, "binary-%s/Packages", m->arches[j]);
			if (strcmp(m->arches[j], "all") != 0 &&
			    !have_path(paths, n, c, sub.p))
				buf_addf(out, "component '%s' has no "
				    "architecture '%s' in its Release\n", c,
				    m->arches[j]);
		}
		if (m->deb_src && !have_path(paths, n, c, "source/Sources"))
			buf_addf(out, "component '%s' has no Sources in its "
			    "Release (Types: deb-src)\n", c);
	}
	buf_release(&sub);
}
