/*
 * listing.h: what an HTML listing shows, as data (private to serve/).
 *
 * route.c decides what a directory URL lists and fills a struct listing
 * (reading the store in its one read transaction); pages.c renders it as
 * HTML; the response layer (server.c) asks the one and hands the result
 * to the other. So route.c and pages.c never include each other, and a
 * listing can be checked without parsing HTML.
 *
 * Ownership: a listing owns every string and array in it (copies, never
 * pointers into a snapshot or the store); listing_release() frees them
 * all. Threads: a listing belongs to the request that made it; nothing
 * here is shared.
 */
#ifndef SERVE_LISTING_H
#define SERVE_LISTING_H

#include "mirrord/common.h"
#include "mirrord/store.h"

enum listing_kind {
	LISTING_NONE = 0,	/* empty */
	LISTING_ROOT,		/* "/": every mirror's snapshots, channels */
	LISTING_MIRROR,		/* "/<mirror>/": latest, channels, snapshots */
	LISTING_REF,		/* "/<mirror>/<ref>/": dists/ and pool/ */
	LISTING_DISTS,		/* "/<mirror>/<ref>/dists/": the suites */
	LISTING_DIR		/* "/<mirror>/<ref>/dists/<suite>/<dir>" */
};

struct listing_snapshot {
	char *id;
	int64_t time;
	uint64_t packages;
};

/* A channel's fleet adoption (adoption.h), for the pages. */
struct listing_adoption {
	bool known;		/* false: not counted (no server tables) */
	uint64_t clients;	/* ran apt update in the window */
	uint64_t indices;	/* took the new indices since the move */
	uint64_t upgraded;	/* fetched a pool file the move brought */
};

/* A rollout plan with a step on a channel (dashboard.c). */
struct listing_rollout {
	char *name;
	char *status;		/* "running", "halted", "done", "idle"... */
	bool paused;
	int step;		/* reached, from 0; -1: none */
	size_t nsteps;
	int this_step;		/* the channel's step in the plan */
	char *snapshot;		/* in flight, or the last one ("": none) */
	char *next;		/* the next action, in words */
	int64_t next_at;	/* when; 0: on a change */
	int64_t check_at;	/* the last check (0: none) */
	bool check_ok;
	char *check_out;	/* its first line */
	char *halt;		/* why it halted, or "" */
	bool phasing;		/* the last step is phased now */
	unsigned phase;		/* at this percentage */
};

struct listing_channel {
	char *name;
	char *target;		/* a snapshot ID */
	int64_t moved_at;
	/* MIRROR: the summary row, when have_summary (dashboard.c) */
	bool have_summary;
	long pending;		/* security fixes pending; -1: unknown */
	int phase;		/* the target's phase percentage; -1: none */
	bool rollouts_known;	/* false: "unknown" */
	struct listing_rollout *rollouts;
	size_t nrollouts;
	struct listing_adoption adoption;
};

struct listing_mirror {
	char *name;
	struct listing_snapshot *snaps;	/* newest first */
	size_t nsnaps;
	struct listing_channel *chans;	/* as channel_list() orders them */
	size_t nchans;
};

/* A line of a LISTING_DIR: a file, or a directory ("name/"). */
struct listing_entry {
	char *name;
	uint64_t size;		/* files */
	bool dir;
};

/* A security fix the ref lacks (exposure.h), for a REF listing. */
struct listing_pending {
	char *source;
	char *installed;
	char *fixed;
	char *suite;
	int64_t since;		/* when it first appeared in a snapshot */
	char *cves;		/* "CVE-1 CVE-2", or "" without feeds */
	char *advisories;	/* "DSA-1 USN-2", or "" */
	char *urgency;		/* the highest, or "" */
};

/* A channel log entry (channel.h), for the channel page. */
struct listing_move {
	int64_t time;
	char *action;
	char *from;		/* "" for a first promotion */
	char *to;
	char *by;
	char *message;		/* "" for none */
};

/* How many diff lines the channel page shows at most. */
#define LISTING_DIFF_LINES 50

/* The channel against latest (diff.h), for the channel page. */
struct listing_diff {
	bool known;		/* false: "unknown" */
	char *latest;		/* latest's ID */
	bool same;		/* the channel serves latest's packages */
	size_t added, removed, upgraded, downgraded;
	char **lines;		/* the first LISTING_DIFF_LINES, as text */
	size_t nlines;
};

/*
 * The release manager's view of a channel (REF listings of a channel;
 * dashboard.c fills it). Each section has its own "known": a section
 * that could not be read is shown as unknown, never fails the page.
 */
struct listing_dash {
	bool is_channel;
	char *channel;
	char *target;		/* the snapshot it serves */
	char *kind;		/* its kind (snap_kind_name), or "" */
	char *phase_of;		/* a phase: the snapshot it copies, or NULL */
	int phase_pct;		/* a phase: its percentage; else -1 */
	int64_t moved_at;
	char *moved_by;
	bool rollouts_known;
	struct listing_rollout *rollouts;	/* plans with a step here */
	size_t nrollouts;
	struct listing_adoption adoption;
	bool moves_known;
	struct listing_move *moves;	/* the last ones, newest first */
	size_t nmoves;
	struct listing_diff diff;
};

struct listing {
	enum listing_kind kind;
	char *title;		/* shown as the page's title */
	struct listing_mirror *mirrors;	/* ROOT: all; MIRROR: its own */
	size_t nmirrors;
	char *snapshot;		/* REF: the snapshot ID the ref names */
	char **suites;		/* DISTS: the suites' names */
	size_t nsuites;
	struct listing_entry *entries;	/* DIR: sorted, no duplicates */
	size_t nentries;
	/* REF: its exposure against latest, if known (listing_set_exposure) */
	bool have_exposure;
	char *exposure_latest;	/* the latest snapshot's ID */
	struct listing_pending *pending;	/* by source */
	size_t npending;
	struct listing_dash dash;	/* REF of a channel */
};

#define LISTING_INIT { .kind = LISTING_NONE }

/* l becomes an empty listing of kind, titled title (copied). */
void listing_init(struct listing *l, enum listing_kind kind,
    const char *title);
/* Frees everything l owns; l becomes LISTING_INIT. */
void listing_release(struct listing *l);

/*
 * Appends mirror's snapshots (newest first, each with its time and
 * packages) and channels, read in t, to l->mirrors. Store errors as
 * snap_list(), snap_load(), channel_list() and channel_get() return
 * them; l keeps what was added, to be released.
 */
int listing_add_mirror(struct listing *l, struct store_txn *t,
    const char *mirror, struct merr *err);

struct exposure;

/* Copies e's target's pending fixes (and its latest) into l. */
void listing_set_exposure(struct listing *l, const struct exposure *e);

/* Frees what ro owns (n of them) and the array itself. */
void listing_rollouts_free(struct listing_rollout *ro, size_t n);

/* Appends a suite's name (copied) to l->suites. */
void listing_add_suite(struct listing *l, const char *name);

/* Appends an entry named by name's first len bytes ("/" added for a dir). */
void listing_add_entry(struct listing *l, const char *name, size_t len,
    uint64_t size, bool dir);
/*
 * Sorts l's entries by name and drops the duplicates (a directory is met
 * once per file under it).
 */
void listing_sort_entries(struct listing *l);

#endif
