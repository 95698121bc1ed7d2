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
        struct logs_buffer_file *files;         /* owned */
        size_t n_files;
        int64_t oldest_usec;
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
        free(r->files);
        r->files = NULL;
        buf->head++;
        buf->n--;
        if (buf->n == 0)
                buf->head = 0;
        return 0;
}

/* "files" and "oldest_usec" of a record's first line. */
static void parse_meta(json_object *meta, struct rec *rc)
{
        json_object *files = json_object_object_get(meta, "files");
        size_t n = json_object_is_type(files, json_type_array) ? json_object_array_length(files) : 0;

        rc->oldest_usec = json_object_get_int64(json_object_object_get(meta, "oldest_usec"));
        if (n > LOGS_BUFFER_MAX_FILES_PER_BATCH)
                n = LOGS_BUFFER_MAX_FILES_PER_BATCH;
        rc->files = n ? calloc(n, sizeof(*rc->files)) : NULL;
        if (!rc->files)
                return;
        for (size_t i = 0; i < n; i++) {
                json_object *f = json_object_array_get_idx(files, i);

                if (!json_object_is_type(f, json_type_array) || json_object_array_length(f) != 3)
                        continue;
                rc->files[rc->n_files++] = (struct logs_buffer_file){
                        json_object_get_uint64(json_object_array_get_idx(f, 0)),
                        json_object_get_uint64(json_object_array_get_idx(f, 1)),
                        json_object_get_uint64(json_object_array_get_idx(f, 2)) };
        }
}

static void read_meta(int dirfd, const char *name, struct rec *rc)
{
        char *text = malloc(LOGS_BUFFER_META_MAX + 1), *nl;
        json_object *meta;
        ssize_t n;
        int fd;

        if (!text)
                return;
        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        n = fd >= 0 ? read(fd, text, LOGS_BUFFER_META_MAX) : -1;
        if (fd >= 0)
                close(fd);
        if (n > 0) {
                text[n] = '\0';
                nl = strchr(text, '\n');
                if (nl) {
                        *nl = '\0';
                        meta = json_tokener_parse(text);
                        if (meta)
                                parse_meta(meta, rc);
                        json_object_put(meta);
                }
        }
        free(text);
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
                rc.files = NULL;
                rc.n_files = 0;
                rc.oldest_usec = 0;
                read_meta(dirfd(d), de->d_name, &rc);
                r = push(buf, rc);
                if (r < 0) {
                        free(rc.files);
                        error_set(err, r, "out of memory");
                        goto out;
                }
        }
        if (buf->n > 1)
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
        for (size_t i = 0; i < b->n; i++)
                free(b->recs[b->head + i].files);
        free(b->recs);
        free(b->dir);
        free(b);
}

int logs_buffer_put(struct logs_buffer *buf, const char *group, const char *stream, const struct logs_batch *b,
                    const struct logs_buffer_file *files, size_t n_files, int64_t oldest_usec,
                    uint64_t *ret_dropped, struct error *err)
{
        json_object *meta = json_object_new_object(), *ev = NULL, *fa = json_object_new_array();
        struct rec rc = { buf->next_seq, b->n, 0, NULL, 0, oldest_usec };
        char *path = NULL, *text = NULL;
        const char *m, *e;
        size_t ml, el, len;
        int r;

        if (n_files > LOGS_BUFFER_MAX_FILES_PER_BATCH)
                n_files = LOGS_BUFFER_MAX_FILES_PER_BATCH;
        if (!meta || !fa || logs_batch_to_json(b, &ev) < 0)
                goto nomem;
        for (size_t i = 0; i < n_files; i++) {
                json_object *f = json_object_new_array_ext(3);

                if (!f || json_object_array_add(fa, f) < 0) {
                        json_object_put(f);
                        goto nomem;
                }
                if (json_object_array_add(f, json_object_new_uint64(files[i].dev)) < 0 ||
                    json_object_array_add(f, json_object_new_uint64(files[i].ino)) < 0 ||
                    json_object_array_add(f, json_object_new_uint64(files[i].bytes)) < 0)
                        goto nomem;
        }
        if (json_object_object_add(meta, "group", json_object_new_string(group)) < 0 ||
            json_object_object_add(meta, "stream", json_object_new_string(stream)) < 0 ||
            json_object_object_add(meta, "files", fa) < 0)
                goto nomem;
        fa = NULL;
        if (json_object_object_add(meta, "oldest_usec", json_object_new_int64(oldest_usec)) < 0)
                goto nomem;
        m = json_object_to_json_string_length(meta, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &ml);
        e = json_object_to_json_string_length(ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &el);
        path = rec_path(buf, &rc);
        text = m && e ? malloc(ml + el + 3) : NULL;
        if (!path || !text)
                goto nomem;
        memcpy(text, m, ml);
        text[ml] = '\n';
        memcpy(text + ml + 1, e, el);
        text[ml + 1 + el] = '\n';
        len = ml + el + 2;
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
        if (n_files > 0) {
                rc.files = malloc(n_files * sizeof(*rc.files));
                if (rc.files) {
                        memcpy(rc.files, files, n_files * sizeof(*rc.files));
                        rc.n_files = n_files;
                }
        }
        r = push(buf, rc);
        if (r < 0) {
                free(rc.files);
                error_set(err, r, "out of memory");
        }
        goto out;
nomem:
        r = error_set(err, -ENOMEM, "out of memory");
out:
        free(text);
        free(path);
        json_object_put(fa);
        json_object_put(ev);
        json_object_put(meta);
        return r;
}

void logs_buffer_file_lag(const struct logs_buffer *buf, uint64_t dev, uint64_t ino, uint64_t *ret_bytes,
                          int64_t *ret_oldest_usec)
{
        uint64_t bytes = 0;
        int64_t oldest = 0;

        for (size_t i = 0; i < buf->n; i++) {
                const struct rec *rc = &buf->recs[buf->head + i];

                for (size_t k = 0; k < rc->n_files; k++)
                        if (rc->files[k].dev == dev && rc->files[k].ino == ino) {
                                bytes += rc->files[k].bytes;
                                if (rc->oldest_usec > 0 && (!oldest || rc->oldest_usec < oldest))
                                        oldest = rc->oldest_usec;
                        }
        }
        *ret_bytes = bytes;
        *ret_oldest_usec = oldest;
}

int logs_buffer_peek(struct logs_buffer *buf, char **ret_group, char **ret_stream, struct logs_batch *ret,
                     uint64_t *ret_dropped, struct error *err)
{
        while (buf->n > 0) {
                struct rec *rc = &buf->recs[buf->head];
                char *path = rec_path(buf, rc), *text = NULL, *g = NULL, *s = NULL, *nl = NULL;
                json_object *o = NULL, *ev = NULL;
                struct logs_batch b = { 0 };
                int r;

                if (!path)
                        return error_set(err, -ENOMEM, "out of memory");
                r = read_file_capped(path, LOGS_BUFFER_RECORD_MAX_BYTES, &text, NULL);
                nl = r >= 0 ? strchr(text, '\n') : NULL;
                if (nl) {
                        *nl = '\0';
                        o = json_tokener_parse(text);
                        ev = json_tokener_parse(nl + 1);
                }
                if (o && ev && json_get_string(o, "group") && json_get_string(o, "stream") &&
                    logs_batch_from_json(ev, &b) >= 0 && b.n > 0) {
                        g = strdup(json_get_string(o, "group"));
                        s = strdup(json_get_string(o, "stream"));
                }
                json_object_put(ev);
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
