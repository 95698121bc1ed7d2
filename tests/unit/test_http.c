/* http: libcurl loaded on first use only, status, the Date and request-id headers, the body cap,
 * connection reuse, and errno for transport failures. */
#include <dlfcn.h>
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

/* Runs first: this program is not linked with libcurl, and a client made and freed without a
 * transfer does not load it; the first URL function (or transfer) does. */
static void test_libcurl_loaded_on_first_use(void **state)
{
        struct http_client *c = NULL;
        char *hp = NULL, *path = NULL;

        assert_null(dlopen("libcurl.so.4", RTLD_LAZY | RTLD_NOLOAD));
        assert_int_equal(http_client_new(0, &c), 0);
        http_client_free(c);
        assert_null(dlopen("libcurl.so.4", RTLD_LAZY | RTLD_NOLOAD));
        assert_int_equal(http_url_split("https://ec2.us-east-1.amazonaws.com:8443/x?y", &hp, &path), 0);
        assert_string_equal(hp, "ec2.us-east-1.amazonaws.com:8443");
        assert_string_equal(path, "/x");
        assert_non_null(dlopen("libcurl.so.4", RTLD_LAZY | RTLD_NOLOAD));
        assert_int_equal((long)http_getdate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777L);
        assert_int_equal((long)http_getdate("not a date"), -1L);
        assert_int_equal((long)http_parse_date("not a date"), 0L);
        free(hp);
        free(path);
}

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

static void collect(void *userdata, const char *data, size_t len)
{
        assert_int_equal(buf_append(userdata, data, len), 0);
}

/* With on_data, a 2xx body goes to it as it arrives (x->body stays empty), up to the cap; an
 * error answer's body is kept in x->body as always. */
static void test_body_streamed(void **state)
{
        const char *responses[] = {
                "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\n<err>",
                "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
        };
        struct canned_server srv;
        struct http_client *c = NULL;
        struct http_xfer x = { 0 };
        struct buf got = BUF_INIT(1 << 20);
        char url[64];
        struct http_request req = { .method = "GET", .url = url, .on_data = collect, .on_data_userdata = &got };

        assert_int_equal(canned_start(&srv, responses, 3), 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/a", srv.port);
        assert_int_equal(http_client_new(HTTP_NO_PROXY, &c), 0);
        assert_int_equal(http_perform(c, &req, &x), 0);
        assert_int_equal(x.result, 0);
        assert_int_equal(x.status, 200);
        assert_int_equal(buf_len(&x.body), 0);
        assert_string_equal(buf_str(&got), "hello world");
        http_xfer_clear(c, &x);
        buf_truncate(&got, 0);
        assert_int_equal(http_perform(c, &req, &x), 0);
        assert_int_equal(x.status, 400);
        assert_string_equal(buf_str(&x.body), "<err>");
        assert_int_equal(buf_len(&got), 0);
        http_xfer_clear(c, &x);
        req.max_response = 5;      /* over the cap: as for a kept body */
        assert_int_equal(http_perform(c, &req, &x), 0);
        assert_int_equal(x.result, -E2BIG);
        http_xfer_clear(c, &x);
        http_client_free(c);
        canned_stop(&srv);
        canned_free(&srv);
        buf_free(&got);
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

/* Whether the request may have reached the server: what decides if a call that changes
 * something may be repeated. */
static void test_sent(void **state)
{
        const char *responses[] = { "" };   /* reads the request, answers nothing, closes */
        struct canned_server srv;
        struct http_client *c = NULL;
        struct http_xfer x = { 0 };
        char url[64];
        struct http_request req = { .method = "POST", .url = url, .body = "Action=CreateSnapshot", .body_len = 21,
                                    .timeout_ms = 500 };
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t al = sizeof(a);
        int silent;

        assert_int_equal(http_client_new(HTTP_NO_PROXY, &c), 0);
        /* nothing listens: surely not sent */
        req.url = "http://127.0.0.1:1/";
        assert_int_equal(http_perform(c, &req, &x), 0);
        assert_int_equal(x.result, -ECONNREFUSED);
        assert_false(x.sent);
        http_xfer_clear(c, &x);
        /* the connection closed after the request was read: it may have been carried out */
        assert_int_equal(canned_start(&srv, responses, 1), 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv.port);
        req.url = url;
        assert_int_equal(http_perform(c, &req, &x), 0);
        assert_true(x.result < 0);
        assert_true(x.sent);
        http_xfer_clear(c, &x);
        canned_stop(&srv);
        assert_int_equal(srv.n_requests, 1);
        canned_free(&srv);
        /* a listener that never answers: the request sits in its socket, the transfer times out */
        silent = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(silent >= 0);
        assert_int_equal(bind(silent, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(silent, 4), 0);
        assert_int_equal(getsockname(silent, (struct sockaddr *)&a, &al), 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(a.sin_port));
        assert_int_equal(http_perform(c, &req, &x), 0);
        assert_int_equal(x.result, -ETIMEDOUT);
        assert_true(x.sent);
        http_xfer_clear(c, &x);
        close(silent);
        /* an answer: sent; a request on a connection of its own opens one and closes it */
        {
                const char *ok[] = { "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
                                     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                                     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" };

                assert_int_equal(canned_start(&srv, ok, 3), 0);
                snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv.port);
                req.fresh_connection = true;     /* (the server reads one connection at a time) */
                assert_int_equal(http_perform(c, &req, &x), 0);
                assert_int_equal(x.status, 500);
                assert_true(x.sent);
                http_xfer_clear(c, &x);
                assert_int_equal(http_perform(c, &req, &x), 0);
                assert_int_equal(x.status, 200);
                http_xfer_clear(c, &x);
                assert_int_equal(http_perform(c, &req, &x), 0);
                assert_int_equal(x.status, 200);
                http_xfer_clear(c, &x);
                canned_stop(&srv);
                assert_int_equal(srv.connections, 3);
                canned_free(&srv);
        }
        http_client_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_libcurl_loaded_on_first_use),  /* first: nothing loaded it yet */
                cmocka_unit_test(test_status_headers_and_reuse),
                cmocka_unit_test(test_long_header_sent_whole),
                cmocka_unit_test(test_body_cap),
                cmocka_unit_test(test_body_streamed),
                cmocka_unit_test(test_transport_errors),
                cmocka_unit_test(test_sent),
        };
        return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
