#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "credentials.h"
#include "imds.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "util/timeutil.h"

#define KEY_FILE_MAX (4 * 1024 * 1024)

const char *credentials_source_name(enum credentials_source s)
{
        switch (s) {
        case CREDENTIALS_RECIPE:
                return "the recipe's aws_key/aws_secret attributes";
        case CREDENTIALS_ENV:
                return "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";
        case CREDENTIALS_IMDS:
                return "the instance role";
        default:
                return "none";
        }
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

int credentials_parse_role_json(const char *text, struct aws_credentials *ret, struct error *err)
{
        json_object *o = json_tokener_parse(text), *v;
        const char *key = NULL, *secret = NULL, *token = NULL, *exp = NULL, *code = NULL;
        struct aws_credentials c = { 0 };
        int64_t expiration = 0;
        int r;

        if (!o || !json_object_is_type(o, json_type_object)) {
                r = error_set(err, -EBADMSG, "instance role credentials: not a JSON object");
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
                r = error_set(err, -EACCES, "instance role credentials: IMDS says %s", code);
                goto out;
        }
        if (!key || !*key || !secret || !*secret) {
                r = error_set(err, -EBADMSG, "instance role credentials: AccessKeyId or SecretAccessKey missing");
                goto out;
        }
        if (exp && parse_iso8601_utc(exp, &expiration) < 0) {
                r = error_set(err, -EBADMSG, "instance role credentials: bad Expiration \"%s\"", exp);
                goto out;
        }
        r = set_creds(&c, key, secret, token, expiration, CREDENTIALS_IMDS);
        if (r < 0)
                goto out;
        *ret = c;
out:
        json_object_put(o);
        return r;
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

/* The instance role's credentials as this process last fetched them: the other providers of
 * the process, and the recipe children it forks, take them from here until they are due for
 * a refresh, instead of asking IMDS again. */
static struct {
        char *role;
        struct aws_credentials cur;
} shared_role;

static bool shared_role_take(struct credentials_provider *p)
{
        const struct aws_credentials *c = &shared_role.cur;
        char *role;

        if (!c->access_key_id || now_of(p) + CREDENTIALS_REFRESH_BEFORE_S >= c->expiration)
                return false;
        role = strdup(shared_role.role);
        if (!role || set_creds(&p->cur, c->access_key_id, c->secret_access_key, c->session_token, c->expiration,
                               CREDENTIALS_IMDS) < 0) {
                free(role);
                return false;
        }
        free(p->role);
        p->role = role;
        return true;
}

static void shared_role_put(const struct credentials_provider *p)
{
        char *role = strdup(p->role);

        if (!role)
                return;
        credentials_clear(&shared_role.cur);
        free(shared_role.role);
        shared_role.role = role;
        if (set_creds(&shared_role.cur, p->cur.access_key_id, p->cur.secret_access_key, p->cur.session_token,
                      p->cur.expiration, CREDENTIALS_IMDS) < 0)
                credentials_clear(&shared_role.cur);
}

void credentials_forget_shared(void)
{
        credentials_clear(&shared_role.cur);
        free(shared_role.role);
        shared_role.role = NULL;
}

static int fetch_role(struct credentials_provider *p, struct error *err)
{
        struct aws_credentials c = { 0 };
        char *list = NULL, *doc = NULL, path[512];
        int r;

        if (!p->role) {
                r = imds_get(p->imds, "/latest/meta-data/iam/security-credentials/", &list, err);
                if (r == -ENOENT)
                        return error_set(err, -ENOKEY,
                                         "no AWS credentials: %sno AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and this "
                                         "instance has no role (give it an instance profile)",
                                         p->recipe_attrs ? "no aws_key/aws_secret attributes, " : "");
                if (r < 0)
                        return r;
                list[strcspn(list, "\r\n")] = '\0';
                if (!*list) {
                        free(list);
                        return error_set(err, -ENOKEY, "no AWS credentials: this instance has no role");
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
        credentials_clear(&p->cur);
        p->cur = c;
        shared_role_put(p);
        log_debug("AWS credentials: instance role %s, expiring at %lld", p->role, (long long)c.expiration);
out:
        free(doc);      /* its secret and token were registered by the parser */
        return r;
}

int credentials_get(struct credentials_provider *p, const struct aws_credentials **ret, struct error *err)
{
        const char *key, *secret;
        int r;

        if (p->cur.access_key_id) {
                if (p->cur.source != CREDENTIALS_IMDS || p->cur.expiration == 0 ||
                    now_of(p) + CREDENTIALS_REFRESH_BEFORE_S < p->cur.expiration) {
                        *ret = &p->cur;
                        return 0;
                }
        }
        /* 1. The recipe's own keys. */
        key = json_get_string(p->recipe_attrs, "aws_key");
        secret = json_get_string(p->recipe_attrs, "aws_secret");
        if (secret && *secret)
                log_register_secret(secret);
        if ((key && *key) || (secret && *secret)) {
                if (!key || !*key || !secret || !*secret)
                        return error_set(err, -EINVAL, "%s is set but %s is not: set both or neither",
                                         key && *key ? "aws_key" : "aws_secret",
                                         key && *key ? "aws_secret" : "aws_key");
                r = set_creds(&p->cur, key, secret, NULL, 0, CREDENTIALS_RECIPE);
                if (r < 0)
                        return r;
                if (!p->warned) {
                        credentials_warn_exposed_key_files(p->config_dir, secret);
                        p->warned = true;
                }
                *ret = &p->cur;
                return 0;
        }
        /* 2. The environment. */
        key = getenv("AWS_ACCESS_KEY_ID");
        secret = getenv("AWS_SECRET_ACCESS_KEY");
        if (key && *key && secret && *secret) {
                r = set_creds(&p->cur, key, secret, getenv("AWS_SESSION_TOKEN"), 0, CREDENTIALS_ENV);
                if (r < 0)
                        return r;
                *ret = &p->cur;
                return 0;
        }
        /* 3. The instance role. */
        /* The report has no recipe attributes: keys in them are no way for it. */
        if (!p->imds)
                return error_set(err, -ENOKEY,
                                 "no AWS credentials: set %sAWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (for a unit: in "
                                 "a drop-in, see opsagent(8)) (instance metadata is disabled, so no instance role)",
                                 p->recipe_attrs ? "aws_key/aws_secret in the recipe's attributes or " : "");
        if (shared_role_take(p)) {
                *ret = &p->cur;
                return 0;
        }
        r = fetch_role(p, err);
        if (r < 0) {
                /* Keep using role credentials that have not expired yet. */
                if (p->cur.access_key_id && now_of(p) < p->cur.expiration) {
                        log_warning("could not refresh the instance role's credentials; using the current ones");
                        error_clear(err);
                        *ret = &p->cur;
                        return 0;
                }
                return r;
        }
        *ret = &p->cur;
        return 0;
}

bool credentials_invalidate(struct credentials_provider *p)
{
        if (p->cur.source != CREDENTIALS_IMDS)
                return false;
        credentials_clear(&p->cur);
        credentials_forget_shared();  /* AWS said they expired: nobody should take them */
        return true;
}

void credentials_provider_done(struct credentials_provider *p)
{
        credentials_clear(&p->cur);
        free(p->role);
        p->role = NULL;
}
