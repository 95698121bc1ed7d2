/* logrotate recipe: copytruncate. A log whose writer keeps it open is copied to DST while the
 * writer goes on, then truncated. The copy catches up with what was appended until a pass
 * finds nothing new; the last pass and the truncation run at real-time priority where we may,
 * and end between two lines where the writer allows it. Journaled: the next run keeps the copy
 * of a log that was truncated, and removes the copy of one that was not. */
#ifndef LR_COPYTRUNCATE_H
#define LR_COPYTRUNCATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lr_rotate.h"

/* Copies LOG to DST and truncates LOG. *ret_window_ns: the time between the last read and the
 * truncation, where appended lines are lost; *ret_dropped: bytes of a line being written as
 * the log was truncated, left out of the copy; *ret_truncated: whether LOG was truncated (then
 * its copy is kept whatever else failed). */
int lr_copytruncate(struct lr_run *run, const char *log, const char *dst, uint64_t *ret_window_ns,
                    off_t *ret_dropped, bool *ret_truncated);

#endif
