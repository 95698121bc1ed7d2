/* ebs_snapshots run(): the whole night against a fake context and a fake EC2 held in memory
 * (the integration tests do the same against the AWS stand-in through `opsagent run`). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "ebs_settings.h"
#include "opsagent/aws.h"
#include "opsagent/recipe.h"

extern const struct opsagent_recipe opsagent_recipe;

#define MAXS 2048
#define MAXT 16
#define DAY 86400

struct fsnap {
        char id[32], vol[32], state[16], desc[300];
        int64_t start;
        char keys[MAXT][129], values[MAXT][257];
        size_t n_tags;
        bool in_use;
};

static struct fake {
        /* instance */
        bool have_root_only;
        /* store */
        struct fsnap s[MAXS];
        size_t n;
        unsigned next;
        const char *new_state;            /* state of created snapshots */
        const char *fail_volume;          /* CreateSnapshot fails for it */
        bool fail_describe_snapshots;
        unsigned mutating, describe_calls, multi_calls, tag_calls, tagged;
        unsigned delete_calls;
        struct opsagent_aws_error err;
        /* ctx */
        json_object *attrs;
        char out[65536];
        char fail[1024];
        double m_created, m_deleted, m_failed, m_skipped;
} F;

/* ---- the fake context ---- */

static json_object *f_attr(struct opsagent_ctx *c, const char *path)
{
        json_object *o = F.attrs;
        char buf[256], *save = NULL;

        if (!path || !path[0])
                return o;
        snprintf(buf, sizeof buf, "%s", path);
        for (char *t = strtok_r(buf, ".", &save); t && o; t = strtok_r(NULL, ".", &save))
                if (!json_object_object_get_ex(o, t, &o))
                        return NULL;
        return o;
}
static json_object *f_attr_abs(struct opsagent_ctx *c, const char *path) { return NULL; }
static const char *f_fact(struct opsagent_ctx *c, const char *name)
{
        if (strcmp(name, "hostname") == 0)
                return "web1";
        if (strcmp(name, "id") == 0)
                return "i-0abc";
        return NULL;
}
static void f_logv(struct opsagent_ctx *c, int level, const char *fmt, va_list ap) {}
static void f_sayv(struct opsagent_ctx *c, const char *fmt, va_list ap)
{
        size_t len = strlen(F.out);

        if (len + 2 >= sizeof F.out)
                return;         /* full: the tests look at what comes first */
        vsnprintf(F.out + len, sizeof F.out - len - 1, fmt, ap);
        strcat(F.out, "\n");
}
static int f_failv(struct opsagent_ctx *c, int error, const char *fmt, va_list ap)
{
        vsnprintf(F.fail, sizeof F.fail, fmt, ap);
        return error;
}
static int f_metric(struct opsagent_ctx *c, const char *name, double value, const char *unit)
{
        if (strcmp(name, "SnapshotsCreated") == 0) F.m_created = value;
        else if (strcmp(name, "SnapshotsDeleted") == 0) F.m_deleted = value;
        else if (strcmp(name, "SnapshotsFailed") == 0) F.m_failed = value;
        else if (strcmp(name, "SnapshotsSkipped") == 0) F.m_skipped = value;
        else fail_msg("unexpected metric %s", name);
        return 0;
}
static char *f_path(struct opsagent_ctx *c, const char *path) { return strdup(path); }
/* No root prefix: the root is "/", opened once. */
static int f_root_fd(struct opsagent_ctx *c)
{
        static int fd = -1;

        if (fd < 0)
                fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd;
}

static const struct opsagent_ctx_ops f_ops = {
        .size = sizeof(struct opsagent_ctx_ops),
        .attr = f_attr, .attr_abs = f_attr_abs, .fact = f_fact, .logv = f_logv, .sayv = f_sayv,
        .failv = f_failv, .metric = f_metric, .path = f_path, .root_fd = f_root_fd,
};

/* ---- the fake EC2 ---- */

static char *dup0(const char *s) { char *d = strdup(s ? s : ""); assert_non_null(d); return d; }

static const struct opsagent_aws_error *a_last_error(struct opsagent_ctx *c) { return &F.err; }

static int a_describe_instance(struct opsagent_ctx *c, const char *id, struct opsagent_ec2_instance **ret)
{
        static const char *dev[] = { "/dev/xvda", "/dev/sdf", "/dev/sdg" };
        static const char *vol[] = { "vol-root", "vol-f", "vol-g" };
        struct opsagent_ec2_instance *i = calloc(1, sizeof *i);
        size_t n = F.have_root_only ? 1 : 3;

        i->instance_id = dup0("i-0abc");
        i->root_device_name = dup0("/dev/xvda");
        i->attachments = calloc(n, sizeof *i->attachments);
        for (size_t k = 0; k < n; k++) {
                i->attachments[k].device = dup0(dev[k]);
                i->attachments[k].volume_id = dup0(vol[k]);
                i->attachments[k].status = dup0("attached");
                i->attachments[k].is_root = k == 0;
        }
        i->n_attachments = n;
        *ret = i;
        return 0;
}
static void a_instance_free(struct opsagent_ec2_instance *i)
{
        for (size_t k = 0; k < i->n_attachments; k++) {
                free(i->attachments[k].device);
                free(i->attachments[k].volume_id);
                free(i->attachments[k].status);
        }
        free(i->attachments);
        free(i->instance_id);
        free(i->root_device_name);
        free(i);
}

static const char *tag_of(const struct fsnap *s, const char *key)
{
        for (size_t t = 0; t < s->n_tags; t++)
                if (strcmp(s->keys[t], key) == 0)
                        return s->values[t];
        return NULL;
}

static bool filter_ok(const struct fsnap *s, const struct opsagent_ec2_filter *f)
{
        for (; f && f->name; f++) {
                bool any = false;
                for (const char *const *v = f->values; v && *v; v++) {
                        if (strcmp(f->name, "volume-id") == 0)
                                any = any || strcmp(s->vol, *v) == 0;
                        else if (strncmp(f->name, "tag:", 4) == 0)
                                any = any || (tag_of(s, f->name + 4) && strcmp(tag_of(s, f->name + 4), *v) == 0);
                        else
                                fail_msg("unexpected filter %s", f->name);
                }
                if (!any)
                        return false;
        }
        return true;
}

static int a_describe_snapshots(struct opsagent_ctx *c, const struct opsagent_ec2_filter *f,
                                struct opsagent_ec2_snapshot **ret, size_t *ret_n)
{
        struct opsagent_ec2_snapshot *out = calloc(F.n + 1, sizeof *out);
        size_t n = 0;

        F.describe_calls++;
        if (F.fail_describe_snapshots) {
                free(out);
                snprintf(F.err.operation, sizeof F.err.operation, "DescribeSnapshots");
                snprintf(F.err.code, sizeof F.err.code, "InternalError");
                return -EIO;
        }
        for (size_t i = 0; i < F.n; i++) {
                struct opsagent_ec2_snapshot *o;
                if (!filter_ok(&F.s[i], f))
                        continue;
                o = &out[n++];
                o->snapshot_id = dup0(F.s[i].id);
                o->volume_id = dup0(F.s[i].vol);
                o->state = dup0(F.s[i].state);
                o->start_time = F.s[i].start;
                o->tags = calloc(F.s[i].n_tags + 1, sizeof *o->tags);
                for (size_t t = 0; t < F.s[i].n_tags; t++) {
                        o->tags[t].key = dup0(F.s[i].keys[t]);
                        o->tags[t].value = dup0(F.s[i].values[t]);
                }
                o->n_tags = F.s[i].n_tags;
        }
        *ret = out;
        *ret_n = n;
        return 0;
}
/* Streams the store as the agent does: each snapshot a view, valid during the call only. */
static int a_describe_snapshots_each(struct opsagent_ctx *c, const struct opsagent_ec2_filter *f,
                                     int (*each)(const struct opsagent_ec2_snapshot *, void *), void *userdata)
{
        F.describe_calls++;
        if (F.fail_describe_snapshots) {
                snprintf(F.err.operation, sizeof F.err.operation, "DescribeSnapshots");
                snprintf(F.err.code, sizeof F.err.code, "InternalError");
                return -EIO;
        }
        for (size_t i = 0; i < F.n; i++) {
                struct opsagent_ec2_tag tags[MAXT];
                struct opsagent_ec2_snapshot v = { 0 };
                int r;

                if (!filter_ok(&F.s[i], f))
                        continue;
                for (size_t t = 0; t < F.s[i].n_tags; t++)
                        tags[t] = (struct opsagent_ec2_tag){ F.s[i].keys[t], F.s[i].values[t] };
                v.snapshot_id = F.s[i].id;
                v.volume_id = F.s[i].vol;
                v.state = F.s[i].state;
                v.start_time = F.s[i].start;
                v.tags = tags;
                v.n_tags = F.s[i].n_tags;
                r = each(&v, userdata);
                memset(tags, 0xa5, sizeof tags);     /* what the caller kept must not point here */
                if (r < 0)
                        return r;
        }
        return 0;
}

static void a_snapshots_free(struct opsagent_ec2_snapshot *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(s[i].snapshot_id);
                free(s[i].volume_id);
                free(s[i].state);
                free(s[i].progress);
                free(s[i].description);
                for (size_t t = 0; t < s[i].n_tags; t++) {
                        free(s[i].tags[t].key);
                        free(s[i].tags[t].value);
                }
                free(s[i].tags);
        }
        free(s);
}

static struct fsnap *store_add(const char *vol, const char *state, int64_t start, bool ours)
{
        struct fsnap *s = &F.s[F.n++];

        assert_true(F.n <= MAXS);
        memset(s, 0, sizeof *s);
        snprintf(s->id, sizeof s->id, "snap-%05u", F.next++);
        snprintf(s->vol, sizeof s->vol, "%s", vol);
        snprintf(s->state, sizeof s->state, "%s", state);
        s->start = start;
        if (ours) {
                snprintf(s->keys[0], sizeof s->keys[0], "opsagent:managed");
                snprintf(s->values[0], sizeof s->values[0], "true");
                s->n_tags = 1;
        }
        return s;
}

static int a_create_each(struct opsagent_ctx *c, struct opsagent_ec2_create_snapshot *reqs, size_t n, unsigned par)
{
        int first = 0;

        assert_true(par >= 1);
        for (size_t i = 0; i < n; i++) {
                struct fsnap *s;
                F.mutating++;
                if (F.fail_volume && strcmp(reqs[i].volume_id, F.fail_volume) == 0) {
                        reqs[i].result = -EIO;
                        snprintf(reqs[i].error.operation, sizeof reqs[i].error.operation, "CreateSnapshot");
                        snprintf(reqs[i].error.code, sizeof reqs[i].error.code, "InternalError");
                        snprintf(reqs[i].error.request_id, sizeof reqs[i].error.request_id, "req-42");
                        first = first ? first : -EIO;
                        continue;
                }
                s = store_add(reqs[i].volume_id, F.new_state, (int64_t)time(NULL), false);
                snprintf(s->desc, sizeof s->desc, "%s", reqs[i].description ? reqs[i].description : "");
                assert_true(reqs[i].n_tags <= MAXT);
                for (size_t t = 0; t < reqs[i].n_tags; t++) {
                        snprintf(s->keys[t], sizeof s->keys[t], "%s", reqs[i].tags[t].key);
                        snprintf(s->values[t], sizeof s->values[t], "%s", reqs[i].tags[t].value);
                }
                s->n_tags = reqs[i].n_tags;
                reqs[i].result = 0;
                reqs[i].snapshot_id = dup0(s->id);
                reqs[i].start_time = s->start;
        }
        return first;
}
static void a_create_clear(struct opsagent_ec2_create_snapshot *r)
{
        free(r->snapshot_id);
        r->snapshot_id = NULL;
}

static int a_create_multi(struct opsagent_ctx *c, const char *instance_id, bool exclude_boot,
                          const char *const *exclude, const char *desc, const struct opsagent_tag *tags, size_t n_tags,
                          struct opsagent_ec2_snapshot **ret, size_t *ret_n)
{
        static const char *vol[] = { "vol-root", "vol-f", "vol-g" };
        struct opsagent_ec2_snapshot *out = calloc(3, sizeof *out);
        size_t n = 0;

        F.mutating++;
        F.multi_calls++;
        assert_string_equal(instance_id, "i-0abc");
        for (int k = 0; k < 3; k++) {
                bool skip = k == 0 && exclude_boot;
                struct fsnap *s;
                for (const char *const *e = exclude; e && *e; e++)
                        skip = skip || strcmp(*e, vol[k]) == 0;
                if (skip)
                        continue;
                s = store_add(vol[k], F.new_state, (int64_t)time(NULL), false);
                for (size_t t = 0; t < n_tags; t++) {
                        snprintf(s->keys[t], sizeof s->keys[t], "%s", tags[t].key);
                        snprintf(s->values[t], sizeof s->values[t], "%s", tags[t].value);
                }
                s->n_tags = n_tags;
                out[n].snapshot_id = dup0(s->id);
                out[n].volume_id = dup0(s->vol);
                out[n].state = dup0(s->state);
                out[n].start_time = s->start;
                n++;
        }
        *ret = out;
        *ret_n = n;
        return 0;
}

static struct fsnap *find(const char *id)
{
        for (size_t i = 0; i < F.n; i++)
                if (strcmp(F.s[i].id, id) == 0)
                        return &F.s[i];
        return NULL;
}

static int a_create_tags(struct opsagent_ctx *c, const char *const *ids, const struct opsagent_tag *tags, size_t n)
{
        F.mutating++;
        F.tag_calls++;
        for (const char *const *id = ids; *id; id++) {
                struct fsnap *s = find(*id);
                assert_non_null(s);
                assert_true(id - ids < 1000);   /* AWS's limit per call */
                F.tagged++;
                for (size_t t = 0; t < n; t++) {
                        bool done = false;
                        for (size_t k = 0; k < s->n_tags; k++)
                                if (strcmp(s->keys[k], tags[t].key) == 0) {
                                        snprintf(s->values[k], sizeof s->values[k], "%s", tags[t].value);
                                        done = true;
                                }
                        if (!done) {
                                assert_true(s->n_tags < MAXT);
                                snprintf(s->keys[s->n_tags], sizeof s->keys[0], "%s", tags[t].key);
                                snprintf(s->values[s->n_tags], sizeof s->values[0], "%s", tags[t].value);
                                s->n_tags++;
                        }
                }
        }
        return 0;
}

static int a_delete(struct opsagent_ctx *c, const char *id)
{
        struct fsnap *s = find(id);

        F.mutating++;
        F.delete_calls++;
        if (!s)
                return -ENOENT;
        if (s->in_use)
                return -EBUSY;
        *s = F.s[--F.n];
        return 0;
}

static const struct opsagent_aws_ops a_ops = {
        .size = sizeof(struct opsagent_aws_ops),
        .last_error = a_last_error,
        .ec2_describe_instance = a_describe_instance,
        .ec2_instance_free = a_instance_free,
        .ec2_describe_snapshots = a_describe_snapshots,
        .ec2_snapshots_free = a_snapshots_free,
        .ec2_create_snapshots_each = a_create_each,
        .ec2_create_snapshot_clear = a_create_clear,
        .ec2_create_snapshots_multi = a_create_multi,
        .ec2_delete_snapshot = a_delete,
        .ec2_create_tags = a_create_tags,
        .ec2_describe_snapshots_each = a_describe_snapshots_each,
};

/* ---- helpers ---- */

static int setup(void **state)
{
        memset(&F, 0, sizeof F);
        F.new_state = "completed";
        F.attrs = json_tokener_parse(ebs_defaults_json);
        assert_non_null(F.attrs);
        return 0;
}

static int teardown(void **state)
{
        json_object_put(F.attrs);
        return 0;
}

static void set_attrs(const char *overlay)
{
        json_object *o = json_tokener_parse(overlay);

        assert_non_null(o);
        json_object_object_foreach(o, k, v) json_object_object_add(F.attrs, k, json_object_get(v));
        json_object_put(o);
}

static int night(bool dry_run)
{
        struct opsagent_ctx ctx = {
                .size = sizeof ctx, .recipe = "ebs_snapshots", .run_id = "test", .root = "",
                .state_dir = "/tmp", .agent_state_dir = "/tmp", .log_dir = NULL, .dry_run = dry_run,
                .ops = &f_ops, .aws = &a_ops,
        };

        F.out[0] = '\0';
        F.fail[0] = '\0';
        return opsagent_recipe.run(&ctx);
}

static size_t count(const char *vol, bool ours)
{
        size_t c = 0;

        for (size_t i = 0; i < F.n; i++)
                if (strcmp(F.s[i].vol, vol) == 0 && (tag_of(&F.s[i], "opsagent:managed") != NULL) == ours)
                        c++;
        return c;
}

/* ---- tests ---- */

static void test_descriptor(void **state)
{
        assert_int_equal(opsagent_recipe.abi, OPSAGENT_RECIPE_ABI);
        assert_string_equal(opsagent_recipe.name, "ebs_snapshots");
        assert_string_equal(opsagent_recipe.attr_root, "ebs_snapshots");
        assert_true(opsagent_recipe.flags & OPSAGENT_RECIPE_NEEDS_INSTANCE);
        {
                json_object *schema = json_tokener_parse(opsagent_recipe.schema_json);
                json_object *defaults = json_tokener_parse(opsagent_recipe.defaults_json);
                assert_non_null(schema);
                assert_non_null(defaults);
                json_object_put(schema);
                json_object_put(defaults);
        }
}

/* keep=2 over five nights on three volumes; a manual snapshot of vol-f survives every night. */
static void test_nights_keep(void **state)
{
        int64_t now = (int64_t)time(NULL);

        set_attrs("{\"keep\": 2}");
        store_add("vol-f", "completed", now - 400 * DAY, false);
        for (int i = 0; i < 5; i++) {
                /* yesterday's snapshots look a day older tonight */
                for (size_t k = 0; k < F.n; k++)
                        F.s[k].start -= DAY;
                assert_int_equal(night(false), 0);
                assert_int_equal(F.m_created, 3);
                assert_int_equal(F.m_failed, 0);
                assert_int_equal(count("vol-root", true), i < 1 ? 1 : 2);
                assert_int_equal(count("vol-f", true), i < 1 ? 1 : 2);
                assert_int_equal(count("vol-g", true), i < 1 ? 1 : 2);
                assert_int_equal(count("vol-f", false), 1);
                assert_int_equal(F.m_deleted, i < 2 ? 0 : 3);
        }
        assert_non_null(strstr(F.out, "deleted: beyond keep=2"));
}

/* Tags and description of a created snapshot. */
static void test_tags_and_description(void **state)
{
        set_attrs("{\"tags\": {\"Team\": \"ops\"}, \"devices\": [\"xvdf\"]}");
        assert_int_equal(night(false), 0);
        assert_int_equal(F.n, 1);
        assert_string_equal(F.s[0].vol, "vol-f");
        assert_string_equal(tag_of(&F.s[0], "opsagent:managed"), "true");
        assert_string_equal(tag_of(&F.s[0], "opsagent:instance-id"), "i-0abc");
        assert_string_equal(tag_of(&F.s[0], "opsagent:device"), "/dev/sdf");
        assert_string_equal(tag_of(&F.s[0], "opsagent:hostname"), "web1");
        assert_string_equal(tag_of(&F.s[0], "Team"), "ops");
        assert_string_equal(F.s[0].desc, "web1: automated snapshot of /dev/sdf (vol-f)");
        assert_non_null(strstr(F.out, "volume /dev/xvda vol-root: skip: not listed in devices"));
}

/* --dry-run: the plan is printed, nothing is created or deleted. */
static void test_dry_run_makes_no_mutating_call(void **state)
{
        int64_t now = (int64_t)time(NULL);

        set_attrs("{\"keep\": 1}");
        for (int i = 1; i <= 3; i++)
                store_add("vol-g", "completed", now - i * DAY, true);
        assert_int_equal(night(true), 0);
        assert_int_equal(F.mutating, 0);
        assert_int_equal(F.n, 3);
        assert_non_null(strstr(F.out, "volume /dev/sdg vol-g: would create a snapshot"));
        assert_non_null(strstr(F.out, "would delete: beyond keep=1"));
        assert_non_null(strstr(F.out, "dry run"));
}

/* CreateSnapshot fails for one volume: the others are snapshotted and pruned, that volume's
 * old snapshots are all kept, and the run fails naming it. */
static void test_create_failure_isolated(void **state)
{
        int64_t now = (int64_t)time(NULL);

        set_attrs("{\"keep\": 2}");
        for (int i = 1; i <= 3; i++) {
                store_add("vol-g", "completed", now - i * DAY, true);
                store_add("vol-f", "completed", now - i * DAY, true);
        }
        F.fail_volume = "vol-g";
        assert_int_equal(night(false), -EIO);
        assert_int_equal(count("vol-g", true), 3);
        assert_int_equal(count("vol-f", true), 2);
        assert_int_equal(F.m_created, 2);
        assert_int_equal(F.m_failed, 1);
        assert_int_equal(F.m_deleted, 2);
        assert_non_null(strstr(F.fail, "/dev/sdg (vol-g)"));
        assert_null(strstr(F.fail, "vol-f"));
        assert_non_null(strstr(F.out, "InternalError"));
        assert_non_null(strstr(F.out, "req-42"));
}

/* keep=1 while tonight's snapshot may still be pending: yesterday's stays until a newer one
 * has completed. */
static void test_keep_one_keeps_last_completed(void **state)
{
        int64_t now = (int64_t)time(NULL);

        set_attrs("{\"keep\": 1, \"devices\": [\"/dev/sdf\"]}");
        store_add("vol-f", "completed", now - 2 * DAY, true);
        store_add("vol-f", "completed", now - 1 * DAY, true);
        assert_int_equal(night(false), 0);
        assert_int_equal(count("vol-f", true), 2);
        assert_non_null(strstr(F.out, "newest completed snapshot"));
}

/* A snapshot used by an AMI: warning, kept, the run succeeds. */
static void test_in_use_is_a_warning(void **state)
{
        int64_t now = (int64_t)time(NULL);

        set_attrs("{\"keep\": 2, \"devices\": [\"/dev/sdf\"]}");
        store_add("vol-f", "completed", now - 3 * DAY, true)->in_use = true;
        store_add("vol-f", "completed", now - 2 * DAY, true);
        store_add("vol-f", "completed", now - 1 * DAY, true);
        assert_int_equal(night(false), 0);
        assert_int_equal(count("vol-f", true), 3); /* in-use one, yesterday's, tonight's */
        assert_int_equal(F.m_deleted, 1);
        assert_non_null(strstr(F.out, "in use by an AMI"));
        assert_string_equal(F.fail, "");
}

/* A volume whose last snapshot is still pending is skipped (and counted), unless told not to. */
static void test_skip_pending(void **state)
{
        int64_t now = (int64_t)time(NULL);

        store_add("vol-f", "pending", now - 3600, true);
        store_add("vol-g", "pending", now - 3600, false); /* someone else's: does not count */
        assert_int_equal(night(false), 0);
        assert_int_equal(F.m_skipped, 1);
        assert_int_equal(F.m_created, 2);
        assert_int_equal(count("vol-f", true), 1);
        assert_non_null(strstr(F.out, "volume /dev/sdf vol-f: skip: snapshot"));
        assert_non_null(strstr(F.out, "still pending"));

        set_attrs("{\"skip_pending\": false}");
        assert_int_equal(night(false), 0);
        assert_int_equal(F.m_skipped, 0);
        assert_int_equal(count("vol-f", true), 2);
}

/* Multi-volume: one CreateSnapshots without the boot volume, then each snapshot gets its
 * device tag; retention runs per volume. */
static void test_multi_volume(void **state)
{
        int64_t now = (int64_t)time(NULL);
        unsigned first_new;

        set_attrs("{\"mode\": \"multi-volume\", \"include_root\": false, \"keep\": 2}");
        store_add("vol-f", "completed", now - 2 * DAY, true);
        store_add("vol-f", "completed", now - DAY, true);
        first_new = F.next;
        assert_int_equal(night(false), 0);
        assert_int_equal(F.multi_calls, 1);
        assert_int_equal(count("vol-root", true), 0);
        assert_int_equal(count("vol-f", true), 2);
        assert_int_equal(count("vol-g", true), 1);
        assert_int_equal(F.tag_calls, 2);
        for (size_t i = 0; i < F.n; i++) {
                if ((unsigned)atoi(F.s[i].id + 5) < first_new)
                        continue;
                assert_non_null(tag_of(&F.s[i], "opsagent:device"));
                assert_string_equal(tag_of(&F.s[i], "opsagent:device"),
                                    strcmp(F.s[i].vol, "vol-f") == 0 ? "/dev/sdf" : "/dev/sdg");
                assert_string_equal(tag_of(&F.s[i], "opsagent:managed"), "true");
        }
        assert_int_equal(F.m_deleted, 1);
}

/* Adds KEY=VALUE to S. */
static void add_tag(struct fsnap *s, const char *key, const char *value)
{
        assert_true(s->n_tags < MAXT);
        snprintf(s->keys[s->n_tags], sizeof s->keys[0], "%s", key);
        snprintf(s->values[s->n_tags], sizeof s->values[0], "%s", value);
        s->n_tags++;
}

/* A snapshot as a multi-volume run killed between CreateSnapshots and its CreateTags leaves it:
 * the set's tags, no device, Name the host name. */
static struct fsnap *interrupted(const char *vol, int64_t start)
{
        struct fsnap *s = store_add(vol, "completed", start, true);

        add_tag(s, "Name", "web1");
        add_tag(s, "opsagent:hostname", "web1");
        add_tag(s, "opsagent:run-id", "killed-run");
        return s;
}

/* Issue 15, item 3: the next run (in either mode) gives the snapshots a killed multi-volume run
 * left their device and Name; snapshots it did not make (no run id, or not ours) are left as
 * they are. */
static void test_interrupted_multi_volume_tags_completed(void **state)
{
        int64_t now = (int64_t)time(NULL);
        struct fsnap *f, *g, *manual, *legacy;

        set_attrs("{\"keep\": 5}");
        f = interrupted("vol-f", now - DAY);
        g = interrupted("vol-g", now - DAY);
        manual = store_add("vol-f", "completed", now - 2 * DAY, false);
        add_tag(manual, "opsagent:run-id", "not-ours");
        legacy = store_add("vol-g", "completed", now - 3 * DAY, true);      /* ours, from before run ids */
        assert_int_equal(night(false), 0);
        f = find("snap-00000");
        g = find("snap-00001");
        assert_non_null(f);
        assert_non_null(g);
        assert_string_equal(tag_of(f, "opsagent:device"), "/dev/sdf");
        assert_string_equal(tag_of(f, "Name"), "web1 /dev/sdf");
        assert_string_equal(tag_of(g, "opsagent:device"), "/dev/sdg");
        assert_string_equal(tag_of(g, "Name"), "web1 /dev/sdg");
        assert_null(tag_of(find("snap-00002"), "opsagent:device"));
        assert_null(tag_of(find("snap-00003"), "opsagent:device"));
        (void)manual;
        (void)legacy;
        assert_non_null(strstr(F.out, "volume /dev/sdf vol-f: tagged 1 snapshot of an interrupted run"));
        /* done: the next night has nothing to complete */
        F.tag_calls = 0;
        assert_int_equal(night(false), 0);
        assert_int_equal(F.tag_calls, 0);
        assert_null(strstr(F.out, "interrupted run"));
}

/* A Name of the user's is never replaced; a dry run only says what it would tag. */
static void test_interrupted_tags_user_name_and_dry_run(void **state)
{
        int64_t now = (int64_t)time(NULL);

        set_attrs("{\"tags\": {\"Name\": \"nightly\"}, \"devices\": [\"/dev/sdf\"]}");
        snprintf(interrupted("vol-f", now - DAY)->values[1], sizeof F.s[0].values[1], "nightly");   /* its Name */
        assert_int_equal(night(true), 0);
        assert_int_equal(F.mutating, 0);
        assert_non_null(strstr(F.out, "would tag 1 snapshot of an interrupted run with the device (snap-00000)"));
        assert_int_equal(night(false), 0);
        assert_string_equal(tag_of(find("snap-00000"), "opsagent:device"), "/dev/sdf");
        assert_string_equal(tag_of(find("snap-00000"), "Name"), "nightly");
}

/* More snapshots to complete than one CreateTags takes: batches of EBS_TAG_IDS_MAX. */
static void test_interrupted_tags_in_batches(void **state)
{
        int64_t now = (int64_t)time(NULL);

        set_attrs("{\"max_age_days\": 30, \"devices\": [\"/dev/sdf\"]}");
        for (int i = 0; i < 1000 + 1; i++)    /* EBS_TAG_IDS_MAX + 1 */
                interrupted("vol-f", now - DAY - i);
        assert_int_equal(night(false), 0);
        assert_int_equal(F.tag_calls, 2);
        assert_int_equal(F.tagged, 1001);
        for (size_t i = 0; i < F.n; i++)
                assert_string_equal(tag_of(&F.s[i], "opsagent:device"), "/dev/sdf");
}

/* A snapshot id longer than retention keeps (RETENTION_ID_MAX - 1 bytes) is never deleted: it
 * could not be named whole; one that fits is. */
static void test_snapshot_id_too_long_is_left_alone(void **state)
{
        int64_t now = (int64_t)time(NULL);
        struct fsnap *fits, *too_long;

        set_attrs("{\"keep\": 1, \"devices\": [\"/dev/sdf\"]}");
        fits = store_add("vol-f", "completed", now - 3 * DAY, true);
        snprintf(fits->id, sizeof fits->id, "snap-0123456789abcdef0");        /* 22 bytes: AWS's */
        too_long = store_add("vol-f", "completed", now - 4 * DAY, true);
        snprintf(too_long->id, sizeof too_long->id, "snap-0123456789abcdef0123");  /* 25 bytes */
        store_add("vol-f", "completed", now - 1 * DAY, true);
        assert_int_equal(night(false), 0);
        assert_null(find("snap-0123456789abcdef0"));
        assert_non_null(find("snap-0123456789abcdef0123"));
        assert_non_null(strstr(F.out, "its id is empty or longer than 23 bytes: left alone"));
        assert_int_equal(F.delete_calls, 1);   /* the one that fits (yesterday's is the newest completed) */
}

/* Nothing to snapshot (every volume pending or excluded): no create call at all, in either mode. */
static void test_nothing_to_create(void **state)
{
        set_attrs("{\"mode\": \"multi-volume\", \"devices\": [\"/dev/sdf\"]}");
        store_add("vol-f", "pending", (int64_t)time(NULL) - 60, true);
        assert_int_equal(night(false), 0);
        assert_int_equal(F.mutating, 0);
        assert_int_equal(F.m_skipped, 1);
}

/* A device listed in devices but not attached fails the run; the others are still done. */
static void test_unattached_device_fails(void **state)
{
        set_attrs("{\"devices\": [\"/dev/sdf\", \"/dev/sdq\"]}");
        assert_int_equal(night(false), -EIO);
        assert_int_equal(count("vol-f", true), 1);
        assert_non_null(strstr(F.fail, "/dev/sdq"));
}

/* DescribeSnapshots fails: snapshots are still taken, nothing is deleted, the run fails. */
static void test_list_failure_still_snapshots(void **state)
{
        int64_t now = (int64_t)time(NULL);

        set_attrs("{\"keep\": 1}");
        store_add("vol-f", "completed", now - 2 * DAY, true);
        store_add("vol-f", "completed", now - 1 * DAY, true);
        F.fail_describe_snapshots = true;
        assert_int_equal(night(false), -EIO);
        assert_int_equal(F.m_created, 3);
        assert_int_equal(F.delete_calls, 0);
        assert_non_null(strstr(F.fail, "could not be listed"));
}

/* A bad attribute is one clear line naming the key; nothing is called. */
static void test_bad_config(void **state)
{
        set_attrs("{\"tags\": {\"opsagent:managed\": \"no\"}}");
        assert_int_equal(night(false), -EINVAL);
        assert_non_null(strstr(F.fail, "ebs_snapshots.tags.opsagent:managed"));
        assert_int_equal(F.mutating + F.describe_calls, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_descriptor),
                cmocka_unit_test_setup_teardown(test_nights_keep, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tags_and_description, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dry_run_makes_no_mutating_call, setup, teardown),
                cmocka_unit_test_setup_teardown(test_create_failure_isolated, setup, teardown),
                cmocka_unit_test_setup_teardown(test_keep_one_keeps_last_completed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_in_use_is_a_warning, setup, teardown),
                cmocka_unit_test_setup_teardown(test_skip_pending, setup, teardown),
                cmocka_unit_test_setup_teardown(test_multi_volume, setup, teardown),
                cmocka_unit_test_setup_teardown(test_interrupted_multi_volume_tags_completed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_interrupted_tags_user_name_and_dry_run, setup, teardown),
                cmocka_unit_test_setup_teardown(test_interrupted_tags_in_batches, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot_id_too_long_is_left_alone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nothing_to_create, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unattached_device_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list_failure_still_snapshots, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
        };
        return cmocka_run_group_tests_name("ebs_run", tests, NULL, NULL);
}
