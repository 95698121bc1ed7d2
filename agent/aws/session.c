#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "imds.h"
#include "session.h"
#include "util/jsonutil.h"
#include "util/log.h"

static const char *env_nonempty(const char *name)
{
        const char *v = getenv(name);

        return v && *v ? v : NULL;
}

/* By enum aws_service: the signing name (also the endpoint's host prefix) and the variable
 * that overrides the endpoint. */
static const struct {
        const char *signing_name;
        const char *endpoint_env;
} services[AWS_SERVICE_COUNT] = {
        [AWS_SERVICE_EC2] = { "ec2", "AWS_ENDPOINT_URL_EC2" },
        [AWS_SERVICE_CLOUDWATCH] = { "monitoring", "AWS_ENDPOINT_URL_CLOUDWATCH" },
        [AWS_SERVICE_LOGS] = { "logs", "AWS_ENDPOINT_URL_LOGS" },
        [AWS_SERVICE_SSM] = { "ssm", "AWS_ENDPOINT_URL_SSM" },
};

const char *aws_service_signing_name(enum aws_service svc)
{
        return (unsigned)svc < AWS_SERVICE_COUNT ? services[svc].signing_name : "unknown";
}

static int make_endpoint(struct aws_session *s, enum aws_service svc)
{
        const char *specific = env_nonempty(services[svc].endpoint_env);
        const char *general = env_nonempty("AWS_ENDPOINT_URL");
        const char *prefix = services[svc].signing_name;
        char *e = NULL;

        if (specific)
                e = strdup(specific);
        else if (general)
                e = strdup(general);
        else if (asprintf(&e, "https://%s.%s.amazonaws.com%s", prefix, s->region,
                          strncmp(s->region, "cn-", 3) == 0 ? ".cn" : "") < 0)
                e = NULL;
        if (!e)
                return -ENOMEM;
        s->endpoint[svc] = e;
        return 0;
}

struct imds *aws_session_imds(struct aws_session *s, struct error *err)
{
        if (s->imds)
                return s->imds;
        error_set(err, -ENXIO, "instance metadata is disabled (AWS_EC2_METADATA_DISABLED=true)");
        return NULL;
}

int aws_session_set_config_dir(struct aws_session *s, const char *dir)
{
        char *d = dir ? strdup(dir) : NULL;

        if (dir && !d)
                return -ENOMEM;
        free(s->config_dir);
        s->config_dir = d;
        s->creds.config_dir = d;
        return 0;
}

int aws_session_new(json_object *attrs, json_object *recipe_attrs, struct aws_session **ret, struct error *err)
{
        struct aws_session *s;
        json_object *o;
        const char *region, *iid;
        char *imds_region = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        o = json_get_value(attrs, "aws.max_attempts");
        retry_policy_init(&s->retry, o ? (unsigned)json_object_get_int(o) : RETRY_DEFAULT_MAX_ATTEMPTS);
        o = json_get_value(attrs, "aws.parallel_requests");
        s->parallel = o ? (unsigned)json_object_get_int(o) : AWS_DEFAULT_PARALLEL;
        if (s->parallel < 1)
                s->parallel = 1;
        if (s->parallel > AWS_MAX_PARALLEL)
                s->parallel = AWS_MAX_PARALLEL;
        o = json_get_value(attrs, "aws.snapshots_page_size");
        s->snapshots_page = o ? (unsigned)json_object_get_int(o) : AWS_DEFAULT_SNAPSHOTS_PAGE;
        if (s->snapshots_page < 5)
                s->snapshots_page = 5;
        if (s->snapshots_page > 1000)
                s->snapshots_page = 1000;
        o = json_get_value(attrs, "aws.timeout_seconds");
        s->timeout_ms = o && json_object_get_int(o) > 0 ? (long)json_object_get_int(o) * 1000L
                                                        : AWS_DEFAULT_TIMEOUT_SECONDS * 1000L;

        r = http_client_new(0, &s->http);
        if (r < 0)
                goto fail;
        if (!imds_disabled_by_env()) {
                struct imds_config ic = { 0 };

                o = json_get_value(attrs, "aws.imds.allow_v1");
                ic.allow_v1 = o && json_object_get_boolean(o);
                r = imds_new(&ic, &s->imds);
                if (r < 0)
                        goto fail;
        }
        s->creds.recipe_attrs = recipe_attrs;
        s->creds.imds = s->imds;

        iid = json_get_nonempty_string(attrs, "aws.instance_id");
        if (!iid)
                iid = json_get_nonempty_string(attrs, "opsagent.instance.id");
        if (iid && !(s->instance_id = strdup(iid))) {
                r = -ENOMEM;
                goto fail;
        }

        /* Region: aws.region, AWS_REGION, AWS_DEFAULT_REGION, the instance's, IMDS. */
        region = json_get_nonempty_string(attrs, "aws.region");
        if (!region)
                region = env_nonempty("AWS_REGION");
        if (!region)
                region = env_nonempty("AWS_DEFAULT_REGION");
        if (!region)
                region = json_get_nonempty_string(attrs, "opsagent.instance.region");
        if (!region && s->imds) {
                r = imds_get(s->imds, "/latest/meta-data/placement/region", &imds_region, err);
                if (r < 0 && r != -ENOENT)
                        goto fail;
                region = imds_region;
        }
        if (!region) {
                r = error_set(err, -ENXIO,
                              "no AWS region: set the attribute aws.region or AWS_REGION%s",
                              s->imds ? "" : " (instance metadata is disabled)");
                goto fail;
        }
        s->region = strdup(region);
        if (!s->region) {
                r = -ENOMEM;
                goto fail;
        }
        r = 0;
        for (unsigned svc = 0; svc < AWS_SERVICE_COUNT && r >= 0; svc++)
                r = make_endpoint(s, (enum aws_service)svc);
        if (r < 0)
                goto fail;
        free(imds_region);
        *ret = s;
        return 0;
fail:
        free(imds_region);
        aws_session_free(s);
        return r;
}

void aws_session_free(struct aws_session *s)
{
        if (!s)
                return;
        credentials_provider_done(&s->creds);
        imds_free(s->imds);
        http_client_free(s->http);
        free(s->region);
        for (unsigned svc = 0; svc < AWS_SERVICE_COUNT; svc++)
                free(s->endpoint[svc]);
        free(s->config_dir);
        free(s->instance_id);
        free(s);
}
