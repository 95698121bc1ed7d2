/* ebs_snapshots freeze: the watchdog process. After fork() the watchdog only makes system
 * calls (no malloc, no stdio), so it is safe whatever the agent was doing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ebs_freeze.h"
#include "util/fileio.h"

enum msg_kind {
        MSG_FROZEN = 1,        /* all frozen */
        MSG_FREEZE_FAILED = 2, /* index, err; nothing left frozen */
        MSG_THAWED = 3,        /* reason; index/err of the first failed thaw, or -1/0 */
};

enum thaw_reason {
        THAW_TOLD = 1,
        THAW_TIMEOUT = 2,
        THAW_PARENT_GONE = 3,
};

struct msg {
        int32_t kind;
        int32_t reason;
        int32_t index;
        int32_t err;
};

struct freezer {
        pid_t pid;
        int sock;
        size_t n;
        char **paths;
        int *fds; /* the agent's own descriptors of the N mountpoints, to thaw if the watchdog dies */
        char *marker; /* removed once nothing can be left frozen; NULL for none */
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
        got_signal = sig;
}

static int fail(char *err, size_t errlen, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
        va_list ap;

        if (err && errlen) {
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return r;
}

static int send_msg(int sock, const struct msg *m)
{
        const char *p = (const char *)m;
        size_t left = sizeof *m;

        while (left > 0) {
                ssize_t w = send(sock, p, left, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return -errno;
                p += w;
                left -= (size_t)w;
        }
        return 0;
}

/* 0, -EPIPE at EOF, or -errno. */
static int recv_msg(int sock, struct msg *m)
{
        char *p = (char *)m;
        size_t left = sizeof *m;

        while (left > 0) {
                ssize_t r = recv(sock, p, left, 0);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -EPIPE;
                p += r;
                left -= (size_t)r;
        }
        return 0;
}

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void thaw_all(const int *fds, size_t n, struct msg *m)
{
        m->index = -1;
        m->err = 0;
        for (size_t i = 0; i < n; i++)
                if (ioctl(fds[i], FITHAW, 0) < 0 && m->index < 0) {
                        m->index = (int32_t)i;
                        m->err = errno;
                }
}

static bool is_kept(int fd, int sock, const int *fds, size_t n)
{
        if (fd == sock)
                return true;
        for (size_t i = 0; i < n; i++)
                if (fds[i] == fd)
                        return true;
        return false;
}

/* The watchdog: never returns. */
static __attribute__((noreturn)) void watchdog(int sock, const int *fds, size_t n, unsigned timeout_seconds,
                                               pid_t parent)
{
        struct sigaction sa;
        struct msg m = { 0 };
        int64_t deadline;
        long maxfd;
        int null;

        /* Out of the agent's process group: a kill of the group must not stop us thawing. */
        (void)setpgid(0, 0);
        (void)prctl(PR_SET_NAME, "opsagent-freeze"); /* what `ps` shows while something is frozen */
        (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        /* Hold nothing of the agent's but our socket and the mountpoints; never write to a
         * file that might be on a frozen filesystem. */
        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
                dup2(null, 0);
                dup2(null, 1);
                dup2(null, 2);
        }
        maxfd = sysconf(_SC_OPEN_MAX);
        if (maxfd < 0 || maxfd > 65536)
                maxfd = 65536;
        for (int fd = 3; fd < maxfd; fd++)
                if (!is_kept(fd, sock, fds, n))
                        (void)close(fd);

        if (getppid() != parent)
                _exit(2); /* the agent died before we froze anything */

        for (size_t i = 0; i < n; i++) {
                if (ioctl(fds[i], FIFREEZE, 0) < 0) {
                        struct msg t;
                        m.kind = MSG_FREEZE_FAILED;
                        m.index = (int32_t)i;
                        m.err = errno;
                        thaw_all(fds, i, &t);
                        (void)send_msg(sock, &m);
                        _exit(1);
                }
        }
        m.kind = MSG_FROZEN;
        (void)send_msg(sock, &m);

        deadline = now_ms() + (int64_t)timeout_seconds * 1000;
        m.reason = THAW_TIMEOUT;
        for (;;) {
                struct pollfd p = { .fd = sock, .events = POLLIN };
                int64_t left = deadline - now_ms();
                int r;

                if (got_signal || getppid() != parent) {
                        m.reason = THAW_PARENT_GONE;
                        break;
                }
                if (left <= 0)
                        break;
                r = poll(&p, 1, (int)(left < FREEZE_POLL_MS ? left : FREEZE_POLL_MS));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        m.reason = THAW_PARENT_GONE;
                        break;
                }
                if (r > 0) {
                        char c;
                        ssize_t got = recv(sock, &c, 1, 0);
                        if (got < 0 && errno == EINTR)
                                continue;
                        m.reason = got == 1 && c == 'T' ? THAW_TOLD : THAW_PARENT_GONE;
                        break;
                }
        }
        thaw_all(fds, n, &m);
        m.kind = MSG_THAWED;
        (void)send_msg(sock, &m);
        _exit(m.index < 0 ? 0 : 1);
}

int freeze_allowed(const char *path, const char *root, const char *const *protected_paths, char *why,
                   size_t whylen)
{
        int fd = open(path, O_PATH | O_CLOEXEC), r;

        if (fd < 0)
                return fail(why, whylen, -errno, "%s: cannot stat: %s", path, strerror(errno));
        r = freeze_allowed_fd(fd, path, root, protected_paths, why, whylen);
        close(fd);
        return r;
}

int freeze_allowed_fd(int fd, const char *path, const char *root, const char *const *protected_paths, char *why,
                      size_t whylen)
{
        struct stat st, other;

        if (fstat(fd, &st) < 0)
                return fail(why, whylen, -errno, "%s: cannot stat: %s", path, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return fail(why, whylen, -ENOTDIR, "%s: not a directory", path);
        if (stat("/", &other) == 0 && other.st_dev == st.st_dev)
                return fail(why, whylen, -EPERM, "%s is on the root filesystem, which is never frozen", path);
        if (root && root[0] && stat(root, &other) == 0 && other.st_dev == st.st_dev)
                return fail(why, whylen, -EPERM, "%s is on the filesystem of the root prefix %s, which is never "
                            "frozen", path, root);
        for (const char *const *p = protected_paths; p && *p; p++)
                if (stat(*p, &other) == 0 && other.st_dev == st.st_dev)
                        return fail(why, whylen, -EPERM, "%s is on the filesystem holding the agent's %s, which "
                                    "is never frozen", path, *p);
        return 0;
}

static void freezer_free(struct freezer *f)
{
        if (!f)
                return;
        if (f->sock >= 0)
                close(f->sock);
        for (size_t i = 0; f->paths && i < f->n; i++)
                free(f->paths[i]);
        for (size_t i = 0; f->fds && i < f->n; i++)
                if (f->fds[i] >= 0)
                        close(f->fds[i]);
        free(f->paths);
        free(f->fds);
        free(f->marker);
        free(f);
}

int freeze_start(const char *const *paths, const int *given_fds, size_t n, unsigned timeout_seconds,
                 const char *marker, struct freezer **ret, char *err, size_t errlen)
{
        struct freezer *f = NULL;
        int fds[FREEZE_PATHS_MAX];
        dev_t devs[FREEZE_PATHS_MAX];
        size_t nfd = 0;
        int sv[2] = { -1, -1 };
        struct msg m;
        pid_t parent = getpid(), pid;
        int r;

        if (n == 0 || n > FREEZE_PATHS_MAX || timeout_seconds == 0)
                return fail(err, errlen, -EINVAL, "freeze: %zu paths (1 to %d) and timeout %u s (at least 1)", n,
                            FREEZE_PATHS_MAX, timeout_seconds);
        f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        f->sock = -1;
        f->paths = calloc(n, sizeof *f->paths);
        f->fds = calloc(n, sizeof *f->fds);
        if (!f->paths || !f->fds) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n; i++)
                f->fds[i] = -1; /* filled when the watchdog has frozen them all */
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                bool dup = false;
                int fd = given_fds ? fcntl(given_fds[i], F_DUPFD_CLOEXEC, 3)
                                   : open(paths[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                if (fd < 0 || fstat(fd, &st) < 0) {
                        r = fail(err, errlen, -errno, "freeze: cannot open %s: %s", paths[i], strerror(errno));
                        if (fd >= 0)
                                close(fd);
                        goto out;
                }
                for (size_t j = 0; j < nfd; j++)
                        dup = dup || devs[j] == st.st_dev;
                if (dup) {
                        close(fd);
                        continue;
                }
                f->paths[nfd] = strdup(paths[i]);
                if (!f->paths[nfd]) {
                        close(fd);
                        r = -ENOMEM;
                        goto out;
                }
                devs[nfd] = st.st_dev;
                fds[nfd++] = fd;
                f->n = nfd;
        }
        if (marker) {
                f->marker = strdup(marker);
                if (!f->marker) {
                        r = -ENOMEM;
                        goto out;
                }
                r = freeze_marker_write(marker, (const char *const *)f->paths, nfd, err, errlen);
                if (r < 0) {
                        free(f->marker); /* not ours to remove */
                        f->marker = NULL;
                        goto out;
                }
        }
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                r = fail(err, errlen, -errno, "freeze: socketpair: %s", strerror(errno));
                goto out;
        }
        pid = fork();
        if (pid < 0) {
                r = fail(err, errlen, -errno, "freeze: cannot start the watchdog: %s", strerror(errno));
                goto out;
        }
        if (pid == 0) {
                close(sv[0]);
                watchdog(sv[1], fds, nfd, timeout_seconds, parent);
        }
        close(sv[1]); /* so that a dead watchdog reads as EOF */
        sv[1] = -1;
        f->pid = pid;
        f->sock = sv[0];
        sv[0] = -1;
        r = recv_msg(f->sock, &m);
        if (r < 0 || m.kind != MSG_FROZEN) {
                int status;
                if (r == 0 && m.kind == MSG_FREEZE_FAILED && m.index >= 0 && (size_t)m.index < nfd)
                        r = fail(err, errlen, -m.err, "freeze: FIFREEZE %s: %s", f->paths[m.index], strerror(m.err));
                else
                        r = fail(err, errlen, -ECHILD, "freeze: the watchdog died before freezing");
                (void)waitpid(f->pid, &status, 0);
                goto out;
        }
        /* The watchdog has its own copies; ours only serve to thaw should it die. */
        memcpy(f->fds, fds, nfd * sizeof *fds);
        nfd = 0;
        *ret = f;
        f = NULL;
        r = 0;
out:
        for (size_t i = 0; i < nfd; i++)
                close(fds[i]);
        if (sv[0] >= 0)
                close(sv[0]);
        if (sv[1] >= 0)
                close(sv[1]);
        if (f && f->marker)
                (void)unlink(f->marker); /* failed: nothing is left frozen */
        freezer_free(f);
        return r;
}

pid_t freeze_watchdog_pid(const struct freezer *f)
{
        return f ? f->pid : -1;
}

/* FITHAW: 1 when it was frozen and is now thawed, 0 when it was not frozen (EINVAL), -errno. */
static int thaw_fd(int fd)
{
        if (ioctl(fd, FITHAW, 0) == 0)
                return 1;
        return errno == EINVAL ? 0 : -errno;
}

/* The watchdog died without saying it thawed (someone SIGKILLed it): thaw from here. */
static int thaw_orphaned(struct freezer *f, char *err, size_t errlen)
{
        size_t thawed = 0;

        for (size_t i = 0; i < f->n; i++) {
                int r = thaw_fd(f->fds[i]);

                if (r < 0)
                        return fail(err, errlen, -EIO, "freeze: the watchdog died, and FITHAW %s failed: %s; "
                                    "thaw it with fsfreeze -u %s", f->paths[i], strerror(-r), f->paths[i]);
                thawed += (size_t)r;
        }
        if (thawed > 0)
                return fail(err, errlen, -ECHILD, "freeze: the watchdog died while %s was frozen; the agent "
                            "thawed it itself%s", f->paths[0], f->n > 1 ? " (and the other mountpoints)" : "");
        return fail(err, errlen, -ECHILD, "freeze: the watchdog died; %s was found thawed", f->paths[0]);
}

int freeze_thaw(struct freezer *f, char *err, size_t errlen)
{
        struct msg m = { 0 };
        char c = 'T';
        int r, status;

        if (!f)
                return 0;
        (void)send(f->sock, &c, 1, MSG_NOSIGNAL); /* fails harmlessly if it already thawed */
        r = recv_msg(f->sock, &m);
        while (waitpid(f->pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0 || m.kind != MSG_THAWED)
                r = thaw_orphaned(f, err, errlen);
        else if (m.index >= 0 && (size_t)m.index < f->n)
                r = fail(err, errlen, -EIO, "freeze: FITHAW %s: %s", f->paths[m.index], strerror(m.err));
        else if (m.reason == THAW_TIMEOUT)
                r = fail(err, errlen, -ETIME, "freeze: the watchdog thawed after timeout_seconds, before the "
                         "snapshot calls returned: the snapshots may not be consistent");
        else
                r = 0;
        if (f->marker && r != -EIO)
                (void)unlink(f->marker); /* on -EIO it stays, for `opsagent recover` to try again */
        freezer_free(f);
        return r;
}

int freeze_marker_write(const char *marker, const char *const *paths, size_t n, char *err, size_t errlen)
{
        json_object *arr = json_object_new_array(), *root = json_object_new_object();
        const char *text;
        char *line = NULL;
        int r;

        if (!arr || !root) {
                json_object_put(arr);
                json_object_put(root);
                return -ENOMEM;
        }
        json_object_object_add(root, "paths", arr);
        for (size_t i = 0; i < n; i++)
                if (json_object_array_add(arr, json_object_new_string(paths[i])) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
        json_object_object_add(root, "pid", json_object_new_int((int)getpid()));
        text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
        if (!text) {
                r = -ENOMEM;
                goto out;
        }
        if (asprintf(&line, "%s\n", text) < 0) {
                line = NULL;
                r = -ENOMEM;
                goto out;
        }
        r = write_file_atomic(marker, line, strlen(line), 0600);
        if (r < 0)
                r = fail(err, errlen, r, "cannot write %s: %s", marker, strerror(-r));
out:
        free(line);
        json_object_put(root);
        return r;
}

void freeze_strv_free(char **v)
{
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

int freeze_marker_read(const char *marker, char ***ret, char *err, size_t errlen)
{
        char buf[FREEZE_MARKER_MAX + 1];
        json_object *root = NULL, *arr;
        char **v = NULL;
        ssize_t got;
        size_t n;
        int fd, r;

        fd = open(marker, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT : fail(err, errlen, -errno, "cannot open %s: %s", marker,
                                                        strerror(errno));
        got = read(fd, buf, sizeof buf);
        r = -errno;
        close(fd);
        if (got < 0)
                return fail(err, errlen, r, "cannot read %s: %s", marker, strerror(-r));
        if ((size_t)got > FREEZE_MARKER_MAX)
                return fail(err, errlen, -EBADMSG, "%s: larger than %d bytes: not a freeze marker", marker,
                            FREEZE_MARKER_MAX);
        buf[got] = '\0';
        root = json_tokener_parse(buf);
        if (!root || !json_object_object_get_ex(root, "paths", &arr) || !json_object_is_type(arr, json_type_array)) {
                r = fail(err, errlen, -EBADMSG, "%s: not a freeze marker (no \"paths\" array)", marker);
                goto out;
        }
        n = json_object_array_length(arr);
        if (n > FREEZE_PATHS_MAX) {
                r = fail(err, errlen, -EBADMSG, "%s: more than %d paths", marker, FREEZE_PATHS_MAX);
                goto out;
        }
        v = calloc(n + 1, sizeof *v);
        if (!v) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *p = json_object_array_get_idx(arr, i);

                if (!json_object_is_type(p, json_type_string) || json_object_get_string(p)[0] != '/') {
                        r = fail(err, errlen, -EBADMSG, "%s: paths[%zu] is not an absolute path", marker, i);
                        goto out;
                }
                v[i] = strdup(json_object_get_string(p));
                if (!v[i]) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        *ret = v;
        v = NULL;
        r = 0;
out:
        freeze_strv_free(v);
        json_object_put(root);
        return r;
}

int freeze_thaw_path(const char *path)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

        if (fd < 0)
                return -errno;
        r = thaw_fd(fd);
        close(fd);
        return r;
}
