/*
 * advisory.c: the security advisory feeds (advisory.h), read with json.h
 * (json-c's).
 *
 * json-c builds a tree of a whole document (there is no event API), and
 * its tree of the tracker's file is some 16 times the file: 2 GB for a
 * 126 MB file. So a file is fed to json-c 64 KiB at a time (its text is
 * never held whole), and the tracker's top-level object is not given to
 * json-c whole: the bytes between its members (white space, ':', ',' and
 * the braces) are read here, and json-c reads each key and each source's
 * value, whose tree is walked for the releases asked for and freed
 * before the next. The peak is then one source's tree and the entries
 * kept. An OSV record is one small file, read as one tree.
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

#include "mirrord/advisory.h"
#include "mirrord/advisory_int.h"
#include "mirrord/json.h"
#include "mirrord/util.h"
#include "mirrord/version.h"

/* Where a walk is, for messages: "source 'openssl', CVE-2026-1". */
struct adv_ctx {
	const char *file;
	char where[256];
	struct advisory_vec *out;
	struct merr *err;
	const char *const *names;	/* the releases asked for */
	size_t nnames;
};

#define ADV_CHUNK 65536

/* ---- Reading, 64 KiB at a time. ---- */

/*
 * Where the bytes of a feed go, chunk by chunk: feed() gets each chunk
 * and the offset of its first byte, finish() the end of the input.
 */
struct adv_sink {
	int (*feed)(void *arg, const char *p, size_t len, size_t at,
	    struct merr *err);
	int (*finish)(void *arg, size_t at, struct merr *err);
	void *arg;
};

static bool
adv_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* A whole document (an OSV record): json-c's tree of it. */
struct adv_doc {
	const char *name;
	struct json_tok *tok;
	struct json_value *obj;
	bool done;
};

static int
adv_doc_feed(void *arg, const char *p, size_t len, size_t at,
    struct merr *err)
{
	struct adv_doc *d = arg;
	size_t end, i;

	if (!d->done) {
		if (json_tok_feed(d->tok, p, len, at, &d->done, &d->obj, &end,
		    err) != 0)
			return merr_prefix(err, "'%s': ", d->name);
		if (!d->done)
			return 0;
		p += end;
		len -= end;
		at += end;
	}
	for (i = 0; i < len; i++)
		if (!adv_space(p[i]))
			return merr_set(err, MERR_PARSE, "'%s': not JSON: data "
			    "after the document at byte %zu", d->name, at + i);
	return 0;
}

static int
adv_doc_finish(void *arg, size_t at, struct merr *err)
{
	struct adv_doc *d = arg;

	/* A bare number ends only at a terminator: json-c's is a NUL. */
	if (!d->done && adv_doc_feed(arg, "", 1, at, err) != 0)
		return err->code;
	if (!d->done)
		return merr_set(err, MERR_PARSE, "'%s': not JSON: unexpected "
		    "end of data at byte %zu", d->name, at);
	return 0;
}

/*
 * The members of a top-level object one at a time (the tracker): json-c
 * reads each key and each value; only the punctuation between them is
 * read here. member() gets each value's tree, freed once it returns, so
 * the peak is one source's tree, not the document's.
 */
enum adv_state {
	AS_START, AS_FIRST, AS_KEY, AS_COLON, AS_VALUE, AS_COMMA, AS_NEXT,
	AS_DONE
};

struct adv_members {
	const char *name;
	struct json_tok *tok;
	enum adv_state st;
	bool in_token;		/* json-c is reading a key or a value */
	char *key;
	int (*member)(void *arg, const char *key, struct json_value *v);
	void *arg;
};

/* One more piece of a key or value: *used bytes of [p, p+len) read. */
static int
adv_members_token(struct adv_members *m, const char *p, size_t len,
    size_t at, size_t *used, struct merr *err)
{
	struct json_value *o;
	bool done;
	int rc = 0;

	if (json_tok_feed(m->tok, p, len, at, &done, &o, used, err) != 0)
		return merr_prefix(err, "'%s': ", m->name);
	if (!done)
		return 0;
	m->in_token = false;
	if (m->st == AS_KEY) {
		m->key = xstrdup(json_str(o, NULL));
		m->st = AS_COLON;
	} else {
		rc = m->member(m->arg, m->key, o);
		free(m->key);
		m->key = NULL;
		m->st = AS_COMMA;
	}
	json_value_free(o);
	return rc;
}

/* The byte ch at offset at, outside keys and values. */
static int
adv_members_punct(struct adv_members *m, char ch, size_t at,
    struct merr *err)
{
	const char *want;

	switch (m->st) {
	case AS_START:
		if (ch == '{') {
			m->st = AS_FIRST;
			return 0;
		}
		if (strchr("[\"-0123456789tfn", ch) != NULL && ch != '\0')
			return merr_set(err, MERR_PARSE, "'%s': the top level "
			    "is not an object", m->name);
		want = "'{'";
		break;
	case AS_FIRST:
	case AS_NEXT:
		if (ch == '}' && m->st == AS_FIRST) {
			m->st = AS_DONE;
			return 0;
		}
		want = "a key";
		if (ch != '"')
			break;
		/* FALLTHROUGH */
	case AS_VALUE:
		json_tok_reset(m->tok);
		m->in_token = true;
		if (m->st != AS_VALUE)
			m->st = AS_KEY;
		return 0;
	case AS_COLON:
		if (ch == ':') {
			m->st = AS_VALUE;
			return 0;
		}
		want = "':'";
		break;
	case AS_COMMA:
		if (ch == ',' || ch == '}') {
			m->st = ch == ',' ? AS_NEXT : AS_DONE;
			return 0;
		}
		want = "',' or '}'";
		break;
	default:
		return merr_set(err, MERR_PARSE, "'%s': not JSON: data after "
		    "the document at byte %zu", m->name, at);
	}
	return merr_set(err, MERR_PARSE, "'%s': not JSON: %s expected at "
	    "byte %zu", m->name, want, at);
}

static int
adv_members_feed(void *arg, const char *p, size_t len, size_t at,
    struct merr *err)
{
	struct adv_members *m = arg;
	size_t i = 0, used;
	int rc;

	while (i < len) {
		if (m->in_token) {
			rc = adv_members_token(m, p + i, len - i, at + i,
			    &used, err);
			if (rc)
				return rc;
			i += used;
		} else if (adv_space(p[i])) {
			i++;
		} else {
			rc = adv_members_punct(m, p[i], at + i, err);
			if (rc)
				return rc;
			/* A key or value starts here: json-c reads it. */
			if (!m->in_token)
				i++;
		}
	}
	return 0;
}

static int
adv_members_finish(void *arg, size_t at, struct merr *err)
{
	struct adv_members *m = arg;

	if (m->st != AS_DONE)
		return merr_set(err, MERR_PARSE, "'%s': not JSON: unexpected "
		    "end of data at byte %zu", m->name, at);
	return 0;
}

/* Every chunk of [data, data+len) to sink. */
static int
adv_read_mem(const char *data, size_t len, const struct adv_sink *sink,
    struct merr *err)
{
	size_t at, n;
	int rc = 0;

	for (at = 0; rc == 0 && at < len; at += n) {
		n = len - at < ADV_CHUNK ? len - at : ADV_CHUNK;
		rc = sink->feed(sink->arg, data + at, n, at, err);
	}
	return rc ? rc : sink->finish(sink->arg, len, err);
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

/* Every chunk of the file at path to sink. */
static int
adv_read_file(const char *path, const struct adv_sink *sink,
    struct merr *err)
{
	char *chunk;
	size_t at = 0;
	ssize_t n;
	int fd = -1, rc;

	rc = adv_open(path, &fd, err);
	if (rc)
		return rc;
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
			rc = sink->finish(sink->arg, at, err);
			break;
		}
		if (at + (size_t)n > ADVISORY_MAX_FILE) {
			/* It grew while being read. */
			rc = merr_set(err, MERR_LIMIT, "'%s': over the limit "
			    "of %u MiB", path,
			    (unsigned)(ADVISORY_MAX_FILE >> 20));
			break;
		}
		rc = sink->feed(sink->arg, chunk, (size_t)n, at, err);
		if (rc)
			break;
		at += (size_t)n;
	}
	free(chunk);
	close(fd);
	return rc;
}

/* The file at path as one tree (*out owned: json_value_free). */
static int
adv_parse_file(const char *path, struct json_value **out, struct merr *err)
{
	struct adv_doc d = { path, json_tok_new(ADVISORY_MAX_DEPTH), NULL,
	    false };
	struct adv_sink sink = { adv_doc_feed, adv_doc_finish, &d };
	int rc = adv_read_file(path, &sink, err);

	json_tok_free(d.tok);
	if (rc) {
		json_value_free(d.obj);
		d.obj = NULL;
	}
	*out = d.obj;
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
adv_str(struct adv_ctx *c, struct json_value *o, const char *key,
    bool required, const char **out)
{
	struct json_value *v = json_get(o, key);
	size_t len;

	*out = NULL;
	if (v == NULL) {
		if (required)
			return adv_bad(c, key, "is missing");
		return 0;
	}
	*out = json_str(v, &len);
	if (*out == NULL)
		return adv_bad(c, key, "is not a string");
	return adv_word(c, key, *out, len);
}

/* o's member key of type t into *out, NULL if absent. */
static int
adv_get(struct adv_ctx *c, struct json_value *o, const char *key,
    enum json_kind t, struct json_value **out)
{
	*out = json_get(o, key);
	if (*out == NULL)
		return 0;
	if (json_kind(*out) != t) {
		*out = NULL;
		return adv_bad(c, key, t == JSON_OBJECT ?
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
adv_tracker_release(struct adv_ctx *c, struct json_value *r,
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
adv_tracker_cve(struct adv_ctx *c, struct json_value *cv,
    const char *source, const char *cve, const char *const *codenames,
    size_t n)
{
	struct json_value *rels, *r;
	size_t i;
	int rc;

	adv_where(c, source, cve, NULL);
	if (json_kind(cv) != JSON_OBJECT)
		return merr_set(c->err, MERR_PARSE, "'%s': %s is not an object",
		    c->file, c->where);
	rc = adv_get(c, cv, "releases", JSON_OBJECT, &rels);
	if (rc || rels == NULL)
		return rc;
	for (i = 0; i < n; i++) {
		if (!json_has(rels, codenames[i]))
			continue;
		r = json_get(rels, codenames[i]);
		adv_where(c, source, cve, codenames[i]);
		if (json_kind(r) != JSON_OBJECT)
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

/* A source's walk over its CVEs (json_each). */
struct adv_cve_walk {
	struct adv_ctx *c;
	const char *source;
	const char *const *codenames;
	size_t n;
};

static int
adv_tracker_each(void *arg, const char *cve, struct json_value *cv)
{
	struct adv_cve_walk *w = arg;

	return adv_tracker_cve(w->c, cv, w->source, cve, w->codenames, w->n);
}

static int
adv_tracker_source(struct adv_ctx *c, struct json_value *src,
    const char *source, const char *const *codenames, size_t n)
{
	struct adv_cve_walk w;

	adv_where(c, source, NULL, NULL);
	if (json_kind(src) != JSON_OBJECT)
		return merr_set(c->err, MERR_PARSE, "'%s': %s is not an object",
		    c->file, c->where);
	w.c = c;
	w.source = source;
	w.codenames = codenames;
	w.n = n;
	return json_each(src, adv_tracker_each, &w);
}

static int
adv_tracker_member(void *arg, const char *source, struct json_value *src)
{
	struct adv_ctx *c = arg;

	return adv_tracker_source(c, src, source, c->names, c->nnames);
}

/*
 * Reads a tracker, from the file name or (mem) from [data, data+len),
 * into db (NULL: only checked), one source at a time.
 */
static int
adv_tracker_read(struct advisory_db *db, const char *name, bool mem,
    const char *data, size_t len, const char *const *codenames, size_t n,
    struct merr *err)
{
	struct advisory_vec add = { 0 };
	struct adv_ctx c = { .file = name, .out = &add, .err = err,
	    .names = codenames, .nnames = n };
	struct adv_members m = { .name = name, .member = adv_tracker_member,
	    .arg = &c };
	struct adv_sink sink = { adv_members_feed, adv_members_finish, &m };
	int rc;

	/* The top-level object is read here: json-c starts one level in. */
	m.tok = json_tok_new(ADVISORY_MAX_DEPTH - 1);
	if (mem)
		rc = adv_read_mem(data, len, &sink, err);
	else
		rc = adv_read_file(name, &sink, err);
	json_tok_free(m.tok);
	free(m.key);
	if (rc == 0 && db != NULL)
		advisory_db_merge(db, &add);
	advisory_vec_release(&add);
	return rc;
}

int
advisory_load_tracker(struct advisory_db *db, const char *path,
    const char *const *codenames, size_t n, struct merr *err)
{
	return adv_tracker_read(db, path, false, NULL, 0, codenames, n, err);
}

int
advisory_check_tracker_mem(const char *name, const char *data, size_t len,
    struct merr *err)
{
	return adv_tracker_read(NULL, name, true, data, len, NULL, 0, err);
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
adv_osv_ids(struct adv_ctx *c, struct json_value *rec, const char *key,
    struct adv_osv *r)
{
	struct json_value *a, *v;
	const char *s;
	size_t i, n;
	int rc = adv_get(c, rec, key, JSON_ARRAY, &a);

	if (rc || a == NULL)
		return rc;
	n = json_len(a);
	for (i = 0; i < n; i++) {
		v = json_at(a, i);
		if (json_kind(v) != JSON_STRING)
			return adv_bad(c, key, "holds a value that is not a "
			    "string");
		s = json_str(v, NULL);
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
adv_osv_priority(struct adv_ctx *c, struct json_value *rec,
    struct adv_osv *r)
{
	struct json_value *a, *v;
	const char *type, *score;
	size_t i, n;
	int rc = adv_get(c, rec, "severity", JSON_ARRAY, &a);

	if (rc || a == NULL)
		return rc;
	n = json_len(a);
	for (i = 0; i < n; i++) {
		v = json_at(a, i);
		if (json_kind(v) != JSON_OBJECT)
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
adv_osv_ranges(struct adv_ctx *c, struct json_value *af,
    const struct adv_osv *r, const char *eco, const char *name,
    const char *urgency)
{
	struct json_value *ranges, *rg, *events, *ev;
	const char *type, *fixed;
	size_t i, j;
	int rc = adv_get(c, af, "ranges", JSON_ARRAY, &ranges);

	for (i = 0; rc == 0 && ranges && i < json_len(ranges);
	    i++) {
		rg = json_at(ranges, i);
		if (json_kind(rg) != JSON_OBJECT)
			return adv_bad(c, "ranges", "holds a value that is "
			    "not an object");
		rc = adv_str(c, rg, "type", false, &type);
		if (rc == 0)
			rc = adv_get(c, rg, "events", JSON_ARRAY, &events);
		if (rc || events == NULL || type == NULL ||
		    strcmp(type, "ECOSYSTEM") != 0)
			continue;
		for (j = 0; rc == 0 && j < json_len(events);
		    j++) {
			ev = json_at(events, j);
			if (json_kind(ev) != JSON_OBJECT)
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
adv_osv_affected(struct adv_ctx *c, struct json_value *af,
    const struct adv_osv *r, const char *const *ecos, size_t n)
{
	struct json_value *pkg, *es;
	const char *eco, *name, *asked, *urgency = r->priority, *p;
	int rc;

	if (json_kind(af) != JSON_OBJECT)
		return adv_bad(c, "affected", "holds a value that is not an "
		    "object");
	rc = adv_get(c, af, "package", JSON_OBJECT, &pkg);
	if (rc == 0 && pkg == NULL)
		rc = adv_bad(c, "package", "is missing");
	if (rc == 0)
		rc = adv_str(c, pkg, "ecosystem", true, &eco);
	if (rc == 0)
		rc = adv_str(c, pkg, "name", true, &name);
	if (rc == 0)
		rc = adv_get(c, af, "ecosystem_specific", JSON_OBJECT,
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
adv_osv_record(struct adv_ctx *c, struct json_value *rec,
    const char *const *ecos, size_t n)
{
	struct adv_osv r = { 0 };
	struct json_value *affected;
	size_t i;
	int rc;

	if (json_kind(rec) != JSON_OBJECT)
		return merr_set(c->err, MERR_PARSE, "'%s': the top level is "
		    "not an object", c->file);
	rc = adv_str(c, rec, "id", true, &r.id);
	if (rc)
		return rc;
	snprintf(c->where, sizeof(c->where), "record %.64s", r.id);
	/* A withdrawn record no longer stands. */
	if (json_has(rec, "withdrawn"))
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
		rc = adv_get(c, rec, "affected", JSON_ARRAY, &affected);
	advisory_strv_uniq(r.cves, &r.ncves);
	for (i = 0; rc == 0 && affected && i <
	    json_len(affected); i++) {
		snprintf(c->where, sizeof(c->where), "record %.64s, "
		    "affected[%zu]", r.id, i);
		rc = adv_osv_affected(c, json_at(affected,
		    i), &r, ecos, n);
	}
	strv_free(r.cves, r.ncves);
	return rc;
}

static int
adv_osv_file(struct adv_ctx *c, const char *path, const char *const *ecos,
    size_t n)
{
	struct json_value *rec;
	int rc = adv_parse_file(path, &rec, c->err);

	if (rc)
		return rc;
	c->file = path;
	c->where[0] = '\0';
	rc = adv_osv_record(c, rec, ecos, n);
	json_value_free(rec);
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
