/* Host metrics for the heartbeat, named as the CloudWatch agent names them so that existing
 * dashboards and alarms apply: disk_used_percent per real mounted filesystem (dimensions
 * path and fstype), mem_used_percent, swap_used_percent, and the load averages
 * (system_load1/5/15, the agent's <measurement>_<field> form of Telegraf's system plugin).
 * Everything is read from ROOT/proc so tests can fake it; filesystems are measured with
 * statvfs(ROOT + mount point). */
#ifndef OPSAGENT_HOSTMETRICS_H
#define OPSAGENT_HOSTMETRICS_H

#include <stddef.h>
#include <sys/statvfs.h>

#include "util/error.h"

/* At most this many filesystems are reported (the rest are skipped with a warning). */
#define HOSTMETRICS_MAX_FILESYSTEMS 100
/* /proc files larger than this are not read. */
#define HOSTMETRICS_PROC_FILE_MAX (1U << 20)

struct hostmetric {
        const char *name;      /* static: "disk_used_percent", "mem_used_percent", ... */
        const char *unit;      /* static: "Percent" or "None" */
        double value;          /* finite */
        char *path;            /* disk_used_percent only: mount point, else NULL */
        char *fstype;          /* disk_used_percent only, else NULL */
};

struct hostmetrics {
        struct hostmetric *items;
        size_t n;
};

typedef int (*hostmetrics_statvfs_fn)(const char *path, struct statvfs *st);

/* Collects what can be read: a source that cannot be read (no swap line, an unreadable mount)
 * is skipped with a warning. Fills *ret (free with hostmetrics_free()); -ENOMEM only.
 * ROOT "" or NULL means "/"; so does a ROOT without a proc directory (a sandbox still runs
 * on this machine). STATVFS NULL means statvfs(3). */
int hostmetrics_collect(const char *root, hostmetrics_statvfs_fn statvfs_fn, struct hostmetrics *ret);
void hostmetrics_free(struct hostmetrics *h);

/* Whether FSTYPE is a real filesystem worth a disk_used_percent (not proc, tmpfs, overlay,
 * squashfs, a network filesystem, ...). */
int hostmetrics_fstype_is_real(const char *fstype);

#endif
