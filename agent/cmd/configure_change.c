#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "configure_change.h"
#include "config/attrs.h"
#include "util/fileio.h"
#include "util/jsondiff.h"
#include "util/jsonutil.h"
#include "util/log.h"

/* The source functions' STATE_DIR for what configure applied. */
static int applied_dir(const char *state_dir, char **ret, struct error *err)
{
        *ret = path_join(state_dir, CONFIGURE_STATE_SUBDIR);
        return *ret ? 0 : error_set(err, -ENOMEM, "out of memory");
}

int configure_applied_read(const char *state_dir, struct source_set **ret, struct error *err)
{
        char *dir = NULL;
        int r;

        r = applied_dir(state_dir, &dir, err);
        if (r >= 0)
                r = source_cache_read(dir, ret, err);
        free(dir);
        return r;
}

int configure_applied_write(const char *state_dir, const struct source_set *s, struct error *err)
{
        char *dir = NULL;
        int r;

        r = applied_dir(state_dir, &dir, err);
        if (r >= 0)
                r = source_cache_write(dir, s, err);
        free(dir);
        return r;
}

static const struct source_doc *find_doc(const struct source_set *s, const char *name)
{
        for (size_t i = 0; s && i < s->n_docs; i++)
                if (strcmp(s->docs[i].name, name) == 0)
                        return &s->docs[i];
        return NULL;
}

static int add_doc(json_object *arr, const char *name, const struct source_doc *old, const struct source_doc *new)
{
        json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        if (json_add(o, "name", json_object_new_string(name)) < 0 ||
            json_object_object_add(o, "old_version", old ? json_object_new_string(old->version) : NULL) < 0 ||
            json_object_object_add(o, "new_version", new ? json_object_new_string(new->version) : NULL) < 0 ||
            json_add(o, "secret", json_object_new_boolean((old && old->secret) || (new && new->secret))) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return json_push(arr, o);
}

static int documents(const struct source_set *old, const struct source_set *new, json_object **ret)
{
        json_object *arr = json_object_new_array();
        int r = arr ? 0 : -ENOMEM;

        for (size_t i = 0; r >= 0 && new && i < new->n_docs; i++)
                r = add_doc(arr, new->docs[i].name, find_doc(old, new->docs[i].name), &new->docs[i]);
        for (size_t i = 0; r >= 0 && old && i < old->n_docs; i++)
                if (!find_doc(new, old->docs[i].name))
                        r = add_doc(arr, old->docs[i].name, &old->docs[i], NULL);
        if (r < 0) {
                json_object_put(arr);
                return r;
        }
        *ret = arr;
        return 0;
}

/* The attributes S's documents make on their own (no defaults, no files). */
static int merged(const struct source_set *s, struct attrs **ret, struct error *err)
{
        struct attrs *a = NULL;
        int r;

        r = attrs_new(&a);
        if (r < 0)
                return error_set(err, r, "out of memory");
        r = source_merge(a, s, err);
        if (r < 0) {
                attrs_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

int configure_change(const struct source_set *old, const struct source_set *new, json_object **ret,
                     struct error *err)
{
        struct attrs *a_old = NULL, *a_new = NULL;
        json_object *out = NULL, *docs = NULL, *keys = NULL;
        size_t total = 0;
        int r;

        r = merged(old, &a_old, err);
        if (r >= 0)
                r = merged(new, &a_new, err);
        if (r < 0)
                goto out;
        r = json_diff_keys(attrs_tree(a_old), attrs_tree(a_new), &keys, &total);
        if (r >= 0)
                r = documents(old, new, &docs);
        out = r >= 0 ? json_object_new_object() : NULL;
        if (r >= 0 && (!out || json_add(out, "documents", docs) < 0 ||
                       (docs = NULL, json_add(out, "changed_keys", keys) < 0) ||
                       (keys = NULL, json_add(out, "changed_keys_total", json_object_new_int64((int64_t)total)) < 0)))
                r = -ENOMEM;
        if (r == -ENOMEM)
                error_set(err, r, "out of memory");
        if (r >= 0) {
                *ret = out;
                out = NULL;
        }
out:
        json_object_put(out);
        json_object_put(docs);
        json_object_put(keys);
        attrs_free(a_new);
        attrs_free(a_old);
        return r;
}

void configure_change_say(json_object *change, bool dry_run)
{
        json_object *docs = json_get_path(change, "documents"), *keys = json_get_path(change, "changed_keys");
        json_object *total = json_get_path(change, "changed_keys_total");
        size_t n_keys = keys ? json_object_array_length(keys) : 0;

        for (size_t i = 0; docs && i < json_object_array_length(docs); i++) {
                json_object *d = json_object_array_get_idx(docs, i);
                const char *name = json_get_string(d, "name");
                const char *o = json_get_string(d, "old_version"), *v = json_get_string(d, "new_version");

                if (o && v && strcmp(o, v) == 0)
                        continue;
                if (!o)
                        log_say("%s: new, version %s", name, v);
                else if (!v)
                        log_say("%s: gone (was version %s)", name, o);
                else
                        log_say("%s: version %s -> %s", name, o, v);
        }
        if (n_keys == 0) {
                log_say("no attribute changed value");
                return;
        }
        for (size_t i = 0; i < n_keys; i++)
                log_say("%s: %s", dry_run ? "would change" : "changed",
                        json_object_get_string(json_object_array_get_idx(keys, i)));
        if (total && (size_t)json_object_get_int64(total) > n_keys)
                log_say("... and %zu more changed keys (not listed)", (size_t)json_object_get_int64(total) - n_keys);
}
