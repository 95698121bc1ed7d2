/* What opsagent changed in files and units it does not own, recorded before its first change
 * of each, so that `opsagent setup --undo` and the package's purge put the system back as it
 * was. The record is made to be read by a shell too: the package's postrm runs once the
 * program is gone.
 *
 *   STATE_DIR/undo/changes    one change per line, oldest first, fields separated by a TAB:
 *       file PATH saved/N MODE UID GID   PATH existed; its content then is in saved/N (MODE
 *                                        in octal, UID and GID numbers)
 *       file PATH -                      PATH did not exist: undoing removes it
 *       unit NAME STATE                  the unit's file state then (enabled or disabled):
 *                                        undoing enables and starts it, or stops and disables it
 *   STATE_DIR/undo/saved/N    the previous contents (0600; the directory is 0700)
 *
 * PATH is absolute on the system the agent manages, without the --root prefix. Each PATH and
 * each unit appears once, with its state before opsagent's first change. A name holding a TAB
 * or a newline cannot be recorded, and so must not be changed. A lock file (undo/lock) keeps
 * two runs from writing the record at once. */
#ifndef OPSAGENT_UNDO_H
#define OPSAGENT_UNDO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

#define UNDO_SUBDIR "undo"
#define UNDO_CHANGES "changes"
#define UNDO_SAVED_MAX (16u << 20)   /* a file larger than this is not saved: its change is refused */
#define UNDO_CHANGES_MAX 10000       /* changes recorded at most */

enum undo_kind { UNDO_FILE, UNDO_UNIT };

struct undo_change {
        enum undo_kind kind;
        char *name;          /* the path (without the root prefix) or the unit; owned */
        char *saved;         /* file: "saved/N", or NULL when it did not exist; unit: its state; owned */
        unsigned mode;       /* file: its mode bits then */
        uid_t uid;
        gid_t gid;
};

/* Before the first change of FULL_PATH (ROOT followed by the path; ROOT "" for none): records
 * what it is now (its content, mode and owner, or that it does not exist) unless recorded
 * already. Paths under STATE_DIR are opsagent's own and not recorded. 0 (recorded, or nothing
 * to record), or negative errno with *err set: the change must then not be made. */
int undo_note_file(const char *state_dir, const char *root, const char *full_path, struct error *err);

/* Before the first change of UNIT: records its unit file STATE ("enabled", "disabled"; others
 * are not recorded) unless recorded already. 0 or negative errno with *err set. */
int undo_note_unit(const char *state_dir, const char *unit, const char *state, struct error *err);

/* The recorded changes, oldest first, into *ret (free with undo_changes_free(); NULL and 0 when
 * there are none). Lines that are not a change are skipped. */
int undo_read(const char *state_dir, struct undo_change **ret, size_t *ret_n, struct error *err);
void undo_changes_free(struct undo_change *c, size_t n);

/* Puts file change C back under ROOT: the saved content with its mode and owner, or removes a
 * file that did not exist. 0 or negative errno with *err set. */
int undo_restore_file(const char *state_dir, const char *root, const struct undo_change *c, struct error *err);

/* Replaces the record with the N changes C (those not put back); with none left, removes the
 * record and its saved files. */
int undo_rewrite(const char *state_dir, const struct undo_change *c, size_t n, struct error *err);

#endif
