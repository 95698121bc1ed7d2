/* buf: the size-capped dynamic buffer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/buf.h"

static void test_append_and_printf(void **state)
{
        struct buf b = BUF_INIT(1024);

        assert_int_equal(buf_puts(&b, "abc"), 0);
        assert_int_equal(buf_printf(&b, "-%d-", 42), 0);
        assert_string_equal(buf_str(&b), "abc-42-");
        assert_int_equal(b.len, 7);
        buf_free(&b);
}

/* Crossing the cap fails with -E2BIG and leaves the contents as they were. */
static void test_cap_is_enforced(void **state)
{
        struct buf b = BUF_INIT(8);

        assert_int_equal(buf_puts(&b, "12345678"), 0);
        assert_int_equal(buf_puts(&b, "9"), -E2BIG);
        assert_int_equal(buf_printf(&b, "%s", "x"), -E2BIG);
        assert_string_equal(buf_str(&b), "12345678");
        buf_free(&b);
}

static void test_steal_resets(void **state)
{
        struct buf b = BUF_INIT(64);
        char *s;

        s = buf_steal(&b);
        assert_string_equal(s, "");
        free(s);
        assert_int_equal(buf_puts(&b, "x"), 0);
        s = buf_steal(&b);
        assert_string_equal(s, "x");
        assert_null(b.data);
        assert_int_equal(b.len, 0);
        free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_append_and_printf),
                cmocka_unit_test(test_cap_is_enforced),
                cmocka_unit_test(test_steal_resets),
        };
        return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
