/* Fuzz target: how ebs_snapshots finds the filesystems of a volume
 * (recipes/ebs_snapshots/ebs_devmap.c): /proc/self/mountinfo and the /sys/block and
 * /dev/disk/by-id tree, built in a scratch root. The input is up to five parts cut at
 * FUZZ_SEP:
 *   0. /proc/self/mountinfo;
 *   1. the NVMe serial number of nvme1n1 (/sys/block/nvme1n1/device/serial);
 *   2. names stacked above the partition nvme1n1p1, one a line, each holding the one before
 *      (dm-0, then md0 ...): /sys/block/nvme1n1/nvme1n1p1/holders/NAME and /sys/block/NAME;
 *   3. where the udev link nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0 points;
 *   4. "VOLUME_ID DEVICE", the volume asked for (default "vol-0123456789abcdef0 /dev/sdf").
 * The disks also have their "dev" numbers (259:0 the disk, 259:1 the partition, 253:N the
 * holders) and there is a Xen disk xvdf (202:80). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "ebs_devmap.h"

#define HOLDERS_MAX 8

static void build_tree(char **part)
{
        char rel[600], below[300] = "/sys/block/nvme1n1/nvme1n1p1";
        size_t i = 0;

        fuzz_write_str("/sys/block/nvme1n1/dev", "259:0\n");
        fuzz_write_str("/sys/block/nvme1n1/device/serial", part[1]);
        fuzz_write_str("/sys/block/nvme1n1/nvme1n1p1/dev", "259:1\n");
        fuzz_write_str("/sys/block/xvdf/dev", "202:80\n");
        fuzz_mkdirs("/dev/disk/by-id");
        for (char *save = NULL, *h = strtok_r(part[2], "\n", &save); h && i < HOLDERS_MAX;
             h = strtok_r(NULL, "\n", &save)) {
                char num[32];

                if (!fuzz_valid_name(h) || strlen(h) > 64)
                        continue;
                snprintf(rel, sizeof(rel), "%s/holders/%s", below, h);
                fuzz_mkdirs(rel);
                snprintf(rel, sizeof(rel), "/sys/block/%s/dev", h);
                snprintf(num, sizeof(num), "253:%zu\n", i++);
                fuzz_write_str(rel, num);
                snprintf(below, sizeof(below), "/sys/block/%s", h);
        }
        if (part[3][0]) {
                part[3][strcspn(part[3], "\n")] = '\0';
                if (part[3][0] &&
                    symlink(part[3], fuzz_path("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0")) < 0)
                        abort();
        }
        fuzz_write("/proc/self/mountinfo", part[0], strlen(part[0]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *part[5], vol[128], disk[300], **mps = NULL;
        const char *volume = "vol-0123456789abcdef0", *device = "/dev/sdf";
        int root;

        fuzz_split(data, size, part, 5);
        fuzz_scratch_reset();
        build_tree(part);
        if (part[4][0]) {
                char *save = NULL;

                part[4][strcspn(part[4], "\n")] = '\0';
                volume = strtok_r(part[4], " ", &save);
                device = strtok_r(NULL, " ", &save);
        }
        root = open(fuzz_scratch(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                abort();
        if (devmap_mountpoints(root, device, volume, &mps) == 0)
                devmap_strv_free(mps);
        devmap_volume_of_nvme(root, "nvme1n1", vol, sizeof(vol));
        devmap_disk_of_volume(root, device, volume, disk, sizeof(disk));
        close(root);
        fuzz_parts_free(part, 5);
        return 0;
}
