/* The stack configuration source: its configuration (CONFIG/source.json or the user-data's
 * opsagent.source), the last known good cache, and the merge into the attributes. The fetch
 * itself needs the AWS layer, a peer of this folder: it is agent/run/source_fetch.c. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "source.h"
#include "trust.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"

#define SOURCE_CACHE_FORMAT 1

static void doc_clear(struct source_doc *d)
{
        free(d->name);
        free(d->version);
        free(d->json);
}

void source_set_free(struct source_set *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n_docs; i++)
                doc_clear(&s->docs[i]);
        free(s->docs);
        for (size_t i = 0; i < s->n_layers; i++)
                free(s->layers[i]);
        free(s->layers);
        free(s->source);
        free(s);
}

/* Checks CFG ({"ssm": {"path": "/..."}} or {"s3": "s3://bucket/key"}); LABEL names where it came from. */
static int config_check(json_object *cfg, const char *label, struct error *err)
{
        json_object *ssm = NULL, *s3 = NULL;
        const char *path, *url;

        if (!json_object_is_type(cfg, json_type_object))
                return error_set(err, -EINVAL, "%s: opsagent.source must be an object ({\"ssm\": {\"path\": "
                                 "\"/opsagent/STACK\"}} or {\"s3\": \"s3://bucket/key\"}), found %s", label,
                                 opsagent_json_type_label(cfg));
        json_object_object_foreach(cfg, k, v) {
                if (strcmp(k, "ssm") == 0)
                        ssm = v;
                else if (strcmp(k, "s3") == 0)
                        s3 = v;
                else
                        return error_set(err, -EINVAL, "%s: opsagent.source.%s: unknown key (expected \"ssm\" or "
                                         "\"s3\")", label, k);
        }
        if (!!ssm == !!s3)
                return error_set(err, -EINVAL, "%s: opsagent.source: give exactly one of \"ssm\" and \"s3\"", label);
        if (ssm) {
                if (!json_object_is_type(ssm, json_type_object))
                        return error_set(err, -EINVAL, "%s: opsagent.source.ssm must be an object "
                                         "({\"path\": \"/opsagent/STACK\"}), found %s", label,
                                         opsagent_json_type_label(ssm));
                json_object_object_foreach(ssm, k2, v2) {
                        (void)v2;
                        if (strcmp(k2, "path") != 0)
                                return error_set(err, -EINVAL, "%s: opsagent.source.ssm.%s: unknown key (expected "
                                                 "\"path\")", label, k2);
                }
                path = json_get_string(ssm, "path");
                if (!path || path[0] != '/' || strlen(path) < 2 || path[strlen(path) - 1] == '/' ||
                    strlen(path) > 1011)
                        return error_set(err, -EINVAL, "%s: opsagent.source.ssm.path must be a parameter path "
                                         "such as \"/opsagent/STACK\" (a leading slash, none at the end)", label);
                return 0;
        }
        url = json_object_is_type(s3, json_type_string) ? json_object_get_string(s3) : NULL;
        if (!url || strncmp(url, "s3://", 5) != 0 || url[5] == '/' || !strchr(url + 5, '/') ||
            strchr(url + 5, '/')[1] == '\0' || strlen(url) > 1100)
                return error_set(err, -EINVAL, "%s: opsagent.source.s3 must be \"s3://bucket/key\"", label);
        return 0;
}

int source_config_read(const struct paths *p, const char *user_data, json_object **ret, struct error *err)
{
        json_object *obj = NULL, *ud = NULL, *cfg = NULL;
        struct error ignored = ERROR_INIT;
        char *file;
        int r;

        file = path_join(p->config_dir, SOURCE_CONFIG_FILE);
        if (!file)
                return error_set(err, -ENOMEM, "out of memory");
        r = trust_check(file, "configuration file", TRUST_MISSING_OK, err);
        if (r < 0)
                goto out;
        r = json_parse_file(file, true, &obj, err);
        if (r == 0) {
                r = config_check(obj, file, err);
                if (r < 0)
                        goto out;
                cfg = json_object_get(obj);
        } else if (r == -ENOENT) {
                r = 0;
                /* User-data that is not JSON is somebody else's (a shell script): not ours. */
                if (user_data && json_parse_text(user_data, "instance user-data", &ud, &ignored) == 0 &&
                    (cfg = json_get_value(ud, "opsagent.source"))) {
                        r = config_check(cfg, "instance user-data", err);
                        if (r < 0) {
                                cfg = NULL;
                                goto out;
                        }
                        json_object_get(cfg);
                }
        } else
                goto out;
        *ret = cfg;
out:
        json_object_put(ud);
        json_object_put(obj);
        free(file);
        return r;
}

char *source_config_label(json_object *cfg)
{
        const char *path = json_get_string(cfg, "ssm.path");
        char *label = NULL;

        if (path) {
                if (asprintf(&label, "ssm:%s", path) < 0)
                        return NULL;
                return label;
        }
        path = json_get_string(cfg, "s3");
        return strdup(path ? path : "?");
}

static bool layer_name_ok(const char *s, size_t n)
{
        if (n == 0 || n > SOURCE_LAYER_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
                        return false;
        return true;
}

int source_layers_parse(const char *text, char ***ret, size_t *ret_n, struct error *err)
{
        char **names = NULL;
        size_t n = 0;
        int r = 0;

        for (const char *p = text; *p;) {
                size_t len = strcspn(p, ",");
                const char *s = p, *e = p + len;
                char **grown;

                while (s < e && isspace((unsigned char)*s))
                        s++;
                while (e > s && isspace((unsigned char)e[-1]))
                        e--;
                p += len + (p[len] == ',');
                if (s == e)
                        continue;
                if (!layer_name_ok(s, (size_t)(e - s))) {
                        r = error_set(err, -EINVAL, "instance tag %s: \"%.*s\" is not a layer name (letters, "
                                      "digits, '-', '_' and '.', at most %u)", SOURCE_LAYERS_TAG, (int)(e - s > 64 ? 64 : e - s),
                                      s, SOURCE_LAYER_NAME_MAX);
                        goto out;
                }
                if (n >= SOURCE_MAX_LAYERS) {
                        r = error_set(err, -E2BIG, "instance tag %s: more than %u layers", SOURCE_LAYERS_TAG,
                                      SOURCE_MAX_LAYERS);
                        goto out;
                }
                grown = reallocarray(names, n + 1, sizeof(*names));
                if (!grown) {
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                names = grown;
                names[n] = strndup(s, (size_t)(e - s));
                if (!names[n]) {
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                n++;
        }
        *ret = names;
        *ret_n = n;
        names = NULL;
        n = 0;
out:
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

int source_doc_check(const char *label, const char *text, struct error *err)
{
        struct error e = ERROR_INIT;
        json_object *obj = NULL;
        unsigned line = 1, col = 1;
        int used = 0, r;

        /* json_parse_text() says ":LINE:COL: why" after the (empty) label. */
        r = json_parse_text(text, "", &obj, &e);
        if (r < 0) {
                if (sscanf(e.msg, ":%u:%u: %n", &line, &col, &used) == 2 && used > 0)
                        return error_set(err, -EINVAL, "%s: line %u, column %u: %s (the value must be a JSON "
                                         "object)", label, line, col, e.msg + used);
                return error_set(err, r, "%s: %s", label, e.msg);
        }
        if (!json_object_is_type(obj, json_type_object))
                r = error_set(err, -EINVAL, "%s: line 1, column 1: the value must be a JSON object, found %s",
                              label, opsagent_json_type_label(obj));
        json_object_put(obj);
        return r;
}

/* The cache: {"format": 1, "source": S, "fetched_at": T, "layers": [...],
 *             "docs": [{"name": N, "version": V, "secret": B, "json": TEXT}, ...]} */
static json_object *cache_to_json(const struct source_set *s)
{
        json_object *o = json_object_new_object(), *layers = json_object_new_array(),
                    *docs = json_object_new_array();
        int r;

        if (!o || !layers || !docs)
                goto fail;
        r = json_add(o, "format", json_object_new_int(SOURCE_CACHE_FORMAT));
        if (r >= 0)
                r = json_add_string(o, "source", s->source ? s->source : "");
        if (r >= 0)
                r = json_add(o, "fetched_at", json_object_new_int64(s->fetched_at));
        for (size_t i = 0; r >= 0 && i < s->n_layers; i++)
                r = json_push(layers, json_object_new_string(s->layers[i]));
        for (size_t i = 0; r >= 0 && i < s->n_docs; i++) {
                json_object *d = json_object_new_object();

                r = json_push(docs, d);
                if (r >= 0)
                        r = json_add_string(d, "name", s->docs[i].name);
                if (r >= 0)
                        r = json_add_string(d, "version", s->docs[i].version);
                if (r >= 0)
                        r = json_add(d, "secret", json_object_new_boolean(s->docs[i].secret));
                if (r >= 0)
                        r = json_add_string(d, "json", s->docs[i].json);
        }
        if (r >= 0) {
                r = json_add(o, "layers", layers);
                layers = NULL;
        }
        if (r >= 0) {
                r = json_add(o, "docs", docs);
                docs = NULL;
        }
        if (r < 0)
                goto fail;
        return o;
fail:
        json_object_put(layers);
        json_object_put(docs);
        json_object_put(o);
        return NULL;
}

static int cache_path(const char *state_dir, char **ret_dir, char **ret_file)
{
        char *dir = path_join(state_dir, SOURCE_CACHE_DIR), *file = dir ? path_join(dir, SOURCE_CACHE_FILE) : NULL;

        if (!file) {
                free(dir);
                return -ENOMEM;
        }
        *ret_dir = dir;
        *ret_file = file;
        return 0;
}

int source_cache_write(const char *state_dir, const struct source_set *s, struct error *err)
{
        char *dir = NULL, *file = NULL;
        json_object *o = NULL;
        const char *text;
        int r;

        r = cache_path(state_dir, &dir, &file);
        if (r < 0)
                return error_set(err, r, "out of memory");
        o = cache_to_json(s);
        if (!o) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        r = mkdir_p(dir, 0700);
        if (r < 0) {
                error_set(err, r, "%s: cannot create the source cache's directory: %s", dir, strerror(-r));
                goto out;
        }
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        r = write_file_atomic(file, text, strlen(text), 0600);
        if (r < 0)
                error_set(err, r, "%s: cannot write the source cache: %s", file, strerror(-r));
out:
        json_object_put(o);
        free(dir);
        free(file);
        return r;
}

/* A copy of the string at KEY of O, which must be one (non-empty unless EMPTY_OK). */
static int take_string(json_object *o, const char *key, bool empty_ok, char **ret)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
            (!empty_ok && json_object_get_string_len(v) == 0))
                return -EBADMSG;
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

static int cache_from_json(json_object *o, struct source_set *s, struct error *err, const char *file)
{
        json_object *v, *layers, *docs;
        int r;

        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "format", &v) ||
            !json_object_is_type(v, json_type_int) || json_object_get_int(v) != SOURCE_CACHE_FORMAT)
                return error_set(err, -EBADMSG, "%s: not a source cache of format %d", file, SOURCE_CACHE_FORMAT);
        if (!json_object_object_get_ex(o, "fetched_at", &v) || !json_object_is_type(v, json_type_int))
                return error_set(err, -EBADMSG, "%s: fetched_at is missing or not a number", file);
        s->fetched_at = json_object_get_int64(v);
        r = take_string(o, "source", false, &s->source);
        if (r < 0)
                return error_set(err, r, "%s: source is missing or not a string", file);
        if (!json_object_object_get_ex(o, "layers", &layers) || !json_object_is_type(layers, json_type_array) ||
            json_object_array_length(layers) > SOURCE_MAX_LAYERS)
                return error_set(err, -EBADMSG, "%s: layers is not an array of at most %u names", file,
                                 SOURCE_MAX_LAYERS);
        if (!json_object_object_get_ex(o, "docs", &docs) || !json_object_is_type(docs, json_type_array) ||
            json_object_array_length(docs) > SOURCE_MAX_DOCS)
                return error_set(err, -EBADMSG, "%s: docs is not an array of at most %u documents", file,
                                 SOURCE_MAX_DOCS);
        if (json_object_array_length(layers) > 0) {
                s->layers = calloc(json_object_array_length(layers), sizeof(*s->layers));
                if (!s->layers)
                        return error_set(err, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < json_object_array_length(layers); i++) {
                json_object *l = json_object_array_get_idx(layers, i);

                if (!json_object_is_type(l, json_type_string) ||
                    !layer_name_ok(json_object_get_string(l), (size_t)json_object_get_string_len(l)))
                        return error_set(err, -EBADMSG, "%s: layers[%zu] is not a layer name", file, i);
                s->layers[i] = strdup(json_object_get_string(l));
                if (!s->layers[i])
                        return error_set(err, -ENOMEM, "out of memory");
                s->n_layers++;
        }
        if (json_object_array_length(docs) > 0) {
                s->docs = calloc(json_object_array_length(docs), sizeof(*s->docs));
                if (!s->docs)
                        return error_set(err, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < json_object_array_length(docs); i++) {
                json_object *d = json_object_array_get_idx(docs, i), *sec;
                struct source_doc *sd = &s->docs[s->n_docs];
                struct error derr = ERROR_INIT;

                if (!json_object_is_type(d, json_type_object))
                        return error_set(err, -EBADMSG, "%s: docs[%zu] is not an object", file, i);
                s->n_docs++;
                r = take_string(d, "name", false, &sd->name);
                if (r >= 0)
                        r = take_string(d, "version", true, &sd->version);
                if (r >= 0)
                        r = take_string(d, "json", false, &sd->json);
                if (r >= 0 && (!json_object_object_get_ex(d, "secret", &sec) ||
                               !json_object_is_type(sec, json_type_boolean)))
                        r = -EBADMSG;
                if (r == -ENOMEM)
                        return error_set(err, r, "out of memory");
                if (r < 0)
                        return error_set(err, r, "%s: docs[%zu]: name, version, json (strings) and secret "
                                         "(a boolean) are required", file, i);
                sd->secret = json_object_get_boolean(sec);
                /* Never a message quoting it: it may be a secret's. */
                if (source_doc_check(sd->name, sd->json, &derr) < 0)
                        return error_set(err, -EBADMSG, "%s: docs[%zu] (%s) is not a JSON object", file, i,
                                         sd->name);
        }
        return 0;
}

int source_cache_parse(const char *text, const char *label, struct source_set **ret, struct error *err)
{
        struct source_set *s = NULL;
        struct error perr = ERROR_INIT;
        json_object *o = NULL;
        int r;

        /* Not the parser's message: it could quote a secret document's text. */
        r = json_parse_text(text, label, &o, &perr);
        if (r < 0)
                return error_set(err, -EBADMSG, "%s: not valid JSON; it is ignored and rewritten by the next "
                                 "fetch", label);
        s = calloc(1, sizeof(*s));
        if (!s) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        s->from_cache = true;
        r = cache_from_json(o, s, err, label);
        if (r < 0)
                goto out;
        *ret = s;
        s = NULL;
out:
        source_set_free(s);
        json_object_put(o);
        return r;
}

int source_cache_read(const char *state_dir, struct source_set **ret, struct error *err)
{
        char *dir = NULL, *file = NULL, *text = NULL;
        int r;

        r = cache_path(state_dir, &dir, &file);
        if (r < 0)
                return error_set(err, r, "out of memory");
        r = read_file_capped(file, SOURCE_CACHE_MAX, &text, NULL);
        if (r == -ENOENT)
                goto out;
        if (r == -EFBIG)
                error_set(err, r, "%s: larger than %u bytes; refusing to read it", file, SOURCE_CACHE_MAX);
        else if (r < 0)
                error_set(err, r, "%s: cannot read: %s", file, strerror(-r));
        else
                r = source_cache_parse(text, file, ret, err);
out:
        free(text);
        free(dir);
        free(file);
        return r;
}

/* Registers every string of O with the log scrubber. */
static void register_all_strings(json_object *o)
{
        if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, k, v) {
                        (void)k;
                        register_all_strings(v);
                }
        } else if (json_object_is_type(o, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        register_all_strings(json_object_array_get_idx(o, i));
        } else if (json_object_is_type(o, json_type_string))
                log_register_secret(json_object_get_string(o));
}

int source_merge(struct attrs *a, const struct source_set *s, struct error *err)
{
        int r = 0;

        for (size_t i = 0; s && i < s->n_docs; i++) {
                const struct source_doc *d = &s->docs[i];
                struct error perr = ERROR_INIT;
                json_object *obj = NULL;
                char *origin = NULL;

                r = json_parse_text(d->json, d->name, &obj, &perr);
                if (r < 0 || !json_object_is_type(obj, json_type_object)) {
                        json_object_put(obj);
                        /* Checked when fetched; a message of the parser could quote a secret. */
                        return error_set(err, -EINVAL, "%s: not a JSON object", d->name);
                }
                if (asprintf(&origin, "%s@version %s", d->name, d->version) < 0) {
                        json_object_put(obj);
                        return error_set(err, -ENOMEM, "out of memory");
                }
                if (d->secret) {
                        register_all_strings(obj);
                        r = attrs_mark_secret_origin(a, origin);
                }
                if (r >= 0)
                        r = attrs_merge(a, "", obj, origin, err);
                else
                        error_set(err, r, "out of memory");
                json_object_put(obj);
                free(origin);
                if (r < 0)
                        return r;
        }
        return 0;
}

bool source_set_same_versions(const struct source_set *a, const struct source_set *b)
{
        if (!a || !b)
                return a == b;
        if (a->n_docs != b->n_docs)
                return false;
        for (size_t i = 0; i < a->n_docs; i++)
                if (strcmp(a->docs[i].name, b->docs[i].name) != 0 ||
                    strcmp(a->docs[i].version, b->docs[i].version) != 0 || a->docs[i].secret != b->docs[i].secret)
                        return false;
        return true;
}

static int set_add_doc(struct source_set *s, const char *name, const char *version, const char *json, bool secret)
{
        struct source_doc *d;

        if (s->n_docs >= SOURCE_MAX_DOCS)
                return -E2BIG;
        d = reallocarray(s->docs, s->n_docs + 1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        s->docs = d;
        d = &s->docs[s->n_docs];
        d->name = strdup(name);
        d->version = strdup(version);
        d->json = strdup(json);
        d->secret = secret;
        s->n_docs++;
        if (!d->name || !d->version || !d->json)
                return -ENOMEM;
        return 0;
}

/* The parameter named NAME among ANSWERS' Parameters, or NULL; -EBADMSG for a wrong shape. */
static int find_param(json_object *const *answers, size_t n_answers, const char *name, json_object **ret)
{
        *ret = NULL;
        for (size_t i = 0; i < n_answers; i++) {
                json_object *params;

                if (!json_object_object_get_ex(answers[i], "Parameters", &params))
                        continue;
                if (!json_object_is_type(params, json_type_array))
                        return -EBADMSG;
                for (size_t j = 0; j < json_object_array_length(params); j++) {
                        json_object *p = json_object_array_get_idx(params, j);
                        const char *n = json_get_string(p, "Name");

                        if (!n)
                                return -EBADMSG;
                        if (strcmp(n, name) == 0)
                                *ret = p;
                }
        }
        return 0;
}

static int add_param(struct source_set *s, const char *name, json_object *p, struct error *err)
{
        const char *value = json_get_string(p, "Value"), *type = json_get_string(p, "Type");
        json_object *v = json_get_value(p, "Version");
        char version[32], *label = NULL;
        bool secret = type && strcmp(type, "SecureString") == 0;
        int r;

        if (!value || !v || !json_object_is_type(v, json_type_int))
                return error_set(err, -EBADMSG, "GetParametersByPath: parameter %s: no Value or Version in the "
                                 "answer", name);
        snprintf(version, sizeof(version), "%" PRId64, json_object_get_int64(v));
        if (asprintf(&label, "SSM parameter %s (version %s)", name, version) < 0)
                return error_set(err, -ENOMEM, "out of memory");
        r = source_doc_check(label, value, err);
        free(label);
        if (r < 0)
                return r;
        if (asprintf(&label, "ssm:%s", name) < 0)
                return error_set(err, -ENOMEM, "out of memory");
        r = set_add_doc(s, label, version, value, secret);
        free(label);
        if (r < 0)
                return error_set(err, r, r == -E2BIG ? "more than %d documents" : "out of memory", SOURCE_MAX_DOCS);
        return 0;
}

int source_ssm_assemble(const char *path, char *const *layers, size_t n_layers, json_object *const *answers,
                        size_t n_answers, struct source_set **ret, struct error *err)
{
        struct source_set *s = calloc(1, sizeof(*s));
        char *name = NULL;
        int r = 0;

        if (!s)
                return error_set(err, -ENOMEM, "out of memory");
        if (n_layers > 0) {
                s->layers = calloc(n_layers, sizeof(*s->layers));
                if (!s->layers) {
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
        }
        for (size_t i = 0; i < n_layers; i++) {
                s->layers[i] = strdup(layers[i]);
                if (!s->layers[i]) {
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                s->n_layers++;
        }
        for (size_t i = 0; i <= n_layers; i++) {
                json_object *p;
                int n = i == 0 ? asprintf(&name, "%s/stack", path) : asprintf(&name, "%s/layers/%s", path, layers[i - 1]);

                if (n < 0) {
                        name = NULL;
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                r = find_param(answers, n_answers, name, &p);
                if (r < 0) {
                        error_set(err, r, "GetParametersByPath %s: an answer without a list of named Parameters",
                                  path);
                        goto out;
                }
                if (p) {
                        r = add_param(s, name, p, err);
                        if (r < 0)
                                goto out;
                }
                free(name);
                name = NULL;
        }
        if (s->n_docs == 0) {
                r = error_set(err, -ENOENT, "SSM Parameter Store: missing path %s: neither %s/stack nor a layer's "
                              "parameter (%s/layers/NAME) exists; create them, or fix opsagent.source.ssm.path",
                              path, path, path);
                goto out;
        }
        *ret = s;
        s = NULL;
out:
        free(name);
        source_set_free(s);
        return r;
}
