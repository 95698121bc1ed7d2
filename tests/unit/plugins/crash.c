/* A test recipe that dies the way the attribute `how` says: segv, abort, exit, hang. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opsagent/recipe.h"

static int run(struct opsagent_ctx *ctx)
{
        const char *how = ctx_attr_string(ctx, "how", "segv");

        ctx_say(ctx, "about to %s", how);
        if (strcmp(how, "segv") == 0)
                raise(SIGSEGV);
        else if (strcmp(how, "abort") == 0)
                abort();
        else if (strcmp(how, "exit") == 0)
                exit(0);
        else if (strcmp(how, "hang") == 0)
                for (;;)
                        pause();
        return 0;
}

/* Spelled out, with the size of a descriptor built before recover() existed: the agent must
 * load it and never read past that size. */
__attribute__((visibility("default"))) const struct opsagent_recipe opsagent_recipe = {
        .abi = OPSAGENT_RECIPE_ABI,
        .size = OPSAGENT_RECIPE_SIZE_V1,
        .name = "crash",
        .version = "0.1",
        .summary = "A recipe that crashes",
        .attr_root = "crash",
        .defaults_json = "{ \"how\": \"segv\" }",
        .schema_json = "{ \"type\": \"object\", \"properties\": { \"how\": { \"enum\": [\"segv\", \"abort\", "
                       "\"exit\", \"hang\", \"none\"] } } }",
        .time_budget_seconds = 2,
        .run = run,
        .recover = run, /* beyond .size: must never be called */
};
