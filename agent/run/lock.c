#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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
