/* ebs_snapshots freeze: the watchdog on a real loop-mounted ext4 image. Needs root and loop
 * devices; otherwise every test that needs the image says SKIP and why. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ebs_freeze.h"

#define WRITE_WAIT_MS 60000 /* generous (a loaded machine): a thawed filesystem takes a few ms */

struct fixture {
        char dir[256];
        char img[PATH_MAX];
        char mnt[PATH_MAX];
        bool mounted;
        char skip[256];
};

static struct fixture fx;

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
        char cmd[3 * PATH_MAX];
        va_list ap;
        int r;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof cmd, fmt, ap);
        va_end(ap);
        r = system(cmd);
        return r == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
        snprintf(fx.dir, sizeof fx.dir, "/tmp/test_ebs_freeze.XXXXXX");
        if (!mkdtemp(fx.dir)) {
                snprintf(fx.skip, sizeof fx.skip, "cannot create a temporary directory");
                return 0;
        }
        snprintf(fx.img, sizeof fx.img, "%s/fs.img", fx.dir);
        snprintf(fx.mnt, sizeof fx.mnt, "%s/mnt", fx.dir);
        mkdir(fx.mnt, 0755);
        if (geteuid() != 0)
                snprintf(fx.skip, sizeof fx.skip, "not root: cannot loop-mount an ext4 image or FIFREEZE");
        else if (run("truncate -s 32M '%s' && mkfs.ext4 -q -F '%s' >/dev/null 2>&1", fx.img, fx.img) < 0)
                snprintf(fx.skip, sizeof fx.skip, "mkfs.ext4 failed (is e2fsprogs installed?)");
        else if (run("mount -o loop '%s' '%s' 2>/dev/null", fx.img, fx.mnt) < 0)
                snprintf(fx.skip, sizeof fx.skip, "mount -o loop failed (no loop devices in this container?)");
        else
                fx.mounted = true;
        if (fx.skip[0])
                printf("# SKIP freeze tests on a real filesystem: %s\n", fx.skip);
        return 0;
}

static int group_teardown(void **state)
{
        if (fx.mounted) {
                int fd = open(fx.mnt, O_RDONLY | O_DIRECTORY);
                if (fd >= 0) {
                        (void)ioctl(fd, FITHAW, 0); /* whatever a failed test left */
                        close(fd);
                }
                (void)run("umount '%s'", fx.mnt);
        }
        (void)run("rm -rf '%s'", fx.dir);
        return 0;
}

#define NEED_MOUNT()                                                      \
        do {                                                              \
                if (!fx.mounted) {                                        \
                        printf("# SKIP %s: %s\n", __func__, fx.skip);     \
                        skip();                                           \
                }                                                         \
        } while (0)

/* Frozen if a second FIFREEZE says EBUSY; if it froze, it thaws again at once. */
static bool is_frozen(const char *path)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY);
        bool frozen;

        assert_true(fd >= 0);
        if (ioctl(fd, FIFREEZE, 0) == 0) {
                ioctl(fd, FITHAW, 0);
                frozen = false;
        } else {
                frozen = errno == EBUSY;
        }
        close(fd);
        return frozen;
}

static pid_t start_writer(const char *dir)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                char path[PATH_MAX + 16];
                int fd;
                snprintf(path, sizeof path, "%s/written", dir);
                fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd < 0 || write(fd, "x", 1) != 1 || fsync(fd) < 0)
                        _exit(1);
                _exit(0);
        }
        return pid;
}

/* True when the writer finished (successfully) within WRITE_WAIT_MS. */
static bool writer_done(pid_t pid)
{
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        int status;

        for (int waited = 0; waited < WRITE_WAIT_MS; waited += 20) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
                nanosleep(&ts, NULL);
        }
        return false;
}

/* Whatever happened, leave the filesystem thawed and the writer reaped. */
static void rescue(pid_t writer)
{
        int fd = open(fx.mnt, O_RDONLY | O_DIRECTORY), status;

        if (fd >= 0) {
                (void)ioctl(fd, FITHAW, 0);
                close(fd);
        }
        if (writer > 0)
                (void)waitpid(writer, &status, 0);
}

static bool writes_go_through(void)
{
        pid_t w = start_writer(fx.mnt);
        bool ok = writer_done(w);

        if (!ok)
                rescue(w);
        return ok;
}

/* The marker exists exactly while something may be frozen. */
static void test_freeze_then_thaw_on_request(void **state)
{
        const char *paths[] = { fx.mnt };
        struct freezer *f = NULL;
        char err[256] = "", marker[PATH_MAX + 32];

        NEED_MOUNT();
        snprintf(marker, sizeof marker, "%s/%s", fx.dir, FREEZE_MARKER_NAME);
        assert_int_equal(freeze_start(paths, NULL, 1, 60, marker, &f, err, sizeof err), 0);
        assert_true(is_frozen(fx.mnt));
        assert_int_equal(access(marker, F_OK), 0);
        assert_int_equal(freeze_thaw(f, err, sizeof err), 0);
        assert_false(is_frozen(fx.mnt));
        assert_int_equal(access(marker, F_OK), -1);
        assert_true(writes_go_through());
}

/* Nobody asks: the watchdog thaws when timeout_seconds passes, and says so. */
static void test_timeout_thaws(void **state)
{
        const char *paths[] = { fx.mnt };
        struct freezer *f = NULL;
        char err[256] = "";
        pid_t w;
        bool done;

        NEED_MOUNT();
        assert_int_equal(freeze_start(paths, NULL, 1, 1, NULL, &f, err, sizeof err), 0);
        w = start_writer(fx.mnt); /* blocks until the watchdog thaws */
        done = writer_done(w);
        if (!done)
                rescue(w);
        assert_true(done);
        assert_int_equal(freeze_thaw(f, err, sizeof err), -ETIME);
        assert_non_null(strstr(err, "timeout"));
}

/* The agent is SIGKILLed while frozen (its whole process group, as a service manager would):
 * the watchdog, in its own group, sees its socket close and thaws. */
static void sigkill_agent(bool whole_group)
{
        int p[2];
        pid_t agent;
        char c = 0;
        int status;

        assert_int_equal(pipe(p), 0);
        agent = fork();
        assert_true(agent >= 0);
        if (agent == 0) {
                const char *paths[] = { fx.mnt };
                struct freezer *f = NULL;
                char err[256];
                setpgid(0, 0);
                close(p[0]);
                if (freeze_start(paths, NULL, 1, 120, NULL, &f, err, sizeof err) < 0)
                        _exit(3);
                if (write(p[1], "F", 1) != 1)
                        _exit(4);
                for (;;)
                        pause();
        }
        close(p[1]);
        assert_int_equal(read(p[0], &c, 1), 1);
        close(p[0]);
        assert_int_equal(c, 'F');
        assert_true(is_frozen(fx.mnt));
        assert_int_equal(kill(whole_group ? -agent : agent, SIGKILL), 0);
        assert_int_equal(waitpid(agent, &status, 0), agent);
        assert_true(WIFSIGNALED(status));
        /* timeout_seconds is 120: only the agent's death can thaw it this soon */
        assert_true(writes_go_through());
}

static void test_sigkill_agent_thaws(void **state)
{
        NEED_MOUNT();
        sigkill_agent(false);
}

static void test_sigkill_agent_group_thaws(void **state)
{
        NEED_MOUNT();
        sigkill_agent(true);
}

/* The watchdog itself is SIGKILLed while frozen: nothing thaws until the agent's calls return,
 * then freeze_thaw() thaws from the agent's side and says so. */
static void test_sigkill_watchdog_agent_thaws(void **state)
{
        const char *paths[] = { fx.mnt };
        struct freezer *f = NULL;
        char err[256] = "";
        bool frozen, still;
        int r;

        NEED_MOUNT();
        assert_int_equal(freeze_start(paths, NULL, 1, 120, NULL, &f, err, sizeof err), 0);
        assert_int_equal(kill(freeze_watchdog_pid(f), SIGKILL), 0);
        frozen = is_frozen(fx.mnt); /* the watchdog's death alone thaws nothing */
        r = freeze_thaw(f, err, sizeof err);
        still = is_frozen(fx.mnt);
        if (still)
                rescue(-1); /* so that a failure here does not hang the tests after it */
        assert_true(frozen);
        assert_false(still);
        assert_int_equal(r, -ECHILD);
        assert_non_null(strstr(err, "the agent thawed it itself"));
        assert_non_null(strstr(err, fx.mnt));
        assert_true(writes_go_through());
}

/* The watchdog dies after the filesystem was thawed by someone else:
 * the agent finds the filesystem thawed and does not claim to have thawed it. */
static void test_dead_watchdog_after_thaw(void **state)
{
        const char *paths[] = { fx.mnt };
        struct freezer *f = NULL;
        char err[256] = "";
        int fd;

        NEED_MOUNT();
        assert_int_equal(freeze_start(paths, NULL, 1, 120, NULL, &f, err, sizeof err), 0);
        /* Thaw behind the watchdog's back, then kill it: what an operator's fsfreeze -u does. */
        fd = open(fx.mnt, O_RDONLY | O_DIRECTORY);
        assert_true(fd >= 0);
        assert_int_equal(ioctl(fd, FITHAW, 0), 0);
        close(fd);
        assert_int_equal(kill(freeze_watchdog_pid(f), SIGKILL), 0);
        assert_int_equal(freeze_thaw(f, err, sizeof err), -ECHILD);
        assert_non_null(strstr(err, "was found thawed"));
        assert_false(is_frozen(fx.mnt));
}

/* Two paths on one filesystem are frozen once (a second FIFREEZE would fail with EBUSY). */
static void test_same_filesystem_frozen_once(void **state)
{
        char sub[PATH_MAX + 8];
        const char *paths[] = { fx.mnt, sub };
        struct freezer *f = NULL;
        char err[256] = "";

        NEED_MOUNT();
        snprintf(sub, sizeof sub, "%s/sub", fx.mnt);
        mkdir(sub, 0755);
        assert_int_equal(freeze_start(paths, NULL, 2, 60, NULL, &f, err, sizeof err), 0);
        assert_true(is_frozen(fx.mnt));
        assert_int_equal(freeze_thaw(f, err, sizeof err), 0);
        assert_true(writes_go_through());
}

/* When one filesystem cannot be frozen, the ones already frozen are thawed and the error names
 * the path. /dev/shm is a tmpfs, which has no freeze. */
static void test_partial_failure_thaws_the_rest(void **state)
{
        const char *paths[] = { fx.mnt, "/dev/shm" };
        struct freezer *f = NULL;
        char err[256] = "";
        int r;

        NEED_MOUNT();
        r = freeze_start(paths, NULL, 2, 60, NULL, &f, err, sizeof err);
        assert_true(r < 0);
        assert_null(f);
        assert_non_null(strstr(err, "/dev/shm"));
        assert_false(is_frozen(fx.mnt));
        assert_true(writes_go_through());
}

/* A filesystem someone else froze is not ours to thaw. */
static void test_already_frozen_is_refused(void **state)
{
        const char *paths[] = { fx.mnt };
        struct freezer *f = NULL;
        char err[256] = "", marker[PATH_MAX + 32];
        int fd;

        NEED_MOUNT();
        snprintf(marker, sizeof marker, "%s/%s", fx.dir, FREEZE_MARKER_NAME);
        fd = open(fx.mnt, O_RDONLY | O_DIRECTORY);
        assert_true(fd >= 0);
        assert_int_equal(ioctl(fd, FIFREEZE, 0), 0);
        assert_int_equal(freeze_start(paths, NULL, 1, 60, marker, &f, err, sizeof err), -EBUSY);
        assert_non_null(strstr(err, fx.mnt));
        assert_int_equal(access(marker, F_OK), -1); /* we froze nothing: no marker is left */
        assert_true(is_frozen(fx.mnt)); /* still frozen: the watchdog did not thaw it */
        assert_int_equal(ioctl(fd, FITHAW, 0), 0);
        close(fd);
}

/* Never "/", the root prefix's filesystem, nor the one holding the agent's state or log. */
static void test_allowed(void **state)
{
        char why[512], state_dir[PATH_MAX + 16];
        const char *protected_paths[] = { state_dir, NULL };
        const char *nothing[] = { NULL };

        assert_int_equal(freeze_allowed("/", "", NULL, why, sizeof why), -EPERM);
        assert_non_null(strstr(why, "root filesystem"));
        assert_int_equal(freeze_allowed("/nonexistent/x", "", NULL, why, sizeof why), -ENOENT);
        assert_int_equal(freeze_allowed("/proc/self/status", "", NULL, why, sizeof why), -ENOTDIR);
        NEED_MOUNT();
        assert_int_equal(freeze_allowed(fx.mnt, "", nothing, why, sizeof why), 0);
        snprintf(state_dir, sizeof state_dir, "%s/state", fx.mnt);
        mkdir(state_dir, 0755);
        assert_int_equal(freeze_allowed(fx.mnt, "", protected_paths, why, sizeof why), -EPERM);
        assert_non_null(strstr(why, "agent's"));
        assert_int_equal(freeze_allowed(fx.mnt, state_dir, NULL, why, sizeof why), -EPERM);
        assert_non_null(strstr(why, "root prefix"));
}

static void test_limits(void **state)
{
        const char *paths[FREEZE_PATHS_MAX + 1];
        struct freezer *f = NULL;
        char err[256];

        for (int i = 0; i <= FREEZE_PATHS_MAX; i++)
                paths[i] = "/nonexistent";
        assert_int_equal(freeze_start(paths, NULL, 0, 10, NULL, &f, err, sizeof err), -EINVAL);
        assert_int_equal(freeze_start(paths, NULL, FREEZE_PATHS_MAX + 1, 10, NULL, &f, err, sizeof err), -EINVAL);
        assert_int_equal(freeze_start(paths, NULL, 1, 0, NULL, &f, err, sizeof err), -EINVAL);
        /* at the limit the count is accepted; the paths themselves then fail */
        assert_int_equal(freeze_start(paths, NULL, FREEZE_PATHS_MAX, 10, NULL, &f, err, sizeof err), -ENOENT);
        assert_non_null(strstr(err, "/nonexistent"));
        assert_null(f);
        assert_int_equal(freeze_thaw(NULL, err, sizeof err), 0);
}

/* The marker round-trips what it lists; a missing one is -ENOENT; anything else is refused. */
static void test_marker(void **state)
{
        char marker[PATH_MAX + 32], tmp[PATH_MAX + 40], **v = NULL, err[512] = "";
        const char *paths[] = { "/mnt/data", "/srv/a b\nc" };
        FILE *f;

        snprintf(marker, sizeof marker, "%s/%s", fx.dir, FREEZE_MARKER_NAME);
        snprintf(tmp, sizeof tmp, "%s.tmp", marker);
        assert_int_equal(freeze_marker_read(marker, &v, err, sizeof err), -ENOENT);
        assert_int_equal(freeze_marker_write(marker, paths, 2, err, sizeof err), 0);
        assert_int_equal(access(tmp, F_OK), -1); /* renamed into place */
        assert_int_equal(freeze_marker_read(marker, &v, err, sizeof err), 0);
        assert_string_equal(v[0], "/mnt/data");
        assert_string_equal(v[1], "/srv/a b\nc");
        assert_null(v[2]);
        freeze_strv_free(v);

        static const char *const bad[] = { "not json", "{\"paths\": \"/mnt\"}", "{\"paths\": [\"relative\"]}",
                                           "{\"paths\": [1]}", "[]" };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                f = fopen(marker, "w");
                assert_non_null(f);
                fputs(bad[i], f);
                fclose(f);
                v = NULL;
                assert_int_equal(freeze_marker_read(marker, &v, err, sizeof err), -EBADMSG);
                assert_null(v);
                assert_non_null(strstr(err, marker));
        }
        /* one byte over the limit */
        f = fopen(marker, "w");
        assert_non_null(f);
        for (int i = 0; i <= FREEZE_MARKER_MAX; i++)
                fputc(' ', f);
        fclose(f);
        assert_int_equal(freeze_marker_read(marker, &v, err, sizeof err), -EBADMSG);
        assert_non_null(strstr(err, "larger than"));
        unlink(marker);
}

/* What `opsagent recover` does after the agent and its watchdog were both killed: the
 * filesystem stays frozen until freeze_thaw_path() on what the marker lists. */
static void test_thaw_path_after_both_died(void **state)
{
        char marker[PATH_MAX + 32], **v = NULL, err[512] = "";
        const char *paths[] = { fx.mnt };
        struct freezer *f = NULL;
        pid_t agent;
        int p[2], status, r;
        bool frozen;

        NEED_MOUNT();
        snprintf(marker, sizeof marker, "%s/%s", fx.dir, FREEZE_MARKER_NAME);
        assert_int_equal(pipe(p), 0);
        agent = fork();
        assert_true(agent >= 0);
        if (agent == 0) {
                close(p[0]);
                if (freeze_start(paths, NULL, 1, 120, marker, &f, err, sizeof err) < 0)
                        _exit(3);
                /* report the watchdog's pid, then wait to be killed */
                pid_t w = freeze_watchdog_pid(f);
                if (write(p[1], &w, sizeof w) != (ssize_t)sizeof w)
                        _exit(4);
                for (;;)
                        pause();
        }
        close(p[1]);
        pid_t watchdog = 0;
        assert_int_equal(read(p[0], &watchdog, sizeof watchdog), (ssize_t)sizeof watchdog);
        close(p[0]);
        assert_int_equal(kill(watchdog, SIGKILL), 0); /* the watchdog first, so it cannot thaw */
        assert_int_equal(kill(agent, SIGKILL), 0);
        assert_int_equal(waitpid(agent, &status, 0), agent);
        frozen = is_frozen(fx.mnt);
        assert_int_equal(freeze_marker_read(marker, &v, err, sizeof err), 0);
        r = freeze_thaw_path(v[0]);
        if (is_frozen(fx.mnt))
                rescue(-1);
        freeze_strv_free(v);
        unlink(marker);
        assert_true(frozen); /* both dead: nothing thawed it */
        assert_int_equal(r, 1);
        assert_int_equal(freeze_thaw_path(fx.mnt), 0); /* not frozen any more */
        assert_int_equal(freeze_thaw_path("/nonexistent-opsagent"), -ENOENT);
        assert_true(writes_go_through());
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_freeze_then_thaw_on_request),
                cmocka_unit_test(test_timeout_thaws),
                cmocka_unit_test(test_sigkill_agent_thaws),
                cmocka_unit_test(test_sigkill_agent_group_thaws),
                cmocka_unit_test(test_sigkill_watchdog_agent_thaws),
                cmocka_unit_test(test_dead_watchdog_after_thaw),
                cmocka_unit_test(test_same_filesystem_frozen_once),
                cmocka_unit_test(test_partial_failure_thaws_the_rest),
                cmocka_unit_test(test_already_frozen_is_refused),
                cmocka_unit_test(test_allowed),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_marker),
                cmocka_unit_test(test_thaw_path_after_both_died),
        };
        return cmocka_run_group_tests_name("ebs_freeze", tests, group_setup, group_teardown);
}
