/* events: the child-to-agent protocol. What one side writes the other reads back, secrets
 * never cross, and a misbehaving recipe cannot make the agent keep more than the bounds. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "run/events.h"
#include "util/log.h"

/* Everything written to a pipe so far, fed to R in odd-sized pieces. */
static void read_back(int fds[2], struct events_reader *r)
{
        char chunk[7];
        ssize_t k;

        close(fds[1]);
        while ((k = read(fds[0], chunk, sizeof(chunk))) > 0)
                events_reader_feed(r, chunk, (size_t)k);
        close(fds[0]);
        events_reader_finish(r);
}

static void test_round_trip(void **state)
{
        struct metric m = { .name = (char *)"SnapshotsCreated", .unit = (char *)"Count", .value = 3,
                            .timestamp_ms = 1800000000123LL };
        struct events_reader r;
        int fds[2];

        assert_int_equal(pipe(fds), 0);
        events_reader_init(&r);
        assert_int_equal(events_send_metric(fds[1], &m), 0);
        assert_int_equal(events_send_fail(fds[1], "DescribeVolumes: UnauthorizedOperation"), 0);
        assert_int_equal(events_send_fail(fds[1], "first; second"), 0);
        assert_int_equal(events_send_changes(fds[1], 3), 0);
        assert_int_equal(events_send_done(fds[1], -EACCES), 0);
        read_back(fds, &r);
        assert_int_equal(r.metrics.n, 1);
        assert_string_equal(r.metrics.items[0].name, "SnapshotsCreated");
        assert_string_equal(r.metrics.items[0].unit, "Count");
        assert_true(r.metrics.items[0].value == 3);
        assert_int_equal(r.metrics.items[0].timestamp_ms, 1800000000123LL);
        assert_string_equal(r.fail, "first; second");
        assert_true(r.done);
        assert_int_equal(r.done_code, -EACCES);
        assert_int_equal(r.changes, 3);
        assert_int_equal(r.malformed, 0);
        events_reader_clear(&r);
}

/* A recipe that writes to the pipe itself: what is not an event is counted and ignored. */
static void test_malformed_lines_ignored(void **state)
{
        static const char junk[] = "not json\n"
                                   "[1,2]\n"
                                   "{\"metric\": {\"value\": 1, \"unit\": \"Count\", \"timestamp\": 1}}\n"
                                   "{\"metric\": {\"name\": \"Str\", \"value\": \"1\", \"unit\": \"None\", \"timestamp\": 1}}\n"
                                   "{\"done\": \"yes\"}\n"
                                   "{\"changes\": -1}\n"
                                   "{\"what\": 1}\n"
                                   "{\"metric\": {\"name\": \"ok\", \"value\": 2, \"unit\": \"None\", \"timestamp\": 5}}\n"
                                   "{\"done\": 0}";   /* no newline: the pipe closed */
        struct events_reader r;

        events_reader_init(&r);
        events_reader_feed(&r, junk, sizeof(junk) - 1);
        events_reader_finish(&r);
        assert_int_equal(r.malformed, 7);
        assert_int_equal(r.changes, 0);
        assert_int_equal(r.metrics.n, 1);
        assert_string_equal(r.metrics.items[0].name, "ok");
        assert_true(r.done);
        assert_int_equal(r.done_code, 0);
        events_reader_clear(&r);
}

/* Bounds: metrics past EVENTS_MAX_METRICS are dropped and counted; bytes past
 * EVENTS_MAX_BYTES are not read into anything; a line longer than any event is no event. */
static void test_bounds(void **state)
{
        const char *line = "{\"metric\": {\"name\": \"m\", \"value\": 1, \"unit\": \"None\", \"timestamp\": 1}}\n";
        struct events_reader r;
        char *longline;

        events_reader_init(&r);
        for (size_t i = 0; i < EVENTS_MAX_METRICS + 5; i++)
                events_reader_feed(&r, line, strlen(line));
        assert_int_equal(r.metrics.n, EVENTS_MAX_METRICS);
        assert_int_equal(r.metrics_dropped, 5);
        events_reader_clear(&r);

        events_reader_init(&r);
        longline = malloc(EVENTS_LINE_MAX * 3);
        assert_non_null(longline);
        memset(longline, 'x', EVENTS_LINE_MAX * 3);
        events_reader_feed(&r, longline, EVENTS_LINE_MAX * 3);
        events_reader_feed(&r, "\n{\"done\": 0}\n", 13);
        assert_true(r.malformed > 0);
        assert_true(r.done);
        free(longline);
        events_reader_clear(&r);

        events_reader_init(&r);
        while (r.total < EVENTS_MAX_BYTES)
                events_reader_feed(&r, line, strlen(line));
        events_reader_feed(&r, "{\"done\": 0}\n", 12);
        assert_false(r.done);
        events_reader_clear(&r);
}

/* A failure reason too long for one atomic line is cut to fit, not lost (a 5000-character
 * value in a message used to leave the run's reason as "failed"); escapes count too. */
static void test_long_reason_is_cut_not_lost(void **state)
{
        const char *fill[] = { "y", "\"", "\x01", "\xc3\xa9" };      /* plain, escaped, \u0001, UTF-8 */

        for (size_t i = 0; i < sizeof(fill) / sizeof(fill[0]); i++) {
                size_t unit = strlen(fill[i]), n = 5000 / unit;
                char *big = malloc(n * unit + 1);
                struct events_reader r;
                int fds[2];

                assert_non_null(big);
                for (size_t k = 0; k < n; k++)
                        memcpy(big + k * unit, fill[i], unit);
                big[n * unit] = '\0';
                assert_int_equal(pipe(fds), 0);
                assert_int_equal(events_send_fail(fds[1], big), 0);
                events_reader_init(&r);
                read_back(fds, &r);
                assert_non_null(r.fail);
                assert_true(strlen(r.fail) > 100);
                assert_true(strlen(r.fail) < EVENTS_LINE_MAX);
                assert_int_equal(strncmp(r.fail, big, strlen(r.fail) - 3), 0);
                assert_string_equal(r.fail + strlen(r.fail) - 3, "...");
                assert_int_equal(r.malformed, 0);
                events_reader_clear(&r);
                free(big);
        }
}

/* The writer refuses a line that would not be one atomic write, and scrubs secrets. */
static void test_writer_limits_and_scrubbing(void **state)
{
        char *big = malloc(EVENTS_LINE_MAX + 1);
        struct events_reader r;
        struct metric m = { .unit = (char *)"None" };
        int fds[2];

        assert_non_null(big);
        memset(big, 'y', EVENTS_LINE_MAX);
        big[EVENTS_LINE_MAX] = '\0';
        m.name = big;
        assert_int_equal(pipe(fds), 0);
        assert_int_equal(events_send_metric(fds[1], &m), -E2BIG);
        log_register_secret("wJalrXUtnFEMI/K7MDENG");
        assert_int_equal(events_send_fail(fds[1], "bad key wJalrXUtnFEMI/K7MDENG"), 0);
        assert_int_equal(events_send_done(-1, 0), 0);
        events_reader_init(&r);
        read_back(fds, &r);
        assert_non_null(r.fail);
        assert_null(strstr(r.fail, "wJalrXUtnFEMI"));
        assert_non_null(strstr(r.fail, "(redacted)"));
        assert_false(r.done);
        events_reader_clear(&r);
        log_forget_secrets();
        free(big);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_malformed_lines_ignored),
                cmocka_unit_test(test_bounds),
                cmocka_unit_test(test_long_reason_is_cut_not_lost),
                cmocka_unit_test(test_writer_limits_and_scrubbing),
        };

        log_setup(LOG_TARGET_STDERR, LOG_ERR);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
