/*
 * conf.c: loads mirrord.conf and mirrors.d/ *.sources files (deb822).
 *
 * Each field of a stanza goes to the key table (confkey.c), which checks
 * where the key may appear and sets it. Every message names the file and
 * the line of the offending key, or of the stanza for a missing key.
 * Relative paths are resolved against the realpath() of the directory of
 * the file that holds them, then normalised lexically (the target, e.g.
 * the store, need not exist yet).
 */
#include "mirrord/common.h"

#include <dirent.h>
#include <limits.h>

#include "mirrord/conf.h"
#include "mirrord/confkey.h"
#include "mirrord/confroll.h"
#include "mirrord/confval.h"
#include "mirrord/deb822.h"
#include "mirrord/hash.h"
#include "mirrord/log.h"

#define CONF_MAX_FILE (1024 * 1024)

static int conf_cmp_names(const void *a, const void *b);

/* The global stanza of the main file. */
static int
conf_global(struct conf *c, const struct confkey_src *src,
    const struct deb822_para *para, struct merr *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < para->nfields && rc == 0; i++)
		rc = confkey_apply(src, &para->fields[i], CONFKEY_GLOBAL, c,
		    err);
	return rc;
}

static void
conf_mirror_release(struct conf_mirror *m)
{
	free(m->name);
	free(m->uri);
	strv_free(m->suites, m->nsuites);
	strv_free(m->components, m->ncomponents);
	strv_free(m->arches, m->narches);
	strv_free(m->keyrings, m->nkeyrings);
	strv_free(m->key_fprs, m->nkey_fprs);
	free(m->keyblock);
	free(m->pubkey_algo);
	free(m->keep_snapshots);
	strv_free(m->include, m->ninclude);
	strv_free(m->exclude, m->nexclude);
	strv_free(m->security_suites, m->nsecurity_suites);
	strv_free(m->prefetch, m->nprefetch);
	free(m->security_tracker);
	free(m->security_osv);
	free(m->file);
	memset(m, 0, sizeof(*m));
}

/* The first required key m lacks, or NULL. */
static const char *
conf_mirror_missing(const struct conf_mirror *m)
{
	if (m->name == NULL)
		return "Name";
	if (!m->deb && !m->deb_src)
		return "Types";
	if (m->uri == NULL)
		return "URIs";
	if (m->nsuites == 0)
		return "Suites";
	if (m->ncomponents == 0)
		return "Components";
	if (m->deb && m->narches == 0)
		return "Architectures";
	if (m->nkeyrings == 0 && m->nkey_fprs == 0 && m->keyblock == NULL)
		return "Signed-By";
	return NULL;
}

/* A mirror stanza; on success *m is filled and owned by the caller. */
static int
conf_mirror_parse(const struct confkey_src *src, const struct deb822_para *para,
    struct conf_mirror *m, struct merr *err)
{
	const char *missing;
	size_t i;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	confkey_defaults(m, CONFKEY_MIRROR);
	m->file = xstrdup(src->file);
	m->line = para->line;
	for (i = 0; i < para->nfields && rc == 0; i++)
		rc = confkey_apply(src, &para->fields[i], CONFKEY_MIRROR, m,
		    err);
	/* Required keys, reported at the stanza's first line. */
	missing = rc ? NULL : conf_mirror_missing(m);
	if (missing != NULL && m->name != NULL)
		rc = confkey_err(err, src, para->line,
		    "mirror '%s': missing '%s'", m->name, missing);
	else if (missing != NULL)
		rc = confkey_err(err, src, para->line,
		    "missing '%s'", missing);
	if (rc)
		conf_mirror_release(m);
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
		confval_strv_push(&m->keyrings, &m->nkeyrings,
		    xasprintf("%s/%s", c->trusted_parts, de->d_name));
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

static uint32_t
conf_hash(const char *s)
{
	return hash_fnv1a(HASH_FNV1A_INIT, s, strlen(s));
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

/*
 * Adds the mirror m (taken, released on error) to c, unless c has one of
 * that name already.
 */
static int
conf_add_mirror(struct conf *c, const struct confkey_src *src,
    struct conf_mirror *m, struct merr *err)
{
	size_t i = conf_find(c, m->name);
	int rc;

	if (i != SIZE_MAX) {
		rc = confkey_err(err, src, m->line,
		    "mirror '%s' is already defined in '%s' line %u",
		    m->name, c->mirrors[i].file, c->mirrors[i].line);
		conf_mirror_release(m);
		return rc;
	}
	if (c->nmirrors == c->mirrors_cap) {
		c->mirrors_cap = c->mirrors_cap ? 2 * c->mirrors_cap : 8;
		c->mirrors = xreallocarray(c->mirrors, c->mirrors_cap,
		    sizeof(*c->mirrors));
	}
	hash_index_add(&c->names, conf_hash(m->name), c->nmirrors);
	c->mirrors[c->nmirrors++] = *m;
	return 0;
}

/*
 * The realpath() of the directory of file (not of any target inside it),
 * owned, into *out.
 */
static int
conf_dir_of(const char *file, char **out, struct merr *err)
{
	char *copy = xstrdup(file), *slash, *dir;

	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	dir = realpath(slash ? copy : ".", NULL);
	free(copy);
	if (dir == NULL)
		return merr_errno(err, "cannot resolve the directory of '%s'",
		    file);
	*out = dir;
	return 0;
}

/* Parses one file's stanzas into c. */
static int
conf_load_file(struct conf *c, const char *file, bool mirrors_d,
    bool *have_global, unsigned *global_line, struct merr *err)
{
	struct confkey_src src;
	struct deb822 *p = NULL;
	struct deb822_para *para;
	struct conf_mirror m;
	char *data = NULL, *dir = NULL;
	size_t len;
	int rc;

	rc = read_file(file, CONF_MAX_FILE, &data, &len, err);
	if (rc == 0)
		rc = conf_dir_of(file, &dir, err);
	if (rc)
		goto out;
	src.file = file;
	src.dir = dir;
	src.mirrors_d = mirrors_d;
	p = deb822_new_mem(data, len, file, CONF_MAX_FILE);
	for (;;) {
		rc = deb822_next(p, &para, err);
		if (rc <= 0)
			break;
		if (deb822_field(para, "Rollout") != NULL) {
			rc = confroll_parse(c, &src, para, err);
		} else if (!mirrors_d && deb822_field(para, "Name") == NULL) {
			if (*have_global) {
				rc = confkey_err(err, &src, para->line,
				    "second global stanza (the first is at "
				    "line %u; mirror stanzas need 'Name')",
				    *global_line);
				break;
			}
			*have_global = true;
			*global_line = para->line;
			rc = conf_global(c, &src, para, err);
		} else {
			rc = conf_mirror_parse(&src, para, &m, err);
			if (rc == 0)
				rc = conf_add_mirror(c, &src, &m, err);
		}
		if (rc)
			break;
	}
	/* Malformed deb822 is a configuration error here. */
	if (rc == MERR_PARSE) {
		rc = MERR_CONF;
		if (err != NULL)
			err->code = rc;
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
	strv_free(names, n);
	free(dpath);
	return rc;
}

struct conf *
conf_new(void)
{
	struct conf *c = xcalloc(1, sizeof(*c));

	confkey_defaults(c, CONFKEY_GLOBAL);
	return c;
}

int
conf_load(const char *path, struct conf **out, struct merr *err)
{
	struct conf *c = conf_new();
	bool have_global = false;
	unsigned global_line = 0;
	size_t i;
	int rc;

	c->path = xstrdup(path);
	rc = conf_load_file(c, path, false, &have_global, &global_line, err);
	if (rc == 0)
		rc = conf_load_mirrors_d(c, path, err);
	for (i = 0; rc == 0 && i < c->nmirrors; i++)
		rc = conf_trusted_parts(c, &c->mirrors[i], err);
	if (rc == 0)
		rc = confroll_check(c, err);
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
	for (i = 0; i < c->nrollouts; i++)
		confroll_release(&c->rollouts[i]);
	free(c->rollouts);
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
	free(c->blobs);
	free(c->s3_endpoint);
	free(c->s3_region);
	free(c->s3_credentials);
	free(c);
}

char *
conf_signing_key(const struct conf *c)
{
	return c->signing_key ? xstrdup(c->signing_key) :
	    xasprintf("%s/signing-key.asc", c->store);
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
