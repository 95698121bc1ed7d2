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
#include "config/plugin.h"
#include "util/error.h"

#define SETUP_TIMER_PREFIX "opsagent-"
#define SETUP_TIMER_SUFFIX ".timer"
#define SETUP_REPORT_TIMER "opsagent-report.timer"
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
 * cloudwatch.enabled is false. *ret: caller frees; *ret_n may be 0. */
int setup_plan_units(struct attrs *a, const struct plugin_set *plugins, const char *root,
                     struct setup_unit **ret, size_t *ret_n);

/* The recipes setup runs: those with OPSAGENT_RECIPE_SETUP that the attributes ask for, that is
 * opsagent.recipes.NAME is true, or a layer (not the shipped defaults) sets a key under the
 * recipe's attribute root and opsagent.recipes.NAME is not false. Setup never changes what the
 * OS does on its own unless asked: the others are left alone, and it says so. Fills SELECTED
 * (room for plugins->n) and returns how many. */
size_t setup_select_recipes(struct attrs *a, const struct plugin_set *plugins,
                            const struct plugin **selected);

/* Saves USER_DATA as STACK_FILE when it is a JSON object and STACK_FILE does not exist.
 * 1 when it wrote (or, in DRY_RUN, would write) the file; 0 when there is nothing to do (no
 * user-data, user-data that is not a JSON object, or a stack file already there); negative
 * errno with err set when the file cannot be written. */
int setup_save_user_data(const char *user_data, const char *stack_file, bool dry_run, struct error *err);

/* The command (exit code: 0 ok, 1 a setup recipe or a unit change failed, 2 configuration
 * error, nothing changed, 3 a setup recipe was locked). */
int cmd_setup(const struct cli *c);

/* The command table entry (agent/main.c): `SETUP_COMMAND,`. */
#define SETUP_COMMAND                                                                                         \
        {                                                                                                     \
                .name = "setup",                                                                              \
                .summary = "launch hook: save user-data, run setup recipes, enable the chosen timers",      \
                .usage = "setup [--dry-run] [-j FILE]... [--no-report]",                                     \
                .help = "Run once at launch (cfn-init `commands:`), and again after changing the attributes.\n" \
                        "Reads the instance metadata and the Custom JSON; when stack.json does not exist and\n" \
                        "the user-data is a JSON object, saves it there (mode 0600). Runs the setup recipes\n"  \
                        "(unattended_upgrades) the attributes ask for (a key under their attribute root, or\n" \
                        "opsagent.recipes.NAME true; the others leave the system as it is), enables and starts\n" \
                        "opsagent-NAME.timer for every recipe with\n"                                          \
                        "opsagent.recipes.NAME true and stops and disables the others, enables\n"              \
                        "opsagent-report.timer unless cloudwatch.enabled is false, and prints each change.\n"  \
                        "A second run with the same attributes changes nothing and says so.\n\n"               \
                        "  -n, --dry-run         print what would change; change nothing\n"                    \
                        "  -j, --extra-json FILE extra attributes, highest precedence (repeatable)\n"          \
                        "  --no-report           do not send the setup recipes' metrics\n",                   \
                .options = OPT_DRY_RUN | OPT_EXTRA_JSON | OPT_NO_REPORT,                                      \
                .run = cmd_setup,                                                                             \
        }

#endif
