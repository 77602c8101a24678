/*
 * refwriter.c: the reference writer of bench/firstsync.sh, the floor a
 * first sync over file:// is measured against. Not part of mirrord.
 *
 *   refwriter LIST SRC DEST
 *
 * LIST has one line per blob, "SHA256 SIZE PATH", PATH relative to SRC
 * (an upstream archive's root). refwriter creates exactly the files a
 * store of format 2 holds for them, DEST/blobs/ab/<sha256> (ab: the
 * hash's first two hex digits), with the bytes read from SRC/PATH, and
 * calls syncfs() once at the end: the least a writer can do to leave the
 * same files durably on the same disk. It does not hash, verify, index or
 * fsync file by file; that is what the ratio against mirrord measures.
 * Exits 0, printing "files N bytes B", or 1 with a message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEXLEN 64

static void
die(const char *what, const char *arg)
{
	fprintf(stderr, "refwriter: %s '%s': %s\n", what, arg,
	    errno ? strerror(errno) : "bad input");
	exit(1);
}

/* Reads all of size bytes of fd into *buf (grown as needed). */
static void
read_all(int fd, const char *path, size_t size, char **buf, size_t *cap)
{
	size_t got = 0;
	ssize_t n;

	if (size > *cap) {
		*cap = size * 2;
		*buf = realloc(*buf, *cap);
		if (*buf == NULL)
			die("out of memory for", path);
	}
	while (got < size) {
		n = read(fd, *buf + got, size - got);
		if (n <= 0) {
			if (n == 0)
				errno = 0;
			die("cannot read", path);
		}
		got += (size_t)n;
	}
}

static void
write_all(int fd, const char *path, const char *buf, size_t size)
{
	ssize_t n;

	while (size > 0) {
		n = write(fd, buf, size);
		if (n < 0)
			die("cannot write", path);
		buf += n;
		size -= (size_t)n;
	}
}

/* DEST/blobs and its 256 fan-out directories, once. */
static int
make_dirs(const char *dest)
{
	char p[4096];
	int dfd, i;

	snprintf(p, sizeof(p), "%s/blobs", dest);
	if (mkdir(dest, 0755) != 0 && errno != EEXIST)
		die("cannot create", dest);
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		die("cannot create", p);
	dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die("cannot open", p);
	for (i = 0; i < 256; i++) {
		char d[3];

		snprintf(d, sizeof(d), "%02x", i);
		if (mkdirat(dfd, d, 0755) != 0 && errno != EEXIST)
			die("cannot create", d);
	}
	return dfd;
}

int
main(int argc, char **argv)
{
	char line[8192], rel[HEXLEN + 4], hex[HEXLEN + 1], path[8192];
	unsigned long long size, files = 0, bytes = 0;
	char *buf = NULL;
	size_t cap = 0;
	FILE *list;
	int src, blobs, in, out;

	if (argc != 4) {
		fprintf(stderr, "usage: refwriter LIST SRC DEST\n");
		return 2;
	}
	list = fopen(argv[1], "r");
	if (list == NULL)
		die("cannot open", argv[1]);
	src = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		die("cannot open", argv[2]);
	blobs = make_dirs(argv[3]);
	while (fgets(line, sizeof(line), list) != NULL) {
		errno = 0;
		if (sscanf(line, "%64s %llu %8191[^\n]", hex, &size, path) != 3 ||
		    strlen(hex) != HEXLEN)
			die("bad line in", argv[1]);
		in = openat(src, path, O_RDONLY | O_CLOEXEC);
		if (in < 0)
			die("cannot open", path);
		read_all(in, path, (size_t)size, &buf, &cap);
		close(in);
		snprintf(rel, sizeof(rel), "%.2s/%s", hex, hex);
		out = openat(blobs, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0644);
		if (out < 0)
			die("cannot create", rel);
		write_all(out, rel, buf, (size_t)size);
		if (close(out) != 0)
			die("cannot close", rel);
		files++;
		bytes += size;
	}
	if (ferror(list))
		die("cannot read", argv[1]);
	if (syncfs(blobs) != 0)
		die("cannot syncfs", argv[3]);
	printf("files %llu bytes %llu\n", files, bytes);
	free(buf);
	return 0;
}
