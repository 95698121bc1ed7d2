/* logrotate recipe: what may be rotated, and whom signalled, in trees other users can write
 * (see lr_trust.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lr_trust.h"
#include "util/pathres.h"

#define LR_PIDFILE_MAX 64               /* bytes of a pidfile read */
#define LR_PROC_STAT_MAX 4096           /* bytes of /proc/PID/stat and status read */
#define LR_PIDFILE_SLACK_S 2            /* a process may write its pidfile this long before its start */

struct walk_state {
        struct lr_dir_trust *t;
        char *why;
        int r;
};

static const char *user_name(uid_t uid, char *buf, size_t len)
{
        struct passwd *pw = getpwuid(uid);

        if (pw)
                snprintf(buf, len, "%s", pw->pw_name);
        else
                snprintf(buf, len, "uid %u", (unsigned)uid);
        return buf;
}

static int visit_dir(int fd, const struct stat *st, const char *path, void *userdata)
{
        struct walk_state *w = userdata;
        char who[64];

        (void)fd;
        if (strcmp(path, "/") == 0)
                return 0;       /* the root prefix itself is the operator's */
        if ((st->st_mode & S_IWOTH) && !(st->st_mode & S_ISVTX)) {
                if (asprintf(&w->why, "directory %s (owner %s, mode %04o) is writable by others: anyone could "
                             "put a link on the way; refusing to rotate beneath it (chmod o-w)", path,
                             user_name(st->st_uid, who, sizeof(who)), (unsigned)(st->st_mode & 07777)) < 0)
                        w->why = NULL;
                return -EPERM;
        }
        /* as the log's own directory (lr_check_dir_secure()): a group's members other than root
         * could swap what is beneath for a link between the check and the rename */
        if ((st->st_mode & S_IWGRP) && st->st_gid != 0 && !(st->st_mode & S_ISVTX)) {
                if (asprintf(&w->why, "directory %s (owner %s, group %u, mode %04o) is writable by a group other "
                             "than root's: its members could put a link on the way; refusing to rotate beneath it "
                             "(chmod g-w)", path, user_name(st->st_uid, who, sizeof(who)), (unsigned)st->st_gid,
                             (unsigned)(st->st_mode & 07777)) < 0)
                        w->why = NULL;
                return -EPERM;
        }
        if (st->st_uid != 0 && !w->t->user_owned) {
                w->t->user_owned = true;
                w->t->uid = st->st_uid;
                w->t->gid = st->st_gid;
        }
        return 0;
}

int lr_trust_dir(struct lr_run *run, const char *dir_rel, struct lr_dir_trust *ret, char **ret_why)
{
        struct lr_dir_trust t = { 0 };
        struct walk_state w = { .t = &t };
        struct stat st;
        int fd = -1, r;

        *ret_why = NULL;
        r = pathres_walk(run->root_fd, dir_rel, O_PATH | O_DIRECTORY, 0, visit_dir, &w, &fd);
        if (r == -ELOOP || r == -ENOTDIR) {
                if (asprintf(ret_why, "a component of %s is a symbolic link (or not a directory): links on the way "
                             "to a log are never followed, as a user who owns a directory there could send the "
                             "rotation anywhere; list the real path", dir_rel) < 0)
                        *ret_why = NULL;
                return -ELOOP;
        }
        if (r < 0) {
                *ret_why = w.why;
                return r;
        }
        if (fstat(fd, &st) < 0)
                r = -errno;
        else
                r = visit_dir(fd, &st, dir_rel, &w);
        close(fd);
        if (r < 0) {
                *ret_why = w.why;
                return r;
        }
        *ret = t;
        return 0;
}

void lr_writers_free(struct lr_writer *w, size_t n)
{
        for (size_t i = 0; w && i < n; i++) {
                if (w[i].pidfd >= 0)
                        close(w[i].pidfd);
                free(w[i].pidfile);
        }
        free(w);
}

int lr_writer_signal(const struct lr_writer *w, int signo)
{
        if (w->pidfd >= 0)
                return syscall(SYS_pidfd_send_signal, w->pidfd, signo, NULL, 0) < 0 ? -errno : 0;
        return kill(w->pid, signo) < 0 ? -errno : 0;
}

/* Reads /proc/PID/NAME beneath FD (a descriptor of /proc/PID) into BUF. */
static int read_proc(int pfd, const char *name, char *buf, size_t len)
{
        int fd = openat(pfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read(fd, buf, len - 1);
        close(fd);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return 0;
}

/* The real and effective uid of the process of PFD, and when it started (seconds since the
 * epoch). */
static int proc_facts(int pfd, uid_t *ret_ruid, uid_t *ret_euid, time_t *ret_start)
{
        char buf[LR_PROC_STAT_MAX], *p;
        unsigned long long start_ticks = 0, btime = 0;
        unsigned ruid, euid;
        long hz = sysconf(_SC_CLK_TCK);
        FILE *f;
        int r;

        r = read_proc(pfd, "status", buf, sizeof(buf));
        if (r < 0)
                return r;
        p = strstr(buf, "\nUid:");
        if (!p || sscanf(p, "\nUid: %u %u", &ruid, &euid) != 2)
                return -EBADMSG;
        r = read_proc(pfd, "stat", buf, sizeof(buf));
        if (r < 0)
                return r;
        p = strrchr(buf, ')');          /* the command name may hold anything */
        /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
         * utime stime cutime cstime priority nice threads itrealvalue starttime(22) */
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                         &start_ticks) != 1 || hz <= 0)
                return -EBADMSG;
        f = fopen("/proc/stat", "re");
        if (!f)
                return -errno;
        while (fgets(buf, sizeof(buf), f))
                if (sscanf(buf, "btime %llu", &btime) == 1)
                        break;
        fclose(f);
        if (!btime)
                return -EBADMSG;
        *ret_ruid = ruid;
        *ret_euid = euid;
        *ret_start = (time_t)(btime + start_ticks / (unsigned long long)hz);
        return 0;
}

/* Checks the pidfile PATH (real path; REL beneath the root) for a log of LOG_UID; on success
 * *ret is a writer to signal. Else says why and returns -EPERM (or -errno). */
static int check_pidfile(struct lr_run *run, const struct lr_set *set, const char *path, const char *rel,
                         uid_t log_uid, struct lr_writer *ret)
{
        char buf[LR_PIDFILE_MAX + 1] = "", who[64], who2[64], exe[4096], *end, *dir = NULL, procpath[64];
        struct stat st, dst;
        uid_t ruid = 0, euid = 0;
        time_t start = 0;
        long pid;
        ssize_t n;
        int fd = -1, pfd = -1, pidfd = -1, r;
        const char *slash;

        fd = pathres_open(run->root_fd, rel, O_RDONLY | O_NONBLOCK, 0, 0);
        if (fd < 0) {
                ctx_say(run->ctx, "warning: pidfile %s: %s; not trusted", path,
                        fd == -ELOOP ? "a symbolic link is on its way" : strerror(-fd));
                return fd == -ELOOP ? -EPERM : fd;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                r = -EPERM;
                ctx_say(run->ctx, "warning: pidfile %s is no regular file; not trusted", path);
                goto out;
        }
        if (st.st_uid != 0 && st.st_uid != log_uid) {
                r = -EPERM;
                ctx_say(run->ctx, "warning: pidfile %s is owned by %s, not by root or by %s who owns the log: not "
                        "trusted, no signal", path, user_name(st.st_uid, who, sizeof(who)),
                        user_name(log_uid, who2, sizeof(who2)));
                goto out;
        }
        if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0)) {
                r = -EPERM;
                ctx_say(run->ctx, "warning: pidfile %s (owner %s, mode %04o) can be written by %s: not trusted, no "
                        "signal (chmod go-w %s)", path, user_name(st.st_uid, who, sizeof(who)),
                        (unsigned)(st.st_mode & 07777), st.st_mode & S_IWOTH ? "others" : "its group", path);
                goto out;
        }
        slash = strrchr(rel, '/');
        dir = slash && slash != rel ? strndup(rel, (size_t)(slash - rel)) : strdup("/");
        if (!dir) {
                r = -ENOMEM;
                goto out;
        }
        r = pathres_stat(run->root_fd, dir, &dst, 0);
        if (r < 0 || (dst.st_mode & S_IWOTH)) {
                ctx_say(run->ctx, "warning: pidfile %s is in a directory that others can write (mode %04o): not "
                        "trusted, no signal", path, r < 0 ? 0 : (unsigned)(dst.st_mode & 07777));
                r = -EPERM;
                goto out;
        }
        n = read(fd, buf, LR_PIDFILE_MAX);
        if (n < 0) {
                r = -errno;
                goto out;
        }
        buf[n] = '\0';
        errno = 0;
        pid = strtol(buf, &end, 10);
        if (errno || pid <= 1 || end == buf || (*end && !isspace((unsigned char)*end))) {
                r = -EPERM;
                ctx_say(run->ctx, "warning: pidfile %s holds no process id other than 1: not trusted, no signal", path);
                goto out;
        }
        /* the pidfd first: whatever is checked below is then the process that gets the signal */
        pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
        if (pidfd < 0 && errno != ENOSYS) {
                r = -errno;
                ctx_say(run->ctx, "pidfile %s names process %ld, which does not run (%s): nobody to tell", path, pid,
                        strerror(-r));
                if (r == -ESRCH)
                        r = -ENOENT;    /* a stale pidfile: no writer, not a refusal */
                goto out;
        }
        snprintf(procpath, sizeof(procpath), "/proc/%ld", pid);
        pfd = open(procpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0 || proc_facts(pfd, &ruid, &euid, &start) < 0) {
                r = -EPERM;
                ctx_say(run->ctx, "warning: pidfile %s: cannot see process %ld in /proc: no signal", path, pid);
                goto out;
        }
        if (!((ruid == log_uid && euid == log_uid) || (st.st_uid == 0 && ruid == 0 && euid == 0))) {
                r = -EPERM;
                ctx_say(run->ctx, "warning: pidfile %s (owner %s) names process %ld, which runs as %s: only a process "
                        "of %s%s, who owns the log, is signalled for it; no signal", path,
                        user_name(st.st_uid, who, sizeof(who)), pid, user_name(euid, who2, sizeof(who2)),
                        user_name(log_uid, exe, sizeof(exe)), st.st_uid == 0 && log_uid != 0 ? " (or of root)" : "");
                goto out;
        }
        if (start > st.st_mtime + LR_PIDFILE_SLACK_S) {
                r = -EPERM;
                ctx_say(run->ctx, "warning: pidfile %s was written before process %ld started: its pid was reused by "
                        "another process; no signal", path, pid);
                goto out;
        }
        if (set->reopen_exe) {
                n = readlinkat(pfd, "exe", exe, sizeof(exe) - 1);
                if (n < 0 || (exe[n] = '\0', strcmp(exe, set->reopen_exe) != 0)) {
                        r = -EPERM;
                        ctx_say(run->ctx, "warning: pidfile %s names process %ld, which runs %s, not reopen.exe %s: no "
                                "signal", path, pid, n < 0 ? "(unknown)" : exe, set->reopen_exe);
                        goto out;
                }
        }
        ret->pidfile = strdup(path);
        if (!ret->pidfile) {
                r = -ENOMEM;
                goto out;
        }
        ret->pid = (pid_t)pid;
        ret->pidfd = pidfd;
        pidfd = -1;
        r = 0;
out:
        if (pidfd >= 0)
                close(pidfd);
        if (pfd >= 0)
                close(pfd);
        if (fd >= 0)
                close(fd);
        free(dir);
        return r;
}

int lr_trusted_writers(struct lr_run *run, const struct lr_set *set, uid_t log_uid, struct lr_writer **ret,
                       size_t *ret_n, size_t *ret_refused)
{
        char *pattern = ctx_path(run->ctx, set->reopen_pidfile);
        struct lr_writer *list = NULL;
        size_t n = 0, refused = 0, rootlen = strlen(run->root);
        glob_t g = { 0 };
        int r = 0;

        if (!pattern)
                return -ENOMEM;
        if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
                list = calloc(g.gl_pathc, sizeof(*list));
                if (!list) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        for (size_t i = 0; list && i < g.gl_pathc; i++) {
                const char *p = g.gl_pathv[i];
                const char *rel = strncmp(p, run->root, rootlen) == 0 ? p + rootlen : p;
                int k = check_pidfile(run, set, p, rel, log_uid, &list[n]);
                if (k == -ENOMEM) {
                        r = k;
                        goto out;
                }
                if (k == 0)
                        n++;
                else if (k != -ENOENT)
                        refused++;
        }
        *ret = list;
        *ret_n = n;
        *ret_refused = refused;
        list = NULL;
        n = 0;
out:
        lr_writers_free(list, n);
        globfree(&g);
        free(pattern);
        return r;
}

int lr_rotation_cred(struct lr_run *run, const struct lr_set *set, const struct lr_dir_trust *t,
                     struct lr_cred *ret)
{
        struct lr_cred c = { 0 };

        if (set->su_user) {
                struct passwd *pw = getpwnam(set->su_user);
                if (!pw) {
                        ctx_say(run->ctx, "error: su.user \"%s\" of set %s: no such user", set->su_user, set->name);
                        return -ESRCH;
                }
                c = (struct lr_cred){ .set = pw->pw_uid != 0, .uid = pw->pw_uid, .gid = pw->pw_gid };
                if (set->su_group) {
                        struct group *gr = getgrnam(set->su_group);
                        if (!gr) {
                                ctx_say(run->ctx, "error: su.group \"%s\" of set %s: no such group", set->su_group,
                                        set->name);
                                return -ESRCH;
                        }
                        c.gid = gr->gr_gid;
                        c.set = c.set || c.gid != 0;
                }
        } else if (t->user_owned)
                c = (struct lr_cred){ .set = true, .uid = t->uid, .gid = t->gid };
        if (c.set && geteuid() != 0)
                c.set = false;          /* not root: we are someone already, and the kernel knows whom */
        *ret = c;
        return 0;
}

int lr_run_as(struct lr_run *run, int (*fn)(struct lr_run *run, void *arg), void *arg)
{
        int status, code;
        pid_t pid;

        fflush(NULL);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int r;
                /* confined to the root (--root): the child sees nothing above it, and the rotation
                 * needs no right to search the directories above it ("/" may be 0700) */
                if (run->root[0]) {
                        if (fchdir(run->root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0) {
                                ctx_say(run->ctx, "error: cannot confine the rotation as uid %u to the root %s: %s",
                                        (unsigned)run->cred.uid, run->root, strerror(errno));
                                fflush(NULL);
                                _exit(100 + EPERM);
                        }
                        run->root_strip = strlen(run->root);
                        run->root = "";
                }
                if (setgroups(1, &run->cred.gid) < 0 || setgid(run->cred.gid) < 0 || setuid(run->cred.uid) < 0) {
                        int e = errno;

                        /* without it nothing of that user's can be rotated: say why, once per log */
                        ctx_say(run->ctx, "error: cannot become uid %u gid %u, who own the log's directory, to rotate it "
                                "as them: %s%s", (unsigned)run->cred.uid, (unsigned)run->cred.gid, strerror(e),
                                e == EPERM ? " (the agent needs CAP_SETUID and CAP_SETGID: a unit drop-in that "
                                "narrows CapabilityBoundingSet must keep them)" : "");
                        fflush(NULL);
                        _exit(100 + EPERM);
                }
                if (run->cred.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
                        _exit(100 + EPERM);
                run->in_child = true;
                r = fn(run, arg);
                if (lr_flush_dirty(run) < 0 && r == 0)
                        r = -EIO;
                fflush(NULL);
                if (r < 0)
                        _exit(100 + (-r < 155 ? -r : EIO));
                _exit(r <= LR_RUN_AS_MAX_CODE ? r : 0);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status))
                return -ECHILD;
        code = WEXITSTATUS(status);
        return code >= 100 ? -(code - 100) : code;
}
