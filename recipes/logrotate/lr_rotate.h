/* logrotate recipe: the engine. Decides which logs are due and rotates them by the set's
 * method (lr_copytruncate.h, lr_reopen.h, create), compresses (lr_steps.h), prunes
 * (lr_prune.h), keeps the state file (lr_state.h), and journals each step (lr_journal.h) so
 * that a run killed at any point is finished or undone by the next one (lr_recover.h).
 * Everything goes through the recipe context (output, logging, metrics, commands, systemd). */
#ifndef LR_ROTATE_H
#define LR_ROTATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include <opsagent/recipe.h>

#include "lr_config.h"
#include "lr_names.h"
#include "lr_state.h"

#define LR_ROTATE_RENAMED 1       /* (in a child that dropped root) renamed; the writer is told by the parent */
#define LR_DIRTY_MAX 8           /* directories whose fsync is put off at once */
#define LR_STATE_SAVE_EVERY 50000 /* changes (about 100 bytes each in status.log) between two saves */

/* A user (and group) a log is rotated as, in a child that has dropped root (lr_trust.h). */
struct lr_cred {
        bool set;
        uid_t uid;
        gid_t gid;
};

struct lr_writer;

struct lr_stats {
        uint64_t logs_rotated;
        uint64_t bytes_rotated;      /* sizes of the logs when they were rotated */
        uint64_t bytes_compressed;   /* sizes of the compressed files written */
        uint64_t copytruncate_window_ns; /* copytruncate: longest window where lines can be lost */
        uint64_t copytruncate_rt_bytes;  /* copytruncate: most bytes copied in one real-time pass */
        unsigned copytruncate_overruns;  /* last passes that had to copy a big tail (a fast writer) */
        unsigned errors;             /* logs refused or failed */
};

struct lr_run {
        struct opsagent_ctx *ctx;
        struct lr_state *state;
        const char *state_dir;       /* root already applied */
        const char *root;            /* "" for none */
        time_t now;
        bool dry_run;
        struct lr_set *const *sets;  /* all sets (journal recovery looks the set up by name) */
        size_t n_sets;
        struct lr_stats stats;
        unsigned state_error_said;   /* saving the state failed (and was said) this many times */
        struct lr_dircache *dirs;    /* the rotation directories read in this run */
        bool journaled;              /* a journal entry was written since the last clear */
        unsigned changes_unsaved;    /* state changes since the last save */
        char *dirty[LR_DIRTY_MAX];   /* directories changed since their last fsync */
        size_t n_dirty;
        int root_fd;                 /* the root (O_PATH): paths are resolved beneath it (lr_trust.h) */
        /* the log being rotated: */
        struct lr_cred cred;         /* rotated as this user, in a child (set), or as root */
        bool in_child;               /* this process is that child */
        size_t root_strip;           /* (that child) bytes of the root cut off the paths it was given: it is chrooted there */
        struct lr_writer *writers;   /* the processes its pidfiles name, checked */
        size_t n_writers;
};

enum lr_due { LR_NOT_DUE, LR_DUE };

/* Is a log with stat ST due at NOW, given its last rotation (HAVE_LAST/LAST)? *ret_reason is a
 * static string for the output. */
enum lr_due lr_is_due(const struct lr_set *s, const struct stat *st, bool have_last, time_t last,
                      time_t now, const char **ret_reason);

/* 0 when DIR may hold rotated logs; -EPERM when group (other than root) or others can write it,
 * as logrotate refuses; *ret_reason then explains (caller frees). */
int lr_check_dir_secure(const char *dir, char **ret_reason);

/* The directory of PATH was changed (a rename, an unlink) in a way whose durability can wait:
 * it is fsynced by lr_flush_dirty(), once, when the rotation moves on to another directory or
 * the set is done (or at once when LR_DIRTY_MAX directories wait). */
void lr_dirty(struct lr_run *run, const char *path);
/* fsyncs the directories lr_dirty() named; the first error. */
int lr_flush_dirty(struct lr_run *run);
/* Records in the state that LOGICAL was rotated (or seen first) at WHEN; on failure says so
 * (the first time in the run) and returns the negative errno. */
int lr_note_rotated(struct lr_run *run, const char *logical, time_t when);

/* Saves the state file (lr_state_save()) if it changed; on failure says (the first time in the run) which
 * file, why and what to do, and returns the negative errno. */
int lr_save_state(struct lr_run *run);

/* Rotates every due log of SET. Goes on past a failing log; returns the first error. */
int lr_process_set(struct lr_run *run, const struct lr_set *set);

#endif
