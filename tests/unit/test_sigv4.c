/* sigv4: every case of AWS's SigV4 suite (tests/data/sigv4, from awslabs/aws-c-auth) must give
 * the same canonical request, string to sign and signature, byte for byte (header signing). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "aws/sigv4.h"
#include "util/buf.h"
#include "util/fileio.h"

#define SUITE TEST_DATA_DIR "/sigv4"
#define MAX_CASES 128

static char *read_case_file(const char *dir, const char *name)
{
        char path[4096];
        char *text = NULL;

        snprintf(path, sizeof(path), "%s/%s/%s", SUITE, dir, name);
        if (read_file_capped(path, 1 << 20, &text, NULL) < 0)
                return NULL;
        return text;
}

struct parsed_request {
        char *method;
        char *path;
        char *query;
        struct sigv4_header headers[SIGV4_MAX_HEADERS];
        char *names[SIGV4_MAX_HEADERS];
        struct buf values[SIGV4_MAX_HEADERS];
        size_t n;
        const char *body;
        size_t body_len;
};

/* request.txt: "METHOD PATH HTTP/1.1", headers (continuation lines start with blanks), an
 * empty line, the body. */
static void parse_request(char *text, struct parsed_request *pr)
{
        char *line_end = strchr(text, '\n');
        char *sp, *http, *q, *p;

        memset(pr, 0, sizeof(*pr));
        assert_non_null(line_end);
        *line_end = '\0';
        sp = strchr(text, ' ');
        assert_non_null(sp);
        *sp = '\0';
        pr->method = text;
        http = strstr(sp + 1, " HTTP/");
        assert_non_null(http);
        *http = '\0';
        pr->path = sp + 1;
        q = strchr(pr->path, '?');
        if (q) {
                *q = '\0';
                pr->query = q + 1;
        }
        p = line_end + 1;
        while (*p) {
                char *nl = strchr(p, '\n');
                char *colon;

                if (nl)
                        *nl = '\0';
                if (*p == '\0') {
                        if (nl) {
                                pr->body = nl + 1;
                                pr->body_len = strlen(nl + 1);
                        }
                        break;
                }
                if ((*p == ' ' || *p == '\t') && pr->n > 0) {
                        assert_int_equal(buf_printf(&pr->values[pr->n - 1], " %s", p), 0);
                } else {
                        colon = strchr(p, ':');
                        assert_non_null(colon);
                        *colon = '\0';
                        assert_true(pr->n < SIGV4_MAX_HEADERS);
                        pr->names[pr->n] = p;
                        buf_init(&pr->values[pr->n], 1 << 16);
                        assert_int_equal(buf_puts(&pr->values[pr->n], colon + 1), 0);
                        pr->n++;
                }
                if (!nl)
                        break;
                p = nl + 1;
        }
        for (size_t i = 0; i < pr->n; i++) {
                pr->headers[i].name = pr->names[i];
                pr->headers[i].value = buf_str(&pr->values[i]);
        }
}

static void free_request(struct parsed_request *pr)
{
        for (size_t i = 0; i < pr->n; i++)
                buf_free(&pr->values[i]);
}

static time_t parse_iso8601(const char *s)
{
        struct tm tm = { 0 };

        assert_non_null(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm));
        return timegm(&tm);
}

static bool ctx_bool(json_object *ctx, const char *key)
{
        json_object *o;

        return json_object_object_get_ex(ctx, key, &o) && json_object_get_boolean(o);
}

static const char *ctx_string(json_object *ctx, const char *key)
{
        json_object *o;

        return json_object_object_get_ex(ctx, key, &o) ? json_object_get_string(o) : NULL;
}

static void test_suite_case(void **state)
{
        const char *dir = *state;
        char *request = read_case_file(dir, "request.txt");
        char *context = read_case_file(dir, "context.json");
        char *want_creq = read_case_file(dir, "header-canonical-request.txt");
        char *want_sts = read_case_file(dir, "header-string-to-sign.txt");
        char *want_sig = read_case_file(dir, "header-signature.txt");
        char *want_signed = read_case_file(dir, "header-signed-request.txt");
        json_object *ctx, *creds;
        struct parsed_request pr;
        struct sigv4_request req;
        struct sigv4_credentials cred;
        struct sigv4_signed s;
        unsigned flags = 0;
        char auth_line[8192];

        assert_non_null(request);
        assert_non_null(context);
        assert_non_null(want_creq);
        assert_non_null(want_sts);
        assert_non_null(want_sig);
        assert_non_null(want_signed);
        ctx = json_tokener_parse(context);
        assert_non_null(ctx);
        assert_true(json_object_object_get_ex(ctx, "credentials", &creds));

        parse_request(request, &pr);
        req = (struct sigv4_request){
                .method = pr.method,
                .path = pr.path,
                .query = pr.query,
                .headers = pr.headers,
                .n_headers = pr.n,
                .body = pr.body,
                .body_len = pr.body_len,
        };
        cred = (struct sigv4_credentials){
                .access_key_id = ctx_string(creds, "access_key_id"),
                .secret_access_key = ctx_string(creds, "secret_access_key"),
                .session_token = ctx_string(creds, "token"),
        };
        if (ctx_bool(ctx, "normalize"))
                flags |= SIGV4_NORMALIZE_PATH;
        if (ctx_bool(ctx, "sign_body"))
                flags |= SIGV4_SIGN_BODY;
        if (ctx_bool(ctx, "omit_session_token"))
                flags |= SIGV4_OMIT_SESSION_TOKEN;

        assert_int_equal(sigv4_sign(&req, &cred, ctx_string(ctx, "region"), ctx_string(ctx, "service"),
                                    parse_iso8601(ctx_string(ctx, "timestamp")), flags, &s), 0);
        assert_string_equal(s.canonical_request, want_creq);
        assert_string_equal(s.string_to_sign, want_sts);
        assert_string_equal(s.signature, want_sig);
        /* The Authorization header AWS's signed request carries. */
        snprintf(auth_line, sizeof(auth_line), "\nAuthorization:%s\n", s.authorization);
        assert_non_null(strstr(want_signed, auth_line));

        sigv4_signed_clear(&s);
        free_request(&pr);
        json_object_put(ctx);
        free(request);
        free(context);
        free(want_creq);
        free(want_sts);
        free(want_sig);
        free(want_signed);
}

/* Canonicalization on its own. */
static void test_uri_encode(void **state)
{
        struct buf b = BUF_INIT(256);

        assert_int_equal(sigv4_uri_encode(&b, "a b/c~*+=", 9, true), 0);
        assert_string_equal(buf_str(&b), "a%20b%2Fc~%2A%2B%3D");
        buf_reset(&b);
        assert_int_equal(sigv4_uri_encode(&b, "/x y/", 5, false), 0);
        assert_string_equal(buf_str(&b), "/x%20y/");
        buf_free(&b);
}

static void test_canonical_query_sorts_and_reencodes(void **state)
{
        struct buf b = BUF_INIT(256);

        assert_int_equal(sigv4_canonical_query(&b, "b=2&a=%7e&a=1&c&Z=x+y"), 0);
        assert_string_equal(buf_str(&b), "Z=x%2By&a=1&a=~&b=2&c=");
        buf_free(&b);
}

static void test_canonical_path_normalization(void **state)
{
        struct buf b = BUF_INIT(256);

        assert_int_equal(sigv4_canonical_path(&b, "/a/./b/../c//d/", true), 0);
        assert_string_equal(buf_str(&b), "/a/c/d/");
        buf_reset(&b);
        assert_int_equal(sigv4_canonical_path(&b, "/../..", true), 0);
        assert_string_equal(buf_str(&b), "/");
        buf_reset(&b);
        assert_int_equal(sigv4_canonical_path(&b, "", true), 0);
        assert_string_equal(buf_str(&b), "/");
        buf_free(&b);
}

/* Without a Host header nothing is signed. */
static void test_host_required(void **state)
{
        struct sigv4_header h[] = { { "Content-Type", "text/plain" } };
        struct sigv4_request req = { .method = "GET", .path = "/", .headers = h, .n_headers = 1 };
        struct sigv4_credentials cred = { "AKID", "SECRETSECRET", NULL };
        struct sigv4_signed s;

        assert_int_equal(sigv4_sign(&req, &cred, "us-east-1", "ec2", 0, 0, &s), -EINVAL);
}

/* The header limit is enforced. */
static void test_too_many_headers(void **state)
{
        struct sigv4_header h[SIGV4_MAX_HEADERS + 1];
        char names[SIGV4_MAX_HEADERS + 1][16];
        struct sigv4_request req = { .method = "GET", .path = "/", .headers = h };
        struct sigv4_credentials cred = { "AKID", "SECRETSECRET", NULL };
        struct sigv4_signed s;

        for (size_t i = 0; i <= SIGV4_MAX_HEADERS; i++) {
                snprintf(names[i], sizeof(names[i]), "x-h%zu", i);
                h[i].name = i == 0 ? "Host" : names[i];
                h[i].value = "v";
        }
        req.n_headers = SIGV4_MAX_HEADERS;
        assert_int_equal(sigv4_sign(&req, &cred, "us-east-1", "ec2", 0, 0, &s), 0);
        sigv4_signed_clear(&s);
        req.n_headers = SIGV4_MAX_HEADERS + 1;
        assert_int_equal(sigv4_sign(&req, &cred, "us-east-1", "ec2", 0, 0, &s), -EINVAL);
}

/* A session token is signed (EC2 requires it), and the secret never appears in what is
 * returned. */
static void test_session_token_signed_secret_absent(void **state)
{
        struct sigv4_header h[] = { { "Host", "ec2.us-east-1.amazonaws.com" } };
        struct sigv4_request req = { .method = "POST", .path = "/", .headers = h, .n_headers = 1,
                                     .body = "Action=DescribeVolumes", .body_len = 22 };
        struct sigv4_credentials cred = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "TOKEN123" };
        struct sigv4_signed s;

        assert_int_equal(sigv4_sign(&req, &cred, "us-east-1", "ec2", 1440938160, 0, &s), 0);
        assert_non_null(strstr(s.canonical_request, "x-amz-security-token:TOKEN123\n"));
        assert_non_null(strstr(s.authorization, "SignedHeaders=host;x-amz-date;x-amz-security-token,"));
        assert_null(strstr(s.canonical_request, cred.secret_access_key));
        assert_null(strstr(s.string_to_sign, cred.secret_access_key));
        assert_null(strstr(s.authorization, cred.secret_access_key));
        sigv4_signed_clear(&s);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
        static struct CMUnitTest tests[MAX_CASES + 8];
        char *names[MAX_CASES];
        size_t n = 0, nt = 0;
        struct dirent *de;
        DIR *d = opendir(SUITE);
        int r;

        if (!d) {
                fprintf(stderr, "cannot open %s: %s\n", SUITE, strerror(errno));
                return 1;
        }
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || strcmp(de->d_name, "LICENSE") == 0 || strcmp(de->d_name, "NOTICE") == 0)
                        continue;
                if (n >= MAX_CASES)
                        break;
                names[n] = strdup(de->d_name);
                if (!names[n])
                        return 1;
                n++;
        }
        closedir(d);
        qsort(names, n, sizeof(names[0]), cmp_str);
        /* The suite has 38 cases; a smaller count means the copy is broken. */
        if (n < 38) {
                fprintf(stderr, "only %zu cases in %s\n", n, SUITE);
                return 1;
        }
        for (size_t i = 0; i < n; i++)
                tests[nt++] = (struct CMUnitTest){ names[i], test_suite_case, NULL, NULL, names[i] };
        tests[nt++] = (struct CMUnitTest){ "uri_encode", test_uri_encode, NULL, NULL, NULL };
        tests[nt++] = (struct CMUnitTest){ "canonical_query_sorts_and_reencodes",
                                           test_canonical_query_sorts_and_reencodes, NULL, NULL, NULL };
        tests[nt++] = (struct CMUnitTest){ "canonical_path_normalization", test_canonical_path_normalization,
                                           NULL, NULL, NULL };
        tests[nt++] = (struct CMUnitTest){ "host_required", test_host_required, NULL, NULL, NULL };
        tests[nt++] = (struct CMUnitTest){ "too_many_headers", test_too_many_headers, NULL, NULL, NULL };
        tests[nt++] = (struct CMUnitTest){ "session_token_signed_secret_absent",
                                           test_session_token_signed_secret_absent, NULL, NULL, NULL };
        r = _cmocka_run_group_tests("sigv4", tests, nt, NULL, NULL);
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        return r;
}
