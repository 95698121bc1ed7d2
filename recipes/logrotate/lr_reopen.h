/* logrotate recipe: making the writer of a rotated log reopen it (a signal through systemd, to
 * the processes of pidfiles, or a command), and knowing when it has. */
#ifndef LR_REOPEN_H
#define LR_REOPEN_H

#include "lr_rotate.h"

/* 1 when a process holds PATH open for writing, 0 when none does, -errno when /proc cannot
 * tell (not mounted, or another user's processes hidden from us). Readers (tail -f, less) do
 * not count: they lose nothing when the file is compressed and removed. */
int lr_open_for_writing(const char *path);

/* After the rename of a "reopen" set: signals the writer, then (the journal's "rename" step
 * is over) waits for it to let go of ROTATED and compresses it unless delayed. A run killed
 * before the signal went out sends it again on recovery. -ETIMEDOUT (said) when the writer
 * did not let go within the set's timeout: ROTATED is left uncompressed. */
int lr_reopen_and_compress(struct lr_run *run, const struct lr_set *set, const char *log, const char *rotated);

#endif
