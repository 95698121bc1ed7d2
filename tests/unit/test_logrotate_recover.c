/* logrotate recipe: recovery of a copytruncate killed (SIGKILL) at each of its points. The next
 * run keeps the copy of a log that was truncated and removes the copy of one that was not,
 * from the facts the journal recorded before the truncation, never from content: a writer
 * that refills the log with the same lines (health checks) must not cost the copy. When it
 * cannot tell, it keeps both and says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/param.h>

#include "logrotate_recipe.h"
#include "lr_compress.h"
#include "lr_copytruncate.h"
#include "lr_rotate.h"
#include "lr_state.h"
#include "lr_steps.h"
#include "lr_testutil.h"

/* the copytruncate that is killed, and the run after it that must not rotate again */
#define CT_SET "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/a.log\"], \"method\": \"copytruncate\"," \
               " \"compress\": \"none\", \"size\": 1, \"rotate\": 3}}}"
#define CT_SET_NOT_DUE "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/a.log\"], \"method\": \"copytruncate\"," \
                       " \"compress\": \"none\", \"size\": \"1G\", \"rotate\": 3}}}"
#define HEALTH "10.0.0.1 - - \"GET /health HTTP/1.1\" 200 2 \"-\" \"ELB-HealthChecker/2.0\"\n"
#define HEALTH_LEN (sizeof(HEALTH) - 1)
#define LOG_BYTES (4000 * HEALTH_LEN)   /* whole lines, well over the 64 KiB that used to be compared */
#define MORE (50 * HEALTH_LEN)

struct t {
        char *dir;
        struct fake *f;
};

static enum lr_ct_point kill_at;

static void kill_here(enum lr_ct_point point)
{
        if (point == kill_at)
                raise(SIGKILL);
}

static int setup(void **state)
{
        struct t *t = calloc(1, sizeof(*t));
        char *d = NULL;
        assert_non_null(t);
        t->dir = tdir_new();
        assert_true(asprintf(&d, "mkdir -p '%s/root/var/log/app'", t->dir) > 0);
        assert_int_equal(system(d), 0);
        free(d);
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        struct t *t = *state;
        lr_copytruncate_hook = NULL;
        fake_free(t->f);
        tdir_free(t->dir);
        free(t);
        return 0;
}

static char *app(struct t *t, const char *rel)
{
        char *d = tpath(t->dir, "root/var/log/app"), *p = tpath(d, rel);
        free(d);
        return p;
}

/* Appends BYTES bytes of LINE, repeated, to the log REL. */
static void append(struct t *t, const char *rel, const char *line, size_t bytes)
{
        char *p = app(t, rel);
        FILE *f = fopen(p, "a");
        size_t len = strlen(line);
        assert_non_null(f);
        for (size_t n = 0; n < bytes; n += len)
                fwrite(line, 1, MIN(len, bytes - n), f);
        fclose(f);
        free(p);
}

static off_t size_of(struct t *t, const char *rel)
{
        char *p = app(t, rel);
        struct stat st;
        off_t n = stat(p, &st) == 0 ? st.st_size : -1;
        free(p);
        return n;
}

/* Bytes [0, LEN) of REL all repeat LINE. */
static bool all_lines(struct t *t, const char *rel, const char *line, off_t len)
{
        char *d = tpath(t->dir, "root/var/log/app"), *s = tread(d, rel);
        size_t n = strlen(line);
        bool ok = s && (off_t)strlen(s) == len;
        for (off_t i = 0; ok && i < len; i += (off_t)n)
                ok = strncmp(s + i, line, MIN(n, (size_t)(len - i))) == 0;
        free(s);
        free(d);
        return ok;
}

static int run_recipe(struct t *t, const char *attrs)
{
        fake_free(t->f);
        t->f = fake_new(t->dir, attrs);
        return logrotate_run(&t->f->ctx);
}

/* Runs the copytruncate in a child that SIGKILLs itself at POINT. */
static void run_killed_at(struct t *t, enum lr_ct_point point)
{
        pid_t pid;
        int status;

        fflush(stdout);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                kill_at = point;
                lr_copytruncate_hook = kill_here;
                (void)run_recipe(t, CT_SET);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
                fail_msg("the run was to be killed at point %d; wait status %#x", point, status);
        assert_true(texists(t->dir, "state/journal.json"));
}

static bool no_temporaries(struct t *t)
{
        char *d = tpath(t->dir, "root/var/log/app");
        DIR *dir = opendir(d);
        struct dirent *de;
        bool none = true;
        assert_non_null(dir);
        while ((de = readdir(dir)))
                if (strstr(de->d_name, LR_TMP_SUFFIX))
                        none = false;
        closedir(dir);
        free(d);
        return none;
}

/* The case: killed just after ftruncate(); the writer refills the log with more bytes
 * than were copied, all of them health checks, so that the log starts with the very bytes of
 * its copy. The copy is the only copy of those lines and must stay. */
static void test_kill9_after_truncate_then_the_same_lines_again_keeps_the_copy(void **state)
{
        struct t *t = *state;

        append(t, "a.log", HEALTH, LOG_BYTES);
        run_killed_at(t, LR_CT_TRUNCATED);
        assert_int_equal(size_of(t, "a.log"), 0);
        append(t, "a.log", HEALTH, LOG_BYTES + MORE);
        assert_int_equal(run_recipe(t, CT_SET_NOT_DUE), 0);
        assert_true(all_lines(t, "a.log.1", HEALTH, LOG_BYTES));
        assert_true(all_lines(t, "a.log", HEALTH, LOG_BYTES + MORE));
        assert_true(no_temporaries(t));
        assert_false(texists(t->dir, "state/journal.json"));
        assert_non_null(strstr(t->f->said, "kept both"));
        assert_non_null(strstr(t->f->said, "a.log.1"));
}

static void test_kill9_after_truncate_keeps_the_copy(void **state)
{
        struct t *t = *state;

        append(t, "a.log", HEALTH, LOG_BYTES);
        run_killed_at(t, LR_CT_TRUNCATED);
        append(t, "a.log", "a new line\n", 11);
        assert_int_equal(run_recipe(t, CT_SET_NOT_DUE), 0);
        assert_true(all_lines(t, "a.log.1", HEALTH, LOG_BYTES));
        assert_true(all_lines(t, "a.log", "a new line\n", 11));
        assert_non_null(strstr(t->f->said, "smaller than what was copied"));
        assert_true(no_temporaries(t));
}

static void test_kill9_after_truncate_then_other_lines_keeps_the_copy(void **state)
{
        struct t *t = *state;

        append(t, "a.log", HEALTH, LOG_BYTES);
        run_killed_at(t, LR_CT_TRUNCATED);
        append(t, "a.log", "something else happened\n", 2 * LOG_BYTES);
        assert_int_equal(run_recipe(t, CT_SET_NOT_DUE), 0);
        assert_true(all_lines(t, "a.log.1", HEALTH, LOG_BYTES));
        assert_non_null(strstr(t->f->said, "no longer starts with what was copied"));
        assert_true(no_temporaries(t));
}

static void test_kill9_after_the_truncated_marker_keeps_the_copy(void **state)
{
        struct t *t = *state;

        append(t, "a.log", HEALTH, LOG_BYTES);
        run_killed_at(t, LR_CT_DONE);
        append(t, "a.log", HEALTH, LOG_BYTES);
        assert_int_equal(run_recipe(t, CT_SET_NOT_DUE), 0);
        assert_true(all_lines(t, "a.log.1", HEALTH, LOG_BYTES));
        assert_true(all_lines(t, "a.log", HEALTH, LOG_BYTES));
        assert_non_null(strstr(t->f->said, "had been truncated (the journal says so)"));
        assert_true(no_temporaries(t));
}

/* Killed while copying: the truncation comes only after the next journal entry. */
static void test_kill9_while_copying_drops_the_copy(void **state)
{
        struct t *t = *state;

        append(t, "a.log", HEALTH, LOG_BYTES);
        run_killed_at(t, LR_CT_COPYING);
        assert_int_equal(run_recipe(t, CT_SET_NOT_DUE), 0);
        assert_true(all_lines(t, "a.log", HEALTH, LOG_BYTES));
        assert_false(texists(t->dir, "root/var/log/app/a.log.1"));
        assert_true(no_temporaries(t));
        assert_non_null(strstr(t->f->said, "undid the interrupted copy"));
}

/* Killed between the marker and the truncation, nobody writing: the inode is as it was at the
 * marker (same st_ctime and size), so it was certainly not truncated. */
static void test_kill9_before_truncate_of_an_untouched_log_drops_the_copy(void **state)
{
        struct t *t = *state;

        append(t, "a.log", HEALTH, LOG_BYTES);
        run_killed_at(t, LR_CT_MARKED);
        assert_int_equal(run_recipe(t, CT_SET_NOT_DUE), 0);
        assert_true(all_lines(t, "a.log", HEALTH, LOG_BYTES));
        assert_false(texists(t->dir, "root/var/log/app/a.log.1"));
        assert_true(no_temporaries(t));
        assert_non_null(strstr(t->f->said, "undid the interrupted copy"));
}

/* Killed between the marker and the truncation, the writer appending the same lines since:
 * not truncated and truncated-then-refilled look the same. Both are kept, and said. */
static void test_kill9_before_truncate_with_a_writer_keeps_both(void **state)
{
        struct t *t = *state;

        append(t, "a.log", HEALTH, LOG_BYTES);
        run_killed_at(t, LR_CT_MARKED);
        append(t, "a.log", HEALTH, MORE);
        assert_int_equal(run_recipe(t, CT_SET_NOT_DUE), 0);
        assert_true(all_lines(t, "a.log", HEALTH, LOG_BYTES + MORE));
        assert_true(all_lines(t, "a.log.1", HEALTH, LOG_BYTES));
        assert_non_null(strstr(t->f->said, "cannot tell whether"));
        assert_true(no_temporaries(t));
}

/* Killed while the copied part was being punched out of the log (so that the truncation frees
 * little under the inode lock): a hole at the start of the log says it was not truncated yet;
 * the next run finishes the copytruncate, and no byte of a hole is left anywhere. */
static void test_kill9_while_punching_finishes_the_copytruncate(void **state)
{
        struct t *t = *state;
        const size_t big = (2 * LR_PUNCH_SLICE / HEALTH_LEN + 1) * HEALTH_LEN;
        char *d = tpath(t->dir, "root/var/log/app"), *copy, *log;

        append(t, "a.log", HEALTH, big);
        run_killed_at(t, LR_CT_PUNCHED);
        append(t, "a.log", HEALTH, MORE);       /* the writer went on */
        assert_int_equal(run_recipe(t, CT_SET_NOT_DUE), 0);
        assert_non_null(strstr(t->f->said, "finished the copytruncate"));
        assert_int_equal(size_of(t, "a.log"), 0);
        assert_true(all_lines(t, "a.log.1", HEALTH, big + MORE));
        copy = tread(d, "a.log.1");
        log = tread(d, "a.log");
        assert_int_equal(strlen(copy), big + MORE);     /* no NUL byte */
        assert_string_equal(log, "");
        assert_true(no_temporaries(t));
        free(log);
        free(copy);
        free(d);
}

/* The recovered copy takes a free name; an a.log.1 that appeared meanwhile stays as it is. */
static void test_recovered_copy_replaces_nothing(void **state)
{
        struct t *t = *state;
        char name[128];

        append(t, "a.log", HEALTH, LOG_BYTES);
        run_killed_at(t, LR_CT_TRUNCATED);
        append(t, "a.log.1", "not to be overwritten\n", 22);
        assert_int_equal(run_recipe(t, CT_SET_NOT_DUE), 0);
        assert_true(all_lines(t, "a.log.1", "not to be overwritten\n", 22));
        snprintf(name, sizeof(name), "a.log.1" LR_KEPT_INFIX "%jd", (intmax_t)time(NULL));
        if (!all_lines(t, name, HEALTH, LOG_BYTES)) {
                /* the second may have changed since the run */
                snprintf(name, sizeof(name), "a.log.1" LR_KEPT_INFIX "%jd", (intmax_t)time(NULL) - 1);
                assert_true(all_lines(t, name, HEALTH, LOG_BYTES));
        }
        assert_non_null(strstr(t->f->said, LR_KEPT_INFIX));
        assert_true(no_temporaries(t));
}

/* The log was replaced by another file (another inode) before the next run: its copy is kept. */
static void test_log_replaced_by_another_file_keeps_the_copy(void **state)
{
        struct t *t = *state;
        char *log = app(t, "a.log"), *aside = app(t, "moved-away");

        append(t, "a.log", HEALTH, LOG_BYTES);
        run_killed_at(t, LR_CT_MARKED);
        assert_int_equal(rename(log, aside), 0);
        append(t, "a.log", HEALTH, LOG_BYTES);
        assert_int_equal(run_recipe(t, CT_SET_NOT_DUE), 0);
        assert_true(all_lines(t, "a.log.1", HEALTH, LOG_BYTES));
        assert_non_null(strstr(t->f->said, "another inode"));
        free(aside);
        free(log);
}

/* A journal as versions before the facts wrote it ("truncate", "copied" only), the log and
 * the copy alike: no proof that the log was not truncated, so both are kept. */
static void test_older_journal_never_drops_a_copy_for_equal_content(void **state)
{
        struct t *t = *state;
        char *log = app(t, "a.log"), *j = NULL, *sd = tpath(t->dir, "state");
        json_object *o;

        append(t, "a.log", HEALTH, LOG_BYTES);
        append(t, "a.log.1" LR_TMP_SUFFIX, HEALTH, LOG_BYTES);
        assert_true(asprintf(&j, "{\"step\": \"copytruncate\", \"log\": \"%s\", \"dst\": \"%s.1\", \"tmp\": \"%s.1"
                             LR_TMP_SUFFIX "\", \"phase\": \"truncate\", \"copied\": \"%zu\"}", log, log, log,
                             LOG_BYTES) > 0);
        mkdir(sd, 0700);
        o = json_tokener_parse(j);
        assert_int_equal(lr_journal_write(sd, o), 0);
        json_object_put(o);
        assert_int_equal(run_recipe(t, CT_SET_NOT_DUE), 0);
        assert_true(all_lines(t, "a.log", HEALTH, LOG_BYTES));
        assert_true(all_lines(t, "a.log.1", HEALTH, LOG_BYTES));
        assert_non_null(strstr(t->f->said, "kept both"));
        free(sd);
        free(j);
        free(log);
}

/* Kept copies are rotated like any other the next time. */
static void test_copy_kept_by_recovery_is_rotated_later(void **state)
{
        struct t *t = *state;

        append(t, "a.log", HEALTH, LOG_BYTES);
        run_killed_at(t, LR_CT_TRUNCATED);
        append(t, "a.log", "after\n", 6);
        assert_int_equal(run_recipe(t, CT_SET_NOT_DUE), 0);
        assert_int_equal(run_recipe(t, CT_SET), 0);
        assert_true(all_lines(t, "a.log.2", HEALTH, LOG_BYTES));
        assert_true(all_lines(t, "a.log.1", "after\n", 6));
        assert_int_equal(size_of(t, "a.log"), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_kill9_after_truncate_then_the_same_lines_again_keeps_the_copy),
                T(test_kill9_after_truncate_keeps_the_copy),
                T(test_kill9_after_truncate_then_other_lines_keeps_the_copy),
                T(test_kill9_after_the_truncated_marker_keeps_the_copy),
                T(test_kill9_while_copying_drops_the_copy),
                T(test_kill9_before_truncate_of_an_untouched_log_drops_the_copy),
                T(test_kill9_before_truncate_with_a_writer_keeps_both),
                T(test_kill9_while_punching_finishes_the_copytruncate),
                T(test_recovered_copy_replaces_nothing),
                T(test_log_replaced_by_another_file_keeps_the_copy),
                T(test_older_journal_never_drops_a_copy_for_equal_content),
                T(test_copy_kept_by_recovery_is_rotated_later),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
