#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "awsconfig.h"
#include "containercreds.h"
#include "credentials.h"
#include "credprocess.h"
#include "imds.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "util/timeutil.h"

#define KEY_FILE_MAX (4 * 1024 * 1024)

/* snprintf() into a buffer whose end may be cut: a cut text is what we want then. */
static void textf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void textf(char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, size, fmt, ap);
        va_end(ap);
}

const char *credentials_source_name(enum credentials_source s)
{
        switch (s) {
        case CREDENTIALS_RECIPE:
                return "the recipe's aws_key/aws_secret attributes";
        case CREDENTIALS_ENV:
                return "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";
        case CREDENTIALS_ASSUME_ROLE:
                return "the profile's role_arn (STS AssumeRole)";
        case CREDENTIALS_WEB_IDENTITY:
                return "web identity (STS AssumeRoleWithWebIdentity)";
        case CREDENTIALS_SSO:
                return "IAM Identity Center (SSO)";
        case CREDENTIALS_SHARED_FILE:
                return "the shared credentials file";
        case CREDENTIALS_PROCESS:
                return "the profile's credential_process";
        case CREDENTIALS_CONFIG_FILE:
                return "the shared config file's keys";
        case CREDENTIALS_CONTAINER:
                return "container credentials (ECS/EKS)";
        case CREDENTIALS_IMDS:
                return "the instance role";
        default:
                return "none";
        }
}

const char *credentials_source_id(enum credentials_source s)
{
        static const char *const ids[] = {
                [CREDENTIALS_NONE] = "none",
                [CREDENTIALS_RECIPE] = "recipe-attributes",
                [CREDENTIALS_ENV] = "environment",
                [CREDENTIALS_ASSUME_ROLE] = "assume-role",
                [CREDENTIALS_WEB_IDENTITY] = "web-identity",
                [CREDENTIALS_SSO] = "sso",
                [CREDENTIALS_SHARED_FILE] = "shared-credentials-file",
                [CREDENTIALS_PROCESS] = "credential-process",
                [CREDENTIALS_CONFIG_FILE] = "config-file",
                [CREDENTIALS_CONTAINER] = "container",
                [CREDENTIALS_IMDS] = "instance-role",
        };

        return (size_t)s < sizeof(ids) / sizeof(ids[0]) ? ids[s] : "none";
}

void credentials_mask_key_id(const char *key_id, char *buf, size_t size)
{
        size_t l = key_id ? strlen(key_id) : 0;

        if (l <= 4)
                snprintf(buf, size, "****");
        else
                snprintf(buf, size, "****************%s", key_id + l - 4);  /* as `aws configure list` */
}

void credentials_clear(struct aws_credentials *c)
{
        if (!c)
                return;
        free(c->access_key_id);
        free(c->secret_access_key);
        free(c->session_token);
        memset(c, 0, sizeof(*c));
}

static time_t now_of(struct credentials_provider *p)
{
        return p->now ? p->now(p->userdata) : time(NULL);
}

static int set_creds(struct aws_credentials *c, const char *key, const char *secret, const char *token,
                     time_t expiration, enum credentials_source source)
{
        struct aws_credentials n = { 0 };

        n.access_key_id = strdup(key);
        n.secret_access_key = strdup(secret);
        n.session_token = token && *token ? strdup(token) : NULL;
        if (!n.access_key_id || !n.secret_access_key || (token && *token && !n.session_token)) {
                credentials_clear(&n);
                return -ENOMEM;
        }
        n.expiration = expiration;
        n.source = source;
        log_register_secret(secret);
        if (n.session_token)
                log_register_secret(n.session_token);
        credentials_clear(c);
        *c = n;
        return 0;
}

int credentials_copy(const struct aws_credentials *src, enum credentials_source source, struct aws_credentials *ret)
{
        struct aws_credentials c = { 0 };
        int r = set_creds(&c, src->access_key_id, src->secret_access_key, src->session_token, src->expiration, source);

        if (r < 0)
                return r;
        *ret = c;
        return 0;
}

int credentials_parse_document(const char *text, const char *what, enum credentials_source source,
                               struct aws_credentials *ret, struct error *err)
{
        json_object *o = json_tokener_parse(text), *v;
        const char *key = NULL, *secret = NULL, *token = NULL, *exp = NULL, *code = NULL;
        struct aws_credentials c = { 0 };
        int64_t expiration = 0;
        int r;

        if (!o || !json_object_is_type(o, json_type_object)) {
                r = error_set(err, -EBADMSG, "%s: not a JSON object", what);
                goto out;
        }
        if (json_object_object_get_ex(o, "Code", &v))
                code = json_object_get_string(v);
        if (json_object_object_get_ex(o, "AccessKeyId", &v))
                key = json_object_get_string(v);
        if (json_object_object_get_ex(o, "SecretAccessKey", &v))
                secret = json_object_get_string(v);
        if (json_object_object_get_ex(o, "Token", &v))
                token = json_object_get_string(v);
        if (json_object_object_get_ex(o, "Expiration", &v))
                exp = json_object_get_string(v);
        if (secret)
                log_register_secret(secret);
        if (token)
                log_register_secret(token);
        if (code && strcmp(code, "Success") != 0) {
                r = error_set(err, -EACCES, "%s: the answer says %s", what, code);
                goto out;
        }
        if (!key || !*key || !secret || !*secret) {
                r = error_set(err, -EBADMSG, "%s: AccessKeyId or SecretAccessKey missing", what);
                goto out;
        }
        if (exp && parse_iso8601_utc(exp, &expiration) < 0) {
                r = error_set(err, -EBADMSG, "%s: bad Expiration \"%s\"", what, exp);
                goto out;
        }
        r = set_creds(&c, key, secret, token, expiration, source);
        if (r < 0)
                goto out;
        *ret = c;
out:
        json_object_put(o);
        return r;
}

int credentials_parse_role_json(const char *text, struct aws_credentials *ret, struct error *err)
{
        return credentials_parse_document(text, "instance role credentials", CREDENTIALS_IMDS, ret, err);
}

static bool file_contains(const char *path, const char *needle)
{
        char *text = NULL;
        bool found;

        if (read_file_capped(path, KEY_FILE_MAX, &text, NULL) < 0)
                return false;
        found = strstr(text, needle) != NULL;
        free(text);
        return found;
}

int credentials_warn_exposed_key_files(const char *config_dir, const char *secret)
{
        static const char *const names[] = { "stack.json", "local.json", NULL };
        char *layers = NULL;
        DIR *d = NULL;
        struct dirent *de;
        int n = 0;

        if (!config_dir || !secret || !*secret)
                return 0;
        for (size_t i = 0; names[i]; i++) {
                char *p = path_join(config_dir, names[i]);

                if (p && file_readable_by_others(p) && file_contains(p, secret)) {
                        log_warning("%s holds an AWS secret key and can be read by other users: "
                                    "chmod 600 %s (or chmod o-r,g-r)", p, p);
                        n++;
                }
                free(p);
        }
        layers = path_join(config_dir, "layers");
        d = layers ? opendir(layers) : NULL;
        while (d && (de = readdir(d))) {
                char *p;

                if (de->d_name[0] == '.')
                        continue;
                p = path_join(layers, de->d_name);
                if (p && file_readable_by_others(p) && file_contains(p, secret)) {
                        log_warning("%s holds an AWS secret key and can be read by other users: chmod 600 %s",
                                    p, p);
                        n++;
                }
                free(p);
        }
        if (d)
                closedir(d);
        free(layers);
        return n;
}

/* ---- what the process shares -------------------------------------------------------------- */

/* The instance role's credentials as this process last fetched them: the other providers of
 * the process, and the recipe children it forks, take them from here until they are due for
 * a refresh, instead of asking IMDS again. */
static struct {
        char *role;
        struct aws_credentials cur;
} shared_role;

/* Whole resolutions that expire (roles assumed, processes run, containers asked), by what
 * they were resolved from. */
static struct {
        char *key;
        struct aws_credentials cur;
        struct credentials_trace trace;
} shared[CREDENTIALS_SHARED_MAX];

static bool due(struct credentials_provider *p, const struct aws_credentials *c)
{
        return c->expiration != 0 && now_of(p) + CREDENTIALS_REFRESH_BEFORE_S >= c->expiration;
}

static bool shared_role_take(struct credentials_provider *p, struct aws_credentials *ret)
{
        const struct aws_credentials *c = &shared_role.cur;
        char *role;

        if (!c->access_key_id || due(p, c))
                return false;
        role = strdup(shared_role.role);
        if (!role || set_creds(ret, c->access_key_id, c->secret_access_key, c->session_token, c->expiration,
                               CREDENTIALS_IMDS) < 0) {
                free(role);
                return false;
        }
        free(p->role);
        p->role = role;
        return true;
}

static void shared_role_put(const struct credentials_provider *p, const struct aws_credentials *c)
{
        char *role = strdup(p->role);

        if (!role)
                return;
        credentials_clear(&shared_role.cur);
        free(shared_role.role);
        shared_role.role = role;
        if (set_creds(&shared_role.cur, c->access_key_id, c->secret_access_key, c->session_token, c->expiration,
                      CREDENTIALS_IMDS) < 0)
                credentials_clear(&shared_role.cur);
}

static void shared_forget(size_t i)
{
        free(shared[i].key);
        shared[i].key = NULL;
        credentials_clear(&shared[i].cur);
}

void credentials_forget_shared(void)
{
        credentials_clear(&shared_role.cur);
        free(shared_role.role);
        shared_role.role = NULL;
        for (size_t i = 0; i < CREDENTIALS_SHARED_MAX; i++)
                shared_forget(i);
}

static bool shared_take(struct credentials_provider *p, const char *key)
{
        for (size_t i = 0; i < CREDENTIALS_SHARED_MAX; i++) {
                if (!shared[i].key || strcmp(shared[i].key, key) != 0)
                        continue;
                if (due(p, &shared[i].cur) ||
                    credentials_copy(&shared[i].cur, shared[i].cur.source, &p->cur) < 0)
                        return false;
                p->trace = shared[i].trace;
                p->trace.cached = true;
                return true;
        }
        return false;
}

static void shared_put(struct credentials_provider *p, const char *key)
{
        size_t slot = 0;

        for (size_t i = 0; i < CREDENTIALS_SHARED_MAX; i++) {
                if (shared[i].key && strcmp(shared[i].key, key) == 0) {
                        slot = i;
                        break;
                }
                if (!shared[i].key)
                        slot = i;
        }
        shared_forget(slot);
        shared[slot].key = strdup(key);
        if (!shared[slot].key || credentials_copy(&p->cur, p->cur.source, &shared[slot].cur) < 0) {
                shared_forget(slot);
                return;
        }
        shared[slot].trace = p->trace;
}

/* ---- the trace ---------------------------------------------------------------------------- */

static void trace(struct credentials_provider *p, enum credentials_source s, bool chosen, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void trace(struct credentials_provider *p, enum credentials_source s, bool chosen, const char *fmt, ...)
{
        struct credentials_step *st;
        va_list ap;

        if (p->trace.n == CREDENTIALS_TRACE_MAX)
                return;
        st = &p->trace.steps[p->trace.n++];
        st->source = s;
        st->chosen = chosen;
        va_start(ap, fmt);
        vsnprintf(st->text, sizeof(st->text), fmt, ap);
        va_end(ap);
}

/* ---- the sources -------------------------------------------------------------------------- */

static const char *env_nonempty(const char *name)
{
        const char *v = getenv(name);

        return v && *v ? v : NULL;
}

static const char *profile_of(const struct credentials_provider *p)
{
        return p->config ? p->config->profile : "default";
}

static bool explicit_profile(const struct credentials_provider *p)
{
        return p->config && p->config->profile_explicit;
}

/* KEY of profile NAME in the merged view (credentials file over config file). */
static const char *pget(const struct credentials_provider *p, const char *name, const char *key, char *origin,
                        size_t size)
{
        if (origin && size)
                origin[0] = '\0';
        return p->config ? aws_config_get(p->config, name, key, origin, size) : NULL;
}

/* KEY of [NAME] in one file only (SharedCredentialProvider and ConfigProvider read one each). */
static const char *fget(const struct credentials_provider *p, bool credentials_file, const char *name,
                        const char *key, const char **ret_path)
{
        const struct ini_section *s;
        const struct ini_entry *e;

        *ret_path = NULL;
        if (!p->config)
                return NULL;
        if (credentials_file) {
                s = ini_section_find(p->config->credentials, name);
                *ret_path = p->config->credentials_path;
        } else {
                /* the config file's [profile NAME] (or [default]): ask the merged view, but only
                 * when the credentials file does not hold the key */
                const struct ini_section *cs = ini_section_find(p->config->credentials, name);

                *ret_path = p->config->config_path;
                if (cs && ini_entry_find(cs->entries, cs->n, key))
                        return NULL;
                return aws_config_get(p->config, name, key, NULL, 0);
        }
        e = s ? ini_entry_find(s->entries, s->n, key) : NULL;
        return e ? e->value : NULL;
}

static int source_recipe(struct credentials_provider *p, bool *found, struct error *err)
{
        const char *key = json_get_string(p->recipe_attrs, "aws_key");
        const char *secret = json_get_string(p->recipe_attrs, "aws_secret");
        int r;

        if (secret && *secret)
                log_register_secret(secret);
        if (!(key && *key) && !(secret && *secret)) {
                trace(p, CREDENTIALS_RECIPE, false, "no aws_key/aws_secret in the recipe's attributes");
                return 0;
        }
        if (!key || !*key || !secret || !*secret)
                return error_set(err, -EINVAL, "%s is set but %s is not: set both or neither",
                                 key && *key ? "aws_key" : "aws_secret", key && *key ? "aws_secret" : "aws_key");
        r = set_creds(&p->cur, key, secret, NULL, 0, CREDENTIALS_RECIPE);
        if (r < 0)
                return r;
        if (!p->warned) {
                credentials_warn_exposed_key_files(p->config_dir, secret);
                p->warned = true;
        }
        trace(p, CREDENTIALS_RECIPE, true, "the recipe's aws_key/aws_secret attributes");
        *found = true;
        return 0;
}

/* botocore's EnvProvider: AWS_ACCESS_KEY_ID decides; the secret must come with it. */
static int env_keys(struct aws_credentials *ret, bool *found, struct error *err)
{
        const char *key = env_nonempty("AWS_ACCESS_KEY_ID"), *secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
        const char *token = env_nonempty("AWS_SECURITY_TOKEN");

        *found = false;
        if (secret)
                log_register_secret(secret);
        if (!key)
                return 0;
        if (!secret)
                return error_set(err, -EINVAL, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both "
                                 "or neither");
        if (!token)
                token = env_nonempty("AWS_SESSION_TOKEN");
        *found = true;
        return set_creds(ret, key, secret, token, 0, CREDENTIALS_ENV);
}

static int source_env(struct credentials_provider *p, bool *found, struct error *err)
{
        int r;

        if (explicit_profile(p)) {
                trace(p, CREDENTIALS_ENV, false, "not looked at: the attribute aws.profile names the profile");
                return 0;
        }
        r = env_keys(&p->cur, found, err);
        if (r < 0)
                return r;
        if (*found)
                trace(p, CREDENTIALS_ENV, true, "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY%s",
                      p->cur.session_token ? " with a session token" : "");
        else
                trace(p, CREDENTIALS_ENV, false, "AWS_ACCESS_KEY_ID is not set");
        return 0;
}

static int fetch_role(struct credentials_provider *p, struct aws_credentials *ret, struct error *err)
{
        struct aws_credentials c = { 0 };
        char *list = NULL, *doc = NULL, path[512];
        int r;

        if (shared_role_take(p, ret))
                return 0;
        if (!p->role) {
                r = imds_get(p->imds, "/latest/meta-data/iam/security-credentials/", &list, err);
                if (r == -ENOENT)
                        return error_set(err, -ENOKEY, "this instance has no role");
                if (r < 0)
                        return r;
                list[strcspn(list, "\r\n")] = '\0';
                if (!*list) {
                        free(list);
                        return error_set(err, -ENOKEY, "this instance has no role");
                }
                p->role = list;
        }
        snprintf(path, sizeof(path), "/latest/meta-data/iam/security-credentials/%s", p->role);
        r = imds_get(p->imds, path, &doc, err);
        if (r == -ENOENT)
                r = error_set(err, -ENOKEY, "instance role %s has no credentials in the metadata", p->role);
        if (r < 0)
                goto out;
        r = credentials_parse_role_json(doc, &c, err);
        if (r < 0)
                goto out;
        credentials_clear(ret);
        *ret = c;
        shared_role_put(p, &c);
        log_debug("AWS credentials: instance role %s, expiring at %lld", p->role, (long long)c.expiration);
out:
        free(doc);      /* its secret and token were registered by the parser */
        return r;
}

static void default_session_name(char *buf, size_t size, time_t now)
{
        snprintf(buf, size, "opsagent-session-%lld", (long long)now);
}

static int sts(struct credentials_provider *p, const struct credentials_sts_request *rq, enum credentials_source as,
               struct aws_credentials *ret, struct error *err)
{
        struct aws_credentials c = { 0 };
        int r;

        if (!p->sts)
                return error_set(err, -ENOTSUP, "cannot call STS here to assume %s", rq->role_arn);
        r = p->sts(p->sts_userdata, rq, &c, err);
        if (r < 0)
                return r;
        c.source = as;
        credentials_clear(ret);
        *ret = c;
        return 0;
}

/* Reads a web identity token file (a secret), as it is: the SDKs send it unchanged. */
static int read_token(const char *path, const char *what, char **ret, struct error *err)
{
        char *t = NULL, *trimmed;
        size_t l;
        int r;

        r = read_file_capped(path, CREDENTIALS_TOKEN_FILE_MAX, &t, &l);
        if (r < 0)
                return error_set(err, r == -ENOENT ? -ENOKEY : r, "%s %s: cannot read: %s", what, path,
                                 r == -EFBIG ? "larger than the limit" : strerror(-r));
        log_register_secret(t);
        /* and without its line end, the way it would show in a message */
        trimmed = strndup(t, strcspn(t, "\r\n"));
        if (trimmed)
                log_register_secret(trimmed);
        free(trimmed);
        *ret = t;
        return 0;
}

/* What a profile's role_arn needs; *ret_found false when NAME has none (or is a web identity
 * profile, which step 4 takes). */
static bool has_role(const struct credentials_provider *p, const char *name)
{
        return pget(p, name, "role_arn", NULL, 0) && !pget(p, name, "web_identity_token_file", NULL, 0);
}

static bool has_static(const struct credentials_provider *p, const char *name)
{
        return pget(p, name, "aws_access_key_id", NULL, 0) || pget(p, name, "aws_secret_access_key", NULL, 0);
}

struct chain {
        const char *visited[CREDENTIALS_MAX_CHAIN + 1];
        size_t n;
};

static int assume_role(struct credentials_provider *p, const char *name, struct chain *ch,
                       struct aws_credentials *ret, char *what, size_t what_size, struct error *err);
static int profile_sources(struct credentials_provider *p, const char *name, bool env_allowed, bool top,
                           struct aws_credentials *ret, bool *found, char *what, size_t what_size, struct error *err);

/* Source credentials of a role_arn profile through credential_source. */
static int named_source(struct credentials_provider *p, const char *profile, const char *src,
                        struct aws_credentials *ret, char *what, size_t what_size, struct error *err)
{
        bool found = false;
        int r;

        if (strcasecmp(src, "Environment") == 0) {
                r = env_keys(ret, &found, err);
                if (r < 0)
                        return r;
                if (!found)
                        return error_set(err, -ENOKEY, "profile \"%s\": credential_source Environment, but "
                                         "AWS_ACCESS_KEY_ID is not set", profile);
                snprintf(what, what_size, "AWS_ACCESS_KEY_ID (credential_source Environment)");
                return 0;
        }
        if (strcasecmp(src, "Ec2InstanceMetadata") == 0) {
                if (!p->imds)
                        return error_set(err, -ENOKEY, "profile \"%s\": credential_source Ec2InstanceMetadata, but "
                                         "instance metadata is disabled (AWS_EC2_METADATA_DISABLED)", profile);
                r = fetch_role(p, ret, err);
                if (r < 0) {
                        error_prefix(err, "profile \"%s\": credential_source Ec2InstanceMetadata", profile);
                        return r;
                }
                snprintf(what, what_size, "the instance role %s (credential_source Ec2InstanceMetadata)", p->role);
                return 0;
        }
        if (strcasecmp(src, "EcsContainer") == 0) {
                r = containercreds_fetch(ret, err);
                if (r < 0) {
                        error_prefix(err, "profile \"%s\": credential_source EcsContainer", profile);
                        return r;
                }
                snprintf(what, what_size, "container credentials (credential_source EcsContainer)");
                return 0;
        }
        return error_set(err, -EINVAL, "profile \"%s\": credential_source \"%s\" is not one of Environment, "
                         "Ec2InstanceMetadata, EcsContainer", profile, src);
}

/* botocore's AssumeRoleProvider._resolve_credentials_from_profile for source profile NAME. */
static int source_profile_creds(struct credentials_provider *p, const char *name, struct chain *ch,
                                struct aws_credentials *ret, char *what, size_t what_size, struct error *err)
{
        bool found = false;
        int r;

        if (has_static(p, name) || !has_role(p, name)) {
                r = profile_sources(p, name, false, false, ret, &found, what, what_size, err);
                if (r < 0)
                        return r;
                if (!found)
                        return error_set(err, -EINVAL, "the source profile \"%s\" must have credentials (static "
                                         "keys, role_arn, web_identity_token_file or credential_process)", name);
                return 0;
        }
        return assume_role(p, name, ch, ret, what, what_size, err);
}

static int assume_role(struct credentials_provider *p, const char *name, struct chain *ch,
                       struct aws_credentials *ret, char *what, size_t what_size, struct error *err)
{
        char where[AWS_CONFIG_ORIGIN_MAX], session[96], src_what[CREDENTIALS_TRACE_TEXT];
        const char *arn = pget(p, name, "role_arn", where, sizeof(where));
        const char *sp = pget(p, name, "source_profile", NULL, 0);
        const char *cs = pget(p, name, "credential_source", NULL, 0);
        const char *ext = pget(p, name, "external_id", NULL, 0);
        const char *sn = pget(p, name, "role_session_name", NULL, 0);
        const char *dur = pget(p, name, "duration_seconds", NULL, 0);
        struct aws_credentials src = { 0 };
        struct credentials_sts_request rq = { 0 };
        char *end = NULL;
        long d = 0;
        int r;

        if (pget(p, name, "mfa_serial", NULL, 0))
                return error_set(err, -EINVAL, "profile \"%s\" (%s) has mfa_serial: opsagent runs unattended and "
                                 "cannot ask for an MFA code; give the role a source without MFA", name, where);
        if (sp && cs)
                return error_set(err, -EINVAL, "profile \"%s\" (%s) has both source_profile and credential_source: "
                                 "keep one", name, where);
        if (!sp && !cs)
                return error_set(err, -EINVAL, "profile \"%s\" (%s) has role_arn but neither source_profile nor "
                                 "credential_source: add one", name, where);
        if (dur) {
                errno = 0;
                d = strtol(dur, &end, 10);
                if (errno || end == dur || *end || d < 0 || d > 43200)
                        d = 0;  /* botocore ignores a duration it cannot read as an integer */
        }
        if (cs) {
                r = named_source(p, name, cs, &src, src_what, sizeof(src_what), err);
        } else {
                bool seen = false;

                if (!aws_config_has_profile(p->config, sp))
                        return error_set(err, -EINVAL, "profile \"%s\" (%s): its source_profile \"%s\" does not exist",
                                         name, where, sp);
                for (size_t i = 0; i < ch->n; i++)
                        seen = seen || strcmp(ch->visited[i], sp) == 0;
                /* A profile may name itself to take its own static keys; anything else seen twice is a loop. */
                if (seen && !(strcmp(sp, name) == 0 && has_static(p, sp))) {
                        char loop[CREDENTIALS_TRACE_TEXT] = "";

                        for (size_t i = 0; i < ch->n; i++)
                                snprintf(loop + strlen(loop), sizeof(loop) - strlen(loop), "%s -> ", ch->visited[i]);
                        return error_set(err, -EINVAL, "profile \"%s\": source_profile loop (%s%s): break it", name,
                                         loop, sp);
                }
                if (ch->n == CREDENTIALS_MAX_CHAIN)
                        return error_set(err, -E2BIG, "profile \"%s\": more than %d roles chained through "
                                         "source_profile", name, CREDENTIALS_MAX_CHAIN);
                ch->visited[ch->n++] = sp;
                r = source_profile_creds(p, sp, ch, &src, src_what, sizeof(src_what), err);
        }
        if (r < 0)
                goto out;
        if (!sn) {
                default_session_name(session, sizeof(session), now_of(p));
                sn = session;
        }
        rq = (struct credentials_sts_request){
                .role_arn = arn,
                .session_name = sn,
                .external_id = ext,
                .duration_seconds = (int)d,
                .source = &src,
        };
        r = sts(p, &rq, CREDENTIALS_ASSUME_ROLE, ret, err);
        if (r < 0) {
                error_prefix(err, "profile \"%s\": AssumeRole %s", name, arn);
                goto out;
        }
        textf(what, what_size, "role %s of profile \"%s\" (session %s%s%s), from %s", arn, name, sn,
                 ext ? ", external id set" : "", d ? ", duration set" : "", src_what);
out:
        credentials_clear(&src);
        return r;
}

/* botocore's AssumeRoleWithWebIdentityProvider for profile NAME (ENV: the environment counts). */
static int web_identity(struct credentials_provider *p, const char *name, bool env, struct aws_credentials *ret,
                        bool *found, char *what, size_t what_size, struct error *err)
{
        const char *file = env ? env_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE") : NULL, *arn, *sn, *from = NULL;
        char session[96];
        char *token = NULL;
        struct credentials_sts_request rq = { .web_identity = true };
        int r;

        *found = false;
        if (file)
                from = "AWS_WEB_IDENTITY_TOKEN_FILE";
        else if ((file = pget(p, name, "web_identity_token_file", NULL, 0)))
                from = "web_identity_token_file";
        if (!file)
                return 0;
        arn = env ? env_nonempty("AWS_ROLE_ARN") : NULL;
        if (!arn)
                arn = pget(p, name, "role_arn", NULL, 0);
        if (!arn)
                return error_set(err, -EINVAL, "%s is set but no role: set AWS_ROLE_ARN or the profile's role_arn",
                                 from);
        sn = env ? env_nonempty("AWS_ROLE_SESSION_NAME") : NULL;
        if (!sn)
                sn = pget(p, name, "role_session_name", NULL, 0);
        if (!sn) {
                default_session_name(session, sizeof(session), now_of(p));
                sn = session;
        }
        r = read_token(file, from, &token, err);
        if (r < 0)
                return r;
        rq.role_arn = arn;
        rq.session_name = sn;
        rq.web_identity_token = token;
        r = sts(p, &rq, CREDENTIALS_WEB_IDENTITY, ret, err);
        free(token);
        if (r < 0) {
                error_prefix(err, "AssumeRoleWithWebIdentity %s (token from %s %s)", arn, from, file);
                return r;
        }
        snprintf(what, what_size, "role %s by AssumeRoleWithWebIdentity (session %s), token from %s %s", arn, sn,
                 from, file);
        *found = true;
        return 0;
}

static int static_from(struct credentials_provider *p, bool credentials_file, const char *name,
                       struct aws_credentials *ret, bool *found, char *what, size_t what_size, struct error *err)
{
        const char *path, *key = fget(p, credentials_file, name, "aws_access_key_id", &path);
        const char *secret, *token;

        *found = false;
        if (!key)
                return 0;
        secret = fget(p, credentials_file, name, "aws_secret_access_key", &path);
        if (secret)
                log_register_secret(secret);
        if (!secret || !*secret)
                return error_set(err, -EINVAL, "%s [%s]: aws_access_key_id without aws_secret_access_key: add it",
                                 path, name);
        token = fget(p, credentials_file, name, "aws_security_token", &path);
        if (!token)
                token = fget(p, credentials_file, name, "aws_session_token", &path);
        *found = true;
        snprintf(what, what_size, "%s, profile \"%s\"", path, name);
        return set_creds(ret, key, secret, token, 0, credentials_file ? CREDENTIALS_SHARED_FILE : CREDENTIALS_CONFIG_FILE);
}

/* The providers of botocore's ProfileProviderBuilder for profile NAME: web identity, SSO,
 * credentials file, credential_process, config file. TOP: record the trace. */
static int profile_sources(struct credentials_provider *p, const char *name, bool env_allowed, bool top,
                           struct aws_credentials *ret, bool *found, char *what, size_t what_size, struct error *err)
{
        char where[AWS_CONFIG_ORIGIN_MAX];
        const char *v;
        int r;

        r = web_identity(p, name, env_allowed, ret, found, what, what_size, err);
        if (r < 0 || *found) {
                if (*found && top)
                        trace(p, CREDENTIALS_WEB_IDENTITY, true, "%s", what);
                return r;
        }
        if (top)
                trace(p, CREDENTIALS_WEB_IDENTITY, false, "%sprofile \"%s\" has no web_identity_token_file",
                      env_allowed ? "AWS_WEB_IDENTITY_TOKEN_FILE is not set and " : "", name);
        v = aws_config_find_prefix(p->config, name, "sso_");
        if (v)
                return error_set(err, -EINVAL, "profile \"%s\" uses IAM Identity Center (%s): opsagent does not do "
                                 "SSO (it runs unattended, without a browser to sign in); use the instance role, a "
                                 "role_arn with credential_source, or credential_process", name, v);
        if (top)
                trace(p, CREDENTIALS_SSO, false, "profile \"%s\" has no sso_* keys", name);
        r = static_from(p, true, name, ret, found, what, what_size, err);
        if (r < 0 || *found) {
                if (*found && top)
                        trace(p, CREDENTIALS_SHARED_FILE, true, "%s", what);
                return r;
        }
        if (top)
                trace(p, CREDENTIALS_SHARED_FILE, false, "%s has no aws_access_key_id in [%s]%s",
                      p->config ? p->config->credentials_path : "the credentials file", name,
                      p->config && !p->config->credentials ? " (no such file)" : "");
        v = pget(p, name, "credential_process", where, sizeof(where));
        if (v) {
                char desc[AWS_CONFIG_ORIGIN_MAX + 64];

                snprintf(desc, sizeof(desc), "credential_process of profile \"%s\" (%s)", name, where);
                r = credprocess_run(v, desc, 0, ret, err);
                if (r < 0)
                        return r;
                *found = true;
                textf(what, what_size, "%s", desc);
                if (top)
                        trace(p, CREDENTIALS_PROCESS, true, "%s", what);
                return 0;
        }
        if (top)
                trace(p, CREDENTIALS_PROCESS, false, "profile \"%s\" has no credential_process", name);
        r = static_from(p, false, name, ret, found, what, what_size, err);
        if (r < 0 || *found) {
                if (*found && top)
                        trace(p, CREDENTIALS_CONFIG_FILE, true, "%s", what);
                return r;
        }
        if (top)
                trace(p, CREDENTIALS_CONFIG_FILE, false, "%s has no aws_access_key_id in profile \"%s\"%s",
                      p->config ? p->config->config_path : "the config file", name,
                      p->config && !p->config->config ? " (no such file)" : "");
        return 0;
}

static int resolve(struct credentials_provider *p, struct error *err)
{
        const char *name = profile_of(p);
        char what[CREDENTIALS_TRACE_TEXT];
        bool found = false;
        int r;

        memset(&p->trace, 0, sizeof(p->trace));
        r = source_recipe(p, &found, err);
        if (r < 0 || found)
                return r;
        r = source_env(p, &found, err);
        if (r < 0 || found)
                return r;
        if (has_role(p, name)) {
                struct chain ch = { .visited = { name }, .n = 1 };

                r = assume_role(p, name, &ch, &p->cur, what, sizeof(what), err);
                if (r < 0)
                        return r;
                trace(p, CREDENTIALS_ASSUME_ROLE, true, "%s", what);
                return 0;
        }
        trace(p, CREDENTIALS_ASSUME_ROLE, false, "profile \"%s\" has no role_arn", name);
        r = profile_sources(p, name, !explicit_profile(p), true, &p->cur, &found, what, sizeof(what), err);
        if (r < 0 || found)
                return r;
        if (containercreds_configured()) {
                r = containercreds_fetch(&p->cur, err);
                if (r < 0)
                        return r;
                trace(p, CREDENTIALS_CONTAINER, true, "container credentials");
                return 0;
        }
        trace(p, CREDENTIALS_CONTAINER, false, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set");
        if (!p->imds) {
                trace(p, CREDENTIALS_IMDS, false, "instance metadata is disabled (AWS_EC2_METADATA_DISABLED)");
                /* The report has no recipe attributes: keys in them are no way for it. */
                return error_set(err, -ENOKEY,
                                 "no AWS credentials: set %sAWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (for a unit: in "
                                 "a drop-in, see opsagent(8)), or profile \"%s\" in %s or %s (it has none, there are "
                                 "no container credentials, and instance metadata is disabled, so no instance role)",
                                 p->recipe_attrs ? "aws_key/aws_secret in the recipe's attributes or " : "", name,
                                 p->config ? p->config->config_path : "~/.aws/config",
                                 p->config ? p->config->credentials_path : "~/.aws/credentials");
        }
        r = fetch_role(p, &p->cur, err);
        if (r == -ENOKEY) {
                char why[ERROR_MSG_MAX];

                snprintf(why, sizeof(why), "%s", err && err->msg[0] ? err->msg : "this instance has no role");
                trace(p, CREDENTIALS_IMDS, false, "%s", why);
                return error_reset(err, -ENOKEY,
                                   "no AWS credentials: %sno AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, none in "
                                   "profile \"%s\", and %.400s (give the instance an instance profile)",
                                   p->recipe_attrs ? "no aws_key/aws_secret attributes, " : "", name, why);
        }
        if (r < 0)
                return r;
        trace(p, CREDENTIALS_IMDS, true, "the instance role %s", p->role);
        return 0;
}

static void cache_key(const struct credentials_provider *p, char *buf, size_t size)
{
        snprintf(buf, size, "%s|%d", profile_of(p), explicit_profile(p));
}

int credentials_get(struct credentials_provider *p, const struct aws_credentials **ret, struct error *err)
{
        struct aws_credentials keep = { 0 };
        char key[256];
        int r;

        if (p->cur.access_key_id && !due(p, &p->cur)) {
                *ret = &p->cur;
                return 0;
        }
        cache_key(p, key, sizeof(key));
        if (!p->recipe_attrs || !json_get_string(p->recipe_attrs, "aws_key")) {
                if (shared_take(p, key)) {
                        *ret = &p->cur;
                        return 0;
                }
        }
        /* Keep what we have: credentials that have not expired yet serve if the refresh fails. */
        if (p->cur.access_key_id) {
                keep = p->cur;
                memset(&p->cur, 0, sizeof(p->cur));
        }
        r = resolve(p, err);
        if (r < 0) {
                credentials_clear(&p->cur);
                if (keep.access_key_id && now_of(p) < keep.expiration) {
                        log_warning("could not refresh the AWS credentials (%s); using the current ones until they "
                                    "expire", err ? err->msg : "");
                        error_clear(err);
                        p->cur = keep;
                        *ret = &p->cur;
                        return 0;
                }
                credentials_clear(&keep);
                return r;
        }
        credentials_clear(&keep);
        if (p->cur.expiration != 0 && p->cur.source != CREDENTIALS_RECIPE)
                shared_put(p, key);
        *ret = &p->cur;
        return 0;
}

bool credentials_invalidate(struct credentials_provider *p)
{
        char key[256];

        if (p->cur.access_key_id && p->cur.expiration == 0 && p->cur.source != CREDENTIALS_IMDS)
                return false;   /* keys that do not expire: asking again gives the same */
        cache_key(p, key, sizeof(key));
        for (size_t i = 0; i < CREDENTIALS_SHARED_MAX; i++)
                if (shared[i].key && strcmp(shared[i].key, key) == 0)
                        shared_forget(i);
        if (p->cur.source == CREDENTIALS_IMDS)
                credentials_clear(&shared_role.cur);    /* AWS said they expired: nobody should take them */
        credentials_clear(&p->cur);
        return true;
}

void credentials_provider_done(struct credentials_provider *p)
{
        credentials_clear(&p->cur);
        free(p->role);
        p->role = NULL;
}
