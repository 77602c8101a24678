/*
 * fsck.c: `mirrord fsck`: every blob re-hashed, every reference resolved;
 * and `mirrord index-parse FILE`, for benchmarks.
 */
#include "mirrord/common.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "mirrord/channel.h"
#include "mirrord/hash.h"
#include "mirrord/index.h"
#include "mirrord/log.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "cmd/cmd.h"

/* fsck: every blob re-hashed; every reference resolves to a blob. */
struct fsck {
	struct store *s;
	struct store_txn *t;
	uint64_t blobs, bytes, bad, refs;
};

static int
fsck_need(struct fsck *fk, const unsigned char h[HASH_LEN], const char *what,
    struct merr *err)
{
	struct store_blob_rec rec;
	char hex[HASH_HEX_LEN + 1];
	int rc;

	fk->refs++;
	rc = store_blob_get(fk->t, h, &rec, err);
	if (rc == MERR_NOTFOUND) {
		hash_to_hex(h, hex);
		printf("blob %s: missing, named by %s\n", hex, what);
		fk->bad++;
		return 0;
	}
	return rc;
}

/*
 * fsck reads one snapshot of the index while a gc may run: a blob that
 * gc dropped after fsck began (rows are committed before the file is
 * unlinked) is missing from the disk but no longer listed. A fresh read
 * transaction tells that apart from a blob really lost.
 */
static bool
gone_meanwhile(struct fsck *fk, const unsigned char h[HASH_LEN])
{
	struct store_txn *t;
	struct store_blob_rec rec;
	struct merr err = { 0 };
	int rc;

	if (store_txn_begin(fk->s, false, &t, &err) != 0)
		return false;
	rc = store_blob_get(t, h, &rec, &err);
	store_txn_abort(t);
	return rc == MERR_NOTFOUND;
}

static int
fsck_blobs(struct fsck *fk, struct merr *err)
{
	struct store_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	uint64_t rows = 0, row_bytes = 0, tn, tbytes;
	int rc;

	rc = store_cursor_open(fk->t, TBL_BLOBS, &c, err);
	if (rc)
		return rc;
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl, err);
	    rc == 1; rc = store_cursor_next(c, &k, &kl, &v, &vl, err)) {
		unsigned char h[HASH_LEN], got[HASH_LEN];
		char hex[HASH_HEX_LEN + 1];
		struct store_blob_rec rec;
		uint64_t size;
		struct merr e2 = { 0 };
		int fd;

		if (kl != HASH_LEN)
			continue;
		memcpy(h, k, HASH_LEN);
		hash_to_hex(h, hex);
		fk->blobs++;
		if (store_blob_get(fk->t, h, &rec, err))
			break;
		rows++;
		row_bytes += rec.size;
		fd = store_blob_open(fk->s, h, &e2);
		if (fd < 0 && fd == MERR_NOTFOUND && gone_meanwhile(fk, h)) {
			fk->blobs--;	/* gc removed it after we began */
			continue;
		}
		if (fd < 0) {
			printf("blob %s: missing (%s)\n", hex, e2.msg);
			fk->bad++;
			continue;
		}
		rc = hash_fd(fd, got, &size, err);
		close(fd);
		if (rc)
			break;
		fk->bytes += size;
		if (size != rec.size) {
			printf("blob %s: size %llu, expected %llu\n", hex,
			    (unsigned long long)size,
			    (unsigned long long)rec.size);
			fk->bad++;
		} else if (memcmp(got, h, HASH_LEN) != 0) {
			printf("blob %s: sha256 mismatch\n", hex);
			fk->bad++;
		}
	}
	store_cursor_close(c);
	if (rc < 0)
		return rc;
	/* status reads these counters instead of every row. */
	rc = store_blob_totals(fk->t, &tn, &tbytes, err);
	if (rc)
		return rc;
	if (tn != rows || tbytes != row_bytes) {
		printf("blob counters: %llu blobs, %llu bytes; the index "
		    "lists %llu, %llu bytes\n", (unsigned long long)tn,
		    (unsigned long long)tbytes, (unsigned long long)rows,
		    (unsigned long long)row_bytes);
		fk->bad++;
	}
	return 0;
}

static int
fsck_pool(struct fsck *fk, struct merr *err)
{
	struct store_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	int rc;

	rc = store_cursor_open(fk->t, TBL_POOL, &c, err);
	if (rc)
		return rc;
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl, err);
	    rc == 1; rc = store_cursor_next(c, &k, &kl, &v, &vl, err)) {
		const char *key = k, *path;
		unsigned char h[HASH_LEN];

		if (kl < HASH_LEN + 4 + 4 || memchr(key, '\0', kl) == NULL) {
			printf("pool entry: malformed key\n");
			fk->bad++;
			continue;
		}
		path = key + strlen(key) + 1;
		memcpy(h, key + kl - 4 - HASH_LEN, HASH_LEN);
		if (fsck_need(fk, h, path, err))
			break;
	}
	store_cursor_close(c);
	return rc < 0 ? rc : 0;
}

/*
 * Blob files that the index does not list: left by a kill between a
 * rename and its commit, or between gc's commit and its unlink. Harmless
 * (nothing serves them); reported, not counted as problems.
 */
static int
fsck_orphans(struct fsck *fk, uint64_t *orphans, struct merr *err)
{
	char *top = xasprintf("%s/blobs", store_dir(fk->s));
	DIR *d1 = opendir(top);
	struct dirent *e1, *e2, *e3;
	int rc = 0;

	*orphans = 0;
	while (d1 && rc == 0 && (e1 = readdir(d1)) != NULL) {
		char *p1;
		DIR *d2;

		if (e1->d_name[0] == '.')
			continue;
		p1 = xasprintf("%s/%s", top, e1->d_name);
		d2 = opendir(p1);
		while (d2 && rc == 0 && (e2 = readdir(d2)) != NULL) {
			char *p2;
			DIR *d3;

			if (e2->d_name[0] == '.')
				continue;
			p2 = xasprintf("%s/%s", p1, e2->d_name);
			d3 = opendir(p2);
			while (d3 && rc == 0 && (e3 = readdir(d3)) != NULL) {
				unsigned char h[HASH_LEN];
				struct store_blob_rec rec;

				if (e3->d_name[0] == '.')
					continue;
				if (hash_from_hex(e3->d_name,
				    strlen(e3->d_name), h)) {
					printf("%s/%s: not a blob name\n", p2,
					    e3->d_name);
					continue;
				}
				rc = store_blob_get(fk->t, h, &rec, err);
				if (rc == MERR_NOTFOUND) {
					printf("blob %s: file not in the index "
					    "(unreferenced)\n", e3->d_name);
					(*orphans)++;
					rc = 0;
				}
			}
			if (d3)
				closedir(d3);
			free(p2);
		}
		if (d2)
			closedir(d2);
		free(p1);
	}
	if (d1)
		closedir(d1);
	free(top);
	return rc;
}

static int
cmd_fsck(struct cli *cli)
{
	struct fsck fk;
	struct merr err = { 0 };
	uint64_t orphans = 0;
	size_t i, j, k, n;
	char **ids;
	int rc;

	memset(&fk, 0, sizeof(fk));
	if (open_store(cli, false, &fk.s))
		return 1;
	rc = store_txn_begin(fk.s, false, &fk.t, &err);
	if (rc == 0)
		rc = fsck_blobs(&fk, &err);
	if (rc == 0)
		rc = fsck_pool(&fk, &err);
	for (i = 0; rc == 0 && i < cli->conf->nmirrors; i++) {
		const char *mname = cli->conf->mirrors[i].name;

		rc = snap_list(fk.t, mname, &ids, &n, &err);
		for (j = 0; rc == 0 && j < n; j++) {
			struct snap sn;

			rc = snap_load(fk.t, mname, ids[j], &sn, &err);
			for (k = 0; rc == 0 && k < sn.nsuites; k++) {
				const struct snap_suite *su = &sn.suites[k];
				size_t f;

				for (f = 0; rc == 0 && f < su->nfiles; f++) {
					char *what = xasprintf(
					    "snapshot %s/%s dists/%s/%s",
					    mname, sn.id, su->name,
					    su->files[f].path);

					rc = fsck_need(&fk, su->files[f].hash,
					    what, &err);
					free(what);
				}
			}
			if (rc == 0)
				snap_release(&sn);
		}
		if (rc == 0)
			snap_list_free(ids, n);
	}
	/* Channels' own Release files. */
	for (i = 0; rc == 0 && i < cli->conf->nmirrors; i++) {
		const char *mname = cli->conf->mirrors[i].name;

		rc = channel_list(fk.t, mname, &ids, &n, &err);
		for (j = 0; rc == 0 && j < n; j++) {
			struct channel ch;

			rc = channel_get(fk.t, mname, ids[j], &ch, &err);
			for (k = 0; rc == 0 && k < ch.nsuites; k++) {
				size_t f;

				for (f = 0; rc == 0 &&
				    f < ch.suites[k].nfiles; f++) {
					char *what = xasprintf(
					    "channel %s/%s dists/%s/%s",
					    mname, ch.name, ch.suites[k].name,
					    ch.suites[k].files[f].path);

					rc = fsck_need(&fk,
					    ch.suites[k].files[f].hash, what,
					    &err);
					free(what);
				}
			}
			if (rc == 0)
				channel_free(&ch);
		}
		if (rc == 0)
			snap_list_free(ids, n);
	}
	if (rc == 0)
		rc = fsck_orphans(&fk, &orphans, &err);
	if (fk.t)
		store_txn_abort(fk.t);
	store_close(fk.s);
	if (rc) {
		log_error("fsck: %s", err.msg);
		return 1;
	}
	printf("%llu blobs (%.1f MiB) re-hashed, %llu references checked, "
	    "%llu unreferenced blob files, %llu problems\n",
	    (unsigned long long)fk.blobs,
	    (double)fk.bytes / 1048576.0, (unsigned long long)fk.refs,
	    (unsigned long long)orphans, (unsigned long long)fk.bad);
	return fk.bad ? 1 : 0;
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
	return cmd_fsck(cli);
}

int
run_index_parse(struct cli *cli, const struct args *a)
{
	return cmd_index_parse(a->argv[0]);
}
