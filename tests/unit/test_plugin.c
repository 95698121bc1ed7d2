/* plugin: loading recipes, refusing the wrong ABI, a missing symbol, broken defaults. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/plugin.h"
#include "testdir.h"

static const char *plugin_dir(void)
{
        const char *d = getenv("OPSAGENT_TEST_PLUGIN_DIR");

        return d ? d : "tests/unit/plugins/.libs";
}

static char *plugin_file(const char *name)
{
        char *f = NULL;

        assert_true(asprintf(&f, "%s/%s.so", plugin_dir(), name) > 0);
        return f;
}

static void test_good_plugin_loads(void **state)
{
        struct plugin p;
        char *f = plugin_file("good");

        assert_int_equal(plugin_load_file(f, &p, NULL), 0);
        assert_string_equal(p.recipe->name, "good");
        assert_string_equal(p.recipe->version, "1.2");
        assert_int_equal(p.recipe->time_budget_seconds, 30);
        assert_non_null(p.defaults);
        assert_non_null(p.schema);
        plugin_clear(&p);
        free(f);
}

/* recover() is read only from descriptors large enough to have it: crash.so says it was built
 * before the field existed (and has a bogus pointer there), good.so has one. */
static void test_recover_only_within_descriptor_size(void **state)
{
        struct plugin good, crash;
        char *g = plugin_file("good"), *c = plugin_file("crash");

        assert_int_equal(plugin_load_file(g, &good, NULL), 0);
        assert_int_equal(plugin_load_file(c, &crash, NULL), 0);
        assert_int_equal(crash.recipe->size, OPSAGENT_RECIPE_SIZE_V1);
        assert_non_null(crash.recipe->recover);
        assert_null(plugin_recover(&crash));
        assert_non_null(plugin_recover(&good));
        assert_ptr_equal(plugin_recover(&good), good.recipe->recover);
        plugin_clear(&good);
        plugin_clear(&crash);
        free(g);
        free(c);
}

static void test_wrong_abi_refused_naming_file(void **state)
{
        struct plugin p;
        struct error err = ERROR_INIT;
        char *f = plugin_file("wrong_abi");

        assert_int_equal(plugin_load_file(f, &p, &err), -EPROTO);
        assert_non_null(strstr(err.msg, f));
        assert_non_null(strstr(err.msg, "ABI 2"));
        assert_non_null(strstr(err.msg, "rebuild"));
        free(f);
}

static void test_missing_symbol_refused(void **state)
{
        struct plugin p;
        struct error err = ERROR_INIT;
        char *f = plugin_file("no_symbol");

        assert_int_equal(plugin_load_file(f, &p, &err), -ENOEXEC);
        assert_non_null(strstr(err.msg, f));
        assert_non_null(strstr(err.msg, "opsagent_recipe"));
        free(f);
}

static void test_bad_defaults_refused_with_position(void **state)
{
        struct plugin p;
        struct error err = ERROR_INIT;
        char *f = plugin_file("bad_defaults");

        assert_int_equal(plugin_load_file(f, &p, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "defaults of recipe bad_defaults"));
        assert_non_null(strstr(err.msg, ":1:"));
        free(f);
}

static void test_not_a_shared_object(void **state)
{
        struct plugin p;
        struct error err = ERROR_INIT;
        char path[] = "/tmp/opsagent-plugin-XXXXXX";
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(plugin_load_file(path, &p, &err), -ENOEXEC);
        assert_non_null(strstr(err.msg, path));
        remove(path);
}

/* A directory scan keeps the good plugins and reports each broken file. */
static void test_scan_collects_problems(void **state)
{
        struct plugin_set s;
        char *list = NULL;

        assert_true(asprintf(&list, "/nonexistent:%s", plugin_dir()) > 0);
        assert_int_equal(plugins_load(list, &s, NULL), 0);
        assert_non_null(plugins_find(&s, "good"));
        assert_non_null(plugins_find(&s, "crash"));
        assert_null(plugins_find(&s, "wrong_abi"));
        assert_int_equal(s.n_problems, 3);
        plugins_free(&s);
        free(list);
}

/* The same recipe twice on the path: the first wins, the second is reported. */
static void test_duplicate_name_first_wins(void **state)
{
        struct plugin_set s;
        char *list = NULL;

        assert_true(asprintf(&list, "%s:%s", plugin_dir(), plugin_dir()) > 0);
        assert_int_equal(plugins_load(list, &s, NULL), 0);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.n_problems, 3 + 5);
        plugins_free(&s);
        free(list);
}

/* A run maps only the plugins it runs: NAME.so, nothing else, no problems reported. */
static void test_load_named_maps_only_those(void **state)
{
        const char *names[] = { "good", "crash", "good" };
        struct plugin_set s;

        assert_int_equal(plugins_load_named(plugin_dir(), names, 3, &s, NULL), 0);
        assert_int_equal(s.n, 2);
        assert_non_null(plugins_find(&s, "good"));
        assert_non_null(plugins_find(&s, "crash"));
        assert_int_equal(s.n_problems, 0);
        plugins_free(&s);
}

/* A name with no NAME.so falls back to scanning everything (so errors can list what exists). */
static void test_load_named_falls_back_to_scan(void **state)
{
        const char *names[] = { "good", "nosuch" };
        struct plugin_set s;

        assert_int_equal(plugins_load_named(plugin_dir(), names, 2, &s, NULL), 0);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.n_problems, 3);
        assert_null(plugins_find(&s, "nosuch"));
        plugins_free(&s);
}

/* Copies good.so into a fresh directory DIR (64 bytes); returns the copy's path (caller frees). */
static char *good_copy(char *dir)
{
        char *src = plugin_file("good"), *dst = NULL, *cmd = NULL;

        assert_non_null(testdir_new(dir, 64, "plugin-trust"));
        assert_true(asprintf(&dst, "%s/good.so", dir) > 0);
        assert_true(asprintf(&cmd, "cp '%s' '%s'", src, dst) > 0);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(chmod(dst, 0644), 0);
        free(src);
        free(cmd);
        return dst;
}

/* A plugin, or its directory, that someone else could have written is refused before dlopen
 * (which would run its constructors): the command refuses, it is not a mere "problem". */
static void test_untrusted_plugin_refused(void **state)
{
        const char *names[] = { "good" };
        struct error err = ERROR_INIT;
        struct plugin_set s;
        struct plugin p;
        char dir[64], *so = good_copy(dir);

        if (geteuid() != 0) {
                testdir_remove(dir);
                free(so);
                printf("# not root: a non-root agent trusts its own user's files; not tested\n");
                return;
        }
        assert_int_equal(plugin_load_file(so, &p, NULL), 0);
        plugin_clear(&p);
        assert_int_equal(chmod(so, 0666), 0);
        assert_int_equal(plugin_load_file(so, &p, &err), -EPERM);
        assert_non_null(strstr(err.msg, "plugin "));
        assert_non_null(strstr(err.msg, "good.so: refusing to use it: owned by root (uid 0), mode 0666"));
        error_clear(&err);
        assert_int_equal(plugins_load(dir, &s, &err), -EPERM);
        assert_non_null(strstr(err.msg, "good.so: refusing"));
        error_clear(&err);
        assert_int_equal(plugins_load_named(dir, names, 1, &s, &err), -EPERM);
        error_clear(&err);
        /* the file is fine, its directory is not */
        assert_int_equal(chmod(so, 0755), 0);
        assert_int_equal(chmod(dir, 0777), 0);
        assert_int_equal(plugins_load(dir, &s, &err), -EPERM);
        assert_non_null(strstr(err.msg, "plugin directory "));
        assert_non_null(strstr(err.msg, "mode 0777"));
        error_clear(&err);
        assert_int_equal(plugins_load_named(dir, names, 1, &s, &err), -EPERM);
        assert_int_equal(testdir_remove(dir), 0);
        free(so);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_plugin_loads),
                cmocka_unit_test(test_recover_only_within_descriptor_size),
                cmocka_unit_test(test_wrong_abi_refused_naming_file),
                cmocka_unit_test(test_missing_symbol_refused),
                cmocka_unit_test(test_bad_defaults_refused_with_position),
                cmocka_unit_test(test_not_a_shared_object),
                cmocka_unit_test(test_scan_collects_problems),
                cmocka_unit_test(test_duplicate_name_first_wins),
                cmocka_unit_test(test_load_named_maps_only_those),
                cmocka_unit_test(test_load_named_falls_back_to_scan),
                cmocka_unit_test(test_untrusted_plugin_refused),
        };
        return cmocka_run_group_tests_name("plugin", tests, NULL, NULL);
}
