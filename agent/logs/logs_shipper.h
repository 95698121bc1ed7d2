/* The log shipper: file sources (a glob's files in one directory, watched with inotify,
 * followed through rotation by rename and by copytruncate) and journal sources (sd_journal,
 * from a saved cursor), turned into events (logs_event.h), batched (logs_batch.h) per log
 * stream, sent (logs_send.h), and checkpointed (logs_checkpoint.h) only once CloudWatch
 * accepted them; while CloudWatch cannot be reached the batches go to the disk buffer
 * (logs_buffer.h) and are sent from there in order when it is back.
 *
 * Exactly once: a file's checkpoint is the offset after the last event CloudWatch accepted
 * (or that the disk buffer holds); a restart, even after kill -9, starts there, so at most
 * the batch in flight (<= LOGS_BATCH_MAX_EVENTS events) is sent twice. Single-threaded: one
 * sd-event loop. Logs its warnings itself (it is the command's engine); returns errors. */
#ifndef OPSAGENT_LOGS_SHIPPER_H
#define OPSAGENT_LOGS_SHIPPER_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "logs_config.h"
#include "report/report_config.h"
#include "util/error.h"

#define LOGS_LINE_MAX (1024 * 1024)             /* a line without a newline is cut here */
#define LOGS_READ_CHUNK (256 * 1024)
#define LOGS_READ_BUDGET (8 * 1024 * 1024)      /* bytes read per file before others get a turn */
#define LOGS_BACKOFF_MIN_USEC 1000000ULL
#define LOGS_BACKOFF_MAX_USEC 30000000ULL
#define LOGS_MAX_FILES_PER_SOURCE 1024
#define LOGS_ROTATED_GRACE_USEC 2000000ULL     /* a renamed file is read until idle this long */
#define LOGS_COPY_WAIT_USEC 10000000ULL        /* a truncated file's copy is looked for this long */
#define LOGS_STATUS_FILE "status.json"

struct logs_shipper;

struct logs_shipper_params {
        const struct logs_config *cfg;          /* borrowed; outlives the shipper */
        const char *root;                       /* "" or the --root directory */
        const char *logs_dir;                   /* STATE/logs */
        const char *instance_id, *hostname;     /* for stream names */
        json_object *attrs;                     /* the merged tree (the AWS session is made from it) */
        const struct report_config *report;     /* where LogEventsDropped goes; NULL: nowhere */
        bool once;                              /* for logs_shipper_once(): no inotify */
        int64_t since_usec;                     /* CLOCK_REALTIME of the first start of any shipper
                                                 * here (0: now): files rotated away after it and
                                                 * never read are read from their start */
};

/* Opens the sources, the checkpoints and the buffer. -EINVAL (ERR set) for a state that
 * cannot be used. Free with logs_shipper_free(). */
int logs_shipper_new(const struct logs_shipper_params *p, struct logs_shipper **ret, struct error *err);
void logs_shipper_free(struct logs_shipper *sh);        /* NULL is fine */

/* Ships everything there is now (the buffer, every source to its end, rotated copies still
 * to finish) and returns: 0 when all was accepted, 1 when some was not (it stays in the
 * buffer), a negative errno (ERR set) for a local failure. */
int logs_shipper_once(struct logs_shipper *sh, struct error *err);

/* The service: runs until SIGTERM or SIGINT, then flushes (one last attempt), saves the
 * checkpoints and returns 0. sd_notify READY=1, WATCHDOG=1, STOPPING=1. */
int logs_shipper_run(struct logs_shipper *sh, struct error *err);

#endif
