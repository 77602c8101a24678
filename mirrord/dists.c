/*
 * dists.c: a suite's dists/ files as mirrord writes them: upstream's
 * signed Release text read back from the store, Release texts rewritten
 * field by field (for channels and composed suites), the signed Release
 * files, and composed suites (dists.h).
 */
#include "mirrord/common.h"

#include <ctype.h>
#include <pthread.h>

#include "mirrord/clearsign.h"
#include "mirrord/decomp.h"
#include "mirrord/dists.h"
#include "mirrord/fmt.h"
#include "mirrord/path.h"

#define RELEASE_TEXT_MAX (64u << 20)

bool
dists_is_release(const char *path)
{
	return strcmp(path, "InRelease") == 0 ||
	    strcmp(path, "Release") == 0 || strcmp(path, "Release.gpg") == 0;
}

int
dists_release_text(struct store *s, const struct snap_suite *su, char **out,
    size_t *outlen, struct merr *err)
{
	const struct snap_file *f = snap_suite_file(su, "Release");
	struct clearsign cs;
	unsigned char h[HASH_LEN];
	char hex[HASH_HEX_LEN + 1], *path, *data, *p;
	size_t len;
	int rc;

	if (f == NULL)
		f = snap_suite_file(su, "InRelease");
	if (f == NULL)
		return merr_set(err, MERR_NOTFOUND,
		    "suite '%s' has no Release file", su->name);
	path = store_blob_find(s, f->hash);
	rc = read_file(path, RELEASE_TEXT_MAX, &data, &len, err);
	free(path);
	if (rc)
		return rc;
	/* What mirrord signs must be what upstream signed: check the bytes. */
	hash_buf(data, len, h);
	if (len != f->size || memcmp(h, f->hash, HASH_LEN) != 0) {
		hash_to_hex(f->hash, hex);
		free(data);
		return merr_set(err, MERR_STORE, "suite '%s': blob '%s' (%s) "
		    "does not match its hash: refusing to sign it (run "
		    "'mirrord fsck')", su->name, hex, f->path);
	}
	if (strcmp(f->path, "Release") == 0) {
		*out = data;
		*outlen = len;
		return 0;
	}
	/*
	 * The text sync verified: the same split, the same bytes. Blobs
	 * synced before the split was apt's own may have blank lines before
	 * or after the message, which sync then allowed: they are skipped,
	 * the signed text is the same.
	 */
	p = data;
	while (len > 0 && isspace((unsigned char)*p)) {
		p++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		len--;
	rc = clearsign_split(p, len, &cs, err);
	free(data);
	if (rc) {
		merr_prefix(err, "stored InRelease: ");
		return rc;
	}
	free(cs.sig);
	*out = cs.text;
	*outlen = cs.textlen;
	return 0;
}

/* Is the field on line [p, p+ll) one of drop? */
static bool
field_in(const char *p, size_t ll, const char *const *drop)
{
	const char *colon = memchr(p, ':', ll);
	size_t i;

	if (colon == NULL)
		return false;
	for (i = 0; drop[i]; i++)
		if (str_ieq(p, (size_t)(colon - p), drop[i]))
			return true;
	return false;
}

void
dists_release_rewrite(const char *text, size_t len, const char *const *drop,
    const char *insert, struct buf *b)
{
	const char *p = text, *end = text + len;
	bool in_first = true, skipping = false, done = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl + 1 : end;
		size_t ll = (size_t)(le - p);

		/* Only the first paragraph holds Release fields. */
		if (in_first && ll == 1) {
			in_first = false;
			if (!done)
				buf_adds(b, insert);
			done = true;
		}
		if (in_first && (*p == ' ' || *p == '\t')) {
			if (!skipping)
				buf_add(b, p, ll);
			p = le;
			continue;
		}
		skipping = false;
		if (in_first && ll >= 5 && str_ieq(p, 5, "Date:") && !done) {
			buf_adds(b, insert);
			done = true;
			skipping = true;
		} else if (in_first && (field_in(p, ll, drop) ||
		    (ll >= 5 && str_ieq(p, 5, "Date:")))) {
			skipping = true;
		}
		if (skipping) {
			p = le;
			continue;
		}
		buf_add(b, p, ll);
		if (nl == NULL)
			buf_addc(b, '\n');
		p = le;
	}
	if (!done)
		buf_adds(b, insert);
}

int
dists_sign_release(struct store *s, struct gpg_signer *g, const char *rel,
    size_t rlen, struct snap_suite *su, struct merr *err)
{
	char *inr = NULL, *sig = NULL;
	size_t ilen, slen;
	unsigned char h[HASH_LEN];
	int rc;

	rc = gpg_sign_clear(g, rel, rlen, &inr, &ilen, err);
	if (rc == 0)
		rc = gpg_sign_detached(g, rel, rlen, &sig, &slen, err);
	if (rc == 0)
		rc = store_put_mem(s, inr, ilen, h, err);
	if (rc == 0) {
		snap_suite_add_file(su, "InRelease", h, ilen);
		rc = store_put_mem(s, rel, rlen, h, err);
	}
	if (rc == 0) {
		snap_suite_add_file(su, "Release", h, rlen);
		rc = store_put_mem(s, sig, slen, h, err);
	}
	if (rc == 0)
		snap_suite_add_file(su, "Release.gpg", h, slen);
	free(inr);
	free(sig);
	return rc;
}

/*
 * Which ix (n if none) path is a variant of: the same path, with one of
 * decomp.h's compression suffixes, or a pdiff of it (path.diff/...).
 */
static size_t
replaced_by(const char *path, const struct dists_index *ix, size_t n)
{
	size_t i, pl;

	for (i = 0; i < n; i++) {
		pl = strlen(ix[i].path);
		if (strncmp(path, ix[i].path, pl) != 0)
			continue;
		if (comp_strip(path) == pl || str_startswith(path + pl,
		    ".diff/"))
			return i;
	}
	return n;
}

/* "dir/by-hash/<alg>/<name>": the length of "dir/", else -1. */
static ssize_t
by_hash_dir(const char *path)
{
	const char *p;

	for (p = strstr(path, "by-hash/"); p; p = strstr(p + 1, "by-hash/"))
		if (p == path || p[-1] == '/')
			return p - path;
	return -1;
}

/*
 * A by-hash entry of base for a blob of a replaced variant in the same
 * directory: it goes with them.
 */
static bool
stale_by_hash(const struct snap_file *f, const struct snap_suite *base,
    const struct dists_index *ix, size_t n)
{
	ssize_t dl = by_hash_dir(f->path);
	size_t i;

	if (dl < 0)
		return false;
	for (i = 0; i < base->nfiles; i++) {
		const struct snap_file *v = &base->files[i];

		if (memcmp(v->hash, f->hash, HASH_LEN) == 0 &&
		    strncmp(v->path, f->path, (size_t)dl) == 0 &&
		    strchr(v->path + dl, '/') == NULL &&
		    replaced_by(v->path, ix, n) < n)
			return true;
	}
	return false;
}

static int
check_indices(const struct dists_index *ix, size_t n, struct merr *err)
{
	size_t i, j, pl;

	for (i = 0; i < n; i++) {
		pl = strlen(ix[i].path);
		if (path_check(ix[i].path, pl, err) != 0) {
			/* The caller's argument, not a parsed input. */
			err->code = MERR_INVAL;
			return MERR_INVAL;
		}
		if (comp_strip(ix[i].path) != pl ||
		    str_endswith(ix[i].path, ".diff"))
			return merr_set(err, MERR_INVAL, "index '%s': a path "
			    "without compression suffix is wanted",
			    ix[i].path);
		for (j = 0; j < i; j++)
			if (strcmp(ix[i].path, ix[j].path) == 0)
				return merr_set(err, MERR_INVAL,
				    "index '%s' given twice", ix[i].path);
	}
	return 0;
}

/*
 * A compressed variant of an index, encoded in a thread of its own while
 * the caller writes the plain text: on a full Debian Packages the two
 * take 0.34 s and 0.23 s, one after the other 0.6 s.
 */
struct enc_job {
	const struct dists_index *x;
	enum comp c;
	struct buf z;
	int rc;
	struct merr err;
};

static void *
enc_run(void *arg)
{
	struct enc_job *j = arg;

	j->rc = comp_encode(j->c, j->x->text, j->x->len, COMP_LEVEL_AUTO,
	    &j->z, &j->err);
	return NULL;
}

/* Stores an encoded variant (as path.gz or path.xz) and lists it. */
static int
put_encoded(struct store *s, struct enc_job *j, struct snap_suite *out,
    struct merr *err)
{
	unsigned char h[HASH_LEN];
	char *path;
	int rc = j->rc;

	path = xasprintf("%s.%s", j->x->path, j->c == COMP_GZ ? "gz" : "xz");
	if (rc)
		*err = j->err;
	else
		rc = store_put_mem(s, j->z.p, j->z.len, h, err);
	if (rc == 0)
		snap_suite_add_file(out, path, h, j->z.len);
	else
		merr_prefix(err, "'%s': ", path);
	free(path);
	return rc;
}

/*
 * Stores an index as path, path.gz and, up to DISTS_XZ_MAX, path.xz, and
 * lists them in out; plain gets the plain text's hash.
 */
static int
put_index(struct store *s, const struct dists_index *x,
    struct snap_suite *out, unsigned char plain[HASH_LEN], struct merr *err)
{
	struct enc_job gz = { x, COMP_GZ, BUF_INIT, 0, { 0, "" } };
	struct enc_job xz = { x, COMP_XZ, BUF_INIT, 0, { 0, "" } };
	bool want_xz = x->len <= DISTS_XZ_MAX, threaded;
	pthread_t th;
	int rc;

	threaded = pthread_create(&th, NULL, enc_run, &gz) == 0;
	rc = store_put_mem(s, x->text, x->len, plain, err);
	if (want_xz)
		enc_run(&xz);
	if (threaded)
		pthread_join(th, NULL);
	else
		enc_run(&gz);
	if (rc == 0) {
		snap_suite_add_file(out, x->path, plain, x->len);
		rc = put_encoded(s, &gz, out, err);
	}
	if (rc == 0 && want_xz)
		rc = put_encoded(s, &xz, out, err);
	buf_release(&gz.z);
	buf_release(&xz.z);
	return rc;
}

static int
file_path_cmp(const void *a, const void *b)
{
	const struct snap_file *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

/* The SHA256 section: out's files in path order, less the unlisted. */
static void
sha256_section(const struct snap_suite *out, const char *hide_prefix,
    struct buf *b)
{
	const struct snap_file **v = xcalloc(out->nfiles + 1, sizeof(*v));
	char hex[HASH_HEX_LEN + 1], num[32];
	size_t i, n = 0;
	int w = 1;

	for (i = 0; i < out->nfiles; i++) {
		const struct snap_file *f = &out->files[i];

		if (dists_is_release(f->path) || by_hash_dir(f->path) >= 0 ||
		    (hide_prefix && str_startswith(f->path, hide_prefix)))
			continue;
		v[n++] = f;
		/* Sizes right-aligned to the widest, as dak writes them. */
		if (snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)f->size) > w)
			w = (int)strlen(num);
	}
	qsort(v, n, sizeof(*v), file_path_cmp);
	buf_adds(b, "SHA256:\n");
	for (i = 0; i < n; i++) {
		hash_to_hex(v[i]->hash, hex);
		buf_addf(b, " %s %*llu %s\n", hex, w,
		    (unsigned long long)v[i]->size, v[i]->path);
	}
	free(v);
}

/* The Release text of a composed suite (dists.h), owned. */
static char *
compose_release(const char *release, size_t rlen, int64_t date,
    const struct snap_suite *out, const char *hide_prefix, size_t *len)
{
	static const char *const drop[] = { "Valid-Until", "Snapshots",
		"Acquire-By-Hash", "MD5Sum", "SHA1", "SHA256", "SHA512",
		NULL };
	const char *p = release, *end = release + rlen;
	struct buf b = BUF_INIT;
	char when[64], *insert;

	/* The first paragraph only: a Release has no other. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL) {
			p = end;
			break;
		}
		if (nl == p)
			break;
		p = nl + 1;
	}
	fmt_time_rfc2822(date, "UTC", when, sizeof(when));
	insert = xasprintf("Date: %s\nAcquire-By-Hash: yes\n", when);
	dists_release_rewrite(release, (size_t)(p - release), drop, insert,
	    &b);
	free(insert);
	sha256_section(out, hide_prefix, &b);
	return buf_detach(&b, len);
}

/* base's files and indices that no ix replaces, into out. */
static void
copy_kept(const struct snap_suite *base, const struct dists_index *ix,
    size_t n, struct snap_suite *out)
{
	size_t i;

	for (i = 0; i < base->nfiles; i++) {
		const struct snap_file *f = &base->files[i];

		if (dists_is_release(f->path) ||
		    replaced_by(f->path, ix, n) < n ||
		    stale_by_hash(f, base, ix, n))
			continue;
		snap_suite_add_file(out, f->path, f->hash, f->size);
	}
	for (i = 0; i < base->nindices; i++) {
		const struct snap_index *s = &base->indices[i];
		struct snap_index *d;

		if (replaced_by(s->path, ix, n) < n)
			continue;
		d = snap_suite_add_index(out, s->path, s->hash);
		d->npara = s->npara;
		d->nfiles = s->nfiles;
		d->bytes = s->bytes;
	}
}

int
dists_compose_suite(struct store *s, struct gpg_signer *g,
    const struct snap_suite *base, const char *release, size_t rlen,
    const struct dists_index *ix, size_t n, int64_t date,
    const char *hide_prefix, struct snap_suite *out, struct merr *err)
{
	char when[64], *rel = NULL;
	unsigned char plain[HASH_LEN];
	size_t i, len;
	int rc;

	out->name = xstrdup(base->name);
	out->date = date;
	fmt_time_rfc2822(date, "UTC", when, sizeof(when));
	out->date_str = xstrdup(when);
	rc = check_indices(ix, n, err);
	if (rc)
		goto out;
	copy_kept(base, ix, n, out);
	for (i = 0; i < n && rc == 0; i++) {
		struct snap_index *d;

		rc = put_index(s, &ix[i], out, plain, err);
		if (rc)
			break;
		d = snap_suite_add_index(out, ix[i].path, plain);
		d->npara = ix[i].npara;
		d->nfiles = ix[i].nfiles;
		d->bytes = ix[i].bytes;
	}
	if (rc)
		goto out;
	rel = compose_release(release, rlen, date, out, hide_prefix, &len);
	rc = dists_sign_release(s, g, rel, len, out, err);
out:
	if (rc)
		merr_prefix(err, "suite '%s': ", base->name);
	free(rel);
	return rc;
}
