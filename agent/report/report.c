#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "aws/cloudwatch.h"
#include "aws/session.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"

const char report_attr_defaults[] =
        "{"
        " \"enabled\": true,"
        " \"namespace\": \"" REPORT_DEFAULT_NAMESPACE "\","
        " \"heartbeat_seconds\": 300,"
        " \"spool_max_bytes\": 8388608,"
        " \"spool_max_age_seconds\": 1206000"
        "}";

const char report_attr_schema[] =
        "{ \"type\": \"object\", \"properties\": {"
        "  \"enabled\": { \"type\": \"boolean\", \"description\": \"send metrics to CloudWatch at all\" },"
        "  \"namespace\": { \"type\": \"string\", \"minLength\": 1 },"
        "  \"heartbeat_seconds\": { \"type\": \"integer\", \"minimum\": 60, \"maximum\": 86400 },"
        "  \"spool_max_bytes\": { \"type\": \"integer\", \"minimum\": 4096, \"maximum\": 134217728 },"
        "  \"spool_max_age_seconds\": { \"type\": \"integer\", \"minimum\": 60, \"maximum\": 1209600 }"
        "} }";

/* ---- configuration ---- */

static int attr_bool(json_object *attrs, const char *path, bool def, bool *ret, struct error *err)
{
        json_object *v = json_get_path(attrs, path);

        if (!v || json_object_is_type(v, json_type_null)) {
                *ret = def;
                return 0;
        }
        if (!json_object_is_type(v, json_type_boolean))
                return error_set(err, -EINVAL, "attribute %s: must be true or false, not %s", path,
                                 json_object_to_json_string(v));
        *ret = json_object_get_boolean(v);
        return 0;
}

static int attr_int(json_object *attrs, const char *path, int64_t def, int64_t min, int64_t max,
                    int64_t *ret, struct error *err)
{
        json_object *v = json_get_path(attrs, path);
        int64_t x;

        if (!v || json_object_is_type(v, json_type_null)) {
                *ret = def;
                return 0;
        }
        if (!json_object_is_type(v, json_type_int))
                return error_set(err, -EINVAL, "attribute %s: must be an integer, not %s", path,
                                 json_object_to_json_string(v));
        x = json_object_get_int64(v);
        if (x < min || x > max)
                return error_set(err, -ERANGE, "attribute %s: %" PRId64 " is out of range (%" PRId64
                                 " to %" PRId64 ")", path, x, min, max);
        *ret = x;
        return 0;
}

/* A copy of the string at PATH (NULL when unset or empty), or DEF's copy. */
static int attr_str(json_object *attrs, const char *path, const char *def, char **ret, struct error *err)
{
        json_object *v = json_get_path(attrs, path);
        const char *s = def;

        if (v && !json_object_is_type(v, json_type_null)) {
                if (!json_object_is_type(v, json_type_string))
                        return error_set(err, -EINVAL, "attribute %s: must be a string, not %s", path,
                                         json_object_to_json_string(v));
                s = json_object_get_string(v);
        }
        if (!s || !*s) {
                *ret = NULL;
                return 0;
        }
        if (strlen(s) > METRIC_NAME_MAX)
                return error_set(err, -EINVAL, "attribute %s: longer than %d characters (CloudWatch's limit)",
                                 path, METRIC_NAME_MAX);
        *ret = strdup(s);
        return *ret ? 0 : error_set(err, -ENOMEM, "out of memory");
}

void report_config_free(struct report_config *c)
{
        if (!c)
                return;
        free(c->namespace_);
        free(c->instance_id);
        free(c->stack_name);
        free(c->spool_dir);
        free(c->state_dir);
        memset(c, 0, sizeof(*c));
}

int report_config_from_attrs(json_object *attrs, const char *state_dir, struct report_config *ret,
                             struct error *err)
{
        struct report_config c = { 0 };
        int64_t max_bytes, max_age;
        int r;

        r = attr_bool(attrs, "cloudwatch.enabled", true, &c.enabled, err);
        if (r >= 0)
                r = attr_str(attrs, "cloudwatch.namespace", REPORT_DEFAULT_NAMESPACE, &c.namespace_, err);
        if (r >= 0 && !c.namespace_)
                r = error_set(err, -EINVAL, "attribute cloudwatch.namespace: must not be empty");
        if (r >= 0 && strncmp(c.namespace_, "AWS/", 4) == 0)
                r = error_set(err, -EINVAL, "attribute cloudwatch.namespace: \"%s\": namespaces starting "
                              "with AWS/ are reserved for AWS services; choose another", c.namespace_);
        if (r >= 0)
                r = attr_int(attrs, "cloudwatch.heartbeat_seconds", REPORT_DEFAULT_HEARTBEAT_SECONDS, 60,
                             86400, &c.heartbeat_seconds, err);
        if (r >= 0)
                r = attr_int(attrs, "cloudwatch.spool_max_bytes", (int64_t)SPOOL_DEFAULT_MAX_BYTES,
                             (int64_t)SPOOL_MIN_MAX_BYTES, 128LL << 20, &max_bytes, err);
        if (r >= 0)
                r = attr_int(attrs, "cloudwatch.spool_max_age_seconds", SPOOL_DEFAULT_MAX_AGE_MS / 1000, 60,
                             METRIC_MAX_AGE_MS / 1000, &max_age, err);
        if (r >= 0)
                r = attr_str(attrs, "opsagent.stack_name", NULL, &c.stack_name, err);
        if (r >= 0)
                r = attr_str(attrs, "opsagent.instance.id", NULL, &c.instance_id, err);
        if (r >= 0 && !c.instance_id)
                r = attr_str(attrs, "aws.instance_id", NULL, &c.instance_id, err);
        if (r < 0)
                goto fail;
        if (!c.instance_id) {
                char host[256] = "";

                /* Not on EC2 (or IMDS disabled): the host name keeps nodes apart. */
                if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
                        snprintf(host, sizeof(host), "unknown");
                c.instance_id = strdup(host);
                if (!c.instance_id) {
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto fail;
                }
        }
        c.spool.max_bytes = (uint64_t)max_bytes;
        c.spool.max_age_ms = max_age * 1000;
        c.state_dir = strdup(state_dir);
        c.spool_dir = path_join(state_dir, "spool");
        if (!c.state_dir || !c.spool_dir) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        *ret = c;
        return 0;
fail:
        report_config_free(&c);
        return r;
}

/* ---- building batches ---- */

static size_t base_dims(const struct report_config *cfg, const char *recipe, struct metric_dim *d)
{
        size_t n = 0;

        d[n++] = (struct metric_dim){ "InstanceId", cfg->instance_id };
        if (recipe)
                d[n++] = (struct metric_dim){ "Recipe", (char *)recipe };
        if (cfg->stack_name)
                d[n++] = (struct metric_dim){ "StackName", cfg->stack_name };
        return n;
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

static int ensure_namespace(const struct report_config *cfg, struct metric_batch *b)
{
        if (b->namespace_)
                return 0;
        return metric_batch_set_namespace(b, cfg->namespace_);
}

int report_build_run(const struct report_config *cfg, const char *recipe, uint64_t start_usec,
                     uint64_t end_usec, bool succeeded, const struct metric_batch *metrics,
                     struct metric_batch *b)
{
        struct metric_dim dims[4];
        size_t nd = base_dims(cfg, recipe, dims), n;
        int64_t end_ms = (int64_t)(end_usec / 1000);
        double duration = end_usec > start_usec ? (double)(end_usec - start_usec) / 1e6 : 0;
        int r;

        r = ensure_namespace(cfg, b);
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
        size_t nd = base_dims(cfg, NULL, dims);
        int r;

        r = ensure_namespace(cfg, b);
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
                size_t n = base_dims(cfg, a->recipe, dims);

                if (!since)
                        continue;
                r = add_checked(b, "SecondsSinceLastSuccess", "Seconds",
                                now_usec > since ? (double)((now_usec - since) / 1000000) : 0, now_ms, dims, n);
        }
        return r;
}

/* ---- delivery ---- */

bool report_error_is_transient(int r)
{
        /* Only a refusal of the data itself is final; anything else (network, 5xx,
         * throttling, credentials or permissions being fixed) is worth keeping for later. */
        switch (-r) {
        case EINVAL:
        case E2BIG:
        case EMSGSIZE:
        case ERANGE:
        case EDOM:
                return false;
        default:
                return true;
        }
}

static int send_dropped_count(const struct report_config *cfg, const struct report_sender *snd,
                              struct spool *sp, int64_t now_ms)
{
        struct metric_batch b = METRIC_BATCH_INIT;
        struct error err = ERROR_INIT;
        struct metric_dim dims[4];
        size_t nd = base_dims(cfg, NULL, dims);
        uint64_t dropped = spool_dropped(sp);
        enum send_status st;
        int r;

        if (dropped == 0)
                return 0;
        r = ensure_namespace(cfg, &b);
        if (r >= 0)
                r = metric_batch_add(&b, "MetricsDropped", "Count", (double)dropped, now_ms, dims, nd);
        if (r < 0)
                goto out;
        st = snd->send(snd->userdata, &b, &err);
        if (st == SEND_OK) {
                log_warning("%" PRIu64 " datums were dropped by the metrics spool's bound while CloudWatch "
                            "could not be reached; reported as MetricsDropped", dropped);
                r = spool_ack_dropped(sp, dropped);
        } else
                log_warning("cannot report MetricsDropped (%" PRIu64 "): %s; tried again next time",
                            dropped, err.msg);
out:
        metric_batch_free(&b);
        return r;
}

int report_deliver(const struct report_config *cfg, const struct report_sender *snd, int64_t now_ms,
                   const struct metric_batch *b, enum report_outcome *ret_outcome, struct error *err)
{
        struct metric_batch *chunks = NULL;
        struct spool *sp = NULL;
        struct error send_err = ERROR_INIT;
        char refused_msg[ERROR_MSG_MAX] = "";
        size_t n_chunks = 0, spooled = 0, refused = 0, lost = 0;
        bool down = false;
        int r;

        if (!cfg->enabled) {
                *ret_outcome = REPORT_DISABLED;
                return 0;
        }
        r = metric_batch_split(b, &chunks, &n_chunks);
        if (r < 0)
                return error_set(err, r, "cannot prepare metrics: %s", strerror(-r));
        r = spool_open(cfg->spool_dir, &cfg->spool, &sp, &send_err);
        if (r < 0) {
                /* A full or broken disk is when the heartbeat matters most: send without. */
                log_warning("%s; sending without the spool", send_err.msg);
                error_clear(&send_err);
                sp = NULL;
        }
        /* What waited in the spool goes first, oldest first. */
        r = sp ? spool_flush(sp, now_ms, snd->send, snd->userdata, &send_err) : 0;
        if (r == -EAGAIN) {
                down = true;
        } else if (r < 0) {
                log_error("%s", send_err.msg);
                error_clear(&send_err);
        }
        for (size_t i = 0; i < n_chunks; i++) {
                if (!down) {
                        enum send_status st;

                        error_clear(&send_err);
                        st = snd->send(snd->userdata, &chunks[i], &send_err);
                        if (st == SEND_OK)
                                continue;
                        if (st == SEND_REJECTED) {
                                log_error("CloudWatch refused %zu metrics: %s", chunks[i].n, send_err.msg);
                                if (!refused)
                                        snprintf(refused_msg, sizeof(refused_msg), "%s", send_err.msg);
                                refused += chunks[i].n;
                                continue;
                        }
                        down = true;
                }
                if (!sp) {
                        lost += chunks[i].n;
                        continue;
                }
                r = spool_append(sp, &chunks[i], now_ms, err);
                if (r < 0)
                        goto out;
                spooled += chunks[i].n;
        }
        if (lost > 0) {
                r = error_set(err, -EIO, "CloudWatch cannot be reached (%s) and the spool in %s cannot be used: "
                              "%zu metrics lost", send_err.msg[0] ? send_err.msg : "unknown error",
                              cfg->spool_dir, lost);
                goto out;
        }
        if (down) {
                size_t recs = 0, datums = 0;

                (void)spool_pending(sp, &recs, &datums);
                log_warning("CloudWatch cannot be reached (%s): %zu metrics kept in %s (%zu waiting in all), "
                            "sent when it can", send_err.msg[0] ? send_err.msg : "unknown error", spooled,
                            spool_path(sp), datums);
        } else if (sp) {
                r = send_dropped_count(cfg, snd, sp, now_ms);
                if (r < 0)
                        log_warning_errno(r, "%s: cannot update the dropped count: %s", spool_path(sp), strerror(-r));
        }
        r = 0;
        if (refused > 0)
                r = error_set(err, -EINVAL, "CloudWatch refused %zu metrics (namespace %s): %s", refused,
                              cfg->namespace_, refused_msg);
        else
                *ret_outcome = down ? REPORT_SPOOLED : REPORT_SENT;
out:
        spool_free(sp);
        for (size_t i = 0; i < n_chunks; i++)
                metric_batch_free(&chunks[i]);
        free(chunks);
        return r;
}

/* ---- the commands' entry points ---- */

int64_t report_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
                          int64_t now_ms, enum report_outcome *ret_outcome, struct error *err)
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
                     struct error *err)
{
        struct report_sender snd;
        enum report_outcome o;
        int r;

        r = report_cloudwatch_sender_new(attrs, &snd, err);
        if (r >= 0) {
                r = report_heartbeat_with(attrs, state_dir, root, recipes, n_recipes, &snd, report_now_ms(), &o, err);
                if (r >= 0 && ret_outcome)
                        *ret_outcome = o;
                report_cloudwatch_sender_free(&snd);
        }
        return r;
}

/* ---- the CloudWatch sender ---- */

struct cw_sender {
        json_object *attrs;            /* borrowed */
        struct aws_session *session;   /* made on first send */
};

static enum send_status cw_send(void *userdata, const struct metric_batch *b, struct error *err)
{
        struct cw_sender *cs = userdata;
        int r;

        if (!cs->session) {
                struct error e = ERROR_INIT;

                r = aws_session_new(cs->attrs, NULL, &cs->session, &e);
                if (r < 0) {
                        /* No region or credentials yet: keep the data for later. */
                        error_set(err, r, "PutMetricData: %s (a node that should not report: set "
                                  "cloudwatch.enabled to false)", e.msg);
                        return SEND_RETRY_LATER;
                }
        }
        r = cloudwatch_put_metric_data(cs->session, b, err);
        if (r >= 0)
                return SEND_OK;
        return report_error_is_transient(r) ? SEND_RETRY_LATER : SEND_REJECTED;
}

int report_cloudwatch_sender_new(json_object *attrs, struct report_sender *ret, struct error *err)
{
        struct cw_sender *cs = calloc(1, sizeof(*cs));

        if (!cs)
                return error_set(err, -ENOMEM, "out of memory");
        cs->attrs = attrs;
        *ret = (struct report_sender){ cw_send, cs };
        return 0;
}

void report_cloudwatch_sender_free(struct report_sender *s)
{
        struct cw_sender *cs;

        if (!s || !s->userdata)
                return;
        cs = s->userdata;
        aws_session_free(cs->session);
        free(cs);
        s->userdata = NULL;
}
