/* logs_config: the cloudwatch_logs section read from the merged attributes; every mistake is
 * named by the file it came from and its key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "logs/logs_config.h"

#define RUNS "/var/lib/opsagent/logs/runs/runs.log"

static struct attrs *attrs_of(const char *json)
{
        struct error err = ERROR_INIT;
        struct attrs *a = NULL;
        json_object *o = json_tokener_parse(json);

        assert_non_null(o);
        assert_int_equal(attrs_new(&a), 0);
        assert_int_equal(attrs_merge(a, "", o, "/etc/opsagent/stack.json", &err), 0);
        json_object_put(o);
        return a;
}

static int parse(const char *json, struct logs_config *c, struct error *err)
{
        struct attrs *a = attrs_of(json);
        int r = logs_config_from_attrs(a, RUNS, c, err);

        attrs_free(a);
        return r;
}

static void test_defaults(void **state)
{
        struct error err = ERROR_INIT;
        struct logs_config c;

        (void)state;
        assert_int_equal(parse("{\"cloudwatch_logs\": {\"sources\": {\"app\": {\"path\": \"/var/log/app/*.log\", "
                               "\"log_group\": \"/opsagent/app\"}}}}", &c, &err), 0);
        assert_int_equal(c.flush_usec, 2000000);
        assert_int_equal(c.buffer_max_bytes, 100ULL << 20);
        assert_int_equal(c.n_src, 1);
        assert_string_equal(c.src[0].stream, "{instance_id}");
        assert_false(c.src[0].has_start);
        assert_int_equal(c.src[0].retention_days, 0);
        logs_config_free(&c);
}

static void test_everything_set(void **state)
{
        struct error err = ERROR_INIT;
        struct logs_config c;

        (void)state;
        assert_int_equal(parse("{\"cloudwatch_logs\": {\"flush_seconds\": 0.2, \"buffer_max_bytes\": 1048576, "
                               "\"sources\": {\"app\": {\"path\": \"/var/log/app/*.log\", \"log_group\": \"/g\", "
                               "\"log_stream\": \"{hostname}-{file}\", \"multiline_start\": \"^[^ \\\\t]\", "
                               "\"timestamp\": \"%Y-%m-%d %H:%M:%S\", \"retention_days\": 30, \"encoding\": \"utf-8\"},"
                               "\"nginx\": {\"journal\": {\"units\": [\"nginx.service\"], \"priority\": \"warning\"}, "
                               "\"log_group\": \"/g2\"}}}, \"opsagent\": {\"logs\": {\"run_log_group\": \"/runs\"}}}",
                               &c, &err), 0);
        assert_int_equal(c.flush_usec, 200000);
        assert_int_equal(c.n_src, 3);
        assert_true(c.src[0].has_start);
        assert_int_equal(c.src[0].retention_days, 30);
        assert_true(c.src[1].journal);
        assert_int_equal(c.src[1].priority, 4);
        assert_string_equal(c.src[1].units[0], "nginx.service");
        assert_string_equal(c.src[2].name, LOGS_RUNS_SOURCE);
        assert_string_equal(c.src[2].path, RUNS);
        assert_string_equal(c.src[2].group, "/runs");
        assert_true(c.src[2].in_state);
        logs_config_free(&c);
}

/* JSON and the file:key the error must name. */
static void expect_error(const char *json, const char *key)
{
        struct error err = ERROR_INIT;
        struct logs_config c;
        char want[256];

        assert_int_equal(parse(json, &c, &err), -EINVAL);
        snprintf(want, sizeof(want), "/etc/opsagent/stack.json: %s: ", key);
        if (!strstr(err.msg, want))
                fail_msg("\"%s\" does not name \"%s\"", err.msg, want);
}

static void test_mistakes_name_the_file_and_key(void **state)
{
        (void)state;
        expect_error("{\"cloudwatch_logs\": {\"flush_seconds\": 0}}", "cloudwatch_logs.flush_seconds");
        expect_error("{\"cloudwatch_logs\": {\"flush_seconds\": \"5\"}}", "cloudwatch_logs.flush_seconds");
        expect_error("{\"cloudwatch_logs\": {\"buffer_max_bytes\": 10}}", "cloudwatch_logs.buffer_max_bytes");
        expect_error("{\"cloudwatch_logs\": {\"flush_secs\": 1}}", "cloudwatch_logs.flush_secs");
        expect_error("{\"cloudwatch_logs\": {\"sources\": {\"a\": {\"path\": \"/x/*.log\"}}}}",
                     "cloudwatch_logs.sources.a.log_group");
        expect_error("{\"cloudwatch_logs\": {\"sources\": {\"a\": {\"log_group\": \"/g\"}}}}",
                     "cloudwatch_logs.sources.a");
        expect_error("{\"cloudwatch_logs\": {\"sources\": {\"a\": {\"path\": \"x.log\", \"log_group\": \"/g\"}}}}",
                     "cloudwatch_logs.sources.a.path");
        expect_error("{\"cloudwatch_logs\": {\"sources\": {\"a\": {\"path\": \"/x/*.log\", \"log_group\": \"/g\", "
                     "\"multiline_start\": \"([\"}}}}", "cloudwatch_logs.sources.a.multiline_start");
        expect_error("{\"cloudwatch_logs\": {\"sources\": {\"a\": {\"path\": \"/x/*.log\", \"log_group\": \"/g\", "
                     "\"retention_days\": 2}}}}", "cloudwatch_logs.sources.a.retention_days");
        expect_error("{\"cloudwatch_logs\": {\"sources\": {\"a\": {\"path\": \"/x/*.log\", \"log_group\": \"/g\", "
                     "\"encoding\": \"latin-1\"}}}}", "cloudwatch_logs.sources.a.encoding");
        expect_error("{\"cloudwatch_logs\": {\"sources\": {\"a\": {\"path\": \"/x/*.log\", \"log_group\": \"/g\", "
                     "\"log_stream\": \"{nope}\"}}}}", "cloudwatch_logs.sources.a.log_stream");
        expect_error("{\"cloudwatch_logs\": {\"sources\": {\"a\": {\"journal\": {\"priority\": \"loud\"}, "
                     "\"log_group\": \"/g\"}}}}", "cloudwatch_logs.sources.a.journal.priority");
        expect_error("{\"cloudwatch_logs\": {\"sources\": {\"a\": {\"path\": \"/x/*.log\", \"journal\": {}, "
                     "\"log_group\": \"/g\"}}}}", "cloudwatch_logs.sources.a");
        expect_error("{\"cloudwatch_logs\": {\"sources\": {\"a\": {\"path\": \"/x/*/a.log\", \"log_group\": \"/g\"}}}}",
                     "cloudwatch_logs.sources.a.path");
        expect_error("{\"opsagent\": {\"logs\": {\"run_log_group\": 3}}}", "opsagent.logs.run_log_group");
}

static void test_stream_names(void **state)
{
        struct error err = ERROR_INIT;
        char *s = NULL;

        (void)state;
        assert_int_equal(logs_stream_name("{instance_id}", "i-1", "h", "r", "f", &s, &err), 0);
        assert_string_equal(s, "i-1");
        free(s);
        assert_int_equal(logs_stream_name("{hostname}/{recipe}/{file}", "i-1", "web1", "app", "a.log", &s, &err), 0);
        assert_string_equal(s, "web1/app/a.log");
        free(s);
        assert_int_equal(logs_stream_name("a:b*c", NULL, NULL, NULL, NULL, &s, &err), 0);
        assert_string_equal(s, "a_b_c");        /* CloudWatch refuses ':' and '*' */
        free(s);
        assert_int_equal(logs_stream_name("{file}", NULL, NULL, NULL, NULL, &s, &err), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_everything_set),
                cmocka_unit_test(test_mistakes_name_the_file_and_key),
                cmocka_unit_test(test_stream_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
