#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "call.h"
#include "query.h"
#include "sigv4.h"

int query_request_init(struct query_request *q, enum aws_service service, const char *operation)
{
        memset(q, 0, sizeof(*q));
        q->service = service;
        snprintf(q->operation, sizeof(q->operation), "%s", operation);
        q->idempotent = strncmp(operation, "Describe", 8) == 0 || strncmp(operation, "List", 4) == 0 ||
                        strncmp(operation, "Get", 3) == 0;
        buf_init(&q->params, QUERY_MAX_BODY);
        return buf_printf(&q->params, "Action=%s&Version=%s", operation, aws_service_info(service)->query_version);
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

/* ---- the Query protocol over the call engine: form bodies, XML answers ---- */

static int xml_answer(const char *body, size_t len, void **ret, struct error *err)
{
        struct xml_node *doc = NULL;
        int r = xml_parse(body, len, &doc, err);

        if (r < 0)
                return r;
        *ret = doc;
        return 0;
}

static void xml_answer_free(void *answer)
{
        xml_free(answer);
}

static bool xml_error(const char *body, size_t len, struct opsagent_aws_error *e)
{
        struct xml_node *doc = NULL;
        bool ok = false;

        if (xml_parse(body, len, &doc, NULL) >= 0)
                ok = query_parse_error(doc, e);
        xml_free(doc);
        return ok;
}

static const struct aws_protocol query_protocol = {
        .parse_answer = xml_answer,
        .free_answer = xml_answer_free,
        .parse_error = xml_error,
};

static int call_many(struct aws_session *s, const struct aws_protocol *protocol, struct query_request *qs, size_t n,
                     unsigned parallel, struct query_result *results)
{
        struct aws_request *reqs;
        struct aws_result *res;
        int r;

        if (n == 0)
                return 0;
        reqs = calloc(n, sizeof(*reqs));
        res = calloc(n, sizeof(*res));
        if (!reqs || !res) {
                free(reqs);
                free(res);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                reqs[i] = (struct aws_request){
                        .protocol = protocol,
                        .service = qs[i].service,
                        .operation = qs[i].operation,
                        .method = "POST",
                        .content_type = "application/x-www-form-urlencoded; charset=utf-8",
                        .body = buf_str(&qs[i].params),
                        .body_len = buf_len(&qs[i].params),
                        .max_response = QUERY_MAX_RESPONSE,
                        .gzip = qs[i].gzip,
                        .idempotent = qs[i].idempotent,
                        .credentials = qs[i].credentials,
                        .anonymous = qs[i].anonymous,
                        .check_outcome = qs[i].check_outcome,
                };
        r = aws_call_many(s, reqs, n, parallel, res);
        for (size_t i = 0; i < n; i++)
                results[i] = (struct query_result){
                        .result = res[i].result,
                        .doc = res[i].answer,
                        .error = res[i].error,
                        .attempts = res[i].attempts,
                        .date = res[i].date,
                        .outcome_unknown = res[i].outcome_unknown,
                };
        free(reqs);
        free(res);
        return r;
}

int query_call_many(struct aws_session *s, struct query_request *qs, size_t n, unsigned parallel,
                    struct query_result *results)
{
        return call_many(s, &query_protocol, qs, n, parallel, results);
}

int query_call_reader(struct aws_session *s, struct query_request *q, const struct query_reader *rd,
                      void **ret_answer)
{
        const struct aws_protocol protocol = {
                .free_answer = rd->free_answer,
                .parse_error = xml_error,
                .stream_begin = rd->begin,
                .stream_feed = rd->feed,
                .stream_end = rd->end,
                .stream_free = rd->free_reader,
        };
        struct query_result res = { 0 };
        int r;

        r = call_many(s, &protocol, q, 1, 1, &res);
        if (r < 0) {
                if (res.doc)
                        rd->free_answer(res.doc);
                return r;
        }
        *ret_answer = res.doc;
        return 0;
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

int query_call_checked(struct aws_session *s, struct query_request *q, struct xml_node **ret_doc,
                       bool *ret_unknown)
{
        struct query_result res = { 0 };
        int r;

        *ret_unknown = false;
        r = query_call_many(s, q, 1, 1, &res);
        if (r < 0) {
                *ret_unknown = res.outcome_unknown;
                query_result_clear(&res);
                return r;
        }
        *ret_doc = res.doc;
        return 0;
}
