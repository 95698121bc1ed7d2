#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http.h"

/* What a transfer holds of libcurl's. */
struct transfer {
        CURL *easy;
        struct curl_slist *hdrs;
        char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
        CURLM *multi;
        unsigned flags;
        size_t n_active;
        char *test_origin;      /* tests: where every request really goes */
};

/* libcurl is loaded on first use, not linked: with the libraries it pulls in (GnuTLS, Kerberos,
 * LDAP, SSH, ...), loading it is some 9.6 million instructions, two thirds of the agent's
 * start-up, that a run which never talks HTTP (logrotate, unattended_upgrades, status) would
 * pay for nothing. Only libcurl's functions below are used, each resolved by name; their types
 * come from <curl/curl.h>, so a call is type-checked as a direct one would be. */
#define CURL_SONAME "libcurl.so.4"

#define CURL_FUNCS(X)                                                                           \
        X(global_init) X(easy_init) X(easy_cleanup) X(easy_setopt) X(easy_getinfo)             \
        X(easy_strerror) X(slist_append) X(slist_free_all) X(multi_init) X(multi_cleanup)      \
        X(multi_add_handle) X(multi_remove_handle) X(multi_perform) X(multi_poll)              \
        X(multi_info_read) X(url) X(url_set) X(url_get) X(url_cleanup) X(free) X(getdate)

static struct {
#define X(name) __typeof__(curl_##name) *name;
        CURL_FUNCS(X)
#undef X
        int error;              /* 0 once loaded, -ELIBACC when libcurl cannot be loaded */
} lib;

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_load(void)
{
        void *h = dlopen(CURL_SONAME, RTLD_LAZY | RTLD_LOCAL);

        lib.error = -ELIBACC;
        if (!h)
                return;
#define X(name)                                                                                 \
        lib.name = (__typeof__(lib.name))dlsym(h, "curl_" #name);                               \
        if (!lib.name)                                                                          \
                return;
        CURL_FUNCS(X)
#undef X
        if (lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return;
        lib.error = 0;          /* the handle stays open for the life of the process */
}

/* 0 when libcurl is usable, -ELIBACC when it cannot be loaded (or lacks a function). */
static int curl_lib(void)
{
        pthread_once(&lib_once, lib_load);
        return lib.error;
}

int http_errno_from_curl(int code)
{
        switch ((CURLcode)code) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_WRITE_ERROR:
                return -E2BIG;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EINVAL;
        default:
                return -EIO;
        }
}

int http_client_new(unsigned flags, struct http_client **ret)
{
        struct http_client *c;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->flags = flags;
        *ret = c;
        return 0;
}

void http_client_free(struct http_client *c)
{
        if (!c)
                return;
        if (c->multi)
                lib.multi_cleanup(c->multi);
        free(c->test_origin);
        free(c);
}

time_t http_getdate(const char *date)
{
        return curl_lib() < 0 ? (time_t)-1 : lib.getdate(date, NULL);
}

time_t http_parse_date(const char *date)
{
        time_t t = http_getdate(date);

        return t == (time_t)-1 ? 0 : t;
}

int http_client_set_test_origin(struct http_client *c, const char *origin)
{
        char *o = origin ? strdup(origin) : NULL;

        if (origin && !o)
                return -ENOMEM;
        free(c->test_origin);
        c->test_origin = o;
        return 0;
}

/* URL with its scheme, host and port replaced by ORIGIN (caller frees). */
static char *redirected(const char *origin, const char *url)
{
        CURLU *u = curl_lib() < 0 ? NULL : lib.url();
        char *path = NULL, *query = NULL, *out = NULL;

        if (!u)
                return NULL;
        if (lib.url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            lib.url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
                if (lib.url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
                        query = NULL;
                if (asprintf(&out, "%s%s%s%s", origin, path, query ? "?" : "", query ? query : "") < 0)
                        out = NULL;
        }
        lib.free(path);
        lib.free(query);
        lib.url_cleanup(u);
        return out;
}

int http_url_scheme_host(const char *url, char **ret_scheme, char **ret_host)
{
        CURLU *u;
        char *scheme = NULL, *host = NULL, *s = NULL, *h = NULL;
        int r = -EINVAL;

        r = curl_lib();
        if (r < 0)
                return r;
        r = -EINVAL;
        u = lib.url();
        if (!u)
                return -ENOMEM;
        if (lib.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            lib.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            lib.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                goto out;
        r = -ENOMEM;
        s = strdup(scheme);
        if (host[0] == '[')
                h = strndup(host + 1, strcspn(host + 1, "]"));
        else
                h = strdup(host);
        if (!s || !h)
                goto out;
        *ret_scheme = s;
        *ret_host = h;
        s = h = NULL;
        r = 0;
out:
        free(s);
        free(h);
        lib.free(scheme);
        lib.free(host);
        lib.url_cleanup(u);
        return r;
}

static const char *env_either(const char *lower, const char *upper)
{
        const char *v = getenv(lower);

        if ((!v || !*v) && upper)
                v = getenv(upper);
        return v && *v ? v : NULL;
}

/* curl's check_noproxy(): "*", or a host name or its domain in the comma-separated list. */
static bool no_proxy_for(const char *host, const char *list)
{
        size_t hl = strlen(host);

        for (const char *p = list; *p;) {
                size_t n;

                while (*p == ',' || *p == ' ')
                        p++;
                n = strcspn(p, ", ");
                if (n == 1 && *p == '*')
                        return true;
                if (n > 0 && *p == '.') {
                        p++;
                        n--;
                }
                if (n > 0 && n <= hl && strncasecmp(host + hl - n, p, n) == 0 &&
                    (n == hl || host[hl - n - 1] == '.'))
                        return true;
                p += n;
        }
        return false;
}

int http_proxy_for(const char *url, char **ret)
{
        char *scheme = NULL, *host = NULL, name[32], upper[32];
        const char *np = env_either("no_proxy", "NO_PROXY"), *proxy;
        int r;

        *ret = NULL;
        r = http_url_scheme_host(url, &scheme, &host);
        if (r < 0)
                return r;
        if (np && no_proxy_for(host, np))
                goto out;
        snprintf(name, sizeof(name), "%s_proxy", scheme);
        for (size_t i = 0; i < sizeof(upper); i++) {
                upper[i] = (char)toupper((unsigned char)name[i]);
                if (!name[i])
                        break;
        }
        /* curl reads http_proxy in lower case only (the CGI "HTTP_PROXY" header problem). */
        proxy = env_either(name, strcasecmp(scheme, "http") == 0 ? NULL : upper);
        if (!proxy)
                proxy = env_either("all_proxy", "ALL_PROXY");
        if (proxy && !(*ret = strdup(proxy)))
                r = -ENOMEM;
out:
        free(scheme);
        free(host);
        return r;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct http_xfer *x = userdata;
        size_t n = size * nmemb;

        if (x->on_data) {
                struct transfer *t = x->transfer;
                long code = 0;

                lib.easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
                if (code >= 200 && code < 300) {
                        if (n > x->max_streamed - x->streamed)
                                return 0; /* over the cap: CURLE_WRITE_ERROR, as below */
                        x->streamed += n;
                        x->on_data(x->on_data_userdata, ptr, n);
                        return n;
                }
        }
        if (buf_append(&x->body, ptr, n) < 0)
                return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
        return n;
}

static void copy_trimmed(char *dst, size_t dst_size, const char *v, size_t len)
{
        while (len > 0 && isspace((unsigned char)*v)) {
                v++;
                len--;
        }
        while (len > 0 && isspace((unsigned char)v[len - 1]))
                len--;
        if (len >= dst_size)
                len = dst_size - 1;
        memcpy(dst, v, len);
        dst[len] = '\0';
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct http_xfer *x = userdata;
        size_t n = size * nmemb;
        const char *colon = memchr(ptr, ':', n);
        size_t name_len;

        if (!colon)
                return n;
        name_len = (size_t)(colon - ptr);
        for (size_t i = 0; i < HTTP_MAX_KEPT_HEADERS && x->kept_name[i]; i++)
                if (strlen(x->kept_name[i]) == name_len && strncasecmp(ptr, x->kept_name[i], name_len) == 0) {
                        copy_trimmed(x->kept_value[i], sizeof(x->kept_value[i]), colon + 1, n - name_len - 1);
                        x->kept_found[i] = true;
                }
        return n;
}

const char *http_xfer_header(const struct http_xfer *x, const char *name)
{
        for (size_t i = 0; i < HTTP_MAX_KEPT_HEADERS && x->kept_name[i]; i++)
                if (x->kept_found[i] && strcasecmp(x->kept_name[i], name) == 0)
                        return x->kept_value[i];
        return NULL;
}

int http_url_split(const char *url, char **ret_hostport, char **ret_path)
{
        CURLU *u;
        char *host = NULL, *port = NULL, *path = NULL, *hp = NULL, *p = NULL;
        int r = -EINVAL;

        r = curl_lib();
        if (r < 0)
                return r;
        r = -EINVAL;
        u = lib.url();
        if (!u)
                return -ENOMEM;
        if (lib.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            lib.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                goto out;
        if (lib.url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
                port = NULL;
        if (lib.url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
                path = NULL;
        r = -ENOMEM;
        if (asprintf(&hp, "%s%s%s", host, port ? ":" : "", port ? port : "") < 0) {
                hp = NULL;
                goto out;
        }
        p = strdup(path && *path ? path : "/");
        if (!p)
                goto out;
        *ret_hostport = hp;
        *ret_path = p;
        hp = p = NULL;
        r = 0;
out:
        free(hp);
        free(p);
        lib.free(host);
        lib.free(port);
        lib.free(path);
        lib.url_cleanup(u);
        return r;
}

void http_xfer_clear(struct http_client *c, struct http_xfer *x)
{
        struct transfer *t;

        if (!x)
                return;
        t = x->transfer;
        if (t) {
                if (t->easy) {
                        if (x->active && c) {
                                lib.multi_remove_handle(c->multi, t->easy);
                                c->n_active--;
                        }
                        lib.easy_cleanup(t->easy);
                }
                if (t->hdrs)
                        lib.slist_free_all(t->hdrs);
                free(t);
        }
        buf_free(&x->body);
        x->transfer = NULL;
        x->active = false;
}

int http_xfer_start(struct http_client *c, struct http_xfer *x, const struct http_request *req)
{
        void *userdata = x->userdata;
        struct transfer *t;
        CURL *e;
        int r = -ENOMEM;

        memset(x, 0, sizeof(*x));
        x->userdata = userdata;
        x->on_data = req->on_data;
        x->on_data_userdata = req->on_data_userdata;
        x->max_streamed = req->max_response ? req->max_response : HTTP_MAX_RESPONSE;
        for (size_t i = 0; i < HTTP_MAX_KEPT_HEADERS; i++)
                x->kept_name[i] = req->keep_headers[i];
        buf_init(&x->body, req->max_response ? req->max_response : HTTP_MAX_RESPONSE);
        r = curl_lib();
        if (r < 0) {
                snprintf(x->error, sizeof(x->error), "cannot load %s", CURL_SONAME);
                return r;
        }
        if (!c->multi && !(c->multi = lib.multi_init()))
                return -ENOMEM;
        r = -ENOMEM;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        x->transfer = t;
        e = t->easy = lib.easy_init();
        if (!e)
                goto fail;
        for (size_t i = 0; i < req->n_headers; i++) {
                /* No limit but memory: an STS session token may be far longer than 8 KiB. */
                char *line = NULL;
                struct curl_slist *l;

                if (asprintf(&line, "%s: %s", req->headers[i].name, req->headers[i].value) < 0)
                        goto fail;
                l = lib.slist_append(t->hdrs, line);
                free(line);
                if (!l)
                        goto fail;
                t->hdrs = l;
        }
        /* No "Expect: 100-continue" round trip, no default Accept. */
        {
                struct curl_slist *l = lib.slist_append(t->hdrs, "Expect:");
                if (!l)
                        goto fail;
                t->hdrs = l;
        }
        if (c->test_origin) {
                char *u = redirected(c->test_origin, req->url);
                CURLcode cc;

                if (!u)
                        goto fail;
                cc = lib.easy_setopt(e, CURLOPT_URL, u);
                free(u);
                if (cc != CURLE_OK) {
                        r = -EINVAL;
                        goto fail;
                }
        } else if (lib.easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK) {
                r = -EINVAL;
                goto fail;
        }
#if LIBCURL_VERSION_NUM >= 0x075500
        lib.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        lib.easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        lib.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        lib.easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
        lib.easy_setopt(e, CURLOPT_HTTPHEADER, t->hdrs);
        lib.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        lib.easy_setopt(e, CURLOPT_WRITEDATA, x);
        lib.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        lib.easy_setopt(e, CURLOPT_HEADERDATA, x);
        lib.easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
        lib.easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 30000L);
        lib.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                         req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 5000L);
        lib.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        if (req->fresh_connection) {
                lib.easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
                lib.easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
        }
        lib.easy_setopt(e, CURLOPT_USERAGENT, "opsagent/" PACKAGE_VERSION);
        if (c->flags & HTTP_NO_PROXY)
                lib.easy_setopt(e, CURLOPT_PROXY, "");
        else if (getenv("AWS_CA_BUNDLE") && *getenv("AWS_CA_BUNDLE"))
                lib.easy_setopt(e, CURLOPT_CAINFO, getenv("AWS_CA_BUNDLE"));
        if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
                lib.easy_setopt(e, CURLOPT_POST, 1L);
                lib.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
                lib.easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
                if (strcmp(req->method, "PUT") == 0)
                        lib.easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
        } else if (strcmp(req->method, "GET") != 0) {
                lib.easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
        }
        if (lib.multi_add_handle(c->multi, e) != CURLM_OK) {
                r = -EIO;
                goto fail;
        }
        x->active = true;
        c->n_active++;
        return 0;
fail:
        http_xfer_clear(c, x);
        return r;
}

int http_client_run(struct http_client *c, int timeout_ms, struct http_xfer **ret_done)
{
        int running = 0, left = 0;
        CURLMsg *msg;

        *ret_done = NULL;
        if (!c->multi)
                return 0;       /* nothing was ever started */
        if (lib.multi_perform(c->multi, &running) != CURLM_OK)
                return -EIO;
        msg = lib.multi_info_read(c->multi, &left);
        if (!msg && running > 0 && timeout_ms > 0) {
                if (lib.multi_poll(c->multi, NULL, 0, timeout_ms, NULL) != CURLM_OK)
                        return -EIO;
                if (lib.multi_perform(c->multi, &running) != CURLM_OK)
                        return -EIO;
                msg = lib.multi_info_read(c->multi, &left);
        }
        for (; msg; msg = lib.multi_info_read(c->multi, &left)) {
                struct http_xfer *x = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                lib.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
                if (!x)
                        continue;
                x->result = http_errno_from_curl(msg->data.result);
                if (x->result == 0 || x->result == -E2BIG)
                        lib.easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &x->status);
                {
                        long request_size = 0;

                        lib.easy_getinfo(msg->easy_handle, CURLINFO_REQUEST_SIZE, &request_size);
                        x->sent = request_size > 0 || x->status > 0;
                }
                if (x->result < 0) {
                        struct transfer *t = x->transfer;

                        snprintf(x->error, sizeof(x->error), "%s",
                                 t->errbuf[0] ? t->errbuf : lib.easy_strerror(msg->data.result));
                }
                lib.multi_remove_handle(c->multi, msg->easy_handle);
                c->n_active--;
                x->active = false;
                x->done = true;
                *ret_done = x;
                return 0;
        }
        return 0;
}

int http_perform(struct http_client *c, const struct http_request *req, struct http_xfer *x)
{
        struct http_xfer *done = NULL;
        int r;

        r = http_xfer_start(c, x, req);
        if (r < 0)
                return r;
        while (!x->done) {
                r = http_client_run(c, 1000, &done);
                if (r < 0)
                        return r;
        }
        return 0;
}
