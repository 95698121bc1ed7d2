#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "imds.h"
#include "session.h"
#include "sts.h"
#include "util/jsonutil.h"
#include "util/log.h"

/* snprintf() into a buffer whose end may be cut: a cut text is what we want then. */
static void textf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void textf(char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, size, fmt, ap);
        va_end(ap);
}

static const char *env_nonempty(const char *name)
{
        const char *v = getenv(name);

        return v && *v ? v : NULL;
}

const char *aws_service_signing_name(enum aws_service svc)
{
        const struct aws_service_info *i = aws_service_info(svc);

        return i ? i->signing_name : "";
}

/* A setting from the environment variable ENV, else the profile's KEY (either may be NULL);
 * ORIGIN gets where it was found. */
static const char *setting(const struct aws_config *cfg, const char *env, const char *key, char *origin,
                           size_t size)
{
        const char *v = env ? env_nonempty(env) : NULL;

        origin[0] = '\0';
        if (v) {
                snprintf(origin, size, "%s", env);
                return v;
        }
        if (key && cfg)
                return aws_config_get(cfg, cfg->profile, key, origin, size);
        return NULL;
}

/* The SDKs' booleans: "true" or "false", any case. */
static int boolean(const char *v, const char *origin, bool *ret, struct error *err)
{
        if (strcasecmp(v, "true") == 0)
                *ret = true;
        else if (strcasecmp(v, "false") == 0)
                *ret = false;
        else
                return error_set(err, -EINVAL, "\"%s\" (%s) is neither true nor false", v, origin);
        return 0;
}

static int whole_number(const char *v, const char *origin, unsigned min, unsigned max, unsigned *ret,
                        struct error *err)
{
        char *end = NULL;
        long n;

        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < (long)min || n > (long)max)
                return error_set(err, -EINVAL, "\"%s\" (%s): give a whole number from %u to %u", v, origin, min, max);
        *ret = (unsigned)n;
        return 0;
}

int aws_imds_config_resolve(json_object *attrs, const struct aws_config *cfg, struct imds_config *ret, char *origin,
                            size_t origin_size, struct error *err)
{
        char o1[AWS_CONFIG_ORIGIN_MAX], o2[AWS_CONFIG_ORIGIN_MAX], o3[AWS_CONFIG_ORIGIN_MAX];
        struct imds_config ic = { 0 };
        const char *t, *a, *v1;
        json_object *o;
        unsigned n;
        int r;

        o = json_get_value(attrs, "aws.imds.allow_v1");
        ic.allow_v1 = o && json_object_get_boolean(o);
        ic.endpoint = setting(cfg, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "ec2_metadata_service_endpoint", o1,
                              sizeof(o1));
        ic.endpoint_mode = setting(cfg, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ec2_metadata_service_endpoint_mode",
                                   o1, sizeof(o1));
        v1 = setting(cfg, "AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled", o1, sizeof(o1));
        ic.v1_disabled = v1 && strcasecmp(v1, "true") == 0;
        t = setting(cfg, "AWS_METADATA_SERVICE_TIMEOUT", "metadata_service_timeout", o2, sizeof(o2));
        if (t) {
                r = whole_number(t, o2, 1, AWS_IMDS_MAX_TIMEOUT_S, &n, err);
                if (r < 0)
                        return r;
                ic.timeout_ms = (long)n * 1000L;
        }
        a = setting(cfg, "AWS_METADATA_SERVICE_NUM_ATTEMPTS", "metadata_service_num_attempts", o3, sizeof(o3));
        if (a) {
                r = whole_number(a, o3, 1, AWS_IMDS_MAX_ATTEMPTS, &n, err);
                if (r < 0)
                        return r;
                ic.attempts = n;
        }
        if (origin && origin_size)
                snprintf(origin, origin_size, "timeout %s, attempts %s", t ? o2 : "the default",
                         a ? o3 : "the default");
        *ret = ic;
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

int aws_session_set_test_origin(struct aws_session *s, const char *origin)
{
        char *o = origin ? strdup(origin) : NULL;
        int r;

        if (origin && !o)
                return -ENOMEM;
        r = http_client_set_test_origin(s->http, origin);
        if (r >= 0 && s->sts)
                r = http_client_set_test_origin(s->sts->http, origin);
        if (r < 0) {
                free(o);
                return r;
        }
        free(s->test_origin);
        s->test_origin = o;
        return 0;
}

/* The session the chain's STS calls go through: the parent's region, endpoints and retry
 * settings, an HTTP client of its own (a refresh may happen while the parent's transfers run). */
static int sts_session(struct aws_session *parent, struct aws_session **ret)
{
        struct aws_session *s = calloc(1, sizeof(*s));
        int r = -ENOMEM;

        if (!s)
                return -ENOMEM;
        s->region = strdup(parent->region);
        for (size_t i = 0; i < AWS_SERVICE_COUNT; i++) {
                memcpy(s->endpoint_origin[i], parent->endpoint_origin[i], sizeof(s->endpoint_origin[i]));
                s->endpoint_built[i] = parent->endpoint_built[i];
                if (parent->endpoint[i] && !(s->endpoint[i] = strdup(parent->endpoint[i])))
                        goto fail;
        }
        if (!s->region)
                goto fail;
        r = http_client_new(0, &s->http);
        if (r >= 0 && parent->test_origin)
                r = http_client_set_test_origin(s->http, parent->test_origin);
        if (r < 0)
                goto fail;
        retry_policy_init_mode(&s->retry, parent->retry.mode, parent->retry.max_attempts);
        s->retry.now_ms = parent->retry.now_ms;
        s->retry.random = parent->retry.random;
        s->retry.userdata = parent->retry.userdata;
        s->retry.limiter = parent->retry.limiter;
        s->now = parent->now;
        s->sleep_ms = parent->sleep_ms;
        s->userdata = parent->userdata;
        s->parallel = 1;
        s->timeout_ms = parent->timeout_ms;
        s->snapshots_page = parent->snapshots_page;
        *ret = s;
        return 0;
fail:
        aws_session_free(s);
        return r;
}

static int session_sts(void *userdata, const struct credentials_sts_request *rq, struct aws_credentials *ret,
                       struct error *err)
{
        struct aws_session *s = userdata;
        int r;

        if (!s->sts) {
                r = sts_session(s, &s->sts);
                if (r < 0)
                        return error_set(err, r, "cannot set up the STS client: %s", strerror(-r));
        }
        return sts_assume_role(s->sts, rq, ret, err);
}

static int resolve_region(struct aws_session *s, json_object *attrs, struct error *err)
{
        const char *region = json_get_nonempty_string(attrs, "aws.region"), *from = "the attribute aws.region";
        char *imds_region = NULL;
        int r;

        if (!region && (region = env_nonempty("AWS_REGION")))
                from = "AWS_REGION";
        if (!region && (region = env_nonempty("AWS_DEFAULT_REGION")))
                from = "AWS_DEFAULT_REGION";
        if (region)
                snprintf(s->region_origin, sizeof(s->region_origin), "%s", from);
        if (!region)
                region = aws_config_get(s->config, s->config->profile, "region", s->region_origin,
                                        sizeof(s->region_origin));
        if (!region && (region = json_get_nonempty_string(attrs, "opsagent.instance.region")))
                snprintf(s->region_origin, sizeof(s->region_origin), "the instance metadata (opsagent.instance)");
        if (!region && s->imds) {
                r = imds_get(s->imds, "/latest/meta-data/placement/region", &imds_region, err);
                if (r < 0 && r != -ENOENT)
                        return r;
                region = imds_region;
                snprintf(s->region_origin, sizeof(s->region_origin), "the instance metadata");
        }
        if (!region)
                return error_set(err, -ENXIO,
                                 "no AWS region: set the attribute aws.region, AWS_REGION, or region in profile "
                                 "\"%s\" of %s%s", s->config->profile, s->config->config_path,
                                 s->imds ? "" : " (instance metadata is disabled)");
        if (!aws_region_valid(region)) {
                r = error_set(err, -EINVAL, "region \"%s\" (%s) is not a region name (one DNS label: letters, "
                              "digits, hyphens)", region, s->region_origin);
                free(imds_region);
                return r;
        }
        s->region = strdup(region);
        free(imds_region);
        return s->region ? 0 : -ENOMEM;
}

static int resolve_retry(struct aws_session *s, json_object *attrs, struct error *err)
{
        char mode_from[AWS_CONFIG_ORIGIN_MAX], max_from[AWS_CONFIG_ORIGIN_MAX];
        enum retry_mode mode = RETRY_MODE_STANDARD;
        const char *m, *a = NULL;
        json_object *o = json_get_value(attrs, "aws.max_attempts");
        unsigned max = 0;
        int r;

        m = setting(s->config, "AWS_RETRY_MODE", "retry_mode", mode_from, sizeof(mode_from));
        if (m && retry_mode_from_name(m, &mode) < 0)
                return error_set(err, -EINVAL, "retry mode \"%s\" (%s) is not one of legacy, standard, adaptive", m,
                                 mode_from);
        if (o && json_object_is_type(o, json_type_int)) {
                max = (unsigned)json_object_get_int(o);
                snprintf(max_from, sizeof(max_from), "the attribute aws.max_attempts");
        } else if ((a = setting(s->config, "AWS_MAX_ATTEMPTS", "max_attempts", max_from, sizeof(max_from)))) {
                r = whole_number(a, max_from, 1, RETRY_MAX_ATTEMPTS_LIMIT, &max, err);
                if (r < 0)
                        return r;
        }
        retry_policy_init_mode(&s->retry, mode, max);
        textf(s->retry_origin, sizeof(s->retry_origin), "mode %s (%s), %u attempts (%s)", retry_mode_name(mode),
                 m ? mode_from : "opsagent's default, as the AWS CLI v2", s->retry.max_attempts,
                 max ? max_from : "the mode's default");
        return 0;
}

static int resolve_variants(struct aws_session *s, bool *ignore, struct error *err)
{
        char from[AWS_CONFIG_ORIGIN_MAX];
        const char *v;
        int r;

        v = setting(s->config, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint", s->fips_origin, sizeof(s->fips_origin));
        if (v && (r = boolean(v, s->fips_origin, &s->use_fips, err)) < 0)
                return r;
        v = setting(s->config, "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint", s->dualstack_origin,
                    sizeof(s->dualstack_origin));
        if (v && (r = boolean(v, s->dualstack_origin, &s->use_dualstack, err)) < 0)
                return r;
        *ignore = false;
        v = setting(s->config, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "ignore_configured_endpoint_urls", from,
                    sizeof(from));
        if (v && (r = boolean(v, from, ignore, err)) < 0)
                return r;
        return 0;
}

static int resolve_endpoint(struct aws_session *s, enum aws_service svc, bool ignore, struct error *err)
{
        const struct aws_service_info *si = aws_service_info(svc);
        char *origin = s->endpoint_origin[svc], env[64], *scheme = NULL, *host = NULL;
        size_t osize = sizeof(s->endpoint_origin[svc]);
        const char *url = NULL;
        int r;

        snprintf(env, sizeof(env), "AWS_ENDPOINT_URL_%s", si->env_suffix);
        if (!ignore) {
                url = setting(NULL, env, NULL, origin, osize);
                if (!url && si->env_alias) {
                        snprintf(env, sizeof(env), "AWS_ENDPOINT_URL_%s", si->env_alias);
                        url = setting(NULL, env, NULL, origin, osize);
                }
                if (!url)
                        url = setting(NULL, "AWS_ENDPOINT_URL", NULL, origin, osize);
                if (!url) {
                        r = aws_config_service_get(s->config, s->config->profile, si->id, "endpoint_url", &url, origin,
                                                   osize, err);
                        if (r < 0)
                                return r;
                }
                if (!url)
                        url = aws_config_get(s->config, s->config->profile, "endpoint_url", origin, osize);
        }
        if (!url) {
                r = aws_endpoint_url(svc, s->region, s->use_fips, s->use_dualstack, &s->endpoint[svc], err);
                if (r < 0)
                        return r;
                snprintf(origin, osize, "built for %s (partition %s%s%s)", s->region, aws_partition_of(s->region)->id,
                         s->use_fips ? ", FIPS" : "", s->use_dualstack ? ", dual-stack" : "");
                s->endpoint_built[svc] = true;
                return 0;
        }
        if (http_url_scheme_host(url, &scheme, &host) < 0 ||
            (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
                free(scheme);
                free(host);
                return error_set(err, -EINVAL, "endpoint URL \"%s\" (%s) is not an http or https URL (give the scheme: "
                                 "https://host[:port])", url, origin);
        }
        free(scheme);
        free(host);
        if (s->use_fips || s->use_dualstack) {
                /* As the SDKs: the calls to this service fail, the others go on. */
                char why[AWS_CONFIG_ORIGIN_MAX];

                snprintf(why, sizeof(why), "%s", origin);
                textf(origin, osize, "%s endpoints (%s) and the endpoint URL of %s (%s) exclude each other, as in the "
                      "AWS SDKs: unset one", s->use_fips ? "FIPS" : "dual-stack",
                      s->use_fips ? s->fips_origin : s->dualstack_origin, si->id, why);
                return 0;
        }
        s->endpoint[svc] = strdup(url);
        return s->endpoint[svc] ? 0 : -ENOMEM;
}

static void attr_numbers(struct aws_session *s, json_object *attrs)
{
        json_object *o;

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
}

int aws_session_new(json_object *attrs, json_object *recipe_attrs, struct aws_session **ret, struct error *err)
{
        struct aws_session *s;
        const char *iid;
        bool ignore = false;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        attr_numbers(s, attrs);
        r = aws_config_load(json_get_nonempty_string(attrs, "aws.profile"), &s->config, err);
        if (r < 0)
                goto fail;
        r = resolve_retry(s, attrs, err);
        if (r < 0)
                goto fail;
        r = http_client_new(0, &s->http);
        if (r < 0)
                goto fail;
        if (!imds_disabled_by_env()) {
                struct imds_config ic;

                r = aws_imds_config_resolve(attrs, s->config, &ic, s->imds_origin, sizeof(s->imds_origin), err);
                if (r < 0)
                        goto fail;
                s->imds_timeout_ms = ic.timeout_ms ? ic.timeout_ms : IMDS_TIMEOUT_MS;
                s->imds_attempts = ic.attempts ? ic.attempts : IMDS_ATTEMPTS;
                r = imds_new(&ic, &s->imds);
                if (r < 0)
                        goto fail;
        }
        s->creds.recipe_attrs = recipe_attrs;
        s->creds.imds = s->imds;
        s->creds.config = s->config;
        s->creds.sts = session_sts;
        s->creds.sts_userdata = s;

        iid = json_get_nonempty_string(attrs, "aws.instance_id");
        if (!iid)
                iid = json_get_nonempty_string(attrs, "opsagent.instance.id");
        if (iid && !(s->instance_id = strdup(iid))) {
                r = -ENOMEM;
                goto fail;
        }
        r = resolve_region(s, attrs, err);
        if (r >= 0)
                r = resolve_variants(s, &ignore, err);
        for (size_t i = 0; i < AWS_SERVICE_COUNT && r >= 0; i++)
                r = resolve_endpoint(s, (enum aws_service)i, ignore, err);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        aws_session_free(s);
        return r;
}

void aws_session_free(struct aws_session *s)
{
        if (!s)
                return;
        aws_session_free(s->sts);
        credentials_provider_done(&s->creds);
        imds_free(s->imds);
        http_client_free(s->http);
        aws_config_free(s->config);
        free(s->region);
        for (size_t i = 0; i < AWS_SERVICE_COUNT; i++)
                free(s->endpoint[i]);
        free(s->config_dir);
        free(s->instance_id);
        free(s->test_origin);
        free(s);
}
