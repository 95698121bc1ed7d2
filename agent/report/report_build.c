#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report_build.h"
#include "run/records.h"
#include "util/log.h"

size_t report_base_dims(const struct report_config *cfg, const char *recipe, struct metric_dim *d)
{
        size_t n = 0;

        d[n++] = (struct metric_dim){ "InstanceId", cfg->instance_id };
        if (recipe)
                d[n++] = (struct metric_dim){ "Recipe", (char *)recipe };
        if (cfg->stack_name)
                d[n++] = (struct metric_dim){ "StackName", cfg->stack_name };
        return n;
}

int report_ensure_namespace(const struct report_config *cfg, struct metric_batch *b)
{
        if (b->namespace_)
                return 0;
        return metric_batch_set_namespace(b, cfg->namespace_);
}

/* Adds one datum, fixing what CloudWatch would refuse: tiny magnitudes become 0; NaN,
 * infinities and huge values are skipped with a warning (0 returned). */
static int add_checked(struct metric_batch *b, const char *name, const char *unit, double value,
                       int64_t ts_ms, const struct metric_dim *dims, size_t n_dims)
{
        int r;

        if (!isfinite(value) || fabs(value) > METRIC_MAX_ABS_VALUE) {
                log_warning("metric %s: value %g cannot be sent to CloudWatch; skipped", name, value);
                return 0;
        }
        if (value != 0 && fabs(value) < METRIC_MIN_ABS_VALUE)
                value = 0;
        if (!metric_unit_is_valid(unit)) {
                log_warning("metric %s: \"%s\" is not a CloudWatch unit; sent as None", name, unit ? unit : "");
                unit = "None";
        }
        r = metric_batch_add(b, name, unit, value, ts_ms, dims, n_dims);
        if (r == -EINVAL) {
                log_warning("metric \"%s\": the name or a dimension is empty or longer than %d "
                            "characters; skipped", name, METRIC_NAME_MAX);
                return 0;
        }
        return r;
}

int report_build_run(const struct report_config *cfg, const char *recipe, uint64_t start_usec,
                     uint64_t end_usec, bool succeeded, const struct metric_batch *metrics,
                     struct metric_batch *b)
{
        struct metric_dim dims[4];
        size_t nd = report_base_dims(cfg, recipe, dims), n;
        int64_t end_ms = (int64_t)(end_usec / 1000);
        double duration = end_usec > start_usec ? (double)(end_usec - start_usec) / 1e6 : 0;
        int r;

        r = report_ensure_namespace(cfg, b);
        if (r >= 0)
                r = add_checked(b, "RecipeSucceeded", "Count", succeeded ? 1 : 0, end_ms, dims, nd);
        if (r >= 0)
                r = add_checked(b, "RecipeDuration", "Seconds", duration, end_ms, dims, nd);
        if (r < 0 || !metrics)
                return r;
        n = metrics->n;
        if (n > REPORT_MAX_RECIPE_METRICS) {
                log_warning("recipe %s put %zu metrics; only the first %d are sent", recipe, n,
                            REPORT_MAX_RECIPE_METRICS);
                n = REPORT_MAX_RECIPE_METRICS;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                const struct metric *m = &metrics->items[i];

                r = add_checked(b, m->name, m->unit, m->value, m->timestamp_ms > 0 ? m->timestamp_ms : end_ms, dims,
                                nd);
        }
        return r;
}

int report_build_heartbeat(const struct report_config *cfg, int64_t now_ms, const struct hostmetrics *hm,
                           const struct report_recipe_age *ages, size_t n_ages, struct metric_batch *b)
{
        struct metric_dim dims[METRIC_MAX_DIMS];
        size_t nd = report_base_dims(cfg, NULL, dims);
        int r;

        r = report_ensure_namespace(cfg, b);
        if (r >= 0)
                r = add_checked(b, "Heartbeat", "Count", 1, now_ms, dims, nd);
        for (size_t i = 0; hm && i < hm->n && r >= 0; i++) {
                const struct hostmetric *m = &hm->items[i];
                size_t n = nd;

                if (m->path) {
                        dims[n++] = (struct metric_dim){ "path", m->path };
                        dims[n++] = (struct metric_dim){ "fstype", m->fstype };
                }
                r = add_checked(b, m->name, m->unit, m->value, now_ms, dims, n);
        }
        for (size_t i = 0; i < n_ages && r >= 0; i++) {
                const struct report_recipe_age *a = &ages[i];
                uint64_t since = a->last_success_usec ? a->last_success_usec : a->first_run_usec;
                uint64_t now_usec = (uint64_t)now_ms * 1000;
                size_t n = report_base_dims(cfg, a->recipe, dims);

                if (!since)
                        continue;
                r = add_checked(b, "SecondsSinceLastSuccess", "Seconds",
                                now_usec > since ? (double)((now_usec - since) / 1000000) : 0, now_ms, dims, n);
        }
        return r;
}

int report_recipe_ages(const char *state_dir, const char *const *recipes, size_t n,
                       struct report_recipe_age **ret)
{
        struct report_recipe_age *ages = calloc(n ? n : 1, sizeof(*ages));

        if (!ages)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct run_record *recs = NULL;
                size_t nr = 0;
                int r;

                ages[i].recipe = recipes[i];
                r = records_list(state_dir, recipes[i], 0, &recs, &nr);
                if (r < 0) {
                        log_warning_errno(r, "%s: cannot read the run records of %s: %s", state_dir,
                                          recipes[i], strerror(-r));
                        continue;
                }
                /* Newest first. */
                for (size_t k = 0; k < nr; k++) {
                        if (recs[k].dry_run || recs[k].start_usec <= 0)
                                continue;
                        ages[i].first_run_usec = (uint64_t)recs[k].start_usec;
                        if (!ages[i].last_success_usec && recs[k].outcome == RUN_SUCCESS)
                                ages[i].last_success_usec = (uint64_t)(recs[k].end_usec > 0 ? recs[k].end_usec
                                                                                        : recs[k].start_usec);
                }
                records_free(recs, nr);
        }
        *ret = ages;
        return 0;
}
