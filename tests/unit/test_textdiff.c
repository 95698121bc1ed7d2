/* textdiff: unified diffs hunk for hunk as GNU diff -u prints them. */
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
#include "util/fileio.h"

static char tmpdir[64];

static int group_setup(void **state)
{
        strcpy(tmpdir, "/tmp/opsagent-textdiff-XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

static bool have_diff(void)
{
        return system("diff --version >/dev/null 2>&1") == 0;
}

/* What `diff -u` prints for A -> B, without its two header lines (caller frees). */
static char *gnu_hunks(const char *a, const char *b)
{
        char pa[128], pb[128], cmd[512], chunk[4096], *nl;
        struct buf out = BUF_INIT(1 << 26);
        size_t n;
        FILE *p;
        char *s;

        snprintf(pa, sizeof(pa), "%s/a", tmpdir);
        snprintf(pb, sizeof(pb), "%s/b", tmpdir);
        assert_int_equal(write_file_atomic(pa, a, strlen(a), 0644), 0);
        assert_int_equal(write_file_atomic(pb, b, strlen(b), 0644), 0);
        snprintf(cmd, sizeof(cmd), "LC_ALL=C diff -u '%s' '%s'", pa, pb);
        p = popen(cmd, "r");
        assert_non_null(p);
        while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
                assert_int_equal(buf_append(&out, chunk, n), 0);
        assert_true(pclose(p) != -1);
        s = buf_steal(&out);
        assert_non_null(s);
        /* Drop "--- a\tDATE" and "+++ b\tDATE". */
        nl = strchr(s, '\n');
        if (nl)
                nl = strchr(nl + 1, '\n');
        memmove(s, nl ? nl + 1 : s + strlen(s), strlen(nl ? nl + 1 : s + strlen(s)) + 1);
        return s;
}

/* Our diff of A -> B, checked for its headers and returned without them (caller frees). */
static char *our_hunks(const char *a, const char *b)
{
        char *d = NULL, *body;

        assert_int_equal(textdiff_unified("/etc/app.conf", a, b, &d), 0);
        if (!*d)
                return d;
        assert_memory_equal(d, "--- /etc/app.conf\n+++ /etc/app.conf\n", 36);
        body = strdup(d + 36);
        assert_non_null(body);
        free(d);
        return body;
}

static void assert_same_as_gnu(const char *a, const char *b)
{
        char *want = gnu_hunks(a, b), *got = our_hunks(a, b);

        assert_string_equal(got, want);
        free(want);
        free(got);
}

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
        if (have_diff()) {
                assert_same_as_gnu("", "a\nb\n");
                assert_same_as_gnu("x\ny\nz\n", "");
        }
}

static void test_missing_final_newline(void **state)
{
        char *d = NULL;

        assert_int_equal(textdiff_unified("f", "a\nb", "a\nb\n", &d), 0);
        assert_string_equal(d, "--- f\n+++ f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
        free(d);
        if (have_diff()) {
                assert_same_as_gnu("a\nb", "a\nb\n");
                assert_same_as_gnu("a\nb\n", "a\nc");
                assert_same_as_gnu("1\n2\n3\n4\n5\n6\n7\n8\nlast", "1\n2\nthree\n4\n5\n6\n7\n8\nlast");
        }
}

/* Hand-picked pairs: separate and merged hunks (6 and 7 lines apart), changes at both ends,
 * repeated lines where several alignments are shortest. */
static void test_pairs_match_gnu_diff(void **state)
{
        static const char *const pairs[][2] = {
                { "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n",
                  "1\nTWO\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\nNINETEEN\n20\n" },
                { "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\nx\n3\n4\n5\n6\n7\n8\ny\n10\n" },
                { "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n", "1\nx\n3\n4\n5\n6\n7\n8\n9\ny\n11\n" },
                { "a\nb\nc\n", "z\na\nb\nc\nz\n" },
                { "}\n}\n}\n", "}\n}\n}\n}\n}\n" },
                { "a\n\nb\n\nc\n", "a\n\nb\n\nx\n\nc\n" },
                { "server {\n  listen 80;\n}\nserver {\n  listen 81;\n}\n",
                  "server {\n  listen 80;\n}\nserver {\n  listen 8080;\n}\nserver {\n  listen 81;\n}\n" },
                { "a\nb\nc\nd\ne\n", "e\nd\nc\nb\na\n" },
                { "x\nx\nx\ny\nx\nx\n", "x\ny\nx\nx\nx\nx\n" },
        };

        if (!have_diff())
                skip();
        for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
                assert_same_as_gnu(pairs[i][0], pairs[i][1]);
}

static uint32_t rng_state = 12345;

static uint32_t rnd(uint32_t n)
{
        rng_state = rng_state * 1103515245u + 12345u;
        return (rng_state >> 8) % n;
}

/* Random edits of random files over small alphabets (many equal lines, many equally short
 * scripts) give the hunks GNU diff gives. */
static void test_random_pairs_match_gnu_diff(void **state)
{
        if (!have_diff())
                skip();
        for (int it = 0; it < 150; it++) {
                struct buf a = BUF_INIT(1 << 20), b = BUF_INIT(1 << 20);
                uint32_t alpha = (uint32_t[]){ 3, 5, 10, 40 }[rnd(4)];
                uint32_t n = (uint32_t[]){ 0, 3, 10, 40, 200 }[rnd(5)];
                uint32_t edits = (uint32_t[]){ 1, 3, 10, 30 }[rnd(4)];
                uint32_t *lines = calloc(n + edits + 1, sizeof(*lines)), len = n;

                assert_non_null(lines);
                for (uint32_t i = 0; i < n; i++)
                        lines[i] = rnd(alpha);
                for (uint32_t i = 0; i < n; i++)
                        assert_int_equal(buf_printf(&a, "line %u\n", lines[i]), 0);
                for (uint32_t e = 0; e < edits; e++) {
                        uint32_t pos = rnd(len + 1), op = rnd(3);

                        if (op == 0 || len == 0) {
                                memmove(lines + pos + 1, lines + pos, (len - pos) * sizeof(*lines));
                                lines[pos] = rnd(alpha + 2);
                                len++;
                        } else if (op == 1) {
                                pos = pos == len ? len - 1 : pos;
                                memmove(lines + pos, lines + pos + 1, (len - pos - 1) * sizeof(*lines));
                                len--;
                        } else
                                lines[pos == len ? len - 1 : pos] = rnd(alpha + 2);
                }
                for (uint32_t i = 0; i < len; i++)
                        assert_int_equal(buf_printf(&b, "line %u\n", lines[i]), 0);
                assert_same_as_gnu(buf_str(&a), buf_str(&b));
                buf_free(&a);
                buf_free(&b);
                free(lines);
        }
}

/* TEXTDIFF_MAX_LINES lines are accepted, one more on either side is -E2BIG. */
static void test_line_limit(void **state)
{
        struct buf big = BUF_INIT((TEXTDIFF_MAX_LINES + 1) * 2 + 1);
        char *d = (char *)"untouched";

        for (int i = 0; i < TEXTDIFF_MAX_LINES; i++)
                assert_int_equal(buf_puts(&big, "x\n"), 0);
        assert_int_equal(textdiff_unified("f", buf_str(&big), "y\n", &d), 0);
        assert_non_null(strstr(d, "@@ -1,20000 +1 @@\n"));
        free(d);
        d = (char *)"untouched";
        assert_int_equal(buf_puts(&big, "x"), 0);  /* an unterminated last line counts too */
        assert_int_equal(textdiff_unified("f", buf_str(&big), "y\n", &d), -E2BIG);
        assert_int_equal(textdiff_unified("f", "y\n", buf_str(&big), &d), -E2BIG);
        assert_string_equal(d, "untouched");
        buf_free(&big);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_equal_texts_give_empty_diff),
                cmocka_unit_test(test_full_output),
                cmocka_unit_test(test_new_and_removed_file),
                cmocka_unit_test(test_missing_final_newline),
                cmocka_unit_test(test_pairs_match_gnu_diff),
                cmocka_unit_test(test_random_pairs_match_gnu_diff),
                cmocka_unit_test(test_line_limit),
        };
        return cmocka_run_group_tests_name("textdiff", tests, group_setup, group_teardown);
}
