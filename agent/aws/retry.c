#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "retry.h"

static uint64_t real_now_ms(void *userdata)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double real_random(void *userdata)
{
        uint32_t v;

        if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
                v = (uint32_t)random();
        return (double)v / 4294967296.0;
}

void retry_policy_init(struct retry_policy *p, unsigned max_attempts)
{
        if (max_attempts < 1)
                max_attempts = RETRY_DEFAULT_MAX_ATTEMPTS;
        if (max_attempts > RETRY_MAX_ATTEMPTS_LIMIT)
                max_attempts = RETRY_MAX_ATTEMPTS_LIMIT;
        p->max_attempts = max_attempts;
        p->quota = RETRY_QUOTA_INITIAL;
        p->now_ms = real_now_ms;
        p->random = real_random;
        p->userdata = NULL;
}

static const char *const throttle_codes[] = {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException", NULL,
};

static const char *const transient_codes[] = {
        "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure",
        "ServiceUnavailable", "Unavailable", NULL,
};

static const char *const skew_codes[] = {
        "RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture", "SignatureExpired", NULL,
};

static bool in_list(const char *code, const char *const *list)
{
        for (size_t i = 0; code && list[i]; i++)
                if (strcmp(code, list[i]) == 0)
                        return true;
        return false;
}

enum retry_class retry_classify(int net_error, long http_status, const char *code, const char *message)
{
        if (net_error == -ETIMEDOUT)
                return RETRY_TIMEOUT;
        if (net_error == -ECONNREFUSED || net_error == -EIO || net_error == -ECONNRESET ||
            net_error == -EHOSTUNREACH)
                return RETRY_TRANSIENT;
        if (net_error < 0)
                return RETRY_NONE;
        if (http_status >= 200 && http_status < 300)
                return RETRY_NONE;
        if (in_list(code, throttle_codes) || http_status == 429)
                return RETRY_THROTTLE;
        if (in_list(code, skew_codes))
                return RETRY_SKEW;
        /* CloudWatch says "SignatureDoesNotMatch: Signature expired: ..." for a skewed clock. */
        if (code && strcmp(code, "SignatureDoesNotMatch") == 0 && message && strstr(message, "expired"))
                return RETRY_SKEW;
        if (code && (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "ExpiredTokenException") == 0))
                return RETRY_EXPIRED_CREDS;
        if (in_list(code, transient_codes) || http_status >= 500)
                return RETRY_TRANSIENT;
        return RETRY_NONE;
}

uint64_t retry_backoff_ms(struct retry_policy *p, unsigned attempt)
{
        uint64_t cap = 1000;

        for (unsigned i = 1; i < attempt && cap < RETRY_MAX_BACKOFF_MS; i++)
                cap *= 2;
        if (cap > RETRY_MAX_BACKOFF_MS)
                cap = RETRY_MAX_BACKOFF_MS;
        return (uint64_t)(p->random(p->userdata) * (double)cap);
}

bool retry_acquire(struct retry_policy *p, unsigned attempt, enum retry_class c, uint64_t *ret_delay_ms)
{
        int cost;

        if (c == RETRY_NONE || attempt >= p->max_attempts)
                return false;
        if (c == RETRY_SKEW || c == RETRY_EXPIRED_CREDS) {
                /* Corrected locally: retry at once, without taking the quota. */
                *ret_delay_ms = 0;
                return true;
        }
        cost = c == RETRY_TIMEOUT ? RETRY_TIMEOUT_COST : RETRY_COST;
        if (p->quota < cost)
                return false;
        p->quota -= cost;
        *ret_delay_ms = retry_backoff_ms(p, attempt);
        return true;
}

void retry_success(struct retry_policy *p, bool retried, enum retry_class last)
{
        if (retried && last != RETRY_SKEW && last != RETRY_EXPIRED_CREDS)
                p->quota += last == RETRY_TIMEOUT ? RETRY_TIMEOUT_COST : RETRY_COST;
        else if (!retried)
                p->quota += RETRY_NO_RETRY_INCREMENT;
        if (p->quota > RETRY_QUOTA_INITIAL)
                p->quota = RETRY_QUOTA_INITIAL;
}

int64_t retry_skew_from_date(const char *date, time_t now)
{
        time_t t;
        int64_t d;

        if (!date || !*date)
                return 0;
        /* IMF-fixdate, RFC 7231: "Sun, 06 Nov 1994 08:49:37 GMT" (libcurl's parser, locale-free) */
        t = curl_getdate(date, NULL);
        if (t == (time_t)-1)
                return 0;
        d = (int64_t)t - (int64_t)now;
        if (d > -RETRY_SKEW_THRESHOLD_S && d < RETRY_SKEW_THRESHOLD_S)
                return 0;
        return d;
}
