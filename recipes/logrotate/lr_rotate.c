/* logrotate recipe: the rotation engine. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lr_compress.h"
#include "lr_names.h"
#include "lr_rotate.h"
#include "util/fileio.h"

#define LR_COPY_BUFSIZE (1024 * 1024)
#define LR_CATCHUP_ROUNDS 16          /* copytruncate: copy-what-was-appended passes at most */
#ifndef LR_FINAL_TRIES                /* (a unit test builds it with 1) */
#define LR_FINAL_TRIES 10             /* copytruncate: last passes at most, to end between lines */
#endif
#define LR_FINAL_WAIT_MS 2            /* copytruncate: pause between two of them */
#define LR_ACTIVE_MS 1000             /* copytruncate: a log written to this recently has a writer */
#define LR_POLL_MS 10                 /* reopen: how often the files are looked at */
#define LR_COMPARE_BYTES 65536        /* copytruncate recovery: bytes compared */

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static bool exists(const char *path)
{
        struct stat st;
        return lstat(path, &st) == 0;
}

static char *join(const char *dir, const char *name)
{
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return NULL;
        return p;
}

static char *join3(const char *a, const char *b, const char *c)
{
        char *p = NULL;
        if (asprintf(&p, "%s%s%s", a, b, c) < 0)
                return NULL;
        return p;
}

static const char *human(uint64_t n, char *buf, size_t len)
{
        if (n >= 1024ULL * 1024 * 1024)
                snprintf(buf, len, "%.1f GiB", (double)n / (1024.0 * 1024 * 1024));
        else if (n >= 1024 * 1024)
                snprintf(buf, len, "%.1f MiB", (double)n / (1024.0 * 1024));
        else if (n >= 1024)
                snprintf(buf, len, "%.1f KiB", (double)n / 1024.0);
        else
                snprintf(buf, len, "%" PRIu64 " B", n);
        return buf;
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

/* Days since 1970-01-01 of the calendar date in TM (its time of day ignored). */
static int64_t civil_day(const struct tm *tm)
{
        struct tm d = { .tm_year = tm->tm_year, .tm_mon = tm->tm_mon, .tm_mday = tm->tm_mday };
        return (int64_t)timegm(&d) / 86400;
}

enum lr_due lr_is_due(const struct lr_set *s, const struct stat *st, bool have_last, time_t last,
                      time_t now, const char **ret_reason)
{
        struct tm tn, tl;
        bool due = false;
        const char *why = "not due yet";

        if (s->notifempty && st->st_size == 0) {
                *ret_reason = "empty (notifempty)";
                return LR_NOT_DUE;
        }
        if (s->size) {
                due = (uint64_t)st->st_size >= s->size;
                *ret_reason = due ? "size reached" : "below size";
                return due ? LR_DUE : LR_NOT_DUE;
        }
        if (!have_last)
                why = "first seen; recorded";
        else {
                localtime_r(&now, &tn);
                localtime_r(&last, &tl);
                switch (s->frequency) {
                case LR_FREQ_HOURLY:
                        due = tn.tm_hour != tl.tm_hour || tn.tm_yday != tl.tm_yday || tn.tm_year != tl.tm_year;
                        break;
                case LR_FREQ_DAILY:
                        due = tn.tm_yday != tl.tm_yday || tn.tm_year != tl.tm_year;
                        break;
                case LR_FREQ_WEEKLY:
                        /* logrotate 3.21: a week of calendar days since the last rotation */
                        due = civil_day(&tn) - civil_day(&tl) >= 7;
                        break;
                case LR_FREQ_MONTHLY:
                        due = tn.tm_mon != tl.tm_mon || tn.tm_year != tl.tm_year;
                        break;
                case LR_FREQ_YEARLY:
                        due = tn.tm_year != tl.tm_year;
                        break;
                case LR_FREQ_NONE:
                        due = true;
                        break;
                }
                if (due)
                        why = "period elapsed";
        }
        if (s->maxsize && (uint64_t)st->st_size > s->maxsize) {
                due = true;
                why = "over maxsize";
        }
        if (due && s->minsize && (uint64_t)st->st_size < s->minsize) {
                due = false;
                why = "below minsize";
        }
        *ret_reason = why;
        return due ? LR_DUE : LR_NOT_DUE;
}

int lr_check_dir_secure(const char *dir, char **ret_reason)
{
        struct stat st;

        if (stat(dir, &st) < 0)
                return -errno;
        if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0)) {
                if (ret_reason && asprintf(ret_reason,
                                           "directory %s is writable by %s (mode %04o): refusing to rotate "
                                           "there, as logrotate does; remove the write bit (chmod o-w,g-w)",
                                           dir, (st.st_mode & S_IWOTH) ? "others" : "a group other than root",
                                           (unsigned)(st.st_mode & 07777)) < 0)
                        *ret_reason = NULL;
                return -EPERM;
        }
        return 0;
}

/* ---- journal helpers ---- */

static int journal(struct lr_run *run, const char *step, const char *const *kv)
{
        json_object *o = json_object_new_object();
        int r = -ENOMEM;

        if (!o)
                return -ENOMEM;
        if (json_object_object_add(o, "step", json_object_new_string(step)) < 0)
                goto out;
        for (size_t i = 0; kv[i]; i += 2)
                if (kv[i + 1] && json_object_object_add(o, kv[i], json_object_new_string(kv[i + 1])) < 0)
                        goto out;
        if (json_object_object_add(o, "time", json_object_new_int64((int64_t)run->now)) < 0)
                goto out;
        r = lr_journal_write(run->state_dir, o);
out:
        json_object_put(o);
        return r;
}

static const char *jstr(json_object *o, const char *key)
{
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* ---- compression step ---- */

/* Compresses rotated file SRC (full path) to SRC+ext, then removes SRC. */
static int compress_step(struct lr_run *run, const struct lr_set *set, const char *src)
{
        char *dst = join3(src, lr_compression_ext(set->compress), "");
        uint64_t in = 0, out = 0;
        char b1[32], b2[32];
        int r;

        if (!dst)
                return -ENOMEM;
        if (exists(dst)) {
                ctx_say(run->ctx, "warning: not compressing %s: %s exists already; move one of them away",
                        src, dst);
                r = -EEXIST;
                goto out;
        }
        r = journal(run, "compress", (const char *const[]){ "src", src, "dst", dst, NULL });
        if (r < 0)
                goto out;
        r = lr_compress_file(src, dst, set->compress, set->compress_level, &in, &out);
        if (r < 0) {
                ctx_say(run->ctx, "error: compressing %s with %s failed: %s; kept it uncompressed and complete",
                        src, lr_compression_name(set->compress), strerror(-r));
                (void)lr_journal_clear(run->state_dir);
                goto out;
        }
        if (unlink(src) < 0) {
                r = -errno;
                goto out;
        }
        (void)fsync_parent_dir(src);
        r = lr_journal_clear(run->state_dir);
        run->stats.bytes_compressed += out;
        ctx_log(run->ctx, OPSAGENT_LOG_INFO, "compressed %s (%s -> %s)", src, human(in, b1, sizeof(b1)),
                human(out, b2, sizeof(b2)));
out:
        free(dst);
        return r;
}

/* ---- making the writer reopen ---- */

static int read_pidfile(struct lr_run *run, const char *path, pid_t *ret)
{
        char buf[32] = "", *end;
        FILE *f;
        long pid;

        f = fopen(path, "re");
        if (!f) {
                int r = -errno;
                ctx_say(run->ctx, "error: cannot read pidfile %s: %s", path, strerror(-r));
                return r;
        }
        if (!fgets(buf, sizeof(buf), f))
                buf[0] = '\0';
        fclose(f);
        pid = strtol(buf, &end, 10);
        if (pid <= 1 || (*end && *end != '\n' && *end != ' ')) {
                ctx_say(run->ctx, "error: pidfile %s holds no process id", path);
                return -EBADMSG;
        }
        *ret = (pid_t)pid;
        return 0;
}

/* Signals the process of every pidfile matching the glob PATTERN (under the root). */
static int signal_pidfiles(struct lr_run *run, const struct lr_set *set)
{
        char *pattern = ctx_path(run->ctx, set->reopen_pidfile);
        glob_t g = { 0 };
        int r = 0;

        if (!pattern)
                return -ENOMEM;
        if (glob(pattern, 0, NULL, &g) != 0) {
                ctx_say(run->ctx, "no pidfile matches %s (set %s): cannot tell the writer to reopen",
                        pattern, set->name);
                r = -ESRCH;
                goto out;
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
                pid_t pid = 0;
                int k = read_pidfile(run, g.gl_pathv[i], &pid);
                if (k == 0 && kill(pid, set->reopen_signal) < 0) {
                        k = -errno;
                        ctx_say(run->ctx, "error: sending %s to process %d (from %s) failed: %s",
                                strsignal(set->reopen_signal), (int)pid, g.gl_pathv[i], strerror(-k));
                }
                if (k < 0 && r == 0)
                        r = k;
        }
out:
        globfree(&g);
        free(pattern);
        return r;
}

static int signal_writer(struct lr_run *run, const struct lr_set *set)
{
        struct opsagent_spawn_result res = { 0 };
        int r;

        if (set->reopen_unit) {
                r = run->ctx->ops->systemd_kill_unit(run->ctx, set->reopen_unit, set->reopen_signal);
                if (r < 0)
                        ctx_say(run->ctx, "error: sending %s to unit %s through systemd failed: %s",
                                strsignal(set->reopen_signal), set->reopen_unit, strerror(-r));
                return r;
        }
        if (set->reopen_pidfile)
                return signal_pidfiles(run, set);
        if (set->reopen_command) {
                r = run->ctx->ops->spawn(run->ctx, set->reopen_command, set->reopen_timeout, &res);
                if (r < 0) {
                        ctx_say(run->ctx, "error: cannot run reopen.command %s: %s", set->reopen_command[0],
                                strerror(-r));
                        return r;
                }
                if (res.exit_status != 0) {
                        ctx_say(run->ctx, "error: reopen.command %s failed (exit %d%s): %s",
                                set->reopen_command[0], res.exit_status, res.timed_out ? ", timed out" : "",
                                res.output_tail ? res.output_tail : "");
                        r = -ECHILD;
                }
                free(res.output_tail);
                return r;
        }
        return -EINVAL;
}

/* Does any process hold PATH open for writing? 1 yes, 0 no, -errno when /proc cannot tell
 * (not mounted, or another user's processes hidden from us). Readers (tail -f, less) do not
 * count: they lose nothing when the file is compressed and removed. */
int lr_open_for_writing(const char *path)
{
        struct stat target;
        DIR *proc;
        struct dirent *pe;
        int r = 0;

        if (stat(path, &target) < 0)
                return -errno;
        proc = opendir("/proc");
        if (!proc)
                return -errno;
        if (faccessat(dirfd(proc), "self/fd", R_OK, 0) < 0) {
                closedir(proc);
                return -ENOSYS;
        }
        while (r == 0 && (pe = readdir(proc))) {
                char fddir[300];
                DIR *fds;
                struct dirent *fe;

                if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
                        continue;
                snprintf(fddir, sizeof(fddir), "/proc/%s/fd", pe->d_name);
                fds = opendir(fddir);
                if (!fds) {
                        if (errno == EACCES)
                                r = -EACCES;      /* cannot see that process's files */
                        continue;
                }
                while ((fe = readdir(fds))) {
                        struct stat st;
                        char info[600], line[64];
                        FILE *f;
                        unsigned long flags = 0;

                        if (fe->d_name[0] == '.' || fstatat(dirfd(fds), fe->d_name, &st, 0) < 0 ||
                            st.st_dev != target.st_dev || st.st_ino != target.st_ino)
                                continue;
                        snprintf(info, sizeof(info), "/proc/%s/fdinfo/%s", pe->d_name, fe->d_name);
                        f = fopen(info, "re");
                        if (!f) {
                                r = 1;            /* cannot tell its mode: assume a writer */
                                break;
                        }
                        while (fgets(line, sizeof(line), f))
                                if (sscanf(line, "flags: %lo", &flags) == 1)
                                        break;
                        fclose(f);
                        if ((flags & O_ACCMODE) != O_RDONLY) {
                                r = 1;
                                break;
                        }
                }
                closedir(fds);
        }
        closedir(proc);
        return r;
}

/* Waits until the writer has let go of ROTATED: no process holds it open for writing any more
 * (seen in /proc), or, where /proc cannot tell, LOG exists again and ROTATED has stopped growing
 * for the settle time. -ETIMEDOUT after the set's timeout. */
static int wait_reopened(const struct lr_set *set, const char *log, const char *rotated)
{
        uint64_t start = now_ms(), stable_since = start;
        off_t last = -1;
        struct stat st;

        for (;;) {
                uint64_t t = now_ms();
                off_t size = stat(rotated, &st) == 0 ? st.st_size : -1;
                int w = lr_open_for_writing(rotated);

                if (w == 0)
                        return 0;
                if (size != last) {
                        last = size;
                        stable_since = t;
                }
                if (w < 0 && exists(log) && t - stable_since >= set->reopen_settle_ms)
                        return 0;
                if (t - start >= (uint64_t)set->reopen_timeout * 1000)
                        return -ETIMEDOUT;
                sleep_ms(LR_POLL_MS);
        }
}

/* After the rename of a "reopen" set: signal, then (the signal sent, the journal's "rename"
 * step is over) wait for the writer to reopen and compress unless delayed. A run killed before
 * the signal went out sends it again on recovery. */
static int reopen_and_compress(struct lr_run *run, const struct lr_set *set, const char *log,
                               const char *rotated)
{
        int r, sent;

        sent = signal_writer(run, set);
        r = lr_journal_clear(run->state_dir);
        if (r < 0)
                return r;
        r = wait_reopened(set, log, rotated);
        if (r == -ETIMEDOUT) {
                ctx_say(run->ctx, "error: the writer of %s %s within %u s: %s is still open for writing; left "
                        "it uncompressed so that no line is lost", log,
                        sent < 0 ? "could not be told to reopen it and did not let go of it" : "did not reopen it",
                        set->reopen_timeout, base_name(rotated));
                return r;
        }
        if (r < 0)
                return r;
        if (sent < 0)
                ctx_say(run->ctx, "warning: no writer to signal for %s, and none has %s open: nothing to reopen",
                        log, base_name(rotated));
        if (set->rotate == 0) {
                if (unlink(rotated) < 0)
                        return -errno;
                return 0;
        }
        if (set->compress != LR_COMP_NONE && !set->delaycompress)
                return compress_step(run, set, rotated);
        return 0;
}

/* ---- create ---- */

/* The owner and group of the new log: create.owner and create.group, else the old log's. */
static int resolve_owner(struct lr_run *run, const struct lr_set *set, uid_t *uid, gid_t *gid)
{
        if (set->create_owner) {
                struct passwd *pw = getpwnam(set->create_owner);
                if (!pw) {
                        ctx_say(run->ctx, "error: create.owner \"%s\" of set %s: no such user", set->create_owner,
                                set->name);
                        return -ESRCH;
                }
                *uid = pw->pw_uid;
        }
        if (set->create_group) {
                struct group *gr = getgrnam(set->create_group);
                if (!gr) {
                        ctx_say(run->ctx, "error: create.group \"%s\" of set %s: no such group", set->create_group,
                                set->name);
                        return -ESRCH;
                }
                *gid = gr->gr_gid;
        }
        return 0;
}

static int create_new_log(const struct lr_set *set, const char *log, uid_t uid, gid_t gid)
{
        int fd, r = 0;

        fd = open(log, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return errno == EEXIST ? 0 : -errno;    /* the writer made it already */
        if (fchown(fd, uid, gid) < 0 && errno != EPERM)
                r = -errno;
        if (r == 0 && fchmod(fd, set->create_mode) < 0)
                r = -errno;
        close(fd);
        return r;
}

/* ---- copytruncate ---- */

/* Copies from IN at *POS to OUT until EOF or LIMIT, whichever comes first: a writer faster than
 * the copy cannot keep a pass going. *LAST_NL is moved past the last newline copied. */
static int copy_more(int in, int out, off_t *pos, off_t limit, char *buf, off_t *last_nl)
{
        while (*pos < limit) {
                size_t want = (size_t)MIN((off_t)LR_COPY_BUFSIZE, limit - *pos);
                ssize_t n = pread(in, buf, want, *pos), w = 0;
                const char *nl;
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                while (w < n) {
                        ssize_t k = write(out, buf + w, (size_t)(n - w));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0)
                                return -errno;
                        w += k;
                }
                nl = memrchr(buf, '\n', (size_t)n);
                if (nl)
                        *last_nl = *pos + (nl - buf) + 1;
                *pos += n;
        }
        return 0;
}

/* How far a pass may copy: the log's size now, plus SLACK; and when it was last written to. */
static int copy_limit(int in, off_t slack, off_t *ret, struct timespec *ret_mtime)
{
        struct stat st;
        if (fstat(in, &st) < 0)
                return -errno;
        *ret = st.st_size + slack;
        if (ret_mtime)
                *ret_mtime = st.st_mtim;
        return 0;
}

/* Was the log written to within LR_ACTIVE_MS before MTIME was read (or is MTIME ahead)? */
static bool recently(const struct timespec *mtime)
{
        struct timespec now;
        int64_t ago_ms;
        clock_gettime(CLOCK_REALTIME, &now);
        ago_ms = ((int64_t)now.tv_sec - (int64_t)mtime->tv_sec) * 1000 + (now.tv_nsec - mtime->tv_nsec) / 1000000;
        return ago_ms < LR_ACTIVE_MS;
}

static int copytruncate(struct lr_run *run, const char *log, const char *dst, uint64_t *ret_window_ns,
                        off_t *ret_dropped, bool *ret_truncated)
{
        char *tmp = join3(dst, LR_TMP_SUFFIX, ""), *buf = malloc(LR_COPY_BUFSIZE), copied[32];
        int in = -1, out = -1, r;
        bool tmp_made = false, rt, writing = false;
        off_t pos = 0, last_nl = 0, limit = 0, prev = -1, grown_from;
        struct stat st;
        struct timespec mtime = { 0 };
        uint64_t t0;

        *ret_dropped = 0;
        *ret_truncated = false;
        if (!tmp || !buf) {
                r = -ENOMEM;
                goto out;
        }
        in = open(log, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0 || fstat(in, &st) < 0) {
                r = -errno;
                goto out;
        }
        (void)unlink(tmp);
        r = journal(run, "copytruncate", (const char *const[]){ "log", log, "dst", dst, "tmp", tmp,
                                                                "phase", "copy", NULL });
        if (r < 0)
                goto out;
        out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777);
        if (out < 0) {
                r = -errno;
                goto out;
        }
        tmp_made = true;
        if ((fchown(out, st.st_uid, st.st_gid) < 0 && errno != EPERM) || fchmod(out, st.st_mode & 07777) < 0) {
                r = -errno;
                goto out;
        }
        r = copy_more(in, out, &pos, st.st_size, buf, &last_nl);
        if (r < 0)
                goto out;
        if (fsync(out) < 0) {
                r = -errno;
                goto out;
        }
        snprintf(copied, sizeof(copied), "%jd", (intmax_t)pos);
        r = journal(run, "copytruncate", (const char *const[]){ "log", log, "dst", dst, "tmp", tmp,
                                                                "phase", "truncate", "copied", copied, NULL });
        if (r < 0)
                goto out;
        grown_from = pos;
        /* Copy what was appended meanwhile until a pass finds nothing new, then truncate at once:
         * only what the writer appends between the last read and ftruncate() is lost. A pass that
         * finds no less than the one before means the writer is as fast as the copy: stop. */
        for (int round = 0; round < LR_CATCHUP_ROUNDS; round++) {
                off_t before = pos;
                r = copy_limit(in, 0, &limit, NULL);
                if (r >= 0)
                        r = copy_more(in, out, &pos, limit, buf, &last_nl);
                if (r < 0)
                        goto out;
                if (pos == before || (prev >= 0 && pos - before >= prev))
                        break;
                prev = pos - before;
        }
        /* The last pass and the truncation run at real-time priority where we may (root): on a
         * busy machine, being preempted between them is what loses lines. Bounded: what the log
         * holds now and one buffer more. A pass that ends inside a line has most often read a
         * write(2) still going on (a read sees it page by page): wait for it a little and pass
         * again, LR_FINAL_TRIES times at most, so that the truncation falls between two lines.
         * The writer is writing if the log grew since its first copy or was written to a moment
         * ago (a write stalled half-way); the unfinished last line of a log nobody writes to is
         * not waited for. */
        for (int try = 1;; try++) {
                rt = sched_getscheduler(0) == SCHED_OTHER &&
                     sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){ .sched_priority = 1 }) == 0;
                t0 = now_ns();
                r = copy_limit(in, LR_COPY_BUFSIZE, &limit, &mtime);
                if (r >= 0)
                        r = copy_more(in, out, &pos, limit, buf, &last_nl);
                writing = pos > grown_from || recently(&mtime);
                if (r >= 0 && (last_nl == pos || !writing || try == LR_FINAL_TRIES)) {
                        if (ftruncate(in, 0) < 0)
                                r = -errno;
                        else
                                *ret_truncated = true;
                }
                *ret_window_ns = now_ns() - t0;
                if (rt)
                        (void)sched_setscheduler(0, SCHED_OTHER, &(struct sched_param){ .sched_priority = 0 });
                if (r < 0 || *ret_truncated)
                        break;
                (void)nanosleep(&(struct timespec){ .tv_nsec = LR_FINAL_WAIT_MS * 1000000L }, NULL);
        }
        if (r < 0)
                goto out;
        /* Still inside a line, and the writer is writing: the truncation cut a write that was
         * going on, and its rest is gone. Keep whole lines only. */
        if (writing && last_nl > 0 && last_nl < pos) {
                if (ftruncate(out, last_nl) < 0) {
                        r = -errno;
                        goto out;
                }
                *ret_dropped = pos - last_nl;
        }
        if (fsync(out) < 0 || close(out) < 0) {
                out = -1;
                r = -errno;
                goto out;
        }
        out = -1;
        if (rename(tmp, dst) < 0) {
                r = -errno;
                goto out;
        }
        tmp_made = false;
        (void)fsync_parent_dir(dst);
        r = lr_journal_clear(run->state_dir);
out:
        if (out >= 0)
                close(out);
        if (tmp_made && r < 0) {
                /* Once the log is truncated, its copy is all there is: keep it, under its final
                 * name if possible, else where it is with the journal that lets the next run
                 * finish the rename. Before, the log is whole: drop the copy. */
                if (!*ret_truncated) {
                        unlink(tmp);
                        (void)lr_journal_clear(run->state_dir);
                } else if (rename(tmp, dst) == 0)
                        (void)lr_journal_clear(run->state_dir);
        }
        if (in >= 0)
                close(in);
        free(buf);
        free(tmp);
        return r;
}

/* ---- recovery ---- */

static const struct lr_set *find_set(struct lr_run *run, const char *name)
{
        for (size_t i = 0; name && i < run->n_sets; i++)
                if (strcmp(run->sets[i]->name, name) == 0)
                        return run->sets[i];
        return NULL;
}

/* Was LOG truncated after TMP was copied from it? Compares their first bytes. */
static bool was_truncated(const char *log, const char *tmp, off_t copied)
{
        char a[LR_COMPARE_BYTES], b[LR_COMPARE_BYTES];
        struct stat st;
        size_t n;
        int fa, fb;
        bool truncated = true;

        if (stat(log, &st) < 0 || st.st_size < copied)
                return true;
        n = copied < (off_t)sizeof(a) ? (size_t)copied : sizeof(a);
        fa = open(log, O_RDONLY | O_CLOEXEC);
        fb = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fa >= 0 && fb >= 0 && pread(fa, a, n, 0) == (ssize_t)n && pread(fb, b, n, 0) == (ssize_t)n)
                truncated = memcmp(a, b, n) != 0;
        if (fa >= 0)
                close(fa);
        if (fb >= 0)
                close(fb);
        return truncated;
}

int lr_recover(struct lr_run *run)
{
        json_object *j = NULL;
        const char *step, *src, *dst, *log, *tmp, *logical;
        const struct lr_set *set;
        char *ctmp = NULL;
        int r;

        r = lr_journal_read(run->state_dir, &j);
        if (r == -ENOENT)
                return 0;
        if (r == -EBADMSG) {
                ctx_say(run->ctx, "warning: %s/%s was unreadable and is removed; check the rotated logs of "
                        "the last run", run->state_dir, LR_JOURNAL_FILE);
                return 0;
        }
        if (r < 0)
                return r;
        step = jstr(j, "step");
        src = jstr(j, "src");
        dst = jstr(j, "dst");
        log = jstr(j, "log");
        tmp = jstr(j, "tmp");
        logical = jstr(j, "logical");
        set = find_set(run, jstr(j, "set"));
        if (run->dry_run) {
                ctx_say(run->ctx, "would finish or undo the interrupted step \"%s\" of the last run",
                        step ? step : "?");
                goto out;
        }
        if (step && strcmp(step, "compress") == 0 && src && dst) {
                ctmp = join3(dst, LR_TMP_SUFFIX, "");
                if (!ctmp) {
                        r = -ENOMEM;
                        goto out;
                }
                (void)unlink(ctmp);
                if (exists(dst) && exists(src)) {
                        /* renamed after fsync: the compressed file is complete */
                        if (unlink(src) < 0) {
                                r = -errno;
                                goto out;
                        }
                        ctx_say(run->ctx, "recovered: finished compressing %s", dst);
                } else if (exists(src))
                        ctx_say(run->ctx, "recovered: undid the interrupted compression of %s (kept it whole)",
                                src);
        } else if (step && strcmp(step, "copytruncate") == 0 && log && dst && tmp) {
                const char *phase = jstr(j, "phase"), *copied = jstr(j, "copied");
                if (!exists(tmp))
                        ;       /* either never made or already renamed to dst: nothing half-done */
                else if (phase && strcmp(phase, "truncate") == 0 && copied &&
                         was_truncated(log, tmp, (off_t)strtoll(copied, NULL, 10))) {
                        if (rename(tmp, dst) < 0) {
                                r = -errno;
                                goto out;
                        }
                        ctx_say(run->ctx, "recovered: %s had been truncated; kept its copy as %s", log, dst);
                        if (logical)
                                (void)lr_state_set(run->state, logical, run->now);
                } else {
                        (void)unlink(tmp);
                        ctx_say(run->ctx, "recovered: undid the interrupted copy of %s (it was not truncated)",
                                log);
                }
        } else if (step && strcmp(step, "rename") == 0 && log && dst) {
                if (exists(dst)) {
                        const char *method = jstr(j, "method");
                        if (logical)
                                (void)lr_state_set(run->state, logical, run->now);
                        if (method && strcmp(method, "create") == 0 && set) {
                                struct stat st;
                                uid_t uid;
                                gid_t gid;
                                if (stat(dst, &st) == 0) {
                                        uid = st.st_uid;
                                        gid = st.st_gid;
                                        r = resolve_owner(run, set, &uid, &gid);
                                        if (r >= 0)
                                                r = create_new_log(set, log, uid, gid);
                                }
                        } else if (method && strcmp(method, "reopen") == 0 && set)
                                r = reopen_and_compress(run, set, log, dst);
                        ctx_say(run->ctx, "recovered: finished rotating %s to %s", log, dst);
                }
        } else
                ctx_say(run->ctx, "warning: unknown step in %s/%s; ignored", run->state_dir, LR_JOURNAL_FILE);
        if (run->state)
                (void)lr_state_save(run->state);
out:
        if (r >= 0 && !run->dry_run)
                r = lr_journal_clear(run->state_dir);
        free(ctmp);
        json_object_put(j);
        return r;
}

/* ---- one log ---- */

static int prune_numbered(struct lr_run *run, const struct lr_set *set, const char *dir, const char *base)
{
        struct lr_rotated *list = NULL;
        size_t n = 0;
        int r;

        r = lr_list_rotated(dir, base, set, &list, &n);
        if (r < 0)
                return r;
        /* oldest (highest N) first: remove what falls off the end, shift the rest up by one */
        for (size_t i = 0; i < n && r >= 0; i++) {
                char *from = join(dir, list[i].name), *to = NULL;
                if (!from) {
                        r = -ENOMEM;
                        break;
                }
                if (list[i].index >= set->rotate) {
                        if (unlink(from) < 0)
                                r = -errno;
                        else
                                ctx_log(run->ctx, OPSAGENT_LOG_INFO, "removed %s (rotate %u)", from, set->rotate);
                } else if (asprintf(&to, "%s/%s.%u%s", dir, base, list[i].index + 1,
                                    list[i].name + strlen(list[i].stem)) < 0) {
                        to = NULL;
                        r = -ENOMEM;
                } else if (rename(from, to) < 0)
                        r = -errno;
                free(from);
                free(to);
        }
        lr_rotated_free(list, n);
        return r;
}

static int prune_dateext(struct lr_run *run, const struct lr_set *set, const char *dir, const char *base,
                         unsigned keep)
{
        struct lr_rotated *list = NULL;
        size_t n = 0;
        int r;

        r = lr_list_rotated(dir, base, set, &list, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i + keep < n && r >= 0; i++) {
                char *p = join(dir, list[i].name);
                if (!p)
                        r = -ENOMEM;
                else if (unlink(p) < 0)
                        r = -errno;
                else
                        ctx_log(run->ctx, OPSAGENT_LOG_INFO, "removed %s (rotate %u)", p, set->rotate);
                free(p);
        }
        lr_rotated_free(list, n);
        return r;
}

static int prune_maxage(struct lr_run *run, const struct lr_set *set, const char *dir, const char *base)
{
        struct lr_rotated *list = NULL;
        size_t n = 0;
        int r;

        if (!set->maxage)
                return 0;
        r = lr_list_rotated(dir, base, set, &list, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                char *p;
                if (list[i].mtime >= run->now - (time_t)set->maxage * 86400)
                        continue;
                p = join(dir, list[i].name);
                if (!p)
                        r = -ENOMEM;
                else if (unlink(p) < 0)
                        r = -errno;
                else
                        ctx_log(run->ctx, OPSAGENT_LOG_INFO, "removed %s (older than %u days)", p, set->maxage);
                free(p);
        }
        lr_rotated_free(list, n);
        return r;
}

/* Compresses rotated files left uncompressed (delaycompress, a reopen timeout, a crash). */
static int compress_leftovers(struct lr_run *run, const struct lr_set *set, const char *dir, const char *base)
{
        struct lr_rotated *list = NULL;
        size_t n = 0;
        int r, first = 0;

        if (set->compress == LR_COMP_NONE)
                return 0;
        r = lr_list_rotated(dir, base, set, &list, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char *p;
                int k;
                if (list[i].compressed)
                        continue;
                p = join(dir, list[i].name);
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                if (lr_open_for_writing(p) == 1) {
                        /* a writer that never reopened: compressing would lose its next lines */
                        ctx_say(run->ctx, "warning: not compressing %s: a process still has it open for writing",
                                p);
                        free(p);
                        continue;
                }
                k = compress_step(run, set, p);
                if (k < 0 && !first)
                        first = k;
                free(p);
        }
        lr_rotated_free(list, n);
        return r < 0 ? r : first;
}

static int rotate_log(struct lr_run *run, const struct lr_set *set, const char *log, const char *logical,
                      const struct stat *st)
{
        char *dir = NULL, *dst = NULL, *reason = NULL, sfx[256], b1[32];
        const char *base = base_name(log), *method = NULL;
        struct stat dst_st;
        uint64_t window = 0;
        off_t dropped = 0;
        bool truncated = false;
        uid_t new_uid = st->st_uid;
        gid_t new_gid = st->st_gid;
        int r;

        dir = lr_rotation_dir(log, set->olddir, run->root);
        if (!dir)
                return -ENOMEM;
        if (set->olddir && !exists(dir) && mkdir(dir, 0755) < 0 && errno != EEXIST) {
                r = -errno;
                ctx_say(run->ctx, "error: cannot create olddir %s for %s: %s", dir, logical, strerror(-r));
                goto out;
        }
        if (set->olddir) {
                r = lr_check_dir_secure(dir, &reason);
                if (r < 0) {
                        ctx_say(run->ctx, "error: skipping %s: %s", logical, reason ? reason : strerror(-r));
                        goto out;
                }
                if (stat(dir, &dst_st) == 0 && dst_st.st_dev != st->st_dev) {
                        r = -EXDEV;
                        ctx_say(run->ctx, "error: skipping %s: olddir %s is on another filesystem; rotation "
                                "renames, so put olddir on the log's filesystem", logical, dir);
                        goto out;
                }
        }
        r = compress_leftovers(run, set, dir, base);
        if (r < 0 && r != -EEXIST)
                goto out;
        if (set->dateext) {
                r = lr_dateext_suffix(lr_set_dateformat(set), run->now, sfx, sizeof(sfx));
                if (r < 0) {
                        ctx_say(run->ctx, "error: dateformat of set %s gives an empty or too long name", set->name);
                        goto out;
                }
                if (asprintf(&dst, "%s/%s%s", dir, base, sfx) < 0) {
                        dst = NULL;
                        r = -ENOMEM;
                        goto out;
                }
                free(reason);
                reason = join3(dst, lr_compression_ext(set->compress), "");
                if (!reason) {
                        r = -ENOMEM;
                        goto out;
                }
                if (exists(dst) || exists(reason)) {
                        ctx_say(run->ctx, "error: skipping %s: destination %s exists already (rotated twice "
                                "within one dateformat period?)", logical, exists(dst) ? dst : reason);
                        r = -EEXIST;
                        goto out;
                }
                r = prune_dateext(run, set, dir, base, set->rotate ? set->rotate - 1 : 0);
        } else {
                if (asprintf(&dst, "%s/%s.1", dir, base) < 0) {
                        dst = NULL;
                        r = -ENOMEM;
                        goto out;
                }
                r = prune_numbered(run, set, dir, base);
        }
        if (r < 0) {
                ctx_say(run->ctx, "error: removing or renaming old rotations of %s failed: %s", logical,
                        strerror(-r));
                goto out;
        }
        switch (set->method) {
        case LR_METHOD_COPYTRUNCATE:
                r = copytruncate(run, log, dst, &window, &dropped, &truncated);
                if (r < 0 && truncated) {
                        ctx_say(run->ctx, "error: copytruncate of %s failed after the log was truncated: %s; "
                                "its copy is kept as %s, or as %s%s until the next run finishes it", logical,
                                strerror(-r), dst, dst, LR_TMP_SUFFIX);
                        goto out;
                }
                if (r < 0) {
                        ctx_say(run->ctx, "error: copytruncate of %s failed: %s; the log is untouched", logical,
                                strerror(-r));
                        goto out;
                }
                if (window > run->stats.copytruncate_window_ns)
                        run->stats.copytruncate_window_ns = window;
                ctx_log(run->ctx, OPSAGENT_LOG_INFO, "copytruncate %s: lines written in the last %" PRIu64
                        " us before the truncation are lost (use method \"reopen\" to lose none)", logical,
                        window / 1000);
                if (dropped > 0)
                        ctx_log(run->ctx, OPSAGENT_LOG_INFO, "copytruncate %s: the writer was writing a line as "
                                "the log was truncated; its first %jd bytes were left out of %s, the rest was "
                                "truncated", logical, (intmax_t)dropped, base_name(dst));
                break;
        case LR_METHOD_CREATE:
                method = "create";
                /* fall through */
        case LR_METHOD_REOPEN:
                if (!method)
                        method = "reopen";
                if (set->method == LR_METHOD_CREATE) {
                        /* an unknown owner is found before anything is renamed */
                        r = resolve_owner(run, set, &new_uid, &new_gid);
                        if (r < 0)
                                goto out;
                }
                r = journal(run, "rename", (const char *const[]){ "log", log, "logical", logical, "dst", dst,
                                                                  "set", set->name, "method", method, NULL });
                if (r < 0)
                        goto out;
                if (rename(log, dst) < 0) {
                        r = -errno;
                        ctx_say(run->ctx, "error: renaming %s to %s failed: %s", logical, dst, strerror(-r));
                        (void)lr_journal_clear(run->state_dir);
                        goto out;
                }
                (void)fsync_parent_dir(dst);
                if (set->method == LR_METHOD_CREATE) {
                        r = create_new_log(set, log, new_uid, new_gid);
                        if (r < 0) {
                                ctx_say(run->ctx, "error: creating the new %s failed: %s", logical, strerror(-r));
                                goto out;
                        }
                }
                break;
        }
        run->stats.logs_rotated++;
        run->stats.bytes_rotated += (uint64_t)st->st_size;
        r = lr_state_set(run->state, logical, run->now);
        if (r >= 0)
                r = lr_state_save(run->state);
        if (r < 0) {
                ctx_say(run->ctx, "error: cannot save %s/%s: %s", run->state_dir, LR_STATE_FILE, strerror(-r));
                goto out;
        }
        if (set->method == LR_METHOD_CREATE)
                (void)lr_journal_clear(run->state_dir);
        if (set->method == LR_METHOD_COPYTRUNCATE)
                ctx_say(run->ctx, "rotated %s -> %s (%s, copytruncate: %" PRIu64 " us between the last copy and "
                        "the truncation)", logical, base_name(dst), human((uint64_t)st->st_size, b1, sizeof(b1)),
                        window / 1000);
        else
                ctx_say(run->ctx, "rotated %s -> %s (%s, %s)", logical, base_name(dst),
                        human((uint64_t)st->st_size, b1, sizeof(b1)),
                        set->method == LR_METHOD_REOPEN ? "reopen" : "create");
        if (set->method == LR_METHOD_REOPEN)
                r = reopen_and_compress(run, set, log, dst);
        else if (set->rotate == 0)
                r = unlink(dst) < 0 ? -errno : 0;
        else if (set->compress != LR_COMP_NONE && !set->delaycompress)
                r = compress_step(run, set, dst);
        if (r < 0)
                goto out;
        r = prune_maxage(run, set, dir, base);
out:
        free(reason);
        free(dst);
        free(dir);
        return r;
}

static int process_log(struct lr_run *run, const struct lr_set *set, const char *real, const char *logical)
{
        struct stat st;
        char *dir = NULL, *reason = NULL, *slash;
        const char *why = "";
        time_t last = 0;
        bool have_last;
        int r;

        if (lstat(real, &st) < 0) {
                r = -errno;
                if (r == -ENOENT && set->missingok)
                        return 0;
                ctx_say(run->ctx, "error: %s (set %s): %s%s", logical, set->name, strerror(-r),
                        r == -ENOENT ? "; set missingok to allow" : "");
                return r;
        }
        if (S_ISLNK(st.st_mode)) {
                ctx_say(run->ctx, "error: skipping %s (set %s): it is a symbolic link; rotating through links "
                        "is refused, as logrotate does; list the file it points to instead", logical, set->name);
                return -ELOOP;
        }
        if (!S_ISREG(st.st_mode)) {
                ctx_say(run->ctx, "error: skipping %s (set %s): not a regular file", logical, set->name);
                return -EINVAL;
        }
        dir = strdup(real);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash == dir)
                slash[1] = '\0';
        else if (slash)
                *slash = '\0';
        r = lr_check_dir_secure(dir, &reason);
        if (r < 0) {
                ctx_say(run->ctx, "error: skipping %s (set %s): %s", logical, set->name,
                        reason ? reason : strerror(-r));
                goto out;
        }
        have_last = lr_state_get(run->state, logical, &last) == 0;
        if (lr_is_due(set, &st, have_last, last, run->now, &why) == LR_NOT_DUE) {
                ctx_log(run->ctx, OPSAGENT_LOG_DEBUG, "%s: %s", logical, why);
                if (!have_last && !run->dry_run) {
                        /* logrotate records a new log at the start of the current hour */
                        r = lr_state_set(run->state, logical, run->now - run->now % 3600);
                        if (r >= 0)
                                r = lr_state_save(run->state);
                }
                goto out;
        }
        if (run->dry_run) {
                ctx_say(run->ctx, "would rotate %s (%s; set %s, method %s, compress %s)", logical, why, set->name,
                        set->method == LR_METHOD_REOPEN ? "reopen" :
                        set->method == LR_METHOD_CREATE ? "create" : "copytruncate",
                        lr_compression_name(set->compress));
                goto out;
        }
        r = rotate_log(run, set, real, logical, &st);
out:
        free(reason);
        free(dir);
        return r;
}

int lr_process_set(struct lr_run *run, const struct lr_set *set)
{
        int first = 0;

        for (char *const *pat = set->paths; *pat; pat++) {
                char *real = ctx_path(run->ctx, *pat);
                size_t rootlen = strlen(run->root);
                glob_t g = { 0 };
                int r;

                if (!real)
                        return -ENOMEM;
                r = glob(real, 0, NULL, &g);
                if (r == GLOB_NOMATCH) {
                        if (!set->missingok) {
                                ctx_say(run->ctx, "error: no log matches %s (set %s); set missingok to allow",
                                        *pat, set->name);
                                if (!first)
                                        first = -ENOENT;
                                run->stats.errors++;
                        }
                } else if (r != 0) {
                        ctx_say(run->ctx, "error: cannot expand %s (set %s)", *pat, set->name);
                        if (!first)
                                first = -EIO;
                        run->stats.errors++;
                } else {
                        for (size_t i = 0; i < g.gl_pathc; i++) {
                                const char *p = g.gl_pathv[i];
                                size_t len = strlen(p);
                                if (len > strlen(LR_TMP_SUFFIX) &&
                                    strcmp(p + len - strlen(LR_TMP_SUFFIX), LR_TMP_SUFFIX) == 0)
                                        continue;
                                r = process_log(run, set, p, strncmp(p, run->root, rootlen) == 0 ? p + rootlen : p);
                                if (r < 0) {
                                        run->stats.errors++;
                                        if (!first)
                                                first = r;
                                }
                        }
                }
                globfree(&g);
                free(real);
        }
        return first;
}
