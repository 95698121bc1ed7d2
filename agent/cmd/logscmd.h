/* `opsagent logs`: the CloudWatch Logs shipper (agent/logs/) as a command: the service
 * (opsagent-logs.service), --once, and --status. */
#ifndef OPSAGENT_LOGSCMD_H
#define OPSAGENT_LOGSCMD_H

#include "cli.h"

#define LOGSCMD_LOCK_FILE "lock"        /* STATE/logs/lock: one shipper at a time */
#define LOGSCMD_SINCE_FILE "since"      /* STATE/logs/since: when a shipper first ran here (usec) */

/* Exit 0: all shipped (--once), stopped by SIGTERM (service), status printed; 1: some could
 * not be sent (--once; it waits in the buffer); 2: configuration error; 3: another shipper
 * holds the lock. */
int cmd_logs(const struct cli *c);

#define LOGS_COMMAND                                                                                       \
        {                                                                                                  \
                .name = "logs",                                                                            \
                .summary = "ship log files and the journal to CloudWatch Logs",                           \
                .usage = "logs [--once | --status [--json]]",                                             \
                .help = "Ships the sources of cloudwatch_logs.sources (files by glob, journal units) and,\n" \
                        "when opsagent.logs.run_log_group is set, the recipes' runs to CloudWatch Logs.\n"    \
                        "Without options it runs as the service opsagent-logs.service: it follows the\n"    \
                        "files through rotation (rename and copytruncate), checkpoints each file after\n"   \
                        "CloudWatch accepted its lines (STATE/logs/checkpoints.json), and while CloudWatch\n" \
                        "cannot be reached keeps the lines in a bounded disk buffer (STATE/logs/buffer/,\n" \
                        "cloudwatch_logs.buffer_max_bytes; the oldest are dropped first and counted in the\n" \
                        "LogEventsDropped metric). After a crash or kill -9 at most the one batch in flight\n" \
                        "(<= 10,000 lines) is sent again.\n\n"                                                 \
                        "  --once                ship what is there now and exit (1 when some could not be\n" \
                        "                        sent: it waits in the buffer)\n"                              \
                        "  --status              per source and file: offset, lag in bytes and seconds,\n"   \
                        "                        buffered bytes, events dropped, last error\n"               \
                        "  --json                with --status: a JSON array of objects (source, path,\n"    \
                        "                        offset, lag_bytes, lag_seconds, buffered_bytes,\n"          \
                        "                        dropped_events, last_error)\n\n"                            \
                        "Examples:\n"                                                                      \
                        "  opsagent logs --once\n"                                                         \
                        "  opsagent logs --status --json\n",                                              \
                .options = OPT_ONCE | OPT_STATUS | OPT_JSON,                                               \
                .run = cmd_logs,                                                                           \
        }

#endif
