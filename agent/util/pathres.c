/* Resolution beneath a directory descriptor: openat2 where the kernel has it, a walk of
 * O_NOFOLLOW opens where it does not (see pathres.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define PATHRES_HAVE_OPENAT2_H 1
#endif
#endif

#include "fileio.h"
#include "pathres.h"

#ifndef PATHRES_HAVE_OPENAT2_H
/* Linux 5.6's uapi, for headers older than it (the syscall number is the same everywhere). */
struct open_how {
        uint64_t flags;
        uint64_t mode;
        uint64_t resolve;
};
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define PATHRES_EAGAIN_RETRIES 16   /* openat2's "a rename raced with '..'": tries before giving up */
#define PATHRES_TMP_TRIES 64        /* temporary names tried before giving up (EEXIST) */

static int openat2_state;           /* 0 unknown, 1 there, -1 not there */
static int walk_forced = -1;        /* -1: as the environment says */

void pathres_force_walk(bool walk)
{
        walk_forced = walk ? 1 : 0;
}

static int sys_openat2(int dirfd, const char *path, int oflags, mode_t mode, uint64_t resolve)
{
        struct open_how how = {
                .flags = (uint64_t)(unsigned)oflags,
                .mode = (oflags & O_CREAT) || (oflags & O_TMPFILE) == O_TMPFILE ? mode : 0,
                .resolve = resolve,
        };

        return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

bool pathres_uses_openat2(void)
{
        const char *e;

        if (walk_forced >= 0)
                return !walk_forced;
        e = getenv("OPSAGENT_PATHRES_WALK");
        if (e && *e && strcmp(e, "0") != 0)
                return false;
        if (openat2_state == 0) {
                int fd = sys_openat2(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_NO_SYMLINKS);

                /* ENOSYS: before 5.6; EPERM/EINVAL/E2BIG: a seccomp filter or a kernel that does not
                 * know the flags. Anything else would say it exists. */
                if (fd >= 0)
                        close(fd);
                openat2_state = fd >= 0 ? 1 : -1;
        }
        return openat2_state > 0;
}

int pathres_check(const char *path, size_t len, const char **ret_why)
{
        const char *why = NULL;
        int r = -EINVAL;

        if (!path || len == 0)
                why = "is empty";
        else if (strlen(path) != len)
                why = "contains a NUL byte";
        else if (len > PATHRES_MAX_LEN) {
                why = "is longer than 4095 bytes";
                r = -ENAMETOOLONG;
        } else {
                const char *p = path[0] == '/' ? path + 1 : path;

                /* "/" alone is the directory itself; otherwise every component is a name. */
                while (*p) {
                        size_t n = strcspn(p, "/");

                        if (n == 0) {
                                why = "has an empty component (\"//\" or a trailing \"/\")";
                                break;
                        }
                        if (n == 2 && p[0] == '.' && p[1] == '.') {
                                why = "has a \"..\" component";
                                break;
                        }
                        p += n;
                        if (*p == '/' && p[1] == '\0') {
                                why = "has an empty component (\"//\" or a trailing \"/\")";
                                break;
                        }
                        if (*p == '/')
                                p++;
                }
        }
        if (!why)
                return 0;
        if (ret_why)
                *ret_why = why;
        return r;
}

/* The resolution of one path by the component walk. */
enum final {
        FINAL_OPEN,     /* open the last component */
        FINAL_PARENT,   /* stop before it: its directory and its name */
        FINAL_MKDIR,    /* enter every component, creating what is missing */
        FINAL_NONE,     /* enter every component but the last, open nothing */
};

struct res {
        int base;                       /* borrowed */
        unsigned flags;
        int cur;                        /* owned; -1: at base */
        char canon[PATHRES_MAX_LEN + 1];/* where cur is, from base: "" or "/a/b" (links resolved) */
        char rest[PATHRES_MAX_LEN + 1]; /* what is left to resolve */
        size_t pos;                     /* into rest */
        unsigned links;
        mode_t mkdir_mode;
        int (*visit)(int fd, const struct stat *st, const char *path, void *userdata);
        void *userdata;
};

static int at(const struct res *r)
{
        return r->cur >= 0 ? r->cur : r->base;
}

static void set_cur(struct res *r, int fd)
{
        if (r->cur >= 0)
                close(r->cur);
        r->cur = fd;
}

/* The next component of rest, NUL-terminated in place, or NULL at the end; *last says whether
 * it is the last one. */
static char *next_component(struct res *r, bool *last)
{
        char *c, *end;

        while (r->rest[r->pos] == '/')
                r->pos++;
        if (!r->rest[r->pos])
                return NULL;
        c = r->rest + r->pos;
        end = c + strcspn(c, "/");
        r->pos = (size_t)(end - r->rest);
        if (*end) {
                *end = '\0';
                r->pos++;
        }
        while (r->rest[r->pos] == '/')
                r->pos++;
        *last = r->rest[r->pos] == '\0';
        return c;
}

static int visit_cur(struct res *r)
{
        struct stat st;

        if (!r->visit)
                return 0;
        if (fstat(at(r), &st) < 0)
                return -errno;
        return r->visit(at(r), &st, r->canon[0] ? r->canon : "/", r->userdata);
}

/* Whether NAME in the current directory is a symbolic link. */
static bool is_link(struct res *r, const char *name)
{
        struct stat st;

        return fstatat(at(r), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

/* Enters directory NAME (creating it in FINAL_MKDIR): 0, 1 when NAME is a link, or -errno. */
static int enter(struct res *r, const char *name, bool create)
{
        size_t cl = strlen(r->canon), nl = strlen(name);
        int fd, e;

        for (int tries = 0;; tries++) {
                fd = openat(at(r), name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        break;
                e = errno;
                if ((e == ENOTDIR || e == ELOOP) && is_link(r, name))
                        return 1;
                if (e != ENOENT || !create || tries > 0)
                        return -e;
                if (mkdirat(at(r), name, r->mkdir_mode) < 0 && errno != EEXIST)
                        return -errno;
        }
        if (cl + 1 + nl > PATHRES_MAX_LEN) {
                close(fd);
                return -ENAMETOOLONG;
        }
        set_cur(r, fd);
        r->canon[cl] = '/';
        memcpy(r->canon + cl + 1, name, nl + 1);
        return visit_cur(r);
}

/* Goes back to base and enters every component of PATH ("/a/b", no links), as after "..". */
static int rewalk(struct res *r, const char *path)
{
        char copy[PATHRES_MAX_LEN + 1], *save = NULL;

        snprintf(copy, sizeof(copy), "%s", path);
        set_cur(r, -1);
        r->canon[0] = '\0';
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                int k = enter(r, c, false);

                if (k != 0)
                        return k > 0 ? -EAGAIN : k; /* the tree changed under us */
        }
        return 0;
}

/* "..": up one directory, never above base. */
static int up(struct res *r)
{
        char parent[PATHRES_MAX_LEN + 1];
        char *slash;

        if (!r->canon[0])
                return 0;
        snprintf(parent, sizeof(parent), "%s", r->canon);
        slash = strrchr(parent, '/');
        *slash = '\0';
        return rewalk(r, parent);
}

/* Replaces link NAME (in the current directory) by its target in what is left to resolve. */
static int follow(struct res *r, const char *name)
{
        char target[PATHRES_MAX_LEN + 2], rest[PATHRES_MAX_LEN + 1];
        ssize_t n;
        int len;

        if (!(r->flags & PATHRES_IN_ROOT))
                return -ELOOP;
        if (++r->links > PATHRES_MAX_SYMLINKS)
                return -ELOOP;
        n = readlinkat(at(r), name, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ENOENT;
        if ((size_t)n > PATHRES_MAX_LEN)
                return -ENAMETOOLONG;
        target[n] = '\0';
        snprintf(rest, sizeof(rest), "%s", r->rest + r->pos);
        len = snprintf(r->rest, sizeof(r->rest), "%s%s%s", target, rest[0] ? "/" : "", rest);
        if (len < 0 || (size_t)len > PATHRES_MAX_LEN)
                return -ENAMETOOLONG;
        r->pos = 0;
        if (target[0] == '/') {
                set_cur(r, -1);
                r->canon[0] = '\0';
        }
        return 0;
}

static int dup_at(const struct res *r)
{
        int fd = r->cur >= 0 ? r->cur : openat(r->base, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

/* The walk. FINAL_OPEN: *ret_fd is the opened last component; FINAL_PARENT: *ret_fd its
 * directory and *ret_name the name; FINAL_MKDIR and FINAL_NONE: nothing returned. */
static int walk(int dirfd, const char *path, unsigned flags, enum final mode, int oflags, mode_t cmode,
                int (*visit)(int, const struct stat *, const char *, void *), void *userdata, int *ret_fd,
                char **ret_name)
{
        struct res *r = calloc(1, sizeof(*r));
        int k;

        if (!r)
                return -ENOMEM;
        r->base = dirfd;
        r->flags = flags;
        r->cur = -1;
        r->mkdir_mode = cmode;
        r->visit = visit;
        r->userdata = userdata;
        snprintf(r->rest, sizeof(r->rest), "%s", path);
        k = visit_cur(r);
        while (k >= 0) {
                bool last = false;
                char *c = next_component(r, &last);

                if (!c) {
                        /* Nothing left: the object is the directory we are at. */
                        if (mode == FINAL_PARENT)
                                k = -EINVAL;
                        else if (mode == FINAL_OPEN) {
                                k = openat(at(r), ".", (oflags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
                                k = k < 0 ? -errno : k;
                                if (k >= 0)
                                        *ret_fd = k;
                        }
                        break;
                }
                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0) {
                        k = up(r);
                        continue;
                }
                if (!last || mode == FINAL_MKDIR) {
                        k = enter(r, c, mode == FINAL_MKDIR);
                        if (k > 0)
                                k = follow(r, c);
                        continue;
                }
                if (mode == FINAL_NONE) {
                        k = 0;
                        break;
                }
                if (mode == FINAL_PARENT) {
                        char *name = strdup(c);

                        if (!name) {
                                k = -ENOMEM;
                                break;
                        }
                        k = dup_at(r);
                        if (k < 0) {
                                free(name);
                                break;
                        }
                        if (r->cur == k)
                                r->cur = -1; /* handed over */
                        *ret_fd = k;
                        *ret_name = name;
                        k = 0;
                        break;
                }
                /* FINAL_OPEN: the last component, a link refused or followed. */
                {
                        int fd = openat(at(r), c, oflags | O_NOFOLLOW | O_CLOEXEC, cmode), e = errno;
                        bool link = false;

                        if (fd >= 0 && (oflags & O_PATH)) {
                                struct stat st;

                                if (fstat(fd, &st) < 0) {
                                        e = errno;
                                        close(fd);
                                        k = -e;
                                        break;
                                }
                                if (S_ISLNK(st.st_mode)) {
                                        close(fd);
                                        fd = -1;
                                        link = true;
                                }
                        } else if (fd < 0 && (e == ELOOP || e == ENOTDIR) && !(oflags & O_EXCL))
                                link = is_link(r, c);
                        if (link) {
                                k = follow(r, c);
                                continue;
                        }
                        if (fd < 0) {
                                k = -e;
                                break;
                        }
                        *ret_fd = fd;
                        k = 0;
                        break;
                }
        }
        set_cur(r, -1);
        free(r);
        return k;
}

static uint64_t resolve_flags(unsigned flags)
{
        if (flags & PATHRES_IN_ROOT)
                return RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
        return RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
}

/* PATH relative to the descriptor: without leading slashes, "." for the directory itself. */
static const char *relative(const char *path)
{
        while (*path == '/')
                path++;
        return *path ? path : ".";
}

static int open2(int dirfd, const char *path, int oflags, mode_t mode, unsigned flags)
{
        for (int i = 0; i < PATHRES_EAGAIN_RETRIES; i++) {
                int fd = sys_openat2(dirfd, relative(path), oflags | O_CLOEXEC, mode, resolve_flags(flags));

                if (fd >= 0)
                        return fd;
                if (errno != EAGAIN && errno != EINTR)
                        return -errno;
        }
        return -EAGAIN;
}

static int check(const char *path, unsigned flags)
{
        if (!path)
                return -EINVAL;
        if (flags & PATHRES_DOTDOT) {
                if (!*path)
                        return -EINVAL;
                return strlen(path) > PATHRES_MAX_LEN ? -ENAMETOOLONG : 0;
        }
        return pathres_check(path, strlen(path), NULL);
}

int pathres_open(int dirfd, const char *path, int oflags, mode_t mode, unsigned flags)
{
        int fd = -1, r;

        flags &= ~PATHRES_DOTDOT;
        r = check(path, flags);
        if (r < 0)
                return r;
        /* Implied without PATHRES_IN_ROOT (and with O_PATH it would hand out the link itself);
         * with it, a final link is followed within the root like any other. */
        oflags &= ~O_NOFOLLOW;
        if (pathres_uses_openat2())
                return open2(dirfd, path, oflags, mode, flags);
        r = walk(dirfd, path, flags, FINAL_OPEN, oflags, mode, NULL, NULL, &fd, NULL);
        return r < 0 ? r : fd;
}

int pathres_parent(int dirfd, const char *path, unsigned flags, int *ret_fd, char **ret_name)
{
        const char *slash, *name;
        char *parent = NULL, *n = NULL;
        int fd, r;

        flags &= ~PATHRES_DOTDOT;
        r = check(path, flags);
        if (r < 0)
                return r;
        if (!pathres_uses_openat2()) {
                fd = -1;
                r = walk(dirfd, path, flags, FINAL_PARENT, 0, 0, NULL, NULL, &fd, &n);
                if (r < 0)
                        return r;
                *ret_fd = fd;
                *ret_name = n;
                return 0;
        }
        slash = strrchr(path, '/');
        name = slash ? slash + 1 : path;
        if (!*name || strcmp(name, ".") == 0)
                return -EINVAL;
        parent = strndup(path, (size_t)(name - path));
        n = strdup(name);
        if (!parent || !n) {
                r = -ENOMEM;
                goto out;
        }
        fd = open2(dirfd, parent, O_PATH | O_DIRECTORY, 0, flags);
        if (fd < 0) {
                r = fd;
                goto out;
        }
        *ret_fd = fd;
        *ret_name = n;
        n = NULL;
        r = 0;
out:
        free(parent);
        free(n);
        return r;
}

static bool is_directory_itself(const char *path)
{
        path += strspn(path, "/");
        return !*path;
}

int pathres_stat(int dirfd, const char *path, struct stat *ret, unsigned flags)
{
        char *name = NULL;
        int fd, pfd, r;

        if (!path)
                return -EINVAL;
        if ((flags & PATHRES_IN_ROOT) || is_directory_itself(path)) {
                fd = pathres_open(dirfd, path, O_PATH, 0, flags);
                if (fd < 0)
                        return fd;
                r = fstat(fd, ret) < 0 ? -errno : 0;
                close(fd);
                return r;
        }
        r = pathres_parent(dirfd, path, flags, &pfd, &name);
        if (r < 0)
                return r;
        r = fstatat(pfd, name, ret, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
        close(pfd);
        free(name);
        return r;
}

int pathres_mkdir_p(int dirfd, const char *path, mode_t mode, unsigned flags)
{
        int r;

        flags &= ~PATHRES_DOTDOT;
        r = check(path, flags);
        if (r < 0)
                return r;
        return walk(dirfd, path, flags, FINAL_MKDIR, 0, mode, NULL, NULL, NULL, NULL);
}

int pathres_unlink(int dirfd, const char *path, int at_flags, unsigned flags)
{
        char *name = NULL;
        int pfd, r;

        r = pathres_parent(dirfd, path, flags, &pfd, &name);
        if (r < 0)
                return r;
        r = unlinkat(pfd, name, at_flags) < 0 ? -errno : 0;
        close(pfd);
        free(name);
        return r;
}

int pathres_rename(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned rename_flags,
                   unsigned flags)
{
        char *oname = NULL, *nname = NULL;
        int opfd = -1, npfd = -1, r;

        r = pathres_parent(olddirfd, oldpath, flags, &opfd, &oname);
        if (r < 0)
                goto out;
        r = pathres_parent(newdirfd, newpath, flags, &npfd, &nname);
        if (r < 0)
                goto out;
        if (rename_flags)
                r = renameat2(opfd, oname, npfd, nname, rename_flags);
        else
                r = renameat(opfd, oname, npfd, nname);
        r = r < 0 ? -errno : 0;
out:
        if (opfd >= 0)
                close(opfd);
        if (npfd >= 0)
                close(npfd);
        free(oname);
        free(nname);
        return r;
}

/* A name for a temporary beside NAME, ".NAME.XXXXXX" within NAME_MAX. */
static void tmp_name(const char *name, char buf[static NAME_MAX + 1])
{
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        unsigned char rnd[6];
        char suffix[7];

        if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
                uint64_t x = (uint64_t)getpid() * 2654435761u ^ (uint64_t)time(NULL) ^ (uint64_t)clock();

                for (size_t i = 0; i < sizeof(rnd); i++, x >>= 8)
                        rnd[i] = (unsigned char)x;
        }
        for (size_t i = 0; i < sizeof(rnd); i++)
                suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
        suffix[6] = '\0';
        snprintf(buf, NAME_MAX + 1, ".%.*s.%s", NAME_MAX - 8, name, suffix);
}

int pathres_write_atomic(int dirfd, const char *path, const void *data, size_t len, mode_t mode, unsigned flags)
{
        return pathres_write_atomic_owned(dirfd, path, data, len, mode, (uid_t)-1, (gid_t)-1, flags);
}

int pathres_write_atomic_owned(int dirfd, const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
                               gid_t gid, unsigned flags)
{
        char tmp[NAME_MAX + 1] = "", *name = NULL;
        int pfd = -1, dfd = -1, fd = -1, r;
        const char *p = data;

        r = pathres_parent(dirfd, path, flags, &pfd, &name);
        if (r < 0)
                return r;
        /* O_PATH cannot be fsynced: the directory itself, reopened through its descriptor. */
        dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                r = -errno;
                goto out;
        }
        for (int i = 0; i < PATHRES_TMP_TRIES && fd < 0; i++) {
                tmp_name(name, tmp);
                fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0 && errno != EEXIST) {
                        r = -errno;
                        tmp[0] = '\0';
                        goto out;
                }
        }
        if (fd < 0) {
                r = -EEXIST;
                tmp[0] = '\0';
                goto out;
        }
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto out;
                }
                p += n;
                len -= (size_t)n;
        }
        /* The owner first (a chown clears the set-id bits), then the mode itself, not what the
         * umask leaves of it. */
        if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0) {
                r = -errno;
                goto out;
        }
        if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
                r = -errno;
                goto out;
        }
        r = close(fd);
        fd = -1;
        if (r < 0) {
                r = -errno;
                goto out;
        }
        if (renameat(dfd, tmp, dfd, name) < 0) {
                r = -errno;
                goto out;
        }
        tmp[0] = '\0';
        r = fsync(dfd) < 0 && errno != EINVAL ? -errno : 0;
out:
        if (fd >= 0)
                close(fd);
        if (tmp[0])
                (void)unlinkat(dfd, tmp, 0);
        if (dfd >= 0)
                close(dfd);
        if (pfd >= 0)
                close(pfd);
        free(name);
        return r;
}

int pathres_read_capped(int dirfd, const char *path, size_t cap, char **ret, size_t *ret_len, unsigned flags)
{
        struct stat st;
        int fd, r;

        /* O_NONBLOCK: a FIFO put where a file was expected does not hang the read. */
        fd = pathres_open(dirfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, flags);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode))
                r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        else
                r = read_fd_capped(fd, cap, ret, ret_len);
        close(fd);
        return r;
}

int pathres_walk(int dirfd, const char *path, int oflags, unsigned flags,
                 int (*visit)(int fd, const struct stat *st, const char *path, void *userdata), void *userdata,
                 int *ret_fd)
{
        int fd = -1, r;

        if ((flags & PATHRES_DOTDOT) && !(flags & PATHRES_IN_ROOT))
                return -EINVAL;
        r = check(path, flags);
        if (r < 0)
                return r;
        oflags &= ~O_NOFOLLOW;
        r = walk(dirfd, path, flags, ret_fd ? FINAL_OPEN : FINAL_NONE, oflags, 0, visit, userdata, &fd, NULL);
        if (r < 0)
                return r;
        if (ret_fd)
                *ret_fd = fd;
        return 0;
}
