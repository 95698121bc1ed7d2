/* Unit tests of agent/setup.c: which timers setup enables or disables, which recipes it runs,
 * and when it saves the user-data as the stack file; and which recipes `opsagent configure`
 * runs (agent/cmd/configure.c), which shares them. */
#include <errno.h>
#include <fcntl.h>
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

#include "cmd/configure.h"
#include "cmd/setup.h"
#include "config/attrs.h"
#include "config/layers.h"
#include "util/fileio.h"

static int run_nop(struct opsagent_ctx *ctx)
{
        (void)ctx;
        return 0;
}

#define RECIPE(n, f)                                                                                    \
        { .abi = OPSAGENT_RECIPE_ABI, .size = sizeof(struct opsagent_recipe), .name = (n), .version = "1", \
          .summary = "test", .attr_root = (n), .defaults_json = "{}", .schema_json = NULL,              \
          .time_budget_seconds = 0, .flags = (f), .run = run_nop }

static const struct opsagent_recipe r_nightly = RECIPE("nightly", 0);
static const struct opsagent_recipe r_weekly = RECIPE("weekly", 0);
static const struct opsagent_recipe r_untimed = RECIPE("untimed", 0);
static const struct opsagent_recipe r_setup = RECIPE("setupper", OPSAGENT_RECIPE_SETUP);
static const struct opsagent_recipe r_conf = RECIPE("conf", OPSAGENT_RECIPE_CONFIGURE);
static const struct opsagent_recipe r_setup_conf = RECIPE("setupconf", OPSAGENT_RECIPE_SETUP | OPSAGENT_RECIPE_CONFIGURE);
static char long_name[SETUP_UNIT_NAME_MAX + 8];  /* filled with 'x' by the fixture */
static struct opsagent_recipe r_long = RECIPE(long_name, 0);

struct fixture {
        char root[64];
        struct plugin items[7];
        struct plugin_set plugins;
        struct attrs *attrs;
};

static void touch(const char *root, const char *rel)
{
        char *p = path_join(root, rel);
        char *dir = strdup(p);

        assert_non_null(p);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(mkdir_p(dir, 0755), 0);
        assert_int_equal(write_file_atomic(p, "[Timer]\n", 8, 0644), 0);
        free(dir);
        free(p);
}

static void merge(struct attrs *a, const char *json)
{
        struct error err = ERROR_INIT;
        json_object *o = json_tokener_parse(json);

        assert_non_null(o);
        assert_int_equal(attrs_merge(a, "", o, "test", &err), 0);
        json_object_put(o);
}

static int setup_fixture(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        const struct opsagent_recipe *recipes[] = { &r_nightly, &r_weekly, &r_untimed, &r_setup, &r_long, &r_conf,
                                                    &r_setup_conf };

        assert_non_null(f);
        memset(long_name, 'x', sizeof(long_name) - 1);
        strcpy(f->root, "/tmp/opsagent-setup-test-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        for (size_t i = 0; i < 7; i++)
                f->items[i].recipe = recipes[i];
        f->plugins.items = f->items;
        f->plugins.n = 7;
        assert_int_equal(attrs_new(&f->attrs), 0);
        touch(f->root, "/etc/systemd/system/opsagent-nightly.timer");
        touch(f->root, "/etc/systemd/system/opsagent-weekly.timer");
        touch(f->root, "/etc/systemd/system/opsagent-report.timer");
        *state = f;
        return 0;
}

static int teardown_fixture(void **state)
{
        struct fixture *f = *state;
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
        assert_int_equal(system(cmd), 0);
        attrs_free(f->attrs);
        free(f);
        return 0;
}

static const struct setup_unit *find(const struct setup_unit *u, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(u[i].name, name) == 0)
                        return &u[i];
        return NULL;
}

/* Only recipes with a timer file are planned; enabled ones are enabled, the others disabled. */
static void test_plan_follows_opsagent_recipes(void **state)
{
        struct fixture *f = *state;
        struct setup_unit *u = NULL;
        size_t n = 0;

        merge(f->attrs, "{\"opsagent\": {\"recipes\": {\"nightly\": true, \"weekly\": false, \"untimed\": true}}}");
        assert_int_equal(setup_plan_units(f->attrs, &f->plugins, f->root, false, &u, &n), 0);
        assert_int_equal(n, 3);
        assert_true(find(u, n, "opsagent-nightly.timer")->enable);
        assert_false(find(u, n, "opsagent-weekly.timer")->enable);
        assert_true(find(u, n, "opsagent-report.timer")->enable);
        assert_null(find(u, n, "opsagent-untimed.timer"));
        free(u);
}

/* A recipe absent from opsagent.recipes is not enabled. */
static void test_plan_defaults_to_disabled(void **state)
{
        struct fixture *f = *state;
        struct setup_unit *u = NULL;
        size_t n = 0;

        assert_int_equal(setup_plan_units(f->attrs, &f->plugins, f->root, false, &u, &n), 0);
        assert_false(find(u, n, "opsagent-nightly.timer")->enable);
        assert_false(find(u, n, "opsagent-weekly.timer")->enable);
        free(u);
}

static void test_plan_report_timer_follows_cloudwatch_enabled(void **state)
{
        struct fixture *f = *state;
        struct setup_unit *u = NULL;
        size_t n = 0;

        merge(f->attrs, "{\"cloudwatch\": {\"enabled\": false}}");
        assert_int_equal(setup_plan_units(f->attrs, &f->plugins, f->root, false, &u, &n), 0);
        assert_false(find(u, n, "opsagent-report.timer")->enable);
        free(u);
}

/* The configure timer is enabled exactly when opsagent.source is configured, and planned only
 * when its unit file is installed. */
static void test_plan_configure_timer_follows_the_source(void **state)
{
        struct fixture *f = *state;
        struct setup_unit *u = NULL;
        size_t n = 0;

        assert_int_equal(setup_plan_units(f->attrs, &f->plugins, f->root, true, &u, &n), 0);
        assert_null(find(u, n, SETUP_CONFIGURE_TIMER));
        free(u);
        touch(f->root, "/etc/systemd/system/" SETUP_CONFIGURE_TIMER);
        assert_int_equal(setup_plan_units(f->attrs, &f->plugins, f->root, true, &u, &n), 0);
        assert_non_null(find(u, n, SETUP_CONFIGURE_TIMER));
        assert_true(find(u, n, SETUP_CONFIGURE_TIMER)->enable);
        assert_true(find(u, n, "opsagent-nightly.timer") != NULL);
        free(u);
        assert_int_equal(setup_plan_units(f->attrs, &f->plugins, f->root, false, &u, &n), 0);
        assert_false(find(u, n, SETUP_CONFIGURE_TIMER)->enable);
        assert_string_equal(find(u, n, SETUP_CONFIGURE_TIMER)->why, "no opsagent.source");
        free(u);
}

/* Timers are looked for under the root prefix only: none there, nothing planned. */
static void test_plan_without_unit_files_is_empty(void **state)
{
        struct fixture *f = *state;
        struct setup_unit *u = NULL;
        char empty[] = "/tmp/opsagent-setup-empty-XXXXXX";
        size_t n = 1;

        assert_non_null(mkdtemp(empty));
        assert_int_equal(setup_plan_units(f->attrs, &f->plugins, empty, true, &u, &n), 0);
        assert_int_equal(n, 0);
        free(u);
        rmdir(empty);
}

/* A name whose timer would not fit SETUP_UNIT_NAME_MAX is skipped, not truncated into
 * another unit's name. */
static void test_plan_skips_a_name_too_long_for_a_unit(void **state)
{
        struct fixture *f = *state;
        struct setup_unit *u = NULL;
        char rel[600];
        size_t n = 0;
        int fd;

        assert_true(strlen(r_long.name) + strlen("opsagent-.timer") >= SETUP_UNIT_NAME_MAX);
        /* The name truncated to SETUP_UNIT_NAME_MAX exists: it must still not be planned. */
        snprintf(rel, sizeof(rel), "%s/etc/systemd/system/opsagent-%.*s", f->root, SETUP_UNIT_NAME_MAX - 1 - 9,
                 r_long.name);
        fd = open(rel, O_WRONLY | O_CREAT | O_EXCL, 0644);
        assert_true(fd >= 0);
        close(fd);
        merge(f->attrs, "{\"opsagent\": {\"recipes\": {\"nightly\": true}}}");
        assert_int_equal(setup_plan_units(f->attrs, &f->plugins, f->root, false, &u, &n), 0);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < n; i++)
                assert_null(strstr(u[i].name, "xxxxxxxx"));
        free(u);
}

/* configure runs the setup recipes setup would run, then the enabled configure recipes; a
 * recipe that is both runs under setup's condition only, and once. */
static void test_configure_selects_setup_and_enabled_configure_recipes(void **state)
{
        struct fixture *f = *state;
        const struct plugin *sel[8];

        assert_int_equal(configure_select_recipes(f->attrs, &f->plugins, sel), 0);
        merge(f->attrs, "{\"opsagent\": {\"recipes\": {\"conf\": true, \"nightly\": true}}}");
        assert_int_equal(configure_select_recipes(f->attrs, &f->plugins, sel), 1);
        assert_ptr_equal(sel[0]->recipe, &r_conf);
        merge(f->attrs, "{\"setupper\": {\"mode\": \"asked\"}, \"setupconf\": {\"x\": 1}}");
        assert_int_equal(configure_select_recipes(f->attrs, &f->plugins, sel), 3);
        assert_ptr_equal(sel[0]->recipe, &r_setup);
        assert_ptr_equal(sel[1]->recipe, &r_setup_conf);
        assert_ptr_equal(sel[2]->recipe, &r_conf);
        merge(f->attrs, "{\"opsagent\": {\"recipes\": {\"setupconf\": false, \"conf\": false}}}");
        assert_int_equal(configure_select_recipes(f->attrs, &f->plugins, sel), 1);
        assert_ptr_equal(sel[0]->recipe, &r_setup);
}

/* Issue 16: a setup recipe runs only when the attributes ask for it (its key set by a layer,
 * or enabled); its shipped defaults alone are no reason to change the system. */
static void test_select_runs_setup_recipes_only_when_asked(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        const struct plugin *sel[8];
        json_object *d = json_tokener_parse("{\"mode\": \"default\"}");

        assert_int_equal(attrs_merge(f->attrs, "setupper", d, LAYERS_DEFAULTS_ORIGIN "recipe setupper", &err), 0);
        json_object_put(d);
        assert_int_equal(setup_select_recipes(f->attrs, &f->plugins, sel, NULL), 0);
        merge(f->attrs, "{\"setupper\": {\"mode\": \"asked\"}}");
        assert_int_equal(setup_select_recipes(f->attrs, &f->plugins, sel, NULL), 1);
        assert_ptr_equal(sel[0]->recipe, &r_setup);
        merge(f->attrs, "{\"opsagent\": {\"recipes\": {\"setupper\": false}}}");
        assert_int_equal(setup_select_recipes(f->attrs, &f->plugins, sel, NULL), 0);
        merge(f->attrs, "{\"opsagent\": {\"recipes\": {\"setupper\": true}}}");
        assert_int_equal(setup_select_recipes(f->attrs, &f->plugins, sel, NULL), 1);
}

static void test_select_enabled_without_attributes(void **state)
{
        struct fixture *f = *state;
        const struct plugin *sel[8];

        merge(f->attrs, "{\"opsagent\": {\"recipes\": {\"setupper\": true}}}");
        assert_int_equal(setup_select_recipes(f->attrs, &f->plugins, sel, NULL), 1);
}

static char *stack_path(struct fixture *f)
{
        char *p = path_join(f->root, "stack.json");

        assert_non_null(p);
        return p;
}

static void test_user_data_object_is_saved_private(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        const char *ud = "{\"opsagent\": {\"recipes\": {\"nightly\": true}}, \"x\": {\"aws_secret\": \"s3cr3t\"}}";
        char *p = stack_path(f), *text = NULL;
        struct stat st;

        assert_int_equal(setup_save_user_data(ud, p, NULL, "", false, &err), 1);
        assert_int_equal(read_file_capped(p, 1 << 20, &text, NULL), 0);
        assert_string_equal(text, ud);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        /* Second time: the file exists, nothing to do. */
        assert_int_equal(setup_save_user_data(ud, p, NULL, "", false, &err), 0);
        free(text);
        free(p);
}

static void test_existing_stack_file_is_never_replaced(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        char *p = stack_path(f), *text = NULL;

        assert_int_equal(write_file_atomic(p, "{\"mine\": 1}", 11, 0600), 0);
        assert_int_equal(setup_save_user_data("{\"theirs\": 2}", p, NULL, "", false, &err), 0);
        assert_int_equal(read_file_capped(p, 1 << 20, &text, NULL), 0);
        assert_string_equal(text, "{\"mine\": 1}");
        free(text);
        free(p);
}

static void test_user_data_that_is_not_an_object_is_ignored(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        char *p = stack_path(f);
        const char *not_objects[] = { "#!/bin/sh\necho hi\n", "[1, 2]", "\"text\"", "", "{\"truncated\": ", NULL };

        assert_int_equal(setup_save_user_data(NULL, p, NULL, "", false, &err), 0);
        for (size_t i = 0; not_objects[i]; i++) {
                assert_int_equal(setup_save_user_data(not_objects[i], p, NULL, "", false, &err), 0);
                assert_int_equal(access(p, F_OK), -1);
        }
        assert_false(error_is_set(&err));
        free(p);
}

static void test_dry_run_saves_nothing(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        char *p = stack_path(f);

        assert_int_equal(setup_save_user_data("{\"a\": 1}", p, NULL, "", true, &err), 1);
        assert_int_equal(access(p, F_OK), -1);
        free(p);
}

static void test_unwritable_stack_dir_is_an_error_naming_the_file(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        char *p = path_join(f->root, "missing-dir/stack.json");

        assert_true(setup_save_user_data("{\"a\": 1}", p, NULL, "", false, &err) < 0);
        assert_non_null(strstr(err.msg, p));
        free(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_plan_follows_opsagent_recipes, setup_fixture, teardown_fixture),
                cmocka_unit_test_setup_teardown(test_plan_defaults_to_disabled, setup_fixture, teardown_fixture),
                cmocka_unit_test_setup_teardown(test_plan_report_timer_follows_cloudwatch_enabled, setup_fixture,
                                                teardown_fixture),
                cmocka_unit_test_setup_teardown(test_plan_without_unit_files_is_empty, setup_fixture, teardown_fixture),
                cmocka_unit_test_setup_teardown(test_plan_configure_timer_follows_the_source, setup_fixture,
                                                teardown_fixture),
                cmocka_unit_test_setup_teardown(test_configure_selects_setup_and_enabled_configure_recipes,
                                                setup_fixture, teardown_fixture),
                cmocka_unit_test_setup_teardown(test_plan_skips_a_name_too_long_for_a_unit, setup_fixture,
                                                teardown_fixture),
                cmocka_unit_test_setup_teardown(test_select_runs_setup_recipes_only_when_asked, setup_fixture,
                                                teardown_fixture),
                cmocka_unit_test_setup_teardown(test_select_enabled_without_attributes, setup_fixture,
                                                teardown_fixture),
                cmocka_unit_test_setup_teardown(test_user_data_object_is_saved_private, setup_fixture, teardown_fixture),
                cmocka_unit_test_setup_teardown(test_existing_stack_file_is_never_replaced, setup_fixture,
                                                teardown_fixture),
                cmocka_unit_test_setup_teardown(test_user_data_that_is_not_an_object_is_ignored, setup_fixture,
                                                teardown_fixture),
                cmocka_unit_test_setup_teardown(test_dry_run_saves_nothing, setup_fixture, teardown_fixture),
                cmocka_unit_test_setup_teardown(test_unwritable_stack_dir_is_an_error_naming_the_file, setup_fixture,
                                                teardown_fixture),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
