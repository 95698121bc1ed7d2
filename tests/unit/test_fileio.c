/* fileio: capped reads and atomic writes; each test in a fresh directory. */
#include <dirent.h>
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

#include "testdir.h"
#include "util/fileio.h"

static int setup(void **state)
{
        char *dir = malloc(64);

        assert_non_null(dir);
        assert_non_null(testdir_new(dir, 64, "fileio"));
        *state = dir;
        return 0;
}

static int teardown(void **state)
{
        assert_int_equal(testdir_remove(*state), 0);
        free(*state);
        return 0;
}

static size_t count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        size_t n = 0;

        assert_non_null(d);
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void test_atomic_write_then_read(void **state)
{
        char *f = path_join(*state, "a.conf"), *data = NULL;
        size_t len;
        struct stat st;

        assert_int_equal(write_file_atomic(f, "one\n", 4, 0600), 0);
        assert_int_equal(write_file_atomic(f, "two\n", 4, 0640), 0);
        assert_int_equal(read_file_capped(f, 100, &data, &len), 0);
        assert_string_equal(data, "two\n");
        assert_int_equal(len, 4);
        assert_int_equal(stat(f, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0640);
        assert_int_equal(count_entries(*state), 1); /* no temporary file left */
        free(data);
        free(f);
}

/* A file one byte over the cap is refused with -EFBIG; at the cap it is read. */
static void test_read_cap(void **state)
{
        char *f = path_join(*state, "big"), *data = NULL, content[10001];

        memset(content, 'x', sizeof(content));
        assert_int_equal(write_file_atomic(f, content, 10001, 0600), 0);
        assert_int_equal(read_file_capped(f, 10000, &data, NULL), -EFBIG);
        assert_null(data);
        assert_int_equal(read_file_capped(f, 10001, &data, NULL), 0);
        assert_int_equal(strlen(data), 10001);
        free(data);
        free(f);
}

static void test_write_into_missing_directory_fails_cleanly(void **state)
{
        char *f = path_join(*state, "missing/a.conf");

        assert_int_equal(write_file_atomic(f, "x", 1, 0600), -ENOENT);
        assert_int_equal(count_entries(*state), 0);
        free(f);
}

static void test_mkdir_p_and_join(void **state)
{
        char *d = path_join(*state, "a/b/c"), *j;
        struct stat st;

        assert_int_equal(mkdir_p(d, 0755), 0);
        assert_int_equal(mkdir_p(d, 0755), 0);
        assert_int_equal(stat(d, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        j = path_join("/root/", "/etc/x");
        assert_string_equal(j, "/root/etc/x");
        free(j);
        j = path_under_root("", "/etc/x");
        assert_string_equal(j, "/etc/x");
        free(j);
        j = path_under_root("/sandbox", "/etc/x");
        assert_string_equal(j, "/sandbox/etc/x");
        free(j);
        free(d);
}

static void test_readable_by_others(void **state)
{
        char *f = path_join(*state, "keys.json");

        assert_int_equal(write_file_atomic(f, "{}", 2, 0600), 0);
        assert_false(file_readable_by_others(f));
        assert_int_equal(chmod(f, 0644), 0);
        assert_true(file_readable_by_others(f));
        free(f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_atomic_write_then_read, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_cap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_into_missing_directory_fails_cleanly, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mkdir_p_and_join, setup, teardown),
                cmocka_unit_test_setup_teardown(test_readable_by_others, setup, teardown),
        };
        return cmocka_run_group_tests_name("fileio", tests, NULL, NULL);
}
