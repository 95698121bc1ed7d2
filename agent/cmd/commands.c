#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "coreattrs.h"
#include "aws/facts.h"
#include "aws/imds.h"
#include "config/layers.h"
#include "report/report.h"
#include "run/records.h"
#include "run/runner.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "util/timeutil.h"

int node_load(const struct cli *c, unsigned flags, struct node *ret)
{
        struct error err = ERROR_INIT;
        struct node n = { 0 };
        int r;

        r = paths_init(&n.paths, c->root, c->config_dir, c->state_dir, c->run_dir, &err);
        if (r < 0)
                goto fail;
        /* `run --recipe` maps only the plugins it runs: less memory at 3 a.m. */
        if (c->cmd && (c->cmd->run == cmd_run || c->cmd->run == cmd_recover) && c->n_recipes > 0)
                r = plugins_load_named(n.paths.plugin_path, c->recipes, c->n_recipes, &n.plugins);
        else
                r = plugins_load(n.paths.plugin_path, &n.plugins);
        if (r < 0) {
                error_set(&err, r, "cannot load plugins from %s: %s", n.paths.plugin_path, strerror(-r));
                goto fail;
        }
        for (size_t i = 0; i < n.plugins.n_problems; i++)
                log_warning("%s", n.plugins.problems[i]);
        r = layers_read(&n.paths, (char *const *)c->extra_json, c->n_extra_json, &n.files, &err);
        if (r >= 0)
                r = layers_merge(n.files, core_attr_sections, &n.plugins, NULL, &n.attrs, &err);
        if (r < 0)
                goto fail;
        attrs_register_secrets(n.attrs);
        if ((flags & NODE_USER_DATA) && !layers_have_stack(n.files) && !imds_disabled_by_env() &&
            node_load_instance(&n, INSTANCE_QUIET) == -EINVAL) {
                node_free(&n);
                return -EINVAL;
        }
        *ret = n;
        return 0;
fail:
        log_error("%s", err.msg[0] ? err.msg : strerror(-r));
        node_free(&n);
        return -EINVAL;
}

void node_free(struct node *n)
{
        attrs_free(n->attrs);
        layers_free(n->files);
        free(n->user_data);
        plugins_free(&n->plugins);
        paths_free(&n->paths);
        memset(n, 0, sizeof(*n));
}

int node_load_instance(struct node *n, enum instance_need need)
{
        struct error err = ERROR_INIT;
        json_object *facts = NULL;
        int r;

        if (n->instance == 0) {
                r = instance_facts_load(attrs_tree(n->attrs), &facts, &n->user_data, &err);
                if (r >= 0 && n->user_data && !layers_have_stack(n->files)) {
                        struct attrs *a = NULL;

                        r = layers_merge(n->files, core_attr_sections, &n->plugins, n->user_data, &a, &err);
                        if (r < 0) {
                                log_error("%s", err.msg);
                                json_object_put(facts);
                                return -EINVAL;
                        }
                        attrs_free(n->attrs);
                        n->attrs = a;
                        attrs_register_secrets(n->attrs);
                }
                if (r >= 0) {
                        r = attrs_set_protected(n->attrs, facts, "instance metadata");
                        if (r < 0)
                                error_set(&err, r, "cannot record the instance facts: %s", strerror(-r));
                }
                json_object_put(facts);
                n->instance = r < 0 ? r : 1;
                if (r < 0) {
                        free(n->user_data);
                        n->user_data = NULL;
                        if (!err.msg[0])
                                error_set(&err, r, "%s", strerror(-r));
                        n->instance_error = err;
                }
        }
        if (n->instance > 0)
                return 0;
        /* Said each time a command asks, at the level it asks with; IMDS is asked once. */
        if (need == INSTANCE_REQUIRED)
                log_error("%s", n->instance_error.msg);
        else if (need == INSTANCE_WANTED)
                log_warning("instance facts unavailable: %s", n->instance_error.msg);
        else
                log_debug("instance facts unavailable: %s", n->instance_error.msg);
        return need == INSTANCE_REQUIRED ? -EINVAL : n->instance;
}

static void list_installed(const struct plugin_set *ps, FILE *out)
{
        fprintf(out, "installed recipes:");
        for (size_t i = 0; i < ps->n; i++)
                fprintf(out, " %s", ps->items[i].recipe->name);
        if (ps->n == 0)
                fprintf(out, " none");
        fprintf(out, "\n");
}

/* --recipe NAME... or --all, exactly one of the two; says what is wrong. */
static bool recipe_args_invalid(const struct cli *c)
{
        if (!c->all && c->n_recipes == 0)
                log_error("%s: say which recipes: --recipe NAME (repeatable) or --all", c->cmd->name);
        else if (c->all && c->n_recipes > 0)
                log_error("%s: --all and --recipe exclude each other", c->cmd->name);
        else
                return false;
        return true;
}

/* The recipes named by --recipe, each once, in command-line order, into SEL; -EINVAL (having
 * listed the installed ones) for a name that is not installed. */
static int select_named(const struct cli *c, const struct node *n, const struct plugin **sel, size_t *n_sel)
{
        for (size_t i = 0; i < c->n_recipes; i++) {
                const struct plugin *p = plugins_find(&n->plugins, c->recipes[i]);
                bool dup = false;

                if (!p) {
                        log_error("unknown recipe \"%s\"", c->recipes[i]);
                        list_installed(&n->plugins, stderr);
                        return -EINVAL;
                }
                for (size_t j = 0; j < *n_sel; j++)
                        dup = dup || sel[j] == p;
                if (!dup)
                        sel[(*n_sel)++] = p;
        }
        return 0;
}

/* What run and recover share: checks --recipe/--all, loads the node into *N and selects the
 * named recipes, or with --all every installed one (ENABLED_ONLY: those opsagent.recipes
 * enables). -EINVAL (having said why, *N freed) on a usage or configuration error. */
static int load_selected(const struct cli *c, bool enabled_only, unsigned node_flags, struct node *n,
                         const struct plugin **sel, size_t *n_sel)
{
        *n_sel = 0;
        if (recipe_args_invalid(c) || node_load(c, node_flags, n) < 0)
                return -EINVAL;
        for (size_t i = 0; c->all && i < n->plugins.n; i++)
                if (!enabled_only || layers_recipe_enabled(n->attrs, n->plugins.items[i].recipe))
                        sel[(*n_sel)++] = &n->plugins.items[i];
        if (!c->all && select_named(c, n, sel, n_sel) < 0) {
                node_free(n);
                return -EINVAL;
        }
        return 0;
}

/* After each run: its metrics to CloudWatch (a failure to report never changes the run's
 * outcome). */
static void report_run(void *userdata, struct attrs *a, const struct paths *p, const struct run_record *rec)
{
        struct error err = ERROR_INIT;

        (void)userdata;
        if (report_after_run(attrs_tree(a), p->state_dir, rec, &err) < 0)
                log_warning("%s: metrics not reported: %s", rec->recipe, err.msg);
}

int commands_run_recipes(const struct paths *p, struct attrs *a, const struct plugin *const *sel, size_t n_sel,
                         bool dry_run, bool recover, bool report)
{
        struct run_options o = { .dry_run = dry_run, .recover = recover };
        struct runner_summary sum;

        if (report && !recover) {
                o.after_run = report_run;
                if (!dry_run)
                        report_warm_up(attrs_tree(a));
        }
        runner_run(p, a, sel, n_sel, &o, &sum);
        if (sum.interrupted)
                return EXIT_RECIPE_FAILED;
        if (sum.config_failed > 0)
                return EXIT_USAGE;      /* a recipe refused values of its configuration */
        if (sum.failed > 0)
                return EXIT_RECIPE_FAILED;
        return sum.locked > 0 ? EXIT_LOCKED : EXIT_OK;
}

/* Whether this command's runs will be reported (and so need the instance id and AWS). */
static bool will_report(const struct cli *c, struct attrs *a)
{
        json_object *on = attrs_get(a, "cloudwatch.enabled");

        return !c->no_report && !c->dry_run && !(on && json_object_is_type(on, json_type_boolean) &&
                                                 !json_object_get_boolean(on));
}

int cmd_run(const struct cli *c)
{
        const struct plugin *selected[PLUGIN_MAX];
        struct error err = ERROR_INIT;
        bool needs_instance = false;
        struct node n;
        size_t n_sel;
        int r;

        if (load_selected(c, true, NODE_USER_DATA, &n, selected, &n_sel) < 0)
                return EXIT_USAGE;
        if (n_sel == 0) {
                log_say("no recipe is enabled (set opsagent.recipes.NAME to true in the Custom JSON); nothing to do");
                node_free(&n);
                return EXIT_OK;
        }
        for (size_t i = 0; i < n_sel; i++)
                needs_instance = needs_instance || (selected[i]->recipe->flags & OPSAGENT_RECIPE_NEEDS_INSTANCE);
        if (needs_instance && node_load_instance(&n, INSTANCE_REQUIRED) < 0) {
                node_free(&n);
                return EXIT_USAGE;
        }
        /* The run's metrics name the instance: read its facts once here, not once per report. */
        if (will_report(c, n.attrs))
                (void)node_load_instance(&n, INSTANCE_QUIET);
        r = layers_validate(n.attrs, core_attr_sections, &n.plugins, selected, n_sel, &err);
        if (r < 0) {
                log_error("%s", err.msg);
                node_free(&n);
                return EXIT_USAGE;
        }
        r = commands_run_recipes(&n.paths, n.attrs, selected, n_sel, c->dry_run, false, !c->no_report);
        node_free(&n);
        return r;
}

int cmd_recover(const struct cli *c)
{
        const struct plugin *selected[PLUGIN_MAX];
        struct node n;
        size_t n_sel;
        int r;

        /* Every installed recipe with --all, enabled or not: what a past run left matters even
         * after the recipe was turned off. */
        if (load_selected(c, false, 0, &n, selected, &n_sel) < 0)
                return EXIT_USAGE;
        r = commands_run_recipes(&n.paths, n.attrs, selected, n_sel, c->dry_run, true, false);
        node_free(&n);
        return r;
}

int cmd_recipes(const struct cli *c)
{
        struct node n;
        json_object *arr = NULL;

        if (node_load(c, 0, &n) < 0)
                return EXIT_USAGE;
        if (c->json)
                arr = json_object_new_array();
        for (size_t i = 0; i < n.plugins.n; i++) {
                const struct opsagent_recipe *r = n.plugins.items[i].recipe;
                bool enabled = layers_recipe_enabled(n.attrs, r);

                if (arr) {
                        json_object *o = json_object_new_object();

                        json_object_object_add(o, "name", json_object_new_string(r->name));
                        json_object_object_add(o, "version", json_object_new_string(r->version));
                        json_object_object_add(o, "summary", json_object_new_string(r->summary));
                        json_object_object_add(o, "attributes", json_object_new_string(r->attr_root));
                        json_object_object_add(o, "enabled", json_object_new_boolean(enabled));
                        json_object_object_add(o, "file", json_object_new_string(n.plugins.items[i].file));
                        json_object_array_add(arr, o);
                } else
                        printf("%-22s %-8s %-8s %s\n", r->name, r->version, enabled ? "enabled" : "-", r->summary);
        }
        if (arr) {
                printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
                json_object_put(arr);
        } else if (n.plugins.n == 0)
                printf("no recipes installed in %s\n", n.paths.plugin_path);
        node_free(&n);
        return EXIT_OK;
}

int cmd_attributes(const struct cli *c)
{
        struct error err = ERROR_INIT;
        struct node n;
        int r;

        if (node_load(c, NODE_USER_DATA, &n) < 0)
                return EXIT_USAGE;
        /* Show the instance facts where there are any; off EC2 say why there are none. */
        if (!imds_disabled_by_env())
                (void)node_load_instance(&n, INSTANCE_WANTED);
        r = layers_validate(n.attrs, core_attr_sections, &n.plugins, NULL, 0, &err);
        if (r < 0) {
                log_error("%s", err.msg);
                node_free(&n);
                return EXIT_USAGE;
        }
        r = attrs_print(n.attrs, c->n_args ? c->args[0] : "", c->json, stdout, &err);
        if (r < 0)
                log_error("%s", err.msg);
        node_free(&n);
        return r < 0 ? EXIT_USAGE : EXIT_OK;
}

static void print_record_line(const struct run_record *r, bool with_recipe)
{
        char when[32], dur[32];

        format_utc(r->start_usec, when, sizeof(when));
        format_duration(r->end_usec - r->start_usec, dur, sizeof(dur));
        if (with_recipe)
                printf("%s  %-20s %-11s %-10s%s%s\n", when, r->recipe, run_outcome_to_string(r->outcome), dur,
                       r->dry_run ? "(dry run) " : "", r->error ? r->error : "");
        else
                printf("%s  %-11s %-10s%s%s\n", when, run_outcome_to_string(r->outcome), dur,
                       r->dry_run ? "(dry run) " : "", r->error ? r->error : "");
}

int cmd_status(const struct cli *c)
{
        json_object *arr = NULL;
        struct node n;

        if (node_load(c, 0, &n) < 0)
                return EXIT_USAGE;
        if (c->json)
                arr = json_object_new_array();
        for (size_t i = 0; i < n.plugins.n; i++) {
                const char *name = n.plugins.items[i].recipe->name;
                struct run_record last = { 0 }, ok = { 0 };
                bool have_last = records_last(n.paths.state_dir, name, false, &last) == 0;
                bool have_ok = records_last(n.paths.state_dir, name, true, &ok) == 0;
                bool enabled = layers_recipe_enabled(n.attrs, n.plugins.items[i].recipe);

                if (arr) {
                        json_object *o = json_object_new_object();
                        char when[32];

                        json_object_object_add(o, "recipe", json_object_new_string(name));
                        json_object_object_add(o, "enabled", json_object_new_boolean(enabled));
                        json_object_object_add(o, "last_run", have_last ? run_record_to_json(&last) : NULL);
                        json_object_object_add(o, "last_success",
                                               have_ok ? json_object_new_string(format_utc(ok.start_usec, when,
                                                                                           sizeof(when)))
                                                       : NULL);
                        json_object_array_add(arr, o);
                } else {
                        printf("%-22s %-8s ", name, enabled ? "enabled" : "-");
                        if (have_last)
                                print_record_line(&last, false);
                        else
                                printf("never run\n");
                }
                run_record_clear(&last);
                run_record_clear(&ok);
        }
        if (arr) {
                printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
                json_object_put(arr);
        }
        node_free(&n);
        return EXIT_OK;
}

int cmd_history(const struct cli *c)
{
        struct run_record *recs = NULL;
        struct paths p;
        struct error err = ERROR_INIT;
        size_t n = 0;
        int r;

        if (c->n_recipes > 1) {
                log_error("history: at most one --recipe");
                return EXIT_USAGE;
        }
        r = paths_init(&p, c->root, c->config_dir, c->state_dir, c->run_dir, &err);
        if (r < 0) {
                log_error("%s", err.msg);
                return EXIT_USAGE;
        }
        r = records_list(p.state_dir, c->n_recipes ? c->recipes[0] : NULL, c->limit ? c->limit : 50, &recs, &n);
        if (r < 0 && r != -ENOENT) {
                log_error_errno(r, "%s: cannot read run records: %s", p.state_dir, strerror(-r));
                paths_free(&p);
                return EXIT_USAGE;
        }
        if (c->json) {
                json_object *arr = json_object_new_array();

                for (size_t i = 0; i < n; i++)
                        json_object_array_add(arr, run_record_to_json(&recs[i]));
                printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
                json_object_put(arr);
        } else {
                if (n == 0)
                        printf("no runs recorded in %s\n", p.state_dir);
                for (size_t i = 0; i < n; i++)
                        print_record_line(&recs[i], true);
        }
        records_free(recs, n);
        paths_free(&p);
        return EXIT_OK;
}

int cmd_report(const struct cli *c)
{
        const struct plugin *none[1] = { NULL };
        const char *recipes[REPORT_MAX_RECIPES];
        struct error err = ERROR_INIT;
        enum report_outcome o = REPORT_DISABLED;
        json_object *enabled;
        struct node n;
        size_t nr = 0;
        int r;

        if (node_load(c, NODE_USER_DATA, &n) < 0)
                return EXIT_USAGE;
        /* The core sections only: a recipe's bad attribute must not silence the heartbeat. */
        r = layers_validate(n.attrs, core_attr_sections, &n.plugins, none, 0, &err);
        if (r < 0) {
                log_error("%s", err.msg);
                node_free(&n);
                return EXIT_USAGE;
        }
        /* The heartbeat names the instance (off EC2 the host name stands in). */
        if (!attrs_get(n.attrs, "aws.instance_id") || json_object_is_type(attrs_get(n.attrs, "aws.instance_id"),
                                                                            json_type_null))
                (void)node_load_instance(&n, INSTANCE_QUIET);
        /* Every recipe opsagent.recipes enables, installed or not: a job that was removed
         * but is still wanted must show up as not succeeding. */
        enabled = attrs_get(n.attrs, "opsagent.recipes");
        if (enabled && json_object_is_type(enabled, json_type_object)) {
                json_object_object_foreach(enabled, name, v) {
                        if (!json_object_is_type(v, json_type_boolean) || !json_object_get_boolean(v))
                                continue;
                        if (nr == REPORT_MAX_RECIPES) {
                                log_warning("more than %d recipes enabled: SecondsSinceLastSuccess is sent for "
                                            "the first %d only", REPORT_MAX_RECIPES, REPORT_MAX_RECIPES);
                                break;
                        }
                        recipes[nr++] = name;
                }
        }
        r = report_heartbeat(attrs_tree(n.attrs), n.paths.state_dir, n.paths.root, recipes, nr, &o, &err);
        node_free(&n);
        if (r < 0) {
                log_error("report: %s", err.msg);
                return EXIT_RECIPE_FAILED;
        }
        switch (o) {
        case REPORT_SENT:
                log_say("heartbeat sent to CloudWatch");
                break;
        case REPORT_SPOOLED:
                log_say("CloudWatch cannot be reached: the heartbeat was kept in the spool");
                break;
        case REPORT_DISABLED:
                log_say("reporting is off (cloudwatch.enabled is false); nothing sent");
                break;
        }
        return EXIT_OK;
}
