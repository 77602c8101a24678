/*
 * fsck.c: `mirrord fsck [--upgrade] [--deep]`: every blob re-hashed,
 * every reference resolved (after the store's format upgrade, with
 * --upgrade; with S3, every object's size, and with --deep its bytes);
 * and `mirrord index-parse FILE`, for benchmarks.
 */
#include "mirrord/common.h"

#include <fcntl.h>
#include <unistd.h>

#include "mirrord/fsck.h"
#include "mirrord/index.h"
#include "mirrord/log.h"
#include "mirrord/store.h"
#include "cmd/cmd.h"

static void
fsck_print(void *ctx, const struct fsck_finding *f)
{
	printf("%s\n", f->text);
}

/*
 * --upgrade: the store's format brought to STORE_FORMAT, waiting for the
 * locks. Opening for writing may do it already (if the locks are free).
 */
static int
fsck_upgrade(struct store *s, struct merr *err)
{
	struct store_upgrade_stats st;
	int rc;

	rc = store_upgrade(s, false, &st, err);
	if (rc == MERR_BUSY) {
		log_info("%s; waiting", err->msg);
		rc = store_upgrade(s, true, &st, err);
	}
	if (rc)
		return rc;
	if (st.moved + st.dropped + st.dirs > 0)
		printf("upgraded: %llu blob files moved, %llu old names "
		    "removed, %llu directories removed\n",
		    (unsigned long long)st.moved,
		    (unsigned long long)st.dropped,
		    (unsigned long long)st.dirs);
	printf("store format %d\n", store_format(s));
	return 0;
}

/* The checks are mirrord/fsck.c's; the command prints what they find. */
static int
cmd_fsck(struct cli *cli, bool upgrade, bool deep)
{
	struct fsck_opts opts = { fsck_print, NULL };
	struct fsck_report r;
	struct merr err = { 0 };
	struct store *s;
	int rc;

	memset(&r, 0, sizeof(r));
	if (open_store(cli, upgrade, &s))
		return 1;
	rc = upgrade ? fsck_upgrade(s, &err) : 0;
	if (rc == 0)
		rc = (deep ? fsck_run_deep : fsck_run)(s, cli->conf, &opts,
		    &r, &err);
	store_close(s);
	if (rc) {
		fsck_report_release(&r);
		log_error("fsck: %s", err.msg);
		return 1;
	}
	printf("%llu blobs (%.1f MiB) re-hashed, %llu references checked, "
	    "%llu unreferenced blob files, %llu problems\n",
	    (unsigned long long)r.blobs, (double)r.bytes / 1048576.0,
	    (unsigned long long)r.refs, (unsigned long long)r.orphans,
	    (unsigned long long)r.problems);
	if (r.not_stored > 0)
		printf("%llu pool files referenced, not stored (on demand)\n",
		    (unsigned long long)r.not_stored);
	rc = r.problems ? 1 : 0;
	fsck_report_release(&r);
	return rc;
}

struct count {
	uint64_t files, bytes;
};

static int
count_entry(void *ctx, const struct index_entry *e, struct merr *err)
{
	struct count *c = ctx;

	c->files++;
	c->bytes += e->size;
	return 0;
}

static int
cmd_index_parse(const char *path)
{
	struct count c = { 0, 0 };
	struct merr err = { 0 };
	uint64_t npara = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("cannot open '%s': %s", path, strerror(errno));
		return 1;
	}
	if (index_parse_fd(fd, comp_from_name(path), UINT64_MAX,
	    strstr(path, "Sources") ? INDEX_SOURCES : INDEX_PACKAGES, path,
	    count_entry, &c, &npara, &err)) {
		close(fd);
		log_error("%s", err.msg);
		return 1;
	}
	close(fd);
	printf("paragraphs %llu files %llu bytes %llu\n",
	    (unsigned long long)npara, (unsigned long long)c.files,
	    (unsigned long long)c.bytes);
	return 0;
}

int
run_fsck(struct cli *cli, const struct args *a)
{
	return cmd_fsck(cli, a->nval[0] > 0, a->nval[1] > 0);
}

int
run_index_parse(struct cli *cli, const struct args *a)
{
	return cmd_index_parse(a->argv[0]);
}
