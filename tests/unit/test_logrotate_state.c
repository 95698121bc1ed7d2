/* logrotate recipe: the state file (atomic, corrupt ones moved aside) and the journal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lr_state.h"
#include "lr_testutil.h"

static int setup(void **state)
{
        *state = tdir_new();
        return 0;
}

static int teardown(void **state)
{
        tdir_free(*state);
        return 0;
}

static void test_missing_file_gives_empty_state(void **state)
{
        struct lr_state *s = NULL;
        char *warning = NULL;
        time_t t;

        assert_int_equal(lr_state_load(*state, &s, &warning), 0);
        assert_null(warning);
        assert_int_equal(lr_state_get(s, "/var/log/x.log", &t), -ENOENT);
        lr_state_free(s);
}

static void test_saved_state_reads_back(void **state)
{
        struct lr_state *s = NULL;
        time_t t = 0;

        assert_int_equal(lr_state_load(*state, &s, NULL), 0);
        assert_int_equal(lr_state_set(s, "/var/log/x.log", 1790000000), 0);
        assert_int_equal(lr_state_set(s, "/var/log/y.log", 1790003600), 0);
        assert_int_equal(lr_state_set(s, "/var/log/x.log", 1790007200), 0);
        assert_int_equal(lr_state_save(s), 0);
        lr_state_free(s);
        assert_false(texists(*state, "status.json.opsagent-tmp"));
        assert_int_equal(lr_state_load(*state, &s, NULL), 0);
        assert_int_equal(lr_state_get(s, "/var/log/x.log", &t), 0);
        assert_int_equal(t, 1790007200);
        assert_int_equal(lr_state_get(s, "/var/log/y.log", &t), 0);
        assert_int_equal(t, 1790003600);
        lr_state_free(s);
}

/* A change not saved yet (a run killed between two saves) is in status.log: the next load
 * has it; a save folds it into status.json and empties the log. */
static void test_unsaved_changes_are_replayed(void **state)
{
        struct lr_state *s = NULL;
        time_t t = 0;
        char *log;

        assert_int_equal(lr_state_load(*state, &s, NULL), 0);
        assert_int_equal(lr_state_set(s, "/var/log/x.log", 1790000000), 0);
        assert_int_equal(lr_state_save(s), 0);
        assert_int_equal(lr_state_set(s, "/var/log/x.log", 1790086400), 0);
        assert_int_equal(lr_state_set(s, "/var/log/y.log", 1790090000), 0);
        lr_state_free(s);                       /* killed: never saved */
        assert_int_equal(lr_state_load(*state, &s, NULL), 0);
        assert_true(lr_state_dirty(s));
        assert_int_equal(lr_state_get(s, "/var/log/x.log", &t), 0);
        assert_int_equal(t, 1790086400);
        assert_int_equal(lr_state_get(s, "/var/log/y.log", &t), 0);
        assert_int_equal(t, 1790090000);
        assert_int_equal(lr_state_save(s), 0);
        lr_state_free(s);
        log = tread(*state, LR_STATE_LOG_FILE);
        assert_string_equal(log, "");
        free(log);
        log = tread(*state, LR_STATE_FILE);
        assert_non_null(strstr(log, "1790090000"));
        free(log);
}

/* A line torn by a kill, or garbage, is skipped; the others count. */
static void test_torn_line_of_the_log_is_skipped(void **state)
{
        struct lr_state *s = NULL;
        char *warning = NULL;
        time_t t = 0;

        twrite(*state, LR_STATE_LOG_FILE, "{\"log\": \"/a\", \"last_rotated\": 5}\n[1]\nnot json\n"
                                          "{\"log\": 7, \"last_rotated\": 5}\n{\"log\": \"/b\", \"last_rot");
        assert_int_equal(lr_state_load(*state, &s, &warning), 0);
        assert_null(warning);
        assert_int_equal(lr_state_get(s, "/a", &t), 0);
        assert_int_equal(t, 5);
        assert_int_equal(lr_state_get(s, "/b", &t), -ENOENT);
        lr_state_free(s);
}

/* A log over LR_STATE_MAX_BYTES is removed with a warning, not read. */
static void test_log_over_limit_is_removed(void **state)
{
        struct lr_state *s = NULL;
        char *p = tpath(*state, LR_STATE_LOG_FILE), *warning = NULL;
        time_t t;

        close(open(p, O_WRONLY | O_CREAT, 0600));
        assert_int_equal(truncate(p, LR_STATE_MAX_BYTES + 1), 0);
        assert_int_equal(lr_state_load(*state, &s, &warning), 0);
        assert_non_null(warning);
        assert_non_null(strstr(warning, "status.log"));
        assert_false(texists(*state, LR_STATE_LOG_FILE));
        assert_int_equal(lr_state_get(s, "/a", &t), -ENOENT);
        free(warning);
        lr_state_free(s);
        free(p);
}

static void expect_moved_aside(const char *dir)
{
        struct lr_state *s = NULL;
        char *warning = NULL;
        time_t t;

        assert_int_equal(lr_state_load(dir, &s, &warning), 0);
        assert_non_null(warning);
        assert_non_null(strstr(warning, "status.json.corrupt-"));
        assert_int_equal(lr_state_get(s, "/var/log/x.log", &t), -ENOENT);
        assert_false(texists(dir, "status.json"));
        /* and the next save makes a good one */
        assert_int_equal(lr_state_set(s, "/var/log/x.log", 5), 0);
        assert_int_equal(lr_state_save(s), 0);
        free(warning);
        lr_state_free(s);
        assert_int_equal(lr_state_load(dir, &s, &warning), 0);
        assert_null(warning);
        lr_state_free(s);
}

static void test_unparsable_state_is_moved_aside(void **state)
{
        twrite(*state, "status.json", "{\"logs\": {\"/var/log/x.log\": {\"last_rot");
        expect_moved_aside(*state);
}

static void test_wrong_shape_is_moved_aside(void **state)
{
        twrite(*state, "status.json", "{\"logs\": {\"/var/log/x.log\": {\"last_rotated\": \"yesterday\"}}}");
        expect_moved_aside(*state);
}

static void test_logrotate_format_is_moved_aside(void **state)
{
        twrite(*state, "status.json", "logrotate state -- version 2\n\"/var/log/x.log\" 2026-11-1-0:0:0\n");
        expect_moved_aside(*state);
}

static void test_state_over_limit_is_moved_aside(void **state)
{
        char *p = tpath(*state, "status.json");
        int fd = open(p, O_WRONLY | O_CREAT, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, LR_STATE_MAX_BYTES + 1), 0);
        close(fd);
        free(p);
        expect_moved_aside(*state);
}

static void test_state_at_limit_is_read(void **state)
{
        char *p = tpath(*state, "status.json");
        const char *text = "{\"logs\": {\"/var/log/x.log\": {\"last_rotated\": 42}}}";
        FILE *f = fopen(p, "w");
        struct lr_state *s = NULL;
        char *warning = NULL;
        time_t t;

        fputs(text, f);
        for (size_t i = strlen(text); i < LR_STATE_MAX_BYTES; i++)
                fputc(' ', f);
        fclose(f);
        free(p);
        assert_int_equal(lr_state_load(*state, &s, &warning), 0);
        assert_null(warning);
        assert_int_equal(lr_state_get(s, "/var/log/x.log", &t), 0);
        assert_int_equal(t, 42);
        lr_state_free(s);
}

static void test_journal_round_trip_and_clear(void **state)
{
        json_object *step = json_object_new_object(), *back = NULL, *v;

        json_object_object_add(step, "step", json_object_new_string("compress"));
        assert_int_equal(lr_journal_read(*state, &back), -ENOENT);
        assert_int_equal(lr_journal_write(*state, step), 0);
        assert_int_equal(lr_journal_read(*state, &back), 0);
        assert_true(json_object_object_get_ex(back, "step", &v));
        assert_string_equal(json_object_get_string(v), "compress");
        json_object_put(back);
        assert_int_equal(lr_journal_clear(*state), 0);
        assert_int_equal(lr_journal_read(*state, &back), -ENOENT);
        assert_int_equal(lr_journal_clear(*state), 0);
        json_object_put(step);
}

static const char *step_of(json_object *j)
{
        json_object *v;
        return json_object_object_get_ex(j, "step", &v) ? json_object_get_string(v) : "";
}

/* Each entry is a line appended (one flush, no new file): the last whole line is the step in
 * flight; a line a kill tore is not one (it was not acted on), and the one before counts. */
static void test_journal_last_whole_line_is_the_step(void **state)
{
        json_object *a = json_tokener_parse("{\"step\": \"rename\"}"), *b = json_tokener_parse("{\"step\": \"compress\"}");
        json_object *back = NULL;
        char *p = tpath(*state, "journal.json");
        FILE *f;

        assert_int_equal(lr_journal_write(*state, a), 0);
        assert_int_equal(lr_journal_write(*state, b), 0);
        assert_int_equal(lr_journal_read(*state, &back), 0);
        assert_string_equal(step_of(back), "compress");
        json_object_put(back);
        f = fopen(p, "a");
        fputs("{\"step\": \"copytrunc", f);          /* torn */
        fclose(f);
        assert_int_equal(lr_journal_read(*state, &back), 0);
        assert_string_equal(step_of(back), "compress");
        json_object_put(back);
        twrite(*state, "journal.json", "{\"step\": \"rename\", \"log\": \"/x\"}");   /* an older version's */
        assert_int_equal(lr_journal_read(*state, &back), 0);
        assert_string_equal(step_of(back), "rename");
        json_object_put(back);
        json_object_put(a);
        json_object_put(b);
        free(p);
}

/* The journal starts again past LR_JOURNAL_COMPACT_BYTES, and an entry over LR_JOURNAL_LINE_MAX
 * is refused, so that it stays below LR_JOURNAL_MAX_BYTES. */
static void test_journal_stays_bounded(void **state)
{
        json_object *step = json_object_new_object(), *back = NULL;
        char *big = malloc(LR_JOURNAL_LINE_MAX + 1), *p = tpath(*state, "journal.json");
        struct stat st;

        memset(big, 'x', LR_JOURNAL_LINE_MAX);
        big[LR_JOURNAL_LINE_MAX] = '\0';
        json_object_object_add(step, "step", json_object_new_string("compress"));
        json_object_object_add(step, "src", json_object_new_string(big + LR_JOURNAL_LINE_MAX - 1000));
        for (int i = 0; i < 2 * LR_JOURNAL_COMPACT_BYTES / 1000; i++)
                assert_int_equal(lr_journal_write(*state, step), 0);
        assert_int_equal(stat(p, &st), 0);
        assert_true(st.st_size <= LR_JOURNAL_COMPACT_BYTES + 2000);
        json_object_object_add(step, "src", json_object_new_string(big));
        assert_int_equal(lr_journal_write(*state, step), -E2BIG);
        assert_int_equal(lr_journal_read(*state, &back), 0);
        assert_string_equal(step_of(back), "compress");
        json_object_put(back);
        assert_int_equal(truncate(p, LR_JOURNAL_MAX_BYTES + 1), 0);
        assert_int_equal(lr_journal_read(*state, &back), -EBADMSG);
        assert_false(texists(*state, "journal.json"));
        json_object_put(step);
        free(big);
        free(p);
}

static void test_corrupt_journal_is_removed(void **state)
{
        json_object *back = NULL;
        twrite(*state, "journal.json", "{\"step\": \"comp");
        assert_int_equal(lr_journal_read(*state, &back), -EBADMSG);
        assert_false(texists(*state, "journal.json"));
}

static void test_temporaries_of_a_killed_write_are_removed(void **state)
{
        struct lr_state *s = NULL;
        json_object *j = NULL;

        twrite(*state, "status.json.opsagent-tmp", "{\"logs\": {");
        twrite(*state, "journal.json.opsagent-tmp", "{\"st");
        twrite(*state, "status.json", "{\"logs\": {}}");
        assert_int_equal(lr_state_load(*state, &s, NULL), 0);
        assert_int_equal(lr_journal_read(*state, &j), -ENOENT);
        assert_false(texists(*state, "status.json.opsagent-tmp"));
        assert_false(texists(*state, "journal.json.opsagent-tmp"));
        assert_true(texists(*state, "status.json"));
        lr_state_free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_missing_file_gives_empty_state, setup, teardown),
                cmocka_unit_test_setup_teardown(test_saved_state_reads_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unsaved_changes_are_replayed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_torn_line_of_the_log_is_skipped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_log_over_limit_is_removed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unparsable_state_is_moved_aside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_shape_is_moved_aside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_logrotate_format_is_moved_aside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state_over_limit_is_moved_aside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state_at_limit_is_read, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal_round_trip_and_clear, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal_last_whole_line_is_the_step, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal_stays_bounded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_journal_is_removed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_temporaries_of_a_killed_write_are_removed, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
