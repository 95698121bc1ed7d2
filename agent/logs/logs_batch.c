#include <errno.h>
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
        char *copy;

        if (len == 0 || len > LOGS_EVENT_MAX_BYTES || !logs_batch_fits(b, len, ts_ms))
                return -E2BIG;
        if (b->n == b->alloc) {
                size_t na = b->alloc ? b->alloc * 2 : 64;
                struct logs_event *nv;

                if (na > LOGS_BATCH_MAX_EVENTS)
                        na = LOGS_BATCH_MAX_EVENTS;
                nv = realloc(b->ev, na * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                b->ev = nv;
                b->alloc = na;
        }
        copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, msg, len);
        copy[len] = '\0';
        e = &b->ev[b->n++];
        *e = (struct logs_event){ ts_ms, copy, len, origin, end, read_usec };
        b->bytes += len + LOGS_EVENT_OVERHEAD;
        return 0;
}

void logs_batch_drop_first(struct logs_batch *b, size_t n)
{
        if (n > b->n)
                n = b->n;
        for (size_t i = 0; i < n; i++) {
                b->bytes -= b->ev[i].len + LOGS_EVENT_OVERHEAD;
                free(b->ev[i].msg);
        }
        memmove(b->ev, b->ev + n, (b->n - n) * sizeof(*b->ev));
        b->n -= n;
}

void logs_batch_free(struct logs_batch *b)
{
        for (size_t i = 0; i < b->n; i++)
                free(b->ev[i].msg);
        free(b->ev);
        memset(b, 0, sizeof(*b));
}

int logs_batch_request(const struct logs_batch *b, const char *group, const char *stream, const char *token,
                       char **ret, size_t *ret_len)
{
        json_object *in = json_object_new_object(), *arr = json_object_new_array_ext((int)b->n);
        const char *text;
        size_t len;
        char *copy;
        int r = -ENOMEM;

        if (!in || !arr)
                goto out;
        if (json_object_object_add(in, "logGroupName", json_object_new_string(group)) < 0 ||
            json_object_object_add(in, "logStreamName", json_object_new_string(stream)) < 0)
                goto out;
        if (token && json_object_object_add(in, "sequenceToken", json_object_new_string(token)) < 0)
                goto out;
        for (size_t i = 0; i < b->n; i++) {
                json_object *e = json_object_new_object();

                if (!e || json_object_array_add(arr, e) < 0) {
                        json_object_put(e);
                        goto out;
                }
                if (json_object_object_add(e, "timestamp", json_object_new_int64(b->ev[i].ts_ms)) < 0 ||
                    json_object_object_add(e, "message", json_object_new_string_len(b->ev[i].msg,
                                                                                     (int)b->ev[i].len)) < 0)
                        goto out;
        }
        if (json_object_object_add(in, "logEvents", arr) < 0)
                goto out;
        arr = NULL;
        text = json_object_to_json_string_length(in, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!text)
                goto out;
        copy = malloc(len + 1);
        if (!copy)
                goto out;
        memcpy(copy, text, len + 1);
        *ret = copy;
        *ret_len = len;
        r = 0;
out:
        json_object_put(arr);
        json_object_put(in);
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
