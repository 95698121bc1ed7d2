/* ebs_snapshots freeze: FIFREEZE a set of mountpoints from a separate watchdog process that
 * thaws them when told, when the timeout passes, or when the agent dies (its socket reaches
 * EOF, PR_SET_PDEATHSIG, or getppid() changes), so that a SIGKILLed agent never leaves a frozen
 * filesystem. The watchdog, named "opsagent-freeze" in ps, runs in its own process group (a
 * kill of the agent's group does not take it along) and touches no file while anything is
 * frozen. Should the watchdog itself die (SIGKILL), the agent thaws from its own descriptors
 * when freeze_thaw() is called, that is when the snapshot calls return. Should both die, the
 * marker below still says what to thaw. */
#ifndef EBS_FREEZE_H
#define EBS_FREEZE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FREEZE_PATHS_MAX 64
#define FREEZE_POLL_MS 200   /* how often the watchdog checks that its parent lives */

struct freezer;

/* Why a path may not be frozen: "/" (of the system or of the root prefix), or the filesystem
 * holding one of the NULL-terminated PROTECTED paths (the agent's state and log). 0 when it
 * may; -EPERM with WHY filled when not; -errno when PATH cannot be examined. */
int freeze_allowed(const char *path, const char *root, const char *const *protected_paths, char *why,
                   size_t whylen);
/* The same for the directory already open as FD (PATH names it in WHY). */
int freeze_allowed_fd(int fd, const char *path, const char *root, const char *const *protected_paths, char *why,
                      size_t whylen);

/* Opens the N PATHS (or, when FDS is not NULL, uses their directories already open as FDS[i],
 * which stay the caller's: opened beneath the root with no link followed), writes the marker
 * MARKER (unless NULL) listing them, forks the watchdog and waits until it has frozen all of
 * them. On failure nothing is left frozen, the marker is removed, ERR names the path and -errno
 * is returned. A filesystem reached by two paths is frozen once. *ret: free with freeze_thaw()
 * (which also thaws, and removes the marker). */
int freeze_start(const char *const *paths, const int *fds, size_t n, unsigned timeout_seconds, const char *marker,
                 struct freezer **ret, char *err, size_t errlen);

/* The marker: a file in the recipe's state directory (on a filesystem that is never frozen)
 * that lists what a run is about to freeze, written by freeze_start() before freezing and
 * removed by freeze_thaw() once thawed (kept when a thaw failed),
 * so that `opsagent recover` (or the next run) can thaw what a run killed together with its
 * watchdog left frozen. */
#define FREEZE_MARKER_NAME "frozen.json"
#define FREEZE_MARKER_MAX (64 * 1024) /* bytes; a longer marker is not ours */

/* Writes the marker MARKER (temporary file, fsync, rename) listing the N PATHS. 0 or -errno,
 * ERR naming the file. */
int freeze_marker_write(const char *marker, const char *const *paths, size_t n, char *err, size_t errlen);
/* Reads the marker into *ret (NULL-terminated; free with freeze_strv_free()). -ENOENT when
 * there is none, -EBADMSG when it is not one of ours (ERR says why), -errno otherwise. */
int freeze_marker_read(const char *marker, char ***ret, char *err, size_t errlen);
void freeze_strv_free(char **v);
/* FITHAW on the filesystem at PATH: 1 when it was frozen and is now thawed, 0 when it was not
 * frozen, -errno when it cannot be opened or thawed. */
int freeze_thaw_path(const char *path);

/* The watchdog's pid (for tests). */
pid_t freeze_watchdog_pid(const struct freezer *f);

/* Tells the watchdog to thaw, waits for it and frees F (NULL is fine: returns 0). 0 when it
 * thawed on request; -ETIME when it had already thawed because the timeout passed; -EIO (ERR
 * says which path) when a thaw failed; -ECHILD when the watchdog died, after thawing from the
 * agent's side (ERR says whether anything was still frozen; -EIO if that thaw failed). */
int freeze_thaw(struct freezer *f, char *err, size_t errlen);

#endif
