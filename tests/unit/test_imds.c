/* imds: token first, then GETs carrying it; a 404 is -ENOENT; a refused token is -EACCES unless
 * IMDSv1 is allowed; nothing answering fails fast naming the variables, once. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "canned_server.h"
#include "aws/imds.h"
#include "util/log.h"

static void test_token_then_get(void **state)
{
        const char *responses[] = {
                "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nTOKEN-abc",
                "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\ni-1234567890abcdef0",
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        };
        struct imds_config cfg = { 0 };
        struct canned_server srv;
        struct imds *m = NULL;
        struct error err = ERROR_INIT;
        char ep[64], *v = NULL, *scrubbed;

        assert_int_equal(canned_start(&srv, responses, 3), 0);
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d/", srv.port);
        cfg.endpoint = ep;
        assert_int_equal(imds_new(&cfg, &m), 0);
        assert_int_equal(imds_get(m, "/latest/meta-data/instance-id", &v, &err), 0);
        assert_string_equal(v, "i-1234567890abcdef0");
        free(v);
        assert_int_equal(imds_get(m, "/latest/user-data", &v, &err), -ENOENT);
        imds_free(m);
        canned_stop(&srv);
        assert_non_null(strstr(srv.requests[0], "PUT /latest/api/token HTTP/1.1\r\n"));
        assert_non_null(strstr(srv.requests[0], "X-aws-ec2-metadata-token-ttl-seconds: 21600\r\n"));
        assert_non_null(strstr(srv.requests[1], "GET /latest/meta-data/instance-id HTTP/1.1\r\n"));
        assert_non_null(strstr(srv.requests[1], "X-aws-ec2-metadata-token: TOKEN-abc\r\n"));
        assert_non_null(strstr(srv.requests[2], "X-aws-ec2-metadata-token: TOKEN-abc\r\n")); /* cached */
        canned_free(&srv);
        scrubbed = log_scrub("TOKEN-abc");
        assert_string_equal(scrubbed, "(redacted)");
        free(scrubbed);
}

static void test_token_refused(void **state)
{
        const char *responses[] = { "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n" };
        struct imds_config cfg = { 0 };
        struct canned_server srv;
        struct imds *m = NULL;
        struct error err = ERROR_INIT;
        char ep[64], *v = NULL;

        assert_int_equal(canned_start(&srv, responses, 1), 0);
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", srv.port);
        cfg.endpoint = ep;
        assert_int_equal(imds_new(&cfg, &m), 0);
        assert_int_equal(imds_get(m, "/latest/meta-data/instance-id", &v, &err), -EACCES);
        assert_non_null(strstr(err.msg, "aws.imds.allow_v1"));
        imds_free(m);
        canned_stop(&srv);
        canned_free(&srv);
}

static void test_v1_fallback_when_allowed(void **state)
{
        const char *responses[] = {
                "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nus-east-1",
        };
        struct imds_config cfg = { .allow_v1 = true };
        struct canned_server srv;
        struct imds *m = NULL;
        struct error err = ERROR_INIT;
        char ep[64], *v = NULL;

        unsetenv("AWS_EC2_METADATA_V1_DISABLED");
        assert_int_equal(canned_start(&srv, responses, 2), 0);
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", srv.port);
        cfg.endpoint = ep;
        assert_int_equal(imds_new(&cfg, &m), 0);
        assert_int_equal(imds_get(m, "/latest/meta-data/placement/region", &v, &err), 0);
        assert_string_equal(v, "us-east-1");
        free(v);
        imds_free(m);
        canned_stop(&srv);
        assert_null(strstr(srv.requests[1], "X-aws-ec2-metadata-token:"));
        canned_free(&srv);
}

/* AWS_EC2_METADATA_V1_DISABLED=true wins over aws.imds.allow_v1. */
static void test_v1_disabled_by_environment(void **state)
{
        const char *responses[] = { "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n" };
        struct imds_config cfg = { .allow_v1 = true };
        struct canned_server srv;
        struct imds *m = NULL;
        struct error err = ERROR_INIT;
        char ep[64], *v = NULL;

        setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
        assert_int_equal(canned_start(&srv, responses, 1), 0);
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", srv.port);
        cfg.endpoint = ep;
        assert_int_equal(imds_new(&cfg, &m), 0);
        assert_int_equal(imds_get(m, "/latest/meta-data/instance-id", &v, &err), -EACCES);
        imds_free(m);
        canned_stop(&srv);
        canned_free(&srv);
        unsetenv("AWS_EC2_METADATA_V1_DISABLED");
}

static void test_nothing_answers(void **state)
{
        struct imds_config cfg = { .endpoint = "http://127.0.0.1:1" };
        struct imds *m = NULL;
        struct error err = ERROR_INIT;
        char *v = NULL;

        assert_int_equal(imds_new(&cfg, &m), 0);
        assert_int_equal(imds_get(m, "/latest/meta-data/instance-id", &v, &err), -ECONNREFUSED);
        assert_non_null(strstr(err.msg, "AWS_EC2_METADATA_SERVICE_ENDPOINT"));
        assert_non_null(strstr(err.msg, "AWS_EC2_METADATA_DISABLED"));
        assert_non_null(strstr(err.msg, "http://127.0.0.1:1"));
        error_clear(&err);
        /* remembered: the next read fails at once with the same explanation */
        assert_int_equal(imds_get(m, "/latest/meta-data/hostname", &v, &err), -ECONNREFUSED);
        assert_non_null(strstr(err.msg, "AWS_EC2_METADATA_DISABLED"));
        imds_free(m);
}

/* A metadata service that answers, but slowly: a lookup of several requests with a deadline
 * waits that long in all, then fails as "not answering" (at once for the next client too);
 * without one, every request is answered. */
static void test_one_deadline_for_a_lookup(void **state)
{
        const char *responses[] = {
                "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nTOKEN-slo",
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nv",
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nv",
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nv",
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nv",
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nv",
        };
        struct imds_config cfg = { 0 };
        struct canned_server srv;
        struct imds *m = NULL, *other = NULL;
        struct error err = ERROR_INIT;
        char ep[64], *v = NULL;
        int answered = 0, r = 0;

        /* 300 ms an answer, 1,000 ms for it all: at most the token and two values */
        assert_int_equal(canned_start_slow(&srv, responses, 6, 300), 0);
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d/", srv.port);
        cfg.endpoint = ep;
        assert_int_equal(imds_new(&cfg, &m), 0);
        imds_set_deadline(m, 1000);
        for (int i = 0; i < 5 && r == 0; i++) {
                r = imds_get(m, "/latest/meta-data/x", &v, &err);
                if (r == 0) {
                        answered++;
                        free(v);
                }
        }
        assert_int_equal(r, -ETIMEDOUT);
        assert_true(answered <= 2);
        assert_non_null(strstr(err.msg, "AWS_EC2_METADATA_DISABLED"));
        error_clear(&err);
        imds_free(m);
        assert_int_equal(imds_new(&cfg, &other), 0);
        assert_int_equal(imds_get(other, "/latest/meta-data/x", &v, &err), -ETIMEDOUT);  /* remembered */
        error_clear(&err);
        imds_free(other);
        canned_stop(&srv);
        canned_free(&srv);

        assert_int_equal(canned_start_slow(&srv, responses, 6, 300), 0);
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d/", srv.port);
        assert_int_equal(imds_new(&cfg, &m), 0);
        for (int i = 0; i < 5; i++) {
                assert_int_equal(imds_get(m, "/latest/meta-data/x", &v, &err), 0);
                free(v);
        }
        imds_free(m);
        canned_stop(&srv);
        canned_free(&srv);
}

static void test_disabled_by_environment(void **state)
{
        setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
        assert_true(imds_disabled_by_env());
        setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
        assert_false(imds_disabled_by_env());
        unsetenv("AWS_EC2_METADATA_DISABLED");
        assert_false(imds_disabled_by_env());
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_token_then_get),
                cmocka_unit_test(test_token_refused),
                cmocka_unit_test(test_v1_fallback_when_allowed),
                cmocka_unit_test(test_v1_disabled_by_environment),
                cmocka_unit_test(test_nothing_answers),
                cmocka_unit_test(test_one_deadline_for_a_lookup),
                cmocka_unit_test(test_disabled_by_environment),
        };
        unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        log_setup(LOG_TARGET_STDERR, LOG_ERR);
        return cmocka_run_group_tests_name("imds", tests, NULL, NULL);
}
