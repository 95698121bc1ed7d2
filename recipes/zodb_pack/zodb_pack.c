/* zodb_pack: packs ZODB storages over the ZEO 5 protocol (no Python on the node), or runs a
 * pack command (ZEO 4 sites, RelStorage's zodbpack). Weekly, Sunday 01:00 (zodb_pack.timer). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <opsagent/recipe.h>

#include "zodb_zeo.h"

#define ZODB_PACK_MAX_SERVERS   64u  /* zodb_pack.servers entries */
#define ZODB_PACK_MAX_STORAGES  64u  /* storages per server */
#define ZODB_PACK_MAX_ARGV      64u  /* zodb_pack.command words */
#define ZODB_PACK_SUMMARY_MAX   2048u

static const char defaults_json[] =
        "{"
        "\"days\": 1,"
        "\"servers\": [{\"address\": \"127.0.0.1:8100\", \"storages\": [\"1\"]}],"
        "\"method\": \"zeo\","
        "\"command\": null,"
        "\"connect_timeout_seconds\": 10,"
        "\"pack_timeout_seconds\": null"
        "}";

static const char schema_json[] =
        "{"
        "\"type\": \"object\","
        "\"additionalProperties\": false,"
        "\"properties\": {"
        "  \"days\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 36500,"
        "            \"description\": \"days of history kept by the pack (plone.recipe.zeoserver's pack-days)\"},"
        "  \"servers\": {\"type\": \"array\", \"description\": \"ZEO servers to pack, in order\","
        "    \"items\": {\"type\": \"object\", \"additionalProperties\": false, \"properties\": {"
        "      \"address\": {\"type\": \"string\", \"minLength\": 1, \"description\": \"HOST:PORT, [IPV6]:PORT or a Unix socket path\"},"
        "      \"storages\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"minLength\": 1},"
        "                     \"description\": \"storage names as in zeo.conf (default [\\\"1\\\"])\"}}}},"
        "  \"method\": {\"type\": \"string\", \"enum\": [\"zeo\", \"command\"],"
        "              \"description\": \"zeo: speak ZEO 5 directly; command: run zodb_pack.command\"},"
        "  \"command\": {\"type\": [\"array\", \"null\"], \"items\": {\"type\": \"string\"},"
        "               \"description\": \"argv run by method command, e.g. [\\\"/srv/plone/bin/zeopack\\\"]\"},"
        "  \"connect_timeout_seconds\": {\"type\": \"number\", \"minimum\": 1, \"maximum\": 3600,"
        "              \"description\": \"connect, greeting, register and get_info\"},"
        "  \"pack_timeout_seconds\": {\"type\": [\"number\", \"null\"], \"minimum\": 1, \"maximum\": 2000000,"
        "              \"description\": \"null: wait for the pack as long as it takes\"}"
        "}"
        "}";

struct summary {
        char text[ZODB_PACK_SUMMARY_MAX];
        unsigned failed;
        unsigned total;
};

static void summary_add(struct summary *s, const char *address, const char *storage)
{
        size_t len = strlen(s->text);

        snprintf(s->text + len, sizeof(s->text) - len, "%s%s storage \"%s\"", len ? ", " : "", address,
                 storage);
}

static void log_cb(void *userdata, int level, const char *msg)
{
        ctx_log(userdata, level, "%s", msg);
}

static double mono_seconds(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double unix_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* TIMEOUT seconds (<= 0: none) clamped to the run's remaining budget, in ms (-1: none). */
static int timeout_ms(struct opsagent_ctx *ctx, double seconds)
{
        uint32_t left = ctx->ops->time_left ? ctx->ops->time_left(ctx) : UINT32_MAX;
        double ms = seconds > 0 ? seconds * 1000.0 : -1;

        if (left != UINT32_MAX && (ms < 0 || ms > (double)left * 1000.0))
                ms = (double)left * 1000.0;
        if (ms > 2e9)
                ms = 2e9;
        return ms < 0 ? -1 : (int)ms;
}

static void say_size(struct opsagent_ctx *ctx, const char *address, const char *storage, const char *when,
                     const struct zeo_info *info)
{
        if (!info->has_size) {
                ctx_say(ctx, "%s storage \"%s\": size %s: not reported by the server", address, storage, when);
                return;
        }
        if (info->has_length)
                ctx_say(ctx, "%s storage \"%s\": size %s: %" PRId64 " bytes (%.1f MiB), %" PRId64 " objects",
                        address, storage, when, info->size, (double)info->size / 1048576.0, info->length);
        else
                ctx_say(ctx, "%s storage \"%s\": size %s: %" PRId64 " bytes (%.1f MiB)", address, storage, when,
                        info->size, (double)info->size / 1048576.0);
}

/* Packs one storage on one server over its own connection (register is once per connection). */
static int pack_one(struct opsagent_ctx *ctx, const char *address, const char *storage, double days,
                    int connect_ms, int pack_ms, struct zeo_error *err)
{
        struct zeo_client *c = NULL;
        struct zeo_info before = { 0 }, after = { 0 };
        char *path = NULL;
        const char *target = address;
        double t, start, seconds;
        int r;

        if (address[0] == '/') {
                path = ctx_path(ctx, address);
                if (!path) {
                        r = -ENOMEM;
                        snprintf(err->msg, sizeof(err->msg), "out of memory");
                        goto out;
                }
                target = path;
        }
        r = zeo_connect(target, connect_ms, log_cb, ctx, &c, err);
        if (r < 0)
                goto out;
        r = zeo_register(c, storage, true, connect_ms, err);
        if (r < 0)
                goto out;
        r = zeo_get_info(c, connect_ms, &before, err);
        if (r < 0)
                goto out;
        say_size(ctx, address, storage, "before", &before);
        if (before.has_size)
                ctx_metric(ctx, "StorageBytesBefore", (double)before.size, "Bytes");
        t = unix_now() - days * 86400.0;
        if (ctx->dry_run) {
                ctx_say(ctx, "%s storage \"%s\": would pack, keeping %g day%s of history (dry run)", address,
                        storage, days, days == 1 ? "" : "s");
                goto out;
        }
        ctx_say(ctx, "%s storage \"%s\": packing, keeping %g day%s of history", address, storage, days,
                days == 1 ? "" : "s");
        start = mono_seconds();
        r = zeo_pack(c, t, pack_ms, err);
        seconds = mono_seconds() - start;
        if (r < 0)
                goto out;
        ctx_metric(ctx, "PackSeconds", seconds, "Seconds");
        /* The server announces the new size with an `info` message; ask if it did not. */
        if (!zeo_last_info(c, &after) || !after.has_size) {
                r = zeo_get_info(c, connect_ms, &after, err);
                if (r < 0)
                        goto out;
        }
        if (after.has_size) {
                ctx_metric(ctx, "StorageBytesAfter", (double)after.size, "Bytes");
                if (before.has_size)
                        ctx_say(ctx, "%s storage \"%s\": packed in %.1f s: %" PRId64 " -> %" PRId64
                                " bytes (%.1f MiB freed)", address, storage, seconds, before.size, after.size,
                                (double)(before.size - after.size) / 1048576.0);
                else
                        say_size(ctx, address, storage, "after", &after);
        } else
                ctx_say(ctx, "%s storage \"%s\": packed in %.1f s", address, storage, seconds);
out:
        zeo_close(c);
        free(path);
        return r;
}

static int run_zeo(struct opsagent_ctx *ctx)
{
        json_object *servers = ctx_attr(ctx, "servers");
        struct summary sum = { .text = "" };
        double days = 1, connect_s = 10, pack_s = 0;
        json_object *o;
        int connect_ms, pack_ms;
        size_t i, j, nservers;

        o = ctx_attr(ctx, "days");
        if (o)
                days = json_object_get_double(o);
        o = ctx_attr(ctx, "connect_timeout_seconds");
        if (o)
                connect_s = json_object_get_double(o);
        o = ctx_attr(ctx, "pack_timeout_seconds");
        if (o)
                pack_s = json_object_get_double(o);
        if (!isfinite(days) || days < 0)
                return ctx_fail(ctx, -EINVAL, "zodb_pack.days must be a number of days >= 0");
        connect_ms = timeout_ms(ctx, connect_s);
        pack_ms = timeout_ms(ctx, pack_s);

        if (!servers || !json_object_is_type(servers, json_type_array) ||
            json_object_array_length(servers) == 0)
                return ctx_fail_config(ctx, "zodb_pack.servers is empty: list the ZEO servers to pack, "
                                       "e.g. [{\"address\": \"127.0.0.1:8100\", \"storages\": [\"1\"]}]");
        nservers = json_object_array_length(servers);
        if (nservers > ZODB_PACK_MAX_SERVERS)
                return ctx_fail(ctx, -E2BIG, "zodb_pack.servers lists %zu servers (at most %u)", nservers,
                                ZODB_PACK_MAX_SERVERS);
        for (i = 0; i < nservers; i++) {
                json_object *srv = json_object_array_get_idx(servers, i), *addr = NULL, *stor = NULL;
                const char *address;
                size_t nstor;

                if (srv && json_object_is_type(srv, json_type_object)) {
                        json_object_object_get_ex(srv, "address", &addr);
                        json_object_object_get_ex(srv, "storages", &stor);
                }
                if (!addr || !json_object_is_type(addr, json_type_string) ||
                    json_object_get_string_len(addr) == 0) {
                        sum.failed++;
                        sum.total++;
                        ctx_log(ctx, OPSAGENT_LOG_ERR, "zodb_pack.servers[%zu].address is missing", i);
                        summary_add(&sum, "(no address)", "?");
                        continue;
                }
                address = json_object_get_string(addr);
                nstor = stor && json_object_is_type(stor, json_type_array) ? json_object_array_length(stor) : 0;
                if (nstor > ZODB_PACK_MAX_STORAGES) {
                        sum.failed++;
                        sum.total++;
                        ctx_log(ctx, OPSAGENT_LOG_ERR, "zodb_pack.servers[%zu].storages lists %zu storages "
                                "(at most %u)", i, nstor, ZODB_PACK_MAX_STORAGES);
                        summary_add(&sum, address, "(too many)");
                        continue;
                }
                for (j = 0; j < (nstor ? nstor : 1); j++) {
                        const char *storage = nstor ? json_object_get_string(json_object_array_get_idx(stor, j)) : "1";
                        struct zeo_error err = { 0, "" };
                        int r;

                        sum.total++;
                        r = pack_one(ctx, address, storage, days, connect_ms, pack_ms, &err);
                        if (r < 0) {
                                sum.failed++;
                                summary_add(&sum, address, storage);
                                ctx_say(ctx, "%s storage \"%s\": FAILED: %s", address, storage,
                                        err.msg[0] ? err.msg : strerror(-r));
                        }
                }
        }
        if (sum.failed > 0)
                return ctx_fail(ctx, -EREMOTEIO, "%u of %u packs failed: %s (see the lines above for why)",
                                sum.failed, sum.total, sum.text);
        return 0;
}

static int run_command(struct opsagent_ctx *ctx)
{
        json_object *cmd = ctx_attr(ctx, "command");
        struct opsagent_spawn_result res = { 0 };
        char *argv[ZODB_PACK_MAX_ARGV + 1];
        char shown[512] = "";
        double pack_s = 0, start;
        json_object *o;
        size_t i, n;
        int r;

        n = cmd && json_object_is_type(cmd, json_type_array) ? json_object_array_length(cmd) : 0;
        if (n == 0)
                return ctx_fail_config(ctx, "zodb_pack.method is \"command\" but zodb_pack.command is empty: "
                                       "set it to the pack command's argv, e.g. [\"/srv/plone/bin/zeopack\"]");
        if (n > ZODB_PACK_MAX_ARGV)
                return ctx_fail(ctx, -E2BIG, "zodb_pack.command has %zu words (at most %u)", n,
                                ZODB_PACK_MAX_ARGV);
        for (i = 0; i < n; i++) {
                json_object *w = json_object_array_get_idx(cmd, i);
                size_t len = strlen(shown);

                if (!w || !json_object_is_type(w, json_type_string))
                        return ctx_fail(ctx, -EINVAL, "zodb_pack.command[%zu] is not a string", i);
                argv[i] = (char *)json_object_get_string(w);
                snprintf(shown + len, sizeof(shown) - len, "%s%s", i ? " " : "", argv[i]);
        }
        argv[n] = NULL;
        o = ctx_attr(ctx, "pack_timeout_seconds");
        if (o)
                pack_s = json_object_get_double(o);
        if (ctx->dry_run) {
                ctx_say(ctx, "would run: %s (dry run)", shown);
                return 0;
        }
        ctx_say(ctx, "running: %s", shown);
        start = mono_seconds();
        r = ctx->ops->spawn(ctx, argv, pack_s > 0 ? (unsigned)(pack_s > 4e9 ? 4e9 : ceil(pack_s)) : 0, &res);
        if (r < 0)
                return ctx_fail(ctx, r, "zodb_pack.command: cannot run %s: %s", argv[0], strerror(-r));
        if (res.timed_out)
                r = ctx_fail(ctx, -ETIMEDOUT, "zodb_pack.command %s did not finish within %g s "
                             "(zodb_pack.pack_timeout_seconds) and was killed; last output:\n%s",
                             shown, pack_s, res.output_tail ? res.output_tail : "");
        else if (res.term_signal)
                r = ctx_fail(ctx, -EINTR, "zodb_pack.command %s was killed by signal %d; last output:\n%s",
                             shown, res.term_signal, res.output_tail ? res.output_tail : "");
        else if (res.exit_status != 0)
                r = ctx_fail(ctx, -EREMOTEIO, "zodb_pack.command %s exited with status %d; last output:\n%s",
                             shown, res.exit_status, res.output_tail ? res.output_tail : "");
        else {
                double seconds = mono_seconds() - start;

                ctx_metric(ctx, "PackSeconds", seconds, "Seconds");
                ctx_say(ctx, "%s: done in %.1f s", shown, seconds);
        }
        free(res.output_tail);
        return r;
}

static int zodb_pack_run(struct opsagent_ctx *ctx)
{
        const char *method = ctx_attr_string(ctx, "method", "zeo");

        if (strcmp(method, "command") == 0)
                return run_command(ctx);
        if (strcmp(method, "zeo") != 0)
                return ctx_fail(ctx, -EINVAL, "zodb_pack.method is \"%s\": use \"zeo\" or \"command\"", method);
        return run_zeo(ctx);
}

OPSAGENT_RECIPE_DESCRIPTOR("zodb_pack", PACKAGE_VERSION, "Packs ZODB storages over ZEO 5 (or with a command)",
                           "zodb_pack", defaults_json, schema_json, 0, 0, zodb_pack_run);
