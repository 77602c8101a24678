/*
 * daemon_replica.c: the daemon's worker on a replica (daemon.h,
 * replica.h): one poll of the primary, its failures logged once per
 * outage; and the primary's public key, which a replica serves as its
 * own /keyring.gpg (it signs nothing: its channels' Release files are
 * the primary's, signed with that key).
 */
#include "mirrord/common.h"

#include <unistd.h>

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

char *
daemon_replica_keyring(const struct conf *c)
{
	struct fetch_opts fo;
	struct fetch *f = NULL;
	struct fetch_mem res = { 0 };
	struct merr err = { 0 };
	char *path = xasprintf("%s/keyring.gpg", c->store);
	char *url = xasprintf("%s/keyring.gpg", c->replica_of);
	int rc;

	fetch_opts_of_conf(c, &fo);
	rc = fetch_new(&fo, &f, &err);
	if (rc == 0)
		rc = fetch_get_mem(f, url, DAEMON_KEYRING_MAX, NULL, NULL, &res,
		    &err);
	if (rc == 0 && res.status != 200)
		rc = merr_set(&err, MERR_NET, "'%s': status %d", url,
		    res.status);
	if (rc == 0)
		rc = write_file_atomic(path, res.data, res.len, 0644, &err);
	fetch_mem_release(&res);
	fetch_free(f);
	free(url);
	if (rc == 0)
		return path;
	/* The copy of an earlier run, if any, until the primary answers. */
	log_warn("replica: the primary's key: %s", err.msg);
	if (access(path, R_OK) == 0)
		return path;
	free(path);
	return NULL;
}

void
daemon_replica_gc_conf(const struct conf *c, struct conf *out)
{
	size_t i;

	*out = *c;
	out->keep_snapshots = NULL;
	out->mirrors = xcalloc(c->nmirrors + 1, sizeof(*out->mirrors));
	memcpy(out->mirrors, c->mirrors, c->nmirrors * sizeof(*c->mirrors));
	for (i = 0; i < c->nmirrors; i++)
		out->mirrors[i].keep_snapshots = NULL;
}
