/* attrs: precedence, merge rules, origins, the protected instance facts, redaction. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/attrs.h"
#include "util/jsonutil.h"
#include "util/log.h"

static json_object *J(const char *text)
{
        json_object *o = NULL;

        assert_int_equal(json_parse_text(text, "test", &o, NULL), 0);
        return o;
}

static void merge(struct attrs *a, const char *path, const char *text, const char *origin)
{
        json_object *o = J(text);

        assert_int_equal(attrs_merge(a, path, o, origin, NULL), 0);
        json_object_put(o);
}

static int setup(void **state)
{
        struct attrs *a;

        assert_int_equal(attrs_new(&a), 0);
        *state = a;
        return 0;
}

static int teardown(void **state)
{
        attrs_free(*state);
        return 0;
}

/* Later layers win for scalars; objects merge key by key. */
static void test_later_layer_wins_and_objects_merge(void **state)
{
        struct attrs *a = *state;

        merge(a, "ebs_snapshots", "{\"keep\": 15, \"tags\": {\"a\": \"1\"}}", "defaults");
        merge(a, "", "{\"ebs_snapshots\": {\"keep\": 7, \"tags\": {\"b\": \"2\"}}}", "stack.json");
        assert_int_equal(json_object_get_int(attrs_get(a, "ebs_snapshots.keep")), 7);
        assert_string_equal(json_object_get_string(attrs_get(a, "ebs_snapshots.tags.a")), "1");
        assert_string_equal(json_object_get_string(attrs_get(a, "ebs_snapshots.tags.b")), "2");
        assert_string_equal(attrs_origin(a, "ebs_snapshots.keep"), "stack.json");
        assert_string_equal(attrs_origin(a, "ebs_snapshots.tags.a"), "defaults");
        assert_string_equal(attrs_origin(a, "ebs_snapshots.tags.b"), "stack.json");
}

/* Arrays replace: a layer's list is the whole list, not an addition. */
static void test_arrays_replace(void **state)
{
        struct attrs *a = *state;

        merge(a, "", "{\"apt\": {\"package_blacklist\": [\"a\", \"b\"]}}", "stack.json");
        merge(a, "", "{\"apt\": {\"package_blacklist\": [\"c\"]}}", "local.json");
        assert_int_equal(json_object_array_length(attrs_get(a, "apt.package_blacklist")), 1);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(attrs_get(a, "apt.package_blacklist"), 0)),
                            "c");
        assert_string_equal(attrs_origin(a, "apt.package_blacklist"), "local.json");
}

/* A scalar can replace an object and an object a scalar. */
static void test_type_changes_replace(void **state)
{
        struct attrs *a = *state;

        merge(a, "", "{\"x\": {\"y\": 1}}", "one");
        merge(a, "", "{\"x\": 5}", "two");
        assert_int_equal(json_object_get_int(attrs_get(a, "x")), 5);
        merge(a, "", "{\"x\": {\"z\": true}}", "three");
        assert_true(json_object_get_boolean(attrs_get(a, "x.z")));
        assert_null(attrs_get(a, "x.y"));
        assert_string_equal(attrs_origin(a, "x.z"), "three");
}

/* An empty object merges as nothing. */
static void test_empty_object_is_a_no_op(void **state)
{
        struct attrs *a = *state;

        merge(a, "", "{\"t\": {\"k\": \"v\"}}", "one");
        merge(a, "", "{\"t\": {}}", "two");
        assert_string_equal(json_object_get_string(attrs_get(a, "t.k")), "v");
}

/* JSON cannot override the instance facts; only attrs_set_protected() writes them. */
static void test_instance_facts_are_protected(void **state)
{
        struct attrs *a = *state;
        json_object *facts = J("{\"id\": \"i-real\", \"region\": \"eu-west-1\"}");

        assert_int_equal(attrs_set_protected(a, facts, "instance metadata"), 0);
        json_object_put(facts);
        merge(a, "", "{\"opsagent\": {\"instance\": {\"id\": \"i-fake\"}, \"stack_name\": \"s\"}}", "stack.json");
        merge(a, "opsagent.instance", "{\"region\": \"xx\"}", "local.json");
        assert_string_equal(json_object_get_string(attrs_get(a, "opsagent.instance.id")), "i-real");
        assert_string_equal(json_object_get_string(attrs_get(a, "opsagent.instance.region")), "eu-west-1");
        assert_string_equal(json_object_get_string(attrs_get(a, "opsagent.stack_name")), "s");
        assert_string_equal(attrs_origin(a, "opsagent.instance.id"), "instance metadata");
}

static void test_secret_keys(void **state)
{
        assert_true(attrs_key_is_secret("aws_secret"));
        assert_true(attrs_key_is_secret("aws_key"));
        assert_true(attrs_key_is_secret("db_password"));
        assert_true(attrs_key_is_secret("SessionToken"));
        assert_true(attrs_key_is_secret("client_secret_id"));
        assert_false(attrs_key_is_secret("keep"));
        assert_false(attrs_key_is_secret("mail"));
}

static char *print_to_string(struct attrs *a, const char *path, bool json)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        assert_non_null(f);
        assert_int_equal(attrs_print(a, path, json, f, NULL), 0);
        fclose(f);
        return text;
}

/* Secrets are printed redacted, in text and JSON, at any depth, even when asked for directly. */
static void test_print_redacts_secrets(void **state)
{
        struct attrs *a = *state;
        char *out;

        merge(a, "", "{\"ebs_snapshots\": {\"aws_key\": \"AKIAEXAMPLEKEY\", \"aws_secret\": \"s3cr3t-value\","
                     " \"keep\": 3}, \"db\": {\"password\": {\"x\": \"pw-123456\"}}}",
              "stack.json");
        out = print_to_string(a, "", false);
        assert_null(strstr(out, "AKIAEXAMPLEKEY"));
        assert_null(strstr(out, "s3cr3t-value"));
        assert_null(strstr(out, "pw-123456"));
        assert_non_null(strstr(out, "ebs_snapshots.aws_secret = (redacted)  (stack.json)"));
        assert_non_null(strstr(out, "ebs_snapshots.keep = 3  (stack.json)"));
        free(out);
        out = print_to_string(a, "ebs_snapshots.aws_secret", true);
        assert_null(strstr(out, "s3cr3t-value"));
        assert_non_null(strstr(out, "(redacted)"));
        free(out);
        out = print_to_string(a, "db", true);
        assert_null(strstr(out, "pw-123456"));
        free(out);
}

/* Registered secrets are scrubbed from log text. */
static void test_register_secrets_scrubs(void **state)
{
        struct attrs *a = *state;
        char *s;

        merge(a, "", "{\"r\": {\"aws_secret\": \"wJalrXUtnFEMI\"}}", "stack.json");
        attrs_register_secrets(a);
        s = log_scrub("signing with wJalrXUtnFEMI now");
        assert_string_equal(s, "signing with (redacted) now");
        free(s);
        log_forget_secrets();
}

static void test_missing_path_is_an_error(void **state)
{
        struct attrs *a = *state;
        struct error err = ERROR_INIT;

        assert_int_equal(attrs_print(a, "no.such.key", false, stdout, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "no.such.key"));
}

/* A file whose top level is not an object is refused, naming the file. */
static void test_merge_file_requires_object(void **state)
{
        struct attrs *a = *state;
        struct error err = ERROR_INIT;
        char path[] = "/tmp/opsagent-attrs-XXXXXX";
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "[1, 2]", 6), 6);
        close(fd);
        assert_int_equal(attrs_merge_file(a, path, false, &err), -EINVAL);
        assert_non_null(strstr(err.msg, path));
        assert_non_null(strstr(err.msg, "must be a JSON object"));
        unlink(path);
        assert_int_equal(attrs_merge_file(a, path, true, NULL), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_later_layer_wins_and_objects_merge, setup, teardown),
                cmocka_unit_test_setup_teardown(test_arrays_replace, setup, teardown),
                cmocka_unit_test_setup_teardown(test_type_changes_replace, setup, teardown),
                cmocka_unit_test_setup_teardown(test_empty_object_is_a_no_op, setup, teardown),
                cmocka_unit_test_setup_teardown(test_instance_facts_are_protected, setup, teardown),
                cmocka_unit_test(test_secret_keys),
                cmocka_unit_test_setup_teardown(test_print_redacts_secrets, setup, teardown),
                cmocka_unit_test_setup_teardown(test_register_secrets_scrubs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_path_is_an_error, setup, teardown),
                cmocka_unit_test_setup_teardown(test_merge_file_requires_object, setup, teardown),
        };
        return cmocka_run_group_tests_name("attrs", tests, NULL, NULL);
}
