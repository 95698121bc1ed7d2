/* Recipe logrotate: rotates the logs of every set under logrotate.sets, compressing in-process
 * (libarchive), reopening writers without losing a line, crash-safe through a journal. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <opsagent/recipe.h>

#include "logrotate_recipe.h"
#include "lr_config.h"
#include "lr_recover.h"
#include "lr_rotate.h"
#include "lr_state.h"
#include "lr_util.h"

/* Shipped sets. Plone (Zope and ZEO) reopen their logs on SIGUSR2, so they lose nothing with
 * "reopen"; supervisor's children log through supervisord, which cannot be told to reopen, so
 * that set keeps the copytruncate of the seed's cookbook. */
const char logrotate_defaults_json[] =
        "{\n"
        "  \"sets\": {\n"
        "    \"plone\": {\n"
        "      \"enabled\": true,\n"
        "      \"paths\": [\"/srv/www/*/var/log/*.log\"],\n"
        "      \"frequency\": \"daily\", \"rotate\": 14, \"compress\": \"zstd\",\n"
        "      \"missingok\": true, \"notifempty\": true,\n"
        "      \"method\": \"reopen\",\n"
        "      \"reopen\": { \"pidfile\": \"/srv/www/*/var/*.pid\", \"signal\": \"SIGUSR2\", \"timeout\": 30 }\n"
        "    },\n"
        "    \"supervisor\": {\n"
        "      \"enabled\": true,\n"
        "      \"paths\": [\"/var/log/supervisor/*.log\"],\n"
        "      \"frequency\": \"daily\", \"rotate\": 7, \"compress\": \"zstd\",\n"
        "      \"missingok\": true, \"notifempty\": true,\n"
        "      \"method\": \"copytruncate\"\n"
        "    }\n"
        "  }\n"
        "}\n";

#define SIZE_SCHEMA "{\"type\": [\"string\", \"integer\"], \"description\": \"bytes, or a size like 100M (k, M, G)\"}"

const char logrotate_schema_json[] =
        "{\n"
        " \"type\": \"object\",\n"
        " \"properties\": {\n"
        "  \"sets\": {\n"
        "   \"type\": \"object\",\n"
        "   \"description\": \"rotation sets by name\",\n"
        "   \"additionalProperties\": {\n"
        "    \"type\": \"object\",\n"
        "    \"additionalProperties\": false,\n"
        "    \"properties\": {\n"
        "     \"enabled\": {\"type\": \"boolean\", \"description\": \"false skips the set\"},\n"
        "     \"paths\": {\"type\": [\"array\", \"string\"], \"format\": \"path\",\n"
        "                 \"items\": {\"type\": \"string\", \"format\": \"path\"},\n"
        "                 \"description\": \"absolute globs of the logs\"},\n"
        "     \"rotate\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 10000,\n"
        "                  \"description\": \"rotated files kept\"},\n"
        "     \"frequency\": {\"type\": \"string\", \"enum\": [\"hourly\", \"daily\", \"weekly\", \"monthly\", \"yearly\"]},\n"
        "     \"size\": " SIZE_SCHEMA ",\n"
        "     \"minsize\": " SIZE_SCHEMA ",\n"
        "     \"maxsize\": " SIZE_SCHEMA ",\n"
        "     \"maxage\": {\"type\": \"integer\", \"minimum\": 0, \"description\": \"days\"},\n"
        "     \"compress\": {\"type\": \"string\", \"enum\": [\"zstd\", \"gzip\", \"xz\", \"none\"]},\n"
        "     \"compress_level\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 22},\n"
        "     \"delaycompress\": {\"type\": \"boolean\"},\n"
        "     \"dateext\": {\"type\": \"boolean\"},\n"
        "     \"dateformat\": {\"type\": \"string\", \"description\": \"strftime: %Y %m %d %H %M %S %V %s\"},\n"
        "     \"olddir\": {\"type\": \"string\", \"format\": \"path\"},\n"
        "     \"missingok\": {\"type\": \"boolean\"},\n"
        "     \"allowhardlink\": {\"type\": \"boolean\", \"description\": \"rotate logs with more than one hard link\"},\n"
        "     \"su\": {\"type\": \"object\", \"additionalProperties\": false, \"properties\": {\n"
        "       \"user\": {\"type\": \"string\"}, \"group\": {\"type\": \"string\"}}},\n"
        "     \"notifempty\": {\"type\": \"boolean\"},\n"
        "     \"method\": {\"type\": \"string\", \"enum\": [\"reopen\", \"create\", \"copytruncate\"]},\n"
        "     \"reopen\": {\"type\": \"object\", \"additionalProperties\": false, \"properties\": {\n"
        "       \"unit\": {\"type\": \"string\", \"description\": \"systemd unit signalled through sd-bus\"},\n"
        "       \"pidfile\": {\"type\": \"string\", \"format\": \"path\", \"description\": \"glob of pidfiles\"},\n"
        "       \"exe\": {\"type\": \"string\", \"format\": \"path\", \"description\": \"the executable a pidfile's process must run\"},\n"
        "       \"command\": {\"type\": [\"string\", \"array\"], \"items\": {\"type\": \"string\"},\n"
        "                   \"prefixItems\": [{\"type\": \"string\", \"format\": \"path\"}]},\n"
        "       \"signal\": {\"type\": \"string\"},\n"
        "       \"timeout\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 3600},\n"
        "       \"settle_ms\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 60000}}},\n"
        "     \"create\": {\"type\": \"object\", \"additionalProperties\": false, \"properties\": {\n"
        "       \"mode\": {\"type\": \"string\"}, \"owner\": {\"type\": \"string\"}, \"group\": {\"type\": \"string\"}}}\n"
        "    }\n"
        "   }\n"
        "  }\n"
        " }\n"
        "}\n";

static void free_sets(struct lr_set **sets, size_t n)
{
        for (size_t i = 0; i < n; i++)
                lr_set_free(sets[i]);
        free(sets);
}

/* Parses every enabled set. A set with a wrong value is refused with a line naming the key
 * (a configuration error: the agent exits 2 once the run is over) and left out; the others
 * are rotated. *ret_config: OPSAGENT_RUN_CONFIG_ERROR (ctx_fail_config) when a set was refused, else 0. */
static int parse_sets(struct opsagent_ctx *ctx, struct lr_set ***ret, size_t *ret_n, int *ret_config)
{
        json_object *sets = ctx_attr(ctx, "sets");
        struct lr_set **list = NULL;
        size_t n = 0;
        int r = 0, config = 0;

        if (!sets || !json_object_is_type(sets, json_type_object)) {
                *ret = NULL;
                *ret_n = 0;
                *ret_config = 0;
                return 0;
        }
        list = calloc((size_t)json_object_object_length(sets) + 1, sizeof(*list));
        if (!list)
                return -ENOMEM;
        json_object_object_foreach(sets, name, obj) {
                json_object *en;
                char *err = NULL;
                if (!obj || (json_object_object_get_ex(obj, "enabled", &en) && !json_object_get_boolean(en)))
                        continue;
                r = lr_set_parse(name, obj, &list[n], &err);
                if (r == -EINVAL && err) {
                        config = ctx_fail_config(ctx, "%s; set %.*s%s is refused, its logs are not rotated until "
                                                 "that is fixed", err, LR_QUOTE_MAX, name,
                                                 strlen(name) > LR_QUOTE_MAX ? "..." : "");
                        free(err);
                        r = 0;
                        continue;
                }
                if (r < 0) {
                        free(err);
                        r = ctx_fail(ctx, r, "cannot read the attributes of logrotate set %.*s: %s", LR_QUOTE_MAX,
                                     name, strerror(-r));
                        goto out;
                }
                n++;
        }
        *ret = list;
        *ret_n = n;
        *ret_config = config;
        list = NULL;
        n = 0;
out:
        free_sets(list, n);
        return r;
}

int logrotate_run(struct opsagent_ctx *ctx)
{
        struct lr_set **sets = NULL;
        size_t n = 0;
        struct lr_run run = { .root_fd = -1 };
        char *warning = NULL;
        int r, first = 0, config = 0;

        r = parse_sets(ctx, &sets, &n, &config);
        if (r < 0)
                return r;
        r = lr_state_load(ctx->state_dir, &run.state, &warning);
        if (r < 0) {
                r = ctx_fail(ctx, r, "cannot read %s/%s (when each log was last rotated): %s%s; nothing was rotated",
                             ctx->state_dir, LR_STATE_FILE, strerror(-r), lr_write_advice(r));
                goto out;
        }
        if (warning)
                ctx_say(ctx, "warning: %s", warning);
        run.ctx = ctx;
        run.state_dir = ctx->state_dir;
        run.root = ctx->root ? ctx->root : "";
        run.now = time(NULL);
        run.dry_run = ctx->dry_run;
        run.sets = sets;
        run.n_sets = n;
        r = lr_dircache_new(&run.dirs);
        if (r < 0)
                goto out;
        /* every directory on the way to a log is resolved beneath this, without links */
        run.root_fd = open(run.root[0] ? run.root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (run.root_fd < 0) {
                r = ctx_fail(ctx, -errno, "cannot open the root %s: %s", run.root[0] ? run.root : "/", strerror(errno));
                goto out;
        }
        r = lr_recover(&run);
        if (r < 0)
                first = r;
        for (size_t i = 0; i < n; i++) {
                r = lr_process_set(&run, sets[i]);
                if (r < 0 && !first)
                        first = r;
        }
        if (!run.dry_run) {
                r = lr_flush_dirty(&run);
                if (r >= 0)
                        r = lr_save_state(&run);
                if (r < 0 && !first)
                        first = r;
        }
        (void)ctx_metric(ctx, "LogsRotated", (double)run.stats.logs_rotated, "Count");
        (void)ctx_metric(ctx, "BytesRotated", (double)run.stats.bytes_rotated, "Bytes");
        (void)ctx_metric(ctx, "BytesCompressed", (double)run.stats.bytes_compressed, "Bytes");
        if (run.stats.logs_rotated || run.stats.errors)
                ctx_say(ctx, "%llu log(s) rotated, %u refused or failed", (unsigned long long)run.stats.logs_rotated,
                        run.stats.errors);
        if (first < 0)
                r = ctx_fail(ctx, first, "%u log(s) could not be rotated (see the lines above)",
                             run.stats.errors ? run.stats.errors : 1);
        else
                r = config;     /* the refused sets, said above */
out:
        (void)lr_flush_dirty(&run);
        lr_journal_close();
        if (run.root_fd >= 0)
                close(run.root_fd);
        lr_dircache_free(run.dirs);
        free(warning);
        lr_state_free(run.state);
        free_sets(sets, n);
        return r;
}

OPSAGENT_RECIPE_DESCRIPTOR("logrotate", PACKAGE_VERSION, "Log rotation with in-process compression and no lost lines",
                           "logrotate", logrotate_defaults_json, logrotate_schema_json, 3600, 0, logrotate_run);
