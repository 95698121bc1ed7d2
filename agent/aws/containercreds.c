#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "containercreds.h"
#include "http.h"
#include "util/fileio.h"
#include "util/log.h"

static const char *env_nonempty(const char *name)
{
        const char *v = getenv(name);

        return v && *v ? v : NULL;
}

bool containercreds_configured(void)
{
        return env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ||
               env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
}

int containercreds_url(char **ret, const char **ret_var)
{
        const char *rel = env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        const char *full = env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        char *u = NULL;

        if (rel) {
                if (asprintf(&u, "http://" CONTAINERCREDS_ECS_ADDRESS "%s%s", rel[0] == '/' ? "" : "/", rel) < 0)
                        return -ENOMEM;
                *ret_var = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
        } else if (full) {
                u = strdup(full);
                if (!u)
                        return -ENOMEM;
                *ret_var = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
        } else {
                return -ENOENT;
        }
        *ret = u;
        return 0;
}

static bool loopback(const char *host)
{
        struct in_addr a4;
        struct in6_addr a6;

        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (inet_pton(AF_INET6, host, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6);
        return false;
}

int containercreds_check_url(const char *url, struct error *err)
{
        static const char *const allowed[] = { CONTAINERCREDS_ECS_ADDRESS, "169.254.170.23", "fd00:ec2::23",
                                               "localhost" };
        char *scheme = NULL, *host = NULL;
        int r;

        r = http_url_scheme_host(url, &scheme, &host);
        if (r < 0)
                return error_set(err, -EINVAL, "container credentials URL \"%s\" is not a URL", url);
        r = -EACCES;
        if (strcasecmp(scheme, "https") == 0 || loopback(host))
                r = 0;
        for (size_t i = 0; r < 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
                if (strcasecmp(host, allowed[i]) == 0)
                        r = 0;
        if (r < 0)
                error_set(err, r,
                          "container credentials URL \"%s\": credentials are asked over http only of a loopback "
                          "address or of 169.254.170.2, 169.254.170.23, fd00:ec2::23 (as the AWS SDKs): use https "
                          "or one of those", url);
        free(scheme);
        free(host);
        return r;
}

/* The Authorization header's value, or NULL (*ret) when none is configured. */
static int auth_token(char **ret, struct error *err)
{
        const char *file = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        const char *tok = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        char *t = NULL;
        int r;

        *ret = NULL;
        if (file) {
                r = read_file_capped(file, CREDENTIALS_TOKEN_FILE_MAX, &t, NULL);
                if (r < 0)
                        return error_set(err, r, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: cannot read: %s", file,
                                         r == -EFBIG ? "larger than the limit" : strerror(-r));
        } else if (tok) {
                t = strdup(tok);
                if (!t)
                        return -ENOMEM;
        } else {
                return 0;
        }
        log_register_secret(t);
        if (strpbrk(t, "\r\n")) {
                free(t);
                return error_set(err, -EINVAL, "the container authorization token (%s) holds a line break: not a "
                                 "valid header value", file ? "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
                                                             : "AWS_CONTAINER_AUTHORIZATION_TOKEN");
        }
        *ret = t;
        return 0;
}

static void pause_ms(long ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int containercreds_fetch(struct aws_credentials *ret, struct error *err)
{
        struct http_client *http = NULL;
        struct http_xfer x = { 0 };
        const char *var = NULL;
        char *url = NULL, *token = NULL, what[256];
        int r;

        r = containercreds_url(&url, &var);
        if (r < 0)
                return r == -ENOENT ? error_set(err, -ENOKEY, "no container credentials URL is set") : r;
        r = containercreds_check_url(url, err);
        if (r >= 0)
                r = auth_token(&token, err);
        if (r >= 0)
                r = http_client_new(HTTP_NO_PROXY, &http);
        if (r < 0)
                goto out;
        for (unsigned attempt = 1; attempt <= CONTAINERCREDS_ATTEMPTS; attempt++) {
                struct http_request req = {
                        .method = "GET",
                        .url = url,
                        .timeout_ms = CONTAINERCREDS_TIMEOUT_MS,
                        .connect_timeout_ms = CONTAINERCREDS_TIMEOUT_MS,
                        .max_response = CONTAINERCREDS_MAX_RESPONSE,
                };

                req.headers[req.n_headers++] = (struct http_header){ "Accept", "application/json" };
                if (token)
                        req.headers[req.n_headers++] = (struct http_header){ "Authorization", token };
                http_xfer_clear(http, &x);
                r = http_perform(http, &req, &x);
                if (r >= 0)
                        r = x.result;
                if (r >= 0 && x.status == 200)
                        break;
                /* what another attempt cannot change: too much, or a refusal */
                if (r == -E2BIG || (r >= 0 && x.status < 500))
                        break;
                if (attempt < CONTAINERCREDS_ATTEMPTS)
                        pause_ms(CONTAINERCREDS_PAUSE_MS);
        }
        if (r == -E2BIG) {
                r = error_set(err, r, "container credentials at %s (%s): the answer is larger than %d bytes", url,
                              var, CONTAINERCREDS_MAX_RESPONSE);
                goto out;
        }
        if (r < 0) {
                r = error_set(err, r, "container credentials at %s (%s): %s", url, var,
                              x.error[0] ? x.error : strerror(-r));
                goto out;
        }
        if (x.status != 200) {
                r = error_set(err, -EACCES, "container credentials at %s (%s) answered HTTP %ld", url, var, x.status);
                goto out;
        }
        snprintf(what, sizeof(what), "container credentials at %s", url);
        r = credentials_parse_document(buf_str(&x.body), what, CREDENTIALS_CONTAINER, ret, err);
out:
        http_xfer_clear(http, &x);
        http_client_free(http);
        free(url);
        free(token);
        return r;
}
