/* A recipe whose shipped defaults are not valid JSON. */
#include "opsagent/recipe.h"

static int run(struct opsagent_ctx *ctx)
{
        return 0;
}

OPSAGENT_RECIPE_DESCRIPTOR("bad_defaults", "1", "broken defaults", "bad_defaults", "{ \"a\": ", NULL, 0, 0, run);
