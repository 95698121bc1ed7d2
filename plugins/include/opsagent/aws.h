/* opsagent recipe plugin SDK: signed AWS calls (EC2, CloudWatch) through the context.
 * Recipes reach AWS only through ctx->aws; the agent signs, retries, paginates and parses.
 * Owned by the AWS access work (issue 3); typed calls are added here. */
#ifndef OPSAGENT_AWS_H
#define OPSAGENT_AWS_H

#include <stdint.h>

struct opsagent_ctx;

struct opsagent_aws_ops {
        uint32_t size; /* sizeof(struct opsagent_aws_ops) as the agent was built */
};

#endif
