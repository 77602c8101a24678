/*
 * gpghome.c: creates and removes the private GnuPG homes of gpg.c
 * (gpghome.h); plain files and processes, no gpgme.
 */
#include "mirrord/common.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include "mirrord/gpghome.h"

/*
 * Options of a verify home. no-autostart: gpg never spawns an agent, so
 * none can outlive the verifier. no-auto-key-retrieve: a hostile signature
 * must not make gpg go to the network. trust-model always: gpg need not
 * maintain (and lock) the trustdb while verifying; we do our own check.
 * no-random-seed-file: nothing is written into the home while verifying.
 */
static const char gpghome_verify_conf[] =
    "no-autostart\n"
    "no-auto-key-retrieve\n"
    "trust-model always\n"
    "no-random-seed-file\n";

/*
 * Options of a sign home. Unlike a verify home's, gpg may start an agent
 * here (secret keys live in the agent). apt rejects SHA-1, so signatures
 * use SHA-512 (checked again on every signature made).
 */
static const char gpghome_sign_conf[] =
    "no-auto-key-retrieve\n"
    "trust-model always\n"
    "personal-digest-preferences SHA512\n"
    "cert-digest-algo SHA512\n";

/* The agent needs no smartcard daemon, and must take our empty passphrase. */
static const char gpghome_agent_conf[] =
    "allow-loopback-pinentry\n"
    "disable-scdaemon\n";

/*
 * A sign home holds a copy of the secret key: its name carries the
 * owner's pid, so that homes left by a killed process (kill -9 skips
 * gpg_signer_free) are removed by the next signer. Their agents exit by
 * themselves once their socket is gone; we stop them first all the same.
 */
#define GPGHOME_SIGN_PREFIX "mirrord-sign."

/*
 * Free space gpg needs in a verify home to import a keyring: its
 * pubring.kbx, trustdb.gpg, lock and temp files, a page or more each.
 */
#define GPGHOME_ROOM (256 * 1024)

static int
gpghome_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* Removes a directory tree, retrying for up to a second (gpghome.h). */
static void
gpghome_rm_tree(const char *dir)
{
	struct stat st;
	int i;

	for (i = 0; i < 20; i++) {
		nftw(dir, gpghome_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		if (lstat(dir, &st) < 0)
			return;
		usleep(50000);
	}
}

/*
 * Stops every daemon (gpg-agent, scdaemon, dirmngr) of home with
 * "gpgconf --homedir HOME --kill all", run with posix_spawnp, never a
 * shell, and waited for.
 */
static void
gpghome_kill(const char *home)
{
	char *argv[] = { "gpgconf", "--homedir", (char *)home, "--kill", "all",
	    NULL };
	pid_t pid;
	int status;

	if (posix_spawnp(&pid, "gpgconf", NULL, NULL, argv, environ) == 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
}

void
gpghome_remove(const char *home, bool agent)
{
	char *sock;
	struct stat st;

	if (home == NULL)
		return;
	if (agent) {
		gpghome_kill(home);
	} else {
		sock = xasprintf("%s/S.gpg-agent", home);
		if (lstat(sock, &st) == 0)
			gpghome_kill(home);
		free(sock);
	}
	gpghome_rm_tree(home);
}

/* Writes conf (a static string) to home/name, 0600. */
static int
gpghome_put(const char *home, const char *name, const char *conf,
    size_t len, struct merr *err)
{
	char *p = xasprintf("%s/%s", home, name);
	int rc;

	rc = write_file_atomic(p, conf, len, 0600, err);
	free(p);
	return rc;
}

/*
 * Makes the home templ (taken: a mkdtemp() template) with the options of
 * a sign home if sign, else of a verify home; *out = templ on success.
 */
static int
gpghome_make(char *templ, bool sign, char **out, struct merr *err)
{
	int rc;

	/* mkdtemp makes it 0700 already; gpg insists on it. */
	if (mkdtemp(templ) == NULL) {
		rc = merr_errno(err, "cannot create GnuPG home '%s'", templ);
		free(templ);
		return rc;
	}
	if (sign)
		rc = gpghome_put(templ, "gpg.conf", gpghome_sign_conf,
		    sizeof(gpghome_sign_conf) - 1, err);
	else
		rc = gpghome_put(templ, "gpg.conf", gpghome_verify_conf,
		    sizeof(gpghome_verify_conf) - 1, err);
	if (rc == 0 && sign)
		rc = gpghome_put(templ, "gpg-agent.conf", gpghome_agent_conf,
		    sizeof(gpghome_agent_conf) - 1, err);
	if (rc) {
		gpghome_remove(templ, sign);
		free(templ);
		return rc;
	}
	*out = templ;
	return 0;
}

int
gpghome_verify_new(const char *tmpdir, char **out, struct merr *err)
{
	const char *tmp = tmpdir ? tmpdir : getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	/* The pid: store_clean_tmp() keeps a live process's home. */
	return gpghome_make(xasprintf("%s/mirrord-gpg.%ld.XXXXXX", tmp,
	    (long)getpid()), false, out, err);
}

/* Removes the sign homes of processes that are gone (gpghome.h). */
static void
gpghome_reap_stale(void)
{
	struct dirent *de;
	struct stat st;
	char path[PATH_MAX];
	unsigned long long pid;
	char *end;
	DIR *d;

	if ((d = opendir("/tmp")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, GPGHOME_SIGN_PREFIX,
		    sizeof(GPGHOME_SIGN_PREFIX) - 1) != 0)
			continue;
		errno = 0;
		pid = strtoull(de->d_name + sizeof(GPGHOME_SIGN_PREFIX) - 1,
		    &end, 10);
		if (errno || end[0] != '.' || pid == 0 || pid > INT_MAX ||
		    (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;	/* old name form, or its owner lives */
		snprintf(path, sizeof(path), "/tmp/%s", de->d_name);
		if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) ||
		    st.st_uid != geteuid())
			continue;
		gpghome_remove(path, true);
	}
	closedir(d);
}

int
gpghome_sign_new(char **out, struct merr *err)
{
	gpghome_reap_stale();
	return gpghome_make(xasprintf("/tmp/" GPGHOME_SIGN_PREFIX "%ld.XXXXXX",
	    (long)getpid()), true, out, err);
}

int
gpghome_nospace(const char *home, const char *keyring, int rc,
    struct merr *err)
{
	struct statvfs sv;

	if (statvfs(home, &sv) < 0 ||
	    ((uint64_t)sv.f_bavail * sv.f_frsize >= GPGHOME_ROOM &&
	    sv.f_favail > 0))
		return rc;
	return merr_set(err, MERR_IO, "cannot import keyring '%s' into '%s': "
	    "%s", keyring, home, strerror(ENOSPC));
}
