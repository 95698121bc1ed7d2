/* AWS Signature Version 4 (header signing) with OpenSSL: canonical request, string to sign,
 * signature and the Authorization header. Passes AWS's own suite (tests/data/sigv4). */
#ifndef OPSAGENT_SIGV4_H
#define OPSAGENT_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"

#define SIGV4_MAX_HEADERS 64
#define SIGV4_MAX_QUERY_PARAMS 256
#define SIGV4_MAX_CANONICAL (256 * 1024)

struct sigv4_header {
        const char *name;
        const char *value;
};

struct sigv4_credentials {
        const char *access_key_id;
        const char *secret_access_key;
        const char *session_token;      /* NULL when none */
};

struct sigv4_request {
        const char *method;             /* "POST" */
        const char *path;               /* "/": raw (not percent-encoded) */
        const char *query;              /* after the '?', NULL or "" for none (may be encoded) */
        const struct sigv4_header *headers; /* every header sent that is to be signed; Host required */
        size_t n_headers;
        const void *body;
        size_t body_len;
};

enum sigv4_flags {
        SIGV4_NORMALIZE_PATH = 1u << 0,       /* remove dot segments and empty segments */
        SIGV4_SIGN_BODY = 1u << 1,            /* add and sign x-amz-content-sha256 */
        SIGV4_OMIT_SESSION_TOKEN = 1u << 2,   /* token sent but not signed (never for EC2) */
};

struct sigv4_signed {
        char amz_date[17];          /* "20150830T123600Z": the X-Amz-Date header */
        char payload_hash[65];      /* hex SHA-256 of the body (X-Amz-Content-Sha256) */
        char signature[65];
        char *canonical_request;    /* freed by sigv4_signed_clear() */
        char *string_to_sign;
        char *authorization;        /* the Authorization header's value */
};

/* Signs REQ for REGION/SERVICE at NOW. *ret filled only on success (clear it after).
 * The caller sends X-Amz-Date (ret->amz_date), X-Amz-Security-Token when CRED has a token,
 * X-Amz-Content-Sha256 with SIGV4_SIGN_BODY, and Authorization. -EINVAL for a request that
 * cannot be signed (no Host, too many headers or parameters), -ENOMEM. */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *cred, const char *region,
               const char *service, time_t now, unsigned flags, struct sigv4_signed *ret);
void sigv4_signed_clear(struct sigv4_signed *s);

/* Appends S[0..LEN) percent-encoded as SigV4 wants (RFC 3986 unreserved kept, %XX upper case);
 * '/' kept unless ENCODE_SLASH. */
int sigv4_uri_encode(struct buf *b, const char *s, size_t len, bool encode_slash);
/* Canonical query string of QUERY (decoded, re-encoded, sorted by key then value). */
int sigv4_canonical_query(struct buf *b, const char *query);
/* Canonical URI of PATH (normalized when NORMALIZE). */
int sigv4_canonical_path(struct buf *b, const char *path, bool normalize);
/* Hex SHA-256 of DATA. */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
