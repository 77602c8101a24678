/*
 * respond.c: conditional requests and byte ranges (RFC 9110), pure.
 */
#include "mirrord/common.h"

#include <ctype.h>
#include <strings.h>
#include <time.h>

#include "mirrord/fmt.h"
#include "serve/respond.h"


static const char *
skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Digits at *s (at least one) into *out; advances *s. 0 or -1. */
static int
digits(const char **s, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	*out = v;
	return 0;
}

int
respond_range(const char *v, uint64_t size, uint64_t *off, uint64_t *len)
{
	const char *p = skip_ows(v);
	uint64_t first, last;

	if (strncasecmp(p, "bytes", 5) != 0)
		return 1;
	p = skip_ows(p + 5);
	if (*p++ != '=')
		return 1;
	/* Empty list elements are allowed: "bytes=, 0-1". */
	for (p = skip_ows(p); *p == ','; p = skip_ows(p + 1))
		;
	if (*p == '-') {
		p++;
		if (digits(&p, &last))
			return 1;
		first = UINT64_MAX;	/* a suffix */
	} else {
		if (digits(&p, &first) || *p++ != '-')
			return 1;
		if (*p >= '0' && *p <= '9') {
			if (digits(&p, &last) || last < first)
				return 1;
		} else
			last = UINT64_MAX;
	}
	p = skip_ows(p);
	while (*p == ',') {
		p = skip_ows(p + 1);
		if (*p != ',' && *p != '\0')
			return 1;	/* several ranges: send it all */
	}
	if (*p != '\0')
		return 1;
	if (first == UINT64_MAX) {
		if (last == 0 || size == 0)
			return -1;
		*len = last < size ? last : size;
		*off = size - *len;
		return 0;
	}
	if (first >= size)
		return -1;
	if (last >= size)
		last = size - 1;
	*off = first;
	*len = last - first + 1;
	return 0;
}

bool
respond_etag_match(const char *v, const char *etag, bool strong)
{
	const char *p = skip_ows(v), *q;
	size_t el = strlen(etag);
	bool weak;

	if (*p == '*' && *skip_ows(p + 1) == '\0')
		return true;
	while (*p != '\0') {
		weak = false;
		if (p[0] == 'W' && p[1] == '/') {
			weak = true;
			p += 2;
		}
		if (*p != '"')
			return false;
		q = strchr(p + 1, '"');
		if (q == NULL)
			return false;
		q++;
		if ((size_t)(q - p) == el && memcmp(p, etag, el) == 0 &&
		    !(strong && weak))
			return true;
		p = skip_ows(q);
		if (*p == ',')
			p = skip_ows(p + 1);
		else if (*p != '\0')
			return false;
	}
	return false;
}

static int
month_of(const char *s)
{
	int i;

	for (i = 0; i < 12; i++)
		if (strncmp(s, fmt_months[i], 3) == 0)
			return i;
	return -1;
}

/* Days from 1970-01-01 to the first of month m (1-12) of year y. */
static int64_t
days_to_month(int64_t y, int m)
{
	int64_t era, yoe, doy;

	/* Years start in March, so that February's length comes last. */
	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static bool
two_digits(const char *s, int *v)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return true;
}

/*
 * The IMF-fixdate every current client sends, at fixed offsets: what the
 * general parser below computes, without sscanf() and timegm() (they
 * were 3% of a server answering 304s). 1 when s is not in that form.
 */
static int
parse_fixdate(const char *s, int64_t *t)
{
	int d, y1, y2, h, mi, sec, mon;

	if (strnlen(s, 29) < 29 || !isalpha((unsigned char)s[0]) ||
	    !isalpha((unsigned char)s[1]) || !isalpha((unsigned char)s[2]) ||
	    s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' ||
	    memcmp(s + 26, "GMT", 3) != 0 || *skip_ows(s + 29) != '\0')
		return 1;
	if (!two_digits(s + 5, &d) || !two_digits(s + 12, &y1) ||
	    !two_digits(s + 14, &y2) || !two_digits(s + 17, &h) ||
	    !two_digits(s + 20, &mi) || !two_digits(s + 23, &sec) ||
	    (mon = month_of(s + 8)) < 0)
		return 1;
	if (d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return 1;
	*t = (days_to_month(y1 * 100 + y2, mon + 1) + d - 1) * 86400 +
	    h * 3600 + mi * 60 + sec;
	return 0;
}

int
respond_parse_date(const char *s, int64_t *t)
{
	struct tm tm;
	char mon[4] = "", wd[16] = "", tz[4] = "";
	int n = 0, y;

	s = skip_ows(s);
	if (parse_fixdate(s, t) == 0)
		return 0;
	memset(&tm, 0, sizeof(tm));
	/* %n is reached, and n set, only when a whole format matched. */
	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
	if (sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3s%n",
	    wd, &tm.tm_mday, mon, &y, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    tz, &n) == 8 && n > 0)
		tm.tm_year = y - 1900;
	/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". */
	else if (sscanf(s, "%15[A-Za-z], %2d-%3[A-Za-z]-%2d "
	    "%2d:%2d:%2d %3s%n", wd, &tm.tm_mday, mon, &y, &tm.tm_hour,
	    &tm.tm_min, &tm.tm_sec, tz, &n) == 8 && n > 0)
		tm.tm_year = y < 70 ? y + 100 : y;
	/* asctime: "Sun Nov  6 08:49:37 1994". */
	else if (sscanf(s, "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d "
	    "%4d%n", wd, mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec, &y, &n) == 7 && n > 0) {
		tm.tm_year = y - 1900;
		memcpy(tz, "GMT", 4);
	} else
		return -1;
	if (*skip_ows(s + n) != '\0' || strcmp(tz, "GMT") != 0)
		return -1;
	tm.tm_mon = month_of(mon);
	if (tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	*t = (int64_t)timegm(&tm);
	return 0;
}

void
respond_format_date(int64_t t, char out[RESPOND_DATE_LEN])
{
	fmt_time_rfc2822(t, "GMT", out, RESPOND_DATE_LEN);
}

void
respond_etag(const unsigned char hash[HASH_LEN], char out[RESPOND_ETAG_LEN])
{
	out[0] = '"';
	hash_to_hex(hash, out + 1);
	out[HASH_HEX_LEN + 1] = '"';
	out[HASH_HEX_LEN + 2] = '\0';
}

void
respond_format_clf(int64_t t, char out[RESPOND_CLF_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(out, RESPOND_CLF_LEN, "%02d/%s/%04d:%02d:%02d:%02d +0000",
	    tm.tm_mday, fmt_months[tm.tm_mon], (tm.tm_year + 1900) % 10000,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* If-Range: an entity tag (strong match) or the exact Last-Modified. */
static bool
if_range_ok(const char *v, const char *etag, int64_t mtime)
{
	int64_t t;

	v = skip_ows(v);
	if (v[0] == '"' || (v[0] == 'W' && v[1] == '/'))
		return v[0] == '"' && respond_etag_match(v, etag, true) &&
		    strchr(v, ',') == NULL;
	return respond_parse_date(v, &t) == 0 && t == mtime;
}

void
respond_plan(const struct respond_req *q, const char *etag, int64_t mtime,
    uint64_t size, struct respond_plan *p)
{
	int64_t t;
	int rc;

	p->status = 200;
	p->off = 0;
	p->len = size;
	if (q->if_match != NULL) {
		if (!respond_etag_match(q->if_match, etag, true)) {
			p->status = 412;
			return;
		}
	} else if (q->if_unmodified_since != NULL &&
	    respond_parse_date(q->if_unmodified_since, &t) == 0 && mtime > t) {
		p->status = 412;
		return;
	}
	if (q->if_none_match != NULL) {
		if (respond_etag_match(q->if_none_match, etag, false)) {
			p->status = 304;
			return;
		}
	} else if (q->if_modified_since != NULL &&
	    respond_parse_date(q->if_modified_since, &t) == 0 && mtime <= t) {
		p->status = 304;
		return;
	}
	if (q->range == NULL)
		return;
	if (q->if_range != NULL && !if_range_ok(q->if_range, etag, mtime))
		return;
	rc = respond_range(q->range, size, &p->off, &p->len);
	if (rc == 0)
		p->status = 206;
	else if (rc < 0) {
		p->status = 416;
		p->off = 0;
		p->len = 0;
	}
}
