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
#define LR_CATCHUP_ROUNDS 16          /* copy-what-was-appended passes at most, before the marker */
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
                r = dg ? lr_digest_update(dg, buf, (size_t)n) : 0;
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

/* Copies slices from IN at *POS to OUT, at normal priority, until the log holds at most
 * LR_FINAL_TAIL_MAX bytes not copied yet, or BUDGET_END (lr_now_ms()) has passed. */
static int copy_until_tail(int in, int out, off_t *pos, char *buf, off_t *last_nl, uint64_t budget_end)
{
        for (;;) {
                off_t size = 0;
                int r = copy_limit(in, 0, &size, NULL);
                if (r < 0)
                        return r;
                if (size - *pos <= LR_FINAL_TAIL_MAX || lr_now_ms() >= budget_end)
                        return 0;
                r = copy_more(in, out, pos, size, buf, last_nl, NULL);
                if (r < 0)
                        return r;
        }
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
                   const struct stat *now, bool with_ctime, off_t punch_to)
{
        char dev[32], ino[32], size[32], ctime_s[48], punch[32];

        snprintf(dev, sizeof(dev), "%ju", (uintmax_t)st->st_dev);
        snprintf(ino, sizeof(ino), "%ju", (uintmax_t)st->st_ino);
        if (now) {
                snprintf(size, sizeof(size), "%jd", (intmax_t)now->st_size);
                snprintf(ctime_s, sizeof(ctime_s), "%jd.%09ld", (intmax_t)now->st_ctim.tv_sec, now->st_ctim.tv_nsec);
        }
        snprintf(punch, sizeof(punch), "%jd", (intmax_t)punch_to);
        return lr_journal_step(run, "copytruncate", (const char *const[]){
                "log", log, "logical", logical, "dst", dst, "tmp", tmp, "phase", phase, "dev", dev, "ino", ino,
                "copied", copied, "sha256", sha256, "size", now ? size : NULL,
                "ctime", now && with_ctime ? ctime_s : NULL, "punch", punch_to > 0 ? punch : NULL, NULL });
}

/* Frees the blocks of [0, PUNCH_TO) of the log IN (copied and fsynced already) in slices of
 * LR_PUNCH_SLICE, each of which holds the log's inode lock a moment only, so that the truncation,
 * which holds it while it frees the blocks of the whole log, has little left to free; where the
 * filesystem cannot punch holes, the copied part is at least dropped from the page cache. */
static void free_copied(int in, off_t punch_to)
{
        for (off_t off = 0; off < punch_to; off += LR_PUNCH_SLICE) {
                if (fallocate(in, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
                              MIN((off_t)LR_PUNCH_SLICE, punch_to - off)) < 0) {
                        (void)sync_file_range(in, 0, punch_to, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                              SYNC_FILE_RANGE_WAIT_AFTER);
                        (void)posix_fadvise(in, 0, punch_to, POSIX_FADV_DONTNEED);
                        return;
                }
                if (off == 0)
                        hook(LR_CT_PUNCHED);
        }
}

/* The last stage, once the facts are journaled: frees what was copied (free_copied()), copies
 * the rest, then the last pass and the truncation; keeps whole lines only in OUT when the
 * truncation cut a line being written. */
static int final_stage(struct lr_run *run, int in, int out, off_t *ppos, char *buf, off_t *plast_nl,
                       off_t grown_from, off_t punch_to, uint64_t *ret_window_ns, off_t *ret_dropped,
                       bool *ret_truncated)
{
        off_t pos = *ppos, last_nl = *plast_nl, limit = 0, from;
        struct timespec mtime = { 0 };
        bool rt, writing = false, at_end;
        uint64_t t0, budget_end;
        int r = 0;

        free_copied(in, punch_to);
        budget_end = lr_now_ms() + LR_FINAL_BUDGET_MS;
        /* The last pass and the truncation run at real-time priority where we may (root): on a
         * busy machine, being preempted between them is what loses lines. But a writer that
         * shares our CPU cannot write meanwhile, so the pass must be short: slices are copied
         * at normal priority until the log holds at most LR_FINAL_TAIL_MAX bytes not copied yet,
         * then the last pass copies at most LR_FINAL_RT_MAX (else it goes back to slices) and
         * truncates. Only when that takes longer than LR_FINAL_BUDGET_MS (a writer faster than
         * the copy) does the last pass copy whatever it finds. A pass that ends inside a line
         * has most often read a write(2) still going on (a read sees it page by page): wait for
         * it a little and pass again, LR_FINAL_TRIES times at most, so that the truncation
         * falls between two lines. The writer is writing if the log grew since its first copy
         * or was written to a moment ago (a write stalled half-way); the unfinished last line
         * of a log nobody writes to is not waited for. */
        for (int try = 1;; try++) {
                bool overrun;
                r = copy_until_tail(in, out, &pos, buf, &last_nl, budget_end);
                if (r < 0)
                        break;
                overrun = lr_now_ms() >= budget_end;
                rt = sched_getscheduler(0) == SCHED_OTHER &&
                     sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){ .sched_priority = 1 }) == 0;
                t0 = lr_now_ns();
                from = pos;
                r = copy_limit(in, LR_COPY_BUFSIZE, &limit, &mtime);
                if (r >= 0 && !overrun && limit > pos + LR_FINAL_RT_MAX)
                        limit = pos + LR_FINAL_RT_MAX;
                if (r >= 0)
                        r = copy_more(in, out, &pos, limit, buf, &last_nl, NULL);
                writing = pos > grown_from || recently(&mtime);
                at_end = r >= 0 && (overrun || pos < limit);    /* read to the end of the log */
                if (r >= 0 && at_end && (last_nl == pos || !writing || try >= LR_FINAL_TRIES)) {
                        if (ftruncate(in, 0) < 0)
                                r = -errno;
                        else
                                *ret_truncated = true;
                }
                *ret_window_ns = lr_now_ns() - t0;
                if (rt)
                        (void)sched_setscheduler(0, SCHED_OTHER, &(struct sched_param){ .sched_priority = 0 });
                if ((uint64_t)(pos - from) > run->stats.copytruncate_rt_bytes)
                        run->stats.copytruncate_rt_bytes = (uint64_t)(pos - from);
                if (overrun && *ret_truncated)
                        run->stats.copytruncate_overruns++;
                if (r < 0 || *ret_truncated)
                        break;
                if (at_end)     /* inside a line: let the write going on end */
                        (void)nanosleep(&(struct timespec){ .tv_nsec = LR_FINAL_WAIT_MS * 1000000L }, NULL);
                else
                        try--;  /* the tail grew past the bound meanwhile: that was no try */
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
out:
        *ppos = pos;
        *plast_nl = last_nl;
        return r;
}

int lr_copytruncate(struct lr_run *run, const char *log, const char *logical, const char *dst,
                    uint64_t *ret_window_ns, off_t *ret_dropped, bool *ret_truncated, char **ret_kept)
{
        char *tmp = lr_join3(dst, LR_TMP_SUFFIX, ""), *buf = malloc(LR_COPY_BUFSIZE), *kept = NULL, copied[32];
        char sha[LR_DIGEST_HEX_LEN + 1];
        struct lr_digest *dg = NULL;
        int in = -1, out = -1, r;
        bool tmp_made = false;
        off_t pos = 0, last_nl = 0, limit = 0, prev = -1, grown_from, punch_to;
        struct stat st, marked;

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
        r = journal(run, "copy", log, logical, dst, tmp, &st, NULL, NULL, NULL, false, 0);
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
        punch_to = st.st_blksize > 0 ? pos - pos % st.st_blksize : 0;
        r = lr_digest_peek(dg, sha);
        if (r >= 0)
                r = journal(run, "truncating", log, logical, dst, tmp, &st, copied, sha, &marked, true, punch_to);
        if (r >= 0 && !wait_past_ctime(&marked.st_ctim))
                /* the clock stands still or went back: st_ctime proves nothing, leave it out */
                r = journal(run, "truncating", log, logical, dst, tmp, &st, copied, sha, &marked, false, punch_to);
        if (r < 0)
                goto out;
        hook(LR_CT_MARKED);
        r = final_stage(run, in, out, &pos, buf, &last_nl, grown_from, punch_to, ret_window_ns, ret_dropped,
                        ret_truncated);
        if (r < 0)
                goto out;
        if (fsync(out) < 0 || close(out) < 0) {
                out = -1;
                r = -errno;
                goto out;
        }
        out = -1;
        snprintf(copied, sizeof(copied), "%jd", (intmax_t)pos);
        r = journal(run, "truncated", log, logical, dst, tmp, &st, copied, NULL, NULL, false, 0);
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

int lr_starts_with_hole(int fd)
{
        struct stat st;
        off_t data;

        if (fstat(fd, &st) < 0 || st.st_size == 0)
                return 0;
        data = lseek(fd, 0, SEEK_DATA);
        if (data < 0)
                return errno == ENXIO ? 1 : 0;  /* holes only */
        return data > 0;
}

int lr_copytruncate_finish(struct lr_run *run, const char *log, const char *logical, const char *dst,
                           const char *tmp, dev_t dev, ino_t ino, char **ret_kept)
{
        char *buf = malloc(LR_COPY_BUFSIZE), *kept = NULL, copied[32];
        int in = -1, out = -1, r;
        struct stat st, ot;
        off_t pos, last_nl, dropped = 0;
        uint64_t window = 0;
        bool truncated = false;

        if (!buf)
                return -ENOMEM;
        in = open(log, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        out = open(tmp, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0 || out < 0 || fstat(in, &st) < 0 || fstat(out, &ot) < 0) {
                r = -errno;
                goto out;
        }
        if (st.st_dev != dev || st.st_ino != ino || !S_ISREG(ot.st_mode)) {
                r = -ESTALE;
                goto out;
        }
        pos = last_nl = ot.st_size;
        /* what is punched out of the log must be in the copy for good */
        if (fsync(out) < 0 || lseek(out, pos, SEEK_SET) < 0) {
                r = -errno;
                goto out;
        }
        r = final_stage(run, in, out, &pos, buf, &last_nl, pos, pos - pos % (st.st_blksize > 0 ? st.st_blksize : 1),
                        &window, &dropped, &truncated);
        if (r >= 0 && (fsync(out) < 0 || close(out) < 0))
                r = -errno;
        out = -1;
        if (r < 0)
                goto out;
        snprintf(copied, sizeof(copied), "%jd", (intmax_t)pos);
        r = journal(run, "truncated", log, logical, dst, tmp, &st, copied, NULL, NULL, false, 0);
        if (r >= 0)
                r = lr_keep_copy(run, tmp, dst, &kept);
        if (r >= 0) {
                *ret_kept = kept;
                kept = NULL;
        }
out:
        if (out >= 0)
                close(out);
        if (in >= 0)
                close(in);
        free(kept);
        free(buf);
        return r;
}
