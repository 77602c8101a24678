/*
 * snap_manifest.c: a snapshot's manifest, written and parsed.
 *
 * The manifest is a small line-based text ("key value..."), so that a
 * snapshot row stays readable with mdb_dump when something goes wrong:
 *
 *	mirrord-snapshot 1
 *	id 20261129T080000Z
 *	seq 3
 *	time 1764403200
 *	kind patch
 *	count packages 120 sources 10 files 140 bytes 123456 new_files 2 new_bytes 2048
 *	recipe base 20261129T070000Z (channel production)
 *	recipe openssl 3.0.11-1~deb12u1 -> 3.0.13-1~deb12u1 from 20261129T075000Z
 *	suite stable
 *	date 1764403200 Sat, 29 Nov 2026 08:00:00 UTC
 *	file HEX SIZE InRelease
 *	index HEX NPARA NFILES BYTES main/binary-amd64/Packages.xz
 *
 * Paths never hold spaces or control bytes (path_check), so a space
 * separates fields and the path comes last.
 *
 * "kind" is written only for composed snapshots (partial, patch), so a
 * sync's manifest is what it was before kinds existed, and a manifest
 * without one is a sync's. Each line of the recipe is one "recipe" line,
 * the text after "recipe " kept as it is.
 */
#include "mirrord/common.h"

#include "mirrord/snap.h"

static const char *const kind_names[] = {
	[SNAP_SYNC] = "sync",
	[SNAP_PARTIAL] = "partial",
	[SNAP_PATCH] = "patch",
	[SNAP_PHASE] = "phase",
};

const char *
snap_kind_name(enum snap_kind kind)
{
	if ((size_t)kind >= ARRAY_SIZE(kind_names))
		return "?";
	return kind_names[kind];
}

bool
snap_kind_upstream(enum snap_kind kind)
{
	return kind == SNAP_SYNC || kind == SNAP_PARTIAL;
}

static int
kind_from_name(const char *name, enum snap_kind *kind)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kind_names); i++)
		if (strcmp(name, kind_names[i]) == 0) {
			*kind = (enum snap_kind)i;
			return 0;
		}
	return -1;
}

/* One "recipe" line per line of text; a missing last newline is added. */
static void
write_recipe(const char *text, struct buf *b)
{
	const char *p = text, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		buf_adds(b, "recipe ");
		buf_add(b, p, (size_t)(nl - p));
		buf_addc(b, '\n');
		p = *nl ? nl + 1 : nl;
	}
}

void
snap_manifest_write(const struct snap *sn, struct buf *b)
{
	char hex[HASH_HEX_LEN + 1];
	size_t i, j;

	buf_addf(b, "mirrord-snapshot 1\nid %s\nseq %u\ntime %lld\n",
	    sn->id, sn->seq, (long long)sn->time);
	if (sn->kind != SNAP_SYNC)
		buf_addf(b, "kind %s\n", snap_kind_name(sn->kind));
	buf_addf(b, "count packages %llu sources %llu files %llu pool_bytes "
	    "%llu bytes %llu new_files %llu new_bytes %llu\n",
	    (unsigned long long)sn->packages, (unsigned long long)sn->sources,
	    (unsigned long long)sn->files, (unsigned long long)sn->pool_bytes,
	    (unsigned long long)sn->bytes,
	    (unsigned long long)sn->new_files,
	    (unsigned long long)sn->new_bytes);
	if (sn->recipe)
		write_recipe(sn->recipe, b);
	for (i = 0; i < sn->nsuites; i++) {
		const struct snap_suite *su = &sn->suites[i];

		buf_addf(b, "suite %s\ndate %lld %s\n", su->name,
		    (long long)su->date, su->date_str ? su->date_str : "");
		for (j = 0; j < su->nfiles; j++) {
			hash_to_hex(su->files[j].hash, hex);
			buf_addf(b, "file %s %llu %s\n", hex,
			    (unsigned long long)su->files[j].size,
			    su->files[j].path);
		}
		for (j = 0; j < su->nindices; j++) {
			const struct snap_index *ix = &su->indices[j];

			hash_to_hex(ix->hash, hex);
			buf_addf(b, "index %s %llu %llu %llu %s\n", hex,
			    (unsigned long long)ix->npara,
			    (unsigned long long)ix->nfiles,
			    (unsigned long long)ix->bytes, ix->path);
		}
	}
}

/* Splits a line into at most max space-separated words; the last takes
 * the rest of the line. Returns the number of words. */
static size_t
split_words(char *line, char **w, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (*p && n < max) {
		if (n == max - 1) {
			w[n++] = p;
			break;
		}
		w[n++] = p;
		p = strchr(p, ' ');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	return n;
}

static int
manifest_u64(const char *s, uint64_t *out)
{
	return parse_u64(s, strlen(s), UINT64_MAX, out);
}

/*
 * A line of a suite's block ("date", "file", "index": key, then the rest
 * of the line) into su: true if it is one of them and well-formed.
 */
static bool
parse_suite_line(const char *key, char *rest, struct snap_suite *su)
{
	unsigned char h[HASH_LEN];
	struct snap_index *ix;
	uint64_t v[3];
	char *w2[6];
	size_t m;

	if (strcmp(key, "date") == 0) {
		m = split_words(rest, w2, 2);
		if (m < 1 || manifest_u64(w2[0], v))
			return false;
		su->date = (int64_t)v[0];
		su->date_str = xstrdup(m == 2 ? w2[1] : "");
		return true;
	}
	if (strcmp(key, "file") == 0) {
		if (split_words(rest, w2, 3) != 3 ||
		    hash_from_hex(w2[0], strlen(w2[0]), h) ||
		    manifest_u64(w2[1], v))
			return false;
		snap_suite_add_file(su, w2[2], h, v[0]);
		return true;
	}
	if (strcmp(key, "index") == 0) {
		if (split_words(rest, w2, 5) != 5 ||
		    hash_from_hex(w2[0], strlen(w2[0]), h) ||
		    manifest_u64(w2[1], &v[0]) ||
		    manifest_u64(w2[2], &v[1]) ||
		    manifest_u64(w2[3], &v[2]))
			return false;
		ix = snap_suite_add_index(su, w2[4], h);
		ix->npara = v[0];
		ix->nfiles = v[1];
		ix->bytes = v[2];
		return true;
	}
	return false;
}

int
snap_manifest_parse(const char *data, size_t len, struct snap *sn,
    struct merr *err)
{
	char *copy = xstrndup(data, len), *line, *save = NULL;
	struct snap_suite *su = NULL;
	struct buf recipe = BUF_INIT;
	unsigned lineno = 0;
	int rc = 0;

	memset(sn, 0, sizeof(*sn));
	for (line = strtok_r(copy, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		char *w[16] = { NULL };
		size_t n = split_words(line, w, 2);
		uint64_t v[15];
		size_t i;

		lineno++;
		if (n == 0)
			goto bad;
		if (lineno == 1) {
			if (n != 2 || strcmp(w[0], "mirrord-snapshot") ||
			    strcmp(w[1], "1"))
				goto bad;
			continue;
		}
		if (strcmp(w[0], "id") == 0 && n == 2 &&
		    strlen(w[1]) == SNAP_ID_LEN) {
			memcpy(sn->id, w[1], SNAP_ID_LEN + 1);
		} else if (strcmp(w[0], "seq") == 0 && n == 2) {
			if (manifest_u64(w[1], v) || v[0] > UINT32_MAX)
				goto bad;
			sn->seq = (uint32_t)v[0];
		} else if (strcmp(w[0], "time") == 0 && n == 2) {
			if (manifest_u64(w[1], v))
				goto bad;
			sn->time = (int64_t)v[0];
		} else if (strcmp(w[0], "kind") == 0) {
			if (n != 2 || kind_from_name(w[1], &sn->kind))
				goto bad;
		} else if (strcmp(w[0], "recipe") == 0) {
			/* "recipe" alone: an empty line of the recipe. */
			if (n == 2)
				buf_adds(&recipe, w[1]);
			buf_addc(&recipe, '\n');
		} else if (strcmp(w[0], "count") == 0) {
			/* "count k v k v ...": seven pairs. */
			if (n != 2 || split_words(w[1], w + 1, 14) != 14)
				goto bad;
			for (i = 2; i < 15; i += 2)
				if (manifest_u64(w[i], &v[i]))
					goto bad;
			sn->packages = v[2];
			sn->sources = v[4];
			sn->files = v[6];
			sn->pool_bytes = v[8];
			sn->bytes = v[10];
			sn->new_files = v[12];
			sn->new_bytes = v[14];
		} else if (strcmp(w[0], "suite") == 0 && n == 2) {
			sn->suites = xreallocarray(sn->suites,
			    sn->nsuites + 1, sizeof(*sn->suites));
			su = &sn->suites[sn->nsuites++];
			memset(su, 0, sizeof(*su));
			su->name = xstrdup(w[1]);
		} else if (su && n == 2 && parse_suite_line(w[0], w[1], su)) {
			continue;
		} else {
			goto bad;
		}
	}
	if (sn->id[0] == '\0')
		goto bad;
	if (recipe.len)
		sn->recipe = buf_detach(&recipe, NULL);
	free(copy);
	return 0;
bad:
	rc = merr_set(err, MERR_STORE, "corrupt snapshot manifest at line %u",
	    lineno);
	buf_release(&recipe);
	free(copy);
	snap_release(sn);
	return rc;
}

/*
 * The kind alone, for snap_load's walk back over patches: the lines
 * before the first suite, without copying the manifest. A line here is
 * at most a recipe's; the kind line comes right after "time".
 */
int
snap_manifest_kind(const char *data, size_t len, enum snap_kind *kind,
    struct merr *err)
{
	const char *p = data, *end = data + len, *nl;
	unsigned lineno = 0;
	char name[16];
	size_t ll;

	*kind = SNAP_SYNC;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		ll = (size_t)(nl - p);
		lineno++;
		if (ll >= 6 && memcmp(p, "suite ", 6) == 0)
			break;
		if (ll < 5 || memcmp(p, "kind ", 5) != 0)
			continue;
		if (ll - 5 >= sizeof(name))
			goto bad;
		memcpy(name, p + 5, ll - 5);
		name[ll - 5] = '\0';
		if (kind_from_name(name, kind))
			goto bad;
		break;
	}
	return 0;
bad:
	return merr_set(err, MERR_STORE, "corrupt snapshot manifest at line %u",
	    lineno);
}
