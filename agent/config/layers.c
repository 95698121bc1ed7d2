#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "schema.h"
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

static int merge_file(struct attrs *a, const char *file, bool missing_ok, struct error *err)
{
        int r = attrs_merge_file(a, file, missing_ok, err);

        if (r < 0)
                return r;
        if (file_readable_by_others(file)) {
                json_object *obj = NULL;

                if (json_parse_file(file, true, &obj, NULL) == 0 && has_secret_value(obj, false))
                        log_warning("%s holds secrets (keys or passwords) but others can read it; "
                                    "run: chmod 600 %s",
                                    file, file);
                json_object_put(obj);
        }
        return 0;
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

                snprintf(label, sizeof(label), "defaults of %s", s->root);
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

                snprintf(label, sizeof(label), "defaults of recipe %s", p->recipe->name);
                r = attrs_merge(a, p->recipe->attr_root, p->defaults, label, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int layers_load(const struct paths *p, const struct attr_section *core, const struct plugin_set *plugins,
                char *const *extra_files, size_t n_extra, const char *user_data, struct attrs **ret,
                struct error *err)
{
        struct attrs *a = NULL;
        char *file = NULL, *dir = NULL;
        struct dirent **list = NULL;
        int n = 0, r;

        r = attrs_new(&a);
        if (r < 0)
                return error_set(err, r, "out of memory");
        r = merge_defaults(a, core, plugins, err);
        if (r < 0)
                goto out;

        file = path_join(p->config_dir, "stack.json");
        if (!file) {
                r = -ENOMEM;
                goto out;
        }
        r = merge_file(a, file, true, err);
        if (r == -ENOENT && user_data) {
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
        }
        if (r < 0 && r != -ENOENT)
                goto out;

        dir = path_join(p->config_dir, "layers");
        if (!dir) {
                r = -ENOMEM;
                goto out;
        }
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
                r = merge_file(a, lf, false, err);
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
        r = merge_file(a, file, true, err);
        if (r < 0 && r != -ENOENT)
                goto out;

        for (size_t i = 0; i < n_extra; i++) {
                r = merge_file(a, extra_files[i], false, err);
                if (r < 0)
                        goto out;
        }
        r = 0;
        *ret = a;
        a = NULL;
out:
        if (r == -ENOMEM)
                error_set(err, r, "out of memory");
        for (int i = 0; i < n; i++)
                free(list[i]);
        free(list);
        free(file);
        free(dir);
        attrs_free(a);
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
        /* Other tools' keys may share the stack JSON; a near miss of ours is a typo. */
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

bool layers_recipe_enabled(struct attrs *a, const struct opsagent_recipe *r)
{
        char path[128];
        json_object *v;

        snprintf(path, sizeof(path), "opsagent.recipes.%s", r->name);
        v = attrs_get(a, path);
        return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}
