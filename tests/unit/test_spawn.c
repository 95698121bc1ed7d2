/* spawn: running commands without a shell, output lines and tail, timeouts, exec errors. */
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "run/spawn.h"

#define MSEC 1000ULL
#define READY_DEADLINE (60 * 1000 * MSEC)  /* a loaded machine: see the timeout tests */

struct lines {
        char *v[64];
        size_t n;
        size_t total;   /* every line seen, also past v[] */
};

static void collect(void *userdata, const char *line)
{
        struct lines *l = userdata;

        if (l->n < 64) {
                l->v[l->n] = strdup(line);
                assert_non_null(l->v[l->n]);
                l->n++;
        }
        l->total++;
}

static void lines_free(struct lines *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
}

static int run_sh(const char *script, uint64_t timeout, struct lines *l, struct opsagent_spawn_result *res)
{
        char *argv[] = { (char *)"sh", (char *)"-c", (char *)script, NULL };

        return spawn_run(argv, timeout, l ? collect : NULL, l, res);
}

/* stdout and stderr both arrive, line by line, in order, the last unterminated line too. */
static void test_lines_and_exit_status(void **state)
{
        struct opsagent_spawn_result res = { 0 };
        struct lines l = { 0 };

        assert_int_equal(run_sh("echo one; echo two >&2; printf three; exit 3", 0, &l, &res), 0);
        assert_int_equal(res.exit_status, 3);
        assert_int_equal(res.term_signal, 0);
        assert_false(res.timed_out);
        assert_int_equal(l.n, 3);
        assert_string_equal(l.v[0], "one");
        assert_string_equal(l.v[1], "two");
        assert_string_equal(l.v[2], "three");
        assert_string_equal(res.output_tail, "one\ntwo\nthree");
        free(res.output_tail);
        lines_free(&l);
}

static void test_success_without_callback(void **state)
{
        struct opsagent_spawn_result res = { 0 };
        char *argv[] = { (char *)"true", NULL };

        assert_int_equal(spawn_run(argv, 0, NULL, NULL, &res), 0);
        assert_int_equal(res.exit_status, 0);
        assert_string_equal(res.output_tail, "");
        free(res.output_tail);
}

/* A command that is not there is an error of spawn_run, not an exit status 127. */
static void test_missing_command_is_enoent(void **state)
{
        struct opsagent_spawn_result res = { .exit_status = 42 };
        char *argv[] = { (char *)"opsagent-no-such-command-xyz", NULL };
        char *abs[] = { (char *)"/nonexistent/bin/tool", NULL };

        assert_int_equal(spawn_run(argv, 0, NULL, NULL, &res), -ENOENT);
        assert_int_equal(spawn_run(abs, 0, NULL, NULL, &res), -ENOENT);
        assert_int_equal(res.exit_status, 42);  /* untouched */
        assert_null(res.output_tail);
}

static void test_not_executable_is_eacces(void **state)
{
        char path[] = "/tmp/opsagent-spawn-XXXXXX";
        struct opsagent_spawn_result res = { 0 };
        char *argv[] = { path, NULL };
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
        close(fd);
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(spawn_run(argv, 0, NULL, NULL, &res), -EACCES);
        unlink(path);
}

static void test_empty_argv_is_einval(void **state)
{
        struct opsagent_spawn_result res = { 0 };
        char *none[] = { NULL };
        char *empty[] = { (char *)"", NULL };

        assert_int_equal(spawn_run(none, 0, NULL, NULL, &res), -EINVAL);
        assert_int_equal(spawn_run(empty, 0, NULL, NULL, &res), -EINVAL);
        assert_int_equal(spawn_run(NULL, 0, NULL, NULL, &res), -EINVAL);
}

/* No shell: metacharacters in arguments are passed as they are. */
static void test_no_shell_interpretation(void **state)
{
        struct opsagent_spawn_result res = { 0 };
        struct lines l = { 0 };
        char *argv[] = { (char *)"echo", (char *)"$HOME; rm -rf / `x`", NULL };

        assert_int_equal(spawn_run(argv, 0, collect, &l, &res), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.v[0], "$HOME; rm -rf / `x`");
        free(res.output_tail);
        lines_free(&l);
}

/* stdin is /dev/null: a command reading it sees end of file at once. */
static void test_stdin_is_dev_null(void **state)
{
        struct opsagent_spawn_result res = { 0 };
        struct lines l = { 0 };

        assert_int_equal(run_sh("cat; echo done; readlink /proc/$$/fd/0", 0, &l, &res), 0);
        assert_int_equal(res.exit_status, 0);
        assert_int_equal(l.n, 2);
        assert_string_equal(l.v[0], "done");
        assert_string_equal(l.v[1], "/dev/null");
        free(res.output_tail);
        lines_free(&l);
}

/* The command leads a process group of its own. */
static void test_own_process_group(void **state)
{
        struct opsagent_spawn_result res = { 0 };
        struct lines l = { 0 };
        long pid, pgrp;

        assert_int_equal(run_sh("echo $$ $(cut -d' ' -f5 /proc/$$/stat)", 0, &l, &res), 0);
        assert_int_equal(l.n, 1);
        assert_int_equal(sscanf(l.v[0], "%ld %ld", &pid, &pgrp), 2);
        assert_int_equal(pid, pgrp);
        assert_int_not_equal(pgrp, (long)getpgrp());
        free(res.output_tail);
        lines_free(&l);
}

/* A descriptor we opened without O_CLOEXEC does not reach the command. */
static void test_descriptors_do_not_leak(void **state)
{
        struct opsagent_spawn_result res = { 0 };
        struct lines l = { 0 };
        char script[128];
        int fd = open("/dev/null", O_RDONLY);

        assert_true(fd > 2);
        snprintf(script, sizeof(script), "test -e /proc/$$/fd/%d && echo leaked || echo clean", fd);
        assert_int_equal(run_sh(script, 0, &l, &res), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.v[0], "clean");
        close(fd);
        free(res.output_tail);
        lines_free(&l);
}

/* A command killed by a signal reports it, with exit_status -1. */
static void test_killed_by_signal(void **state)
{
        struct opsagent_spawn_result res = { 0 };

        assert_int_equal(run_sh("kill -SEGV $$", 0, NULL, &res), 0);
        assert_int_equal(res.exit_status, -1);
        assert_int_equal(res.term_signal, SIGSEGV);
        assert_false(res.timed_out);
        free(res.output_tail);
}

/* Past the timeout the group gets SIGTERM; a background child of the command dies too. */
static void test_timeout_terminates_group(void **state)
{
        struct opsagent_spawn_result res = { 0 };
        struct lines l = { 0 };
        int st = 0;
        long bg;

        /* Orphans come back to us, so the background sleep can be waited for. */
        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
        /* The shell must have started the sleep (and said so) before the timeout: on a loaded
         * machine that can take longer than 200 ms, so the timeout doubles until it has. */
        for (uint64_t timeout = 200 * MSEC;; timeout *= 2) {
                assert_int_equal(run_sh("sleep 60 & echo $!; wait", timeout, &l, &res), 0);
                if (l.n > 0 || timeout >= READY_DEADLINE)
                        break;
                free(res.output_tail);
                res = (struct opsagent_spawn_result){ 0 };
                while (waitpid(-1, &st, WNOHANG) > 0)
                        ;
        }
        assert_true(res.timed_out);
        assert_int_equal(res.exit_status, -1);
        assert_int_equal(res.term_signal, SIGTERM);
        assert_int_equal(l.n, 1);
        bg = strtol(l.v[0], NULL, 10);
        assert_true(bg > 0);
        assert_int_equal(waitpid((pid_t)bg, &st, 0), (pid_t)bg);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
        free(res.output_tail);
        lines_free(&l);
}

/* A command that ignores SIGTERM gets SIGKILL after the grace period. */
static void test_timeout_escalates_to_sigkill(void **state)
{
        struct opsagent_spawn_result res = { 0 };
        char *argv[] = { (char *)"sh", (char *)"-c", (char *)"trap '' TERM; echo ready; while :; do sleep 1; done",
                         NULL };
        struct lines l = { 0 };

        /* The trap must be set (the shell says "ready") before the timeout: see above. */
        for (uint64_t timeout = 200 * MSEC;; timeout *= 2) {
                assert_int_equal(spawn_run_grace(argv, timeout, 200 * MSEC, collect, &l, &res), 0);
                if (l.n > 0 || timeout >= READY_DEADLINE)
                        break;
                free(res.output_tail);
                res = (struct opsagent_spawn_result){ 0 };
        }
        assert_true(res.timed_out);
        assert_int_equal(res.exit_status, -1);
        assert_int_equal(res.term_signal, SIGKILL);
        assert_string_equal(res.output_tail, "ready\n");
        free(res.output_tail);
        lines_free(&l);
}

/* A command that exits within its timeout is not marked timed out. */
static void test_fast_command_not_timed_out(void **state)
{
        struct opsagent_spawn_result res = { 0 };

        assert_int_equal(run_sh("exit 0", 60 * 1000 * MSEC, NULL, &res), 0);
        assert_false(res.timed_out);
        assert_int_equal(res.exit_status, 0);
        free(res.output_tail);
}

/* Only the last SPAWN_TAIL_MAX bytes are kept, starting at a line; every line was seen. */
static void test_tail_is_capped(void **state)
{
        struct opsagent_spawn_result res = { 0 };
        struct lines l = { 0 };
        size_t len;

        assert_int_equal(run_sh("i=0; while [ $i -lt 5000 ]; do echo line-$i; i=$((i+1)); done", 0, &l, &res), 0);
        assert_int_equal(l.total, 5000);
        len = strlen(res.output_tail);
        assert_true(len <= SPAWN_TAIL_MAX);
        assert_true(len > SPAWN_TAIL_MAX - 16);
        assert_memory_equal(res.output_tail, "line-", 5);
        assert_string_equal(res.output_tail + len - strlen("line-4999\n"), "line-4999\n");
        free(res.output_tail);
        lines_free(&l);
}

/* A line longer than SPAWN_LINE_MAX reaches the callback in pieces, none lost. */
static void test_long_line_split(void **state)
{
        struct opsagent_spawn_result res = { 0 };
        struct lines l = { 0 };
        char script[128];
        size_t sum = 0;

        snprintf(script, sizeof(script), "head -c %d /dev/zero | tr '\\0' x; echo",
                 SPAWN_LINE_MAX * 2 + 10);
        assert_int_equal(run_sh(script, 0, &l, &res), 0);
        assert_int_equal(l.n, 3);
        assert_int_equal(strlen(l.v[0]), SPAWN_LINE_MAX);
        for (size_t i = 0; i < l.n; i++)
                sum += strlen(l.v[i]);
        assert_int_equal(sum, SPAWN_LINE_MAX * 2 + 10);
        free(res.output_tail);
        lines_free(&l);
}

/* spawn_capture() keeps all of the output, lines of any length whole; more than its cap is
 * -E2BIG, nothing returned. */
static void test_capture_whole_output(void **state)
{
        char *argv[] = { (char *)"sh", (char *)"-c", (char *)"head -c 10000 /dev/zero | tr '\\0' x; echo; echo end", NULL };
        struct opsagent_spawn_result res = { 0 };
        char *out = NULL;

        assert_int_equal(spawn_capture(argv, 0, 20000, &out, &res), 0);
        assert_int_equal(res.exit_status, 0);
        assert_int_equal(strlen(out), 10000 + 1 + 4);
        assert_int_equal(strspn(out, "x"), 10000);
        assert_string_equal(out + 10000, "\nend\n");
        free(out);
        free(res.output_tail);
        out = (char *)"untouched";
        assert_int_equal(spawn_capture(argv, 0, 9999, &out, &res), -E2BIG);
        assert_string_equal(out, "untouched");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lines_and_exit_status),
                cmocka_unit_test(test_success_without_callback),
                cmocka_unit_test(test_missing_command_is_enoent),
                cmocka_unit_test(test_not_executable_is_eacces),
                cmocka_unit_test(test_empty_argv_is_einval),
                cmocka_unit_test(test_no_shell_interpretation),
                cmocka_unit_test(test_stdin_is_dev_null),
                cmocka_unit_test(test_own_process_group),
                cmocka_unit_test(test_descriptors_do_not_leak),
                cmocka_unit_test(test_killed_by_signal),
                cmocka_unit_test(test_timeout_terminates_group),
                cmocka_unit_test(test_timeout_escalates_to_sigkill),
                cmocka_unit_test(test_fast_command_not_timed_out),
                cmocka_unit_test(test_tail_is_capped),
                cmocka_unit_test(test_long_line_split),
                cmocka_unit_test(test_capture_whole_output),
        };
        return cmocka_run_group_tests_name("spawn", tests, NULL, NULL);
}
