/* The AWS services opsagent calls and their endpoint names, as the SDKs' endpoint rules build
 * them: one table row per service (its SDK service id, endpoint prefix, SigV4 signing name,
 * Query API version, FIPS and dual-stack forms), one row per partition (aws, aws-cn,
 * aws-us-gov, the isolated ones: DNS suffixes). Adding a service is an enum value and a row.
 * Pure functions: configured endpoint URLs (AWS_ENDPOINT_URL_*, the config file) are chosen
 * by the session (agent/aws/session.h), which asks here only for the computed name. */
#ifndef OPSAGENT_ENDPOINTS_H
#define OPSAGENT_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

enum aws_service {
        AWS_SERVICE_EC2,
        AWS_SERVICE_CLOUDWATCH,
        AWS_SERVICE_STS,
        AWS_SERVICE_LOGS,               /* CloudWatch Logs (JSON 1.1, agent/aws/awsjson.h) */
        AWS_SERVICE_SSM,                /* Systems Manager (JSON 1.1) */
        AWS_SERVICE_S3,                 /* S3 (REST: GetObject, agent/aws/s3.h) */
        AWS_SERVICE_COUNT,
};

/* Host forms: %p the endpoint prefix, %r the region, %d the partition's DNS suffix, %D its
 * dual-stack DNS suffix. NULL means the standard form. */
struct aws_service_info {
        const char *id;                 /* snake-case SDK service id: "ec2", "cloudwatch", "sts"; the
                                           key under [services X], AWS_ENDPOINT_URL_<ID upper-cased> */
        const char *env_suffix;         /* "EC2", "CLOUDWATCH", "STS", "CLOUDWATCH_LOGS" */
        const char *env_alias;          /* a second variable suffix opsagent reads after it, or NULL */
        const char *prefix;             /* endpoint prefix: "ec2", "monitoring", "sts" */
        const char *signing_name;       /* SigV4 service name */
        const char *query_version;      /* Version= of the Query protocol; NULL for other protocols */
        const char *fips;               /* "%p-fips.%r.%d" */
        const char *dualstack;          /* "%p.%r.%D" */
        const char *fips_dualstack;     /* "%p-fips.%r.%D" */
        const char *govcloud_fips;      /* FIPS in aws-us-gov; NULL: as elsewhere */
        const char *govcloud_fips_dualstack;
};

struct aws_partition {
        const char *id;                 /* "aws", "aws-cn", "aws-us-gov", ... */
        const char *region_regex;       /* POSIX extended */
        const char *dns_suffix;         /* "amazonaws.com" */
        const char *dualstack_dns_suffix; /* "api.aws" */
};

#define AWS_REGION_MAX 63               /* a region is one DNS label */

/* The row of SVC. */
const struct aws_service_info *aws_service_info(enum aws_service svc);
/* The partition REGION belongs to (unknown regions: "aws", as the SDKs). */
const struct aws_partition *aws_partition_of(const char *region);
/* Whether REGION can be a region: one DNS label (letters, digits, inner hyphens). */
bool aws_region_valid(const char *region);

/* *ret (caller frees): "https://HOST" for SVC in REGION with the FIPS and dual-stack forms
 * asked for. -EINVAL (err names the region) for a region that is not a DNS label. */
int aws_endpoint_url(enum aws_service svc, const char *region, bool fips, bool dualstack, char **ret,
                     struct error *err);

#endif
