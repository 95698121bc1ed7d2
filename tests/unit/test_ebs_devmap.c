/* ebs_snapshots devmap: volume -> mountpoints on fake /proc, /dev and /sys trees. */
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

#include "ebs_devmap.h"

static void mkdirs(const char *path)
{
        char tmp[PATH_MAX];

        snprintf(tmp, sizeof tmp, "%s", path);
        for (char *p = tmp + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        mkdir(tmp, 0755);
                        *p = '/';
                }
        mkdir(tmp, 0755);
}

static void put(const char *root, const char *rel, const char *text)
{
        char path[PATH_MAX], dir[PATH_MAX];
        FILE *f;

        snprintf(path, sizeof path, "%s%s", root, rel);
        snprintf(dir, sizeof dir, "%s", path);
        *strrchr(dir, '/') = '\0';
        mkdirs(dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void link_to(const char *root, const char *rel, const char *target)
{
        char path[PATH_MAX], dir[PATH_MAX];

        snprintf(path, sizeof path, "%s%s", root, rel);
        snprintf(dir, sizeof dir, "%s", path);
        *strrchr(dir, '/') = '\0';
        mkdirs(dir);
        assert_int_equal(symlink(target, path), 0);
}

static int rootfd = -1; /* the fake tree's root, as the recipe gets it from ctx_root_fd() */

static int setup(void **state)
{
        char *root = strdup("/tmp/test_ebs_devmap.XXXXXX");

        assert_non_null(mkdtemp(root));
        rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(rootfd >= 0);
        *state = root;
        return 0;
}

static int teardown(void **state)
{
        char cmd[PATH_MAX + 16];

        close(rootfd);
        rootfd = -1;
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", (char *)*state);
        if (system(cmd) != 0)
                return -1;
        free(*state);
        return 0;
}

#define MI(id, dev, root_, mp, src) \
        #id " 1 " dev " " root_ " " mp " rw,relatime shared:1 - ext4 " src " rw\n"

static void nitro_tree(const char *root)
{
        put(root, "/sys/block/nvme0n1/dev", "259:0\n");
        put(root, "/sys/block/nvme0n1/device/serial", "vol0root            \n");
        put(root, "/sys/block/nvme1n1/dev", "259:1\n");
        put(root, "/sys/block/nvme1n1/device/serial", "vol0f               \n");
        put(root, "/sys/block/nvme1n1/nvme1n1p1/dev", "259:2\n");
        put(root, "/sys/block/nvme1n1/nvme1n1p2/dev", "259:3\n");
        put(root, "/sys/block/nvme2n1/dev", "259:5\n");
        put(root, "/sys/block/nvme2n1/device/serial", "vol0g\n");
        link_to(root, "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0f", "../../nvme1n1");
        put(root, "/proc/self/mountinfo",
            MI(20, "259:0", "/", "/", "/dev/nvme0n1")
            MI(21, "259:2", "/", "/data", "/dev/nvme1n1p1")
            MI(22, "259:3", "/", "/srv/my\\040dir", "/dev/nvme1n1p2")
            MI(23, "259:2", "/sub", "/bind", "/dev/nvme1n1p1")
            MI(24, "259:5", "/", "/g", "/dev/nvme2n1")
            MI(25, "259:2", "/", "/data", "/dev/nvme1n1p1"));
}

static size_t strv_len(char **v)
{
        size_t n = 0;

        while (v[n])
                n++;
        return n;
}

/* Nitro: the by-id link leads to the disk; partitions are found; the bind mount of a subtree
 * and a repeated mountpoint are not listed twice; escapes are undone. */
static void test_nvme_by_id(void **state)
{
        const char *root = *state;
        char **mp = NULL, disk[64];

        nitro_tree(root);
        assert_int_equal(devmap_disk_of_volume(rootfd, "/dev/sdf", "vol-0f", disk, sizeof disk), 0);
        assert_string_equal(disk, "nvme1n1");
        assert_int_equal(devmap_mountpoints(rootfd, "/dev/sdf", "vol-0f", &mp), 0);
        assert_int_equal(strv_len(mp), 2);
        assert_string_equal(mp[0], "/data");
        assert_string_equal(mp[1], "/srv/my dir");
        devmap_strv_free(mp);
}

/* No by-id link (no udev rules): the controller serial names the volume. */
static void test_nvme_serial(void **state)
{
        const char *root = *state;
        char **mp = NULL, vol[64];

        nitro_tree(root);
        assert_int_equal(devmap_mountpoints(rootfd, "/dev/sdg", "vol-0g", &mp), 0);
        assert_int_equal(strv_len(mp), 1);
        assert_string_equal(mp[0], "/g");
        devmap_strv_free(mp);
        assert_int_equal(devmap_volume_of_nvme(rootfd, "nvme2n1", vol, sizeof vol), 0);
        assert_string_equal(vol, "vol-0g");
        assert_int_equal(devmap_volume_of_nvme(rootfd, "nvme9n1", vol, sizeof vol), -ENOENT);
        assert_int_equal(devmap_volume_of_nvme(rootfd, "../x", vol, sizeof vol), -EINVAL);
        put(root, "/sys/block/nvme3n1/device/serial", "AWS1234 instance store\n");
        assert_int_equal(devmap_volume_of_nvme(rootfd, "nvme3n1", vol, sizeof vol), -ENOENT);
}

/* Xen: /dev/sdf in the mapping is the kernel's xvdf; the root mapping /dev/sda1 is xvda. An LVM
 * volume on a partition is found through holders/, a btrfs-like anonymous device by source. */
static void test_xen_and_holders(void **state)
{
        const char *root = *state;
        char **mp = NULL, disk[64];

        put(root, "/sys/block/xvda/dev", "202:0\n");
        put(root, "/sys/block/xvda/xvda1/dev", "202:1\n");
        put(root, "/sys/block/xvdf/dev", "202:80\n");
        put(root, "/sys/block/xvdg/dev", "202:96\n");
        put(root, "/sys/block/xvdg/xvdg1/dev", "202:97\n");
        put(root, "/sys/block/xvdg/xvdg1/holders/dm-0", "");
        put(root, "/sys/block/dm-0/dev", "253:0\n");
        put(root, "/sys/block/xvdg/xvdg2/dev", "202:98\n");
        put(root, "/proc/self/mountinfo",
            MI(20, "202:1", "/", "/", "/dev/xvda1")
            MI(21, "202:80", "/", "/xen", "/dev/xvdf")
            MI(22, "253:0", "/", "/lvm", "/dev/mapper/vg-data")
            MI(23, "0:45", "/", "/btr", "/dev/xvdg2"));
        assert_int_equal(devmap_disk_of_volume(rootfd, "/dev/sda1", "vol-root", disk, sizeof disk), 0);
        assert_string_equal(disk, "xvda");
        assert_int_equal(devmap_mountpoints(rootfd, "/dev/sdf", "vol-f", &mp), 0);
        assert_int_equal(strv_len(mp), 1);
        assert_string_equal(mp[0], "/xen");
        devmap_strv_free(mp);
        assert_int_equal(devmap_mountpoints(rootfd, "sdg", "vol-g", &mp), 0);
        assert_int_equal(strv_len(mp), 2);
        assert_string_equal(mp[0], "/lvm");
        assert_string_equal(mp[1], "/btr");
        devmap_strv_free(mp);
}

static void test_not_found_and_unmounted(void **state)
{
        const char *root = *state;
        char **mp = (char **)state;

        nitro_tree(root);
        assert_int_equal(devmap_mountpoints(rootfd, "/dev/sdz", "vol-0zz", &mp), -ENOENT);
        assert_ptr_equal(mp, (char **)state);
        put(root, "/sys/block/nvme4n1/dev", "259:9\n");
        put(root, "/sys/block/nvme4n1/device/serial", "vol0e\n");
        assert_int_equal(devmap_mountpoints(rootfd, "/dev/sde", "vol-0e", &mp), 0);
        assert_null(mp[0]);
        devmap_strv_free(mp);
}

/* More than DEVMAP_MOUNTS_MAX mountinfo lines is refused; exactly that many is fine. */
static void test_mountinfo_limit(void **state)
{
        const char *root = *state;
        char **mp = NULL, path[PATH_MAX];
        FILE *f;

        nitro_tree(root);
        snprintf(path, sizeof path, "%s/proc/self/mountinfo", root);
        f = fopen(path, "w");
        assert_non_null(f);
        for (int i = 0; i < DEVMAP_MOUNTS_MAX; i++)
                fprintf(f, "%d 1 0:%d / /m%d rw - tmpfs tmpfs rw\n", i + 100, i + 100, i);
        fclose(f);
        assert_int_equal(devmap_mountpoints(rootfd, "/dev/sdf", "vol-0f", &mp), 0);
        devmap_strv_free(mp);
        f = fopen(path, "a");
        fprintf(f, MI(99, "259:2", "/", "/late", "/dev/nvme1n1p1"));
        fclose(f);
        assert_int_equal(devmap_mountpoints(rootfd, "/dev/sdf", "vol-0f", &mp), -E2BIG);
}

/* Links are followed as sysfs needs, but within the root: an absolute target names a path
 * under it, and one that climbs with ".." stops at it. */
static void test_links_stay_in_the_root(void **state)
{
        const char *root = *state;
        char vol[64];

        put(root, "/fake/devices/nvme5n1/device/serial", "vol05\n");
        link_to(root, "/sys/block/nvme5n1", "/fake/devices/nvme5n1");
        link_to(root, "/sys/block/nvme6n1", "../../../../../../../../fake/devices/nvme5n1");
        link_to(root, "/sys/block/nvme7n1", "/etc");  /* the host's /etc has no device/serial under ROOT */
        assert_int_equal(devmap_volume_of_nvme(rootfd, "nvme5n1", vol, sizeof vol), 0);
        assert_string_equal(vol, "vol-05");
        assert_int_equal(devmap_volume_of_nvme(rootfd, "nvme6n1", vol, sizeof vol), 0);
        assert_int_equal(devmap_volume_of_nvme(rootfd, "nvme7n1", vol, sizeof vol), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_nvme_by_id, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nvme_serial, setup, teardown),
                cmocka_unit_test_setup_teardown(test_xen_and_holders, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_found_and_unmounted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mountinfo_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_links_stay_in_the_root, setup, teardown),
        };
        return cmocka_run_group_tests_name("ebs_devmap", tests, NULL, NULL);
}
