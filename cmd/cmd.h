/*
 * cmd.h: what the commands share: the parsed command line (struct cli),
 * the command table's types, the handlers the table calls, and the
 * helpers that open what a command needs and log what went wrong.
 *
 * cmd/ is the top layer: it may include the core, sync/ and serve/, and
 * nothing includes it. It is where errors are logged for the user and
 * where the process exits (only main() does, by returning its status).
 *
 * Unlike the core's, these functions return an exit status, having
 * logged the reason: 0 success, 1 failure, 2 a usage error (the usage was
 * printed on stderr, as git and apt do); the helpers of common.c return
 * 0 or 1 (logged). Those that return something else say so below.
 * Single-threaded, but for the daemon (cmd/daemon.h); cmd_catch changes
 * process-wide state.
 */
#ifndef MIRRORD_CMD_H
#define MIRRORD_CMD_H

#include "mirrord/common.h"

#include <stdio.h>

#include "mirrord/conf.h"
#include "mirrord/snap.h"

struct gpg_signer;
struct snap;
struct store;

#define DEFAULT_CONF "/etc/mirrord/mirrord.conf"

/* The global options, and the configuration once loaded. */
struct cli {
	const char *conf_path;
	bool quiet;
	bool json;
	struct conf *conf;	/* owned; NULL for CMD_NOCONF commands */
};

/*
 * The command table (git.c's, redis's): each command's name, synopsis
 * (after the name: what --help, the usage text and mirrord(8) show, and
 * where the parser reads the positional arguments from: every word not
 * inside an option's brackets), one line of help, its own options and
 * its handler. Options may stand anywhere, before or after the command.
 * The table itself is cmd/main.c's.
 */
#define CMD_MAX_OPTS 8

struct cmd_opt {
	const char *lng;	/* "--dry-run" */
	char shrt;		/* 'm', or 0 */
	const char *arg;	/* its value's name ("MESSAGE"), or NULL */
	const char *help;
};

/* What a handler is given; borrowed from main() for the call. */
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
	CMD_WRITE = 4,		/* changes the store: a replica refuses it */
};

struct command {
	const char *name;
	int (*fn)(struct cli *, const struct args *);
	const char *synopsis;
	const char *help;
	unsigned flags;
	struct cmd_opt opts[CMD_MAX_OPTS];
};

/*
 * The handlers, one per table entry, each in its family's file. Options
 * are indexed as in the command's opts; the positional count is checked
 * already. They return an exit status (above).
 */
int run_sync(struct cli *, const struct args *);		/* sync.c */
int run_status(struct cli *, const struct args *);		/* status.c */
int run_snapshot_list(struct cli *, const struct args *);	/* snapshot.c */
int run_snapshot_show(struct cli *, const struct args *);
int run_snapshot_diff(struct cli *, const struct args *);
int run_snapshot_pin(struct cli *, const struct args *);
int run_snapshot_unpin(struct cli *, const struct args *);
int run_snapshot_drop(struct cli *, const struct args *);
int run_promote(struct cli *, const struct args *);		/* channel.c */
int run_rollback(struct cli *, const struct args *);
int run_patch(struct cli *, const struct args *);		/* patch.c */
int run_phase(struct cli *, const struct args *);		/* phase.c */
int run_channel_list(struct cli *, const struct args *);
int run_channel_log(struct cli *, const struct args *);
int run_channel_delete(struct cli *, const struct args *);
int run_channel_rename(struct cli *, const struct args *);
int run_sources(struct cli *, const struct args *);		/* sources.c */
int run_key_export(struct cli *, const struct args *);
int run_serve(struct cli *, const struct args *);		/* serve.c */
int run_daemon(struct cli *, const struct args *);		/* daemon.c */
int run_gc(struct cli *, const struct args *);			/* gc.c */
int run_fsck(struct cli *, const struct args *);		/* fsck.c */
int run_fetch(struct cli *, const struct args *);		/* fetch.c */
int run_index_parse(struct cli *, const struct args *);
int run_resolve(struct cli *, const struct args *);		/* resolve.c */
int run_exposure(struct cli *, const struct args *);		/* exposure.c */
int run_rollout_list(struct cli *, const struct args *);	/* rollout.c */
int run_rollout_show(struct cli *, const struct args *);
int run_rollout_pause(struct cli *, const struct args *);
int run_rollout_resume(struct cli *, const struct args *);
int run_rollout_advance(struct cli *, const struct args *);
int run_rollout_abort(struct cli *, const struct args *);

/* --- main.c ------------------------------------------------------------ */

/* The whole usage, as `mirrord help` prints it, on f. */
void usage(FILE *f);

/*
 * A usage error: what was wrong, in one line, then the usage (of c, or
 * of group, or the whole), on stderr. Returns 2, the exit status.
 */
int usage_error(const struct command *c, const char *group, const char *fmt,
    ...) ATTR_PRINTF(3, 4);

/* --- common.c ---------------------------------------------------------- */

/*
 * Has fn handle each signal listed, up to a 0: for the commands that
 * must undo something on SIGTERM or SIGINT (a handler may only set a
 * flag). Process-wide (sigaction, no SA_RESTART). Not for the daemon,
 * which waits for its signals blocked.
 */
void cmd_catch(void (*fn)(int), ...);

/* Loads cli->conf (owned by cli) from cli->conf_path; 1 (logged) if not. */
int load_conf(struct cli *cli);

/* Opens the store (*s: close with store_close); 1 (logged) if not. */
int open_store(struct cli *cli, bool write, struct store **s);

/*
 * Opens the store for writing and takes the writer lock, waiting (saying
 * so) while another holds it; the store's temp files are cleaned. what
 * names the holder for others ("sync"). Close *s with store_close
 * (which drops the lock); on failure, logged, *s is NULL.
 */
int open_store_locked(struct cli *cli, const char *what, struct store **s);

/*
 * Opens the store for writing and takes its channel lock, waiting: for
 * channel moves and pins, which must not wait for a sync (store.h). As
 * open_store_locked, without cleaning temp files.
 */
int open_store_channels(struct cli *cli, const char *what, struct store **s);

/* 1 (logged) if the configuration has no mirror name. */
int check_mirror(struct cli *cli, const char *name);

/*
 * Logs err for mirror with one "mirror 'NAME': " prefix: some core
 * messages name their mirror already ("mirror 'x' has no channel 'y'").
 */
void log_mirror_error(const char *mirror, const struct merr *err);

/*
 * Starts the signer of the configured key into *g (free with
 * gpg_signer_free); only the default key is made on first need. 1
 * (logged, "signing key: ...") if it cannot be.
 */
int open_signer(struct cli *cli, struct gpg_signer **g);

/*
 * mirrord's public key, binary or armored, into *key (owned: free) and
 * *len; the default key is made on first need, in the store.
 */
int export_key(struct cli *cli, bool armor, char **key, size_t *len);

/* "user@host" for a channel log entry (owned). */
char *who(void);

/* The last value given to option i of a (borrowed from a), or NULL. */
const char *opt_last(const struct args *a, int i);

/*
 * Calls fn with a's positional arguments after sub ("list"): for the
 * handlers that read their subcommand from argv[0]. Returns what fn
 * returns.
 */
int call_sub(int (*fn)(struct cli *, int, char **), struct cli *cli,
    const char *sub, const struct args *a);

/* --- fetch.c ----------------------------------------------------------- */

/*
 * The Prefetch: hook (content.h), run before a move of channel of mirror
 * to ref, before the channel lock is taken: when the mirror is on-demand
 * and names channel in Prefetch:, fetches what ref's snapshot lacks and
 * sets id to it (move the channel to id, not ref: latest may have moved
 * meanwhile); otherwise id is "". 1 (logged) if a file could not be
 * stored: the caller must not move the channel. The rollback variant
 * fetches the target channel_rollback would move to. s: the caller's
 * open store, or NULL to open (and close) one here, for a caller that
 * has not opened its own yet.
 */
int cmd_prefetch(struct cli *cli, struct store *s, const char *mirror,
    const char *ref, const char *channel, char id[SNAP_ID_LEN + 1]);
int cmd_prefetch_rollback(struct cli *cli, struct store *s,
    const char *mirror, const char *channel);

/* --- snapshot.c -------------------------------------------------------- */

/*
 * Prints what changed from a to b on stdout, as `snapshot diff` does
 * (JSON with cli->json). Returns 0 or, not logged, the MERR_* code of the
 * diff (diff.h), before anything is printed.
 */
int print_diff(struct cli *cli, struct store *s, const struct snap *a,
    const struct snap *b, struct merr *err);

#endif
