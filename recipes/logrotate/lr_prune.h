/* logrotate recipe: the rotated files of a log in DIR (its olddir or its own directory, BASE
 * its name): shifting the numbered ones, removing what falls off the end or is too old,
 * compressing what was left uncompressed. */
#ifndef LR_PRUNE_H
#define LR_PRUNE_H

#include "lr_rotate.h"

/* BASE.N becomes BASE.N+1; what would go past the set's `rotate` is removed. */
int lr_prune_numbered(struct lr_run *run, const struct lr_set *set, const char *dir, const char *base);
/* Keeps the KEEP newest dated rotations, removes the others. */
int lr_prune_dateext(struct lr_run *run, const struct lr_set *set, const char *dir, const char *base,
                     unsigned keep);
/* Removes rotations older than the set's maxage. */
int lr_prune_maxage(struct lr_run *run, const struct lr_set *set, const char *dir, const char *base);
/* Compresses rotations left uncompressed (delaycompress, a reopen timeout, a crash), but
 * those a process still writes to. */
int lr_compress_leftovers(struct lr_run *run, const struct lr_set *set, const char *dir, const char *base);

#endif
