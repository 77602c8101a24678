/*
 * t_json.c: reading JSON (json.h): whole documents, the accessors, and
 * the tokenizer fed in pieces.
 */
#include "mirrord/common.h"

#include "mirrord/json.h"
#include "tests/unit/tap.h"

static int
count_member(void *arg, const char *key, struct json_value *v)
{
	size_t *n = arg;

	(*n)++;
	return strcmp(key, "stop") == 0 ? -7 : 0;
}

static void
test_parse(void)
{
	struct json_value *v = NULL, *a;
	struct merr err = { 0 };
	const char *s;
	int64_t n = 0;
	size_t len = 0, members = 0;
	int rc;

	const char *doc = "{\"a\": [1, \"x\\u0000y\", true, null], \"b\": 2.5,"
	    " \"n\": null, \"big\": 18446744073709551615} \n";

	rc = json_parse(doc, strlen(doc), 8, &v, &err);
	is_int(rc, 0, "parse: a document parses (%s)", err.msg);
	is_int(json_kind(v), JSON_OBJECT, "parse: the root is an object");
	a = json_get(v, "a");
	is_int(json_len(a), 4, "array: four elements");
	ok(json_int(json_at(a, 0), &n) == 0 && n == 1, "int: 1");
	s = json_str(json_at(a, 1), &len);
	ok(s != NULL && len == 3 && s[1] == '\0', "str: an escaped NUL keeps "
	    "its length");
	ok(json_is_true(json_at(a, 2)), "bool: true");
	ok(json_at(a, 3) == NULL && json_at(a, 9) == NULL, "at: null and past "
	    "the end are NULL");
	is_int(json_kind(json_get(v, "b")), JSON_DOUBLE, "kind: 2.5 is a double");
	ok(json_int(json_get(v, "b"), &n) != 0, "int: a double is no integer");
	ok(json_int(json_get(v, "big"), &n) != 0, "int: 2^64-1 does not fit");
	ok(json_get(v, "n") == NULL && json_has(v, "n"), "has: a null member "
	    "is there but reads as NULL");
	ok(!json_has(v, "zz") && json_get(a, "a") == NULL, "get: absent, and "
	    "not an object");
	ok(json_str(a, NULL) == NULL && json_len(v) == 0, "accessors refuse "
	    "other kinds");
	rc = json_each(v, count_member, &members);
	ok(rc == 0 && members == 4, "each: every member once");
	json_value_free(v);

	doc = "{\"x\": 1, \"stop\": 2, \"y\": 3}";
	rc = json_parse(doc, strlen(doc), 4, &v, &err);
	members = 0;
	ok(rc == 0 && json_each(v, count_member, &members) == -7 &&
	    members == 2, "each: stops at fn's error");
	json_value_free(v);

	rc = json_parse("42", 2, 4, &v, &err);
	ok(rc == 0 && json_int(v, &n) == 0 && n == 42, "parse: a bare number "
	    "ends at the end of the input");
	json_value_free(v);
}

static void
bad(const char *text, const char *want, const char *what)
{
	struct json_value *v = (struct json_value *)&v;
	struct merr err = { 0 };
	int rc = json_parse(text, strlen(text), 3, &v, &err);

	is_int(rc, MERR_PARSE, "bad: %s: MERR_PARSE", what);
	ok(strstr(err.msg, want) != NULL && v == NULL, "bad: %s: '%s'", what,
	    err.msg);
}

static void
test_bad(void)
{
	bad("", "not JSON: unexpected end of data at byte 0", "empty");
	bad("{\"a\": ", "not JSON: unexpected end", "truncated");
	bad("{} {}", "not JSON: data after the document at byte 3", "two");
	bad("[[[[1]]]]", "not JSON", "too deep");
	bad("\"\xff\"", "not JSON: invalid utf-8", "not UTF-8");
	bad("hello", "not JSON", "a word");
}

/* The tokenizer takes a value a byte at a time and says where it ended. */
static void
test_tok(void)
{
	const char *text = "{\"k\": [1, 2]}  tail";
	struct json_tok *t = json_tok_new(8);
	struct json_value *v = NULL;
	struct merr err = { 0 };
	size_t i, used = 0;
	bool done = false;
	int rc = 0;

	for (i = 0; rc == 0 && !done; i++)
		rc = json_tok_feed(t, text + i, 1, i, &done, &v, &used, &err);
	ok(rc == 0 && done && i == 13 && used == 1, "tok: done at the last "
	    "brace, fed byte by byte");
	is_int(json_len(json_get(v, "k")), 2, "tok: the tree is whole");
	json_value_free(v);
	json_tok_reset(t);
	rc = json_tok_feed(t, "[1,}", 4, 100, &done, &v, &used, &err);
	ok(rc == MERR_PARSE && strstr(err.msg, "at byte 103") != NULL,
	    "tok: errors count from at: '%s'", err.msg);
	json_tok_free(t);
}

int
main(void)
{
	test_parse();
	test_bad();
	test_tok();
	return tap_done();
}
