/* unattended_upgrades: os-release parsing and family detection. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "uu_os_release.h"
#include "util/fileio.h"

#define FIXTURES TEST_DATA_DIR "/unattended_upgrades/os-release/"

static char *fixture(const char *name)
{
        char path[512];
        char *text = NULL;

        snprintf(path, sizeof path, "%s%s", FIXTURES, name);
        assert_int_equal(read_file_capped(path, UU_OS_RELEASE_MAX_BYTES, &text, NULL), 0);
        return text;
}

static void assert_value(const char *text, const char *key, const char *want)
{
        char *v = NULL;

        assert_int_equal(uu_os_release_value(text, key, &v), 0);
        assert_string_equal(v, want);
        free(v);
}

static void assert_value_error(const char *text, const char *key, int want)
{
        char *v = NULL;

        assert_int_equal(uu_os_release_value(text, key, &v), want);
        assert_null(v);
}

static void test_value_unquoted(void **state)
{
        assert_value("ID=debian\nVERSION_ID=12\n", "ID", "debian");
        assert_value("ID=debian\nVERSION_ID=12\n", "VERSION_ID", "12");
}

static void test_value_double_quoted_with_escapes(void **state)
{
        assert_value("NAME=\"A \\\"quoted\\\" \\$name \\\\ and \\q\"\n", "NAME", "A \"quoted\" $name \\ and \\q");
}

static void test_value_single_quoted_is_literal(void **state)
{
        assert_value("NAME='a \\ \"b\"'\n", "NAME", "a \\ \"b\"");
}

static void test_value_last_assignment_wins(void **state)
{
        assert_value("ID=one\nID=two\n", "ID", "two");
}

static void test_value_comments_blanks_and_indent(void **state)
{
        assert_value("# ID=commented\n\n   ID=\"x\"   # trailing\n", "ID", "x");
}

static void test_value_key_is_whole_word(void **state)
{
        /* ID must not match ID_LIKE, VERSION must not match VERSION_ID. */
        assert_value_error("ID_LIKE=debian\nVERSION_ID=12\n", "ID", -ENOENT);
        assert_value_error("VERSION_ID=12\n", "VERSION", -ENOENT);
}

static void test_value_no_trailing_newline(void **state)
{
        assert_value("ID=fedora", "ID", "fedora");
}

static void test_value_broken_quoting(void **state)
{
        assert_value_error("ID=\"debian\n", "ID", -EINVAL);
        assert_value_error("ID=\"deb\"ian\n", "ID", -EINVAL);
        assert_value_error("ID=two words\n", "ID", -EINVAL);
        assert_value_error("ID=trailing\\\n", "ID", -EINVAL);
}

/* A value of exactly UU_OS_RELEASE_VALUE_MAX bytes is read; one more byte is refused. */
static void test_value_length_limit(void **state)
{
        size_t n = UU_OS_RELEASE_VALUE_MAX;
        char *text = malloc(n + 16);
        char *v = NULL;

        assert_non_null(text);
        memcpy(text, "ID=", 3);
        memset(text + 3, 'a', n);
        text[3 + n] = '\0';
        assert_int_equal(uu_os_release_value(text, "ID", &v), 0);
        assert_int_equal(strlen(v), n);
        free(v);
        v = NULL;
        text[3 + n] = 'a';
        text[4 + n] = '\0';
        assert_int_equal(uu_os_release_value(text, "ID", &v), -E2BIG);
        assert_null(v);
        free(text);
}

struct family_case {
        const char *file;
        enum uu_family family;
        const char *id;
        const char *version_id;
};

static void test_detect_fixtures(void **state)
{
        static const struct family_case cases[] = {
                { "debian-12", UU_FAMILY_DEBIAN, "debian", "12" },
                { "ubuntu-24.04", UU_FAMILY_UBUNTU, "ubuntu", "24.04" },
                { "linuxmint-21", UU_FAMILY_UBUNTU, "linuxmint", "21.3" },   /* by ID_LIKE */
                { "amzn-2023", UU_FAMILY_DNF, "amzn", "2023" },
                { "amzn-2", UU_FAMILY_YUM, "amzn", "2" },
                { "rhel-9", UU_FAMILY_DNF, "rhel", "9.4" },
                { "rocky-9", UU_FAMILY_DNF, "rocky", "9.4" },
                { "centos-7", UU_FAMILY_YUM, "centos", "7" },
                { "fedora-40", UU_FAMILY_DNF, "fedora", "40" },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char *text = fixture(cases[i].file);
                struct uu_os os = { 0 };

                assert_int_equal(uu_os_detect(text, &os), 0);
                assert_int_equal(os.family, cases[i].family);
                assert_string_equal(os.id, cases[i].id);
                assert_string_equal(os.version_id, cases[i].version_id);
                uu_os_done(&os);
                free(text);
        }
}

static void test_detect_raspbian_like_debian(void **state)
{
        struct uu_os os = { 0 };

        assert_int_equal(uu_os_detect("ID=raspbian\nID_LIKE=debian\nVERSION_ID=\"12\"\n", &os), 0);
        assert_int_equal(os.family, UU_FAMILY_DEBIAN);
        uu_os_done(&os);
}

static void test_detect_unknown_system(void **state)
{
        char *text = fixture("arch");
        struct uu_os os = { 0 };

        assert_int_equal(uu_os_detect(text, &os), -EOPNOTSUPP);
        assert_null(os.id);
        free(text);
        /* No ID at all means "linux", which is no family either. */
        assert_int_equal(uu_os_detect("NAME=whatever\n", &os), -EOPNOTSUPP);
        assert_int_equal(uu_os_detect("", &os), -EOPNOTSUPP);
}

static void test_detect_broken_file(void **state)
{
        struct uu_os os = { 0 };

        assert_int_equal(uu_os_detect("ID=\"debian\n", &os), -EINVAL);
}

/* A file of exactly the cap is read; one byte more is refused with -EFBIG. */
static void test_read_capped_limit(void **state)
{
        char dir[] = "/tmp/test_uu_osr.XXXXXX";
        char path[64];
        char *text = NULL;
        FILE *f;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/os-release", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        for (unsigned i = 0; i < 100; i++)
                fputc('x', f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(read_file_capped(path, 100, &text, NULL), 0);
        assert_int_equal(strlen(text), 100);
        free(text);
        text = NULL;
        assert_int_equal(read_file_capped(path, 99, &text, NULL), -EFBIG);
        assert_null(text);
        unlink(path);
        assert_int_equal(read_file_capped(path, 100, &text, NULL), -ENOENT);
        rmdir(dir);
}

static void test_family_names(void **state)
{
        assert_string_equal(uu_family_name(UU_FAMILY_DEBIAN), "debian");
        assert_string_equal(uu_family_name(UU_FAMILY_UBUNTU), "ubuntu");
        assert_string_equal(uu_family_name(UU_FAMILY_DNF), "dnf");
        assert_string_equal(uu_family_name(UU_FAMILY_YUM), "yum");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_value_unquoted),
                cmocka_unit_test(test_value_double_quoted_with_escapes),
                cmocka_unit_test(test_value_single_quoted_is_literal),
                cmocka_unit_test(test_value_last_assignment_wins),
                cmocka_unit_test(test_value_comments_blanks_and_indent),
                cmocka_unit_test(test_value_key_is_whole_word),
                cmocka_unit_test(test_value_no_trailing_newline),
                cmocka_unit_test(test_value_broken_quoting),
                cmocka_unit_test(test_value_length_limit),
                cmocka_unit_test(test_detect_fixtures),
                cmocka_unit_test(test_detect_raspbian_like_debian),
                cmocka_unit_test(test_detect_unknown_system),
                cmocka_unit_test(test_detect_broken_file),
                cmocka_unit_test(test_read_capped_limit),
                cmocka_unit_test(test_family_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
