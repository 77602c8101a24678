/*
 * phase.c: a step's target with Phased-Update-Percentage on what the
 * step brings new (phase.h).
 */
#include "mirrord/common.h"

#include <stdio.h>
#include <time.h>

#include "mirrord/channel.h"
#include "mirrord/compose.h"
#include "mirrord/log.h"
#include "mirrord/patch.h"
#include "mirrord/phase.h"
#include "mirrord/pkgset.h"

#define PHASE_FIELD "Phased-Update-Percentage"

struct phase_work {
	const struct conf_mirror *m;
	unsigned percent;
	struct snap target, prev;
	bool have_target, have_prev;
	struct pkgset *ps;
	uint8_t *phase;		/* by package id: carries the field */
	size_t nphased;
};

/* The ID on the recipe line "<key> ID" of sn into id, or false. */
static bool
phase_recipe_id(const struct snap *sn, const char *key,
    char id[SNAP_ID_LEN + 1])
{
	size_t kl = strlen(key);
	const char *p = sn->recipe;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len == kl + 1 + SNAP_ID_LEN && strncmp(p, key, kl) == 0 &&
		    p[kl] == ' ') {
			memcpy(id, p + kl + 1, SNAP_ID_LEN);
			id[SNAP_ID_LEN] = '\0';
			return true;
		}
		p = nl ? nl + 1 : p + len;
	}
	return false;
}

int
phase_percent(const struct snap *sn)
{
	const char *p;

	if (sn->kind != SNAP_PHASE || sn->recipe == NULL)
		return -1;
	p = strstr(sn->recipe, "\npercent ");
	return p ? (int)strtol(p + 9, NULL, 10) : -1;
}

bool
phase_base(const struct snap *sn, char base[SNAP_ID_LEN + 1])
{
	if (sn->kind != SNAP_PHASE) {
		memcpy(base, sn->id, SNAP_ID_LEN + 1);
		return true;
	}
	return phase_recipe_id(sn, "target", base);
}

/* Loads target (taken back to its base if a phase) and prev. */
static int
phase_load(struct store *s, struct phase_work *w, const char *target,
    const char *prev, struct merr *err)
{
	char base[SNAP_ID_LEN + 1];
	struct store_txn *t;
	int rc;

	if ((rc = store_txn_begin(s, false, &t, err)))
		return rc;
	rc = snap_load(t, w->m->name, target, &w->target, err);
	w->have_target = rc == 0;
	if (rc == 0 && w->target.kind == SNAP_PHASE) {
		if (!phase_base(&w->target, base))
			rc = merr_set(err, MERR_STORE, "phase snapshot '%s' "
			    "names no target", target);
		else {
			snap_release(&w->target);
			rc = snap_load(t, w->m->name, base, &w->target, err);
			w->have_target = rc == 0;
		}
	}
	if (rc == 0) {
		rc = snap_load(t, w->m->name, prev, &w->prev, err);
		w->have_prev = rc == 0;
	}
	store_txn_abort(t);
	return rc;
}

/*
 * Whether binary package q (of the target, layer 0) is in the previous
 * target (layer 1) with the same architecture and version.
 */
static bool
phase_known(const struct pkgset *ps, uint32_t q)
{
	size_t al, vl, bl, wl;
	const char *a = pkgset_field(ps, q, PF_ARCH, &al);
	const char *v = pkgset_field(ps, q, PF_VERSION, &vl);
	uint32_t o;

	for (o = pkgset_first(ps, pkgset_pkg(ps, q)->name); o != PKG_NONE;
	    o = pkgset_pkg(ps, o)->next) {
		const struct pkgset_index *ix = pkgset_index(ps,
		    pkgset_pkg(ps, o)->index);
		const char *b, *x;

		if (ix->layer != 1 || ix->kind != INDEX_PACKAGES)
			continue;
		b = pkgset_field(ps, o, PF_ARCH, &bl);
		x = pkgset_field(ps, o, PF_VERSION, &wl);
		if (bl == al && wl == vl && memcmp(a, b, al) == 0 &&
		    memcmp(v, x, vl) == 0)
			return true;
	}
	return false;
}

/* Marks the target's new binary paragraphs outside security suites. */
static void
phase_mark(struct phase_work *w)
{
	size_t ni = pkgset_nindices(w->ps), i;
	uint32_t id;

	w->phase = xcalloc(pkgset_count(w->ps) + 1, 1);
	for (i = 0; i < ni; i++) {
		const struct pkgset_index *ix = pkgset_index(w->ps,
		    (uint32_t)i);

		if (ix->layer != 0 || ix->kind != INDEX_PACKAGES ||
		    patch_security_suite(w->m, ix->suite))
			continue;
		for (id = ix->first; id < ix->first + ix->count; id++)
			if (!phase_known(w->ps, id))
				w->phase[id] = 1;
	}
}

/*
 * The field's line in paragraph p (len bytes): its start and end (at
 * the newline or the end) and value, or false.
 */
static bool
phase_find(const char *p, size_t len, size_t *ls, size_t *le, long *value)
{
	size_t fl = strlen(PHASE_FIELD), i = 0;

	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - p) : len;

		if (e - i > fl && p[i + fl] == ':' &&
		    str_ieq(p + i, fl, PHASE_FIELD)) {
			char num[16];
			size_t j = i + fl + 1, k = 0;

			while (j < e && (p[j] == ' ' || p[j] == '\t'))
				j++;
			while (j < e && k < sizeof(num) - 1)
				num[k++] = p[j++];
			num[k] = '\0';
			*ls = i;
			*le = e;
			*value = strtol(num, NULL, 10);
			return true;
		}
		i = e + 1;
	}
	return false;
}

/* compose_edit: the field on a marked paragraph, the lower percentage. */
static bool
phase_edit(void *ctx, const struct pkgset *ps, uint32_t id, const char *p,
    size_t len, struct buf *out)
{
	struct phase_work *w = ctx;
	size_t ls, le;
	long up;

	if (!w->phase[id])
		return false;
	if (phase_find(p, len, &ls, &le, &up)) {
		/* Upstream phases it already: the lower of the two. */
		if (up >= 0 && up <= (long)w->percent)
			return false;
		buf_add(out, p, ls);
		buf_addf(out, "%s: %u", PHASE_FIELD, w->percent);
		buf_add(out, p + le, len - le);
	} else {
		buf_add(out, p, len);
		buf_addf(out, "\n%s: %u", PHASE_FIELD, w->percent);
	}
	w->nphased++;
	return true;
}

/* The result's suites (target's, with the marked paragraphs edited). */
static int
phase_write(struct store *s, struct gpg_signer *g, struct phase_work *w,
    struct snap *out, bool *any, struct merr *err)
{
	struct compose_edit edit = { phase_edit, w };
	int64_t now = (int64_t)time(NULL);
	size_t n = pkgset_count(w->ps), i;
	uint8_t *sel = xcalloc(n + 1, 1);
	bool changed;
	int rc = 0;

	for (i = 0; i < n; i++)
		sel[i] = pkgset_index(w->ps,
		    pkgset_pkg(w->ps, (uint32_t)i)->index)->layer == 0;
	out->kind = SNAP_PHASE;
	out->suites = xcalloc(w->target.nsuites + 1, sizeof(*out->suites));
	*any = false;
	for (i = 0; i < w->target.nsuites && rc == 0; i++) {
		rc = compose_write_suite_edit(s, g, w->ps, sel, &edit,
		    &w->target.suites[i], false, now, COMPOSE_UPSTREAM_DIR,
		    &out->suites[i], &changed, err);
		out->nsuites++;
		*any |= changed;
	}
	free(sel);
	return rc;
}

int
phase_make(struct store *s, struct gpg_signer *g,
    const struct conf_mirror *m, const char *target, const char *prev,
    unsigned percent, char id[SNAP_ID_LEN + 1], size_t *nphased,
    struct merr *err)
{
	struct phase_work w;
	struct snap out;
	const struct snap *both[2];
	bool any = false;
	int rc;

	if (percent > 99)
		return merr_set(err, MERR_INVAL, "phase %u%%: 0 to 99 (100 is "
		    "the target itself)", percent);
	memset(&w, 0, sizeof(w));
	memset(&out, 0, sizeof(out));
	w.m = m;
	w.percent = percent;
	w.ps = pkgset_new();
	rc = phase_load(s, &w, target, prev, err);
	if (rc == 0) {
		both[0] = &w.target;
		both[1] = &w.prev;
		rc = compose_load(s, both, 2, w.ps, err);
	}
	if (rc == 0) {
		phase_mark(&w);
		rc = phase_write(s, g, &w, &out, &any, err);
	}
	if (rc == 0 && !any)
		memcpy(id, w.target.id, SNAP_ID_LEN + 1);
	else if (rc == 0) {
		out.recipe = xasprintf("target %s\nover %s\npercent %u\n"
		    "phased %zu paragraphs\n", w.target.id, w.prev.id, percent,
		    w.nphased);
		rc = compose_commit(s, m->name, &out, err);
		if (rc == 0) {
			memcpy(id, out.id, SNAP_ID_LEN + 1);
			log_info("mirror '%s': %s phases %zu paragraphs of %s "
			    "at %u%%", m->name, out.id, w.nphased, w.target.id,
			    percent);
		}
	}
	if (nphased)
		*nphased = rc == 0 && any ? w.nphased : 0;
	if (rc)
		merr_prefix(err, "phase %s at %u%%: ", target, percent);
	snap_release(&out);
	if (w.have_target)
		snap_release(&w.target);
	if (w.have_prev)
		snap_release(&w.prev);
	free(w.phase);
	pkgset_free(w.ps);
	return rc;
}

/*
 * What the channel served before the step to target began: if it serves
 * a phase of target already, what that phase is over; else its target
 * (a phase of another snapshot: the snapshot it copies).
 */
static int
phase_prev(struct store *s, const char *mirror, const char *channel,
    const char *target, char prev[SNAP_ID_LEN + 1], long *cur_pct,
    char cur_id[SNAP_ID_LEN + 1], struct merr *err)
{
	struct store_txn *t;
	struct channel ch;
	struct snap cur, tg;
	char base[SNAP_ID_LEN + 1], tbase[SNAP_ID_LEN + 1];
	int rc;

	if ((rc = store_txn_begin(s, false, &t, err)))
		return rc;
	rc = snap_load(t, mirror, target, &tg, err);
	if (rc == 0) {
		if (!phase_base(&tg, tbase))
			memcpy(tbase, tg.id, SNAP_ID_LEN + 1);
		snap_release(&tg);
		rc = channel_resolve(t, mirror, channel, &cur, &ch, err);
	}
	store_txn_abort(t);
	if (rc)
		return rc;
	channel_free(&ch);
	if (!phase_base(&cur, base))
		rc = merr_set(err, MERR_STORE, "phase snapshot '%s' names no "
		    "target", cur.id);
	else if (strcmp(base, tbase) == 0 && cur.kind == SNAP_PHASE) {
		if (!phase_recipe_id(&cur, "over", prev))
			rc = merr_set(err, MERR_STORE, "phase snapshot '%s' "
			    "names nothing it is over", cur.id);
		*cur_pct = phase_percent(&cur);
		memcpy(cur_id, cur.id, SNAP_ID_LEN + 1);
	} else
		memcpy(prev, base, SNAP_ID_LEN + 1);
	snap_release(&cur);
	return rc;
}

int
phase_channel(struct store *s, struct gpg_signer *g,
    const struct conf_mirror *m, const char *channel, const char *target,
    unsigned percent, const struct channel_move_opts *mo,
    char moved_to[SNAP_ID_LEN + 1], size_t *nphased, struct merr *err)
{
	char prev[SNAP_ID_LEN + 1], id[SNAP_ID_LEN + 1];
	const char *to = target;
	int rc;

	if (nphased)
		*nphased = 0;
	if (percent > 100)
		return merr_set(err, MERR_INVAL, "phase %u%%: 0 to 100",
		    percent);
	if (percent < 100) {
		long cur_pct = -1;
		char cur_id[SNAP_ID_LEN + 1];

		rc = phase_prev(s, m->name, channel, target, prev, &cur_pct,
		    cur_id, err);
		/* That phase already: nothing to make, nowhere to move. */
		if (rc == 0 && cur_pct == (long)percent) {
			memcpy(moved_to, cur_id, SNAP_ID_LEN + 1);
			return 0;
		}
		if (rc == 0)
			rc = phase_make(s, g, m, target, prev, percent, id,
			    nphased, err);
		if (rc)
			return rc;
		to = id;
	}
	rc = channel_promote(s, g, m->name, to, channel, mo, moved_to, err);
	/* Already there (the same phase asked again): not an error. */
	if (rc == MERR_EXISTS) {
		memcpy(moved_to, to, SNAP_ID_LEN + 1);
		rc = 0;
	}
	return rc;
}
