/* lr-driver: runs the logrotate recipe in-process with a minimal context, for tests and the
 * benchmark, independently of the agent. Not installed.
 *
 *   lr-driver [--root DIR] --state-dir DIR [--dry-run] [--no-defaults] ATTRS.json
 *
 * ATTRS.json holds the recipe's attribute object ({"sets": {...}}), merged over the shipped
 * defaults (objects key by key). Output lines go to stdout, log lines and metrics to stderr.
 * Exit 0 ok, 1 recipe failed, 2 usage error or a value refused (ctx_fail_config). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "logrotate_recipe.h"

static json_object *attrs;

static void merge(json_object *dst, json_object *src)
{
        json_object_object_foreach(src, key, val) {
                json_object *cur;
                if (json_object_is_type(val, json_type_object) && json_object_object_get_ex(dst, key, &cur) &&
                    json_object_is_type(cur, json_type_object))
                        merge(cur, val);
                else
                        json_object_object_add(dst, key, json_object_get(val));
        }
}

static json_object *d_attr(struct opsagent_ctx *c, const char *path)
{
        json_object *o = attrs;
        char *p = strdup(path), *save = NULL;

        if (!p)
                return NULL;
        for (char *k = strtok_r(p, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
                if (!json_object_object_get_ex(o, k, &o))
                        o = NULL;
        free(p);
        return o;
}

static json_object *d_attr_abs(struct opsagent_ctx *c, const char *path) { return NULL; }
static const char *d_fact(struct opsagent_ctx *c, const char *name) { return NULL; }

static void d_logv(struct opsagent_ctx *c, int level, const char *fmt, va_list ap)
{
        fprintf(stderr, "<%d> ", level);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

static void d_sayv(struct opsagent_ctx *c, const char *fmt, va_list ap)
{
        vprintf(fmt, ap);
        putchar('\n');
        fflush(stdout);
}

static int d_failv(struct opsagent_ctx *c, int error, const char *fmt, va_list ap)
{
        fputs("failed: ", stdout);
        vprintf(fmt, ap);
        putchar('\n');
        fflush(stdout);
        return error;
}

static int d_metric(struct opsagent_ctx *c, const char *name, double value, const char *unit)
{
        fprintf(stderr, "metric %s %.0f %s\n", name, value, unit);
        return 0;
}

static char *d_path(struct opsagent_ctx *c, const char *path)
{
        char *p = NULL;
        if (asprintf(&p, "%s%s", c->root, path) < 0)
                return NULL;
        return p;
}

static int d_write_file(struct opsagent_ctx *c, const char *path, const void *data, size_t len, mode_t mode,
                        unsigned flags)
{
        return -ENOTSUP;
}

/* ARGV in a child; with CMD (a command from configuration), as the agent runs one: a minimal
 * environment, stdin from /dev/null, and CMD's user (no way back). The driver's attributes come
 * from its own command line, which is trusted. */
static int run_child(char *const argv[], unsigned timeout, const struct opsagent_command *cmd,
                     struct opsagent_spawn_result *ret)
{
        pid_t pid = fork();
        int status;
        time_t end = time(NULL) + (timeout ? timeout : 60);

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (cmd) {
                        int null = open("/dev/null", O_RDONLY);
                        if (null < 0 || dup2(null, 0) < 0 || clearenv() != 0 ||
                            setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1) < 0 || setenv("LANG", "C.UTF-8", 1) < 0 ||
                            chdir("/") < 0)
                                _exit(127);
                        if (cmd->as_user && (setgroups(1, &cmd->gid) < 0 || setgid(cmd->gid) < 0 ||
                                             setuid(cmd->uid) < 0 || setuid(0) == 0))
                                _exit(126);
                }
                execvp(argv[0], argv);
                _exit(127);
        }
        memset(ret, 0, sizeof(*ret));
        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);
                if (w == pid)
                        break;
                if (time(NULL) > end) {
                        kill(pid, SIGKILL);
                        waitpid(pid, &status, 0);
                        ret->timed_out = true;
                        break;
                }
                usleep(10000);
        }
        ret->exit_status = WIFEXITED(status) && !ret->timed_out ? WEXITSTATUS(status) : -1;
        ret->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        return 0;
}

static int d_spawn(struct opsagent_ctx *c, char *const argv[], unsigned timeout, struct opsagent_spawn_result *ret)
{
        return run_child(argv, timeout, NULL, ret);
}

static int d_spawn_command(struct opsagent_ctx *c, char *const argv[], const struct opsagent_command *cmd,
                           struct opsagent_spawn_result *ret)
{
        if (cmd->as_user)
                fprintf(stderr, "running %s (%s) as uid %u\n", argv[0], cmd->attr ? cmd->attr : "-",
                        (unsigned)cmd->uid);
        return run_child(argv, cmd->timeout_seconds, cmd, ret);
}

static int d_kill_unit(struct opsagent_ctx *c, const char *unit, int signo)
{
        sd_bus *bus = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "KillUnit", &e, NULL, "ssi", unit, "main", signo);
        if (r < 0)
                fprintf(stderr, "KillUnit %s: %s\n", unit, e.message ? e.message : strerror(-r));
        sd_bus_error_free(&e);
        sd_bus_flush_close_unref(bus);
        return r;
}

static int d_units(struct opsagent_ctx *c, enum opsagent_unit_action a, const char *const *units)
{
        return -ENOTSUP;
}

static uint32_t d_time_left(struct opsagent_ctx *c) { return UINT32_MAX; }

static const struct opsagent_ctx_ops ops = {
        .size = sizeof(struct opsagent_ctx_ops),
        .attr = d_attr, .attr_abs = d_attr_abs, .fact = d_fact, .logv = d_logv, .sayv = d_sayv,
        .failv = d_failv, .metric = d_metric, .path = d_path, .write_file = d_write_file,
        .spawn = d_spawn, .systemd_kill_unit = d_kill_unit, .systemd_units = d_units,
        .time_left = d_time_left, .spawn_command = d_spawn_command,
};

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "root", required_argument, NULL, 'r' }, { "state-dir", required_argument, NULL, 's' },
                { "dry-run", no_argument, NULL, 'n' }, { "no-defaults", no_argument, NULL, 'D' }, { 0 } };
        struct opsagent_ctx ctx = { .size = sizeof(ctx), .recipe = "logrotate", .run_id = "driver",
                                    .root = "", .ops = &ops };
        bool defaults = true;
        json_object *user;
        int c, r;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'r': ctx.root = optarg; break;
                case 's': ctx.state_dir = optarg; break;
                case 'n': ctx.dry_run = true; break;
                case 'D': defaults = false; break;
                default: return 2;
                }
        }
        if (optind != argc - 1 || !ctx.state_dir) {
                fprintf(stderr, "usage: %s [--root DIR] --state-dir DIR [--dry-run] [--no-defaults] ATTRS.json\n",
                        argv[0]);
                return 2;
        }
        user = json_object_from_file(argv[optind]);
        if (!user) {
                fprintf(stderr, "%s: cannot parse %s\n", argv[0], argv[optind]);
                return 2;
        }
        attrs = defaults ? json_tokener_parse(logrotate_defaults_json) : json_object_new_object();
        merge(attrs, user);
        json_object_put(user);
        r = logrotate_run(&ctx);
        json_object_put(attrs);
        return r == OPSAGENT_RUN_CONFIG_ERROR ? 2 : r < 0 ? 1 : 0;
}
