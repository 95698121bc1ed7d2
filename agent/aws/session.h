/* One AWS session per recipe run: configuration (region, endpoints, retries) from the `aws`
 * attributes and the standard environment variables, the credentials chain, one HTTP client
 * (connections reused between calls), the retry quota and the clock-skew correction. */
#ifndef OPSAGENT_AWS_SESSION_H
#define OPSAGENT_AWS_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "credentials.h"
#include "retry.h"
#include "opsagent/aws.h"
#include "util/error.h"

#define AWS_DEFAULT_PARALLEL 4
#define AWS_MAX_PARALLEL 16
#define AWS_DEFAULT_SNAPSHOTS_PAGE 1000 /* MaxResults per DescribeSnapshots page (5..1000): as many as AWS allows */
#define AWS_DEFAULT_TIMEOUT_SECONDS 30  /* per attempt */
#define AWS_STR_(x) #x
#define AWS_STR(x) AWS_STR_(x)

struct http_client;
struct imds;

/* The `aws` attribute section: shipped defaults and schema (for the core's attribute table). */
#define AWS_ATTR_DEFAULTS_JSON                                                                      \
        "{\"imds\": {\"allow_v1\": false}, \"region\": null, \"instance_id\": null, "                \
        "\"max_attempts\": " AWS_STR(RETRY_DEFAULT_MAX_ATTEMPTS) ", "                                    \
        "\"timeout_seconds\": " AWS_STR(AWS_DEFAULT_TIMEOUT_SECONDS) ", "                                 \
        "\"parallel_requests\": " AWS_STR(AWS_DEFAULT_PARALLEL) ", "                                      \
        "\"snapshots_page_size\": " AWS_STR(AWS_DEFAULT_SNAPSHOTS_PAGE) "}"
#define AWS_ATTR_SCHEMA_JSON                                                                        \
        "{\"type\": \"object\", \"properties\": {"                                                    \
        "\"imds\": {\"type\": \"object\", \"properties\": {\"allow_v1\": {\"type\": \"boolean\"}}},"    \
        "\"region\": {\"type\": [\"string\", \"null\"], \"minLength\": 1},"  \
        "\"instance_id\": {\"type\": [\"string\", \"null\"], \"minLength\": 1},"     \
        "\"max_attempts\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 10},"                 \
        "\"timeout_seconds\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 300},"             \
        "\"parallel_requests\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 16},"            \
        "\"snapshots_page_size\": {\"type\": \"integer\", \"minimum\": 5, \"maximum\": 1000}}}"

enum aws_service {
        AWS_SERVICE_EC2,
        AWS_SERVICE_CLOUDWATCH,
        AWS_SERVICE_LOGS,               /* CloudWatch Logs (JSON 1.1, agent/aws/awsjson.h) */
        AWS_SERVICE_SSM,                /* Systems Manager (JSON 1.1) */
        AWS_SERVICE_COUNT,
};

/* The name SigV4 signs SVC's requests with ("ec2", "monitoring", "logs", "ssm"). */
const char *aws_service_signing_name(enum aws_service svc);

struct aws_session {
        char *region;
        char *endpoint[AWS_SERVICE_COUNT]; /* by enum aws_service: "https://ec2.REGION.amazonaws.com" */
        struct http_client *http;
        struct imds *imds;              /* NULL when AWS_EC2_METADATA_DISABLED=true */
        struct credentials_provider creds;
        struct retry_policy retry;
        int64_t clock_offset;           /* seconds added to our clock when signing */
        time_t (*now)(void *userdata);  /* wall clock, injectable (NULL: time()) */
        void (*sleep_ms)(uint64_t ms, void *userdata); /* injectable (NULL: nanosleep) */
        void *userdata;
        unsigned parallel;              /* default bound on concurrent requests */
        long timeout_ms;                /* per attempt */
        char *config_dir;               /* for the key-file permission warning, may be NULL */
        char *instance_id;              /* aws.instance_id or opsagent.instance.id, may be NULL */
        unsigned snapshots_page;        /* DescribeSnapshots MaxResults (aws.snapshots_page_size) */
        struct opsagent_aws_error last_error;
};

/* Creates a session from ATTRS (the whole merged tree: `aws.*` settings, `opsagent.instance`)
 * and RECIPE_ATTRS (aws_key/aws_secret; may be NULL). Caller frees with aws_session_free().
 * Fails when no region can be found (err says where it looked). */
int aws_session_new(json_object *attrs, json_object *recipe_attrs_or_null, struct aws_session **ret,
                    struct error *err);
void aws_session_free(struct aws_session *s);     /* NULL is fine */

/* Where Custom JSON lives, for the warning about key files readable by others. */
int aws_session_set_config_dir(struct aws_session *s, const char *dir);

/* The IMDS client, created on first use; NULL (with err set) when metadata is disabled. */
struct imds *aws_session_imds(struct aws_session *s, struct error *err);


#endif
