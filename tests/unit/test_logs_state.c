/* logs_checkpoint and logs_buffer: the shipper's state on disk. Checkpoints round-trip and are
 * 0600; the buffer keeps batches in order, stays within its bound by dropping the oldest first,
 * and counts what it dropped. */
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

#include "logs/logs_buffer.h"
#include "logs/logs_checkpoint.h"
#include "testdir.h"
#include "util/fileio.h"

#define NOW_MS 1800000000000LL

static int setup(void **state)
{
        static char dir[128];

        *state = testdir_new(dir, sizeof(dir), "logs-state");
        return *state ? 0 : -1;
}

static int teardown(void **state)
{
        return testdir_remove(*state);
}

static void write_file(const char *path, const char *text)
{
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
}

static void test_fingerprint_follows_the_first_bytes(void **state)
{
        char *a = path_join(*state, "a"), *b = path_join(*state, "b");
        struct logs_fp fa, fb;
        int fda, fdb;

        write_file(a, "hello world\n");
        write_file(b, "hello world\nand more\n");
        fda = open(a, O_RDONLY);
        fdb = open(b, O_RDONLY);
        assert_true(fda >= 0 && fdb >= 0);
        assert_int_equal(logs_fp_of_fd(fda, &fa), 0);
        assert_int_equal(fa.len, 12);
        assert_true(logs_fp_matches(fdb, &fa));       /* b starts with a: its copy, grown */
        assert_int_equal(logs_fp_of_fd(fdb, &fb), 0);
        assert_false(logs_fp_matches(fda, &fb));      /* a is shorter */
        assert_false(logs_fp_equal(&fa, &fb));
        close(fda);
        close(fdb);
        free(a);
        free(b);
}

static void test_checkpoint_round_trip_is_private(void **state)
{
        struct error err = ERROR_INIT;
        struct logs_file_ckpt c = { "/var/log/app/a.log", 2049, 123456, { { 1, 2, 3 }, 1024 }, 987654321 }, back;
        json_object *tree = NULL, *src, *files, *again = NULL;
        char *path = path_join(*state, LOGS_CHECKPOINTS_FILE);
        struct stat st;

        assert_int_equal(logs_checkpoint_load(*state, &tree, &err), 0);    /* none yet: empty */
        src = logs_checkpoint_source(tree, "app", true);
        assert_non_null(src);
        files = json_object_new_array();
        json_object_array_add(files, logs_file_ckpt_to_json(&c));
        json_object_object_add(src, "files", files);
        json_object_object_add(src, "cursor", json_object_new_string("s=abc;i=1"));
        assert_int_equal(logs_checkpoint_save(*state, tree, &err), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(logs_checkpoint_load(*state, &again, &err), 0);
        src = logs_checkpoint_source(again, "app", false);
        assert_non_null(src);
        assert_int_equal(logs_file_ckpt_from_json(json_object_array_get_idx(json_object_object_get(src, "files"), 0),
                                                  &back), 0);
        assert_string_equal(back.path, c.path);
        assert_int_equal(back.dev, c.dev);
        assert_int_equal(back.ino, c.ino);
        assert_int_equal(back.offset, c.offset);
        assert_true(logs_fp_equal(&back.fp, &c.fp));
        assert_string_equal(json_object_get_string(json_object_object_get(src, "cursor")), "s=abc;i=1");
        assert_null(logs_checkpoint_source(again, "other", false));
        json_object_put(tree);
        json_object_put(again);
        free(path);
}

static void test_foreign_checkpoint_file_is_an_error_naming_it(void **state)
{
        struct error err = ERROR_INIT;
        char *path = path_join(*state, LOGS_CHECKPOINTS_FILE);
        json_object *t = NULL;

        write_file(path, "[1, 2]");
        assert_int_equal(logs_checkpoint_load(*state, &t, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, path));
        free(path);
}

static void make_batch(struct logs_batch *b, const char *prefix, int n)
{
        char m[64];

        for (int i = 0; i < n; i++) {
                snprintf(m, sizeof(m), "%s %d %s", prefix, i, "padding padding padding padding padding");
                assert_int_equal(logs_batch_add(b, NOW_MS + i, m, strlen(m), NULL, 0, 0), 0);
        }
}

static void test_buffer_keeps_batches_in_order_across_reopen(void **state)
{
        struct error err = ERROR_INIT;
        char *dir = path_join(*state, "buffer"), *g = NULL, *s = NULL;
        struct logs_buffer *buf = NULL;
        struct logs_batch b1 = { 0 }, b2 = { 0 }, out = { 0 };
        uint64_t dropped = 0;

        make_batch(&b1, "first", 3);
        make_batch(&b2, "second", 2);
        assert_int_equal(logs_buffer_open(dir, 0, &buf, &err), 0);
        struct logs_buffer_file files[2] = { { 1, 10, 100 }, { 1, 11, 7 } };
        uint64_t lag = 0;
        int64_t oldest = 0;

        assert_int_equal(logs_buffer_put(buf, "/g", "s1", &b1, files, 2, 5000, &dropped, &err), 0);
        assert_int_equal(logs_buffer_put(buf, "/g", "s2", &b2, files, 1, 4000, &dropped, &err), 0);
        logs_buffer_free(buf);
        assert_int_equal(logs_buffer_open(dir, 0, &buf, &err), 0);
        /* what of each file waits there, and since when: for the lag --status shows */
        logs_buffer_file_lag(buf, 1, 10, &lag, &oldest);
        assert_int_equal(lag, 200);
        assert_int_equal(oldest, 4000);
        logs_buffer_file_lag(buf, 1, 11, &lag, &oldest);
        assert_int_equal(lag, 7);
        assert_int_equal(oldest, 5000);
        logs_buffer_file_lag(buf, 1, 12, &lag, &oldest);
        assert_int_equal(lag, 0);
        assert_int_equal(logs_buffer_batches(buf), 2);
        assert_int_equal(logs_buffer_events(buf), 5);
        assert_int_equal(logs_buffer_peek(buf, &g, &s, &out, &dropped, &err), 0);
        assert_string_equal(s, "s1");
        assert_int_equal(out.n, 3);
        assert_string_equal(out.ev[0].msg, b1.ev[0].msg);
        free(g);
        free(s);
        logs_batch_free(&out);
        assert_int_equal(logs_buffer_pop(buf, &err), 0);
        assert_int_equal(logs_buffer_peek(buf, &g, &s, &out, &dropped, &err), 0);
        assert_string_equal(s, "s2");
        free(g);
        free(s);
        logs_batch_free(&out);
        assert_int_equal(logs_buffer_pop(buf, &err), 0);
        assert_int_equal(logs_buffer_peek(buf, &g, &s, &out, &dropped, &err), -ENOENT);
        assert_int_equal(dropped, 0);
        logs_buffer_free(buf);
        logs_batch_free(&b1);
        logs_batch_free(&b2);
        free(dir);
}

static void test_buffer_over_its_bound_drops_the_oldest_and_counts(void **state)
{
        struct error err = ERROR_INIT;
        char *dir = path_join(*state, "buffer"), *g = NULL, *s = NULL;
        struct logs_buffer *buf = NULL;
        struct logs_batch b = { 0 }, out = { 0 };
        uint64_t dropped = 0, one;
        char name[16];

        make_batch(&b, "x", 300);       /* ~25 KB as JSON */
        assert_int_equal(logs_buffer_open(dir, LOGS_BUFFER_MIN_MAX_BYTES, &buf, &err), 0);
        assert_int_equal(logs_buffer_put(buf, "/g", "s0", &b, NULL, 0, 0, &dropped, &err), 0);
        one = logs_buffer_bytes(buf);
        for (int i = 1; i < 6; i++) {
                snprintf(name, sizeof(name), "s%d", i);
                assert_int_equal(logs_buffer_put(buf, "/g", name, &b, NULL, 0, 0, &dropped, &err), 0);
                assert_true(logs_buffer_bytes(buf) <= LOGS_BUFFER_MIN_MAX_BYTES);
        }
        /* 65536 / ~25 KB: two fit; the oldest four went, 300 events each */
        assert_int_equal(logs_buffer_batches(buf), LOGS_BUFFER_MIN_MAX_BYTES / one);
        assert_int_equal(dropped, (6 - logs_buffer_batches(buf)) * 300);
        assert_int_equal(logs_buffer_peek(buf, &g, &s, &out, &dropped, &err), 0);
        snprintf(name, sizeof(name), "s%zu", 6 - logs_buffer_batches(buf));
        assert_string_equal(s, name);
        free(g);
        free(s);
        logs_batch_free(&out);
        logs_buffer_free(buf);
        logs_batch_free(&b);
        free(dir);
}

static void test_torn_buffer_file_is_dropped_and_counted(void **state)
{
        struct error err = ERROR_INIT;
        char *dir = path_join(*state, "buffer"), *torn, *g = NULL, *s = NULL;
        struct logs_buffer *buf = NULL;
        struct logs_batch b = { 0 }, out = { 0 };
        uint64_t dropped = 0;

        assert_int_equal(mkdir_p(dir, 0700), 0);
        torn = path_join(dir, "0000000000000000-7.json");
        write_file(torn, "{\"group\": \"/g\", \"str");
        make_batch(&b, "ok", 1);
        assert_int_equal(logs_buffer_open(dir, 0, &buf, &err), 0);
        assert_int_equal(logs_buffer_put(buf, "/g", "s", &b, NULL, 0, 0, &dropped, &err), 0);
        assert_int_equal(logs_buffer_peek(buf, &g, &s, &out, &dropped, &err), 0);
        assert_int_equal(dropped, 7);
        assert_int_equal(out.n, 1);
        assert_int_equal(access(torn, F_OK), -1);
        free(g);
        free(s);
        logs_batch_free(&out);
        logs_buffer_free(buf);
        logs_batch_free(&b);
        free(torn);
        free(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_fingerprint_follows_the_first_bytes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_checkpoint_round_trip_is_private, setup, teardown),
                cmocka_unit_test_setup_teardown(test_foreign_checkpoint_file_is_an_error_naming_it, setup, teardown),
                cmocka_unit_test_setup_teardown(test_buffer_keeps_batches_in_order_across_reopen, setup, teardown),
                cmocka_unit_test_setup_teardown(test_buffer_over_its_bound_drops_the_oldest_and_counts, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_torn_buffer_file_is_dropped_and_counted, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
