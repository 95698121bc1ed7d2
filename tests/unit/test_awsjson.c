/* awsjson: the JSON 1.1 protocol over the call engine against a canned loopback server: the
 * target and content type are signed and sent, the answer is parsed, JSON errors give code
 * (namespace stripped), message and request id, throttling is retried as the engine retries,
 * a malformed answer of a call that changed something is not repeated, limits are enforced
 * before anything is sent. */
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
#include "aws/awserror.h"
#include "aws/awsjson.h"
#include "aws/retry.h"

static double zero_random(void *userdata)
{
        return 0.0;
}

static void no_sleep(uint64_t ms, void *userdata)
{
}

/* A canned answer: STATUS_AND_HEADERS ("HTTP/1.1 200 OK\r\nX: y\r\n"), the Content-Length of
 * BODY, BODY. Kept for the whole test program. */
static char *kept[64];           /* reachable to the end, so that LeakSanitizer sees no leak */
static size_t n_kept;

static const char *resp(const char *status_and_headers, const char *body)
{
        char *r = NULL;

        assert_true(n_kept < sizeof(kept) / sizeof(kept[0]));
        assert_true(asprintf(&r, "%sContent-Length: %zu\r\n\r\n%s", status_and_headers, strlen(body), body) > 0);
        kept[n_kept++] = r;
        return r;
}

/* A session whose Logs and SSM endpoints are the canned server on PORT. */
static struct aws_session *session_for(int port)
{
        json_object *attrs = json_tokener_parse("{\"aws\": {\"region\": \"us-east-1\"}}");
        struct aws_session *s = NULL;
        struct error err = ERROR_INIT;
        char ep[64];

        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        setenv("AWS_ENDPOINT_URL_LOGS", ep, 1);
        setenv("AWS_ENDPOINT_URL_SSM", ep, 1);
        setenv("AWS_ACCESS_KEY_ID", "AKIATESTJSON", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "secret-test-json", 1);
        unsetenv("AWS_SESSION_TOKEN");
        assert_int_equal(aws_session_new(attrs, NULL, &s, &err), 0);
        s->retry.random = zero_random;
        s->sleep_ms = no_sleep;
        json_object_put(attrs);
        return s;
}

static void test_target_body_and_answer(void **state)
{
        const char *responses[] = {
                resp("HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: rid-1\r\n",
                     "{\"logGroups\": [{\"logGroupName\": \"/app/web\"}]}"),
        };
        struct canned_server srv;
        struct aws_session *s;
        json_object *in = json_tokener_parse("{\"logGroupNamePrefix\": \"/app\"}"), *out = NULL, *v;

        assert_int_equal(canned_start(&srv, responses, 1), 0);
        s = session_for(srv.port);
        assert_int_equal(awsjson_call(s, AWS_SERVICE_LOGS, "DescribeLogGroups", in, &out, NULL), 0);
        assert_true(json_object_object_get_ex(out, "logGroups", &v));
        assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(v, 0),
                                                                          "logGroupName")),
                            "/app/web");
        json_object_put(out);
        aws_session_free(s);
        canned_stop(&srv);
        assert_int_equal(srv.n_requests, 1);
        assert_non_null(strstr(srv.requests[0], "POST / HTTP/1.1\r\n"));
        assert_non_null(strstr(srv.requests[0], "X-Amz-Target: Logs_20140328.DescribeLogGroups\r\n"));
        assert_non_null(strstr(srv.requests[0], "Content-Type: application/x-amz-json-1.1\r\n"));
        /* both are signed, with the service's signing name */
        assert_non_null(strstr(srv.requests[0], "/us-east-1/logs/aws4_request"));
        assert_non_null(strstr(srv.requests[0], "content-type;host;x-amz-date;x-amz-target"));
        assert_non_null(strstr(srv.requests[0], "\r\n\r\n{\"logGroupNamePrefix\":\"/app\"}"));
        canned_free(&srv);
        json_object_put(in);
}

static void test_ssm_target_and_empty_answer(void **state)
{
        const char *responses[] = { resp("HTTP/1.1 200 OK\r\n", "") };
        struct canned_server srv;
        struct aws_session *s;
        json_object *out = NULL;

        assert_int_equal(canned_start(&srv, responses, 1), 0);
        s = session_for(srv.port);
        assert_int_equal(awsjson_call(s, AWS_SERVICE_SSM, "GetParametersByPath", NULL, &out, NULL), 0);
        assert_true(json_object_is_type(out, json_type_object));
        assert_int_equal(json_object_object_length(out), 0);
        json_object_put(out);
        aws_session_free(s);
        canned_stop(&srv);
        assert_non_null(strstr(srv.requests[0], "X-Amz-Target: AmazonSSM.GetParametersByPath\r\n"));
        assert_non_null(strstr(srv.requests[0], "/us-east-1/ssm/aws4_request"));
        assert_non_null(strstr(srv.requests[0], "\r\n\r\n{}"));
        canned_free(&srv);
}

static void test_error_code_message_and_request_id(void **state)
{
        const char *responses[] = {
                resp("HTTP/1.1 400 Bad Request\r\nx-amzn-RequestId: 7f9c-rid\r\n", "{\"__type\":\"com.amazonaws.logs#ResourceNotFoundException\","
                     "\"message\":\"The specified log group does not exist.\"}"),
                resp("HTTP/1.1 400 Bad Request\r\nx-amzn-RequestId: rid-2\r\n", "{\"__type\":\"ResourceAlreadyExistsException\",\"Message\":\"already there\"}"),
        };
        struct canned_server srv;
        struct aws_session *s;
        struct opsagent_aws_error e = { 0 };
        json_object *out = NULL;
        char line[1024];

        assert_int_equal(canned_start(&srv, responses, 2), 0);
        s = session_for(srv.port);
        assert_int_equal(awsjson_call(s, AWS_SERVICE_LOGS, "PutLogEvents", NULL, &out, &e), -ENOENT);
        assert_null(out);
        assert_string_equal(e.operation, "PutLogEvents");
        assert_string_equal(e.code, "ResourceNotFoundException");
        assert_string_equal(e.message, "The specified log group does not exist.");
        assert_string_equal(e.request_id, "7f9c-rid");
        assert_int_equal(e.http_status, 400);
        assert_string_equal(aws_error_format(&e, line, sizeof(line)),
                            "PutLogEvents: ResourceNotFoundException: The specified log group does not exist. "
                            "(request id 7f9c-rid)");
        assert_int_equal(awsjson_call(s, AWS_SERVICE_LOGS, "CreateLogGroup", NULL, &out, &e), -EEXIST);
        assert_string_equal(e.code, "ResourceAlreadyExistsException");
        assert_string_equal(e.message, "already there");
        assert_string_equal(s->last_error.request_id, "rid-2");
        aws_session_free(s);
        canned_stop(&srv);
        assert_int_equal(srv.n_requests, 2);     /* neither was repeated */
        canned_free(&srv);
}

/* ThrottlingException is throttling for the shared retry policy: retried, then it succeeds. */
static void test_throttling_is_retried(void **state)
{
        const char *responses[] = {
                resp("HTTP/1.1 400 Bad Request\r\n", "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}"),
                resp("HTTP/1.1 503 Service Unavailable\r\n", "{\"__type\":\"ServiceUnavailableException\",\"message\":\"The service is busy.\"}"),
                resp("HTTP/1.1 200 OK\r\n", "{\"nextSequenceToken\": \"42\"}"),
        };
        struct canned_server srv;
        struct aws_session *s;
        json_object *out = NULL;

        assert_int_equal(retry_classify(0, 400, "ThrottlingException", "Rate exceeded"), RETRY_THROTTLE);
        assert_int_equal(canned_start(&srv, responses, 3), 0);
        s = session_for(srv.port);
        s->retry.max_attempts = 3;
        assert_int_equal(awsjson_call(s, AWS_SERVICE_LOGS, "PutLogEvents", NULL, &out, NULL), 0);
        assert_string_equal(json_object_get_string(json_object_object_get(out, "nextSequenceToken")), "42");
        json_object_put(out);
        aws_session_free(s);
        canned_stop(&srv);
        assert_int_equal(srv.n_requests, 3);
        canned_free(&srv);
}

/* Throttled on every attempt: -EAGAIN with AWS's code, after the policy's attempts. */
static void test_throttled_to_the_end_is_eagain(void **state)
{
        const char *t = resp("HTTP/1.1 400 Bad Request\r\n", "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}");
        const char *responses[] = { t, t };
        struct canned_server srv;
        struct aws_session *s;
        struct opsagent_aws_error e = { 0 };
        json_object *out = NULL;

        assert_int_equal(canned_start(&srv, responses, 2), 0);
        s = session_for(srv.port);
        s->retry.max_attempts = 2;
        assert_int_equal(awsjson_call(s, AWS_SERVICE_LOGS, "PutLogEvents", NULL, &out, &e), -EAGAIN);
        assert_string_equal(e.code, "ThrottlingException");
        assert_non_null(strstr(e.message, "after retries"));
        aws_session_free(s);
        canned_stop(&srv);
        canned_free(&srv);
}

/* A malformed answer to PutLogEvents is not repeated (the events may have been taken); to a
 * Describe call it is. */
static void test_malformed_answer(void **state)
{
        const char *bad = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"oops\": tru";
        const char *responses[] = { bad, bad, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}" };
        struct canned_server srv;
        struct aws_session *s;
        struct opsagent_aws_error e = { 0 };
        json_object *out = NULL;

        assert_int_equal(canned_start(&srv, responses, 3), 0);
        s = session_for(srv.port);
        assert_int_equal(awsjson_call(s, AWS_SERVICE_LOGS, "PutLogEvents", NULL, &out, &e), -EIO);
        assert_string_equal(e.code, "MalformedResponse");
        assert_non_null(strstr(e.message, "may have succeeded"));
        assert_int_equal(awsjson_call(s, AWS_SERVICE_LOGS, "DescribeLogStreams", NULL, &out, &e), 0);
        json_object_put(out);
        aws_session_free(s);
        canned_stop(&srv);
        assert_int_equal(srv.n_requests, 3);
        canned_free(&srv);
}

static void test_parse_error_shapes(void **state)
{
        struct opsagent_aws_error e = { 0 };
        const char *a = "{\"__type\":\"InvalidParameterException:http://internal.amazon.com/\",\"message\":\"m\"}";

        assert_true(awsjson_parse_error(a, strlen(a), &e));
        assert_string_equal(e.code, "InvalidParameterException");
        assert_false(awsjson_parse_error("{\"message\": \"no type\"}", 22, &e));
        assert_false(awsjson_parse_error("<xml/>", 6, &e));
        assert_false(awsjson_parse_error("[1]", 3, &e));
        assert_false(awsjson_parse_error("{\"__type\":\"X\"} trailing", 23, &e));
}

/* Limits an outsider can push: a body over AWSJSON_MAX_BODY, a service that is not JSON. */
static void test_limits_before_sending(void **state)
{
        struct aws_session *s = session_for(1);
        struct awsjson_request req = { .service = AWS_SERVICE_LOGS, .operation = "PutLogEvents" };
        json_object *out = NULL;
        char *big = malloc(AWSJSON_MAX_BODY + 1);

        assert_non_null(big);
        memset(big, ' ', AWSJSON_MAX_BODY + 1);
        req.body = big;
        req.body_len = AWSJSON_MAX_BODY + 1;
        assert_int_equal(awsjson_call_body(s, &req, &out, NULL), -E2BIG);
        assert_string_equal(s->last_error.code, "RequestTooLarge");
        req.service = AWS_SERVICE_EC2;
        req.body_len = 2;
        assert_int_equal(awsjson_call_body(s, &req, &out, NULL), -EINVAL);
        assert_null(awsjson_target_prefix(AWS_SERVICE_CLOUDWATCH));
        assert_string_equal(aws_service_signing_name(AWS_SERVICE_LOGS), "logs");
        assert_string_equal(aws_service_signing_name(AWS_SERVICE_SSM), "ssm");
        aws_session_free(s);
        free(big);
}

/* Regional endpoints for the JSON services, unless overridden. */
static void test_endpoints(void **state)
{
        json_object *attrs = json_tokener_parse("{\"aws\": {\"region\": \"eu-west-1\"}}");
        struct aws_session *s = NULL;
        struct error err = ERROR_INIT;

        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_ENDPOINT_URL_LOGS");
        unsetenv("AWS_ENDPOINT_URL_SSM");
        assert_int_equal(aws_session_new(attrs, NULL, &s, &err), 0);
        assert_string_equal(s->endpoint[AWS_SERVICE_LOGS], "https://logs.eu-west-1.amazonaws.com");
        assert_string_equal(s->endpoint[AWS_SERVICE_SSM], "https://ssm.eu-west-1.amazonaws.com");
        aws_session_free(s);
        json_object_put(attrs);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_target_body_and_answer),
                cmocka_unit_test(test_ssm_target_and_empty_answer),
                cmocka_unit_test(test_error_code_message_and_request_id),
                cmocka_unit_test(test_throttling_is_retried),
                cmocka_unit_test(test_throttled_to_the_end_is_eagain),
                cmocka_unit_test(test_malformed_answer),
                cmocka_unit_test(test_parse_error_shapes),
                cmocka_unit_test(test_limits_before_sending),
                cmocka_unit_test(test_endpoints),
        };

        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
