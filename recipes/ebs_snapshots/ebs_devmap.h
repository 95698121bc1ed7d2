/* ebs_snapshots devmap: from an EBS volume to the filesystems mounted on it, on Xen names
 * (xvdf, sdf) and on NVMe (the /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_volXXXX link or
 * the controller's serial number). Everything is read beneath ROOT, a descriptor of the root
 * directory ("/" for the real system; ctx_root_fd()): ROOT/proc/self/mountinfo,
 * ROOT/dev/disk/by-id, ROOT/sys/block, links followed but never out of ROOT
 * (agent/util/pathres.h); tests build a fake tree. */
#ifndef EBS_DEVMAP_H
#define EBS_DEVMAP_H

#include <stddef.h>

#define DEVMAP_MOUNTS_MAX 4096     /* mountinfo lines read */
#define DEVMAP_DISKS_MAX 64        /* kernel devices (disk, partitions, holders) per volume */
#define DEVMAP_HOLDER_DEPTH 4      /* dm/md layers followed above a partition */
#define DEVMAP_LINE_MAX 8192       /* bytes of one mountinfo line */

/* The kernel name ("nvme1n1", "xvdf") of the disk of VOLUME_ID attached as DEVICE, into BUF.
 * -ENOENT when none is found. */
int devmap_disk_of_volume(int root, const char *device, const char *volume_id, char *buf, size_t size);

/* The volume id ("vol-0123...") of NVMe disk KNAME ("nvme1n1") from its serial number, into
 * BUF. -ENOENT when it is not an EBS NVMe disk. */
int devmap_volume_of_nvme(int root, const char *kname, char *buf, size_t size);

/* The mountpoints (as mountinfo shows them, unescaped) of the filesystems on the disk of
 * VOLUME_ID, its partitions and what is stacked on them (LVM, dm-crypt, md). *ret: a
 * NULL-terminated array, caller frees with devmap_strv_free(); empty when nothing is mounted.
 * -ENOENT when the disk is not found, -E2BIG past DEVMAP_MOUNTS_MAX lines, -ENOMEM, -EIO. */
int devmap_mountpoints(int root, const char *device, const char *volume_id, char ***ret);

void devmap_strv_free(char **v);

#endif
