/* A setup recipe for the `opsagent setup` tests: writes its `content` attribute to `file`
 * under the root prefix, and says whether that changed anything (so that a second setup can
 * be seen to change nothing). Fails when `fail` is true. */
#include <errno.h>
#include <string.h>

#include "opsagent/recipe.h"

static const char defaults[] = "{ \"content\": \"setup ran\\n\", \"file\": \"/etc/probe_setup.conf\","
                               " \"fail\": false }";
static const char schema[] =
        "{ \"type\": \"object\", \"properties\": {"
        "  \"content\": { \"type\": \"string\" },"
        "  \"file\": { \"type\": \"string\" },"
        "  \"fail\": { \"type\": \"boolean\" }"
        "}, \"additionalProperties\": false }";

static int run(struct opsagent_ctx *ctx)
{
        const char *content = ctx_attr_string(ctx, "content", "");
        int r;

        if (ctx_attr_bool(ctx, "fail", false))
                return ctx_fail(ctx, -EIO, "probe_setup told to fail");
        r = ctx->ops->write_file(ctx, ctx_attr_string(ctx, "file", "/etc/probe_setup.conf"), content,
                                 strlen(content), 0644, 0);
        if (r < 0)
                return ctx_fail(ctx, r, "cannot write the probe file");
        ctx_say(ctx, "probe_setup: %s", r ? (ctx->dry_run ? "would change" : "changed") : "unchanged");
        return 0;
}

OPSAGENT_RECIPE_DESCRIPTOR("probe_setup", "1.0", "Setup-time probe for the setup tests", "probe_setup",
                           defaults, schema, 30, OPSAGENT_RECIPE_SETUP, run);
