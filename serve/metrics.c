/*
 * metrics.c: Prometheus counters and gauges.
 */
#include "mirrord/common.h"

#include <time.h>

#include "mirrord/adoption.h"
#include "mirrord/channel.h"
#include "mirrord/exposure.h"
#include "mirrord/odstats.h"
#include "mirrord/replica.h"
#include "mirrord/rollout.h"
#include "mirrord/snap.h"
#include "mirrord/status.h"
#include "serve/listing.h"
#include "serve/metrics.h"
#include "serve/ondemand.h"

static const int metrics_codes[] = METRICS_CODES;

void
metrics_init(struct metrics *m, struct metrics_req **req, size_t nreq)
{
	m->req = req;
	m->nreq = nreq;
	atomic_init(&m->open_connections, 0);
	atomic_init(&m->refused, 0);
	atomic_init(&m->log_lost, 0);
	atomic_init(&m->log_errno, 0);
	pthread_mutex_init(&m->exposure_lock, NULL);
	pthread_mutex_init(&m->pool_lock, NULL);
	m->npool = 0;
	m->nexposure = 0;
	m->exposure_next = 0;
	m->exposure_computed = 0;
}

void
metrics_req_init(struct metrics_req *r)
{
	size_t i;

	for (i = 0; i < METRICS_NCODES; i++)
		atomic_init(&r->requests[i], 0);
	atomic_init(&r->bytes_sent, 0);
	atomic_init(&r->in_flight, 0);
}

void
metrics_count(struct metrics_req *r, int code, uint64_t bytes)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(metrics_codes); i++)
		if (metrics_codes[i] == code)
			break;
	atomic_fetch_add_explicit(&r->requests[i], 1, memory_order_relaxed);
	if (bytes)
		atomic_fetch_add_explicit(&r->bytes_sent, bytes,
		    memory_order_relaxed);
}

long
metrics_in_flight(const struct metrics *m)
{
	long n = 0;
	size_t i;

	for (i = 0; i < m->nreq; i++)
		n += atomic_load_explicit(&m->req[i]->in_flight,
		    memory_order_relaxed);
	return n;
}

/* Counter k (a code's index, or METRICS_NCODES: bytes) of all threads. */
static uint64_t
sum(const struct metrics *m, size_t k)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < m->nreq; i++)
		v += atomic_load_explicit(k < METRICS_NCODES ?
		    &m->req[i]->requests[k] : &m->req[i]->bytes_sent,
		    memory_order_relaxed);
	return v;
}

/* A snapshot ID is its UTC commit time: YYYYMMDDTHHMMSSZ to unix time. */
static int64_t
id_time(const char *id)
{
	struct tm tm;
	int y, mo, d, h, mi, s;

	if (sscanf(id, "%4d%2d%2dT%2d%2d%2dZ", &y, &mo, &d, &h, &mi,
	    &s) != 6)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

/* A label value: names are [a-z0-9._-], but escape as the format says. */
static void
label(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_addc(b, '\\');
		if (*s == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *s);
	}
}

static void
help(struct buf *b, const char *name, const char *type, const char *text)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* A channel whose exposure /metrics reports, as read in the transaction. */
struct expo_chan {
	const struct conf_mirror *cm;
	char channel[CHANNEL_NAME_MAX + 1];
	char target[SNAP_ID_LEN + 1];
	char latest[SNAP_ID_LEN + 1];
};

struct expo_list {
	struct expo_chan *v;
	size_t n;
};

static bool
expo_same(const struct metrics_exposure *x, const char *mirror,
    const char *target, const char *latest)
{
	return strcmp(x->mirror, mirror) == 0 &&
	    strcmp(x->target, target) == 0 && strcmp(x->latest, latest) == 0;
}

/* Puts x (taken) into the cache, in place of one with its key if any. */
static struct metrics_exposure *
expo_store(struct metrics *m, struct metrics_exposure *x)
{
	size_t i;

	m->exposure_computed++;
	for (i = 0; i < m->nexposure; i++)
		if (expo_same(&m->exposure[i], x->mirror, x->target,
		    x->latest))
			break;
	if (i < m->nexposure) {
		exposure_release(&m->exposure[i].e);	/* the same key */
	} else if (m->nexposure < METRICS_EXPOSURE_MAX) {
		m->nexposure++;
	} else {
		i = m->exposure_next++ % METRICS_EXPOSURE_MAX;
		exposure_release(&m->exposure[i].e);
	}
	m->exposure[i] = *x;
	return &m->exposure[i];
}

/*
 * Calls fn with the exposure of target against latest (from the cache,
 * else computed outside the lock and then kept: two threads at once may
 * both compute it, and get the same answer), under the cache's lock.
 */
static void
expo_with(struct metrics *m, struct store *s, const struct conf *c,
    const struct conf_mirror *cm, const char *target, const char *latest,
    void (*fn)(void *ctx, const struct metrics_exposure *x), void *ctx)
{
	struct metrics_exposure x, *hit = NULL;
	struct exposure_opts o = { c };
	struct merr err = { 0 };
	size_t i;

	pthread_mutex_lock(&m->exposure_lock);
	for (i = 0; i < m->nexposure && hit == NULL; i++)
		if (expo_same(&m->exposure[i], cm->name, target, latest))
			hit = &m->exposure[i];
	if (hit)
		fn(ctx, hit);
	pthread_mutex_unlock(&m->exposure_lock);
	if (hit)
		return;
	memset(&x, 0, sizeof(x));
	snprintf(x.mirror, sizeof(x.mirror), "%s", cm->name);
	snprintf(x.target, sizeof(x.target), "%s", target);
	snprintf(x.latest, sizeof(x.latest), "%s", latest);
	x.ok = exposure_compute(s, cm, target, &o, &x.e, &err) == 0;
	/* What it was computed against, if a sync came in between. */
	if (x.ok)
		memcpy(x.latest, x.e.latest, sizeof(x.latest));
	pthread_mutex_lock(&m->exposure_lock);
	fn(ctx, expo_store(m, &x));
	pthread_mutex_unlock(&m->exposure_lock);
}

void
metrics_release(struct metrics *m)
{
	size_t i;

	for (i = 0; i < m->nexposure; i++)
		exposure_release(&m->exposure[i].e);
	m->nexposure = 0;
	pthread_mutex_destroy(&m->exposure_lock);
	pthread_mutex_destroy(&m->pool_lock);
}

/* For the gauges: whether computed, how many, the oldest. */
struct expo_counts {
	bool ok;
	size_t pending;
	int64_t oldest;
};

static void
expo_count(void *ctx, const struct metrics_exposure *x)
{
	struct expo_counts *c = ctx;

	c->ok = x->ok;
	c->pending = x->e.n;
	c->oldest = x->e.oldest;
}

static void
expo_listing(void *ctx, const struct metrics_exposure *x)
{
	if (x->ok)
		listing_set_exposure(ctx, &x->e);
}

void
metrics_listing_exposure(struct metrics *m, const struct conf *c,
    struct store *s, const char *mirror, struct listing *l)
{
	const struct conf_mirror *cm = conf_mirror(c, mirror);
	struct merr err = { 0 };
	struct store_txn *t;
	struct snap sn;
	char latest[SNAP_ID_LEN + 1];
	int rc;

	if (cm == NULL || l->kind != LISTING_REF || l->snapshot == NULL)
		return;
	if (store_txn_begin(s, false, &t, &err) != 0)
		return;
	rc = snap_load(t, mirror, "latest", &sn, &err);
	store_txn_abort(t);
	if (rc)
		return;
	memcpy(latest, sn.id, sizeof(latest));
	snap_release(&sn);
	expo_with(m, s, c, cm, l->snapshot, latest, expo_listing, l);
}

/* The two exposure gauges of each channel of l into b. */
static void
expo_gauges(struct metrics *m, struct store *s, const struct conf *conf,
    const struct expo_list *l, int64_t now, struct buf *b)
{
	struct buf oldest = BUF_INIT;
	struct expo_counts x;
	size_t i;

	help(b, "mirrord_channel_security_pending", "gauge",
	    "Security fixes the mirror's latest has and the channel lacks.");
	for (i = 0; i < l->n; i++) {
		const struct expo_chan *c = &l->v[i];

		expo_with(m, s, conf, c->cm, c->target, c->latest, expo_count,
		    &x);
		if (!x.ok)
			continue;
		buf_adds(b, "mirrord_channel_security_pending{mirror=\"");
		label(b, c->cm->name);
		buf_adds(b, "\",channel=\"");
		label(b, l->v[i].channel);
		buf_addf(b, "\"} %zu\n", x.pending);
		buf_adds(&oldest, "mirrord_channel_security_oldest_pending_"
		    "seconds{mirror=\"");
		label(&oldest, c->cm->name);
		buf_adds(&oldest, "\",channel=\"");
		label(&oldest, l->v[i].channel);
		buf_addf(&oldest, "\"} %lld\n",
		    x.pending ? (long long)(now - x.oldest) : 0ll);
	}
	help(b, "mirrord_channel_security_oldest_pending_seconds", "gauge",
	    "Seconds since the oldest of those first appeared in a snapshot "
	    "(0: none pending).");
	if (oldest.len)
		buf_add(b, oldest.p, oldest.len);
	buf_release(&oldest);
	help(b, "mirrord_exposure_computed_total", "counter",
	    "Channel exposures computed (loading indices) rather than taken "
	    "from the cache.");
	pthread_mutex_lock(&m->exposure_lock);
	buf_addf(b, "mirrord_exposure_computed_total %llu\n",
	    (unsigned long long)m->exposure_computed);
	pthread_mutex_unlock(&m->exposure_lock);
}

static int
mirror_gauges(struct store_txn *t, const struct conf_mirror *cm, int64_t now,
    struct buf *snaps, struct buf *ages, struct buf *chans,
    struct expo_list *el, struct merr *err)
{
	const char *mirror = cm->name;
	char **ids, **names;
	char latest[SNAP_ID_LEN + 1] = "";
	struct snap sn;
	size_t n, nc, i;
	int rc;

	rc = snap_list(t, mirror, &ids, &n, err);
	if (rc)
		return rc;
	buf_adds(snaps, "mirrord_snapshots{mirror=\"");
	label(snaps, mirror);
	buf_addf(snaps, "\"} %zu\n", n);
	if (n > 0) {
		buf_adds(ages, "mirrord_snapshot_age_seconds{mirror=\"");
		label(ages, mirror);
		buf_addf(ages, "\"} %lld\n",
		    (long long)(now - id_time(ids[n - 1])));
	}
	strv_free(ids, n);
	rc = n ? snap_load(t, mirror, "latest", &sn, err) : MERR_NOTFOUND;
	if (rc == 0) {
		memcpy(latest, sn.id, sizeof(latest));
		snap_release(&sn);
	} else if (rc != MERR_NOTFOUND) {
		return rc;
	}

	rc = channel_list(t, mirror, &names, &nc, err);
	if (rc)
		return rc;
	for (i = 0; i < nc && rc == 0; i++) {
		struct channel ch;

		rc = channel_get(t, mirror, names[i], &ch, err);
		if (rc)
			break;
		buf_adds(chans, "mirrord_channel_target_age_seconds{mirror=\"");
		label(chans, mirror);
		buf_adds(chans, "\",channel=\"");
		label(chans, ch.name);
		buf_addf(chans, "\"} %lld\n",
		    (long long)(now - id_time(ch.target)));
		if (latest[0] != '\0') {
			struct expo_chan *c;

			el->v = xreallocarray(el->v, el->n + 1,
			    sizeof(*el->v));
			c = &el->v[el->n++];
			c->cm = cm;
			memcpy(c->channel, ch.name, sizeof(c->channel));
			memcpy(c->target, ch.target, sizeof(c->target));
			memcpy(c->latest, latest, sizeof(c->latest));
		}
		channel_free(&ch);
	}
	for (i = 0; i < nc; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* The per-mirror sync metrics: name, type, help, in this order. */
enum {
	SM_OK, SM_ATTEMPT, SM_SUCCESS, SM_DURATION, SM_BYTES, SM_FILES,
	SM_FAILURES, SM_FAILING, SM_WARNINGS, SM_MAX_AGE, SM_N
};

static const struct {
	const char *name, *type, *help;
} sync_metrics[SM_N] = {
	{ "mirrord_sync_ok", "gauge",
	    "1 if the last sync of the mirror succeeded, 0 if it failed." },
	{ "mirrord_sync_last_attempt_timestamp_seconds", "gauge",
	    "When the last sync of the mirror ended, success or not." },
	{ "mirrord_sync_last_success_timestamp_seconds", "gauge",
	    "When the last successful sync of the mirror ended." },
	{ "mirrord_sync_duration_seconds", "gauge",
	    "How long the last sync of the mirror took." },
	{ "mirrord_sync_fetched_bytes", "gauge",
	    "Bytes the last sync of the mirror downloaded." },
	{ "mirrord_sync_fetched_files", "gauge",
	    "Files the last sync of the mirror downloaded." },
	{ "mirrord_sync_failures_total", "counter",
	    "Failed syncs of the mirror, by reason." },
	{ "mirrord_sync_failing_suite", "gauge",
	    "1 for the suite whose failure failed the last sync (holding "
	    "back the mirror's other suites)." },
	{ "mirrord_sync_warnings", "gauge",
	    "Warnings of the last sync (configured things missing "
	    "upstream)." },
	{ "mirrord_sync_max_age_seconds", "gauge",
	    "Max-Sync-Age: /healthz fails when the last success is older." },
};

/* "NAME{mirror=\"M\"" into b: the caller adds labels and the value. */
static void
sample(struct buf *b, int k, const char *mirror)
{
	buf_adds(b, sync_metrics[k].name);
	buf_adds(b, "{mirror=\"");
	label(b, mirror);
	buf_addc(b, '"');
}

static int
sync_gauges(struct store_txn *t, const struct conf *c,
    const struct conf_mirror *cm, struct buf *sb, struct merr *err)
{
	struct status_sync last, ok;
	const char *w;
	unsigned nw = 0;
	int k, rc;

	sample(&sb[SM_MAX_AGE], SM_MAX_AGE, cm->name);
	buf_addf(&sb[SM_MAX_AGE], "} %ld\n", conf_max_sync_age(c, cm));
	rc = status_get_sync(t, cm->name, true, &ok, err);
	if (rc == 0) {
		sample(&sb[SM_SUCCESS], SM_SUCCESS, cm->name);
		buf_addf(&sb[SM_SUCCESS], "} %lld\n",
		    (long long)ok.finished);
		status_sync_release(&ok);
	} else if (rc != MERR_NOTFOUND) {
		return rc;
	}
	rc = status_get_sync(t, cm->name, false, &last, err);
	if (rc)
		return rc == MERR_NOTFOUND ? 0 : rc;
	for (k = 0; k < SM_N; k++) {
		if (k == SM_SUCCESS || k == SM_MAX_AGE || k == SM_FAILURES ||
		    (k == SM_FAILING && (last.ok || last.suite[0] == '\0')))
			continue;
		sample(&sb[k], k, cm->name);
		if (k == SM_FAILING) {
			buf_adds(&sb[k], ",suite=\"");
			label(&sb[k], last.suite);
			buf_addf(&sb[k], "\",reason=\"%s\"",
			    status_reason_name(last.reason));
		}
		buf_adds(&sb[k], "} ");
	}
	for (w = last.warnings; w != NULL && (w = strchr(w, '\n')) != NULL;
	    w++)
		nw++;
	buf_addf(&sb[SM_OK], "%d\n", last.ok ? 1 : 0);
	buf_addf(&sb[SM_ATTEMPT], "%lld\n", (long long)last.finished);
	buf_addf(&sb[SM_DURATION], "%lld\n",
	    (long long)(last.finished - last.started));
	buf_addf(&sb[SM_BYTES], "%llu\n",
	    (unsigned long long)last.fetched_bytes);
	buf_addf(&sb[SM_FILES], "%llu\n",
	    (unsigned long long)last.fetched_files);
	if (!last.ok && last.suite[0] != '\0')
		buf_adds(&sb[SM_FAILING], "1\n");
	buf_addf(&sb[SM_WARNINGS], "%u\n", nw);
	for (k = 0; k < STATUS_NREASONS; k++) {
		sample(&sb[SM_FAILURES], SM_FAILURES, cm->name);
		buf_addf(&sb[SM_FAILURES], ",reason=\"%s\"} %llu\n",
		    status_reason_name((enum status_reason)k),
		    (unsigned long long)last.fails[k]);
	}
	status_sync_release(&last);
	return 0;
}

/*
 * The rollout plans (rollout.h): each one's step (1.., 0: none yet),
 * whether it is halted, and the seconds to its next action (0: due now;
 * -1: none planned: done, halted, paused, or waiting for a snapshot).
 */
static int
rollout_gauges(struct store_txn *t, const struct conf *c, int64_t now,
    struct buf *b, struct merr *err)
{
	struct buf step = BUF_INIT, halted = BUF_INIT, next = BUF_INIT;
	struct rollout_state st;
	struct rollout_action a;
	int64_t secs;
	size_t i;
	int rc = 0;

	for (i = 0; i < c->nrollouts && rc == 0; i++) {
		const struct conf_rollout *r = &c->rollouts[i];

		rc = rollout_peek(t, r, now, &st, &a, err);
		if (rc)
			break;
		secs = a.act != ROLLOUT_WAIT ? 0 : a.at > 0 ? a.at - now : -1;
		buf_adds(&step, "mirrord_rollout_step{rollout=\"");
		label(&step, r->name);
		buf_adds(&step, "\",mirror=\"");
		label(&step, r->mirror);
		buf_addf(&step, "\"} %d\n", st.step + 1);
		buf_adds(&halted, "mirrord_rollout_halted{rollout=\"");
		label(&halted, r->name);
		buf_addf(&halted, "\"} %d\n",
		    st.status == ROLLOUT_HALTED ? 1 : 0);
		buf_adds(&next, "mirrord_rollout_next_action_seconds"
		    "{rollout=\"");
		label(&next, r->name);
		buf_addf(&next, "\"} %lld\n", (long long)secs);
	}
	if (rc == 0 && c->nrollouts > 0) {
		help(b, "mirrord_rollout_step", "gauge",
		    "The step each rollout plan has reached (1..; 0: none).");
		buf_add(b, step.p, step.len);
		help(b, "mirrord_rollout_halted", "gauge",
		    "1 if the rollout plan is halted (a failed check).");
		buf_add(b, halted.p, halted.len);
		help(b, "mirrord_rollout_next_action_seconds", "gauge",
		    "Seconds to the plan's next action (-1: none planned).");
		buf_add(b, next.p, next.len);
	}
	buf_release(&step);
	buf_release(&halted);
	buf_release(&next);
	return rc;
}

/*
 * A replica's lag (docs/monitoring.md): seconds since its last poll that
 * found it at the primary's generation (+Inf before the first), and when
 * that was. Nothing on a store that is no replica.
 */
static int
replica_gauges(struct store_txn *t, const struct conf *c, int64_t now,
    struct buf *b, struct merr *err)
{
	struct replica_state st;
	int64_t lag;
	int rc;

	if (!replica_is(c))
		return 0;
	rc = replica_state_get(t, &st, err);
	if (rc)
		return rc;
	lag = replica_lag(&st, now);
	help(b, "mirrord_replica_lag_seconds", "gauge",
	    "Seconds since this replica last found itself at its primary's "
	    "state.");
	if (lag < 0)
		buf_adds(b, "mirrord_replica_lag_seconds +Inf\n");
	else
		buf_addf(b, "mirrord_replica_lag_seconds %lld\n",
		    (long long)lag);
	help(b, "mirrord_replica_last_success_timestamp_seconds", "gauge",
	    "When this replica last found itself at its primary's state.");
	buf_addf(b, "mirrord_replica_last_success_timestamp_seconds %lld\n",
	    (long long)st.last_success);
	help(b, "mirrord_replica_applied_timestamp_seconds", "gauge",
	    "The time of the primary's state this replica serves.");
	buf_addf(b, "mirrord_replica_applied_timestamp_seconds %lld\n",
	    (long long)st.time);
	return 0;
}

/* An S3 store's backend counters (store_s3_stats); none for files. */
static void
s3_gauges(struct buf *b, const struct store *s)
{
	struct store_s3_stats st;
	size_t i;

	store_s3_stats(s, &st);
	const struct { const char *name, *type, *help; uint64_t v; } g[] = {
		{ "mirrord_s3_uploads_total", "counter", "Blobs uploaded to "
		    "the bucket (acknowledged).", st.uploads },
		{ "mirrord_s3_upload_failures_total", "counter", "Uploads "
		    "that failed after the retries.", st.upload_failures },
		{ "mirrord_s3_downloads_total", "counter", "Blobs read from "
		    "the bucket into the cache (GETs).", st.downloads },
		{ "mirrord_s3_download_joins_total", "counter", "Readers that "
		    "waited for another's download of a blob.", st.joined },
		{ "mirrord_s3_cache_trims_total", "counter", "Trims of the "
		    "cache to S3-Cache.", st.trims },
		{ "mirrord_s3_cache_files", "gauge", "Blobs cached, as the "
		    "last trim left them.", st.cache_files },
		{ "mirrord_s3_cache_bytes", "gauge", "Bytes cached, as the "
		    "last trim left them.", st.cache_bytes },
		{ "mirrord_s3_cache_max_bytes", "gauge", "S3-Cache.",
		    store_s3_cache_max(s) },
	};

	if (store_s3(s) == NULL)
		return;
	for (i = 0; i < ARRAY_SIZE(g); i++) {
		help(b, g[i].name, g[i].type, g[i].help);
		buf_addf(b, "%s %llu\n", g[i].name,
		    (unsigned long long)g[i].v);
	}
}

int
metrics_render(struct metrics *m, const struct conf *c, struct store *s,
    int64_t now, struct buf *b, struct merr *err)
{
	struct buf snaps = BUF_INIT, ages = BUF_INIT, chans = BUF_INIT;
	struct expo_list el = { NULL, 0 };
	struct buf sb[SM_N], rolls = BUF_INIT;
	struct store_txn *t;
	size_t i;
	int k, rc;

	help(b, "mirrord_http_requests_total", "counter",
	    "HTTP requests answered, by status code.");
	for (i = 0; i < METRICS_NCODES; i++) {
		uint64_t v = sum(m, i);

		if (i < ARRAY_SIZE(metrics_codes))
			buf_addf(b, "mirrord_http_requests_total{code=\"%d\"} "
			    "%llu\n", metrics_codes[i], (unsigned long long)v);
		else
			buf_addf(b, "mirrord_http_requests_total"
			    "{code=\"other\"} %llu\n", (unsigned long long)v);
	}
	help(b, "mirrord_http_bytes_sent_total", "counter",
	    "Bytes of response bodies sent.");
	buf_addf(b, "mirrord_http_bytes_sent_total %llu\n",
	    (unsigned long long)sum(m, METRICS_NCODES));
	help(b, "mirrord_http_refused_connections_total", "counter",
	    "Connections closed at once because Max-Clients were open.");
	buf_addf(b, "mirrord_http_refused_connections_total %ld\n",
	    atomic_load_explicit(&m->refused, memory_order_relaxed));
	help(b, "mirrord_http_access_log_lost_total", "counter",
	    "Access-log lines that could not be written whole.");
	buf_addf(b, "mirrord_http_access_log_lost_total %llu\n",
	    (unsigned long long)atomic_load_explicit(&m->log_lost,
	    memory_order_relaxed));
	help(b, "mirrord_http_open_connections", "gauge",
	    "Client connections open now.");
	buf_addf(b, "mirrord_http_open_connections %ld\n",
	    atomic_load_explicit(&m->open_connections, memory_order_relaxed));
	s3_gauges(b, s);

	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	for (k = 0; k < SM_N; k++)
		buf_init(&sb[k]);
	for (i = 0; i < c->nmirrors && rc == 0; i++) {
		rc = mirror_gauges(t, &c->mirrors[i], now, &snaps, &ages,
		    &chans, &el, err);
		if (rc == 0)
			rc = sync_gauges(t, c, &c->mirrors[i], sb, err);
	}
	if (rc == 0)
		rc = rollout_gauges(t, c, now, &rolls, err);
	if (rc == 0)
		rc = replica_gauges(t, c, now, &rolls, err);
	store_txn_abort(t);
	if (rc == 0) {
		help(b, "mirrord_snapshots", "gauge",
		    "Snapshots held, per mirror.");
		if (snaps.len)
			buf_add(b, snaps.p, snaps.len);
		help(b, "mirrord_snapshot_age_seconds", "gauge",
		    "Seconds since the newest snapshot of each mirror.");
		if (ages.len)
			buf_add(b, ages.p, ages.len);
		help(b, "mirrord_channel_target_age_seconds", "gauge",
		    "Seconds since the snapshot each channel points at.");
		if (chans.len)
			buf_add(b, chans.p, chans.len);
		for (k = 0; k < SM_N; k++) {
			help(b, sync_metrics[k].name, sync_metrics[k].type,
			    sync_metrics[k].help);
			if (sb[k].len)
				buf_add(b, sb[k].p, sb[k].len);
		}
		/* After the transaction: this may load indices. */
		expo_gauges(m, s, c, &el, now, b);
	}
	free(el.v);
	if (rc == 0 && rolls.len)
		buf_add(b, rolls.p, rolls.len);
	buf_release(&rolls);
	for (k = 0; k < SM_N; k++)
		buf_release(&sb[k]);
	buf_release(&snaps);
	buf_release(&ages);
	buf_release(&chans);
	return rc;
}

/* One channel's three fleet gauges (channel_each). */
struct fleet_ctx {
	struct adoption *a;
	const struct conf *c;
	int64_t now;
	struct buf g[3];
};

static int
fleet_one(void *ctx, const char *mirror, const struct channel *ch,
    struct merr *err)
{
	static const char *const names[] = { "mirrord_channel_fleet_clients",
	    "mirrord_channel_fleet_new_indices",
	    "mirrord_channel_fleet_upgraded" };
	struct fleet_ctx *x = ctx;
	struct adoption_counts n;
	uint64_t v[3];
	size_t i;

	if (conf_mirror(x->c, mirror) == NULL)
		return 0;
	adoption_counts(x->a, mirror, ch->name, ch->moved_at,
	    x->c->fleet_window, x->now, &n);
	v[0] = n.clients;
	v[1] = n.indices;
	v[2] = n.upgraded;
	for (i = 0; i < 3; i++) {
		buf_addf(&x->g[i], "%s{mirror=\"", names[i]);
		label(&x->g[i], mirror);
		buf_adds(&x->g[i], "\",channel=\"");
		label(&x->g[i], ch->name);
		buf_addf(&x->g[i], "\"} %llu\n", (unsigned long long)v[i]);
	}
	return 0;
}

int
metrics_adoption(struct adoption *a, const struct conf *c, struct store *s,
    int64_t now, struct buf *b, struct merr *err)
{
	static const char *const help_text[][2] = {
		{ "mirrord_channel_fleet_clients", "Addresses that fetched the "
		    "channel's Release files within Fleet-Window." },
		{ "mirrord_channel_fleet_new_indices", "Addresses that fetched "
		    "an index of the channel's target since its last move." },
		{ "mirrord_channel_fleet_upgraded", "Addresses that fetched a "
		    "pool file the channel's last move brought." },
	};
	struct fleet_ctx x = { a, c, now, { BUF_INIT, BUF_INIT, BUF_INIT } };
	struct store_txn *t;
	size_t i;
	int rc;

	if (a == NULL)
		return 0;
	if ((rc = store_txn_begin(s, false, &t, err)))
		return rc;
	rc = channel_each(t, fleet_one, &x, err);
	store_txn_abort(t);
	for (i = 0; i < 3; i++) {
		if (rc == 0) {
			help(b, help_text[i][0], "gauge", help_text[i][1]);
			buf_add(b, x.g[i].p, x.g[i].len);
		}
		buf_release(&x.g[i]);
	}
	return rc;
}

/* The on-demand gauges, each mirror's in this order. */
enum {
	ODM_FETCHES, ODM_BYTES, ODM_FAILURES, ODM_SECONDS_SUM,
	ODM_SECONDS_COUNT, ODM_INFLIGHT, ODM_LAST_FAILURE, ODM_POOL_FILES,
	ODM_POOL_BYTES, ODM_N
};

static const struct {
	const char *name, *type, *help;
} od_metrics[ODM_N] = {
	{ "mirrord_ondemand_fetches_total", "counter",
	    "Pool files fetched and stored on a client's request." },
	{ "mirrord_ondemand_bytes_total", "counter",
	    "Their bytes." },
	{ "mirrord_ondemand_failures_total", "counter",
	    "On-demand fetches that stored nothing (upstream gone or down, "
	    "a wrong file)." },
	{ "mirrord_ondemand_fetch_seconds_sum", "counter",
	    "Seconds the stored on-demand fetches took, summed." },
	{ "mirrord_ondemand_fetch_seconds_count", "counter",
	    "The stored on-demand fetches timed." },
	{ "mirrord_ondemand_inflight", "gauge",
	    "On-demand fetches running or waiting for a slot now." },
	{ "mirrord_ondemand_last_failure_timestamp_seconds", "gauge",
	    "When the last on-demand fetch failed, with what (which file of "
	    "which snapshot, and why) in the label 'what'." },
	{ "mirrord_pool_files", "gauge",
	    "Pool files of the latest snapshot of an on-demand mirror: "
	    "all it references, and those stored." },
	{ "mirrord_pool_bytes", "gauge",
	    "Their bytes." },
};

/* One mirror's on-demand gauges, into g[ODM_N]. */
static int
od_gauges(struct store_txn *t, struct ondemand *od, const char *mirror,
    struct buf *g, struct merr *err)
{
	struct odstats st;
	int k, rc;

	rc = odstats_get(t, mirror, &st, err);
	if (rc)
		return rc;
	/* All but the pool's (od_pool_gauges). */
	for (k = 0; k < ODM_POOL_FILES; k++) {
		if (k == ODM_LAST_FAILURE && st.last_failure == 0)
			continue;
		buf_adds(&g[k], od_metrics[k].name);
		buf_adds(&g[k], "{mirror=\"");
		label(&g[k], mirror);
		buf_addc(&g[k], '"');
		if (k == ODM_LAST_FAILURE) {
			buf_adds(&g[k], ",what=\"");
			label(&g[k], st.last_text);
			buf_addc(&g[k], '"');
		}
		buf_adds(&g[k], "} ");
	}
	buf_addf(&g[ODM_FETCHES], "%llu\n", (unsigned long long)st.fetches);
	buf_addf(&g[ODM_BYTES], "%llu\n", (unsigned long long)st.bytes);
	buf_addf(&g[ODM_FAILURES], "%llu\n", (unsigned long long)st.failures);
	buf_addf(&g[ODM_SECONDS_SUM], "%.3f\n", (double)st.latency_ms / 1000);
	buf_addf(&g[ODM_SECONDS_COUNT], "%llu\n",
	    (unsigned long long)st.fetches);
	buf_addf(&g[ODM_INFLIGHT], "%u\n",
	    od != NULL ? ondemand_inflight(od, mirror) : 0);
	if (st.last_failure != 0)
		buf_addf(&g[ODM_LAST_FAILURE], "%lld\n",
		    (long long)st.last_failure);
	return 0;
}

/*
 * The pool counts of mirror's latest snapshot at txnid into *cc, from
 * m's cache or counted in t (1: the mirror has no snapshot).
 */
static int
od_pool(struct metrics *m, struct store_txn *t, uint64_t txnid,
    const char *mirror, struct content_counts *cc, struct merr *err)
{
	struct metrics_pool *p = NULL;
	struct snap sn;
	size_t i;
	int rc;

	pthread_mutex_lock(&m->pool_lock);
	for (i = 0; i < m->npool && p == NULL; i++)
		if (strcmp(m->pool[i].mirror, mirror) == 0)
			p = &m->pool[i];
	if (p != NULL && p->txnid == txnid) {
		*cc = p->c;
		pthread_mutex_unlock(&m->pool_lock);
		return 0;
	}
	rc = snap_load(t, mirror, "latest", &sn, err);
	if (rc == 0) {
		rc = content_count(t, mirror, sn.seq, cc, err);
		snap_release(&sn);
	} else if (rc == MERR_NOTFOUND)
		rc = 1;
	if (rc == 0 && p == NULL && m->npool < METRICS_POOL_MAX) {
		p = &m->pool[m->npool++];
		snprintf(p->mirror, sizeof(p->mirror), "%s", mirror);
	}
	if (rc == 0 && p != NULL) {
		p->txnid = txnid;
		p->c = *cc;
	}
	pthread_mutex_unlock(&m->pool_lock);
	return rc;
}

/* mirrord_pool_files and _bytes of mirror, into g. */
static int
od_pool_gauges(struct metrics *m, struct store_txn *t, uint64_t txnid,
    const char *mirror, struct buf *g, struct merr *err)
{
	struct content_counts cc;
	uint64_t v[2][2];	/* files, bytes: referenced, stored */
	int j, k, rc;

	rc = od_pool(m, t, txnid, mirror, &cc, err);
	if (rc)
		return rc > 0 ? 0 : rc;
	v[0][0] = cc.files;
	v[0][1] = cc.stored_files;
	v[1][0] = cc.bytes;
	v[1][1] = cc.stored_bytes;
	for (k = 0; k < 2; k++)
		for (j = 0; j < 2; j++) {
			struct buf *o = &g[ODM_POOL_FILES + k];

			buf_adds(o, od_metrics[ODM_POOL_FILES + k].name);
			buf_adds(o, "{mirror=\"");
			label(o, mirror);
			buf_addf(o, "\",state=\"%s\"} %llu\n",
			    j == 0 ? "referenced" : "stored",
			    (unsigned long long)v[k][j]);
		}
	return 0;
}

int
metrics_ondemand(struct metrics *m, struct ondemand *od,
    const struct conf *c, struct store *s, struct buf *b, struct merr *err)
{
	uint64_t txnid;
	struct buf g[ODM_N];
	struct store_txn *t;
	size_t i;
	int k, rc;

	for (i = 0; i < c->nmirrors && !c->mirrors[i].on_demand; i++)
		;
	if (i == c->nmirrors)
		return 0;	/* no on-demand mirror: no such gauges */
	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	txnid = store_txn_id(t);
	for (k = 0; k < ODM_N; k++)
		buf_init(&g[k]);
	for (i = 0; i < c->nmirrors && rc == 0; i++) {
		if (!c->mirrors[i].on_demand)
			continue;
		rc = od_gauges(t, od, c->mirrors[i].name, g, err);
		if (rc == 0)
			rc = od_pool_gauges(m, t, txnid, c->mirrors[i].name, g,
			    err);
	}
	store_txn_abort(t);
	for (k = 0; k < ODM_N; k++) {
		if (rc == 0) {
			help(b, od_metrics[k].name, od_metrics[k].type,
			    od_metrics[k].help);
			if (g[k].len)
				buf_add(b, g[k].p, g[k].len);
		}
		buf_release(&g[k]);
	}
	return rc;
}
