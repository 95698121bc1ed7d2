/* Fuzz target: the /proc files the heartbeat's host metrics come from
 * (agent/report/hostmetrics.c), in a scratch root: the input is /proc/self/mounts,
 * /proc/meminfo and /proc/loadavg, cut at FUZZ_SEP. statvfs() is a stand-in that makes up
 * sizes from the mount point (and fails for one with "fail" in it). Every value collected must
 * be finite, percentages within 0..100, load averages not negative. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "fuzz_util.h"
#include "report/hostmetrics.h"

static int fake_statvfs(const char *path, struct statvfs *st)
{
        size_t h = 5381;

        if (strstr(path, "fail"))
                return -1;
        for (const char *p = path; *p; p++)
                h = h * 33 + (unsigned char)*p;
        memset(st, 0, sizeof(*st));
        st->f_frsize = st->f_bsize = 4096;
        st->f_blocks = h % 7 == 0 ? 0 : 1000 + h % 100000;
        st->f_bfree = st->f_blocks ? h % st->f_blocks : 0;
        st->f_bavail = st->f_bfree ? h % (st->f_bfree + 1) : 0;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct hostmetrics h = { NULL, 0 };
        char *part[3];

        fuzz_split(data, size, part, 3);
        fuzz_scratch_reset();
        fuzz_write("/proc/self/mounts", part[0], strlen(part[0]));
        fuzz_write("/proc/meminfo", part[1], strlen(part[1]));
        fuzz_write("/proc/loadavg", part[2], strlen(part[2]));
        if (hostmetrics_collect(fuzz_scratch(), fake_statvfs, &h) < 0)
                abort();        /* only ENOMEM */
        for (size_t i = 0; i < h.n; i++) {
                const struct hostmetric *m = &h.items[i];

                if (!isfinite(m->value) || m->value < 0 ||
                    (strcmp(m->unit, "Percent") == 0 && m->value > 100))
                        abort();
                if (strcmp(m->name, "disk_used_percent") == 0 && (!m->path || m->path[0] != '/' || !m->fstype ||
                                                                  !hostmetrics_fstype_is_real(m->fstype)))
                        abort();
        }
        hostmetrics_free(&h);
        fuzz_parts_free(part, 3);
        return 0;
}
