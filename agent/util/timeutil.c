#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "timeutil.h"

uint64_t now_monotonic_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t now_realtime_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *format_utc(int64_t usec, char *buf, size_t size)
{
        time_t t = (time_t)(usec / 1000000);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "?");
        return buf;
}

char *format_duration(int64_t usec, char *buf, size_t size)
{
        int64_t s = usec / 1000000;

        if (usec < 0)
                snprintf(buf, size, "?");
        else if (s < 60)
                snprintf(buf, size, "%.1f s", (double)usec / 1e6);
        else if (s < 3600)
                snprintf(buf, size, "%" PRId64 " min %" PRId64 " s", s / 60, s % 60);
        else
                snprintf(buf, size, "%" PRId64 " h %" PRId64 " min", s / 3600, (s % 3600) / 60);
        return buf;
}

int parse_iso8601_utc(const char *s, int64_t *ret)
{
        struct tm tm = { 0 };
        const char *end;

        if (!s)
                return -EINVAL;
        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end)
                return -EINVAL;
        if (*end == '.')
                while (*++end >= '0' && *end <= '9')
                        ;
        if (*end != 'Z' && *end != '\0')
                return -EINVAL;
        *ret = (int64_t)timegm(&tm);
        return 0;
}
