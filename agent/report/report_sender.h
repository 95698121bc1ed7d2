/* The agent's sender of metric batches: CloudWatch's PutMetricData through an AWS session. */
#ifndef OPSAGENT_REPORT_SENDER_H
#define OPSAGENT_REPORT_SENDER_H

#include <json-c/json.h>

#include "report_deliver.h"
#include "util/error.h"

/* The agent's sender: PutMetricData through an AWS session made from ATTRS on first use
 * (borrowed; must outlive the sender). Free with report_cloudwatch_sender_free(). */
int report_cloudwatch_sender_new(json_object *attrs, struct report_sender *ret, struct error *err);
void report_cloudwatch_sender_free(struct report_sender *s);

#endif
