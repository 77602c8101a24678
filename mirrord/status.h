/*
 * status.h: what `mirrord status` reports, and the records behind it.
 *
 * Records live in TBL_META under "mirror\0key" (gc.c keeps its pins there
 * as "mirror\0pin\0ID"; these keys hold no further NUL):
 *   "mirror\0status.last"  the last sync's result (struct status_sync)
 *   "mirror\0status.ok"    the last successful sync's result
 *   "mirror\0status.next"  the daemon's next scheduled sync: "1\n" then
 *                          the unix time and the daemon's pid, one a line
 * Values are text: "2\n" (the format), then ok ("ok" or "failed"),
 * started, finished, snapshot ("" if none was made), fetched files,
 * fetched bytes, who ran it, the reason ("" when ok), the suite that
 * failed (or ""), the start of the run of failures this one belongs to
 * (0 when ok), the failures so far by reason (six numbers, in the order of
 * enum status_reason), the number of warnings and the warnings, one a
 * line, then the error message (the rest of the value; empty when ok).
 * Format "1" (no reason to warnings) is read too, with those empty; other
 * formats read as absent.
 *
 * Writers call these with the store's writer lock held; a record is a few
 * hundred bytes in one small write transaction. Records are read and
 * written through store_meta_* (store.h), the one place that builds TBL_META
 * keys; status.c owns the "status.*" names.
 *
 * Errors are negative MERR_* codes with err set: those of the store
 * (store.h) unless said below. Threads: no global state; the functions
 * taking a transaction follow store.h's rules for it, and those taking a
 * struct store open their own, so status_check_age (the server's
 * /healthz) may run in any thread.
 */
#ifndef MIRRORD_STATUS_H
#define MIRRORD_STATUS_H

#include "mirrord/common.h"
#include "mirrord/channel.h"
#include "mirrord/conf.h"
#include "mirrord/content.h"
#include "mirrord/odstats.h"
#include "mirrord/replica.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

#define STATUS_BY_MAX 16
#define STATUS_SUITE_MAX 128

/*
 * Why a sync failed: a small fixed set, for alerts. signature: a Release
 * that did not verify (signature, Date, Valid-Until, suite); network: a
 * transfer that failed or a file missing upstream; hash: a file whose
 * size or hash is not what its index says; disk: the local file system
 * or the index; config: the configuration (Strict:, a key file); other:
 * the rest (a malformed index, a cancelled sync).
 */
enum status_reason {
	STATUS_OTHER,		/* 0: what a zeroed record says */
	STATUS_SIGNATURE, STATUS_NETWORK, STATUS_HASH, STATUS_DISK,
	STATUS_CONFIG,
	STATUS_NREASONS
};

/* "signature", "network"... (static strings; "other" out of range). */
const char *status_reason_name(enum status_reason r);

/* One sync's result. */
struct status_sync {
	bool ok;
	int64_t started;	/* unix times */
	int64_t finished;
	char snapshot[SNAP_ID_LEN + 1];	/* made by it, or "" */
	uint64_t fetched_files;
	uint64_t fetched_bytes;
	char by[STATUS_BY_MAX + 1];	/* "sync" (CLI) or "daemon" */
	char *error;		/* owned; NULL when ok */
	enum status_reason reason;	/* when failed */
	char suite[STATUS_SUITE_MAX + 1];	/* the suite that failed, or "" */
	char *warnings;		/* owned: "\n"-ended lines, or NULL */
	/* Set by status_put_sync from the record before (a caller's values
	 * are ignored): */
	int64_t failing_since;	/* start of the first of the failures in a
				 * row that this one ends; 0 when ok */
	uint64_t fails[STATUS_NREASONS];	/* failed syncs so far */
};

/* Frees r's error and warnings, setting them NULL (r NULL is fine). */
void status_sync_release(struct status_sync *r);

/*
 * Records r as mirror's last sync (and, if r->ok, as its last successful
 * one) in the write transaction t: usable inside a larger transaction.
 * The failure counters and failing_since carry on from the last record.
 */
int status_put_sync(struct store_txn *t, const char *mirror,
    const struct status_sync *r, struct merr *err);
/* The same in a transaction of its own. */
int status_record_sync(struct store *s, const char *mirror,
    const struct status_sync *r, struct merr *err);

/*
 * Reads mirror's last sync (ok_only: its last successful one) into *r
 * (free with status_sync_release). MERR_NOTFOUND if there is none, or
 * if it is in a format this version cannot read.
 */
int status_get_sync(struct store_txn *t, const char *mirror, bool ok_only,
    struct status_sync *r, struct merr *err);

/*
 * The daemon's schedule: mirror's next sync at unix time next, planned by
 * process pid. next 0 deletes the record (a daemon that stops).
 */
int status_put_next(struct store_txn *t, const char *mirror, int64_t next,
    long pid, struct merr *err);
/* MERR_NOTFOUND if there is no record, or one in an unknown format. */
int status_get_next(struct store_txn *t, const char *mirror, int64_t *next,
    long *pid, struct merr *err);

/*
 * Whether c's enabled mirrors synced recently enough, for /healthz: a
 * mirror is stale when its last successful sync finished longer than its
 * Max-Sync-Age (conf_max_sync_age) before now or, for a mirror that never
 * succeeded, when its failures began that long ago (a mirror never tried
 * is not stale). Appends one line per stale mirror to why, naming it, the
 * age, the limit and the last error. Reads in one short read transaction.
 * Returns the number of stale mirrors, or a negative code with err set.
 */
int status_check_age(struct store *s, const struct conf *c, int64_t now,
    struct buf *why, struct merr *err);

/* A channel as status shows it. */
struct status_channel {
	char name[CHANNEL_NAME_MAX + 1];
	char target[SNAP_ID_LEN + 1];
	int64_t moved_at;
	int64_t valid_until;	/* 0: none */
	char *moved_by;		/* owned */
	/* Filled by status_collect_exposure (have_exposure), else zero: */
	bool have_exposure;
	size_t security_pending;	/* exposure.h's pending fixes */
	int64_t security_oldest;	/* the oldest's since; 0: none */
	char *exposure_error;	/* owned: why it could not be computed */
	/* Filled by status_collect_adoption (have_fleet), else zero: */
	bool have_fleet;
	uint64_t fleet_clients;		/* adoption.h's counts */
	uint64_t fleet_indices;
	uint64_t fleet_upgraded;
};

/* A pinned snapshot (snapshot pin MIRROR REF NOTE). */
struct status_pin {
	char id[SNAP_ID_LEN + 1];
	char *note;		/* owned */
};

/* One configured mirror. */
struct status_mirror {
	const char *name;	/* borrowed from the configuration */
	const struct conf_mirror *conf;	/* borrowed */
	long max_sync_age;	/* conf_max_sync_age() */
	char *stale;		/* owned: why it is stale (as /healthz
				 * says it), or NULL */
	bool enabled;
	bool have_last, have_ok;
	struct status_sync last;	/* the last sync */
	struct status_sync last_ok;	/* the last successful one */
	bool have_next;			/* a running daemon planned it */
	int64_t next;
	long daemon_pid;
	size_t nsnaps;
	char newest[SNAP_ID_LEN + 1];	/* "" if no snapshot */
	int64_t newest_time;
	uint64_t newest_packages;
	uint64_t newest_bytes;
	struct status_channel *channels;
	size_t nchannels;
	struct status_pin *pins;	/* oldest first */
	size_t npins;
	/*
	 * Download: on-demand mirrors only (have_content): the newest
	 * snapshot's pool files referenced vs stored (content.h) and the
	 * on-demand fetch counters (odstats.h).
	 */
	bool have_content;
	struct content_counts content;
	struct odstats od;
};

/*
 * The whole report. Dedup ratio: referenced_bytes / stored_bytes, where
 * referenced_bytes sums, over every snapshot of every mirror in the store,
 * the snapshot's bytes (its distinct pool files and its dists files, each
 * counted once per snapshot), and stored_bytes sums the sizes of the blobs
 * the store's index lists (each once, whoever uses it; blobs waiting out
 * the gc grace period and channels' Release files included). 0 when
 * nothing is stored. Both sums and the counts come from counters the
 * commits keep (store_blob_totals, snap_totals): the report costs the
 * same whatever the store's size and history.
 */
struct status_report {
	const char *store;	/* borrowed */
	uint64_t blobs;
	uint64_t stored_bytes;
	uint64_t snapshots;	/* of every mirror in the store */
	uint64_t referenced_bytes;
	double dedup_ratio;
	int64_t now;		/* when it was made */
	struct status_mirror *mirrors;	/* c's mirrors, in order */
	size_t nmirrors;
	/* A replica's (Replica-Of:): its primary ("" for none) and state. */
	const char *replica_of;		/* borrowed from the conf */
	struct replica_state replica;
};

/*
 * Reads the report for c's mirrors from s in one read transaction.
 * alive(pid) tells whether the daemon that planned a next sync still runs
 * (NULL: kill(pid, 0)). Free *out with status_report_release(), also
 * after an error (it then holds what was read before).
 */
int status_collect(struct store *s, const struct conf *c,
    bool (*alive)(long pid), struct status_report *out, struct merr *err);
void status_report_release(struct status_report *r);

/*
 * Adds to each channel of r (after status_collect) its exposure
 * (exposure.h): the pending security fixes and the oldest's since.
 * Loads indices (the target's, latest's security suites, and the
 * history's until every fix is dated): once per distinct target of a
 * mirror, not per channel. A channel whose exposure cannot be computed
 * gets exposure_error instead (the report is still whole): nothing fails
 * but memory, which aborts.
 */
void status_collect_exposure(struct store *s, struct status_report *r);

/*
 * Fills each channel's fleet counts (adoption.h) from the tables the
 * server saves in <Store>/adoption, counted over c's Fleet-Window:; none
 * (have_fleet false) when there is no such file or it does not parse.
 */
void status_collect_adoption(const struct conf *c, struct status_report *r);

/*
 * A channel's lines (text) or fields (JSON) beyond its target: its
 * pending security fixes and its fleet, where they were collected.
 */
void status_print_channel_extra(FILE *f, const struct status_channel *c,
    int64_t now);
void status_json_channel_extra(FILE *f, const struct status_channel *c,
    int64_t now);

/*
 * An on-demand mirror's part (status_content.c): its odstats into sm
 * (have_content set; sm->content is counted by status_collect); its
 * lines after "newest:" (text), and its "download" and "content" fields
 * (JSON; nothing for another mirror, whose output stays as it was).
 */
void status_collect_content(struct store_txn *t, const struct conf_mirror *m,
    struct status_mirror *sm);
void status_print_content(FILE *f, const struct status_mirror *m,
    int64_t now);
void status_json_content(FILE *f, const struct status_mirror *m);

/*
 * status_replica.c: a replica's lines (text) and its "replica" member
 * (JSON, with the comma before it): the primary, the generation applied
 * and when, the lag (replica.h). Nothing for a store that is no replica.
 */
void status_print_replica(FILE *f, const struct status_report *r);
void status_json_replica(FILE *f, const struct status_report *r);

/*
 * Prints r as text (aligned blocks) or as one JSON object; write errors
 * are left in ferror(f).
 */
void status_print_text(FILE *f, const struct status_report *r);
void status_print_json(FILE *f, const struct status_report *r);

#endif
