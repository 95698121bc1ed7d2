/* logrotate recipe: steps a rotation and a recovery share. */
#ifndef LR_STEPS_H
#define LR_STEPS_H

#include <stdbool.h>
#include <sys/types.h>

#include "lr_rotate.h"

/* Compresses rotated file SRC (full path) to SRC + the set's extension, journaled (unless the
 * caller's journal entry says so already: JOURNALED), then removes SRC (its directory's fsync
 * put off: lr_dirty()). -EEXIST (said) when the destination exists. */
int lr_compress_step(struct lr_run *run, const struct lr_set *set, const char *src, bool journaled);
/* The owner and group of the new log: create.owner and create.group, else *UID and *GID as
 * given (the old log's). -ESRCH (said) for an unknown user or group. */
int lr_resolve_owner(struct lr_run *run, const struct lr_set *set, uid_t *uid, gid_t *gid);
/* Creates the new, empty LOG with the set's mode, owned by UID:GID; 0 when the writer made it
 * already. */
int lr_create_new_log(const struct lr_set *set, const char *log, uid_t uid, gid_t gid);

/* Gives the copy TMP (of a log that copytruncate truncated) a name that replaces nothing:
 * DST when free, else DST LR_KEPT_INFIX EPOCH (and -2, -3, ...), then fsyncs the directory.
 * *ret_kept: the name it has now (caller frees). -EEXIST after LR_KEEP_TRIES names. */
#define LR_KEPT_INFIX ".opsagent-kept-"
#define LR_KEEP_TRIES 100
int lr_keep_copy(struct lr_run *run, const char *tmp, const char *dst, char **ret_kept);

#endif
