/*
 * json.c: reading JSON with json-c (json.h). The one file that includes
 * json-c: a struct json_value is a json_object, a struct json_tok a
 * json_tokener, and json-c's errors become MERR_PARSE messages here.
 */
#include "mirrord/common.h"

#include <limits.h>

#include <json-c/json.h>

#include "mirrord/json.h"
#include "mirrord/util.h"

#define JO(v) ((struct json_object *)(uintptr_t)(v))

struct json_tok *
json_tok_new(int depth)
{
	struct json_tokener *tok = json_tokener_new_ex(depth);

	if (tok == NULL)
		util_oom();
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	return (struct json_tok *)tok;
}

void
json_tok_free(struct json_tok *t)
{
	if (t != NULL)
		json_tokener_free((struct json_tokener *)t);
}

void
json_tok_reset(struct json_tok *t)
{
	json_tokener_reset((struct json_tokener *)t);
}

int
json_tok_feed(struct json_tok *t, const char *p, size_t len, size_t at,
    bool *done, struct json_value **out, size_t *used, struct merr *err)
{
	struct json_tokener *tok = (struct json_tokener *)t;
	struct json_object *o;
	enum json_tokener_error je;

	*done = false;
	*out = NULL;
	*used = len;
	if (len > INT_MAX)
		return merr_set(err, MERR_LIMIT, "a JSON chunk over 2 GiB");
	o = json_tokener_parse_ex(tok, p, (int)len);
	je = json_tokener_get_error(tok);
	if (o == NULL && je == json_tokener_continue)
		return 0;
	if (je != json_tokener_success) {
		json_object_put(o);
		return merr_set(err, MERR_PARSE, "not JSON: %s at byte %zu",
		    json_tokener_error_desc(je),
		    at + json_tokener_get_parse_end(tok));
	}
	*done = true;
	*out = (struct json_value *)o;
	*used = json_tokener_get_parse_end(tok);
	return 0;
}

int
json_parse(const char *data, size_t len, int depth, struct json_value **out,
    struct merr *err)
{
	struct json_tok *t = json_tok_new(depth);
	struct json_value *v = NULL;
	size_t used = 0, i;
	bool done = false;
	int rc;

	*out = NULL;
	rc = json_tok_feed(t, data, len, 0, &done, &v, &used, err);
	/* A bare number ends only at a terminator: json-c's is a NUL. */
	if (rc == 0 && !done) {
		rc = json_tok_feed(t, "", 1, len, &done, &v, &used, err);
		used = len;
	}
	json_tok_free(t);
	if (rc == 0 && !done)
		rc = merr_set(err, MERR_PARSE, "not JSON: unexpected end of "
		    "data at byte %zu", len);
	for (i = used; rc == 0 && done && i < len; i++)
		if (strchr(" \t\r\n", data[i]) == NULL)
			rc = merr_set(err, MERR_PARSE, "not JSON: data after "
			    "the document at byte %zu", i);
	if (rc) {
		json_value_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void
json_value_free(struct json_value *v)
{
	json_object_put(JO(v));
}

enum json_kind
json_kind(const struct json_value *v)
{
	switch (json_object_get_type(JO(v))) {
	case json_type_boolean:
		return JSON_BOOL;
	case json_type_int:
		return JSON_INT;
	case json_type_double:
		return JSON_DOUBLE;
	case json_type_string:
		return JSON_STRING;
	case json_type_array:
		return JSON_ARRAY;
	case json_type_object:
		return JSON_OBJECT;
	default:
		return JSON_NULL;
	}
}

struct json_value *
json_get(const struct json_value *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_is_type(JO(o), json_type_object) ||
	    !json_object_object_get_ex(JO(o), key, &v))
		return NULL;
	return (struct json_value *)v;
}

bool
json_has(const struct json_value *o, const char *key)
{
	return json_object_is_type(JO(o), json_type_object) &&
	    json_object_object_get_ex(JO(o), key, NULL);
}

size_t
json_len(const struct json_value *a)
{
	if (!json_object_is_type(JO(a), json_type_array))
		return 0;
	return json_object_array_length(JO(a));
}

struct json_value *
json_at(const struct json_value *a, size_t i)
{
	if (i >= json_len(a))
		return NULL;
	return (struct json_value *)json_object_array_get_idx(JO(a), i);
}

const char *
json_str(const struct json_value *v, size_t *len)
{
	if (!json_object_is_type(JO(v), json_type_string))
		return NULL;
	if (len != NULL)
		*len = (size_t)json_object_get_string_len(JO(v));
	return json_object_get_string(JO(v));
}

int
json_int(const struct json_value *v, int64_t *out)
{
	int64_t n;

	if (!json_object_is_type(JO(v), json_type_int))
		return MERR_PARSE;
	/* json-c clamps what does not fit; an unsigned past it is out. */
	n = json_object_get_int64(JO(v));
	if (n == INT64_MAX && json_object_get_uint64(JO(v)) != (uint64_t)n)
		return MERR_PARSE;
	*out = n;
	return 0;
}

bool
json_is_true(const struct json_value *v)
{
	return json_object_is_type(JO(v), json_type_boolean) &&
	    json_object_get_boolean(JO(v));
}

int
json_each(const struct json_value *o,
    int (*fn)(void *arg, const char *key, struct json_value *v), void *arg)
{
	int rc;

	if (!json_object_is_type(JO(o), json_type_object))
		return 0;
	json_object_object_foreach(JO(o), key, val) {
		rc = fn(arg, key, (struct json_value *)val);
		if (rc)
			return rc;
	}
	return 0;
}
