/* Metrics: one CloudWatch datum and batches of them. This is the one shape a metric has on its
 * way from the recipe that puts it (through the event pipe, the run record and the spool) to
 * the PutMetricData request that carries it, and the one place CloudWatch's limits are written.
 *
 * JSON (events, run records, the spool), one object per metric:
 *   {"name": N, "value": V, "unit": U, "timestamp": MS, "dimensions": [[NAME, VALUE], ...]}
 * "timestamp" is Unix time in milliseconds; "dimensions" is left out when there are none.
 * The reader also takes "timestamp_ms", the key spools written before this module used. */
#ifndef OPSAGENT_METRIC_H
#define OPSAGENT_METRIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* CloudWatch's limits for one datum. */
#define METRIC_NAME_MAX 255                         /* metric name, namespace, dimension name and value */
#define METRIC_UNIT_MAX 64
#define METRIC_MAX_DIMS 30
#define METRIC_MAX_AGE_MS (14LL * 24 * 3600 * 1000) /* CloudWatch takes datums up to two weeks old */
#define METRIC_MAX_ABS_VALUE 2.3485425827738332e+108 /* larger magnitudes are refused (2^360) */
#define METRIC_MIN_ABS_VALUE 8.515920e-109          /* smaller non-zero magnitudes are refused (2^-360) */
/* ... and for one PutMetricData request. */
#define METRIC_MAX_PER_REQUEST 1000
#define METRIC_MAX_REQUEST_BYTES (1000 * 1000)      /* "1 MB": the form-encoded body, uncompressed */
/* What metric_batch_split() gives the datums of one request by metric_request_cost(); the
 * rest of the limit is room for Action, Version and Namespace. */
#define METRIC_SPLIT_BYTES (METRIC_MAX_REQUEST_BYTES - 10 * 1000)

struct metric_dim {
        char *name;
        char *value;
};

struct metric {
        char *name;
        char *unit;                    /* CloudWatch StandardUnit: "Count", "Seconds", ... */
        double value;                  /* always finite */
        int64_t timestamp_ms;          /* Unix epoch, milliseconds; 0: none (CloudWatch stamps it) */
        size_t n_dims;
        struct metric_dim dims[METRIC_MAX_DIMS];
};

/* Owns everything it points to. Zero-initialised (METRIC_BATCH_INIT) is an empty batch. */
struct metric_batch {
        char *namespace_;              /* NULL until set (run records carry none) */
        struct metric *items;
        size_t n;
        size_t alloc;
};

#define METRIC_BATCH_INIT { NULL, NULL, 0, 0 }

/* A CloudWatch StandardUnit name ("Count", "Bytes/Second", "None", ...)? */
bool metric_unit_is_valid(const char *unit);

int metric_batch_set_namespace(struct metric_batch *b, const char *namespace_);
/* Appends a copy of one datum (UNIT NULL: "None"). -EINVAL (and nothing added) for a NaN or
 * infinite value, an empty or over-long name, unit, dimension name or value, or more than
 * METRIC_MAX_DIMS dims. */
int metric_batch_add(struct metric_batch *b, const char *name, const char *unit, double value,
                     int64_t timestamp_ms, const struct metric_dim *dims, size_t n_dims);
/* Appends a copy of M (same checks). */
int metric_batch_add_metric(struct metric_batch *b, const struct metric *m);
/* Removes item I (order kept). */
void metric_batch_remove(struct metric_batch *b, size_t i);
void metric_batch_free(struct metric_batch *b);   /* leaves an empty batch */

/* M as JSON (the shape above); new reference in *ret. */
int metric_to_json(const struct metric *m, json_object **ret);
/* Parses one metric object O and appends it to B; -EBADMSG when the shape or a value is wrong
 * (B unchanged). */
int metric_batch_add_json(struct metric_batch *b, json_object *o);

/* The metrics of B as a JSON array (new reference in *ret), and back: -EBADMSG for a bad
 * element (*ret untouched). */
int metric_batch_metrics_to_json(const struct metric_batch *b, json_object **ret);
int metric_batch_metrics_from_json(json_object *arr, struct metric_batch *ret);

/* B with its namespace: {"namespace": ..., "metrics": [...]}; new reference in *ret. And back:
 * fills *ret (an empty batch); -EBADMSG when the shape or a value is wrong. */
int metric_batch_to_json(const struct metric_batch *b, json_object **ret);
int metric_batch_from_json(json_object *o, struct metric_batch *ret);

/* M's share of a form-encoded PutMetricData body, never less than the truth: its texts as
 * percent-encoded, its parameter names as long as their member numbers can make them. */
size_t metric_request_cost(const struct metric *m);

/* Cuts B into pieces, in order, each of which is one PutMetricData request: at most
 * METRIC_MAX_PER_REQUEST datums and METRIC_SPLIT_BYTES by metric_request_cost(). *ret holds
 * *ret_n batches with B's namespace (free each with metric_batch_free(), the array with free()). */
int metric_batch_split(const struct metric_batch *b, struct metric_batch **ret, size_t *ret_n);

#endif
