#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "configure.h"
#include "configure_change.h"
#include "coreattrs.h"
#include "setup.h"
#include "aws/session.h"
#include "config/layers.h"
#include "config/source.h"
#include "run/lock.h"
#include "run/records.h"
#include "run/runner.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "util/timeutil.h"

size_t configure_select_recipes(struct attrs *a, const struct plugin_set *plugins, const struct plugin **selected)
{
        size_t n = setup_select_recipes(a, plugins, selected, NULL);

        for (size_t i = 0; i < plugins->n; i++) {
                const struct opsagent_recipe *r = plugins->items[i].recipe;

                /* A setup recipe runs as setup would run it (above), or not at all. */
                if (!(r->flags & OPSAGENT_RECIPE_CONFIGURE) || (r->flags & OPSAGENT_RECIPE_SETUP) ||
                    !layers_recipe_enabled(a, r))
                        continue;
                selected[n++] = &plugins->items[i];
        }
        return n;
}

/* Everything one `opsagent configure` holds; freed by configure_free(). */
struct configure {
        const struct cli *c;
        struct node n;
        json_object *cfg;               /* opsagent.source */
        char *label;                    /* "ssm:/opsagent/STACK" */
        struct run_lock *lock;
        struct aws_session *session;
        struct source_set *old, *new;   /* the cache (NULL: none) and what was fetched */
        json_object *change;            /* configure_change() */
        json_object *runs, *units;      /* the recipes' records, the units' results */
        const struct plugin **selected;
        struct setup_unit *plan;
        int64_t start_usec;
        bool printed;                   /* --json: the one object is out */
};

static void configure_free(struct configure *k)
{
        json_object_put(k->units);
        json_object_put(k->runs);
        json_object_put(k->change);
        free(k->plan);
        free(k->selected);
        source_set_free(k->new);
        source_set_free(k->old);
        aws_session_free(k->session);
        run_lock_release(k->lock);
        free(k->label);
        json_object_put(k->cfg);
        node_free(&k->n);
}

/* --json for an outcome that has no record: {"outcome": OUTCOME, "source": LABEL}. */
static void print_outcome_json(struct configure *k, const char *outcome)
{
        json_object *o = json_object_new_object();

        k->printed = true;
        if (!o || json_add(o, "outcome", json_object_new_string(outcome)) < 0 ||
            json_add_string(o, "source", k->label) < 0) {
                json_object_put(o);
                log_error("out of memory");
                return;
        }
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}

/* What was applied last, or NULL: a file that cannot be read is said and treated as none, so
 * that everything is applied again and the file rewritten. */
static struct source_set *read_applied(const char *state_dir)
{
        struct error err = ERROR_INIT;
        struct source_set *s = NULL;
        int r;

        r = configure_applied_read(state_dir, &s, &err);
        if (r == -ENOENT)
                return NULL;
        if (r < 0) {
                log_warning("%s; applying the fetched configuration as if for the first time", err.msg);
                return NULL;
        }
        return s;
}

/* N's attributes again, with the documents of SET in the source's place (the instance facts
 * kept). 0, or -EINVAL having said why. */
static int merge_new(struct node *n, const struct source_set *set)
{
        json_object *facts = attrs_get(n->attrs, ATTRS_PROTECTED_PATH);
        struct error err = ERROR_INIT;
        struct attrs *a = NULL;
        int r;

        r = layers_merge_source(n->files, core_attr_sections, &n->plugins, n->user_data, set, &a, &err);
        if (r >= 0 && facts && (r = attrs_set_protected(a, facts, "instance metadata")) < 0)
                error_set(&err, r, "cannot record the instance facts: %s", strerror(-r));
        if (r >= 0)
                r = layers_validate(a, core_attr_sections, &n->plugins, NULL, 0, &err);
        if (r < 0) {
                log_error("%s; nothing was applied", err.msg[0] ? err.msg : strerror(-r));
                attrs_free(a);
                return -EINVAL;
        }
        attrs_register_secrets(a);
        attrs_free(n->attrs);
        n->attrs = a;
        return 0;
}

/* Up to the fetch: 1 when there is something to apply (K->new differs from K->old); 0 with
 * *ret_exit set when the command ends here (no source, nothing changed, the cache stood in, an
 * error said). */
static int fetch(struct configure *k, int *ret_exit)
{
        struct error err = ERROR_INIT;
        pid_t holder = 0;
        int r;

        *ret_exit = EXIT_USAGE;
        if (node_load(k->c, NODE_USER_DATA, &k->n) < 0)
                return 0;
        r = source_config_read(&k->n.paths, k->n.user_data, &k->cfg, &err);
        if (r < 0) {
                log_error("%s", err.msg);
                return 0;
        }
        *ret_exit = EXIT_OK;
        if (!k->cfg) {
                log_say("configure: no stack configuration source (opsagent.source in %s/" SOURCE_CONFIG_FILE
                        " or the user-data); nothing to do", k->n.paths.config_dir);
                if (k->c->json)
                        print_outcome_json(k, "no_source");
                return 0;
        }
        k->label = source_config_label(k->cfg);
        if (!k->label) {
                log_error("out of memory");
                *ret_exit = EXIT_RECIPE_FAILED;
                return 0;
        }
        r = run_lock_acquire(k->n.paths.run_dir, CONFIGURE_RECORD, &k->lock, &holder);
        if (r == -EBUSY) {
                log_say("configure: another opsagent configure (pid %d) is running; not started", (int)holder);
                *ret_exit = EXIT_LOCKED;
                return 0;
        }
        if (r < 0) {
                log_error("configure: cannot take the lock %s/" CONFIGURE_RECORD ".lock: %s", k->n.paths.run_dir,
                          strerror(-r));
                *ret_exit = EXIT_RECIPE_FAILED;
                return 0;
        }
        k->old = read_applied(k->n.paths.state_dir);
        /* The region, and the instance's layers tag, come from the instance metadata. */
        (void)node_load_instance(&k->n, INSTANCE_QUIET);
        r = aws_session_new(attrs_tree(k->n.attrs), NULL, &k->session, &err);
        if (r >= 0)
                r = source_fetch(k->session, k->cfg, k->n.paths.state_dir, SOURCE_FETCH_NO_CACHE_WRITE, &k->new,
                                 &err);
        if (r < 0) {
                log_error("configure: %s: %s", k->label, err.msg[0] ? err.msg : strerror(-r));
                *ret_exit = r == -EINVAL ? EXIT_USAGE : EXIT_RECIPE_FAILED;
                return 0;
        }
        if (k->new->from_cache) {
                char when[32];

                format_utc((int64_t)k->new->fetched_at * 1000000, when, sizeof(when));
                log_warning("configure: %s could not be reached%s%s: the last known good configuration (fetched "
                            "%s) stays in force and nothing was applied again; the next run tries again", k->label,
                            err.msg[0] ? ": " : "", err.msg, when);
                if (k->c->json)
                        print_outcome_json(k, "cached");
                return 0;
        }
        if (k->old && source_set_same_versions(k->old, k->new)) {
                log_say("configure: nothing changed (%s: %zu document%s at the versions applied last)", k->label,
                        k->new->n_docs, k->new->n_docs == 1 ? "" : "s");
                if (k->c->json)
                        print_outcome_json(k, "unchanged");
                return 0;
        }
        return 1;
}

/* Re-applies what setup applies, with the new attributes; the exit code. */
static int apply(struct configure *k, size_t *ret_changes)
{
        struct run_request rq = { .dry_run = k->c->dry_run, .report = !k->c->no_report };
        struct setup_units_outcome uo = { 0 };
        size_t n_sel, n_plan = 0;
        int exit_code = EXIT_OK, r;

        node_warn_unknown_enabled(&k->n);
        r = setup_plan_units(k->n.attrs, &k->n.plugins, k->n.paths.root, true, &k->plan, &n_plan);
        k->selected = calloc(k->n.plugins.n + 1, sizeof(*k->selected));
        k->runs = json_object_new_array();
        k->units = json_object_new_array();
        if (r < 0 || !k->selected || !k->runs || !k->units) {
                log_error("out of memory");
                return EXIT_RECIPE_FAILED;
        }
        n_sel = configure_select_recipes(k->n.attrs, &k->n.plugins, k->selected);
        if (n_sel > 0) {
                rq.records = k->runs;
                exit_code = commands_run_recipes(&k->n.paths, k->n.attrs, k->selected, n_sel, &rq);
        } else
                log_say("configure: no recipe to run (none with the configure or setup flag is enabled)");
        setup_apply_units(k->plan, n_plan, k->c->dry_run, k->n.paths.root, k->units, &uo);
        if (uo.error < 0 && exit_code == EXIT_OK)
                exit_code = EXIT_RECIPE_FAILED;
        *ret_changes = rq.changes + uo.changed;
        return exit_code;
}

/* The recipes' runs as the record's detail keeps them: {"recipe", "run_id", "outcome"}. */
static json_object *runs_summary(json_object *runs)
{
        json_object *arr = json_object_new_array();

        for (size_t i = 0; arr && i < json_object_array_length(runs); i++) {
                json_object *run = json_object_array_get_idx(runs, i), *o = json_object_new_object();

                if (!o || json_add_string(o, "recipe", json_get_string(run, "recipe")) < 0 ||
                    json_add_string(o, "run_id", json_get_string(run, "run_id")) < 0 ||
                    json_add_string(o, "outcome", json_get_string(run, "outcome")) < 0 || json_push(arr, o) < 0) {
                        json_object_put(o);
                        json_object_put(arr);
                        return NULL;
                }
        }
        return arr;
}

/* Writes the record of this change (not in a dry run); with --json prints it. 0 or negative
 * errno (said). */
static int record(struct configure *k, int exit_code, size_t changes)
{
        struct run_record rec = { .start_usec = k->start_usec, .end_usec = now_realtime_usec(),
                                  .changes = (unsigned)changes, .dry_run = k->c->dry_run };
        int r = -ENOMEM;

        snprintf(rec.recipe, sizeof(rec.recipe), "%s", CONFIGURE_RECORD);
        runner_new_run_id(rec.run_id);
        rec.outcome = exit_code == EXIT_OK ? RUN_SUCCESS : exit_code == EXIT_USAGE ? RUN_CONFIG_ERROR : RUN_FAILED;
        if (exit_code != EXIT_OK &&
            !(rec.error = strdup(exit_code == EXIT_LOCKED ? "a recipe was locked by another run; tried again next time"
                                                           : "a recipe or a unit change failed (see its record); "
                                                             "tried again next time")))
                goto out;
        rec.detail = json_deep_copy(k->change);
        if (!rec.detail || json_add_string(rec.detail, "source", k->label) < 0 ||
            json_add(rec.detail, "recipes", runs_summary(k->runs)) < 0 ||
            json_add(rec.detail, "timers", json_object_get(k->units)) < 0)
                goto out;
        if (!k->c->dry_run) {
                r = records_write(k->n.paths.state_dir, &rec);
                if (r < 0) {
                        log_error("configure: cannot write its run record in %s/" RECORDS_SUBDIR ": %s",
                                  k->n.paths.state_dir, strerror(-r));
                        goto done;
                }
        }
        r = 0;
out:
        if (r == -ENOMEM)
                log_error("out of memory");
done:
        if (r >= 0 && k->c->json) {
                json_object *o = run_record_to_json(&rec);

                if (o)
                        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
                k->printed = o != NULL;
                json_object_put(o);
        }
        run_record_clear(&rec);
        return r;
}

int cmd_configure(const struct cli *c)
{
        struct configure k = { .c = c, .start_usec = now_realtime_usec() };
        struct error err = ERROR_INIT;
        size_t changes = 0;
        int exit_code;

        /* --json: stdout is one JSON object; what is said goes to stderr. */
        if (c->json)
                log_say_to_stderr(true);
        if (fetch(&k, &exit_code) <= 0)
                goto out;
        exit_code = EXIT_USAGE;
        if (configure_change(k.old, k.new, &k.change, &err) < 0) {
                log_error("configure: %s", err.msg);
                goto out;
        }
        log_say("configure: %s changed%s", k.label, c->dry_run ? " (dry run: nothing is written)" : "");
        configure_change_say(k.change, c->dry_run);
        if (merge_new(&k.n, k.new) < 0)
                goto out;
        exit_code = apply(&k, &changes);
        if (record(&k, exit_code, changes) < 0 && exit_code == EXIT_OK)
                exit_code = EXIT_RECIPE_FAILED;
        /* Only a change applied in full is noted as applied; else the next run tries again. */
        if (exit_code != EXIT_OK || c->dry_run) {
                if (exit_code != EXIT_OK)
                        log_say("configure: not all of the change was applied; the next run applies it again");
                goto out;
        }
        if (configure_applied_write(k.n.paths.state_dir, k.new, &err) < 0) {
                log_error("configure: the change was applied but %s; the next run applies it again", err.msg);
                exit_code = EXIT_RECIPE_FAILED;
                goto out;
        }
        /* and it is the last known good from now on */
        if (source_cache_write(k.n.paths.state_dir, k.new, &err) < 0)
                log_warning("configure: %s; the last known good is older than what was applied", err.msg);
        log_say("configure: applied; %zu change%s on this node", changes, changes == 1 ? "" : "s");
out:
        /* --json always prints one object, an error's too. */
        if (c->json && !k.printed)
                print_outcome_json(&k, exit_code == EXIT_USAGE ? "config_error"
                                       : exit_code == EXIT_LOCKED ? "locked" : "failed");
        configure_free(&k);
        return exit_code;
}
