/* ebs_snapshots volumes: selection and tags. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebs_volumes.h"

/* "/dev/xvdf1" -> "sdf"; "nvme1n1" stays. OUT has room for SIZE bytes. */
static void device_canon(const char *d, char *out, size_t size)
{
        size_t n;

        if (strncmp(d, "/dev/", 5) == 0)
                d += 5;
        if (strncmp(d, "xvd", 3) == 0)
                snprintf(out, size, "sd%s", d + 3);
        else
                snprintf(out, size, "%s", d);
        if (strncmp(out, "sd", 2) == 0) {
                n = strlen(out);
                while (n > 3 && isdigit((unsigned char)out[n - 1]))
                        out[--n] = '\0';
        }
}

bool ebs_device_equal(const char *a, const char *b)
{
        char x[64], y[64];

        if (!a || !b)
                return false;
        device_canon(a, x, sizeof x);
        device_canon(b, y, sizeof y);
        return x[0] && strcmp(x, y) == 0;
}

/* Does ENTRY (a device, an NVMe name or a volume id) name attachment A? */
static bool entry_matches(const char *entry, const struct opsagent_ec2_attachment *a,
                          const char *const *nvme_volumes)
{
        const char *name = strncmp(entry, "/dev/", 5) == 0 ? entry + 5 : entry;

        if (strncmp(entry, "vol-", 4) == 0)
                return a->volume_id && strcmp(entry, a->volume_id) == 0;
        if (strncmp(name, "nvme", 4) == 0) {
                for (const char *const *p = nvme_volumes; p && p[0] && p[1]; p += 2)
                        if (strcmp(p[0], name) == 0)
                                return a->volume_id && strcmp(p[1], a->volume_id) == 0;
                return false;
        }
        return ebs_device_equal(entry, a->device);
}

static const char *first_match(const char *const *list, size_t n, const struct opsagent_ec2_attachment *a,
                               const char *const *nvme_volumes)
{
        for (size_t i = 0; i < n; i++)
                if (entry_matches(list[i], a, nvme_volumes))
                        return list[i];
        return NULL;
}

int ebs_select_volumes(const struct ebs_config *c, const struct opsagent_ec2_instance *inst,
                       const char *const *nvme_volumes, struct ebs_target **ret, size_t *ret_n,
                       struct ebs_unmatched **ret_unmatched, size_t *ret_n_unmatched)
{
        struct ebs_target *t = NULL;
        struct ebs_unmatched *u = NULL;
        size_t n = inst->n_attachments, nu = 0;
        int r;

        if (n > 0) {
                t = calloc(n, sizeof *t);
                if (!t) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        for (size_t i = 0; i < n; i++) {
                const struct opsagent_ec2_attachment *a = &inst->attachments[i];
                const char *hit;

                t[i].device = a->device;
                t[i].volume_id = a->volume_id;
                t[i].is_root = a->is_root;
                if ((hit = first_match(c->exclude_devices, c->n_exclude_devices, a, nvme_volumes)))
                        snprintf(t[i].reason, sizeof t[i].reason, "excluded by exclude_devices (\"%s\")", hit);
                else if (a->is_root && !c->include_root)
                        snprintf(t[i].reason, sizeof t[i].reason, "root volume and include_root is false");
                else if (c->n_devices > 0 && !first_match(c->devices, c->n_devices, a, nvme_volumes))
                        snprintf(t[i].reason, sizeof t[i].reason, "not listed in devices");
                else if (a->status && strcmp(a->status, "attached") != 0)
                        snprintf(t[i].reason, sizeof t[i].reason, "attachment is %s, not attached", a->status);
                else if (!a->volume_id)
                        snprintf(t[i].reason, sizeof t[i].reason, "no volume id in the block-device mapping");
                else
                        t[i].selected = true;
        }
        for (size_t d = 0; d < c->n_devices; d++) {
                bool found = false;
                for (size_t i = 0; i < n && !found; i++)
                        found = entry_matches(c->devices[d], &inst->attachments[i], nvme_volumes);
                if (found)
                        continue;
                if (!u) {
                        u = calloc(c->n_devices, sizeof *u);
                        if (!u) {
                                r = -ENOMEM;
                                goto out;
                        }
                }
                u[nu++].entry = c->devices[d];
        }
        *ret = t;
        *ret_n = n;
        *ret_unmatched = u;
        *ret_n_unmatched = nu;
        t = NULL;
        u = NULL;
        r = 0;
out:
        free(t);
        free(u);
        return r;
}

static void add(struct ebs_tagset *set, const char *key, const char *value)
{
        if (set->n < EBS_TAGS_MAX) {
                set->tags[set->n].key = key;
                set->tags[set->n].value = value ? value : "";
                set->n++;
        }
}

void ebs_build_tags(const struct ebs_config *c, const char *instance_id, const char *hostname,
                    const char *device, const char *run_id, struct ebs_tagset *set)
{
        bool user_name = false;

        memset(set, 0, sizeof *set);
        for (size_t i = 0; i < c->n_tags; i++)
                if (strcmp(c->tags[i].key, "Name") == 0)
                        user_name = true;
        if (!user_name) {
                if (device)
                        snprintf(set->name, sizeof set->name, "%s %s", hostname ? hostname : "?", device);
                else
                        snprintf(set->name, sizeof set->name, "%s", hostname ? hostname : "?");
                add(set, "Name", set->name);
        }
        add(set, EBS_TAG_MANAGED, "true");
        add(set, EBS_TAG_INSTANCE, instance_id);
        if (device)
                add(set, EBS_TAG_DEVICE, device);
        add(set, EBS_TAG_HOSTNAME, hostname);
        if (run_id)
                add(set, EBS_TAG_RUN_ID, run_id);
        for (size_t i = 0; i < c->n_tags; i++)
                add(set, c->tags[i].key, c->tags[i].value);
}
