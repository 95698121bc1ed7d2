/* CloudWatch PutMetricData over the Query client, batched within AWS's limits (1000 datums and
 * 1 MB per request, at most 30 dimensions per datum), gzip-compressed bodies. */
#ifndef OPSAGENT_CLOUDWATCH_H
#define OPSAGENT_CLOUDWATCH_H

#include <stddef.h>
#include <stdint.h>

#include "aws_session.h"
#include "error.h"

#define CW_MAX_DATUMS_PER_REQUEST 1000
#define CW_MAX_REQUEST_BYTES (1024 * 1024)    /* uncompressed payload, as AWS counts it */
#define CW_MAX_DIMENSIONS 30
#define CW_MAX_NAME 255                       /* metric, dimension name/value, namespace */

struct cw_datum {
        const char *name;           /* MetricName */
        const char *unit;           /* "Count", "Seconds", ... (NULL: none) */
        double value;               /* finite */
        int64_t timestamp_ms;       /* Unix milliseconds; 0: now (AWS stamps it) */
        size_t n_dims;
        struct cw_dimension {
                const char *name;
                const char *value;
        } dims[CW_MAX_DIMENSIONS];
};

/* Sends the N datums under NAMESPACE_ in as few requests as the limits allow. -EINVAL (nothing
 * sent) for a datum AWS would reject: NaN or infinite value, no name, too many dimensions,
 * a name longer than CW_MAX_NAME; err names the datum. Other errors as opsagent/aws.h. */
int cloudwatch_put_metric_data(struct aws_session *s, const char *namespace_, const struct cw_datum *data,
                               size_t n, struct error *err);

#endif
