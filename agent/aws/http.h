/* HTTP over libcurl: one multi handle per client, so that connections are reused between
 * requests and several transfers can run at once. Response bodies are size-capped (agent/util/buf.h).
 * A client made with HTTP_NO_PROXY never goes through a proxy (IMDS); the others honour the
 * usual proxy variables and AWS_CA_BUNDLE. */
#ifndef OPSAGENT_HTTP_H
#define OPSAGENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "util/buf.h"

#define HTTP_MAX_RESPONSE (8 * 1024 * 1024)   /* default cap on a response body */
#define HTTP_MAX_HEADERS 16

enum http_client_flags {
        HTTP_NO_PROXY = 1u << 0,
};

struct http_header {
        const char *name;
        const char *value;
};

struct http_request {
        const char *method;                     /* "GET", "PUT", "POST" */
        const char *url;
        struct http_header headers[HTTP_MAX_HEADERS];
        size_t n_headers;
        const void *body;                       /* may be NULL */
        size_t body_len;
        long timeout_ms;                        /* whole transfer; 0: 30 s */
        long connect_timeout_ms;                /* 0: 5 s */
        size_t max_response;                    /* 0: HTTP_MAX_RESPONSE */
};

/* One transfer. Filled by http_xfer_start(); results valid once it is done. */
struct http_xfer {
        CURL *easy;
        struct curl_slist *hdrs;
        struct buf body;                        /* the response body (capped) */
        long status;                            /* HTTP status, 0 when no answer */
        int result;                             /* 0, or negative errno for transport failures */
        char date[64];                          /* the Date header, "" when none */
        char request_id[128];                   /* x-amzn-RequestId / x-amz-request-id */
        char errbuf[CURL_ERROR_SIZE];           /* curl's explanation when result < 0 */
        bool done;
        bool active;
        void *userdata;                         /* the caller's */
};

struct http_client;

/* Creates a client (caller frees with http_client_free). */
int http_client_new(unsigned flags, struct http_client **ret);
void http_client_free(struct http_client *c);  /* NULL is fine */

/* Starts X for REQ on C (REQ's strings need only live until this returns). */
int http_xfer_start(struct http_client *c, struct http_xfer *x, const struct http_request *req);
/* Drives C's transfers for at most TIMEOUT_MS; *ret_done: a finished transfer (marked done and
 * detached) or NULL. 0, or negative errno when curl itself fails. */
int http_client_run(struct http_client *c, int timeout_ms, struct http_xfer **ret_done);
/* Detaches X from C if still running and frees what it holds. */
void http_xfer_clear(struct http_client *c, struct http_xfer *x);

/* Runs REQ to completion (start + run). *x must be cleared with http_xfer_clear(). */
int http_perform(struct http_client *c, const struct http_request *req, struct http_xfer *x);

/* Negative errno for a curl error code: -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -E2BIG
 * (body over the cap), -ENOMEM, -EIO. */
int http_errno_from_curl(CURLcode code);

#endif
