/* log: target selection (journal when stderr is the journal), levels, and the secret scrubber. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/log.h"

static void test_stderr_by_default(void **state)
{
        unsetenv("JOURNAL_STREAM");
        unsetenv("INVOCATION_ID");
        log_setup(LOG_TARGET_AUTO, LOG_NOTICE);
        assert_false(log_to_journal());
}

/* JOURNAL_STREAM naming our stderr means systemd connected stderr to the journal. */
static void test_journal_when_stderr_is_the_journal(void **state)
{
        struct stat st;
        char v[64];

        assert_int_equal(fstat(STDERR_FILENO, &st), 0);
        snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
        setenv("JOURNAL_STREAM", v, 1);
        log_setup(LOG_TARGET_AUTO, LOG_NOTICE);
        assert_true(log_to_journal());
        /* A stale value (stderr redirected elsewhere since) does not count. */
        setenv("JOURNAL_STREAM", "1:2", 1);
        log_setup(LOG_TARGET_AUTO, LOG_NOTICE);
        assert_false(log_to_journal());
        unsetenv("JOURNAL_STREAM");
        log_setup(LOG_TARGET_STDERR, LOG_NOTICE);
}

static void test_errno_helpers_return_negative(void **state)
{
        log_setup(LOG_TARGET_STDERR, LOG_ERR);
        assert_int_equal(log_warning_errno(5, "hidden below the level"), -5);
        assert_int_equal(log_error_errno(-13, "shown: %s", "x"), -13);
        assert_int_equal(log_get_max_level(), LOG_ERR);
}

static void test_scrub_longest_match_first(void **state)
{
        char *s;

        log_register_secret("abcd1234");
        log_register_secret("abcd1234efgh");
        log_register_secret("abc"); /* too short to be a secret: ignored */
        s = log_scrub("x abcd1234efgh y abcd1234 z abc");
        assert_string_equal(s, "x (redacted) y (redacted) z abc");
        free(s);
        log_forget_secrets();
        s = log_scrub("abcd1234");
        assert_string_equal(s, "abcd1234");
        free(s);
}

/* The fast path (no secret in the line) and the runs copied between secrets. */
static void test_scrub_edges(void **state)
{
        char *s;

        log_register_secret("s3cr3t-one");
        log_register_secret("Another-S3cret");
        s = log_scrub("s3cr3t-one");
        assert_string_equal(s, "(redacted)");
        free(s);
        s = log_scrub("s3cr3t-ones3cr3t-oneAnother-S3cret.");
        assert_string_equal(s, "(redacted)(redacted)(redacted).");
        free(s);
        s = log_scrub("  vol-1 snap-0123456789abcdef0 (2026-01-01T08:00:00Z): keep: within keep=15 (1st newest)");
        assert_string_equal(s, "  vol-1 snap-0123456789abcdef0 (2026-01-01T08:00:00Z): keep: within keep=15 (1st newest)");
        free(s);
        s = log_scrub("s3cr3t-on");    /* a prefix only */
        assert_string_equal(s, "s3cr3t-on");
        free(s);
        s = log_scrub("");
        assert_string_equal(s, "");
        free(s);
        log_forget_secrets();
        s = log_scrub("s3cr3t-one");
        assert_string_equal(s, "s3cr3t-one");
        free(s);
}

/* What goes to stderr is scrubbed. */
static void test_stderr_output_is_scrubbed(void **state)
{
        char path[] = "/tmp/opsagent-log-XXXXXX", buf[512] = "";
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);
        FILE *f;

        assert_true(fd >= 0);
        log_setup(LOG_TARGET_STDERR, LOG_INFO);
        log_register_secret("SuperSecretValue");
        fflush(stderr);
        dup2(fd, STDERR_FILENO);
        log_info("token is SuperSecretValue");
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        f = fopen(path, "r");
        assert_non_null(f);
        assert_non_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        close(fd);
        unlink(path);
        assert_string_equal(buf, "opsagent: info: token is (redacted)\n");
        log_forget_secrets();
}

static bool has_field(char **v, size_t n, const char *field)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], field) == 0)
                        return true;
        return false;
}

static bool has_name(char **v, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strncmp(v[i], name, strlen(name)) == 0 && v[i][strlen(name)] == '=')
                        return true;
        return false;
}

static void free_fields(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
}

/* A line logged outside a run has no RECIPE= or RUN_ID= at all: journalctl RECIPE= would
 * otherwise match it. */
static void test_journal_fields_without_a_run(void **state)
{
        char *v[LOG_JOURNAL_FIELDS_MAX];
        size_t n = 0;

        log_set_context(NULL, NULL);
        assert_int_equal(log_journal_fields(LOG_WARNING, 0, "hello", NULL, v, &n), 0);
        assert_true(has_field(v, n, "MESSAGE=hello"));
        assert_true(has_field(v, n, "PRIORITY=4"));
        assert_true(has_field(v, n, "SYSLOG_IDENTIFIER=opsagent"));
        assert_false(has_name(v, n, "RECIPE"));
        assert_false(has_name(v, n, "RUN_ID"));
        assert_false(has_name(v, n, "ERRNO"));
        assert_false(has_name(v, n, "MESSAGE_ID"));
        assert_false(has_name(v, n, "OPSAGENT_OUTCOME"));
        free_fields(v, n);
}

/* A run's line: the context's fields, and the ones the line adds. */
static void test_journal_fields_of_a_run(void **state)
{
        struct log_fields f = { .message_id = "0123456789abcdef0123456789abcdef", .outcome = "failed" };
        char *v[LOG_JOURNAL_FIELDS_MAX];
        size_t n = 0;

        log_set_context("zodb_pack", "8515cdb5aaaabbbbccccddddeeeeffff");
        assert_int_equal(log_journal_fields(LOG_ERR, -5, "zodb_pack: FAILED", &f, v, &n), 0);
        assert_int_equal(n, LOG_JOURNAL_FIELDS_MAX);
        assert_true(has_field(v, n, "RECIPE=zodb_pack"));
        assert_true(has_field(v, n, "RUN_ID=8515cdb5aaaabbbbccccddddeeeeffff"));
        assert_true(has_field(v, n, "ERRNO=5"));
        assert_true(has_field(v, n, "MESSAGE_ID=0123456789abcdef0123456789abcdef"));
        assert_true(has_field(v, n, "OPSAGENT_OUTCOME=failed"));
        free_fields(v, n);
        log_set_context(NULL, NULL);
}

/* Runs F with stdout going to a file; returns what it printed (caller frees). */
static char *capture_stdout(void (*f)(void))
{
        char path[] = "/tmp/opsagent-log-XXXXXX", *out = calloc(1, 512);
        int fd = mkstemp(path), saved = dup(STDOUT_FILENO);
        ssize_t k;

        assert_true(fd >= 0 && out);
        fflush(stdout);
        dup2(fd, STDOUT_FILENO);
        f();
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        k = pread(fd, out, 511, 0);
        assert_true(k >= 0);
        close(fd);
        unlink(path);
        return out;
}

static void say_two_lines(void)
{
        log_say("planning (dry run)");
        log_say_fields(LOG_ERR, NULL, "FAILED: why");
}

/* -q (errors only) silences the lines a command says, but not one said as an error. */
static void test_quiet_silences_say_but_not_errors(void **state)
{
        char *out;

        log_setup(LOG_TARGET_STDERR, LOG_NOTICE);
        out = capture_stdout(say_two_lines);
        assert_string_equal(out, "planning (dry run)\nFAILED: why\n");
        free(out);
        log_setup(LOG_TARGET_STDERR, LOG_ERR);
        out = capture_stdout(say_two_lines);
        assert_string_equal(out, "FAILED: why\n");
        free(out);
        log_setup(LOG_TARGET_STDERR, LOG_NOTICE);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stderr_by_default),
                cmocka_unit_test(test_journal_when_stderr_is_the_journal),
                cmocka_unit_test(test_errno_helpers_return_negative),
                cmocka_unit_test(test_scrub_longest_match_first),
                cmocka_unit_test(test_scrub_edges),
                cmocka_unit_test(test_stderr_output_is_scrubbed),
                cmocka_unit_test(test_journal_fields_without_a_run),
                cmocka_unit_test(test_journal_fields_of_a_run),
                cmocka_unit_test(test_quiet_silences_say_but_not_errors),
        };
        return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
