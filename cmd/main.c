/*
 * main.c: the mirrord command line. Only cmd/ exits.
 */
#include "mirrord/common.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <time.h>
#include <unistd.h>

#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>

#include "mirrord/channel.h"
#include "cmd/daemon.h"
#include "mirrord/conf.h"
#include "mirrord/diff.h"
#include "mirrord/gc.h"
#include "mirrord/gpg.h"
#include "mirrord/index.h"
#include "mirrord/log.h"
#include "mirrord/priv.h"
#include "mirrord/snap.h"
#include "mirrord/status.h"
#include "mirrord/store.h"
#include "sync/fetch.h"
#include "sync/sync.h"
#include "serve/serve.h"

#define DEFAULT_CONF "/etc/mirrord/mirrord.conf"

struct cli {
	const char *conf_path;
	bool quiet;
	bool json;
	struct conf *conf;
};

/*
 * The command table (git.c's, redis's): each command's name, synopsis
 * (after the name: what --help, the usage text and mirrord(8) show, and
 * where the parser reads the positional arguments from: every word not
 * inside an option's brackets), one line of help, its own options and
 * its handler. Options may stand anywhere, before or after the command.
 */
#define CMD_MAX_OPTS 3

struct cmd_opt {
	const char *lng;	/* "--dry-run" */
	char shrt;		/* 'm', or 0 */
	const char *arg;	/* its value's name ("MESSAGE"), or NULL */
	const char *help;
};

struct args {
	int argc;		/* the positional arguments */
	char **argv;
	/* Each option's values (or one "" per use of a flag), in order. */
	char **val[CMD_MAX_OPTS];
	size_t nval[CMD_MAX_OPTS];
};

enum {
	CMD_JSON = 1,		/* takes --json */
	CMD_NOCONF = 2,		/* runs without the configuration */
};

struct command {
	const char *name;
	int (*fn)(struct cli *, const struct args *);
	const char *synopsis;
	const char *help;
	unsigned flags;
	struct cmd_opt opts[CMD_MAX_OPTS];
};

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

static void
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

/*
 * A usage error: what was wrong, in one line, then the usage (of c, or
 * of group, or the whole), on stderr; exit status 2, as git and apt do.
 */
static int
usage_error(const struct command *c, const char *group, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static int
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

static int
load_conf(struct cli *cli)
{
	struct merr err = { 0 };

	if (conf_load(cli->conf_path, &cli->conf, &err)) {
		log_error("%s", err.msg);
		return 1;
	}
	return 0;
}

static int
open_store(struct cli *cli, bool write, struct store **s)
{
	struct merr err = { 0 };

	if (store_open(cli->conf->store, write, s, &err)) {
		log_error("%s", err.msg);
		return 1;
	}
	return 0;
}

/* Opens the store for writing and takes the writer lock, waiting. */
static int
open_store_locked(struct cli *cli, const char *what, struct store **s)
{
	struct merr err = { 0 };
	int rc;

	if (open_store(cli, true, s))
		return 1;
	rc = store_lock(*s, what, false, &err);
	if (rc == MERR_BUSY) {
		log_info("%s; waiting", err.msg);
		rc = store_lock(*s, what, true, &err);
	}
	if (rc == 0)
		rc = store_clean_tmp(*s, &err);
	if (rc) {
		log_error("%s", err.msg);
		store_close(*s);
		*s = NULL;
		return 1;
	}
	return 0;
}

/*
 * Opens the store for writing and takes its channel lock, waiting: for
 * channel moves and pins, which must not wait for a sync (store.h).
 */
static int
open_store_channels(struct cli *cli, const char *what, struct store **s)
{
	struct merr err = { 0 };
	int rc;

	if (open_store(cli, true, s))
		return 1;
	rc = store_lock_channels(*s, what, false, &err);
	if (rc == MERR_BUSY) {
		log_info("%s; waiting", err.msg);
		rc = store_lock_channels(*s, what, true, &err);
	}
	if (rc) {
		log_error("%s", err.msg);
		store_close(*s);
		*s = NULL;
		return 1;
	}
	return 0;
}

/*
 * SIGINT or SIGTERM during `sync`: the sync in progress is cancelled (a
 * signal handler may only set a flag; a lock-free atomic is one).
 */
static atomic_bool sync_cancel;

static void
on_sync_signal(int sig)
{
	(void)sig;
	atomic_store(&sync_cancel, true);
}

static int
cmd_sync(struct cli *cli, int argc, char **argv)
{
	struct sigaction sa;
	struct fetch_opts fo;
	struct sync_opts so;
	struct fetch *f = NULL;
	struct store *s = NULL;
	struct merr err = { 0 };
	int i, failed = 0;
	size_t k;

	for (i = 0; i < argc; i++) {
		if (conf_mirror(cli->conf, argv[i]) == NULL) {
			log_error("no mirror named '%s' in '%s'", argv[i],
			    cli->conf_path);
			return 1;
		}
	}
	if (cli->conf->nmirrors == 0) {
		log_error("'%s' defines no mirrors", cli->conf_path);
		return 1;
	}
	if (open_store_locked(cli, "sync", &s))
		return 1;
	memset(&fo, 0, sizeof(fo));
	fo.connections = cli->conf->connections;
	fo.retries = cli->conf->retries;
	fo.connect_timeout = cli->conf->connect_timeout;
	fo.stall_timeout = cli->conf->stall_timeout;
	fo.backoff_ms = 500;
	if (fetch_new(&fo, &f, &err)) {
		log_error("%s", err.msg);
		store_close(s);
		return 1;
	}
	/* Until here a signal's default action is as good: nothing to undo. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sync_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memset(&so, 0, sizeof(so));
	so.quiet = cli->quiet;
	so.progress = !cli->quiet && isatty(STDERR_FILENO);
	so.cancel = &sync_cancel;
	so.by = "sync";
	for (k = 0; k < cli->conf->nmirrors && !atomic_load(&sync_cancel);
	    k++) {
		const struct conf_mirror *m = &cli->conf->mirrors[k];
		struct sync_result res;
		bool named = argc == 0;

		for (i = 0; i < argc; i++)
			if (strcmp(argv[i], m->name) == 0)
				named = true;
		if (!named || (!m->enabled && argc == 0))
			continue;
		memset(&err, 0, sizeof(err));
		if (sync_mirror(cli->conf, m, s, f, &so, &res, &err)) {
			log_error("%s", err.msg);
			failed = 1;
			continue;
		}
		if (res.created) {
			printf("%s %s\n", m->name, res.id);
			fflush(stdout);
		} else if (!cli->quiet) {
			log_info("mirror '%s': no change", m->name);
		}
	}
	if (atomic_load(&sync_cancel) && !failed &&
	    k < cli->conf->nmirrors) {
		/* Between two mirrors: the rest were not synced. */
		log_error("sync cancelled");
		failed = 1;
	}
	fetch_free(f);
	store_close(s);
	return failed;
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
print_snap_json(const struct snap *sn, const char *pin, bool detail)
{
	char hex[HASH_HEX_LEN + 1];
	size_t i, j;

	printf("{\"id\":\"%s\",\"time\":%lld,\"pinned\":", sn->id,
	    (long long)sn->time);
	if (pin)
		json_str(pin);
	else
		printf("null");
	printf(",\"suites\":[");
	for (i = 0; i < sn->nsuites; i++) {
		const struct snap_suite *su = &sn->suites[i];

		if (i)
			putchar(',');
		if (!detail) {
			json_str(su->name);
			continue;
		}
		printf("{\"name\":");
		json_str(su->name);
		printf(",\"date\":");
		json_str(su->date_str ? su->date_str : "");
		printf(",\"files\":[");
		for (j = 0; j < su->nfiles; j++) {
			hash_to_hex(su->files[j].hash, hex);
			printf("%s{\"path\":", j ? "," : "");
			json_str(su->files[j].path);
			printf(",\"sha256\":\"%s\",\"size\":%llu}", hex,
			    (unsigned long long)su->files[j].size);
		}
		printf("]}");
	}
	printf("],\"packages\":%llu,\"sources\":%llu,\"files\":%llu,"
	    "\"pool_bytes\":%llu,\"bytes\":%llu,\"new_files\":%llu,"
	    "\"new_bytes\":%llu}",
	    (unsigned long long)sn->packages, (unsigned long long)sn->sources,
	    (unsigned long long)sn->files, (unsigned long long)sn->pool_bytes,
	    (unsigned long long)sn->bytes,
	    (unsigned long long)sn->new_files,
	    (unsigned long long)sn->new_bytes);
}

static int
check_mirror(struct cli *cli, const char *name)
{
	if (conf_mirror(cli->conf, name) == NULL) {
		log_error("no mirror named '%s' in '%s'", name,
		    cli->conf_path);
		return 1;
	}
	return 0;
}

/*
 * Logs err for mirror with one "mirror 'NAME': " prefix: some core
 * messages name their mirror already ("mirror 'x' has no channel 'y'").
 */
static void
log_mirror_error(const char *mirror, const struct merr *err)
{
	char *p = xasprintf("mirror '%s'", mirror);

	if (str_startswith(err->msg, p))
		log_error("%s", err->msg);
	else
		log_error("%s: %s", p, err->msg);
	free(p);
}

/*
 * Resolves ref as the server and promote do (a snapshot ID, a timestamp,
 * 'latest' or a channel) to its snapshot, loaded into *sn (free with
 * snap_release).
 */
static int
resolve_ref(struct store_txn *t, const char *mirror, const char *ref,
    struct snap *sn, struct merr *err)
{
	struct channel ch;
	int rc;

	rc = channel_resolve(t, mirror, ref, sn, &ch, err);
	if (rc == 0)
		channel_free(&ch);
	return rc;
}

/* A snapshot's pin note in *note (owned), or NULL if it is not pinned. */
static int
pin_note(struct store_txn *t, const char *mirror, const char *id,
    char **note, struct merr *err)
{
	struct merr e2 = { 0 };
	int rc;

	*note = NULL;
	rc = gc_pin_get(t, mirror, id, note, &e2);
	if (rc && rc != MERR_NOTFOUND) {
		*err = e2;
		return rc;
	}
	return 0;
}

static int
cmd_snapshot(struct cli *cli, int argc, char **argv)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	struct snap sn;
	char **ids = NULL, *pin = NULL;
	size_t n = 0, i;
	int rc = 1;

	if (argc < 2 || (strcmp(argv[0], "list") == 0 && argc != 2) ||
	    (strcmp(argv[0], "show") == 0 && argc != 3) ||
	    (strcmp(argv[0], "list") && strcmp(argv[0], "show"))) {
		usage(stderr);
		return 2;
	}
	if (check_mirror(cli, argv[1]) || open_store(cli, false, &s))
		return 1;
	if (store_txn_begin(s, false, &t, &err))
		goto fail;
	if (strcmp(argv[0], "list") == 0) {
		if (snap_list(t, argv[1], &ids, &n, &err))
			goto fail;
		if (cli->json)
			putchar('[');
		for (i = 0; i < n; i++) {
			if (pin_note(t, argv[1], ids[i], &pin, &err))
				goto fail;
			if (!cli->json) {
				/* The ID first: scripts cut the mark off. */
				if (pin)
					printf("%s pinned: %s\n", ids[i], pin);
				else
					printf("%s\n", ids[i]);
				free(pin);
				pin = NULL;
				continue;
			}
			if (snap_load(t, argv[1], ids[i], &sn, &err))
				goto fail;
			if (i)
				putchar(',');
			print_snap_json(&sn, pin, false);
			snap_release(&sn);
			free(pin);
			pin = NULL;
		}
		if (cli->json)
			printf("]\n");
		rc = 0;
		goto out;
	}
	if (resolve_ref(t, argv[1], argv[2], &sn, &err))
		goto fail;
	if (pin_note(t, argv[1], sn.id, &pin, &err)) {
		snap_release(&sn);
		goto fail;
	}
	if (cli->json) {
		print_snap_json(&sn, pin, true);
		putchar('\n');
	} else {
		char when[64];
		time_t tt = (time_t)sn.time;
		struct tm tm;

		gmtime_r(&tt, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		printf("id: %s\ntime: %s\n", sn.id, when);
		if (pin)
			printf("pinned: %s\n", pin);
		for (i = 0; i < sn.nsuites; i++)
			printf("suite: %s date: %s files: %zu\n",
			    sn.suites[i].name, sn.suites[i].date_str ?
			    sn.suites[i].date_str : "", sn.suites[i].nfiles);
		printf("packages: %llu\nsources: %llu\nfiles: %llu\n"
		    "pool_bytes: %llu\nbytes: %llu\nnew_files: %llu\n"
		    "new_bytes: %llu\n",
		    (unsigned long long)sn.packages,
		    (unsigned long long)sn.sources,
		    (unsigned long long)sn.files,
		    (unsigned long long)sn.pool_bytes,
		    (unsigned long long)sn.bytes,
		    (unsigned long long)sn.new_files,
		    (unsigned long long)sn.new_bytes);
	}
	snap_release(&sn);
	rc = 0;
	goto out;
fail:
	log_mirror_error(argv[1], &err);
out:
	free(pin);
	snap_list_free(ids, n);
	if (t)
		store_txn_abort(t);
	store_close(s);
	return rc;
}

/* status [--json] */
static int
cmd_status(struct cli *cli, int argc, char **argv)
{
	struct status_report r;
	struct store *s = NULL;
	struct merr err = { 0 };
	int rc;

	if (argc != 0) {
		usage(stderr);
		return 2;
	}
	if (open_store(cli, false, &s))
		return 1;
	rc = status_collect(s, cli->conf, NULL, &r, &err);
	if (rc == 0) {
		if (cli->json)
			status_print_json(stdout, &r);
		else
			status_print_text(stdout, &r);
	} else {
		log_error("status: %s", err.msg);
	}
	status_report_release(&r);
	store_close(s);
	return rc ? 1 : 0;
}

/* fsck: every blob re-hashed; every reference resolves to a blob. */
struct fsck {
	struct store *s;
	struct store_txn *t;
	uint64_t blobs, bytes, bad, refs;
};

static int
fsck_need(struct fsck *fk, const unsigned char h[HASH_LEN], const char *what,
    struct merr *err)
{
	struct store_blob_rec rec;
	char hex[HASH_HEX_LEN + 1];
	int rc;

	fk->refs++;
	rc = store_blob_get(fk->t, h, &rec, err);
	if (rc == MERR_NOTFOUND) {
		hash_to_hex(h, hex);
		printf("blob %s: missing, named by %s\n", hex, what);
		fk->bad++;
		return 0;
	}
	return rc;
}

/*
 * fsck reads one snapshot of the index while a gc may run: a blob that
 * gc dropped after fsck began (rows are committed before the file is
 * unlinked) is missing from the disk but no longer listed. A fresh read
 * transaction tells that apart from a blob really lost.
 */
static bool
gone_meanwhile(struct fsck *fk, const unsigned char h[HASH_LEN])
{
	struct store_txn *t;
	struct store_blob_rec rec;
	struct merr err = { 0 };
	int rc;

	if (store_txn_begin(fk->s, false, &t, &err) != 0)
		return false;
	rc = store_blob_get(t, h, &rec, &err);
	store_txn_abort(t);
	return rc == MERR_NOTFOUND;
}

static int
fsck_blobs(struct fsck *fk, struct merr *err)
{
	struct store_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	uint64_t rows = 0, row_bytes = 0, tn, tbytes;
	int rc;

	rc = store_cursor_open(fk->t, TBL_BLOBS, &c, err);
	if (rc)
		return rc;
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl, err);
	    rc == 1; rc = store_cursor_next(c, &k, &kl, &v, &vl, err)) {
		unsigned char h[HASH_LEN], got[HASH_LEN];
		char hex[HASH_HEX_LEN + 1];
		struct store_blob_rec rec;
		uint64_t size;
		struct merr e2 = { 0 };
		int fd;

		if (kl != HASH_LEN)
			continue;
		memcpy(h, k, HASH_LEN);
		hash_to_hex(h, hex);
		fk->blobs++;
		if (store_blob_get(fk->t, h, &rec, err))
			break;
		rows++;
		row_bytes += rec.size;
		fd = store_blob_open(fk->s, h, &e2);
		if (fd < 0 && fd == MERR_NOTFOUND && gone_meanwhile(fk, h)) {
			fk->blobs--;	/* gc removed it after we began */
			continue;
		}
		if (fd < 0) {
			printf("blob %s: missing (%s)\n", hex, e2.msg);
			fk->bad++;
			continue;
		}
		rc = hash_fd(fd, got, &size, err);
		close(fd);
		if (rc)
			break;
		fk->bytes += size;
		if (size != rec.size) {
			printf("blob %s: size %llu, expected %llu\n", hex,
			    (unsigned long long)size,
			    (unsigned long long)rec.size);
			fk->bad++;
		} else if (memcmp(got, h, HASH_LEN) != 0) {
			printf("blob %s: sha256 mismatch\n", hex);
			fk->bad++;
		}
	}
	store_cursor_close(c);
	if (rc < 0)
		return rc;
	/* status reads these counters instead of every row. */
	rc = store_blob_totals(fk->t, &tn, &tbytes, err);
	if (rc)
		return rc;
	if (tn != rows || tbytes != row_bytes) {
		printf("blob counters: %llu blobs, %llu bytes; the index "
		    "lists %llu, %llu bytes\n", (unsigned long long)tn,
		    (unsigned long long)tbytes, (unsigned long long)rows,
		    (unsigned long long)row_bytes);
		fk->bad++;
	}
	return 0;
}

static int
fsck_pool(struct fsck *fk, struct merr *err)
{
	struct store_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	int rc;

	rc = store_cursor_open(fk->t, TBL_POOL, &c, err);
	if (rc)
		return rc;
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl, err);
	    rc == 1; rc = store_cursor_next(c, &k, &kl, &v, &vl, err)) {
		const char *key = k, *path;
		unsigned char h[HASH_LEN];

		if (kl < HASH_LEN + 4 + 4 || memchr(key, '\0', kl) == NULL) {
			printf("pool entry: malformed key\n");
			fk->bad++;
			continue;
		}
		path = key + strlen(key) + 1;
		memcpy(h, key + kl - 4 - HASH_LEN, HASH_LEN);
		if (fsck_need(fk, h, path, err))
			break;
	}
	store_cursor_close(c);
	return rc < 0 ? rc : 0;
}

/*
 * Blob files that the index does not list: left by a kill between a
 * rename and its commit, or between gc's commit and its unlink. Harmless
 * (nothing serves them); reported, not counted as problems.
 */
static int
fsck_orphans(struct fsck *fk, uint64_t *orphans, struct merr *err)
{
	char *top = xasprintf("%s/blobs", store_dir(fk->s));
	DIR *d1 = opendir(top);
	struct dirent *e1, *e2, *e3;
	int rc = 0;

	*orphans = 0;
	while (d1 && rc == 0 && (e1 = readdir(d1)) != NULL) {
		char *p1;
		DIR *d2;

		if (e1->d_name[0] == '.')
			continue;
		p1 = xasprintf("%s/%s", top, e1->d_name);
		d2 = opendir(p1);
		while (d2 && rc == 0 && (e2 = readdir(d2)) != NULL) {
			char *p2;
			DIR *d3;

			if (e2->d_name[0] == '.')
				continue;
			p2 = xasprintf("%s/%s", p1, e2->d_name);
			d3 = opendir(p2);
			while (d3 && rc == 0 && (e3 = readdir(d3)) != NULL) {
				unsigned char h[HASH_LEN];
				struct store_blob_rec rec;

				if (e3->d_name[0] == '.')
					continue;
				if (hash_from_hex(e3->d_name,
				    strlen(e3->d_name), h)) {
					printf("%s/%s: not a blob name\n", p2,
					    e3->d_name);
					continue;
				}
				rc = store_blob_get(fk->t, h, &rec, err);
				if (rc == MERR_NOTFOUND) {
					printf("blob %s: file not in the index "
					    "(unreferenced)\n", e3->d_name);
					(*orphans)++;
					rc = 0;
				}
			}
			if (d3)
				closedir(d3);
			free(p2);
		}
		if (d2)
			closedir(d2);
		free(p1);
	}
	if (d1)
		closedir(d1);
	free(top);
	return rc;
}

static int
cmd_fsck(struct cli *cli)
{
	struct fsck fk;
	struct merr err = { 0 };
	uint64_t orphans = 0;
	size_t i, j, k, n;
	char **ids;
	int rc;

	memset(&fk, 0, sizeof(fk));
	if (open_store(cli, false, &fk.s))
		return 1;
	rc = store_txn_begin(fk.s, false, &fk.t, &err);
	if (rc == 0)
		rc = fsck_blobs(&fk, &err);
	if (rc == 0)
		rc = fsck_pool(&fk, &err);
	for (i = 0; rc == 0 && i < cli->conf->nmirrors; i++) {
		const char *mname = cli->conf->mirrors[i].name;

		rc = snap_list(fk.t, mname, &ids, &n, &err);
		for (j = 0; rc == 0 && j < n; j++) {
			struct snap sn;

			rc = snap_load(fk.t, mname, ids[j], &sn, &err);
			for (k = 0; rc == 0 && k < sn.nsuites; k++) {
				const struct snap_suite *su = &sn.suites[k];
				size_t f;

				for (f = 0; rc == 0 && f < su->nfiles; f++) {
					char *what = xasprintf(
					    "snapshot %s/%s dists/%s/%s",
					    mname, sn.id, su->name,
					    su->files[f].path);

					rc = fsck_need(&fk, su->files[f].hash,
					    what, &err);
					free(what);
				}
			}
			if (rc == 0)
				snap_release(&sn);
		}
		if (rc == 0)
			snap_list_free(ids, n);
	}
	/* Channels' own Release files. */
	for (i = 0; rc == 0 && i < cli->conf->nmirrors; i++) {
		const char *mname = cli->conf->mirrors[i].name;

		rc = channel_list(fk.t, mname, &ids, &n, &err);
		for (j = 0; rc == 0 && j < n; j++) {
			struct channel ch;

			rc = channel_get(fk.t, mname, ids[j], &ch, &err);
			for (k = 0; rc == 0 && k < ch.nsuites; k++) {
				size_t f;

				for (f = 0; rc == 0 &&
				    f < ch.suites[k].nfiles; f++) {
					char *what = xasprintf(
					    "channel %s/%s dists/%s/%s",
					    mname, ch.name, ch.suites[k].name,
					    ch.suites[k].files[f].path);

					rc = fsck_need(&fk,
					    ch.suites[k].files[f].hash, what,
					    &err);
					free(what);
				}
			}
			if (rc == 0)
				channel_free(&ch);
		}
		if (rc == 0)
			snap_list_free(ids, n);
	}
	if (rc == 0)
		rc = fsck_orphans(&fk, &orphans, &err);
	if (fk.t)
		store_txn_abort(fk.t);
	store_close(fk.s);
	if (rc) {
		log_error("fsck: %s", err.msg);
		return 1;
	}
	printf("%llu blobs (%.1f MiB) re-hashed, %llu references checked, "
	    "%llu unreferenced blob files, %llu problems\n",
	    (unsigned long long)fk.blobs,
	    (double)fk.bytes / 1048576.0, (unsigned long long)fk.refs,
	    (unsigned long long)orphans, (unsigned long long)fk.bad);
	return fk.bad ? 1 : 0;
}

struct count {
	uint64_t files, bytes;
};

static int
count_entry(void *ctx, const struct index_entry *e, struct merr *err)
{
	struct count *c = ctx;

	c->files++;
	c->bytes += e->size;
	return 0;
}

static int
cmd_index_parse(const char *path)
{
	struct count c = { 0, 0 };
	struct merr err = { 0 };
	uint64_t npara = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("cannot open '%s': %s", path, strerror(errno));
		return 1;
	}
	if (index_parse_fd(fd, comp_from_name(path), UINT64_MAX,
	    strstr(path, "Sources") ? INDEX_SOURCES : INDEX_PACKAGES, path,
	    count_entry, &c, &npara, &err)) {
		close(fd);
		log_error("%s", err.msg);
		return 1;
	}
	close(fd);
	printf("paragraphs %llu files %llu bytes %llu\n",
	    (unsigned long long)npara, (unsigned long long)c.files,
	    (unsigned long long)c.bytes);
	return 0;
}

/* "user@host" for the channel log. */
static char *
who(void)
{
	const char *user = getenv("SUDO_USER");
	struct passwd *pw;
	char host[256] = "localhost";

	if (user == NULL || *user == '\0') {
		pw = getpwuid(getuid());
		user = pw ? pw->pw_name : "unknown";
	}
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	return xasprintf("%s@%s", user, host);
}

static char *
signing_key_path(const struct conf *c)
{
	return c->signing_key ? xstrdup(c->signing_key) :
	    xasprintf("%s/signing-key.asc", c->store);
}

static int
open_signer(struct cli *cli, struct gpg_signer **g)
{
	struct merr err = { 0 };
	char *path = signing_key_path(cli->conf);
	int rc;

	/* Only the default key is made on first need; a named one must be. */
	rc = gpg_signer_new(path, cli->conf->signing_key == NULL, g, &err);
	free(path);
	if (rc)
		log_error("signing key: %s", err.msg);
	return rc ? 1 : 0;
}

static void
fmt_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int print_diff(struct cli *, struct store *, const struct snap *,
    const struct snap *, struct merr *);

/*
 * promote --dry-run: what the move would change, as `snapshot diff`
 * prints it between the channel's target and REF's snapshot; nothing
 * written, no lock taken.
 */
static int
promote_dry_run(struct cli *cli, const char *mirror, const char *ref,
    const char *name)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	struct snap to, from;
	struct channel ch, cur;
	bool have_to = false, have_from = false, have_cur = false;
	int rc;

	if (open_store(cli, false, &s))
		return 1;
	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0)
		rc = channel_resolve(t, mirror, ref, &to, &ch, &err);
	if (rc == 0) {
		channel_free(&ch);
		have_to = true;
		rc = channel_get(t, mirror, name, &cur, &err);
	}
	if (rc == 0) {
		have_cur = true;
		rc = snap_load(t, mirror, cur.target, &from, &err);
		have_from = rc == 0;
	}
	if (t)
		store_txn_abort(t);
	if (rc == MERR_NOTFOUND && have_to && !have_cur) {
		/* A first promotion: nothing to compare with. */
		if (!cli->quiet)
			log_info("mirror '%s': channel '%s' does not exist: "
			    "promote would make it, at %s", mirror, name,
			    to.id);
		rc = 0;
	} else if (rc == 0 && strcmp(cur.target, to.id) == 0) {
		rc = merr_set(&err, MERR_EXISTS, "channel '%s' is already at "
		    "%s: nothing to promote", name, to.id);
	} else if (rc == 0) {
		if (!cli->quiet)
			log_info("mirror '%s': promote would move channel '%s' "
			    "from %s to %s (dry run: nothing written)", mirror,
			    name, cur.target, to.id);
		rc = print_diff(cli, s, &from, &to, &err);
	}
	if (rc)
		log_mirror_error(mirror, &err);
	if (have_from)
		snap_release(&from);
	if (have_cur)
		channel_free(&cur);
	if (have_to)
		snap_release(&to);
	store_close(s);
	return rc ? 1 : 0;
}

/* promote MIRROR REF CHANNEL, rollback MIRROR CHANNEL */
static int
cmd_move(struct cli *cli, bool rollback, const char *message, int argc,
    char **argv)
{
	struct channel_move_opts o;
	struct gpg_signer *g = NULL;
	struct store *s = NULL;
	struct merr err = { 0 };
	char target[SNAP_ID_LEN + 1], *kp;
	const char *channel = argv[rollback ? 1 : 2];
	bool have_key;
	int rc;

	if (argc != (rollback ? 2 : 3)) {
		usage(stderr);
		return 2;
	}
	if (check_mirror(cli, argv[0]))
		return 1;
	if (channel_name_check(channel, &err)) {
		log_error("%s", err.msg);
		return 1;
	}
	/*
	 * Starting gpg takes a second or two: do it before taking the
	 * channel lock, which other moves and gc wait for. Only making
	 * the key on first need happens under the lock (two first
	 * promotions must not make two keys). A sync holds the writer
	 * lock, which a move does not take.
	 */
	kp = signing_key_path(cli->conf);
	have_key = access(kp, F_OK) == 0;
	free(kp);
	if (have_key && open_signer(cli, &g))
		return 1;
	if (open_store_channels(cli, rollback ? "rollback" : "promote",
	    &s)) {
		gpg_signer_free(g);
		return 1;
	}
	if (!have_key && open_signer(cli, &g)) {
		store_close(s);
		return 1;
	}
	o.by = who();
	o.valid_for = cli->conf->valid_for;
	o.base_url = cli->conf->base_url;
	o.message = message;
	if (rollback)
		rc = channel_rollback(s, g, argv[0], channel, &o, target, &err);
	else
		rc = channel_promote(s, g, argv[0], argv[1], channel, &o,
		    target, &err);
	if (rc)
		log_mirror_error(argv[0], &err);
	else
		printf("%s -> %s\n", channel, target);
	free((char *)o.by);
	gpg_signer_free(g);
	store_close(s);
	return rc ? 1 : 0;
}

static int
cmd_channel(struct cli *cli, int argc, char **argv)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	char **names = NULL;
	struct channel_log *l = NULL;
	size_t n = 0, nl = 0, i;
	char when[32];
	int rc = 1;

	if (argc < 2 || !((strcmp(argv[0], "list") == 0 && argc == 2) ||
	    (strcmp(argv[0], "log") == 0 && argc == 3))) {
		usage(stderr);
		return 2;
	}
	if (check_mirror(cli, argv[1]) || open_store(cli, false, &s))
		return 1;
	if (store_txn_begin(s, false, &t, &err))
		goto fail;
	if (strcmp(argv[0], "list") == 0) {
		if (channel_list(t, argv[1], &names, &n, &err))
			goto fail;
		if (cli->json)
			putchar('[');
		for (i = 0; i < n; i++) {
			struct channel ch;

			if (channel_get(t, argv[1], names[i], &ch, &err))
				goto fail;
			fmt_time(ch.moved_at, when, sizeof(when));
			if (cli->json) {
				printf("%s{\"name\":", i ? "," : "");
				json_str(ch.name);
				printf(",\"target\":\"%s\",\"moved_at\":%lld,"
				    "\"by\":", ch.target,
				    (long long)ch.moved_at);
				json_str(ch.moved_by ? ch.moved_by : "");
				putchar('}');
			} else {
				printf("%s %s %s %s\n", ch.name, ch.target,
				    when, ch.moved_by ? ch.moved_by : "");
			}
			channel_free(&ch);
		}
		if (cli->json)
			printf("]\n");
		rc = 0;
		goto out;
	}
	if (channel_name_check(argv[2], &err) ||
	    channel_log_get(t, argv[1], argv[2], &l, &nl, &err))
		goto fail;
	if (nl == 0) {
		log_error("mirror '%s' has no channel '%s'", argv[1], argv[2]);
		goto out;
	}
	if (cli->json)
		putchar('[');
	for (i = 0; i < nl; i++) {
		fmt_time(l[i].time, when, sizeof(when));
		if (cli->json) {
			printf("%s{\"time\":%lld,\"action\":", i ? "," : "",
			    (long long)l[i].time);
			json_str(l[i].action);
			printf(",\"from\":");
			json_str(l[i].from);
			printf(",\"to\":");
			json_str(l[i].to);
			printf(",\"by\":");
			json_str(l[i].by);
			printf(",\"message\":");
			if (l[i].message)
				json_str(l[i].message);
			else
				printf("null");
			putchar('}');
		} else {
			printf("%s %s %s -> %s %s%s%s\n", when, l[i].action,
			    l[i].from[0] ? l[i].from : "-",
			    l[i].to[0] ? l[i].to : "-", l[i].by,
			    l[i].message ? " " : "",
			    l[i].message ? l[i].message : "");
		}
	}
	if (cli->json)
		printf("]\n");
	rc = 0;
	goto out;
fail:
	log_error("%s", err.msg);
out:
	channel_log_release(l, nl);
	snap_list_free(names, n);
	if (t)
		store_txn_abort(t);
	store_close(s);
	return rc;
}

/* Prints what changed from a to b, as `snapshot diff` does. */
static int
print_diff(struct cli *cli, struct store *s, const struct snap *a,
    const struct snap *b, struct merr *err)
{
	static const char *kinds[] = { "added", "removed", "upgraded",
	    "downgraded" };
	struct diff_entry *d = NULL;
	size_t n = 0, i;
	int rc;

	rc = diff_snapshots(s, a, b, &d, &n, err);
	if (rc)
		return rc;
	if (cli->json)
		putchar('[');
	for (i = 0; i < n; i++) {
		const struct diff_entry *e = &d[i];

		if (cli->json) {
			printf("%s{\"change\":\"%s\",\"suite\":", i ? "," : "",
			    kinds[e->kind]);
			json_str(e->suite);
			printf(",\"package\":");
			json_str(e->package);
			printf(",\"arch\":");
			json_str(e->arch);
			printf(",\"old\":");
			if (e->old_version)
				json_str(e->old_version);
			else
				printf("null");
			printf(",\"new\":");
			if (e->new_version)
				json_str(e->new_version);
			else
				printf("null");
			putchar('}');
		} else if (e->kind == DIFF_ADDED || e->kind == DIFF_REMOVED) {
			printf("%s %s %s %s %s\n", kinds[e->kind], e->suite,
			    e->package, e->arch, e->kind == DIFF_ADDED ?
			    e->new_version : e->old_version);
		} else {
			printf("%s %s %s %s %s -> %s\n", kinds[e->kind],
			    e->suite, e->package, e->arch, e->old_version,
			    e->new_version);
		}
	}
	if (cli->json)
		printf("]\n");
	diff_free(d, n);
	return 0;
}

static int
cmd_diff(struct cli *cli, const char *mirror, const char *r1, const char *r2)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	struct snap a, b;
	struct channel ch;
	bool have_a = false, have_b = false;
	int rc = 1;

	if (check_mirror(cli, mirror) || open_store(cli, false, &s))
		return 1;
	if (store_txn_begin(s, false, &t, &err))
		goto fail;
	if (channel_resolve(t, mirror, r1, &a, &ch, &err))
		goto fail;
	channel_free(&ch);
	have_a = true;
	if (channel_resolve(t, mirror, r2, &b, &ch, &err))
		goto fail;
	channel_free(&ch);
	have_b = true;
	store_txn_abort(t);
	t = NULL;
	if (print_diff(cli, s, &a, &b, &err))
		goto fail;
	rc = 0;
	goto out;
fail:
	log_mirror_error(mirror, &err);
out:
	if (have_a)
		snap_release(&a);
	if (have_b)
		snap_release(&b);
	if (t)
		store_txn_abort(t);
	store_close(s);
	return rc;
}

/* The public key, made on first need with the signing key. */
static int
export_key(struct cli *cli, bool armor, char **key, size_t *len)
{
	struct gpg_signer *g;
	struct merr err = { 0 };
	struct store *s = NULL;
	int rc;

	/* The default key lives in the store: it must exist first. */
	if (cli->conf->signing_key == NULL && open_store(cli, true, &s))
		return 1;
	rc = open_signer(cli, &g);
	if (rc == 0) {
		rc = gpg_signer_export(g, armor, key, len, &err);
		if (rc)
			log_error("%s", err.msg);
		gpg_signer_free(g);
	}
	store_close(s);
	return rc ? 1 : 0;
}

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
	snap_list_free(names, n);
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

/* sources [--arch ARCH]... MIRROR CHANNEL */
static int
cmd_sources(struct cli *cli, int argc, char **argv)
{
	const struct conf_mirror *m;
	const char *pos[2];
	char **arches = NULL;
	struct gpg_keyspec ks;
	struct merr err = { 0 };
	char *key, *own, *line, *save = NULL;
	size_t len, ownlen, i, narches = 0;
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
	/*
	 * Signed-By: mirrord's key (the channel's Release files) and the
	 * mirror's (the snapshot URLs its Snapshots: field sends apt to).
	 */
	if (rc == 0 && export_key(cli, false, &own, &ownlen))
		rc = 1;
	if (rc == 0) {
		gpg_keyspec_of_mirror(&ks, m);
		if (gpg_keyring_export(&ks, own, ownlen, NULL, true, &key,
		    &len, &err)) {
			log_error("mirror '%s': %s", m->name, err.msg);
			rc = 1;
		}
		free(own);
	}
	if (rc) {
		for (i = 0; i < narches; i++)
			free(arches[i]);
		free(arches);
		return rc;
	}
	printf("Types: deb%s\n", m->deb_src ? " deb-src" : "");
	if (cli->conf->base_url)
		printf("URIs: %s/%s/%s\n", cli->conf->base_url, m->name,
		    pos[1]);
	else
		printf("URIs: http://%s/%s/%s\n", cli->conf->listen, m->name,
		    pos[1]);
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
		for (i = 0; i < narches; i++) {
			printf(" %s", arches[i]);
			free(arches[i]);
		}
		putchar('\n');
	}
	free(arches);
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
	free(key);
	return 0;
}

/* gc [--dry-run]: retention for every mirror, then collection. */
static int
cmd_gc(struct cli *cli, int argc, char **argv)
{
	struct gc_stats st;
	struct store *s = NULL;
	struct merr err = { 0 };
	bool dry = false;
	int rc;

	if (argc == 1 && strcmp(argv[0], "--dry-run") == 0) {
		dry = true;
	} else if (argc != 0) {
		usage(stderr);
		return 2;
	}
	if (open_store_locked(cli, "gc", &s))
		return 1;
	rc = gc_run(s, cli->conf, NULL, cli->conf->gc_grace, dry, &st, &err);
	store_close(s);
	/* Said even if retention then failed: the space is back. */
	if (st.orphans_removed || st.orphans_pending)
		printf("%s%llu blob files no table lists (%.1f MiB) removed, "
		    "%llu younger than the grace period kept\n",
		    dry ? "would be: " : "",
		    (unsigned long long)st.orphans_removed,
		    (double)st.orphan_bytes_removed / 1048576.0,
		    (unsigned long long)st.orphans_pending);
	if (rc) {
		log_error("gc: %s", err.msg);
		return 1;
	}
	printf("%s%llu snapshots dropped, %llu blobs (%.1f MiB) removed, "
	    "%llu blobs (%.1f MiB) waiting out the grace period\n",
	    dry ? "would be: " : "", (unsigned long long)st.snapshots_dropped,
	    (unsigned long long)st.blobs_removed,
	    (double)st.bytes_removed / 1048576.0,
	    (unsigned long long)st.blobs_pending,
	    (double)st.bytes_pending / 1048576.0);
	return 0;
}

/*
 * snapshot pin MIRROR REF NOTE | snapshot unpin MIRROR REF: REF resolves
 * as for promote (an ID, a timestamp, 'latest' or a channel) under the
 * channel lock, so no gc drops it before the pin (gc_pin loads it again
 * in its transaction); the ID is printed.
 */
static int
cmd_pin(struct cli *cli, bool pin, int argc, char **argv)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	struct snap sn;
	char id[SNAP_ID_LEN + 1];
	int rc;

	if (argc != (pin ? 3 : 2)) {
		usage(stderr);
		return 2;
	}
	if (check_mirror(cli, argv[0]) ||
	    open_store_channels(cli, pin ? "pin" : "unpin", &s))
		return 1;
	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0)
		rc = resolve_ref(t, argv[0], argv[1], &sn, &err);
	if (t)
		store_txn_abort(t);
	if (rc == 0) {
		memcpy(id, sn.id, sizeof(id));
		snap_release(&sn);
		rc = gc_pin(s, argv[0], id, pin ? argv[2] : NULL, &err);
	}
	store_close(s);
	if (rc) {
		log_mirror_error(argv[0], &err);
		return 1;
	}
	printf("%s %s\n", pin ? "pinned" : "unpinned", id);
	return 0;
}

static volatile sig_atomic_t serve_stop, serve_reopen;

static void
on_signal(int sig)
{
	if (sig == SIGHUP || sig == SIGUSR1)
		serve_reopen = 1;	/* logrotate */
	else
		serve_stop = 1;
}

static int
cmd_serve(struct cli *cli)
{
	struct serve_opts o;
	struct sigaction sa;
	struct store *s = NULL;
	struct merr err = { 0 };
	char *key = NULL, *keyfile = NULL;
	size_t len;
	int rc;

	/* The public key clients fetch from /keyring.gpg. */
	if (export_key(cli, false, &key, &len) == 0) {
		keyfile = xasprintf("%s/keyring.gpg", cli->conf->store);
		if (write_file_atomic(keyfile, key, len, 0644, &err)) {
			log_warn("%s", err.msg);
			free(keyfile);
			keyfile = NULL;
		}
		free(key);
	}
	if (open_store(cli, false, &s)) {
		free(keyfile);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&o, 0, sizeof(o));
	o.listen = cli->conf->listen;
	o.access_log = cli->conf->access_log ? cli->conf->access_log :
	    cli->conf->log_file;
	o.reopen_log = &serve_reopen;
	o.keyring = keyfile;
	rc = serve_run(cli->conf, s, &o, &serve_stop, &err);
	if (rc)
		log_error("%s", err.msg);
	store_close(s);
	free(keyfile);
	return rc ? 1 : 0;
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

/* channel delete MIRROR CHANNEL, channel rename MIRROR OLD NEW */
static int
cmd_channel_edit(struct cli *cli, bool rename, const char *message,
    char **argv)
{
	struct store *s = NULL;
	struct merr err = { 0 };
	char target[SNAP_ID_LEN + 1], *by;
	int rc;

	if (check_mirror(cli, argv[0]) ||
	    open_store_channels(cli, rename ? "channel rename" :
	    "channel delete", &s))
		return 1;
	by = who();
	if (rename)
		rc = channel_rename(s, argv[0], argv[1], argv[2], by, message,
		    &err);
	else
		rc = channel_delete(s, argv[0], argv[1], by, message, target,
		    &err);
	free(by);
	store_close(s);
	if (rc) {
		log_mirror_error(argv[0], &err);
		return 1;
	}
	if (rename)
		printf("%s -> %s\n", argv[1], argv[2]);
	else
		printf("deleted %s (was at %s)\n", argv[1], target);
	return 0;
}

/* snapshot drop MIRROR ID */
static int
cmd_drop(struct cli *cli, char **argv)
{
	struct store *s = NULL;
	struct merr err = { 0 };
	struct gc_stats st;
	int rc;

	if (check_mirror(cli, argv[0]) ||
	    open_store_locked(cli, "snapshot drop", &s))
		return 1;
	/* And no move resolves its target to this snapshot meanwhile. */
	rc = store_lock_channels(s, "snapshot drop", true, &err);
	if (rc == 0)
		rc = gc_drop(s, cli->conf, argv[0], argv[1], &st, &err);
	store_close(s);
	if (rc) {
		log_mirror_error(argv[0], &err);
		return 1;
	}
	printf("dropped %s; %llu blobs queued for gc (removed by a gc after "
	    "Gc-Grace)\n", argv[1], (unsigned long long)st.blobs_queued);
	return 0;
}

/*
 * The handlers as the table calls them. Options are indexed as in the
 * command's opts; the positional count is checked already.
 */
static const char *
opt_last(const struct args *a, int i)
{
	return a->nval[i] ? a->val[i][a->nval[i] - 1] : NULL;
}

/* argv with sub in front: for handlers that read their subcommand. */
static int
call_sub(int (*fn)(struct cli *, int, char **), struct cli *cli,
    const char *sub, const struct args *a)
{
	char **v = xcalloc((size_t)a->argc + 2, sizeof(*v));
	int rc;

	v[0] = (char *)sub;
	memcpy(v + 1, a->argv, (size_t)a->argc * sizeof(*v));
	rc = fn(cli, a->argc + 1, v);
	free(v);
	return rc;
}

static int
run_sync(struct cli *cli, const struct args *a)
{
	return cmd_sync(cli, a->argc, a->argv);
}

static int
run_status(struct cli *cli, const struct args *a)
{
	return cmd_status(cli, a->argc, a->argv);
}

static int
run_snapshot_list(struct cli *cli, const struct args *a)
{
	return call_sub(cmd_snapshot, cli, "list", a);
}

static int
run_snapshot_show(struct cli *cli, const struct args *a)
{
	return call_sub(cmd_snapshot, cli, "show", a);
}

static int
run_snapshot_diff(struct cli *cli, const struct args *a)
{
	return cmd_diff(cli, a->argv[0], a->argv[1], a->argv[2]);
}

static int
run_snapshot_pin(struct cli *cli, const struct args *a)
{
	return cmd_pin(cli, true, a->argc, a->argv);
}

static int
run_snapshot_unpin(struct cli *cli, const struct args *a)
{
	return cmd_pin(cli, false, a->argc, a->argv);
}

static int
run_snapshot_drop(struct cli *cli, const struct args *a)
{
	return cmd_drop(cli, a->argv);
}

static int
run_promote(struct cli *cli, const struct args *a)
{
	if (a->nval[0]) {
		if (check_mirror(cli, a->argv[0]))
			return 1;
		return promote_dry_run(cli, a->argv[0], a->argv[1],
		    a->argv[2]);
	}
	return cmd_move(cli, false, opt_last(a, 1), a->argc, a->argv);
}

static int
run_rollback(struct cli *cli, const struct args *a)
{
	return cmd_move(cli, true, opt_last(a, 0), a->argc, a->argv);
}

static int
run_channel_list(struct cli *cli, const struct args *a)
{
	return call_sub(cmd_channel, cli, "list", a);
}

static int
run_channel_log(struct cli *cli, const struct args *a)
{
	return call_sub(cmd_channel, cli, "log", a);
}

static int
run_channel_delete(struct cli *cli, const struct args *a)
{
	return cmd_channel_edit(cli, false, opt_last(a, 0), a->argv);
}

static int
run_channel_rename(struct cli *cli, const struct args *a)
{
	return cmd_channel_edit(cli, true, opt_last(a, 0), a->argv);
}

static int
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

static int
run_key_export(struct cli *cli, const struct args *a)
{
	char *v[] = { (char *)"export", (char *)"--armor" };

	return cmd_key(cli, a->nval[0] ? 2 : 1, v);
}

static int
run_serve(struct cli *cli, const struct args *a)
{
	return cmd_serve(cli);
}

static int
run_daemon(struct cli *cli, const struct args *a)
{
	struct merr err = { 0 };
	int rc;

	rc = daemon_run(cli->conf_path, &cli->conf, &err) ? 1 : 0;
	if (rc)
		log_error("%s", err.msg);
	return rc;
}

static int
run_gc(struct cli *cli, const struct args *a)
{
	char *v[] = { (char *)"--dry-run" };

	return cmd_gc(cli, a->nval[0] ? 1 : 0, v);
}

static int
run_fsck(struct cli *cli, const struct args *a)
{
	return cmd_fsck(cli);
}

static int
run_index_parse(struct cli *cli, const struct args *a)
{
	return cmd_index_parse(a->argv[0]);
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
	    "sync mirrors; prints each new snapshot ID", 0, { { 0 } } },
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
	    "never drop REF's snapshot; prints its ID", 0, { { 0 } } },
	{ "snapshot unpin", run_snapshot_unpin, "MIRROR REF",
	    "let retention drop REF's snapshot again", 0, { { 0 } } },
	{ "snapshot drop", run_snapshot_drop, "MIRROR ID",
	    "drop a snapshot no channel or pin holds", 0,
	    { { 0 } } },
	{ "promote", run_promote,
	    "[--dry-run] [-m MESSAGE] MIRROR REF CHANNEL",
	    "point CHANNEL at REF's snapshot", CMD_JSON,
	    { { "--dry-run", 0, NULL, "print the diff the move would make; "
	    "write nothing" },
	    OPT_MESSAGE } },
	{ "rollback", run_rollback, "[-m MESSAGE] MIRROR CHANNEL",
	    "back to the channel's previous target", 0,
	    { OPT_MESSAGE } },
	{ "channel list", run_channel_list, "MIRROR [--json]",
	    "channels and their targets", CMD_JSON, { { 0 } } },
	{ "channel log", run_channel_log, "MIRROR CHANNEL [--json]",
	    "a channel's moves: who, when, what, why", CMD_JSON,
	    { { 0 } } },
	{ "channel delete", run_channel_delete, "[-m MESSAGE] MIRROR CHANNEL",
	    "delete a channel (its URL then says 404)", 0,
	    { OPT_MESSAGE } },
	{ "channel rename", run_channel_rename,
	    "[-m MESSAGE] MIRROR OLD NEW",
	    "rename a channel and its history",
	    0, { OPT_MESSAGE } },
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
	    "apply Keep-Snapshots, remove unused blobs", 0,
	    { { "--dry-run", 0, NULL, "say what would go; change nothing" } } },
	{ "fsck", run_fsck, "", "re-hash every blob, check every reference",
	    0, { { 0 } } },
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
 * brackets ("[--arch ARCH]..." is an option; "[MIRROR...]" is not).
 * Sets the minimum and maximum counts (-1: any) and copies the names.
 */
static void
cmd_positionals(const struct command *c, char names[][32], int *min,
    int *max)
{
	char *copy = xstrdup(c->synopsis), *w, *save = NULL;
	bool in_opt = false;
	int n = 0;

	*min = 0;
	*max = 0;
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ",
	    &save)) {
		if (in_opt || str_startswith(w, "[-")) {
			in_opt = strchr(w, ']') == NULL;
			continue;
		}
		if (n < 8)
			snprintf(names[n++], 32, "%s", w + (*w == '['));
		if (strstr(w, "..."))
			*max = -1;
		else if (*max >= 0)
			(*max)++;
		if (*w != '[')
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

int
main(int argc, char **argv)
{
	struct cli cli = { DEFAULT_CONF, false, false, NULL };
	struct globals g = { DEFAULT_CONF, false, false, false, false };
	struct args a;
	const struct command *c = NULL;
	const char *w1 = NULL, *w2 = NULL;
	char names[8][32];
	int i, i1 = -1, i2 = -1, min, max, rc;
	bool group = false, dashdash = false;

	log_init(LOG_INFO, false);
	memset(&a, 0, sizeof(a));
	/* GNU-style, as a packager expects. */
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("mirrord %s\n", MIRRORD_VERSION);
		return 0;
	}
	/* The command's words: the first two that are not options. */
	for (i = 1; i < argc && w2 == NULL; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (argv[i][0] == '-' && argv[i][1]) {
			if (strcmp(argv[i], "-c") == 0 ||
			    strcmp(argv[i], "--config") == 0)
				i++;	/* its value */
			continue;
		}
		if (w1 == NULL) {
			w1 = argv[i];
			i1 = i;
		} else {
			w2 = argv[i];
			i2 = i;
		}
	}
	if (w1 && strcmp(w1, "help") != 0) {
		c = cmd_find(w1, w2, &group);
		if (c == NULL && !group)
			return usage_error(NULL, NULL, "unknown command '%s'",
			    w1);
	}
	if (w1 && strcmp(w1, "help") == 0)
		c = cmd_find(w1, NULL, &group);
	if (c && strchr(c->name, ' ') == NULL)
		i2 = -1;	/* the second word is an argument */
	a.argv = xcalloc((size_t)argc + 1, sizeof(*a.argv));
	for (i = 1; i < argc; i++) {
		if (i == i1 || i == i2)
			continue;
		if (!dashdash && strcmp(argv[i], "--") == 0) {
			dashdash = true;
			continue;
		}
		if (!dashdash && argv[i][0] == '-' && argv[i][1]) {
			rc = parse_opt(c, &g, &a, argc, argv, &i);
			if (rc < 0) {
				args_release(&a);
				return usage_error(c, group ? w1 : NULL,
				    "option '%s' needs a value", argv[i]);
			}
			if (rc > 0 && !g.help) {
				rc = usage_error(c, group ? w1 : NULL,
				    "unknown option '%s'%s%s%s", argv[i],
				    c ? " for '" : "", c ? c->name : "",
				    c ? "'" : "");
				args_release(&a);
				return rc;
			}
			continue;
		}
		a.argv[a.argc++] = argv[i];
	}
	if (c == NULL) {
		args_release(&a);
		if (g.help) {
			if (group)
				usage_group(stdout, w1);
			else
				usage(stdout);
			return 0;
		}
		if (group)
			return w2 ? usage_error(NULL, w1, "unknown %s command "
			    "'%s'", w1, w2) : usage_error(NULL, w1, "'%s' "
			    "needs a command", w1);
		return usage_error(NULL, NULL, "no command given");
	}
	if (g.help) {
		usage_cmd(stdout, c);
		args_release(&a);
		return 0;
	}
	if (g.json && !(c->flags & CMD_JSON)) {
		args_release(&a);
		return usage_error(c, NULL, "'%s' has no JSON output",
		    c->name);
	}
	cmd_positionals(c, names, &min, &max);
	if (a.argc < min || (max >= 0 && a.argc > max)) {
		rc = a.argc < min ?
		    usage_error(c, NULL, "'%s' needs %s", c->name,
		    names[a.argc]) :
		    usage_error(c, NULL, "'%s': unexpected argument '%s'",
		    c->name, a.argv[max]);
		args_release(&a);
		return rc;
	}
	cli.conf_path = g.conf;
	cli.quiet = g.quiet;
	cli.json = g.json;
	log_init(g.verbose ? LOG_DEBUG : g.quiet ? LOG_ERROR : LOG_INFO,
	    false);
	if (!(c->flags & CMD_NOCONF) && (load_conf(&cli) ||
	    become_owner(&cli, argc, argv))) {
		args_release(&a);
		conf_free(cli.conf);
		return 1;
	}
	rc = c->fn(&cli, &a);
	args_release(&a);
	conf_free(cli.conf);
	return rc;
}
