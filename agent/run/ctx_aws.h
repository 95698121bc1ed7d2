/* The AWS half of the recipe context: struct opsagent_aws_ops (ctx->aws) over the agent's
 * AWS session, which it creates on the first call and frees when the context is done. */
#ifndef OPSAGENT_CTX_AWS_H
#define OPSAGENT_CTX_AWS_H

#include "ctx.h"

/* Sets CORE's ctx->aws to the AWS ops; the session they make is freed by ctx_done(). */
void ctx_aws_attach(struct ctx_core *core);

#endif
