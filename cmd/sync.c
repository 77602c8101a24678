/*
 * sync.c: `mirrord sync [MIRROR...]`: each mirror synced in turn, under
 * the store's writer lock; SIGINT or SIGTERM cancels the sync in progress.
 */
#include "mirrord/common.h"

#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/log.h"
#include "mirrord/store.h"
#include "mirrord/fetch.h"
#include "sync/sync.h"
#include "cmd/cmd.h"

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
	fetch_opts_of_conf(cli->conf, &fo);
	if (fetch_new(&fo, &f, &err)) {
		log_error("%s", err.msg);
		store_close(s);
		return 1;
	}
	/* Until here a signal's default action is as good: nothing to undo. */
	cmd_catch(on_sync_signal, SIGTERM, SIGINT, 0);
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

int
run_sync(struct cli *cli, const struct args *a)
{
	return cmd_sync(cli, a->argc, a->argv);
}
