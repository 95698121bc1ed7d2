/* spawn: running commands without a shell, output lines and tail, timeouts, exec errors. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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

static int run_opts(const char *script, const struct spawn_options *o, struct lines *l,
                    struct opsagent_spawn_result *res)
{
        char *argv[] = { (char *)"sh", (char *)"-c", (char *)script, NULL };

        return spawn_run_opts(argv, o, collect, l, res);
}

/* A command from configuration sees PATH and LANG and nothing else of the agent's, runs in "/",
 * and a bare name is looked for in that PATH, not the agent's. */
static void test_minimal_environment(void **state)
{
        struct spawn_options o = { .minimal_env = true };
        struct opsagent_spawn_result res = { 0 };
        struct lines l = { 0 };

        (void)state;
        setenv("AWS_SECRET_ACCESS_KEY", "hunter2", 1);
        setenv("LD_PRELOAD", "/tmp/evil.so", 1);
        setenv("PATH", "/nonexistent:/usr/bin:/bin", 1);
        assert_int_equal(run_opts("env | LC_ALL=C sort; pwd", &o, &l, &res), 0);
        assert_int_equal(res.exit_status, 0);
        /* sh itself adds PWD (and may add SHLVL and _): those are the shell's, not ours */
        {
                size_t ours = 0;

                for (size_t i = 0; i < l.n; i++) {
                        if (strncmp(l.v[i], "PWD=", 4) == 0 || strncmp(l.v[i], "SHLVL=", 6) == 0 ||
                            strncmp(l.v[i], "_=", 2) == 0 || strcmp(l.v[i], "/") == 0 || strncmp(l.v[i], "OLDPWD", 6) == 0)
                                continue;
                        assert_true(strcmp(l.v[i], "PATH=" SPAWN_MINIMAL_PATH) == 0 ||
                                    strcmp(l.v[i], "LANG=" SPAWN_MINIMAL_LANG) == 0);
                        ours++;
                }
                assert_int_equal(ours, 2);
                assert_string_equal(l.v[l.n - 1], "/");
        }
        free(res.output_tail);
        lines_free(&l);
        unsetenv("AWS_SECRET_ACCESS_KEY");
        unsetenv("LD_PRELOAD");
}

static void test_minimal_path_lookup(void **state)
{
        struct spawn_options o = { .minimal_env = true };
        struct opsagent_spawn_result res = { 0 };
        char *argv[] = { (char *)"true", NULL }, *missing[] = { (char *)"opsagent-no-such-command", NULL };

        (void)state;
        assert_int_equal(spawn_run_opts(argv, &o, NULL, NULL, &res), 0);
        assert_int_equal(res.exit_status, 0);
        free(res.output_tail);
        assert_int_equal(spawn_run_opts(missing, &o, NULL, NULL, &res), -ENOENT);
}

/* The drop itself, in a forked child: every id is the user's, the groups are exactly those
 * given, and there is no way back to root. */
static void test_drop_to_user(void **state)
{
        gid_t groups[] = { 54322, 54323 };
        struct spawn_options o = { .as_user = true, .uid = 54321, .gid = 54320, .groups = groups, .n_groups = 2 };
        pid_t pid;
        int st;

        (void)state;
        if (geteuid() != 0) {
                printf("# not root: the drop to another user is not tested\n");
                return;
        }
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                uid_t r, e, s;
                gid_t rg, eg, sg, got[8];
                int n;

                if (spawn_drop_to_user(&o) < 0)
                        _exit(10);
                if (getresuid(&r, &e, &s) < 0 || r != 54321 || e != 54321 || s != 54321)
                        _exit(11);
                if (getresgid(&rg, &eg, &sg) < 0 || rg != 54320 || eg != 54320 || sg != 54320)
                        _exit(12);
                n = getgroups(8, got);
                if (n != 2 || got[0] != 54322 || got[1] != 54323)
                        _exit(13);
                if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 || setgroups(0, NULL) == 0)
                        _exit(14);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
}

/* As another user through spawn: what `id` says. Skipped where that user cannot run anything
 * at all (a "/" of mode 0700 on a build machine). */
static void test_as_user(void **state)
{
        gid_t groups[] = { 54322, 54323 };
        struct spawn_options o = { .as_user = true, .uid = 54321, .gid = 54320, .groups = groups, .n_groups = 2 };
        struct opsagent_spawn_result res = { 0 };
        char *probe[] = { (char *)"/bin/true", NULL };
        struct lines l = { 0 };
        int r;

        (void)state;
        if (geteuid() != 0) {
                printf("# not root: commands as another user are not tested\n");
                return;
        }
        r = spawn_run_opts(probe, &o, NULL, NULL, &res);
        if (r == -EACCES) {
                printf("# uid 54321 cannot execute /bin/true here (is \"/\" searchable only by root?): "
                       "only the drop itself was tested\n");
                return;
        }
        assert_int_equal(r, 0);
        free(res.output_tail);
        assert_int_equal(run_opts("id -u; id -g; id -G", &o, &l, &res), 0);
        assert_int_equal(res.exit_status, 0);
        assert_int_equal(l.n, 3);
        assert_string_equal(l.v[0], "54321");
        assert_string_equal(l.v[1], "54320");
        assert_string_equal(l.v[2], "54320 54322 54323");
        free(res.output_tail);
        lines_free(&l);
        o.n_groups = SPAWN_GROUPS_MAX + 1;
        assert_int_equal(run_opts("true", &o, NULL, &res), -E2BIG);
}

/* A drop that cannot happen (the agent is not root) is an error, and nothing runs. */
static void test_as_user_failure_runs_nothing(void **state)
{
        struct spawn_options o = { .as_user = true, .uid = 54321, .gid = 54320 };
        struct opsagent_spawn_result res = { 0 };
        pid_t pid;
        int st;

        (void)state;
        o.n_groups = SPAWN_GROUPS_MAX + 1;
        assert_int_equal(run_opts("true", &o, NULL, &res), -E2BIG);
        o.n_groups = 0;
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char *argv[] = { (char *)"/bin/true", NULL };

                if (geteuid() == 0 && setresuid(54330, 54330, 54330) < 0)
                        _exit(10);
                /* -EPERM from setgroups; -EACCES where this uid cannot even open /dev/null */
                _exit(spawn_run_opts(argv, &o, NULL, NULL, &res) < 0 ? 0 : 11);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_user_groups(void **state)
{
        gid_t *g = NULL;
        size_t n = 0;

        (void)state;
        assert_int_equal(spawn_user_groups(54321, 54320, &g, &n), 0); /* no such user: only its gid */
        assert_int_equal(n, 1);
        assert_int_equal(g[0], 54320);
        free(g);
        assert_int_equal(spawn_user_groups(0, 0, &g, &n), 0);
        assert_true(n >= 1);
        assert_int_equal(g[0], 0);
        free(g);
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
                cmocka_unit_test(test_minimal_environment),
                cmocka_unit_test(test_minimal_path_lookup),
                cmocka_unit_test(test_drop_to_user),
                cmocka_unit_test(test_as_user),
                cmocka_unit_test(test_as_user_failure_runs_nothing),
                cmocka_unit_test(test_user_groups),
        };
        return cmocka_run_group_tests_name("spawn", tests, NULL, NULL);
}
