/*
 * confval.c: the configuration's value parsers (confval.h), apart from
 * conf.c so that they stay pure functions of their input: conf.c reads
 * files, resolves directories and checks keyrings; these only read bytes.
 */
#include "mirrord/common.h"

#include <ctype.h>
#include <limits.h>

#include "mirrord/confval.h"
#include "mirrord/gpg.h"
#include "mirrord/hash.h"
#include "mirrord/path.h"

#define KEY_BEGIN "-----BEGIN PGP PUBLIC KEY BLOCK-----"
#define KEY_END "-----END PGP PUBLIC KEY BLOCK-----"

static bool
confval_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

int
confval_duration(const char *s, size_t len, long *secs, struct merr *err)
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

int
confval_keep(const char *s, long *max_age, unsigned *last_n,
    struct merr *err)
{
	char *copy = xstrdup(s), *w, *save = NULL;
	bool have_age = false, have_last = false;
	long age = 0;
	unsigned last = 0;
	int rc = 0;

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
				last = (unsigned)n;
			have_last = true;
			continue;
		}
		/* A bare number would be seconds: surely not what was meant. */
		if (have_age || strspn(w, "0123456789") == strlen(w) ||
		    confval_duration(w, strlen(w), &age, err) || age <= 0)
			rc = merr_set(err, MERR_CONF, "invalid '%s': want a "
			    "duration such as 30d, 'last N', or both", w);
		have_age = true;
	}
	if (rc == 0 && !have_age && !have_last)
		rc = merr_set(err, MERR_CONF,
		    "want a duration such as 30d, 'last N', or both");
	free(copy);
	if (rc == 0) {
		*max_age = age;
		*last_n = last;
	}
	return rc;
}

int
confval_uint(const char *s, size_t len, unsigned min, unsigned max,
    unsigned *out, struct merr *err)
{
	uint64_t v;

	if (parse_u64(s, len, max, &v) != 0 || v < min)
		return merr_set(err, MERR_CONF, "must be a number from %u to "
		    "%u, not '%.*s'", min, max, (int)len, s);
	*out = (unsigned)v;
	return 0;
}

int
confval_bool(const char *s, size_t len, bool *out, struct merr *err)
{
	if (str_ieq(s, len, "yes"))
		*out = true;
	else if (str_ieq(s, len, "no"))
		*out = false;
	else
		return merr_set(err, MERR_CONF, "must be yes or no, not "
		    "'%.*s'", (int)len, s);
	return 0;
}

int
confval_listen(const char *s, struct merr *err)
{
	const char *colon = strrchr(s, ':');
	size_t hlen = colon ? (size_t)(colon - s) : 0;
	uint64_t port;

	if (colon == NULL || hlen == 0 ||
	    (s[0] == '[' && s[hlen - 1] != ']') ||
	    parse_u64(colon + 1, strlen(colon + 1), 65535, &port) != 0 ||
	    port == 0)
		return merr_set(err, MERR_CONF, "must be HOST:PORT or "
		    "[ADDRESS]:PORT, not '%s'", s);
	return 0;
}

bool
confval_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > CONFVAL_NAME_MAX)
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

int
confval_http_url(const char *u, const char *hint, char **out,
    struct merr *err)
{
	const char *host;
	size_t len = strlen(u);

	if (str_startswith(u, "http://"))
		host = u + 7;
	else if (str_startswith(u, "https://"))
		host = u + 8;
	else
		return merr_set(err, MERR_CONF, "unsupported URI '%s' (want "
		    "http://%s https://%s)", u, hint[0] ? "," : " or", hint);
	if (*host == '\0' || *host == '/')
		return merr_set(err, MERR_CONF, "URI '%s' has no host", u);
	while (len > 0 && u[len - 1] == '/')
		len--;
	*out = xstrndup(u, len);
	return 0;
}

/* A file URI u (after "file:": p), as "file:///abs/path" in *out. */
static int
confval_file_uri(const char *dir, const char *u, const char *p, char **out,
    struct merr *err)
{
	char *path;

	if (str_startswith(p, "//")) {
		if (p[2] != '/')
			return merr_set(err, MERR_CONF, "file URI '%s' must "
			    "not name a host (want file:///path)", u);
		p += 2;
	}
	if (*p == '\0')
		return merr_set(err, MERR_CONF, "file URI '%s' has no path",
		    u);
	path = confval_abspath(dir, p, strlen(p));
	if (strcmp(path, "/") == 0) {
		/* Surely a mistake; and uri has no trailing '/'. */
		free(path);
		return merr_set(err, MERR_CONF, "file URI '%s' names the root "
		    "directory, not an archive", u);
	}
	*out = xasprintf("file://%s", path);
	free(path);
	return 0;
}

int
confval_uri(const char *dir, const char *s, size_t len, char **out,
    struct merr *err)
{
	char **v;
	size_t n;
	int rc;

	v = confval_split(s, len, &n);
	if (n != 1)
		rc = merr_set(err, MERR_CONF,
		    "'URIs' must hold exactly one URI");
	else if (str_startswith(v[0], "file:"))
		rc = confval_file_uri(dir, v[0], v[0] + 5, out, err);
	else
		rc = confval_http_url(v[0], " or file:", out, err);
	strv_free(v, n);
	return rc;
}

char *
confval_abspath(const char *dir, const char *p, size_t len)
{
	struct buf b = BUF_INIT;
	const char *s, *end, *seg;
	char *o;
	size_t olen = 0, n;

	if (len == 0 || p[0] != '/') {
		buf_adds(&b, dir);
		buf_addc(&b, '/');
	}
	buf_add(&b, p, len);

	/* Rewrite in place: the output never outgrows the input. */
	o = b.p;
	s = b.p;
	end = b.p + b.len;
	while (s < end) {
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
	return buf_detach(&b, NULL);
}

char **
confval_split(const char *s, size_t len, size_t *n)
{
	char **v = NULL;
	size_t i = 0, cnt = 0, cap = 0, start;

	while (i < len) {
		while (i < len && confval_isspace(s[i]))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !confval_isspace(s[i]))
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

void
confval_strv_push(char ***vp, size_t *np, char *v)
{
	*vp = xreallocarray(*vp, *np + 1, sizeof(**vp));
	(*vp)[(*np)++] = v;
}

/* For hash_index: whether word pos of ctx (words, key last) is the key. */
struct confval_word_key {
	char *const *v;
	const char *key;
};

static bool
confval_word_eq(const void *ctx, size_t pos)
{
	const struct confval_word_key *k = ctx;

	return strcmp(k->v[pos], k->key) == 0;
}

int
confval_words(const char *s, size_t len, char ***out, size_t *n,
    struct merr *err)
{
	struct hash_index seen = HASH_INDEX_INIT;
	struct confval_word_key k;
	char **v;
	size_t cnt, i;
	uint32_t h;
	int rc = 0;

	v = confval_split(s, len, &cnt);
	for (i = 0; i < cnt && rc == 0; i++) {
		rc = path_check(v[i], strlen(v[i]), err);
		if (rc) {
			if (err != NULL)
				err->code = MERR_CONF;
			rc = MERR_CONF;
			break;
		}
		k.v = v;
		k.key = v[i];
		h = hash_fnv1a(HASH_FNV1A_INIT, v[i], strlen(v[i]));
		if (hash_index_find(&seen, h, confval_word_eq, &k) != SIZE_MAX)
			rc = merr_set(err, MERR_CONF, "'%s' given twice",
			    v[i]);
		hash_index_add(&seen, h, i);
	}
	hash_index_release(&seen);
	if (rc) {
		strv_free(v, cnt);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

bool
confval_is_hex_id(const char *s, size_t len)
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

int
confval_fingerprint(const char *s, char **out, struct merr *err)
{
	size_t n = strlen(s), i;
	bool bang = n > 0 && s[n - 1] == '!';
	char *f;

	if (n - bang != GPG_FPR_LEN ||
	    strspn(s, "0123456789abcdefABCDEF") != GPG_FPR_LEN)
		return merr_set(err, MERR_CONF, "'%s' is not a fingerprint "
		    "(want 40 hex digits, as apt does; key IDs are not "
		    "accepted)", s);
	f = xstrdup(s);
	for (i = 0; i < GPG_FPR_LEN; i++)
		f[i] = (char)toupper((unsigned char)f[i]);
	*out = f;
	return 0;
}

bool
confval_has_keyblock(const char *s, size_t len)
{
	return memmem(s, len, KEY_BEGIN, strlen(KEY_BEGIN)) != NULL;
}

int
confval_keyblock(const char *s, size_t len, char **out, struct merr *err)
{
	const char *p = s, *end = s + len, *nl, *b, *e;
	enum { BEFORE, IN, AFTER } state = BEFORE;
	struct buf o;

	buf_init(&o);
	for (; p < end; p = nl < end ? nl + 1 : end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		for (b = p; b < nl && confval_isspace(*b); b++)
			;
		for (e = nl; e > b && (confval_isspace(e[-1]) ||
		    e[-1] == '\r'); e--)
			;
		if (e - b == 1 && *b == '.')
			e = b;
		if (state == BEFORE && e == b)
			continue;
		if (state == AFTER && e > b)
			break;
		if (state == BEFORE) {
			if ((size_t)(e - b) != strlen(KEY_BEGIN) ||
			    memcmp(b, KEY_BEGIN, strlen(KEY_BEGIN)) != 0)
				break;
			state = IN;
		} else if (state == IN && (size_t)(e - b) == strlen(KEY_END) &&
		    memcmp(b, KEY_END, strlen(KEY_END)) == 0) {
			state = AFTER;
		}
		buf_add(&o, b, (size_t)(e - b));
		buf_addc(&o, '\n');
	}
	if (state != AFTER || p < end) {
		buf_release(&o);
		return merr_set(err, MERR_CONF, "an inline key must be one '"
		    KEY_BEGIN "' block ending in '" KEY_END "', with nothing "
		    "before or after it");
	}
	*out = buf_detach(&o, NULL);
	return 0;
}
