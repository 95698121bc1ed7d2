/* ebs_snapshots configuration: defaults, schema and the typed view of the attributes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebs_settings.h"

const char ebs_defaults_json[] =
        "{"
        "\"keep\": 15,"
        "\"max_age_days\": null,"
        "\"tiers\": null,"
        "\"devices\": [],"
        "\"exclude_devices\": [],"
        "\"include_root\": true,"
        "\"tags\": {},"
        "\"description\": \"%h: automated snapshot of %d (%v)\","
        "\"mode\": \"per-volume\","
        "\"skip_pending\": true,"
        "\"freeze\": {\"enable\": false, \"mountpoints\": [], \"timeout_seconds\": 10},"
        "\"aws_key\": null,"
        "\"aws_secret\": null"
        "}";

const char ebs_schema_json[] =
        "{"
        "\"type\": \"object\","
        "\"additionalProperties\": false,"
        "\"properties\": {"
        " \"keep\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 10000,"
        "  \"description\": \"how many snapshots of each volume to keep, tonight's included\"},"
        " \"max_age_days\": {\"type\": [\"integer\", \"null\"], \"minimum\": 1, \"maximum\": 36500,"
        "  \"description\": \"instead of keep: delete snapshots older than this many days\"},"
        " \"tiers\": {\"type\": [\"object\", \"null\"], \"additionalProperties\": false,"
        "  \"description\": \"instead of keep: the newest snapshot of each of the last N days, ISO weeks, months\","
        "  \"properties\": {"
        "   \"daily\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 1000},"
        "   \"weekly\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 1000},"
        "   \"monthly\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 1000}}},"
        " \"devices\": {\"type\": \"array\", \"items\": {\"type\": \"string\"},"
        "  \"description\": \"devices (/dev/sdf, xvdf, nvme1n1) or volume ids to snapshot; empty: all\"},"
        " \"exclude_devices\": {\"type\": \"array\", \"items\": {\"type\": \"string\"},"
        "  \"description\": \"devices or volume ids never to snapshot\"},"
        " \"include_root\": {\"type\": \"boolean\", \"description\": \"snapshot the root volume too\"},"
        " \"tags\": {\"type\": \"object\", \"additionalProperties\": {\"type\": \"string\"},"
        "  \"description\": \"extra tags on every snapshot\"},"
        " \"description\": {\"type\": \"string\","
        "  \"description\": \"snapshot description: %h hostname, %d device, %v volume id, %i instance id\"},"
        " \"mode\": {\"type\": \"string\", \"enum\": [\"per-volume\", \"multi-volume\"],"
        "  \"description\": \"one CreateSnapshot per volume, or one crash-consistent CreateSnapshots\"},"
        " \"skip_pending\": {\"type\": \"boolean\","
        "  \"description\": \"skip a volume whose previous snapshot is still pending\"},"
        " \"freeze\": {\"type\": \"object\", \"additionalProperties\": false, \"properties\": {"
        "   \"enable\": {\"type\": \"boolean\", \"description\": \"fsfreeze the volumes' filesystems while snapshotting\"},"
        "   \"mountpoints\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"format\": \"path\"},"
        "    \"description\": \"mountpoints to freeze; empty: those on the selected volumes\"},"
        "   \"timeout_seconds\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 300,"
        "    \"description\": \"thaw after this long whatever happens\"}}},"
        " \"aws_key\": {\"type\": [\"string\", \"null\"], \"description\": \"access key id of an IAM user for the snapshots\"},"
        " \"aws_secret\": {\"type\": [\"string\", \"null\"], \"description\": \"its secret access key\"}"
        "}}";

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;

        if (err && errlen) {
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

static json_object *get(json_object *o, const char *key)
{
        json_object *v = NULL;

        if (!o || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v; /* NULL for JSON null too */
}

static int get_uint(json_object *root, const char *key, const char *name, unsigned min, unsigned max,
                    unsigned *ret, bool *ret_set, char *err, size_t errlen)
{
        json_object *v = get(root, key);
        int64_t x;

        if (!v) {
                *ret_set = false;
                return 0;
        }
        if (!json_object_is_type(v, json_type_int))
                return fail(err, errlen, "ebs_snapshots.%s: must be an integer", name);
        x = json_object_get_int64(v);
        if (x < (int64_t)min || x > (int64_t)max)
                return fail(err, errlen, "ebs_snapshots.%s: %lld is out of range (%u to %u)", name,
                            (long long)x, min, max);
        *ret = (unsigned)x;
        *ret_set = true;
        return 0;
}

static int get_strings(json_object *root, const char *key, const char *name, const char ***ret,
                       size_t *ret_n, char *err, size_t errlen)
{
        json_object *v = get(root, key);
        const char **list = NULL;
        size_t n;

        *ret = NULL;
        *ret_n = 0;
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_array))
                return fail(err, errlen, "ebs_snapshots.%s: must be an array of strings", name);
        n = json_object_array_length(v);
        if (n > EBS_DEVICES_MAX)
                return fail(err, errlen, "ebs_snapshots.%s: %zu entries, at most %d", name, n, EBS_DEVICES_MAX);
        if (n == 0)
                return 0;
        list = calloc(n, sizeof *list);
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (!e || !json_object_is_type(e, json_type_string) || json_object_get_string_len(e) == 0) {
                        free(list);
                        return fail(err, errlen, "ebs_snapshots.%s[%zu]: must be a non-empty string", name, i);
                }
                list[i] = json_object_get_string(e);
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

static bool reserved_key(const char *k)
{
        return strncmp(k, "opsagent:", 9) == 0 || strncasecmp(k, "aws:", 4) == 0;
}

static int get_tags(json_object *root, struct ebs_config *c, char *err, size_t errlen)
{
        json_object *v = get(root, "tags");
        size_t n, i = 0;

        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_object))
                return fail(err, errlen, "ebs_snapshots.tags: must be an object of strings");
        n = (size_t)json_object_object_length(v);
        if (n > EBS_USER_TAGS_MAX)
                return fail(err, errlen, "ebs_snapshots.tags: %zu tags, at most %d (AWS allows %d per snapshot "
                            "and opsagent sets %d)", n, EBS_USER_TAGS_MAX, EBS_TAGS_MAX, EBS_OWN_TAGS);
        if (n == 0)
                return 0;
        c->tags = calloc(n, sizeof *c->tags);
        if (!c->tags)
                return -ENOMEM;
        json_object_object_foreach(v, key, val) {
                if (!json_object_is_type(val, json_type_string))
                        return fail(err, errlen, "ebs_snapshots.tags.%s: must be a string", key);
                if (key[0] == '\0' || strlen(key) > EBS_TAG_KEY_MAX)
                        return fail(err, errlen, "ebs_snapshots.tags: key \"%.40s\" must be 1 to %d bytes",
                                    key, EBS_TAG_KEY_MAX);
                if (reserved_key(key))
                        return fail(err, errlen, "ebs_snapshots.tags.%s: keys starting with \"opsagent:\" or "
                                    "\"aws:\" are reserved; rename it", key);
                if (json_object_get_string_len(val) > EBS_TAG_VALUE_MAX)
                        return fail(err, errlen, "ebs_snapshots.tags.%s: value longer than %d bytes", key,
                                    EBS_TAG_VALUE_MAX);
                c->tags[i].key = key;
                c->tags[i].value = json_object_get_string(val);
                i++;
        }
        c->n_tags = i;
        return 0;
}

int ebs_config_parse(json_object *root, struct ebs_config *ret, char *err, size_t errlen)
{
        struct ebs_config c = { 0 };
        json_object *v, *tiers, *fr;
        char probe[EBS_DESCRIPTION_MAX + 2];
        bool set, age_set;
        unsigned x;
        int r;

        if (!root || !json_object_is_type(root, json_type_object)) {
                r = fail(err, errlen, "ebs_snapshots: attributes must be an object");
                goto out;
        }

        c.policy.kind = RETENTION_KEEP_NEWEST;
        c.policy.keep = 15;
        r = get_uint(root, "keep", "keep", 1, RETENTION_KEEP_MAX, &x, &set, err, errlen);
        if (r < 0)
                goto out;
        if (set)
                c.policy.keep = x;
        r = get_uint(root, "max_age_days", "max_age_days", 1, RETENTION_MAX_AGE_DAYS_MAX,
                     &c.policy.max_age_days, &age_set, err, errlen);
        if (r < 0)
                goto out;
        tiers = get(root, "tiers");
        if (tiers && age_set) {
                r = fail(err, errlen, "ebs_snapshots: set either tiers or max_age_days, not both "
                         "(set the other to null)");
                goto out;
        }
        if (tiers) {
                if (!json_object_is_type(tiers, json_type_object)) {
                        r = fail(err, errlen, "ebs_snapshots.tiers: must be an object like "
                                 "{\"daily\": 7, \"weekly\": 4, \"monthly\": 6}, or null");
                        goto out;
                }
                c.policy.kind = RETENTION_TIERS;
                r = get_uint(tiers, "daily", "tiers.daily", 0, RETENTION_TIER_MAX, &c.policy.daily, &set, err, errlen);
                if (r >= 0)
                        r = get_uint(tiers, "weekly", "tiers.weekly", 0, RETENTION_TIER_MAX, &c.policy.weekly,
                                     &set, err, errlen);
                if (r >= 0)
                        r = get_uint(tiers, "monthly", "tiers.monthly", 0, RETENTION_TIER_MAX, &c.policy.monthly,
                                     &set, err, errlen);
                if (r < 0)
                        goto out;
                if (c.policy.daily + c.policy.weekly + c.policy.monthly == 0) {
                        r = fail(err, errlen, "ebs_snapshots.tiers: keeps nothing; set daily, weekly or monthly "
                                 "above 0");
                        goto out;
                }
        } else if (age_set) {
                c.policy.kind = RETENTION_MAX_AGE;
        }

        r = get_strings(root, "devices", "devices", &c.devices, &c.n_devices, err, errlen);
        if (r < 0)
                goto out;
        r = get_strings(root, "exclude_devices", "exclude_devices", &c.exclude_devices, &c.n_exclude_devices,
                        err, errlen);
        if (r < 0)
                goto out;
        v = get(root, "include_root");
        c.include_root = v ? json_object_get_boolean(v) : true;
        r = get_tags(root, &c, err, errlen);
        if (r < 0)
                goto out;

        v = get(root, "description");
        c.description = v && json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                                       : "%h: automated snapshot of %d (%v)";
        if (strlen(c.description) > EBS_DESCRIPTION_FMT_MAX) {
                r = fail(err, errlen, "ebs_snapshots.description: longer than %d bytes (AWS keeps %d)",
                         EBS_DESCRIPTION_FMT_MAX, EBS_DESCRIPTION_MAX);
                goto out;
        }
        r = ebs_format_description(c.description, "h", "d", "v", "i", probe, sizeof probe);
        if (r == -EINVAL) {
                r = fail(err, errlen, "ebs_snapshots.description: \"%s\" has an unknown %%-escape; use %%h "
                         "(hostname), %%d (device), %%v (volume id), %%i (instance id) or %%%% (a %%)",
                         c.description);
                goto out;
        }

        v = get(root, "mode");
        if (!v || strcmp(json_object_get_string(v), "per-volume") == 0)
                c.mode = EBS_MODE_PER_VOLUME;
        else if (strcmp(json_object_get_string(v), "multi-volume") == 0)
                c.mode = EBS_MODE_MULTI_VOLUME;
        else {
                r = fail(err, errlen, "ebs_snapshots.mode: \"%s\" is neither \"per-volume\" nor \"multi-volume\"",
                         json_object_get_string(v));
                goto out;
        }
        v = get(root, "skip_pending");
        c.skip_pending = v ? json_object_get_boolean(v) : true;

        fr = get(root, "freeze");
        c.freeze_timeout_seconds = 10;
        if (fr) {
                v = get(fr, "enable");
                c.freeze = v ? json_object_get_boolean(v) : false;
                r = get_strings(fr, "mountpoints", "freeze.mountpoints", &c.freeze_mountpoints,
                                &c.n_freeze_mountpoints, err, errlen);
                if (r < 0)
                        goto out;
                for (size_t i = 0; i < c.n_freeze_mountpoints; i++)
                        if (c.freeze_mountpoints[i][0] != '/') {
                                r = fail(err, errlen, "ebs_snapshots.freeze.mountpoints[%zu]: \"%s\" must be an "
                                         "absolute path", i, c.freeze_mountpoints[i]);
                                goto out;
                        }
                r = get_uint(fr, "timeout_seconds", "freeze.timeout_seconds", 1, EBS_FREEZE_TIMEOUT_MAX, &x,
                             &set, err, errlen);
                if (r < 0)
                        goto out;
                if (set)
                        c.freeze_timeout_seconds = x;
        }

        *ret = c;
        memset(&c, 0, sizeof c);
        r = 0;
out:
        ebs_config_free(&c);
        return r;
}

void ebs_config_free(struct ebs_config *c)
{
        if (!c)
                return;
        free(c->devices);
        free(c->exclude_devices);
        free(c->tags);
        free(c->freeze_mountpoints);
        memset(c, 0, sizeof *c);
}

/* Appends what fits of S to BUF (at most CAP bytes of text in all). */
static void put(char *buf, size_t cap, size_t *len, const char *s)
{
        size_t n = strlen(s);

        if (n > cap - *len)
                n = cap - *len;
        memcpy(buf + *len, s, n);
        *len += n;
        buf[*len] = '\0';
}

int ebs_format_description(const char *fmt, const char *hostname, const char *device,
                           const char *volume_id, const char *instance_id, char *buf, size_t size)
{
        /* one byte more than AWS keeps, to see whether the cut falls inside a UTF-8 sequence */
        const size_t cap = EBS_DESCRIPTION_MAX + 1;
        size_t len = 0;

        if (!buf || size < cap + 1)
                return -ENOBUFS;
        buf[0] = '\0';
        for (const char *p = fmt; *p; p++) {
                char lit[2] = { *p, 0 };
                const char *s = lit;

                if (*p == '%') {
                        switch (p[1]) {
                        case 'h': s = hostname ? hostname : "unknown-host"; break;
                        case 'd': s = device ? device : "unknown-device"; break;
                        case 'v': s = volume_id ? volume_id : "unknown-volume"; break;
                        case 'i': s = instance_id ? instance_id : "unknown-instance"; break;
                        case '%': s = "%"; break;
                        default: return -EINVAL;
                        }
                        p++;
                }
                put(buf, cap, &len, s);
        }
        if (len > EBS_DESCRIPTION_MAX) {
                len = EBS_DESCRIPTION_MAX;
                while (len > 0 && ((unsigned char)buf[len] & 0xC0) == 0x80)
                        len--; /* buf[len] continues a sequence: cut before its start */
                buf[len] = '\0';
        }
        return 0;
}
