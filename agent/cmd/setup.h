/* `opsagent setup`: the launch hook cfn-init runs. Reads the instance metadata and the Custom
 * JSON (saving JSON user-data as the stack file when there is none), runs the setup recipes,
 * enables and starts the timers of the enabled recipes and stops and disables the others
 * (through sd-bus), and prints what it changed. A second run changes nothing and says so. */
#ifndef OPSAGENT_SETUP_H
#define OPSAGENT_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "cli.h"
#include "config/attrs.h"
#include "config/paths.h"
#include "config/plugin.h"
#include "util/error.h"

#define SETUP_TIMER_PREFIX "opsagent-"
#define SETUP_TIMER_SUFFIX ".timer"
#define SETUP_REPORT_TIMER "opsagent-report.timer"
#define SETUP_LOGS_SERVICE "opsagent-logs.service"   /* the log shipper: enabled when it has sources */
#define SETUP_CONFIGURE_TIMER "opsagent-configure.timer" /* `opsagent configure`: when opsagent.source is set */
#define SETUP_STACK_FILE "stack.json"
#define SETUP_STACK_MODE 0600            /* the Custom JSON may hold keys */
#define SETUP_UNIT_NAME_MAX 256

/* One timer and what setup wants of it. */
struct setup_unit {
        char name[SETUP_UNIT_NAME_MAX];  /* "opsagent-ebs_snapshots.timer" */
        bool enable;                     /* enable+start, else stop+disable */
        const char *why;                 /* static text: "opsagent.recipes.logrotate is true" */
};

/* The timers setup manages, in plugin order then the report timer: one per loaded recipe
 * whose timer unit file exists under ROOT (in the unit directory or /etc/systemd/system),
 * enabled when opsagent.recipes.NAME is true; the report timer enabled unless
 * cloudwatch.enabled is false; then the log shipper's service, enabled (and started) when
 * cloudwatch_logs.sources is not empty or opsagent.logs.run_log_group is set; then the
 * configure timer, enabled when HAVE_SOURCE (opsagent.source is configured: agent/config/source.h).
 * Each only when its unit file exists. *ret: caller frees; *ret_n may be 0. */
int setup_plan_units(struct attrs *a, const struct plugin_set *plugins, const char *root, bool have_source,
                     struct setup_unit **ret, size_t *ret_n);

/* What applying a plan came to. */
struct setup_units_outcome {
        size_t changed;          /* units whose state changed (or would) */
        size_t not_applied;      /* left alone: the host's systemd under a root prefix */
        size_t enabled;          /* units the attributes want enabled */
        int error;               /* the first failure, 0 when none (each was logged) */
};

/* Applies PLAN through systemd (sd-bus), every unit even after a failure, saying each change;
 * under a root prefix without DBUS_SYSTEM_BUS_ADDRESS the host's systemd is left alone and that
 * is said instead. Fills *ret and appends one object per unit ({"unit", "want", "result", "why",
 * "error"}) to JSON (an array, may be NULL). For setup and `opsagent configure`. */
void setup_apply_units(const struct setup_unit *plan, size_t n, bool dry_run, const char *root, json_object *json,
                       struct setup_units_outcome *ret);

/* Whether opsagent.source is configured for the paths P and USER_DATA (may be NULL): 1 yes, 0
 * no, negative errno with ERR set for a source.json that cannot be used. */
int setup_have_source(const struct paths *p, const char *user_data, struct error *err);

/* The recipes setup runs: those with OPSAGENT_RECIPE_SETUP that the attributes ask for, that is
 * opsagent.recipes.NAME is true, or a layer (not the shipped defaults) sets a key under the
 * recipe's attribute root and opsagent.recipes.NAME is not false. Setup never changes what the
 * OS does on its own unless asked: the others are left alone, and it says so. Fills SELECTED
 * (room for plugins->n) and returns how many. Each recipe left alone is added to SKIPPED (an
 * array, may be NULL) as {"recipe", "why"}. */
size_t setup_select_recipes(struct attrs *a, const struct plugin_set *plugins,
                            const struct plugin **selected, json_object *skipped);

/* Saves USER_DATA as STACK_FILE when it is a JSON object and STACK_FILE does not exist, and
 * records that it created it (agent/run/undo.h, in STATE_DIR under ROOT; no record when
 * STATE_DIR is NULL), so that setup --undo and purge remove it.
 * 1 when it wrote (or, in DRY_RUN, would write) the file; 0 when there is nothing to do (no
 * user-data, user-data that is not a JSON object, or a stack file already there); negative
 * errno with err set when the file cannot be written. */
int setup_save_user_data(const char *user_data, const char *stack_file, const char *state_dir, const char *root,
                         bool dry_run, struct error *err);

/* `opsagent setup --undo`: puts back what opsagent recorded having changed in files and units it
 * does not own (agent/run/undo.h), newest first; with DRY_RUN says what it would put back. The
 * exit code: 0 when all was put back (or nothing was recorded), 1 when something was not. */
int setup_undo(const struct cli *c);

/* The command (exit code: 0 ok, 1 a setup recipe or a unit change failed, 2 configuration
 * error, nothing changed, 3 a setup recipe was locked). */
int cmd_setup(const struct cli *c);

/* The command table entry (agent/main.c): `SETUP_COMMAND,`. */
#define SETUP_COMMAND                                                                                         \
        {                                                                                                     \
                .name = "setup",                                                                              \
                .summary = "launch hook: save user-data, run setup recipes, enable the chosen timers",      \
                .usage = "setup [--dry-run] [-j FILE]... [--no-report] [--json] | setup --undo [--dry-run]", \
                .help = "Run once at launch (cfn-init `commands:`), and again after changing the attributes.\n" \
                        "Reads the instance metadata and the Custom JSON; when stack.json does not exist and\n" \
                        "the user-data is a JSON object, saves it there (mode 0600). Runs the setup recipes\n"  \
                        "(unattended_upgrades) the attributes ask for (a key under their attribute root, or\n" \
                        "opsagent.recipes.NAME true; the others leave the system as it is), enables and starts\n" \
                        "opsagent-NAME.timer for every recipe with\n"                                          \
                        "opsagent.recipes.NAME true and stops and disables the others, enables\n"              \
                        "opsagent-report.timer unless cloudwatch.enabled is false, opsagent-configure.timer\n" \
                        "when opsagent.source is configured, and prints each change.\n"                      \
                        "A second run with the same attributes changes nothing and says so.\n"                 \
                        "What it changes in files and units it does not own (automatic updates' files and\n"   \
                        "timers, a stack.json it saved) is recorded first, as it was, in\n"                   \
                        "/var/lib/opsagent/undo; --undo (and purging the package) puts it back.\n\n"         \
                        "  -n, --dry-run         print what would change; change nothing\n"                    \
                        "  -j, --extra-json FILE extra attributes, highest precedence (repeatable)\n"          \
                        "  --no-report           do not send the setup recipes' metrics\n"                     \
                        "  --json                print one JSON object: outcome, exit_code, dry_run,\n"        \
                        "                        saved_user_data, runs (each run's record), skipped (setup\n"  \
                        "                        recipes not run, and why), timers, changes\n"                 \
                        "  --undo                put back what setup and the recipes changed (see above)\n",  \
                .options = OPT_DRY_RUN | OPT_EXTRA_JSON | OPT_NO_REPORT | OPT_JSON | OPT_UNDO,               \
                .run = cmd_setup,                                                                             \
        }

#endif
