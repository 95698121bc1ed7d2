/* The client-side rate limiter of the SDKs' "adaptive" retry mode, as botocore specifies it
 * (botocore/retries/adaptive.py, bucket.py, throttling.py): a token bucket that stays off
 * until the first throttling answer, then refills at a rate CUBIC adjusts (multiplied by 0.7
 * on each throttle, growing back as a cubic of the time since, never above twice the measured
 * rate of answers). One limiter is shared by every call of the process (ratelimit_shared()),
 * so that the recipes and the reports of one run back off together; the recipe children it
 * forks start from its state. Time is given by the caller, in seconds, so tests inject it. */
#ifndef OPSAGENT_RATELIMIT_H
#define OPSAGENT_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_MIN_RATE 0.5          /* tokens per second, at the slowest */
#define RATELIMIT_BETA 0.7              /* CUBIC's multiplicative decrease */
#define RATELIMIT_SCALE 0.4             /* CUBIC's scale constant */
#define RATELIMIT_SMOOTHING 0.8         /* of the measured rate */
#define RATELIMIT_BUCKET_S 0.5          /* the measured rate's time buckets */
#define RATELIMIT_MAX_RATE_SCALE 2.0    /* the new rate is at most this times the measured one */

struct ratelimit {
        bool started;                   /* the clocks below are set */
        bool enabled;                   /* a throttle was seen: requests take tokens */
        /* token bucket */
        double fill_rate, max_capacity, capacity, last_refill;
        bool refilled;
        /* CUBIC */
        double w_max, k, last_fail;
        /* measured rate of answers */
        double measured, last_bucket, count;
};

/* The limiter every call of this process shares (started on first use). */
struct ratelimit *ratelimit_shared(void);
/* A fresh limiter whose clocks start at NOW (tests, or a limiter of one's own). */
void ratelimit_init(struct ratelimit *l, double now);

/* Before sending an attempt at NOW: 0 when it may go (a token was taken, or the limiter is
 * not enabled yet), else the milliseconds to wait before asking again. */
uint64_t ratelimit_acquire(struct ratelimit *l, double now);
/* After each answer (every attempt, success or not) at NOW; THROTTLED when it was a
 * throttling error. */
void ratelimit_on_response(struct ratelimit *l, double now, bool throttled);

/* The rate the bucket refills at (tokens per second), for doctor and tests. */
double ratelimit_rate(const struct ratelimit *l);

/* The real cube root of Y (0 for Y <= 0 or NaN), without libm (exposed for the tests). */
double ratelimit_cube_root(double y);

#endif
