/* logrotate recipe: the state file (when each log was last rotated) and the journal of the
 * one step in flight, both JSON files in the recipe's state directory, written atomically. */
#ifndef LR_STATE_H
#define LR_STATE_H

#include <stdbool.h>
#include <time.h>
#include <json-c/json.h>

#define LR_STATE_FILE "status.json"
#define LR_JOURNAL_FILE "journal.json"
#define LR_STATE_MAX_BYTES (16 * 1024 * 1024)  /* a bigger state file is treated as corrupt */

struct lr_state;

/* Loads DIR/status.json, removing a temporary that a killed write left. A missing file gives
 * an empty state. A corrupt one (unparsable, not the expected shape, over LR_STATE_MAX_BYTES)
 * is renamed to status.json.corrupt-EPOCH, an empty state is returned and *ret_warning says
 * so (caller frees; NULL when all was well). *ret: caller frees with lr_state_free(). */
int lr_state_load(const char *dir, struct lr_state **ret, char **ret_warning);
/* When LOG (un-prefixed path) was last rotated; -ENOENT if never seen. */
int lr_state_get(struct lr_state *s, const char *log, time_t *ret);
int lr_state_set(struct lr_state *s, const char *log, time_t when);
/* Whether S changed since it was loaded or last saved. */
bool lr_state_dirty(const struct lr_state *s);
/* Writes DIR/status.json atomically (temporary file, fsync, rename, fsync of DIR). */
int lr_state_save(struct lr_state *s);
void lr_state_free(struct lr_state *s);   /* NULL is fine */

/* The journal: one JSON object describing the step in flight, or none. */
int lr_journal_write(const char *dir, json_object *step);
/* *ret: the step (caller puts), or -ENOENT when there is none. A corrupt journal is removed
 * and reported as -EBADMSG. */
int lr_journal_read(const char *dir, json_object **ret);
int lr_journal_clear(const char *dir);

#endif
