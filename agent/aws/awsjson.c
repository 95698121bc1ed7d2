#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awserror.h"
#include "awsjson.h"
#include "call.h"

const char *awsjson_target_prefix(enum aws_service svc)
{
        switch (svc) {
        case AWS_SERVICE_LOGS:
                return "Logs_20140328";
        case AWS_SERVICE_SSM:
                return "AmazonSSM";
        default:
                return NULL;
        }
}

/* BODY parsed strictly as one JSON value (nothing after it), or NULL. */
static json_object *parse_strict(const char *body, size_t len)
{
        json_tokener *tok;
        json_object *o;

        if (len > AWSJSON_MAX_RESPONSE)
                return NULL;
        tok = json_tokener_new_ex(AWSJSON_MAX_DEPTH);
        if (!tok)
                return NULL;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        o = json_tokener_parse_ex(tok, body, (int)len);
        if (o && (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len)) {
                /* trailing white space is fine, anything else is not */
                for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
                        if (!strchr(" \t\r\n", body[i])) {
                                json_object_put(o);
                                o = NULL;
                                break;
                        }
        }
        json_tokener_free(tok);
        return o;
}

static void copy_str(char *dst, size_t size, const char *src)
{
        snprintf(dst, size, "%s", src ? src : "");
}

bool awsjson_parse_error(const char *body, size_t len, struct opsagent_aws_error *e)
{
        json_object *o = parse_strict(body, len), *v;
        const char *type = NULL, *msg = NULL, *hash;
        size_t n;

        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return false;
        }
        if ((json_object_object_get_ex(o, "__type", &v) || json_object_object_get_ex(o, "code", &v)) &&
            json_object_is_type(v, json_type_string))
                type = json_object_get_string(v);
        if (!type || !*type) {
                json_object_put(o);
                return false;
        }
        if ((json_object_object_get_ex(o, "message", &v) || json_object_object_get_ex(o, "Message", &v)) &&
            json_object_is_type(v, json_type_string))
                msg = json_object_get_string(v);
        /* "com.amazonaws.logs#ResourceNotFoundException", or "Code:http://..." */
        hash = strrchr(type, '#');
        if (hash)
                type = hash + 1;
        n = strcspn(type, ":");
        snprintf(e->code, sizeof(e->code), "%.*s", (int)n, type);
        copy_str(e->message, sizeof(e->message), msg);
        json_object_put(o);
        return true;
}

static int json_answer(const char *body, size_t len, void **ret, struct error *err)
{
        json_object *o;
        size_t i = 0;

        while (i < len && strchr(" \t\r\n", body[i]))
                i++;
        if (i == len) {
                /* Some operations answer 200 with no body at all. */
                o = json_object_new_object();
                if (!o)
                        return error_set(err, -ENOMEM, "out of memory");
                *ret = o;
                return 0;
        }
        o = parse_strict(body, len);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return error_set(err, -EBADMSG, "the answer is not a JSON object (%zu bytes)", len);
        }
        *ret = o;
        return 0;
}

static void json_answer_free(void *answer)
{
        json_object_put(answer);
}

static const struct aws_protocol json_protocol = {
        .parse_answer = json_answer,
        .free_answer = json_answer_free,
        .parse_error = awsjson_parse_error,
};

int awsjson_call_body(struct aws_session *s, const struct awsjson_request *req, json_object **ret_answer,
                      struct opsagent_aws_error *ret_error)
{
        const char *prefix = awsjson_target_prefix(req->service);
        struct aws_result res = { 0 };
        struct aws_request q;
        char target[AWSJSON_TARGET_MAX];
        int r;

        if (!prefix || !req->operation || !*req->operation ||
            (size_t)snprintf(target, sizeof(target), "%s.%s", prefix, req->operation) >= sizeof(target)) {
                aws_error_set(&s->last_error, req->operation, "ClientError", 0, NULL,
                              "not a JSON 1.1 operation of this service");
                if (ret_error)
                        *ret_error = s->last_error;
                return -EINVAL;
        }
        if (req->body && req->body_len > AWSJSON_MAX_BODY) {
                aws_error_set(&s->last_error, req->operation, "RequestTooLarge", 0, NULL,
                              "the request body is %zu bytes, more than the %d allowed", req->body_len,
                              AWSJSON_MAX_BODY);
                if (ret_error)
                        *ret_error = s->last_error;
                return -E2BIG;
        }
        q = (struct aws_request){
                .protocol = &json_protocol,
                .service = req->service,
                .operation = req->operation,
                .method = "POST",
                .path = "/",
                .content_type = AWSJSON_CONTENT_TYPE,
                .headers = { { "X-Amz-Target", target } },
                .n_headers = 1,
                .body = req->body ? req->body : "{}",
                .body_len = req->body ? req->body_len : 2,
                .max_response = AWSJSON_MAX_RESPONSE,
                .idempotent = req->idempotent,
        };
        r = aws_call_many(s, &q, 1, 1, &res);
        if (r < 0) {
                if (ret_error)
                        *ret_error = res.error;
                aws_result_clear(&q, &res);
                return r;
        }
        *ret_answer = res.answer;
        return 0;
}

int awsjson_call(struct aws_session *s, enum aws_service svc, const char *operation, json_object *input,
                 json_object **ret_answer, struct opsagent_aws_error *ret_error)
{
        struct awsjson_request req = { .service = svc, .operation = operation };
        const char *body = "{}";
        size_t len = 2;

        if (input) {
                body = json_object_to_json_string_length(input, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                                         &len);
                if (!body)
                        return -ENOMEM;
        }
        req.body = body;
        req.body_len = len;
        req.idempotent = operation && (strncmp(operation, "Describe", 8) == 0 || strncmp(operation, "Get", 3) == 0 ||
                                       strncmp(operation, "List", 4) == 0);
        return awsjson_call_body(s, &req, ret_answer, ret_error);
}
