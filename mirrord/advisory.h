/*
 * advisory.h: security advisory feeds — which CVEs (and advisories) a
 * pending fix closes, for `mirrord exposure` (exposure.h).
 *
 * Two feeds, in the formats their publishers serve:
 *   - Debian's security tracker JSON (the tracker's /tracker/data/json):
 *     { source: { "CVE-…": { "releases": { codename: { "status",
 *     "fixed_version", "urgency" } } } } };
 *   - Ubuntu's OSV records (the USN-….json files of osv/usn, one record
 *     a file): "id" (USN-…), "upstream"/"related" CVE IDs,
 *     "affected"[].package
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

/* A feed file larger than this is refused (MERR_LIMIT) before reading. */
#define ADVISORY_MAX_FILE (512u << 20)
/* Nesting deeper than this is not JSON we read (the feeds need 7). */
#define ADVISORY_MAX_DEPTH 32
/* A kept string (ID, version, urgency, name) longer than this: MERR_PARSE. */
#define ADVISORY_MAX_FIELD 256
/* An OSV folder with more *.json files than this: MERR_LIMIT. */
#define ADVISORY_MAX_RECORDS 1000000u

/* An empty database (owned: advisory_db_free). */
struct advisory_db *advisory_db_new(void);
void advisory_db_free(struct advisory_db *db);

/* How many advisories db holds (one per release, source, ID, version). */
size_t advisory_db_count(const struct advisory_db *db);

/*
 * Loads the tracker JSON file at path, keeping only the entries of the
 * given releases (codenames, n of them): an entry whose status is
 * "resolved" with a fixed_version other than "0" (which says the release
 * was never affected); its ID and only CVE is the tracker's key (TEMP-…
 * names are kept as IDs with no CVE). The file must be a regular file
 * (after symbolic links): a FIFO or a device is MERR_IO. Its text is read
 * 64 KiB at a time and one source's tree at a time: the peak is that
 * tree and the entries kept (a 126 MB file, bookworm kept: 14 MB peak
 * and 1.8 s; json-c's tree of the whole file would be 2 GB). A source
 * named twice counts twice; within a source, of keys named twice the
 * last counts (json-c's rule).
 * Errors: MERR_IO (cannot open or read, not a regular file), MERR_LIMIT
 * (over ADVISORY_MAX_FILE, checked before reading), MERR_PARSE (not JSON,
 * nesting over ADVISORY_MAX_DEPTH, or a field of the wrong type: "'PATH':
 * source 'openssl', CVE-2026-1: 'releases' is not an object"). Type
 * errors are checked for the members read: every source and CVE, their
 * "releases", and the fields of the releases asked for.
 */
int advisory_load_tracker(struct advisory_db *db, const char *path,
    const char *const *codenames, size_t n, struct merr *err);

/*
 * Checks that data (len bytes, the body of a download) is a tracker file
 * advisory_load_tracker() would read, keeping nothing; name is for
 * messages. Errors: MERR_PARSE as advisory_load_tracker.
 */
int advisory_check_tracker_mem(const char *name, const char *data,
    size_t len, struct merr *err);

/*
 * Loads every *.json file under dir (not recursive; names starting with
 * '.' and other files are skipped), keeping the affected entries of the
 * given ecosystems: each "fixed" event of an ECOSYSTEM range is one
 * advisory with the record's id, the CVE IDs of its id, "upstream",
 * "related" and "aliases" (UBUNTU-CVE-… read as CVE-…), and as urgency
 * the affected entry's ecosystem_specific.ubuntu_priority, else the
 * record's severity[] score of type "Ubuntu". A record with "withdrawn"
 * is skipped. Each file is parsed and freed in turn. Errors as
 * advisory_load_tracker, naming the file and record ("'DIR/USN-1-1.json':
 * record USN-1-1, affected[0]: 'name' is not a string"); MERR_LIMIT for
 * over ADVISORY_MAX_RECORDS files.
 */
int advisory_load_osv(struct advisory_db *db, const char *dir,
    const char *const *ecosystems, size_t n, struct merr *err);

/*
 * The advisories of source in rel that a machine at version installed
 * lacks and one at fixed has: those whose fixed version v has
 * installed < v <= fixed (dpkg's order; installed NULL: every v <=
 * fixed). *out gets an owned array of pointers into db (free the array
 * only; NULL when none), ordered by id, then fixed version; returns
 * how many. An advisory both feeds give appears once per feed.
 */
size_t advisory_find(const struct advisory_db *db,
    const struct advisory_release *rel, const char *source,
    const char *installed, const char *fixed,
    const struct advisory ***out);

#endif
