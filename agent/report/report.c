#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "aws/session.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"

int64_t report_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say_outcome(const char *what, enum report_outcome o)
{
        switch (o) {
        case REPORT_SENT:
                log_info("%s sent to CloudWatch", what);
                break;
        case REPORT_SPOOLED:
                log_notice("%s kept in the spool: CloudWatch cannot be reached now", what);
                break;
        case REPORT_DISABLED:
                log_info("%s not sent: cloudwatch.enabled is false", what);
                break;
        }
}

int report_after_run_with(json_object *attrs, const char *state_dir, const struct run_record *rec,
                          const struct report_sender *snd, int64_t now_ms,
                          enum report_outcome *ret_outcome, struct error *err)
{
        struct report_config cfg;
        struct metric_batch b = METRIC_BATCH_INIT;
        enum report_outcome o = REPORT_DISABLED;
        int r;

        r = report_config_from_attrs(attrs, state_dir, &cfg, err);
        if (r < 0)
                return r;
        if (cfg.enabled && !rec->dry_run) {
                r = report_build_run(&cfg, rec->recipe, (uint64_t)(rec->start_usec > 0 ? rec->start_usec : 0),
                                     (uint64_t)(rec->end_usec > 0 ? rec->end_usec : 0),
                                     rec->outcome == RUN_SUCCESS, &rec->metrics, &b);
                if (r < 0) {
                        error_set(err, r, "cannot prepare the metrics of run %s: %s", rec->run_id, strerror(-r));
                        goto out;
                }
                r = report_deliver(&cfg, snd, now_ms, &b, &o, err);
                if (r < 0)
                        goto out;
        }
        if (ret_outcome)
                *ret_outcome = o;
out:
        metric_batch_free(&b);
        report_config_free(&cfg);
        return r;
}

/* STATE_DIR/report.json remembers the last heartbeat, to say when the node was silent. */
static void heartbeat_note(const struct report_config *cfg, int64_t now_ms)
{
        char *path = path_join(cfg->state_dir, "report.json"), *text = NULL, out[128];
        json_object *o = NULL, *v;
        int n, r;

        if (!path)
                return;
        if (read_file_capped(path, 4096, &text, NULL) >= 0 && (o = json_tokener_parse(text)) &&
            json_object_object_get_ex(o, "last_heartbeat_ms", &v) && json_object_is_type(v, json_type_int)) {
                int64_t last = json_object_get_int64(v);

                if (last > 0 && now_ms - last > 3 * cfg->heartbeat_seconds * 1000)
                        log_warning("the previous heartbeat was %" PRId64 " minutes ago (cloudwatch.heartbeat_seconds"
                                    " = %" PRId64 "): this node was not reporting, its Heartbeat alarm has "
                                    "probably fired; is the opsagent-report timer enabled?",
                                    (now_ms - last) / 60000, cfg->heartbeat_seconds);
        }
        n = snprintf(out, sizeof(out), "{\"last_heartbeat_ms\": %" PRId64 "}\n", now_ms);
        r = write_file_atomic(path, out, (size_t)n, 0644);
        if (r < 0)
                log_warning_errno(r, "%s: cannot write: %s", path, strerror(-r));
        json_object_put(o);
        free(text);
        free(path);
}

int report_heartbeat_with(json_object *attrs, const char *state_dir, const char *root,
                          const char *const *recipes, size_t n_recipes, const struct report_sender *snd,
                          int64_t now_ms, enum report_outcome *ret_outcome, struct metric_batch *ret_metrics,
                          struct error *err)
{
        struct report_config cfg;
        struct metric_batch b = METRIC_BATCH_INIT;
        struct hostmetrics hm = { NULL, 0 };
        struct report_recipe_age *ages = NULL;
        enum report_outcome o = REPORT_DISABLED;
        int r;

        r = report_config_from_attrs(attrs, state_dir, &cfg, err);
        if (r < 0)
                return r;
        if (!cfg.enabled)
                goto done;
        r = hostmetrics_collect(root, NULL, &hm);
        if (r >= 0)
                r = report_recipe_ages(state_dir, recipes, n_recipes, &ages);
        if (r >= 0)
                r = report_build_heartbeat(&cfg, now_ms, &hm, ages, n_recipes, &b);
        if (r < 0) {
                error_set(err, r, "cannot prepare the heartbeat: %s", strerror(-r));
                goto out;
        }
        r = report_deliver(&cfg, snd, now_ms, &b, &o, err);
        if (r < 0)
                goto out;
        heartbeat_note(&cfg, now_ms);
done:
        if (ret_outcome)
                *ret_outcome = o;
        if (ret_metrics) {
                *ret_metrics = b;               /* handed over: not freed below */
                b = (struct metric_batch)METRIC_BATCH_INIT;
        }
out:
        free(ages);
        hostmetrics_free(&hm);
        metric_batch_free(&b);
        report_config_free(&cfg);
        return r;
}

void report_warm_up(json_object *attrs)
{
        json_object *on = json_get_path(attrs, "cloudwatch.enabled");
        const struct aws_credentials *cred;
        struct aws_session *s = NULL;
        struct error err = ERROR_INIT;

        if (on && json_object_is_type(on, json_type_boolean) && !json_object_get_boolean(on))
                return;
        if (aws_session_new(attrs, NULL, &s, &err) < 0 || credentials_get(&s->creds, &cred, &err) < 0)
                log_debug("reporting: not ready before the run (%s); tried again after it", err.msg);
        aws_session_free(s);
}

int report_after_run(json_object *attrs, const char *state_dir, const struct run_record *rec,
                     struct error *err)
{
        struct report_sender snd;
        enum report_outcome o;
        json_object *on = json_get_path(attrs, "cloudwatch.enabled");
        int r;

        /* A dry run changed nothing; reporting off: nothing to look up either. */
        if (rec->dry_run || (on && json_object_is_type(on, json_type_boolean) && !json_object_get_boolean(on)))
                return 0;
        r = report_cloudwatch_sender_new(attrs, &snd, err);
        if (r >= 0) {
                r = report_after_run_with(attrs, state_dir, rec, &snd, report_now_ms(), &o, err);
                if (r >= 0)
                        say_outcome("run metrics", o);
                report_cloudwatch_sender_free(&snd);
        }
        return r;
}

int report_heartbeat(json_object *attrs, const char *state_dir, const char *root,
                     const char *const *recipes, size_t n_recipes, enum report_outcome *ret_outcome,
                     struct metric_batch *ret_metrics, struct error *err)
{
        struct report_sender snd;
        enum report_outcome o;
        int r;

        r = report_cloudwatch_sender_new(attrs, &snd, err);
        if (r >= 0) {
                r = report_heartbeat_with(attrs, state_dir, root, recipes, n_recipes, &snd, report_now_ms(), &o,
                                          ret_metrics, err);
                if (r >= 0 && ret_outcome)
                        *ret_outcome = o;
                report_cloudwatch_sender_free(&snd);
        }
        return r;
}
