/* One PutLogEvents request's worth of events, within CloudWatch Logs' rules: at most
 * LOGS_BATCH_MAX_BYTES (each event's UTF-8 size + 26), LOGS_BATCH_MAX_EVENTS events, a span of
 * at most 24 hours, in chronological order; events older than 14 days or more than 2 hours in
 * the future are refused by CloudWatch and so are not batched (the caller counts them). Each
 * event remembers where it came from (an opaque source pointer and the offset after it), so
 * that an accepted batch says how far each file may be checkpointed. No I/O. */
#ifndef OPSAGENT_LOGS_BATCH_H
#define OPSAGENT_LOGS_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "util/buf.h"

#define LOGS_BATCH_MAX_BYTES 1048576
#define LOGS_BATCH_MAX_EVENTS 10000
#define LOGS_BATCH_MAX_SPAN_MS (24LL * 3600 * 1000)
#define LOGS_MAX_AGE_MS (14LL * 24 * 3600 * 1000)
#define LOGS_MAX_FUTURE_MS (2LL * 3600 * 1000)
/* Margins kept from the last two so that a batch built now is still acceptable when it is
 * sent a little later. */
#define LOGS_AGE_MARGIN_MS (5LL * 60 * 1000)

struct logs_event {
        int64_t ts_ms;
        char *msg;                      /* valid UTF-8, NUL-terminated; in the batch's arena */
        size_t len;
        void *origin;                   /* what it was read from (borrowed, opaque); may be NULL */
        uint64_t end;                   /* the origin's position after it */
        int64_t read_usec;              /* CLOCK_REALTIME when it was read (lag) */
};

/* Owns its events. Zero-initialised is an empty batch. The messages live in one arena of
 * LOGS_BATCH_ARENA bytes allocated with the first event (they fit: their sum is below the byte
 * limit), so that a batch costs two allocations, kept from one batch to the next by
 * logs_batch_clear(). */
struct logs_batch {
        struct logs_event *ev;
        size_t n, alloc;
        size_t bytes;                   /* sum of len + LOGS_EVENT_OVERHEAD */
        char *arena;
        size_t used;
};

#define LOGS_BATCH_ARENA (LOGS_BATCH_MAX_BYTES + LOGS_BATCH_MAX_EVENTS)  /* messages and their NULs */

enum logs_age {
        LOGS_AGE_OK,
        LOGS_AGE_TOO_OLD,
        LOGS_AGE_TOO_NEW,
};

/* Whether CloudWatch would take an event of time TS_MS at NOW_MS. */
enum logs_age logs_event_age(int64_t ts_ms, int64_t now_ms);

/* Whether an event of LEN message bytes and time TS_MS (not before the last one's) still fits B. */
bool logs_batch_fits(const struct logs_batch *b, size_t len, int64_t ts_ms);
/* Appends a copy of MSG. The caller makes sure it fits and that TS_MS is not before the last
 * event's. -ENOMEM, -E2BIG (does not fit: nothing added). */
int logs_batch_add(struct logs_batch *b, int64_t ts_ms, const char *msg, size_t len, void *origin, uint64_t end,
                   int64_t read_usec);
void logs_batch_free(struct logs_batch *b);     /* leaves an empty batch */
void logs_batch_clear(struct logs_batch *b);    /* empties B, keeping its memory */
/* Removes the first N events (their arena space is reused only after a clear). */
void logs_batch_drop_first(struct logs_batch *b, size_t n);

/* The PutLogEvents input for B into GROUP/STREAM (TOKEN: a sequence token, or NULL), as JSON
 * text into OUT (reset first; the caller's, reused from one request to the next). Every string
 * is escaped by json-c; only the fixed frame around them is written here. */
int logs_batch_request(const struct logs_batch *b, const char *group, const char *stream, const char *token,
                       struct buf *out);

/* B's events as a JSON array [[ts, "msg"], ...] (the disk buffer's form), and back. */
int logs_batch_to_json(const struct logs_batch *b, json_object **ret);
/* Appends the events of the array ARR to B (origin NULL, end 0); -EBADMSG for a bad element. */
int logs_batch_from_json(json_object *arr, struct logs_batch *b);

#endif
