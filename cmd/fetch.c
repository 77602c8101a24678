/*
 * fetch.c: `mirrord fetch MIRROR REF`, which stores every pool file a
 * snapshot references and the store lacks (mirrord/content.h), and the
 * Prefetch: hook the channel moves (promote, rollback, patch, phase) run
 * before they take the channel lock.
 *
 * No writer lock: a fetch may run beside a sync, gc, the server and
 * channel moves. gc never removes what this stores: its collection
 * (gc.c's collect_one) deletes only queued blobs that no pool interval
 * names, and the snapshot being fetched names these; its orphan sweep
 * (sweep_file) unlinks only unlisted files older than the grace period,
 * and a file fetched here is listed moments after it was written. A
 * snapshot that retention drops meanwhile leaves its blobs listed and
 * queued (content.c's list_blob), so gc removes them later. Two writers
 * of one blob (the server answering a client, a sync) make the same
 * file, and the blobs table lists it once.
 */
#include "mirrord/common.h"

#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "mirrord/channel.h"
#include "mirrord/content.h"
#include "mirrord/fetch.h"
#include "mirrord/log.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "cmd/cmd.h"

/* SIGINT or SIGTERM: the transfers stop; what arrived is kept. */
static atomic_bool fetch_cancel;

static void
on_fetch_signal(int sig)
{
	(void)sig;
	atomic_store(&fetch_cancel, true);
}

/* The progress line on a terminal's stderr. */
struct bar {
	bool on;
	const char *mirror, *what;	/* a snapshot ID, a channel */
	uint64_t files, bytes;	/* to fetch */
	int64_t t0;
};

static void
bar_draw(void *ctx, uint64_t files, uint64_t bytes)
{
	struct bar *b = ctx;
	int64_t ms = mono_ms() - b->t0;
	double rate = ms > 0 ? (double)bytes * 1000.0 / (double)ms : 0;
	unsigned pct = b->bytes ? (unsigned)(bytes * 100 / b->bytes) : 100;

	if (!b->on)
		return;
	fprintf(stderr, "\r\033[K%s %s: %3u%% %llu/%llu files, %.1f of "
	    "%.1f MiB at %.1f MiB/s", b->mirror, b->what, pct,
	    (unsigned long long)files, (unsigned long long)b->files,
	    (double)bytes / 1048576.0, (double)b->bytes / 1048576.0,
	    rate / 1048576.0);
	fflush(stderr);
}

static void
bar_init(struct bar *b, struct cli *cli, const char *mirror,
    const char *what)
{
	memset(b, 0, sizeof(*b));
	b->on = !cli->quiet && isatty(STDERR_FILENO);
	b->mirror = mirror;
	b->what = what;
}

/* content_fetch_opts.start: what the transfers hold, and the clock. */
static void
bar_start(void *ctx, uint64_t files, uint64_t bytes)
{
	struct bar *b = ctx;

	b->files = files;
	b->bytes = bytes;
	b->t0 = mono_ms();
	bar_draw(b, 0, 0);
}

static void
bar_end(struct bar *b)
{
	if (b->on)
		fprintf(stderr, "\r\033[K");
}

/* ref of mirror into *sn (owned). */
static int
load_ref(struct store *s, const char *mirror, const char *ref,
    struct snap *sn, struct merr *err)
{
	struct store_txn *t;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = channel_resolve_snap(t, mirror, ref, sn, err);
	store_txn_abort(t);
	return rc;
}

static int
cmd_fetch(struct cli *cli, const char *mirror, const char *ref)
{
	const struct conf_mirror *m;
	struct content_fetch_opts o = { bar_draw, bar_start, NULL,
	    &fetch_cancel };
	struct content_fetch_result res;
	struct fetch_opts fo;
	struct fetch *f = NULL;
	struct store *s = NULL;
	struct merr err = { 0 };
	struct snap sn;
	struct bar b;
	int rc;

	memset(&res, 0, sizeof(res));
	if (check_mirror(cli, mirror))
		return 1;
	m = conf_mirror(cli->conf, mirror);
	if (open_store(cli, true, &s))
		return 1;
	rc = load_ref(s, mirror, ref, &sn, &err);
	if (rc) {
		log_mirror_error(mirror, &err);
		store_close(s);
		return 1;
	}
	fetch_opts_of_conf(cli->conf, &fo);
	rc = fetch_new(&fo, &f, &err);
	if (rc == 0) {
		bar_init(&b, cli, mirror, sn.id);
		o.ctx = &b;
		/* Until here a signal's default action is as good. */
		cmd_catch(on_fetch_signal, SIGTERM, SIGINT, 0);
		rc = content_fetch(s, f, m, &sn, &o, &res, &err);
		bar_end(&b);
	}
	if (rc) {
		log_mirror_error(mirror, &err);
		if (res.fetched_files > 0)
			log_info("mirror '%s': %llu files that arrived are "
			    "stored; run again to resume", mirror,
			    (unsigned long long)res.fetched_files);
	} else {
		printf("fetched %llu files (%.1f MiB); %llu already stored; "
		    "snapshot %s now fully stored\n",
		    (unsigned long long)res.fetched_files,
		    (double)res.fetched_bytes / 1048576.0,
		    (unsigned long long)res.had_files, sn.id);
	}
	fetch_free(f);
	snap_release(&sn);
	store_close(s);
	return rc ? 1 : 0;
}

int
run_fetch(struct cli *cli, const struct args *a)
{
	return cmd_fetch(cli, a->argv[0], a->argv[1]);
}

int
cmd_prefetch(struct cli *cli, struct store *s, const char *mirror,
    const char *ref, const char *channel, char id[SNAP_ID_LEN + 1])
{
	const struct conf_mirror *m = conf_mirror(cli->conf, mirror);
	struct content_fetch_opts o = { bar_draw, bar_start, NULL, NULL };
	struct content_fetch_result res;
	struct store *own = NULL;
	struct bar b;
	struct merr err = { 0 };
	int rc;

	id[0] = '\0';
	if (!content_prefetch_wanted(m, channel))
		return 0;
	/* Closed before the caller opens its own: one handle at a time. */
	if (s == NULL && open_store(cli, true, &own))
		return 1;
	bar_init(&b, cli, mirror, channel);
	o.ctx = &b;
	rc = content_prefetch_for(s ? s : own, cli->conf, m, ref, channel, &o,
	    id, &res, &err);
	bar_end(&b);
	store_close(own);
	if (rc) {
		log_mirror_error(mirror, &err);
		return 1;
	}
	if (res.fetched_files > 0 && !cli->quiet)
		log_info("mirror '%s': fetched %llu files (%.1f MiB) of %s "
		    "for channel '%s' (Prefetch:)", mirror,
		    (unsigned long long)res.fetched_files,
		    (double)res.fetched_bytes / 1048576.0, id, channel);
	return 0;
}

int
cmd_prefetch_rollback(struct cli *cli, struct store *s, const char *mirror,
    const char *channel)
{
	const struct conf_mirror *m = conf_mirror(cli->conf, mirror);
	struct store_txn *t;
	struct store *own = NULL;
	struct merr err = { 0 };
	char to[SNAP_ID_LEN + 1], id[SNAP_ID_LEN + 1];
	int rc;

	if (!content_prefetch_wanted(m, channel))
		return 0;
	if (s == NULL && open_store(cli, false, &own))
		return 1;
	rc = store_txn_begin(s ? s : own, false, &t, &err);
	if (rc == 0) {
		rc = content_rollback_target(t, mirror, channel, to, &err);
		store_txn_abort(t);
	}
	store_close(own);
	/* No target: the rollback itself says so. */
	if (rc == MERR_NOTFOUND)
		return 0;
	if (rc) {
		log_mirror_error(mirror, &err);
		return 1;
	}
	return cmd_prefetch(cli, s, mirror, to, channel, id);
}
