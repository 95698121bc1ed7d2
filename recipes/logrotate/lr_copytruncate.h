/* logrotate recipe: copytruncate. A log whose writer keeps it open is copied to DST while the
 * writer goes on, then truncated. The copy catches up with what was appended until a pass
 * finds nothing new; the last pass and the truncation run at real-time priority where we may,
 * and end between two lines where the writer allows it.
 *
 * Journaled (lr_journal.h), so that the next run after a kill -9 keeps the copy of a log that
 * was truncated and removes the copy of one that was not, deciding from facts recorded before
 * the truncation and never from content, which can repeat (lr_recover.c):
 *
 *   phase "copy"        the log's st_dev/st_ino; the log is never truncated in this phase
 *   phase "truncating"  written (fsynced) just before the truncation, the copy fsynced:
 *                       bytes copied so far, their SHA-256, the log's size and st_ctime then
 *                       (the truncation is made to fall in a later st_ctime tick), and up to
 *                       where the copied part may be punched out of the log (a hole at its
 *                       start then means: not truncated yet, finish it)
 *   phase "truncated"   written (fsynced) after it, the copy fsynced: the copy is complete */
#ifndef LR_COPYTRUNCATE_H
#define LR_COPYTRUNCATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lr_rotate.h"

/* The last pass, at real-time priority, blocks a writer that shares our CPU: it starts when the
 * log holds at most LR_FINAL_TAIL_MAX bytes not copied yet (copied in slices at normal priority
 * until then) and copies at most LR_FINAL_RT_MAX, unless getting there took LR_FINAL_BUDGET_MS
 * (a writer faster than the copy; then it copies what there is: an overrun). */
#define LR_FINAL_TAIL_MAX (256 * 1024)
#define LR_FINAL_RT_MAX (1024 * 1024)
#define LR_FINAL_BUDGET_MS 2000
/* The truncation frees the blocks of the whole log under its inode lock (0.2 ms per MiB here: a
 * writer blocked 190 ms by a 1 GiB log), so the copied part is punched out first, in slices of
 * this (the journal's "truncating" entry says up to where: recovery then finds a hole at the
 * start of the log, and finishes the copytruncate). */
#define LR_PUNCH_SLICE (4 * 1024 * 1024)

/* Copies LOG (LOGICAL: its name without the root) to DST and truncates LOG. *ret_window_ns:
 * the time between the last read and the truncation, where appended lines are lost;
 * *ret_dropped: bytes of a line being written as the log was truncated, left out of the copy;
 * *ret_truncated: whether LOG was truncated (then its copy is kept whatever else failed);
 * *ret_kept: where the copy is (DST, or another name when DST appeared meanwhile; caller
 * frees; NULL on failure before the truncation). */
int lr_copytruncate(struct lr_run *run, const char *log, const char *logical, const char *dst,
                    uint64_t *ret_window_ns, off_t *ret_dropped, bool *ret_truncated, char **ret_kept);

/* Test hook: when set, called at each of these points of a copytruncate (a test kills the
 * process there). Never set by the recipe itself. */
enum lr_ct_point {
        LR_CT_COPYING,          /* the first copy made, phase "copy" */
        LR_CT_MARKED,           /* phase "truncating" journaled, the log not truncated yet */
        LR_CT_PUNCHED,          /* the first slice of the copied part punched out of the log */
        LR_CT_TRUNCATED,        /* just after ftruncate(), phase still "truncating" */
        LR_CT_DONE,             /* phase "truncated" journaled, the copy not renamed yet */
};
extern void (*lr_copytruncate_hook)(enum lr_ct_point point);

/* Recovery: finishes the copytruncate of LOG (LOGICAL) into its copy TMP (to be kept as DST)
 * that a killed run had started to punch out (journal phase "truncating", a hole at the start
 * of LOG, its inode DEV/INO): what was appended after TMP's end is copied, LOG truncated and the
 * copy kept (*ret_kept: its name, caller frees), as the run would have. */
int lr_copytruncate_finish(struct lr_run *run, const char *log, const char *logical, const char *dst,
                           const char *tmp, dev_t dev, ino_t ino, char **ret_kept);
/* 1 when the log FD starts with a hole (SEEK_DATA), 0 when not or when the filesystem cannot
 * tell. */
int lr_starts_with_hole(int fd);

#endif
