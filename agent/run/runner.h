/* Running recipes: each in a forked child (own process group) with a time budget, a lock per
 * recipe, and a run record. A recipe that crashes, exits, or overruns is recorded as failed
 * and the others still run. */
#ifndef OPSAGENT_RUNNER_H
#define OPSAGENT_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "records.h"
#include "config/attrs.h"
#include "config/paths.h"
#include "config/plugin.h"

#define RUNNER_KILL_GRACE_USEC (3u * 1000000u)

#define RUNNER_RECOVER_BUDGET_SECONDS 30u /* a recover() step is meant to be quick */

struct run_options {
        bool dry_run;
        bool recover; /* call each recipe's recover() (if it has one) instead of run(); no record */
        /* Called after each run (not after a recovery) with its record, once the record is
         * written and while the recipe's lock is still held; may be NULL. Reporting goes here:
         * the runner itself never calls up into the layers above it. */
        void (*after_run)(void *userdata, struct attrs *a, const struct paths *p, const struct run_record *rec);
        void *userdata;
};

/* What a call of runner_run() came to. */
struct runner_summary {
        size_t succeeded;     /* recipes that ran (or recovered) successfully, or had nothing to recover */
        size_t failed;        /* failed, timed out, crashed, or could not be started */
        size_t config_failed; /* of those, failed on their configuration (ctx_fail_config) */
        size_t locked;        /* not started: another run held the recipe's lock */
        bool interrupted;     /* SIGINT or SIGTERM arrived; the remaining recipes were not started */
};

/* Runs the N recipes in order (or, with o->recover, their recover steps, skipping recipes that
 * have none) and fills *ret. */
void runner_run(const struct paths *p, struct attrs *a, const struct plugin *const *recipes, size_t n,
                const struct run_options *o, struct runner_summary *ret);

#endif
