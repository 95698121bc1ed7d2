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

/* The MESSAGE_ID= (sd-id128) of the lines that say a run started, succeeded or failed (any
 * outcome but success), so that `journalctl MESSAGE_ID=...` finds every one; documented in
 * opsagent(8) and packaging/systemd/opsagent.catalog. A dry run's lines carry none. Never
 * change them. */
#define RUNNER_MESSAGE_STARTED "163f6cb47d37491096783c7c29c33557"
#define RUNNER_MESSAGE_SUCCEEDED "6b4efaae9d5e4a3cb8bacc3e83009180"
#define RUNNER_MESSAGE_FAILED "e70871d181b244a5a4e4b981134a22e3"

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
        size_t config_errors; /* the recipe said its configuration is unusable (OPSAGENT_RUN_CONFIG_ERROR) */
        size_t locked;        /* not started: another run held the recipe's lock */
        bool interrupted;     /* SIGINT or SIGTERM arrived; the remaining recipes were not started */
        size_t changes;       /* files and units the runs changed (dry run: would change) */
};

#define RUNNER_RUN_ID_HEX 32   /* hex digits of a run id */

/* A new random run id (sd-id128's form: 32 lower-case hex digits, UUID v4 bits set) into ID_RET;
 * for the records of commands (`configure`) as well as of runs. */
void runner_new_run_id(char id_ret[static RUNNER_RUN_ID_HEX + 1]);

/* Runs the N recipes in order (or, with o->recover, their recover steps, skipping recipes that
 * have none) and fills *ret. */
void runner_run(const struct paths *p, struct attrs *a, const struct plugin *const *recipes, size_t n,
                const struct run_options *o, struct runner_summary *ret);

#endif
