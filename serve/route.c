/*
 * route.c: URL parsing and resolution to a blob.
 *
 * Parsing works on the raw request path: libmicrohttpd is told not to
 * unescape it (see http.c), so that an escape hiding a '/' ("%2F") or a
 * NUL can be refused here instead of being mistaken for a separator.
 * The decoded path must then pass path_check(): no "..", ".", empty
 * segments or control bytes can reach a lookup. Lookups go through the
 * store's tables only; the one file opened is a blob named by its hash.
 */
#include "mirrord/common.h"

#include <strings.h>
#include <time.h>

#include "mirrord/channel.h"
#include "mirrord/hash.h"
#include "mirrord/path.h"
#include "mirrord/pool.h"
#include "mirrord/snap.h"
#include "serve/escape.h"
#include "serve/listing.h"
#include "serve/refcache.h"
#include "serve/route.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Cuts s at the next '/', returning what follows it (NULL if none). */
static char *
cut(char *s)
{
	char *sl = strchr(s, '/');

	if (sl == NULL)
		return NULL;
	*sl = '\0';
	return sl + 1;
}

/*
 * Decodes the raw request path raw into buf (size n), its length in *len:
 * 0, or 400 (malformed) or 404 (too long) as route_parse() says.
 */
static int
decode(const char *raw, char *buf, size_t n, size_t *len)
{
	size_t i, o = 0;

	/* An absolute-form target (RFC 9112 3.2.2): keep its path. */
	if (strncasecmp(raw, "http://", 7) == 0 ||
	    strncasecmp(raw, "https://", 8) == 0) {
		raw = strchr(strchr(raw, ':') + 3, '/');
		if (raw == NULL)
			raw = "/";
	}
	if (raw[0] != '/' || n < 2)
		return 400;
	for (i = 1; raw[i] != '\0'; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c == '%') {
			int hi = hexval(raw[i + 1]), lo;

			/* raw[i + 2] is read only if raw[i + 1] is a hex
			   digit, so never past the NUL. */
			if (hi < 0)
				return 400;
			lo = hexval(raw[i + 2]);
			if (lo < 0)
				return 400;
			c = (unsigned char)(hi << 4 | lo);
			if (c == '/' || c == '\0')
				return 400;
			i += 2;
		}
		if (o + 1 >= n)
			return 404;
		buf[o++] = (char)c;
	}
	*len = o;
	return 0;
}

int
route_parse(const char *raw, char *buf, size_t n, struct route *r)
{
	size_t o = 0;
	char *p, *rest;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = decode(raw, buf, n, &o);
	if (rc)
		return rc;
	buf[o] = '\0';
	if (o == 0) {
		r->kind = ROUTE_ROOT;
		r->dir = true;
		return 0;
	}
	if (buf[o - 1] == '/') {
		r->dir = true;
		buf[--o] = '\0';
	}
	if (path_check(buf, o, NULL) != 0)
		return 404;

	p = buf;
	rest = cut(p);
	r->mirror = p;
	if (rest == NULL) {
		if (!r->dir && strcmp(p, "healthz") == 0)
			r->kind = ROUTE_HEALTHZ;
		else if (!r->dir && strcmp(p, "metrics") == 0)
			r->kind = ROUTE_METRICS;
		else if (!r->dir && strcmp(p, "keyring.gpg") == 0)
			r->kind = ROUTE_KEYRING;
		else
			r->kind = ROUTE_MIRROR;
		if (r->kind != ROUTE_MIRROR)
			r->mirror = NULL;
		return 0;
	}
	if (strcmp(p, "api") == 0) {
		r->kind = ROUTE_API;
		r->mirror = NULL;
		r->path = rest;
		return 0;
	}
	p = rest;
	rest = cut(p);
	r->ref = p;
	if (rest == NULL) {
		/* Not a ref: channel_name_check() refuses the name. */
		if (!r->dir && strcmp(p, "keyring.gpg") == 0) {
			r->kind = ROUTE_MIRROR_KEYRING;
			r->ref = NULL;
		} else {
			r->kind = ROUTE_REF;
		}
		return 0;
	}
	if (str_startswith(rest, "pool") && (rest[4] == '\0' ||
	    rest[4] == '/')) {
		r->kind = ROUTE_POOL;
		r->path = rest;
		return 0;
	}
	p = rest;
	rest = cut(p);
	if (strcmp(p, "dists") != 0)
		return 404;
	if (rest == NULL) {
		r->kind = ROUTE_DISTS;
		return 0;
	}
	r->kind = ROUTE_SUITE;
	r->suite = rest;
	rest = cut(rest);
	r->path = rest ? rest : "";
	return 0;
}

enum route_ref_kind
route_ref_kind(const char *ref)
{
	static const char shape[] = "dddddddd" "T" "dddddd" "Z";
	size_t i;

	if (strcmp(ref, "latest") == 0)
		return REF_LATEST;
	if (strlen(ref) != sizeof(shape) - 1)
		return REF_NAME;
	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? (ref[i] < '0' || ref[i] > '9') :
		    ref[i] != shape[i])
			return REF_NAME;
	}
	return REF_STAMP;
}

bool
route_is_by_hash(const char *path)
{
	const char *p, *alg, *sl;

	for (p = strstr(path, "by-hash/"); p != NULL;
	    p = strstr(p + 8, "by-hash/")) {
		if (p != path && p[-1] != '/')
			continue;
		/* Exactly two non-empty segments must follow. */
		alg = p + 8;
		sl = strchr(alg, '/');
		if (sl && sl > alg && sl[1] != '\0' &&
		    strchr(sl + 1, '/') == NULL)
			return true;
	}
	return false;
}

static const char *
basename_of(const char *path)
{
	const char *sl = strrchr(path, '/');

	return sl ? sl + 1 : path;
}

bool
route_is_release(const char *path)
{
	const char *b = basename_of(path);

	return strcmp(b, "InRelease") == 0 || strcmp(b, "Release") == 0 ||
	    strcmp(b, "Release.gpg") == 0;
}

const char *
route_content_type(const char *path)
{
	const char *b = basename_of(path);

	if (strcmp(b, "InRelease") == 0 || strcmp(b, "Release") == 0)
		return "text/plain; charset=utf-8";
	if (strcmp(b, "Release.gpg") == 0)
		return "application/pgp-signature";
	if (str_endswith(b, ".deb") || str_endswith(b, ".udeb") ||
	    str_endswith(b, ".ddeb"))
		return "application/vnd.debian.binary-package";
	return "application/octet-stream";
}

const char *
route_cache_control(bool exact_id, bool by_hash, bool pool)
{
	return exact_id || by_hash || pool ? ROUTE_CC_IMMUTABLE :
	    ROUTE_CC_MOVING;
}

bool
route_ref_fixed(const char *ref, time_t now)
{
	char id[SNAP_ID_LEN + 1];
	struct tm tm;

	if (route_ref_kind(ref) != REF_STAMP)
		return false;
	gmtime_r(&now, &tm);
	strftime(id, sizeof(id), "%Y%m%dT%H%M%SZ", &tm);
	/* Fixed-width digits: the string order is the time order. */
	return strcmp(ref, id) < 0;
}

/*
 * A new entry for r's ref (key, klen), resolved in t, with a reference
 * for the caller. channel_resolve()'s errors (MERR_NOTFOUND,
 * MERR_INVAL: no such ref).
 */
static int
ent_load(struct store_txn *t, const struct route *r, const char *key,
    size_t klen, struct refcache_ent **out, struct merr *err)
{
	struct snap sn;
	struct channel ch;
	int rc;

	memset(&sn, 0, sizeof(sn));
	memset(&ch, 0, sizeof(ch));
	rc = channel_resolve(t, r->mirror, r->ref, &sn, &ch, err);
	if (rc)
		return rc;
	/* Under the ID of the state it was read in: see store_txn_id(). */
	*out = refcache_ent_new(key, klen, store_txn_id(t), &sn, &ch);
	return 0;
}

/*
 * mirror's pool path in snapshot seq: its blob and size from the memo
 * when no commit landed since it was kept, else from the store (in *t,
 * begun here when needed), kept. MERR_NOTFOUND when the snapshot has no
 * such file.
 */
static int
memo_pool_lookup(struct store *s, struct store_txn **t, struct refcache_front *f,
    uint64_t txnid, const char *mirror, const char *path, uint32_t seq,
    unsigned char h[HASH_LEN], uint64_t *size, struct merr *err)
{
	int rc;

	if (refcache_memo_get(f, txnid, mirror, path, seq, h, size))
		return 0;
	if (*t == NULL) {
		rc = store_txn_begin(s, false, t, err);
		if (rc)
			return rc;
	}
	rc = pool_lookup(*t, mirror, path, seq, h, size, err);
	/* Kept under the ID of the state it was read in (store_txn_id()). */
	if (rc == 0)
		refcache_memo_put(f, store_txn_id(*t), mirror, path, seq, h,
		    *size);
	return rc;
}

int
route_pool_lookup(struct store *s, struct refcache_front *front,
    const char *mirror, const char *path, uint32_t seq,
    unsigned char h[HASH_LEN], uint64_t *size, struct merr *err)
{
	struct store_txn *t = NULL;
	int rc = memo_pool_lookup(s, &t, front, store_last_txnid(s), mirror,
	    path, seq, h, size, err);

	if (t != NULL)
		store_txn_abort(t);
	return rc;
}

/* res becomes a 301 to the directory URL of r (with its trailing '/'). */
static void
redirect(const struct route *r, struct route_result *res)
{
	struct buf *b = &res->location;

	res->answer = ANSWER_REDIRECT;
	buf_reset(b);
	buf_addc(b, '/');
	escape_url(b, r->mirror);
	buf_addc(b, '/');
	if (r->kind == ROUTE_MIRROR)
		return;
	escape_url(b, r->ref);
	buf_addc(b, '/');
	if (r->kind == ROUTE_REF)
		return;
	buf_adds(b, "dists/");
	if (r->kind == ROUTE_DISTS)
		return;
	escape_url(b, r->suite);
	buf_addc(b, '/');
	if (r->path[0] != '\0') {
		escape_url(b, r->path);
		buf_addc(b, '/');
	}
}

static void
status(struct route_result *res, int code)
{
	res->answer = ANSWER_STATUS;
	res->status = code;
}

/* res becomes a listing of kind, titled "<mirror>/<ref>/<rest>". */
static struct listing *
listing(const struct route *r, struct route_result *res,
    enum listing_kind kind, const char *rest)
{
	char *title = xasprintf("%s/%s/%s", r->mirror, r->ref, rest);

	res->answer = ANSWER_LISTING;
	listing_release(&res->listing);
	listing_init(&res->listing, kind, title);
	free(title);
	return &res->listing;
}

/*
 * Adds the entries of files (a suite's) right under dir to l. by-hash:
 * the files of the parent directory of "by-hash/SHA256/", named by hash.
 * skip_release: leave out Release files (the channel has its own).
 */
static void
collect(struct listing *l, const struct snap_file *files, size_t n,
    const char *dir, bool skip_release)
{
	size_t dl = strlen(dir), pl, i;
	const char *parent = NULL;
	bool sha = false;

	if (str_endswith(dir, "by-hash/SHA256/")) {
		pl = dl - strlen("by-hash/SHA256/");
		sha = true;
	} else if (str_endswith(dir, "by-hash/"))
		pl = dl - strlen("by-hash/");
	else
		pl = dl;
	if (pl != dl)
		parent = dir;
	for (i = 0; i < n; i++) {
		const struct snap_file *f = &files[i];
		const char *rest, *sl;

		if (skip_release && route_is_release(f->path))
			continue;
		if (strncmp(f->path, dir, pl) != 0)
			continue;
		rest = f->path + pl;
		sl = strchr(rest, '/');
		if (parent != NULL) {
			char hex[HASH_HEX_LEN + 1];

			/* Only indices right in the parent have a hash URL. */
			if (sl != NULL || route_is_release(f->path))
				continue;
			if (sha) {
				hash_to_hex(f->hash, hex);
				listing_add_entry(l, hex, HASH_HEX_LEN,
				    f->size, false);
			} else
				listing_add_entry(l, "SHA256", 6, 0, true);
			continue;
		}
		if (sl != NULL)
			listing_add_entry(l, rest, (size_t)(sl - rest), 0,
			    true);
		else {
			listing_add_entry(l, rest, strlen(rest), f->size,
			    false);
			if (!route_is_release(f->path))
				listing_add_entry(l, "by-hash", 7, 0, true);
		}
	}
}

/*
 * res becomes the listing of the files and directories right under dir
 * ("" or ending with '/') of r's suite as served at r's ref (a channel's
 * own Release files, by-hash directories). Returns false, leaving res
 * alone, if dir holds nothing.
 */
static bool
suite_dir(const struct route *r, const struct snap *sn,
    const struct channel *ch, const char *dir, struct route_result *res)
{
	const struct snap_suite *su = snap_find_suite(sn, r->suite);
	const struct snap_suite *cs = NULL;
	struct listing l;
	char *title;
	size_t i;

	if (su == NULL)
		return false;
	for (i = 0; ch->name[0] != '\0' && i < ch->nsuites; i++)
		if (strcmp(ch->suites[i].name, r->suite) == 0)
			cs = &ch->suites[i];
	title = xasprintf("%s/%s/dists/%s/%s", r->mirror, r->ref, r->suite,
	    dir);
	listing_init(&l, LISTING_DIR, title);
	free(title);
	collect(&l, su->files, su->nfiles, dir, ch->name[0] != '\0');
	if (cs != NULL)
		collect(&l, cs->files, cs->nfiles, dir, false);
	if (l.nentries == 0) {
		listing_release(&l);
		return false;
	}
	listing_sort_entries(&l);
	listing_release(&res->listing);
	res->listing = l;
	res->answer = ANSWER_LISTING;
	return true;
}

/*
 * The entry of r's ref, through the thread's front, the shared cache or
 * else loaded in *t (begun here when needed): *e with *borrowed when it
 * is the front's (no reference taken), else with a reference for the
 * caller. *e NULL with res a 404 when the ref names nothing.
 */
static int
ref_entry(struct store *s, struct store_txn **t, struct refcache *cache,
    struct refcache_front *front, const struct route *r, uint64_t txnid,
    struct refcache_ent **e, bool *borrowed, struct route_result *res,
    struct merr *err)
{
	char key[ROUTE_BUF_MAX + 2];
	size_t ml, rl, klen;
	int rc;

	*e = NULL;
	*borrowed = false;
	/* "mirror\0ref\0": both are parts of one decoded path. */
	ml = strlen(r->mirror);
	rl = strlen(r->ref);
	if (ml + rl + 2 > sizeof(key)) {
		status(res, 404);
		return 0;
	}
	memcpy(key, r->mirror, ml + 1);
	memcpy(key + ml + 1, r->ref, rl + 1);
	klen = ml + rl + 2;
	if ((*e = refcache_front_get(front, key, klen, txnid)) != NULL) {
		*borrowed = true;
		return 0;
	}
	refcache_front_drop_stale(front, txnid);
	if ((*e = refcache_get(cache, key, klen, txnid)) == NULL) {
		rc = store_txn_begin(s, false, t, err);
		if (rc)
			return rc;
		rc = ent_load(*t, r, key, klen, e, err);
		if (rc == MERR_NOTFOUND || rc == MERR_INVAL) {
			status(res, 404);
			return 0;
		}
		if (rc)
			return rc;
		refcache_put(cache, *e);
	}
	refcache_front_put(front, *e);
	return 0;
}

/*
 * A file under dists/<suite>/ that the ref no longer lists, by its
 * by-hash name: a client read the InRelease of a target this ref had a
 * moment ago (a channel moved, a sync landed). The hash pins the bytes,
 * so any verified blob with it is the right answer, as the Debian
 * archive keeps old by-hash files for a while. Returns 0 with res a
 * file, 1 if there is no such blob, or a store error.
 */
static int
suite_old_by_hash(struct store *s, struct store_txn **t,
    const struct route *r, struct route_result *res, struct merr *err)
{
	const char *hex = strrchr(r->path, '/') + 1;
	struct store_blob_rec rec;
	unsigned char h[HASH_LEN];
	int rc;

	if (*t == NULL) {
		rc = store_txn_begin(s, false, t, err);
		if (rc)
			return rc;
	}
	if (hash_from_hex(hex, strlen(hex), h) != 0 ||
	    store_blob_get(*t, h, &rec, NULL) != 0)
		return 1;
	res->answer = ANSWER_FILE;
	memcpy(res->hash, h, HASH_LEN);
	res->size = rec.size;
	res->cache_control = route_cache_control(false, true, false);
	res->content_type = "application/octet-stream";
	return 0;
}

/* /<mirror>/<ref>/dists/<suite>[/path]: a file, else a directory. */
static int
resolve_suite(struct store *s, struct store_txn **t, const struct route *r,
    const struct snap *sn, const struct channel *ch, bool moving,
    struct route_result *res, struct merr *err)
{
	const struct snap_file *f = NULL;
	bool file = r->path[0] != '\0' && !r->dir;
	struct buf dir = BUF_INIT;
	int rc;

	if (file)
		f = channel_dists_file(sn, ch, r->suite, r->path);
	if (f != NULL) {
		bool bh = route_is_by_hash(r->path);

		res->answer = ANSWER_FILE;
		memcpy(res->hash, f->hash, HASH_LEN);
		res->size = f->size;
		res->cache_control = route_cache_control(!moving, bh, false);
		res->content_type = bh ? "application/octet-stream" :
		    route_content_type(r->path);
		return 0;
	}
	if (file && route_is_by_hash(r->path) &&
	    snap_find_suite(sn, r->suite) != NULL) {
		rc = suite_old_by_hash(s, t, r, res, err);
		if (rc <= 0)
			return rc;
	}
	/* Not a file: maybe a directory of the suite. */
	buf_adds(&dir, r->path);
	if (r->path[0] != '\0')
		buf_addc(&dir, '/');
	if (!suite_dir(r, sn, ch, dir.p, res))
		status(res, 404);
	else if (!r->dir)
		redirect(r, res);
	buf_release(&dir);
	return 0;
}

/*
 * A pool file of an on-demand mirror m: if the blobs table does not list
 * it, what fetching it takes (res->want). Read in *t (begun if need be).
 */
static int
resolve_ondemand(const struct conf *c, const struct conf_mirror *m,
    struct store *s, struct store_txn **t, const struct route *r,
    const struct snap *sn, struct route_result *res, struct merr *err)
{
	struct store_blob_rec rec;
	struct fetch_opts fo;
	int rc;

	if (*t == NULL && (rc = store_txn_begin(s, false, t, err)) != 0)
		return rc;
	rc = store_blob_get(*t, res->hash, &rec, err);
	if (rc != MERR_NOTFOUND)
		return rc;
	fetch_opts_of_conf(c, &fo);
	res->want = ondemand_want_new(m->name, m->uri, sn->id, r->path,
	    res->hash, res->size, &fo);
	return 0;
}

/* /<mirror>/<ref>/pool/<path>: a pool file of the ref's snapshot. */
static int
resolve_pool(const struct conf *c, struct store *s, struct store_txn **t,
    struct refcache_front *front, uint64_t txnid, const struct route *r,
    const struct snap *sn, struct route_result *res, struct merr *err)
{
	const struct conf_mirror *m = conf_mirror(c, r->mirror);
	int rc;

	/* Pool directories are not listed: 404. */
	if (r->dir || strcmp(r->path, "pool") == 0) {
		status(res, 404);
		return 0;
	}
	rc = memo_pool_lookup(s, t, front, txnid, r->mirror, r->path, sn->seq,
	    res->hash, &res->size, err);
	if (rc == MERR_NOTFOUND) {
		status(res, 404);
		return 0;
	}
	if (rc)
		return rc;
	if (m != NULL && m->on_demand) {
		rc = resolve_ondemand(c, m, s, t, r, sn, res, err);
		if (rc)
			return rc;
	}
	res->answer = ANSWER_FILE;
	res->cache_control = ROUTE_CC_IMMUTABLE;
	res->content_type = route_content_type(r->path);
	return 0;
}

/*
 * Resolves a URL under /<mirror>/<ref>/: the ref through the cache or in
 * *t (begun here when needed), then the path.
 */
static int
resolve_ref(const struct conf *c, struct store *s, struct store_txn **t,
    struct refcache *cache, struct refcache_front *front,
    const struct route *r, struct route_result *res, struct merr *err)
{
	const struct snap *sn;
	const struct channel *ch;
	struct refcache_ent *e;
	uint64_t txnid = store_last_txnid(s);
	bool moving, borrowed;
	size_t i;
	int rc;

	rc = ref_entry(s, t, cache, front, r, txnid, &e, &borrowed, res, err);
	if (rc || e == NULL)
		return rc;
	sn = &e->sn;
	ch = &e->ch;
	/* A channel moves; an exact ID or a past timestamp never does. */
	moving = ch->name[0] != '\0' || (strcmp(r->ref, sn->id) != 0 &&
	    !route_ref_fixed(r->ref, time(NULL)));
	/*
	 * A channel's content changes only when it moves, and it may move
	 * back to an older snapshot: its move time is the one Last-Modified
	 * that never goes backwards for its URLs.
	 */
	res->mtime = ch->name[0] != '\0' ? ch->moved_at : sn->time;
	if (ch->name[0] != '\0') {
		res->channel = true;
		memcpy(res->prev, ch->prev, sizeof(res->prev));
	}

	switch (r->kind) {
	case ROUTE_REF:
		if (!r->dir)
			redirect(r, res);
		else
			listing(r, res, LISTING_REF, "")->snapshot =
			    xstrdup(sn->id);
		break;
	case ROUTE_DISTS:
		if (!r->dir)
			redirect(r, res);
		else {
			struct listing *l = listing(r, res, LISTING_DISTS,
			    "dists/");

			for (i = 0; i < sn->nsuites; i++)
				listing_add_suite(l, sn->suites[i].name);
		}
		break;
	case ROUTE_SUITE:
		rc = resolve_suite(s, t, r, sn, ch, moving, res, err);
		break;
	case ROUTE_POOL:
		rc = resolve_pool(c, s, t, front, txnid, r, sn, res, err);
		break;
	default:
		status(res, 404);
		break;
	}
	if (!borrowed)
		refcache_ent_unref(e);
	return rc;
}

/* The listing of "/" or "/<mirror>/", read in t. */
static int
resolve_listing(const struct conf *c, struct store_txn *t,
    const struct route *r, struct route_result *res, struct merr *err)
{
	size_t i;
	int rc = 0;

	res->answer = ANSWER_LISTING;
	if (r->kind == ROUTE_MIRROR) {
		listing_init(&res->listing, LISTING_MIRROR, r->mirror);
		return listing_add_mirror(&res->listing, t, r->mirror, err);
	}
	listing_init(&res->listing, LISTING_ROOT, "mirrord");
	for (i = 0; i < c->nmirrors && rc == 0; i++)
		rc = listing_add_mirror(&res->listing, t, c->mirrors[i].name,
		    err);
	return rc;
}

void
route_result_release(struct route_result *res)
{
	listing_release(&res->listing);
	buf_release(&res->location);
	ondemand_want_free(res->want);
	res->want = NULL;
}

int
route_resolve(const struct conf *c, struct store *s,
    struct refcache *cache, struct refcache_front *front,
    const struct route *r, struct route_result *res, struct merr *err)
{
	struct store_txn *t = NULL;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	buf_init(&res->location);
	res->answer = ANSWER_STATUS;
	res->status = 404;
	if (r->kind != ROUTE_ROOT && conf_mirror(c, r->mirror) == NULL)
		return 0;
	if (r->kind == ROUTE_MIRROR && !r->dir) {
		redirect(r, res);
		return 0;
	}
	switch (r->kind) {
	case ROUTE_ROOT:
	case ROUTE_MIRROR:
		rc = store_txn_begin(s, false, &t, err);
		if (rc)
			break;
		rc = resolve_listing(c, t, r, res, err);
		break;
	case ROUTE_REF:
	case ROUTE_DISTS:
	case ROUTE_SUITE:
	case ROUTE_POOL:
		rc = resolve_ref(c, s, &t, cache, front, r, res, err);
		break;
	default:
		break;
	}
	if (t != NULL)
		store_txn_abort(t);
	if (rc) {
		route_result_release(res);
		status(res, 500);
	}
	return rc;
}
