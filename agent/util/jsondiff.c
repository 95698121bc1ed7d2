#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jsondiff.h"
#include "jsonutil.h"

struct diff {
        json_object *paths;     /* array of strings */
        size_t total;
};

static int add_path(struct diff *d, const char *path)
{
        d->total++;
        if (json_object_array_length(d->paths) >= JSONDIFF_MAX_PATHS)
                return 0;
        return json_push(d->paths, json_object_new_string(path));
}

/* PREFIX "." KEY (or KEY at the top) into BUF, cut with "..." when too long. */
static void join(char *buf, size_t size, const char *prefix, const char *key)
{
        int l = prefix[0] ? snprintf(buf, size, "%s.%s", prefix, key) : snprintf(buf, size, "%s", key);

        if (l < 0 || (size_t)l >= size)
                memcpy(buf + size - 4, "...", 4);
}

static bool is_object(json_object *o)
{
        return o && json_object_is_type(o, json_type_object);
}

static int diff_at(struct diff *d, const char *path, json_object *old, json_object *new, unsigned depth);

/* KEY of one object against the same key of the other (absent: NULL with HAVE false). */
static int diff_member(struct diff *d, const char *prefix, const char *key, bool have_old, json_object *old,
                       bool have_new, json_object *new, unsigned depth)
{
        char path[JSONDIFF_PATH_MAX];

        join(path, sizeof(path), prefix, key);
        if (have_old && have_new)
                return diff_at(d, path, old, new, depth + 1);
        /* Only one side has it: an object is named by its leaves, anything else by itself. */
        if (is_object(have_old ? old : new) && json_object_object_length(have_old ? old : new) > 0 &&
            depth + 1 < JSONDIFF_MAX_DEPTH)
                return diff_at(d, path, have_old ? old : NULL, have_new ? new : NULL, depth + 1);
        return add_path(d, path);
}

/* OLD and NEW at PATH; a NULL side of two objects is an empty object. */
static int diff_at(struct diff *d, const char *path, json_object *old, json_object *new, unsigned depth)
{
        bool objects = (is_object(old) || !old) && (is_object(new) || !new);
        int r;

        if (!objects || depth >= JSONDIFF_MAX_DEPTH) {
                if (json_object_equal(old, new))
                        return 0;
                return add_path(d, path[0] ? path : "(the whole document)");
        }
        if (old) {
                json_object_object_foreach(old, k, vo) {
                        json_object *vn = NULL;
                        bool have_new = new && json_object_object_get_ex(new, k, &vn);

                        r = diff_member(d, path, k, true, vo, have_new, vn, depth);
                        if (r < 0)
                                return r;
                }
        }
        if (new) {
                json_object_object_foreach(new, k, vn) {
                        if (old && json_object_object_get_ex(old, k, NULL))
                                continue;       /* compared above */
                        r = diff_member(d, path, k, false, NULL, true, vn, depth);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int compare_strings(const void *a, const void *b)
{
        return strcmp(json_object_get_string(*(json_object *const *)a),
                      json_object_get_string(*(json_object *const *)b));
}

int json_diff_keys(json_object *old, json_object *new, json_object **ret, size_t *ret_total)
{
        struct diff d = { .paths = json_object_new_array() };
        int r;

        if (!d.paths)
                return -ENOMEM;
        r = diff_at(&d, "", old, new, 0);
        if (r < 0) {
                json_object_put(d.paths);
                return r;
        }
        json_object_array_sort(d.paths, compare_strings);
        *ret = d.paths;
        *ret_total = d.total;
        return 0;
}
