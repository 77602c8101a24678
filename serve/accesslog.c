/*
 * accesslog.c: the access log (see accesslog.h), moved out of http.c.
 */
#include "mirrord/common.h"

#include <fcntl.h>
#include <unistd.h>

#include "serve/accesslog.h"
#include "serve/escape.h"

struct accesslog {
	int fd;
	bool own;		/* fd is ours: a file, not stderr */
};

/* The access log file, opened to append into *fd. */
static int
open_file(const char *path, int *fd, struct merr *err)
{
	*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (*fd < 0)
		return merr_errno(err, "cannot open access log '%s'", path);
	return 0;
}

int
accesslog_open(const char *path, struct accesslog **out, struct merr *err)
{
	struct accesslog *l;
	int fd = 2, rc;

	if (path != NULL && (rc = open_file(path, &fd, err)) != 0)
		return rc;
	l = xcalloc(1, sizeof(*l));
	l->fd = fd;
	l->own = path != NULL;
	*out = l;
	return 0;
}

void
accesslog_free(struct accesslog *l)
{
	if (l == NULL)
		return;
	if (l->own)
		close(l->fd);
	free(l);
}

int
accesslog_reopen(struct accesslog *l, const char *path, struct merr *err)
{
	int fd, rc = 0;

	if (!l->own || path == NULL)
		return 0;
	if ((rc = open_file(path, &fd, err)) != 0)
		return rc;
	/* Onto the same descriptor: a line written meanwhile goes whole
	 * to one file or the other. */
	if (dup3(fd, l->fd, O_CLOEXEC) < 0)
		rc = merr_errno(err, "cannot reopen access log '%s'", path);
	close(fd);
	return rc;
}

/*
 * The line's pieces, each of bounded length: the escaped method, URI
 * and version (escape_log() stops 8 bytes short of the end) leave room
 * for the rest, so these do not check.
 */
static size_t
append(char *line, size_t o, const char *s, size_t max)
{
	size_t len = strnlen(s, max);

	memcpy(line + o, s, len);
	return o + len;
}

static size_t
append_u64(char *line, size_t o, uint64_t v)
{
	char d[20];
	size_t n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		line[o++] = d[--n];
	return o;
}

int
accesslog_write(struct accesslog *l, struct accesslog_clock *clk,
    const struct accesslog_entry *e)
{
	/* At most: address and date 100, method and version 67 each (16
	 * bytes escaped), URI 4 * ACCESSLOG_URI_MAX + 3, the rest 40. */
	char line[ACCESSLOG_URI_MAX * 4 + 512];
	size_t o;
	ssize_t w;

	if (clk->sec != e->start || clk->date[0] == '\0') {
		respond_format_clf(e->start, clk->date);
		clk->sec = e->start;
	}
	o = append(line, 0, e->host, ACCESSLOG_HOST_MAX);
	o = append(line, o, " - - [", 8);
	o = append(line, o, clk->date, sizeof(clk->date));
	o = append(line, o, "] \"", 8);
	o += escape_log(line + o, sizeof(line) - o, e->method[0] ?
	    e->method : "-", ACCESSLOG_FIELD_MAX);
	line[o++] = ' ';
	o += escape_log(line + o, sizeof(line) - o, e->uri, ACCESSLOG_URI_MAX);
	line[o++] = ' ';
	o += escape_log(line + o, sizeof(line) - o, e->version[0] ?
	    e->version : "-", ACCESSLOG_FIELD_MAX);
	if (e->status) {
		o = append(line, o, "\" ", 8);
		o = append_u64(line, o, (uint64_t)e->status);
		line[o++] = ' ';
		o = append_u64(line, o, e->bytes);
		line[o++] = '\n';
	} else
		o = append(line, o, "\" - -\n", 8);
	do
		w = write(l->fd, line, o);
	while (w < 0 && errno == EINTR);
	if (w == (ssize_t)o)
		return 0;
	return w < 0 ? errno : ENOSPC;
}
