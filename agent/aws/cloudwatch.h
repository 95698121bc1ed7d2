/* CloudWatch PutMetricData over the Query client: a batch (agent/util/metric.h) in as few requests
 * as CloudWatch's limits allow, gzip-compressed bodies. */
#ifndef OPSAGENT_CLOUDWATCH_H
#define OPSAGENT_CLOUDWATCH_H

#include "session.h"
#include "util/error.h"
#include "util/metric.h"

/* Sends B (under its namespace) in the requests metric_batch_split() cuts it into, in order;
 * a batch that split made is exactly one request. -EINVAL (nothing sent) for a namespace or a
 * datum AWS would reject: no namespace or one starting with "AWS/", a NaN or infinite value,
 * no name, too many dimensions, a name longer than METRIC_NAME_MAX; err names the datum.
 * Other errors as opsagent/aws.h, err naming the operation, AWS's code and the request id. */
int cloudwatch_put_metric_data(struct aws_session *s, const struct metric_batch *b, struct error *err);

#endif
