/*
 * t_advisory.c: mirrord/advisory.c on small feed files in the real
 * formats (Debian's security tracker JSON, Ubuntu's OSV records) that the
 * test writes, then on hostile ones: each refused with a message naming
 * the file and the field, the database as it was.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include "mirrord/advisory.h"
#include "tests/unit/helpers.h"
#include "tests/unit/tap.h"

static char *tmp;

/* Writes tmp/name with text; returns its path (owned). */
static char *
t_write(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", tmp, name);
	struct merr err = { 0, "" };

	if (write_file_atomic(path, text, strlen(text), 0644, &err) != 0) {
		printf("# %s\n", err.msg);
		exit(2);
	}
	return path;
}

/* A tracker excerpt: releases resolved, open, undetermined, not affected. */
static const char tracker[] =
"{\n"
"  \"openssl\": {\n"
"    \"CVE-2026-0001\": {\n"
"      \"description\": \"a buffer overflow\", \"scope\": \"remote\",\n"
"      \"debianbug\": 1050001,\n"
"      \"releases\": {\n"
"        \"bookworm\": {\"status\": \"resolved\", \"repositories\":\n"
"          {\"bookworm\": \"3.0.11-1~deb12u1\",\n"
"           \"bookworm-security\": \"3.0.11-1~deb12u2\"},\n"
"          \"fixed_version\": \"3.0.11-1~deb12u2\", \"urgency\": \"high\"},\n"
"        \"trixie\": {\"status\": \"resolved\", \"repositories\": {},\n"
"          \"fixed_version\": \"3.1.0-1\", \"urgency\": \"high\"},\n"
"        \"bullseye\": {\"status\": \"open\", \"repositories\": {},\n"
"          \"urgency\": \"high\"}\n"
"      }\n"
"    },\n"
"    \"CVE-2026-0002\": {\"scope\": \"local\", \"releases\": {\n"
"      \"bookworm\": {\"status\": \"resolved\", \"repositories\": {},\n"
"        \"fixed_version\": \"3.0.11-1~deb12u1\", \"urgency\": \"low\"}}},\n"
"    \"CVE-2026-0003\": {\"releases\": {\n"
"      \"bookworm\": {\"status\": \"resolved\", \"repositories\": {},\n"
"        \"fixed_version\": \"0\", \"urgency\": \"unimportant\"}}},\n"
"    \"CVE-2026-0004\": {\"releases\": {\n"
"      \"bookworm\": {\"status\": \"open\", \"repositories\": {},\n"
"        \"urgency\": \"medium\"}}},\n"
"    \"CVE-2026-0005\": {\"releases\": {\n"
"      \"bookworm\": {\"status\": \"undetermined\", \"repositories\": {},\n"
"        \"urgency\": \"not yet assigned\"}}},\n"
"    \"TEMP-1050002-7A1B2C\": {\"releases\": {\n"
"      \"bookworm\": {\"status\": \"resolved\", \"repositories\": {},\n"
"        \"fixed_version\": \"3.0.11-1~deb12u2\",\n"
"        \"urgency\": \"not yet assigned\"}}},\n"
"    \"CVE-2026-0006\": {\"description\": \"no releases at all\"}\n"
"  },\n"
"  \"curl\": {\n"
"    \"CVE-2026-0100\": {\"releases\": {\n"
"      \"bookworm\": {\"status\": \"resolved\", \"repositories\": {},\n"
"        \"fixed_version\": \"7.88.1-10+deb12u5\", \"urgency\": \"medium\"},\n"
"      \"bullseye\": {\"status\": \"resolved\", \"repositories\": {},\n"
"        \"fixed_version\": \"7.74.0-1.3+deb11u12\", \"urgency\": \"medium\"}}}\n"
"  },\n"
"  \"nginx\": {}\n"
"}\n";

/* A USN for openssl in two LTS releases and the Pro one. */
static const char usn1[] =
"{\n"
"  \"schema_version\": \"1.7.0\",\n"
"  \"id\": \"USN-7000-1\",\n"
"  \"summary\": \"openssl vulnerabilities\",\n"
"  \"details\": \"...\",\n"
"  \"aliases\": [],\n"
"  \"upstream\": [\"UBUNTU-CVE-2026-0009\", \"CVE-2026-0001\"],\n"
"  \"related\": [\"CVE-2026-0001\", \"USN-6999-1\"],\n"
"  \"published\": \"2026-12-01T06:00:00Z\",\n"
"  \"affected\": [\n"
"    {\"package\": {\"ecosystem\": \"Ubuntu:22.04:LTS\", \"name\": \"openssl\",\n"
"      \"purl\": \"pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.15?arch=source\"},\n"
"     \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": [\n"
"       {\"introduced\": \"0\"}, {\"fixed\": \"3.0.2-0ubuntu1.15\"}]}],\n"
"     \"versions\": [\"3.0.2-0ubuntu1.14\"],\n"
"     \"ecosystem_specific\": {\"binaries\": [{\"binary_name\": \"libssl3\",\n"
"       \"binary_version\": \"3.0.2-0ubuntu1.15\"}],\n"
"       \"availability\": \"No subscription required\"}},\n"
"    {\"package\": {\"ecosystem\": \"Ubuntu:24.04:LTS\", \"name\": \"openssl\"},\n"
"     \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": [\n"
"       {\"introduced\": \"0\"}, {\"fixed\": \"3.0.13-0ubuntu3.2\"}]}]},\n"
"    {\"package\": {\"ecosystem\": \"Ubuntu:Pro:22.04:LTS\", \"name\": \"openssl\"},\n"
"     \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": [\n"
"       {\"introduced\": \"0\"}, {\"fixed\": \"3.0.2-0ubuntu1.99\"}]}]}\n"
"  ],\n"
"  \"severity\": [{\"type\": \"Ubuntu\", \"score\": \"high\"}]\n"
"}\n";

/* A USN for curl in jammy only, no priority; a GIT range is not read. */
static const char usn2[] =
"{\"id\": \"USN-7001-1\", \"upstream\": [\"CVE-2026-0100\"],\n"
" \"affected\": [{\"package\": {\"ecosystem\": \"Ubuntu:22.04:LTS\",\n"
"   \"name\": \"curl\"}, \"ranges\": [\n"
"   {\"type\": \"GIT\", \"events\": [{\"fixed\": \"abcdef\"}]},\n"
"   {\"type\": \"ECOSYSTEM\", \"events\": [{\"introduced\": \"0\"},\n"
"     {\"fixed\": \"7.81.0-1ubuntu1.16\"}]}]}]}\n";

/* A CVE record: the priority is in ecosystem_specific. */
static const char cverec[] =
"{\"id\": \"UBUNTU-CVE-2026-0200\", \"upstream\": [\"CVE-2026-0200\"],\n"
" \"affected\": [{\"package\": {\"ecosystem\": \"Ubuntu:22.04:LTS\",\n"
"   \"name\": \"openssl\"}, \"ranges\": [{\"type\": \"ECOSYSTEM\",\n"
"   \"events\": [{\"introduced\": \"0\"}, {\"fixed\": \"3.0.2-0ubuntu1.12\"}]}],\n"
"   \"ecosystem_specific\": {\"ubuntu_priority\": \"medium\"}}]}\n";

static const char withdrawn[] =
"{\"id\": \"USN-7002-1\", \"withdrawn\": \"2026-12-02T00:00:00Z\",\n"
" \"affected\": [{\"package\": {\"ecosystem\": \"Ubuntu:22.04:LTS\",\n"
"   \"name\": \"openssl\"}, \"ranges\": [{\"type\": \"ECOSYSTEM\",\n"
"   \"events\": [{\"fixed\": \"3.0.2-0ubuntu1.15\"}]}]}]}\n";

static const char *const bookworm[] = { "bookworm" };
static const char *const jammy[] = { "Ubuntu:22.04" };

/* The IDs of a find, joined by ' ' (owned). */
static char *
t_ids(const struct advisory *const *v, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_adds(&b, "");
	for (i = 0; i < n; i++)
		buf_addf(&b, "%s%s", i ? " " : "", v[i]->id);
	return buf_detach(&b, NULL);
}

static void
t_check_find(const struct advisory_db *db, const struct advisory_release *r,
    const char *src, const char *inst, const char *fixed, const char *want)
{
	const struct advisory **v;
	size_t n = advisory_find(db, r, src, inst, fixed, &v);
	char *ids = t_ids(v, n);

	is_str(ids, want, "find %s %s..%s: %s", src, inst ? inst : "(none)",
	    fixed, want[0] ? want : "nothing");
	free(ids);
	free(v);
}

static void
t_tracker(struct advisory_db *db)
{
	struct advisory_release bw = { "bookworm", NULL };
	struct advisory_release tx = { "trixie", NULL };
	const struct advisory **v;
	struct merr err = { 0, "" };
	char *path = t_write("tracker.json", tracker);
	size_t n;

	is_int(advisory_load_tracker(db, path, bookworm, 1, &err), 0,
	    "the tracker loads (%s)", err.msg);
	is_int(advisory_db_count(db), 4, "4 resolved, fixed, in bookworm");
	t_check_find(db, &bw, "openssl", "3.0.11-1~deb12u1",
	    "3.0.11-1~deb12u2", "CVE-2026-0001 TEMP-1050002-7A1B2C");
	t_check_find(db, &bw, "openssl", NULL, "3.0.11-1~deb12u2",
	    "CVE-2026-0001 CVE-2026-0002 TEMP-1050002-7A1B2C");
	t_check_find(db, &bw, "openssl", NULL, "3.0.11-1~deb12u1",
	    "CVE-2026-0002");
	t_check_find(db, &bw, "openssl", "3.0.11-1~deb12u2",
	    "3.0.11-1~deb12u3", "");
	t_check_find(db, &bw, "openssl", NULL, "3.0.10-1", "");
	t_check_find(db, &bw, "openssl", "3.0.11-1~deb12u1", "3.0.11-1",
	    "CVE-2026-0001 TEMP-1050002-7A1B2C");
	t_check_find(db, &bw, "curl", "7.88.1-10+deb12u4", "7.88.1-10+deb12u5",
	    "CVE-2026-0100");
	t_check_find(db, &bw, "nginx", NULL, "99", "");
	t_check_find(db, &tx, "openssl", NULL, "9", "");

	n = advisory_find(db, &bw, "openssl", "3.0.11-1~deb12u1",
	    "3.0.11-1~deb12u2", &v);
	if (n == 2) {
		is_int(v[0]->ncves, 1, "a CVE is its own CVE list");
		is_str(v[0]->cves[0], "CVE-2026-0001", "its CVE");
		is_str(v[0]->urgency, "high", "the urgency as the tracker says");
		is_str(v[0]->fixed, "3.0.11-1~deb12u2", "the fixed version");
		is_int(v[1]->ncves, 0, "a TEMP- name is no CVE");
		is_str(v[1]->urgency, "not yet assigned", "its urgency");
	} else {
		ok(0, "two advisories to look at (got %zu)", n);
	}
	free(v);
	/* Loading it again adds nothing: the same entries. */
	is_int(advisory_load_tracker(db, path, bookworm, 1, &err), 0,
	    "a second load");
	is_int(advisory_db_count(db), 4, "repeats are dropped");
	free(path);
}

static void
t_osv(struct advisory_db *db)
{
	struct advisory_release jr = { NULL, "Ubuntu:22.04" };
	struct advisory_release both = { "bookworm", "Ubuntu:22.04" };
	const struct advisory **v;
	struct merr err = { 0, "" };
	char *dir = xasprintf("%s/osv", tmp);
	size_t n, before = advisory_db_count(db);

	mkdir(dir, 0755);
	free(t_write("osv/USN-7000-1.json", usn1));
	free(t_write("osv/USN-7001-1.json", usn2));
	free(t_write("osv/UBUNTU-CVE-2026-0200.json", cverec));
	free(t_write("osv/USN-7002-1.json", withdrawn));
	free(t_write("osv/README.md", "not a record"));
	free(t_write("osv/.partial.json", "{"));
	is_int(advisory_load_osv(db, dir, jammy, 1, &err), 0,
	    "the OSV folder loads (%s)", err.msg);
	is_int(advisory_db_count(db) - before, 3,
	    "3 fixes in Ubuntu:22.04 (not 24.04, Pro, GIT or withdrawn)");
	t_check_find(db, &jr, "openssl", "3.0.2-0ubuntu1.14",
	    "3.0.2-0ubuntu1.15", "USN-7000-1");
	t_check_find(db, &jr, "openssl", "3.0.2-0ubuntu1.10",
	    "3.0.2-0ubuntu1.15", "UBUNTU-CVE-2026-0200 USN-7000-1");
	t_check_find(db, &jr, "curl", NULL, "7.81.0-1ubuntu1.16", "USN-7001-1");
	/* Both feeds asked at once: each gives its own. */
	t_check_find(db, &both, "curl", NULL, "7.88.1-10+deb12u5",
	    "CVE-2026-0100 USN-7001-1");
	n = advisory_find(db, &jr, "openssl", "3.0.2-0ubuntu1.10",
	    "3.0.2-0ubuntu1.15", &v);
	if (n == 2) {
		is_str(v[0]->urgency, "medium", "ubuntu_priority is the urgency");
		is_int(v[0]->ncves, 1, "a CVE record's CVE");
		is_str(v[0]->cves[0], "CVE-2026-0200", "UBUNTU-CVE- read as CVE-");
		is_str(v[1]->urgency, "high", "severity[Ubuntu] is the urgency");
		is_int(v[1]->ncves, 2, "upstream and related, unique");
		if (v[1]->ncves == 2) {
			is_str(v[1]->cves[0], "CVE-2026-0001", "sorted");
			is_str(v[1]->cves[1], "CVE-2026-0009", "and stripped");
		}
		is_str(v[1]->fixed, "3.0.2-0ubuntu1.15", "the fixed version");
	} else {
		ok(0, "two advisories to look at (got %zu)", n);
	}
	free(v);
	n = advisory_find(db, &jr, "curl", NULL, "7.81.0-1ubuntu1.16", &v);
	ok(n == 1 && v[0]->urgency == NULL, "no priority: urgency NULL");
	free(v);
	free(dir);
}

/* Loads text as a tracker: the code and message, db unchanged. */
static void
t_bad_tracker(struct advisory_db *db, const char *text, int code,
    const char *want, const char *what)
{
	struct merr err = { 0, "" };
	char *path = t_write("bad.json", text);
	size_t before = advisory_db_count(db);
	int rc = advisory_load_tracker(db, path, bookworm, 1, &err);

	is_int(rc, code, "%s: refused", what);
	ok(strstr(err.msg, want) != NULL && strstr(err.msg, path) != NULL,
	    "%s: '%s'", what, err.msg);
	is_int(advisory_db_count(db), before, "%s: db unchanged", what);
	free(path);
}

#define REL(x) "{\"openssl\": {\"CVE-2026-1\": {\"releases\": " \
	"{\"bookworm\": " x "}}}}"

static void
t_hostile_types(struct advisory_db *db)
{
	t_bad_tracker(db, "{\"openssl\": ", MERR_PARSE, "not JSON: unexpected end",
	    "truncated");
	t_bad_tracker(db, "hello", MERR_PARSE, "not JSON", "not JSON");
	t_bad_tracker(db, "", MERR_PARSE, "not JSON", "empty");
	t_bad_tracker(db, "{} {}", MERR_PARSE, "data after the document",
	    "two documents");
	t_bad_tracker(db, "{\"a\": \"\xff\xfe\"}", MERR_PARSE, "not JSON",
	    "not UTF-8");
	t_bad_tracker(db, "{\"a\": {} \"b\": {}}", MERR_PARSE,
	    "not JSON: ',' or '}' expected at byte 9", "a comma missing");
	t_bad_tracker(db, "{\"a\" {}}", MERR_PARSE,
	    "not JSON: ':' expected at byte 5", "a colon missing");
	t_bad_tracker(db, "{\"a\": {},}", MERR_PARSE,
	    "not JSON: a key expected at byte 9", "a trailing comma");
	t_bad_tracker(db, "[1, 2]", MERR_PARSE, "the top level is not an "
	    "object", "top level an array");
	t_bad_tracker(db, "{\"openssl\": [1]}", MERR_PARSE,
	    "source 'openssl' is not an object", "source an array");
	t_bad_tracker(db, "{\"open\\nssl\\u0007\": 1}", MERR_PARSE,
	    "source 'open?ssl?' is not an object", "control bytes in a name");
	t_bad_tracker(db, "{\"openssl\": {\"CVE-2026-1\": \"x\"}}", MERR_PARSE,
	    "source 'openssl', CVE-2026-1 is not an object", "CVE a string");
	t_bad_tracker(db, "{\"openssl\": {\"CVE-2026-1\": {\"releases\": 1}}}",
	    MERR_PARSE, "source 'openssl', CVE-2026-1: 'releases' is not an "
	    "object", "releases a number");
	t_bad_tracker(db, REL("null"), MERR_PARSE, "release 'bookworm' is "
	    "not an object", "release null");
	t_bad_tracker(db, REL("{\"status\": 1}"), MERR_PARSE,
	    "release 'bookworm': 'status' is not a string", "status a number");
	t_bad_tracker(db, REL("{\"urgency\": \"low\"}"), MERR_PARSE,
	    "'status' is missing", "status missing");
	t_bad_tracker(db, REL("{\"status\": \"resolved\", \"fixed_version\": "
	    "[\"1\"]}"), MERR_PARSE, "'fixed_version' is not a string",
	    "fixed_version an array");
	t_bad_tracker(db, REL("{\"status\": \"resolved\", \"fixed_version\": "
	    "\"1\", \"urgency\": {}}"), MERR_PARSE, "'urgency' is not a string",
	    "urgency an object");
	t_bad_tracker(db, REL("{\"status\": \"resolved\", \"fixed_version\": "
	    "\"1\\u0000x\"}"), MERR_PARSE, "'fixed_version' holds a control "
	    "byte", "a NUL inside a version");
	t_bad_tracker(db, REL("{\"status\": \"resolved\", \"fixed_version\": "
	    "\"\"}"), MERR_PARSE, "'fixed_version' is empty", "empty version");
}

static void
t_hostile_sizes(struct advisory_db *db)
{
	struct buf b = BUF_INIT;
	struct merr err = { 0, "" };
	size_t i, before;
	char *s;

	/* A version over the field cap. */
	buf_adds(&b, "{\"openssl\": {\"CVE-2026-1\": {\"releases\": {"
	    "\"bookworm\": {\"status\": \"resolved\", \"fixed_version\": \"");
	for (i = 0; i < 300; i++)
		buf_addc(&b, '1');
	buf_adds(&b, "\"}}}}}");
	s = buf_detach(&b, NULL);
	t_bad_tracker(db, s, MERR_PARSE, "'fixed_version' is too long",
	    "a 300-byte version");
	free(s);

	/* Deep nesting, past json-c's depth limit. */
	buf_adds(&b, "{\"openssl\": ");
	for (i = 0; i < 200; i++)
		buf_addc(&b, '[');
	for (i = 0; i < 200; i++)
		buf_addc(&b, ']');
	buf_adds(&b, "}");
	s = buf_detach(&b, NULL);
	t_bad_tracker(db, s, MERR_PARSE, "nesting too deep", "200 levels");
	free(s);

	/* A 4 MiB description is read (and not kept). */
	buf_adds(&b, "{\"openssl\": {\"CVE-2026-7\": {\"description\": \"");
	for (i = 0; i < (4u << 20); i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\", \"releases\": {\"bookworm\": {\"status\": "
	    "\"resolved\", \"fixed_version\": \"3.0.11-1~deb12u9\"}}}}}");
	s = buf_detach(&b, NULL);
	free(t_write("huge.json", s));
	free(s);
	s = xasprintf("%s/huge.json", tmp);
	before = advisory_db_count(db);
	is_int(advisory_load_tracker(db, s, bookworm, 1, &err), 0,
	    "a 4 MiB string loads (%s)", err.msg);
	is_int(advisory_db_count(db), before + 1, "its entry is kept");
	free(s);
}

static void
t_hostile_files(struct advisory_db *db)
{
	struct advisory_release bw = { "bookworm", NULL };
	struct merr err = { 0, "" };
	char *p;
	int fd, rc;

	/* Duplicate keys: the last one counts, once. */
	p = t_write("dup.json", "{\"zlib\": {\"CVE-2026-9\": {\"releases\": "
	    "{\"bookworm\": {\"status\": \"resolved\", \"fixed_version\": "
	    "\"1.0\"}}}, \"CVE-2026-9\": {\"releases\": {\"bookworm\": "
	    "{\"status\": \"resolved\", \"fixed_version\": \"2.0\"}}}}}");
	is_int(advisory_load_tracker(db, p, bookworm, 1, &err), 0,
	    "duplicate keys load");
	t_check_find(db, &bw, "zlib", NULL, "9", "CVE-2026-9");
	t_check_find(db, &bw, "zlib", "1.0", "2.0", "CVE-2026-9");
	free(p);

	/* 600 MB, sparse: refused from its size, before reading. */
	p = xasprintf("%s/big.json", tmp);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	rc = fd >= 0 && ftruncate(fd, 600000000) == 0 ? 0 : -1;
	if (fd >= 0)
		close(fd);
	is_int(rc, 0, "a sparse 600 MB file");
	is_int(advisory_load_tracker(db, p, bookworm, 1, &err), MERR_LIMIT,
	    "600 MB: MERR_LIMIT");
	ok(strstr(err.msg, "over the limit of 512 MiB") && strstr(err.msg, p),
	    "600 MB: '%s'", err.msg);
	free(p);

	p = xasprintf("%s/zero.json", tmp);
	is_int(symlink("/dev/zero", p), 0, "a symlink to /dev/zero");
	is_int(advisory_load_tracker(db, p, bookworm, 1, &err), MERR_IO,
	    "/dev/zero: MERR_IO");
	ok(strstr(err.msg, "not a regular file") && strstr(err.msg, p),
	    "/dev/zero: '%s'", err.msg);
	free(p);

	/* A FIFO with no writer: refused at once, never blocks. */
	p = xasprintf("%s/fifo.json", tmp);
	is_int(mkfifo(p, 0600), 0, "a FIFO");
	is_int(advisory_load_tracker(db, p, bookworm, 1, &err), MERR_IO,
	    "FIFO: MERR_IO");
	ok(strstr(err.msg, "not a regular file") != NULL, "FIFO: '%s'",
	    err.msg);
	free(p);

	p = xasprintf("%s/absent.json", tmp);
	is_int(advisory_load_tracker(db, p, bookworm, 1, &err), MERR_IO,
	    "absent: MERR_IO");
	ok(strstr(err.msg, "cannot open") && strstr(err.msg, p),
	    "absent: '%s'", err.msg);
	free(p);
}

/* A folder holding the good records and one bad: refused, db unchanged. */
static void
t_bad_osv(struct advisory_db *db, const char *text, const char *want,
    const char *what)
{
	struct merr err = { 0, "" };
	char *dir = xasprintf("%s/osvbad", tmp);
	char *p;
	size_t before = advisory_db_count(db);

	helpers_rm_rf(dir);
	mkdir(dir, 0755);
	free(t_write("osvbad/USN-7000-1.json", usn1));
	p = t_write("osvbad/USN-9999-1.json", text);
	is_int(advisory_load_osv(db, dir, jammy, 1, &err), MERR_PARSE,
	    "OSV %s: refused", what);
	ok(strstr(err.msg, want) != NULL && strstr(err.msg, p) != NULL,
	    "OSV %s: '%s'", what, err.msg);
	is_int(advisory_db_count(db), before, "OSV %s: db unchanged", what);
	free(p);
	free(dir);
}

#define AFF(x) "{\"id\": \"USN-9999-1\", \"affected\": [" x "]}"
#define PKG "\"package\": {\"ecosystem\": \"Ubuntu:22.04:LTS\", " \
	"\"name\": \"openssl\"}"

static void
t_hostile_osv(struct advisory_db *db)
{
	struct merr err = { 0, "" };
	char *dir, *p;
	size_t before;

	t_bad_osv(db, "{\"id\": ", "not JSON", "truncated");
	t_bad_osv(db, "[]", "the top level is not an object", "an array");
	t_bad_osv(db, "{\"affected\": []}", "'id' is missing", "no id");
	t_bad_osv(db, "{\"id\": 7}", "'id' is not a string", "id a number");
	t_bad_osv(db, "{\"id\": \"USN-9999-1\", \"affected\": {}}",
	    "record USN-9999-1: 'affected' is not an array", "affected {}");
	t_bad_osv(db, AFF("1"), "'affected' holds a value that is not an "
	    "object", "affected[0] a number");
	t_bad_osv(db, AFF("{}"), "record USN-9999-1, affected[0]: 'package' "
	    "is missing", "no package");
	t_bad_osv(db, AFF("{\"package\": {\"ecosystem\": \"Ubuntu:22.04:LTS\", "
	    "\"name\": 5}}"), "affected[0]: 'name' is not a string",
	    "name a number");
	t_bad_osv(db, AFF("{" PKG ", \"ranges\": \"x\"}"),
	    "'ranges' is not an array", "ranges a string");
	t_bad_osv(db, AFF("{" PKG ", \"ranges\": [{\"type\": \"ECOSYSTEM\", "
	    "\"events\": [3]}]}"), "'events' holds a value that is not an "
	    "object", "event a number");
	t_bad_osv(db, AFF("{" PKG ", \"ranges\": [{\"type\": \"ECOSYSTEM\", "
	    "\"events\": [{\"fixed\": false}]}]}"), "'fixed' is not a string",
	    "fixed a boolean");
	t_bad_osv(db, "{\"id\": \"USN-9999-1\", \"upstream\": [1]}",
	    "'upstream' holds a value that is not a string", "upstream [1]");
	t_bad_osv(db, "{\"id\": \"USN-9999-1\", \"severity\": [{\"type\": "
	    "\"Ubuntu\", \"score\": 9}]}", "'score' is not a string",
	    "score a number");

	/* A record that is a symlink to /dev/zero. */
	dir = xasprintf("%s/osvzero", tmp);
	mkdir(dir, 0755);
	p = xasprintf("%s/USN-1-1.json", dir);
	before = advisory_db_count(db);
	ok(symlink("/dev/zero", p) == 0 && advisory_load_osv(db, dir, jammy,
	    1, &err) == MERR_IO && strstr(err.msg, "not a regular file") &&
	    advisory_db_count(db) == before, "OSV: /dev/zero refused ('%s')",
	    err.msg);
	free(p);
	free(dir);
	p = xasprintf("%s/osvabsent", tmp);
	is_int(advisory_load_osv(db, p, jammy, 1, &err), MERR_IO,
	    "OSV: an absent folder is MERR_IO");
	free(p);
}

static void
t_check_mem(void)
{
	struct merr err = { 0, "" };

	is_int(advisory_check_tracker_mem("body", tracker, strlen(tracker),
	    &err), 0, "check_mem: the tracker passes");
	is_int(advisory_check_tracker_mem("body", "{\"a\": 1}", 8, &err),
	    MERR_PARSE, "check_mem: a source that is a number");
	is_str(err.msg, "'body': source 'a' is not an object",
	    "check_mem: the message names it");
	is_int(advisory_check_tracker_mem("body", "<html>", 6, &err),
	    MERR_PARSE, "check_mem: an HTML page is refused");
}

int
main(void)
{
	struct advisory_db *db = advisory_db_new();

	tmp = helpers_tmpdir_new("t_advisory");
	if (tmp == NULL)
		return 1;
	t_tracker(db);
	t_osv(db);
	t_hostile_types(db);
	t_hostile_sizes(db);
	t_hostile_files(db);
	t_hostile_osv(db);
	t_check_mem();
	advisory_db_free(db);
	helpers_tmpdir_free(tmp);
	return tap_done();
}
