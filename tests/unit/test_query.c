/* query: error envelopes of EC2 and CloudWatch, form encoding, gzip bodies, the errno mapping,
 * timestamps; cloudwatch: what AWS would reject is refused before anything is sent. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "canned_server.h"
#include "aws/cloudwatch.h"
#include "aws/ec2.h"
#include "aws/awserror.h"
#include "aws/call.h"
#include "aws/query.h"
#include "aws/xml.h"
#include "util/fileio.h"
#include "util/timeutil.h"

static struct xml_node *fixture(const char *name)
{
        char path[1024], *text = NULL;
        size_t len = 0;
        struct xml_node *doc = NULL;
        struct error err = ERROR_INIT;

        snprintf(path, sizeof(path), TEST_DATA_DIR "/aws/%s", name);
        assert_int_equal(read_file_capped(path, 1 << 20, &text, &len), 0);
        assert_int_equal(xml_parse(text, len, &doc, &err), 0);
        free(text);
        return doc;
}

static void test_ec2_error_envelope(void **state)
{
        struct xml_node *doc = fixture("ec2-error.xml");
        struct opsagent_aws_error e = { 0 };

        assert_true(query_parse_error(doc, &e));
        assert_string_equal(e.code, "InvalidSnapshot.InUse");
        assert_non_null(strstr(e.message, "in use by ami-0abcdef1234567890"));
        assert_string_equal(e.request_id, "ea966190-f9aa-478e-9ede-example");
        assert_int_equal(aws_errno_for_code(e.code, 400), -EBUSY);
        xml_free(doc);
}

static void test_cloudwatch_error_envelope(void **state)
{
        struct xml_node *doc = fixture("cloudwatch-error.xml");
        struct opsagent_aws_error e = { 0 };

        assert_true(query_parse_error(doc, &e));
        assert_string_equal(e.code, "Throttling");
        assert_string_equal(e.message, "Rate exceeded");
        assert_string_equal(e.request_id, "9c2a6d5e-2f28-11e6-8a1c-example");
        xml_free(doc);
}

static void test_success_document_is_not_an_error(void **state)
{
        struct xml_node *doc = fixture("describe-snapshots.xml");
        struct opsagent_aws_error e = { 0 };

        assert_false(query_parse_error(doc, &e));
        xml_free(doc);
}

static void test_errno_mapping(void **state)
{
        assert_int_equal(aws_errno_for_code("InvalidSnapshot.NotFound", 400), -ENOENT);
        assert_int_equal(aws_errno_for_code("InvalidInstanceID.NotFound", 400), -ENOENT);
        assert_int_equal(aws_errno_for_code("AuthFailure", 401), -EACCES);
        assert_int_equal(aws_errno_for_code("UnauthorizedOperation", 403), -EACCES);
        assert_int_equal(aws_errno_for_code("InvalidParameterValue", 400), -EINVAL);
        assert_int_equal(aws_errno_for_code("InternalError", 500), -EIO);
        assert_int_equal(aws_errno_for_code(NULL, 503), -EIO);
}

static void test_form_encoding_and_version(void **state)
{
        struct query_request q;

        assert_int_equal(query_request_init(&q, AWS_SERVICE_EC2, "DescribeSnapshots"), 0);
        assert_true(q.idempotent);
        assert_int_equal(query_add(&q, "Filter.1.Name", "tag:opsagent:managed"), 0);
        assert_int_equal(query_addf(&q, "a b&c=d/é", "Filter.%d.Value.%d", 1, 1), 0);
        assert_string_equal(buf_str(&q.params), "Action=DescribeSnapshots&Version=2016-11-15"
                                                "&Filter.1.Name=tag%3Aopsagent%3Amanaged"
                                                "&Filter.1.Value.1=a%20b%26c%3Dd%2F%C3%A9");
        query_request_clear(&q);
        assert_int_equal(query_request_init(&q, AWS_SERVICE_CLOUDWATCH, "PutMetricData"), 0);
        assert_false(q.idempotent);
        assert_string_equal(buf_str(&q.params), "Action=PutMetricData&Version=2010-08-01");
        query_request_clear(&q);
}

/* The body cap is enforced and leaves the request as it was. */
static void test_body_cap(void **state)
{
        struct query_request q;
        char *big = malloc(QUERY_MAX_BODY);
        size_t before;

        assert_non_null(big);
        memset(big, 'x', QUERY_MAX_BODY - 1);
        big[QUERY_MAX_BODY - 1] = '\0';
        assert_int_equal(query_request_init(&q, AWS_SERVICE_EC2, "CreateTags"), 0);
        before = q.params.len;
        assert_int_equal(query_add(&q, "Tag.1.Value", big), -E2BIG);
        assert_int_equal(q.params.len, before);
        query_request_clear(&q);
        free(big);
}

static void test_gzip_round_trip(void **state)
{
        const char *text = "Action=PutMetricData&Version=2010-08-01&Namespace=OpsAgent";
        struct buf gz;
        char out[256];
        z_stream zs = { 0 };

        assert_int_equal(aws_gzip(text, strlen(text), &gz, 4096), 0);
        assert_true(gz.len > 10);
        assert_int_equal((unsigned char)gz.data[0], 0x1f);
        assert_int_equal((unsigned char)gz.data[1], 0x8b);
        assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
        zs.next_in = (unsigned char *)gz.data;
        zs.avail_in = (uInt)gz.len;
        zs.next_out = (unsigned char *)out;
        zs.avail_out = sizeof(out);
        assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
        assert_int_equal(zs.total_out, strlen(text));
        assert_memory_equal(out, text, strlen(text));
        inflateEnd(&zs);
        buf_free(&gz);
}

static void test_parse_time(void **state)
{
        int64_t t;

        assert_int_equal(parse_iso8601_utc("2016-06-18T21:29:36.000Z", &t), 0);
        assert_int_equal(t, 1466285376);
        assert_int_equal(parse_iso8601_utc("2016-06-18T21:29:36Z", &t), 0);
        assert_int_equal(t, 1466285376);
        assert_int_equal(parse_iso8601_utc("yesterday", &t), -EINVAL);
        assert_int_equal(parse_iso8601_utc(NULL, &t), -EINVAL);
}

/* cloudwatch_put_metric_data checks every datum before sending anything (no session needed). */
static void test_cloudwatch_rejects_before_sending(void **state)
{
        /* Built by hand: metric_batch_add() would refuse these datums itself. */
        struct metric d = { .name = "Success", .unit = "Count", .value = 1 };
        struct metric_batch b = { .namespace_ = (char *)"OpsAgent", .items = &d, .n = 1, .alloc = 1 };
        struct error err = ERROR_INIT;

        d.value = NAN;
        assert_int_equal(cloudwatch_put_metric_data(NULL, &b, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "Success"));
        error_clear(&err);
        d.value = INFINITY;
        assert_int_equal(cloudwatch_put_metric_data(NULL, &b, &err), -EINVAL);
        error_clear(&err);
        d.value = 1;
        d.n_dims = METRIC_MAX_DIMS + 1;
        assert_int_equal(cloudwatch_put_metric_data(NULL, &b, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "dimensions"));
        error_clear(&err);
        d.n_dims = 0;
        d.name = (char *)"";
        assert_int_equal(cloudwatch_put_metric_data(NULL, &b, &err), -EINVAL);
        error_clear(&err);
        d.name = (char *)"Success";
        b.namespace_ = (char *)"AWS/EC2";
        assert_int_equal(cloudwatch_put_metric_data(NULL, &b, &err), -EINVAL);
}

/* Limits of the typed calls are enforced before anything is sent (the endpoint is unusable). */
static void test_ec2_limits_before_sending(void **state)
{
        json_object *attrs = json_tokener_parse("{\"aws\": {\"region\": \"us-east-1\"}}");
        struct opsagent_tag tags[EC2_MAX_TAGS + 1];
        const char **ids = calloc(EC2_MAX_IDS + 2, sizeof(*ids));
        struct opsagent_ec2_volume *v = NULL;
        struct aws_session *s = NULL;
        struct error err = ERROR_INIT;
        size_t n = 0;

        assert_non_null(ids);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
        setenv("AWS_ACCESS_KEY_ID", "AKIATEST", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "secret-test", 1);
        assert_int_equal(aws_session_new(attrs, NULL, &s, &err), 0);
        assert_string_equal(s->endpoint[AWS_SERVICE_EC2], "http://127.0.0.1:1");
        for (size_t i = 0; i <= EC2_MAX_TAGS; i++)
                tags[i] = (struct opsagent_tag){ "k", "v" };
        for (size_t i = 0; i <= EC2_MAX_IDS; i++)
                ids[i] = "vol-1";
        assert_int_equal(ec2_create_tags(s, ids + EC2_MAX_IDS, tags, EC2_MAX_TAGS + 1), -E2BIG);
        assert_string_equal(s->last_error.operation, "CreateTags");
        assert_int_equal(ec2_describe_volumes(s, ids, &v, &n), -E2BIG);
        assert_string_equal(s->last_error.operation, "DescribeVolumes");
        aws_session_free(s);
        json_object_put(attrs);
        free(ids);
        unsetenv("AWS_ENDPOINT_URL");
}

/* Without a region from anywhere, the session says where to set one. */
static void test_session_needs_region(void **state)
{
        json_object *attrs = json_object_new_object();
        struct aws_session *s = NULL;
        struct error err = ERROR_INIT;

        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        unsetenv("AWS_REGION");
        unsetenv("AWS_DEFAULT_REGION");
        assert_int_equal(aws_session_new(attrs, NULL, &s, &err), -ENXIO);
        assert_non_null(strstr(err.msg, "aws.region"));
        assert_non_null(strstr(err.msg, "AWS_REGION"));
        json_object_put(attrs);
}

/* Regional endpoints unless overridden; the service variable beats the general one. */
static void test_endpoints(void **state)
{
        json_object *attrs = json_tokener_parse("{\"aws\": {\"region\": \"eu-west-1\"}}");
        struct aws_session *s = NULL;
        struct error err = ERROR_INIT;

        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_ENDPOINT_URL_EC2");
        unsetenv("AWS_ENDPOINT_URL_CLOUDWATCH");
        assert_int_equal(aws_session_new(attrs, NULL, &s, &err), 0);
        assert_string_equal(s->endpoint[AWS_SERVICE_EC2], "https://ec2.eu-west-1.amazonaws.com");
        assert_string_equal(s->endpoint[AWS_SERVICE_CLOUDWATCH], "https://monitoring.eu-west-1.amazonaws.com");
        aws_session_free(s);
        setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
        setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:10", 1);
        assert_int_equal(aws_session_new(attrs, NULL, &s, &err), 0);
        assert_string_equal(s->endpoint[AWS_SERVICE_EC2], "http://127.0.0.1:9");
        assert_string_equal(s->endpoint[AWS_SERVICE_CLOUDWATCH], "http://127.0.0.1:10");
        aws_session_free(s);
        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_ENDPOINT_URL_CLOUDWATCH");
        json_object_put(attrs);
}

static void no_sleep(uint64_t ms, void *userdata)
{
        (void)ms;
        (void)userdata;
}

static double no_jitter(void *userdata)
{
        (void)userdata;
        return 0;
}

/* An HTTP answer of STATUS with BODY (freed at exit: a test's few bytes). */
static const char *ANSWER(const char *status, const char *body)
{
        char *a = NULL;

        assert_true(asprintf(&a, "HTTP/1.1 %s\r\nContent-Type: text/xml\r\nContent-Length: %zu\r\n"
                             "x-amzn-RequestId: rid-1\r\n\r\n%s", status, strlen(body), body) > 0);
        return a;
}
#define E500 "<Response><Errors><Error><Code>InternalError</Code><Message>oops</Message></Error></Errors></Response>"
#define THROTTLED                                                                                       \
        "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors>" \
        "</Response>"
#define CREATED "<CreateSnapshotResponse><snapshotId>snap-1</snapshotId></CreateSnapshotResponse>"

/* Runs one CreateSnapshot (CHECK: with check_outcome) against RESPONSES; its result in *ret.
 * Returns the number of requests the server received. */
static size_t call_against(const char *const *responses, size_t n, bool check, struct query_result *ret,
                           struct canned_server *srv)
{
        size_t received;
        json_object *attrs = json_tokener_parse("{\"aws\": {\"region\": \"us-east-1\"}}");
        struct aws_session *s = NULL;
        struct error err = ERROR_INIT;
        struct query_request q;
        char url[64];

        assert_int_equal(canned_start(srv, responses, n), 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv->port);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        setenv("AWS_ENDPOINT_URL", url, 1);
        setenv("AWS_ACCESS_KEY_ID", "AKIATEST", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "secret-test", 1);
        assert_int_equal(aws_session_new(attrs, NULL, &s, &err), 0);
        s->sleep_ms = no_sleep;
        s->retry.random = no_jitter;
        assert_int_equal(query_request_init(&q, AWS_SERVICE_EC2, "CreateSnapshot"), 0);
        q.check_outcome = check;
        assert_int_equal(query_add(&q, "VolumeId", "vol-1"), 0);
        query_call_many(s, &q, 1, 1, ret);
        query_request_clear(&q);
        aws_session_free(s);
        json_object_put(attrs);
        unsetenv("AWS_ENDPOINT_URL");
        canned_stop(srv);
        received = srv->n_requests;
        canned_free(srv);
        return received;
}

/* A call that must not be done twice stops at the first answer that leaves its outcome unknown,
 * and says so; throttling (which says nothing was done) is retried as for any call. */
static void test_unknown_outcome_stops_a_checked_call(void **state)
{
        const char *e500[3], *throttled[2];
        struct canned_server srv;
        struct query_result res = { 0 };

        for (size_t i = 0; i < 3; i++)
                e500[i] = ANSWER("500 Internal Server Error", E500);
        throttled[0] = ANSWER("503 Service Unavailable", THROTTLED);
        throttled[1] = ANSWER("200 OK", CREATED);
        assert_int_equal(call_against(e500, 3, true, &res, &srv), 1);
        assert_int_equal(res.result, -EIO);
        assert_true(res.outcome_unknown);
        assert_int_equal(res.attempts, 1);
        assert_string_equal(res.error.code, "InternalError");
        assert_string_equal(res.error.request_id, "rid-1");
        assert_non_null(strstr(res.error.message, "outcome is unknown"));
        query_result_clear(&res);

        call_against(e500, 3, false, &res, &srv);      /* as before for every other call */
        assert_int_equal(res.result, -EIO);
        assert_false(res.outcome_unknown);
        assert_int_equal(res.attempts, RETRY_DEFAULT_MAX_ATTEMPTS);
        query_result_clear(&res);

        call_against(throttled, 2, true, &res, &srv);
        assert_int_equal(res.result, 0);
        assert_int_equal(res.attempts, 2);
        assert_string_equal(xml_path_text(res.doc, "snapshotId"), "snap-1");
        query_result_clear(&res);

        {
                /* the connection closes once the request is read: sent, outcome unknown */
                const char *nothing[] = { "" };

                call_against(nothing, 1, true, &res, &srv);
                assert_true(res.result < 0);
                assert_true(res.outcome_unknown);
                assert_int_equal(res.attempts, 1);
                query_result_clear(&res);
        }
        for (size_t i = 0; i < 3; i++)
                free((char *)e500[i]);
        free((char *)throttled[0]);
        free((char *)throttled[1]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ec2_error_envelope),
                cmocka_unit_test(test_cloudwatch_error_envelope),
                cmocka_unit_test(test_success_document_is_not_an_error),
                cmocka_unit_test(test_errno_mapping),
                cmocka_unit_test(test_form_encoding_and_version),
                cmocka_unit_test(test_body_cap),
                cmocka_unit_test(test_gzip_round_trip),
                cmocka_unit_test(test_parse_time),
                cmocka_unit_test(test_cloudwatch_rejects_before_sending),
                cmocka_unit_test(test_ec2_limits_before_sending),
                cmocka_unit_test(test_session_needs_region),
                cmocka_unit_test(test_endpoints),
                cmocka_unit_test(test_unknown_outcome_stops_a_checked_call),
        };
        return cmocka_run_group_tests_name("query", tests, NULL, NULL);
}
