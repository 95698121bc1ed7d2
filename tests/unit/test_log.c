/* log: target selection (journal when stderr is the journal), levels, and the secret scrubber. */
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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stderr_by_default),
                cmocka_unit_test(test_journal_when_stderr_is_the_journal),
                cmocka_unit_test(test_errno_helpers_return_negative),
                cmocka_unit_test(test_scrub_longest_match_first),
                cmocka_unit_test(test_scrub_edges),
                cmocka_unit_test(test_stderr_output_is_scrubbed),
        };
        return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
