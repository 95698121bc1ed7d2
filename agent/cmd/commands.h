/* The opsagent commands (each returns an exit code) and what they share: loading the
 * paths, plugins and merged attributes for a command line. */
#ifndef OPSAGENT_COMMANDS_H
#define OPSAGENT_COMMANDS_H

#include <stdbool.h>
#include <sys/types.h>

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
        json_object *facts;             /* the instance facts once read (attrs holds a copy), or NULL */
        struct source_set *source;      /* the stack configuration source's documents (merged in
                                           attrs), or NULL when none is configured or fetched */
};

enum node_flags {
        /* When there is no stack.json, read the instance facts at once (quietly, as with
         * INSTANCE_QUIET) so that JSON user-data takes its place: for the commands that act on
         * the attributes. */
        NODE_USER_DATA = 1u << 0,
        /* Load no recipe plugin (nor the libraries they map): for commands that need none of
         * their attributes. The near-miss check of top-level keys is then skipped. */
        NODE_NO_PLUGINS = 1u << 1,
        /* Fetch the stack configuration source (opsagent.source: Parameter Store or S3,
         * agent/config/source.h) when one is configured, and merge it; the cache stands in,
         * with a warning, when the service cannot be reached. For the commands that act on
         * the attributes as the fleet configures them (run, attributes, setup, configure). */
        NODE_SOURCE = 1u << 2,
};

/* Loads paths, plugins (problems printed as warnings) and attributes (FLAGS: enum
 * node_flags). On a configuration error prints one line and returns -EINVAL (the command
 * exits 2). */
int node_load(const struct cli *c, unsigned flags, struct node *ret);
/* Fetches N's stack configuration source when one is configured (FETCH_FLAGS: enum
 * source_fetch_flags) and merges it into N's attributes (N->source then holds what was merged).
 * Nothing, cheaply, when none is. Prints one line and returns -EINVAL when it cannot be used;
 * warns (naming the source and the cache's age) when the cache stood in. */
int node_load_source(struct node *n, unsigned fetch_flags);
void node_free(struct node *n);
/* What to add to a message about ERROR (a negative errno) for a user EUID: a hint that opsagent
 * runs as root when a non-root user was refused a file, else "". Static text. */
const char *node_access_hint(int error, uid_t euid);

/* Warns about opsagent.recipes.NAME set to true for a recipe that is not installed (a typo,
 * with "did you mean", or a package missing): no timer and no --all will run it. */
void node_warn_unknown_enabled(struct node *n);

/* How much a command needs the instance facts (IMDS). */
enum instance_need {
        INSTANCE_REQUIRED,              /* failing is an error (printed): -EINVAL */
        INSTANCE_WANTED,                /* failing is a warning */
        INSTANCE_QUIET,                 /* failing is a debug message; a refusal (-EACCES) a warning */
};
/* The instance facts, under opsagent.instance; when there is no stack.json, JSON user-data is
 * merged in its place (from the files already read). Asked of IMDS once per node: later calls
 * only say again how the first went. */
int node_load_instance(struct node *n, enum instance_need need);

/* How commands_run_recipes() runs them. */
struct run_request {
        bool dry_run;
        bool recover;           /* their recover steps (no record, no report) */
        bool report;            /* each run's metrics to CloudWatch */
        json_object *records;   /* when not NULL (an array): each run's record is appended as JSON */
        size_t changes;         /* out: files and units the runs changed (dry run: would change) */
};

/* Runs the N_SEL recipes SEL with the runner as RQ says. Returns the exit code: EXIT_OK when
 * all succeeded, EXIT_RECIPE_FAILED when any failed or a signal interrupted the run, else
 * EXIT_USAGE when a recipe found its configuration unusable (OPSAGENT_RUN_CONFIG_ERROR), else
 * EXIT_LOCKED when any was locked. */
int commands_run_recipes(const struct paths *p, struct attrs *a, const struct plugin *const *sel, size_t n_sel,
                         struct run_request *rq);

/* Prints each element of the array RECORDS (may be NULL) as one line of compact JSON. */
void commands_print_json_lines(json_object *records);

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
