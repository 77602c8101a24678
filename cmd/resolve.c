/*
 * resolve.c: `mirrord resolve`: the dependency closure of selectors over
 * Packages (and Sources) files, as a partial mirror would hold it.
 *
 *   mirrord resolve --packages FILE [--packages FILE]... [--sources FILE]...
 *       [--arch ARCH]... [--recommends] [--exclude SEL]... [--why]
 *       SELECTOR...
 *
 * The files are read whole (plain, .gz or .xz) into a pkgset, resolved
 * with closure_include() and the selection printed sorted, one
 * "name version arch" a line (Sources: "name version source").
 *
 * The form against a stored snapshot, `mirrord resolve MIRROR REF
 * SELECTOR...`, is told apart by the absence of --packages: the first
 * two words are then MIRROR and REF (the row is CMD_NOCONF: that form
 * loads the configuration itself, load_conf()), the indices are the
 * snapshot's (compose_load) and the architectures the mirror's.
 */
#include "mirrord/common.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include "mirrord/channel.h"
#include "mirrord/closure.h"
#include "mirrord/compose.h"
#include "mirrord/decomp.h"
#include "mirrord/fmt.h"
#include "mirrord/log.h"
#include "mirrord/pkgset.h"
#include "mirrord/store.h"
#include "cmd/cmd.h"

/* The options, as indexed in the command's row (main.c). */
enum { RO_PACKAGES, RO_SOURCES, RO_ARCH, RO_RECOMMENDS, RO_EXCLUDE, RO_WHY };

/* Decompressed indices are capped as the sync caps them. */
#define RESOLVE_MAX_INDEX	(1ull << 30)

/*
 * Reads path whole, decompressed per its suffix, into *text (owned). A
 * plain regular file is mapped instead (*mapped set): the pkgset then
 * gives its pages back as it loads them (pkgset_add_index_mapped), so
 * that a 50 MB index is not resident whole.
 */
static int
resolve_read(const char *path, char **text, size_t *len, bool *mapped,
    struct merr *err)
{
	struct stat st;
	void *m;
	int fd, rc;

	*mapped = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return merr_errno(err, "cannot open '%s'", path);
	if (comp_from_name(path) == COMP_NONE && fstat(fd, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size < RESOLVE_MAX_INDEX) {
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd,
		    0);
		if (m != MAP_FAILED) {
			close(fd);
			*text = m;
			*len = (size_t)st.st_size;
			*mapped = true;
			return 0;
		}
	}
	rc = decomp_read_all(fd, comp_from_name(path), RESOLVE_MAX_INDEX,
	    path, text, len, err);
	close(fd);
	return rc;
}

/*
 * The suite and the index path of a file, from its name when it tells
 * them: apt's lists ("..._dists_bookworm_main_binary-amd64_Packages")
 * or an archive's tree (".../dists/bookworm/main/binary-amd64/Packages");
 * else the file's name for both.
 */
static void
resolve_where(const char *file, char **suite, char **path)
{
	const char *base = strrchr(file, '/'), *d;
	size_t sl;

	base = base ? base + 1 : file;
	*suite = NULL;
	if ((d = strstr(base, "_dists_")) != NULL) {
		d += 7;
		sl = strcspn(d, "_");
		if (d[sl] == '_') {
			char *p = xstrdup(d + sl + 1), *c;

			for (c = p; *c; c++)
				if (*c == '_')
					*c = '/';
			*suite = xstrndup(d, sl);
			*path = p;
		}
	} else if ((d = strstr(file, "/dists/")) != NULL) {
		d += 7;
		sl = strcspn(d, "/");
		if (d[sl] == '/') {
			*suite = xstrndup(d, sl);
			*path = xstrdup(d + sl + 1);
		}
	}
	if (*suite == NULL) {
		*suite = xstrdup(base);
		*path = xstrdup(base);
	}
	(*path)[comp_strip(*path)] = '\0';
}

static int
resolve_load(struct pkgset *ps, const char *file, enum index_kind kind,
    struct merr *err)
{
	char *text = NULL, *suite, *path;
	bool mapped;
	size_t len = 0;
	int rc;

	rc = resolve_read(file, &text, &len, &mapped, err);
	if (rc)
		return rc;
	resolve_where(file, &suite, &path);
	if (mapped)
		rc = pkgset_add_index_mapped(ps, suite, path, kind, 0, text,
		    len, NULL, err);
	else
		rc = pkgset_add_index(ps, suite, path, kind, 0, text, len,
		    NULL, err);
	free(suite);
	free(path);
	return rc;
}

/* The architectures: --arch, else those the index paths name. */
static char **
resolve_archs(const struct pkgset *ps, const struct args *a, size_t *n)
{
	char **v = NULL;
	size_t i, j, k;
	bool given;

	*n = 0;
	for (i = 0; i < a->nval[RO_ARCH]; i++) {
		const char *s = a->val[RO_ARCH][i];

		/* A comma list too, as `sources --arch` takes. */
		while (*s) {
			k = strcspn(s, ",");
			if (k) {
				v = xreallocarray(v, *n + 1, sizeof(*v));
				v[(*n)++] = xstrndup(s, k);
			}
			s += k + (s[k] == ',');
		}
	}
	given = *n > 0;
	for (i = 0; !given && i < pkgset_nindices(ps); i++) {
		const char *p = strstr(pkgset_index(ps, (uint32_t)i)->path,
		    "binary-");
		bool dup = false;

		if (p == NULL)
			continue;
		p += 7;
		k = strcspn(p, "/");
		for (j = 0; j < *n && !dup; j++)
			dup = strlen(v[j]) == k && memcmp(v[j], p, k) == 0;
		if (!dup) {
			v = xreallocarray(v, *n + 1, sizeof(*v));
			v[(*n)++] = xstrndup(p, k);
		}
	}
	if (*n == 0) {
		v = xcalloc(1, sizeof(*v));
		v[(*n)++] = xstrdup("amd64");
	}
	return v;
}

/* Orders ids by name, architecture, version; equal ones by id. */
static int
resolve_cmp(const void *x, const void *y, void *ctx)
{
	const struct pkgset *ps = ctx;
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	static const enum pkg_field order[] = { PF_PACKAGE, PF_ARCH };
	size_t i, al, bl;
	int c;

	for (i = 0; i < ARRAY_SIZE(order); i++) {
		const char *as = pkgset_field(ps, a, order[i], &al);
		const char *bs = pkgset_field(ps, b, order[i], &bl);

		c = memcmp(as, bs, al < bl ? al : bl);
		if (c == 0 && al != bl)
			c = al < bl ? -1 : 1;
		if (c)
			return c;
	}
	{
		const char *av = pkgset_field(ps, a, PF_VERSION, &al);
		const char *bv = pkgset_field(ps, b, PF_VERSION, &bl);

		c = version_cmp_n(av, al, bv, bl);
	}
	return c ? c : a < b ? -1 : a > b;
}

/* A field as a NUL-terminated copy (for printing and JSON). */
static char *
resolve_str(const struct pkgset *ps, uint32_t id, enum pkg_field f)
{
	size_t len;
	const char *s = pkgset_field(ps, id, f, &len);

	return xstrndup(s ? s : "", len);
}

/*
 * Why id was selected, in words: "selected nginx", "needed-by libc6"...
 * sel: the selectors, as closure_include() had them.
 */
static char *
resolve_why(const struct pkgset *ps, const struct closure_result *r,
    char *const *sel, uint32_t id)
{
	const struct closure_why *w = &r->why[id];
	char *n, *s;

	switch (w->kind) {
	case CLOSURE_ROOT:
		return xasprintf("selected %s", sel[w->from]);
	case CLOSURE_NEEDED:
	case CLOSURE_SOURCE:
		n = resolve_str(ps, w->from, PF_PACKAGE);
		s = xasprintf("%s %s", w->kind == CLOSURE_NEEDED ?
		    "needed-by" : "source-of", n);
		free(n);
		return s;
	default:
		return xstrdup("");
	}
}

/* Prints one selected package: text or a JSON object. */
static void
resolve_print_one(struct cli *cli, const struct pkgset *ps,
    const struct closure_result *r, const struct args *a, char *const *sel,
    uint32_t id, bool first)
{
	bool src = pkgset_index(ps, pkgset_pkg(ps, id)->index)->kind ==
	    INDEX_SOURCES;
	char *name = resolve_str(ps, id, PF_PACKAGE);
	char *ver = resolve_str(ps, id, PF_VERSION);
	char *arch = src ? xstrdup("source") : resolve_str(ps, id, PF_ARCH);
	char *why = resolve_why(ps, r, sel, id);

	if (cli->json) {
		printf("%s{\"package\":", first ? "" : ",");
		fmt_json_str(stdout, name);
		printf(",\"version\":");
		fmt_json_str(stdout, ver);
		printf(",\"arch\":");
		fmt_json_str(stdout, arch);
		printf(",\"why\":");
		fmt_json_str(stdout, why);
		putchar('}');
	} else if (a->nval[RO_WHY])
		printf("%s %s %s %s\n", name, ver, arch, why);
	else
		printf("%s %s %s\n", name, ver, arch);
	free(name);
	free(ver);
	free(arch);
	free(why);
}

/* Whether a and b are the same package (of two indices). */
static bool
resolve_same(const struct pkgset *ps, uint32_t a, uint32_t b)
{
	static const enum pkg_field f[] = { PF_PACKAGE, PF_ARCH, PF_VERSION };
	size_t i, al, bl;

	if (pkgset_index(ps, pkgset_pkg(ps, a)->index)->kind !=
	    pkgset_index(ps, pkgset_pkg(ps, b)->index)->kind)
		return false;
	for (i = 0; i < ARRAY_SIZE(f); i++) {
		const char *as = pkgset_field(ps, a, f[i], &al);
		const char *bs = pkgset_field(ps, b, f[i], &bl);

		if (al != bl || memcmp(as, bs, al) != 0)
			return false;
	}
	return true;
}

/* The selection, sorted; a package found in two indices printed once. */
static void
resolve_print(struct cli *cli, const struct pkgset *ps,
    const struct closure_result *r, const struct args *a, char *const *sel)
{
	uint32_t *ids = xcalloc(r->n ? r->n : 1, sizeof(*ids));
	size_t n = 0, i, shown = 0;
	uint32_t id;

	for (id = 0; id < r->n; id++)
		if (r->why[id].kind != CLOSURE_NO)
			ids[n++] = id;
	pkgset_give_back(ps);	/* what the closure read */
	qsort_r(ids, n, sizeof(*ids), resolve_cmp, (void *)ps);
	if (cli->json)
		putchar('[');
	for (i = 0; i < n; i++) {
		/* Each package read faults a window of a mapped index in. */
		if (i % 32 == 31)
			pkgset_give_back(ps);
		if (i > 0 && resolve_same(ps, ids[i - 1], ids[i]))
			continue;
		resolve_print_one(cli, ps, r, a, sel, ids[i], shown++ == 0);
	}
	if (cli->json)
		printf("]\n");
	free(ids);
}

/*
 * The stored form: REF's snapshot of MIRROR (argv[0], argv[1]) into ps;
 * *m the mirror's configuration.
 */
static int
resolve_stored(struct cli *cli, const struct args *a, struct pkgset *ps,
    const struct conf_mirror **m, struct merr *err)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct channel ch;
	struct snap sn;
	int rc;

	if (load_conf(cli) || check_mirror(cli, a->argv[0]))
		return merr_set(err, MERR_CONF, "no such mirror");
	*m = conf_mirror(cli->conf, a->argv[0]);
	if (open_store(cli, false, &s))
		return merr_set(err, MERR_STORE, "cannot open the store");
	rc = store_txn_begin(s, false, &t, err);
	if (rc == 0)
		rc = channel_resolve(t, a->argv[0], a->argv[1], &sn, &ch, err);
	if (t)
		store_txn_abort(t);
	if (rc == 0) {
		const struct snap *one = &sn;

		channel_free(&ch);
		/* A partial mirror resolves against what upstream had. */
		if (sn.kind != SNAP_PARTIAL)
			rc = compose_load(s, &one, 1, ps, err);
		else {
			compose_upstream_view(&sn);
			rc = compose_load_files(s, sn.suites, sn.nsuites, ps,
			    err);
		}
		snap_release(&sn);
	}
	store_close(s);
	return rc;
}

int
run_resolve(struct cli *cli, const struct args *a)
{
	const struct conf_mirror *m = NULL;
	struct closure_opts o;
	struct closure_result r;
	struct merr err = { 0 };
	struct pkgset *ps;
	char **archs = NULL, **sel = a->argv;
	size_t narchs = 0, nsel = (size_t)a->argc, i;
	int rc = 0;

	if (a->nval[RO_PACKAGES] == 0 && a->argc < 3) {
		log_error("resolve: want --packages FILE..., or MIRROR REF, "
		    "then SELECTOR...");
		usage(stderr);
		return 2;
	}
	memset(&r, 0, sizeof(r));
	ps = pkgset_new();
	if (a->nval[RO_PACKAGES] == 0) {
		rc = resolve_stored(cli, a, ps, &m, &err);
		sel += 2;
		nsel -= 2;
	}
	for (i = 0; i < a->nval[RO_PACKAGES] && rc == 0; i++)
		rc = resolve_load(ps, a->val[RO_PACKAGES][i], INDEX_PACKAGES,
		    &err);
	for (i = 0; i < a->nval[RO_SOURCES] && rc == 0; i++)
		rc = resolve_load(ps, a->val[RO_SOURCES][i], INDEX_SOURCES,
		    &err);
	if (rc == 0) {
		if (m && a->nval[RO_ARCH] == 0) {
			archs = xcalloc(m->narches + 1, sizeof(*archs));
			for (narchs = 0; narchs < m->narches; narchs++)
				archs[narchs] = xstrdup(m->arches[narchs]);
		} else
			archs = resolve_archs(ps, a, &narchs);
		memset(&o, 0, sizeof(o));
		o.archs = (const char *const *)archs;
		o.narchs = narchs;
		o.recommends = a->nval[RO_RECOMMENDS] > 0 ||
		    (m && m->include_recommends);
		o.sources = a->nval[RO_SOURCES] > 0;
		rc = closure_include(ps, &o, (const char *const *)sel, nsel,
		    (const char *const *)a->val[RO_EXCLUDE],
		    a->nval[RO_EXCLUDE], &r, &err);
	}
	for (i = 0; i < r.nwarnings; i++)
		log_warn("%s", r.warnings[i]);
	if (rc)
		log_error("resolve: %s", err.msg);
	else
		resolve_print(cli, ps, &r, a, sel);
	closure_result_release(&r);
	strv_free(archs, narchs);
	pkgset_free(ps);
	return rc ? 1 : 0;
}
