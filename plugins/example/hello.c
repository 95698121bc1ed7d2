/* An example opsagent recipe, built out of tree against the installed SDK exactly as a third
 * party would:
 *
 *     cc -shared -fPIC $(pkg-config --cflags opsagent) -o hello.so hello.c $(pkg-config --libs json-c)
 *     sudo install -m 0644 hello.so "$(pkg-config --variable=plugindir opsagent)/"
 *
 * It writes a message of the day under the root prefix (only when it changes) and counts it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <opsagent/recipe.h>

static const char defaults[] = "{ \"motd\": \"Managed by opsagent\", \"path\": \"/etc/motd.d/opsagent\" }";

static const char schema[] = "{ \"type\": \"object\", \"properties\": {"
                             "  \"motd\": { \"type\": \"string\", \"description\": \"text of the message\" },"
                             "  \"path\": { \"type\": \"string\", \"description\": \"file to write\" }"
                             "} }";

static int run(struct opsagent_ctx *ctx)
{
        const char *motd = ctx_attr_string(ctx, "motd", "");
        const char *path = ctx_attr_string(ctx, "path", "/etc/motd.d/opsagent");
        const char *host = ctx_fact(ctx, "hostname");
        char text[1024];
        int n, r;

        n = snprintf(text, sizeof(text), "%s%s%s\n", motd, host ? " on " : "", host ? host : "");
        if (n < 0 || (size_t)n >= sizeof(text))
                return ctx_fail(ctx, -E2BIG, "hello.motd is longer than %zu bytes", sizeof(text) - 2);
        r = ctx->ops->write_file(ctx, path, text, (size_t)n, 0644, 0);
        if (r < 0)
                return ctx_fail(ctx, r, "cannot write %s: %s", path, strerror(-r));
        ctx_say(ctx, "%s: %s", path, r == 0 ? "unchanged" : ctx->dry_run ? "would be updated" : "updated");
        ctx_metric(ctx, "MotdChanged", r, "Count");
        return 0;
}

OPSAGENT_RECIPE_DESCRIPTOR("hello", "1.0", "Example: writes a message of the day", "hello", defaults, schema, 10, 0,
                           run);
