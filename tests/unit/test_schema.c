/* schema: bad-input messages name the file, the key, the expected and the found type. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/attrs.h"
#include "config/schema.h"
#include "util/jsonutil.h"

static const char schema_text[] =
        "{ \"type\": \"object\", \"properties\": {"
        " \"keep\": { \"type\": \"integer\", \"minimum\": 1 },"
        " \"max_age_days\": { \"type\": [\"integer\", \"null\"] },"
        " \"mode\": { \"type\": \"string\", \"enum\": [\"per-volume\", \"multi-volume\"] },"
        " \"package_blacklist\": { \"type\": \"array\", \"items\": { \"type\": \"string\" } },"
        " \"aws_secret\": { \"type\": [\"string\", \"null\"] },"
        " \"olddir\": { \"type\": \"string\", \"format\": \"path\" },"
        " \"paths\": { \"type\": [\"array\", \"string\"], \"format\": \"path\","
        "             \"items\": { \"type\": \"string\", \"format\": \"path\" } },"
        " \"secret_path\": { \"type\": \"string\", \"format\": \"path\" },"
        " \"command\": { \"type\": \"array\", \"items\": { \"type\": \"string\" },"
        "               \"prefixItems\": [ { \"type\": \"string\", \"format\": \"path\" } ] },"
        " \"sets\": { \"type\": \"object\", \"additionalProperties\": {"
        "     \"type\": \"object\", \"properties\": { \"rotate\": { \"type\": \"integer\" } } } }"
        "} }";

struct fixture {
        struct attrs *a;
        json_object *schema;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        json_object *d = NULL;

        assert_int_equal(attrs_new(&f->a), 0);
        assert_int_equal(json_parse_text(schema_text, "schema", &f->schema, NULL), 0);
        assert_int_equal(schema_check(f->schema, "schema", NULL), 0);
        assert_int_equal(json_parse_text("{\"keep\": 15, \"max_age_days\": null, \"mode\": \"per-volume\","
                                         " \"package_blacklist\": [], \"sets\": {}}",
                                         "d", &d, NULL),
                         0);
        assert_int_equal(attrs_merge(f->a, "r", d, "defaults of recipe r", NULL), 0);
        json_object_put(d);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        attrs_free(f->a);
        json_object_put(f->schema);
        free(f);
        return 0;
}

static int validate_with(struct fixture *f, const char *layer, struct error *err)
{
        json_object *o = NULL;

        assert_int_equal(json_parse_text(layer, "layer", &o, NULL), 0);
        assert_int_equal(attrs_merge(f->a, "", o, "/etc/opsagent/stack.json", NULL), 0);
        json_object_put(o);
        return schema_validate(f->a, "r", f->schema, err);
}

static void test_defaults_are_valid(void **state)
{
        struct fixture *f = *state;

        assert_int_equal(schema_validate(f->a, "r", f->schema, NULL), 0);
}

static void test_wrong_type_names_file_key_and_types(void **state)
{
        struct error err = ERROR_INIT;

        assert_int_equal(validate_with(*state, "{\"r\": {\"keep\": \"15\"}}", &err), -EINVAL);
        assert_string_equal(err.msg, "/etc/opsagent/stack.json: r.keep: expected integer, found string \"15\"");
}

static void test_string_for_a_list(void **state)
{
        struct error err = ERROR_INIT;

        assert_int_equal(validate_with(*state, "{\"r\": {\"package_blacklist\": \"vim\"}}", &err), -EINVAL);
        assert_string_equal(err.msg,
                            "/etc/opsagent/stack.json: r.package_blacklist: expected array, found string \"vim\"");
}

static void test_array_items_are_checked(void **state)
{
        struct error err = ERROR_INIT;

        assert_int_equal(validate_with(*state, "{\"r\": {\"package_blacklist\": [\"a\", 3]}}", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "r.package_blacklist[1]: expected string, found integer 3"));
}

static void test_null_allowed_when_declared(void **state)
{
        assert_int_equal(validate_with(*state, "{\"r\": {\"max_age_days\": 30}}", NULL), 0);
        assert_int_equal(validate_with(*state, "{\"r\": {\"max_age_days\": null}}", NULL), 0);
}

static void test_unknown_key_gets_did_you_mean(void **state)
{
        struct error err = ERROR_INIT;

        assert_int_equal(validate_with(*state, "{\"r\": {\"package_blacklst\": []}}", &err), -EINVAL);
        assert_string_equal(err.msg,
                            "/etc/opsagent/stack.json: unknown key r.package_blacklst (did you mean r.package_blacklist?)");
}

static void test_unknown_key_without_near_miss(void **state)
{
        struct error err = ERROR_INIT;

        assert_int_equal(validate_with(*state, "{\"r\": {\"zzzzzz\": 1}}", &err), -EINVAL);
        assert_string_equal(err.msg, "/etc/opsagent/stack.json: unknown key r.zzzzzz");
}

static void test_enum_and_minimum(void **state)
{
        struct error err = ERROR_INIT;

        assert_int_equal(validate_with(*state, "{\"r\": {\"mode\": \"sometimes\"}}", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "r.mode: must be one of \"per-volume\", \"multi-volume\""));
        error_clear(&err);
        assert_int_equal(validate_with(*state, "{\"r\": {\"mode\": \"per-volume\", \"keep\": 0}}", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "r.keep: must be at least 1"));
}

/* A secret's value never appears in a type error. */
static void test_secret_value_not_echoed(void **state)
{
        struct error err = ERROR_INIT;

        assert_int_equal(validate_with(*state, "{\"r\": {\"aws_secret\": 123456789}}", &err), -EINVAL);
        assert_null(strstr(err.msg, "123456789"));
        assert_non_null(strstr(err.msg, "r.aws_secret: expected string or null, found integer"));
}

/* Maps (additionalProperties with a schema) validate each entry. */
static void test_map_entries_validated(void **state)
{
        struct error err = ERROR_INIT;

        assert_int_equal(validate_with(*state, "{\"r\": {\"sets\": {\"web\": {\"rotate\": 4}}}}", NULL), 0);
        assert_int_equal(validate_with(*state, "{\"r\": {\"sets\": {\"web\": {\"rotate\": \"x\"}}}}", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "r.sets.web.rotate: expected integer"));
}

static void test_did_you_mean(void **state)
{
        const char *c[] = { "ebs_snapshots", "logrotate", "zodb_pack", "apt" };

        assert_string_equal(did_you_mean("ebs_snapshot", c, 4), "ebs_snapshots");
        assert_string_equal(did_you_mean("logrotat", c, 4), "logrotate");
        assert_null(did_you_mean("nginx", c, 4));
        assert_null(did_you_mean("apt", c, 4)); /* exact is not a near miss */
        assert_int_equal(edit_distance("kitten", "sitting", 5), 3);
}

static void test_unsupported_schema_keyword_refused(void **state)
{
        json_object *s = NULL;
        struct error err = ERROR_INIT;

        assert_int_equal(json_parse_text("{\"type\": \"object\", \"patternProperties\": {}}", "s", &s, NULL), 0);
        assert_int_equal(schema_check(s, "plugin x", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "patternProperties"));
        json_object_put(s);
}

/* validate_with() on attributes that hold only the defaults. */
static int validate_fresh(struct fixture *f, const char *layer, struct error *err)
{
        attrs_free(f->a);
        f->a = NULL;
        assert_int_equal(attrs_new(&f->a), 0);
        return validate_with(f, layer, err);
}

/* "format": "path": "..", NUL and empty components are refused wherever the schema says so,
 * with the file, the key, the value and why. */
static void test_format_path(void **state)
{
        struct error err = ERROR_INIT;

        assert_int_equal(validate_fresh(*state, "{\"r\": {\"olddir\": \"old\", \"paths\": [\"/var/log/*.log\"],"
                                               " \"command\": [\"/usr/bin/kill\", \"-HUP\", \"http://x//y/..\"]}}", NULL),
                         0);
        assert_int_equal(validate_fresh(*state, "{\"r\": {\"olddir\": \"../../etc\"}}", &err), -EINVAL);
        assert_string_equal(err.msg, "/etc/opsagent/stack.json: r.olddir: the path \"../../etc\" has a \"..\" component; "
                                     "write it out plainly (a path is used as it is written, never normalized)");
        error_clear(&err);
        assert_int_equal(validate_fresh(*state, "{\"r\": {\"paths\": [\"/a.log\", \"/../../../../tmp/victim/root1.log.1\"]}}",
                                       &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "r.paths[1]: the path \"/../../../../tmp/victim/root1.log.1\" has a \"..\""));
        assert_int_equal(strncmp(err.msg, "/etc/opsagent/stack.json: ", 26), 0); /* an entry names its file */
        error_clear(&err);
        /* json-c keeps \u0000 inside the string: the length, not strlen, decides */
        assert_int_equal(validate_fresh(*state, "{\"r\": {\"paths\": \"/srv/x\\u0000/../../etc/shadow\"}}", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "r.paths: the path \"/srv/x\\u0000/../../etc/shadow\" contains a NUL byte"));
        error_clear(&err);
        assert_int_equal(validate_fresh(*state, "{\"r\": {\"paths\": [\"/var//log/x\"]}}", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "has an empty component"));
        error_clear(&err);
        assert_int_equal(validate_fresh(*state, "{\"r\": {\"olddir\": \"\"}}", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "r.olddir: the path \"\" is empty"));
        error_clear(&err);
        /* prefixItems: the command's first word is a path, its arguments are not */
        assert_int_equal(validate_fresh(*state, "{\"r\": {\"command\": [\"/srv/../bin/sh\", \"-c\"]}}", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "r.command[0]: the path \"/srv/../bin/sh\" has a \"..\" component"));
        error_clear(&err);
        assert_int_equal(validate_fresh(*state, "{\"r\": {\"command\": [7]}}", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "r.command[0]: expected string, found integer 7"));
        error_clear(&err);
        /* a secret-looking key's value is not echoed */
        assert_int_equal(validate_fresh(*state, "{\"r\": {\"secret_path\": \"/x/../hunter2\"}}", &err), -EINVAL);
        assert_null(strstr(err.msg, "hunter2"));
        assert_non_null(strstr(err.msg, "(redacted)"));
}

static void test_format_checked_in_the_schema(void **state)
{
        json_object *s = NULL;
        struct error err = ERROR_INIT;

        assert_int_equal(json_parse_text("{\"type\": \"string\", \"format\": \"uri\"}", "s", &s, NULL), 0);
        assert_int_equal(schema_check(s, "plugin x", &err), -EINVAL);
        assert_string_equal(err.msg, "plugin x: unknown \"format\" \"uri\" (known: \"path\")");
        json_object_put(s);
        error_clear(&err);
        assert_int_equal(json_parse_text("{\"type\": \"array\", \"prefixItems\": {}}", "s", &s, NULL), 0);
        assert_int_equal(schema_check(s, "plugin x", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "prefixItems"));
        json_object_put(s);
}

/* Nesting deeper than SCHEMA_MAX_DEPTH is refused, not recursed into. */
static void test_depth_limit(void **state)
{
        struct attrs *a;
        json_object *schema = NULL, *val = NULL;
        char text[4096] = "", stext[8192] = "";
        struct error err = ERROR_INIT;

        for (int i = 0; i < SCHEMA_MAX_DEPTH + 2; i++)
                strcat(text, "{\"a\":");
        strcat(text, "1");
        for (int i = 0; i < SCHEMA_MAX_DEPTH + 2; i++)
                strcat(text, "}");
        for (int i = 0; i < SCHEMA_MAX_DEPTH + 2; i++)
                strcat(stext, "{\"type\":\"object\",\"additionalProperties\":");
        strcat(stext, "{\"type\":\"integer\"}");
        for (int i = 0; i < SCHEMA_MAX_DEPTH + 2; i++)
                strcat(stext, "}");
        assert_int_equal(attrs_new(&a), 0);
        assert_int_equal(json_parse_text(text, "v", &val, NULL), 0);
        assert_int_equal(json_parse_text(stext, "s", &schema, NULL), 0);
        assert_int_equal(attrs_merge(a, "deep", val, "f", NULL), 0);
        assert_int_equal(schema_validate(a, "deep", schema, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "nested too deeply"));
        json_object_put(val);
        json_object_put(schema);
        attrs_free(a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_defaults_are_valid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_type_names_file_key_and_types, setup, teardown),
                cmocka_unit_test_setup_teardown(test_string_for_a_list, setup, teardown),
                cmocka_unit_test_setup_teardown(test_array_items_are_checked, setup, teardown),
                cmocka_unit_test_setup_teardown(test_null_allowed_when_declared, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_key_gets_did_you_mean, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_key_without_near_miss, setup, teardown),
                cmocka_unit_test_setup_teardown(test_enum_and_minimum, setup, teardown),
                cmocka_unit_test_setup_teardown(test_secret_value_not_echoed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_map_entries_validated, setup, teardown),
                cmocka_unit_test_setup_teardown(test_format_path, setup, teardown),
                cmocka_unit_test(test_format_checked_in_the_schema),
                cmocka_unit_test(test_did_you_mean),
                cmocka_unit_test(test_unsupported_schema_keyword_refused),
                cmocka_unit_test(test_depth_limit),
        };
        return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
