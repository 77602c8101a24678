/*
 * fuzz_s3xml.c: the XML of an S3 store's answers (mirrord/s3xml.h), which
 * comes from the network. The input is one document, given to each of the
 * three readers: whatever it holds, a listing's keys and tokens are
 * NUL-terminated strings of at most 4 KiB, sizes are what the digits say,
 * a refusal is MERR_PARSE with a printable message, an Error's fields are
 * NUL-terminated in their arrays, and an UploadId is returned only with
 * success (and then is not empty).
 */
#include "mirrord/common.h"

#include "mirrord/s3xml.h"
#include "tests/fuzz/fuzz.h"

static int
on_object(void *ctx, const char *key, uint64_t size, const char *lm,
    struct merr *err)
{
	size_t *n = ctx;

	FUZZ_CHECK(key != NULL && lm != NULL, "NULL key or LastModified");
	FUZZ_CHECK(strlen(key) <= 4096 && strlen(lm) <= 4096,
	    "a key or LastModified over the cap");
	/* Every tenth object refuses: the parse must stop with its code. */
	if (++*n % 10 == 0)
		return merr_set(err, MERR_CANCEL, "stop");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct s3xml_page page;
	struct s3xml_error e;
	struct merr err;
	char *id = (char *)"untouched";
	size_t n = 0;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = s3xml_list(s, size, on_object, &n, &page, &err);
	FUZZ_CHECK(rc == 0 || rc == MERR_PARSE || rc == MERR_CANCEL,
	    "s3xml_list returned %d", rc);
	FUZZ_CHECK(rc != MERR_CANCEL || n % 10 == 0, "went on after a stop");
	if (rc != 0)
		FUZZ_CHECK(fuzz_msg_ok(&err), "unprintable message '%s'",
		    err.msg);
	FUZZ_CHECK(page.next_token == NULL || strlen(page.next_token) <= 4096,
	    "a token over the cap");
	s3xml_page_release(&page);

	if (s3xml_error(s, size, &e))
		FUZZ_CHECK(memchr(e.code, '\0', sizeof(e.code)) != NULL &&
		    memchr(e.message, '\0', sizeof(e.message)) != NULL,
		    "an Error field not terminated");
	else
		FUZZ_CHECK(e.code[0] == '\0' && e.message[0] == '\0',
		    "a non-Error with fields");

	memset(&err, 0, sizeof(err));
	rc = s3xml_upload_id(s, size, &id, &err);
	FUZZ_CHECK(rc == 0 || rc == MERR_PARSE, "s3xml_upload_id: %d", rc);
	FUZZ_CHECK(rc == 0 ? id != NULL && id[0] != '\0' : id == NULL,
	    "an UploadId with a failure, or none with success");
	if (rc != 0)
		FUZZ_CHECK(fuzz_msg_ok(&err), "unprintable message '%s'",
		    err.msg);
	free(rc == 0 ? id : NULL);
	return 0;
}
