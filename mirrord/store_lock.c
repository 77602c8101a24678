/*
 * store_lock.c: the store's two flock locks, the writer lock and the
 * channel lock (store.h says who takes which, and for how long).
 *
 * Each lock file holds "pid what" of its holder, so that a process that
 * finds it busy can say who holds it.
 */
#include "mirrord/common.h"

#include <sys/file.h>

#include <fcntl.h>
#include <unistd.h>

#include "mirrord/store_int.h"

/* Longest holder text we read back from the lock file. */
#define LOCK_TEXT_MAX	256

/*
 * Describes the holder of lock file fd from its "pid what" text: "<which>
 * '<store>' is (are: plural which) locked by ...".
 */
static int
lock_busy(struct store *s, const char *which, bool are, int fd,
    struct merr *err)
{
	char text[LOCK_TEXT_MAX + 1], *sp, *nl;
	uint64_t pid;
	ssize_t n;

	do
		n = pread(fd, text, LOCK_TEXT_MAX, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = 0;
	text[n] = '\0';
	if ((nl = strchr(text, '\n')) != NULL)
		*nl = '\0';
	sp = strchr(text, ' ');
	/* The holder may not have written its name yet. */
	if (sp == NULL || parse_u64(text, (size_t)(sp - text), INT32_MAX,
	    &pid) != 0)
		return merr_set(err, MERR_BUSY, "%s '%s' %s locked by "
		    "another process", which, s->dir, are ? "are" : "is");
	return merr_set(err, MERR_BUSY, "%s '%s' %s locked by pid %llu "
	    "(%s)", which, s->dir, are ? "are" : "is",
	    (unsigned long long)pid, sp + 1);
}

/*
 * Takes the flock on <store>/name into *fdp and writes "pid what" into
 * the file; which names the lock in messages.
 */
static int
lock_take(struct store *s, const char *name, const char *which, int *fdp,
    const char *what, bool wait, struct merr *err)
{
	char *path, *text;
	size_t len;
	ssize_t n;
	int fd, rc;

	if (*fdp >= 0)
		return merr_set(err, MERR_BUSY, "%s '%s' %s already "
		    "locked by this process", which, s->dir,
		    fdp == &s->chan_fd ? "are" : "is");
	path = xasprintf("%s/%s", s->dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = merr_errno(err, "cannot open '%s'", path);
		free(path);
		return rc;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			rc = merr_errno(err, "cannot lock '%s'", path);
			goto fail;
		}
		if (!wait) {
			rc = lock_busy(s, which, fdp == &s->chan_fd, fd,
			    err);
			goto fail;
		}
		/* The caller logged the holder; now we block. */
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				rc = merr_errno(err, "cannot lock '%s'", path);
				goto fail;
			}
		}
	}
	text = xasprintf("%ld %s\n", (long)getpid(), what);
	len = strlen(text);
	if (ftruncate(fd, 0) < 0) {
		rc = merr_errno(err, "cannot truncate '%s'", path);
		free(text);
		goto fail;
	}
	do
		n = pwrite(fd, text, len, 0);
	while (n < 0 && errno == EINTR);
	free(text);
	if (n < 0 || (size_t)n != len) {
		if (n >= 0)
			errno = EIO;
		rc = merr_errno(err, "cannot write '%s'", path);
		goto fail;
	}
	free(path);
	*fdp = fd;
	return 0;
fail:
	close(fd);	/* releases the flock if we took it */
	free(path);
	return rc;
}

static void
lock_drop(int *fdp)
{
	if (*fdp < 0)
		return;
	/*
	 * Clear the holder text while still holding the lock; the file stays
	 * (unlinking a flock'ed file races with the next opener).
	 */
	if (ftruncate(*fdp, 0) < 0) {
		/* Harmless: the next holder truncates it. */
	}
	close(*fdp);
	*fdp = -1;
}

int
store_lock(struct store *s, const char *what, bool wait, struct merr *err)
{
	return lock_take(s, "lock", "store", &s->lock_fd, what, wait, err);
}

void
store_unlock(struct store *s)
{
	lock_drop(&s->lock_fd);
}

int
store_lock_channels(struct store *s, const char *what, bool wait,
    struct merr *err)
{
	return lock_take(s, "lock.channels", "channels of store",
	    &s->chan_fd, what, wait, err);
}

void
store_unlock_channels(struct store *s)
{
	lock_drop(&s->chan_fd);
}
