/*
 * odstats.c: on-demand fetch counters (odstats.h). The record is text,
 * one value a line after a format line, as status.c's are: readable with
 * `mdb_dump -p`, and a record of a newer format is refused, not misread.
 */
#include "mirrord/common.h"

#include <inttypes.h>

#include "mirrord/odstats.h"
#include "mirrord/util.h"

#define ODSTATS_KEY	"odstats"
#define ODSTATS_FORMAT	"odstats 1"

static bool
od_u64(const char **p, const char *end, uint64_t *v)
{
	char f[32];

	return text_next_line(p, end, f, sizeof(f)) &&
	    parse_u64(f, strlen(f), UINT64_MAX, v) == 0;
}

int
odstats_get(struct store_txn *t, const char *mirror, struct odstats *st,
    struct merr *err)
{
	const char *p, *end;
	const void *v;
	uint64_t last;
	char f[32];
	size_t vl;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = store_meta_get(t, mirror, ODSTATS_KEY, strlen(ODSTATS_KEY), &v,
	    &vl, err);
	if (rc == MERR_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	p = v;
	end = p + vl;
	if (!text_next_line(&p, end, f, sizeof(f)) || strcmp(f, ODSTATS_FORMAT) ||
	    !od_u64(&p, end, &st->fetches) || !od_u64(&p, end, &st->bytes) ||
	    !od_u64(&p, end, &st->failures) ||
	    !od_u64(&p, end, &st->latency_ms) || !od_u64(&p, end, &last)) {
		memset(st, 0, sizeof(*st));
		return merr_set(err, MERR_STORE, "mirror '%s': on-demand "
		    "counters in an unknown format", mirror);
	}
	st->last_failure = (int64_t)last;
	text_next_line(&p, end, st->last_text, sizeof(st->last_text));
	return 0;
}

static int
odstats_put(struct store_txn *t, const char *mirror,
    const struct odstats *st, struct merr *err)
{
	char *v;
	int rc;

	v = xasprintf("%s\n%" PRIu64 "\n%" PRIu64 "\n%" PRIu64 "\n%" PRIu64
	    "\n%" PRId64 "\n%s\n", ODSTATS_FORMAT, st->fetches, st->bytes,
	    st->failures, st->latency_ms, st->last_failure, st->last_text);
	rc = store_meta_put(t, mirror, ODSTATS_KEY, strlen(ODSTATS_KEY), v,
	    strlen(v), err);
	free(v);
	return rc;
}

int
odstats_note_stored(struct store_txn *t, const char *mirror, uint64_t size,
    uint64_t ms, struct merr *err)
{
	struct odstats st;
	int rc;

	rc = odstats_get(t, mirror, &st, err);
	if (rc)
		return rc;
	st.fetches++;
	st.bytes += size;
	st.latency_ms += ms;
	return odstats_put(t, mirror, &st, err);
}

int
odstats_note_failed(struct store_txn *t, const char *mirror, int64_t now,
    const char *text, struct merr *err)
{
	struct odstats st;
	size_t i;
	int rc;

	rc = odstats_get(t, mirror, &st, err);
	if (rc)
		return rc;
	st.failures++;
	st.last_failure = now;
	snprintf(st.last_text, sizeof(st.last_text), "%s", text);
	/* One line: a reason may quote a server's words. */
	for (i = 0; st.last_text[i] != '\0'; i++)
		if (st.last_text[i] == '\n' || st.last_text[i] == '\r')
			st.last_text[i] = ' ';
	return odstats_put(t, mirror, &st, err);
}
