/* The recipe context: what a recipe can do, implemented on top of the core modules. Runs in
 * the forked child; anything the parent must know (metrics, the failure reason) travels as
 * JSON lines over core->events_fd. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctx.h"
#include "events.h"
#include "spawn.h"
#include "systemd.h"
#include "textdiff.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "util/metric.h"
#include "util/timeutil.h"

#define CTX_FAIL_REASON_MAX 2048
#define CTX_WRITE_FILE_MAX (16u << 20)

static json_object *null_is_absent(json_object *o)
{
        return o && !json_object_is_type(o, json_type_null) ? o : NULL;
}

static json_object *op_attr(struct opsagent_ctx *c, const char *path)
{
        return null_is_absent(json_get_path(ctx_core_of(c)->recipe_attrs, path));
}

static json_object *op_attr_abs(struct opsagent_ctx *c, const char *path)
{
        return null_is_absent(json_get_path(ctx_core_of(c)->attrs, path));
}

static const char *op_fact(struct opsagent_ctx *c, const char *name)
{
        json_object *v = json_get_path(ctx_core_of(c)->facts, name);

        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static void op_logv(struct opsagent_ctx *c, int level, const char *fmt, va_list ap)
{
        if (level < LOG_ERR)
                level = LOG_ERR;
        if (level > LOG_DEBUG)
                level = LOG_DEBUG;
        log_internalv(level, 0, fmt, ap);
}

static void op_sayv(struct opsagent_ctx *c, const char *fmt, va_list ap)
{
        char *line = NULL;

        if (vasprintf(&line, fmt, ap) < 0)
                return;
        log_say("  %s", line);
        free(line);
}

static int op_failv(struct opsagent_ctx *c, int error, const char *fmt, va_list ap)
{
        struct ctx_core *core = ctx_core_of(c);
        char *msg = NULL, *joined = NULL;
        int r;

        if (error >= 0)
                error = -EIO;
        if (vasprintf(&msg, fmt, ap) < 0)
                return error;
        log_error("%s", msg);
        if (!core->fail_reason)
                joined = strdup(msg);
        else if (strlen(core->fail_reason) < CTX_FAIL_REASON_MAX &&
                 asprintf(&joined, "%s; %s", core->fail_reason, msg) < 0)
                joined = NULL;
        if (joined) {
                free(core->fail_reason);
                core->fail_reason = joined;
        }
        r = events_send_fail(core->events_fd, core->fail_reason ? core->fail_reason : msg);
        if (r < 0)
                log_debug_errno(r, "cannot report the failure to the agent: %m");
        free(msg);
        return error;
}

static int op_config_failv(struct opsagent_ctx *c, const char *fmt, va_list ap)
{
        struct ctx_core *core = ctx_core_of(c);
        int r = op_failv(c, -EINVAL, fmt, ap);

        if (!core->config_error) {
                int k = events_send_config_error(core->events_fd);
                if (k < 0)
                        log_debug_errno(k, "cannot report the configuration error to the agent: %m");
                core->config_error = true;
        }
        return r;
}

static int op_metric(struct opsagent_ctx *c, const char *name, double value, const char *unit)
{
        struct ctx_core *core = ctx_core_of(c);
        struct metric m = { .name = (char *)name, .unit = (char *)(unit && *unit ? unit : "None"), .value = value };
        int r;

        if (!name || !*name || strlen(name) > METRIC_NAME_MAX)
                return log_warning_errno(EINVAL, "metric without a valid name ignored");
        if (!isfinite(value))
                return log_warning_errno(EINVAL, "metric %s: value is not a finite number; ignored", name);
        m.timestamp_ms = now_realtime_usec() / 1000;
        r = events_send_metric(core->events_fd, &m);
        if (r < 0)
                log_debug_errno(r, "cannot report metric %s to the agent: %m", name);
        return r == -ENOMEM ? r : 0;
}

static char *op_path(struct opsagent_ctx *c, const char *path)
{
        return path_under_root(c->root, path);
}

static int op_write_file(struct opsagent_ctx *c, const char *path, const void *data, size_t len, mode_t mode,
                         unsigned flags)
{
        char *full = NULL, *old = NULL, *dir = NULL, *newtext = NULL, *diff = NULL;
        size_t old_len = 0;
        int r;

        if (!path || path[0] != '/')
                return log_error_errno(EINVAL, "write_file: %s is not an absolute path", path ? path : "(null)");
        full = op_path(c, path);
        if (!full)
                return -ENOMEM;
        r = read_file_capped(full, CTX_WRITE_FILE_MAX, &old, &old_len);
        if (r < 0 && r != -ENOENT) {
                log_error_errno(r, "%s: cannot read: %s", full, strerror(-r));
                goto out;
        }
        if (r == 0 && old_len == len && memcmp(old, data, len) == 0) {
                struct stat st;

                if (stat(full, &st) == 0 && (st.st_mode & 07777) == mode) {
                        r = 0;
                        goto out;
                }
        }
        if (c->dry_run) {
                if (!(flags & OPSAGENT_WRITE_NO_DIFF)) {
                        newtext = strndup(data, len);
                        if (!newtext) {
                                r = -ENOMEM;
                                goto out;
                        }
                        r = textdiff_unified(path, old ? old : "", newtext, &diff);
                        if (r == 0 && *diff)
                                log_say("%s", diff);
                        else if (r == 0)
                                log_say("  %s: mode would change to %04o", path, (unsigned)mode);
                        else
                                log_say("  %s: would be rewritten (%zu bytes; no diff: %s)", path, len,
                                        r == -ENOENT ? "diff(1) is not installed" : strerror(-r));
                } else
                        log_say("  %s: would be rewritten (contents not shown)", path);
                r = 1;
                goto out;
        }
        dir = strdup(full);
        if (!dir) {
                r = -ENOMEM;
                goto out;
        }
        *strrchr(dir, '/') = '\0';
        if (*dir) {
                r = mkdir_p(dir, 0755);
                if (r < 0) {
                        log_error_errno(r, "%s: cannot create directory: %s", dir, strerror(-r));
                        goto out;
                }
        }
        r = write_file_atomic(full, data, len, mode);
        if (r < 0) {
                log_error_errno(r, "%s: cannot write: %s", full, strerror(-r));
                goto out;
        }
        r = 1;
out:
        free(full);
        free(old);
        free(dir);
        free(newtext);
        free(diff);
        return r;
}

static uint32_t op_time_left(struct opsagent_ctx *c)
{
        struct ctx_core *core = ctx_core_of(c);
        uint64_t now = now_monotonic_usec();

        if (!core->deadline_usec)
                return UINT32_MAX;
        if (now >= core->deadline_usec)
                return 0;
        return (uint32_t)((core->deadline_usec - now) / 1000000u);
}

static void spawn_line(void *userdata, const char *line)
{
        const char *name = userdata;

        log_info("[%s] %s", name, line);
}

static int op_spawn(struct opsagent_ctx *c, char *const argv[], unsigned timeout_seconds,
                    struct opsagent_spawn_result *ret)
{
        uint64_t timeout_usec;
        uint32_t left = op_time_left(c);

        if (!argv || !argv[0])
                return -EINVAL;
        if (timeout_seconds == 0)
                timeout_usec = left == UINT32_MAX ? 0 : (uint64_t)left * 1000000u;
        else
                timeout_usec = (uint64_t)timeout_seconds * 1000000u;
        return spawn_run(argv, timeout_usec, spawn_line, (void *)argv[0], ret);
}

/* Under a root prefix the host's systemd is not the sandbox's: leave it alone unless a bus was
 * named explicitly (tests point DBUS_SYSTEM_BUS_ADDRESS at their own systemd stand-in). */
static bool host_systemd_off_limits(struct opsagent_ctx *c)
{
        return c->root[0] && !getenv("DBUS_SYSTEM_BUS_ADDRESS");
}

static int op_systemd_kill_unit(struct opsagent_ctx *c, const char *unit, int signo)
{
        struct error err = ERROR_INIT;
        int r;

        if (host_systemd_off_limits(c)) {
                log_say("  would send signal %d to %s (root prefix without DBUS_SYSTEM_BUS_ADDRESS: the host's "
                        "systemd is left alone)",
                        signo, unit);
                return -EHOSTUNREACH;
        }
        if (c->dry_run) {
                log_say("  would send signal %d to %s", signo, unit);
                return 0;
        }
        r = systemd_kill_unit(unit, signo, &err);
        if (r < 0)
                log_error("%s", err.msg);
        return r;
}

static int op_systemd_units(struct opsagent_ctx *c, enum opsagent_unit_action action, const char *const *units)
{
        struct error err = ERROR_INIT;
        int r;

        if (host_systemd_off_limits(c)) {
                for (const char *const *u = units; u && *u; u++)
                        log_say("  %s: would be %s (root prefix without DBUS_SYSTEM_BUS_ADDRESS: the host's systemd "
                                "is left alone)",
                                *u, action == OPSAGENT_UNIT_ENABLE_START ? "enabled and started" : "stopped and disabled");
                return 1;
        }
        r = systemd_units_set(action, units, c->dry_run, &err);
        if (r < 0)
                log_error("%s", err.msg);
        return r;
}

static const struct opsagent_ctx_ops ctx_ops = {
        .size = sizeof(struct opsagent_ctx_ops),
        .attr = op_attr,
        .attr_abs = op_attr_abs,
        .fact = op_fact,
        .logv = op_logv,
        .sayv = op_sayv,
        .failv = op_failv,
        .metric = op_metric,
        .path = op_path,
        .write_file = op_write_file,
        .spawn = op_spawn,
        .systemd_kill_unit = op_systemd_kill_unit,
        .systemd_units = op_systemd_units,
        .time_left = op_time_left,
        .config_failv = op_config_failv,
};

void ctx_setup(struct ctx_core *core, const struct opsagent_recipe *recipe, json_object *attrs, const char *run_id,
               const char *root, const char *state_dir, const char *agent_state_dir, bool dry_run,
               uint64_t deadline_usec, int events_fd)
{
        json_object *ra = json_get_path(attrs, recipe->attr_root);

        memset(core, 0, sizeof(*core));
        core->recipe = recipe;
        core->attrs = attrs;
        core->recipe_attrs = ra;
        core->facts = json_get_path(attrs, "opsagent.instance");
        core->events_fd = events_fd;
        core->deadline_usec = deadline_usec;
        core->pub.size = sizeof(struct opsagent_ctx);
        core->pub.recipe = recipe->name;
        core->pub.run_id = run_id;
        core->pub.root = root ? root : "";
        core->pub.state_dir = state_dir;
        core->pub.agent_state_dir = agent_state_dir;
        core->pub.log_dir = NULL;
        core->pub.dry_run = dry_run;
        core->pub.ops = &ctx_ops;
        core->pub.aws = NULL;
        core->pub.core = core;
}

const char *ctx_fail_reason(struct ctx_core *core)
{
        return core->fail_reason;
}

void ctx_done(struct ctx_core *core)
{
        if (core->on_done)
                core->on_done(core);
        free(core->fail_reason);
        core->fail_reason = NULL;
}
