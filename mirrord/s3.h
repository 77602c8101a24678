/*
 * s3.h: blobs in an S3-compatible object store (AWS S3, Ceph RGW, Swift's
 * s3api, MinIO...), path-style requests signed with AWS SigV4.
 *
 * The HTTP requests go through fetch.c (libcurl's owner): a struct fetch
 * made by s3_fetch_new() signs every request it makes as s3's
 * credentials, so fetch_to_store() with s3_blob_url() reads a blob into
 * the local store with the fetcher's retries, resume and verification.
 * The XML of listings and multipart uploads is read by s3xml.c.
 *
 * Objects: "[PREFIX/]blobs/ab/<sha256 hex>" in BUCKET, one per blob,
 * immutable, named by the SHA-256 of their bytes as local blob files are.
 *
 * Threads: a struct s3 is immutable after s3_new() (credentials and
 * endpoint) and may be shared by any number of threads; each thread makes
 * its own struct fetch with s3_fetch_new() (a fetch belongs to one thread
 * at a time). Credentials are never logged nor put in an error message.
 */
#ifndef MIRRORD_S3_H
#define MIRRORD_S3_H

#include "mirrord/common.h"

#include "mirrord/fetch.h"
#include "mirrord/hash.h"

/* What the global stanza's S3 keys say (all borrowed by s3_new). */
struct s3_opts {
	const char *url;	/* "s3://BUCKET" or "s3://BUCKET/PREFIX" */
	const char *endpoint;	/* "http(s)://host[:port]"; NULL: AWS's
				 * https://s3.REGION.amazonaws.com */
	const char *region;	/* NULL: "us-east-1" */
	/*
	 * A file (mode 0600 or stricter, else refused) in the AWS shared
	 * credentials format ("[default]", aws_access_key_id = ...,
	 * aws_secret_access_key = ...); NULL: the environment's
	 * AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
	 */
	const char *credentials;
	/* Blobs larger than this are uploaded in parts of part_size
	 * (0: the defaults, 64 MiB and 16 MiB; part_size at least 5 MiB). */
	uint64_t multipart_threshold;
	uint64_t part_size;
	/* Keys per ListObjectsV2 page (0: 1000, the most S3 gives; tests
	 * set a few to cross pages). */
	unsigned list_page;
};

struct s3;

/*
 * Checks opts (MERR_CONF naming the key that is wrong: a URL that is
 * not s3://BUCKET[/PREFIX], a bad endpoint, credentials missing or a
 * file readable by others) and makes *out, owned. No request is made.
 */
int s3_new(const struct s3_opts *opts, struct s3 **out, struct merr *err);
void s3_free(struct s3 *s3);

/* "s3://BUCKET[/PREFIX]" as configured (for messages and the store's
 * record of its backend). */
const char *s3_name(const struct s3 *s3);

/*
 * A transfer context (as fetch_new(fo)) whose every request is signed as
 * s3's credentials; owned, freed with fetch_free().
 */
int s3_fetch_new(const struct s3 *s3, const struct fetch_opts *fo,
    struct fetch **out, struct merr *err);

/* The object URL of blob h, owned (for a fetch_job's url). */
char *s3_blob_url(const struct s3 *s3, const unsigned char h[HASH_LEN]);

/*
 * Uploads size bytes of fd (from offset 0; fd is only read, with pread)
 * as blob h: one PUT, or a multipart upload above the threshold (aborted
 * on failure, so no part is left behind). Transient failures are retried
 * as fetches are. 0 once the store acknowledged the whole object;
 * MERR_NET (naming the object's key and the status or error) otherwise;
 * MERR_IO reading fd. f must come from s3_fetch_new().
 */
int s3_put_fd(struct s3 *s3, struct fetch *f, const unsigned char h[HASH_LEN],
    int fd, uint64_t size, struct merr *err);

/* Blob h's object size into *size: 0, MERR_NOTFOUND, or MERR_NET. */
int s3_stat(struct s3 *s3, struct fetch *f, const unsigned char h[HASH_LEN],
    uint64_t *size, struct merr *err);

/* Deletes blob h's object; an absent object is fine. MERR_NET. */
int s3_delete(struct s3 *s3, struct fetch *f, const unsigned char h[HASH_LEN],
    struct merr *err);

/*
 * Lists every object under "[PREFIX/]blobs/" (ListObjectsV2, page after
 * page: memory does not grow with the bucket), calling fn with its key
 * (relative to PREFIX/), its hash (NULL if the key is not
 * "blobs/ab/<hex>" of a matching ab), size and last-modified time (unix
 * seconds). fn returns 0 to go on or a negative code that ends the
 * listing and is returned. MERR_NET, or MERR_PARSE for a listing that
 * does not parse.
 */
typedef int (*s3_list_fn)(void *ctx, const char *key,
    const unsigned char *h, uint64_t size, int64_t mtime, struct merr *err);
int s3_list(struct s3 *s3, struct fetch *f, s3_list_fn fn, void *ctx,
    struct merr *err);

/*
 * A presigned GET URL of blob h (SigV4 in the query string) valid for
 * expires seconds from now (1 to 604800), owned: for S3-Redirect, so that
 * a client fetches the bytes from the store itself. No request is made.
 */
char *s3_presign(const struct s3 *s3, const unsigned char h[HASH_LEN],
    unsigned expires, int64_t now);

#endif
