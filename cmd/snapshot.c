/*
 * snapshot.c: `mirrord snapshot list|show|diff|pin|unpin|drop`, and
 * snapshots and diffs as text or JSON.
 */
#include "mirrord/common.h"

#include "mirrord/channel.h"
#include "mirrord/content.h"
#include "mirrord/diff.h"
#include "mirrord/fmt.h"
#include "mirrord/gc.h"
#include "mirrord/hash.h"
#include "mirrord/log.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "cmd/cmd.h"

static void
print_snap_json(const struct snap *sn, const char *pin,
    const struct content_counts *cc, bool detail)
{
	char hex[HASH_HEX_LEN + 1];
	size_t i, j;

	printf("{\"id\":\"%s\",\"time\":%lld,\"kind\":\"%s\",\"recipe\":",
	    sn->id, (long long)sn->time, snap_kind_name(sn->kind));
	fmt_json_str_or_null(stdout, sn->recipe);
	printf(",\"pinned\":");
	fmt_json_str_or_null(stdout, pin);
	printf(",\"suites\":[");
	for (i = 0; i < sn->nsuites; i++) {
		const struct snap_suite *su = &sn->suites[i];

		if (i)
			putchar(',');
		if (!detail) {
			fmt_json_str(stdout, su->name);
			continue;
		}
		printf("{\"name\":");
		fmt_json_str(stdout, su->name);
		printf(",\"date\":");
		fmt_json_str(stdout, su->date_str ? su->date_str :
		    "");
		printf(",\"files\":[");
		for (j = 0; j < su->nfiles; j++) {
			hash_to_hex(su->files[j].hash, hex);
			printf("%s{\"path\":", j ? "," : "");
			fmt_json_str(stdout, su->files[j].path);
			printf(",\"sha256\":\"%s\",\"size\":%llu}", hex,
			    (unsigned long long)su->files[j].size);
		}
		printf("]}");
	}
	printf("],\"packages\":%llu,\"sources\":%llu,\"files\":%llu,"
	    "\"pool_bytes\":%llu,\"bytes\":%llu,\"new_files\":%llu,"
	    "\"new_bytes\":%llu",
	    (unsigned long long)sn->packages, (unsigned long long)sn->sources,
	    (unsigned long long)sn->files, (unsigned long long)sn->pool_bytes,
	    (unsigned long long)sn->bytes,
	    (unsigned long long)sn->new_files,
	    (unsigned long long)sn->new_bytes);
	if (cc != NULL)
		printf(",\"pool_files\":%llu,\"stored_files\":%llu,"
		    "\"stored_bytes\":%llu",
		    (unsigned long long)cc->files,
		    (unsigned long long)cc->stored_files,
		    (unsigned long long)cc->stored_bytes);
	putchar('}');
}

/* A composed snapshot's recipe, one "recipe: LINE" a line. */
static void
print_recipe(const char *r)
{
	const char *nl;

	for (; r != NULL && *r != '\0'; r = nl + 1) {
		nl = strchr(r, '\n');
		if (nl == NULL)
			nl = r + strlen(r) - 1;
		printf("recipe: %.*s\n", (int)(nl - r + (*nl != '\n')), r);
	}
}

/*
 * What `snapshot show` prints of sn (pinned with note pin, or NULL), with
 * how many of its pool files are stored (cc).
 */
static void
print_snap_text(const struct snap *sn, const char *pin,
    const struct content_counts *cc)
{
	char when[FMT_TIME_MAX];
	size_t i;

	fmt_time_utc(sn->time, when);
	printf("id: %s\ntime: %s\nkind: %s\n", sn->id, when,
	    snap_kind_name(sn->kind));
	if (pin)
		printf("pinned: %s\n", pin);
	print_recipe(sn->recipe);
	for (i = 0; i < sn->nsuites; i++)
		printf("suite: %s date: %s files: %zu\n",
		    sn->suites[i].name, sn->suites[i].date_str ?
		    sn->suites[i].date_str : "", sn->suites[i].nfiles);
	printf("packages: %llu\nsources: %llu\nfiles: %llu\n"
	    "pool_bytes: %llu\nbytes: %llu\nnew_files: %llu\n"
	    "new_bytes: %llu\n",
	    (unsigned long long)sn->packages,
	    (unsigned long long)sn->sources,
	    (unsigned long long)sn->files,
	    (unsigned long long)sn->pool_bytes,
	    (unsigned long long)sn->bytes,
	    (unsigned long long)sn->new_files,
	    (unsigned long long)sn->new_bytes);
	printf("stored: %llu of %llu pool files, %.1f of %.1f MiB\n",
	    (unsigned long long)cc->stored_files,
	    (unsigned long long)cc->files,
	    (double)cc->stored_bytes / 1048576.0,
	    (double)cc->bytes / 1048576.0);
}

/* A snapshot's pin note in *note (owned), or NULL if it is not pinned. */
static int
pin_note(struct store_txn *t, const char *mirror, const char *id,
    char **note, struct merr *err)
{
	struct merr e2 = { 0 };
	int rc;

	*note = NULL;
	rc = gc_pin_get(t, mirror, id, note, &e2);
	if (rc && rc != MERR_NOTFOUND) {
		*err = e2;
		return rc;
	}
	return 0;
}

static int
cmd_snapshot(struct cli *cli, int argc, char **argv)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	struct content_counts cc;
	struct snap sn;
	char **ids = NULL, *pin = NULL;
	size_t n = 0, i;
	int rc = 1;

	if (argc < 2 || (strcmp(argv[0], "list") == 0 && argc != 2) ||
	    (strcmp(argv[0], "show") == 0 && argc != 3) ||
	    (strcmp(argv[0], "list") && strcmp(argv[0], "show"))) {
		usage(stderr);
		return 2;
	}
	if (check_mirror(cli, argv[1]) || open_store(cli, false, &s))
		return 1;
	if (store_txn_begin(s, false, &t, &err))
		goto fail;
	if (strcmp(argv[0], "list") == 0) {
		if (snap_list(t, argv[1], &ids, &n, &err))
			goto fail;
		if (cli->json)
			putchar('[');
		for (i = 0; i < n; i++) {
			if (pin_note(t, argv[1], ids[i], &pin, &err))
				goto fail;
			if (snap_load(t, argv[1], ids[i], &sn, &err))
				goto fail;
			if (!cli->json) {
				/* The ID first: scripts cut the marks off. */
				printf("%s%s%s%s%s\n", ids[i], sn.kind ? " " : "",
				    sn.kind ? snap_kind_name(sn.kind) : "",
				    pin ? " pinned: " : "", pin ? pin : "");
				snap_release(&sn);
				free(pin);
				pin = NULL;
				continue;
			}
			if (i)
				putchar(',');
			print_snap_json(&sn, pin, NULL, false);
			snap_release(&sn);
			free(pin);
			pin = NULL;
		}
		if (cli->json)
			printf("]\n");
		rc = 0;
		goto out;
	}
	if (channel_resolve_snap(t, argv[1], argv[2], &sn, &err))
		goto fail;
	if (pin_note(t, argv[1], sn.id, &pin, &err) ||
	    content_count(t, argv[1], sn.seq, &cc, &err)) {
		snap_release(&sn);
		goto fail;
	}
	if (cli->json) {
		print_snap_json(&sn, pin, &cc, true);
		putchar('\n');
	} else {
		print_snap_text(&sn, pin, &cc);
	}
	snap_release(&sn);
	rc = 0;
	goto out;
fail:
	log_mirror_error(argv[1], &err);
out:
	free(pin);
	strv_free(ids, n);
	if (t)
		store_txn_abort(t);
	store_close(s);
	return rc;
}

/* Prints what changed from a to b, as `snapshot diff` does. */
int
print_diff(struct cli *cli, struct store *s, const struct snap *a,
    const struct snap *b, struct merr *err)
{
	static const char *kinds[] = { "added", "removed", "upgraded",
	    "downgraded" };
	struct diff_entry *d = NULL;
	size_t n = 0, i;
	int rc;

	rc = diff_snapshots(s, a, b, &d, &n, err);
	if (rc)
		return rc;
	if (cli->json)
		putchar('[');
	for (i = 0; i < n; i++) {
		const struct diff_entry *e = &d[i];

		if (cli->json) {
			printf("%s{\"change\":\"%s\",\"suite\":", i ? "," : "",
			    kinds[e->kind]);
			fmt_json_str(stdout, e->suite);
			printf(",\"package\":");
			fmt_json_str(stdout, e->package);
			printf(",\"arch\":");
			fmt_json_str(stdout, e->arch);
			printf(",\"old\":");
			fmt_json_str_or_null(stdout, e->old_version);
			printf(",\"new\":");
			fmt_json_str_or_null(stdout, e->new_version);
			putchar('}');
		} else if (e->kind == DIFF_ADDED || e->kind == DIFF_REMOVED) {
			printf("%s %s %s %s %s\n", kinds[e->kind], e->suite,
			    e->package, e->arch, e->kind == DIFF_ADDED ?
			    e->new_version : e->old_version);
		} else {
			printf("%s %s %s %s %s -> %s\n", kinds[e->kind],
			    e->suite, e->package, e->arch, e->old_version,
			    e->new_version);
		}
	}
	if (cli->json)
		printf("]\n");
	diff_free(d, n);
	return 0;
}

static int
cmd_diff(struct cli *cli, const char *mirror, const char *r1, const char *r2)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	struct snap a, b;
	struct channel ch;
	bool have_a = false, have_b = false;
	int rc = 1;

	if (check_mirror(cli, mirror) || open_store(cli, false, &s))
		return 1;
	if (store_txn_begin(s, false, &t, &err))
		goto fail;
	if (channel_resolve(t, mirror, r1, &a, &ch, &err))
		goto fail;
	channel_free(&ch);
	have_a = true;
	if (channel_resolve(t, mirror, r2, &b, &ch, &err))
		goto fail;
	channel_free(&ch);
	have_b = true;
	store_txn_abort(t);
	t = NULL;
	if (print_diff(cli, s, &a, &b, &err))
		goto fail;
	rc = 0;
	goto out;
fail:
	log_mirror_error(mirror, &err);
out:
	if (have_a)
		snap_release(&a);
	if (have_b)
		snap_release(&b);
	if (t)
		store_txn_abort(t);
	store_close(s);
	return rc;
}

/*
 * snapshot pin MIRROR REF NOTE | snapshot unpin MIRROR REF: REF resolves
 * as for promote (an ID, a timestamp, 'latest' or a channel) under the
 * channel lock, so no gc drops it before the pin (gc_pin loads it again
 * in its transaction); the ID is printed.
 */
static int
cmd_pin(struct cli *cli, bool pin, int argc, char **argv)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct merr err = { 0 };
	struct snap sn;
	char id[SNAP_ID_LEN + 1];
	int rc;

	if (argc != (pin ? 3 : 2)) {
		usage(stderr);
		return 2;
	}
	if (check_mirror(cli, argv[0]) ||
	    open_store_channels(cli, pin ? "pin" : "unpin", &s))
		return 1;
	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0)
		rc = channel_resolve_snap(t, argv[0], argv[1], &sn, &err);
	if (t)
		store_txn_abort(t);
	if (rc == 0) {
		memcpy(id, sn.id, sizeof(id));
		snap_release(&sn);
		rc = gc_pin(s, argv[0], id, pin ? argv[2] : NULL, &err);
	}
	store_close(s);
	if (rc) {
		log_mirror_error(argv[0], &err);
		return 1;
	}
	printf("%s %s\n", pin ? "pinned" : "unpinned", id);
	return 0;
}

/* snapshot drop MIRROR ID */
static int
cmd_drop(struct cli *cli, char **argv)
{
	struct store *s = NULL;
	struct merr err = { 0 };
	struct gc_stats st;
	int rc;

	if (check_mirror(cli, argv[0]) ||
	    open_store_locked(cli, "snapshot drop", &s))
		return 1;
	/* And no move resolves its target to this snapshot meanwhile. */
	rc = store_lock_channels(s, "snapshot drop", true, &err);
	if (rc == 0)
		rc = gc_drop(s, cli->conf, argv[0], argv[1], &st, &err);
	store_close(s);
	if (rc) {
		log_mirror_error(argv[0], &err);
		return 1;
	}
	printf("dropped %s; %llu blobs queued for gc (removed by a gc after "
	    "Gc-Grace)\n", argv[1], (unsigned long long)st.blobs_queued);
	return 0;
}

int
run_snapshot_list(struct cli *cli, const struct args *a)
{
	return call_sub(cmd_snapshot, cli, "list", a);
}

int
run_snapshot_show(struct cli *cli, const struct args *a)
{
	return call_sub(cmd_snapshot, cli, "show", a);
}

int
run_snapshot_diff(struct cli *cli, const struct args *a)
{
	return cmd_diff(cli, a->argv[0], a->argv[1], a->argv[2]);
}

int
run_snapshot_pin(struct cli *cli, const struct args *a)
{
	return cmd_pin(cli, true, a->argc, a->argv);
}

int
run_snapshot_unpin(struct cli *cli, const struct args *a)
{
	return cmd_pin(cli, false, a->argc, a->argv);
}

int
run_snapshot_drop(struct cli *cli, const struct args *a)
{
	return cmd_drop(cli, a->argv);
}
