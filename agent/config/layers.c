#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "schema.h"
#include "source.h"
#include "trust.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"

static bool has_secret_value(json_object *o, bool secret)
{
        if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, k, v)
                        if (has_secret_value(v, secret || attrs_key_is_secret(k)))
                                return true;
                return false;
        }
        return secret && json_object_is_type(o, json_type_string) && json_object_get_string_len(o) > 0;
}

struct layer {
        char *file;              /* its path: the origin of its values */
        json_object *obj;        /* an object */
};

struct layers {
        struct layer *items;     /* stack.json (when there is one) first, in precedence order */
        size_t n;
        size_t n_files;          /* of them, the configuration directory's (the rest: -j files) */
        bool have_stack;
};

/* Reads FILE into L (nothing when it is missing and MISSING_OK). */
static int read_file(struct layers *l, const char *file, bool missing_ok, struct error *err)
{
        json_object *obj = NULL;
        struct layer *p;
        int r;

        /* A file that someone else could have written is not configuration. */
        r = trust_check(file, "configuration file", TRUST_MISSING_OK, err);
        if (r < 0)
                return r;
        r = json_parse_file(file, missing_ok, &obj, err);
        if (r == -ENOENT && missing_ok)
                return 0;
        if (r < 0)
                return r;
        if (!json_object_is_type(obj, json_type_object)) {
                r = error_set(err, -EINVAL, "%s: the top level must be a JSON object, found %s", file,
                              opsagent_json_type_label(obj));
                goto fail;
        }
        if (file_readable_by_others(file) && has_secret_value(obj, false))
                log_warning("%s holds secrets (keys or passwords) but others can read it; run: chmod 600 %s",
                            file, file);
        p = reallocarray(l->items, l->n + 1, sizeof(*p));
        if (!p) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        l->items = p;
        p[l->n].file = strdup(file);
        if (!p[l->n].file) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        p[l->n++].obj = obj;
        return 1;
fail:
        json_object_put(obj);
        return r;
}

void layers_free(struct layers *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].file);
                json_object_put(l->items[i].obj);
        }
        free(l->items);
        free(l);
}

bool layers_have_stack(const struct layers *l)
{
        return l->have_stack;
}

static int json_filter(const struct dirent *d)
{
        size_t l = strlen(d->d_name);

        return d->d_name[0] != '.' && l > 5 && strcmp(d->d_name + l - 5, ".json") == 0;
}

static int name_cmp(const struct dirent **x, const struct dirent **y)
{
        return strcmp((*x)->d_name, (*y)->d_name);
}

static int merge_defaults(struct attrs *a, const struct attr_section *core, const struct plugin_set *plugins,
                          struct error *err)
{
        for (const struct attr_section *s = core; s && s->root; s++) {
                json_object *d = NULL;
                char label[128];
                int r;

                snprintf(label, sizeof(label), LAYERS_DEFAULTS_ORIGIN "%s", s->root);
                r = json_parse_text(s->defaults_json, label, &d, err);
                if (r < 0)
                        return r;
                r = attrs_merge(a, s->root, d, label, err);
                json_object_put(d);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; plugins && i < plugins->n; i++) {
                const struct plugin *p = &plugins->items[i];
                char label[128];
                int r;

                snprintf(label, sizeof(label), LAYERS_DEFAULTS_ORIGIN "recipe %s", p->recipe->name);
                r = attrs_merge(a, p->recipe->attr_root, p->defaults, label, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int layers_read(const struct paths *p, char *const *extra_files, size_t n_extra, struct layers **ret,
                struct error *err)
{
        struct layers *l = calloc(1, sizeof(*l));
        char *file = NULL, *dir = NULL;
        struct dirent **list = NULL;
        int n = 0, r;

        if (!l)
                return error_set(err, -ENOMEM, "out of memory");
        file = path_join(p->config_dir, "stack.json");
        if (!file) {
                r = -ENOMEM;
                goto out;
        }
        r = read_file(l, file, true, err);
        if (r < 0)
                goto out;
        l->have_stack = r > 0;

        dir = path_join(p->config_dir, "layers");
        if (!dir) {
                r = -ENOMEM;
                goto out;
        }
        r = trust_check(dir, "configuration directory", TRUST_MISSING_OK, err);
        if (r < 0)
                goto out;
        n = scandir(dir, &list, json_filter, name_cmp);
        if (n < 0) {
                if (errno != ENOENT) {
                        r = error_set(err, -errno, "%s: cannot read directory: %s", dir, strerror(errno));
                        goto out;
                }
                n = 0;
        }
        if (n > (int)LAYERS_MAX_FILES) {
                r = error_set(err, -E2BIG, "%s: more than %u layer files", dir, LAYERS_MAX_FILES);
                goto out;
        }
        for (int i = 0; i < n; i++) {
                char *lf = path_join(dir, list[i]->d_name);

                if (!lf) {
                        r = -ENOMEM;
                        goto out;
                }
                r = read_file(l, lf, false, err);
                free(lf);
                if (r < 0)
                        goto out;
        }

        free(file);
        file = path_join(p->config_dir, "local.json");
        if (!file) {
                r = -ENOMEM;
                goto out;
        }
        r = read_file(l, file, true, err);
        if (r < 0)
                goto out;
        l->n_files = l->n;
        for (size_t i = 0; i < n_extra; i++) {
                /* Its name is the origin of its values: it must not read as a built-in one. */
                if (strncmp(extra_files[i], "defaults of ", 12) == 0 || strncmp(extra_files[i], "instance ", 9) == 0) {
                        r = error_set(err, -EINVAL, "-j %s: a file name that reads like a built-in origin; name it "
                                      "./%s", extra_files[i], extra_files[i]);
                        goto out;
                }
                r = read_file(l, extra_files[i], false, err);
                if (r < 0)
                        goto out;
        }
        r = 0;
        *ret = l;
        l = NULL;
out:
        if (r == -ENOMEM)
                error_set(err, r, "out of memory");
        for (int i = 0; i < n; i++)
                free(list[i]);
        free(list);
        free(file);
        free(dir);
        layers_free(l);
        return r;
}

int layers_merge(const struct layers *l, const struct attr_section *core, const struct plugin_set *plugins,
                 const char *user_data, struct attrs **ret, struct error *err)
{
        return layers_merge_source(l, core, plugins, user_data, NULL, ret, err);
}

int layers_merge_source(const struct layers *l, const struct attr_section *core, const struct plugin_set *plugins,
                        const char *user_data, const struct source_set *source, struct attrs **ret,
                        struct error *err)
{
        struct attrs *a = NULL;
        int r;

        r = attrs_new(&a);
        if (r < 0)
                return error_set(err, r, "out of memory");
        r = merge_defaults(a, core, plugins, err);
        if (r < 0)
                goto out;
        if (!l->have_stack && user_data) {
                json_object *ud = NULL;

                r = json_parse_text(user_data, "instance user-data", &ud, err);
                if (r == 0 && json_object_is_type(ud, json_type_object))
                        r = attrs_merge(a, "", ud, "instance user-data", err);
                else if (r < 0) {
                        /* User-data that is not JSON is somebody else's (a shell script): not ours. */
                        error_clear(err);
                        r = 0;
                }
                json_object_put(ud);
                if (r < 0)
                        goto out;
        }
        for (size_t i = 0; i < l->n; i++) {
                if (i == l->n_files && source) {
                        r = source_merge(a, source, err);
                        if (r < 0)
                                goto out;
                }
                r = attrs_merge(a, "", l->items[i].obj, l->items[i].file, err);
                if (r < 0)
                        goto out;
        }
        if (l->n == l->n_files && source) {
                r = source_merge(a, source, err);
                if (r < 0)
                        goto out;
        }
        *ret = a;
        a = NULL;
out:
        attrs_free(a);
        return r;
}

int layers_load(const struct paths *p, const struct attr_section *core, const struct plugin_set *plugins,
                char *const *extra_files, size_t n_extra, const char *user_data, struct attrs **ret,
                struct error *err)
{
        struct layers *l = NULL;
        int r;

        r = layers_read(p, extra_files, n_extra, &l, err);
        if (r >= 0)
                r = layers_merge(l, core, plugins, user_data, ret, err);
        layers_free(l);
        return r;
}

int layers_validate(struct attrs *a, const struct attr_section *core, const struct plugin_set *plugins,
                    const struct plugin *const *selected, size_t n_selected, struct error *err)
{
        const char *known[PLUGIN_MAX + 16];
        size_t n_known = 0;
        int r;

        for (const struct attr_section *s = core; s && s->root; s++) {
                json_object *schema = NULL;

                r = json_parse_text(s->schema_json, s->root, &schema, err);
                if (r < 0)
                        return r;
                r = schema_validate(a, s->root, schema, err);
                json_object_put(schema);
                if (r < 0)
                        return r;
                if (n_known < sizeof(known) / sizeof(known[0]))
                        known[n_known++] = s->root;
        }
        for (size_t i = 0; plugins && i < plugins->n; i++) {
                const struct plugin *p = &plugins->items[i];
                bool check = !selected;

                for (size_t j = 0; selected && j < n_selected; j++)
                        check = check || selected[j] == p;
                if (n_known < sizeof(known) / sizeof(known[0]))
                        known[n_known++] = p->recipe->attr_root;
                if (!check || !p->schema)
                        continue;
                r = schema_validate(a, p->recipe->attr_root, p->schema, err);
                if (r < 0)
                        return r;
        }
        /* Other tools' keys may share the stack JSON; a near miss of ours is a typo. Without
         * the plugins, the recipes' keys are not known: nothing is a near miss then. */
        if (!plugins)
                return 0;
        json_object_object_foreach(attrs_tree(a), key, v) {
                char tops[PLUGIN_MAX + 16][64];
                const char *cands[PLUGIN_MAX + 16], *near;
                bool exact = false;

                (void)v;
                for (size_t i = 0; i < n_known; i++) {
                        size_t l = strcspn(known[i], ".");

                        snprintf(tops[i], sizeof(tops[i]), "%.*s", (int)l, known[i]);
                        cands[i] = tops[i];
                        exact = exact || strcmp(key, tops[i]) == 0;
                }
                if (exact)
                        continue;
                near = did_you_mean(key, cands, n_known);
                if (near)
                        return error_set(err, -EINVAL, "%s: unknown top-level key %s (did you mean %s?)",
                                         attrs_origin(a, key) ? attrs_origin(a, key) : "attributes", key, near);
        }
        return 0;
}

bool layers_attr_given(struct attrs *a, const char *path)
{
        return attrs_set_by_other_than(a, path, LAYERS_DEFAULTS_ORIGIN);
}

bool layers_recipe_enabled(struct attrs *a, const struct opsagent_recipe *r)
{
        char path[128];
        json_object *v;

        snprintf(path, sizeof(path), "opsagent.recipes.%s", r->name);
        v = attrs_get(a, path);
        return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}
