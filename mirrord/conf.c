/*
 * conf.c: loads mirrord.conf and mirrors.d/ *.sources files (deb822).
 *
 * Every stanza is checked key by key against one table that says where a
 * key may appear (global stanza, mirror stanza, or both); every message
 * names the file and the line of the offending key, or of the stanza for a
 * missing key. Relative paths are resolved against the realpath() of the
 * directory of the file that holds them, then normalised lexically (the
 * target, e.g. the store, need not exist yet).
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/deb822.h"
#include "mirrord/gpg.h"
#include "mirrord/gpgpolicy.h"
#include "mirrord/hash.h"
#include "mirrord/log.h"
#include "mirrord/path.h"

#define CONF_MAX_FILE (1024 * 1024)
#define CONF_NAME_MAX 64
/*
 * The least Gc-Grace: a blob must outlive the longest client update that
 * may still ask for it (an apt run that read a channel's InRelease before
 * a promotion, then fetches indices and packages on a slow link). Tests
 * lower it with MIRRORD_TEST_GC_GRACE_MIN (seconds) to see gc remove
 * blobs at once.
 */
#define CONF_GC_GRACE_MIN 3600

/* Where a stanza comes from. */
struct conf_src {
	const char *file;	/* as shown in messages */
	const char *dir;	/* realpath of the file's directory */
	bool mirrors_d;		/* in mirrors.d: mirrors only */
};

enum conf_key {
	K_STORE, K_LISTEN, K_BASE_URL, K_LOG_FILE, K_ACCESS_LOG, K_CONNECTIONS,
	K_RETRIES, K_CONNECT_TIMEOUT, K_STALL_TIMEOUT, K_CLOCK_SKEW,
	K_SYNC_INTERVAL, K_KEEP_SNAPSHOTS, K_VALID_FOR, K_SIGNING_KEY,
	K_GC_GRACE, K_SERVE_THREADS, K_SERVE_MAP_MIB, K_MAX_CLIENTS,
	K_MAX_CLIENTS_PER_IP, K_CLIENT_TIMEOUT, K_CHANNEL_HISTORY, K_NAME,
	K_TYPES, K_URIS, K_SUITES, K_COMPONENTS, K_ARCHES, K_SIGNED_BY,
	K_ENABLED, K_PUBKEY_ALGO, K_TRUSTED_PARTS, K_MAX_SYNC_AGE, K_STRICT
};

#define KG 1	/* allowed in the global stanza */
#define KM 2	/* allowed in a mirror stanza */

static const struct {
	const char *name;
	enum conf_key key;
	int where;
} conf_keys[] = {
	{ "Store", K_STORE, KG },
	{ "Listen", K_LISTEN, KG },
	{ "Base-URL", K_BASE_URL, KG },
	{ "Log-File", K_LOG_FILE, KG },
	{ "Access-Log", K_ACCESS_LOG, KG },
	{ "Connections", K_CONNECTIONS, KG },
	{ "Retries", K_RETRIES, KG },
	{ "Connect-Timeout", K_CONNECT_TIMEOUT, KG },
	{ "Stall-Timeout", K_STALL_TIMEOUT, KG },
	{ "Clock-Skew", K_CLOCK_SKEW, KG },
	{ "Sync-Interval", K_SYNC_INTERVAL, KG | KM },
	{ "Max-Sync-Age", K_MAX_SYNC_AGE, KG | KM },
	{ "Keep-Snapshots", K_KEEP_SNAPSHOTS, KG | KM },
	/* Accepted now, used by later features. */
	{ "Valid-For", K_VALID_FOR, KG },
	{ "Signing-Key", K_SIGNING_KEY, KG },
	{ "Gc-Grace", K_GC_GRACE, KG },
	{ "Channel-History", K_CHANNEL_HISTORY, KG },
	{ "Serve-Threads", K_SERVE_THREADS, KG },
	{ "Serve-Map-MiB", K_SERVE_MAP_MIB, KG },
	{ "Max-Clients", K_MAX_CLIENTS, KG },
	{ "Max-Clients-Per-IP", K_MAX_CLIENTS_PER_IP, KG },
	{ "Client-Timeout", K_CLIENT_TIMEOUT, KG },
	{ "Trusted-Parts", K_TRUSTED_PARTS, KG },
	{ "Name", K_NAME, KM },
	{ "Types", K_TYPES, KM },
	{ "URIs", K_URIS, KM },
	{ "Suites", K_SUITES, KM },
	{ "Components", K_COMPONENTS, KM },
	{ "Architectures", K_ARCHES, KM },
	{ "Signed-By", K_SIGNED_BY, KM },
	{ "Enabled", K_ENABLED, KM },
	{ "Assert-Pubkey-Algo", K_PUBKEY_ALGO, KM },
	{ "Strict", K_STRICT, KM },
};

static int
conf_err(struct merr *err, int code, const struct conf_src *src,
    unsigned line, const char *fmt, ...) ATTR_PRINTF(5, 6);
static int conf_cmp_names(const void *a, const void *b);

/* Sets err to "'file' line N: <fmt>". */
static int
conf_err(struct merr *err, int code, const struct conf_src *src,
    unsigned line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return merr_set(err, code, "'%s' line %u: %s", src->file, line, msg);
}

static bool
conf_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/*
 * Splits a value on spaces, tabs and newlines (continuation lines) into
 * an owned array of owned strings.
 */
static char **
conf_split(const char *s, size_t len, size_t *n)
{
	char **v = NULL;
	size_t i = 0, cnt = 0, cap = 0;

	while (i < len) {
		size_t start;

		while (i < len && conf_isspace(s[i]))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !conf_isspace(s[i]))
			i++;
		if (cnt == cap) {
			cap = cap ? 2 * cap : 8;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[cnt++] = xstrndup(s + start, i - start);
	}
	*n = cnt;
	return v;
}

static void
conf_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * A one-word value: non-empty, no whitespace, not continued. Returns
 * 0 or MERR_CONF naming the key's line.
 */
static int
conf_word(const struct conf_src *src, const struct deb822_field *f,
    struct merr *err)
{
	size_t i;

	if (f->value_len == 0)
		return conf_err(err, MERR_CONF, src, f->line,
		    "'%.*s' needs a value", (int)f->name_len, f->name);
	for (i = 0; i < f->value_len; i++)
		if (conf_isspace(f->value[i]))
			return conf_err(err, MERR_CONF, src, f->line,
			    "'%.*s' takes a single value", (int)f->name_len,
			    f->name);
	return 0;
}

/* For hash_index: whether word pos of ctx (words, key last) is the key. */
struct conf_word_key {
	char *const *v;
	const char *key;
};

static bool
conf_word_eq(const void *ctx, size_t pos)
{
	const struct conf_word_key *k = ctx;

	return strcmp(k->v[pos], k->key) == 0;
}

static uint32_t
conf_hash(const char *s)
{
	return hash_fnv1a(HASH_FNV1A_INIT, s, strlen(s));
}

/*
 * A multi-word value: at least one word; words must pass path_check()
 * (they end up in URLs and file names) and be unique (checked through a
 * hash index: a stanza may list thousands of suites). *out is owned.
 */
static int
conf_words(const struct conf_src *src, const struct deb822_field *f,
    char ***out, size_t *n, struct merr *err)
{
	struct hash_index seen = HASH_INDEX_INIT;
	char **v;
	size_t cnt, i;

	v = conf_split(f->value, f->value_len, &cnt);
	if (cnt == 0) {
		free(v);
		return conf_err(err, MERR_CONF, src, f->line,
		    "'%.*s' needs a value", (int)f->name_len, f->name);
	}
	for (i = 0; i < cnt; i++) {
		struct merr e;

		if (path_check(v[i], strlen(v[i]), &e) != 0) {
			conf_err(err, MERR_CONF, src, f->line, "'%.*s': %s",
			    (int)f->name_len, f->name, e.msg);
			goto fail;
		}
		{
			struct conf_word_key k = { v, v[i] };
			uint32_t h = conf_hash(v[i]);

			if (hash_index_find(&seen, h, conf_word_eq, &k) !=
			    SIZE_MAX) {
				conf_err(err, MERR_CONF, src, f->line,
				    "'%.*s': '%s' given twice",
				    (int)f->name_len, f->name, v[i]);
				goto fail;
			}
			hash_index_add(&seen, h, i);
		}
	}
	hash_index_release(&seen);
	*out = v;
	*n = cnt;
	return 0;
fail:
	hash_index_release(&seen);
	conf_strv_free(v, cnt);
	return MERR_CONF;
}

/*
 * Joins dir and p (p alone if absolute) and normalises the result
 * lexically: no empty, "." or ".." segments, no trailing '/'. Owned.
 */
static char *
conf_abspath(const char *dir, const char *p, size_t len)
{
	struct buf b = BUF_INIT;
	const char *s, *end;

	if (len == 0 || p[0] != '/') {
		buf_adds(&b, dir);
		buf_addc(&b, '/');
	}
	buf_add(&b, p, len);

	/* Rewrite in place: the output never outgrows the input. */
	{
		char *o = b.p;
		size_t olen = 0;

		s = b.p;
		end = b.p + b.len;
		while (s < end) {
			const char *seg;
			size_t n;

			while (s < end && *s == '/')
				s++;
			seg = s;
			while (s < end && *s != '/')
				s++;
			n = (size_t)(s - seg);
			if (n == 0 || (n == 1 && seg[0] == '.'))
				continue;
			if (n == 2 && seg[0] == '.' && seg[1] == '.') {
				while (olen > 0 && o[olen - 1] != '/')
					olen--;
				if (olen > 0)
					olen--;
				continue;
			}
			o[olen++] = '/';
			memmove(o + olen, seg, n);
			olen += n;
		}
		if (olen == 0)
			o[olen++] = '/';
		b.len = olen;
		b.p[olen] = '\0';
	}
	return buf_detach(&b, NULL);
}

/* A path key (Store, Log-File, Signed-By): one word, made absolute. */
static int
conf_path(const struct conf_src *src, const struct deb822_field *f,
    char **out, struct merr *err)
{
	int rc = conf_word(src, f, err);

	if (rc)
		return rc;
	*out = conf_abspath(src->dir, f->value, f->value_len);
	return 0;
}

int
conf_parse_duration(const char *s, size_t len, long *secs, struct merr *err)
{
	uint64_t n, mult = 1;
	size_t dlen = len;

	if (len > 0) {
		switch (s[len - 1]) {
		case 's': mult = 1; dlen--; break;
		case 'm': mult = 60; dlen--; break;
		case 'h': mult = 3600; dlen--; break;
		case 'd': mult = 86400; dlen--; break;
		case 'w': mult = 7 * 86400; dlen--; break;
		default: break;
		}
	}
	if (parse_u64(s, dlen, (uint64_t)LONG_MAX / mult, &n) != 0)
		return merr_set(err, MERR_PARSE, "invalid duration '%.*s' "
		    "(want a number and s, m, h, d or w)", (int)len, s);
	*secs = (long)(n * mult);
	return 0;
}

/* A duration key, at least min seconds. */
static int
conf_duration(const struct conf_src *src, const struct deb822_field *f,
    long min, long *out, struct merr *err)
{
	int rc = conf_word(src, f, err);

	if (rc)
		return rc;
	rc = conf_parse_duration(f->value, f->value_len, out, err);
	if (rc) {
		merr_prefix(err, "'%s' line %u: '%.*s': ", src->file, f->line,
		    (int)f->name_len, f->name);
		if (err != NULL)
			err->code = MERR_CONF;
		return MERR_CONF;
	}
	if (*out < min)
		return conf_err(err, MERR_CONF, src, f->line,
		    "'%.*s' must be at least %lds", (int)f->name_len, f->name,
		    min);
	return 0;
}

/* An integer key in [min, max]. */
static int
conf_uint(const struct conf_src *src, const struct deb822_field *f,
    unsigned min, unsigned max, unsigned *out, struct merr *err)
{
	uint64_t v;
	int rc = conf_word(src, f, err);

	if (rc)
		return rc;
	if (parse_u64(f->value, f->value_len, max, &v) != 0 || v < min)
		return conf_err(err, MERR_CONF, src, f->line,
		    "'%.*s' must be a number from %u to %u, not '%s'",
		    (int)f->name_len, f->name, min, max, f->value);
	*out = (unsigned)v;
	return 0;
}

/* Gc-Grace: a duration of at least CONF_GC_GRACE_MIN (or the test's). */
static int
conf_gc_grace(const struct conf_src *src, const struct deb822_field *f,
    long *out, struct merr *err)
{
	const char *env = getenv("MIRRORD_TEST_GC_GRACE_MIN");
	long min = CONF_GC_GRACE_MIN;
	uint64_t u;
	int rc;

	if (env != NULL && parse_u64(env, strlen(env), LONG_MAX, &u) == 0)
		min = (long)u;
	rc = conf_duration(src, f, 0, out, err);
	if (rc == 0 && *out < min)
		rc = conf_err(err, MERR_CONF, src, f->line, "'Gc-Grace' must "
		    "be at least %ld%s, not '%s': clients in the middle of an "
		    "update would get 404s", min % 3600 ? min : min / 3600,
		    min % 3600 ? "s" : "h", f->value);
	return rc;
}

/* Keep-Snapshots: a count or an age, stored as written. */
int
conf_parse_keep(const char *s, long *max_age, unsigned *last_n,
    struct merr *err)
{
	char *copy = xstrdup(s), *w, *save = NULL;
	bool have_age = false, have_last = false;
	int rc = 0;

	*max_age = 0;
	*last_n = 0;
	for (w = strtok_r(copy, " \t\n", &save); w && rc == 0;
	    w = strtok_r(NULL, " \t\n", &save)) {
		if (strcmp(w, "last") == 0) {
			uint64_t n;

			w = strtok_r(NULL, " \t\n", &save);
			if (have_last || w == NULL ||
			    parse_u64(w, strlen(w), 1000000, &n) || n == 0)
				rc = merr_set(err, MERR_CONF, "'last' needs a "
				    "count from 1, once");
			else
				*last_n = (unsigned)n;
			have_last = true;
			continue;
		}
		/* A bare number would be seconds: surely not what was meant. */
		if (have_age || strspn(w, "0123456789") == strlen(w) ||
		    conf_parse_duration(w, strlen(w), max_age, err) ||
		    *max_age <= 0)
			rc = merr_set(err, MERR_CONF, "invalid '%s': want a "
			    "duration such as 30d, 'last N', or both", w);
		have_age = true;
	}
	if (rc == 0 && !have_age && !have_last)
		rc = merr_set(err, MERR_CONF,
		    "want a duration such as 30d, 'last N', or both");
	free(copy);
	return rc;
}

static int
conf_keep(const struct conf_src *src, const struct deb822_field *f,
    char **out, struct merr *err)
{
	unsigned n;
	long age;
	int rc;

	rc = conf_parse_keep(f->value, &age, &n, err);
	if (rc) {
		merr_prefix(err, "'%s' line %u: 'Keep-Snapshots': ", src->file,
		    f->line);
		return rc;
	}
	free(*out);
	*out = xstrndup(f->value, f->value_len);
	return 0;
}

/* Listen: HOST:PORT or [V6]:PORT. */
static int
conf_listen(const struct conf_src *src, const struct deb822_field *f,
    struct merr *err)
{
	const char *colon;
	uint64_t port;
	size_t hlen;
	int rc = conf_word(src, f, err);

	if (rc)
		return rc;
	colon = strrchr(f->value, ':');
	hlen = colon ? (size_t)(colon - f->value) : 0;
	if (colon == NULL || hlen == 0 ||
	    (f->value[0] == '[' && f->value[hlen - 1] != ']') ||
	    parse_u64(colon + 1, strlen(colon + 1), 65535, &port) != 0 ||
	    port == 0)
		return conf_err(err, MERR_CONF, src, f->line,
		    "'Listen' must be HOST:PORT or [ADDRESS]:PORT, not '%s'",
		    f->value);
	return 0;
}

/*
 * An http:// or https:// URL; *out gets it without trailing '/'. hint
 * completes the list of accepted schemes in the message.
 */
static int
conf_http_url(const struct conf_src *src, const struct deb822_field *f,
    const char *u, const char *hint, char **out, struct merr *err)
{
	const char *host;
	size_t len = strlen(u);

	if (str_startswith(u, "http://"))
		host = u + 7;
	else if (str_startswith(u, "https://"))
		host = u + 8;
	else
		return conf_err(err, MERR_CONF, src, f->line,
		    "unsupported URI '%s' (want http://%s https://%s)", u,
		    hint[0] ? "," : " or", hint);
	if (*host == '\0' || *host == '/')
		return conf_err(err, MERR_CONF, src, f->line,
		    "URI '%s' has no host", u);
	while (len > 0 && u[len - 1] == '/')
		len--;
	*out = xstrndup(u, len);
	return 0;
}

/*
 * URIs: exactly one, http(s) or file. "file:///abs" and "file:/abs" are
 * absolute; "file:rel/path" is relative to the file's directory. File
 * URIs are stored normalised as "file:///abs/path".
 */
static int
conf_uri(const struct conf_src *src, const struct deb822_field *f,
    char **out, struct merr *err)
{
	char **v, *path;
	size_t n;
	int rc;

	v = conf_split(f->value, f->value_len, &n);
	if (n != 1) {
		conf_strv_free(v, n);
		return conf_err(err, MERR_CONF, src, f->line,
		    "'URIs' must hold exactly one URI");
	}
	if (str_startswith(v[0], "file:")) {
		const char *p = v[0] + 5;

		if (str_startswith(p, "//")) {
			if (p[2] != '/') {
				rc = conf_err(err, MERR_CONF, src, f->line,
				    "file URI '%s' must not name a host "
				    "(want file:///path)", v[0]);
				goto out;
			}
			p += 2;
		}
		if (*p == '\0') {
			rc = conf_err(err, MERR_CONF, src, f->line,
			    "file URI '%s' has no path", v[0]);
			goto out;
		}
		path = conf_abspath(src->dir, p, strlen(p));
		if (strcmp(path, "/") == 0) {
			/* Surely a mistake; and uri has no trailing '/'. */
			free(path);
			rc = conf_err(err, MERR_CONF, src, f->line,
			    "file URI '%s' names the root directory, not an "
			    "archive", v[0]);
			goto out;
		}
		*out = xasprintf("file://%s", path);
		free(path);
		rc = 0;
	} else {
		rc = conf_http_url(src, f, v[0], " or file:", out, err);
	}
out:
	conf_strv_free(v, n);
	return rc;
}

/*
 * True if s is made of hex digits (after an optional "0x", before an
 * optional '!'): meant as a key ID or fingerprint, not as a path (a keyring
 * file's name has a dot).
 */
static bool
conf_is_hex_id(const char *s, size_t len)
{
	size_t i;

	if (len > 0 && s[len - 1] == '!')
		len--;
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* A keyring file that must be readable now; *out gets its absolute path. */
static int
conf_keyring(const struct conf_src *src, unsigned line, const char *s,
    char **out, struct merr *err)
{
	struct stat st;
	char *path;
	int fd;

	path = conf_abspath(src->dir, s, strlen(s));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		conf_err(err, MERR_CONF, src, line,
		    "cannot open keyring '%s': %s", path, strerror(e));
		free(path);
		return MERR_CONF;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		conf_err(err, MERR_CONF, src, line,
		    "keyring '%s' is not a regular file", path);
		free(path);
		return MERR_CONF;
	}
	close(fd);
	*out = path;
	return 0;
}

#define KEY_BEGIN "-----BEGIN PGP PUBLIC KEY BLOCK-----"
#define KEY_END "-----END PGP PUBLIC KEY BLOCK-----"

/*
 * An inline key block, normalised as apt does (debmetaindex.cc): every
 * line stripped, a "." line standing for an empty one. It must be one
 * block, alone in the field: apt takes a value holding a BEGIN line as a
 * key block whole, so a path or fingerprint beside it would be key data.
 */
static int
conf_keyblock(const struct conf_src *src, const struct deb822_field *f,
    struct conf_mirror *m, struct merr *err)
{
	const char *p = f->value, *end = f->value + f->value_len, *nl, *s, *e;
	enum { BEFORE, IN, AFTER } state = BEFORE;
	struct buf b;

	buf_init(&b);
	for (; p < end; p = nl < end ? nl + 1 : end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		for (s = p; s < nl && conf_isspace(*s); s++)
			;
		for (e = nl; e > s && (conf_isspace(e[-1]) || e[-1] == '\r');
		    e--)
			;
		if (e - s == 1 && *s == '.')
			e = s;
		if (state == BEFORE && e == s)
			continue;
		if (state == AFTER && e > s)
			break;
		if (state == BEFORE) {
			if ((size_t)(e - s) != strlen(KEY_BEGIN) ||
			    memcmp(s, KEY_BEGIN, strlen(KEY_BEGIN)) != 0)
				break;
			state = IN;
		} else if (state == IN && (size_t)(e - s) == strlen(KEY_END) &&
		    memcmp(s, KEY_END, strlen(KEY_END)) == 0) {
			state = AFTER;
		}
		buf_add(&b, s, (size_t)(e - s));
		buf_addc(&b, '\n');
	}
	if (state != AFTER || p < end) {
		buf_release(&b);
		return conf_err(err, MERR_CONF, src, f->line,
		    "Signed-By: an inline key must be one '" KEY_BEGIN "' "
		    "block ending in '" KEY_END "', with nothing before or "
		    "after it");
	}
	free(m->keyblock);
	m->keyblock = buf_detach(&b, NULL);
	return 0;
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
conf_signed_by(const struct conf_src *src, const struct deb822_field *f,
    struct conf_mirror *m, struct merr *err)
{
	size_t i = 0, start, n;
	char *tok, *path;
	int rc = 0;

	if (memmem(f->value, f->value_len, KEY_BEGIN,
	    strlen(KEY_BEGIN)) != NULL)
		return conf_keyblock(src, f, m, err);
	while (rc == 0 && i < f->value_len) {
		while (i < f->value_len && (conf_isspace(f->value[i]) ||
		    f->value[i] == ','))
			i++;
		if (i == f->value_len)
			break;
		start = i;
		while (i < f->value_len && !conf_isspace(f->value[i]) &&
		    f->value[i] != ',')
			i++;
		tok = xstrndup(f->value + start, i - start);
		n = strlen(tok);
		if (conf_is_hex_id(tok, n)) {
			bool bang = tok[n - 1] == '!';

			if (n - bang != GPG_FPR_LEN ||
			    strspn(tok, "0123456789abcdefABCDEF") !=
			    GPG_FPR_LEN)
				rc = conf_err(err, MERR_CONF, src, f->line,
				    "Signed-By: '%s' is not a fingerprint "
				    "(want 40 hex digits, as apt does; key "
				    "IDs are not accepted)", tok);
			else {
				for (start = 0; start < GPG_FPR_LEN; start++)
					tok[start] = (char)toupper(
					    (unsigned char)tok[start]);
				m->key_fprs = xreallocarray(m->key_fprs,
				    m->nkey_fprs + 1, sizeof(*m->key_fprs));
				m->key_fprs[m->nkey_fprs++] = tok;
				tok = NULL;
			}
		} else {
			rc = conf_keyring(src, f->line, tok, &path, err);
			if (rc == 0) {
				m->keyrings = xreallocarray(m->keyrings,
				    m->nkeyrings + 1, sizeof(*m->keyrings));
				m->keyrings[m->nkeyrings++] = path;
			}
		}
		free(tok);
	}
	if (rc == 0 && m->nkeyrings == 0 && m->nkey_fprs == 0)
		rc = conf_err(err, MERR_CONF, src, f->line,
		    "Signed-By needs a keyring file, fingerprints or an "
		    "inline key");
	return rc;
}

/*
 * A Signed-By of fingerprints alone selects keys from the keyrings apt
 * trusts (Dir::Etc::TrustedParts, *.gpg and *.asc), as apt does.
 */
static int
conf_trusted_parts(struct conf *c, struct conf_mirror *m, struct merr *err)
{
	struct dirent *de;
	DIR *d;

	if (m->nkeyrings > 0 || m->keyblock != NULL)
		return 0;
	d = opendir(c->trusted_parts);
	if (d == NULL)
		return merr_set(err, MERR_CONF, "'%s' line %u: mirror '%s': "
		    "Signed-By names only fingerprints, and the keyrings "
		    "they are looked for in cannot be read: cannot open "
		    "'%s': %s", m->file, m->line, m->name, c->trusted_parts,
		    strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !(str_endswith(de->d_name,
		    ".gpg") || str_endswith(de->d_name, ".asc")))
			continue;
		m->keyrings = xreallocarray(m->keyrings, m->nkeyrings + 1,
		    sizeof(*m->keyrings));
		m->keyrings[m->nkeyrings++] = xasprintf("%s/%s",
		    c->trusted_parts, de->d_name);
	}
	closedir(d);
	if (m->nkeyrings == 0)
		return merr_set(err, MERR_CONF, "'%s' line %u: mirror '%s': "
		    "Signed-By names only fingerprints, and '%s' holds no "
		    "keyring (*.gpg, *.asc) to find them in", m->file,
		    m->line, m->name, c->trusted_parts);
	qsort(m->keyrings, m->nkeyrings, sizeof(*m->keyrings),
	    conf_cmp_names);
	return 0;
}

/* Mirror names: [a-z0-9][a-z0-9._-]{0,63}. */
static bool
conf_valid_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > CONF_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		return false;
	}
	return true;
}

static int
conf_lookup_key(const struct deb822_field *f)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(conf_keys); i++)
		if (str_ieq(f->name, f->name_len, conf_keys[i].name))
			return (int)i;
	return -1;
}

static int
conf_unknown(const struct conf_src *src, const struct deb822_field *f,
    struct merr *err)
{
	char q[128];

	path_quote(f->name, f->name_len, q, sizeof(q));
	return conf_err(err, MERR_CONF, src, f->line, "unknown key '%s'", q);
}

/* The global stanza of the main file. */
static int
conf_global(struct conf *c, const struct conf_src *src,
    const struct deb822_para *para, struct merr *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < para->nfields && rc == 0; i++) {
		const struct deb822_field *f = &para->fields[i];
		int k = conf_lookup_key(f);

		if (k < 0)
			return conf_unknown(src, f, err);
		if (!(conf_keys[k].where & KG))
			return conf_err(err, MERR_CONF, src, f->line,
			    "'%s' belongs in a mirror stanza, and this "
			    "stanza has no 'Name'", conf_keys[k].name);
		switch (conf_keys[k].key) {
		case K_STORE:
			free(c->store);
			c->store = NULL;
			rc = conf_path(src, f, &c->store, err);
			break;
		case K_LISTEN:
			rc = conf_listen(src, f, err);
			if (rc == 0) {
				free(c->listen);
				c->listen = xstrdup(f->value);
			}
			break;
		case K_BASE_URL:
			rc = conf_word(src, f, err);
			if (rc == 0)
				rc = conf_http_url(src, f, f->value, "",
				    &c->base_url, err);
			break;
		case K_LOG_FILE:
			rc = conf_path(src, f, &c->log_file, err);
			break;
		case K_ACCESS_LOG:
			rc = conf_path(src, f, &c->access_log, err);
			break;
		case K_CONNECTIONS:
			rc = conf_uint(src, f, 1, 64, &c->connections, err);
			break;
		case K_SERVE_THREADS:
			rc = conf_uint(src, f, 1, 256, &c->serve_threads, err);
			break;
		case K_SERVE_MAP_MIB:
			rc = conf_uint(src, f, 0, 1024 * 1024,
			    &c->serve_map_mib, err);
			break;
		case K_MAX_CLIENTS:
			rc = conf_uint(src, f, 1, 1000000, &c->max_clients,
			    err);
			break;
		case K_MAX_CLIENTS_PER_IP:
			rc = conf_uint(src, f, 1, 1000000,
			    &c->max_clients_per_ip, err);
			break;
		case K_CLIENT_TIMEOUT:
			rc = conf_duration(src, f, 1, &c->client_timeout, err);
			break;
		case K_RETRIES:
			rc = conf_uint(src, f, 0, 20, &c->retries, err);
			break;
		case K_CONNECT_TIMEOUT:
			rc = conf_duration(src, f, 1, &c->connect_timeout,
			    err);
			break;
		case K_STALL_TIMEOUT:
			rc = conf_duration(src, f, 1, &c->stall_timeout, err);
			break;
		case K_CLOCK_SKEW:
			rc = conf_duration(src, f, 0, &c->clock_skew, err);
			break;
		case K_SYNC_INTERVAL:
			rc = conf_duration(src, f, 1, &c->sync_interval, err);
			break;
		case K_MAX_SYNC_AGE:
			rc = conf_duration(src, f, 1, &c->max_sync_age, err);
			break;
		case K_KEEP_SNAPSHOTS:
			rc = conf_keep(src, f, &c->keep_snapshots, err);
			break;
		case K_VALID_FOR:
			rc = conf_duration(src, f, 60, &c->valid_for, err);
			break;
		case K_TRUSTED_PARTS:
			free(c->trusted_parts);
			c->trusted_parts = NULL;
			rc = conf_path(src, f, &c->trusted_parts, err);
			break;
		case K_SIGNING_KEY:
			free(c->signing_key);
			c->signing_key = NULL;
			rc = conf_path(src, f, &c->signing_key, err);
			break;
		case K_GC_GRACE:
			rc = conf_gc_grace(src, f, &c->gc_grace, err);
			break;
		case K_CHANNEL_HISTORY:
			rc = conf_uint(src, f, 1, 10000, &c->channel_history,
			    err);
			break;
		default:
			if (f->value_len == 0)
				rc = conf_err(err, MERR_CONF, src, f->line,
				    "'%s' needs a value", conf_keys[k].name);
			break;
		}
	}
	return rc;
}

static void
conf_mirror_release(struct conf_mirror *m)
{
	free(m->name);
	free(m->uri);
	conf_strv_free(m->suites, m->nsuites);
	conf_strv_free(m->components, m->ncomponents);
	conf_strv_free(m->arches, m->narches);
	conf_strv_free(m->keyrings, m->nkeyrings);
	conf_strv_free(m->key_fprs, m->nkey_fprs);
	free(m->keyblock);
	free(m->pubkey_algo);
	free(m->keep_snapshots);
	free(m->file);
	memset(m, 0, sizeof(*m));
}

static int
conf_types(const struct conf_src *src, const struct deb822_field *f,
    struct conf_mirror *m, struct merr *err)
{
	char **v;
	size_t n, i;
	int rc = 0;

	v = conf_split(f->value, f->value_len, &n);
	if (n == 0)
		rc = conf_err(err, MERR_CONF, src, f->line,
		    "'Types' needs a value");
	for (i = 0; i < n && rc == 0; i++) {
		if (strcmp(v[i], "deb") == 0)
			m->deb = true;
		else if (strcmp(v[i], "deb-src") == 0)
			m->deb_src = true;
		else
			rc = conf_err(err, MERR_CONF, src, f->line,
			    "unknown type '%s' (want deb and/or deb-src)",
			    v[i]);
	}
	conf_strv_free(v, n);
	return rc;
}

static int
conf_suites(const struct conf_src *src, const struct deb822_field *f,
    struct conf_mirror *m, struct merr *err)
{
	char **v;
	size_t n, i;

	/* Flat repositories ("Suites: ./") are checked before path_check. */
	v = conf_split(f->value, f->value_len, &n);
	for (i = 0; i < n; i++) {
		if (str_endswith(v[i], "/")) {
			conf_err(err, MERR_CONF, src, f->line,
			    "suite '%s': flat repositories are not supported",
			    v[i]);
			conf_strv_free(v, n);
			return MERR_CONF;
		}
	}
	conf_strv_free(v, n);
	return conf_words(src, f, &m->suites, &m->nsuites, err);
}

/* A mirror stanza; on success *m is filled and owned by the caller. */
static int
conf_mirror_parse(const struct conf_src *src, const struct deb822_para *para,
    struct conf_mirror *m, struct merr *err)
{
	const struct deb822_field *name = NULL;
	size_t i;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	m->enabled = true;
	m->file = xstrdup(src->file);
	m->line = para->line;

	for (i = 0; i < para->nfields && rc == 0; i++) {
		const struct deb822_field *f = &para->fields[i];
		int k = conf_lookup_key(f);

		if (k < 0) {
			rc = conf_unknown(src, f, err);
			break;
		}
		if (!(conf_keys[k].where & KM)) {
			rc = conf_err(err, MERR_CONF, src, f->line,
			    src->mirrors_d ? "global key '%s' is not allowed "
			    "in mirrors.d" : "global key '%s' is not allowed "
			    "in a mirror stanza", conf_keys[k].name);
			break;
		}
		switch (conf_keys[k].key) {
		case K_NAME:
			name = f;
			rc = conf_word(src, f, err);
			if (rc == 0 && !conf_valid_name(f->value,
			    f->value_len))
				rc = conf_err(err, MERR_CONF, src, f->line,
				    "invalid mirror name '%s' (want "
				    "[a-z0-9][a-z0-9._-]*, at most %d bytes)",
				    f->value, CONF_NAME_MAX);
			if (rc == 0)
				m->name = xstrdup(f->value);
			break;
		case K_TYPES:
			rc = conf_types(src, f, m, err);
			break;
		case K_URIS:
			rc = conf_uri(src, f, &m->uri, err);
			break;
		case K_SUITES:
			rc = conf_suites(src, f, m, err);
			break;
		case K_COMPONENTS:
			rc = conf_words(src, f, &m->components,
			    &m->ncomponents, err);
			break;
		case K_ARCHES:
			rc = conf_words(src, f, &m->arches, &m->narches, err);
			break;
		case K_SIGNED_BY:
			rc = conf_signed_by(src, f, m, err);
			break;
		case K_PUBKEY_ALGO: {
			const char *why;

			why = gpgpolicy_check(f->value);
			if (why != NULL)
				rc = conf_err(err, MERR_CONF, src, f->line,
				    "'Assert-Pubkey-Algo': %s in '%s'", why,
				    f->value);
			else {
				free(m->pubkey_algo);
				m->pubkey_algo = xstrdup(f->value);
			}
			break;
		}
		case K_ENABLED:
			if (str_ieq(f->value, f->value_len, "yes"))
				m->enabled = true;
			else if (str_ieq(f->value, f->value_len, "no"))
				m->enabled = false;
			else
				rc = conf_err(err, MERR_CONF, src, f->line,
				    "'Enabled' must be yes or no, not '%s'",
				    f->value);
			break;
		case K_SYNC_INTERVAL:
			rc = conf_duration(src, f, 1, &m->sync_interval, err);
			break;
		case K_MAX_SYNC_AGE:
			rc = conf_duration(src, f, 1, &m->max_sync_age, err);
			break;
		case K_STRICT:
			if (str_ieq(f->value, f->value_len, "yes"))
				m->strict = true;
			else if (str_ieq(f->value, f->value_len, "no"))
				m->strict = false;
			else
				rc = conf_err(err, MERR_CONF, src, f->line,
				    "'Strict' must be yes or no, not '%s'",
				    f->value);
			break;
		case K_KEEP_SNAPSHOTS:
			rc = conf_keep(src, f, &m->keep_snapshots, err);
			break;
		default:
			break;
		}
	}
	if (rc)
		goto fail;

	/* Required keys, reported at the stanza's first line. */
	{
		const char *missing = NULL;

		if (name == NULL)
			missing = "Name";
		else if (!m->deb && !m->deb_src)
			missing = "Types";
		else if (m->uri == NULL)
			missing = "URIs";
		else if (m->nsuites == 0)
			missing = "Suites";
		else if (m->ncomponents == 0)
			missing = "Components";
		else if (m->deb && m->narches == 0)
			missing = "Architectures";
		else if (m->nkeyrings == 0 && m->nkey_fprs == 0 &&
		    m->keyblock == NULL)
			missing = "Signed-By";
		if (missing != NULL) {
			if (m->name != NULL)
				rc = conf_err(err, MERR_CONF, src, para->line,
				    "mirror '%s': missing '%s'", m->name,
				    missing);
			else
				rc = conf_err(err, MERR_CONF, src, para->line,
				    "missing '%s'", missing);
			goto fail;
		}
	}
	return 0;
fail:
	conf_mirror_release(m);
	return rc;
}

struct conf_name_key {
	const struct conf *c;
	const char *name;
};

static bool
conf_name_eq(const void *ctx, size_t pos)
{
	const struct conf_name_key *k = ctx;

	return strcmp(k->c->mirrors[pos].name, k->name) == 0;
}

/* The position of mirror name in c, or SIZE_MAX: one hash lookup. */
static size_t
conf_find(const struct conf *c, const char *name)
{
	struct conf_name_key k = { c, name };

	return hash_index_find(&c->names, conf_hash(name), conf_name_eq, &k);
}

/* Parses one file's stanzas into c. */
static int
conf_load_file(struct conf *c, const char *file, bool mirrors_d,
    bool *have_global, unsigned *global_line, struct merr *err)
{
	struct conf_src src;
	struct deb822 *p = NULL;
	struct deb822_para *para;
	char *data = NULL, *copy, *slash, *dir = NULL;
	size_t len;
	int rc;

	rc = read_file(file, CONF_MAX_FILE, &data, &len, err);
	if (rc)
		return rc;

	/* realpath() of the directory, not of any target inside it. */
	copy = xstrdup(file);
	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	dir = realpath(slash ? copy : ".", NULL);
	if (dir == NULL) {
		rc = merr_errno(err, "cannot resolve the directory of '%s'",
		    file);
		free(copy);
		goto out;
	}
	free(copy);

	src.file = file;
	src.dir = dir;
	src.mirrors_d = mirrors_d;
	p = deb822_new_mem(data, len, file, CONF_MAX_FILE);
	for (;;) {
		struct conf_mirror m;
		size_t i;

		rc = deb822_next(p, &para, err);
		if (rc < 0) {
			/* Malformed deb822 is a configuration error here. */
			if (rc == MERR_PARSE) {
				rc = MERR_CONF;
				if (err != NULL)
					err->code = rc;
			}
			break;
		}
		if (rc == 0)
			break;
		if (!mirrors_d && deb822_field(para, "Name") == NULL) {
			if (*have_global) {
				rc = conf_err(err, MERR_CONF, &src, para->line,
				    "second global stanza (the first is at "
				    "line %u; mirror stanzas need 'Name')",
				    *global_line);
				break;
			}
			*have_global = true;
			*global_line = para->line;
			rc = conf_global(c, &src, para, err);
			if (rc)
				break;
			continue;
		}
		rc = conf_mirror_parse(&src, para, &m, err);
		if (rc)
			break;
		i = conf_find(c, m.name);
		if (i != SIZE_MAX) {
			rc = conf_err(err, MERR_CONF, &src, m.line,
			    "mirror '%s' is already defined in '%s' line %u",
			    m.name, c->mirrors[i].file, c->mirrors[i].line);
			conf_mirror_release(&m);
			break;
		}
		if (c->nmirrors == c->mirrors_cap) {
			c->mirrors_cap = c->mirrors_cap ?
			    2 * c->mirrors_cap : 8;
			c->mirrors = xreallocarray(c->mirrors, c->mirrors_cap,
			    sizeof(*c->mirrors));
		}
		hash_index_add(&c->names, conf_hash(m.name), c->nmirrors);
		c->mirrors[c->nmirrors++] = m;
	}
out:
	deb822_free(p);
	free(dir);
	free(data);
	return rc;
}

static int
conf_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Left-overs apt itself passes over without a word (its
 * Dir::Ignore-Files-Silently): backups and package manager copies.
 */
static bool
conf_ignored_silently(const char *name)
{
	static const char *const ends[] = { "~", ".bak", ".save", ".orig",
	    ".disabled", ".distUpgrade" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ends); i++)
		if (str_endswith(name, ends[i]))
			return true;
	return strstr(name, ".dpkg-") != NULL || strstr(name, ".ucf-") != NULL;
}

/* Loads the *.sources files of mirrors.d/ by name; no folder is fine.
 * Other files are warned about: they are not read. */
static int
conf_load_mirrors_d(struct conf *c, const char *main_path, struct merr *err)
{
	const char *slash = strrchr(main_path, '/');
	char *dpath, **names = NULL;
	size_t n = 0, i;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (slash != NULL)
		dpath = xasprintf("%.*s/mirrors.d",
		    (int)(slash - main_path), main_path);
	else
		dpath = xstrdup("mirrors.d");
	d = opendir(dpath);
	if (d == NULL) {
		if (errno != ENOENT)
			rc = merr_errno(err, "cannot open directory '%s'",
			    dpath);
		free(dpath);
		return rc;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;
		/* A NAME.conf is a mirror that would never sync: say so. */
		if (!str_endswith(de->d_name, ".sources")) {
			if (!conf_ignored_silently(de->d_name))
				log_warn("ignoring '%s/%s': mirrors.d reads "
				    "only *.sources files", dpath,
				    de->d_name);
			continue;
		}
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xasprintf("%s/%s", dpath, de->d_name);
	}
	if (errno != 0)
		rc = merr_errno(err, "cannot read directory '%s'", dpath);
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), conf_cmp_names);
	for (i = 0; i < n && rc == 0; i++) {
		bool dummy = false;
		unsigned dummy_line = 0;

		rc = conf_load_file(c, names[i], true, &dummy, &dummy_line,
		    err);
	}
	conf_strv_free(names, n);
	free(dpath);
	return rc;
}

int
conf_load(const char *path, struct conf **out, struct merr *err)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	bool have_global = false;
	unsigned global_line = 0;
	size_t i;
	int rc;

	c->path = xstrdup(path);
	c->store = xstrdup("/var/lib/mirrord");
	c->listen = xstrdup("127.0.0.1:8080");
	c->max_clients = 1024;
	c->serve_map_mib = 64;
	c->client_timeout = 30;
	c->connections = 8;
	c->retries = 5;
	c->connect_timeout = 30;
	c->stall_timeout = 60;
	c->clock_skew = 600;
	c->sync_interval = 6 * 3600;
	c->gc_grace = 36 * 3600;
	c->channel_history = 5;
	c->trusted_parts = xstrdup("/etc/apt/trusted.gpg.d");

	rc = conf_load_file(c, path, false, &have_global, &global_line, err);
	if (rc == 0)
		rc = conf_load_mirrors_d(c, path, err);
	for (i = 0; rc == 0 && i < c->nmirrors; i++)
		rc = conf_trusted_parts(c, &c->mirrors[i], err);
	if (rc) {
		conf_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nmirrors; i++)
		conf_mirror_release(&c->mirrors[i]);
	free(c->mirrors);
	hash_index_release(&c->names);
	free(c->path);
	free(c->store);
	free(c->listen);
	free(c->base_url);
	free(c->log_file);
	free(c->access_log);
	free(c->keep_snapshots);
	free(c->signing_key);
	free(c->trusted_parts);
	free(c);
}

long
conf_max_sync_age(const struct conf *c, const struct conf_mirror *m)
{
	long iv = m->sync_interval > 0 ? m->sync_interval : c->sync_interval;

	if (m->max_sync_age > 0)
		return m->max_sync_age;
	if (c->max_sync_age > 0)
		return c->max_sync_age;
	return iv > 0 && iv < LONG_MAX / 3 ? 3 * iv : LONG_MAX;
}

const struct conf_mirror *
conf_mirror(const struct conf *c, const char *name)
{
	size_t i;

	if (c->names.n == c->nmirrors) {
		i = conf_find(c, name);
		return i == SIZE_MAX ? NULL : &c->mirrors[i];
	}
	/* Mirrors set by hand (tests) have no index. */
	for (i = 0; i < c->nmirrors; i++)
		if (strcmp(c->mirrors[i].name, name) == 0)
			return &c->mirrors[i];
	return NULL;
}
