/*
 * priv.h: who runs a command on the store.
 *
 * The store belongs to one user (the package's "mirrord", the user the
 * systemd unit runs as). Every file a command creates in it must belong
 * to that user too, or the service later fails on a file root made. So a
 * command run as root on a store another user owns becomes that user
 * (its uid, gid and supplementary groups) before it opens anything, as
 * pg_ctl and gitlab-ctl-style tools do; a command run by another user,
 * who could not write the store, is refused with the command to use.
 */
#ifndef MIRRORD_PRIV_H
#define MIRRORD_PRIV_H

#include "mirrord/common.h"

/*
 * Makes the calling process act as the owner of store, the directory
 * Store: names (or, if it does not exist yet, its parent's owner when not
 * root: the directory it will be made in). Run as root with a store that
 * root does not own: switches to the owner's uid and gid, with the
 * owner's supplementary groups (initgroups; none if the uid has no
 * passwd entry), for good (setuid), and says so at debug level; SUDO_USER,
 * unless set, is set to the invoking user (root), whom the channel log
 * names. As root on root's store or on one not made yet, as the owner,
 * or as another user who may write to it (a shared store): nothing
 * changes; nor when neither the store nor its parent exists (store_open
 * says what is missing). As another user who cannot write to the
 * store: MERR_INVAL naming the owner and cmd, the command to run instead
 * ("sudo -u OWNER mirrord CMD"). A switch that fails (no CAP_SETUID in a
 * container, say) is MERR_IO with the same advice: the command must not
 * go on as root and leave root's files. MERR_IO too if the store cannot
 * be stat()ed.
 *
 * Threads: it changes the whole process's credentials and environment
 * (setenv): call it once, from main(), before any thread starts.
 */
int priv_become_store_owner(const char *store, const char *cmd,
    struct merr *err);

#endif
