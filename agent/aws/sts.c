#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awserror.h"
#include "query.h"
#include "sts.h"
#include "xml.h"
#include "util/log.h"
#include "util/timeutil.h"

static int call_failed(struct opsagent_aws_error *e, int r, struct error *err)
{
        char text[sizeof(e->operation) + sizeof(e->code) + sizeof(e->message) + sizeof(e->request_id) + 32];

        return error_set(err, r, "%s", aws_error_format(e, text, sizeof(text)));
}

int sts_assume_role(struct aws_session *s, const struct credentials_sts_request *rq, struct aws_credentials *ret,
                    struct error *err)
{
        const char *op = rq->web_identity ? "AssumeRoleWithWebIdentity" : "AssumeRole";
        struct opsagent_aws_error e = { 0 };
        struct query_request q;
        struct xml_node *doc = NULL;
        const struct xml_node *cr;
        struct aws_credentials c = { 0 };
        const char *key, *secret, *token, *exp;
        int64_t expiration = 0;
        char path[96], dur[16];
        int r;

        r = query_request_init(&q, AWS_SERVICE_STS, op);
        if (r >= 0)
                r = query_add(&q, "RoleArn", rq->role_arn);
        if (r >= 0)
                r = query_add(&q, "RoleSessionName", rq->session_name);
        if (r >= 0 && rq->external_id)
                r = query_add(&q, "ExternalId", rq->external_id);
        if (r >= 0 && rq->duration_seconds > 0) {
                snprintf(dur, sizeof(dur), "%d", rq->duration_seconds);
                r = query_add(&q, "DurationSeconds", dur);
        }
        if (r >= 0 && rq->web_identity)
                r = query_add(&q, "WebIdentityToken", rq->web_identity_token);
        if (r < 0) {
                query_request_clear(&q);
                return error_set(err, r, "%s: cannot build the request: %s", op, strerror(-r));
        }
        q.idempotent = true;    /* a second AssumeRole only makes a second session */
        q.anonymous = rq->web_identity;
        q.credentials = rq->web_identity ? NULL : rq->source;
        r = query_call(s, &q, &doc, &e);
        query_request_clear(&q);
        if (r < 0)
                return call_failed(&e, r, err);
        snprintf(path, sizeof(path), "%sResult/Credentials", op);
        cr = xml_path(doc, path);
        key = cr ? xml_path_text(cr, "AccessKeyId") : NULL;
        secret = cr ? xml_path_text(cr, "SecretAccessKey") : NULL;
        token = cr ? xml_path_text(cr, "SessionToken") : NULL;
        exp = cr ? xml_path_text(cr, "Expiration") : NULL;
        if (secret && *secret)
                log_register_secret(secret);
        if (token && *token)
                log_register_secret(token);
        if (!key || !*key || !secret || !*secret || !token || !*token) {
                r = error_set(err, -EBADMSG, "%s: the answer has no Credentials", op);
                goto out;
        }
        if (!exp || parse_iso8601_utc(exp, &expiration) < 0) {
                r = error_set(err, -EBADMSG, "%s: the answer's Expiration is missing or unreadable", op);
                goto out;
        }
        c.access_key_id = strdup(key);
        c.secret_access_key = strdup(secret);
        c.session_token = strdup(token);
        if (!c.access_key_id || !c.secret_access_key || !c.session_token) {
                credentials_clear(&c);
                r = -ENOMEM;
                goto out;
        }
        c.expiration = (time_t)expiration;
        c.source = rq->web_identity ? CREDENTIALS_WEB_IDENTITY : CREDENTIALS_ASSUME_ROLE;
        *ret = c;
        r = 0;
out:
        xml_free(doc);
        return r;
}

int sts_get_caller_identity(struct aws_session *s, char **ret_account, char **ret_arn, time_t *ret_date,
                            struct error *err)
{
        struct query_request q;
        struct query_result res = { 0 };
        const char *account, *arn;
        char *a = NULL, *b = NULL;
        int r;

        r = query_request_init(&q, AWS_SERVICE_STS, "GetCallerIdentity");
        if (r < 0) {
                query_request_clear(&q);
                return r;
        }
        q.idempotent = true;
        r = query_call_many(s, &q, 1, 1, &res);
        query_request_clear(&q);
        if (r < 0) {
                r = call_failed(&res.error, r, err);
                goto out;
        }
        account = xml_path_text(res.doc, "GetCallerIdentityResult/Account");
        arn = xml_path_text(res.doc, "GetCallerIdentityResult/Arn");
        a = strdup(account ? account : "");
        b = strdup(arn ? arn : "");
        if (!a || !b) {
                r = -ENOMEM;
                goto out;
        }
        *ret_account = a;
        *ret_arn = b;
        *ret_date = res.date;
        a = b = NULL;
out:
        free(a);
        free(b);
        query_result_clear(&res);
        return r;
}
