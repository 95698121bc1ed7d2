/* AWS calls, whatever their protocol: sign (SigV4), send (several at once over one HTTP
 * client), and retry as the SDKs' standard mode does (agent/aws/retry.h), correcting clock
 * skew and refreshing expired credentials once. A protocol (Query with XML answers in
 * agent/aws/query.h; JSON or REST ones beside it) says how a body is read and how an error
 * answer is; this engine knows nothing of either. */
#ifndef OPSAGENT_CALL_H
#define OPSAGENT_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "http.h"
#include "session.h"
#include "opsagent/aws.h"

#define AWS_CALL_MAX_HEADERS 4              /* signed headers a protocol adds (X-Amz-Target, ...) */

/* How a protocol reads an answer. */
struct aws_protocol {
        /* Parses a 2xx answer's BODY into *ret (freed with free_answer): 0, or -EBADMSG (ERR says
         * why) when it is malformed. */
        int (*parse_answer)(const char *body, size_t len, void **ret, struct error *err);
        void (*free_answer)(void *answer);
        /* Fills CODE, MESSAGE and REQUEST_ID of E from an error answer's BODY; false when BODY is
         * not one (E then untouched). */
        bool (*parse_error)(const char *body, size_t len, struct opsagent_aws_error *e);
        /* Optional, all three or none: a 2xx answer read as it arrives, never held whole.
         * stream_begin makes a reader for one attempt (NULL on ENOMEM), stream_feed gives it
         * a piece of the body (it keeps its own error), stream_end finishes it into *ret
         * (freed with free_answer) as parse_answer would, and frees the reader whatever
         * happens. parse_answer is then not used. */
        void *(*stream_begin)(void);
        void (*stream_feed)(void *reader, const char *data, size_t len);
        int (*stream_end)(void *reader, void **ret, struct error *err);
        void (*stream_free)(void *reader);     /* a reader stream_end never got */
};

/* One call. Strings and the body must live until the call is done. */
struct aws_request {
        const struct aws_protocol *protocol;
        enum aws_service service;
        const char *operation;                  /* "DescribeSnapshots", for errors and logs */
        const char *method;                     /* "POST", "GET" */
        const char *path;                       /* after the endpoint's own path; NULL: none. Raw (not
                                                   percent-encoded) for S3, which gets it encoded once
                                                   in the URL and in the signature (S3's rule); as sent
                                                   for the others */
        const char *query;                      /* the query string, or NULL */
        const char *content_type;               /* NULL: none */
        struct http_header headers[AWS_CALL_MAX_HEADERS];
        size_t n_headers;
        const void *body;                       /* may be NULL */
        size_t body_len;
        size_t max_response;                    /* bytes of an answer at most */
        bool gzip;                              /* send the body gzip-compressed */
        bool idempotent;                        /* safe to repeat after a malformed answer */
        const struct aws_credentials *credentials; /* sign with these, not the session's (STS); may be NULL */
        bool anonymous;                         /* send unsigned (AssumeRoleWithWebIdentity) */
        /* Repeating it could do twice what the first attempt did (CreateSnapshot has no client
         * token): when an attempt's outcome is unknown (an answer of 5xx, a timeout or a reset
         * after the request was sent, an answer that cannot be read), the engine stops there and
         * sets outcome_unknown, so that the caller looks for the result before repeating it.
         * Throttling, clock skew, expired credentials and failures to connect are retried as
         * usual: the request was not carried out. */
        bool check_outcome;
        /* A label put before the endpoint's host name ("BUCKET." + "s3.REGION.amazonaws.com"):
         * S3's virtual-hosted addressing. NULL: none. */
        const char *host_label;
};

/* ENDPOINT ("https://host[:port][/path]") with LABEL and a dot before its host, into *ret
 * (caller frees). -EINVAL when ENDPOINT has no "scheme://". */
int aws_endpoint_with_label(const char *endpoint, const char *label, char **ret);

/* One call's outcome. */
struct aws_result {
        int result;                             /* 0 or negative errno (<opsagent/aws.h>'s mapping) */
        void *answer;                           /* the parsed answer on success */
        struct opsagent_aws_error error;        /* when result < 0 */
        unsigned attempts;
        time_t date;                            /* the last answer's Date header, 0 when none */
        char etag[HTTP_KEPT_HEADER_MAX];        /* the successful answer's ETag header, "" when none */
        bool outcome_unknown;                   /* result < 0, but the call may have been carried out */
};

/* Runs the N requests, at most PARALLEL at once (0: the session's default), each with its own
 * retries; RESULTS[i] for REQS[i]. 0 when all succeeded, otherwise the first failure's errno
 * (s->last_error holds the last failure). */
int aws_call_many(struct aws_session *s, const struct aws_request *reqs, size_t n, unsigned parallel,
                  struct aws_result *results);
/* Frees R's answer (with REQ's protocol). */
void aws_result_clear(const struct aws_request *req, struct aws_result *r);

/* gzip-compresses IN into *out (a fresh buf capped at CAP). */
int aws_gzip(const void *in, size_t len, struct buf *out, size_t cap);

#endif
