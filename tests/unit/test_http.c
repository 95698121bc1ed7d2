/* http: status, the Date and request-id headers, the body cap, connection reuse, and errno for
 * transport failures. */
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
#include <curl/curl.h>

#include "aws/http.h"

static void test_status_headers_and_reuse(void **state)
{
        const char *responses[] = {
                "HTTP/1.1 200 OK\r\nDate: Sun, 30 Aug 2015 12:36:00 GMT\r\nx-amzn-RequestId: req-1\r\n"
                "Content-Length: 5\r\n\r\nhello",
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
        };
        struct canned_server srv;
        struct http_client *c = NULL;
        struct http_xfer x = { 0 };
        char url[64];
        struct http_request req = { .method = "GET", .url = url,
                                    .keep_headers = { "date", "X-Amzn-RequestId", "x-amz-request-id" } };

        assert_int_equal(canned_start(&srv, responses, 2), 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/a", srv.port);
        assert_int_equal(http_client_new(HTTP_NO_PROXY, &c), 0);
        req.headers[0] = (struct http_header){ "X-Test", "1" };
        req.n_headers = 1;
        assert_int_equal(http_perform(c, &req, &x), 0);
        assert_int_equal(x.result, 0);
        assert_int_equal(x.status, 200);
        assert_string_equal(buf_str(&x.body), "hello");
        assert_string_equal(http_xfer_header(&x, "Date"), "Sun, 30 Aug 2015 12:36:00 GMT");
        assert_string_equal(http_xfer_header(&x, "x-amzn-requestid"), "req-1");
        assert_null(http_xfer_header(&x, "x-amz-request-id"));
        http_xfer_clear(c, &x);
        assert_int_equal(http_perform(c, &req, &x), 0);
        assert_int_equal(x.status, 503);
        http_xfer_clear(c, &x);
        http_client_free(c);
        canned_stop(&srv);
        assert_int_equal(srv.connections, 1);  /* the second request reused the connection */
        assert_non_null(strstr(srv.requests[0], "X-Test: 1\r\n"));
        assert_null(strstr(srv.requests[0], "Expect:"));
        canned_free(&srv);
}

/* A header value is sent whole whatever its length: an STS session token can be longer than
 * 8 KiB, and a cut one made every signature wrong. */
static void test_long_header_sent_whole(void **state)
{
        const char *responses[] = { "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" };
        struct canned_server srv;
        struct http_client *c = NULL;
        struct http_xfer x = { 0 };
        char url[64], *token = malloc(20001), *line = NULL;
        struct http_request req = { .method = "GET", .url = url };

        assert_non_null(token);
        memset(token, 'T', 20000);
        token[20000] = '\0';
        assert_int_equal(canned_start(&srv, responses, 1), 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv.port);
        req.headers[0] = (struct http_header){ "X-Amz-Security-Token", token };
        req.n_headers = 1;
        assert_int_equal(http_client_new(HTTP_NO_PROXY, &c), 0);
        assert_int_equal(http_perform(c, &req, &x), 0);
        assert_int_equal(x.status, 200);
        http_xfer_clear(c, &x);
        http_client_free(c);
        canned_stop(&srv);
        assert_true(asprintf(&line, "X-Amz-Security-Token: %s\r\n", token) > 0);
        assert_non_null(strstr(srv.requests[0], line));
        free(line);
        free(token);
        canned_free(&srv);
}

static void test_body_cap(void **state)
{
        const char *responses[] = { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789" };
        struct canned_server srv;
        struct http_client *c = NULL;
        struct http_xfer x = { 0 };
        char url[64];
        struct http_request req = { .method = "GET", .url = url, .max_response = 9 };

        assert_int_equal(canned_start(&srv, responses, 1), 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv.port);
        assert_int_equal(http_client_new(0, &c), 0);
        assert_int_equal(http_perform(c, &req, &x), 0);
        assert_int_equal(x.result, -E2BIG);
        http_xfer_clear(c, &x);
        http_client_free(c);
        canned_stop(&srv);
        canned_free(&srv);
}

static void test_transport_errors(void **state)
{
        struct http_client *c = NULL;
        struct http_xfer x = { 0 };
        struct http_request req = { .method = "GET", .url = "http://127.0.0.1:1/" };

        assert_int_equal(http_client_new(0, &c), 0);
        assert_int_equal(http_perform(c, &req, &x), 0);
        assert_int_equal(x.result, -ECONNREFUSED);
        assert_int_equal(x.status, 0);
        assert_true(x.error[0] != '\0');
        http_xfer_clear(c, &x);
        req.url = "file:///etc/passwd";  /* only http and https */
        assert_int_equal(http_perform(c, &req, &x), 0);
        assert_int_equal(x.result, -EINVAL);
        assert_int_equal(buf_len(&x.body), 0);
        http_xfer_clear(c, &x);
        http_client_free(c);
        assert_int_equal(http_errno_from_curl(CURLE_OPERATION_TIMEDOUT), -ETIMEDOUT);
        assert_int_equal(http_errno_from_curl(CURLE_COULDNT_RESOLVE_HOST), -EHOSTUNREACH);
        assert_int_equal(http_errno_from_curl(CURLE_OK), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_headers_and_reuse),
                cmocka_unit_test(test_long_header_sent_whole),
                cmocka_unit_test(test_body_cap),
                cmocka_unit_test(test_transport_errors),
        };
        return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
