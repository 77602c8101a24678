/*
 * s3xml.h: the XML an S3-compatible store answers with, read with expat
 * (s3xml.c is expat's one owner): ListObjectsV2 pages, the
 * InitiateMultipartUploadResult and Error documents. Element names are
 * matched without their namespace (AWS and Swift put them in S3's).
 *
 * Threads: no state; each call parses its own buffer.
 */
#ifndef MIRRORD_S3XML_H
#define MIRRORD_S3XML_H

#include "mirrord/common.h"

/* An <Error>'s Code and Message (cut to fit; "" if absent). */
struct s3xml_error {
	char code[64];
	char message[256];
};

/*
 * Whether [xml, xml+len) is an <Error> document: true with *out filled,
 * false (and *out empty) for anything else, malformed XML included.
 */
bool s3xml_error(const char *xml, size_t len, struct s3xml_error *out);

/*
 * The UploadId of an InitiateMultipartUploadResult into *id (owned).
 * MERR_PARSE if the XML is malformed or holds none.
 */
int s3xml_upload_id(const char *xml, size_t len, char **id,
    struct merr *err);

/* One <Contents> of a listing: key and LastModified as sent, borrowed
 * for the call. A negative return stops the parse and is returned. */
typedef int (*s3xml_object_fn)(void *ctx, const char *key, uint64_t size,
    const char *last_modified, struct merr *err);

/* What a listing page says besides its objects. */
struct s3xml_page {
	bool truncated;		/* IsTruncated: more pages follow */
	char *next_token;	/* NextContinuationToken, owned, or NULL */
};

/*
 * Calls fn for each <Contents> of a ListObjectsV2 page, in order, and
 * fills *page (release with s3xml_page_release). MERR_PARSE for malformed
 * XML, a document that is not a ListBucketResult, a Contents without Key
 * or a Size that is not a number; or fn's code.
 */
int s3xml_list(const char *xml, size_t len, s3xml_object_fn fn, void *ctx,
    struct s3xml_page *page, struct merr *err);
void s3xml_page_release(struct s3xml_page *page);

#endif
