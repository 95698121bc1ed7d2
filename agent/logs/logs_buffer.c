#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logs_buffer.h"
#include "util/fileio.h"
#include "util/jsonutil.h"

struct rec {
        uint64_t seq;
        uint64_t count;
        uint64_t size;
};

struct logs_buffer {
        char *dir;
        uint64_t max_bytes;
        struct rec *recs;               /* oldest first, from HEAD */
        size_t head, n, alloc;
        uint64_t bytes, events, next_seq;
};

static int rec_cmp(const void *a, const void *b)
{
        const struct rec *x = a, *y = b;

        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static char *rec_path(const struct logs_buffer *buf, const struct rec *r)
{
        char name[64];

        snprintf(name, sizeof(name), "%016" PRIu64 "-%" PRIu64 ".json", r->seq, r->count);
        return path_join(buf->dir, name);
}

static int push(struct logs_buffer *buf, struct rec r)
{
        if (buf->head > 0 && buf->head + buf->n == buf->alloc) {
                memmove(buf->recs, buf->recs + buf->head, buf->n * sizeof(*buf->recs));
                buf->head = 0;
        }
        if (buf->n == buf->alloc) {
                size_t na = buf->alloc ? buf->alloc * 2 : 64;
                struct rec *nr = realloc(buf->recs, na * sizeof(*nr));

                if (!nr)
                        return -ENOMEM;
                buf->recs = nr;
                buf->alloc = na;
        }
        buf->recs[buf->head + buf->n++] = r;
        buf->bytes += r.size;
        buf->events += r.count;
        if (r.seq >= buf->next_seq)
                buf->next_seq = r.seq + 1;
        return 0;
}

/* Removes the oldest record's file and forgets it. */
static int drop_oldest(struct logs_buffer *buf, struct error *err)
{
        struct rec *r = &buf->recs[buf->head];
        char *path = rec_path(buf, r);
        int rr = 0;

        if (!path)
                return error_set(err, -ENOMEM, "out of memory");
        if (unlink(path) < 0 && errno != ENOENT)
                rr = error_set(err, -errno, "%s: cannot remove: %m", path);
        free(path);
        if (rr < 0)
                return rr;
        buf->bytes -= r->size;
        buf->events -= r->count;
        buf->head++;
        buf->n--;
        if (buf->n == 0)
                buf->head = 0;
        return 0;
}

int logs_buffer_open(const char *dir, uint64_t max_bytes, struct logs_buffer **ret, struct error *err)
{
        struct logs_buffer *buf = calloc(1, sizeof(*buf));
        DIR *d = NULL;
        struct dirent *de;
        int r;

        if (!buf || !(buf->dir = strdup(dir))) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        buf->max_bytes = max_bytes ? max_bytes : LOGS_BUFFER_DEFAULT_MAX_BYTES;
        r = mkdir_p(dir, 0700);
        if (r < 0) {
                error_set(err, r, "%s: cannot create the log buffer directory: %s", dir, strerror(-r));
                goto out;
        }
        d = opendir(dir);
        if (!d) {
                r = error_set(err, -errno, "%s: cannot read the log buffer directory: %m", dir);
                goto out;
        }
        while ((de = readdir(d))) {
                struct rec rc;
                struct stat st;
                int used = 0;

                if (sscanf(de->d_name, "%16" SCNu64 "-%" SCNu64 ".json%n", &rc.seq, &rc.count, &used) != 2 ||
                    used == 0 || de->d_name[used] != '\0' || strlen(de->d_name) < 22)
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                rc.size = (uint64_t)st.st_size;
                r = push(buf, rc);
                if (r < 0) {
                        error_set(err, r, "out of memory");
                        goto out;
                }
        }
        qsort(buf->recs, buf->n, sizeof(*buf->recs), rec_cmp);
        *ret = buf;
        buf = NULL;
        r = 0;
out:
        if (d)
                closedir(d);
        logs_buffer_free(buf);
        return r;
}

void logs_buffer_free(struct logs_buffer *b)
{
        if (!b)
                return;
        free(b->recs);
        free(b->dir);
        free(b);
}

int logs_buffer_put(struct logs_buffer *buf, const char *group, const char *stream, const struct logs_batch *b,
                    uint64_t *ret_dropped, struct error *err)
{
        json_object *o = json_object_new_object(), *ev = NULL;
        struct rec rc = { buf->next_seq, b->n, 0 };
        char *path = NULL;
        const char *text;
        size_t len;
        int r;

        if (!o || logs_batch_to_json(b, &ev) < 0) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        if (json_object_object_add(o, "group", json_object_new_string(group)) < 0 ||
            json_object_object_add(o, "stream", json_object_new_string(stream)) < 0 ||
            json_object_object_add(o, "events", ev) < 0) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        ev = NULL;
        text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        path = rec_path(buf, &rc);
        if (!text || !path) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        rc.size = len;
        /* Make room first, oldest first; a batch larger than the bound on its own is dropped. */
        while (buf->n > 0 && buf->bytes + rc.size > buf->max_bytes) {
                *ret_dropped += buf->recs[buf->head].count;
                r = drop_oldest(buf, err);
                if (r < 0)
                        goto out;
        }
        if (rc.size > buf->max_bytes || buf->n >= LOGS_BUFFER_MAX_FILES) {
                *ret_dropped += rc.count;
                r = 0;
                goto out;
        }
        r = write_file_atomic(path, text, len, 0600);
        if (r < 0) {
                error_set(err, r, "%s: cannot write to the log buffer: %s", path, strerror(-r));
                goto out;
        }
        r = push(buf, rc);
        if (r < 0)
                error_set(err, r, "out of memory");
out:
        free(path);
        json_object_put(ev);
        json_object_put(o);
        return r;
}

int logs_buffer_peek(struct logs_buffer *buf, char **ret_group, char **ret_stream, struct logs_batch *ret,
                     uint64_t *ret_dropped, struct error *err)
{
        while (buf->n > 0) {
                struct rec *rc = &buf->recs[buf->head];
                char *path = rec_path(buf, rc), *text = NULL, *g = NULL, *s = NULL;
                json_object *o = NULL;
                struct logs_batch b = { 0 };
                int r;

                if (!path)
                        return error_set(err, -ENOMEM, "out of memory");
                r = read_file_capped(path, LOGS_BUFFER_RECORD_MAX_BYTES, &text, NULL);
                if (r >= 0)
                        o = json_tokener_parse(text);
                if (o && json_get_string(o, "group") && json_get_string(o, "stream") &&
                    logs_batch_from_json(json_object_object_get(o, "events"), &b) >= 0 && b.n > 0) {
                        g = strdup(json_get_string(o, "group"));
                        s = strdup(json_get_string(o, "stream"));
                }
                json_object_put(o);
                free(text);
                free(path);
                if (g && s) {
                        *ret_group = g;
                        *ret_stream = s;
                        *ret = b;
                        return 0;
                }
                free(g);
                free(s);
                logs_batch_free(&b);
                if (r == -ENOMEM)
                        return error_set(err, r, "out of memory");
                /* Torn or foreign: its events are lost, and counted. */
                *ret_dropped += rc->count;
                r = drop_oldest(buf, err);
                if (r < 0)
                        return r;
        }
        return -ENOENT;
}

int logs_buffer_pop(struct logs_buffer *buf, struct error *err)
{
        if (buf->n == 0)
                return 0;
        return drop_oldest(buf, err);
}

size_t logs_buffer_batches(const struct logs_buffer *buf)
{
        return buf->n;
}

uint64_t logs_buffer_bytes(const struct logs_buffer *buf)
{
        return buf->bytes;
}

uint64_t logs_buffer_events(const struct logs_buffer *buf)
{
        return buf->events;
}
