/* json-c helpers: strict parsing with "file:line:col: why" errors, dotted-path lookup, type
 * names for messages. */
#ifndef OPSAGENT_JSONUTIL_H
#define OPSAGENT_JSONUTIL_H

#include <stdbool.h>
#include <json-c/json.h>

#include "error.h"
#include "opsagent/recipe.h"

#define JSON_FILE_MAX (4u << 20)   /* attribute files larger than this are refused */
#define JSON_MAX_DEPTH 64

/* Parses TEXT strictly; LABEL names it in errors ("FILE:LINE:COL: why"). *ret: new reference. */
int json_parse_text(const char *text, const char *label, json_object **ret, struct error *err);
/* Reads and parses FILE (at most JSON_FILE_MAX bytes). -ENOENT is returned without setting err
 * when MISSING_OK. */
int json_parse_file(const char *file, bool missing_ok, json_object **ret, struct error *err);

/* Value at dotted PATH inside OBJ ("" or NULL is OBJ itself). Borrowed; NULL when absent. */
json_object *json_get_path(json_object *obj, const char *path);
/* The same, but NULL also when the value is JSON null. */
json_object *json_get_value(json_object *obj, const char *path);
/* The string at dotted PATH inside OBJ (borrowed), or NULL when absent or not a string;
 * json_get_nonempty_string() also says NULL for "". */
const char *json_get_string(json_object *obj, const char *path);
const char *json_get_nonempty_string(json_object *obj, const char *path);
/* Deep copy (new reference), NULL on ENOMEM. */
json_object *json_deep_copy(json_object *o);

/* Adds V (a new reference, taken over even on failure) as KEY of object O, or appends it to
 * array A. -ENOMEM when V is NULL (its constructor failed) or the add fails. */
int json_add(json_object *o, const char *key, json_object *v);
int json_push(json_object *a, json_object *v);
/* Adds the string VALUE as KEY of O; nothing when VALUE is NULL. 0 or -ENOMEM. */
int json_add_string(json_object *o, const char *key, const char *value);

#endif
