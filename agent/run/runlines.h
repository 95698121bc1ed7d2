/* The recipes' runs as lines for the log shipper: when opsagent.logs.run_log_group is set,
 * each run's end is appended to STATE/logs/runs/runs.log as one JSON object a line, which
 * `opsagent logs` ships to that group (one stream per instance). No network here: the runner
 * only writes a file.
 *
 *   {"time": "2026-12-04T18:30:00.123Z", "RECIPE": "ebs_snapshots", "RUN_ID": "...",
 *    "outcome": "success", "message": "...", "duration_sec": 1.5}
 *
 * Each line is one write(2) with O_APPEND (mode 0600). Past RUNLINES_MAX_BYTES the file is
 * renamed to runs.log.1 (the shipper finishes a renamed file before the new one). */
#ifndef OPSAGENT_RUNLINES_H
#define OPSAGENT_RUNLINES_H

#include "records.h"

#define RUNLINES_DIR "logs/runs"     /* a directory of its own: the shipper watches it */
#define RUNLINES_FILE "runs.log"
#define RUNLINES_MAX_BYTES (16 * 1024 * 1024)
#define RUNLINES_MESSAGE_MAX 4096       /* bytes of a run's error kept in its line */

/* Appends REC's line to STATE_DIR/logs/runs/runs.log (created 0600, its directories 0700). The
 * message goes through log_scrub(). 0 or a negative errno. */
int runlines_append(const char *state_dir, const struct run_record *rec);

#endif
