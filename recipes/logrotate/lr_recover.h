/* logrotate recipe: finishing or undoing what a killed run left, from the journal
 * (lr_journal.h). */
#ifndef LR_RECOVER_H
#define LR_RECOVER_H

#include "lr_rotate.h"

/* Finishes or undoes the step a killed run left in the journal; nothing when there is none. */
int lr_recover(struct lr_run *run);

#endif
