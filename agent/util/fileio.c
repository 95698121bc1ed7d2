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

int read_file_capped(const char *path, size_t cap, char **ret, size_t *ret_len)
{
        char *data = NULL, *p;
        size_t len = 0, alloc = 0;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
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
        close(fd);
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
        close(fd);
        free(data);
        return r;
}

static int fsync_parent_dir(const char *path)
{
        char *copy = strdup(path);
        int fd, r = 0;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                r = -errno;
        else {
                if (fsync(fd) < 0 && errno != EINVAL)
                        r = -errno;
                close(fd);
        }
        free(copy);
        return r;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        char *tmp = NULL;
        const char *p = data;
        int fd = -1, r;

        if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                free(tmp);
                return r;
        }
        if (fchmod(fd, mode) < 0) {
                r = -errno;
                goto fail;
        }
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto fail;
                }
                p += n;
                len -= (size_t)n;
        }
        if (fsync(fd) < 0) {
                r = -errno;
                goto fail;
        }
        if (close(fd) < 0) {
                fd = -1;
                r = -errno;
                goto fail;
        }
        fd = -1;
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        free(tmp);
        return fsync_parent_dir(path);
fail:
        if (fd >= 0)
                close(fd);
        unlink(tmp);
        free(tmp);
        return r;
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
