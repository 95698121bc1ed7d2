/* The attribute layers of a node, merged in precedence order (lowest first):
 * core defaults and each recipe's defaults; the stack Custom JSON (CONFIG/stack.json, or the
 * instance user-data when that file is absent and the user-data is a JSON object); layer JSON
 * (CONFIG/layers/ *.json, name order); CONFIG/local.json; the stack configuration source
 * (Parameter Store or S3: agent/config/source.h); then every -j file in order. */
#ifndef OPSAGENT_LAYERS_H
#define OPSAGENT_LAYERS_H

#include <stddef.h>

#include "attrs.h"
#include "paths.h"
#include "plugin.h"
#include "util/error.h"

#define LAYERS_MAX_FILES 256

/* An attribute section of the agent itself (opsagent.*, aws.*, cloudwatch.*): its defaults
 * and schema, merged and validated like a recipe's. Tables of them end with a NULL root; the
 * command layer owns the agent's (agent/cmd/coreattrs.h). */
struct attr_section {
        const char *root;          /* top-level key */
        const char *defaults_json; /* JSON object */
        const char *schema_json;   /* schema (see schema.h) */
};

/* The layer files of a node (stack.json, layers/ *.json, local.json, the -j files), each read
 * and parsed once. */
struct layers;

/* Reads them (a missing stack.json or local.json is no error). A file that is not a JSON
 * object is an error naming it; a file holding secrets that others can read only a warning.
 * A file, or a directory above it, that someone other than root could have written is refused
 * (-EPERM; agent/config/trust.h). *ret: caller frees with layers_free(). */
int layers_read(const struct paths *p, char *const *extra_files, size_t n_extra, struct layers **ret,
                struct error *err);
void layers_free(struct layers *l);  /* NULL is fine */
/* Whether there is a stack.json (else JSON user-data stands in for it). */
bool layers_have_stack(const struct layers *l);

/* Merges the defaults (CORE: the agent's sections; each plugin's) and L's layers, USER_DATA
 * (may be NULL) in stack.json's place when there is no stack.json and it is a JSON object.
 * *ret: caller frees with attrs_free(). */
int layers_merge(const struct layers *l, const struct attr_section *core, const struct plugin_set *plugins,
                 const char *user_data, struct attrs **ret, struct error *err);

struct source_set;
/* layers_merge() with SOURCE's documents (may be NULL: none; agent/config/source.h) merged
 * after local.json and before the -j files. */
int layers_merge_source(const struct layers *l, const struct attr_section *core, const struct plugin_set *plugins,
                        const char *user_data, const struct source_set *source, struct attrs **ret,
                        struct error *err);

/* layers_read() and layers_merge() in one. */
int layers_load(const struct paths *p, const struct attr_section *core, const struct plugin_set *plugins,
                char *const *extra_files, size_t n_extra, const char *user_data, struct attrs **ret,
                struct error *err);

/* Validates the CORE sections and the SELECTED recipes (every loaded recipe when SELECTED is
 * NULL), and refuses a top-level key that is a near miss of a known one. PLUGINS NULL: the
 * recipes are not loaded; only the core sections are validated. */
int layers_validate(struct attrs *a, const struct attr_section *core, const struct plugin_set *plugins,
                    const struct plugin *const *selected, size_t n_selected, struct error *err);

/* The origin label of shipped defaults: "defaults of recipe NAME", "defaults of SECTION". */
#define LAYERS_DEFAULTS_ORIGIN "defaults of "

/* Whether a layer (stack.json or the user-data, layers/, local.json, -j), not the shipped
 * defaults, sets a value at or under PATH. */
bool layers_attr_given(struct attrs *a, const char *path);

/* Whether recipe R is enabled: opsagent.recipes.NAME is true. */
bool layers_recipe_enabled(struct attrs *a, const struct opsagent_recipe *r);

#endif
