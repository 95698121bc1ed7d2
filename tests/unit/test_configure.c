/* `opsagent configure`'s pure parts: which attribute keys a change of the stack configuration
 * touched (agent/util/jsondiff.c), named by dotted path and never by value, and the change as
 * its run record holds it (agent/cmd/configure_change.c). */
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

#include "cmd/configure_change.h"
#include "util/jsondiff.h"
#include "util/log.h"

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

/* A set of N documents: NAME, VERSION, JSON, SECRET (0/1) each. */
static struct source_set *set_of(size_t n, ...)
{
        struct source_set *s = calloc(1, sizeof(*s));
        va_list ap;

        assert_non_null(s);
        s->docs = calloc(n ? n : 1, sizeof(*s->docs));
        assert_non_null(s->docs);
        va_start(ap, n);
        for (size_t i = 0; i < n; i++) {
                s->docs[i].name = strdup(va_arg(ap, const char *));
                s->docs[i].version = strdup(va_arg(ap, const char *));
                s->docs[i].json = strdup(va_arg(ap, const char *));
                s->docs[i].secret = va_arg(ap, int) != 0;
                assert_true(s->docs[i].name && s->docs[i].version && s->docs[i].json);
        }
        va_end(ap);
        s->n_docs = n;
        return s;
}

#define STACK "ssm:/opsagent/demo/stack"
#define WEB "ssm:/opsagent/demo/layers/web"
#define DB "ssm:/opsagent/demo/layers/db"

static json_object *doc_named(json_object *change, const char *name)
{
        json_object *docs = json_object_object_get(change, "documents");

        for (size_t i = 0; i < json_object_array_length(docs); i++) {
                json_object *d = json_object_array_get_idx(docs, i);

                if (strcmp(json_object_get_string(json_object_object_get(d, "name")), name) == 0)
                        return d;
        }
        return NULL;
}

static const char *version_of(json_object *doc, const char *which)
{
        json_object *v = json_object_object_get(doc, which);

        return v ? json_object_get_string(v) : NULL;
}

/* One layer's parameter changed: the record has both versions of each document and the one key. */
static void test_change_names_versions_and_keys(void **state)
{
        struct source_set *old = set_of(2, STACK, "3", "{\"opsagent\": {\"recipes\": {\"logrotate\": true}}}", 0,
                                        WEB, "7", "{\"logrotate\": {\"keep\": 7}}", 0);
        struct source_set *new = set_of(2, STACK, "3", "{\"opsagent\": {\"recipes\": {\"logrotate\": true}}}", 0,
                                        WEB, "8", "{\"logrotate\": {\"keep\": 14}}", 0);
        struct error err = ERROR_INIT;
        json_object *c = NULL, *keys;

        (void)state;
        assert_int_equal(configure_change(old, new, &c, &err), 0);
        assert_string_equal(version_of(doc_named(c, STACK), "old_version"), "3");
        assert_string_equal(version_of(doc_named(c, STACK), "new_version"), "3");
        assert_string_equal(version_of(doc_named(c, WEB), "old_version"), "7");
        assert_string_equal(version_of(doc_named(c, WEB), "new_version"), "8");
        keys = json_object_object_get(c, "changed_keys");
        assert_int_equal(json_object_array_length(keys), 1);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(keys, 0)), "logrotate.keep");
        assert_int_equal(json_object_get_int(json_object_object_get(c, "changed_keys_total")), 1);
        assert_null(strstr(json_object_to_json_string(c), "14"));
        json_object_put(c);
        source_set_free(old);
        source_set_free(new);
}

/* The first configure (no cache): every document is new, every key changed; a layer that is gone
 * is named with its old version, and its keys too. */
static void test_first_configure_and_a_layer_gone(void **state)
{
        struct source_set *new = set_of(1, STACK, "1", "{\"a\": {\"b\": 1}, \"c\": [1]}", 0);
        struct source_set *old = set_of(2, STACK, "1", "{\"a\": {\"b\": 1}, \"c\": [1]}", 0, DB, "4",
                                        "{\"zodb_pack\": {\"days\": 3}}", 0);
        struct error err = ERROR_INIT;
        json_object *c = NULL;

        (void)state;
        assert_int_equal(configure_change(NULL, new, &c, &err), 0);
        assert_null(version_of(doc_named(c, STACK), "old_version"));
        assert_string_equal(json_object_to_json_string(json_object_object_get(c, "changed_keys")), "[ \"a.b\", \"c\" ]");
        json_object_put(c);
        assert_int_equal(configure_change(old, new, &c, &err), 0);
        assert_string_equal(version_of(doc_named(c, DB), "old_version"), "4");
        assert_null(version_of(doc_named(c, DB), "new_version"));
        assert_string_equal(json_object_to_json_string(json_object_object_get(c, "changed_keys")),
                            "[ \"zodb_pack.days\" ]");
        json_object_put(c);
        source_set_free(old);
        source_set_free(new);
}

/* A key a later layer overrides with the same value changed nowhere; one it overrides with
 * another did change: the keys are the merged attributes', not each document's. */
static void test_keys_are_of_the_merged_attributes(void **state)
{
        struct source_set *old = set_of(1, STACK, "1", "{\"x\": {\"y\": 1}}", 0);
        struct source_set *new = set_of(2, STACK, "2", "{\"x\": {\"y\": 2}}", 0, WEB, "1", "{\"x\": {\"y\": 1}}", 0);
        struct error err = ERROR_INIT;
        json_object *c = NULL;

        (void)state;
        assert_int_equal(configure_change(old, new, &c, &err), 0);
        assert_int_equal(json_object_array_length(json_object_object_get(c, "changed_keys")), 0);
        json_object_put(c);
        source_set_free(old);
        source_set_free(new);
}

/* A SecureString document: its keys may be named, its values never reach the change, nor what
 * is said of it. */
static void test_secret_document_values_never_appear(void **state)
{
        static const char *const secret = "pl41n-t3xt-db-p4ssw0rd";
        char old_json[128], new_json[128], path[] = "/tmp/opsagent-configure-say-XXXXXX";
        struct source_set *old, *new;
        struct error err = ERROR_INIT;
        json_object *c = NULL;
        char out[4096] = "";
        FILE *f;
        int fd, saved;

        (void)state;
        snprintf(old_json, sizeof(old_json), "{\"db\": {\"conn\": \"%s\"}}", secret);
        snprintf(new_json, sizeof(new_json), "{\"db\": {\"conn\": \"%s-2\", \"pool\": \"%s\"}}", secret, secret);
        old = set_of(1, WEB, "1", old_json, 1);
        new = set_of(1, WEB, "2", new_json, 1);
        assert_int_equal(configure_change(old, new, &c, &err), 0);
        assert_null(strstr(json_object_to_json_string(c), "p4ssw0rd"));
        assert_string_equal(json_object_to_json_string(json_object_object_get(c, "changed_keys")),
                            "[ \"db.conn\", \"db.pool\" ]");
        assert_true(json_object_get_boolean(json_object_object_get(doc_named(c, WEB), "secret")));
        /* and what is said of it */
        fd = mkstemp(path);
        assert_true(fd >= 0);
        fflush(stdout);
        saved = dup(STDOUT_FILENO);
        assert_true(saved >= 0);
        assert_true(dup2(fd, STDOUT_FILENO) >= 0);
        configure_change_say(c, false);
        fflush(stdout);
        assert_true(dup2(saved, STDOUT_FILENO) >= 0);   /* cmocka reports on stdout */
        close(saved);
        f = fopen(path, "r");
        assert_non_null(f);
        assert_true(fread(out, 1, sizeof(out) - 1, f) > 0);
        fclose(f);
        close(fd);
        unlink(path);
        assert_non_null(strstr(out, "changed: db.pool"));
        assert_non_null(strstr(out, "version 1 -> 2"));
        assert_null(strstr(out, "p4ssw0rd"));
        json_object_put(c);
        source_set_free(old);
        source_set_free(new);
}

/* A document that is not a JSON object (a corrupt cache) is an error naming it, never quoting it. */
static void test_bad_document_is_named_not_quoted(void **state)
{
        struct source_set *bad = set_of(1, WEB, "1", "[\"hunter2\"]", 1);
        struct error err = ERROR_INIT;
        json_object *c = NULL;

        (void)state;
        assert_int_equal(configure_change(NULL, bad, &c, &err), -EINVAL);
        assert_null(c);
        assert_non_null(strstr(err.msg, WEB));
        assert_null(strstr(err.msg, "hunter2"));
        source_set_free(bad);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_same_trees_differ_nowhere), cmocka_unit_test(test_nested_change_names_the_leaf),
                cmocka_unit_test(test_array_is_compared_whole),   cmocka_unit_test(test_added_and_removed_keys),
                cmocka_unit_test(test_type_change_names_the_key), cmocka_unit_test(test_sorted_each_once),
                cmocka_unit_test(test_values_never_in_the_result), cmocka_unit_test(test_many_changes_are_counted),
                cmocka_unit_test(test_depth_limit),
                cmocka_unit_test(test_change_names_versions_and_keys),
                cmocka_unit_test(test_first_configure_and_a_layer_gone),
                cmocka_unit_test(test_keys_are_of_the_merged_attributes),
                cmocka_unit_test(test_secret_document_values_never_appear),
                cmocka_unit_test(test_bad_document_is_named_not_quoted),
        };
        log_setup(LOG_TARGET_STDERR, LOG_NOTICE);   /* what configure says goes to stdout */
        return cmocka_run_group_tests_name("configure", tests, NULL, NULL);
}
