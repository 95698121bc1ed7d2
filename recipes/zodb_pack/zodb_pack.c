/* zodb_pack: packs ZODB storages over the ZEO 5 protocol (no Python on the node), or runs a
 * pack command (ZEO 4 sites, RelStorage's zodbpack). Weekly, Sunday 01:00 (zodb_pack.timer). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <opsagent/recipe.h>

#include "zodb_zeo.h"

#define ZODB_PACK_MAX_SERVERS   64u  /* zodb_pack.servers entries */
#define ZODB_PACK_MAX_STORAGES  64u  /* storages per server */
#define ZODB_PACK_MAX_ARGV      64u  /* zodb_pack.command words */
#define ZODB_PACK_SUMMARY_MAX   2048u
#define ZODB_PACK_MARGIN_MS     1000 /* a pack bounded by the budget times out this long before it */
#define ZODB_PACK_MAX_BLOB_FILES 10000000u /* a blob directory with more files is not measured */
#define ZODB_PACK_MAX_BLOB_DEPTH 64u       /* nor one with more levels of directories */

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
        "      \"address\": {\"type\": \"string\", \"minLength\": 1, \"format\": \"path\", \"description\": \"HOST:PORT, [IPV6]:PORT or a Unix socket path\"},"
        "      \"storages\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"minLength\": 1},"
        "                     \"description\": \"storage names as in zeo.conf (default [\\\"1\\\"])\"},"
        "      \"blob_dirs\": {\"type\": \"object\", \"additionalProperties\": {\"type\": \"string\", \"minLength\": 1, \"format\": \"path\"},"
        "                     \"description\": \"storage name -> its blob directory on this host: its size is reported too\"}}}},"
        "  \"method\": {\"type\": \"string\", \"enum\": [\"zeo\", \"command\"],"
        "              \"description\": \"zeo: speak ZEO 5 directly; command: run zodb_pack.command\"},"
        "  \"command\": {\"type\": [\"array\", \"null\"], \"items\": {\"type\": \"string\"},"
        "               \"prefixItems\": [{\"type\": \"string\", \"format\": \"path\"}],"
        "               \"description\": \"argv run by method command, e.g. [\\\"/srv/plone/bin/zeopack\\\"]\"},"
        "  \"connect_timeout_seconds\": {\"type\": \"number\", \"minimum\": 1, \"maximum\": 3600,"
        "              \"description\": \"connect, greeting, register and get_info\"},"
        "  \"pack_timeout_seconds\": {\"type\": [\"number\", \"null\"], \"minimum\": 1, \"maximum\": 2000000,"
        "              \"description\": \"null: wait for the pack as long as it takes\"}"
        "}"
        "}";

struct summary {
        char text[ZODB_PACK_SUMMARY_MAX];      /* the failed ones */
        char packed[ZODB_PACK_SUMMARY_MAX];    /* the ones that were packed */
        unsigned failed;
        unsigned total;
};

static void list_add(char *list, size_t size, const char *address, const char *storage)
{
        size_t len = strlen(list);

        snprintf(list + len, size - len, "%s%s storage \"%s\"", len ? ", " : "", address, storage);
}

static void summary_add(struct summary *s, const char *address, const char *storage)
{
        list_add(s->text, sizeof(s->text), address, storage);
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

/* A timeout of SECONDS (<= 0: none) that also ends ZODB_PACK_MARGIN_MS before the run's time
 * budget does, so that the recipe, not the runner, stops and reports; read at the moment it is
 * needed, since each pack uses some of the budget. In ms, -1 for none; *ret_what (may be NULL)
 * names the setting that decided it. */
static int timeout_ms(struct opsagent_ctx *ctx, double seconds, const char *setting, const char **ret_what)
{
        uint32_t left = ctx->ops->time_left ? ctx->ops->time_left(ctx) : UINT32_MAX;
        double ms = seconds > 0 ? seconds * 1000.0 : -1;
        const char *what = setting;

        if (left != UINT32_MAX) {
                double budget = (double)left * 1000.0 - ZODB_PACK_MARGIN_MS;

                if (budget < 0)
                        budget = 0;
                if (ms < 0 || ms > budget) {
                        ms = budget;
                        what = "what was left of zodb_pack.time_budget_seconds";
                }
        }
        if (ms > 2e9)
                ms = 2e9;
        if (ret_what)
                *ret_what = what;
        return ms < 0 ? -1 : (int)ms;
}

struct blob_count {
        uint64_t bytes;
        size_t files;
        dev_t dev;      /* the blob directory's filesystem: mounts below it are not counted */
};

/* Adds the regular files under the directory DFD (taken over and closed) to C, DEPTH levels
 * down; links are not followed, other filesystems not entered. -E2BIG past
 * ZODB_PACK_MAX_BLOB_FILES files or ZODB_PACK_MAX_BLOB_DEPTH levels. */
static int blob_count_dir(int dfd, unsigned depth, struct blob_count *c)
{
        DIR *d;
        struct dirent *e;
        int r = 0;

        if (depth > ZODB_PACK_MAX_BLOB_DEPTH) {
                close(dfd);
                return -E2BIG;
        }
        d = fdopendir(dfd);
        if (!d) {
                r = -errno;
                close(dfd);
                return r;
        }
        while (r >= 0 && (errno = 0, e = readdir(d))) {
                struct stat st;
                int sub;

                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue; /* gone meanwhile */
                if (S_ISREG(st.st_mode)) {
                        c->bytes += (uint64_t)st.st_size;
                        if (++c->files > ZODB_PACK_MAX_BLOB_FILES)
                                r = -E2BIG;
                } else if (S_ISDIR(st.st_mode) && st.st_dev == c->dev) {
                        sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0)
                                r = blob_count_dir(sub, depth + 1, c);
                }
        }
        if (r >= 0 && errno != 0)
                r = -errno;
        closedir(d);
        return r;
}

/* The bytes of the regular files under DIR (beneath the root, no link on the way or below). */
static int blob_bytes(struct opsagent_ctx *ctx, const char *dir, uint64_t *ret)
{
        struct blob_count c = { 0 };
        struct stat st;
        int fd, r;

        if (dir[0] != '/')
                return -EINVAL;
        fd = ctx_open(ctx, dir, O_RDONLY | O_DIRECTORY, 0, 0);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        c.dev = st.st_dev;
        r = blob_count_dir(fd, 0, &c);
        if (r < 0)
                return r;
        *ret = c.bytes;
        return 0;
}

/* Says and reports the size of STORAGE's blob directory DIR (NULL: none), WHEN "before" or
 * "after". */
static void blob_size(struct opsagent_ctx *ctx, const char *address, const char *storage, const char *dir,
                      const char *when)
{
        uint64_t n = 0;
        int r;

        if (!dir)
                return;
        r = blob_bytes(ctx, dir, &n);
        if (r < 0) {
                ctx_say(ctx, "%s storage \"%s\": blob directory %s %s: cannot be measured: %s", address, storage,
                        dir, when,
                        r == -E2BIG   ? "more files, or levels of directories, than measured"
                        : r == -ELOOP ? "a symbolic link is on the way, which is not followed"
                                      : strerror(-r));
                return;
        }
        ctx_say(ctx, "%s storage \"%s\": blobs %s: %" PRIu64 " bytes (%.1f MiB) in %s", address, storage, when, n,
                (double)n / 1048576.0, dir);
        ctx_metric(ctx, strcmp(when, "before") == 0 ? "BlobBytesBefore" : "BlobBytesAfter", (double)n, "Bytes");
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

/* Packs one storage on one server over its own connection (register is once per connection).
 * The timeouts are read now: CONNECT_S and PACK_S (<= 0: none) as bounded by the budget.
 * BLOB_DIR: the storage's blob directory on this host, or NULL. */
static int pack_one(struct opsagent_ctx *ctx, const char *address, const char *storage, const char *blob_dir,
                    double days, double connect_s, double pack_s, struct zeo_error *err)
{
        struct zeo_client *c = NULL;
        struct zeo_info before = { 0 }, after = { 0 };
        char *path = NULL;
        const char *pack_what = NULL;
        double t, start, seconds;
        int connect_ms = timeout_ms(ctx, connect_s, "zodb_pack.connect_timeout_seconds", NULL), pack_ms, sock_fd = -1, r;

        if (connect_ms == 0) {
                snprintf(err->msg, sizeof(err->msg), "not started: the time budget "
                         "(zodb_pack.time_budget_seconds) is used up");
                return -ETIMEDOUT;
        }
        if (address[0] == '/') {
                /* The socket beneath the root, no link on the way: a user who owns a directory of
                 * the path cannot point the agent at another socket. */
                path = ctx_path(ctx, address);
                if (!path) {
                        r = -ENOMEM;
                        snprintf(err->msg, sizeof(err->msg), "out of memory");
                        goto out;
                }
                sock_fd = ctx_open(ctx, address, O_PATH, 0, 0);
                if (sock_fd < 0) {
                        r = sock_fd;
                        snprintf(err->msg, sizeof(err->msg), "cannot connect to the ZEO server at %s: %s", path,
                                 r == -ELOOP ? "a symbolic link is on the way, which is not followed" : strerror(-r));
                        goto out;
                }
                r = zeo_connect_unix_fd(sock_fd, path, connect_ms, log_cb, ctx, &c, err);
        } else
                r = zeo_connect(address, connect_ms, log_cb, ctx, &c, err);
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
        blob_size(ctx, address, storage, blob_dir, "before");
        t = unix_now() - days * 86400.0;
        if (ctx->dry_run) {
                ctx_say(ctx, "%s storage \"%s\": would pack, keeping %g day%s of history (dry run)", address,
                        storage, days, days == 1 ? "" : "s");
                goto out;
        }
        ctx_say(ctx, "%s storage \"%s\": packing, keeping %g day%s of history", address, storage, days,
                days == 1 ? "" : "s");
        pack_ms = timeout_ms(ctx, pack_s, "zodb_pack.pack_timeout_seconds", &pack_what);
        start = mono_seconds();
        r = zeo_pack(c, t, pack_ms, err);
        seconds = mono_seconds() - start;
        if (r == -ETIMEDOUT) {
                size_t len = strlen(err->msg);

                snprintf(err->msg + len, sizeof(err->msg) - len, " (the limit is %s)", pack_what);
        }
        if (r < 0)
                goto out;
        ctx_metric(ctx, "PackSeconds", seconds, "Seconds");
        /* The server announces the new size with an `info` message; ask if it did not. */
        if (!zeo_last_info(c, &after) || !after.has_size) {
                r = zeo_get_info(c, timeout_ms(ctx, connect_s, "zodb_pack.connect_timeout_seconds", NULL), &after,
                                 err);
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
        blob_size(ctx, address, storage, blob_dir, "after");
out:
        zeo_close(c);
        if (sock_fd >= 0)
                close(sock_fd);
        free(path);
        return r;
}

static int run_zeo(struct opsagent_ctx *ctx)
{
        json_object *servers = ctx_attr(ctx, "servers");
        struct summary sum = { .text = "" };
        double days = 1, connect_s = 10, pack_s = 0;
        json_object *o;
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

        if (!servers || !json_object_is_type(servers, json_type_array) ||
            json_object_array_length(servers) == 0)
                return ctx_fail_config(ctx, "zodb_pack.servers is empty: list the ZEO servers to pack, "
                                       "e.g. [{\"address\": \"127.0.0.1:8100\", \"storages\": [\"1\"]}]");
        nservers = json_object_array_length(servers);
        if (nservers > ZODB_PACK_MAX_SERVERS)
                return ctx_fail(ctx, -E2BIG, "zodb_pack.servers lists %zu servers (at most %u)", nservers,
                                ZODB_PACK_MAX_SERVERS);
        for (i = 0; i < nservers; i++) {
                json_object *srv = json_object_array_get_idx(servers, i), *addr = NULL, *stor = NULL, *blobs = NULL;
                const char *address;
                size_t nstor;

                if (srv && json_object_is_type(srv, json_type_object)) {
                        json_object_object_get_ex(srv, "address", &addr);
                        json_object_object_get_ex(srv, "storages", &stor);
                        json_object_object_get_ex(srv, "blob_dirs", &blobs);
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
                        json_object *bd = NULL;
                        int r;

                        sum.total++;
                        if (blobs && json_object_is_type(blobs, json_type_object))
                                json_object_object_get_ex(blobs, storage, &bd);
                        r = pack_one(ctx, address, storage,
                                     bd && json_object_is_type(bd, json_type_string) ? json_object_get_string(bd)
                                                                                     : NULL,
                                     days, connect_s, pack_s, &err);
                        if (r >= 0)
                                list_add(sum.packed, sizeof(sum.packed), address, storage);
                        if (r < 0) {
                                sum.failed++;
                                summary_add(&sum, address, storage);
                                ctx_say(ctx, "%s storage \"%s\": FAILED: %s", address, storage,
                                        err.msg[0] ? err.msg : strerror(-r));
                        }
                }
        }
        if (sum.failed > 0)
                return ctx_fail(ctx, -EREMOTEIO, "%u of %u packs failed: %s (see the lines above for why)%s%s",
                                sum.failed, sum.total, sum.text, sum.packed[0] ? "; packed: " : "", sum.packed);
        return 0;
}

static int run_command(struct opsagent_ctx *ctx)
{
        json_object *cmd = ctx_attr(ctx, "command");
        struct opsagent_spawn_result res = { 0 };
        struct opsagent_command spec = { .size = sizeof(spec), .attr = "command" };
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
        if (!OPSAGENT_CTX_HAS_OP(ctx, spawn_command))
                return ctx_fail(ctx, -ENOSYS, "zodb_pack.command: this agent cannot run a command from "
                                "configuration safely (no spawn_command); upgrade opsagent");
        ctx_say(ctx, "running: %s", shown);
        start = mono_seconds();
        /* From configuration: only if a file only root can write said so, with a minimal environment. */
        spec.timeout_seconds = pack_s > 0 ? (unsigned)(pack_s > 4e9 ? 4e9 : ceil(pack_s)) : 0;
        r = ctx->ops->spawn_command(ctx, argv, &spec, &res);
        if (r == -EPERM)
                return ctx_fail(ctx, r, "zodb_pack.command: not run: it, or the program it names, could "
                                "have been changed by someone other than root (see the error above)");
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
