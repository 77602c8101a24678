/*
 * advisory.c: the security advisory feeds (advisory.h), read with json-c.
 *
 * json-c builds a tree of the whole document; there is no event API. So
 * a file is fed to its tokener 64 KiB at a time (the text itself is never
 * held whole), the tree is walked once to copy out the few entries of the
 * releases asked for, and is freed before returning. The tree is the peak:
 * for the tracker's whole file (tens of MB) it is several times the file
 * (README.md and the report of issue 16 give the measured figure); an OSV
 * folder costs one record's tree at a time.
 *
 * A load builds its entries aside and adds them to the database only when
 * the whole feed has been read: an error leaves the database as it was.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mirrord/advisory.h"
#include "mirrord/advisory_int.h"
#include "mirrord/util.h"
#include "mirrord/version.h"

/* Where a walk is, for messages: "source 'openssl', CVE-2026-1". */
struct adv_ctx {
	const char *file;
	char where[256];
	struct advisory_vec *out;
	struct merr *err;
};

#define ADV_CHUNK 65536

/* ---- Reading a file into a tree, 64 KiB at a time. ---- */

/*
 * Feeds [p, p+len) to tok; *obj gets the document when it is complete.
 * Returns 0 (more wanted, or done), or MERR_PARSE.
 */
static int
adv_feed(struct json_tokener *tok, const char *name, const char *p,
    size_t len, size_t at, struct json_object **obj, struct merr *err)
{
	enum json_tokener_error je;
	size_t end, i;

	if (*obj != NULL) {
		/* After the document: only white space may follow. */
		for (i = 0; i < len; i++)
			if (strchr(" \t\r\n", p[i]) == NULL)
				return merr_set(err, MERR_PARSE,
				    "'%s': not JSON: data after the document "
				    "at byte %zu", name, at + i);
		return 0;
	}
	if (len > INT32_MAX)
		return merr_set(err, MERR_PARSE, "'%s': chunk too large", name);
	*obj = json_tokener_parse_ex(tok, p, (int)len);
	je = json_tokener_get_error(tok);
	if (*obj == NULL && je == json_tokener_continue)
		return 0;
	if (*obj == NULL || je != json_tokener_success)
		return merr_set(err, MERR_PARSE, "'%s': not JSON: %s at byte "
		    "%zu", name, json_tokener_error_desc(je),
		    at + json_tokener_get_parse_end(tok));
	end = json_tokener_get_parse_end(tok);
	return adv_feed(tok, name, p + end, len - end, at + end, obj, err);
}

static struct json_tokener *
adv_tokener(void)
{
	struct json_tokener *tok = json_tokener_new_ex(ADVISORY_MAX_DEPTH);

	if (tok == NULL)
		util_oom();
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	return tok;
}

/* The end of the input: a document still open is truncated. */
static int
adv_finish(struct json_tokener *tok, const char *name, size_t at,
    struct json_object **obj, struct merr *err)
{
	int rc;

	if (*obj != NULL)
		return 0;
	/*
	 * A bare number at the very end is complete only once the tokener
	 * sees a terminator: json-c's documented way is a final NUL.
	 */
	rc = adv_feed(tok, name, "", 1, at, obj, err);
	if (rc == 0 && *obj == NULL)
		rc = merr_set(err, MERR_PARSE, "'%s': not JSON: truncated at "
		    "byte %zu", name, at);
	return rc;
}

static int
adv_parse_mem(const char *name, const char *data, size_t len,
    struct json_object **out, struct merr *err)
{
	struct json_tokener *tok = adv_tokener();
	struct json_object *obj = NULL;
	size_t at, n;
	int rc = 0;

	for (at = 0; rc == 0 && at < len; at += n) {
		n = len - at < ADV_CHUNK ? len - at : ADV_CHUNK;
		rc = adv_feed(tok, name, data + at, n, at, &obj, err);
	}
	if (rc == 0)
		rc = adv_finish(tok, name, len, &obj, err);
	json_tokener_free(tok);
	if (rc) {
		json_object_put(obj);
		obj = NULL;
	}
	*out = obj;
	return rc;
}

/*
 * Opens path for reading if it is a regular file (after symbolic links)
 * no larger than ADVISORY_MAX_FILE: a FIFO would block, a device such as
 * /dev/zero never ends.
 */
static int
adv_open(const char *path, int *fdp, struct merr *err)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return merr_errno(err, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		merr_errno(err, "cannot stat '%s'", path);
		close(fd);
		return MERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return merr_set(err, MERR_IO, "'%s': not a regular file", path);
	}
	if ((uint64_t)st.st_size > ADVISORY_MAX_FILE) {
		close(fd);
		return merr_set(err, MERR_LIMIT, "'%s': %jd bytes, over the "
		    "limit of %u MiB", path, (intmax_t)st.st_size,
		    (unsigned)(ADVISORY_MAX_FILE >> 20));
	}
	*fdp = fd;
	return 0;
}

/* Reads path into a tree (*out owned: json_object_put). */
static int
adv_parse_file(const char *path, struct json_object **out, struct merr *err)
{
	struct json_tokener *tok;
	struct json_object *obj = NULL;
	char *chunk;
	size_t at = 0;
	ssize_t n;
	int fd = -1, rc;

	*out = NULL;
	rc = adv_open(path, &fd, err);
	if (rc)
		return rc;
	tok = adv_tokener();
	chunk = xmalloc(ADV_CHUNK);
	for (;;) {
		n = read(fd, chunk, ADV_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = merr_errno(err, "cannot read '%s'", path);
			break;
		}
		if (n == 0) {
			rc = adv_finish(tok, path, at, &obj, err);
			break;
		}
		if (at + (size_t)n > ADVISORY_MAX_FILE) {
			/* It grew while being read. */
			rc = merr_set(err, MERR_LIMIT, "'%s': over the limit "
			    "of %u MiB", path,
			    (unsigned)(ADVISORY_MAX_FILE >> 20));
			break;
		}
		rc = adv_feed(tok, path, chunk, (size_t)n, at, &obj, err);
		if (rc)
			break;
		at += (size_t)n;
	}
	free(chunk);
	close(fd);
	json_tokener_free(tok);
	if (rc)
		json_object_put(obj);
	else
		*out = obj;
	return rc;
}

/* ---- Typed access, each failure naming the file, place and field. ---- */

static int
adv_bad(struct adv_ctx *c, const char *field, const char *what)
{
	return merr_set(c->err, MERR_PARSE, "'%s': %s%s'%s' %s", c->file,
	    c->where, c->where[0] ? ": " : "", field, what);
}

/*
 * A string kept in the database: no NUL or control byte (it reaches
 * terminals and pages), at most ADVISORY_MAX_FIELD bytes.
 */
static int
adv_word(struct adv_ctx *c, const char *field, const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return adv_bad(c, field, "is empty");
	if (len > ADVISORY_MAX_FIELD)
		return adv_bad(c, field, "is too long");
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return adv_bad(c, field, "holds a control byte");
	return 0;
}

/*
 * o's member key as a string into *out (borrowed from o's tree): NULL
 * when absent (and !required), MERR_PARSE when of another type.
 */
static int
adv_str(struct adv_ctx *c, struct json_object *o, const char *key,
    bool required, const char **out)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
		if (required)
			return adv_bad(c, key, "is missing");
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return adv_bad(c, key, "is not a string");
	*out = json_object_get_string(v);
	return adv_word(c, key, *out, (size_t)json_object_get_string_len(v));
}

/* o's member key of type t into *out, NULL if absent. */
static int
adv_get(struct adv_ctx *c, struct json_object *o, const char *key,
    enum json_type t, struct json_object **out)
{
	*out = NULL;
	if (!json_object_object_get_ex(o, key, out) || *out == NULL) {
		*out = NULL;
		return 0;
	}
	if (!json_object_is_type(*out, t)) {
		*out = NULL;
		return adv_bad(c, key, t == json_type_object ?
		    "is not an object" : "is not an array");
	}
	return 0;
}

static void
adv_add(struct adv_ctx *c, const char *kind, const char *rel,
    const char *source, const char *id, char *const *cves, size_t ncves,
    const char *urgency, const char *fixed)
{
	struct advisory_entry *e = advisory_vec_add(c->out);

	e->rel = xasprintf("%s%s", kind, rel);
	e->source = xstrdup(source);
	e->a.id = xstrdup(id);
	e->a.cves = advisory_strv_dup(cves, ncves);
	e->a.ncves = ncves;
	e->a.urgency = urgency ? xstrdup(urgency) : NULL;
	e->a.fixed = xstrdup(fixed);
}

/* ---- Debian's security tracker. ---- */

/*
 * A name from the feed, fit for a message: at most 64 bytes, control
 * bytes as '?' (the name may be anything; the message reaches logs).
 */
static const char *
adv_safe(char *dst, size_t size, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < size && i < 64 && s[i] != '\0'; i++)
		dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	dst[i] = '\0';
	return dst;
}

/* c->where = "source 'S', CVE" (cve NULL: without it). */
static void
adv_where(struct adv_ctx *c, const char *source, const char *cve,
    const char *codename)
{
	char s[80], v[80];

	snprintf(c->where, sizeof(c->where), "source '%s'%s%s%s%s%s",
	    adv_safe(s, sizeof(s), source), cve ? ", " : "",
	    cve ? adv_safe(v, sizeof(v), cve) : "",
	    codename ? ", release '" : "", codename ? codename : "",
	    codename ? "'" : "");
}

/*
 * One release entry of a CVE: kept when resolved with a fixed version
 * other than "0" (which says the release was never affected).
 */
static int
adv_tracker_release(struct adv_ctx *c, struct json_object *r,
    const char *codename, const char *source, const char *cve)
{
	const char *status, *fixed, *urgency;
	char *cves[1];
	int rc;

	rc = adv_str(c, r, "status", true, &status);
	if (rc == 0)
		rc = adv_str(c, r, "fixed_version", false, &fixed);
	if (rc == 0)
		rc = adv_str(c, r, "urgency", false, &urgency);
	if (rc)
		return rc;
	if (strcmp(status, "resolved") != 0 || fixed == NULL ||
	    strcmp(fixed, "0") == 0)
		return 0;
	cves[0] = (char *)cve;
	adv_add(c, "T:", codename, source, cve, cves,
	    str_startswith(cve, "CVE-") ? 1 : 0, urgency, fixed);
	return 0;
}

static int
adv_tracker_cve(struct adv_ctx *c, struct json_object *cv,
    const char *source, const char *cve, const char *const *codenames,
    size_t n)
{
	struct json_object *rels, *r;
	size_t i;
	int rc;

	adv_where(c, source, cve, NULL);
	if (!json_object_is_type(cv, json_type_object))
		return merr_set(c->err, MERR_PARSE, "'%s': %s is not an object",
		    c->file, c->where);
	rc = adv_get(c, cv, "releases", json_type_object, &rels);
	if (rc || rels == NULL)
		return rc;
	for (i = 0; i < n; i++) {
		if (!json_object_object_get_ex(rels, codenames[i], &r))
			continue;
		adv_where(c, source, cve, codenames[i]);
		if (!json_object_is_type(r, json_type_object))
			return merr_set(c->err, MERR_PARSE, "'%s': %s is not "
			    "an object", c->file, c->where);
		rc = adv_word(c, "source", source, strlen(source));
		if (rc == 0)
			rc = adv_word(c, "CVE", cve, strlen(cve));
		if (rc == 0)
			rc = adv_tracker_release(c, r, codenames[i], source,
			    cve);
		if (rc)
			return rc;
	}
	return 0;
}

static int
adv_tracker_source(struct adv_ctx *c, struct json_object *src,
    const char *source, const char *const *codenames, size_t n)
{
	int rc;

	adv_where(c, source, NULL, NULL);
	if (!json_object_is_type(src, json_type_object))
		return merr_set(c->err, MERR_PARSE, "'%s': %s is not an object",
		    c->file, c->where);
	json_object_object_foreach(src, cve, cv) {
		rc = adv_tracker_cve(c, cv, source, cve, codenames, n);
		if (rc)
			return rc;
	}
	return 0;
}

static int
adv_tracker_walk(struct adv_ctx *c, struct json_object *top,
    const char *const *codenames, size_t n)
{
	int rc;

	if (!json_object_is_type(top, json_type_object))
		return merr_set(c->err, MERR_PARSE, "'%s': the top level is "
		    "not an object", c->file);
	json_object_object_foreach(top, source, src) {
		rc = adv_tracker_source(c, src, source, codenames, n);
		if (rc)
			return rc;
	}
	return 0;
}

static int
adv_tracker_tree(struct advisory_db *db, const char *name,
    struct json_object *top, const char *const *codenames, size_t n,
    struct merr *err)
{
	struct advisory_vec add = { 0 };
	struct adv_ctx c = { .file = name, .out = &add, .err = err };
	int rc = adv_tracker_walk(&c, top, codenames, n);

	if (rc == 0 && db != NULL)
		advisory_db_merge(db, &add);
	advisory_vec_release(&add);
	return rc;
}

int
advisory_load_tracker(struct advisory_db *db, const char *path,
    const char *const *codenames, size_t n, struct merr *err)
{
	struct json_object *top;
	int rc = adv_parse_file(path, &top, err);

	if (rc)
		return rc;
	rc = adv_tracker_tree(db, path, top, codenames, n, err);
	json_object_put(top);
	return rc;
}

int
advisory_check_tracker_mem(const char *name, const char *data, size_t len,
    struct merr *err)
{
	struct json_object *top;
	int rc = adv_parse_mem(name, data, len, &top, err);

	if (rc)
		return rc;
	rc = adv_tracker_tree(NULL, name, top, NULL, 0, err);
	json_object_put(top);
	return rc;
}

/* ---- Ubuntu's OSV records. ---- */

/* What one record says of itself, for each of its affected entries. */
struct adv_osv {
	const char *id;
	char **cves;
	size_t ncves;
	const char *priority;	/* severity[type Ubuntu].score */
};

/* CVE-… and UBUNTU-CVE-… IDs of the string array key, into r->cves. */
static int
adv_osv_ids(struct adv_ctx *c, struct json_object *rec, const char *key,
    struct adv_osv *r)
{
	struct json_object *a, *v;
	const char *s;
	size_t i, n;
	int rc = adv_get(c, rec, key, json_type_array, &a);

	if (rc || a == NULL)
		return rc;
	n = json_object_array_length(a);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(a, i);
		if (!json_object_is_type(v, json_type_string))
			return adv_bad(c, key, "holds a value that is not a "
			    "string");
		s = json_object_get_string(v);
		if (str_startswith(s, "UBUNTU-CVE-"))
			s += 7;
		if (!str_startswith(s, "CVE-"))
			continue;
		rc = adv_word(c, key, s, strlen(s));
		if (rc)
			return rc;
		r->cves = xreallocarray(r->cves, r->ncves + 1,
		    sizeof(*r->cves));
		r->cves[r->ncves++] = xstrdup(s);
	}
	return 0;
}

/* The record's Ubuntu priority: severity[] {"type": "Ubuntu", "score"}. */
static int
adv_osv_priority(struct adv_ctx *c, struct json_object *rec,
    struct adv_osv *r)
{
	struct json_object *a, *v;
	const char *type, *score;
	size_t i, n;
	int rc = adv_get(c, rec, "severity", json_type_array, &a);

	if (rc || a == NULL)
		return rc;
	n = json_object_array_length(a);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(a, i);
		if (!json_object_is_type(v, json_type_object))
			return adv_bad(c, "severity", "holds a value that is "
			    "not an object");
		rc = adv_str(c, v, "type", false, &type);
		if (rc == 0)
			rc = adv_str(c, v, "score", false, &score);
		if (rc)
			return rc;
		if (type != NULL && strcmp(type, "Ubuntu") == 0)
			r->priority = score;
	}
	return 0;
}

/* The asked ecosystem that eco falls under, or NULL. */
static const char *
adv_osv_match(const char *eco, const char *const *ecos, size_t n)
{
	size_t i, l;

	for (i = 0; i < n; i++) {
		l = strlen(ecos[i]);
		if (strncmp(eco, ecos[i], l) == 0 &&
		    (eco[l] == '\0' || eco[l] == ':'))
			return ecos[i];
	}
	return NULL;
}

/* Each "fixed" event of the ECOSYSTEM ranges of one affected entry. */
static int
adv_osv_ranges(struct adv_ctx *c, struct json_object *af,
    const struct adv_osv *r, const char *eco, const char *name,
    const char *urgency)
{
	struct json_object *ranges, *rg, *events, *ev;
	const char *type, *fixed;
	size_t i, j;
	int rc = adv_get(c, af, "ranges", json_type_array, &ranges);

	for (i = 0; rc == 0 && ranges && i < json_object_array_length(ranges);
	    i++) {
		rg = json_object_array_get_idx(ranges, i);
		if (!json_object_is_type(rg, json_type_object))
			return adv_bad(c, "ranges", "holds a value that is "
			    "not an object");
		rc = adv_str(c, rg, "type", false, &type);
		if (rc == 0)
			rc = adv_get(c, rg, "events", json_type_array, &events);
		if (rc || events == NULL || type == NULL ||
		    strcmp(type, "ECOSYSTEM") != 0)
			continue;
		for (j = 0; rc == 0 && j < json_object_array_length(events);
		    j++) {
			ev = json_object_array_get_idx(events, j);
			if (!json_object_is_type(ev, json_type_object))
				return adv_bad(c, "events", "holds a value "
				    "that is not an object");
			rc = adv_str(c, ev, "fixed", false, &fixed);
			if (rc == 0 && fixed != NULL)
				adv_add(c, "O:", eco, name, r->id, r->cves,
				    r->ncves, urgency, fixed);
		}
	}
	return rc;
}

static int
adv_osv_affected(struct adv_ctx *c, struct json_object *af,
    const struct adv_osv *r, const char *const *ecos, size_t n)
{
	struct json_object *pkg, *es;
	const char *eco, *name, *asked, *urgency = r->priority, *p;
	int rc;

	if (!json_object_is_type(af, json_type_object))
		return adv_bad(c, "affected", "holds a value that is not an "
		    "object");
	rc = adv_get(c, af, "package", json_type_object, &pkg);
	if (rc == 0 && pkg == NULL)
		rc = adv_bad(c, "package", "is missing");
	if (rc == 0)
		rc = adv_str(c, pkg, "ecosystem", true, &eco);
	if (rc == 0)
		rc = adv_str(c, pkg, "name", true, &name);
	if (rc == 0)
		rc = adv_get(c, af, "ecosystem_specific", json_type_object,
		    &es);
	if (rc == 0 && es != NULL) {
		/* Ubuntu's CVE records give the priority here. */
		rc = adv_str(c, es, "ubuntu_priority", false, &p);
		if (rc == 0 && p != NULL)
			urgency = p;
	}
	if (rc)
		return rc;
	asked = adv_osv_match(eco, ecos, n);
	if (asked == NULL)
		return 0;
	return adv_osv_ranges(c, af, r, asked, name, urgency);
}

static int
adv_osv_record(struct adv_ctx *c, struct json_object *rec,
    const char *const *ecos, size_t n)
{
	struct adv_osv r = { 0 };
	struct json_object *affected, *w;
	size_t i;
	int rc;

	if (!json_object_is_type(rec, json_type_object))
		return merr_set(c->err, MERR_PARSE, "'%s': the top level is "
		    "not an object", c->file);
	rc = adv_str(c, rec, "id", true, &r.id);
	if (rc)
		return rc;
	snprintf(c->where, sizeof(c->where), "record %.64s", r.id);
	/* A withdrawn record no longer stands. */
	if (json_object_object_get_ex(rec, "withdrawn", &w))
		return 0;
	if (str_startswith(r.id, "CVE-") ||
	    str_startswith(r.id, "UBUNTU-CVE-")) {
		r.cves = xcalloc(1, sizeof(*r.cves));
		r.cves[r.ncves++] = xstrdup(r.id + (r.id[0] == 'U' ? 7 : 0));
	}
	rc = adv_osv_ids(c, rec, "upstream", &r);
	if (rc == 0)
		rc = adv_osv_ids(c, rec, "related", &r);
	if (rc == 0)
		rc = adv_osv_ids(c, rec, "aliases", &r);
	if (rc == 0)
		rc = adv_osv_priority(c, rec, &r);
	if (rc == 0)
		rc = adv_get(c, rec, "affected", json_type_array, &affected);
	advisory_strv_uniq(r.cves, &r.ncves);
	for (i = 0; rc == 0 && affected && i <
	    json_object_array_length(affected); i++) {
		snprintf(c->where, sizeof(c->where), "record %.64s, "
		    "affected[%zu]", r.id, i);
		rc = adv_osv_affected(c, json_object_array_get_idx(affected,
		    i), &r, ecos, n);
	}
	strv_free(r.cves, r.ncves);
	return rc;
}

static int
adv_osv_file(struct adv_ctx *c, const char *path, const char *const *ecos,
    size_t n)
{
	struct json_object *rec;
	int rc = adv_parse_file(path, &rec, c->err);

	if (rc)
		return rc;
	c->file = path;
	c->where[0] = '\0';
	rc = adv_osv_record(c, rec, ecos, n);
	json_object_put(rec);
	return rc;
}

/* The names of dir's *.json entries, sorted (owned: strv_free). */
static int
adv_osv_list(const char *dir, char ***out, size_t *nout, struct merr *err)
{
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;
	DIR *d = opendir(dir);

	if (d == NULL)
		return merr_errno(err, "cannot open '%s'", dir);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !str_endswith(de->d_name, ".json"))
			continue;
		if (n == ADVISORY_MAX_RECORDS) {
			closedir(d);
			strv_free(v, n);
			return merr_set(err, MERR_LIMIT, "'%s': over %u "
			    "records", dir, ADVISORY_MAX_RECORDS);
		}
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup(de->d_name);
	}
	if (errno != 0) {
		merr_errno(err, "cannot read '%s'", dir);
		closedir(d);
		strv_free(v, n);
		return MERR_IO;
	}
	closedir(d);
	advisory_strv_uniq(v, &n);
	*out = v;
	*nout = n;
	return 0;
}

int
advisory_load_osv(struct advisory_db *db, const char *dir,
    const char *const *ecosystems, size_t n, struct merr *err)
{
	struct advisory_vec add = { 0 };
	struct adv_ctx c = { .out = &add, .err = err };
	char **names = NULL, *path;
	size_t i, nn = 0;
	int rc = adv_osv_list(dir, &names, &nn, err);

	for (i = 0; rc == 0 && i < nn; i++) {
		path = xasprintf("%s/%s", dir, names[i]);
		rc = adv_osv_file(&c, path, ecosystems, n);
		free(path);
	}
	if (rc == 0)
		advisory_db_merge(db, &add);
	advisory_vec_release(&add);
	strv_free(names, nn);
	return rc;
}
