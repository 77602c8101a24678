/*
 * phase.h: server-side phasing — how Ubuntu rolls out its own updates,
 * done by mirrord for a rollout's step.
 *
 * apt (>= 2.1; Debian's 2.6 too) holds back an upgrade to a version whose
 * Packages paragraph says "Phased-Update-Percentage: N" unless the
 * machine's hash of (source, version, machine-id) falls under N; 0 holds
 * everyone back, no field lets everyone through. mirrord phases a step
 * by serving, in its channel, a copy of the step's target snapshot in
 * which every binary paragraph whose (package, architecture, version) the
 * previous target lacked — what this step brings new — carries the field.
 * Paragraphs of security suites (patch_security_suite()) are never phased
 * (apt exempts security updates too). A paragraph that upstream already
 * phases keeps the lower of the two percentages.
 *
 * The copy is a composed snapshot of kind SNAP_PHASE: its changed
 * Packages indices are written and its suites signed by mirrord, the
 * rest are the target's files; its pool is the target's (no byte is
 * copied). Raising a phase makes another; 100 is the target itself.
 */
#ifndef MIRRORD_PHASE_H
#define MIRRORD_PHASE_H

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/gpg.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"

/*
 * Makes and commits the phased copy of snapshot target (an ID; a phase
 * snapshot is taken back to the snapshot it copies) over prev (the ID the
 * channel served before the step; what it has is not new), at percent
 * (0..99), for mirror m; id gets the new snapshot's ID and *nphased (may
 * be NULL) how many paragraphs carry the field. If none would, nothing is
 * written and id gets target (*nphased 0). The caller holds the store's
 * writer lock (compose_commit). Errors: MERR_INVAL for percent over 99,
 * MERR_NOTFOUND for an unknown snapshot, the store's, the indices',
 * the signer's.
 */
int phase_make(struct store *s, struct gpg_signer *g,
    const struct conf_mirror *m, const char *target, const char *prev,
    unsigned percent, char id[SNAP_ID_LEN + 1], size_t *nphased,
    struct merr *err);

/*
 * The snapshot a phase snapshot copies (its recipe's "target" line), for
 * comparing a channel's target with a rollout's snapshot: sn->id for any
 * other snapshot. Into base; false if a phase's recipe names none.
 */
bool phase_base(const struct snap *sn, char base[SNAP_ID_LEN + 1]);

/* A phase snapshot's percentage (its recipe's "percent N"), else -1. */
int phase_percent(const struct snap *sn);

struct channel_move_opts;

/*
 * Sets channel of mirror m to target at percent: 100 moves it to target
 * itself; below, to phase_make()'s copy of target over what the channel
 * served before this step (if it serves a phase of target already, what
 * that phase is over; else its target). A move to where it is already is
 * no error. moved_to gets the snapshot it serves; *nphased (may be NULL)
 * as phase_make's. The caller holds the store's writer lock and its
 * channel lock. Errors: phase_make's, channel_promote's.
 */
int phase_channel(struct store *s, struct gpg_signer *g,
    const struct conf_mirror *m, const char *channel, const char *target,
    unsigned percent, const struct channel_move_opts *mo,
    char moved_to[SNAP_ID_LEN + 1], size_t *nphased, struct merr *err);

#endif
