/* Which keys differ between two JSON trees, as dotted paths: what `opsagent configure` records
 * of a change to the stack configuration. Names only: no value ever reaches the result, so a
 * secret's key may be named but never its value. */
#ifndef OPSAGENT_JSONDIFF_H
#define OPSAGENT_JSONDIFF_H

#include <stddef.h>
#include <json-c/json.h>

#define JSONDIFF_MAX_PATHS 256       /* paths kept in the result at most; the rest only counted */
#define JSONDIFF_MAX_DEPTH 64        /* deeper than this, a subtree is named whole */
#define JSONDIFF_PATH_MAX 1024       /* a longer path is cut and ends in "..." */

/* The paths at which OLD and NEW differ (either may be NULL: no keys). Two objects are compared
 * key by key and descended into, as the attribute merge does; anything else (arrays, scalars, a
 * type change, an object against a scalar) is compared whole and named by its own path. A key
 * only one side has is named by its leaves when it holds an object (the object itself when that
 * is empty), else by its own path. Keys are joined with "." (a key holding a dot is not told
 * apart). *ret: a new array of strings, sorted, each once, at most JSONDIFF_MAX_PATHS of them
 * (caller puts); *ret_total: how many paths differ in all (may be more). 0 or -ENOMEM. */
int json_diff_keys(json_object *old, json_object *new, json_object **ret, size_t *ret_total);

#endif
