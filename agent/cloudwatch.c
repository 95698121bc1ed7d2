#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloudwatch.h"
#include "query.h"
#include "xml.h"

static int check_datum(const struct cw_datum *d, size_t i, struct error *err)
{
        if (!d->name || !*d->name)
                return error_set(err, -EINVAL, "PutMetricData: datum %zu has no metric name", i);
        if (strlen(d->name) > CW_MAX_NAME)
                return error_set(err, -EINVAL, "PutMetricData: metric name of datum %zu is longer than %d", i,
                                 CW_MAX_NAME);
        if (!isfinite(d->value))
                return error_set(err, -EINVAL, "PutMetricData: metric %s has a value that is not a finite number",
                                 d->name);
        if (d->n_dims > CW_MAX_DIMENSIONS)
                return error_set(err, -EINVAL, "PutMetricData: metric %s has %zu dimensions, at most %d allowed",
                                 d->name, d->n_dims, CW_MAX_DIMENSIONS);
        for (size_t k = 0; k < d->n_dims; k++) {
                if (!d->dims[k].name || !*d->dims[k].name || !d->dims[k].value || !*d->dims[k].value)
                        return error_set(err, -EINVAL, "PutMetricData: metric %s has an empty dimension", d->name);
                if (strlen(d->dims[k].name) > CW_MAX_NAME || strlen(d->dims[k].value) > CW_MAX_NAME)
                        return error_set(err, -EINVAL, "PutMetricData: metric %s has a dimension longer than %d",
                                         d->name, CW_MAX_NAME);
        }
        return 0;
}

/* Appends datum D as member M of a request. */
static int add_datum(struct query_request *q, const struct cw_datum *d, size_t m)
{
        char v[64];
        int r;

        r = query_addf(q, d->name, "MetricData.member.%zu.MetricName", m);
        snprintf(v, sizeof(v), "%.17g", d->value);
        if (r >= 0)
                r = query_addf(q, v, "MetricData.member.%zu.Value", m);
        if (r >= 0 && d->unit)
                r = query_addf(q, d->unit, "MetricData.member.%zu.Unit", m);
        if (r >= 0 && d->timestamp_ms > 0) {
                time_t t = (time_t)(d->timestamp_ms / 1000);
                struct tm tm;
                char ts[48];

                gmtime_r(&t, &tm);
                strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
                snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03dZ", (int)(d->timestamp_ms % 1000));
                r = query_addf(q, ts, "MetricData.member.%zu.Timestamp", m);
        }
        for (size_t k = 0; k < d->n_dims && r >= 0; k++) {
                r = query_addf(q, d->dims[k].name, "MetricData.member.%zu.Dimensions.member.%zu.Name", m, k + 1);
                if (r >= 0)
                        r = query_addf(q, d->dims[k].value, "MetricData.member.%zu.Dimensions.member.%zu.Value", m,
                                       k + 1);
        }
        return r;
}

static int send_batch(struct aws_session *s, struct query_request *q, struct error *err)
{
        struct xml_node *doc = NULL;
        struct opsagent_aws_error e = { 0 };
        int r;

        r = query_call(s, q, &doc, &e);
        xml_free(doc);
        if (r < 0)
                return error_set(err, r, "PutMetricData: %s: %s (request id %s)", e.code, e.message,
                                 e.request_id[0] ? e.request_id : "unknown");
        return 0;
}

int cloudwatch_put_metric_data(struct aws_session *s, const char *namespace_, const struct cw_datum *data,
                               size_t n, struct error *err)
{
        struct query_request q;
        bool open = false;
        size_t in_batch = 0;
        int r = 0;

        if (!namespace_ || !*namespace_ || strlen(namespace_) > CW_MAX_NAME || strncmp(namespace_, "AWS/", 4) == 0)
                return error_set(err, -EINVAL, "PutMetricData: namespace \"%s\" is not allowed",
                                 namespace_ ? namespace_ : "");
        for (size_t i = 0; i < n; i++) {
                r = check_datum(&data[i], i, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                size_t before;

                if (!open) {
                        r = query_request_init(&q, AWS_SERVICE_CLOUDWATCH, "PutMetricData");
                        if (r >= 0)
                                r = query_add(&q, "Namespace", namespace_);
                        if (r < 0)
                                goto fail;
                        q.gzip = true;
                        open = true;
                        in_batch = 0;
                }
                before = q.params.len;
                r = add_datum(&q, &data[i], in_batch + 1);
                if (r >= 0 && q.params.len > CW_MAX_REQUEST_BYTES)
                        r = -E2BIG;
                if (r == -E2BIG && in_batch > 0) {
                        /* This datum starts the next request. */
                        q.params.len = before;
                        q.params.data[before] = '\0';
                        r = send_batch(s, &q, err);
                        query_request_clear(&q);
                        open = false;
                        if (r < 0)
                                return r;
                        i--;
                        continue;
                }
                if (r < 0)
                        goto fail;
                in_batch++;
                if (in_batch == CW_MAX_DATUMS_PER_REQUEST) {
                        r = send_batch(s, &q, err);
                        query_request_clear(&q);
                        open = false;
                        if (r < 0)
                                return r;
                }
        }
        if (open) {
                r = send_batch(s, &q, err);
                query_request_clear(&q);
        }
        return r;
fail:
        if (open)
                query_request_clear(&q);
        return error_set(err, r, "PutMetricData: cannot build the request: %s", strerror(-r));
}
