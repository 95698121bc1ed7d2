/* ebs_snapshots retention: a pure planner. Given the snapshots of one volume, a policy, "now"
 * and the ids created this run, it decides keep or delete for each snapshot, with a reason.
 * It never touches AWS; run() carries out the plan.
 *
 * Safety rules, whatever the policy:
 *   - only snapshots tagged opsagent:managed=true are ever deleted;
 *   - a snapshot of another volume is never deleted;
 *   - a pending snapshot, or one created this run, is never deleted;
 *   - the newest completed snapshot is never deleted (a backup stays until a newer one has
 *     completed);
 *   - snapshots in other states (error, recoverable, archival...) are left alone.
 * The ranked set that `keep` and the tiers count is: completed snapshots plus the ones created
 * this run (so keep=15 means 15 backups after tonight's run).
 */
#ifndef EBS_RETENTION_H
#define EBS_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opsagent/aws.h"

#define RETENTION_KEEP_MAX 10000u         /* ebs_snapshots.keep */
#define RETENTION_MAX_AGE_DAYS_MAX 36500u /* ebs_snapshots.max_age_days (100 years) */
#define RETENTION_TIER_MAX 1000u          /* each of tiers.daily/weekly/monthly */
#define RETENTION_REASON_MAX 160
#define RETENTION_ID_MAX 24               /* bytes of a snapshot id kept: "snap-" and 17 hex digits */

#define EBS_TAG_MANAGED "opsagent:managed"

enum retention_kind {
        RETENTION_KEEP_NEWEST = 0, /* the newest `keep` */
        RETENTION_MAX_AGE,         /* everything younger than max_age_days */
        RETENTION_TIERS,           /* newest of each of the last N days / ISO weeks / months */
};

struct retention_policy {
        enum retention_kind kind;
        unsigned keep;          /* RETENTION_KEEP_NEWEST, >= 1 */
        unsigned max_age_days;  /* RETENTION_MAX_AGE, >= 1 */
        unsigned daily, weekly, monthly; /* RETENTION_TIERS, at least one > 0 */
};

enum retention_action {
        RETENTION_KEEP = 0,
        RETENTION_DELETE,
};

enum retention_why {
        WHY_JUST_CREATED = 0, /* keep: created by this run */
        WHY_PENDING,          /* keep: still pending */
        WHY_UNMANAGED,        /* keep: lacks opsagent:managed=true */
        WHY_OTHER_VOLUME,     /* keep: belongs to another volume */
        WHY_OTHER_STATE,      /* keep: error/recoverable/...: left alone */
        WHY_NEWEST_COMPLETED, /* keep: the newest completed backup */
        WHY_WITHIN_KEEP,      /* keep: among the newest `keep` */
        WHY_WITHIN_AGE,       /* keep: younger than max_age_days */
        WHY_TIER,             /* keep: newest of a day/week/month bucket */
        WHY_BEYOND_KEEP,      /* delete: older than the newest `keep` */
        WHY_TOO_OLD,          /* delete: older than max_age_days */
        WHY_NO_TIER,          /* delete: in no tier */
        WHY_BAD_ID,           /* keep: its id is empty or longer than RETENTION_ID_MAX - 1 bytes */
};

struct retention_decision {
        enum retention_action action;
        enum retention_why why;
        char reason[RETENTION_REASON_MAX]; /* for people: "beyond keep=3 (5th newest)" */
};

/* True when SNAP carries opsagent:managed=true. */
bool retention_is_managed(const struct opsagent_ec2_snapshot *snap);

/* A snapshot's state as the planner knows it. */
enum retention_state {
        RETENTION_STATE_UNKNOWN = 0, /* none, or one EC2 does not document */
        RETENTION_STATE_PENDING,
        RETENTION_STATE_COMPLETED,
        RETENTION_STATE_ERROR,
        RETENTION_STATE_RECOVERABLE,
        RETENTION_STATE_RECOVERING,
};
enum retention_state retention_state_of(const char *state);   /* NULL: unknown */
const char *retention_state_name(enum retention_state state);  /* "unknown" for unknown */

#define RETENTION_MANAGED 0x01        /* opsagent:managed=true */
#define RETENTION_JUST_CREATED 0x02   /* created by this run */
#define RETENTION_OTHER_VOLUME 0x04   /* handed in by mistake: kept */
#define RETENTION_ID_UNUSABLE 0x08    /* its id is empty or did not fit in id[]: kept (not deletable by id) */
#define RETENTION_CALLER_FLAGS 0xf0   /* the caller's own bits: the planner leaves them alone */

/* What the planner needs of one snapshot, and its verdict: 16 bytes, whatever AWS answered, so
 * that a volume with 100,000 snapshots costs 1.6 MB (2 MB while it is planned, with the
 * ranks). The id is packed: AWS's ids ("snap-" and 8 or 17 lower-case hex digits, or any
 * 1 to 17) are held as their digits; any other id is a string of its own (set and freed with
 * the functions below, never by hand). */
struct retention_snap {
        uint64_t id;                  /* the hex digits, or a char * to the id (RETENTION_ID_TEXT) */
        uint32_t start_time;          /* Unix seconds (clamped to 0 .. UINT32_MAX) */
        uint8_t id_form;              /* RETENTION_ID_TEXT, or how many digits and the 17th */
        uint8_t state : 4;            /* enum retention_state */
        uint8_t why : 4;              /* out: enum retention_why */
        uint8_t flags;                /* RETENTION_* */
        uint8_t tiers;                /* out: bit T set when kept for tier T (daily, weekly, monthly) */
};

#define RETENTION_ID_TEXT 0           /* id_form: S's id is a string it owns */

/* Sets S's id to ID (NULL: empty): an id that is empty or longer than RETENTION_ID_MAX - 1
 * bytes is kept cut and marked RETENTION_ID_UNUSABLE. 0, or -ENOMEM (S unchanged). A record
 * whose id was set must be cleared with retention_snap_clear() (which frees what it owns). */
int retention_snap_set_id(struct retention_snap *s, const char *id);
void retention_snap_clear(struct retention_snap *s);
/* S's id as a string: in BUF, or S's own (borrowed). Never NULL. */
const char *retention_snap_id(const struct retention_snap *s, char buf[RETENTION_ID_MAX]);
/* Unix seconds as struct retention_snap holds them. */
uint32_t retention_time_of(int64_t t);

/* Plans retention for the N snapshots SNAPS of one volume, in place: why and tiers of each.
 * *RET_RANK: N ranks (caller frees), RANK[i] the place of SNAPS[i] in the ranked set (0 for the
 * newest), or >= the number ranked for a snapshot outside it; NULL when N is 0 or the policy
 * says no rank (max_age_days: ages decide, and the newest completed snapshot is found in one
 * pass). NOW: Unix seconds. 0, -EINVAL for an invalid policy, -E2BIG past INT32_MAX
 * snapshots, -ENOMEM. Besides SNAPS it takes 4 bytes per snapshot while it runs, and keeps
 * them as the ranks. */
int retention_plan_snaps(const struct retention_policy *policy, struct retention_snap *snaps, size_t n, int64_t now,
                         uint32_t **ret_rank);
/* Keep or delete, from S's verdict. */
enum retention_action retention_action_of(const struct retention_snap *s);
/* Why, for people, from S's verdict and RANK (its rank from the plan; any value when the plan
 * gave no ranks): "beyond keep=3 (5th newest)". */
void retention_reason(const struct retention_policy *policy, const struct retention_snap *s, uint32_t rank,
                      int64_t now, char *buf, size_t size);

/* The same planner over the SDK's snapshots (the unit tests' simulations use it): plans
 * retention for the N snapshots SNAPS of VOLUME_ID. JUST_CREATED: NULL-terminated ids
 * created this run (may be NULL). NOW: Unix seconds. *ret: N decisions in the order of SNAPS
 * (caller frees; NULL when N is 0). -EINVAL for an invalid policy, -ENOMEM. */
int retention_plan(const struct retention_policy *policy, const char *volume_id,
                   const struct opsagent_ec2_snapshot *snaps, size_t n, int64_t now,
                   const char *const *just_created, struct retention_decision **ret);

/* Checks POLICY's ranges; 0 or -EINVAL. */
int retention_policy_check(const struct retention_policy *policy);

/* "keep=15", "max_age_days=30", "tiers daily=7 weekly=4 monthly=6" into BUF. */
void retention_policy_describe(const struct retention_policy *policy, char *buf, size_t size);

#endif
