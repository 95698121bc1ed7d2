/* Test-only driver of the AWS modules (not installed): runs one typed call against whatever
 * the standard AWS environment variables point at (the local stand-in in the tests) and prints
 * the result, so integration tests reach facts and PutMetricData too.
 *
 *   aws_tool [--attrs JSON] [--recipe-attrs JSON] [--test-origin URL] [--mark KEY=VALUE] COMMAND ARGS...
 *   (--mark: the tag by which creates whose outcome is unknown are looked for; none by default)
 *   facts | describe-instance [ID] | describe-volumes ID... | describe-snapshots [NAME=V1,V2]...
 *   describe-snapshots-each [NAME=V1,V2]... (the same, streamed)
 *   create-snapshot VOL... | create-snapshots-multi [--exclude-boot] | delete-snapshot ID
 *   create-tags ID KEY=VALUE... | put-metrics N [NAMESPACE]
 *   json-call logs|ssm OPERATION [JSON]     (the JSON 1.1 protocol; prints the answer)
 *   resolve: what the session resolved (region, profile, retry, endpoints, credentials and the
 *            trace, each with its origin) as JSON; the full access key id, never the secret
 *   sts-identity | ini FILE (the parse as JSON) | endpoint SERVICE REGION FIPS DUALSTACK
 *
 * --test-origin sends every AWS request to the stand-in while keeping the URL's Host (the
 * botocore agreement tests); AWS_TOOL_NO_SLEEP=1 lets retries wait on a fake clock.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "aws/awsjson.h"
#include "aws/cloudwatch.h"
#include "aws/ec2.h"
#include "aws/facts.h"
#include "aws/inifile.h"
#include "aws/session.h"
#include "aws/sts.h"
#include "util/log.h"

static int fail(struct aws_session *s, int r)
{
        const struct opsagent_aws_error *e = &s->last_error;
        char *line = NULL;

        if (asprintf(&line, "error: %s: %s: %s (request id %s) [%s]", e->operation, e->code, e->message,
                     e->request_id[0] ? e->request_id : "unknown", strerror(-r)) >= 0) {
                char *clean = log_scrub(line);
                fprintf(stderr, "%s\n", clean ? clean : "(withheld)");
                free(clean);
                free(line);
        }
        return 1;
}

/* A clock that sleeping moves forward: retries wait without waiting. */
static uint64_t fake_ms = 1000000;

static uint64_t fake_now_ms(void *u)
{
        (void)u;
        return fake_ms;
}

static void fake_sleep_ms(uint64_t ms, void *u)
{
        (void)u;
        fake_ms += ms;
}

static json_object *entries_json(const struct ini_entry *e, size_t n)
{
        json_object *o = json_object_new_object();

        for (size_t i = 0; i < n; i++)
                json_object_object_add(o, e[i].key, e[i].value ? json_object_new_string(e[i].value)
                                                                : entries_json(e[i].sub, e[i].n_sub));
        return o;
}

static int cmd_ini(const char *path)
{
        struct ini_file *f = NULL;
        struct error err = ERROR_INIT;
        json_object *o;
        int r = ini_load(path, &f, &err);

        if (r < 0) {
                fprintf(stderr, "error: %s\n", err.msg[0] ? err.msg : strerror(-r));
                return 1;
        }
        o = json_object_new_object();
        for (size_t i = 0; i < f->n; i++)
                json_object_object_add(o, f->sections[i].name, entries_json(f->sections[i].entries, f->sections[i].n));
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        ini_free(f);
        return 0;
}

static int cmd_endpoint(const char *svc, const char *region, const char *fips, const char *ds)
{
        struct error err = ERROR_INIT;
        char *u = NULL;

        for (int i = 0; i < AWS_SERVICE_COUNT; i++) {
                if (strcmp(aws_service_info((enum aws_service)i)->id, svc) != 0)
                        continue;
                if (aws_endpoint_url((enum aws_service)i, region, strcmp(fips, "1") == 0, strcmp(ds, "1") == 0, &u,
                                     &err) < 0) {
                        fprintf(stderr, "error: %s\n", err.msg);
                        return 1;
                }
                printf("%s\n", u);
                free(u);
                return 0;
        }
        fprintf(stderr, "unknown service %s\n", svc);
        return 2;
}

static void add_str(json_object *o, const char *k, const char *v)
{
        json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static int cmd_resolve(struct aws_session *s)
{
        const struct aws_credentials *c = NULL;
        struct error err = ERROR_INIT;
        json_object *o = json_object_new_object(), *eps = json_object_new_object(), *eo = json_object_new_object();
        json_object *cr = json_object_new_object(), *tr = json_object_new_array();
        int r;

        add_str(o, "profile", s->config->profile);
        add_str(o, "profile_origin", s->config->profile_origin);
        add_str(o, "region", s->region);
        add_str(o, "region_origin", s->region_origin);
        add_str(o, "retry_mode", retry_mode_name(s->retry.mode));
        json_object_object_add(o, "max_attempts", json_object_new_int((int)s->retry.max_attempts));
        add_str(o, "retry_origin", s->retry_origin);
        for (int i = 0; i < AWS_SERVICE_COUNT; i++) {
                add_str(eps, aws_service_info((enum aws_service)i)->id, s->endpoint[i]);
                add_str(eo, aws_service_info((enum aws_service)i)->id, s->endpoint_origin[i]);
        }
        json_object_object_add(o, "endpoints", eps);
        json_object_object_add(o, "endpoint_origins", eo);
        json_object_object_add(o, "imds_timeout_ms", json_object_new_int((int)s->imds_timeout_ms));
        json_object_object_add(o, "imds_attempts", json_object_new_int((int)s->imds_attempts));
        r = credentials_get(&s->creds, &c, &err);
        if (r >= 0) {
                add_str(cr, "access_key_id", c->access_key_id);
                add_str(cr, "source", credentials_source_id(c->source));
                json_object_object_add(cr, "expiration", json_object_new_int64((int64_t)c->expiration));
        } else {
                add_str(cr, "error", err.msg);
        }
        json_object_object_add(o, "credentials", cr);
        for (size_t i = 0; i < s->creds.trace.n; i++) {
                json_object *st = json_object_new_object();

                add_str(st, "source", credentials_source_id(s->creds.trace.steps[i].source));
                json_object_object_add(st, "chosen", json_object_new_boolean(s->creds.trace.steps[i].chosen));
                add_str(st, "text", s->creds.trace.steps[i].text);
                json_object_array_add(tr, st);
        }
        json_object_object_add(o, "trace", tr);
        {
                char *clean = log_scrub(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));

                printf("%s\n", clean ? clean : "{}");
                free(clean);
        }
        json_object_put(o);
        if (r < 0) {
                char *clean = log_scrub(err.msg);

                fprintf(stderr, "error: %s\n", clean ? clean : "(withheld)");
                free(clean);
                return 1;
        }
        return 0;
}

static void print_tags(const struct opsagent_ec2_tag *t, size_t n)
{
        printf(" tags=");
        for (size_t i = 0; i < n; i++)
                printf("%s%s=%s", i ? "," : "", t[i].key, t[i].value ? t[i].value : "");
}

static void print_snapshot(const struct opsagent_ec2_snapshot *v)
{
        printf("snapshot %s volume=%s state=%s start=%lld", v->snapshot_id, v->volume_id ? v->volume_id : "-",
               v->state ? v->state : "-", (long long)v->start_time);
        print_tags(v->tags, v->n_tags);
        printf("\n");
}

static int print_each(const struct opsagent_ec2_snapshot *v, void *userdata)
{
        (*(size_t *)userdata)++;
        print_snapshot(v);
        return 0;
}

int main(int argc, char **argv)
{
        json_object *attrs = NULL, *recipe_attrs = NULL;
        struct aws_session *s = NULL;
        struct error err = ERROR_INIT;
        const char *cmd, *test_origin = NULL;
        struct opsagent_tag mark_buf, *mark = NULL;
        int i = 1, r, rc = 0;

        log_setup(LOG_TARGET_STDERR, getenv("AWS_TOOL_DEBUG") ? LOG_DEBUG : LOG_WARNING);
        for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
                json_object **dst = strcmp(argv[i], "--attrs") == 0 ? &attrs : &recipe_attrs;

                if (strcmp(argv[i], "--test-origin") == 0) {
                        test_origin = argv[i + 1];
                        continue;
                }
                if (strcmp(argv[i], "--mark") == 0) {
                        char *eq = strchr(argv[i + 1], '=');

                        if (!eq)
                                return 2;
                        *eq = '\0';
                        mark_buf = (struct opsagent_tag){ argv[i + 1], eq + 1 };
                        mark = &mark_buf;
                        continue;
                }

                *dst = json_tokener_parse(argv[i + 1]);
                if (!*dst) {
                        fprintf(stderr, "%s: not JSON\n", argv[i]);
                        return 2;
                }
        }
        if (i >= argc) {
                fprintf(stderr, "usage: aws_tool [--attrs JSON] [--recipe-attrs JSON] COMMAND ARGS...\n");
                return 2;
        }
        if (!attrs)
                attrs = json_object_new_object();
        cmd = argv[i++];

        if (strcmp(cmd, "facts") == 0) {
                json_object *facts = NULL;
                char *ud = NULL;

                r = instance_facts_load(attrs, &facts, &ud, &err);
                if (r < 0) {
                        fprintf(stderr, "error: %s\n", err.msg[0] ? err.msg : strerror(-r));
                        rc = 1;
                } else {
                        printf("%s\n", json_object_to_json_string_ext(facts, JSON_C_TO_STRING_PLAIN));
                        if (ud)
                                printf("user-data: %s\n", ud);
                }
                json_object_put(facts);
                free(ud);
                goto out;
        }

        if (strcmp(cmd, "ini") == 0 && i < argc) {
                rc = cmd_ini(argv[i]);
                goto out;
        }
        if (strcmp(cmd, "endpoint") == 0 && i + 3 < argc) {
                rc = cmd_endpoint(argv[i], argv[i + 1], argv[i + 2], argv[i + 3]);
                goto out;
        }
        r = aws_session_new(attrs, recipe_attrs, &s, &err);
        if (r < 0) {
                char *clean = log_scrub(err.msg[0] ? err.msg : strerror(-r));

                fprintf(stderr, "error: %s\n", clean ? clean : "(withheld)");
                free(clean);
                rc = 1;
                goto out;
        }
        if (test_origin && aws_session_set_test_origin(s, test_origin) < 0) {
                rc = 1;
                goto out;
        }
        if (getenv("AWS_TOOL_NO_SLEEP")) {
                s->retry.now_ms = fake_now_ms;
                s->retry.userdata = NULL;
                s->sleep_ms = fake_sleep_ms;
        }
        if (strcmp(cmd, "resolve") == 0) {
                rc = cmd_resolve(s);
                goto out;
        }
        if (strcmp(cmd, "sts-identity") == 0) {
                char *account = NULL, *arn = NULL;
                time_t date = 0;

                r = sts_get_caller_identity(s, &account, &arn, &date, &err);
                if (r < 0) {
                        fprintf(stderr, "error: %s\n", err.msg);
                        rc = 1;
                        goto out;
                }
                printf("account %s arn %s date %lld\n", account, arn, (long long)date);
                free(account);
                free(arn);
                goto out;
        }

        if (strcmp(cmd, "describe-instance") == 0) {
                struct opsagent_ec2_instance *in = NULL;

                r = ec2_describe_instance(s, i < argc ? argv[i] : NULL, &in);
                if (r < 0) {
                        rc = fail(s, r);
                        goto out;
                }
                printf("instance %s root=%s az=%s type=%s\n", in->instance_id, in->root_device_name,
                       in->availability_zone, in->instance_type);
                for (size_t k = 0; k < in->n_attachments; k++)
                        printf("attachment %s %s %s%s\n", in->attachments[k].device, in->attachments[k].volume_id,
                               in->attachments[k].status, in->attachments[k].is_root ? " root" : "");
                ec2_instance_free(in);
        } else if (strcmp(cmd, "describe-volumes") == 0) {
                struct opsagent_ec2_volume *v = NULL;
                size_t n = 0;

                r = ec2_describe_volumes(s, (const char *const *)&argv[i], &v, &n);
                if (r < 0) {
                        rc = fail(s, r);
                        goto out;
                }
                for (size_t k = 0; k < n; k++)
                        printf("volume %s state=%s type=%s size=%lld az=%s\n", v[k].volume_id, v[k].state,
                               v[k].volume_type, (long long)v[k].size_gib, v[k].availability_zone);
                ec2_volumes_free(v, n);
        } else if (strcmp(cmd, "describe-snapshots") == 0 || strcmp(cmd, "describe-snapshots-each") == 0) {
                struct opsagent_ec2_filter f[16] = { { 0 } };
                const char *vals[16][16] = { { 0 } };
                char *copies[16] = { 0 };
                struct opsagent_ec2_snapshot *v = NULL;
                size_t n = 0, nf = 0;

                for (; i < argc && nf < 15; i++, nf++) {
                        char *eq, *save = NULL;
                        size_t nv = 0;

                        copies[nf] = strdup(argv[i]);
                        eq = copies[nf] ? strchr(copies[nf], '=') : NULL;
                        if (!eq)
                                return 2;
                        *eq = '\0';
                        for (char *t = strtok_r(eq + 1, ",", &save); t && nv < 15; t = strtok_r(NULL, ",", &save))
                                vals[nf][nv++] = t;
                        f[nf].name = copies[nf];
                        f[nf].values = vals[nf];
                }
                if (strcmp(cmd, "describe-snapshots-each") == 0)
                        r = ec2_describe_snapshots_each(s, f, print_each, &n);
                else
                        r = ec2_describe_snapshots(s, f, &v, &n);
                for (size_t k = 0; k < nf; k++)
                        free(copies[k]);
                if (r < 0) {
                        rc = fail(s, r);
                        goto out;
                }
                printf("count %zu\n", n);
                for (size_t k = 0; v && k < n; k++)
                        print_snapshot(&v[k]);
                ec2_snapshots_free(v, n);
        } else if (strcmp(cmd, "create-snapshot") == 0) {
                size_t n = (size_t)(argc - i);
                struct opsagent_ec2_create_snapshot *reqs = calloc(n ? n : 1, sizeof(*reqs));
                struct opsagent_tag tags[] = { { "opsagent:test", "aws_tool" } };

                if (!reqs)
                        return 1;
                for (size_t k = 0; k < n; k++) {
                        reqs[k].volume_id = argv[i + (int)k];
                        reqs[k].description = "aws_tool";
                        reqs[k].tags = tags;
                        reqs[k].n_tags = 1;
                }
                r = ec2_create_snapshots_each(s, reqs, n, 0, mark);
                for (size_t k = 0; k < n; k++) {
                        if (reqs[k].result < 0)
                                printf("failed %s %s: %s (request id %s)\n", reqs[k].volume_id, reqs[k].error.code,
                                       reqs[k].error.message, reqs[k].error.request_id);
                        else
                                printf("created %s %s start=%lld\n", reqs[k].volume_id, reqs[k].snapshot_id,
                                       (long long)reqs[k].start_time);
                        ec2_create_snapshot_clear(&reqs[k]);
                }
                free(reqs);
                if (r < 0)
                        rc = fail(s, r);
        } else if (strcmp(cmd, "create-snapshots-multi") == 0) {
                struct opsagent_tag tags[] = { { "opsagent:test", "multi" } };
                struct opsagent_ec2_snapshot *v = NULL;
                size_t n = 0;

                r = ec2_create_snapshots_multi(s, NULL, i < argc && strcmp(argv[i], "--exclude-boot") == 0, NULL,
                                               "aws_tool multi", tags, 1, mark, &v, &n);
                if (r < 0) {
                        rc = fail(s, r);
                        goto out;
                }
                printf("count %zu\n", n);
                for (size_t k = 0; k < n; k++)
                        print_snapshot(&v[k]);
                ec2_snapshots_free(v, n);
        } else if (strcmp(cmd, "delete-snapshot") == 0 && i < argc) {
                r = ec2_delete_snapshot(s, argv[i]);
                if (r < 0)
                        rc = fail(s, r);
                else
                        printf("deleted %s\n", argv[i]);
        } else if (strcmp(cmd, "create-tags") == 0 && i < argc) {
                const char *ids[] = { argv[i], NULL };
                struct opsagent_tag tags[16];
                char *copies[16];
                size_t n = 0;

                for (i++; i < argc && n < 16; i++, n++) {
                        char *eq;

                        copies[n] = strdup(argv[i]);
                        eq = copies[n] ? strchr(copies[n], '=') : NULL;
                        if (!eq)
                                return 2;
                        *eq = '\0';
                        tags[n] = (struct opsagent_tag){ copies[n], eq + 1 };
                }
                r = ec2_create_tags(s, ids, tags, n);
                for (size_t k = 0; k < n; k++)
                        free(copies[k]);
                if (r < 0)
                        rc = fail(s, r);
                else
                        printf("tagged %s\n", ids[0]);
        } else if (strcmp(cmd, "put-metrics") == 0 && i < argc) {
                size_t n = strtoul(argv[i], NULL, 10);
                const char *ns = i + 1 < argc ? argv[i + 1] : "OpsAgentTest";
                struct metric *d = calloc(n ? n : 1, sizeof(*d));
                struct metric_batch b = { .namespace_ = (char *)ns, .items = d, .n = n, .alloc = n };
                bool nan_value = getenv("AWS_TOOL_NAN") != NULL;
                bool big = getenv("AWS_TOOL_BIG_DIMENSIONS") != NULL;
                static char long_value[METRIC_NAME_MAX + 1];
                static char dim_names[METRIC_MAX_DIMS][16];

                memset(long_value, 'v', METRIC_NAME_MAX);

                if (!d)
                        return 1;
                /* Built by hand (not with metric_batch_add()) so that a NaN gets through to the
                 * client's own checks. */
                for (size_t k = 0; k < n; k++) {
                        d[k].name = (char *)(k % 2 ? "Duration" : "Success");
                        d[k].unit = (char *)(k % 2 ? "Seconds" : "Count");
                        d[k].value = nan_value && k == n - 1 ? NAN : (double)k;
                        d[k].timestamp_ms = (int64_t)time(NULL) * 1000;
                        d[k].n_dims = 2;
                        d[k].dims[0] = (struct metric_dim){ (char *)"InstanceId", (char *)"i-test" };
                        d[k].dims[1] = (struct metric_dim){ (char *)"Recipe", (char *)"aws_tool" };
                        if (big) {
                                d[k].n_dims = METRIC_MAX_DIMS;
                                for (size_t j = 2; j < METRIC_MAX_DIMS; j++) {
                                        snprintf(dim_names[j], sizeof(dim_names[j]), "Dim%zu", j);
                                        d[k].dims[j] = (struct metric_dim){ dim_names[j], long_value };
                                }
                        }
                }
                r = cloudwatch_put_metric_data(s, &b, &err);
                free(d);
                if (r < 0) {
                        char *clean = log_scrub(err.msg);
                        fprintf(stderr, "error: %s\n", clean ? clean : "(withheld)");
                        free(clean);
                        rc = 1;
                } else {
                        printf("sent %zu\n", n);
                }
        } else if (strcmp(cmd, "json-call") == 0 && i + 1 < argc) {
                enum aws_service svc = strcmp(argv[i], "ssm") == 0 ? AWS_SERVICE_SSM : AWS_SERVICE_LOGS;
                json_object *in = i + 2 < argc ? json_tokener_parse(argv[i + 2]) : NULL, *out = NULL;

                if (i + 2 < argc && !in) {
                        fprintf(stderr, "json-call: the input is not JSON\n");
                        rc = 2;
                        goto out;
                }
                r = awsjson_call(s, svc, argv[i + 1], in, &out, NULL);
                json_object_put(in);
                if (r < 0)
                        rc = fail(s, r);
                else
                        printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
                json_object_put(out);
        } else {
                fprintf(stderr, "unknown command %s\n", cmd);
                rc = 2;
        }
out:
        aws_session_free(s);
        json_object_put(attrs);
        json_object_put(recipe_attrs);
        log_forget_secrets();
        return rc;
}
