#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "configure_change.h"
#include "coreattrs.h"
#include "setup.h"
#include "aws/facts.h"
#include "config/layers.h"
#include "config/paths.h"
#include "config/source.h"
#include "run/systemd.h"
#include "run/undo.h"
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

int setup_plan_units(struct attrs *a, const struct plugin_set *plugins, const char *root, bool have_source,
                     struct setup_unit **ret, size_t *ret_n)
{
        struct setup_unit *units;
        size_t n = 0;

        units = calloc(plugins->n + 3, sizeof(*units));
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
        if (unit_file_exists(root, SETUP_LOGS_SERVICE)) {
                struct setup_unit *u = &units[n++];
                json_object *src = attrs_get(a, "cloudwatch_logs.sources"), *runs = attrs_get(a, "opsagent.logs.run_log_group");
                bool has_src = src && json_object_is_type(src, json_type_object) && json_object_object_length(src) > 0;
                bool has_runs = runs && json_object_is_type(runs, json_type_string);

                snprintf(u->name, sizeof(u->name), "%s", SETUP_LOGS_SERVICE);
                u->enable = has_src || has_runs;
                u->why = has_src ? "cloudwatch_logs.sources is set"
                         : has_runs ? "opsagent.logs.run_log_group is set" : "cloudwatch_logs.sources is empty";
        }
        if (unit_file_exists(root, SETUP_CONFIGURE_TIMER)) {
                struct setup_unit *u = &units[n++];

                snprintf(u->name, sizeof(u->name), "%s", SETUP_CONFIGURE_TIMER);
                u->enable = have_source;
                u->why = have_source ? "opsagent.source is configured" : "no opsagent.source";
        }
        *ret = units;
        *ret_n = n;
        return 0;
}

/* Says why R is not run, and notes it in SKIPPED (may be NULL). */
static void skip_recipe(json_object *skipped, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void skip_recipe(json_object *skipped, const char *name, const char *fmt, ...)
{
        char why[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        log_say("%s: not run: %s", name, why);
        if (skipped) {
                json_object *o = json_object_new_object();

                if (o) {
                        json_object_object_add(o, "recipe", json_object_new_string(name));
                        json_object_object_add(o, "why", json_object_new_string(why));
                        json_object_array_add(skipped, o);
                }
        }
}

size_t setup_select_recipes(struct attrs *a, const struct plugin_set *plugins,
                            const struct plugin **selected, json_object *skipped)
{
        size_t n = 0;

        for (size_t i = 0; i < plugins->n; i++) {
                const struct opsagent_recipe *r = plugins->items[i].recipe;
                char path[128];

                if (!(r->flags & OPSAGENT_RECIPE_SETUP))
                        continue;
                snprintf(path, sizeof(path), "opsagent.recipes.%s", r->name);
                if (attr_is_false(a, path)) {
                        skip_recipe(skipped, r->name, "%s is false", path);
                        continue;
                }
                if (!layers_recipe_enabled(a, r) && !layers_attr_given(a, r->attr_root)) {
                        skip_recipe(skipped, r->name, "the attributes set nothing under %s and %s is not true; "
                                    "what it would manage is left as the system has it", r->attr_root, path);
                        continue;
                }
                selected[n++] = &plugins->items[i];
        }
        return n;
}

int setup_save_user_data(const char *user_data, const char *stack_file, const char *state_dir, const char *root,
                         bool dry_run, struct error *err)
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
        /* opsagent creates it: setup --undo and purge take it away again. */
        if (state_dir) {
                r = undo_note_file(state_dir, root, stack_file, err);
                if (r < 0)
                        return r;
        }
        r = write_file_atomic(stack_file, user_data, strlen(user_data), SETUP_STACK_MODE);
        if (r < 0)
                return error_set(err, r, "%s: cannot save the instance user-data there: %s", stack_file,
                                 strerror(-r));
        log_say("saved the instance user-data (Custom JSON) as %s", stack_file);
        return 1;
}

int setup_have_source(const struct paths *p, const char *user_data, struct error *err)
{
        json_object *cfg = NULL;
        int r;

        r = source_config_read(p, user_data, &cfg, err);
        if (r < 0)
                return r;
        r = cfg != NULL;
        json_object_put(cfg);
        return r;
}

/* Under a root prefix the host's systemd is not the sandbox's: it is left alone unless a bus
 * is named explicitly (DBUS_SYSTEM_BUS_ADDRESS, as tests do), as the recipe context does. */
static bool host_systemd_off_limits(const char *root)
{
        return root && root[0] && !getenv("DBUS_SYSTEM_BUS_ADDRESS");
}

static void add_unit_json(json_object *arr, const struct setup_unit *u, const char *result, const char *error)
{
        json_object *o = arr ? json_object_new_object() : NULL;

        if (!o)
                return;
        json_object_object_add(o, "unit", json_object_new_string(u->name));
        json_object_object_add(o, "want", json_object_new_string(u->enable ? "enabled" : "disabled"));
        json_object_object_add(o, "result", json_object_new_string(result));
        json_object_object_add(o, "why", json_object_new_string(u->why));
        json_object_object_add(o, "error", error ? json_object_new_string(error) : NULL);
        json_object_array_add(arr, o);
}

void setup_apply_units(const struct setup_unit *plan, size_t n, bool dry_run, const char *root, json_object *json,
                       struct setup_units_outcome *ret)
{
        struct setup_units_outcome o = { 0 };

        for (size_t i = 0; i < n; i++)
                o.enabled += plan[i].enable;
        if (host_systemd_off_limits(root)) {
                for (size_t i = 0; i < n; i++) {
                        log_say("%s: to be %s (%s); left alone: the host's systemd is not the root prefix's",
                                plan[i].name, plan[i].enable ? "enabled and started" : "stopped and disabled",
                                plan[i].why);
                        add_unit_json(json, &plan[i], "not applied", NULL);
                }
                if (n > 0)
                        log_say("set DBUS_SYSTEM_BUS_ADDRESS to manage the units of another systemd");
                o.not_applied = n;
                *ret = o;
                return;
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
                        add_unit_json(json, &plan[i], "failed", err.msg[0] ? err.msg : strerror(-r));
                        if (o.error == 0)
                                o.error = r;
                        continue;
                }
                add_unit_json(json, &plan[i], r > 0 ? (dry_run ? "would change" : "changed") : "unchanged", NULL);
                if (r > 0) {
                        o.changed++;
                        log_say("%s%s %s (%s)", dry_run ? "would " : "",
                                plan[i].enable ? (dry_run ? "enable and start" : "enabled and started")
                                               : (dry_run ? "stop and disable" : "stopped and disabled"),
                                plan[i].name, plan[i].why);
                }
        }
        *ret = o;
}

/* An enabled recipe with no timer unit file (under a root prefix, a sandbox without units):
 * said, so that "0 of 0 timers" never hides it. */
static void say_missing_timers(struct attrs *a, const struct plugin_set *plugins, const struct setup_unit *plan,
                               size_t n_plan, const char *root)
{
        for (size_t i = 0; i < plugins->n; i++) {
                const struct opsagent_recipe *r = plugins->items[i].recipe;
                char name[SETUP_UNIT_NAME_MAX];
                bool planned = false;

                if ((r->flags & OPSAGENT_RECIPE_SETUP) || !layers_recipe_enabled(a, r))
                        continue;
                snprintf(name, sizeof(name), SETUP_TIMER_PREFIX "%s" SETUP_TIMER_SUFFIX, r->name);
                for (size_t j = 0; j < n_plan && !planned; j++)
                        planned = strcmp(plan[j].name, name) == 0;
                if (!planned)
                        log_say("%s: enabled, but there is no %s in %s" SYSTEMDSYSTEMUNITDIR " or %s" ADMIN_UNIT_DIR
                                ": no timer to enable (opsagent run --all runs it)", r->name, name, root, root);
        }
}

/* The last line: what setup did, and nothing it did not. */
static void say_summary(const struct cli *c, int exit_code, size_t changes, const struct setup_units_outcome *u,
                        size_t n_plan)
{
        char timers[160];

        if (n_plan == 0)
                snprintf(timers, sizeof(timers), "no opsagent timer unit file found");
        else if (u->not_applied)
                snprintf(timers, sizeof(timers), "%zu of %zu timers to be enabled, left alone: root prefix",
                         u->enabled, n_plan);
        else
                snprintf(timers, sizeof(timers), "%zu of %zu timers enabled%s", u->enabled, n_plan,
                         changes == 0 ? ", as the attributes ask" : "");
        if (exit_code != EXIT_OK)
                log_say("setup: finished with errors (see above); run it again once they are fixed");
        else if (changes == 0)
                log_say("setup: %s (%s)", c->dry_run ? "nothing would change" : "nothing changed", timers);
        else
                log_say("setup: %s%zu change%s (%s)", c->dry_run ? "would make " : "", changes, changes == 1 ? "" : "s",
                        timers);
}

int cmd_setup(const struct cli *c)
{
        struct error err = ERROR_INIT;
        struct node n = { 0 };
        const struct plugin **selected = NULL;
        struct setup_unit *plan = NULL;
        struct setup_units_outcome uo = { 0 };
        struct run_request rq = { .dry_run = c->dry_run, .report = !c->no_report };
        json_object *out = NULL, *skipped = NULL, *units = NULL;
        char *stack_file = NULL;
        size_t n_sel = 0, n_plan = 0, changes = 0;
        int exit_code = EXIT_USAGE, saved = 0, r = -ENOMEM;

        if (c->undo) {
                if (c->json || c->n_extra_json || c->no_report) {
                        log_error("setup --undo takes --dry-run only");
                        return EXIT_USAGE;
                }
                return setup_undo(c);
        }
        /* --json: stdout is one object; what setup and the recipes say goes to stderr. */
        if (c->json) {
                log_say_to_stderr(true);
                out = json_object_new_object();
                skipped = json_object_new_array();
                units = json_object_new_array();
                rq.records = json_object_new_array();
                if (!out || !skipped || !units || !rq.records) {
                        error_set(&err, -ENOMEM, "out of memory");
                        goto config_error;
                }
        }
        if (node_load(c, NODE_USER_DATA | NODE_SOURCE, &n) < 0)
                goto out;
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
        r = setup_have_source(&n.paths, n.user_data, &err);
        if (r < 0)
                goto config_error;
        r = setup_plan_units(n.attrs, &n.plugins, n.paths.root, r > 0, &plan, &n_plan);
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

        saved = setup_save_user_data(n.user_data, stack_file, n.paths.state_dir, n.paths.root, c->dry_run, &err);
        if (saved < 0) {
                log_error("%s", err.msg);
                exit_code = EXIT_RECIPE_FAILED;
                saved = 0;
                goto done;
        }

        exit_code = EXIT_OK;
        n_sel = setup_select_recipes(n.attrs, &n.plugins, selected, skipped);
        if (n_sel > 0) {
                exit_code = commands_run_recipes(&n.paths, n.attrs, selected, n_sel, &rq);
                changes += rq.changes;
        }
        say_missing_timers(n.attrs, &n.plugins, plan, n_plan, n.paths.root);
        setup_apply_units(plan, n_plan, c->dry_run, n.paths.root, units, &uo);
        if (uo.error < 0 && exit_code == EXIT_OK)
                exit_code = EXIT_RECIPE_FAILED;
        changes += uo.changed + (size_t)saved;
        /* What setup applied in full, `opsagent configure` need not apply again. */
        if (exit_code == EXIT_OK && !c->dry_run && n.source && !n.source->from_cache &&
            configure_applied_write(n.paths.state_dir, n.source, &err) < 0)
                log_warning("%s: the next opsagent configure applies the stack configuration again", err.msg);
done:
        say_summary(c, exit_code, changes, &uo, n_plan);
        if (out) {
                static const char *const outcomes[] = { [EXIT_OK] = "success", [EXIT_RECIPE_FAILED] = "failed",
                                                        [EXIT_USAGE] = "config_error", [EXIT_LOCKED] = "locked" };

                json_object_object_add(out, "outcome", json_object_new_string(outcomes[exit_code]));
                json_object_object_add(out, "exit_code", json_object_new_int(exit_code));
                json_object_object_add(out, "dry_run", json_object_new_boolean(c->dry_run));
                json_object_object_add(out, "saved_user_data", json_object_new_boolean(saved > 0));
                json_object_object_add(out, "runs", rq.records);
                json_object_object_add(out, "skipped", skipped);
                json_object_object_add(out, "timers", units);
                json_object_object_add(out, "changes", json_object_new_int64((int64_t)changes));
                rq.records = skipped = units = NULL;
        }
        goto out;

config_error:
        log_error("%s", err.msg[0] ? err.msg : strerror(-r));
        exit_code = EXIT_USAGE;
out:
        if (out) {
                if (!json_object_object_get_ex(out, "outcome", NULL)) {
                        json_object_object_add(out, "outcome", json_object_new_string("config_error"));
                        json_object_object_add(out, "exit_code", json_object_new_int(exit_code));
                }
                printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
                                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(out);
        }
        json_object_put(rq.records);
        json_object_put(skipped);
        json_object_put(units);
        free(stack_file);
        free(selected);
        free(plan);
        node_free(&n);
        return exit_code;
}

int setup_undo(const struct cli *c)
{
        struct undo_change *ch = NULL, *kept = NULL;
        struct error err = ERROR_INIT;
        struct paths p;
        size_t n = 0, n_kept = 0, done = 0;
        int r, exit_code = EXIT_USAGE;

        r = paths_init(&p, c->root, c->config_dir, c->state_dir, c->run_dir, &err);
        if (r >= 0 && (r = paths_check_trust(&p, &err)) < 0)
                paths_free(&p);
        if (r < 0) {
                log_error("%s", err.msg);
                return EXIT_USAGE;
        }
        r = undo_read(p.state_dir, &ch, &n, &err);
        if (r < 0) {
                log_error("%s", err.msg);
                goto out;
        }
        exit_code = EXIT_OK;
        if (n == 0) {
                log_say("setup --undo: nothing to put back (no change recorded in %s/" UNDO_SUBDIR ")", p.state_dir);
                goto out;
        }
        kept = calloc(n, sizeof(*kept));
        if (!kept) {
                log_error("out of memory");
                exit_code = EXIT_RECIPE_FAILED;
                goto out;
        }
        /* Newest first: the reverse of how the changes were made. */
        for (size_t i = n; i > 0; i--) {
                struct undo_change *u = &ch[i - 1];
                bool ok = true;

                if (u->kind == UNDO_FILE) {
                        const char *what = u->saved ? "put back as it was" : "removed (opsagent created it)";

                        if (c->dry_run)
                                log_say("%s: would be %s", u->name, what);
                        else if (undo_restore_file(p.state_dir, p.root, u, &err) < 0) {
                                log_error("%s", err.msg);
                                ok = false;
                        } else
                                log_say("%s: %s", u->name, what);
                } else {
                        bool enable = strcmp(u->saved, "enabled") == 0;
                        const char *units[] = { u->name, NULL };
                        const char *what = enable ? "enabled and started" : "stopped and disabled";

                        if (host_systemd_off_limits(p.root)) {
                                log_say("%s: not %s again: the host's systemd is left alone under a root prefix",
                                        u->name, what);
                                ok = false;
                        } else if (c->dry_run)
                                log_say("%s: would be %s again, as it was", u->name, what);
                        else if (systemd_units_set(enable ? OPSAGENT_UNIT_ENABLE_START : OPSAGENT_UNIT_DISABLE_STOP,
                                                   units, false, &err) < 0) {
                                log_error("%s: cannot put it back: %s", u->name, err.msg);
                                ok = false;
                        } else
                                log_say("%s: %s again, as it was", u->name, what);
                }
                if (ok)
                        done++;
                else
                        kept[n_kept++] = *u;
        }
        if (c->dry_run) {
                log_say("setup --undo: would put back %zu change%s", done, done == 1 ? "" : "s");
                goto out;
        }
        /* The record keeps, oldest first again, what was not put back. */
        for (size_t i = 0; i < n_kept / 2; i++) {
                struct undo_change t = kept[i];

                kept[i] = kept[n_kept - 1 - i];
                kept[n_kept - 1 - i] = t;
        }
        if (undo_rewrite(p.state_dir, kept, n_kept, &err) < 0) {
                log_error("%s", err.msg);
                exit_code = EXIT_RECIPE_FAILED;
        }
        if (n_kept > 0) {
                log_say("setup --undo: %zu put back, %zu not (see above); run it again once fixed", done, n_kept);
                exit_code = EXIT_RECIPE_FAILED;
        } else
                log_say("setup --undo: %zu change%s put back", done, done == 1 ? "" : "s");
out:
        free(kept);                       /* its strings are CH's */
        undo_changes_free(ch, n);
        paths_free(&p);
        return exit_code;
}
