/*
 * adoption.h: how much of the fleet took each channel's last move, from
 * the requests the server answers (issue 16: fleet adoption).
 *
 * apt announces nothing but its address and User-Agent, so a machine is
 * an address. For each channel, a table of the addresses that fetched
 * from it, with the time each last fetched
 *   - the channel's InRelease, Release or Release.gpg (it ran apt update:
 *     the fleet, counted over a window, Fleet-Window:);
 *   - a by-hash index of the channel's current target (apt fetches an
 *     index by hash only when its hash changed: it took the new indices);
 *   - a pool file of the current target that the previous target (the
 *     channel's prev) did not have (it upgraded to what the move brought).
 * Counts compare those times with the channel's last move.
 *
 * Memory is bounded: a table grows by doubling up to max_clients slots
 * per channel (at most 3/4 used) of 32 bytes: 100,000 clients take
 * 131,072 slots, 4 MiB a channel. A full table drops new addresses and
 * counts them (dropped); the addresses it has keep being counted. The
 * tables are saved to a file (adoption_save: temp + rename) and loaded
 * at start, so counts survive restarts.
 *
 * Threads: adoption_note and adoption_counts may be called from every
 * server thread at once (a mutex a channel, one for the list of them);
 * adoption_save and adoption_load too. A struct adoption is the
 * server's (adoption_free after its threads).
 */
#ifndef MIRRORD_ADOPTION_H
#define MIRRORD_ADOPTION_H

#include <sys/socket.h>

#include "mirrord/common.h"

/* The default and the most slots of one channel's table. */
#define ADOPTION_MAX_CLIENTS	(1u << 20)

enum adoption_what {
	ADOPT_RELEASE,		/* InRelease, Release, Release.gpg */
	ADOPT_INDEX,		/* a by-hash file of the current target */
	ADOPT_POOL		/* a pool file new in the current target */
};

struct adoption_counts {
	uint64_t clients;	/* fetched the Release files in the window */
	uint64_t indices;	/* of all, fetched new indices since the move */
	uint64_t upgraded;	/* fetched a pool file new since the move */
	uint64_t tracked;	/* addresses in the table */
	uint64_t dropped;	/* addresses a full table turned away */
};

struct adoption;

/* Owned; max_slots per channel (0: ADOPTION_MAX_CLIENTS). */
struct adoption *adoption_new(size_t max_slots);
void adoption_free(struct adoption *a);

/*
 * addr fetched what from channel of mirror at now (unix time). Addresses
 * other than AF_INET and AF_INET6 are not counted.
 */
void adoption_note(struct adoption *a, const struct sockaddr *addr,
    const char *mirror, const char *channel, enum adoption_what what,
    int64_t now);

/*
 * Whether addr has fetched a new pool file of channel since moved_at:
 * a server asks before checking whether a file is new (a store lookup).
 */
bool adoption_upgraded(struct adoption *a, const struct sockaddr *addr,
    const char *mirror, const char *channel, int64_t moved_at);

/*
 * The counts of channel of mirror: clients that fetched its Release files
 * since now - window, and of all addresses, those that fetched new
 * indices or pool files at or after moved_at (its last move).
 */
void adoption_counts(struct adoption *a, const char *mirror,
    const char *channel, int64_t moved_at, int64_t window, int64_t now,
    struct adoption_counts *out);

/* Where the server keeps the tables of the store at store (owned). */
char *adoption_file(const char *store);

/*
 * The share, 0 to 100, of n's clients that fetched the new indices (0
 * with no client; at most 100: an address may have fetched them and not
 * the Release files within the window).
 */
unsigned adoption_share(const struct adoption_counts *n);

/*
 * Saves every table to path (written to path.tmp, synced, renamed), or
 * loads them from it (a missing file is no error: empty tables; a file
 * that does not parse is MERR_PARSE naming it, and nothing is loaded).
 */
int adoption_save(struct adoption *a, const char *path, struct merr *err);
int adoption_load(struct adoption *a, const char *path, struct merr *err);

#endif
