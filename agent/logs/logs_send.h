/* CloudWatch Logs calls for the shipper, over the JSON 1.1 protocol (agent/aws/awsjson.h, whose
 * engine signs, retries and throttles): PutLogEvents, and on ResourceNotFoundException
 * CreateLogGroup (with PutRetentionPolicy when it created the group and a retention is
 * configured) and CreateLogStream, then PutLogEvents again. DataAlreadyAcceptedException
 * means accepted; InvalidSequenceTokenException (older endpoints) is retried with the token
 * the answer expects. No logging. */
#ifndef OPSAGENT_LOGS_SEND_H
#define OPSAGENT_LOGS_SEND_H

#include <stdbool.h>
#include <stdint.h>

#include "aws/session.h"
#include "logs_batch.h"
#include "util/error.h"

/* A stream's sending state. */
struct logs_target {
        const char *group, *stream;     /* borrowed */
        int retention_days;             /* 0: none */
        char *token;                    /* the last nextSequenceToken (owned), NULL */
        bool ensured;                   /* group and stream known to exist */
        struct buf body;                /* the request's text, reused (owned; buf_free() it) */
};

/* Sends B to T. 0 when CloudWatch accepted it (*ret_rejected: how many of its events it
 * refused anyway, as too old or too new, by rejectedLogEventsInfo); a negative errno (ERR
 * says the operation, code and request id) otherwise. */
int logs_put(struct aws_session *s, struct logs_target *t, const struct logs_batch *b, uint64_t *ret_rejected,
             struct error *err);

/* Whether a failure R of logs_put() is worth trying again later (network, 5xx, throttling,
 * credentials): false for a refusal of the data itself. */
bool logs_error_is_transient(int r);

#endif
