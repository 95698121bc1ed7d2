/* The recipe context: what a recipe can do, implemented on top of the core modules. Runs in
 * the forked child; anything the parent must know (metrics, the failure reason) travels as
 * JSON lines over core->events_fd. */
#include <errno.h>
#include <fcntl.h>
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
#include "config/attrs.h"
#include "config/trust.h"
#include "undo.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "util/pathres.h"
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

/* Formatted once and scrubbed once (log_sayv), indented under the run's header: "  " goes in
 * front of the recipe's format, which it cannot change the meaning of. */
static void op_sayv(struct opsagent_ctx *c, const char *fmt, va_list ap)
{
        char small[256], *indented = small;
        size_t len = strlen(fmt);

        if (len + 3 > sizeof(small) && !(indented = malloc(len + 3)))
                return;
        indented[0] = ' ';
        indented[1] = ' ';
        memcpy(indented + 2, fmt, len + 1);
        log_sayv(indented, ap);
        if (indented != small)
                free(indented);
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
        /* Not logged here: the runner prints the reasons once, in the run's outcome line. */
        log_debug("failure recorded: %s", msg);
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

/* The root's descriptor, opened once: every file op resolves beneath it. */
static int root_dirfd(struct ctx_core *core)
{
        const char *root = core->pub.root[0] ? core->pub.root : "/";

        if (core->root_fd < 0) {
                core->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (core->root_fd < 0)
                        return log_error_errno(errno, "%s: cannot open the root: %m", root);
        }
        return core->root_fd;
}

static int op_root_fd(struct opsagent_ctx *c)
{
        return root_dirfd(ctx_core_of(c));
}

static unsigned resolve_flags(unsigned flags)
{
        return (flags & OPSAGENT_PATH_FOLLOW) ? PATHRES_IN_ROOT : 0;
}

/* What went wrong with a path, for the message: the errno's text, or what a refusal means. */
static const char *path_error(int r)
{
        if (r == -ELOOP)
                return "a symbolic link is on the way, which is not followed (use the real path, or replace the link "
                       "with what it points to)";
        if (r == -EINVAL)
                return "not a path the agent accepts (\"..\", an empty component or a NUL byte)";
        return strerror(-r);
}

static int op_open_path(struct opsagent_ctx *c, const char *path, int oflags, mode_t mode, unsigned flags)
{
        int rfd = root_dirfd(ctx_core_of(c));

        if (!path || path[0] != '/')
                return -EINVAL;
        return rfd < 0 ? rfd : pathres_open(rfd, path, oflags, mode, resolve_flags(flags));
}

static int op_read_path(struct opsagent_ctx *c, const char *path, size_t cap, char **ret, size_t *ret_len,
                        unsigned flags)
{
        int rfd = root_dirfd(ctx_core_of(c));

        if (!path || path[0] != '/')
                return -EINVAL;
        return rfd < 0 ? rfd : pathres_read_capped(rfd, path, cap, ret, ret_len, resolve_flags(flags));
}

static int op_stat_path(struct opsagent_ctx *c, const char *path, struct stat *ret, unsigned flags)
{
        int rfd = root_dirfd(ctx_core_of(c));

        if (!path || path[0] != '/')
                return -EINVAL;
        return rfd < 0 ? rfd : pathres_stat(rfd, path, ret, resolve_flags(flags));
}

static int op_mkdir_path(struct opsagent_ctx *c, const char *path, mode_t mode)
{
        int rfd = root_dirfd(ctx_core_of(c)), r;
        struct stat st;

        if (!path || path[0] != '/')
                return -EINVAL;
        if (rfd < 0)
                return rfd;
        r = pathres_stat(rfd, path, &st, 0);
        if (r == 0 && S_ISDIR(st.st_mode))
                return 0;
        if (c->dry_run) {
                if (r == 0 || (r < 0 && r != -ENOENT))
                        return r < 0 ? r : -ENOTDIR;
                log_say("  %s: directory would be created", path);
                return 1;
        }
        r = pathres_mkdir_p(rfd, path, mode, 0);
        return r < 0 ? r : 1;
}

static int op_write_file(struct opsagent_ctx *c, const char *path, const void *data, size_t len, mode_t mode,
                         unsigned flags)
{
        struct error err = ERROR_INIT;
        char *full = NULL, *old = NULL, *dir = NULL, *newtext = NULL, *diff = NULL;
        size_t old_len = 0;
        int rfd, r;

        if (!path || path[0] != '/')
                return log_error_errno(EINVAL, "write_file: %s is not an absolute path", path ? path : "(null)");
        full = op_path(c, path);
        if (!full)
                return -ENOMEM;
        rfd = root_dirfd(ctx_core_of(c));
        if (rfd < 0) {
                r = rfd;
                goto out;
        }
        r = pathres_read_capped(rfd, path, CTX_WRITE_FILE_MAX, &old, &old_len, 0);
        if (r < 0 && r != -ENOENT) {
                log_error_errno(r, "%s: cannot read: %s", full, path_error(r));
                goto out;
        }
        if (r == 0 && old_len == len && memcmp(old, data, len) == 0) {
                struct stat st;

                if (pathres_stat(rfd, path, &st, 0) == 0 && (st.st_mode & 07777) == mode) {
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
                ctx_core_of(c)->changes++;
                r = 1;
                goto out;
        }
        dir = strdup(path);
        if (!dir) {
                r = -ENOMEM;
                goto out;
        }
        *strrchr(dir, '/') = '\0';
        if (*dir) {
                r = pathres_mkdir_p(rfd, dir, 0755, 0);
                if (r < 0) {
                        log_error_errno(r, "%s%s: cannot create directory: %s", c->root, dir, path_error(r));
                        goto out;
                }
        }
        /* What the file was before opsagent first changed it, for setup --undo and purge. */
        r = undo_note_file(c->agent_state_dir, c->root, full, &err);
        if (r < 0) {
                log_error("%s", err.msg);
                goto out;
        }
        r = pathres_write_atomic(rfd, path, data, len, mode, 0);
        if (r < 0) {
                log_error_errno(r, "%s: cannot write: %s", full, path_error(r));
                goto out;
        }
        ctx_core_of(c)->changes++;
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

/* Whether the value at ATTR (under the recipe's root) came from somewhere only root can write:
 * a recipe's shipped defaults, the instance user-data (from the metadata service, not a file),
 * or a file that passes the trust check now as it did when it was read. -EPERM with ERR. */
static int origin_trusted(struct ctx_core *core, const char *attr, struct error *err)
{
        char full[512];
        const char *origin;
        int r;

        if ((size_t)snprintf(full, sizeof(full), "%s.%s", core->recipe->attr_root, attr) >= sizeof(full))
                return error_set(err, -ENAMETOOLONG, "%s: attribute path too long", attr);
        origin = core->origins ? attrs_origin(core->origins, full) : NULL;
        if (!origin)
                return error_set(err, -EPERM, "%s: where this command was configured is not known; not run", full);
        if (strncmp(origin, "defaults of ", 12) == 0 || strcmp(origin, "instance user-data") == 0)
                return 0;
        r = trust_check(origin, "configuration file", 0, err);
        if (r == -EPERM)
                error_prefix(err, "%s is not run", full);
        else if (r < 0) {
                char why[ERROR_MSG_MAX];

                snprintf(why, sizeof(why), "%s", err->msg);
                error_reset(err, -EPERM, "%s is not run: %s", full, why);
        }
        return r < 0 ? -EPERM : 0;
}

static int op_spawn_command(struct opsagent_ctx *c, char *const argv[], const struct opsagent_command *cmd,
                            struct opsagent_spawn_result *ret)
{
        struct ctx_core *core = ctx_core_of(c);
        struct spawn_options o = { .minimal_env = true };
        struct error err = ERROR_INIT;
        gid_t *groups = NULL;
        uint32_t left = op_time_left(c);
        int r;

        if (!argv || !argv[0] || !cmd || cmd->size < offsetof(struct opsagent_command, gid) + sizeof(cmd->gid))
                return -EINVAL;
        if (cmd->attr) {
                r = origin_trusted(core, cmd->attr, &err);
                /* Run as root, the program itself must be root's as its configuration is: a site's
                 * bin/zeopack that the site's user can edit would run the user's code as root.
                 * Run as a user, it is that user's business. A name without a slash is found in
                 * the minimal PATH, whose directories are the system's. */
                if (r >= 0 && !(cmd->as_user && cmd->uid != 0) && strchr(argv[0], '/')) {
                        r = trust_check(argv[0], "command", 0, &err);
                        if (r == -ENOENT)
                                r = 0;          /* said by the spawn, as for any missing program */
                        else if (r < 0)
                                error_prefix(&err, "%s.%s[0] is not run as root", core->recipe->attr_root, cmd->attr);
                }
                if (r < 0) {
                        log_error("%s", err.msg);
                        return r;
                }
        }
        if (cmd->timeout_seconds == 0)
                o.timeout_usec = left == UINT32_MAX ? 0 : (uint64_t)left * 1000000u;
        else
                o.timeout_usec = (uint64_t)cmd->timeout_seconds * 1000000u;
        if (cmd->as_user) {
                o.as_user = true;
                o.uid = cmd->uid;
                o.gid = cmd->gid;
                r = spawn_user_groups(cmd->uid, cmd->gid, &groups, &o.n_groups);
                if (r < 0)
                        return log_error_errno(r, "%s: cannot list the groups of uid %u: %s", argv[0],
                                               (unsigned)cmd->uid, strerror(-r));
                o.groups = groups;
        }
        r = spawn_run_opts(argv, &o, spawn_line, (void *)argv[0], ret);
        free(groups);
        return r;
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
        if (!c->dry_run)
                for (const char *const *u = units; u && *u; u++) {
                        char *state = NULL;

                        /* opsagent's own units are its business; the others' state before the
                         * first change is recorded for setup --undo and purge. A state that
                         * cannot be read cannot be put back: no change is made then. */
                        if (strncmp(*u, "opsagent-", 9) == 0 || strncmp(*u, "opsagent@", 9) == 0)
                                continue;
                        r = systemd_unit_file_state(*u, &state, &err);
                        if (r < 0) {
                                log_error("%s: not %s: its state cannot be read to record it for setup "
                                          "--undo (%s)",
                                          *u, action == OPSAGENT_UNIT_ENABLE_START ? "enabled and started"
                                                                                   : "stopped and disabled",
                                          err.msg);
                                return r;
                        }
                        r = undo_note_unit(c->agent_state_dir, *u, state, &err);
                        free(state);
                        if (r < 0) {
                                log_error("%s", err.msg);
                                return r;
                        }
                }
        r = systemd_units_set(action, units, c->dry_run, &err);
        if (r < 0)
                log_error("%s", err.msg);
        if (r > 0)
                ctx_core_of(c)->changes++;
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
        .spawn_command = op_spawn_command,
        .open_path = op_open_path,
        .read_path = op_read_path,
        .stat_path = op_stat_path,
        .mkdir_path = op_mkdir_path,
        .root_fd = op_root_fd,
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
        core->root_fd = -1;
}

unsigned ctx_changes(struct ctx_core *core)
{
        return core->changes;
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
        if (core->root_fd >= 0)
                close(core->root_fd);
        core->root_fd = -1;
}
