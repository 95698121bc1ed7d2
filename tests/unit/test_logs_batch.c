/* logs_batch: PutLogEvents batches stay within every limit CloudWatch Logs sets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "logs/logs_batch.h"
#include "logs/logs_event.h"

#define NOW_MS 1800000000000LL

static void test_byte_limit_counts_26_per_event(void **state)
{
        struct logs_batch b = { 0 };
        size_t per = LOGS_BATCH_MAX_BYTES / 8 - LOGS_EVENT_OVERHEAD;
        char *m = malloc(per + 1);

        (void)state;
        assert_non_null(m);
        memset(m, 'x', per + 1);
        for (int i = 0; i < 8; i++) {
                assert_true(logs_batch_fits(&b, per, NOW_MS));
                assert_int_equal(logs_batch_add(&b, NOW_MS, m, per, NULL, 0, 0), 0);
        }
        assert_int_equal(b.bytes, LOGS_BATCH_MAX_BYTES);
        assert_false(logs_batch_fits(&b, 1, NOW_MS));
        assert_int_equal(logs_batch_add(&b, NOW_MS, m, 1, NULL, 0, 0), -E2BIG);
        logs_batch_drop_first(&b, 1);
        assert_false(logs_batch_fits(&b, per + 1, NOW_MS));
        assert_true(logs_batch_fits(&b, per, NOW_MS));
        logs_batch_free(&b);
        free(m);
}

static void test_at_most_10000_events(void **state)
{
        struct logs_batch b = { 0 };

        (void)state;
        for (int i = 0; i < LOGS_BATCH_MAX_EVENTS; i++)
                assert_int_equal(logs_batch_add(&b, NOW_MS, "m", 1, NULL, 0, 0), 0);
        assert_false(logs_batch_fits(&b, 1, NOW_MS));
        assert_int_equal(b.n, 10000);
        logs_batch_free(&b);
}

static void test_span_of_24_hours_and_chronological(void **state)
{
        struct logs_batch b = { 0 };

        (void)state;
        assert_int_equal(logs_batch_add(&b, NOW_MS, "a", 1, NULL, 0, 0), 0);
        assert_true(logs_batch_fits(&b, 1, NOW_MS + LOGS_BATCH_MAX_SPAN_MS));
        assert_false(logs_batch_fits(&b, 1, NOW_MS + LOGS_BATCH_MAX_SPAN_MS + 1));
        assert_false(logs_batch_fits(&b, 1, NOW_MS - 1));       /* never back in time */
        logs_batch_free(&b);
}

static void test_events_too_old_or_too_new_are_refused(void **state)
{
        (void)state;
        assert_int_equal(logs_event_age(NOW_MS, NOW_MS), LOGS_AGE_OK);
        assert_int_equal(logs_event_age(NOW_MS - LOGS_MAX_AGE_MS, NOW_MS), LOGS_AGE_TOO_OLD);
        assert_int_equal(logs_event_age(NOW_MS - LOGS_MAX_AGE_MS + LOGS_AGE_MARGIN_MS + 1000, NOW_MS), LOGS_AGE_OK);
        assert_int_equal(logs_event_age(NOW_MS + LOGS_MAX_FUTURE_MS, NOW_MS), LOGS_AGE_TOO_NEW);
        assert_int_equal(logs_event_age(NOW_MS + 3600 * 1000, NOW_MS), LOGS_AGE_OK);
}

static void test_an_event_over_the_limit_is_not_batched(void **state)
{
        struct logs_batch b = { 0 };
        char *m = calloc(1, LOGS_EVENT_MAX_BYTES + 1);

        (void)state;
        assert_non_null(m);
        memset(m, 'z', LOGS_EVENT_MAX_BYTES + 1);
        assert_int_equal(logs_batch_add(&b, NOW_MS, m, LOGS_EVENT_MAX_BYTES + 1, NULL, 0, 0), -E2BIG);
        assert_int_equal(logs_batch_add(&b, NOW_MS, m, LOGS_EVENT_MAX_BYTES, NULL, 0, 0), 0);
        assert_int_equal(logs_batch_add(&b, NOW_MS, m, 0, NULL, 0, 0), -E2BIG);     /* empty */
        logs_batch_free(&b);
        free(m);
}

static void test_request_is_the_put_log_events_input(void **state)
{
        struct logs_batch b = { 0 };
        struct buf text = BUF_INIT(1 << 22);
        json_object *o, *ev;

        (void)state;
        assert_int_equal(logs_batch_add(&b, NOW_MS, "h\xc3\xa9llo \"q\"", 10, NULL, 0, 0), 0);
        assert_int_equal(logs_batch_add(&b, NOW_MS + 1, "two/x", 5, NULL, 0, 0), 0);
        assert_int_equal(logs_batch_request(&b, "/opsagent/app", "i-1", "tok", &text), 0);
        o = json_tokener_parse(buf_str(&text));
        assert_non_null(o);
        assert_string_equal(json_object_get_string(json_object_object_get(o, "logGroupName")), "/opsagent/app");
        assert_string_equal(json_object_get_string(json_object_object_get(o, "sequenceToken")), "tok");
        ev = json_object_object_get(o, "logEvents");
        assert_int_equal(json_object_array_length(ev), 2);
        assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(ev, 0), "message")),
                            "h\xc3\xa9llo \"q\"");
        assert_int_equal(json_object_get_int64(json_object_object_get(json_object_array_get_idx(ev, 1), "timestamp")),
                         NOW_MS + 1);
        json_object_put(o);
        /* control characters and backslashes come back as they were; so do plain texts */
        logs_batch_clear(&b);
        assert_int_equal(logs_batch_add(&b, NOW_MS, "a\tb\\c\x01" "d\x7f", 8, NULL, 0, 0), 0);
        assert_int_equal(logs_batch_add(&b, NOW_MS, "plain text / with slash", 23, NULL, 0, 0), 0);
        assert_int_equal(logs_batch_request(&b, "/g", "s", NULL, &text), 0);
        o = json_tokener_parse(buf_str(&text));
        assert_non_null(o);
        assert_null(json_object_object_get(o, "sequenceToken"));
        ev = json_object_object_get(o, "logEvents");
        assert_memory_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(ev, 0), "message")),
                            "a\tb\\c\x01" "d\x7f", 8);
        assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(ev, 1), "message")),
                            "plain text / with slash");
        json_object_put(o);
        buf_free(&text);
        logs_batch_free(&b);
}

static void test_json_round_trip(void **state)
{
        struct logs_batch b = { 0 }, back = { 0 };
        json_object *arr = NULL;

        (void)state;
        assert_int_equal(logs_batch_add(&b, NOW_MS, "one", 3, NULL, 0, 0), 0);
        assert_int_equal(logs_batch_add(&b, NOW_MS + 5, "two", 3, NULL, 0, 0), 0);
        assert_int_equal(logs_batch_to_json(&b, &arr), 0);
        assert_int_equal(logs_batch_from_json(arr, &back), 0);
        assert_int_equal(back.n, 2);
        assert_int_equal(back.ev[1].ts_ms, NOW_MS + 5);
        assert_string_equal(back.ev[1].msg, "two");
        assert_int_equal(back.bytes, b.bytes);
        json_object_put(arr);
        arr = json_tokener_parse("[[1, 2]]");
        assert_int_equal(logs_batch_from_json(arr, &back), -EBADMSG);
        json_object_put(arr);
        logs_batch_free(&b);
        logs_batch_free(&back);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_byte_limit_counts_26_per_event),
                cmocka_unit_test(test_at_most_10000_events),
                cmocka_unit_test(test_span_of_24_hours_and_chronological),
                cmocka_unit_test(test_events_too_old_or_too_new_are_refused),
                cmocka_unit_test(test_an_event_over_the_limit_is_not_batched),
                cmocka_unit_test(test_request_is_the_put_log_events_input),
                cmocka_unit_test(test_json_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
