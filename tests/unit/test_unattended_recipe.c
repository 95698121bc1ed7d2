/* unattended_upgrades: the plugin's run() against a fake context that records what the
 * recipe asks of the agent (commands, writes, systemd, metrics), so that the steps the
 * sandboxed integration tests cannot take (installing packages) are checked too. */
#include <errno.h>
#include <fcntl.h>
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
#include <json-c/json.h>

#include <opsagent/recipe.h>

#include "util/pathres.h"
#include "uu_attrs.h"
#include "uu_os_release.h"
#include "uu_settings.h"

extern const struct opsagent_recipe opsagent_recipe;

#define FIXTURES TEST_DATA_DIR "/unattended_upgrades/"
#define MAX_SPAWNS 4

struct fake {
        struct opsagent_ctx ctx;
        struct opsagent_ctx_ops ops;
        char dir[64];                /* where ctx_path() points, whatever ctx.root says */
        json_object *attrs;
        char *out;                   /* ctx_say() lines */
        size_t out_len;
        FILE *out_f;
        char *log;                   /* ctx_log() lines */
        size_t log_len;
        FILE *log_f;
        char *events;                /* "spawn", "write", "units", "metric" in call order */
        size_t events_len;
        FILE *events_f;
        char fail[1024];
        int spawn_status[MAX_SPAWNS];   /* exit status of each successive spawn */
        int spawn_errno;                /* when set, spawn cannot start: returns it */
        char spawned[MAX_SPAWNS][512];
        size_t n_spawned;
        int units_result;               /* what systemd_units returns */
        enum opsagent_unit_action unit_action;
        char units[256];
        uint32_t time_left;             /* what time_left returns */
        unsigned timeouts[MAX_SPAWNS];  /* the timeout of each spawn */
        int write_errno;                /* when set, write_file fails with it */
        char metric_name[64];
        double metric_value;
        int n_metrics;
};

static struct fake *fake_of(struct opsagent_ctx *c)
{
        return (struct fake *)c->core;
}

static json_object *f_attr(struct opsagent_ctx *c, const char *path)
{
        assert_string_equal(path, "");
        return fake_of(c)->attrs;
}

static json_object *f_attr_abs(struct opsagent_ctx *c, const char *path)
{
        return NULL;
}

static const char *f_fact(struct opsagent_ctx *c, const char *name)
{
        return NULL;
}

static void f_logv(struct opsagent_ctx *c, int level, const char *fmt, va_list ap)
{
        vfprintf(fake_of(c)->log_f, fmt, ap);
        fputc('\n', fake_of(c)->log_f);
        fflush(fake_of(c)->log_f);
}

static void f_sayv(struct opsagent_ctx *c, const char *fmt, va_list ap)
{
        vfprintf(fake_of(c)->out_f, fmt, ap);
        fputc('\n', fake_of(c)->out_f);
        fflush(fake_of(c)->out_f);
}

static int f_failv(struct opsagent_ctx *c, int error, const char *fmt, va_list ap)
{
        struct fake *f = fake_of(c);

        if (!f->fail[0])
                vsnprintf(f->fail, sizeof f->fail, fmt, ap);
        return error;
}

static void event(struct fake *f, const char *what)
{
        fprintf(f->events_f, "%s ", what);
        fflush(f->events_f);
}

static int f_metric(struct opsagent_ctx *c, const char *name, double value, const char *unit)
{
        struct fake *f = fake_of(c);

        event(f, "metric");
        snprintf(f->metric_name, sizeof f->metric_name, "%s", name);
        f->metric_value = value;
        f->n_metrics++;
        return 0;
}

static char *f_path(struct opsagent_ctx *c, const char *path)
{
        char *p = NULL;

        assert_true(path[0] == '/');
        return asprintf(&p, "%s%s", fake_of(c)->dir, path) < 0 ? NULL : p;
}

/* The file ops as the agent has them: beneath the test's root, through pathres. */
static unsigned f_resolve(unsigned flags)
{
        return (flags & OPSAGENT_PATH_FOLLOW) ? PATHRES_IN_ROOT : 0;
}

static int f_read_path(struct opsagent_ctx *c, const char *path, size_t cap, char **ret, size_t *ret_len,
                       unsigned flags)
{
        int fd = open(fake_of(c)->dir, O_PATH | O_DIRECTORY | O_CLOEXEC), r;

        assert_true(fd >= 0);
        r = pathres_read_capped(fd, path, cap, ret, ret_len, f_resolve(flags));
        close(fd);
        return r;
}

static int f_stat_path(struct opsagent_ctx *c, const char *path, struct stat *ret, unsigned flags)
{
        int fd = open(fake_of(c)->dir, O_PATH | O_DIRECTORY | O_CLOEXEC), r;

        assert_true(fd >= 0);
        r = pathres_stat(fd, path, ret, f_resolve(flags));
        close(fd);
        return r;
}

static char *slurp(const char *path)
{
        struct stat st;
        char *buf;
        FILE *f = fopen(path, "r");

        if (!f)
                return NULL;
        assert_int_equal(fstat(fileno(f), &st), 0);
        buf = calloc(1, (size_t)st.st_size + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
        fclose(f);
        return buf;
}

static void spit(const char *path, const char *text)
{
        char dir[512];
        char *slash;
        FILE *f;

        snprintf(dir, sizeof dir, "%s", path);
        for (slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                mkdir(dir, 0755);
                *slash = '/';
        }
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

/* A plain write that reports change like the agent's (no atomicity needed in a test). */
static int f_write_file(struct opsagent_ctx *c, const char *path, const void *data, size_t len, mode_t mode,
                        unsigned flags)
{
        struct fake *f = fake_of(c);
        char *full = f_path(c, path);
        char *old;
        int r;

        event(f, "write");
        if (f->write_errno) {
                free(full);
                return -f->write_errno;
        }
        old = slurp(full);
        if (old && strlen(old) == len && memcmp(old, data, len) == 0) {
                r = 0;
        } else {
                if (!c->dry_run)
                        spit(full, (const char *)data);
                r = 1;
        }
        free(old);
        free(full);
        return r;
}

static int f_spawn(struct opsagent_ctx *c, char *const argv[], unsigned timeout, struct opsagent_spawn_result *ret)
{
        struct fake *f = fake_of(c);
        size_t i = f->n_spawned;
        size_t len = 0;

        event(f, "spawn");
        if (f->spawn_errno)
                return -f->spawn_errno;
        assert_true(i < MAX_SPAWNS);
        f->timeouts[i] = timeout;
        for (char *const *a = argv; *a; a++)
                len += (size_t)snprintf(f->spawned[i] + len, sizeof f->spawned[i] - len, "%s%s",
                                        a == argv ? "" : " ", *a);
        f->n_spawned++;
        memset(ret, 0, sizeof *ret);
        ret->exit_status = f->spawn_status[i];
        ret->output_tail = strdup(f->spawn_status[i] ? "E: Unable to locate package" : "done");
        return 0;
}

static int f_kill(struct opsagent_ctx *c, const char *unit, int signo)
{
        return -ENOTSUP;
}

static int f_units(struct opsagent_ctx *c, enum opsagent_unit_action action, const char *const *units)
{
        struct fake *f = fake_of(c);
        size_t len = 0;

        event(f, "units");
        f->unit_action = action;
        for (const char *const *u = units; *u; u++)
                len += (size_t)snprintf(f->units + len, sizeof f->units - len, "%s%s", u == units ? "" : " ", *u);
        return f->units_result;
}

static uint32_t f_time_left(struct opsagent_ctx *c)
{
        return fake_of(c)->time_left;
}

static int setup(void **state)
{
        struct fake *f = calloc(1, sizeof *f);

        assert_non_null(f);
        snprintf(f->dir, sizeof f->dir, "/tmp/test_uu_recipe.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->out_f = open_memstream(&f->out, &f->out_len);
        f->log_f = open_memstream(&f->log, &f->log_len);
        f->events_f = open_memstream(&f->events, &f->events_len);
        assert_non_null(f->out_f);
        assert_non_null(f->log_f);
        assert_non_null(f->events_f);
        f->ops = (struct opsagent_ctx_ops){
                .size = sizeof f->ops, .attr = f_attr, .attr_abs = f_attr_abs, .fact = f_fact,
                .logv = f_logv, .sayv = f_sayv, .failv = f_failv, .metric = f_metric, .path = f_path,
                .write_file = f_write_file, .spawn = f_spawn, .systemd_kill_unit = f_kill,
                .systemd_units = f_units, .time_left = f_time_left,
                .read_path = f_read_path, .stat_path = f_stat_path,
        };
        f->ctx = (struct opsagent_ctx){
                .size = sizeof f->ctx, .recipe = "unattended_upgrades", .run_id = "test",
                .root = f->dir, .state_dir = f->dir, .agent_state_dir = f->dir, .ops = &f->ops, .core = f,
        };
        f->units_result = 1;
        f->time_left = UINT32_MAX;
        /* Under a root prefix the recipe talks to systemd only on a bus named explicitly. */
        assert_int_equal(setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/test", 1), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fake *f = *state;
        char cmd[128];

        fclose(f->out_f);
        fclose(f->log_f);
        fclose(f->events_f);
        free(f->out);
        free(f->log);
        free(f->events);
        json_object_put(f->attrs);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

/* The shipped defaults with OVERRIDES merged, as the core hands them to run(). */
static void attrs(struct fake *f, const char *overrides)
{
        json_object *o = json_tokener_parse(overrides);

        json_object_put(f->attrs);
        f->attrs = json_tokener_parse(uu_defaults_json);
        assert_non_null(f->attrs);
        assert_non_null(o);
        json_object_object_foreach(o, k, v)
                json_object_object_add(f->attrs, k, json_object_get(v));
        json_object_put(o);
}

static void install_file(struct fake *f, const char *rel, const char *fixture)
{
        char src[512], dst[512];
        char *text;

        snprintf(src, sizeof src, "%s%s", FIXTURES, fixture);
        snprintf(dst, sizeof dst, "%s%s", f->dir, rel);
        text = slurp(src);
        assert_non_null(text);
        spit(dst, text);
        free(text);
}

static void touch(struct fake *f, const char *rel)
{
        char dst[512];

        snprintf(dst, sizeof dst, "%s%s", f->dir, rel);
        spit(dst, "#!/bin/sh\n");
}

static char *file(struct fake *f, const char *rel)
{
        char p[512];

        snprintf(p, sizeof p, "%s%s", f->dir, rel);
        return slurp(p);
}

/* The calls made so far, in order. */
static const char *events(struct fake *f)
{
        fflush(f->events_f);
        return f->events ? f->events : "";
}

static int run(struct fake *f)
{
        return opsagent_recipe.run(&f->ctx);
}

static void assert_has(const char *hay, const char *needle)
{
        if (!hay || !strstr(hay, needle))
                fail_msg("\"%s\" not found in:\n%s", needle, hay ? hay : "(null)");
}

static void test_descriptor(void **state)
{
        assert_int_equal(opsagent_recipe.abi, OPSAGENT_RECIPE_ABI);
        assert_int_equal(opsagent_recipe.size, sizeof(struct opsagent_recipe));
        assert_string_equal(opsagent_recipe.name, "unattended_upgrades");
        assert_string_equal(opsagent_recipe.attr_root, "apt.unattended_upgrades");
        assert_true(opsagent_recipe.flags & OPSAGENT_RECIPE_SETUP);
        assert_ptr_equal(opsagent_recipe.defaults_json, uu_defaults_json);
        assert_ptr_equal(opsagent_recipe.schema_json, uu_schema_json);
        assert_non_null(opsagent_recipe.run);
}

/* Debian with the tool installed: files written, timers enabled, metric 1, in that order. */
static void test_debian_enable(void **state)
{
        struct fake *f = *state;
        char *periodic;

        install_file(f, "/etc/os-release", "os-release/debian-12");
        touch(f, "/usr/bin/unattended-upgrade");
        attrs(f, "{\"enable\": true}");
        assert_int_equal(run(f), 0);
        assert_string_equal(f->fail, "");
        periodic = file(f, "/etc/apt/apt.conf.d/20auto-upgrades");
        assert_has(periodic, "APT::Periodic::Unattended-Upgrade \"1\";");
        free(periodic);
        assert_has(f->out, "/etc/apt/apt.conf.d/20auto-upgrades: updated");
        assert_has(f->out, "/etc/apt/apt.conf.d/90opsagent-unattended-upgrades: updated");
        assert_int_equal(f->unit_action, OPSAGENT_UNIT_ENABLE_START);
        assert_string_equal(f->units, "apt-daily.timer apt-daily-upgrade.timer");
        assert_has(f->out, "enabled and started");
        assert_string_equal(f->metric_name, "UpgradesEnabled");
        assert_true(f->metric_value == 1.0);
        assert_string_equal(events(f), "write write units metric ");
        assert_int_equal(f->n_spawned, 0);
}

static void test_disable_stops_timers_metric_zero(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/ubuntu-24.04");
        touch(f, "/usr/bin/unattended-upgrade");
        attrs(f, "{\"enable\": false}");
        f->units_result = 0;
        assert_int_equal(run(f), 0);
        assert_int_equal(f->unit_action, OPSAGENT_UNIT_DISABLE_STOP);
        assert_has(f->out, "already disabled (unchanged)");
        assert_true(f->metric_value == 0.0);
        assert_int_equal(f->n_metrics, 1);
}

static void test_second_run_says_unchanged(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/debian-12");
        touch(f, "/usr/bin/unattended-upgrade");
        attrs(f, "{\"enable\": true}");
        assert_int_equal(run(f), 0);
        assert_null(strstr(f->out, "unchanged"));
        assert_int_equal(run(f), 0);
        assert_has(f->out, "/etc/apt/apt.conf.d/20auto-upgrades: unchanged");
        assert_has(f->out, "/etc/apt/apt.conf.d/90opsagent-unattended-upgrades: unchanged");
}

/* With no root prefix a missing tool is installed first, with the system's package manager. */
static void test_installs_missing_tool_without_root(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/debian-12");
        attrs(f, "{\"enable\": true, \"mail\": \"ops@example.com\"}");
        f->ctx.root = "";
        assert_int_equal(run(f), 0);
        assert_int_equal(f->n_spawned, 1);
        assert_string_equal(f->spawned[0], "/usr/bin/env DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get install -y -q "
                                           "--no-install-recommends -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef "
                                           "-o Dpkg::Options::=--force-confold unattended-upgrades bsd-mailx");
        assert_has(f->out, "installed unattended-upgrades bsd-mailx");
        assert_string_equal(events(f), "spawn write write units metric ");
}

/* A failed apt-get install is retried once after apt-get update. */
static void test_apt_install_retried_after_update(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/ubuntu-24.04");
        attrs(f, "{\"enable\": true}");
        f->ctx.root = "";
        f->spawn_status[0] = 100;
        assert_int_equal(run(f), 0);
        assert_int_equal(f->n_spawned, 3);
        assert_string_equal(f->spawned[1], "/usr/bin/apt-get update -q -o DPkg::Lock::Timeout=300");
        assert_has(f->spawned[2], "install");
}

/* Offline at launch (issue 16): the installation fails that step, with a clear warning, and the
 * run goes on: the configuration is written, the units are left alone. */
static void test_install_failure_is_a_warning_by_default(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/debian-12");
        attrs(f, "{\"enable\": true}");
        f->ctx.root = "";
        f->spawn_status[0] = 100;
        f->spawn_status[1] = 100;
        assert_int_equal(run(f), 0);
        assert_string_equal(f->fail, "");
        assert_has(f->log, "apt-get update, before installing unattended-upgrades failed (exit status 100; offline");
        assert_has(f->log, "fail_on_install_error");
        assert_has(f->out, "apt-daily.timer: left as they are (unattended-upgrades is not installed)");
        assert_string_equal(events(f), "spawn spawn write write metric ");
        assert_int_equal((int)f->metric_value, 0);
}

/* fail_on_install_error: the launch fails, as it did before. */
static void test_install_failure_fails_the_run(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/debian-12");
        attrs(f, "{\"enable\": true, \"fail_on_install_error\": true}");
        f->ctx.root = "";
        f->spawn_status[0] = 100;
        f->spawn_status[1] = 0;
        f->spawn_status[2] = 100;
        assert_int_equal(run(f), -EIO);
        assert_has(f->fail, "installing unattended-upgrades failed (exit status 100;");
        assert_has(f->fail, "E: Unable to locate package");
        assert_has(f->fail, "apt.unattended_upgrades.install_packages");
        assert_string_equal(events(f), "spawn spawn spawn ");   /* nothing written */
}

static void test_apt_update_failure_fails_the_run(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/debian-12");
        attrs(f, "{\"enable\": true, \"fail_on_install_error\": true}");
        f->ctx.root = "";
        f->spawn_status[0] = 100;
        f->spawn_status[1] = 100;
        assert_int_equal(run(f), -EIO);
        assert_has(f->fail, "apt-get update, before installing unattended-upgrades failed (exit status 100;");
        assert_string_equal(events(f), "spawn spawn ");
}

/* Only apt gets the retry: dnf refreshes its metadata itself. */
static void test_dnf_install_failure_not_retried(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/amzn-2023");
        attrs(f, "{\"enable\": true, \"fail_on_install_error\": true}");
        f->ctx.root = "";
        f->spawn_status[0] = 1;
        assert_int_equal(run(f), -EIO);
        assert_int_equal(f->n_spawned, 1);
        assert_has(f->fail, "installing dnf-automatic failed (exit status 1;");
}

/* Package commands get 600 s, less when the time budget would run out first. */
static void test_install_timeout_follows_the_budget(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/amzn-2023");
        attrs(f, "{\"enable\": true}");
        f->ctx.root = "";
        assert_int_equal(run(f), 0);
        assert_int_equal(f->timeouts[0], 600);
        f->n_spawned = 0;
        f->time_left = 630;
        assert_int_equal(run(f), 0);
        assert_int_equal(f->timeouts[0], 600);
        f->n_spawned = 0;
        f->time_left = 629;
        assert_int_equal(run(f), 0);
        assert_int_equal(f->timeouts[0], 599);
        f->n_spawned = 0;
        f->time_left = 40;
        assert_int_equal(run(f), 0);
        assert_int_equal(f->timeouts[0], 21);
}

static void test_install_cannot_start(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/amzn-2023");
        attrs(f, "{\"enable\": true, \"fail_on_install_error\": true}");
        f->ctx.root = "";
        f->spawn_errno = ENOENT;
        assert_int_equal(run(f), -ENOENT);
        assert_has(f->fail, "cannot start the installation of dnf-automatic");
}

static void test_dnf_install_command(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/amzn-2023");
        attrs(f, "{\"enable\": true, \"mail\": \"ops@example.com\"}");
        f->ctx.root = "";
        assert_int_equal(run(f), 0);
        assert_int_equal(f->n_spawned, 1);
        assert_string_equal(f->spawned[0], "/usr/bin/dnf install -y -q dnf-automatic");
        assert_string_equal(f->units, "dnf-automatic-install.timer");
}

/* Under a root prefix, and in dry-run, the recipe says what it would install. */
static void test_root_or_dry_run_only_announce(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/amzn-2");
        attrs(f, "{\"enable\": true}");
        f->ctx.root = "";
        f->ctx.dry_run = true;
        assert_int_equal(run(f), 0);
        assert_int_equal(f->n_spawned, 0);
        assert_has(f->out, "would install yum-cron with yum (dry run: nothing installed)");
        assert_has(f->out, "/etc/yum/yum-cron.conf: would change");
        assert_has(f->out, "yum-cron.service: would be enabled and started");
        assert_null(file(f, "/etc/yum/yum-cron.conf"));
        f->ctx.root = f->dir;
        f->ctx.dry_run = false;
        assert_int_equal(run(f), 0);
        assert_int_equal(f->n_spawned, 0);
        assert_has(f->out, "would install yum-cron with yum (root prefix: nothing installed)");
        assert_has(f->out, "/etc/yum/yum-cron.conf: updated");
}

static void test_install_packages_false_skips_install(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/debian-12");
        attrs(f, "{\"install_packages\": false}");
        f->ctx.root = "";
        assert_int_equal(run(f), 0);
        assert_int_equal(f->n_spawned, 0);
}

static void test_missing_os_release_names_path(void **state)
{
        struct fake *f = *state;
        char want[128];

        attrs(f, "{\"enable\": true}");
        assert_int_equal(run(f), -ENOENT);
        snprintf(want, sizeof want, "%s/etc/os-release: no such file", f->dir);
        assert_has(f->fail, want);
        assert_string_equal(events(f), "");
}

/* os-release(5): /usr/lib/os-release when /etc/os-release is missing. */
static void test_usr_lib_os_release_fallback(void **state)
{
        struct fake *f = *state;

        install_file(f, "/usr/lib/os-release", "os-release/fedora-40");
        attrs(f, "{\"enable\": true, \"install_packages\": false}");
        assert_int_equal(run(f), 0);
        assert_string_equal(f->units, "dnf-automatic-install.timer");
}

static void test_unreadable_os_release(void **state)
{
        struct fake *f = *state;
        char p[128];

        snprintf(p, sizeof p, "%s/etc/os-release", f->dir);
        spit(p, "x");
        unlink(p);
        assert_int_equal(mkdir(p, 0755), 0);   /* a directory: read() fails with EISDIR */
        attrs(f, "{}");
        assert_int_equal(run(f), -EISDIR);
        assert_has(f->fail, "/etc/os-release: cannot read");
}

/* /etc/os-release missing and /usr/lib/os-release unreadable: the message names the latter. */
static void test_unreadable_fallback_named(void **state)
{
        struct fake *f = *state;
        char p[128];

        snprintf(p, sizeof p, "%s/usr/lib/os-release", f->dir);
        spit(p, "x");
        unlink(p);
        assert_int_equal(mkdir(p, 0755), 0);
        attrs(f, "{}");
        assert_int_equal(run(f), -EISDIR);
        assert_has(f->fail, "/usr/lib/os-release: cannot read");
}

/* An os-release past UU_OS_RELEASE_MAX_BYTES is refused, naming the file. */
static void test_huge_os_release(void **state)
{
        struct fake *f = *state;
        char p[128];
        FILE *fp;

        snprintf(p, sizeof p, "%s/etc/os-release", f->dir);
        spit(p, "ID=debian\n");
        fp = fopen(p, "a");
        assert_non_null(fp);
        for (unsigned i = 0; i < UU_OS_RELEASE_MAX_BYTES; i++)
                fputc('#', fp);
        assert_int_equal(fclose(fp), 0);
        attrs(f, "{}");
        assert_int_equal(run(f), -EFBIG);
        assert_has(f->fail, "/etc/os-release: larger than 65536 bytes");
}

static void test_unknown_system(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/arch");
        attrs(f, "{}");
        assert_int_equal(run(f), -EOPNOTSUPP);
        assert_has(f->fail, "ID=arch ID_LIKE=(none)");
}

static void test_bad_value_fails_before_anything(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/debian-12");
        attrs(f, "{\"mail\": \"two words\"}");
        assert_int_equal(run(f), -EINVAL);
        assert_has(f->fail, "apt.unattended_upgrades.mail");
        assert_string_equal(events(f), "");
}

static void test_write_failure_names_the_file(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/debian-12");
        touch(f, "/usr/bin/unattended-upgrade");
        attrs(f, "{\"enable\": true}");
        f->write_errno = EROFS;
        assert_int_equal(run(f), -EROFS);
        assert_has(f->fail, "/etc/apt/apt.conf.d/20auto-upgrades: cannot write");
        assert_string_equal(events(f), "write ");   /* stops at the first failure */
}

static void test_systemd_failure_names_the_units(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/debian-12");
        touch(f, "/usr/bin/unattended-upgrade");
        attrs(f, "{\"enable\": true}");
        f->units_result = -ECONNREFUSED;
        assert_int_equal(run(f), -ECONNREFUSED);
        assert_has(f->fail, "cannot enable and start apt-daily.timer apt-daily-upgrade.timer through systemd");
        assert_int_equal(f->n_metrics, 0);
}

/* A sandbox root without a bus of its own never reaches the host's systemd. */
static void test_root_without_bus_leaves_host_systemd_alone(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/debian-12");
        attrs(f, "{\"enable\": false, \"install_packages\": false}");
        assert_int_equal(unsetenv("DBUS_SYSTEM_BUS_ADDRESS"), 0);
        assert_int_equal(run(f), 0);
        assert_string_equal(events(f), "write write metric ");
        assert_has(f->out, "apt-daily.timer apt-daily-upgrade.timer: would be stopped and disabled (root prefix and "
                           "no DBUS_SYSTEM_BUS_ADDRESS");
        /* Without a root prefix the system bus is the host's own and is used. */
        f->ctx.root = "";
        assert_int_equal(run(f), 0);
        assert_has(events(f), "units metric ");
        assert_int_equal(f->unit_action, OPSAGENT_UNIT_DISABLE_STOP);
}

static void test_unmapped_keys_warned_on_dnf(void **state)
{
        struct fake *f = *state;

        install_file(f, "/etc/os-release", "os-release/rhel-9");
        touch(f, "/usr/bin/dnf-automatic");
        attrs(f, "{\"enable\": true, \"minimal_steps\": true}");
        assert_int_equal(run(f), 0);
        assert_has(f->log, "apt.unattended_upgrades.minimal_steps has no dnf-automatic equivalent on rhel");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_descriptor),
                T(test_debian_enable),
                T(test_disable_stops_timers_metric_zero),
                T(test_second_run_says_unchanged),
                T(test_installs_missing_tool_without_root),
                T(test_apt_install_retried_after_update),
                T(test_install_failure_fails_the_run),
                T(test_install_failure_is_a_warning_by_default),
                T(test_apt_update_failure_fails_the_run),
                T(test_dnf_install_failure_not_retried),
                T(test_install_timeout_follows_the_budget),
                T(test_install_cannot_start),
                T(test_dnf_install_command),
                T(test_root_or_dry_run_only_announce),
                T(test_install_packages_false_skips_install),
                T(test_missing_os_release_names_path),
                T(test_usr_lib_os_release_fallback),
                T(test_unreadable_os_release),
                T(test_unreadable_fallback_named),
                T(test_huge_os_release),
                T(test_unknown_system),
                T(test_bad_value_fails_before_anything),
                T(test_write_failure_names_the_file),
                T(test_systemd_failure_names_the_units),
                T(test_root_without_bus_leaves_host_systemd_alone),
                T(test_unmapped_keys_warned_on_dnf),
        };
#undef T
        return cmocka_run_group_tests(tests, NULL, NULL);
}
