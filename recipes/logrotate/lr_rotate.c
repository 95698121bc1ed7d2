/* logrotate recipe: the rotation engine: which logs are due, and the rotation of one. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lr_compress.h"
#include "lr_copytruncate.h"
#include "lr_journal.h"
#include "lr_names.h"
#include "lr_prune.h"
#include "lr_reopen.h"
#include "lr_rotate.h"
#include "lr_steps.h"
#include "lr_trust.h"
#include "lr_util.h"
#include "util/fileio.h"
#include "util/pathres.h"

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
                        due = lr_civil_day(&tn) - lr_civil_day(&tl) >= 7;
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

int lr_save_state(struct lr_run *run)
{
        int r = lr_state_dirty(run->state) ? lr_state_save(run->state) : 0;

        if (r >= 0)
                run->changes_unsaved = 0;

        if (r < 0 && !run->state_error_said++)
                ctx_say(run->ctx, "error: cannot save %s/%s (when each log was last rotated): %s%s; until it is "
                        "saved, logs seen for the first time are not recorded and the logs rotated now may be "
                        "rotated again", run->state_dir, LR_STATE_FILE, strerror(-r), lr_write_advice(r));
        return r;
}

void lr_dirty(struct lr_run *run, const char *path)
{
        const char *slash = strrchr(path, '/');
        char *dir;

        if (!slash)
                return;
        for (size_t i = 0; i < run->n_dirty; i++)
                if (strlen(run->dirty[i]) == (size_t)(slash - path) && strncmp(run->dirty[i], path, slash - path) == 0)
                        return;
        if (run->n_dirty == LR_DIRTY_MAX)
                (void)lr_flush_dirty(run);
        dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
        if (!dir) {
                (void)fsync_parent_dir(path);   /* no room to put it off: now */
                return;
        }
        run->dirty[run->n_dirty++] = dir;
}

int lr_flush_dirty(struct lr_run *run)
{
        int r = 0;

        for (size_t i = 0; i < run->n_dirty; i++) {
                int k = fsync_directory(run->dirty[i]);
                if (k < 0 && r == 0)
                        r = k;
                free(run->dirty[i]);
                run->dirty[i] = NULL;
        }
        run->n_dirty = 0;
        return r;
}

int lr_note_rotated(struct lr_run *run, const char *logical, time_t when)
{
        int r = lr_state_set(run->state, logical, when);

        if (r < 0 && !run->state_error_said++)
                ctx_say(run->ctx, "error: cannot record the rotation of %s in %s/%s: %s%s; the next run may rotate "
                        "it again", logical, run->state_dir, LR_STATE_LOG_FILE, strerror(-r), lr_write_advice(r));
        /* a set of very many logs: save on the way, so that status.log stays small */
        if (r >= 0 && ++run->changes_unsaved >= LR_STATE_SAVE_EVERY) {
                (void)lr_flush_dirty(run);
                r = lr_save_state(run);
        }
        return r;
}

/* The name LOG is rotated to (*ret, caller frees): LOG.1 in its rotation directory, or with
 * dateext LOG and the run's date. -ENAMETOOLONG (said) for a dateformat that makes no name. */
static int rotated_name(struct lr_run *run, const struct lr_set *set, const char *log, char **ret)
{
        char *dir = lr_rotation_dir(log, set->olddir, run->root), sfx[256];
        int r = 0;

        if (!dir)
                return -ENOMEM;
        if (set->dateext) {
                r = lr_dateext_suffix(lr_set_dateformat(set), run->now, sfx, sizeof(sfx));
                if (r < 0)
                        ctx_say(run->ctx, "error: dateformat of set %s gives an empty or too long name", set->name);
        }
        if (r >= 0 && asprintf(ret, "%s/%s%s", dir, lr_base_name(log), set->dateext ? sfx : ".1") < 0)
                r = -ENOMEM;
        free(dir);
        return r;
}


/* mkdir of REL's last component (0755) in its parent, resolved beneath the root without links;
 * one that exists already is fine. */
static int make_olddir(struct lr_run *run, const char *rel)
{
        char *name = NULL;
        int pfd = -1, r;

        r = pathres_parent(run->root_fd, rel, 0, &pfd, &name);
        if (r < 0)
                return r;
        r = mkdirat(pfd, name, 0755) < 0 && errno != EEXIST ? -errno : 0;
        close(pfd);
        free(name);
        return r;
}

static int rotate_log(struct lr_run *run, const struct lr_set *set, const char *log, const char *logical,
                      const struct stat *st)
{
        char *dir = NULL, *dst = NULL, *reason = NULL, *kept = NULL, *compressed = NULL, b1[32];
        const char *base = lr_base_name(log), *method = NULL;
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
        if (set->olddir) {
                struct lr_dir_trust t;
                const char *rel = strncmp(dir, run->root, strlen(run->root)) == 0 ? dir + strlen(run->root) : dir;

                /* created beneath the root's descriptor, its parent reached through no link: a link
                 * on the way cannot make root create it elsewhere; checked like any olddir next */
                if (!lr_exists(dir)) {
                        r = make_olddir(run, rel[0] ? rel : "/");
                        if (r < 0) {
                                ctx_say(run->ctx, "error: cannot create olddir %s for %s: %s%s", dir, logical,
                                        strerror(-r), r == -ELOOP ? " (a symbolic link on the way is never followed)" : "");
                                goto out;
                        }
                }
                r = lr_trust_dir(run, rel[0] ? rel : "/", &t, &reason);
                if (r >= 0 && t.user_owned && (!run->cred.set || t.uid != run->cred.uid)) {
                        r = -EPERM;
                        if (asprintf(&reason, "olddir %s is controlled by uid %u, not by %s: refusing to move the "
                                     "log there", dir, (unsigned)t.uid, run->cred.set ? "the log's owner" : "root") < 0)
                                reason = NULL;
                }
                if (r >= 0)
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
        r = lr_compress_leftovers(run, set, dir, base);
        if (r < 0 && r != -EEXIST)
                goto out;
        r = rotated_name(run, set, log, &dst);
        if (r < 0)
                goto out;
        if (set->dateext) {
                free(reason);
                reason = lr_join3(dst, lr_compression_ext(set->compress), "");
                if (!reason) {
                        r = -ENOMEM;
                        goto out;
                }
                if (lr_exists(dst) || lr_exists(reason)) {
                        ctx_say(run->ctx, "error: skipping %s: destination %s exists already (rotated twice "
                                "within one dateformat period?)", logical, lr_exists(dst) ? dst : reason);
                        r = -EEXIST;
                        goto out;
                }
                r = lr_prune_dateext(run, set, dir, base, set->rotate ? set->rotate - 1 : 0);
        } else
                r = lr_prune_numbered(run, set, dir, base);
        if (r < 0) {
                ctx_say(run->ctx, "error: removing or renaming old rotations of %s failed: %s%s", logical,
                        strerror(-r), lr_write_advice(r));
                goto out;
        }
        switch (set->method) {
        case LR_METHOD_COPYTRUNCATE:
                r = lr_copytruncate(run, log, logical, dst, &window, &dropped, &truncated, &kept);
                if (r < 0 && truncated) {
                        if (kept)
                                ctx_say(run->ctx, "error: copytruncate of %s failed after the log was truncated: "
                                        "%s; its copy is kept as %s", logical, strerror(-r), kept);
                        else
                                ctx_say(run->ctx, "error: copytruncate of %s failed after the log was truncated: "
                                        "%s; its copy is kept as %s%s until the next run finishes it", logical,
                                        strerror(-r), dst, LR_TMP_SUFFIX);
                        goto out;
                }
                if (r < 0) {
                        ctx_say(run->ctx, "error: copytruncate of %s failed: %s; the log is untouched%s",
                                logical, strerror(-r), lr_write_advice(r));
                        goto out;
                }
                (void)lr_dircache_note(run->dirs, kept, true);
                if (strcmp(kept, dst) != 0) {
                        /* DST appeared while the log was copied: the copy went beside it */
                        ctx_say(run->ctx, "warning: %s appeared while %s was copied; its copy is kept as %s "
                                "instead (look at both)", dst, logical, kept);
                        free(dst);
                        dst = kept;
                        kept = NULL;
                }
                if (window > run->stats.copytruncate_window_ns)
                        run->stats.copytruncate_window_ns = window;
                ctx_log(run->ctx, OPSAGENT_LOG_INFO, "copytruncate %s: lines written in the last %" PRIu64
                        " us before the truncation are lost (use method \"reopen\" to lose none); the last pass "
                        "copied %" PRIu64 " bytes at most at real-time priority%s", logical, window / 1000,
                        run->stats.copytruncate_rt_bytes,
                        run->stats.copytruncate_overruns ? " (overrun: the writer was faster than the copy)" : "");
                if (dropped > 0)
                        ctx_log(run->ctx, OPSAGENT_LOG_INFO, "copytruncate %s: the writer was writing a line as "
                                "the log was truncated; its first %jd bytes were left out of %s, the rest was "
                                "truncated", logical, (intmax_t)dropped, lr_base_name(dst));
                break;
        case LR_METHOD_CREATE:
                method = "create";
                /* fall through */
        case LR_METHOD_REOPEN:
                if (!method)
                        method = "reopen";
                if (set->method == LR_METHOD_CREATE) {
                        /* an unknown owner is found before anything is renamed */
                        r = lr_resolve_owner(run, set, &new_uid, &new_gid);
                        if (r < 0)
                                goto out;
                }
                /* create: the compression that follows is in the same journal entry */
                if (set->method == LR_METHOD_CREATE && set->rotate > 0 && set->compress != LR_COMP_NONE &&
                    !set->delaycompress) {
                        compressed = lr_join3(dst, lr_compression_ext(set->compress), "");
                        if (!compressed) {
                                r = -ENOMEM;
                                goto out;
                        }
                }
                r = lr_journal_step(run, "rename", (const char *const[]){ "log", log, "logical", logical, "dst", dst,
                                                                  "set", set->name, "method", method,
                                                                  "compressed", compressed, NULL });
                if (r < 0)
                        goto out;
                if (rename(log, dst) < 0) {
                        r = -errno;
                        ctx_say(run->ctx, "error: renaming %s to %s failed: %s%s", logical, dst, strerror(-r),
                                lr_write_advice(r));
                        (void)lr_journal_clear(run->state_dir);
                        goto out;
                }
                (void)lr_dircache_note(run->dirs, log, false);
                (void)lr_dircache_note(run->dirs, dst, true);
                if (set->method == LR_METHOD_REOPEN)
                        (void)fsync_parent_dir(dst);    /* before the writer is told */
                else {
                        lr_dirty(run, dst);
                        lr_dirty(run, log);
                }
                if (set->method == LR_METHOD_CREATE) {
                        r = lr_create_new_log(set, log, new_uid, new_gid);
                        if (r < 0) {
                                ctx_say(run->ctx, "error: creating the new %s failed: %s", logical, strerror(-r));
                                goto out;
                        }
                        (void)lr_dircache_note(run->dirs, log, true);
                }
                break;
        }
        run->stats.logs_rotated++;
        run->stats.bytes_rotated += (uint64_t)st->st_size;
        r = lr_note_rotated(run, logical, run->now);
        if (r < 0)
                goto out;
        if (set->method == LR_METHOD_COPYTRUNCATE)
                ctx_say(run->ctx, "rotated %s -> %s (%s, copytruncate: %" PRIu64 " us between the last copy and "
                        "the truncation)", logical, lr_base_name(dst), lr_human((uint64_t)st->st_size, b1, sizeof(b1)),
                        window / 1000);
        else
                ctx_say(run->ctx, "rotated %s -> %s (%s, %s)", logical, lr_base_name(dst),
                        lr_human((uint64_t)st->st_size, b1, sizeof(b1)),
                        set->method == LR_METHOD_REOPEN ? "reopen" : "create");
        if (set->method == LR_METHOD_REOPEN && run->in_child) {
                /* the writer is told by the parent, which checked it; old rotations go now */
                r = lr_prune_maxage(run, set, dir, base);
                if (r >= 0)
                        r = LR_ROTATE_RENAMED;
                goto out;
        } else if (set->method == LR_METHOD_REOPEN)
                r = lr_reopen_and_compress(run, set, log, dst);
        else if (set->rotate == 0) {
                r = unlink(dst) < 0 ? -errno : 0;
                if (r == 0) {
                        (void)lr_dircache_note(run->dirs, dst, false);
                        lr_dirty(run, dst);
                }
        } else if (set->compress != LR_COMP_NONE && !set->delaycompress)
                r = lr_compress_step(run, set, dst, compressed != NULL);
        if (r < 0)
                goto out;
        r = lr_prune_maxage(run, set, dir, base);
out:
        free(compressed);
        free(kept);
        free(reason);
        free(dst);
        free(dir);
        return r;
}

struct rotate_args {
        const struct lr_set *set;
        const char *log, *logical;
        const struct stat *st;
};

static int rotate_in_child(struct lr_run *run, void *arg)
{
        struct rotate_args *a = arg;
        return rotate_log(run, a->set, a->log + run->root_strip, a->logical, a->st);
}

/* The rotation of LOG, as its directories' owner where a user controls them (in a child that
 * has dropped root: renames, creations, compression and pruning are then only what that user
 * could do), else here as root. A "reopen" log is renamed in the child and its writer told
 * here (through the pidfds checked, or systemd), then compressed in a child again. */
static int rotate_as_owner(struct lr_run *run, const struct lr_set *set, const char *log, const char *logical,
                           const struct stat *st)
{
        struct rotate_args a = { .set = set, .log = log, .logical = logical, .st = st };
        char *rotation = NULL, *logdir = NULL;
        int r;

        if (!run->cred.set)
                return rotate_log(run, set, log, logical, st);
        r = lr_journal_prepare(run->state_dir);
        if (r >= 0)
                r = lr_state_prepare(run->state);
        if (r < 0) {
                ctx_say(run->ctx, "error: cannot open %s/%s and %s for the rotation of %s as uid %u: %s%s",
                        run->state_dir, LR_JOURNAL_FILE, LR_STATE_LOG_FILE, logical, (unsigned)run->cred.uid,
                        strerror(-r), lr_write_advice(r));
                return r;
        }
        ctx_log(run->ctx, OPSAGENT_LOG_DEBUG, "%s: rotated as uid %u gid %u, who control its directory", logical,
                (unsigned)run->cred.uid, (unsigned)run->cred.gid);
        run->journaled = true;
        r = lr_run_as(run, rotate_in_child, &a);
        /* what the child changed: its listings here are stale, its counts are its own */
        rotation = lr_rotation_dir(log, set->olddir, run->root);
        logdir = strdup(log);
        if (logdir && strrchr(logdir, '/'))
                *strrchr(logdir, '/') = '\0';
        (void)lr_dircache_forget(run->dirs, rotation);
        (void)lr_dircache_forget(run->dirs, logdir);
        if (r >= 0) {
                run->stats.logs_rotated++;
                run->stats.bytes_rotated += (uint64_t)st->st_size;
                (void)lr_state_set(run->state, logical, run->now);
        }
        if (r == LR_ROTATE_RENAMED) {
                char *dst = NULL;
                r = rotated_name(run, set, log, &dst);
                if (r >= 0)
                        r = lr_reopen_and_compress(run, set, log, dst);
                free(dst);
        } else if (r == -ECHILD)
                ctx_say(run->ctx, "error: the rotation of %s as uid %u died", logical, (unsigned)run->cred.uid);
        free(logdir);
        free(rotation);
        return r;
}

static int process_log(struct lr_run *run, const struct lr_set *set, const char *real, const char *logical)
{
        struct stat st;
        struct lr_dir_trust trust = { 0 };
        char *dir = NULL, *dir_rel = NULL, *reason = NULL, *slash;
        const char *why = "", *lslash;
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
        if (st.st_nlink > 1 && !set->allowhardlink) {
                ctx_say(run->ctx, "error: skipping %s (set %s): it has %ju hard links, and another of its names may "
                        "be a file of root's or another user's; set allowhardlink to rotate it all the same",
                        logical, set->name, (uintmax_t)st.st_nlink);
                return -EMLINK;
        }
        dir = strdup(real);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash == dir)
                slash[1] = '\0';
        else if (slash)
                *slash = '\0';
        /* every directory on the way, beneath the root: no link, none writable by others; and
         * who controls them */
        lslash = strrchr(logical, '/');
        dir_rel = lslash && lslash != logical ? strndup(logical, (size_t)(lslash - logical)) : strdup("/");
        if (!dir_rel) {
                r = -ENOMEM;
                goto out;
        }
        r = lr_trust_dir(run, dir_rel, &trust, &reason);
        if (r >= 0)
                r = lr_check_dir_secure(dir, &reason);
        if (r < 0) {
                ctx_say(run->ctx, "error: skipping %s (set %s): %s", logical, set->name,
                        reason ? reason : strerror(-r));
                goto out;
        }
        have_last = lr_state_get(run->state, logical, &last) == 0;
        if (lr_is_due(set, &st, have_last, last, run->now, &why) == LR_NOT_DUE) {
                ctx_log(run->ctx, OPSAGENT_LOG_INFO, "%s (set %s): not rotated: %s", logical, set->name, why);
                if (!have_last && !run->dry_run)
                        /* logrotate records a new log at the start of the current hour */
                        r = lr_note_rotated(run, logical, run->now - run->now % 3600);
                goto out;
        }
        if (run->dry_run) {
                ctx_say(run->ctx, "would rotate %s (%s; set %s, method %s, compress %s)", logical, why, set->name,
                        set->method == LR_METHOD_REOPEN ? "reopen" :
                        set->method == LR_METHOD_CREATE ? "create" : "copytruncate",
                        lr_compression_name(set->compress));
                goto out;
        }
        r = lr_rotation_cred(run, set, &trust, &run->cred);
        if (r >= 0 && set->method == LR_METHOD_REOPEN && set->reopen_pidfile && !set->reopen_unit) {
                size_t refused = 0;
                r = lr_trusted_writers(run, set, st.st_uid, &run->writers, &run->n_writers, &refused);
                if (r >= 0 && run->n_writers == 0 && refused > 0) {
                        ctx_say(run->ctx, "warning: %s (set %s) is left unrotated: no pidfile of %s names a process "
                                "that may be told to reopen it (see above)", logical, set->name, set->reopen_pidfile);
                        r = -EPERM;
                }
        }
        if (r >= 0)
                r = rotate_as_owner(run, set, real, logical, &st);
        lr_writers_free(run->writers, run->n_writers);
        run->writers = NULL;
        run->n_writers = 0;
        run->cred = (struct lr_cred){ 0 };
out:
        free(dir_rel);
        free(reason);
        free(dir);
        return r;
}

/* Done with the directory of the logs before NEXT (NULL: with the set): makes what changed
 * there durable, and once the set is done the state too (a kill before that loses nothing:
 * status.log has each change, the journal the step in flight). */
static int set_checkpoint(struct lr_run *run, const char *next, char **cur_dir)
{
        const char *slash = next ? strrchr(next, '/') : NULL;
        int r = 0;

        if (next && *cur_dir && slash && strlen(*cur_dir) == (size_t)(slash - next) &&
            strncmp(*cur_dir, next, slash - next) == 0)
                return 0;
        free(*cur_dir);
        *cur_dir = slash ? strndup(next, (size_t)(slash - next)) : NULL;
        r = lr_flush_dirty(run);
        if (next)
                return r;
        if (run->journaled && !run->dry_run) {
                int k = lr_journal_clear(run->state_dir);
                if (k < 0 && r == 0)
                        r = k;
                run->journaled = false;
        }
        if (!run->dry_run) {
                int k = lr_save_state(run);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

int lr_process_set(struct lr_run *run, const struct lr_set *set)
{
        char *cur_dir = NULL;
        int first = 0, r;

        for (char *const *pat = set->paths; *pat; pat++) {
                char *real = ctx_path(run->ctx, *pat);
                size_t rootlen = strlen(run->root);
                glob_t g = { 0 };

                if (!real) {
                        free(cur_dir);
                        return -ENOMEM;
                }
                r = glob(real, 0, NULL, &g);
                if (r == 0)
                        ctx_log(run->ctx, OPSAGENT_LOG_DEBUG, "set %s: %s matches %zu file(s)", set->name, *pat,
                                g.gl_pathc);
                if (r == GLOB_NOMATCH && set->missingok)
                        /* -v: what was looked for, when nothing is found */
                        ctx_log(run->ctx, OPSAGENT_LOG_INFO, "set %s: no log matches %s (missingok)", set->name,
                                *pat);
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
                                (void)set_checkpoint(run, p, &cur_dir);
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
        r = set_checkpoint(run, NULL, &cur_dir);
        if (r < 0 && !first)
                first = r;
        return first;
}
