/* logrotate recipe: making the writer of a rotated log reopen it (a signal through systemd, a
 * pidfile or a command), and knowing when it has (the /proc scan for writers). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>

#include "lr_journal.h"
#include "lr_reopen.h"
#include "lr_steps.h"
#include "lr_trust.h"
#include "lr_util.h"

#define LR_POLL_MS 10                 /* how often the files are looked at while waiting */

/* Signals the processes the set's pidfiles name, those found trustworthy (lr_trust.h): the
 * run's, checked before the rename, or (recovery) checked now for a log owned by LOG_UID. */
static int signal_pidfiles(struct lr_run *run, const struct lr_set *set, uid_t log_uid)
{
        struct lr_writer *w = run->writers;
        size_t n = run->n_writers, refused = 0;
        int r = 0;

        if (!w) {
                r = lr_trusted_writers(run, set, log_uid, &w, &n, &refused);
                if (r < 0)
                        return r;
        }
        if (n == 0) {
                ctx_say(run->ctx, "no pidfile matches %s (set %s)%s: cannot tell the writer to reopen", set->reopen_pidfile,
                        set->name, refused ? " that may be trusted" : "");
                r = -ESRCH;
        }
        for (size_t i = 0; i < n; i++) {
                int k = lr_writer_signal(&w[i], set->reopen_signal);
                if (k < 0) {
                        ctx_say(run->ctx, "error: sending %s to process %d (from %s) failed: %s",
                                strsignal(set->reopen_signal), (int)w[i].pid, w[i].pidfile, strerror(-k));
                        if (r == 0)
                                r = k;
                }
        }
        if (w != run->writers)
                lr_writers_free(w, n);
        return r;
}

static int signal_writer(struct lr_run *run, const struct lr_set *set, const char *rotated)
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
        if (set->reopen_pidfile) {
                struct stat st;
                return signal_pidfiles(run, set, lstat(rotated, &st) == 0 ? st.st_uid : 0);
        }
        if (set->reopen_command) {
                struct opsagent_command cmd = { .size = sizeof(cmd), .timeout_seconds = set->reopen_timeout };
                struct stat st;
                char *attr = NULL;

                if (!OPSAGENT_CTX_HAS_OP(run->ctx, spawn_command)) {
                        ctx_say(run->ctx, "error: sets.%s.reopen.command: this agent cannot run a command from "
                                "configuration safely (no spawn_command); upgrade opsagent", set->name);
                        return -ENOSYS;
                }
                if (asprintf(&attr, "sets.%s.reopen.command", set->name) < 0)
                        return -ENOMEM;
                cmd.attr = attr;
                /* a log of a user's is that user's business: the command runs as its owner */
                if (lstat(rotated, &st) == 0 && st.st_uid != 0) {   /* the file itself, not a link's target */
                        struct passwd *pw = getpwuid(st.st_uid);
                        cmd.as_user = true;
                        cmd.uid = st.st_uid;
                        cmd.gid = pw ? pw->pw_gid : st.st_gid;
                }
                r = run->ctx->ops->spawn_command(run->ctx, set->reopen_command, &cmd, &res);
                free(attr);
                if (r == -EPERM) {
                        ctx_say(run->ctx, "error: sets.%s.reopen.command not run: it, or the program it names, could "
                                "have been changed by someone other than root (see the error above); the writer is "
                                "not told to reopen",
                                set->name);
                        return r;
                }
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
        uint64_t start = lr_now_ms(), stable_since = start;
        off_t last = -1;
        struct stat st;

        for (;;) {
                uint64_t t = lr_now_ms();
                off_t size = stat(rotated, &st) == 0 ? st.st_size : -1;
                int w = lr_open_for_writing(rotated);

                if (w == 0)
                        return 0;
                if (size != last) {
                        last = size;
                        stable_since = t;
                }
                if (w < 0 && lr_exists(log) && t - stable_since >= set->reopen_settle_ms)
                        return 0;
                if (t - start >= (uint64_t)set->reopen_timeout * 1000)
                        return -ETIMEDOUT;
                lr_sleep_ms(LR_POLL_MS);
        }
}

/* The end of a rotation once the writer has let go: the rotated file removed (rotate 0) or
 * compressed. */
static int finish_rotated(struct lr_run *run, const struct lr_set *set, const char *rotated)
{
        if (set->rotate == 0) {
                if (unlink(rotated) < 0)
                        return -errno;
                (void)lr_dircache_note(run->dirs, rotated, false);
                lr_dirty(run, rotated);
                return 0;
        }
        if (set->compress != LR_COMP_NONE && !set->delaycompress)
                return lr_compress_step(run, set, rotated, false);
        return 0;
}

struct finish_args {
        const struct lr_set *set;
        const char *rotated;
};

static int finish_in_child(struct lr_run *run, void *arg)
{
        struct finish_args *a = arg;
        return finish_rotated(run, a->set, a->rotated + run->root_strip);
}

/* After the rename of a "reopen" set: signal, then (the signal sent, the journal's "rename"
 * step is over) wait for the writer to reopen and compress unless delayed. A run killed before
 * the signal went out sends it again on recovery. */
int lr_reopen_and_compress(struct lr_run *run, const struct lr_set *set, const char *log,
                               const char *rotated)
{
        int r, sent;

        sent = signal_writer(run, set, rotated);
        r = lr_journal_clear(run->state_dir);
        if (r < 0)
                return r;
        r = wait_reopened(set, log, rotated);
        if (r == -ETIMEDOUT) {
                ctx_say(run->ctx, "error: the writer of %s %s within %u s: %s is still open for writing; left "
                        "it uncompressed so that no line is lost", log,
                        sent < 0 ? "could not be told to reopen it and did not let go of it" : "did not reopen it",
                        set->reopen_timeout, lr_base_name(rotated));
                return r;
        }
        if (r < 0)
                return r;
        if (sent < 0)
                ctx_say(run->ctx, "warning: no writer to signal for %s, and none has %s open: nothing to reopen",
                        log, lr_base_name(rotated));
        if (run->cred.set && !run->in_child) {
                /* removed or compressed as the user who controls the directory */
                struct finish_args a = { .set = set, .rotated = rotated };
                char *dir = strdup(rotated);
                r = lr_journal_prepare(run->state_dir);
                if (r >= 0)
                        r = lr_run_as(run, finish_in_child, &a);
                if (dir && strrchr(dir, '/'))
                        *strrchr(dir, '/') = '\0';
                (void)lr_dircache_forget(run->dirs, dir);
                free(dir);
                return r;
        }
        return finish_rotated(run, set, rotated);
}
