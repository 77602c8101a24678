/*
 * replica.c: a read replica follows its primary (replica.h).
 *
 * A poll that finds a new generation makes a plan (per mirror: the
 * snapshots to add, with their manifests' bytes, and to drop; the
 * primary's pool intervals and channels; every blob they name), fetches
 * what the store lacks, and applies the plan in one transaction. Nothing
 * of the plan is trusted before it is checked: manifests against the
 * hash the snapshot list gives, blobs by fetch_to_store against theirs,
 * names and IDs by their shapes; a plan that does not hold together is
 * refused before the store is touched.
 */
#include "mirrord/common.h"

#include <inttypes.h>
#include <time.h>

#include "mirrord/channel.h"
#include "mirrord/hash.h"
#include "mirrord/json.h"
#include "mirrord/log.h"
#include "mirrord/pool.h"
#include "mirrord/replica.h"
#include "mirrord/replica_int.h"
#include "mirrord/s3.h"
#include "mirrord/snap.h"
#include "mirrord/util.h"

#define REPLICA_DEPTH 16

bool
replica_is(const struct conf *c)
{
	return c->replica_of[0] != '\0';
}

int
replica_refuse(const struct conf *c, struct merr *err)
{
	if (!replica_is(c))
		return 0;
	return merr_set(err, MERR_INVAL, "this store is a replica of %s",
	    c->replica_of);
}

/* ---- The state kept in TBL_META: "gen time applied_at last_success". */

int
replica_state_get(struct store_txn *t, struct replica_state *st,
    struct merr *err)
{
	const void *v;
	size_t vl;
	char text[256];
	long long a = 0, b = 0, c = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = store_meta_get(t, NULL, REPLICA_META, sizeof(REPLICA_META) - 1,
	    &v, &vl, err);
	if (rc == MERR_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (vl >= sizeof(text) || vl < HASH_HEX_LEN)
		return merr_set(err, MERR_STORE, "corrupt replica state");
	memcpy(text, v, vl);
	text[vl] = '\0';
	if (sscanf(text + HASH_HEX_LEN, " %lld %lld %lld", &a, &b, &c) != 3)
		return merr_set(err, MERR_STORE, "corrupt replica state");
	memcpy(st->generation, text, HASH_HEX_LEN);
	st->generation[HASH_HEX_LEN] = '\0';
	st->time = a;
	st->applied_at = b;
	st->last_success = c;
	return 0;
}

int
replica_state_put(struct store_txn *t, const struct replica_state *st,
    struct merr *err)
{
	char text[256];
	int n;

	n = snprintf(text, sizeof(text), "%s %lld %lld %lld", st->generation,
	    (long long)st->time, (long long)st->applied_at,
	    (long long)st->last_success);
	return store_meta_put(t, NULL, REPLICA_META, sizeof(REPLICA_META) - 1,
	    text, (size_t)n, err);
}

int64_t
replica_lag(const struct replica_state *st, int64_t now)
{
	if (st->last_success == 0)
		return -1;
	return now > st->last_success ? now - st->last_success : 0;
}

/* ---- Reading the primary. ---- */

int
rep_get_json(struct fetch *f, const char *base, const char *path,
    size_t max, struct json_value **out, struct merr *err)
{
	struct fetch_mem res;
	char *url = xasprintf("%s/api/v1/%s", base, path);
	int rc;

	*out = NULL;
	rc = fetch_get_mem(f, url, max, NULL, NULL, &res, err);
	if (rc == 0 && res.status != 200)
		rc = merr_set(err, MERR_NET, "'%s': status %d", url,
		    res.status);
	if (rc == 0) {
		rc = json_parse(res.data, res.len, REPLICA_DEPTH, out, err);
		if (rc)
			merr_prefix(err, "'%s': ", url);
	}
	fetch_mem_release(&res);
	free(url);
	return rc;
}

/* A member that must be a string, or MERR_PARSE naming it. */
static int
rep_str(const struct json_value *o, const char *key, const char **out,
    struct merr *err)
{
	*out = json_str(json_get(o, key), NULL);
	if (*out == NULL)
		return merr_set(err, MERR_PARSE, "primary: '%s' is not a "
		    "string", key);
	return 0;
}

/* A member that must be an integer at least 0. */
static int
rep_int(const struct json_value *o, const char *key, int64_t *out,
    struct merr *err)
{
	if (json_int(json_get(o, key), out) != 0 || *out < 0)
		return merr_set(err, MERR_PARSE, "primary: '%s' is not a "
		    "count", key);
	return 0;
}

/* A member that must be a SHA-256 in hex. */
int
rep_hash(const struct json_value *o, const char *key,
    unsigned char h[HASH_LEN], struct merr *err)
{
	size_t len = 0;
	const char *s = json_str(json_get(o, key), &len);

	if (s == NULL || len != HASH_HEX_LEN ||
	    hash_from_hex(s, len, h) != 0)
		return merr_set(err, MERR_PARSE, "primary: '%s' is not a "
		    "sha256", key);
	return 0;
}

/* A snapshot ID ("" allowed when empty_ok): its shape, into id. */
static int
rep_id(const struct json_value *o, const char *key, bool empty_ok,
    char id[SNAP_ID_LEN + 1], struct merr *err)
{
	const char *s;
	int rc = rep_str(o, key, &s, err);
	size_t i;

	if (rc)
		return rc;
	if (empty_ok && *s == '\0') {
		id[0] = '\0';
		return 0;
	}
	for (i = 0; i < SNAP_ID_LEN; i++)
		if (s[i] == '\0' || strchr("0123456789TZ", s[i]) == NULL)
			break;
	if (i != SNAP_ID_LEN || s[i] != '\0')
		return merr_set(err, MERR_PARSE, "primary: '%s' is not a "
		    "snapshot ID", key);
	memcpy(id, s, SNAP_ID_LEN + 1);
	return 0;
}

/* ---- The plan. ---- */

void
rep_ivls_release(struct rep_ivls *iv)
{
	size_t i;

	for (i = 0; i < iv->n; i++)
		free(iv->v[i].path);
	free(iv->v);
	memset(iv, 0, sizeof(*iv));
}

static void
rep_mirror_release(struct rep_mirror *m)
{
	size_t i;

	strv_free(m->add, m->nadd);
	strv_free(m->manifest, m->nadd);
	free(m->mlen);
	strv_free(m->drop, m->ndrop);
	strv_free(m->ids, m->nids);
	rep_ivls_release(&m->pool);
	for (i = 0; i < m->nch; i++) {
		channel_free(&m->ch[i]);
		channel_log_release(m->log[i], m->nlog[i]);
	}
	free(m->ch);
	free(m->log);
	free(m->nlog);
}

void
rep_plan_release(struct rep_plan *p)
{
	size_t i;

	for (i = 0; i < p->nm; i++)
		rep_mirror_release(&p->m[i]);
	free(p->m);
	free(p->blobs);
	free(p->fetched);
	memset(p, 0, sizeof(*p));
}

static void
rep_blob_add(struct rep_plan *p, const unsigned char h[HASH_LEN],
    uint64_t size)
{
	if ((p->nblobs & (p->nblobs - 1)) == 0)
		p->blobs = xreallocarray(p->blobs, p->nblobs ? 2 * p->nblobs :
		    1, sizeof(*p->blobs));
	memcpy(p->blobs[p->nblobs].hash, h, HASH_LEN);
	p->blobs[p->nblobs++].size = size;
}

static bool
rep_has(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/*
 * Fetches snapshot id's manifest, checks it against want (its sha256) and
 * size and its own ID, and names its files in the plan.
 */
static int
rep_manifest(struct fetch *f, const char *base, struct rep_plan *p,
    struct rep_mirror *m, const char *id, const unsigned char want[HASH_LEN],
    int64_t size, struct merr *err)
{
	struct fetch_mem res;
	unsigned char h[HASH_LEN];
	struct snap sn = { 0 };
	char *url = xasprintf("%s/api/v1/mirrors/%s/snapshots/%s/manifest",
	    base, m->name, id);
	size_t i, j;
	int rc = fetch_get_mem(f, url, SNAP_MAX_MANIFEST, NULL, NULL, &res,
	    err);

	if (rc == 0 && res.status != 200)
		rc = merr_set(err, MERR_NET, "'%s': status %d", url,
		    res.status);
	if (rc == 0) {
		hash_buf(res.data, res.len, h);
		if (memcmp(h, want, HASH_LEN) != 0 || (int64_t)res.len != size)
			rc = merr_set(err, MERR_VERIFY, "'%s': sha256 or size "
			    "mismatch", url);
	}
	if (rc == 0)
		rc = snap_manifest_parse(res.data, res.len, &sn, err);
	if (rc == 0 && strcmp(sn.id, id) != 0)
		rc = merr_set(err, MERR_VERIFY, "'%s': the manifest is "
		    "snapshot '%s'", url, sn.id);
	for (i = 0; rc == 0 && i < sn.nsuites; i++)
		for (j = 0; j < sn.suites[i].nfiles; j++)
			rep_blob_add(p, sn.suites[i].files[j].hash,
			    sn.suites[i].files[j].size);
	if (rc == 0) {
		m->manifest[m->nadd] = res.data;
		m->mlen[m->nadd] = res.len;
		m->add[m->nadd++] = xstrdup(id);
		res.data = NULL;
	}
	snap_release(&sn);
	fetch_mem_release(&res);
	free(url);
	return rc;
}

/*
 * GET base/api/v1/mirrors/M/what into *j (owned: json_value_free, also
 * on error); *a is its array member, *n that array's length.
 */
static int
rep_get_list(struct fetch *f, const char *base, const char *m,
    const char *what, const char *member, struct json_value **j,
    struct json_value **a, size_t *n, struct merr *err)
{
	char *path = xasprintf("mirrors/%s/%s", m, what);
	int rc = rep_get_json(f, base, path, REPLICA_MAX_LIST, j, err);

	free(path);
	*a = json_get(*j, member);
	*n = json_len(*a);
	if (rc == 0 && json_kind(*a) != JSON_ARRAY)
		rc = merr_set(err, MERR_PARSE, "primary: '%s' is not an "
		    "array", member);
	return rc;
}

/* The mirror's snapshots: which to add (manifests fetched), which drop. */
static int
rep_snapshots(struct fetch *f, const char *base, struct store *s,
    struct rep_plan *p, struct rep_mirror *m, struct merr *err)
{
	struct json_value *j = NULL, *a, *e;
	struct store_txn *t = NULL;
	char **have = NULL, **theirs, id[SNAP_ID_LEN + 1];
	unsigned char h[HASH_LEN];
	size_t nhave = 0, n, i;
	int64_t size;
	int rc;

	rc = rep_get_list(f, base, m->name, "snapshots", "snapshots", &j, &a,
	    &n, err);
	if (rc == 0)
		rc = store_txn_begin(s, false, &t, err);
	if (rc == 0) {
		rc = snap_list(t, m->name, &have, &nhave, err);
		store_txn_abort(t);
	}
	theirs = xcalloc(n + 1, sizeof(*theirs));
	m->add = xcalloc(n + 1, sizeof(*m->add));
	m->manifest = xcalloc(n + 1, sizeof(*m->manifest));
	m->mlen = xcalloc(n + 1, sizeof(*m->mlen));
	for (i = 0; rc == 0 && i < n; i++) {
		e = json_at(a, i);
		rc = rep_id(e, "id", false, id, err);
		if (rc == 0)
			rc = rep_hash(json_get(e, "manifest"), "sha256", h,
			    err);
		if (rc == 0)
			rc = rep_int(json_get(e, "manifest"), "size", &size,
			    err);
		if (rc == 0 && rep_has(theirs, i, id))
			rc = merr_set(err, MERR_PARSE, "primary: snapshot '%s' "
			    "listed twice", id);
		if (rc == 0 && !rep_has(have, nhave, id))
			rc = rep_manifest(f, base, p, m, id, h, size, err);
		if (rc == 0)
			theirs[i] = xstrdup(id);
	}
	m->drop = xcalloc(nhave + 1, sizeof(*m->drop));
	for (i = 0; rc == 0 && i < nhave; i++)
		if (!rep_has(theirs, n, have[i]))
			m->drop[m->ndrop++] = xstrdup(have[i]);
	m->ids = theirs;
	m->nids = n;
	strv_free(have, nhave);
	json_value_free(j);
	return rc;
}

int
rep_ivl_cmp(const void *pa, const void *pb)
{
	const struct rep_ivl *a = pa, *b = pb;
	int c = strcmp(a->path, b->path);

	if (c == 0)
		c = memcmp(a->hash, b->hash, HASH_LEN);
	if (c == 0)
		c = a->from < b->from ? -1 : a->from > b->from;
	return c;
}

void
rep_ivls_sort(struct rep_ivls *iv)
{
	if (iv->n > 1)
		qsort(iv->v, iv->n, sizeof(*iv->v), rep_ivl_cmp);
}

/* One interval of the primary's pool answer into m->pool. */
static int
rep_ivl_parse(const struct json_value *e, struct rep_ivl *iv,
    struct merr *err)
{
	const char *path;
	int64_t from, to, refs, size;
	int rc = rep_str(e, "path", &path, err);

	if (rc == 0)
		rc = rep_hash(e, "sha256", iv->hash, err);
	if (rc == 0)
		rc = rep_int(e, "from", &from, err);
	if (rc == 0)
		rc = rep_int(e, "to", &to, err);
	if (rc == 0)
		rc = rep_int(e, "refs", &refs, err);
	if (rc == 0)
		rc = rep_int(e, "size", &size, err);
	if (rc)
		return rc;
	if (!str_startswith(path, "pool/") || from == 0 || from > UINT32_MAX ||
	    to > UINT32_MAX || refs > UINT32_MAX || (to != 0 && to <= from))
		return merr_set(err, MERR_PARSE, "primary: a bad pool "
		    "interval for '%.200s'", path);
	iv->path = xstrdup(path);
	iv->from = (uint32_t)from;
	iv->to = (uint32_t)to;
	iv->refs = (uint32_t)refs;
	iv->size = (uint64_t)size;
	iv->stored = json_is_true(json_get(e, "stored"));
	return 0;
}

/* The mirror's pool intervals; the stored blobs they name, in the plan. */
static int
rep_pool(struct fetch *f, const char *base, struct rep_plan *p,
    struct rep_mirror *m, struct merr *err)
{
	struct json_value *j = NULL, *a;
	size_t i, n;
	int rc = rep_get_list(f, base, m->name, "pool", "intervals", &j, &a,
	    &n, err);

	m->pool.v = xcalloc(n + 1, sizeof(*m->pool.v));
	for (i = 0; rc == 0 && i < n; i++) {
		rc = rep_ivl_parse(json_at(a, i), &m->pool.v[i], err);
		if (rc == 0)
			m->pool.n++;
		if (rc == 0 && m->pool.v[i].stored)
			rep_blob_add(p, m->pool.v[i].hash, m->pool.v[i].size);
	}
	rep_ivls_sort(&m->pool);
	json_value_free(j);
	return rc;
}

/* A channel's suites: its signed Release files, by hash, in the plan. */
static int
rep_channel_suites(const struct json_value *a, struct rep_plan *p,
    struct channel *ch, struct merr *err)
{
	const struct json_value *su, *fs, *fe;
	const char *name, *path;
	unsigned char h[HASH_LEN];
	int64_t size;
	size_t i, k;
	int rc = 0;

	ch->suites = xcalloc(json_len(a) + 1, sizeof(*ch->suites));
	for (i = 0; rc == 0 && i < json_len(a); i++) {
		su = json_at(a, i);
		rc = rep_str(su, "name", &name, err);
		if (rc)
			break;
		if (*name == '\0' || strstr(name, "..") != NULL)
			return merr_set(err, MERR_PARSE, "primary: a bad "
			    "suite name");
		ch->suites[ch->nsuites++].name = xstrdup(name);
		fs = json_get(su, "files");
		for (k = 0; rc == 0 && k < json_len(fs); k++) {
			fe = json_at(fs, k);
			rc = rep_str(fe, "path", &path, err);
			if (rc == 0)
				rc = rep_hash(fe, "sha256", h, err);
			if (rc == 0)
				rc = rep_int(fe, "size", &size, err);
			if (rc == 0 && strcmp(path, "InRelease") != 0 &&
			    strcmp(path, "Release") != 0 &&
			    strcmp(path, "Release.gpg") != 0)
				rc = merr_set(err, MERR_PARSE, "primary: "
				    "channel file '%.64s'", path);
			if (rc)
				break;
			snap_suite_add_file(&ch->suites[ch->nsuites - 1], path,
			    h, (uint64_t)size);
			rep_blob_add(p, h, (uint64_t)size);
		}
	}
	return rc;
}

/* A channel's log, as the primary keeps it. */
static int
rep_channel_log(const struct json_value *a, struct channel_log **out,
    size_t *nout, struct merr *err)
{
	const struct json_value *e;
	struct channel_log *l;
	const char *s;
	size_t i, n = json_len(a);
	int rc = 0;

	*out = xcalloc(n + 1, sizeof(**out));
	*nout = 0;
	for (i = 0; rc == 0 && i < n; i++) {
		e = json_at(a, i);
		l = &(*out)[i];
		rc = rep_int(e, "time", &l->time, err);
		if (rc == 0)
			rc = rep_id(e, "from", true, l->from, err);
		if (rc == 0)
			rc = rep_id(e, "to", true, l->to, err);
		if (rc == 0)
			rc = rep_str(e, "action", &s, err);
		if (rc)
			break;
		l->action = xstrdup(s);
		s = json_str(json_get(e, "by"), NULL);
		l->by = xstrdup(s ? s : "");
		s = json_str(json_get(e, "message"), NULL);
		l->message = s ? xstrdup(s) : NULL;
		(*nout)++;
	}
	return rc;
}

static int
rep_channel(const struct json_value *e, struct rep_plan *p,
    struct channel *ch, struct channel_log **log, size_t *nlog,
    struct merr *err)
{
	const char *name, *by;
	int rc = rep_str(e, "name", &name, err);

	if (rc == 0)
		rc = channel_name_check(name, err);
	if (rc)
		return rc;
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	rc = rep_id(e, "target", false, ch->target, err);
	if (rc == 0)
		rc = rep_id(e, "prev", true, ch->prev, err);
	if (rc == 0)
		rc = rep_int(e, "moved_at", &ch->moved_at, err);
	if (rc == 0)
		rc = rep_int(e, "valid_until", &ch->valid_until, err);
	if (rc)
		return rc;
	by = json_str(json_get(e, "moved_by"), NULL);
	ch->moved_by = xstrdup(by ? by : "");
	rc = rep_channel_suites(json_get(e, "suites"), p, ch, err);
	if (rc == 0)
		rc = rep_channel_log(json_get(e, "log"), log, nlog, err);
	return rc;
}

/* The mirror's channels, their Release files named in the plan. */
static int
rep_channels(struct fetch *f, const char *base, struct rep_plan *p,
    struct rep_mirror *m, struct merr *err)
{
	struct json_value *j = NULL, *a;
	size_t i, n;
	int rc = rep_get_list(f, base, m->name, "channels", "channels", &j,
	    &a, &n, err);

	m->ch = xcalloc(n + 1, sizeof(*m->ch));
	m->log = xcalloc(n + 1, sizeof(*m->log));
	m->nlog = xcalloc(n + 1, sizeof(*m->nlog));
	for (i = 0; rc == 0 && i < n; i++) {
		m->nch++;
		rc = rep_channel(json_at(a, i), p, &m->ch[i], &m->log[i],
		    &m->nlog[i], err);
	}
	json_value_free(j);
	return rc;
}

/* Every channel of m points at a snapshot the primary lists. */
static int
rep_targets(const struct rep_mirror *m, struct merr *err)
{
	size_t i;

	for (i = 0; i < m->nch; i++)
		if (!rep_has(m->ids, m->nids, m->ch[i].target))
			return merr_set(err, MERR_PARSE, "primary: channel "
			    "'%s' points at '%s', which it does not list",
			    m->ch[i].name, m->ch[i].target);
	return 0;
}

int
rep_plan_make(struct fetch *f, const struct conf *c, struct store *s,
    struct rep_plan *p, struct merr *err)
{
	size_t i;
	int rc = 0;

	p->m = xcalloc(c->nmirrors + 1, sizeof(*p->m));
	for (i = 0; rc == 0 && i < c->nmirrors; i++) {
		p->m[i].name = c->mirrors[i].name;
		p->nm++;
		rc = rep_snapshots(f, c->replica_of, s, p, &p->m[i], err);
		if (rc == 0)
			rc = rep_pool(f, c->replica_of, p, &p->m[i], err);
		if (rc == 0)
			rc = rep_channels(f, c->replica_of, p, &p->m[i], err);
		if (rc == 0)
			rc = rep_targets(&p->m[i], err);
		if (rc)
			merr_prefix(err, "mirror '%s': ", c->mirrors[i].name);
	}
	return rc;
}

static int
rep_blob_cmp(const void *a, const void *b)
{
	return memcmp(a, b, HASH_LEN);
}

/* The lacking blobs, sorted by hash, that the shared bucket holds. */
struct rep_inbucket {
	struct fetch_job *jobs;
	size_t n;
	bool *found;
};

static int
rep_job_cmp(const void *key, const void *elem)
{
	return memcmp(key, ((const struct fetch_job *)elem)->hash, HASH_LEN);
}

static int
rep_inbucket_one(void *ctx, const char *key, const unsigned char *h,
    uint64_t size, int64_t mtime, struct merr *err)
{
	struct rep_inbucket *x = ctx;
	struct fetch_job *j;

	(void)key;
	(void)mtime;
	(void)err;
	if (h == NULL)
		return 0;
	j = bsearch(h, x->jobs, x->n, sizeof(*x->jobs), rep_job_cmp);
	if (j != NULL && j->size == size)
		x->found[j - x->jobs] = true;
	return 0;
}

/*
 * Drops from jobs[0..*nj) the blobs the shared bucket holds (listed
 * without a copy: p->inbucket), keeping the rest in order.
 */
static int
rep_inbucket(struct store *s, struct fetch_job *jobs, size_t *nj,
    struct rep_plan *p, uint64_t *moved, struct merr *err)
{
	struct rep_inbucket x = { jobs, *nj, NULL };
	struct fetch *f = NULL;
	size_t i, k = 0;
	int rc;

	x.found = xcalloc(*nj + 1, sizeof(*x.found));
	rc = store_s3_fetch_new(s, &f, err);
	if (rc == 0)
		rc = s3_list(store_s3(s), f, rep_inbucket_one, &x, err);
	fetch_free(f);
	for (i = 0; rc == 0 && i < *nj; i++) {
		if (x.found[i]) {
			*moved -= jobs[i].size;
			p->inbucket++;
			free((char *)jobs[i].url);
		} else
			jobs[k++] = jobs[i];
	}
	if (rc == 0)
		*nj = k;
	free(x.found);
	return rc;
}

int
rep_fetch_blobs(struct fetch *f, const char *base, struct store *s,
    struct rep_plan *p, bool shared, uint64_t *moved, struct merr *err)
{
	struct store_blob_rec rec;
	struct store_txn *t = NULL;
	struct fetch_job *jobs;
	char hex[HASH_HEX_LEN + 1];
	size_t i, k = 0, nj = 0;
	int rc;

	*moved = 0;
	if (p->nblobs > 1)
		qsort(p->blobs, p->nblobs, sizeof(*p->blobs), rep_blob_cmp);
	for (i = 0; i < p->nblobs; i++)
		if (k == 0 || memcmp(p->blobs[k - 1].hash, p->blobs[i].hash,
		    HASH_LEN) != 0)
			p->blobs[k++] = p->blobs[i];
	p->nblobs = k;
	jobs = xcalloc(k + 1, sizeof(*jobs));
	p->fetched = xcalloc(k + 1, sizeof(*p->fetched));
	rc = store_txn_begin(s, false, &t, err);
	for (i = 0; rc == 0 && i < p->nblobs; i++) {
		rc = store_blob_get(t, p->blobs[i].hash, &rec, err);
		if (rc == 0)
			continue;
		if (rc != MERR_NOTFOUND)
			break;
		rc = 0;
		hash_to_hex(p->blobs[i].hash, hex);
		jobs[nj].url = xasprintf("%s/api/v1/blobs/%s", base, hex);
		memcpy(jobs[nj].hash, p->blobs[i].hash, HASH_LEN);
		jobs[nj].size = p->blobs[i].size;
		*moved += p->blobs[i].size;
		p->fetched[p->nfetched++] = p->blobs[i];
		nj++;
	}
	if (t != NULL)
		store_txn_abort(t);
	if (rc == 0 && nj > 0 && shared)
		rc = rep_inbucket(s, jobs, &nj, p, moved, err);
	if (rc == 0 && nj > 0)
		rc = fetch_to_store(f, s, jobs, nj, NULL, NULL, err);
	for (i = 0; i < nj; i++)
		free((char *)jobs[i].url);
	free(jobs);
	return rc;
}
