#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "logcmd.h"
#include "commands.h"
#include "config/paths.h"
#include "config/plugin.h"
#include "config/schema.h"
#include "run/records.h"
#include "run/runlog.h"
#include "util/log.h"
#include "util/timeutil.h"

static const char *priority_name(int p)
{
        static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info",
                                             "debug" };

        return p >= 0 && p <= 7 ? names[p] : "info";
}

static void print_line(void *userdata, const struct runlog_line *l)
{
        char when[32];

        (void)userdata;
        printf("%s %s: %s\n", format_utc(l->usec, when, sizeof(when)), priority_name(l->priority), l->message);
}

/* One run: a heading, then its journal lines, or what its record holds. */
static void print_run(const struct paths *p, const struct run_record *rec)
{
        char when[32], dur[32];
        int n;

        printf("-- %s, run %s, started %s: %s%s after %s\n", rec->recipe, rec->run_id,
               format_utc(rec->start_usec, when, sizeof(when)), run_outcome_to_string(rec->outcome),
               rec->dry_run ? " (dry run)" : "", format_duration(rec->end_usec - rec->start_usec, dur, sizeof(dur)));
        fflush(stdout);
        n = runlog_from_journal(p->root, rec->run_id, print_line, NULL);
        if (n > 0)
                return;
        if (n < 0 && n != -ENOENT)
                log_debug_errno(n, "cannot open the journal: %m");
        /* Not run under systemd, rotated away, or not readable by this user. */
        printf("(no journal line of this run here%s; from its run record)\n",
               geteuid() != 0 ? ", as this user: root may see more" : "");
        if (rec->error)
                printf("error: %s\n", rec->error);
        for (size_t i = 0; i < rec->metrics.n; i++)
                printf("metric %s = %g %s\n", rec->metrics.items[i].name, rec->metrics.items[i].value,
                       rec->metrics.items[i].unit);
}

/* -EINVAL (said why) for a NAME that is no recipe, installed or recorded. */
static int check_recipe(const struct paths *p, const char *name, size_t n_records)
{
        struct plugin_set ps = { 0 };
        struct error err = ERROR_INIT;
        const char *names[PLUGIN_MAX], *near;
        size_t n = 0;
        int r;

        if (n_records > 0)
                return 0;
        r = plugins_load(p->plugin_path, &ps, &err);
        if (r < 0) {
                error_set(&err, r, "cannot load plugins from %s: %s", p->plugin_path, strerror(-r));
                log_error("%s", err.msg);
                return r;
        }
        if (plugins_find(&ps, name)) {
                plugins_free(&ps);
                return 0;
        }
        for (size_t i = 0; i < ps.n && n < PLUGIN_MAX; i++)
                names[n++] = ps.items[i].recipe->name;
        near = did_you_mean(name, names, n);
        if (near)
                log_error("unknown recipe \"%s\" (did you mean %s?)", name, near);
        else
                log_error("unknown recipe \"%s\" (`opsagent recipes` lists the installed ones)", name);
        plugins_free(&ps);
        return -EINVAL;
}

int cmd_log(const struct cli *c)
{
        const char *recipe = c->n_recipes ? c->recipes[0] : NULL;
        struct run_record *recs = NULL, one = { 0 };
        struct error err = ERROR_INIT;
        struct paths p;
        size_t n = 0, max;
        int r, exit_code = EXIT_USAGE;

        if (c->n_recipes > 1 || (c->n_args > 0 && (recipe || c->last)) || (c->limit && !recipe)) {
                log_error("log: give a RUN_ID, or --recipe NAME (with --last or --limit N), not both");
                return EXIT_USAGE;
        }
        r = paths_init(&p, c->root, c->config_dir, c->state_dir, c->run_dir, &err);
        if (r >= 0 && (r = paths_check_trust(&p, &err)) < 0)
                paths_free(&p);
        if (r < 0) {
                log_error("%s%s", err.msg, node_access_hint(err.code ? err.code : r, geteuid()));
                return EXIT_USAGE;
        }
        if (c->n_args > 0) {
                r = records_find(p.state_dir, c->args[0], &one);
                if (r == -ENOENT || r == -EINVAL)
                        log_error("no run %s recorded in %s (`opsagent history` lists the runs)", c->args[0],
                                  p.state_dir);
                else if (r == -EEXIST)
                        log_error("%s is the start of several run ids: give more of it", c->args[0]);
                else if (r < 0)
                        log_error_errno(r, "%s: cannot read run records: %s%s", p.state_dir, strerror(-r),
                                        node_access_hint(r, geteuid()));
                else {
                        print_run(&p, &one);
                        exit_code = EXIT_OK;
                }
                goto out;
        }
        max = c->last || !recipe ? 1 : c->limit ? c->limit : LOGCMD_DEFAULT_RUNS;
        r = records_list(p.state_dir, recipe, max, &recs, &n);
        if (r < 0) {
                log_error_errno(r, "%s: cannot read run records: %s%s", p.state_dir, strerror(-r),
                                node_access_hint(r, geteuid()));
                goto out;
        }
        if (recipe && check_recipe(&p, recipe, n) < 0)
                goto out;
        exit_code = EXIT_OK;
        if (n == 0)
                printf("no runs%s%s recorded in %s\n", recipe ? " of " : "", recipe ? recipe : "", p.state_dir);
        for (size_t i = n; i > 0; i--)     /* oldest first, as a log reads */
                print_run(&p, &recs[i - 1]);
out:
        run_record_clear(&one);
        records_free(recs, n);
        paths_free(&p);
        return exit_code;
}
