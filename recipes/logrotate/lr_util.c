/* logrotate recipe: small helpers the engine's modules share. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lr_util.h"

uint64_t lr_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t lr_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void lr_sleep_ms(unsigned ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

bool lr_exists(const char *path)
{
        struct stat st;
        return lstat(path, &st) == 0;
}

char *lr_join(const char *dir, const char *name)
{
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return NULL;
        return p;
}

char *lr_join3(const char *a, const char *b, const char *c)
{
        char *p = NULL;
        if (asprintf(&p, "%s%s%s", a, b, c) < 0)
                return NULL;
        return p;
}

const char *lr_human(uint64_t n, char *buf, size_t len)
{
        if (n >= 1024ULL * 1024 * 1024)
                snprintf(buf, len, "%.1f GiB", (double)n / (1024.0 * 1024 * 1024));
        else if (n >= 1024 * 1024)
                snprintf(buf, len, "%.1f MiB", (double)n / (1024.0 * 1024));
        else if (n >= 1024)
                snprintf(buf, len, "%.1f KiB", (double)n / 1024.0);
        else
                snprintf(buf, len, "%" PRIu64 " B", n);
        return buf;
}

const char *lr_base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

int lr_rename_noreplace(const char *from, const char *to)
{
        if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS)
                return -errno;
        /* a filesystem without RENAME_NOREPLACE: link(2) refuses an existing name too */
        if (link(from, to) < 0)
                return -errno;
        return unlink(from) < 0 ? -errno : 0;
}

const char *lr_write_advice(int r)
{
        switch (r) {
        case -ENOSPC:
                return "; free space on its filesystem (df -h, df -i)";
        case -EDQUOT:
                return "; the disk quota is exceeded: free space or raise the quota";
        case -EROFS:
                return "; its filesystem is read-only: remount it read-write";
        case -EACCES:
        case -EPERM:
                return "; check its owner and mode (root, not writable by others)";
        case -EIO:
                return "; the disk reports I/O errors: check it (dmesg)";
        default:
                return "";
        }
}

/* Days since 1970-01-01 of the calendar date in TM (its time of day ignored). */
int64_t lr_civil_day(const struct tm *tm)
{
        struct tm d = { .tm_year = tm->tm_year, .tm_mon = tm->tm_mon, .tm_mday = tm->tm_mday };
        return (int64_t)timegm(&d) / 86400;
}
