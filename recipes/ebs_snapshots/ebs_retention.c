/* ebs_snapshots retention planner: see retention.h for the rules. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ebs_retention.h"

#define TIER_KEY_MAX 16

struct ranked {
        size_t index;
        int64_t start_time;
        const char *id;
};

static bool in_list(const char *const *list, const char *s)
{
        if (!list || !s)
                return false;
        for (; *list; list++)
                if (strcmp(*list, s) == 0)
                        return true;
        return false;
}

static bool state_is(const struct opsagent_ec2_snapshot *s, const char *state)
{
        return s->state && strcmp(s->state, state) == 0;
}

/* Newest first; equal times by id, so that a plan never depends on the input order. */
static int ranked_cmp(const void *a, const void *b)
{
        const struct ranked *x = a, *y = b;

        if (x->start_time != y->start_time)
                return x->start_time > y->start_time ? -1 : 1;
        return -strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

static void set(struct retention_decision *d, enum retention_action action, enum retention_why why,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void set(struct retention_decision *d, enum retention_action action, enum retention_why why,
                const char *fmt, ...)
{
        va_list ap;

        d->action = action;
        d->why = why;
        va_start(ap, fmt);
        vsnprintf(d->reason, sizeof d->reason, fmt, ap);
        va_end(ap);
}

static const char *ordinal_suffix(size_t n)
{
        if (n % 100 >= 11 && n % 100 <= 13)
                return "th";
        switch (n % 10) {
        case 1: return "st";
        case 2: return "nd";
        case 3: return "rd";
        default: return "th";
        }
}

/* The bucket of T for a tier: "2026-11-23", "2026-W47" (ISO week), "2026-11" (UTC). */
static void tier_key(int tier, int64_t t, char key[TIER_KEY_MAX])
{
        time_t tt = (time_t)t;
        struct tm tm;
        size_t len = 0;

        if (gmtime_r(&tt, &tm)) {
                if (tier == 0)
                        len = strftime(key, TIER_KEY_MAX, "%Y-%m-%d", &tm);
                else if (tier == 1)
                        len = strftime(key, TIER_KEY_MAX, "%G-W%V", &tm);
                else
                        len = strftime(key, TIER_KEY_MAX, "%Y-%m", &tm);
        }
        if (len == 0)
                snprintf(key, TIER_KEY_MAX, "?%" PRId64, t);
}

bool retention_is_managed(const struct opsagent_ec2_snapshot *snap)
{
        for (size_t i = 0; i < snap->n_tags; i++)
                if (snap->tags[i].key && strcmp(snap->tags[i].key, EBS_TAG_MANAGED) == 0)
                        return snap->tags[i].value && strcmp(snap->tags[i].value, "true") == 0;
        return false;
}

int retention_policy_check(const struct retention_policy *p)
{
        if (!p)
                return -EINVAL;
        switch (p->kind) {
        case RETENTION_KEEP_NEWEST:
                return p->keep >= 1 && p->keep <= RETENTION_KEEP_MAX ? 0 : -EINVAL;
        case RETENTION_MAX_AGE:
                return p->max_age_days >= 1 && p->max_age_days <= RETENTION_MAX_AGE_DAYS_MAX ? 0 : -EINVAL;
        case RETENTION_TIERS:
                if (p->daily > RETENTION_TIER_MAX || p->weekly > RETENTION_TIER_MAX ||
                    p->monthly > RETENTION_TIER_MAX)
                        return -EINVAL;
                return p->daily + p->weekly + p->monthly > 0 ? 0 : -EINVAL;
        }
        return -EINVAL;
}

void retention_policy_describe(const struct retention_policy *p, char *buf, size_t size)
{
        switch (p->kind) {
        case RETENTION_KEEP_NEWEST:
                snprintf(buf, size, "keep=%u", p->keep);
                break;
        case RETENTION_MAX_AGE:
                snprintf(buf, size, "max_age_days=%u", p->max_age_days);
                break;
        case RETENTION_TIERS:
                snprintf(buf, size, "tiers daily=%u weekly=%u monthly=%u", p->daily, p->weekly, p->monthly);
                break;
        default:
                snprintf(buf, size, "invalid policy");
        }
}

/* Tiers: walking newest first, the first snapshot of each new bucket is kept, for the N most
 * recent buckets that hold a snapshot (a missed night does not shorten the history). */
static void plan_tiers(const struct retention_policy *p, const struct ranked *r, size_t nr,
                       bool *kept, char (*why)[RETENTION_REASON_MAX])
{
        const unsigned want[3] = { p->daily, p->weekly, p->monthly };
        static const char *const name[3] = { "daily", "weekly", "monthly" };

        for (int t = 0; t < 3; t++) {
                char last[TIER_KEY_MAX] = "";
                unsigned left = want[t];

                for (size_t i = 0; i < nr && left > 0; i++) {
                        char key[TIER_KEY_MAX];

                        tier_key(t, r[i].start_time, key);
                        if (strcmp(key, last) == 0)
                                continue;
                        memcpy(last, key, sizeof last);
                        left--;
                        if (!kept[i]) {
                                kept[i] = true;
                                snprintf(why[i], RETENTION_REASON_MAX, "%s %s", name[t], key);
                        } else {
                                size_t len = strlen(why[i]);
                                snprintf(why[i] + len, RETENTION_REASON_MAX - len, ", %s %s", name[t], key);
                        }
                }
        }
}

int retention_plan(const struct retention_policy *policy, const char *volume_id,
                   const struct opsagent_ec2_snapshot *snaps, size_t n, int64_t now,
                   const char *const *just_created, struct retention_decision **ret)
{
        struct retention_decision *d = NULL;
        struct ranked *r = NULL;
        bool *kept = NULL;
        char (*why)[RETENTION_REASON_MAX] = NULL;
        size_t nr = 0, newest_completed = SIZE_MAX;
        int rc;

        rc = retention_policy_check(policy);
        if (rc < 0)
                goto out;
        if (n == 0) {
                *ret = NULL;
                rc = 0;
                goto out;
        }
        d = calloc(n, sizeof *d);
        r = calloc(n, sizeof *r);
        kept = calloc(n, sizeof *kept);
        why = calloc(n, sizeof *why);
        if (!d || !r || !kept || !why) {
                rc = -ENOMEM;
                goto out;
        }

        /* First the snapshots no policy may touch; the rest are ranked. Just-created snapshots
         * are kept whatever happens, and count towards keep and the tiers. */
        for (size_t i = 0; i < n; i++) {
                const struct opsagent_ec2_snapshot *s = &snaps[i];
                bool rank = false;

                if (volume_id && (!s->volume_id || strcmp(s->volume_id, volume_id) != 0)) {
                        set(&d[i], RETENTION_KEEP, WHY_OTHER_VOLUME, "belongs to %s, not %s",
                            s->volume_id ? s->volume_id : "no volume", volume_id);
                } else if (in_list(just_created, s->snapshot_id)) {
                        set(&d[i], RETENTION_KEEP, WHY_JUST_CREATED, "created by this run");
                        rank = true;
                } else if (!retention_is_managed(s)) {
                        set(&d[i], RETENTION_KEEP, WHY_UNMANAGED,
                            "not created by opsagent (no " EBS_TAG_MANAGED "=true tag)");
                } else if (state_is(s, "pending")) {
                        set(&d[i], RETENTION_KEEP, WHY_PENDING, "still pending");
                } else if (!state_is(s, "completed")) {
                        set(&d[i], RETENTION_KEEP, WHY_OTHER_STATE, "state %s: left alone",
                            s->state ? s->state : "unknown");
                } else {
                        d[i].why = WHY_WITHIN_KEEP; /* placeholder, decided below */
                        rank = true;
                }
                if (rank) {
                        r[nr].index = i;
                        r[nr].start_time = s->start_time;
                        r[nr].id = s->snapshot_id;
                        nr++;
                }
        }
        qsort(r, nr, sizeof *r, ranked_cmp);

        for (size_t i = 0; i < nr; i++)
                if (state_is(&snaps[r[i].index], "completed")) {
                        newest_completed = i;
                        break;
                }

        switch (policy->kind) {
        case RETENTION_KEEP_NEWEST:
                for (size_t i = 0; i < nr; i++) {
                        kept[i] = i < policy->keep;
                        snprintf(why[i], RETENTION_REASON_MAX, "%s keep=%u (%zu%s newest)",
                                 kept[i] ? "within" : "beyond", policy->keep, i + 1, ordinal_suffix(i + 1));
                }
                break;
        case RETENTION_MAX_AGE: {
                int64_t limit = now - (int64_t)policy->max_age_days * 86400;

                for (size_t i = 0; i < nr; i++) {
                        int64_t age_days = (now - r[i].start_time) / 86400;

                        kept[i] = r[i].start_time >= limit;
                        snprintf(why[i], RETENTION_REASON_MAX, "%" PRId64 " days old, %s max_age_days=%u",
                                 age_days, kept[i] ? "within" : "beyond", policy->max_age_days);
                }
                break;
        }
        case RETENTION_TIERS:
                plan_tiers(policy, r, nr, kept, why);
                for (size_t i = 0; i < nr; i++)
                        if (!kept[i])
                                snprintf(why[i], RETENTION_REASON_MAX, "in no tier (daily=%u weekly=%u monthly=%u)",
                                         policy->daily, policy->weekly, policy->monthly);
                break;
        }

        for (size_t i = 0; i < nr; i++) {
                struct retention_decision *x = &d[r[i].index];
                static const enum retention_why keep_why[] = {
                        [RETENTION_KEEP_NEWEST] = WHY_WITHIN_KEEP,
                        [RETENTION_MAX_AGE] = WHY_WITHIN_AGE,
                        [RETENTION_TIERS] = WHY_TIER,
                };
                static const enum retention_why delete_why[] = {
                        [RETENTION_KEEP_NEWEST] = WHY_BEYOND_KEEP,
                        [RETENTION_MAX_AGE] = WHY_TOO_OLD,
                        [RETENTION_TIERS] = WHY_NO_TIER,
                };

                if (x->why == WHY_JUST_CREATED)
                        continue;
                if (kept[i])
                        set(x, RETENTION_KEEP, keep_why[policy->kind], "%s", why[i]);
                else if (i == newest_completed)
                        set(x, RETENTION_KEEP, WHY_NEWEST_COMPLETED,
                            "newest completed snapshot, kept until a newer one completes (%s)", why[i]);
                else
                        set(x, RETENTION_DELETE, delete_why[policy->kind], "%s", why[i]);
        }

        *ret = d;
        d = NULL;
        rc = 0;
out:
        free(d);
        free(r);
        free(kept);
        free(why);
        return rc;
}
