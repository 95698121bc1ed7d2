/* report: what is sent after a run and by `opsagent report`, and how (requests within
 * PutMetricData's limits, the spool, MetricsDropped), with a fake sender. */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "report/report.h"
#include "util/fileio.h"

#define NOW_MS 1800000000000LL
#define USEC(ms) ((uint64_t)(ms) * 1000)
#define MAX_CALLS 256

/* A fake CloudWatch: every accepted request's datums, in order; a script of failures. */
struct fake {
        char *tmp;
        size_t calls;
        struct metric_batch got[MAX_CALLS];
        size_t n_got;
        enum send_status script[MAX_CALLS];
        size_t script_len;
        bool down;                     /* every call RETRY_LATER while set */
};

static enum send_status fake_send(void *userdata, const struct metric_batch *b, struct error *err)
{
        struct fake *f = userdata;
        enum send_status st = f->calls < f->script_len ? f->script[f->calls] : SEND_OK;

        f->calls++;
        assert_true(b->n > 0);
        assert_true(b->n <= METRIC_MAX_PER_REQUEST);
        if (f->down)
                st = SEND_RETRY_LATER;
        if (st != SEND_OK) {
                error_set(err, st == SEND_REJECTED ? -EINVAL : -ECONNREFUSED, "PutMetricData: %s",
                          st == SEND_REJECTED ? "InvalidParameterValue" : "connection refused");
                return st;
        }
        assert_true(f->n_got < MAX_CALLS);
        assert_int_equal(metric_batch_set_namespace(&f->got[f->n_got], b->namespace_), 0);
        for (size_t i = 0; i < b->n; i++)
                assert_int_equal(metric_batch_add_metric(&f->got[f->n_got], &b->items[i]), 0);
        f->n_got++;
        return SEND_OK;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(p);
}

static int setup(void **state)
{
        struct fake *f = calloc(1, sizeof(*f));
        char tmpl[] = "/tmp/test-report-XXXXXX";

        assert_non_null(mkdtemp(tmpl));
        f->tmp = strdup(tmpl);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fake *f = *state;

        nftw(f->tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        for (size_t i = 0; i < f->n_got; i++)
                metric_batch_free(&f->got[i]);
        free(f->tmp);
        free(f);
        return 0;
}

static json_object *attrs_from(const char *text)
{
        json_object *o = json_tokener_parse(text);

        assert_non_null(o);
        return o;
}

/* A run record's metrics, from their JSON. */
static struct metric_batch metrics_from(const char *text)
{
        struct metric_batch b = METRIC_BATCH_INIT;
        json_object *o = attrs_from(text);

        assert_int_equal(metric_batch_metrics_from_json(o, &b), 0);
        json_object_put(o);
        return b;
}

static void config(struct fake *f, const char *attrs_text, struct report_config *c)
{
        json_object *a = attrs_from(attrs_text);
        struct error err = ERROR_INIT;

        assert_int_equal(report_config_from_attrs(a, f->tmp, c, &err), 0);
        json_object_put(a);
}

#define BASE_ATTRS "{\"opsagent\": {\"instance\": {\"id\": \"i-0abc\"}}}"

static const struct metric *find(const struct metric_batch *b, const char *name)
{
        for (size_t i = 0; i < b->n; i++)
                if (strcmp(b->items[i].name, name) == 0)
                        return &b->items[i];
        return NULL;
}

static const char *dim(const struct metric *m, const char *name)
{
        for (size_t i = 0; i < m->n_dims; i++)
                if (strcmp(m->dims[i].name, name) == 0)
                        return m->dims[i].value;
        return NULL;
}

static size_t total_got(const struct fake *f)
{
        size_t n = 0;

        for (size_t i = 0; i < f->n_got; i++)
                n += f->got[i].n;
        return n;
}

static void deliver(struct fake *f, const struct report_config *c, const struct metric_batch *b,
                    int64_t now, enum report_outcome want)
{
        struct report_sender s = { fake_send, f };
        enum report_outcome o = -1;
        struct error err = ERROR_INIT;

        assert_int_equal(report_deliver(c, &s, now, b, &o, &err), 0);
        assert_int_equal(o, want);
}

/* ---- configuration ---- */

static void test_config_defaults(void **state)
{
        struct fake *f = *state;
        struct report_config c;

        config(f, BASE_ATTRS, &c);
        assert_true(c.enabled);
        assert_string_equal(c.namespace_, "OpsAgent");
        assert_string_equal(c.instance_id, "i-0abc");
        assert_null(c.stack_name);
        assert_int_equal(c.heartbeat_seconds, 300);
        assert_int_equal(c.spool.max_bytes, SPOOL_DEFAULT_MAX_BYTES);
        assert_int_equal(c.spool.max_age_ms, SPOOL_DEFAULT_MAX_AGE_MS);
        report_config_free(&c);
}

/* The shipped defaults text is what the config reads when the section is absent. */
static void test_attr_defaults_match(void **state)
{
        struct fake *f = *state;
        json_object *a = json_object_new_object(), *d = json_tokener_parse(report_attr_defaults);
        json_object *schema = json_tokener_parse(report_attr_schema);
        struct error err = ERROR_INIT;
        struct report_config c;

        assert_non_null(d);
        assert_non_null(schema);
        json_object_put(schema);
        json_object_object_add(a, "cloudwatch", d);
        assert_int_equal(report_config_from_attrs(a, f->tmp, &c, &err), 0);
        json_object_put(a);
        assert_true(c.enabled);
        assert_string_equal(c.namespace_, REPORT_DEFAULT_NAMESPACE);
        assert_int_equal(c.spool.max_bytes, SPOOL_DEFAULT_MAX_BYTES);
        assert_int_equal(c.spool.max_age_ms, SPOOL_DEFAULT_MAX_AGE_MS);
        report_config_free(&c);
}

static void test_config_bad_values_name_the_key(void **state)
{
        struct fake *f = *state;
        const char *bad[][2] = {
                { "{\"cloudwatch\": {\"enabled\": \"yes\"}}", "cloudwatch.enabled" },
                { "{\"cloudwatch\": {\"namespace\": 5}}", "cloudwatch.namespace" },
                { "{\"cloudwatch\": {\"namespace\": \"AWS/EC2\"}}", "cloudwatch.namespace" },
                { "{\"cloudwatch\": {\"spool_max_bytes\": 10}}", "cloudwatch.spool_max_bytes" },
                { "{\"cloudwatch\": {\"spool_max_age_seconds\": 1209601}}", "cloudwatch.spool_max_age_seconds" },
                { "{\"cloudwatch\": {\"heartbeat_seconds\": 1.5}}", "cloudwatch.heartbeat_seconds" },
                { "{\"opsagent\": {\"stack_name\": []}}", "opsagent.stack_name" },
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                json_object *a = attrs_from(bad[i][0]);
                struct error err = ERROR_INIT;
                struct report_config c;

                assert_true(report_config_from_attrs(a, f->tmp, &c, &err) < 0);
                assert_non_null(strstr(err.msg, bad[i][1]));
                json_object_put(a);
        }
}

/* Off the EC2 metadata, the host name stands in for the instance id. */
static void test_instance_id_falls_back_to_hostname(void **state)
{
        struct fake *f = *state;
        struct report_config c;
        char host[256] = "";

        gethostname(host, sizeof(host) - 1);
        config(f, "{}", &c);
        assert_string_equal(c.instance_id, host[0] ? host : "unknown");
        report_config_free(&c);
}

/* ---- what a run sends ---- */

static void test_run_metrics(void **state)
{
        struct fake *f = *state;
        struct report_config c;
        struct metric_batch b = METRIC_BATCH_INIT;
        struct metric_batch metrics = metrics_from(
                "[{\"name\": \"SnapshotsCreated\", \"value\": 3, \"unit\": \"Count\", \"timestamp\": 1799999999000},"
                " {\"name\": \"BytesFreed\", \"value\": 1.5e9, \"unit\": \"Bytes\", \"timestamp\": 0}]");
        const struct metric *m;

        config(f, BASE_ATTRS, &c);
        assert_int_equal(report_build_run(&c, "ebs_snapshots", USEC(NOW_MS - 2500), USEC(NOW_MS), true,
                                          &metrics, &b), 0);
        assert_string_equal(b.namespace_, "OpsAgent");
        assert_int_equal(b.n, 4);
        m = find(&b, "RecipeSucceeded");
        assert_true(m->value == 1);
        assert_string_equal(m->unit, "Count");
        assert_int_equal(m->timestamp_ms, NOW_MS);
        assert_int_equal(m->n_dims, 2);
        assert_string_equal(dim(m, "InstanceId"), "i-0abc");
        assert_string_equal(dim(m, "Recipe"), "ebs_snapshots");
        m = find(&b, "RecipeDuration");
        assert_true(fabs(m->value - 2.5) < 1e-9);
        assert_string_equal(m->unit, "Seconds");
        m = find(&b, "SnapshotsCreated");
        assert_true(m->value == 3);
        assert_int_equal(m->timestamp_ms, 1799999999000LL);
        assert_string_equal(dim(m, "Recipe"), "ebs_snapshots");
        m = find(&b, "BytesFreed");
        assert_string_equal(m->unit, "Bytes");
        assert_int_equal(m->timestamp_ms, NOW_MS);
        metric_batch_free(&b);
        metric_batch_free(&metrics);
        report_config_free(&c);
}

static void test_failed_run_and_stack_name(void **state)
{
        struct fake *f = *state;
        struct report_config c;
        struct metric_batch b = METRIC_BATCH_INIT;
        const struct metric *m;

        config(f, "{\"opsagent\": {\"stack_name\": \"plone-prod\", \"instance\": {\"id\": \"i-1\"}},"
                  " \"cloudwatch\": {\"namespace\": \"Custom/Ops\"}}", &c);
        assert_int_equal(report_build_run(&c, "zodb_pack", USEC(NOW_MS), USEC(NOW_MS), false, NULL, &b), 0);
        assert_string_equal(b.namespace_, "Custom/Ops");
        m = find(&b, "RecipeSucceeded");
        assert_true(m->value == 0);
        assert_int_equal(m->n_dims, 3);
        assert_string_equal(dim(m, "StackName"), "plone-prod");
        assert_true(find(&b, "RecipeDuration")->value == 0);
        metric_batch_free(&b);
        report_config_free(&c);
}

/* NaN, infinities, huge values and nameless metrics never reach CloudWatch; unknown units
 * become None; tiny values 0. */
static void test_run_metrics_sanitised(void **state)
{
        struct fake *f = *state;
        struct report_config c;
        struct metric_batch b = METRIC_BATCH_INIT;
        /* Built by hand: metric_batch_add() itself refuses some of these. */
        struct metric m[] = {
                { .name = (char *)"Nan", .unit = (char *)"Count", .value = NAN },
                { .name = (char *)"Inf", .unit = (char *)"Count", .value = INFINITY },
                { .name = (char *)"Huge", .unit = (char *)"None", .value = 1e300 },
                { .name = NULL, .unit = (char *)"None", .value = 1 },
                { .name = (char *)"Odd", .unit = (char *)"Widgets", .value = 2 },
                { .name = (char *)"Tiny", .unit = (char *)"Count", .value = 1e-200 },
        };
        struct metric_batch metrics = { .items = m, .n = sizeof(m) / sizeof(m[0]) };

        config(f, BASE_ATTRS, &c);
        assert_int_equal(report_build_run(&c, "r", 0, 1, true, &metrics, &b), 0);
        assert_int_equal(b.n, 4);
        assert_string_equal(find(&b, "Odd")->unit, "None");
        assert_true(find(&b, "Tiny")->value == 0);
        for (size_t i = 0; i < b.n; i++)
                assert_true(isfinite(b.items[i].value));
        metric_batch_free(&b);
        report_config_free(&c);
}

/* A recipe flooding metrics: only the first REPORT_MAX_RECIPE_METRICS are kept. */
static void test_recipe_metric_limit(void **state)
{
        struct fake *f = *state;
        struct report_config c;
        struct metric_batch b = METRIC_BATCH_INIT, metrics = METRIC_BATCH_INIT;

        config(f, BASE_ATTRS, &c);
        for (int i = 0; i < REPORT_MAX_RECIPE_METRICS + 10; i++)
                assert_int_equal(metric_batch_add(&metrics, "M", NULL, i, 0, NULL, 0), 0);
        assert_int_equal(report_build_run(&c, "r", 0, 1, true, &metrics, &b), 0);
        assert_int_equal(b.n, 2 + REPORT_MAX_RECIPE_METRICS);
        metric_batch_free(&b);
        metric_batch_free(&metrics);
        report_config_free(&c);
}

/* ---- the heartbeat ---- */

static void test_heartbeat(void **state)
{
        struct fake *f = *state;
        struct report_config c;
        struct metric_batch b = METRIC_BATCH_INIT;
        struct hostmetric items[] = {
                { "disk_used_percent", "Percent", 42.5, (char *)"/", (char *)"ext4" },
                { "mem_used_percent", "Percent", 12.0, NULL, NULL },
        };
        struct hostmetrics hm = { items, 2 };
        struct report_recipe_age ages[] = {
                { "ebs_snapshots", USEC(NOW_MS - 3600 * 1000), USEC(NOW_MS - 86400 * 1000) },
                { "zodb_pack", 0, USEC(NOW_MS - 7200 * 1000) },    /* never succeeded */
                { "logrotate", 0, 0 },                              /* never ran */
        };
        const struct metric *m;
        size_t n_age = 0;

        config(f, "{\"opsagent\": {\"stack_name\": \"s\", \"instance\": {\"id\": \"i-1\"}}}", &c);
        assert_int_equal(report_build_heartbeat(&c, NOW_MS, &hm, ages, 3, &b), 0);
        m = find(&b, "Heartbeat");
        assert_true(m->value == 1);
        assert_int_equal(m->timestamp_ms, NOW_MS);
        assert_null(dim(m, "Recipe"));
        assert_string_equal(dim(m, "InstanceId"), "i-1");
        assert_string_equal(dim(m, "StackName"), "s");
        m = find(&b, "disk_used_percent");
        assert_true(m->value == 42.5);
        assert_string_equal(dim(m, "path"), "/");
        assert_string_equal(dim(m, "fstype"), "ext4");
        assert_string_equal(dim(m, "InstanceId"), "i-1");
        assert_null(dim(find(&b, "mem_used_percent"), "path"));
        for (size_t i = 0; i < b.n; i++) {
                m = &b.items[i];
                if (strcmp(m->name, "SecondsSinceLastSuccess") != 0)
                        continue;
                n_age++;
                assert_string_equal(m->unit, "Seconds");
                if (strcmp(dim(m, "Recipe"), "ebs_snapshots") == 0)
                        assert_true(m->value == 3600);
                else {
                        assert_string_equal(dim(m, "Recipe"), "zodb_pack");
                        assert_true(m->value == 7200);
                }
        }
        assert_int_equal(n_age, 2);
        metric_batch_free(&b);
        report_config_free(&c);
}

/* ---- requests ---- */

/* ---- delivery ---- */

static void make_run(const struct report_config *c, int64_t end_ms, struct metric_batch *b)
{
        assert_int_equal(report_build_run(c, "ebs_snapshots", USEC(end_ms - 1000), USEC(end_ms), true, NULL, b), 0);
}

static void test_deliver_sends_everything(void **state)
{
        struct fake *f = *state;
        struct report_config c;
        struct metric_batch b = METRIC_BATCH_INIT;

        config(f, BASE_ATTRS, &c);
        make_run(&c, NOW_MS, &b);
        deliver(f, &c, &b, NOW_MS, REPORT_SENT);
        assert_int_equal(f->n_got, 1);
        assert_int_equal(f->got[0].n, 2);
        assert_string_equal(f->got[0].items[0].name, "RecipeSucceeded");
        metric_batch_free(&b);
        report_config_free(&c);
}

/* cloudwatch.enabled false: the sender is never called, nothing is spooled. */
static void test_disabled_sends_nothing(void **state)
{
        struct fake *f = *state;
        struct report_config c;
        struct metric_batch b = METRIC_BATCH_INIT;
        char *spool = path_join(f->tmp, "spool");
        struct stat st;

        config(f, "{\"cloudwatch\": {\"enabled\": false}}", &c);
        make_run(&c, NOW_MS, &b);
        deliver(f, &c, &b, NOW_MS, REPORT_DISABLED);
        assert_int_equal(f->calls, 0);
        assert_int_equal(stat(spool, &st), -1);
        free(spool);
        metric_batch_free(&b);
        report_config_free(&c);
}

/* An outage spools; on recovery the spooled metrics go first, with their own timestamps,
 * then the new ones; each exactly once. */
static void test_outage_then_recovery(void **state)
{
        struct fake *f = *state;
        struct report_config c;
        struct metric_batch b1 = METRIC_BATCH_INIT, b2 = METRIC_BATCH_INIT, b3 = METRIC_BATCH_INIT;

        config(f, BASE_ATTRS, &c);
        make_run(&c, NOW_MS - 600000, &b1);
        make_run(&c, NOW_MS - 300000, &b2);
        make_run(&c, NOW_MS, &b3);
        f->down = true;
        deliver(f, &c, &b1, NOW_MS - 600000, REPORT_SPOOLED);
        deliver(f, &c, &b2, NOW_MS - 300000, REPORT_SPOOLED);
        assert_int_equal(f->n_got, 0);
        f->down = false;
        deliver(f, &c, &b3, NOW_MS, REPORT_SENT);
        /* The two spooled runs in one request, then the new one. */
        assert_int_equal(f->n_got, 2);
        assert_int_equal(f->got[0].n, 4);
        assert_int_equal(f->got[0].items[0].timestamp_ms, NOW_MS - 600000);
        assert_int_equal(f->got[0].items[1].timestamp_ms, NOW_MS - 600000);
        assert_int_equal(f->got[0].items[2].timestamp_ms, NOW_MS - 300000);
        assert_int_equal(f->got[1].items[0].timestamp_ms, NOW_MS);
        assert_int_equal(total_got(f), 6);
        /* And nothing more the next time. */
        deliver(f, &c, &b3, NOW_MS + 1, REPORT_SENT);
        assert_int_equal(total_got(f), 8);
        metric_batch_free(&b1);
        metric_batch_free(&b2);
        metric_batch_free(&b3);
        report_config_free(&c);
}

/* Failing in the middle of a large delivery: the requests that went through are not spooled,
 * the rest is, and arrives later. */
static void test_partial_outage_spools_only_the_rest(void **state)
{
        struct fake *f = *state;
        struct report_config c;
        struct metric_batch b = METRIC_BATCH_INIT, empty = METRIC_BATCH_INIT;

        config(f, BASE_ATTRS, &c);
        assert_int_equal(metric_batch_set_namespace(&b, "OpsAgent"), 0);
        assert_int_equal(metric_batch_set_namespace(&empty, "OpsAgent"), 0);
        for (int i = 0; i < 2500; i++)
                assert_int_equal(metric_batch_add(&b, "M", "Count", i, NOW_MS, NULL, 0), 0);
        f->script[0] = SEND_OK;
        f->script[1] = SEND_RETRY_LATER;
        f->script_len = 2;
        deliver(f, &c, &b, NOW_MS, REPORT_SPOOLED);
        assert_int_equal(total_got(f), 1000);
        deliver(f, &c, &empty, NOW_MS + 1000, REPORT_SENT);
        assert_int_equal(total_got(f), 2500);
        for (size_t i = 0, k = 0; i < f->n_got; i++)
                for (size_t j = 0; j < f->got[i].n; j++, k++)
                        assert_true(f->got[i].items[j].value == (double)k);
        metric_batch_free(&b);
        metric_batch_free(&empty);
        report_config_free(&c);
}

/* What the spool's bound dropped is reported once as MetricsDropped when sending works. */
static void test_metrics_dropped_reported_once(void **state)
{
        struct fake *f = *state;
        struct report_config c;
        struct metric_batch b = METRIC_BATCH_INIT;
        const struct metric *m = NULL;
        size_t n_dropped_msgs = 0;

        config(f, "{\"opsagent\": {\"instance\": {\"id\": \"i-0abc\"}}, \"cloudwatch\": {\"spool_max_bytes\": 4096}}", &c);
        make_run(&c, NOW_MS, &b);
        f->down = true;
        for (int i = 0; i < 40; i++)
                deliver(f, &c, &b, NOW_MS, REPORT_SPOOLED);
        f->down = false;
        deliver(f, &c, &b, NOW_MS, REPORT_SENT);
        deliver(f, &c, &b, NOW_MS, REPORT_SENT);
        for (size_t i = 0; i < f->n_got; i++)
                for (size_t j = 0; j < f->got[i].n; j++)
                        if (strcmp(f->got[i].items[j].name, "MetricsDropped") == 0) {
                                m = &f->got[i].items[j];
                                n_dropped_msgs++;
                        }
        assert_int_equal(n_dropped_msgs, 1);
        assert_non_null(m);
        assert_string_equal(dim(m, "InstanceId"), "i-0abc");
        /* Sent + dropped + MetricsDropped datum = everything ever meant. */
        assert_int_equal(total_got(f) - 1 + (size_t)m->value, 42 * 2);
        metric_batch_free(&b);
        report_config_free(&c);
}

/* Data CloudWatch refuses is an error and is not spooled (it would never go through). */
static void test_rejected_is_error_not_spooled(void **state)
{
        struct fake *f = *state;
        struct report_config c;
        struct metric_batch b = METRIC_BATCH_INIT;
        struct report_sender s = { fake_send, f };
        enum report_outcome o;
        struct error err = ERROR_INIT;

        config(f, BASE_ATTRS, &c);
        make_run(&c, NOW_MS, &b);
        f->script[0] = SEND_REJECTED;
        f->script_len = 1;
        assert_int_equal(report_deliver(&c, &s, NOW_MS, &b, &o, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "InvalidParameterValue"));
        deliver(f, &c, &b, NOW_MS, REPORT_SENT);
        assert_int_equal(total_got(f), 2);
        metric_batch_free(&b);
        report_config_free(&c);
}

/* A spool that cannot be opened (full disk, broken state dir) does not stop the sending;
 * only when CloudWatch cannot be reached either is it an error, naming both. */
static void test_unusable_spool_still_sends(void **state)
{
        struct fake *f = *state;
        struct report_config c;
        struct metric_batch b = METRIC_BATCH_INIT;
        struct report_sender s = { fake_send, f };
        enum report_outcome o;
        struct error err = ERROR_INIT;
        char *blocker = path_join(f->tmp, "spool");

        config(f, BASE_ATTRS, &c);
        /* A file where the spool directory should be. */
        assert_int_equal(write_file_atomic(blocker, "x", 1, 0600), 0);
        make_run(&c, NOW_MS, &b);
        deliver(f, &c, &b, NOW_MS, REPORT_SENT);
        assert_int_equal(total_got(f), 2);
        f->down = true;
        assert_int_equal(report_deliver(&c, &s, NOW_MS, &b, &o, &err), -EIO);
        assert_non_null(strstr(err.msg, "connection refused"));
        assert_non_null(strstr(err.msg, blocker));
        free(blocker);
        metric_batch_free(&b);
        report_config_free(&c);
}

static void test_error_classification(void **state)
{
        assert_true(report_error_is_transient(-ECONNREFUSED));
        assert_true(report_error_is_transient(-ETIMEDOUT));
        assert_true(report_error_is_transient(-EAGAIN));
        assert_true(report_error_is_transient(-EACCES));
        assert_false(report_error_is_transient(-EINVAL));
        assert_false(report_error_is_transient(-E2BIG));
}

/* ---- entry points ---- */

static void write_record(const char *state_dir, const char *recipe, const char *run_id, int64_t start_ms,
                         int64_t end_ms, enum run_outcome outcome, bool dry_run)
{
        struct run_record r = { 0 };

        snprintf(r.run_id, sizeof(r.run_id), "%s", run_id);
        snprintf(r.recipe, sizeof(r.recipe), "%s", recipe);
        r.start_usec = start_ms * 1000;
        r.end_usec = end_ms * 1000;
        r.outcome = outcome;
        r.dry_run = dry_run;
        assert_int_equal(records_write(state_dir, &r), 0);
}

/* Ages from the run records: the newest success, else the oldest run; dry runs ignored. */
static void test_recipe_ages_from_records(void **state)
{
        struct fake *f = *state;
        const char *recipes[] = { "ebs_snapshots", "zodb_pack", "logrotate" };
        struct report_recipe_age *ages = NULL;

        write_record(f->tmp, "ebs_snapshots", "r1", NOW_MS - 90000000, NOW_MS - 89990000, RUN_SUCCESS, false);
        write_record(f->tmp, "ebs_snapshots", "r2", NOW_MS - 5000000, NOW_MS - 4990000, RUN_SUCCESS, false);
        write_record(f->tmp, "ebs_snapshots", "r3", NOW_MS - 1000000, NOW_MS - 990000, RUN_FAILED, false);
        write_record(f->tmp, "ebs_snapshots", "r4", NOW_MS - 500000, NOW_MS - 490000, RUN_SUCCESS, true);
        write_record(f->tmp, "zodb_pack", "r5", NOW_MS - 7000000, NOW_MS - 6000000, RUN_CRASHED, false);
        write_record(f->tmp, "zodb_pack", "r6", NOW_MS - 3000000, NOW_MS - 2000000, RUN_TIMED_OUT, false);
        assert_int_equal(report_recipe_ages(f->tmp, recipes, 3, &ages), 0);
        assert_string_equal(ages[0].recipe, "ebs_snapshots");
        assert_int_equal(ages[0].last_success_usec, USEC(NOW_MS - 4990000));
        assert_int_equal(ages[0].first_run_usec, USEC(NOW_MS - 90000000));
        assert_int_equal(ages[1].last_success_usec, 0);
        assert_int_equal(ages[1].first_run_usec, USEC(NOW_MS - 7000000));
        assert_int_equal(ages[2].last_success_usec, 0);
        assert_int_equal(ages[2].first_run_usec, 0);
        free(ages);
}

/* What a run record turns into, delivered. */
static void test_after_run(void **state)
{
        struct fake *f = *state;
        json_object *attrs = attrs_from(BASE_ATTRS);
        struct report_sender s = { fake_send, f };
        struct run_record r = { 0 };
        struct error err = ERROR_INIT;
        enum report_outcome o = -1;

        snprintf(r.run_id, sizeof(r.run_id), "run1");
        snprintf(r.recipe, sizeof(r.recipe), "logrotate");
        r.start_usec = (NOW_MS - 4000) * 1000;
        r.end_usec = NOW_MS * 1000;
        r.outcome = RUN_FAILED;
        r.metrics = metrics_from("[{\"name\": \"FilesRotated\", \"value\": 7, \"unit\": \"Count\", \"timestamp\": 1799999998000}]");
        assert_int_equal(report_after_run_with(attrs, f->tmp, &r, &s, NOW_MS + 5, &o, &err), 0);
        assert_int_equal(o, REPORT_SENT);
        assert_int_equal(f->n_got, 1);
        assert_int_equal(f->got[0].n, 3);
        assert_true(find(&f->got[0], "RecipeSucceeded")->value == 0);
        assert_true(find(&f->got[0], "RecipeDuration")->value == 4);
        assert_int_equal(find(&f->got[0], "FilesRotated")->timestamp_ms, 1799999998000LL);
        assert_string_equal(dim(find(&f->got[0], "FilesRotated"), "Recipe"), "logrotate");
        /* A dry run reports nothing. */
        r.dry_run = true;
        assert_int_equal(report_after_run_with(attrs, f->tmp, &r, &s, NOW_MS + 5, &o, &err), 0);
        assert_int_equal(f->calls, 1);
        run_record_clear(&r);
        json_object_put(attrs);
}

/* The heartbeat command: host metrics from the root, ages from the records, delivered; the
 * previous heartbeat's time is remembered. */
static void test_heartbeat_entry_point(void **state)
{
        struct fake *f = *state;
        json_object *attrs = attrs_from(BASE_ATTRS);
        struct report_sender s = { fake_send, f };
        const char *recipes[] = { "ebs_snapshots" };
        struct error err = ERROR_INIT;
        enum report_outcome o = -1;
        char *root = path_join(f->tmp, "root"), *loadavg = path_join(root, "proc/loadavg");
        char *pdir = path_join(root, "proc"), *note = path_join(f->tmp, "report.json"), *text = NULL;
        struct metric_batch sent = METRIC_BATCH_INIT;

        assert_int_equal(mkdir_p(pdir, 0755), 0);
        assert_int_equal(write_file_atomic(loadavg, "1.00 2.00 3.00 1/1 1\n", 21, 0644), 0);
        write_record(f->tmp, "ebs_snapshots", "r1", NOW_MS - 20000, NOW_MS - 10000, RUN_SUCCESS, false);
        assert_int_equal(report_heartbeat_with(attrs, f->tmp, root, recipes, 1, &s, NOW_MS, &o, &sent, &err), 0);
        assert_int_equal(o, REPORT_SENT);
        assert_int_equal(f->n_got, 1);
        /* What the caller gets back is what was sent (`report --json` prints it). */
        assert_int_equal(sent.n, f->got[0].n);
        for (size_t i = 0; i < sent.n; i++) {
                assert_string_equal(sent.items[i].name, f->got[0].items[i].name);
                assert_true(sent.items[i].value == f->got[0].items[i].value);
        }
        metric_batch_free(&sent);
        assert_true(find(&f->got[0], "Heartbeat")->value == 1);
        assert_true(find(&f->got[0], "system_load15")->value == 3);
        assert_true(find(&f->got[0], "SecondsSinceLastSuccess")->value == 10);
        assert_null(find(&f->got[0], "mem_used_percent"));     /* not in this fake root */
        assert_int_equal(read_file_capped(note, 4096, &text, NULL), 0);
        assert_non_null(strstr(text, "1800000000000"));
        free(text);
        free(root);
        free(loadavg);
        free(pdir);
        free(note);
        json_object_put(attrs);
}

static void test_heartbeat_disabled(void **state)
{
        struct fake *f = *state;
        json_object *attrs = attrs_from("{\"cloudwatch\": {\"enabled\": false}}");
        struct report_sender s = { fake_send, f };
        struct error err = ERROR_INIT;
        enum report_outcome o = -1;
        struct metric_batch sent = METRIC_BATCH_INIT;

        assert_int_equal(report_heartbeat_with(attrs, f->tmp, f->tmp, NULL, 0, &s, NOW_MS, &o, &sent, &err), 0);
        assert_int_equal(o, REPORT_DISABLED);
        assert_int_equal(f->calls, 0);
        assert_int_equal(sent.n, 0);
        json_object_put(attrs);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_config_defaults),
                T(test_attr_defaults_match),
                T(test_config_bad_values_name_the_key),
                T(test_instance_id_falls_back_to_hostname),
                T(test_run_metrics),
                T(test_failed_run_and_stack_name),
                T(test_run_metrics_sanitised),
                T(test_recipe_metric_limit),
                T(test_heartbeat),
                T(test_deliver_sends_everything),
                T(test_disabled_sends_nothing),
                T(test_outage_then_recovery),
                T(test_partial_outage_spools_only_the_rest),
                T(test_metrics_dropped_reported_once),
                T(test_rejected_is_error_not_spooled),
                T(test_unusable_spool_still_sends),
                T(test_error_classification),
                T(test_recipe_ages_from_records),
                T(test_after_run),
                T(test_heartbeat_entry_point),
                T(test_heartbeat_disabled),
        };
        return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
