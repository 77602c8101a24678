/*
 * sources.c: `mirrord sources`, a client's deb822 stanza, and
 * `mirrord key export`.
 */
#include "mirrord/common.h"

#include "mirrord/channel.h"
#include "mirrord/gpg.h"
#include "mirrord/log.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "cmd/cmd.h"

static int
cmd_key(struct cli *cli, int argc, char **argv)
{
	bool armor = false;
	char *key;
	size_t len;
	int i;

	if (argc < 1 || strcmp(argv[0], "export") != 0) {
		usage(stderr);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--armor") == 0 ||
		    strcmp(argv[i], "-a") == 0) {
			armor = true;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (export_key(cli, armor, &key, &len))
		return 1;
	fwrite(key, 1, len, stdout);
	free(key);
	return 0;
}

/* Whether Listen's host is a wildcard address no client can connect to. */
static bool
listen_is_wildcard(const char *listen)
{
	return str_startswith(listen, "0.0.0.0:") ||
	    str_startswith(listen, "[::]:") || str_startswith(listen, ":") ||
	    str_startswith(listen, "*:");
}

/* Logs "(channels: a, b)" or how to make one, after what. */
static void
log_channels(struct store_txn *t, const char *mirror, const char *what)
{
	struct merr err = { 0 };
	struct buf b = BUF_INIT;
	char **names = NULL;
	size_t n = 0, i;

	if (channel_list(t, mirror, &names, &n, &err) == 0 && n > 0) {
		for (i = 0; i < n; i++) {
			buf_adds(&b, i ? ", " : "");
			buf_adds(&b, names[i]);
		}
		buf_addc(&b, '\0');
		log_error("%s (channels: %s)", what, b.p);
	} else {
		log_error("%s (it has no channels: make one with 'mirrord "
		    "promote %s REF CHANNEL')", what, mirror);
	}
	buf_release(&b);
	strv_free(names, n);
}

/*
 * The channel a sources stanza names must exist: apt would get 404s.
 * 'latest' and snapshot URLs serve upstream's Release files, which the
 * Signed-By: of mirrord's key cannot verify: they are refused too.
 */
static int
sources_check_channel(struct cli *cli, const char *mirror, const char *name)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	struct channel ch;
	char *what;
	int rc;

	if (open_store(cli, false, &s))
		return 1;
	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0 && channel_name_check(name, &err) == 0) {
		rc = channel_get(t, mirror, name, &ch, &err);
		if (rc == 0)
			channel_free(&ch);
	} else if (rc == 0) {
		rc = MERR_INVAL;
	}
	if (rc == MERR_NOTFOUND || rc == MERR_INVAL) {
		what = rc == MERR_NOTFOUND ?
		    xasprintf("mirror '%s' has no channel '%s'", mirror,
		    name) :
		    xasprintf("mirror '%s': '%s' is not a channel: sources "
		    "name a channel, whose Release files mirrord signs", mirror,
		    name);
		log_channels(t, mirror, what);
		free(what);
	} else if (rc) {
		log_mirror_error(mirror, &err);
	}
	if (t)
		store_txn_abort(t);
	store_close(s);
	return rc ? 1 : 0;
}

/*
 * --arch ARCH (repeatable, or a comma list; also --arch=ARCH): each must
 * be one of m's Architectures:. Adds them to *want (n of them, owned).
 * 2 on a usage error, 1 on an unknown architecture.
 */
static int
sources_arch(const struct conf_mirror *m, const char *list, char ***want,
    size_t *n)
{
	char *copy = xstrdup(list), *a, *save = NULL;
	size_t i;
	int rc = 0;

	if (*list == '\0')
		rc = 2;
	for (a = strtok_r(copy, ",", &save); rc == 0 && a;
	    a = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < m->narches; i++)
			if (strcmp(m->arches[i], a) == 0)
				break;
		if (i == m->narches) {
			struct buf b = BUF_INIT;

			for (i = 0; i < m->narches; i++) {
				buf_adds(&b, i ? " " : "");
				buf_adds(&b, m->arches[i]);
			}
			buf_addc(&b, '\0');
			log_error("mirror '%s' has no architecture '%s' "
			    "(architectures: %s)", m->name, a,
			    b.p ? b.p : "none");
			buf_release(&b);
			rc = 1;
			break;
		}
		for (i = 0; i < *n; i++)
			if (strcmp((*want)[i], a) == 0)
				break;
		if (i < *n)
			continue;
		*want = xrealloc(*want, (*n + 1) * sizeof(**want));
		(*want)[(*n)++] = xstrdup(a);
	}
	free(copy);
	if (rc == 2)
		log_error("'--arch' needs an architecture");
	return rc;
}

/* Frees the n architectures of arches. */
static void
sources_arches_free(char **arches, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(arches[i]);
	free(arches);
}

/*
 * The stanza itself, with key (an armored keyring) as its Signed-By:,
 * which is cut into lines (it is the caller's, and changed).
 */
static void
sources_print(struct cli *cli, const struct conf_mirror *m,
    const char *channel, char **arches, size_t narches, char *key)
{
	char *line, *save = NULL;
	size_t i;

	printf("Types: deb%s\n", m->deb_src ? " deb-src" : "");
	if (cli->conf->base_url)
		printf("URIs: %s/%s/%s\n", cli->conf->base_url, m->name,
		    channel);
	else
		printf("URIs: http://%s/%s/%s\n", cli->conf->listen, m->name,
		    channel);
	printf("Suites:");
	for (i = 0; i < m->nsuites; i++)
		printf(" %s", m->suites[i]);
	printf("\nComponents:");
	for (i = 0; i < m->ncomponents; i++)
		printf(" %s", m->components[i]);
	putchar('\n');
	/* None asked for: apt's default, the client's own architectures. */
	if (narches) {
		printf("Architectures:");
		for (i = 0; i < narches; i++)
			printf(" %s", arches[i]);
		putchar('\n');
	}
	/* deb822 continuation lines; an empty line is " .". */
	printf("Signed-By:\n");
	for (line = key; line && *line; line = save) {
		char *nl = strchr(line, '\n');

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		if (*line == '\0')
			printf(" .\n");
		else
			printf(" %s\n", line);
	}
}

/*
 * The Signed-By: keyring, into *key (owned): mirrord's key (the
 * channel's Release files) and the mirror's (the snapshot URLs its
 * Snapshots: field sends apt to).
 */
static int
sources_keyring(struct cli *cli, const struct conf_mirror *m, char **key,
    size_t *len)
{
	struct gpg_keyspec ks;
	struct merr err = { 0 };
	char *own;
	size_t ownlen;
	int rc = 0;

	if (export_key(cli, false, &own, &ownlen))
		return 1;
	gpg_keyspec_of_mirror(&ks, m);
	if (gpg_keyring_export(&ks, own, ownlen, NULL, true, key, len,
	    &err)) {
		log_error("mirror '%s': %s", m->name, err.msg);
		rc = 1;
	}
	free(own);
	return rc;
}

/* sources [--arch ARCH]... MIRROR CHANNEL */
static int
cmd_sources(struct cli *cli, int argc, char **argv)
{
	const struct conf_mirror *m;
	const char *pos[2];
	char **arches = NULL, *key = NULL;
	size_t len, narches = 0;
	int npos = 0, j, rc = 0;

	for (j = 0; j < argc; j++) {
		if (strcmp(argv[j], "--arch") == 0 && j + 1 < argc)
			j++;	/* its value, read below */
		else if (argv[j][0] == '-' &&
		    !str_startswith(argv[j], "--arch="))
			npos = 3;	/* an unknown option or no value */
		else if (argv[j][0] != '-' && npos < 2)
			pos[npos++] = argv[j];
		else if (argv[j][0] != '-')
			npos = 3;	/* one too many */
	}
	if (npos != 2) {
		usage(stderr);
		return 2;
	}
	if (check_mirror(cli, pos[0]))
		return 1;
	m = conf_mirror(cli->conf, pos[0]);
	for (j = 0; rc == 0 && j < argc; j++) {
		if (strcmp(argv[j], "--arch") == 0)
			rc = sources_arch(m, argv[++j], &arches, &narches);
		else if (str_startswith(argv[j], "--arch="))
			rc = sources_arch(m, argv[j] + 7, &arches, &narches);
	}
	if (rc == 0 && cli->conf->base_url == NULL &&
	    listen_is_wildcard(cli->conf->listen)) {
		log_error("'Base-URL' is not set and 'Listen' ('%s') is a "
		    "wildcard address no client can use: set 'Base-URL' to "
		    "the URL clients reach this server at", cli->conf->listen);
		rc = 1;
	}
	if (rc == 0)
		rc = sources_check_channel(cli, m->name, pos[1]);
	if (rc == 0)
		rc = sources_keyring(cli, m, &key, &len);
	if (rc == 0)
		sources_print(cli, m, pos[1], arches, narches, key);
	sources_arches_free(arches, narches);
	free(key);
	return rc;
}

int
run_sources(struct cli *cli, const struct args *a)
{
	char **v = xcalloc(2 * a->nval[0] + (size_t)a->argc + 1, sizeof(*v));
	size_t i, n = 0;
	int rc;

	for (i = 0; i < a->nval[0]; i++) {
		v[n++] = (char *)"--arch";
		v[n++] = a->val[0][i];
	}
	memcpy(v + n, a->argv, (size_t)a->argc * sizeof(*v));
	rc = cmd_sources(cli, (int)n + a->argc, v);
	free(v);
	return rc;
}

int
run_key_export(struct cli *cli, const struct args *a)
{
	char *v[] = { (char *)"export", (char *)"--armor" };

	return cmd_key(cli, a->nval[0] ? 2 : 1, v);
}
