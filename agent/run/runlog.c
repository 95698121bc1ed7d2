#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "runlog.h"

/* The value of FIELD in the current entry, NUL-terminated into BUF; false when absent. */
static bool field(sd_journal *j, const char *name, char *buf, size_t size)
{
        const void *data;
        size_t len, nl = strlen(name);

        if (sd_journal_get_data(j, name, &data, &len) < 0 || len <= nl + 1)
                return false;
        len -= nl + 1;
        if (len >= size)
                len = size - 1;
        memcpy(buf, (const char *)data + nl + 1, len);
        buf[len] = '\0';
        return true;
}

int runlog_from_journal(const char *root, const char *run_id, void (*each)(void *userdata, const struct runlog_line *l),
                        void *userdata)
{
        sd_journal *j = NULL;
        char *match = NULL;
        int n = 0, r;

        if (root && *root)
                r = sd_journal_open_directory(&j, root, SD_JOURNAL_OS_ROOT);
        else
                r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return r;
        if (asprintf(&match, "RUN_ID=%s", run_id) < 0) {
                match = NULL;
                r = -ENOMEM;
                goto out;
        }
        r = sd_journal_add_match(j, match, 0);
        if (r < 0)
                goto out;
        SD_JOURNAL_FOREACH(j) {
                char prio[8], *msg = NULL;
                struct runlog_line l = { .priority = LOG_INFO };
                uint64_t usec = 0;
                const void *data;
                size_t len;

                if (n >= RUNLOG_LINES_MAX)
                        break;
                if (sd_journal_get_data(j, "MESSAGE", &data, &len) < 0 || len < 8)
                        continue;
                msg = strndup((const char *)data + 8, len - 8);
                if (!msg) {
                        r = -ENOMEM;
                        goto out;
                }
                if (sd_journal_get_realtime_usec(j, &usec) >= 0)
                        l.usec = (int64_t)usec;
                if (field(j, "PRIORITY", prio, sizeof(prio)))
                        l.priority = atoi(prio);
                l.message = msg;
                each(userdata, &l);
                free(msg);
                n++;
        }
        r = n;
out:
        free(match);
        sd_journal_close(j);
        return r;
}
