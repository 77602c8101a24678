/*
 * store_format.c: the store's format record and the upgrade of a format 1
 * store (blobs/ab/cd/<h>) to format 2 (blobs/ab/<h>) in place.
 *
 * Crash safety of the upgrade, step by step (docs/durability.md):
 *  - each file moves by one rename(2) within the file system, atomic: at
 *    every moment it has exactly one of its two names, and the readers
 *    try both (blob.c). A blob already at its new name keeps it (the
 *    renaming is RENAME_NOREPLACE) and loses the old one;
 *  - the emptied ab/cd/ directories are removed as the walk leaves them;
 *    a kill leaves some, which the next run walks (and the blob walk of
 *    gc and fsck covers both layouts, so nothing in them is a stray);
 *  - the record "store.format" = "2" is written LAST, after store_sync():
 *    so a store that says format 2 has all its renames on disk. Until
 *    then every writer's open (and `fsck --upgrade`) runs the walk again,
 *    which skips what has moved.
 * Writers write new blobs at their format 2 name from the first moment,
 * so nothing has to move twice. The store's tmp/ is not part of it.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "mirrord/fault.h"
#include "mirrord/log.h"
#include "mirrord/store_int.h"

#define FORMAT_KEY	"store.format"
/* Tests only: a store made (and kept) in format 1, to test upgrades. */
#define FORMAT_TEST_ENV	"MIRRORD_TEST_STORE_FORMAT"

int
store_format(const struct store *s)
{
	return s->format;
}

/* The recorded format into *fmt: 1 when there is no record. */
static int
format_read(struct store *s, int *fmt, struct merr *err)
{
	struct merr gerr = { 0 };
	struct store_txn *t;
	const void *v;
	size_t vlen;
	uint64_t n;
	int rc;

	*fmt = 1;
	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	/* gerr: err stays untouched when there is no record. */
	rc = store_meta_get(t, NULL, FORMAT_KEY, strlen(FORMAT_KEY), &v,
	    &vlen, &gerr);
	if (rc == MERR_NOTFOUND) {
		rc = 0;
	} else if (rc) {
		*err = gerr;
	} else {
		if (parse_u64(v, vlen, 999999, &n) != 0 || n < 1)
			rc = merr_set(err, MERR_STORE, "store '%s': malformed "
			    "format record", s->dir);
		else
			*fmt = (int)n;
	}
	store_txn_abort(t);
	return rc;
}

static int
format_write(struct store *s, int fmt, struct merr *err)
{
	struct store_txn *t;
	char v[16];
	int rc;

	snprintf(v, sizeof(v), "%d", fmt);
	rc = store_txn_begin(s, true, &t, err);
	if (rc)
		return rc;
	rc = store_meta_put(t, NULL, FORMAT_KEY, strlen(FORMAT_KEY), v,
	    strlen(v), err);
	if (rc) {
		store_txn_abort(t);
		return rc;
	}
	return store_txn_commit(t, err);
}

struct upgrade {
	size_t sub_len;		/* strlen of ".../blobs/ab/cd" */
	struct store_upgrade_stats st;
};

/*
 * Moves one blob file of a format 1 directory ab/cd up into ab/ ("../"
 * from its directory). Files directly in ab/ are in place already.
 */
static int
upgrade_file(void *ctx, const char *dir, int dfd, const char *name,
    const unsigned char *h, struct merr *err)
{
	struct upgrade *u = ctx;
	char *to;
	int rc = 0;

	if (strlen(dir) != u->sub_len)
		return 0;
	to = xasprintf("../%s", name);
	if (fault_fail("rename") == 0 &&
	    renameat2(dfd, name, dfd, to, RENAME_NOREPLACE) == 0) {
		u->st.moved++;
	} else if (errno == EINVAL && linkat(dfd, name, dfd, to, 0) == 0) {
		/* No RENAME_NOREPLACE here: a link, then the old name. */
		u->st.moved++;
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			rc = merr_errno(err, "cannot remove '%s/%s'", dir,
			    name);
	} else if (errno == EEXIST) {
		/* Written again at its new name meanwhile: keep that one. */
		u->st.dropped++;
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			rc = merr_errno(err, "cannot remove '%s/%s'", dir,
			    name);
	} else if (errno != ENOENT) {
		rc = merr_errno(err, "cannot move '%s/%s' to '%s/%s'", dir,
		    name, dir, to);
	}
	free(to);
	return rc;
}

/* An ab/cd directory the walk leaves: removed if it is empty now. */
static void
upgrade_dir_end(void *ctx, const char *dir)
{
	struct upgrade *u = ctx;

	if (strlen(dir) == u->sub_len && rmdir(dir) == 0)
		u->st.dirs++;
}

/* The upgrade proper, under both locks. */
static int
upgrade_locked(struct store *s, struct upgrade *u, struct merr *err)
{
	struct store_blob_walk w = { true, NULL, upgrade_file,
	    upgrade_dir_end, u };
	int fmt, rc;

	/* Another process may have finished it since we opened. */
	rc = format_read(s, &fmt, err);
	if (rc == 0 && fmt >= STORE_FORMAT) {
		s->format = fmt;
		return 0;
	}
	if (rc == 0)
		rc = store_blob_walk(s, &w, err);
	/* The barrier: every rename on disk before the record says so. */
	if (rc == 0)
		rc = store_sync(s, err);
	if (rc == 0)
		rc = format_write(s, STORE_FORMAT, err);
	if (rc == 0) {
		s->format = STORE_FORMAT;
		s->legacy = false;
	}
	return rc;
}

int
store_upgrade(struct store *s, bool wait, struct store_upgrade_stats *st,
    struct merr *err)
{
	struct upgrade u;
	int rc;

	memset(&u, 0, sizeof(u));
	u.sub_len = strlen(s->dir) + strlen("/blobs/ab/cd");
	if (st != NULL)
		*st = s->upgraded;
	if (s->format >= STORE_FORMAT)
		return 0;
	if (!s->write)
		return merr_set(err, MERR_INVAL, "store '%s': an upgrade needs "
		    "the store open for writing", s->dir);
	rc = store_lock(s, "upgrade", wait, err);
	if (rc)
		return rc;
	rc = store_lock_channels(s, "upgrade", wait, err);
	if (rc == 0) {
		rc = upgrade_locked(s, &u, err);
		store_unlock_channels(s);
	}
	store_unlock(s);
	if (rc)
		merr_prefix(err, "store '%s': upgrade to format %d: ", s->dir,
		    STORE_FORMAT);
	else
		s->upgraded = u.st;
	if (rc == 0 && st != NULL)
		*st = u.st;
	return rc;
}

int
store_format_open(struct store *s, struct merr *err)
{
	const char *test = getenv(FORMAT_TEST_ENV);
	struct merr uerr = { 0 };
	int rc;

	rc = format_read(s, &s->format, err);
	if (rc)
		return rc;
	if (s->format > STORE_FORMAT)
		return merr_set(err, MERR_INVAL, "store '%s' is in format %d; "
		    "this mirrord knows formats 1 to %d: use a newer mirrord",
		    s->dir, s->format, STORE_FORMAT);
	if (s->format >= STORE_FORMAT || !s->write)
		return 0;
	if (test != NULL && strcmp(test, "1") == 0) {
		s->legacy = true;
		return 0;
	}
	/*
	 * Busy locks: their holder is a writer that opened the store and
	 * upgraded it, or will at its next open; this process writes
	 * format 2 names meanwhile, which every reader finds.
	 */
	rc = store_upgrade(s, false, NULL, &uerr);
	if (rc && rc != MERR_BUSY)
		log_warn("%s", uerr.msg);
	return 0;
}
