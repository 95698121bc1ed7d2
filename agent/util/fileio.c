#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

int read_fd_capped(int fd, size_t cap, char **ret, size_t *ret_len)
{
        char *data = NULL, *p;
        size_t len = 0, alloc = 0;
        int r;

        for (;;) {
                ssize_t n;

                if (alloc - len < 4096 + 1) {
                        size_t na = alloc ? alloc * 2 : 8192;

                        if (na > cap + 4096 + 1)
                                na = cap + 4096 + 1;
                        if (na <= alloc) {
                                r = -EFBIG;
                                goto fail;
                        }
                        p = realloc(data, na);
                        if (!p) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        data = p;
                        alloc = na;
                }
                n = read(fd, data + len, alloc - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto fail;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > cap) {
                        r = -EFBIG;
                        goto fail;
                }
        }
        if (!data) {
                data = malloc(1);
                if (!data)
                        return -ENOMEM;
        }
        data[len] = '\0';
        *ret = data;
        if (ret_len)
                *ret_len = len;
        return 0;
fail:
        free(data);
        return r;
}

int read_file_capped(const char *path, size_t cap, char **ret, size_t *ret_len)
{
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        r = read_fd_capped(fd, cap, ret, ret_len);
        close(fd);
        return r;
}

int fsync_directory(const char *dir)
{
        int fd, r = 0;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0 && errno != EINVAL)
                r = -errno;
        close(fd);
        return r;
}

int fsync_parent_dir(const char *path)
{
        char *copy = strdup(path);
        int r;

        if (!copy)
                return -ENOMEM;
        r = fsync_directory(dirname(copy));
        free(copy);
        return r;
}

int atomic_file_open(const char *path, const char *tmp, mode_t mode, struct atomic_file *ret)
{
        struct atomic_file f = { .fd = -1 };
        int r;

        f.path = strdup(path);
        if (!f.path)
                return -ENOMEM;
        if (tmp) {
                f.tmp = strdup(tmp);
                if (!f.tmp) {
                        r = -ENOMEM;
                        goto fail;
                }
                if (unlink(f.tmp) < 0 && errno != ENOENT) {
                        r = -errno;
                        goto fail;
                }
                f.fd = open(f.tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        } else {
                if (asprintf(&f.tmp, "%s.tmp.XXXXXX", path) < 0) {
                        f.tmp = NULL;
                        r = -ENOMEM;
                        goto fail;
                }
                f.fd = mkostemp(f.tmp, O_CLOEXEC);
        }
        if (f.fd < 0) {
                r = -errno;
                goto fail;
        }
        /* The mode itself, not what the umask leaves of it. */
        if (fchmod(f.fd, mode) < 0) {
                r = -errno;
                atomic_file_abort(&f);
                return r;
        }
        *ret = f;
        return 0;
fail:
        free(f.path);
        free(f.tmp);
        return r;
}

int atomic_file_write(struct atomic_file *f, const void *data, size_t len)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(f->fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

void atomic_file_abort(struct atomic_file *f)
{
        if (!f || !f->path)
                return;
        if (f->fd >= 0)
                close(f->fd);
        if (f->tmp)
                (void)unlink(f->tmp);
        free(f->tmp);
        free(f->path);
        *f = (struct atomic_file){ .fd = -1 };
}

int atomic_file_commit(struct atomic_file *f)
{
        int r;

        if (fsync(f->fd) < 0) {
                r = -errno;
                goto fail;
        }
        r = close(f->fd);
        f->fd = -1;
        if (r < 0) {
                r = -errno;
                goto fail;
        }
        if (rename(f->tmp, f->path) < 0) {
                r = -errno;
                goto fail;
        }
        r = fsync_parent_dir(f->path);
        free(f->tmp);
        free(f->path);
        *f = (struct atomic_file){ .fd = -1 };
        return r;
fail:
        atomic_file_abort(f);
        return r;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        return write_file_atomic_via(path, NULL, data, len, mode);
}

int write_file_atomic_via(const char *path, const char *tmp, const void *data, size_t len, mode_t mode)
{
        struct atomic_file f;
        int r;

        r = atomic_file_open(path, tmp, mode, &f);
        if (r < 0)
                return r;
        r = atomic_file_write(&f, data, len);
        if (r < 0) {
                atomic_file_abort(&f);
                return r;
        }
        return atomic_file_commit(&f);
}

int mkdir_p(const char *dir, mode_t mode)
{
        char buf[PATH_MAX];
        size_t len = strlen(dir);

        if (len == 0 || len >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, dir, len + 1);
        for (char *s = buf + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

char *path_join(const char *a, const char *b)
{
        char *r;
        size_t la = strlen(a);

        while (la > 0 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        if (asprintf(&r, "%.*s/%s", (int)la, a, b) < 0)
                return NULL;
        return r;
}

char *path_under_root(const char *root, const char *path)
{
        if (!root || !*root)
                return strdup(path);
        return path_join(root, path);
}

bool file_readable_by_others(const char *path)
{
        struct stat st;

        if (stat(path, &st) < 0)
                return false;
        return (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
}
