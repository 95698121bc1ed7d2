/* Test-only recipe plugin: calls the ctx->aws ops listed in its attributes and prints what
 * came back, one line each, so that integration tests drive every typed AWS call through the
 * real `opsagent run`. Attributes (under "aws_probe"):
 *   "ops": [ {"op": "describe_instance", "id": null},
 *            {"op": "describe_volumes", "ids": ["vol-1"]},
 *            {"op": "describe_snapshots", "filters": {"tag:k": ["v"]}},
 *            {"op": "create_snapshots_each", "volumes": ["vol-1"], "tags": {"k": "v"}, "parallel": 2},
 *            {"op": "create_snapshots_multi", "exclude_boot": true, "tags": {"k": "v"}},
 *            {"op": "delete_snapshot", "id": "snap-1"},
 *            {"op": "create_tags", "ids": ["snap-1"], "tags": {"k": "v"}} ]
 *   "aws_key", "aws_secret": the recipe's own credentials (optional). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <opsagent/aws.h>
#include <opsagent/recipe.h>

#define MAX_ITEMS 64

static const char *str(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

/* NULL-terminated array of the strings in O[KEY] (borrowed; the array in BUF). */
static const char **strings(json_object *o, const char *key, const char **buf)
{
        json_object *a;
        size_t n = 0;

        if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
                return NULL;
        for (size_t i = 0; i < json_object_array_length(a) && n < MAX_ITEMS - 1; i++)
                buf[n++] = json_object_get_string(json_object_array_get_idx(a, i));
        buf[n] = NULL;
        return buf;
}

static size_t tags(json_object *o, struct opsagent_tag *t)
{
        json_object *m;
        size_t n = 0;

        if (!json_object_object_get_ex(o, "tags", &m) || !json_object_is_type(m, json_type_object))
                return 0;
        json_object_object_foreach(m, k, v)
        {
                if (n < MAX_ITEMS)
                        t[n++] = (struct opsagent_tag){ k, json_object_get_string(v) };
        }
        return n;
}

static int report(struct opsagent_ctx *ctx, const char *op, int r)
{
        const struct opsagent_aws_error *e = ctx->aws->last_error(ctx);

        ctx_say(ctx, "probe %s error %d %s: %s (operation %s, HTTP %d, request id %s)", op, -r, e->code,
                e->message, e->operation, e->http_status, e->request_id[0] ? e->request_id : "unknown");
        return r;
}

static void say_snapshot(struct opsagent_ctx *ctx, const char *op, const struct opsagent_ec2_snapshot *s)
{
        ctx_say(ctx, "probe %s snapshot %s volume=%s state=%s start=%lld tags=%zu", op, s->snapshot_id,
                s->volume_id ? s->volume_id : "-", s->state ? s->state : "-", (long long)s->start_time, s->n_tags);
}

static int run_op(struct opsagent_ctx *ctx, json_object *spec)
{
        const struct opsagent_aws_ops *aws = ctx->aws;
        const char *op = str(spec, "op");
        const char *buf[MAX_ITEMS];
        struct opsagent_tag t[MAX_ITEMS];
        json_object *v;
        int r;

        if (!op)
                return ctx_fail(ctx, -EINVAL, "aws_probe: an op without \"op\"");
        if (strcmp(op, "describe_instance") == 0) {
                struct opsagent_ec2_instance *in = NULL;

                r = aws->ec2_describe_instance(ctx, str(spec, "id"), &in);
                if (r < 0)
                        return report(ctx, op, r);
                ctx_say(ctx, "probe %s ok %s root=%s az=%s type=%s attachments=%zu", op, in->instance_id,
                        in->root_device_name, in->availability_zone, in->instance_type, in->n_attachments);
                for (size_t i = 0; i < in->n_attachments; i++)
                        ctx_say(ctx, "probe %s attachment %s %s%s", op, in->attachments[i].device,
                                in->attachments[i].volume_id, in->attachments[i].is_root ? " root" : "");
                aws->ec2_instance_free(in);
        } else if (strcmp(op, "describe_volumes") == 0) {
                struct opsagent_ec2_volume *vols = NULL;
                size_t n = 0;

                r = aws->ec2_describe_volumes(ctx, strings(spec, "ids", buf), &vols, &n);
                if (r < 0)
                        return report(ctx, op, r);
                ctx_say(ctx, "probe %s ok %zu", op, n);
                for (size_t i = 0; i < n; i++)
                        ctx_say(ctx, "probe %s volume %s state=%s size=%lld", op, vols[i].volume_id, vols[i].state,
                                (long long)vols[i].size_gib);
                aws->ec2_volumes_free(vols, n);
        } else if (strcmp(op, "describe_snapshots") == 0) {
                struct opsagent_ec2_filter f[9] = { { 0 } };
                const char *vals[8][MAX_ITEMS];
                struct opsagent_ec2_snapshot *snaps = NULL;
                size_t n = 0, nf = 0;

                if (json_object_object_get_ex(spec, "filters", &v) && json_object_is_type(v, json_type_object)) {
                        json_object_object_foreach(v, k, vv)
                        {
                                size_t nv = 0;

                                if (nf >= 8)
                                        break;
                                for (size_t i = 0; i < json_object_array_length(vv) && nv < MAX_ITEMS - 1; i++)
                                        vals[nf][nv++] = json_object_get_string(json_object_array_get_idx(vv, i));
                                vals[nf][nv] = NULL;
                                f[nf].name = k;
                                f[nf].values = vals[nf];
                                nf++;
                        }
                }
                r = aws->ec2_describe_snapshots(ctx, nf ? f : NULL, &snaps, &n);
                if (r < 0)
                        return report(ctx, op, r);
                ctx_say(ctx, "probe %s ok %zu", op, n);
                for (size_t i = 0; i < n; i++)
                        say_snapshot(ctx, op, &snaps[i]);
                aws->ec2_snapshots_free(snaps, n);
        } else if (strcmp(op, "create_snapshots_each") == 0) {
                const char **vols = strings(spec, "volumes", buf);
                struct opsagent_ec2_create_snapshot reqs[MAX_ITEMS];
                size_t n = 0, nt = tags(spec, t);
                unsigned parallel = 0;

                if (json_object_object_get_ex(spec, "parallel", &v))
                        parallel = (unsigned)json_object_get_int(v);
                memset(reqs, 0, sizeof(reqs));
                for (; vols && vols[n]; n++) {
                        reqs[n].volume_id = vols[n];
                        reqs[n].description = "aws_probe";
                        reqs[n].tags = t;
                        reqs[n].n_tags = nt;
                }
                r = aws->ec2_create_snapshots_each(ctx, reqs, n, parallel);
                for (size_t i = 0; i < n; i++) {
                        if (reqs[i].result < 0)
                                ctx_say(ctx, "probe %s failed %s %s: %s (request id %s)", op, reqs[i].volume_id,
                                        reqs[i].error.code, reqs[i].error.message, reqs[i].error.request_id);
                        else
                                ctx_say(ctx, "probe %s created %s %s", op, reqs[i].volume_id, reqs[i].snapshot_id);
                        aws->ec2_create_snapshot_clear(&reqs[i]);
                }
                if (r < 0)
                        return report(ctx, op, r);
                ctx_say(ctx, "probe %s ok %zu", op, n);
        } else if (strcmp(op, "create_snapshots_multi") == 0) {
                struct opsagent_ec2_snapshot *snaps = NULL;
                size_t n = 0, nt = tags(spec, t);
                bool exclude_boot = json_object_object_get_ex(spec, "exclude_boot", &v) && json_object_get_boolean(v);

                r = aws->ec2_create_snapshots_multi(ctx, str(spec, "id"), exclude_boot, strings(spec, "exclude", buf),
                                                    "aws_probe multi", t, nt, &snaps, &n);
                if (r < 0)
                        return report(ctx, op, r);
                ctx_say(ctx, "probe %s ok %zu", op, n);
                for (size_t i = 0; i < n; i++)
                        say_snapshot(ctx, op, &snaps[i]);
                aws->ec2_snapshots_free(snaps, n);
        } else if (strcmp(op, "delete_snapshot") == 0) {
                r = aws->ec2_delete_snapshot(ctx, str(spec, "id"));
                if (r < 0)
                        return report(ctx, op, r);
                ctx_say(ctx, "probe %s ok %s", op, str(spec, "id"));
        } else if (strcmp(op, "create_tags") == 0) {
                r = aws->ec2_create_tags(ctx, strings(spec, "ids", buf), t, tags(spec, t));
                if (r < 0)
                        return report(ctx, op, r);
                ctx_say(ctx, "probe %s ok", op);
        } else {
                return ctx_fail(ctx, -EINVAL, "aws_probe: unknown op %s", op);
        }
        return 0;
}

static int probe_run(struct opsagent_ctx *ctx)
{
        json_object *ops = ctx_attr(ctx, "ops");
        int first = 0;

        if (!ctx->aws)
                return ctx_fail(ctx, -ENOTSUP, "aws_probe: this agent has no AWS support");
        ctx_say(ctx, "probe fact id=%s region=%s", ctx_fact(ctx, "id") ? ctx_fact(ctx, "id") : "-",
                ctx_fact(ctx, "region") ? ctx_fact(ctx, "region") : "-");
        for (size_t i = 0; ops && i < json_object_array_length(ops); i++) {
                int r = run_op(ctx, json_object_array_get_idx(ops, i));

                if (r < 0 && first == 0)
                        first = r;
        }
        if (first < 0)
                return ctx_fail(ctx, first, "aws_probe: an AWS call failed: %s: %s",
                                ctx->aws->last_error(ctx)->code, ctx->aws->last_error(ctx)->message);
        return 0;
}

static const char defaults[] = "{\"ops\": []}";
static const char schema[] = "{\"type\": \"object\"}";

OPSAGENT_RECIPE_DESCRIPTOR("aws_probe", "1.0", "Test probe of the AWS calls (tests only)", "aws_probe", defaults,
                           schema, 120, OPSAGENT_RECIPE_NEEDS_INSTANCE, probe_run);
