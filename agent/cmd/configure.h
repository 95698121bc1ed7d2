/* `opsagent configure`: the OpsWorks "configure" event. Fetches the stack configuration
 * (opsagent.source: Parameter Store or S3, agent/config/source.h) and compares its documents'
 * versions with those it (or setup) applied last (configure_change.h: not the last known good,
 * which every fetching command rewrites). When nothing changed it says so and writes nothing.
 * When something did, it re-applies what `opsagent setup` applies with the new attributes
 * (timers enabled and disabled to match opsagent.recipes, the setup recipes the attributes ask
 * for), runs the enabled recipes that declare OPSAGENT_RECIPE_CONFIGURE, records the change
 * (each document's old and new version and the changed keys, never a value) in a run record
 * of "configure", and only then notes the documents as applied and as the last known good: a
 * change that could not be applied in full is tried again by the next run. */
#ifndef OPSAGENT_CONFIGURE_H
#define OPSAGENT_CONFIGURE_H

#include <stddef.h>

#include "cli.h"
#include "config/plugin.h"
#include "config/attrs.h"

/* The name of its run records and of its lock (in the run directory). */
#define CONFIGURE_RECORD "configure"

/* The recipes a change runs, in plugin order, each once: the setup recipes setup would run
 * (setup_select_recipes()), then those with OPSAGENT_RECIPE_CONFIGURE that opsagent.recipes
 * enables. Fills SELECTED (room for plugins->n) and returns how many. */
size_t configure_select_recipes(struct attrs *a, const struct plugin_set *plugins, const struct plugin **selected);

/* The command. Exit code: 0 applied, nothing changed, no source configured, or the service
 * could not be reached and the last known good stays in force (a warning: the timer tries
 * again); 1 a recipe or a unit change failed, or nothing could be fetched and there is no cache;
 * 2 a configuration error (source.json, a document that is not a JSON object, an attribute the
 * schemas refuse), nothing changed; 3 another `opsagent configure` holds the lock. */
int cmd_configure(const struct cli *c);

#define CONFIGURE_COMMAND                                                                                     \
        {                                                                                                     \
                .name = "configure",                                                                          \
                .summary = "apply a changed stack configuration (Parameter Store, S3): the configure event", \
                .usage = "configure [--dry-run] [--no-report] [--json]",                                      \
                .help = "Run by opsagent-configure.timer every 10 minutes when opsagent.source is configured\n" \
                        "(/etc/opsagent/source.json or the user-data), and by hand or SSM Run Command.\n"      \
                        "Fetches the stack and layer documents and compares their versions with those applied\n" \
                        "last (/var/lib/opsagent/configure/source/cache.json). When none changed it says so\n" \
                        "and writes nothing. When one did, it applies what `opsagent setup` applies with the new\n" \
                        "attributes (timers enabled or disabled to match opsagent.recipes, the setup recipes\n" \
                        "the attributes ask for), runs the enabled recipes that declare the configure flag,\n"  \
                        "records the change (documents' versions, changed keys; never a value) as a run of\n" \
                        "\"configure\" (opsagent history --recipe configure), and then notes the documents as\n" \
                        "applied and as the last known good. When the service cannot be reached, the last\n" \
                        "known good stays in force: nothing is re-applied, a warning is printed, exit status 0.\n" \
                        "Without opsagent.source it does nothing.\n\n"                                         \
                        "  -n, --dry-run         fetch and say what changed and what would be done; write\n"    \
                        "                        nothing\n"                                                     \
                        "  --no-report           do not send the recipes' metrics\n"                            \
                        "  --json                print the run record (its detail: source, documents,\n"        \
                        "                        changed_keys, recipes, timers) as one line of JSON, or\n"      \
                        "                        {\"outcome\": \"unchanged\" | \"no_source\" | \"cached\" |\n" \
                        "                        \"config_error\" | \"locked\" | \"failed\", \"source\"}\n",  \
                .options = OPT_DRY_RUN | OPT_NO_REPORT | OPT_JSON,                                            \
                .run = cmd_configure,                                                                         \
        }

#endif
