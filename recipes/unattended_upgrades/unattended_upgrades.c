/* Recipe unattended_upgrades: automatic OS updates from the stack's Custom JSON
 * (apt.unattended_upgrades, as the sous-chefs/apt cookbook had them) on apt, dnf and yum
 * systems. The decisions live in uu_settings.c and uu_plan.c; this file carries them out through
 * the context: install the tool, write its configuration, switch its timers. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <opsagent/recipe.h>

#include "uu_attrs.h"
#include "uu_os_release.h"
#include "uu_plan.h"
#include "uu_settings.h"

#define UU_TIME_BUDGET_SECONDS 900u
/* A package installation gets at most this long (it shares the run's budget). */
#define UU_INSTALL_TIMEOUT_SECONDS 600u
/* Kept back from a package command for the rest of the run. */
#define UU_BUDGET_RESERVE_SECONDS 30u

/* Reads the os-release file under the root: /etc/os-release, else /usr/lib/os-release
 * (os-release(5)). *ret_path names the file read, the one that could not be read, or (when
 * neither exists) /etc/os-release; it is set unless the result is -ENOMEM. */
static int read_os_release(struct opsagent_ctx *ctx, char **ret_text, char **ret_path)
{
        static const char *const candidates[] = { "/etc/os-release", "/usr/lib/os-release" };
        char *first = NULL;
        int r = -ENOENT;

        for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
                char *path = ctx_path(ctx, candidates[i]);
                char *text = NULL;

                if (!path) {
                        free(first);
                        return -ENOMEM;
                }
                /* Beneath the root; /etc/os-release is a link to ../usr/lib/os-release: followed,
                 * but never out of the root. */
                r = ctx_read_file(ctx, candidates[i], UU_OS_RELEASE_MAX_BYTES, &text, NULL, OPSAGENT_PATH_FOLLOW);
                if (r != -ENOENT) {
                        /* Read, or there but unreadable: an error of its own, named by its path. */
                        free(first);
                        if (r == 0)
                                *ret_text = text;
                        *ret_path = path;
                        return r;
                }
                if (!first)
                        first = path;
                else
                        free(path);
        }
        *ret_path = first;
        return r;
}

static int detect(struct opsagent_ctx *ctx, struct uu_os *ret)
{
        char *text = NULL, *path = NULL;
        int r;

        r = read_os_release(ctx, &text, &path);
        if (r == -ENOMEM) {
                r = ctx_fail(ctx, -ENOMEM, "out of memory reading os-release");
                goto out;
        }
        if (r == -ENOENT) {
                r = ctx_fail(ctx, r,
                             "%s: no such file (nor /usr/lib/os-release): cannot tell whether this system "
                             "updates with apt, dnf or yum; restore the file from the base-files, "
                             "system-release or *-release package", path);
                goto out;
        }
        if (r == -EFBIG) {
                r = ctx_fail(ctx, r, "%s: larger than %u bytes; not an os-release file", path,
                             UU_OS_RELEASE_MAX_BYTES);
                goto out;
        }
        if (r < 0) {
                r = ctx_fail(ctx, r, "%s: cannot read: %s", path, strerror(-r));
                goto out;
        }
        r = uu_os_detect(text, ret);
        if (r == -EOPNOTSUPP) {
                char *id = NULL, *like = NULL;

                (void)uu_os_release_value(text, "ID", &id);
                (void)uu_os_release_value(text, "ID_LIKE", &like);
                r = ctx_fail(ctx, r,
                             "%s: ID=%s ID_LIKE=%s is none of Debian, Ubuntu, Amazon Linux, RHEL (and its "
                             "rebuilds) or Fedora, nor like one: no update tool to configure", path,
                             id ? id : "(none)", like ? like : "(none)");
                free(id);
                free(like);
        } else if (r < 0) {
                r = ctx_fail(ctx, r, "%s: cannot parse ID, ID_LIKE or VERSION_ID: %s", path, strerror(-r));
        }
out:
        free(text);
        free(path);
        return r;
}

/* True when one of MARKERS exists under the root. */
static int installed(struct opsagent_ctx *ctx, const struct uu_package *pkg, bool *ret)
{
        for (const char *const *m = pkg->markers; *m; m++) {
                struct stat st;

                /* /usr/sbin and the like are links on merged-/usr systems: followed within the root. */
                if (ctx_stat(ctx, *m, &st, OPSAGENT_PATH_FOLLOW) == 0) {
                        *ret = true;
                        return 0;
                }
        }
        *ret = false;
        return 0;
}

/* A package command's timeout: UU_INSTALL_TIMEOUT_SECONDS, less when the run's budget would
 * end first, keeping a little of it to write the configuration and report the failure. */
static unsigned step_timeout(struct opsagent_ctx *ctx)
{
        uint32_t left = ctx->ops->time_left(ctx);

        if (left == UINT32_MAX || left >= UU_INSTALL_TIMEOUT_SECONDS + UU_BUDGET_RESERVE_SECONDS)
                return UU_INSTALL_TIMEOUT_SECONDS;
        return left > 2 * UU_BUDGET_RESERVE_SECONDS ? left - UU_BUDGET_RESERVE_SECONDS : left / 2 + 1;
}

static int spawn_install(struct opsagent_ctx *ctx, const struct uu_plan *plan, const char *const *argv_words,
                         size_t n, struct opsagent_spawn_result *ret)
{
        const char *argv[UU_INSTALL_ARGV_MAX];
        int r;

        r = uu_plan_install_argv(plan, argv_words, n, argv);
        if (r < 0)
                return r;
        return ctx->ops->spawn(ctx, (char *const *)argv, step_timeout(ctx), ret);
}

/* A failed installation: fails the run when FATAL (fail_on_install_error), else a warning: the
 * configuration is still written, and the run (and `opsagent setup`) goes on. 1 (not fatal) or
 * the negative errno of ctx_fail(). */
__attribute__((format(printf, 4, 5))) static int install_failed(struct opsagent_ctx *ctx, bool fatal, int error,
                                                                 const char *fmt, ...)
{
        char msg[4096];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (fatal)
                return ctx_fail(ctx, error, "%s; or set " UU_ATTR_ROOT ".install_packages to false and install it "
                                "yourself", msg);
        ctx_log(ctx, OPSAGENT_LOG_WARNING, "%s; automatic updates are configured but cannot run until it is "
                "installed: install it (or bake it into the image), or set " UU_ATTR_ROOT ".install_packages to "
                "false (" UU_ATTR_ROOT ".fail_on_install_error true makes this fail the run and the launch)", msg);
        return 1;
}

/* Installs what the plan needs and is missing: 0 when all is there, 1 when the installation
 * failed and that is no failure (fail_on_install_error false), or a negative errno. */
static int install_packages(struct opsagent_ctx *ctx, const struct uu_plan *plan, bool fatal)
{
        const char *missing[UU_PLAN_PACKAGES_MAX];
        struct opsagent_spawn_result res = { 0 };
        const char *step = "installing";
        char list[256] = "";
        size_t n = 0;
        int r;

        for (size_t i = 0; i < plan->n_packages; i++) {
                bool have;

                r = installed(ctx, &plan->packages[i], &have);
                if (r < 0)
                        return ctx_fail(ctx, r, "out of memory checking installed packages");
                if (!have) {
                        missing[n++] = plan->packages[i].name;
                        if (list[0])
                                strncat(list, " ", sizeof list - strlen(list) - 1);
                        strncat(list, plan->packages[i].name, sizeof list - strlen(list) - 1);
                }
        }
        if (n == 0)
                return 0;
        if (ctx->root[0] || ctx->dry_run) {
                ctx_say(ctx, "would install %s with %s (%s: nothing installed)", list, plan->tool,
                        ctx->dry_run ? "dry run" : "root prefix");
                return 0;
        }

        ctx_say(ctx, "installing %s", list);
        r = spawn_install(ctx, plan, missing, n, &res);
        if (r < 0)
                return install_failed(ctx, fatal, r, "cannot start the installation of %s: %s", list, strerror(-r));
        if (res.exit_status != 0 && !res.timed_out && plan->family <= UU_FAMILY_UBUNTU) {
                /* Fresh images often have no package lists yet: refresh them once, then retry. */
                static const char *const update[] = { "/usr/bin/apt-get", "update", "-q", "-o",
                                                      "DPkg::Lock::Timeout=" UU_APT_LOCK_TIMEOUT, NULL };

                ctx_say(ctx, "apt-get install failed; refreshing the package lists and retrying once");
                free(res.output_tail);
                res = (struct opsagent_spawn_result){ 0 };
                r = ctx->ops->spawn(ctx, (char *const *)update, step_timeout(ctx), &res);
                if (r < 0)
                        return install_failed(ctx, fatal, r, "cannot start apt-get update: %s", strerror(-r));
                if (res.exit_status == 0) {
                        free(res.output_tail);
                        res = (struct opsagent_spawn_result){ 0 };
                        r = spawn_install(ctx, plan, missing, n, &res);
                        if (r < 0)
                                return install_failed(ctx, fatal, r, "cannot start the installation of %s: %s",
                                                      list, strerror(-r));
                } else {
                        step = "apt-get update, before installing";
                }
        }
        if (res.exit_status != 0) {
                char how[64];

                if (res.timed_out)
                        snprintf(how, sizeof how, "timed out");
                else if (res.term_signal)
                        snprintf(how, sizeof how, "killed by signal %d", res.term_signal);
                else
                        snprintf(how, sizeof how, "exit status %d", res.exit_status);
                r = install_failed(ctx, fatal, -EIO, "%s %s failed (%s; offline, or no package source?)%s%s", step,
                                   list, how, res.output_tail ? ": " : "", res.output_tail ? res.output_tail : "");
                free(res.output_tail);
                return r;
        }
        free(res.output_tail);
        ctx_say(ctx, "installed %s", list);
        return 0;
}

static int write_files(struct opsagent_ctx *ctx, const struct uu_plan *plan)
{
        for (size_t i = 0; i < plan->n_files; i++) {
                const struct uu_file *f = &plan->files[i];
                int r;

                r = ctx->ops->write_file(ctx, f->path, f->data, strlen(f->data), f->mode, 0);
                if (r < 0)
                        return ctx_fail(ctx, r, "%s: cannot write: %s", f->path, strerror(-r));
                if (r == 0)
                        ctx_say(ctx, "%s: unchanged", f->path);
                else
                        ctx_say(ctx, "%s: %s", f->path, ctx->dry_run ? "would change" : "updated");
        }
        return 0;
}

static int switch_units(struct opsagent_ctx *ctx, const struct uu_plan *plan)
{
        char list[256] = "";
        int r;

        if (!plan->units[0])
                return 0;
        for (const char *const *u = plan->units; *u; u++) {
                if (list[0])
                        strncat(list, " ", sizeof list - strlen(list) - 1);
                strncat(list, *u, sizeof list - strlen(list) - 1);
        }
        if (ctx->root[0] && !getenv("DBUS_SYSTEM_BUS_ADDRESS")) {
                /* A root prefix is a sandbox: enabling or disabling units would change the
                 * host (its /etc/systemd). Only a bus named explicitly (a test's) is used. */
                ctx_say(ctx, "%s: would be %s (root prefix and no DBUS_SYSTEM_BUS_ADDRESS: the host's "
                        "systemd is left alone)", list, plan->enable ? "enabled and started" : "stopped and disabled");
                return 0;
        }
        r = ctx->ops->systemd_units(ctx, plan->enable ? OPSAGENT_UNIT_ENABLE_START : OPSAGENT_UNIT_DISABLE_STOP,
                                    plan->units);
        if (r < 0)
                return ctx_fail(ctx, r, "cannot %s %s through systemd: %s",
                                plan->enable ? "enable and start" : "stop and disable", list, strerror(-r));
        if (r == 0)
                ctx_say(ctx, "%s: already %s (unchanged)", list, plan->enable ? "enabled" : "disabled");
        else
                ctx_say(ctx, "%s: %s%s", list, ctx->dry_run ? "would be " : "",
                        plan->enable ? "enabled and started" : "stopped and disabled");
        return 0;
}

static int run(struct opsagent_ctx *ctx)
{
        struct uu_settings s = { 0 };
        struct uu_plan plan = { 0 };
        struct uu_os os = { 0 };
        const char *unmapped[8];
        bool installed;
        char *err = NULL;
        size_t n;
        int r;

        r = uu_settings_from_json(ctx_attr(ctx, ""), &s, &err);
        if (r < 0) {
                r = err ? ctx_fail(ctx, r, "%s", err) : ctx_fail(ctx, r, "out of memory reading attributes");
                goto out;
        }
        r = detect(ctx, &os);
        if (r < 0)
                goto out;
        r = uu_settings_check_family(&s, os.family, &err);
        if (r < 0) {
                r = err ? ctx_fail(ctx, r, "%s", err) : ctx_fail(ctx, r, "out of memory");
                goto out;
        }
        n = uu_settings_unmapped(&s, os.family, unmapped, sizeof unmapped / sizeof unmapped[0]);
        for (size_t i = 0; i < n; i++)
                ctx_log(ctx, OPSAGENT_LOG_WARNING, "%s.%s has no %s equivalent on %s; ignored", UU_ATTR_ROOT,
                        unmapped[i], os.family == UU_FAMILY_YUM ? "yum-cron" : "dnf-automatic", os.id);

        r = uu_plan_build(&s, os.family, &plan);
        if (r < 0) {
                r = ctx_fail(ctx, r, "cannot render the configuration: %s", strerror(-r));
                goto out;
        }
        ctx_say(ctx, "%s %s: %s, automatic updates %s", os.id, os.version_id, uu_family_name(os.family),
                !s.enable_set ? "left as the system has them (" UU_ATTR_ROOT ".enable is null)"
                : s.enable ? "enabled" : "disabled");
        if (plan.keep_os_defaults && plan.n_files == 0)
                ctx_say(ctx, "%s's configuration is left as it is: it holds whether updates are applied, so "
                        "opsagent writes it only when " UU_ATTR_ROOT ".enable is true or false",
                        os.family == UU_FAMILY_YUM ? "yum-cron" : "dnf-automatic");
        if (s.enable_set && !s.enable)
                /* Setup never weakens a system unless told to, and then says so. */
                ctx_log(ctx, OPSAGENT_LOG_WARNING, UU_ATTR_ROOT ".enable is false: automatic OS updates, security "
                        "updates included, are turned off on this instance");

        r = install_packages(ctx, &plan, s.fail_on_install_error);
        if (r < 0)
                goto out;
        installed = r == 0;
        r = write_files(ctx, &plan);
        if (r < 0)
                goto out;
        if (installed)
                r = switch_units(ctx, &plan);
        else
                ctx_say(ctx, "%s: left as they are (%s is not installed)", plan.units[0] ? plan.units[0] : "units",
                        plan.packages[0].name);
        if (r < 0)
                goto out;
        if (s.enable_set) {
                r = ctx_metric(ctx, "UpgradesEnabled", s.enable && installed ? 1 : 0, "Count");
                if (r < 0)
                        ctx_log(ctx, OPSAGENT_LOG_WARNING, "cannot record metric UpgradesEnabled: %s",
                                strerror(-r));
        }
        r = 0;
out:
        free(err);
        uu_plan_done(&plan);
        uu_os_done(&os);
        uu_settings_done(&s);
        return r;
}

OPSAGENT_RECIPE_DESCRIPTOR("unattended_upgrades", PACKAGE_VERSION,
                           "Automatic OS updates (unattended-upgrades, dnf-automatic, yum-cron)",
                           UU_ATTR_ROOT, uu_defaults_json, uu_schema_json, UU_TIME_BUDGET_SECONDS,
                           OPSAGENT_RECIPE_SETUP | OPSAGENT_RECIPE_CONFIGURE, run);
