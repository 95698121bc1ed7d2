/* inifile and shellwords: the AWS CLI's INI dialect as botocore reads it (sections, comments,
 * continuation lines, nested blocks, [DEFAULT], what it refuses), each limit crossed; and the
 * shlex-style word splitting of credential_process and section names.
 * tests/integration/test_aws_config.py checks the same parser against botocore itself. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aws/inifile.h"
#include "aws/shellwords.h"
#include "util/buf.h"

static struct ini_file *parse_ok(const char *text)
{
        struct ini_file *f = NULL;
        struct error err = ERROR_INIT;
        int r = ini_parse(text, strlen(text), "test.ini", &f, &err);

        if (r < 0)
                fail_msg("parse failed: %s", err.msg);
        return f;
}

static const char *value(const struct ini_file *f, const char *section, const char *key)
{
        const struct ini_section *s = ini_section_find(f, section);
        const struct ini_entry *e = s ? ini_entry_find(s->entries, s->n, key) : NULL;

        return e ? e->value : NULL;
}

static int parse_err(const char *text, struct error *err)
{
        struct ini_file *f = NULL;
        int r = ini_parse(text, strlen(text), "test.ini", &f, err);

        assert_null(f);
        return r;
}

static void test_sections_keys_comments(void **state)
{
        struct ini_file *f = parse_ok("# a comment\n"
                                      "; another\n"
                                      "[default]\n"
                                      "Region = eu-west-1\n"
                                      "output:json\n"
                                      "   # indented comment\n"
                                      "endpoint_url = http://h:4566/p?q=1 # not a comment\n"
                                      "\n"
                                      "[profile ops]\n"
                                      "role_arn=arn:aws:iam::1:role/x\n"
                                      "[  spaced  ] trailing\n"
                                      "k = v\n"
                                      "[a]b]\n"
                                      "x = 1\n");

        assert_int_equal(f->n, 4);
        assert_string_equal(value(f, "default", "region"), "eu-west-1");   /* keys lower-cased */
        assert_string_equal(value(f, "default", "output"), "json");
        assert_string_equal(value(f, "default", "endpoint_url"), "http://h:4566/p?q=1 # not a comment");
        assert_string_equal(value(f, "profile ops", "role_arn"), "arn:aws:iam::1:role/x");
        assert_string_equal(value(f, "  spaced  ", "k"), "v");
        assert_string_equal(value(f, "a]b", "x"), "1");
        assert_int_equal(ini_section_find(f, "profile ops")->line, 9);
        ini_free(f);
}

static void test_continuation_and_nested(void **state)
{
        struct ini_file *f = parse_ok("[services local]\n"
                                      "ec2 =\n"
                                      "  endpoint_url = http://127.0.0.1:5000\n"
                                      "\n"
                                      "  Other = x = y\n"
                                      "sts=\n"
                                      "    endpoint_url=https://sts.example\n"
                                      "[profile p]\n"
                                      "description = first\n"
                                      "  second\n"
                                      "\n"
                                      "\t third\n"
                                      "empty =\n");
        const struct ini_section *s = ini_section_find(f, "services local");
        const struct ini_entry *ec2 = ini_entry_find(s->entries, s->n, "ec2");

        assert_null(ec2->value);
        assert_int_equal(ec2->n_sub, 2);
        assert_string_equal(ini_entry_find(ec2->sub, ec2->n_sub, "endpoint_url")->value, "http://127.0.0.1:5000");
        assert_string_equal(ini_entry_find(ec2->sub, ec2->n_sub, "Other")->value, "x = y");  /* not lower-cased */
        assert_string_equal(ini_entry_find(ini_entry_find(s->entries, s->n, "sts")->sub, 1, "endpoint_url")->value,
                            "https://sts.example");
        assert_string_equal(value(f, "profile p", "description"), "first\nsecond\n\nthird");
        assert_string_equal(value(f, "profile p", "empty"), "");
        ini_free(f);
}

static void test_default_section_inherited(void **state)
{
        struct ini_file *f = parse_ok("[DEFAULT]\nregion = us-west-2\nmax_attempts = 4\n"
                                      "[profile a]\nregion = eu-central-1\n[profile b]\n");

        assert_int_equal(f->n, 2);
        assert_null(ini_section_find(f, "DEFAULT"));
        assert_string_equal(value(f, "profile a", "region"), "eu-central-1");
        assert_string_equal(value(f, "profile a", "max_attempts"), "4");
        assert_string_equal(value(f, "profile b", "region"), "us-west-2");
        ini_free(f);
}

static void test_line_ends(void **state)
{
        struct ini_file *f = parse_ok("[default]\r\nregion = a\r\n[profile x]\rregion = b\r");

        assert_string_equal(value(f, "default", "region"), "a");
        assert_string_equal(value(f, "profile x", "region"), "b");
        ini_free(f);
}

/* What the CLI refuses: each is an error naming the file and the line. */
static void test_refused(void **state)
{
        static const struct {
                const char *text;
                const char *needle;
        } cases[] = {
                { "region = x\n", "test.ini:1: text before the first [section]" },
                { "[a]\nno delimiter here\n", "test.ini:2: not \"key = value\"" },
                { "[a]\n= value\n", "test.ini:2: a value without a key" },
                { "[a]\nk = 1\n[b]\n[a]\n", "test.ini:4: section [a] appears twice (first at line 1)" },
                { "[a]\nk = 1\nK = 2\n", "test.ini:3: key \"k\" appears twice in [a] (first at line 2;" },
                { "[s]\nec2 =\n  endpoint_url\n", "test.ini:2: the block under \"ec2\"" },
                { "[a]\nk = \xc3(\n", "test.ini:2: not valid UTF-8" },
                { "\xef\xbb\xbf[a]\n", "test.ini:1: text before the first [section]" },   /* a BOM, as Python */
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct error err = ERROR_INIT;

                assert_int_equal(parse_err(cases[i].text, &err), -EBADMSG);
                if (!strstr(err.msg, cases[i].needle))
                        fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].needle);
        }
        {
                struct ini_file *f = NULL;
                struct error err = ERROR_INIT;

                assert_int_equal(ini_parse("[a]\0k=1\n", 8, "test.ini", &f, &err), -EBADMSG);
                assert_non_null(strstr(err.msg, "NUL"));
        }
}

static void test_limits(void **state)
{
        struct buf b = BUF_INIT(INI_MAX_BYTES + 16);
        struct error err = ERROR_INIT;
        struct ini_file *f = NULL;

        /* one byte over the size limit */
        assert_int_equal(buf_puts(&b, "[a]\nk = "), 0);
        while (buf_len(&b) < INI_MAX_BYTES + 1)
                assert_int_equal(buf_puts(&b, "x"), 0);
        assert_int_equal(ini_parse(buf_str(&b), buf_len(&b), "big.ini", &f, &err), -EFBIG);
        assert_non_null(strstr(err.msg, "big.ini"));
        buf_reset(&b);
        error_clear(&err);

        /* the section limit, and one more */
        for (int i = 0; i < INI_MAX_SECTIONS; i++)
                assert_int_equal(buf_printf(&b, "[s%d]\n", i), 0);
        assert_int_equal(ini_parse(buf_str(&b), buf_len(&b), "s.ini", &f, &err), 0);
        assert_int_equal(f->n, INI_MAX_SECTIONS);
        ini_free(f);
        f = NULL;
        assert_int_equal(buf_puts(&b, "[one-more]\n"), 0);
        assert_int_equal(ini_parse(buf_str(&b), buf_len(&b), "s.ini", &f, &err), -E2BIG);
        buf_reset(&b);
        error_clear(&err);

        /* the entry limit, counted with nested keys */
        assert_int_equal(buf_puts(&b, "[a]\nblock =\n"), 0);
        for (int i = 0; i < INI_MAX_ENTRIES; i++)
                assert_int_equal(buf_printf(&b, " k%d=v\n", i), 0);
        assert_int_equal(ini_parse(buf_str(&b), buf_len(&b), "e.ini", &f, &err), -E2BIG);
        assert_non_null(strstr(err.msg, "more than"));
        buf_free(&b);
}

static void test_load_missing_is_enoent(void **state)
{
        struct ini_file *f = NULL;
        struct error err = ERROR_INIT;

        assert_int_equal(ini_load("/nonexistent/opsagent/config", &f, &err), -ENOENT);
        assert_false(error_is_set(&err));
}

static void words_are(const char *line, const char *const *want)
{
        struct error err = ERROR_INIT;
        char **w = NULL;
        size_t n = 0, i;

        if (shellwords_split(line, "test", &w, &n, &err) < 0)
                fail_msg("%s: %s", line, err.msg);
        for (i = 0; want[i]; i++) {
                assert_non_null(w[i]);
                assert_string_equal(w[i], want[i]);
        }
        assert_int_equal(n, i);
        assert_null(w[n]);
        shellwords_free(w);
}

static void test_shellwords(void **state)
{
        words_are("/usr/bin/creds --profile ops", (const char *const[]){ "/usr/bin/creds", "--profile", "ops", NULL });
        words_are("  a\t'b c'  \"d \\\"e\\\" \\\\ \\n\" f\\ g ''", (const char *const[]){ "a", "b c", "d \"e\" \\ \\n", "f g", "", NULL });
        words_are("profile \"my profile\"", (const char *const[]){ "profile", "my profile", NULL });
        words_are("a'b'\"c\"d", (const char *const[]){ "abcd", NULL });
        words_are("", (const char *const[]){ NULL });
}

static void test_shellwords_refused(void **state)
{
        struct error err = ERROR_INIT;
        struct buf b = BUF_INIT(SHELLWORDS_MAX_BYTES + 2);
        char **w = NULL;

        assert_int_equal(shellwords_split("a 'b", "credential_process", &w, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "credential_process has an unclosed single quote"));
        error_clear(&err);
        assert_int_equal(shellwords_split("a b\\", "x", &w, NULL, &err), -EINVAL);
        error_clear(&err);
        for (int i = 0; i <= SHELLWORDS_MAX_WORDS; i++)
                assert_int_equal(buf_puts(&b, "w "), 0);
        assert_int_equal(shellwords_split(buf_str(&b), "x", &w, NULL, &err), -E2BIG);
        error_clear(&err);
        buf_reset(&b);
        while (buf_len(&b) <= SHELLWORDS_MAX_BYTES)
                assert_int_equal(buf_puts(&b, "x"), 0);
        assert_int_equal(shellwords_split(buf_str(&b), "x", &w, NULL, &err), -E2BIG);
        buf_free(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sections_keys_comments),
                cmocka_unit_test(test_continuation_and_nested),
                cmocka_unit_test(test_default_section_inherited),
                cmocka_unit_test(test_line_ends),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_load_missing_is_enoent),
                cmocka_unit_test(test_shellwords),
                cmocka_unit_test(test_shellwords_refused),
        };
        return cmocka_run_group_tests_name("inifile", tests, NULL, NULL);
}
