#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report_config.h"
#include "util/fileio.h"
#include "util/jsonutil.h"

const char report_attr_defaults[] =
        "{"
        " \"enabled\": true,"
        " \"namespace\": \"" REPORT_DEFAULT_NAMESPACE "\","
        " \"heartbeat_seconds\": 300,"
        " \"spool_max_bytes\": 8388608,"
        " \"spool_max_age_seconds\": 1206000"
        "}";

const char report_attr_schema[] =
        "{ \"type\": \"object\", \"properties\": {"
        "  \"enabled\": { \"type\": \"boolean\", \"description\": \"send metrics to CloudWatch at all\" },"
        "  \"namespace\": { \"type\": \"string\", \"minLength\": 1 },"
        "  \"heartbeat_seconds\": { \"type\": \"integer\", \"minimum\": 60, \"maximum\": 86400 },"
        "  \"spool_max_bytes\": { \"type\": \"integer\", \"minimum\": 4096, \"maximum\": 134217728 },"
        "  \"spool_max_age_seconds\": { \"type\": \"integer\", \"minimum\": 60, \"maximum\": 1209600 }"
        "} }";

static int attr_bool(json_object *attrs, const char *path, bool def, bool *ret, struct error *err)
{
        json_object *v = json_get_path(attrs, path);

        if (!v || json_object_is_type(v, json_type_null)) {
                *ret = def;
                return 0;
        }
        if (!json_object_is_type(v, json_type_boolean))
                return error_set(err, -EINVAL, "attribute %s: must be true or false, not %s", path,
                                 json_object_to_json_string(v));
        *ret = json_object_get_boolean(v);
        return 0;
}

static int attr_int(json_object *attrs, const char *path, int64_t def, int64_t min, int64_t max,
                    int64_t *ret, struct error *err)
{
        json_object *v = json_get_path(attrs, path);
        int64_t x;

        if (!v || json_object_is_type(v, json_type_null)) {
                *ret = def;
                return 0;
        }
        if (!json_object_is_type(v, json_type_int))
                return error_set(err, -EINVAL, "attribute %s: must be an integer, not %s", path,
                                 json_object_to_json_string(v));
        x = json_object_get_int64(v);
        if (x < min || x > max)
                return error_set(err, -ERANGE, "attribute %s: %" PRId64 " is out of range (%" PRId64
                                 " to %" PRId64 ")", path, x, min, max);
        *ret = x;
        return 0;
}

/* A copy of the string at PATH (NULL when unset or empty), or DEF's copy. */
static int attr_str(json_object *attrs, const char *path, const char *def, char **ret, struct error *err)
{
        json_object *v = json_get_path(attrs, path);
        const char *s = def;

        if (v && !json_object_is_type(v, json_type_null)) {
                if (!json_object_is_type(v, json_type_string))
                        return error_set(err, -EINVAL, "attribute %s: must be a string, not %s", path,
                                         json_object_to_json_string(v));
                s = json_object_get_string(v);
        }
        if (!s || !*s) {
                *ret = NULL;
                return 0;
        }
        if (strlen(s) > METRIC_NAME_MAX)
                return error_set(err, -EINVAL, "attribute %s: longer than %d characters (CloudWatch's limit)",
                                 path, METRIC_NAME_MAX);
        *ret = strdup(s);
        return *ret ? 0 : error_set(err, -ENOMEM, "out of memory");
}

void report_config_free(struct report_config *c)
{
        if (!c)
                return;
        free(c->namespace_);
        free(c->instance_id);
        free(c->stack_name);
        free(c->spool_dir);
        free(c->state_dir);
        memset(c, 0, sizeof(*c));
}

int report_config_from_attrs(json_object *attrs, const char *state_dir, struct report_config *ret,
                             struct error *err)
{
        struct report_config c = { 0 };
        int64_t max_bytes, max_age;
        int r;

        r = attr_bool(attrs, "cloudwatch.enabled", true, &c.enabled, err);
        if (r >= 0)
                r = attr_str(attrs, "cloudwatch.namespace", REPORT_DEFAULT_NAMESPACE, &c.namespace_, err);
        if (r >= 0 && !c.namespace_)
                r = error_set(err, -EINVAL, "attribute cloudwatch.namespace: must not be empty");
        if (r >= 0 && strncmp(c.namespace_, "AWS/", 4) == 0)
                r = error_set(err, -EINVAL, "attribute cloudwatch.namespace: \"%s\": namespaces starting "
                              "with AWS/ are reserved for AWS services; choose another", c.namespace_);
        if (r >= 0)
                r = attr_int(attrs, "cloudwatch.heartbeat_seconds", REPORT_DEFAULT_HEARTBEAT_SECONDS, 60,
                             86400, &c.heartbeat_seconds, err);
        if (r >= 0)
                r = attr_int(attrs, "cloudwatch.spool_max_bytes", (int64_t)SPOOL_DEFAULT_MAX_BYTES,
                             (int64_t)SPOOL_MIN_MAX_BYTES, 128LL << 20, &max_bytes, err);
        if (r >= 0)
                r = attr_int(attrs, "cloudwatch.spool_max_age_seconds", SPOOL_DEFAULT_MAX_AGE_MS / 1000, 60,
                             METRIC_MAX_AGE_MS / 1000, &max_age, err);
        if (r >= 0)
                r = attr_str(attrs, "opsagent.stack_name", NULL, &c.stack_name, err);
        if (r >= 0)
                r = attr_str(attrs, "opsagent.instance.id", NULL, &c.instance_id, err);
        if (r >= 0 && !c.instance_id)
                r = attr_str(attrs, "aws.instance_id", NULL, &c.instance_id, err);
        if (r < 0)
                goto fail;
        if (!c.instance_id) {
                char host[256] = "";

                /* Not on EC2 (or IMDS disabled): the host name keeps nodes apart. */
                if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
                        snprintf(host, sizeof(host), "unknown");
                c.instance_id = strdup(host);
                if (!c.instance_id) {
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto fail;
                }
        }
        c.spool.max_bytes = (uint64_t)max_bytes;
        c.spool.max_age_ms = max_age * 1000;
        c.state_dir = strdup(state_dir);
        c.spool_dir = path_join(state_dir, "spool");
        if (!c.state_dir || !c.spool_dir) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        *ret = c;
        return 0;
fail:
        report_config_free(&c);
        return r;
}
