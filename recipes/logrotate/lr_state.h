/* logrotate recipe: the state file (when each log was last rotated) and the journal of the
 * one step in flight, both JSON files in the recipe's state directory, written atomically.
 *
 * The state is written whole once per set, not once per log (which made many small logs
 * quadratic): in between, each change is appended as one JSON line to status.log (one
 * write(2), no fsync: a kill -9 loses nothing, a power cut at worst the changes since the last
 * save, whose logs are then rotated again), and status.json's next load replays it. */
#ifndef LR_STATE_H
#define LR_STATE_H

#include <stdbool.h>
#include <time.h>
#include <json-c/json.h>

#define LR_STATE_FILE "status.json"
#define LR_JOURNAL_FILE "journal.json"
#define LR_STATE_LOG_FILE "status.log"
#define LR_STATE_MAX_BYTES (16 * 1024 * 1024)  /* a bigger state file (or log) is treated as corrupt */

struct lr_state;

/* Loads DIR/status.json, removing a temporary that a killed write left, then replays
 * DIR/status.log (changes since the last save; a torn or malformed line is skipped). A missing
 * file gives an empty state. A corrupt one (unparsable, not the expected shape, over
 * LR_STATE_MAX_BYTES) is renamed to status.json.corrupt-EPOCH, an empty state is returned and
 * *ret_warning says so (caller frees; NULL when all was well); a status.log over the bound is
 * removed, with a warning too. *ret: caller frees with lr_state_free(). */
int lr_state_load(const char *dir, struct lr_state **ret, char **ret_warning);
/* When LOG (un-prefixed path) was last rotated; -ENOENT if never seen. */
int lr_state_get(struct lr_state *s, const char *log, time_t *ret);
/* Records that LOG was last rotated WHEN, in memory and appended to status.log. */
int lr_state_set(struct lr_state *s, const char *log, time_t when);
/* Opens status.log for appending now (before a fork that drops root: the child appends
 * through the descriptor). */
int lr_state_prepare(struct lr_state *s);
/* Whether S changed since it was loaded or last saved. */
bool lr_state_dirty(const struct lr_state *s);
/* Writes DIR/status.json atomically (temporary file, fsync, rename, fsync of DIR), then
 * empties status.log. */
int lr_state_save(struct lr_state *s);
void lr_state_free(struct lr_state *s);   /* NULL is fine */

/* The journal: the step in flight, or none. Each step is appended as one JSON line and
 * fdatasync'ed (no new file, no directory fsync: a step costs one flush); the last whole
 * line is the step in flight. Past LR_JOURNAL_COMPACT_BYTES the file starts again. */
#define LR_JOURNAL_LINE_MAX (64 * 1024)          /* one entry */
#define LR_JOURNAL_COMPACT_BYTES (256 * 1024)
#define LR_JOURNAL_MAX_BYTES (1024 * 1024)       /* a bigger journal is corrupt */
int lr_journal_write(const char *dir, json_object *step);
/* Opens (creates) DIR's journal for appending now and keeps it open for the writes that follow,
 * a child that dropped root's included; lr_journal_clear() or lr_journal_close() closes it. */
int lr_journal_prepare(const char *dir);
void lr_journal_close(void);
/* *ret: the step (caller puts), or -ENOENT when there is none. A journal of which no line
 * is a JSON object (or over LR_JOURNAL_MAX_BYTES) is removed and reported as -EBADMSG. */
int lr_journal_read(const char *dir, json_object **ret);
int lr_journal_clear(const char *dir);

#endif
