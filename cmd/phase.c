/*
 * phase.c: `mirrord phase MIRROR CHANNEL REF PERCENT` — serve REF to a
 * percentage of the fleet through apt's phased updates (mirrord/phase.h);
 * rollouts do the same on schedule.
 */
#include "mirrord/common.h"

#include <stdio.h>

#include "cmd/cmd.h"
#include "mirrord/channel.h"
#include "mirrord/confval.h"
#include "mirrord/log.h"
#include "mirrord/phase.h"

int
run_phase(struct cli *cli, const struct args *a)
{
	const struct conf_mirror *m;
	struct channel_move_opts mo;
	struct gpg_signer *g = NULL;
	struct store *s = NULL;
	struct merr err = { 0 }, e;
	char to[SNAP_ID_LEN + 1], id[SNAP_ID_LEN + 1], *why;
	unsigned pct;
	size_t nphased = 0;
	int rc;

	if (a->argc != 4) {
		log_error("phase: want MIRROR CHANNEL REF PERCENT");
		usage(stderr);
		return 2;
	}
	if (confval_uint(a->argv[3], strlen(a->argv[3]), 0, 100, &pct,
	    &e) != 0) {
		log_error("phase: PERCENT '%s': %s", a->argv[3], e.msg);
		return 2;
	}
	if (check_mirror(cli, a->argv[0]))
		return 1;
	m = conf_mirror(cli->conf, a->argv[0]);
	/* gpg starts before the lock, which a sync may hold a while. */
	if (open_signer(cli, &g))
		return 1;
	if (open_store_locked(cli, "phase", &s)) {
		gpg_signer_free(g);
		return 1;
	}
	why = xasprintf("phase %s at %u%%", a->argv[2], pct);
	mo.by = who();
	mo.valid_for = cli->conf->valid_for;
	mo.base_url = cli->conf->base_url;
	mo.message = opt_last(a, 0) ? opt_last(a, 0) : why;
	/*
	 * Prefetch: a phase of REF holds REF's files and what the channel
	 * serves already (fetched when it moved there): fetch REF's before
	 * the channel lock.
	 */
	if (cmd_prefetch(cli, s, m->name, a->argv[2], a->argv[1], id)) {
		free((char *)mo.by);
		free(why);
		gpg_signer_free(g);
		store_close(s);
		return 1;
	}
	rc = store_lock_channels(s, "phase", true, &err);
	if (rc == 0) {
		rc = phase_channel(s, g, m, a->argv[1], id[0] ? id :
		    a->argv[2], pct, &mo, to, &nphased, &err);
		store_unlock_channels(s);
	}
	if (rc)
		log_mirror_error(m->name, &err);
	else if (pct < 100)
		printf("%s -> %s (%zu packages at %u%%)\n", a->argv[1], to,
		    nphased, pct);
	else
		printf("%s -> %s\n", a->argv[1], to);
	free((char *)mo.by);
	free(why);
	gpg_signer_free(g);
	store_close(s);
	return rc ? 1 : 0;
}
