#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "awserror.h"
#include "cloudwatch.h"
#include "query.h"
#include "xml.h"

static int check_datum(const struct metric *d, size_t i, struct error *err)
{
        if (!d->name || !*d->name)
                return error_set(err, -EINVAL, "PutMetricData: datum %zu has no metric name", i);
        if (strlen(d->name) > METRIC_NAME_MAX)
                return error_set(err, -EINVAL, "PutMetricData: metric name of datum %zu is longer than %d", i,
                                 METRIC_NAME_MAX);
        if (!isfinite(d->value))
                return error_set(err, -EINVAL, "PutMetricData: metric %s has a value that is not a finite number",
                                 d->name);
        if (d->n_dims > METRIC_MAX_DIMS)
                return error_set(err, -EINVAL, "PutMetricData: metric %s has %zu dimensions, at most %d allowed",
                                 d->name, d->n_dims, METRIC_MAX_DIMS);
        for (size_t k = 0; k < d->n_dims; k++) {
                if (!d->dims[k].name || !*d->dims[k].name || !d->dims[k].value || !*d->dims[k].value)
                        return error_set(err, -EINVAL, "PutMetricData: metric %s has an empty dimension", d->name);
                if (strlen(d->dims[k].name) > METRIC_NAME_MAX || strlen(d->dims[k].value) > METRIC_NAME_MAX)
                        return error_set(err, -EINVAL, "PutMetricData: metric %s has a dimension longer than %d",
                                         d->name, METRIC_NAME_MAX);
        }
        return 0;
}

/* Appends datum D as member M of a request. */
static int add_datum(struct query_request *q, const struct metric *d, size_t m)
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

/* One request for the whole of B (a piece metric_batch_split() made). */
static int put_one(struct aws_session *s, const struct metric_batch *b, struct error *err)
{
        struct query_request q;
        struct xml_node *doc = NULL;
        struct opsagent_aws_error e = { 0 };
        int r;

        r = query_request_init(&q, AWS_SERVICE_CLOUDWATCH, "PutMetricData");
        if (r >= 0)
                r = query_add(&q, "Namespace", b->namespace_);
        for (size_t i = 0; i < b->n && r >= 0; i++)
                r = add_datum(&q, &b->items[i], i + 1);
        if (r >= 0 && query_body_length(&q) > METRIC_MAX_REQUEST_BYTES)
                r = -E2BIG;
        if (r < 0) {
                query_request_clear(&q);
                return error_set(err, r, "PutMetricData: cannot build the request for %zu datums: %s", b->n,
                                 strerror(-r));
        }
        q.gzip = true;
        r = query_call(s, &q, &doc, &e);
        xml_free(doc);
        query_request_clear(&q);
        if (r < 0) {
                char text[sizeof(e.operation) + sizeof(e.code) + sizeof(e.message) + sizeof(e.request_id) + 32];

                return error_set(err, r, "%s", aws_error_format(&e, text, sizeof(text)));
        }
        return 0;
}

int cloudwatch_put_metric_data(struct aws_session *s, const struct metric_batch *b, struct error *err)
{
        const char *ns = b->namespace_;
        struct metric_batch *pieces = NULL;
        size_t n = 0;
        int r;

        if (!ns || !*ns || strlen(ns) > METRIC_NAME_MAX || strncmp(ns, "AWS/", 4) == 0)
                return error_set(err, -EINVAL, "PutMetricData: namespace \"%s\" is not allowed", ns ? ns : "");
        for (size_t i = 0; i < b->n; i++) {
                r = check_datum(&b->items[i], i, err);
                if (r < 0)
                        return r;
        }
        r = metric_batch_split(b, &pieces, &n);
        if (r < 0)
                return error_set(err, r, "PutMetricData: %s", strerror(-r));
        for (size_t i = 0; i < n && r >= 0; i++)
                r = put_one(s, &pieces[i], err);
        for (size_t i = 0; i < n; i++)
                metric_batch_free(&pieces[i]);
        free(pieces);
        return r;
}
