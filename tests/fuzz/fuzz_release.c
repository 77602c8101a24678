/*
 * fuzz_release.c: Release parsing and file selection (sync/release.h).
 *
 * The input is the signed text of a Release file. When release_parse()
 * accepts it:
 *  - Date is present and parses; every file path is canonical (path_check
 *    and fuzz_path_ok), and release_find() finds a file of that path;
 *  - release_select() for a few fixed mirrors returns strictly increasing
 *    indices into files, valid kinds, and only what the mirror asked for:
 *    a Packages index is "<component>/binary-<arch>/Packages[.ext]" of a
 *    wanted architecture (or "all" without No-Support-for-Architecture-
 *    all), a Sources index "<component>/source/Sources[.ext]" of a deb-src
 *    mirror, a pdiff Index ends in ".diff/Index", and every path starts
 *    with a configured component (or is a top-level Contents-*);
 *  - selection is monotone: a mirror wanting more (types, architectures,
 *    components) selects a superset, with the same kinds.
 * A refusal must leave r zeroed (nothing to free) and set a message.
 */
#include "mirrord/common.h"

#include "mirrord/decomp.h"
#include "mirrord/path.h"
#include "sync/release.h"
#include "tests/fuzz/fuzz.h"

static char *comps_small[] = { "main" };
static char *comps_big[] = { "main", "contrib", "non-free" };
static char *arches_small[] = { "amd64" };
static char *arches_big[] = { "amd64", "arm64", "i386" };

/* Mirrors from least to most wanting; each selects a superset of the
 * one before. */
static const struct conf_mirror mirrors[] = {
	{ .name = "none", .components = comps_small, .ncomponents = 1 },
	{ .name = "src", .deb_src = true, .components = comps_small,
	  .ncomponents = 1 },
	{ .name = "deb", .deb = true, .components = comps_small,
	  .ncomponents = 1, .arches = arches_small, .narches = 1 },
	{ .name = "both", .deb = true, .deb_src = true,
	  .components = comps_small, .ncomponents = 1,
	  .arches = arches_small, .narches = 1 },
	{ .name = "all", .deb = true, .deb_src = true,
	  .components = comps_big, .ncomponents = 3,
	  .arches = arches_big, .narches = 3 },
};

static bool
in(char *const *list, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return true;
	return false;
}

/* Is name "<base>" or "<base>.<something>" with a known compression? */
static bool
is_index_name(const char *name, const char *base)
{
	size_t n = strlen(base);

	return strncmp(name, base, n) == 0 && comp_strip(name) == n;
}

static void
check_selected(const struct release *r, const struct conf_mirror *m,
    const char *path, enum sel_kind k)
{
	const char *slash = strchr(path, '/');

	if (slash == NULL) {
		FUZZ_CHECK(strncmp(path, "Contents-", 9) == 0,
		    "top-level '%s' selected", path);
		FUZZ_CHECK(k == SEL_OTHER, "top-level '%s' kind %d", path, k);
		return;
	}
	FUZZ_CHECK(in(m->components, m->ncomponents, path,
	    (size_t)(slash - path)), "'%s' of an unwanted component", path);
	switch (k) {
	case SEL_PACKAGES: {
		const char *a = slash + 1, *e;

		FUZZ_CHECK(m->deb, "Packages '%s' for a mirror without deb",
		    path);
		FUZZ_CHECK(strncmp(a, "binary-", 7) == 0, "Packages '%s'",
		    path);
		a += 7;
		e = strchr(a, '/');
		FUZZ_CHECK(e != NULL && is_index_name(e + 1, "Packages"),
		    "Packages '%s' misnamed", path);
		FUZZ_CHECK(in(m->arches, m->narches, a, (size_t)(e - a)) ||
		    ((size_t)(e - a) == 3 && memcmp(a, "all", 3) == 0 &&
		    !r->no_arch_all), "Packages '%s' of an unwanted arch",
		    path);
		break;
	}
	case SEL_SOURCES:
		FUZZ_CHECK(m->deb_src, "Sources '%s' for a mirror without "
		    "deb-src", path);
		FUZZ_CHECK(strncmp(slash + 1, "source/", 7) == 0 &&
		    is_index_name(slash + 8, "Sources"), "Sources '%s'",
		    path);
		break;
	case SEL_PDIFF:
		FUZZ_CHECK(str_endswith(path, ".diff/Index"), "pdiff '%s'",
		    path);
		break;
	case SEL_OTHER:
		break;
	default:
		FUZZ_CHECK(0, "kind %d for '%s'", (int)k, path);
	}
	if (strstr(path, "/binary-") == slash)
		FUZZ_CHECK(m->deb, "'%s' for a mirror without deb", path);
	if (strncmp(slash, "/source/", 8) == 0)
		FUZZ_CHECK(m->deb_src, "'%s' for a mirror without deb-src",
		    path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct release r;
	struct merr err = { 0, "" };
	size_t *idx[ARRAY_SIZE(mirrors)], n[ARRAY_SIZE(mirrors)], i, j, k;
	enum sel_kind *kinds[ARRAY_SIZE(mirrors)];
	int rc;

	rc = release_parse((const char *)data, size, "fuzz", &r, &err);
	if (rc != 0) {
		FUZZ_CHECK(rc == MERR_PARSE || rc == MERR_LIMIT,
		    "release_parse: %d %s", rc, err.msg);
		FUZZ_CHECK(err.code == rc && err.msg[0] != '\0', "bad err");
		FUZZ_CHECK(r.files == NULL && r.nfiles == 0 &&
		    r.suite == NULL && r.codename == NULL &&
		    r.date_str == NULL, "refused release not cleared");
		return 0;
	}
	FUZZ_CHECK(r.date_str != NULL, "no date_str");
	{
		int64_t d;

		FUZZ_CHECK(release_parse_date(r.date_str, &d) == 0 &&
		    d == r.date, "Date does not parse again");
	}
	for (i = 0; i < r.nfiles; i++) {
		const struct release_file *f = &r.files[i], *g;

		FUZZ_CHECK(fuzz_path_ok(f->path, strlen(f->path)) &&
		    path_check(f->path, strlen(f->path), NULL) == 0,
		    "unsafe path '%s'", f->path);
		FUZZ_CHECK(f->size <= UINT64_MAX / 2, "size");
		g = release_find(&r, f->path);
		FUZZ_CHECK(g != NULL && g <= f && strcmp(g->path, f->path) == 0,
		    "release_find('%s')", f->path);
	}

	for (i = 0; i < ARRAY_SIZE(mirrors); i++) {
		release_select(&r, &mirrors[i], &idx[i], &kinds[i], &n[i]);
		FUZZ_CHECK(n[i] <= r.nfiles, "selected more than listed");
		for (j = 0; j < n[i]; j++) {
			FUZZ_CHECK(idx[i][j] < r.nfiles, "index out of range");
			FUZZ_CHECK(j == 0 || idx[i][j] > idx[i][j - 1],
			    "indices not increasing");
			check_selected(&r, &mirrors[i],
			    r.files[idx[i][j]].path, kinds[i][j]);
		}
	}
	/* Monotone: each mirror's selection is within the next one's. */
	for (i = 0; i + 1 < ARRAY_SIZE(mirrors); i++) {
		/* "src" and "deb" are not ordered; both are within "both". */
		size_t next = i == 1 ? 3 : i + 1;

		for (j = 0, k = 0; j < n[i]; j++) {
			while (k < n[next] && idx[next][k] < idx[i][j])
				k++;
			FUZZ_CHECK(k < n[next] && idx[next][k] == idx[i][j],
			    "'%s' selected by '%s' but not by '%s'",
			    r.files[idx[i][j]].path, mirrors[i].name,
			    mirrors[next].name);
			FUZZ_CHECK(kinds[next][k] == kinds[i][j],
			    "'%s' changes kind", r.files[idx[i][j]].path);
		}
	}
	for (i = 0; i < ARRAY_SIZE(mirrors); i++) {
		free(idx[i]);
		free(kinds[i]);
	}
	release_free(&r);
	return 0;
}
