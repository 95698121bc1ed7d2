#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"
#include "util/buf.h"

#define NO_PIDFD_TICK_MSEC 100  /* how often to look for the child's exit without a pidfd */

struct output {
        void (*line_cb)(void *userdata, const char *line);
        void *userdata;
        char line[SPAWN_LINE_MAX + 1];
        size_t line_len;
        char tail[2 * SPAWN_TAIL_MAX];
        size_t tail_len;
        bool tail_cut;          /* bytes before tail[] were dropped */
        char before_tail;       /* the last byte dropped */
        struct buf *all;        /* everything, when asked for (capped) */
        bool all_full;          /* ... and more came than its cap */
};

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void flush_line(struct output *o)
{
        o->line[o->line_len] = '\0';
        if (o->line_cb)
                o->line_cb(o->userdata, o->line);
        o->line_len = 0;
}

static void output_feed(struct output *o, const char *data, size_t len)
{
        if (o->all && !o->all_full && buf_append(o->all, data, len) < 0)
                o->all_full = true;
        for (size_t i = 0; i < len; i++) {
                char c = data[i] == '\0' ? '?' : data[i];  /* keep both C strings whole */

                if (c == '\n') {
                        flush_line(o);
                        continue;
                }
                if (o->line_len == SPAWN_LINE_MAX)
                        flush_line(o);
                o->line[o->line_len++] = c;
        }
        for (size_t i = 0; i < len; i++) {
                if (o->tail_len == sizeof(o->tail)) {
                        o->before_tail = o->tail[SPAWN_TAIL_MAX - 1];
                        memmove(o->tail, o->tail + SPAWN_TAIL_MAX, SPAWN_TAIL_MAX);
                        o->tail_len = SPAWN_TAIL_MAX;
                        o->tail_cut = true;
                }
                o->tail[o->tail_len++] = data[i] == '\0' ? '?' : data[i];
        }
}

/* The kept tail as a C string: the last SPAWN_TAIL_MAX bytes, from a line start when cut. */
static char *output_tail(const struct output *o)
{
        const char *start = o->tail;
        size_t len = o->tail_len;
        bool cut = o->tail_cut;
        char before = o->before_tail;
        char *s;

        if (len > SPAWN_TAIL_MAX) {
                start += len - SPAWN_TAIL_MAX;
                len = SPAWN_TAIL_MAX;
                cut = true;
                before = start[-1];
        }
        if (cut && before != '\n') {
                const char *nl = memchr(start, '\n', len);

                if (nl && nl + 1 < start + len) {
                        len -= (size_t)(nl + 1 - start);
                        start = nl + 1;
                }
        }
        s = malloc(len + 1);
        if (!s)
                return NULL;
        memcpy(s, start, len);
        s[len] = '\0';
        return s;
}

int spawn_drop_to_user(const struct spawn_options *o)
{
        uid_t r, e, s;
        gid_t rg, eg, sg;

        /* Groups first (setgroups and setgid need the privilege setuid gives up). */
        if (o->n_groups > SPAWN_GROUPS_MAX) {
                errno = E2BIG;
                return -1;
        }
        if (setgroups(o->n_groups, o->n_groups ? o->groups : NULL) < 0 || setgid(o->gid) < 0 || setuid(o->uid) < 0)
                return -1;
        /* Then make sure it took, all of it (real, effective, saved), and that there is no way back. */
        if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
                return -1;
        if (r != o->uid || e != o->uid || s != o->uid || rg != o->gid || eg != o->gid || sg != o->gid ||
            (o->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))) {
                errno = EPERM;
                return -1;
        }
        return 0;
}

/* execve of FILE searched in SPAWN_MINIMAL_PATH when it has no "/" (execvp would search the
 * agent's own PATH). Async-signal-safe. Returns only on failure, errno set. */
static void exec_minimal(char *const argv[], char *const envp[])
{
        const char *dirs = SPAWN_MINIMAL_PATH, *file = argv[0];
        char buf[PATH_MAX];
        bool eacces = false;
        size_t fl = strlen(file);

        if (strchr(file, '/')) {
                execve(file, argv, envp);
                return;
        }
        while (*dirs) {
                size_t dl = strcspn(dirs, ":");

                if (dl + 1 + fl < sizeof(buf)) {
                        memcpy(buf, dirs, dl);
                        buf[dl] = '/';
                        memcpy(buf + dl + 1, file, fl + 1);
                        execve(buf, argv, envp);
                        if (errno == EACCES)
                                eacces = true;
                        else if (errno != ENOENT && errno != ENOTDIR)
                                return;
                }
                dirs += dl;
                if (*dirs == ':')
                        dirs++;
        }
        errno = eacces ? EACCES : ENOENT;
}

/* In the child, between fork() and exec: only async-signal-safe calls. Reports errno on
 * STATUS_FD (close-on-exec, so the parent reads EOF when exec worked). */
static _Noreturn void child(char *const argv[], const struct spawn_options *o, int out_fd, int status_fd)
{
        static char *const minimal_env[] = { "PATH=" SPAWN_MINIMAL_PATH, "LANG=" SPAWN_MINIMAL_LANG, NULL };
        sigset_t all;
        int null_fd, e;

        setpgid(0, 0);
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);

        null_fd = open("/dev/null", O_RDONLY | O_NOCTTY);
        if (null_fd < 0)
                goto fail;
        if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(out_fd, STDERR_FILENO) < 0)
                goto fail;
        /* Nothing of ours beyond stdio leaks into the command. */
        (void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        if (o->as_user && spawn_drop_to_user(o) < 0)
                goto fail;
        if (o->minimal_env) {
                if (chdir("/") < 0)
                        goto fail;
                exec_minimal(argv, minimal_env);
        } else
                execvp(argv[0], argv);
fail:
        e = errno;
        while (write(status_fd, &e, sizeof(e)) < 0 && errno == EINTR)
                ;
        _exit(127);
}

/* Reads what the child wrote to the status pipe: 0 when exec worked, else -errno. */
static int read_exec_status(int fd)
{
        int e = 0;
        ssize_t n;

        do
                n = read(fd, &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t)sizeof(e))
                return e > 0 ? -e : -EIO;
        return 0;
}

/* Returns 1 when the child has exited (not reaped), 0 while it runs. */
static int child_exited(pid_t pid)
{
        siginfo_t si;

        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                return errno == ECHILD ? 1 : 0;
        return si.si_pid == pid;
}

static void read_output(int *fd, struct output *o)
{
        char chunk[4096];
        ssize_t n;

        n = read(*fd, chunk, sizeof(chunk));
        if (n < 0) {
                if (errno == EINTR || errno == EAGAIN)
                        return;
                n = 0;
        }
        if (n == 0) {
                close(*fd);
                *fd = -1;
                return;
        }
        output_feed(o, chunk, (size_t)n);
}

static int spawn_internal(char *const argv[], const struct spawn_options *opts,
                          void (*line_cb)(void *userdata, const char *line), void *userdata, struct buf *all,
                          bool *ret_all_full, struct opsagent_spawn_result *ret)
{
        uint64_t timeout_usec = opts->timeout_usec;
        uint64_t grace_usec = opts->grace_usec ? opts->grace_usec : SPAWN_KILL_GRACE_USEC;
        struct output *o = NULL;
        int out[2] = { -1, -1 }, status[2] = { -1, -1 };
        int pidfd = -1, wstatus = 0, r;
        uint64_t deadline = 0, kill_at = 0;
        bool timed_out = false, exited = false;
        char *tail;
        pid_t pid;

        if (!argv || !argv[0] || !argv[0][0])
                return -EINVAL;
        if (opts->as_user && opts->n_groups > SPAWN_GROUPS_MAX)
                return -E2BIG;
        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->line_cb = line_cb;
        o->userdata = userdata;
        o->all = all;
        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0) {
                r = -errno;
                goto out;
        }

        pid = fork();
        if (pid < 0) {
                r = -errno;
                goto out;
        }
        if (pid == 0)
                child(argv, opts, out[1], status[1]);

        (void)setpgid(pid, pid);  /* also in the child: whichever runs first */
        close(out[1]);
        out[1] = -1;
        close(status[1]);
        status[1] = -1;
        r = read_exec_status(status[0]);
        if (r < 0) {
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                goto out;
        }

        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (timeout_usec > 0)
                deadline = now_usec() + timeout_usec;

        while (!exited) {
                struct pollfd pfd[2];
                nfds_t n = 0;
                int wait_ms = -1;
                uint64_t now = now_usec(), next = 0;

                if (deadline && !timed_out)
                        next = deadline;
                if (kill_at && (!next || kill_at < next))
                        next = kill_at;
                if (next)
                        wait_ms = next > now ? (int)((next - now + 999) / 1000) : 0;
                if (pidfd < 0 && (wait_ms < 0 || wait_ms > NO_PIDFD_TICK_MSEC))
                        wait_ms = NO_PIDFD_TICK_MSEC;
                if (out[0] >= 0)
                        pfd[n++] = (struct pollfd){ .fd = out[0], .events = POLLIN };
                if (pidfd >= 0)
                        pfd[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
                if (poll(pfd, n, wait_ms) < 0 && errno != EINTR) {
                        r = -errno;
                        break;
                }
                if (out[0] >= 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
                        read_output(&out[0], o);
                exited = child_exited(pid);
                if (exited)
                        break;

                now = now_usec();
                if (deadline && !timed_out && now >= deadline) {
                        timed_out = true;
                        (void)kill(-pid, SIGTERM);
                        kill_at = now + grace_usec;
                } else if (kill_at && now >= kill_at) {
                        (void)kill(-pid, SIGKILL);
                        kill_at = 0;
                }
        }

        /* What the child wrote before exiting is in the pipe; later writers (its background
         * children) are not waited for. */
        if (out[0] >= 0) {
                (void)fcntl(out[0], F_SETFL, O_NONBLOCK);
                for (;;) {
                        char chunk[4096];
                        ssize_t k = read(out[0], chunk, sizeof(chunk));

                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                break;
                        output_feed(o, chunk, (size_t)k);
                }
        }
        /* A timed-out command leaves nothing behind. The group is killed before the leader is
         * reaped, so its id cannot have been reused. */
        if (timed_out || r < 0)
                (void)kill(-pid, SIGKILL);
        while (waitpid(pid, &wstatus, 0) < 0) {
                if (errno != EINTR) {
                        r = -errno;
                        goto out;
                }
        }
        if (r < 0)
                goto out;
        if (o->line_len > 0)
                flush_line(o);

        tail = output_tail(o);
        if (!tail) {
                r = -ENOMEM;
                goto out;
        }
        ret->timed_out = timed_out;
        ret->term_signal = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
        ret->exit_status = !timed_out && WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
        ret->output_tail = tail;
        if (ret_all_full)
                *ret_all_full = o->all_full;
        r = 0;
out:
        for (int i = 0; i < 2; i++) {
                if (out[i] >= 0)
                        close(out[i]);
                if (status[i] >= 0)
                        close(status[i]);
        }
        if (pidfd >= 0)
                close(pidfd);
        free(o);
        return r;
}

int spawn_run_opts(char *const argv[], const struct spawn_options *opts,
                   void (*line_cb)(void *userdata, const char *line), void *userdata,
                   struct opsagent_spawn_result *ret)
{
        return spawn_internal(argv, opts, line_cb, userdata, NULL, NULL, ret);
}

int spawn_run_grace(char *const argv[], uint64_t timeout_usec, uint64_t grace_usec,
                    void (*line_cb)(void *userdata, const char *line), void *userdata,
                    struct opsagent_spawn_result *ret)
{
        struct spawn_options o = { .timeout_usec = timeout_usec, .grace_usec = grace_usec };

        return spawn_run_opts(argv, &o, line_cb, userdata, ret);
}

int spawn_run(char *const argv[], uint64_t timeout_usec, void (*line_cb)(void *userdata, const char *line),
              void *userdata, struct opsagent_spawn_result *ret)
{
        return spawn_run_grace(argv, timeout_usec, SPAWN_KILL_GRACE_USEC, line_cb, userdata, ret);
}

int spawn_capture(char *const argv[], uint64_t timeout_usec, size_t max, char **ret_output,
                  struct opsagent_spawn_result *ret)
{
        struct spawn_options o = { .timeout_usec = timeout_usec };
        struct buf all = BUF_INIT(max);
        struct opsagent_spawn_result res = { 0 };
        bool full = false;
        char *text;
        int r;

        r = spawn_internal(argv, &o, NULL, NULL, &all, &full, &res);
        if (r < 0)
                goto out;
        if (full) {
                free(res.output_tail);
                r = -E2BIG;
                goto out;
        }
        text = buf_steal(&all);
        if (!text) {
                free(res.output_tail);
                r = -ENOMEM;
                goto out;
        }
        *ret_output = text;
        *ret = res;
out:
        buf_free(&all);
        return r;
}

int spawn_user_groups(uid_t uid, gid_t gid, gid_t **ret, size_t *ret_n)
{
        struct passwd *pw = getpwuid(uid);
        int n = SPAWN_GROUPS_MAX;
        gid_t *g = calloc(SPAWN_GROUPS_MAX, sizeof(*g));

        if (!g)
                return -ENOMEM;
        if (!pw || !pw->pw_name) {
                g[0] = gid;
                n = 1;
        } else if (getgrouplist(pw->pw_name, gid, g, &n) < 0) {
                free(g);
                return -E2BIG;
        }
        *ret = g;
        *ret_n = (size_t)n;
        return 0;
}
