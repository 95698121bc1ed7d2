#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "coreattrs.h"
#include "setup.h"
#include "aws/facts.h"
#include "config/layers.h"
#include "config/paths.h"
#include "run/systemd.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"

#ifndef SYSTEMDSYSTEMUNITDIR
#define SYSTEMDSYSTEMUNITDIR "/usr/lib/systemd/system"
#endif
#define ADMIN_UNIT_DIR "/etc/systemd/system"

/* True when unit file NAME exists under ROOT in the package's unit directory or the
 * administrator's. */
static bool unit_file_exists(const char *root, const char *name)
{
        static const char *const dirs[] = { SYSTEMDSYSTEMUNITDIR, ADMIN_UNIT_DIR };
        bool found = false;

        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !found; i++) {
                char *dir = path_under_root(root, dirs[i]);
                char *file = dir ? path_join(dir, name) : NULL;

                found = file && access(file, F_OK) == 0;
                free(file);
                free(dir);
        }
        return found;
}

static bool attr_is_false(struct attrs *a, const char *path)
{
        json_object *v = attrs_get(a, path);

        return v && json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v);
}

int setup_plan_units(struct attrs *a, const struct plugin_set *plugins, const char *root,
                     struct setup_unit **ret, size_t *ret_n)
{
        struct setup_unit *units;
        size_t n = 0;

        units = calloc(plugins->n + 1, sizeof(*units));
        if (!units)
                return -ENOMEM;
        for (size_t i = 0; i < plugins->n; i++) {
                const struct opsagent_recipe *r = plugins->items[i].recipe;
                struct setup_unit *u = &units[n];
                int l;

                l = snprintf(u->name, sizeof(u->name), SETUP_TIMER_PREFIX "%s" SETUP_TIMER_SUFFIX, r->name);
                if (l < 0 || (size_t)l >= sizeof(u->name) || !unit_file_exists(root, u->name))
                        continue;   /* a recipe without a schedule of its own */
                u->enable = layers_recipe_enabled(a, r);
                u->why = u->enable ? "enabled by opsagent.recipes" : "not enabled in opsagent.recipes";
                n++;
        }
        if (unit_file_exists(root, SETUP_REPORT_TIMER)) {
                struct setup_unit *u = &units[n++];

                snprintf(u->name, sizeof(u->name), "%s", SETUP_REPORT_TIMER);
                u->enable = !attr_is_false(a, "cloudwatch.enabled");
                u->why = u->enable ? "health report" : "cloudwatch.enabled is false";
        }
        *ret = units;
        *ret_n = n;
        return 0;
}

size_t setup_select_recipes(struct attrs *a, const struct plugin_set *plugins,
                            const struct plugin **selected)
{
        size_t n = 0;

        for (size_t i = 0; i < plugins->n; i++) {
                const struct opsagent_recipe *r = plugins->items[i].recipe;
                char path[128];

                if (!(r->flags & OPSAGENT_RECIPE_SETUP))
                        continue;
                snprintf(path, sizeof(path), "opsagent.recipes.%s", r->name);
                if (attr_is_false(a, path)) {
                        log_say("%s: not run: %s is false", r->name, path);
                        continue;
                }
                if (!layers_recipe_enabled(a, r) && !layers_attr_given(a, r->attr_root)) {
                        log_say("%s: not run: the attributes set nothing under %s and %s is not true; what "
                                "it would manage is left as the system has it", r->name, r->attr_root, path);
                        continue;
                }
                selected[n++] = &plugins->items[i];
        }
        return n;
}

int setup_save_user_data(const char *user_data, const char *stack_file, bool dry_run, struct error *err)
{
        json_object *obj = NULL;
        struct error perr = ERROR_INIT;
        int r;

        if (!user_data || access(stack_file, F_OK) == 0)
                return 0;
        if (errno != ENOENT)
                return error_set(err, -errno, "%s: cannot check whether it exists: %s", stack_file,
                                 strerror(errno));
        r = json_parse_text(user_data, "instance user-data", &obj, &perr);
        if (r < 0 || !json_object_is_type(obj, json_type_object)) {
                /* A shell script, or JSON that is not an object: someone else's user-data. */
                json_object_put(obj);
                return 0;
        }
        json_object_put(obj);
        if (dry_run) {
                log_say("would save the instance user-data (Custom JSON) as %s", stack_file);
                return 1;
        }
        r = write_file_atomic(stack_file, user_data, strlen(user_data), SETUP_STACK_MODE);
        if (r < 0)
                return error_set(err, r, "%s: cannot save the instance user-data there: %s", stack_file,
                                 strerror(-r));
        log_say("saved the instance user-data (Custom JSON) as %s", stack_file);
        return 1;
}

/* Under a root prefix the host's systemd is not the sandbox's: it is left alone unless a bus
 * is named explicitly (DBUS_SYSTEM_BUS_ADDRESS, as tests do), as the recipe context does. */
static bool host_systemd_off_limits(const char *root)
{
        return root && root[0] && !getenv("DBUS_SYSTEM_BUS_ADDRESS");
}

/* Applies PLAN through systemd; returns how many units changed, or the first error (the
 * other units are still tried). */
static int apply_units(const struct setup_unit *plan, size_t n, bool dry_run, const char *root,
                       size_t *ret_changed)
{
        size_t changed = 0;
        int ret = 0;

        if (host_systemd_off_limits(root)) {
                for (size_t i = 0; i < n; i++)
                        log_say("%s: would be %s (%s)", plan[i].name,
                                plan[i].enable ? "enabled and started" : "stopped and disabled", plan[i].why);
                if (n > 0)
                        log_say("the host's systemd is left alone under a root prefix; set "
                                "DBUS_SYSTEM_BUS_ADDRESS to manage the units of another systemd");
                *ret_changed = 0;
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                const char *units[] = { plan[i].name, NULL };
                enum opsagent_unit_action action = plan[i].enable ? OPSAGENT_UNIT_ENABLE_START
                                                                  : OPSAGENT_UNIT_DISABLE_STOP;
                struct error err = ERROR_INIT;
                int r;

                r = systemd_units_set(action, units, dry_run, &err);
                if (r < 0) {
                        log_error("%s: cannot %s it: %s", plan[i].name,
                                  plan[i].enable ? "enable and start" : "stop and disable",
                                  err.msg[0] ? err.msg : strerror(-r));
                        if (ret == 0)
                                ret = r;
                        continue;
                }
                if (r > 0) {
                        changed++;
                        log_say("%s%s %s (%s)", dry_run ? "would " : "",
                                plan[i].enable ? (dry_run ? "enable and start" : "enabled and started")
                                               : (dry_run ? "stop and disable" : "stopped and disabled"),
                                plan[i].name, plan[i].why);
                }
        }
        *ret_changed = changed;
        return ret;
}

int cmd_setup(const struct cli *c)
{
        struct error err = ERROR_INIT;
        struct node n = { 0 };
        const struct plugin **selected = NULL;
        struct setup_unit *plan = NULL;
        char *stack_file = NULL;
        size_t n_sel = 0, n_plan = 0, n_changed = 0, n_enabled = 0;
        int exit_code = EXIT_USAGE, saved = 0, r;

        if (node_load(c, NODE_USER_DATA, &n) < 0)
                return EXIT_USAGE;
        r = node_load_instance(&n, INSTANCE_QUIET);
        if (r < 0) {
                error_set(&err, r, "setup needs the instance metadata: %s", n.instance_error.msg);
                goto config_error;
        }
        /* Bad input changes nothing: validate everything before the first change. */
        r = layers_validate(n.attrs, core_attr_sections, &n.plugins, NULL, 0, &err);
        if (r < 0)
                goto config_error;
        node_warn_unknown_enabled(&n);
        r = setup_plan_units(n.attrs, &n.plugins, n.paths.root, &plan, &n_plan);
        if (r < 0) {
                error_set(&err, r, "out of memory");
                goto config_error;
        }
        selected = calloc(n.plugins.n + 1, sizeof(*selected));
        stack_file = path_join(n.paths.config_dir, SETUP_STACK_FILE);
        if (!selected || !stack_file) {
                error_set(&err, -ENOMEM, "out of memory");
                goto config_error;
        }
        if (!c->dry_run) {
                r = mkdir_p(n.paths.config_dir, 0755);
                if (r < 0) {
                        error_set(&err, r, "%s: cannot create it: %s", n.paths.config_dir, strerror(-r));
                        goto config_error;
                }
        }

        saved = setup_save_user_data(n.user_data, stack_file, c->dry_run, &err);
        if (saved < 0) {
                log_error("%s", err.msg);
                exit_code = EXIT_RECIPE_FAILED;
                goto out;
        }

        exit_code = EXIT_OK;
        n_sel = setup_select_recipes(n.attrs, &n.plugins, selected);
        if (n_sel > 0)
                exit_code = commands_run_recipes(&n.paths, n.attrs, selected, n_sel,
                                                 &(struct run_request){ .dry_run = c->dry_run,
                                                                        .report = !c->no_report });

        r = apply_units(plan, n_plan, c->dry_run, n.paths.root, &n_changed);
        if (r < 0 && exit_code == EXIT_OK)
                exit_code = EXIT_RECIPE_FAILED;
        for (size_t i = 0; i < n_plan; i++)
                n_enabled += plan[i].enable;
        if (exit_code != EXIT_OK)
                log_say("setup: finished with errors (see above); run it again once they are fixed");
        else if (n_changed == 0 && saved == 0)
                log_say("setup: nothing changed (%zu of %zu timers enabled, as the attributes ask)",
                        n_enabled, n_plan);
        else
                log_say("setup: %s%zu change%s (%zu of %zu timers enabled)", c->dry_run ? "would make " : "",
                        n_changed + (size_t)saved, n_changed + (size_t)saved == 1 ? "" : "s", n_enabled,
                        n_plan);
        goto out;

config_error:
        log_error("%s", err.msg[0] ? err.msg : strerror(-r));
        exit_code = EXIT_USAGE;
out:
        free(stack_file);
        free(selected);
        free(plan);
        node_free(&n);
        return exit_code;
}
