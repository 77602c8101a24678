/*
 * t_s3xml.c: what needs no store server: s3xml.c's parsing of the S3
 * answers (well-formed, malformed, hostile), hash_hmac_sha256 against RFC
 * 4231, and s3.c's URLs and presigned URLs' form (t_s3.c checks them
 * against a real store).
 */
#include "mirrord/common.h"

#include "mirrord/hash.h"
#include "mirrord/s3.h"
#include "mirrord/s3xml.h"
#include "tests/unit/tap.h"

struct got {
	int n;
	char keys[4][128];
	uint64_t sizes[4];
	char lm[4][32];
	int stop_at;		/* 1-based object whose callback fails */
};

static int
on_object(void *ctx, const char *key, uint64_t size, const char *lm,
    struct merr *err)
{
	struct got *g = ctx;

	if (++g->n == g->stop_at)
		return merr_set(err, MERR_CANCEL, "stopped");
	if (g->n <= 4) {
		snprintf(g->keys[g->n - 1], sizeof(g->keys[0]), "%s", key);
		g->sizes[g->n - 1] = size;
		snprintf(g->lm[g->n - 1], sizeof(g->lm[0]), "%s", lm);
	}
	return 0;
}

#define PAGE_HEAD "<?xml version='1.0' encoding='UTF-8'?>\n" \
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" \
	"<Name>b</Name><KeyCount>2</KeyCount>"

static void
t_list(void)
{
	static const char page[] = PAGE_HEAD "<IsTruncated>true</IsTruncated>"
	    "<Contents><Key>blobs/ab/x&amp;y</Key><LastModified>"
	    "2026-12-07T03:59:20.000Z</LastModified><ETag>\"e\"</ETag>"
	    "<Size>11</Size></Contents><Contents><Key>k2</Key>"
	    "<Size>0</Size><Owner><ID>o</ID></Owner></Contents>"
	    "<NextContinuationToken>tok/+=</NextContinuationToken>"
	    "</ListBucketResult>";
	static const char nosize[] = PAGE_HEAD "<Contents><Key>k</Key>"
	    "</Contents></ListBucketResult>";
	static const char badsize[] = PAGE_HEAD "<Contents><Key>k</Key>"
	    "<Size>-1</Size></Contents></ListBucketResult>";
	struct s3xml_page pg;
	struct got g;
	struct merr err;
	struct buf big = BUF_INIT;
	int i;

	memset(&g, 0, sizeof(g));
	is_int(s3xml_list(page, strlen(page), on_object, &g, &pg, &err), 0,
	    "a listing page parses");
	is_int(g.n, 2, "two objects");
	is_str(g.keys[0], "blobs/ab/x&y", "a key, entities decoded");
	is_int(g.sizes[0], 11, "its size");
	is_str(g.lm[0], "2026-12-07T03:59:20.000Z", "its LastModified");
	is_str(g.keys[1], "k2", "the second key");
	ok(pg.truncated, "IsTruncated");
	is_str(pg.next_token, "tok/+=", "NextContinuationToken");
	s3xml_page_release(&pg);

	memset(&g, 0, sizeof(g));
	g.stop_at = 1;
	is_int(s3xml_list(page, strlen(page), on_object, &g, &pg, &err),
	    MERR_CANCEL, "a callback's error stops the parse and is returned");
	is_int(g.n, 1, "... at once");
	s3xml_page_release(&pg);
	memset(&g, 0, sizeof(g));
	is_int(s3xml_list(nosize, strlen(nosize), on_object, &g, &pg, &err),
	    MERR_PARSE, "an object without a Size: MERR_PARSE");
	s3xml_page_release(&pg);
	is_int(s3xml_list(badsize, strlen(badsize), on_object, &g, &pg, &err),
	    MERR_PARSE, "a negative Size: MERR_PARSE");
	s3xml_page_release(&pg);
	is_int(s3xml_list(page, strlen(page) - 5, on_object, &g, &pg, &err),
	    MERR_PARSE, "a cut document: MERR_PARSE (%s)", err.msg);
	s3xml_page_release(&pg);
	is_int(s3xml_list("<Error/>", 8, on_object, &g, &pg, &err),
	    MERR_PARSE, "another document: MERR_PARSE (%s)", err.msg);
	s3xml_page_release(&pg);
	buf_adds(&big, PAGE_HEAD "<Contents><Key>");
	for (i = 0; i < 5000; i++)
		buf_addc(&big, 'k');
	buf_adds(&big, "</Key><Size>1</Size></Contents></ListBucketResult>");
	is_int(s3xml_list(big.p, big.len, on_object, &g, &pg, &err),
	    MERR_PARSE, "a 5,000-byte key: MERR_PARSE, not kept");
	s3xml_page_release(&pg);
	buf_release(&big);
}

static void
t_error_upload(void)
{
	static const char e[] = "<?xml version='1.0' encoding='UTF-8'?>\n"
	    "<Error><Code>BadDigest</Code><Message>did not match</Message>"
	    "<RequestId>tx1</RequestId></Error>";
	static const char up[] = "<InitiateMultipartUploadResult xmlns=\""
	    "http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket>"
	    "<Key>k</Key><UploadId>abc-123</UploadId>"
	    "</InitiateMultipartUploadResult>";
	static const char noid[] = "<InitiateMultipartUploadResult>"
	    "<Key>k</Key></InitiateMultipartUploadResult>";
	struct s3xml_error xe;
	struct merr err;
	char *id = NULL;

	ok(s3xml_error(e, strlen(e), &xe), "an Error document");
	is_str(xe.code, "BadDigest", "its Code");
	is_str(xe.message, "did not match", "its Message");
	ok(!s3xml_error(up, strlen(up), &xe) && xe.code[0] == '\0',
	    "another document is no Error");
	ok(!s3xml_error("<Error><Code>", 13, &xe), "a cut one neither");
	ok(!s3xml_error("", 0, &xe), "nor nothing");
	is_int(s3xml_upload_id(up, strlen(up), &id, &err), 0, "an UploadId");
	is_str(id, "abc-123", "... its value");
	free(id);
	is_int(s3xml_upload_id(noid, strlen(noid), &id, &err), MERR_PARSE,
	    "no UploadId: MERR_PARSE");
	ok(id == NULL, "... and no id");
	is_int(s3xml_upload_id(e, strlen(e), &id, &err), MERR_PARSE,
	    "an Error instead: MERR_PARSE (%s)", err.msg);
}

static void
t_hmac(void)
{
	unsigned char d[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];
	const char *data = "what do ya want for nothing?";

	/* RFC 4231, test case 2. */
	hash_hmac_sha256("Jefe", 4, data, strlen(data), d);
	hash_to_hex(d, hex);
	is_str(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b9"
	    "64ec3843", "hash_hmac_sha256: RFC 4231 case 2");
}

static void
t_urls(void)
{
	struct s3_opts o = { "s3://my-bucket/a/b/", "http://127.0.0.1:9/",
	    "eu-west-1", NULL, 0, 0, 0 };
	struct s3 *s3 = NULL;
	struct merr err;
	unsigned char h[HASH_LEN];
	char hex[HASH_HEX_LEN + 1], *u, *want;

	setenv("AWS_ACCESS_KEY_ID", "AK:ID", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "SECRET-never-shown", 1);
	setenv("AWS_SESSION_TOKEN", "to/ken+", 1);
	if (s3_new(&o, &s3, &err) < 0) {
		ok(0, "s3_new: %s", err.msg);
		return;
	}
	is_str(s3_name(s3), "s3://my-bucket/a/b", "the name, trailing / cut");
	hash_buf("x", 1, h);
	hash_to_hex(h, hex);
	u = s3_blob_url(s3, h);
	want = xasprintf("http://127.0.0.1:9/my-bucket/a/b/blobs/%.2s/%s",
	    hex, hex);
	is_str(u, want, "a blob's URL: path-style, under the prefix");
	free(u);
	free(want);
	/* 2013-05-24T00:00:00Z */
	u = s3_presign(s3, h, 10000000, 1369353600);
	ok(strstr(u, "X-Amz-Credential=AK%3AID%2F20130524%2Feu-west-1%2Fs3"
	    "%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=604800"
	    "&X-Amz-Security-Token=to%2Fken%2B&X-Amz-SignedHeaders=host"
	    "&X-Amz-Signature=") != NULL, "presign: the query in canonical "
	    "order and encoding, expiry capped at 7 days: %s", u);
	ok(strstr(u, "SECRET") == NULL, "presign: no secret in the URL");
	free(u);
	s3_free(s3);
	o.url = "s3://my-bucket/a//b";
	is_int(s3_new(&o, &s3, &err), MERR_CONF, "an empty prefix segment "
	    "refused");
	o.url = "s3://my-bucket";
	o.region = "EU WEST";
	is_int(s3_new(&o, &s3, &err), MERR_CONF, "a bad region refused");
	o.region = NULL;
	o.endpoint = "http://host/path";
	is_int(s3_new(&o, &s3, &err), MERR_CONF, "an endpoint with a path "
	    "refused");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
}

int
main(void)
{
	t_list();
	t_error_upload();
	t_hmac();
	t_urls();
	return tap_done();
}
