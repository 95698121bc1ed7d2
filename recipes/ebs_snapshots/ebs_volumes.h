/* ebs_snapshots volumes: which attached volumes tonight's run snapshots (devices,
 * exclude_devices, include_root), and the tags each snapshot carries. Pure functions. */
#ifndef EBS_VOLUMES_H
#define EBS_VOLUMES_H

#include <stdbool.h>
#include <stddef.h>

#include "ebs_settings.h"
#include "opsagent/aws.h"

#define EBS_REASON_MAX 256
#define EBS_TAG_IDS_MAX 1000        /* snapshots per CreateTags (AWS's limit): more go in batches */
#define EBS_NAME_MAX EBS_TAG_VALUE_MAX

#define EBS_TAG_INSTANCE "opsagent:instance-id"
#define EBS_TAG_DEVICE "opsagent:device"
#define EBS_TAG_HOSTNAME "opsagent:hostname"
#define EBS_TAG_RUN_ID OPSAGENT_AWS_TAG_RUN_ID   /* "opsagent:run-id", valued with ctx->run_id */

/* One attached volume and what tonight's run does with it. Strings are borrowed from the
 * instance given to ebs_select_volumes(). */
struct ebs_target {
        const char *device;
        const char *volume_id;
        bool is_root;
        bool selected;
        char reason[EBS_REASON_MAX]; /* why it is skipped ("" when selected) */
};

/* An entry of `devices` that matched no attached volume. Borrowed from the config. */
struct ebs_unmatched {
        const char *entry;
};

/* True when device names A and B name the same attachment: "/dev/" is optional, "xvdX" and
 * "sdX" are the same, and a trailing partition number is ignored ("/dev/sda1" is "xvda"). */
bool ebs_device_equal(const char *a, const char *b);

/* Applies C's devices/exclude_devices/include_root to INST's attachments. NVME_VOLUMES maps
 * entries naming NVMe disks ("nvme1n1") to volume ids: a NULL-terminated list of pairs
 * {name, volume id, name, volume id, ..., NULL} (may be NULL). *ret: one target per attachment
 * (caller frees); *ret_unmatched: the `devices` entries that matched nothing (caller frees,
 * NULL when none). -ENOMEM. */
int ebs_select_volumes(const struct ebs_config *c, const struct opsagent_ec2_instance *inst,
                       const char *const *nvme_volumes, struct ebs_target **ret, size_t *ret_n,
                       struct ebs_unmatched **ret_unmatched, size_t *ret_n_unmatched);

/* The tags of one snapshot: Name, opsagent:managed=true, opsagent:instance-id, opsagent:device
 * (when DEVICE is not NULL), opsagent:hostname, opsagent:run-id (when RUN_ID is not NULL: by
 * it the agent finds what a create whose answer was lost made, and the next run the snapshots
 * of a run that was killed), then the user's (a user "Name" replaces ours).
 * Strings point into C, the arguments and SET itself: keep them alive while SET is used. */
struct ebs_tagset {
        struct opsagent_tag tags[EBS_TAGS_MAX];
        size_t n;
        char name[EBS_NAME_MAX + 1];
};
void ebs_build_tags(const struct ebs_config *c, const char *instance_id, const char *hostname,
                    const char *device, const char *run_id, struct ebs_tagset *set);

#endif
