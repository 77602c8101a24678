/*
 * confkey.c: the configuration's key table. Every key is one row of
 * confkey_table[]: its name, the stanzas it may appear in (global, mirror,
 * or both), the field it sets in each, the setter that checks and stores
 * its value (with the value parsers of confval.c), its limits and its
 * default. conf.c reads the files and hands each field here.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/confkey.h"
#include "mirrord/confval.h"
#include "mirrord/deb822.h"
#include "mirrord/gpgpolicy.h"
#include "mirrord/path.h"

/*
 * The least Gc-Grace: a blob must outlive the longest client update that
 * may still ask for it (an apt run that read a channel's InRelease before
 * a promotion, then fetches indices and packages on a slow link). Tests
 * lower it with MIRRORD_TEST_GC_GRACE_MIN (seconds) to see gc remove
 * blobs at once.
 */
#define CONFKEY_GC_GRACE_MIN 3600

struct confkey;

/* One key of one stanza being set: what a setter gets. */
struct confkey_set {
	const struct confkey_src *src;
	const struct confkey *k;
	const struct deb822_field *f;
	void *p;		/* the field the key sets */
	struct conf_mirror *m;	/* the mirror stanza, or NULL */
};

/* The type of the field a key sets, for its default. */
enum confkey_store { CS_STR, CS_UINT, CS_U64, CS_LONG, CS_BOOL, CS_OTHER };

/* Short names for the table's rows. */
#define KG CONFKEY_GLOBAL
#define KM CONFKEY_MIRROR

/*
 * One key. Its default (def, or sdef for a string) is the value of the
 * field in the stanza it belongs to; a key of both stanzas has it in the
 * global one, and 0 or NULL ("the global value") in a mirror's. min and
 * max bound numbers (min alone for durations).
 */
struct confkey {
	const char *name;
	int (*set)(const struct confkey_set *, struct merr *);
	enum confkey_store store;
	int where;		/* KG, KM or both */
	size_t goff;		/* the field in struct conf */
	size_t moff;		/* the field in struct conf_mirror */
	size_t noff;		/* a word list's count in struct conf_mirror */
	long min, max;
	long def;
	const char *sdef;
};

static int confkey_path(const struct confkey_set *s, struct merr *err);
static int confkey_listen(const struct confkey_set *s, struct merr *err);
static int confkey_url(const struct confkey_set *s, struct merr *err);
static int confkey_feed(const struct confkey_set *s, struct merr *err);
static int confkey_osv(const struct confkey_set *s, struct merr *err);
static int confkey_uint(const struct confkey_set *s, struct merr *err);
static int confkey_duration(const struct confkey_set *s, struct merr *err);
static int confkey_gc_grace(const struct confkey_set *s, struct merr *err);
static int confkey_keep(const struct confkey_set *s, struct merr *err);
static int confkey_bool(const struct confkey_set *s, struct merr *err);
static int confkey_name(const struct confkey_set *s, struct merr *err);
static int confkey_types(const struct confkey_set *s, struct merr *err);
static int confkey_uri(const struct confkey_set *s, struct merr *err);
static int confkey_suites(const struct confkey_set *s, struct merr *err);
static int confkey_words(const struct confkey_set *s, struct merr *err);
static int confkey_signed_by(const struct confkey_set *s, struct merr *err);
static int confkey_algo(const struct confkey_set *s, struct merr *err);
static int confkey_selectors(const struct confkey_set *s, struct merr *err);
static int confkey_download(const struct confkey_set *s, struct merr *err);
static int confkey_unsatisfied(const struct confkey_set *s,
    struct merr *err);
static int confkey_blobs(const struct confkey_set *s, struct merr *err);
static int confkey_size(const struct confkey_set *s, struct merr *err);
static int confkey_region(const struct confkey_set *s, struct merr *err);
static int confkey_replica_of(const struct confkey_set *s,
    struct merr *err);

#define G(field) .where = KG, .goff = offsetof(struct conf, field)
#define M(field) .where = KM, .moff = offsetof(struct conf_mirror, field)
#define GM(field) .where = KG | KM, .goff = offsetof(struct conf, field), \
	.moff = offsetof(struct conf_mirror, field)
#define MW(field, count) M(field), \
	.noff = offsetof(struct conf_mirror, count)
#define WHOLE_MIRROR .where = KM, .moff = 0

static const struct confkey confkey_table[] = {
	{ "Store", confkey_path, CS_STR, G(store),
	    .sdef = "/var/lib/mirrord" },
	{ "Listen", confkey_listen, CS_STR, G(listen),
	    .sdef = "127.0.0.1:8080" },
	{ "Base-URL", confkey_url, CS_STR, G(base_url) },
	{ "Log-File", confkey_path, CS_STR, G(log_file) },
	{ "Access-Log", confkey_path, CS_STR, G(access_log) },
	{ "Connections", confkey_uint, CS_UINT, G(connections),
	    .min = 1, .max = 64, .def = 8 },
	{ "Retries", confkey_uint, CS_UINT, G(retries),
	    .min = 0, .max = 20, .def = 5 },
	{ "Connect-Timeout", confkey_duration, CS_LONG, G(connect_timeout),
	    .min = 1, .def = 30 },
	{ "Stall-Timeout", confkey_duration, CS_LONG, G(stall_timeout),
	    .min = 1, .def = 60 },
	{ "Clock-Skew", confkey_duration, CS_LONG, G(clock_skew),
	    .min = 0, .def = 600 },
	{ "Sync-Interval", confkey_duration, CS_LONG, GM(sync_interval),
	    .min = 1, .def = 6 * 3600 },
	{ "Max-Sync-Age", confkey_duration, CS_LONG, GM(max_sync_age),
	    .min = 1 },
	{ "Keep-Snapshots", confkey_keep, CS_STR, GM(keep_snapshots) },
	{ "Valid-For", confkey_duration, CS_LONG, G(valid_for), .min = 60 },
	{ "Signing-Key", confkey_path, CS_STR, G(signing_key) },
	{ "Gc-Grace", confkey_gc_grace, CS_LONG, G(gc_grace),
	    .min = CONFKEY_GC_GRACE_MIN, .def = 36 * 3600 },
	{ "Channel-History", confkey_uint, CS_UINT, G(channel_history),
	    .min = 1, .max = 10000, .def = 5 },
	{ "Fleet-Window", confkey_duration, CS_LONG, G(fleet_window),
	    .min = 60, .def = 24 * 3600 },
	{ "Serve-Threads", confkey_uint, CS_UINT, G(serve_threads),
	    .min = 1, .max = 256 },
	{ "Serve-Map-MiB", confkey_uint, CS_UINT, G(serve_map_mib),
	    .min = 0, .max = 1024 * 1024, .def = 64 },
	{ "Max-Clients", confkey_uint, CS_UINT, G(max_clients),
	    .min = 1, .max = 1000000, .def = 1024 },
	{ "Max-Clients-Per-IP", confkey_uint, CS_UINT, G(max_clients_per_ip),
	    .min = 1, .max = 1000000 },
	{ "Client-Timeout", confkey_duration, CS_LONG, G(client_timeout),
	    .min = 1, .def = 30 },
	{ "Trusted-Parts", confkey_path, CS_STR, G(trusted_parts),
	    .sdef = "/etc/apt/trusted.gpg.d" },
	/* Blob backends (issue 18): the file store or an S3 bucket. */
	{ "Blobs", confkey_blobs, CS_STR, G(blobs) },
	{ "S3-Endpoint", confkey_url, CS_STR, G(s3_endpoint) },
	{ "S3-Region", confkey_region, CS_STR, G(s3_region) },
	{ "S3-Credentials", confkey_path, CS_STR, G(s3_credentials) },
	{ "S3-Cache", confkey_size, CS_U64, G(s3_cache),
	    .min = 1024 * 1024, .def = 10L * 1024 * 1024 * 1024 },
	{ "S3-Redirect", confkey_bool, CS_BOOL, G(s3_redirect) },
	{ "S3-Redirect-Expiry", confkey_duration, CS_LONG,
	    G(s3_redirect_expiry), .min = 1, .max = 604800, .def = 300 },
	/* Read replicas (replica.h). */
	{ "Replica-Of", confkey_replica_of, CS_OTHER, G(replica_of) },
	{ "Replica-Interval", confkey_duration, CS_LONG, G(replica_interval),
	    .min = 1, .def = 5 },
	/* The mirror stanza's keys. */
	{ "Name", confkey_name, CS_STR, M(name) },
	{ "Types", confkey_types, CS_OTHER, WHOLE_MIRROR },
	{ "URIs", confkey_uri, CS_STR, M(uri) },
	{ "Suites", confkey_suites, CS_OTHER, MW(suites, nsuites) },
	{ "Components", confkey_words, CS_OTHER,
	    MW(components, ncomponents) },
	{ "Architectures", confkey_words, CS_OTHER, MW(arches, narches) },
	{ "Signed-By", confkey_signed_by, CS_OTHER, WHOLE_MIRROR },
	{ "Enabled", confkey_bool, CS_BOOL, M(enabled), .def = true },
	{ "Assert-Pubkey-Algo", confkey_algo, CS_STR, M(pubkey_algo) },
	{ "Strict", confkey_bool, CS_BOOL, M(strict) },
	{ "Include", confkey_selectors, CS_OTHER, MW(include, ninclude) },
	{ "Exclude", confkey_selectors, CS_OTHER, MW(exclude, nexclude) },
	{ "Include-Recommends", confkey_bool, CS_BOOL,
	    M(include_recommends) },
	{ "Include-Build-Depends", confkey_bool, CS_BOOL,
	    M(include_build_depends) },
	{ "Include-Unsatisfied", confkey_unsatisfied, CS_BOOL,
	    M(include_warn) },
	{ "Security-Suites", confkey_words, CS_OTHER,
	    MW(security_suites, nsecurity_suites) },
	{ "Security", confkey_bool, CS_BOOL, M(security_all) },
	{ "Security-Tracker", confkey_feed, CS_STR, M(security_tracker) },
	{ "Security-OSV", confkey_osv, CS_STR, M(security_osv) },
	{ "Download", confkey_download, CS_BOOL, M(on_demand) },
	{ "Prefetch", confkey_words, CS_OTHER, MW(prefetch, nprefetch) },
};

int
confkey_err(struct merr *err, const struct confkey_src *src, unsigned line,
    const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return merr_set(err, MERR_CONF, "'%s' line %u: %s", src->file, line,
	    msg);
}

/*
 * A value parser's error e for s's key: "'file' line N: 'Key' <msg>", or
 * "'Key': <msg>" with colon. typed names the key as the file spells it
 * (keys are case-insensitive), else as the table does.
 */
static int
confkey_verr(const struct confkey_set *s, bool typed, bool colon,
    const struct merr *e, struct merr *err)
{
	const char *name = typed ? s->f->name : s->k->name;
	int len = typed ? (int)s->f->name_len : (int)strlen(s->k->name);

	return confkey_err(err, s->src, s->f->line, "'%.*s'%s %s",
	    len, name, colon ? ":" : "", e->msg);
}

/* Replaces the owned string at p with v (taken). */
static void
confkey_put_str(void *p, char *v)
{
	char **sp = p;

	free(*sp);
	*sp = v;
}

/*
 * A one-word value: non-empty, no whitespace, not continued. Returns
 * 0 or MERR_CONF naming the key's line.
 */
static int
confkey_word(const struct confkey_set *s, struct merr *err)
{
	const struct deb822_field *f = s->f;
	size_t i;

	if (f->value_len == 0)
		return confkey_err(err, s->src, f->line,
		    "'%.*s' needs a value", (int)f->name_len, f->name);
	for (i = 0; i < f->value_len; i++)
		if (f->value[i] == ' ' || f->value[i] == '\t' ||
		    f->value[i] == '\n')
			return confkey_err(err, s->src, f->line,
			    "'%.*s' takes a single value", (int)f->name_len,
			    f->name);
	return 0;
}

/* A path key (Store, Log-File, Signing-Key...): one word, made absolute. */
static int
confkey_path(const struct confkey_set *s, struct merr *err)
{
	int rc = confkey_word(s, err);

	if (rc == 0)
		confkey_put_str(s->p, confval_abspath(s->src->dir, s->f->value,
		    s->f->value_len));
	return rc;
}

static int
confkey_listen(const struct confkey_set *s, struct merr *err)
{
	struct merr e;
	int rc = confkey_word(s, err);

	if (rc)
		return rc;
	if (confval_listen(s->f->value, &e) != 0)
		return confkey_verr(s, false, false, &e, err);
	confkey_put_str(s->p, xstrdup(s->f->value));
	return 0;
}

/* Base-URL: an http(s) URL. */
static int
confkey_url(const struct confkey_set *s, struct merr *err)
{
	struct merr e;
	char *u;
	int rc = confkey_word(s, err);

	if (rc)
		return rc;
	if (confval_http_url(s->f->value, "", &u, &e) != 0)
		return confkey_err(err, s->src, s->f->line, "%s", e.msg);
	confkey_put_str(s->p, u);
	return 0;
}

/* Replica-Of: the primary's http(s) URL, into a fixed array. */
static int
confkey_replica_of(const struct confkey_set *s, struct merr *err)
{
	struct confkey_set url = *s;
	char *u = NULL;
	int rc;

	url.p = &u;
	rc = confkey_url(&url, err);
	if (rc)
		return rc;
	if (strlen(u) > CONF_REPLICA_URL_MAX) {
		free(u);
		return confkey_err(err, s->src, s->f->line, "Replica-Of: "
		    "longer than %d bytes", CONF_REPLICA_URL_MAX);
	}
	memcpy(s->p, u, strlen(u) + 1);
	free(u);
	return 0;
}

/* An advisory feed: an http(s) URL, else a path. */
static int
confkey_feed(const struct confkey_set *s, struct merr *err)
{
	if (strncmp(s->f->value, "http://", 7) == 0 ||
	    strncmp(s->f->value, "https://", 8) == 0)
		return confkey_url(s, err);
	return confkey_path(s, err);
}

/*
 * Security-OSV: a folder. Ubuntu publishes its OSV records one file each
 * (a git repository, a tarball), never as one document to fetch.
 */
static int
confkey_osv(const struct confkey_set *s, struct merr *err)
{
	if (strncmp(s->f->value, "http://", 7) == 0 ||
	    strncmp(s->f->value, "https://", 8) == 0)
		return confkey_err(err, s->src, s->f->line, "'%.*s' takes a "
		    "folder of OSV records, not a URL (Ubuntu publishes them "
		    "one file each: sync them into a folder)",
		    (int)s->f->name_len, s->f->name);
	return confkey_path(s, err);
}

static int
confkey_uint(const struct confkey_set *s, struct merr *err)
{
	struct merr e;
	int rc = confkey_word(s, err);

	if (rc)
		return rc;
	if (confval_uint(s->f->value, s->f->value_len, (unsigned)s->k->min,
	    (unsigned)s->k->max, s->p, &e) != 0)
		return confkey_verr(s, true, false, &e, err);
	return 0;
}

/* A duration of at least min seconds into *out. */
static int
confkey_duration_min(const struct confkey_set *s, long min, long *out,
    struct merr *err)
{
	struct merr e;
	int rc = confkey_word(s, err);

	if (rc)
		return rc;
	if (confval_duration(s->f->value, s->f->value_len, out, &e) != 0)
		return confkey_verr(s, true, true, &e, err);
	if (*out < min)
		return confkey_err(err, s->src, s->f->line,
		    "'%.*s' must be at least %lds", (int)s->f->name_len,
		    s->f->name, min);
	return 0;
}

static int
confkey_duration(const struct confkey_set *s, struct merr *err)
{
	long *out = s->p;
	int rc = confkey_duration_min(s, s->k->min, out, err);

	if (rc == 0 && s->k->max > 0 && *out > s->k->max)
		rc = confkey_err(err, s->src, s->f->line, "'%.*s' must be "
		    "at most %lds", (int)s->f->name_len, s->f->name,
		    s->k->max);
	return rc;
}

/* Gc-Grace: a duration of at least CONFKEY_GC_GRACE_MIN (or the test's). */
static int
confkey_gc_grace(const struct confkey_set *s, struct merr *err)
{
	const char *env = getenv("MIRRORD_TEST_GC_GRACE_MIN");
	long min = s->k->min, *out = s->p;
	uint64_t u;
	int rc;

	if (env != NULL && parse_u64(env, strlen(env), LONG_MAX, &u) == 0)
		min = (long)u;
	rc = confkey_duration_min(s, 0, out, err);
	if (rc == 0 && *out < min)
		rc = confkey_err(err, s->src, s->f->line, "'Gc-Grace' "
		    "must be at least %ld%s, not '%s': clients in the middle "
		    "of an update would get 404s", min % 3600 ? min :
		    min / 3600, min % 3600 ? "s" : "h", s->f->value);
	return rc;
}

/* Keep-Snapshots: checked, and stored as written. */
static int
confkey_keep(const struct confkey_set *s, struct merr *err)
{
	struct merr e;
	unsigned n;
	long age;

	if (confval_keep(s->f->value, &age, &n, &e) != 0)
		return confkey_verr(s, false, true, &e, err);
	confkey_put_str(s->p, xstrndup(s->f->value, s->f->value_len));
	return 0;
}

static int
confkey_bool(const struct confkey_set *s, struct merr *err)
{
	struct merr e;

	if (confval_bool(s->f->value, s->f->value_len, s->p, &e) != 0)
		return confkey_verr(s, false, false, &e, err);
	return 0;
}

static int
confkey_name(const struct confkey_set *s, struct merr *err)
{
	int rc = confkey_word(s, err);

	if (rc)
		return rc;
	if (!confval_name(s->f->value, s->f->value_len))
		return confkey_err(err, s->src, s->f->line,
		    "invalid mirror name '%s' (want [a-z0-9][a-z0-9._-]*, at "
		    "most %d bytes)", s->f->value, CONFVAL_NAME_MAX);
	confkey_put_str(s->p, xstrdup(s->f->value));
	return 0;
}

static int
confkey_types(const struct confkey_set *s, struct merr *err)
{
	char **v;
	size_t n, i;
	int rc = 0;

	v = confval_split(s->f->value, s->f->value_len, &n);
	if (n == 0)
		rc = confkey_err(err, s->src, s->f->line,
		    "'Types' needs a value");
	for (i = 0; i < n && rc == 0; i++) {
		if (strcmp(v[i], "deb") == 0)
			s->m->deb = true;
		else if (strcmp(v[i], "deb-src") == 0)
			s->m->deb_src = true;
		else
			rc = confkey_err(err, s->src, s->f->line,
			    "unknown type '%s' (want deb and/or deb-src)",
			    v[i]);
	}
	strv_free(v, n);
	return rc;
}

static int
confkey_uri(const struct confkey_set *s, struct merr *err)
{
	struct merr e;
	char *u;

	if (confval_uri(s->src->dir, s->f->value, s->f->value_len, &u,
	    &e) != 0)
		return confkey_err(err, s->src, s->f->line, "%s", e.msg);
	confkey_put_str(s->p, u);
	return 0;
}

/* A word list (Suites, Components, Architectures): at least one word. */
static int
confkey_words(const struct confkey_set *s, struct merr *err)
{
	char ***vp = s->p;
	size_t *np = (size_t *)((char *)s->m + s->k->noff), n;
	struct merr e;
	char **v;

	if (confval_words(s->f->value, s->f->value_len, &v, &n, &e) != 0)
		return confkey_verr(s, true, true, &e, err);
	if (n == 0) {
		free(v);
		return confkey_err(err, s->src, s->f->line,
		    "'%.*s' needs a value", (int)s->f->name_len, s->f->name);
	}
	strv_free(*vp, *np);
	*vp = v;
	*np = n;
	return 0;
}

static int
confkey_suites(const struct confkey_set *s, struct merr *err)
{
	char **v;
	size_t n, i;

	/* Flat repositories ("Suites: ./") are checked before path_check. */
	v = confval_split(s->f->value, s->f->value_len, &n);
	for (i = 0; i < n; i++) {
		if (str_endswith(v[i], "/")) {
			confkey_err(err, s->src, s->f->line,
			    "suite '%s': flat repositories are not supported",
			    v[i]);
			strv_free(v, n);
			return MERR_CONF;
		}
	}
	strv_free(v, n);
	return confkey_words(s, err);
}

/* A keyring file that must be readable now; *out gets its absolute path. */
static int
confkey_keyring(const struct confkey_src *src, unsigned line, const char *s,
    char **out, struct merr *err)
{
	struct stat st;
	char *path;
	int fd;

	path = confval_abspath(src->dir, s, strlen(s));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		confkey_err(err, src, line,
		    "cannot open keyring '%s': %s", path, strerror(e));
		free(path);
		return MERR_CONF;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		confkey_err(err, src, line,
		    "keyring '%s' is not a regular file", path);
		free(path);
		return MERR_CONF;
	}
	close(fd);
	*out = path;
	return 0;
}

/* Whether c separates the words of a Signed-By list. */
static bool
confkey_is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == ',';
}

/* One word of a Signed-By list: a fingerprint or a keyring file. */
static int
confkey_signed_by_word(const struct confkey_set *s, const char *tok,
    struct merr *err)
{
	struct conf_mirror *m = s->m;
	struct merr e;
	char *v;
	int rc;

	if (confval_is_hex_id(tok, strlen(tok))) {
		if (confval_fingerprint(tok, &v, &e) != 0)
			return confkey_err(err, s->src, s->f->line,
			    "Signed-By: %s", e.msg);
		confval_strv_push(&m->key_fprs, &m->nkey_fprs, v);
		return 0;
	}
	rc = confkey_keyring(s->src, s->f->line, tok, &v, err);
	if (rc == 0)
		confval_strv_push(&m->keyrings, &m->nkeyrings, v);
	return rc;
}

/*
 * Signed-By, as apt 2.6 reads it: a value holding a BEGIN PGP PUBLIC KEY
 * BLOCK line is an inline key block; any other value is a list, split on
 * white space and commas, of keyring files and fingerprints that narrow
 * them. A fingerprint is 40 hex digits, with a trailing '!' for that key
 * alone (not its subkeys); apt refuses short key IDs and anything else
 * that is not a path ("not a fingerprint"), and so does mirrord. Paths may
 * be relative to the file (apt wants them absolute).
 */
static int
confkey_signed_by(const struct confkey_set *s, struct merr *err)
{
	const struct deb822_field *f = s->f;
	struct merr e;
	size_t i = 0, start;
	char *tok;
	int rc = 0;

	if (confval_has_keyblock(f->value, f->value_len)) {
		if (confval_keyblock(f->value, f->value_len, &tok, &e) != 0)
			return confkey_err(err, s->src, f->line,
			    "Signed-By: %s", e.msg);
		confkey_put_str(&s->m->keyblock, tok);
		return 0;
	}
	while (rc == 0 && i < f->value_len) {
		while (i < f->value_len && confkey_is_sep(f->value[i]))
			i++;
		if (i == f->value_len)
			break;
		start = i;
		while (i < f->value_len && !confkey_is_sep(f->value[i]))
			i++;
		tok = xstrndup(f->value + start, i - start);
		rc = confkey_signed_by_word(s, tok, err);
		free(tok);
	}
	if (rc == 0 && s->m->nkeyrings == 0 && s->m->nkey_fprs == 0)
		rc = confkey_err(err, s->src, f->line,
		    "Signed-By needs a keyring file, fingerprints or an "
		    "inline key");
	return rc;
}

static int
confkey_algo(const struct confkey_set *s, struct merr *err)
{
	const char *why = gpgpolicy_check(s->f->value);

	if (why != NULL)
		return confkey_err(err, s->src, s->f->line,
		    "'Assert-Pubkey-Algo': %s in '%s'", why, s->f->value);
	confkey_put_str(s->p, xstrdup(s->f->value));
	return 0;
}

/*
 * One selector of Include:/Exclude: (file: ones are expanded before):
 * priority:LEVEL, section:GLOB, or a package name or glob. What it
 * matches is the resolver's business; here only its shape, so that a
 * typo fails at load time and not at the next sync.
 */
static const char *
confkey_selector_bad(const char *v)
{
	static const char *const levels[] = { "required", "important",
	    "standard", "optional", "extra" };
	size_t i;

	if (strncmp(v, "priority:", 9) == 0) {
		for (i = 0; i < ARRAY_SIZE(levels); i++)
			if (strcmp(v + 9, levels[i]) == 0)
				return NULL;
		return "wants priority:required, important, standard, "
		    "optional or extra";
	}
	if (strncmp(v, "section:", 8) == 0)
		v += 8;
	else if (strchr(v, ':') != NULL)
		return "is not a name, a glob, priority:LEVEL, section:NAME "
		    "or file:PATH";
	if (*v == '\0')
		return "is empty";
	for (; *v; v++)
		if (!islower((unsigned char)*v) && !isdigit((unsigned char)*v)
		    && strchr("+-.*?[]!/_", *v) == NULL)
			return "holds a character no package name has";
	return NULL;
}

/* Appends the selectors of file:PATH (one a line, # comments) to *v. */
static int
confkey_selector_file(const struct confkey_set *s, const char *rel,
    char ***v, size_t *n, struct merr *err)
{
	char *path = confval_abspath(s->src->dir, rel, strlen(rel));
	char *data, *line, *save = NULL;
	size_t len;
	struct merr e;
	int rc;

	rc = read_file(path, 1u << 20, &data, &len, &e);
	if (rc) {
		rc = confkey_err(err, s->src, s->f->line, "'%.*s': "
		    "file:%s: %s", (int)s->f->name_len, s->f->name, rel,
		    e.msg);
		free(path);
		return rc;
	}
	free(path);
	for (line = strtok_r(data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#'), **w;
		size_t nw, i;

		if (hash)
			*hash = '\0';
		w = confval_split(line, strlen(line), &nw);
		for (i = 0; i < nw; i++) {
			*v = xreallocarray(*v, *n + 1, sizeof(**v));
			(*v)[(*n)++] = w[i];
		}
		free(w);
	}
	free(data);
	return 0;
}

static int
confkey_selectors(const struct confkey_set *s, struct merr *err)
{
	char ***vp = s->p, **in, **v = NULL;
	size_t *np = (size_t *)((char *)s->m + s->k->noff), nin, n = 0, i;
	const char *why;
	int rc = 0;

	in = confval_split(s->f->value, s->f->value_len, &nin);
	for (i = 0; i < nin && rc == 0; i++) {
		if (strncmp(in[i], "file:", 5) == 0) {
			rc = confkey_selector_file(s, in[i] + 5, &v, &n, err);
			continue;
		}
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup(in[i]);
	}
	strv_free(in, nin);
	for (i = 0; i < n && rc == 0; i++)
		if ((why = confkey_selector_bad(v[i])) != NULL)
			rc = confkey_err(err, s->src, s->f->line,
			    "'%.*s': selector '%s' %s", (int)s->f->name_len,
			    s->f->name, v[i], why);
	if (rc == 0 && n == 0)
		rc = confkey_err(err, s->src, s->f->line, "'%.*s' needs a "
		    "value", (int)s->f->name_len, s->f->name);
	if (rc) {
		strv_free(v, n);
		return rc;
	}
	strv_free(*vp, *np);
	*vp = v;
	*np = n;
	return 0;
}

static int
confkey_unsatisfied(const struct confkey_set *s, struct merr *err)
{
	bool *warn = s->p;

	if (strcmp(s->f->value, "error") == 0)
		*warn = false;
	else if (strcmp(s->f->value, "warn") == 0)
		*warn = true;
	else
		return confkey_err(err, s->src, s->f->line,
		    "'%.*s' wants error or warn, not '%s'",
		    (int)s->f->name_len, s->f->name, s->f->value);
	return 0;
}

static int
confkey_download(const struct confkey_set *s, struct merr *err)
{
	bool *on_demand = s->p;

	if (strcmp(s->f->value, "immediate") == 0)
		*on_demand = false;
	else if (strcmp(s->f->value, "on-demand") == 0)
		*on_demand = true;
	else
		return confkey_err(err, s->src, s->f->line,
		    "'%.*s' wants immediate or on-demand, not '%s'",
		    (int)s->f->name_len, s->f->name, s->f->value);
	return 0;
}

/*
 * Blobs: "file" (the default: NULL) or "s3://BUCKET[/PREFIX]", with a
 * bucket name as S3 allows (3 to 63 of [a-z0-9.-]) and a prefix of
 * path segments without empty, "." or ".." ones (s3.c checks it again).
 */
static int
confkey_blobs(const struct confkey_set *s, struct merr *err)
{
	const char *v = s->f->value, *b, *slash;
	size_t blen;
	int rc = confkey_word(s, err);

	if (rc)
		return rc;
	if (strcmp(v, "file") == 0) {
		confkey_put_str(s->p, NULL);
		return 0;
	}
	if (strncmp(v, "s3://", 5) != 0)
		goto bad;
	b = v + 5;
	slash = strchr(b, '/');
	blen = slash ? (size_t)(slash - b) : strlen(b);
	if (blen < 3 || blen > 63 || strspn(b, "abcdefghijklmnopqrstuvwxyz"
	    "0123456789.-") < blen)
		goto bad;
	if (slash != NULL && (slash[1] == '\0' || strstr(slash, "//") ||
	    strstr(slash, "/./") || strstr(slash, "/../") ||
	    v[strlen(v) - 1] == '/' || strcmp(slash, "/.") == 0 ||
	    strcmp(slash, "/..") == 0))
		goto bad;
	confkey_put_str(s->p, xstrdup(v));
	return 0;
bad:
	return confkey_err(err, s->src, s->f->line, "'%.*s' wants file or "
	    "s3://BUCKET[/PREFIX], not '%s'", (int)s->f->name_len,
	    s->f->name, v);
}

/* S3-Region: one word of [a-z0-9-] ("us-east-1", "eu-central-1"). */
static int
confkey_region(const struct confkey_set *s, struct merr *err)
{
	int rc = confkey_word(s, err);

	if (rc)
		return rc;
	if (strspn(s->f->value, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
	    s->f->value_len)
		return confkey_err(err, s->src, s->f->line, "'%.*s': not a "
		    "region name: '%s'", (int)s->f->name_len, s->f->name,
		    s->f->value);
	confkey_put_str(s->p, xstrdup(s->f->value));
	return 0;
}

/*
 * A size (S3-Cache): a number of bytes with an optional binary suffix
 * K, M, G or T (KiB... as du prints them; "10G" is 10 GiB), at least
 * the key's min.
 */
static int
confkey_size(const struct confkey_set *s, struct merr *err)
{
	static const char units[] = "KMGT";
	const char *v = s->f->value, *u;
	size_t len = s->f->value_len, digits = strspn(v, "0123456789");
	uint64_t n, mul = 1, *out = s->p;
	int rc = confkey_word(s, err);

	if (rc)
		return rc;
	if (digits > 0 && digits + 1 == len && v[digits] != '\0' &&
	    (u = strchr(units, toupper((unsigned char)v[digits]))) != NULL)
		mul = (uint64_t)1 << (10 * (u - units + 1));
	else if (digits != len)
		digits = 0;
	if (digits == 0 || parse_u64(v, digits, UINT64_MAX / mul, &n) != 0)
		return confkey_err(err, s->src, s->f->line, "'%.*s' wants a "
		    "size (bytes, or a number with K, M, G or T), not '%s'",
		    (int)s->f->name_len, s->f->name, v);
	if (n * mul < (uint64_t)s->k->min)
		return confkey_err(err, s->src, s->f->line, "'%.*s' must be "
		    "at least %ldM", (int)s->f->name_len, s->f->name,
		    s->k->min / (1024 * 1024));
	*out = n * mul;
	return 0;
}

/*
 * Sets every field of base (a struct conf for KG, a struct conf_mirror
 * for KM) to its key's default. A key of both stanzas defaults to 0 in a
 * mirror: "the global value".
 */
void
confkey_defaults(void *base, int where)
{
	const struct confkey *k;
	char *p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(confkey_table); i++) {
		k = &confkey_table[i];
		if (!(k->where & where) || (where == KM && (k->where & KG)))
			continue;
		p = (char *)base + (where == KG ? k->goff : k->moff);
		if (k->store == CS_STR && k->sdef != NULL)
			confkey_put_str(p, xstrdup(k->sdef));
		else if (k->store == CS_UINT)
			*(unsigned *)(void *)p = (unsigned)k->def;
		else if (k->store == CS_U64)
			*(uint64_t *)(void *)p = (uint64_t)k->def;
		else if (k->store == CS_LONG)
			*(long *)(void *)p = k->def;
		else if (k->store == CS_BOOL)
			*(bool *)p = k->def != 0;
	}
}

static const struct confkey *
confkey_lookup(const struct deb822_field *f)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(confkey_table); i++)
		if (str_ieq(f->name, f->name_len, confkey_table[i].name))
			return &confkey_table[i];
	return NULL;
}

/*
 * Sets the key of field f in base (a struct conf for KG, a struct
 * conf_mirror for KM): an unknown key, or one of the other stanza, is an
 * error naming the line.
 */
int
confkey_apply(const struct confkey_src *src, const struct deb822_field *f,
    int where, void *base, struct merr *err)
{
	const struct confkey *k = confkey_lookup(f);
	struct confkey_set s;
	char q[128];

	if (k == NULL) {
		path_quote(f->name, f->name_len, q, sizeof(q));
		return confkey_err(err, src, f->line,
		    "unknown key '%s'", q);
	}
	if (!(k->where & where) && where == KG)
		return confkey_err(err, src, f->line, "'%s' belongs in "
		    "a mirror stanza, and this stanza has no 'Name'", k->name);
	if (!(k->where & where))
		return confkey_err(err, src, f->line, "global key '%s' "
		    "is not allowed in %s", k->name, src->mirrors_d ?
		    "mirrors.d" : "a mirror stanza");
	s.src = src;
	s.k = k;
	s.f = f;
	s.p = (char *)base + (where == KG ? k->goff : k->moff);
	s.m = where == KM ? base : NULL;
	return k->set(&s, err);
}
