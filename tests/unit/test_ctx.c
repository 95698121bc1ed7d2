/* ctx: the recipe context as the core implements it: attribute lookups, paths under the root,
 * atomic writes with dry-run diffs, and the dry-run safety net on mutating AWS calls. */
#include <errno.h>
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

/* ctx_fail_config: a failure like ctx_fail's, and the agent learns that it is the
 * configuration's (then it exits 2). A plain ctx_fail says nothing of the kind. */
static void test_fail_config_tells_the_agent(void **state)
{
        struct fixture *f = *state;
        struct opsagent_ctx *c = &f->core.pub;
        struct events_reader r;
        int fds[2];

        assert_int_equal(pipe(fds), 0);
        f->core.events_fd = fds[1];
        assert_int_equal(ctx_fail(c, -EIO, "disk trouble"), -EIO);
        assert_int_equal(ctx_fail_config(c, "t.size: \"%s\" is no size", "10X"), -EINVAL);
        f->core.events_fd = -1;
        read_events(fds, &r);
        assert_true(r.config_error);
        assert_string_equal(r.fail, "disk trouble; t.size: \"10X\" is no size");
        events_reader_clear(&r);

        assert_int_equal(pipe(fds), 0);
        f->core.events_fd = fds[1];
        assert_int_equal(ctx_fail(c, -EINVAL, "an EINVAL from elsewhere"), -EINVAL);
        f->core.events_fd = -1;
        read_events(fds, &r);
        assert_false(r.config_error);
        events_reader_clear(&r);
}

static int old_failv_calls;
static int old_failv(struct opsagent_ctx *c, int error, const char *fmt, va_list ap)
{
        old_failv_calls++;
        return error;
}

/* A plugin built with ctx_fail_config() in an agent from before config_failv: a plain failure. */
static void test_fail_config_in_an_older_agent(void **state)
{
        struct opsagent_ctx_ops ops = { .size = offsetof(struct opsagent_ctx_ops, config_failv),
                                        .failv = old_failv };
        struct opsagent_ctx c = { .size = sizeof(c), .ops = &ops };

        assert_int_equal(ctx_fail_config(&c, "x"), -EINVAL);
        assert_int_equal(old_failv_calls, 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_attributes_and_facts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_path_is_under_root, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_file_changed_then_unchanged, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_file_dry_run_writes_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mutating_aws_calls_refused_in_dry_run, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fail_config_tells_the_agent, setup, teardown),
                cmocka_unit_test(test_fail_config_in_an_older_agent),
        };
        return cmocka_run_group_tests_name("ctx", tests, NULL, NULL);
}
