/* The AWS JSON 1.1 protocol (CloudWatch Logs, Systems Manager): a POST to the endpoint's root
 * with `X-Amz-Target: PREFIX.Operation` and `Content-Type: application/x-amz-json-1.1`, a JSON
 * body, a JSON answer; errors are JSON objects with `__type` (the code, after any
 * "namespace#") and `message` or `Message`, the request id in the x-amzn-RequestId header.
 * Signing, sending and retrying are the call engine's (agent/aws/call.h); bodies and answers
 * are json-c's. */
#ifndef OPSAGENT_AWSJSON_H
#define OPSAGENT_AWSJSON_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "session.h"

#define AWSJSON_CONTENT_TYPE "application/x-amz-json-1.1"
#define AWSJSON_MAX_BODY (4 * 1024 * 1024)        /* a request body at most (PutLogEvents: 1 MB of events) */
#define AWSJSON_MAX_RESPONSE (16 * 1024 * 1024)   /* an answer at most */
#define AWSJSON_MAX_DEPTH 64                      /* nesting of an answer at most */
#define AWSJSON_TARGET_MAX 128

/* The X-Amz-Target prefix of SVC ("Logs_20140328", "AmazonSSM"), NULL for a service that does
 * not speak JSON 1.1. */
const char *awsjson_target_prefix(enum aws_service svc);

/* One call. */
struct awsjson_request {
        enum aws_service service;
        const char *operation;         /* "PutLogEvents"; must live until the call is done */
        const char *body;              /* the JSON text (borrowed); NULL: "{}" */
        size_t body_len;
        bool idempotent;               /* safe to repeat after a malformed answer (Describe*, Get*, List*) */
};

/* Runs REQ with the engine's retries. 0 and *ret_answer (a json-c object, caller puts it; an
 * empty answer is an empty object), or a negative errno (<opsagent/aws.h>'s mapping) with
 * *ret_error (may be NULL) and s->last_error filled. -E2BIG for a body over AWSJSON_MAX_BODY. */
int awsjson_call_body(struct aws_session *s, const struct awsjson_request *req, json_object **ret_answer,
                      struct opsagent_aws_error *ret_error);

/* The same with INPUT (borrowed; NULL: {}) serialized as the body; idempotent when OPERATION
 * starts with Describe, Get or List. */
int awsjson_call(struct aws_session *s, enum aws_service svc, const char *operation, json_object *input,
                 json_object **ret_answer, struct opsagent_aws_error *ret_error);

/* Fills CODE, MESSAGE and REQUEST_ID (when the body has one) of E from an error answer's BODY;
 * false when BODY is not a JSON error object (E untouched). */
bool awsjson_parse_error(const char *body, size_t len, struct opsagent_aws_error *e);

#endif
