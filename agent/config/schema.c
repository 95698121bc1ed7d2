#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "util/jsonutil.h"
#include "util/pathres.h"

unsigned edit_distance(const char *a, const char *b, unsigned cap)
{
        size_t la = strlen(a), lb = strlen(b);
        unsigned row[128], prev_diag, tmp, best;

        if (lb >= sizeof(row) / sizeof(row[0]) || la >= 128)
                return cap + 1;
        if ((la > lb ? la - lb : lb - la) > cap)
                return cap + 1;
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned)j;
        for (size_t i = 1; i <= la; i++) {
                prev_diag = row[0];
                row[0] = (unsigned)i;
                best = row[0];
                for (size_t j = 1; j <= lb; j++) {
                        unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;

                        tmp = row[j];
                        row[j] = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
                        if (prev_diag + cost < row[j])
                                row[j] = prev_diag + cost;
                        prev_diag = tmp;
                        if (row[j] < best)
                                best = row[j];
                }
                if (best > cap)
                        return cap + 1;
        }
        return row[lb] > cap ? cap + 1 : row[lb];
}

const char *did_you_mean(const char *word, const char *const *candidates, size_t n)
{
        const char *best = NULL;
        unsigned best_d, cap;
        size_t wl = strlen(word);

        cap = wl <= 4 ? 1 : wl <= 8 ? 2 : 3;
        best_d = cap + 1;
        for (size_t i = 0; i < n; i++) {
                unsigned d = edit_distance(word, candidates[i], cap);

                if (d > 0 && d < best_d) {
                        best_d = d;
                        best = candidates[i];
                }
        }
        return best;
}

static const char *const type_names[] = { "null", "boolean", "integer", "number", "string", "array", "object" };

static bool type_name_known(const char *t)
{
        for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
                if (strcmp(t, type_names[i]) == 0)
                        return true;
        return false;
}

int schema_check(json_object *schema, const char *label, struct error *err)
{
        static const char *const keywords[] = { "type",    "properties", "additionalProperties",
                                                "items",   "prefixItems", "enum",
                                                "minimum", "maximum",    "minLength",
                                                "minItems", "format",    "description",
                                                "default", "title" };
        json_object *v;

        if (!json_object_is_type(schema, json_type_object))
                return error_set(err, -EINVAL, "%s: a schema must be a JSON object", label);
        json_object_object_foreach(schema, key, val) {
                bool known = false;

                for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
                        known = known || strcmp(key, keywords[i]) == 0;
                if (!known)
                        return error_set(err, -EINVAL, "%s: unsupported schema keyword \"%s\"", label, key);
                (void)val;
        }
        if (json_object_object_get_ex(schema, "type", &v)) {
                if (json_object_is_type(v, json_type_string)) {
                        if (!type_name_known(json_object_get_string(v)))
                                return error_set(err, -EINVAL, "%s: unknown type \"%s\"", label,
                                                 json_object_get_string(v));
                } else if (json_object_is_type(v, json_type_array)) {
                        for (size_t i = 0; i < json_object_array_length(v); i++) {
                                json_object *t = json_object_array_get_idx(v, i);

                                if (!json_object_is_type(t, json_type_string) ||
                                    !type_name_known(json_object_get_string(t)))
                                        return error_set(err, -EINVAL, "%s: bad entry in \"type\"", label);
                        }
                } else
                        return error_set(err, -EINVAL, "%s: \"type\" must be a string or an array", label);
        }
        if (json_object_object_get_ex(schema, "properties", &v)) {
                if (!json_object_is_type(v, json_type_object))
                        return error_set(err, -EINVAL, "%s: \"properties\" must be an object", label);
                json_object_object_foreach(v, pk, pv) {
                        char sub[512];
                        int r;

                        snprintf(sub, sizeof(sub), "%s.%s", label, pk);
                        r = schema_check(pv, sub, err);
                        if (r < 0)
                                return r;
                }
        }
        if (json_object_object_get_ex(schema, "additionalProperties", &v) &&
            !json_object_is_type(v, json_type_boolean)) {
                int r = schema_check(v, label, err);

                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(schema, "items", &v)) {
                int r = schema_check(v, label, err);

                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(schema, "prefixItems", &v)) {
                if (!json_object_is_type(v, json_type_array))
                        return error_set(err, -EINVAL, "%s: \"prefixItems\" must be an array of schemas", label);
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        int r = schema_check(json_object_array_get_idx(v, i), label, err);

                        if (r < 0)
                                return r;
                }
        }
        if (json_object_object_get_ex(schema, "format", &v) &&
            (!json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), SCHEMA_FORMAT_PATH) != 0))
                return error_set(err, -EINVAL, "%s: unknown \"format\" %s (known: \"" SCHEMA_FORMAT_PATH "\")", label,
                                 json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        return 0;
}

static bool type_matches(const char *t, json_object *value)
{
        enum json_type jt = json_object_get_type(value);

        if (strcmp(t, "null") == 0)
                return jt == json_type_null;
        if (strcmp(t, "boolean") == 0)
                return jt == json_type_boolean;
        if (strcmp(t, "integer") == 0)
                return jt == json_type_int ||
                       (jt == json_type_double && floor(json_object_get_double(value)) == json_object_get_double(value) &&
                        isfinite(json_object_get_double(value)));
        if (strcmp(t, "number") == 0)
                return jt == json_type_int || jt == json_type_double;
        if (strcmp(t, "string") == 0)
                return jt == json_type_string;
        if (strcmp(t, "array") == 0)
                return jt == json_type_array;
        if (strcmp(t, "object") == 0)
                return jt == json_type_object;
        return false;
}

static void expected_types(json_object *type, char *out, size_t size)
{
        out[0] = '\0';
        if (json_object_is_type(type, json_type_string)) {
                snprintf(out, size, "%s", json_object_get_string(type));
                return;
        }
        for (size_t i = 0; i < json_object_array_length(type); i++) {
                size_t len = strlen(out);

                snprintf(out + len, size - len, "%s%s", i == 0 ? "" : i + 1 == json_object_array_length(type) ? " or " : ", ",
                         json_object_get_string(json_object_array_get_idx(type, i)));
        }
}

static void found_text(json_object *value, char *out, size_t size, bool secret)
{
        const char *t = opsagent_json_type_label(value);

        if (secret || json_object_is_type(value, json_type_object) || json_object_is_type(value, json_type_array) ||
            json_object_is_type(value, json_type_null))
                snprintf(out, size, "%s", t);
        else
                snprintf(out, size, "%s %.60s", t, json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
}

struct vstate {
        struct attrs *a;
        struct error *err;
        unsigned depth;
};

static int fail_at(struct vstate *st, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(struct vstate *st, const char *path, const char *fmt, ...)
{
        char msg[768], array[1024];
        const char *origin = attrs_origin(st->a, path);
        va_list ap;

        /* An entry of an array ("x.paths[1]"): the array's origin is the entry's. */
        if (!origin && strchr(path, '[')) {
                snprintf(array, sizeof(array), "%.*s", (int)strcspn(path, "["), path);
                origin = attrs_origin(st->a, array);
        }

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return error_set(st->err, -EINVAL, "%s: %s", origin ? origin : "attributes", msg);
}

static bool path_has_secret(const char *path)
{
        char buf[1024], *save = NULL;

        snprintf(buf, sizeof(buf), "%s", path);
        for (char *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save))
                if (attrs_key_is_secret(t))
                        return true;
        return false;
}

static int validate(struct vstate *st, const char *path, json_object *schema, json_object *value)
{
        json_object *type, *v;
        char exp[128], found[128];

        if (++st->depth > SCHEMA_MAX_DEPTH) {
                st->depth--;
                return fail_at(st, path, "%s: nested too deeply", path);
        }
        if (json_object_object_get_ex(schema, "type", &type)) {
                bool ok = false;

                if (json_object_is_type(type, json_type_string))
                        ok = type_matches(json_object_get_string(type), value);
                else
                        for (size_t i = 0; i < json_object_array_length(type) && !ok; i++)
                                ok = type_matches(json_object_get_string(json_object_array_get_idx(type, i)), value);
                if (!ok) {
                        expected_types(type, exp, sizeof(exp));
                        found_text(value, found, sizeof(found), path_has_secret(path));
                        st->depth--;
                        return fail_at(st, path, "%s: expected %s, found %s", path, exp, found);
                }
        }
        if (json_object_object_get_ex(schema, "enum", &v) && json_object_is_type(v, json_type_array) &&
            !json_object_is_type(value, json_type_null)) {
                bool ok = false;
                char allowed[512] = "";

                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        json_object *e = json_object_array_get_idx(v, i);
                        size_t len = strlen(allowed);

                        ok = ok || json_object_equal(e, value);
                        snprintf(allowed + len, sizeof(allowed) - len, "%s%s", i ? ", " : "",
                                 json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
                }
                if (!ok) {
                        found_text(value, found, sizeof(found), false);
                        st->depth--;
                        return fail_at(st, path, "%s: must be one of %s, found %s", path, allowed, found);
                }
        }
        if (json_object_is_type(value, json_type_int) || json_object_is_type(value, json_type_double)) {
                double d = json_object_get_double(value);

                if (json_object_object_get_ex(schema, "minimum", &v) && d < json_object_get_double(v)) {
                        st->depth--;
                        return fail_at(st, path, "%s: must be at least %g, found %g", path,
                                       json_object_get_double(v), d);
                }
                if (json_object_object_get_ex(schema, "maximum", &v) && d > json_object_get_double(v)) {
                        st->depth--;
                        return fail_at(st, path, "%s: must be at most %g, found %g", path,
                                       json_object_get_double(v), d);
                }
        }
        if (json_object_is_type(value, json_type_string) && json_object_object_get_ex(schema, "minLength", &v) &&
            (int64_t)json_object_get_string_len(value) < json_object_get_int64(v)) {
                st->depth--;
                return fail_at(st, path, "%s: must not be shorter than %" PRId64 " characters", path,
                               json_object_get_int64(v));
        }
        if (json_object_is_type(value, json_type_string) && json_object_object_get_ex(schema, "format", &v)) {
                const char *why = NULL;

                /* json-c keeps "\u0000" inside a string: its length, not strlen, is the truth. */
                if (pathres_check(json_object_get_string(value), (size_t)json_object_get_string_len(value), &why) < 0) {
                        if (path_has_secret(path))
                                snprintf(found, sizeof(found), "%s", ATTRS_REDACTED);
                        else
                                snprintf(found, sizeof(found), "%.100s",
                                         json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN |
                                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
                        st->depth--;
                        return fail_at(st, path, "%s: the path %s %s; write it out plainly (a path is used as it is "
                                       "written, never normalized)", path, found, why);
                }
        }
        if (json_object_is_type(value, json_type_array)) {
                json_object *items, *prefix;

                if (json_object_object_get_ex(schema, "minItems", &v) &&
                    (int64_t)json_object_array_length(value) < json_object_get_int64(v)) {
                        st->depth--;
                        return fail_at(st, path, "%s: needs at least %" PRId64 " entries", path,
                                       json_object_get_int64(v));
                }
                if (json_object_object_get_ex(schema, "prefixItems", &prefix))
                        for (size_t i = 0; i < json_object_array_length(value) && i < json_object_array_length(prefix);
                             i++) {
                                char sub[1024];
                                int r;

                                snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                                r = validate(st, sub, json_object_array_get_idx(prefix, i),
                                             json_object_array_get_idx(value, i));
                                if (r < 0) {
                                        st->depth--;
                                        return r;
                                }
                        }
                if (json_object_object_get_ex(schema, "items", &items))
                        for (size_t i = 0; i < json_object_array_length(value); i++) {
                                char sub[1024];
                                int r;

                                snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                                r = validate(st, sub, items, json_object_array_get_idx(value, i));
                                if (r < 0) {
                                        st->depth--;
                                        return r;
                                }
                        }
        }
        if (json_object_is_type(value, json_type_object)) {
                json_object *props = NULL, *addl = NULL;
                bool closed;

                json_object_object_get_ex(schema, "properties", &props);
                json_object_object_get_ex(schema, "additionalProperties", &addl);
                closed = props && (!addl || (json_object_is_type(addl, json_type_boolean) &&
                                             !json_object_get_boolean(addl)));
                json_object_object_foreach(value, key, child) {
                        json_object *sub_schema = NULL;
                        char sub[1024];
                        int r;

                        snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
                        if (props && json_object_object_get_ex(props, key, &sub_schema))
                                r = validate(st, sub, sub_schema, child);
                        else if (addl && json_object_is_type(addl, json_type_object))
                                r = validate(st, sub, addl, child);
                        else if (closed) {
                                const char *cands[256], *near;
                                size_t n = 0;

                                json_object_object_foreach(props, pk, pv) {
                                        (void)pv;
                                        if (n < 256)
                                                cands[n++] = pk;
                                }
                                near = did_you_mean(key, cands, n);
                                if (near)
                                        r = fail_at(st, sub, "unknown key %s (did you mean %s%s%s?)", sub, path,
                                                    *path ? "." : "", near);
                                else
                                        r = fail_at(st, sub, "unknown key %s", sub);
                        } else
                                r = 0;
                        if (r < 0) {
                                st->depth--;
                                return r;
                        }
                }
        }
        st->depth--;
        return 0;
}

int schema_validate(struct attrs *a, const char *path, json_object *schema, struct error *err)
{
        struct vstate st = { .a = a, .err = err };
        json_object *value = attrs_get(a, path);

        if (!value || !schema)
                return 0;
        return validate(&st, path ? path : "", schema, value);
}
