/* What a change of the stack configuration came to, for `opsagent configure`'s run record and
 * output: each document's old and new version, and the attribute keys that changed (dotted
 * paths; agent/util/jsondiff.h). Never a value: a SecureString document's key names may show,
 * its values cannot. */
#ifndef OPSAGENT_CONFIGURE_CHANGE_H
#define OPSAGENT_CONFIGURE_CHANGE_H

#include <json-c/json.h>

#include "config/source.h"
#include "util/error.h"

/* What `opsagent configure` (or `opsagent setup`) last applied, in the source cache's format
 * (agent/config/source.h), in STATE_DIR/configure/source/cache.json (0600, atomic). It is not
 * the last known good (STATE_DIR/source/cache.json), which every command that fetches the
 * source rewrites: a change a timer's `run` fetched first must still be applied by configure. */
#define CONFIGURE_STATE_SUBDIR "configure"
/* -ENOENT (ERR not set) when nothing was applied yet. */
int configure_applied_read(const char *state_dir, struct source_set **ret, struct error *err);
int configure_applied_write(const char *state_dir, const struct source_set *s, struct error *err);

/* The change from OLD (the cache; NULL when there was none) to NEW, as a new JSON object
 * (caller puts):
 *   "documents": [{"name", "old_version" (null: new document), "new_version" (null: gone),
 *                  "secret"}], NEW's documents in order then those only OLD had, unchanged
 *                  ones included (old_version equal to new_version);
 *   "changed_keys": [dotted paths, sorted], "changed_keys_total": how many in all (the list
 *                  stops at JSONDIFF_MAX_PATHS).
 * The keys are those at which the attributes merged from OLD's documents alone and from NEW's
 * alone differ. -ENOMEM, or -EINVAL with ERR naming a document that is not a JSON object. */
int configure_change(const struct source_set *old, const struct source_set *new, json_object **ret,
                     struct error *err);

/* Says CHANGE (as configure_change() made it) in lines of its own: each document whose version
 * changed, then the changed keys. DRY_RUN: "would" wording. */
void configure_change_say(json_object *change, bool dry_run);

#endif
