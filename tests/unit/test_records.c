/* records: run records on disk, listing newest first, last outcome, pruning, scrubbing. */
#include <dirent.h>
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
#include "run/records.h"
#include "util/fileio.h"
#include "util/log.h"

#define SEC 1000000LL
#define T0 1795000000LL /* 2026-11-18T11:06:40Z */

struct fixture {
        char dir[64];
        char runs[96];
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        if (!testdir_new(f->dir, sizeof(f->dir), "records"))
                return -1;
        snprintf(f->runs, sizeof(f->runs), "%s/runs", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        if (testdir_remove(f->dir) != 0)
                return -1;
        free(f);
        log_forget_secrets();
        return 0;
}

static void put(const struct fixture *f, const char *recipe, const char *run_id, int64_t start_usec,
                enum run_outcome outcome, const char *error)
{
        struct run_record r = { 0 };

        snprintf(r.recipe, sizeof(r.recipe), "%s", recipe);
        snprintf(r.run_id, sizeof(r.run_id), "%s", run_id);
        r.start_usec = start_usec;
        r.end_usec = start_usec + 2 * SEC;
        r.outcome = outcome;
        r.error = error ? strdup(error) : NULL;
        assert_int_equal(records_write(f->dir, &r), 0);
        run_record_clear(&r);
}

static size_t count_files(const char *dir)
{
        struct dirent *de;
        size_t n = 0;
        DIR *d = opendir(dir);

        if (!d)
                return 0;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static void write_raw(const struct fixture *f, const char *name, const char *text)
{
        char *path = path_join(f->runs, name);

        assert_non_null(path);
        assert_int_equal(mkdir_p(f->runs, 0700), 0);
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
        free(path);
}

/* Runs FN with stderr going to a file, and returns what was written there (caller frees). */
static char *capture_stderr_list(const struct fixture *f, const char *recipe, struct run_record **ret, size_t *n)
{
        char path[128], *text = NULL;
        int saved, fd;

        snprintf(path, sizeof(path), "%s/stderr", f->dir);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        close(fd);
        assert_int_equal(records_list(f->dir, recipe, 0, ret, n), 0);
        fflush(stderr);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        assert_int_equal(read_file_capped(path, 65536, &text, NULL), 0);
        return text;
}

static void test_outcome_names(void **state)
{
        const enum run_outcome all[] = { RUN_SUCCESS, RUN_FAILED, RUN_TIMED_OUT, RUN_CRASHED, RUN_INTERRUPTED,
                                         RUN_CONFIG_ERROR };

        assert_string_equal(run_outcome_to_string(RUN_SUCCESS), "success");
        assert_string_equal(run_outcome_to_string(RUN_FAILED), "failed");
        assert_string_equal(run_outcome_to_string(RUN_TIMED_OUT), "timeout");
        assert_string_equal(run_outcome_to_string(RUN_CRASHED), "crashed");
        assert_string_equal(run_outcome_to_string(RUN_INTERRUPTED), "interrupted");
        assert_string_equal(run_outcome_to_string(RUN_CONFIG_ERROR), "config_error");
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
                assert_int_equal(run_outcome_from_string(run_outcome_to_string(all[i])), (int)all[i]);
        assert_int_equal(run_outcome_from_string("Success"), -EINVAL);
        assert_int_equal(run_outcome_from_string(""), -EINVAL);
        assert_int_equal(run_outcome_from_string(NULL), -EINVAL);
}

/* Everything written is read back; the file is 0600 and named for its start time. */
static void test_write_and_read_back(void **state)
{
        struct fixture *f = *state;
        struct run_record r = { 0 }, *got = NULL;
        char name[256];
        struct stat st;
        size_t n = 0;

        strcpy(r.recipe, "ebs_snapshots");
        strcpy(r.run_id, "3f2a9c1e-77b0-4d1e-9a2b-0c4d5e6f7a8b");
        r.start_usec = T0 * SEC + 123456;
        r.end_usec = r.start_usec + 1500000;
        r.outcome = RUN_FAILED;
        r.error = strdup("DescribeVolumes: UnauthorizedOperation (request id abc)");
        r.dry_run = true;
        assert_int_equal(metric_batch_add(&r.metrics, "SnapshotsCreated", "Count", 3, T0 * 1000, NULL, 0), 0);
        assert_int_equal(records_write(f->dir, &r), 0);

        snprintf(name, sizeof(name), "%s/20261118T110640.123456Z-ebs_snapshots-%s.json", f->runs, r.run_id);
        assert_int_equal(stat(name, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(stat(f->runs, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);

        assert_int_equal(records_list(f->dir, NULL, 0, &got, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(got[0].recipe, r.recipe);
        assert_string_equal(got[0].run_id, r.run_id);
        assert_int_equal(got[0].start_usec, r.start_usec);
        assert_int_equal(got[0].end_usec, r.end_usec);
        assert_int_equal(got[0].outcome, RUN_FAILED);
        assert_string_equal(got[0].error, r.error);
        assert_true(got[0].dry_run);
        assert_int_equal(got[0].metrics.n, 1);
        assert_string_equal(got[0].metrics.items[0].name, "SnapshotsCreated");
        assert_string_equal(got[0].metrics.items[0].unit, "Count");
        assert_true(got[0].metrics.items[0].value == 3);
        assert_int_equal(got[0].metrics.items[0].timestamp_ms, T0 * 1000);
        records_free(got, n);
        run_record_clear(&r);
        assert_null(r.error);
}

/* The JSON form carries readable times and a null error on success. */
static void test_json_form(void **state)
{
        struct run_record r = { 0 }, back;
        json_object *o, *v;

        strcpy(r.recipe, "nginx");
        strcpy(r.run_id, "r1");
        r.start_usec = T0 * SEC;
        r.end_usec = T0 * SEC + 2500000;
        o = run_record_to_json(&r);
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "start", &v));
        assert_string_equal(json_object_get_string(v), "2026-11-18T11:06:40.000000Z");
        assert_true(json_object_object_get_ex(o, "error", &v));
        assert_null(v);
        assert_true(json_object_object_get_ex(o, "duration_sec", &v));
        assert_true(json_object_get_double(v) == 2.5);
        assert_true(json_object_object_get_ex(o, "outcome", &v));
        assert_string_equal(json_object_get_string(v), "success");
        assert_int_equal(run_record_from_json(o, &back), 0);
        assert_null(back.error);
        assert_int_equal(back.outcome, RUN_SUCCESS);
        run_record_clear(&back);
        json_object_put(o);
}

/* A command's detail (configure's change) goes to disk and comes back; a recipe's run has none. */
static void test_detail_round_trips(void **state)
{
        struct fixture *f = *state;
        struct run_record r = { 0 }, got = { 0 };
        json_object *v;

        strcpy(r.recipe, "configure");
        strcpy(r.run_id, "c1");
        r.start_usec = T0 * SEC;
        r.end_usec = T0 * SEC + 1;
        r.detail = json_tokener_parse("{\"changed_keys\": [\"apt.mail\"], \"documents\": []}");
        assert_non_null(r.detail);
        assert_int_equal(records_write(f->dir, &r), 0);
        assert_int_equal(records_last(f->dir, "configure", 0, &got), 0);
        assert_non_null(got.detail);
        assert_true(json_object_equal(got.detail, r.detail));
        run_record_clear(&got);
        run_record_clear(&r);
        assert_null(r.detail);

        strcpy(r.recipe, "nginx");
        strcpy(r.run_id, "r2");
        r.start_usec = T0 * SEC + 5;
        v = run_record_to_json(&r);
        assert_non_null(v);
        assert_false(json_object_object_get_ex(v, "detail", NULL));
        json_object_put(v);
}

/* A field missing, of the wrong type or too long is refused and *ret left alone. */
static void test_from_json_rejects_bad_fields(void **state)
{
        static const char *const bad[] = {
                "{\"recipe\":\"a\",\"start_usec\":1,\"end_usec\":2,\"outcome\":\"success\"}",
                "{\"run_id\":\"x\",\"recipe\":\"a\",\"start_usec\":\"1\",\"end_usec\":2,\"outcome\":\"success\"}",
                "{\"run_id\":\"x\",\"recipe\":\"a\",\"start_usec\":1,\"end_usec\":2,\"outcome\":\"great\"}",
                "{\"run_id\":\"x\",\"recipe\":\"A-b\",\"start_usec\":1,\"end_usec\":2,\"outcome\":\"success\"}",
                "{\"run_id\":\"0123456789012345678901234567890123456789\",\"recipe\":\"a\",\"start_usec\":1,"
                "\"end_usec\":2,\"outcome\":\"success\"}",
                "{\"run_id\":\"x\",\"recipe\":\"a\",\"start_usec\":1,\"end_usec\":2,\"outcome\":\"failed\",\"error\":5}",
                "{\"run_id\":\"x\",\"recipe\":\"a\",\"start_usec\":1,\"end_usec\":2,\"outcome\":\"failed\",\"metrics\":{}}",
                /* times no run has: end - start overflowed (undefined behaviour) when such a
                 * record was listed by `history` or turned back into JSON */
                "{\"run_id\":\"x\",\"recipe\":\"a\",\"start_usec\":-9000000000000000000,"
                "\"end_usec\":9000000000000000000,\"outcome\":\"success\"}",
                "{\"run_id\":\"x\",\"recipe\":\"a\",\"start_usec\":1,\"end_usec\":-1,\"outcome\":\"success\"}",
                "{\"run_id\":\"x\",\"recipe\":\"a\",\"start_usec\":1,\"end_usec\":2,\"outcome\":\"success\",\"detail\":[]}",
                "[]",
        };
        struct run_record r;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                json_object *o = json_tokener_parse(bad[i]);

                assert_non_null(o);
                memset(&r, 0xa5, sizeof(r));
                assert_int_equal(run_record_from_json(o, &r), -EINVAL);
                assert_int_equal((unsigned char)r.run_id[0], 0xa5);
                json_object_put(o);
        }
        assert_int_equal(run_record_from_json(NULL, &r), -EINVAL);
}

/* Newest first, whatever the order they were written in; a lexical sort of the names is a
 * chronological one, across second boundaries too. */
static void test_list_newest_first(void **state)
{
        struct fixture *f = *state;
        struct run_record *got = NULL;
        size_t n = 0;

        put(f, "a", "r2", T0 * SEC + 999999, RUN_SUCCESS, NULL);
        put(f, "a", "r4", (T0 + 86400 * 400) * SEC, RUN_SUCCESS, NULL);
        put(f, "a", "r1", T0 * SEC + 5, RUN_FAILED, "boom");
        put(f, "a", "r3", (T0 + 1) * SEC, RUN_CRASHED, "killed by SIGSEGV");
        assert_int_equal(records_list(f->dir, NULL, 0, &got, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(got[0].run_id, "r4");
        assert_string_equal(got[1].run_id, "r3");
        assert_string_equal(got[2].run_id, "r2");
        assert_string_equal(got[3].run_id, "r1");
        records_free(got, n);
}

static void test_list_filters_and_limits(void **state)
{
        struct fixture *f = *state;
        struct run_record *got = NULL;
        size_t n = 0;

        put(f, "nginx", "n1", T0 * SEC, RUN_SUCCESS, NULL);
        put(f, "ebs", "e1", (T0 + 1) * SEC, RUN_SUCCESS, NULL);
        put(f, "nginx", "n2", (T0 + 2) * SEC, RUN_SUCCESS, NULL);
        put(f, "nginx_extra", "x1", (T0 + 3) * SEC, RUN_SUCCESS, NULL);
        assert_int_equal(records_list(f->dir, "nginx", 0, &got, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(got[0].run_id, "n2");
        assert_string_equal(got[1].run_id, "n1");
        records_free(got, n);
        assert_int_equal(records_list(f->dir, NULL, 3, &got, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(got[0].run_id, "x1");
        assert_string_equal(got[2].run_id, "e1");
        records_free(got, n);
        assert_int_equal(records_list(f->dir, "nothing", 0, &got, &n), 0);
        assert_int_equal(n, 0);
        assert_null(got);
}

/* No runs directory yet: no records, not an error. */
static void test_list_without_directory(void **state)
{
        struct fixture *f = *state;
        struct run_record *got = (void *)1;
        size_t n = 7;

        assert_int_equal(records_list(f->dir, NULL, 0, &got, &n), 0);
        assert_int_equal(n, 0);
        assert_null(got);
}

/* Corrupt, incomplete and oversized files are skipped, each named in a warning. */
static void test_list_skips_corrupt_files(void **state)
{
        struct fixture *f = *state;
        struct run_record *got = NULL;
        char *big, *log;
        size_t n = 0;

        log_setup(LOG_TARGET_STDERR, LOG_WARNING);
        put(f, "a", "good", T0 * SEC, RUN_SUCCESS, NULL);
        write_raw(f, "20261118T110641.000000Z-a-broken.json", "{\"run_id\": ");
        write_raw(f, "20261118T110642.000000Z-a-partial.json", "{\"run_id\": \"partial\"}");
        big = malloc(RECORDS_FILE_MAX + 2);
        assert_non_null(big);
        memset(big, ' ', RECORDS_FILE_MAX + 1);
        big[RECORDS_FILE_MAX + 1] = '\0';
        write_raw(f, "20261118T110643.000000Z-a-huge.json", big);
        free(big);
        write_raw(f, "notes.txt", "not a record, not looked at");

        log = capture_stderr_list(f, "a", &got, &n);
        assert_int_equal(n, 1);
        assert_string_equal(got[0].run_id, "good");
        assert_non_null(strstr(log, "20261118T110641.000000Z-a-broken.json"));
        assert_non_null(strstr(log, "20261118T110642.000000Z-a-partial.json"));
        assert_non_null(strstr(log, "20261118T110643.000000Z-a-huge.json"));
        assert_null(strstr(log, "notes.txt"));
        free(log);
        records_free(got, n);
}

static void test_last(void **state)
{
        struct fixture *f = *state;
        struct run_record r;

        assert_int_equal(records_last(f->dir, "a", 0, &r), -ENOENT);
        put(f, "a", "ok1", T0 * SEC, RUN_SUCCESS, NULL);
        put(f, "a", "bad", (T0 + 10) * SEC, RUN_TIMED_OUT, "timed out after 10 s");
        put(f, "b", "other", (T0 + 20) * SEC, RUN_SUCCESS, NULL);
        write_raw(f, "20261118T110700.000000Z-a-corrupt.json", "garbage");

        assert_int_equal(records_last(f->dir, "a", 0, &r), 0);
        assert_string_equal(r.run_id, "bad");
        assert_string_equal(r.error, "timed out after 10 s");
        run_record_clear(&r);
        assert_int_equal(records_last(f->dir, "a", RECORDS_SUCCESS_ONLY, &r), 0);
        assert_string_equal(r.run_id, "ok1");
        run_record_clear(&r);
        assert_int_equal(records_last(f->dir, "c", 0, &r), -ENOENT);
}

/* `opsagent log 8515cdb5`: a run found by its whole id or its start. */
static void test_find_by_id_or_prefix(void **state)
{
        struct fixture *f = *state;
        struct run_record r;

        put(f, "a", "8515cdb5aaaa", T0 * SEC, RUN_SUCCESS, NULL);
        put(f, "b", "8515cdb5bbbb", (T0 + 1) * SEC, RUN_FAILED, "why");
        put(f, "b", "77770000", (T0 + 2) * SEC, RUN_SUCCESS, NULL);
        assert_int_equal(records_find(f->dir, "8515cdb5bbbb", &r), 0);
        assert_string_equal(r.recipe, "b");
        assert_string_equal(r.error, "why");
        run_record_clear(&r);
        assert_int_equal(records_find(f->dir, "7777", &r), 0);
        assert_string_equal(r.run_id, "77770000");
        run_record_clear(&r);
        assert_int_equal(records_find(f->dir, "8515cdb5", &r), -EEXIST);
        assert_int_equal(records_find(f->dir, "9999", &r), -ENOENT);
        assert_int_equal(records_find(f->dir, "", &r), -EINVAL);
        assert_int_equal(records_find(f->dir, "../x", &r), -EINVAL);
}

/* A dry run is no outcome: status skips it (RECORDS_NO_DRY_RUN). */
static void test_last_skips_dry_runs(void **state)
{
        struct fixture *f = *state;
        struct run_record r = { 0 };

        put(f, "a", "real", T0 * SEC, RUN_FAILED, "it broke");
        snprintf(r.recipe, sizeof(r.recipe), "a");
        snprintf(r.run_id, sizeof(r.run_id), "dry");
        r.start_usec = (T0 + 10) * SEC;
        r.end_usec = r.start_usec + SEC;
        r.dry_run = true;
        assert_int_equal(records_write(f->dir, &r), 0);
        assert_int_equal(records_last(f->dir, "a", 0, &r), 0);
        assert_string_equal(r.run_id, "dry");
        run_record_clear(&r);
        assert_int_equal(records_last(f->dir, "a", RECORDS_NO_DRY_RUN, &r), 0);
        assert_string_equal(r.run_id, "real");
        run_record_clear(&r);
        assert_int_equal(records_last(f->dir, "a", RECORDS_NO_DRY_RUN | RECORDS_SUCCESS_ONLY, &r), -ENOENT);
}

/* Beyond KEEP records of a recipe, the oldest go; other recipes keep theirs. */
static void test_prune_by_count(void **state)
{
        struct fixture *f = *state;
        struct run_record *got = NULL;
        size_t n = 0, removed = 99;
        char id[16];

        for (int i = 0; i < 5; i++) {
                snprintf(id, sizeof(id), "a%d", i);
                put(f, "a", id, (T0 + i) * SEC, RUN_SUCCESS, NULL);
        }
        put(f, "b", "b0", T0 * SEC, RUN_SUCCESS, NULL);
        put(f, "b", "b1", (T0 + 1) * SEC, RUN_SUCCESS, NULL);
        assert_int_equal(records_prune(f->dir, 3, 0, (T0 + 10) * SEC, &removed), 0);
        assert_int_equal(removed, 2);
        assert_int_equal(records_list(f->dir, "a", 0, &got, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(got[0].run_id, "a4");
        assert_string_equal(got[2].run_id, "a2");
        records_free(got, n);
        assert_int_equal(records_list(f->dir, "b", 0, &got, &n), 0);
        assert_int_equal(n, 2);
        records_free(got, n);
        /* Within the bound, nothing more goes. */
        assert_int_equal(records_prune(f->dir, 3, 0, (T0 + 10) * SEC, &removed), 0);
        assert_int_equal(removed, 0);
}

/* Records older than the age bound go, except each recipe's newest; other files stay. */
static void test_prune_by_age_keeps_newest(void **state)
{
        struct fixture *f = *state;
        struct run_record r;
        size_t removed = 0;

        put(f, "a", "old1", T0 * SEC, RUN_SUCCESS, NULL);
        put(f, "a", "old2", (T0 + 100) * SEC, RUN_SUCCESS, NULL);
        put(f, "a", "new", (T0 + 86400 * 30) * SEC, RUN_SUCCESS, NULL);
        put(f, "weekly", "w1", T0 * SEC, RUN_SUCCESS, NULL);
        put(f, "weekly", "w2", (T0 + 50) * SEC, RUN_SUCCESS, NULL);
        write_raw(f, "README", "left alone");
        assert_int_equal(records_prune(f->dir, 0, 7 * 86400, (T0 + 86400 * 31) * SEC, &removed), 0);
        assert_int_equal(removed, 3);
        assert_int_equal(count_files(f->runs), 3);
        assert_int_equal(records_last(f->dir, "a", 0, &r), 0);
        assert_string_equal(r.run_id, "new");
        run_record_clear(&r);
        assert_int_equal(records_last(f->dir, "weekly", 0, &r), 0);
        assert_string_equal(r.run_id, "w2");
        run_record_clear(&r);
        assert_int_equal(records_prune(f->dir, 0, 0, (T0 + 86400 * 31) * SEC, NULL), 0);
        assert_int_equal(count_files(f->runs), 3);
}

/* A registered secret in the error never reaches the disk. */
static void test_error_is_scrubbed(void **state)
{
        struct fixture *f = *state;
        struct run_record r;
        char name[256], *text = NULL;

        log_register_secret("hunter2-s3cr3t");
        put(f, "a", "s1", T0 * SEC, RUN_FAILED, "login with password hunter2-s3cr3t refused");
        snprintf(name, sizeof(name), "%s/20261118T110640.000000Z-a-s1.json", f->runs);
        assert_int_equal(read_file_capped(name, RECORDS_FILE_MAX, &text, NULL), 0);
        assert_null(strstr(text, "hunter2-s3cr3t"));
        assert_non_null(strstr(text, "password (redacted) refused"));
        free(text);
        assert_int_equal(records_last(f->dir, "a", 0, &r), 0);
        assert_string_equal(r.error, "login with password (redacted) refused");
        run_record_clear(&r);
}

/* Names that would escape the directory or break the file name pattern are refused. */
static void test_write_rejects_bad_names(void **state)
{
        struct fixture *f = *state;
        struct run_record r = { 0 };

        r.start_usec = T0 * SEC;
        strcpy(r.run_id, "r1");
        strcpy(r.recipe, "../etc");
        assert_int_equal(records_write(f->dir, &r), -EINVAL);
        strcpy(r.recipe, "with-dash");
        assert_int_equal(records_write(f->dir, &r), -EINVAL);
        strcpy(r.recipe, "");
        assert_int_equal(records_write(f->dir, &r), -EINVAL);
        strcpy(r.recipe, "ok");
        strcpy(r.run_id, "a/b");
        assert_int_equal(records_write(f->dir, &r), -EINVAL);
        strcpy(r.run_id, "");
        assert_int_equal(records_write(f->dir, &r), -EINVAL);
        strcpy(r.run_id, "r1");
        r.start_usec = -1;
        assert_int_equal(records_write(f->dir, &r), -EINVAL);
        assert_int_equal(count_files(f->runs), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_outcome_names),
                cmocka_unit_test_setup_teardown(test_write_and_read_back, setup, teardown),
                cmocka_unit_test(test_json_form),
                cmocka_unit_test_setup_teardown(test_detail_round_trips, setup, teardown),
                cmocka_unit_test(test_from_json_rejects_bad_fields),
                cmocka_unit_test_setup_teardown(test_list_newest_first, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list_filters_and_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list_without_directory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list_skips_corrupt_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_last, setup, teardown),
                cmocka_unit_test_setup_teardown(test_last_skips_dry_runs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_find_by_id_or_prefix, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prune_by_count, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prune_by_age_keeps_newest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_error_is_scrubbed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_rejects_bad_names, setup, teardown),
        };
        log_setup(LOG_TARGET_STDERR, LOG_WARNING);
        return cmocka_run_group_tests_name("records", tests, NULL, NULL);
}
