/* S3's REST protocol, the one call opsagent makes of it: GetObject, virtual-hosted
 * (https://BUCKET.s3.REGION.amazonaws.com/KEY) on the endpoint built for the region when the
 * bucket's name allows it (lower-case letters, digits and hyphens: a name with dots would not
 * match the endpoint's certificate), else path-style (ENDPOINT/BUCKET/KEY), as the SDKs do and
 * always on a configured endpoint URL (AWS_ENDPOINT_URL_S3, a stand-in); signed by the call engine with S3's rules (the path encoded once, the
 * body's hash in x-amz-content-sha256: agent/aws/call.c); errors are S3's XML
 * <Error><Code/><Message/><RequestId/></Error>, or only the HTTP status for a HEAD-like answer
 * without a body. */
#ifndef OPSAGENT_S3_H
#define OPSAGENT_S3_H

#include <stdbool.h>
#include <stddef.h>

#include "session.h"

#define S3_URL_MAX 1100                /* "s3://" + a bucket (63) + a key (1024) */

/* Splits "s3://BUCKET/KEY" into *ret_bucket and *ret_key (caller frees both). -EINVAL when URL
 * is not one (no bucket, no key). */
int s3_url_split(const char *url, char **ret_bucket, char **ret_key);

/* Whether BUCKET can be addressed by host name over TLS (3 to 63 of [a-z0-9-], not starting
 * or ending with a hyphen). */
bool s3_bucket_virtual_hostable(const char *bucket);

/* The request path for KEY of BUCKET (caller frees *ret_path) and the host label (BUCKET, or
 * NULL for path-style; borrowed from BUCKET): virtual-hosted when ENDPOINT_BUILT (the endpoint
 * was built for the region, not configured) and the bucket allows it. */
int s3_request_target(bool endpoint_built, const char *bucket, const char *key, const char **ret_host_label,
                      char **ret_path);

/* GetObject of BUCKET/KEY: its body into *ret_body (NUL-terminated, caller frees) and its ETag
 * into *ret_etag (caller frees; "" when the answer had none). -E2BIG past MAX bytes, -EBADMSG
 * for a body holding a NUL byte (not text); other errors as <opsagent/aws.h> maps them
 * (NoSuchKey and NoSuchBucket are -ENOENT), with s->last_error filled. */
int s3_get_object(struct aws_session *s, const char *bucket, const char *key, size_t max, char **ret_body,
                  char **ret_etag);

#endif
