/*
 * daemon_rollout.c: the daemon's side of rollout plans (rollout.h): the
 * operations the runner calls — the store, channel moves, patches, and
 * the health checks — and the tick that runs every plan.
 *
 * It runs in the daemon's worker thread, between syncs: a health check
 * holds the worker for at most its plan's Health-Timeout (the server is
 * another thread and is never held). Moves and the plan's state are
 * written under the store's channel lock, taken without waiting (busy:
 * the plan is tried again a moment later), as the channel refresh does.
 */
#include "mirrord/common.h"

#include <sys/wait.h>

#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/adoption.h"
#include "mirrord/channel.h"
#include "mirrord/conf.h"
#include "mirrord/confval.h"
#include "mirrord/content.h"
#include "mirrord/fmt.h"
#include "mirrord/gpg.h"
#include "mirrord/log.h"
#include "mirrord/patch.h"
#include "mirrord/phase.h"
#include "mirrord/rollout.h"
#include "mirrord/store.h"
#include "mirrord/fetch.h"
#include "cmd/daemon.h"

#define ROLL_POLL_S 2		/* a new snapshot or a CLI change shows */
#define ROLL_BUSY_S 2		/* the channel lock was taken: again soon */
#define ROLL_OUT_MAX 4096	/* of a check's output, read */
#define ROLL_URL_MAX 65536	/* of a check URL's body, read */

struct droll {
	struct store *s;
	struct gpg_signer *g;
	const struct conf *c;
	const atomic_bool *cancel;	/* the daemon is stopping */
	bool locked;
	/*
	 * A move that Prefetch: held back (dr_guard): the snapshot to
	 * fetch once the runner has let the lock go.
	 */
	bool pf;
	char pf_channel[CHANNEL_NAME_MAX + 1];
	char pf_id[SNAP_ID_LEN + 1];
};

static int64_t
dr_now(void *ctx)
{
	return (int64_t)time(NULL);
}

static int
dr_lock(void *ctx, struct merr *err)
{
	struct droll *d = ctx;
	int rc;

	rc = store_lock_channels(d->s, "daemon rollout", false, err);
	d->locked = rc == 0;
	return rc;
}

static void
dr_unlock(void *ctx)
{
	struct droll *d = ctx;

	if (d->locked)
		store_unlock_channels(d->s);
	d->locked = false;
}

static int
dr_load(void *ctx, const struct conf_rollout *r, struct rollout_state *st,
    struct merr *err)
{
	struct droll *d = ctx;
	struct store_txn *t;
	int rc;

	rc = store_txn_begin(d->s, false, &t, err);
	if (rc)
		return rc;
	rc = rollout_state_load(t, r->mirror, r->name, st, err);
	store_txn_abort(t);
	return rc;
}

static int
dr_save(void *ctx, const struct conf_rollout *r,
    const struct rollout_state *st, struct merr *err)
{
	struct droll *d = ctx;
	struct store_txn *t;
	int rc;

	rc = store_txn_begin(d->s, true, &t, err);
	if (rc)
		return rc;
	rc = rollout_state_save(t, r->mirror, r->name, st, err);
	if (rc == 0)
		return store_txn_commit(t, err);
	store_txn_abort(t);
	return rc;
}

static int
dr_resolve(void *ctx, const char *mirror, const char *ref,
    char id[SNAP_ID_LEN + 1], struct merr *err)
{
	struct droll *d = ctx;
	struct store_txn *t;
	int rc;

	rc = store_txn_begin(d->s, false, &t, err);
	if (rc)
		return rc;
	rc = rollout_resolve(t, mirror, ref, id, err);
	store_txn_abort(t);
	return rc;
}

static int
dr_channel(void *ctx, const char *mirror, const char *name,
    char target[SNAP_ID_LEN + 1], int64_t *moved_at, struct merr *err)
{
	struct droll *d = ctx;
	struct store_txn *t;
	int rc;

	rc = store_txn_begin(d->s, false, &t, err);
	if (rc)
		return rc;
	rc = rollout_channel(t, mirror, name, target, moved_at, err);
	store_txn_abort(t);
	return rc;
}

static void
dr_move_opts(struct droll *d, const char *by, const char *why,
    struct channel_move_opts *o)
{
	o->by = by;
	o->valid_for = d->c->valid_for;
	o->base_url = d->c->base_url;
	o->message = why;
}

/*
 * Prefetch: for the moves the runner makes under the channel lock. A
 * fetch may take hours, so it is not made here: a move to a snapshot
 * the channel may not take yet is MERR_BUSY (the runner keeps its
 * intent and tries again soon) and the fetch is noted, for
 * daemon_rollouts() to run once the lock is let go. rollback: the
 * target a rollback would move to, not ref.
 */
static int
dr_guard(struct droll *d, const struct conf_rollout *r, const char *channel,
    const char *ref, bool rollback, struct merr *err)
{
	const struct conf_mirror *m = conf_mirror(d->c, r->mirror);
	struct store_txn *t;
	char id[SNAP_ID_LEN + 1];
	int rc;

	if (!content_prefetch_wanted(m, channel))
		return 0;
	rc = store_txn_begin(d->s, false, &t, err);
	if (rc)
		return rc;
	if (rollback)
		rc = content_rollback_target(t, r->mirror, channel, id, err);
	else
		rc = rollout_resolve(t, r->mirror, ref, id, err);
	if (rc == 0)
		rc = content_prefetch_check(t, m, channel, id, err);
	store_txn_abort(t);
	if (rc == MERR_BUSY) {
		d->pf = true;
		snprintf(d->pf_channel, sizeof(d->pf_channel), "%s", channel);
		memcpy(d->pf_id, id, sizeof(d->pf_id));
	}
	/* No rollback target: the rollback says so itself. */
	return rollback && rc == MERR_NOTFOUND ? 0 : rc;
}

/* The fetch dr_guard noted, without the lock; 0 or the fetch's error. */
static int
dr_prefetch(struct droll *d, const struct conf_rollout *r, struct merr *err)
{
	const struct conf_mirror *m = conf_mirror(d->c, r->mirror);
	struct content_fetch_opts o = { NULL, NULL, NULL, d->cancel };
	struct content_fetch_result res;
	char id[SNAP_ID_LEN + 1];
	int rc;

	d->pf = false;
	rc = content_prefetch_for(d->s, d->c, m, d->pf_id, d->pf_channel, &o,
	    id, &res, err);
	if (rc == 0)
		log_info("rollout '%s': mirror '%s': fetched %llu files of %s "
		    "for channel '%s' (Prefetch:)", r->name, r->mirror,
		    (unsigned long long)res.fetched_files, id, d->pf_channel);
	return rc;
}

static int
dr_promote(void *ctx, const struct conf_rollout *r, const char *channel,
    const char *snapshot, const char *by, const char *why, struct merr *err)
{
	struct droll *d = ctx;
	struct channel_move_opts o;
	char target[SNAP_ID_LEN + 1];
	int rc;

	rc = dr_guard(d, r, channel, snapshot, false, err);
	if (rc)
		return rc;
	dr_move_opts(d, by, why, &o);
	rc = channel_promote(d->s, d->g, r->mirror, snapshot, channel, &o,
	    target, err);
	if (rc == 0)
		log_info("rollout '%s': mirror '%s': channel '%s' -> %s (%s)",
		    r->name, r->mirror, channel, target, why);
	return rc;
}

static int
dr_rollback(void *ctx, const struct conf_rollout *r, const char *channel,
    const char *by, const char *why, struct merr *err)
{
	struct droll *d = ctx;
	struct channel_move_opts o;
	char target[SNAP_ID_LEN + 1];
	int rc;

	rc = dr_guard(d, r, channel, NULL, true, err);
	if (rc)
		return rc;
	dr_move_opts(d, by, why, &o);
	rc = channel_rollback(d->s, d->g, r->mirror, channel, &o, target,
	    err);
	if (rc == 0)
		log_warn("rollout '%s': mirror '%s': channel '%s' rolled back "
		    "to %s (%s)", r->name, r->mirror, channel, target, why);
	return rc;
}

/*
 * Phasing: phase_channel() (mirrord/phase.h) makes the step's phased copy
 * and moves the channel to it (100: to the snapshot itself). It needs the
 * writer lock too, which comes before the channel lock we hold: so it is
 * only tried (busy: the intent stays, and the runner tries again soon).
 */
static int
dr_phase(void *ctx, const struct conf_rollout *r, const char *channel,
    const char *snapshot, unsigned pct, const char *by, const char *why,
    struct merr *err)
{
	struct droll *d = ctx;
	struct channel_move_opts o;
	char to[SNAP_ID_LEN + 1];
	struct merr e2 = { 0 };
	size_t nphased = 0;
	int64_t at;
	int rc;

	/* A new channel has no machines to hold back: all of it is new. */
	if (pct < 100 && dr_channel(d, r->mirror, channel, to, &at,
	    &e2) == MERR_NOTFOUND)
		return dr_promote(d, r, channel, snapshot, by, why, err);
	/* A phase holds the snapshot's files and what the channel has. */
	rc = dr_guard(d, r, channel, snapshot, false, err);
	if (rc == 0)
		rc = store_lock(d->s, "daemon rollout phase", false, err);
	if (rc)
		return rc;
	dr_move_opts(d, by, why, &o);
	rc = phase_channel(d->s, d->g, conf_mirror(d->c, r->mirror), channel,
	    snapshot, pct, &o, to, &nphased, err);
	store_unlock(d->s);
	if (rc == 0)
		log_info("rollout '%s': mirror '%s': channel '%s' -> %s, %zu "
		    "packages at %u%% (%s)", r->name, r->mirror, channel, to,
		    nphased, pct, why);
	return rc;
}

/* --- health checks ------------------------------------------------------ */

/* s with %c -> channel, %s -> snapshot, %% -> %. Owned. */
static char *
dr_subst(const char *s, const char *channel, const char *snapshot)
{
	struct buf b = BUF_INIT;

	for (; *s != '\0'; s++) {
		if (s[0] == '%' && s[1] == 'c') {
			buf_adds(&b, channel);
			s++;
		} else if (s[0] == '%' && s[1] == 's') {
			buf_adds(&b, snapshot);
			s++;
		} else if (s[0] == '%' && s[1] == '%') {
			buf_addc(&b, '%');
			s++;
		} else {
			buf_addc(&b, *s);
		}
	}
	buf_addc(&b, '\0');
	return buf_detach(&b, NULL);
}

/* The first line of text (n bytes), into out. */
static void
first_line(const char *text, size_t n, char *out, size_t outn)
{
	size_t len = 0;

	while (len < n && text[len] != '\n' && text[len] != '\r')
		len++;
	snprintf(out, outn, "%.*s", (int)len, text);
}

static int
dr_check_url(struct droll *d, const struct conf_rollout *r,
    const char *channel, const char *snapshot, bool *ok, char *out,
    size_t n, struct merr *cerr)
{
	struct fetch_opts fo;
	struct fetch *f = NULL;
	struct fetch_mem res;
	struct merr err = { 0 };
	char *url = dr_subst(r->check, channel, snapshot);
	int rc;

	memset(&res, 0, sizeof(res));
	fetch_opts_of_conf(d->c, &fo);
	fo.connections = 1;
	fo.retries = 0;		/* a check answers now or is unhealthy */
	fo.connect_timeout = r->check_timeout;
	fo.stall_timeout = r->check_timeout;
	rc = fetch_new(&fo, &f, &err);
	if (rc == 0) {
		fetch_set_cancel(f, d->cancel);
		rc = fetch_get_mem(f, url, ROLL_URL_MAX, NULL, NULL, &res,
		    &err);
	}
	*ok = rc == 0 && res.status == 200;
	if (rc)
		snprintf(out, n, "%s", err.msg);
	else if (res.status != 200)
		snprintf(out, n, "HTTP %d", res.status);
	else
		first_line(res.data ? res.data : "", res.len, out, n);
	fetch_mem_release(&res);
	fetch_free(f);
	free(url);
	if (rc == MERR_CANCEL && cerr != NULL)
		*cerr = err;
	return rc == MERR_CANCEL ? rc : 0;
}

/* The child: its own process group, default signals, then exec. */
static _Noreturn void
dr_child(int fd, char **argv, char **envp)
{
	sigset_t none;
	int null;

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(fd, 1);
	dup2(fd, 2);
	null = open("/dev/null", O_RDONLY);
	if (null >= 0 && null != 0)
		dup2(null, 0);
	execve(argv[0], argv, envp);
	_exit(127);
}

#define ROLL_SLICE_MS 100	/* how soon a stop is seen during a check */

/* Reads the child's output until EOF, deadline (monotonic ms) or stop. */
static size_t
dr_read(int fd, char *buf, size_t cap, int64_t deadline,
    const atomic_bool *cancel)
{
	struct pollfd p = { fd, POLLIN, 0 };
	size_t len = 0;
	char drop[512];
	ssize_t k;
	int64_t left;

	for (;;) {
		left = deadline - mono_ms();
		if (left <= 0 || atomic_load(cancel))
			break;
		k = poll(&p, 1, left < ROLL_SLICE_MS ? (int)left :
		    ROLL_SLICE_MS);
		if (k == 0 || (k < 0 && errno == EINTR))
			continue;
		if (k < 0)
			break;
		if (len < cap)
			k = read(fd, buf + len, cap - len);
		else
			k = read(fd, drop, sizeof(drop));
		if (k <= 0)
			break;
		if (len < cap)
			len += (size_t)k;
	}
	return len;
}

/*
 * Waits for pid until deadline (or a stop); then kills its group.
 * -1: timed out, -2: stopped.
 */
static int
dr_wait(pid_t pid, int64_t deadline, const atomic_bool *cancel)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int status = 0;
	pid_t w;

	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (mono_ms() >= deadline || atomic_load(cancel)) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			return atomic_load(cancel) ? -2 : -1;
		}
		nanosleep(&ts, NULL);
	}
	/* What it left running in its group goes with it. */
	kill(-pid, SIGKILL);
	return status;
}

static int
dr_check_exec(struct droll *d, const struct conf_rollout *r,
    const char *channel, const char *snapshot, bool *ok, char *out,
    size_t n, struct merr *err)
{
	char **argv = NULL, *env[8], buf[ROLL_OUT_MAX], line[200], *cmd;
	size_t argc = 0, len, i, ne = 0;
	const char *path = getenv("PATH");
	int64_t deadline;
	int fds[2], status = 0;
	pid_t pid;

	*ok = false;
	cmd = dr_subst(r->check, channel, snapshot);
	argv = confval_split(cmd, strlen(cmd), &argc);
	argv = xreallocarray(argv, argc + 1, sizeof(*argv));
	argv[argc] = NULL;
	env[ne++] = xasprintf("MIRRORD_CHANNEL=%s", channel);
	env[ne++] = xasprintf("MIRRORD_SNAPSHOT=%s", snapshot);
	env[ne++] = xasprintf("MIRRORD_ROLLOUT=%s", r->name);
	env[ne++] = xasprintf("MIRRORD_MIRROR=%s", r->mirror);
	env[ne++] = xasprintf("PATH=%s", path ? path : "/usr/bin:/bin");
	env[ne] = NULL;
	if (argc == 0 || pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(out, n, "cannot run '%s': %s", r->check,
		    strerror(errno));
		goto out;
	}
	deadline = mono_ms() + (int64_t)r->check_timeout * 1000;
	pid = fork();
	if (pid == 0)
		dr_child(fds[1], argv, env);
	/* Both sides, so that the group exists before any kill(-pid). */
	if (pid > 0)
		setpgid(pid, pid);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		snprintf(out, n, "cannot fork: %s", strerror(errno));
		goto out;
	}
	len = dr_read(fds[0], buf, sizeof(buf), deadline, d->cancel);
	close(fds[0]);
	status = dr_wait(pid, deadline, d->cancel);
	*ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	first_line(buf, len, line, sizeof(line));
	if (status == -2)
		merr_set(err, MERR_CANCEL, "rollout '%s': the check of '%s' "
		    "was stopped", r->name, channel);
	else if (status < 0)
		snprintf(out, n, "timed out after %lds%s%.150s",
		    r->check_timeout, line[0] ? ": " : "", line);
	else if (WIFEXITED(status))
		snprintf(out, n, "exit %d%s%.150s", WEXITSTATUS(status),
		    line[0] ? ": " : "", line);
	else
		snprintf(out, n, "killed by signal %d", WTERMSIG(status));
out:
	for (i = 0; i < ne; i++)
		free(env[i]);
	strv_free(argv, argc);
	free(cmd);
	return status == -2 ? MERR_CANCEL : 0;
}

static int
dr_check(void *ctx, const struct conf_rollout *r, const char *channel,
    const char *snapshot, bool *ok, char *out, size_t n, struct merr *err)
{
	int rc;

	if (r->check_url)
		rc = dr_check_url(ctx, r, channel, snapshot, ok, out, n, err);
	else
		rc = dr_check_exec(ctx, r, channel, snapshot, ok, out, n,
		    err);
	if (rc == 0)
		log_info("rollout '%s': health check of '%s' at %s: %s: %s",
		    r->name, channel, snapshot, *ok ? "healthy" :
		    "unhealthy", out);
	return rc;
}

/* --- Security: immediate ----------------------------------------------- */

/* One step's channel patched with latest's pending fixes; 1 if it was. */
static int
dr_patch_one(struct droll *d, const struct conf_rollout *r, size_t i,
    const char *latest, struct merr *err)
{
	struct patch_opts po = { 0 };
	struct patch_plan p;
	struct channel_move_opts mo;
	char target[SNAP_ID_LEN + 1], why[128], by[ROLLOUT_BY_MAX];
	int rc;

	memset(&p, 0, sizeof(p));
	po.m = conf_mirror(d->c, r->mirror);
	po.channel = r->steps[i].channel;
	po.from = latest;
	po.security = true;
	rc = patch_plan(d->s, d->g, &po, &p, err);
	if (rc == MERR_INVAL || rc == MERR_NOTFOUND) {
		/* Nothing pending, or no such channel yet. */
		patch_plan_release(&p);
		return 0;
	}
	if (rc == 0)
		rc = patch_commit(d->s, r->mirror, &p, err);
	if (rc == 0) {
		struct content_fetch_opts fo = { NULL, NULL, NULL, d->cancel };

		/* Prefetch: before the channel lock, as the CLI's moves. */
		rc = content_prefetch_for(d->s, d->c, po.m, p.result.id,
		    po.channel, &fo, target, NULL, err);
	}
	if (rc == 0)
		rc = store_lock_channels(d->s, "daemon rollout", true, err);
	if (rc == 0) {
		snprintf(why, sizeof(why), "security: %zu source%s from %s, "
		    "no soak (Security: immediate)", p.nsources,
		    p.nsources == 1 ? "" : "s", latest);
		snprintf(by, sizeof(by), "rollout %s", r->name);
		dr_move_opts(d, by, why, &mo);
		rc = channel_promote(d->s, d->g, r->mirror, p.result.id,
		    po.channel, &mo, target, err);
		store_unlock_channels(d->s);
		if (rc == 0)
			log_info("rollout '%s': mirror '%s': channel '%s' "
			    "patched -> %s (%s)", r->name, r->mirror,
			    po.channel, target, why);
	}
	patch_plan_release(&p);
	return rc ? rc : 1;
}

static int
dr_security(void *ctx, const struct conf_rollout *r, const char *latest,
    uint32_t *patched, struct merr *err)
{
	struct droll *d = ctx;
	size_t i;
	int rc;

	*patched = 0;
	rc = store_lock(d->s, "daemon rollout security", false, err);
	if (rc)
		return rc;
	for (i = 0; i < r->nsteps; i++) {
		rc = dr_patch_one(d, r, i, latest, err);
		if (rc < 0)
			break;
		if (rc > 0)
			*patched |= UINT32_C(1) << i;
		rc = 0;
	}
	store_unlock(d->s);
	return rc;
}

/*
 * The share of channel's fleet that fetched the indices of its move at
 * moved_at, from the tables the server saves every minute (adoption.h).
 */
static int
dr_adoption(void *ctx, const struct conf_rollout *r, const char *channel,
    int64_t moved_at, int *pct, struct merr *err)
{
	struct droll *d = ctx;
	struct adoption *a = adoption_new(0);
	struct adoption_counts n;
	char *path = adoption_file(d->c->store);
	int rc;

	*pct = -1;
	rc = adoption_load(a, path, err);
	if (rc == 0) {
		adoption_counts(a, r->mirror, channel, moved_at,
		    d->c->fleet_window, (int64_t)time(NULL), &n);
		*pct = (int)adoption_share(&n);
	}
	adoption_free(a);
	free(path);
	return rc;
}

/* --- the tick ----------------------------------------------------------- */

int64_t
daemon_rollouts(struct daemon_rollouts *dr, struct store *s,
    struct gpg_signer *g, const struct conf *c, const atomic_bool *cancel)
{
	struct droll d = { s, g, c, cancel, false, false, "", "" };
	struct rollout_ops o = {
		.ctx = &d, .now = dr_now, .lock = dr_lock,
		.unlock = dr_unlock, .load = dr_load, .save = dr_save,
		.resolve = dr_resolve, .channel = dr_channel,
		.promote = dr_promote, .rollback = dr_rollback,
		.phase = dr_phase, .check = dr_check,
		.security = dr_security, .adoption = dr_adoption,
	};
	int64_t now = (int64_t)time(NULL), next = now + ROLL_POLL_S, at;
	struct merr err;
	size_t i;
	int rc;

	if (dr->c != c) {
		/* Started or reloaded: the plans are new. */
		free(dr->retry);
		dr->retry = xcalloc(c->nrollouts + 1, sizeof(*dr->retry));
		dr->c = c;
	}
	for (i = 0; i < c->nrollouts; i++) {
		if (dr->retry[i] > now) {
			next = dr->retry[i] < next ? dr->retry[i] : next;
			continue;
		}
		memset(&err, 0, sizeof(err));
		d.pf = false;
		rc = rollout_run(&c->rollouts[i], &o, &at, &err);
		dr_unlock(&d);	/* a failed op may leave it held */
		if (rc == MERR_BUSY && d.pf) {
			/* Prefetch: the move waits for this fetch. */
			memset(&err, 0, sizeof(err));
			rc = dr_prefetch(&d, &c->rollouts[i], &err);
			if (rc == 0)
				rc = MERR_BUSY;	/* the move, soon */
		}
		if (rc == MERR_CANCEL)
			break;	/* stopping: the check is run again later */
		if (rc == MERR_BUSY) {
			at = now + ROLL_BUSY_S;
		} else if (rc) {
			/* Logged once per retry, not at every poll. */
			log_error("rollout '%s': %s; trying again in %ds",
			    c->rollouts[i].name, err.msg, ROLLOUT_RETRY_S);
			at = dr->retry[i] = now + ROLLOUT_RETRY_S;
		}
		if (at > 0 && at < next)
			next = at;
	}
	return next;
}

void
daemon_rollouts_release(struct daemon_rollouts *dr)
{
	free(dr->retry);
	memset(dr, 0, sizeof(*dr));
}
