#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "awsconfig.h"
#include "shellwords.h"
#include "util/buf.h"

static const char *env_nonempty(const char *name)
{
        const char *v = getenv(name);

        return v && *v ? v : NULL;
}

static const char *home_dir(void)
{
        const char *h = env_nonempty("HOME");
        struct passwd *pw;

        if (h)
                return h;
        pw = getpwuid(getuid());
        return pw && pw->pw_dir ? pw->pw_dir : "/";
}

char *aws_config_expand_path(const char *path)
{
        struct buf b = BUF_INIT(AWS_CONFIG_PATH_MAX);
        const char *p = path;
        int r = 0;

        if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
                r = buf_puts(&b, home_dir());
                p++;
        }
        while (*p && r >= 0) {
                if (*p == '$' && (p[1] == '{' || p[1] == '_' || isalpha((unsigned char)p[1]))) {
                        const char *start = p + 1 + (p[1] == '{'), *end = start;
                        char name[256];
                        const char *v;

                        while (*end == '_' || isalnum((unsigned char)*end))
                                end++;
                        if ((p[1] == '{' && *end != '}') || end == start || (size_t)(end - start) >= sizeof(name)) {
                                r = buf_append(&b, p, 1);
                                p++;
                                continue;
                        }
                        memcpy(name, start, (size_t)(end - start));
                        name[end - start] = '\0';
                        v = getenv(name);
                        if (p[1] == '{')
                                end++;
                        r = v ? buf_puts(&b, v) : buf_append(&b, p, (size_t)(end - p));
                        p = end;
                        continue;
                }
                r = buf_append(&b, p++, 1);
        }
        if (r < 0) {
                buf_free(&b);
                return NULL;
        }
        return buf_steal(&b);
}

/* Which kind of config-file section NAME is, as botocore's build_profile_map sorts them;
 * *ret_name (caller frees) the profile, sso-session or services name. */
enum section_kind { SECTION_OTHER, SECTION_PROFILE, SECTION_SSO_SESSION, SECTION_SERVICES };

static enum section_kind classify(const char *name, char **ret_name)
{
        static const struct {
                const char *prefix;
                enum section_kind kind;
        } kinds[] = {
                { "profile", SECTION_PROFILE },
                { "sso-session", SECTION_SSO_SESSION },
                { "services", SECTION_SERVICES },
        };
        char **words = NULL;
        size_t n = 0;

        *ret_name = NULL;
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
                if (strncmp(name, kinds[i].prefix, strlen(kinds[i].prefix)) != 0)
                        continue;
                /* "shlex.split(name)" of exactly two words: the second is the name. */
                if (shellwords_split(name, "section name", &words, &n, NULL) < 0)
                        return SECTION_OTHER;
                if (n == 2)
                        *ret_name = strdup(words[1]);
                shellwords_free(words);
                return *ret_name ? kinds[i].kind : SECTION_OTHER;
        }
        if (strcmp(name, "default") == 0) {
                *ret_name = strdup(name);
                return *ret_name ? SECTION_PROFILE : SECTION_OTHER;
        }
        return SECTION_OTHER;
}

/* The config-file section that holds KIND NAME: the last one naming it wins, as in botocore. */
static const struct ini_section *config_section(const struct aws_config *c, enum section_kind kind, const char *name)
{
        const struct ini_section *found = NULL;

        for (size_t i = 0; c->config && i < c->config->n; i++) {
                char *n = NULL;

                if (classify(c->config->sections[i].name, &n) == kind && strcmp(n, name) == 0)
                        found = &c->config->sections[i];
                free(n);
        }
        return found;
}

bool aws_config_has_profile(const struct aws_config *c, const char *name)
{
        if (!c)
                return false;
        return ini_section_find(c->credentials, name) || config_section(c, SECTION_PROFILE, name);
}

static void say_origin(char *origin, size_t size, const char *path, const struct ini_section *s,
                       const struct ini_entry *e)
{
        if (origin && size)
                snprintf(origin, size, "%s [%s] line %u", path, s->name, e->line);
}

const char *aws_config_get(const struct aws_config *c, const char *name, const char *key, char *origin,
                           size_t origin_size)
{
        const struct ini_section *s = c ? ini_section_find(c->credentials, name) : NULL;
        const struct ini_entry *e = s ? ini_entry_find(s->entries, s->n, key) : NULL;

        if (!c)
                return NULL;
        if (e && e->value) {
                say_origin(origin, origin_size, c->credentials_path, s, e);
                return e->value;
        }
        if (e)
                return NULL;    /* a nested block there hides the config file's, as botocore's update() does */
        s = config_section(c, SECTION_PROFILE, name);
        e = s ? ini_entry_find(s->entries, s->n, key) : NULL;
        if (!e || !e->value)
                return NULL;
        say_origin(origin, origin_size, c->config_path, s, e);
        return e->value;
}

const char *aws_config_find_prefix(const struct aws_config *c, const char *name, const char *prefix)
{
        const struct ini_section *ss[2] = { NULL, NULL };

        if (!c)
                return NULL;
        ss[0] = ini_section_find(c->credentials, name);
        ss[1] = config_section(c, SECTION_PROFILE, name);

        for (size_t k = 0; k < 2; k++)
                for (size_t i = 0; ss[k] && i < ss[k]->n; i++)
                        if (strncmp(ss[k]->entries[i].key, prefix, strlen(prefix)) == 0)
                                return ss[k]->entries[i].key;
        return NULL;
}

int aws_config_service_get(const struct aws_config *c, const char *name, const char *service_key, const char *key,
                           const char **ret, char *origin, size_t origin_size, struct error *err)
{
        char where[AWS_CONFIG_ORIGIN_MAX];
        const char *section = c ? aws_config_get(c, name, "services", where, sizeof(where)) : NULL;
        const struct ini_section *s;
        const struct ini_entry *svc, *e;

        *ret = NULL;
        if (!section)
                return 0;
        s = config_section(c, SECTION_SERVICES, section);
        if (!s)
                return error_set(err, -ENOENT,
                                 "profile \"%s\" names the services section \"%s\" (%s), but %s has no "
                                 "[services %s] section: add it or remove the services key",
                                 name, section, where, c->config_path, section);
        svc = ini_entry_find(s->entries, s->n, service_key);
        e = svc ? ini_entry_find(svc->sub, svc->n_sub, key) : NULL;
        if (!e)
                return 0;
        if (origin && origin_size)
                snprintf(origin, origin_size, "%s [%s] %s.%s line %u", c->config_path, s->name, service_key, key,
                         svc->line);
        *ret = e->value;
        return 0;
}

static int load_one(const char *env, const char *dflt, char **ret_path, struct ini_file **ret, struct error *err)
{
        const char *given = env_nonempty(env);
        char *path = aws_config_expand_path(given ? given : dflt);
        int r;

        if (!path)
                return -ENOMEM;
        /* A file that is there but cannot be read is an error (botocore would skip it quietly). */
        r = ini_load(path, ret, err);
        if (r == -ENOENT) {
                *ret = NULL;
                r = 0;
        } else if (r < 0 && given) {
                error_prefix(err, "%s", env);
        }
        *ret_path = path;
        return r;
}

int aws_config_load(const char *profile_attr, struct aws_config **ret, struct error *err)
{
        struct aws_config *c = calloc(1, sizeof(*c));
        const char *name = NULL, *from = NULL;
        int r;

        if (!c)
                return -ENOMEM;
        r = load_one("AWS_CONFIG_FILE", "~/.aws/config", &c->config_path, &c->config, err);
        if (r >= 0)
                r = load_one("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials", &c->credentials_path,
                             &c->credentials, err);
        if (r < 0)
                goto fail;
        /* The attribute is code-level configuration (as a profile an SDK client is given in
         * code); then botocore's order: AWS_DEFAULT_PROFILE, AWS_PROFILE. */
        if (profile_attr && *profile_attr) {
                name = profile_attr;
                from = "the attribute aws.profile";
                c->profile_explicit = true;
        } else if ((name = env_nonempty("AWS_DEFAULT_PROFILE"))) {
                from = "AWS_DEFAULT_PROFILE";
        } else if ((name = env_nonempty("AWS_PROFILE"))) {
                from = "AWS_PROFILE";
        } else {
                name = "default";
                from = "the default";
        }
        snprintf(c->profile_origin, sizeof(c->profile_origin), "%s", from);
        c->profile = strdup(name);
        if (!c->profile) {
                r = -ENOMEM;
                goto fail;
        }
        if (strcmp(name, "default") != 0 && !aws_config_has_profile(c, name)) {
                r = error_set(err, -ENOENT,
                              "AWS profile \"%s\" (from %s) is in neither %s nor %s: add it, or name another "
                              "profile", name, from, c->config_path, c->credentials_path);
                goto fail;
        }
        *ret = c;
        return 0;
fail:
        aws_config_free(c);
        return r;
}

void aws_config_free(struct aws_config *c)
{
        if (!c)
                return;
        ini_free(c->config);
        ini_free(c->credentials);
        free(c->config_path);
        free(c->credentials_path);
        free(c->profile);
        free(c);
}
