#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <zlib.h>

#include "http.h"
#include "query.h"
#include "sigv4.h"
#include "util/log.h"

static const char *const service_signing_name[] = { "ec2", "monitoring" };
static const char *const service_version[] = { EC2_API_VERSION, CLOUDWATCH_API_VERSION };

int query_request_init(struct query_request *q, enum aws_service service, const char *operation)
{
        memset(q, 0, sizeof(*q));
        q->service = service;
        snprintf(q->operation, sizeof(q->operation), "%s", operation);
        q->idempotent = strncmp(operation, "Describe", 8) == 0 || strncmp(operation, "List", 4) == 0 ||
                        strncmp(operation, "Get", 3) == 0;
        buf_init(&q->params, QUERY_MAX_BODY);
        return buf_printf(&q->params, "Action=%s&Version=%s", operation, service_version[service]);
}

size_t query_body_length(const struct query_request *q)
{
        return buf_len(&q->params);
}

void query_request_clear(struct query_request *q)
{
        if (q)
                buf_free(&q->params);
}

static int form_encode(struct buf *b, const char *s)
{
        return sigv4_uri_encode(b, s, strlen(s), true);
}

int query_add(struct query_request *q, const char *key, const char *value)
{
        size_t old = buf_len(&q->params);
        int r;

        r = buf_puts(&q->params, "&");
        if (r >= 0)
                r = form_encode(&q->params, key);
        if (r >= 0)
                r = buf_puts(&q->params, "=");
        if (r >= 0)
                r = form_encode(&q->params, value ? value : "");
        if (r < 0)
                buf_truncate(&q->params, old);
        return r;
}

int query_addf(struct query_request *q, const char *value, const char *keyfmt, ...)
{
        char key[256];
        va_list ap;
        int n;

        va_start(ap, keyfmt);
        n = vsnprintf(key, sizeof(key), keyfmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(key))
                return -E2BIG;
        return query_add(q, key, value);
}

void query_result_clear(struct query_result *r)
{
        if (!r)
                return;
        xml_free(r->doc);
        r->doc = NULL;
}

int query_gzip(const void *in, size_t len, struct buf *out, size_t cap)
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

static void copy_str(char *dst, size_t size, const char *src)
{
        snprintf(dst, size, "%s", src ? src : "");
}

bool query_parse_error(const struct xml_node *doc, struct opsagent_aws_error *e)
{
        const struct xml_node *err;

        if (!doc)
                return false;
        if (strcmp(doc->name, "Response") == 0) {
                /* EC2: <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response> */
                err = xml_path(doc, "Errors/Error");
                if (!err)
                        return false;
                copy_str(e->code, sizeof(e->code), xml_path_text(err, "Code"));
                copy_str(e->message, sizeof(e->message), xml_path_text(err, "Message"));
                copy_str(e->request_id, sizeof(e->request_id),
                         xml_path_text(doc, "RequestID") ? xml_path_text(doc, "RequestID")
                                                         : xml_path_text(doc, "RequestId"));
                return true;
        }
        if (strcmp(doc->name, "ErrorResponse") == 0) {
                /* CloudWatch: <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/> */
                err = xml_child(doc, "Error");
                if (!err)
                        return false;
                copy_str(e->code, sizeof(e->code), xml_path_text(err, "Code"));
                copy_str(e->message, sizeof(e->message), xml_path_text(err, "Message"));
                copy_str(e->request_id, sizeof(e->request_id), xml_path_text(doc, "RequestId"));
                return true;
        }
        return false;
}

/* ---------------------------------------------------------------------------------------- */

struct job {
        struct query_request *q;
        struct query_result *res;
        unsigned attempt;           /* attempts made so far */
        uint64_t not_before_ms;
        enum retry_class last;
        bool skew_corrected;
        bool creds_refreshed;
        bool running;
        bool finished;
        struct http_xfer x;
};

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

static void job_fail(struct aws_session *s, struct job *j, int r, long status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));

static void job_fail(struct aws_session *s, struct job *j, int r, long status, const char *code, const char *fmt, ...)
{
        struct opsagent_aws_error *e = &j->res->error;
        va_list ap;

        e->http_status = (int)status;
        copy_str(e->operation, sizeof(e->operation), j->q->operation);
        if (code)
                copy_str(e->code, sizeof(e->code), code);
        if (fmt) {
                char msg[sizeof(e->message)];
                char *clean;

                va_start(ap, fmt);
                vsnprintf(msg, sizeof(msg), fmt, ap);
                va_end(ap);
                clean = log_scrub(msg);
                copy_str(e->message, sizeof(e->message), clean ? clean : "(message withheld)");
                free(clean);
        }
        j->res->result = r;
        j->finished = true;
        s->last_error = *e;
}

/* Signs and starts J's next attempt. */
static int job_start(struct aws_session *s, struct job *j)
{
        const struct aws_credentials *cred = NULL;
        struct error err = ERROR_INIT;
        struct sigv4_signed sig = { 0 };
        struct buf gz = BUF_INIT(0);
        const void *body = buf_str(&j->q->params);
        size_t body_len = buf_len(&j->q->params);
        const char *endpoint = s->endpoint[j->q->service];
        CURLU *u = NULL;
        char *host = NULL, *port = NULL, *path = NULL, hostport[512];
        struct sigv4_header sh[4];
        size_t nsh = 0;
        struct http_request req = { 0 };
        int r;

        r = credentials_get(&s->creds, &cred, &err);
        if (r < 0) {
                job_fail(s, j, r, 0, "NoCredentials", "%s", err.msg[0] ? err.msg : strerror(-r));
                return r;
        }
        if (j->q->gzip) {
                r = query_gzip(body, body_len, &gz, QUERY_MAX_BODY);
                if (r < 0) {
                        job_fail(s, j, r, 0, "ClientError", "cannot compress the request body: %s", strerror(-r));
                        goto out;
                }
                body = gz.data;
                body_len = gz.len;
        }
        u = curl_url();
        if (!u) {
                r = -ENOMEM;
                job_fail(s, j, r, 0, "ClientError", "out of memory");
                goto out;
        }
        if (curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
                r = -EINVAL;
                job_fail(s, j, r, 0, "InvalidEndpoint", "endpoint URL \"%s\" is not valid (check AWS_ENDPOINT_URL*)",
                         endpoint);
                goto out;
        }
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
                port = NULL;
        if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
                path = NULL;
        snprintf(hostport, sizeof(hostport), "%s%s%s", host, port ? ":" : "", port ? port : "");

        sh[nsh++] = (struct sigv4_header){ "Host", hostport };
        sh[nsh++] = (struct sigv4_header){ "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" };
        if (j->q->gzip)
                sh[nsh++] = (struct sigv4_header){ "Content-Encoding", "gzip" };
        {
                struct sigv4_request sreq = {
                        .method = "POST",
                        .path = path && *path ? path : "/",
                        .query = NULL,
                        .headers = sh,
                        .n_headers = nsh,
                        .body = body,
                        .body_len = body_len,
                };
                struct sigv4_credentials sc = { cred->access_key_id, cred->secret_access_key, cred->session_token };

                r = sigv4_sign(&sreq, &sc, s->region, service_signing_name[j->q->service], session_now(s),
                               SIGV4_NORMALIZE_PATH, &sig);
                if (r < 0) {
                        job_fail(s, j, r, 0, "ClientError", "cannot sign the request: %s", strerror(-r));
                        goto out;
                }
        }
        req.method = "POST";
        req.url = endpoint;
        req.body = body;
        req.body_len = body_len;
        req.timeout_ms = s->timeout_ms;
        req.connect_timeout_ms = s->timeout_ms < 10000 ? s->timeout_ms : 10000;
        req.max_response = QUERY_MAX_RESPONSE;
        for (size_t i = 0; i < nsh; i++)
                req.headers[req.n_headers++] = (struct http_header){ sh[i].name, sh[i].value };
        req.headers[req.n_headers++] = (struct http_header){ "X-Amz-Date", sig.amz_date };
        if (cred->session_token)
                req.headers[req.n_headers++] = (struct http_header){ "X-Amz-Security-Token", cred->session_token };
        req.headers[req.n_headers++] = (struct http_header){ "Authorization", sig.authorization };

        r = http_xfer_start(s->http, &j->x, &req);
        if (r < 0) {
                job_fail(s, j, r, 0, "ClientError", "cannot start the request to %s: %s", endpoint, strerror(-r));
                goto out;
        }
        j->attempt++;
        j->running = true;
        log_debug("%s: attempt %u to %s", j->q->operation, j->attempt, endpoint);
out:
        sigv4_signed_clear(&sig);
        buf_free(&gz);
        curl_free(host);
        curl_free(port);
        curl_free(path);
        curl_url_cleanup(u);
        return r;
}

/* Decides what J's finished attempt means: done, failed, or retry later. */
static void job_done(struct aws_session *s, struct job *j)
{
        struct http_xfer *x = &j->x;
        struct opsagent_aws_error e = { 0 };
        struct xml_node *doc = NULL;
        struct error perr = ERROR_INIT;
        enum retry_class c;
        uint64_t delay = 0;
        int r = x->result;
        bool parsed_error = false;

        j->running = false;
        if (r == 0 && x->status >= 200 && x->status < 300) {
                r = xml_parse(buf_str(&x->body), buf_len(&x->body), &doc, &perr);
                if (r >= 0) {
                        j->res->doc = doc;
                        j->res->result = 0;
                        j->res->attempts = j->attempt;
                        j->finished = true;
                        retry_success(&s->retry, j->attempt > 1, j->last);
                        goto out;
                }
                /* A malformed answer to a call that changed something must not be repeated. */
                c = j->q->idempotent ? RETRY_TRANSIENT : RETRY_NONE;
                if (!retry_acquire(&s->retry, j->attempt, c, &delay)) {
                        job_fail(s, j, -EIO, x->status, "MalformedResponse",
                                 "malformed answer from %s (request id %s): %s%s", s->endpoint[j->q->service],
                                 x->request_id[0] ? x->request_id : "unknown", perr.msg,
                                 j->q->idempotent ? "" : "; the call may have succeeded, check before repeating it");
                        copy_str(j->res->error.request_id, sizeof(j->res->error.request_id), x->request_id);
                        s->last_error = j->res->error;
                        goto out;
                }
                log_warning("%s: malformed answer (%s), retrying in %llu ms", j->q->operation, perr.msg,
                            (unsigned long long)delay);
                j->last = c;
                j->not_before_ms = session_ms(s) + delay;
                goto out;
        }
        if (r == 0) {
                if (xml_parse(buf_str(&x->body), buf_len(&x->body), &doc, &perr) >= 0)
                        parsed_error = query_parse_error(doc, &e);
                xml_free(doc);
                doc = NULL;
                if (!parsed_error) {
                        snprintf(e.code, sizeof(e.code), "HTTP%ld", x->status);
                        snprintf(e.message, sizeof(e.message), "HTTP %ld with %s", x->status,
                                 buf_len(&x->body) ? "an unreadable error document" : "no error document");
                }
                if (!e.request_id[0])
                        copy_str(e.request_id, sizeof(e.request_id), x->request_id);
        }
        c = retry_classify(r, x->status, r == 0 ? e.code : NULL, r == 0 ? e.message : NULL);
        if (c == RETRY_SKEW) {
                int64_t off = retry_skew_from_date(x->date, session_now(s));

                if (off == 0 && strcmp(e.code, "RequestExpired") == 0) {
                        /* EC2 says RequestExpired for expired session tokens too. */
                        c = RETRY_EXPIRED_CREDS;
                } else if (j->skew_corrected || off == 0) {
                        c = RETRY_NONE;
                } else {
                        s->clock_offset += off;
                        j->skew_corrected = true;
                        log_warning("%s: %s: AWS's clock is %+lld s from ours; correcting the offset and "
                                    "retrying", j->q->operation, e.code, (long long)off);
                }
        }
        if (c == RETRY_EXPIRED_CREDS) {
                if (j->creds_refreshed || !credentials_invalidate(&s->creds))
                        c = RETRY_NONE;
                else
                        j->creds_refreshed = true;
        }
        if (retry_acquire(&s->retry, j->attempt, c, &delay)) {
                if (r < 0)
                        log_warning("%s: %s, retrying in %llu ms", j->q->operation, x->errbuf,
                                    (unsigned long long)delay);
                else
                        log_warning("%s: %s (HTTP %ld), retrying in %llu ms", j->q->operation, e.code, x->status,
                                    (unsigned long long)delay);
                j->last = c;
                j->not_before_ms = session_ms(s) + delay;
                goto out;
        }
        /* Final failure. */
        if (r == -E2BIG) {
                job_fail(s, j, r, x->status, "ResponseTooLarge", "the answer from %s is larger than %d bytes",
                         s->endpoint[j->q->service], QUERY_MAX_RESPONSE);
        } else if (r < 0) {
                job_fail(s, j, r, 0, r == -ETIMEDOUT ? "RequestTimeout" : "NetworkError",
                         "%s: %s (after %u attempt%s)", s->endpoint[j->q->service], x->errbuf, j->attempt,
                         j->attempt == 1 ? "" : "s");
        } else {
                int er = retry_classify(0, x->status, e.code, e.message) == RETRY_THROTTLE ? -EAGAIN
                                                                                          : aws_errno_for_code(e.code, x->status);

                if (c == RETRY_TRANSIENT && er == -EINVAL)
                        er = -EIO;
                copy_str(j->res->error.request_id, sizeof(j->res->error.request_id), e.request_id);
                job_fail(s, j, er, x->status, e.code, "%s%s", e.message,
                         j->attempt > 1 ? " (after retries)" : "");
        }
        j->res->attempts = j->attempt;
out:
        http_xfer_clear(s->http, x);
}

int query_call_many(struct aws_session *s, struct query_request *qs, size_t n, unsigned parallel,
                    struct query_result *results)
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
                jobs[i].q = &qs[i];
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
                        if (job_start(s, j) < 0) {
                                finished++;
                                continue;
                        }
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
                                        job_fail(s, &jobs[i], r, 0, "ClientError", "HTTP engine failed");
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
                if (results[i].result < 0 && first_error == 0)
                        first_error = results[i].result;
        }
        free(jobs);
        return first_error;
}

int query_call(struct aws_session *s, struct query_request *q, struct xml_node **ret_doc,
               struct opsagent_aws_error *ret_error)
{
        struct query_result res = { 0 };
        int r;

        r = query_call_many(s, q, 1, 1, &res);
        if (r < 0) {
                if (ret_error)
                        *ret_error = res.error;
                query_result_clear(&res);
                return r;
        }
        *ret_doc = res.doc;
        return 0;
}
