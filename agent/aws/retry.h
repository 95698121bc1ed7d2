/* Retries as the AWS SDKs specify their retry modes (AWS_RETRY_MODE / retry_mode):
 *   standard  3 attempts, full-jitter exponential backoff capped at 20 s, a retry quota that a
 *             run of failures drains (botocore/retries/standard.py);
 *   adaptive  standard, and before each attempt a token from the client-side rate limiter
 *             (agent/aws/ratelimit.h), shared by every call of the process;
 *   legacy    botocore's first scheme (data/_retry.json): 5 attempts, rand * 2^(n-1) s, no
 *             quota, the 5xx/429/throttling rules of that file.
 * In every mode clock-skew errors are corrected from the response's Date and retried once, and
 * expired credentials are refreshed and retried once. Clock and random source are injectable
 * so that tests need not sleep or guess. */
#ifndef OPSAGENT_RETRY_H
#define OPSAGENT_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RETRY_DEFAULT_MAX_ATTEMPTS 3           /* standard and adaptive */
#define RETRY_LEGACY_MAX_ATTEMPTS 5            /* legacy (botocore's _retry.json) */
#define RETRY_MAX_ATTEMPTS_LIMIT 10            /* more is refused wherever it is set */
#define RETRY_MAX_BACKOFF_MS 20000
#define RETRY_QUOTA_INITIAL 500
#define RETRY_COST 5
#define RETRY_TIMEOUT_COST 10
#define RETRY_NO_RETRY_INCREMENT 1
#define RETRY_SKEW_THRESHOLD_S 240    /* a Date this far off our clock is worth correcting */

enum retry_class {
        RETRY_NONE,          /* success or an error that retrying cannot fix */
        RETRY_THROTTLE,      /* throttling codes */
        RETRY_TRANSIENT,     /* 5xx, connection errors */
        RETRY_TIMEOUT,       /* timeouts (cost more quota) */
        RETRY_SKEW,          /* clock skew: correct and retry once */
        RETRY_EXPIRED_CREDS, /* expired token: refresh credentials and retry once */
};

enum retry_mode {
        RETRY_MODE_STANDARD,
        RETRY_MODE_ADAPTIVE,
        RETRY_MODE_LEGACY,
};

struct ratelimit;

struct retry_policy {
        enum retry_mode mode;
        unsigned max_attempts;                  /* total attempts, first included */
        int quota;                              /* tokens left */
        uint64_t (*now_ms)(void *userdata);     /* monotonic milliseconds */
        double (*random)(void *userdata);       /* uniform in [0, 1) */
        void *userdata;
        struct ratelimit *limiter;              /* adaptive: the process's (ratelimit_shared()) */
};

/* Standard mode with the real clock and random source. */
void retry_policy_init(struct retry_policy *p, unsigned max_attempts);
/* MODE with MAX_ATTEMPTS (0: the mode's default), the real clock and random source, and for
 * adaptive the process's shared rate limiter. */
void retry_policy_init_mode(struct retry_policy *p, enum retry_mode mode, unsigned max_attempts);

/* "standard", "adaptive", "legacy"; and back (-EINVAL for anything else, case matters as in
 * the SDKs). */
const char *retry_mode_name(enum retry_mode m);
int retry_mode_from_name(const char *name, enum retry_mode *ret);

/* Classifies an attempt's outcome: NET_ERROR (negative errno of the transport, 0 when there
 * was an answer), the HTTP status, AWS's error code and message (may be NULL), by standard
 * mode's rules. */
enum retry_class retry_classify(int net_error, long http_status, const char *code, const char *message);
/* The same by P's mode's rules (legacy: _retry.json's). */
enum retry_class retry_policy_classify(const struct retry_policy *p, int net_error, long http_status,
                                       const char *code, const char *message);

/* Whether attempt number ATTEMPT (1 = the first one) that failed with class C may be retried.
 * Takes the quota's cost; *ret_delay_ms: how long to wait first. */
bool retry_acquire(struct retry_policy *p, unsigned attempt, enum retry_class c, uint64_t *ret_delay_ms);
/* Records a success (after RETRIED retries with class LAST): refunds the quota. */
void retry_success(struct retry_policy *p, bool retried, enum retry_class last);
/* The full-jitter delay before retry ATTEMPT (1 = after the first failure). */
uint64_t retry_backoff_ms(struct retry_policy *p, unsigned attempt);

/* Seconds to add to the local clock so that it agrees with the HTTP DATE header, given the
 * local time NOW. 0 when DATE cannot be parsed or is within RETRY_SKEW_THRESHOLD_S. */
int64_t retry_skew_from_date(const char *date, time_t now);

#endif
