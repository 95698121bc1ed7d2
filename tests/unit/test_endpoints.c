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

#include "aws/call.h"
#include "aws/endpoints.h"
#include "aws/s3.h"

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

/* S3: virtual-hosted on the endpoint built for the region when the bucket's name allows it,
 * path-style otherwise and always on a configured endpoint URL, as botocore addresses them. */
static void target_is(bool built, const char *endpoint, const char *bucket, const char *key, const char *want_url)
{
        const char *label = NULL;
        char *path = NULL, *host = NULL, *url = NULL;

        assert_int_equal(s3_request_target(built, bucket, key, &label, &path), 0);
        if (label)
                assert_int_equal(aws_endpoint_with_label(endpoint, label, &host), 0);
        assert_true(asprintf(&url, "%s%s", host ? host : endpoint, path) > 0);
        if (strcmp(url, want_url) != 0)
                fail_msg("%s %s (built %d): %s, want %s", bucket, key, built, url, want_url);
        free(url);
        free(host);
        free(path);
}

static void test_s3_addressing(void **state)
{
        struct error err = ERROR_INIT;
        char *ep = NULL, *x = NULL;

        (void)state;
        assert_int_equal(aws_endpoint_url(AWS_SERVICE_S3, "eu-west-1", false, false, &ep, &err), 0);
        assert_string_equal(ep, "https://s3.eu-west-1.amazonaws.com");
        target_is(true, ep, "my-stack-config", "opsagent/stack.json",
                  "https://my-stack-config.s3.eu-west-1.amazonaws.com/opsagent/stack.json");
        /* dots would not match *.s3.REGION.amazonaws.com's certificate; upper case is no host name */
        target_is(true, ep, "my.stack.config", "k", "https://s3.eu-west-1.amazonaws.com/my.stack.config/k");
        target_is(true, ep, "MyBucket", "k", "https://s3.eu-west-1.amazonaws.com/MyBucket/k");
        target_is(false, "http://127.0.0.1:4566", "my-stack-config", "k", "http://127.0.0.1:4566/my-stack-config/k");
        assert_false(s3_bucket_virtual_hostable("ab"));
        assert_false(s3_bucket_virtual_hostable("-abc"));
        assert_false(s3_bucket_virtual_hostable("abc-"));
        assert_true(s3_bucket_virtual_hostable("a-1"));
        assert_int_equal(aws_endpoint_with_label("s3.example", "b", &x), -EINVAL);
        assert_int_equal(aws_endpoint_with_label("https://s3.example:8443/base", "b", &x), 0);
        assert_string_equal(x, "https://b.s3.example:8443/base");
        free(x);
        free(ep);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_botocore_names),
                cmocka_unit_test(test_partitions),
                cmocka_unit_test(test_region_must_be_a_label),
                cmocka_unit_test(test_table_complete),
                cmocka_unit_test(test_s3_addressing),
        };
        return cmocka_run_group_tests_name("endpoints", tests, NULL, NULL);
}
