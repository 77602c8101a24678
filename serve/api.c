/*
 * api.c: the read-only JSON API (api.h, docs/api.md).
 *
 * JSON is written by hand, strings through fmt_json_str(), into a memory
 * stream that becomes the reply's body. Every answer is made in one read
 * transaction, so what one answer says is one state of the store; a
 * replica ties its answers together with the generation (v1/state), and
 * checks every byte it copies against the hashes given here.
 */
#include "mirrord/common.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "mirrord/channel.h"
#include "mirrord/fmt.h"
#include "mirrord/hash.h"
#include "mirrord/log.h"
#include "mirrord/pool.h"
#include "mirrord/snap.h"
#include "mirrord/util.h"
#include "serve/api.h"
#include "serve/route.h"

/* A JSON answer being written, and where it goes. */
struct api_out {
	FILE *f;
	char *p;
	size_t len;
};

static void
api_hex(FILE *f, const unsigned char h[HASH_LEN])
{
	char hex[HASH_HEX_LEN + 1];

	hash_to_hex(h, hex);
	fprintf(f, "\"%s\"", hex);
}

/* ---- The generation. ---- */

static void
gen_add(struct hash_ctx *h, const char *s)
{
	hash_update(h, s, strlen(s) + 1);
}

static void
gen_files(struct hash_ctx *h, const struct snap_suite *su, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		gen_add(h, su[i].name);
		for (j = 0; j < su[i].nfiles; j++) {
			gen_add(h, su[i].files[j].path);
			hash_update(h, su[i].files[j].hash, HASH_LEN);
		}
	}
}

/* One mirror's part of the generation: its snapshots and channels. */
static int
gen_mirror(struct store_txn *t, const char *m, struct hash_ctx *h,
    int64_t *time, struct merr *err)
{
	struct channel ch = { 0 };
	struct snap sn = { 0 };
	char **ids = NULL, **names = NULL, num[32];
	size_t nids = 0, nn = 0, i;
	int rc;

	gen_add(h, m);
	rc = snap_list(t, m, &ids, &nids, err);
	for (i = 0; rc == 0 && i < nids; i++)
		gen_add(h, ids[i]);
	if (rc == 0 && nids > 0) {
		rc = snap_load_newest(t, m, &sn, err);
		if (rc == 0 && sn.time > *time)
			*time = sn.time;
		snap_release(&sn);
	}
	if (rc == 0)
		rc = channel_list(t, m, &names, &nn, err);
	for (i = 0; rc == 0 && i < nn; i++) {
		rc = channel_get(t, m, names[i], &ch, err);
		if (rc)
			break;
		snprintf(num, sizeof(num), "%" PRId64 " %" PRId64, ch.moved_at,
		    ch.valid_until);
		gen_add(h, ch.name);
		gen_add(h, ch.target);
		gen_add(h, num);
		gen_files(h, ch.suites, ch.nsuites);
		if (ch.moved_at > *time)
			*time = ch.moved_at;
		channel_free(&ch);
	}
	strv_free(ids, nids);
	strv_free(names, nn);
	return rc;
}

int
api_generation(struct store_txn *t, const struct conf *c,
    unsigned char gen[HASH_LEN], int64_t *time, struct merr *err)
{
	struct hash_ctx h;
	size_t i;
	int rc = 0;

	*time = 0;
	hash_init(&h);
	for (i = 0; rc == 0 && i < c->nmirrors; i++)
		rc = gen_mirror(t, c->mirrors[i].name, &h, time, err);
	hash_final(&h, gen);
	hash_release(&h);
	return rc;
}

/* ---- The answers. ---- */

/* v1/state: the generation, its time, the mirrors and their channels. */
static int
api_state(struct store_txn *t, const struct conf *c, const char *blobs,
    FILE *f, struct merr *err)
{
	unsigned char gen[HASH_LEN];
	int64_t time;
	char **ids = NULL, **names = NULL;
	size_t i, j, nids = 0, nn = 0;
	int rc = api_generation(t, c, gen, &time, err);

	if (rc)
		return rc;
	fprintf(f, "{\"api\": %d, \"generation\": ", API_VERSION);
	api_hex(f, gen);
	fprintf(f, ", \"time\": %" PRId64 ", \"blobs\": ", time);
	fmt_json_str(f, blobs);
	fprintf(f, ", \"mirrors\": [");
	for (i = 0; rc == 0 && i < c->nmirrors; i++) {
		rc = snap_list(t, c->mirrors[i].name, &ids, &nids, err);
		if (rc == 0)
			rc = channel_list(t, c->mirrors[i].name, &names, &nn,
			    err);
		fprintf(f, "%s{\"name\": ", i ? ", " : "");
		fmt_json_str(f, c->mirrors[i].name);
		fprintf(f, ", \"snapshots\": %zu, \"newest\": ", nids);
		fmt_json_str_or_null(f, nids ? ids[nids - 1] : NULL);
		fprintf(f, ", \"channels\": [");
		for (j = 0; j < nn; j++) {
			fprintf(f, "%s", j ? ", " : "");
			fmt_json_str(f, names[j]);
		}
		fprintf(f, "]}");
		strv_free(ids, nids);
		strv_free(names, nn);
		ids = names = NULL;
		nids = nn = 0;
	}
	fprintf(f, "]}\n");
	return rc;
}

/* The start of a mirror's answer: {"mirror": M, "member": [ */
static void
api_head(FILE *f, const char *m, const char *member)
{
	fprintf(f, "{\"mirror\": ");
	fmt_json_str(f, m);
	fprintf(f, ", \"%s\": [", member);
}

/* One snapshot's entry of v1/mirrors/M/snapshots. */
static void
api_snap(FILE *f, const struct snap *sn)
{
	unsigned char h[HASH_LEN];
	struct buf b = BUF_INIT;

	snap_manifest_write(sn, &b);
	hash_buf(b.p, b.len, h);
	fprintf(f, "{\"id\": \"%s\", \"seq\": %" PRIu32 ", \"kind\": \"%s\", "
	    "\"composed\": %s, \"time\": %" PRId64 ", \"packages\": %" PRIu64
	    ", \"sources\": %" PRIu64 ", \"files\": %" PRIu64 ", \"bytes\": %"
	    PRIu64 ", \"manifest\": {\"sha256\": ", sn->id, sn->seq,
	    snap_kind_name(sn->kind), snap_kind_upstream(sn->kind) ? "false" :
	    "true", sn->time, sn->packages, sn->sources, sn->files, sn->bytes);
	api_hex(f, h);
	fprintf(f, ", \"size\": %zu}}", b.len);
	buf_release(&b);
}

static int
api_snapshots(struct store_txn *t, const char *m, FILE *f, struct merr *err)
{
	struct snap sn = { 0 };
	char **ids = NULL;
	size_t i, n = 0;
	int rc = snap_list(t, m, &ids, &n, err);

	api_head(f, m, "snapshots");
	for (i = 0; rc == 0 && i < n; i++) {
		rc = snap_load(t, m, ids[i], &sn, err);
		if (rc)
			break;
		fprintf(f, "%s", i ? ",\n" : "\n");
		api_snap(f, &sn);
		snap_release(&sn);
	}
	fprintf(f, "]}\n");
	strv_free(ids, n);
	return rc;
}

/* The pool walk's state: where intervals go, and the blobs table. */
struct api_pool_walk {
	FILE *f;
	struct store_txn *t;
};

static int
api_pool_one(void *ctx, const struct pool_interval *iv, struct merr *err)
{
	struct api_pool_walk *w = ctx;
	struct store_blob_rec rec;
	FILE *f = w->f;
	int rc;

	if (iv == NULL)
		return merr_set(err, MERR_STORE, "a pool interval's key is "
		    "corrupt");
	fprintf(f, "%s{\"path\": ", ftell(f) > 0 ? ",\n" : "\n");
	fmt_json_str(f, iv->path);
	fprintf(f, ", \"sha256\": ");
	api_hex(f, iv->hash);
	rc = store_blob_get(w->t, iv->hash, &rec, err);
	if (rc != 0 && rc != MERR_NOTFOUND)
		return rc;
	fprintf(f, ", \"size\": %" PRIu64 ", \"from\": %" PRIu32 ", \"to\": %"
	    PRIu32 ", \"refs\": %" PRIu32 ", \"stored\": %s}", iv->size,
	    iv->from, iv->to, iv->refs, rc == 0 ? "true" : "false");
	return 0;
}

/* v1/mirrors/M/pool: every pool interval (pool.h) of the mirror. */
static int
api_pool(struct store_txn *t, const char *m, FILE *f, struct merr *err)
{
	char *p = NULL;
	size_t len = 0;
	struct api_pool_walk w = { open_memstream(&p, &len), t };
	int rc;

	if (w.f == NULL)
		util_oom();
	rc = pool_each_mirror(t, m, api_pool_one, &w, err);
	fclose(w.f);
	api_head(f, m, "intervals");
	fprintf(f, "%s]}\n", p);
	free(p);
	return rc;
}

static void
api_suites(FILE *f, const struct snap_suite *su, size_t n)
{
	size_t i, j;

	fprintf(f, "[");
	for (i = 0; i < n; i++) {
		fprintf(f, "%s{\"name\": ", i ? ", " : "");
		fmt_json_str(f, su[i].name);
		fprintf(f, ", \"files\": [");
		for (j = 0; j < su[i].nfiles; j++) {
			fprintf(f, "%s{\"path\": ", j ? ", " : "");
			fmt_json_str(f, su[i].files[j].path);
			fprintf(f, ", \"sha256\": ");
			api_hex(f, su[i].files[j].hash);
			fprintf(f, ", \"size\": %" PRIu64 "}",
			    su[i].files[j].size);
		}
		fprintf(f, "]}");
	}
	fprintf(f, "]");
}

static void
api_log(FILE *f, const struct channel_log *l, size_t n)
{
	size_t i;

	fprintf(f, "[");
	for (i = 0; i < n; i++) {
		fprintf(f, "%s{\"time\": %" PRId64 ", \"by\": ", i ? ", " : "",
		    l[i].time);
		fmt_json_str_or_null(f, l[i].by);
		fprintf(f, ", \"from\": \"%s\", \"to\": \"%s\", \"action\": ",
		    l[i].from, l[i].to);
		fmt_json_str_or_null(f, l[i].action);
		fprintf(f, ", \"message\": ");
		fmt_json_str_or_null(f, l[i].message);
		fprintf(f, "}");
	}
	fprintf(f, "]");
}

static int
api_channel(struct store_txn *t, const char *m, const char *name, FILE *f,
    struct merr *err)
{
	struct channel ch = { 0 };
	struct channel_log *log = NULL;
	size_t nlog = 0;
	int rc = channel_get(t, m, name, &ch, err);

	if (rc == 0)
		rc = channel_log_get(t, m, name, &log, &nlog, err);
	if (rc)
		goto out;
	fprintf(f, "{\"name\": ");
	fmt_json_str(f, ch.name);
	fprintf(f, ", \"target\": \"%s\", \"prev\": \"%s\", \"moved_at\": %"
	    PRId64 ", \"moved_by\": ", ch.target, ch.prev, ch.moved_at);
	fmt_json_str_or_null(f, ch.moved_by);
	fprintf(f, ", \"valid_until\": %" PRId64 ", \"suites\": ",
	    ch.valid_until);
	api_suites(f, ch.suites, ch.nsuites);
	fprintf(f, ", \"log\": ");
	api_log(f, log, nlog);
	fprintf(f, "}");
out:
	channel_free(&ch);
	channel_log_release(log, nlog);
	return rc;
}

/* v1/mirrors/M/channels: each channel's state, Release files and log. */
static int
api_channels(struct store_txn *t, const char *m, FILE *f, struct merr *err)
{
	char **names = NULL;
	size_t i, n = 0;
	int rc = channel_list(t, m, &names, &n, err);

	api_head(f, m, "channels");
	for (i = 0; rc == 0 && i < n; i++) {
		fprintf(f, "%s", i ? ",\n" : "\n");
		rc = api_channel(t, m, names[i], f, err);
	}
	fprintf(f, "]}\n");
	strv_free(names, n);
	return rc;
}

/* v1/blobs/H: the blob, if the blobs table lists it. */
static int
api_blob(struct store_txn *t, const char *hex, struct server_reply *out,
    struct merr *err)
{
	struct store_blob_rec rec;
	unsigned char h[HASH_LEN];
	int rc;

	if (strlen(hex) != HASH_HEX_LEN ||
	    hash_from_hex(hex, HASH_HEX_LEN, h) != 0)
		return 404;
	rc = store_blob_get(t, h, &rec, err);
	if (rc == MERR_NOTFOUND)
		return 404;
	if (rc)
		return rc;
	out->kind = REPLY_FILE;
	out->res.answer = ANSWER_FILE;
	memcpy(out->res.hash, h, HASH_LEN);
	out->res.size = rec.size;
	out->res.mtime = rec.first_seen;
	out->res.cache_control = ROUTE_CC_IMMUTABLE;
	out->res.content_type = "application/octet-stream";
	return 0;
}

/* v1/mirrors/M/snapshots/ID/manifest: the manifest's bytes. */
static int
api_manifest(struct store_txn *t, const char *m, const char *id,
    struct server_reply *out, struct merr *err)
{
	struct snap sn = { 0 };
	int rc;

	if (route_ref_kind(id) != REF_STAMP)
		return 404;
	rc = snap_load(t, m, id, &sn, err);
	/* A timestamp that is no snapshot's ID loads an older one. */
	if (rc == 0 && strcmp(sn.id, id) != 0)
		rc = MERR_NOTFOUND;
	if (rc == 0)
		snap_manifest_write(&sn, &out->body);
	snap_release(&sn);
	/* An ID-shaped ref that is no date (month 00) is not one either. */
	if (rc == MERR_NOTFOUND || rc == MERR_INVAL)
		return 404;
	if (rc)
		return rc;
	out->kind = REPLY_BODY;
	out->status = 200;
	out->ctype = "text/plain; charset=utf-8";
	out->cc = ROUTE_CC_IMMUTABLE;
	return 0;
}

/*
 * The mirror's URLs: "snapshots", "pool", "channels" into f, or the
 * manifest into out. 404 for another path.
 */
static int
api_mirror(struct store_txn *t, const char *m, const char *rest, FILE *f,
    struct server_reply *out, struct merr *err)
{
	char id[SNAP_ID_LEN + 1];

	if (strcmp(rest, "snapshots") == 0)
		return api_snapshots(t, m, f, err);
	if (strcmp(rest, "pool") == 0)
		return api_pool(t, m, f, err);
	if (strcmp(rest, "channels") == 0)
		return api_channels(t, m, f, err);
	if (str_startswith(rest, "snapshots/") &&
	    strlen(rest) == 10 + SNAP_ID_LEN + 9 &&
	    strcmp(rest + 10 + SNAP_ID_LEN, "/manifest") == 0) {
		memcpy(id, rest + 10, SNAP_ID_LEN);
		id[SNAP_ID_LEN] = '\0';
		return api_manifest(t, m, id, out, err);
	}
	return 404;
}

/* Dispatches path under v1/: 0 (out or f filled), a status, or an error. */
static int
api_route(const struct conf *c, struct store *s, struct store_txn *t,
    const char *path, FILE *f, struct server_reply *out, struct merr *err)
{
	char m[128];
	const char *slash;

	if (strcmp(path, "state") == 0)
		return api_state(t, c, store_backend(s), f, err);
	if (str_startswith(path, "blobs/"))
		return api_blob(t, path + 6, out, err);
	if (!str_startswith(path, "mirrors/"))
		return 404;
	path += 8;
	slash = strchr(path, '/');
	if (slash == NULL || (size_t)(slash - path) >= sizeof(m))
		return 404;
	memcpy(m, path, (size_t)(slash - path));
	m[slash - path] = '\0';
	if (conf_mirror(c, m) == NULL)
		return 404;
	return api_mirror(t, m, slash + 1, f, out, err);
}

void
api_reply(const struct conf *c, struct store *s, const char *path,
    struct server_reply *out)
{
	struct store_txn *t = NULL;
	struct merr err;
	struct api_out o = { 0 };
	int rc;

	if (!str_startswith(path, "v1/")) {
		out->kind = REPLY_STATUS;
		out->status = 404;
		return;
	}
	o.f = open_memstream(&o.p, &o.len);
	if (o.f == NULL)
		util_oom();
	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0) {
		rc = api_route(c, s, t, path + 3, o.f, out, &err);
		store_txn_abort(t);
	}
	fclose(o.f);
	if (rc < 0) {
		log_error("http: api: %s", err.msg);
		buf_reset(&out->body);
		rc = 500;
	}
	if (rc > 0) {
		out->kind = REPLY_STATUS;
		out->status = rc;
	} else if (out->kind != REPLY_FILE && out->kind != REPLY_BODY) {
		buf_add(&out->body, o.p, o.len);
		out->kind = REPLY_BODY;
		out->status = 200;
		out->ctype = API_CTYPE;
		out->cc = "no-store";
	}
	free(o.p);
}
