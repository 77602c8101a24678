/*
 * json.h: reading JSON, the one owner of json-c (tests/layering.sh).
 *
 * A document is parsed into a tree of opaque values; a value is read
 * through the accessors below, which never fail on a value of another
 * kind (they say "absent" instead), so that a caller checks what it needs
 * and names the field in its own message. json-c's types and errors never
 * leave json.c.
 *
 * Two ways in: json_parse() takes a whole document in memory (the
 * replica's state from a primary); struct json_tok takes a document, or
 * one value of it, in chunks (the advisory feeds, whose trees can be many
 * times the file: advisory.c feeds them 64 KiB at a time and walks the
 * tracker's top-level object itself).
 *
 * Writing JSON is not here: mirrord writes it by hand with fmt.h's
 * fmt_json_str().
 *
 * Threads: a tree or a tokenizer belongs to one thread at a time;
 * separate ones may be used from separate threads.
 */
#ifndef MIRRORD_JSON_H
#define MIRRORD_JSON_H

#include "mirrord/common.h"

/* A value of a parsed document (opaque). */
struct json_value;

/* Incremental tokenizer (opaque). */
struct json_tok;

enum json_kind {
	JSON_NULL,		/* also what a NULL value pointer is */
	JSON_BOOL,
	JSON_INT,		/* a number without fraction or exponent */
	JSON_DOUBLE,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
};

/*
 * Parses [data, data+len) as one JSON document (RFC 8259, UTF-8 checked;
 * white space may follow it, nothing else), nested at most depth deep.
 * On success *out is the tree's root, owned: json_value_free(). A
 * document that is the JSON null gives *out == NULL and 0. Errors:
 * MERR_PARSE "not JSON: <why> at byte N" (a caller prefixes its name).
 */
int json_parse(const char *data, size_t len, int depth,
    struct json_value **out, struct merr *err);

/* Frees a tree from json_parse() or json_tok_feed(); NULL is a no-op. */
void json_value_free(struct json_value *v);

/* v's kind; a NULL v is JSON_NULL. */
enum json_kind json_kind(const struct json_value *v);

/*
 * Object member key: NULL when o is not an object, has no such member,
 * or the member is null. Borrowed from o's tree.
 */
struct json_value *json_get(const struct json_value *o, const char *key);

/* Whether object o has member key, whatever its value (null included). */
bool json_has(const struct json_value *o, const char *key);

/* The length of array a; 0 when a is not an array. */
size_t json_len(const struct json_value *a);

/* Element i of array a (borrowed); NULL past the end or not an array. */
struct json_value *json_at(const struct json_value *a, size_t i);

/*
 * A string's bytes, NUL-terminated (borrowed from the tree), and its
 * length in *len when len is not NULL; NULL when v is not a string.
 */
const char *json_str(const struct json_value *v, size_t *len);

/*
 * An integer into *out: 0, or MERR_PARSE when v is not a JSON_INT or
 * does not fit in an int64_t (err untouched: a caller names the field).
 */
int json_int(const struct json_value *v, int64_t *out);

/* Whether v is the JSON true. */
bool json_is_true(const struct json_value *v);

/*
 * Calls fn for each member of object o in document order, with the key
 * and value borrowed from o's tree; stops at and returns fn's first
 * non-zero return. 0 for a value that is not an object.
 */
int json_each(const struct json_value *o,
    int (*fn)(void *arg, const char *key, struct json_value *v), void *arg);

/*
 * A tokenizer for values nested at most depth deep, checking UTF-8
 * (owned: json_tok_free()). json_tok_reset() readies it for a new value.
 */
struct json_tok *json_tok_new(int depth);
void json_tok_free(struct json_tok *t);
void json_tok_reset(struct json_tok *t);

/*
 * Feeds [p, p+len), the bytes from offset at of the input, to t. When a
 * value ends in them: *out is its tree (owned: json_value_free(); NULL
 * for the JSON null) and *used how many bytes it took; otherwise *done
 * is false, *used is len and t wants more. A number at the very end of
 * the input ends only at a terminator: feed "" with len 1 (its NUL).
 * Errors: MERR_PARSE "not JSON: <why> at byte N", N counted from at.
 */
int json_tok_feed(struct json_tok *t, const char *p, size_t len, size_t at,
    bool *done, struct json_value **out, size_t *used, struct merr *err);

#endif
