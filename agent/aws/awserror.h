/* AWS errors: the one place a struct opsagent_aws_error (<opsagent/aws.h>) is filled, with its
 * message scrubbed of secrets, the errno an AWS error code maps to, and the one line a caller
 * shows for it. */
#ifndef OPSAGENT_AWSERROR_H
#define OPSAGENT_AWSERROR_H

#include <stddef.h>

#include "opsagent/aws.h"

/* Zeroes E and fills it: OPERATION, CODE (may be NULL), the HTTP STATUS (0 when there was no
 * answer), REQUEST_ID (may be NULL) and the message printf(FMT, ...) (may be NULL: none),
 * scrubbed of every registered secret and cut to fit. */
void aws_error_set(struct opsagent_aws_error *e, const char *operation, const char *code, long status,
                   const char *request_id, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* "OPERATION: CODE: MESSAGE (request id ID)" into BUF (parts that are empty are left out);
 * returns BUF. */
char *aws_error_format(const struct opsagent_aws_error *e, char *buf, size_t size);

/* Negative errno for an AWS error code (see <opsagent/aws.h> for the mapping; besides, the JSON
 * protocols' *NotFoundException and *NotFound are -ENOENT, *AlreadyExistsException -EEXIST); the
 * HTTP status decides when there is no code. */
int aws_errno_for_code(const char *code, long http_status);

#endif
