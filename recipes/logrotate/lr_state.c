/* logrotate recipe: state file and journal. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lr_compress.h"
#include "lr_state.h"
#include "util/fileio.h"

struct lr_state {
        char *path;
        json_object *logs;   /* { "/var/log/x.log": { "last_rotated": EPOCH }, ... } */
        bool dirty;          /* changed since loaded or saved */
};

/* Writes DATA to PATH atomically with MODE, through PATH LR_TMP_SUFFIX: a fixed name, so that a
 * temporary a killed write left is found and removed (remove_stale_tmp()). */
static int write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
        char *tmp = NULL;
        int r;

        if (asprintf(&tmp, "%s%s", path, LR_TMP_SUFFIX) < 0)
                return -ENOMEM;
        r = write_file_atomic_via(path, tmp, data, len, mode);
        free(tmp);
        return r;
}

/* A temporary left by a write that a kill -9 interrupted: the file it was to replace is still
 * whole, so the temporary is only removed. */
static void remove_stale_tmp(const char *path)
{
        char *tmp = NULL;

        if (asprintf(&tmp, "%s%s", path, LR_TMP_SUFFIX) < 0)
                return;
        (void)unlink(tmp);
        free(tmp);
}

static bool state_shape_ok(json_object *root)
{
        json_object *logs, *v;

        if (!json_object_is_type(root, json_type_object) ||
            !json_object_object_get_ex(root, "logs", &logs) ||
            !json_object_is_type(logs, json_type_object))
                return false;
        json_object_object_foreach(logs, key, entry) {
                (void)key;
                if (!json_object_is_type(entry, json_type_object) ||
                    !json_object_object_get_ex(entry, "last_rotated", &v) ||
                    !json_object_is_type(v, json_type_int))
                        return false;
        }
        return true;
}

int lr_state_load(const char *dir, struct lr_state **ret, char **ret_warning)
{
        struct lr_state *s;
        char *text = NULL, *aside = NULL, *warning = NULL;
        json_object *root = NULL, *logs;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        if (asprintf(&s->path, "%s/%s", dir, LR_STATE_FILE) < 0) {
                s->path = NULL;
                r = -ENOMEM;
                goto out;
        }
        remove_stale_tmp(s->path);
        r = read_file_capped(s->path, LR_STATE_MAX_BYTES, &text, NULL);
        if (r == 0) {
                root = json_tokener_parse(text);
                if (root && state_shape_ok(root)) {
                        json_object_object_get_ex(root, "logs", &logs);
                        s->logs = json_object_get(logs);
                }
        }
        if (r < 0 && r != -ENOENT && r != -EFBIG)
                goto out;
        if (r == -EFBIG || (r == 0 && !s->logs)) {
                if (asprintf(&aside, "%s.corrupt-%" PRId64, s->path, (int64_t)time(NULL)) < 0) {
                        aside = NULL;
                        r = -ENOMEM;
                        goto out;
                }
                if (rename(s->path, aside) < 0) {
                        r = -errno;
                        goto out;
                }
                if (asprintf(&warning, "%s is corrupt (%s); moved it to %s and started a new one: "
                             "logs are rotated as if seen for the first time",
                             s->path, r == -EFBIG ? "too large" : "not the expected JSON", aside) < 0)
                        warning = NULL;
        }
        if (!s->logs) {
                s->logs = json_object_new_object();
                if (!s->logs) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        *ret = s;
        s = NULL;
        if (ret_warning)
                *ret_warning = warning;
        else
                free(warning);
        warning = NULL;
        r = 0;
out:
        free(warning);
        free(aside);
        json_object_put(root);
        free(text);
        lr_state_free(s);
        return r;
}

int lr_state_get(struct lr_state *s, const char *log, time_t *ret)
{
        json_object *entry, *v;

        if (!json_object_object_get_ex(s->logs, log, &entry) ||
            !json_object_object_get_ex(entry, "last_rotated", &v))
                return -ENOENT;
        *ret = (time_t)json_object_get_int64(v);
        return 0;
}

int lr_state_set(struct lr_state *s, const char *log, time_t when)
{
        json_object *entry = json_object_new_object(), *v = json_object_new_int64((int64_t)when);

        if (!entry || !v || json_object_object_add(entry, "last_rotated", v) < 0) {
                json_object_put(v);
                json_object_put(entry);
                return -ENOMEM;
        }
        if (json_object_object_add(s->logs, log, entry) < 0) {
                json_object_put(entry);
                return -ENOMEM;
        }
        s->dirty = true;
        return 0;
}

bool lr_state_dirty(const struct lr_state *s)
{
        return s->dirty;
}

int lr_state_save(struct lr_state *s)
{
        json_object *root = json_object_new_object();
        const char *text;
        int r;

        if (!root)
                return -ENOMEM;
        if (json_object_object_add(root, "version", json_object_new_int(1)) < 0 ||
            json_object_object_add(root, "logs", json_object_get(s->logs)) < 0) {
                r = -ENOMEM;
                goto out;
        }
        text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text) {
                r = -ENOMEM;
                goto out;
        }
        r = write_atomic(s->path, text, strlen(text), 0644);
        if (r >= 0)
                s->dirty = false;
out:
        json_object_put(root);
        return r;
}

void lr_state_free(struct lr_state *s)
{
        if (!s)
                return;
        json_object_put(s->logs);
        free(s->path);
        free(s);
}

static char *journal_path(const char *dir)
{
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, LR_JOURNAL_FILE) < 0)
                return NULL;
        return p;
}

int lr_journal_write(const char *dir, json_object *step)
{
        char *path = journal_path(dir);
        const char *text;
        int r;

        if (!path)
                return -ENOMEM;
        text = json_object_to_json_string_ext(step, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        r = text ? write_atomic(path, text, strlen(text), 0600) : -ENOMEM;
        free(path);
        return r;
}

int lr_journal_read(const char *dir, json_object **ret)
{
        char *path = journal_path(dir), *text = NULL;
        json_object *obj = NULL;
        int r;

        if (!path)
                return -ENOMEM;
        remove_stale_tmp(path);
        r = read_file_capped(path, 1024 * 1024, &text, NULL);
        if (r < 0)
                goto out;
        obj = json_tokener_parse(text);
        if (!obj || !json_object_is_type(obj, json_type_object)) {
                (void)unlink(path);
                r = -EBADMSG;
                goto out;
        }
        *ret = obj;
        obj = NULL;
        r = 0;
out:
        json_object_put(obj);
        free(text);
        free(path);
        return r;
}

int lr_journal_clear(const char *dir)
{
        char *path = journal_path(dir);
        int r = 0;

        if (!path)
                return -ENOMEM;
        if (unlink(path) < 0 && errno != ENOENT)
                r = -errno;
        else
                r = fsync_parent_dir(path);
        free(path);
        return r;
}
