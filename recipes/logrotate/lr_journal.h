/* logrotate recipe: the journal entry of the step in flight (STATE_DIR/journal.json, written
 * before a step changes anything and cleared once it is done), so that a run killed at any
 * point is finished or undone by the next one (lr_recover.h). */
#ifndef LR_JOURNAL_H
#define LR_JOURNAL_H

#include "lr_rotate.h"

/* Journals STEP ("compress", "copytruncate", "rename") with the NULL-terminated key/value
 * pairs KV (a NULL value leaves its key out) and the run's time. On failure it says so
 * (naming the journal, the step's file and what to do) and returns the negative errno: the
 * caller then changes nothing and says nothing more of it. */
int lr_journal_step(struct lr_run *run, const char *step, const char *const *kv);

#endif
