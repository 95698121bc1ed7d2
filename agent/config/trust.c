#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust.h"
#include "util/fileio.h"
#include "util/pathres.h"

bool trust_owner(uid_t uid)
{
        uid_t me = geteuid();

        return uid == 0 || (me != 0 && uid == me);
}

/* Whether ST is a trusted object (DIR_ABOVE: a directory above the object, where the sticky
 * bit makes others' write access harmless). */
static bool trusted(const struct stat *st, bool dir_above)
{
        if (!trust_owner(st->st_uid))
                return false;
        if (!(st->st_mode & (S_IWGRP | S_IWOTH)))
                return true;
        return dir_above && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX);
}

static void user_name(uid_t uid, char *buf, size_t size)
{
        struct passwd *pw = getpwuid(uid);

        if (pw && pw->pw_name)
                snprintf(buf, size, "%s (uid %u)", pw->pw_name, (unsigned)uid);
        else
                snprintf(buf, size, "uid %u", (unsigned)uid);
}

static void group_name(gid_t gid, char *buf, size_t size)
{
        struct group *gr = getgrgid(gid);

        if (gr && gr->gr_name)
                snprintf(buf, size, "%s", gr->gr_name);
        else
                snprintf(buf, size, "gid %u", (unsigned)gid);
}

/* The refusal: WHAT PATH, and when the culprit is a directory above it, that one (OBJ). */
static int refuse(struct error *err, const char *what, const char *path, const char *obj, const struct stat *st)
{
        char owner[128], grp[128], writers[192] = "", fix[2 * PATH_MAX + 64] = "";
        bool bad_owner = !trust_owner(st->st_uid);
        bool gw = st->st_mode & S_IWGRP, ow = st->st_mode & S_IWOTH;

        user_name(st->st_uid, owner, sizeof(owner));
        group_name(st->st_gid, grp, sizeof(grp));
        if (gw && ow)
                snprintf(writers, sizeof(writers), "; group %s and others can write it", grp);
        else if (gw)
                snprintf(writers, sizeof(writers), "; group %s can write it", grp);
        else if (ow)
                snprintf(writers, sizeof(writers), "; others can write it");
        if (bad_owner && (gw || ow))
                snprintf(fix, sizeof(fix), "chown root:root %s && chmod go-w %s", obj, obj);
        else if (bad_owner)
                snprintf(fix, sizeof(fix), "chown root:root %s", obj);
        else
                snprintf(fix, sizeof(fix), "chmod go-w %s", obj);
        if (strcmp(path, obj) == 0)
                return error_set(err, -EPERM,
                                 "%s %s: refusing to use it: owned by %s, mode %04o%s, so someone other than root "
                                 "could change what the agent does as root; run: %s",
                                 what, path, owner, (unsigned)(st->st_mode & 07777), writers, fix);
        return error_set(err, -EPERM,
                         "%s %s: refusing to use it: the directory %s above it is owned by %s, mode %04o%s, so "
                         "someone other than root could replace what is in it; run: %s",
                         what, path, obj, owner, (unsigned)(st->st_mode & 07777), writers, fix);
}

struct walk_state {
        const char *what;
        const char *path;
        struct error *err;
};

static int visit_dir(int fd, const struct stat *st, const char *dir, void *userdata)
{
        struct walk_state *w = userdata;

        (void)fd;
        if (trusted(st, true))
                return 0;
        return refuse(w->err, w->what, w->path, dir, st);
}

/* Walks ABS from "/": every directory above it, then it. SHOWN is the path asked about (ABS or
 * a path below it that does not exist). -ENOENT (ERR untouched) when ABS is missing. */
static int check_existing(int rootfd, const char *abs, const char *what, const char *shown, struct error *err)
{
        struct walk_state w = { .what = what, .path = shown, .err = err };
        struct stat st;
        int fd = -1, r;

        r = pathres_walk(rootfd, abs, O_PATH, PATHRES_IN_ROOT | PATHRES_DOTDOT, visit_dir, &w, &fd);
        if (r == -EPERM && error_is_set(err))
                return r;
        if (r == -ENOENT || r == -ENOTDIR)
                return -ENOENT;
        if (r < 0)
                return error_set(err, r, "%s %s: cannot examine it: %s", what, shown, strerror(-r));
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return error_set(err, r, "%s %s: cannot examine it: %s", what, shown, strerror(-r));
        }
        close(fd);
        if (!trusted(&st, false))
                return refuse(err, what, shown, strcmp(abs, shown) == 0 ? shown : abs, &st);
        return 0;
}

int trust_check(const char *path, const char *what, unsigned flags, struct error *err)
{
        char *abs = NULL, *shown = NULL, cwd[PATH_MAX];
        int rootfd = -1, r;

        if (!path || !*path)
                return error_set(err, -EINVAL, "%s: empty path", what);
        if (path[0] == '/')
                abs = strdup(path);
        else if (getcwd(cwd, sizeof(cwd)))
                abs = path_join(cwd, path);
        else
                return error_set(err, -errno, "%s %s: cannot tell the working directory: %s", what, path,
                                 strerror(errno));
        if (!abs || !(shown = strdup(abs))) {
                free(abs);
                return error_set(err, -ENOMEM, "out of memory");
        }
        rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0) {
                r = error_set(err, -errno, "cannot open /: %s", strerror(errno));
                goto out;
        }
        r = check_existing(rootfd, abs, what, abs, err);
        if (r != -ENOENT)
                goto out;
        if (!(flags & TRUST_MISSING_OK)) {
                r = error_set(err, -ENOENT, "%s %s: no such file or directory", what, shown);
                goto out;
        }
        /* Missing: the deepest existing directory above it must be one only root can write. */
        for (;;) {
                char *slash = strrchr(abs, '/');

                if (!slash || slash == abs) {
                        r = check_existing(rootfd, "/", what, shown, err);
                        break;
                }
                *slash = '\0';
                r = check_existing(rootfd, abs, what, shown, err);
                if (r != -ENOENT)
                        break;
        }
        if (r == -ENOENT)
                r = 0;
out:
        if (rootfd >= 0)
                close(rootfd);
        free(abs);
        free(shown);
        return r;
}
