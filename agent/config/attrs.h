/* Node attributes: layered JSON merged with an origin for every value.
 *
 * Precedence, lowest first: recipe defaults, stack Custom JSON, layer JSON (name order), local
 * JSON, -j files; objects merge key by key, scalars and arrays replace. `opsagent.instance`
 * (instance facts) is protected: only attrs_set_protected() may write it. */
#ifndef OPSAGENT_ATTRS_H
#define OPSAGENT_ATTRS_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>

#include "util/error.h"

#define ATTRS_PROTECTED_PATH "opsagent.instance"
#define ATTRS_REDACTED "(redacted)"

struct attrs;

int attrs_new(struct attrs **ret);
void attrs_free(struct attrs *a);  /* NULL is fine */

/* Merges OBJ (an object; a reference is taken on nothing: it is deep-copied) at dotted PATH
 * ("" = top) with ORIGIN as the label of every value it sets. Writes under the protected path
 * are dropped with a warning naming ORIGIN. */
int attrs_merge(struct attrs *a, const char *path, json_object *obj, const char *origin, struct error *err);
/* Reads FILE and merges it at the top. -ENOENT without error when MISSING_OK and absent.
 * A file that is not a JSON object is an error naming it. */
int attrs_merge_file(struct attrs *a, const char *file, bool missing_ok, struct error *err);
/* Replaces the protected subtree with OBJ (deep-copied), origin ORIGIN. */
int attrs_set_protected(struct attrs *a, json_object *obj, const char *origin);

/* The merged tree (borrowed; valid until the next merge). */
json_object *attrs_tree(struct attrs *a);
/* Value at PATH (borrowed) or NULL. */
json_object *attrs_get(struct attrs *a, const char *path);
/* Origin of the value at PATH (the deepest recorded one), or NULL. Borrowed. */
const char *attrs_origin(struct attrs *a, const char *path);
/* True when a value at or under PATH has an origin whose label does not start with PREFIX
 * (layers.h: set by a file rather than by the shipped defaults). */
bool attrs_set_by_other_than(struct attrs *a, const char *path, const char *prefix);

/* True when KEY looks like it holds a secret: aws_key, aws_secret, *password*, *secret*,
 * *token* (case-insensitive). */
bool attrs_key_is_secret(const char *key);
/* Marks ORIGIN (an origin label) as secret: every value it gives is printed redacted, whatever
 * its key (a SecureString document). 0 or -ENOMEM. */
int attrs_mark_secret_origin(struct attrs *a, const char *origin);
/* Registers every string value under a secret-looking key with the log scrubber. */
void attrs_register_secrets(struct attrs *a);

/* Prints the subtree at PATH, one "key.path = value  (origin)" line per leaf, or as JSON
 * {"key.path": {"value": V, "origin": O}, ...}. Secrets are always redacted.
 * -ENOENT (err set) when PATH does not exist. */
int attrs_print(struct attrs *a, const char *path, bool as_json, FILE *out, struct error *err);

#endif
