#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "commands.h"
#include "coreattrs.h"
#include "doctor.h"
#include "aws/awserror.h"
#include "aws/ec2.h"
#include "aws/http.h"
#include "config/source.h"
#include "aws/imds.h"
#include "aws/session.h"
#include "aws/sts.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "util/timeutil.h"

/* What each recipe needs of IAM (packaging/iam-policy.json's statements grant it). Keep in
 * step with the recipes' README and that file: tests/integration/test_doctor.py checks that
 * each statement named here grants the action. */
const struct doctor_need doctor_needs[] = {
        { "ebs_snapshots", "ec2:DescribeInstances", DOCTOR_BY_CALL, "DescribeForSnapshotsAndRetention", NULL },
        { "ebs_snapshots", "ec2:DescribeSnapshots", DOCTOR_BY_CALL, "DescribeForSnapshotsAndRetention", NULL },
        { "ebs_snapshots", "ec2:CreateSnapshot", DOCTOR_BY_DRY_RUN,
          "SnapshotTheVolumesOfAnInstance, CreateOnlySnapshotsTaggedAsOpsagents", "per-volume" },
        { "ebs_snapshots", "ec2:CreateSnapshots", DOCTOR_BY_DRY_RUN,
          "SnapshotTheVolumesOfAnInstance, CreateOnlySnapshotsTaggedAsOpsagents", "multi-volume" },
        { "ebs_snapshots", "ec2:CreateTags", DOCTOR_BY_DRY_RUN, "TagSnapshotsOnlyWhenCreatingThem", "multi-volume" },
        { "ebs_snapshots", "ec2:DeleteSnapshot", DOCTOR_BY_DRY_RUN, "DeleteOnlySnapshotsOpsagentCreated", NULL },
        { "reporting", "cloudwatch:PutMetricData", DOCTOR_NOT_CHECKED, "MetricsOnlyInTheOpsAgentNamespace", NULL },
        { "logs", "logs:PutLogEvents", DOCTOR_NOT_CHECKED, "ShipLogsToCloudWatchLogs", NULL },
        { "logs", "logs:CreateLogGroup", DOCTOR_NOT_CHECKED, "ShipLogsToCloudWatchLogs", NULL },
        { "logs", "logs:CreateLogStream", DOCTOR_NOT_CHECKED, "ShipLogsToCloudWatchLogs", NULL },
        { "logs", "logs:PutRetentionPolicy", DOCTOR_NOT_CHECKED, "ShipLogsToCloudWatchLogs", "retention_days" },
        { "source", "ec2:DescribeTags", DOCTOR_NOT_CHECKED, "ReadTheLayersTagOfThisInstance",
          "tags in instance metadata off" },
        { "source", "ssm:GetParametersByPath", DOCTOR_NOT_CHECKED, "ReadTheStackConfigurationFromParameterStore",
          "opsagent.source.ssm" },
        { "source", "kms:Decrypt", DOCTOR_NOT_CHECKED, "DecryptSecureStringStackConfigurationThroughSSM",
          "SecureString parameters" },
        { "source", "s3:GetObject", DOCTOR_NOT_CHECKED, "ReadTheStackConfigurationFromS3", "opsagent.source.s3" },
        { NULL, NULL, DOCTOR_NOT_CHECKED, NULL, NULL },
};

#define PLACEHOLDER_SNAPSHOT "snap-00000000000000000"

enum verdict { V_OK, V_WARN, V_FAIL, V_SKIP };

static const char *const verdict_names[] = { "ok", "warn", "FAIL", "skip" };

struct report {
        json_object *checks;            /* array of {check, verdict, text, details} */
        json_object *facts;             /* what --json gives besides the checks */
        bool failed;
};

static json_object *check(struct report *rp, const char *name, enum verdict v, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Adds a check; returns it (for details). Every text is scrubbed of secrets. */
static json_object *check(struct report *rp, const char *name, enum verdict v, const char *fmt, ...)
{
        json_object *o = json_object_new_object();
        char text[2048], *clean;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        clean = log_scrub(text);
        json_object_object_add(o, "check", json_object_new_string(name));
        json_object_object_add(o, "verdict", json_object_new_string(verdict_names[v]));
        json_object_object_add(o, "text", json_object_new_string(clean ? clean : "(withheld)"));
        json_object_object_add(o, "details", json_object_new_array());
        json_object_array_add(rp->checks, o);
        free(clean);
        if (v == V_FAIL)
                rp->failed = true;
        return o;
}

static void detail(json_object *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void detail(json_object *c, const char *fmt, ...)
{
        json_object *d = NULL;
        char text[1024], *clean;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        clean = log_scrub(text);
        json_object_object_get_ex(c, "details", &d);
        json_object_array_add(d, json_object_new_string(clean ? clean : "(withheld)"));
        free(clean);
}

static void fact(struct report *rp, const char *key, json_object *v)
{
        json_object_object_add(rp->facts, key, v);
}

static json_object *str_or_null(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

/* ---- the checks ------------------------------------------------------------------------- */

static void check_files(struct report *rp, const struct aws_session *s)
{
        const struct aws_config *c = s->config;
        json_object *ck;

        ck = check(rp, "profile", V_OK, "\"%s\" (%s)", c->profile, c->profile_origin);
        detail(ck, "config file %s%s", c->config_path, c->config ? "" : " (none)");
        detail(ck, "credentials file %s%s", c->credentials_path, c->credentials ? "" : " (none)");
        if (getenv("INVOCATION_ID"))
                detail(ck, "under systemd HOME is the unit's (root's: /root); set AWS_CONFIG_FILE in a drop-in to "
                           "use another file");
        fact(rp, "profile", json_object_new_string(c->profile));
        fact(rp, "profile_origin", json_object_new_string(c->profile_origin));
        fact(rp, "config_file", json_object_new_string(c->config_path));
        fact(rp, "credentials_file", json_object_new_string(c->credentials_path));
}

/* IMDS, and whether anything needs it that did not get it. */
static void check_imds(struct report *rp, struct aws_session *s)
{
        struct error err = ERROR_INIT;
        bool v1 = false;
        int r;

        if (!s->imds) {
                check(rp, "imds", V_SKIP, "not asked: AWS_EC2_METADATA_DISABLED=true");
                return;
        }
        r = imds_check_token(s->imds, &v1, &err);
        if (r < 0) {
                json_object *ck = check(rp, "imds", V_WARN, "%s", err.msg);

                detail(ck, "timeout %ld ms, %u attempts (%s)", s->imds_timeout_ms, s->imds_attempts, s->imds_origin);
                return;
        }
        if (v1)
                check(rp, "imds", V_WARN, "%s answers IMDSv1 only (allowed by aws.imds.allow_v1): require IMDSv2",
                      imds_endpoint(s->imds));
        else
                check(rp, "imds", V_OK, "%s: IMDSv2 session token (timeout %ld ms, %u attempts)",
                      imds_endpoint(s->imds), s->imds_timeout_ms, s->imds_attempts);
}

static void check_instance(struct report *rp, struct node *n, bool needed)
{
        json_object *tree = attrs_tree(n->attrs);
        const char *id = json_get_nonempty_string(tree, "opsagent.instance.id");
        const char *own = json_get_nonempty_string(tree, "aws.instance_id");

        if (n->instance > 0 && id) {
                check(rp, "instance", V_OK, "%s, %s in %s, account %s", id,
                      json_get_string(tree, "opsagent.instance.instance_type") ?: "?",
                      json_get_string(tree, "opsagent.instance.availability_zone") ?: "?",
                      json_get_string(tree, "opsagent.instance.account_id") ?: "?");
        } else if (own) {
                check(rp, "instance", V_OK, "%s (the attribute aws.instance_id)", own);
        } else {
                check(rp, "instance", needed ? V_FAIL : V_WARN, "unknown: %s%s",
                      n->instance_error.msg[0] ? n->instance_error.msg : "no instance facts",
                      needed ? "; an enabled recipe needs it (set aws.instance_id off EC2)" : "");
        }
        fact(rp, "instance_id", str_or_null(id ? id : own));
}

static void check_region(struct report *rp, const struct aws_session *s)
{
        check(rp, "region", V_OK, "%s (from %s)", s->region, s->region_origin);
        fact(rp, "region", json_object_new_string(s->region));
        fact(rp, "region_origin", json_object_new_string(s->region_origin));
}

/* The credentials of S (LABEL: "credentials", "ebs_snapshots credentials"): the source, and
 * why each before it was skipped. */
static int check_credentials(struct report *rp, struct aws_session *s, const char *label, bool record)
{
        const struct aws_credentials *c = NULL;
        struct error err = ERROR_INIT;
        json_object *ck, *trace = json_object_new_array();
        char key[32], when[64] = "";
        const struct credentials_step *chosen = NULL;
        int r;

        r = credentials_get(&s->creds, &c, &err);
        for (size_t i = 0; i < s->creds.trace.n; i++)
                if (s->creds.trace.steps[i].chosen)
                        chosen = &s->creds.trace.steps[i];
        if (r < 0) {
                ck = check(rp, label, V_FAIL, "%s", err.msg);
        } else {
                credentials_mask_key_id(c->access_key_id, key, sizeof(key));
                if (c->expiration) {
                        struct tm tm;
                        time_t t = c->expiration;

                        gmtime_r(&t, &tm);
                        strftime(when, sizeof(when), ", expires %Y-%m-%dT%H:%M:%SZ", &tm);
                }
                ck = check(rp, label, V_OK, "%s, key %s%s", chosen ? chosen->text : credentials_source_name(c->source),
                           key, when);
        }
        for (size_t i = 0; i < s->creds.trace.n; i++) {
                const struct credentials_step *st = &s->creds.trace.steps[i];
                json_object *o = json_object_new_object();

                if (!st->chosen)
                        detail(ck, "skipped %s: %s", credentials_source_name(st->source), st->text);
                json_object_object_add(o, "source", json_object_new_string(credentials_source_id(st->source)));
                json_object_object_add(o, "chosen", json_object_new_boolean(st->chosen));
                json_object_object_add(o, "text", json_object_new_string(st->text));
                json_object_array_add(trace, o);
        }
        if (record) {
                json_object *o = json_object_new_object();

                json_object_object_add(o, "source", json_object_new_string(r < 0 ? "none"
                                                                                  : credentials_source_id(c->source)));
                json_object_object_add(o, "access_key_id", r < 0 ? NULL : json_object_new_string(key));
                json_object_object_add(o, "trace", trace);
                fact(rp, "credentials", o);
        } else {
                json_object_put(trace);
        }
        return r;
}

static void check_identity(struct report *rp, struct aws_session *s)
{
        struct error err = ERROR_INIT;
        char *account = NULL, *arn = NULL;
        time_t date = 0, now;
        int r;

        r = sts_get_caller_identity(s, &account, &arn, &date, &err);
        if (r < 0) {
                check(rp, "identity", V_FAIL, "STS GetCallerIdentity (%s): %s",
                      s->endpoint[AWS_SERVICE_STS] ? s->endpoint[AWS_SERVICE_STS] : "no endpoint", err.msg);
                check(rp, "clock", V_SKIP, "no answer from AWS to compare with");
                return;
        }
        now = time(NULL);
        check(rp, "identity", V_OK, "%s (account %s)", arn, account);
        fact(rp, "account", json_object_new_string(account));
        fact(rp, "arn", json_object_new_string(arn));
        if (!date) {
                check(rp, "clock", V_SKIP, "STS's answer had no Date header");
        } else {
                long long skew = (long long)now - (long long)date;
                long long mag = skew < 0 ? -skew : skew;

                if (mag > DOCTOR_SKEW_FAIL_S)
                        check(rp, "clock", V_FAIL, "%+lld s from AWS's Date: AWS refuses requests signed more than %d s "
                              "off; opsagent corrects and retries once, but fix the clock (chrony, "
                              "systemd-timesyncd, the Amazon Time Sync Service at 169.254.169.123)", skew,
                              DOCTOR_SKEW_FAIL_S);
                else if (mag > DOCTOR_SKEW_WARN_S)
                        check(rp, "clock", V_WARN, "%+lld s from AWS's Date: synchronise the clock", skew);
                else
                        check(rp, "clock", V_OK, "%+lld s from AWS's Date (to the second)", skew);
                fact(rp, "clock_skew_seconds", json_object_new_int64(skew));
        }
        free(account);
        free(arn);
}

static void check_retries(struct report *rp, const struct aws_session *s)
{
        check(rp, "retries", V_OK, "%s", s->retry_origin);
        fact(rp, "retry_mode", json_object_new_string(retry_mode_name(s->retry.mode)));
        fact(rp, "max_attempts", json_object_new_int((int)s->retry.max_attempts));
}

static void check_endpoints(struct report *rp, const struct aws_session *s)
{
        json_object *eps = json_object_new_object();

        for (int i = 0; i < AWS_SERVICE_COUNT; i++) {
                const struct aws_service_info *si = aws_service_info((enum aws_service)i);
                json_object *e = json_object_new_object();
                char name[64], *proxy = NULL;

                snprintf(name, sizeof(name), "endpoint %s", si->id);
                if (!s->endpoint[i]) {
                        check(rp, name, V_FAIL, "%s", s->endpoint_origin[i]);
                        json_object_object_add(e, "url", NULL);
                        json_object_object_add(e, "origin", json_object_new_string(s->endpoint_origin[i]));
                        json_object_object_add(eps, si->id, e);
                        continue;
                }
                (void)http_proxy_for(s->endpoint[i], &proxy);
                check(rp, name, V_OK, "%s (%s), %s%s", s->endpoint[i], s->endpoint_origin[i],
                      proxy ? "through the proxy " : "no proxy", proxy ? proxy : "");
                json_object_object_add(e, "url", json_object_new_string(s->endpoint[i]));
                json_object_object_add(e, "origin", json_object_new_string(s->endpoint_origin[i]));
                json_object_object_add(e, "proxy", str_or_null(proxy));
                json_object_object_add(eps, si->id, e);
                free(proxy);
        }
        fact(rp, "endpoints", eps);
}

/* ---- permissions ------------------------------------------------------------------------ */

struct probe {
        struct opsagent_ec2_instance *inst;     /* DescribeInstances' answer, may be NULL */
        char *snapshot_id;                      /* one of opsagent's snapshots, may be NULL */
        const char *mode;                       /* ebs_snapshots.mode */
};

static const char *error_text(const struct aws_session *s, char *buf, size_t size)
{
        return aws_error_format(&s->last_error, buf, size);
}

/* A verdict for NEED from the call's result R. */
static void permission(struct report *rp, struct aws_session *s, const struct doctor_need *nd, const struct probe *pb,
                       int r, const char *how)
{
        char name[96], text[sizeof(s->last_error) + 64];
        bool needed = !nd->when || !pb->mode || strcmp(nd->when, pb->mode) == 0;

        snprintf(name, sizeof(name), "%s %s", nd->recipe, nd->action);
        if (r >= 0) {
                check(rp, name, V_OK, "allowed (%s)", how);
                return;
        }
        error_text(s, text, sizeof(text));
        if (r == -EACCES && (strcmp(s->last_error.code, "UnauthorizedOperation") == 0 ||
                             strcmp(s->last_error.code, "AccessDenied") == 0 ||
                             strcmp(s->last_error.code, "AccessDeniedException") == 0)) {
                json_object *ck = check(rp, name, needed ? V_FAIL : V_WARN, "missing (%s): %s", how, text);

                detail(ck, "granted by the statement (Sid) %s of %s", nd->sids, DOCTOR_POLICY_PATH);

                if (!needed)
                        detail(ck, "needed in %s mode only (ebs_snapshots.mode is %s)", nd->when, pb->mode);
                return;
        }
        check(rp, name, needed ? V_FAIL : V_WARN, "could not tell (%s): %s", how, text);
}

static void dry_run(struct report *rp, struct aws_session *s, const struct doctor_need *nd, const struct probe *pb)
{
        const char *op = strchr(nd->action, ':') + 1, *vol = NULL;
        const char *snap = pb->snapshot_id ? pb->snapshot_id : PLACEHOLDER_SNAPSHOT;
        char name[96];
        int r;

        for (size_t i = 0; pb->inst && i < pb->inst->n_attachments; i++)
                if (!vol || pb->inst->attachments[i].is_root)
                        vol = pb->inst->attachments[i].volume_id;
        snprintf(name, sizeof(name), "%s %s", nd->recipe, nd->action);
        /* The same requests the recipe makes (its tags too: the policy's conditions look at them). */
        if (strcmp(op, "CreateSnapshot") == 0) {
                const char *p[] = { "VolumeId", vol, "TagSpecification.1.ResourceType", "snapshot",
                                    "TagSpecification.1.Tag.1.Key", "opsagent:managed",
                                    "TagSpecification.1.Tag.1.Value", "true", NULL };

                if (!vol) {
                        check(rp, name, V_SKIP, "no volume of this instance known to try it on");
                        return;
                }
                r = ec2_dry_run(s, op, p);
        } else if (strcmp(op, "CreateSnapshots") == 0) {
                const char *p[] = { "InstanceSpecification.InstanceId", pb->inst ? pb->inst->instance_id : NULL,
                                    "TagSpecification.1.ResourceType", "snapshot",
                                    "TagSpecification.1.Tag.1.Key", "opsagent:managed",
                                    "TagSpecification.1.Tag.1.Value", "true", NULL };

                if (!pb->inst) {
                        check(rp, name, V_SKIP, "this instance is not known to try it on");
                        return;
                }
                r = ec2_dry_run(s, op, p);
        } else if (strcmp(op, "CreateTags") == 0) {
                const char *p[] = { "ResourceId.1", snap, "Tag.1.Key", "opsagent:device", "Tag.1.Value", "/dev/sdf",
                                    NULL };

                r = ec2_dry_run(s, op, p);
        } else {
                const char *p[] = { "SnapshotId", snap, NULL };

                r = ec2_dry_run(s, op, p);
        }
        if (r < 0 && !pb->snapshot_id && strstr(s->last_error.code, ".NotFound")) {
                check(rp, name, V_WARN, "could not tell: there is no snapshot of opsagent's yet to try it on (DryRun "
                      "on %s answered %s)", snap, s->last_error.code);
                return;
        }
        permission(rp, s, nd, pb, r, "DryRun");
}

static void check_recipe(struct report *rp, struct aws_session *s, const char *recipe, const char *mode)
{
        struct probe pb = { .mode = mode ? mode : "per-volume" };

        for (const struct doctor_need *nd = doctor_needs; nd->recipe; nd++) {
                char name[96];
                int r;

                if (strcmp(nd->recipe, recipe) != 0)
                        continue;
                snprintf(name, sizeof(name), "%s %s", nd->recipe, nd->action);
                if (nd->how == DOCTOR_NOT_CHECKED && strncmp(nd->action, "logs:", 5) == 0) {
                        json_object *ck = check(rp, name, V_SKIP, "not checked: CloudWatch Logs has no dry run; "
                                                "`opsagent logs --status` shows the last error of each source");

                        detail(ck, "granted by the statement %s of %s", nd->sids, DOCTOR_POLICY_PATH);
                        continue;
                }
                if (nd->how == DOCTOR_NOT_CHECKED && strcmp(nd->recipe, "source") == 0) {
                        json_object *ck = check(rp, name, V_SKIP, "not checked here: `opsagent attributes` fetches "
                                                "the stack configuration source and names the action refused");

                        detail(ck, "granted by the statement %s of %s", nd->sids, DOCTOR_POLICY_PATH);
                        continue;
                }
                if (nd->how == DOCTOR_NOT_CHECKED) {
                        json_object *ck = check(rp, name, V_SKIP, "not checked: CloudWatch has no dry run, and a test "
                                                "datum would be a real, billed metric; `opsagent report` sends the "
                                                "heartbeat every 5 minutes and says when it is refused");

                        detail(ck, "granted by the statement %s of %s", nd->sids, DOCTOR_POLICY_PATH);
                        continue;
                }
                if (strcmp(nd->action, "ec2:DescribeInstances") == 0) {
                        const char *id = NULL;

                        if (ec2_self_instance_id(s, &id) < 0) {
                                check(rp, name, V_SKIP, "this instance's id is unknown (%s)", s->last_error.message);
                                continue;
                        }
                        r = ec2_describe_instance(s, NULL, &pb.inst);
                        permission(rp, s, nd, &pb, r, "called");
                        continue;
                }
                if (strcmp(nd->action, "ec2:DescribeSnapshots") == 0) {
                        const char *const managed[] = { "true", NULL };
                        const struct opsagent_ec2_filter f[] = { { "tag:opsagent:managed", managed }, { NULL, NULL } };
                        struct opsagent_ec2_snapshot *v = NULL;
                        size_t n = 0;

                        r = ec2_describe_snapshots(s, f, &v, &n);
                        if (r >= 0 && n > 0)
                                pb.snapshot_id = strdup(v[0].snapshot_id);
                        ec2_snapshots_free(v, n);
                        permission(rp, s, nd, &pb, r, "called");
                        continue;
                }
                dry_run(rp, s, nd, &pb);
        }
        ec2_instance_free(pb.inst);
        free(pb.snapshot_id);
}

/* ---- the command ------------------------------------------------------------------------ */

static void print_text(const struct report *rp)
{
        size_t n = json_object_array_length(rp->checks);

        for (size_t i = 0; i < n; i++) {
                json_object *c = json_object_array_get_idx(rp->checks, i), *v, *d;
                const char *name, *verdict, *text;

                json_object_object_get_ex(c, "check", &v);
                name = json_object_get_string(v);
                json_object_object_get_ex(c, "verdict", &v);
                verdict = json_object_get_string(v);
                json_object_object_get_ex(c, "text", &v);
                text = json_object_get_string(v);
                printf("%-5s %-36s %s\n", verdict, name, text);
                json_object_object_get_ex(c, "details", &d);
                for (size_t k = 0; k < json_object_array_length(d); k++)
                        printf("%-5s %-36s   %s\n", "", "", json_object_get_string(json_object_array_get_idx(d, k)));
        }
        printf("%s\n", rp->failed ? "something this node needs is missing (the FAIL lines)"
                                  : "everything this node needs is there");
}

/* Whether a recipe that needs the instance, or reporting, is enabled. */
static bool wants(struct node *n, const char *name)
{
        json_object *on;

        if (strcmp(name, "source") == 0) {
                struct error err = ERROR_INIT;
                json_object *cfg = NULL;
                bool configured = source_config_read(&n->paths, n->user_data, &cfg, &err) >= 0 && cfg;

                json_object_put(cfg);
                return configured;
        }

        if (strcmp(name, "logs") == 0) {
                on = attrs_get(n->attrs, "cloudwatch_logs.sources");
                if (on && json_object_is_type(on, json_type_object) && json_object_object_length(on) > 0)
                        return true;
                on = attrs_get(n->attrs, "opsagent.logs.run_log_group");
                return on && json_object_is_type(on, json_type_string);
        }
        if (strcmp(name, "reporting") == 0) {
                on = attrs_get(n->attrs, "cloudwatch.enabled");
                return !(on && json_object_is_type(on, json_type_boolean) && !json_object_get_boolean(on));
        }
        for (size_t i = 0; i < n->plugins.n; i++)
                if (strcmp(n->plugins.items[i].recipe->name, name) == 0)
                        return layers_recipe_enabled(n->attrs, n->plugins.items[i].recipe);
        return false;
}

static bool needs_instance(struct node *n)
{
        for (size_t i = 0; i < n->plugins.n; i++)
                if ((n->plugins.items[i].recipe->flags & OPSAGENT_RECIPE_NEEDS_INSTANCE) &&
                    layers_recipe_enabled(n->attrs, n->plugins.items[i].recipe))
                        return true;
        return false;
}

/* The recipe's own session when its attributes hold keys of its own, else NULL. */
static struct aws_session *recipe_session(struct report *rp, struct node *n, const char *recipe)
{
        json_object *ra = attrs_get(n->attrs, recipe);
        struct aws_session *s = NULL;
        struct error err = ERROR_INIT;
        char label[96];

        if (!ra || (!json_get_nonempty_string(ra, "aws_key") && !json_get_nonempty_string(ra, "aws_secret")))
                return NULL;
        snprintf(label, sizeof(label), "%s credentials", recipe);
        if (aws_session_new(attrs_tree(n->attrs), ra, &s, &err) < 0) {
                check(rp, label, V_FAIL, "%s", err.msg);
                return NULL;
        }
        if (check_credentials(rp, s, label, false) < 0) {
                aws_session_free(s);
                return NULL;
        }
        return s;
}

int cmd_doctor(const struct cli *c)
{
        struct report rp = { .checks = json_object_new_array(), .facts = json_object_new_object() };
        struct aws_session *s = NULL;
        struct error err = ERROR_INIT;
        struct node n;
        const char *recipes[] = { "ebs_snapshots", "reporting", "logs", "source" };
        int r;

        if (node_load(c, NODE_USER_DATA, &n) < 0) {
                json_object_put(rp.checks);
                json_object_put(rp.facts);
                return EXIT_USAGE;
        }
        r = layers_validate(n.attrs, core_attr_sections, &n.plugins, NULL, 0, &err);
        if (r < 0)
                check(&rp, "attributes", V_FAIL, "%s", err.msg);
        else
                check(&rp, "attributes", V_OK, "valid (%s)", n.paths.config_dir);
        error_clear(&err);
        if (!imds_disabled_by_env())
                (void)node_load_instance(&n, INSTANCE_QUIET);
        r = aws_session_new(attrs_tree(n.attrs), NULL, &s, &err);
        if (r < 0) {
                check(&rp, "aws configuration", V_FAIL, "%s", err.msg);
                check_instance(&rp, &n, needs_instance(&n));
                goto out;
        }
        check_files(&rp, s);
        check_imds(&rp, s);
        check_instance(&rp, &n, needs_instance(&n));
        check_region(&rp, s);
        if (check_credentials(&rp, s, "credentials", true) >= 0)
                check_identity(&rp, s);
        check_retries(&rp, s);
        check_endpoints(&rp, s);
        for (size_t i = 0; i < sizeof(recipes) / sizeof(recipes[0]); i++) {
                struct aws_session *own;

                if (!wants(&n, recipes[i])) {
                        check(&rp, recipes[i], V_SKIP, "not enabled: its permissions are not checked");
                        continue;
                }
                own = recipe_session(&rp, &n, recipes[i]);
                check_recipe(&rp, own ? own : s, recipes[i], json_get_string(attrs_tree(n.attrs), "ebs_snapshots.mode"));
                aws_session_free(own);
        }
out:
        if (c->json) {
                json_object *needs = json_object_new_array();

                for (const struct doctor_need *nd = doctor_needs; nd->recipe; nd++) {
                        json_object *o = json_object_new_object();
                        static const char *const how[] = { "call", "dry-run", "not-checked" };

                        json_object_object_add(o, "recipe", json_object_new_string(nd->recipe));
                        json_object_object_add(o, "action", json_object_new_string(nd->action));
                        json_object_object_add(o, "how", json_object_new_string(how[nd->how]));
                        json_object_object_add(o, "sids", json_object_new_string(nd->sids));
                        json_object_object_add(o, "when", str_or_null(nd->when));
                        json_object_array_add(needs, o);
                }
                json_object_object_add(rp.facts, "needs", needs);
                json_object_object_add(rp.facts, "ok", json_object_new_boolean(!rp.failed));
                json_object_object_add(rp.facts, "checks", json_object_get(rp.checks));
                printf("%s\n", json_object_to_json_string_ext(rp.facts, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
        } else {
                print_text(&rp);
        }
        aws_session_free(s);
        json_object_put(rp.checks);
        json_object_put(rp.facts);
        node_free(&n);
        return rp.failed ? EXIT_RECIPE_FAILED : EXIT_OK;
}
