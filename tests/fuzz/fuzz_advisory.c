/*
 * fuzz_advisory.c: the advisory feeds (mirrord/advisory.h) on hostile
 * bytes: the input is written once as a tracker file and once as the one
 * record of an OSV folder (a temp directory made at start-up), and both
 * are loaded into a database that already holds one advisory, and given
 * to advisory_check_tracker_mem().
 *
 * On success: every advisory of bookworm (tracker) and Ubuntu:22.04 (OSV)
 * that advisory_find() gives is ordered by ID, has a fixed version within
 * the range asked and no more than ADVISORY_MAX_FIELD bytes, and CVE
 * lists are sorted, unique, all "CVE-…". On failure: MERR_PARSE (the file
 * is regular and under the cap), a printable message naming the file,
 * and the database exactly as before (the one advisory, and only it).
 * A tracker the loader accepts, advisory_check_tracker_mem() accepts too.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <ftw.h>

#include "mirrord/advisory.h"
#include "mirrord/version.h"
#include "tests/fuzz/fuzz.h"

static char dir[64];
static char *tracker_path, *osv_dir, *osv_path, *seed_path;

static const char seed[] = "{\"seed\": {\"CVE-2000-1\": {\"releases\": "
    "{\"bookworm\": {\"status\": \"resolved\", \"fixed_version\": \"1\"}}}}}";

static const char *const codenames[] = { "bookworm", "trixie" };
static const char *const ecosystems[] = { "Ubuntu:22.04", "Ubuntu:24.04" };

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
fixture_free(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tracker_path);
	free(osv_dir);
	free(osv_path);
	free(seed_path);
}

static void
put(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "w");

	FUZZ_CHECK(f != NULL, "cannot write '%s'", path);
	FUZZ_CHECK(len == 0 || fwrite(p, 1, len, f) == len, "fwrite");
	FUZZ_CHECK(fclose(f) == 0, "fclose");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(dir, sizeof(dir), "/tmp/mirrord-fuzz-advisory-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	tracker_path = xasprintf("%s/tracker.json", dir);
	seed_path = xasprintf("%s/seed.json", dir);
	osv_dir = xasprintf("%s/osv", dir);
	osv_path = xasprintf("%s/osv/USN-1-1.json", dir);
	FUZZ_CHECK(mkdir(osv_dir, 0700) == 0, "mkdir '%s'", osv_dir);
	put(seed_path, seed, strlen(seed));
	atexit(fixture_free);
	return 0;
}

/* What a find gives must be what advisory.h promises. */
static void
check_found(const struct advisory *const *v, size_t n, const char *inst,
    const char *fixed)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		FUZZ_CHECK(v[i]->id != NULL && v[i]->fixed != NULL, "fields");
		FUZZ_CHECK(strlen(v[i]->fixed) <= ADVISORY_MAX_FIELD &&
		    strlen(v[i]->id) <= ADVISORY_MAX_FIELD, "long field");
		FUZZ_CHECK(version_cmp(v[i]->fixed, fixed) <= 0, "over fixed");
		FUZZ_CHECK(inst == NULL || version_cmp(inst, v[i]->fixed) < 0,
		    "not over installed");
		FUZZ_CHECK(i == 0 || strcmp(v[i - 1]->id, v[i]->id) <= 0,
		    "not ordered by id");
		for (j = 0; j < v[i]->ncves; j++) {
			FUZZ_CHECK(str_startswith(v[i]->cves[j], "CVE-"),
			    "cve '%s'", v[i]->cves[j]);
			FUZZ_CHECK(j == 0 || strcmp(v[i]->cves[j - 1],
			    v[i]->cves[j]) < 0, "cves not sorted, unique");
		}
	}
}

/* A few queries: the sources a small input is likely to name. */
static void
queries(const struct advisory_db *db)
{
	static const char *const sources[] = { "openssl", "a", "seed", "" };
	struct advisory_release r = { "bookworm", "Ubuntu:22.04" };
	const struct advisory **v;
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(sources); i++) {
		n = advisory_find(db, &r, sources[i], NULL, "99999", &v);
		check_found(v, n, NULL, "99999");
		free(v);
		n = advisory_find(db, &r, sources[i], "1", "2", &v);
		check_found(v, n, "1", "2");
		free(v);
	}
}

static void
check_failed(int rc, const struct merr *err, const char *path,
    const struct advisory_db *db)
{
	const struct advisory **v;
	struct advisory_release r = { "bookworm", NULL };
	size_t n;

	FUZZ_CHECK(rc == MERR_PARSE, "rc %d: %s", rc, err->msg);
	FUZZ_CHECK(fuzz_msg_ok(err), "message");
	FUZZ_CHECK(strstr(err->msg, path) != NULL, "'%s' unnamed", path);
	FUZZ_CHECK(advisory_db_count(db) == 1, "db changed: %zu",
	    advisory_db_count(db));
	n = advisory_find(db, &r, "seed", NULL, "1", &v);
	FUZZ_CHECK(n == 1 && strcmp(v[0]->id, "CVE-2000-1") == 0, "seed");
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct merr err = { 0, "" }, merr = { 0, "" };
	struct advisory_db *db = advisory_db_new();
	int rc, mrc;

	rc = advisory_load_tracker(db, seed_path, codenames, 1, &err);
	FUZZ_CHECK(rc == 0, "seed: %s", err.msg);
	put(tracker_path, data, size);
	put(osv_path, data, size);

	rc = advisory_load_tracker(db, tracker_path, codenames,
	    ARRAY_SIZE(codenames), &err);
	mrc = advisory_check_tracker_mem("mem", (const char *)data, size,
	    &merr);
	if (rc == 0)
		FUZZ_CHECK(mrc == 0, "check_mem refused what loads: %s",
		    merr.msg);
	else
		check_failed(rc, &err, tracker_path, db);
	queries(db);
	advisory_db_free(db);

	db = advisory_db_new();
	rc = advisory_load_tracker(db, seed_path, codenames, 1, &err);
	FUZZ_CHECK(rc == 0, "seed: %s", err.msg);
	rc = advisory_load_osv(db, osv_dir, ecosystems,
	    ARRAY_SIZE(ecosystems), &err);
	if (rc != 0)
		check_failed(rc, &err, osv_path, db);
	queries(db);
	advisory_db_free(db);
	return 0;
}
