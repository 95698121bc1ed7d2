#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "logs_batch.h"
#include "logs_event.h"

enum logs_age logs_event_age(int64_t ts_ms, int64_t now_ms)
{
        if (ts_ms < now_ms - LOGS_MAX_AGE_MS + LOGS_AGE_MARGIN_MS)
                return LOGS_AGE_TOO_OLD;
        if (ts_ms > now_ms + LOGS_MAX_FUTURE_MS - LOGS_AGE_MARGIN_MS)
                return LOGS_AGE_TOO_NEW;
        return LOGS_AGE_OK;
}

bool logs_batch_fits(const struct logs_batch *b, size_t len, int64_t ts_ms)
{
        if (b->n >= LOGS_BATCH_MAX_EVENTS)
                return false;
        if (b->bytes + len + LOGS_EVENT_OVERHEAD > LOGS_BATCH_MAX_BYTES)
                return false;
        if (b->n > 0 && (ts_ms - b->ev[0].ts_ms > LOGS_BATCH_MAX_SPAN_MS || ts_ms < b->ev[b->n - 1].ts_ms))
                return false;
        return true;
}

int logs_batch_add(struct logs_batch *b, int64_t ts_ms, const char *msg, size_t len, void *origin, uint64_t end,
                   int64_t read_usec)
{
        struct logs_event *e;

        if (len == 0 || len > LOGS_EVENT_MAX_BYTES || !logs_batch_fits(b, len, ts_ms))
                return -E2BIG;
        if (!b->arena) {
                b->arena = malloc(LOGS_BATCH_ARENA);
                if (!b->arena)
                        return -ENOMEM;
                b->used = 0;
        }
        if (b->used + len + 1 > LOGS_BATCH_ARENA)
                return -E2BIG;  /* only after drop_first() without a clear */
        if (b->n == b->alloc) {
                size_t na = b->alloc ? b->alloc * 2 : 256;
                struct logs_event *nv;

                if (na > LOGS_BATCH_MAX_EVENTS)
                        na = LOGS_BATCH_MAX_EVENTS;
                nv = realloc(b->ev, na * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                b->ev = nv;
                b->alloc = na;
        }
        e = &b->ev[b->n++];
        *e = (struct logs_event){ ts_ms, b->arena + b->used, len, origin, end, read_usec };
        memcpy(e->msg, msg, len);
        e->msg[len] = '\0';
        b->used += len + 1;
        b->bytes += len + LOGS_EVENT_OVERHEAD;
        return 0;
}

void logs_batch_drop_first(struct logs_batch *b, size_t n)
{
        if (n > b->n)
                n = b->n;
        if (n == 0)
                return;         /* also: b->ev may still be NULL */
        for (size_t i = 0; i < n; i++)
                b->bytes -= b->ev[i].len + LOGS_EVENT_OVERHEAD;
        memmove(b->ev, b->ev + n, (b->n - n) * sizeof(*b->ev));
        b->n -= n;
        if (b->n == 0)
                b->used = 0;
}

void logs_batch_clear(struct logs_batch *b)
{
        b->n = 0;
        b->bytes = 0;
        b->used = 0;
}

void logs_batch_free(struct logs_batch *b)
{
        free(b->ev);
        free(b->arena);
        memset(b, 0, sizeof(*b));
}

/* Whether S (valid UTF-8) holds a character a JSON string must escape: '"', '\\' or a
 * control character (RFC 8259, section 7). */
static bool needs_escape(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c < 0x20 || c == '"' || c == '\\')
                        return true;
        }
        return false;
}

/* S as a JSON string, appended to OUT; TMP is a string object reused. A string without a
 * character to escape is its own JSON text between quotes (most log lines); any other goes
 * through json-c's escaping. */
static int put_string(struct buf *out, json_object *tmp, const char *s, size_t len)
{
        const char *text;
        size_t n;
        int r;

        if (!needs_escape(s, len)) {
                r = buf_append(out, "\"", 1);
                if (r >= 0)
                        r = buf_append(out, s, len);
                if (r >= 0)
                        r = buf_append(out, "\"", 1);
                return r;
        }

        if (json_object_set_string_len(tmp, s, (int)len) != 1)
                return -ENOMEM;
        text = json_object_to_json_string_length(tmp, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        if (!text)
                return -ENOMEM;
        return buf_append(out, text, n);
}

/* ',{"timestamp":TS,"message":' (without the comma for the first), without printf: this is
 * done for every event. */
static int put_event_head(struct buf *out, bool comma, int64_t ts)
{
        static const char head[] = ",{\"timestamp\":", tail[] = ",\"message\":";
        char digits[24], *p = digits + sizeof(digits);
        uint64_t v = ts < 0 ? (uint64_t)-(ts + 1) + 1 : (uint64_t)ts;
        int r;

        do {
                *--p = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        if (ts < 0)
                *--p = '-';
        r = buf_append(out, head + (comma ? 0 : 1), sizeof(head) - 1 - (comma ? 0 : 1));
        if (r >= 0)
                r = buf_append(out, p, (size_t)(digits + sizeof(digits) - p));
        if (r >= 0)
                r = buf_append(out, tail, sizeof(tail) - 1);
        return r;
}

int logs_batch_request(const struct logs_batch *b, const char *group, const char *stream, const char *token,
                       struct buf *out)
{
        json_object *tmp = json_object_new_string("");
        int r;

        if (!tmp)
                return -ENOMEM;
        buf_reset(out);
        r = buf_puts(out, "{\"logGroupName\":");
        if (r >= 0)
                r = put_string(out, tmp, group, strlen(group));
        if (r >= 0)
                r = buf_puts(out, ",\"logStreamName\":");
        if (r >= 0)
                r = put_string(out, tmp, stream, strlen(stream));
        if (r >= 0 && token) {
                r = buf_puts(out, ",\"sequenceToken\":");
                if (r >= 0)
                        r = put_string(out, tmp, token, strlen(token));
        }
        if (r >= 0)
                r = buf_puts(out, ",\"logEvents\":[");
        for (size_t i = 0; r >= 0 && i < b->n; i++) {
                r = put_event_head(out, i > 0, b->ev[i].ts_ms);
                if (r >= 0)
                        r = put_string(out, tmp, b->ev[i].msg, b->ev[i].len);
                if (r >= 0)
                        r = buf_append(out, "}", 1);
        }
        if (r >= 0)
                r = buf_puts(out, "]}");
        json_object_put(tmp);
        return r;
}

int logs_batch_to_json(const struct logs_batch *b, json_object **ret)
{
        json_object *arr = json_object_new_array_ext((int)b->n);

        if (!arr)
                return -ENOMEM;
        for (size_t i = 0; i < b->n; i++) {
                json_object *e = json_object_new_array_ext(2);

                if (!e || json_object_array_add(arr, e) < 0) {
                        json_object_put(e);
                        json_object_put(arr);
                        return -ENOMEM;
                }
                if (json_object_array_add(e, json_object_new_int64(b->ev[i].ts_ms)) < 0 ||
                    json_object_array_add(e, json_object_new_string_len(b->ev[i].msg, (int)b->ev[i].len)) < 0) {
                        json_object_put(arr);
                        return -ENOMEM;
                }
        }
        *ret = arr;
        return 0;
}

int logs_batch_from_json(json_object *arr, struct logs_batch *b)
{
        size_t n;
        int r;

        if (!json_object_is_type(arr, json_type_array))
                return -EBADMSG;
        n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i), *t, *m;

                if (!json_object_is_type(e, json_type_array) || json_object_array_length(e) != 2)
                        return -EBADMSG;
                t = json_object_array_get_idx(e, 0);
                m = json_object_array_get_idx(e, 1);
                if (!json_object_is_type(t, json_type_int) || !json_object_is_type(m, json_type_string))
                        return -EBADMSG;
                r = logs_batch_add(b, json_object_get_int64(t), json_object_get_string(m),
                                   (size_t)json_object_get_string_len(m), NULL, 0, 0);
                if (r < 0)
                        return r == -E2BIG ? -EBADMSG : r;
        }
        return 0;
}
