/* logrotate recipe: copytruncate, the copy of a log that its writer keeps open, then its
 * truncation, losing as little as the two can, journaled so that a kill -9 at any point loses
 * nothing (see lr_copytruncate.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>

#include "lr_compress.h"
#include "lr_copytruncate.h"
#include "lr_digest.h"
#include "lr_journal.h"
#include "lr_steps.h"
#include "lr_util.h"
#include "util/fileio.h"

#define LR_COPY_BUFSIZE (1024 * 1024)
#define LR_CATCHUP_ROUNDS 16          /* copy-what-was-appended passes at most */
#ifndef LR_FINAL_TRIES                /* (a unit test builds it with 1) */
#define LR_FINAL_TRIES 10             /* last passes at most, to end between lines */
#endif
#define LR_FINAL_WAIT_MS 2            /* pause between two of them */
#define LR_ACTIVE_MS 1000             /* a log written to this recently has a writer */
#define LR_CTIME_WAIT_MS 1100         /* at most, for the clock to leave the marker's st_ctime tick */

void (*lr_copytruncate_hook)(enum lr_ct_point point);

static void hook(enum lr_ct_point point)
{
        if (lr_copytruncate_hook)
                lr_copytruncate_hook(point);
}

/* Copies from IN at *POS to OUT until EOF or LIMIT, whichever comes first: a writer faster than
 * the copy cannot keep a pass going. *LAST_NL is moved past the last newline copied; what is
 * copied goes into the digest DG. */
static int copy_more(int in, int out, off_t *pos, off_t limit, char *buf, off_t *last_nl, struct lr_digest *dg)
{
        while (*pos < limit) {
                size_t want = (size_t)MIN((off_t)LR_COPY_BUFSIZE, limit - *pos);
                ssize_t n = pread(in, buf, want, *pos), w = 0;
                const char *nl;
                int r;
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
                r = lr_digest_update(dg, buf, (size_t)n);
                if (r < 0)
                        return r;
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

/* Waits (LR_CTIME_WAIT_MS at most) until a change made now would get a st_ctime later than
 * T: the kernel stamps inodes from the coarse clock, truncated to the filesystem's granularity,
 * which may be a whole second (a T without nanoseconds). Then a log whose st_ctime is still T
 * was certainly not truncated. false when the clock did not get there. */
static bool wait_past_ctime(const struct timespec *t)
{
        uint64_t end = lr_now_ms() + LR_CTIME_WAIT_MS;
        struct timespec now;

        for (;;) {
                clock_gettime(CLOCK_REALTIME_COARSE, &now);
                if (t->tv_nsec == 0 ? now.tv_sec > t->tv_sec
                                    : now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec > t->tv_nsec))
                        return true;
                if (lr_now_ms() >= end)
                        return false;
                lr_sleep_ms(1);
        }
}

/* The journal of this copytruncate in PHASE, with the facts known so far (NULL ones left out). */
static int journal(struct lr_run *run, const char *phase, const char *log, const char *logical, const char *dst,
                   const char *tmp, const struct stat *st, const char *copied, const char *sha256,
                   const struct stat *now, bool with_ctime)
{
        char dev[32], ino[32], size[32], ctime_s[48];

        snprintf(dev, sizeof(dev), "%ju", (uintmax_t)st->st_dev);
        snprintf(ino, sizeof(ino), "%ju", (uintmax_t)st->st_ino);
        if (now) {
                snprintf(size, sizeof(size), "%jd", (intmax_t)now->st_size);
                snprintf(ctime_s, sizeof(ctime_s), "%jd.%09ld", (intmax_t)now->st_ctim.tv_sec, now->st_ctim.tv_nsec);
        }
        return lr_journal_step(run, "copytruncate", (const char *const[]){
                "log", log, "logical", logical, "dst", dst, "tmp", tmp, "phase", phase, "dev", dev, "ino", ino,
                "copied", copied, "sha256", sha256, "size", now ? size : NULL,
                "ctime", now && with_ctime ? ctime_s : NULL, NULL });
}

int lr_copytruncate(struct lr_run *run, const char *log, const char *logical, const char *dst,
                    uint64_t *ret_window_ns, off_t *ret_dropped, bool *ret_truncated, char **ret_kept)
{
        char *tmp = lr_join3(dst, LR_TMP_SUFFIX, ""), *buf = malloc(LR_COPY_BUFSIZE), *kept = NULL, copied[32];
        char sha[LR_DIGEST_HEX_LEN + 1];
        struct lr_digest *dg = NULL;
        int in = -1, out = -1, r;
        bool tmp_made = false, rt, writing = false;
        off_t pos = 0, last_nl = 0, limit = 0, prev = -1, grown_from;
        struct stat st, marked;
        struct timespec mtime = { 0 };
        uint64_t t0;

        *ret_dropped = 0;
        *ret_truncated = false;
        if (!tmp || !buf) {
                r = -ENOMEM;
                goto out;
        }
        r = lr_digest_new(&dg);
        if (r < 0)
                goto out;
        in = open(log, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0 || fstat(in, &st) < 0) {
                r = -errno;
                goto out;
        }
        (void)unlink(tmp);
        r = journal(run, "copy", log, logical, dst, tmp, &st, NULL, NULL, NULL, false);
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
        r = copy_more(in, out, &pos, st.st_size, buf, &last_nl, dg);
        if (r < 0)
                goto out;
        hook(LR_CT_COPYING);
        grown_from = pos;
        /* Copy what was appended meanwhile until a pass finds nothing new, then truncate at once:
         * only what the writer appends between the last read and ftruncate() is lost. A pass that
         * finds no less than the one before means the writer is as fast as the copy: stop. */
        for (int round = 0; round < LR_CATCHUP_ROUNDS; round++) {
                off_t before = pos;
                r = copy_limit(in, 0, &limit, NULL);
                if (r >= 0)
                        r = copy_more(in, out, &pos, limit, buf, &last_nl, dg);
                if (r < 0)
                        goto out;
                if (pos == before || (prev >= 0 && pos - before >= prev))
                        break;
                prev = pos - before;
        }
        /* The facts recovery decides from, durable before the truncation: what was copied (the
         * copy fsynced, its SHA-256), the log's size and st_ctime now. */
        if (fsync(out) < 0 || fstat(in, &marked) < 0) {
                r = -errno;
                goto out;
        }
        snprintf(copied, sizeof(copied), "%jd", (intmax_t)pos);
        r = lr_digest_peek(dg, sha);
        if (r >= 0)
                r = journal(run, "truncating", log, logical, dst, tmp, &st, copied, sha, &marked, true);
        if (r >= 0 && !wait_past_ctime(&marked.st_ctim))
                /* the clock stands still or went back: st_ctime proves nothing, leave it out */
                r = journal(run, "truncating", log, logical, dst, tmp, &st, copied, sha, &marked, false);
        if (r < 0)
                goto out;
        hook(LR_CT_MARKED);
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
                t0 = lr_now_ns();
                r = copy_limit(in, LR_COPY_BUFSIZE, &limit, &mtime);
                if (r >= 0)
                        r = copy_more(in, out, &pos, limit, buf, &last_nl, dg);
                writing = pos > grown_from || recently(&mtime);
                if (r >= 0 && (last_nl == pos || !writing || try == LR_FINAL_TRIES)) {
                        if (ftruncate(in, 0) < 0)
                                r = -errno;
                        else
                                *ret_truncated = true;
                }
                *ret_window_ns = lr_now_ns() - t0;
                if (rt)
                        (void)sched_setscheduler(0, SCHED_OTHER, &(struct sched_param){ .sched_priority = 0 });
                if (r < 0 || *ret_truncated)
                        break;
                (void)nanosleep(&(struct timespec){ .tv_nsec = LR_FINAL_WAIT_MS * 1000000L }, NULL);
        }
        if (r < 0)
                goto out;
        hook(LR_CT_TRUNCATED);
        /* Still inside a line, and the writer is writing: the truncation cut a write that was
         * going on, and its rest is gone. Keep whole lines only. */
        if (writing && last_nl > 0 && last_nl < pos) {
                if (ftruncate(out, last_nl) < 0) {
                        r = -errno;
                        goto out;
                }
                *ret_dropped = pos - last_nl;
                pos = last_nl;
        }
        if (fsync(out) < 0 || close(out) < 0) {
                out = -1;
                r = -errno;
                goto out;
        }
        out = -1;
        snprintf(copied, sizeof(copied), "%jd", (intmax_t)pos);
        r = journal(run, "truncated", log, logical, dst, tmp, &st, copied, NULL, NULL, false);
        if (r < 0)
                goto out;
        hook(LR_CT_DONE);
        r = lr_keep_copy(run, tmp, dst, &kept);
        if (r < 0)
                goto out;
        tmp_made = false;
        /* the journal entry says "truncated": it is cleared with the others once the set is done */
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
                } else if (lr_keep_copy(run, tmp, dst, &kept) == 0)
                        (void)lr_journal_clear(run->state_dir);
        }
        if (in >= 0)
                close(in);
        *ret_kept = kept;
        lr_digest_free(dg);
        free(buf);
        free(tmp);
        return r;
}
