/* A recipe for the reporting tests: puts report_probe.metrics metrics (Probe0000 = 0,
 * Probe0001 = 1, ...) and fails when report_probe.fail is true. */
#include <errno.h>
#include <stdio.h>

#include "opsagent/recipe.h"

static const char defaults[] = "{ \"metrics\": 1, \"fail\": false }";
static const char schema[] =
        "{ \"type\": \"object\", \"properties\": {"
        "  \"metrics\": { \"type\": \"integer\", \"minimum\": 0, \"maximum\": 5000 },"
        "  \"fail\": { \"type\": \"boolean\" }"
        "} }";

static int run(struct opsagent_ctx *ctx)
{
        int64_t n = ctx_attr_int(ctx, "metrics", 1);
        char name[32];

        for (int64_t i = 0; i < n; i++) {
                snprintf(name, sizeof(name), "Probe%04lld", (long long)i);
                ctx_metric(ctx, name, (double)i, "Count");
        }
        if (ctx_attr_bool(ctx, "fail", false))
                return ctx_fail(ctx, -EIO, "told to fail");
        return 0;
}

OPSAGENT_RECIPE_DESCRIPTOR("report_probe", "1.0", "Puts metrics for the reporting tests", "report_probe",
                           defaults, schema, 30, 0, run);
