/* retry: the SDKs' retry modes (standard, legacy, adaptive's rate limiter) with an injected
 * clock and random source; the limiter against numbers botocore's own classes give. */
#include <errno.h>
#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aws/ratelimit.h"
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

static void test_mode_names(void **state)
{
        enum retry_mode m;

        assert_int_equal(retry_mode_from_name("legacy", &m), 0);
        assert_int_equal(m, RETRY_MODE_LEGACY);
        assert_int_equal(retry_mode_from_name("adaptive", &m), 0);
        assert_int_equal(m, RETRY_MODE_ADAPTIVE);
        assert_int_equal(retry_mode_from_name("standard", &m), 0);
        assert_int_equal(m, RETRY_MODE_STANDARD);
        assert_int_equal(retry_mode_from_name("Standard", &m), -EINVAL);   /* botocore is exact too */
        assert_int_equal(retry_mode_from_name("", &m), -EINVAL);
        assert_string_equal(retry_mode_name(RETRY_MODE_ADAPTIVE), "adaptive");
}

/* botocore's data/_retry.json: 5 attempts, rand * 2^(n-1) s without a cap, no quota, and its
 * own rules (509 and 429 retried, a throttling code only with its status). */
static void test_legacy_mode(void **state)
{
        struct fake f = { .rnd = 0.5 };
        struct retry_policy p;
        uint64_t d = 0;

        retry_policy_init_mode(&p, RETRY_MODE_LEGACY, 0);
        p.random = fake_random;
        p.userdata = &f;
        assert_int_equal(p.max_attempts, RETRY_LEGACY_MAX_ATTEMPTS);
        assert_null(p.limiter);
        assert_int_equal(retry_policy_classify(&p, 0, 509, NULL, NULL), RETRY_TRANSIENT);
        assert_int_equal(retry_policy_classify(&p, 0, 429, NULL, NULL), RETRY_THROTTLE);
        assert_int_equal(retry_policy_classify(&p, 0, 400, "Throttling", NULL), RETRY_THROTTLE);
        assert_int_equal(retry_policy_classify(&p, 0, 403, "Throttling", NULL), RETRY_NONE);
        assert_int_equal(retry_policy_classify(&p, 0, 503, "RequestLimitExceeded", NULL), RETRY_THROTTLE);
        assert_int_equal(retry_policy_classify(&p, 0, 400, "RequestLimitExceeded", NULL), RETRY_NONE);
        assert_int_equal(retry_policy_classify(&p, 0, 400, "IDPCommunicationError", NULL), RETRY_TRANSIENT);
        assert_int_equal(retry_policy_classify(&p, -ECONNRESET, 0, NULL, NULL), RETRY_TRANSIENT);
        assert_int_equal(retry_policy_classify(&p, 0, 400, "RequestTimeTooSkewed", NULL), RETRY_SKEW);
        assert_int_equal(retry_policy_classify(&p, 0, 400, "ValidationError", NULL), RETRY_NONE);
        p.quota = 0;    /* no quota in legacy mode */
        for (unsigned a = 1; a < RETRY_LEGACY_MAX_ATTEMPTS; a++) {
                assert_true(retry_acquire(&p, a, RETRY_TRANSIENT, &d));
                assert_int_equal(d, 500u << (a - 1));
        }
        assert_false(retry_acquire(&p, RETRY_LEGACY_MAX_ATTEMPTS, RETRY_TRANSIENT, &d));
        retry_policy_init_mode(&p, RETRY_MODE_LEGACY, 10);
        p.random = fake_random;
        p.userdata = &f;
        assert_true(retry_acquire(&p, 9, RETRY_TRANSIENT, &d));
        assert_int_equal(d, 128000);    /* 0.5 * 2^8 s: legacy has no 20 s cap */
}

static void test_adaptive_uses_the_shared_limiter(void **state)
{
        struct retry_policy a, b;

        retry_policy_init_mode(&a, RETRY_MODE_ADAPTIVE, 0);
        retry_policy_init_mode(&b, RETRY_MODE_ADAPTIVE, 7);
        assert_int_equal(a.max_attempts, RETRY_DEFAULT_MAX_ATTEMPTS);
        assert_int_equal(b.max_attempts, 7);
        assert_non_null(a.limiter);
        assert_ptr_equal(a.limiter, b.limiter);
        assert_ptr_equal(a.limiter, ratelimit_shared());
        assert_int_equal(retry_policy_classify(&a, 0, 400, "Throttling", NULL), RETRY_THROTTLE);
}

/* The same answers at the same times as in botocore's ClientRateLimiter (its TokenBucket,
 * CubicCalculator and RateClocker driven by a fake clock from 1000.0 s): the numbers below
 * are what botocore 1.43 computes. */
/* The cube root stops on the first Newton step that does not lower it: within an ulp or two of
 * libm's cbrt() over the whole range of doubles, and 0 for what has no real positive root. */
static void test_cube_root(void **state)
{
        const double ys[] = { 1e-300, 1e-9, 0.001, 0.5, 1, 2, 8, 27, 1000, 12345.678, 1e9, 1e100, 1e300, DBL_MAX };

        for (size_t i = 0; i < sizeof(ys) / sizeof(ys[0]); i++) {
                double got = ratelimit_cube_root(ys[i]), want = cbrt(ys[i]);

                assert_true(isfinite(got));
                assert_true(fabs(got - want) <= 4 * DBL_EPSILON * want);
        }
        assert_true(ratelimit_cube_root(27) == 3);
        assert_true(ratelimit_cube_root(0) == 0);
        assert_true(ratelimit_cube_root(-8) == 0);
        assert_true(ratelimit_cube_root(NAN) == 0);
        assert_true(ratelimit_cube_root(INFINITY) == INFINITY || !isfinite(ratelimit_cube_root(INFINITY)));
}

static void test_limiter_matches_botocore(void **state)
{
        static const struct {
                double t;
                bool throttled;
                double rate, capacity, measured;
        } steps[] = {
                { 1000.10, false, 0.500000000000, 0.100000000000, 0.000000000000 },
                { 1000.20, false, 0.500000000000, 0.150000000000, 0.000000000000 },
                { 1000.40, false, 0.500000000000, 0.250000000000, 0.000000000000 },
                { 1000.70, true, 4.480000000000, 0.400000000000, 6.400000000000 },
                { 1000.80, false, 4.801619373264, 0.848000000000, 6.400000000000 },
                { 1001.30, true, 3.136000000000, 3.136000000000, 4.480000000000 },
                { 1002.30, false, 3.392000000000, 3.136000000000, 1.696000000000 },
                { 1004.30, false, 1.478400000000, 1.478400000000, 0.739200000000 },
                { 1004.55, true, 1.034880000000, 1.034880000000, 1.747840000000 },
                { 1007.55, false, 1.232469333333, 1.034880000000, 0.616234666667 },
        };
        struct ratelimit l;
        uint64_t wait;

        ratelimit_init(&l, 1000.0);
        assert_int_equal(ratelimit_acquire(&l, 1000.0), 0);     /* off until the first throttle */
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
                ratelimit_on_response(&l, steps[i].t, steps[i].throttled);
                if (fabs(ratelimit_rate(&l) - steps[i].rate) > 1e-9 || fabs(l.capacity - steps[i].capacity) > 1e-9 ||
                    fabs(l.measured - steps[i].measured) > 1e-9)
                        fail_msg("step %zu: rate %.12f capacity %.12f measured %.12f", i, ratelimit_rate(&l),
                                 l.capacity, l.measured);
        }
        assert_true(l.enabled);
        assert_int_equal(ratelimit_acquire(&l, 1007.55), 0);    /* 1.03 tokens: one taken */
        wait = ratelimit_acquire(&l, 1007.55);                  /* 0.03 left at 1.23/s */
        assert_int_equal(wait, (uint64_t)ceil((1 - 0.03488) / 1.232469333333 * 1000));
        assert_int_equal(ratelimit_acquire(&l, 1007.55 + (double)wait / 1000.0), 0);
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
                cmocka_unit_test(test_mode_names),
                cmocka_unit_test(test_legacy_mode),
                cmocka_unit_test(test_adaptive_uses_the_shared_limiter),
                cmocka_unit_test(test_cube_root),
                cmocka_unit_test(test_limiter_matches_botocore),
        };
        return cmocka_run_group_tests_name("retry", tests, NULL, NULL);
}
