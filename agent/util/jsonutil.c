#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "jsonutil.h"

static void offset_to_line_col(const char *text, size_t off, unsigned *line, unsigned *col)
{
        *line = 1;
        *col = 1;
        for (size_t i = 0; i < off && text[i]; i++) {
                if (text[i] == '\n') {
                        (*line)++;
                        *col = 1;
                } else
                        (*col)++;
        }
}

int json_parse_text(const char *text, const char *label, json_object **ret, struct error *err)
{
        struct json_tokener *tok;
        enum json_tokener_error jerr;
        json_object *obj;
        size_t len = strlen(text), consumed;
        unsigned line, col;
        int r = 0;

        tok = json_tokener_new_ex(JSON_MAX_DEPTH);
        if (!tok)
                return error_set(err, -ENOMEM, "%s: out of memory", label);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        obj = json_tokener_parse_ex(tok, text, (int)len);
        jerr = json_tokener_get_error(tok);
        consumed = json_tokener_get_parse_end(tok);
        if (jerr == json_tokener_continue) {
                offset_to_line_col(text, len, &line, &col);
                r = error_set(err, -EINVAL, "%s:%u:%u: invalid JSON: unexpected end of file", label, line, col);
                goto out;
        }
        if (jerr != json_tokener_success) {
                offset_to_line_col(text, consumed, &line, &col);
                r = error_set(err, -EINVAL, "%s:%u:%u: invalid JSON: %s", label, line, col,
                              json_tokener_error_desc(jerr));
                goto out;
        }
        for (size_t i = consumed; i < len; i++) {
                if (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')
                        continue;
                offset_to_line_col(text, i, &line, &col);
                json_object_put(obj);
                obj = NULL;
                r = error_set(err, -EINVAL, "%s:%u:%u: invalid JSON: unexpected text after the value", label,
                              line, col);
                goto out;
        }
        *ret = obj;
out:
        json_tokener_free(tok);
        return r;
}

int json_parse_file(const char *file, bool missing_ok, json_object **ret, struct error *err)
{
        char *text = NULL;
        int r;

        r = read_file_capped(file, JSON_FILE_MAX, &text, NULL);
        if (r == -ENOENT && missing_ok)
                return r;
        if (r == -EFBIG)
                return error_set(err, r, "%s: larger than %u bytes; refusing to read it", file, JSON_FILE_MAX);
        if (r < 0)
                return error_set(err, r, "%s: cannot read: %s", file, strerror(-r));
        r = json_parse_text(text, file, ret, err);
        free(text);
        return r;
}

json_object *json_get_path(json_object *obj, const char *path)
{
        const char *p = path;

        if (!path || !*path)
                return obj;
        while (obj && *p) {
                const char *dot = strchr(p, '.');
                size_t n = dot ? (size_t)(dot - p) : strlen(p);
                char key[256];
                json_object *child;

                if (n == 0 || n >= sizeof(key) || !json_object_is_type(obj, json_type_object))
                        return NULL;
                memcpy(key, p, n);
                key[n] = '\0';
                if (!json_object_object_get_ex(obj, key, &child))
                        return NULL;
                obj = child;
                p = dot ? dot + 1 : p + n;
        }
        return obj;
}

json_object *json_get_value(json_object *obj, const char *path)
{
        json_object *v = json_get_path(obj, path);

        return v && !json_object_is_type(v, json_type_null) ? v : NULL;
}

const char *json_get_string(json_object *obj, const char *path)
{
        json_object *v = json_get_path(obj, path);

        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

const char *json_get_nonempty_string(json_object *obj, const char *path)
{
        const char *s = json_get_string(obj, path);

        return s && *s ? s : NULL;
}

json_object *json_deep_copy(json_object *o)
{
        json_object *copy = NULL;

        if (!o)
                return NULL;
        if (json_object_deep_copy(o, &copy, NULL) < 0)
                return NULL;
        return copy;
}

int json_add(json_object *o, const char *key, json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int json_push(json_object *a, json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int json_add_string(json_object *o, const char *key, const char *value)
{
        return value ? json_add(o, key, json_object_new_string(value)) : 0;
}
