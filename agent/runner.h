/* Running recipes: each in a forked child (own process group) with a time budget, a lock per
 * recipe, and a run record. A recipe that crashes, exits, or overruns is recorded as failed
 * and the others still run. */
#ifndef OPSAGENT_RUNNER_H
#define OPSAGENT_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "attrs.h"
#include "paths.h"
#include "plugin.h"

#define RUNNER_EVENTS_MAX (1u << 20)   /* bytes of events a recipe may send */
#define RUNNER_METRICS_MAX 10000       /* metrics kept per run */
#define RUNNER_KILL_GRACE_USEC (3u * 1000000u)

enum {
        EXIT_OK = 0,
        EXIT_RECIPE_FAILED = 1,
        EXIT_USAGE = 2,
        EXIT_LOCKED = 3,
};

#define RUNNER_RECOVER_BUDGET_SECONDS 30u /* a recover() step is meant to be quick */

struct run_options {
        bool dry_run;
        bool no_report;
        bool recover; /* call each recipe's recover() (if it has one) instead of run(); no record */
};

/* Runs the N recipes in order (or, with o->recover, their recover steps, skipping recipes that
 * have none). Returns an exit code: EXIT_OK when all succeeded, EXIT_RECIPE_FAILED when any
 * failed, else EXIT_LOCKED when any was locked. */
int runner_run(const struct paths *p, struct attrs *a, const struct plugin *const *recipes, size_t n,
               const struct run_options *o);

#endif
