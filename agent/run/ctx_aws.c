/* The AWS half of the recipe context: struct opsagent_aws_ops over the agent's session. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx_aws.h"
#include "aws/awserror.h"
#include "aws/ec2.h"
#include "aws/session.h"
#include "util/log.h"

/* The run's session, created on first use. */
static struct aws_session *session(struct opsagent_ctx *ctx, const char *op, int *ret_r)
{
        struct ctx_core *core = ctx_core_of(ctx);
        struct error err = ERROR_INIT;
        int r;

        memset(&core->aws_error, 0, sizeof(core->aws_error));
        if (core->aws)
                return core->aws;
        r = aws_session_new(core->attrs, core->recipe_attrs, &core->aws, &err);
        if (r < 0) {
                aws_error_set(&core->aws_error, op, "Configuration", 0, NULL, "%s",
                              err.msg[0] ? err.msg : strerror(-r));
                *ret_r = r;
                return NULL;
        }
        /* Custom JSON readable by others (keys inside) is warned about by the core when it loads
         * the layers; credentials_warn_exposed_key_files() is there for other callers. */
        return core->aws;
}

/* After a call: copy the session's error into the context's. */
static int done(struct opsagent_ctx *ctx, const char *op, int r)
{
        struct ctx_core *core = ctx_core_of(ctx);

        if (r < 0 && core->aws) {
                const struct opsagent_aws_error *e = &core->aws->last_error;

                if (e->operation[0] && e->message[0])
                        core->aws_error = *e;
                else
                        aws_error_set(&core->aws_error, e->operation[0] ? e->operation : op, e->code, e->http_status,
                                      e->request_id, "%s", e->message[0] ? e->message : strerror(-r));
        }
        return r;
}

/* A safety net under every recipe: in a dry run no mutating call leaves the machine. */
static int refuse_in_dry_run(struct opsagent_ctx *ctx, const char *op)
{
        struct ctx_core *core = ctx_core_of(ctx);

        if (!ctx->dry_run)
                return 0;
        aws_error_set(&core->aws_error, op, "DryRun", 0, NULL, "not sent: this is a dry run, and %s changes things",
                      op);
        log_warning("%s refused: dry run (a recipe must not make mutating calls with --dry-run)", op);
        return -EROFS;
}

/* The tag by which a create whose outcome is unknown is looked for: this run's id. NULL when
 * the context has none. */
static const struct opsagent_tag *run_mark(struct opsagent_ctx *ctx, struct opsagent_tag *buf)
{
        if (!ctx->run_id || !*ctx->run_id)
                return NULL;
        *buf = (struct opsagent_tag){ OPSAGENT_AWS_TAG_RUN_ID, ctx->run_id };
        return buf;
}

static const struct opsagent_aws_error *op_last_error(struct opsagent_ctx *ctx)
{
        return &ctx_core_of(ctx)->aws_error;
}

static int op_describe_instance(struct opsagent_ctx *ctx, const char *instance_id,
                                struct opsagent_ec2_instance **ret)
{
        int r = 0;
        struct aws_session *s = session(ctx, "DescribeInstances", &r);

        if (!s)
                return r;
        return done(ctx, "DescribeInstances", ec2_describe_instance(s, instance_id, ret));
}

static int op_describe_volumes(struct opsagent_ctx *ctx, const char *const *volume_ids,
                               struct opsagent_ec2_volume **ret, size_t *ret_n)
{
        int r = 0;
        struct aws_session *s = session(ctx, "DescribeVolumes", &r);

        if (!s)
                return r;
        return done(ctx, "DescribeVolumes", ec2_describe_volumes(s, volume_ids, ret, ret_n));
}

static int op_describe_snapshots(struct opsagent_ctx *ctx, const struct opsagent_ec2_filter *filters,
                                 struct opsagent_ec2_snapshot **ret, size_t *ret_n)
{
        int r = 0;
        struct aws_session *s = session(ctx, "DescribeSnapshots", &r);

        if (!s)
                return r;
        return done(ctx, "DescribeSnapshots", ec2_describe_snapshots(s, filters, ret, ret_n));
}

static int op_describe_snapshots_each(struct opsagent_ctx *ctx, const struct opsagent_ec2_filter *filters,
                                      int (*each)(const struct opsagent_ec2_snapshot *snapshot, void *userdata),
                                      void *userdata)
{
        int r = 0;
        struct aws_session *s = session(ctx, "DescribeSnapshots", &r);

        if (!s)
                return r;
        return done(ctx, "DescribeSnapshots", ec2_describe_snapshots_each(s, filters, each, userdata));
}

static int op_create_snapshots_each(struct opsagent_ctx *ctx, struct opsagent_ec2_create_snapshot *reqs, size_t n,
                                    unsigned parallel)
{
        int r = refuse_in_dry_run(ctx, "CreateSnapshot");
        struct aws_session *s = r < 0 ? NULL : session(ctx, "CreateSnapshot", &r);

        if (!s) {
                for (size_t i = 0; i < n; i++) {
                        reqs[i].result = r;
                        reqs[i].snapshot_id = NULL;
                        reqs[i].error = ctx_core_of(ctx)->aws_error;
                }
                return r;
        }
        {
                struct opsagent_tag mark;

                return done(ctx, "CreateSnapshot",
                            ec2_create_snapshots_each(s, reqs, n, parallel, run_mark(ctx, &mark)));
        }
}

static int op_create_snapshots_multi(struct opsagent_ctx *ctx, const char *instance_id, bool exclude_boot,
                                     const char *const *exclude_volume_ids, const char *description,
                                     const struct opsagent_tag *tags, size_t n_tags,
                                     struct opsagent_ec2_snapshot **ret, size_t *ret_n)
{
        int r = refuse_in_dry_run(ctx, "CreateSnapshots");
        struct aws_session *s = r < 0 ? NULL : session(ctx, "CreateSnapshots", &r);
        struct opsagent_tag mark;

        if (!s)
                return r;
        return done(ctx, "CreateSnapshots",
                    ec2_create_snapshots_multi(s, instance_id, exclude_boot, exclude_volume_ids, description, tags,
                                               n_tags, run_mark(ctx, &mark), ret, ret_n));
}

static int op_delete_snapshot(struct opsagent_ctx *ctx, const char *snapshot_id)
{
        int r = refuse_in_dry_run(ctx, "DeleteSnapshot");
        struct aws_session *s = r < 0 ? NULL : session(ctx, "DeleteSnapshot", &r);

        if (!s)
                return r;
        return done(ctx, "DeleteSnapshot", ec2_delete_snapshot(s, snapshot_id));
}

static int op_create_tags(struct opsagent_ctx *ctx, const char *const *resource_ids,
                          const struct opsagent_tag *tags, size_t n_tags)
{
        int r = refuse_in_dry_run(ctx, "CreateTags");
        struct aws_session *s = r < 0 ? NULL : session(ctx, "CreateTags", &r);

        if (!s)
                return r;
        return done(ctx, "CreateTags", ec2_create_tags(s, resource_ids, tags, n_tags));
}

static const struct opsagent_aws_ops ctx_aws_ops = {
        .size = sizeof(struct opsagent_aws_ops),
        .last_error = op_last_error,
        .ec2_describe_instance = op_describe_instance,
        .ec2_instance_free = ec2_instance_free,
        .ec2_describe_volumes = op_describe_volumes,
        .ec2_volumes_free = ec2_volumes_free,
        .ec2_describe_snapshots = op_describe_snapshots,
        .ec2_snapshots_free = ec2_snapshots_free,
        .ec2_create_snapshots_each = op_create_snapshots_each,
        .ec2_create_snapshot_clear = ec2_create_snapshot_clear,
        .ec2_create_snapshots_multi = op_create_snapshots_multi,
        .ec2_delete_snapshot = op_delete_snapshot,
        .ec2_create_tags = op_create_tags,
        .ec2_describe_snapshots_each = op_describe_snapshots_each,
};

static void ctx_aws_done(struct ctx_core *core)
{
        aws_session_free(core->aws);
        core->aws = NULL;
}

void ctx_aws_attach(struct ctx_core *core)
{
        core->pub.aws = &ctx_aws_ops;
        core->on_done = ctx_aws_done;
}
