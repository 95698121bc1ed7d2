/* ebs_snapshots devmap: volume -> disk -> partitions and holders -> mountpoints. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ebs_devmap.h"
#include "util/pathres.h"

#define BYID_PREFIX "nvme-Amazon_Elastic_Block_Store_"

struct kdev {
        char name[NAME_MAX + 1];  /* "nvme1n1p1", "dm-0" */
        char dev[32];             /* "259:3" */
};

struct kdevs {
        struct kdev v[DEVMAP_DISKS_MAX];
        size_t n;
};

/* REL beneath the root ROOTFD, links followed but never out of it (sysfs is links). */
static FILE *open_under(int rootfd, const char *rel)
{
        int fd = pathres_open(rootfd, rel, O_RDONLY, 0, PATHRES_IN_ROOT);
        FILE *f;

        if (fd < 0) {
                errno = -fd;
                return NULL;
        }
        f = fdopen(fd, "re");
        if (!f)
                close(fd);
        return f;
}

static DIR *opendir_under(int rootfd, const char *rel)
{
        int fd = pathres_open(rootfd, rel, O_RDONLY | O_DIRECTORY, 0, PATHRES_IN_ROOT);
        DIR *d;

        if (fd < 0) {
                errno = -fd;
                return NULL;
        }
        d = fdopendir(fd);
        if (!d)
                close(fd);
        return d;
}

/* Reads the first line of ROOT/REL into BUF, without surrounding blanks. */
static int read_line(int rootfd, const char *rel, char *buf, size_t size)
{
        FILE *f;
        size_t len, start = 0;
        int r = 0;

        f = open_under(rootfd, rel);
        if (!f)
                return -errno;
        if (!fgets(buf, (int)size, f)) {
                r = ferror(f) ? -EIO : -ENODATA;
                goto out;
        }
        len = strlen(buf);
        while (len > 0 && isspace((unsigned char)buf[len - 1]))
                buf[--len] = '\0';
        while (isspace((unsigned char)buf[start]))
                start++;
        memmove(buf, buf + start, len - start + 1);
out:
        fclose(f);
        return r;
}

/* "vol-0123" -> "vol0123", the form in NVMe serials and by-id names. */
static void volume_compact(const char *volume_id, char *buf, size_t size)
{
        if (strncmp(volume_id, "vol-", 4) == 0)
                snprintf(buf, size, "vol%s", volume_id + 4);
        else
                snprintf(buf, size, "%s", volume_id);
}

static bool sys_block_exists(int rootfd, const char *name)
{
        char path[PATH_MAX];
        struct stat st;

        if ((size_t)snprintf(path, sizeof path, "/sys/block/%s", name) >= sizeof path)
                return false;
        return pathres_stat(rootfd, path, &st, PATHRES_IN_ROOT) == 0;
}

/* readlink(2) of REL (its last component not followed) beneath ROOTFD. */
static ssize_t readlink_under(int rootfd, const char *rel, char *buf, size_t size)
{
        char *name = NULL;
        int pfd, r;
        ssize_t n;

        r = pathres_parent(rootfd, rel, PATHRES_IN_ROOT, &pfd, &name);
        if (r < 0)
                return r;
        n = readlinkat(pfd, name, buf, size);
        if (n < 0)
                n = -errno;
        close(pfd);
        free(name);
        return n;
}

static bool valid_name(const char *s)
{
        return s[0] && s[0] != '.' && !strchr(s, '/') && strlen(s) <= NAME_MAX;
}

int devmap_volume_of_nvme(int root, const char *kname, char *buf, size_t size)
{
        char rel[PATH_MAX], serial[128];
        int r;

        if (!valid_name(kname))
                return -EINVAL;
        snprintf(rel, sizeof rel, "/sys/block/%s/device/serial", kname);
        r = read_line(root, rel, serial, sizeof serial);
        if (r < 0)
                return -ENOENT;
        if (strncmp(serial, "vol-", 4) == 0)
                snprintf(buf, size, "%s", serial);
        else if (strncmp(serial, "vol", 3) == 0 && serial[3])
                snprintf(buf, size, "vol-%s", serial + 3);
        else
                return -ENOENT;
        return 0;
}

int devmap_disk_of_volume(int root, const char *device, const char *volume_id, char *buf, size_t size)
{
        char compact[128], path[PATH_MAX], target[PATH_MAX], name[NAME_MAX + 1];
        ssize_t len;
        DIR *d;
        struct dirent *e;

        if (volume_id) {
                /* 1. udev's by-id link (Nitro) */
                volume_compact(volume_id, compact, sizeof compact);
                if ((size_t)snprintf(path, sizeof path, "/dev/disk/by-id/" BYID_PREFIX "%s", compact) < sizeof path) {
                        len = readlink_under(root, path, target, sizeof target - 1);
                        if (len > 0) {
                                const char *base;
                                target[len] = '\0';
                                base = strrchr(target, '/');
                                base = base ? base + 1 : target;
                                if (valid_name(base) && sys_block_exists(root, base)) {
                                        snprintf(buf, size, "%s", base);
                                        return 0;
                                }
                        }
                }
                /* 2. the NVMe controller's serial number is the volume id */
                d = opendir_under(root, "/sys/block");
                if (d) {
                        bool found = false;
                        while (!found && (e = readdir(d))) {
                                char vol[128];
                                if (strncmp(e->d_name, "nvme", 4) != 0)
                                        continue;
                                if (devmap_volume_of_nvme(root, e->d_name, vol, sizeof vol) == 0 &&
                                    strcmp(vol, volume_id) == 0) {
                                        snprintf(buf, size, "%s", e->d_name);
                                        found = true;
                                }
                        }
                        closedir(d);
                        if (found)
                                return 0;
                }
        }
        /* 3. Xen names: the mapping's /dev/sdf is the kernel's xvdf (or sdf) */
        if (device) {
                const char *n = strncmp(device, "/dev/", 5) == 0 ? device + 5 : device;
                const char *rest = strncmp(n, "xvd", 3) == 0 ? n + 3 : strncmp(n, "sd", 2) == 0 ? n + 2 : NULL;
                size_t l;

                if (!rest)
                        return -ENOENT;
                for (int pass = 0; pass < 2; pass++) {
                        snprintf(name, sizeof name, "%s%s", pass == 0 ? "xvd" : "sd", rest);
                        l = strlen(name);
                        while (l > 0 && isdigit((unsigned char)name[l - 1]))
                                name[--l] = '\0'; /* "/dev/sda1" in the mapping is the disk xvda */
                        if (valid_name(name) && sys_block_exists(root, name)) {
                                snprintf(buf, size, "%s", name);
                                return 0;
                        }
                }
        }
        return -ENOENT;
}

static int kdevs_add(int root, struct kdevs *k, const char *sysrel, const char *name)
{
        char rel[PATH_MAX];

        if (k->n >= DEVMAP_DISKS_MAX)
                return -E2BIG;
        for (size_t i = 0; i < k->n; i++)
                if (strcmp(k->v[i].name, name) == 0)
                        return 0;
        snprintf(k->v[k->n].name, sizeof k->v[0].name, "%s", name);
        snprintf(rel, sizeof rel, "%s/dev", sysrel);
        if (read_line(root, rel, k->v[k->n].dev, sizeof k->v[0].dev) < 0)
                k->v[k->n].dev[0] = '\0';
        k->n++;
        return 0;
}

/* Adds what is stacked on SYSREL (its holders/: dm-0, md0), recursively. */
static int add_holders(int root, struct kdevs *k, const char *sysrel, int depth)
{
        char path[PATH_MAX];
        DIR *d;
        struct dirent *e;
        int r = 0;

        if (depth > DEVMAP_HOLDER_DEPTH)
                return 0;
        if ((size_t)snprintf(path, sizeof path, "%s/holders", sysrel) >= sizeof path)
                return -ENAMETOOLONG;
        d = opendir_under(root, path);
        if (!d)
                return 0;
        while (r >= 0 && (e = readdir(d))) {
                char rel[PATH_MAX];
                if (!valid_name(e->d_name))
                        continue;
                snprintf(rel, sizeof rel, "/sys/block/%s", e->d_name);
                r = kdevs_add(root, k, rel, e->d_name);
                if (r >= 0)
                        r = add_holders(root, k, rel, depth + 1);
        }
        closedir(d);
        return r;
}

/* The disk, its partitions (ROOT/sys/block/DISK/DISK*), and their holders. */
static int collect(int root, const char *disk, struct kdevs *k)
{
        char rel[PATH_MAX];
        DIR *d;
        struct dirent *e;
        int r;

        snprintf(rel, sizeof rel, "/sys/block/%s", disk);
        r = kdevs_add(root, k, rel, disk);
        if (r >= 0)
                r = add_holders(root, k, rel, 1);
        if (r < 0)
                return r;
        d = opendir_under(root, rel);
        if (!d)
                return 0;
        while (r >= 0 && (e = readdir(d))) {
                char prel[PATH_MAX];
                if (!valid_name(e->d_name) || strncmp(e->d_name, disk, strlen(disk)) != 0 ||
                    strcmp(e->d_name, disk) == 0)
                        continue;
                if ((size_t)snprintf(prel, sizeof prel, "%s/%s", rel, e->d_name) >= sizeof prel)
                        continue;
                r = kdevs_add(root, k, prel, e->d_name);
                if (r >= 0)
                        r = add_holders(root, k, prel, 1);
        }
        closedir(d);
        return r;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. In place. */
static void unescape(char *s)
{
        char *w = s;

        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
                    p[3] <= '7') {
                        *w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 3;
                } else {
                        *w++ = *p;
                }
        }
        *w = '\0';
}

static bool source_matches(const struct kdevs *k, const char *source)
{
        const char *base;

        if (strncmp(source, "/dev/", 5) != 0)
                return false;
        base = strrchr(source, '/') + 1;
        for (size_t i = 0; i < k->n; i++)
                if (strcmp(k->v[i].name, base) == 0)
                        return true;
        return false;
}

static bool dev_matches(const struct kdevs *k, const char *dev)
{
        for (size_t i = 0; i < k->n; i++)
                if (k->v[i].dev[0] && strcmp(k->v[i].dev, dev) == 0)
                        return true;
        return false;
}

static int strv_push(char ***v, size_t *n, const char *s)
{
        char **nv;
        char *copy;

        for (size_t i = 0; i < *n; i++)
                if (strcmp((*v)[i], s) == 0)
                        return 0;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        nv = realloc(*v, (*n + 2) * sizeof *nv);
        if (!nv) {
                free(copy);
                return -ENOMEM;
        }
        nv[(*n)++] = copy;
        nv[*n] = NULL;
        *v = nv;
        return 0;
}

void devmap_strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

int devmap_mountpoints(int root, const char *device, const char *volume_id, char ***ret)
{
        static struct kdevs empty;
        struct kdevs *k = NULL;
        char disk[NAME_MAX + 1];
        char *line = NULL, **out = NULL;
        size_t cap = 0, n = 0, lines = 0;
        FILE *f = NULL;
        int r;

        r = devmap_disk_of_volume(root, device, volume_id, disk, sizeof disk);
        if (r < 0)
                goto out;
        k = malloc(sizeof *k);
        if (!k) {
                r = -ENOMEM;
                goto out;
        }
        *k = empty;
        r = collect(root, disk, k);
        if (r < 0)
                goto out;
        f = open_under(root, "/proc/self/mountinfo");
        if (!f) {
                r = -errno;
                goto out;
        }
        out = calloc(1, sizeof *out);
        if (!out) {
                r = -ENOMEM;
                goto out;
        }
        while (getline(&line, &cap, f) > 0) {
                char *field[6] = { 0 }, *save = NULL, *tok, *source = NULL;
                int nf = 0;
                bool after_sep = false;

                if (++lines > DEVMAP_MOUNTS_MAX) {
                        r = -E2BIG;
                        goto out;
                }
                if (strlen(line) > DEVMAP_LINE_MAX)
                        continue;
                /* id parent maj:min root mountpoint options [optional...] - fstype source superopts */
                for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
                        if (nf < 6) {
                                field[nf++] = tok;
                                continue;
                        }
                        if (!after_sep) {
                                after_sep = strcmp(tok, "-") == 0;
                                continue;
                        }
                        /* fstype, then source */
                        tok = strtok_r(NULL, " \n", &save);
                        source = tok;
                        break;
                }
                if (nf < 6 || strcmp(field[3], "/") != 0) /* bind mounts of a subtree: same fs */
                        continue;
                if (source)
                        unescape(source);
                if (!dev_matches(k, field[2]) && !(source && source_matches(k, source)))
                        continue;
                unescape(field[4]);
                r = strv_push(&out, &n, field[4]);
                if (r < 0)
                        goto out;
        }
        if (ferror(f)) {
                r = -EIO;
                goto out;
        }
        *ret = out;
        out = NULL;
        r = 0;
out:
        if (f)
                fclose(f);
        free(line);
        free(k);
        devmap_strv_free(out);
        return r;
}
