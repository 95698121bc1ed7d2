/* Delivery of a batch of metrics: in requests within PutMetricData's limits, the spool's
 * waiting records first, through the spool when CloudWatch cannot be reached, and
 * MetricsDropped once sending works again after the spool's bound dropped something. The
 * sender is a function pointer: the agent's is CloudWatch (report_sender.h), tests use a
 * fake one. */
#ifndef OPSAGENT_REPORT_DELIVER_H
#define OPSAGENT_REPORT_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "report_config.h"
#include "spool.h"
#include "util/error.h"
#include "util/metric.h"

struct report_sender {
        metric_send_fn send;
        void *userdata;
};

/* Whether an error of the AWS layer is worth retrying later (network, 5xx, throttling,
 * credentials not there yet) rather than a refusal of the data. */
bool report_error_is_transient(int r);

enum report_outcome {
        REPORT_SENT,           /* everything (and what was spooled before) reached CloudWatch */
        REPORT_SPOOLED,        /* CloudWatch could not be reached: kept for later */
        REPORT_DISABLED,       /* cloudwatch.enabled is false: nothing sent */
};

/* Sends B (cut into requests by metric_batch_split()). The spool goes first, oldest
 * first; whatever cannot be sent now is spooled; the count of datums the spool's bound
 * dropped goes out as MetricsDropped once sending works. Fills *ret_outcome. An error
 * (ERR set) when CloudWatch refused the data or the spool cannot be written. */
int report_deliver(const struct report_config *cfg, const struct report_sender *snd, int64_t now_ms,
                   const struct metric_batch *b, enum report_outcome *ret_outcome, struct error *err);

#endif
