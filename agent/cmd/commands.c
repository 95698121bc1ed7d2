#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "configure.h"
#include "coreattrs.h"
#include "table.h"
#include "aws/facts.h"
#include "aws/imds.h"
#include "config/layers.h"
#include "config/schema.h"
#include "config/source.h"
#include "aws/session.h"
#include "report/report.h"
#include "run/lock.h"
#include "run/records.h"
#include "run/runlines.h"
#include "run/runner.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "util/timeutil.h"

const char *node_access_hint(int error, uid_t euid)
{
        /* The files are root's (stack.json is 0600): the way out is to be root too. */
        if ((error == -EACCES || error == -EPERM) && euid != 0)
                return " (opsagent runs as root, and its files are root's: run it with sudo)";
        return "";
}

int node_load(const struct cli *c, unsigned flags, struct node *ret)
{
        struct error err = ERROR_INIT;
        struct node n = { 0 };
        int r;

        r = paths_init(&n.paths, c->root, c->config_dir, c->state_dir, c->run_dir, &err);
        if (r >= 0)
                r = paths_check_trust(&n.paths, &err);
        if (r < 0)
                goto fail;
        /* `run --recipe` maps only the plugins it runs: less memory at 3 a.m. */
        if (flags & NODE_NO_PLUGINS)
                r = 0;
        else if (c->cmd && (c->cmd->run == cmd_run || c->cmd->run == cmd_recover) && c->n_recipes > 0)
                r = plugins_load_named(n.paths.plugin_path, c->recipes, c->n_recipes, &n.plugins, &err);
        else
                r = plugins_load(n.paths.plugin_path, &n.plugins, &err);
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
        if ((flags & NODE_SOURCE) && node_load_source(&n, 0) < 0) {
                node_free(&n);
                return -EINVAL;
        }
        *ret = n;
        return 0;
fail:
        log_error("%s%s", err.msg[0] ? err.msg : strerror(-r), node_access_hint(err.code ? err.code : r, geteuid()));
        node_free(&n);
        return -EINVAL;
}

void node_free(struct node *n)
{
        attrs_free(n->attrs);
        layers_free(n->files);
        free(n->user_data);
        json_object_put(n->facts);
        source_set_free(n->source);
        plugins_free(&n->plugins);
        paths_free(&n->paths);
        memset(n, 0, sizeof(*n));
}

/* Merges N's layers again (with the user-data in stack.json's place when there is none, the
 * source's documents, and the instance facts), replacing N's attributes. */
static int node_remerge(struct node *n, struct error *err)
{
        struct attrs *a = NULL;
        int r;

        r = layers_merge_source(n->files, core_attr_sections, &n->plugins,
                                layers_have_stack(n->files) ? NULL : n->user_data, n->source, &a, err);
        if (r >= 0 && n->facts) {
                r = attrs_set_protected(a, n->facts, "instance metadata");
                if (r < 0)
                        error_set(err, r, "cannot record the instance facts: %s", strerror(-r));
        }
        if (r < 0) {
                attrs_free(a);
                return r;
        }
        attrs_free(n->attrs);
        n->attrs = a;
        attrs_register_secrets(n->attrs);
        return 0;
}

int node_load_instance(struct node *n, enum instance_need need)
{
        struct error err = ERROR_INIT;
        json_object *facts = NULL;
        int r;

        if (n->instance == 0) {
                r = instance_facts_load(attrs_tree(n->attrs), &facts, &n->user_data, &err);
                if (r >= 0 && n->user_data && !layers_have_stack(n->files)) {
                        r = node_remerge(n, &err);
                        if (r < 0) {
                                log_error("%s", err.msg);
                                json_object_put(facts);
                                return -EINVAL;
                        }
                }
                if (r >= 0) {
                        r = attrs_set_protected(n->attrs, facts, "instance metadata");
                        if (r < 0)
                                error_set(&err, r, "cannot record the instance facts: %s", strerror(-r));
                }
                if (r >= 0) {
                        n->facts = facts;
                        facts = NULL;
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
        else if (need == INSTANCE_WANTED || n->instance == -EACCES)
                /* Refused (a session token, a path) is a metadata service that answered: this is
                 * EC2, and without the facts the metrics name the host instead of the instance. */
                log_warning("instance facts unavailable: %s", n->instance_error.msg);
        else
                log_debug("instance facts unavailable: %s", n->instance_error.msg);
        return need == INSTANCE_REQUIRED ? -EINVAL : n->instance;
}

/* "3 h 20 min", "5 min", "2 d 4 h" for SECONDS. */
static void format_age(long long seconds, char *buf, size_t size)
{
        if (seconds < 0)
                seconds = 0;
        if (seconds < 3600)
                snprintf(buf, size, "%lld min", seconds / 60);
        else if (seconds < 86400)
                snprintf(buf, size, "%lld h %lld min", seconds / 3600, seconds % 3600 / 60);
        else
                snprintf(buf, size, "%lld d %lld h", seconds / 86400, seconds % 86400 / 3600);
}

int node_load_source(struct node *n, unsigned fetch_flags)
{
        struct error err = ERROR_INIT;
        struct aws_session *s = NULL;
        struct source_set *set = NULL;
        json_object *cfg = NULL;
        char *label = NULL;
        int r;

        r = source_config_read(&n->paths, n->user_data, &cfg, &err);
        if (r < 0 || !cfg)
                goto out;
        label = source_config_label(cfg);
        if (!label) {
                r = error_set(&err, -ENOMEM, "out of memory");
                goto out;
        }
        r = aws_session_new(attrs_tree(n->attrs), NULL, &s, &err);
        if (r < 0) {
                error_prefix(&err, "stack configuration source %s", label);
                goto out;
        }
        r = source_fetch(s, cfg, n->paths.state_dir, fetch_flags, &set, &err);
        if (r < 0) {
                error_prefix(&err, "stack configuration source %s", label);
                goto out;
        }
        if (set->from_cache) {
                char age[64];

                format_age((long long)time(NULL) - set->fetched_at, age, sizeof(age));
                log_warning("stack configuration source %s: %s; using the cached copy fetched %s ago (%s/%s/%s)",
                            label, err.msg[0] ? err.msg : "the service cannot be reached", age, n->paths.state_dir,
                            SOURCE_CACHE_DIR, SOURCE_CACHE_FILE);
                error_clear(&err);
        }
        source_set_free(n->source);
        n->source = set;
        set = NULL;
        r = node_remerge(n, &err);
out:
        if (r < 0)
                log_error("%s", err.msg[0] ? err.msg : strerror(-r));
        source_set_free(set);
        aws_session_free(s);
        json_object_put(cfg);
        free(label);
        return r < 0 ? -EINVAL : 0;
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

/* The installed recipe NAME is closest to, when it looks like a typo of one; else NULL. */
static const char *near_recipe(const struct plugin_set *ps, const char *name)
{
        const char *names[PLUGIN_MAX];
        size_t n = 0;

        for (size_t i = 0; i < ps->n && n < PLUGIN_MAX; i++)
                names[n++] = ps->items[i].recipe->name;
        return did_you_mean(name, names, n);
}

/* "unknown recipe "NAME" (did you mean NEAR?)", and the installed ones. */
static void say_unknown_recipe(const struct plugin_set *ps, const char *name)
{
        const char *near = near_recipe(ps, name);

        if (near)
                log_error("unknown recipe \"%s\" (did you mean %s?)", name, near);
        else
                log_error("unknown recipe \"%s\"", name);
        list_installed(ps, stderr);
}

void node_warn_unknown_enabled(struct node *n)
{
        json_object *recipes = attrs_get(n->attrs, "opsagent.recipes");

        if (!recipes || !json_object_is_type(recipes, json_type_object))
                return;
        json_object_object_foreach(recipes, name, v) {
                const char *origin, *near;
                char path[256];

                if (!json_object_is_type(v, json_type_boolean) || !json_object_get_boolean(v) ||
                    plugins_find(&n->plugins, name))
                        continue;
                snprintf(path, sizeof(path), "opsagent.recipes.%s", name);
                origin = attrs_origin(n->attrs, path);
                near = near_recipe(&n->plugins, name);
                if (near)
                        log_warning("%s: %s is true but no recipe \"%s\" is installed (did you mean %s?)",
                                    origin ? origin : "attributes", path, name, near);
                else
                        log_warning("%s: %s is true but no recipe \"%s\" is installed; `opsagent recipes` lists "
                                    "those that are", origin ? origin : "attributes", path, name);
        }
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
                        say_unknown_recipe(&n->plugins, c->recipes[i]);
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

/* After each run: its record for --json, its metrics to CloudWatch (a failure to report never
 * changes the run's outcome). */
static void after_run(void *userdata, struct attrs *a, const struct paths *p, const struct run_record *rec)
{
        const struct run_request *rq = userdata;
        struct error err = ERROR_INIT;

        if (rq->records) {
                json_object *o = run_record_to_json(rec);

                if (!o || json_object_array_add(rq->records, o) < 0) {
                        json_object_put(o);
                        log_warning("%s: out of memory: the run is missing from the JSON output", rec->recipe);
                }
        }
        if (rq->report && report_after_run(attrs_tree(a), p->state_dir, rec, &err) < 0)
                log_warning("%s: metrics not reported: %s", rec->recipe, err.msg);
        if (!rec->dry_run && json_object_is_type(attrs_get(a, "opsagent.logs.run_log_group"), json_type_string)) {
                int r = runlines_append(p->state_dir, rec);

                if (r < 0)
                        log_warning("%s: the run's line for opsagent.logs.run_log_group was not written to "
                                    "%s/%s/%s: %s", rec->recipe, p->state_dir, RUNLINES_DIR, RUNLINES_FILE,
                                    strerror(-r));
        }
}

int commands_run_recipes(const struct paths *p, struct attrs *a, const struct plugin *const *sel, size_t n_sel,
                         struct run_request *rq)
{
        struct run_options o = { .dry_run = rq->dry_run, .recover = rq->recover };
        struct runner_summary sum;

        if (!rq->recover && (rq->report || rq->records ||
                             json_object_is_type(attrs_get(a, "opsagent.logs.run_log_group"), json_type_string))) {
                o.after_run = after_run;
                o.userdata = (void *)rq;
        }
        if (rq->report && !rq->recover && !rq->dry_run)
                report_warm_up(attrs_tree(a));
        runner_run(p, a, sel, n_sel, &o, &sum);
        rq->changes = sum.changes;
        if (sum.failed > 0 || sum.interrupted)
                return EXIT_RECIPE_FAILED;
        if (sum.config_errors > 0)
                return EXIT_USAGE;
        return sum.locked > 0 ? EXIT_LOCKED : EXIT_OK;
}

void commands_print_json_lines(json_object *records)
{
        for (size_t i = 0; records && i < json_object_array_length(records); i++)
                printf("%s\n", json_object_to_json_string_ext(json_object_array_get_idx(records, i),
                                                              JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        fflush(stdout);
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
        struct run_request rq = { .dry_run = c->dry_run, .report = !c->no_report };
        struct error err = ERROR_INIT;
        bool needs_instance = false;
        struct node n;
        size_t n_sel;
        int r;

        /* --json: stdout is the runs' records, one JSON object a line; what is said goes to stderr. */
        if (c->json)
                log_say_to_stderr(true);
        if (load_selected(c, true, NODE_USER_DATA | NODE_SOURCE, &n, selected, &n_sel) < 0)
                return EXIT_USAGE;
        if (c->all)
                node_warn_unknown_enabled(&n);
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
        rq.records = c->json ? json_object_new_array() : NULL;
        if (c->json && !rq.records) {
                log_error("out of memory");
                node_free(&n);
                return EXIT_RECIPE_FAILED;
        }
        r = commands_run_recipes(&n.paths, n.attrs, selected, n_sel, &rq);
        commands_print_json_lines(rq.records);
        json_object_put(rq.records);
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
        r = commands_run_recipes(&n.paths, n.attrs, selected, n_sel,
                                 &(struct run_request){ .dry_run = c->dry_run, .recover = true });
        node_free(&n);
        return r;
}

/* Prints T (header unless --no-header), cut to the terminal's width; frees it. */
static void print_table(const struct cli *c, struct table *t)
{
        table_print(t, !c->no_header, table_output_width(), stdout);
        table_free(t);
}

static const char *enabled_word(bool enabled)
{
        return enabled ? "enabled" : "not enabled";
}

int cmd_recipes(const struct cli *c)
{
        static const char *const headers[] = { "RECIPE", "VERSION", "ENABLED", "SUMMARY" };
        json_object *arr = NULL;
        struct table *t = NULL;
        struct node n;
        int r = 0;

        if (node_load(c, 0, &n) < 0)
                return EXIT_USAGE;
        if (c->json)
                arr = json_object_new_array();
        else
                r = table_new(4, headers, &t);
        if ((c->json && !arr) || r < 0) {
                log_error("out of memory");
                node_free(&n);
                return EXIT_RECIPE_FAILED;
        }
        for (size_t i = 0; i < n.plugins.n; i++) {
                const struct opsagent_recipe *p = n.plugins.items[i].recipe;
                bool enabled = layers_recipe_enabled(n.attrs, p);

                if (arr) {
                        json_object *o = json_object_new_object();

                        json_object_object_add(o, "name", json_object_new_string(p->name));
                        json_object_object_add(o, "version", json_object_new_string(p->version));
                        json_object_object_add(o, "summary", json_object_new_string(p->summary));
                        json_object_object_add(o, "attributes", json_object_new_string(p->attr_root));
                        json_object_object_add(o, "enabled", json_object_new_boolean(enabled));
                        json_object_object_add(o, "file", json_object_new_string(n.plugins.items[i].file));
                        json_object_array_add(arr, o);
                } else if (table_add(t, (const char *const[]){ p->name, p->version, enabled_word(enabled),
                                                                p->summary }) < 0)
                        log_warning("out of memory: recipe %s not listed", p->name);
        }
        if (arr) {
                printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
                json_object_put(arr);
        } else if (n.plugins.n == 0) {
                table_free(t);
                printf("no recipes installed in %s\n", n.paths.plugin_path);
        } else
                print_table(c, t);
        node_free(&n);
        return EXIT_OK;
}

/* The existing dotted path that PATH is a typo of (one key misspelt, the first one that does
 * not exist), into BUF; false when there is none close enough. */
static bool attr_path_near(json_object *tree, const char *path, char *buf, size_t size)
{
        json_object *cur = tree;
        const char *p = path;
        size_t used = 0;

        while (p && *p) {
                const char *dot = strchr(p, '.');
                size_t n = dot ? (size_t)(dot - p) : strlen(p);
                const char *keys[256], *near = NULL;
                size_t nk = 0;
                json_object *next = NULL;
                char key[256];

                if (n == 0 || n >= sizeof(key) || !json_object_is_type(cur, json_type_object))
                        return false;
                memcpy(key, p, n);
                key[n] = '\0';
                if (!json_object_object_get_ex(cur, key, &next)) {
                        json_object_object_foreach(cur, k, v) {
                                (void)v;
                                if (nk < sizeof(keys) / sizeof(keys[0]))
                                        keys[nk++] = k;
                        }
                        near = did_you_mean(key, keys, nk);
                        if (!near || !json_object_object_get_ex(cur, near, &next))
                                return false;
                        memcpy(key, near, strlen(near) + 1);
                }
                if ((size_t)snprintf(buf + used, size - used, "%s%s", used ? "." : "", key) >= size - used)
                        return false;
                used = strlen(buf);
                cur = next;
                p = dot ? dot + 1 : NULL;
        }
        return strcmp(buf, path) != 0;
}

int cmd_attributes(const struct cli *c)
{
        struct error err = ERROR_INIT;
        struct node n;
        int r;

        if (node_load(c, NODE_USER_DATA | NODE_SOURCE, &n) < 0)
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
        node_warn_unknown_enabled(&n);
        r = attrs_print(n.attrs, c->n_args ? c->args[0] : "", c->json, stdout, &err);
        if (r == -ENOENT) {
                char near[512];

                if (attr_path_near(attrs_tree(n.attrs), c->args[0], near, sizeof(near)))
                        log_error("no attribute %s (did you mean %s?)", c->args[0], near);
                else
                        log_error("%s", err.msg);
        } else if (r < 0)
                log_error("%s", err.msg);
        node_free(&n);
        return r < 0 ? EXIT_USAGE : EXIT_OK;
}

/* A record's outcome as a table shows it: "success", "failed", ..., "success (dry run)". */
static const char *outcome_cell(const struct run_record *r, char *buf, size_t size)
{
        snprintf(buf, size, "%s%s", run_outcome_to_string(r->outcome), r->dry_run ? " (dry run)" : "");
        return buf;
}

/* One row of `status`: NAME's last run (dry runs are no outcome), or the run holding its lock
 * right now. Sets *ret_failed when the last run did not succeed. */
static int status_row(const struct node *n, const struct opsagent_recipe *p, struct table *t, json_object *arr,
                      bool *ret_failed)
{
        struct run_record last = { 0 }, ok = { 0 };
        bool enabled = layers_recipe_enabled(n->attrs, p), have_last, have_ok;
        char when[32], since[32], dur[32], out[48], note[96];
        int64_t since_usec = 0;
        pid_t holder = 0;
        int running, r;

        /* "never run" only when there is no record: a state directory this user cannot read
         * is an error (run_record_clear() of a zeroed record is a no-op). */
        r = records_last(n->paths.state_dir, p->name, RECORDS_NO_DRY_RUN, &last);
        if (r < 0 && r != -ENOENT)
                goto out;
        have_last = r == 0;
        r = records_last(n->paths.state_dir, p->name, RECORDS_SUCCESS_ONLY | RECORDS_NO_DRY_RUN, &ok);
        if (r < 0 && r != -ENOENT)
                goto out;
        have_ok = r == 0;
        r = 0;

        running = run_lock_probe(n->paths.run_dir, p->name, RUN_LOCK_KERNEL_LIST, &holder, &since_usec);
        if (running < 0)
                log_debug_errno(running, "%s: cannot tell whether a run holds the lock: %m", p->name);
        *ret_failed = have_last && last.outcome != RUN_SUCCESS;
        if (arr) {
                json_object *o = json_object_new_object(), *run = NULL;

                if (!o) {
                        r = -ENOMEM;
                        goto out;
                }
                json_object_object_add(o, "recipe", json_object_new_string(p->name));
                json_object_object_add(o, "enabled", json_object_new_boolean(enabled));
                json_object_object_add(o, "last_run", have_last ? run_record_to_json(&last) : NULL);
                json_object_object_add(o, "last_success",
                                       have_ok ? json_object_new_string(format_utc(ok.start_usec, when, sizeof(when)))
                                               : NULL);
                if (running > 0) {
                        run = json_object_new_object();
                        if (run) {
                                json_object_object_add(run, "since", json_object_new_string(
                                                                             format_utc(since_usec, since, sizeof(since))));
                                json_object_object_add(run, "pid", holder > 0 ? json_object_new_int(holder) : NULL);
                        }
                }
                json_object_object_add(o, "running", run);
                json_object_array_add(arr, o);
        } else if (running > 0) {
                format_utc(since_usec, since, sizeof(since));
                format_duration(now_realtime_usec() - since_usec, dur, sizeof(dur));
                if (holder > 0)
                        snprintf(note, sizeof(note), "running since %s (pid %d)", since, (int)holder);
                else
                        snprintf(note, sizeof(note), "running since %s", since);
                strncat(dur, " so far", sizeof(dur) - strlen(dur) - 1);
                r = table_add(t, (const char *const[]){ p->name, enabled_word(enabled), since, "running", dur, note });
        } else if (have_last) {
                format_utc(last.start_usec, when, sizeof(when));
                format_duration(last.end_usec - last.start_usec, dur, sizeof(dur));
                r = table_add(t, (const char *const[]){ p->name, enabled_word(enabled), when,
                                                         outcome_cell(&last, out, sizeof(out)), dur, last.error });
        } else
                r = table_add(t, (const char *const[]){ p->name, enabled_word(enabled), "never run", NULL, NULL, NULL });
out:
        run_record_clear(&last);
        run_record_clear(&ok);
        return r;
}

int cmd_status(const struct cli *c)
{
        static const char *const headers[] = { "RECIPE", "ENABLED", "LAST RUN (UTC)", "OUTCOME", "DURATION", "ERROR" };
        json_object *arr = NULL;
        struct table *t = NULL;
        bool any_failed = false;
        struct node n;
        int r = 0;

        if (node_load(c, 0, &n) < 0)
                return EXIT_USAGE;
        if (c->json)
                arr = json_object_new_array();
        else
                r = table_new(6, headers, &t);
        for (size_t i = 0; r >= 0 && (arr || t) && i < n.plugins.n; i++) {
                const struct opsagent_recipe *p = n.plugins.items[i].recipe;
                bool failed = false;

                r = status_row(&n, p, t, arr, &failed);
                /* Exit 1 when an enabled recipe's last run did not succeed: for monitoring. */
                any_failed = any_failed || (failed && layers_recipe_enabled(n.attrs, p));
        }
        if (r < 0 && r != -ENOMEM) {
                log_error_errno(r, "%s: cannot read run records: %s%s", n.paths.state_dir, strerror(-r),
                                node_access_hint(r, geteuid()));
                json_object_put(arr);
                table_free(t);
                node_free(&n);
                return EXIT_USAGE;
        }
        if (r < 0 || (!arr && !t)) {
                log_error("out of memory");
                json_object_put(arr);
                table_free(t);
                node_free(&n);
                return EXIT_RECIPE_FAILED;
        }
        if (arr) {
                printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
                json_object_put(arr);
        } else
                print_table(c, t);
        node_free(&n);
        return any_failed ? EXIT_RECIPE_FAILED : EXIT_OK;
}

int cmd_history(const struct cli *c)
{
        static const char *const headers[] = { "STARTED (UTC)", "RECIPE", "OUTCOME", "DURATION", "ERROR" };
        const char *recipe = c->n_recipes ? c->recipes[0] : NULL;
        struct plugin_set plugins = { 0 };
        struct run_record *recs = NULL;
        struct error err = ERROR_INIT;
        struct table *t = NULL;
        struct paths paths;
        size_t n = 0;
        int r, exit_code = EXIT_USAGE;

        if (c->n_recipes > 1) {
                log_error("history: at most one --recipe");
                return EXIT_USAGE;
        }
        /* The records and the recipes' names only: a broken attribute file does not hide the
         * history. */
        r = paths_init(&paths, c->root, c->config_dir, c->state_dir, c->run_dir, &err);
        if (r >= 0 && (r = paths_check_trust(&paths, &err)) < 0)
                paths_free(&paths);
        if (r < 0) {
                log_error("%s%s", err.msg, node_access_hint(err.code ? err.code : r, geteuid()));
                return EXIT_USAGE;
        }
        r = records_list(paths.state_dir, recipe, c->limit ? c->limit : 50, &recs, &n);
        if (r < 0 && r != -ENOENT) {
                log_error_errno(r, "%s: cannot read run records: %s%s", paths.state_dir, strerror(-r),
                                node_access_hint(r, geteuid()));
                goto out;
        }
        /* A removed recipe still has its history; a name with neither is a typo (but for
         * `opsagent configure`'s own records, which may be none yet). */
        if (recipe && n == 0 && strcmp(recipe, CONFIGURE_RECORD) != 0) {
                r = plugins_load(paths.plugin_path, &plugins, &err);
                if (r < 0) {
                        error_set(&err, r, "cannot load plugins from %s: %s", paths.plugin_path, strerror(-r));
                        log_error("%s", err.msg);
                        goto out;
                }
                if (!plugins_find(&plugins, recipe)) {
                        say_unknown_recipe(&plugins, recipe);
                        goto out;
                }
        }
        exit_code = EXIT_OK;
        if (c->json) {
                json_object *arr = json_object_new_array();

                for (size_t i = 0; i < n; i++)
                        json_object_array_add(arr, run_record_to_json(&recs[i]));
                printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
                json_object_put(arr);
                goto out;
        }
        if (n == 0) {
                if (recipe)
                        printf("no runs of %s recorded in %s\n", recipe, paths.state_dir);
                else
                        printf("no runs recorded in %s\n", paths.state_dir);
                goto out;
        }
        r = table_new(5, headers, &t);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char when[32], dur[32], out[48];

                format_utc(recs[i].start_usec, when, sizeof(when));
                format_duration(recs[i].end_usec - recs[i].start_usec, dur, sizeof(dur));
                r = table_add(t, (const char *const[]){ when, recs[i].recipe, outcome_cell(&recs[i], out, sizeof(out)),
                                                         dur, recs[i].error });
        }
        if (r < 0) {
                log_error("out of memory");
                table_free(t);
                exit_code = EXIT_RECIPE_FAILED;
                goto out;
        }
        print_table(c, t);
out:
        records_free(recs, n);
        plugins_free(&plugins);
        paths_free(&paths);
        return exit_code;
}

/* `report --json`: one object, {"outcome", "duration_sec", "recipes", "metrics", "error"};
 * "metrics" (the datums sent or spooled, NULL: none) has the shape of a run record's. */
static void print_report_json(const char *outcome, int64_t start_usec, const char *const *recipes, size_t nr,
                              const struct metric_batch *metrics, const char *error)
{
        static const struct metric_batch none = METRIC_BATCH_INIT;
        json_object *o = json_object_new_object(), *arr = json_object_new_array(), *m = NULL;

        if (!o || !arr || metric_batch_metrics_to_json(metrics ? metrics : &none, &m) < 0) {
                json_object_put(o);
                json_object_put(arr);
                json_object_put(m);
                log_error("out of memory");
                return;
        }
        for (size_t i = 0; i < nr; i++)
                json_object_array_add(arr, json_object_new_string(recipes[i]));
        json_object_object_add(o, "outcome", json_object_new_string(outcome));
        json_object_object_add(o, "duration_sec",
                               json_object_new_double((double)(now_realtime_usec() - start_usec) / 1e6));
        json_object_object_add(o, "recipes", arr);
        json_object_object_add(o, "metrics", m);
        json_object_object_add(o, "error", error ? json_object_new_string(error) : NULL);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}

int cmd_report(const struct cli *c)
{
        static const char *const outcome_names[] = { [REPORT_SENT] = "sent", [REPORT_SPOOLED] = "spooled",
                                                     [REPORT_DISABLED] = "disabled" };
        const struct plugin *none[1] = { NULL };
        const char *recipes[REPORT_MAX_RECIPES];
        struct metric_batch sent = METRIC_BATCH_INIT;   /* the heartbeat's datums, sent or spooled */
        struct error err = ERROR_INIT;
        enum report_outcome o = REPORT_DISABLED;
        int64_t start = now_realtime_usec();
        json_object *enabled;
        struct node n;
        size_t nr = 0;
        int r;

        if (c->json)
                log_say_to_stderr(true);
        /* Every 5 minutes on every node: no recipe plugin is mapped (logrotate's pulls in
         * libarchive, libxml2, ICU and libstdc++), and only the core sections are validated: a
         * recipe's bad attribute must not silence the heartbeat. */
        if (node_load(c, NODE_USER_DATA | NODE_NO_PLUGINS, &n) < 0)
                return EXIT_USAGE;
        r = layers_validate(n.attrs, core_attr_sections, NULL, none, 0, &err);
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
        r = report_heartbeat(attrs_tree(n.attrs), n.paths.state_dir, n.paths.root, recipes, nr, &o, &sent, &err);
        if (r < 0) {
                log_error("report: %s", err.msg);
                if (c->json)
                        print_report_json("failed", start, recipes, nr, NULL, err.msg);
                node_free(&n);
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
        if (c->json)
                print_report_json(outcome_names[o], start, recipes, nr, &sent, NULL);
        metric_batch_free(&sent);
        node_free(&n);
        return EXIT_OK;
}
