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

struct listing_channel {
	char *name;
	char *target;		/* a snapshot ID */
	int64_t moved_at;
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
