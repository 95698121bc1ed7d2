#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attrs.h"
#include "util/jsonutil.h"
#include "util/log.h"

struct attrs {
        json_object *tree;     /* merged values */
        json_object *origins;  /* same shape: objects for merged objects, strings for leaves */
        json_object *secret_origins; /* NULL or an array of origin labels whose values are secret */
};

int attrs_new(struct attrs **ret)
{
        struct attrs *a = calloc(1, sizeof(*a));

        if (!a)
                return -ENOMEM;
        a->tree = json_object_new_object();
        a->origins = json_object_new_object();
        if (!a->tree || !a->origins) {
                attrs_free(a);
                return -ENOMEM;
        }
        *ret = a;
        return 0;
}

void attrs_free(struct attrs *a)
{
        if (!a)
                return;
        json_object_put(a->tree);
        json_object_put(a->origins);
        json_object_put(a->secret_origins);
        free(a);
}

/* Finds or creates the object at PATH in both trees (intermediate values that are not objects
 * are replaced by objects). */
static int descend(struct attrs *a, const char *path, const char *origin, json_object **ret_val,
                   json_object **ret_org)
{
        json_object *val = a->tree, *org = a->origins;
        const char *p = path;

        while (p && *p) {
                const char *dot = strchr(p, '.');
                size_t n = dot ? (size_t)(dot - p) : strlen(p);
                char key[256];
                json_object *cv, *co;

                if (n == 0 || n >= sizeof(key))
                        return -EINVAL;
                memcpy(key, p, n);
                key[n] = '\0';
                if (!json_object_object_get_ex(val, key, &cv) || !json_object_is_type(cv, json_type_object)) {
                        cv = json_object_new_object();
                        if (!cv)
                                return -ENOMEM;
                        json_object_object_add(val, key, cv);
                }
                if (!json_object_object_get_ex(org, key, &co) || !json_object_is_type(co, json_type_object)) {
                        co = json_object_new_object();
                        if (!co)
                                return -ENOMEM;
                        json_object_object_add(org, key, co);
                }
                val = cv;
                org = co;
                p = dot ? dot + 1 : p + n;
        }
        *ret_val = val;
        *ret_org = org;
        return 0;
}

/* An origins subtree for a freshly copied VALUE: every leaf labelled ORIGIN. */
static json_object *origins_for(json_object *value, const char *origin)
{
        json_object *o;

        if (!json_object_is_type(value, json_type_object) || json_object_object_length(value) == 0)
                return json_object_new_string(origin);
        o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_foreach(value, k, v) {
                json_object *child = origins_for(v, origin);

                if (!child) {
                        json_object_put(o);
                        return NULL;
                }
                json_object_object_add(o, k, child);
        }
        return o;
}

static bool path_is_protected(const char *path)
{
        size_t n = strlen(ATTRS_PROTECTED_PATH);

        return strncmp(path, ATTRS_PROTECTED_PATH, n) == 0 && (path[n] == '\0' || path[n] == '.');
}

static int merge_into(json_object *dst, json_object *dorg, json_object *src, const char *origin,
                      char *path, size_t path_len, size_t path_cap, bool allow_protected)
{
        json_object_object_foreach(src, key, sv) {
                json_object *dv = NULL, *dov = NULL;
                size_t kl = strlen(key);
                int r;

                if (path_len + kl + 2 > path_cap)
                        return -ENAMETOOLONG;
                if (path_len)
                        path[path_len] = '.';
                memcpy(path + path_len + (path_len ? 1 : 0), key, kl + 1);

                if (!allow_protected && path_is_protected(path)) {
                        log_warning("%s: %s is set from instance metadata and cannot be overridden; ignoring it",
                                    origin, path);
                        path[path_len] = '\0';
                        continue;
                }
                json_object_object_get_ex(dst, key, &dv);
                json_object_object_get_ex(dorg, key, &dov);
                if (json_object_is_type(sv, json_type_object) && dv && json_object_is_type(dv, json_type_object)) {
                        if (!dov || !json_object_is_type(dov, json_type_object)) {
                                /* The destination object was a leaf ({}): give it an origins object. */
                                dov = json_object_new_object();
                                if (!dov)
                                        return -ENOMEM;
                                json_object_object_add(dorg, key, dov);
                        }
                        r = merge_into(dv, dov, sv, origin, path, path_len + (path_len ? 1 : 0) + kl, path_cap,
                                       allow_protected);
                        if (r < 0)
                                return r;
                } else {
                        json_object *copy = NULL, *org;

                        if (sv && json_object_deep_copy(sv, &copy, NULL) < 0)
                                return -ENOMEM;
                        org = origins_for(copy, origin);
                        if (!org) {
                                json_object_put(copy);
                                return -ENOMEM;
                        }
                        json_object_object_add(dst, key, copy);
                        json_object_object_add(dorg, key, org);
                }
                path[path_len] = '\0';
        }
        return 0;
}

static int merge_at(struct attrs *a, const char *path, json_object *obj, const char *origin, bool allow_protected,
                    struct error *err)
{
        json_object *val, *org;
        char buf[1024];
        size_t n;
        int r;

        if (!json_object_is_type(obj, json_type_object))
                return error_set(err, -EINVAL, "%s: must be a JSON object, found %s", origin,
                                 opsagent_json_type_label(obj));
        r = descend(a, path, origin, &val, &org);
        if (r < 0)
                return error_set(err, r, "%s: cannot merge at %s: %s", origin, path, strerror(-r));
        n = strlen(path ? path : "");
        if (n >= sizeof(buf))
                return error_set(err, -ENAMETOOLONG, "%s: key path too long", origin);
        memcpy(buf, path ? path : "", n + 1);
        r = merge_into(val, org, obj, origin, buf, n, sizeof(buf), allow_protected);
        if (r < 0)
                return error_set(err, r, "%s: cannot merge: %s", origin, strerror(-r));
        return 0;
}

int attrs_merge(struct attrs *a, const char *path, json_object *obj, const char *origin, struct error *err)
{
        if (path && path_is_protected(path)) {
                log_warning("%s: %s is set from instance metadata and cannot be overridden; ignoring it", origin,
                            path);
                return 0;
        }
        return merge_at(a, path, obj, origin, false, err);
}

int attrs_merge_file(struct attrs *a, const char *file, bool missing_ok, struct error *err)
{
        json_object *obj = NULL;
        int r;

        r = json_parse_file(file, missing_ok, &obj, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(obj, json_type_object)) {
                r = error_set(err, -EINVAL, "%s: the top level must be a JSON object, found %s", file,
                              opsagent_json_type_label(obj));
                goto out;
        }
        r = attrs_merge(a, "", obj, file, err);
out:
        json_object_put(obj);
        return r;
}

int attrs_set_protected(struct attrs *a, json_object *obj, const char *origin)
{
        json_object *wrapper;
        int r;

        wrapper = json_object_new_object();
        if (!wrapper)
                return -ENOMEM;
        /* Drop what was there, then merge the new facts as a whole. */
        {
                json_object *ov = json_get_path(a->tree, "opsagent"), *oo = json_get_path(a->origins, "opsagent");

                if (ov && json_object_is_type(ov, json_type_object))
                        json_object_object_del(ov, "instance");
                if (oo && json_object_is_type(oo, json_type_object))
                        json_object_object_del(oo, "instance");
        }
        json_object_object_add(wrapper, "instance", json_object_get(obj));
        r = merge_at(a, "opsagent", wrapper, origin, true, NULL);
        json_object_put(wrapper);
        return r;
}

json_object *attrs_tree(struct attrs *a)
{
        return a->tree;
}

json_object *attrs_get(struct attrs *a, const char *path)
{
        return json_get_path(a->tree, path);
}

static bool origins_other_than(json_object *org, const char *prefix)
{
        if (!org)
                return false;
        if (json_object_is_type(org, json_type_string))
                return strncmp(json_object_get_string(org), prefix, strlen(prefix)) != 0;
        if (!json_object_is_type(org, json_type_object))
                return false;
        json_object_object_foreach(org, k, v) {
                (void)k;
                if (origins_other_than(v, prefix))
                        return true;
        }
        return false;
}

bool attrs_set_by_other_than(struct attrs *a, const char *path, const char *prefix)
{
        return origins_other_than(json_get_path(a->origins, path), prefix);
}

const char *attrs_origin(struct attrs *a, const char *path)
{
        json_object *o = a->origins;
        const char *p = path, *last = NULL;

        if (!path || !*path)
                return NULL;
        while (o && *p) {
                const char *dot = strchr(p, '.');
                size_t n = dot ? (size_t)(dot - p) : strlen(p);
                char key[256];
                json_object *child;

                if (json_object_is_type(o, json_type_string))
                        return json_object_get_string(o);
                if (n == 0 || n >= sizeof(key) || !json_object_is_type(o, json_type_object))
                        return last;
                memcpy(key, p, n);
                key[n] = '\0';
                if (!json_object_object_get_ex(o, key, &child))
                        return last;
                o = child;
                p = dot ? dot + 1 : p + n;
        }
        if (o && json_object_is_type(o, json_type_string))
                return json_object_get_string(o);
        return last;
}

bool attrs_key_is_secret(const char *key)
{
        if (!key)
                return false;
        if (strcasecmp(key, "aws_key") == 0 || strcasecmp(key, "aws_secret") == 0)
                return true;
        return strcasestr(key, "password") || strcasestr(key, "secret") || strcasestr(key, "token") ||
               strcasestr(key, "passwd");
}

static void register_walk(json_object *o, bool secret)
{
        if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, k, v)
                        register_walk(v, secret || attrs_key_is_secret(k));
        } else if (json_object_is_type(o, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        register_walk(json_object_array_get_idx(o, i), secret);
        } else if (secret && json_object_is_type(o, json_type_string))
                log_register_secret(json_object_get_string(o));
}

int attrs_mark_secret_origin(struct attrs *a, const char *origin)
{
        if (!a->secret_origins) {
                a->secret_origins = json_object_new_array();
                if (!a->secret_origins)
                        return -ENOMEM;
        }
        return json_push(a->secret_origins, json_object_new_string(origin));
}

static bool origin_is_secret(struct attrs *a, const char *origin)
{
        for (size_t i = 0; origin && a->secret_origins && i < json_object_array_length(a->secret_origins); i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(a->secret_origins, i)), origin) == 0)
                        return true;
        return false;
}

void attrs_register_secrets(struct attrs *a)
{
        register_walk(a->tree, false);
}

struct printer {
        bool as_json;
        FILE *out;
        json_object *json_out;
};

static void print_leaf(struct printer *pr, const char *path, json_object *value, const char *origin, bool secret)
{
        if (pr->as_json) {
                json_object *entry = json_object_new_object();

                if (!entry)
                        return;
                json_object_object_add(entry, "value",
                                       secret ? json_object_new_string(ATTRS_REDACTED) : json_object_get(value));
                json_object_object_add(entry, "origin", origin ? json_object_new_string(origin) : NULL);
                json_object_object_add(pr->json_out, path, entry);
                return;
        }
        fprintf(pr->out, "%s = %s  (%s)\n", path,
                secret ? ATTRS_REDACTED : json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN |
                                                                                    JSON_C_TO_STRING_NOSLASHESCAPE),
                origin ? origin : "?");
}

static void print_walk(struct printer *pr, struct attrs *a, json_object *v, json_object *org, char *path, size_t len,
                       size_t cap, bool secret)
{
        if (json_object_is_type(v, json_type_object) && json_object_object_length(v) > 0) {
                json_object_object_foreach(v, k, child) {
                        size_t kl = strlen(k);
                        json_object *corg = NULL;

                        if (len + kl + 2 > cap)
                                continue;
                        if (len)
                                path[len] = '.';
                        memcpy(path + len + (len ? 1 : 0), k, kl + 1);
                        if (org && json_object_is_type(org, json_type_object))
                                json_object_object_get_ex(org, k, &corg);
                        else
                                corg = org; /* a string origin covers the whole subtree */
                        print_walk(pr, a, child, corg, path, len + (len ? 1 : 0) + kl, cap,
                                   secret || attrs_key_is_secret(k));
                        path[len] = '\0';
                }
                return;
        }
        {
                const char *origin = org && json_object_is_type(org, json_type_string) ? json_object_get_string(org)
                                                                                       : attrs_origin(a, path);

                print_leaf(pr, path, v, origin,
                           (secret || origin_is_secret(a, origin)) && !json_object_is_type(v, json_type_null));
        }
}

int attrs_print(struct attrs *a, const char *path, bool as_json, FILE *out, struct error *err)
{
        struct printer pr = { .as_json = as_json, .out = out };
        json_object *v, *org;
        char buf[1024] = "";
        size_t len = 0;
        bool secret = false;

        v = json_get_path(a->tree, path);
        if (!v)
                return error_set(err, -ENOENT, "no attribute %s (see `opsagent attributes` for the whole tree)",
                                 path);
        org = json_get_path(a->origins, path);
        if (path && *path) {
                len = strlen(path);
                if (len >= sizeof(buf))
                        return error_set(err, -ENAMETOOLONG, "key path too long");
                memcpy(buf, path, len + 1);
                for (const char *p = path; p;) {
                        const char *dot = strchr(p, '.');
                        char key[256];
                        size_t n = dot ? (size_t)(dot - p) : strlen(p);

                        if (n < sizeof(key)) {
                                memcpy(key, p, n);
                                key[n] = '\0';
                                secret = secret || attrs_key_is_secret(key);
                        }
                        p = dot ? dot + 1 : NULL;
                }
        }
        if (as_json) {
                pr.json_out = json_object_new_object();
                if (!pr.json_out)
                        return -ENOMEM;
        }
        print_walk(&pr, a, v, org, buf, len, sizeof(buf), secret);
        if (as_json) {
                fprintf(out, "%s\n", json_object_to_json_string_ext(pr.json_out, JSON_C_TO_STRING_PRETTY |
                                                                                     JSON_C_TO_STRING_SPACED |
                                                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(pr.json_out);
        }
        return 0;
}
