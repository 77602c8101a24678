/*
 * closure_int.h: what closure.c (the resolution engine, and patching)
 * shares with closure_include.c (selectors, sources, closure_include).
 * Private to those two files.
 */
#ifndef MIRRORD_CLOSURE_INT_H
#define MIRRORD_CLOSURE_INT_H

#include "mirrord/closure.h"
#include "mirrord/deps.h"

enum { CL_EXCLUDED = 1, CL_SRC_DONE = 2 };

/* Mapped index pages read are given back every so many packages taken. */
#define CL_GIVE_BACK	8

/* A package being expanded: atoms [a0, a1) of the stack, next at pos. */
struct cl_frame {
	uint32_t pkg;
	size_t a0, a1, pos;
};

struct cl_state {
	const struct pkgset *ps;
	const struct closure_opts *o;
	struct closure_result *r;
	uint16_t *visit;	/* pass a package was taken in */
	uint8_t *excluded;	/* CL_EXCLUDED, CL_SRC_DONE */
	uint16_t pass;
	const char *native;	/* this pass's native architecture */
	unsigned layers;	/* bit mask of the layers eligible now */
	unsigned pick_layers;	/* those picks come from */
	bool patch;		/* a pick takes its whole source */
	size_t ntaken;		/* every CL_GIVE_BACK, pkgset_give_back */
	uint32_t *by_src;	/* patch: ids by source name (closure.c) */
	size_t nby_src;
	struct cl_frame *fr;
	size_t nfr, capfr;
	struct dep_atom *at;
	size_t nat, capat;
	struct deps d;
};

/*
 * The state of one call over ps: the result r zeroed and sized, every
 * package eligible, no pass yet. Release with closure_state_release()
 * (r stays the caller's).
 */
void closure_state_init(struct cl_state *st, const struct pkgset *ps,
    const struct closure_opts *o, struct closure_result *r);
void closure_state_release(struct cl_state *st);

/* Whether q is in the result. */
bool closure_selected(const struct cl_state *st, uint32_t q);

/*
 * Takes q in this pass (its why set to kind, from if it had none) and
 * pushes its frame; closure_run() then satisfies its relations, depth
 * first, until the stack is empty. MERR_NOTFOUND (an unsatisfiable
 * dependency, without unsatisfied_warn) or MERR_PARSE.
 */
int closure_take(struct cl_state *st, uint32_t q, enum closure_reason kind,
    uint32_t from, struct merr *err);
int closure_run(struct cl_state *st, struct merr *err);

/*
 * The candidate of a name among its packages of eligibility rank (1: the
 * architecture ctx or all, 2: foreign) for atom a (NULL: any version):
 * the highest version if it satisfies a, else the highest that does.
 * *any: some package had the rank. PKG_NONE if none.
 */
uint32_t closure_candidate(const struct cl_state *st, uint32_t name,
    const struct dep_atom *a, const char *ctx, size_t cl, int rank,
    bool *any);

/* Whether q's source is [sn, sn+sl) (and, sv not NULL, version sv). */
bool closure_is_source(const struct cl_state *st, uint32_t q, const char *sn,
    size_t sl, const char *sv, size_t vl);

#endif
