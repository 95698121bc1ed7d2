#include <math.h>

#include "ratelimit.h"

/* Python's min() and max() on the finite values used here (libm's fmin/fmax are not needed:
 * see ratelimit_cube_root()). */
static double min_d(double a, double b)
{
        return b < a ? b : a;
}

static double max_d(double a, double b)
{
        return b > a ? b : a;
}

static void refill(struct ratelimit *l, double now)
{
        if (!l->refilled) {
                l->last_refill = now;
                l->refilled = true;
                return;
        }
        l->capacity = min_d(l->max_capacity, l->capacity + (now - l->last_refill) * l->fill_rate);
        l->last_refill = now;
}

/* TokenBucket.max_rate's setter. */
static void set_max_rate(struct ratelimit *l, double value, double now)
{
        refill(l, now);
        l->fill_rate = max_d(value, RATELIMIT_MIN_RATE);
        l->max_capacity = value >= 1 ? value : 1;
        l->capacity = min_d(l->capacity, l->max_capacity);
}

/* Newton steps ratelimit_cube_root() takes at most: from above, a step at least divides the distance to
 * the root by 1.5 while x is far above it, so that from the largest double it is within a
 * factor of 2 after some 1,200 steps, and then converges quadratically (a handful more). */
#define CUBE_ROOT_MAX_STEPS 2000

/* The real cube root of Y >= 0 by Newton's method, to the last bit that lowers it. The one use
 * of libm in the agent was this and a cube: computing them here keeps libm out of every
 * process (its pages cost about 300 KiB of RSS in each). */
double ratelimit_cube_root(double y)
{
        double x;

        if (!(y > 0))
                return 0;
        /* From x >= cbrt(y), every step x - (x - y/x^2) / 3 = (x + x + y/x^2) / 3 stays >= cbrt(y)
         * (the mean of x, x and y/x^2 is at least their geometric mean) and lowers x until
         * rounding stops it: the first step that does not lower x ends the search. Written so
         * that nothing overflows for x >= 1 (x^2 may round to infinity, making the step 2x/3). */
        x = y > 1 ? y : 1;
        for (int i = 0; i < CUBE_ROOT_MAX_STEPS; i++) {
                double next = x - (x - y / (x * x)) / 3;

                if (!(next < x))
                        break;
                x = next;
        }
        return x;
}

static double cube(double x)
{
        return x * x * x;
}

static double zero_point(double w_max)
{
        return ratelimit_cube_root(w_max * (1 - RATELIMIT_BETA) / RATELIMIT_SCALE);  /* (...) ** (1 / 3.0) in botocore */
}

void ratelimit_init(struct ratelimit *l, double now)
{
        *l = (struct ratelimit){ .started = true };
        /* CubicCalculator(starting_max_rate=0, start_time=now) */
        l->w_max = 0;
        l->k = zero_point(0);
        l->last_fail = now;
        /* RateClocker */
        l->last_bucket = floor(now);
        /* TokenBucket(max_rate=1) */
        set_max_rate(l, 1, now);
}

struct ratelimit *ratelimit_shared(void)
{
        static struct ratelimit shared;

        return &shared;
}

static void start(struct ratelimit *l, double now)
{
        if (!l->started)
                ratelimit_init(l, now);
}

uint64_t ratelimit_acquire(struct ratelimit *l, double now)
{
        double wait;

        start(l, now);
        if (!l->enabled)
                return 0;
        refill(l, now);
        if (l->capacity >= 1) {
                l->capacity -= 1;
                return 0;
        }
        wait = (1 - l->capacity) / l->fill_rate;
        return (uint64_t)ceil(wait * 1000);
}

/* RateClocker.record(): the smoothed rate of answers. */
static double record(struct ratelimit *l, double now)
{
        double scale = 1 / RATELIMIT_BUCKET_S, bucket = floor(now * scale) / scale;

        l->count += 1;
        if (bucket > l->last_bucket) {
                double rate = l->count / (bucket - l->last_bucket);

                l->measured = rate * RATELIMIT_SMOOTHING + l->measured * (1 - RATELIMIT_SMOOTHING);
                l->count = 0;
                l->last_bucket = bucket;
        }
        return l->measured;
}

void ratelimit_on_response(struct ratelimit *l, double now, bool throttled)
{
        double measured, new_rate;

        start(l, now);
        measured = record(l, now);
        if (!throttled) {
                double dt = now - l->last_fail;

                new_rate = RATELIMIT_SCALE * cube(dt - l->k) + l->w_max;
        } else {
                double rate = l->enabled ? min_d(measured, l->fill_rate) : measured;

                l->w_max = rate;
                l->k = zero_point(rate);
                l->last_fail = now;
                new_rate = rate * RATELIMIT_BETA;
                l->enabled = true;
        }
        set_max_rate(l, min_d(new_rate, RATELIMIT_MAX_RATE_SCALE * measured), now);
}

double ratelimit_rate(const struct ratelimit *l)
{
        return l->fill_rate;
}
