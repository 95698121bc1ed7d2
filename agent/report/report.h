/* Health reporting to CloudWatch: what is sent after a recipe run (RecipeSucceeded,
 * RecipeDuration, the recipe's own metrics) and by `opsagent report` (Heartbeat, host metrics,
 * SecondsSinceLastSuccess per enabled recipe), and how it gets there: in requests within
 * PutMetricData's limits, through the offline spool when CloudWatch cannot be reached, with
 * MetricsDropped once sending works again after the spool's bound dropped something.
 *
 * The sender is a function pointer (struct report_sender): the agent's is CloudWatch's
 * PutMetricData (report_cloudwatch_sender_new()), tests use a fake one. */
#ifndef OPSAGENT_REPORT_H
#define OPSAGENT_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "hostmetrics.h"
#include "spool.h"
#include "run/records.h"
#include "util/error.h"

/* A recipe's own metrics per run beyond this are dropped (with a warning). */
#define REPORT_MAX_RECIPE_METRICS 5000

#define REPORT_DEFAULT_NAMESPACE "OpsAgent"
#define REPORT_DEFAULT_HEARTBEAT_SECONDS 300

/* The `cloudwatch` attribute section and what reporting needs beside it. */
struct report_config {
        bool enabled;                  /* cloudwatch.enabled */
        char *namespace_;              /* cloudwatch.namespace */
        int64_t heartbeat_seconds;     /* cloudwatch.heartbeat_seconds */
        struct spool_limits spool;     /* cloudwatch.spool_max_bytes, .spool_max_age_seconds */
        char *instance_id;             /* opsagent.instance.id, aws.instance_id, else the host name */
        char *stack_name;              /* opsagent.stack_name, NULL when unset */
        char *spool_dir;               /* STATE_DIR/spool */
        char *state_dir;
};

/* The `cloudwatch` section's defaults and schema as JSON text, for the core's attribute
 * table (core_attr_sections in agent/cmd/coreattrs.c). */
extern const char report_attr_defaults[];
extern const char report_attr_schema[];

/* Reads the config from the merged attributes (missing keys take their defaults). A value of
 * the wrong type or out of range is an error naming the key. Free with report_config_free(). */
int report_config_from_attrs(json_object *attrs, const char *state_dir, struct report_config *ret,
                             struct error *err);
void report_config_free(struct report_config *c);

struct report_sender {
        metric_send_fn send;
        void *userdata;
};

/* The agent's sender: PutMetricData through an AWS session made from ATTRS on first use
 * (borrowed; must outlive the sender). Free with report_cloudwatch_sender_free(). */
int report_cloudwatch_sender_new(json_object *attrs, struct report_sender *ret, struct error *err);
void report_cloudwatch_sender_free(struct report_sender *s);

/* Whether an error of the AWS layer is worth retrying later (network, 5xx, throttling,
 * credentials not there yet) rather than a refusal of the data. */
bool report_error_is_transient(int r);

enum report_outcome {
        REPORT_SENT,           /* everything (and what was spooled before) reached CloudWatch */
        REPORT_SPOOLED,        /* CloudWatch could not be reached: kept for later */
        REPORT_DISABLED,       /* cloudwatch.enabled is false: nothing sent */
};

/* Sends B (cut into requests by metric_batch_split()). The spool goes first, oldest
 * first; whatever cannot be sent now is spooled; the count of datums the spool's bound
 * dropped goes out as MetricsDropped once sending works. Fills *ret_outcome. An error
 * (ERR set) when CloudWatch refused the data or the spool cannot be written. */
int report_deliver(const struct report_config *cfg, const struct report_sender *snd, int64_t now_ms,
                   const struct metric_batch *b, enum report_outcome *ret_outcome, struct error *err);

/* One recipe run's metrics, in B (namespace set, appended to): RecipeSucceeded (1/0, Count)
 * and RecipeDuration (Seconds) at END_USEC, then each of METRICS (the run record's; may be
 * NULL; one without a timestamp gets END_USEC's). Dimensions InstanceId, Recipe and StackName
 * when set. Values CloudWatch would refuse are skipped, unknown units sent as None, with a
 * warning. */
int report_build_run(const struct report_config *cfg, const char *recipe, uint64_t start_usec,
                     uint64_t end_usec, bool succeeded, const struct metric_batch *metrics,
                     struct metric_batch *b);

/* A recipe's last success, for SecondsSinceLastSuccess. */
struct report_recipe_age {
        const char *recipe;
        uint64_t last_success_usec;    /* 0: never succeeded */
        uint64_t first_run_usec;       /* its oldest run on record; 0: never ran */
};

/* The heartbeat at NOW_MS, in B: Heartbeat 1 (Count), the host metrics HM (InstanceId, plus
 * path and fstype for disks), and per recipe in AGES SecondsSinceLastSuccess (Seconds;
 * dimensions InstanceId and Recipe): since the last success, or, never having succeeded,
 * since its first run; nothing for a recipe that never ran. */
int report_build_heartbeat(const struct report_config *cfg, int64_t now_ms, const struct hostmetrics *hm,
                           const struct report_recipe_age *ages, size_t n_ages, struct metric_batch *b);

/* SecondsSinceLastSuccess inputs for RECIPES from the run records in STATE_DIR (dry runs do
 * not count). *ret has N entries (free() it; recipe names borrowed from RECIPES). */
int report_recipe_ages(const char *state_dir, const char *const *recipes, size_t n,
                       struct report_recipe_age **ret);

/* Resolves now what reporting will need (region, credentials), before recipes are forked, so
 * that they and the reports after them find it cached in the process instead of asking IMDS
 * again. Nothing when cloudwatch.enabled is false. Best effort: a failure is left for the
 * report to say. */
void report_warm_up(json_object *attrs);

/* After a run: builds and delivers REC's metrics (nothing for a dry run). ATTRS is the merged
 * tree the run used. A reporting failure is an error for the caller to log; it must not
 * change the run's exit status. */
int report_after_run(json_object *attrs, const char *state_dir, const struct run_record *rec,
                     struct error *err);
/* Same with a given sender and clock (tests). */
int report_after_run_with(json_object *attrs, const char *state_dir, const struct run_record *rec,
                          const struct report_sender *snd, int64_t now_ms,
                          enum report_outcome *ret_outcome, struct error *err);

/* `opsagent report`: the heartbeat with host metrics read under ROOT ("" for /) and
 * SecondsSinceLastSuccess for RECIPES (the enabled ones). */
int report_heartbeat(json_object *attrs, const char *state_dir, const char *root,
                     const char *const *recipes, size_t n_recipes, enum report_outcome *ret_outcome,
                     struct error *err);
int report_heartbeat_with(json_object *attrs, const char *state_dir, const char *root,
                          const char *const *recipes, size_t n_recipes, const struct report_sender *snd,
                          int64_t now_ms, enum report_outcome *ret_outcome, struct error *err);

/* SecondsSinceLastSuccess is sent for at most this many enabled recipes. */
#define REPORT_MAX_RECIPES 256

/* The wall clock in milliseconds since the epoch. */
int64_t report_now_ms(void);

#endif
