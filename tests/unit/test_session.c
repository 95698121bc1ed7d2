/* session: where each setting comes from (attribute, environment, profile, default), what is
 * refused and how the message names it, and each limit crossed. No request is sent: IMDS is
 * pointed at a closed port and never needed, credentials are not asked for. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "aws/session.h"
#include "util/fileio.h"

static const char *const vars[] = {
        "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_RETRY_MODE",
        "AWS_MAX_ATTEMPTS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_CLOUDWATCH", "AWS_ENDPOINT_URL_STS",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_METADATA_SERVICE_TIMEOUT", "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", NULL,
};
static char dir[] = "/tmp/opsagent-session-XXXXXX";
static char config[128];

static int setup(void **state)
{
        for (size_t i = 0; vars[i]; i++)
                unsetenv(vars[i]);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        setenv("AWS_CONFIG_FILE", config, 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/opsagent-tests/credentials", 1);
        unlink(config);
        return 0;
}

static void put_config(const char *text)
{
        assert_int_equal(write_file_atomic(config, text, strlen(text), 0600), 0);
}

static struct aws_session *session_with(const char *attrs_json)
{
        json_object *attrs = json_tokener_parse(attrs_json ? attrs_json : "{}");
        struct aws_session *s = NULL;
        struct error err = ERROR_INIT;

        if (aws_session_new(attrs, NULL, &s, &err) < 0)
                fail_msg("session: %s", err.msg);
        json_object_put(attrs);
        return s;
}

/* The session is refused with CODE and a message holding each of the NEEDLES. */
static void refused(const char *attrs_json, int code, const char *needle)
{
        json_object *attrs = json_tokener_parse(attrs_json ? attrs_json : "{}");
        struct aws_session *s = NULL;
        struct error err = ERROR_INIT;

        assert_int_equal(aws_session_new(attrs, NULL, &s, &err), code);
        assert_null(s);
        if (!strstr(err.msg, needle))
                fail_msg("\"%s\" lacks \"%s\"", err.msg, needle);
        json_object_put(attrs);
}

static void test_region_sources(void **state)
{
        struct aws_session *s;

        put_config("[default]\nregion = eu-north-1\n");
        s = session_with(NULL);
        assert_string_equal(s->region, "eu-north-1");
        assert_non_null(strstr(s->region_origin, config));
        aws_session_free(s);
        setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
        s = session_with(NULL);
        assert_string_equal(s->region, "ap-south-1");
        assert_string_equal(s->region_origin, "AWS_DEFAULT_REGION");
        aws_session_free(s);
        setenv("AWS_REGION", "us-west-2", 1);
        s = session_with(NULL);
        assert_string_equal(s->region, "us-west-2");
        aws_session_free(s);
        s = session_with("{\"aws\": {\"region\": \"sa-east-1\"}}");
        assert_string_equal(s->region, "sa-east-1");
        assert_string_equal(s->region_origin, "the attribute aws.region");
        aws_session_free(s);
        unsetenv("AWS_REGION");
        unsetenv("AWS_DEFAULT_REGION");
        unlink(config);
        refused(NULL, -ENXIO, "no AWS region: set the attribute aws.region, AWS_REGION, or region in profile");
        setenv("AWS_REGION", "us east-1", 1);
        refused(NULL, -EINVAL, "region \"us east-1\" (AWS_REGION) is not a region name");
}

static void test_retry_sources_and_limits(void **state)
{
        struct aws_session *s;

        setenv("AWS_REGION", "us-east-1", 1);
        s = session_with(NULL);
        assert_int_equal(s->retry.mode, RETRY_MODE_STANDARD);
        assert_int_equal(s->retry.max_attempts, RETRY_DEFAULT_MAX_ATTEMPTS);
        aws_session_free(s);
        put_config("[default]\nretry_mode = legacy\nmax_attempts = 4\n");
        s = session_with(NULL);
        assert_int_equal(s->retry.mode, RETRY_MODE_LEGACY);
        assert_int_equal(s->retry.max_attempts, 4);
        aws_session_free(s);
        setenv("AWS_RETRY_MODE", "adaptive", 1);
        setenv("AWS_MAX_ATTEMPTS", "6", 1);
        s = session_with(NULL);
        assert_int_equal(s->retry.mode, RETRY_MODE_ADAPTIVE);
        assert_int_equal(s->retry.max_attempts, 6);
        assert_non_null(s->retry.limiter);
        aws_session_free(s);
        s = session_with("{\"aws\": {\"max_attempts\": 2}}");       /* code-level wins */
        assert_int_equal(s->retry.max_attempts, 2);
        assert_non_null(strstr(s->retry_origin, "the attribute aws.max_attempts"));
        aws_session_free(s);
        s = session_with("{\"aws\": {\"max_attempts\": null}}");
        assert_int_equal(s->retry.max_attempts, 6);
        aws_session_free(s);

        setenv("AWS_MAX_ATTEMPTS", "11", 1);    /* one past RETRY_MAX_ATTEMPTS_LIMIT */
        refused(NULL, -EINVAL, "\"11\" (AWS_MAX_ATTEMPTS): give a whole number from 1 to 10");
        setenv("AWS_MAX_ATTEMPTS", "0", 1);
        refused(NULL, -EINVAL, "AWS_MAX_ATTEMPTS");
        setenv("AWS_MAX_ATTEMPTS", "3x", 1);
        refused(NULL, -EINVAL, "AWS_MAX_ATTEMPTS");
        unsetenv("AWS_MAX_ATTEMPTS");
        setenv("AWS_RETRY_MODE", "Standard", 1);
        refused(NULL, -EINVAL, "retry mode \"Standard\" (AWS_RETRY_MODE) is not one of legacy, standard, adaptive");
        unsetenv("AWS_RETRY_MODE");
        put_config("[default]\nmax_attempts = 20\n");
        refused(NULL, -EINVAL, "[default] line 2");
}

static void test_endpoint_sources(void **state)
{
        struct aws_session *s;

        setenv("AWS_REGION", "us-gov-west-1", 1);
        setenv("AWS_USE_FIPS_ENDPOINT", "TRUE", 1);
        s = session_with(NULL);
        assert_string_equal(s->endpoint[AWS_SERVICE_EC2], "https://ec2.us-gov-west-1.amazonaws.com");
        assert_string_equal(s->endpoint[AWS_SERVICE_CLOUDWATCH], "https://monitoring.us-gov-west-1.amazonaws.com");
        assert_non_null(strstr(s->endpoint_origin[AWS_SERVICE_EC2], "partition aws-us-gov, FIPS"));
        aws_session_free(s);
        unsetenv("AWS_USE_FIPS_ENDPOINT");
        setenv("AWS_REGION", "us-east-1", 1);
        put_config("[default]\nservices = here\nendpoint_url = https://all.example\n"
                   "[services here]\nsts =\n  endpoint_url = https://sts.here.example\n");
        setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:9/cw", 1);
        s = session_with(NULL);
        assert_string_equal(s->endpoint[AWS_SERVICE_CLOUDWATCH], "http://127.0.0.1:9/cw");
        assert_string_equal(s->endpoint_origin[AWS_SERVICE_CLOUDWATCH], "AWS_ENDPOINT_URL_CLOUDWATCH");
        assert_string_equal(s->endpoint[AWS_SERVICE_STS], "https://sts.here.example");
        assert_non_null(strstr(s->endpoint_origin[AWS_SERVICE_STS], "[services here] sts.endpoint_url"));
        assert_string_equal(s->endpoint[AWS_SERVICE_EC2], "https://all.example");
        aws_session_free(s);
        setenv("AWS_ENDPOINT_URL", "https://global.example", 1);
        s = session_with(NULL);
        assert_string_equal(s->endpoint[AWS_SERVICE_EC2], "https://global.example");
        assert_string_equal(s->endpoint[AWS_SERVICE_STS], "https://global.example");   /* the variable first */
        aws_session_free(s);
        setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
        s = session_with(NULL);
        assert_string_equal(s->endpoint[AWS_SERVICE_EC2], "https://ec2.us-east-1.amazonaws.com");
        assert_string_equal(s->endpoint[AWS_SERVICE_CLOUDWATCH], "https://monitoring.us-east-1.amazonaws.com");
        aws_session_free(s);
        unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_ENDPOINT_URL_CLOUDWATCH");
}

static void test_endpoint_refusals(void **state)
{
        setenv("AWS_REGION", "us-east-1", 1);
        setenv("AWS_USE_FIPS_ENDPOINT", "yes", 1);
        refused(NULL, -EINVAL, "\"yes\" (AWS_USE_FIPS_ENDPOINT) is neither true nor false");
        setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
        setenv("AWS_ENDPOINT_URL_EC2", "https://ec2.example", 1);
        {
                /* refused for that service only, as in the SDKs: its calls fail, the others go on */
                struct aws_session *s = session_with(NULL);

                assert_null(s->endpoint[AWS_SERVICE_EC2]);
                assert_non_null(strstr(s->endpoint_origin[AWS_SERVICE_EC2], "FIPS endpoints (AWS_USE_FIPS_ENDPOINT) "
                                       "and the endpoint URL of ec2 (AWS_ENDPOINT_URL_EC2) exclude each other"));
                assert_string_equal(s->endpoint[AWS_SERVICE_STS], "https://sts-fips.us-east-1.amazonaws.com");
                aws_session_free(s);
        }
        unsetenv("AWS_USE_FIPS_ENDPOINT");
        setenv("AWS_ENDPOINT_URL_EC2", "localhost:4566", 1);
        refused(NULL, -EINVAL, "is not an http or https URL");
        unsetenv("AWS_ENDPOINT_URL_EC2");
        put_config("[default]\nservices = missing\n");
        refused(NULL, -ENOENT, "has no [services missing] section");
        put_config("[default]\nuse_dualstack_endpoint = 1\n");
        refused(NULL, -EINVAL, "neither true nor false");
}

static void test_imds_settings_and_limits(void **state)
{
        struct aws_session *s;

        setenv("AWS_REGION", "us-east-1", 1);
        setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
        put_config("[default]\nmetadata_service_num_attempts = 3\n");
        setenv("AWS_METADATA_SERVICE_TIMEOUT", "5", 1);
        s = session_with(NULL);
        assert_int_equal(s->imds_timeout_ms, 5000);
        assert_int_equal(s->imds_attempts, 3);
        assert_non_null(strstr(s->imds_origin, "timeout AWS_METADATA_SERVICE_TIMEOUT"));
        aws_session_free(s);
        setenv("AWS_METADATA_SERVICE_TIMEOUT", "61", 1);        /* one past AWS_IMDS_MAX_TIMEOUT_S */
        refused(NULL, -EINVAL, "\"61\" (AWS_METADATA_SERVICE_TIMEOUT): give a whole number from 1 to 60");
        unsetenv("AWS_METADATA_SERVICE_TIMEOUT");
        setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "11", 1);   /* one past AWS_IMDS_MAX_ATTEMPTS */
        refused(NULL, -EINVAL, "from 1 to 10");
        unsetenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS");
        unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void test_profile_attribute(void **state)
{
        struct aws_session *s;

        setenv("AWS_PROFILE", "env", 1);
        put_config("[profile env]\nregion = eu-west-1\n[profile attr]\nregion = eu-west-2\n");
        s = session_with(NULL);
        assert_string_equal(s->region, "eu-west-1");
        aws_session_free(s);
        s = session_with("{\"aws\": {\"profile\": \"attr\"}}");
        assert_string_equal(s->region, "eu-west-2");
        assert_true(s->config->profile_explicit);
        assert_ptr_equal(s->creds.config, s->config);
        aws_session_free(s);
        refused("{\"aws\": {\"profile\": \"gone\"}}", -ENOENT, "AWS profile \"gone\" (from the attribute aws.profile)");
        unsetenv("AWS_PROFILE");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_region_sources, setup),
                cmocka_unit_test_setup(test_retry_sources_and_limits, setup),
                cmocka_unit_test_setup(test_endpoint_sources, setup),
                cmocka_unit_test_setup(test_endpoint_refusals, setup),
                cmocka_unit_test_setup(test_imds_settings_and_limits, setup),
                cmocka_unit_test_setup(test_profile_attribute, setup),
        };
        int r;

        if (!mkdtemp(dir))
                return 1;
        snprintf(config, sizeof(config), "%s/config", dir);
        r = cmocka_run_group_tests_name("session", tests, NULL, NULL);
        unlink(config);
        rmdir(dir);
        return r;
}
