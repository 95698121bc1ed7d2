/* `opsagent log`: one run's lines, read back from the journal by RUN_ID= (or, where the
 * journal has none of them, what its run record holds), for an operator who has a run id from
 * status, history or an alarm. */
#ifndef OPSAGENT_LOGCMD_H
#define OPSAGENT_LOGCMD_H

#include "cli.h"

#define LOGCMD_DEFAULT_RUNS 10   /* runs shown by `log --recipe NAME` without --limit */

/* The command: exit 0 when it printed something (or there is no run yet), 2 for a usage error,
 * an unknown recipe or run id. */
int cmd_log(const struct cli *c);

#define LOG_COMMAND                                                                                          \
        {                                                                                                    \
                .name = "log",                                                                               \
                .summary = "print one run's lines (from the journal, else its run record)",                  \
                .usage = "log [RUN_ID | --recipe NAME [--last] [--limit N]]",                               \
                .help = "Prints the journal lines of one run, found by their RUN_ID= field: RUN_ID may be the\n" \
                        "whole id or its start (the 8 characters `running (run 8515cdb5)` shows). With\n"       \
                        "--recipe NAME, the last runs of NAME (oldest first; --last: only the last one). With\n" \
                        "neither, the last run of any recipe. Where the journal holds none of the run's lines\n"  \
                        "(not run under systemd, or not readable: run as root), prints what its run record\n"     \
                        "holds: outcome, duration, error, metrics.\n\n"                                           \
                        "  -r, --recipe NAME     runs of NAME\n"                                                  \
                        "  --last                only the last run\n"                                             \
                        "  --limit N             at most N runs of NAME (default 10)\n\n"                        \
                        "Examples:\n"                                                                             \
                        "  opsagent log --recipe zodb_pack --last\n"                                              \
                        "  opsagent log 8515cdb5\n",                                                              \
                .options = OPT_RECIPE | OPT_LAST | OPT_LIMIT,                                                 \
                .max_args = 1,                                                                               \
                .run = cmd_log,                                                                              \
        }

#endif
