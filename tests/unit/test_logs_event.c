/* logs_event: lines into CloudWatch Logs events: multiline joining, UTF-8 repair,
 * timestamps, and events too large for CloudWatch cut into pieces. */
#include <regex.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "logs/logs_event.h"

#define NOW_MS 1800000000000LL
#define MAX_EV 64

struct got {
        char *msg[MAX_EV];
        size_t len[MAX_EV];
        int64_t ts[MAX_EV];
        uint64_t end[MAX_EV];
        size_t n;
};

static int collect(void *userdata, int64_t ts, const char *msg, size_t len, uint64_t end)
{
        struct got *g = userdata;

        assert_true(g->n < MAX_EV);
        g->msg[g->n] = malloc(len + 1);
        assert_non_null(g->msg[g->n]);
        memcpy(g->msg[g->n], msg, len);
        g->msg[g->n][len] = '\0';
        g->len[g->n] = len;
        g->ts[g->n] = ts;
        g->end[g->n] = end;
        g->n++;
        return 0;
}

static void got_free(struct got *g)
{
        for (size_t i = 0; i < g->n; i++)
                free(g->msg[i]);
        g->n = 0;
}

static char *repaired(const char *s, size_t len)
{
        struct buf b = BUF_INIT(1 << 20);

        assert_int_equal(logs_utf8_repair(s, len, &b), 0);
        return buf_steal(&b);
}

/* Feeds TEXT line by line (offsets as in a file). */
static void feed(struct logs_builder *b, const char *text, struct got *g)
{
        uint64_t off = 0;
        const char *p = text;

        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                char *line = malloc(len + 1);

                assert_non_null(line);
                memcpy(line, p, len);
                assert_int_equal(logs_builder_line(b, line, len, off, off + len + 1, NOW_MS, collect, g), 0);
                free(line);
                off += len + 1;
                p += len + (nl ? 1 : 0);
        }
}

static void test_valid_utf8_is_kept_byte_for_byte(void **state)
{
        const char s[] = "plain h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 end";
        char *r = repaired(s, sizeof(s) - 1);

        (void)state;
        assert_string_equal(r, s);
        free(r);
}

static void test_invalid_bytes_become_replacement_characters_never_dropped(void **state)
{
        /* a lone continuation, a truncated 3-byte sequence, an overlong '/', a surrogate, 0xff */
        const char s[] = "a\x80" "b\xe2\x82" "c\xc0\xaf" "d\xed\xa0\x80" "e\xff";
        char *r = repaired(s, sizeof(s) - 1);

        (void)state;
        assert_string_equal(r, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd"
                               "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "e\xef\xbf\xbd");
        free(r);
}

static void test_truncated_sequence_at_the_end_is_replaced(void **state)
{
        char *r = repaired("x\xf0\x9f\x98", 4);

        (void)state;
        assert_string_equal(r, "x\xef\xbf\xbd");
        free(r);
}

static void test_cut_never_splits_a_character(void **state)
{
        const char s[] = "ab\xe2\x82\xac";  /* 5 bytes, the euro sign at 2..4 */

        (void)state;
        assert_int_equal(logs_utf8_cut(s, 5, 4), 2);
        assert_int_equal(logs_utf8_cut(s, 5, 5), 5);
        assert_int_equal(logs_utf8_cut(s, 5, 2), 2);
}

static void test_timestamp_read_with_the_format_and_milliseconds(void **state)
{
        const char line[] = "2026-12-04 18:30:01,250 ERROR boom";
        int64_t ms = 0;
        struct tm tm = { .tm_year = 126, .tm_mon = 11, .tm_mday = 4, .tm_hour = 18, .tm_min = 30, .tm_sec = 1,
                         .tm_isdst = -1 };

        (void)state;
        assert_int_equal(logs_parse_timestamp(line, sizeof(line) - 1, "%Y-%m-%d %H:%M:%S", NOW_MS, &ms), 0);
        assert_int_equal(ms, (int64_t)mktime(&tm) * 1000 + 250);
}

static void test_timestamp_with_an_offset_is_utc(void **state)
{
        const char line[] = "2026-12-04T18:30:01+0100 x";
        int64_t ms = 0;
        struct tm tm = { .tm_year = 126, .tm_mon = 11, .tm_mday = 4, .tm_hour = 17, .tm_min = 30, .tm_sec = 1 };

        (void)state;
        assert_int_equal(logs_parse_timestamp(line, sizeof(line) - 1, "%Y-%m-%dT%H:%M:%S%z", NOW_MS, &ms), 0);
        assert_int_equal(ms, (int64_t)timegm(&tm) * 1000);
}

static void test_line_without_the_timestamp_takes_the_read_time(void **state)
{
        struct logs_builder b;
        struct got g = { 0 };

        (void)state;
        logs_builder_init(&b, NULL, "%Y-%m-%d %H:%M:%S");
        feed(&b, "no time here\n", &g);
        assert_int_equal(g.n, 1);
        assert_int_equal(g.ts[0], NOW_MS);
        got_free(&g);
        logs_builder_free(&b);
}

static void test_traceback_lines_join_the_event_they_follow(void **state)
{
        struct logs_builder b;
        struct got g = { 0 };
        regex_t re;

        (void)state;
        assert_int_equal(regcomp(&re, "^[^ \t]", REG_EXTENDED | REG_NOSUB), 0);
        logs_builder_init(&b, &re, NULL);
        feed(&b, "first\nTraceback (most recent call last):\n  File \"x.py\", line 1\n    boom()\nnext\n", &g);
        assert_int_equal(g.n, 2);
        assert_string_equal(g.msg[0], "first");
        assert_string_equal(g.msg[1], "Traceback (most recent call last):\n  File \"x.py\", line 1\n    boom()");
        assert_int_equal(g.end[1], strlen("first\nTraceback (most recent call last):\n  File \"x.py\", line 1\n"
                                          "    boom()\n"));
        assert_true(logs_builder_pending(&b, NULL));
        assert_int_equal(logs_builder_flush(&b, collect, &g), 0);
        assert_int_equal(g.n, 3);
        assert_string_equal(g.msg[2], "next");
        got_free(&g);
        logs_builder_free(&b);
        regfree(&re);
}

static void test_empty_lines_make_no_event(void **state)
{
        struct logs_builder b;
        struct got g = { 0 };

        (void)state;
        logs_builder_init(&b, NULL, NULL);
        feed(&b, "a\n\nb\n", &g);
        assert_int_equal(g.n, 2);
        assert_string_equal(g.msg[1], "b");
        assert_int_equal(g.end[1], 5);
        got_free(&g);
        logs_builder_free(&b);
}

static void test_event_over_256_kib_is_split_not_dropped(void **state)
{
        size_t n = LOGS_EVENT_MAX_BYTES * 2 + 100;
        char *big = malloc(n + 1);
        struct logs_builder b;
        struct got g = { 0 };

        (void)state;
        assert_non_null(big);
        memset(big, 'x', n);
        big[5] = '\xff';        /* repaired to 3 bytes first, then cut */
        logs_builder_init(&b, NULL, NULL);
        assert_int_equal(logs_builder_line(&b, big, n, 1000, 1000 + n + 1, NOW_MS, collect, &g), 0);
        assert_int_equal(g.n, 3);
        assert_int_equal(g.len[0], LOGS_EVENT_MAX_BYTES);
        assert_int_equal(g.len[1], LOGS_EVENT_MAX_BYTES);
        assert_int_equal(g.len[0] + g.len[1] + g.len[2], n + 2);
        /* only the last piece lets a checkpoint pass the line */
        assert_int_equal(g.end[0], 1000);
        assert_int_equal(g.end[1], 1000);
        assert_int_equal(g.end[2], 1000 + n + 1);
        got_free(&g);
        logs_builder_free(&b);
        free(big);
}

static void test_split_keeps_multibyte_characters_whole(void **state)
{
        size_t n = LOGS_EVENT_MAX_BYTES + 3;
        char *big = malloc(n + 1);
        struct logs_builder b;
        struct got g = { 0 };

        (void)state;
        assert_non_null(big);
        memset(big, 'y', n);
        memcpy(big + LOGS_EVENT_MAX_BYTES - 1, "\xe2\x82\xac", 3);  /* straddles the limit */
        logs_builder_init(&b, NULL, NULL);
        assert_int_equal(logs_builder_line(&b, big, n, 0, n + 1, NOW_MS, collect, &g), 0);
        assert_int_equal(g.n, 2);
        assert_int_equal(g.len[0], LOGS_EVENT_MAX_BYTES - 1);
        assert_memory_equal(g.msg[1], "\xe2\x82\xac", 3);
        got_free(&g);
        logs_builder_free(&b);
        free(big);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid_utf8_is_kept_byte_for_byte),
                cmocka_unit_test(test_invalid_bytes_become_replacement_characters_never_dropped),
                cmocka_unit_test(test_truncated_sequence_at_the_end_is_replaced),
                cmocka_unit_test(test_cut_never_splits_a_character),
                cmocka_unit_test(test_timestamp_read_with_the_format_and_milliseconds),
                cmocka_unit_test(test_timestamp_with_an_offset_is_utc),
                cmocka_unit_test(test_line_without_the_timestamp_takes_the_read_time),
                cmocka_unit_test(test_traceback_lines_join_the_event_they_follow),
                cmocka_unit_test(test_empty_lines_make_no_event),
                cmocka_unit_test(test_event_over_256_kib_is_split_not_dropped),
                cmocka_unit_test(test_split_keeps_multibyte_characters_whole),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
