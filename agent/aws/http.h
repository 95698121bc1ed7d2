/* HTTP over libcurl: one multi handle per client, so that connections are reused between
 * requests and several transfers can run at once. Response bodies are size-capped
 * (agent/util/buf.h). A client made with HTTP_NO_PROXY never goes through a proxy (IMDS); the
 * others honour the usual proxy variables and AWS_CA_BUNDLE. Nothing here knows AWS: which
 * response headers matter (Date, request ids) is the caller's to say. libcurl's types stay
 * inside http.c. */
#ifndef OPSAGENT_HTTP_H
#define OPSAGENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"

#define HTTP_MAX_RESPONSE (8 * 1024 * 1024)   /* default cap on a response body */
#define HTTP_MAX_HEADERS 16                   /* request headers; a value may be of any length */
#define HTTP_MAX_KEPT_HEADERS 4               /* response headers a caller can ask to keep */
#define HTTP_KEPT_HEADER_MAX 1024             /* a kept header's value is cut at this length */
#define HTTP_ERROR_MAX 256                    /* curl's explanation of a transport failure */

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
        /* On a connection of its own (opened for it, closed after it): libcurl sends a request
         * again, silently, when a reused connection turns out closed before any answer, which a
         * request that must not be carried out twice cannot afford. */
        bool fresh_connection;
        /* Names of response headers to keep (case does not matter), at most
         * HTTP_MAX_KEPT_HEADERS; the strings must outlive the transfer. */
        const char *keep_headers[HTTP_MAX_KEPT_HEADERS];
        /* When set, the body of a 2xx answer is handed to ON_DATA piece by piece as it arrives
         * (with ON_DATA_USERDATA), up to max_response bytes, instead of being kept in x->body,
         * which then stays empty; other answers' bodies are kept as usual. */
        void (*on_data)(void *userdata, const char *data, size_t len);
        void *on_data_userdata;
};

/* One transfer. Filled by http_xfer_start(); results valid once it is done. */
struct http_xfer {
        void *transfer;                         /* private to http.c */
        struct buf body;                        /* the response body (capped) */
        long status;                            /* HTTP status, 0 when no answer */
        int result;                             /* 0, or negative errno for transport failures */
        /* The request may have reached the server: some of it was written (or an answer came).
         * False when it surely did not (no connection, name not resolved, connect timed out):
         * what a caller needs to know before repeating a request that changes something. */
        bool sent;
        char error[HTTP_ERROR_MAX];             /* curl's explanation when result < 0 */
        const char *kept_name[HTTP_MAX_KEPT_HEADERS];
        char kept_value[HTTP_MAX_KEPT_HEADERS][HTTP_KEPT_HEADER_MAX];
        bool kept_found[HTTP_MAX_KEPT_HEADERS];
        bool done;
        bool active;
        void *userdata;                         /* the caller's */
        void (*on_data)(void *userdata, const char *data, size_t len);  /* the request's */
        void *on_data_userdata;
        size_t streamed;                        /* bytes handed to on_data */
        size_t max_streamed;
};

struct http_client;

/* Creates a client (caller frees with http_client_free). libcurl is loaded (dlopen) on the
 * first transfer or URL function, not before: a process that never talks HTTP never loads it.
 * When it cannot be loaded, those return -ELIBACC. */
int http_client_new(unsigned flags, struct http_client **ret);
void http_client_free(struct http_client *c);  /* NULL is fine */

/* Starts X for REQ on C (REQ's strings need only live until this returns, but for the names
 * in keep_headers). */
int http_xfer_start(struct http_client *c, struct http_xfer *x, const struct http_request *req);
/* Drives C's transfers for at most TIMEOUT_MS; *ret_done: a finished transfer (marked done and
 * detached) or NULL. 0, or negative errno when curl itself fails. */
int http_client_run(struct http_client *c, int timeout_ms, struct http_xfer **ret_done);
/* Detaches X from C if still running and frees what it holds. */
void http_xfer_clear(struct http_client *c, struct http_xfer *x);

/* Runs REQ to completion (start + run). *x must be cleared with http_xfer_clear(). */
int http_perform(struct http_client *c, const struct http_request *req, struct http_xfer *x);

/* The value of the response header NAME that the request asked to keep (borrowed from X), or
 * NULL when the answer had none. */
const char *http_xfer_header(const struct http_xfer *x, const char *name);

/* Splits URL into "host[:port]" and its path ("/" when empty), both caller-freed. -EINVAL for
 * a URL that is not valid, -ENOMEM. */
int http_url_split(const char *url, char **ret_hostport, char **ret_path);

/* An HTTP Date header ("Sun, 06 Nov 1994 08:49:37 GMT") as Unix time, 0 when unreadable. */
time_t http_parse_date(const char *date);
/* The same, (time_t)-1 when unreadable (libcurl's curl_getdate()). */
time_t http_getdate(const char *date);

/* The scheme ("https") and host (without brackets or port) of URL, both caller-freed. */
int http_url_scheme_host(const char *url, char **ret_scheme, char **ret_host);

/* The proxy libcurl will use for URL from the environment (https_proxy, HTTPS_PROXY,
 * http_proxy, all_proxy, ALL_PROXY, no_proxy, NO_PROXY, as curl reads them), into *ret
 * (caller frees; NULL: none). */
int http_proxy_for(const char *url, char **ret);

/* Tests only: send every request of C to ORIGIN ("http://127.0.0.1:PORT") instead of the
 * URL's own scheme, host and port, keeping the path, the query and the Host header the caller
 * gave, so that what is signed and what a real endpoint would see stay the same. NULL: off. */
int http_client_set_test_origin(struct http_client *c, const char *origin);

/* Negative errno for a libcurl CURLcode: -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -E2BIG
 * (body over the cap), -ENOMEM, -EINVAL, -EIO. */
int http_errno_from_curl(int curl_code);

#endif
