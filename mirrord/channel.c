/*
 * channel.c: channels: their state, their log, and the moves (promote,
 * rollback, refresh, delete, rename). The dists files a channel serves,
 * and the Release files signed for it, are channel_dists.c's.
 */
#include "mirrord/common.h"

#include <time.h>
#include <unistd.h>

#include "mirrord/channel.h"
#include "mirrord/gpg.h"
#include "mirrord/log.h"

void
channel_free(struct channel *ch)
{
	size_t i;

	for (i = 0; i < ch->nsuites; i++)
		snap_suite_release(&ch->suites[i]);
	free(ch->suites);
	free(ch->moved_by);
	memset(ch, 0, sizeof(*ch));
}

void
channel_log_release(struct channel_log *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(l[i].by);
		free(l[i].action);
		free(l[i].message);
	}
	free(l);
}

int
channel_name_check(const char *name, struct merr *err)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > CHANNEL_NAME_MAX)
		return merr_set(err, MERR_INVAL,
		    "channel name must be 1 to %d bytes", CHANNEL_NAME_MAX);
	if (!(name[0] >= 'a' && name[0] <= 'z'))
		return merr_set(err, MERR_INVAL,
		    "channel name '%.64s' must start with a-z", name);
	for (i = 1; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return merr_set(err, MERR_INVAL,
			    "channel name '%.64s' may hold only a-z, 0-9, '.', "
			    "'_' and '-'", name);
	}
	if (strcmp(name, "latest") == 0)
		return merr_set(err, MERR_INVAL,
		    "'latest' is not a channel: it always names the newest "
		    "snapshot");
	if (strcmp(name, "keyring.gpg") == 0)
		return merr_set(err, MERR_INVAL,
		    "'keyring.gpg' is not a channel name: "
		    "/MIRROR/keyring.gpg is the mirror's keyring");
	return 0;
}

/* "mirror\0<kind>\0name" (+ "\0" for log prefixes). */
static void
ckey(struct buf *k, const char *mirror, char kind, const char *name)
{
	buf_reset(k);
	buf_adds(k, mirror);
	buf_addc(k, '\0');
	buf_addc(k, kind);
	buf_addc(k, '\0');
	buf_adds(k, name);
}

static void
state_write(const struct channel *ch, struct buf *b)
{
	char hex[HASH_HEX_LEN + 1];
	size_t i, j;

	buf_addf(b, "target %s\nmoved_at %lld\nvalid_until %lld\nby %s\n",
	    ch->target, (long long)ch->moved_at, (long long)ch->valid_until,
	    ch->moved_by ? ch->moved_by : "");
	if (ch->prev[0] != '\0')
		buf_addf(b, "prev %s\n", ch->prev);
	for (i = 0; i < ch->nsuites; i++) {
		const struct snap_suite *su = &ch->suites[i];

		buf_addf(b, "suite %s\n", su->name);
		for (j = 0; j < su->nfiles; j++) {
			hash_to_hex(su->files[j].hash, hex);
			buf_addf(b, "file %s %llu %s\n", hex,
			    (unsigned long long)su->files[j].size,
			    su->files[j].path);
		}
	}
}

static int
state_parse(const char *name, const char *data, size_t len,
    struct channel *ch, struct merr *err)
{
	char *copy = xstrndup(data, len), *line, *save = NULL;
	struct snap_suite *su = NULL;

	memset(ch, 0, sizeof(*ch));
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	for (line = strtok_r(copy, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		char hex[HASH_HEX_LEN + 1], path[1100];
		unsigned long long size;
		unsigned char h[HASH_LEN];

		if (str_startswith(line, "target ") &&
		    strlen(line + 7) == SNAP_ID_LEN) {
			memcpy(ch->target, line + 7, SNAP_ID_LEN + 1);
		} else if (str_startswith(line, "prev ") &&
		    strlen(line + 5) == SNAP_ID_LEN) {
			memcpy(ch->prev, line + 5, SNAP_ID_LEN + 1);
		} else if (str_startswith(line, "moved_at ")) {
			ch->moved_at = strtoll(line + 9, NULL, 10);
		} else if (str_startswith(line, "valid_until ")) {
			ch->valid_until = strtoll(line + 12, NULL, 10);
		} else if (str_startswith(line, "by ")) {
			free(ch->moved_by);
			ch->moved_by = xstrdup(line + 3);
		} else if (str_startswith(line, "suite ")) {
			ch->suites = xreallocarray(ch->suites, ch->nsuites + 1,
			    sizeof(*ch->suites));
			su = &ch->suites[ch->nsuites++];
			memset(su, 0, sizeof(*su));
			su->name = xstrdup(line + 6);
		} else if (su && sscanf(line, "file %64s %llu %1099s", hex,
		    &size, path) == 3 && hash_from_hex(hex, strlen(hex),
		    h) == 0) {
			snap_suite_add_file(su, path, h, size);
		} else {
			free(copy);
			channel_free(ch);
			return merr_set(err, MERR_STORE,
			    "channel '%s': corrupt state", name);
		}
	}
	free(copy);
	if (ch->target[0] == '\0') {
		channel_free(ch);
		return merr_set(err, MERR_STORE, "channel '%s': no target",
		    name);
	}
	return 0;
}

int
channel_get(struct store_txn *t, const char *mirror, const char *name,
    struct channel *out, struct merr *err)
{
	struct buf k = BUF_INIT;
	const void *v;
	size_t vl;
	int rc;

	ckey(&k, mirror, 'c', name);
	rc = store_get(t, TBL_CHANNELS, k.p, k.len, &v, &vl, err);
	buf_release(&k);
	if (rc == MERR_NOTFOUND)
		return merr_set(err, MERR_NOTFOUND,
		    "mirror '%s' has no channel '%s'", mirror, name);
	if (rc)
		return rc;
	return state_parse(name, v, vl, out, err);
}

/* Calls fn for every key under prefix; fn returns <0 to stop. */
static int
scan_prefix(struct store_txn *t, const struct buf *prefix, store_scan_fn fn,
    void *ctx, struct merr *err)
{
	return store_scan_prefix(t, TBL_CHANNELS, prefix->p, prefix->len, fn,
	    ctx, err);
}

struct name_list {
	char **names;
	size_t n;
};

static int
collect_name(void *ctx, const char *rest, size_t len, const void *v,
    size_t vl, struct merr *err)
{
	struct name_list *nl = ctx;

	nl->names = xreallocarray(nl->names, nl->n + 1, sizeof(*nl->names));
	nl->names[nl->n++] = xstrndup(rest, len);
	return 0;
}

int
channel_list(struct store_txn *t, const char *mirror, char ***names,
    size_t *n, struct merr *err)
{
	struct name_list nl = { NULL, 0 };
	struct buf k = BUF_INIT;
	int rc;

	ckey(&k, mirror, 'c', "");
	rc = scan_prefix(t, &k, collect_name, &nl, err);
	buf_release(&k);
	if (rc) {
		strv_free(nl.names, nl.n);
		return rc;
	}
	*names = nl.names;
	*n = nl.n;
	return 0;
}

struct each_ctx {
	struct store_txn *t;
	channel_each_fn fn;
	void *ctx;
};

/* One key of the whole table: "mirror\0c\0name" is a current state. */
static int
each_one(void *ctx, const char *key, size_t kl, const void *v, size_t vl,
    struct merr *err)
{
	struct each_ctx *ec = ctx;
	const char *nul = memchr(key, '\0', kl);
	struct channel ch;
	char *mirror, *name;
	size_t ml;
	int rc;

	if (nul == NULL || (size_t)(nul - key) + 3 > kl ||
	    nul[1] != 'c' || nul[2] != '\0')
		return 0;
	ml = (size_t)(nul - key);
	mirror = xstrndup(key, ml);
	name = xstrndup(nul + 3, kl - ml - 3);
	rc = channel_get(ec->t, mirror, name, &ch, err);
	if (rc == 0) {
		rc = ec->fn(ec->ctx, mirror, &ch, err);
		channel_free(&ch);
	}
	free(mirror);
	free(name);
	return rc < 0 ? rc : 0;
}

int
channel_each(struct store_txn *t, channel_each_fn fn, void *ctx,
    struct merr *err)
{
	struct each_ctx ec = { t, fn, ctx };

	return store_scan_prefix(t, TBL_CHANNELS, NULL, 0, each_one, &ec, err);
}

struct log_list {
	struct channel_log *l;
	size_t n;
};

static int
collect_log(void *ctx, const char *rest, size_t len, const void *v,
    size_t vl, struct merr *err)
{
	struct log_list *ll = ctx;
	struct channel_log *e;
	char *copy = xstrndup(v, vl), *line, *save = NULL;

	ll->l = xreallocarray(ll->l, ll->n + 1, sizeof(*ll->l));
	e = &ll->l[ll->n++];
	memset(e, 0, sizeof(*e));
	for (line = strtok_r(copy, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		if (str_startswith(line, "time "))
			e->time = strtoll(line + 5, NULL, 10);
		else if (str_startswith(line, "by ") && !e->by)
			e->by = xstrdup(line + 3);
		else if (str_startswith(line, "action ") && !e->action)
			e->action = xstrdup(line + 7);
		else if (str_startswith(line, "from ") &&
		    strlen(line + 5) == SNAP_ID_LEN)
			memcpy(e->from, line + 5, SNAP_ID_LEN + 1);
		else if (str_startswith(line, "to ") &&
		    strlen(line + 3) == SNAP_ID_LEN)
			memcpy(e->to, line + 3, SNAP_ID_LEN + 1);
		else if (str_startswith(line, "message ") && !e->message)
			e->message = xstrdup(line + 8);
	}
	free(copy);
	if (!e->by)
		e->by = xstrdup("");
	if (!e->action)
		e->action = xstrdup("promote");
	return 0;
}

int
channel_log_get(struct store_txn *t, const char *mirror, const char *name,
    struct channel_log **out, size_t *n, struct merr *err)
{
	struct log_list ll = { NULL, 0 };
	struct buf k = BUF_INIT;
	int rc;

	ckey(&k, mirror, 'l', name);
	buf_addc(&k, '\0');
	rc = scan_prefix(t, &k, collect_log, &ll, err);
	buf_release(&k);
	if (rc) {
		channel_log_release(ll.l, ll.n);
		return rc;
	}
	*out = ll.l;
	*n = ll.n;
	return 0;
}

static bool
is_snapshot_ref(const char *ref)
{
	return strcmp(ref, "latest") == 0 || (ref[0] >= '0' && ref[0] <= '9');
}

int
channel_resolve(struct store_txn *t, const char *mirror, const char *ref,
    struct snap *sn, struct channel *ch, struct merr *err)
{
	int rc;

	memset(ch, 0, sizeof(*ch));
	if (is_snapshot_ref(ref))
		return snap_load(t, mirror, ref, sn, err);
	rc = channel_name_check(ref, err);
	if (rc)
		return merr_set(err, MERR_INVAL, "'%.64s' is not a snapshot "
		    "ID, a timestamp, 'latest' or a channel name", ref);
	rc = channel_get(t, mirror, ref, ch, err);
	if (rc == MERR_NOTFOUND)
		/* Said for what the ref could have been, not one guess. */
		return merr_set(err, MERR_NOTFOUND, "'%.64s' is neither a "
		    "snapshot ID, a timestamp, 'latest' nor a channel", ref);
	if (rc)
		return rc;
	rc = snap_load(t, mirror, ch->target, sn, err);
	if (rc == 0 && strcmp(sn->id, ch->target) != 0) {
		snap_release(sn);
		rc = merr_set(err, MERR_NOTFOUND, "channel '%s': target "
		    "snapshot '%s' is gone", ref, ch->target);
	}
	if (rc)
		channel_free(ch);
	return rc;
}

int
channel_resolve_snap(struct store_txn *t, const char *mirror, const char *ref,
    struct snap *sn, struct merr *err)
{
	struct channel ch;
	int rc;

	rc = channel_resolve(t, mirror, ref, sn, &ch, err);
	if (rc == 0)
		channel_free(&ch);
	return rc;
}

static int
put_log(struct store_txn *t, const char *mirror, const char *name,
    const struct channel_log *e, struct merr *err)
{
	struct log_list ll = { NULL, 0 };
	struct buf k = BUF_INIT, v = BUF_INIT;
	unsigned char seq[4];
	int rc;

	ckey(&k, mirror, 'l', name);
	buf_addc(&k, '\0');
	rc = scan_prefix(t, &k, collect_log, &ll, err);
	channel_log_release(ll.l, ll.n);
	if (rc)
		goto out;
	seq[0] = (unsigned char)(ll.n >> 24);
	seq[1] = (unsigned char)(ll.n >> 16);
	seq[2] = (unsigned char)(ll.n >> 8);
	seq[3] = (unsigned char)ll.n;
	buf_add(&k, seq, 4);
	buf_addf(&v, "time %lld\nby %s\nfrom %s\nto %s\naction %s\n",
	    (long long)e->time, e->by, e->from[0] ? e->from : "-",
	    e->to[0] ? e->to : "-", e->action);
	if (e->message && *e->message) {
		size_t i, start = v.len;

		/* One line, bounded: the value is line-oriented. */
		buf_addf(&v, "message %.*s\n", CHANNEL_MESSAGE_MAX,
		    e->message);
		for (i = start + 8; i + 1 < v.len; i++)
			if (v.p[i] == '\n' || v.p[i] == '\r')
				v.p[i] = ' ';
	}
	rc = store_put(t, TBL_CHANNELS, k.p, k.len, v.p, v.len, err);
out:
	buf_release(&k);
	buf_release(&v);
	return rc;
}

/* Queues every Release file of ch for gc, as unreferenced since now. */
static int
queue_release_files(struct store_txn *t, const struct channel *ch,
    int64_t now, struct merr *err)
{
	size_t j, f;
	int rc = 0;

	for (j = 0; rc == 0 && j < ch->nsuites; j++)
		for (f = 0; rc == 0 && f < ch->suites[j].nfiles; f++)
			rc = store_gc_queue(t, ch->suites[j].files[f].hash, now,
			    err);
	return rc;
}

/*
 * Points channel name at target: signs Release files for each of its
 * suites, makes them durable, then one transaction writes the state and
 * the log entry.
 */
static int
channel_move(struct store *s, struct gpg_signer *g, const char *mirror,
    const char *name, const struct snap *target, const char *from,
    int64_t prev_moved, const char *action, const char *message,
    const struct channel_move_opts *o, struct merr *err)
{
	struct channel ch;
	struct channel_log e;
	struct store_txn *t = NULL;
	struct buf k = BUF_INIT, v = BUF_INIT;
	int64_t now = (int64_t)time(NULL);
	size_t i;
	int rc = 0;

	/*
	 * Date must increase, or apt keeps what it has, and must not be ahead
	 * of the clock, or apt refuses the file ("not valid yet") until it is:
	 * a second move within one second waits for the next second, as a
	 * snapshot's commit does. A clock set back by more than that is not
	 * waited for.
	 */
	while (now <= prev_moved && prev_moved - now < 2) {
		usleep(20 * 1000);
		now = (int64_t)time(NULL);
	}
	if (now <= prev_moved)
		now = prev_moved + 1;
	memset(&ch, 0, sizeof(ch));
	snprintf(ch.name, sizeof(ch.name), "%s", name);
	memcpy(ch.target, target->id, SNAP_ID_LEN + 1);
	if (from != NULL && strlen(from) == SNAP_ID_LEN)
		memcpy(ch.prev, from, SNAP_ID_LEN + 1);
	ch.moved_at = now;
	ch.moved_by = xstrdup(o->by);
	ch.valid_until = o->valid_for ? now + o->valid_for : 0;
	rc = channel_dists_sign(s, g, mirror, target, &ch, o->base_url, err);
	if (rc == 0)
		rc = store_sync(s, err);
	if (rc == 0)
		rc = store_txn_begin(s, true, &t, err);
	if (rc)
		goto out;
	/* The Release files the channel served until now lose it. */
	{
		struct channel old;

		rc = channel_get(t, mirror, name, &old, err);
		if (rc == 0) {
			rc = queue_release_files(t, &old, now, err);
			channel_free(&old);
		} else if (rc == MERR_NOTFOUND) {
			rc = 0;
		}
	}
	/* The new files are blobs like any other: fsck and gc see them. */
	for (i = 0; rc == 0 && i < ch.nsuites; i++) {
		size_t f;

		for (f = 0; rc == 0 && f < ch.suites[i].nfiles; f++)
			rc = store_blob_put(t, ch.suites[i].files[f].hash,
			    ch.suites[i].files[f].size, err);
	}
	if (rc) {
		store_txn_abort(t);
		goto out;
	}
	state_write(&ch, &v);
	ckey(&k, mirror, 'c', name);
	rc = store_put(t, TBL_CHANNELS, k.p, k.len, v.p, v.len, err);
	if (rc == 0) {
		memset(&e, 0, sizeof(e));
		e.time = now;
		e.by = (char *)o->by;
		snprintf(e.from, sizeof(e.from), "%s", from ? from : "");
		memcpy(e.to, target->id, SNAP_ID_LEN + 1);
		e.action = (char *)action;
		e.message = (char *)message;
		rc = put_log(t, mirror, name, &e, err);
	}
	if (rc == 0)
		rc = store_txn_commit(t, err);
	else
		store_txn_abort(t);
out:
	buf_release(&k);
	buf_release(&v);
	channel_free(&ch);
	return rc;
}

int
channel_promote(struct store *s, struct gpg_signer *g, const char *mirror,
    const char *ref, const char *name, const struct channel_move_opts *o,
    char target[SNAP_ID_LEN + 1], struct merr *err)
{
	struct store_txn *t;
	struct snap sn;
	struct channel src, cur;
	bool have_cur = false;
	int rc;

	rc = channel_name_check(name, err);
	if (rc)
		return rc;
	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = channel_resolve(t, mirror, ref, &sn, &src, err);
	if (rc) {
		store_txn_abort(t);
		return rc;
	}
	channel_free(&src);
	rc = channel_get(t, mirror, name, &cur, err);
	if (rc == 0)
		have_cur = true;
	else if (rc != MERR_NOTFOUND)
		goto out;
	rc = 0;
	store_txn_abort(t);
	t = NULL;
	if (have_cur && strcmp(cur.target, sn.id) == 0) {
		rc = merr_set(err, MERR_EXISTS,
		    "channel '%s' is already at %s: nothing to promote", name,
		    sn.id);
		goto out;
	}
	rc = channel_move(s, g, mirror, name, &sn, have_cur ? cur.target :
	    NULL, have_cur ? cur.moved_at : 0, "promote", o->message, o, err);
	if (rc == 0)
		memcpy(target, sn.id, SNAP_ID_LEN + 1);
out:
	if (t)
		store_txn_abort(t);
	if (have_cur)
		channel_free(&cur);
	snap_release(&sn);
	return rc;
}

/*
 * One walk, newest first: a rollback entry hides the promotion it undid
 * (skip), a promotion not hidden is where the next rollback returns to.
 * The k-th of successive rollbacks sees k - 1 more rollback entries at the
 * end of the log, so it would skip the promotion the (k - 1)-th returned
 * through and then walk on exactly as that one did: all depth targets
 * come out of the same walk.
 */
size_t
channel_log_rollbacks(const struct channel_log *l, size_t n, size_t depth,
    const char **out)
{
	size_t skip = 0, got = 0, i;

	for (i = n; i-- > 0 && got < depth; ) {
		if (strcmp(l[i].action, "rollback") == 0) {
			skip++;
			continue;
		}
		if (strcmp(l[i].action, "promote") != 0)
			continue;	/* a refresh moves nothing */
		if (skip > 0) {
			skip--;
			continue;
		}
		if (l[i].from[0] == '\0')
			break;		/* the first promotion: nothing before */
		out[got++] = l[i].from;
	}
	return got;
}

int
channel_rollback_targets(struct store_txn *t, const char *mirror,
    const char *name, size_t depth,
    int (*fn)(void *ctx, const char *id, struct merr *err), void *ctx,
    struct merr *err)
{
	struct channel_log *l = NULL;
	const char **to;
	size_t n = 0, got, i;
	int rc;

	rc = channel_log_get(t, mirror, name, &l, &n, err);
	if (rc)
		return rc;
	/* No more targets than promotions: the array follows the log. */
	if (depth > n)
		depth = n;
	to = xcalloc(depth ? depth : 1, sizeof(*to));
	got = channel_log_rollbacks(l, n, depth, to);
	for (i = 0; rc == 0 && i < got; i++)
		rc = fn(ctx, to[i], err);
	free(to);
	channel_log_release(l, n);
	return rc;
}

static int
channel_move_same(struct store *s, struct gpg_signer *g, const char *mirror,
    const char *name, const struct channel_move_opts *o, bool rollback,
    char target[SNAP_ID_LEN + 1], struct merr *err)
{
	struct store_txn *t;
	struct channel cur;
	struct channel_log *l = NULL;
	struct snap sn;
	const char *to;
	size_t n = 0;
	bool have_sn = false;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = channel_get(t, mirror, name, &cur, err);
	if (rc) {
		store_txn_abort(t);
		return rc;
	}
	rc = channel_log_get(t, mirror, name, &l, &n, err);
	if (rc)
		goto out;
	if (!rollback)
		to = cur.target;
	else if (channel_log_rollbacks(l, n, 1, &to) == 0)
		to = NULL;
	if (to == NULL) {
		rc = merr_set(err, MERR_NOTFOUND, "channel '%s' has no "
		    "earlier target to roll back to", name);
		goto out;
	}
	/* An exact ID: whatever snap_load() found instead, it is gone. */
	rc = snap_load(t, mirror, to, &sn, err);
	if (rc == 0 && strcmp(sn.id, to) != 0) {
		snap_release(&sn);
		rc = MERR_NOTFOUND;
	}
	if (rc == MERR_NOTFOUND)
		rc = merr_set(err, MERR_NOTFOUND,
		    "snapshot '%s' no longer exists", to);
	if (rc)
		goto out;
	have_sn = true;
	store_txn_abort(t);
	t = NULL;
	rc = channel_move(s, g, mirror, name, &sn, cur.target, cur.moved_at,
	    rollback ? "rollback" : "refresh", rollback ? o->message : NULL,
	    o, err);
	if (rc == 0 && target)
		memcpy(target, sn.id, SNAP_ID_LEN + 1);
out:
	if (t)
		store_txn_abort(t);
	if (have_sn)
		snap_release(&sn);
	channel_log_release(l, n);
	channel_free(&cur);
	return rc;
}

int
channel_rollback(struct store *s, struct gpg_signer *g, const char *mirror,
    const char *name, const struct channel_move_opts *o,
    char target[SNAP_ID_LEN + 1], struct merr *err)
{
	return channel_move_same(s, g, mirror, name, o, true, target, err);
}

int
channel_refresh(struct store *s, struct gpg_signer *g, const char *mirror,
    const char *name, const struct channel_move_opts *o, struct merr *err)
{
	return channel_move_same(s, g, mirror, name, o, false, NULL, err);
}

int
channel_delete(struct store *s, const char *mirror, const char *name,
    const char *by, const char *message, char target[SNAP_ID_LEN + 1],
    struct merr *err)
{
	struct store_txn *t;
	struct channel ch;
	struct channel_log e;
	struct buf k = BUF_INIT;
	int64_t now = (int64_t)time(NULL);
	int rc;

	rc = channel_name_check(name, err);
	if (rc)
		return rc;
	rc = store_txn_begin(s, true, &t, err);
	if (rc)
		return rc;
	rc = channel_get(t, mirror, name, &ch, err);
	if (rc) {
		store_txn_abort(t);
		return rc;
	}
	rc = queue_release_files(t, &ch, now, err);
	if (rc == 0) {
		ckey(&k, mirror, 'c', name);
		rc = store_del(t, TBL_CHANNELS, k.p, k.len, err);
	}
	if (rc == 0) {
		memset(&e, 0, sizeof(e));
		e.time = now;
		e.by = (char *)by;
		memcpy(e.from, ch.target, SNAP_ID_LEN + 1);
		e.action = (char *)"delete";
		e.message = (char *)message;
		rc = put_log(t, mirror, name, &e, err);
	}
	if (rc == 0)
		rc = store_txn_commit(t, err);
	else
		store_txn_abort(t);
	if (rc == 0 && target)
		memcpy(target, ch.target, SNAP_ID_LEN + 1);
	buf_release(&k);
	channel_free(&ch);
	return rc;
}

/* Moves the log entries of from to the end of to's log. */
static int
move_log(struct store_txn *t, const char *mirror, const char *from,
    const char *to, struct merr *err)
{
	struct channel_log *l = NULL;
	struct buf k = BUF_INIT;
	unsigned char seq[4];
	size_t n = 0, i;
	int rc;

	rc = channel_log_get(t, mirror, from, &l, &n, err);
	for (i = 0; rc == 0 && i < n; i++)
		rc = put_log(t, mirror, to, &l[i], err);
	for (i = 0; rc == 0 && i < n; i++) {
		ckey(&k, mirror, 'l', from);
		buf_addc(&k, '\0');
		be32_put(seq, (uint32_t)i);
		buf_add(&k, seq, 4);
		rc = store_del(t, TBL_CHANNELS, k.p, k.len, err);
	}
	buf_release(&k);
	channel_log_release(l, n);
	return rc;
}

int
channel_rename(struct store *s, const char *mirror, const char *from,
    const char *to, const char *by, const char *message, struct merr *err)
{
	struct store_txn *t;
	struct channel ch, other;
	struct channel_log e;
	struct buf k = BUF_INIT, v = BUF_INIT;
	char *why = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc;

	rc = channel_name_check(from, err);
	if (rc == 0)
		rc = channel_name_check(to, err);
	if (rc)
		return rc;
	if (strcmp(from, to) == 0)
		return merr_set(err, MERR_INVAL, "channel '%s' already has "
		    "that name", from);
	rc = store_txn_begin(s, true, &t, err);
	if (rc)
		return rc;
	rc = channel_get(t, mirror, from, &ch, err);
	if (rc) {
		store_txn_abort(t);
		return rc;
	}
	rc = channel_get(t, mirror, to, &other, err);
	if (rc == 0) {
		rc = merr_set(err, MERR_EXISTS, "channel '%s' already exists "
		    "(at %s): delete it first or pick another name", to,
		    other.target);
		channel_free(&other);
	} else if (rc == MERR_NOTFOUND) {
		rc = 0;
	}
	/* The same state under the new key. */
	if (rc == 0) {
		ckey(&k, mirror, 'c', from);
		rc = store_del(t, TBL_CHANNELS, k.p, k.len, err);
	}
	if (rc == 0) {
		snprintf(ch.name, sizeof(ch.name), "%s", to);
		state_write(&ch, &v);
		ckey(&k, mirror, 'c', to);
		rc = store_put(t, TBL_CHANNELS, k.p, k.len, v.p, v.len, err);
	}
	/* History follows the channel, so rollback still works. */
	if (rc == 0)
		rc = move_log(t, mirror, from, to, err);
	memset(&e, 0, sizeof(e));
	e.time = now;
	e.by = (char *)by;
	memcpy(e.from, ch.target, SNAP_ID_LEN + 1);
	memcpy(e.to, ch.target, SNAP_ID_LEN + 1);
	e.action = (char *)"rename";
	if (rc == 0) {
		why = message && *message ?
		    xasprintf("renamed from '%s': %s", from, message) :
		    xasprintf("renamed from '%s'", from);
		e.message = why;
		rc = put_log(t, mirror, to, &e, err);
		free(why);
	}
	if (rc == 0) {
		why = message && *message ?
		    xasprintf("renamed to '%s': %s", to, message) :
		    xasprintf("renamed to '%s'", to);
		e.message = why;
		rc = put_log(t, mirror, from, &e, err);
		free(why);
	}
	if (rc == 0)
		rc = store_txn_commit(t, err);
	else
		store_txn_abort(t);
	buf_release(&k);
	buf_release(&v);
	channel_free(&ch);
	return rc;
}

int
channel_import(struct store_txn *t, const char *mirror,
    const struct channel *ch, const struct channel_log *log, size_t n,
    int64_t now, struct merr *err)
{
	struct channel old;
	struct channel_log *have = NULL;
	struct buf k = BUF_INIT, v = BUF_INIT;
	size_t nhave = 0, i;
	int rc;

	rc = channel_get(t, mirror, ch->name, &old, err);
	if (rc == 0) {
		rc = queue_release_files(t, &old, now, err);
		channel_free(&old);
	} else if (rc == MERR_NOTFOUND) {
		rc = 0;
	}
	if (rc == 0) {
		state_write(ch, &v);
		ckey(&k, mirror, 'c', ch->name);
		rc = store_put(t, TBL_CHANNELS, k.p, k.len, v.p, v.len, err);
	}
	if (rc == 0)
		rc = channel_log_get(t, mirror, ch->name, &have, &nhave, err);
	for (i = nhave; rc == 0 && i < n; i++)
		rc = put_log(t, mirror, ch->name, &log[i], err);
	channel_log_release(have, nhave);
	buf_release(&k);
	buf_release(&v);
	return rc;
}

int
channel_import_drop(struct store_txn *t, const char *mirror,
    const char *name, int64_t now, struct merr *err)
{
	struct channel ch;
	struct buf k = BUF_INIT;
	int rc;

	rc = channel_get(t, mirror, name, &ch, err);
	if (rc)
		return rc;
	rc = queue_release_files(t, &ch, now, err);
	if (rc == 0) {
		ckey(&k, mirror, 'c', name);
		rc = store_del(t, TBL_CHANNELS, k.p, k.len, err);
	}
	buf_release(&k);
	channel_free(&ch);
	return rc;
}
