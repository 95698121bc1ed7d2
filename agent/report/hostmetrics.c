#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hostmetrics.h"
#include "util/fileio.h"
#include "util/log.h"

/* Filesystem types that hold no data of the node's own, or whose fullness is meaningless
 * (squashfs images are always 100%), or which may hang statvfs() (network filesystems). */
static const char *const skipped_fstypes[] = {
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts",
        "devtmpfs", "devfs", "efivarfs", "fusectl", "hugetlbfs", "iso9660", "mqueue", "nsfs",
        "overlay", "aufs", "proc", "pstore", "ramfs", "rpc_pipefs", "securityfs", "selinuxfs",
        "squashfs", "sysfs", "tmpfs", "tracefs", "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal",
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "fuse.sshfs",
        "fuse.glusterfs", "fuse.s3fs", "afs", "lustre", "none",
};

int hostmetrics_fstype_is_real(const char *fstype)
{
        for (size_t i = 0; i < sizeof(skipped_fstypes) / sizeof(skipped_fstypes[0]); i++)
                if (strcmp(fstype, skipped_fstypes[i]) == 0)
                        return 0;
        return 1;
}

void hostmetrics_free(struct hostmetrics *h)
{
        if (!h)
                return;
        for (size_t i = 0; i < h->n; i++) {
                free(h->items[i].path);
                free(h->items[i].fstype);
        }
        free(h->items);
        h->items = NULL;
        h->n = 0;
}

/* Takes PATH and FSTYPE (NULL or malloc'ed) whatever happens. */
static int push(struct hostmetrics *h, size_t *alloc, const char *name, const char *unit,
                double value, char *path, char *fstype)
{
        if (!isfinite(value)) {
                free(path);
                free(fstype);
                return 0;
        }
        if (h->n == *alloc) {
                size_t na = *alloc ? *alloc * 2 : 16;
                struct hostmetric *p = reallocarray(h->items, na, sizeof(*p));

                if (!p) {
                        free(path);
                        free(fstype);
                        return -ENOMEM;
                }
                h->items = p;
                *alloc = na;
        }
        h->items[h->n++] = (struct hostmetric){ name, unit, value, path, fstype };
        return 0;
}

static int read_proc(const char *root, const char *rel, char **ret)
{
        char *p = path_under_root(root, rel);
        int r;

        if (!p)
                return -ENOMEM;
        r = read_file_capped(p, HOSTMETRICS_PROC_FILE_MAX, ret, NULL);
        if (r < 0 && r != -ENOMEM)
                log_warning_errno(r, "%s: cannot read host metrics: %s", p, strerror(-r));
        free(p);
        return r;
}

/* The value in kB of "KEY:" in /proc/meminfo text, or -1. */
static double meminfo_kb(const char *text, const char *key)
{
        size_t kl = strlen(key);

        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                if (strncmp(l, key, kl) == 0 && l[kl] == ':') {
                        char *end;
                        double v = strtod(l + kl + 1, &end);

                        return end == l + kl + 1 ? -1 : v;
                }
        }
        return -1;
}

static double percent(double used, double total)
{
        double p;

        if (!(total > 0))
                return 0;
        p = 100.0 * used / total;
        return p < 0 ? 0 : p > 100 ? 100 : p;
}

static int collect_memory(const char *root, struct hostmetrics *h, size_t *alloc)
{
        char *text = NULL;
        double total, freemem, buffers, cached, sreclaim, used, swap_total, swap_free;
        int r;

        r = read_proc(root, "/proc/meminfo", &text);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        total = meminfo_kb(text, "MemTotal");
        freemem = meminfo_kb(text, "MemFree");
        buffers = meminfo_kb(text, "Buffers");
        cached = meminfo_kb(text, "Cached");
        sreclaim = meminfo_kb(text, "SReclaimable");
        if (total > 0 && freemem >= 0) {
                /* As the CloudWatch agent (gopsutil): used = total - free - buffers - cached,
                 * where cached includes reclaimable slab. */
                used = total - freemem - (buffers > 0 ? buffers : 0) - (cached > 0 ? cached : 0) -
                       (sreclaim > 0 ? sreclaim : 0);
                if (used < 0)
                        used = total - freemem;
                r = push(h, alloc, "mem_used_percent", "Percent", percent(used, total), NULL, NULL);
                if (r < 0)
                        goto out;
        } else
                log_warning("%s/proc/meminfo: no MemTotal or MemFree; mem_used_percent not sent",
                            root ? root : "");
        swap_total = meminfo_kb(text, "SwapTotal");
        swap_free = meminfo_kb(text, "SwapFree");
        if (swap_total >= 0 && swap_free >= 0)
                r = push(h, alloc, "swap_used_percent", "Percent",
                         percent(swap_total - swap_free, swap_total), NULL, NULL);
        else
                r = 0;
out:
        free(text);
        return r;
}

static int collect_load(const char *root, struct hostmetrics *h, size_t *alloc)
{
        static const char *const names[] = { "system_load1", "system_load5", "system_load15" };
        char *text = NULL, *p, *end;
        int r;

        r = read_proc(root, "/proc/loadavg", &text);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        p = text;
        for (size_t i = 0; i < 3; i++) {
                double v = strtod(p, &end);

                if (end == p || v < 0) {
                        log_warning("%s/proc/loadavg: unexpected contents; load averages not sent",
                                    root ? root : "");
                        break;
                }
                r = push(h, alloc, names[i], "None", v, NULL, NULL);
                if (r < 0)
                        break;
                p = end;
        }
        free(text);
        return r;
}

/* Undoes the octal escapes of /proc/mounts fields (\040 for a space, ...) in place. */
static void unescape_mount_field(char *s)
{
        char *w = s;

        for (char *r = s; *r; r++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 3;
                } else
                        *w++ = *r;
        }
        *w = '\0';
}

static int collect_disks(const char *root, hostmetrics_statvfs_fn fn, struct hostmetrics *h, size_t *alloc)
{
        char *text = NULL, *save = NULL;
        size_t first = h->n, reported = 0;
        bool warned = false;
        int r;

        r = read_proc(root, "/proc/self/mounts", &text);
        if (r == -ENOENT)
                r = read_proc(root, "/proc/mounts", &text);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        r = 0;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *dev, *mnt, *type, *s2 = NULL, *full = NULL, *path = NULL, *fstype = NULL;
                struct statvfs st;
                double used, avail;
                size_t dup;

                dev = strtok_r(line, " \t", &s2);
                mnt = dev ? strtok_r(NULL, " \t", &s2) : NULL;
                type = mnt ? strtok_r(NULL, " \t", &s2) : NULL;
                if (!type)
                        continue;
                unescape_mount_field(mnt);
                if (!hostmetrics_fstype_is_real(type) || mnt[0] != '/' || strlen(mnt) > 255 ||
                    strlen(type) > 255)
                        continue;
                full = path_under_root(root, mnt);
                if (!full) {
                        r = -ENOMEM;
                        break;
                }
                if (fn(full, &st) < 0) {
                        log_warning("%s: statvfs failed: %m; no disk_used_percent for it", full);
                        free(full);
                        continue;
                }
                free(full);
                if (st.f_blocks == 0)
                        continue;
                /* As df and the CloudWatch agent: used / (used + available to users). */
                used = (double)(st.f_blocks - st.f_bfree) * (double)st.f_frsize;
                avail = (double)st.f_bavail * (double)st.f_frsize;
                /* A later mount on the same point hides the earlier one. */
                for (dup = first; dup < h->n; dup++)
                        if (strcmp(h->items[dup].path, mnt) == 0)
                                break;
                if (dup < h->n) {
                        h->items[dup].value = percent(used, used + avail);
                        free(h->items[dup].fstype);
                        h->items[dup].fstype = strdup(type);
                        if (!h->items[dup].fstype) {
                                r = -ENOMEM;
                                break;
                        }
                        continue;
                }
                if (reported >= HOSTMETRICS_MAX_FILESYSTEMS) {
                        if (!warned)
                                log_warning("more than %d filesystems mounted: disk_used_percent "
                                            "is sent for the first %d only",
                                            HOSTMETRICS_MAX_FILESYSTEMS, HOSTMETRICS_MAX_FILESYSTEMS);
                        warned = true;
                        continue;
                }
                path = strdup(mnt);
                fstype = strdup(type);
                if (!path || !fstype) {
                        free(path);
                        free(fstype);
                        r = -ENOMEM;
                        break;
                }
                r = push(h, alloc, "disk_used_percent", "Percent", percent(used, used + avail), path, fstype);
                if (r < 0)
                        break;
                reported++;
        }
        free(text);
        return r;
}

int hostmetrics_collect(const char *root, hostmetrics_statvfs_fn statvfs_fn, struct hostmetrics *ret)
{
        struct hostmetrics h = { NULL, 0 };
        size_t alloc = 0;
        int r;

        if (!statvfs_fn)
                statvfs_fn = statvfs;
        if (root && *root) {
                char *proc = path_join(root, "/proc");
                struct stat st;
                bool faked;

                if (!proc)
                        return -ENOMEM;
                faked = stat(proc, &st) == 0 && S_ISDIR(st.st_mode);
                free(proc);
                /* A root prefix without its own /proc (a sandbox, the demo) is still this
                 * machine: measure the machine. */
                if (!faked)
                        root = "";
        }
        r = collect_disks(root, statvfs_fn, &h, &alloc);
        if (r >= 0)
                r = collect_memory(root, &h, &alloc);
        if (r >= 0)
                r = collect_load(root, &h, &alloc);
        if (r < 0) {
                hostmetrics_free(&h);
                return r;
        }
        *ret = h;
        return 0;
}
