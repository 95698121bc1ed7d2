/* table: columns as wide as their content, the header row, the last column cut to a width. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmd/table.h"

static char *print(const struct table *t, bool header, size_t width)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        table_print(t, header, width, f);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static struct table *history(void)
{
        static const char *const headers[] = { "STARTED", "RECIPE", "OUTCOME", "DURATION", "ERROR" };
        struct table *t = NULL;

        assert_int_equal(table_new(5, headers, &t), 0);
        assert_int_equal(table_add(t, (const char *const[]){ "2026-11-23T08:00:00Z", "ebs_snapshots", "failed",
                                                              "1 min 31 s", "ebs_snapshots: cannot describe" }),
                         0);
        assert_int_equal(table_add(t, (const char *const[]){ "2026-11-23T07:00:00Z", "logrotate", "success",
                                                              "0.1 s", NULL }),
                         0);
        return t;
}

/* The overflow of the issue: "failed      1 min 31 sebs_snapshots: ..." never happens. */
static void test_columns_fit_their_content(void **state)
{
        struct table *t = history();
        char *out = print(t, true, 0);

        assert_string_equal(out,
                            "STARTED               RECIPE         OUTCOME  DURATION    ERROR\n"
                            "2026-11-23T08:00:00Z  ebs_snapshots  failed   1 min 31 s  ebs_snapshots: cannot describe\n"
                            "2026-11-23T07:00:00Z  logrotate      success  0.1 s\n");
        free(out);
        table_free(t);
}

static void test_no_header_for_scripts(void **state)
{
        struct table *t = history();
        char *out = print(t, false, 0);

        assert_non_null(strstr(out, "2026-11-23T08:00:00Z  ebs_snapshots  failed   1 min 31 s  ebs_"));
        assert_null(strstr(out, "STARTED"));
        free(out);
        table_free(t);
}

/* At a terminal's width the message is cut, so that one run stays one line. */
static void test_last_column_cut_to_the_width(void **state)
{
        struct table *t = history();
        char *out = print(t, true, 70), *line;

        line = strstr(out, "\n2026-11-23T08") + 1;
        assert_int_equal(strcspn(line, "\n"), 70);
        assert_memory_equal(line + 67, TABLE_CUT_MARK, 3);
        free(out);
        table_free(t);
}

/* Never so narrow that nothing of the message is left; control characters become spaces. */
static void test_cut_keeps_some_and_cells_stay_on_one_line(void **state)
{
        static const char *const headers[] = { "A", "B" };
        struct table *t = NULL;
        char *out;

        assert_int_equal(table_new(2, headers, &t), 0);
        assert_int_equal(table_add(t, (const char *const[]){ "x", "first\nsecond\tthird" }), 0);
        out = print(t, false, 5);
        assert_string_equal(out, "x  first second third\n");
        free(out);
        table_free(t);
}

static void test_bad_column_counts(void **state)
{
        static const char *const headers[TABLE_COLUMNS_MAX + 1] = { 0 };
        struct table *t = NULL;

        assert_int_equal(table_new(0, headers, &t), -EINVAL);
        assert_int_equal(table_new(TABLE_COLUMNS_MAX + 1, headers, &t), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_columns_fit_their_content),
                cmocka_unit_test(test_no_header_for_scripts),
                cmocka_unit_test(test_last_column_cut_to_the_width),
                cmocka_unit_test(test_cut_keeps_some_and_cells_stay_on_one_line),
                cmocka_unit_test(test_bad_column_counts),
        };
        return cmocka_run_group_tests_name("table", tests, NULL, NULL);
}
