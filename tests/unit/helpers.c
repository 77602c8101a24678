/*
 * helpers.c: the temp directories of the unit tests (helpers.h). One copy
 * of what t_diff, t_gc, t_snap, t_status, t_store and t_conf each had.
 */
#include "mirrord/common.h"

#include <sys/stat.h>

#include <dirent.h>
#include <ftw.h>

#include "helpers.h"

static int
helpers_rm_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	return remove(path);
}

void
helpers_rm_rf(const char *path)
{
	nftw(path, helpers_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
helpers_tmpdir_new(const char *name)
{
	char *templ = xasprintf("/tmp/%s.XXXXXX", name);
	char *dir = NULL;

	if (mkdtemp(templ) == NULL) {
		printf("# mkdtemp: '%s': %s\n", templ, strerror(errno));
		free(templ);
		return NULL;
	}
	/* The real path: t_conf compares it with paths the config resolved. */
	dir = realpath(templ, NULL);
	if (dir == NULL) {
		printf("# realpath: '%s': %s\n", templ, strerror(errno));
		helpers_rm_rf(templ);
	}
	free(templ);
	return dir;
}

void
helpers_tmpdir_free(char *dir)
{
	if (dir == NULL)
		return;
	helpers_rm_rf(dir);
	free(dir);
}

int
helpers_count_dir(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}
