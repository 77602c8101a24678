/*
 * patch.c: `mirrord patch MIRROR CHANNEL --from REF [SOURCE...]` — a
 * channel's target with some source packages (or every pending security
 * fix) from a newer ref, as a new snapshot the channel moves to.
 */
#include "mirrord/common.h"

#include <unistd.h>

#include "cmd/cmd.h"
#include "mirrord/channel.h"
#include "mirrord/fmt.h"
#include "mirrord/log.h"
#include "mirrord/patch.h"
#include "mirrord/store.h"

static void
print_plan(struct cli *cli, const struct patch_opts *o,
    const struct patch_plan *p, const char *moved_to)
{
	size_t i;

	if (cli->json) {
		printf("{\"mirror\":");
		fmt_json_str(stdout, o->m->name);
		printf(",\"channel\":");
		fmt_json_str(stdout, o->channel);
		printf(",\"base\":\"%s\",\"from\":\"%s\",\"sources\":[",
		    p->base, p->from);
		for (i = 0; i < p->nsources; i++) {
			printf("%s", i ? "," : "");
			fmt_json_str(stdout, p->sources[i]);
		}
		printf("],\"changes\":[");
		for (i = 0; i < p->nchanges; i++) {
			const struct patch_change *c = &p->changes[i];

			printf("%s{\"name\":", i ? "," : "");
			fmt_json_str(stdout, c->name);
			printf(",\"arch\":");
			fmt_json_str(stdout, c->arch);
			printf(",\"old\":");
			fmt_json_str_or_null(stdout, c->old_version);
			printf(",\"new\":");
			fmt_json_str_or_null(stdout, c->new_version);
			printf(",\"suite\":");
			fmt_json_str_or_null(stdout, c->suite);
			printf(",\"why\":");
			fmt_json_str(stdout, c->why);
			printf("}");
		}
		printf("],\"snapshot\":");
		fmt_json_str_or_null(stdout, moved_to);
		printf("}\n");
		return;
	}
	printf("patch %s %s (%s) from %s (%s):", o->m->name, o->channel,
	    p->base, o->from, p->from);
	for (i = 0; i < p->nsources; i++)
		printf(" %s", p->sources[i]);
	printf("\n");
	for (i = 0; i < p->nchanges; i++) {
		const struct patch_change *c = &p->changes[i];

		bool src = strcmp(c->arch, "source") == 0;

		/* dpkg's spellings: name:arch, src:name. */
		printf("  %s%s%s%s %s -> %s %s%s(%s)\n", src ? "src:" : "",
		    c->name, src ? "" : ":", src ? "" : c->arch,
		    c->old_version ? c->old_version : "(none)",
		    c->new_version ? c->new_version : "(none)",
		    c->suite ? c->suite : "", c->suite ? " " : "", c->why);
	}
	if (moved_to)
		printf("%s -> %s\n", o->channel, moved_to);
	else
		printf("dry run: nothing written\n");
}

/* The channel lock, then the move to the committed snapshot. */
static int
patch_move(struct cli *cli, struct store *s, struct gpg_signer *g,
    const struct patch_opts *o, const struct patch_plan *p,
    const char *message, char target[SNAP_ID_LEN + 1], struct merr *err)
{
	struct channel_move_opts mo;
	struct buf why = BUF_INIT;
	char id[SNAP_ID_LEN + 1];
	size_t i;
	int rc;

	/* Prefetch: before the channel lock (the patch is committed). */
	if (cmd_prefetch(cli, s, o->m->name, p->result.id, o->channel, id))
		return merr_set(err, MERR_NOTFOUND, "patch %s is committed; "
		    "channel '%s' not moved", p->result.id, o->channel);
	rc = store_lock_channels(s, "patch", true, err);
	if (rc)
		return rc;
	if (message == NULL) {
		buf_addf(&why, "patch from %s (%s):", o->from, p->from);
		for (i = 0; i < p->nsources; i++)
			buf_addf(&why, " %s", p->sources[i]);
	}
	mo.by = who();
	mo.valid_for = cli->conf->valid_for;
	mo.base_url = cli->conf->base_url;
	mo.message = message ? message : why.p;
	rc = channel_promote(s, g, o->m->name, p->result.id, o->channel, &mo,
	    target, err);
	free((char *)mo.by);
	buf_release(&why);
	store_unlock_channels(s);
	return rc;
}

int
run_patch(struct cli *cli, const struct args *a)
{
	struct patch_opts o = { 0 };
	struct patch_plan p;
	struct gpg_signer *g = NULL;
	struct store *s = NULL;
	struct merr err = { 0 };
	char target[SNAP_ID_LEN + 1];
	int rc;

	if (a->argc < 2 || opt_last(a, 0) == NULL) {
		log_error("patch: want MIRROR CHANNEL --from REF, and SOURCE "
		    "packages or --security");
		usage(stderr);
		return 2;
	}
	if (check_mirror(cli, a->argv[0]))
		return 1;
	o.m = conf_mirror(cli->conf, a->argv[0]);
	o.channel = a->argv[1];
	o.from = opt_last(a, 0);
	o.security = a->nval[1] > 0;
	o.dry_run = a->nval[2] > 0;
	o.sources = (const char *const *)a->argv + 2;
	o.nsources = (size_t)a->argc - 2;
	if (o.nsources == 0 && !o.security) {
		log_error("patch: name SOURCE packages, or --security");
		usage(stderr);
		return 2;
	}
	memset(&p, 0, sizeof(p));
	/* gpg starts before the lock, which a sync may hold a while. */
	if (!o.dry_run && open_signer(cli, &g))
		return 1;
	rc = o.dry_run ? open_store(cli, false, &s) :
	    open_store_locked(cli, "patch", &s);
	if (rc) {
		gpg_signer_free(g);
		return 1;
	}
	rc = patch_plan(s, g, &o, &p, &err);
	if (rc == 0 && !o.dry_run)
		rc = patch_commit(s, o.m->name, &p, &err);
	if (rc == 0 && !o.dry_run)
		rc = patch_move(cli, s, g, &o, &p, opt_last(a, 3), target,
		    &err);
	if (rc)
		log_mirror_error(o.m->name, &err);
	else
		print_plan(cli, &o, &p, o.dry_run ? NULL : target);
	patch_plan_release(&p);
	gpg_signer_free(g);
	store_close(s);
	return rc ? 1 : 0;
}
