/* ctx: the recipe context as the core implements it: attribute lookups, paths under the root,
 * atomic writes with dry-run diffs, and the dry-run safety net on mutating AWS calls. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testdir.h"
#include "config/attrs.h"
#include "run/ctx_aws.h"
#include "run/events.h"
#include "util/fileio.h"
#include "util/jsonutil.h"

struct fixture {
        char dir[64];
        json_object *attrs;
        struct ctx_core core;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        static const struct opsagent_recipe r = { .name = "t", .attr_root = "t" };

        assert_non_null(testdir_new(f->dir, sizeof(f->dir), "ctx"));
        assert_int_equal(json_parse_text("{\"t\": {\"n\": 3, \"s\": \"x\", \"nul\": null, \"o\": {\"k\": true}},"
                                         " \"opsagent\": {\"instance\": {\"id\": \"i-1\", \"region\": \"eu-west-1\"}}}",
                                         "attrs", &f->attrs, NULL),
                         0);
        ctx_setup(&f->core, &r, f->attrs, "run1", f->dir, f->dir, f->dir, false, 0, -1);
        ctx_aws_attach(&f->core);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        ctx_done(&f->core);
        json_object_put(f->attrs);
        assert_int_equal(testdir_remove(f->dir), 0);
        free(f);
        return 0;
}

static void test_attributes_and_facts(void **state)
{
        struct fixture *f = *state;
        struct opsagent_ctx *c = &f->core.pub;

        assert_int_equal(ctx_attr_int(c, "n", 0), 3);
        assert_string_equal(ctx_attr_string(c, "s", "?"), "x");
        assert_null(ctx_attr(c, "nul"));          /* null reads as absent */
        assert_null(ctx_attr(c, "missing"));
        assert_true(ctx_attr_bool(c, "o.k", false));
        assert_int_equal(json_object_get_int(ctx_attr_abs(c, "t.n")), 3);
        assert_string_equal(ctx_fact(c, "id"), "i-1");
        assert_null(ctx_fact(c, "hostname"));
        assert_int_equal(c->ops->time_left(c), UINT32_MAX);
}

static void test_path_is_under_root(void **state)
{
        struct fixture *f = *state;
        char *p = ctx_path(&f->core.pub, "/etc/apt/x"), want[128];

        snprintf(want, sizeof(want), "%s/etc/apt/x", f->dir);
        assert_string_equal(p, want);
        free(p);
}

/* write_file: 1 when written, 0 when identical, parents created, mode applied. */
static void test_write_file_changed_then_unchanged(void **state)
{
        struct fixture *f = *state;
        struct opsagent_ctx *c = &f->core.pub;
        char *full = ctx_path(c, "/etc/x/y.conf"), *text = NULL;
        struct stat st;

        assert_int_equal(c->ops->write_file(c, "/etc/x/y.conf", "a\n", 2, 0640, 0), 1);
        assert_int_equal(c->ops->write_file(c, "/etc/x/y.conf", "a\n", 2, 0640, 0), 0);
        assert_int_equal(c->ops->write_file(c, "/etc/x/y.conf", "a\n", 2, 0600, 0), 1); /* mode alone */
        assert_int_equal(read_file_capped(full, 100, &text, NULL), 0);
        assert_string_equal(text, "a\n");
        assert_int_equal(stat(full, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(c->ops->write_file(c, "relative/path", "a", 1, 0600, 0), -EINVAL);
        free(text);
        free(full);
}

/* In a dry run nothing is written, and the answer says whether it would change. */
static void test_write_file_dry_run_writes_nothing(void **state)
{
        struct fixture *f = *state;
        struct opsagent_ctx *c = &f->core.pub;
        char *full = ctx_path(c, "/etc/z.conf");

        c->dry_run = true;
        assert_int_equal(c->ops->write_file(c, "/etc/z.conf", "new\n", 4, 0644, 0), 1);
        assert_int_equal(access(full, F_OK), -1);
        free(full);
}

/* Every file op resolves beneath the root: a link on the way (a directory someone swapped for
 * a link to /etc, say) is refused, and so is "..": nothing outside the root is touched. */
static void test_file_ops_stay_beneath_the_root(void **state)
{
        struct fixture *f = *state;
        struct opsagent_ctx *c = &f->core.pub;
        char outside[64], link[128], target[128], *text = NULL;
        struct stat st;
        int fd;

        assert_non_null(testdir_new(outside, sizeof(outside), "ctx-outside"));
        snprintf(link, sizeof(link), "%s/etc", f->dir);
        assert_int_equal(symlink(outside, link), 0);
        assert_int_equal(c->ops->write_file(c, "/etc/apt.conf", "x\n", 2, 0644, 0), -ELOOP);
        snprintf(target, sizeof(target), "%s/apt.conf", outside);
        assert_int_equal(access(target, F_OK), -1);
        assert_int_equal(c->ops->write_file(c, "/srv/../etc/apt.conf", "x\n", 2, 0644, 0), -EINVAL);
        assert_int_equal(ctx_mkdir(c, "/etc/sub", 0755), -ELOOP);
        assert_int_equal(ctx_open(c, "/etc", O_RDONLY | O_DIRECTORY, 0, 0), -ELOOP);
        assert_int_equal(ctx_stat(c, "/etc", &st, 0), 0);
        assert_true(S_ISLNK(st.st_mode));
        /* followed when asked, but as if the root were "/": the absolute link names ROOT/tmp/... */
        assert_int_equal(ctx_stat(c, "/etc", &st, OPSAGENT_PATH_FOLLOW), -ENOENT);
        assert_int_equal(unlink(link), 0);
        assert_int_equal(symlink("usr/lib", link), 0);  /* like /etc/os-release -> ../usr/lib/os-release */
        assert_int_equal(ctx_mkdir(c, "/usr/lib", 0755), 1);
        assert_int_equal(ctx_mkdir(c, "/usr/lib", 0755), 0);
        assert_int_equal(c->ops->write_file(c, "/usr/lib/os-release", "ID=debian\n", 10, 0644, 0), 1);
        assert_int_equal(ctx_read_file(c, "/etc/os-release", 100, &text, NULL, OPSAGENT_PATH_FOLLOW), 0);
        assert_string_equal(text, "ID=debian\n");
        free(text);
        assert_int_equal(ctx_read_file(c, "/etc/os-release", 100, &text, NULL, 0), -ELOOP);
        assert_int_equal(ctx_read_file(c, "/usr/lib/os-release", 4, &text, NULL, 0), -EFBIG);
        fd = ctx_open(c, "/usr/lib/os-release", O_RDONLY, 0, 0);
        assert_true(fd >= 0);
        close(fd);
        assert_true(ctx_root_fd(c) >= 0);
        assert_int_equal(ctx_root_fd(c), ctx_root_fd(c)); /* one, borrowed */
        c->dry_run = true;
        assert_int_equal(ctx_mkdir(c, "/var/new", 0755), 1);
        assert_int_equal(ctx_stat(c, "/var", &st, 0), -ENOENT);
        assert_int_equal(testdir_remove(outside), 0);
}

/* The safety net: mutating AWS calls are refused in a dry run, before any network use. */
static void test_mutating_aws_calls_refused_in_dry_run(void **state)
{
        struct fixture *f = *state;
        struct opsagent_ctx *c = &f->core.pub;
        struct opsagent_ec2_create_snapshot req = { .volume_id = "vol-1" };
        const struct opsagent_tag tag = { "k", "v" };
        const char *ids[] = { "snap-1", NULL };

        c->dry_run = true;
        assert_int_equal(c->aws->ec2_delete_snapshot(c, "snap-1"), -EROFS);
        assert_string_equal(c->aws->last_error(c)->operation, "DeleteSnapshot");
        assert_string_equal(c->aws->last_error(c)->code, "DryRun");
        assert_int_equal(c->aws->ec2_create_snapshots_each(c, &req, 1, 1), -EROFS);
        assert_int_equal(req.result, -EROFS);
        assert_null(req.snapshot_id);
        assert_int_equal(c->aws->ec2_create_tags(c, ids, &tag, 1), -EROFS);
        assert_null(f->core.aws); /* no session was even created */
}

static void merge(struct attrs *a, const char *json, const char *origin)
{
        json_object *o = NULL;

        assert_int_equal(json_parse_text(json, origin, &o, NULL), 0);
        assert_int_equal(attrs_merge(a, "", o, origin, NULL), 0);
        json_object_put(o);
}

static char *put_file(const char *dir, const char *name, mode_t mode)
{
        char *p = NULL;

        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        assert_int_equal(write_file_atomic(p, "{}", 2, mode), 0);
        return p;
}

/* A command from configuration runs only when its attribute came from a trusted origin: the
 * recipe's defaults, the user-data, a file only root can write (checked again when it runs). */
static void test_spawn_command_origin(void **state)
{
        struct fixture *f = *state;
        struct opsagent_ctx *c = &f->core.pub;
        char *argv[] = { (char *)"/bin/true", NULL };
        struct opsagent_command cmd = { .size = sizeof(cmd) };
        struct opsagent_spawn_result res = { 0 };
        char *good = put_file(f->dir, "local.json", 0600), *bad = put_file(f->dir, "open.json", 0666);
        struct attrs *a = NULL;

        assert_int_equal(attrs_new(&a), 0);
        merge(a, "{\"t\": {\"d\": [\"x\"], \"u\": [\"x\"], \"g\": [\"x\"], \"b\": [\"x\"]}}", "defaults of recipe t");
        merge(a, "{\"t\": {\"u\": [\"x\"]}}", "instance user-data");
        merge(a, "{\"t\": {\"g\": [\"x\"]}}", good);
        merge(a, "{\"t\": {\"b\": [\"x\"]}}", bad);

        cmd.attr = "d";
        assert_int_equal(c->ops->spawn_command(c, argv, &cmd, &res), -EPERM); /* no origins known: refused */
        f->core.origins = a;
        assert_int_equal(c->ops->spawn_command(c, argv, &cmd, &res), 0);
        assert_int_equal(res.exit_status, 0);
        free(res.output_tail);
        cmd.attr = "u";
        assert_int_equal(c->ops->spawn_command(c, argv, &cmd, &res), 0);
        free(res.output_tail);
        cmd.attr = "g";
        assert_int_equal(c->ops->spawn_command(c, argv, &cmd, &res), 0);
        free(res.output_tail);
        cmd.attr = "b";
        assert_int_equal(c->ops->spawn_command(c, argv, &cmd, &res), -EPERM);
        cmd.attr = "missing";
        assert_int_equal(c->ops->spawn_command(c, argv, &cmd, &res), -EPERM);
        /* the trusted file, made writable by others after it was read: refused when it would run */
        assert_int_equal(chmod(good, 0666), 0);
        cmd.attr = "g";
        assert_int_equal(c->ops->spawn_command(c, argv, &cmd, &res), -EPERM);
        /* a struct from the future that is too small for what it claims */
        cmd.size = 4;
        assert_int_equal(c->ops->spawn_command(c, argv, &cmd, &res), -EINVAL);
        f->core.origins = NULL;
        attrs_free(a);
        free(good);
        free(bad);
}

/* The program such a command names, run as root, must be root's too (not writable by others,
 * nor owned by another user when the agent is root): else editing it would run code as root.
 * Run as another user, it is that user's business. */
static void test_spawn_command_program_trusted(void **state)
{
        struct fixture *f = *state;
        struct opsagent_ctx *c = &f->core.pub;
        char *prog = NULL, *argv[2] = { NULL, NULL };
        struct opsagent_command cmd = { .size = sizeof(cmd), .attr = "d" };
        struct opsagent_spawn_result res = { 0 };
        struct attrs *a = NULL;

        assert_true(asprintf(&prog, "%s/zeopack", f->dir) > 0);
        assert_int_equal(write_file_atomic(prog, "#!/bin/sh\nexit 0\n", 17, 0755), 0);
        argv[0] = prog;
        assert_int_equal(attrs_new(&a), 0);
        merge(a, "{\"t\": {\"d\": [\"x\"]}}", "defaults of recipe t");
        f->core.origins = a;
        assert_int_equal(c->ops->spawn_command(c, argv, &cmd, &res), 0);
        assert_int_equal(res.exit_status, 0);
        free(res.output_tail);
        res.output_tail = NULL;
        assert_int_equal(chmod(prog, 0757), 0);   /* others may write it */
        assert_int_equal(c->ops->spawn_command(c, argv, &cmd, &res), -EPERM);
        if (geteuid() == 0) {
                assert_int_equal(chmod(prog, 0755), 0);
                assert_int_equal(chown(prog, 65534, 65534), 0);   /* another user's */
                assert_int_equal(c->ops->spawn_command(c, argv, &cmd, &res), -EPERM);
                /* as that user: no check of the program (what it may do, the kernel says) */
                cmd.as_user = true;
                cmd.uid = 65534;
                cmd.gid = 65534;
                assert_int_not_equal(c->ops->spawn_command(c, argv, &cmd, &res), -EPERM);
                free(res.output_tail);
        }
        f->core.origins = NULL;
        attrs_free(a);
        free(prog);
}

/* What such a command sees: PATH and LANG, nothing of the agent's environment. */
static void test_spawn_command_environment(void **state)
{
        struct fixture *f = *state;
        struct opsagent_ctx *c = &f->core.pub;
        char *argv[] = { (char *)"env", NULL };
        struct opsagent_command cmd = { .size = sizeof(cmd) };
        struct opsagent_spawn_result res = { 0 };

        setenv("AWS_SECRET_ACCESS_KEY", "hunter2", 1);
        assert_int_equal(c->ops->spawn_command(c, argv, &cmd, &res), 0);
        assert_int_equal(res.exit_status, 0);
        assert_string_equal(res.output_tail, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C.UTF-8\n");
        free(res.output_tail);
        unsetenv("AWS_SECRET_ACCESS_KEY");
}

/* Everything written to the pipe so far, as the agent reads it. */
static void read_events(int fds[2], struct events_reader *r)
{
        char chunk[512];
        ssize_t k;

        close(fds[1]);
        events_reader_init(r);
        while ((k = read(fds[0], chunk, sizeof(chunk))) > 0)
                events_reader_feed(r, chunk, (size_t)k);
        close(fds[0]);
        events_reader_finish(r);
}

/* ctx_fail_config: a failure like ctx_fail's (the reasons joined), and its return value is
 * the one run() returns for a configuration error. */
static void test_fail_config_joins_the_reasons(void **state)
{
        struct fixture *f = *state;
        struct opsagent_ctx *c = &f->core.pub;
        struct events_reader r;
        int fds[2];

        assert_int_equal(pipe(fds), 0);
        f->core.events_fd = fds[1];
        assert_int_equal(ctx_fail(c, -EIO, "disk trouble"), -EIO);
        assert_int_equal(ctx_fail_config(c, "t.size: \"%s\" is no size", "10X"), OPSAGENT_RUN_CONFIG_ERROR);
        f->core.events_fd = -1;
        read_events(fds, &r);
        assert_string_equal(r.fail, "disk trouble; t.size: \"10X\" is no size");
        events_reader_clear(&r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_attributes_and_facts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_path_is_under_root, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_file_changed_then_unchanged, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_file_dry_run_writes_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mutating_aws_calls_refused_in_dry_run, setup, teardown),
                cmocka_unit_test_setup_teardown(test_file_ops_stay_beneath_the_root, setup, teardown),
                cmocka_unit_test_setup_teardown(test_spawn_command_origin, setup, teardown),
                cmocka_unit_test_setup_teardown(test_spawn_command_environment, setup, teardown),
                cmocka_unit_test_setup_teardown(test_spawn_command_program_trusted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fail_config_joins_the_reasons, setup, teardown),
        };
        return cmocka_run_group_tests_name("ctx", tests, NULL, NULL);
}
