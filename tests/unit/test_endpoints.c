/* endpoints: the names the SDKs' endpoint rules build, per partition, with FIPS and
 * dual-stack, as botocore 1.43 resolves them (tests/integration/test_aws_config.py asks
 * botocore itself for a wider grid). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aws/endpoints.h"

static void url_is(enum aws_service svc, const char *region, bool fips, bool ds, const char *want)
{
        struct error err = ERROR_INIT;
        char *u = NULL;

        if (aws_endpoint_url(svc, region, fips, ds, &u, &err) < 0)
                fail_msg("%s: %s", region, err.msg);
        if (strcmp(u, want) != 0)
                fail_msg("%s %s fips=%d ds=%d: %s, botocore says %s", aws_service_info(svc)->id, region, fips, ds, u, want);
        free(u);
}

static void test_botocore_names(void **state)
{
        static const struct {
                enum aws_service svc;
                const char *region;
                const char *plain, *ds, *fips, *fips_ds;
        } cases[] = {
                { AWS_SERVICE_EC2, "us-east-1", "ec2.us-east-1.amazonaws.com", "ec2.us-east-1.api.aws",
                  "ec2-fips.us-east-1.amazonaws.com", "ec2-fips.us-east-1.api.aws" },
                { AWS_SERVICE_EC2, "cn-north-1", "ec2.cn-north-1.amazonaws.com.cn",
                  "ec2.cn-north-1.api.amazonwebservices.com.cn", "ec2-fips.cn-north-1.amazonaws.com.cn",
                  "ec2-fips.cn-north-1.api.amazonwebservices.com.cn" },
                { AWS_SERVICE_EC2, "us-gov-west-1", "ec2.us-gov-west-1.amazonaws.com", "ec2.us-gov-west-1.api.aws",
                  "ec2.us-gov-west-1.amazonaws.com", "ec2-fips.us-gov-west-1.api.aws" },
                { AWS_SERVICE_EC2, "us-iso-east-1", "ec2.us-iso-east-1.c2s.ic.gov", "ec2.us-iso-east-1.api.aws.ic.gov",
                  "ec2-fips.us-iso-east-1.c2s.ic.gov", "ec2-fips.us-iso-east-1.api.aws.ic.gov" },
                { AWS_SERVICE_CLOUDWATCH, "eu-west-1", "monitoring.eu-west-1.amazonaws.com",
                  "monitoring.eu-west-1.api.aws", "monitoring-fips.eu-west-1.amazonaws.com",
                  "monitoring-fips.eu-west-1.api.aws" },
                { AWS_SERVICE_CLOUDWATCH, "us-gov-east-1", "monitoring.us-gov-east-1.amazonaws.com",
                  "monitoring.us-gov-east-1.api.aws", "monitoring.us-gov-east-1.amazonaws.com",
                  "monitoring.us-gov-east-1.api.aws" },
                { AWS_SERVICE_CLOUDWATCH, "cn-northwest-1", "monitoring.cn-northwest-1.amazonaws.com.cn",
                  "monitoring.cn-northwest-1.api.amazonwebservices.com.cn",
                  "monitoring-fips.cn-northwest-1.amazonaws.com.cn",
                  "monitoring-fips.cn-northwest-1.api.amazonwebservices.com.cn" },
                { AWS_SERVICE_STS, "us-east-1", "sts.us-east-1.amazonaws.com", "sts.us-east-1.api.aws",
                  "sts-fips.us-east-1.amazonaws.com", "sts-fips.us-east-1.api.aws" },
                { AWS_SERVICE_STS, "us-gov-west-1", "sts.us-gov-west-1.amazonaws.com", "sts.us-gov-west-1.api.aws",
                  "sts.us-gov-west-1.amazonaws.com", "sts-fips.us-gov-west-1.api.aws" },
                { AWS_SERVICE_STS, "ca-central-1", "sts.ca-central-1.amazonaws.com", "sts.ca-central-1.api.aws",
                  "sts-fips.ca-central-1.amazonaws.com", "sts-fips.ca-central-1.api.aws" },
        };
        char want[256];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *hosts[4] = { cases[i].plain, cases[i].ds, cases[i].fips, cases[i].fips_ds };

                for (int v = 0; v < 4; v++) {
                        snprintf(want, sizeof(want), "https://%s", hosts[v]);
                        url_is(cases[i].svc, cases[i].region, v >= 2, v % 2 == 1, want);
                }
        }
}

static void test_partitions(void **state)
{
        assert_string_equal(aws_partition_of("us-east-1")->id, "aws");
        assert_string_equal(aws_partition_of("us-gov-west-1")->id, "aws-us-gov");
        assert_string_equal(aws_partition_of("cn-north-1")->id, "aws-cn");
        assert_string_equal(aws_partition_of("us-isob-east-1")->id, "aws-iso-b");
        assert_string_equal(aws_partition_of("eu-isoe-west-1")->id, "aws-iso-e");
        assert_string_equal(aws_partition_of("aws-us-gov-global")->id, "aws-us-gov");
        assert_string_equal(aws_partition_of("mars-central-1")->id, "aws");       /* unknown: aws, as the SDKs */
        url_is(AWS_SERVICE_EC2, "local", false, false, "https://ec2.local.amazonaws.com");
}

static void test_region_must_be_a_label(void **state)
{
        static const char *const bad[] = { "", "-us", "us-", "us east", "us.east-1", "evil.com/x", "a\nb",
                                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
        struct error err = ERROR_INIT;
        char *u = NULL;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_false(aws_region_valid(bad[i]));
                assert_int_equal(aws_endpoint_url(AWS_SERVICE_EC2, bad[i], false, false, &u, &err), -EINVAL);
                error_clear(&err);
        }
        assert_true(aws_region_valid("us-east-1"));
        assert_true(aws_region_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 63 */
}

/* Every row is complete: what a new service must give. */
static void test_table_complete(void **state)
{
        for (int i = 0; i < AWS_SERVICE_COUNT; i++) {
                const struct aws_service_info *s = aws_service_info((enum aws_service)i);

                assert_non_null(s->id);
                assert_non_null(s->env_suffix);
                assert_non_null(s->prefix);
                assert_non_null(s->signing_name);
        }
        assert_null(aws_service_info(AWS_SERVICE_COUNT));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_botocore_names),
                cmocka_unit_test(test_partitions),
                cmocka_unit_test(test_region_must_be_a_label),
                cmocka_unit_test(test_table_complete),
        };
        return cmocka_run_group_tests_name("endpoints", tests, NULL, NULL);
}
