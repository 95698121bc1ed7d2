/* STS over the Query protocol (Version 2011-06-15), at the session's regional STS endpoint:
 * AssumeRole, signed with the source credentials the chain found; AssumeRoleWithWebIdentity,
 * unsigned (the token is the proof); GetCallerIdentity, which needs no permission at all
 * (opsagent doctor: who am I, and AWS's clock). Credentials from STS are registered with the
 * log scrubber before anything else is done with the answer. */
#ifndef OPSAGENT_STS_H
#define OPSAGENT_STS_H

#include <time.h>

#include "credentials.h"
#include "session.h"


/* The call RQ asks for into *ret (source as the caller sets it; caller clears). -EACCES for a
 * refusal (err has STS's code, message and request id), other errors as <opsagent/aws.h>. */
int sts_assume_role(struct aws_session *s, const struct credentials_sts_request *rq, struct aws_credentials *ret,
                    struct error *err);

/* GetCallerIdentity with the session's credentials: *ret_account, *ret_arn (caller frees) and
 * the answer's Date in *ret_date (0 when it had none). */
int sts_get_caller_identity(struct aws_session *s, char **ret_account, char **ret_arn, time_t *ret_date,
                            struct error *err);

#endif
