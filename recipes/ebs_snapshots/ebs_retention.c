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

static const char *const tier_name[3] = { "daily", "weekly", "monthly" };

static bool in_list(const char *const *list, const char *s)
{
        if (!list || !s)
                return false;
        for (; *list; list++)
                if (strcmp(*list, s) == 0)
                        return true;
        return false;
}

#define ID_PREFIX "snap-"
#define ID_PREFIX_LEN 5
#define ID_HEX_MAX 17                 /* digits of AWS's long ids */

static int hex_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;                    /* upper case is not packed: it would not come back the same */
}

uint32_t retention_time_of(int64_t t)
{
        return t < 0 ? 0 : t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

void retention_snap_clear(struct retention_snap *s)
{
        if (s->id_form == RETENTION_ID_TEXT)
                free((char *)(uintptr_t)s->id);
        s->id = 0;
        s->id_form = RETENTION_ID_TEXT;
}

int retention_snap_set_id(struct retention_snap *s, const char *id)
{
        size_t len = id ? strlen(id) : 0, digits = len > ID_PREFIX_LEN ? len - ID_PREFIX_LEN : 0;
        uint64_t bits = 0;
        int top = 0;
        char *text;

        if (len > 0 && len < RETENTION_ID_MAX && strncmp(id, ID_PREFIX, ID_PREFIX_LEN) == 0 && digits >= 1 &&
            digits <= ID_HEX_MAX) {
                size_t i;

                for (i = 0; i < digits; i++) {
                        int v = hex_value(id[ID_PREFIX_LEN + i]);

                        if (v < 0)
                                break;
                        if (digits == ID_HEX_MAX && i == 0)
                                top = v;
                        else
                                bits = bits << 4 | (uint64_t)v;
                }
                if (i == digits) {
                        retention_snap_clear(s);
                        s->id = bits;
                        /* 1..16 digits: form = their count; 17: 17 + the first digit */
                        s->id_form = (uint8_t)(digits == ID_HEX_MAX ? (size_t)(ID_HEX_MAX + top) : digits);
                        s->flags &= (uint8_t)~RETENTION_ID_UNUSABLE;
                        return 0;
                }
        }
        text = strndup(id ? id : "", RETENTION_ID_MAX - 1);
        if (!text)
                return -ENOMEM;
        retention_snap_clear(s);
        s->id = (uint64_t)(uintptr_t)text;
        s->id_form = RETENTION_ID_TEXT;
        if (len == 0 || len >= RETENTION_ID_MAX)
                s->flags |= RETENTION_ID_UNUSABLE;
        else
                s->flags &= (uint8_t)~RETENTION_ID_UNUSABLE;
        return 0;
}

const char *retention_snap_id(const struct retention_snap *s, char buf[RETENTION_ID_MAX])
{
        static const char hex[] = "0123456789abcdef";
        size_t digits, at = ID_PREFIX_LEN;
        uint64_t bits = s->id;

        if (s->id_form == RETENTION_ID_TEXT)
                return s->id ? (const char *)(uintptr_t)s->id : "";
        digits = s->id_form >= ID_HEX_MAX ? (size_t)ID_HEX_MAX : (size_t)s->id_form;
        memcpy(buf, ID_PREFIX, ID_PREFIX_LEN);
        if (digits == ID_HEX_MAX)
                buf[at++] = hex[s->id_form - ID_HEX_MAX];
        for (size_t i = digits == ID_HEX_MAX ? 16 : digits; i > 0; i--)
                buf[at++] = hex[(bits >> (4 * (i - 1))) & 15];
        buf[at] = '\0';
        return buf;
}

/* The ranking: indices into the snapshots (SNAPS), the ones this run just created first (they
 * are the newest, even when a killed run's snapshot started in the same second: start times
 * have a resolution of one second), then by start time, newest first; equal times by id, so
 * that a plan never depends on the input order. */
static int ranked_cmp(const void *a, const void *b, void *snaps)
{
        const struct retention_snap *base = snaps;
        const struct retention_snap *x = &base[*(const uint32_t *)a], *y = &base[*(const uint32_t *)b];
        bool xj = x->flags & RETENTION_JUST_CREATED, yj = y->flags & RETENTION_JUST_CREATED;

        if (xj != yj)
                return xj ? -1 : 1;
        if (x->start_time != y->start_time)
                return x->start_time > y->start_time ? -1 : 1;
        {
                char bx[RETENTION_ID_MAX], by[RETENTION_ID_MAX];

                return -strcmp(retention_snap_id(x, bx), retention_snap_id(y, by));
        }
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

enum retention_state retention_state_of(const char *state)
{
        static const char *const names[] = { "pending", "completed", "error", "recoverable", "recovering" };

        for (size_t i = 0; state && i < sizeof names / sizeof names[0]; i++)
                if (strcmp(state, names[i]) == 0)
                        return (enum retention_state)(i + 1);
        return RETENTION_STATE_UNKNOWN;
}

const char *retention_state_name(enum retention_state state)
{
        static const char *const names[] = { "unknown", "pending", "completed", "error", "recoverable", "recovering" };

        return (unsigned)state < sizeof names / sizeof names[0] ? names[state] : "unknown";
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
static void plan_tiers(const struct retention_policy *p, struct retention_snap *snaps, const uint32_t *ranked,
                       size_t nr)
{
        const unsigned want[3] = { p->daily, p->weekly, p->monthly };

        for (int t = 0; t < 3; t++) {
                char last[TIER_KEY_MAX] = "";
                unsigned left = want[t];

                for (size_t i = 0; i < nr && left > 0; i++) {
                        struct retention_snap *x = &snaps[ranked[i]];
                        char key[TIER_KEY_MAX];

                        tier_key(t, x->start_time, key);
                        if (strcmp(key, last) == 0)
                                continue;
                        memcpy(last, key, sizeof last);
                        left--;
                        x->tiers |= (uint8_t)(1u << t);
                }
        }
}

/* The policy's own verdict on a ranked snapshot: kept? */
static bool policy_keeps(const struct retention_policy *p, const struct retention_snap *x, uint32_t rank,
                         int64_t now)
{
        switch (p->kind) {
        case RETENTION_KEEP_NEWEST:
                return rank < p->keep;
        case RETENTION_MAX_AGE:
                return x->start_time >= now - (int64_t)p->max_age_days * 86400;
        case RETENTION_TIERS:
                return x->tiers != 0;
        }
        return true;
}

/* P, positions to indices (a permutation of 0..N-1), becomes its inverse in place, indices to
 * positions: each cycle is walked once, its entries marked with the top bit (N <= INT32_MAX). */
#define VISITED 0x80000000u

static void invert(uint32_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                uint32_t prev = (uint32_t)i, cur;

                if (p[i] & VISITED)
                        continue;
                cur = p[i];
                while (cur != i) {
                        uint32_t next = p[cur];

                        p[cur] = prev | VISITED;
                        prev = cur;
                        cur = next;
                }
                p[i] = prev | VISITED;
        }
        for (size_t i = 0; i < n; i++)
                p[i] &= ~VISITED;
}

/* Whether X is in the ranked set, once classified (see retention_plan_snaps()). */
static bool is_ranked(const struct retention_snap *x)
{
        return x->why == WHY_JUST_CREATED || x->why == WHY_WITHIN_KEEP;
}

/* max_age_days over the N classified SNAPS: no sort, no memory. */
static void plan_by_age(const struct retention_policy *p, struct retention_snap *snaps, size_t n, int64_t now)
{
        size_t newest = SIZE_MAX;

        for (size_t i = 0; i < n; i++) {
                uint32_t a = (uint32_t)i, b = (uint32_t)newest;

                if (is_ranked(&snaps[i]) && snaps[i].state == RETENTION_STATE_COMPLETED &&
                    (newest == SIZE_MAX || ranked_cmp(&a, &b, snaps) < 0))
                        newest = i;
        }
        for (size_t i = 0; i < n; i++) {
                struct retention_snap *x = &snaps[i];

                if (!is_ranked(x) || x->why == WHY_JUST_CREATED)
                        continue;
                if (policy_keeps(p, x, 0, now))
                        x->why = WHY_WITHIN_AGE;
                else if (i == newest)
                        x->why = WHY_NEWEST_COMPLETED;
                else
                        x->why = WHY_TOO_OLD;
        }
}

int retention_plan_snaps(const struct retention_policy *policy, struct retention_snap *snaps, size_t n, int64_t now,
                         uint32_t **ret_rank)
{
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
        uint32_t *ranked = NULL;
        size_t nr = 0, nu, newest_completed = SIZE_MAX;
        int rc;

        *ret_rank = NULL;
        rc = retention_policy_check(policy);
        if (rc < 0 || n == 0)
                goto out;
        if (n > INT32_MAX) {
                rc = -E2BIG;
                goto out;
        }

        /* First the snapshots no policy may touch; the rest are ranked (why WHY_JUST_CREATED,
         * or WHY_WITHIN_KEEP for now). Just-created snapshots are kept whatever happens, and
         * count towards keep and the tiers. */
        for (size_t i = 0; i < n; i++) {
                struct retention_snap *x = &snaps[i];

                x->tiers = 0;
                if (x->flags & RETENTION_OTHER_VOLUME) {
                        x->why = WHY_OTHER_VOLUME;
                } else if (x->flags & RETENTION_JUST_CREATED) {
                        x->why = WHY_JUST_CREATED;
                } else if (!(x->flags & RETENTION_MANAGED)) {
                        x->why = WHY_UNMANAGED;
                } else if (x->flags & RETENTION_ID_UNUSABLE) {
                        x->why = WHY_BAD_ID;
                } else if (x->state == RETENTION_STATE_PENDING) {
                        x->why = WHY_PENDING;
                } else if (x->state != RETENTION_STATE_COMPLETED) {
                        x->why = WHY_OTHER_STATE;
                } else {
                        x->why = WHY_WITHIN_KEEP; /* placeholder, decided below */
                }
        }
        if (policy->kind == RETENTION_MAX_AGE) {
                /* Each snapshot's age decides; only the newest completed one needs finding (one
                 * pass, no sort), and no rank is said: no memory is taken. */
                plan_by_age(policy, snaps, n, now);
                goto out;
        }
        /* RANKED: the ranked set's indices from the front, the others' from the back. */
        ranked = calloc(n, sizeof *ranked);
        if (!ranked) {
                rc = -ENOMEM;
                goto out;
        }
        nu = n;
        for (size_t i = 0; i < n; i++) {
                if (is_ranked(&snaps[i]))
                        ranked[nr++] = (uint32_t)i;
                else
                        ranked[--nu] = (uint32_t)i;
        }
        qsort_r(ranked, nr, sizeof *ranked, ranked_cmp, snaps);
        for (size_t i = 0; i < nr; i++)
                if (snaps[ranked[i]].state == RETENTION_STATE_COMPLETED) {
                        newest_completed = i;
                        break;
                }
        if (policy->kind == RETENTION_TIERS)
                plan_tiers(policy, snaps, ranked, nr);
        for (size_t i = 0; i < nr; i++) {
                struct retention_snap *x = &snaps[ranked[i]];

                if (x->why == WHY_JUST_CREATED)
                        continue;
                if (policy_keeps(policy, x, (uint32_t)i, now))
                        x->why = keep_why[policy->kind];
                else if (i == newest_completed)
                        x->why = WHY_NEWEST_COMPLETED;
                else
                        x->why = delete_why[policy->kind];
        }
        invert(ranked, n);      /* now each snapshot's rank; >= nr outside the ranked set */
        *ret_rank = ranked;
        ranked = NULL;
out:
        free(ranked);
        return rc;
}

enum retention_action retention_action_of(const struct retention_snap *s)
{
        return s->why == WHY_BEYOND_KEEP || s->why == WHY_TOO_OLD || s->why == WHY_NO_TIER ? RETENTION_DELETE
                                                                                           : RETENTION_KEEP;
}

/* What the policy says of a ranked snapshot, kept or not ("beyond keep=3 (5th newest)"). */
static void policy_reason(const struct retention_policy *p, const struct retention_snap *x, uint32_t rank,
                          int64_t now, char *buf, size_t size)
{
        bool kept = policy_keeps(p, x, rank, now);
        size_t len = 0;

        switch (p->kind) {
        case RETENTION_KEEP_NEWEST:
                snprintf(buf, size, "%s keep=%u (%zu%s newest)", kept ? "within" : "beyond", p->keep,
                         (size_t)rank + 1, ordinal_suffix((size_t)rank + 1));
                break;
        case RETENTION_MAX_AGE:
                snprintf(buf, size, "%" PRId64 " days old, %s max_age_days=%u", (now - (int64_t)x->start_time) / 86400,
                         kept ? "within" : "beyond", p->max_age_days);
                break;
        case RETENTION_TIERS:
                if (!kept) {
                        snprintf(buf, size, "in no tier (daily=%u weekly=%u monthly=%u)", p->daily, p->weekly,
                                 p->monthly);
                        break;
                }
                buf[0] = '\0';
                for (int t = 0; t < 3; t++) {
                        char key[TIER_KEY_MAX];

                        if (!(x->tiers & (1u << t)) || len >= size)
                                continue;
                        tier_key(t, x->start_time, key);
                        snprintf(buf + len, size - len, "%s%s %s", len ? ", " : "", tier_name[t], key);
                        len = strlen(buf);
                }
                break;
        }
}

void retention_reason(const struct retention_policy *policy, const struct retention_snap *s, uint32_t rank,
                      int64_t now, char *buf, size_t size)
{
        char why[RETENTION_REASON_MAX];

        switch (s->why) {
        case WHY_JUST_CREATED:
                snprintf(buf, size, "created by this run");
                return;
        case WHY_PENDING:
                snprintf(buf, size, "still pending");
                return;
        case WHY_UNMANAGED:
                snprintf(buf, size, "not created by opsagent (no " EBS_TAG_MANAGED "=true tag)");
                return;
        case WHY_OTHER_VOLUME:
                snprintf(buf, size, "belongs to another volume");
                return;
        case WHY_OTHER_STATE:
                snprintf(buf, size, "state %s: left alone", retention_state_name(s->state));
                return;
        case WHY_BAD_ID:
                snprintf(buf, size, "its id is empty or longer than %d bytes: left alone", RETENTION_ID_MAX - 1);
                return;
        case WHY_NEWEST_COMPLETED:
                policy_reason(policy, s, rank, now, why, sizeof why);
                snprintf(buf, size, "newest completed snapshot, kept until a newer one completes (%s)", why);
                return;
        default:
                policy_reason(policy, s, rank, now, buf, size);
                return;
        }
}

int retention_plan(const struct retention_policy *policy, const char *volume_id,
                   const struct opsagent_ec2_snapshot *snaps, size_t n, int64_t now,
                   const char *const *just_created, struct retention_decision **ret)
{
        struct retention_decision *d = NULL;
        struct retention_snap *x = NULL;
        uint32_t *rank = NULL;
        int rc;

        rc = retention_policy_check(policy);
        if (rc < 0)
                goto out;
        if (n == 0) {
                *ret = NULL;
                goto out;
        }
        d = calloc(n, sizeof *d);
        x = calloc(n, sizeof *x);
        if (!d || !x) {
                rc = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                const struct opsagent_ec2_snapshot *s = &snaps[i];

                x[i].start_time = retention_time_of(s->start_time);
                rc = retention_snap_set_id(&x[i], s->snapshot_id);
                if (rc < 0)
                        goto out;
                x[i].state = (uint8_t)retention_state_of(s->state);
                if (retention_is_managed(s))
                        x[i].flags |= RETENTION_MANAGED;
                if (in_list(just_created, s->snapshot_id))
                        x[i].flags |= RETENTION_JUST_CREATED;
                if (volume_id && (!s->volume_id || strcmp(s->volume_id, volume_id) != 0))
                        x[i].flags |= RETENTION_OTHER_VOLUME;
        }
        rc = retention_plan_snaps(policy, x, n, now, &rank);
        if (rc < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                d[i].action = retention_action_of(&x[i]);
                d[i].why = (enum retention_why)x[i].why;
                if (x[i].why == WHY_OTHER_VOLUME)
                        snprintf(d[i].reason, sizeof d[i].reason, "belongs to %s, not %s",
                                 snaps[i].volume_id ? snaps[i].volume_id : "no volume", volume_id);
                else
                        retention_reason(policy, &x[i], rank ? rank[i] : 0, now, d[i].reason, sizeof d[i].reason);
        }
        *ret = d;
        d = NULL;
out:
        for (size_t i = 0; x && i < n; i++)
                retention_snap_clear(&x[i]);
        free(rank);
        free(d);
        free(x);
        return rc;
}
