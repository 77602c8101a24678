/*
 * confroll.h: rollout plans in the configuration (`Rollout: NAME`
 * stanzas), for conf.c and the rollout engine (rollout.h).
 *
 * A stanza with a Rollout: field is a plan, in the main file or in any
 * mirrors.d/ *.sources file (beside the mirror it rolls out, usually).
 * Keys (case-insensitive): Rollout (the plan's name, as a mirror's),
 * Mirror (required, a configured mirror), From (default "latest", or a
 * channel), Steps (required: "canary 4h, staging 24h, production":
 * channels with soak durations; the last may have none), Health-Check
 * (an http(s) URL, or an absolute path to an executable and its
 * arguments; %c and %s are the channel and the snapshot ID, substituted
 * when the check runs), Health-Timeout (default 30s),
 * Phases ("10 25 50 100 every 6h": percentages, increasing, ending at
 * 100, for the last step), Security (immediate|soak, default soak),
 * On-Failure (halt|rollback, default halt), Supersede (yes|no, default
 * no). mirrord.conf(5) says what each does.
 *
 * Errors are MERR_CONF, "'FILE' line N: rollout 'NAME': ..." naming the
 * key. A struct conf_rollout owns its strings; it lives in a struct conf
 * and shares its threading rules (immutable once loaded).
 */
#ifndef MIRRORD_CONFROLL_H
#define MIRRORD_CONFROLL_H

#include "mirrord/common.h"

struct conf;
struct confkey_src;
struct deb822_para;

#define CONFROLL_STEPS_MAX 16
#define CONFROLL_PHASES_MAX 16

struct conf_rollout_step {
	char *channel;
	long soak;		/* seconds; 0: none (the last step only) */
};

struct conf_rollout {
	char *name;		/* a mirror-shaped name */
	char *mirror;		/* a configured mirror */
	char *from;		/* "latest" or a channel name */
	struct conf_rollout_step *steps;
	size_t nsteps;		/* 1..CONFROLL_STEPS_MAX */
	char *check;		/* Health-Check: as written (URL, or path and
				 * arguments), or NULL */
	bool check_url;		/* check is an http(s) URL */
	long check_timeout;	/* seconds, > 0 */
	unsigned phases[CONFROLL_PHASES_MAX];	/* increasing, last 100 */
	size_t nphases;		/* 0: no phasing */
	long phase_every;	/* seconds between raises */
	bool security_immediate;	/* Security: immediate */
	bool rollback;		/* On-Failure: rollback */
	bool supersede;		/* Supersede: yes */
	/*
	 * Require-Adoption: N%: a step's soak ends only when N% of the
	 * channel's fleet (adoption.h: the addresses that ran apt update
	 * on it within Fleet-Window:) fetched the indices of its last move.
	 * 0: not required.
	 */
	unsigned require_adoption;
	char *file;		/* where it was defined, for messages */
	unsigned line;
};

/*
 * Parses the stanza para (which has a Rollout: field) from src and adds
 * the plan to c. A duplicate plan name, an unknown key, a missing
 * required key, a bad value (a duration, a channel name, the same
 * channel twice among the steps, a Health-Check that is neither an
 * http(s) URL nor an executable file) is MERR_CONF naming file, line and
 * key. Mirror: is checked later, by confroll_check().
 */
int confroll_parse(struct conf *c, const struct confkey_src *src,
    const struct deb822_para *para, struct merr *err);

/*
 * Checks the plans of a loaded c against its mirrors: each names a
 * configured mirror, and no channel is a step of two plans of one mirror
 * nor its plan's From. MERR_CONF naming the plan's file and line.
 */
int confroll_check(const struct conf *c, struct merr *err);

/* The plan named name, or NULL. Valid while c lives. */
const struct conf_rollout *conf_rollout(const struct conf *c,
    const char *name);

/* Frees what r owns (not r itself). */
void confroll_release(struct conf_rollout *r);

#endif
