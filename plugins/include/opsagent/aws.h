/* opsagent recipe plugin SDK: signed AWS calls through the context (ctx->aws).
 *
 * The agent signs (SigV4), retries (the SDKs' standard mode), paginates and parses; a recipe
 * only sees typed results. Credentials: the recipe's own `aws_key`/`aws_secret` attributes,
 * then the standard environment variables, then the instance role.
 *
 * Errors: 0 or a negative errno. When a call fails because of AWS, last_error() tells the
 * operation, AWS's code and message and the request id. Mapping: -EACCES (auth, permissions,
 * expired credentials), -ENOENT (*.NotFound), -EBUSY (InvalidSnapshot.InUse), -EAGAIN
 * (throttled after every retry), -EIO (5xx after every retry, malformed answer), -EINVAL
 * (other client errors), -ETIMEDOUT / -ECONNREFUSED (network), -ENOMEM.
 *
 * Everything returned is owned by the caller and freed with the matching *_free op.
 */
#ifndef OPSAGENT_AWS_H
#define OPSAGENT_AWS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct opsagent_ctx;

/* The tag the agent puts on every snapshot it creates, valued with the run's id (ctx->run_id). */
#define OPSAGENT_AWS_TAG_RUN_ID "opsagent:run-id"

struct opsagent_aws_error {
        int http_status;        /* 0 when there was no HTTP answer */
        char operation[64];     /* "CreateSnapshot" */
        char code[128];         /* AWS's code: "InvalidSnapshot.InUse", "RequestLimitExceeded" */
        char message[512];      /* AWS's message, or what went wrong locally */
        char request_id[128];   /* "" when unknown */
};

/* True when call result R with last error E failed before reaching AWS because of how the node
 * is configured: no region (code "Configuration"), no credentials anywhere (code
 * "NoCredentials", -ENOKEY), or half of a key pair ("NoCredentials", -EINVAL); E's message says
 * which setting. A recipe stops there with OPSAGENT_RUN_CONFIG_ERROR (<opsagent/recipe.h>):
 * the run exits 2, as for an attribute the schema refused. */
static inline bool opsagent_aws_error_is_config(int r, const struct opsagent_aws_error *e)
{
        if (r >= 0 || !e)
                return false;
        return strcmp(e->code, "Configuration") == 0 ||
               (strcmp(e->code, "NoCredentials") == 0 && (r == -ENOKEY || r == -EINVAL));
}

struct opsagent_tag {
        const char *key;
        const char *value;
};

struct opsagent_ec2_tag {
        char *key;
        char *value;
};

/* An EBS volume attached to an instance (from its block-device mapping). */
struct opsagent_ec2_attachment {
        char *device;               /* "/dev/xvda", "/dev/sdf" */
        char *volume_id;            /* "vol-..." */
        char *status;               /* "attached", ... */
        bool is_root;               /* device is the instance's RootDeviceName */
        bool delete_on_termination;
};

struct opsagent_ec2_instance {
        char *instance_id;
        char *root_device_name;
        char *availability_zone;
        char *instance_type;
        struct opsagent_ec2_attachment *attachments; /* EBS volumes only */
        size_t n_attachments;
        struct opsagent_ec2_tag *tags;
        size_t n_tags;
};

struct opsagent_ec2_snapshot {
        char *snapshot_id;
        char *volume_id;
        char *state;                /* "pending", "completed", "error", "recoverable", ... */
        char *progress;             /* "100%" (may be NULL) */
        char *description;          /* may be NULL */
        int64_t start_time;         /* Unix seconds */
        int64_t volume_size_gib;
        struct opsagent_ec2_tag *tags;
        size_t n_tags;
};

struct opsagent_ec2_volume {
        char *volume_id;
        char *state;                /* "in-use", "available", ... */
        char *volume_type;
        int64_t size_gib;
        char *availability_zone;
};

/* One filter of a Describe* call: NAME ("tag:opsagent:managed", "volume-id", "status") and its
 * values, NULL-terminated. A filter array ends with an entry whose name is NULL. */
struct opsagent_ec2_filter {
        const char *name;
        const char *const *values;
};

/* One CreateSnapshot of a batch. */
struct opsagent_ec2_create_snapshot {
        const char *volume_id;             /* in */
        const char *description;           /* in, may be NULL */
        const struct opsagent_tag *tags;   /* in: TagSpecification (snapshot) */
        size_t n_tags;                     /* in */
        int result;                        /* out: 0 or negative errno */
        char *snapshot_id;                 /* out on success; freed by ec2_create_snapshot_clear */
        int64_t start_time;                /* out on success */
        struct opsagent_aws_error error;   /* out when result < 0 */
};

struct opsagent_aws_ops {
        uint32_t size; /* sizeof(struct opsagent_aws_ops) as the agent was built */

        /* The last failure of an AWS call made through CTX (zeroed when none). Never NULL. */
        const struct opsagent_aws_error *(*last_error)(struct opsagent_ctx *ctx);

        /* DescribeInstances for INSTANCE_ID (NULL: this instance). -ENOENT when not found. */
        int (*ec2_describe_instance)(struct opsagent_ctx *ctx, const char *instance_id,
                                     struct opsagent_ec2_instance **ret);
        void (*ec2_instance_free)(struct opsagent_ec2_instance *instance);

        /* DescribeVolumes for VOLUME_IDS (NULL-terminated), every page. */
        int (*ec2_describe_volumes)(struct opsagent_ctx *ctx, const char *const *volume_ids,
                                    struct opsagent_ec2_volume **ret, size_t *ret_n);
        void (*ec2_volumes_free)(struct opsagent_ec2_volume *volumes, size_t n);

        /* DescribeSnapshots with OwnerId=self and FILTERS (may be NULL), following NextToken
         * over every page (MaxResults per page chosen by the agent). */
        int (*ec2_describe_snapshots)(struct opsagent_ctx *ctx, const struct opsagent_ec2_filter *filters,
                                      struct opsagent_ec2_snapshot **ret, size_t *ret_n);
        void (*ec2_snapshots_free)(struct opsagent_ec2_snapshot *snapshots, size_t n);

        /* CreateSnapshot for each of the N requests, at most PARALLEL in flight (0: agent's
         * default); each request gets its own result. 0 when all succeeded, otherwise the first
         * failure's error (the others may have succeeded: look at each).
         * Every snapshot is also tagged OPSAGENT_AWS_TAG_RUN_ID=ctx->run_id at creation (one of
         * its 50 tags). CreateSnapshot has no client token: when an attempt's outcome is unknown
         * (a 5xx, a timeout or a reset after the request was sent, an unreadable answer), the
         * agent looks for a snapshot of that volume carrying this run's id and returns it if there
         * is one; it sends the request again only when there is none. So make one request per
         * volume per run. */
        int (*ec2_create_snapshots_each)(struct opsagent_ctx *ctx, struct opsagent_ec2_create_snapshot *reqs,
                                         size_t n, unsigned parallel);
        void (*ec2_create_snapshot_clear)(struct opsagent_ec2_create_snapshot *req);

        /* CreateSnapshots: one crash-consistent set for INSTANCE_ID, without the boot volume when
         * EXCLUDE_BOOT, without EXCLUDE_VOLUME_IDS (NULL-terminated, may be NULL), each snapshot
         * tagged with TAGS (the same tags on every snapshot of the set: the API has no per-volume
         * tags) and OPSAGENT_AWS_TAG_RUN_ID=ctx->run_id. *ret: the snapshots created (id, volume
         * id, state, start time). An unknown outcome is checked as for ec2_create_snapshots_each:
         * one set per run. */
        int (*ec2_create_snapshots_multi)(struct opsagent_ctx *ctx, const char *instance_id, bool exclude_boot,
                                          const char *const *exclude_volume_ids, const char *description,
                                          const struct opsagent_tag *tags, size_t n_tags,
                                          struct opsagent_ec2_snapshot **ret, size_t *ret_n);

        /* DeleteSnapshot. -EBUSY for InvalidSnapshot.InUse (used by an AMI), -ENOENT for
         * InvalidSnapshot.NotFound. An attempt whose outcome is unknown is repeated, and
         * InvalidSnapshot.NotFound after it is success (0). */
        int (*ec2_delete_snapshot)(struct opsagent_ctx *ctx, const char *snapshot_id);

        /* CreateTags: TAGS on every resource of RESOURCE_IDS (NULL-terminated). */
        int (*ec2_create_tags)(struct opsagent_ctx *ctx, const char *const *resource_ids,
                               const struct opsagent_tag *tags, size_t n_tags);

        /* Added after the first release (check SIZE before calling):
         * DescribeSnapshots as ec2_describe_snapshots, streamed: EACH is called for every
         * snapshot, page after page, with SNAPSHOT and all it points to borrowed for the call
         * only (copy what you keep, free nothing). Only one page is held at a time, so the
         * agent's memory does not grow with the number of snapshots. A negative return of
         * EACH stops the listing and is returned. */
        int (*ec2_describe_snapshots_each)(struct opsagent_ctx *ctx, const struct opsagent_ec2_filter *filters,
                                           int (*each)(const struct opsagent_ec2_snapshot *snapshot,
                                                       void *userdata),
                                           void *userdata);
};

#endif
