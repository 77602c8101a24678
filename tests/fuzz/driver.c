/*
 * driver.c: runs a fuzz target without libFuzzer, for `make check`.
 *
 *	fuzz_<target> DIR|FILE...
 *
 * Feeds every regular file named, or found (not recursively) in each
 * directory named, to LLVMFuzzerTestOneInput(), once, in name order. A
 * violated invariant aborts and a memory error stops the program under
 * ASan, so a zero exit means every input passed. Built with gcc and
 * -fsanitize=address,undefined by tests/fuzz/run.sh --regress.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <dirent.h>

#include "tests/fuzz/fuzz.h"

/* Targets without one-time set-up do not define it. */
#pragma weak LLVMFuzzerInitialize

static int
driver_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs the target on one file; returns 0, or -1 if it cannot be read. */
static int
driver_one(const char *path)
{
	struct merr err;
	char *data;
	size_t len;
	uint8_t *copy;

	if (read_file(path, 16u << 20, &data, &len, &err) != 0) {
		fprintf(stderr, "driver: %s\n", err.msg);
		return -1;
	}
	/* An exact-size copy, as libFuzzer gives: ASan sees overreads. */
	copy = xmalloc(len ? len : 1);
	memcpy(copy, data, len);
	free(data);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	return 0;
}

static int
driver_dir(const char *dir, size_t *count)
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL) {
		/* A target need not have regressions yet. */
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "driver: cannot open '%s': %s\n", dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			names = xreallocarray(names, n + 1, sizeof(*names));
			names[n++] = p;
		} else {
			free(p);
		}
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), driver_cmp);
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			if (driver_one(names[i]) != 0)
				rc = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	int i, rc = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (driver_one(argv[i]) != 0)
				rc = 1;
			else
				count++;
		} else if (driver_dir(argv[i], &count) != 0) {
			rc = 1;
		}
	}
	printf("%s: %zu inputs\n", argv[0], count);
	return rc;
}
