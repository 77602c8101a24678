/*
 * daemon_replica.c: the daemon's worker on a replica (daemon.h,
 * replica.h): one poll of the primary, its failures logged once per
 * outage.
 */
#include "mirrord/common.h"

#include "mirrord/fetch.h"
#include "mirrord/log.h"
#include "mirrord/replica.h"
#include "cmd/daemon.h"

bool
daemon_replica_poll(bool *failing, struct store *s, const struct conf *c,
    const atomic_bool *cancel)
{
	struct fetch_opts fo;
	struct fetch *f = NULL;
	struct merr err = { 0 };
	bool changed = false;
	int rc;

	fetch_opts_of_conf(c, &fo);
	rc = fetch_new(&fo, &f, &err);
	if (rc == 0) {
		fetch_set_cancel(f, cancel);
		rc = replica_poll(s, c, f, &changed, &err);
	}
	fetch_free(f);
	if (rc && rc != MERR_CANCEL && !*failing)
		log_error("replica: %s; serving the last state applied",
		    err.msg);
	else if (rc == 0 && *failing)
		log_info("replica: %s answers again", c->replica_of);
	*failing = rc != 0;
	return changed;
}
