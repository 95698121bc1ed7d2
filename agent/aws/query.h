/* The AWS Query protocol: form-encoded POST bodies and XML answers, over the call engine
 * (agent/aws/call.h: signing, retries, several calls at once), with errors naming operation,
 * code, message and request id. The Version of each service is in agent/aws/endpoints.c's
 * table (EC2 2016-11-15, CloudWatch 2010-08-01, STS 2011-06-15). */
#ifndef OPSAGENT_QUERY_H
#define OPSAGENT_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "session.h"
#include "xml.h"
#include "util/buf.h"

#define QUERY_MAX_BODY (1024 * 1024 + 64 * 1024)  /* PutMetricData's 1 MB plus headroom */
#define QUERY_MAX_RESPONSE (16 * 1024 * 1024)

struct query_request {
        enum aws_service service;
        char operation[64];
        struct buf params;          /* form-encoded, Action and Version first */
        bool idempotent;            /* safe to retry after a malformed answer (Describe*) */
        bool gzip;                  /* send the body gzip-compressed (Content-Encoding: gzip) */
        const struct aws_credentials *credentials; /* sign with these, not the session's; may be NULL */
        bool anonymous;             /* unsigned (AssumeRoleWithWebIdentity) */
        bool check_outcome;         /* stop at an unknown outcome (agent/aws/call.h) */
};

/* Starts a request for OPERATION on SERVICE. Clear with query_request_clear(). */
int query_request_init(struct query_request *q, enum aws_service service, const char *operation);
void query_request_clear(struct query_request *q);
/* The form-encoded body so far, in bytes (uncompressed). */
size_t query_body_length(const struct query_request *q);
/* Adds KEY=VALUE (both form-encoded here). -E2BIG past QUERY_MAX_BODY. */
int query_add(struct query_request *q, const char *key, const char *value);
/* Adds VALUE under the key printf(KEYFMT, ...): query_addf(q, "vol-1", "VolumeId.%zu", i). */
int query_addf(struct query_request *q, const char *value, const char *keyfmt, ...)
        __attribute__((format(printf, 3, 4)));

/* One outcome of a call. */
struct query_result {
        int result;                         /* 0 or negative errno (opsagent/aws.h mapping) */
        struct xml_node *doc;               /* the parsed answer on success (free with xml_free) */
        struct opsagent_aws_error error;    /* when result < 0 */
        unsigned attempts;
        time_t date;                        /* the answer's Date header, 0 when none */
        bool outcome_unknown;               /* result < 0, but the call may have been carried out */
};

/* Runs Q with retries. 0 and *ret_doc (caller frees with xml_free), or negative errno with
 * *ret_error (may be NULL) and s->last_error filled. */
int query_call(struct aws_session *s, struct query_request *q, struct xml_node **ret_doc,
               struct opsagent_aws_error *ret_error);
/* query_call() that also says, on failure, whether the outcome is unknown (*ret_unknown). */
int query_call_checked(struct aws_session *s, struct query_request *q, struct xml_node **ret_doc,
                       bool *ret_unknown);
/* Runs the N requests, at most PARALLEL at once (0: the session's default), each with its own
 * retries; RESULTS[i] for QS[i]. 0 when all succeeded, otherwise the first failure's errno. */
int query_call_many(struct aws_session *s, struct query_request *qs, size_t n, unsigned parallel,
                    struct query_result *results);
void query_result_clear(struct query_result *r);

/* A reader of 2xx answers as they arrive (struct aws_protocol's stream_* functions): BEGIN
 * makes one per attempt (NULL: ENOMEM), FEED gives it each piece of the body, END finishes it
 * into an answer (0, or -EBADMSG with ERR for a malformed one, which is retried as any
 * malformed answer) and frees it, FREE_READER frees one END never got, FREE_ANSWER frees an
 * answer. */
struct query_reader {
        void *(*begin)(void);
        void (*feed)(void *reader, const char *data, size_t len);
        int (*end)(void *reader, void **ret, struct error *err);
        void (*free_reader)(void *reader);
        void (*free_answer)(void *answer);
};

/* query_call() whose 2xx answer is read by RD as it arrives, never held whole nor made a tree.
 * 0 and *ret_answer (the caller frees it with RD's free_answer), or negative errno with
 * s->last_error filled. Error answers are read as query_call() reads them. */
int query_call_reader(struct aws_session *s, struct query_request *q, const struct query_reader *rd,
                      void **ret_answer);

/* Fills E from an error document (EC2's <Response><Errors><Error>, CloudWatch's
 * <ErrorResponse>). false when DOC is neither. */
bool query_parse_error(const struct xml_node *doc, struct opsagent_aws_error *e);

#endif
