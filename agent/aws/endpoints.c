#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoints.h"
#include "util/buf.h"

/* From each service's endpoint rule set in the SDKs (botocore's data/SERVICE/.../
 * endpoint-rule-set-1.json); tests/unit/test_endpoints.c holds what botocore resolves. */
static const struct aws_service_info services[AWS_SERVICE_COUNT] = {
        [AWS_SERVICE_EC2] = {
                .id = "ec2", .env_suffix = "EC2", .prefix = "ec2", .signing_name = "ec2",
                .query_version = "2016-11-15",
                .govcloud_fips = "%p.%r.%d",
        },
        [AWS_SERVICE_CLOUDWATCH] = {
                .id = "cloudwatch", .env_suffix = "CLOUDWATCH", .prefix = "monitoring", .signing_name = "monitoring",
                .query_version = "2010-08-01",
                .govcloud_fips = "%p.%r.%d", .govcloud_fips_dualstack = "%p.%r.%D",
        },
        [AWS_SERVICE_STS] = {
                .id = "sts", .env_suffix = "STS", .prefix = "sts", .signing_name = "sts",
                .query_version = "2011-06-15",
                .govcloud_fips = "%p.%r.%d",
        },
        /* The SDKs' variable is AWS_ENDPOINT_URL_CLOUDWATCH_LOGS; AWS_ENDPOINT_URL_LOGS, which
         * opsagent read first, still counts after it. */
        [AWS_SERVICE_LOGS] = {
                .id = "cloudwatch_logs", .env_suffix = "CLOUDWATCH_LOGS", .env_alias = "LOGS", .prefix = "logs",
                .signing_name = "logs",
                .govcloud_fips = "%p.%r.%d",
        },
        [AWS_SERVICE_SSM] = {
                .id = "ssm", .env_suffix = "SSM", .prefix = "ssm", .signing_name = "ssm",
                .govcloud_fips = "%p.%r.%d",
        },
        /* S3's dual-stack names keep the partition's DNS suffix: s3.dualstack.REGION.amazonaws.com. */
        [AWS_SERVICE_S3] = {
                .id = "s3", .env_suffix = "S3", .prefix = "s3", .signing_name = "s3",
                .fips = "%p-fips.%r.%d", .dualstack = "%p.dualstack.%r.%d", .fips_dualstack = "%p-fips.dualstack.%r.%d",
        },
};

/* botocore's data/partitions.json, its regexes in POSIX ERE (\w and \d spelled out). */
static const struct aws_partition partitions[] = {
        { "aws", "^(us|eu|ap|sa|ca|me|af|il|mx)-[A-Za-z0-9_]+-[0-9]+$", "amazonaws.com", "api.aws" },
        { "aws-cn", "^cn-[A-Za-z0-9_]+-[0-9]+$", "amazonaws.com.cn", "api.amazonwebservices.com.cn" },
        { "aws-us-gov", "^us-gov-[A-Za-z0-9_]+-[0-9]+$", "amazonaws.com", "api.aws" },
        { "aws-iso", "^us-iso-[A-Za-z0-9_]+-[0-9]+$", "c2s.ic.gov", "api.aws.ic.gov" },
        { "aws-iso-b", "^us-isob-[A-Za-z0-9_]+-[0-9]+$", "sc2s.sgov.gov", "api.aws.scloud" },
        { "aws-iso-e", "^eu-isoe-[A-Za-z0-9_]+-[0-9]+$", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk" },
        { "aws-iso-f", "^us-isof-[A-Za-z0-9_]+-[0-9]+$", "csp.hci.ic.gov", "api.aws.hci.ic.gov" },
        { "aws-eusc", "^eusc-(de)-[A-Za-z0-9_]+-[0-9]+$", "amazonaws.eu", "api.amazonwebservices.eu" },
};

const struct aws_service_info *aws_service_info(enum aws_service svc)
{
        return svc < AWS_SERVICE_COUNT ? &services[svc] : NULL;
}

static bool matches(const char *regex, const char *s)
{
        regex_t re;
        bool m;

        if (regcomp(&re, regex, REG_EXTENDED | REG_NOSUB) != 0)
                return false;
        m = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
        return m;
}

const struct aws_partition *aws_partition_of(const char *region)
{
        /* The "regions" lists of partitions.json name each partition's global pseudo-region. */
        static const char *const globals[] = { "aws-global", "aws-cn-global", "aws-us-gov-global", "aws-iso-global",
                                               "aws-iso-b-global", "aws-iso-e-global", "aws-iso-f-global" };

        for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++)
                if (strcmp(region, globals[i]) == 0)
                        return &partitions[i];
        /* aws's pattern also takes us-gov-... and us-iso-...: look at the narrower ones first. */
        for (size_t i = sizeof(partitions) / sizeof(partitions[0]); i > 0; i--)
                if (matches(partitions[i - 1].region_regex, region))
                        return &partitions[i - 1];
        return &partitions[0];
}

bool aws_region_valid(const char *region)
{
        size_t l = strlen(region);

        if (l == 0 || l > AWS_REGION_MAX || region[0] == '-' || region[l - 1] == '-')
                return false;
        for (size_t i = 0; i < l; i++) {
                char c = region[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
                        return false;
        }
        return true;
}

static int expand(struct buf *b, const char *form, const struct aws_service_info *s, const char *region,
                  const struct aws_partition *p)
{
        int r = 0;

        for (const char *c = form; *c && r >= 0; c++) {
                if (*c != '%' || !c[1]) {
                        r = buf_append(b, c, 1);
                        continue;
                }
                switch (*++c) {
                case 'p':
                        r = buf_puts(b, s->prefix);
                        break;
                case 'r':
                        r = buf_puts(b, region);
                        break;
                case 'd':
                        r = buf_puts(b, p->dns_suffix);
                        break;
                case 'D':
                        r = buf_puts(b, p->dualstack_dns_suffix);
                        break;
                default:
                        r = buf_append(b, c - 1, 2);
                }
        }
        return r;
}

int aws_endpoint_url(enum aws_service svc, const char *region, bool fips, bool dualstack, char **ret,
                     struct error *err)
{
        const struct aws_service_info *s = aws_service_info(svc);
        const struct aws_partition *p;
        struct buf b = BUF_INIT(1024);
        const char *form;
        bool gov;
        int r;

        if (!s)
                return -EINVAL;
        if (!aws_region_valid(region))
                return error_set(err, -EINVAL,
                                 "region \"%s\" is not a region name (one DNS label: letters, digits, hyphens)",
                                 region);
        p = aws_partition_of(region);
        gov = strcmp(p->id, "aws-us-gov") == 0;
        if (fips && dualstack)
                form = gov && s->govcloud_fips_dualstack ? s->govcloud_fips_dualstack
                       : s->fips_dualstack               ? s->fips_dualstack
                                                         : "%p-fips.%r.%D";
        else if (fips)
                form = gov && s->govcloud_fips ? s->govcloud_fips : s->fips ? s->fips : "%p-fips.%r.%d";
        else if (dualstack)
                form = s->dualstack ? s->dualstack : "%p.%r.%D";
        else
                form = "%p.%r.%d";
        r = buf_puts(&b, "https://");
        if (r >= 0)
                r = expand(&b, form, s, region, p);
        if (r < 0) {
                buf_free(&b);
                return r;
        }
        *ret = buf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}
