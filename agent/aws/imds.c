#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "imds.h"
#include "util/log.h"

struct imds {
        struct http_client *http;
        char *endpoint;         /* without trailing slash */
        bool allow_v1;
        bool use_v1;            /* token refused and v1 allowed */
        long timeout_ms;
        unsigned attempts;
        char *token;
        time_t token_expires;
        time_t unreachable_until; /* nothing answered: fail fast until then */
        int unreachable_error;
        bool put_lost;          /* a GET was answered, the token PUT never: the hop limit */
        uint64_t deadline_ms;   /* CLOCK_MONOTONIC; 0: none (imds_set_deadline) */
        long deadline_span_ms;
};

static uint64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void imds_set_deadline(struct imds *m, long ms)
{
        m->deadline_ms = ms > 0 ? mono_ms() + (uint64_t)ms : 0;
        m->deadline_span_ms = ms;
}

/* What is left of M's deadline, at most LIMIT ms; LIMIT when there is none; 0 when it passed. */
static long time_left_ms(const struct imds *m, long limit)
{
        uint64_t now;

        if (!m->deadline_ms)
                return limit;
        now = mono_ms();
        if (now >= m->deadline_ms)
                return 0;
        return m->deadline_ms - now < (uint64_t)limit ? (long)(m->deadline_ms - now) : limit;
}

/* What every client of this process shares, and the recipe children it forks inherit: the
 * session token of the endpoint last used, and whether it answered at all. A run then asks
 * IMDS for a token once, and waits for a silent endpoint once. */
static struct {
        char *endpoint;
        char *token;
        time_t token_expires;
        bool use_v1;
        time_t unreachable_until;
        int unreachable_error;
        bool put_lost;
} shared;

/* Takes over what the process knows of M's endpoint. */
static void shared_load(struct imds *m)
{
        if (!shared.endpoint || strcmp(shared.endpoint, m->endpoint) != 0)
                return;
        if (shared.token && (m->token = strdup(shared.token)))
                m->token_expires = shared.token_expires;
        m->use_v1 = m->allow_v1 && shared.use_v1;
        m->unreachable_until = shared.unreachable_until;
        m->unreachable_error = shared.unreachable_error;
        m->put_lost = shared.put_lost;
}

/* Tells the process what M learnt. */
static void shared_store(const struct imds *m)
{
        if (!shared.endpoint || strcmp(shared.endpoint, m->endpoint) != 0) {
                char *e = strdup(m->endpoint);

                if (!e)
                        return;
                free(shared.endpoint);
                shared.endpoint = e;
        }
        free(shared.token);
        shared.token = m->token ? strdup(m->token) : NULL;
        shared.token_expires = shared.token ? m->token_expires : 0;
        shared.use_v1 = m->use_v1;
        shared.unreachable_until = m->unreachable_until;
        shared.unreachable_error = m->unreachable_error;
        shared.put_lost = m->put_lost;
}

void imds_forget_shared(void)
{
        free(shared.endpoint);
        free(shared.token);
        memset(&shared, 0, sizeof(shared));
}

bool imds_disabled_by_env(void)
{
        const char *v = getenv("AWS_EC2_METADATA_DISABLED");

        return v && strcasecmp(v, "true") == 0;
}

int imds_new(const struct imds_config *cfg, struct imds **ret)
{
        const char *ep = cfg && cfg->endpoint && *cfg->endpoint ? cfg->endpoint
                                                                : getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        const char *v1_off = getenv("AWS_EC2_METADATA_V1_DISABLED");
        struct imds *m;
        size_t l;
        int r;

        if (!ep || !*ep) {
                const char *mode = cfg && cfg->endpoint_mode ? cfg->endpoint_mode
                                                             : getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");

                ep = mode && strcasecmp(mode, "IPv6") == 0 ? IMDS_DEFAULT_ENDPOINT_IPV6 : IMDS_DEFAULT_ENDPOINT;
        }
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->endpoint = strdup(ep);
        if (!m->endpoint) {
                free(m);
                return -ENOMEM;
        }
        l = strlen(m->endpoint);
        while (l > 0 && m->endpoint[l - 1] == '/')
                m->endpoint[--l] = '\0';
        m->allow_v1 = cfg && cfg->allow_v1 && !cfg->v1_disabled && !(v1_off && strcasecmp(v1_off, "true") == 0);
        m->timeout_ms = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : IMDS_TIMEOUT_MS;
        m->attempts = cfg && cfg->attempts > 0 ? cfg->attempts : IMDS_ATTEMPTS;
        r = http_client_new(HTTP_NO_PROXY, &m->http);
        if (r < 0) {
                free(m->endpoint);
                free(m);
                return r;
        }
        shared_load(m);
        *ret = m;
        return 0;
}

void imds_free(struct imds *m)
{
        if (!m)
                return;
        http_client_free(m->http);
        if (m->token)
                log_register_secret(m->token);
        free(m->token);
        free(m->endpoint);
        free(m);
}

const char *imds_endpoint(const struct imds *m)
{
        return m->endpoint;
}

/* What an instance's HttpPutResponseHopLimit of 1 does to a container, and what to do. */
static int hop_limit_error(struct imds *m, struct error *err)
{
        return error_set(err, -ETIMEDOUT,
                         "instance metadata service at %s answers GET requests but never answered the session "
                         "token request (PUT /latest/api/token, %ld ms): its answer was dropped on the way, as "
                         "an instance's HttpPutResponseHopLimit of 1 drops it one hop short of a container. "
                         "Raise it to 2: aws ec2 modify-instance-metadata-options --instance-id ID "
                         "--http-put-response-hop-limit 2 (or allow IMDSv1 with aws.imds.allow_v1)",
                         m->endpoint, m->timeout_ms);
}

static int unreachable(struct imds *m, int r, const char *what, struct error *err)
{
        m->unreachable_until = time(NULL) + IMDS_UNREACHABLE_MEMO_S;
        m->unreachable_error = r;
        shared_store(m);
        if (m->put_lost)
                return hop_limit_error(m, err);
        return error_set(err, r,
                         "instance metadata service at %s did not answer (%s): not on EC2? Set "
                         "AWS_EC2_METADATA_SERVICE_ENDPOINT to reach another one, or "
                         "AWS_EC2_METADATA_DISABLED=true and give aws.region / aws.instance_id",
                         m->endpoint, what);
}

/* One request with the IMDS retry rule: retry connection failures and 5xx, not timeouts (a
 * timeout means nothing is there, and the next one would cost another second). */
static int imds_request(struct imds *m, const char *method, const char *path, const char *hname,
                        const char *hvalue, struct http_xfer *x, struct error *err)
{
        char url[1024];
        int r = 0;

        if (m->unreachable_until && time(NULL) < m->unreachable_until) {
                time_t until = m->unreachable_until;

                r = unreachable(m, m->unreachable_error, "earlier attempt", err);
                m->unreachable_until = until;   /* the memo does not extend itself */
                shared_store(m);
                return r;
        }
        snprintf(url, sizeof(url), "%s%s", m->endpoint, path);
        for (unsigned attempt = 1; attempt <= m->attempts; attempt++) {
                long left = time_left_ms(m, m->timeout_ms);
                struct http_request req = {
                        .method = method,
                        .url = url,
                        .timeout_ms = left,
                        .connect_timeout_ms = left,
                        .max_response = IMDS_MAX_VALUE,
                };
                char why[64];

                if (left == 0) {
                        snprintf(why, sizeof(why), "no answer within %ld ms for the whole lookup",
                                 m->deadline_span_ms);
                        return unreachable(m, -ETIMEDOUT, why, err);
                }

                if (hname) {
                        req.headers[0] = (struct http_header){ hname, hvalue };
                        req.n_headers = 1;
                }
                http_xfer_clear(m->http, x);
                r = http_perform(m->http, &req, x);
                if (r >= 0)
                        r = x->result;
                if (r == -ETIMEDOUT)
                        return unreachable(m, r, "timed out", err);
                if (r == -E2BIG)
                        return error_set(err, r,
                                         "instance metadata service at %s: %s %s answered with more than %d "
                                         "bytes; is that the metadata service? (AWS_EC2_METADATA_SERVICE_ENDPOINT)",
                                         m->endpoint, method, path, IMDS_MAX_VALUE);
                if (r < 0 || x->status >= 500) {
                        if (attempt < m->attempts && time_left_ms(m, 100) == 100) {
                                usleep(100 * 1000);
                                continue;
                        }
                        if (r < 0)
                                return unreachable(m, r, x->error[0] ? x->error : strerror(-r), err);
                        return error_set(err, -EIO, "instance metadata service: %s %s answered HTTP %ld", method,
                                         path, x->status);
                }
                return 0;
        }
        return r;
}

/* Whether anything answers a GET without a token (401 counts: IMDSv2 is required, but it is
 * there). One short request, no retry, the memo bypassed. */
static bool answers_get(struct imds *m)
{
        struct http_xfer x = { 0 };
        char url[1024];
        struct http_request req = {
                .method = "GET",
                .url = url,
                .timeout_ms = m->timeout_ms,
                .connect_timeout_ms = m->timeout_ms,
                .max_response = IMDS_MAX_VALUE,
        };
        bool ok;

        snprintf(url, sizeof(url), "%s/latest/meta-data/", m->endpoint);
        ok = http_perform(m->http, &req, &x) >= 0 && x.result == 0 && x.status > 0;
        http_xfer_clear(m->http, &x);
        return ok;
}

static int ensure_token(struct imds *m, struct error *err)
{
        struct http_xfer x = { 0 };
        char ttl[16];
        bool memo;
        int r;

        if (m->use_v1)
                return 0;
        if (m->token && time(NULL) + 60 < m->token_expires)
                return 0;
        memo = m->unreachable_until && time(NULL) < m->unreachable_until;
        snprintf(ttl, sizeof(ttl), "%d", IMDS_TOKEN_TTL_S);
        r = imds_request(m, "PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds", ttl, &x, err);
        /* Whether GET is answered where PUT was not (the hop limit) costs another wait on an
         * endpoint that answers nothing: a lookup under one deadline (the instance facts: one
         * wait per command) asks only when IMDSv1 may be fallen back to; doctor always asks. */
        if (r == -ETIMEDOUT && !memo && (!m->deadline_ms || m->allow_v1) && answers_get(m)) {
                m->put_lost = true;
                if (m->allow_v1) {
                        log_warning("instance metadata: the token request timed out but GET requests are answered "
                                    "(an HttpPutResponseHopLimit of 1 seen from a container?); using IMDSv1 as "
                                    "aws.imds.allow_v1 permits");
                        m->use_v1 = true;
                        m->unreachable_until = 0;
                        shared_store(m);
                        error_clear(err);
                        r = 0;
                        goto out;
                }
                shared_store(m);
                error_clear(err);
                r = hop_limit_error(m, err);
                goto out;
        }
        if (r < 0)
                goto out;
        if (x.status == 200 && buf_len(&x.body) > 0) {
                free(m->token);
                m->token = buf_steal(&x.body);
                if (!m->token) {
                        r = -ENOMEM;
                        goto out;
                }
                m->token_expires = time(NULL) + IMDS_TOKEN_TTL_S;
                log_register_secret(m->token);
                shared_store(m);
                r = 0;
                goto out;
        }
        if (m->allow_v1 && (x.status == 403 || x.status == 404 || x.status == 405)) {
                log_warning("instance metadata: token refused (HTTP %ld), falling back to IMDSv1 as "
                            "aws.imds.allow_v1 permits", x.status);
                m->use_v1 = true;
                shared_store(m);
                r = 0;
                goto out;
        }
        r = error_set(err, -EACCES,
                      "instance metadata service at %s refused a session token (HTTP %ld); IMDSv1 is not "
                      "allowed (set aws.imds.allow_v1 to true to permit it)", m->endpoint, x.status);
out:
        http_xfer_clear(m->http, &x);
        return r;
}

int imds_check_token(struct imds *m, bool *ret_v1, struct error *err)
{
        bool memo = m->unreachable_until && time(NULL) < m->unreachable_until;
        int r = ensure_token(m, err);

        /* a lookup under a deadline did not ask whether GET is answered (ensure_token), and its
         * memo kept ensure_token from asking now: the diagnosis is asked for here */
        if (r == -ETIMEDOUT && memo && !m->put_lost && answers_get(m)) {
                m->put_lost = true;
                shared_store(m);
                error_clear(err);
                r = hop_limit_error(m, err);
        }
        if (r < 0)
                return r;
        *ret_v1 = m->use_v1;
        return 0;
}

int imds_get(struct imds *m, const char *path, char **ret, struct error *err)
{
        struct http_xfer x = { 0 };
        int r;

        for (int round = 0; round < 2; round++) {
                r = ensure_token(m, err);
                if (r < 0)
                        goto out;
                r = imds_request(m, "GET", path, m->use_v1 ? NULL : "X-aws-ec2-metadata-token", m->token, &x,
                                 err);
                if (r < 0)
                        goto out;
                if (x.status == 401 && !m->use_v1 && round == 0) {
                        /* token expired or revoked: get a new one once */
                        free(m->token);
                        m->token = NULL;
                        shared_store(m);
                        continue;
                }
                break;
        }
        if (x.status == 404) {
                r = -ENOENT;
                goto out;
        }
        if (x.status == 401 || x.status == 403) {
                r = error_set(err, -EACCES, "instance metadata service refused %s (HTTP %ld)", path, x.status);
                goto out;
        }
        if (x.status != 200) {
                r = error_set(err, -EIO, "instance metadata service: GET %s answered HTTP %ld", path, x.status);
                goto out;
        }
        *ret = buf_steal(&x.body);
        r = *ret ? 0 : -ENOMEM;
out:
        http_xfer_clear(m->http, &x);
        return r;
}
