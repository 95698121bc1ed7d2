/* pathres: every case runs twice, once through openat2 (when the kernel has it) and once
 * through the component walk, and must give the same result both ways. Each test gets a fresh
 * ROOT (the directory everything is resolved beneath) and OUTSIDE (a directory a link points
 * at, which must never be touched). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testdir.h"
#include "util/pathres.h"

struct fixture {
        char root[64];
        char outside[64];
        int rootfd;
        size_t fds;  /* descriptors open before the test: none may be left over */
        bool walk;  /* this run forces the component walk */
        bool skip;  /* the openat2 run on a kernel without it */
};

static void put(const char *dir, const char *rel, const char *text)
{
        char p[PATH_MAX];
        FILE *f;

        snprintf(p, sizeof(p), "%s/%s", dir, rel);
        f = fopen(p, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void mkd(const char *dir, const char *rel)
{
        char p[PATH_MAX];

        snprintf(p, sizeof(p), "%s/%s", dir, rel);
        assert_int_equal(mkdir(p, 0755), 0);
}

static void lnk(const char *dir, const char *rel, const char *target)
{
        char p[PATH_MAX];

        snprintf(p, sizeof(p), "%s/%s", dir, rel);
        assert_int_equal(symlink(target, p), 0);
}

static bool exists(const char *dir, const char *rel)
{
        char p[2 * PATH_MAX];
        struct stat st;

        snprintf(p, sizeof(p), "%s/%s", dir, rel);
        return lstat(p, &st) == 0;
}

static char *slurp_fd(int fd)
{
        static char buf[256];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);

        assert_true(n >= 0);
        buf[n] = '\0';
        return buf;
}

static size_t open_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        size_t n = 0;

        assert_non_null(d);
        while ((e = readdir(d)))
                n += e->d_name[0] != '.';
        closedir(d);
        return n;
}

static int setup(void **state, bool walk)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        assert_non_null(testdir_new(f->root, sizeof(f->root), "pathres-root"));
        assert_non_null(testdir_new(f->outside, sizeof(f->outside), "pathres-outside"));
        f->fds = open_fds();
        f->rootfd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->rootfd >= 0);
        /* ROOT/a/b/f ("inside"), OUTSIDE/f ("outside"), OUTSIDE/dir/ */
        mkd(f->root, "a");
        mkd(f->root, "a/b");
        put(f->root, "a/b/f", "inside");
        put(f->outside, "f", "outside");
        mkd(f->outside, "dir");
        pathres_force_walk(walk);
        f->walk = walk;
        f->skip = !walk && !pathres_uses_openat2();
        *state = f;
        return 0;
}

static int setup_walk(void **state)
{
        return setup(state, true);
}

static int setup_openat2(void **state)
{
        return setup(state, false);
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        close(f->rootfd);
        assert_int_equal(open_fds(), f->fds);
        assert_int_equal(testdir_remove(f->root), 0);
        assert_int_equal(testdir_remove(f->outside), 0);
        free(f);
        return 0;
}

/* Every test begins with it: the openat2 run of a test is skipped without openat2. */
#define FIXTURE(state)                                                                             \
        struct fixture *f = *(state);                                                              \
        do {                                                                                       \
                if (f->skip) {                                                                     \
                        printf("# no openat2 on this kernel: %s runs only with the walk\n", __func__); \
                        return;                                                                    \
                }                                                                                  \
        } while (0)

/* --- pathres_check ---------------------------------------------------------------------- */

static void test_check(void **state)
{
        static const char nul[] = "/var/log/x\0/../../etc/shadow";
        const char *why = NULL;
        char longp[PATHRES_MAX_LEN + 2];
        FIXTURE(state);

        (void)f;
        assert_int_equal(pathres_check("/", 1, NULL), 0);
        assert_int_equal(pathres_check("/var/log/syslog", 15, NULL), 0);
        assert_int_equal(pathres_check("old", 3, NULL), 0);
        assert_int_equal(pathres_check("./x", 3, NULL), 0);
        assert_int_equal(pathres_check("/srv/www/*/var/*.log", 20, NULL), 0);
        assert_int_equal(pathres_check("a..b/..c/d..", 12, NULL), 0);
        assert_int_equal(pathres_check("", 0, &why), -EINVAL);
        assert_string_equal(why, "is empty");
        assert_int_equal(pathres_check("/../../tmp/victim", 17, &why), -EINVAL);
        assert_string_equal(why, "has a \"..\" component");
        assert_int_equal(pathres_check("a/..", 4, NULL), -EINVAL);
        assert_int_equal(pathres_check("..", 2, NULL), -EINVAL);
        assert_int_equal(pathres_check("a//b", 4, &why), -EINVAL);
        assert_string_equal(why, "has an empty component (\"//\" or a trailing \"/\")");
        assert_int_equal(pathres_check("/var/log/", 9, NULL), -EINVAL);
        assert_int_equal(pathres_check("//", 2, NULL), -EINVAL);
        assert_int_equal(pathres_check(nul, sizeof(nul) - 1, &why), -EINVAL);
        assert_string_equal(why, "contains a NUL byte");
        /* the limit, and one byte past it */
        memset(longp, 'x', sizeof(longp));
        longp[0] = '/';
        longp[PATHRES_MAX_LEN] = '\0';
        for (size_t i = 200; i < PATHRES_MAX_LEN; i += 200)
                longp[i] = '/';
        assert_int_equal(pathres_check(longp, PATHRES_MAX_LEN, NULL), 0);
        longp[PATHRES_MAX_LEN] = 'x';
        longp[PATHRES_MAX_LEN + 1] = '\0';
        assert_int_equal(pathres_check(longp, PATHRES_MAX_LEN + 1, &why), -ENAMETOOLONG);
}

/* --- open ------------------------------------------------------------------------------- */

static void test_open_beneath(void **state)
{
        FIXTURE(state);
        int fd;

        fd = pathres_open(f->rootfd, "/a/b/f", O_RDONLY, 0, 0);
        assert_true(fd >= 0);
        assert_string_equal(slurp_fd(fd), "inside");
        close(fd);
        fd = pathres_open(f->rootfd, "a/b/f", O_RDONLY, 0, 0);
        assert_true(fd >= 0);
        close(fd);
        fd = pathres_open(f->rootfd, "/", O_RDONLY | O_DIRECTORY, 0, 0);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(pathres_open(f->rootfd, "a/nope", O_RDONLY, 0, 0), -ENOENT);
        assert_int_equal(pathres_open(f->rootfd, "a/b/f/x", O_RDONLY, 0, 0), -ENOTDIR);
}

static void test_open_refuses_links_anywhere(void **state)
{
        FIXTURE(state);
        char target[PATH_MAX];

        lnk(f->root, "rel", "a");             /* stays inside, still refused */
        snprintf(target, sizeof(target), "%s", f->outside);
        lnk(f->root, "a/out", target);        /* points outside */
        lnk(f->root, "a/b/l", "f");           /* the last component */
        assert_int_equal(pathres_open(f->rootfd, "rel/b/f", O_RDONLY, 0, 0), -ELOOP);
        assert_int_equal(pathres_open(f->rootfd, "a/out/f", O_RDONLY, 0, 0), -ELOOP);
        assert_int_equal(pathres_open(f->rootfd, "a/b/l", O_RDONLY, 0, 0), -ELOOP);
        assert_int_equal(pathres_open(f->rootfd, "a/b/l", O_PATH, 0, 0), -ELOOP);
        assert_int_equal(pathres_open(f->rootfd, "a/b/l", O_PATH | O_NOFOLLOW, 0, 0), -ELOOP);
        assert_int_equal(pathres_open(f->rootfd, "a/out", O_RDONLY | O_DIRECTORY, 0, 0), -ELOOP);
}

static void test_create_through_dangling_link_refused(void **state)
{
        FIXTURE(state);
        char target[PATH_MAX];

        snprintf(target, sizeof(target), "%s/created", f->outside);
        lnk(f->root, "a/dangling", target);
        assert_int_equal(pathres_open(f->rootfd, "a/dangling", O_WRONLY | O_CREAT, 0600, 0), -ELOOP);
        assert_int_equal(pathres_open(f->rootfd, "a/dangling", O_WRONLY | O_CREAT | O_EXCL, 0600, 0), -EEXIST);
        assert_false(exists(f->outside, "created"));
}

static void test_dotdot_and_nul_refused(void **state)
{
        FIXTURE(state);

        assert_int_equal(pathres_open(f->rootfd, "a/../a/b/f", O_RDONLY, 0, 0), -EINVAL);
        assert_int_equal(pathres_open(f->rootfd, "/../../../../etc/passwd", O_RDONLY, 0, 0), -EINVAL);
        assert_int_equal(pathres_open(f->rootfd, "a//b/f", O_RDONLY, 0, 0), -EINVAL);
        assert_int_equal(pathres_open(f->rootfd, "", O_RDONLY, 0, 0), -EINVAL);
        assert_int_equal(pathres_open(f->rootfd, "a/..", O_RDONLY, 0, PATHRES_IN_ROOT), -EINVAL);
        assert_int_equal(pathres_open(f->rootfd, NULL, O_RDONLY, 0, 0), -EINVAL);
}

static void test_in_root_follows_links_confined(void **state)
{
        FIXTURE(state);
        int fd;

        /* sysfs-like relative links, an absolute one (means ROOT/a/b), one that climbs too far */
        mkd(f->root, "devices");
        mkd(f->root, "devices/nvme0n1");
        put(f->root, "devices/nvme0n1/serial", "vol0123");
        mkd(f->root, "blk");
        lnk(f->root, "blk/nvme0n1", "../devices/nvme0n1");
        lnk(f->root, "abs", "/a/b");
        lnk(f->root, "up", "../../../../../../../../a");
        lnk(f->root, "a/b/final", "/a/b/f");

        fd = pathres_open(f->rootfd, "/blk/nvme0n1/serial", O_RDONLY, 0, PATHRES_IN_ROOT);
        assert_true(fd >= 0);
        assert_string_equal(slurp_fd(fd), "vol0123");
        close(fd);
        fd = pathres_open(f->rootfd, "abs/f", O_RDONLY, 0, PATHRES_IN_ROOT);
        assert_true(fd >= 0);
        assert_string_equal(slurp_fd(fd), "inside");
        close(fd);
        fd = pathres_open(f->rootfd, "up/b/f", O_RDONLY, 0, PATHRES_IN_ROOT);
        assert_true(fd >= 0);
        assert_string_equal(slurp_fd(fd), "inside");
        close(fd);
        fd = pathres_open(f->rootfd, "a/b/final", O_RDONLY, 0, PATHRES_IN_ROOT);
        assert_true(fd >= 0);
        assert_string_equal(slurp_fd(fd), "inside");
        close(fd);
        /* the same without PATHRES_IN_ROOT: refused */
        assert_int_equal(pathres_open(f->rootfd, "/blk/nvme0n1/serial", O_RDONLY, 0, 0), -ELOOP);
}

static void test_in_root_absolute_link_to_outside_stays_inside(void **state)
{
        FIXTURE(state);
        char target[PATH_MAX];
        int fd;

        /* OUTSIDE is an absolute path on the host: beneath ROOT it names ROOT/OUTSIDE, absent. */
        snprintf(target, sizeof(target), "%s/f", f->outside);
        lnk(f->root, "a/host", target);
        assert_int_equal(pathres_open(f->rootfd, "a/host", O_RDONLY, 0, PATHRES_IN_ROOT), -ENOENT);
        /* a dangling absolute link: what it creates is inside ROOT */
        lnk(f->root, "a/new", "/a/created-by-link");
        fd = pathres_open(f->rootfd, "a/new", O_WRONLY | O_CREAT | O_TRUNC, 0600, PATHRES_IN_ROOT);
        assert_true(fd >= 0);
        close(fd);
        assert_true(exists(f->root, "a/created-by-link"));
        assert_false(exists("/a", "created-by-link"));
        /* and OUTSIDE/f is as it was */
        fd = open(target, O_RDONLY);
        assert_true(fd >= 0);
        assert_string_equal(slurp_fd(fd), "outside");
        close(fd);
}

static void test_in_root_loop_and_link_limit(void **state)
{
        FIXTURE(state);
        char name[32], target[32];
        int fd;

        lnk(f->root, "loop1", "loop2");
        lnk(f->root, "loop2", "loop1");
        assert_int_equal(pathres_open(f->rootfd, "loop1", O_RDONLY, 0, PATHRES_IN_ROOT), -ELOOP);
        /* c1 -> c2 -> ... -> cN -> a/b/f: opening c1 follows N links */
        for (int i = 1; i <= PATHRES_MAX_SYMLINKS + 1; i++) {
                snprintf(name, sizeof(name), "c%d", i);
                if (i == PATHRES_MAX_SYMLINKS + 1)
                        snprintf(target, sizeof(target), "a/b/f");
                else
                        snprintf(target, sizeof(target), "c%d", i + 1);
                lnk(f->root, name, target);
        }
        fd = pathres_open(f->rootfd, "c2", O_RDONLY, 0, PATHRES_IN_ROOT); /* exactly the limit */
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(pathres_open(f->rootfd, "c1", O_RDONLY, 0, PATHRES_IN_ROOT), -ELOOP); /* one more */
}

/* --- parent, stat, mkdir, unlink, rename ---------------------------------------------------- */

static void test_parent(void **state)
{
        FIXTURE(state);
        char *name = NULL;
        int pfd = -1, fd;

        assert_int_equal(pathres_parent(f->rootfd, "/a/b/f", 0, &pfd, &name), 0);
        assert_string_equal(name, "f");
        fd = openat(pfd, name, O_RDONLY);
        assert_true(fd >= 0);
        close(fd);
        close(pfd);
        free(name);
        name = NULL;
        assert_int_equal(pathres_parent(f->rootfd, "top", 0, &pfd, &name), 0);
        assert_string_equal(name, "top");
        close(pfd);
        free(name);
        assert_int_equal(pathres_parent(f->rootfd, "/", 0, &pfd, &name), -EINVAL);
        lnk(f->root, "l", "a");
        assert_int_equal(pathres_parent(f->rootfd, "l/b", 0, &pfd, &name), -ELOOP);
}

/* The descriptor is what counts: a directory swapped for a link after the resolution changes
 * nothing about where the operation happens (no check-then-use race). */
static void test_parent_descriptor_survives_a_swap(void **state)
{
        FIXTURE(state);
        char *name = NULL, from[PATH_MAX], to[PATH_MAX];
        int pfd = -1;

        put(f->outside, "dir/f", "victim");
        assert_int_equal(pathres_parent(f->rootfd, "a/b/f", 0, &pfd, &name), 0);
        snprintf(from, sizeof(from), "%s/a/b", f->root);
        snprintf(to, sizeof(to), "%s/a/moved", f->root);
        assert_int_equal(rename(from, to), 0);
        snprintf(to, sizeof(to), "%s/dir", f->outside);
        assert_int_equal(symlink(to, from), 0);
        assert_int_equal(unlinkat(pfd, name, 0), 0);
        assert_false(exists(f->root, "a/moved/f"));
        assert_true(exists(f->outside, "dir/f"));
        /* resolved again, the link is refused */
        assert_int_equal(pathres_unlink(f->rootfd, "a/b/f", 0, 0), -ELOOP);
        assert_true(exists(f->outside, "dir/f"));
        close(pfd);
        free(name);
}

static void test_stat(void **state)
{
        FIXTURE(state);
        struct stat st;

        lnk(f->root, "a/b/l", "f");
        assert_int_equal(pathres_stat(f->rootfd, "a/b/f", &st, 0), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(pathres_stat(f->rootfd, "a/b/l", &st, 0), 0);
        assert_true(S_ISLNK(st.st_mode)); /* described, not followed */
        assert_int_equal(pathres_stat(f->rootfd, "a/b/l", &st, PATHRES_IN_ROOT), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(pathres_stat(f->rootfd, "/", &st, 0), 0);
        assert_true(S_ISDIR(st.st_mode));
        lnk(f->root, "d", "a");
        assert_int_equal(pathres_stat(f->rootfd, "d/b/f", &st, 0), -ELOOP);
}

static void test_mkdir_p(void **state)
{
        FIXTURE(state);
        char target[PATH_MAX];
        struct stat st;

        assert_int_equal(pathres_mkdir_p(f->rootfd, "/a/x/y/z", 0750, 0), 0);
        assert_int_equal(pathres_stat(f->rootfd, "a/x/y/z", &st, 0), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(pathres_mkdir_p(f->rootfd, "/a/x/y/z", 0750, 0), 0);
        assert_int_equal(pathres_mkdir_p(f->rootfd, "/", 0750, 0), 0);
        assert_int_equal(pathres_mkdir_p(f->rootfd, "a/b/f/sub", 0750, 0), -ENOTDIR);
        snprintf(target, sizeof(target), "%s/dir", f->outside);
        lnk(f->root, "a/to_out", target);
        assert_int_equal(pathres_mkdir_p(f->rootfd, "a/to_out/new", 0750, 0), -ELOOP);
        assert_false(exists(f->outside, "dir/new"));
        assert_int_equal(pathres_mkdir_p(f->rootfd, "a/to_out", 0750, 0), -ELOOP);
}

static void test_unlink(void **state)
{
        FIXTURE(state);
        char target[PATH_MAX];

        snprintf(target, sizeof(target), "%s/f", f->outside);
        lnk(f->root, "a/b/l", target);
        assert_int_equal(pathres_unlink(f->rootfd, "a/b/l", 0, 0), 0); /* the link, not its target */
        assert_false(exists(f->root, "a/b/l"));
        assert_true(exists(f->outside, "f"));
        snprintf(target, sizeof(target), "%s", f->outside);
        lnk(f->root, "out", target);
        assert_int_equal(pathres_unlink(f->rootfd, "out/f", 0, 0), -ELOOP);
        assert_true(exists(f->outside, "f"));
        assert_int_equal(pathres_unlink(f->rootfd, "a/b/f", 0, 0), 0);
        assert_int_equal(pathres_unlink(f->rootfd, "a/b", AT_REMOVEDIR, 0), 0);
        assert_false(exists(f->root, "a/b"));
        assert_int_equal(pathres_unlink(f->rootfd, "a/b", 0, 0), -ENOENT);
}

static void test_rename(void **state)
{
        FIXTURE(state);
        char target[PATH_MAX];

        put(f->root, "a/g", "g");
        assert_int_equal(pathres_rename(f->rootfd, "a/b/f", f->rootfd, "a/b/f.1", 0, 0), 0);
        assert_true(exists(f->root, "a/b/f.1"));
        assert_int_equal(pathres_rename(f->rootfd, "a/b/f.1", f->rootfd, "a/g", RENAME_NOREPLACE, 0), -EEXIST);
        assert_true(exists(f->root, "a/b/f.1"));
        snprintf(target, sizeof(target), "%s/dir", f->outside);
        lnk(f->root, "a/old", target);
        assert_int_equal(pathres_rename(f->rootfd, "a/b/f.1", f->rootfd, "a/old/f.1", 0, 0), -ELOOP);
        assert_false(exists(f->outside, "dir/f.1"));
        /* a final link is renamed itself */
        assert_int_equal(pathres_rename(f->rootfd, "a/old", f->rootfd, "a/old.lnk", 0, 0), 0);
        assert_true(exists(f->outside, "dir"));
        assert_int_equal(pathres_rename(f->rootfd, "a/../a/g", f->rootfd, "a/h", 0, 0), -EINVAL);
}

/* --- atomic write, capped read --------------------------------------------------------------- */

static void test_write_atomic(void **state)
{
        FIXTURE(state);
        char target[PATH_MAX], *text = NULL;
        struct stat st;
        size_t len = 0;

        assert_int_equal(pathres_write_atomic(f->rootfd, "/a/conf", "one\n", 4, 0640, 0), 0);
        assert_int_equal(pathres_read_capped(f->rootfd, "/a/conf", 100, &text, &len, 0), 0);
        assert_string_equal(text, "one\n");
        assert_int_equal(len, 4);
        free(text);
        assert_int_equal(pathres_stat(f->rootfd, "a/conf", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        /* with an owner: given before the mode, so that set-id bits survive the chown (as root,
         * a chown clears them) */
        assert_int_equal(pathres_write_atomic_owned(f->rootfd, "/a/conf", "two\n", 4, 02750, getuid(), getgid(), 0), 0);
        assert_int_equal(pathres_stat(f->rootfd, "a/conf", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 02750);
        assert_int_equal(st.st_uid, getuid());
        assert_int_equal(st.st_gid, getgid());
        if (geteuid() == 0) {
                assert_int_equal(pathres_write_atomic_owned(f->rootfd, "/a/conf", "3\n", 2, 0640, 65534, 65534, 0), 0);
                assert_int_equal(pathres_stat(f->rootfd, "a/conf", &st, 0), 0);
                assert_int_equal(st.st_uid, 65534);
                assert_int_equal(st.st_gid, 65534);
        }
        assert_int_equal(pathres_write_atomic_owned(f->rootfd, "out/f", "x", 1, 0600, getuid(), getgid(), 0), -ENOENT);
        /* a link where the file goes is replaced, its target untouched */
        snprintf(target, sizeof(target), "%s/f", f->outside);
        lnk(f->root, "a/l", target);
        assert_int_equal(pathres_write_atomic(f->rootfd, "a/l", "new\n", 4, 0600, 0), 0);
        assert_int_equal(pathres_stat(f->rootfd, "a/l", &st, 0), 0);
        assert_true(S_ISREG(st.st_mode));
        {
                int ofd = open(f->outside, O_PATH | O_DIRECTORY);

                assert_int_equal(pathres_read_capped(ofd, "f", 100, &text, NULL, 0), 0);
                assert_string_equal(text, "outside");
                free(text);
                close(ofd);
        }
        lnk(f->root, "out", f->outside);
        assert_int_equal(pathres_write_atomic(f->rootfd, "out/f", "x", 1, 0600, 0), -ELOOP);
        assert_int_equal(pathres_write_atomic(f->rootfd, "nodir/f", "x", 1, 0600, 0), -ENOENT);
        /* nothing but what was written is left in a/: b, conf, l */
        {
                char p[PATH_MAX];
                DIR *d;
                struct dirent *e;
                size_t n = 0;

                snprintf(p, sizeof(p), "%s/a", f->root);
                d = opendir(p);
                assert_non_null(d);
                while ((e = readdir(d)))
                        n += e->d_name[0] != '.';
                closedir(d);
                assert_int_equal(n, 3);
        }
}

static void test_read_capped(void **state)
{
        FIXTURE(state);
        char *text = NULL, p[PATH_MAX];

        assert_int_equal(pathres_read_capped(f->rootfd, "a/b/f", 6, &text, NULL, 0), 0);
        free(text);
        assert_int_equal(pathres_read_capped(f->rootfd, "a/b/f", 5, &text, NULL, 0), -EFBIG);
        assert_int_equal(pathres_read_capped(f->rootfd, "a/b", 5, &text, NULL, 0), -EISDIR);
        snprintf(p, sizeof(p), "%s/a/fifo", f->root);
        assert_int_equal(mkfifo(p, 0600), 0);
        assert_int_equal(pathres_read_capped(f->rootfd, "a/fifo", 5, &text, NULL, 0), -EINVAL); /* no hang */
}

/* --- walk -------------------------------------------------------------------------------- */

struct seen {
        char paths[8][64];
        size_t n;
        const char *stop_at;
};

static int record(int fd, const struct stat *st, const char *path, void *userdata)
{
        struct seen *s = userdata;

        assert_true(fd >= 0);
        assert_true(S_ISDIR(st->st_mode));
        if (s->n < 8)
                snprintf(s->paths[s->n++], sizeof(s->paths[0]), "%s", path);
        return s->stop_at && strcmp(path, s->stop_at) == 0 ? -EPERM : 0;
}

static void test_walk_visits_every_directory(void **state)
{
        FIXTURE(state);
        struct seen s = { .n = 0 };
        int fd = -1;

        assert_int_equal(pathres_walk(f->rootfd, "/a/b/f", O_RDONLY, 0, record, &s, &fd), 0);
        assert_string_equal(slurp_fd(fd), "inside");
        close(fd);
        assert_int_equal(s.n, 3);
        assert_string_equal(s.paths[0], "/");
        assert_string_equal(s.paths[1], "/a");
        assert_string_equal(s.paths[2], "/a/b");

        /* links followed (IN_ROOT): the directories are those the link leads through */
        lnk(f->root, "short", "a/b");
        memset(&s, 0, sizeof(s));
        assert_int_equal(pathres_walk(f->rootfd, "short/f", O_RDONLY, PATHRES_IN_ROOT, record, &s, &fd), 0);
        close(fd);
        assert_string_equal(s.paths[s.n - 1], "/a/b");
        assert_string_equal(s.paths[1], "/a");
        assert_int_equal(pathres_walk(f->rootfd, "short/f", O_RDONLY, 0, record, &s, &fd), -ELOOP);

        /* ".." with PATHRES_DOTDOT, never above the start */
        memset(&s, 0, sizeof(s));
        assert_int_equal(pathres_walk(f->rootfd, "/../../a/./b/../b/f", O_RDONLY, PATHRES_IN_ROOT | PATHRES_DOTDOT,
                                      record, &s, &fd),
                         0);
        assert_string_equal(slurp_fd(fd), "inside");
        close(fd);
        assert_int_equal(pathres_walk(f->rootfd, "a/../a/b/f", O_RDONLY, PATHRES_DOTDOT, record, &s, NULL), -EINVAL);

        /* VISIT stops the walk with its error */
        memset(&s, 0, sizeof(s));
        s.stop_at = "/a";
        assert_int_equal(pathres_walk(f->rootfd, "/a/b/f", O_RDONLY, 0, record, &s, &fd), -EPERM);
        assert_int_equal(s.n, 2);
        /* no last component opened */
        memset(&s, 0, sizeof(s));
        assert_int_equal(pathres_walk(f->rootfd, "/a/b/nothing", O_RDONLY, 0, record, &s, NULL), 0);
        assert_int_equal(s.n, 3);
}

/* The run is the one it says it is. */
static void test_mode(void **state)
{
        FIXTURE(state);

        assert_true(pathres_uses_openat2() == !f->walk);
}

#define BOTH(t)                                                            \
        { "walk: " #t, t, setup_walk, teardown, NULL },                    \
        { "openat2: " #t, t, setup_openat2, teardown, NULL }

int main(void)
{
        const struct CMUnitTest tests[] = {
                BOTH(test_check),
                BOTH(test_open_beneath),
                BOTH(test_open_refuses_links_anywhere),
                BOTH(test_create_through_dangling_link_refused),
                BOTH(test_dotdot_and_nul_refused),
                BOTH(test_in_root_follows_links_confined),
                BOTH(test_in_root_absolute_link_to_outside_stays_inside),
                BOTH(test_in_root_loop_and_link_limit),
                BOTH(test_parent),
                BOTH(test_parent_descriptor_survives_a_swap),
                BOTH(test_stat),
                BOTH(test_mkdir_p),
                BOTH(test_unlink),
                BOTH(test_rename),
                BOTH(test_write_atomic),
                BOTH(test_read_capped),
                BOTH(test_walk_visits_every_directory),
                BOTH(test_mode),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
