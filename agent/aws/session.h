/* One AWS session per recipe run: its configuration resolved once, each value with where it
 * came from (for `opsagent doctor` and errors), the credentials chain, one HTTP client
 * (connections reused between calls), the retry policy and the clock-skew correction.
 *
 * Where each setting comes from, first found wins (the attributes are configuration given in
 * code, which in every SDK beats the environment; docs: opsagent(8) ENVIRONMENT):
 *   profile      aws.profile, AWS_DEFAULT_PROFILE, AWS_PROFILE, "default"
 *   region       aws.region, AWS_REGION, AWS_DEFAULT_REGION, the profile's region,
 *                opsagent.instance.region, IMDS placement/region
 *   retry mode   AWS_RETRY_MODE, the profile's retry_mode, standard
 *   max attempts aws.max_attempts, AWS_MAX_ATTEMPTS, the profile's max_attempts, the mode's
 *   FIPS         AWS_USE_FIPS_ENDPOINT, use_fips_endpoint (dual-stack likewise)
 *   endpoint     unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS / ignore_configured_endpoint_urls:
 *                AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's [services X]
 *                section, the profile's endpoint_url; else the name agent/aws/endpoints.h builds
 *   IMDS         AWS_METADATA_SERVICE_TIMEOUT / metadata_service_timeout (seconds),
 *                AWS_METADATA_SERVICE_NUM_ATTEMPTS / metadata_service_num_attempts,
 *                AWS_EC2_METADATA_SERVICE_ENDPOINT / ec2_metadata_service_endpoint, ..._MODE */
#ifndef OPSAGENT_AWS_SESSION_H
#define OPSAGENT_AWS_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "awsconfig.h"
#include "credentials.h"
#include "endpoints.h"
#include "retry.h"
#include "opsagent/aws.h"
#include "util/error.h"

#define AWS_DEFAULT_PARALLEL 4
#define AWS_MAX_PARALLEL 16
#define AWS_DEFAULT_SNAPSHOTS_PAGE 1000 /* MaxResults per DescribeSnapshots page (5..1000): as many as AWS allows */
#define AWS_DEFAULT_TIMEOUT_SECONDS 30  /* per attempt */
#define AWS_IMDS_MAX_TIMEOUT_S 60       /* AWS_METADATA_SERVICE_TIMEOUT at most */
#define AWS_IMDS_MAX_ATTEMPTS 10        /* AWS_METADATA_SERVICE_NUM_ATTEMPTS at most */
#define AWS_STR_(x) #x
#define AWS_STR(x) AWS_STR_(x)

struct http_client;
struct imds;

/* The `aws` attribute section: shipped defaults and schema (for the core's attribute table). */
#define AWS_ATTR_DEFAULTS_JSON                                                                      \
        "{\"imds\": {\"allow_v1\": false}, \"region\": null, \"instance_id\": null, \"profile\": null, "  \
        "\"max_attempts\": null, "                                                                   \
        "\"timeout_seconds\": " AWS_STR(AWS_DEFAULT_TIMEOUT_SECONDS) ", "                                 \
        "\"parallel_requests\": " AWS_STR(AWS_DEFAULT_PARALLEL) ", "                                      \
        "\"snapshots_page_size\": " AWS_STR(AWS_DEFAULT_SNAPSHOTS_PAGE) "}"
#define AWS_ATTR_SCHEMA_JSON                                                                        \
        "{\"type\": \"object\", \"properties\": {"                                                    \
        "\"imds\": {\"type\": \"object\", \"properties\": {\"allow_v1\": {\"type\": \"boolean\"}}},"    \
        "\"region\": {\"type\": [\"string\", \"null\"], \"minLength\": 1},"  \
        "\"instance_id\": {\"type\": [\"string\", \"null\"], \"minLength\": 1},"     \
        "\"profile\": {\"type\": [\"string\", \"null\"], \"minLength\": 1},"     \
        "\"max_attempts\": {\"type\": [\"integer\", \"null\"], \"minimum\": 1, \"maximum\": "  \
        AWS_STR(RETRY_MAX_ATTEMPTS_LIMIT) "},"                 \
        "\"timeout_seconds\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 300},"             \
        "\"parallel_requests\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 16},"            \
        "\"snapshots_page_size\": {\"type\": \"integer\", \"minimum\": 5, \"maximum\": 1000}}}"

/* The name SigV4 signs SVC's requests with ("ec2", "monitoring", "sts"). */
const char *aws_service_signing_name(enum aws_service svc);

struct aws_session {
        char *region;
        char region_origin[AWS_CONFIG_ORIGIN_MAX];      /* "AWS_REGION", "the attribute aws.region", ... */
        char *endpoint[AWS_SERVICE_COUNT];              /* "https://ec2.REGION.amazonaws.com"; NULL when
                                                           the configuration refuses one (origin says why) */
        char endpoint_origin[AWS_SERVICE_COUNT][AWS_CONFIG_ORIGIN_MAX];
        bool endpoint_built[AWS_SERVICE_COUNT];         /* built for the region, not configured: S3
                                                           may then address a bucket by host name */
        bool use_fips, use_dualstack;
        char fips_origin[AWS_CONFIG_ORIGIN_MAX], dualstack_origin[AWS_CONFIG_ORIGIN_MAX];
        char retry_origin[AWS_CONFIG_ORIGIN_MAX];       /* mode's and max attempts' */
        struct aws_config *config;                      /* the shared config files and the profile */
        struct http_client *http;
        struct imds *imds;              /* NULL when AWS_EC2_METADATA_DISABLED=true */
        long imds_timeout_ms;
        unsigned imds_attempts;
        char imds_origin[AWS_CONFIG_ORIGIN_MAX];
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
        struct aws_session *sts;        /* the chain's STS calls (an HTTP client of their own), made on use */
        char *test_origin;              /* tests: where requests really go (http_client_set_test_origin) */
};

/* Creates a session from ATTRS (the whole merged tree: `aws.*` settings, `opsagent.instance`)
 * and RECIPE_ATTRS (aws_key/aws_secret; may be NULL), the environment and the shared config
 * files. Caller frees with aws_session_free(). Fails when no region can be found (err says
 * where it looked), and with -EINVAL (err names the variable or file and line) for a setting
 * the SDKs would refuse too. */
int aws_session_new(json_object *attrs, json_object *recipe_attrs_or_null, struct aws_session **ret,
                    struct error *err);
void aws_session_free(struct aws_session *s);     /* NULL is fine */

/* Where Custom JSON lives, for the warning about key files readable by others. */
int aws_session_set_config_dir(struct aws_session *s, const char *dir);

/* The IMDS client, created on first use; NULL (with err set) when metadata is disabled. */
struct imds *aws_session_imds(struct aws_session *s, struct error *err);

/* Tests only: every AWS request (the chain's STS calls too) goes to ORIGIN, keeping the URL's
 * path and the Host header of the endpoint it was meant for (agent/aws/http.h). */
int aws_session_set_test_origin(struct aws_session *s, const char *origin);

struct imds_config;
/* The IMDS settings of ATTRS (aws.imds.allow_v1), the environment and profile CFG (may be
 * NULL) into *ret, whose strings are borrowed from CFG and the environment; ORIGIN (may be
 * NULL) says where the timeout and attempts came from. -EINVAL for a value out of range. */
int aws_imds_config_resolve(json_object *attrs, const struct aws_config *cfg, struct imds_config *ret, char *origin,
                            size_t origin_size, struct error *err);


#endif
