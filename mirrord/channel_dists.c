/*
 * channel_dists.c: the dists files a channel serves: its own Release
 * files (upstream's signed text with a new Date, signed with mirrord's
 * key) and, for the rest, the files of the snapshot it points at.
 */
#include "mirrord/common.h"

#include <ctype.h>
#include <time.h>

#include "mirrord/channel.h"
#include "mirrord/clearsign.h"
#include "mirrord/fmt.h"
#include "mirrord/gpg.h"

#define RELEASE_TEXT_MAX (64u << 20)

static bool
is_release_file(const char *path)
{
	return strcmp(path, "InRelease") == 0 ||
	    strcmp(path, "Release") == 0 || strcmp(path, "Release.gpg") == 0;
}

static const struct snap_file *
suite_find(const struct snap_suite *su, const char *path)
{
	size_t i;

	for (i = 0; su && i < su->nfiles; i++)
		if (strcmp(su->files[i].path, path) == 0)
			return &su->files[i];
	return NULL;
}

const struct snap_file *
channel_dists_file(const struct snap *sn, const struct channel *ch,
    const char *suite, const char *path)
{
	const struct snap_suite *su = snap_find_suite(sn, suite);
	const char *bh = strstr(path, "by-hash/SHA256/");
	unsigned char h[HASH_LEN];
	size_t i;

	if (su == NULL)
		return NULL;
	if (ch && ch->name[0] && is_release_file(path)) {
		for (i = 0; i < ch->nsuites; i++)
			if (strcmp(ch->suites[i].name, suite) == 0)
				return suite_find(&ch->suites[i], path);
		return NULL;
	}
	if (bh && (bh == path || bh[-1] == '/') &&
	    hash_from_hex(bh + 15, strlen(bh + 15), h) == 0) {
		size_t dirlen = (size_t)(bh - path);

		/* Any index of that directory with that hash. */
		for (i = 0; i < su->nfiles; i++) {
			const struct snap_file *f = &su->files[i];

			if (memcmp(f->hash, h, HASH_LEN) == 0 &&
			    strncmp(f->path, path, dirlen) == 0 &&
			    strchr(f->path + dirlen, '/') == NULL &&
			    !is_release_file(f->path))
				return f;
		}
		return NULL;
	}
	return suite_find(su, path);
}

/* Release files' dates, as apt writes them: C locale, UTC. */
static void
rfc2822(int64_t t, char *out, size_t n)
{
	fmt_time_rfc2822(t, "UTC", out, n);
}

char *
channel_release_text(const char *upstream, size_t len, int64_t date,
    int64_t valid_until, const char *base_url, const char *mirror,
    size_t *outlen)
{
	const char *p = upstream, *end = upstream + len;
	struct buf b = BUF_INIT;
	char when[64];
	bool in_first = true, skipping = false, done = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl + 1 : end;
		size_t ll = (size_t)(le - p);

		/* Only the first paragraph holds Release fields. */
		if (in_first && ll == 1)
			in_first = false;
		if (in_first && (*p == ' ' || *p == '\t')) {
			if (!skipping)
				buf_add(&b, p, ll);
			p = le;
			continue;
		}
		skipping = false;
		if (in_first && ll >= 5 && (str_ieq(p, 5, "Date:") ||
		    (ll >= 12 && str_ieq(p, 12, "Valid-Until:")) ||
		    (ll >= 10 && str_ieq(p, 10, "Snapshots:")))) {
			skipping = true;
			if (!done && ll >= 5 && str_ieq(p, 5, "Date:")) {
				rfc2822(date, when, sizeof(when));
				buf_addf(&b, "Date: %s\n", when);
				if (valid_until) {
					rfc2822(valid_until, when,
					    sizeof(when));
					buf_addf(&b, "Valid-Until: %s\n",
					    when);
				}
				if (base_url)
					buf_addf(&b, "Snapshots: %s/%s/"
					    "@SNAPSHOTID@/\n", base_url,
					    mirror);
				done = true;
			}
			p = le;
			continue;
		}
		buf_add(&b, p, ll);
		if (nl == NULL)
			buf_addc(&b, '\n');
		p = le;
	}
	return buf_detach(&b, outlen);
}

/*
 * Upstream's signed Release text for a suite of a snapshot: the Release
 * blob when upstream had one (byte for byte), else the signed text of the
 * InRelease blob, split exactly as gpg_verify_clearsigned() split it when
 * it was synced: whatever form sync accepted, promote can use.
 */
static int
upstream_text(struct store *s, const struct snap_suite *su, char **out,
    size_t *outlen, struct merr *err)
{
	const struct snap_file *f = suite_find(su, "Release");
	struct clearsign cs;
	unsigned char h[HASH_LEN];
	char hex[HASH_HEX_LEN + 1], *path, *data, *p;
	size_t len;
	int rc;

	if (f == NULL)
		f = suite_find(su, "InRelease");
	if (f == NULL)
		return merr_set(err, MERR_NOTFOUND,
		    "suite '%s' has no Release file", su->name);
	path = store_blob_path(s, f->hash);
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

int
channel_dists_sign(struct store *s, struct gpg_signer *g, const char *mirror,
    const struct snap *target, struct channel *ch, const char *base_url,
    struct merr *err)
{
	size_t i;
	int rc = 0;

	ch->suites = xcalloc(target->nsuites ? target->nsuites : 1,
	    sizeof(*ch->suites));
	for (i = 0; i < target->nsuites && rc == 0; i++) {
		struct snap_suite *su = &ch->suites[ch->nsuites++];
		char *up = NULL, *rel = NULL, *inr = NULL, *sig = NULL;
		size_t uplen = 0, rlen, ilen, slen;
		unsigned char h[HASH_LEN];

		su->name = xstrdup(target->suites[i].name);
		su->date = ch->moved_at;
		rc = upstream_text(s, &target->suites[i], &up, &uplen, err);
		if (rc == 0) {
			rel = channel_release_text(up, uplen, ch->moved_at,
			    ch->valid_until, base_url, mirror, &rlen);
			rc = gpg_sign_clear(g, rel, rlen, &inr, &ilen, err);
		}
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
		else
			merr_prefix(err, "suite '%s': ", su->name);
		free(up);
		free(rel);
		free(inr);
		free(sig);
	}
	return rc;
}
