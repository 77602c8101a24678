/*
 * channel.h: channels — movable, named pointers to a mirror's snapshots,
 * with their audit log and the Release files mirrord signs for them.
 *
 * A channel serves its target snapshot's indices and pool unchanged, but
 * its own Release, InRelease and Release.gpg per suite: upstream's fields
 * with Date = the promotion time (so it always increases: apt ignores an
 * older Date), an optional Valid-Until, and a Snapshots: field; signed
 * with mirrord's key. They are made at each move and stored as blobs.
 *
 * TBL_CHANNELS keys: "mirror\0c\0NAME" -> the current state;
 * "mirror\0l\0NAME\0" + be32(n) -> log entry n (0, 1, ...). This module
 * owns the table: others read it through channel_get, channel_list,
 * channel_each and channel_log_get.
 *
 * Reads take a transaction (any thread, as store.h says); moves begin and
 * commit their own and are made under the store's channel lock, which
 * serialises them across processes. Structures filled here are owned by
 * the caller (channel_free, channel_log_release, strv_free).
 */
#ifndef MIRRORD_CHANNEL_H
#define MIRRORD_CHANNEL_H

#include "mirrord/common.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

#define CHANNEL_NAME_MAX 64

struct channel {
	char name[CHANNEL_NAME_MAX + 1];
	char target[SNAP_ID_LEN + 1];	/* the snapshot it points at */
	int64_t moved_at;		/* unix time of the last move */
	char *moved_by;			/* "user@host", owned */
	int64_t valid_until;		/* 0: no Valid-Until */
	/*
	 * The target before the last move ("" for a first promotion, or a
	 * channel last moved by a mirrord that did not record it): what the
	 * fleet had before, for adoption counts (adoption.h).
	 */
	char prev[SNAP_ID_LEN + 1];
	/* Per suite: the generated InRelease, Release, Release.gpg. */
	struct snap_suite *suites;	/* files only; date = moved_at */
	size_t nsuites;
};

struct channel_log {
	int64_t time;
	char *by;
	char from[SNAP_ID_LEN + 1];	/* "" for a first promotion */
	char to[SNAP_ID_LEN + 1];
	char *action;	/* "promote", "rollback", "refresh", "delete", "rename" */
	char *message;	/* the operator's -m text, or NULL; owned */
};

/*
 * Frees what ch owns (its strings and suites), not ch itself, which is
 * zeroed and may be reused. Named _free, not _release, so that it is not
 * read as a relative of channel_release_text(), which makes a Release file.
 */
void channel_free(struct channel *ch);
void channel_log_release(struct channel_log *l, size_t n);

/*
 * Channel names: [a-z][a-z0-9._-]*, at most 64 bytes, and not "latest"
 * nor shaped like a snapshot ID. 0 or MERR_INVAL saying why.
 */
int channel_name_check(const char *name, struct merr *err);

/* Loads a channel; MERR_NOTFOUND if the mirror has no such channel. */
int channel_get(struct store_txn *t, const char *mirror, const char *name,
    struct channel *out, struct merr *err);
/*
 * Calls fn for every channel of every mirror in the store (configured or
 * not), in key order: mirror, then channel name. ch is valid during the
 * call. fn returns 0 to go on or a negative code that ends the walk and
 * is returned; so does a channel whose state does not parse.
 */
typedef int (*channel_each_fn)(void *ctx, const char *mirror,
    const struct channel *ch, struct merr *err);
int channel_each(struct store_txn *t, channel_each_fn fn, void *ctx,
    struct merr *err);
/* Names of a mirror's channels, sorted; owned array of owned strings. */
int channel_list(struct store_txn *t, const char *mirror, char ***names,
    size_t *n, struct merr *err);
/* The log of a channel, oldest first; free with channel_log_release. */
int channel_log_get(struct store_txn *t, const char *mirror,
    const char *name, struct channel_log **out, size_t *n,
    struct merr *err);

/*
 * Resolves a URL or CLI ref for mirror: a snapshot ID, a timestamp
 * (newest snapshot at or before it), "latest", or a channel name. Fills
 * *sn (free with snap_release); for a channel also *ch (free with
 * channel_free), else ch->name is "". MERR_NOTFOUND if nothing
 * matches, MERR_INVAL if ref has no valid shape.
 */
int channel_resolve(struct store_txn *t, const char *mirror, const char *ref,
    struct snap *sn, struct channel *ch, struct merr *err);
/* channel_resolve for the snapshot alone (*sn: free with snap_release). */
int channel_resolve_snap(struct store_txn *t, const char *mirror,
    const char *ref, struct snap *sn, struct merr *err);

/*
 * The file a ref serves at dists/<suite>/<path>: a channel's own Release
 * files, else the snapshot's; by-hash paths ("<dir>/by-hash/SHA256/<hex>")
 * resolve to any file of the suite with that hash. NULL if none.
 * Valid while sn and ch live.
 */
const struct snap_file *channel_dists_file(const struct snap *sn,
    const struct channel *ch, const char *suite, const char *path);

struct gpg_signer;

struct channel_move_opts {
	const char *by;		/* "user@host" for the log */
	long valid_for;		/* seconds; 0: no Valid-Until */
	const char *base_url;	/* for Snapshots:, or NULL */
	/*
	 * Why (a change ticket...), recorded in the log by promote and
	 * rollback; NULL for none. Refresh ignores it.
	 */
	const char *message;
};

/* Longest message kept in a log entry; line breaks become spaces. */
#define CHANNEL_MESSAGE_MAX 1000

/*
 * Moves channel name of mirror to the snapshot ref names (an ID, a
 * timestamp, "latest" or another channel), making and signing its
 * Release files with g, in one write transaction after they are durable.
 * A move to the current target is MERR_EXISTS. The caller holds the
 * store's channel lock (store_lock_channels), not its writer lock: a move
 * never waits for a sync. target gets the snapshot ID.
 */
int channel_promote(struct store *s, struct gpg_signer *g, const char *mirror,
    const char *ref, const char *name, const struct channel_move_opts *o,
    char target[SNAP_ID_LEN + 1], struct merr *err);

/*
 * The targets that 1, 2, ... up to depth successive rollbacks would move
 * a channel with log l (n entries, oldest first) to, nearest first, into
 * out (room for depth pointers into l); returns how many. A rollback
 * returns to the target the channel had before its latest promotion that
 * is not already rolled back (rollbacks stack); a refresh, or any other
 * action, changes no target and is skipped. The list ends early where a
 * rollback would have no earlier target. The one rule for rollback and
 * for what retention keeps (channel_rollback_targets()).
 */
size_t channel_log_rollbacks(const struct channel_log *l, size_t n,
    size_t depth, const char **out);

/*
 * Calls fn(ctx, id, err) for each target that up to depth successive
 * rollbacks of channel name of mirror can reach (channel_log_rollbacks()),
 * nearest first; an ID may come more than once. A non-zero return of fn
 * stops the walk and is returned. The current target is not among them.
 */
int channel_rollback_targets(struct store_txn *t, const char *mirror,
    const char *name, size_t depth,
    int (*fn)(void *ctx, const char *id, struct merr *err), void *ctx,
    struct merr *err);

/*
 * Moves the channel back to the target it had before its latest promotion
 * that is not already rolled back (rollbacks stack; refreshes count for
 * nothing): channel_log_rollbacks() at depth 1. MERR_NOTFOUND if there is
 * none.
 */
int channel_rollback(struct store *s, struct gpg_signer *g,
    const char *mirror, const char *name, const struct channel_move_opts *o,
    char target[SNAP_ID_LEN + 1], struct merr *err);

/*
 * Deletes channel name of mirror: its state goes, its Release files are
 * queued for gc (as a move queues the ones it replaces), and its log
 * keeps a "delete" entry by by (with message, or NULL), so `channel log`
 * still tells its story. MERR_NOTFOUND if there is no such channel. The
 * caller holds the store's channel lock. target gets the snapshot it
 * pointed at.
 */
/*
 * A read replica's copy of a primary's channel (replica.h), in the write
 * transaction t: writes ch's state as it is (its Release files durable
 * and listed in the blobs table already), queues for gc (as of now) the
 * Release files the replica's copy served until then, and appends the
 * entries of log (the primary's whole log, n entries) past those the
 * replica has. channel_import_drop deletes the replica's copy of a
 * channel the primary no longer has (its log stays, as delete's does);
 * MERR_NOTFOUND if there is none.
 */
int channel_import(struct store_txn *t, const char *mirror,
    const struct channel *ch, const struct channel_log *log, size_t n,
    int64_t now, struct merr *err);
int channel_import_drop(struct store_txn *t, const char *mirror,
    const char *name, int64_t now, struct merr *err);

int channel_delete(struct store *s, const char *mirror, const char *name,
    const char *by, const char *message, char target[SNAP_ID_LEN + 1],
    struct merr *err);

/*
 * Renames channel from to to in one write transaction: the state (same
 * target, same signed Release files: they do not name the channel) and
 * the whole log move to the new name, which gets a "rename" entry; the
 * old name's log keeps one "rename" entry saying where it went. Clients
 * of the old URL get 404 from then on. MERR_NOTFOUND if from does not
 * exist, MERR_EXISTS if to does. The caller holds the store's channel
 * lock.
 */
int channel_rename(struct store *s, const char *mirror, const char *from,
    const char *to, const char *by, const char *message, struct merr *err);

/*
 * Re-signs a channel's Release files with fresh Date and Valid-Until for
 * the same target (the daemon does this before Valid-Until passes).
 */
int channel_refresh(struct store *s, struct gpg_signer *g, const char *mirror,
    const char *name, const struct channel_move_opts *o, struct merr *err);

/*
 * Makes the Release files ch serves for target (channel_dists.c): for
 * each of target's suites, upstream's signed Release text (byte for byte
 * as synced) with Date ch->moved_at, Valid-Until ch->valid_until and, with
 * base_url, Snapshots:, signed by g as InRelease, Release and Release.gpg;
 * stores them as blobs (not listed, not synced: the caller does both)
 * and fills ch->suites with them (ch owns them). MERR_NOTFOUND for a
 * suite without a Release file, MERR_STORE for a blob that does not match
 * its hash, or a signing or store error; the message names the suite.
 */
int channel_dists_sign(struct store *s, struct gpg_signer *g,
    const char *mirror, const struct snap *target, struct channel *ch,
    const char *base_url, struct merr *err);

/*
 * The Release text a channel serves: upstream's signed text with Date
 * set to date, Valid-Until to valid_until (0: removed) and, with
 * base_url, "Snapshots: <base_url>/<mirror>/@SNAPSHOTID@/". Owned.
 */
char *channel_release_text(const char *upstream, size_t len, int64_t date,
    int64_t valid_until, const char *base_url, const char *mirror,
    size_t *outlen);

#endif
