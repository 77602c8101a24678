/*
 * blob.c: blob files: their paths, writing one (a temp file in tmp/,
 * hashed as it is written, checked, renamed into place), adopting one a
 * crash left unlisted, the tmp/ cleanup, and the walk over blobs/.
 *
 * Blob writes are the hot path of a sync (tens of thousands per run), so
 * they cost as few system calls as we can manage: mkostemp, fchmod, the
 * writes, close, rename (plus a mkdir the first time a fan-out directory
 * is needed). Nothing is fsync'ed per file; store_sync() is the one
 * barrier before the LMDB commit that names the new blobs.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <unistd.h>

#include "mirrord/fault.h"
#include "mirrord/hash.h"
#include "mirrord/store_int.h"

/*
 * A blob's path in one layout: format 2's blobs/ab/<hex> (old false) or
 * format 1's blobs/ab/cd/<hex> (old true). Owned.
 */
static char *
blob_path_in(const struct store *s, const unsigned char h[HASH_LEN], bool old)
{
	char hex[HASH_HEX_LEN + 1];

	hash_to_hex(h, hex);
	if (old)
		return xasprintf("%s/blobs/%.2s/%.2s/%s", s->dir, hex, hex + 2,
		    hex);
	return xasprintf("%s/blobs/%.2s/%s", s->dir, hex, hex);
}

char *
store_blob_path(const struct store *s, const unsigned char h[HASH_LEN])
{
	return blob_path_in(s, h, s->legacy);
}

/*
 * Opens blob h read-only where it is: blobs/ab/<h>, else blobs/ab/cd/<h>,
 * else blobs/ab/<h> again. An upgrade moves each file once, from the old
 * name to the new, atomically: so a file that exists throughout is found
 * by one of the three tries, whichever moment the move falls in.
 * *path gets the name tried last (owned). Returns the fd or -1 (errno).
 */
static int
blob_open_any(const struct store *s, const unsigned char h[HASH_LEN],
    char **path)
{
	int fd = -1, i;

	*path = NULL;
	for (i = 0; i < 3; i++) {
		free(*path);
		*path = blob_path_in(s, h, i == 1);
		fd = open(*path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
	}
	return fd;
}

char *
store_blob_find(const struct store *s, const unsigned char h[HASH_LEN])
{
	char *path;
	int fd = blob_open_any(s, h, &path);

	if (fd >= 0) {
		close(fd);
		return path;
	}
	free(path);
	return store_blob_path(s, h);
}

/* store_blob_open, with the S3 read-through if fill. */
static int
blob_open(const struct store *s, const unsigned char h[HASH_LEN], bool fill,
    struct merr *err)
{
	char hex[HASH_HEX_LEN + 1];
	char *path;
	int fd, rc;

	fd = blob_open_any(s, h, &path);
	if (fd < 0 && errno == ENOENT && fill && s->s3 != NULL) {
		/* Not cached: from the bucket, then as if it had been. */
		free(path);
		rc = store_s3_fill(s, h, err);
		if (rc)
			return rc;
		fd = blob_open_any(s, h, &path);
	}
	if (fd >= 0)
		store_s3_touch(s, fd);
	else {
		if (errno == ENOENT) {
			hash_to_hex(h, hex);
			fd = merr_set(err, MERR_NOTFOUND, "blob '%s' is not in "
			    "store '%s'", hex, s->dir);
		} else
			fd = merr_errno(err, "cannot open '%s'", path);
	}
	free(path);
	return fd;
}

int
store_blob_open(const struct store *s, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	return blob_open(s, h, true, err);
}

int
store_blob_open_cached(const struct store *s, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	return blob_open(s, h, false, err);
}

int
store_blob_unlink(const struct store *s, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	int i, rc = 0;

	/* Both layouts: a format 1 store mid-upgrade may hold either. */
	for (i = 0; i < 2 && rc == 0; i++) {
		char *path = blob_path_in(s, h, i == 1);

		if (unlink(path) < 0 && errno != ENOENT)
			rc = merr_errno(err, "cannot remove '%s'", path);
		free(path);
	}
	return rc;
}

/* Back to the released state: no fd, no temp file, no hash context. */
static void
blob_writer_release(struct blob_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	free(w->tmp_path);
	w->tmp_path = NULL;
	free(w->mem);
	w->mem = NULL;
	hash_release(&w->hash);
}

void
store_blob_begin_behind(struct store *s, uint64_t cap, struct blob_batch *bb,
    struct blob_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->store = s;
	w->fd = -1;
	w->cap = cap;
	w->batch = bb;
	w->mem = store_behind_item_new(cap);
	hash_init(&w->hash);
}

int
store_blob_begin(struct store *s, uint64_t cap, struct blob_writer *w,
    struct merr *err)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->store = s;
	w->cap = cap;
	/*
	 * "tmp/<pid>.<n>": unique among live writers (pids differ; a
	 * process's counter never repeats; store_clean_tmp() keeps the
	 * files of other live pids), and created 0644 in one call,
	 * as blobs are public archive content that a serve process running
	 * as another user reads. tmp/ itself is 0700, so nothing is
	 * readable before it is verified. Leftovers of killed writers are
	 * removed by store_clean_tmp(); a name they left is skipped.
	 */
	for (;;) {
		w->tmp_path = xasprintf("%s/tmp/%ld.%lu", s->dir,
		    (long)getpid(), atomic_fetch_add(&s->tmp_seq, 1));
		w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0644);
		if (w->fd >= 0 || errno != EEXIST)
			break;
		free(w->tmp_path);
	}
	if (w->fd < 0) {
		rc = merr_errno(err, "cannot create a temporary file in "
		    "'%s/tmp'", s->dir);
		blob_writer_release(w);
		return rc;
	}
	hash_init(&w->hash);
	return 0;
}

int
store_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = fault_fail("write") < 0 ? -1 : write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
store_blob_write(struct blob_writer *w, const void *data, size_t len,
    struct merr *err)
{
	if (w->fd < 0 && w->mem == NULL)
		return merr_set(err, MERR_INVAL, "blob writer is not open");
	if (len > w->cap || w->size > w->cap - len)
		return merr_set(err, MERR_LIMIT, "more than %llu bytes",
		    (unsigned long long)w->cap);
	if (w->mem != NULL)
		memcpy((char *)store_behind_item_data(w->mem) + w->size, data,
		    len);
	else if (store_write_all(w->fd, data, len) < 0)
		return merr_errno(err, "cannot write '%s'", w->tmp_path);
	hash_update(&w->hash, data, len);
	w->size += len;
	return 0;
}

int
store_blob_rewind(struct blob_writer *w, struct merr *err)
{
	if (w->mem == NULL) {	/* in memory, the size alone says */
		if (ftruncate(w->fd, 0) < 0)
			return merr_errno(err, "cannot truncate '%s'",
			    w->tmp_path);
		if (lseek(w->fd, 0, SEEK_SET) < 0)
			return merr_errno(err, "cannot seek '%s'",
			    w->tmp_path);
	}
	hash_release(&w->hash);
	hash_init(&w->hash);
	w->size = 0;
	return 0;
}

/*
 * Renames the temp file to its blob path. The fan-out directory is made
 * on demand: the rename is tried first (the common case once a store is
 * warm), then the directory (and, for format 1's two levels, its parent).
 */
static int
store_blob_place(struct blob_writer *w, const unsigned char h[HASH_LEN],
    struct merr *err)
{
	char *path = store_blob_path(w->store, h);
	char *leaf = strrchr(path, '/'), *up = NULL;
	int rc = 0;

	if (fault_fail("rename") == 0 && rename(w->tmp_path, path) == 0)
		goto out;
	if (errno != ENOENT) {
		rc = merr_errno(err, "cannot rename '%s' to '%s'",
		    w->tmp_path, path);
		goto out;
	}
	*leaf = '\0';				/* .../blobs/ab[/cd] */
	if (mkdir(path, 0755) < 0) {
		if (errno == ENOENT && w->store->legacy) {
			up = strrchr(path, '/');	/* .../blobs/ab first */
			*up = '\0';
			rc = store_mkdir(path, 0755, err);
			*up = '/';
			if (rc == 0)
				rc = store_mkdir(path, 0755, err);
		} else if (errno != EEXIST)
			rc = merr_errno(err, "cannot create directory '%s'",
			    path);
		if (rc)
			goto out;
	}
	*leaf = '/';
	if (rename(w->tmp_path, path) < 0)
		rc = merr_errno(err, "cannot rename '%s' to '%s'",
		    w->tmp_path, path);
out:
	free(path);
	return rc;
}

int
store_prepare_dirs(struct store *s, const unsigned char (*h)[HASH_LEN],
    size_t n, struct merr *err)
{
	char *path = store_blob_path(s, h[0]);
	size_t len = strlen(path) - HASH_HEX_LEN - 1, top_len, i;
	unsigned char *made = xcalloc(65536 / 8, 1), *top = xcalloc(256, 1);
	int rc = 0;

	/* .../blobs/ab, or format 1's .../blobs/ab/cd. */
	top_len = s->legacy ? len - 3 : len;
	for (i = 0; i < n && rc == 0; i++) {
		unsigned leaf = (unsigned)h[i][0] << 8 | h[i][1];
		char hex[HASH_HEX_LEN + 1];

		hash_to_hex(h[i], hex);
		/* Patch the fan-out names in place. */
		memcpy(path + top_len - 2, hex, 2);
		if (!top[h[i][0]]) {
			path[top_len] = '\0';
			rc = store_mkdir(path, 0755, err);
			path[top_len] = '/';
			top[h[i][0]] = 1;
		}
		if (rc || !s->legacy ||
		    (made[leaf / 8] & (1u << (leaf % 8))))
			continue;
		made[leaf / 8] |= (unsigned char)(1u << (leaf % 8));
		memcpy(path + len - 2, hex + 2, 2);
		path[len] = '\0';
		rc = store_mkdir(path, 0755, err);
		path[len] = '/';
	}
	free(made);
	free(top);
	free(path);
	return rc;
}

int
store_blob_finish(struct blob_writer *w, const unsigned char want[HASH_LEN],
    uint64_t want_size, struct merr *err)
{
	unsigned char got[HASH_LEN];
	char ghex[HASH_HEX_LEN + 1], whex[HASH_HEX_LEN + 1];
	int rc;

	if (w->size != want_size) {
		rc = merr_set(err, MERR_VERIFY, "size mismatch: got %llu, "
		    "expected %llu", (unsigned long long)w->size,
		    (unsigned long long)want_size);
		goto fail;
	}
	hash_final(&w->hash, got);
	if (memcmp(got, want, HASH_LEN) != 0) {
		hash_to_hex(got, ghex);
		hash_to_hex(want, whex);
		rc = merr_set(err, MERR_VERIFY, "sha256 mismatch: got %s, "
		    "expected %s", ghex, whex);
		goto fail;
	}
	if (w->mem != NULL) {
		/* Verified: its file is written behind (blob_behind.c). */
		store_behind_queue(w->store, w->batch, w->mem, want, w->size);
		w->mem = NULL;
		blob_writer_release(w);
		return 0;
	}
	rc = close(w->fd);
	w->fd = -1;
	if (rc < 0) {
		rc = merr_errno(err, "cannot close '%s'", w->tmp_path);
		goto fail;
	}
	rc = store_blob_place(w, want, err);
	if (rc)
		goto fail;
	blob_writer_release(w);	/* the temp name is now the blob's */
	store_s3_queue(w->store, want);
	return 0;
fail:
	store_blob_abort(w);
	return rc;
}

void
store_blob_abort(struct blob_writer *w)
{
	if (w->tmp_path)
		unlink(w->tmp_path);
	blob_writer_release(w);
}

int
store_blob_adopt(struct store *s, const unsigned char h[HASH_LEN],
    uint64_t size, bool *ok, struct merr *err)
{
	unsigned char got[HASH_LEN];
	char *path;
	struct stat st;
	uint64_t got_size;
	int fd, rc = 0;

	*ok = false;
	fd = blob_open_any(s, h, &path);
	if (fd < 0) {
		if (errno != ENOENT)
			rc = merr_errno(err, "cannot open '%s'", path);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = merr_errno(err, "cannot stat '%s'", path);
		goto out;
	}
	/* A wrong size needs no hashing. */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size == size) {
		rc = hash_fd(fd, got, &got_size, err);
		if (rc) {
			merr_prefix(err, "'%s': ", path);
			goto out;
		}
		*ok = got_size == size && memcmp(got, h, HASH_LEN) == 0;
	}
	if (!*ok && unlink(path) < 0 && errno != ENOENT)
		rc = merr_errno(err, "cannot remove '%s'", path);
	if (*ok && s->write)
		store_s3_queue(s, h);	/* a crash may have beaten its upload */
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

static int
clean_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 &&
	    errno != ENOENT ? -1 : 0;
}

/*
 * The pid that owns tmp/ entry name ("<pid>.<n>", a blob being written,
 * or "mirrord-gpg.<pid>.XXXXXX", a verifier's GnuPG home), or 0.
 */
static pid_t
tmp_owner(const char *name)
{
	static const char gpg[] = "mirrord-gpg.";
	const char *dot;
	uint64_t pid;

	if (strncmp(name, gpg, sizeof(gpg) - 1) == 0)
		name += sizeof(gpg) - 1;
	dot = strchr(name, '.');
	if (dot == NULL || parse_u64(name, (size_t)(dot - name), INT32_MAX,
	    &pid) != 0)
		return 0;
	return (pid_t)pid;
}

/*
 * True if tmp/ entry name belongs to a live process: a sync, gc or
 * channel move running beside us (they no longer exclude each other), or
 * this one, whose other threads write blobs meanwhile (the daemon's
 * server fetching on-demand pool files while a sync begins); a writer
 * removes its own temp file when it ends, whatever happened. kill(0)
 * fails with EPERM for a live process of another user.
 */
static bool
tmp_live(const char *name)
{
	pid_t pid = tmp_owner(name);

	if (pid <= 0)
		return false;
	if (pid == getpid())
		return true;
	return kill(pid, 0) == 0 || errno == EPERM;
}

int
store_clean_tmp(struct store *s, struct merr *err)
{
	char *path = xasprintf("%s/tmp", s->dir);
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = opendir(path);
	if (d == NULL) {
		rc = merr_errno(err, "cannot open '%s'", path);
		free(path);
		return rc;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0)
				rc = merr_errno(err, "cannot read '%s'", path);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 || tmp_live(de->d_name))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		/* A killed verifier's GnuPG home: a small tree. */
		if (errno == EISDIR) {
			char *sub = xasprintf("%s/%s", path, de->d_name);
			int r = nftw(sub, clean_one, 8, FTW_DEPTH | FTW_PHYS);

			free(sub);
			if (r == 0)
				continue;
		}
		rc = merr_errno(err, "cannot remove '%s/%s'", path,
		    de->d_name);
		break;
	}
	closedir(d);
	free(path);
	return rc;
}

int
store_put_mem(struct store *s, const void *data, size_t len,
    unsigned char h[HASH_LEN], struct merr *err)
{
	struct blob_writer w;
	bool ok;
	int rc;

	hash_buf(data, len, h);
	/* An adopted file is queued for upload as a written one is. */
	rc = store_blob_adopt(s, h, len, &ok, err);
	if (rc || ok)
		return rc;
	rc = store_blob_begin(s, len, &w, err);
	if (rc)
		return rc;
	rc = store_blob_write(&w, data, len, err);
	if (rc) {
		store_blob_abort(&w);
		return rc;
	}
	return store_blob_finish(&w, h, len, err);
}

/* A fan-out directory's name: two lowercase hex digits. */
static bool
fanout_name(const char *name)
{
	return strlen(name) == 2 && strspn(name, "0123456789abcdef") == 2;
}

/* Whether the walk looks at name: strict, a fan-out name; else any. */
static bool
walk_wants_dir(const struct store_blob_walk *w, const char *name)
{
	return w->strict ? fanout_name(name) : name[0] != '.';
}

/*
 * The next entry of d into *e (NULL at the end). A read error ends a
 * strict walk with an error; a loose one stops reading d.
 */
static int
walk_next(const struct store_blob_walk *w, DIR *d, const char *path,
    struct dirent **e, struct merr *err)
{
	errno = 0;
	*e = readdir(d);
	if (*e == NULL && errno != 0 && w->strict)
		return merr_errno(err, "cannot read '%s'", path);
	return 0;
}

/*
 * One fan-out directory (fd, taken): blobs/ab (prefix "ab") or a format 1
 * blobs/ab/cd (prefix "abcd"). Each entry to w->file, with its hash if its
 * name is one; in blobs/ab, names of two hex digits are left out and
 * *subs set: format 1's directories, walked after this one. A callback's
 * STORE_WALK_AGAIN reads the directory again from its start.
 */
static int
walk_leaf(const struct store_blob_walk *w, int fd, const char *path,
    const char *prefix, bool *subs, struct merr *err)
{
	size_t plen = strlen(prefix);
	struct dirent *e;
	DIR *d;
	int rc;

	rc = w->dir_begin ? w->dir_begin(w->ctx, path, fd, err) : 0;
	if (rc) {
		close(fd);
		return rc == STORE_WALK_SKIP ? 0 : rc;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		rc = w->strict ? merr_errno(err, "cannot read '%s'", path) : 0;
		close(fd);
		goto out;
	}
	while ((rc = walk_next(w, d, path, &e, err)) == 0 && e != NULL) {
		unsigned char h[HASH_LEN];
		bool named;

		if (e->d_name[0] == '.')
			continue;
		if (subs != NULL && fanout_name(e->d_name)) {
			*subs = true;
			continue;
		}
		named = hash_from_hex(e->d_name, strlen(e->d_name), h) == 0;
		if (w->strict && (!named ||
		    strncmp(e->d_name, prefix, plen) != 0))
			continue;
		rc = w->file(w->ctx, path, dirfd(d), e->d_name,
		    named ? h : NULL, err);
		if (rc == STORE_WALK_AGAIN)
			rewinddir(d);
		else if (rc)
			break;
	}
	closedir(d);
out:
	if (w->dir_end)
		w->dir_end(w->ctx, path);
	return rc;
}

/*
 * The format 1 directories blobs/ab/cd left in blobs/ab (path), by a
 * store not yet upgraded or an upgrade a kill interrupted. A non-strict
 * walk passes a two-digit name that is not a directory as a file.
 */
static int
walk_subs(const struct store_blob_walk *w, const char *path, const char *ab,
    struct merr *err)
{
	struct dirent *e;
	DIR *d;
	int rc;

	d = opendir(path);
	if (d == NULL)
		return w->strict ? merr_errno(err, "cannot open '%s'", path) :
		    0;
	while ((rc = walk_next(w, d, path, &e, err)) == 0 && e != NULL) {
		char prefix[5], *sub;
		int fd;

		if (!fanout_name(e->d_name))
			continue;
		snprintf(prefix, sizeof(prefix), "%.2s%.2s", ab, e->d_name);
		sub = xasprintf("%s/%s", path, e->d_name);
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0)
			rc = walk_leaf(w, fd, sub, prefix, NULL, err);
		else if (errno == ENOENT)
			rc = 0;		/* an upgrade removed it */
		else if (w->strict)
			rc = errno == ENOTDIR ? 0 : merr_errno(err,
			    "cannot open '%s'", sub);
		else
			rc = w->file(w->ctx, path, dirfd(d), e->d_name, NULL,
			    err);
		free(sub);
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

/* One top directory blobs/ab (path): its files, then format 1's subs. */
static int
walk_top(const struct store_blob_walk *w, int dfd, const char *path,
    const char *ab, struct merr *err)
{
	bool subs = false;
	int fd, rc;

	fd = openat(dfd, ab, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    (w->strict ? O_NOFOLLOW : 0));
	if (fd < 0)
		return w->strict ? merr_errno(err, "cannot open '%s'", path) :
		    0;
	rc = walk_leaf(w, fd, path, ab, &subs, err);
	if (rc == 0 && subs)
		rc = walk_subs(w, path, ab, err);
	return rc;
}

int
store_blob_walk(struct store *s, const struct store_blob_walk *w,
    struct merr *err)
{
	char *top = xasprintf("%s/blobs", s->dir);
	struct dirent *e;
	DIR *d;
	int rc = 0;

	d = opendir(top);
	if (d == NULL) {
		rc = w->strict ? merr_errno(err, "cannot open '%s'", top) : 0;
		free(top);
		return rc;
	}
	while ((rc = walk_next(w, d, top, &e, err)) == 0 && e != NULL) {
		char *sub;

		if (!walk_wants_dir(w, e->d_name))
			continue;
		sub = xasprintf("%s/%s", top, e->d_name);
		rc = walk_top(w, dirfd(d), sub, e->d_name, err);
		free(sub);
		if (rc)
			break;
	}
	closedir(d);
	free(top);
	return rc;
}
