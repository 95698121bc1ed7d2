/* Health reporting to CloudWatch, the entry points: after a recipe run (its metrics) and for
 * `opsagent report` (the heartbeat). What is sent: report_build.h; how it gets there:
 * report_deliver.h (through the spool, spool.h) and report_sender.h; the `cloudwatch`
 * section: report_config.h. */
#ifndef OPSAGENT_REPORT_H
#define OPSAGENT_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "report_build.h"
#include "report_config.h"
#include "report_deliver.h"
#include "report_sender.h"
#include "run/records.h"
#include "util/error.h"

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
 * SecondsSinceLastSuccess for RECIPES (the enabled ones). On success, *ret_metrics (may be
 * NULL) gets the heartbeat's datums, sent or spooled (empty when reporting is off); the
 * caller frees it with metric_batch_free(). */
int report_heartbeat(json_object *attrs, const char *state_dir, const char *root,
                     const char *const *recipes, size_t n_recipes, enum report_outcome *ret_outcome,
                     struct metric_batch *ret_metrics, struct error *err);
int report_heartbeat_with(json_object *attrs, const char *state_dir, const char *root,
                          const char *const *recipes, size_t n_recipes, const struct report_sender *snd,
                          int64_t now_ms, enum report_outcome *ret_outcome, struct metric_batch *ret_metrics,
                          struct error *err);


/* The wall clock in milliseconds since the epoch. */
int64_t report_now_ms(void);

#endif
