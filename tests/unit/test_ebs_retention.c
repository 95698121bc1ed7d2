/* ebs_snapshots retention planner: policies over simulated nights and the safety rules. */
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

#include "ebs_retention.h"

#define DAY 86400
#define SIM_MAX 2048
/* 2026-01-01T08:00:00Z, a Thursday */
#define T0 ((int64_t)1767254400)

static char k_managed[] = "opsagent:managed", v_true[] = "true", v_false[] = "false";
static char k_name[] = "Name", v_manual[] = "made by hand";
static struct opsagent_ec2_tag tags_ours[] = { { k_name, v_manual }, { k_managed, v_true } };
static struct opsagent_ec2_tag tags_false[] = { { k_managed, v_false } };
static struct opsagent_ec2_tag tags_manual[] = { { k_name, v_manual } };
static char st_completed[] = "completed", st_pending[] = "pending", st_error[] = "error";
static char vol1[] = "vol-1", vol2[] = "vol-2";

enum kind { OURS, MANUAL, FALSE_TAG };

struct sim {
        struct opsagent_ec2_snapshot s[SIM_MAX];
        char ids[SIM_MAX][32];
        size_t n;
        unsigned next_id;
};

static struct opsagent_ec2_snapshot *sim_add(struct sim *m, const char *vol, char *state, int64_t t, enum kind k)
{
        struct opsagent_ec2_snapshot *s;

        assert_true(m->n < SIM_MAX);
        s = &m->s[m->n];
        memset(s, 0, sizeof *s);
        snprintf(m->ids[m->n], sizeof m->ids[0], "snap-%06u", m->next_id++);
        s->snapshot_id = m->ids[m->n];
        s->volume_id = strcmp(vol, vol2) == 0 ? vol2 : vol1;
        s->state = state;
        s->start_time = t;
        switch (k) {
        case OURS:
                s->tags = tags_ours;
                s->n_tags = 2;
                break;
        case MANUAL:
                s->tags = tags_manual;
                s->n_tags = 1;
                break;
        case FALSE_TAG:
                s->tags = tags_false;
                s->n_tags = 1;
                break;
        }
        m->n++;
        return s;
}

/* Removes the snapshots D says to delete (ids stay attached to their snapshot). */
static size_t sim_apply(struct sim *m, const struct retention_decision *d)
{
        size_t w = 0, deleted = 0;

        for (size_t i = 0; i < m->n; i++) {
                if (d[i].action == RETENTION_DELETE) {
                        deleted++;
                        continue;
                }
                if (w != i) {
                        m->s[w] = m->s[i];
                        memcpy(m->ids[w], m->ids[i], sizeof m->ids[0]);
                        m->s[w].snapshot_id = m->ids[w];
                }
                w++;
        }
        m->n = w;
        return deleted;
}

static size_t sim_count(const struct sim *m, enum kind k, const char *state)
{
        size_t c = 0;

        for (size_t i = 0; i < m->n; i++) {
                bool ours = retention_is_managed(&m->s[i]);
                if ((k == OURS) != ours)
                        continue;
                if (state && strcmp(m->s[i].state, state) != 0)
                        continue;
                c++;
        }
        return c;
}

/* One night: a new snapshot of ours at T in STATE, then the plan; asserts the safety rules on
 * every decision and returns how many were deleted. */
static size_t sim_night(struct sim *m, const struct retention_policy *p, int64_t t, char *state)
{
        struct opsagent_ec2_snapshot *fresh = sim_add(m, vol1, state, t, OURS);
        char fresh_id[32];
        const char *just[] = { fresh_id, NULL };
        struct retention_decision *d = NULL;
        size_t deleted;

        snprintf(fresh_id, sizeof fresh_id, "%s", fresh->snapshot_id);
        assert_int_equal(retention_plan(p, vol1, m->s, m->n, t + 60, just, &d), 0);
        for (size_t i = 0; i < m->n; i++) {
                const struct opsagent_ec2_snapshot *s = &m->s[i];
                assert_true(d[i].reason[0] != '\0');
                if (d[i].action != RETENTION_DELETE)
                        continue;
                assert_true(retention_is_managed(s));
                assert_string_equal(s->state, "completed");
                assert_string_equal(s->volume_id, vol1);
                assert_string_not_equal(s->snapshot_id, fresh_id);
        }
        deleted = sim_apply(m, d);
        free(d);
        return deleted;
}

static void mark_completed(struct sim *m)
{
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->s[i].state, "pending") == 0)
                        m->s[i].state = st_completed;
}

static int64_t newest_time(const struct sim *m, enum kind k, size_t rank)
{
        int64_t times[SIM_MAX];
        size_t c = 0;

        for (size_t i = 0; i < m->n; i++)
                if ((k == OURS) == retention_is_managed(&m->s[i]))
                        times[c++] = m->s[i].start_time;
        /* selection of the RANK-th newest */
        for (size_t a = 0; a < c; a++)
                for (size_t b = a + 1; b < c; b++)
                        if (times[b] > times[a]) {
                                int64_t x = times[a];
                                times[a] = times[b];
                                times[b] = x;
                        }
        return rank < c ? times[rank] : -1;
}

/* keep=3, snapshots complete at once (like the stand-in): after each night the 3 newest. */
static void test_keep_over_nights_completed(void **state)
{
        static struct sim m;
        struct retention_policy p = { .kind = RETENTION_KEEP_NEWEST, .keep = 3 };

        memset(&m, 0, sizeof m);
        for (int night = 1; night <= 12; night++) {
                int64_t t = T0 + night * DAY;
                size_t deleted = sim_night(&m, &p, t, st_completed);

                assert_int_equal(deleted, night > 3 ? 1 : 0);
                assert_int_equal(sim_count(&m, OURS, NULL), night < 3 ? night : 3);
                assert_int_equal(newest_time(&m, OURS, 0), t);
                if (night >= 3)
                        assert_int_equal(newest_time(&m, OURS, 2), t - 2 * DAY);
        }
}

/* keep=3, tonight's snapshot still pending (real EC2): it counts towards keep and is never
 * deleted; yesterday's completes before the next night. */
static void test_keep_over_nights_pending(void **state)
{
        static struct sim m;
        struct retention_policy p = { .kind = RETENTION_KEEP_NEWEST, .keep = 3 };

        memset(&m, 0, sizeof m);
        for (int night = 1; night <= 10; night++) {
                mark_completed(&m);
                sim_night(&m, &p, T0 + night * DAY, st_pending);
                assert_int_equal(sim_count(&m, OURS, "pending"), 1);
                assert_int_equal(sim_count(&m, OURS, NULL), night < 3 ? night : 3);
        }
}

/* The default keep=15 as in the cookbook. */
static void test_keep_default_fifteen(void **state)
{
        static struct sim m;
        struct retention_policy p = { .kind = RETENTION_KEEP_NEWEST, .keep = 15 };

        memset(&m, 0, sizeof m);
        for (int night = 1; night <= 40; night++)
                sim_night(&m, &p, T0 + night * DAY, st_completed);
        assert_int_equal(sim_count(&m, OURS, NULL), 15);
        assert_int_equal(newest_time(&m, OURS, 14), T0 + 26 * DAY);
}

/* Manual snapshots of the volume, and ones tagged opsagent:managed=false, survive every night,
 * however old and however many. */
static void test_manual_snapshots_survive(void **state)
{
        static struct sim m;
        struct retention_policy p = { .kind = RETENTION_KEEP_NEWEST, .keep = 2 };

        memset(&m, 0, sizeof m);
        sim_add(&m, vol1, st_completed, T0 - 400 * DAY, MANUAL);
        sim_add(&m, vol1, st_completed, T0 - 300 * DAY, FALSE_TAG);
        for (int night = 1; night <= 20; night++) {
                if (night % 3 == 0)
                        sim_add(&m, vol1, st_completed, T0 + night * DAY - 3600, MANUAL);
                sim_night(&m, &p, T0 + night * DAY, st_completed);
                assert_int_equal(sim_count(&m, MANUAL, NULL), 2 + night / 3);
                assert_int_equal(sim_count(&m, OURS, NULL), night < 2 ? night : 2);
        }
}

static void plan_one(const struct retention_policy *p, struct sim *m, int64_t now, const char *const *just,
                     struct retention_decision **d)
{
        assert_int_equal(retention_plan(p, vol1, m->s, m->n, now, just, d), 0);
}

/* A snapshot of another volume handed in by mistake is never deleted. */
static void test_other_volume_kept(void **state)
{
        static struct sim m;
        struct retention_policy p = { .kind = RETENTION_KEEP_NEWEST, .keep = 1 };
        struct retention_decision *d;

        memset(&m, 0, sizeof m);
        sim_add(&m, vol2, st_completed, T0 - 10 * DAY, OURS);
        sim_add(&m, vol1, st_completed, T0 - 5 * DAY, OURS);
        sim_add(&m, vol1, st_completed, T0 - 4 * DAY, OURS);
        plan_one(&p, &m, T0, NULL, &d);
        assert_int_equal(d[0].action, RETENTION_KEEP);
        assert_int_equal(d[0].why, WHY_OTHER_VOLUME);
        assert_int_equal(d[1].action, RETENTION_DELETE);
        assert_int_equal(d[1].why, WHY_BEYOND_KEEP);
        assert_int_equal(d[2].why, WHY_WITHIN_KEEP);
        free(d);
}

/* An old pending snapshot is beyond keep but is never deleted; other states are left alone. */
static void test_pending_and_error_left_alone(void **state)
{
        static struct sim m;
        struct retention_policy p = { .kind = RETENTION_KEEP_NEWEST, .keep = 1 };
        struct retention_decision *d;

        memset(&m, 0, sizeof m);
        sim_add(&m, vol1, st_pending, T0 - 30 * DAY, OURS);
        sim_add(&m, vol1, st_error, T0 - 20 * DAY, OURS);
        sim_add(&m, vol1, st_completed, T0 - 2 * DAY, OURS);
        sim_add(&m, vol1, st_completed, T0 - 1 * DAY, OURS);
        m.s[1].state = NULL; /* an answer without a state is not a completed snapshot either */
        plan_one(&p, &m, T0, NULL, &d);
        assert_int_equal(d[0].why, WHY_PENDING);
        assert_int_equal(d[0].action, RETENTION_KEEP);
        assert_int_equal(d[1].why, WHY_OTHER_STATE);
        assert_int_equal(d[1].action, RETENTION_KEEP);
        assert_int_equal(d[2].action, RETENTION_DELETE);
        assert_int_equal(d[3].why, WHY_WITHIN_KEEP);
        free(d);
        m.s[1].state = st_error;
        plan_one(&p, &m, T0, NULL, &d);
        assert_int_equal(d[1].why, WHY_OTHER_STATE);
        assert_non_null(strstr(d[1].reason, "error"));
        free(d);
}

/* A killed run's snapshots that started in the same second as tonight's (start times have a
 * resolution of one second): tonight's still counts as the newest, so keep=2 leaves 2. */
static void test_just_created_newest_in_the_same_second(void **state)
{
        static struct sim m;
        struct retention_policy p = { .kind = RETENTION_KEEP_NEWEST, .keep = 2 };
        const char *just[] = { NULL, NULL };
        struct retention_decision *d;
        size_t kept = 0;

        memset(&m, 0, sizeof m);
        just[0] = sim_add(&m, vol1, st_completed, T0, OURS)->snapshot_id;
        sim_add(&m, vol1, st_completed, T0, OURS);
        sim_add(&m, vol1, st_completed, T0, OURS);
        plan_one(&p, &m, T0, just, &d);
        assert_int_equal(d[0].why, WHY_JUST_CREATED);
        for (size_t i = 0; i < 3; i++)
                kept += d[i].action == RETENTION_KEEP;
        assert_int_equal(kept, 2);
        free(d);
        (void)state;
}

/* keep=1 while tonight's snapshot is pending: the newest completed one stays. */
static void test_newest_completed_kept_until_replaced(void **state)
{
        static struct sim m;
        struct retention_policy p = { .kind = RETENTION_KEEP_NEWEST, .keep = 1 };
        const char *just[] = { NULL, NULL };
        struct retention_decision *d;

        memset(&m, 0, sizeof m);
        sim_add(&m, vol1, st_completed, T0 - 2 * DAY, OURS);
        sim_add(&m, vol1, st_completed, T0 - 1 * DAY, OURS);
        just[0] = sim_add(&m, vol1, st_pending, T0, OURS)->snapshot_id;
        plan_one(&p, &m, T0, just, &d);
        assert_int_equal(d[0].action, RETENTION_DELETE);
        assert_int_equal(d[1].action, RETENTION_KEEP);
        assert_int_equal(d[1].why, WHY_NEWEST_COMPLETED);
        assert_int_equal(d[2].why, WHY_JUST_CREATED);
        free(d);
        /* once it completed, the older one goes */
        m.s[2].state = st_completed;
        plan_one(&p, &m, T0 + 60, just, &d);
        assert_int_equal(d[0].action, RETENTION_DELETE);
        assert_int_equal(d[1].action, RETENTION_DELETE);
        assert_int_equal(d[2].action, RETENTION_KEEP);
        free(d);
}

/* max_age_days: exactly N days old is kept, a second older is deleted. */
static void test_max_age_boundary(void **state)
{
        static struct sim m;
        struct retention_policy p = { .kind = RETENTION_MAX_AGE, .max_age_days = 7 };
        struct retention_decision *d;

        memset(&m, 0, sizeof m);
        sim_add(&m, vol1, st_completed, T0 - 7 * DAY - 1, OURS);
        sim_add(&m, vol1, st_completed, T0 - 7 * DAY, OURS);
        sim_add(&m, vol1, st_completed, T0 - 1, OURS);
        plan_one(&p, &m, T0, NULL, &d);
        assert_int_equal(d[0].action, RETENTION_DELETE);
        assert_int_equal(d[0].why, WHY_TOO_OLD);
        assert_int_equal(d[1].action, RETENTION_KEEP);
        assert_int_equal(d[1].why, WHY_WITHIN_AGE);
        assert_int_equal(d[2].action, RETENTION_KEEP);
        assert_non_null(strstr(d[0].reason, "max_age_days=7"));
        free(d);
}

/* max_age over nights: about max_age_days+1 snapshots remain; after a long gap (instance
 * stopped) everything is older than the limit but the newest backup stays. */
static void test_max_age_over_nights_and_gap(void **state)
{
        static struct sim m;
        struct retention_policy p = { .kind = RETENTION_MAX_AGE, .max_age_days = 5 };
        struct retention_decision *d;

        memset(&m, 0, sizeof m);
        for (int night = 1; night <= 20; night++) {
                sim_night(&m, &p, T0 + night * DAY, st_completed);
                /* now = t + 60 s: the one exactly 5 days (+60 s) old is gone */
                assert_int_equal(sim_count(&m, OURS, NULL), night < 5 ? night : 5);
        }
        /* 30 days later, planning without a new snapshot (dry-run view): the newest stays */
        plan_one(&p, &m, T0 + 50 * DAY, NULL, &d);
        for (size_t i = 0; i < m.n; i++) {
                if (m.s[i].start_time == T0 + 20 * DAY) {
                        assert_int_equal(d[i].action, RETENTION_KEEP);
                        assert_int_equal(d[i].why, WHY_NEWEST_COMPLETED);
                } else {
                        assert_int_equal(d[i].action, RETENTION_DELETE);
                }
        }
        free(d);
}

static bool has_time(const struct sim *m, int64_t t)
{
        for (size_t i = 0; i < m->n; i++)
                if (m->s[i].start_time == t && retention_is_managed(&m->s[i]))
                        return true;
        return false;
}

/* Tiers over 400 nights: the last 7 nights, the newest of the last 4 ISO weeks and of the last
 * 6 months are always there, and never more than 7+4+6 snapshots. */
static void test_tiers_over_400_nights(void **state)
{
        static struct sim m;
        struct retention_policy p = { .kind = RETENTION_TIERS, .daily = 7, .weekly = 4, .monthly = 6 };

        memset(&m, 0, sizeof m);
        for (int night = 0; night < 400; night++) {
                int64_t t = T0 + night * DAY;
                struct tm tm;
                time_t tt;

                sim_night(&m, &p, t, st_completed);
                assert_true(sim_count(&m, OURS, NULL) <= 17);
                for (int k = 0; k < 7 && k <= night; k++)
                        assert_true(has_time(&m, t - k * DAY));
                /* the newest snapshot of each of the 6 most recent months is the one of that
                 * month's last day (or tonight's, for this month) */
                tt = (time_t)t;
                gmtime_r(&tt, &tm);
                {
                        int64_t last_of_month = t;
                        for (int mo = 0; mo < 6; mo++) {
                                struct tm x;
                                time_t xt;
                                if (last_of_month < T0)
                                        break;
                                assert_true(has_time(&m, last_of_month));
                                /* step back to the last night of the previous month */
                                xt = (time_t)last_of_month;
                                gmtime_r(&xt, &x);
                                last_of_month -= (int64_t)x.tm_mday * DAY;
                        }
                }
                /* the newest of each of the last 4 weeks: Sundays (ISO weeks end on Sunday) */
                {
                        int64_t w = t;
                        for (int wk = 0; wk < 4; wk++) {
                                struct tm x;
                                time_t xt = (time_t)w;
                                if (w < T0)
                                        break;
                                assert_true(has_time(&m, w));
                                gmtime_r(&xt, &x);
                                /* tm_wday: 0 Sunday. Back to the previous Sunday. */
                                w -= (int64_t)(x.tm_wday == 0 ? 7 : x.tm_wday) * DAY;
                        }
                }
        }
        assert_true(sim_count(&m, OURS, NULL) >= 12);
}

/* Missed nights do not shorten the daily history: daily=3 keeps the 3 most recent days that
 * have a snapshot, and one reason names every tier a snapshot is kept for. */
static void test_tiers_missed_nights(void **state)
{
        static struct sim m;
        struct retention_policy p = { .kind = RETENTION_TIERS, .daily = 3 };
        struct retention_decision *d;

        memset(&m, 0, sizeof m);
        sim_add(&m, vol1, st_completed, T0 - 20 * DAY, OURS);
        sim_add(&m, vol1, st_completed, T0 - 10 * DAY, OURS);
        sim_add(&m, vol1, st_completed, T0 - 10 * DAY + 3600, OURS); /* same day, newer */
        sim_add(&m, vol1, st_completed, T0 - 5 * DAY, OURS);
        sim_add(&m, vol1, st_completed, T0 - 30 * DAY, OURS);
        plan_one(&p, &m, T0, NULL, &d);
        assert_int_equal(d[0].action, RETENTION_KEEP);
        assert_int_equal(d[0].why, WHY_TIER);
        assert_int_equal(d[1].action, RETENTION_DELETE);
        assert_int_equal(d[1].why, WHY_NO_TIER);
        assert_int_equal(d[2].action, RETENTION_KEEP);
        assert_int_equal(d[3].action, RETENTION_KEEP);
        assert_int_equal(d[4].action, RETENTION_DELETE);
        assert_non_null(strstr(d[3].reason, "daily 2025-12-27"));
        free(d);

        p.weekly = 2;
        plan_one(&p, &m, T0, NULL, &d);
        assert_non_null(strstr(d[3].reason, "weekly"));
        assert_non_null(strstr(d[3].reason, "daily"));
        free(d);
}

/* The plan does not depend on the order AWS lists snapshots in, ties included. */
static void test_order_independent(void **state)
{
        static struct sim m, rev;
        struct retention_policy p = { .kind = RETENTION_KEEP_NEWEST, .keep = 4 };
        struct retention_decision *d1, *d2;

        memset(&m, 0, sizeof m);
        memset(&rev, 0, sizeof rev);
        for (int i = 0; i < 12; i++)
                sim_add(&m, vol1, st_completed, T0 - (i / 2) * DAY, OURS); /* pairs share a time */
        for (size_t i = 0; i < m.n; i++) {
                rev.s[i] = m.s[m.n - 1 - i];
                memcpy(rev.ids[i], m.ids[m.n - 1 - i], sizeof rev.ids[0]);
                rev.s[i].snapshot_id = rev.ids[i];
        }
        rev.n = m.n;
        plan_one(&p, &m, T0, NULL, &d1);
        plan_one(&p, &rev, T0, NULL, &d2);
        for (size_t i = 0; i < m.n; i++)
                assert_int_equal(d1[i].action, d2[m.n - 1 - i].action);
        assert_int_equal(d1[0].action + d1[1].action + d1[2].action + d1[3].action, 0);
        assert_int_equal(d1[4].action, RETENTION_DELETE);
        free(d1);
        free(d2);
}

/* Random nights: many volumes' worth of states, tags and times; the safety rules hold and the
 * number of managed completed snapshots left equals min(keep, ranked). */
static void test_random_nights_invariants(void **state)
{
        static struct sim m;
        uint32_t seed = 12345;

        for (int round = 0; round < 300; round++) {
                struct retention_policy p = { .kind = RETENTION_KEEP_NEWEST };
                struct retention_decision *d;
                size_t ranked = 0, kept_ranked = 0;
                const char *just[] = { NULL, NULL };

                memset(&m, 0, sizeof m);
                seed = seed * 1103515245u + 12345u;
                p.keep = 1 + (seed >> 16) % 6;
                for (int i = 0; i < 25; i++) {
                        static char *states[] = { st_completed, st_completed, st_completed, st_pending, st_error };
                        enum kind k;
                        seed = seed * 1103515245u + 12345u;
                        k = (seed >> 8) % 5 == 0 ? MANUAL : OURS;
                        sim_add(&m, (seed >> 12) % 7 == 0 ? vol2 : vol1, states[(seed >> 16) % 5],
                                T0 - (int64_t)((seed >> 4) % 50) * DAY, k);
                }
                {
                        struct opsagent_ec2_snapshot *fresh = &m.s[(seed >> 20) % m.n];
                        fresh->volume_id = vol1; /* tonight's: this volume, the newest */
                        fresh->start_time = T0 + 1;
                        just[0] = fresh->snapshot_id;
                }
                plan_one(&p, &m, T0, just, &d);
                for (size_t i = 0; i < m.n; i++) {
                        const struct opsagent_ec2_snapshot *s = &m.s[i];
                        bool rankable = strcmp(s->volume_id, vol1) == 0 &&
                                        (s->snapshot_id == just[0] ||
                                         (retention_is_managed(s) && strcmp(s->state, "completed") == 0));
                        if (d[i].action == RETENTION_DELETE) {
                                assert_true(rankable);
                                assert_true(s->snapshot_id != just[0]);
                                assert_string_equal(s->state, "completed");
                                assert_true(retention_is_managed(s));
                        }
                        if (rankable) {
                                ranked++;
                                if (d[i].action == RETENTION_KEEP && d[i].why != WHY_NEWEST_COMPLETED)
                                        kept_ranked++;
                        }
                }
                assert_int_equal(kept_ranked, ranked < p.keep ? ranked : p.keep);
                free(d);
        }
}

/* Each limit is checked, on both sides. */
static void test_policy_limits(void **state)
{
        struct retention_policy p = { .kind = RETENTION_KEEP_NEWEST };
        struct opsagent_ec2_snapshot one = { 0 };
        struct retention_decision *d = (void *)&one;
        char text[64];

        p.keep = 0;
        assert_int_equal(retention_policy_check(&p), -EINVAL);
        assert_int_equal(retention_plan(&p, vol1, &one, 1, T0, NULL, &d), -EINVAL);
        assert_ptr_equal(d, (void *)&one); /* untouched on failure */
        p.keep = RETENTION_KEEP_MAX;
        assert_int_equal(retention_policy_check(&p), 0);
        p.keep = RETENTION_KEEP_MAX + 1;
        assert_int_equal(retention_policy_check(&p), -EINVAL);

        p.kind = RETENTION_MAX_AGE;
        p.max_age_days = 0;
        assert_int_equal(retention_policy_check(&p), -EINVAL);
        p.max_age_days = RETENTION_MAX_AGE_DAYS_MAX;
        assert_int_equal(retention_policy_check(&p), 0);
        p.max_age_days = RETENTION_MAX_AGE_DAYS_MAX + 1;
        assert_int_equal(retention_policy_check(&p), -EINVAL);

        p.kind = RETENTION_TIERS;
        assert_int_equal(retention_policy_check(&p), -EINVAL); /* all zero */
        p.monthly = RETENTION_TIER_MAX;
        assert_int_equal(retention_policy_check(&p), 0);
        p.monthly = RETENTION_TIER_MAX + 1;
        assert_int_equal(retention_policy_check(&p), -EINVAL);
        p.monthly = 1;
        retention_policy_describe(&p, text, sizeof text);
        assert_string_equal(text, "tiers daily=0 weekly=0 monthly=1");

        p.kind = 42;
        assert_int_equal(retention_policy_check(&p), -EINVAL);
        assert_int_equal(retention_policy_check(NULL), -EINVAL);
}

static void test_empty_volume(void **state)
{
        struct retention_policy p = { .kind = RETENTION_KEEP_NEWEST, .keep = 3 };
        struct retention_decision *d = (void *)&p;

        assert_int_equal(retention_plan(&p, vol1, NULL, 0, T0, NULL, &d), 0);
        assert_null(d);
}

/* A tag opsagent:managed with another value, or a missing tag list, is not ours. */
static void test_managed_tag_must_be_true(void **state)
{
        struct opsagent_ec2_snapshot s = { 0 };

        assert_false(retention_is_managed(&s));
        s.tags = tags_false;
        s.n_tags = 1;
        assert_false(retention_is_managed(&s));
        s.tags = tags_ours;
        s.n_tags = 2;
        assert_true(retention_is_managed(&s));
}

/* The compact record: 16 bytes, and every id comes back as it went in, packed (AWS's forms) or
 * as a string of its own (anything else); an empty or too long id is marked unusable, cut. */
static void test_compact_ids_round_trip(void **state)
{
        static const struct {
                const char *id;
                bool packed, unusable;
        } cases[] = {
                { "snap-0123456789abcdef0", true, false },   /* AWS's long form */
                { "snap-f123456789abcdef0", true, false },   /* its first digit is kept too */
                { "snap-ffffffffffffffff", true, false },    /* 16 digits, all ones */
                { "snap-1234abcd", true, false },            /* the short form */
                { "snap-00001", true, false },               /* leading zeros count */
                { "snap-0", true, false },
                { "snap-", false, false },                   /* no digits */
                { "snap-ABCDEF", false, false },             /* upper case: not AWS's, kept as text */
                { "snap-old1", false, false },
                { "snap-0123456789abcdef01", false, false },  /* 18 digits */
                { "vol-0123", false, false },
                { "snap-0123456789abcdef0123", false, true }, /* 25 bytes: cut, unusable */
                { "", false, true },
        };
        char buf[RETENTION_ID_MAX];

        assert_int_equal(sizeof(struct retention_snap), 16);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct retention_snap x = { 0 };
                char want[RETENTION_ID_MAX];

                snprintf(want, sizeof want, "%s", cases[i].id);
                assert_int_equal(retention_snap_set_id(&x, cases[i].id), 0);
                assert_string_equal(retention_snap_id(&x, buf), want);
                assert_int_equal(x.id_form != RETENTION_ID_TEXT, cases[i].packed);
                assert_int_equal(!!(x.flags & RETENTION_ID_UNUSABLE), cases[i].unusable);
                /* set again over a text id (no leak under ASan), then clear */
                assert_int_equal(retention_snap_set_id(&x, "snap-1234abcd"), 0);
                assert_string_equal(retention_snap_id(&x, buf), "snap-1234abcd");
                assert_false(x.flags & RETENTION_ID_UNUSABLE);
                retention_snap_clear(&x);
                assert_string_equal(retention_snap_id(&x, buf), "");
        }
        {
                struct retention_snap x = { 0 };

                assert_int_equal(retention_snap_set_id(&x, NULL), 0);
                assert_string_equal(retention_snap_id(&x, buf), "");
                assert_true(x.flags & RETENTION_ID_UNUSABLE);
                retention_snap_clear(&x);
        }
        assert_int_equal(retention_time_of(-5), 0);
        assert_int_equal(retention_time_of(1700000000), 1700000000u);
        assert_int_equal(retention_time_of((int64_t)UINT32_MAX + 10), UINT32_MAX);
}

/* Ranks come back per snapshot in the input's order, whatever the mix of packed and text ids
 * that ties in one second are ordered by (newest first, then the larger id). */
static void test_ranks_in_input_order(void **state)
{
        const char *ids[] = { "snap-0000000000000000a", "snap-b", "snap-old", "snap-0000000000000000c", "snap-a1" };
        struct retention_policy p = { .kind = RETENTION_KEEP_NEWEST, .keep = 2 };
        struct retention_snap x[5] = { { 0 } };
        uint32_t *rank = NULL;
        char reason[RETENTION_REASON_MAX];

        for (size_t i = 0; i < 5; i++) {
                assert_int_equal(retention_snap_set_id(&x[i], ids[i]), 0);
                x[i].start_time = 1000;
                x[i].state = RETENTION_STATE_COMPLETED;
                x[i].flags |= RETENTION_MANAGED;
        }
        assert_int_equal(retention_plan_snaps(&p, x, 5, 2000, &rank), 0);
        assert_non_null(rank);
        /* strcmp order, largest first: "snap-old" > "snap-b" > "snap-a1" > "snap-0...c" > "snap-0...a" */
        assert_int_equal(rank[2], 0);
        assert_int_equal(rank[1], 1);
        assert_int_equal(rank[4], 2);
        assert_int_equal(rank[3], 3);
        assert_int_equal(rank[0], 4);
        assert_int_equal(retention_action_of(&x[2]), RETENTION_KEEP);
        assert_int_equal(retention_action_of(&x[1]), RETENTION_KEEP);
        assert_int_equal(retention_action_of(&x[4]), RETENTION_DELETE);
        retention_reason(&p, &x[0], rank[0], 2000, reason, sizeof reason);
        assert_string_equal(reason, "beyond keep=2 (5th newest)");
        free(rank);
        for (size_t i = 0; i < 5; i++)
                retention_snap_clear(&x[i]);
        assert_int_equal(retention_plan_snaps(&p, x, 0, 2000, &rank), 0);
        assert_null(rank);
}

/* max_age_days needs no ranks: none are made, and the newest completed snapshot is still kept
 * when every one is too old (the largest id of the newest second, whatever the input order). */
static void test_max_age_makes_no_ranks(void **state)
{
        const char *ids[] = { "snap-0000000000000000a", "snap-old", "snap-b", "snap-z9" };
        struct retention_policy p = { .kind = RETENTION_MAX_AGE, .max_age_days = 1 };
        struct retention_snap x[4] = { { 0 } };
        uint32_t *rank = (uint32_t *)&p;   /* must be set to NULL */
        char reason[RETENTION_REASON_MAX];

        for (size_t i = 0; i < 4; i++) {
                assert_int_equal(retention_snap_set_id(&x[i], ids[i]), 0);
                x[i].start_time = i == 3 ? 500 : 1000;   /* all older than a day at now */
                x[i].state = RETENTION_STATE_COMPLETED;
                x[i].flags |= RETENTION_MANAGED;
        }
        assert_int_equal(retention_plan_snaps(&p, x, 4, 1000 + 3 * 86400, &rank), 0);
        assert_null(rank);
        assert_int_equal(x[1].why, WHY_NEWEST_COMPLETED);   /* "snap-old" > "snap-b" > "snap-0..." */
        assert_int_equal(retention_action_of(&x[0]), RETENTION_DELETE);
        assert_int_equal(retention_action_of(&x[2]), RETENTION_DELETE);
        assert_int_equal(retention_action_of(&x[3]), RETENTION_DELETE);
        retention_reason(&p, &x[0], 0, 1000 + 3 * 86400, reason, sizeof reason);
        assert_string_equal(reason, "3 days old, beyond max_age_days=1");
        for (size_t i = 0; i < 4; i++)
                retention_snap_clear(&x[i]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_compact_ids_round_trip),
                cmocka_unit_test(test_ranks_in_input_order),
                cmocka_unit_test(test_max_age_makes_no_ranks),
                cmocka_unit_test(test_keep_over_nights_completed),
                cmocka_unit_test(test_keep_over_nights_pending),
                cmocka_unit_test(test_keep_default_fifteen),
                cmocka_unit_test(test_manual_snapshots_survive),
                cmocka_unit_test(test_other_volume_kept),
                cmocka_unit_test(test_pending_and_error_left_alone),
                cmocka_unit_test(test_newest_completed_kept_until_replaced),
                cmocka_unit_test(test_max_age_boundary),
                cmocka_unit_test(test_max_age_over_nights_and_gap),
                cmocka_unit_test(test_tiers_over_400_nights),
                cmocka_unit_test(test_tiers_missed_nights),
                cmocka_unit_test(test_order_independent),
                cmocka_unit_test(test_random_nights_invariants),
                cmocka_unit_test(test_policy_limits),
                cmocka_unit_test(test_empty_volume),
                cmocka_unit_test(test_managed_tag_must_be_true),
                cmocka_unit_test(test_just_created_newest_in_the_same_second),
        };
        return cmocka_run_group_tests_name("ebs_retention", tests, NULL, NULL);
}
