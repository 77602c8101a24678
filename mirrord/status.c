/*
 * status.c: the records of sync results and of the daemon's schedule, and
 * `mirrord status` (see status.h for the formats).
 */
#include "mirrord/common.h"

#include <signal.h>
#include <time.h>

#include "mirrord/channel.h"
#include "mirrord/fmt.h"
#include "mirrord/gc.h"
#include "mirrord/snap.h"
#include "mirrord/status.h"
#include "mirrord/store.h"

#define STATUS_FORMAT "1"	/* the schedule record's */
#define STATUS_SYNC_FORMAT "2"	/* the sync records' */
#define STATUS_SYNC_FORMAT1 "1"	/* read, no longer written */
#define STATUS_VALUE_MAX 8192	/* longer records are cut (the error) */

/* A record's name under its mirror in TBL_META (store_meta_*). */
#define NAME(n) (n), sizeof(n) - 1

static const char *const status_reasons[STATUS_NREASONS] = {
	"other", "signature", "network", "hash", "disk", "config"
};

const char *
status_reason_name(enum status_reason r)
{
	return (unsigned)r < STATUS_NREASONS ? status_reasons[r] : "other";
}

void
status_sync_release(struct status_sync *r)
{
	if (r == NULL)
		return;
	free(r->error);
	r->error = NULL;
	free(r->warnings);
	r->warnings = NULL;
}

/* A field without the newlines that separate fields. */
static void
add_field(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		buf_addc(b, *s == '\n' ? ' ' : *s);
	buf_addc(b, '\n');
}

static void
sync_encode(struct buf *v, const struct status_sync *r)
{
	const char *w, *nl;
	size_t i, nw = 0, wlen = 0;

	buf_reset(v);
	buf_addf(v, STATUS_SYNC_FORMAT "\n%s\n%lld\n%lld\n",
	    r->ok ? "ok" : "failed", (long long)r->started,
	    (long long)r->finished);
	add_field(v, r->snapshot);
	buf_addf(v, "%llu\n%llu\n", (unsigned long long)r->fetched_files,
	    (unsigned long long)r->fetched_bytes);
	add_field(v, r->by);
	add_field(v, r->ok ? "" : status_reason_name(r->reason));
	add_field(v, r->suite);
	buf_addf(v, "%lld\n", (long long)r->failing_since);
	for (i = 0; i < STATUS_NREASONS; i++)
		buf_addf(v, "%s%llu", i ? " " : "",
		    (unsigned long long)r->fails[i]);
	buf_addc(v, '\n');
	/* Whole lines only, up to a bound. */
	for (w = r->warnings; w != NULL && *w != '\0'; w = nl + 1, nw++) {
		nl = strchr(w, '\n');
		if (nl == NULL || nl - r->warnings >= STATUS_VALUE_MAX)
			break;
		wlen = (size_t)(nl + 1 - r->warnings);
	}
	buf_addf(v, "%zu\n", nw);
	buf_add(v, r->warnings, wlen);
	if (!r->ok && r->error != NULL)
		buf_add(v, r->error, strnlen(r->error, STATUS_VALUE_MAX));
}

int
status_put_sync(struct store_txn *t, const char *mirror,
    const struct status_sync *r, struct merr *err)
{
	struct buf v = BUF_INIT;
	struct status_sync rr = *r, prev;
	struct merr e2 = { 0 };
	size_t i;
	int rc;

	/* The counters and the start of the failures carry on. */
	memset(rr.fails, 0, sizeof(rr.fails));
	rr.failing_since = r->ok ? 0 : r->started;
	rc = status_get_sync(t, mirror, false, &prev, &e2);
	if (rc == 0) {
		for (i = 0; i < STATUS_NREASONS; i++)
			rr.fails[i] = prev.fails[i];
		if (!r->ok && !prev.ok && prev.failing_since > 0)
			rr.failing_since = prev.failing_since;
		status_sync_release(&prev);
	} else if (rc != MERR_NOTFOUND) {
		if (err != NULL)
			*err = e2;
		return rc;
	}
	if (!r->ok && (unsigned)r->reason < STATUS_NREASONS)
		rr.fails[r->reason]++;
	r = &rr;
	sync_encode(&v, r);
	rc = store_meta_put(t, mirror, NAME("status.last"), v.p, v.len, err);
	if (rc == 0 && r->ok)
		rc = store_meta_put(t, mirror, NAME("status.ok"), v.p, v.len,
		    err);
	buf_release(&v);
	return rc;
}

int
status_record_sync(struct store *s, const char *mirror,
    const struct status_sync *r, struct merr *err)
{
	struct store_txn *t;
	int rc;

	rc = store_txn_begin(s, true, &t, err);
	if (rc)
		return rc;
	rc = status_put_sync(t, mirror, r, err);
	if (rc) {
		store_txn_abort(t);
		return rc;
	}
	return store_txn_commit(t, err);
}

static bool
parse_i64(const char *s, int64_t *out)
{
	uint64_t u;
	bool neg = s[0] == '-';

	if (parse_u64(s + neg, strlen(s + neg), INT64_MAX, &u))
		return false;
	*out = neg ? -(int64_t)u : (int64_t)u;
	return true;
}

/* Format 2's fields after "by", up to the error. */
static bool
sync_decode2(const char **p, const char *end, struct status_sync *r)
{
	char f[64], reason[32], fails[256], *q, *e;
	const char *w0;
	uint64_t nw, i;
	size_t k;

	if (!text_next_line(p, end, reason, sizeof(reason)) ||
	    !text_next_line(p, end, r->suite, sizeof(r->suite)) ||
	    !text_next_line(p, end, f, sizeof(f)) ||
	    !parse_i64(f, &r->failing_since) ||
	    !text_next_line(p, end, fails, sizeof(fails)) ||
	    !text_next_line(p, end, f, sizeof(f)) ||
	    parse_u64(f, strlen(f), 10000, &nw))
		return false;
	for (k = 0; k < STATUS_NREASONS; k++)
		if (strcmp(reason, status_reasons[k]) == 0)
			r->reason = (enum status_reason)k;
	for (k = 0, q = fails; k < STATUS_NREASONS; k++, q = e) {
		errno = 0;
		r->fails[k] = strtoull(q, &e, 10);
		if (e == q || errno)
			return false;
	}
	w0 = *p;
	for (i = 0; i < nw; i++) {
		const char *nl = memchr(*p, '\n', (size_t)(end - *p));

		if (nl == NULL)
			return false;
		*p = nl + 1;
	}
	if (nw > 0)
		r->warnings = xstrndup(w0, (size_t)(*p - w0));
	return true;
}

static bool
sync_decode(const char *val, size_t len, struct status_sync *r)
{
	const char *p = val, *end = val + len;
	char f[64], result[16], files[32], bytes[32];

	char format[8];

	memset(r, 0, sizeof(*r));
	if (!text_next_line(&p, end, format, sizeof(format)) ||
	    (strcmp(format, STATUS_SYNC_FORMAT) &&
	    strcmp(format, STATUS_SYNC_FORMAT1)) ||
	    !text_next_line(&p, end, result, sizeof(result)) ||
	    !text_next_line(&p, end, f, sizeof(f)) || !parse_i64(f, &r->started) ||
	    !text_next_line(&p, end, f, sizeof(f)) ||
	    !parse_i64(f, &r->finished) ||
	    !text_next_line(&p, end, r->snapshot, sizeof(r->snapshot)) ||
	    !text_next_line(&p, end, files, sizeof(files)) ||
	    !text_next_line(&p, end, bytes, sizeof(bytes)) ||
	    !text_next_line(&p, end, r->by, sizeof(r->by)) ||
	    parse_u64(files, strlen(files), UINT64_MAX, &r->fetched_files) ||
	    parse_u64(bytes, strlen(bytes), UINT64_MAX, &r->fetched_bytes))
		return false;
	r->ok = strcmp(result, "ok") == 0;
	r->reason = STATUS_OTHER;
	if (strcmp(format, STATUS_SYNC_FORMAT) == 0 &&
	    !sync_decode2(&p, end, r))
		return false;
	if (!r->ok)
		r->error = xstrndup(p, (size_t)(end - p));
	return true;
}

int
status_get_sync(struct store_txn *t, const char *mirror, bool ok_only,
    struct status_sync *r, struct merr *err)
{
	const void *v;
	size_t vl;
	int rc;

	memset(r, 0, sizeof(*r));
	if (ok_only)
		rc = store_meta_get(t, mirror, NAME("status.ok"), &v, &vl, err);
	else
		rc = store_meta_get(t, mirror, NAME("status.last"), &v, &vl,
		    err);
	if (rc)
		return rc;
	if (!sync_decode(v, vl, r)) {
		status_sync_release(r);
		return merr_set(err, MERR_NOTFOUND, "mirror '%s': status "
		    "record in an unknown format", mirror);
	}
	return 0;
}

int
status_put_next(struct store_txn *t, const char *mirror, int64_t next,
    long pid, struct merr *err)
{
	struct buf v = BUF_INIT;
	int rc;

	if (next == 0) {
		rc = store_meta_del(t, mirror, NAME("status.next"), err);
		if (rc == MERR_NOTFOUND)
			rc = 0;
	} else {
		buf_addf(&v, STATUS_FORMAT "\n%lld\n%ld\n", (long long)next,
		    pid);
		rc = store_meta_put(t, mirror, NAME("status.next"), v.p,
		    v.len, err);
	}
	buf_release(&v);
	return rc;
}

int
status_get_next(struct store_txn *t, const char *mirror, int64_t *next,
    long *pid, struct merr *err)
{
	const char *p, *end;
	const void *v;
	char f[32];
	size_t vl;
	int64_t n, id;
	int rc;

	rc = store_meta_get(t, mirror, NAME("status.next"), &v, &vl, err);
	if (rc)
		return rc;
	p = v;
	end = p + vl;
	if (!text_next_line(&p, end, f, sizeof(f)) || strcmp(f, STATUS_FORMAT) ||
	    !text_next_line(&p, end, f, sizeof(f)) || !parse_i64(f, &n) ||
	    !text_next_line(&p, end, f, sizeof(f)) || !parse_i64(f, &id) || id <= 0)
		return merr_set(err, MERR_NOTFOUND, "mirror '%s': schedule "
		    "record in an unknown format", mirror);
	*next = n;
	*pid = (long)id;
	return 0;
}

/* --- health ------------------------------------------------------------ */

/* "45s", "5m", "6h", "3d", rounded. */
static void
fmt_span(int64_t secs, char *out, size_t n)
{
	long long a = secs < 0 ? 0 : secs;

	if (a >= 2 * 86400)
		snprintf(out, n, "%lldd", (a + 43200) / 86400);
	else if (a >= 2 * 3600)
		snprintf(out, n, "%lldh", (a + 1800) / 3600);
	else if (a >= 120)
		snprintf(out, n, "%lldm", (a + 30) / 60);
	else
		snprintf(out, n, "%llds", a);
}

/*
 * Whether a mirror with these records is stale at now (see
 * status_check_age); if so, appends why to why (no newline).
 */
static bool
sync_stale(const char *mirror, long max_age, bool have_last,
    const struct status_sync *last, bool have_ok,
    const struct status_sync *ok, int64_t now, struct buf *why)
{
	char age[32], lim[32];
	int64_t from;

	if (have_ok)
		from = ok->finished;
	else if (have_last && !last->ok)
		from = last->failing_since ? last->failing_since :
		    last->started;
	else
		return false;	/* never tried */
	if (now - from <= max_age)
		return false;
	fmt_span(now - from, age, sizeof(age));
	fmt_span(max_age, lim, sizeof(lim));
	if (have_ok)
		buf_addf(why, "mirror '%s': last successful sync %s ago, more "
		    "than Max-Sync-Age %s", mirror, age, lim);
	else
		buf_addf(why, "mirror '%s': no successful sync, failing for "
		    "%s, more than Max-Sync-Age %s", mirror, age, lim);
	if (have_last && !last->ok)
		buf_addf(why, ": %s", last->error ? last->error : "");
	return true;
}

int
status_check_age(struct store *s, const struct conf *c, int64_t now,
    struct buf *why, struct merr *err)
{
	struct status_sync last, ok;
	struct store_txn *t;
	bool have_last, have_ok;
	size_t i;
	int rc, n = 0;

	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	for (i = 0; i < c->nmirrors; i++) {
		const struct conf_mirror *m = &c->mirrors[i];

		if (!m->enabled)
			continue;
		rc = status_get_sync(t, m->name, false, &last, err);
		have_last = rc == 0;
		if (rc == 0 || rc == MERR_NOTFOUND)
			rc = status_get_sync(t, m->name, true, &ok, err);
		have_ok = rc == 0;
		if (rc && rc != MERR_NOTFOUND) {
			status_sync_release(&last);
			break;
		}
		rc = 0;
		if (sync_stale(m->name, conf_max_sync_age(c, m), have_last,
		    &last, have_ok, &ok, now, why)) {
			buf_addc(why, '\n');
			n++;
		}
		status_sync_release(&last);
		status_sync_release(&ok);
	}
	store_txn_abort(t);
	return rc ? rc : n;
}

/* --- the report --------------------------------------------------------- */

static bool
pid_alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static int
collect_mirror(struct store_txn *t, const struct conf_mirror *m,
    bool (*alive)(long), int64_t now, struct status_mirror *sm,
    struct merr *err)
{
	char **ids = NULL, **names = NULL;
	size_t n = 0, nn = 0, i;
	struct snap sn;
	int rc;

	sm->name = m->name;
	sm->conf = m;
	sm->enabled = m->enabled;
	rc = status_get_sync(t, m->name, false, &sm->last, err);
	sm->have_last = rc == 0;
	if (rc == 0 || rc == MERR_NOTFOUND)
		rc = status_get_sync(t, m->name, true, &sm->last_ok, err);
	sm->have_ok = rc == 0;
	if (rc == 0 || rc == MERR_NOTFOUND)
		rc = status_get_next(t, m->name, &sm->next, &sm->daemon_pid,
		    err);
	/* Planned by a daemon that has gone: no one will run it. */
	sm->have_next = rc == 0 && alive(sm->daemon_pid);
	if (rc && rc != MERR_NOTFOUND)
		return rc;
	if (m->enabled) {
		struct buf why = BUF_INIT;

		if (sync_stale(m->name, sm->max_sync_age, sm->have_last,
		    &sm->last, sm->have_ok, &sm->last_ok, now, &why))
			sm->stale = xstrdup(why.p);
		buf_release(&why);
	}

	rc = snap_list(t, m->name, &ids, &n, err);
	if (rc)
		return rc;
	sm->nsnaps = n;
	if (n > 0) {
		rc = snap_load(t, m->name, ids[n - 1], &sn, err);
		if (rc == 0) {
			memcpy(sm->newest, sn.id, sizeof(sm->newest));
			sm->newest_time = sn.time;
			sm->newest_packages = sn.packages;
			sm->newest_bytes = sn.bytes;
			if (m->on_demand)
				rc = content_count(t, m->name, sn.seq,
				    &sm->content, err);
			snap_release(&sn);
		}
	}
	if (rc == 0 && m->on_demand)
		status_collect_content(t, m, sm);
	for (i = 0; rc == 0 && i < n; i++) {
		char *note;

		rc = gc_pin_get(t, m->name, ids[i], &note, err);
		if (rc == MERR_NOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc)
			break;
		sm->pins = xreallocarray(sm->pins, sm->npins + 1,
		    sizeof(*sm->pins));
		memcpy(sm->pins[sm->npins].id, ids[i], SNAP_ID_LEN + 1);
		sm->pins[sm->npins++].note = note;
	}
	strv_free(ids, n);
	if (rc)
		return rc;

	rc = channel_list(t, m->name, &names, &nn, err);
	if (rc)
		return rc;
	sm->channels = xcalloc(nn + 1, sizeof(*sm->channels));
	for (i = 0; i < nn; i++) {
		struct status_channel *sc = &sm->channels[i];
		struct channel ch;

		rc = channel_get(t, m->name, names[i], &ch, err);
		if (rc)
			break;
		memcpy(sc->name, ch.name, sizeof(sc->name));
		memcpy(sc->target, ch.target, sizeof(sc->target));
		sc->moved_at = ch.moved_at;
		sc->valid_until = ch.valid_until;
		sc->moved_by = xstrdup(ch.moved_by ? ch.moved_by : "");
		sm->nchannels++;
		channel_free(&ch);
	}
	strv_free(names, nn);
	return rc;
}

/* Blobs the index lists, and their bytes: counters, not a scan. */
static int
collect_blobs(struct store_txn *t, struct status_report *r, struct merr *err)
{
	return store_blob_totals(t, &r->blobs, &r->stored_bytes, err);
}

/* Every snapshot of every mirror and their bytes: counters, not a scan. */
static int
collect_snaps(struct store_txn *t, struct status_report *r, struct merr *err)
{
	return snap_totals(t, &r->snapshots, &r->referenced_bytes, err);
}

int
status_collect(struct store *s, const struct conf *c,
    bool (*alive)(long pid), struct status_report *out, struct merr *err)
{
	struct store_txn *t;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->store = store_dir(s);
	out->now = (int64_t)time(NULL);
	out->mirrors = xcalloc(c->nmirrors + 1, sizeof(*out->mirrors));
	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	for (i = 0; rc == 0 && i < c->nmirrors; i++) {
		out->mirrors[i].max_sync_age = conf_max_sync_age(c,
		    &c->mirrors[i]);
		rc = collect_mirror(t, &c->mirrors[i], alive ? alive :
		    pid_alive, out->now, &out->mirrors[i], err);
		out->nmirrors++;
	}
	if (rc == 0)
		rc = collect_blobs(t, out, err);
	if (rc == 0)
		rc = collect_snaps(t, out, err);
	out->replica_of = c->replica_of;
	if (rc == 0 && replica_is(c))
		rc = replica_state_get(t, &out->replica, err);
	store_txn_abort(t);
	if (out->stored_bytes > 0)
		out->dedup_ratio = (double)out->referenced_bytes /
		    (double)out->stored_bytes;
	return rc;
}

void
status_report_release(struct status_report *r)
{
	size_t i, j;

	for (i = 0; i < r->nmirrors; i++) {
		struct status_mirror *m = &r->mirrors[i];

		status_sync_release(&m->last);
		status_sync_release(&m->last_ok);
		free(m->stale);
		for (j = 0; j < m->nchannels; j++) {
			free(m->channels[j].moved_by);
			free(m->channels[j].exposure_error);
		}
		free(m->channels);
		for (j = 0; j < m->npins; j++)
			free(m->pins[j].note);
		free(m->pins);
	}
	free(r->mirrors);
	memset(r, 0, sizeof(*r));
}

/* --- text --------------------------------------------------------------- */

/* "1.2 GiB" */
static void
fmt_bytes(uint64_t b, char *out, size_t n)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t u = 0;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%llu B", (unsigned long long)b);
	else
		snprintf(out, n, "%.1f %s", v, units[u]);
}

static void
print_sync_text(FILE *f, const char *label, const struct status_sync *s,
    int64_t now)
{
	char when[FMT_TIME_MAX], rel[32], bytes[32];

	fmt_time_utc(s->finished, when);
	fmt_rel(s->finished - now, rel, sizeof(rel));
	fprintf(f, "  %-14s%s at %s (%s, %s, %llds)\n", label,
	    s->ok ? "ok" : "failed", when, rel, s->by,
	    (long long)(s->finished - s->started));
	if (!s->ok) {
		fprintf(f, "  %-14s%s\n", "error:", s->error ? s->error : "");
		fprintf(f, "  %-14s%s", "reason:", status_reason_name(s->reason));
		if (s->suite[0] != '\0')
			fprintf(f, " (suite '%s')", s->suite);
		putc('\n', f);
		return;
	}
	fmt_bytes(s->fetched_bytes, bytes, sizeof(bytes));
	if (s->snapshot[0] != '\0')
		fprintf(f, "  %-14snew snapshot %s (%llu files, %s fetched)\n",
		    "", s->snapshot, (unsigned long long)s->fetched_files,
		    bytes);
	else
		fprintf(f, "  %-14sno change upstream\n", "");
}

/* The suites a failure at one suite kept from advancing, or 0 of them. */
static size_t
held_back(const struct status_mirror *m, const char **out, size_t n)
{
	size_t i, k = 0;

	if (!m->have_last || m->last.ok || m->last.suite[0] == '\0')
		return 0;
	for (i = 0; i < m->conf->nsuites && k < n; i++)
		if (strcmp(m->conf->suites[i], m->last.suite) != 0)
			out[k++] = m->conf->suites[i];
	return k;
}

static void
print_held_text(FILE *f, const struct status_mirror *m)
{
	const char *held[64];
	size_t n = held_back(m, held, ARRAY_SIZE(held)), i;

	if (n == 0)
		return;
	fprintf(f, "  %-14s", "held back:");
	for (i = 0; i < n; i++)
		fprintf(f, "%s'%s'", i ? ", " : "", held[i]);
	fprintf(f, " (suite '%s' failed: %s; a snapshot takes every suite "
	    "at once)\n", m->last.suite, status_reason_name(m->last.reason));
}

static void
print_warnings_text(FILE *f, const struct status_mirror *m)
{
	const char *w, *nl;

	if (!m->have_last || m->last.warnings == NULL)
		return;
	for (w = m->last.warnings; *w != '\0'; w = nl + 1) {
		nl = strchr(w, '\n');
		if (nl == NULL)
			break;
		fprintf(f, "  %-14s%.*s\n", "warning:", (int)(nl - w), w);
	}
}

static void
print_health_text(FILE *f, const struct status_mirror *m)
{
	char lim[32];
	uint64_t total = 0;
	size_t i;
	bool first = true;

	for (i = 0; m->have_last && i < STATUS_NREASONS; i++)
		total += m->last.fails[i];
	if (total > 0) {
		fprintf(f, "  %-14s%llu (", "failures:",
		    (unsigned long long)total);
		for (i = 0; i < STATUS_NREASONS; i++) {
			if (m->last.fails[i] == 0)
				continue;
			fprintf(f, "%s%s %llu", first ? "" : ", ",
			    status_reason_name((enum status_reason)i),
			    (unsigned long long)m->last.fails[i]);
			first = false;
		}
		fputs(")\n", f);
	}
	if (m->stale != NULL) {
		fprintf(f, "  %-14sSTALE: %s\n", "health:", m->stale);
	} else if (m->enabled) {
		fmt_span(m->max_sync_age, lim, sizeof(lim));
		fprintf(f, "  %-14sok (Max-Sync-Age %s)\n", "health:", lim);
	}
}

void
status_print_text(FILE *f, const struct status_report *r)
{
	char when[FMT_TIME_MAX], rel[32], bytes[32], ref[32];
	size_t i, j;

	for (i = 0; i < r->nmirrors; i++) {
		const struct status_mirror *m = &r->mirrors[i];

		fprintf(f, "%smirror %s%s\n", i ? "\n" : "", m->name,
		    m->enabled ? "" : " (Enabled: no)");
		if (m->have_last)
			print_sync_text(f, "last sync:", &m->last, r->now);
		else
			fprintf(f, "  %-14snever\n", "last sync:");
		if (m->have_last && !m->last.ok) {
			if (m->have_ok) {
				fmt_time_utc(m->last_ok.finished, when);
				fmt_rel(m->last_ok.finished - r->now, rel,
				    sizeof(rel));
				fprintf(f, "  %-14s%s (%s)\n", "last success:",
				    when, rel);
			} else {
				fprintf(f, "  %-14snever\n", "last success:");
			}
		}
		print_held_text(f, m);
		print_warnings_text(f, m);
		print_health_text(f, m);
		if (m->have_next) {
			fmt_time_utc(m->next, when);
			fmt_rel(m->next - r->now, rel, sizeof(rel));
			fprintf(f, "  %-14s%s (%s; daemon pid %ld)\n",
			    "next sync:", when, m->next > r->now ? rel :
			    "due now", m->daemon_pid);
		} else {
			fprintf(f, "  %-14sunknown (no daemon running)\n",
			    "next sync:");
		}
		fprintf(f, "  %-14s%zu\n", "snapshots:", m->nsnaps);
		if (m->newest[0] != '\0') {
			fmt_rel(m->newest_time - r->now, rel, sizeof(rel));
			fmt_bytes(m->newest_bytes, bytes, sizeof(bytes));
			fprintf(f, "  %-14s%s (%s, %llu packages, %s)\n",
			    "newest:", m->newest, rel,
			    (unsigned long long)m->newest_packages, bytes);
		}
		if (m->have_content)
			status_print_content(f, m, r->now);
		for (j = 0; j < m->nchannels; j++) {
			const struct status_channel *c = &m->channels[j];

			fmt_time_utc(c->moved_at, when);
			snprintf(ref, sizeof(ref), "%s", j ? "" : "channels:");
			fprintf(f, "  %-14s%-16s -> %s  promoted %s by %s\n",
			    ref, c->name, c->target, when, c->moved_by);
			status_print_channel_extra(f, c, r->now);
		}
		if (m->nchannels == 0)
			fprintf(f, "  %-14snone\n", "channels:");
		for (j = 0; j < m->npins; j++)
			fprintf(f, "  %-14s%s %s\n", j ? "" : "pinned:",
			    m->pins[j].id, m->pins[j].note);
	}
	fmt_bytes(r->stored_bytes, bytes, sizeof(bytes));
	fprintf(f, "%sstore %s\n  %-14s%llu blobs, %s (%llu bytes)\n",
	    r->nmirrors ? "\n" : "", r->store, "stored:",
	    (unsigned long long)r->blobs, bytes,
	    (unsigned long long)r->stored_bytes);
	fmt_bytes(r->referenced_bytes, bytes, sizeof(bytes));
	fprintf(f, "  %-14s%s by %llu snapshots\n", "referenced:", bytes,
	    (unsigned long long)r->snapshots);
	if (r->stored_bytes > 0)
		fprintf(f, "  %-14s%.2f\n", "dedup ratio:", r->dedup_ratio);
	else
		fprintf(f, "  %-14s-\n", "dedup ratio:");
	status_print_replica(f, r);
}

/* --- JSON --------------------------------------------------------------- */

/* status's JSON says null for an absent or empty string */
static void
json_str_or_null(FILE *f, const char *s)
{
	fmt_json_str_or_null(f, s != NULL && *s != '\0' ? s : NULL);
}

static void
print_sync_json(FILE *f, bool have, const struct status_sync *s)
{
	const char *w, *nl;
	char *line;

	if (!have) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"result\":\"%s\",\"started\":%lld,\"finished\":%lld,"
	    "\"snapshot\":", s->ok ? "ok" : "failed", (long long)s->started,
	    (long long)s->finished);
	json_str_or_null(f, s->snapshot);
	fprintf(f, ",\"fetched_files\":%llu,\"fetched_bytes\":%llu,\"by\":",
	    (unsigned long long)s->fetched_files,
	    (unsigned long long)s->fetched_bytes);
	fmt_json_str(f, s->by);
	fputs(",\"error\":", f);
	if (s->ok)
		fputs("null", f);
	else
		fmt_json_str(f, s->error ? s->error : "");
	fputs(",\"reason\":", f);
	json_str_or_null(f, s->ok ? NULL : status_reason_name(s->reason));
	fputs(",\"suite\":", f);
	json_str_or_null(f, s->suite);
	fputs(",\"warnings\":[", f);
	for (w = s->warnings; w != NULL && *w != '\0'; w = nl + 1) {
		nl = strchr(w, '\n');
		if (nl == NULL)
			break;
		if (w != s->warnings)
			putc(',', f);
		line = xstrndup(w, (size_t)(nl - w));
		fmt_json_str(f, line);
		free(line);
	}
	fputs("]}", f);
}

/* "held_back", "failures", "max_sync_age" and "stale" of a mirror. */
static void
print_health_json(FILE *f, const struct status_mirror *m)
{
	const char *held[64];
	size_t n = held_back(m, held, ARRAY_SIZE(held)), i;

	fputs(",\"held_back\":[", f);
	for (i = 0; i < n; i++) {
		if (i)
			putc(',', f);
		fmt_json_str(f, held[i]);
	}
	fputs("],\"failures\":{", f);
	for (i = 0; i < STATUS_NREASONS; i++)
		fprintf(f, "%s\"%s\":%llu", i ? "," : "",
		    status_reason_name((enum status_reason)i),
		    (unsigned long long)(m->have_last ? m->last.fails[i] : 0));
	fprintf(f, "},\"max_sync_age\":%ld,\"stale\":", m->max_sync_age);
	json_str_or_null(f, m->stale);
}

void
status_print_json(FILE *f, const struct status_report *r)
{
	size_t i, j;

	fputs("{\"store\":{\"path\":", f);
	fmt_json_str(f, r->store);
	fprintf(f, ",\"blobs\":%llu,\"stored_bytes\":%llu,\"snapshots\":%llu,"
	    "\"referenced_bytes\":%llu,\"dedup_ratio\":",
	    (unsigned long long)r->blobs, (unsigned long long)r->stored_bytes,
	    (unsigned long long)r->snapshots,
	    (unsigned long long)r->referenced_bytes);
	if (r->stored_bytes > 0)
		fprintf(f, "%.4f", r->dedup_ratio);
	else
		fputs("null", f);
	fputc('}', f);
	status_json_replica(f, r);
	fprintf(f, ",\"time\":%lld,\"mirrors\":[", (long long)r->now);
	for (i = 0; i < r->nmirrors; i++) {
		const struct status_mirror *m = &r->mirrors[i];

		fprintf(f, "%s{\"name\":", i ? "," : "");
		fmt_json_str(f, m->name);
		fprintf(f, ",\"enabled\":%s,\"last_sync\":",
		    m->enabled ? "true" : "false");
		print_sync_json(f, m->have_last, &m->last);
		fputs(",\"last_success\":", f);
		print_sync_json(f, m->have_ok, &m->last_ok);
		print_health_json(f, m);
		fputs(",\"next_sync\":", f);
		if (m->have_next)
			fprintf(f, "%lld,\"daemon_pid\":%ld",
			    (long long)m->next, m->daemon_pid);
		else
			fputs("null,\"daemon_pid\":null", f);
		fprintf(f, ",\"snapshots\":%zu,\"newest\":", m->nsnaps);
		if (m->newest[0] != '\0')
			fprintf(f, "{\"id\":\"%s\",\"time\":%lld,"
			    "\"packages\":%llu,\"bytes\":%llu}", m->newest,
			    (long long)m->newest_time,
			    (unsigned long long)m->newest_packages,
			    (unsigned long long)m->newest_bytes);
		else
			fputs("null", f);
		fputs(",\"channels\":[", f);
		for (j = 0; j < m->nchannels; j++) {
			const struct status_channel *c = &m->channels[j];

			fprintf(f, "%s{\"name\":", j ? "," : "");
			fmt_json_str(f, c->name);
			fprintf(f, ",\"target\":\"%s\",\"moved_at\":%lld,"
			    "\"by\":", c->target, (long long)c->moved_at);
			fmt_json_str(f, c->moved_by);
			fputs(",\"valid_until\":", f);
			if (c->valid_until)
				fprintf(f, "%lld", (long long)c->valid_until);
			else
				fputs("null", f);
			status_json_channel_extra(f, c, r->now);
			putc('}', f);
		}
		fputs("],\"pins\":[", f);
		for (j = 0; j < m->npins; j++) {
			fprintf(f, "%s{\"id\":\"%s\",\"note\":", j ? "," : "",
			    m->pins[j].id);
			fmt_json_str(f, m->pins[j].note);
			putc('}', f);
		}
		putc(']', f);
		status_json_content(f, m);
		putc('}', f);
	}
	fputs("]}\n", f);
}
