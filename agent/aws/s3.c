#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awserror.h"
#include "call.h"
#include "s3.h"
#include "xml.h"

int s3_url_split(const char *url, char **ret_bucket, char **ret_key)
{
        const char *b, *slash;
        char *bucket, *key;

        if (!url || strncmp(url, "s3://", 5) != 0 || strlen(url) > S3_URL_MAX)
                return -EINVAL;
        b = url + 5;
        slash = strchr(b, '/');
        if (!slash || slash == b || slash[1] == '\0')
                return -EINVAL;
        bucket = strndup(b, (size_t)(slash - b));
        key = strdup(slash + 1);
        if (!bucket || !key) {
                free(bucket);
                free(key);
                return -ENOMEM;
        }
        *ret_bucket = bucket;
        *ret_key = key;
        return 0;
}

/* The answer is the object's bytes, as text. */
static int body_answer(const char *body, size_t len, void **ret, struct error *err)
{
        char *copy;

        if (memchr(body, '\0', len))
                return error_set(err, -EBADMSG, "the object holds a NUL byte: it is not a text document");
        copy = malloc(len + 1);
        if (!copy)
                return error_set(err, -ENOMEM, "out of memory");
        memcpy(copy, body, len);
        copy[len] = '\0';
        *ret = copy;
        return 0;
}

static bool s3_parse_error(const char *body, size_t len, struct opsagent_aws_error *e)
{
        struct xml_node *doc = NULL;
        const char *code;

        if (len == 0 || xml_parse(body, len, &doc, NULL) < 0)
                return false;
        code = strcmp(doc->name, "Error") == 0 ? xml_path_text(doc, "Code") : NULL;
        if (code) {
                const char *msg = xml_path_text(doc, "Message"), *rid = xml_path_text(doc, "RequestId");

                snprintf(e->code, sizeof(e->code), "%s", code);
                snprintf(e->message, sizeof(e->message), "%s", msg ? msg : "");
                if (rid)
                        snprintf(e->request_id, sizeof(e->request_id), "%s", rid);
        }
        xml_free(doc);
        return code != NULL;
}

static const struct aws_protocol s3_protocol = {
        .parse_answer = body_answer,
        .free_answer = free,
        .parse_error = s3_parse_error,
};

bool s3_bucket_virtual_hostable(const char *bucket)
{
        size_t n = bucket ? strlen(bucket) : 0;

        if (n < 3 || n > 63 || bucket[0] == '-' || bucket[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((bucket[i] >= 'a' && bucket[i] <= 'z') || (bucket[i] >= '0' && bucket[i] <= '9') ||
                      bucket[i] == '-'))
                        return false;
        return true;
}

int s3_request_target(bool endpoint_built, const char *bucket, const char *key, const char **ret_host_label,
                      char **ret_path)
{
        bool virt = endpoint_built && s3_bucket_virtual_hostable(bucket);

        if ((virt ? asprintf(ret_path, "/%s", key) : asprintf(ret_path, "/%s/%s", bucket, key)) < 0) {
                *ret_path = NULL;
                return -ENOMEM;
        }
        *ret_host_label = virt ? bucket : NULL;
        return 0;
}

int s3_get_object(struct aws_session *s, const char *bucket, const char *key, size_t max, char **ret_body,
                  char **ret_etag)
{
        struct aws_result res = { 0 };
        struct aws_request q;
        const char *label = NULL;
        char *path = NULL, *etag = NULL;
        int r;

        if (s3_request_target(s->endpoint_built[AWS_SERVICE_S3], bucket, key, &label, &path) < 0) {
                aws_error_set(&s->last_error, "GetObject", "ClientError", 0, NULL, "out of memory");
                return -ENOMEM;
        }
        q = (struct aws_request){
                .protocol = &s3_protocol,
                .service = AWS_SERVICE_S3,
                .operation = "GetObject",
                .method = "GET",
                .path = path,
                .host_label = label,
                .max_response = max,
                .idempotent = true,
        };
        r = aws_call_many(s, &q, 1, 1, &res);
        if (r < 0)
                goto out;
        etag = strdup(res.etag);
        if (!etag) {
                aws_error_set(&s->last_error, "GetObject", "ClientError", 0, NULL, "out of memory");
                r = -ENOMEM;
                goto out;
        }
        *ret_body = res.answer;
        res.answer = NULL;
        *ret_etag = etag;
out:
        aws_result_clear(&q, &res);
        free(path);
        return r;
}
