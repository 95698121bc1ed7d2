/* A recipe for the `opsagent configure` tests: declares OPSAGENT_RECIPE_CONFIGURE (and nothing
 * else), and writes its `content` attribute to `file` under the root prefix, so that a test can
 * see that a change of the stack configuration ran it, with the new attributes. */
#include <errno.h>
#include <string.h>

#include "opsagent/recipe.h"

static const char defaults[] = "{ \"content\": \"configured\\n\", \"file\": \"/etc/probe_configure.conf\" }";
static const char schema[] =
        "{ \"type\": \"object\", \"properties\": {"
        "  \"content\": { \"type\": \"string\" },"
        "  \"file\": { \"type\": \"string\", \"format\": \"path\" }"
        "}, \"additionalProperties\": false }";

static int run(struct opsagent_ctx *ctx)
{
        const char *content = ctx_attr_string(ctx, "content", "");
        int r;

        /* The content may be a secret: no diff in a dry run. */
        r = ctx->ops->write_file(ctx, ctx_attr_string(ctx, "file", "/etc/probe_configure.conf"), content,
                                 strlen(content), 0600, OPSAGENT_WRITE_NO_DIFF);
        if (r < 0)
                return ctx_fail(ctx, r, "cannot write the probe file");
        ctx_say(ctx, "probe_configure: %s", r ? (ctx->dry_run ? "would change" : "changed") : "unchanged");
        return 0;
}

OPSAGENT_RECIPE_DESCRIPTOR("probe_configure", "1.0", "Configure-event probe for the configure tests",
                           "probe_configure", defaults, schema, 30, OPSAGENT_RECIPE_CONFIGURE, run);
