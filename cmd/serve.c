/*
 * serve.c: `mirrord serve`: the HTTP server in the foreground until SIGTERM
 * or SIGINT; SIGHUP and SIGUSR1 reopen the access log (logrotate).
 */
#include "mirrord/common.h"

#include <signal.h>

#include "mirrord/adoption.h"
#include "mirrord/log.h"
#include "mirrord/store.h"
#include "serve/serve.h"
#include "cmd/cmd.h"

static volatile sig_atomic_t serve_stop, serve_reopen;

static void
on_signal(int sig)
{
	if (sig == SIGHUP || sig == SIGUSR1)
		serve_reopen = 1;	/* logrotate */
	else
		serve_stop = 1;
}

/*
 * Does the server store blobs: is any mirror `Download: on-demand`? Its
 * pool files are fetched and listed when first asked for, so the store
 * is opened for writing then (and read-only otherwise, as before).
 */
static bool
serve_writes(const struct conf *c)
{
	size_t i;

	for (i = 0; i < c->nmirrors; i++)
		if (c->mirrors[i].on_demand)
			return true;
	return false;
}

static int
cmd_serve(struct cli *cli)
{
	struct serve_opts o;
	struct store *s = NULL;
	struct merr err = { 0 };
	char *key = NULL, *keyfile = NULL, *adoption;
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
	if (open_store(cli, serve_writes(cli->conf), &s)) {
		free(keyfile);
		return 1;
	}
	cmd_catch(on_signal, SIGTERM, SIGINT, SIGHUP, SIGUSR1, 0);
	signal(SIGPIPE, SIG_IGN);
	memset(&o, 0, sizeof(o));
	o.listen = cli->conf->listen;
	o.access_log = cli->conf->access_log ? cli->conf->access_log :
	    cli->conf->log_file;
	o.reopen_log = &serve_reopen;
	o.keyring = keyfile;
	o.adoption_file = adoption = adoption_file(cli->conf->store);
	rc = serve_run(cli->conf, s, &o, &serve_stop, &err);
	if (rc)
		log_error("%s", err.msg);
	store_close(s);
	free(keyfile);
	free(adoption);
	return rc ? 1 : 0;
}

int
run_serve(struct cli *cli, const struct args *a)
{
	return cmd_serve(cli);
}
