/* `opsagent configure`'s pure parts: which attribute keys a change of the stack configuration
 * touched (agent/util/jsondiff.c), named by dotted path and never by value. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/jsondiff.h"

/* TEXT parsed deeper than json-c's default of 32 levels allows. */
static json_object *parse(const char *text)
{
        struct json_tokener *tok = json_tokener_new_ex(4 * JSONDIFF_MAX_DEPTH);
        json_object *o;

        assert_non_null(tok);
        o = json_tokener_parse_ex(tok, text, (int)strlen(text));
        json_tokener_free(tok);
        assert_non_null(o);
        return o;
}

/* The differing paths of OLD and NEW (JSON texts; NULL: none), joined with " ". */
static char *diff(const char *old, const char *new, size_t *ret_total)
{
        json_object *o = old ? parse(old) : NULL, *n = new ? parse(new) : NULL;
        json_object *paths = NULL;
        size_t total = 0, len = 1;
        char *out;

        assert_int_equal(json_diff_keys(o, n, &paths, &total), 0);
        for (size_t i = 0; i < json_object_array_length(paths); i++)
                len += strlen(json_object_get_string(json_object_array_get_idx(paths, i))) + 1;
        out = calloc(1, len);
        assert_non_null(out);
        for (size_t i = 0; i < json_object_array_length(paths); i++) {
                if (i)
                        strcat(out, " ");
                strcat(out, json_object_get_string(json_object_array_get_idx(paths, i)));
        }
        if (ret_total)
                *ret_total = total;
        json_object_put(paths);
        json_object_put(o);
        json_object_put(n);
        return out;
}

static void expect_diff(const char *old, const char *new, const char *want)
{
        char *got = diff(old, new, NULL);

        if (strcmp(got, want) != 0)
                fail_msg("diff of %s and %s: got \"%s\", want \"%s\"", old, new, got, want);
        free(got);
}

static void test_same_trees_differ_nowhere(void **state)
{
        (void)state;
        expect_diff("{\"a\": {\"b\": [1, 2], \"c\": null}, \"d\": \"x\"}",
                    "{\"d\": \"x\", \"a\": {\"c\": null, \"b\": [1, 2]}}", "");
        expect_diff(NULL, NULL, "");
        expect_diff("{}", NULL, "");
}

/* A change deep inside nested objects names the leaf, not its parents. */
static void test_nested_change_names_the_leaf(void **state)
{
        (void)state;
        expect_diff("{\"apt\": {\"unattended_upgrades\": {\"mail\": \"a@x\", \"enable\": true}}}",
                    "{\"apt\": {\"unattended_upgrades\": {\"mail\": \"b@x\", \"enable\": true}}}",
                    "apt.unattended_upgrades.mail");
}

/* Arrays replace in the merge: a change anywhere in one names the array. */
static void test_array_is_compared_whole(void **state)
{
        (void)state;
        expect_diff("{\"a\": {\"list\": [1, {\"x\": 1}]}}", "{\"a\": {\"list\": [1, {\"x\": 2}]}}", "a.list");
        expect_diff("{\"a\": [1, 2]}", "{\"a\": [2, 1]}", "a");
        expect_diff("{\"a\": [1, 2]}", "{\"a\": [1, 2]}", "");
}

/* Added and removed keys are named; an added object by its leaves, an empty one by itself. */
static void test_added_and_removed_keys(void **state)
{
        (void)state;
        expect_diff("{\"keep\": 1, \"gone\": 2}", "{\"keep\": 1, \"new\": 3}", "gone new");
        expect_diff("{}", "{\"zodb_pack\": {\"days\": 7, \"storages\": {\"main\": {}}}}",
                    "zodb_pack.days zodb_pack.storages.main");
        expect_diff("{\"ebs_snapshots\": {\"keep\": 15, \"tags\": {\"a\": \"b\"}}}", NULL,
                    "ebs_snapshots.keep ebs_snapshots.tags.a");
}

/* A type change is a change of that key, whatever the types. */
static void test_type_change_names_the_key(void **state)
{
        (void)state;
        expect_diff("{\"a\": {\"b\": 1}}", "{\"a\": \"1\"}", "a");
        expect_diff("{\"a\": 1}", "{\"a\": 1.0}", "a");
        expect_diff("{\"a\": \"true\"}", "{\"a\": true}", "a");
        expect_diff("{\"a\": null}", "{\"a\": 0}", "a");
        expect_diff("{\"a\": [1]}", "{\"a\": {\"0\": 1}}", "a");
        expect_diff("{\"a\": {}}", "{\"a\": {\"b\": {\"c\": 1}}}", "a.b.c");
}

/* The result is sorted and names each path once, whichever side had the key first. */
static void test_sorted_each_once(void **state)
{
        (void)state;
        expect_diff("{\"z\": 1, \"b\": {\"y\": 1, \"a\": 1}}", "{\"a\": 1, \"b\": {\"a\": 2}, \"z\": 2}",
                    "a b.a b.y z");
}

/* No value, secret or not, ever reaches the result: only the key's name. */
static void test_values_never_in_the_result(void **state)
{
        static const char *const secret = "hunter2-s3cr3t-value";
        char old[256], new[256];
        char *got;

        (void)state;
        snprintf(old, sizeof(old), "{\"ebs_snapshots\": {\"aws_secret\": \"%s\", \"keep\": 15}}", secret);
        snprintf(new, sizeof(new), "{\"ebs_snapshots\": {\"aws_secret\": \"%s-rotated\", \"keep\": 15},"
                                   " \"db\": {\"password\": \"%s\"}}", secret, secret);
        got = diff(old, new, NULL);
        assert_string_equal(got, "db.password ebs_snapshots.aws_secret");
        assert_null(strstr(got, "hunter2"));
        free(got);
        /* A value that looks like a key is still a value. */
        got = diff("{\"k\": \"x.y\"}", "{\"k\": \"z.w\"}", NULL);
        assert_string_equal(got, "k");
        free(got);
}

/* Past JSONDIFF_MAX_PATHS the rest is counted, not listed. */
static void test_many_changes_are_counted(void **state)
{
        char *old = calloc(1, 32 * 1024), *new = calloc(1, 32 * 1024);
        size_t total = 0, listed = 0;
        char *got;

        (void)state;
        assert_non_null(old);
        assert_non_null(new);
        strcpy(old, "{");
        strcpy(new, "{");
        for (int i = 0; i < JSONDIFF_MAX_PATHS + 10; i++) {
                sprintf(old + strlen(old), "%s\"k%04d\": %d", i ? ", " : "", i, i);
                sprintf(new + strlen(new), "%s\"k%04d\": %d", i ? ", " : "", i, i + 1);
        }
        strcat(old, "}");
        strcat(new, "}");
        got = diff(old, new, &total);
        assert_int_equal(total, JSONDIFF_MAX_PATHS + 10);
        for (const char *p = got; *p; p++)
                listed += *p == ' ';
        assert_int_equal(listed + 1, JSONDIFF_MAX_PATHS);
        free(got);
        free(old);
        free(new);
}

/* Deeper than JSONDIFF_MAX_DEPTH a subtree is named whole; nothing overflows. */
static void test_depth_limit(void **state)
{
        char old[4096] = "", new[4096] = "";
        size_t total = 0;
        char *got;

        (void)state;
        for (int i = 0; i < JSONDIFF_MAX_DEPTH + 5; i++) {
                strcat(old, "{\"a\": ");
                strcat(new, "{\"a\": ");
        }
        strcat(old, "1");
        strcat(new, "2");
        for (int i = 0; i < JSONDIFF_MAX_DEPTH + 5; i++) {
                strcat(old, "}");
                strcat(new, "}");
        }
        got = diff(old, new, &total);
        assert_int_equal(total, 1);
        assert_int_equal(strspn(got, "a."), strlen(got));
        assert_true(strlen(got) < JSONDIFF_PATH_MAX);
        free(got);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_same_trees_differ_nowhere), cmocka_unit_test(test_nested_change_names_the_leaf),
                cmocka_unit_test(test_array_is_compared_whole),   cmocka_unit_test(test_added_and_removed_keys),
                cmocka_unit_test(test_type_change_names_the_key), cmocka_unit_test(test_sorted_each_once),
                cmocka_unit_test(test_values_never_in_the_result), cmocka_unit_test(test_many_changes_are_counted),
                cmocka_unit_test(test_depth_limit),
        };
        return cmocka_run_group_tests_name("configure", tests, NULL, NULL);
}
