#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "util/jsonutil.h"
#include "util/log.h"

/* Writes EV (scrubbed) as one line with one write(2). Slashes stay unescaped so that a secret
 * holding one ("wJalr.../K7MDENG") is still recognised by the scrub. */
static int send_line(int fd, json_object *ev)
{
        const char *s;
        char *clean;
        size_t len;
        ssize_t k;
        int r = 0;

        if (fd < 0)
                return 0;
        s = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        clean = s ? log_scrub(s) : NULL;
        if (!clean)
                return -ENOMEM;
        len = strlen(clean);
        if (len + 1 > EVENTS_LINE_MAX) {
                r = -E2BIG;
                goto out;
        }
        clean[len] = '\n';
        k = write(fd, clean, len + 1);
        if (k < 0)
                r = -errno;
        else if ((size_t)k != len + 1)
                r = -EIO;
out:
        free(clean);
        return r;
}

/* Sends {"KEY": V}, V taken over. */
static int send_event(int fd, const char *key, json_object *v)
{
        json_object *ev = json_object_new_object();
        int r;

        if (!ev) {
                json_object_put(v);
                return -ENOMEM;
        }
        r = json_add(ev, key, v);
        if (r >= 0)
                r = send_line(fd, ev);
        json_object_put(ev);
        return r;
}

int events_send_metric(int fd, const struct metric *m)
{
        json_object *mj = NULL;
        int r = metric_to_json(m, &mj);

        return r < 0 ? r : send_event(fd, "metric", mj);
}

/* The length of S cut to at most MAX bytes, backing off to the start of a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
        size_t n = strlen(s);

        if (n <= max)
                return n;
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
                n--;
        return n;
}

int events_send_fail(int fd, const char *reason)
{
        /* Scrubbed before it is encoded too: JSON escapes could hide a secret from the scrub of
         * the line ("\"", "\\"). */
        char *clean = log_scrub(reason), *cut = NULL;
        size_t keep;
        int r;

        if (!clean)
                return -ENOMEM;
        keep = strlen(clean);
        r = send_event(fd, "fail", json_object_new_string(clean));
        /* Too long for one line (its escapes count too): cut it rather than lose it, shorter
         * each time, until it fits. */
        for (int tries = 0; r == -E2BIG && tries < 8; tries++) {
                keep = utf8_cut(clean, tries == 0 && keep > EVENTS_LINE_MAX - 64 ? EVENTS_LINE_MAX - 64 : keep / 2);
                free(cut);
                if (asprintf(&cut, "%.*s...", (int)keep, clean) < 0) {
                        cut = NULL;
                        r = -ENOMEM;
                        break;
                }
                r = send_event(fd, "fail", json_object_new_string(cut));
        }
        free(cut);
        free(clean);
        return r;
}

int events_send_changes(int fd, unsigned n)
{
        return send_event(fd, "changes", json_object_new_int64(n));
}

int events_send_done(int fd, int code)
{
        return send_event(fd, "done", json_object_new_int(code));
}

void events_reader_init(struct events_reader *r)
{
        memset(r, 0, sizeof(*r));
        buf_init(&r->pending, EVENTS_LINE_MAX * 2);
}

static void handle_line(struct events_reader *r, const char *line)
{
        json_object *ev = NULL, *v;

        if (json_parse_text(line, "event", &ev, NULL) < 0 || !json_object_is_type(ev, json_type_object)) {
                r->malformed++;
                goto out;
        }
        if (json_object_object_get_ex(ev, "metric", &v)) {
                if (r->metrics.n >= EVENTS_MAX_METRICS)
                        r->metrics_dropped++;
                else if (metric_batch_add_json(&r->metrics, v) < 0)
                        r->malformed++;
        } else if (json_object_object_get_ex(ev, "fail", &v) && json_object_is_type(v, json_type_string)) {
                char *copy = strdup(json_object_get_string(v));

                if (copy) {
                        free(r->fail);
                        r->fail = copy;
                }
        } else if (json_object_object_get_ex(ev, "changes", &v) && json_object_is_type(v, json_type_int) &&
                   json_object_get_int64(v) >= 0 && json_object_get_int64(v) <= UINT32_MAX) {
                r->changes = (unsigned)json_object_get_int64(v);
        } else if (json_object_object_get_ex(ev, "done", &v) && json_object_is_type(v, json_type_int)) {
                r->done = true;
                r->done_code = json_object_get_int(v);
        } else
                r->malformed++;
out:
        json_object_put(ev);
}

void events_reader_feed(struct events_reader *r, const char *data, size_t n)
{
        size_t take = r->total >= EVENTS_MAX_BYTES ? 0 : EVENTS_MAX_BYTES - r->total;

        r->total += n;
        if (n > take)
                n = take;
        for (size_t i = 0; i < n; i++) {
                if (data[i] == '\n') {
                        handle_line(r, buf_str(&r->pending));
                        buf_reset(&r->pending);
                } else if (buf_append(&r->pending, data + i, 1) < 0) {
                        /* Longer than any event may be: not one. */
                        buf_reset(&r->pending);
                        r->malformed++;
                }
        }
}

void events_reader_finish(struct events_reader *r)
{
        if (buf_len(&r->pending) > 0)
                handle_line(r, buf_str(&r->pending));
        buf_reset(&r->pending);
}

void events_reader_clear(struct events_reader *r)
{
        buf_free(&r->pending);
        metric_batch_free(&r->metrics);
        free(r->fail);
        memset(r, 0, sizeof(*r));
}
