/* S3's REST protocol, the one call opsagent makes of it: GetObject, path-style
 * (ENDPOINT/BUCKET/KEY), signed by the call engine with S3's rules (the path encoded once, the
 * body's hash in x-amz-content-sha256: agent/aws/call.c); errors are S3's XML
 * <Error><Code/><Message/><RequestId/></Error>, or only the HTTP status for a HEAD-like answer
 * without a body. */
#ifndef OPSAGENT_S3_H
#define OPSAGENT_S3_H

#include <stddef.h>

#include "session.h"

#define S3_URL_MAX 1100                /* "s3://" + a bucket (63) + a key (1024) */

/* Splits "s3://BUCKET/KEY" into *ret_bucket and *ret_key (caller frees both). -EINVAL when URL
 * is not one (no bucket, no key). */
int s3_url_split(const char *url, char **ret_bucket, char **ret_key);

/* GetObject of BUCKET/KEY: its body into *ret_body (NUL-terminated, caller frees) and its ETag
 * into *ret_etag (caller frees; "" when the answer had none). -E2BIG past MAX bytes, -EBADMSG
 * for a body holding a NUL byte (not text); other errors as <opsagent/aws.h> maps them
 * (NoSuchKey and NoSuchBucket are -ENOENT), with s->last_error filled. */
int s3_get_object(struct aws_session *s, const char *bucket, const char *key, size_t max, char **ret_body,
                  char **ret_etag);

#endif
