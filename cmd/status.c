/*
 * status.c: `mirrord status [--json]` (the report is mirrord/status.c's).
 */
#include "mirrord/common.h"

#include "mirrord/log.h"
#include "mirrord/status.h"
#include "mirrord/store.h"
#include "cmd/cmd.h"

/* status [--json] */
static int
cmd_status(struct cli *cli, int argc, char **argv)
{
	struct status_report r;
	struct store *s = NULL;
	struct merr err = { 0 };
	int rc;

	if (argc != 0) {
		usage(stderr);
		return 2;
	}
	if (open_store(cli, false, &s))
		return 1;
	rc = status_collect(s, cli->conf, NULL, &r, &err);
	if (rc == 0) {
		status_collect_exposure(s, &r);
		status_collect_adoption(cli->conf, &r);
	}
	if (rc == 0) {
		if (cli->json)
			status_print_json(stdout, &r);
		else
			status_print_text(stdout, &r);
	} else {
		log_error("status: %s", err.msg);
	}
	status_report_release(&r);
	store_close(s);
	return rc ? 1 : 0;
}

int
run_status(struct cli *cli, const struct args *a)
{
	return cmd_status(cli, a->argc, a->argv);
}
