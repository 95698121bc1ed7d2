/* Recipe plugins: finding, loading and checking the shared objects that export an
 * `opsagent_recipe` descriptor (plugins/include/opsagent/recipe.h). */
#ifndef OPSAGENT_PLUGIN_H
#define OPSAGENT_PLUGIN_H

#include <stddef.h>
#include <json-c/json.h>

#include "opsagent/recipe.h"
#include "util/error.h"

#define PLUGIN_MAX 256  /* plugins loaded from all directories together */
/* <root>.time_budget_seconds of every recipe: whole seconds, 0 for none, at most a week. */
#define PLUGIN_TIME_BUDGET_MAX 604800
#define PLUGIN_TIME_BUDGET_SCHEMA                                                                  \
        "{\"type\": \"integer\", \"minimum\": 0, \"maximum\": 604800, "                           \
        "\"description\": \"seconds the run may take (0: no limit)\"}"

struct plugin {
        char *file;                          /* owned */
        void *handle;                        /* dlopen handle, never closed while in use */
        const struct opsagent_recipe *recipe;/* inside the plugin */
        json_object *defaults;               /* parsed defaults_json (owned) */
        json_object *schema;                 /* parsed schema_json (owned), may be NULL */
};

struct plugin_set {
        struct plugin *items;
        size_t n;
        char **problems;      /* one line per file that could not be used ("FILE: why"), owned */
        size_t n_problems;
};

/* Loads and checks one file. The error names FILE and says what to do. A file that someone
 * other than root could have written (agent/config/trust.h) is refused before dlopen: -EPERM. */
int plugin_load_file(const char *file, struct plugin *ret, struct error *err);
void plugin_clear(struct plugin *p);

/* Loads every *.so in the directories of PATH_LIST (colon-separated), in name order; the first
 * plugin of a given name wins and later ones are reported as problems. Files that cannot be
 * used are kept in ret->problems, not fatal. -ENOMEM, or -EPERM (ERR says which and how to fix
 * it) when a directory on the path or a plugin in it is not trusted: nothing is loaded then. */
int plugins_load(const char *path_list, struct plugin_set *ret, struct error *err);
/* Loads only the recipes NAMES, from files named NAME.so on PATH_LIST (the convention of every
 * shipped recipe), so that a run does not map the libraries of recipes it will not run. Falls
 * back to plugins_load() when a name is not found that way. */
int plugins_load_named(const char *path_list, const char *const *names, size_t n, struct plugin_set *ret,
                       struct error *err);
const struct plugin *plugins_find(const struct plugin_set *s, const char *name);
/* The recipe's recover() entry, or NULL when it has none (or predates the field). */
int (*plugin_recover(const struct plugin *p))(struct opsagent_ctx *ctx);
void plugins_free(struct plugin_set *s);

#endif
