#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "awserror.h"
#include "call.h"
#include "ratelimit.h"
#include "retry.h"
#include "sigv4.h"
#include "util/log.h"

int aws_gzip(const void *in, size_t len, struct buf *out, size_t cap)
{
        z_stream zs = { 0 };
        unsigned char chunk[16384];
        int zr, r = 0;

        buf_init(out, cap);
        if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return -ENOMEM;
        zs.next_in = (unsigned char *)in;
        zs.avail_in = (uInt)len;
        do {
                zs.next_out = chunk;
                zs.avail_out = sizeof(chunk);
                zr = deflate(&zs, Z_FINISH);
                if (zr == Z_STREAM_ERROR) {
                        r = -EIO;
                        break;
                }
                r = buf_append(out, chunk, sizeof(chunk) - zs.avail_out);
                if (r < 0)
                        break;
        } while (zr != Z_STREAM_END);
        deflateEnd(&zs);
        if (r < 0)
                buf_free(out);
        return r;
}

void aws_result_clear(const struct aws_request *req, struct aws_result *r)
{
        if (!r)
                return;
        if (r->answer && req && req->protocol->free_answer)
                req->protocol->free_answer(r->answer);
        r->answer = NULL;
}

struct job {
        const struct aws_request *req;
        struct aws_result *res;
        unsigned attempt;           /* attempts made so far */
        uint64_t not_before_ms;
        enum retry_class last;
        bool skew_corrected;
        bool creds_refreshed;
        bool running;
        bool finished;
        struct http_xfer x;
        void *reader;               /* the attempt's stream reader (protocol->stream_begin) */
};

static void job_drop_reader(struct job *j)
{
        if (j->reader)
                j->req->protocol->stream_free(j->reader);
        j->reader = NULL;
}

static uint64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t session_ms(struct aws_session *s)
{
        return s->retry.now_ms ? s->retry.now_ms(s->retry.userdata) : mono_ms();
}

static void session_sleep(struct aws_session *s, uint64_t ms)
{
        struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

        if (s->sleep_ms) {
                s->sleep_ms(ms, s->userdata);
                return;
        }
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static time_t session_now(struct aws_session *s)
{
        return (s->now ? s->now(s->userdata) : time(NULL)) + (time_t)s->clock_offset;
}

static const char *request_id_of(const struct http_xfer *x)
{
        const char *id = http_xfer_header(x, "x-amzn-RequestId");

        return id ? id : http_xfer_header(x, "x-amz-request-id");
}

/* The job's final failure: R, and E (already filled) as its error. */
static void job_fail(struct aws_session *s, struct job *j, int r)
{
        j->res->result = r;
        j->res->attempts = j->attempt;
        j->finished = true;
        s->last_error = j->res->error;
}

/* The path to sign and the URL to send for Q on ENDPOINT (whose own path is BASE_PATH): the
 * endpoint as it is for a call without path or query (Query protocol), else the endpoint's
 * path followed by Q's. Both caller-freed. */
static int request_target(const char *endpoint, const char *base_path, const struct aws_request *q, char **ret_path,
                          char **ret_url)
{
        size_t el = strlen(endpoint), bl = strlen(base_path);
        const char *tail = q->path ? q->path : "/";
        char *path = NULL, *url = NULL;

        if (!q->path && !q->query) {
                path = strdup(base_path);
                url = strdup(endpoint);
        } else {
                while (el > 0 && endpoint[el - 1] == '/')
                        el--;
                while (bl > 0 && base_path[bl - 1] == '/')
                        bl--;
                if (asprintf(&path, "%.*s%s", (int)bl, base_path, tail) < 0)
                        path = NULL;
                const char *sent = tail;
                struct buf enc = BUF_INIT(3 * strlen(tail) + 1);

                /* S3 signs and is sent the path encoded once; the others' paths are sent as given. */
                if (q->service == AWS_SERVICE_S3) {
                        if (sigv4_uri_encode(&enc, tail, strlen(tail), false) < 0) {
                                buf_free(&enc);
                                free(path);
                                return -ENOMEM;
                        }
                        sent = buf_str(&enc);
                }
                if (asprintf(&url, "%.*s%s%s%s", (int)el, endpoint, sent, q->query ? "?" : "",
                             q->query ? q->query : "") < 0)
                        url = NULL;
                buf_free(&enc);
        }
        if (!path || !url) {
                free(path);
                free(url);
                return -ENOMEM;
        }
        *ret_path = path;
        *ret_url = url;
        return 0;
}

int aws_endpoint_with_label(const char *endpoint, const char *label, char **ret)
{
        const char *host = strstr(endpoint, "://");

        if (!host || host == endpoint || !label || !*label)
                return -EINVAL;
        host += 3;
        if (asprintf(ret, "%.*s%s.%s", (int)(host - endpoint), endpoint, label, host) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* Signs and starts J's next attempt: 0, or 1 when the adaptive mode's rate limiter has it
 * wait (j->not_before_ms set), or negative errno (J failed). */
static int job_start(struct aws_session *s, struct job *j)
{
        const struct aws_request *q = j->req;
        const struct aws_credentials *cred = NULL;
        struct error err = ERROR_INIT;
        struct sigv4_signed sig = { 0 };
        struct buf gz = BUF_INIT(0);
        const void *body = q->body ? q->body : "";
        size_t body_len = q->body_len;
        const char *endpoint = s->endpoint[q->service];
        char *hostport = NULL, *base_path = NULL, *path = NULL, *url = NULL, *labelled = NULL;
        struct sigv4_header sh[3 + AWS_CALL_MAX_HEADERS];
        size_t nsh = 0;
        struct http_request req = { 0 };
        int r = 0;

        if (!endpoint) {
                /* a configuration the SDKs refuse for this service only (its origin says why) */
                aws_error_set(&j->res->error, q->operation, "InvalidConfiguration", 0, NULL, "%s",
                              s->endpoint_origin[q->service]);
                job_fail(s, j, -EINVAL);
                return -EINVAL;
        }
        if (s->retry.limiter) {
                uint64_t now = session_ms(s), wait = ratelimit_acquire(s->retry.limiter, (double)now / 1000.0);

                if (wait > 0) {
                        j->not_before_ms = now + wait;
                        return 1;
                }
        }
        if (q->anonymous)
                cred = NULL;
        else if (q->credentials)
                cred = q->credentials;
        else
                r = credentials_get(&s->creds, &cred, &err);
        if (r < 0) {
                aws_error_set(&j->res->error, q->operation, "NoCredentials", 0, NULL, "%s",
                              err.msg[0] ? err.msg : strerror(-r));
                job_fail(s, j, r);
                return r;
        }
        if (q->gzip) {
                r = aws_gzip(body, body_len, &gz, body_len + 1024);
                if (r < 0) {
                        aws_error_set(&j->res->error, q->operation, "ClientError", 0, NULL,
                                      "cannot compress the request body: %s", strerror(-r));
                        goto fail;
                }
                body = buf_str(&gz);
                body_len = buf_len(&gz);
        }
        if (q->host_label) {
                r = aws_endpoint_with_label(endpoint, q->host_label, &labelled);
                if (r < 0) {
                        aws_error_set(&j->res->error, q->operation, "InvalidEndpoint", 0, NULL,
                                      "endpoint URL \"%s\" cannot address %s by host name", endpoint, q->host_label);
                        goto fail;
                }
                endpoint = labelled;
        }
        r = http_url_split(endpoint, &hostport, &base_path);
        if (r < 0) {
                aws_error_set(&j->res->error, q->operation, "InvalidEndpoint", 0, NULL,
                              "endpoint URL \"%s\" is not valid (check AWS_ENDPOINT_URL*)", endpoint);
                goto fail;
        }
        r = request_target(endpoint, base_path, q, &path, &url);
        if (r < 0) {
                aws_error_set(&j->res->error, q->operation, "ClientError", 0, NULL, "out of memory");
                goto fail;
        }
        sh[nsh++] = (struct sigv4_header){ "Host", hostport };
        if (q->content_type)
                sh[nsh++] = (struct sigv4_header){ "Content-Type", q->content_type };
        if (q->gzip)
                sh[nsh++] = (struct sigv4_header){ "Content-Encoding", "gzip" };
        for (size_t i = 0; i < q->n_headers; i++)
                sh[nsh++] = (struct sigv4_header){ q->headers[i].name, q->headers[i].value };
        if (cred) {
                struct sigv4_request sreq = {
                        .method = q->method,
                        .path = path,
                        .query = q->query,
                        .headers = sh,
                        .n_headers = nsh,
                        .body = body,
                        .body_len = body_len,
                };
                struct sigv4_credentials sc = { cred->access_key_id, cred->secret_access_key, cred->session_token };

                /* S3: no normalization of the path (a key may hold "//" or "."), and the body's
                 * hash in x-amz-content-sha256, which S3 requires. */
                r = sigv4_sign(&sreq, &sc, s->region, aws_service_signing_name(q->service), session_now(s),
                               q->service == AWS_SERVICE_S3 ? SIGV4_SIGN_BODY : SIGV4_NORMALIZE_PATH, &sig);
                if (r < 0) {
                        aws_error_set(&j->res->error, q->operation, "ClientError", 0, NULL,
                                      "cannot sign the request: %s", strerror(-r));
                        goto fail;
                }
        }
        req.method = q->method;
        req.url = url;
        req.body = body;
        req.body_len = body_len;
        req.timeout_ms = s->timeout_ms;
        req.connect_timeout_ms = s->timeout_ms < 10000 ? s->timeout_ms : 10000;
        req.max_response = q->max_response;
        req.fresh_connection = q->check_outcome;
        req.keep_headers[0] = "Date";
        req.keep_headers[1] = "x-amzn-RequestId";
        req.keep_headers[2] = "x-amz-request-id";
        req.keep_headers[3] = "ETag";
        for (size_t i = 0; i < nsh; i++)
                req.headers[req.n_headers++] = (struct http_header){ sh[i].name, sh[i].value };
        if (cred) {
                req.headers[req.n_headers++] = (struct http_header){ "X-Amz-Date", sig.amz_date };
                if (q->service == AWS_SERVICE_S3)
                        req.headers[req.n_headers++] = (struct http_header){ "X-Amz-Content-Sha256",
                                                                             sig.payload_hash };
                if (cred->session_token)
                        req.headers[req.n_headers++] = (struct http_header){ "X-Amz-Security-Token",
                                                                             cred->session_token };
                req.headers[req.n_headers++] = (struct http_header){ "Authorization", sig.authorization };
        }

        if (q->protocol->stream_begin) {
                job_drop_reader(j);
                j->reader = q->protocol->stream_begin();
                if (!j->reader) {
                        r = -ENOMEM;
                        aws_error_set(&j->res->error, q->operation, "ClientError", 0, NULL, "out of memory");
                        goto fail;
                }
                req.on_data = q->protocol->stream_feed;
                req.on_data_userdata = j->reader;
        }
        r = http_xfer_start(s->http, &j->x, &req);
        if (r < 0) {
                aws_error_set(&j->res->error, q->operation, "ClientError", 0, NULL,
                              "cannot start the request to %s: %s", endpoint, strerror(-r));
                goto fail;
        }
        j->attempt++;
        j->running = true;
        log_debug("%s: attempt %u to %s", q->operation, j->attempt, endpoint);
        goto out;
fail:
        job_fail(s, j, r);
out:
        sigv4_signed_clear(&sig);
        buf_free(&gz);
        free(hostport);
        free(base_path);
        free(path);
        free(url);
        free(labelled);
        return r;
}

/* The error code of an error answer, for the rate limiter's throttle detection (E is filled
 * here so that job_done need not parse the body twice). */
static const char *throttle_code(const struct aws_protocol *pr, struct http_xfer *x, struct opsagent_aws_error *e)
{
        if (!e->code[0] && !pr->parse_error(buf_str(&x->body), buf_len(&x->body), e))
                return NULL;
        return e->code;
}

/* Whether a failed attempt (transport result R, retry class C) may have been carried out: an
 * answer of 5xx (not throttling, which says it was not), or a transport failure after the
 * request was sent (a timeout, a reset); an answer too large to read. */
static bool outcome_unknown(int r, const struct http_xfer *x, enum retry_class c)
{
        if (r == -E2BIG)
                return true;
        if (r < 0)
                return x->sent && (c == RETRY_TRANSIENT || c == RETRY_TIMEOUT);
        return c == RETRY_TRANSIENT;
}

/* J's request may have been carried out: not repeated here; the result says so, and its
 * caller looks for what it made before it repeats it (struct aws_request.check_outcome). */
static void job_fail_unknown(struct aws_session *s, struct job *j, int r, const struct opsagent_aws_error *e)
{
        const struct aws_request *q = j->req;
        const struct http_xfer *x = &j->x;
        const char *endpoint = s->endpoint[q->service];

        if (r == -E2BIG)
                aws_error_set(&j->res->error, q->operation, "ResponseTooLarge", x->status, request_id_of(x),
                              "the answer from %s is larger than %zu bytes: the outcome is unknown",
                              endpoint, q->max_response);
        else if (r < 0)
                aws_error_set(&j->res->error, q->operation, r == -ETIMEDOUT ? "RequestTimeout" : "NetworkError", 0,
                              NULL, "%s: %s after the request was sent: the outcome is unknown", endpoint,
                              x->error);
        else
                aws_error_set(&j->res->error, q->operation, e->code, x->status, e->request_id,
                              "%s (HTTP %ld): the outcome is unknown", e->message, x->status);
        if (r == 0)
                r = aws_errno_for_code(e->code, x->status);
        j->res->outcome_unknown = true;
        log_debug("%s: outcome unknown (%s), not repeated blindly", q->operation, j->res->error.code);
        job_fail(s, j, r);
}

/* Decides what J's finished attempt means: done, failed, or retry later. */
static void job_done(struct aws_session *s, struct job *j)
{
        const struct aws_request *q = j->req;
        const struct aws_protocol *pr = q->protocol;
        struct http_xfer *x = &j->x;
        struct opsagent_aws_error e = { 0 };
        struct error perr = ERROR_INIT;
        const char *endpoint = s->endpoint[q->service], *rid = request_id_of(x);
        enum retry_class c;
        uint64_t delay = 0;
        int r = x->result;

        j->running = false;
        if (r == 0) {
                const char *date = http_xfer_header(x, "Date");

                j->res->date = date ? http_parse_date(date) : 0;
        }
        if (s->retry.limiter)
                ratelimit_on_response(s->retry.limiter, (double)session_ms(s) / 1000.0,
                                      r == 0 && !(x->status >= 200 && x->status < 300) &&
                                              retry_policy_classify(&s->retry, 0, x->status,
                                                                    throttle_code(pr, x, &e), NULL) == RETRY_THROTTLE);
        if (r == 0 && x->status >= 200 && x->status < 300) {
                void *answer = NULL;

                if (pr->stream_begin) {
                        r = pr->stream_end(j->reader, &answer, &perr);
                        j->reader = NULL;
                } else {
                        r = pr->parse_answer(buf_str(&x->body), buf_len(&x->body), &answer, &perr);
                }
                if (r >= 0) {
                        const char *etag = http_xfer_header(x, "ETag");

                        snprintf(j->res->etag, sizeof(j->res->etag), "%s", etag ? etag : "");
                        j->res->answer = answer;
                        j->res->result = 0;
                        j->res->attempts = j->attempt;
                        j->finished = true;
                        retry_success(&s->retry, j->attempt > 1, j->last);
                        goto out;
                }
                /* A malformed answer to a call that changed something must not be repeated. */
                c = q->idempotent ? RETRY_TRANSIENT : RETRY_NONE;
                if (!retry_acquire(&s->retry, j->attempt, c, &delay)) {
                        aws_error_set(&j->res->error, q->operation, "MalformedResponse", x->status, rid,
                                      "malformed answer from %s (request id %s): %s%s", endpoint,
                                      rid ? rid : "unknown", perr.msg,
                                      q->idempotent ? "" : "; the call may have succeeded, check before repeating it");
                        j->res->outcome_unknown = !q->idempotent;
                        job_fail(s, j, -EIO);
                        goto out;
                }
                log_warning("%s: malformed answer (%s), retrying in %llu ms", q->operation, perr.msg,
                            (unsigned long long)delay);
                j->last = c;
                j->not_before_ms = session_ms(s) + delay;
                goto out;
        }
        if (r == 0) {
                if (!e.code[0] && !pr->parse_error(buf_str(&x->body), buf_len(&x->body), &e)) {
                        snprintf(e.code, sizeof(e.code), "HTTP%ld", x->status);
                        snprintf(e.message, sizeof(e.message), "HTTP %ld with %s", x->status,
                                 buf_len(&x->body) ? "an unreadable error document" : "no error document");
                }
                if (!e.request_id[0] && rid)
                        snprintf(e.request_id, sizeof(e.request_id), "%s", rid);
        }
        c = retry_policy_classify(&s->retry, r, x->status, r == 0 ? e.code : NULL, r == 0 ? e.message : NULL);
        if (c == RETRY_SKEW) {
                const char *date = http_xfer_header(x, "Date");
                int64_t off = retry_skew_from_date(date ? date : "", session_now(s));

                if (off == 0 && strcmp(e.code, "RequestExpired") == 0) {
                        /* EC2 says RequestExpired for expired session tokens too. */
                        c = RETRY_EXPIRED_CREDS;
                } else if (j->skew_corrected || off == 0) {
                        c = RETRY_NONE;
                } else {
                        s->clock_offset += off;
                        j->skew_corrected = true;
                        log_warning("%s: %s: AWS's clock is %+lld s from ours; correcting the offset and "
                                    "retrying", q->operation, e.code, (long long)off);
                }
        }
        if (q->check_outcome && outcome_unknown(r, x, c)) {
                job_fail_unknown(s, j, r, &e);
                goto out;
        }
        if (c == RETRY_EXPIRED_CREDS) {
                if (j->creds_refreshed || !credentials_invalidate(&s->creds))
                        c = RETRY_NONE;
                else
                        j->creds_refreshed = true;
        }
        if (retry_acquire(&s->retry, j->attempt, c, &delay)) {
                if (r < 0)
                        log_warning("%s: %s, retrying in %llu ms", q->operation, x->error, (unsigned long long)delay);
                else
                        log_warning("%s: %s (HTTP %ld), retrying in %llu ms", q->operation, e.code, x->status,
                                    (unsigned long long)delay);
                j->last = c;
                j->not_before_ms = session_ms(s) + delay;
                goto out;
        }
        /* Final failure. */
        if (r == -E2BIG) {
                aws_error_set(&j->res->error, q->operation, "ResponseTooLarge", x->status, rid,
                              "the answer from %s is larger than %zu bytes", endpoint, q->max_response);
        } else if (r < 0) {
                aws_error_set(&j->res->error, q->operation, r == -ETIMEDOUT ? "RequestTimeout" : "NetworkError", 0,
                              NULL, "%s: %s (after %u attempt%s)", endpoint, x->error, j->attempt,
                              j->attempt == 1 ? "" : "s");
        } else {
                r = retry_classify(0, x->status, e.code, e.message) == RETRY_THROTTLE
                            ? -EAGAIN
                            : aws_errno_for_code(e.code, x->status);
                if (c == RETRY_TRANSIENT && r == -EINVAL)
                        r = -EIO;
                aws_error_set(&j->res->error, q->operation, e.code, x->status, e.request_id, "%s%s", e.message,
                              j->attempt > 1 ? " (after retries)" : "");
        }
        job_fail(s, j, r);
out:
        job_drop_reader(j);
        http_xfer_clear(s->http, x);
}

int aws_call_many(struct aws_session *s, const struct aws_request *reqs, size_t n, unsigned parallel,
                  struct aws_result *results)
{
        struct job *jobs;
        size_t finished = 0, running = 0;
        int first_error = 0;

        if (n == 0)
                return 0;
        if (parallel == 0)
                parallel = s->parallel;
        if (parallel > AWS_MAX_PARALLEL)
                parallel = AWS_MAX_PARALLEL;
        jobs = calloc(n, sizeof(*jobs));
        if (!jobs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                memset(&results[i], 0, sizeof(results[i]));
                jobs[i].req = &reqs[i];
                jobs[i].res = &results[i];
                jobs[i].x.userdata = &jobs[i];
        }
        while (finished < n) {
                uint64_t now = session_ms(s), wake = UINT64_MAX;
                struct http_xfer *done = NULL;
                int r;

                for (size_t i = 0; i < n && running < parallel; i++) {
                        struct job *j = &jobs[i];

                        if (j->finished || j->running)
                                continue;
                        if (j->not_before_ms > now)
                                continue;
                        r = job_start(s, j);
                        if (r < 0) {
                                finished++;
                                continue;
                        }
                        if (r == 0)
                                running++;
                }
                for (size_t i = 0; i < n; i++)
                        if (!jobs[i].finished && !jobs[i].running && jobs[i].not_before_ms < wake)
                                wake = jobs[i].not_before_ms;
                if (running == 0) {
                        if (finished < n && wake != UINT64_MAX && wake > now)
                                session_sleep(s, wake - now);
                        continue;
                }
                r = http_client_run(s->http, 200, &done);
                if (r < 0) {
                        for (size_t i = 0; i < n; i++)
                                if (!jobs[i].finished) {
                                        http_xfer_clear(s->http, &jobs[i].x);
                                        aws_error_set(&jobs[i].res->error, jobs[i].req->operation, "ClientError", 0,
                                                      NULL, "HTTP engine failed");
                                        job_fail(s, &jobs[i], r);
                                }
                        finished = n;
                        break;
                }
                if (done) {
                        struct job *j = NULL;

                        for (size_t i = 0; i < n; i++)
                                if (&jobs[i].x == done)
                                        j = &jobs[i];
                        if (!j)
                                continue;
                        running--;
                        job_done(s, j);
                        if (j->finished)
                                finished++;
                }
        }
        for (size_t i = 0; i < n; i++) {
                http_xfer_clear(s->http, &jobs[i].x);
                job_drop_reader(&jobs[i]);
                if (results[i].result < 0 && first_error == 0)
                        first_error = results[i].result;
        }
        free(jobs);
        return first_error;
}
