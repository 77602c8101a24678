/*
 * channel.c: the channel commands: `promote` (and its --dry-run),
 * `rollback`, `channel list|log|delete|rename`.
 */
#include "mirrord/common.h"

#include <pwd.h>
#include <unistd.h>

#include "mirrord/channel.h"
#include "mirrord/fmt.h"
#include "mirrord/gpg.h"
#include "mirrord/log.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "cmd/cmd.h"

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
	char target[SNAP_ID_LEN + 1], id[SNAP_ID_LEN + 1] = "", *kp;
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
	/*
	 * Prefetch: a channel that takes only fully stored snapshots gets
	 * its new target's files first, without the channel lock (a fetch
	 * may take hours); a file gone upstream stops the move here.
	 */
	if (rollback ? cmd_prefetch_rollback(cli, NULL, argv[0], channel) :
	    cmd_prefetch(cli, NULL, argv[0], argv[1], channel, id))
		return 1;
	kp = conf_signing_key(cli->conf);
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
		rc = channel_promote(s, g, argv[0], id[0] ? id : argv[1],
		    channel, &o, target, &err);
	if (rc)
		log_mirror_error(argv[0], &err);
	else
		printf("%s -> %s\n", channel, target);
	free((char *)o.by);
	gpg_signer_free(g);
	store_close(s);
	return rc ? 1 : 0;
}

/* One line of `channel list`, or its JSON object (after a comma with sep). */
static void
print_channel(struct cli *cli, const struct channel *ch, bool sep)
{
	char when[FMT_TIME_MAX];

	if (cli->json) {
		printf("%s{\"name\":", sep ? "," : "");
		fmt_json_str(stdout, ch->name);
		printf(",\"target\":\"%s\",\"moved_at\":%lld,\"by\":",
		    ch->target, (long long)ch->moved_at);
		fmt_json_str(stdout, ch->moved_by ? ch->moved_by : "");
		putchar('}');
		return;
	}
	fmt_time_iso(ch->moved_at, when);
	printf("%s %s %s %s\n", ch->name, ch->target, when,
	    ch->moved_by ? ch->moved_by : "");
}

/* One line of `channel log`, or its JSON object (after a comma with sep). */
static void
print_log_entry(struct cli *cli, const struct channel_log *e, bool sep)
{
	char when[FMT_TIME_MAX];

	if (cli->json) {
		printf("%s{\"time\":%lld,\"action\":", sep ? "," : "",
		    (long long)e->time);
		fmt_json_str(stdout, e->action);
		printf(",\"from\":");
		fmt_json_str(stdout, e->from);
		printf(",\"to\":");
		fmt_json_str(stdout, e->to);
		printf(",\"by\":");
		fmt_json_str(stdout, e->by);
		printf(",\"message\":");
		fmt_json_str_or_null(stdout, e->message);
		putchar('}');
		return;
	}
	fmt_time_iso(e->time, when);
	printf("%s %s %s -> %s %s%s%s\n", when, e->action,
	    e->from[0] ? e->from : "-", e->to[0] ? e->to : "-", e->by,
	    e->message ? " " : "", e->message ? e->message : "");
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
			print_channel(cli, &ch, i > 0);
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
	for (i = 0; i < nl; i++)
		print_log_entry(cli, &l[i], i > 0);
	if (cli->json)
		printf("]\n");
	rc = 0;
	goto out;
fail:
	log_error("%s", err.msg);
out:
	channel_log_release(l, nl);
	strv_free(names, n);
	if (t)
		store_txn_abort(t);
	store_close(s);
	return rc;
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

int
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

int
run_rollback(struct cli *cli, const struct args *a)
{
	return cmd_move(cli, true, opt_last(a, 0), a->argc, a->argv);
}

int
run_channel_list(struct cli *cli, const struct args *a)
{
	return call_sub(cmd_channel, cli, "list", a);
}

int
run_channel_log(struct cli *cli, const struct args *a)
{
	return call_sub(cmd_channel, cli, "log", a);
}

int
run_channel_delete(struct cli *cli, const struct args *a)
{
	return cmd_channel_edit(cli, false, opt_last(a, 0), a->argv);
}

int
run_channel_rename(struct cli *cli, const struct args *a)
{
	return cmd_channel_edit(cli, true, opt_last(a, 0), a->argv);
}
