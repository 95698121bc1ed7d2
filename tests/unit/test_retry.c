/* retry: the SDKs' standard mode with an injected clock and random source. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aws/retry.h"

struct fake {
        double rnd;
        uint64_t now;
};

static double fake_random(void *u)
{
        return ((struct fake *)u)->rnd;
}

static uint64_t fake_now(void *u)
{
        return ((struct fake *)u)->now;
}

static void policy(struct retry_policy *p, struct fake *f, unsigned attempts)
{
        retry_policy_init(p, attempts);
        p->random = fake_random;
        p->now_ms = fake_now;
        p->userdata = f;
}

static void test_classification(void **state)
{
        assert_int_equal(retry_classify(0, 200, NULL, NULL), RETRY_NONE);
        assert_int_equal(retry_classify(0, 503, "RequestLimitExceeded", NULL), RETRY_THROTTLE);
        assert_int_equal(retry_classify(0, 400, "Throttling", NULL), RETRY_THROTTLE);
        assert_int_equal(retry_classify(0, 400, "ThrottlingException", NULL), RETRY_THROTTLE);
        assert_int_equal(retry_classify(0, 400, "RequestThrottled", NULL), RETRY_THROTTLE);
        assert_int_equal(retry_classify(0, 400, "EC2ThrottledException", NULL), RETRY_THROTTLE);
        assert_int_equal(retry_classify(0, 503, "SlowDown", NULL), RETRY_THROTTLE);
        assert_int_equal(retry_classify(0, 500, "InternalError", NULL), RETRY_TRANSIENT);
        assert_int_equal(retry_classify(0, 502, "HTTP502", NULL), RETRY_TRANSIENT);
        assert_int_equal(retry_classify(-ECONNREFUSED, 0, NULL, NULL), RETRY_TRANSIENT);
        assert_int_equal(retry_classify(-ETIMEDOUT, 0, NULL, NULL), RETRY_TIMEOUT);
        assert_int_equal(retry_classify(0, 400, "RequestTimeTooSkewed", NULL), RETRY_SKEW);
        assert_int_equal(retry_classify(0, 400, "SignatureExpired", NULL), RETRY_SKEW);
        assert_int_equal(retry_classify(0, 403, "SignatureDoesNotMatch", "Signature expired: 2015 is now earlier"),
                         RETRY_SKEW);
        assert_int_equal(retry_classify(0, 403, "SignatureDoesNotMatch", "The request signature we calculated"),
                         RETRY_NONE);
        assert_int_equal(retry_classify(0, 400, "ExpiredToken", NULL), RETRY_EXPIRED_CREDS);
        assert_int_equal(retry_classify(0, 400, "InvalidParameterValue", NULL), RETRY_NONE);
        assert_int_equal(retry_classify(0, 400, "InvalidSnapshot.InUse", NULL), RETRY_NONE);
}

/* Full jitter: random * min(2^(attempt-1) s, 20 s). */
static void test_backoff_full_jitter_capped(void **state)
{
        struct fake f = { .rnd = 0.5 };
        struct retry_policy p;

        policy(&p, &f, 3);
        assert_int_equal(retry_backoff_ms(&p, 1), 500);
        assert_int_equal(retry_backoff_ms(&p, 2), 1000);
        assert_int_equal(retry_backoff_ms(&p, 3), 2000);
        assert_int_equal(retry_backoff_ms(&p, 6), 10000);
        assert_int_equal(retry_backoff_ms(&p, 7), 10000);  /* 0.5 * 20 s: the cap */
        assert_int_equal(retry_backoff_ms(&p, 30), 10000);
        f.rnd = 0.999;
        assert_true(retry_backoff_ms(&p, 30) < RETRY_MAX_BACKOFF_MS);
        f.rnd = 0.0;
        assert_int_equal(retry_backoff_ms(&p, 3), 0);
}

static void test_three_attempts(void **state)
{
        struct fake f = { .rnd = 0.25 };
        struct retry_policy p;
        uint64_t d = 0;

        policy(&p, &f, 0);
        assert_int_equal(p.max_attempts, 3);
        assert_true(retry_acquire(&p, 1, RETRY_THROTTLE, &d));
        assert_int_equal(d, 250);
        assert_true(retry_acquire(&p, 2, RETRY_THROTTLE, &d));
        assert_int_equal(d, 500);
        assert_false(retry_acquire(&p, 3, RETRY_THROTTLE, &d));
        assert_false(retry_acquire(&p, 1, RETRY_NONE, &d));
}

static void test_max_attempts_bounded(void **state)
{
        struct retry_policy p;

        retry_policy_init(&p, 1000);
        assert_int_equal(p.max_attempts, RETRY_MAX_ATTEMPTS_LIMIT);
}

/* The quota drains on failures (timeouts cost more) and refills on success. */
static void test_retry_quota(void **state)
{
        struct fake f = { .rnd = 0 };
        struct retry_policy p;
        uint64_t d;
        int n = 0;

        policy(&p, &f, 3);
        while (retry_acquire(&p, 1, RETRY_TRANSIENT, &d))
                n++;
        assert_int_equal(n, RETRY_QUOTA_INITIAL / RETRY_COST);
        assert_int_equal(p.quota, 0);
        retry_success(&p, true, RETRY_TRANSIENT);
        assert_int_equal(p.quota, RETRY_COST);
        assert_false(retry_acquire(&p, 1, RETRY_TIMEOUT, &d));
        retry_success(&p, false, RETRY_NONE);
        assert_int_equal(p.quota, RETRY_COST + RETRY_NO_RETRY_INCREMENT);
        p.quota = RETRY_QUOTA_INITIAL;
        retry_success(&p, false, RETRY_NONE);
        assert_int_equal(p.quota, RETRY_QUOTA_INITIAL);
        /* skew and expired credentials are corrected locally: no quota, no wait */
        p.quota = 0;
        assert_true(retry_acquire(&p, 1, RETRY_SKEW, &d));
        assert_int_equal(d, 0);
}

static void test_skew_from_date(void **state)
{
        /* Sun, 30 Aug 2015 12:36:00 GMT = 1440938160 */
        assert_int_equal(retry_skew_from_date("Sun, 30 Aug 2015 12:36:00 GMT", 1440938160 - 3600), 3600);
        assert_int_equal(retry_skew_from_date("Sun, 30 Aug 2015 12:36:00 GMT", 1440938160 + 900), -900);
        assert_int_equal(retry_skew_from_date("Sun, 30 Aug 2015 12:36:00 GMT", 1440938160 + 10), 0);
        assert_int_equal(retry_skew_from_date("not a date", 1440938160), 0);
        assert_int_equal(retry_skew_from_date("", 1440938160), 0);
        assert_int_equal(retry_skew_from_date(NULL, 1440938160), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_classification),
                cmocka_unit_test(test_backoff_full_jitter_capped),
                cmocka_unit_test(test_three_attempts),
                cmocka_unit_test(test_max_attempts_bounded),
                cmocka_unit_test(test_retry_quota),
                cmocka_unit_test(test_skew_from_date),
        };
        return cmocka_run_group_tests_name("retry", tests, NULL, NULL);
}
