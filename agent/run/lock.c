#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lock.h"
#include "util/fileio.h"

#define LOCK_PID_MAX 32 /* bytes of the lock file read for the holder's pid */

struct run_lock {
        int fd;
};

/* The pid written in the lock file, 0 when there is none or it is garbage. */
static pid_t read_holder(int fd)
{
        char text[LOCK_PID_MAX + 1];
        char *end;
        long v;
        ssize_t n;

        do
                n = pread(fd, text, LOCK_PID_MAX, 0);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return 0;
        text[n] = '\0';
        errno = 0;
        v = strtol(text, &end, 10);
        if (errno || end == text || (*end != '\n' && *end != '\0') || v <= 0 || v != (pid_t)v)
                return 0;
        return (pid_t)v;
}

static int write_pid(int fd)
{
        char text[LOCK_PID_MAX];
        int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
        ssize_t n;

        if (ftruncate(fd, 0) < 0)
                return -errno;
        do
                n = pwrite(fd, text, (size_t)len, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return n == len ? 0 : -EIO;
}

int run_lock_acquire(const char *run_dir, const char *name, struct run_lock **ret, pid_t *ret_holder)
{
        struct run_lock *l = NULL;
        char *file = NULL, *path = NULL;
        int fd = -1, r;

        if (!name || !*name || strchr(name, '/'))
                return -EINVAL;
        r = mkdir_p(run_dir, 0755);
        if (r < 0)
                return r;
        if (asprintf(&file, "%s.lock", name) < 0) {
                file = NULL;
                r = -ENOMEM;
                goto out;
        }
        path = path_join(run_dir, file);
        if (!path) {
                r = -ENOMEM;
                goto out;
        }
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0644);
        if (fd < 0) {
                r = -errno;
                goto out;
        }
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EINTR)
                        continue;
                r = errno == EWOULDBLOCK ? -EBUSY : -errno;
                if (r == -EBUSY && ret_holder)
                        *ret_holder = read_holder(fd);
                goto out;
        }
        r = write_pid(fd);
        if (r < 0)
                goto out;
        l = malloc(sizeof(*l));
        if (!l) {
                r = -ENOMEM;
                goto out;
        }
        l->fd = fd;
        fd = -1;
        *ret = l;
        r = 0;
out:
        if (fd >= 0)
                close(fd);
        free(path);
        free(file);
        return r;
}

/* The lock file's path (caller frees), or NULL; -EINVAL names are refused first. */
static char *lock_path(const char *run_dir, const char *name)
{
        char *file = NULL, *path;

        if (asprintf(&file, "%s.lock", name) < 0)
                return NULL;
        path = path_join(run_dir, file);
        free(file);
        return path;
}

/* Whether LOCKS (the text of /proc/locks) lists an flock(2) lock on the inode DEV:INO. Each
 * line: "ID: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE START END" (in hex MAJ:MIN); a
 * waiter's line has "->" after the ID and does not count. */
static bool locks_list_has(FILE *locks, dev_t dev, ino_t ino)
{
        char line[512];

        while (fgets(line, sizeof(line), locks)) {
                char kind[16], mode[16], access[16];
                unsigned maj, min;
                unsigned long long inode;
                long pid;

                if (strstr(line, "->"))
                        continue;
                if (sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%llu", kind, mode, access, &pid, &maj, &min,
                           &inode) != 7)
                        continue;
                if (strcmp(kind, "FLOCK") == 0 && maj == major(dev) && min == minor(dev) &&
                    inode == (unsigned long long)ino)
                        return true;
        }
        return false;
}

int run_lock_probe(const char *run_dir, const char *name, const char *locks_file, pid_t *ret_holder,
                   int64_t *ret_since_usec)
{
        char *path = NULL;
        struct stat st;
        FILE *locks = NULL;
        int fd = -1, r;

        if (!name || !*name || strchr(name, '/'))
                return -EINVAL;
        path = lock_path(run_dir, name);
        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0) {
                r = errno == ENOENT ? 0 : -errno;
                goto out;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        locks = fopen(locks_file, "re");
        if (!locks) {
                r = -errno;
                goto out;
        }
        r = locks_list_has(locks, st.st_dev, st.st_ino) ? 1 : 0;
        if (r == 1) {
                if (ret_holder)
                        *ret_holder = read_holder(fd);
                if (ret_since_usec)
                        *ret_since_usec = (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;
        }
out:
        if (locks)
                fclose(locks);
        if (fd >= 0)
                close(fd);
        free(path);
        return r;
}

void run_lock_release(struct run_lock *l)
{
        if (!l)
                return;
        /* Emptied first: a reader racing the unlock then finds no stale pid. */
        (void)ftruncate(l->fd, 0);
        (void)flock(l->fd, LOCK_UN);
        close(l->fd);
        free(l);
}
