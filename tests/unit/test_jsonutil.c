/* jsonutil: strict parsing with file:line:col in every error. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/jsonutil.h"

static void expect_error(const char *text, const char *msg)
{
        json_object *o = NULL;
        struct error err = ERROR_INIT;

        assert_int_equal(json_parse_text(text, "/etc/opsagent/stack.json", &o, &err), -EINVAL);
        assert_null(o);
        if (!strstr(err.msg, msg))
                fail_msg("got \"%s\", expected it to contain \"%s\"", err.msg, msg);
}

static void test_line_and_column(void **state)
{
        expect_error("{\n  \"a\": 1,\n  \"b\": x\n}", "/etc/opsagent/stack.json:3:8: invalid JSON");
}

static void test_truncated(void **state)
{
        expect_error("{\"a\": [1, 2", "unexpected end of file");
}

static void test_trailing_garbage(void **state)
{
        expect_error("{\"a\": 1} }", "stack.json:1:10: invalid JSON");
}

/* Strict mode: no trailing commas. */
static void test_strict(void **state)
{
        expect_error("{\"a\": 1,}", "stack.json:1:9: invalid JSON");
}

static void test_path_lookup(void **state)
{
        json_object *o = NULL;

        assert_int_equal(json_parse_text("{\"a\": {\"b\": {\"c\": 3}}, \"x\": 1}", "t", &o, NULL), 0);
        assert_int_equal(json_object_get_int(json_get_path(o, "a.b.c")), 3);
        assert_null(json_get_path(o, "a.b.d"));
        assert_null(json_get_path(o, "x.y"));
        assert_ptr_equal(json_get_path(o, ""), o);
        assert_string_equal(opsagent_json_type_label(json_get_path(o, "a")), "object");
        json_object_put(o);
}

/* Nesting deeper than JSON_MAX_DEPTH is an error, not a stack overflow. */
static void test_depth_limit(void **state)
{
        char text[2 * (JSON_MAX_DEPTH + 10) + 1];
        json_object *o = NULL;

        for (int i = 0; i < JSON_MAX_DEPTH + 10; i++) {
                text[i] = '[';
                text[JSON_MAX_DEPTH + 10 + i] = ']';
        }
        text[2 * (JSON_MAX_DEPTH + 10)] = '\0';
        assert_int_equal(json_parse_text(text, "deep", &o, NULL), -EINVAL);
}

static void test_missing_file(void **state)
{
        json_object *o = NULL;
        struct error err = ERROR_INIT;

        assert_int_equal(json_parse_file("/nonexistent/x.json", true, &o, &err), -ENOENT);
        assert_false(error_is_set(&err));
        assert_int_equal(json_parse_file("/nonexistent/x.json", false, &o, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "/nonexistent/x.json: cannot read"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_line_and_column),  cmocka_unit_test(test_truncated),
                cmocka_unit_test(test_trailing_garbage), cmocka_unit_test(test_strict),
                cmocka_unit_test(test_path_lookup),      cmocka_unit_test(test_depth_limit),
                cmocka_unit_test(test_missing_file),
        };
        return cmocka_run_group_tests_name("jsonutil", tests, NULL, NULL);
}
