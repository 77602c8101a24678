/*
 * common.c: what the commands share (cmd.h): the configuration, the store
 * opened and locked as each command needs it, the signer, and error lines
 * that name their mirror once.
 */
#include "mirrord/common.h"

#include <pwd.h>
#include <unistd.h>

#include <signal.h>
#include <stdarg.h>
#include <unistd.h>

#include "mirrord/conf.h"
#include "mirrord/gpg.h"
#include "mirrord/log.h"
#include "mirrord/store.h"
#include "cmd/cmd.h"

void
cmd_catch(void (*fn)(int), ...)
{
	struct sigaction sa;
	va_list ap;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	va_start(ap, fn);
	for (sig = va_arg(ap, int); sig != 0; sig = va_arg(ap, int))
		sigaction(sig, &sa, NULL);
	va_end(ap);
}

int
load_conf(struct cli *cli)
{
	struct merr err = { 0 };

	if (conf_load(cli->conf_path, &cli->conf, &err)) {
		log_error("%s", err.msg);
		return 1;
	}
	return 0;
}

int
open_store(struct cli *cli, bool write, struct store **s)
{
	struct merr err = { 0 };

	if (store_open(cli->conf->store, write, s, &err)) {
		log_error("%s", err.msg);
		return 1;
	}
	if (store_set_backend(*s, cli->conf, &err)) {
		log_error("%s", err.msg);
		store_close(*s);
		*s = NULL;
		return 1;
	}
	return 0;
}

/*
 * Opens the store for writing and takes one of its locks (store_lock or
 * store_lock_channels), waiting, and saying so, while another holds it;
 * with clean, then removes the temp files a killed sync left (only the
 * writer lock keeps a sync from making new ones meanwhile).
 */
static int
open_store_lock(struct cli *cli, const char *what,
    int (*lock)(struct store *, const char *, bool, struct merr *),
    bool clean, struct store **s)
{
	struct merr err = { 0 };
	int rc;

	if (open_store(cli, true, s))
		return 1;
	rc = lock(*s, what, false, &err);
	if (rc == MERR_BUSY) {
		log_info("%s; waiting", err.msg);
		rc = lock(*s, what, true, &err);
	}
	if (rc == 0 && clean)
		rc = store_clean_tmp(*s, &err);
	if (rc) {
		log_error("%s", err.msg);
		store_close(*s);
		*s = NULL;
		return 1;
	}
	return 0;
}

int
open_store_locked(struct cli *cli, const char *what, struct store **s)
{
	return open_store_lock(cli, what, store_lock, true, s);
}

int
open_store_channels(struct cli *cli, const char *what, struct store **s)
{
	return open_store_lock(cli, what, store_lock_channels, false, s);
}

int
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
void
log_mirror_error(const char *mirror, const struct merr *err)
{
	char *p = xasprintf("mirror '%s'", mirror);

	if (str_startswith(err->msg, p))
		log_error("%s", err->msg);
	else
		log_error("%s: %s", p, err->msg);
	free(p);
}

int
open_signer(struct cli *cli, struct gpg_signer **g)
{
	struct merr err = { 0 };
	char *path = conf_signing_key(cli->conf);
	int rc;

	/* Only the default key is made on first need; a named one must be. */
	rc = gpg_signer_new(path, cli->conf->signing_key == NULL, g, &err);
	free(path);
	if (rc)
		log_error("signing key: %s", err.msg);
	return rc ? 1 : 0;
}

/* The public key, made on first need with the signing key. */
int
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

/* For the handlers (cmd.h): the last value of an option. */
const char *
opt_last(const struct args *a, int i)
{
	return a->nval[i] ? a->val[i][a->nval[i] - 1] : NULL;
}

/* argv with sub in front: for handlers that read their subcommand. */
int
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

/* "user@host" for the channel log. */
char *
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
