/* Recipe logrotate: its entry point and its shipped attributes, shared with the test driver. */
#ifndef LOGROTATE_RECIPE_H
#define LOGROTATE_RECIPE_H

#include <opsagent/recipe.h>

extern const char logrotate_defaults_json[];   /* under attr_root "logrotate" */
extern const char logrotate_schema_json[];
int logrotate_run(struct opsagent_ctx *ctx);

#endif
