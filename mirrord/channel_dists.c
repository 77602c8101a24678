/*
 * channel_dists.c: the dists files a channel serves: its own Release
 * files (upstream's signed text with a new Date, signed with mirrord's
 * key) and, for the rest, the files of the snapshot it points at.
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/channel.h"
#include "mirrord/dists.h"
#include "mirrord/fmt.h"
#include "mirrord/gpg.h"

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
	if (ch && ch->name[0] && dists_is_release(path)) {
		for (i = 0; i < ch->nsuites; i++)
			if (strcmp(ch->suites[i].name, suite) == 0)
				return snap_suite_file(&ch->suites[i], path);
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
			    !dists_is_release(f->path))
				return f;
		}
		return NULL;
	}
	return snap_suite_file(su, path);
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
	static const char *const drop[] = { "Valid-Until", "Snapshots",
		NULL };
	struct buf b = BUF_INIT, ins = BUF_INIT;
	char when[64];

	rfc2822(date, when, sizeof(when));
	buf_addf(&ins, "Date: %s\n", when);
	if (valid_until) {
		rfc2822(valid_until, when, sizeof(when));
		buf_addf(&ins, "Valid-Until: %s\n", when);
	}
	if (base_url)
		buf_addf(&ins, "Snapshots: %s/%s/@SNAPSHOTID@/\n", base_url,
		    mirror);
	dists_release_rewrite(upstream, len, drop, ins.p, &b);
	buf_release(&ins);
	return buf_detach(&b, outlen);
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
		char *up = NULL, *rel = NULL;
		size_t uplen = 0, rlen;

		su->name = xstrdup(target->suites[i].name);
		su->date = ch->moved_at;
		rc = dists_release_text(s, &target->suites[i], &up, &uplen,
		    err);
		if (rc == 0) {
			rel = channel_release_text(up, uplen, ch->moved_at,
			    ch->valid_until, base_url, mirror, &rlen);
			rc = dists_sign_release(s, g, rel, rlen, su, err);
		}
		if (rc)
			merr_prefix(err, "suite '%s': ", su->name);
		free(up);
		free(rel);
	}
	return rc;
}
