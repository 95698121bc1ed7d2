/* `opsagent logrotate-import`: logrotate configuration -> recipe attributes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#include "cmd/logrotate_import.h"

/* Imports TEXT as /etc/logrotate.d/FILE; returns the set NAME (borrowed from *ret_all). */
static json_object *import_set(const char *text, const char *name, json_object **ret_all, char **ret_notes)
{
        json_object *lr, *sets, *set = NULL;

        assert_int_equal(logrotate_import_text(text, "/etc/logrotate.d/plone", ret_all, ret_notes), 0);
        assert_true(json_object_object_get_ex(*ret_all, "logrotate", &lr));
        assert_true(json_object_object_get_ex(lr, "sets", &sets));
        if (name)
                assert_true(json_object_object_get_ex(sets, name, &set));
        return set;
}

static const char *str(json_object *o, const char *path)
{
        char *p = strdup(path), *save = NULL;
        for (char *k = strtok_r(p, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
                if (!json_object_object_get_ex(o, k, &o))
                        o = NULL;
        free(p);
        return o ? json_object_get_string(o) : NULL;
}

static void test_seed_style_copytruncate_block(void **state)
{
        json_object *all = NULL, *s;
        char *notes = NULL;

        s = import_set("# supervisor\n/var/log/supervisor/*.log {\n  daily\n  rotate 7\n  compress\n"
                       "  delaycompress\n  missingok\n  notifempty\n  copytruncate\n}\n", "plone", &all, &notes);
        assert_string_equal(str(s, "paths"), "[ \"\\/var\\/log\\/supervisor\\/*.log\" ]");
        assert_string_equal(str(s, "frequency"), "daily");
        assert_string_equal(str(s, "rotate"), "7");
        assert_string_equal(str(s, "compress"), "gzip");
        assert_string_equal(str(s, "delaycompress"), "true");
        assert_string_equal(str(s, "missingok"), "true");
        assert_string_equal(str(s, "notifempty"), "true");
        assert_string_equal(str(s, "method"), "copytruncate");
        assert_non_null(notes);
        assert_non_null(strstr(notes, "zstd"));
        json_object_put(all);
        free(notes);
}

static void test_postrotate_kill_becomes_pidfile_and_signal(void **state)
{
        json_object *all = NULL, *s;
        char *notes = NULL;

        s = import_set("/srv/www/site/var/log/instance.log /srv/www/site/var/log/zeo.log {\n weekly\n rotate 4\n"
                       " create 0640 zope zope\n postrotate\n   /bin/kill -USR2 `cat /srv/www/site/var/instance.pid`"
                       " 2>/dev/null || true\n endscript\n}\n", "plone", &all, &notes);
        assert_string_equal(str(s, "method"), "reopen");
        assert_string_equal(str(s, "reopen.pidfile"), "/srv/www/site/var/instance.pid");
        assert_string_equal(str(s, "reopen.signal"), "SIGUSR2");
        assert_string_equal(str(s, "compress"), "none");
        assert_non_null(strstr(notes, "plone:8: create 0640"));
        json_object_put(all);
        free(notes);
}

static void test_postrotate_dollar_cat_and_systemctl(void **state)
{
        json_object *all = NULL, *s;
        char *notes = NULL;

        s = import_set("/a.log {\n daily\n postrotate\n  kill -s HUP $(cat /run/a.pid)\n endscript\n}\n",
                       "plone", &all, &notes);
        assert_string_equal(str(s, "reopen.pidfile"), "/run/a.pid");
        assert_string_equal(str(s, "reopen.signal"), "SIGHUP");
        json_object_put(all);
        free(notes);
        s = import_set("/b.log {\n daily\n postrotate\n  systemctl kill -s USR1 --kill-who=main b.service\n endscript\n}\n",
                       "plone", &all, &notes);
        assert_string_equal(str(s, "reopen.unit"), "b.service");
        assert_string_equal(str(s, "reopen.signal"), "SIGUSR1");
        json_object_put(all);
        free(notes);
        s = import_set("/c.log {\n daily\n postrotate\n  systemctl reload c.service\n  echo done\n endscript\n}\n",
                       "plone", &all, &notes);
        assert_string_equal(str(s, "reopen.command"), "systemctl reload c.service\n  echo done\n");
        json_object_put(all);
        free(notes);
}

static void test_globals_apply_to_later_blocks_and_names_are_numbered(void **state)
{
        json_object *all = NULL, *s;
        char *notes = NULL;

        s = import_set("weekly\nrotate 3\ncompress\n/a.log { create }\n/b.log {\n daily\n nocompress\n"
                       " size=100M\n}\n", "plone", &all, &notes);
        assert_string_equal(str(s, "frequency"), "weekly");
        assert_string_equal(str(s, "rotate"), "3");
        assert_string_equal(str(s, "compress"), "gzip");
        json_object_put(all);
        free(notes);
        s = import_set("weekly\nrotate 3\ncompress\n/a.log { create }\n/b.log {\n daily\n nocompress\n"
                       " size=100M\n}\n", "plone_2", &all, &notes);
        assert_string_equal(str(s, "size"), "100M");
        assert_null(str(s, "frequency"));        /* the later size wins, as in logrotate */
        assert_string_equal(str(s, "compress"), "none");
        json_object_put(all);
        free(notes);
}

static void test_unsupported_directives_are_named_with_line(void **state)
{
        json_object *all = NULL;
        char *notes = NULL;

        import_set("/a.log {\n daily\n su www-data adm\n mail ops@example.com\n sharedscripts\n frobnicate\n"
                   " create\n}\n", "plone", &all, &notes);
        assert_non_null(strstr(notes, "plone:3: su: cannot carry over"));
        assert_non_null(strstr(notes, "plone:4: mail: cannot carry over"));
        assert_non_null(strstr(notes, "plone:5: sharedscripts"));
        assert_non_null(strstr(notes, "plone:6: frobnicate: unknown directive"));
        json_object_put(all);
        free(notes);
}

static void test_syntax_errors(void **state)
{
        static const char *const bad[] = {
                "/a.log {\n daily\n",                         /* no } */
                "daily\n}\n",                                 /* } without { */
                "{\n daily\n}\n",                             /* no paths */
                "/a.log {\n postrotate\n  kill -HUP 1\n}\n",  /* no endscript */
                "/a.log {\n /b.log {\n }\n}\n",               /* nested */
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                json_object *all = NULL;
                char *notes = NULL;
                assert_int_equal(logrotate_import_text(bad[i], "x.conf", &all, &notes), -EINVAL);
                assert_null(all);
                assert_non_null(notes);
                assert_non_null(strstr(notes, "x.conf:"));
                free(notes);
        }
}

/* /etc/passwd is no logrotate file: refused in one line (not 25 "unknown directive" notes, and
 * an exit 0 with empty sets). */
static void test_not_a_logrotate_file(void **state)
{
        json_object *out = NULL;
        char *notes = NULL;

        assert_int_equal(logrotate_import_text("root:x:0:0:root:/root:/bin/bash\n"
                                               "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                                               "bin:x:2:2:bin:/bin:/usr/sbin/nologin\n",
                                               "/etc/passwd", &out, &notes),
                         -EINVAL);
        assert_null(out);
        assert_string_equal(notes, "/etc/passwd: no log file block (\"PATH { ... }\") in it, and lines that are "
                                   "no logrotate directive\n");
        free(notes);
        notes = NULL;
        assert_int_equal(logrotate_import_text("# only a comment\n", "/etc/empty", &out, &notes), -EINVAL);
        assert_non_null(strstr(notes, "no log file block"));
        free(notes);
}

static void test_command_usage_and_unreadable_file(void **state)
{
        char *argv1[] = { "logrotate-import", NULL };
        char *argv2[] = { "logrotate-import", "/nonexistent/logrotate.conf", NULL };
        assert_int_equal(cmd_logrotate_import(1, argv1), 2);
        assert_int_equal(cmd_logrotate_import(2, argv2), 2);
}

static void test_file_over_limit_is_refused(void **state)
{
        char path[] = "/tmp/lr-import-XXXXXX";
        int fd = mkstemp(path);
        char *argv[] = { "logrotate-import", path, NULL };

        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, LOGROTATE_IMPORT_MAX_BYTES + 1), 0);
        close(fd);
        assert_int_equal(cmd_logrotate_import(2, argv), 2);
        unlink(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_seed_style_copytruncate_block),
                cmocka_unit_test(test_postrotate_kill_becomes_pidfile_and_signal),
                cmocka_unit_test(test_postrotate_dollar_cat_and_systemctl),
                cmocka_unit_test(test_globals_apply_to_later_blocks_and_names_are_numbered),
                cmocka_unit_test(test_unsupported_directives_are_named_with_line),
                cmocka_unit_test(test_syntax_errors),
                cmocka_unit_test(test_not_a_logrotate_file),
                cmocka_unit_test(test_command_usage_and_unreadable_file),
                cmocka_unit_test(test_file_over_limit_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
