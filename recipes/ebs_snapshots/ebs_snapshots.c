/* Recipe ebs_snapshots: nightly snapshots of this instance's EBS volumes, with retention that
 * never deletes what opsagent did not create.
 *
 * One run: DescribeInstances -> select volumes -> DescribeSnapshots (ours, those volumes, every
 * page, streamed into 16 bytes per snapshot) -> complete the tags a killed run left -> skip volumes with a pending snapshot -> freeze (opt-in) -> CreateSnapshot per volume
 * (or one CreateSnapshots) -> thaw -> retention per volume whose snapshot was created. One
 * volume's failure does not stop the others; the run fails naming them. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "opsagent/aws.h"
#include "opsagent/recipe.h"

#include "ebs_devmap.h"
#include "ebs_freeze.h"
#include "ebs_retention.h"
#include "ebs_settings.h"
#include "ebs_volumes.h"

#define EBS_CREATE_PARALLEL 4      /* CreateSnapshot calls in flight */
#define EBS_TIME_BUDGET 1800       /* seconds, unless ebs_snapshots.time_budget_seconds says */
#define EBS_FAILED_LIST_MAX 1024   /* bytes of the "failed: ..." summary */
#define EBS_PROGRESS_MAX 16        /* bytes of a snapshot's progress kept ("42%") */

enum vol_state {
        VOL_SKIPPED = 0,  /* not selected, or skip_pending */
        VOL_CREATE,       /* to be snapshotted */
        VOL_CREATED,
        VOL_FAILED,
};

struct vol {
        struct ebs_target *t;
        enum vol_state state;
        bool counted_skip;                 /* SnapshotsSkipped counts skip_pending only */
        char *snapshot_id;                 /* created (owned) */
        int64_t start_time;
        struct retention_snap *snaps;      /* its snapshots as retention needs them (owned), tonight's last */
        size_t n_snaps, cap_snaps;
        struct {                           /* the first pending snapshot of ours listed, for skip_pending */
                bool found;
                char id[RETENTION_ID_MAX];
                int64_t start_time;
                char progress[EBS_PROGRESS_MAX];
        } pending;
};

/* The recipe's own bits in struct retention_snap's flags (RETENTION_CALLER_FLAGS). */
#define SNAP_TAGS_INCOMPLETE 0x10  /* ours, with a run id, but no device tag: a killed multi-volume run */
#define SNAP_RENAME 0x20           /* ... and its Name is still the host name the set got */

struct run {
        struct opsagent_ctx *ctx;
        const struct opsagent_aws_ops *aws;
        struct ebs_config cfg;
        struct opsagent_ec2_instance *inst;
        const char *hostname;
        char hostbuf[256];
        struct ebs_target *targets;
        size_t n_targets;
        struct ebs_unmatched *unmatched;
        size_t n_unmatched;
        struct vol *vols;
        size_t last_vol;                     /* the volume the last listed snapshot was of */
        bool listed;                         /* DescribeSnapshots succeeded */
        unsigned created, deleted, failed, skipped;
        char failed_list[EBS_FAILED_LIST_MAX];
        int frz_fds[FREEZE_PATHS_MAX];       /* the mountpoints to freeze, opened beneath the root */
        size_t n_frz_fds;
};

static const char *say_time(int64_t t, char *buf, size_t size)
{
        time_t tt = (time_t)t;
        struct tm tm;

        if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "%" PRId64, t);
        return buf;
}

/* AWS refused the call for want of a permission (not: failed, throttled, unreachable). */
static bool is_permission_error(const struct opsagent_aws_error *e)
{
        return strcmp(e->code, "UnauthorizedOperation") == 0 || strcmp(e->code, "AccessDenied") == 0 ||
               strcmp(e->code, "AccessDeniedException") == 0;
}

/* "CreateSnapshot: InvalidVolume.NotFound: ... (request id ...)" into BUF; for a permission
 * error, the IAM action that is missing. */
static const char *aws_error_text(const struct opsagent_aws_error *e, int r, char *buf, size_t size)
{
        size_t len;

        if (e && (e->code[0] || e->message[0]))
                snprintf(buf, size, "%s%s%s%s%s%s%s", e->operation[0] ? e->operation : "AWS",
                         e->code[0] ? ": " : "", e->code, e->message[0] ? ": " : "", e->message,
                         e->request_id[0] ? " (request id " : "", e->request_id[0] ? e->request_id : "");
        else
                snprintf(buf, size, "%s", strerror(-r));
        if (e && e->request_id[0] && strlen(buf) + 2 < size)
                strcat(buf, ")");
        len = strlen(buf);
        if (e && e->operation[0] && is_permission_error(e) && len < size)
                snprintf(buf + len, size - len, " (the IAM user or role needs ec2:%s)", e->operation);
        return buf;
}

static const char *last_error_text(struct run *R, int r, char *buf, size_t size)
{
        return aws_error_text(R->aws->last_error ? R->aws->last_error(R->ctx) : NULL, r, buf, size);
}

static void mark_failed(struct run *R, struct vol *v)
{
        size_t len = strlen(R->failed_list);

        snprintf(R->failed_list + len, sizeof R->failed_list - len, "%s%s (%s)", len ? ", " : "",
                 v->t->device ? v->t->device : "?", v->t->volume_id ? v->t->volume_id : "?");
}

static void say_failure(struct run *R, struct vol *v, const char *fmt, va_list ap)
{
        char msg[1024];

        vsnprintf(msg, sizeof msg, fmt, ap);
        ctx_say(R->ctx, "volume %s %s: FAILED: %s", v->t->device, v->t->volume_id, msg);
        mark_failed(R, v);
}

/* Tonight's snapshot of V could not be made: counted in SnapshotsFailed. */
static void fail_volume(struct run *R, struct vol *v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_volume(struct run *R, struct vol *v, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        say_failure(R, v, fmt, ap);
        va_end(ap);
        v->state = VOL_FAILED;
        R->failed++;
}

/* Something after the snapshot went wrong (retention): the run fails, the snapshot stands. */
static void fail_after(struct run *R, struct vol *v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_after(struct run *R, struct vol *v, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        say_failure(R, v, fmt, ap);
        va_end(ap);
}

/* devices/exclude_devices entries naming NVMe disks, resolved to volume ids through sysfs:
 * {name, volume id, ..., NULL}. */
static char **nvme_map(struct run *R)
{
        const char **lists[2] = { R->cfg.devices, R->cfg.exclude_devices };
        size_t counts[2] = { R->cfg.n_devices, R->cfg.n_exclude_devices };
        size_t n = 0, cap = 2 * (R->cfg.n_devices + R->cfg.n_exclude_devices) + 1;
        char **map = calloc(cap, sizeof *map);

        if (!map)
                return NULL;
        for (int l = 0; l < 2; l++)
                for (size_t i = 0; i < counts[l]; i++) {
                        const char *e = lists[l][i];
                        char vol[128];

                        if (strncmp(e, "/dev/", 5) == 0)
                                e += 5;
                        if (strncmp(e, "nvme", 4) != 0)
                                continue;
                        if (devmap_volume_of_nvme(ctx_root_fd(R->ctx), e, vol, sizeof vol) < 0) {
                                ctx_log(R->ctx, OPSAGENT_LOG_WARNING, "%s: not an EBS NVMe disk on this instance", e);
                                continue;
                        }
                        map[n] = strdup(e);
                        map[n + 1] = strdup(vol);
                        if (!map[n] || !map[n + 1]) {
                                free(map[n]);
                                free(map[n + 1]);
                                map[n] = map[n + 1] = NULL;
                                continue;
                        }
                        n += 2;
                }
        return map;
}

static const char *snap_tag(const struct opsagent_ec2_snapshot *s, const char *key)
{
        for (size_t i = 0; i < s->n_tags; i++)
                if (s->tags[i].key && strcmp(s->tags[i].key, key) == 0)
                        return s->tags[i].value ? s->tags[i].value : "";
        return NULL;
}

/* Whether S is ours (managed, with a run id) but its tags were never completed: a
 * multi-volume set tags each snapshot's device after CreateSnapshots, and a run killed in
 * between leaves them without. *ret_name: its Name is still the one the set got (the host
 * name), so it gets "HOST DEVICE" too. */
static bool tags_incomplete(const struct run *R, const struct opsagent_ec2_snapshot *s, bool *ret_name)
{
        const char *name = snap_tag(s, "Name"), *host = snap_tag(s, EBS_TAG_HOSTNAME);
        bool user_name = false;

        if (!retention_is_managed(s) || !snap_tag(s, EBS_TAG_RUN_ID) || snap_tag(s, EBS_TAG_DEVICE))
                return false;
        for (size_t i = 0; i < R->cfg.n_tags; i++)
                user_name = user_name || strcmp(R->cfg.tags[i].key, "Name") == 0;
        *ret_name = !user_name && (!name || (host && strcmp(name, host) == 0));
        return true;
}

/* The target volume VOLUME_ID is tonight's, or NULL. */
static struct vol *vol_of(struct run *R, const char *volume_id)
{
        if (!volume_id)
                return NULL;
        if (R->last_vol < R->n_targets && strcmp(R->targets[R->last_vol].volume_id, volume_id) == 0)
                return &R->vols[R->last_vol];
        for (size_t i = 0; i < R->n_targets; i++)
                if (R->targets[i].volume_id && strcmp(R->targets[i].volume_id, volume_id) == 0) {
                        R->last_vol = i;
                        return &R->vols[i];
                }
        return NULL;
}

/* A free record at the end of V's snapshots (zeroed), or NULL on ENOMEM. */
static struct retention_snap *vol_add(struct vol *v)
{
        if (v->n_snaps == v->cap_snaps) {
                size_t nc = v->cap_snaps ? v->cap_snaps * 2 : 16;
                struct retention_snap *g = realloc(v->snaps, nc * sizeof *g);

                if (!g)
                        return NULL;
                v->snaps = g;
                v->cap_snaps = nc;
        }
        memset(&v->snaps[v->n_snaps], 0, sizeof v->snaps[0]);
        return &v->snaps[v->n_snaps++];
}

static void vol_free_snaps(struct vol *v)
{
        for (size_t i = 0; i < v->n_snaps; i++)
                retention_snap_clear(&v->snaps[i]);
        free(v->snaps);
        v->snaps = NULL;
        v->n_snaps = v->cap_snaps = 0;
}

/* One listed snapshot (borrowed for this call only): what retention, skip_pending and the tag
 * repair need of it is kept in its volume's records. */
static int on_snapshot(const struct opsagent_ec2_snapshot *s, void *userdata)
{
        struct run *R = userdata;
        struct vol *v = vol_of(R, s->volume_id);
        struct retention_snap *x;
        bool rename = false;

        if (!v)
                return 0;   /* not one of tonight's volumes */
        x = vol_add(v);
        if (!x)
                return -ENOMEM;
        x->start_time = retention_time_of(s->start_time);
        if (retention_snap_set_id(x, s->snapshot_id) < 0) {
                v->n_snaps--;
                return -ENOMEM;
        }
        x->state = (uint8_t)retention_state_of(s->state);
        if (retention_is_managed(s))
                x->flags |= RETENTION_MANAGED;
        if (tags_incomplete(R, s, &rename))
                x->flags |= SNAP_TAGS_INCOMPLETE | (rename ? SNAP_RENAME : 0);
        if (!v->pending.found && x->state == RETENTION_STATE_PENDING && (x->flags & RETENTION_MANAGED)) {
                char idbuf[RETENTION_ID_MAX];

                v->pending.found = true;
                snprintf(v->pending.id, sizeof v->pending.id, "%s", retention_snap_id(x, idbuf));
                v->pending.start_time = s->start_time;
                snprintf(v->pending.progress, sizeof v->pending.progress, "%s",
                         s->progress && *s->progress ? s->progress : "no progress yet");
        }
        return 0;
}

static int list_snapshots(struct run *R)
{
        const char **ids = NULL;
        size_t n = 0;
        static const char *const managed[] = { "true", NULL };
        struct opsagent_ec2_filter filters[3] = {
                { "tag:" EBS_TAG_MANAGED, managed },
                { "volume-id", NULL },
                { NULL, NULL },
        };
        char err[1024];
        int r;

        ids = calloc(R->n_targets + 1, sizeof *ids);
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < R->n_targets; i++)
                if (R->vols[i].state == VOL_CREATE)
                        ids[n++] = R->targets[i].volume_id;
        if (n == 0) {
                free(ids);
                R->listed = true;
                return 0;
        }
        filters[1].values = ids;
        /* Streamed: each snapshot is kept as the 16 bytes retention needs, never as a document. */
        r = R->aws->ec2_describe_snapshots_each(R->ctx, filters, on_snapshot, R);
        free(ids);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                ctx_say(R->ctx, "cannot list existing snapshots: %s; snapshots are still taken, retention "
                        "does not run tonight", last_error_text(R, r, err, sizeof err));
                return r;
        }
        R->listed = true;
        return 0;
}

/* Tags IDS (N of them) with V's device (and Name, when WITH_NAME), in batches that CreateTags
 * takes. 0, or the first failure (said). */
static int tag_with_device(struct run *R, struct vol *v, const char **ids, size_t n, bool with_name)
{
        struct ebs_tagset own;
        struct opsagent_tag per[2];
        size_t np = 0;
        char err[1024];
        int r = 0;

        ebs_build_tags(&R->cfg, R->inst->instance_id, R->hostname, v->t->device, NULL, &own);
        for (size_t t = 0; t < own.n; t++)
                if (strcmp(own.tags[t].key, EBS_TAG_DEVICE) == 0 ||
                    (with_name && strcmp(own.tags[t].key, "Name") == 0 && own.tags[t].value == own.name))
                        per[np++] = own.tags[t];
        for (size_t done = 0; done < n && r >= 0; done += EBS_TAG_IDS_MAX) {
                size_t k = n - done < EBS_TAG_IDS_MAX ? n - done : EBS_TAG_IDS_MAX;
                const char *saved = ids[done + k];

                ids[done + k] = NULL;   /* the op takes a NULL-terminated batch */
                r = R->aws->ec2_create_tags(R->ctx, ids + done, per, np);
                ids[done + k] = saved;
        }
        if (r < 0)
                ctx_say(R->ctx, "volume %s %s: warning: cannot tag %s%s with its device: %s", v->t->device,
                        v->t->volume_id, ids[0], n > 1 ? " and others" : "", last_error_text(R, r, err, sizeof err));
        return r;
}

/* The snapshots of ours that a killed multi-volume run left without their device tag get it
 * now (and their Name), whatever tonight's mode: found by their opsagent:run-id. */
static int complete_tags(struct run *R)
{
        for (size_t i = 0; i < R->n_targets; i++) {
                struct vol *v = &R->vols[i];
                const char **ids[2] = { NULL, NULL };
                char (*text)[RETENTION_ID_MAX] = NULL;   /* the ids' strings, for both lists */
                size_t n[2] = { 0, 0 }, count = 0;

                for (size_t j = 0; j < v->n_snaps; j++)
                        if ((v->snaps[j].flags & SNAP_TAGS_INCOMPLETE) && !(v->snaps[j].flags & RETENTION_ID_UNUSABLE))
                                count++;
                if (count == 0)
                        continue;
                ids[0] = calloc(count + 1, sizeof *ids[0]);
                ids[1] = calloc(count + 1, sizeof *ids[1]);
                text = calloc(count, sizeof *text);
                if (!ids[0] || !ids[1] || !text) {
                        free(ids[0]);
                        free(ids[1]);
                        free(text);
                        return -ENOMEM;
                }
                for (size_t j = 0, k = 0; j < v->n_snaps; j++) {
                        const struct retention_snap *x = &v->snaps[j];
                        bool name = x->flags & SNAP_RENAME;

                        if (!(x->flags & SNAP_TAGS_INCOMPLETE) || (x->flags & RETENTION_ID_UNUSABLE))
                                continue;
                        ids[name][n[name]++] = retention_snap_id(x, text[k++]);
                }
                for (int with_name = 0; with_name < 2; with_name++) {
                        if (n[with_name] == 0)
                                continue;
                        if (R->ctx->dry_run)
                                ctx_say(R->ctx, "volume %s %s: would tag %zu snapshot%s of an interrupted run with "
                                        "the device (%s%s)", v->t->device, v->t->volume_id, n[with_name],
                                        n[with_name] == 1 ? "" : "s", ids[with_name][0],
                                        n[with_name] > 1 ? ", ..." : "");
                        else if (tag_with_device(R, v, ids[with_name], n[with_name], with_name) >= 0)
                                ctx_say(R->ctx, "volume %s %s: tagged %zu snapshot%s of an interrupted run with the "
                                        "device (%s%s)", v->t->device, v->t->volume_id, n[with_name],
                                        n[with_name] == 1 ? "" : "s", ids[with_name][0],
                                        n[with_name] > 1 ? ", ..." : "");
                }
                free(ids[0]);
                free(ids[1]);
                free(text);
        }
        return 0;
}

static void apply_skip_pending(struct run *R)
{
        for (size_t i = 0; i < R->n_targets; i++) {
                struct vol *v = &R->vols[i];

                if (v->state != VOL_CREATE)
                        continue;
                if (v->pending.found) {
                        char when[32];

                        ctx_say(R->ctx, "volume %s %s: skip: snapshot %s from %s is still pending "
                                "(%s; skip_pending is true)", v->t->device, v->t->volume_id, v->pending.id,
                                say_time(v->pending.start_time, when, sizeof when), v->pending.progress);
                        v->state = VOL_SKIPPED;
                        v->counted_skip = true;
                        R->skipped++;
                }
        }
}

/* Adds the mountpoints of LIST that may be frozen, under the root prefix, to OUT. */
static void add_freeze_paths(struct run *R, const char *const *list, const char *const *protected_paths,
                             char **out, size_t *n)
{
        for (const char *const *p = list; *p; p++) {
                char *path = ctx_path(R->ctx, *p);
                char why[PATH_MAX + 256];
                int fd;

                if (!path)
                        continue;
                /* Opened beneath the root with no link followed: what gets frozen is what was checked. */
                fd = ctx_open(R->ctx, *p, O_RDONLY | O_DIRECTORY, 0, 0);
                if (fd < 0) {
                        ctx_say(R->ctx, "freeze: not freezing %s: %s: cannot open: %s", *p, path,
                                fd == -ELOOP ? "a symbolic link is on the way, which is not followed" : strerror(-fd));
                        free(path);
                } else if (freeze_allowed_fd(fd, path, R->ctx->root, protected_paths, why, sizeof why) < 0) {
                        ctx_say(R->ctx, "freeze: not freezing %s: %s", *p, why);
                        close(fd);
                        free(path);
                } else if (*n >= FREEZE_PATHS_MAX) {
                        ctx_say(R->ctx, "freeze: not freezing %s: more than %d mountpoints", *p, FREEZE_PATHS_MAX);
                        close(fd);
                        free(path);
                } else {
                        R->frz_fds[*n] = fd;
                        R->n_frz_fds = *n + 1;
                        out[(*n)++] = path;
                }
        }
}

/* Mountpoints to freeze: freeze.mountpoints, or those found on the volumes to snapshot; each
 * under the root prefix and allowed. NULL-terminated, free with devmap_strv_free(); NULL on
 * ENOMEM. */
static char **freeze_targets(struct run *R)
{
        const char *protected_paths[3] = { NULL, NULL, NULL };
        char **out;
        size_t n = 0, np = 0;

        if (R->ctx->agent_state_dir)
                protected_paths[np++] = R->ctx->agent_state_dir;
        if (R->ctx->log_dir)
                protected_paths[np++] = R->ctx->log_dir;
        out = calloc(FREEZE_PATHS_MAX + 1, sizeof *out);
        if (!out)
                return NULL;
        if (R->cfg.n_freeze_mountpoints > 0) {
                for (size_t i = 0; i < R->cfg.n_freeze_mountpoints; i++) {
                        const char *one[2] = { R->cfg.freeze_mountpoints[i], NULL };
                        add_freeze_paths(R, one, protected_paths, out, &n);
                }
                return out;
        }
        for (size_t i = 0; i < R->n_targets; i++) {
                struct vol *v = &R->vols[i];
                char **mps = NULL;
                int r;

                if (v->state != VOL_CREATE)
                        continue;
                r = devmap_mountpoints(ctx_root_fd(R->ctx), v->t->device, v->t->volume_id, &mps);
                if (r < 0) {
                        ctx_say(R->ctx, "freeze: volume %s %s: no mounted filesystem found (%s)", v->t->device,
                                v->t->volume_id, strerror(-r));
                        continue;
                }
                add_freeze_paths(R, (const char *const *)mps, protected_paths, out, &n);
                devmap_strv_free(mps);
        }
        return out;
}

static void create_per_volume(struct run *R)
{
        struct opsagent_ec2_create_snapshot *reqs = NULL;
        struct ebs_tagset *tagsets = NULL;
        char (*desc)[EBS_DESCRIPTION_BUF] = NULL;
        size_t *which = NULL, n = 0;
        char err[1024];

        reqs = calloc(R->n_targets, sizeof *reqs);
        tagsets = calloc(R->n_targets, sizeof *tagsets);
        desc = calloc(R->n_targets, sizeof *desc);
        which = calloc(R->n_targets, sizeof *which);
        if (!reqs || !tagsets || !desc || !which) {
                for (size_t i = 0; i < R->n_targets; i++)
                        if (R->vols[i].state == VOL_CREATE)
                                fail_volume(R, &R->vols[i], "out of memory");
                goto out;
        }
        for (size_t i = 0; i < R->n_targets; i++) {
                struct vol *v = &R->vols[i];
                if (v->state != VOL_CREATE)
                        continue;
                (void)ebs_format_description(R->cfg.description, R->hostname, v->t->device, v->t->volume_id,
                                             R->inst->instance_id, desc[n], sizeof desc[n]);
                ebs_build_tags(&R->cfg, R->inst->instance_id, R->hostname, v->t->device, R->ctx->run_id, &tagsets[n]);
                reqs[n].volume_id = v->t->volume_id;
                reqs[n].description = desc[n];
                reqs[n].tags = tagsets[n].tags;
                reqs[n].n_tags = tagsets[n].n;
                which[n++] = i;
        }
        if (n > 0)
                (void)R->aws->ec2_create_snapshots_each(R->ctx, reqs, n, EBS_CREATE_PARALLEL);
        for (size_t k = 0; k < n; k++) {
                struct vol *v = &R->vols[which[k]];
                if (reqs[k].result < 0 || !reqs[k].snapshot_id) {
                        fail_volume(R, v, "CreateSnapshot failed: %s; retention not run for this volume",
                                    aws_error_text(&reqs[k].error, reqs[k].result ? reqs[k].result : -EIO, err,
                                                   sizeof err));
                } else {
                        v->snapshot_id = strdup(reqs[k].snapshot_id);
                        v->start_time = reqs[k].start_time;
                        if (!v->snapshot_id) {
                                fail_volume(R, v, "out of memory");
                        } else {
                                v->state = VOL_CREATED;
                                R->created++;
                        }
                }
                R->aws->ec2_create_snapshot_clear(&reqs[k]);
        }
out:
        free(reqs);
        free(tagsets);
        free(desc);
        free(which);
}

static void create_multi_volume(struct run *R)
{
        const char **exclude = NULL;
        struct opsagent_ec2_snapshot *made = NULL;
        size_t n_made = 0, nx = 0;
        bool exclude_boot = true;
        struct ebs_tagset set;
        char desc[EBS_DESCRIPTION_BUF], err[1024];
        int r;

        exclude = calloc(R->n_targets + 1, sizeof *exclude);
        if (!exclude) {
                for (size_t i = 0; i < R->n_targets; i++)
                        if (R->vols[i].state == VOL_CREATE)
                                fail_volume(R, &R->vols[i], "out of memory");
                return;
        }
        for (size_t i = 0; i < R->n_targets; i++) {
                struct vol *v = &R->vols[i];
                if (v->state == VOL_CREATE && v->t->is_root)
                        exclude_boot = false;
                else if (v->state != VOL_CREATE && !v->t->is_root && v->t->volume_id)
                        exclude[nx++] = v->t->volume_id;
        }
        (void)ebs_format_description(R->cfg.description, R->hostname, "all volumes", R->inst->instance_id,
                                     R->inst->instance_id, desc, sizeof desc);
        ebs_build_tags(&R->cfg, R->inst->instance_id, R->hostname, NULL, R->ctx->run_id, &set);
        r = R->aws->ec2_create_snapshots_multi(R->ctx, R->inst->instance_id, exclude_boot,
                                               nx ? exclude : NULL, desc, set.tags, set.n, &made, &n_made);
        if (r < 0) {
                last_error_text(R, r, err, sizeof err);
                for (size_t i = 0; i < R->n_targets; i++)
                        if (R->vols[i].state == VOL_CREATE)
                                fail_volume(R, &R->vols[i], "CreateSnapshots failed: %s; retention not run", err);
                goto out;
        }
        for (size_t i = 0; i < R->n_targets; i++) {
                struct vol *v = &R->vols[i];
                const struct opsagent_ec2_snapshot *s = NULL;
                const char *ids[2] = { NULL, NULL };

                if (v->state != VOL_CREATE)
                        continue;
                for (size_t j = 0; j < n_made && !s; j++)
                        if (made[j].volume_id && strcmp(made[j].volume_id, v->t->volume_id) == 0)
                                s = &made[j];
                if (!s || !s->snapshot_id) {
                        fail_volume(R, v, "CreateSnapshots returned no snapshot of this volume; retention not run");
                        continue;
                }
                v->snapshot_id = strdup(s->snapshot_id);
                if (!v->snapshot_id) {
                        fail_volume(R, v, "out of memory");
                        continue;
                }
                v->start_time = s->start_time;
                v->state = VOL_CREATED;
                R->created++;
                /* The set shares one TagSpecification: add each snapshot's device and Name (a run
                 * killed before this leaves them to the next run: complete_tags()). */
                ids[0] = v->snapshot_id;
                (void)tag_with_device(R, v, ids, 1, true);
        }
out:
        if (made)
                R->aws->ec2_snapshots_free(made, n_made);
        free(exclude);
}

static int retention_for(struct run *R, struct vol *v, int64_t now)
{
        struct retention_snap *t;
        char err[1024], when[32], reason[RETENTION_REASON_MAX], idbuf[RETENTION_ID_MAX];
        uint32_t *rank = NULL;
        bool errors = false;
        int r;

        /* Tonight's snapshot joins the list: it counts towards keep and is never deleted. */
        t = vol_add(v);
        if (!t)
                return -ENOMEM;
        t->flags = RETENTION_MANAGED | RETENTION_JUST_CREATED;
        r = retention_snap_set_id(t, v->snapshot_id ? v->snapshot_id : "(new)");
        if (r < 0) {
                v->n_snaps--;
                return r;
        }
        t->flags &= (uint8_t)~RETENTION_ID_UNUSABLE;    /* never deleted, whatever its id */
        t->state = RETENTION_STATE_PENDING;
        t->start_time = retention_time_of(v->snapshot_id ? v->start_time : now);
        r = retention_plan_snaps(&R->cfg.policy, v->snaps, v->n_snaps, now, &rank);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->n_snaps; i++) {
                const struct retention_snap *s = &v->snaps[i];
                const char *id = retention_snap_id(s, idbuf);

                if (s->why == WHY_JUST_CREATED)
                        continue;
                retention_reason(&R->cfg.policy, s, rank ? rank[i] : 0, now, reason, sizeof reason);
                if (retention_action_of(s) == RETENTION_KEEP) {
                        ctx_say(R->ctx, "  %s %s (%s): keep: %s", v->t->volume_id, id,
                                say_time(s->start_time, when, sizeof when), reason);
                        continue;
                }
                if (R->ctx->dry_run) {
                        ctx_say(R->ctx, "  %s %s (%s): would delete: %s", v->t->volume_id, id,
                                say_time(s->start_time, when, sizeof when), reason);
                        continue;
                }
                r = R->aws->ec2_delete_snapshot(R->ctx, id);
                if (r == -EBUSY) {
                        ctx_say(R->ctx, "  %s %s: warning: in use by an AMI (InvalidSnapshot.InUse), kept; "
                                "deregister the image to let retention delete it", v->t->volume_id, id);
                        ctx_log(R->ctx, OPSAGENT_LOG_WARNING, "%s: in use by an AMI, kept", id);
                } else if (r == -ENOENT) {
                        ctx_say(R->ctx, "  %s %s: already gone", v->t->volume_id, id);
                } else if (r < 0) {
                        ctx_say(R->ctx, "  %s %s: FAILED to delete: %s", v->t->volume_id, id,
                                last_error_text(R, r, err, sizeof err));
                        errors = true;
                } else {
                        ctx_say(R->ctx, "  %s %s (%s): deleted: %s", v->t->volume_id, id,
                                say_time(s->start_time, when, sizeof when), reason);
                        R->deleted++;
                }
        }
        free(rank);
        return errors ? -EIO : 0;
}

static void say_plan_header(struct run *R)
{
        char policy[128];

        retention_policy_describe(&R->cfg.policy, policy, sizeof policy);
        ctx_say(R->ctx, "ebs_snapshots%s: instance %s (%s): %zu EBS volume%s attached; retention %s; mode %s%s",
                R->ctx->dry_run ? " (dry run: no change is made)" : "", R->inst->instance_id, R->hostname,
                R->inst->n_attachments, R->inst->n_attachments == 1 ? "" : "s", policy,
                R->cfg.mode == EBS_MODE_MULTI_VOLUME ? "multi-volume" : "per-volume",
                R->cfg.freeze ? "; freeze on" : "");
}

static void marker_path(struct opsagent_ctx *ctx, char *buf, size_t size)
{
        snprintf(buf, size, "%s/%s", ctx->state_dir, FREEZE_MARKER_NAME);
}

/* recover(): thaws what the marker lists, that is what a run killed together with its watchdog
 * left frozen; nothing when there is no marker. Also run at the start of every run. */
static int ebs_recover(struct opsagent_ctx *ctx)
{
        char marker[PATH_MAX], err[EBS_ERR_MAX];
        char **paths = NULL;
        int r, failed = 0;

        marker_path(ctx, marker, sizeof marker);
        r = freeze_marker_read(marker, &paths, err, sizeof err);
        if (r == -ENOENT)
                return 0;
        if (r == -ENOMEM)
                return ctx_fail(ctx, r, "ebs_snapshots: out of memory");
        if (r < 0)
                return ctx_fail(ctx, r, "ebs_snapshots: %s; check with fsfreeze -u that no volume is left frozen, "
                                "then remove it", err);
        for (char **p = paths; *p; p++) {
                if (ctx->dry_run) {
                        ctx_say(ctx, "ebs_snapshots: would thaw %s if it is still frozen (a run that was killed "
                                "froze it; %s)", *p, marker);
                        continue;
                }
                r = freeze_thaw_path(*p);
                if (r > 0)
                        ctx_say(ctx, "ebs_snapshots: thawed %s, which a run that was killed had left frozen", *p);
                else if (r == 0 || r == -ENOENT)
                        ctx_log(ctx, OPSAGENT_LOG_DEBUG, "ebs_snapshots: %s was not left frozen", *p);
                else {
                        failed++;
                        ctx_fail(ctx, r, "ebs_snapshots: cannot thaw %s, which a run that was killed froze: %s; "
                                 "run fsfreeze -u %s", *p, strerror(-r), *p);
                }
        }
        if (!ctx->dry_run && failed == 0 && unlink(marker) < 0 && errno != ENOENT)
                ctx_log(ctx, OPSAGENT_LOG_WARNING, "ebs_snapshots: cannot remove %s: %s", marker, strerror(errno));
        freeze_strv_free(paths);
        return failed ? -EIO : 0;
}

static int ebs_run(struct opsagent_ctx *ctx)
{
        struct run R = { .ctx = ctx };
        char err[EBS_ERR_MAX], aerr[1024];
        char **nvme = NULL, **frz = NULL, marker[PATH_MAX];
        struct freezer *fz = NULL;
        size_t n_create = 0;
        int64_t now;
        int r;

        if (!ctx->aws || ctx->aws->size < sizeof(struct opsagent_aws_ops))
                return ctx_fail(ctx, -ENOTSUP, "ebs_snapshots: this agent has no AWS support (or an older one)");
        R.aws = ctx->aws;
        r = ebs_config_parse(ctx_attr(ctx, ""), &R.cfg, err, sizeof err);
        if (r < 0)
                return ctx_fail(ctx, r, "%s", r == -ENOMEM ? "ebs_snapshots: out of memory" : err);
        /* A run killed with its watchdog (and no `opsagent recover` since) may have left a
         * filesystem frozen: thaw it before anything else, or stop here. */
        r = ebs_recover(ctx);
        if (r < 0) {
                ebs_config_free(&R.cfg);
                return r;
        }
        marker_path(ctx, marker, sizeof marker);

        r = R.aws->ec2_describe_instance(ctx, NULL, &R.inst);
        if (r < 0 && opsagent_aws_error_is_config(r, R.aws->last_error(ctx))) {
                /* No region or no credentials: a configuration error (exit 2), not a failed night. */
                r = ctx_fail_config(ctx, "ebs_snapshots: %s", R.aws->last_error(ctx)->message);
                goto out;
        }
        if (r < 0) {
                r = ctx_fail(ctx, r, "ebs_snapshots: cannot describe this instance: %s",
                             last_error_text(&R, r, aerr, sizeof aerr));
                goto out;
        }
        R.hostname = ctx_fact(ctx, "hostname");
        if (!R.hostname) {
                if (gethostname(R.hostbuf, sizeof R.hostbuf - 1) < 0)
                        snprintf(R.hostbuf, sizeof R.hostbuf, "unknown-host");
                R.hostname = R.hostbuf;
        }
        nvme = nvme_map(&R);
        if (!nvme) {
                r = ctx_fail(ctx, -ENOMEM, "ebs_snapshots: out of memory");
                goto out;
        }
        r = ebs_select_volumes(&R.cfg, R.inst, (const char *const *)nvme, &R.targets, &R.n_targets, &R.unmatched,
                               &R.n_unmatched);
        if (r < 0) {
                r = ctx_fail(ctx, r, "ebs_snapshots: out of memory");
                goto out;
        }
        if (R.n_targets > 0) {
                R.vols = calloc(R.n_targets, sizeof *R.vols);
                if (!R.vols) {
                        r = ctx_fail(ctx, -ENOMEM, "ebs_snapshots: out of memory");
                        goto out;
                }
        }
        say_plan_header(&R);
        for (size_t i = 0; i < R.n_targets; i++) {
                R.vols[i].t = &R.targets[i];
                R.vols[i].state = R.targets[i].selected ? VOL_CREATE : VOL_SKIPPED;
                if (!R.targets[i].selected)
                        ctx_say(ctx, "volume %s %s: skip: %s", R.targets[i].device ? R.targets[i].device : "?",
                                R.targets[i].volume_id ? R.targets[i].volume_id : "?", R.targets[i].reason);
        }
        for (size_t i = 0; i < R.n_unmatched; i++) {
                size_t len = strlen(R.failed_list);
                ctx_say(ctx, "device %s: FAILED: listed in ebs_snapshots.devices but not attached to %s",
                        R.unmatched[i].entry, R.inst->instance_id);
                snprintf(R.failed_list + len, sizeof R.failed_list - len, "%s%s (not attached)", len ? ", " : "",
                         R.unmatched[i].entry);
                R.failed++;
        }

        r = list_snapshots(&R);
        if (r == -ENOMEM) {
                r = ctx_fail(ctx, r, "ebs_snapshots: out of memory");
                goto out;
        }
        if (R.listed && complete_tags(&R) == -ENOMEM) {
                r = ctx_fail(ctx, -ENOMEM, "ebs_snapshots: out of memory");
                goto out;
        }
        if (R.listed && R.cfg.skip_pending)
                apply_skip_pending(&R);

        for (size_t i = 0; i < R.n_targets; i++)
                if (R.vols[i].state == VOL_CREATE)
                        n_create++;
        if (R.cfg.freeze && n_create > 0) {
                frz = freeze_targets(&R);
                if (frz && frz[0]) {
                        size_t nf = 0;
                        while (frz[nf])
                                nf++;
                        if (ctx->dry_run) {
                                for (size_t i = 0; i < nf; i++)
                                        ctx_say(ctx, "freeze: would freeze %s for at most %u s", frz[i],
                                                R.cfg.freeze_timeout_seconds);
                        } else if (freeze_start((const char *const *)frz, R.frz_fds, nf, R.cfg.freeze_timeout_seconds,
                                                marker, &fz, err, sizeof err) < 0) {
                                ctx_say(ctx, "warning: %s; snapshots will be crash-consistent only", err);
                                fz = NULL;
                        } else {
                                for (size_t i = 0; i < nf; i++)
                                        ctx_say(ctx, "freeze: %s frozen", frz[i]);
                        }
                }
        }

        if (!ctx->dry_run && n_create > 0) {
                if (R.cfg.mode == EBS_MODE_MULTI_VOLUME)
                        create_multi_volume(&R);
                else
                        create_per_volume(&R);
        }
        if (fz) {
                r = freeze_thaw(fz, err, sizeof err); /* as soon as the calls return */
                fz = NULL;
                if (r < 0)
                        ctx_say(ctx, "warning: %s", err);
                else
                        ctx_say(ctx, "freeze: thawed");
        }
        /* Each volume: what was done, then its retention (never for a failed or skipped one). */
        now = (int64_t)time(NULL);
        for (size_t i = 0; i < R.n_targets; i++) {
                struct vol *v = &R.vols[i];
                bool planned = ctx->dry_run && v->state == VOL_CREATE;

                if (planned)
                        ctx_say(ctx, "volume %s %s: would create a snapshot", v->t->device, v->t->volume_id);
                else if (v->state == VOL_CREATED)
                        ctx_say(ctx, "volume %s %s: created %s", v->t->device, v->t->volume_id, v->snapshot_id);
                else
                        continue;
                if (!R.listed)
                        continue;
                r = retention_for(&R, v, now);
                if (r < 0)
                        fail_after(&R, v, "retention did not complete (%s); tonight's snapshot %s stands",
                                   strerror(-r), v->snapshot_id ? v->snapshot_id : "(dry run)");
        }

        ctx_metric(ctx, "SnapshotsCreated", R.created, "Count");
        ctx_metric(ctx, "SnapshotsDeleted", R.deleted, "Count");
        ctx_metric(ctx, "SnapshotsFailed", R.failed, "Count");
        ctx_metric(ctx, "SnapshotsSkipped", R.skipped, "Count");
        ctx_say(ctx, "ebs_snapshots: %u created, %u deleted, %u failed, %u skipped (their previous snapshot still "
                "pending)%s", R.created, R.deleted, R.failed, R.skipped, ctx->dry_run ? " (dry run)" : "");

        if (R.failed_list[0] || !R.listed)
                r = ctx_fail(ctx, -EIO, "ebs_snapshots: failed: %s%s%s", R.failed_list,
                             R.failed_list[0] && !R.listed ? "; " : "",
                             R.listed ? "" : "existing snapshots could not be listed (retention not run)");
        else
                r = 0;
out:
        if (fz)
                (void)freeze_thaw(fz, NULL, 0);
        devmap_strv_free(frz);
        for (size_t i = 0; i < R.n_frz_fds; i++)
                close(R.frz_fds[i]);
        if (nvme) {
                for (char **p = nvme; *p; p++)
                        free(*p);
                free(nvme);
        }
        for (size_t i = 0; R.vols && i < R.n_targets; i++) {
                free(R.vols[i].snapshot_id);
                vol_free_snaps(&R.vols[i]);
        }
        free(R.vols);
        free(R.targets);
        free(R.unmatched);
        if (R.inst)
                R.aws->ec2_instance_free(R.inst);
        ebs_config_free(&R.cfg);
        return r;
}

OPSAGENT_RECIPE_DESCRIPTOR_RECOVER("ebs_snapshots", PACKAGE_VERSION,
                                   "Nightly EBS snapshots with retention of what opsagent created", "ebs_snapshots",
                                   ebs_defaults_json, ebs_schema_json, EBS_TIME_BUDGET,
                                   OPSAGENT_RECIPE_NEEDS_INSTANCE, ebs_run, ebs_recover);
