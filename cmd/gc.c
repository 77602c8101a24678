/*
 * gc.c: `mirrord gc [--dry-run]`: retention for every mirror, then
 * collection (mirrord/gc.c).
 */
#include "mirrord/common.h"

#include "mirrord/gc.h"
#include "mirrord/log.h"
#include "mirrord/store.h"
#include "cmd/cmd.h"

/* gc [--dry-run]: retention for every mirror, then collection. */
static int
cmd_gc(struct cli *cli, int argc, char **argv)
{
	struct gc_stats st;
	struct store *s = NULL;
	struct merr err = { 0 };
	bool dry = false;
	int rc;

	if (argc == 1 && strcmp(argv[0], "--dry-run") == 0) {
		dry = true;
	} else if (argc != 0) {
		usage(stderr);
		return 2;
	}
	if (open_store_locked(cli, "gc", &s))
		return 1;
	rc = gc_run(s, cli->conf, NULL, cli->conf->gc_grace, dry, &st, &err);
	store_close(s);
	/* Said even if retention then failed: the space is back. */
	if (st.orphans_removed || st.orphans_pending)
		printf("%s%llu blob files no table lists (%.1f MiB) removed, "
		    "%llu younger than the grace period kept\n",
		    dry ? "would be: " : "",
		    (unsigned long long)st.orphans_removed,
		    (double)st.orphan_bytes_removed / 1048576.0,
		    (unsigned long long)st.orphans_pending);
	if (st.objects_removed || st.objects_pending)
		printf("%s%llu objects no table lists (%.1f MiB) deleted from "
		    "the bucket, %llu younger than the grace period kept\n",
		    dry ? "would be: " : "",
		    (unsigned long long)st.objects_removed,
		    (double)st.object_bytes_removed / 1048576.0,
		    (unsigned long long)st.objects_pending);
	if (rc) {
		log_error("gc: %s", err.msg);
		return 1;
	}
	printf("%s%llu snapshots dropped, %llu blobs (%.1f MiB) removed, "
	    "%llu blobs (%.1f MiB) waiting out the grace period\n",
	    dry ? "would be: " : "", (unsigned long long)st.snapshots_dropped,
	    (unsigned long long)st.blobs_removed,
	    (double)st.bytes_removed / 1048576.0,
	    (unsigned long long)st.blobs_pending,
	    (double)st.bytes_pending / 1048576.0);
	return 0;
}

int
run_gc(struct cli *cli, const struct args *a)
{
	char *v[] = { (char *)"--dry-run" };

	return cmd_gc(cli, a->nval[0] ? 1 : 0, v);
}
