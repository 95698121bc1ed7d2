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

OPSAGENT_RECIPE_DESCRIPTOR("crash", "0.1", "A recipe that crashes", "crash", "{ \"how\": \"segv\" }",
                           "{ \"type\": \"object\", \"properties\": { \"how\": { \"enum\": [\"segv\", \"abort\", \"exit\", \"hang\", \"none\"] } } }",
                           2, 0, run);
