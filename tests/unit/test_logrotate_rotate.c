/* logrotate recipe: the engine (due rules, methods, names, pruning, refusals, recovery of a
 * killed run) and the recipe's run() through a fake context. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "logrotate_recipe.h"
#include "lr_compress.h"
#include "lr_names.h"
#include "lr_reopen.h"
#include "lr_rotate.h"
#include "lr_testutil.h"

#define DAY 86400
#define T0 1795435200   /* Monday 2026-11-23 12:00:00 UTC */

struct t {
        char *dir;
        struct fake *f;
};

static int setup(void **state)
{
        struct t *t = calloc(1, sizeof(*t));
        setenv("TZ", "UTC", 1);
        tzset();
        t->dir = tdir_new();
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        struct t *t = *state;
        fake_free(t->f);
        tdir_free(t->dir);
        free(t);
        return 0;
}

/* ---- lr_is_due ---- */

static struct lr_set *set_new(enum lr_frequency f)
{
        struct lr_set *s = calloc(1, sizeof(*s));
        s->frequency = f;
        s->rotate = 4;
        return s;
}

static enum lr_due due(const struct lr_set *s, off_t size, bool have_last, time_t last, time_t now)
{
        struct stat st = { .st_size = size };
        const char *why;
        return lr_is_due(s, &st, have_last, last, now, &why);
}

static void test_daily_is_due_on_another_day(void **state)
{
        struct lr_set *s = set_new(LR_FREQ_DAILY);
        assert_int_equal(due(s, 10, true, T0 - 3600, T0), LR_NOT_DUE);
        assert_int_equal(due(s, 10, true, T0 - 13 * 3600, T0), LR_DUE);   /* 23:00 yesterday */
        assert_int_equal(due(s, 10, true, T0 - 365 * DAY, T0), LR_DUE);   /* same yday, other year */
        free(s);
}

static void test_first_sight_is_not_due(void **state)
{
        struct lr_set *s = set_new(LR_FREQ_DAILY);
        assert_int_equal(due(s, 10, false, 0, T0), LR_NOT_DUE);
        free(s);
}

static void test_hourly_weekly_monthly_yearly(void **state)
{
        struct lr_set *s = set_new(LR_FREQ_HOURLY);
        assert_int_equal(due(s, 1, true, T0 + 60, T0 + 1800), LR_NOT_DUE);
        assert_int_equal(due(s, 1, true, T0 - 3600, T0), LR_DUE);
        s->frequency = LR_FREQ_WEEKLY;     /* as logrotate 3.21: seven calendar days */
        assert_int_equal(due(s, 1, true, T0 - 2 * DAY, T0), LR_NOT_DUE);        /* Sat -> Mon */
        assert_int_equal(due(s, 1, true, T0 - 6 * DAY - 11 * 3600, T0), LR_NOT_DUE);
        assert_int_equal(due(s, 1, true, T0 - 6 * DAY - 12 * 3600 - 60, T0), LR_DUE); /* 23:59, 7 dates back */
        assert_int_equal(due(s, 1, true, T0 - 7 * DAY, T0), LR_DUE);
        s->frequency = LR_FREQ_MONTHLY;
        assert_int_equal(due(s, 1, true, T0 - 20 * DAY, T0), LR_NOT_DUE);   /* Nov 3 -> Nov 23 */
        assert_int_equal(due(s, 1, true, T0 - 23 * DAY, T0), LR_DUE);       /* Oct 31 -> Nov 23 */
        s->frequency = LR_FREQ_YEARLY;
        assert_int_equal(due(s, 1, true, T0 - 300 * DAY, T0), LR_NOT_DUE);
        assert_int_equal(due(s, 1, true, T0 - 330 * DAY, T0), LR_DUE);
        free(s);
}

static void test_size_ignores_time(void **state)
{
        struct lr_set *s = set_new(LR_FREQ_DAILY);
        s->size = 1000;
        assert_int_equal(due(s, 999, true, T0 - 10 * DAY, T0), LR_NOT_DUE);
        assert_int_equal(due(s, 1000, true, T0, T0), LR_DUE);
        assert_int_equal(due(s, 1000, false, 0, T0), LR_DUE);
        free(s);
}

static void test_minsize_and_maxsize(void **state)
{
        struct lr_set *s = set_new(LR_FREQ_DAILY);
        s->minsize = 1000;
        assert_int_equal(due(s, 999, true, T0 - DAY, T0), LR_NOT_DUE);
        assert_int_equal(due(s, 1000, true, T0 - DAY, T0), LR_DUE);
        s->minsize = 0;
        s->maxsize = 1000;
        assert_int_equal(due(s, 1000, true, T0, T0), LR_NOT_DUE);
        assert_int_equal(due(s, 1001, true, T0, T0), LR_DUE);
        free(s);
}

static void test_notifempty(void **state)
{
        struct lr_set *s = set_new(LR_FREQ_DAILY);
        assert_int_equal(due(s, 0, true, T0 - DAY, T0), LR_DUE);
        s->notifempty = true;
        assert_int_equal(due(s, 0, true, T0 - DAY, T0), LR_NOT_DUE);
        free(s);
}

static void test_insecure_directory(void **state)
{
        struct t *t = *state;
        char *d = tpath(t->dir, "d"), *why = NULL;

        mkdir(d, 0755);
        assert_int_equal(lr_check_dir_secure(d, &why), 0);
        chmod(d, 0777);
        assert_int_equal(lr_check_dir_secure(d, &why), -EPERM);
        assert_non_null(strstr(why, "writable by others"));
        free(why);
        why = NULL;
        chmod(d, 0775);
        assert_int_equal(chown(d, 0, 0), 0);
        assert_int_equal(lr_check_dir_secure(d, &why), 0);      /* group root is fine */
        assert_int_equal(chown(d, 0, 4), 0);
        assert_int_equal(lr_check_dir_secure(d, &why), -EPERM);
        assert_non_null(strstr(why, "group other than root"));
        free(why);
        free(d);
}

/* ---- the recipe's run() on a sandbox ---- */

static int run_recipe(struct t *t, const char *attrs)
{
        fake_free(t->f);
        t->f = fake_new(t->dir, attrs);
        return logrotate_run(&t->f->ctx);
}

/* Moves the state of every log back by DAYS. */
static void age_state(struct t *t, int days)
{
        char *p = tpath(t->dir, "state/status.json");
        json_object *root = json_object_from_file(p), *logs, *v;
        assert_non_null(root);
        assert_true(json_object_object_get_ex(root, "logs", &logs));
        json_object_object_foreach(logs, k, e) {
                (void)k;
                json_object_object_get_ex(e, "last_rotated", &v);
                json_object_set_int64(v, json_object_get_int64(v) - (int64_t)days * DAY);
        }
        json_object_to_file(p, root);
        json_object_put(root);
        free(p);
}

static void mklog(struct t *t, const char *rel, const char *text)
{
        char *p = tpath(t->dir, "root/var/log/app");
        char *cmd = NULL;
        assert_true(asprintf(&cmd, "mkdir -p '%s'", p) > 0);
        assert_int_equal(system(cmd), 0);
        free(cmd);
        free(p);
        p = tpath(t->dir, "root/var/log/app");
        twrite(p, rel, text);
        free(p);
}

static char *rd(struct t *t, const char *rel)
{
        char *p = tpath(t->dir, "root/var/log/app"), *s = tread(p, rel);
        free(p);
        return s;
}

static bool ex(struct t *t, const char *rel)
{
        char *p = tpath(t->dir, "root/var/log/app");
        bool r = texists(p, rel);
        free(p);
        return r;
}

static void assert_file(struct t *t, const char *rel, const char *want)
{
        char *s = rd(t, rel);
        if (!s)
                fail_msg("%s missing", rel);
        assert_string_equal(s, want);
        free(s);
}

#define CREATE_SET(extra) \
        "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/*.log\"], \"method\": \"create\", " extra "}}}"

static void test_first_run_records_then_next_day_rotates(void **state)
{
        struct t *t = *state;
        const char *a = CREATE_SET("\"compress\": \"none\", \"rotate\": 2");

        mklog(t, "a.log", "day0\n");
        assert_int_equal(run_recipe(t, a), 0);
        assert_false(ex(t, "a.log.1"));
        age_state(t, 1);
        assert_int_equal(run_recipe(t, a), 0);
        assert_file(t, "a.log.1", "day0\n");
        assert_file(t, "a.log", "");
        assert_non_null(strstr(t->f->metrics, "LogsRotated=1"));
        assert_non_null(strstr(t->f->metrics, "BytesRotated=5"));
}

static void test_numbered_shift_keeps_rotate_count(void **state)
{
        struct t *t = *state;
        const char *a = CREATE_SET("\"compress\": \"none\", \"rotate\": 2");
        char line[32];

        mklog(t, "a.log", "day0\n");
        assert_int_equal(run_recipe(t, a), 0);
        for (int d = 1; d <= 3; d++) {
                age_state(t, 1);
                assert_int_equal(run_recipe(t, a), 0);
                snprintf(line, sizeof(line), "day%d\n", d);
                mklog(t, "a.log", line);
        }
        assert_file(t, "a.log.1", "day2\n");
        assert_file(t, "a.log.2", "day1\n");
        assert_false(ex(t, "a.log.3"));
}

static void test_compressed_names_and_delaycompress(void **state)
{
        struct t *t = *state;
        const char *a = CREATE_SET("\"compress\": \"gzip\", \"delaycompress\": true, \"rotate\": 3");

        mklog(t, "a.log", "one\n");
        assert_int_equal(run_recipe(t, a), 0);
        age_state(t, 1);
        assert_int_equal(run_recipe(t, a), 0);
        assert_true(ex(t, "a.log.1"));          /* delayed */
        mklog(t, "a.log", "two\n");
        age_state(t, 1);
        assert_int_equal(run_recipe(t, a), 0);
        assert_file(t, "a.log.1", "two\n");
        assert_true(ex(t, "a.log.2.gz"));
        assert_false(ex(t, "a.log.2"));
}

/* Waits, when the local day ends within MARGIN seconds, until it has: a test whose runs name
 * files by the date must not run on both sides of midnight. */
static void clear_of_midnight(time_t margin)
{
        time_t now = time(NULL);
        struct tm tm;
        long left;

        assert_non_null(localtime_r(&now, &tm));
        left = 86400L - (tm.tm_hour * 3600L + tm.tm_min * 60L + tm.tm_sec);
        if (left <= margin)
                sleep((unsigned)left + 1);
}

static void test_dateext_prunes_oldest(void **state)
{
        struct t *t = *state;
        const char *a = CREATE_SET("\"compress\": \"zstd\", \"dateext\": true, \"rotate\": 2");
        char name[64], sfx[32];

        clear_of_midnight(120);
        mklog(t, "a.log", "now\n");
        mklog(t, "a.log-20261101.zst", "x");
        mklog(t, "a.log-20261102.zst", "y");
        mklog(t, "a.log-20261103.zst", "z");
        assert_int_equal(run_recipe(t, a), 0);
        age_state(t, 1);
        assert_int_equal(run_recipe(t, a), 0);
        lr_dateext_suffix("-%Y%m%d", time(NULL), sfx, sizeof(sfx));
        snprintf(name, sizeof(name), "a.log%s.zst", sfx);
        assert_true(ex(t, name));
        assert_true(ex(t, "a.log-20261103.zst"));
        assert_false(ex(t, "a.log-20261102.zst"));
        assert_false(ex(t, "a.log-20261101.zst"));
        /* a second rotation the same day refuses to overwrite */
        age_state(t, 1);
        assert_int_equal(run_recipe(t, a), -EEXIST);
        assert_non_null(strstr(t->f->said, "exists already"));
}

static void test_olddir_and_maxage(void **state)
{
        struct t *t = *state;
        const char *a = CREATE_SET("\"compress\": \"none\", \"olddir\": \"old\", \"maxage\": 5, \"rotate\": 9");
        char *old = tpath(t->dir, "root/var/log/app/old/a.log.1");
        struct timespec ts[2] = { { .tv_sec = time(NULL) - 10 * DAY }, { .tv_sec = time(NULL) - 10 * DAY } };

        mklog(t, "a.log", "first\n");
        assert_int_equal(run_recipe(t, a), 0);
        age_state(t, 1);
        assert_int_equal(run_recipe(t, a), 0);
        assert_file(t, "old/a.log.1", "first\n");
        utimensat(AT_FDCWD, old, ts, 0);      /* the rotation becomes 10 days old */
        mklog(t, "a.log", "second\n");
        age_state(t, 1);
        assert_int_equal(run_recipe(t, a), 0);
        assert_file(t, "old/a.log.1", "second\n");
        assert_false(ex(t, "old/a.log.2"));   /* the 10-day-old one, shifted to .2, is gone */
        free(old);
}

static void test_create_mode(void **state)
{
        struct t *t = *state;
        const char *a = CREATE_SET("\"compress\": \"none\", \"create\": {\"mode\": \"0604\"}");
        char *p = tpath(t->dir, "root/var/log/app/a.log");
        struct stat st;

        mklog(t, "a.log", "x\n");
        assert_int_equal(run_recipe(t, a), 0);
        age_state(t, 1);
        assert_int_equal(run_recipe(t, a), 0);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0604);
        free(p);
}

static void test_unknown_owner_is_found_before_renaming(void **state)
{
        struct t *t = *state;
        const char *a = CREATE_SET("\"compress\": \"none\", \"size\": 1, \"create\": {\"owner\": \"no-such-user-x\"}}");

        mklog(t, "a.log", "x\n");
        assert_int_equal(run_recipe(t, a), -ESRCH);
        assert_non_null(strstr(t->f->said, "no such user"));
        assert_file(t, "a.log", "x\n");
        assert_false(ex(t, "a.log.1"));
}

static void test_copytruncate_moves_content_and_keeps_inode(void **state)
{
        struct t *t = *state;
        const char *a = "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/*.log\"], \"method\": \"copytruncate\","
                        " \"compress\": \"none\"}}}";
        char *p = tpath(t->dir, "root/var/log/app/a.log");
        struct stat before, after;

        mklog(t, "a.log", "kept\n");
        stat(p, &before);
        assert_int_equal(run_recipe(t, a), 0);
        age_state(t, 1);
        assert_int_equal(run_recipe(t, a), 0);
        assert_file(t, "a.log.1", "kept\n");
        assert_file(t, "a.log", "");
        stat(p, &after);
        assert_int_equal(before.st_ino, after.st_ino);
        assert_false(ex(t, "a.log.1" LR_TMP_SUFFIX));
        free(p);
}

/* Sets the log's mtime SECONDS back. */
static void log_written_ago(struct t *t, const char *rel, int seconds)
{
        char *p = tpath(t->dir, "root/var/log/app"), *q = tpath(p, rel);
        struct timespec ts[2];
        clock_gettime(CLOCK_REALTIME, &ts[0]);
        ts[0].tv_sec -= seconds;
        ts[1] = ts[0];
        assert_int_equal(utimensat(AT_FDCWD, q, ts, 0), 0);
        free(q);
        free(p);
}

static void test_copytruncate_keeps_a_last_line_without_newline(void **state)
{
        struct t *t = *state;
        const char *a = "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/a.log\"], \"method\": \"copytruncate\","
                        " \"compress\": \"none\", \"size\": 1}}}";

        mklog(t, "a.log", "whole\nno newline yet");
        log_written_ago(t, "a.log", 10);        /* nobody writes to it: nothing of it is lost */
        assert_int_equal(run_recipe(t, a), 0);
        assert_file(t, "a.log.1", "whole\nno newline yet");
        assert_file(t, "a.log", "");
        assert_null(strstr(t->f->logged, "left out"));
}

static void test_copytruncate_leaves_out_a_line_cut_half_written(void **state)
{
        struct t *t = *state;
        const char *a = "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/a.log\"], \"method\": \"copytruncate\","
                        " \"compress\": \"none\", \"size\": 1}}}";

        /* written to a moment ago and ending inside a line: a write(2) stalled half-way, whose
         * rest the truncation takes */
        mklog(t, "a.log", "whole\n{\"half\": ");
        assert_int_equal(run_recipe(t, a), 0);
        assert_file(t, "a.log.1", "whole\n");
        assert_file(t, "a.log", "");
        assert_non_null(strstr(t->f->logged, "its first 9 bytes were left out of a.log.1"));
}

static void test_symlinked_log_is_refused(void **state)
{
        struct t *t = *state;
        const char *a = CREATE_SET("\"compress\": \"none\"");
        char *target = tpath(t->dir, "secret"), *link = tpath(t->dir, "root/var/log/app/a.log");

        mklog(t, "b.log", "b\n");
        twrite(t->dir, "secret", "not a log\n");
        assert_int_equal(symlink(target, link), 0);
        assert_int_equal(run_recipe(t, a), -ELOOP);
        assert_non_null(strstr(t->f->said, "symbolic link"));
        age_state(t, 1);
        assert_int_equal(run_recipe(t, a), -ELOOP);
        assert_true(ex(t, "b.log.1"));      /* the other log still rotated */
        assert_false(ex(t, "a.log.1"));
        free(target);
        free(link);
        target = tread(t->dir, "secret");
        assert_string_equal(target, "not a log\n");
        free(target);
}

static void test_insecure_parent_is_refused(void **state)
{
        struct t *t = *state;
        const char *a = CREATE_SET("\"compress\": \"none\"");
        char *d = tpath(t->dir, "root/var/log/app");

        mklog(t, "a.log", "x\n");
        chmod(d, 0777);
        assert_int_equal(run_recipe(t, a), -EPERM);
        assert_non_null(strstr(t->f->said, "writable by others"));
        assert_false(ex(t, "a.log.1"));
        free(d);
}

static void test_missing_log_needs_missingok(void **state)
{
        struct t *t = *state;
        assert_int_equal(run_recipe(t, CREATE_SET("\"compress\": \"none\"")), -ENOENT);
        assert_non_null(strstr(t->f->said, "missingok"));
        assert_int_equal(run_recipe(t, CREATE_SET("\"compress\": \"none\", \"missingok\": true")), 0);
}

static void test_bad_set_fails_before_touching_anything(void **state)
{
        struct t *t = *state;
        mklog(t, "a.log", "x\n");
        assert_int_equal(run_recipe(t, CREATE_SET("\"frequency\": \"fortnightly\"")), OPSAGENT_RUN_CONFIG_ERROR);
        assert_non_null(strstr(t->f->said, "logrotate.sets.app.frequency"));
        assert_false(texists(t->dir, "state/status.json"));
}

/* One set with a wrong value is refused (a configuration error, naming the key); the other
 * sets are rotated all the same. */
static void test_one_bad_set_does_not_stop_the_others(void **state)
{
        struct t *t = *state;
        const char *a = "{\"sets\": {"
                        "\"bad1\": {\"paths\": [\"/var/log/app/b.log\"], \"method\": \"create\", \"size\": \"10MB\"},"
                        "\"good\": {\"paths\": [\"/var/log/app/a.log\"], \"method\": \"create\", \"size\": 1,"
                        " \"compress\": \"none\"},"
                        "\"bad2\": {\"paths\": [\"/var/log/app/b.log\"], \"reopen\": {\"command\": \"\"}}}}";

        mklog(t, "a.log", "x\n");
        mklog(t, "b.log", "y\n");
        assert_int_equal(run_recipe(t, a), OPSAGENT_RUN_CONFIG_ERROR);
        assert_non_null(strstr(t->f->said, "logrotate.sets.bad1.size: \"10MB\" is not a size"));
        assert_non_null(strstr(t->f->said, "logrotate.sets.bad2.reopen.command: empty"));
        assert_non_null(strstr(t->f->said, "set bad1 is refused"));
        assert_file(t, "a.log.1", "x\n");
        assert_file(t, "b.log", "y\n");
        assert_false(ex(t, "b.log.1"));
}

/* The state is saved once per set, not per log; a run killed between two logs of a set still
 * rotates none of them twice: each rotation is in status.log at once. */
static void test_kill9_between_logs_of_a_set_rotates_none_twice(void **state)
{
        struct t *t = *state;
        const char *a = CREATE_SET("\"compress\": \"none\", \"rotate\": 5");
        pid_t pid;
        int status;

        mklog(t, "a.log", "a\n");
        mklog(t, "b.log", "b\n");
        mklog(t, "c.log", "c\n");
        assert_int_equal(run_recipe(t, a), 0);
        age_state(t, 1);
        fake_free(t->f);
        t->f = fake_new(t->dir, a);
        t->f->kill_on_say = "rotated /var/log/app/b.log";
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                (void)logrotate_run(&t->f->ctx);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_true(ex(t, "a.log.1"));
        assert_true(ex(t, "b.log.1"));
        assert_false(ex(t, "c.log.1"));
        mklog(t, "a.log", "a2\n");
        assert_int_equal(run_recipe(t, a), 0);
        assert_file(t, "a.log.1", "a\n");      /* not rotated again the same day */
        assert_file(t, "a.log", "a2\n");
        assert_false(ex(t, "b.log.2"));
        assert_file(t, "c.log.1", "c\n");
}

static void test_corrupt_state_warns_and_rotation_goes_on(void **state)
{
        struct t *t = *state;
        mklog(t, "a.log", "x\n");
        run_recipe(t, "{}");
        twrite(t->dir, "state/status.json", "garbage{");
        assert_int_equal(run_recipe(t, CREATE_SET("\"compress\": \"none\", \"size\": 1")), 0);
        assert_non_null(strstr(t->f->said, "corrupt"));
        assert_true(ex(t, "a.log.1"));
}

static void test_dry_run_changes_nothing(void **state)
{
        struct t *t = *state;
        const char *a = CREATE_SET("\"compress\": \"none\", \"size\": 1");
        mklog(t, "a.log", "x\n");
        t->f = fake_new(t->dir, a);
        t->f->ctx.dry_run = true;
        assert_int_equal(logrotate_run(&t->f->ctx), 0);
        assert_non_null(strstr(t->f->said, "would rotate /var/log/app/a.log"));
        assert_false(ex(t, "a.log.1"));
        assert_false(texists(t->dir, "state/status.json"));
}

static void test_reopen_through_command_then_compress(void **state)
{
        struct t *t = *state;
        char *attrs = NULL, *log = tpath(t->dir, "root/var/log/app/a.log");

        assert_true(asprintf(&attrs, "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/*.log\"], \"size\": 1,"
                             " \"compress\": \"zstd\", \"reopen\": {\"command\": [\"touch\", \"%s\"],"
                             " \"settle_ms\": 50}}}}", log) > 0);
        mklog(t, "a.log", "x\n");
        assert_int_equal(run_recipe(t, attrs), 0);
        assert_true(ex(t, "a.log.1.zst"));
        assert_false(ex(t, "a.log.1"));
        assert_file(t, "a.log", "");
        free(attrs);
        free(log);
}

static void test_reopen_timeout_leaves_file_uncompressed(void **state)
{
        struct t *t = *state;
        const char *a = "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/*.log\"], \"size\": 1,"
                        " \"reopen\": {\"command\": \"true\", \"timeout\": 1, \"settle_ms\": 10}}}}";
        char *p;
        int fd;

        mklog(t, "a.log", "x\n");
        p = tpath(t->dir, "root/var/log/app/a.log");
        fd = open(p, O_WRONLY | O_APPEND);      /* a writer that never reopens */
        assert_true(fd >= 0);
        assert_int_equal(run_recipe(t, a), -ETIMEDOUT);
        assert_non_null(strstr(t->f->said, "did not reopen"));
        assert_file(t, "a.log.1", "x\n");
        assert_false(ex(t, "a.log.1.zst"));
        close(fd);
        free(p);
}

static void test_no_running_writer_compresses_at_once(void **state)
{
        struct t *t = *state;
        const char *a = "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/*.log\"], \"size\": 1,"
                        " \"reopen\": {\"pidfile\": \"/run/none-*.pid\", \"timeout\": 5}}}}";

        mklog(t, "a.log", "x\n");
        assert_int_equal(run_recipe(t, a), 0);
        assert_non_null(strstr(t->f->said, "nothing to reopen"));
        assert_true(ex(t, "a.log.1.zst"));
}

static void test_open_for_writing_ignores_readers(void **state)
{
        struct t *t = *state;
        char *p = tpath(t->dir, "f");
        int rd, wr;

        twrite(t->dir, "f", "x");
        assert_int_equal(lr_open_for_writing(p), 0);
        rd = open(p, O_RDONLY);
        assert_int_equal(lr_open_for_writing(p), 0);
        wr = open(p, O_WRONLY | O_APPEND);
        assert_int_equal(lr_open_for_writing(p), 1);
        close(wr);
        assert_int_equal(lr_open_for_writing(p), 0);
        close(rd);
        free(p);
}

static void test_reopen_through_systemd_unit(void **state)
{
        struct t *t = *state;
        const char *a = "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/*.log\"], \"size\": 1,"
                        " \"reopen\": {\"unit\": \"zope.service\", \"signal\": \"SIGUSR2\", \"settle_ms\": 10}}}}";
        mklog(t, "a.log", "x\n");
        t->f = fake_new(t->dir, a);
        t->f->on_kill_touch = tpath(t->dir, "root/var/log/app/a.log");
        assert_int_equal(logrotate_run(&t->f->ctx), 0);
        assert_string_equal(t->f->killed_unit, "zope.service");
        assert_int_equal(t->f->killed_signo, SIGUSR2);
        assert_true(ex(t, "a.log.1.zst"));
}

static void test_reopen_through_pidfile_glob(void **state)
{
        struct t *t = *state;
        const char *a = "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/*.log\"], \"size\": 1, \"compress\": \"none\","
                        " \"reopen\": {\"pidfile\": \"/run/*.pid\", \"signal\": \"SIGUSR2\", \"timeout\": 1}}}}";
        char pid[32];
        pid_t child = fork();
        int status;

        if (child == 0) {
                pause();
                _exit(0);
        }
        mklog(t, "a.log", "x\n");
        snprintf(pid, sizeof(pid), "%d\n", (int)child);
        {
                char *run = tpath(t->dir, "root/run");
                mkdir(run, 0755);
                twrite(run, "zeo.pid", pid);
                free(run);
        }
        run_recipe(t, a);
        waitpid(child, &status, 0);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGUSR2);
}

/* ---- recovery of a killed run ---- */

static void journal_write(struct t *t, const char *json)
{
        json_object *o = json_tokener_parse(json);
        char *sd = tpath(t->dir, "state");
        mkdir(sd, 0700);
        assert_int_equal(lr_journal_write(sd, o), 0);
        json_object_put(o);
        free(sd);
}

static void test_recover_finishes_renamed_compression(void **state)
{
        struct t *t = *state;
        char *src = tpath(t->dir, "root/var/log/app/a.log.1"), *dst = NULL, *j = NULL;

        mklog(t, "a.log.1", "data\n");
        assert_true(asprintf(&dst, "%s.gz", src) > 0);
        assert_int_equal(lr_compress_file(src, dst, LR_COMP_GZIP, -1, NULL, NULL), 0);
        assert_true(asprintf(&j, "{\"step\": \"compress\", \"src\": \"%s\", \"dst\": \"%s\"}", src, dst) > 0);
        journal_write(t, j);
        assert_int_equal(run_recipe(t, "{}"), 0);
        assert_false(ex(t, "a.log.1"));
        assert_true(ex(t, "a.log.1.gz"));
        assert_false(texists(t->dir, "state/journal.json"));
        free(j); free(dst); free(src);
}

static void test_recover_undoes_half_written_compression(void **state)
{
        struct t *t = *state;
        char *src = tpath(t->dir, "root/var/log/app/a.log.1"), *j = NULL;

        mklog(t, "a.log.1", "data\n");
        mklog(t, "a.log.1.gz" LR_TMP_SUFFIX, "half");
        assert_true(asprintf(&j, "{\"step\": \"compress\", \"src\": \"%s\", \"dst\": \"%s.gz\"}", src, src) > 0);
        journal_write(t, j);
        assert_int_equal(run_recipe(t, "{}"), 0);
        assert_file(t, "a.log.1", "data\n");
        assert_false(ex(t, "a.log.1.gz" LR_TMP_SUFFIX));
        assert_false(ex(t, "a.log.1.gz"));
        free(j); free(src);
}

/* Killed between the journal's "truncating" and the truncation: the log's inode is as the
 * journal saw it just before (same st_ctime and size), so it was not truncated. (Content alone
 * proves nothing: see test_logrotate_recover.c.) */
static void test_recover_copytruncate_before_truncation(void **state)
{
        struct t *t = *state;
        char *log = tpath(t->dir, "root/var/log/app/a.log"), *j = NULL;
        struct stat st;

        mklog(t, "a.log", "line1\nline2\n");
        mklog(t, "a.log.1" LR_TMP_SUFFIX, "line1\nline2\n");
        assert_int_equal(stat(log, &st), 0);
        assert_true(asprintf(&j, "{\"step\": \"copytruncate\", \"log\": \"%s\", \"dst\": \"%s.1\", \"tmp\": "
                             "\"%s.1" LR_TMP_SUFFIX "\", \"phase\": \"truncating\", \"copied\": \"12\", "
                             "\"dev\": \"%ju\", \"ino\": \"%ju\", \"size\": \"12\", \"ctime\": \"%jd.%09ld\"}",
                             log, log, log, (uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
                             (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec) > 0);
        journal_write(t, j);
        assert_int_equal(run_recipe(t, "{}"), 0);
        assert_file(t, "a.log", "line1\nline2\n");   /* whole, and not duplicated */
        assert_false(ex(t, "a.log.1"));
        assert_false(ex(t, "a.log.1" LR_TMP_SUFFIX));
        free(j); free(log);
}

static void test_recover_copytruncate_after_truncation(void **state)
{
        struct t *t = *state;
        char *log = tpath(t->dir, "root/var/log/app/a.log"), *j = NULL;

        mklog(t, "a.log", "after\n");
        mklog(t, "a.log.1" LR_TMP_SUFFIX, "line1\nline2\n");
        assert_true(asprintf(&j, "{\"step\": \"copytruncate\", \"log\": \"%s\", \"dst\": \"%s.1\", \"tmp\": "
                             "\"%s.1" LR_TMP_SUFFIX "\", \"phase\": \"truncate\", \"copied\": \"12\"}", log, log, log) > 0);
        journal_write(t, j);
        assert_int_equal(run_recipe(t, "{}"), 0);
        assert_file(t, "a.log.1", "line1\nline2\n");
        assert_file(t, "a.log", "after\n");
        assert_false(ex(t, "a.log.1" LR_TMP_SUFFIX));
        free(j); free(log);
}

static void test_recover_create_after_rename(void **state)
{
        struct t *t = *state;
        char *log = tpath(t->dir, "root/var/log/app/a.log"), *j = NULL;
        const char *a = CREATE_SET("\"compress\": \"none\", \"create\": {\"mode\": \"0600\"}");
        struct stat st;

        mklog(t, "a.log.1", "rotated\n");
        assert_true(asprintf(&j, "{\"step\": \"rename\", \"log\": \"%s\", \"logical\": \"/var/log/app/a.log\", "
                             "\"dst\": \"%s.1\", \"set\": \"app\", \"method\": \"create\"}", log, log) > 0);
        journal_write(t, j);
        assert_int_equal(run_recipe(t, a), 0);
        assert_int_equal(stat(log, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_file(t, "a.log.1", "rotated\n");     /* and not rotated again at once */
        free(j); free(log);
}

static void test_shipped_defaults_parse(void **state)
{
        json_object *d = json_tokener_parse(logrotate_defaults_json), *sets, *schema;
        int n = 0;

        assert_non_null(d);
        assert_true(json_object_object_get_ex(d, "sets", &sets));
        json_object_object_foreach(sets, name, obj) {
                struct lr_set *s = NULL;
                char *err = NULL;
                assert_int_equal(lr_set_parse(name, obj, &s, &err), 0);
                if (strcmp(name, "plone") == 0) {
                        assert_int_equal(s->method, LR_METHOD_REOPEN);
                        assert_int_equal(s->reopen_signal, SIGUSR2);
                } else {
                        assert_string_equal(name, "supervisor");
                        assert_int_equal(s->method, LR_METHOD_COPYTRUNCATE);
                }
                lr_set_free(s);
                n++;
        }
        assert_int_equal(n, 2);
        json_object_put(d);
        schema = json_tokener_parse(logrotate_schema_json);
        assert_non_null(schema);
        json_object_put(schema);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_daily_is_due_on_another_day),
                T(test_first_sight_is_not_due),
                T(test_hourly_weekly_monthly_yearly),
                T(test_size_ignores_time),
                T(test_minsize_and_maxsize),
                T(test_notifempty),
                T(test_insecure_directory),
                T(test_first_run_records_then_next_day_rotates),
                T(test_numbered_shift_keeps_rotate_count),
                T(test_compressed_names_and_delaycompress),
                T(test_dateext_prunes_oldest),
                T(test_olddir_and_maxage),
                T(test_create_mode),
                T(test_unknown_owner_is_found_before_renaming),
                T(test_copytruncate_moves_content_and_keeps_inode),
                T(test_copytruncate_keeps_a_last_line_without_newline),
                T(test_copytruncate_leaves_out_a_line_cut_half_written),
                T(test_symlinked_log_is_refused),
                T(test_insecure_parent_is_refused),
                T(test_missing_log_needs_missingok),
                T(test_bad_set_fails_before_touching_anything),
                T(test_one_bad_set_does_not_stop_the_others),
                T(test_kill9_between_logs_of_a_set_rotates_none_twice),
                T(test_corrupt_state_warns_and_rotation_goes_on),
                T(test_dry_run_changes_nothing),
                T(test_reopen_through_command_then_compress),
                T(test_reopen_timeout_leaves_file_uncompressed),
                T(test_no_running_writer_compresses_at_once),
                T(test_open_for_writing_ignores_readers),
                T(test_reopen_through_systemd_unit),
                T(test_reopen_through_pidfile_glob),
                T(test_recover_finishes_renamed_compression),
                T(test_recover_undoes_half_written_compression),
                T(test_recover_copytruncate_before_truncation),
                T(test_recover_copytruncate_after_truncation),
                T(test_recover_create_after_rename),
                T(test_shipped_defaults_parse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
