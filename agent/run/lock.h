/* One run of a recipe at a time: an flock(2) on RUN_DIR/NAME.lock holding the holder's pid,
 * so that a second run can say who holds it. The lock dies with its process. */
#ifndef OPSAGENT_LOCK_H
#define OPSAGENT_LOCK_H

#include <stdint.h>
#include <sys/types.h>

struct run_lock;        /* opaque; owns the open lock file */

/* Creates RUN_DIR (0755) if needed, opens RUN_DIR/NAME.lock (close-on-exec) and takes an
 * exclusive lock without waiting; on success writes our pid into it and *ret gets the lock
 * (free with run_lock_release()). -EBUSY when another process holds it: *ret_holder (may be
 * NULL) is then the pid the holder wrote, 0 when unreadable. -EINVAL for a NAME that is empty
 * or contains '/'; other negative errno from mkdir/open. */
int run_lock_acquire(const char *run_dir, const char *name, struct run_lock **ret, pid_t *ret_holder);

/* Whether a run holds NAME's lock in RUN_DIR, found without taking it (so that a run starting
 * meanwhile is never refused): the kernel's list of flock(2) locks (LOCKS_FILE, normally
 * /proc/locks) is searched for the lock file's inode. 1 when held: *ret_holder (may be NULL) is
 * the pid the holder wrote (0 when unreadable) and *ret_since_usec (may be NULL) when it wrote
 * it (CLOCK_REALTIME); 0 when free or there is no lock file; negative errno when it cannot
 * tell (LOCKS_FILE unreadable). */
int run_lock_probe(const char *run_dir, const char *name, const char *locks_file, pid_t *ret_holder,
                   int64_t *ret_since_usec);
#define RUN_LOCK_KERNEL_LIST "/proc/locks"

/* Drops the lock and frees L (NULL is fine). The file stays, so the next run reuses it. */
void run_lock_release(struct run_lock *l);

#endif
