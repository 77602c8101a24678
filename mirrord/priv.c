/*
 * priv.c: a command run as root becomes the store's owner (priv.h).
 */
#include "mirrord/common.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mirrord/log.h"
#include "mirrord/priv.h"

/* The owner's name, or its number when the passwd database has none. */
static char *
owner_name(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	return pw ? xstrdup(pw->pw_name) : xasprintf("#%lu",
	    (unsigned long)uid);
}

/* Switches to uid and gid for good, with uid's groups. */
static int
become(uid_t uid, gid_t gid, const char *store, const char *cmd,
    struct merr *err)
{
	struct passwd *pw = getpwuid(uid);
	char *name = owner_name(uid), *invoker;
	int rc;

	/*
	 * The channel log names who moved a channel (SUDO_USER, else the
	 * real user): root, who ran it, not the owner it now runs as.
	 */
	if (getenv("SUDO_USER") == NULL) {
		invoker = owner_name(getuid());
		setenv("SUDO_USER", invoker, 1);
		free(invoker);
	}
	if (pw != NULL)
		rc = initgroups(pw->pw_name, gid);
	else
		rc = setgroups(0, NULL);
	if (rc == 0)
		rc = setgid(gid);
	if (rc == 0)
		rc = setuid(uid);
	/* setuid as root is for good: there must be no way back. */
	if (rc == 0 && (setuid(0) == 0 || geteuid() != uid ||
	    getegid() != gid)) {
		errno = EPERM;
		rc = -1;
	}
	if (rc) {
		rc = merr_set(err, MERR_IO, "store '%s' belongs to '%s': "
		    "cannot switch to that user: %s; run it as that user: "
		    "sudo -u %s mirrord %s", store, name, strerror(errno), name,
		    cmd);
		free(name);
		return rc;
	}
	log_debug("store '%s' belongs to '%s': running as that user", store,
	    name);
	free(name);
	return 0;
}

int
priv_become_store_owner(const char *store, const char *cmd,
    struct merr *err)
{
	struct stat st;
	char *parent, *sl, *name;
	int rc;

	if (stat(store, &st) < 0) {
		if (errno != ENOENT)
			return merr_errno(err, "cannot stat store '%s'", store);
		/* Not made yet: root makes it, or the parent's owner. */
		if (geteuid() == 0)
			return 0;
		parent = xstrdup(store);
		sl = strrchr(parent, '/');
		if (sl != NULL && sl != parent)
			*sl = '\0';
		rc = stat(parent, &st);
		free(parent);
		if (rc < 0)
			return 0;	/* store_open says what is missing */
	}
	if (st.st_uid == geteuid())
		return 0;
	if (geteuid() == 0)
		return become(st.st_uid, st.st_gid, store, cmd, err);
	/* Another user: fine if the mode lets them (a shared store). */
	if (access(store, W_OK | X_OK) == 0 || errno == ENOENT)
		return 0;
	name = owner_name(st.st_uid);
	rc = merr_set(err, MERR_INVAL, "store '%s' belongs to '%s': run it "
	    "as that user: sudo -u %s mirrord %s", store, name, name, cmd);
	free(name);
	return rc;
}
