/* textdiff: dry-run diffs are GNU diff -u's own, with the file's name as both labels. */
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

#include "run/textdiff.h"
#include "util/buf.h"

static void test_equal_texts_give_empty_diff(void **state)
{
        char *d = NULL;

        assert_int_equal(textdiff_unified("f", "a\nb\n", "a\nb\n", &d), 0);
        assert_string_equal(d, "");
        free(d);
        assert_int_equal(textdiff_unified("f", NULL, "", &d), 0);
        assert_string_equal(d, "");
        free(d);
}

/* The complete output for one small change, headers included. */
static void test_full_output(void **state)
{
        char *d = NULL;

        assert_int_equal(textdiff_unified("/etc/nginx/nginx.conf",
                                          "user www-data;\nworker_processes 1;\npid /run/nginx.pid;\n",
                                          "user www-data;\nworker_processes 4;\npid /run/nginx.pid;\n", &d),
                         0);
        assert_string_equal(d, "--- /etc/nginx/nginx.conf\n"
                               "+++ /etc/nginx/nginx.conf\n"
                               "@@ -1,3 +1,3 @@\n"
                               " user www-data;\n"
                               "-worker_processes 1;\n"
                               "+worker_processes 4;\n"
                               " pid /run/nginx.pid;\n");
        free(d);
}

/* A file that does not exist yet (NULL) diffs as all additions from -0,0. */
static void test_new_and_removed_file(void **state)
{
        char *d = NULL;

        assert_int_equal(textdiff_unified("f", NULL, "a\nb\n", &d), 0);
        assert_string_equal(d, "--- f\n+++ f\n@@ -0,0 +1,2 @@\n+a\n+b\n");
        free(d);
        assert_int_equal(textdiff_unified("f", "a\n", "", &d), 0);
        assert_string_equal(d, "--- f\n+++ f\n@@ -1 +0,0 @@\n-a\n");
        free(d);
}

static void test_missing_final_newline(void **state)
{
        char *d = NULL;

        assert_int_equal(textdiff_unified("f", "a\nb", "a\nb\n", &d), 0);
        assert_string_equal(d, "--- f\n+++ f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
        free(d);
}

/* Hunks six lines apart stay separate, closer ones merge (diff's 3 lines of context). */
static void test_hunks(void **state)
{
        char *d = NULL;

        assert_int_equal(textdiff_unified("f", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\nx\n3\n4\n5\n6\n7\n8\ny\n10\n", &d),
                         0);
        assert_string_equal(d, "--- f\n+++ f\n@@ -1,10 +1,10 @@\n 1\n-2\n+x\n 3\n 4\n 5\n 6\n 7\n 8\n-9\n+y\n 10\n");
        free(d);
}

/* A diff longer than TEXTDIFF_MAX_OUTPUT is refused, not cut; nothing is returned. */
static void test_output_limit(void **state)
{
        struct buf big = BUF_INIT(TEXTDIFF_MAX_OUTPUT + 16);
        char *d = (char *)"untouched";

        while (buf_len(&big) < TEXTDIFF_MAX_OUTPUT)
                assert_int_equal(buf_puts(&big, "a line of configuration\n"), 0);
        assert_int_equal(textdiff_unified("f", "", buf_str(&big), &d), -E2BIG);
        assert_string_equal(d, "untouched");
        buf_free(&big);
}

/* Without diff(1), the caller is told so (-ENOENT) and can say the file would be rewritten. */
static void test_no_diff_installed(void **state)
{
        char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL, *d = (char *)"untouched";

        setenv("PATH", "/nonexistent", 1);
        assert_int_equal(textdiff_unified("f", "a\n", "b\n", &d), -ENOENT);
        assert_string_equal(d, "untouched");
        if (path)
                setenv("PATH", path, 1);
        free(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_equal_texts_give_empty_diff),
                cmocka_unit_test(test_full_output),
                cmocka_unit_test(test_new_and_removed_file),
                cmocka_unit_test(test_missing_final_newline),
                cmocka_unit_test(test_hunks),
                cmocka_unit_test(test_output_limit),
                cmocka_unit_test(test_no_diff_installed),
        };
        return cmocka_run_group_tests_name("textdiff", tests, NULL, NULL);
}
