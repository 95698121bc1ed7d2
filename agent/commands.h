/* The opsagent commands (each returns an exit code) and what they share: loading the
 * paths, plugins and merged attributes for a command line. */
#ifndef OPSAGENT_COMMANDS_H
#define OPSAGENT_COMMANDS_H

#include "attrs.h"
#include "cli.h"
#include "paths.h"
#include "plugin.h"

/* Everything a command works on, loaded from a command line. */
struct node {
        struct paths paths;
        struct plugin_set plugins;
        struct attrs *attrs;
};

/* Loads paths, plugins (problems printed as warnings) and attributes. On a configuration
 * error prints one line and returns -EINVAL (the command exits 2). */
int node_load(const struct cli *c, struct node *ret);
void node_free(struct node *n);

int cmd_run(const struct cli *c);
int cmd_recover(const struct cli *c);
int cmd_recipes(const struct cli *c);
int cmd_attributes(const struct cli *c);
int cmd_status(const struct cli *c);
int cmd_history(const struct cli *c);

extern const struct command opsagent_commands[];

#endif
