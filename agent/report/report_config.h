/* Reporting's configuration: the `cloudwatch` attribute section (its shipped defaults and
 * schema, for the core's attribute table) read with what reporting needs beside it. */
#ifndef OPSAGENT_REPORT_CONFIG_H
#define OPSAGENT_REPORT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "spool.h"
#include "util/error.h"

#define REPORT_DEFAULT_NAMESPACE "OpsAgent"
#define REPORT_DEFAULT_HEARTBEAT_SECONDS 300

/* The `cloudwatch` attribute section and what reporting needs beside it. */
struct report_config {
        bool enabled;                  /* cloudwatch.enabled */
        char *namespace_;              /* cloudwatch.namespace */
        int64_t heartbeat_seconds;     /* cloudwatch.heartbeat_seconds */
        struct spool_limits spool;     /* cloudwatch.spool_max_bytes, .spool_max_age_seconds */
        char *instance_id;             /* opsagent.instance.id, aws.instance_id, else the host name */
        char *stack_name;              /* opsagent.stack_name, NULL when unset */
        char *spool_dir;               /* STATE_DIR/spool */
        char *state_dir;
};

/* The `cloudwatch` section's defaults and schema as JSON text, for the core's attribute
 * table (core_attr_sections in agent/cmd/coreattrs.c). */
extern const char report_attr_defaults[];
extern const char report_attr_schema[];

/* Reads the config from the merged attributes (missing keys take their defaults). A value of
 * the wrong type or out of range is an error naming the key. Free with report_config_free(). */
int report_config_from_attrs(json_object *attrs, const char *state_dir, struct report_config *ret,
                             struct error *err);
void report_config_free(struct report_config *c);

#endif
