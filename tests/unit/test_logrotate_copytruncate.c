/* logrotate recipe: copytruncate next to a writer that writes all the time. Built twice: as is,
 * and with LR_FINAL_TRIES=1 (test_logrotate_copytruncate_onepass), where the last pass cannot wait
 * for a write to finish and the copy must leave out the line the truncation cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "logrotate_recipe.h"
#include "lr_copytruncate.h"
#include "lr_rotate.h"
#include "lr_testutil.h"

struct t {
        char *dir;
        struct fake *f;
        pid_t writer;           /* the writer to kill, or 0 */
};

static int setup(void **state)
{
        struct t *t = calloc(1, sizeof(*t));
        assert_non_null(t);
        /* on tmpfs, so that the copy's fsync costs nothing */
        t->dir = tdir_new_in("/dev/shm");
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        struct t *t = *state;
        if (t->writer > 0) {            /* a test that failed did not stop its writer */
                kill(t->writer, SIGKILL);
                waitpid(t->writer, NULL, 0);
        }
        fake_free(t->f);
        tdir_free(t->dir);
        free(t);
        return 0;
}

static int run_recipe(struct t *t, const char *attrs)
{
        fake_free(t->f);
        t->f = fake_new(t->dir, attrs);
        return logrotate_run(&t->f->ctx);
}

#define BUSY_LINE 10                    /* "%09d\n": 4096 is no multiple, so pages end mid-line */
#define BUSY_LINES 104857               /* per write(2): about 1 MiB of whole lines, numbered 0.. */
#define BUSY_ROTATIONS 200
#define BUSY_MAX_LOG (32L * 1024 * 1024)
#define BUSY_PAUSE_US 500               /* slower than the copy, so the log stays small */

/* Appends the same 1 MiB of numbered lines, one write(2) after the other with a short pause,
 * until killed: a write is going on a good part of the time. */
static pid_t busy_writer(const char *log)
{
        static char buf[BUSY_LINE * BUSY_LINES + 1];
        pid_t pid;

        for (unsigned i = 0; i < BUSY_LINES; i++)
                snprintf(buf + i * BUSY_LINE, BUSY_LINE + 1, "%09u\n", i);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                struct stat st;
                if (fd < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                        _exit(1);
                /* not preempted in the middle of a write (where we may): the test is about writes
                 * going on at the truncation, not about a writer stalled for a long time */
                if (sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){ .sched_priority = 1 }) < 0)
                        (void)setpriority(PRIO_PROCESS, 0, -10);
                for (;;) {
                        if (fstat(fd, &st) < 0)
                                _exit(2);
                        if (st.st_size > BUSY_MAX_LOG) {        /* the copy fell behind (a loaded machine) */
                                usleep(1000);
                                continue;
                        }
                        if (write(fd, buf, BUSY_LINE * BUSY_LINES) != BUSY_LINE * BUSY_LINES)
                                _exit(3);
                        usleep(BUSY_PAUSE_US);
                }
        }
        return pid;
}

/* A rotated copy holds whole lines: a whole number of them, the first and the last whole.
 * (Checking each line would give the writer time to fill the log up to BUSY_MAX_LOG.) */
static void assert_whole_lines(const char *path)
{
        char first[BUSY_LINE + 1] = "", last[BUSY_LINE + 1] = "";
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;

        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        assert_true(st.st_size >= BUSY_LINE);
        assert_int_equal(pread(fd, first, BUSY_LINE, 0), BUSY_LINE);
        assert_int_equal(pread(fd, last, BUSY_LINE, st.st_size - BUSY_LINE), BUSY_LINE);
        close(fd);
        if (st.st_size % BUSY_LINE != 0 || strspn(first, "0123456789") != BUSY_LINE - 1 || first[BUSY_LINE - 1] != '\n' ||
            strspn(last, "0123456789") != BUSY_LINE - 1 || last[BUSY_LINE - 1] != '\n')
                fail_msg("%s: %jd bytes, not whole lines: it starts \"%.9s\" and ends \"%.10s\"", path,
                         (intmax_t)st.st_size, first, last);
}

/* The last pass, at real-time priority (where a writer on our CPU cannot write), copies at most
 * LR_FINAL_RT_MAX bytes, unless the writer outran the copy for LR_FINAL_BUDGET_MS. */
static void assert_rt_pass_bounded(const char *logged, int *overruns)
{
        const char *p = strstr(logged, "the last pass copied ");
        unsigned long long bytes;

        assert_non_null(p);
        assert_int_equal(sscanf(p, "the last pass copied %llu bytes", &bytes), 1);
        if (strstr(p, "overrun"))
                (*overruns)++;
        else if (bytes > LR_FINAL_RT_MAX)
                fail_msg("the last pass copied %llu bytes at real-time priority, over %d", bytes, LR_FINAL_RT_MAX);
}

static void test_copytruncate_under_a_busy_writer_keeps_whole_lines(void **state)
{
        struct t *t = *state;
        const char *a = "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/a.log\"], \"method\": \"copytruncate\","
                        " \"compress\": \"none\", \"size\": 1, \"rotate\": 1}}}";
        char *log, *rotated;
        int dropped = 0, overruns = 0, status = 0;

        for (const char *const *d = (const char *const[]){ "root", "root/var", "root/var/log", "root/var/log/app",
                                                            NULL }; *d; d++) {
                char *p = tpath(t->dir, *d);
                assert_int_equal(mkdir(p, 0755), 0);
                free(p);
        }
        log = tpath(t->dir, "root/var/log/app/a.log");
        rotated = tpath(t->dir, "root/var/log/app/a.log.1");
        close(open(log, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        t->writer = busy_writer(log);
        for (int i = 0; i < BUSY_ROTATIONS; i++) {
                time_t deadline = time(NULL) + 60;      /* the writer's next MiB, on a loaded machine */
                struct stat st;

                for (;;) {
                        assert_int_equal(stat(log, &st), 0);
                        if (st.st_size >= 1024 * 1024)
                                break;
                        if (waitpid(t->writer, &status, WNOHANG) != 0 || time(NULL) > deadline)
                                fail_msg("the writer wrote no MiB within 60 s (wait status %#x)", status);
                }
                assert_int_equal(run_recipe(t, a), 0);
                assert_null(strstr(t->f->said, "error"));
                if (waitpid(t->writer, &status, WNOHANG) != 0)
                        fail_msg("the writer stopped (wait status %#x): the test cannot go on", status);
                assert_whole_lines(rotated);
                dropped += strstr(t->f->logged, "left out") != NULL;
                assert_rt_pass_bounded(t->f->logged, &overruns);
        }
        kill(t->writer, SIGKILL);
        assert_int_equal(waitpid(t->writer, &status, 0), t->writer);
        t->writer = 0;
        print_message("# %d of %d copytruncates read a line the writer was still writing and left it out\n",
                      dropped, BUSY_ROTATIONS);
        print_message("# %d of %d copytruncates had to copy a tail over %d bytes at real-time priority (a writer "
                      "faster than the copy)\n", overruns, BUSY_ROTATIONS, LR_FINAL_RT_MAX);
        free(log);
        free(rotated);
}


int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_copytruncate_under_a_busy_writer_keeps_whole_lines, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
