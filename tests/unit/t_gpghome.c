/*
 * t_gpghome.c: the private GnuPG homes of gpghome.h, without gpgme: where
 * they are made, with which mode and options, that removing one removes
 * all of it, and that a sign home left by a dead process is reaped while
 * a live process's is kept.
 */
#include "mirrord/common.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <unistd.h>

#include "mirrord/gpghome.h"
#include "tests/unit/helpers.h"
#include "tests/unit/tap.h"

static int
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* Whether file name in dir holds the line want. */
static bool
has_line(const char *dir, const char *name, const char *want)
{
	char *p = xasprintf("%s/%s", dir, name), *data = NULL, *line;
	struct merr err;
	size_t len;
	bool found;

	if (read_file(p, 1 << 16, &data, &len, &err) != 0) {
		free(p);
		return false;
	}
	line = xasprintf("%s\n", want);
	found = memmem(data, len, line, strlen(line)) != NULL;
	free(line);
	free(data);
	free(p);
	return found;
}

static void
test_verify_home(const char *tmp)
{
	struct merr err = { 0, "" };
	char *home = NULL, *prefix, *bad;

	is_int(gpghome_verify_new(tmp, &home, &err), 0, "verify home made");
	if (home == NULL)
		return;
	prefix = xasprintf("%s/mirrord-gpg.%ld.", tmp, (long)getpid());
	ok(str_startswith(home, prefix), "in tmpdir, named by our pid: %s",
	    home);
	is_int(mode_of(home), 0700, "mode 0700");
	ok(has_line(home, "gpg.conf", "no-autostart") &&
	    has_line(home, "gpg.conf", "no-auto-key-retrieve"),
	    "gpg.conf: no agent, no network");
	gpghome_remove(home, false);
	ok(access(home, F_OK) != 0, "removed");
	free(home);
	free(prefix);

	home = NULL;
	bad = xasprintf("%s/missing/dir", tmp);
	is_int(gpghome_verify_new(bad, &home, &err), MERR_IO,
	    "a tmpdir that does not exist");
	ok(home == NULL && strstr(err.msg, "cannot create GnuPG home") !=
	    NULL, "says so: %s", err.msg);
	free(bad);
	gpghome_remove(NULL, false);
	ok(1, "removing NULL is a no-op");
}

/* A pid that was ours a moment ago and is gone now. */
static pid_t
dead_pid(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(0);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return pid;
}

static void
test_sign_home(void)
{
	struct merr err = { 0, "" };
	char *home = NULL, *stale, *live, *prefix;

	stale = xasprintf("/tmp/mirrord-sign.%ld.t_gpghome", (long)dead_pid());
	live = xasprintf("/tmp/mirrord-sign.%ld.t_gpghome", (long)getppid());
	ok(mkdir(stale, 0700) == 0 && mkdir(live, 0700) == 0,
	    "a dead and a live process's sign homes");
	is_int(gpghome_sign_new(&home, &err), 0, "sign home made");
	ok(access(stale, F_OK) != 0, "the dead process's home is reaped");
	ok(access(live, F_OK) == 0, "the live process's home is kept");
	rmdir(live);
	if (home != NULL) {
		prefix = xasprintf("/tmp/mirrord-sign.%ld.", (long)getpid());
		ok(str_startswith(home, prefix), "in /tmp, named by our pid: "
		    "%s", home);
		free(prefix);
		is_int(mode_of(home), 0700, "mode 0700");
		ok(has_line(home, "gpg.conf", "personal-digest-preferences "
		    "SHA512") && has_line(home, "gpg-agent.conf",
		    "allow-loopback-pinentry"),
		    "gpg.conf and gpg-agent.conf for signing");
		gpghome_remove(home, true);
		ok(access(home, F_OK) != 0, "removed, agent or not");
	}
	free(home);
	free(stale);
	free(live);
}

static void
test_nospace(const char *tmp)
{
	struct merr err = { 0, "was" };

	is_int(gpghome_nospace(tmp, "k.gpg", MERR_CONF, &err), MERR_CONF,
	    "room enough: the import's own error stands");
	is_str(err.msg, "was", "err untouched");
}

int
main(void)
{
	char *tmp = helpers_tmpdir_new("t_gpghome");

	if (tmp == NULL)
		return 1;
	test_verify_home(tmp);
	test_sign_home();
	test_nospace(tmp);
	helpers_tmpdir_free(tmp);
	return tap_done();
}
