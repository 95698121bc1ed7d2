/* What is reported: a recipe run's metrics (RecipeSucceeded, RecipeDuration, the recipe's own)
 * and the heartbeat (Heartbeat, host metrics, SecondsSinceLastSuccess per enabled recipe), as
 * batches under the configured namespace with the InstanceId, Recipe and StackName
 * dimensions. */
#ifndef OPSAGENT_REPORT_BUILD_H
#define OPSAGENT_REPORT_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostmetrics.h"
#include "report_config.h"
#include "util/metric.h"

/* A recipe's own metrics per run beyond this are dropped (with a warning). */
#define REPORT_MAX_RECIPE_METRICS 5000

/* The dimensions every datum carries, into D (room for 3): InstanceId, Recipe (when RECIPE is
 * not NULL), StackName (when set). Returns how many. The strings are borrowed from CFG. */
size_t report_base_dims(const struct report_config *cfg, const char *recipe, struct metric_dim *d);
/* Sets B's namespace to the configured one unless it has one. */
int report_ensure_namespace(const struct report_config *cfg, struct metric_batch *b);

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

/* SecondsSinceLastSuccess is sent for at most this many enabled recipes. */
#define REPORT_MAX_RECIPES 256

#endif
