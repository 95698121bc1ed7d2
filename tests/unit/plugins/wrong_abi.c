/* A plugin built for a future ABI: the loader must refuse it, naming the file. */
#include "opsagent/recipe.h"

static int run(struct opsagent_ctx *ctx)
{
        return 0;
}

__attribute__((visibility("default"))) const struct opsagent_recipe opsagent_recipe = {
        .abi = OPSAGENT_RECIPE_ABI + 1,
        .size = sizeof(struct opsagent_recipe),
        .name = "wrong_abi",
        .version = "9",
        .summary = "from the future",
        .attr_root = "wrong_abi",
        .defaults_json = "{}",
        .run = run,
};
