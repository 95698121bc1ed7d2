/* ebs_snapshots settings: the shipped defaults and schema, and the attributes (already
 * merged and schema-checked by the agent) turned into a typed struct with the checks a JSON
 * Schema cannot express (one policy at a time, reserved tag keys, description escapes). */
#ifndef EBS_SETTINGS_H
#define EBS_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "ebs_retention.h"
#include "opsagent/aws.h"

#define EBS_TAGS_MAX 50             /* AWS: tags per snapshot */
#define EBS_OWN_TAGS 6              /* Name, opsagent:managed, :instance-id, :device, :hostname, :run-id */
#define EBS_USER_TAGS_MAX (EBS_TAGS_MAX - EBS_OWN_TAGS)
#define EBS_TAG_KEY_MAX 128         /* AWS: bytes of a tag key */
#define EBS_TAG_VALUE_MAX 256       /* AWS: bytes of a tag value */
#define EBS_DESCRIPTION_MAX 255     /* AWS: bytes of a snapshot description */
#define EBS_DESCRIPTION_FMT_MAX 1024 /* the description attribute, before expansion */
#define EBS_DESCRIPTION_BUF (EBS_DESCRIPTION_MAX + 2) /* for ebs_format_description() */
#define EBS_DEVICES_MAX 128         /* entries of devices / exclude_devices / freeze.mountpoints */
#define EBS_FREEZE_TIMEOUT_MAX 300  /* freeze.timeout_seconds */
#define EBS_ERR_MAX 512

extern const char ebs_defaults_json[];
extern const char ebs_schema_json[];

enum ebs_mode {
        EBS_MODE_PER_VOLUME = 0,
        EBS_MODE_MULTI_VOLUME,
};

/* Strings are borrowed from the attribute tree given to ebs_config_parse(); the arrays are
 * owned by the config and freed by ebs_config_free(). */
struct ebs_config {
        struct retention_policy policy;
        const char **devices;           /* empty: every attached volume */
        size_t n_devices;
        const char **exclude_devices;
        size_t n_exclude_devices;
        bool include_root;
        struct opsagent_tag *tags;      /* the user's tags */
        size_t n_tags;
        const char *description;        /* with %h %d %v %i %% */
        enum ebs_mode mode;
        bool skip_pending;
        bool freeze;
        const char **freeze_mountpoints; /* empty: found from the volumes */
        size_t n_freeze_mountpoints;
        unsigned freeze_timeout_seconds;
};

/* Reads ROOT (the object at the recipe's attr_root). On failure ERR names the key and what to
 * do, and -EINVAL (or -ENOMEM) is returned; *ret is written only on success. */
int ebs_config_parse(json_object *root, struct ebs_config *ret, char *err, size_t errlen);
void ebs_config_free(struct ebs_config *c);

/* Expands FMT: %h hostname, %d device, %v volume id, %i instance id, %% a percent sign. The
 * result is cut to EBS_DESCRIPTION_MAX bytes on a UTF-8 boundary. -EINVAL for an unknown escape
 * (or a lone % at the end), -ENOBUFS when SIZE is below EBS_DESCRIPTION_MAX + 2. */
int ebs_format_description(const char *fmt, const char *hostname, const char *device,
                           const char *volume_id, const char *instance_id, char *buf, size_t size);

#endif
