/* logrotate recipe: finishing or undoing the step a killed run left in the journal. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lr_compress.h"
#include "lr_copytruncate.h"
#include "lr_digest.h"
#include "lr_recover.h"
#include "lr_reopen.h"
#include "lr_state.h"
#include "lr_steps.h"
#include "lr_trust.h"
#include "lr_util.h"


static const char *jstr(json_object *o, const char *key)
{
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static const struct lr_set *find_set(struct lr_run *run, const char *name)
{
        for (size_t i = 0; name && i < run->n_sets; i++)
                if (strcmp(run->sets[i]->name, name) == 0)
                        return run->sets[i];
        return NULL;
}

/* What the facts a killed copytruncate journaled say about its log. */
enum lr_ct_verdict {
        LR_CT_WHOLE,            /* certainly not truncated: the log holds all; drop the copy */
        LR_CT_CUT,              /* certainly truncated: the copy is the only one; keep it */
        LR_CT_GONE,             /* the log is gone or is another file: keep the copy */
        LR_CT_DOUBT,            /* cannot tell: keep both */
};

static bool jnum(json_object *j, const char *key, intmax_t *ret)
{
        const char *s = jstr(j, key);
        char *end = NULL;
        intmax_t v;

        if (!s || !*s)
                return false;
        errno = 0;
        v = strtoimax(s, &end, 10);
        if (errno || *end)
                return false;
        *ret = v;
        return true;
}

/* "SECONDS.NANOSECONDS" as written by lr_copytruncate.c. */
static bool jtime(json_object *j, const char *key, struct timespec *ret)
{
        const char *s = jstr(j, key);
        long long sec;
        long nsec;
        int used = 0;

        if (!s || sscanf(s, "%lld.%9ld%n", &sec, &nsec, &used) != 2 || s[used] || nsec < 0)
                return false;
        *ret = (struct timespec){ .tv_sec = (time_t)sec, .tv_nsec = nsec };
        return true;
}

/* Decides, from the journal J of a copytruncate killed in phase "truncating" (or "truncate", as
 * versions before the facts wrote it), whether its log was truncated. Content is never taken as
 * proof that it was not: an untouched inode (same st_ctime and size as just before the
 * truncation, which was made to fall in a later tick) is; a log smaller than what was copied,
 * or whose first bytes are not the copied ones, was truncated. *ret_why: for the output. */
static enum lr_ct_verdict judge_truncation(json_object *j, const char *log, const char *tmp, const char **ret_why)
{
        intmax_t copied = -1, dev, ino, size;
        struct timespec ctime;
        char want[LR_DIGEST_HEX_LEN + 1], have[LR_DIGEST_HEX_LEN + 1];
        const char *sha = jstr(j, "sha256");
        bool with_facts = jnum(j, "dev", &dev) && jnum(j, "ino", &ino);
        enum lr_ct_verdict v = LR_CT_DOUBT;
        struct stat st;
        int fd, t;

        *ret_why = "the journal does not say how much was copied";
        if (!jnum(j, "copied", &copied) || copied < 0)
                return LR_CT_DOUBT;
        fd = open(log, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                *ret_why = "the log is gone or is no regular file";
                v = LR_CT_GONE;
                goto out;
        }
        if (with_facts && ((intmax_t)st.st_dev != dev || (intmax_t)st.st_ino != ino)) {
                *ret_why = "the log is another file now (another inode)";
                v = LR_CT_GONE;
                goto out;
        }
        if (with_facts && jtime(j, "ctime", &ctime) && jnum(j, "size", &size) && st.st_size == size &&
            st.st_ctim.tv_sec == ctime.tv_sec && st.st_ctim.tv_nsec == ctime.tv_nsec) {
                *ret_why = "the log was not changed since just before the truncation";
                v = LR_CT_WHOLE;
                goto out;
        }
        if (st.st_size < copied) {
                *ret_why = "the log is smaller than what was copied";
                v = LR_CT_CUT;
                goto out;
        }
        if (!sha) {
                /* a journal without the hash: hash the copy's first bytes instead */
                int c = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                t = c >= 0 ? lr_digest_fd_prefix(c, (off_t)copied, want) : -errno;
                if (c >= 0)
                        close(c);
                if (t < 0) {
                        *ret_why = "its copy cannot be read back";
                        goto out;
                }
                sha = want;
        }
        t = lr_digest_fd_prefix(fd, (off_t)copied, have);
        if (t < 0) {
                *ret_why = "the log cannot be read back";
                goto out;
        }
        if (strcmp(have, sha) != 0) {
                *ret_why = "the log no longer starts with what was copied";
                v = LR_CT_CUT;
                goto out;
        }
        *ret_why = "the log was written to since and starts with the same bytes as its copy";
out:
        if (fd >= 0)
                close(fd);
        return v;
}

/* A copytruncate killed while it punched the copied part out of its log (a hole at the start
 * of the same inode: it was not truncated yet) is finished: the rest copied, the log truncated,
 * the copy kept. 1 when it was so (and done), 0 when not, -errno. */
static int finish_punched(struct lr_run *run, json_object *j, const char *log, const char *dst, const char *tmp,
                          const char *logical)
{
        intmax_t dev, ino;
        struct stat st;
        char *kept = NULL;
        int fd, hole, r;

        if (!jnum(j, "dev", &dev) || !jnum(j, "ino", &ino))
                return 0;
        fd = open(log, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return 0;
        hole = fstat(fd, &st) == 0 && (intmax_t)st.st_dev == dev && (intmax_t)st.st_ino == ino &&
               lr_starts_with_hole(fd);
        close(fd);
        if (!hole)
                return 0;
        r = lr_copytruncate_finish(run, log, logical, dst, tmp, (dev_t)dev, (ino_t)ino, &kept);
        if (r < 0) {
                ctx_say(run->ctx, "error: cannot finish the copytruncate of %s that the last run was killed in: %s; "
                        "its copy stays as %s, and the start of the log (copied there) is a hole", log,
                        strerror(-r), tmp);
                return r;
        }
        ctx_say(run->ctx, "recovered: finished the copytruncate of %s that the last run was killed in; its copy is "
                "%s", log, kept);
        if (logical)
                (void)lr_state_set(run->state, logical, run->now);
        free(kept);
        return 1;
}

/* Finishes or undoes the copytruncate of LOG that a killed run left in the journal J. */
static int recover_copytruncate(struct lr_run *run, json_object *j, const char *log, const char *dst,
                                const char *tmp, const char *logical)
{
        const char *phase = jstr(j, "phase"), *why = "";
        enum lr_ct_verdict v;
        char *kept = NULL;
        int r;

        if (!lr_exists(tmp))
                return 0;       /* either never made or already renamed to dst: nothing half-done */
        if (phase && strcmp(phase, "truncating") == 0 && jstr(j, "punch")) {
                r = finish_punched(run, j, log, dst, tmp, logical);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        if (phase && strcmp(phase, "truncated") == 0) {
                v = LR_CT_CUT;
                why = "the journal says so";
        } else if (phase && (strcmp(phase, "truncating") == 0 || strcmp(phase, "truncate") == 0))
                v = judge_truncation(j, log, tmp, &why);
        else
                v = LR_CT_WHOLE;        /* phase "copy": the truncation comes after the next marker */
        if (v == LR_CT_WHOLE) {
                if (unlink(tmp) < 0 && errno != ENOENT)
                        return -errno;
                ctx_say(run->ctx, "recovered: undid the interrupted copy of %s (it was not truncated)", log);
                return 0;
        }
        r = lr_keep_copy(run, tmp, dst, &kept);
        if (r < 0) {
                ctx_say(run->ctx, "error: cannot give the copy %s of %s a name: %s; it is left as it is, remove "
                        "nothing of it", tmp, log, strerror(-r));
                return r;
        }
        if (v == LR_CT_CUT)
                ctx_say(run->ctx, "recovered: %s had been truncated (%s); kept its copy as %s", log, why, kept);
        else if (v == LR_CT_GONE)
                ctx_say(run->ctx, "recovered: %s was being truncated when the last run was killed and %s; kept "
                        "its copy as %s", log, why, kept);
        else
                ctx_say(run->ctx, "warning: recovered: cannot tell whether %s was truncated before the last run "
                        "was killed (%s): kept both; its copy is %s, and the lines at the start of the log may "
                        "be in both", log, why, kept);
        if (logical)
                (void)lr_state_set(run->state, logical, run->now);
        free(kept);
        return 0;
}

/* The compression of SRC into DST in flight: a compressed file renamed into place is complete
 * (it was fsynced first), so SRC goes; a temporary is half-written, so it goes. A step that
 * was over is left alone, silently. */
static int recover_compress(struct lr_run *run, const char *src, const char *dst)
{
        char *ctmp = lr_join3(dst, LR_TMP_SUFFIX, "");
        bool half = false;
        int r = 0;

        if (!ctmp)
                return -ENOMEM;
        half = unlink(ctmp) == 0;
        if (lr_exists(dst) && lr_exists(src)) {
                if (unlink(src) < 0)
                        r = -errno;
                else
                        ctx_say(run->ctx, "recovered: finished compressing %s", dst);
        } else if (half && lr_exists(src))
                ctx_say(run->ctx, "recovered: undid the interrupted compression of %s (kept it whole)", src);
        free(ctmp);
        return r;
}

/* The rotation of LOG (renamed to DST, then for "create" a new log and maybe its compression
 * in the same entry; for "reopen" the writer's signal) in flight: finished where it got past the
 * rename. A rotation that was over is left alone, silently. */
static int recover_rename(struct lr_run *run, json_object *j, const struct lr_set *set, const char *log,
                          const char *dst, const char *logical)
{
        const char *method = jstr(j, "method"), *compressed = jstr(j, "compressed");
        struct stat st;
        int r = 0;

        if (compressed) {
                r = recover_compress(run, dst, compressed);
                if (r < 0)
                        return r;
        }
        if (lstat(dst, &st) < 0 && !(compressed && lstat(compressed, &st) == 0))
                return 0;       /* not renamed yet: the log is whole */
        if (method && strcmp(method, "create") == 0 && set) {
                uid_t uid = st.st_uid;
                gid_t gid = st.st_gid;
                if (lr_exists(log))
                        return 0;       /* over */
                r = lr_resolve_owner(run, set, &uid, &gid);
                if (r >= 0)
                        r = lr_create_new_log(set, log, uid, gid);
                if (r < 0)
                        return r;
                (void)lr_dircache_note(run->dirs, log, true);
        } else if (method && strcmp(method, "reopen") == 0 && set && lr_exists(dst))
                r = lr_reopen_and_compress(run, set, log, dst);
        else
                return 0;
        if (logical)
                (void)lr_state_set(run->state, logical, run->now);
        ctx_say(run->ctx, "recovered: finished rotating %s to %s", log, dst);
        return r;
}

/* The step of a journal, and what it names. */
struct recover_args {
        json_object *j;
        const struct lr_set *set;
        const char *step, *src, *dst, *log, *tmp, *logical;
};

#define RECOVER_NOTED 1         /* (from a child) LOGICAL's rotation was recorded there */
#define RECOVER_REOPEN 2        /* (from a child) renamed: the writer is told, and the log compressed, here */

/* Finishes or undoes A's step; paths are cut by STRIP bytes (a child chrooted to the root).
 * IN_CHILD: a "reopen" rename is not finished there but RECOVER_REOPEN returned. */
static int recover_step(struct lr_run *run, const struct recover_args *a, size_t strip, bool in_child)
{
#define S(p) ((p) ? (p) + strip : NULL)
        const char *method = jstr(a->j, "method");

        if (a->step && strcmp(a->step, "compress") == 0 && a->src && a->dst)
                return recover_compress(run, S(a->src), S(a->dst));
        if (a->step && strcmp(a->step, "copytruncate") == 0 && a->log && a->dst && a->tmp)
                return recover_copytruncate(run, a->j, S(a->log), S(a->dst), S(a->tmp), a->logical);
        if (a->step && strcmp(a->step, "rename") == 0 && a->log && a->dst) {
                const char *compressed = jstr(a->j, "compressed");
                struct stat st;
                int r;

                if (!in_child || !method || strcmp(method, "reopen") != 0 || !a->set)
                        return recover_rename(run, a->j, a->set, S(a->log), S(a->dst), a->logical);
                if (compressed) {
                        r = recover_compress(run, S(a->dst), S(compressed));
                        if (r < 0)
                                return r;
                }
                return lstat(a->dst + strip, &st) == 0 && S_ISREG(st.st_mode) ? RECOVER_REOPEN : 0;
        }
        ctx_say(run->ctx, "warning: unknown step in %s/%s; ignored", run->state_dir, LR_JOURNAL_FILE);
        return 0;
#undef S
}

static int recover_in_child(struct lr_run *run, void *arg)
{
        const struct recover_args *a = arg;
        time_t before = 0, after = 0;
        bool had = a->logical && lr_state_get(run->state, a->logical, &before) == 0;
        int r = recover_step(run, a, run->root_strip, true);

        if (r < 0)
                return r;
        if (a->logical && lr_state_get(run->state, a->logical, &after) == 0 && (!had || after != before))
                r |= RECOVER_NOTED;
        return r;
}

/* Who finishes the step on PATH: its directory is walked beneath the root like a log's (no
 * link, none that others or a group other than root's can write: else -ELOOP/-EPERM, said);
 * where a user controls it, run->cred is set to that user (the set's su first), and the step
 * is then made by a child that has become them, as the rotation was. */
static int recover_cred(struct lr_run *run, const struct lr_set *set, const char *path)
{
        struct lr_dir_trust t = { 0 };
        size_t n = strlen(run->root);
        const char *rel = path + n, *slash;
        char *dir = NULL, *why = NULL;
        int r;

        if (n && (strncmp(path, run->root, n) != 0 || path[n] != '/')) {
                ctx_say(run->ctx, "error: %s/%s names %s, outside the root %s: the step the last run was killed "
                        "in is not finished; remove the journal once you have looked at it", run->state_dir,
                        LR_JOURNAL_FILE, path, run->root);
                return -EXDEV;
        }
        slash = strrchr(rel, '/');
        dir = slash && slash != rel ? strndup(rel, (size_t)(slash - rel)) : strdup("/");
        if (!dir)
                return -ENOMEM;
        r = lr_trust_dir(run, dir, &t, &why);
        if (r < 0)
                ctx_say(run->ctx, "error: the step the last run was killed in on %s is not finished: %s; %s/%s is "
                        "kept for the run after that is mended", path, why ? why : strerror(-r), run->state_dir,
                        LR_JOURNAL_FILE);
        else if (set)
                r = lr_rotation_cred(run, set, &t, &run->cred);
        else if (t.user_owned && geteuid() == 0)
                run->cred = (struct lr_cred){ .set = true, .uid = t.uid, .gid = t.gid };
        free(why);
        free(dir);
        return r;
}

/* Makes A's step as the user run->cred names, in a child; what only root may do (tell the
 * writer, record the rotation) here. */
static int recover_as_owner(struct lr_run *run, const struct recover_args *a)
{
        const char *path = a->log ? a->log : a->src;
        char *dir = strdup(path);
        int r;

        if (!dir)
                return -ENOMEM;
        r = lr_journal_prepare(run->state_dir);
        if (r >= 0)
                r = lr_state_prepare(run->state);
        if (r < 0) {
                ctx_say(run->ctx, "error: cannot open %s/%s and %s to finish the last run's step on %s as uid %u: "
                        "%s%s", run->state_dir, LR_JOURNAL_FILE, LR_STATE_LOG_FILE, path, (unsigned)run->cred.uid,
                        strerror(-r), lr_write_advice(r));
                goto out;
        }
        r = lr_run_as(run, recover_in_child, (void *)a);
        if (strrchr(dir, '/'))
                *strrchr(dir, '/') = '\0';
        (void)lr_dircache_forget(run->dirs, dir);
        if (r == -ECHILD)
                ctx_say(run->ctx, "error: finishing the last run's step on %s as uid %u died", path,
                        (unsigned)run->cred.uid);
        if (r < 0)
                goto out;
        if ((r & RECOVER_NOTED) && a->logical)
                (void)lr_state_set(run->state, a->logical, run->now);
        if (r & RECOVER_REOPEN) {
                r = lr_reopen_and_compress(run, a->set, a->log, a->dst);
                if (r >= 0) {
                        if (a->logical)
                                (void)lr_state_set(run->state, a->logical, run->now);
                        ctx_say(run->ctx, "recovered: finished rotating %s to %s", a->log, a->dst);
                }
        } else
                r = 0;
out:
        free(dir);
        return r;
}

int lr_recover(struct lr_run *run)
{
        json_object *j = NULL;
        const char *step, *src, *dst, *log, *tmp, *logical;
        const struct lr_set *set;
        struct recover_args a;
        int r;

        r = lr_journal_read(run->state_dir, &j);
        if (r == -ENOENT)
                return 0;
        if (r == -EBADMSG) {
                ctx_say(run->ctx, "warning: %s/%s was unreadable and is removed; check the rotated logs of "
                        "the last run", run->state_dir, LR_JOURNAL_FILE);
                return 0;
        }
        if (r < 0) {
                ctx_say(run->ctx, "error: cannot read %s/%s (what the last run was doing when it stopped): %s%s; "
                        "it is left for the next run", run->state_dir, LR_JOURNAL_FILE, strerror(-r),
                        lr_write_advice(r));
                return r;
        }
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
        a = (struct recover_args){ .j = j, .set = set, .step = step, .src = src, .dst = dst, .log = log, .tmp = tmp,
                                   .logical = logical };
        /* The journal is root's, but the directories it names may have changed hands or been
         * swapped for links since: checked as a rotation's are, and the step made as whoever
         * controls them. */
        if (step && (log || src)) {
                r = recover_cred(run, set, log ? log : src);
                if (r < 0)
                        goto out;
        }
        if (run->cred.set)
                r = recover_as_owner(run, &a);
        else
                r = recover_step(run, &a, 0, false);
        run->cred = (struct lr_cred){ 0 };
        if (r < 0)
                goto out;
        if (run->state)
                (void)lr_save_state(run);
out:
        if (r >= 0 && !run->dry_run)
                r = lr_journal_clear(run->state_dir);
        json_object_put(j);
        return r;
}
