#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin.h"
#include "schema.h"
#include "trust.h"
#include "util/fileio.h"
#include "util/jsonutil.h"

static bool name_is_valid(const char *name)
{
        if (!name || !*name || strlen(name) > 63)
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
                        return false;
        return true;
}

/* Every recipe has <root>.time_budget_seconds: its default comes from the descriptor and its
 * schema entry is the agent's, written here once (a recipe's own declaration of it is
 * replaced: the runner reads whole seconds, so a budget that is not one is a type error). */
static int add_time_budget(struct plugin *p, struct error *err)
{
        json_object *props, *tb = NULL;

        if (!json_object_object_get_ex(p->defaults, "time_budget_seconds", NULL))
                json_object_object_add(p->defaults, "time_budget_seconds",
                                       json_object_new_int64(p->recipe->time_budget_seconds));
        if (!p->schema || !json_object_object_get_ex(p->schema, "properties", &props) ||
            !json_object_is_type(props, json_type_object))
                return 0;
        if (json_parse_text(PLUGIN_TIME_BUDGET_SCHEMA, "time budget schema", &tb, err) < 0)
                return -ENOMEM;
        json_object_object_add(props, "time_budget_seconds", tb);
        return 0;
}

void plugin_clear(struct plugin *p)
{
        free(p->file);
        json_object_put(p->defaults);
        json_object_put(p->schema);
        /* The handle stays open: descriptors and code may still be referenced. */
        memset(p, 0, sizeof(*p));
}

int plugin_load_file(const char *file, struct plugin *ret, struct error *err)
{
        struct plugin p = { 0 };
        const uint32_t *abi;
        char label[1024];
        int r;

        /* dlopen runs the library's constructors: only code no one but root could have put there. */
        r = trust_check(file, "plugin", 0, err);
        if (r < 0)
                return r;
        /* RTLD_LAZY: the libraries a plugin pulls in are bound as they are used, as a program's
         * are. RTLD_NOW bound every function of all of them at once: for logrotate (libarchive,
         * and through it libxml2, ICU and libstdc++) 3.5 million instructions a run, more than
         * its rotations of 10 small logs. The recipes shipped here are linked with -z now, so
         * that a function missing from one of their own libraries still fails the load. */
        p.handle = dlopen(file, RTLD_LAZY | RTLD_LOCAL);
        if (!p.handle)
                return error_set(err, -ENOEXEC, "%s: cannot load plugin: %s", file, dlerror());
        abi = dlsym(p.handle, OPSAGENT_RECIPE_SYMBOL);
        if (!abi) {
                r = error_set(err, -ENOEXEC, "%s: not an opsagent recipe (no `%s` symbol); remove it from the plugin directory",
                              file, OPSAGENT_RECIPE_SYMBOL);
                goto fail;
        }
        if (*abi != OPSAGENT_RECIPE_ABI) {
                r = error_set(err, -EPROTO,
                              "%s: recipe built for plugin ABI %u, this opsagent speaks ABI %u; rebuild it against this "
                              "version's <opsagent/recipe.h>",
                              file, *abi, OPSAGENT_RECIPE_ABI);
                goto fail;
        }
        p.recipe = (const struct opsagent_recipe *)abi;
        if (p.recipe->size < OPSAGENT_RECIPE_SIZE_V1) {
                r = error_set(err, -EPROTO, "%s: recipe descriptor is too small (%u bytes, want %zu); rebuild it", file,
                              p.recipe->size, (size_t)OPSAGENT_RECIPE_SIZE_V1);
                goto fail;
        }
        if (!name_is_valid(p.recipe->name)) {
                r = error_set(err, -EINVAL, "%s: recipe name must be 1-63 of [a-z0-9_]", file);
                goto fail;
        }
        if (!p.recipe->run || !p.recipe->attr_root || !*p.recipe->attr_root || !p.recipe->version ||
            !p.recipe->summary) {
                r = error_set(err, -EINVAL, "%s: recipe %s lacks a run function, attr_root, version or summary", file,
                              p.recipe->name);
                goto fail;
        }
        snprintf(label, sizeof(label), "%s (defaults of recipe %s)", file, p.recipe->name);
        r = json_parse_text(p.recipe->defaults_json ? p.recipe->defaults_json : "{}", label, &p.defaults, err);
        if (r < 0)
                goto fail;
        if (!json_object_is_type(p.defaults, json_type_object)) {
                r = error_set(err, -EINVAL, "%s: defaults must be a JSON object", label);
                goto fail;
        }
        if (p.recipe->schema_json) {
                snprintf(label, sizeof(label), "%s (schema of recipe %s)", file, p.recipe->name);
                r = json_parse_text(p.recipe->schema_json, label, &p.schema, err);
                if (r < 0)
                        goto fail;
                r = schema_check(p.schema, label, err);
                if (r < 0)
                        goto fail;
        }
        r = add_time_budget(&p, err);
        if (r < 0)
                goto fail;
        p.file = strdup(file);
        if (!p.file) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        *ret = p;
        return 0;
fail:
        json_object_put(p.defaults);
        json_object_put(p.schema);
        dlclose(p.handle);
        return r;
}

static int add_problem(struct plugin_set *s, const char *msg)
{
        char **n = realloc(s->problems, (s->n_problems + 1) * sizeof(*n));

        if (!n)
                return -ENOMEM;
        s->problems = n;
        s->problems[s->n_problems] = strdup(msg);
        if (!s->problems[s->n_problems])
                return -ENOMEM;
        s->n_problems++;
        return 0;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int so_filter(const struct dirent *d)
{
        size_t l = strlen(d->d_name);

        return l > 3 && strcmp(d->d_name + l - 3, ".so") == 0 && d->d_name[0] != '.';
}

static int load_dir(struct plugin_set *s, const char *dir, struct error *ret_err)
{
        struct dirent **list = NULL;
        int n, r;

        r = trust_check(dir, "plugin directory", TRUST_MISSING_OK, ret_err);
        if (r < 0)
                return r;
        n = scandir(dir, &list, so_filter, name_cmp);
        if (n < 0)
                return 0; /* a missing directory on the path is not a problem */
        for (int i = 0; i < n; i++) {
                struct error err = ERROR_INIT;
                struct plugin p;
                char *file;

                if (r < 0)
                        goto next;
                file = path_join(dir, list[i]->d_name);
                if (!file) {
                        r = -ENOMEM;
                        goto next;
                }
                if (s->n >= PLUGIN_MAX) {
                        error_set(&err, -E2BIG, "%s: more than %d plugins; ignored", file, PLUGIN_MAX);
                        r = add_problem(s, err.msg);
                } else if ((r = plugin_load_file(file, &p, &err)) == -EPERM) {
                        error_set(ret_err, r, "%s", err.msg); /* not a problem: a refusal */
                } else if (r < 0)
                        r = add_problem(s, err.msg);
                else if (plugins_find(s, p.recipe->name)) {
                        error_set(&err, -EEXIST, "%s: recipe %s is already provided by %s; ignored", file,
                                  p.recipe->name, plugins_find(s, p.recipe->name)->file);
                        plugin_clear(&p);
                        r = add_problem(s, err.msg);
                } else {
                        struct plugin *items = realloc(s->items, (s->n + 1) * sizeof(*items));

                        if (!items) {
                                plugin_clear(&p);
                                r = -ENOMEM;
                        } else {
                                s->items = items;
                                s->items[s->n++] = p;
                        }
                }
                free(file);
next:
                free(list[i]);
        }
        free(list);
        return r;
}

int plugins_load(const char *path_list, struct plugin_set *ret, struct error *err)
{
        struct plugin_set s = { 0 };
        char *copy, *save = NULL;
        int r = 0;

        copy = strdup(path_list ? path_list : "");
        if (!copy)
                return -ENOMEM;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                r = load_dir(&s, d, err);
                if (r < 0)
                        break;
        }
        free(copy);
        if (r < 0) {
                plugins_free(&s);
                return r;
        }
        *ret = s;
        return 0;
}

/* Finds NAME.so in the first directory of PATH_LIST that has it and whose descriptor is NAME. */
static int load_by_file_name(struct plugin_set *s, const char *path_list, const char *name, struct error *err)
{
        char *copy = strdup(path_list ? path_list : ""), *save = NULL;
        int r = -ENOENT;

        if (!copy)
                return -ENOMEM;
        for (char *d = strtok_r(copy, ":", &save); d && r == -ENOENT; d = strtok_r(NULL, ":", &save)) {
                char *file = NULL;
                struct plugin p;
                struct plugin *items;

                if (asprintf(&file, "%s/%s.so", d, name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (access(file, F_OK) == 0) {
                        struct error e = ERROR_INIT;

                        r = trust_check(d, "plugin directory", 0, &e);
                        if (r == 0)
                                r = plugin_load_file(file, &p, &e);
                        if (r == -EPERM)
                                error_set(err, r, "%s", e.msg); /* refused: no looking elsewhere */
                        else if (r < 0)
                                r = -ENOENT; /* the full scan says what is wrong with it */
                        else if (strcmp(p.recipe->name, name) != 0) {
                                plugin_clear(&p);
                                r = -ENOENT;
                        } else if (!(items = realloc(s->items, (s->n + 1) * sizeof(*items)))) {
                                plugin_clear(&p);
                                r = -ENOMEM;
                        } else {
                                s->items = items;
                                s->items[s->n++] = p;
                        }
                }
                free(file);
        }
        free(copy);
        return r;
}

int plugins_load_named(const char *path_list, const char *const *names, size_t n, struct plugin_set *ret,
                       struct error *err)
{
        struct plugin_set s = { 0 };

        for (size_t i = 0; i < n; i++) {
                int r;

                if (plugins_find(&s, names[i]))
                        continue;
                r = load_by_file_name(&s, path_list, names[i], err);
                if (r == -ENOMEM || r == -EPERM) {
                        plugins_free(&s);
                        return r;
                }
                if (r < 0) {
                        /* Not where the convention puts it: look at everything. */
                        plugins_free(&s);
                        return plugins_load(path_list, ret, err);
                }
        }
        *ret = s;
        return 0;
}

int (*plugin_recover(const struct plugin *p))(struct opsagent_ctx *ctx)
{
        if (p->recipe->size < offsetof(struct opsagent_recipe, recover) + sizeof(p->recipe->recover))
                return NULL; /* built before recover() existed: the field is not there to read */
        return p->recipe->recover;
}

const struct plugin *plugins_find(const struct plugin_set *s, const char *name)
{
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->items[i].recipe->name, name) == 0)
                        return &s->items[i];
        return NULL;
}

void plugins_free(struct plugin_set *s)
{
        for (size_t i = 0; i < s->n; i++)
                plugin_clear(&s->items[i]);
        for (size_t i = 0; i < s->n_problems; i++)
                free(s->problems[i]);
        free(s->items);
        free(s->problems);
        memset(s, 0, sizeof(*s));
}
