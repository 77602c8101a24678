/*
 * advisory.h: security advisory feeds — which CVEs (and advisories) a
 * pending fix closes, for `mirrord exposure` (exposure.h).
 *
 * Two feeds, in the formats their publishers serve:
 *   - Debian's security tracker JSON (the tracker's /tracker/data/json):
 *     { source: { "CVE-…": { "releases": { codename: { "status",
 *     "fixed_version", "urgency" } } } } };
 *   - Ubuntu's OSV records (osv/usn/*.json, one record a file): "id"
 *     (USN-…), "upstream"/"related" CVE IDs, "affected"[].package
 *     .{ecosystem, name} (name = the source), .ranges[].events[].fixed,
 *     and a priority where the record gives one.
 * Only the releases asked for are kept: the tracker's file is tens of MB
 * and names every release since squeeze.
 *
 * This file owns json-c (tests/layering.sh). Every byte of a feed is
 * hostile: a malformed feed is MERR_PARSE naming the file and the field
 * (and the source or record), and the database is then as before the
 * call. A struct advisory_db is the caller's (advisory_db_free); once
 * loaded it is read-only, and any number of threads may query it.
 */
#ifndef MIRRORD_ADVISORY_H
#define MIRRORD_ADVISORY_H

#include "mirrord/common.h"

/* What one feed says one fixed version closes. */
struct advisory {
	char *id;		/* "USN-6000-1", "DSA-5500-1", else the CVE */
	char **cves;		/* the CVE IDs it fixes, sorted */
	size_t ncves;
	char *urgency;		/* "high", "medium", "low", "unimportant"...:
				 * as the feed spells it; NULL if none */
	char *fixed;		/* the fixed version in that release */
};

/*
 * A release, as the feeds name it: codename for the tracker ("bookworm":
 * a suite's Codename: with any "-security" suffix removed), ecosystem
 * prefix for OSV ("Ubuntu:22.04": "Ubuntu:" + the Release's Version:;
 * an OSV ecosystem matches when it is the prefix or starts with it and
 * ':'). Either may be NULL: that feed is not asked.
 */
struct advisory_release {
	const char *codename;
	const char *osv_ecosystem;
};

struct advisory_db;

/* An empty database (owned: advisory_db_free). */
struct advisory_db *advisory_db_new(void);
void advisory_db_free(struct advisory_db *db);

/*
 * Loads the tracker JSON file at path, keeping only the entries of the
 * given releases (codenames, n of them). Errors: MERR_IO (cannot read),
 * MERR_LIMIT (over 512 MiB), MERR_PARSE (not JSON, or a field of the
 * wrong type: "'PATH': source 'openssl', CVE-2026-1: 'releases' is not
 * an object").
 */
int advisory_load_tracker(struct advisory_db *db, const char *path,
    const char *const *codenames, size_t n, struct merr *err);

/*
 * Loads every *.json file under dir (not recursive; other files are
 * skipped), keeping the affected entries of the given ecosystems.
 * Errors as advisory_load_tracker, naming the file and record.
 */
int advisory_load_osv(struct advisory_db *db, const char *dir,
    const char *const *ecosystems, size_t n, struct merr *err);

/*
 * The advisories of source in rel that a machine at version installed
 * lacks and one at fixed has: those whose fixed version v has
 * installed < v <= fixed (dpkg's order; installed NULL: every v <=
 * fixed). *out gets an owned array of pointers into db (free the array
 * only), ordered by id; returns how many.
 */
size_t advisory_find(const struct advisory_db *db,
    const struct advisory_release *rel, const char *source,
    const char *installed, const char *fixed,
    const struct advisory ***out);

#endif
