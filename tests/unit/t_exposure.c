/*
 * t_exposure.c: exposure_compute on stores built here: the pending list
 * (newer in a security suite only; equal, older, a source the ref lacks
 * and a non-security suite are not pending; Security: yes and
 * Security-Suites:), and "pending since" over a history with a gap, a
 * patch snapshot and two snapshots with the same security indices.
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/exposure.h"
#include "serve/listing.h"
#include "serve/metrics.h"
#include "serve/pages.h"
#include "tap.h"
#include "snapfix.h"

#define PKGS "main/binary-amd64/Packages"

/*
 * Stores spec ("name[/source] version arch; ...") as su's Packages
 * (snapfix_spec has no Source: field).
 */
static int
put(struct store *s, struct snap_suite *su, const char *spec,
    struct merr *err)
{
	char name[64], ver[32], arch[32], *src;
	struct buf b = BUF_INIT;
	int n, rc;

	while (sscanf(spec, " %63[^ ] %31[^ ] %31[^ ;]%n", name, ver, arch,
	    &n) == 3) {
		src = strchr(name, '/');
		if (src)
			*src++ = '\0';
		snapfix_para(&b, name, src, ver, arch, NULL);
		spec += n;
		spec += *spec == ';';
	}
	rc = snapfix_index(s, su, PKGS, &b, err);
	if (rc == 0)
		rc = snapfix_add_release(s, su, PKGS, err);
	buf_release(&b);
	return rc;
}

/*
 * Commits a snapshot of mirror with suites stable, stable-security and
 * stable-updates (a NULL spec: the suite is absent); *id gets its ID.
 */
static int
commit(struct snapfix_env *x, const char *mirror, enum snap_kind kind,
    const char *stable, const char *sec, const char *upd,
    char id[SNAP_ID_LEN + 1], struct merr *err)
{
	struct snap sn;
	int rc;

	rc = put(x->s, snapfix_init(&sn), stable, err);
	if (rc == 0 && sec)
		rc = put(x->s, snapfix_add_suite(&sn, "stable-security"), sec,
		    err);
	if (rc == 0 && upd)
		rc = put(x->s, snapfix_add_suite(&sn, "stable-updates"), upd,
		    err);
	sn.kind = kind;
	if (rc == 0)
		rc = snapfix_commit(x->s, mirror, &sn, err);
	memcpy(id, sn.id, SNAP_ID_LEN + 1);
	snap_release(&sn);
	return rc;
}

static void
mirror_init(struct conf_mirror *m, const char *name)
{
	memset(m, 0, sizeof(*m));
	m->name = (char *)name;
	m->deb = true;
}

/* The items of e as "source installed fixed suite;" */
static char *
items(const struct exposure *e)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_adds(&b, "");
	for (i = 0; i < e->n; i++)
		buf_addf(&b, "%s %s %s %s;", e->items[i].source,
		    e->items[i].installed, e->items[i].fixed,
		    e->items[i].suite);
	return buf_detach(&b, NULL);
}

static void
check(struct snapfix_env *x, const struct conf_mirror *m, const char *ref,
    const char *want, const char *what)
{
	struct exposure e;
	struct merr err = { 0, "" };
	char *got;
	int rc;

	rc = exposure_compute(x->s, m, ref, NULL, &e, &err);
	got = items(&e);
	ok(rc == 0, "%s: computed (%s)", what, rc ? err.msg : "ok");
	is_str(got, want, "%s: the pending list", what);
	free(got);
	exposure_release(&e);
}

/* Mirror "a": one target, one latest. */
static void
test_pending(struct snapfix_env *x)
{
	struct conf_mirror m;
	struct merr err = { 0, "" };
	char a1[SNAP_ID_LEN + 1], a2[SNAP_ID_LEN + 1], t[SNAP_ID_LEN + 1];
	char *suites[] = { (char *)"stable-updates" };
	struct exposure e;
	int rc;

	rc = commit(x, "a", SNAP_SYNC, "openssl 1.0 amd64; libssl3/openssl "
	    "1.0 amd64; curl 2.0 amd64; zlib 1.0 amd64; bash 5.0 amd64; "
	    "sudo 1.9 amd64", "curl 1.9 amd64", NULL, a1, &err);
	rc = rc ? rc : commit(x, "a", SNAP_SYNC, "openssl 1.0 amd64; "
	    "libssl3/openssl 1.0 amd64; curl 2.0 amd64; zlib 1.0 amd64; "
	    "bash 5.0 amd64; sudo 1.9 amd64", "libssl3/openssl 1.0.1 amd64; "
	    "curl 2.0 amd64; zlib 0.9 amd64; newpkg 1.0 amd64; "
	    "sudo 1.9+deb1 amd64; sudo 1.9+deb2 amd64", "bash 5.1 amd64", a2,
	    &err);
	rc = rc ? rc : snapfix_promote(x, "a", "prod", a1, t, &err);
	ok(rc == 0, "pending: two snapshots and a channel (%s)",
	    rc ? err.msg : "ok");
	mirror_init(&m, "a");
	/* openssl by its binary's Source:, sudo's newest of two; curl equal,
	 * zlib older, newpkg new, bash in a suite that is no security one. */
	check(x, &m, "prod", "openssl 1.0 1.0.1 stable-security;sudo 1.9 "
	    "1.9+deb2 stable-security;", "pending");
	check(x, &m, a1, "openssl 1.0 1.0.1 stable-security;sudo 1.9 "
	    "1.9+deb2 stable-security;", "pending, by snapshot ID");
	check(x, &m, "latest", "", "latest lacks nothing");
	m.security_all = true;
	check(x, &m, "prod", "bash 5.0 5.1 stable-updates;openssl 1.0 1.0.1 "
	    "stable-security;sudo 1.9 1.9+deb2 stable-security;",
	    "Security: yes");
	m.security_all = false;
	m.security_suites = suites;
	m.nsecurity_suites = 1;
	check(x, &m, "prod", "bash 5.0 5.1 stable-updates;",
	    "Security-Suites: stable-updates");
	mirror_init(&m, "a");
	rc = exposure_compute(x->s, &m, "prod", NULL, &e, &err);
	ok(rc == 0 && strcmp(e.target, a1) == 0 && strcmp(e.latest, a2) == 0
	    && e.n == 2 && e.items[0].since == e.items[1].since &&
	    e.oldest == e.items[0].since && strcmp(e.items[0].since_id, a2) ==
	    0, "pending: target, latest; since is latest's, the first with "
	    "the fixes");
	exposure_release(&e);
	rc = exposure_compute(x->s, &m, "nosuch", NULL, &e, &err);
	ok(rc == MERR_NOTFOUND && strstr(err.msg, "'nosuch'") != NULL,
	    "an unknown ref: MERR_NOTFOUND naming it (%s)", err.msg);
	exposure_release(&e);
	rc = exposure_compute(x->s, &m, "20000101T000000Z", NULL, &e, &err);
	ok(rc == MERR_NOTFOUND, "a time before every snapshot: MERR_NOTFOUND "
	    "(%s)", err.msg);
	exposure_release(&e);
	mirror_init(&m, "empty");
	rc = exposure_compute(x->s, &m, "latest", NULL, &e, &err);
	ok(rc == MERR_NOTFOUND, "a mirror without snapshots: MERR_NOTFOUND "
	    "(%s)", err.msg);
	exposure_release(&e);
}

#define STABLE "openssl 1.0 amd64; sudo 1.0 amd64; gzip 1.0 amd64; " \
	"curl 7.0 amd64"

/* Snapshot time of id, in a transaction of its own. */
static int64_t
snap_time(struct snapfix_env *x, const char *mirror, const char *id)
{
	struct merr err = { 0, "" };
	struct snap sn;
	bool have;
	int64_t t = 0;

	if (snapfix_load(x->s, mirror, id, &sn, &have, &err) == 0 && have) {
		t = sn.time;
		snap_release(&sn);
	}
	return t;
}

/*
 * Mirror "h": h1 (prod) .. h5 (latest), a patch and a phase between h3
 * and h4 (compositions: no state of upstream's history).
 *   h1   security: gzip 1.0
 *   h2   openssl 1.1, sudo 1.1, gzip 1.0, curl 7.1
 *   h2b  the same indices as h2 (not loaded again)
 *   h3   openssl 1.1, gzip 1.0, curl 7.1          (sudo's fix gone)
 *   P    a patch: gzip 1.0 only (skipped, or curl would stop there)
 *   F    a phase: the same (skipped too)
 *   h4   openssl 1.2, sudo 1.1, gzip 1.1, curl 7.1
 *   h5   the same as h4 (latest: h4 needs no load)
 */
static void
test_since(struct snapfix_env *x)
{
	static const char *sec[] = {
		"gzip 1.0 amd64",
		"openssl 1.1 amd64; sudo 1.1 amd64; gzip 1.0 amd64; "
		    "curl 7.1 amd64",
		"openssl 1.1 amd64; sudo 1.1 amd64; gzip 1.0 amd64; "
		    "curl 7.1 amd64",
		"openssl 1.1 amd64; gzip 1.0 amd64; curl 7.1 amd64",
		"gzip 1.0 amd64",
		"gzip 1.0 amd64",
		"openssl 1.2 amd64; sudo 1.1 amd64; gzip 1.1 amd64; "
		    "curl 7.1 amd64",
		"openssl 1.2 amd64; sudo 1.1 amd64; gzip 1.1 amd64; "
		    "curl 7.1 amd64",
	};
	char id[8][SNAP_ID_LEN + 1], t[SNAP_ID_LEN + 1];
	struct merr err = { 0, "" };
	struct conf_mirror m;
	struct exposure e;
	int64_t h2, h4;
	size_t i;
	int rc = 0;

	for (i = 0; i < 8 && rc == 0; i++)
		rc = commit(x, "h", i == 4 ? SNAP_PATCH : i == 5 ? SNAP_PHASE :
		    SNAP_SYNC, STABLE, sec[i], NULL, id[i], &err);
	rc = rc ? rc : snapfix_promote(x, "h", "prod", id[0], t, &err);
	ok(rc == 0, "since: eight snapshots, a patch and a phase (%s)",
	    rc ? err.msg : "ok");
	if (rc)
		return;
	h2 = snap_time(x, "h", id[1]);
	h4 = snap_time(x, "h", id[6]);
	ok(h2 > 0 && h4 > h2, "since: the snapshots' times");
	mirror_init(&m, "h");
	rc = exposure_compute(x->s, &m, "prod", NULL, &e, &err);
	ok(rc == 0 && e.n == 4 && strcmp(e.latest, id[7]) == 0,
	    "since: 4 pending against h5 (%s)", rc ? err.msg : "ok");
	if (rc == 0 && e.n == 4) {
		/* curl, gzip, openssl, sudo */
		ok(e.items[0].since == h2 && strcmp(e.items[0].since_id,
		    id[1]) == 0, "since: curl 7.1 since h2 (the patch and "
		    "the phase without it skipped)");
		ok(e.items[1].since == h4 && strcmp(e.items[1].since_id,
		    id[6]) == 0, "since: gzip 1.1 since h4");
		ok(e.items[2].since == h4 && strcmp(e.items[2].fixed, "1.2") ==
		    0, "since: openssl 1.2 since h4, not h2's 1.1");
		ok(e.items[3].since == h4, "since: sudo 1.1 since h4: it "
		    "vanished in h3");
		is_int((int)e.oldest, (int)h2, "since: the oldest is curl's");
		is_int((int)e.history_seen, 5, "since: h4, h3, h2b, h2, h1 "
		    "looked at, the patch and the phase not");
		is_int((int)e.history_loads, 3, "since: h4 (h5's indices) and "
		    "h2 (h2b's) not loaded");
	}
	exposure_release(&e);
	rc = exposure_compute(x->s, &m, id[3], NULL, &e, &err);
	ok(rc == 0 && e.n == 3 && e.history_seen == 2, "since: against h3, "
	    "the walk stops at h3 (after h4) once every item is settled "
	    "(%zu seen)", e.history_seen);
	exposure_release(&e);
}

/* The value of a /metrics line starting with prefix, or -1. */
static long long
metric(const struct buf *b, const char *prefix)
{
	const char *p = b->p;
	size_t n = strlen(prefix);

	while (p != NULL && p < b->p + b->len) {
		if (strncmp(p, prefix, n) == 0)
			return strtoll(p + n, NULL, 10);
		p = memchr(p, '\n', b->len - (size_t)(p - b->p));
		p = p ? p + 1 : NULL;
	}
	return -1;
}

/*
 * Mirror "h" (test_since) served: /metrics counts prod's 4 pending fixes,
 * computed once whatever the scrapes; prod's page lists them (escaped),
 * from the same cache.
 */
static void
test_serve(struct snapfix_env *x)
{
	struct merr err = { 0, "" };
	struct conf c;
	struct conf_mirror m;
	struct metrics *mt = xcalloc(1, sizeof(*mt));
	struct listing l;
	struct buf b = BUF_INIT, page = BUF_INIT;
	struct exposure e;
	int64_t now = (int64_t)time(NULL);
	int rc, k;

	memset(&c, 0, sizeof(c));
	mirror_init(&m, "h");
	c.mirrors = &m;
	c.nmirrors = 1;
	metrics_init(mt, NULL, 0);
	rc = exposure_compute(x->s, &m, "prod", NULL, &e, &err);
	for (k = 0; k < 3 && rc == 0; k++) {
		buf_reset(&b);
		rc = metrics_render(mt, &c, x->s, now, &b, &err);
	}
	ok(rc == 0, "serve: three scrapes (%s)", rc ? err.msg : "ok");
	is_int((int)metric(&b, "mirrord_channel_security_pending{mirror=\"h\","
	    "channel=\"prod\"} "), 4, "serve: prod's 4 pending fixes");
	ok(metric(&b, "mirrord_channel_security_oldest_pending_seconds{"
	    "mirror=\"h\",channel=\"prod\"} ") == now - e.oldest,
	    "serve: the oldest's age");
	is_int((int)metric(&b, "mirrord_exposure_computed_total "), 1,
	    "serve: computed once in three scrapes");
	listing_init(&l, LISTING_REF, "h/prod/");
	l.snapshot = xstrdup(rc == 0 ? e.target : "");
	metrics_listing_exposure(mt, &c, x->s, "h", &l);
	buf_reset(&b);
	rc = metrics_render(mt, &c, x->s, now, &b, &err);
	is_int((int)metric(&b, "mirrord_exposure_computed_total "), 1,
	    "serve: the page took the cached answer");
	ok(l.have_exposure && l.npending == 4 && strcmp(l.pending[0].source,
	    "curl") == 0, "serve: the listing has the 4 items");
	free(l.pending[0].source);
	l.pending[0].source = xstrdup("<curl&>");
	pages_render(&l, &page);
	buf_addc(&page, '\0');
	ok(strstr(page.p, "Security updates pending: 4") != NULL &&
	    strstr(page.p, "<td>&lt;curl&amp;&gt;</td><td>7.0</td><td>7.1"
	    "</td><td>stable-security</td>") != NULL &&
	    strstr(page.p, "<td>sudo</td>") != NULL, "serve: the page lists "
	    "them, escaped");
	listing_release(&l);
	exposure_release(&e);
	metrics_release(mt);
	free(mt);
	buf_release(&b);
	buf_release(&page);
}

int
main(void)
{
	struct merr err = { 0, "" };
	struct snapfix_env x;
	int rc;

	rc = snapfix_env_init(&x, "t_exposure", &err);
	ok(rc == 0, "a store (%s)", rc ? err.msg : "ok");
	if (rc == 0) {
		test_pending(&x);
		test_since(&x);
		test_serve(&x);
	}
	snapfix_env_release(&x);
	return tap_done();
}
