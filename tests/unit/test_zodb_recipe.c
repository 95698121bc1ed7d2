/* zodb_pack recipe (recipes/zodb_pack/zodb_pack.c) with a fake context: attributes, output,
 * metrics, failures, the root prefix and spawn are the test's; the ZEO server is a forked child
 * replaying the frames recorded from a real ZEO 6.0 server over a Unix socket or TCP. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <opsagent/recipe.h>

#include "util/pathres.h"
#include "zodb_frames.h"

extern const struct opsagent_recipe opsagent_recipe;

#define MAX_METRICS 32

struct fake {
        struct opsagent_ctx ctx;
        struct opsagent_ctx_ops ops;
        json_object *attrs;
        char root[64];
        char said[16384];
        char logged[16384];
        char failed[4096];
        struct {
                char name[32];
                double value;
        } metrics[MAX_METRICS];
        size_t nmetrics;
        /* spawn */
        int spawn_calls;
        unsigned spawn_timeout;
        char spawn_argv0[256];
        char spawn_attr[64];      /* the attribute the command was said to come from */
        bool spawn_refuse;        /* the agent says its origin is not trusted */
        struct opsagent_spawn_result spawn_result;
        const char *spawn_tail;
        /* server */
        pid_t server;
};

static struct fake *fake_of(struct opsagent_ctx *c)
{
        return (struct fake *)c;
}

static void append(char *buf, size_t size, const char *fmt, va_list ap)
{
        size_t len = strlen(buf);

        vsnprintf(buf + len, size - len, fmt, ap);
        len = strlen(buf);
        if (len + 1 < size)
                strcat(buf, "\n");
}

static json_object *f_attr(struct opsagent_ctx *c, const char *path)
{
        json_object *o = NULL;

        if (!json_object_object_get_ex(fake_of(c)->attrs, path, &o) || json_object_is_type(o, json_type_null))
                return NULL;
        return o;
}

static void f_logv(struct opsagent_ctx *c, int level, const char *fmt, va_list ap)
{
        append(fake_of(c)->logged, sizeof(fake_of(c)->logged), fmt, ap);
}

static void f_sayv(struct opsagent_ctx *c, const char *fmt, va_list ap)
{
        append(fake_of(c)->said, sizeof(fake_of(c)->said), fmt, ap);
}

static int f_failv(struct opsagent_ctx *c, int error, const char *fmt, va_list ap)
{
        if (!fake_of(c)->failed[0])
                vsnprintf(fake_of(c)->failed, sizeof(fake_of(c)->failed), fmt, ap);
        return error;
}

static int f_metric(struct opsagent_ctx *c, const char *name, double value, const char *unit)
{
        struct fake *f = fake_of(c);

        assert_true(f->nmetrics < MAX_METRICS);
        snprintf(f->metrics[f->nmetrics].name, sizeof(f->metrics[0].name), "%s", name);
        f->metrics[f->nmetrics++].value = value;
        return 0;
}

static char *f_path(struct opsagent_ctx *c, const char *path)
{
        char *p = NULL;

        assert_true(asprintf(&p, "%s%s", fake_of(c)->root, path) > 0);
        return p;
}

static int f_spawn(struct opsagent_ctx *c, char *const argv[], unsigned timeout, struct opsagent_spawn_result *ret)
{
        struct fake *f = fake_of(c);

        f->spawn_calls++;
        f->spawn_timeout = timeout;
        snprintf(f->spawn_argv0, sizeof(f->spawn_argv0), "%s", argv[0]);
        *ret = f->spawn_result;
        ret->output_tail = f->spawn_tail ? strdup(f->spawn_tail) : NULL;
        return 0;
}

/* Commands from configuration go through spawn_command, naming their attribute. */
static int f_spawn_command(struct opsagent_ctx *c, char *const argv[], const struct opsagent_command *cmd,
                           struct opsagent_spawn_result *ret)
{
        struct fake *f = fake_of(c);

        assert_int_equal(cmd->size, sizeof(*cmd));
        snprintf(f->spawn_attr, sizeof(f->spawn_attr), "%s", cmd->attr ? cmd->attr : "(none)");
        assert_false(cmd->as_user);
        if (f->spawn_refuse)
                return -EPERM;
        return f_spawn(c, argv, cmd->timeout_seconds, ret);
}

/* Beneath the test's root, as the agent does it. */
static int f_open_path(struct opsagent_ctx *c, const char *path, int oflags, mode_t mode, unsigned flags)
{
        int fd = open(fake_of(c)->root, O_PATH | O_DIRECTORY | O_CLOEXEC), r;

        assert_true(fd >= 0);
        r = pathres_open(fd, path, oflags, mode, flags ? PATHRES_IN_ROOT : 0);
        close(fd);
        return r;
}

static uint32_t f_time_left(struct opsagent_ctx *c)
{
        return UINT32_MAX;
}

static int setup(void **state)
{
        struct fake *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        f->ops.size = sizeof(f->ops);
        f->ops.attr = f_attr;
        f->ops.logv = f_logv;
        f->ops.sayv = f_sayv;
        f->ops.failv = f_failv;
        f->ops.metric = f_metric;
        f->ops.path = f_path;
        f->ops.spawn = f_spawn;
        f->ops.spawn_command = f_spawn_command;
        f->ops.time_left = f_time_left;
        f->ops.open_path = f_open_path;
        f->ctx.size = sizeof(f->ctx);
        f->ctx.recipe = "zodb_pack";
        f->ctx.ops = &f->ops;
        f->ctx.root = f->root;
        snprintf(f->root, sizeof(f->root), "/tmp/test_zeo_recipe.XXXXXX");
        assert_non_null(mkdtemp(f->root));
        f->server = -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fake *f = *state;
        char path[256];

        if (f->server > 0) {
                kill(f->server, SIGKILL);
                waitpid(f->server, NULL, 0);
        }
        snprintf(path, sizeof(path), "%s/zeo.sock", f->root);
        unlink(path);
        rmdir(f->root);
        json_object_put(f->attrs);
        free(f);
        return 0;
}

/* Attributes: the recipe's defaults merged with OVERRIDES (top-level keys replace). */
static void set_attrs(struct fake *f, const char *overrides)
{
        json_object *o = json_tokener_parse(overrides);

        assert_non_null(o);
        f->attrs = json_tokener_parse(opsagent_recipe.defaults_json);
        assert_non_null(f->attrs);
        /* The fake server greets at once, but a loaded machine may run it late. */
        json_object_object_add(f->attrs, "connect_timeout_seconds", json_object_new_int(60));
        json_object_object_foreach(o, k, v) json_object_object_add(f->attrs, k, json_object_get(v));
        json_object_put(o);
}

/* False when the client has gone (a dry run hangs up before the pack frames). */
static bool put_frame(int fd, const struct zeo_frame *fr)
{
        uint8_t hdr[4] = { (uint8_t)(fr->len >> 24), (uint8_t)(fr->len >> 16), (uint8_t)(fr->len >> 8), (uint8_t)fr->len };

        return write(fd, hdr, 4) == 4 && write(fd, fr->data, fr->len) == (ssize_t)fr->len;
}

/* Serves SESSIONS (one recording name per connection, in order) on the listening socket LFD,
 * writing each recording's server frames, then reading until the client closes. */
static void serve(struct fake *f, int lfd, const char *const *sessions)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                alarm(300);     /* a safety net only: the test ends the server long before */
                signal(SIGPIPE, SIG_IGN);
                for (; *sessions; sessions++) {
                        struct zeo_recording rec;
                        char buf[4096];
                        int c = accept(lfd, NULL, NULL);
                        size_t i;

                        if (c < 0)
                                _exit(3);
                        if (strcmp(*sessions, "pack-no-info") == 0) {
                                /* The recorded pack without its info message; then the reply
                                 * to a second get_info (msgid 4), same dict. */
                                zeo_recording_load("pack-success", &rec);
                                put_frame(c, &rec.frames[0]);
                                put_frame(c, &rec.frames[3]);
                                put_frame(c, &rec.frames[5]);
                                put_frame(c, &rec.frames[8]);
                                assert_int_equal(rec.frames[5].data[3], 'K');
                                rec.frames[5].data[4] = 4;
                                put_frame(c, &rec.frames[5]);
                        } else {
                                zeo_recording_load(*sessions, &rec);
                                for (i = 0; i < rec.n; i++)
                                        if (rec.frames[i].from_server && !put_frame(c, &rec.frames[i]))
                                                break;
                        }
                        while (read(c, buf, sizeof(buf)) > 0)
                                ;
                        close(c);
                        zeo_recording_free(&rec);
                }
                _exit(0);
        }
        close(lfd);
        f->server = pid;
}

/* A Unix socket listener at ROOT/zeo.sock: the attributes say "/zeo.sock". */
static void serve_unix(struct fake *f, const char *const *sessions)
{
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        int lfd = socket(AF_UNIX, SOCK_STREAM, 0);

        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/zeo.sock", f->root);
        assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
        assert_int_equal(listen(lfd, 8), 0);
        serve(f, lfd, sessions);
}

static unsigned serve_tcp(struct fake *f, const char *const *sessions)
{
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sin);
        int lfd = socket(AF_INET, SOCK_STREAM, 0);

        assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
        assert_int_equal(listen(lfd, 8), 0);
        assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
        serve(f, lfd, sessions);
        return ntohs(sin.sin_port);
}

static int run(struct fake *f)
{
        int r = opsagent_recipe.run(&f->ctx);
        int status;

        if (f->server > 0) {
                assert_int_equal(waitpid(f->server, &status, 0), f->server);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                f->server = -1;
        }
        return r;
}

static int count_metric(struct fake *f, const char *name, double *ret)
{
        int n = 0;
        size_t i;

        for (i = 0; i < f->nmetrics; i++)
                if (strcmp(f->metrics[i].name, name) == 0) {
                        n++;
                        if (ret)
                                *ret = f->metrics[i].value;
                }
        return n;
}

static void test_descriptor(void **state)
{
        json_object *d = json_tokener_parse(opsagent_recipe.defaults_json);
        json_object *s = json_tokener_parse(opsagent_recipe.schema_json);

        assert_int_equal(opsagent_recipe.abi, OPSAGENT_RECIPE_ABI);
        assert_string_equal(opsagent_recipe.name, "zodb_pack");
        assert_string_equal(opsagent_recipe.attr_root, "zodb_pack");
        assert_int_equal(opsagent_recipe.time_budget_seconds, 0); /* packs take hours */
        assert_non_null(d);
        assert_non_null(s);
        json_object_put(d);
        json_object_put(s);
}

/* Over a Unix socket under the root prefix: sizes in the output and the metrics. */
static void test_pack_over_unix_socket(void **state)
{
        static const char *const sessions[] = { "pack-success", NULL };
        struct fake *f = *state;
        double v = 0;

        serve_unix(f, sessions);
        set_attrs(f, "{\"servers\": [{\"address\": \"/zeo.sock\", \"storages\": [\"1\"]}]}");
        assert_int_equal(run(f), 0);
        assert_string_equal(f->failed, "");
        assert_int_equal(count_metric(f, "StorageBytesBefore", &v), 1);
        assert_true(v == 2059566);
        assert_int_equal(count_metric(f, "StorageBytesAfter", &v), 1);
        assert_true(v == 10301);
        assert_int_equal(count_metric(f, "PackSeconds", &v), 1);
        assert_true(v >= 0);
        assert_non_null(strstr(f->said, "/zeo.sock storage \"1\": size before: 2059566 bytes"));
        assert_non_null(strstr(f->said, "2059566 -> 10301 bytes"));
}

/* A link on the way to the socket (a directory someone else owns, swapped for a link to another
 * server's socket) is not followed: that server is not packed. */
static void test_unix_socket_through_a_link_refused(void **state)
{
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        struct fake *f = *state;
        int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
        char link[300];

        /* a listener nobody should reach: the link is refused before any connect */
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/zeo.sock", f->root);
        assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
        assert_int_equal(listen(lfd, 8), 0);
        snprintf(link, sizeof(link), "%s/run", f->root);
        assert_int_equal(symlink(".", link), 0);
        set_attrs(f, "{\"servers\": [{\"address\": \"/run/zeo.sock\", \"storages\": [\"1\"]}]}");
        assert_int_equal(run(f), -EREMOTEIO);
        assert_non_null(strstr(f->said, "a symbolic link is on the way, which is not followed"));
        assert_int_equal(count_metric(f, "PackSeconds", NULL), 0);
        close(lfd);
        unlink(link);
}

static void test_pack_over_tcp(void **state)
{
        static const char *const sessions[] = { "pack-success", NULL };
        struct fake *f = *state;
        char attrs[256];
        unsigned port = serve_tcp(f, sessions);

        snprintf(attrs, sizeof(attrs), "{\"servers\": [{\"address\": \"127.0.0.1:%u\"}]}", port);
        set_attrs(f, attrs); /* storages defaults to ["1"] */
        assert_int_equal(run(f), 0);
        assert_int_equal(count_metric(f, "StorageBytesAfter", NULL), 1);
}

/* No info message with the pack's reply: the size after comes from a second get_info(). */
static void test_pack_without_info_asks_get_info(void **state)
{
        static const char *const sessions[] = { "pack-no-info", NULL };
        struct fake *f = *state;
        double v = 0;

        serve_unix(f, sessions);
        set_attrs(f, "{\"servers\": [{\"address\": \"/zeo.sock\", \"storages\": [\"1\"]}]}");
        assert_int_equal(run(f), 0);
        assert_int_equal(count_metric(f, "StorageBytesAfter", &v), 1);
        assert_true(v == 2059566);
}

static void test_dry_run_does_not_pack(void **state)
{
        static const char *const sessions[] = { "pack-success", NULL };
        struct fake *f = *state;

        serve_unix(f, sessions);
        set_attrs(f, "{\"servers\": [{\"address\": \"/zeo.sock\", \"storages\": [\"1\"]}]}");
        f->ctx.dry_run = true;
        assert_int_equal(run(f), 0);
        assert_int_equal(count_metric(f, "StorageBytesBefore", NULL), 1);
        assert_int_equal(count_metric(f, "PackSeconds", NULL), 0);
        assert_int_equal(count_metric(f, "StorageBytesAfter", NULL), 0);
        assert_non_null(strstr(f->said, "would pack"));
}

/* The first storage is unknown, the second packs: exit failure naming the failed ones as
 * failed, and the one that was packed as packed. */
static void test_one_failure_does_not_stop_the_others(void **state)
{
        static const char *const sessions[] = { "register-unknown-storage", "pack-success", NULL };
        struct fake *f = *state;

        serve_unix(f, sessions);
        set_attrs(f, "{\"servers\": [{\"address\": \"/zeo.sock\", \"storages\": [\"nosuch\", \"1\"]},"
                     " {\"storages\": [\"x\"]}]}");
        assert_int_equal(run(f), -EREMOTEIO);
        assert_non_null(strstr(f->failed, "2 of 3 packs failed"));
        assert_non_null(strstr(f->failed, "/zeo.sock storage \"nosuch\""));
        /* storage "1" only in the list of what was packed, after the failed ones */
        assert_non_null(strstr(f->failed, "(see the lines above for why); packed: /zeo.sock storage \"1\""));
        assert_true(strstr(f->failed, "storage \"1\"") > strstr(f->failed, "(see the lines above"));
        /* each failure said once, as a FAILED line (not also as an error line) */
        assert_non_null(strstr(f->said, "storage \"nosuch\": FAILED: ZEO server at "));
        assert_null(strstr(f->logged, "unknown storage: nosuch"));
        assert_non_null(strstr(f->logged, "servers[1].address is missing"));
        assert_int_equal(count_metric(f, "StorageBytesAfter", NULL), 1);
}

static void test_no_servers(void **state)
{
        struct fake *f = *state;

        set_attrs(f, "{\"servers\": []}");
        /* a configuration error: the command exits 2 */
        assert_int_equal(run(f), OPSAGENT_RUN_CONFIG_ERROR);
        assert_non_null(strstr(f->failed, "zodb_pack.servers is empty"));
}

/* Crossing ZODB_PACK_MAX_SERVERS (64). */
static void test_too_many_servers(void **state)
{
        struct fake *f = *state;
        char attrs[4096] = "{\"servers\": [";
        int i;

        for (i = 0; i < 65; i++)
                strcat(attrs, i ? ", {}" : "{}");
        strcat(attrs, "]}");
        set_attrs(f, attrs);
        assert_int_equal(run(f), -E2BIG);
}

/* Crossing ZODB_PACK_MAX_STORAGES (64): that server fails, nothing is sent to it. */
static void test_too_many_storages(void **state)
{
        struct fake *f = *state;
        char attrs[4096] = "{\"servers\": [{\"address\": \"/nosuch.sock\", \"storages\": [";
        int i;

        for (i = 0; i < 65; i++)
                strcat(attrs, i ? ", \"s\"" : "\"s\"");
        strcat(attrs, "]}]}");
        set_attrs(f, attrs);
        assert_int_equal(run(f), -EREMOTEIO);
        assert_non_null(strstr(f->logged, "65 storages (at most 64)"));
        assert_non_null(strstr(f->failed, "1 of 1 packs failed"));
}

/* Crossing ZODB_PACK_MAX_ARGV (64). */
static void test_command_too_long(void **state)
{
        struct fake *f = *state;
        char attrs[4096] = "{\"method\": \"command\", \"command\": [";
        int i;

        for (i = 0; i < 65; i++)
                strcat(attrs, i ? ", \"w\"" : "\"w\"");
        strcat(attrs, "]}");
        set_attrs(f, attrs);
        assert_int_equal(run(f), -E2BIG);
        assert_int_equal(f->spawn_calls, 0);
}

static void test_command_success(void **state)
{
        struct fake *f = *state;

        set_attrs(f, "{\"method\": \"command\", \"command\": [\"/srv/plone/bin/zeopack\", \"-d\", \"1\"],"
                     " \"pack_timeout_seconds\": 7200}");
        assert_int_equal(run(f), 0);
        assert_int_equal(f->spawn_calls, 1);
        assert_string_equal(f->spawn_argv0, "/srv/plone/bin/zeopack");
        assert_string_equal(f->spawn_attr, "command");
        assert_int_equal(f->spawn_timeout, 7200);
        assert_int_equal(count_metric(f, "PackSeconds", NULL), 1);
}

/* The agent refuses a command whose configuration others could have written: the run fails. */
static void test_command_refused_when_untrusted(void **state)
{
        struct fake *f = *state;

        set_attrs(f, "{\"method\": \"command\", \"command\": [\"/srv/plone/bin/zeopack\"]}");
        f->spawn_refuse = true;
        assert_int_equal(run(f), -EPERM);
        assert_int_equal(f->spawn_calls, 0);
        assert_non_null(strstr(f->failed, "zodb_pack.command: not run: it, or the program it names, could"));
        assert_int_equal(count_metric(f, "PackSeconds", NULL), 0);
}

/* An agent without spawn_command (built before it) runs no command from configuration. */
static void test_command_needs_spawn_command(void **state)
{
        struct fake *f = *state;

        set_attrs(f, "{\"method\": \"command\", \"command\": [\"/srv/plone/bin/zeopack\"]}");
        f->ops.size = offsetof(struct opsagent_ctx_ops, spawn_command);
        assert_int_equal(run(f), -ENOSYS);
        assert_int_equal(f->spawn_calls, 0);
}

static void test_command_without_timeout_uses_budget(void **state)
{
        struct fake *f = *state;

        set_attrs(f, "{\"method\": \"command\", \"command\": [\"/bin/zodbpack\"]}");
        assert_int_equal(run(f), 0);
        assert_int_equal(f->spawn_timeout, 0);
}

static void test_command_failure(void **state)
{
        struct fake *f = *state;

        set_attrs(f, "{\"method\": \"command\", \"command\": [\"/srv/plone/bin/zeopack\"]}");
        f->spawn_result.exit_status = 3;
        f->spawn_tail = "line 49\nTraceback: storage locked\n";
        assert_int_equal(run(f), -EREMOTEIO);
        assert_non_null(strstr(f->failed, "exited with status 3"));
        assert_non_null(strstr(f->failed, "storage locked"));
        assert_int_equal(count_metric(f, "PackSeconds", NULL), 0);
}

static void test_command_timeout(void **state)
{
        struct fake *f = *state;

        set_attrs(f, "{\"method\": \"command\", \"command\": [\"/srv/plone/bin/zeopack\"], \"pack_timeout_seconds\": 1}");
        f->spawn_result.exit_status = -1;
        f->spawn_result.timed_out = true;
        f->spawn_result.term_signal = 9;
        assert_int_equal(run(f), -ETIMEDOUT);
        assert_non_null(strstr(f->failed, "did not finish within 1 s"));
}

static void test_command_dry_run(void **state)
{
        struct fake *f = *state;

        set_attrs(f, "{\"method\": \"command\", \"command\": [\"/srv/plone/bin/zeopack\"]}");
        f->ctx.dry_run = true;
        assert_int_equal(run(f), 0);
        assert_int_equal(f->spawn_calls, 0);
        assert_non_null(strstr(f->said, "would run: /srv/plone/bin/zeopack"));
}

static void test_command_missing(void **state)
{
        struct fake *f = *state;

        set_attrs(f, "{\"method\": \"command\"}");
        assert_int_equal(run(f), OPSAGENT_RUN_CONFIG_ERROR);
        assert_non_null(strstr(f->failed, "zodb_pack.command is empty"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_descriptor),
                T(test_unix_socket_through_a_link_refused),
                T(test_pack_over_unix_socket),
                T(test_pack_over_tcp),
                T(test_pack_without_info_asks_get_info),
                T(test_dry_run_does_not_pack),
                T(test_one_failure_does_not_stop_the_others),
                T(test_no_servers),
                T(test_too_many_servers),
                T(test_too_many_storages),
                T(test_command_too_long),
                T(test_command_success),
                T(test_command_refused_when_untrusted),
                T(test_command_needs_spawn_command),
                T(test_command_without_timeout_uses_budget),
                T(test_command_failure),
                T(test_command_timeout),
                T(test_command_dry_run),
                T(test_command_missing),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
