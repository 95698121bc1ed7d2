#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "spool.h"
#include "util/buf.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"

#define SPOOL_FILE "metrics.spool"
#define CURSOR_FILE "cursor.json"
#define LOCK_FILE "lock"
#define SPOOL_MAGIC "opsagent-spool 1 "
#define SPOOL_ID_LEN 16
#define SPOOL_HEADER_LEN (sizeof(SPOOL_MAGIC) - 1 + SPOOL_ID_LEN + 1)
/* Whole spool file read into memory; anything larger is refused with advice. */
#define SPOOL_FILE_HARD_MAX (256ULL << 20)
#define CURSOR_FILE_MAX 4096

/* ---- the spool ---- */

struct spool {
        char *dir;
        char *path;
        char *cursor_path;
        int lock_fd;
        struct spool_limits lim;
        char id[SPOOL_ID_LEN + 1];     /* "" when there is no spool file */
        uint64_t size;                 /* bytes of the spool file (all valid) */
        uint64_t cursor;               /* offset of the first pending record */
        uint64_t dropped;
};

const char *spool_path(const struct spool *s)
{
        return s->path;
}

uint64_t spool_dropped(const struct spool *s)
{
        return s->dropped;
}

static void new_id(char id[SPOOL_ID_LEN + 1])
{
        uint8_t rnd[SPOOL_ID_LEN / 2];

        if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
                struct timespec ts;
                uint64_t x;

                clock_gettime(CLOCK_REALTIME, &ts);
                x = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40);
                memcpy(rnd, &x, sizeof(rnd));
        }
        for (size_t i = 0; i < sizeof(rnd); i++)
                snprintf(id + 2 * i, 3, "%02x", rnd[i]);
}

/* Writes the cursor; ERR (may be NULL) says what failed. */
static int cursor_save(struct spool *s, struct error *err)
{
        char text[256];
        int n, r;

        n = snprintf(text, sizeof(text), "{\"spool_id\": \"%s\", \"offset\": %" PRIu64 ", \"dropped\": %" PRIu64 "}\n",
                     s->id, s->cursor, s->dropped);
        r = write_file_atomic(s->cursor_path, text, (size_t)n, 0600);
        if (r < 0)
                error_set(err, r, "%s: cannot write the spool cursor: %s", s->cursor_path, strerror(-r));
        return r;
}

/* Reads the cursor file: fills *ret_id, *ret_offset, s->dropped. Missing is fine. */
static int cursor_load(struct spool *s, char ret_id[SPOOL_ID_LEN + 1], uint64_t *ret_offset)
{
        char *text = NULL;
        json_object *o = NULL, *v;
        const char *id;
        int r;

        ret_id[0] = '\0';
        *ret_offset = 0;
        r = read_file_capped(s->cursor_path, CURSOR_FILE_MAX, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        o = json_tokener_parse(text);
        id = o ? json_get_string(o, "spool_id") : NULL;
        if (!id || strlen(id) > SPOOL_ID_LEN) {
                log_warning("%s: not a spool cursor; the spool is sent from its start", s->cursor_path);
                goto out;
        }
        snprintf(ret_id, SPOOL_ID_LEN + 1, "%s", id);
        if (json_object_object_get_ex(o, "offset", &v) && json_object_is_type(v, json_type_int) &&
            json_object_get_int64(v) > 0)
                *ret_offset = (uint64_t)json_object_get_int64(v);
        if (json_object_object_get_ex(o, "dropped", &v) && json_object_is_type(v, json_type_int) &&
            json_object_get_int64(v) > 0)
                s->dropped = (uint64_t)json_object_get_int64(v);
out:
        json_object_put(o);
        free(text);
        return 0;
}

/* Whether one line of the spool file (without its newline, "CRC32HEX JSON") is whole: its CRC
 * matches. This is all a load needs to find a torn tail; only a flush parses the JSON. */
static bool record_whole(const char *line, size_t len)
{
        unsigned long want;
        char hex[9], *end;

        if (len < 10 || line[8] != ' ')
                return false;
        memcpy(hex, line, 8);
        hex[8] = '\0';
        want = strtoul(hex, &end, 16);
        return !*end && want == crc32(0L, (const Bytef *)line + 9, (uInt)(len - 9));
}

/* One line of the spool file, without its newline: "CRC32HEX JSON". */
static int record_parse(const char *line, size_t len, struct metric_batch *ret)
{
        json_tokener *tok = NULL;
        json_object *o = NULL;
        int r = -EBADMSG;

        if (!record_whole(line, len))
                return -EBADMSG;
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, line + 9, (int)(len - 9));
        if (!o || json_tokener_get_error(tok) != json_tokener_success ||
            json_tokener_get_parse_end(tok) != len - 9)
                goto out;
        r = metric_batch_from_json(o, ret);
out:
        json_object_put(o);
        json_tokener_free(tok);
        return r;
}

static int record_format(const struct metric_batch *b, struct buf *out)
{
        json_object *o = NULL;
        const char *js;
        size_t len;
        int r;

        r = metric_batch_to_json(b, &o);
        if (r < 0)
                return r;
        js = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!js) {
                r = -ENOMEM;
                goto out;
        }
        r = buf_printf(out, "%08lx ", (unsigned long)crc32(0L, (const Bytef *)js, (uInt)len));
        if (r >= 0)
                r = buf_append(out, js, len);
        if (r >= 0)
                r = buf_append(out, "\n", 1);
out:
        json_object_put(o);
        return r;
}

/* Reads the whole spool file (s->size bytes). *ret NULL when there is no file. */
static int spool_read(struct spool *s, char **ret, size_t *ret_len, struct error *err)
{
        int r;

        *ret = NULL;
        *ret_len = 0;
        if (!s->id[0])
                return 0;
        r = read_file_capped(s->path, SPOOL_FILE_HARD_MAX, ret, ret_len);
        if (r == -EFBIG)
                return error_set(err, r, "%s: the spool is larger than %llu MiB; move it away and "
                                 "lower cloudwatch.spool_max_bytes", s->path,
                                 (unsigned long long)(SPOOL_FILE_HARD_MAX >> 20));
        if (r < 0)
                return error_set(err, r, "%s: cannot read the metrics spool: %s", s->path, strerror(-r));
        return 0;
}

/* Iterates the records of DATA from OFF: *ret_end is the offset after the line, *ret_ok
 * whether it parsed (then *ret_b holds it; caller frees) or, when RET_B is NULL, whether it is
 * whole. 0 at the end of the data. A last line without its newline counts as a bad record
 * ending at LEN. */
static int next_record(const char *data, size_t len, uint64_t off, uint64_t *ret_end, bool *ret_ok,
                       struct metric_batch *ret_b)
{
        const char *nl;
        int r;

        if (off >= len)
                return 0;
        nl = memchr(data + off, '\n', len - off);
        if (!nl) {
                *ret_end = len;
                *ret_ok = false;
                return 1;
        }
        *ret_end = (uint64_t)(nl - data) + 1;
        if ((size_t)(nl - data) - off > SPOOL_RECORD_MAX_BYTES) {
                *ret_ok = false;
                return 1;
        }
        if (!ret_b) {
                *ret_ok = record_whole(data + off, (size_t)(nl - data) - off);
                return 1;
        }
        r = record_parse(data + off, (size_t)(nl - data) - off, ret_b);
        if (r == -ENOMEM)
                return r;
        *ret_ok = r >= 0;
        return 1;
}

static int header_parse(const char *data, size_t len, char id[SPOOL_ID_LEN + 1])
{
        if (len < SPOOL_HEADER_LEN || memcmp(data, SPOOL_MAGIC, sizeof(SPOOL_MAGIC) - 1) != 0 ||
            data[SPOOL_HEADER_LEN - 1] != '\n')
                return -EBADMSG;
        for (size_t i = 0; i < SPOOL_ID_LEN; i++) {
                char c = data[sizeof(SPOOL_MAGIC) - 1 + i];

                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return -EBADMSG;
        }
        memcpy(id, data + sizeof(SPOOL_MAGIC) - 1, SPOOL_ID_LEN);
        id[SPOOL_ID_LEN] = '\0';
        return 0;
}

/* Loads the spool file: header, valid length (repairing a torn tail), cursor. */
static int spool_load(struct spool *s, struct error *err)
{
        char *data = NULL, cur_id[SPOOL_ID_LEN + 1];
        uint64_t cur_off, off, valid_end;
        size_t len;
        int r;

        r = cursor_load(s, cur_id, &cur_off);
        if (r < 0)
                return error_set(err, r, "%s: cannot read the spool cursor: %s", s->cursor_path, strerror(-r));
        r = read_file_capped(s->path, SPOOL_FILE_HARD_MAX, &data, &len);
        if (r == -ENOENT) {
                s->id[0] = '\0';
                s->size = s->cursor = 0;
                return 0;
        }
        if (r == -EFBIG)
                return error_set(err, r, "%s: the spool is larger than %llu MiB; move it away and "
                                 "lower cloudwatch.spool_max_bytes", s->path,
                                 (unsigned long long)(SPOOL_FILE_HARD_MAX >> 20));
        if (r < 0)
                return error_set(err, r, "%s: cannot read the metrics spool: %s", s->path, strerror(-r));
        if (header_parse(data, len, s->id) < 0) {
                char *aside = NULL;

                if (asprintf(&aside, "%s.bad", s->path) < 0) {
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                log_warning("%s: not an opsagent spool (bad header); moved to %s, starting a new one",
                            s->path, aside);
                if (rename(s->path, aside) < 0)
                        r = error_set(err, -errno, "%s: cannot move the damaged spool to %s: %m", s->path, aside);
                free(aside);
                s->id[0] = '\0';
                s->size = s->cursor = 0;
                goto out;
        }
        /* The last whole record's end; a torn tail (power loss) is cut off. Whole is a matching
         * CRC: the JSON is parsed once, when the record is sent. */
        off = valid_end = SPOOL_HEADER_LEN;
        for (;;) {
                uint64_t end;
                bool ok;

                if (next_record(data, len, off, &end, &ok, NULL) == 0)
                        break;
                if (ok)
                        valid_end = end;
                off = end;
        }
        r = 0;
        if (valid_end < len) {
                log_warning("%s: skipping a torn last record at byte %" PRIu64 " (%" PRIu64
                            " bytes, an interrupted write); the records before it are kept",
                            s->path, valid_end, (uint64_t)len - valid_end);
                if (truncate(s->path, (off_t)valid_end) < 0) {
                        r = error_set(err, -errno, "%s: cannot cut off the torn record: %m", s->path);
                        goto out;
                }
        }
        s->size = valid_end;
        if (strcmp(cur_id, s->id) == 0)
                s->cursor = cur_off;
        else
                s->cursor = SPOOL_HEADER_LEN;   /* a new spool file: nothing of it was sent */
        if (s->cursor < SPOOL_HEADER_LEN)
                s->cursor = SPOOL_HEADER_LEN;
        if (s->cursor > s->size)
                s->cursor = s->size;
out:
        free(data);
        return r;
}

int spool_open(const char *dir, const struct spool_limits *lim, struct spool **ret, struct error *err)
{
        struct spool *s;
        char *lock_path = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return error_set(err, -ENOMEM, "out of memory");
        s->lock_fd = -1;
        s->lim.max_bytes = lim && lim->max_bytes ? lim->max_bytes : SPOOL_DEFAULT_MAX_BYTES;
        s->lim.max_age_ms = lim && lim->max_age_ms > 0 ? lim->max_age_ms : SPOOL_DEFAULT_MAX_AGE_MS;
        s->lim.flush_max_datums = lim && lim->flush_max_datums ? lim->flush_max_datums : METRIC_MAX_PER_REQUEST;
        if (s->lim.max_bytes < SPOOL_MIN_MAX_BYTES)
                s->lim.max_bytes = SPOOL_MIN_MAX_BYTES;
        if (s->lim.max_age_ms > METRIC_MAX_AGE_MS)
                s->lim.max_age_ms = METRIC_MAX_AGE_MS;
        s->dir = strdup(dir);
        s->path = path_join(dir, SPOOL_FILE);
        s->cursor_path = path_join(dir, CURSOR_FILE);
        lock_path = path_join(dir, LOCK_FILE);
        if (!s->dir || !s->path || !s->cursor_path || !lock_path) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        r = mkdir_p(dir, 0700);
        if (r < 0) {
                error_set(err, r, "%s: cannot create the metrics spool directory: %s", dir, strerror(-r));
                goto fail;
        }
        s->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (s->lock_fd < 0) {
                r = error_set(err, -errno, "%s: cannot open the spool lock: %m", lock_path);
                goto fail;
        }
        while (flock(s->lock_fd, LOCK_EX) < 0) {
                if (errno == EINTR)
                        continue;
                r = error_set(err, -errno, "%s: cannot lock the spool: %m", lock_path);
                goto fail;
        }
        r = spool_load(s, err);
        if (r < 0)
                goto fail;
        free(lock_path);
        *ret = s;
        return 0;
fail:
        free(lock_path);
        spool_free(s);
        return r;
}

void spool_free(struct spool *s)
{
        if (!s)
                return;
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        free(s->dir);
        free(s->path);
        free(s->cursor_path);
        free(s);
}

int spool_count_dropped(struct spool *s, uint64_t n)
{
        if (n == 0)
                return 0;
        s->dropped += n;
        return cursor_save(s, NULL);
}

int spool_ack_dropped(struct spool *s, uint64_t n)
{
        s->dropped = n > s->dropped ? 0 : s->dropped - n;
        return cursor_save(s, NULL);
}

/* Removes datums older than the age bound from B; returns how many. */
static size_t drop_expired(const struct spool *s, struct metric_batch *b, int64_t now_ms)
{
        int64_t cutoff = now_ms - s->lim.max_age_ms;
        size_t n = 0;

        for (size_t i = b->n; i > 0; i--)
                if (b->items[i - 1].timestamp_ms < cutoff) {
                        metric_batch_remove(b, i - 1);
                        n++;
                }
        return n;
}

/* Creates an empty spool file with a fresh id (atomically, so its header is never torn). */
static int spool_create(struct spool *s, struct error *err)
{
        char header[SPOOL_HEADER_LEN + 1];
        int r;

        new_id(s->id);
        snprintf(header, sizeof(header), "%s%s\n", SPOOL_MAGIC, s->id);
        r = write_file_atomic(s->path, header, SPOOL_HEADER_LEN, 0600);
        if (r < 0) {
                s->id[0] = '\0';
                return error_set(err, r, "%s: cannot create the metrics spool: %s", s->path, strerror(-r));
        }
        s->size = s->cursor = SPOOL_HEADER_LEN;
        return 0;
}

/* Rewrites the spool with only its pending records, under a new id. The old cursor then no
 * longer matches and the new file is read from its start: nothing is sent twice or lost
 * whichever of the two renames a crash falls between. */
static int spool_compact(struct spool *s, struct error *err)
{
        char *data = NULL, old_id[SPOOL_ID_LEN + 1];
        struct buf out = BUF_INIT(SPOOL_FILE_HARD_MAX);
        size_t len;
        int r;

        r = spool_read(s, &data, &len, err);
        if (r < 0)
                return r;
        memcpy(old_id, s->id, sizeof(old_id));
        new_id(s->id);
        r = buf_printf(&out, "%s%s\n", SPOOL_MAGIC, s->id);
        if (r >= 0 && s->cursor < len)
                r = buf_append(&out, data + s->cursor, len - (size_t)s->cursor);
        if (r < 0) {
                memcpy(s->id, old_id, sizeof(old_id));
                error_set(err, r, "%s: cannot compact the metrics spool: %s", s->path, strerror(-r));
                goto out;
        }
        r = write_file_atomic(s->path, out.data, out.len, 0600);
        if (r < 0) {
                memcpy(s->id, old_id, sizeof(old_id));
                error_set(err, r, "%s: cannot compact the metrics spool: %s", s->path, strerror(-r));
                goto out;
        }
        s->size = out.len;
        s->cursor = SPOOL_HEADER_LEN;
        r = cursor_save(s, err);
out:
        buf_free(&out);
        free(data);
        return r;
}

/* Drops whole records from the cursor on (counting their datums) until NEED more bytes fit
 * within the size bound. */
static int make_room(struct spool *s, uint64_t need, struct error *err)
{
        char *data = NULL;
        uint64_t dropped_records = 0, dropped_datums = 0;
        size_t len;
        int r;

        if (s->size - s->cursor + need <= s->lim.max_bytes)
                return 0;
        r = spool_read(s, &data, &len, err);
        if (r < 0)
                return r;
        while (s->size - s->cursor + need > s->lim.max_bytes) {
                struct metric_batch b = METRIC_BATCH_INIT;
                uint64_t end;
                bool ok;

                r = next_record(data, len, s->cursor, &end, &ok, &b);
                if (r < 0) {
                        error_set(err, r, "out of memory reading %s", s->path);
                        goto out;
                }
                if (r == 0)
                        break;
                dropped_records++;
                dropped_datums += b.n;
                metric_batch_free(&b);
                s->cursor = end;
        }
        s->dropped += dropped_datums;
        log_warning("%s: the metrics spool is full (cloudwatch.spool_max_bytes = %" PRIu64
                    "): dropped its %" PRIu64 " oldest batches (%" PRIu64 " datums)",
                    s->path, s->lim.max_bytes, dropped_records, dropped_datums);
        r = cursor_save(s, err);
out:
        free(data);
        return r;
}

static int append_line(struct spool *s, const char *line, size_t len, struct error *err)
{
        int fd, r = 0;
        size_t done = 0;

        fd = open(s->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return error_set(err, -errno, "%s: cannot open the metrics spool: %m", s->path);
        while (done < len) {
                ssize_t n = write(fd, line + done, len - done);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                done += (size_t)n;
        }
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                /* Leave no partial record behind us. */
                if (ftruncate(fd, (off_t)s->size) == 0)
                        (void)fsync(fd);
                error_set(err, r, "%s: cannot append to the metrics spool: %s", s->path, strerror(-r));
        } else
                s->size += len;
        close(fd);
        return r;
}

int spool_append(struct spool *s, const struct metric_batch *b, int64_t now_ms, struct error *err)
{
        struct metric_batch copy = METRIC_BATCH_INIT;
        struct buf line = BUF_INIT(SPOOL_RECORD_MAX_BYTES + 16);
        size_t expired;
        int r;

        r = metric_batch_set_namespace(&copy, b->namespace_ ? b->namespace_ : "OpsAgent");
        for (size_t i = 0; r >= 0 && i < b->n; i++)
                r = metric_batch_add_metric(&copy, &b->items[i]);
        if (r < 0) {
                error_set(err, r, "cannot spool metrics: %s", strerror(-r));
                goto out;
        }
        expired = drop_expired(s, &copy, now_ms);
        if (expired > 0) {
                log_warning("%s: %zu datums older than the spool's age bound were dropped", s->path, expired);
                s->dropped += expired;
        }
        if (copy.n == 0) {
                r = expired > 0 ? cursor_save(s, err) : 0;
                goto out;
        }
        r = record_format(&copy, &line);
        if (r == -E2BIG || (r >= 0 && line.len + SPOOL_HEADER_LEN > s->lim.max_bytes)) {
                log_warning("%s: a batch of %zu datums is larger than the spool's bound "
                            "(cloudwatch.spool_max_bytes = %" PRIu64 "); dropped",
                            s->path, copy.n, s->lim.max_bytes);
                s->dropped += copy.n;
                r = cursor_save(s, err);
                goto out;
        }
        if (r < 0) {
                error_set(err, r, "cannot spool metrics: %s", strerror(-r));
                goto out;
        }
        if (!s->id[0]) {
                r = spool_create(s, err);
                if (r < 0)
                        goto out;
        }
        r = make_room(s, line.len, err);
        if (r < 0)
                goto out;
        /* The sent prefix is kept until the file outgrows twice the bound, then cut off. */
        if (s->cursor > SPOOL_HEADER_LEN && s->size + line.len > 2 * s->lim.max_bytes) {
                r = spool_compact(s, err);
                if (r < 0)
                        goto out;
        }
        r = append_line(s, line.data, line.len, err);
        if (r >= 0 && expired > 0)
                r = cursor_save(s, err);
out:
        buf_free(&line);
        metric_batch_free(&copy);
        return r;
}

int spool_pending(struct spool *s, size_t *ret_records, size_t *ret_datums)
{
        char *data = NULL;
        size_t len, records = 0, datums = 0;
        uint64_t off;
        int r;

        r = spool_read(s, &data, &len, NULL);
        if (r < 0)
                return r;
        for (off = s->cursor; data;) {
                struct metric_batch b = METRIC_BATCH_INIT;
                uint64_t end;
                bool ok;

                r = next_record(data, len, off, &end, &ok, &b);
                if (r <= 0)
                        break;
                if (ok) {
                        records++;
                        datums += b.n;
                }
                metric_batch_free(&b);
                off = end;
        }
        free(data);
        if (r < 0)
                return r;
        if (ret_records)
                *ret_records = records;
        if (ret_datums)
                *ret_datums = datums;
        return 0;
}

/* Collects the records from the cursor on into one request's worth (*ret_g, same namespace,
 * within the flush limits; one record only when SINGLE): *ret_end is where the group ends,
 * *ret_records how many records it holds, *ret_expired how many datums were too old. Damaged
 * records are skipped (with a warning) and end up inside the group's span. */
static int collect_group(struct spool *s, const char *data, size_t len, int64_t now_ms, bool single,
                         struct metric_batch *ret_g, uint64_t *ret_end, size_t *ret_records, size_t *ret_expired)
{
        struct metric_batch g = METRIC_BATCH_INIT;
        uint64_t off = s->cursor, gend = s->cursor, gbytes = 0;
        size_t records = 0, expired = 0;
        int r = 0;

        while (off < len) {
                struct metric_batch b = METRIC_BATCH_INIT;
                uint64_t end;
                bool ok;

                r = next_record(data, len, off, &end, &ok, &b);
                if (r <= 0)
                        break;
                if (!ok) {
                        log_warning("%s: skipping a damaged record at byte %" PRIu64, s->path, off);
                        off = gend = end;
                        continue;
                }
                size_t bcost = 0;

                for (size_t i = 0; i < b.n; i++)
                        bcost += metric_request_cost(&b.items[i]);
                if (records > 0 && (single || g.n + b.n > s->lim.flush_max_datums ||
                                    gbytes + bcost > METRIC_SPLIT_BYTES ||
                                    strcmp(g.namespace_, b.namespace_) != 0)) {
                        metric_batch_free(&b);
                        break;
                }
                expired += drop_expired(s, &b, now_ms);
                if (!g.namespace_)
                        r = metric_batch_set_namespace(&g, b.namespace_);
                for (size_t i = 0; r >= 0 && i < b.n; i++)
                        r = metric_batch_add_metric(&g, &b.items[i]);
                metric_batch_free(&b);
                if (r < 0)
                        break;
                gbytes += bcost;
                records++;
                off = gend = end;
                if (single)
                        break;
        }
        if (r < 0) {
                metric_batch_free(&g);
                return r;
        }
        *ret_g = g;
        *ret_end = gend;
        *ret_records = records;
        *ret_expired = expired;
        return 0;
}

int spool_flush(struct spool *s, int64_t now_ms, metric_send_fn send, void *userdata, struct error *err)
{
        char *data = NULL;
        size_t len, sent = 0;
        uint64_t single_until = 0;
        int r;

        if (!s->id[0])
                return 0;
        r = spool_read(s, &data, &len, err);
        if (r < 0)
                return r;
        while (s->cursor < s->size) {
                struct metric_batch g = METRIC_BATCH_INIT;
                struct error send_err = ERROR_INIT;
                enum send_status st;
                uint64_t end;
                size_t records, expired;

                /* Records go out together, up to one request's worth, oldest first. */
                r = collect_group(s, data, len, now_ms, s->cursor < single_until, &g, &end, &records, &expired);
                if (r < 0) {
                        error_set(err, r, "out of memory reading %s", s->path);
                        goto out;
                }
                if (end == s->cursor)
                        break;
                st = g.n > 0 ? send(userdata, &g, &send_err) : SEND_OK;
                if (st == SEND_RETRY_LATER) {
                        metric_batch_free(&g);
                        r = error_set(err, -EAGAIN, "%s", send_err.msg[0] ? send_err.msg : "sending failed");
                        goto out;
                }
                if (st == SEND_REJECTED && records > 1) {
                        /* Find the culprit: the same records again, one per request. */
                        metric_batch_free(&g);
                        single_until = end;
                        continue;
                }
                if (expired > 0) {
                        log_warning("%s: %zu spooled datums are older than the age bound; dropped",
                                    s->path, expired);
                        s->dropped += expired;
                }
                if (st == SEND_REJECTED) {
                        log_error("%s: CloudWatch refused %zu spooled datums; dropped: %s",
                                  s->path, g.n, send_err.msg);
                        s->dropped += g.n;
                } else
                        sent += g.n;
                metric_batch_free(&g);
                /* Sent: move the cursor on before anything else, so it is never sent again. */
                s->cursor = end;
                r = cursor_save(s, err);
                if (r < 0)
                        goto out;
        }
        if (sent > 0)
                log_info("%s: sent %zu spooled datums", s->path, sent);
        /* All of it sent: the file goes; the cursor (naming it) stays and matches no new file. */
        if (unlink(s->path) < 0 && errno != ENOENT) {
                r = error_set(err, -errno, "%s: cannot remove the sent spool: %m", s->path);
                goto out;
        }
        (void)fsync_directory(s->dir);
        s->id[0] = '\0';
        s->size = s->cursor = 0;
        r = 0;
out:
        free(data);
        return r;
}
