/*
 * t_replica.c: the pieces of a read replica that need no primary
 * (replica.h): its configuration keys, the refusal of writes, the state
 * kept in TBL_META and the lag, and the store primitives the apply uses
 * (snap_import, channel_import, channel_import_drop). e2e t0980 follows
 * a real primary.
 */
#include "mirrord/common.h"

#include "mirrord/channel.h"
#include "mirrord/conf.h"
#include "mirrord/replica.h"
#include "mirrord/replica_int.h"
#include "mirrord/snap.h"
#include "mirrord/store.h"
#include "tests/unit/helpers.h"
#include "tests/unit/tap.h"

static char *tmp;

/* conf_load of a file holding text (NULL on error, err set). */
static struct conf *
load(const char *text, struct merr *err)
{
	char *path = xasprintf("%s/mirrord.conf", tmp);
	struct conf *c = NULL;

	if (write_file_atomic(path, text, strlen(text), 0644, err) == 0)
		conf_load(path, &c, err);
	free(path);
	return c;
}

static void
test_conf(void)
{
	struct merr err = { 0 };
	struct conf *c;
	char *text, big[700];

	c = load("Store: /tmp/x\n", &err);
	ok(c != NULL && !replica_is(c) && c->replica_interval == 5,
	    "no Replica-Of: no replica, Replica-Interval 5 s");
	ok(c != NULL && replica_refuse(c, &err) == 0, "refuse: 0 on a "
	    "primary");
	conf_free(c);
	c = load("Store: /tmp/x\nReplica-Of: http://primary.example:8080/\n"
	    "Replica-Interval: 2s\n", &err);
	ok(c != NULL && replica_is(c), "Replica-Of: a replica (%s)",
	    c ? "" : err.msg);
	is_str(c ? c->replica_of : NULL, "http://primary.example:8080",
	    "the URL, without its trailing slash");
	is_int(c ? c->replica_interval : 0, 2, "Replica-Interval: 2s");
	memset(&err, 0, sizeof(err));
	is_int(c ? replica_refuse(c, &err) : 0, MERR_INVAL, "refuse on a "
	    "replica");
	is_str(err.msg, "this store is a replica of "
	    "http://primary.example:8080", "refuse: the message names it");
	conf_free(c);
	c = load("Store: /tmp/x\nReplica-Of: ftp://x/\n", &err);
	ok(c == NULL && strstr(err.msg, "line 2") != NULL, "a bad URL is "
	    "refused with its line: '%s'", err.msg);
	conf_free(c);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	text = xasprintf("Store: /tmp/x\nReplica-Of: http://%s\n", big);
	c = load(text, &err);
	ok(c == NULL && strstr(err.msg, "longer than") != NULL, "a URL over "
	    "512 bytes is refused: '%s'", err.msg);
	conf_free(c);
	free(text);
}

static void
test_state(struct store *s)
{
	struct replica_state st, back;
	struct store_txn *t;
	struct merr err = { 0 };
	int rc;

	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0) {
		rc = replica_state_get(t, &st, &err);
		store_txn_abort(t);
	}
	ok(rc == 0 && st.generation[0] == '\0' && st.last_success == 0,
	    "state: none in a new store");
	is_int(replica_lag(&st, 1000), -1, "lag: -1 before any success");
	memset(&st, 0, sizeof(st));
	memset(st.generation, 'a', HASH_HEX_LEN);
	st.time = 100;
	st.applied_at = 200;
	st.last_success = 300;
	rc = store_txn_begin(s, true, &t, &err);
	if (rc == 0)
		rc = replica_state_put(t, &st, &err);
	if (rc == 0)
		rc = store_txn_commit(t, &err);
	if (rc == 0)
		rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0) {
		rc = replica_state_get(t, &back, &err);
		store_txn_abort(t);
	}
	ok(rc == 0 && memcmp(&st, &back, sizeof(st)) == 0, "state: what is "
	    "put is read back (%s)", err.msg);
	is_int(replica_lag(&back, 310), 10, "lag: now - last success");
	is_int(replica_lag(&back, 290), 0, "lag: never negative");
}

/* A manifest of snapshot id (seq) with one file, as snap.c writes it. */
static char *
manifest(const char *id, uint32_t seq, uint64_t bytes, size_t *len)
{
	struct snap sn = { 0 };
	struct buf b = BUF_INIT;
	unsigned char h[HASH_LEN] = { 1, 2, 3 };

	snprintf(sn.id, sizeof(sn.id), "%s", id);
	sn.seq = seq;
	sn.time = 1796000000 + seq;
	sn.bytes = bytes;
	sn.suites = xcalloc(1, sizeof(*sn.suites));
	sn.nsuites = 1;
	sn.suites[0].name = xstrdup("stable");
	snap_suite_add_file(&sn.suites[0], "InRelease", h, 3);
	snap_manifest_write(&sn, &b);
	snap_release(&sn);
	return buf_detach(&b, len);
}

static void
test_snap_import(struct store *s)
{
	struct store_txn *t;
	struct merr err = { 0 };
	struct snap sn = { 0 };
	uint64_t n = 0, bytes = 0;
	size_t len;
	char *m = manifest("20261207T040000Z", 1, 1234, &len);
	int rc, rc2 = 0;

	rc = store_txn_begin(s, true, &t, &err);
	if (rc == 0) {
		rc = snap_import(t, "demo", m, len, &err);
		rc2 = snap_import(t, "demo", m, len, &err);
		if (rc == 0)
			rc = store_txn_commit(t, &err);
		else
			store_txn_abort(t);
	}
	is_int(rc, 0, "snap_import: a copied manifest is stored");
	is_int(rc2, MERR_EXISTS, "snap_import: the same ID again: "
	    "MERR_EXISTS");
	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0) {
		rc = snap_load(t, "demo", "20261207T040000Z", &sn, &err);
		if (rc == 0)
			rc = snap_totals(t, &n, &bytes, &err);
		store_txn_abort(t);
	}
	ok(rc == 0 && sn.seq == 1 && sn.bytes == 1234, "snap_import: loads "
	    "with its ID and seq (%s)", err.msg);
	ok(n == 1 && bytes == 1234, "snap_import: counted in the totals");
	snap_release(&sn);
	free(m);
	rc = store_txn_begin(s, true, &t, &err);
	if (rc == 0) {
		rc = snap_import(t, "demo", "mirrord-snapshot 1\nnonsense\n",
		    28, &err);
		store_txn_abort(t);
	}
	is_int(rc, MERR_STORE, "snap_import: a manifest that does not parse");
}

static void
test_channel_import(struct store *s)
{
	struct channel ch = { 0 }, got = { 0 };
	struct channel_log log[2], *back = NULL;
	struct store_txn *t;
	struct merr err = { 0 };
	unsigned char h[HASH_LEN] = { 9 };
	size_t nback = 0;
	int rc, i;

	memset(log, 0, sizeof(log));
	snprintf(ch.name, sizeof(ch.name), "production");
	snprintf(ch.target, sizeof(ch.target), "20261207T040000Z");
	ch.moved_at = 1796000100;
	ch.moved_by = xstrdup("ops@primary");
	ch.suites = xcalloc(1, sizeof(*ch.suites));
	ch.nsuites = 1;
	ch.suites[0].name = xstrdup("stable");
	snap_suite_add_file(&ch.suites[0], "InRelease", h, 10);
	for (i = 0; i < 2; i++) {
		log[i].time = 1796000000 + i;
		log[i].by = (char *)"ops@primary";
		log[i].action = (char *)"promote";
		snprintf(log[i].to, sizeof(log[i].to), "20261207T040000Z");
	}
	/* Twice, as two polls: the log gets each entry once. */
	for (i = 1; i <= 2; i++) {
		rc = store_txn_begin(s, true, &t, &err);
		if (rc == 0) {
			rc = channel_import(t, "demo", &ch, log, (size_t)i,
			    1796000200, &err);
			if (rc == 0)
				rc = store_txn_commit(t, &err);
			else
				store_txn_abort(t);
		}
	}
	if (rc == 0)
		rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0) {
		rc = channel_get(t, "demo", "production", &got, &err);
		if (rc == 0)
			rc = channel_log_get(t, "demo", "production", &back,
			    &nback, &err);
		store_txn_abort(t);
	}
	ok(rc == 0 && strcmp(got.target, ch.target) == 0 &&
	    got.moved_at == ch.moved_at && got.nsuites == 1 &&
	    memcmp(got.suites[0].files[0].hash, h, HASH_LEN) == 0,
	    "channel_import: the state as the primary has it (%s)", err.msg);
	is_int(nback, 2, "channel_import: each log entry once");
	channel_log_release(back, nback);
	channel_free(&got);
	rc = store_txn_begin(s, true, &t, &err);
	if (rc == 0) {
		rc = channel_import_drop(t, "demo", "production", 1796000300,
		    &err);
		if (rc == 0)
			rc = store_txn_commit(t, &err);
		else
			store_txn_abort(t);
	}
	is_int(rc, 0, "channel_import_drop: dropped");
	rc = store_txn_begin(s, false, &t, &err);
	if (rc == 0) {
		rc = channel_get(t, "demo", "production", &got, &err);
		store_txn_abort(t);
	}
	is_int(rc, MERR_NOTFOUND, "channel_import_drop: the channel is gone");
	channel_free(&ch);
}

int
main(void)
{
	struct store *s = NULL;
	struct merr err = { 0 };
	char *dir;

	tmp = helpers_tmpdir_new("t_replica");
	if (tmp == NULL)
		return 1;
	test_conf();
	dir = xasprintf("%s/store", tmp);
	if (store_open(dir, true, &s, &err) != 0) {
		printf("# store_open: %s\n", err.msg);
		ok(0, "a store to test in");
	} else {
		test_state(s);
		test_snap_import(s);
		test_channel_import(s);
		store_close(s);
	}
	free(dir);
	helpers_tmpdir_free(tmp);
	return tap_done();
}
