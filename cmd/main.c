/*
 * main.c: the mirrord command line: the global options, the command table
 * and its lookup, usage and help, the arguments parsed for the handlers
 * (cmd.h), which each family's file holds. Only cmd/ exits, by main()'s
 * return.
 */
#include "mirrord/common.h"

#include "mirrord/conf.h"
#include "mirrord/log.h"
#include "mirrord/priv.h"
#include "mirrord/replica.h"
#include "cmd/cmd.h"

static const struct command *cmd_table(size_t *n);

static void
usage_line(FILE *f, const struct command *c)
{
	int n;

	n = fprintf(f, "  %s%s%s", c->name, *c->synopsis ? " " : "",
	    c->synopsis);
	if (n > 33)
		fprintf(f, "\n%34s", "");
	else
		fprintf(f, "%*s", 34 - n, "");
	fprintf(f, "%s\n", c->help);
}

static void
usage_options(FILE *f)
{
	fputs("\noptions (anywhere on the line):\n"
	    "  -c CONF    configuration file (default " DEFAULT_CONF ")\n"
	    "  -q         quiet: errors only\n"
	    "  -v         verbose: debug messages\n"
	    "  --json     JSON output, for the commands that list\n"
	    "  -h, --help this text; after a command, its usage\n",
	    f);
}

/* The whole usage, or a command group's ("snapshot"), from the table. */
static void
usage_group(FILE *f, const char *group)
{
	size_t i, ncommands, gl = group ? strlen(group) : 0;
	const struct command *commands = cmd_table(&ncommands);

	if (group)
		fprintf(f, "usage: mirrord %s COMMAND [ARGS]\n\n", group);
	else
		fputs("usage: mirrord [-c CONF] [-q] [-v] COMMAND [ARGS]\n\n",
		    f);
	fputs("commands:\n", f);
	for (i = 0; i < ncommands; i++)
		if (group == NULL || (strncmp(commands[i].name, group,
		    gl) == 0 && commands[i].name[gl] == ' '))
			usage_line(f, &commands[i]);
	usage_options(f);
}

void
usage(FILE *f)
{
	usage_group(f, NULL);
}

/* One command's usage: what `mirrord CMD --help` prints. */
static void
usage_cmd(FILE *f, const struct command *c)
{
	size_t i;

	fprintf(f, "usage: mirrord %s%s%s\n\n%s\n", c->name,
	    *c->synopsis ? " " : "", c->synopsis, c->help);
	if (c->opts[0].lng)
		fputs("\noptions:\n", f);
	for (i = 0; i < CMD_MAX_OPTS && c->opts[i].lng; i++) {
		const struct cmd_opt *o = &c->opts[i];
		char sh[8] = "";
		int n;

		if (o->shrt)
			snprintf(sh, sizeof(sh), "-%c, ", o->shrt);
		n = fprintf(f, "  %s%s%s%s", sh, o->lng, o->arg ? " " : "",
		    o->arg ? o->arg : "");
		fprintf(f, "%*s%s\n", n < 26 ? 26 - n : 1, "", o->help);
	}
	fprintf(f, "\nglobal options: -c CONF, -q, -v,%s -h/--help\n",
	    c->flags & CMD_JSON ? " --json," : "");
}

/* What was wrong in one line, then the usage; 2, as git and apt (cmd.h). */
int
usage_error(const struct command *c, const char *group, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	if (c)
		usage_cmd(stderr, c);
	else
		usage_group(stderr, group);
	return 2;
}

/*
 * Run as root on a store another user owns, the command goes on as that
 * user, so that what it creates is the owner's; another user who could
 * not write the store is told the command line to run (priv.h).
 */
static int
become_store_owner(struct cli *cli, int argc, char **argv)
{
	struct merr err = { 0 };
	struct buf b = BUF_INIT;
	char *cmd;
	int i, rc;

	if (strcmp(cli->conf_path, DEFAULT_CONF) != 0)
		buf_addf(&b, "-c %s ", cli->conf_path);
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (*a != '\0' && a[strspn(a, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:=@%+,-")] ==
		    '\0') {
			buf_addf(&b, "%s%s", i ? " " : "", a);
			continue;
		}
		buf_addf(&b, "%s'", i ? " " : "");
		for (; *a != '\0'; a++)
			buf_addf(&b, *a == '\'' ? "'\\''" : "%c", *a);
		buf_addf(&b, "'");
	}
	if (cli->json)
		buf_addf(&b, " --json");
	cmd = buf_detach(&b, NULL);
	rc = priv_become_store_owner(cli->conf->store, cmd, &err);
	free(cmd);
	if (rc)
		log_error("%s", err.msg);
	return rc ? 1 : 0;
}

static int
run_version(struct cli *cli, const struct args *a)
{
	printf("mirrord %s\n", MIRRORD_VERSION);
	return 0;
}

static int run_help(struct cli *, const struct args *);

#define OPT_MESSAGE \
	{ "--message", 'm', "MESSAGE", "why: kept in the channel log" }

static const struct command commands[] = {
	{ "sync", run_sync, "[MIRROR...]",
	    "sync mirrors; prints each new snapshot ID", CMD_WRITE,
	    { { 0 } } },
	{ "status", run_status, "[--json]",
	    "syncs, snapshots, pins, channels; store size", CMD_JSON,
	    { { 0 } } },
	{ "snapshot list", run_snapshot_list, "MIRROR [--json]",
	    "snapshot IDs, oldest first; pinned ones marked", CMD_JSON,
	    { { 0 } } },
	{ "snapshot show", run_snapshot_show, "MIRROR REF [--json]",
	    "a snapshot: ID, timestamp, 'latest' or channel",
	    CMD_JSON, { { 0 } } },
	{ "snapshot diff", run_snapshot_diff, "MIRROR REF1 REF2 [--json]",
	    "packages added, removed, upgraded, downgraded", CMD_JSON,
	    { { 0 } } },
	{ "snapshot pin", run_snapshot_pin, "MIRROR REF NOTE",
	    "never drop REF's snapshot; prints its ID", CMD_WRITE,
	    { { 0 } } },
	{ "snapshot unpin", run_snapshot_unpin, "MIRROR REF",
	    "let retention drop REF's snapshot again", CMD_WRITE,
	    { { 0 } } },
	{ "snapshot drop", run_snapshot_drop, "MIRROR ID",
	    "drop a snapshot no channel or pin holds", CMD_WRITE,
	    { { 0 } } },
	{ "fetch", run_fetch, "MIRROR REF",
	    "store every pool file REF's snapshot lacks (on-demand mirrors)",
	    CMD_WRITE, { { 0 } } },
	{ "promote", run_promote,
	    "[--dry-run] [-m MESSAGE] MIRROR REF CHANNEL",
	    "point CHANNEL at REF's snapshot", CMD_JSON | CMD_WRITE,
	    { { "--dry-run", 0, NULL, "print the diff the move would make; "
	    "write nothing" },
	    OPT_MESSAGE } },
	{ "rollback", run_rollback, "[-m MESSAGE] MIRROR CHANNEL",
	    "back to the channel's previous target", CMD_WRITE,
	    { OPT_MESSAGE } },
	{ "patch", run_patch, "--from REF [--security] [--dry-run] "
	    "[-m MESSAGE] MIRROR CHANNEL [SOURCE...]",
	    "CHANNEL's target with these sources' fixes from REF",
	    CMD_JSON | CMD_WRITE,
	    { { "--from", 0, "REF", "where the new versions come from (an "
	    "ID, a timestamp, latest, a channel)" },
	    { "--security", 0, NULL, "every source whose version in REF's "
	    "security suites is newer" },
	    { "--dry-run", 0, NULL, "print the plan; write nothing" },
	    OPT_MESSAGE } },
	{ "phase", run_phase, "[-m MESSAGE] MIRROR CHANNEL REF PERCENT",
	    "serve REF to PERCENT of CHANNEL's machines (apt's phased "
	    "updates)", CMD_WRITE, { OPT_MESSAGE } },
	{ "exposure", run_exposure, "[--fail-pending] MIRROR REF [--json]",
	    "security fixes latest has and REF lacks, pending since when",
	    CMD_JSON, { { "--fail-pending", 0, NULL, "exit 1 if a fix is "
	    "pending (a gate for cron or CI)" } } },
	{ "channel list", run_channel_list, "MIRROR [--json]",
	    "channels and their targets", CMD_JSON, { { 0 } } },
	{ "channel log", run_channel_log, "MIRROR CHANNEL [--json]",
	    "a channel's moves: who, when, what, why", CMD_JSON,
	    { { 0 } } },
	{ "channel delete", run_channel_delete, "[-m MESSAGE] MIRROR CHANNEL",
	    "delete a channel (its URL then says 404)", CMD_WRITE,
	    { OPT_MESSAGE } },
	{ "channel rename", run_channel_rename,
	    "[-m MESSAGE] MIRROR OLD NEW",
	    "rename a channel and its history",
	    CMD_WRITE, { OPT_MESSAGE } },
	{ "rollout list", run_rollout_list, "[--json]",
	    "rollout plans: state, snapshot, step, next action", CMD_JSON,
	    { { 0 } } },
	{ "rollout show", run_rollout_show, "NAME [--json]",
	    "a plan, its step, next action, last check, halt", CMD_JSON,
	    { { 0 } } },
	{ "rollout pause", run_rollout_pause, "NAME",
	    "the daemon takes no action on the plan", CMD_WRITE,
	    { { 0 } } },
	{ "rollout resume", run_rollout_resume, "NAME",
	    "unpause; after a halt, check (or promote) again", CMD_WRITE,
	    { { 0 } } },
	{ "rollout advance", run_rollout_advance, "NAME",
	    "skip the current soak (the move is logged as yours)", CMD_WRITE,
	    { { 0 } } },
	{ "rollout abort", run_rollout_abort, "NAME",
	    "stop the rollout; channels stay where they are", CMD_WRITE,
	    { { 0 } } },
	{ "sources", run_sources, "[--arch ARCH]... MIRROR CHANNEL",
	    "a client's deb822 .sources stanza", 0,
	    { { "--arch", 0, "ARCH", "only these architectures (repeatable, "
	    "or a comma list)" } } },
	{ "key export", run_key_export, "[--armor]",
	    "mirrord's public signing key", 0,
	    { { "--armor", 'a', NULL, "ASCII-armored, not binary" } } },
	{ "serve", run_serve, "", "the HTTP server, on Listen:", 0,
	    { { 0 } } },
	{ "daemon", run_daemon, "",
	    "serve, and sync every Sync-Interval", 0, { { 0 } } },
	{ "gc", run_gc, "[--dry-run]",
	    "apply Keep-Snapshots, remove unused blobs", CMD_WRITE,
	    { { "--dry-run", 0, NULL, "say what would go; change nothing" } } },
	{ "fsck", run_fsck, "[--upgrade] [--deep]",
	    "re-hash every blob, check every reference", 0,
	    { { "--upgrade", 0, NULL, "first upgrade the store's format" },
	    { "--deep", 0, NULL, "S3: download and re-hash every object" } } },
	{ "resolve", run_resolve, "[--packages FILE]... [--sources FILE]... "
	    "[--arch ARCH]... [--recommends] [--exclude SEL]... [--why] "
	    "[MIRROR REF] SELECTOR...", "the dependency closure of SELECTORs, as apt would "
	    "install it", CMD_NOCONF | CMD_JSON, { { "--packages", 0, "FILE",
	    "a Packages file (plain, .gz, .xz; repeatable)" }, { "--sources",
	    0, "FILE", "a Sources file: select the sources too" }, { "--arch",
	    0, "ARCH", "architectures (repeatable; default: the files')" },
	    { "--recommends", 0, NULL, "follow Recommends too" }, {
	    "--exclude", 0, "SEL", "never select what SEL matches" }, {
	    "--why", 0, NULL, "say why each package is there" } } },
	{ "index-parse", run_index_parse, "FILE",
	    "parse a Packages file (for benchmarks)", CMD_NOCONF, { { 0 } } },
	{ "version", run_version, "", "print the version", CMD_NOCONF,
	    { { 0 } } },
	{ "help", run_help, "[COMMAND...]",
	    "this text, or a command's usage", CMD_NOCONF, { { 0 } } },
};

static const struct command *
cmd_table(size_t *n)
{
	*n = sizeof(commands) / sizeof(commands[0]);
	return commands;
}

/* The command named by one or two words; *group if w1 names a group. */
static const struct command *
cmd_find(const char *w1, const char *w2, bool *group)
{
	size_t i, l = strlen(w1);

	*group = false;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const char *n = commands[i].name;

		if (strcmp(n, w1) == 0)
			return &commands[i];
		if (strncmp(n, w1, l) == 0 && n[l] == ' ') {
			*group = true;
			if (w2 && strcmp(n + l + 1, w2) == 0)
				return &commands[i];
		}
	}
	return NULL;
}

static int
run_help(struct cli *cli, const struct args *a)
{
	const struct command *c;
	bool group;

	if (a->argc == 0) {
		usage(stdout);
		return 0;
	}
	c = cmd_find(a->argv[0], a->argc > 1 ? a->argv[1] : NULL, &group);
	if (c)
		usage_cmd(stdout, c);
	else if (group)
		usage_group(stdout, a->argv[0]);
	else
		return usage_error(NULL, NULL, "unknown command '%s'",
		    a->argv[0]);
	return 0;
}

/*
 * The positional words of a synopsis: those outside an option's
 * brackets ("[--arch ARCH]..." is an option; "[MIRROR...]" is not),
 * nor a required option with its value ("--from REF").
 * Sets the minimum and maximum counts (-1: any) and copies the names.
 */
static void
cmd_positionals(const struct command *c, char names[][32], int *min,
    int *max)
{
	char *copy = xstrdup(c->synopsis), *w, *save = NULL;
	bool in_opt = false, value = false, in_group = false, optional;
	int n = 0;

	*min = 0;
	*max = 0;
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ",
	    &save)) {
		if (in_opt || str_startswith(w, "[-")) {
			in_opt = strchr(w, ']') == NULL;
			continue;
		}
		/* A required option ("--from REF") and its value. */
		if (value || *w == '-') {
			value = *w == '-';
			continue;
		}
		/* "[MIRROR REF]": optional words, together. */
		optional = in_group || *w == '[';
		in_group = optional && strchr(w, ']') == NULL;
		if (n < 8 && !optional)	/* what "needs X" can name */
			snprintf(names[n++], 32, "%s", w);
		if (strstr(w, "..."))
			*max = -1;
		else if (*max >= 0)
			(*max)++;
		if (!optional)
			(*min)++;
	}
	free(copy);
}

/* Adds value to option i of a. */
static void
args_add(struct args *a, int i, char *value)
{
	a->val[i] = xreallocarray(a->val[i], a->nval[i] + 1,
	    sizeof(*a->val[i]));
	a->val[i][a->nval[i]++] = value;
}

static void
args_release(struct args *a)
{
	int i;

	for (i = 0; i < CMD_MAX_OPTS; i++)
		free(a->val[i]);
	free(a->argv);
}

/* Global options: -c CONF, -q, -v, --json, -h/--help. */
struct globals {
	const char *conf;
	bool quiet, verbose, json, help;
};

/*
 * One option word at argv[*i] (its value may be the next word): a global
 * one, or one of c's (c NULL: globals only). 1 if it is none of those,
 * -1 if it needs a value that is not there, 0 when taken.
 */
static int
parse_opt(const struct command *c, struct globals *g, struct args *a,
    int argc, char **argv, int *i)
{
	char *w = argv[*i], *val = NULL;
	size_t k, l;

	if (strcmp(w, "-q") == 0 || strcmp(w, "--quiet") == 0)
		g->quiet = true;
	else if (strcmp(w, "-v") == 0 || strcmp(w, "--verbose") == 0)
		g->verbose = true;
	else if (strcmp(w, "--json") == 0)
		g->json = true;
	else if (strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0)
		g->help = true;
	else if (str_startswith(w, "--config="))
		g->conf = w + 9;
	else if (strcmp(w, "-c") == 0 || strcmp(w, "--config") == 0) {
		if (*i + 1 >= argc)
			return -1;
		g->conf = argv[++*i];
	} else if (str_startswith(w, "-c") && w[2])
		g->conf = w + 2;
	else {
		for (k = 0; c && k < CMD_MAX_OPTS && c->opts[k].lng; k++) {
			const struct cmd_opt *o = &c->opts[k];

			l = strlen(o->lng);
			if (strcmp(w, o->lng) == 0 || (o->shrt && w[0] == '-' &&
			    w[1] == o->shrt && w[2] == '\0')) {
				if (!o->arg) {
					args_add(a, (int)k, (char *)"");
					return 0;
				}
				if (*i + 1 >= argc)
					return -1;
				args_add(a, (int)k, argv[++*i]);
				return 0;
			}
			if (o->arg && strncmp(w, o->lng, l) == 0 &&
			    w[l] == '=') {
				val = w + l + 1;
			} else if (o->arg && o->shrt && w[0] == '-' &&
			    w[1] == o->shrt && w[2]) {
				val = w + 2;
			}
			if (val) {
				args_add(a, (int)k, val);
				return 0;
			}
		}
		return 1;
	}
	return 0;
}

/*
 * become_store_owner() with the command line as the user typed it, but
 * for -c and --json, which it adds itself.
 */
static int
become_owner(struct cli *cli, int argc, char **argv)
{
	char **v = xcalloc((size_t)argc + 1, sizeof(*v));
	int i, n = 0, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			for (; i < argc; i++)
				v[n++] = argv[i];
			break;
		}
		if ((strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
			i++;
			continue;
		}
		if (strcmp(argv[i], "--json") == 0 ||
		    str_startswith(argv[i], "--config=") ||
		    (str_startswith(argv[i], "-c") && argv[i][2]))
			continue;
		v[n++] = argv[i];
	}
	rc = become_store_owner(cli, n, v);
	free(v);
	return rc;
}

/* The command line, as main() takes it apart. */
struct line {
	const char *w1, *w2;	/* the command's words, or NULL */
	int i1, i2;		/* where they are in argv, or -1 */
	const struct command *c;	/* the command, or NULL */
	bool group;		/* w1 names a group ("snapshot") */
	struct globals g;
	struct args a;		/* a.argv owned: args_release */
};

/* The command's words: the first two that are not options. */
static void
line_words(struct line *l, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && l->w2 == NULL; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (argv[i][0] == '-' && argv[i][1]) {
			if (strcmp(argv[i], "-c") == 0 ||
			    strcmp(argv[i], "--config") == 0)
				i++;	/* its value */
			continue;
		}
		if (l->w1 == NULL) {
			l->w1 = argv[i];
			l->i1 = i;
		} else {
			l->w2 = argv[i];
			l->i2 = i;
		}
	}
}

/*
 * The options, anywhere on the line, and the positional arguments into
 * l->a. 0, or the exit status of a usage error.
 */
static int
line_parse(struct line *l, int argc, char **argv)
{
	const struct command *c = l->c;
	const char *group = l->group ? l->w1 : NULL;
	bool dashdash = false;
	int i, rc;

	l->a.argv = xcalloc((size_t)argc + 1, sizeof(*l->a.argv));
	for (i = 1; i < argc; i++) {
		if (i == l->i1 || i == l->i2)
			continue;
		if (!dashdash && strcmp(argv[i], "--") == 0) {
			dashdash = true;
			continue;
		}
		if (dashdash || argv[i][0] != '-' || !argv[i][1]) {
			l->a.argv[l->a.argc++] = argv[i];
			continue;
		}
		rc = parse_opt(c, &l->g, &l->a, argc, argv, &i);
		if (rc < 0)
			return usage_error(c, group,
			    "option '%s' needs a value", argv[i]);
		if (rc > 0 && !l->g.help)
			return usage_error(c, group,
			    "unknown option '%s'%s%s%s", argv[i],
			    c ? " for '" : "", c ? c->name : "", c ? "'" : "");
	}
	return 0;
}

/*
 * What the line asks for but running a command: help, or a usage error.
 * Sets *done and returns the exit status then.
 */
static int
line_check(struct line *l, bool *done)
{
	const struct command *c = l->c;
	char names[8][32];
	int min, max;

	*done = true;
	if (c == NULL && l->g.help) {
		if (l->group)
			usage_group(stdout, l->w1);
		else
			usage(stdout);
		return 0;
	}
	if (c == NULL && l->group)
		return l->w2 ? usage_error(NULL, l->w1, "unknown %s command "
		    "'%s'", l->w1, l->w2) : usage_error(NULL, l->w1, "'%s' "
		    "needs a command", l->w1);
	if (c == NULL)
		return usage_error(NULL, NULL, "no command given");
	if (l->g.help) {
		usage_cmd(stdout, c);
		return 0;
	}
	if (l->g.json && !(c->flags & CMD_JSON))
		return usage_error(c, NULL, "'%s' has no JSON output",
		    c->name);
	cmd_positionals(c, names, &min, &max);
	if (l->a.argc < min)
		return usage_error(c, NULL, "'%s' needs %s", c->name,
		    names[l->a.argc]);
	if (max >= 0 && l->a.argc > max)
		return usage_error(c, NULL, "'%s': unexpected argument '%s'",
		    c->name, l->a.argv[max]);
	*done = false;
	return 0;
}

/* Loads the configuration (as the store's owner) and runs l's command. */
/* The one check that a replica's store takes no write (replica.h). */
static int
refuse_on_replica(const struct cli *cli, const struct command *c)
{
	struct merr err = { 0 };

	if (!(c->flags & CMD_WRITE) || replica_refuse(cli->conf, &err) == 0)
		return 0;
	log_error("%s: %s", c->name, err.msg);
	return 1;
}

static int
line_run(struct line *l, int argc, char **argv)
{
	struct cli cli = { DEFAULT_CONF, false, false, NULL };
	int rc;

	cli.conf_path = l->g.conf;
	cli.quiet = l->g.quiet;
	cli.json = l->g.json;
	log_init(l->g.verbose ? LOG_DEBUG : l->g.quiet ? LOG_ERROR : LOG_INFO,
	    false);
	if (!(l->c->flags & CMD_NOCONF) && (load_conf(&cli) ||
	    refuse_on_replica(&cli, l->c) || become_owner(&cli, argc, argv)))
		rc = 1;
	else
		rc = l->c->fn(&cli, &l->a);
	conf_free(cli.conf);
	return rc;
}

int
main(int argc, char **argv)
{
	struct line l;
	bool done;
	int rc;

	log_init(LOG_INFO, false);
	memset(&l, 0, sizeof(l));
	l.i1 = l.i2 = -1;
	l.g.conf = DEFAULT_CONF;
	/* GNU-style, as a packager expects. */
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("mirrord %s\n", MIRRORD_VERSION);
		return 0;
	}
	line_words(&l, argc, argv);
	if (l.w1 && strcmp(l.w1, "help") != 0) {
		l.c = cmd_find(l.w1, l.w2, &l.group);
		if (l.c == NULL && !l.group)
			return usage_error(NULL, NULL, "unknown command '%s'",
			    l.w1);
	}
	if (l.w1 && strcmp(l.w1, "help") == 0)
		l.c = cmd_find(l.w1, NULL, &l.group);
	if (l.c && strchr(l.c->name, ' ') == NULL)
		l.i2 = -1;	/* the second word is an argument */
	rc = line_parse(&l, argc, argv);
	if (rc == 0)
		rc = line_check(&l, &done);
	else
		done = true;
	if (!done)
		rc = line_run(&l, argc, argv);
	args_release(&l.a);
	return rc;
}
