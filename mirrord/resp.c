/*
 * resp.c: the headers of an HTTP response, as far as a transfer acts on
 * them (resp.h). Kept apart from fetch.c, which calls libcurl, so that
 * what a hostile upstream may send in its headers is read by code that
 * can be tested on its own.
 */
#include "mirrord/common.h"

#include "mirrord/resp.h"

void
resp_reset(struct resp *r)
{
	r->status = 0;
	r->retry_after = -1;
	r->cr_start = -1;
	r->bad_location = false;
	r->etag[0] = '\0';
	r->last_modified[0] = '\0';
	r->too_long[0] = '\0';
}

static void
resp_keep(char *dst, const char *v, size_t vlen)
{
	size_t i;

	/* Too long or odd to be a sane validator: keep none, not a part. */
	dst[0] = '\0';
	if (vlen >= RESP_HDR_MAX)
		return;
	for (i = 0; i < vlen; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

/* Content-Length of a 200: false (stop) when it is over the cap. */
static bool
resp_content_length(struct resp *r, const char *v, size_t vlen)
{
	uint64_t u;

	/* Only digits: parse_u64 fails above max (or UINT64_MAX). */
	while (vlen > 1 && v[0] == '0') {
		v++;
		vlen--;
	}
	if (vlen > 0 && strspn(v, "0123456789") >= vlen &&
	    parse_u64(v, vlen, r->max, &u) != 0) {
		snprintf(r->too_long, sizeof(r->too_long), "%.*s%s",
		    vlen > 24 ? 24 : (int)vlen, v, vlen > 24 ? "..." : "");
		return false;
	}
	return true;
}

/* One "name: value" field, the value without surrounding blanks. */
static bool
resp_field(struct resp *r, const char *p, size_t nlen, const char *v,
    size_t vlen)
{
	size_t i;
	uint64_t u;

	if (str_ieq(p, nlen, "Location") && r->status >= 300 &&
	    r->status < 400) {
		/* CR, LF or other controls in a redirect: refuse it. */
		for (i = 0; i < vlen; i++) {
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
				r->bad_location = true;
				return false;
			}
		}
	} else if (str_ieq(p, nlen, "Retry-After")) {
		if (parse_u64(v, vlen, 86400, &u) == 0)
			r->retry_after = (long)u;
	} else if (str_ieq(p, nlen, "Content-Range")) {
		/* "bytes N-M/T": we only need N. */
		if (vlen > 6 && str_ieq(v, 6, "bytes ")) {
			const char *dash = memchr(v + 6, '-', vlen - 6);

			if (dash != NULL && parse_u64(v + 6,
			    (size_t)(dash - v - 6), INT64_MAX, &u) == 0)
				r->cr_start = (int64_t)u;
		}
	} else if (str_ieq(p, nlen, "Content-Length") && r->max > 0 &&
	    r->status == 200) {
		return resp_content_length(r, v, vlen);
	} else if (str_ieq(p, nlen, "ETag")) {
		resp_keep(r->etag, v, vlen);
	} else if (str_ieq(p, nlen, "Last-Modified")) {
		resp_keep(r->last_modified, v, vlen);
	}
	return true;
}

bool
resp_header(struct resp *r, const char *p, size_t len)
{
	size_t nlen, vlen;
	const char *colon, *v;
	uint64_t u;

	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		const char *sp = memchr(p, ' ', len);

		resp_reset(r);
		if (sp != NULL && (size_t)(p + len - sp) >= 4 &&
		    parse_u64(sp + 1, 3, 999, &u) == 0)
			r->status = (long)u;
		return true;
	}
	colon = memchr(p, ':', len);
	if (colon == NULL)
		return true;
	nlen = (size_t)(colon - p);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	return resp_field(r, p, nlen, v, vlen);
}
