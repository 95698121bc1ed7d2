/* lock: one run of a recipe at a time, and who holds it. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "testdir.h"
#include "run/lock.h"
#include "util/fileio.h"

struct fixture {
        char dir[64];
        char run_dir[128];
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        if (!testdir_new(f->dir, sizeof(f->dir), "lock"))
                return -1;
        snprintf(f->run_dir, sizeof(f->run_dir), "%s/run/opsagent", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        if (testdir_remove(f->dir) != 0)
                return -1;
        free(f);
        return 0;
}

/* Forks a process that takes the lock, reports on a pipe, and waits to be killed. With
 * GARBAGE, it takes the flock itself and writes junk instead of a pid. */
static pid_t fork_holder(const struct fixture *f, const char *name, bool garbage)
{
        int p[2];
        char c = 0;
        pid_t pid;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct run_lock *l = NULL;

                close(p[0]);
                if (garbage) {
                        char path[256];
                        int fd;

                        snprintf(path, sizeof(path), "%s/%s.lock", f->run_dir, name);
                        if (mkdir_p(f->run_dir, 0755) < 0)
                                _exit(1);
                        fd = open(path, O_RDWR | O_CREAT, 0644);
                        if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(fd, "not-a-pid", 9) != 9)
                                _exit(1);
                } else if (run_lock_acquire(f->run_dir, name, &l, NULL) < 0)
                        _exit(1);
                if (write(p[1], "x", 1) != 1)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(p[1]);
        assert_int_equal(read(p[0], &c, 1), 1);
        close(p[0]);
        return pid;
}

static void kill_holder(pid_t pid)
{
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* The run dir is created, the lock file holds our pid. */
static void test_acquire_creates_dir_and_writes_pid(void **state)
{
        struct fixture *f = *state;
        struct run_lock *l = NULL;
        char path[256], *text = NULL, want[32];
        struct stat st;

        assert_int_equal(run_lock_acquire(f->run_dir, "ebs_snapshots", &l, NULL), 0);
        assert_non_null(l);
        assert_int_equal(stat(f->run_dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        snprintf(path, sizeof(path), "%s/ebs_snapshots.lock", f->run_dir);
        assert_int_equal(read_file_capped(path, 64, &text, NULL), 0);
        snprintf(want, sizeof(want), "%ld\n", (long)getpid());
        assert_string_equal(text, want);
        free(text);
        run_lock_release(l);
}

/* Another process holding the lock makes us fail with -EBUSY naming its pid; once it is
 * gone, the lock is ours. */
static void test_held_by_other_process(void **state)
{
        struct fixture *f = *state;
        struct run_lock *l = NULL;
        pid_t holder, seen = -1;

        holder = fork_holder(f, "nginx", false);
        assert_int_equal(run_lock_acquire(f->run_dir, "nginx", &l, &seen), -EBUSY);
        assert_null(l);
        assert_int_equal(seen, holder);
        kill_holder(holder);
        assert_int_equal(run_lock_acquire(f->run_dir, "nginx", &l, &seen), 0);
        assert_non_null(l);
        run_lock_release(l);
}

/* A holder whose pid cannot be read is reported as 0. */
static void test_unreadable_holder_is_zero(void **state)
{
        struct fixture *f = *state;
        struct run_lock *l = NULL;
        pid_t holder, seen = -1;

        holder = fork_holder(f, "odd", true);
        assert_int_equal(run_lock_acquire(f->run_dir, "odd", &l, &seen), -EBUSY);
        assert_int_equal(seen, 0);
        assert_int_equal(run_lock_acquire(f->run_dir, "odd", &l, NULL), -EBUSY);
        kill_holder(holder);
}

/* Two acquisitions in one process conflict too; release frees it for the next. */
static void test_release_then_reacquire(void **state)
{
        struct fixture *f = *state;
        struct run_lock *a = NULL, *b = NULL;
        pid_t seen = 0;

        assert_int_equal(run_lock_acquire(f->run_dir, "r", &a, NULL), 0);
        assert_int_equal(run_lock_acquire(f->run_dir, "r", &b, &seen), -EBUSY);
        assert_int_equal(seen, getpid());
        run_lock_release(a);
        assert_int_equal(run_lock_acquire(f->run_dir, "r", &b, NULL), 0);
        run_lock_release(b);
        run_lock_release(NULL);
}

static void test_names_are_independent(void **state)
{
        struct fixture *f = *state;
        struct run_lock *a = NULL, *b = NULL;

        assert_int_equal(run_lock_acquire(f->run_dir, "one", &a, NULL), 0);
        assert_int_equal(run_lock_acquire(f->run_dir, "two", &b, NULL), 0);
        run_lock_release(a);
        run_lock_release(b);
}

/* A command started by the holder does not keep the lock once the holder is gone. */
static void test_lock_not_inherited_by_commands(void **state)
{
        struct fixture *f = *state;
        struct run_lock *l = NULL;
        int p[2], st = 0, r;
        pid_t holder, cmd = 0;

        assert_int_equal(pipe(p), 0);
        holder = fork();
        assert_true(holder >= 0);
        if (holder == 0) {
                int execd[2];
                char x;
                pid_t c;

                close(p[0]);
                if (run_lock_acquire(f->run_dir, "inh", &l, NULL) < 0 || pipe2(execd, O_CLOEXEC) < 0)
                        _exit(1);
                c = fork();
                if (c == 0) {
                        execlp("sleep", "sleep", "60", (char *)NULL);
                        _exit(127);
                }
                close(execd[1]);
                /* EOF once the command has exec'd (the pipe is close-on-exec). */
                if (c < 0 || read(execd[0], &x, 1) != 0 || write(p[1], &c, sizeof(c)) != sizeof(c))
                        _exit(1);
                _exit(0);       /* dies holding the lock, without releasing it */
        }
        close(p[1]);
        assert_int_equal(read(p[0], &cmd, sizeof(cmd)), sizeof(cmd));
        close(p[0]);
        assert_int_equal(waitpid(holder, &st, 0), holder);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        r = run_lock_acquire(f->run_dir, "inh", &l, NULL);
        assert_int_equal(kill(cmd, SIGKILL), 0);
        assert_int_equal(r, 0);
        run_lock_release(l);
}

static void test_bad_name_is_einval(void **state)
{
        struct fixture *f = *state;
        struct run_lock *l = NULL;

        assert_int_equal(run_lock_acquire(f->run_dir, "", &l, NULL), -EINVAL);
        assert_int_equal(run_lock_acquire(f->run_dir, "../evil", &l, NULL), -EINVAL);
        assert_null(l);
}

/* A run dir that cannot be created is an error, not a crash. */
static void test_run_dir_not_a_directory(void **state)
{
        struct fixture *f = *state;
        struct run_lock *l = NULL;
        char file[128], under[160];
        int fd;

        snprintf(file, sizeof(file), "%s/plain", f->dir);
        fd = open(file, O_CREAT | O_WRONLY, 0644);
        assert_true(fd >= 0);
        close(fd);
        snprintf(under, sizeof(under), "%s/sub", file);
        assert_int_equal(run_lock_acquire(under, "x", &l, NULL), -ENOTDIR);
        assert_null(l);
}

/* status asks without taking the lock: held by another process (its pid, since when), free
 * once it is gone, even if a killed holder left its pid in the file. */
static void test_probe_sees_the_holder_without_taking_it(void **state)
{
        struct fixture *f = *state;
        struct run_lock *l = NULL;
        int64_t since = 0;
        pid_t holder = 0, pid;

        assert_int_equal(run_lock_probe(f->run_dir, "zodb_pack", RUN_LOCK_KERNEL_LIST, &holder, &since), 0);
        pid = fork_holder(f, "zodb_pack", false);
        assert_int_equal(run_lock_probe(f->run_dir, "zodb_pack", RUN_LOCK_KERNEL_LIST, &holder, &since), 1);
        assert_int_equal(holder, pid);
        assert_true(since > 0);
        /* the probe took nothing: the holder's lock is still the only one */
        assert_int_equal(run_lock_acquire(f->run_dir, "zodb_pack", &l, NULL), -EBUSY);
        kill_holder(pid);
        assert_int_equal(run_lock_probe(f->run_dir, "zodb_pack", RUN_LOCK_KERNEL_LIST, &holder, NULL), 0);
        assert_int_equal(run_lock_probe(f->run_dir, "nosuch", RUN_LOCK_KERNEL_LIST, NULL, NULL), 0);
        assert_int_equal(run_lock_probe(f->run_dir, "a/b", RUN_LOCK_KERNEL_LIST, NULL, NULL), -EINVAL);
}

/* The kernel's list, as a file: a waiter's line ("->") and another inode do not count. */
static void test_probe_reads_the_kernel_list(void **state)
{
        struct fixture *f = *state;
        struct run_lock *l = NULL;
        char locks[256];
        struct stat st;
        FILE *out;

        assert_int_equal(run_lock_acquire(f->run_dir, "logrotate", &l, NULL), 0);
        run_lock_release(l);
        {
                char path[256];

                snprintf(path, sizeof(path), "%s/logrotate.lock", f->run_dir);
                assert_int_equal(stat(path, &st), 0);
        }
        snprintf(locks, sizeof(locks), "%s/locks", f->dir);
        out = fopen(locks, "w");
        assert_non_null(out);
        fprintf(out, "1: POSIX  ADVISORY  WRITE 77 %02x:%02x:%llu 0 EOF\n", major(st.st_dev), minor(st.st_dev),
                (unsigned long long)st.st_ino);
        fprintf(out, "2: -> FLOCK  ADVISORY  WRITE 78 %02x:%02x:%llu 0 EOF\n", major(st.st_dev), minor(st.st_dev),
                (unsigned long long)st.st_ino);
        fprintf(out, "3: FLOCK  ADVISORY  WRITE 79 %02x:%02x:%llu 0 EOF\n", major(st.st_dev), minor(st.st_dev),
                (unsigned long long)st.st_ino + 1);
        fclose(out);
        assert_int_equal(run_lock_probe(f->run_dir, "logrotate", locks, NULL, NULL), 0);
        out = fopen(locks, "a");
        assert_non_null(out);
        fprintf(out, "4: FLOCK  ADVISORY  WRITE 80 %02x:%02x:%llu 0 EOF\n", major(st.st_dev), minor(st.st_dev),
                (unsigned long long)st.st_ino);
        fclose(out);
        assert_int_equal(run_lock_probe(f->run_dir, "logrotate", locks, NULL, NULL), 1);
        snprintf(locks, sizeof(locks), "%s/no-such-list", f->dir);
        assert_int_equal(run_lock_probe(f->run_dir, "logrotate", locks, NULL, NULL), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_acquire_creates_dir_and_writes_pid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_held_by_other_process, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_holder_is_zero, setup, teardown),
                cmocka_unit_test_setup_teardown(test_release_then_reacquire, setup, teardown),
                cmocka_unit_test_setup_teardown(test_names_are_independent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lock_not_inherited_by_commands, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_name_is_einval, setup, teardown),
                cmocka_unit_test_setup_teardown(test_run_dir_not_a_directory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_probe_sees_the_holder_without_taking_it, setup, teardown),
                cmocka_unit_test_setup_teardown(test_probe_reads_the_kernel_list, setup, teardown),
        };
        umask(022);
        return cmocka_run_group_tests_name("lock", tests, NULL, NULL);
}
