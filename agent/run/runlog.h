/* One run's lines, read back from the journal by their RUN_ID= field. (_SYSTEMD_UNIT is no
 * way to find them: a line whose process exited before journald read it has no unit.) */
#ifndef OPSAGENT_RUNLOG_H
#define OPSAGENT_RUNLOG_H

#include <stdint.h>

#define RUNLOG_LINES_MAX 100000    /* lines of one run read at most */

struct runlog_line {
        int64_t usec;              /* CLOCK_REALTIME of the entry */
        int priority;              /* syslog(3) priority; LOG_INFO when the entry has none */
        const char *message;       /* borrowed for the callback's duration */
};

/* Calls EACH for every journal entry with RUN_ID=RUN_ID, oldest first, from the system journal
 * or, when ROOT is not empty, from the journal files of the OS tree at ROOT (its
 * var/log/journal and run/log/journal). Returns how many entries it passed (0 when none: not
 * logged to the journal, or not readable by this user), or a negative errno when there is no
 * journal to read (-ENOENT) or it cannot be opened. */
int runlog_from_journal(const char *root, const char *run_id, void (*each)(void *userdata, const struct runlog_line *l),
                        void *userdata);

#endif
