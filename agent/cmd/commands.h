/* The opsagent commands (each returns an exit code) and what they share: loading the
 * paths, plugins and merged attributes for a command line. */
#ifndef OPSAGENT_COMMANDS_H
#define OPSAGENT_COMMANDS_H

#include <stdbool.h>

#include "cli.h"
#include "config/attrs.h"
#include "config/layers.h"
#include "config/paths.h"
#include "config/plugin.h"

/* Everything a command works on, loaded from a command line. */
struct node {
        struct paths paths;
        struct plugin_set plugins;
        struct layers *files;           /* the attribute files, read once */
        struct attrs *attrs;            /* merged from them */
        char *user_data;                /* the instance's user-data once asked for, or NULL */
        int instance;                   /* 0: facts not asked for yet; 1: in attrs; negative errno */
        struct error instance_error;    /* why they could not be read */
};

enum node_flags {
        /* When there is no stack.json, read the instance facts at once (quietly, as with
         * INSTANCE_QUIET) so that JSON user-data takes its place: for the commands that act on
         * the attributes. */
        NODE_USER_DATA = 1u << 0,
};

/* Loads paths, plugins (problems printed as warnings) and attributes (FLAGS: enum
 * node_flags). On a configuration error prints one line and returns -EINVAL (the command
 * exits 2). */
int node_load(const struct cli *c, unsigned flags, struct node *ret);
void node_free(struct node *n);

/* How much a command needs the instance facts (IMDS). */
enum instance_need {
        INSTANCE_REQUIRED,              /* failing is an error (printed): -EINVAL */
        INSTANCE_WANTED,                /* failing is a warning */
        INSTANCE_QUIET,                 /* failing is a debug message */
};
/* The instance facts, under opsagent.instance; when there is no stack.json, JSON user-data is
 * merged in its place (from the files already read). Asked of IMDS once per node: later calls
 * only say again how the first went. */
int node_load_instance(struct node *n, enum instance_need need);

/* Runs (RECOVER: recovers) the N_SEL recipes SEL with the runner, sending each run's metrics
 * to CloudWatch when REPORT. Returns the exit code: EXIT_OK when all succeeded,
 * EXIT_RECIPE_FAILED when a signal interrupted the run, else EXIT_USAGE when a recipe refused
 * values of its configuration (ctx_fail_config), else EXIT_RECIPE_FAILED when any failed,
 * else EXIT_LOCKED when any was locked. */
int commands_run_recipes(const struct paths *p, struct attrs *a, const struct plugin *const *sel, size_t n_sel,
                         bool dry_run, bool recover, bool report);

int cmd_run(const struct cli *c);
int cmd_recover(const struct cli *c);
int cmd_recipes(const struct cli *c);
int cmd_attributes(const struct cli *c);
int cmd_status(const struct cli *c);
int cmd_history(const struct cli *c);
/* `opsagent report`: the heartbeat (exit 0 sent, spooled or disabled; 1 when CloudWatch refused
 * the data or the spool failed; 2 for a configuration error). */
int cmd_report(const struct cli *c);

extern const struct command opsagent_commands[];

#endif
