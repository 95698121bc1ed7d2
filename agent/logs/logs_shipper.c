#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include "logs_shipper.h"
#include "logs_batch.h"
#include "logs_buffer.h"
#include "logs_checkpoint.h"
#include "logs_event.h"
#include "logs_send.h"
#include "aws/session.h"
#include "report/report_build.h"
#include "report/spool.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "util/pathres.h"
#include "util/timeutil.h"

enum origin_kind { ORIGIN_FILE, ORIGIN_JOURNAL };

struct lstream {
        char *group, *name;
        struct logs_target target;
        struct logs_batch batch;
        uint64_t first_usec;            /* CLOCK_MONOTONIC when the batch's first event came */
        int64_t last_ts;                /* of the last event batched: times never go back */
        struct lstream *next;
};

struct lsource;

struct lfile {
        enum origin_kind kind;          /* first: events point here */
        struct lsource *src;
        char *name;                     /* in the source's directory */
        char *ckpt_path;                /* the path checkpoints and messages use */
        int fd;                         /* -1 once done */
        uint64_t dev, ino;
        struct logs_fp fp;
        uint64_t pos;                   /* next byte to read */
        uint64_t seen_size;             /* the largest size seen: a smaller one is a truncation */
        char *pend;                     /* bytes from pend_off to pos, not yet a whole line */
        size_t pend_len, pend_alloc;
        uint64_t pend_off;
        uint64_t accepted;              /* checkpoint: after the last accepted (or buffered) event */
        uint64_t clear_end;             /* after the last event dropped (too old, ...) */
        size_t refs;                    /* events of it in batches */
        bool rotated;                   /* no longer the file at its name: finish it, then done */
        uint64_t grew_usec;             /* rotated: CLOCK_MONOTONIC of its last growth */
        uint64_t await_copy_until;      /* truncated, its copy not found yet: look until then */
        int64_t mtime_usec;             /* rotated: when it was last written (their order) */
        bool done;                      /* read to its end and closed */
        bool at_eof;
        struct logs_builder builder;
        struct lstream *stream;
        int64_t oldest_unaccepted_usec; /* CLOCK_REALTIME of the oldest event not accepted, 0 */
        struct lfile *next;
};

struct cursor_ent {
        uint64_t seq;
        char *cursor;
};

struct ljournal {
        enum origin_kind kind;
        struct lsource *src;
        sd_journal *j;
        sd_event_source *io;
        uint64_t seq;                   /* entries read */
        struct cursor_ent *q;           /* cursors of entries not yet accepted, oldest first */
        size_t qn, qalloc;
        char *accepted;                 /* cursor of the last accepted entry */
        uint64_t accepted_seq;
        size_t refs;
        struct logs_builder builder;
        struct lstream *stream;
};

struct lsource {
        struct logs_shipper *sh;
        const struct logs_source_config *cfg;
        char *dir;                      /* the directory of the glob ("/var/log/app") */
        const char *pattern;            /* the glob's last component (in cfg->path) */
        int basefd;                     /* --root (or / for the state's source) */
        int dirfd;                      /* -1 while it does not exist */
        int wd;
        bool dirty;
        bool draining;                  /* has rotated files not closed yet */
        int64_t scanned_usec;           /* CLOCK_REALTIME when the last scan listed the directory */
        struct lfile *files;
        struct ljournal *jr;
        uint64_t dropped;
        char last_error[ERROR_MSG_MAX];
        bool warned_missing;
};

struct logs_shipper {
        const struct logs_config *cfg;
        char *root, *logs_dir, *instance_id, *hostname;
        json_object *attrs;
        const struct report_config *report;
        struct aws_session *session;
        struct lsource *src;
        size_t n_src;
        struct lstream *streams;
        struct logs_buffer *buffer;
        json_object *ckpt;              /* as loaded, for the start */
        char *rbuf;
        int ino_fd;
        uint64_t backoff_usec, retry_at;        /* monotonic; 0: not backing off */
        uint64_t unreported_drops;
        uint64_t status_saved_usec;
        bool once;
        bool failed;                    /* --once: something could not be sent */
        bool ckpt_dirty;                /* a file is known that the checkpoints do not name yet */
        int64_t clock_ms;               /* CLOCK_REALTIME of the chunk being made into events */
        uint64_t put_usec;              /* a PutLogEvents' duration, averaged */
        char last_send_error[ERROR_MSG_MAX];
        sd_event *event;
        sd_event_source *work, *flush_timer, *retry_timer;
};

static void kick(struct logs_shipper *sh);
static bool head_is_hole(int fd, size_t len);

/* ---- small helpers ---- */

static int64_t now_ms(void)
{
        return now_realtime_usec() / 1000;
}

static const char *base_name(const char *p)
{
        const char *s = strrchr(p, '/');

        return s ? s + 1 : p;
}

static void source_error(struct lsource *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void source_error(struct lsource *s, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
        va_end(ap);
}

static void count_dropped(struct logs_shipper *sh, struct lsource *s, uint64_t n, const char *why)
{
        if (n == 0)
                return;
        if (s)
                s->dropped += n;
        sh->unreported_drops += n;
        log_warning("cloudwatch_logs: %" PRIu64 " log events%s%s dropped: %s (counted in the LogEventsDropped "
                    "metric)", n, s ? " of source " : "", s ? s->cfg->name : "", why);
}

/* The drop count goes to the metrics spool; `opsagent report` sends it. */
static void report_drops(struct logs_shipper *sh)
{
        struct metric_batch b = METRIC_BATCH_INIT;
        struct metric_dim dims[METRIC_MAX_DIMS];
        struct error err = ERROR_INIT;
        struct spool *sp = NULL;
        size_t nd;
        int r;

        if (sh->unreported_drops == 0 || !sh->report || !sh->report->enabled)
                return;
        nd = report_base_dims(sh->report, NULL, dims);
        r = metric_batch_set_namespace(&b, sh->report->namespace_);
        if (r >= 0)
                r = metric_batch_add(&b, "LogEventsDropped", "Count", (double)sh->unreported_drops, now_ms(), dims,
                                     nd);
        if (r >= 0)
                r = spool_open(sh->report->spool_dir, &sh->report->spool, &sp, &err);
        if (r >= 0)
                r = spool_append(sp, &b, now_ms(), &err);
        if (r >= 0)
                sh->unreported_drops = 0;
        else
                log_warning("cloudwatch_logs: cannot spool the LogEventsDropped metric: %s",
                            err.msg[0] ? err.msg : strerror(-r));
        spool_free(sp);
        metric_batch_free(&b);
}

/* ---- streams ---- */

static struct lstream *stream_get(struct logs_shipper *sh, const char *group, const char *name, int retention)
{
        struct lstream *st;

        for (st = sh->streams; st; st = st->next)
                if (strcmp(st->group, group) == 0 && strcmp(st->name, name) == 0) {
                        if (retention && !st->target.retention_days)
                                st->target.retention_days = retention;
                        return st;
                }
        st = calloc(1, sizeof(*st));
        if (!st)
                return NULL;
        st->group = strdup(group);
        st->name = strdup(name);
        if (!st->group || !st->name) {
                free(st->group);
                free(st->name);
                free(st);
                return NULL;
        }
        st->target.group = st->group;
        st->target.stream = st->name;
        st->target.retention_days = retention;
        st->next = sh->streams;
        sh->streams = st;
        return st;
}

static struct lstream *stream_for(struct logs_shipper *sh, struct lsource *s, const char *file)
{
        struct error err = ERROR_INIT;
        char *name = NULL;
        struct lstream *st;

        if (logs_stream_name(s->cfg->stream, sh->instance_id, sh->hostname, s->cfg->name, file, &name, &err) < 0)
                return NULL;
        st = stream_get(sh, s->cfg->group, name, s->cfg->retention_days);
        free(name);
        return st;
}

/* ---- checkpoints ---- */

static void file_settle(struct lfile *f)
{
        if (f->refs == 0 && f->clear_end > f->accepted)
                f->accepted = f->clear_end;
}

static int save_checkpoints(struct logs_shipper *sh)
{
        struct error err = ERROR_INIT;
        json_object *tree = json_object_new_object(), *srcs = json_object_new_object();
        int r = -ENOMEM;

        if (!tree || !srcs || json_object_object_add(tree, "version", json_object_new_int(1)) < 0 ||
            json_object_object_add(tree, "sources", srcs) < 0) {
                json_object_put(srcs);
                goto out;
        }
        for (size_t i = 0; i < sh->n_src; i++) {
                struct lsource *s = &sh->src[i];
                json_object *o = json_object_new_object(), *files = json_object_new_array();

                if (!o || !files || json_object_object_add(srcs, s->cfg->name, o) < 0) {
                        json_object_put(o);
                        json_object_put(files);
                        goto out;
                }
                if (json_object_object_add(o, "files", files) < 0) {
                        json_object_put(files);
                        goto out;
                }
                for (struct lfile *f = s->files; f; f = f->next) {
                        struct logs_file_ckpt c = { f->ckpt_path, f->dev, f->ino, f->fp, 0 };
                        json_object *fo;

                        file_settle(f);
                        c.offset = f->accepted;
                        fo = logs_file_ckpt_to_json(&c);
                        if (!fo || json_object_array_add(files, fo) < 0) {
                                json_object_put(fo);
                                goto out;
                        }
                        /* Done only once all that was read of it was accepted: a file finished
                         * with events still on their way is resumed from its checkpoint, else a
                         * kill -9 then would lose them (a copytruncate's copy finished from the
                         * middle lost its tail so). */
                        if (f->done && f->accepted >= f->pos &&
                            json_object_object_add(fo, "done", json_object_new_boolean(1)) < 0)
                                goto out;
                }
                if (s->scanned_usec &&
                    json_object_object_add(o, "scanned_usec", json_object_new_int64(s->scanned_usec)) < 0)
                        goto out;
                if (s->jr && s->jr->accepted &&
                    json_object_object_add(o, "cursor", json_object_new_string(s->jr->accepted)) < 0)
                        goto out;
        }
        r = logs_checkpoint_save(sh->logs_dir, tree, &err);
        if (r < 0)
                log_error("cloudwatch_logs: %s", err.msg);
out:
        if (r == -ENOMEM)
                log_error("cloudwatch_logs: out of memory saving the checkpoints");
        json_object_put(tree);
        return r;
}

/* The events of B were accepted (or are safe in the buffer, or were given up on): their files
 * may be checkpointed past them. */
static void batch_settled(struct logs_batch *b)
{
        for (size_t i = 0; i < b->n; i++) {
                struct logs_event *e = &b->ev[i];
                enum origin_kind *k = e->origin;

                if (!k)
                        continue;
                if (*k == ORIGIN_FILE) {
                        struct lfile *f = e->origin;

                        if (e->end > f->accepted)
                                f->accepted = e->end;
                        f->refs--;
                        f->oldest_unaccepted_usec = 0;
                } else {
                        struct ljournal *jr = e->origin;

                        if (e->end > jr->accepted_seq)
                                jr->accepted_seq = e->end;
                        jr->refs--;
                }
        }
}

static void journal_settle(struct ljournal *jr)
{
        size_t k = 0;

        while (k < jr->qn && jr->q[k].seq <= jr->accepted_seq)
                k++;
        if (k == 0)
                return;
        free(jr->accepted);
        jr->accepted = jr->q[k - 1].cursor;
        for (size_t i = 0; i + 1 < k; i++)
                free(jr->q[i].cursor);
        memmove(jr->q, jr->q + k, (jr->qn - k) * sizeof(*jr->q));
        jr->qn -= k;
}

/* ---- sending ---- */

static int ensure_session(struct logs_shipper *sh, struct error *err)
{
        struct error e = ERROR_INIT;
        int r;

        if (sh->session)
                return 0;
        r = aws_session_new(sh->attrs, NULL, &sh->session, &e);
        if (r < 0)
                return error_set(err, r, "PutLogEvents: %s", e.msg);
        return 0;
}

static void backoff(struct logs_shipper *sh)
{
        sh->backoff_usec = sh->backoff_usec ? sh->backoff_usec * 2 : LOGS_BACKOFF_MIN_USEC;
        if (sh->backoff_usec > LOGS_BACKOFF_MAX_USEC)
                sh->backoff_usec = LOGS_BACKOFF_MAX_USEC;
        sh->retry_at = now_monotonic_usec() + sh->backoff_usec;
        if (sh->retry_timer) {
                (void)sd_event_source_set_time(sh->retry_timer, sh->retry_at);
                (void)sd_event_source_set_enabled(sh->retry_timer, SD_EVENT_ONESHOT);
        }
}

static bool backing_off(const struct logs_shipper *sh)
{
        return sh->retry_at && now_monotonic_usec() < sh->retry_at;
}

static void set_stream_error(struct logs_shipper *sh, const struct lstream *st, const char *msg)
{
        snprintf(sh->last_send_error, sizeof(sh->last_send_error), "%s", msg);
        for (size_t i = 0; i < sh->n_src; i++)
                if (strcmp(sh->src[i].cfg->group, st->group) == 0)
                        source_error(&sh->src[i], "%s", msg);
}

static void clear_stream_error(struct logs_shipper *sh, const struct lstream *st)
{
        sh->last_send_error[0] = '\0';
        for (size_t i = 0; i < sh->n_src; i++)
                if (strcmp(sh->src[i].cfg->group, st->group) == 0)
                        sh->src[i].last_error[0] = '\0';
}

static struct lsource *source_of_group(struct logs_shipper *sh, const char *group)
{
        for (size_t i = 0; i < sh->n_src; i++)
                if (strcmp(sh->src[i].cfg->group, group) == 0)
                        return &sh->src[i];
        return NULL;
}

/* One PutLogEvents of B to ST. 0 sent (or refused for good: counted and dropped), -EAGAIN
 * when it could not be sent now (backing off). */
static int put(struct logs_shipper *sh, struct lstream *st, struct logs_batch *b)
{
        struct error err = ERROR_INIT;
        uint64_t rejected = 0;
        int r;

        uint64_t t0 = now_monotonic_usec();

        r = ensure_session(sh, &err);
        if (r >= 0)
                r = logs_put(sh->session, &st->target, b, &rejected, &err);
        if (r >= 0) {
                /* how long a send takes (a moving average): the flush starts that much earlier */
                sh->put_usec = (sh->put_usec * 7 + (now_monotonic_usec() - t0)) / 8;
                sh->backoff_usec = 0;
                sh->retry_at = 0;
                clear_stream_error(sh, st);
                count_dropped(sh, source_of_group(sh, st->group), rejected,
                              "CloudWatch Logs refused them as too old or too new (rejectedLogEventsInfo)");
                return 0;
        }
        set_stream_error(sh, st, err.msg);
        if (logs_error_is_transient(r)) {
                if (!sh->retry_at)
                        log_warning("cloudwatch_logs: %s; keeping the events in %s/buffer and trying again",
                                    err.msg, sh->logs_dir);
                backoff(sh);
                return -EAGAIN;
        }
        log_error("cloudwatch_logs: %s", err.msg);
        count_dropped(sh, source_of_group(sh, st->group), b->n, "CloudWatch Logs refused the batch");
        return 0;
}

/* Sends what the buffer holds, oldest first, until it is empty or a send fails. */
static int drain_buffer(struct logs_shipper *sh)
{
        struct error err = ERROR_INIT;
        int r = 0;

        while (logs_buffer_batches(sh->buffer) > 0 && !backing_off(sh)) {
                struct logs_batch b = { 0 };
                char *group = NULL, *stream = NULL;
                uint64_t dropped = 0;
                struct lstream *st;

                r = logs_buffer_peek(sh->buffer, &group, &stream, &b, &dropped, &err);
                count_dropped(sh, NULL, dropped, "a file of the disk buffer could not be read");
                if (r == -ENOENT) {
                        r = 0;
                        break;
                }
                if (r < 0) {
                        log_error("cloudwatch_logs: %s", err.msg);
                        break;
                }
                st = stream_get(sh, group, stream, 0);
                if (!st) {
                        r = -ENOMEM;
                } else {
                        struct lsource *s = source_of_group(sh, group);

                        if (s && s->cfg->retention_days && !st->target.retention_days)
                                st->target.retention_days = s->cfg->retention_days;
                        r = put(sh, st, &b);
                        if (r >= 0)
                                r = logs_buffer_pop(sh->buffer, &err);
                }
                free(group);
                free(stream);
                logs_batch_free(&b);
                if (r < 0)
                        break;
        }
        return r == -EAGAIN ? 0 : r;
}

/* Which files' bytes B holds (how far each file's checkpoint moves with it), and the read
 * time of its oldest event. */
static size_t batch_files(const struct logs_batch *b, struct logs_buffer_file *files, int64_t *ret_oldest)
{
        size_t n = 0;

        *ret_oldest = b->n ? b->ev[0].read_usec : 0;
        for (size_t i = 0; i < b->n; i++) {
                const struct logs_event *e = &b->ev[i];
                const enum origin_kind *k = e->origin;
                const struct lfile *f;
                size_t j;

                if (e->read_usec && e->read_usec < *ret_oldest)
                        *ret_oldest = e->read_usec;
                if (!k || *k != ORIGIN_FILE)
                        continue;
                f = e->origin;
                for (j = 0; j < n && !(files[j].dev == f->dev && files[j].ino == f->ino); j++)
                        ;
                if (j == n) {
                        if (n == LOGS_BUFFER_MAX_FILES_PER_BATCH)
                                continue;
                        files[n++] = (struct logs_buffer_file){ f->dev, f->ino, 0 };
                }
                /* bytes of the file from its checkpoint to this event's end */
                if (e->end > f->accepted && e->end - f->accepted > files[j].bytes)
                        files[j].bytes = e->end - f->accepted;
        }
        return n;
}

/* The stream's batch goes out (or to the buffer). */
static int stream_flush(struct logs_shipper *sh, struct lstream *st)
{
        struct logs_buffer_file files[LOGS_BUFFER_MAX_FILES_PER_BATCH];
        struct error err = ERROR_INIT;
        uint64_t dropped = 0;
        int64_t oldest = 0;
        size_t n_files;
        int r;

        if (st->batch.n == 0)
                return 0;
        if (logs_buffer_batches(sh->buffer) > 0 && !backing_off(sh))
                (void)drain_buffer(sh);
        if (logs_buffer_batches(sh->buffer) == 0 && !backing_off(sh)) {
                r = put(sh, st, &st->batch);
                if (r >= 0)
                        goto settled;
        }
        /* Behind the buffer, to keep the order. */
        n_files = batch_files(&st->batch, files, &oldest);
        r = logs_buffer_put(sh->buffer, st->group, st->name, &st->batch, files, n_files, oldest, &dropped, &err);
        if (r < 0) {
                log_error("cloudwatch_logs: %s; the events stay unsent and will be read again after a restart",
                          err.msg);
                sh->failed = true;
                return r;
        }
        sh->failed = true;
        count_dropped(sh, source_of_group(sh, st->group), dropped,
                      "the disk buffer is full (cloudwatch_logs.buffer_max_bytes); the oldest went first");
settled:
        batch_settled(&st->batch);
        logs_batch_clear(&st->batch);
        st->first_usec = 0;
        for (size_t i = 0; i < sh->n_src; i++)
                if (sh->src[i].jr)
                        journal_settle(sh->src[i].jr);
        (void)save_checkpoints(sh);
        return 0;
}

static int flush_all(struct logs_shipper *sh)
{
        int r = 0;

        for (struct lstream *st = sh->streams; st; st = st->next)
                if (stream_flush(sh, st) < 0)
                        r = -EIO;
        return r;
}

static void arm_flush(struct logs_shipper *sh, uint64_t at)
{
        uint64_t cur;

        if (!sh->flush_timer)
                return;
        if (sd_event_source_get_enabled(sh->flush_timer, NULL) > 0 &&
            sd_event_source_get_time(sh->flush_timer, &cur) >= 0 && cur <= at)
                return;
        (void)sd_event_source_set_time(sh->flush_timer, at);
        (void)sd_event_source_set_enabled(sh->flush_timer, SD_EVENT_ONESHOT);
}

/* When ST's batch is due: flush_seconds after its first event was read, less the time a
 * send takes (at most half of flush_seconds), so that it is accepted within flush_seconds. */
static uint64_t flush_due(const struct logs_shipper *sh, const struct lstream *st)
{
        uint64_t lead = sh->put_usec < sh->cfg->flush_usec / 2 ? sh->put_usec : sh->cfg->flush_usec / 2;

        return st->first_usec + sh->cfg->flush_usec - lead;
}

/* An event for ST from ORIGIN. */
static int stream_add(struct logs_shipper *sh, struct lstream *st, struct lsource *s, void *origin, size_t *refs,
                      int64_t ts, const char *msg, size_t len, uint64_t end)
{
        int r;

        switch (logs_event_age(ts, sh->clock_ms)) {
        case LOGS_AGE_TOO_OLD:
                count_dropped(sh, s, 1, "older than 14 days, CloudWatch Logs would refuse it");
                return 1;
        case LOGS_AGE_TOO_NEW:
                count_dropped(sh, s, 1, "more than 2 hours in the future, CloudWatch Logs would refuse it");
                return 1;
        case LOGS_AGE_OK:
                break;
        }
        if (ts < st->last_ts)
                ts = st->last_ts;       /* chronological within a batch, and the order kept */
        if (!logs_batch_fits(&st->batch, len, ts)) {
                r = stream_flush(sh, st);
                if (r < 0)
                        return r;
        }
        r = logs_batch_add(&st->batch, ts, msg, len, origin, end, sh->clock_ms * 1000);
        if (r < 0)
                return r;
        (*refs)++;
        st->last_ts = ts;
        if (st->batch.n == 1) {
                st->first_usec = now_monotonic_usec();
                arm_flush(sh, flush_due(sh, st));
        }
        return 0;
}

static int file_emit(void *userdata, int64_t ts, const char *msg, size_t len, uint64_t end)
{
        struct lfile *f = userdata;
        struct logs_shipper *sh = f->src->sh;
        int r;

        r = stream_add(sh, f->stream, f->src, f, &f->refs, ts, msg, len, end);
        if (r == 1) {
                if (end > f->clear_end)
                        f->clear_end = end;
                return 0;
        }
        if (r >= 0 && !f->oldest_unaccepted_usec)
                f->oldest_unaccepted_usec = sh->clock_ms * 1000;
        return r;
}

/* ---- files ---- */

static void file_free(struct lfile *f)
{
        if (!f)
                return;
        if (f->fd >= 0)
                close(f->fd);
        logs_builder_free(&f->builder);
        free(f->pend);
        free(f->name);
        free(f->ckpt_path);
        free(f);
}

static struct lfile *file_new(struct lsource *s, const char *name, const char *ckpt_path, int fd,
                              const struct stat *st)
{
        struct lfile *f = calloc(1, sizeof(*f));

        if (!f)
                return NULL;
        f->kind = ORIGIN_FILE;
        f->src = s;
        f->fd = fd;
        f->dev = st->st_dev;
        f->ino = st->st_ino;
        f->name = strdup(name);
        f->ckpt_path = ckpt_path ? strdup(ckpt_path) : path_join(s->dir, name);
        logs_builder_init(&f->builder, s->cfg->has_start ? &s->cfg->start : NULL, s->cfg->ts_format);
        f->stream = stream_for(s->sh, s, base_name(f->ckpt_path ? f->ckpt_path : name));
        if (!f->name || !f->ckpt_path || !f->stream) {
                f->fd = -1;
                file_free(f);
                return NULL;
        }
        return f;
}

static void source_append(struct lsource *s, struct lfile *f)
{
        struct lfile **p = &s->files;

        while (*p)
                p = &(*p)->next;
        *p = f;
}

static size_t source_count(const struct lsource *s)
{
        size_t n = 0;

        for (const struct lfile *f = s->files; f; f = f->next)
                n++;
        return n;
}

static int pend_reserve(struct lfile *f, size_t more)
{
        size_t want = f->pend_len + more;
        char *n;

        if (want <= f->pend_alloc)
                return 0;
        if (want < f->pend_alloc * 2)
                want = f->pend_alloc * 2;
        n = realloc(f->pend, want + 1);
        if (!n)
                return -ENOMEM;
        f->pend = n;
        f->pend_alloc = want;
        return 0;
}

/* Feeds the whole lines of pend (all of it when FINAL) to the builder. */
static int file_lines(struct lfile *f, bool final)
{
        int64_t t = now_ms();

        f->src->sh->clock_ms = t;
        size_t start = 0;
        char *nl;
        int r;

        while (start < f->pend_len && (nl = memchr(f->pend + start, '\n', f->pend_len - start))) {
                size_t len = (size_t)(nl - (f->pend + start)), skip = 0;

                /* NUL bytes at a line's start are a hole, not text: what a writer without
                 * O_APPEND leaves after a copytruncate, or a log's punched-out start */
                while (skip < len && f->pend[start + skip] == '\0')
                        skip++;
                r = logs_builder_line(&f->builder, f->pend + start + skip, len - skip, f->pend_off + start,
                                      f->pend_off + start + len + 1, t, file_emit, f);
                if (r < 0)
                        return r;
                start += len + 1;
        }
        if (start < f->pend_len && (final || f->pend_len - start >= LOGS_LINE_MAX)) {
                size_t len = f->pend_len - start;

                r = pend_reserve(f, 1);     /* the builder writes a NUL after the line */
                if (r < 0)
                        return r;
                r = logs_builder_line(&f->builder, f->pend + start, len, f->pend_off + start,
                                      f->pend_off + start + len, t, file_emit, f);
                if (r < 0)
                        return r;
                start += len;
        }
        if (start > 0)          /* f->pend may be NULL when nothing was read */
                memmove(f->pend, f->pend + start, f->pend_len - start);
        f->pend_len -= start;
        f->pend_off += start;
        return 0;
}

/* Reads F from pos up to BUDGET bytes (0: to its end). */
static int file_read(struct logs_shipper *sh, struct lfile *f, size_t budget)
{
        size_t done = 0;
        int r;

        f->at_eof = false;
        if (f->fd < 0)
                return 0;
        while (budget == 0 || done < budget) {
                ssize_t n;

                r = pend_reserve(f, LOGS_READ_CHUNK);
                if (r < 0)
                        return r;
                n = pread(f->fd, f->pend + f->pend_len, LOGS_READ_CHUNK, (off_t)f->pos);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        source_error(f->src, "%s: cannot read: %s", f->ckpt_path, strerror(-r));
                        return r;
                }
                if (n == 0) {
                        f->at_eof = true;
                        break;
                }
                f->pend_len += (size_t)n;
                f->pos += (uint64_t)n;
                done += (size_t)n;
                r = file_lines(f, false);
                if (r < 0)
                        return r;
        }
        if (f->fp.len < LOGS_FP_BYTES && f->pos > f->fp.len && !head_is_hole(f->fd, f->fp.len ? f->fp.len : 1))
                (void)logs_fp_of_fd(f->fd, &f->fp);
        return 0;
}

/* Reads what is left of a rotated file, its last line too, and closes it. */
static int file_finish(struct logs_shipper *sh, struct lfile *f)
{
        int r = file_read(sh, f, 0);

        if (r >= 0)
                r = file_lines(f, true);
        sh->clock_ms = now_ms();
        if (r >= 0)
                r = logs_builder_flush(&f->builder, file_emit, f);
        if (f->fd >= 0)
                close(f->fd);
        f->fd = -1;
        f->done = true;
        f->rotated = false;
        return r;
}

struct dent {
        char *name;
        uint64_t ino;
};

struct listing {
        struct dent *d;
        size_t n, alloc;
};

static void listing_free(struct listing *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->d[i].name);
        free(l->d);
        memset(l, 0, sizeof(*l));
}

static int list_dir(int dirfd, struct listing *ret)
{
        struct listing l = { 0 };
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirent *de;
        DIR *d;

        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
                        continue;
                if (l.n == l.alloc) {
                        size_t na = l.alloc ? l.alloc * 2 : 32;
                        struct dent *nd = realloc(l.d, na * sizeof(*nd));

                        if (!nd)
                                goto nomem;
                        l.d = nd;
                        l.alloc = na;
                }
                l.d[l.n].name = strdup(de->d_name);
                if (!l.d[l.n].name)
                        goto nomem;
                l.d[l.n++].ino = de->d_ino;
        }
        closedir(d);
        *ret = l;
        return 0;
nomem:
        closedir(d);
        listing_free(&l);
        return -ENOMEM;
}

static const struct dent *listing_name(const struct listing *l, const char *name)
{
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->d[i].name, name) == 0)
                        return &l->d[i];
        return NULL;
}

static bool name_matches(const struct lsource *s, const char *name)
{
        return fnmatch(s->pattern, name, FNM_PERIOD) == 0;
}

/* A rotated copy of a file named ORIG: ORIG.1, ORIG.0, ORIG-20240101, ORIG.1.log ..., not compressed. */
static bool is_sibling(const char *orig, const char *name)
{
        size_t n = strlen(orig);
        const char *ext;

        if (strncmp(name, orig, n) != 0 || (name[n] != '.' && name[n] != '-' && name[n] != '_'))
                return false;
        ext = strrchr(name, '.');
        /* a rotation's temporary (opsagent's logrotate: NAME.1.opsagent-tmp; logrotate's
         * NAME.1.tmp) is still being written: it is read once renamed */
        if (ext && (!strcmp(ext, ".opsagent-tmp") || !strcmp(ext, ".tmp")))
                return false;
        if (ext && (!strcmp(ext, ".gz") || !strcmp(ext, ".xz") || !strcmp(ext, ".zst") || !strcmp(ext, ".bz2") ||
                    !strcmp(ext, ".lz4") || !strcmp(ext, ".Z") || !strcmp(ext, ".zip")))
                return false;
        return true;
}

/* Opens the entry D of the listing, the file it named when listed: -ESTALE (and the source
 * is scanned again) when another file has taken the name since (a rotation meanwhile). */
static int open_entry(struct lsource *s, const struct dent *d, struct stat *st)
{
        int fd = openat(s->dirfd, d->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

        if (fd < 0)
                return -errno;
        if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
                close(fd);
                return -EINVAL;
        }
        if ((uint64_t)st->st_ino != d->ino) {
                close(fd);
                s->dirty = true;
                kick(s->sh);
                return -ESTALE;
        }
        return fd;
}

/* Whether the first LEN bytes of FD are all NUL: opsagent's copytruncate punches the copied
 * part out of a log (a hole) just before it truncates it; that is not a truncation yet. */
static bool head_is_hole(int fd, size_t len)
{
        unsigned char b[LOGS_FP_BYTES];
        ssize_t n;

        if (len > sizeof(b))
                len = sizeof(b);
        n = pread(fd, b, len, 0);
        if (n <= 0)
                return false;
        for (ssize_t i = 0; i < n; i++)
                if (b[i])
                        return false;
        return true;
}

/* Among ORIG's siblings (not inode NOT_INO), a file whose first bytes are FP and which holds at
 * least MIN bytes: its descriptor, stat and name (*ret_name borrowed from L). */
static struct lfile *tracked(struct lsource *s, uint64_t dev, uint64_t ino);

static int find_copy(struct lsource *s, const struct listing *l, const char *orig, uint64_t not_ino,
                     const struct logs_fp *fp, uint64_t min, struct stat *ret_st, const char **ret_name)
{
        for (size_t i = 0; i < l->n; i++) {
                struct stat st;
                int fd;

                const struct lfile *t;

                if (l->d[i].ino == not_ino || !is_sibling(orig, l->d[i].name))
                        continue;
                t = tracked(s, 0, l->d[i].ino);
                if (t && !t->await_copy_until)
                        continue;       /* a file of its own, read already */
                fd = open_entry(s, &l->d[i], &st);
                if (fd < 0)
                        continue;
                if ((uint64_t)st.st_size >= min && logs_fp_matches(fd, fp)) {
                        *ret_st = st;
                        *ret_name = l->d[i].name;
                        return fd;
                }
                close(fd);
        }
        return -ENOENT;
}

/* F (the file at its name) was truncated in place (copytruncate): F becomes the copy the
 * rotation left, finished from where F was, and a new file takes F's place from offset 0. */
static int file_truncated(struct logs_shipper *sh, struct lfile *f, const struct listing *l)
{
        struct lsource *s = f->src;
        const char *copy_name = NULL;
        struct stat st, cst;
        struct lfile *nf;
        int cfd;

        if (fstat(f->fd, &st) < 0)
                return -errno;
        cfd = find_copy(s, l, f->name, f->ino, &f->fp, f->pos, &cst, &copy_name);
        nf = file_new(s, f->name, f->ckpt_path, f->fd, &st);
        if (!nf) {
                if (cfd >= 0)
                        close(cfd);
                return -ENOMEM;
        }
        (void)logs_fp_of_fd(nf->fd, &nf->fp);
        nf->stream = f->stream;
        nf->next = f->next;
        f->next = nf;
        sh->ckpt_dirty = true;
        if (cfd >= 0) {
                char *n = strdup(copy_name), *cp = path_join(s->dir, copy_name);

                if (!n || !cp) {
                        free(n);
                        free(cp);
                        close(cfd);
                        f->fd = -1;
                        return -ENOMEM;
                }
                log_info("cloudwatch_logs: %s was truncated (copytruncate): finishing its copy %s from offset %" PRIu64,
                         f->ckpt_path, cp, f->pos);
                free(f->name);
                free(f->ckpt_path);
                f->name = n;
                f->ckpt_path = cp;
                f->fd = cfd;
                f->dev = cst.st_dev;
                f->ino = cst.st_ino;
                f->rotated = true;
        } else if (sh->once) {
                log_warning("cloudwatch_logs: %s was truncated, but no copy with its first bytes is next to it "
                            "(%s.1, %s-DATE, uncompressed): what was written after offset %" PRIu64
                            " before the truncation may not have been shipped", f->ckpt_path, f->name, f->name,
                            f->pos);
                source_error(s, "%s: truncated without a copy to finish from offset %" PRIu64, f->ckpt_path, f->pos);
                f->fd = -1;     /* now nf's */
                f->rotated = true;
        } else {
                /* The rotation may not have given its copy its name yet (a temporary renamed
                 * after the truncation): look again for a while. */
                f->fd = -1;     /* now nf's */
                f->await_copy_until = now_monotonic_usec() + LOGS_COPY_WAIT_USEC;
                arm_flush(sh, f->await_copy_until);
                s->draining = true;
                return 0;
        }
        return file_finish(sh, f);
}

static struct lfile *tracked(struct lsource *s, uint64_t dev, uint64_t ino)
{
        for (struct lfile *f = s->files; f; f = f->next)
                if (f->ino == ino && (dev == 0 || f->dev == dev))
                        return f;
        return NULL;
}

static int source_open_dir(struct lsource *s)
{
        int fd;

        if (s->dirfd >= 0)
                return 0;
        fd = pathres_open(s->basefd, s->dir, O_RDONLY | O_DIRECTORY, 0, PATHRES_IN_ROOT);
        if (fd < 0) {
                if (!s->warned_missing)
                        log_notice("cloudwatch_logs: source %s: %s%s: %s; watching for it", s->cfg->name,
                                   s->cfg->in_state ? "" : s->sh->root, s->dir, strerror(-fd));
                s->warned_missing = true;
                source_error(s, "%s: %s", s->dir, strerror(-fd));
                return fd;
        }
        s->dirfd = fd;
        s->warned_missing = false;
        if (s->sh->ino_fd >= 0) {
                char proc[64];

                snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
                s->wd = inotify_add_watch(s->sh->ino_fd, proc,
                                          IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                                  IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF);
                if (s->wd < 0)
                        log_warning("cloudwatch_logs: source %s: cannot watch %s: %m", s->cfg->name, s->dir);
        }
        return 0;
}

static int ctime_cmp(const void *a, const void *b)
{
        const struct lfile *const *x = a, *const *y = b;

        return (*x)->grew_usec < (*y)->grew_usec ? -1 : (*x)->grew_usec > (*y)->grew_usec;
}

static int mtime_cmp(const void *a, const void *b)
{
        const struct lfile *const *x = a, *const *y = b;

        return (*x)->mtime_usec < (*y)->mtime_usec ? -1 : (*x)->mtime_usec > (*y)->mtime_usec;
}

/* Rotated copies nobody read: a file of the glob that was created and renamed away (NAME.1,
 * NAME-DATE) between two looks at the directory (while the shipper was down, or busy
 * sending). Such a sibling, unknown by inode and renamed (its ctime) after the previous
 * listing, is read from its start; any other unknown sibling (rotated before the shipper
 * first looked) is only remembered, so that it is never taken for new later. */
static int adopt_siblings(struct logs_shipper *sh, struct lsource *s, const struct listing *l, int64_t prev_scan)
{
        struct lfile *found[16];
        size_t n_found = 0;
        int r = 0;

        for (size_t i = 0; i < l->n; i++) {
                const char *name = l->d[i].name;
                bool sib = false;
                struct stat st;
                struct lfile *f;
                int64_t ct;
                int fd;

                if (name_matches(s, name) || tracked(s, 0, l->d[i].ino))
                        continue;
                for (size_t k = 0; k < l->n && !sib; k++)
                        sib = name_matches(s, l->d[k].name) && is_sibling(l->d[k].name, name);
                for (struct lfile *g = s->files; g && !sib; g = g->next)
                        sib = is_sibling(base_name(g->ckpt_path), name) || is_sibling(g->name, name);
                if (!sib || source_count(s) >= LOGS_MAX_FILES_PER_SOURCE)
                        continue;
                fd = open_entry(s, &l->d[i], &st);
                if (fd < 0)
                        continue;
                {
                        struct logs_fp cfp;
                        bool copy = logs_fp_of_fd(fd, &cfp) < 0 || cfp.len == 0;

                        /* a copy of a file we read (copytruncate's, maybe still being made: then
                         * its bytes are the start of the live file's) is not news: its
                         * truncation finds it; an empty one is looked at again later */
                        for (struct lfile *g = s->files; g && !copy; g = g->next)
                                copy = !g->done && ((g->fp.len > 0 && logs_fp_matches(fd, &g->fp)) ||
                                                    (g->fd >= 0 && logs_fp_matches(g->fd, &cfp)));
                        if (copy) {
                                close(fd);
                                continue;
                        }
                }
                f = file_new(s, name, NULL, fd, &st);
                if (!f) {
                        close(fd);
                        return -ENOMEM;
                }
                (void)logs_fp_of_fd(fd, &f->fp);
                ct = (int64_t)st.st_ctim.tv_sec * 1000000 + st.st_ctim.tv_nsec / 1000;
                if (prev_scan > 0 && ct + 1000000 >= prev_scan && n_found < sizeof(found) / sizeof(found[0])) {
                        ct = (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;
                        log_info("cloudwatch_logs: %s was rotated before the shipper read it: reading it from its "
                                 "start", f->ckpt_path);
                        f->rotated = true;
                        f->grew_usec = (uint64_t)ct;    /* for the order below; reset when read */
                        found[n_found++] = f;
                } else {
                        close(f->fd);
                        f->fd = -1;
                        f->done = true;
                        f->pos = f->pend_off = f->accepted = (uint64_t)st.st_size;
                        source_append(s, f);
                }
                sh->ckpt_dirty = true;
        }
        /* Oldest first, after the rotated files known already (older still: they were known
         * before these were created); before the current files, whose lines are newer, since
         * rotated files are all read before the current ones. */
        qsort(found, n_found, sizeof(found[0]), ctime_cmp);
        for (size_t i = 0; i < n_found; i++) {
                found[i]->grew_usec = 0;
                source_append(s, found[i]);
        }
        return r;
}

/* Looks at the directory: files renamed away (finish them), truncated (finish their copy),
 * new (read them from the start), then reads every current file. */
static int source_scan(struct logs_shipper *sh, struct lsource *s, size_t budget, bool *more)
{
        struct listing l = { 0 };
        int64_t prev_scan;
        int r;

        if (source_open_dir(s) < 0)
                return 0;
        s->draining = false;
        prev_scan = s->scanned_usec;
        s->scanned_usec = now_realtime_usec();
        r = list_dir(s->dirfd, &l);
        if (r < 0) {
                source_error(s, "%s: cannot list: %s", s->dir, strerror(-r));
                return r == -ENOMEM ? r : 0;
        }
        /* Which files are still at their names. */
        for (struct lfile *f = s->files; f; f = f->next) {
                const struct dent *d;

                if (f->done || f->rotated)
                        continue;
                d = listing_name(&l, f->name);
                if (d && d->ino == f->ino)
                        continue;
                f->rotated = true;
                for (size_t i = 0; i < l.n; i++)
                        if (l.d[i].ino == f->ino && name_matches(s, l.d[i].name)) {
                                char *n = strdup(l.d[i].name);

                                if (n) {        /* renamed to another name of the glob: still current */
                                        free(f->name);
                                        f->name = n;
                                        f->rotated = false;
                                        sh->ckpt_dirty = true;
                                }
                                break;
                        }
        }
        for (struct lfile *f = s->files; f; f = f->next) {
                const char *copy_name = NULL;
                struct stat cst;
                int cfd;

                if (!f->await_copy_until)
                        continue;
                cfd = find_copy(s, &l, f->name, f->ino, &f->fp, f->pos, &cst, &copy_name);
                if (cfd >= 0) {
                        char *n = strdup(copy_name), *cp = path_join(s->dir, copy_name);

                        if (!n || !cp) {
                                free(n);
                                free(cp);
                                close(cfd);
                                r = -ENOMEM;
                                goto out;
                        }
                        log_info("cloudwatch_logs: %s was truncated (copytruncate): finishing its copy %s from "
                                 "offset %" PRIu64, f->ckpt_path, cp, f->pos);
                        free(f->name);
                        free(f->ckpt_path);
                        f->name = n;
                        f->ckpt_path = cp;
                        f->fd = cfd;
                        f->dev = cst.st_dev;
                        f->ino = cst.st_ino;
                        f->rotated = true;
                        f->await_copy_until = 0;
                        f->grew_usec = 0;
                        sh->ckpt_dirty = true;
                } else if (sh->once || now_monotonic_usec() >= f->await_copy_until) {
                        log_warning("cloudwatch_logs: %s was truncated, but no copy with its first bytes is next to "
                                    "it (%s.1, %s-DATE, uncompressed): what was written after offset %" PRIu64
                                    " before the truncation may not have been shipped", f->ckpt_path, f->name,
                                    f->name, f->pos);
                        source_error(s, "%s: truncated without a copy to finish from offset %" PRIu64, f->ckpt_path,
                                     f->pos);
                        f->await_copy_until = 0;
                        f->rotated = true;
                        r = file_finish(sh, f);
                        if (r < 0)
                                goto out;
                } else {
                        s->draining = true;
                        arm_flush(sh, f->await_copy_until);
                }
        }
        r = adopt_siblings(sh, s, &l, prev_scan);
        if (r < 0)
                goto out;
        /* Read the rotated ones first: their lines came before the new file's; among them the
         * one written to last goes last (the order of a glob's generations, whatever order
         * they were found in). A writer may go on writing to a renamed file until it reopens
         * its log: it is closed once it has not grown for LOGS_ROTATED_GRACE_USEC (--once: at
         * its end). */
        {
                struct lfile *rot[LOGS_MAX_FILES_PER_SOURCE + 16];
                uint64_t t0 = now_monotonic_usec();
                size_t n_rot = 0;

                for (struct lfile *f = s->files; f && n_rot < sizeof(rot) / sizeof(rot[0]); f = f->next)
                        if (f->rotated) {
                                struct stat st;

                                f->mtime_usec = f->fd >= 0 && fstat(f->fd, &st) >= 0
                                                        ? (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000
                                                        : 0;
                                rot[n_rot++] = f;
                        }
                qsort(rot, n_rot, sizeof(rot[0]), mtime_cmp);
                for (size_t i = 0; i < n_rot; i++) {
                        struct lfile *f = rot[i];
                        uint64_t before = f->pos, now;

                        r = file_read(sh, f, 0);
                        if (r < 0 && r != -ENOMEM)
                                r = file_finish(sh, f);
                        if (r < 0)
                                goto out;
                        now = now_monotonic_usec();
                        if (!f->grew_usec && f->pos == before && f->mtime_usec &&
                            now_realtime_usec() - f->mtime_usec >= (int64_t)LOGS_ROTATED_GRACE_USEC)
                                f->grew_usec = now - LOGS_ROTATED_GRACE_USEC;  /* idle long since */
                        else if (!f->grew_usec || f->pos != before)
                                f->grew_usec = now;
                        if (!f->rotated)
                                continue;
                        if (sh->once || now - f->grew_usec >= LOGS_ROTATED_GRACE_USEC) {
                                r = file_finish(sh, f);
                                if (r < 0)
                                        goto out;
                        } else {
                                s->draining = true;
                                arm_flush(sh, f->grew_usec + LOGS_ROTATED_GRACE_USEC);
                        }
                }
                /* Reading them took a while (sends): the directory may have moved on (another
                 * rotation made a copy of lines the live file no longer has). Look again before
                 * the live files, so that such a copy is read before their new lines. */
                if (n_rot > 0 && now_monotonic_usec() - t0 > LOGS_RESCAN_AFTER_USEC) {
                        s->dirty = true;
                        kick(sh);
                        r = 0;
                        goto out;
                }
        }
        /* Truncated in place? */
        for (struct lfile *f = s->files; f; f = f->next) {
                struct stat st;

                if (f->done || f->rotated || f->fd < 0 || fstat(f->fd, &st) < 0)
                        continue;
                if ((uint64_t)st.st_size < f->pos || (uint64_t)st.st_size < f->seen_size ||
                    (f->fp.len > 0 && !logs_fp_matches(f->fd, &f->fp) && !head_is_hole(f->fd, f->fp.len))) {
                        r = file_truncated(sh, f, &l);
                        if (r < 0)
                                goto out;
                } else if ((uint64_t)st.st_size > f->seen_size) {
                        f->seen_size = (uint64_t)st.st_size;
                }
        }
        /* New files. */
        for (size_t i = 0; i < l.n; i++) {
                struct lfile *f;
                struct stat st;
                bool copy = false;
                int fd;

                if (!name_matches(s, l.d[i].name) || tracked(s, 0, l.d[i].ino))
                        continue;
                fd = open_entry(s, &l.d[i], &st);
                if (fd < 0)
                        continue;
                if (tracked(s, st.st_dev, st.st_ino)) {
                        close(fd);
                        continue;
                }
                /* A copy of a file we read (copytruncate's, before the truncation): not new. */
                for (struct lfile *g = s->files; g && !copy; g = g->next)
                        if (!g->done && g->fp.len > 0 && g->fp.len == LOGS_FP_BYTES && logs_fp_matches(fd, &g->fp))
                                copy = true;
                if (copy || source_count(s) >= LOGS_MAX_FILES_PER_SOURCE) {
                        close(fd);
                        continue;
                }
                f = file_new(s, l.d[i].name, NULL, fd, &st);
                if (!f) {
                        close(fd);
                        r = -ENOMEM;
                        goto out;
                }
                (void)logs_fp_of_fd(fd, &f->fp);
                log_debug("cloudwatch_logs: source %s: reading %s (inode %" PRIu64 ") from its start", s->cfg->name, f->ckpt_path, f->ino);
                source_append(s, f);
                sh->ckpt_dirty = true;  /* known from now on, even if renamed while we are down */
        }
        /* Read. */
        for (struct lfile *f = s->files; f; f = f->next) {
                bool held = false;

                if (f->done || f->await_copy_until)
                        continue;
                /* a truncated file's new lines wait until the rest of its copy has been read */
                for (struct lfile *g = s->files; g && !held; g = g->next)
                        held = g != f && g->await_copy_until && g->ino == f->ino && g->dev == f->dev;
                if (held)
                        continue;
                r = file_read(sh, f, budget);
                if (r < 0 && r == -ENOMEM)
                        goto out;
                if (!f->at_eof)
                        *more = true;
                else if (logs_builder_pending(&f->builder, NULL))
                        arm_flush(sh, now_monotonic_usec() + sh->cfg->flush_usec);
        }
        /* Forget files done with, accepted, and gone from the directory. */
        for (struct lfile **p = &s->files; *p;) {
                struct lfile *f = *p;
                bool present = false;

                for (size_t i = 0; i < l.n && !present; i++)
                        present = l.d[i].ino == f->ino;
                if (f->done && f->refs == 0 && !present) {
                        *p = f->next;
                        file_free(f);
                        continue;
                }
                p = &f->next;
        }
        r = 0;
out:
        listing_free(&l);
        return r;
}

/* At the start: where each checkpointed file is now. */
static int source_resume(struct logs_shipper *sh, struct lsource *s)
{
        json_object *o = logs_checkpoint_source(sh->ckpt, s->cfg->name, false), *files;
        struct listing l = { 0 };
        size_t n;
        int r;

        if (!o || source_open_dir(s) < 0)
                return 0;
        s->scanned_usec = json_object_get_int64(json_object_object_get(o, "scanned_usec"));
        files = json_object_object_get(o, "files");
        if (!json_object_is_type(files, json_type_array))
                return 0;
        r = list_dir(s->dirfd, &l);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        n = json_object_array_length(files);
        for (size_t i = 0; i < n; i++) {
                json_object *fo = json_object_array_get_idx(files, i);
                bool done = json_object_get_boolean(json_object_object_get(fo, "done"));
                const char *name = NULL, *orig;
                struct logs_file_ckpt c;
                struct lfile *f;
                struct stat st;
                int fd = -1;

                if (logs_file_ckpt_from_json(fo, &c) < 0) {
                        log_warning("cloudwatch_logs: %s/%s: a file entry of source %s is malformed; skipped",
                                    sh->logs_dir, LOGS_CHECKPOINTS_FILE, s->cfg->name);
                        continue;
                }
                orig = base_name(c.path);
                /* The same file (inode and first bytes), wherever it is now. */
                for (size_t k = 0; k < l.n && fd < 0; k++) {
                        if (l.d[k].ino != c.ino)
                                continue;
                        fd = open_entry(s, &l.d[k], &st);
                        /* (a head punched out by opsagent's copytruncate, not truncated yet,
                         * is still the same file) */
                        if (fd >= 0 && (st.st_dev != c.dev || (uint64_t)st.st_size < c.offset ||
                                        (!logs_fp_matches(fd, &c.fp) && !head_is_hole(fd, c.fp.len)))) {
                                close(fd);
                                fd = -1;
                                continue;
                        }
                        name = l.d[k].name;
                }
                /* Else its copy (copytruncate while we were down). */
                if (fd < 0 && !done && c.fp.len > 0)
                        fd = find_copy(s, &l, orig, c.ino, &c.fp, c.offset, &st, &name);
                if (fd < 0) {
                        if (!done)
                                log_debug("cloudwatch_logs: %s (checkpointed at %" PRIu64 ") is gone", c.path,
                                          c.offset);
                        continue;
                }
                if (tracked(s, st.st_dev, st.st_ino)) {
                        close(fd);
                        continue;
                }
                {
                        char *cp = path_join(s->dir, name);

                        f = cp ? file_new(s, name, c.path, fd, &st) : NULL;
                        if (f) {
                                free(f->ckpt_path);
                                f->ckpt_path = cp;
                        } else {
                                free(cp);
                        }
                }
                if (!f) {
                        close(fd);
                        r = -ENOMEM;
                        goto out;
                }
                f->pos = f->pend_off = f->accepted = c.offset;
                f->fp = c.fp;
                if (f->fp.len < LOGS_FP_BYTES && !head_is_hole(fd, f->fp.len ? f->fp.len : 1))
                        (void)logs_fp_of_fd(fd, &f->fp);
                if (!name_matches(s, name) || strcmp(orig, name) != 0) {
                        if (name_matches(s, name) && !done) {
                                /* renamed to another name of the glob: still current */
                        } else if (done) {
                                close(f->fd);
                                f->fd = -1;
                                f->done = true;
                        } else {
                                f->rotated = true;
                                log_info("cloudwatch_logs: %s was rotated while the shipper was down: finishing %s "
                                         "from offset %" PRIu64, c.path, f->ckpt_path, c.offset);
                        }
                } else if (done) {
                        /* the file we finished is back under a name of the glob: read on */
                }
                source_append(s, f);
        }
        r = 0;
out:
        listing_free(&l);
        return r;
}

/* ---- the journal ---- */

static int journal_emit(void *userdata, int64_t ts, const char *msg, size_t len, uint64_t end)
{
        struct ljournal *jr = userdata;
        int r = stream_add(jr->src->sh, jr->stream, jr->src, jr, &jr->refs, ts, msg, len, end);

        return r == 1 ? 0 : r;
}

static int journal_open(struct logs_shipper *sh, struct lsource *s)
{
        const struct logs_source_config *c = s->cfg;
        json_object *o = logs_checkpoint_source(sh->ckpt, c->name, false);
        const char *cursor = o ? json_object_get_string(json_object_object_get(o, "cursor")) : NULL;
        struct ljournal *jr = calloc(1, sizeof(*jr));
        char m[512];
        int r;

        if (!jr)
                return -ENOMEM;
        jr->kind = ORIGIN_JOURNAL;
        jr->src = s;
        s->jr = jr;
        logs_builder_init(&jr->builder, c->has_start ? &c->start : NULL, c->ts_format);
        jr->stream = stream_for(sh, s, "journal");
        if (!jr->stream)
                return -ENOMEM;
        if (sh->root[0]) {
                char *dir = path_join(sh->root, "/var/log/journal");

                if (!dir)
                        return -ENOMEM;
                r = sd_journal_open_directory(&jr->j, dir, 0);
                free(dir);
        } else
                r = sd_journal_open(&jr->j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0) {
                source_error(s, "cannot open the journal: %s", strerror(-r));
                log_warning("cloudwatch_logs: source %s: cannot open the journal: %s", c->name, strerror(-r));
                jr->j = NULL;
                return 0;
        }
        for (size_t i = 0; i < c->n_units; i++) {
                snprintf(m, sizeof(m), "_SYSTEMD_UNIT=%s", c->units[i]);
                r = sd_journal_add_match(jr->j, m, 0);
                if (r < 0)
                        return r;
        }
        if (c->priority >= 0) {
                if (c->n_units > 0 && (r = sd_journal_add_conjunction(jr->j)) < 0)
                        return r;
                for (int p = 0; p <= c->priority; p++) {
                        snprintf(m, sizeof(m), "PRIORITY=%d", p);
                        r = sd_journal_add_match(jr->j, m, 0);
                        if (r < 0)
                                return r;
                }
        }
        if (cursor && sd_journal_seek_cursor(jr->j, cursor) >= 0) {
                if (sd_journal_next(jr->j) > 0 && sd_journal_test_cursor(jr->j, cursor) <= 0)
                        (void)sd_journal_previous(jr->j);
                jr->accepted = strdup(cursor);
        } else {
                (void)sd_journal_seek_head(jr->j);
        }
        return 0;
}

static int journal_read(struct logs_shipper *sh, struct ljournal *jr, size_t max, bool *more)
{
        size_t n = 0;
        int r;

        if (!jr->j)
                return 0;
        while (max == 0 || n < max) {
                const void *d;
                size_t len;
                uint64_t usec = 0;
                char *cursor = NULL, *text;

                r = sd_journal_next(jr->j);
                if (r < 0) {
                        source_error(jr->src, "journal: %s", strerror(-r));
                        return 0;
                }
                if (r == 0)
                        return 0;
                n++;
                if (sd_journal_get_cursor(jr->j, &cursor) < 0)
                        continue;
                if (jr->qn == jr->qalloc) {
                        size_t na = jr->qalloc ? jr->qalloc * 2 : 256;
                        struct cursor_ent *nq = realloc(jr->q, na * sizeof(*nq));

                        if (!nq) {
                                free(cursor);
                                return -ENOMEM;
                        }
                        jr->q = nq;
                        jr->qalloc = na;
                }
                jr->q[jr->qn++] = (struct cursor_ent){ ++jr->seq, cursor };
                (void)sd_journal_get_realtime_usec(jr->j, &usec);
                sh->clock_ms = now_ms();
                if (sd_journal_get_data(jr->j, "MESSAGE", &d, &len) < 0 || len < 8)
                        continue;
                text = malloc(len - 8 + 1);
                if (!text)
                        return -ENOMEM;
                memcpy(text, (const char *)d + 8, len - 8);
                r = logs_builder_line(&jr->builder, text, len - 8, jr->seq - 1, jr->seq, (int64_t)(usec / 1000),
                                      journal_emit, jr);
                free(text);
                if (r < 0)
                        return r;
        }
        *more = true;
        return 0;
}

/* ---- status ---- */

static void write_status(struct logs_shipper *sh)
{
        json_object *arr = json_object_new_array(), *top = json_object_new_object();
        int64_t now = now_realtime_usec();
        uint64_t buffered = logs_buffer_bytes(sh->buffer);
        const char *text;
        char *path = path_join(sh->logs_dir, LOGS_STATUS_FILE);

        if (!arr || !top || !path || json_object_object_add(top, "sources", arr) < 0) {
                json_object_put(arr);
                goto out;
        }
        json_object_object_add(top, "updated_usec", json_object_new_int64(now));
        json_object_object_add(top, "pid", json_object_new_int(getpid()));
        for (size_t i = 0; i < sh->n_src; i++) {
                struct lsource *s = &sh->src[i];
                bool any = false;

                for (struct lfile *f = s->files; f || (!any && !s->jr); f = f ? f->next : NULL) {
                        json_object *o = json_object_new_object();
                        uint64_t lag = 0;
                        double lag_s = 0;
                        struct stat st;

                        if (!o || json_object_array_add(arr, o) < 0) {
                                json_object_put(o);
                                goto out;
                        }
                        any = true;
                        json_object_object_add(o, "source", json_object_new_string(s->cfg->name));
                        if (f) {
                                uint64_t in_buffer = 0;
                                int64_t oldest = 0;

                                file_settle(f);
                                logs_buffer_file_lag(sh->buffer, f->dev, f->ino, &in_buffer, &oldest);
                                if (f->fd >= 0 && fstat(f->fd, &st) >= 0 && (uint64_t)st.st_size > f->accepted)
                                        lag = (uint64_t)st.st_size - f->accepted;
                                lag += in_buffer;
                                if (f->oldest_unaccepted_usec && (!oldest || f->oldest_unaccepted_usec < oldest))
                                        oldest = f->oldest_unaccepted_usec;
                                if (lag > 0 && oldest > 0 && now > oldest)
                                        lag_s = (now - oldest) / 1e6;
                                if (lag > 0 && oldest > 0)
                                        json_object_object_add(o, "oldest_usec", json_object_new_int64(oldest));
                                json_object_object_add(o, "buffered_file_bytes", json_object_new_uint64(in_buffer));
                                json_object_object_add(o, "path", json_object_new_string(f->ckpt_path));
                                json_object_object_add(o, "offset", json_object_new_uint64(f->accepted));
                                json_object_object_add(o, "dev", json_object_new_uint64(f->dev));
                                json_object_object_add(o, "ino", json_object_new_uint64(f->ino));
                        } else {
                                json_object_object_add(o, "path", json_object_new_string(s->cfg->path));
                                json_object_object_add(o, "offset", json_object_new_uint64(0));
                        }
                        json_object_object_add(o, "lag_bytes", json_object_new_uint64(lag));
                        json_object_object_add(o, "lag_seconds", json_object_new_double(lag_s));
                        json_object_object_add(o, "buffered_bytes", json_object_new_uint64(buffered));
                        json_object_object_add(o, "dropped_events", json_object_new_uint64(s->dropped));
                        json_object_object_add(o, "last_error", s->last_error[0] ? json_object_new_string(s->last_error)
                                                                                 : NULL);
                        if (!f)
                                break;
                }
                if (s->jr) {
                        json_object *o = json_object_new_object();

                        if (!o || json_object_array_add(arr, o) < 0) {
                                json_object_put(o);
                                goto out;
                        }
                        json_object_object_add(o, "source", json_object_new_string(s->cfg->name));
                        json_object_object_add(o, "path", json_object_new_string("journal"));
                        json_object_object_add(o, "offset", json_object_new_uint64(s->jr->accepted_seq));
                        json_object_object_add(o, "lag_bytes", json_object_new_uint64(0));
                        json_object_object_add(o, "lag_seconds", json_object_new_double(0));
                        json_object_object_add(o, "buffered_bytes", json_object_new_uint64(buffered));
                        json_object_object_add(o, "dropped_events", json_object_new_uint64(s->dropped));
                        json_object_object_add(o, "last_error", s->last_error[0] ? json_object_new_string(s->last_error)
                                                                                 : NULL);
                        if (s->jr->accepted)
                                json_object_object_add(o, "cursor", json_object_new_string(s->jr->accepted));
                }
        }
        text = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN);
        if (text)
                (void)write_file_atomic(path, text, strlen(text), 0600);
        sh->status_saved_usec = now_monotonic_usec();
out:
        free(path);
        json_object_put(top);
}

/* ---- life cycle ---- */

static void flush_builders(struct logs_shipper *sh, bool only_idle)
{
        sh->clock_ms = now_ms();
        for (size_t i = 0; i < sh->n_src; i++) {
                struct lsource *s = &sh->src[i];

                for (struct lfile *f = s->files; f; f = f->next)
                        if (!f->done && (!only_idle || f->at_eof))
                                (void)logs_builder_flush(&f->builder, file_emit, f);
                if (s->jr)
                        (void)logs_builder_flush(&s->jr->builder, journal_emit, s->jr);
        }
}

/* The drop counts survive a restart: from the last status.json. */
static void load_dropped(struct logs_shipper *sh)
{
        char *path = path_join(sh->logs_dir, LOGS_STATUS_FILE);
        struct error err = ERROR_INIT;
        json_object *st = NULL, *arr;
        size_t n;

        if (!path || json_parse_file(path, true, &st, &err) < 0) {
                free(path);
                return;
        }
        arr = json_object_object_get(st, "sources");
        n = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
        for (size_t k = 0; k < n; k++) {
                json_object *o = json_object_array_get_idx(arr, k);
                const char *name = json_get_string(o, "source");
                int64_t d = json_object_get_int64(json_object_object_get(o, "dropped_events"));

                for (size_t i = 0; name && i < sh->n_src; i++)
                        if (strcmp(sh->src[i].cfg->name, name) == 0 && d > 0 && (uint64_t)d > sh->src[i].dropped)
                                sh->src[i].dropped = (uint64_t)d;
        }
        json_object_put(st);
        free(path);
}

int logs_shipper_new(const struct logs_shipper_params *p, struct logs_shipper **ret, struct error *err)
{
        struct logs_shipper *sh = calloc(1, sizeof(*sh));
        char *bdir = NULL;
        int r;

        if (!sh)
                return error_set(err, -ENOMEM, "out of memory");
        sh->ino_fd = -1;
        sh->cfg = p->cfg;
        sh->attrs = p->attrs;
        sh->report = p->report;
        sh->once = p->once;
        sh->root = strdup(p->root ? p->root : "");
        sh->logs_dir = strdup(p->logs_dir);
        sh->instance_id = strdup(p->instance_id ? p->instance_id : "unknown");
        sh->hostname = strdup(p->hostname ? p->hostname : "localhost");
        sh->rbuf = malloc(LOGS_READ_CHUNK);
        sh->src = calloc(p->cfg->n_src ? p->cfg->n_src : 1, sizeof(*sh->src));
        bdir = path_join(p->logs_dir, "buffer");
        if (!sh->root || !sh->logs_dir || !sh->instance_id || !sh->hostname || !sh->rbuf || !sh->src || !bdir) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        r = mkdir_p(p->logs_dir, 0700);
        if (r < 0) {
                error_set(err, r, "%s: cannot create the shipper's state directory: %s", p->logs_dir, strerror(-r));
                goto out;
        }
        r = logs_checkpoint_load(p->logs_dir, &sh->ckpt, err);
        if (r < 0)
                goto out;
        r = logs_buffer_open(bdir, p->cfg->buffer_max_bytes, &sh->buffer, err);
        if (r < 0)
                goto out;
        if (!sh->once) {
                sh->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                if (sh->ino_fd < 0) {
                        r = error_set(err, -errno, "inotify_init1: %m (raise fs.inotify.max_user_instances)");
                        goto out;
                }
        }
        for (size_t i = 0; i < p->cfg->n_src; i++) {
                struct lsource *s = &sh->src[i];
                const struct logs_source_config *c = &p->cfg->src[i];

                s->sh = sh;
                s->cfg = c;
                s->dirfd = -1;
                s->wd = -1;
                s->basefd = -1;
                s->dirty = true;
                sh->n_src++;
                if (c->journal) {
                        r = journal_open(sh, s);
                        if (r < 0) {
                                error_set(err, r, "cloudwatch_logs.sources.%s: cannot read the journal: %s", c->name,
                                          strerror(-r));
                                goto out;
                        }
                        continue;
                }
                if (c->in_state) {
                        char *d = strndup(c->path, (size_t)(base_name(c->path) - c->path));

                        if (!d || mkdir_p(d, 0700) < 0)
                                log_warning("cloudwatch_logs: cannot create the directory of %s", c->path);
                        free(d);
                }
                s->pattern = base_name(c->path);
                s->dir = strndup(c->path, (size_t)(s->pattern - c->path));
                if (!s->dir) {
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                if (strlen(s->dir) > 1)
                        s->dir[strlen(s->dir) - 1] = '\0';      /* no trailing slash */
                s->basefd = open(c->in_state || !sh->root[0] ? "/" : sh->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (s->basefd < 0) {
                        r = error_set(err, -errno, "%s: %m", sh->root[0] ? sh->root : "/");
                        goto out;
                }
                r = source_resume(sh, s);
                if (r < 0) {
                        error_set(err, r, "source %s: %s", c->name, strerror(-r));
                        goto out;
                }
        }
        /* Remember when this shipper first looked, so that a file of a glob created and
         * rotated away before its first scan (a crash in between) is still found by the next. */
        {
                bool first = false;

                for (size_t i = 0; i < sh->n_src; i++)
                        if (!sh->src[i].jr && !sh->src[i].scanned_usec) {
                                sh->src[i].scanned_usec = p->since_usec > 0 ? p->since_usec : now_realtime_usec();
                                first = true;
                        }
                if (first)
                        (void)save_checkpoints(sh);
        }
        load_dropped(sh);
        *ret = sh;
        sh = NULL;
        r = 0;
out:
        free(bdir);
        logs_shipper_free(sh);
        return r;
}

void logs_shipper_free(struct logs_shipper *sh)
{
        if (!sh)
                return;
        for (size_t i = 0; i < sh->n_src; i++) {
                struct lsource *s = &sh->src[i];

                while (s->files) {
                        struct lfile *f = s->files;

                        s->files = f->next;
                        file_free(f);
                }
                if (s->jr) {
                        sd_event_source_unref(s->jr->io);
                        if (s->jr->j)
                                sd_journal_close(s->jr->j);
                        for (size_t k = 0; k < s->jr->qn; k++)
                                free(s->jr->q[k].cursor);
                        free(s->jr->q);
                        free(s->jr->accepted);
                        logs_builder_free(&s->jr->builder);
                        free(s->jr);
                }
                if (s->dirfd >= 0)
                        close(s->dirfd);
                if (s->basefd >= 0)
                        close(s->basefd);
                free(s->dir);
        }
        while (sh->streams) {
                struct lstream *st = sh->streams;

                sh->streams = st->next;
                logs_batch_free(&st->batch);
                buf_free(&st->target.body);
                free(st->target.token);
                free(st->group);
                free(st->name);
                free(st);
        }
        sd_event_source_unref(sh->work);
        sd_event_source_unref(sh->flush_timer);
        sd_event_source_unref(sh->retry_timer);
        sd_event_unref(sh->event);
        if (sh->ino_fd >= 0)
                close(sh->ino_fd);
        aws_session_free(sh->session);
        logs_buffer_free(sh->buffer);
        json_object_put(sh->ckpt);
        free(sh->src);
        free(sh->rbuf);
        free(sh->root);
        free(sh->logs_dir);
        free(sh->instance_id);
        free(sh->hostname);
        free(sh);
}

/* Reads every source as far as it goes now. */
static int read_all(struct logs_shipper *sh, size_t budget, bool *more)
{
        int r;

        for (size_t i = 0; i < sh->n_src; i++) {
                struct lsource *s = &sh->src[i];

                if (s->jr)
                        r = journal_read(sh, s->jr, budget ? 10000 : 0, more);
                else if (s->dirty || budget == 0 || s->dirfd < 0) {
                        bool m = false;

                        s->dirty = false;       /* the scan sets it again when it must look again */
                        r = source_scan(sh, s, budget, &m);
                        if (m)
                                s->dirty = true;
                        if (s->dirty)
                                *more = true;
                } else
                        r = 0;
                if (r < 0)
                        return r;
        }
        if (sh->ckpt_dirty) {
                sh->ckpt_dirty = false;
                (void)save_checkpoints(sh);
        }
        return 0;
}

static void finish_cycle(struct logs_shipper *sh)
{
        report_drops(sh);
        write_status(sh);
}

int logs_shipper_once(struct logs_shipper *sh, struct error *err)
{
        bool more = false;
        int r;

        r = drain_buffer(sh);
        /* again while a scan saw the directory change under it (a rotation meanwhile) */
        for (int pass = 0; r >= 0 && pass < 5 && (pass == 0 || more); pass++) {
                more = false;
                r = read_all(sh, 0, &more);
        }
        if (r < 0) {
                finish_cycle(sh);
                return error_set(err, r, "cloudwatch_logs: %s", strerror(-r));
        }
        flush_builders(sh, false);
        (void)flush_all(sh);
        if (logs_buffer_batches(sh->buffer) > 0 && !backing_off(sh))
                (void)drain_buffer(sh);
        (void)save_checkpoints(sh);
        finish_cycle(sh);
        return sh->failed || logs_buffer_batches(sh->buffer) > 0 ? 1 : 0;
}

/* ---- the service ---- */

static void kick(struct logs_shipper *sh)
{
        if (sh->work)
                (void)sd_event_source_set_enabled(sh->work, SD_EVENT_ONESHOT);
}

static int on_work(sd_event_source *es, void *userdata)
{
        struct logs_shipper *sh = userdata;
        bool more = false;
        int r;

        (void)es;
        r = read_all(sh, LOGS_READ_BUDGET, &more);
        if (r < 0)
                log_error_errno(r, "cloudwatch_logs: reading the sources: %m");
        if (more)
                kick(sh);
        if (now_monotonic_usec() - sh->status_saved_usec > 1000000)
                finish_cycle(sh);
        return 0;
}

static int on_inotify(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        struct logs_shipper *sh = userdata;
        union {
                struct inotify_event ev;
                char raw[64 * 1024];
        } b;
        ssize_t n;

        (void)es;
        (void)revents;
        while ((n = read(fd, &b, sizeof(b))) > 0) {
                for (char *p = b.raw; p < b.raw + n;) {
                        struct inotify_event *e = (struct inotify_event *)p;

                        for (size_t i = 0; i < sh->n_src; i++) {
                                struct lsource *s = &sh->src[i];

                                if (s->wd != e->wd && !(e->mask & IN_Q_OVERFLOW))
                                        continue;
                                s->dirty = true;
                                if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                                        if (s->wd >= 0 && !(e->mask & IN_IGNORED))
                                                (void)inotify_rm_watch(sh->ino_fd, s->wd);
                                        s->wd = -1;
                                        if (s->dirfd >= 0)
                                                close(s->dirfd);
                                        s->dirfd = -1;
                                }
                        }
                        p += sizeof(struct inotify_event) + e->len;
                }
        }
        kick(sh);
        return 0;
}

static int on_journal(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        struct ljournal *jr = userdata;

        (void)es;
        (void)fd;
        (void)revents;
        (void)sd_journal_process(jr->j);
        kick(jr->src->sh);
        return 0;
}

static int on_flush(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct logs_shipper *sh = userdata;
        uint64_t now = now_monotonic_usec(), next = 0;

        (void)es;
        (void)usec;
        for (size_t i = 0; i < sh->n_src; i++)
                if (sh->src[i].draining) {
                        sh->src[i].dirty = true;
                        kick(sh);
                }
        flush_builders(sh, true);
        for (struct lstream *st = sh->streams; st; st = st->next) {
                if (st->batch.n == 0)
                        continue;
                if (flush_due(sh, st) <= now)
                        (void)stream_flush(sh, st);
                else if (!next || flush_due(sh, st) < next)
                        next = flush_due(sh, st);
        }
        if (next)
                arm_flush(sh, next);
        finish_cycle(sh);
        return 0;
}

static int on_retry(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct logs_shipper *sh = userdata;

        (void)es;
        (void)usec;
        (void)drain_buffer(sh);
        finish_cycle(sh);
        return 0;
}

static int on_dirs(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct logs_shipper *sh = userdata;

        for (size_t i = 0; i < sh->n_src; i++)
                if (!sh->src[i].jr && sh->src[i].dirfd < 0)
                        sh->src[i].dirty = true;
        kick(sh);
        (void)sd_event_source_set_time(es, usec + 10 * 1000000ULL);
        return 0;
}

static int on_watchdog(sd_event_source *es, uint64_t usec, void *userdata)
{
        uint64_t *interval = userdata;

        (void)sd_notify(0, "WATCHDOG=1");
        (void)sd_event_source_set_time(es, usec + *interval);
        return 0;
}

static int on_signal(sd_event_source *es, const struct signalfd_siginfo *si, void *userdata)
{
        (void)si;
        (void)userdata;
        (void)sd_notify(0, "STOPPING=1");
        return sd_event_exit(sd_event_source_get_event(es), 0);
}

int logs_shipper_run(struct logs_shipper *sh, struct error *err)
{
        sd_event_source *dirs = NULL, *wd = NULL;
        uint64_t wd_usec = 0, wd_half = 0;
        bool more = false;
        sigset_t ss;
        int r;

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return error_set(err, -errno, "sigprocmask: %m");
        r = sd_event_new(&sh->event);
        if (r < 0)
                return error_set(err, r, "sd_event_new: %s", strerror(-r));
        if ((r = sd_event_add_signal(sh->event, NULL, SIGTERM, on_signal, sh)) < 0 ||
            (r = sd_event_add_signal(sh->event, NULL, SIGINT, on_signal, sh)) < 0 ||
            (r = sd_event_add_io(sh->event, NULL, sh->ino_fd, EPOLLIN, on_inotify, sh)) < 0 ||
            (r = sd_event_add_defer(sh->event, &sh->work, on_work, sh)) < 0 ||
            (r = sd_event_add_time(sh->event, &sh->flush_timer, CLOCK_MONOTONIC, 0, 1000, on_flush, sh)) < 0 ||
            (r = sd_event_add_time(sh->event, &sh->retry_timer, CLOCK_MONOTONIC, 0, 1000, on_retry, sh)) < 0 ||
            (r = sd_event_add_time_relative(sh->event, &dirs, CLOCK_MONOTONIC, 10 * 1000000ULL, 1000000, on_dirs,
                                            sh)) < 0) {
                error_set(err, r, "sd-event: %s", strerror(-r));
                goto out;
        }
        (void)sd_event_source_set_enabled(sh->flush_timer, SD_EVENT_OFF);
        (void)sd_event_source_set_enabled(sh->retry_timer, SD_EVENT_OFF);
        (void)sd_event_source_set_enabled(dirs, SD_EVENT_ON);
        if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
                wd_half = wd_usec / 2;
                r = sd_event_add_time_relative(sh->event, &wd, CLOCK_MONOTONIC, wd_half, 1000, on_watchdog, &wd_half);
                if (r < 0) {
                        error_set(err, r, "sd-event: %s", strerror(-r));
                        goto out;
                }
                (void)sd_event_source_set_enabled(wd, SD_EVENT_ON);
        }
        for (size_t i = 0; i < sh->n_src; i++) {
                struct ljournal *jr = sh->src[i].jr;
                int fd;

                if (!jr || !jr->j)
                        continue;
                fd = sd_journal_get_fd(jr->j);
                if (fd < 0 || sd_event_add_io(sh->event, &jr->io, fd, (uint32_t)sd_journal_get_events(jr->j),
                                              on_journal, jr) < 0)
                        log_warning("cloudwatch_logs: source %s: cannot watch the journal", sh->src[i].cfg->name);
        }
        (void)drain_buffer(sh);
        (void)sd_event_source_set_enabled(sh->work, SD_EVENT_ONESHOT);
        (void)sd_notify(0, "READY=1\nSTATUS=shipping logs to CloudWatch Logs");
        r = sd_event_loop(sh->event);
        if (r < 0) {
                error_set(err, r, "sd-event loop: %s", strerror(-r));
                goto out;
        }
        /* Stopping: what is read goes out (one attempt), the checkpoints are saved. */
        (void)read_all(sh, LOGS_READ_BUDGET, &more);
        flush_builders(sh, false);
        (void)flush_all(sh);
        (void)save_checkpoints(sh);
        finish_cycle(sh);
        r = 0;
out:
        sd_event_source_unref(dirs);
        sd_event_source_unref(wd);
        return r;
}
