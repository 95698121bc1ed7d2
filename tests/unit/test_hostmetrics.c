/* hostmetrics: disk, memory, swap and load read from a faked /proc under a root prefix. */
#include <errno.h>
#include <ftw.h>
#include <math.h>
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

#include "report/hostmetrics.h"
#include "util/fileio.h"

static char *root;

/* statvfs answers per path below the root: blocks, free, available (4 KiB blocks). */
struct fake_fs {
        const char *mnt;
        unsigned long blocks, bfree, bavail;
        int fail;
};

static const struct fake_fs *fake_table;
static size_t fake_n;

static int fake_statvfs(const char *path, struct statvfs *st)
{
        size_t rl = strlen(root);

        assert_memory_equal(path, root, rl);
        for (size_t i = 0; i < fake_n; i++) {
                const char *rel = path + rl;

                if (strcmp(rel, fake_table[i].mnt) == 0 ||
                    (strcmp(fake_table[i].mnt, "/") == 0 && strcmp(rel, "") == 0)) {
                        if (fake_table[i].fail) {
                                errno = EACCES;
                                return -1;
                        }
                        memset(st, 0, sizeof(*st));
                        st->f_frsize = st->f_bsize = 4096;
                        st->f_blocks = fake_table[i].blocks;
                        st->f_bfree = fake_table[i].bfree;
                        st->f_bavail = fake_table[i].bavail;
                        return 0;
                }
        }
        errno = ENOENT;
        return -1;
}

static void put(const char *rel, const char *text)
{
        char *p = path_under_root(root, rel), *dir = strdup(p);

        *strrchr(dir, '/') = '\0';
        assert_int_equal(mkdir_p(dir, 0755), 0);
        assert_int_equal(write_file_atomic(p, text, strlen(text), 0644), 0);
        free(dir);
        free(p);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(p);
}

static int setup(void **state)
{
        char tmpl[] = "/tmp/test-hostmetrics-XXXXXX";

        assert_non_null(mkdtemp(tmpl));
        root = strdup(tmpl);
        fake_table = NULL;
        fake_n = 0;
        return 0;
}

static int teardown(void **state)
{
        nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        free(root);
        root = NULL;
        return 0;
}

static const struct hostmetric *find(const struct hostmetrics *h, const char *name, const char *path)
{
        for (size_t i = 0; i < h->n; i++)
                if (strcmp(h->items[i].name, name) == 0 &&
                    (!path || (h->items[i].path && strcmp(h->items[i].path, path) == 0)))
                        return &h->items[i];
        return NULL;
}

static size_t count(const struct hostmetrics *h, const char *name)
{
        size_t n = 0;

        for (size_t i = 0; i < h->n; i++)
                n += strcmp(h->items[i].name, name) == 0;
        return n;
}

static const char meminfo[] =
        "MemTotal:        8000000 kB\n"
        "MemFree:         1000000 kB\n"
        "MemAvailable:    5000000 kB\n"
        "Buffers:          500000 kB\n"
        "Cached:          2000000 kB\n"
        "SwapCached:            0 kB\n"
        "SReclaimable:     500000 kB\n"
        "SwapTotal:       2000000 kB\n"
        "SwapFree:        1500000 kB\n";

/* Real filesystems get disk_used_percent with path and fstype; pseudo, image and network
 * filesystems do not. */
static void test_disk_used_percent_per_real_filesystem(void **state)
{
        static const struct fake_fs fs[] = {
                { "/", 1000, 400, 300, 0 },        /* used 600 / (600 + 300) */
                { "/data", 2000, 2000, 2000, 0 },  /* empty */
                { "/srv/my data", 100, 0, 0, 0 },  /* full */
        };
        struct hostmetrics h = { 0 };
        const struct hostmetric *m;

        fake_table = fs;
        fake_n = 3;
        put("/proc/self/mounts",
            "/dev/nvme0n1p1 / ext4 rw,relatime 0 0\n"
            "proc /proc proc rw,nosuid 0 0\n"
            "sysfs /sys sysfs rw 0 0\n"
            "tmpfs /run tmpfs rw 0 0\n"
            "/dev/loop0 /snap/core/1 squashfs ro 0 0\n"
            "fs-1.efs:/ /mnt/efs nfs4 rw 0 0\n"
            "overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0\n"
            "/dev/nvme1n1 /data xfs rw 0 0\n"
            "/dev/nvme2n1 /srv/my\\040data ext4 rw 0 0\n");
        assert_int_equal(hostmetrics_collect(root, fake_statvfs, &h), 0);
        assert_int_equal(count(&h, "disk_used_percent"), 3);
        m = find(&h, "disk_used_percent", "/");
        assert_non_null(m);
        assert_string_equal(m->fstype, "ext4");
        assert_string_equal(m->unit, "Percent");
        assert_true(fabs(m->value - 100.0 * 600 / 900) < 1e-9);
        m = find(&h, "disk_used_percent", "/data");
        assert_non_null(m);
        assert_string_equal(m->fstype, "xfs");
        assert_true(m->value == 0);
        m = find(&h, "disk_used_percent", "/srv/my data");
        assert_non_null(m);
        assert_true(m->value == 100);
        hostmetrics_free(&h);
}

/* A filesystem mounted over another on the same point is reported once, as the top one. */
static void test_overmounted_point_reported_once(void **state)
{
        static const struct fake_fs fs[] = { { "/", 100, 50, 50, 0 } };
        struct hostmetrics h = { 0 };

        fake_table = fs;
        fake_n = 1;
        put("/proc/self/mounts", "/dev/a / ext4 rw 0 0\n/dev/b / xfs rw 0 0\n");
        assert_int_equal(hostmetrics_collect(root, fake_statvfs, &h), 0);
        assert_int_equal(count(&h, "disk_used_percent"), 1);
        assert_string_equal(find(&h, "disk_used_percent", "/")->fstype, "xfs");
        hostmetrics_free(&h);
}

/* A mount that cannot be measured (or has no blocks) is skipped, the others are kept. */
static void test_unmeasurable_mount_skipped(void **state)
{
        static const struct fake_fs fs[] = {
                { "/", 100, 50, 50, 0 }, { "/secret", 100, 50, 50, 1 }, { "/empty", 0, 0, 0, 0 },
        };
        struct hostmetrics h = { 0 };

        fake_table = fs;
        fake_n = 3;
        put("/proc/self/mounts", "/dev/a / ext4 rw 0 0\n/dev/b /secret ext4 rw 0 0\n"
                                 "/dev/c /empty ext4 rw 0 0\n/dev/d /gone ext4 rw 0 0\n");
        assert_int_equal(hostmetrics_collect(root, fake_statvfs, &h), 0);
        assert_int_equal(count(&h, "disk_used_percent"), 1);
        assert_non_null(find(&h, "disk_used_percent", "/"));
        hostmetrics_free(&h);
}

/* Without /proc/self/mounts, /proc/mounts is read. */
static void test_proc_mounts_fallback(void **state)
{
        static const struct fake_fs fs[] = { { "/", 100, 10, 10, 0 } };
        struct hostmetrics h = { 0 };

        fake_table = fs;
        fake_n = 1;
        put("/proc/mounts", "/dev/a / ext4 rw 0 0\n");
        assert_int_equal(hostmetrics_collect(root, fake_statvfs, &h), 0);
        assert_int_equal(count(&h, "disk_used_percent"), 1);
        hostmetrics_free(&h);
}

/* More filesystems than the limit: the first HOSTMETRICS_MAX_FILESYSTEMS are reported. */
static void test_filesystem_limit(void **state)
{
        struct fake_fs *fs = calloc(HOSTMETRICS_MAX_FILESYSTEMS + 5, sizeof(*fs));
        char *names = calloc(HOSTMETRICS_MAX_FILESYSTEMS + 5, 32);
        char *mounts = calloc(HOSTMETRICS_MAX_FILESYSTEMS + 5, 64);
        struct hostmetrics h = { 0 };
        size_t off = 0;

        for (size_t i = 0; i < HOSTMETRICS_MAX_FILESYSTEMS + 5; i++) {
                char *nm = names + 32 * i;

                snprintf(nm, 32, "/vol%zu", i);
                fs[i] = (struct fake_fs){ nm, 100, 50, 50, 0 };
                off += (size_t)sprintf(mounts + off, "/dev/x%zu %s ext4 rw 0 0\n", i, nm);
        }
        fake_table = fs;
        fake_n = HOSTMETRICS_MAX_FILESYSTEMS + 5;
        put("/proc/self/mounts", mounts);
        assert_int_equal(hostmetrics_collect(root, fake_statvfs, &h), 0);
        assert_int_equal(count(&h, "disk_used_percent"), HOSTMETRICS_MAX_FILESYSTEMS);
        assert_non_null(find(&h, "disk_used_percent", "/vol0"));
        assert_null(find(&h, "disk_used_percent", "/vol100"));
        hostmetrics_free(&h);
        free(fs);
        free(names);
        free(mounts);
}

/* mem_used_percent as the CloudWatch agent computes it; swap_used_percent from SwapFree. */
static void test_memory_and_swap(void **state)
{
        struct hostmetrics h = { 0 };
        const struct hostmetric *m;

        put("/proc/meminfo", meminfo);
        assert_int_equal(hostmetrics_collect(root, fake_statvfs, &h), 0);
        m = find(&h, "mem_used_percent", NULL);
        assert_non_null(m);
        /* 8000000 - 1000000 - 500000 - 2000000 - 500000 = 4000000 */
        assert_true(fabs(m->value - 50.0) < 1e-9);
        assert_null(m->path);
        m = find(&h, "swap_used_percent", NULL);
        assert_non_null(m);
        assert_true(fabs(m->value - 25.0) < 1e-9);
        hostmetrics_free(&h);
}

/* No swap configured: 0%, never NaN. */
static void test_no_swap_is_zero_not_nan(void **state)
{
        struct hostmetrics h = { 0 };
        const struct hostmetric *m;

        put("/proc/meminfo", "MemTotal: 1000 kB\nMemFree: 250 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n");
        assert_int_equal(hostmetrics_collect(root, fake_statvfs, &h), 0);
        m = find(&h, "swap_used_percent", NULL);
        assert_non_null(m);
        assert_true(m->value == 0);
        assert_true(fabs(find(&h, "mem_used_percent", NULL)->value - 75.0) < 1e-9);
        hostmetrics_free(&h);
}

/* A meminfo without MemTotal yields no mem_used_percent (rather than a made-up value). */
static void test_meminfo_without_total(void **state)
{
        struct hostmetrics h = { 0 };

        put("/proc/meminfo", "MemFree: 250 kB\n");
        put("/proc/loadavg", "0.50 0.25 0.125 1/100 4242\n");
        assert_int_equal(hostmetrics_collect(root, fake_statvfs, &h), 0);
        assert_null(find(&h, "mem_used_percent", NULL));
        assert_non_null(find(&h, "system_load1", NULL));
        hostmetrics_free(&h);
}

static void test_load_averages(void **state)
{
        struct hostmetrics h = { 0 };

        put("/proc/loadavg", "0.50 0.25 0.125 1/100 4242\n");
        assert_int_equal(hostmetrics_collect(root, fake_statvfs, &h), 0);
        assert_true(find(&h, "system_load1", NULL)->value == 0.5);
        assert_true(find(&h, "system_load5", NULL)->value == 0.25);
        assert_true(find(&h, "system_load15", NULL)->value == 0.125);
        assert_string_equal(find(&h, "system_load1", NULL)->unit, "None");
        hostmetrics_free(&h);
}

/* Garbage in loadavg: no load metrics, the rest still collected. */
static void test_bad_loadavg(void **state)
{
        struct hostmetrics h = { 0 };

        put("/proc/loadavg", "garbage\n");
        put("/proc/meminfo", meminfo);
        assert_int_equal(hostmetrics_collect(root, fake_statvfs, &h), 0);
        assert_int_equal(count(&h, "system_load1"), 0);
        assert_non_null(find(&h, "mem_used_percent", NULL));
        hostmetrics_free(&h);
}

/* A faked /proc with nothing readable in it is not an error: an empty list. */
static void test_empty_proc(void **state)
{
        struct hostmetrics h = { 0 };

        put("/proc/version", "fake\n");
        assert_int_equal(hostmetrics_collect(root, fake_statvfs, &h), 0);
        assert_int_equal(h.n, 0);
        hostmetrics_free(&h);
}

/* A root prefix without /proc (a sandbox) measures this machine. */
static void test_root_without_proc_reads_the_machine(void **state)
{
        struct hostmetrics h = { 0 };

        assert_int_equal(hostmetrics_collect(root, NULL, &h), 0);
        assert_non_null(find(&h, "mem_used_percent", NULL));
        assert_non_null(find(&h, "system_load1", NULL));
        hostmetrics_free(&h);
}

/* The real machine: the values are percentages. */
static void test_real_proc(void **state)
{
        struct hostmetrics h = { 0 };

        assert_int_equal(hostmetrics_collect("", NULL, &h), 0);
        for (size_t i = 0; i < h.n; i++) {
                assert_true(isfinite(h.items[i].value));
                if (strcmp(h.items[i].unit, "Percent") == 0)
                        assert_true(h.items[i].value >= 0 && h.items[i].value <= 100);
        }
        assert_non_null(find(&h, "mem_used_percent", NULL));
        hostmetrics_free(&h);
}

static void test_fstype_classification(void **state)
{
        assert_true(hostmetrics_fstype_is_real("ext4"));
        assert_true(hostmetrics_fstype_is_real("xfs"));
        assert_true(hostmetrics_fstype_is_real("btrfs"));
        assert_false(hostmetrics_fstype_is_real("tmpfs"));
        assert_false(hostmetrics_fstype_is_real("proc"));
        assert_false(hostmetrics_fstype_is_real("nfs4"));
        assert_false(hostmetrics_fstype_is_real("squashfs"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_disk_used_percent_per_real_filesystem),
                T(test_overmounted_point_reported_once),
                T(test_unmeasurable_mount_skipped),
                T(test_proc_mounts_fallback),
                T(test_filesystem_limit),
                T(test_memory_and_swap),
                T(test_no_swap_is_zero_not_nan),
                T(test_meminfo_without_total),
                T(test_load_averages),
                T(test_bad_loadavg),
                T(test_empty_proc),
                T(test_root_without_proc_reads_the_machine),
                T(test_real_proc),
                T(test_fstype_classification),
        };
        return cmocka_run_group_tests_name("hostmetrics", tests, NULL, NULL);
}
