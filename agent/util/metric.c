#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "metric.h"

static const char *const standard_units[] = {
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
        "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
        "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
        "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
        "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
};

bool metric_unit_is_valid(const char *unit)
{
        if (!unit)
                return false;
        for (size_t i = 0; i < sizeof(standard_units) / sizeof(standard_units[0]); i++)
                if (strcmp(unit, standard_units[i]) == 0)
                        return true;
        return false;
}

static bool name_ok(const char *s)
{
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        return n > 0 && n <= METRIC_NAME_MAX;
}

static void metric_clear(struct metric *m)
{
        free(m->name);
        free(m->unit);
        for (size_t i = 0; i < m->n_dims; i++) {
                free(m->dims[i].name);
                free(m->dims[i].value);
        }
        memset(m, 0, sizeof(*m));
}

int metric_batch_set_namespace(struct metric_batch *b, const char *namespace_)
{
        char *copy;

        if (!name_ok(namespace_))
                return -EINVAL;
        copy = strdup(namespace_);
        if (!copy)
                return -ENOMEM;
        free(b->namespace_);
        b->namespace_ = copy;
        return 0;
}

int metric_batch_add(struct metric_batch *b, const char *name, const char *unit, double value,
                     int64_t timestamp_ms, const struct metric_dim *dims, size_t n_dims)
{
        struct metric m = { 0 };

        if (!name_ok(name) || !isfinite(value) || n_dims > METRIC_MAX_DIMS)
                return -EINVAL;
        if (unit && strlen(unit) > METRIC_UNIT_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n_dims; i++)
                if (!name_ok(dims[i].name) || !name_ok(dims[i].value))
                        return -EINVAL;
        if (b->n == b->alloc) {
                size_t na = b->alloc ? b->alloc * 2 : 16;
                struct metric *p = reallocarray(b->items, na, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                b->items = p;
                b->alloc = na;
        }
        m.name = strdup(name);
        m.unit = strdup(unit ? unit : "None");
        if (!m.name || !m.unit)
                goto oom;
        m.value = value;
        m.timestamp_ms = timestamp_ms;
        for (size_t i = 0; i < n_dims; i++) {
                m.dims[i].name = strdup(dims[i].name);
                m.dims[i].value = strdup(dims[i].value);
                m.n_dims = i + 1;
                if (!m.dims[i].name || !m.dims[i].value)
                        goto oom;
        }
        b->items[b->n++] = m;
        return 0;
oom:
        metric_clear(&m);
        return -ENOMEM;
}

int metric_batch_add_metric(struct metric_batch *b, const struct metric *m)
{
        return metric_batch_add(b, m->name, m->unit, m->value, m->timestamp_ms, m->dims, m->n_dims);
}

void metric_batch_remove(struct metric_batch *b, size_t i)
{
        if (i >= b->n)
                return;
        metric_clear(&b->items[i]);
        memmove(&b->items[i], &b->items[i + 1], (b->n - i - 1) * sizeof(b->items[0]));
        b->n--;
}

void metric_batch_free(struct metric_batch *b)
{
        if (!b)
                return;
        for (size_t i = 0; i < b->n; i++)
                metric_clear(&b->items[i]);
        free(b->items);
        free(b->namespace_);
        memset(b, 0, sizeof(*b));
}

/* ---- JSON ---- */

int metric_to_json(const struct metric *m, json_object **ret)
{
        json_object *o = json_object_new_object(), *dims = NULL;
        int r = -ENOMEM;

        if (!o)
                return -ENOMEM;
        if (json_add(o, "name", json_object_new_string(m->name)) < 0 ||
            json_add(o, "value", json_object_new_double(m->value)) < 0 ||
            json_add(o, "unit", json_object_new_string(m->unit)) < 0 ||
            json_add(o, "timestamp", json_object_new_int64(m->timestamp_ms)) < 0)
                goto out;
        if (m->n_dims > 0) {
                dims = json_object_new_array();
                if (!dims)
                        goto out;
                for (size_t i = 0; i < m->n_dims; i++) {
                        json_object *pair = json_object_new_array();

                        if (json_push(dims, pair) < 0 ||
                            json_push(pair, json_object_new_string(m->dims[i].name)) < 0 ||
                            json_push(pair, json_object_new_string(m->dims[i].value)) < 0)
                                goto out;
                }
                r = json_add(o, "dimensions", dims);
                dims = NULL;
                if (r < 0)
                        goto out;
        }
        *ret = o;
        o = NULL;
        r = 0;
out:
        json_object_put(dims);
        json_object_put(o);
        return r;
}

int metric_batch_add_json(struct metric_batch *b, json_object *m)
{
        struct metric_dim d[METRIC_MAX_DIMS];
        json_object *v, *ts, *dims = NULL;
        const char *name, *unit;
        size_t nd = 0;
        int r;

        if (!json_object_is_type(m, json_type_object))
                return -EBADMSG;
        name = json_get_string(m, "name");
        unit = json_get_string(m, "unit");
        if (!name || !unit || !json_object_object_get_ex(m, "value", &v) ||
            !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
                return -EBADMSG;
        if (!json_object_object_get_ex(m, "timestamp", &ts) && !json_object_object_get_ex(m, "timestamp_ms", &ts))
                return -EBADMSG;
        if (!json_object_is_type(ts, json_type_int))
                return -EBADMSG;
        if (json_object_object_get_ex(m, "dimensions", &dims)) {
                if (!json_object_is_type(dims, json_type_array))
                        return -EBADMSG;
                nd = json_object_array_length(dims);
                if (nd > METRIC_MAX_DIMS)
                        return -EBADMSG;
        }
        for (size_t k = 0; k < nd; k++) {
                json_object *pair = json_object_array_get_idx(dims, k);

                if (!json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2 ||
                    !json_object_is_type(json_object_array_get_idx(pair, 0), json_type_string) ||
                    !json_object_is_type(json_object_array_get_idx(pair, 1), json_type_string))
                        return -EBADMSG;
                d[k].name = (char *)json_object_get_string(json_object_array_get_idx(pair, 0));
                d[k].value = (char *)json_object_get_string(json_object_array_get_idx(pair, 1));
        }
        r = metric_batch_add(b, name, unit, json_object_get_double(v), json_object_get_int64(ts), d, nd);
        return r == -EINVAL ? -EBADMSG : r;
}

int metric_batch_metrics_to_json(const struct metric_batch *b, json_object **ret)
{
        json_object *arr = json_object_new_array_ext((int)b->n);
        int r = 0;

        if (!arr)
                return -ENOMEM;
        for (size_t i = 0; i < b->n && r >= 0; i++) {
                json_object *m = NULL;

                r = metric_to_json(&b->items[i], &m);
                if (r >= 0)
                        r = json_push(arr, m);
        }
        if (r < 0) {
                json_object_put(arr);
                return r;
        }
        *ret = arr;
        return 0;
}

int metric_batch_metrics_from_json(json_object *arr, struct metric_batch *ret)
{
        struct metric_batch b = METRIC_BATCH_INIT;
        int r = 0;

        if (!json_object_is_type(arr, json_type_array))
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(arr) && r >= 0; i++)
                r = metric_batch_add_json(&b, json_object_array_get_idx(arr, i));
        if (r < 0) {
                metric_batch_free(&b);
                return r;
        }
        *ret = b;
        return 0;
}

int metric_batch_to_json(const struct metric_batch *b, json_object **ret)
{
        json_object *o = json_object_new_object(), *arr = NULL;
        int r = -ENOMEM;

        if (!o)
                return -ENOMEM;
        if (json_add(o, "namespace", json_object_new_string(b->namespace_ ? b->namespace_ : "")) < 0)
                goto out;
        r = metric_batch_metrics_to_json(b, &arr);
        if (r >= 0)
                r = json_add(o, "metrics", arr);
        if (r < 0)
                goto out;
        *ret = o;
        o = NULL;
out:
        json_object_put(o);
        return r;
}

int metric_batch_from_json(json_object *o, struct metric_batch *ret)
{
        struct metric_batch b = METRIC_BATCH_INIT;
        json_object *arr;
        const char *ns;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        ns = json_get_string(o, "namespace");
        if (!ns || !json_object_object_get_ex(o, "metrics", &arr))
                return -EBADMSG;
        r = metric_batch_metrics_from_json(arr, &b);
        if (r < 0)
                return r;
        r = metric_batch_set_namespace(&b, ns);
        if (r < 0) {
                metric_batch_free(&b);
                return r == -EINVAL ? -EBADMSG : r;
        }
        *ret = b;
        return 0;
}

/* ---- requests ---- */

/* Bytes of S once form-encoded: RFC 3986's unreserved characters stay, every other byte
 * becomes %XX (as the Query client encodes it). */
static size_t encoded_length(const char *s)
{
        size_t n = 0;

        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                  c == '-' || c == '_' || c == '.' || c == '~';

                n += unreserved ? 1 : 3;
        }
        return n;
}

size_t metric_request_cost(const struct metric *m)
{
        /* Member numbers at their longest: datum 1000, dimension 30. The value is at most 24
         * characters of %.17g, one of them a '+' (%2B); the timestamp is
         * "2027-01-15T08%3A00%3A00.000Z". */
        size_t c = strlen("&MetricData.member.1000.MetricName=") + encoded_length(m->name) +
                   strlen("&MetricData.member.1000.Value=") + 26 + strlen("&MetricData.member.1000.Unit=") +
                   encoded_length(m->unit) + strlen("&MetricData.member.1000.Timestamp=") +
                   strlen("2027-01-15T08%3A00%3A00.000Z");

        for (size_t i = 0; i < m->n_dims; i++)
                c += strlen("&MetricData.member.1000.Dimensions.member.30.Name=") + encoded_length(m->dims[i].name) +
                     strlen("&MetricData.member.1000.Dimensions.member.30.Value=") +
                     encoded_length(m->dims[i].value);
        return c;
}

int metric_batch_split(const struct metric_batch *b, struct metric_batch **ret, size_t *ret_n)
{
        struct metric_batch *out = NULL;
        size_t n = 0, bytes = 0;
        int r = 0;

        for (size_t i = 0; i < b->n; i++) {
                size_t cost = metric_request_cost(&b->items[i]);

                if (n == 0 || out[n - 1].n >= METRIC_MAX_PER_REQUEST || bytes + cost > METRIC_SPLIT_BYTES) {
                        struct metric_batch *p = reallocarray(out, n + 1, sizeof(*out));

                        if (!p) {
                                r = -ENOMEM;
                                break;
                        }
                        out = p;
                        out[n] = (struct metric_batch)METRIC_BATCH_INIT;
                        n++;
                        bytes = 0;
                        if (b->namespace_) {
                                r = metric_batch_set_namespace(&out[n - 1], b->namespace_);
                                if (r < 0)
                                        break;
                        }
                }
                r = metric_batch_add_metric(&out[n - 1], &b->items[i]);
                if (r < 0)
                        break;
                bytes += cost;
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        metric_batch_free(&out[i]);
                free(out);
                return r;
        }
        *ret = out;
        *ret_n = n;
        return 0;
}
