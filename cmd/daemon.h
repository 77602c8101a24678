/*
 * daemon.h: `mirrord daemon` — one long-running process that serves the
 * store over HTTP (as `serve`) and syncs each mirror on its own schedule.
 *
 * Schedule: a mirror is synced every Sync-Interval (its own, else the
 * global one), counted from the start of the previous sync, give or take
 * up to 10% at random so that a fleet of mirrors does not reach upstream
 * at once; the first sync of each mirror comes at a random moment within
 * min(interval, 60 s) of the start (or of the reload that added it). One
 * sync runs at a time. A failed sync is logged with its reason and tried
 * again after 1 min, doubled at each failure, at most the interval. A sync
 * that finds the store locked (a `mirrord sync` run by hand) is tried
 * again in min(30 s, interval). After a sync that made a snapshot,
 * retention and collection run for that mirror (gc_run, Gc-Grace).
 * The arithmetic of these rules is mirrord/schedule.c's, tested there.
 *
 * Channels whose Release files carry a Valid-Until are re-signed (fresh
 * Date and Valid-Until, same target) half-way through their validity; with
 * Valid-For: set, a channel without one (promoted before it was set) is
 * re-signed with one at the first check, at start or after the reload.
 *
 * Signals: SIGHUP re-reads the configuration (an invalid one is logged and
 * the running one kept; a new Listen: or Store: needs a restart) and
 * reopens Log-File (for logrotate); SIGTERM and SIGINT stop accepting,
 * finish the responses in flight within 10 s, cancel a running sync (it
 * stops within about 100 ms, commits nothing and removes its temp files
 * and gpg homes), wait for it, and return 0.
 * With systemd (Type=notify): READY=1, STATUS=, WATCHDOG=1, STOPPING=1.
 *
 * For `mirrord status` (status.h) the daemon records each mirror's next
 * sync with its pid in the store after each sync and each (re)load, and
 * deletes those records when it stops; sync_mirror records each result.
 */
#ifndef MIRRORD_CMD_DAEMON_H
#define MIRRORD_CMD_DAEMON_H

#include "mirrord/common.h"

#include <stdatomic.h>

#include "mirrord/conf.h"

/*
 * Runs the daemon with *conf, loaded from conf_path (reloads read that
 * path again), until SIGTERM or SIGINT: then returns 0. It owns *conf
 * while it runs: a reload replaces it (freeing the old one), so the
 * caller frees whatever *conf is when this returns. Errors that keep it
 * from starting (the store, the signing key, Log-File, the listen
 * address) or a server that fails while running are returned with err
 * set, not logged.
 */
int daemon_run(const char *conf_path, struct conf **conf, struct merr *err);

/*
 * daemon_rollout.c: the rollout plans (rollout.h), run by the worker.
 * daemon_rollouts() advances each plan of c as far as it can now
 * (rollout_run: moves, health checks bounded by Health-Timeout, Security:
 * immediate patches), logs what it does and what fails (a plan that
 * failed is retried ROLLOUT_RETRY_S later), and returns the unix time to
 * call again: a plan's next due action, and at most 2 s away (a new
 * snapshot or a `mirrord rollout` command shows then). Once *cancel is
 * set (the daemon stops), a check in progress is cut short (its process
 * group killed) and not recorded, and the plans are left. dr is the
 * caller's, zeroed at first, released with daemon_rollouts_release().
 * One thread at a time.
 */
struct store;
struct gpg_signer;

struct daemon_rollouts {
	const struct conf *c;	/* the plans retry[] is for */
	int64_t *retry;		/* per plan: not before (unix time) */
};

int64_t daemon_rollouts(struct daemon_rollouts *dr, struct store *s,
    struct gpg_signer *g, const struct conf *c, const atomic_bool *cancel);
void daemon_rollouts_release(struct daemon_rollouts *dr);

/*
 * A replica's poll of its primary (replica_poll, with c's fetch options
 * and the daemon's cancel flag): a failure is logged once per outage
 * (*failing, false at first, says whether the last poll failed), and
 * the first success after it says so. Returns whether it applied a
 * change, after which the caller collects (gc) as after a sync.
 */
bool daemon_replica_poll(bool *failing, struct store *s,
    const struct conf *c, const atomic_bool *cancel);

/*
 * The primary's /keyring.gpg (at most DAEMON_KEYRING_MAX bytes) copied
 * to <Store>/keyring.gpg: its path (owned), to serve as /keyring.gpg.
 * When the primary does not answer, the copy of an earlier run if there
 * is one (warned about), else NULL.
 */
#define DAEMON_KEYRING_MAX (1u << 20)
char *daemon_replica_keyring(const struct conf *c);

/*
 * A shallow copy of c for a replica's gc into *out, Keep-Snapshots set
 * aside (globally and per mirror): its snapshots come and go with the
 * primary's, so its own gc drops none and only collects. out->mirrors
 * is owned (free()); the rest is c's, valid while c is.
 */
void daemon_replica_gc_conf(const struct conf *c, struct conf *out);

#endif
