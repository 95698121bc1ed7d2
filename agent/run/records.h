/* Run records: one JSON file per run under STATE_DIR/runs/, named
 * YYYYmmddTHHMMSS.uuuuuuZ-RECIPE-RUNID.json (UTC start time) so that a lexical sort is a
 * chronological one. `status` and `history` read them; old ones are pruned. */
#ifndef OPSAGENT_RECORDS_H
#define OPSAGENT_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "util/metric.h"

#define RECORDS_SUBDIR "runs"
#define RECORDS_FILE_MAX (1024 * 1024)   /* a larger record file is skipped as corrupt */
#define RECORDS_SCAN_MAX 100000          /* files looked at in STATE_DIR/runs at most */
#define RECORDS_DEFAULT_KEEP 200         /* opsagent.records.keep */
#define RECORDS_DEFAULT_MAX_AGE_DAYS 90  /* opsagent.records.max_age_days */

enum run_outcome {
        RUN_SUCCESS,
        RUN_FAILED,
        RUN_TIMED_OUT,
        RUN_CRASHED,
        RUN_INTERRUPTED,
        RUN_CONFIG_ERROR,       /* run() returned OPSAGENT_RUN_CONFIG_ERROR */
};

/* "success", "failed", "timeout", "crashed", "interrupted", "config_error"; "unknown" for
 * anything else. */
const char *run_outcome_to_string(enum run_outcome o);
/* The outcome named S, or -EINVAL if unknown. */
int run_outcome_from_string(const char *s);

struct run_record {
        char run_id[40];                /* [A-Za-z0-9_.-]+ */
        char recipe[64];                /* [a-z0-9_]+ */
        int64_t start_usec, end_usec;   /* CLOCK_REALTIME */
        enum run_outcome outcome;
        char *error;                    /* NULL on success; owned */
        struct metric_batch metrics;    /* the recipe's own metrics (no namespace); owned */
        unsigned changes;               /* files and units it changed (dry run: would change) */
        bool dry_run;
        /* What a command records beside the outcome (`configure`: the documents' old and new
         * versions and the keys that changed, agent/cmd/configure.h), a JSON object, or NULL
         * for a recipe's run. One reference, owned. */
        json_object *detail;
};

/* Frees what R owns and zeroes it. */
void run_record_clear(struct run_record *r);

/* Writes R as STATE_DIR/runs/<name>.json (0600, atomically; STATE_DIR/runs is created 0700
 * when missing). The error text goes through log_scrub() first. -EINVAL for an empty or
 * malformed recipe or run id or a negative start time. */
int records_write(const char *state_dir, const struct run_record *r);

/* Up to MAX (0 = no limit) records, of RECIPE_OR_NULL or of every recipe, newest first, into
 * *ret (free with records_free(); NULL when none) and their number into *ret_n. A missing
 * runs directory means no records. Unreadable or corrupt files are skipped with a warning
 * naming them. */
int records_list(const char *state_dir, const char *recipe_or_null, size_t max, struct run_record **ret,
                 size_t *ret_n);
void records_free(struct run_record *r, size_t n);

enum records_last_flags {
        RECORDS_SUCCESS_ONLY = 1u << 0,  /* the newest successful run */
        RECORDS_NO_DRY_RUN = 1u << 1,    /* dry runs are no outcome: skipped */
};
/* The newest readable record of RECIPE that FLAGS (enum records_last_flags) allow into *ret
 * (clear with run_record_clear()). -ENOENT if there is none. */
int records_last(const char *state_dir, const char *recipe, unsigned flags, struct run_record *ret);

/* The record of the run whose id is RUN_ID or starts with it (as the 8 characters the run's
 * start line prints), into *ret (clear with run_record_clear()). -ENOENT when there is none,
 * -EEXIST when the prefix is that of several runs, -EINVAL for an empty or malformed one. */
int records_find(const char *state_dir, const char *run_id, struct run_record *ret);

/* Removes, per recipe, the records beyond the KEEP_PER_RECIPE newest (0 = no count bound)
 * and those that started more than MAX_AGE_SEC before NOW_USEC (0 = no age bound). The
 * newest record of each recipe is always kept, so `status` never forgets a recipe. The
 * number removed goes to *ret_removed (may be NULL). Files not named like records are left
 * alone. */
int records_prune(const char *state_dir, size_t keep_per_recipe, int64_t max_age_sec, int64_t now_usec,
                  size_t *ret_removed);

/* R as a JSON object (new reference; error scrubbed), NULL on ENOMEM. Holds "run_id",
 * "recipe", "start_usec", "end_usec", "start" and "end" (ISO 8601 UTC), "duration_sec",
 * "outcome", "error" (or null), "metrics" (array of agent/util/metric.h's JSON, maybe empty),
 * "changes", "dry_run", and "detail" when R has one. */
json_object *run_record_to_json(const struct run_record *r);
/* Fills *ret from O (as written by run_record_to_json); -EINVAL when a field is missing,
 * of the wrong type or too long, or a time is negative. *ret is written only on success. */
int run_record_from_json(json_object *o, struct run_record *ret);

#endif
