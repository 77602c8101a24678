/*
 * util.c: errors, allocation, buffers and small file helpers.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <libgen.h>
#include <time.h>
#include <unistd.h>

#include "mirrord/fault.h"
#include "mirrord/util.h"

static void
merr_vset(struct merr *err, int code, const char *fmt, va_list ap)
{
	if (err == NULL)
		return;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int
merr_set(struct merr *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	merr_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int
merr_prefix(struct merr *err, const char *fmt, ...)
{
	char pre[512], old[sizeof(err->msg)];
	va_list ap;

	if (err == NULL)
		return MERR_IO;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	{
		size_t n = strnlen(pre, sizeof(pre));

		if (n >= sizeof(err->msg))
			n = sizeof(err->msg) - 1;
		memcpy(err->msg, pre, n);
		memcpy(err->msg + n, old, sizeof(err->msg) - n - 1);
		err->msg[sizeof(err->msg) - 1] = '\0';
	}
	return err->code;
}

int
merr_errno(struct merr *err, const char *fmt, ...)
{
	char what[768];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return merr_set(err, MERR_IO, "%s: %s", what, strerror(saved));
}

void
util_oom(void)
{
	fputs("mirrord: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		util_oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		util_oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		util_oom();
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		util_oom();
	return xrealloc(p, n * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char *
xasprintf(const char *fmt, ...)
{
	char *p;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (rc < 0)
		util_oom();
	return p;
}

void
buf_init(struct buf *b)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_release(struct buf *b)
{
	free(b->p);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void
buf_grow(struct buf *b, size_t extra)
{
	size_t want;

	if (extra > SIZE_MAX - b->len - 1)
		util_oom();
	want = b->len + extra + 1;
	if (want <= b->cap)
		return;
	if (b->cap > SIZE_MAX / 2)
		util_oom();
	b->cap = b->cap ? b->cap * 2 : 64;
	if (b->cap < want)
		b->cap = want;
	b->p = xrealloc(b->p, b->cap);
}

void
buf_add(struct buf *b, const void *data, size_t len)
{
	buf_grow(b, len);
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	buf_grow(b, 64);
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->p[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		buf_grow(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

char *
buf_detach(struct buf *b, size_t *len)
{
	char *p;

	buf_grow(b, 0);
	b->p[b->len] = '\0';
	p = b->p;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}

bool
str_ieq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (y == '\0')
			return false;
		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return b[alen] == '\0';
}

bool
str_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
str_endswith(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool
text_next_line(const char **p, const char *end, char *out, size_t n)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t len;

	if (nl == NULL)
		return false;
	len = (size_t)(nl - *p);
	if (len >= n)
		len = n - 1;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p = nl + 1;
	return true;
}

int
parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return MERR_PARSE;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return MERR_PARSE;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return MERR_PARSE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
read_file(const char *path, size_t max, char **out, size_t *outlen,
    struct merr *err)
{
	struct buf b = BUF_INIT;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return merr_errno(err, "cannot open '%s'", path);
	for (;;) {
		buf_grow(&b, 65536);
		n = read(fd, b.p + b.len, 65536);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			merr_errno(err, "cannot read '%s'", path);
			goto fail;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		if (b.len > max) {
			merr_set(err, MERR_LIMIT, "'%s' is larger than %zu bytes",
			    path, max);
			goto fail;
		}
	}
	close(fd);
	*out = buf_detach(&b, outlen);
	return 0;
fail:
	close(fd);
	buf_release(&b);
	return err ? err->code : MERR_IO;
}

static int
fsync_dir_of(const char *path, struct merr *err)
{
	char *copy = xstrdup(path);
	int fd, rc = 0;

	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = merr_errno(err, "cannot sync directory of '%s'", path);
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

/*
 * The bytes go first into an unnamed file of path's directory (O_TMPFILE).
 * Once written and flushed it is linked at path itself if path does not
 * exist yet, else at the temp name just before the rename: a process
 * killed while writing or flushing leaves no temp file behind (it would
 * stay forever: nothing cleans these directories, and the signing key's
 * would hold a copy of the secret key). Where O_TMPFILE or /proc is
 * missing, a named temp file from the start, as before.
 */
static int
write_file_tmpfile(const char *path, int mode)
{
	char *copy;
	int fd;

	if (access("/proc/self/fd", X_OK) < 0)
		return -1;	/* no way to link it later */
	copy = xstrdup(path);
	fd = open(dirname(copy), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	free(copy);
	return fd;
}

static int
write_file_link(int fd, const char *path, const char *tmp, bool *done)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	*done = linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0;
	if (*done)
		return 0;	/* a new file: no temp name, no rename */
	if (errno != EEXIST)
		return -1;
	if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	/* Left by an earlier process with our pid. */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return -1;
	return linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW);
}

int
write_file_atomic(const char *path, const void *data, size_t len, int mode,
    struct merr *err)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	const char *p = data;
	bool unnamed = true, linked = false;
	int fd, rc = 0;

	fd = write_file_tmpfile(path, mode);
	if (fd < 0) {
		unnamed = false;
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	}
	if (fd < 0) {
		rc = merr_errno(err, "cannot create '%s'", tmp);
		free(tmp);
		return rc;
	}
	while (len > 0) {
		ssize_t n = fault_fail("write") < 0 ? -1 : write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = merr_errno(err, "cannot write '%s'", tmp);
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fault_fail("fsync") < 0 || fsync(fd) < 0) {
		rc = merr_errno(err, "cannot sync '%s'", tmp);
		goto out;
	}
	if (unnamed && write_file_link(fd, path, tmp, &linked) < 0) {
		rc = merr_errno(err, "cannot create '%s'", tmp);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = merr_errno(err, "cannot close '%s'", tmp);
		goto out;
	}
	fd = -1;
	if (!linked &&
	    (fault_fail("rename") < 0 || rename(tmp, path) < 0)) {
		rc = merr_errno(err, "cannot rename '%s' to '%s'", tmp, path);
		goto out;
	}
	rc = fsync_dir_of(path, err);
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

int
mkdir_p(const char *path, int mode, struct merr *err)
{
	char *p = xstrdup(path), *s;
	int rc = 0;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
			rc = merr_errno(err, "cannot create directory '%s'", p);
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
