/* A well-behaved test recipe: reads its attributes, says something, records metrics, writes a
 * file under the root prefix, and fails when told to (or stops at a configuration error). Its recover step removes a "leftover"
 * file from its state directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opsagent/recipe.h"

static const char defaults[] = "{ \"greeting\": \"hello\", \"count\": 2, \"fail\": false, \"unusable\": false,"
                               " \"password\": null, \"output\": \"/var/tmp/good.out\", \"list\": [1, 2] }";
static const char schema[] =
        "{ \"type\": \"object\", \"properties\": {"
        "  \"greeting\": { \"type\": \"string\" },"
        "  \"count\": { \"type\": \"integer\", \"minimum\": 0 },"
        "  \"fail\": { \"type\": \"boolean\" },"
        "  \"unusable\": { \"type\": \"boolean\" },"
        "  \"password\": { \"type\": [\"string\", \"null\"] },"
        "  \"output\": { \"type\": \"string\" },"
        "  \"list\": { \"type\": \"array\", \"items\": { \"type\": \"integer\" } }"
        "} }";

static int run(struct opsagent_ctx *ctx)
{
        const char *greeting = ctx_attr_string(ctx, "greeting", "?");
        int64_t count = ctx_attr_int(ctx, "count", 0);
        const char *password = ctx_attr_string(ctx, "password", NULL);
        char text[256];
        int r;

        if (ctx_attr_bool(ctx, "unusable", false))
                return ctx_fail_config(ctx, "good.unusable is true: set it to false");
        for (int64_t i = 0; i < count; i++)
                ctx_say(ctx, "%s #%lld", greeting, (long long)i);
        if (password)
                ctx_log(ctx, OPSAGENT_LOG_WARNING, "using password %s", password);
        ctx_metric(ctx, "Greetings", (double)count, "Count");
        snprintf(text, sizeof(text), "%s x%lld\n", greeting, (long long)count);
        r = ctx->ops->write_file(ctx, ctx_attr_string(ctx, "output", "/var/tmp/good.out"), text, strlen(text), 0644, 0);
        if (r < 0)
                return ctx_fail(ctx, r, "cannot write the output file");
        ctx_say(ctx, "output %s", r ? (ctx->dry_run ? "would change" : "written") : "unchanged");
        if (ctx_attr_bool(ctx, "fail", false))
                return ctx_fail(ctx, -EIO, "told to fail (password %s)", password ? password : "none");
        return 0;
}

/* Undoes a "leftover" file in its state directory, as if a killed run had left it. */
static int recover(struct opsagent_ctx *ctx)
{
        char path[4096];

        snprintf(path, sizeof(path), "%s/leftover", ctx->state_dir);
        if (access(path, F_OK) < 0)
                return 0;
        if (ctx->dry_run) {
                ctx_say(ctx, "would remove the leftover %s", path);
                return 0;
        }
        if (unlink(path) < 0)
                return ctx_fail(ctx, -errno, "cannot remove the leftover %s", path);
        ctx_say(ctx, "removed the leftover %s", path);
        return 0;
}

OPSAGENT_RECIPE_DESCRIPTOR_RECOVER("good", "1.2", "A recipe that behaves", "good", defaults, schema, 30, 0, run,
                                   recover);
