/* Paths resolved beneath a directory descriptor, so that no symbolic link, no "..", and no
 * directory that someone swaps for a link between a check and a use can take an operation out
 * of that directory. What a root agent needs to touch files in trees that other users can write
 * (log directories, a --root sandbox).
 *
 * Every function takes DIRFD (a directory descriptor, or AT_FDCWD) and PATH relative to it; a
 * leading '/' in PATH is allowed and means DIRFD itself, so "/etc/x" beneath the descriptor of
 * a --root directory is ROOT/etc/x, never the host's /etc/x. PATH is first checked with
 * pathres_check(): a NUL byte, a ".." component or an empty component ("a//b", "a/") is -EINVAL.
 *
 * Without PATHRES_IN_ROOT no symbolic link is followed anywhere in PATH, the last component
 * included: -ELOOP (the O_NOFOLLOW of every component). With PATHRES_IN_ROOT, links are
 * followed but resolved as if DIRFD were "/" (an absolute target starts at DIRFD, ".." in a
 * target stops at DIRFD): reading ROOT/sys and ROOT/proc, whose entries are links.
 *
 * The resolution uses openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or RESOLVE_IN_ROOT) where
 * the kernel has it (Linux 5.6+; found out at run time: ENOSYS, or EPERM/EINVAL from a seccomp
 * filter or an old kernel, mean "not there"), and otherwise walks PATH one component at a time
 * with openat(O_PATH | O_DIRECTORY | O_NOFOLLOW). Both give the same results (the unit tests run
 * every case both ways). The environment variable OPSAGENT_PATHRES_WALK=1 forces the walk (for
 * tests on a kernel that has openat2).
 *
 * Operations that change a directory (mkdir, rename, unlink, an atomic write) resolve the parent
 * to a descriptor and act on the last component with the *at() call on that descriptor: never a
 * path string that is resolved again later. Descriptors returned are O_CLOEXEC and the caller's
 * to close; functions return a descriptor or 0 on success, a negative errno on failure, and set
 * nothing else then. No logging. */
#ifndef OPSAGENT_PATHRES_H
#define OPSAGENT_PATHRES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define PATHRES_MAX_LEN 4095       /* bytes of a path, and of one resolution with its link targets */
#define PATHRES_MAX_SYMLINKS 40    /* links followed in one resolution (PATHRES_IN_ROOT), as the kernel */

enum pathres_flags {
        /* Follow symbolic links, confined to DIRFD as if it were "/" (RESOLVE_IN_ROOT). */
        PATHRES_IN_ROOT = 1u << 0,
        /* Allow ".." in PATH itself, confined like a link target's (only with PATHRES_IN_ROOT and
         * pathres_walk(); for paths the agent was given on its own command line). */
        PATHRES_DOTDOT = 1u << 1,
};

/* Whether PATH (LEN bytes: a JSON string may hold NUL bytes) is a path these functions accept:
 * not empty, no NUL, no ".." component, no empty component, at most PATHRES_MAX_LEN bytes.
 * 0, or -EINVAL/-ENAMETOOLONG with *ret_why (if not NULL) set to a static phrase for messages
 * ("contains a NUL byte", "has a \"..\" component", ...). */
int pathres_check(const char *path, size_t len, const char **ret_why);

/* open(2) of PATH beneath DIRFD with OFLAGS (O_CLOEXEC added; O_NOFOLLOW is ignored: without
 * PATHRES_IN_ROOT a final link is always refused, O_PATH included, and with it followed) and
 * MODE (with O_CREAT). A descriptor, or a negative errno. */
int pathres_open(int dirfd, const char *path, int oflags, mode_t mode, unsigned flags);

/* The directory holding PATH's last component, as an O_PATH descriptor in *ret_fd, and that
 * component in *ret_name (caller frees). -EINVAL for a PATH without one ("/"). */
int pathres_parent(int dirfd, const char *path, unsigned flags, int *ret_fd, char **ret_name);

/* lstat(2) of PATH beneath DIRFD (a final link is described, not followed, unless
 * PATHRES_IN_ROOT, which follows it). */
int pathres_stat(int dirfd, const char *path, struct stat *ret, unsigned flags);

/* mkdir -p of PATH beneath DIRFD with MODE (what the umask leaves of it) for the directories it
 * creates; an existing directory is fine, anything else there is -ENOTDIR (-ELOOP for a link). */
int pathres_mkdir_p(int dirfd, const char *path, mode_t mode, unsigned flags);

/* unlinkat(2) of PATH's last component in its parent; AT_FLAGS may be AT_REMOVEDIR. A final
 * link is removed itself, never its target. */
int pathres_unlink(int dirfd, const char *path, int at_flags, unsigned flags);

/* renameat2(2) of OLDPATH beneath OLDDIRFD to NEWPATH beneath NEWDIRFD; RENAME_FLAGS may be
 * RENAME_NOREPLACE (-EEXIST when NEWPATH exists) or 0. Final links are moved or replaced
 * themselves, never followed. */
int pathres_rename(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned rename_flags,
                   unsigned flags);

/* Writes DATA to PATH atomically beneath DIRFD: a temporary ".NAME.XXXXXX" created O_EXCL in
 * the same directory, fsync, fchmod(MODE), renameat over NAME, fsync of the directory. The
 * parent must exist. Nothing is left behind on failure. */
int pathres_write_atomic(int dirfd, const char *path, const void *data, size_t len, mode_t mode, unsigned flags);
/* The same, and the file is given owner UID and group GID before it takes NAME's place
 * ((uid_t)-1 or (gid_t)-1: that one as created). */
int pathres_write_atomic_owned(int dirfd, const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
                               gid_t gid, unsigned flags);

/* Reads PATH beneath DIRFD into *ret (NUL-terminated, caller frees), its length into *ret_len
 * (may be NULL); -EFBIG past CAP bytes. */
int pathres_read_capped(int dirfd, const char *path, size_t cap, char **ret, size_t *ret_len, unsigned flags);

/* Resolves PATH beneath DIRFD component by component (never with openat2) and calls VISIT for
 * DIRFD and for every directory the resolution enters on the way to the last component, with a
 * descriptor of it, its stat and its path from DIRFD ("/", "/etc", "/etc/opsagent", links
 * resolved); VISIT returns 0 to go on or a negative errno to stop with. Then opens the last
 * component with OFLAGS like pathres_open() into *ret_fd (may be NULL: the last component is not
 * opened). For checks of every directory above a file (agent/config/trust.c). */
int pathres_walk(int dirfd, const char *path, int oflags, unsigned flags,
                 int (*visit)(int fd, const struct stat *st, const char *path, void *userdata), void *userdata,
                 int *ret_fd);

/* Whether the resolution uses openat2 (false when the kernel lacks it or the walk is forced). */
bool pathres_uses_openat2(void);
/* Forces the component walk (true) or lets openat2 be used where there is one (false). Tests. */
void pathres_force_walk(bool walk);

#endif
