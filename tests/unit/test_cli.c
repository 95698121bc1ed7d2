/* cli: command-line parsing, in any order, with one clear line for each usage error. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cmd/cli.h"
#include "cmd/commands.h"

static int dummy(const struct cli *c)
{
        return 0;
}

static const struct command commands[] = {
        { .name = "run", .usage = "run", .help = "", .summary = "",
          .options = OPT_RECIPE | OPT_ALL | OPT_DRY_RUN | OPT_EXTRA_JSON | OPT_NO_REPORT, .run = dummy },
        { .name = "attributes", .usage = "attributes [KEY]", .help = "", .summary = "",
          .options = OPT_JSON | OPT_EXTRA_JSON, .max_args = 1, .run = dummy },
        { .name = "history", .usage = "history", .help = "", .summary = "", .options = OPT_RECIPE | OPT_LIMIT | OPT_JSON,
          .run = dummy },
        { .name = NULL },
};

#define PARSE(c, err, ...)                                                                      \
        ({                                                                                      \
                char *argv_[] = { "opsagent", __VA_ARGS__, NULL };                              \
                cli_parse((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_, commands, (c), (err)); \
        })

static void test_run_with_recipes_and_options(void **state)
{
        struct cli c;

        assert_int_equal(PARSE(&c, NULL, "--root", "/tmp/r", "run", "--recipe", "a", "-r", "b", "--dry-run", "-j",
                               "x.json", "-v", "-v"),
                         0);
        assert_string_equal(c.cmd->name, "run");
        assert_string_equal(c.root, "/tmp/r");
        assert_int_equal(c.n_recipes, 2);
        assert_string_equal(c.recipes[0], "a");
        assert_string_equal(c.recipes[1], "b");
        assert_true(c.dry_run);
        assert_int_equal(c.n_extra_json, 1);
        assert_string_equal(c.extra_json[0], "x.json");
        assert_int_equal(c.verbosity, 2);
}

/* Global options may come after the command. */
static void test_options_after_command(void **state)
{
        struct cli c;

        assert_int_equal(PARSE(&c, NULL, "run", "--all", "--root", "/r", "-q"), 0);
        assert_true(c.all);
        assert_string_equal(c.root, "/r");
        assert_int_equal(c.verbosity, -1);
}

static void test_positional_argument(void **state)
{
        struct cli c;

        assert_int_equal(PARSE(&c, NULL, "attributes", "ebs_snapshots.keep", "--json"), 0);
        assert_int_equal(c.n_args, 1);
        assert_string_equal(c.args[0], "ebs_snapshots.keep");
        assert_true(c.json);
}

static void test_option_not_for_this_command(void **state)
{
        struct cli c;
        struct error err = ERROR_INIT;

        assert_int_equal(PARSE(&c, &err, "attributes", "--dry-run"), -EINVAL);
        assert_string_equal(err.msg, "attributes does not take --dry-run");
}

static void test_unknown_command_and_option(void **state)
{
        struct cli c;
        struct error err = ERROR_INIT;

        assert_int_equal(PARSE(&c, &err, "frobnicate"), -EINVAL);
        assert_non_null(strstr(err.msg, "unknown command \"frobnicate\""));
        error_clear(&err);
        assert_int_equal(PARSE(&c, &err, "run", "--frob"), -EINVAL);
        assert_non_null(strstr(err.msg, "unknown option --frob"));
        error_clear(&err);
        assert_int_equal(PARSE(&c, &err, "run", "--recipe"), -EINVAL);
        assert_non_null(strstr(err.msg, "needs a value"));
}

static void test_too_many_arguments(void **state)
{
        struct cli c;
        struct error err = ERROR_INIT;

        assert_int_equal(PARSE(&c, &err, "attributes", "a", "b"), -EINVAL);
        assert_non_null(strstr(err.msg, "wrong number of arguments"));
        error_clear(&err);
        assert_int_equal(PARSE(&c, &err, "run", "extra"), -EINVAL);
}

static void test_help_and_version(void **state)
{
        struct cli c;
        struct error err = ERROR_INIT;

        assert_int_equal(PARSE(&c, NULL, "--help"), 0);
        assert_true(c.help);
        assert_null(c.cmd);
        assert_int_equal(PARSE(&c, NULL, "run", "--help"), 0);
        assert_true(c.help);
        assert_string_equal(c.cmd->name, "run");
        assert_int_equal(PARSE(&c, NULL, "--version"), 0);
        assert_true(c.version);
        {
                char *argv[] = { "opsagent", NULL };

                assert_int_equal(cli_parse(1, argv, commands, &c, &err), -EINVAL);
                assert_string_equal(err.msg, "no command given");
        }
}

static void test_limit_is_checked(void **state)
{
        struct cli c;
        struct error err = ERROR_INIT;

        assert_int_equal(PARSE(&c, NULL, "history", "--limit", "5"), 0);
        assert_int_equal(c.limit, 5);
        assert_int_equal(PARSE(&c, &err, "history", "--limit", "five"), -EINVAL);
        assert_non_null(strstr(err.msg, "--limit"));
}

/* The repeat limit of --recipe is enforced, not overflowed. */
static void test_recipe_limit(void **state)
{
        char *argv[2 + 2 * (CLI_MAX_RECIPES + 1) + 1];
        struct cli c;
        struct error err = ERROR_INIT;
        int n = 0;

        argv[n++] = "opsagent";
        argv[n++] = "run";
        for (int i = 0; i <= CLI_MAX_RECIPES; i++) {
                argv[n++] = "-r";
                argv[n++] = "x";
        }
        argv[n] = NULL;
        assert_int_equal(cli_parse(n, argv, commands, &c, &err), -E2BIG);
}

/* As non-root, "cannot read: Permission denied" says that the agent runs as root. */
static void test_access_hint_for_non_root(void **state)
{
        assert_non_null(strstr(node_access_hint(-EACCES, 1000), "opsagent runs as root"));
        assert_non_null(strstr(node_access_hint(-EACCES, 1000), "sudo"));
        assert_string_equal(node_access_hint(-EACCES, 0), "");
        assert_string_equal(node_access_hint(-ENOENT, 1000), "");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_run_with_recipes_and_options),
                cmocka_unit_test(test_options_after_command),
                cmocka_unit_test(test_positional_argument),
                cmocka_unit_test(test_option_not_for_this_command),
                cmocka_unit_test(test_unknown_command_and_option),
                cmocka_unit_test(test_too_many_arguments),
                cmocka_unit_test(test_help_and_version),
                cmocka_unit_test(test_limit_is_checked),
                cmocka_unit_test(test_recipe_limit),
                cmocka_unit_test(test_access_hint_for_non_root),
        };
        return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
