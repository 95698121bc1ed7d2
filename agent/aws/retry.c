#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include <openssl/rand.h>

#include "ratelimit.h"
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

void retry_policy_init_mode(struct retry_policy *p, enum retry_mode mode, unsigned max_attempts)
{
        if (max_attempts < 1)
                max_attempts = mode == RETRY_MODE_LEGACY ? RETRY_LEGACY_MAX_ATTEMPTS : RETRY_DEFAULT_MAX_ATTEMPTS;
        if (max_attempts > RETRY_MAX_ATTEMPTS_LIMIT)
                max_attempts = RETRY_MAX_ATTEMPTS_LIMIT;
        p->mode = mode;
        p->max_attempts = max_attempts;
        p->quota = RETRY_QUOTA_INITIAL;
        p->now_ms = real_now_ms;
        p->random = real_random;
        p->userdata = NULL;
        p->limiter = mode == RETRY_MODE_ADAPTIVE ? ratelimit_shared() : NULL;
}

void retry_policy_init(struct retry_policy *p, unsigned max_attempts)
{
        retry_policy_init_mode(p, RETRY_MODE_STANDARD, max_attempts);
}

static const char *const mode_names[] = {
        [RETRY_MODE_STANDARD] = "standard",
        [RETRY_MODE_ADAPTIVE] = "adaptive",
        [RETRY_MODE_LEGACY] = "legacy",
};

const char *retry_mode_name(enum retry_mode m)
{
        return m <= RETRY_MODE_LEGACY ? mode_names[m] : "unknown";
}

int retry_mode_from_name(const char *name, enum retry_mode *ret)
{
        for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
                if (strcmp(name, mode_names[i]) == 0) {
                        *ret = (enum retry_mode)i;
                        return 0;
                }
        return -EINVAL;
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

/* botocore's data/_retry.json for the services opsagent calls (general, ec2, sts). */
static enum retry_class classify_legacy(int net_error, long status, const char *code, const char *message)
{
        static const char *const throttle_400[] = {
                "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
                "ProvisionedThroughputExceededException", NULL,
        };
        enum retry_class ours = retry_classify(net_error, status, code, message);

        /* What opsagent corrects locally in every mode. */
        if (ours == RETRY_SKEW || ours == RETRY_EXPIRED_CREDS)
                return ours;
        if (net_error == -ETIMEDOUT)
                return RETRY_TIMEOUT;
        if (net_error < 0)
                return net_error == -ECONNREFUSED || net_error == -EIO || net_error == -ECONNRESET ||
                                       net_error == -EHOSTUNREACH
                               ? RETRY_TRANSIENT
                               : RETRY_NONE;
        if (status == 429 || (status == 400 && in_list(code, throttle_400)) ||
            (status == 503 && code && (strcmp(code, "RequestLimitExceeded") == 0 ||
                                       strcmp(code, "EC2ThrottledException") == 0)))
                return RETRY_THROTTLE;
        if (status == 500 || status == 502 || status == 503 || status == 504 || status == 509 ||
            (status == 400 && code && strcmp(code, "IDPCommunicationError") == 0))
                return RETRY_TRANSIENT;
        return RETRY_NONE;
}

enum retry_class retry_policy_classify(const struct retry_policy *p, int net_error, long http_status,
                                       const char *code, const char *message)
{
        if (p->mode == RETRY_MODE_LEGACY)
                return classify_legacy(net_error, http_status, code, message);
        return retry_classify(net_error, http_status, code, message);
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
        if (p->mode == RETRY_MODE_LEGACY) {
                /* base "rand", growth factor 2, no cap and no quota */
                double cap = 1000.0;

                for (unsigned i = 1; i < attempt; i++)
                        cap *= 2;
                *ret_delay_ms = (uint64_t)(p->random(p->userdata) * cap);
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
        if (p->mode == RETRY_MODE_LEGACY)
                return;
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
        t = http_getdate(date);
        if (t == (time_t)-1)
                return 0;
        d = (int64_t)t - (int64_t)now;
        if (d > -RETRY_SKEW_THRESHOLD_S && d < RETRY_SKEW_THRESHOLD_S)
                return 0;
        return d;
}
