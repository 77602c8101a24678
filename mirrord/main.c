/*
 * main.c: the mirrord command line. Only this file exits.
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
#include "mirrord/daemon.h"
#include "mirrord/conf.h"
#include "mirrord/diff.h"
#include "mirrord/gc.h"
#include "mirrord/gpg.h"
#include "mirrord/log.h"
#include "mirrord/priv.h"
#include "mirrord/snap.h"
#include "mirrord/status.h"
#include "mirrord/store.h"
#include "sync/fetch.h"
#include "sync/index.h"
#include "sync/sync.h"
#include "serve/serve.h"

#define DEFAULT_CONF "/etc/mirrord/mirrord.conf"

struct cli {
	const char *conf_path;
	bool quiet;
	bool json;
	struct conf *conf;
};

static void
usage(FILE *f)
{
	fputs("usage: mirrord [-c CONF] [-q] [-v] COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  sync [MIRROR...]               sync mirrors; prints each new "
	    "snapshot ID\n"
	    "  status [--json]                per mirror: last sync, next sync, "
	    "snapshots,\n"
	    "                                 channels; store size and dedup "
	    "ratio\n"
	    "  snapshot list MIRROR [--json]  snapshot IDs, oldest first\n"
	    "  snapshot show MIRROR REF [--json]\n"
	    "                                 REF: an ID, a timestamp, "
	    "'latest' or a channel\n"
	    "  snapshot diff MIRROR REF1 REF2 [--json]\n"
	    "                                 packages added, removed, "
	    "upgraded, downgraded\n"
	    "  promote MIRROR REF CHANNEL     point CHANNEL at REF (a snapshot, "
	    "timestamp,\n"
	    "                                 'latest' or another channel)\n"
	    "  rollback MIRROR CHANNEL        back to the channel's previous "
	    "target\n"
	    "  channel list MIRROR [--json]   channels and their targets\n"
	    "  channel log MIRROR CHANNEL [--json]\n"
	    "                                 every move of a channel\n"
	    "  sources [--arch ARCH]... MIRROR CHANNEL\n"
	    "                                 a client's deb822 .sources "
	    "stanza\n"
	    "  key export [--armor]           mirrord's public signing key\n"
	    "  serve                          the HTTP server, on Listen:\n"
	    "  daemon                         serve, and sync each mirror every "
	    "Sync-Interval\n"
	    "  snapshot pin MIRROR REF NOTE   never drop REF's snapshot; "
	    "prints its ID\n"
	    "  snapshot unpin MIRROR REF\n"
	    "  gc [--dry-run]                 apply Keep-Snapshots, remove "
	    "unreferenced blobs\n"
	    "  fsck                           re-hash every blob, check every "
	    "reference\n"
	    "  index-parse FILE               parse a Packages file (for "
	    "benchmarks)\n"
	    "  version                        print the version\n"
	    "\n"
	    "options:\n"
	    "  -c CONF   configuration file (default " DEFAULT_CONF ")\n"
	    "  -q        quiet: errors only\n"
	    "  -v        verbose: debug messages\n", f);
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
print_snap_json(const struct snap *sn, bool detail)
{
	char hex[HASH_HEX_LEN + 1];
	size_t i, j;

	printf("{\"id\":\"%s\",\"time\":%lld,\"suites\":[", sn->id,
	    (long long)sn->time);
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
		channel_release(&ch);
	return rc;
}

static int
cmd_snapshot(struct cli *cli, int argc, char **argv)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	struct snap sn;
	char **ids = NULL;
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
			if (!cli->json) {
				printf("%s\n", ids[i]);
				continue;
			}
			if (snap_load(t, argv[1], ids[i], &sn, &err))
				goto fail;
			if (i)
				putchar(',');
			print_snap_json(&sn, false);
			snap_release(&sn);
		}
		if (cli->json)
			printf("]\n");
		rc = 0;
		goto out;
	}
	if (resolve_ref(t, argv[1], argv[2], &sn, &err))
		goto fail;
	if (cli->json) {
		print_snap_json(&sn, true);
		putchar('\n');
	} else {
		char when[64];
		time_t tt = (time_t)sn.time;
		struct tm tm;

		gmtime_r(&tt, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		printf("id: %s\ntime: %s\n", sn.id, when);
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
				channel_release(&ch);
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

/* promote MIRROR REF CHANNEL, rollback MIRROR CHANNEL */
static int
cmd_move(struct cli *cli, bool rollback, int argc, char **argv)
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
	 * store's lock, which syncs and the daemon wait for. Only making
	 * the key on first need happens under the lock (two first
	 * promotions must not make two keys).
	 */
	kp = signing_key_path(cli->conf);
	have_key = access(kp, F_OK) == 0;
	free(kp);
	if (have_key && open_signer(cli, &g))
		return 1;
	if (open_store_locked(cli, rollback ? "rollback" : "promote", &s)) {
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
			channel_release(&ch);
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
			printf(",\"to\":\"%s\",\"by\":", l[i].to);
			json_str(l[i].by);
			putchar('}');
		} else {
			printf("%s %s %s -> %s %s\n", when, l[i].action,
			    l[i].from[0] ? l[i].from : "-", l[i].to, l[i].by);
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

static int
cmd_diff(struct cli *cli, const char *mirror, const char *r1, const char *r2)
{
	static const char *kinds[] = { "added", "removed", "upgraded",
	    "downgraded" };
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	struct snap a, b;
	struct channel ch;
	struct diff_entry *d = NULL;
	size_t n = 0, i;
	bool have_a = false, have_b = false;
	int rc = 1;

	if (check_mirror(cli, mirror) || open_store(cli, false, &s))
		return 1;
	if (store_txn_begin(s, false, &t, &err))
		goto fail;
	if (channel_resolve(t, mirror, r1, &a, &ch, &err))
		goto fail;
	channel_release(&ch);
	have_a = true;
	if (channel_resolve(t, mirror, r2, &b, &ch, &err))
		goto fail;
	channel_release(&ch);
	have_b = true;
	store_txn_abort(t);
	t = NULL;
	if (diff_snapshots(s, &a, &b, &d, &n, &err))
		goto fail;
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
	rc = 0;
	goto out;
fail:
	log_mirror_error(mirror, &err);
out:
	diff_free(d, n);
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
			channel_release(&ch);
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
 * store's lock, so no sync moves 'latest' in between; the ID is printed.
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
	    open_store_locked(cli, pin ? "pin" : "unpin", &s))
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

int
main(int argc, char **argv)
{
	struct cli cli = { DEFAULT_CONF, false, false, NULL };
	enum log_level level = LOG_INFO;
	const char *cmd;
	int ch, i, j, rc;

	/* GNU-style long options a packager and a user expect. */
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("mirrord %s\n", MIRRORD_VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	while ((ch = getopt(argc, argv, "+c:qvh")) != -1) {
		switch (ch) {
		case 'c':
			cli.conf_path = optarg;
			break;
		case 'q':
			cli.quiet = true;
			level = LOG_ERROR;
			break;
		case 'v':
			level = LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	log_init(level, false);
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	/* --json may come anywhere after the command. */
	for (i = j = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			cli.json = true;
		else
			argv[j++] = argv[i];
	}
	argc = j;
	cmd = argv[0];
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("mirrord %s\n", MIRRORD_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "index-parse") == 0) {
		if (argc != 2) {
			usage(stderr);
			return 2;
		}
		return cmd_index_parse(argv[1]);
	}
	if (strcmp(cmd, "sync") && strcmp(cmd, "snapshot") &&
	    strcmp(cmd, "fsck") && strcmp(cmd, "promote") &&
	    strcmp(cmd, "rollback") && strcmp(cmd, "channel") &&
	    strcmp(cmd, "sources") && strcmp(cmd, "key") &&
	    strcmp(cmd, "serve") && strcmp(cmd, "gc") &&
	    strcmp(cmd, "daemon") && strcmp(cmd, "status")) {
		log_error("unknown command '%s'", cmd);
		usage(stderr);
		return 2;
	}
	if (load_conf(&cli))
		return 1;
	if (become_store_owner(&cli, argc, argv)) {
		conf_free(cli.conf);
		return 1;
	}
	if (strcmp(cmd, "sync") == 0)
		rc = cmd_sync(&cli, argc - 1, argv + 1);
	else if (strcmp(cmd, "snapshot") == 0 && argc == 5 &&
	    strcmp(argv[1], "diff") == 0)
		rc = cmd_diff(&cli, argv[2], argv[3], argv[4]);
	else if (strcmp(cmd, "snapshot") == 0 && argc >= 2 &&
	    (strcmp(argv[1], "pin") == 0 || strcmp(argv[1], "unpin") == 0))
		rc = cmd_pin(&cli, strcmp(argv[1], "pin") == 0, argc - 2,
		    argv + 2);
	else if (strcmp(cmd, "snapshot") == 0)
		rc = cmd_snapshot(&cli, argc - 1, argv + 1);
	else if (strcmp(cmd, "gc") == 0)
		rc = cmd_gc(&cli, argc - 1, argv + 1);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&cli, argc - 1, argv + 1);
	else if (strcmp(cmd, "promote") == 0)
		rc = cmd_move(&cli, false, argc - 1, argv + 1);
	else if (strcmp(cmd, "rollback") == 0)
		rc = cmd_move(&cli, true, argc - 1, argv + 1);
	else if (strcmp(cmd, "channel") == 0)
		rc = cmd_channel(&cli, argc - 1, argv + 1);
	else if (strcmp(cmd, "sources") == 0)
		rc = cmd_sources(&cli, argc - 1, argv + 1);
	else if (strcmp(cmd, "key") == 0)
		rc = cmd_key(&cli, argc - 1, argv + 1);
	else if (strcmp(cmd, "serve") == 0)
		rc = argc == 1 ? cmd_serve(&cli) : (usage(stderr), 2);
	else if (strcmp(cmd, "daemon") == 0 && argc == 1) {
		struct merr err = { 0 };

		rc = daemon_run(cli.conf_path, &cli.conf, &err) ? 1 : 0;
		if (rc)
			log_error("%s", err.msg);
	} else if (strcmp(cmd, "daemon") == 0)
		rc = (usage(stderr), 2);
	else
		rc = argc == 1 ? cmd_fsck(&cli) : (usage(stderr), 2);
	conf_free(cli.conf);
	return rc;
}
