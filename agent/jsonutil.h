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
/* Deep copy (new reference), NULL on ENOMEM. */
json_object *json_deep_copy(json_object *o);

#endif
