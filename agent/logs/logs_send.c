#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logs_send.h"
#include "aws/awserror.h"
#include "aws/awsjson.h"

#define LOGS_PUT_ATTEMPTS 4     /* a token and a creation may each need one more */

static int simple_call(struct aws_session *s, const char *op, json_object *in, struct error *err)
{
        struct opsagent_aws_error e;
        json_object *ans = NULL;
        char line[1024];
        int r;

        memset(&e, 0, sizeof(e));
        r = awsjson_call(s, AWS_SERVICE_LOGS, op, in, &ans, &e);
        json_object_put(ans);
        if (r < 0 && r != -EEXIST)
                return error_set(err, r, "%s", aws_error_format(&e, line, sizeof(line)));
        return r;
}

/* CreateLogGroup (+ PutRetentionPolicy when it made it) and CreateLogStream. */
static int ensure(struct aws_session *s, struct logs_target *t, struct error *err)
{
        json_object *in = json_object_new_object();
        int r;

        if (!in || json_object_object_add(in, "logGroupName", json_object_new_string(t->group)) < 0) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        r = simple_call(s, "CreateLogGroup", in, err);
        if (r < 0 && r != -EEXIST)
                goto out;
        if (r >= 0 && t->retention_days > 0) {
                json_object *rp = json_object_new_object();

                if (!rp || json_object_object_add(rp, "logGroupName", json_object_new_string(t->group)) < 0 ||
                    json_object_object_add(rp, "retentionInDays", json_object_new_int(t->retention_days)) < 0) {
                        json_object_put(rp);
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                r = simple_call(s, "PutRetentionPolicy", rp, err);
                json_object_put(rp);
                if (r < 0)
                        goto out;
        }
        if (json_object_object_add(in, "logStreamName", json_object_new_string(t->stream)) < 0) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        r = simple_call(s, "CreateLogStream", in, err);
        if (r == -EEXIST)
                r = 0;
out:
        json_object_put(in);
        return r;
}

/* The token an InvalidSequenceTokenException or DataAlreadyAcceptedException names: its
 * expectedSequenceToken member, else the end of "... sequenceToken is: TOKEN". */
static char *expected_token(const char *message)
{
        const char *p = strstr(message, "sequenceToken is: ");
        size_t n;

        if (!p)
                return NULL;
        p += strlen("sequenceToken is: ");
        n = strcspn(p, " \t\r\n\"");
        return n > 0 && strncmp(p, "null", 4) != 0 ? strndup(p, n) : NULL;
}

static uint64_t rejected_count(json_object *ans, size_t n)
{
        json_object *info = json_object_object_get(ans, "rejectedLogEventsInfo"), *v;
        uint64_t dropped = 0;

        if (!info)
                return 0;
        /* tooNewLogEventStartIndex..end, 0..tooOldLogEventEndIndex, 0..expiredLogEventEndIndex */
        if ((v = json_object_object_get(info, "tooNewLogEventStartIndex")) && json_object_get_int64(v) >= 0 &&
            (size_t)json_object_get_int64(v) < n)
                dropped += n - (size_t)json_object_get_int64(v);
        {
                int64_t old = -1;

                if ((v = json_object_object_get(info, "tooOldLogEventEndIndex")))
                        old = json_object_get_int64(v);
                if ((v = json_object_object_get(info, "expiredLogEventEndIndex")) && json_object_get_int64(v) > old)
                        old = json_object_get_int64(v);
                if (old >= 0)
                        dropped += (uint64_t)old < n ? (uint64_t)old : n;
        }
        return dropped;
}

bool logs_error_is_transient(int r)
{
        switch (-r) {
        case EINVAL:
        case E2BIG:
        case EMSGSIZE:
        case ERANGE:
        case EDOM:
        case EBADMSG:
                return false;
        default:
                return true;
        }
}

int logs_put(struct aws_session *s, struct logs_target *t, const struct logs_batch *b, uint64_t *ret_rejected,
             struct error *err)
{
        struct opsagent_aws_error e;
        char line[1024];
        json_object *ans = NULL;
        bool created = false;
        int r = -EIO;

        for (int attempt = 0; attempt < LOGS_PUT_ATTEMPTS; attempt++) {
                struct awsjson_request req;
                const char *tok;

                if (t->body.cap == 0)
                        buf_init(&t->body, AWSJSON_MAX_BODY);
                r = logs_batch_request(b, t->group, t->stream, t->token, &t->body);
                if (r < 0) {
                        error_set(err, r, "PutLogEvents: cannot build the request: %s", strerror(-r));
                        goto out;
                }
                json_object_put(ans);
                ans = NULL;
                req = (struct awsjson_request){ AWS_SERVICE_LOGS, "PutLogEvents", buf_str(&t->body),
                                                buf_len(&t->body), false };
                memset(&e, 0, sizeof(e));
                r = awsjson_call_body(s, &req, &ans, &e);
                if (r >= 0) {
                        tok = json_object_get_string(json_object_object_get(ans, "nextSequenceToken"));
                        free(t->token);
                        t->token = tok ? strdup(tok) : NULL;
                        *ret_rejected = rejected_count(ans, b->n);
                        t->ensured = true;
                        goto out;
                }
                if (strcmp(e.code, "DataAlreadyAcceptedException") == 0) {
                        free(t->token);
                        t->token = expected_token(e.message);
                        *ret_rejected = 0;
                        r = 0;
                        goto out;
                }
                if (strcmp(e.code, "InvalidSequenceTokenException") == 0) {
                        free(t->token);
                        t->token = expected_token(e.message);
                        continue;
                }
                if (strcmp(e.code, "ResourceNotFoundException") == 0 && !created) {
                        created = true;
                        r = ensure(s, t, err);
                        if (r < 0) {
                                error_prefix(err, "log group %s, stream %s", t->group, t->stream);
                                goto out;
                        }
                        continue;
                }
                break;
        }
        error_set(err, r, "%s (log group %s, stream %s)", aws_error_format(&e, line, sizeof(line)), t->group,
                  t->stream);
out:
        json_object_put(ans);
        return r;
}
