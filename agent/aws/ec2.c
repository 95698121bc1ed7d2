#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "awserror.h"
#include "ec2.h"
#include "imds.h"
#include "query.h"
#include "xml.h"
#include "util/log.h"
#include "util/timeutil.h"

static void set_local_error(struct aws_session *s, const char *op, int r, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void set_local_error(struct aws_session *s, const char *op, int r, const char *fmt, ...)
{
        va_list ap;

        memset(&s->last_error, 0, sizeof(s->last_error));
        snprintf(s->last_error.operation, sizeof(s->last_error.operation), "%s", op);
        snprintf(s->last_error.code, sizeof(s->last_error.code), "%s", r == -ENOMEM ? "OutOfMemory" : "ClientError");
        va_start(ap, fmt);
        vsnprintf(s->last_error.message, sizeof(s->last_error.message), fmt, ap);
        va_end(ap);
}

/* strdup of a possibly missing text; *ok cleared on ENOMEM. */
static char *dup_text(const struct xml_node *n, const char *path, bool *ok)
{
        const char *t = xml_path_text(n, path);
        char *d;

        if (!t)
                return NULL;
        d = strdup(t);
        if (!d)
                *ok = false;
        return d;
}

static int64_t int_text(const struct xml_node *n, const char *path)
{
        const char *t = xml_path_text(n, path);

        return t ? strtoll(t, NULL, 10) : 0;
}

static void tags_free(struct opsagent_ec2_tag *t, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(t[i].key);
                free(t[i].value);
        }
        free(t);
}

static int parse_tags(const struct xml_node *item, struct opsagent_ec2_tag **ret, size_t *ret_n)
{
        struct xml_node *set = xml_child(item, "tagSet"), *t;
        struct opsagent_ec2_tag *tags = NULL;
        size_t n = 0, cap = 0;
        bool ok = true;

        for (t = set ? xml_child(set, "item") : NULL; t; t = xml_next_named(t)) {
                if (n == cap) {
                        size_t nc = cap ? cap * 2 : 4;
                        struct opsagent_ec2_tag *nt = realloc(tags, nc * sizeof(*nt));

                        if (!nt) {
                                tags_free(tags, n);
                                return -ENOMEM;
                        }
                        tags = nt;
                        cap = nc;
                }
                tags[n].key = dup_text(t, "key", &ok);
                tags[n].value = dup_text(t, "value", &ok);
                n++;
                if (!ok) {
                        tags_free(tags, n);
                        return -ENOMEM;
                }
        }
        *ret = tags;
        *ret_n = n;
        return 0;
}

int ec2_self_instance_id(struct aws_session *s, const char **ret)
{
        struct error err = ERROR_INIT;
        struct imds *m;
        char *id = NULL;
        int r;

        if (s->instance_id) {
                *ret = s->instance_id;
                return 0;
        }
        m = aws_session_imds(s, &err);
        if (!m) {
                set_local_error(s, "DescribeInstances", -ENXIO,
                                "this instance's id is unknown: set the attribute aws.instance_id "
                                "(instance metadata is disabled)");
                return -ENXIO;
        }
        r = imds_get(m, "/latest/meta-data/instance-id", &id, &err);
        if (r < 0) {
                set_local_error(s, "DescribeInstances", r, "%s",
                                err.msg[0] ? err.msg : "cannot read the instance id from instance metadata");
                return r;
        }
        id[strcspn(id, "\r\n")] = '\0';
        s->instance_id = id;
        *ret = id;
        return 0;
}

/* ---- DescribeInstances ------------------------------------------------------------------ */

void ec2_instance_free(struct opsagent_ec2_instance *i)
{
        if (!i)
                return;
        free(i->instance_id);
        free(i->root_device_name);
        free(i->availability_zone);
        free(i->instance_type);
        for (size_t k = 0; k < i->n_attachments; k++) {
                free(i->attachments[k].device);
                free(i->attachments[k].volume_id);
                free(i->attachments[k].status);
        }
        free(i->attachments);
        tags_free(i->tags, i->n_tags);
        free(i);
}

static int parse_instance(const struct xml_node *it, struct opsagent_ec2_instance **ret)
{
        struct opsagent_ec2_instance *i = calloc(1, sizeof(*i));
        struct xml_node *bdm, *m;
        bool ok = true;
        size_t n = 0;
        int r;

        if (!i)
                return -ENOMEM;
        i->instance_id = dup_text(it, "instanceId", &ok);
        i->root_device_name = dup_text(it, "rootDeviceName", &ok);
        i->availability_zone = dup_text(it, "placement/availabilityZone", &ok);
        i->instance_type = dup_text(it, "instanceType", &ok);
        if (!ok) {
                r = -ENOMEM;
                goto fail;
        }
        bdm = xml_child(it, "blockDeviceMapping");
        for (m = bdm ? xml_child(bdm, "item") : NULL; m; m = xml_next_named(m))
                if (xml_child(m, "ebs"))
                        n++;
        if (n > 0) {
                i->attachments = calloc(n, sizeof(*i->attachments));
                if (!i->attachments) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        for (m = bdm ? xml_child(bdm, "item") : NULL; m; m = xml_next_named(m)) {
                struct opsagent_ec2_attachment *a;
                const char *dot;

                if (!xml_child(m, "ebs"))
                        continue;
                a = &i->attachments[i->n_attachments++];
                a->device = dup_text(m, "deviceName", &ok);
                a->volume_id = dup_text(m, "ebs/volumeId", &ok);
                a->status = dup_text(m, "ebs/status", &ok);
                dot = xml_path_text(m, "ebs/deleteOnTermination");
                a->delete_on_termination = dot && strcmp(dot, "true") == 0;
                a->is_root = a->device && i->root_device_name && strcmp(a->device, i->root_device_name) == 0;
                if (!ok) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        r = parse_tags(it, &i->tags, &i->n_tags);
        if (r < 0)
                goto fail;
        *ret = i;
        return 0;
fail:
        ec2_instance_free(i);
        return r;
}

int ec2_parse_instance_response(const struct xml_node *doc, struct opsagent_ec2_instance **ret)
{
        struct xml_node *it = xml_path(doc, "reservationSet/item/instancesSet/item");

        return it ? parse_instance(it, ret) : -ENOENT;
}

int ec2_describe_instance(struct aws_session *s, const char *instance_id, struct opsagent_ec2_instance **ret)
{
        struct query_request q;
        struct xml_node *doc = NULL;
        int r;

        if (!instance_id) {
                r = ec2_self_instance_id(s, &instance_id);
                if (r < 0)
                        return r;
        }
        r = query_request_init(&q, AWS_SERVICE_EC2, "DescribeInstances");
        if (r >= 0)
                r = query_add(&q, "InstanceId.1", instance_id);
        if (r < 0) {
                set_local_error(s, "DescribeInstances", r, "cannot build the request: %s", strerror(-r));
                goto out;
        }
        r = query_call(s, &q, &doc, NULL);
        if (r < 0)
                goto out;
        r = ec2_parse_instance_response(doc, ret);
        if (r == -ENOENT) {
                set_local_error(s, "DescribeInstances", -ENOENT, "instance %s not found", instance_id);
                snprintf(s->last_error.code, sizeof(s->last_error.code), "InvalidInstanceID.NotFound");
        } else if (r < 0) {
                set_local_error(s, "DescribeInstances", r, "out of memory");
        }
out:
        xml_free(doc);
        query_request_clear(&q);
        return r;
}

/* ---- DescribeVolumes -------------------------------------------------------------------- */

void ec2_volumes_free(struct opsagent_ec2_volume *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].volume_id);
                free(v[i].state);
                free(v[i].volume_type);
                free(v[i].availability_zone);
        }
        free(v);
}

/* Runs a Describe* request page by page: BUILD adds the parameters, EACH takes one page. */
typedef int (*page_fn)(const struct xml_node *doc, void *userdata);

static int paginate(struct aws_session *s, const char *operation, int (*build)(struct query_request *, void *),
                    page_fn each, void *userdata)
{
        char *token = NULL;
        int r = 0;

        for (unsigned page = 0; page < EC2_MAX_PAGES; page++) {
                struct query_request q;
                struct xml_node *doc = NULL;
                const char *next;
                bool has_next;

                r = query_request_init(&q, AWS_SERVICE_EC2, operation);
                if (r >= 0)
                        r = build(&q, userdata);
                if (r >= 0 && token)
                        r = query_add(&q, "NextToken", token);
                if (r < 0) {
                        set_local_error(s, operation, r, "cannot build the request: %s", strerror(-r));
                        query_request_clear(&q);
                        break;
                }
                r = query_call(s, &q, &doc, NULL);
                query_request_clear(&q);
                if (r < 0)
                        break;
                r = each(doc, userdata);
                if (r < 0) {
                        set_local_error(s, operation, r, "cannot read the answer: %s", strerror(-r));
                        xml_free(doc);
                        break;
                }
                next = xml_path_text(doc, "nextToken");
                has_next = next && *next;
                free(token);
                token = has_next ? strdup(next) : NULL;
                xml_free(doc);
                if (has_next && !token) {
                        r = -ENOMEM;
                        break;
                }
                if (!token)
                        break;
                if (page + 1 == EC2_MAX_PAGES) {
                        set_local_error(s, operation, -E2BIG, "more than %d pages of results", EC2_MAX_PAGES);
                        r = -E2BIG;
                }
        }
        free(token);
        return r;
}

struct volumes_ctx {
        const char *const *ids;
        struct opsagent_ec2_volume *v;
        size_t n, cap;
};

static int volumes_build(struct query_request *q, void *userdata)
{
        struct volumes_ctx *c = userdata;
        int r = 0;

        for (size_t i = 0; c->ids && c->ids[i] && r >= 0; i++)
                r = i >= EC2_MAX_IDS ? -E2BIG : query_addf(q, c->ids[i], "VolumeId.%zu", i + 1);
        return r;
}

static int volumes_page(const struct xml_node *doc, void *userdata)
{
        struct volumes_ctx *c = userdata;
        struct xml_node *set = xml_child(doc, "volumeSet"), *it;

        for (it = set ? xml_child(set, "item") : NULL; it; it = xml_next_named(it)) {
                struct opsagent_ec2_volume *v;
                bool ok = true;

                if (c->n == c->cap) {
                        size_t nc = c->cap ? c->cap * 2 : 8;
                        struct opsagent_ec2_volume *nv = realloc(c->v, nc * sizeof(*nv));

                        if (!nv)
                                return -ENOMEM;
                        c->v = nv;
                        c->cap = nc;
                }
                v = &c->v[c->n++];
                memset(v, 0, sizeof(*v));
                v->volume_id = dup_text(it, "volumeId", &ok);
                v->state = dup_text(it, "status", &ok);
                v->volume_type = dup_text(it, "volumeType", &ok);
                v->availability_zone = dup_text(it, "availabilityZone", &ok);
                v->size_gib = int_text(it, "size");
                if (!ok)
                        return -ENOMEM;
        }
        return 0;
}

int ec2_parse_volumes_response(const struct xml_node *doc, struct opsagent_ec2_volume **ret, size_t *ret_n)
{
        struct volumes_ctx c = { 0 };
        int r = volumes_page(doc, &c);

        if (r < 0) {
                ec2_volumes_free(c.v, c.n);
                return r;
        }
        *ret = c.v;
        *ret_n = c.n;
        return 0;
}

int ec2_describe_volumes(struct aws_session *s, const char *const *volume_ids, struct opsagent_ec2_volume **ret,
                         size_t *ret_n)
{
        struct volumes_ctx c = { .ids = volume_ids };
        int r;

        r = paginate(s, "DescribeVolumes", volumes_build, volumes_page, &c);
        if (r < 0) {
                ec2_volumes_free(c.v, c.n);
                return r;
        }
        *ret = c.v;
        *ret_n = c.n;
        return 0;
}

/* ---- DescribeSnapshots ------------------------------------------------------------------ */

void ec2_snapshots_free(struct opsagent_ec2_snapshot *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].snapshot_id);
                free(v[i].volume_id);
                free(v[i].state);
                free(v[i].progress);
                free(v[i].description);
                tags_free(v[i].tags, v[i].n_tags);
        }
        free(v);
}

/* What a DescribeSnapshots request asks: the first member of each paging context. */
struct snapshots_query {
        const struct opsagent_ec2_filter *filters;
        unsigned page;
};

struct snapshots_ctx {
        struct snapshots_query q;
        struct opsagent_ec2_snapshot *v;
        size_t n, cap;
};

static int snapshots_build(struct query_request *q, void *userdata)
{
        const struct snapshots_query *c = userdata;
        char page[16];
        int r;

        snprintf(page, sizeof(page), "%u", c->page ? c->page : AWS_DEFAULT_SNAPSHOTS_PAGE);
        r = query_add(q, "Owner.1", "self");
        if (r >= 0)
                r = query_add(q, "MaxResults", page);
        for (size_t i = 0; c->filters && c->filters[i].name && r >= 0; i++) {
                r = query_addf(q, c->filters[i].name, "Filter.%zu.Name", i + 1);
                for (size_t k = 0; c->filters[i].values && c->filters[i].values[k] && r >= 0; k++)
                        r = query_addf(q, c->filters[i].values[k], "Filter.%zu.Value.%zu", i + 1, k + 1);
        }
        return r;
}

/* One <item> of snapshotSet (DescribeSnapshots: <status>; CreateSnapshots: <state>). */
static int parse_snapshot(const struct xml_node *it, struct opsagent_ec2_snapshot *v)
{
        bool ok = true;
        int r;

        memset(v, 0, sizeof(*v));
        v->snapshot_id = dup_text(it, "snapshotId", &ok);
        v->volume_id = dup_text(it, "volumeId", &ok);
        v->state = dup_text(it, xml_child(it, "status") ? "status" : "state", &ok);
        v->progress = dup_text(it, "progress", &ok);
        v->description = dup_text(it, "description", &ok);
        v->volume_size_gib = int_text(it, "volumeSize");
        if (!ok)
                return -ENOMEM;
        if (parse_iso8601_utc(xml_path_text(it, "startTime"), &v->start_time) < 0)
                v->start_time = 0;
        r = parse_tags(it, &v->tags, &v->n_tags);
        return r;
}

static int snapshots_page(const struct xml_node *doc, void *userdata)
{
        struct snapshots_ctx *c = userdata;
        struct xml_node *set = xml_child(doc, "snapshotSet"), *it;
        int r;

        for (it = set ? xml_child(set, "item") : NULL; it; it = xml_next_named(it)) {
                if (c->n == c->cap) {
                        size_t nc = c->cap ? c->cap * 2 : 16;
                        struct opsagent_ec2_snapshot *nv = realloc(c->v, nc * sizeof(*nv));

                        if (!nv)
                                return -ENOMEM;
                        c->v = nv;
                        c->cap = nc;
                }
                r = parse_snapshot(it, &c->v[c->n]);
                c->n++;
                if (r < 0)
                        return r;
        }
        return 0;
}

int ec2_parse_snapshots_response(const struct xml_node *doc, struct opsagent_ec2_snapshot **ret, size_t *ret_n)
{
        struct snapshots_ctx c = { 0 };
        int r = snapshots_page(doc, &c);

        if (r < 0) {
                ec2_snapshots_free(c.v, c.n);
                return r;
        }
        *ret = c.v;
        *ret_n = c.n;
        return 0;
}

int ec2_describe_snapshots(struct aws_session *s, const struct opsagent_ec2_filter *filters,
                           struct opsagent_ec2_snapshot **ret, size_t *ret_n)
{
        struct snapshots_ctx c = { .q = { .filters = filters, .page = s->snapshots_page } };
        int r;

        r = paginate(s, "DescribeSnapshots", snapshots_build, snapshots_page, &c);
        if (r < 0) {
                ec2_snapshots_free(c.v, c.n);
                return r;
        }
        *ret = c.v;
        *ret_n = c.n;
        return 0;
}

/* Streaming: a page is read by an expat stream straight into a compact page (the few strings
 * a snapshot has, in one block), never into a tree; each snapshot of it is then shown to the
 * caller as a view into that block. Only one page is held at a time. */
#define NO_STR UINT32_MAX

enum { F_ID, F_VOLUME, F_STATUS, F_STATE, F_PROGRESS, F_DESCRIPTION, F_SIZE, F_START, F_COUNT };

static const char *const snap_fields[F_COUNT] = {
        "snapshotId", "volumeId", "status", "state", "progress", "description", "volumeSize", "startTime",
};

struct page_snap {
        uint32_t field[F_COUNT];        /* offsets into the page's strings, NO_STR when absent */
        uint32_t first_tag, n_tags;     /* in the page's tags */
};

struct page_tag {
        uint32_t key, value;            /* offsets, NO_STR when absent */
};

struct ec2_snapshot_page {
        struct buf strings;             /* every string of the page, each with its NUL */
        struct page_snap *snaps;
        size_t n_snaps, cap_snaps;
        struct page_tag *tags;
        size_t n_tags, cap_tags;
        uint32_t next_token;            /* offset, NO_STR when none */
        /* where the reader is: the first <snapshotSet> of the root, its <item>s, the first
         * <tagSet> of each, its <item>s */
        bool in_set, set_seen, in_snap, in_tagset, tagset_seen, in_tag;
        struct xml_stream *x;
};

static int page_str(struct ec2_snapshot_page *p, const char *text, size_t len, uint32_t *ret)
{
        size_t at = buf_len(&p->strings);

        if (at + len + 1 > NO_STR)
                return -E2BIG;
        if (buf_append(&p->strings, text, len) < 0 || buf_append(&p->strings, "", 1) < 0)
                return -ENOMEM;
        *ret = (uint32_t)at;
        return 0;
}

static int page_start(void *userdata, const char *name, size_t depth)
{
        struct ec2_snapshot_page *p = userdata;

        if (depth == 1 && !p->set_seen && strcmp(name, "snapshotSet") == 0) {
                p->in_set = p->set_seen = true;
        } else if (depth == 2 && p->in_set && strcmp(name, "item") == 0) {
                struct page_snap *n;

                if (p->n_snaps == p->cap_snaps) {
                        size_t nc = p->cap_snaps ? p->cap_snaps * 2 : 64;

                        n = realloc(p->snaps, nc * sizeof(*n));
                        if (!n)
                                return -ENOMEM;
                        p->snaps = n;
                        p->cap_snaps = nc;
                }
                n = &p->snaps[p->n_snaps++];
                for (size_t i = 0; i < F_COUNT; i++)
                        n->field[i] = NO_STR;
                n->first_tag = (uint32_t)p->n_tags;
                n->n_tags = 0;
                p->in_snap = true;
                p->tagset_seen = false;
        } else if (depth == 3 && p->in_snap && !p->tagset_seen && strcmp(name, "tagSet") == 0) {
                p->in_tagset = p->tagset_seen = true;
        } else if (depth == 4 && p->in_tagset && strcmp(name, "item") == 0) {
                struct page_tag *t;

                if (p->n_tags >= NO_STR)
                        return -E2BIG;
                if (p->n_tags == p->cap_tags) {
                        size_t nc = p->cap_tags ? p->cap_tags * 2 : 256;

                        t = realloc(p->tags, nc * sizeof(*t));
                        if (!t)
                                return -ENOMEM;
                        p->tags = t;
                        p->cap_tags = nc;
                }
                t = &p->tags[p->n_tags++];
                t->key = t->value = NO_STR;
                p->snaps[p->n_snaps - 1].n_tags++;
                p->in_tag = true;
        }
        return 0;
}

static int page_end(void *userdata, const char *name, size_t depth, const char *text, size_t len)
{
        struct ec2_snapshot_page *p = userdata;

        /* a field seen twice keeps its first value, as xml_path_text() reads a tree */
        if (depth == 1 && strcmp(name, "nextToken") == 0 && p->next_token == NO_STR)
                return page_str(p, text, len, &p->next_token);
        if (depth == 1 && p->in_set && strcmp(name, "snapshotSet") == 0) {
                p->in_set = false;
        } else if (depth == 2 && p->in_snap && strcmp(name, "item") == 0) {
                p->in_snap = false;
        } else if (depth == 3 && p->in_snap && p->in_tagset && strcmp(name, "tagSet") == 0) {
                p->in_tagset = false;
        } else if (depth == 3 && p->in_snap && !p->in_tagset) {
                struct page_snap *n = &p->snaps[p->n_snaps - 1];

                for (size_t i = 0; i < F_COUNT; i++)
                        if (strcmp(name, snap_fields[i]) == 0 && n->field[i] == NO_STR)
                                return page_str(p, text, len, &n->field[i]);
        } else if (depth == 4 && p->in_tag && strcmp(name, "item") == 0) {
                p->in_tag = false;
        } else if (depth == 5 && p->in_tag) {
                struct page_tag *t = &p->tags[p->n_tags - 1];

                if (strcmp(name, "key") == 0 && t->key == NO_STR)
                        return page_str(p, text, len, &t->key);
                if (strcmp(name, "value") == 0 && t->value == NO_STR)
                        return page_str(p, text, len, &t->value);
        }
        return 0;
}

static const struct xml_stream_handler page_handler = { .start = page_start, .end = page_end };

void ec2_snapshot_page_free(struct ec2_snapshot_page *p)
{
        if (!p)
                return;
        xml_stream_free(p->x);
        buf_free(&p->strings);
        free(p->snaps);
        free(p->tags);
        free(p);
}

int ec2_snapshot_page_new(struct ec2_snapshot_page **ret)
{
        struct ec2_snapshot_page *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        buf_init(&p->strings, NO_STR);
        p->next_token = NO_STR;
        r = xml_stream_new(&page_handler, p, &p->x);
        if (r < 0) {
                ec2_snapshot_page_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

int ec2_snapshot_page_feed(struct ec2_snapshot_page *p, const char *data, size_t len, bool final, struct error *err)
{
        int r;

        if (!p->x)
                return error_set(err, -EINVAL, "XML: the page was read already");
        r = xml_stream_feed(p->x, data, len, final, err);
        if (r >= 0 && final) {
                xml_stream_free(p->x);  /* read: the parser's memory goes before the page is used */
                p->x = NULL;
        }
        return r;
}

size_t ec2_snapshot_page_count(const struct ec2_snapshot_page *p)
{
        return p->n_snaps;
}

static const char *page_at(const struct ec2_snapshot_page *p, uint32_t off)
{
        return off == NO_STR ? NULL : p->strings.data + off;   /* len > 0 once a string is in */
}

const char *ec2_snapshot_page_next_token(const struct ec2_snapshot_page *p)
{
        return page_at(p, p->next_token);
}

void ec2_snapshot_page_view(const struct ec2_snapshot_page *p, size_t i, struct opsagent_ec2_snapshot *v,
                            struct opsagent_ec2_tag *tags)
{
        const struct page_snap *n = &p->snaps[i];
        const char *t;

        memset(v, 0, sizeof(*v));
        for (uint32_t k = 0; k < n->n_tags; k++) {
                tags[k].key = (char *)page_at(p, p->tags[n->first_tag + k].key);
                tags[k].value = (char *)page_at(p, p->tags[n->first_tag + k].value);
        }
        /* borrowed from the page: the caller sees const data it must not keep */
        v->snapshot_id = (char *)page_at(p, n->field[F_ID]);
        v->volume_id = (char *)page_at(p, n->field[F_VOLUME]);
        v->state = (char *)page_at(p, n->field[F_STATUS] != NO_STR ? n->field[F_STATUS] : n->field[F_STATE]);
        v->progress = (char *)page_at(p, n->field[F_PROGRESS]);
        v->description = (char *)page_at(p, n->field[F_DESCRIPTION]);
        t = page_at(p, n->field[F_SIZE]);
        v->volume_size_gib = t ? strtoll(t, NULL, 10) : 0;
        if (parse_iso8601_utc(page_at(p, n->field[F_START]), &v->start_time) < 0)
                v->start_time = 0;
        v->tags = n->n_tags ? tags : NULL;
        v->n_tags = n->n_tags;
}

size_t ec2_snapshot_page_tags(const struct ec2_snapshot_page *p, size_t i)
{
        return p->snaps[i].n_tags;
}

/* The call engine's reader of a DescribeSnapshots answer (query_call_reader()): the page is
 * fed as the body arrives; the first failure is kept and said at the end. */
struct page_reader {
        struct ec2_snapshot_page *p;
        int error;
        struct error err;
};

static void *page_begin(void)
{
        struct page_reader *rd = calloc(1, sizeof(*rd));

        if (rd && ec2_snapshot_page_new(&rd->p) < 0) {
                free(rd);
                rd = NULL;
        }
        return rd;
}

static void page_feed(void *reader, const char *data, size_t len)
{
        struct page_reader *rd = reader;

        if (rd->error == 0)
                rd->error = ec2_snapshot_page_feed(rd->p, data, len, false, &rd->err);
}

static void page_reader_free(void *reader)
{
        struct page_reader *rd = reader;

        if (!rd)
                return;
        ec2_snapshot_page_free(rd->p);
        free(rd);
}

static int page_finish(void *reader, void **ret, struct error *err)
{
        struct page_reader *rd = reader;
        int r = rd->error;

        if (r < 0)
                error_set(err, r, "%s", rd->err.msg);
        else
                r = ec2_snapshot_page_feed(rd->p, "", 0, true, err);
        if (r >= 0) {
                *ret = rd->p;
                rd->p = NULL;
        }
        page_reader_free(rd);
        return r;
}

static void page_release(void *answer)
{
        ec2_snapshot_page_free(answer);
}

static const struct query_reader page_reader = {
        .begin = page_begin,
        .feed = page_feed,
        .end = page_finish,
        .free_reader = page_reader_free,
        .free_answer = page_release,
};

int ec2_describe_snapshots_each(struct aws_session *s, const struct opsagent_ec2_filter *filters,
                                int (*each)(const struct opsagent_ec2_snapshot *snap, void *userdata),
                                void *userdata)
{
        struct snapshots_query sq = { .filters = filters, .page = s->snapshots_page };
        struct opsagent_ec2_tag *tags = NULL;   /* the view's tags, reused from item to item */
        size_t cap = 0;
        char *token = NULL;
        int r = 0;

        for (unsigned page = 0; page < EC2_MAX_PAGES; page++) {
                struct query_request q;
                struct ec2_snapshot_page *p = NULL;
                void *answer = NULL;
                const char *next;

                r = query_request_init(&q, AWS_SERVICE_EC2, "DescribeSnapshots");
                if (r >= 0)
                        r = snapshots_build(&q, &sq);
                if (r >= 0 && token)
                        r = query_add(&q, "NextToken", token);
                if (r < 0) {
                        set_local_error(s, "DescribeSnapshots", r, "cannot build the request: %s", strerror(-r));
                        query_request_clear(&q);
                        break;
                }
                r = query_call_reader(s, &q, &page_reader, &answer);
                query_request_clear(&q);
                if (r < 0)
                        break;
                p = answer;
                for (size_t i = 0; i < ec2_snapshot_page_count(p) && r >= 0; i++) {
                        struct opsagent_ec2_snapshot v;
                        size_t nt = ec2_snapshot_page_tags(p, i);

                        if (nt > cap) {
                                struct opsagent_ec2_tag *g = realloc(tags, nt * sizeof(*g));

                                if (!g) {
                                        r = -ENOMEM;
                                        set_local_error(s, "DescribeSnapshots", r, "cannot read the answer: %s",
                                                        strerror(-r));
                                        break;
                                }
                                tags = g;
                                cap = nt;
                        }
                        ec2_snapshot_page_view(p, i, &v, tags);
                        r = each(&v, userdata);
                        if (r < 0)
                                set_local_error(s, "DescribeSnapshots", r, "the listing was stopped: %s",
                                                strerror(-r));
                }
                next = r >= 0 ? ec2_snapshot_page_next_token(p) : NULL;
                free(token);
                token = next && *next ? strdup(next) : NULL;
                if (next && *next && !token)
                        r = -ENOMEM;
                ec2_snapshot_page_free(p);
                if (r < 0 || !token)
                        break;
                if (page + 1 == EC2_MAX_PAGES) {
                        set_local_error(s, "DescribeSnapshots", -E2BIG, "more than %d pages of results", EC2_MAX_PAGES);
                        r = -E2BIG;
                }
        }
        free(token);
        free(tags);
        return r;
}

/* ---- CreateSnapshot (fan-out) ----------------------------------------------------------- */

/* TAGS, and MARK (may be NULL) unless TAGS has its key already, as the TagSpecification. */
static int add_tag_spec(struct query_request *q, const char *type, const struct opsagent_tag *tags, size_t n,
                        const struct opsagent_tag *mark)
{
        size_t total = n;
        int r = 0;

        for (size_t i = 0; mark && i < n; i++)
                if (strcmp(tags[i].key, mark->key) == 0)
                        mark = NULL;
        if (mark)
                total++;
        if (total == 0)
                return 0;
        if (total > EC2_MAX_TAGS)
                return -E2BIG;
        r = query_add(q, "TagSpecification.1.ResourceType", type);
        for (size_t i = 0; i < total && r >= 0; i++) {
                const struct opsagent_tag *t = i < n ? &tags[i] : mark;

                r = query_addf(q, t->key, "TagSpecification.1.Tag.%zu.Key", i + 1);
                if (r >= 0)
                        r = query_addf(q, t->value ? t->value : "", "TagSpecification.1.Tag.%zu.Value", i + 1);
        }
        return r;
}

static void sleep_ms(struct aws_session *s, uint64_t ms)
{
        struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

        if (s->sleep_ms) {
                s->sleep_ms(ms, s->userdata);
                return;
        }
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* The snapshots tagged MARK (of VOLUME_IDS, NULL-terminated, when not NULL), looked for up to
 * EC2_CHECK_LOOKS times while none is seen (DescribeSnapshots is eventually consistent). */
static int find_marked(struct aws_session *s, const struct opsagent_tag *mark, const char *const *volume_ids,
                       struct opsagent_ec2_snapshot **ret, size_t *ret_n)
{
        char name[EC2_MARK_FILTER_MAX];
        const char *values[2] = { mark->value, NULL };
        struct opsagent_ec2_filter f[3] = { { name, values }, { "volume-id", volume_ids }, { NULL, NULL } };
        int r = 0;

        if (!volume_ids)
                f[1].name = NULL;
        if ((size_t)snprintf(name, sizeof(name), "tag:%s", mark->key) >= sizeof(name))
                return -E2BIG;
        for (unsigned look = 0; look < EC2_CHECK_LOOKS; look++) {
                if (look > 0)
                        sleep_ms(s, EC2_CHECK_DELAY_MS);
                r = ec2_describe_snapshots(s, f, ret, ret_n);
                if (r < 0 || *ret_n > 0)
                        return r;
                ec2_snapshots_free(*ret, *ret_n);
                *ret = NULL;
        }
        return r;
}

/* After an unknown outcome of OP, looking for its result by MARK failed with R: E (the failure
 * of OP) says both, and what to do. */
static void say_check_failed(struct opsagent_aws_error *e, const char *op, const struct opsagent_aws_error *look,
                             const struct opsagent_tag *mark)
{
        struct opsagent_aws_error was = *e;   /* aws_error_set() starts from a zeroed E */

        aws_error_set(e, op, was.code, was.http_status, was.request_id,
                      "%s; looking for what it made (snapshots tagged %s=%s) failed too (%s: %s%s%s): look for them "
                      "before running it again",
                      was.message, mark->key, mark->value, look->operation, look->code, look->code[0] ? ": " : "",
                      look->message);
}

void ec2_create_snapshot_clear(struct opsagent_ec2_create_snapshot *req)
{
        if (!req)
                return;
        free(req->snapshot_id);
        req->snapshot_id = NULL;
}

/* Fills C's result from DOC, a CreateSnapshot answer: 0, or -EIO when it names no snapshot. */
static int create_answer(struct opsagent_ec2_create_snapshot *c, const struct xml_node *doc)
{
        const char *id = xml_path_text(doc, "snapshotId");

        if (!id || !*id) {
                aws_error_set(&c->error, "CreateSnapshot", "MalformedResponse", 200, NULL,
                              "the answer has no snapshotId; the snapshot may have been created");
                return -EIO;
        }
        c->snapshot_id = strdup(id);
        if (!c->snapshot_id)
                return -ENOMEM;
        if (parse_iso8601_utc(xml_path_text(doc, "startTime"), &c->start_time) < 0)
                c->start_time = 0;
        return 0;
}

int ec2_create_snapshots_each(struct aws_session *s, struct opsagent_ec2_create_snapshot *reqs, size_t n,
                              unsigned parallel, const struct opsagent_tag *mark)
{
        struct query_request *qs = NULL, *round_qs = NULL;
        struct query_result *res = NULL;
        size_t *todo = NULL, *unknown = NULL, n_todo = n, built = 0;
        const char **vols = NULL;
        int r = 0, first = 0;

        if (n == 0)
                return 0;
        qs = calloc(n, sizeof(*qs));
        round_qs = calloc(n, sizeof(*round_qs));
        res = calloc(n, sizeof(*res));
        todo = calloc(n, sizeof(*todo));
        unknown = calloc(n, sizeof(*unknown));
        vols = calloc(n + 1, sizeof(*vols));
        if (!qs || !round_qs || !res || !todo || !unknown || !vols) {
                r = -ENOMEM;
                set_local_error(s, "CreateSnapshot", r, "out of memory");
                goto out;
        }
        for (built = 0; built < n; built++) {
                struct opsagent_ec2_create_snapshot *c = &reqs[built];

                c->result = 0;
                c->snapshot_id = NULL;
                memset(&c->error, 0, sizeof(c->error));
                todo[built] = built;
                r = query_request_init(&qs[built], AWS_SERVICE_EC2, "CreateSnapshot");
                qs[built].check_outcome = true;
                if (r >= 0)
                        r = query_add(&qs[built], "VolumeId", c->volume_id);
                if (r >= 0 && c->description)
                        r = query_add(&qs[built], "Description", c->description);
                if (r >= 0)
                        r = add_tag_spec(&qs[built], "snapshot", c->tags, c->n_tags, mark);
                if (r < 0) {
                        built++;
                        set_local_error(s, "CreateSnapshot", r, "cannot build the request for %s: %s",
                                        c->volume_id, strerror(-r));
                        goto out;
                }
        }
        /* Each round sends what is still to do; a request whose outcome is unknown is looked for
         * by its mark, and sent again only when nothing carries it. */
        for (unsigned round = 1; n_todo > 0; round++) {
                struct opsagent_ec2_snapshot *found = NULL;
                size_t n_unknown = 0, n_found = 0;
                struct opsagent_aws_error look = { 0 };
                int lr = 0;

                for (size_t k = 0; k < n_todo; k++)
                        round_qs[k] = qs[todo[k]];
                query_call_many(s, round_qs, n_todo, parallel, res);
                for (size_t k = 0; k < n_todo; k++) {
                        struct opsagent_ec2_create_snapshot *c = &reqs[todo[k]];

                        c->result = res[k].result;
                        if (res[k].result >= 0)
                                c->result = create_answer(c, res[k].doc);
                        else
                                c->error = res[k].error;
                        /* unknown: the engine says so, or an answer without the snapshot's id */
                        if (res[k].result < 0 ? res[k].outcome_unknown : c->result == -EIO)
                                unknown[n_unknown++] = todo[k];
                        query_result_clear(&res[k]);
                }
                n_todo = 0;
                if (n_unknown == 0 || !mark)
                        break;
                for (size_t k = 0; k < n_unknown; k++)
                        vols[k] = reqs[unknown[k]].volume_id;
                vols[n_unknown] = NULL;
                lr = find_marked(s, mark, vols, &found, &n_found);
                if (lr < 0)
                        look = s->last_error;
                for (size_t k = 0; k < n_unknown; k++) {
                        struct opsagent_ec2_create_snapshot *c = &reqs[unknown[k]];
                        const struct opsagent_ec2_snapshot *hit = NULL;

                        for (size_t j = 0; lr >= 0 && j < n_found && !hit; j++)
                                if (found[j].volume_id && strcmp(found[j].volume_id, c->volume_id) == 0)
                                        hit = &found[j];
                        if (lr < 0) {
                                say_check_failed(&c->error, "CreateSnapshot", &look, mark);
                        } else if (hit) {
                                log_warning("CreateSnapshot of %s: %s%s%s%s, but %s (tagged %s=%s) exists: it was made, "
                                            "so it is not made again", c->volume_id, c->error.code,
                                            c->error.request_id[0] ? " (request id " : "", c->error.request_id,
                                            c->error.request_id[0] ? ")" : "", hit->snapshot_id, mark->key,
                                            mark->value);
                                c->snapshot_id = strdup(hit->snapshot_id);
                                c->start_time = hit->start_time;
                                c->result = c->snapshot_id ? 0 : -ENOMEM;
                                if (c->result == 0)
                                        memset(&c->error, 0, sizeof(c->error));
                        } else if (round < EC2_CHECKED_ROUNDS) {
                                log_warning("CreateSnapshot of %s: %s, and no snapshot tagged %s=%s exists: "
                                            "sending it again", c->volume_id, c->error.code, mark->key, mark->value);
                                todo[n_todo++] = unknown[k];
                        } else {
                                struct opsagent_aws_error was = c->error;

                                aws_error_set(&c->error, "CreateSnapshot", was.code, was.http_status, was.request_id,
                                              "%s; sent %u times, and no snapshot tagged %s=%s exists: none was made",
                                              was.message, round, mark->key, mark->value);
                        }
                }
                ec2_snapshots_free(found, n_found);
        }
        for (size_t i = 0; i < n; i++)
                if (reqs[i].result < 0 && first == 0) {
                        first = reqs[i].result;
                        s->last_error = reqs[i].error;
                }
        r = first;
out:
        for (size_t i = 0; i < built; i++)
                query_request_clear(&qs[i]);
        free(qs);
        free(round_qs);
        free(res);
        free(todo);
        free(unknown);
        free(vols);
        return r;
}

/* ---- CreateSnapshots (multi-volume) ----------------------------------------------------- */

int ec2_create_snapshots_multi(struct aws_session *s, const char *instance_id, bool exclude_boot,
                               const char *const *exclude_volume_ids, const char *description,
                               const struct opsagent_tag *tags, size_t n_tags, const struct opsagent_tag *mark,
                               struct opsagent_ec2_snapshot **ret, size_t *ret_n)
{
        struct query_request q;
        struct xml_node *doc = NULL;
        struct snapshots_ctx c = { 0 };
        bool unknown = false;
        int r;

        if (!instance_id) {
                r = ec2_self_instance_id(s, &instance_id);
                if (r < 0)
                        return r;
        }
        r = query_request_init(&q, AWS_SERVICE_EC2, "CreateSnapshots");
        if (r >= 0)
                r = query_add(&q, "InstanceSpecification.InstanceId", instance_id);
        if (r >= 0 && exclude_boot)
                r = query_add(&q, "InstanceSpecification.ExcludeBootVolume", "true");
        for (size_t i = 0; exclude_volume_ids && exclude_volume_ids[i] && r >= 0; i++)
                r = query_addf(&q, exclude_volume_ids[i], "InstanceSpecification.ExcludeDataVolumeId.%zu", i + 1);
        if (r >= 0 && description)
                r = query_add(&q, "Description", description);
        if (r >= 0)
                r = add_tag_spec(&q, "snapshot", tags, n_tags, mark);
        if (r < 0) {
                set_local_error(s, "CreateSnapshots", r, "cannot build the request: %s", strerror(-r));
                goto out;
        }
        q.check_outcome = true;
        for (unsigned round = 1;; round++) {
                struct opsagent_aws_error failed;
                struct opsagent_ec2_snapshot *found = NULL;
                size_t n_found = 0;
                int lr;

                r = query_call_checked(s, &q, &doc, &unknown);
                if (r >= 0 || !unknown || !mark)
                        break;
                failed = s->last_error;
                lr = find_marked(s, mark, NULL, &found, &n_found);
                if (lr < 0) {
                        say_check_failed(&failed, "CreateSnapshots", &s->last_error, mark);
                        s->last_error = failed;
                        goto out;
                }
                if (n_found > 0) {
                        log_warning("CreateSnapshots: %s%s%s%s, but %zu snapshot%s tagged %s=%s exist%s: the set was "
                                    "made, so it is not made again", failed.code,
                                    failed.request_id[0] ? " (request id " : "", failed.request_id,
                                    failed.request_id[0] ? ")" : "", n_found, n_found == 1 ? "" : "s", mark->key,
                                    mark->value, n_found == 1 ? "s" : "");
                        *ret = found;
                        *ret_n = n_found;
                        r = 0;
                        goto out;
                }
                if (round >= EC2_CHECKED_ROUNDS) {
                        aws_error_set(&s->last_error, "CreateSnapshots", failed.code, failed.http_status,
                                      failed.request_id, "%s; sent %u times, and no snapshot tagged %s=%s exists: "
                                      "none was made", failed.message, round, mark->key, mark->value);
                        goto out;
                }
                log_warning("CreateSnapshots: %s, and no snapshot tagged %s=%s exists: sending it again", failed.code,
                            mark->key, mark->value);
        }
        if (r < 0)
                goto out;
        r = snapshots_page(doc, &c);
        if (r < 0) {
                set_local_error(s, "CreateSnapshots", r, "cannot read the answer: %s", strerror(-r));
                ec2_snapshots_free(c.v, c.n);
                goto out;
        }
        *ret = c.v;
        *ret_n = c.n;
out:
        xml_free(doc);
        query_request_clear(&q);
        return r;
}

/* ---- DeleteSnapshot, CreateTags --------------------------------------------------------- */

int ec2_delete_snapshot(struct aws_session *s, const char *snapshot_id)
{
        struct query_request q;
        struct xml_node *doc = NULL;
        int r;

        r = query_request_init(&q, AWS_SERVICE_EC2, "DeleteSnapshot");
        if (r >= 0)
                r = query_add(&q, "SnapshotId", snapshot_id);
        if (r < 0) {
                set_local_error(s, "DeleteSnapshot", r, "cannot build the request: %s", strerror(-r));
                goto out;
        }
        /* Deleting twice does no harm, but an attempt whose outcome is unknown may have deleted
         * it: InvalidSnapshot.NotFound after one is the success it looks like. */
        q.check_outcome = true;
        for (unsigned round = 1;; round++) {
                bool unknown = false;

                r = query_call_checked(s, &q, &doc, &unknown);
                if (r == -ENOENT && round > 1) {
                        log_warning("DeleteSnapshot %s: gone after an attempt whose outcome was unknown: that "
                                    "attempt deleted it", snapshot_id);
                        memset(&s->last_error, 0, sizeof(s->last_error));
                        r = 0;
                }
                if (r >= 0 || !unknown || round >= EC2_CHECKED_ROUNDS)
                        break;
                log_warning("DeleteSnapshot %s: %s: sending it again", snapshot_id, s->last_error.code);
        }
out:
        xml_free(doc);
        query_request_clear(&q);
        return r;
}

int ec2_create_tags(struct aws_session *s, const char *const *resource_ids, const struct opsagent_tag *tags,
                    size_t n_tags)
{
        struct query_request q;
        struct xml_node *doc = NULL;
        int r;

        r = query_request_init(&q, AWS_SERVICE_EC2, "CreateTags");
        for (size_t i = 0; resource_ids && resource_ids[i] && r >= 0; i++)
                r = i >= EC2_MAX_IDS ? -E2BIG : query_addf(&q, resource_ids[i], "ResourceId.%zu", i + 1);
        if (r >= 0 && n_tags > EC2_MAX_TAGS)
                r = -E2BIG;
        for (size_t i = 0; i < n_tags && r >= 0; i++) {
                r = query_addf(&q, tags[i].key, "Tag.%zu.Key", i + 1);
                if (r >= 0)
                        r = query_addf(&q, tags[i].value ? tags[i].value : "", "Tag.%zu.Value", i + 1);
        }
        if (r < 0)
                set_local_error(s, "CreateTags", r, "cannot build the request: %s", strerror(-r));
        else
                r = query_call(s, &q, &doc, NULL);
        xml_free(doc);
        query_request_clear(&q);
        return r;
}

/* ---- DescribeTags --------------------------------------------------------------------- */

int ec2_describe_tag(struct aws_session *s, const char *resource_id, const char *key, char **ret)
{
        struct query_request q;
        struct xml_node *doc = NULL, *set, *it;
        int r;

        r = query_request_init(&q, AWS_SERVICE_EC2, "DescribeTags");
        if (r >= 0)
                r = query_add(&q, "Filter.1.Name", "resource-id");
        if (r >= 0)
                r = query_add(&q, "Filter.1.Value.1", resource_id);
        if (r >= 0)
                r = query_add(&q, "Filter.2.Name", "key");
        if (r >= 0)
                r = query_add(&q, "Filter.2.Value.1", key);
        if (r < 0) {
                set_local_error(s, "DescribeTags", r, "cannot build the request: %s", strerror(-r));
                goto out;
        }
        r = query_call(s, &q, &doc, NULL);
        if (r < 0)
                goto out;
        set = xml_child(doc, "tagSet");
        r = -ENOENT;
        for (it = set ? xml_child(set, "item") : NULL; it; it = xml_next_named(it)) {
                const char *k = xml_path_text(it, "key"), *v = xml_path_text(it, "value");

                if (!k || strcmp(k, key) != 0)
                        continue;
                *ret = strdup(v ? v : "");
                r = *ret ? 0 : -ENOMEM;
                break;
        }
out:
        xml_free(doc);
        query_request_clear(&q);
        return r;
}

/* ---- DryRun ---------------------------------------------------------------------------- */

int ec2_dry_run(struct aws_session *s, const char *operation, const char *const *params)
{
        struct opsagent_aws_error e = { 0 };
        struct query_request q;
        struct xml_node *doc = NULL;
        int r;

        r = query_request_init(&q, AWS_SERVICE_EC2, operation);
        if (r >= 0)
                r = query_add(&q, "DryRun", "true");
        for (size_t i = 0; params && params[i] && params[i + 1] && r >= 0; i += 2)
                r = query_add(&q, params[i], params[i + 1]);
        if (r < 0) {
                set_local_error(s, operation, r, "cannot build the request: %s", strerror(-r));
                query_request_clear(&q);
                return r;
        }
        r = query_call(s, &q, &doc, &e);
        xml_free(doc);
        query_request_clear(&q);
        if (r >= 0) {
                /* an answer without the DryRun error: the service ignored DryRun */
                set_local_error(s, operation, -EIO, "%s answered as if DryRun were not set", operation);
                return -EIO;
        }
        if (strcmp(e.code, "DryRunOperation") == 0)
                return 0;
        return strcmp(e.code, "UnauthorizedOperation") == 0 ? -EACCES : r;
}
