/*
 * gpgtest.h: the fixtures t_gpg.c and t_gpgsign.c share: a test directory
 * root (each test makes it with mkdtemp()), the gpg command line in
 * private homes under it, a Release file to sign, files in and out of
 * root, and a watch on the processes gpg leaves. Header-only (static
 * inline), so that each test links it without a Makefile rule.
 */
#ifndef TESTS_UNIT_GPGTEST_H
#define TESTS_UNIT_GPGTEST_H

#include "mirrord/common.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <ftw.h>
#include <unistd.h>

#include "mirrord/gpg.h"

static const char release[] =
    "Origin: Test\n"
    "Label: Test\n"
    "Suite: stable\n"
    "Codename: test\n"
    "Date: Sat, 01 Jun 2024 12:00:00 UTC\n"
    "Architectures: amd64\n"
    "Components: main\n"
    "SHA256:\n"
    " 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 1234 "
    "main/binary-amd64/Packages\n"
    "- a line that gpg must dash-escape\n"
    "-----x\n";

static char root[64];

/* Runs a shell command built from test-controlled paths; 0 on success. */
static inline int ATTR_PRINTF(1, 2)
run(const char *fmt, ...)
{
	char *cmd, *full;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	full = xasprintf("{ %s; } >/dev/null 2>&1", cmd);
	rc = system(full);
	free(full);
	free(cmd);
	return rc;
}

/* gpg with a private home, no prompts; extra options follow. */
#define GPG "gpg --batch --no-tty --homedir %s/%s --pinentry-mode loopback " \
	"--passphrase ''"

/* Primary key fingerprint of the first key in home. */
static inline void
fingerprint(const char *home, char out[GPG_FPR_LEN + 1])
{
	char *cmd = xasprintf("gpg --batch --homedir %s/%s --with-colons "
	    "--list-keys 2>/dev/null", root, home);
	char line[512];
	FILE *p = popen(cmd, "r");

	out[0] = '\0';
	while (p != NULL && fgets(line, sizeof(line), p) != NULL) {
		if (out[0] == '\0' && strncmp(line, "fpr:", 4) == 0) {
			char *f = line + 4;
			int i;

			for (i = 0; i < 8 && f != NULL; i++)
				f = strchr(f, ':') ? strchr(f, ':') + 1 : NULL;
			if (f != NULL && strlen(f) > GPG_FPR_LEN) {
				memcpy(out, f, GPG_FPR_LEN);
				out[GPG_FPR_LEN] = '\0';
			}
		}
	}
	if (p != NULL)
		pclose(p);
	free(cmd);
}

static inline char *
path_of(const char *name)
{
	return xasprintf("%s/%s", root, name);
}

/* Reads root/name; returns owned contents, or NULL. */
static inline char *
slurp(const char *name, size_t *len)
{
	struct merr err;
	char *p = path_of(name), *data = NULL;

	if (read_file(p, 1 << 20, &data, len, &err) != 0) {
		printf("# %s\n", err.msg);
		data = NULL;
	}
	free(p);
	return data;
}

static inline void
spit(const char *name, const char *data, size_t len)
{
	struct merr err;
	char *p = path_of(name);

	if (write_file_atomic(p, data, len, 0600, &err) != 0)
		printf("# %s\n", err.msg);
	free(p);
}

/* Number of processes other than us whose command line contains s. */
static inline int
procs_matching_now(const char *s, bool show)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d != NULL && (de = readdir(d)) != NULL) {
		char path[300], cmd[4096];
		size_t len, i;
		FILE *f;

		if (!isdigit((unsigned char)de->d_name[0]) ||
		    atol(de->d_name) == (long)getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		len = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		for (i = 0; i < len; i++) {
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		}
		cmd[len] = '\0';
		if (strstr(cmd, s) != NULL) {
			if (show)
				printf("# process %s: %s\n", de->d_name, cmd);
			n++;
		}
	}
	if (d != NULL)
		closedir(d);
	return n;
}

/*
 * Same, but gives processes that are just exiting a second to go (gpgme
 * can return before the gpg it ran is gone).
 */
static inline int
procs_matching(const char *s)
{
	int i;

	for (i = 0; i < 20 && procs_matching_now(s, false) > 0; i++)
		usleep(50000);
	return procs_matching_now(s, true);
}

static inline int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	if (d != NULL)
		closedir(d);
	return d != NULL ? n : -1;
}

static inline int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(p);
	return 0;
}

/* Verifies a clearsigned buffer; returns the code, fills msg/text/fpr. */
static inline int
clear(struct gpg_verifier *v, const char *data, size_t len, char **text,
    size_t *textlen, char fpr[GPG_FPR_LEN + 1], struct merr *err)
{
	*text = NULL;
	*textlen = 0;
	fpr[0] = '\0';
	err->code = 0;
	err->msg[0] = '\0';
	return gpg_verify_clearsigned(v, data, len, text, textlen, fpr, err);
}

#endif
