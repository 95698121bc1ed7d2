/* logrotate recipe: what a root agent may rotate, and whom it may signal, in trees that other
 * users can write (issue 14): the directories on the way to a log (no symbolic link, none that
 * others can write, and who owns them: the rotation then runs as that user), hard links, and
 * the processes a pidfile may name. */
#ifndef LR_TRUST_H
#define LR_TRUST_H

#include <stdbool.h>
#include <sys/types.h>

#include "lr_rotate.h"

/* What the walk from the root to a directory found. */
struct lr_dir_trust {
        bool user_owned;        /* a directory on the way (below the root) is owned by a user */
        uid_t uid;              /* the first such user, else 0 */
        gid_t gid;              /* that directory's group */
};

/* Walks DIR_REL (absolute, beneath the run's root) component by component without following
 * any symbolic link (agent/util/pathres.h): -ELOOP when one is on the way, -EPERM when a
 * directory on the way is writable by others (without the sticky bit) or by a group other
 * than root. *ret_why: a line naming the directory, its owner and mode and what to do (caller
 * frees; set on -ELOOP and -EPERM). */
int lr_trust_dir(struct lr_run *run, const char *dir_rel, struct lr_dir_trust *ret, char **ret_why);

/* A writer a pidfile names, found trustworthy: its pidfd (or -1 where the kernel has none:
 * then PID), kept from the check to the signal so that a pid reused meanwhile gets nothing. */
struct lr_writer {
        int pidfd;
        pid_t pid;
        char *pidfile;          /* owned */
};

/* The processes the set's reopen.pidfile glob names that may be signalled for a log owned by
 * LOG_UID: a pidfile owned by root or LOG_UID, not in a directory writable by others, naming
 * a process that runs as LOG_UID (or as root when the pidfile is root's), that started before
 * the pidfile was last written (else its pid was reused), and, with reopen.exe, runs that
 * executable. Each one refused is said (pidfile, owner, process). *ret, *ret_n: caller frees
 * with lr_writers_free(); none is 0 writers (*ret_refused: how many pidfiles were refused). */
int lr_trusted_writers(struct lr_run *run, const struct lr_set *set, uid_t log_uid, struct lr_writer **ret,
                       size_t *ret_n, size_t *ret_refused);
void lr_writers_free(struct lr_writer *w, size_t n);
/* Sends SIGNO to W (through its pidfd). */
int lr_writer_signal(const struct lr_writer *w, int signo);

/* The user a log in a tree that user controls is rotated as: SET's su (user, and group or the
 * user's), else the first user who owns a directory on the way (T), else root (cred->set
 * false). -ESRCH (said) for an unknown su user or group. */
int lr_rotation_cred(struct lr_run *run, const struct lr_set *set, const struct lr_dir_trust *t,
                     struct lr_cred *ret);

#define LR_RUN_AS_MAX_CODE 99           /* results FN may return, besides 0 and negative errnos */

/* Runs FN(RUN, ARG) in a child that has become RUN->cred's user for good (setgroups to its
 * group only, setgid, setuid, and a check that root cannot be had back), so that the kernel
 * allows it only what that user could do anyway. With a root (--root), the child is chrooted there
 * first: FN must then cut RUN->root_strip bytes off the paths it was given (RUN->root is ""). Returns FN's result (0, 1..LR_RUN_AS_MAX_CODE
 * or a negative errno), -ECHILD when the child died. The journal and status.log must be open
 * already (lr_journal_prepare(), lr_state_prepare()): the state directory is root's. */
int lr_run_as(struct lr_run *run, int (*fn)(struct lr_run *run, void *arg), void *arg);

#endif
