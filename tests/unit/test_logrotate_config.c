/* logrotate recipe: attributes of a set -> struct lr_set, and the small parsers. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lr_config.h"

static struct lr_set *parse_ok(const char *json)
{
        json_object *o = json_tokener_parse(json);
        struct lr_set *s = NULL;
        char *err = NULL;
        assert_non_null(o);
        assert_int_equal(lr_set_parse("web", o, &s, &err), 0);
        assert_null(err);
        json_object_put(o);
        return s;
}

/* Returns the error message (caller frees); the parse must fail with -EINVAL. */
static char *parse_err(const char *json)
{
        json_object *o = json_tokener_parse(json);
        struct lr_set *s = NULL;
        char *err = NULL;
        assert_non_null(o);
        assert_int_equal(lr_set_parse("web", o, &s, &err), -EINVAL);
        assert_null(s);
        assert_non_null(err);
        json_object_put(o);
        return err;
}

static void test_size_units_are_powers_of_1024(void **state)
{
        uint64_t v;
        assert_int_equal(lr_parse_size("100", &v), 0);
        assert_int_equal(v, 100);
        assert_int_equal(lr_parse_size("100k", &v), 0);
        assert_int_equal(v, 102400);
        assert_int_equal(lr_parse_size("100M", &v), 0);
        assert_int_equal(v, 100ULL << 20);
        assert_int_equal(lr_parse_size("2G", &v), 0);
        assert_int_equal(v, 2ULL << 30);
}

static void test_size_rejects_garbage_and_overflow(void **state)
{
        uint64_t v = 7;
        assert_int_equal(lr_parse_size("10X", &v), -EINVAL);
        assert_int_equal(lr_parse_size("M", &v), -EINVAL);
        assert_int_equal(lr_parse_size("-1", &v), -EINVAL);
        assert_int_equal(lr_parse_size("10MB", &v), -EINVAL);
        assert_int_equal(lr_parse_size("99999999999999999G", &v), -EINVAL);
        assert_int_equal(lr_parse_size("99999999999999999999", &v), -EINVAL);
        assert_int_equal(v, 7);
}

static void test_signal_names_and_numbers(void **state)
{
        int s;
        assert_int_equal(lr_parse_signal("SIGUSR2", &s), 0);
        assert_int_equal(s, SIGUSR2);
        assert_int_equal(lr_parse_signal("hup", &s), 0);
        assert_int_equal(s, SIGHUP);
        assert_int_equal(lr_parse_signal("10", &s), 0);
        assert_int_equal(s, 10);
        assert_int_equal(lr_parse_signal("SIGFOO", &s), -EINVAL);
        assert_int_equal(lr_parse_signal("0", &s), -EINVAL);
        assert_int_equal(lr_parse_signal("9999", &s), -EINVAL);
}

static void test_mode_is_octal_up_to_07777(void **state)
{
        mode_t m;
        assert_int_equal(lr_parse_mode("0640", &m), 0);
        assert_int_equal(m, 0640);
        assert_int_equal(lr_parse_mode("07777", &m), 0);
        assert_int_equal(lr_parse_mode("010000", &m), -EINVAL);
        assert_int_equal(lr_parse_mode("0698", &m), -EINVAL);
        assert_int_equal(lr_parse_mode("", &m), -EINVAL);
}

static void test_defaults_of_a_minimal_set(void **state)
{
        struct lr_set *s = parse_ok("{\"paths\": \"/var/log/x.log\", \"reopen\": {\"pidfile\": \"/run/x.pid\"}}");
        assert_string_equal(s->paths[0], "/var/log/x.log");
        assert_null(s->paths[1]);
        assert_int_equal(s->rotate, 4);
        assert_int_equal(s->frequency, LR_FREQ_DAILY);
        assert_int_equal(s->compress, LR_COMP_ZSTD);
        assert_int_equal(s->compress_level, -1);
        assert_int_equal(s->method, LR_METHOD_REOPEN);
        assert_int_equal(s->reopen_signal, SIGHUP);
        assert_int_equal(s->create_mode, 0640);
        assert_string_equal(lr_set_dateformat(s), "-%Y%m%d");
        lr_set_free(s);
}

static void test_every_key(void **state)
{
        struct lr_set *s = parse_ok(
                "{\"paths\": [\"/a/*.log\", \"/b/*.log\"], \"rotate\": 9, \"frequency\": \"hourly\", \"size\": \"1M\","
                " \"minsize\": 10, \"maxsize\": \"2G\", \"maxage\": 30, \"compress\": \"xz\", \"compress_level\": 3,"
                " \"delaycompress\": true, \"dateext\": true, \"missingok\": true, \"notifempty\": true,"
                " \"olddir\": \"old\", \"method\": \"create\","
                " \"create\": {\"mode\": \"0600\", \"owner\": \"root\", \"group\": \"adm\"}}");
        assert_string_equal(s->paths[1], "/b/*.log");
        assert_int_equal(s->rotate, 9);
        assert_int_equal(s->frequency, LR_FREQ_HOURLY);
        assert_int_equal(s->size, 1 << 20);
        assert_int_equal(s->minsize, 10);
        assert_int_equal(s->maxsize, 2ULL << 30);
        assert_int_equal(s->maxage, 30);
        assert_int_equal(s->compress, LR_COMP_XZ);
        assert_int_equal(s->compress_level, 3);
        assert_true(s->delaycompress && s->dateext && s->missingok && s->notifempty);
        assert_string_equal(s->olddir, "old");
        assert_int_equal(s->method, LR_METHOD_CREATE);
        assert_int_equal(s->create_mode, 0600);
        assert_string_equal(s->create_group, "adm");
        assert_string_equal(lr_set_dateformat(s), "-%Y%m%d%H");
        lr_set_free(s);
}

static void test_command_string_runs_through_sh(void **state)
{
        struct lr_set *s = parse_ok("{\"paths\": \"/x\", \"reopen\": {\"command\": \"kill -USR2 1\", \"signal\": \"USR2\"}}");
        assert_string_equal(s->reopen_command[0], "/bin/sh");
        assert_string_equal(s->reopen_command[1], "-c");
        assert_string_equal(s->reopen_command[2], "kill -USR2 1");
        assert_null(s->reopen_command[3]);
        assert_int_equal(s->reopen_signal, SIGUSR2);
        lr_set_free(s);
}

/* One way to tell the writer; a unit may come with a pidfile, and is preferred to it (issue 14:
 * the kernel knows a unit's processes, a pidfile can be forged). */
static void test_reopen_needs_exactly_one_way(void **state)
{
        struct lr_set *s;
        char *e = parse_err("{\"paths\": \"/x\"}");
        assert_non_null(strstr(e, "logrotate.sets.web.reopen"));
        free(e);
        e = parse_err("{\"paths\": \"/x\", \"reopen\": {\"unit\": \"a.service\", \"command\": \"true\"}}");
        assert_non_null(strstr(e, "give one of unit"));
        free(e);
        e = parse_err("{\"paths\": \"/x\", \"reopen\": {\"pidfile\": \"/p\", \"command\": \"true\"}}");
        assert_non_null(strstr(e, "found 2"));
        free(e);
        s = parse_ok("{\"paths\": \"/x\", \"reopen\": {\"unit\": \"a.service\", \"pidfile\": \"/p\", "
                     "\"exe\": \"/usr/bin/zeo\"}, \"allowhardlink\": true, \"su\": {\"user\": \"www\"}}");
        assert_string_equal(s->reopen_unit, "a.service");
        assert_string_equal(s->reopen_exe, "/usr/bin/zeo");
        assert_true(s->allowhardlink);
        assert_string_equal(s->su_user, "www");
        lr_set_free(s);
        e = parse_err("{\"paths\": \"/x\", \"reopen\": {\"pidfile\": \"/p\", \"exe\": \"zeo\"}}");
        assert_non_null(strstr(e, "reopen.exe"));
        free(e);
        e = parse_err("{\"paths\": \"/x\", \"method\": \"create\", \"su\": {\"group\": \"www\"}}");
        assert_non_null(strstr(e, "su.user"));
        free(e);
}

static void test_errors_name_the_key(void **state)
{
        static const struct { const char *json, *key; } cases[] = {
                { "{\"paths\": \"var/log/x\", \"method\": \"create\"}", "paths" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"frequency\": \"daily-ish\"}", "frequency" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"rotate\": 10001}", "rotate" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"rotate\": -1}", "rotate" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"size\": \"lots\"}", "size" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"compress\": \"bzip2\"}", "compress" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"compress\": \"gzip\", \"compress_level\": 10}",
                  "compress_level" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"compress_level\": 23}", "compress_level" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"dateformat\": \"-%Y/%m\"}", "dateformat" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"create\": {\"mode\": \"rw\"}}", "create.mode" },
                { "{\"paths\": \"/x\", \"reopen\": {\"pidfile\": \"/p\", \"signal\": \"SIGNOPE\"}}", "reopen.signal" },
                { "{\"paths\": \"/x\", \"reopen\": {\"command\": []}}", "reopen.command" },
                { "{\"method\": \"create\"}", "paths" },
                /* issue 15: values the schema lets through */
                { "{\"paths\": \"/x\", \"method\": \"create\", \"size\": \"10MB\"}", "size" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"minsize\": -1}", "minsize" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"maxage\": 1e30}", "maxage" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"dateformat\": \"\"}", "dateformat" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"dateformat\": \"-%A\"}", "dateformat" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"dateformat\": \"-%Y%\"}", "dateformat" },
                { "{\"paths\": \"/x\", \"reopen\": {\"command\": \"\"}}", "reopen.command" },
                { "{\"paths\": \"/x\", \"reopen\": {\"command\": \"  \"}}", "reopen.command" },
                { "{\"paths\": \"/x\", \"reopen\": {\"command\": [\"\"]}}", "reopen.command[0]" },
                { "{\"paths\": \"/x\", \"reopen\": {\"pidfile\": \"/p\", \"signal\": \"SIGKILLME\"}}",
                  "reopen.signal" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"create\": {\"mode\": \"0999\"}}", "create.mode" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"create\": {\"mode\": \"017777\"}}",
                  "create.mode" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *e = parse_err(cases[i].json);
                char want[64];
                snprintf(want, sizeof(want), "logrotate.sets.web.%s", cases[i].key);
                if (!strstr(e, want))
                        fail_msg("case %zu: \"%s\" does not name %s", i, e, want);
                free(e);
        }
}

/* The message says what was wrong and what is expected. */
static void test_errors_say_what_is_expected(void **state)
{
        static const struct { const char *json, *says; } cases[] = {
                { "{\"paths\": \"/x\", \"method\": \"create\", \"size\": \"10MB\"}", "\"10MB\" is not a size" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"maxage\": 1e30}", "1e+30 is not a whole number in 0..100000" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"dateformat\": \"\"}", "dateformat: empty" },
                { "{\"paths\": \"/x\", \"method\": \"create\", \"dateformat\": \"-%A\"}", "uses %A" },
                { "{\"paths\": \"/x\", \"reopen\": {\"command\": \"\"}}", "reopen.command: empty" },
                { "{\"paths\": \"/x\", \"reopen\": {\"pidfile\": \"/p\", \"signal\": \"SIGKILLME\"}}",
                  "\"SIGKILLME\" is not a signal" },
                { "{\"paths\": \"/x\", \"method\": \"weekly\"}", "is not one of reopen, create, copytruncate" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *e = parse_err(cases[i].json);
                if (!strstr(e, cases[i].says))
                        fail_msg("case %zu: \"%s\" does not say \"%s\"", i, e, cases[i].says);
                free(e);
        }
}

/* A 5000-byte value is quoted cut to LR_QUOTE_MAX bytes, with its length: the message names the
 * key and stays short. */
static void test_long_values_are_quoted_cut(void **state)
{
        static const char *const keys[] = { "signal", "dateformat", "mode", "size", "method", "paths" };
        char *big = malloc(5001);

        assert_non_null(big);
        memset(big, 'Z', 5000);
        big[5000] = '\0';
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                json_object *o = json_tokener_parse("{\"paths\": \"/x\", \"reopen\": {\"pidfile\": \"/p\"}}"), *sub;
                struct lr_set *s = NULL;
                char *err = NULL;
                if (strcmp(keys[i], "signal") == 0) {
                        json_object_object_get_ex(o, "reopen", &sub);
                        json_object_object_add(sub, "signal", json_object_new_string(big));
                } else if (strcmp(keys[i], "mode") == 0) {
                        sub = json_object_new_object();
                        json_object_object_add(sub, "mode", json_object_new_string(big));
                        json_object_object_add(o, "create", sub);
                } else
                        json_object_object_add(o, keys[i], json_object_new_string(big));
                assert_int_equal(lr_set_parse("web", o, &s, &err), -EINVAL);
                assert_non_null(err);
                if (!strstr(err, keys[i]) || strlen(err) > 400 || !strstr(err, "(5000 bytes)"))
                        fail_msg("%s: %s", keys[i], err);
                free(err);
                json_object_put(o);
        }
        free(big);
}

static void test_path_count_limit(void **state)
{
        json_object *o = json_object_new_object(), *paths = json_object_new_array();
        struct lr_set *s = NULL;
        char *err = NULL;

        for (int i = 0; i <= LR_MAX_PATHS; i++)
                json_object_array_add(paths, json_object_new_string("/x"));
        json_object_object_add(o, "paths", paths);
        json_object_object_add(o, "method", json_object_new_string("create"));
        assert_int_equal(lr_set_parse("web", o, &s, &err), -EINVAL);
        assert_non_null(strstr(err, "paths"));
        free(err);
        json_object_array_del_idx(paths, 0, 1);
        assert_int_equal(lr_set_parse("web", o, &s, &err), 0);
        lr_set_free(s);
        json_object_put(o);
}

static void test_extensions(void **state)
{
        assert_string_equal(lr_compression_ext(LR_COMP_GZIP), ".gz");
        assert_string_equal(lr_compression_ext(LR_COMP_XZ), ".xz");
        assert_string_equal(lr_compression_ext(LR_COMP_ZSTD), ".zst");
        assert_string_equal(lr_compression_ext(LR_COMP_NONE), "");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_size_units_are_powers_of_1024),
                cmocka_unit_test(test_size_rejects_garbage_and_overflow),
                cmocka_unit_test(test_signal_names_and_numbers),
                cmocka_unit_test(test_mode_is_octal_up_to_07777),
                cmocka_unit_test(test_defaults_of_a_minimal_set),
                cmocka_unit_test(test_every_key),
                cmocka_unit_test(test_command_string_runs_through_sh),
                cmocka_unit_test(test_reopen_needs_exactly_one_way),
                cmocka_unit_test(test_errors_name_the_key),
                cmocka_unit_test(test_errors_say_what_is_expected),
                cmocka_unit_test(test_long_values_are_quoted_cut),
                cmocka_unit_test(test_path_count_limit),
                cmocka_unit_test(test_extensions),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
