/* metric: the one shape of a metric from recipe to CloudWatch: checks on what a batch takes,
 * its JSON (events, run records, the spool), CloudWatch's units and the cut into requests. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/metric.h"

#define NOW_MS 1800000000000LL   /* 2027-01-15 */

static void make_batch(struct metric_batch *b, const char *name, size_t n, int64_t ts)
{
        struct metric_dim dims[] = { { "InstanceId", "i-0123456789abcdef0" }, { "Recipe", "ebs_snapshots" } };
        char nm[64];

        assert_int_equal(metric_batch_set_namespace(b, "OpsAgent"), 0);
        for (size_t i = 0; i < n; i++) {
                snprintf(nm, sizeof(nm), "%s-%zu", name, i);
                assert_int_equal(metric_batch_add(b, nm, "Count", (double)i + 0.5, ts + (int64_t)i, dims, 2), 0);
        }
}


static void test_batch_rejects_nan_inf_and_limits(void **state)
{
        struct metric_batch b = METRIC_BATCH_INIT;
        struct metric_dim dims[METRIC_MAX_DIMS + 1];
        char longname[METRIC_NAME_MAX + 2];

        for (size_t i = 0; i < METRIC_MAX_DIMS + 1; i++)
                dims[i] = (struct metric_dim){ "d", "v" };
        memset(longname, 'x', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        assert_int_equal(metric_batch_add(&b, "m", "Count", NAN, 0, NULL, 0), -EINVAL);
        assert_int_equal(metric_batch_add(&b, "m", "Count", INFINITY, 0, NULL, 0), -EINVAL);
        assert_int_equal(metric_batch_add(&b, "m", "Count", -INFINITY, 0, NULL, 0), -EINVAL);
        assert_int_equal(metric_batch_add(&b, "", "Count", 1, 0, NULL, 0), -EINVAL);
        assert_int_equal(metric_batch_add(&b, longname, "Count", 1, 0, NULL, 0), -EINVAL);
        assert_int_equal(metric_batch_add(&b, "m", "Count", 1, 0, dims, METRIC_MAX_DIMS + 1), -EINVAL);
        assert_int_equal(b.n, 0);
        longname[METRIC_NAME_MAX] = '\0';
        assert_int_equal(metric_batch_add(&b, longname, "Count", 1, 0, dims, METRIC_MAX_DIMS), 0);
        assert_int_equal(b.n, 1);
        metric_batch_free(&b);
}

static void test_batch_json_round_trip(void **state)
{
        struct metric_batch a = METRIC_BATCH_INIT, b = METRIC_BATCH_INIT;
        json_object *o = NULL;

        make_batch(&a, "rt", 3, NOW_MS);
        assert_int_equal(metric_batch_add(&a, "tiny", "Percent", 0.1 + 0.2, NOW_MS, NULL, 0), 0);
        assert_int_equal(metric_batch_to_json(&a, &o), 0);
        assert_int_equal(metric_batch_from_json(o, &b), 0);
        assert_string_equal(b.namespace_, "OpsAgent");
        assert_int_equal(b.n, 4);
        for (size_t i = 0; i < 4; i++) {
                assert_string_equal(a.items[i].name, b.items[i].name);
                assert_string_equal(a.items[i].unit, b.items[i].unit);
                assert_true(a.items[i].value == b.items[i].value);
                assert_int_equal(a.items[i].timestamp_ms, b.items[i].timestamp_ms);
                assert_int_equal(a.items[i].n_dims, b.items[i].n_dims);
        }
        assert_string_equal(b.items[0].dims[1].value, "ebs_snapshots");
        json_object_put(o);
        metric_batch_free(&a);
        metric_batch_free(&b);
}

static void test_batch_from_json_rejects_bad_shapes(void **state)
{
        const char *bad[] = {
                "[]",
                "{\"namespace\":\"N\"}",
                "{\"namespace\":\"N\",\"metrics\":[{\"name\":\"a\",\"unit\":\"Count\",\"value\":\"x\",\"timestamp_ms\":1,\"dimensions\":[]}]}",
                "{\"namespace\":\"N\",\"metrics\":[{\"name\":\"a\",\"unit\":\"Count\",\"value\":1,\"timestamp_ms\":1,\"dimensions\":[[\"only\"]]}]}",
                "{\"namespace\":\"N\",\"metrics\":[{\"name\":\"a\",\"unit\":\"Count\",\"value\":NaN,\"timestamp_ms\":1,\"dimensions\":[]}]}",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct metric_batch b = METRIC_BATCH_INIT;
                json_object *o = json_tokener_parse(bad[i]);

                assert_int_equal(metric_batch_from_json(o, &b), -EBADMSG);
                assert_int_equal(b.n, 0);
                json_object_put(o);
        }
}

static void test_units(void **state)
{
        assert_true(metric_unit_is_valid("Count"));
        assert_true(metric_unit_is_valid("Bytes/Second"));
        assert_true(metric_unit_is_valid("None"));
        assert_false(metric_unit_is_valid("count"));
        assert_false(metric_unit_is_valid(""));
        assert_false(metric_unit_is_valid(NULL));
}

/* A run record's metric without dimensions is written as before this model: no "dimensions"
 * key; a spool record written before it ("timestamp_ms") still reads. */
static void test_record_shape_and_legacy_spool_key(void **state)
{
        struct metric_batch b = METRIC_BATCH_INIT;
        json_object *o = NULL, *v;

        assert_int_equal(metric_batch_add(&b, "SnapshotsCreated", "Count", 3, NOW_MS, NULL, 0), 0);
        assert_int_equal(metric_batch_metrics_to_json(&b, &o), 0);
        assert_false(json_object_object_get_ex(json_object_array_get_idx(o, 0), "dimensions", &v));
        assert_true(json_object_object_get_ex(json_object_array_get_idx(o, 0), "timestamp", &v));
        assert_int_equal(json_object_get_int64(v), NOW_MS);
        json_object_put(o);
        metric_batch_free(&b);
        o = json_tokener_parse("{\"namespace\":\"N\",\"metrics\":[{\"name\":\"a\",\"unit\":\"Count\",\"value\":1,"
                               "\"timestamp_ms\":5,\"dimensions\":[[\"k\",\"v\"]]}]}");
        assert_int_equal(metric_batch_from_json(o, &b), 0);
        assert_int_equal(b.items[0].timestamp_ms, 5);
        assert_string_equal(b.items[0].dims[0].value, "v");
        json_object_put(o);
        metric_batch_free(&b);
}

static void test_split_at_1000_datums(void **state)
{
        struct metric_batch b = METRIC_BATCH_INIT, *parts = NULL;
        size_t n = 0;

        assert_int_equal(metric_batch_set_namespace(&b, "OpsAgent"), 0);
        for (int i = 0; i < 2500; i++)
                assert_int_equal(metric_batch_add(&b, "M", "Count", i, NOW_MS, NULL, 0), 0);
        assert_int_equal(metric_batch_split(&b, &parts, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(parts[0].n, 1000);
        assert_int_equal(parts[1].n, 1000);
        assert_int_equal(parts[2].n, 500);
        assert_true(parts[1].items[0].value == 1000);
        assert_true(parts[2].items[499].value == 2499);
        assert_string_equal(parts[2].namespace_, "OpsAgent");
        for (size_t i = 0; i < n; i++)
                metric_batch_free(&parts[i]);
        free(parts);
        metric_batch_free(&b);
}

/* Datums with 30 long dimensions: requests are cut by size, well before 1000 datums. */
static void test_split_by_request_size(void **state)
{
        struct metric_batch b = METRIC_BATCH_INIT, *parts = NULL;
        struct metric_dim dims[METRIC_MAX_DIMS];
        char names[METRIC_MAX_DIMS][16], value[201];
        size_t n = 0, total = 0;

        memset(value, 'v', 200);
        value[200] = '\0';
        for (int i = 0; i < METRIC_MAX_DIMS; i++) {
                snprintf(names[i], sizeof(names[i]), "dim%d", i);
                dims[i] = (struct metric_dim){ names[i], value };
        }
        assert_int_equal(metric_batch_set_namespace(&b, "OpsAgent"), 0);
        for (int i = 0; i < 600; i++)
                assert_int_equal(metric_batch_add(&b, "M", "Count", i, NOW_MS, dims, METRIC_MAX_DIMS), 0);
        assert_int_equal(metric_batch_split(&b, &parts, &n), 0);
        assert_true(n > 1);
        for (size_t i = 0; i < n; i++) {
                size_t bytes = 0;

                for (size_t k = 0; k < parts[i].n; k++) {
                        bytes += strlen("&MetricData.member.1000.MetricName=M&MetricData.member.1000.Value=600"
                                        "&MetricData.member.1000.Unit=Count&MetricData.member.1000.Timestamp=2027-01-15T08%3A00%3A00Z");
                        for (int d = 0; d < METRIC_MAX_DIMS; d++)
                                bytes += strlen("&MetricData.member.1000.Dimensions.member.30.Name=dim29"
                                                "&MetricData.member.1000.Dimensions.member.30.Value=") + 200;
                }
                assert_true(bytes < 1000 * 1000);
                total += parts[i].n;
                metric_batch_free(&parts[i]);
        }
        assert_int_equal(total, 600);
        free(parts);
        metric_batch_free(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_batch_rejects_nan_inf_and_limits),
                cmocka_unit_test(test_batch_json_round_trip),
                cmocka_unit_test(test_batch_from_json_rejects_bad_shapes),
                cmocka_unit_test(test_record_shape_and_legacy_spool_key),
                cmocka_unit_test(test_units),
                cmocka_unit_test(test_split_at_1000_datums),
                cmocka_unit_test(test_split_by_request_size),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
