/* A scheduled recipe for the `opsagent setup` tests: it has a timer, and does nothing. */
#include "opsagent/recipe.h"

static int run(struct opsagent_ctx *ctx)
{
        ctx_say(ctx, "probe_nightly ran");
        return 0;
}

OPSAGENT_RECIPE_DESCRIPTOR("probe_nightly", "1.0", "Scheduled probe for the setup tests", "probe_nightly", "{}",
                           "{ \"type\": \"object\" }", 30, 0, run);
