/* Benchmark helper (not installed): runs a command and prints what wait4(2) says it cost.
 *
 *   tests/bench/rusage OUTFILE COMMAND [ARG...]
 *
 * writes one line to OUTFILE: "user_us sys_us maxrss_kb exit_status", the CPU of the command and
 * every descendant it waited for, in microseconds, and the peak RSS of the largest process among
 * them. The benchmark runner is Python: a process it forks starts as a copy of the interpreter,
 * and the kernel carries that copy's RSS into the child's ru_maxrss across exec; forked from this
 * small program instead, the command's figures are its own. /usr/bin/time does the same but
 * prints CPU in hundredths of a second, too coarse for a 10 ms run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        struct rusage ru;
        FILE *out;
        pid_t pid;
        int status, code;

        if (argc < 3) {
                fprintf(stderr, "usage: %s OUTFILE COMMAND [ARG...]\n", argv[0]);
                return 2;
        }
        pid = fork();
        if (pid < 0) {
                perror("fork");
                return 127;
        }
        if (pid == 0) {
                execvp(argv[2], argv + 2);
                fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
                _exit(127);
        }
        while (wait4(pid, &status, 0, &ru) < 0)
                if (errno != EINTR) {
                        perror("wait4");
                        return 127;
                }
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        out = fopen(argv[1], "w");
        if (!out) {
                perror(argv[1]);
                return 127;
        }
        fprintf(out, "%lld %lld %ld %d\n", (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
                (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss, code);
        if (fclose(out) != 0) {
                perror(argv[1]);
                return 127;
        }
        return code;
}
