/*
 * gpghome.h: the private, temporary GnuPG homes gpg.c works in, with no
 * gpgme: their creation (directory and options), the removal of a home
 * and of the agent gpg may have started in it, and the reaping of homes a
 * killed process left behind.
 *
 * Two kinds. A verify home (verifiers, keyring export) forbids gpg-agent
 * and network access; it is made in a directory the caller picks (a
 * store's tmp/, which store_clean_tmp() cleans after a kill, keeping a
 * live process's homes by the pid in their names). A sign home holds a
 * secret key, lets gpg start the agent that secret-key operations need,
 * and is always made in /tmp: the agent's socket path (home +
 * "/S.gpg-agent.browser") must fit the ~100 bytes of a Unix socket
 * address.
 *
 * Threads: creating and removing homes is safe from any thread (each home
 * is private to its caller); gpghome_sign_new() also removes other
 * processes' dead homes, never a live one's.
 */
#ifndef MIRRORD_GPGHOME_H
#define MIRRORD_GPGHOME_H

#include "mirrord/common.h"

/*
 * Makes a verify home in tmpdir (NULL: $TMPDIR, else /tmp), mode 0700,
 * named mirrord-gpg.PID.XXXXXX, with its gpg.conf. *out is owned (free()
 * it after gpghome_remove()). Fails with MERR_IO (errno's message) and
 * leaves nothing behind.
 */
int gpghome_verify_new(const char *tmpdir, char **out, struct merr *err);

/*
 * Makes a sign home /tmp/mirrord-sign.PID.XXXXXX with its gpg.conf and
 * gpg-agent.conf, after removing the homes (and stopping the agents) of
 * such names whose process is gone. As gpghome_verify_new() otherwise.
 */
int gpghome_sign_new(char **out, struct merr *err);

/*
 * Removes home and everything in it, best effort (errors are ignored):
 * first stops its gpg-agent and other daemons ("gpgconf --kill all"),
 * always if agent is true (a sign home), else only if gpg started one
 * despite no-autostart (a socket in a verify home). gpgme may return
 * before the gpg it ran has quite exited, so a home still there is retried
 * for up to a second.
 */
void gpghome_remove(const char *home, bool agent);

/*
 * gpg fails to import into a home on a full file system without saying
 * so (the keyring then seems to hold no keys, or cannot be listed): after
 * a failed import or key list of keyring (named so in messages), rc and
 * err stand unless home's file system is out of space or inodes, which
 * is said instead (MERR_IO).
 */
int gpghome_nospace(const char *home, const char *keyring, int rc,
    struct merr *err);

#endif
