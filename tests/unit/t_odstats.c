/*
 * t_odstats.c: the on-demand counters (mirrord/odstats.c): none kept
 * reads as zeros; stored files and failures add up across transactions
 * and mirrors stay apart; a failure's text is cut to ODSTATS_TEXT_MAX - 1
 * bytes and made one line; a record in an unknown format is refused, not
 * misread.
 */
#include "mirrord/common.h"

#include "mirrord/odstats.h"
#include "mirrord/store.h"
#include "helpers.h"
#include "tap.h"

/* One write transaction: a stored file of size/ms, or a failure text. */
static int
note(struct store *s, const char *mirror, uint64_t size, uint64_t ms,
    const char *fail, int64_t now)
{
	struct store_txn *t;
	struct merr err = { 0, "" };
	int rc;

	rc = store_txn_begin(s, true, &t, &err);
	if (rc)
		return rc;
	rc = fail ? odstats_note_failed(t, mirror, now, fail, &err) :
	    odstats_note_stored(t, mirror, size, ms, &err);
	if (rc) {
		store_txn_abort(t);
		return rc;
	}
	return store_txn_commit(t, &err);
}

static int
get(struct store *s, const char *mirror, struct odstats *st,
    struct merr *err)
{
	struct store_txn *t;
	int rc;

	rc = store_txn_begin(s, false, &t, err);
	if (rc)
		return rc;
	rc = odstats_get(t, mirror, st, err);
	store_txn_abort(t);
	return rc;
}

static void
test_round_trip(struct store *s)
{
	struct odstats st;
	struct merr err = { 0, "" };
	int rc;

	rc = get(s, "a", &st, &err);
	ok(rc == 0 && st.fetches == 0 && st.bytes == 0 && st.failures == 0 &&
	    st.latency_ms == 0 && st.last_failure == 0 &&
	    st.last_text[0] == '\0', "none kept: all zero");
	ok(note(s, "a", 1000, 20, NULL, 0) == 0 &&
	    note(s, "a", 24, 4, NULL, 0) == 0 &&
	    note(s, "a", 0, 0, "snapshot X pool/a.deb: 404", 1700000000) ==
	    0 && note(s, "b", 7, 1, NULL, 0) == 0, "noted");
	rc = get(s, "a", &st, &err);
	ok(rc == 0, "read back (%s)", rc ? err.msg : "ok");
	is_int(st.fetches, 2, "fetches add up");
	is_int(st.bytes, 1024, "bytes add up");
	is_int(st.latency_ms, 24, "latencies add up");
	is_int(st.failures, 1, "one failure");
	is_int(st.last_failure, 1700000000, "its time");
	is_str(st.last_text, "snapshot X pool/a.deb: 404", "its text");
	rc = get(s, "b", &st, &err);
	ok(rc == 0 && st.fetches == 1 && st.bytes == 7 && st.failures == 0,
	    "another mirror's counters are its own");
	ok(note(s, "a", 0, 0, "snapshot Y pool/b.deb: wrong hash",
	    1700000100) == 0 && get(s, "a", &st, &err) == 0, "a second "
	    "failure");
	is_int(st.failures, 2, "failures add up");
	is_str(st.last_text, "snapshot Y pool/b.deb: wrong hash", "the last "
	    "failure's text replaces the first's");
	is_int(st.last_failure, 1700000100, "and its time");
}

static void
test_text(struct store *s)
{
	char big[ODSTATS_TEXT_MAX * 2];
	struct odstats st;
	struct merr err = { 0, "" };
	size_t i;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ok(note(s, "c", 0, 0, big, 1) == 0 && get(s, "c", &st, &err) == 0,
	    "a long failure noted");
	is_int(strlen(st.last_text), ODSTATS_TEXT_MAX - 1, "cut to %d bytes",
	    ODSTATS_TEXT_MAX - 1);
	ok(note(s, "c", 0, 0, "line one\nline two\r\nthree", 2) == 0 &&
	    get(s, "c", &st, &err) == 0, "a failure of several lines noted");
	is_str(st.last_text, "line one line two  three", "made one line");
	for (i = 0; st.last_text[i] != '\0'; i++)
		if (st.last_text[i] == '\n')
			break;
	ok(st.last_text[i] == '\0', "no newline kept");
	ok(st.failures == 2 && st.last_failure == 2, "the record after it "
	    "still reads (failures %llu)", (unsigned long long)st.failures);
}

/* Writes v as mirror's record, as a newer mirrord might have. */
static int
put_raw(struct store *s, const char *mirror, const char *v)
{
	struct store_txn *t;
	struct merr err = { 0, "" };
	int rc;

	rc = store_txn_begin(s, true, &t, &err);
	if (rc)
		return rc;
	rc = store_meta_put(t, mirror, "odstats", strlen("odstats"), v,
	    strlen(v), &err);
	if (rc) {
		store_txn_abort(t);
		return rc;
	}
	return store_txn_commit(t, &err);
}

static void
test_format(struct store *s)
{
	struct odstats st;
	struct merr err = { 0, "" };
	int rc;

	ok(put_raw(s, "d", "odstats 2\n1\n2\n3\n4\n5\nnew\n") == 0,
	    "a record of format 2 written");
	rc = get(s, "d", &st, &err);
	is_int(rc, MERR_STORE, "refused");
	ok(strstr(err.msg, "mirror 'd'") != NULL &&
	    strstr(err.msg, "unknown format") != NULL, "saying so: %s",
	    err.msg);
	ok(st.fetches == 0 && st.failures == 0, "nothing misread");
	ok(put_raw(s, "e", "odstats 1\n1\nlots\n") == 0 &&
	    get(s, "e", &st, &err) == MERR_STORE, "a damaged record refused");
	rc = note(s, "d", 1, 1, NULL, 0);
	ok(rc != 0, "and not counted over");
}

int
main(void)
{
	char *root = helpers_tmpdir_new("t_odstats");
	struct store *s = NULL;
	struct merr err = { 0, "" };
	int rc;

	if (root == NULL)
		return 1;
	rc = store_open(root, true, &s, &err);
	ok(rc == 0, "a store (%s)", rc ? err.msg : "ok");
	if (rc == 0) {
		test_round_trip(s);
		test_text(s);
		test_format(s);
	}
	store_close(s);
	helpers_tmpdir_free(root);
	return tap_done();
}
