/* Validation of attributes against a JSON Schema subset, so that bad input is refused before
 * anything runs, with one line naming the file, the key, the expected and the found type.
 *
 * Supported keywords: type (a name or an array of names: null, boolean, integer, number,
 * string, array, object), properties, additionalProperties (false, true or a schema; objects
 * with `properties` are closed unless it says otherwise), items (every entry), prefixItems (an
 * array of schemas for the first entries, checked as well as items), enum, minimum, maximum,
 * minLength, minItems, format, description (ignored).
 *
 * "format": "path" says a string is a path: a NUL byte, a ".." component or an empty one
 * ("a//b", a trailing "/") is refused (pathres_check() in agent/util/pathres.h), so that no
 * configured path can climb out of --root or a prefix check, or be cut short by "\u0000".
 * It does not ask for an absolute path, nor for a path at all in a string that has no "/":
 * "HOST:PORT" passes. */
#ifndef OPSAGENT_SCHEMA_H
#define OPSAGENT_SCHEMA_H

#include <json-c/json.h>

#include "attrs.h"
#include "util/error.h"

#define SCHEMA_MAX_DEPTH 32
#define SCHEMA_FORMAT_PATH "path"

/* Checks that SCHEMA itself uses only what this validator understands. */
int schema_check(json_object *schema, const char *label, struct error *err);

/* Validates the attributes at PATH against SCHEMA. The first problem fills err:
 * "FILE: KEY: expected integer, found string \"15\"" or
 * "FILE: unknown key KEY (did you mean NEAR?)". -EINVAL on a problem. */
int schema_validate(struct attrs *a, const char *path, json_object *schema, struct error *err);

/* Levenshtein distance between A and B, capped at CAP+1 (cheap "did you mean"). */
unsigned edit_distance(const char *a, const char *b, unsigned cap);
/* The candidate closest to WORD when close enough to be a likely typo, else NULL. */
const char *did_you_mean(const char *word, const char *const *candidates, size_t n);

#endif
